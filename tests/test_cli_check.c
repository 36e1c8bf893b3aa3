/*
 * `smxgb check` end to end on good and broken artifacts: one report for all of them, the
 * verify results per container, the serve + probe step (or a clear note when this build has
 * no serve verb), exit codes, JSON and JUnit.
 */
#include "helpers.h"
#include "th_server.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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
    th_write(th_path(dir, "plain.tar"), m, n); /* not an archive at all */
    free(m);
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}
TestSuite(check, .init = setup, .fini = teardown);

static json_t *case_named(json_t *rep, const char *artifact_suffix, const char *container)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(rep, "cases"), i, c)
    {
        const char *a = json_string_value(json_object_get(c, "name"));
        const char *t = json_string_value(json_object_get(c, "container"));
        size_t al = strlen(a), sl = strlen(artifact_suffix);
        if (al >= sl && !strcmp(a + al - sl, artifact_suffix) && t && !strcmp(t, container))
            return c;
    }
    return NULL;
}

static int has_code(json_t *c, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(
        json_object_get(c, "findings"), i,
        f) if (!strcmp(json_string_value(json_object_get(f, "code")), code)) return 1;
    return 0;
}

Test(check, good_and_broken_in_one_report)
{
    char *out = NULL;
    int rc = th_smxgb(&out, "check %s %s %s --container 1.7-1 --container 1.0-1 --json",
                      th_path(dir, "good.tar.gz"), th_path(dir, "nested.tar.gz"),
                      th_path(dir, "plain.tar"));
    cr_assert_eq(rc, 1, "%s", out);
    json_t *j = th_json(out);
    cr_assert_eq(json_array_size(json_object_get(j, "cases")), 6, "3 artifacts x 2 containers");
    json_t *g = case_named(j, "good.tar.gz", "1.7-1");
    cr_assert_not_null(g);
    cr_assert_str_eq(json_string_value(json_object_get(g, "status")), "pass", "%s", out);
    /* served and probed when this build has the serve verb; said clearly when not */
    int serve = th_smxgb(NULL, "help serve >/dev/null 2>&1") == 0;
    if (serve) {
        cr_assert(has_code(g, "probe-healthy"), "the good artifact passes its health check: %s",
                  out);
        json_t *probe = json_object_get(g, "probe");
        cr_assert(json_is_true(json_object_get(probe, "healthy")));
        cr_assert(has_code(g, "sample-generated"), "rows as wide as the model: %s", out);
    } else {
        cr_assert(has_code(g, "serve-unavailable"), "%s", out);
    }
    json_t *nst = case_named(j, "nested.tar.gz", "1.0-1");
    cr_assert_str_eq(json_string_value(json_object_get(nst, "status")), "fail");
    cr_assert(has_code(nst, "layout-no-model"));
    cr_assert(has_code(nst, "serve-skipped"), "a failed verify is not served: %s", out);
    json_t *pl = case_named(j, "plain.tar", "1.7-1");
    cr_assert_str_eq(json_string_value(json_object_get(pl, "status")), "fail");
    json_decref(j);
    free(out);
}

