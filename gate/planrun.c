/*
 * The plan check (`smxgb plan`): the step between `terraform plan` and `terraform apply`. For
 * every SageMaker model container a parsed plan creates or changes, one case that says, in
 * this order:
 *
 *   the plan   what the plan itself gets wrong: the image (the container version it names, or
 *              why it is not checked), the mode, the environment (SageMaker's name and length
 *              limits, script mode, ensemble), the endpoint configurations that use the model
 *              (startup and download timeouts, serverless memory), and the model data location;
 *   the model  the artifact: an S3URI=LOCAL mapping, else the upload of the same plan that
 *              writes the model data (planupload.c), else the object downloaded; an
 *              uncompressed source is packaged as the model directory SageMaker would build
 *              from it; verified and served as check.c does, against the container version of
 *              the image (or the one --image or the configuration names for an image pinned by
 *              digest), with the endpoint's startup window and payload limit.
 *
 * A fact a verdict needs that the plan leaves unknown (the image, the model data location, an
 * upload's bytes, the SAGEMAKER_* environment) makes the case unknown, with what would settle
 * it: never a pass, never a silent skip. Mappings and images given that match no model are
 * warnings of the report (a typo must not pass silently).
 */
#include "gate_private.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The run over a plan: its options, and which mappings and images were used. */
typedef struct plan_run {
    const gate_plan_check_opts *o;
    unsigned char *artifact_used, *image_used;
} plan_run;

/* What one container is checked with, gathered from the plan before its artifact is. */
typedef struct container_check {
    const gate_plan_container *k;
    char name[1024];        /* the case name: "ADDRESS BLOCK[i]" */
    compat_image im;        /* the image, when it could be parsed */
    int have_image;         /* im is valid */
    const char *image_from; /* a digest-pinned image's tag came from here, or NULL */
    const char *version;    /* the container version the image names, or NULL */
    const char *source;     /* the model data URI, or NULL */
    int uncompressed;       /* CompressionType None */
    int prefix;             /* S3Prefix */
    long memory_mb;         /* the smallest serverless memory of the endpoints using it, or -1 */
    gate_check_opts co;     /* the check options for this container */
} container_check;

/* ---- the image, mode and environment -------------------------------------------------------- */

/* The image: the container version it names, or why it is not checked (skipped). */
static void note_image(gate_case *c, const container_check *x)
{
    const gate_plan_container *k = x->k;
    const compat_image *im = &x->im;
    if (x->image_from)
        gate_case_note(c, ARTIFACT_INFO,
                       strchr(k->image.s, '@') ? "plan-image-digest" : "plan-image", NULL,
                       "%s: checked as container %s, from %s", k->image.s,
                       im->version[0] ? im->version : im->tag, x->image_from);
    if (!k->image.s && k->image.unknown) {
        gate_case_unknown(c, "plan-image",
                          "pin the image URI in the configuration, or check again once it is "
                          "known",
                          "the image is known only after apply; the container version cannot be "
                          "checked");
        c->skipped = 1;
    } else if (!k->image.s) {
        gate_case_note(c, ARTIFACT_ERROR, "plan-image", NULL, "the container has no image");
        c->skipped = 1;
    } else if (im->kind == COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG && im->digest[0] && !x->image_from) {
        gate_case_unknown(c, "plan-image-digest",
                          "name its container version: --image IMAGE=TAG (e.g. 1.7-1), or "
                          "reference a data.aws_ecr_image with a literal image_tag in the "
                          "configuration",
                          "%s is pinned by digest: which container version it is cannot be read "
                          "from it",
                          k->image.s);
        c->skipped = 1;
    } else if (im->kind == COMPAT_IMAGE_OTHER) {
        gate_case_note(c, ARTIFACT_INFO, "plan-image-other", NULL, "%s: not checked: %s",
                       k->image.s, im->note);
        c->skipped = 1;
    } else if (im->kind == COMPAT_IMAGE_LEGACY) {
        gate_case_note(c, ARTIFACT_WARNING, "plan-image-legacy",
                       "use a sagemaker-xgboost image, e.g. 683313688378.dkr.ecr.us-east-1."
                       "amazonaws.com/sagemaker-xgboost:1.7-1",
                       "%s: %s; not checked", k->image.s, im->note);
        c->skipped = 1;
    } else if (im->kind == COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG) {
        gate_case_note(c, ARTIFACT_ERROR, "plan-image-tag",
                       "use a published tag: 0.90-1-cpu-py3 0.90-2-cpu-py3 1.0-1-cpu-py3 1.2-1 "
                       "1.2-2 1.3-1 1.5-1 1.7-1 3.0-5 3.2-0 (1.3-1-arm64, 1.5-1-arm64 on Graviton)",
                       "%s: %s", k->image.s, im->note);
    } else {
        if (im->note[0])
            gate_case_note(c, ARTIFACT_WARNING, "plan-image-account", NULL, "%s: %s", k->image.s,
                           im->note);
        if (!im->container)
            gate_case_note(c, ARTIFACT_WARNING, "plan-image", NULL,
                           "container %s is not in smxgb's container table; checked with every "
                           "version",
                           im->version);
    }
}

