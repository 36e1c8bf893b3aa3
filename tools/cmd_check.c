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
     "container version to check and serve (repeatable; default: verify every version, serve "
     "with serve's default)"},
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
    "--content-type T] [--allow-unknown] [--json] [--junit FILE]",
    "verify, serve and health-check artifacts: will the endpoint pass its health check?",
    "For every ARTIFACT (a path, s3://bucket/key or https:// URL) and container version:\n"
    "  1. verify it as `smxgb verify` does (archive, layout, what the container loads);\n"
    "  2. serve it with `smxgb serve` on 127.0.0.1 on a free port, in a child process;\n"
    "  3. probe it as SageMaker does (see `smxgb help probe`): /ping until 200 with an empty\n"
    "     body, then one /invocations with --sample or 3 generated CSV rows as wide as the\n"
    "     model (its feature count comes from loading it in a separate process);\n"
    "  4. stop it with SIGTERM.\n"
    "A container whose verify fails is not served. One report covers all artifacts. With\n"
    "GITHUB_ACTIONS=true each error and warning is also printed as a workflow annotation.\n"
    "s3:// artifacts are downloaded with the credentials of the environment (AWS_ACCESS_KEY_ID,\n"
    "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; region AWS_REGION or AWS_DEFAULT_REGION).\n"
    "Codes besides verify's (see `smxgb help codes`): probe-healthy, probe-unhealthy (the\n"
    "verdict and the server's log), serve-skipped, serve-unavailable, serve-failed,\n"
    "serve-ignores-sigterm, sample-generated, sample-none, artifact-unreadable,\n"
    "container-loads.\n\n"
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

static int cmd_check(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &check_doc);
    if (n == -2)
        return EXIT_OK;
    if (n < 0)
        return EXIT_USAGE;
    if (n < 1) {
        fprintf(stderr, "smxgb check: need at least one ARTIFACT\nusage: %s\n", check_doc.usage);
        return EXIT_USAGE;
    }
    if (!gate_cli_usage_ok("check"))
        return EXIT_USAGE;
    for (size_t i = 0; i < o.env.n; i++)
        if (!strchr(o.env.v[i], '=') || o.env.v[i][0] == '=') {
            fprintf(stderr, "smxgb check: --env '%s': expected KEY=VALUE\n", o.env.v[i]);
            return EXIT_USAGE;
        }
    for (size_t i = 0; i < o.containers.n; i++)
        if (!compat_container_find(o.containers.v[i])) {
            fprintf(stderr, "smxgb check: unknown container '%s' (see `smxgb help verify`)\n",
                    o.containers.v[i]);
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
