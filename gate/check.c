/*
 * The steps of a check (`smxgb check` for each artifact, `smxgb plan` for each model):
 *
 *   source  paths, s3:// and https:// all become a local file (gate_fetch).
 *   verify  compat_verify on the artifact, as `smxgb verify` does; one case per container, with
 *           verify's findings for that container, the verdict when the container cannot use the
 *           model, and the files it loads.
 *   serve   a server for the artifact and container version, started by the launcher the
 *           caller gives (the CLI runs its own `serve` verb; tests run the built binary) on a
 *           free loopback port with the endpoint's environment, its output in a temporary log;
 *           probed with SageMaker's timings (gate_probe), then stopped with SIGTERM as SageMaker
 *           stops a container (SIGKILL if it is still there 5 s later). The sample is the
 *           user's file or 3 CSV rows as wide as the model: the feature count comes from the
 *           booster verify's load check loaded, else from the model file itself.
 *
 * A container whose verify already failed is not served: the report says why it would fail,
 * and serving it would only wait out the startup window. Without containers asked for, only
 * the server's default is served; the other cases say they were only verified. A failed probe's
 * note carries the whole text of the answer that failed it and the last lines of the server's
 * log, a line per line.
 *
 * Each step is a stage the caller can follow live (on_stage): it is reported as it starts and
 * as it ends, with its time and result (the download with its bytes, verify with each load
 * check inside it, the server's life with the probe inside it).
 */
#include "gate_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- stages -------------------------------------------------------------------------------- */

const char *gate_stage_name(gate_stage s)
{
    switch (s) {
    case GATE_STAGE_DOWNLOAD:
        return "download";
    case GATE_STAGE_VERIFY:
        return "verify";
    case GATE_STAGE_LOAD_CHECK:
        return "load check";
    case GATE_STAGE_SERVE:
        return "serve";
    case GATE_STAGE_PROBE:
        return "probe";
    }
    return "?";
}

void gate__stage(const gate_check_opts *o, const gate_stage_event *e)
{
    if (o->on_stage)
        o->on_stage(e, o->ctx);
}

/* ---- source -------------------------------------------------------------------------------- */

int gate_check_fetch(const char *src, const gate_check_opts *o, char **local, int *tmp,
                     smx_err *err)
{
    *tmp = 0;
    int remote = gate_source_is_remote(src);
    gate_stage_event e = {.stage = GATE_STAGE_DOWNLOAD,
                          .what = src,
                          .unsigned_s3 = !strncmp(src, "s3://", 5) && !gate_s3_credentials()};
    if (remote)
        gate__stage(o, &e);
    double t0 = smx_now();
    gate_fetch_info info;
    int rc = gate_fetch(src, o->fetch, local, &info, err);
    e.done = 1;
    e.seconds = smx_now() - t0;
    e.ok = rc == SMX_OK;
    e.bytes = info.bytes;
    e.detail = rc && err ? err->msg : NULL;
    if (remote)
        gate__stage(o, &e);
    if (rc == SMX_OK)
        *tmp = remote;
    gate_fetch_info_free(&info);
    return rc;
}

void gate__note_unsigned(gate_case *c, const char *src)
{
    if (strncmp(src, "s3://", 5) || gate_s3_credentials())
        return;
    gate_case_note(c, ARTIFACT_INFO, "artifact-downloaded", NULL,
                   "%s was downloaded without AWS credentials: AWS_ACCESS_KEY_ID and "
                   "AWS_SECRET_ACCESS_KEY are not set, so the requests were unsigned (only a "
                   "public object answers those)",
                   src);
}

/* ---- verify -------------------------------------------------------------------------------- */

static int script_mode(const gate_check_opts *o)
{
    return compat_env_get(o->env, o->n_env, "SAGEMAKER_PROGRAM") != NULL;
}

/* verify's findings that apply to container i; in script mode the container-specific errors
 * are information (the user's model_fn decides what is loaded). */
