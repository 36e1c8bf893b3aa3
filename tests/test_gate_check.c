/*
 * gate's check, called as a library: gate_check_source on good and broken artifacts with a
 * launcher that runs the built `smxgb serve` (or one that fails, or a server that dies), and
 * what a user would read in the cases: pass or fail, the layout error, the verdict for each
 * container version, the health check and its sample, and the report renderings.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static void setup(void)
{
    dir = th_tmpdir();
    size_t n;
    char *m = th_model(&n);
    th_entry good[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "good.tar.gz"), "gzip", "pax", good, 1);
    th_entry nested[] = {{"model/", 'd', 0, NULL, 0, NULL},
                         {"model/xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "nested.tar.gz"), "gzip", "pax", nested, 2);
    free(m);
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}
TestSuite(gate_check, .init = setup, .fini = teardown, .timeout = 120);

/* An archive holding one test-data model as xgboost-model. */
static const char *archive_of(const char *model, const char *name)
{
    size_t n;
    char *m = th_read(model, &n);
    cr_assert_not_null(m, "%s", model);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    const char *path = th_path(dir, name);
    th_write_archive(path, "gzip", "pax", e, 1);
    free(m);
    return path;
}

static gate_check_opts serving(void)
{
    gate_check_opts o = {.launch = th_serve_launch, .interval = 0.2, .startup_timeout = 60};
    return o;
}

static gate_case *case_for(const gate_report *r, const char *container)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->cases[i]->container && !strcmp(r->cases[i]->container, container))
            return r->cases[i];
    cr_assert_fail("no case for container %s", container);
    return NULL;
}

static const gate_note *note(const gate_case *c, const char *code)
{
    for (size_t i = 0; i < c->n_notes; i++)
        if (!strcmp(c->notes[i].code, code))
            return &c->notes[i];
    return NULL;
}

/* All of a case's notes, for failure messages. */
static const char *notes_of(const gate_case *c)
{
    static char buf[8192];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_notes && len < sizeof buf - 1; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "[%s] %s: %s\n",
                                artifact_severity_name(c->notes[i].sev), c->notes[i].code,
                                c->notes[i].text);
    return buf;
}

static void check(gate_report *r, const char *src, const char *const *tags, size_t n,
                  const gate_check_opts *o)
{
    smx_err err = {0};
    cr_assert_eq(gate_check_source(r, src, tags, n, o, &err), SMX_OK, "%s", err.msg);
}

Test(gate_check, a_good_artifact_passes_its_health_check)
{
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1"};
    gate_check_opts o = serving();
    check(&r, th_path(dir, "good.tar.gz"), tags, 1, &o);
    cr_assert_eq(r.n, 1);
    gate_case *c = r.cases[0];
    cr_assert_str_eq(gate_case_status(c), "pass", "%s", notes_of(c));
    cr_assert(note(c, "container-loads"), "%s", notes_of(c));
    const gate_note *s = note(c, "sample-generated");
    cr_assert(s && strstr(s->text, "rows of 6 features"), "as wide as the model: %s", notes_of(c));
    cr_assert(note(c, "probe-healthy"), "%s", notes_of(c));
    cr_assert(json_is_true(json_object_get(c->probe, "healthy")));
    json_t *inv = json_object_get(c->probe, "invocation");
    cr_assert_eq(json_integer_value(json_object_get(inv, "status")), 200, "the rows were scored");
    gate_report_free(&r);
}

Test(gate_check, a_sub_folder_artifact_is_a_layout_error_and_is_not_served)
{
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1", "1.0-1"};
    gate_check_opts o = serving();
    check(&r, th_path(dir, "nested.tar.gz"), tags, 2, &o);
    cr_assert_eq(r.n, 2, "one case per container");
    for (size_t i = 0; i < r.n; i++) {
        gate_case *c = r.cases[i];
        cr_assert_str_eq(gate_case_status(c), "fail", "%s", notes_of(c));
        const gate_note *n = note(c, "layout-no-model");
        cr_assert(n && n->sev == ARTIFACT_ERROR, "%s", notes_of(c));
        cr_assert(note(c, "serve-skipped"), "a failed verify is not served: %s", notes_of(c));
        cr_assert_null(c->probe, "no health check ran");
    }
    gate_report_free(&r);
}