/* SageMaker's limits on the environment: key names, 1024 bytes per key or value, 100 entries,
 * 32 KB in all. */
static void note_env_limits(gate_case *c, const gate_plan_container *k)
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
                           "environment key '%.*s' does not match SageMaker's pattern; "
                           "CreateModel fails",
                           (int)kl, kv);
        if (kl > 1024 || vl > 1024)
            gate_case_note(c, ARTIFACT_ERROR, "plan-env-too-long", NULL,
                           "environment entry '%.*s' is longer than SageMaker's 1024 bytes per "
                           "key or value; CreateModel fails",
                           (int)(kl > 64 ? 64 : kl), kv);
    }
    if (k->n_env > 100)
        gate_case_note(c, ARTIFACT_ERROR, "plan-env-too-long", NULL,
                       "%zu environment entries; SageMaker allows 100", k->n_env);
    if (total > 32768)
        gate_case_note(c, ARTIFACT_ERROR, "plan-env-too-long", NULL,
                       "the environment is %zu bytes; SageMaker allows 32 KB in total", total);
    if (k->env_unknown_sagemaker)
        gate_case_unknown(c, "plan-unknown",
                          "make the SAGEMAKER_* environment values known at plan time",
                          "part of the environment the container reads (SAGEMAKER_*) is known "
                          "only after apply; checked with the known entries");
    else if (k->env_unknown)
        gate_case_note(c, ARTIFACT_WARNING, "plan-unknown", NULL,
                       "part of the environment is known only after apply; checked with the "
                       "known entries");
}

/* The mode (multi-model endpoints are skipped) and the environment. */
static void note_mode_and_env(gate_case *c, const gate_plan_container *k)
{
    if (k->mode.s && !strcmp(k->mode.s, "MultiModel")) {
        gate_case_note(c, ARTIFACT_INFO, "plan-multi-model", NULL,
                       "mode MultiModel: the model data is a prefix of many archives loaded on "
                       "demand; not checked");
        c->skipped = 1;
    }
    note_env_limits(c, k);
    const char *ensemble = gate_plan_env(k, "SAGEMAKER_INFERENCE_ENSEMBLE");
    const char *program = gate_plan_env(k, "SAGEMAKER_PROGRAM");
    if (program)
        gate_case_note(c, ARTIFACT_INFO, "plan-script-mode", NULL,
                       "SAGEMAKER_PROGRAM=%s: script mode. Checked: the archive (gzip, tar, "
                       "unsafe entries). Not checked: the inference script and what its model_fn "
                       "loads",
                       program);
    if (ensemble)
        gate_case_note(c, ARTIFACT_INFO, "plan-ensemble", NULL, "SAGEMAKER_INFERENCE_ENSEMBLE=%s",
                       ensemble);
}

/* ---- the endpoint configurations that use the model ---------------------------------------- */

typedef struct endpoints {
    long min_startup; /* the smallest valid startup health-check timeout, or -1 */
    long memory_mb;   /* the smallest serverless memory, or -1 */
    int serverless;
} endpoints;

