/*
 * smxgb plan PLAN.json: the step between `terraform plan` and `terraform apply`. Reads
 * `terraform show -json` output, finds every SageMaker model container the plan creates or
 * changes, says what the plan itself gets wrong (image, model data URL, environment,
 * endpoint timeouts, serverless limits), then checks each artifact (from an --artifact mapping
 * or downloaded) as `smxgb check` does, against the container version its image names.
 */
#include "gate_cli.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
    str_list artifacts;
    const char *sample, *content_type, *accept, *junit, *s3_endpoint;
    double startup_timeout, interval;
    int json, no_serve, verbose;
} o;

static const opt plan_opts[] = {
    {OPT_LIST, 'a', "artifact", &o.artifacts, "S3URI=LOCAL",
     "use LOCAL for the model data at S3URI instead of downloading it (repeatable; LOCAL is a "
     "model.tar.gz, or for CompressionType None the file or the prefix's directory)"},
    {OPT_FLAG, 0, "no-serve", &o.no_serve, NULL, "verify only; do not serve and probe"},
    {OPT_STRING, 0, "sample", &o.sample, "FILE",
     "POST this file to /invocations (default: rows as wide as the model)"},
    {OPT_STRING, 0, "content-type", &o.content_type, "T", "Content-Type of the sample"},
    {OPT_STRING, 0, "accept", &o.accept, "A", "Accept header for /invocations"},
    {OPT_DOUBLE, 0, "startup-timeout", &o.startup_timeout, "S",
     "probe window when the plan sets none (default 240 s)"},
    {OPT_DOUBLE, 0, "interval", &o.interval, "S", "seconds between /ping attempts (default 0.5)"},
    {OPT_STRING, 0, "s3-endpoint", &o.s3_endpoint, "URL",
     "S3 endpoint for downloads (default $AWS_ENDPOINT_URL_S3, else AWS)"},
    {OPT_FLAG, 0, "json", &o.json, NULL, "print the report as JSON"},
    {OPT_STRING, 0, "junit", &o.junit, "FILE",
     "also write a JUnit XML report (one testcase per model container)"},
    {OPT_FLAG, 'v', "verbose", &o.verbose, NULL, "print each probe's timeline to stderr"},
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
    "  2  usage error, the plan cannot be read, or an artifact cannot be read or downloaded"};

static const char *mapping_for(const char *uri)
{
    size_t ul = strlen(uri);
    const char *found = NULL;
    for (size_t i = 0; i < o.artifacts.n; i++) {
        const char *m = o.artifacts.v[i];
        const char *eq = strchr(m, '=');
        if (!eq)
            continue;
        size_t kl = (size_t)(eq - m);
        /* a prefix mapping may be given with or without its trailing '/' */
        if ((kl == ul && !strncmp(m, uri, ul)) ||
            (ul && uri[ul - 1] == '/' && kl == ul - 1 && !strncmp(m, uri, kl)))
            found = eq + 1;
    }
    return found;
}

/* Strip "[...]" parts of an address: aws_sagemaker_model.m["a"] -> aws_sagemaker_model.m */
static char *strip_index(const char *s)
{
    char *r = strdup(s);
    if (!r)
        return NULL;
    size_t j = 0;
    int depth = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']' && depth)
            depth--;
        else if (!depth)
            r[j++] = *p;
    }
    r[j] = '\0';
    return r;
}

static int variant_uses(const gate_plan_variant *v, const gate_plan_container *k)
{
    if (v->model_name.s && k->model_name.s && !strcmp(v->model_name.s, k->model_name.s))
        return 1;
    if (!v->model_ref)
        return 0;
    char *a = strip_index(k->model_address);
    int same = a && !strcmp(a, v->model_ref);
    free(a);
    return same;
}