static void note_findings(gate_case *c, const compat_report *rep, size_t i, int script)
{
    for (size_t k = 0; k < rep->n_findings; k++) {
        const compat_finding *f = &rep->findings[k];
        if (f->containers && !(i < 64 && (f->containers & (1ull << i))))
            continue;
        if (script && f->containers && f->f.severity == ARTIFACT_ERROR) {
            gate_case_note(c, ARTIFACT_INFO, f->f.code, NULL,
                           "%s (not counted: SAGEMAKER_PROGRAM is set, so the user's model_fn "
                           "decides what is loaded)",
                           f->f.message);
            continue;
        }
        gate_case_note(c, f->f.severity, f->f.code, f->f.hint, "%s", f->f.message);
    }
}

/* The load rules or a real load say this container cannot use the model. */
static void note_verdict(gate_case *c, const compat_result *res, int script)
{
    if (res->verdict == COMPAT_VERDICT_OK || res->layout_errors)
        return;
    smx_buf b = SMX_BUF_INIT;
    for (size_t k = 0; k < res->n_reasons; k++)
        if (res->reasons[k].verdict != COMPAT_VERDICT_OK)
            smx_buf_printf(&b, "%s%s: %s", b.len ? "; " : "", res->reasons[k].rule,
                           res->reasons[k].message);
    if (res->verdict == COMPAT_VERDICT_UNKNOWN && !script) {
        /* a fact the verdict rests on is unknown: not ok, unless the report allows it */
        gate_case_unknown(c, "verdict-unknown", res->hint,
                          "container %s (XGBoost %s): whether it loads the model correctly is "
                          "unknown: %s",
                          res->c->tag, res->c->xgboost_str, b.data ? b.data : "see verify");
        smx_buf_free(&b);
        return;
    }
    int fails = res->verdict == COMPAT_VERDICT_FAILS;
    int unknown = res->verdict == COMPAT_VERDICT_UNKNOWN;
    gate_case_note(c, script ? ARTIFACT_INFO : ARTIFACT_ERROR,
                   fails     ? "verdict-fails"
                   : unknown ? "verdict-unknown"
                             : "verdict-wrong-predictions",
                   res->hint, "container %s (XGBoost %s) %s the model: %s", res->c->tag,
                   res->c->xgboost_str,
                   fails     ? "cannot load"
                   : unknown ? "may not load (unknown)"
                             : "loads but mispredicts",
                   b.data ? b.data : "see verify");
    smx_buf_free(&b);
}

/* The files the container loads (all of them for an ensemble). */
static void note_loads(gate_case *c, const compat_report *rep, const compat_result *res)
{
    size_t nl = res->rules.ensemble ? res->n_loads : (res->n_loads ? 1 : 0);
    if (!nl || res->layout_errors)
        return;
    smx_buf b = SMX_BUF_INIT;
    for (size_t k = 0; k < nl; k++)
        smx_buf_printf(&b, "%s%s", k ? ", " : "", rep->scan->entries[res->loads[k]].path);
    gate_case_note(c, ARTIFACT_INFO, "container-loads", NULL,
                   "container %s (XGBoost %s) loads %s%s", res->c->tag, res->c->xgboost_str,
                   b.data ? b.data : "", res->rules.ensemble && nl > 1 ? " as an ensemble" : "");
    smx_buf_free(&b);
}

static int out_of_memory(smx_err *err)
{
    return smx_fail(err, SMX_ENOMEM, "out of memory");
}

/* A load check inside verify, as a stage of its own. */
typedef struct load_stage {
    const gate_check_opts *o;
    double t0;
} load_stage;

static void on_load_check(const char *entry, int done, int loaded, const char *version, void *ctx)
{
    load_stage *ls = ctx;
    gate_stage_event e = {.stage = GATE_STAGE_LOAD_CHECK, .what = entry, .done = done};
    if (!done) {
        ls->t0 = smx_now();
    } else {
        e.seconds = smx_now() - ls->t0;
        e.ok = loaded;
        e.detail = version && *version ? version : NULL;
    }
    gate__stage(ls->o, &e);
}

/* verify's stage: starts with what is verified, ends with how many containers and how many of
 * them have errors (or why verify could not run). */