static void note_variant(gate_case *c, const gate_plan_variant *v, endpoints *ep)
{
    char vname[512];
    snprintf(vname, sizeof vname, "%s variant %s", v->config_address,
             v->variant_name ? v->variant_name : "(unnamed)");
    if (v->startup_timeout == -2) {
        gate_case_note(c, ARTIFACT_WARNING, "plan-unknown", NULL,
                       "%s: the startup health-check timeout is known only after apply", vname);
    } else if (v->startup_timeout >= 0) {
        if (v->startup_timeout < 60 || v->startup_timeout > 3600)
            gate_case_note(c, ARTIFACT_ERROR, "plan-timeout-range", NULL,
                           "%s: container_startup_health_check_timeout_in_seconds = %ld; "
                           "SageMaker accepts 60-3600",
                           vname, v->startup_timeout);
        else if (ep->min_startup < 0 || v->startup_timeout < ep->min_startup)
            ep->min_startup = v->startup_timeout;
    }
    if (v->download_timeout >= 0) {
        if (v->download_timeout < 60 || v->download_timeout > 3600)
            gate_case_note(c, ARTIFACT_ERROR, "plan-timeout-range", NULL,
                           "%s: model_data_download_timeout_in_seconds = %ld; SageMaker accepts "
                           "60-3600",
                           vname, v->download_timeout);
        else
            gate_case_note(c, ARTIFACT_INFO, "plan-download-timeout", NULL,
                           "%s: model data download and extraction must finish within %ld s", vname,
                           v->download_timeout);
    }
    if (!v->serverless)
        return;
    ep->serverless = 1;
    if (v->memory_size_mb == -2) {
        gate_case_note(c, ARTIFACT_WARNING, "plan-unknown", NULL,
                       "%s: serverless memory_size_in_mb is known only after apply", vname);
    } else if (v->memory_size_mb >= 0) {
        if (v->memory_size_mb < 1024 || v->memory_size_mb > 6144 || v->memory_size_mb % 1024)
            gate_case_note(c, ARTIFACT_ERROR, "plan-serverless-memory", NULL,
                           "%s: memory_size_in_mb = %ld; serverless accepts 1024-6144 in steps "
                           "of 1024",
                           vname, v->memory_size_mb);
        if (ep->memory_mb < 0 || v->memory_size_mb < ep->memory_mb)
            ep->memory_mb = v->memory_size_mb;
    }
}

/* Every variant that uses the container; the probe gets the endpoint's startup window (unless
 * the caller set one) and a serverless endpoint's payload limit. */
static void apply_endpoints(gate_case *c, const gate_plan *p, container_check *x,
                            const gate_check_opts *base)
{
    endpoints ep = {-1, -1, 0};
    for (size_t i = 0; i < p->n_variants; i++)
        if (gate_plan_variant_uses(&p->variants[i], x->k))
            note_variant(c, &p->variants[i], &ep);
    if (ep.min_startup > 0) {
        if (base->startup_timeout <= 0)
            x->co.startup_timeout = (double)ep.min_startup;
        gate_case_note(c, ARTIFACT_INFO, "plan-startup-timeout", NULL,
                       "the endpoint's startup health-check window is %ld s (probed with it)",
                       ep.min_startup);
    }
    if (ep.serverless) {
        x->co.max_payload = GATE_SERVERLESS_MAX_PAYLOAD;
        gate_case_note(c, ARTIFACT_INFO, "plan-serverless", NULL,
                       "serverless endpoint: requests and responses are limited to 4 MB (probed "
                       "with that limit)");
    }
    x->memory_mb = ep.memory_mb;
}

/* ---- the model data location --------------------------------------------------------------- */

/* No model data: an error. */
static void note_no_model_data(gate_case *c)
{
    gate_case_note(c, ARTIFACT_ERROR, "plan-model-data",
                   "set model_data_url (or model_data_source) to the S3 URI of the model.tar.gz",
                   "the container has no model data; the XGBoost container has nothing to load "
                   "and /ping fails");
}

/* Known only after apply, and no upload of the plan is what it is built from: unknown (the
 * plan's uploads are named: one of them may be it). */
static void note_unknown_model_data(gate_case *c, const gate_plan *p)
{
    smx_buf ups = SMX_BUF_INIT;
    for (size_t i = 0; i < p->n_objects; i++)
        smx_buf_printf(&ups, "%s%s", ups.len ? ", " : "", p->objects[i].address);
    gate_case_unknown(c, "plan-model-data",
                      "build the URL in the configuration from the upload's attributes "
                      "(\"s3://${aws_s3_object.NAME.bucket}/${aws_s3_object.NAME.key}\") or make "
                      "it a literal, so that the plan says where the model data is; then map it "
                      "with --artifact S3URI=LOCAL if needed",
                      "the model data location is known only after apply, and the configuration "
                      "does not tie it to an upload of this plan%s%s%s; the artifact cannot be "
                      "checked",
                      ups.len ? " (the plan uploads " : "", ups.len ? ups.data : "",
                      ups.len ? ")" : "");
    smx_buf_free(&ups);
}