/* The container's XGBoost decides, not the one smxgb serves with. */
Test(gate_check, a_3_0_5_ubjson_model_fails_for_1_5_1_and_passes_for_3_0_5)
{
    const char *src = archive_of(SMXGB_TESTDATA "/models/3.0.5/binary_logistic.ubj", "ubj.tar.gz");
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.5-1", "3.0-5"};
    gate_check_opts o = serving();
    check(&r, src, tags, 2, &o);
    gate_case *c15 = case_for(&r, "1.5-1"), *c30 = case_for(&r, "3.0-5");
    cr_expect_str_eq(gate_case_status(c15), "fail", "%s", notes_of(c15));
    const gate_note *v = note(c15, "verdict-fails");
    cr_expect(v && v->sev == ARTIFACT_ERROR && strstr(v->text, "cannot load"), "%s", notes_of(c15));
    cr_expect(note(c15, "serve-skipped"), "%s", notes_of(c15));
    cr_expect_str_eq(gate_case_status(c30), "pass", "%s", notes_of(c30));
    cr_expect_null(note(c30, "verdict-fails"), "%s", notes_of(c30));
    cr_expect(note(c30, "probe-healthy"), "%s", notes_of(c30));
    gate_report_free(&r);
}

Test(gate_check, an_unreadable_source_is_an_io_error)
{
    gate_report r = {.verb = "check"};
    gate_check_opts o = {.no_serve = 1};
    check(&r, th_path(dir, "absent.tar.gz"), NULL, 0, &o);
    cr_assert_eq(r.n, 1);
    cr_assert(r.cases[0]->io_error);
    cr_assert_str_eq(gate_case_status(r.cases[0]), "fail");
    const gate_note *n = note(r.cases[0], "artifact-unreadable");
    cr_assert(n && strstr(n->text, "absent.tar.gz"), "names the file: %s", notes_of(r.cases[0]));
    gate_report_free(&r);
}

/* A pickled Booster: its width comes from the booster verify's load check restored, so the
 * health check sends rows. */
Test(gate_check, the_sample_is_as_wide_as_the_booster_the_load_check_loaded)
{
    const char *src =
        archive_of(SMXGB_TESTDATA "/models/1.7.4-python/binary_logistic.pkl", "pkl.tar.gz");
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1"};
    gate_check_opts o = serving();
    check(&r, src, tags, 1, &o);
    gate_case *c = case_for(&r, "1.7-1");
    const gate_note *s = note(c, "sample-generated");
    cr_assert(s && strstr(s->text, "rows of 6 features"), "%s", notes_of(c));
    cr_assert(note(c, "probe-healthy"), "%s", notes_of(c));
    gate_report_free(&r);
}

Test(gate_check, without_a_launcher_the_health_check_is_not_run_and_says_so)
{
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1"};
    gate_check_opts o = {0};
    check(&r, th_path(dir, "good.tar.gz"), tags, 1, &o);
    const gate_note *n = note(r.cases[0], "serve-unavailable");
    cr_assert(n && n->sev == ARTIFACT_WARNING, "%s", notes_of(r.cases[0]));
    cr_assert_null(r.cases[0]->probe);
    gate_report_free(&r);
}

static int failing_launch(void *ctx, const gate_server_spec *s, pid_t *pid, smx_err *err)
{
    (void)ctx;
    (void)pid;
    return smx_fail(err, SMX_EIO, "no server for %s today", s->container);
}