Test(check, exit_codes_text_and_junit)
{
    char *out = NULL;
    int rc = th_smxgb(&out, "check %s --container 1.7-1 --no-serve --junit %s",
                      th_path(dir, "good.tar.gz"), th_path(dir, "r.xml"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "PASS") && strstr(out, "OK: 1 case passed"), "%s", out);
    free(out);
    char *xml = th_read(th_path(dir, "r.xml"), NULL);
    cr_assert(strstr(xml, "tests=\"1\" failures=\"0\""), "%s", xml);
    cr_assert(strstr(xml, "classname=\"smxgb.check\""), "%s", xml);
    free(xml);

    rc = th_smxgb(&out, "check %s --no-serve", th_path(dir, "nested.tar.gz"));
    cr_assert_eq(rc, 1);
    cr_assert(strstr(out, "FAIL  ") && strstr(out, "layout-no-model"), "%s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "check %s --no-serve 2>&1", th_path(dir, "absent.tar.gz")), 2);
    cr_assert(strstr(out, "artifact-unreadable"), "%s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "check %s --container 9.9-9 2>&1", th_path(dir, "good.tar.gz")), 2);
    free(out);
    cr_assert_eq(th_smxgb(&out, "check 2>&1"), 2);
    free(out);
}

/* ---- against `smxgb serve` (when this build has it) ---------------------------------------- */

static int have_serve(void)
{
    return th_smxgb(NULL, "help serve >/dev/null 2>&1") == 0;
}

Test(check, probe_against_smxgb_serve, .timeout = 120)
{
    if (!have_serve())
        cr_skip_test("this build has no `serve` verb");
    char cmd[4096];
    char *out = NULL;
    /* a port nothing listens on yet: the first pings are refused until the server is up */
    int port = 0;
    {
        char *p = NULL;
        th_run("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); "
               "print(s.getsockname()[1])'",
               &p);
        port = atoi(p);
        free(p);
    }
    snprintf(cmd, sizeof cmd, "%s serve %s --port %d --quiet >/dev/null 2>&1 & echo $!", SMXGB_BIN,
             th_path(dir, "good.tar.gz"), port);
    cr_assert_eq(th_run(cmd, &out), 0);
    int pid = atoi(out);
    free(out);
    cr_assert_gt(pid, 0);
    th_write(th_path(dir, "rows.csv"), "0.1,0.2,0.3,0.4,0.5,0.6\n", 24);
    int rc = th_smxgb(&out,
                      "probe http://127.0.0.1:%d --interval 0.2 --startup-timeout 30 --sample %s "
                      "--content-type text/csv --json",
                      port, th_path(dir, "rows.csv"));
    snprintf(cmd, sizeof cmd, "kill %d", pid);
    th_run(cmd, NULL);
    cr_assert_eq(rc, 0, "smxgb serve passes SageMaker's health check: %s", out);
    json_t *j = th_json(out);
    json_t *inv = json_object_get(j, "invocation");
    cr_assert_eq(json_integer_value(json_object_get(inv, "status")), 200);
    const char *body = json_string_value(json_object_get(inv, "body"));
    cr_assert(body && (body[0] == '0' || body[0] == '1'), "a probability: %s", body);
    json_decref(j);
    free(out);
}

Test(check, model_that_does_not_load_fails_its_health_check, .timeout = 120)
{
    if (!have_serve())
        cr_skip_test("this build has no `serve` verb");
    th_entry junk[] = {{"xgboost-model", 'f', 0, "this is not a model\n", 20, NULL}};
    th_write_archive(th_path(dir, "junk.tar.gz"), "gzip", "pax", junk, 1);
    char *out = NULL;
    int rc = th_smxgb(&out, "check %s --container 1.7-1 --startup-timeout 20 --json",
                      th_path(dir, "junk.tar.gz"));
    cr_assert_eq(rc, 1, "%s", out);
    json_t *j = th_json(out);
    json_t *c = json_array_get(json_object_get(j, "cases"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(c, "status")), "fail");
    cr_assert(has_code(c, "probe-unhealthy") || has_code(c, "serve-skipped"),
              "either verify or the health check says so: %s", out);
    json_decref(j);
    free(out);
}

/* A model the container's XGBoost cannot read fails check for that container even though the
 * XGBoost smxgb serves with (1.7.4) loads it: the verdict counts, not only the health check. */
Test(check, a_failing_verdict_fails_that_container)
{
    size_t n;
    char *m = th_read(SMXGB_TESTDATA "/models/3.0.5/binary_logistic.ubj", &n);
    cr_assert(m);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "ubj.tar.gz"), "gzip", "pax", e, 1);
    free(m);
    char *out = NULL;
    int rc = th_smxgb(&out, "check --json -c 1.5-1 -c 3.0-5 '%s/ubj.tar.gz'", dir);
    cr_assert_eq(rc, 1, "%s", out);
    json_t *rep = th_json(out);
    json_t *c15 = case_named(rep, "ubj.tar.gz", "1.5-1");
    json_t *c30 = case_named(rep, "ubj.tar.gz", "3.0-5");
    cr_assert(c15 && c30, "%s", out);
    cr_expect_str_eq(json_string_value(json_object_get(c15, "status")), "fail");
    cr_expect(has_code(c15, "verdict-fails"), "%s", out);
    cr_expect(has_code(c15, "serve-skipped"), "a failing container is not served: %s", out);
    cr_expect_str_eq(json_string_value(json_object_get(c30, "status")), "pass");
    cr_expect(!has_code(c30, "verdict-fails"), "%s", out);
    json_decref(rep);
    free(out);
}