/* What CreateModel accepts as model_data_url, and what SageMaker expects it to name. */
static void note_model_data_url(gate_case *c, const char *url)
{
    regex_t re;
    if (!regcomp(&re, "^(https|s3)://([^/]+)/?(.*)$", REG_EXTENDED | REG_NOSUB)) {
        if (regexec(&re, url, 0, NULL, 0) || strlen(url) > 1024)
            gate_case_note(c, ARTIFACT_ERROR, "plan-model-data-url", NULL,
                           "model_data_url '%s' does not match ^(https|s3)://([^/]+)/?(.*)$ "
                           "(max 1024 characters); the API refuses it",
                           url);
        regfree(&re);
    }
    size_t sl = strlen(url);
    if (sl < 7 || strcmp(url + sl - 7, ".tar.gz"))
        gate_case_note(c, ARTIFACT_WARNING, "plan-model-data-url",
                       "point it at the model.tar.gz, or use model_data_source with "
                       "compression_type = \"None\" for uncompressed models",
                       "model_data_url '%s' does not end in .tar.gz; SageMaker expects a single "
                       "gzip-compressed tar archive",
                       url);
}

/* ---- the artifact --------------------------------------------------------------------------- */

/* The LOCAL of an S3URI=LOCAL mapping for uri (the last one given), or NULL; marked used. */
static const char *mapping_for(plan_run *run, const char *uri)
{
    const gate_plan_check_opts *o = run->o;
    size_t ul = uri ? strlen(uri) : 0;
    const char *found = NULL;
    size_t which = 0;
    for (size_t i = 0; uri && i < o->n_artifacts; i++) {
        const char *m = o->artifacts[i];
        const char *eq = strchr(m, '=');
        if (!eq)
            continue;
        size_t kl = (size_t)(eq - m);
        /* a prefix mapping may be given with or without its trailing '/' */
        if ((kl == ul && !strncmp(m, uri, ul)) ||
            (ul && uri[ul - 1] == '/' && kl == ul - 1 && !strncmp(m, uri, kl))) {
            found = eq + 1;
            which = i;
        }
    }
    if (found)
        run->artifact_used[which] = 1;
    return found;
}

/* The TAG of an IMAGE=TAG mapping for image (the last one given), or NULL; marked used. */
static const char *image_for(plan_run *run, const char *image)
{
    const gate_plan_check_opts *o = run->o;
    const char *found = NULL;
    for (size_t i = 0; image && i < o->n_images; i++) {
        const char *eq = strrchr(o->images[i], '=');
        if (eq && (size_t)(eq - o->images[i]) == strlen(image) &&
            !strncmp(o->images[i], image, (size_t)(eq - o->images[i]))) {
            found = eq + 1;
            run->image_used[i] = 1;
        }
    }
    return found;
}

/*
 * The artifact as a local path: mapped, a downloaded prefix (*tmp 2: a directory tree), or a
 * downloaded object (*tmp 1). -1 when it cannot be had (the case says why, as an io_error).
 */