static void verify_stage(const gate_check_opts *o, const char *what, int done, double t0,
                         const compat_report *rep, const smx_err *verr)
{
    gate_stage_event e = {.stage = GATE_STAGE_VERIFY, .what = what, .done = done};
    char detail[SMX_ERRMAX + 64];
    if (e.done) {
        e.seconds = smx_now() - t0;
        e.ok = rep && !rep->n_errors;
        if (rep) {
            size_t failing = 0;
            for (size_t i = 0; i < rep->n_results; i++)
                failing +=
                    rep->results[i].verdict != COMPAT_VERDICT_OK || rep->results[i].layout_errors;
            char errs[48] = "no errors";
            if (failing)
                snprintf(errs, sizeof errs, "%zu with errors", failing);
            snprintf(detail, sizeof detail, "%zu container%s, %s", rep->n_results,
                     rep->n_results == 1 ? "" : "s", errs);
        } else {
            snprintf(detail, sizeof detail, "%s", verr->msg);
        }
        e.detail = detail;
    }
    gate__stage(o, &e);
}

int gate__verify(gate_report *r, gate_case *into, const char *name, const char *source,
                 const char *local, const char *const *tags, size_t n, const gate_check_opts *o,
                 compat_report **rep_out, smx_err *err)
{
    *rep_out = NULL;
    load_stage ls = {o, 0};
    compat_verify_opts vo = {.containers = tags,
                             .n_containers = n,
                             .env = o->env,
                             .n_env = o->n_env,
                             .runtimes = o->runtimes,
                             .on_load_check = o->on_stage ? on_load_check : NULL,
                             .ctx = &ls};
    artifact_limits_default(&vo.limits);
    compat_report *rep = NULL;
    smx_err verr = {0};
    if (o->fetch_runtimes) { /* each version once per run; what cannot be had: the rules */
        int frc = gate_runtimes_fetch(o->fetch_runtimes, tags, n, &verr);
        if (frc == SMX_ENOMEM)
            return out_of_memory(err);
        vo.missing = o->fetch_runtimes->missing;
        vo.n_missing = o->fetch_runtimes->n_missing;
    }
    const char *what = source ? source : name;
    double t0 = smx_now();
    verify_stage(o, what, 0, t0, NULL, NULL);
    int rc = compat_verify(local, &vo, &rep, &verr);
    verify_stage(o, what, 1, t0, rc ? NULL : rep, &verr);
    if (rc) {
        gate_case *c = into ? into : gate_report_add(r, name, n == 1 ? tags[0] : NULL, source);
        if (!c)
            return out_of_memory(err);
        gate_case_note(c, ARTIFACT_ERROR,
                       rc == SMX_EINVAL ? "container-unknown" : "artifact-unreadable", NULL, "%s",
                       verr.msg);
        c->io_error = 1;
        return SMX_OK;
    }
    if (source && strcmp(source, local) && gate_source_is_remote(source)) {
        char *shown = strdup(source); /* name the source, not the temporary file */
        if (shown) {
            free(rep->scan->path);
            rep->scan->path = shown;
        }
    }
    json_t *full = o->verify_json ? o->verify_json(rep) : NULL;
    int script = script_mode(o);
    for (size_t i = 0; i < rep->n_results; i++) {
        const compat_result *res = &rep->results[i];
        gate_case *c =
            (into && rep->n_results == 1) ? into : gate_report_add(r, name, res->c->tag, source);
        if (!c) {
            json_decref(full);
            compat_report_free(rep);
            return out_of_memory(err);
        }
        c->verify = json_incref(full);
        note_findings(c, rep, i, script);
        note_verdict(c, res, script);
        note_loads(c, rep, res);
    }
    json_decref(full);
    *rep_out = rep;
    return SMX_OK;
}

/* ---- the sample ---------------------------------------------------------------------------- */

#define MAX_GENERATED_WIDTH 100000

/*
 * The model's width, from the report verify already made: the feature count of the booster its
 * load check loaded, else (no load check, or one that could not say) the count the model file
 * records. 0 with the reason in why when neither is known.
 */