Test(gate_check, a_launcher_that_fails_fails_the_case_with_its_reason)
{
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1"};
    gate_check_opts o = {.launch = failing_launch};
    check(&r, th_path(dir, "good.tar.gz"), tags, 1, &o);
    const gate_note *n = note(r.cases[0], "serve-failed");
    cr_assert(n && n->sev == ARTIFACT_ERROR && strstr(n->text, "no server for 1.7-1 today"), "%s",
              notes_of(r.cases[0]));
    cr_assert_str_eq(gate_case_status(r.cases[0]), "fail");
    gate_report_free(&r);
}

/* A server that runs a shell script (ctx; by default one that writes to its log and exits
 * before answering /ping). */
static int dying_launch(void *ctx, const gate_server_spec *s, pid_t *pid, smx_err *err)
{
    (void)err;
    const char *script = ctx ? ctx : "echo 'model_fn: no such file' >&2; exit 3";
    pid_t p = fork();
    if (p == 0) {
        setpgid(0, 0);
        dup2(s->log_fd, 1);
        dup2(s->log_fd, 2);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    *pid = p;
    return SMX_OK;
}

/* A long log: its last 20 lines, whole, one per line, and a heading that says so. */
Test(gate_check, a_long_server_log_is_shown_by_its_last_lines)
{
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1"};
    gate_check_opts o = {.launch = dying_launch,
                         .launch_ctx = "i=1; while [ $i -le 30 ]; do echo \"log line $i: loading "
                                       "the model failed in a way that takes many words to "
                                       "say\"; i=$((i+1)); done; exit 1",
                         .interval = 0.2,
                         .startup_timeout = 30};
    check(&r, th_path(dir, "good.tar.gz"), tags, 1, &o);
    const gate_note *n = note(r.cases[0], "probe-unhealthy");
    cr_assert(n, "%s", notes_of(r.cases[0]));
    cr_assert(strstr(n->text, "\nthe server's log (its last lines):\n"), "%s", n->text);
    cr_assert(strstr(n->text, "\n  log line 30: loading the model failed in a way that takes many "
                              "words to say"),
              "%s", n->text);
    cr_assert(strstr(n->text, "\n  log line 11: "), "20 lines: %s", n->text);
    cr_assert(!strstr(n->text, "log line 10: "), "not more: %s", n->text);
    gate_report_free(&r);
}

Test(gate_check, a_server_that_exits_fails_the_health_check_with_its_log)
{
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1"};
    gate_check_opts o = {.launch = dying_launch, .interval = 0.2, .startup_timeout = 30};
    check(&r, th_path(dir, "good.tar.gz"), tags, 1, &o);
    gate_case *c = r.cases[0];
    const gate_note *n = note(c, "probe-unhealthy");
    cr_assert(n, "%s", notes_of(c));
    cr_assert(strstr(n->text, "the server exited with status 3"), "%s", n->text);
    cr_assert(strstr(n->text, "\nthe server's log:\n  model_fn: no such file"),
              "the log, a line per line: %s", n->text);
    cr_assert_str_eq(gate_case_status(c), "fail");
    gate_report_free(&r);
}

Test(gate_check, script_mode_checks_the_archive_and_serves_nothing)
{
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1"};
    const char *env[] = {"SAGEMAKER_PROGRAM=inference.py"};
    gate_check_opts o = serving();
    o.env = env;
    o.n_env = 1;
    check(&r, th_path(dir, "nested.tar.gz"), tags, 1, &o);
    gate_case *c = r.cases[0];
    const gate_note *n = note(c, "layout-no-model");
    cr_assert(n && n->sev == ARTIFACT_INFO && strstr(n->text, "not counted"),
              "the user's model_fn decides what loads: %s", notes_of(c));
    cr_assert(note(c, "serve-skipped"), "%s", notes_of(c));
    cr_assert_str_eq(gate_case_status(c), "pass", "%s", notes_of(c));
    gate_report_free(&r);
}

struct seen {
    int attempts;
    char url[64];
    char stages[512]; /* "+verify +load check -load check -verify ..." */
    int healthy, stopped;
};
static void on_stage(const gate_stage_event *e, void *ctx)
{
    struct seen *s = ctx;
    size_t len = strlen(s->stages);
    snprintf(s->stages + len, sizeof s->stages - len, "%s%c%s", len ? " " : "", e->done ? '-' : '+',
             gate_stage_name(e->stage));
    if (e->stage == GATE_STAGE_SERVE && !e->done)
        snprintf(s->url, sizeof s->url, "%s", e->url);
    if (e->stage == GATE_STAGE_PROBE && e->done)
        s->healthy = e->ok;
    if (e->stage == GATE_STAGE_SERVE && e->done)
        s->stopped = e->ok && e->detail && !strcmp(e->detail, "stopped");
}
static void on_attempt(const gate_attempt *a, void *ctx)
{
    (void)a;
    ((struct seen *)ctx)->attempts++;
}

Test(gate_check, progress_hooks_see_every_stage_and_every_attempt)
{
    struct seen s = {0};
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1"};
    gate_check_opts o = serving();
    o.on_stage = on_stage;
    o.on_attempt = on_attempt;
    o.ctx = &s;
    check(&r, th_path(dir, "good.tar.gz"), tags, 1, &o);
    cr_assert_str_eq(s.stages,
                     "+verify +load check -load check -verify +serve +probe -probe -serve",
                     "each stage starts and ends, in order");
    cr_assert(!strncmp(s.url, "http://127.0.0.1:", 17), "%s", s.url);
    cr_assert(s.healthy && s.stopped);
    json_t *at = json_object_get(r.cases[0]->probe, "attempts");
    cr_assert_eq((size_t)s.attempts, json_array_size(at), "one call per attempt in the report");
    cr_assert_geq(s.attempts, 2, "at least one /ping and the /invocations");
    gate_report_free(&r);
}

/* Text, JUnit and GitHub annotations come from the same cases and name the failed one. */
Test(gate_check, the_renderings_name_the_failed_case)
{
    gate_report r = {.verb = "check"};
    const char *tags[] = {"1.7-1"};
    gate_check_opts o = {.no_serve = 1};
    check(&r, th_path(dir, "good.tar.gz"), tags, 1, &o);
    check(&r, th_path(dir, "nested.tar.gz"), tags, 1, &o);
    smx_buf text = SMX_BUF_INIT, junit = SMX_BUF_INIT, gh = SMX_BUF_INIT;
    cr_assert_eq(gate_report_text(&r, &text), SMX_OK);
    cr_assert_eq(gate_report_junit(&r, &junit), SMX_OK);
    cr_assert_eq(gate_report_github(&r, &gh), SMX_OK);
    /* the verb agrees with the count of failed cases, "errors" with any number of them */
    const char *summary = strstr(text.data, "FAIL: 1 of 2 cases has errors:");
    cr_assert(summary && strstr(summary, "nested.tar.gz [1.7-1]") && !strstr(summary, "good"), "%s",
              text.data);
    cr_assert(strstr(junit.data, "tests=\"2\" failures=\"1\""), "%s", junit.data);
    cr_assert(strstr(junit.data, "<failure type=\"layout-no-model\""), "%s", junit.data);
    cr_assert(strstr(gh.data, "::error file=") && strstr(gh.data, "layout-no-model") &&
                  !strstr(gh.data, "good.tar.gz"),
              "%s", gh.data);
    json_t *j = gate_report_json(&r);
    cr_assert(json_is_false(json_object_get(j, "ok")));
    cr_assert_eq(json_array_size(json_object_get(j, "cases")), 2);
    json_decref(j);
    smx_buf_free(&text);
    smx_buf_free(&junit);
    smx_buf_free(&gh);
    gate_report_free(&r);
}
