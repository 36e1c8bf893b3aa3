/*
 * S3 prefixes (model_data_source with CompressionType None and S3DataType S3Prefix): every
 * object under the prefix, listed with ListObjectsV2 (signed like a GET, query string
 * included) page by page, downloaded into a private scratch directory at its key below the
 * prefix, as SageMaker lays them out in /opt/ml/model. Keys that would escape the directory
 * ('.', '..', absolute) are refused.
 */
#include "gate_private.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Percent-encode a query value (everything but unreserved characters). */
static void encode_query(smx_buf *b, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            smx_buf_append(b, p, 1);
        else
            smx_buf_printf(b, "%%%02X", *p);
    }
}

/* The text between <tag> and </tag> starting at *pos; advances *pos. malloc'd or NULL. */
static char *xml_next(const char *s, const char *tag, const char **pos)
{
    char open[64], close_[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_, sizeof close_, "</%s>", tag);
    const char *a = strstr(*pos, open);
    if (!a)
        return NULL;
    a += strlen(open);
    const char *e = strstr(a, close_);
    if (!e)
        return NULL;
    *pos = e + strlen(close_);
    (void)s;
    /* undo the five XML escapes S3 uses */
    char *out = malloc((size_t)(e - a) + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (const char *p = a; p < e;) {
        static const char *const ents[][2] = {
            {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
        int done = 0;
        for (size_t k = 0; k < 5 && !done; k++) {
            size_t l = strlen(ents[k][0]);
            if (!strncmp(p, ents[k][0], l)) {
                out[j++] = ents[k][1][0];
                p += l;
                done = 1;
            }
        }
        if (!done)
            out[j++] = *p++;
    }
    out[j] = '\0';
    return out;
}

/* mkdir -p for the directories of rel (already checked by safe_rel) under dir. */
static int make_parents(const char *dir, const char *rel, smx_err *err)
{
    char *copy = strdup(rel);
    if (!copy)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    for (char *slash = strchr(copy, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        char *d = NULL;
        int ok = asprintf(&d, "%s/%s", dir, copy) >= 0 && (mkdir(d, 0700) == 0 || errno == EEXIST);
        int e = errno;
        free(d);
        *slash = '/';
        if (!ok) {
            free(copy);
            return smx_fail(err, SMX_EIO, "cannot create a directory for '%s': %s", rel,
                            strerror(e));
        }
    }
    free(copy);
    return SMX_OK;
}

static int safe_rel(const char *rel, smx_err *err)
{
    if (!*rel || rel[0] == '/' || strstr(rel, "//"))
        return smx_fail(err, SMX_EUNSAFE, "object name '%s' is not a safe relative path", rel);
    for (const char *p = rel; *p;) {
        size_t cl = strcspn(p, "/");
        if ((cl == 2 && !strncmp(p, "..", 2)) || (cl == 1 && *p == '.'))
            return smx_fail(err, SMX_EUNSAFE, "object name '%s' has a '.' or '..' component", rel);
        p += cl;
        if (*p == '/')
            p++;
    }
    return SMX_OK;
}

void gate_s3_list_free(gate_s3_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    free(l->token);
    memset(l, 0, sizeof *l);
}

int gate_s3_list_parse(const char *buf, size_t len, const char *prefix, gate_s3_list *l,
                       smx_err *err)
{
    memset(l, 0, sizeof *l);
    char *text = malloc(len + 1);
    if (!text)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(text, buf, len);
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        return smx_fail(err, SMX_EFORMAT, "the S3 listing contains a NUL byte");
    }
    size_t pl = strlen(prefix);
    int rc = SMX_OK;
    const char *pos = text;
    char *key;
    while (!rc && (key = xml_next(text, "Key", &pos))) {
        size_t kl = strlen(key);
        if (strncmp(key, prefix, pl) || (kl && key[kl - 1] == '/')) {
            free(key); /* outside the prefix, or a "folder" marker */
            continue;
        }
        rc = safe_rel(key + pl, err);
        if (!rc && l->n >= 100000)
            rc = smx_fail(err, SMX_ELIMIT, "more than 100000 objects under the prefix");
        if (!rc) {
            char **v = realloc(l->keys, (l->n + 1) * sizeof *v);
            if (!v) {
                rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            } else {
                l->keys = v;
                l->keys[l->n++] = key;
                key = NULL;
            }
        }
        free(key);
    }
    const char *tp = text;
    char *trunc = xml_next(text, "IsTruncated", &tp);
    l->truncated = trunc && !strcmp(trunc, "true");
    free(trunc);
    if (l->truncated) {
        tp = text;
        l->token = xml_next(text, "NextContinuationToken", &tp);
    }
    free(text);
    if (rc)
        gate_s3_list_free(l);
    return rc;
}

/* Fetch one ListObjectsV2 page of prefix (after token, when not NULL) into l. */
static int list_page(const char *s3prefix, const char *base, const char *prefix, const char *token,
                     const gate_fetch_opts *opts, gate_s3_list *l, smx_err *err)
{
    memset(l, 0, sizeof *l);
    smx_buf q = SMX_BUF_INIT;
    smx_buf_puts(&q, base);
    smx_buf_puts(&q, "?");
    if (token) {
        smx_buf_puts(&q, "continuation-token=");
        encode_query(&q, token);
        smx_buf_puts(&q, "&");
    }
    smx_buf_puts(&q, "list-type=2&prefix=");
    encode_query(&q, prefix);
    char *lpath = NULL;
    int fd = gate__temp_file(opts, "smxgb-list", &lpath, err);
    if (fd < 0) {
        smx_buf_free(&q);
        return err->status;
    }
    gate_fetch_info li = {0};
    int rc = gate__fetch_fd(s3prefix, q.data, opts, 1, fd, lpath, &li, err);
    close(fd);
    smx_buf_free(&q);
    smx_buf body = SMX_BUF_INIT;
    if (!rc)
        rc = smx_buf_read_file(&body, lpath, (size_t)64 << 20, err);
    smx_scratch_remove(lpath);
    free(lpath);
    if (!rc)
        rc = gate_s3_list_parse(body.data ? body.data : "", body.len, prefix, l, err);
    smx_buf_free(&body);
    return rc;
}

/* Download every key of l into dir, at its path below prefix; *count grows by each one. */
static int fetch_listed(const char *dir, const char *s3prefix, const char *prefix,
                        const gate_s3_list *l, const gate_fetch_opts *opts, size_t *count,
                        smx_err *err)
{
    int rc = SMX_OK;
    for (size_t i = 0; !rc && i < l->n; i++) {
        const char *rel = l->keys[i] + strlen(prefix);
        rc = make_parents(dir, rel, err);
        char *dst = NULL, *obj = NULL, *objurl = NULL;
        if (!rc &&
            (asprintf(&dst, "%s/%s", dir, rel) < 0 || asprintf(&obj, "%s%s", s3prefix, rel) < 0))
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        if (!rc)
            rc = gate_s3_url(obj, opts, &objurl, err);
        if (!rc) {
            int ofd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
            if (ofd < 0) {
                rc = smx_fail(err, SMX_EIO, "%s: %s", dst, strerror(errno));
            } else {
                gate_fetch_info oi = {0};
                rc = gate__fetch_fd(obj, objurl, opts, 1, ofd, dst, &oi, err);
                if (close(ofd) && !rc)
                    rc = smx_fail(err, SMX_EIO, "%s: %s", dst, strerror(errno));
                (*count)++;
            }
        }
        free(dst);
        free(obj);
        free(objurl);
    }
    return rc;
}

/* Every page of the listing, and every object on it, into dir. */
static int fetch_pages(const char *dir, const char *s3prefix, const char *base, const char *prefix,
                       const gate_fetch_opts *opts, size_t *count, smx_err *err)
{
    char *token = NULL;
    int rc = SMX_OK;
    for (int page = 0; page < 1000 && !rc; page++) {
        gate_s3_list l;
        rc = list_page(s3prefix, base, prefix, token, opts, &l, err);
        if (!rc)
            rc = fetch_listed(dir, s3prefix, prefix, &l, opts, count, err);
        free(token);
        token = NULL;
        int more = !rc && l.truncated && l.token;
        if (more) {
            token = l.token;
            l.token = NULL;
        }
        gate_s3_list_free(&l);
        if (!more)
            break;
    }
    free(token);
    return rc;
}

int gate_fetch_prefix(const char *s3prefix, const gate_fetch_opts *opts, char **local_dir,
                      size_t *n_objects, smx_err *err)
{
    gate_fetch_opts dflt;
    if (!opts) {
        gate_fetch_opts_default(&dflt);
        opts = &dflt;
    }
    *local_dir = NULL;
    *n_objects = 0;
    size_t sl = strlen(s3prefix);
    if (strncmp(s3prefix, "s3://", 5) || !sl || s3prefix[sl - 1] != '/')
        return smx_fail(err, SMX_EINVAL, "'%s' is not an s3:// prefix ending in '/'", s3prefix);
    int rc = gate__curl_init(err);
    if (rc)
        return rc;
    const char *bslash = strchr(s3prefix + 5, '/');
    char *bucket_uri = strndup(s3prefix, (size_t)(bslash - s3prefix) + 1); /* s3://bucket/ */
    const char *prefix = bslash + 1;
    char *base = NULL;
    if (!bucket_uri)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    /* the bucket's URL: ".../bucket/" path style, "https://bucket.s3.REGION.../" otherwise */
    rc = gate_s3_url(bucket_uri, opts, &base, err);
    free(bucket_uri);
    if (rc)
        return rc;
    char dirt[4096];
    const char *tmpdir = opts->tmpdir ? opts->tmpdir : smx_tmpdir();
    snprintf(dirt, sizeof dirt, "%s/smxgb-prefix-XXXXXX", tmpdir);
    if (!mkdtemp(dirt)) {
        free(base);
        return smx_fail_at(err, SMX_EIO, tmpdir, "set TMPDIR to a writable directory",
                           "cannot create a temporary directory in %s: %s", tmpdir,
                           strerror(errno));
    }
    smx_scratch_add(dirt);
    size_t count = 0;
    rc = fetch_pages(dirt, s3prefix, base, prefix, opts, &count, err);
    free(base);
    if (!rc && !count)
        rc = smx_fail(err, SMX_EIO, "%s: no objects under this prefix", s3prefix);
    if (rc) {
        smx_scratch_remove(dirt);
        return rc;
    }
    *local_dir = strdup(dirt);
    *n_objects = count;
    return *local_dir ? SMX_OK : smx_fail(err, SMX_ENOMEM, "out of memory");
}