static int local_artifact(gate_case *c, const container_check *x, plan_run *run, char **local,
                          int *tmp)
{
    const gate_plan_check_opts *o = run->o;
    const char *mapped = mapping_for(run, x->source);
    smx_err err = {0};
    *tmp = 0;
    if (mapped) {
        *local = strdup(mapped);
        gate_case_note(c, ARTIFACT_INFO, "artifact-mapped", NULL, "%s -> %s", x->source, mapped);
        return *local ? 0 : -1;
    }
    if (x->uncompressed && x->prefix) {
        gate_fetch_opts fo;
        if (o->check.fetch)
            fo = *o->check.fetch;
        else
            gate_fetch_opts_default(&fo);
        fo.progress = NULL; /* a prefix is many small transfers: no progress */
        size_t nobj = 0;
        gate_stage_event e = {
            .stage = GATE_STAGE_DOWNLOAD, .what = x->source, .unsigned_s3 = !gate_s3_credentials()};
        gate__stage(&o->check, &e);
        double t0 = smx_now();
        int rc = gate_fetch_prefix(x->source, &fo, local, &nobj, &err);
        char detail[64];
        snprintf(detail, sizeof detail, "%zu object%s", nobj, nobj == 1 ? "" : "s");
        e.done = 1;
        e.seconds = smx_now() - t0;
        e.ok = rc == SMX_OK;
        e.detail = rc ? err.msg : detail;
        gate__stage(&o->check, &e);
        if (rc) {
            gate_case_note(c, ARTIFACT_ERROR, "artifact-unreadable",
                           "check the prefix, or map it to a local directory: --artifact "
                           "S3URI=DIR",
                           "%s", err.msg);
            c->io_error = 1;
            return -1;
        }
        *tmp = 2;
        gate_case_note(c, ARTIFACT_INFO, "artifact-downloaded", NULL, "%zu object%s under %s", nobj,
                       nobj == 1 ? "" : "s", x->source);
        gate__note_unsigned(c, x->source);
        return 0;
    }
    if (gate_check_fetch(x->source, &o->check, local, tmp, &err)) {
        gate_case_note(c, ARTIFACT_ERROR, "artifact-unreadable",
                       "check the source, or map it to a local file: --artifact S3URI=LOCAL", "%s",
                       err.msg);
        c->io_error = 1;
        return -1;
    }
    gate__note_unsigned(c, x->source);
    return 0;
}

/* CompressionType None: the source as the archive of the model directory it becomes (NULL
 * when it cannot be packaged: the case says why). where is the S3 location it lands at (its
 * last key component names the file). *packaged is the temporary archive. */
static const char *as_archive(gate_case *c, const container_check *x, const char *where,
                              const char *local, char **packaged)
{
    *packaged = NULL;
    if (!x->uncompressed)
        return local;
    const char *slash = where ? strrchr(where, '/') : NULL;
    const char *key_name = slash && slash[1] ? slash + 1 : "xgboost-model";
    smx_err err = {0};
    if (gate__package_uncompressed(local, key_name, packaged, &err)) {
        gate_case_note(c, ARTIFACT_ERROR, "artifact-uncompressed", NULL, "CompressionType None: %s",
                       err.msg);
        return NULL;
    }
    gate_case_note(c, ARTIFACT_INFO, "artifact-uncompressed", NULL,
                   "CompressionType None: %s becomes %s in /opt/ml/model", where ? where : local,
                   x->prefix ? "the prefix's files" : key_name);
    return *packaged;
}

/* Verify and serve the archive at path for the container version, as check does (shown names
 * it in the report); a serverless endpoint's memory is compared with the model's uncompressed
 * size. */
static int verify_and_serve(gate_report *r, gate_case *c, const container_check *x,
                            const char *path, const char *shown, smx_err *err)
{
    compat_report *vr = NULL;
    const char *tags[1] = {x->version};
    int rc = gate__verify(r, c, c->name, shown, path, tags, x->version ? 1 : 0, &x->co, &vr, err);
    if (!vr)
        return rc;
    if (x->memory_mb > 0 && vr->scan->uncompressed_bytes > (uint64_t)x->memory_mb << 20)
        gate_case_note(c, ARTIFACT_ERROR, "plan-serverless-memory",
                       "raise memory_size_in_mb (up to 6144) or use a real-time endpoint",
                       "the model is %llu MB uncompressed; the serverless endpoint has %ld MB "
                       "of memory",
                       (unsigned long long)(vr->scan->uncompressed_bytes >> 20), x->memory_mb);
    if (x->version)
        gate__serve(c, path, x->version, vr, &x->co);
    compat_report_free(vr);
    return SMX_OK;
}

/* A local archive (or uncompressed source) at `where`, made an archive if needed, verified and
 * served; packaged archives are removed. */
static int check_local(gate_report *r, gate_case *c, const container_check *x, const char *where,
                       const char *local, const char *shown, smx_err *err)
{
    char *packaged = NULL;
    const char *path = as_archive(c, x, where, local, &packaged);
    int rc = path ? verify_and_serve(r, c, x, path, shown, err) : SMX_OK;
    if (packaged) {
        smx_scratch_remove(packaged);
        free(packaged);
    }
    return rc;
}

