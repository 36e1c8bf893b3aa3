/*
 * The plan check (`smxgb plan`): the step between `terraform plan` and `terraform apply`. For
 * every SageMaker model container a parsed plan creates or changes, one case that says, in
 * this order:
 *
 *   the plan   what the plan itself gets wrong: the image (the container version it names, or
 *              why it is not checked), the mode, the environment (SageMaker's name and length
 *              limits, script mode, ensemble), the endpoint configurations that use the model
 *              (startup and download timeouts, serverless memory), and the model data location;
 *   the model  the artifact, from an S3URI=LOCAL mapping or downloaded (an uncompressed source
 *              is packaged as the model directory SageMaker would build from it), verified and
 *              served as check.c does, against the container version of the image, with the
 *              endpoint's startup window and payload limit.
 *
 * Values known only after apply are reported as such: a case that cannot be checked until then
 * is skipped, never passed silently.
 */
#include "gate_private.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What one container is checked with, gathered from the plan before its artifact is. */
typedef struct container_check {
    const gate_plan_container *k;
    char name[1024];     /* the case name: "ADDRESS BLOCK[i]" */
    compat_image im;     /* the image, when it could be parsed */
    int have_image;      /* im is valid */
    const char *version; /* the container version the image names, or NULL */
    const char *source;  /* the model data URI, or NULL */
    int uncompressed;    /* CompressionType None */
    int prefix;          /* S3Prefix */
    long memory_mb;      /* the smallest serverless memory of the endpoints using it, or -1 */
    gate_check_opts co;  /* the check options for this container */
} container_check;

/* ---- the image, mode and environment -------------------------------------------------------- */