/* A sample the server refuses: the report carries the server's whole answer and its log, one
 * line per line; --sample's content type comes from its extension. */
Test(check, a_refused_sample_shows_the_whole_answer_and_the_log, .timeout = 120)
{
    if (!have_serve())
        cr_skip_test("this build has no `serve` verb");
    th_write(th_path(dir, "rows.libsvm"), "a,b\n", 4);
    char *out = NULL;
    int rc = th_smxgb(&out, "check %s -c 1.7-1 --sample %s --startup-timeout 30 2>&1",
                      th_path(dir, "good.tar.gz"), th_path(dir, "rows.libsvm"));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "/invocations failed: HTTP 415 (needs 2xx)\n"), "%s", out);
    const char *answer = strstr(out, "\n                the server answered:\n");
    cr_assert(answer, "%s", out);
    cr_assert(strstr(answer, "\n                  Loading libsvm data failed with Exception, "
                             "please ensure data is in libsvm format:\n"),
              "%s", out);
    cr_assert(strstr(answer, "cannot infer dimensions from zero sized index arrays\n"),
              "the end of the text, far past 60 characters: %s", out);
    cr_assert(strstr(answer, "\n                the server's log:\n                  smxgb serve: "
                             "listening on http://127.0.0.1:"),
              "%s", out);
    free(out);
}

/* --container takes what a user has at hand: a version, an image tag, an image URI. Each names
 * the container's own tag in the report; what names none says what would. */
Test(check, container_as_image_tag_or_uri)
{
    const char *forms[] = {"1.7-1",
                           "1.7-1-cpu-py3",
                           "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                           ("683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                            "sagemaker-xgboost:1.7-1-cpu-py3"),
                           "111122223333.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                           "sagemaker-xgboost:1.7-1"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *out = NULL;
        int rc = th_smxgb(&out, "check %s --no-serve -c '%s' 2>&1", th_path(dir, "good.tar.gz"),
                          forms[i]);
        cr_assert_eq(rc, 0, "%s: %s", forms[i], out);
        cr_assert(strstr(out, "[container 1.7-1]\n") && strstr(out, "OK: 1 case passed"), "%s: %s",
                  forms[i], out);
        free(out);
    }
    char *out = NULL;
    cr_assert_eq(
        th_smxgb(&out, "check %s --no-serve -c 1.5-1-cpu-py3 --json", th_path(dir, "good.tar.gz")),
        0);
    json_t *j = th_json(out);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(j, "cases"), 0), "container")),
                     "1.5-1");
    json_decref(j);
    free(out);

    cr_assert_eq(th_smxgb(&out, "check %s --no-serve -c 9.9-9 2>&1", th_path(dir, "good.tar.gz")),
                 2);
    cr_assert(strstr(out, "'9.9-9' is not a SageMaker XGBoost container") &&
                  strstr(out, "1.7-1 1.7-1-1") && strstr(out, "an image tag (1.7-1-cpu-py3"),
              "%s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "check %s --no-serve -c 'other-repo:1.7-1' 2>&1",
                          th_path(dir, "good.tar.gz")),
                 2);
    free(out);
    cr_assert_eq(th_smxgb(&out,
                          "check %s --no-serve -c "
                          "'683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:"
                          "0123' 2>&1",
                          th_path(dir, "good.tar.gz")),
                 2);
    cr_assert(strstr(out, "pinned by digest") && strstr(out, "give its tag"), "%s", out);
    free(out);
    /* verify takes the same */
    cr_assert_eq(th_smxgb(&out, "verify %s -c 1.7-1-cpu-py3", th_path(dir, "good.tar.gz")), 0, "%s",
                 out);
    cr_assert(strstr(out, "1.7-1 "), "%s", out);
    free(out);
}

/* Without --container every version is verified and only the default one is served: the report
 * says, per case and in one place, which were served and probed and which only verified. */