/* The artifact at the model data location: mapped or downloaded, then checked. */
static int check_artifact(gate_report *r, gate_case *c, const container_check *x, plan_run *run,
                          smx_err *err)
{
    char *local = NULL;
    int tmp = 0;
    if (local_artifact(c, x, run, &local, &tmp))
        return c->io_error ? SMX_OK : smx_fail(err, SMX_ENOMEM, "out of memory");
    int rc = check_local(r, c, x, x->source, local, x->source, err);
    if (tmp)
        smx_scratch_remove(local); /* a downloaded file, or a prefix's directory tree */
    free(local);
    return rc;
}

/* One upload of the plan as the artifact: mapped (a mapping of its location wins), or its own
 * bytes; the case's artifact becomes the file checked. */
static int check_upload(gate_report *r, gate_case *c, const container_check *x,
                        const gate__upload *u, plan_run *run, smx_err *err)
{
    const char *mapped = mapping_for(run, u->uri[0] ? u->uri : NULL);
    char *local = NULL, *scratch = NULL;
    if (mapped) {
        gate_case_note(c, ARTIFACT_INFO, "artifact-mapped", NULL,
                       "%s -> %s (the mapping wins over %s's upload, %s)", u->uri, mapped,
                       u->o->address, u->how);
        local = strdup(mapped);
    } else {
        int got = gate__upload_file(c, u, run->o->root, run->o->root_from, &local, &scratch);
        if (got)
            return got == -1 ? smx_fail(err, SMX_ENOMEM, "out of memory") : SMX_OK;
    }
    if (!local)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    char *shown = strdup(local);
    if (shown) {
        free(c->artifact);
        c->artifact = shown;
    }
    const char *where = x->source ? x->source : u->uri[0] ? u->uri : u->o->key.s;
    int rc = check_local(r, c, x, where, local, local, err);
    if (scratch)
        smx_scratch_remove(scratch);
    free(scratch);
    free(local);
    return rc;
}

/* What the uploads that are not the artifact mean for the case: one the plan leaves unchanged
 * is information; one that may write the model data, or writes under its prefix, makes the
 * case unknown (unless a mapping says what the artifact is). */
static void note_other_uploads(gate_case *c, const gate__upload *u, size_t n, int mapped)
{
    for (size_t i = 0; i < n; i++) {
        const gate_plan_object *o = u[i].o;
        if (u[i].kind == GATE__UPLOAD_UNCHANGED)
            gate_case_note(c, ARTIFACT_INFO, "plan-upload", NULL,
                           "%s writes this location but this plan does not change it (%s): the "
                           "object in S3 is what the endpoint gets",
                           o->address, u[i].how);
        else if (u[i].kind == GATE__UPLOAD_MAYBE && !mapped)
            gate_case_unknown(c, "plan-upload-unknown",
                              "make the upload's bucket and key known at plan time, or map the "
                              "model data to the file the endpoint gets: --artifact S3URI=FILE",
                              "%s (%s) may upload this model's data (%s): if it does, the object "
                              "checked is not what the endpoint gets",
                              o->address, o->actions, u[i].how);
        else if (u[i].kind == GATE__UPLOAD_UNDER && !mapped)
            gate_case_unknown(c, "plan-upload-unknown",
                              "map the prefix to a directory holding what it will hold after "
                              "apply: --artifact S3PREFIX=DIR",
                              "%s (%s) %s during apply: the prefix's objects in S3 now are not "
                              "what the endpoint gets",
                              o->address, o->actions, u[i].how);
    }
}

/* Several uploads could be the model data: each is checked in a case of its own. */
static int check_candidates(gate_report *r, gate_case *c, const container_check *x,
                            const gate__upload *u, size_t n, size_t matches, plan_run *run,
                            smx_err *err)
{
    smx_buf names = SMX_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        if (u[i].kind == GATE__UPLOAD_MATCH)
            smx_buf_printf(&names, "%s%s (%s)", names.len ? "; " : "", u[i].o->address, u[i].how);
    gate_case_note(c, ARTIFACT_INFO, "plan-upload", NULL,
                   "%zu uploads could be this model's data: %s; each is checked in a case of its "
                   "own",
                   matches, names.data ? names.data : "");
    smx_buf_free(&names);
    int rc = SMX_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        if (u[i].kind != GATE__UPLOAD_MATCH)
            continue;
        char name[1400];
        snprintf(name, sizeof name, "%s upload %s", x->name, u[i].o->address);
        gate_case *uc = gate_report_add(r, name, x->version, NULL);
        if (!uc)
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        double t0 = smx_now();
        rc = check_upload(r, uc, x, &u[i], run, err);
        uc->seconds = smx_now() - t0;
    }
    return rc;
}

