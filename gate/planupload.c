/*
 * The plan's own uploads as a model's data. The common Terraform shape uploads the model in the
 * same apply that creates the model:
 *
 *   resource "aws_s3_object" "model" { bucket = ..., key = ..., source = "build/model.tar.gz",
 *                                      etag = filemd5("build/model.tar.gz") }
 *   resource "aws_sagemaker_model" "m" { primary_container { model_data_url = "s3://..." } }
 *
 * so what the endpoint loads is the file the plan uploads, not the object in S3 now. Matching
 * a model's data location to the uploads of the plan:
 *
 *   known location   an upload whose bucket and key are known (its bucket possibly through the
 *                    aws_s3_bucket it refers to) and equal; one whose bucket or key is known only
 *                    after apply but whose known part agrees may write there (unknown); one the
 *                    plan does not change leaves S3 as it is; for an S3 prefix, every upload
 *                    under it changes what the prefix holds (unknown);
 *   unknown location the configuration says what it is built from: an upload it interpolates
 *                    ("s3://${aws_s3_object.m.bucket}/${aws_s3_object.m.key}"), else every
 *                    upload to the aws_s3_bucket it names (the key's literal text is not in
 *                    plan JSON, so each such upload could be the model: all are checked).
 *
 * An upload's bytes become a local file: its source path (relative paths are relative to the
 * directory Terraform ran in: the caller's root), checked against the plan's etag when that is
 * an MD5; or content / content_base64, written to scratch. A source that does not exist yet (a
 * build step that runs during apply) is an error that says how to build it first.
 */
#include "gate_private.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- matching -------------------------------------------------------------------------------- */