static uint64_t model_width(const compat_report *rep, const char *tag, char *why, size_t wn)
{
    const compat_result *res = NULL;
    for (size_t i = 0; rep && i < rep->n_results; i++)
        if (!tag || !strcmp(rep->results[i].c->tag, tag))
            res = &rep->results[i];
    const compat_model *cm = res && res->n_loads ? compat_report_model(rep, res->loads[0]) : NULL;
    if (!cm) {
        snprintf(why, wn, "no model file");
        return 0;
    }
    static const compat_loadcheck none;
    const compat_loadcheck *l = compat_model_load(rep, cm, res);
    if (!l)
        l = &none;
    if (l->ran && !l->loaded) {
        snprintf(why, wn, "%s", l->error[0] ? l->error : "XGBoost could not load it");
        return 0;
    }
    if (l->ran && l->num_features > 0)
        return l->num_features;
    if (cm->info && cm->info->num_feature > 0)
        return (uint64_t)cm->info->num_feature;
    snprintf(why, wn, "%s",
             l->note[0]         ? l->note
             : cm->load_note[0] ? cm->load_note
             : cm->info         ? "the model file does not record it and XGBoost did not load it"
                                : cm->error);
    return 0;
}

/* 3 rows of width CSV values, the same for every run. */
static void generate_rows(smx_buf *sample, uint64_t width)
{
    for (int row = 0; row < 3; row++) {
        for (uint64_t j = 0; j < width; j++)
            smx_buf_printf(sample, "%s%.2f", j ? "," : "",
                           (double)((row * 7 + (int)(j % 97) * 3) % 10) / 10.0);
        smx_buf_puts(sample, "\n");
    }
}

/* The sample for /invocations into *sample (empty: ping only) and its type. -1 when the user's
 * sample cannot be read (then the case says so and nothing is served). */
static int make_sample(gate_case *c, const compat_report *rep, const char *tag,
                       const gate_check_opts *o, smx_buf *sample, const char **ctype)
{
    *ctype = o->content_type ? o->content_type : "text/csv";
    if (o->sample) {
        smx_err e = {0};
        if (smx_buf_read_file(sample, o->sample, (size_t)64 << 20, &e)) {
            gate_case_note(c, ARTIFACT_ERROR, "sample-unreadable", NULL, "%s", e.msg);
            c->io_error = 1;
            return -1;
        }
        return 0;
    }
    char why[SMX_ERRMAX] = "";
    uint64_t width = model_width(rep, tag, why, sizeof why);
    if (width > MAX_GENERATED_WIDTH) {
        snprintf(why, sizeof why, "%llu features: too many to generate rows",
                 (unsigned long long)width);
        width = 0;
    }
    if (!width) {
        gate_case_note(c, ARTIFACT_INFO, "sample-none",
                       "send rows of your own: --sample FILE --content-type TYPE",
                       "no sample sent to /invocations: the model's feature count is unknown (%s)",
                       why);
        return 0;
    }
    generate_rows(sample, width);
    gate_case_note(c, ARTIFACT_INFO, "sample-generated", NULL,
                   "sample: 3 generated text/csv rows of %llu features", (unsigned long long)width);
    *ctype = "text/csv";
    return 0;
}

/* ---- the server ---------------------------------------------------------------------------- */

typedef struct server {
    pid_t pid;
    int exited, status;
    int killed; /* still running 5 s after SIGTERM */
    int port;
    double t_start;
    char url[64];
    char logpath[4200];
} server;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = -1;
    if (!bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &al))
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int server_alive(server *sv)
{
    if (sv->exited)
        return 0;
    int st;
    if (waitpid(sv->pid, &st, WNOHANG) == sv->pid) {
        sv->exited = 1;
        sv->status = st;
        return 0;
    }
    return 1;
}