/* The model data: a mapping of its location, the plan's own upload(s) of it, or the object
 * downloaded; with the location known only after apply and no upload tied to it, unknown. */
static int check_model_data(gate_report *r, gate_case *c, const container_check *x,
                            const gate_plan *p, plan_run *run, smx_err *err)
{
    gate__upload *u = NULL;
    size_t n = 0, matches = 0, first = 0;
    int rc = gate__uploads(p, x->k, x->source, x->uncompressed && x->prefix, &u, &n, err);
    if (rc)
        return rc;
    for (size_t i = n; i-- > 0;)
        if (u[i].kind == GATE__UPLOAD_MATCH) {
            matches++;
            first = i;
        }
    const char *mapped = mapping_for(run, x->source);
    note_other_uploads(c, u, n, mapped != NULL);
    if (mapped) {
        for (size_t i = 0; i < n; i++)
            if (u[i].kind == GATE__UPLOAD_MATCH)
                gate_case_note(c, ARTIFACT_INFO, "plan-upload", NULL,
                               "%s uploads this location (%s); the --artifact mapping wins",
                               u[i].o->address, u[i].how);
        rc = check_artifact(r, c, x, run, err);
    } else if (matches == 1) {
        rc = check_upload(r, c, x, &u[first], run, err);
    } else if (matches > 1) {
        rc = check_candidates(r, c, x, u, n, matches, run, err);
    } else if (x->source) {
        rc = check_artifact(r, c, x, run, err);
    } else {
        note_unknown_model_data(c, p);
    }
    free(u);
    return rc;
}

/* ---- one container -------------------------------------------------------------------------- */

/* The image as checked: an --image mapping, else the tag in a URI pinned by digest
 * (REPO:TAG@DIGEST), else the tag the configuration names for it; else the image as it is. */
static void resolve_image(container_check *x, plan_run *run)
{
    const char *image = x->k->image.s;
    const char *tag = image_for(run, image);
    const char *at = strchr(image, '@'), *slash = strrchr(image, '/');
    size_t base = at ? (size_t)(at - image) : strlen(image);
    const char *colon = slash ? memchr(slash, ':', base - (size_t)(slash - image)) : NULL;
    size_t repo = colon ? (size_t)(colon - image) : base;
    char uri[1100];
    x->image_from = NULL;
    if (tag) {
        /* --image takes what --container takes (1.7-1-cpu-py3, a URI): its container's tag */
        const compat_container *mapped = compat_container_find(tag);
        snprintf(uri, sizeof uri, "%.*s:%s", (int)repo, image, mapped ? mapped->tag : tag);
        x->image_from = "--image";
    } else if (at && colon) {
        snprintf(uri, sizeof uri, "%.*s", (int)base, image);
        x->image_from = "the tag in the image URI (the digest is not compared with it)";
    } else if (at && x->k->image_tag) {
        snprintf(uri, sizeof uri, "%.*s:%s", (int)repo, image, x->k->image_tag);
        x->image_from = x->k->image_tag_from;
    } else {
        snprintf(uri, sizeof uri, "%s", image);
    }
    smx_err e = {0};
    x->have_image = compat_image_parse(uri, &x->im, &e) == SMX_OK;
}

static void prepare(container_check *x, const gate_plan_container *k, plan_run *run)
{
    const gate_check_opts *base = &run->o->check;
    memset(x, 0, sizeof *x);
    x->k = k;
    snprintf(x->name, sizeof x->name, "%s %s[%d]", k->model_address, k->block, k->index);
    if (k->image.s)
        resolve_image(x, run);
    if (x->have_image && x->im.kind == COMPAT_IMAGE_XGBOOST && x->im.container)
        x->version = x->im.container->tag;
    x->source = k->model_data_url.s ? k->model_data_url.s : k->s3_uri.s;
    /* model_data_source is Optional+Computed: the API may echo one for a model_data_url model,
     * so model_data_url, when set, decides */
    x->uncompressed =
        !k->model_data_url.s && k->compression_type.s && !strcmp(k->compression_type.s, "None");
    x->prefix = !k->model_data_url.s && k->s3_data_type.s && !strcmp(k->s3_data_type.s, "S3Prefix");
    x->memory_mb = -1;
    x->co = *base;
    x->co.env = (const char *const *)k->env;
    x->co.n_env = k->n_env;
}