static void check_environment(gate_case *c, const gate_plan_container *k)
{
    size_t total = 0;
    for (size_t i = 0; i < k->n_env; i++) {
        const char *kv = k->env[i], *eq = strchr(kv, '=');
        size_t kl = (size_t)(eq - kv), vl = strlen(eq + 1);
        total += kl + vl;
        int valid = kl > 0 && (isalpha((unsigned char)kv[0]) || kv[0] == '_');
        for (size_t j = 1; j < kl && valid; j++)
            valid = isalnum((unsigned char)kv[j]) || kv[j] == '_';
        if (!valid)
            gate_case_note(c, ARTIFACT_ERROR, "plan-env-invalid",
                           "use [a-zA-Z_][a-zA-Z0-9_]* names",
                           "environment key '%.*s' does not match SageMaker's pattern; CreateModel "
                           "fails",
                           (int)kl, kv);
        if (kl > 1024 || vl > 1024)
            gate_case_note(
                c, ARTIFACT_ERROR, "plan-env-too-long", NULL,
                "environment entry '%.*s' is longer than SageMaker's 1024 bytes per key or "
                "value; CreateModel fails",
                (int)(kl > 64 ? 64 : kl), kv);
    }
    if (k->n_env > 100)
        gate_case_note(c, ARTIFACT_ERROR, "plan-env-too-long", NULL,
                       "%zu environment entries; SageMaker allows 100", k->n_env);
    if (total > 32768)
        gate_case_note(c, ARTIFACT_ERROR, "plan-env-too-long", NULL,
                       "the environment is %zu bytes; SageMaker allows 32 KB in total", total);
    if (k->env_unknown)
        gate_case_note(c, ARTIFACT_WARNING, "plan-unknown", NULL,
                       "part of the environment is known only after apply; checked with the known "
                       "entries");
}

/* Hard link, or copy when the link cannot be made (another file system). */
static int copy_file(const char *from, const char *to)
{
    if (!link(from, to))
        return 0;
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in && ferror(in))
        rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out))
        rc = -1;
    return rc;
}

/* Package a directory tree (or one file under its S3 name) as the model directory SageMaker
 * would build from an uncompressed source, so that it can be checked like an archive. */