Test(check, without_container_says_which_were_served, .timeout = 120)
{
    if (!have_serve())
        cr_skip_test("this build has no `serve` verb");
    char *out = NULL;
    int rc =
        th_smxgb(&out, "check %s --startup-timeout 30 2>/dev/null", th_path(dir, "good.tar.gz"));
    cr_assert_eq(rc, 1, "some version cannot use the model: %s", out);
    char line[4200];
    snprintf(line, sizeof line, "\nserved and probed: %s [1.7-1]\n", th_path(dir, "good.tar.gz"));
    cr_assert(strstr(out, line), "%s", out);
    const char *only = strstr(out, "\nverified only, not served: ");
    cr_assert(only, "%s", out);
    snprintf(line, sizeof line, "%s [1.0-1], ", th_path(dir, "good.tar.gz"));
    cr_assert(strstr(only, line), "%s", only);
    cr_assert(!strstr(strstr(only, ": "), "[1.7-1],"), "the served one is not listed: %s", only);
    cr_assert(strstr(out, "serve-skipped: verified only, not served and probed: without "
                          "--container, check serves and probes only the default container, "
                          "1.7-1 (-c 1.0-1 serves this one)"),
              "%s", out);
    free(out);

    rc = th_smxgb(&out, "check %s --json --startup-timeout 30 2>/dev/null",
                  th_path(dir, "good.tar.gz"));
    json_t *j = th_json(out);
    json_t *d = case_named(j, "good.tar.gz", "1.7-1"),
           *other = case_named(j, "good.tar.gz", "1.0-1");
    cr_assert(d && other, "%s", out);
    cr_assert(json_object_get(d, "probe") && has_code(d, "probe-healthy"), "%s", out);
    cr_assert(!json_object_get(other, "probe") && has_code(other, "serve-skipped"), "%s", out);
    json_decref(j);
    free(out);
}

/* An S3 stand-in answering every GET with the good archive. */
static void s3_good(const th_request *rq, th_response *rs, void *ctx)
{
    (void)rq;
    const smx_buf *b = ctx;
    rs->status = 200;
    rs->body = b->data;
    rs->body_len = b->len;
}

/* An s3:// artifact downloaded without credentials: the report says the requests were unsigned. */
Test(check, an_s3_download_without_credentials_says_so)
{
    smx_buf body = SMX_BUF_INIT;
    cr_assert_eq(smx_buf_read_file(&body, th_path(dir, "good.tar.gz"), 1 << 20, NULL), SMX_OK);
    th_server *s = th_server_start(s3_good, &body);
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY %s check "
             "s3://models/good.tar.gz -c 1.7-1 --no-serve --s3-endpoint %s 2>&1",
             SMXGB_BIN, th_server_url(s));
    cr_assert_eq(th_run(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "info    artifact-downloaded: s3://models/good.tar.gz was downloaded "
                          "without AWS credentials"),
              "%s", out);
    free(out);
    th_server_stop(s);
    smx_buf_free(&body);
}

/* Does text hold head, a duration ("850 ms", "12.4 s"), then tail? */
static int timed(const char *text, const char *head, const char *tail)
{
    for (const char *p = text; (p = strstr(p, head)); p++) {
        const char *q = p + strlen(head);
        size_t digits = strspn(q, "0123456789.");
        if (!digits)
            continue;
        q += digits;
        if (!strncmp(q, " ms", 3))
            q += 3;
        else if (!strncmp(q, " s", 2))
            q += 2;
        else
            continue;
        if (!strncmp(q, tail, strlen(tail)))
            return 1;
    }
    return 0;
}

/* ---- what check prints while it runs -------------------------------------------------------- */

/* stderr: a line as each stage starts and one with its time and result as it ends, in order;
 * nothing with --quiet. */