/* 1 when the artifact is to be checked: there is one (or one known only after apply), and
 * nothing so far rules it out. */
static int artifact_wanted(gate_case *c, const container_check *x)
{
    const gate_plan_container *k = x->k;
    if (!x->source && !k->model_data_url.unknown && !k->s3_uri.unknown) {
        if (!c->skipped)
            note_no_model_data(c);
        return 0;
    }
    if (k->model_data_url.s)
        note_model_data_url(c, x->source);
    if (x->source && x->uncompressed && x->prefix && x->source[strlen(x->source) - 1] != '/')
        gate_case_note(c, ARTIFACT_ERROR, "plan-model-data-url", "end the S3 prefix with '/'",
                       "s3_uri '%s' is an S3Prefix but does not end with '/'", x->source);
    if (c->skipped)
        return 0;
    if (x->have_image && x->im.kind == COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG) {
        gate_case_note(c, ARTIFACT_INFO, "artifact-not-checked", NULL,
                       "the artifact was not checked: the container version is unknown");
        return 0;
    }
    return 1;
}

static int check_container(gate_report *r, const gate_plan *p, const gate_plan_container *k,
                           plan_run *run, smx_err *err)
{
    double t0 = smx_now();
    container_check x;
    prepare(&x, k, run);
    gate_case *c = gate_report_add(r, x.name, x.version, x.source);
    if (!c)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!strcmp(k->actions, "no-op"))
        gate_case_note(c, ARTIFACT_INFO, "plan-unchanged", NULL,
                       "unchanged by this plan (already deployed); checked anyway");
    if (k->model_name.s)
        gate_case_note(c, ARTIFACT_INFO, "plan-model", NULL, "SageMaker model '%s' (%s)",
                       k->model_name.s, k->actions);
    note_image(c, &x);
    note_mode_and_env(c, k);
    apply_endpoints(c, p, &x, &run->o->check);
    int rc = SMX_OK;
    if (artifact_wanted(c, &x))
        rc = check_model_data(r, c, &x, p, run, err);
    c->seconds = smx_now() - t0;
    return rc;
}

/* Mappings and images given that no model used: warnings (a typo must not pass silently). */
static void note_unused(gate_report *r, const plan_run *run)
{
    const gate_plan_check_opts *o = run->o;
    for (size_t i = 0; i < o->n_artifacts; i++)
        if (!run->artifact_used[i])
            gate_report_note(r, ARTIFACT_WARNING, "plan-artifact-unused",
                             "check the S3 URI against the models' model_data_url (or s3_uri), "
                             "and the uploads' bucket and key",
                             "--artifact %s matches no model data location of this plan: it "
                             "was not used",
                             o->artifacts[i]);
    for (size_t i = 0; i < o->n_images; i++)
        if (!run->image_used[i])
            gate_report_note(r, ARTIFACT_WARNING, "plan-image-unused",
                             "give the image URI exactly as the plan has it",
                             "--image %s matches no model's image in this plan: it was not used",
                             o->images[i]);
}

int gate_plan_check(gate_report *r, const gate_plan *p, const gate_plan_check_opts *o, smx_err *err)
{
    plan_run run = {o, calloc(o->n_artifacts + 1, 1), calloc(o->n_images + 1, 1)};
    int rc =
        run.artifact_used && run.image_used ? SMX_OK : smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!rc && !p->n_containers)
        gate_report_note(r, ARTIFACT_INFO, "plan-nothing", NULL,
                         "the plan creates or changes no aws_sagemaker_model container: nothing "
                         "to check");
    for (size_t i = 0; i < p->n_containers && !rc; i++)
        rc = check_container(r, p, &p->containers[i], &run, err);
    if (!rc)
        note_unused(r, &run);
    free(run.artifact_used);
    free(run.image_used);
    return rc ? rc : gate_report_status(r, err);
}