static int package_uncompressed(const char *local, const char *key_name, char **tar, smx_err *err)
{
    struct stat st;
    if (stat(local, &st))
        return smx_fail(err, SMX_EIO, "%s: cannot read the mapped artifact", local);
    char tmpl[] = "/tmp/smxgb-uncompressed-XXXXXX";
    if (!mkdtemp(tmpl))
        return smx_fail(err, SMX_EIO, "cannot create a temporary directory");
    const char *input = local;
    char *link = NULL;
    if (S_ISREG(st.st_mode)) {
        if (asprintf(&link, "%s/%s", tmpl, key_name) < 0 || copy_file(local, link)) {
            free(link);
            rmdir(tmpl);
            return smx_fail(err, SMX_EIO, "cannot stage %s", local);
        }
        input = tmpl;
    }
    if (asprintf(tar, "%s.tar.gz", tmpl) < 0) {
        *tar = NULL;
        if (link)
            unlink(link);
        free(link);
        rmdir(tmpl);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    artifact_package_opts po = {.allow_multiple = 1, .mtime = 0};
    int rc = artifact_package(input, *tar, &po, err);
    if (link)
        unlink(link);
    free(link);
    rmdir(tmpl);
    if (rc) {
        free(*tar);
        *tar = NULL;
    }
    return rc;
}

static void check_container(gate_report *rep, const gate_plan *p, const gate_plan_container *k,
                            const char *plan_file)
{
    double t0 = smx_now();
    char name[1024];
    snprintf(name, sizeof name, "%s %s[%d]", k->model_address, k->block, k->index);
    compat_image im = {0};
    int have_image = 0;
    if (k->image.s) {
        smx_err e = {0};
        have_image = compat_image_parse(k->image.s, &im, &e) == SMX_OK;
    }
    const char *version =
        have_image && im.kind == COMPAT_IMAGE_XGBOOST && im.container ? im.container->tag : NULL;
    const char *source = k->model_data_url.s ? k->model_data_url.s : k->s3_uri.s;
    gate_case *c = gate_cli_add(rep, name, version, source);
    (void)plan_file;
    if (!strcmp(k->actions, "no-op"))
        gate_case_note(c, ARTIFACT_INFO, "plan-unchanged", NULL,
                       "unchanged by this plan (already deployed); checked anyway");
    if (k->model_name.s)
        gate_case_note(c, ARTIFACT_INFO, "plan-model", NULL, "SageMaker model '%s' (%s)",
                       k->model_name.s, k->actions);

    /* the image */
    if (!k->image.s) {
        gate_case_note(c, k->image.unknown ? ARTIFACT_WARNING : ARTIFACT_ERROR, "plan-image",
                       k->image.unknown ? "pin the image URI in the configuration, or check again "
                                          "after it is known"
                                        : NULL,
                       k->image.unknown ? "the image is known only after apply; the container "
                                          "version cannot be checked"
                                        : "the container has no image");
        c->skipped = 1;
    } else if (im.kind == COMPAT_IMAGE_OTHER) {
        gate_case_note(c, ARTIFACT_INFO, "plan-image-other", NULL, "%s: not checked: %s",
                       k->image.s, im.note);
        c->skipped = 1;
    } else if (im.kind == COMPAT_IMAGE_LEGACY) {
        gate_case_note(c, ARTIFACT_WARNING, "plan-image-legacy",
                       "use a sagemaker-xgboost image, e.g. 683313688378.dkr.ecr.us-east-1."
                       "amazonaws.com/sagemaker-xgboost:1.7-1",
                       "%s: %s; not checked", k->image.s, im.note);
        c->skipped = 1;
    } else if (im.kind == COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG) {
        gate_case_note(
            c, ARTIFACT_ERROR, "plan-image-tag",
            "use a published tag: 0.90-1-cpu-py3 0.90-2-cpu-py3 1.0-1-cpu-py3 1.2-1 1.2-2 "
            "1.3-1 1.5-1 1.7-1 3.0-5 3.2-0 (1.3-1-arm64, 1.5-1-arm64 on Graviton)",
            "%s: %s", k->image.s, im.note);
    } else {
        if (im.note[0])
            gate_case_note(c, ARTIFACT_WARNING, "plan-image-account", NULL, "%s: %s", k->image.s,
                           im.note);
        if (!im.container)
            gate_case_note(c, ARTIFACT_WARNING, "plan-image", NULL,
                           "container %s is not in smxgb's container table; checked with every "
                           "version",
                           im.version);
    }
    if (k->mode.s && !strcmp(k->mode.s, "MultiModel")) {
        gate_case_note(c, ARTIFACT_INFO, "plan-multi-model", NULL,
                       "mode MultiModel: the model data is a prefix of many archives loaded on "
                       "demand; not checked");
        c->skipped = 1;
    }
    check_environment(c, k);
    const char *ensemble = gate_plan_env(k, "SAGEMAKER_INFERENCE_ENSEMBLE");
    const char *program = gate_plan_env(k, "SAGEMAKER_PROGRAM");
    if (program)
        gate_case_note(c, ARTIFACT_INFO, "plan-script-mode", NULL,
                       "SAGEMAKER_PROGRAM=%s: script mode. Checked: the archive (gzip, tar, unsafe "
                       "entries). Not checked: the inference script and what its model_fn loads",
                       program);
    if (ensemble)
        gate_case_note(c, ARTIFACT_INFO, "plan-ensemble", NULL, "SAGEMAKER_INFERENCE_ENSEMBLE=%s",
                       ensemble);

    /* endpoint configurations that use this model */
    check_opts co = {.env = (const char *const *)k->env,
                     .n_env = k->n_env,
                     .sample = o.sample,
                     .content_type = o.content_type,
                     .accept = o.accept,
                     .startup_timeout = o.startup_timeout,
                     .interval = o.interval,
                     .no_serve = o.no_serve,
                     .script_mode = program != NULL,
                     .verbose = o.verbose};
    long min_startup = -1, mem = -1;
    int serverless = 0;
    for (size_t i = 0; i < p->n_variants; i++) {
        const gate_plan_variant *v = &p->variants[i];
        if (!variant_uses(v, k))
            continue;
        char vname[512];
        snprintf(vname, sizeof vname, "%s variant %s", v->config_address,
                 v->variant_name ? v->variant_name : "(unnamed)");
        if (v->startup_timeout == -2)
            gate_case_note(c, ARTIFACT_WARNING, "plan-unknown", NULL,
                           "%s: the startup health-check timeout is known only after apply", vname);
        else if (v->startup_timeout >= 0) {
            if (v->startup_timeout < 60 || v->startup_timeout > 3600)
                gate_case_note(
                    c, ARTIFACT_ERROR, "plan-timeout-range", NULL,
                    "%s: container_startup_health_check_timeout_in_seconds = %ld; SageMaker "
                    "accepts 60-3600",
                    vname, v->startup_timeout);
            else if (min_startup < 0 || v->startup_timeout < min_startup)
                min_startup = v->startup_timeout;
        }
        if (v->download_timeout >= 0) {
            if (v->download_timeout < 60 || v->download_timeout > 3600)
                gate_case_note(
                    c, ARTIFACT_ERROR, "plan-timeout-range", NULL,
                    "%s: model_data_download_timeout_in_seconds = %ld; SageMaker accepts "
                    "60-3600",
                    vname, v->download_timeout);
            else
                gate_case_note(c, ARTIFACT_INFO, "plan-download-timeout", NULL,
                               "%s: model data download and extraction must finish within %ld s",
                               vname, v->download_timeout);
        }
        if (v->serverless) {
            serverless = 1;
            if (v->memory_size_mb == -2)
                gate_case_note(c, ARTIFACT_WARNING, "plan-unknown", NULL,
                               "%s: serverless memory_size_in_mb is known only after apply", vname);
            else if (v->memory_size_mb >= 0) {
                if (v->memory_size_mb < 1024 || v->memory_size_mb > 6144 ||
                    v->memory_size_mb % 1024)
                    gate_case_note(
                        c, ARTIFACT_ERROR, "plan-serverless-memory", NULL,
                        "%s: memory_size_in_mb = %ld; serverless accepts 1024-6144 in steps "
                        "of 1024",
                        vname, v->memory_size_mb);
                if (mem < 0 || v->memory_size_mb < mem)
                    mem = v->memory_size_mb;
            }
        }
    }
    if (min_startup > 0) {
        if (o.startup_timeout <= 0)
            co.startup_timeout = (double)min_startup;
        gate_case_note(c, ARTIFACT_INFO, "plan-startup-timeout", NULL,
                       "the endpoint's startup health-check window is %ld s (probed with it)",
                       min_startup);
    }
    if (serverless) {
        co.max_payload = GATE_SERVERLESS_MAX_PAYLOAD;
        gate_case_note(c, ARTIFACT_INFO, "plan-serverless", NULL,
                       "serverless endpoint: requests and responses are limited to 4 MB (probed "
                       "with that limit)%s",
                       mem > 0 ? "" : "");
    }

    /* the model data */
    /* model_data_source is Optional+Computed: the API may echo one for a model_data_url model,
     * so model_data_url, when set, decides */
    int uncompressed =
        !k->model_data_url.s && k->compression_type.s && !strcmp(k->compression_type.s, "None");
    int prefix =
        !k->model_data_url.s && k->s3_data_type.s && !strcmp(k->s3_data_type.s, "S3Prefix");
    if (!source) {
        int unknown = k->model_data_url.unknown || k->s3_uri.unknown;
        if (!c->skipped) {
            gate_case_note(
                c, unknown ? ARTIFACT_WARNING : ARTIFACT_ERROR, "plan-model-data",
                unknown ? "map it: --artifact S3URI=LOCAL once the URI is known, or make "
                          "the key a literal in the configuration"
                        : "set model_data_url (or model_data_source) to the S3 URI of the "
                          "model.tar.gz",
                unknown ? "the model data location is known only after apply; the artifact "
                          "cannot be checked"
                        : "the container has no model data; the XGBoost container has "
                          "nothing to load and /ping fails");
            c->skipped = unknown;
        }
        c->seconds = smx_now() - t0;
        return;
    }
    if (k->model_data_url.s) {
        regex_t re;
        if (!regcomp(&re, "^(https|s3)://([^/]+)/?(.*)$", REG_EXTENDED | REG_NOSUB)) {
            if (regexec(&re, source, 0, NULL, 0) || strlen(source) > 1024)
                gate_case_note(c, ARTIFACT_ERROR, "plan-model-data-url", NULL,
                               "model_data_url '%s' does not match ^(https|s3)://([^/]+)/?(.*)$ "
                               "(max 1024 characters); the API refuses it",
                               source);
            regfree(&re);
        }
        size_t sl = strlen(source);
        if (sl < 7 || strcmp(source + sl - 7, ".tar.gz"))
            gate_case_note(
                c, ARTIFACT_WARNING, "plan-model-data-url",
                "point it at the model.tar.gz, or use model_data_source with "
                "compression_type = \"None\" for uncompressed models",
                "model_data_url '%s' does not end in .tar.gz; SageMaker expects a single "
                "gzip-compressed tar archive",
                source);
    }
    if (uncompressed && prefix && source[strlen(source) - 1] != '/')
        gate_case_note(c, ARTIFACT_ERROR, "plan-model-data-url", "end the S3 prefix with '/'",
                       "s3_uri '%s' is an S3Prefix but does not end with '/'", source);
    if (c->skipped) {
        c->seconds = smx_now() - t0;
        return;
    }

    if (have_image && im.kind == COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG) {
        gate_case_note(c, ARTIFACT_INFO, "artifact-not-checked", NULL,
                       "the artifact was not checked: the container version is unknown");
        c->seconds = smx_now() - t0;
        return;
    }

    /* the artifact: mapped or downloaded */
    const char *mapped = mapping_for(source);
    char *local = NULL;
    int tmp = 0;
    smx_err err = {0};
    if (mapped) {
        local = strdup(mapped);
        gate_case_note(c, ARTIFACT_INFO, "artifact-mapped", NULL, "%s -> %s", source, mapped);
    } else if (uncompressed && prefix) {
        gate_fetch_opts fo;
        gate_fetch_opts_default(&fo);
        fo.s3_endpoint = o.s3_endpoint;
        size_t nobj = 0;
        if (gate_fetch_prefix(source, &fo, &local, &nobj, &err)) {
            gate_case_note(c, ARTIFACT_ERROR, "artifact-unreadable",
                           "check the prefix, or map it to a local directory: --artifact S3URI=DIR",
                           "%s", err.msg);
            c->io_error = 1;
            c->seconds = smx_now() - t0;
            return;
        }
        tmp = 2; /* a directory */
        gate_case_note(c, ARTIFACT_INFO, "artifact-downloaded", NULL, "%zu object%s under %s", nobj,
                       nobj == 1 ? "" : "s", source);
    } else if (source_fetch(source, o.s3_endpoint, &local, &tmp, &err)) {
        gate_case_note(c, ARTIFACT_ERROR, "artifact-unreadable",
                       "check the source, or map it to a local file: --artifact S3URI=LOCAL", "%s",
                       err.msg);
        c->io_error = 1;
        c->seconds = smx_now() - t0;
        return;
    }
    char *check_path = local;
    char *packaged = NULL;
    if (uncompressed) {
        const char *slash = strrchr(source, '/');
        const char *key_name = slash && slash[1] ? slash + 1 : "xgboost-model";
        if (package_uncompressed(local, key_name, &packaged, &err)) {
            gate_case_note(c, ARTIFACT_ERROR, "artifact-uncompressed", NULL,
                           "CompressionType None: %s", err.msg);
        } else {
            check_path = packaged;
            gate_case_note(c, ARTIFACT_INFO, "artifact-uncompressed", NULL,
                           "CompressionType None: %s becomes %s in /opt/ml/model", source,
                           prefix ? "the prefix's files" : key_name);
        }
    }
    if (!c->errors || check_path != local || !uncompressed) {
        compat_report *vr = NULL;
        const char *tags[1] = {version};
        check_verify(rep, c, name, source, check_path, tags, version ? 1 : 0, &co, &vr);
        if (vr) {
            if (mem > 0 && vr->scan->uncompressed_bytes > (uint64_t)mem << 20)
                gate_case_note(
                    c, ARTIFACT_ERROR, "plan-serverless-memory",
                    "raise memory_size_in_mb (up to 6144) or use a real-time endpoint",
                    "the model is %llu MB uncompressed; the serverless endpoint has %ld MB "
                    "of memory",
                    (unsigned long long)(vr->scan->uncompressed_bytes >> 20), mem);
            if (version)
                check_serve(c, check_path, version, vr, &co);
            compat_report_free(vr);
        }
    }
    if (packaged) {
        unlink(packaged);
        free(packaged);
    }
    if (tmp == 2)
        artifact_remove_tree(local, NULL);
    else if (tmp)
        unlink(local);
    free(local);
    c->seconds = smx_now() - t0;
}

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
    if (!!o.sample != !!o.content_type) {
        fprintf(stderr, "smxgb plan: --sample and --content-type go together\n");
        return EXIT_USAGE;
    }
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
    gate_report rep = {.verb = "plan", .file = file};
    for (size_t i = 0; i < p->n_containers; i++)
        check_container(&rep, p, &p->containers[i], file);
    if (!o.json)
        printf("smxgb plan %s: terraform %s, %zu SageMaker model%s, %zu container%s, %zu endpoint "
               "variant%s\n\n",
               file, p->terraform_version ? p->terraform_version : "?", p->n_models,
               p->n_models == 1 ? "" : "s", p->n_containers, p->n_containers == 1 ? "" : "s",
               p->n_variants, p->n_variants == 1 ? "" : "s");
    gate_cli_out out = {.json = o.json, .junit = o.junit};
    int code = gate_cli_finish(&rep, &out);
    gate_report_free(&rep);
    gate_plan_free(p);
    str_list_free(&o.artifacts);
    return code;
}

SMXGB_VERB(plan, cmd_plan, plan_doc, 70)