/* The image: the container version it names, or why it is not checked (skipped). */
static void note_image(gate_case *c, const container_check *x)
{
    const gate_plan_container *k = x->k;
    const compat_image *im = &x->im;
    if (!k->image.s) {
        gate_case_note(c, k->image.unknown ? ARTIFACT_WARNING : ARTIFACT_ERROR, "plan-image",
                       k->image.unknown ? "pin the image URI in the configuration, or check "
                                          "again after it is known"
                                        : NULL,
                       k->image.unknown ? "the image is known only after apply; the container "
                                          "version cannot be checked"
                                        : "the container has no image");
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
    if (k->env_unknown)
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

/* None or unknown until apply: an error, or a warning that skips the case. */
static void note_no_model_data(gate_case *c, const gate_plan_container *k)
{
    if (c->skipped)
        return;
    int unknown = k->model_data_url.unknown || k->s3_uri.unknown;
    gate_case_note(c, unknown ? ARTIFACT_WARNING : ARTIFACT_ERROR, "plan-model-data",
                   unknown ? "map it: --artifact S3URI=LOCAL once the URI is known, or make the "
                             "key a literal in the configuration"
                           : "set model_data_url (or model_data_source) to the S3 URI of the "
                             "model.tar.gz",
                   unknown ? "the model data location is known only after apply; the artifact "
                             "cannot be checked"
                           : "the container has no model data; the XGBoost container has "
                             "nothing to load and /ping fails");
    c->skipped = unknown;
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

/* The LOCAL of an S3URI=LOCAL mapping for uri (the last one given), or NULL. */
static const char *mapping_for(const gate_plan_check_opts *o, const char *uri)
{
    size_t ul = strlen(uri);
    const char *found = NULL;
    for (size_t i = 0; i < o->n_artifacts; i++) {
        const char *m = o->artifacts[i];
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

/*
 * The artifact as a local path: mapped, a downloaded prefix (*tmp 2: a directory tree), or a
 * downloaded object (*tmp 1). -1 when it cannot be had (the case says why, as an io_error).
 */
static int local_artifact(gate_case *c, const container_check *x, const gate_plan_check_opts *o,
                          char **local, int *tmp)
{
    const char *mapped = mapping_for(o, x->source);
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
        if (gate_fetch_prefix(x->source, &fo, local, &nobj, &err)) {
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
        return 0;
    }
    if (gate__fetch_source(x->source, &o->check, local, tmp, &err)) {
        gate_case_note(c, ARTIFACT_ERROR, "artifact-unreadable",
                       "check the source, or map it to a local file: --artifact S3URI=LOCAL", "%s",
                       err.msg);
        c->io_error = 1;
        return -1;
    }
    return 0;
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

/* CompressionType None: the source as the archive of the model directory it becomes (NULL
 * when it cannot be packaged: the case says why). *packaged is the temporary archive. */
static const char *as_archive(gate_case *c, const container_check *x, const char *local,
                              char **packaged)
{
    *packaged = NULL;
    if (!x->uncompressed)
        return local;
    const char *slash = strrchr(x->source, '/');
    const char *key_name = slash && slash[1] ? slash + 1 : "xgboost-model";
    smx_err err = {0};
    if (package_uncompressed(local, key_name, packaged, &err)) {
        gate_case_note(c, ARTIFACT_ERROR, "artifact-uncompressed", NULL, "CompressionType None: %s",
                       err.msg);
        return NULL;
    }
    gate_case_note(c, ARTIFACT_INFO, "artifact-uncompressed", NULL,
                   "CompressionType None: %s becomes %s in /opt/ml/model", x->source,
                   x->prefix ? "the prefix's files" : key_name);
    return *packaged;
}

/* Verify and serve the archive at path for the container version, as check does; a serverless
 * endpoint's memory is compared with the model's uncompressed size. */
static int verify_and_serve(gate_report *r, gate_case *c, const container_check *x,
                            const char *path, smx_err *err)
{
    compat_report *vr = NULL;
    const char *tags[1] = {x->version};
    int rc =
        gate__verify(r, c, x->name, x->source, path, tags, x->version ? 1 : 0, &x->co, &vr, err);
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

/* The artifact: had locally, made an archive if uncompressed, verified and served. */
static int check_artifact(gate_report *r, gate_case *c, const container_check *x,
                          const gate_plan_check_opts *o, smx_err *err)
{
    char *local = NULL;
    int tmp = 0;
    if (local_artifact(c, x, o, &local, &tmp))
        return c->io_error ? SMX_OK : smx_fail(err, SMX_ENOMEM, "out of memory");
    char *packaged = NULL;
    const char *path = as_archive(c, x, local, &packaged);
    int rc = SMX_OK;
    if (path)
        rc = verify_and_serve(r, c, x, path, err);
    if (packaged) {
        unlink(packaged);
        free(packaged);
    }
    if (tmp == 2)
        artifact_remove_tree(local, NULL);
    else if (tmp)
        unlink(local);
    free(local);
    return rc;
}

/* ---- one container -------------------------------------------------------------------------- */

static void prepare(container_check *x, const gate_plan_container *k, const gate_check_opts *base)
{
    memset(x, 0, sizeof *x);
    x->k = k;
    snprintf(x->name, sizeof x->name, "%s %s[%d]", k->model_address, k->block, k->index);
    if (k->image.s) {
        smx_err e = {0};
        x->have_image = compat_image_parse(k->image.s, &x->im, &e) == SMX_OK;
    }
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

/* 1 when the artifact is to be checked: there is one, and nothing so far rules it out. */
static int artifact_wanted(gate_case *c, const container_check *x)
{
    const gate_plan_container *k = x->k;
    if (!x->source) {
        note_no_model_data(c, k);
        return 0;
    }
    if (k->model_data_url.s)
        note_model_data_url(c, x->source);
    if (x->uncompressed && x->prefix && x->source[strlen(x->source) - 1] != '/')
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
                           const gate_plan_check_opts *o, smx_err *err)
{
    double t0 = smx_now();
    container_check x;
    prepare(&x, k, &o->check);
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
    apply_endpoints(c, p, &x, &o->check);
    int rc = SMX_OK;
    if (artifact_wanted(c, &x))
        rc = check_artifact(r, c, &x, o, err);
    c->seconds = smx_now() - t0;
    return rc;
}

int gate_plan_check(gate_report *r, const gate_plan *p, const gate_plan_check_opts *o, smx_err *err)
{
    for (size_t i = 0; i < p->n_containers; i++) {
        int rc = check_container(r, p, &p->containers[i], o, err);
        if (rc)
            return rc;
    }
    return gate_report_status(r, err);
}