/* "s3://B/K" into bucket and key (pointers into buf); 0, or -1 when it is not one. */
static int split_uri(const char *uri, char *buf, size_t n, const char **bucket, const char **key)
{
    if (!uri || strncmp(uri, "s3://", 5) || snprintf(buf, n, "%s", uri + 5) >= (int)n)
        return -1;
    char *slash = strchr(buf, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    *bucket = buf;
    *key = slash + 1;
    return 0;
}

static int has_ref(const gate_plan_container *k, const char *ref)
{
    for (size_t i = 0; ref && i < k->n_data_refs; i++)
        if (!strcmp(k->data_refs[i], ref))
            return 1;
    return 0;
}

static int add(gate__upload **v, size_t *n, const gate_plan_object *o, gate__upload_kind kind,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int add(gate__upload **v, size_t *n, const gate_plan_object *o, gate__upload_kind kind,
               const char *fmt, ...)
{
    gate__upload *u = smx_push((void **)v, n, sizeof *u);
    if (!u)
        return -1;
    u->o = o;
    u->kind = o && strcmp(o->actions, "no-op") ? kind : GATE__UPLOAD_UNCHANGED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->how, sizeof u->how, fmt, ap);
    va_end(ap);
    if (o->bucket.s && o->key.s)
        snprintf(u->uri, sizeof u->uri, "s3://%s/%s", o->bucket.s, o->key.s);
    return 0;
}

/* What an unknown part of an upload's destination is called in a message. */
static const char *unknown_part(const gate_plan_object *o)
{
    return !o->bucket.s && !o->key.s ? "bucket and key" : !o->bucket.s ? "bucket" : "key";
}

/* A known location: uploads to it (or under it, for a prefix). */
static int match_known(const gate_plan *p, const char *uri, int prefix, gate__upload **v, size_t *n)
{
    char buf[2048];
    const char *b, *key;
    if (split_uri(uri, buf, sizeof buf, &b, &key))
        return 0;
    size_t kl = strlen(key);
    int rc = 0;
    for (size_t i = 0; i < p->n_objects && !rc; i++) {
        const gate_plan_object *o = &p->objects[i];
        const char *ob = o->bucket.s, *ok = o->key.s;
        int bucket_eq = ob && !strcmp(ob, b);
        int key_eq = ok && (prefix ? !strncmp(ok, key, kl) : !strcmp(ok, key));
        char via[600] = "";
        if (o->bucket_via_ref)
            snprintf(via, sizeof via, " (its bucket is %s's)", o->bucket_ref);
        if (bucket_eq && key_eq)
            rc = add(v, n, o, prefix ? GATE__UPLOAD_UNDER : GATE__UPLOAD_MATCH,
                     prefix ? "writes %s under the prefix%s" : "matched by bucket and key%s",
                     prefix ? ok : via, prefix ? via : "");
        else if ((ob || ok) && (!ob || bucket_eq) && (!ok || key_eq) && strcmp(o->actions, "no-op"))
            rc = add(v, n, o, GATE__UPLOAD_MAYBE, "its %s is known only after apply",
                     unknown_part(o));
    }
    return rc;
}

/* A location known only after apply: through the configuration's references. */
static int match_refs(const gate_plan *p, const gate_plan_container *k, const char *field,
                      gate__upload **v, size_t *n)
{
    int rc = 0;
    for (size_t i = 0; i < p->n_objects && !rc; i++) {
        const gate_plan_object *o = &p->objects[i];
        char *a = gate__strip_indexes(o->address);
        if (!a)
            return -1;
        if (has_ref(k, a))
            rc = add(v, n, o, GATE__UPLOAD_MATCH, "%s is built from %s in the configuration", field,
                     a);
        free(a);
    }
    int interpolated = *n > 0; /* only when no upload is interpolated: the bucket's uploads */
    for (size_t i = 0; i < p->n_objects && !rc && !interpolated; i++) {
        const gate_plan_object *o = &p->objects[i];
        if (has_ref(k, o->bucket_ref))
            rc = add(v, n, o, GATE__UPLOAD_MATCH,
                     "%s and this upload both name bucket %s in the configuration (the key in "
                     "the %s is not in the plan JSON)",
                     field, o->bucket_ref, field);
    }
    return rc;
}

int gate__uploads(const gate_plan *p, const gate_plan_container *k, const char *uri, int prefix,
                  gate__upload **v, size_t *n, smx_err *err)
{
    *v = NULL;
    *n = 0;
    const char *field =
        k->model_data_url.s || k->model_data_url.unknown ? "model_data_url" : "s3_uri";
    int rc = uri ? match_known(p, uri, prefix, v, n) : match_refs(p, k, field, v, n);
    if (rc) {
        free(*v);
        *v = NULL;
        *n = 0;
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    return SMX_OK;
}

/* ---- the bytes of an upload ------------------------------------------------------------------ */

/* The MD5 of a file as hex; 0, or -1 when it cannot be read. */
static int file_md5(const char *path, char hex[33])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    EVP_MD_CTX *md = fd >= 0 ? EVP_MD_CTX_new() : NULL;
    int rc = md && EVP_DigestInit_ex(md, EVP_md5(), NULL) ? 0 : -1;
    char buf[65536];
    ssize_t got;
    while (!rc && (got = read(fd, buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || !EVP_DigestUpdate(md, buf, (size_t)got))
            rc = -1;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (!rc && (!EVP_DigestFinal_ex(md, d, &dl) || dl != 16))
        rc = -1;
    for (unsigned i = 0; !rc && i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    EVP_MD_CTX_free(md);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* "; it runs `CMD` (local-exec) during apply: run that first" for a module's build steps. */
static void build_hint(char *out, size_t n, const gate_plan_object *o)
{
    size_t len = (size_t)snprintf(out, n, "build the artifact before `smxgb plan`");
    for (size_t i = 0; i < o->n_build_cmds && len < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%s`%s`",
                                i ? ", then " : " (the configuration runs ", o->build_cmds[i]);
    if (o->n_build_cmds && len < n)
        len += (size_t)snprintf(out + len, n - len,
                                " in a local-exec provisioner only during apply: run it before "
                                "terraform plan)");
    if (len < n)
        snprintf(out + len, n - len, ", or map the model data to a file: --artifact S3URI=FILE");
}

/* A source path: the file it names, that it exists, and the plan's etag as its MD5. */
static int source_file(gate_case *c, const gate__upload *u, const char *root, const char *root_from,
                       char **local)
{
    const gate_plan_object *o = u->o;
    const char *src = o->source.s;
    char *path = NULL;
    if (asprintf(&path, "%s%s%s", src[0] == '/' || !root ? "" : root,
                 src[0] == '/' || !root ? "" : "/", src) < 0)
        return -1;
    const char *base = src[0] == '/' ? "an absolute path"
                       : root_from   ? root_from
                                     : "the current directory";
    struct stat st;
    int missing = stat(path, &st), e = errno;
    if (missing || !S_ISREG(st.st_mode)) {
        char hint[1024];
        build_hint(hint, sizeof hint, o);
        gate_case_note(c, ARTIFACT_ERROR, "plan-upload-missing", hint,
                       "%s (%s) uploads %s, which %s: %s (relative sources are taken from %s%s%s; "
                       "give --root DIR when terraform ran elsewhere)",
                       o->address, o->actions, src,
                       !missing      ? "is not a regular file"
                       : e == ENOENT ? "does not exist yet"
                                     : strerror(e),
                       path, base, root && src[0] != '/' ? ", " : "",
                       root && src[0] != '/' ? root : "");
        c->io_error = 1;
        free(path);
        return -2;
    }
    gate_case_note(c, ARTIFACT_INFO, "plan-upload", NULL,
                   "the plan uploads this model's data, %s: %s (%s) puts %s at %s; checked: %s "
                   "(relative sources are taken from %s%s%s), not the object in S3 now",
                   u->how, o->address, o->actions, src, u->uri[0] ? u->uri : "its bucket and key",
                   path, base, root ? ", " : "", root ? root : "");
    char hex[33];
    const char *etag = o->etag.s;
    if (etag && strlen(etag) == 32 && strspn(etag, "0123456789abcdefABCDEF") == 32 &&
        !file_md5(path, hex) && strcasecmp(hex, etag))
        gate_case_note(c, ARTIFACT_ERROR, "plan-upload-changed",
                       "run terraform plan again with the file you mean to deploy",
                       "%s is not the file terraform planned to upload: its MD5 is %s, the "
                       "plan's etag is %s (it changed after terraform plan)",
                       path, hex, etag);
    *local = path;
    return 0;
}

/* content or content_base64, decoded into out; 0, or -1 (bad base64, with a note). */
static int plan_bytes(gate_case *c, const gate_plan_object *o, smx_buf *out)
{
    if (o->content.s)
        return smx_buf_append(out, o->content.s, strlen(o->content.s)) ? -1 : 0;
    const char *b64 = o->content_base64.s;
    size_t n = strlen(b64);
    if (smx_buf_reserve(out, n / 4 * 3 + 3))
        return -1;
    int got = n % 4
                  ? -1
                  : EVP_DecodeBlock((unsigned char *)out->data, (const unsigned char *)b64, (int)n);
    if (got < 0) {
        gate_case_note(c, ARTIFACT_ERROR, "plan-upload-base64", NULL,
                       "%s: content_base64 is not valid base64; S3 would not get a model",
                       o->address);
        return -2;
    }
    /* EVP_DecodeBlock counts the padding as bytes */
    size_t len = (size_t)got;
    for (size_t i = n; i > 0 && b64[i - 1] == '=' && len; i--)
        len--;
    out->len = len;
    out->data[len] = '\0';
    return 0;
}

/* content / content_base64 written to a scratch directory (*scratch) under the key's name. */
static int bytes_file(gate_case *c, const gate__upload *u, char **local, char **scratch)
{
    const gate_plan_object *o = u->o;
    const char *field = o->content.s ? "content" : "content_base64";
    smx_buf b = SMX_BUF_INIT;
    int rc = plan_bytes(c, o, &b);
    smx_err e = {0};
    const char *slash = o->key.s ? strrchr(o->key.s, '/') : NULL;
    const char *name = slash && slash[1] ? slash + 1 : o->key.s && *o->key.s ? o->key.s : "upload";
    if (!rc && smx_scratch_dir("smxgb-upload-", scratch, &e) == SMX_OK) {
        if (asprintf(local, "%s/%s", *scratch, name) < 0) {
            *local = NULL;
            rc = -1;
        }
        FILE *f = *local ? fopen(*local, "wb") : NULL;
        int werr = !f || (b.len && fwrite(b.data, 1, b.len, f) != b.len);
        if (f && fclose(f))
            werr = 1;
        if (*local && werr) {
            gate_case_note(c, ARTIFACT_ERROR, "artifact-unreadable",
                           "set TMPDIR to a writable directory", "cannot write %s's %s to %s: %s",
                           o->address, field, *local, strerror(errno));
            c->io_error = 1;
            rc = -2;
        }
    } else if (!rc) {
        gate_case_note(c, ARTIFACT_ERROR, "artifact-unreadable", e.fix[0] ? e.fix : NULL, "%s",
                       e.msg);
        c->io_error = 1;
        rc = -2;
    }
    if (!rc)
        gate_case_note(c, ARTIFACT_INFO, "plan-upload", NULL,
                       "the plan uploads this model's data, %s: %s (%s) puts its %s (%zu bytes, "
                       "in the plan) at %s; checked: those bytes, written to %s, not the object in "
                       "S3 now",
                       u->how, o->address, o->actions, field, b.len,
                       u->uri[0] ? u->uri : "its bucket and key", *local);
    smx_buf_free(&b);
    return rc;
}

int gate__upload_file(gate_case *c, const gate__upload *u, const char *root, const char *root_from,
                      char **local, char **scratch)
{
    const gate_plan_object *o = u->o;
    *local = *scratch = NULL;
    if (o->source.s)
        return source_file(c, u, root, root_from, local);
    if (o->content.s || o->content_base64.s)
        return bytes_file(c, u, local, scratch);
    if (o->source.unknown || o->content.unknown || o->content_base64.unknown) {
        gate_case_unknown(c, "plan-upload-unknown",
                          "make the upload's source a path known at plan time, or map the model "
                          "data to the file: --artifact S3URI=FILE",
                          "the plan uploads this model's data, %s: %s (%s), but what it uploads "
                          "(%s) is known only after apply; the artifact cannot be checked",
                          u->how, o->address, o->actions,
                          o->source.unknown    ? "source"
                          : o->content.unknown ? "content"
                                               : "content_base64");
        return -2;
    }
    gate_case_note(c, ARTIFACT_ERROR, "plan-upload-empty",
                   "give the upload a source (the model.tar.gz) or content_base64",
                   "%s (%s) writes this model's data with no source, content or content_base64: "
                   "an empty object, which SageMaker cannot extract",
                   o->address, o->actions);
    return -2;
}
