/*
 * smxgb serve ARTIFACT|DIR: answer /ping, /execution-parameters and /invocations exactly as
 * a SageMaker XGBoost container version would, from a model.tar.gz (extracted safely into a
 * private temporary directory) or a model directory.
 */
#include "../serve/serve.h"
#include "tools.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static struct {
    const char *container;
    const char *host;
    int port;
    int workers;
    int header_timeout;
    int max_connections;
    str_list env;
    int quiet;
} o = {.port = -1, .workers = -1, .header_timeout = -1, .max_connections = -1};

static const opt serve_opts[] = {
    {OPT_STRING, 'c', "container", &o.container, "TAG",
     "container version to mimic (default 1.7-1)"},
    {OPT_STRING, 0, "host", &o.host, "H",
     "address to listen on (default 127.0.0.1; 0.0.0.0 as the container does)"},
    {OPT_INT, 'p', "port", &o.port, "N",
     "port (default $SAGEMAKER_BIND_TO_PORT, else 8080; 0 = any free port, printed)"},
    {OPT_INT, 'w', "workers", &o.workers, "N",
     "worker threads (default $SAGEMAKER_MODEL_SERVER_WORKERS, else the CPU count)"},
    {OPT_INT, 0, "header-timeout", &o.header_timeout, "S",
     "seconds a connection has to send a complete request head, counted from its accept or "
     "its previous answer; then it is closed (default 20, or SAGEMAKER_MODEL_SERVER_TIMEOUT when "
     "shorter)"},
    {OPT_INT, 0, "max-connections", &o.max_connections, "N",
     "connections open at once (default 4096, lowered to fit the open-file limit); near the "
     "cap, the connections waiting longest for a request head are closed first"},
    {OPT_LIST, 'e', "env", &o.env, "KEY=VALUE",
     "endpoint environment, e.g. SAGEMAKER_INFERENCE_OUTPUT=predicted_label (repeatable; "
     "overrides the process environment)"},
    {OPT_FLAG, 'q', "quiet", &o.quiet, NULL,
     "no access log, no note of which XGBoost and predictor serve"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc serve_doc = {
    "serve",
    "smxgb serve ARTIFACT|DIR [--container TAG] [--host H] [--port N] [--workers N] "
    "[--header-timeout S] [--max-connections N] [--env K=V]... [--quiet]",
    "serve a model the way a SageMaker XGBoost container does, without Docker",
    "Answers GET /ping, GET /execution-parameters and POST /invocations with the container's\n"
    "status codes, error texts, headers and body bytes: CSV (sniffed delimiter, empty fields\n"
    "and nan as missing), LIBSVM (also when Content-Type is absent) and RecordIO-protobuf\n"
    "requests; text/csv, application/json, JSON lines and RecordIO-protobuf answers; numbers\n"
    "printed as Python prints them. The model files are chosen as the container version does\n"
    "(every top-level file is an ensemble member unless SAGEMAKER_INFERENCE_ENSEMBLE=false).\n"
    "Environment read (process environment, then --env): SAGEMAKER_BIND_TO_PORT,\n"
    "SAGEMAKER_MODEL_SERVER_WORKERS, SAGEMAKER_MODEL_SERVER_TIMEOUT (connection timeout, s),\n"
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, SAGEMAKER_INFERENCE_OUTPUT, SAGEMAKER_BATCH,\n"
    "SAGEMAKER_INFERENCE_ENSEMBLE, MAX_CONTENT_LENGTH.\n"
    "Logs one line per request on stderr (method, path, status, body bytes, microseconds).\n"
    "Slow clients: a connection must send its whole request head within --header-timeout of\n"
    "its accept or of its previous answer, however steadily it trickles bytes (nginx's\n"
    "client_header_timeout and keepalive_timeout); SAGEMAKER_MODEL_SERVER_TIMEOUT bounds\n"
    "each wait for more bytes of a body. A few connection slots (1/16 of --max-connections,\n"
    "at most 64) are kept free by closing the connections that have waited longest for a\n"
    "request head, so /ping is answered even when every other slot is held. A large request\n"
    "or response body is released as soon as the answer is sent: an idle connection costs a\n"
    "few kilobytes.\n"
    "SIGTERM, SIGINT or SIGHUP (unless ignored, as under nohup): stop accepting, finish\n"
    "in-flight requests, remove the extracted model, exit 0; also while the model loads.\n"
    "Pickled Boosters are restored from the snapshot they carry, as pickle.load does, and get\n"
    "the container's feature-count checks.\n"
    "Predictions come from the container's own XGBoost when its runtime is cached (smxgb\n"
    "runtime fetch TAG), so they are the container's to the bit; otherwise from the XGBoost\n"
    "smxgb runs ($SMXGB_XGBOOST_LIB, else Debian's 1.7.4), and serve says which stands in.\n"
    "When a stand-in of another version serves, the load rules (smxgb help codes) decide\n"
    "whether the pinned version could read the model; when it could not, serve does what the\n"
    "container does (exit 1 for an eager loader, 500 on /invocations for a lazy one) and says\n"
    "why.\n"
    "smxgb's own tree evaluator predicts instead of that XGBoost when, at load, it is proven to\n"
    "give its bits on generated rows (every split threshold and one ulp either side, missing\n"
    "values, categories); otherwise XGBoost's predictor does. One line per model file on\n"
    "stderr says which predicts and why.",
    serve_opts,
    "  0  stopped by SIGTERM/SIGINT/SIGHUP\n"
    "  1  the model cannot be loaded: the container would never answer /ping\n"
    "  2  usage error, or the artifact cannot be read or extracted\n"
    "  3  internal failure"};

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}

typedef struct listen_ctx {
    const char *host;
    const compat_container *c;
    serve_model *model;
    unsigned workers;
} listen_ctx;

static void on_listen(void *ctx, unsigned port)
{
    listen_ctx *l = ctx;
    int v6 = strchr(l->host, ':') != NULL;
    fprintf(stderr,
            "smxgb serve: listening on http://%s%s%s:%u (container %s, %s, %zu model file%s, %u "
            "worker%s)\n",
            v6 ? "[" : "", l->host, v6 ? "]" : "", port, l->c->tag,
            l->model ? serve_model_objective(l->model) : "no model",
            l->model ? serve_model_count(l->model) : 0,
            l->model && serve_model_count(l->model) == 1 ? "" : "s", l->workers,
            l->workers == 1 ? "" : "s");
    fflush(stderr);
}

/* The environment: the process's, then --env (later entries win); NULL when out of memory. */
static const char **endpoint_env(size_t *n_env)
{
    size_t n_environ = 0;
    while (environ[n_environ])
        n_environ++;
    const char **env = malloc((n_environ + o.env.n + 1) * sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n_environ; i++)
        env[i] = environ[i];
    for (size_t i = 0; i < o.env.n; i++)
        env[n_environ + i] = o.env.v[i];
    *n_env = n_environ + o.env.n;
    return env;
}

typedef struct settings {
    const compat_container *c;
    const char **env;
    size_t n_env;
    unsigned port, workers, timeout;
} settings;

/* Options and environment into st; EXIT_OK, -1 after --help, or the exit code of a usage error
 * (printed). */
static int read_settings(int argc, char **argv, settings *st)
{
    int n = opts_parse(argc, argv, &serve_doc);
    if (n < 0)
        return verb_parse_exit(n) == EXIT_OK ? -1 : verb_parse_exit(n);
    if (n != 1)
        return verb_usage(&serve_doc, "need exactly one ARTIFACT or DIR");
    if (!verb_env_ok(&serve_doc, &o.env))
        return EXIT_USAGE;
    st->c = o.container ? compat_container_find(o.container) : compat_container_default();
    if (!st->c) {
        fprintf(stderr, "smxgb serve: unknown container '%s' (see smxgb help verify)\n",
                o.container);
        return EXIT_USAGE;
    }
    if (!(st->env = endpoint_env(&st->n_env)))
        return EXIT_INTERNAL;
    const char *v = compat_env_get(st->env, st->n_env, "SAGEMAKER_BIND_TO_PORT");
    st->port = o.port >= 0 ? (unsigned)o.port : v && *v ? (unsigned)atoi(v) : 8080;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    v = compat_env_get(st->env, st->n_env, "SAGEMAKER_MODEL_SERVER_WORKERS");
    st->workers = o.workers > 0      ? (unsigned)o.workers
                  : v && atoi(v) > 0 ? (unsigned)atoi(v)
                  : cpus > 0         ? (unsigned)cpus
                                     : 1;
    v = compat_env_get(st->env, st->n_env, "SAGEMAKER_MODEL_SERVER_TIMEOUT");
    st->timeout = v && atoi(v) > 0 ? (unsigned)atoi(v) : 60;
    if (st->port > 65535) {
        fprintf(stderr, "smxgb serve: port %u out of range\n", st->port);
        return EXIT_USAGE;
    }
    if (o.header_timeout == 0 || o.header_timeout < -1 || o.max_connections == 0 ||
        o.max_connections < -1) {
        fprintf(stderr, "smxgb serve: --%s: expected a number >= 1\n",
                o.max_connections == 0 || o.max_connections < -1 ? "max-connections"
                                                                 : "header-timeout");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* Load with the container's own runtime when it is cached (else the stand-in: $SMXGB_XGBOOST_LIB
 * or the system's); a cached runtime that does not open here falls back on the stand-in. Says
 * which XGBoost serves, unless --quiet. */
static int load_with_runtime(const char *dir, serve_model_opts *mo, compat_runtime_choice *ch,
                             serve_model **model, smx_err *err)
{
    const compat_container *c = mo->container;
    int rc = compat_runtime_choose(c->xgboost_str, NULL, NULL, ch, err);
    if (rc)
        return rc;
    mo->xgboost_lib = ch->lib[0] ? ch->lib : NULL;
    rc = serve_model_load(dir, mo, model, err);
    if (rc == SMX_ERUNTIME && ch->evidence == COMPAT_EVIDENCE_EXACT) {
        fprintf(stderr,
                "smxgb serve: warning: %s does not open here (%s); the system's XGBoost "
                "stands in\n",
                ch->why, err->msg);
        ch->evidence = COMPAT_EVIDENCE_STANDIN;
        snprintf(ch->why, sizeof ch->why, "the container's cached runtime does not open here");
        mo->xgboost_lib = NULL;
        rc = serve_model_load(dir, mo, model, err);
    }
    if (rc || o.quiet)
        return rc;
    char v[32];
    compat_version_str(compat_xgb_version(serve_model_runtime(*model)), v, sizeof v);
    if (compat_version_same(v, c->xgboost_str))
        fprintf(stderr, "smxgb serve: container %s runs XGBoost %s: %s\n", c->tag, v, ch->why);
    else
        fprintf(stderr, "smxgb serve: container %s pins XGBoost %s; XGBoost %s stands in: %s\n",
                c->tag, c->xgboost_str, v, ch->why);
    return rc;
}

/* Load the model in dir as the container does; EXIT_OK with *model (NULL and load_error set
 * for a lazy loader that cannot load it), or the exit code (printed). */
static int load_model(const settings *st, const char *dir, serve_model **model, char *load_error,
                      size_t n)
{
    smx_err err = {0};
    serve_model_opts mo = {.container = st->c,
                           .ensemble_env =
                               compat_env_get(st->env, st->n_env, "SAGEMAKER_INFERENCE_ENSEMBLE")};
    compat_runtime_choice ch;
    int lrc = load_with_runtime(dir, &mo, &ch, model, &err);
    if (!lrc) {
        for (size_t i = 0; !o.quiet && i < serve_model_count(*model); i++) {
            const char *f = serve_model_file(*model, i);
            fprintf(stderr, "smxgb serve: %s: predicting with %s\n",
                    strrchr(f, '/') ? strrchr(f, '/') + 1 : f, serve_model_predictor(*model, i));
        }
        return EXIT_OK;
    }
    if (lrc == SMX_ERUNTIME || lrc == SMX_ENOMEM) {
        fprintf(stderr, "smxgb serve: %s\n", err.msg);
        return exit_for_status(lrc);
    }
    if (st->c->eager_load) {
        fprintf(stderr,
                "smxgb serve: the model cannot be loaded, so container %s would never answer "
                "/ping (its worker fails to boot):\n%s\n",
                st->c->tag, err.msg);
        return EXIT_FINDINGS;
    }
    snprintf(load_error, n, "%s", err.msg);
    fprintf(stderr,
            "smxgb serve: warning: the model cannot be loaded; container %s loads lazily, "
            "answers /ping and fails every /invocations with 500:\n%s\n",
            st->c->tag, err.msg);
    return EXIT_OK;
}

/* Load the model in dir and serve it until stopped; the exit code. */
static int serve_dir(const settings *st, const char *dir)
{
    serve_model *model = NULL;
    serve_app *app = NULL;
    char load_error[SMX_ERRMAX] = "";
    smx_err err = {0};
    int code = load_model(st, dir, &model, load_error, sizeof load_error);
    serve_app_opts ao = {.container = st->c, .env = st->env, .n_env = st->n_env};
    if (!code && serve_app_new(&ao, model, model ? NULL : load_error, &app, &err)) {
        fprintf(stderr, "smxgb serve: %s\n", err.msg);
        code = exit_for_status(err.status);
    }
    listen_ctx lc = {o.host ? o.host : "127.0.0.1", st->c, model, st->workers};
    serve_server_opts so = {.host = lc.host,
                            .port = st->port,
                            .workers = st->workers,
                            .timeout = st->timeout,
                            .head_timeout = o.header_timeout > 0 ? (unsigned)o.header_timeout : 0,
                            .max_connections =
                                o.max_connections > 0 ? (unsigned)o.max_connections : 0,
                            .log = o.quiet ? NULL : log_line,
                            .on_listen = on_listen,
                            .ctx = &lc};
    if (!code && serve_server_run(app, &so, &err)) {
        fprintf(stderr, "smxgb serve: %s\n", err.msg);
        code = exit_for_status(err.status);
    }
    serve_app_free(app);
    serve_model_free(model);
    return code;
}

static int cmd_serve(int argc, char **argv)
{
    settings st = {0};
    int code = read_settings(argc, argv, &st);
    const char *path = argv[1];
    struct stat sb;
    if (!code && stat(path, &sb) != 0) {
        fprintf(stderr, "smxgb serve: cannot read '%s'\n", path);
        code = EXIT_USAGE;
    }
    smx_err err = {0};
    /* from here on a stop signal is a graceful stop, also while the artifact is extracted and
     * the model loads: the extracted files are removed whatever the moment */
    if (!code && serve_stop_signals_install(&err)) {
        fprintf(stderr, "smxgb serve: %s\n", err.msg);
        code = EXIT_INTERNAL;
    }
    if (code) {
        free(st.env);
        str_list_free(&o.env);
        return code < 0 ? EXIT_OK : code;
    }
    char *dir = NULL;
    int extracted = 0;
    if (S_ISDIR(sb.st_mode)) {
        dir = strdup(path);
    } else {
        artifact_limits lim;
        artifact_limits_default(&lim);
        if (artifact_extract(path, NULL, &lim, &dir, &err)) {
            fprintf(stderr, "smxgb serve: %s\n", err.msg);
            code = exit_for_status(err.status);
        }
        extracted = !code;
    }
    /* stopped while extracting: no need to load the model */
    if (!code && !serve_stop_requested())
        code = serve_dir(&st, dir);
    serve_stop_signals_restore();
    if (extracted) {
        smx_err e2 = {0};
        artifact_remove_tree(dir, &e2);
    }
    free(dir);
    free(st.env);
    str_list_free(&o.env);
    return code;
}

SMXGB_VERB(serve, cmd_serve, serve_doc, 40)