/* A free port, a log file, and the launcher's server on them. -1 when the case says why not. */
static int start_server(gate_case *c, const char *local, const char *tag, const gate_check_opts *o,
                        server *sv)
{
    memset(sv, 0, sizeof *sv);
    sv->port = free_port();
    snprintf(sv->logpath, sizeof sv->logpath, "%s/smxgb-serve-log-XXXXXX", smx_tmpdir());
    int logfd = mkstemp(sv->logpath);
    if (logfd >= 0)
        smx_scratch_add(sv->logpath);
    if (sv->port < 0 || logfd < 0) {
        gate_case_note(c, ARTIFACT_ERROR, "serve-failed", NULL, "cannot set up the server: %s",
                       strerror(errno));
        if (logfd >= 0) {
            close(logfd);
            smx_scratch_remove(sv->logpath);
        }
        return -1;
    }
    snprintf(sv->url, sizeof sv->url, "http://127.0.0.1:%d", sv->port);
    gate_server_spec spec = {local, tag, o->env, o->n_env, sv->port, logfd};
    smx_err e = {0};
    gate_stage_event ev = {
        .stage = GATE_STAGE_SERVE, .what = c->name, .container = c->container, .url = sv->url};
    gate__stage(o, &ev);
    sv->t_start = smx_now();
    int rc = o->launch(o->launch_ctx, &spec, &sv->pid, &e);
    close(logfd);
    if (rc) {
        gate_case_note(c, ARTIFACT_ERROR, "serve-failed", NULL, "%s", e.msg);
        smx_scratch_remove(sv->logpath);
        ev.done = 1;
        ev.seconds = smx_now() - sv->t_start;
        ev.detail = e.msg;
        gate__stage(o, &ev);
        return -1;
    }
    setpgid(sv->pid, sv->pid); /* the launcher's child does the same; whichever runs first */
    return 0;
}

/* SIGTERM to the server's group, SIGKILL if it is still there 5 s later (with a warning). */
static void stop_server(gate_case *c, server *sv)
{
    if (sv->exited)
        return;
    kill(-sv->pid, SIGTERM);
    kill(sv->pid, SIGTERM);
    double t0 = smx_now();
    while (smx_now() - t0 < 5.0) {
        if (!server_alive(sv))
            return;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    gate_case_note(c, ARTIFACT_WARNING, "serve-ignores-sigterm", NULL,
                   "the server was still running 5 s after SIGTERM (SageMaker sends SIGKILL 30 s "
                   "after SIGTERM); killed");
    kill(-sv->pid, SIGKILL);
    kill(sv->pid, SIGKILL);
    waitpid(sv->pid, &sv->status, 0);
    sv->exited = 1;
    sv->killed = 1;
}

/* The end of the serve stage: how the server ended (died is 1 when it exited on its own). */
static void serve_ended(const gate_check_opts *o, const gate_case *c, const server *sv, int died)
{
    char detail[96] = "stopped";
    if (sv->killed)
        snprintf(detail, sizeof detail, "killed: still running 5 s after SIGTERM");
    else if (died && WIFEXITED(sv->status))
        snprintf(detail, sizeof detail, "exited with status %d", WEXITSTATUS(sv->status));
    else if (died && WIFSIGNALED(sv->status))
        snprintf(detail, sizeof detail, "died of signal %d", WTERMSIG(sv->status));
    gate_stage_event e = {.stage = GATE_STAGE_SERVE,
                          .done = 1,
                          .what = c->name,
                          .container = c->container,
                          .url = sv->url,
                          .seconds = smx_now() - sv->t_start,
                          .ok = !died && !sv->killed,
                          .detail = detail};
    gate__stage(o, &e);
}

#define LOG_TAIL_LINES 20
#define LOG_TAIL_BYTES 4000

/* Append text to b as indented lines ("\n  line"...). */
static void indented(smx_buf *b, const char *text)
{
    for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1) {
        smx_buf_puts(b, "\n  ");
        smx_buf_append(b, text, (size_t)(nl - text));
    }
    smx_buf_printf(b, "\n  %s", text);
}

/* The server's log, its last LOG_TAIL_LINES lines (at most LOG_TAIL_BYTES), after a heading
 * that says whether that is all of it; nothing when the log is empty. */
