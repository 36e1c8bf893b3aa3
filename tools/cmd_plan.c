/*
 * smxgb plan PLAN.json: the step between `terraform plan` and `terraform apply`. Reads
 * `terraform show -json` output (gate_plan_parse), has gate check every SageMaker model container
 * the plan creates or changes (gate_plan_check: what the plan itself gets wrong, then each
 * artifact from an --artifact mapping, the plan's own upload or a download, as `smxgb check`
 * does), and prints the report. The directory relative upload sources are taken from is the
 * plan file's, unless --root (or --chdir) names where terraform ran.
 */
#include "gate_cli.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static struct {
    str_list artifacts, images;
    const char *root;
    int allow_unknown;
} o;

static const opt plan_opts[] = {
    {OPT_LIST, 'a', "artifact", &o.artifacts, "S3URI=LOCAL",
     "use LOCAL for the model data at S3URI instead of downloading it or taking the plan's upload "
     "of it (repeatable; LOCAL is a model.tar.gz, or for CompressionType None the file or the "
     "prefix's directory)"},
    {OPT_LIST, 0, "image", &o.images, "IMAGE=TAG",
     "check the models whose image is IMAGE (e.g. one pinned by digest, ...@sha256:...) as "
     "container version TAG (repeatable)"},
    {OPT_STRING, 0, "root", &o.root, "DIR",
     "the directory terraform ran in: relative `source` paths of uploads are taken from it "
     "(default: the plan file's directory)"},
    {OPT_STRING, 0, "chdir", &o.root, "DIR", "the same as --root (terraform -chdir=DIR)"},
    {OPT_FLAG, 0, "allow-unknown", &o.allow_unknown, NULL,
     "do not fail on facts the plan leaves unknown until apply (the report still lists them)"},
    {OPT_INCLUDE, 0, NULL, gate_cli_opts, NULL, NULL},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc plan_doc = {
    "plan",
    "smxgb plan PLAN.json [--artifact S3URI=LOCAL]... [--image IMAGE=TAG]... [--root DIR] "
    "[--allow-unknown] [--no-serve] [--json] [--junit FILE] [--quiet]",
    "check every SageMaker model in a Terraform plan before `terraform apply`",
    "PLAN.json is `terraform show -json tfplan` output (format 1.x; root and child modules); a\n"
    "state (`terraform show -json` without a plan file) or other JSON is refused.\n"
    "For every aws_sagemaker_model container (primary_container and container blocks) the plan\n"
    "creates or changes:\n"
    "  - image: the sagemaker-xgboost container version it names (image table of the SageMaker\n"
    "    SDK); the legacy xgboost:1 algorithm image and non-XGBoost images are reported and\n"
    "    skipped, unpublished tags are errors; an image pinned by digest (...@sha256:...) is\n"
    "    checked as the container --image IMAGE=TAG names, else as the tag the configuration\n"
    "    gives it (a data.aws_ecr_image with a literal image_tag), else it is unknown;\n"
    "  - model data: model_data_url, or model_data_source.s3_data_source (CompressionType None:\n"
    "    the object becomes one file in /opt/ml/model, a prefix its directory tree);\n"
    "  - environment: SAGEMAKER_INFERENCE_ENSEMBLE is applied; SAGEMAKER_PROGRAM means script\n"
    "    mode (the archive is checked, the user's inference code is not); size limits;\n"
    "  - endpoint configurations using the model: the startup health-check timeout becomes the\n"
    "    probe window, the download timeout is reported, serverless memory is compared with the\n"
    "    model's size and the probe's payload limit drops to 4 MB.\n"
    "The artifact is, in this order: an --artifact mapping of its location; the plan's own\n"
    "upload of it (aws_s3_object or aws_s3_bucket_object with source, content or\n"
    "content_base64), matched by bucket and key or, when they are known only after apply,\n"
    "through the configuration (a URL built from the upload's attributes, or the same\n"
    "aws_s3_bucket; several candidates are each checked in a case of their own); else the object\n"
    "downloaded (s3:// with the environment's AWS credentials, https://). A relative `source` is\n"
    "taken from the plan file's directory, or from --root DIR (where terraform ran); the report\n"
    "names the upload, how it was matched and the file checked. A source that does not exist\n"
    "yet (built during apply) is an error; an etag that is not the file's MD5 is an error. Each\n"
    "artifact is checked as `smxgb check` does, its stages printed on stderr as check prints\n"
    "them (--quiet: none). A download from S3 without credentials in the environment is unsigned:\n"
    "the case says so. One case per model container.\n"
    "A fact the verdict needs that the plan leaves unknown until apply (the image, the model\n"
    "data location, an upload's bytes, SAGEMAKER_* environment values) makes the case UNKNOWN,\n"
    "with what would settle it; unknown cases fail the gate unless --allow-unknown is given,\n"
    "and the report says they were allowed. --artifact and --image mappings that match nothing\n"
    "are warnings.\n\n"
    "Codes besides verify's (see `smxgb help codes`): plan-upload, plan-upload-missing,\n"
    "plan-upload-changed, plan-upload-unknown, plan-image-tag (unpublished tag),\n"
    "plan-image-digest, plan-image-legacy, plan-image-other, plan-image-account,\n"
    "plan-model-data (none, or unknown until apply), plan-model-data-url, plan-env-invalid,\n"
    "plan-env-too-long, plan-timeout-range, plan-serverless-memory, plan-unknown,\n"
    "plan-artifact-unused, plan-image-unused, plan-nothing, artifact-unreadable, and check's\n"
    "probe-unhealthy, serve-unavailable, serve-skipped.\n\n"
    "JSON schema: as `smxgb check --json`, with \"verb\": \"plan\", \"file\", \"status\":\n"
    "\"unknown\" for unknown cases (their notes' severity is \"unknown\", the hint what settles\n"
    "it), \"allow_unknown\", and the report's own \"findings\" (unused mappings, nothing to\n"
    "check).",
    plan_opts,
    "  0  every model container passes (skipped ones are listed; unknown ones only with\n"
    "     --allow-unknown), or the plan has no SageMaker model (\"nothing to check\")\n"
    "  1  errors found in the plan or in an artifact, or a case is unknown\n"
    "  2  usage error, the plan cannot be read (or is not a plan), or an artifact cannot be read\n"
    "     or downloaded (an upload's source that does not exist)",
};

/* --artifact S3URI=LOCAL and --image IMAGE=TAG (a container version smxgb knows); a message on
 * stderr and 0 when one is not. */
static int mappings_ok(void)
{
    for (size_t i = 0; i < o.artifacts.n; i++) {
        const char *eq = strchr(o.artifacts.v[i], '=');
        if (!eq || eq == o.artifacts.v[i] || !eq[1] || !gate_source_is_remote(o.artifacts.v[i])) {
            fprintf(stderr,
                    "smxgb plan: --artifact '%s': expected S3URI=LOCAL (s3:// or https://)\n",
                    o.artifacts.v[i]);
            return 0;
        }
    }
    for (size_t i = 0; i < o.images.n; i++) {
        const char *eq = strrchr(o.images.v[i], '=');
        if (!eq || eq == o.images.v[i] || !compat_container_find(eq + 1)) {
            fprintf(stderr,
                    "smxgb plan: --image '%s': expected IMAGE=TAG with a container version (see "
                    "`smxgb help verify`)\n",
                    o.images.v[i]);
            return 0;
        }
    }
    return 1;
}

/* The root upload sources are relative to: --root, else the plan file's directory (absolute,
 * so that the report names the file used). *from says which; the result is malloc'd. */
static char *upload_root(const char *plan, const char **from)
{
    char buf[PATH_MAX];
    if (o.root) {
        *from = "--root";
        return strdup(realpath(o.root, buf) ? buf : o.root);
    }
    *from = "the plan file's directory";
    char *copy = strdup(plan);
    char *dir = copy ? dirname(copy) : NULL;
    char *root = dir ? strdup(realpath(dir, buf) ? buf : dir) : NULL;
    free(copy);
    return root;
}

static int cmd_plan(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &plan_doc);
    if (n < 0)
        return verb_parse_exit(n);
    if (n != 1)
        return verb_usage(&plan_doc, "need exactly one PLAN.json");
    if (!gate_cli_usage_ok("plan"))
        return EXIT_USAGE;
    if (!mappings_ok())
        return EXIT_USAGE;
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
    gate_plan_check_opts po = {.artifacts = o.artifacts.v,
                               .n_artifacts = o.artifacts.n,
                               .images = o.images.v,
                               .n_images = o.images.n};
    char *root = upload_root(file, &po.root_from);
    po.root = root;
    gate_cli_check_opts(&po.check, &fo);
    gate_report rep = {.verb = "plan", .file = file, .allow_unknown = o.allow_unknown};
    if (!root || (rc = gate_plan_check(&rep, p, &po, &err))) {
        progress_end();
        fprintf(stderr, "smxgb plan: %s\n", root ? err.msg : "out of memory");
        gate_report_free(&rep);
        gate_plan_free(p);
        free(root);
        return EXIT_INTERNAL;
    }
    free(root);
    progress_end();
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
    str_list_free(&o.images);
    return code;
}

SMXGB_VERB(plan, cmd_plan, plan_doc, 70)
