/*
 * smxgb plan PLAN.json: the step between `terraform plan` and `terraform apply`. Reads
 * `terraform show -json` output (gate_plan_parse), has gate check every SageMaker model container
 * the plan creates or changes (gate_plan_check: what the plan itself gets wrong, then each
 * artifact from an --artifact mapping or downloaded, as `smxgb check` does), and prints the
 * report.
 */
#include "gate_cli.h"

#include <string.h>

static struct {
    str_list artifacts;
} o;

static const opt plan_opts[] = {
    {OPT_LIST, 'a', "artifact", &o.artifacts, "S3URI=LOCAL",
     "use LOCAL for the model data at S3URI instead of downloading it (repeatable; LOCAL is a "
     "model.tar.gz, or for CompressionType None the file or the prefix's directory)"},
    {OPT_INCLUDE, 0, NULL, gate_cli_opts, NULL, NULL},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc plan_doc = {
    "plan",
    "smxgb plan PLAN.json [--artifact S3URI=LOCAL]... [--no-serve] [--json] [--junit FILE]",
    "check every SageMaker model in a Terraform plan before `terraform apply`",
    "PLAN.json is `terraform show -json tfplan` output (format 1.x; root and child modules).\n"
    "For every aws_sagemaker_model container (primary_container and container blocks) the plan\n"
    "creates or changes:\n"
    "  - image: the sagemaker-xgboost container version it names (image table of the SageMaker\n"
    "    SDK); the legacy xgboost:1 algorithm image and non-XGBoost images are reported and\n"
    "    skipped, unpublished tags are errors;\n"
    "  - model data: model_data_url, or model_data_source.s3_data_source (CompressionType None:\n"
    "    the object becomes one file in /opt/ml/model, a prefix its directory tree);\n"
    "  - environment: SAGEMAKER_INFERENCE_ENSEMBLE is applied; SAGEMAKER_PROGRAM means script\n"
    "    mode (the archive is checked, the user's inference code is not); size limits;\n"
    "  - endpoint configurations using the model: the startup health-check timeout becomes the\n"
    "    probe window, the download timeout is reported, serverless memory is compared with the\n"
    "    model's size and the probe's payload limit drops to 4 MB.\n"
    "Values known only after apply are reported as such. Each artifact then comes from an\n"
    "--artifact mapping or is downloaded (s3:// with the environment's AWS credentials,\n"
    "https://), and is checked as `smxgb check` does. One case per model container.\n\n"
    "Codes besides verify's (see `smxgb help codes`): plan-image-tag (unpublished tag),\n"
    "plan-image-legacy, plan-image-other, plan-image-account, plan-model-data (none, or unknown\n"
    "until apply), plan-model-data-url, plan-env-invalid, plan-env-too-long,\n"
    "plan-timeout-range, plan-serverless-memory, plan-unknown, artifact-unreadable, and check's\n"
    "probe-unhealthy, serve-unavailable, serve-skipped.\n\n"
    "JSON schema: as `smxgb check --json`, with \"verb\": \"plan\" and \"file\".",
    plan_opts,
    "  0  every model container passes (skipped ones are listed)\n"
    "  1  errors found in the plan or in an artifact\n"
    "  2  usage error, the plan cannot be read, or an artifact cannot be read or downloaded",
};

static int cmd_plan(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &plan_doc);
    if (n == -2)
        return EXIT_OK;
    if (n < 0)
        return EXIT_USAGE;
    if (n != 1) {
        fprintf(stderr, "smxgb plan: need exactly one PLAN.json\nusage: %s\n", plan_doc.usage);
        return EXIT_USAGE;
    }
    if (!gate_cli_usage_ok("plan"))
        return EXIT_USAGE;
    for (size_t i = 0; i < o.artifacts.n; i++) {
        const char *eq = strchr(o.artifacts.v[i], '=');
        if (!eq || eq == o.artifacts.v[i] || !eq[1] || !gate_source_is_remote(o.artifacts.v[i])) {
            fprintf(stderr,
                    "smxgb plan: --artifact '%s': expected S3URI=LOCAL (s3:// or https://)\n",
                    o.artifacts.v[i]);
            return EXIT_USAGE;
        }
    }
    const char *file = argv[1];
    smx_buf b = SMX_BUF_INIT;
    smx_err err = {0};
    int rc = !strcmp(file, "-") ? SMX_EINVAL : smx_buf_read_file(&b, file, (size_t)1 << 30, &err);
    if (rc) {
        fprintf(stderr, "smxgb plan: %s\n",
                rc == SMX_EINVAL ? "read the plan from a file" : err.msg);
        return EXIT_USAGE;
    }
    gate_plan *p;
    rc = gate_plan_parse(b.data ? b.data : "", b.len, &p, &err);
    smx_buf_free(&b);
    if (rc) {
        fprintf(stderr, "smxgb plan: %s: %s\n", file, err.msg);
        return exit_for_status(rc) == EXIT_INTERNAL ? EXIT_INTERNAL : EXIT_USAGE;
    }
    gate_fetch_opts fo;
    gate_plan_check_opts po = {.artifacts = o.artifacts.v, .n_artifacts = o.artifacts.n};
    gate_cli_check_opts(&po.check, &fo);
    gate_report rep = {.verb = "plan", .file = file};
    if ((rc = gate_plan_check(&rep, p, &po, &err))) {
        fprintf(stderr, "smxgb plan: %s\n", err.msg);
        gate_report_free(&rep);
        gate_plan_free(p);
        return EXIT_INTERNAL;
    }
    if (!gate_cli.json)
        printf("smxgb plan %s: terraform %s, %zu SageMaker model%s, %zu container%s, %zu endpoint "
               "variant%s\n\n",
               file, p->terraform_version ? p->terraform_version : "?", p->n_models,
               p->n_models == 1 ? "" : "s", p->n_containers, p->n_containers == 1 ? "" : "s",
               p->n_variants, p->n_variants == 1 ? "" : "s");
    int code = gate_cli_finish(&rep);
    gate_report_free(&rep);
    gate_plan_free(p);
    str_list_free(&o.artifacts);
    return code;
}

SMXGB_VERB(plan, cmd_plan, plan_doc, 70)