static void note_log_tail(smx_buf *out, const char *path)
{
    smx_buf b = SMX_BUF_INIT;
    if (smx_buf_read_file(&b, path, (size_t)64 << 20, NULL) || !b.len) {
        smx_buf_free(&b);
        return;
    }
    size_t end = b.len;
    while (end && (b.data[end - 1] == '\n' || b.data[end - 1] == '\r'))
        end--;
    size_t start = end, lines = 0;
    while (start > 0 && lines < LOG_TAIL_LINES && end - start < LOG_TAIL_BYTES)
        if (b.data[--start] == '\n')
            lines++;
    if (start > 0 && b.data[start] == '\n') {
        start++;
    } else if (start > 0) { /* cut inside a line: from the next one, or the end of a long one */
        size_t next = start;
        while (next < end && b.data[next - 1] != '\n')
            next++;
        start = next < end ? next : start;
    }
    smx_buf text = SMX_BUF_INIT;
    if (end > start && !gate__printable(&text, b.data + start, end - start) && text.data) {
        smx_buf_printf(out, "\nthe server's log%s:", start ? " (its last lines)" : "");
        indented(out, text.data);
    }
    smx_buf_free(&text);
    smx_buf_free(&b);
}

/* ---- serve + probe ------------------------------------------------------------------------- */

/* Why this container is not served, as a note; 0 when it is to be served. */
static int serve_skipped(gate_case *c, const gate_check_opts *o)
{
    if (script_mode(o)) {
        gate_case_note(c, ARTIFACT_INFO, "serve-skipped", NULL,
                       "not served: SAGEMAKER_PROGRAM selects script mode, whose user code smxgb "
                       "does not run; the archive was checked, the inference script was not");
        return 1;
    }
    if (c->errors) {
        gate_case_note(c, ARTIFACT_INFO, "serve-skipped", NULL,
                       "not served: verify already found errors for this container");
        return 1;
    }
    if (!o->launch) {
        gate_case_note(c, ARTIFACT_WARNING, "serve-unavailable", NULL,
                       "the health check was not run: no way to start a server was given");
        return 1;
    }
    return 0;
}

/* The probe's verdict into the case: healthy, or why not with how the server ended, the whole
 * text of the answer that failed, and the end of the server's log. */
static void note_probe(gate_case *c, const server *sv, const gate_probe_result *pr)
{
    c->probe = gate_probe_json(sv->url, pr);
    if (pr->healthy) {
        gate_case_note(c, ARTIFACT_INFO, "probe-healthy", NULL, "%s", pr->verdict);
        return;
    }
    smx_buf t = SMX_BUF_INIT;
    smx_buf_puts(&t, pr->verdict);
    if (sv->exited && pr->attempts &&
        pr->attempts[pr->n_attempts - 1].outcome == GATE_SERVER_GONE) {
        if (WIFEXITED(sv->status))
            smx_buf_printf(&t, " (the server exited with status %d)", WEXITSTATUS(sv->status));
        else if (WIFSIGNALED(sv->status))
            smx_buf_printf(&t, " (the server died of signal %d)", WTERMSIG(sv->status));
    }
    if (pr->error_body) {
        smx_buf_puts(&t, "\nthe server answered:");
        indented(&t, pr->error_body);
    }
    note_log_tail(&t, sv->logpath);
    gate_case_note(c, ARTIFACT_ERROR, "probe-unhealthy", NULL, "%s", t.data ? t.data : pr->verdict);
    smx_buf_free(&t);
}

/* What the probe's callbacks see. */
typedef struct probe_ctx {
    server *sv;
    const gate_check_opts *o;
} probe_ctx;

static int probe_alive(void *ctx)
{
    return server_alive(((probe_ctx *)ctx)->sv);
}

static void probe_attempt(const gate_attempt *a, void *ctx)
{
    const gate_check_opts *o = ((probe_ctx *)ctx)->o;
    o->on_attempt(a, o->ctx);
}

/* Probe the running server with SageMaker's timings (o's overrides), stop it, note the
 * outcome. */
