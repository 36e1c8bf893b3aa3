/*
 * smxgb check ARTIFACT...: verify -> serve on loopback -> probe with SageMaker's timings ->
 * stop, for every artifact and container version (gate_check_source), in one report.
 */
#include "gate_cli.h"

#include <string.h>

static struct {
    str_list containers, env;
    int allow_unknown;
} o;

static const opt check_opts_table[] = {
    {OPT_LIST, 'c', "container", &o.containers, "TAG",
     "container version to check and serve: 1.7-1, an image tag (1.7-1-cpu-py3) or an image URI "
     "(...amazonaws.com/sagemaker-xgboost:1.7-1) (repeatable; default: verify every version, "
     "serve and probe only serve's default, 1.7-1)"},
    {OPT_LIST, 'e', "env", &o.env, "KEY=VALUE",
     "endpoint environment, e.g. SAGEMAKER_INFERENCE_ENSEMBLE=false (repeatable)"},
    {OPT_FLAG, 0, "allow-unknown", &o.allow_unknown, NULL,
     "unknown cases (a verdict the model's bytes cannot settle) do not fail the gate; the "
     "report says they were allowed"},
    {OPT_INCLUDE, 0, NULL, gate_cli_opts, NULL, NULL},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc check_doc = {
    "check",
    "smxgb check ARTIFACT... [--container TAG]... [--env KEY=VALUE]... [--sample FILE "
    "[--content-type T]] [--allow-unknown] [--json] [--junit FILE] [--quiet]",
    "verify, serve and health-check artifacts: will the endpoint pass its health check?",
    "For every ARTIFACT (a path, s3://bucket/key or https:// URL) and container version:\n"
    "  1. verify it as `smxgb verify` does (archive, layout, what the container loads);\n"
    "  2. serve it with `smxgb serve` on 127.0.0.1 on a free port, in a child process;\n"
    "  3. probe it as SageMaker does (see `smxgb help probe`): /ping until 200 with an empty\n"
    "     body, then one /invocations with --sample or 3 generated CSV rows as wide as the\n"
    "     model (its feature count comes from loading it in a separate process);\n"
    "  4. stop it with SIGTERM.\n"
    "A container whose verify fails is not served. Without --container every version is\n"
    "verified and only serve's default (1.7-1) is served and probed; the others say so\n"
    "(serve-skipped), and the text report lists which were served and which only verified.\n"
    "One report covers all artifacts. With GITHUB_ACTIONS=true each error and warning is also\n"
    "printed as a workflow annotation.\n"
    "While it runs, each stage (download, verify, load check, serve, probe) is printed on stderr\n"
    "as it starts and as it ends, with its time and result (a download's size and rate); on a\n"
    "terminal a progress line below shows the stage under way (a download's bytes so far and\n"
    "rate, the probe's last attempt). --quiet prints the report only.\n"
    "s3:// artifacts are downloaded with the credentials of the environment (AWS_ACCESS_KEY_ID,\n"
    "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; region AWS_REGION or AWS_DEFAULT_REGION).\n"
    "Codes besides verify's (see `smxgb help codes`): probe-healthy, probe-unhealthy (the\n"
    "verdict, the whole text of the answer that failed, the end of the server's log),\n"
    "serve-skipped, serve-unavailable, serve-failed, serve-ignores-sigterm, sample-generated,\n"
    "sample-none, artifact-unreadable, artifact-downloaded (an s3:// artifact read without\n"
    "credentials), container-loads.\n\n"
    "JSON schema: {\"verb\": \"check\", \"ok\", \"cases\": [{\"name\", \"container\", "
    "\"artifact\", \"status\": \"pass\"|\"fail\"|\"unknown\"|\"skip\", \"seconds\",\n"
    "  \"findings\": [{\"severity\", \"code\", \"message\", \"hint\"}], \"verify\"?: <verify "
    "--json>, \"probe\"?: <probe --json>}]}",
    check_opts_table,
    "  0  every artifact passes for every container checked\n"
    "  1  errors found (verify findings or a failed health check), or a verdict is unknown\n"
    "     (not with --allow-unknown)\n"
    "  2  usage error, or an artifact cannot be read or downloaded",
};

/* What --container takes, on stderr, for one it does not. */
static void unknown_container(const char *c)
{
    const compat_container *t;
    size_t n = 0;
    compat_containers(&t, &n, NULL);
    fprintf(stderr,
            "smxgb check: --container '%s' is not a SageMaker XGBoost container: give a "
            "version (",
            c);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? " " : "", t[i].tag);
    fprintf(stderr, "), an image tag (1.7-1-cpu-py3, 1.5-1-arm64) or a sagemaker-xgboost image "
                    "URI\n");
}

static int cmd_check(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &check_doc);
    if (n < 0)
        return verb_parse_exit(n);
    if (n < 1)
        return verb_usage(&check_doc, "need at least one ARTIFACT");
    if (!gate_cli_usage_ok("check"))
        return EXIT_USAGE;
    if (!verb_env_ok(&check_doc, &o.env))
        return EXIT_USAGE;
    for (size_t i = 0; i < o.containers.n; i++)
        if (!compat_container_find(o.containers.v[i])) {
            const char *c = o.containers.v[i];
            if (strchr(c, '@'))
                fprintf(stderr,
                        "smxgb check: --container '%s': an image pinned by digest does not say "
                        "which container version it is; give its tag (e.g. 1.7-1)\n",
                        c);
            else
                unknown_container(c);
            return EXIT_USAGE;
        }
    gate_fetch_opts fo;
    gate_check_opts co;
    gate_cli_check_opts(&co, &fo);
    co.env = o.env.v;
    co.n_env = o.env.n;
    gate_report rep = {.verb = "check", .allow_unknown = o.allow_unknown};
    smx_err err = {0};
    int rc = SMX_OK;
    for (int a = 1; a <= n && !rc; a++)
        rc = gate_check_source(&rep, argv[a], o.containers.v, o.containers.n, &co, &err);
    if (rc) {
        progress_end();
        fprintf(stderr, "smxgb check: %s\n", err.msg);
        gate_report_free(&rep);
        return EXIT_INTERNAL;
    }
    int code = gate_cli_finish(&rep);
    gate_report_free(&rep);
    str_list_free(&o.containers);
    str_list_free(&o.env);
    return code;
}

SMXGB_VERB(check, cmd_check, check_doc, 60)
