/*
 * What `smxgb check` and `smxgb plan` share in the CLI. gate runs the check; this file gives it
 * what only the CLI knows or does:
 *
 *   launcher  a server is this binary's own `serve` verb, started as a child process
 *             (`smxgb serve ARTIFACT --port N --quiet [--container TAG] [--env KEY=VALUE]...`,
 *             the endpoint's environment also in its environment, its own process group, its
 *             output in gate's log file);
 *   progress  gate's stages as they start and end on stderr, with a progress line on a
 *             terminal (tools/progress.c), and with --verbose the probe's timeline;
 *   output    the report gate renders, written out (text or JSON on stdout, JUnit XML to a
 *             file, GitHub Actions annotations when GITHUB_ACTIONS=true), and the exit code.
 */
#include "gate_cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the options check and plan share ------------------------------------------------------ */

gate_cli_args gate_cli;

opt gate_cli_fetch_opts[] = {
    {OPT_DOUBLE, 0, "timeout", &gate_cli.timeout, "S",
     "give up a download after S seconds, retries included (default: 60 s plus 1 s per 512 KiB "
     "the server announces)"},
    {OPT_DOUBLE, 0, "stall-timeout", &gate_cli.stall_timeout, "S",
     "abandon (and retry) a transfer below 1 KiB/s for S seconds (default 30)"},
    {OPT_U64, 0, "size-cap", &gate_cli.size_cap, "N",
     "stop a download whose size the server does not announce at N bytes (default 2G)"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

opt gate_cli_runtime_opts[] = {
    {OPT_STRING, 0, "runtimes", &gate_cli.runtimes, "WHEN",
     "which XGBoost loads each container's models: cached (default: its own when its runtime "
     "is cached, else the stand-in), fetch (fetch the runtimes the containers pin first, once; "
     "cached for later runs), none (the stand-in only)"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

opt gate_cli_opts[] = {
    {OPT_STRING, 0, "sample", &gate_cli.sample, "FILE",
     "POST this file to /invocations (default: rows as wide as the model)"},
    {OPT_STRING, 0, "content-type", &gate_cli.content_type, "T",
     "Content-Type of the sample (default: from its extension: .csv text/csv, .libsvm "
     "text/libsvm, .pbr application/x-recordio-protobuf)"},
    {OPT_STRING, 0, "accept", &gate_cli.accept, "A", "Accept header for /invocations"},
    {OPT_DOUBLE, 0, "startup-timeout", &gate_cli.startup_timeout, "S",
     "startup window for /ping (default: a plan's endpoint configuration, else 240 s, "
     "SageMaker's documented 4 minutes)"},
    {OPT_DOUBLE, 0, "interval", &gate_cli.interval, "S",
     "seconds between /ping attempts (default 0.5)"},
    {OPT_FLAG, 0, "no-serve", &gate_cli.no_serve, NULL, "verify only; do not serve and probe"},
    {OPT_STRING, 0, "s3-endpoint", &gate_cli.s3_endpoint, "URL",
     "S3 endpoint for s3:// artifacts (default $AWS_ENDPOINT_URL_S3, else AWS)"},
    {OPT_INCLUDE, 0, NULL, gate_cli_fetch_opts, NULL, NULL},
    {OPT_INCLUDE, 0, NULL, gate_cli_runtime_opts, NULL, NULL},
    {OPT_FLAG, 0, "json", &gate_cli.json, NULL, "print the report as JSON"},
    {OPT_STRING, 0, "junit", &gate_cli.junit, "FILE",
     "also write a JUnit XML report (one testcase per artifact or model container and "
     "container version)"},
    {OPT_FLAG, 'v', "verbose", &gate_cli.verbose, NULL, "print each probe's timeline to stderr"},
    {OPT_FLAG, 'q', "quiet", &gate_cli.quiet, NULL,
     "print no stage lines and no progress line on stderr (the report only)"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

int gate_cli_usage_ok(const char *verb)
{
    if (gate_cli.content_type && !gate_cli.sample) {
        fprintf(stderr, "smxgb %s: --content-type needs --sample\n", verb);
        return 0;
    }
    if (gate_cli.sample && !gate_cli.content_type &&
        !(gate_cli.content_type = gate_sample_content_type(gate_cli.sample))) {
        fprintf(stderr,
                "smxgb %s: cannot tell the content type of '%s' from its name: give "
                "--content-type (text/csv, text/libsvm, application/x-recordio-protobuf)\n",
                verb, gate_cli.sample);
        return 0;
    }
    compat_runtimes mode;
    gate_runtimes *fetch;
    return gate_cli_runtimes(verb, 0, &mode, &fetch) == 0;
}

/* ---- --runtimes ------------------------------------------------------------------------------ */

static struct {
    gate_runtime_opts opts;
    gate_runtimes set;
    int quiet;
} rt_run;

static void rt_on_wait(const char *version, void *ctx)
{
    (void)ctx;
    if (!rt_run.quiet)
        fprintf(stderr, "xgboost %s: another smxgb is fetching it; waiting\n", version);
}

static void rt_on_download(const char *version, const gate_index_file *f, int done, void *ctx)
{
    (void)ctx;
    if (rt_run.quiet)
        return;
    if (done && isatty(STDERR_FILENO))
        fprintf(stderr, "\n");
    else if (!done)
        fprintf(stderr, "xgboost %s: downloading %s\n", version, f->url);
}

/* A version fetched, or not to be had: said on stderr (a cached one is not news). */
static void rt_on_result(const gate_runtime_try *t, void *ctx)
{
    (void)ctx;
    if (t->ok && t->r.outcome == GATE_RUNTIME_FETCHED && !rt_run.quiet)
        fprintf(stderr, "xgboost %s: fetched %s, cached (%s)\n", t->version, t->r.wheel,
                t->r.runtime.lib);
    else if (!t->ok)
        fprintf(stderr,
                "xgboost %s: its runtime cannot be had, so its containers are judged by the "
                "rules: %s\n",
                t->version, t->error);
}

int gate_cli_runtimes(const char *verb, int quiet, compat_runtimes *mode, gate_runtimes **fetch)
{
    const char *w = gate_cli.runtimes ? gate_cli.runtimes : "cached";
    *mode = COMPAT_RUNTIMES_CACHED;
    *fetch = NULL;
    if (!strcmp(w, "none")) {
        *mode = COMPAT_RUNTIMES_NONE;
    } else if (!strcmp(w, "fetch")) {
        gate_runtime_opts *ro = &rt_run.opts;
        memset(ro, 0, sizeof *ro);
        gate_fetch_opts_default(&ro->index.fetch);
        ro->index.fetch.deadline = gate_cli.timeout;
        if (gate_cli.stall_timeout > 0)
            ro->index.fetch.low_speed_time = gate_cli.stall_timeout;
        ro->index.fetch.max_unsized = gate_cli.size_cap;
        if (isatty(STDERR_FILENO) && !quiet)
            ro->index.fetch.progress = gate_cli_progress_bar;
        ro->on_wait = rt_on_wait;
        ro->on_download = rt_on_download;
        rt_run.quiet = quiet;
        if (!rt_run.set.opts) {
            rt_run.set.opts = ro;
            rt_run.set.on_result = rt_on_result;
        }
        *fetch = &rt_run.set;
    } else if (strcmp(w, "cached")) {
        fprintf(stderr, "smxgb %s: --runtimes '%s': give cached, fetch or none\n", verb, w);
        return -1;
    }
    return 0;
}

void gate_cli_runtimes_end(void)
{
    gate_runtimes_free(&rt_run.set);
}

/* ---- the server: `smxgb serve` in a child process ----------------------------------------- */

/* smxgb serve ARTIFACT --port N --quiet [--container TAG] [--env KEY=VALUE]... (malloc'd) */
static const char **serve_args(const gate_server_spec *s, const char *port)
{
    const char **args = calloc(10 + 2 * s->n_env, sizeof *args);
    if (!args)
        return NULL;
    size_t a = 0;
    args[a++] = "smxgb";
    args[a++] = "serve";
    args[a++] = s->artifact;
    args[a++] = "--port";
    args[a++] = port;
    args[a++] = "--quiet";
    if (s->container) {
        args[a++] = "--container";
        args[a++] = s->container;
    }
    for (size_t i = 0; i < s->n_env; i++) {
        args[a++] = "--env";
        args[a++] = s->env[i];
    }
    args[a] = NULL;
    return args;
}

/* In the child: its own process group, output to the log, the environment set, then exec. */
static void exec_serve(const gate_server_spec *s, const char **args)
{
    setpgid(0, 0);
    dup2(s->log_fd, 1);
    dup2(s->log_fd, 2);
    for (size_t i = 0; i < s->n_env; i++) {
        char *kv = strdup(s->env[i]);
        char *eq = kv ? strchr(kv, '=') : NULL;
        if (eq) {
            *eq = '\0';
            setenv(kv, eq + 1, 1);
        }
        free(kv);
    }
    execv("/proc/self/exe", (char *const *)args);
    _exit(127);
}

static int serve_launch(void *ctx, const gate_server_spec *s, pid_t *pid, smx_err *err)
{
    (void)ctx;
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    const char **args = serve_args(s, port);
    if (!args)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    fflush(stdout);
    progress_hold(); /* the child must not inherit a line being drawn */
    pid_t p = fork();
    if (p == 0)
        exec_serve(s, args);
    int saved = errno;
    progress_release();
    free(args);
    if (p < 0)
        return smx_fail(err, SMX_EIO, "fork: %s", strerror(saved));
    *pid = p;
    return SMX_OK;
}

/* ---- progress ------------------------------------------------------------------------------ */

void gate_cli_progress_bar(uint64_t now, uint64_t total, void *ctx)
{
    (void)ctx;
    static double last;
    double t = smx_now();
    if (t - last < 0.1 && now != total)
        return;
    last = t;
    if (total) {
        int w = (int)(40.0 * (double)now / (double)total);
        fprintf(stderr, "\r  [%-40.*s] %5.1f%% %llu/%llu MB", w,
                "########################################", 100.0 * (double)now / (double)total,
                (unsigned long long)(now >> 20), (unsigned long long)(total >> 20));
    } else {
        fprintf(stderr, "\r  %llu MB", (unsigned long long)(now >> 20));
    }
    fflush(stderr);
}

/* The launcher, the renderer and the hooks; o's user-facing settings are the caller's. */
static void cli_hooks(gate_check_opts *o, gate_fetch_opts *fo, const char *s3_endpoint)
{
    gate_fetch_opts_default(fo);
    fo->s3_endpoint = s3_endpoint;
    fo->deadline = gate_cli.timeout;
    if (gate_cli.stall_timeout > 0)
        fo->low_speed_time = gate_cli.stall_timeout;
    fo->max_unsized = gate_cli.size_cap;
    fo->progress = progress_download;
    memset(o, 0, sizeof *o);
    o->launch = serve_launch;
    o->verify_json = report_to_json;
    o->fetch = fo;
}

void gate_cli_check_opts(gate_check_opts *o, gate_fetch_opts *fo)
{
    cli_hooks(o, fo, gate_cli.s3_endpoint);
    progress_begin(!gate_cli.quiet, gate_cli.verbose);
    o->on_stage = progress_stage;
    o->on_attempt = progress_attempt;
    o->sample = gate_cli.sample;
    o->content_type = gate_cli.content_type;
    o->accept = gate_cli.accept;
    o->startup_timeout = gate_cli.startup_timeout;
    o->interval = gate_cli.interval;
    o->no_serve = gate_cli.no_serve;
    gate_cli_runtimes("check", gate_cli.quiet, &o->runtimes, &o->fetch_runtimes);
}

int source_fetch(const char *src, const char *s3_endpoint, char **local, int *tmp, smx_err *err)
{
    gate_fetch_opts fo;
    gate_check_opts o;
    cli_hooks(&o, &fo, s3_endpoint);
    /* on a terminal only: verify's output elsewhere is its report alone */
    if (isatty(2)) {
        progress_begin(1, 0);
        o.on_stage = progress_stage;
    }
    int rc = gate_check_fetch(src, &o, local, tmp, err);
    progress_end();
    return rc;
}

/* ---- output -------------------------------------------------------------------------------- */

static int write_all(FILE *f, const smx_buf *b)
{
    return b->len && fwrite(b->data, 1, b->len, f) != b->len ? -1 : 0;
}

static int write_junit(const gate_report *r, const char *path)
{
    smx_buf b = SMX_BUF_INIT;
    if (gate_report_junit(r, &b)) {
        smx_buf_free(&b);
        return -1;
    }
    FILE *f = fopen(path, "w");
    int rc = f ? write_all(f, &b) : -1;
    if (f && fclose(f))
        rc = -1;
    smx_buf_free(&b);
    return rc;
}

/* Render with fn and write it to f; out of memory ends the program. */
static void print_rendered(FILE *f, const gate_report *r, int (*fn)(const gate_report *, smx_buf *))
{
    smx_buf b = SMX_BUF_INIT;
    if (fn(r, &b)) {
        fprintf(stderr, "smxgb %s: out of memory\n", r->verb);
        exit(EXIT_INTERNAL);
    }
    write_all(f, &b);
    smx_buf_free(&b);
}

int gate_cli_finish(gate_report *r)
{
    progress_end();
    gate_cli_runtimes_end();
    if (gate_cli.json) {
        json_t *j = gate_report_json(r);
        print_json(stdout, j);
        json_decref(j);
    } else {
        print_rendered(stdout, r, gate_report_text);
    }
    const char *gha = getenv("GITHUB_ACTIONS");
    if (gha && !strcmp(gha, "true"))
        print_rendered(gate_cli.json ? stderr : stdout, r, gate_report_github);
    int code = gate_report_ok(r) ? EXIT_OK : EXIT_FINDINGS;
    for (size_t i = 0; i < r->n; i++)
        if (r->cases[i]->io_error)
            code = EXIT_USAGE;
    if (gate_cli.junit && write_junit(r, gate_cli.junit)) {
        fprintf(stderr, "smxgb %s: cannot write JUnit report %s\n", r->verb, gate_cli.junit);
        return EXIT_USAGE;
    }
    fflush(stdout);
    return code;
}