static void probe_server(gate_case *c, server *sv, const smx_buf *sample, const char *ctype,
                         const gate_check_opts *o)
{
    gate_probe_opts po;
    gate_probe_opts_default(&po);
    po.url = sv->url;
    if (o->startup_timeout > 0)
        po.startup_timeout = o->startup_timeout;
    po.interval = o->interval > 0 ? o->interval : 0.5;
    if (o->max_payload)
        po.max_payload = o->max_payload;
    if (sample->len) {
        po.sample = sample->data;
        po.sample_len = sample->len;
        po.content_type = ctype;
        po.accept = o->accept;
    }
    probe_ctx pc = {sv, o};
    po.alive = probe_alive;
    po.on_attempt = o->on_attempt ? probe_attempt : NULL;
    po.ctx = &pc;
    gate_stage_event ev = {
        .stage = GATE_STAGE_PROBE, .what = c->name, .container = c->container, .url = sv->url};
    gate__stage(o, &ev);
    gate_probe_result pr;
    smx_err e = {0};
    int rc = gate_probe(&po, &pr, &e);
    ev.done = 1;
    ev.seconds = pr.elapsed;
    ev.ok = !rc && pr.healthy;
    ev.detail = rc ? e.msg : pr.verdict;
    gate__stage(o, &ev);
    int died = !server_alive(sv);
    stop_server(c, sv);
    serve_ended(o, c, sv, died);
    if (rc)
        gate_case_note(c, ARTIFACT_ERROR, "probe-failed", NULL, "%s", e.msg);
    else
        note_probe(c, sv, &pr);
    gate_probe_result_free(&pr);
}

void gate__serve(gate_case *c, const char *local, const char *tag, const compat_report *rep,
                 const gate_check_opts *o)
{
    if (o->no_serve || serve_skipped(c, o))
        return;
    smx_buf sample = SMX_BUF_INIT;
    const char *ctype;
    server sv;
    if (!make_sample(c, rep, tag, o, &sample, &ctype) && !start_server(c, local, tag, o, &sv)) {
        probe_server(c, &sv, &sample, ctype, o);
        smx_scratch_remove(sv.logpath);
    }
    smx_buf_free(&sample);
}

/* ---- one artifact -------------------------------------------------------------------------- */

int gate_check_source(gate_report *r, const char *src, const char *const *containers,
                      size_t n_containers, const gate_check_opts *o, smx_err *err)
{
    double t0 = smx_now();
    char *local = NULL;
    int tmp = 0;
    smx_err ferr = {0};
    if (gate_check_fetch(src, o, &local, &tmp, &ferr)) {
        gate_case *c = gate_report_add(r, src, NULL, src);
        if (!c)
            return out_of_memory(err);
        gate_case_note(c, ARTIFACT_ERROR, "artifact-unreadable", NULL, "%s", ferr.msg);
        c->io_error = 1;
        return gate_report_status(r, err);
    }
    compat_report *vr = NULL;
    size_t first = r->n;
    int rc = gate__verify(r, NULL, src, src, local, containers, n_containers, o, &vr, err);
    for (size_t k = first; k < r->n; k++)
        gate__note_unsigned(r->cases[k], src);
    /* serve every container asked for; with none asked for, the server's default only (the
     * others say so) */
    const compat_container *d = compat_container_default();
    for (size_t k = first; vr && k < r->n; k++) {
        gate_case *c = r->cases[k];
        if (n_containers || (d && c->container && !strcmp(c->container, d->tag)))
            gate__serve(c, local, n_containers ? c->container : NULL, vr, o);
        else if (!o->no_serve && d && c->container)
            gate_case_note(c, ARTIFACT_INFO, "serve-skipped", NULL,
                           "verified only, not served and probed: without --container, check "
                           "serves and probes only the default container, %s (-c %s serves this "
                           "one)",
                           d->tag, c->container);
    }
    compat_report_free(vr);
    double dt = (smx_now() - t0) / (double)(r->n > first ? r->n - first : 1);
    for (size_t k = first; k < r->n; k++)
        r->cases[k]->seconds = dt;
    if (tmp)
        smx_scratch_remove(local);
    free(local);
    return rc ? rc : gate_report_status(r, err);
}