Test(check, each_stage_is_printed_as_it_starts_and_ends, .timeout = 120)
{
    if (!have_serve())
        cr_skip_test("this build has no `serve` verb");
    const char *a = th_path(dir, "good.tar.gz");
    char *err = NULL;
    int rc = th_smxgb(&err, "check %s -c 1.7-1 --startup-timeout 30 2>&1 >/dev/null", a);
    cr_assert_eq(rc, 0, "%s", err);
    char want[8][4400];
    snprintf(want[0], sizeof want[0], "verify     %s ...\n", a);
    snprintf(want[1], sizeof want[1], "load check xgboost-model ...\n");
    snprintf(want[2], sizeof want[2], "load check xgboost-model: ");
    snprintf(want[3], sizeof want[3], "verify     %s: ", a);
    snprintf(want[4], sizeof want[4], "serve      %s [1.7-1] on http://127.0.0.1:", a);
    snprintf(want[5], sizeof want[5], "probe      %s [1.7-1] ...\n", a);
    snprintf(want[6], sizeof want[6], "probe      %s [1.7-1]: ", a);
    snprintf(want[7], sizeof want[7], "serve      %s [1.7-1]: ", a);
    const char *at = err;
    for (int i = 0; i < 8; i++) {
        const char *p = strstr(at, want[i]);
        cr_assert(p, "'%s' after the lines before it in:\n%s", want[i], err);
        at = p + strlen(want[i]);
    }
    cr_assert(timed(err, "load check xgboost-model: ", ", loaded by XGBoost 1.7.4\n"), "%s", err);
    cr_assert(timed(err, want[3], ", 1 container, no errors\n"), "%s", err);
    cr_assert(timed(err, want[6], ", healthy\n") && timed(err, want[7], ", stopped\n"), "%s", err);
    cr_assert(!strstr(err, "\033["), "no terminal control off a terminal: %s", err);
    free(err);

    rc = th_smxgb(&err, "check %s -c 1.7-1 --quiet --startup-timeout 30 2>&1 >/dev/null", a);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(err, "", "--quiet: the report only");
    free(err);
}

/* An S3 stand-in that trickles a body of `len` bytes at `rate` bytes a second. */
struct slow_s3 {
    const char *body;
    size_t len;
    double rate;
};
static void s3_slow(const th_request *rq, th_response *rs, void *ctx)
{
    (void)rq;
    const struct slow_s3 *s = ctx;
    rs->status = 200;
    rs->body = s->body;
    rs->body_len = s->len;
    rs->bytes_per_s = s->rate;
}

/* A download's lines say its size, time and rate; on a terminal a progress line shows its bytes
 * so far and its rate while it runs (--quiet: none). */
Test(check, a_download_shows_bytes_and_rate, .timeout = 120)
{
    size_t len = 600 * 1024;
    char *body = malloc(len);
    memset(body, 'x', len); /* not an archive: verify fails it, which is not the point here */
    struct slow_s3 s3 = {body, len, 300 * 1024};
    th_server *s = th_server_start(s3_slow, &s3);
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY %s check s3://models/big.tar.gz "
             "-c 1.7-1 --no-serve --s3-endpoint %s 2>&1 >/dev/null",
             SMXGB_BIN, th_server_url(s));
    th_run(cmd, &out);
    cr_assert(strstr(out, "download   s3://models/big.tar.gz (unsigned: no AWS credentials) ...\n"),
              "%s", out);
    cr_assert(timed(out, "download   s3://models/big.tar.gz: 600.0 KiB in ", " ("), "%s", out);
    cr_assert(strstr(out, " KiB/s)\n"), "the rate: %s", out);
    free(out);

    if (th_run("command -v script >/dev/null", NULL) != 0) {
        th_server_stop(s);
        free(body);
        cr_skip_test("no script(1) to run check on a terminal");
    }
    snprintf(cmd, sizeof cmd,
             "script -qec '%s check s3://models/big.tar.gz -c 1.7-1 --no-serve --s3-endpoint %s' "
             "/dev/null",
             SMXGB_BIN, th_server_url(s));
    th_run(cmd, &out);
    cr_assert(strstr(out, "\r\033[K> download s3://models/big.tar.gz  "), "a progress line: %s",
              out);
    cr_assert(strstr(out, " KiB of 600.0 KiB ("), "bytes so far of the size: %s", out);
    cr_assert(strstr(out, "%), ") && strstr(out, " KiB/s"), "and the rate: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "script -qec '%s check s3://models/big.tar.gz -c 1.7-1 --no-serve --quiet "
             "--s3-endpoint %s' /dev/null",
             SMXGB_BIN, th_server_url(s));
    th_run(cmd, &out);
    cr_assert(!strstr(out, "\033[K") && !strstr(out, "download   "), "--quiet: %s", out);
    free(out);
    th_server_stop(s);
    free(body);
}
