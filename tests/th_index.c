#include "th_index.h"

#include "base/base.h"
#include "helpers.h"

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- wheels ------------------------------------------------------------------------------ */

const char *th_system_lib(void)
{
    static char real[PATH_MAX];
    if (!real[0])
        cr_assert_not_null(realpath("/usr/lib/x86_64-linux-gnu/libxgboost.so", real),
                           "Debian's libxgboost-dev is installed");
    return real;
}

/* Replace every `from` in b (n bytes) by `to`, of the same length; how many. */
static int patch_all(char *b, size_t n, const char *from, const char *to)
{
    size_t fl = strlen(from);
    int count = 0;
    cr_assert_eq(strlen(to), fl);
    for (size_t i = 0; i + fl <= n; i++)
        if (!memcmp(b + i, from, fl)) {
            memcpy(b + i, to, fl);
            count++;
        }
    return count;
}

const char *th_shim_lib(const char *dir, const char *version, const char *needed)
{
    size_t n = 0;
    char *b = th_read(SMXGB_SHIM_XGBOOST, &n);
    static const char key[] = "SMXGB-SHIM-VERSION=";
    char *at = memmem(b, n, key, sizeof key - 1);
    cr_assert_not_null(at, "the shim carries its version");
    char *v = at + sizeof key - 1;
    size_t room = 32 - (sizeof key - 1);
    cr_assert_lt(strlen(version), room);
    memset(v, 0, room);
    memcpy(v, version, strlen(version));
    if (needed)
        cr_assert_gt(patch_all(b, n, "libxgboost.so.0", needed), 0);
    char name[128];
    snprintf(name, sizeof name, "libshim-%s%s%s.so", version, needed ? "-" : "",
             needed ? needed : "");
    const char *path = th_path(dir, name);
    cr_assert_eq(th_write(path, b, n), 0);
    free(b);
    return path;
}

static void zip_add(struct archive *a, const char *name, const void *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
    if (len)
        cr_assert_eq(archive_write_data(a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

char *th_wheel_write(const char *path, const char *version, const char *lib, size_t *len)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_zip(a);
    cr_assert_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
    char meta[256], name[128];
    snprintf(meta, sizeof meta, "Metadata-Version: 2.1\nName: xgboost\nVersion: %s\n", version);
    snprintf(name, sizeof name, "xgboost-%s.dist-info/METADATA", version);
    zip_add(a, "xgboost/__init__.py", "", 0);
    if (lib) {
        size_t n = 0;
        char *bytes = th_read(lib, &n);
        zip_add(a, "xgboost/lib/libxgboost.so", bytes, n);
        free(bytes);
        const char bundled[] = "a library bundled by auditwheel\n";
        zip_add(a, "xgboost.libs/libgomp-a34b3233.so.1.0.0", bundled, sizeof bundled - 1);
    }
    zip_add(a, name, meta, strlen(meta));
    archive_write_close(a);
    archive_write_free(a);
    return th_read(path, len);
}

/* ---- the index --------------------------------------------------------------------------- */

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char d[32];
    unsigned dl = 0;
    EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
    smx_sha256_hex(d, out);
}

th_index_file *th_index_add_bytes(th_index *ix, const char *name, const void *data, size_t len)
{
    pthread_mutex_lock(&ix->lock);
    cr_assert_lt(ix->n, sizeof ix->files / sizeof *ix->files);
    th_index_file *f = &ix->files[ix->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->data = malloc(len ? len : 1);
    memcpy(f->data, data, len);
    f->len = len;
    sha256_hex(data, len, f->sha256);
    pthread_mutex_unlock(&ix->lock);
    return f;
}

th_index_file *th_index_add_wheel(th_index *ix, const char *dir, const char *version,
                                  const char *platform, const char *lib)
{
    char name[256];
    snprintf(name, sizeof name, "xgboost-%s-py3-none-%s.whl", version, platform);
    size_t n = 0;
    char *bytes = th_wheel_write(th_path(dir, name), version, lib, &n);
    th_index_file *f = th_index_add_bytes(ix, name, bytes, n);
    free(bytes);
    return f;
}

int th_index_downloads(th_index *ix, const th_index_file *f)
{
    pthread_mutex_lock(&ix->lock);
    int n = f->downloads;
    pthread_mutex_unlock(&ix->lock);
    return n;
}

/* the page of this request (kept in ix->bodies until the index stops); the headers of a file's
 * answer (each connection has its thread, which sends them after the handler) */
static _Thread_local smx_buf page;
static _Thread_local char headers[256];

static void simple_page(th_index *ix, int json)
{
    smx_buf_reset(&page);
    if (json)
        smx_buf_puts(&page, "{\"meta\": {\"api-version\": \"1.1\"}, \"name\": \"xgboost\", "
                            "\"files\": [");
    else
        smx_buf_puts(&page, "<!DOCTYPE html>\n<html><body><h1>Links for xgboost</h1>\n");
    for (size_t i = 0; i < ix->n; i++) {
        const th_index_file *f = &ix->files[i];
        if (json)
            smx_buf_printf(&page,
                           "%s{\"filename\": \"%s\", \"url\": \"../../files/%s\", \"hashes\": "
                           "{\"sha256\": \"%s\"}, \"yanked\": %s}",
                           i ? ", " : "", f->name, f->name, f->sha256,
                           f->yanked ? "\"broken\"" : "false");
        else
            smx_buf_printf(&page, "<a href=\"../../files/%s#sha256=%s\"%s>%s</a><br/>\n", f->name,
                           f->sha256, f->yanked ? " data-yanked=\"\"" : "", f->name);
    }
    smx_buf_puts(&page, json ? "]}" : "</body></html>\n");
}

/* The JSON API's answer for version; 0 when no file has it. */
static int json_api_page(th_index *ix, const char *version, const char *host)
{
    smx_buf_reset(&page);
    smx_buf_printf(&page, "{\"info\": {\"name\": \"xgboost\", \"version\": \"%s\"}, \"urls\": [",
                   version);
    int n = 0;
    char dash[80], dot[80];
    snprintf(dash, sizeof dash, "-%s-", version);
    snprintf(dot, sizeof dot, "-%s.", version);
    for (size_t i = 0; i < ix->n; i++) {
        const th_index_file *f = &ix->files[i];
        if (!strstr(f->name, dash) && !strstr(f->name, dot))
            continue;
        smx_buf_printf(&page,
                       "%s{\"filename\": \"%s\", \"url\": \"http://%s/files/%s\", \"digests\": "
                       "{\"sha256\": \"%s\", \"md5\": \"\"}, \"packagetype\": \"%s\", "
                       "\"yanked\": %s}",
                       n++ ? ", " : "", f->name, host, f->name, f->sha256,
                       strstr(f->name, ".whl") ? "bdist_wheel" : "sdist",
                       f->yanked ? "true" : "false");
    }
    smx_buf_puts(&page, "]}");
    return n;
}

static void serve_file(th_index_file *f, const th_request *rq, th_response *rs)
{
    f->downloads++;
    rs->status = 200;
    rs->body = f->data;
    rs->body_len = f->len;
    rs->bytes_per_s = f->bytes_per_s;
    rs->content_type = "application/octet-stream";
    char *range = th_header(rq, "Range");
    unsigned long long from = 0;
    if (f->ranges && range && sscanf(range, "bytes=%llu-", &from) == 1 && from < f->len) {
        rs->status = 206;
        rs->body = f->data + from;
        rs->body_len = f->len - from;
        snprintf(headers, sizeof headers,
                 "Accept-Ranges: bytes\r\nContent-Range: bytes %llu-%zu/%zu\r\n", from, f->len - 1,
                 f->len);
        rs->extra_headers = headers;
    } else if (f->ranges) {
        rs->extra_headers = "Accept-Ranges: bytes\r\n";
    }
    if (f->downloads <= f->cut) { /* stop halfway: the client sees a short body */
        rs->announce = (long long)rs->body_len;
        rs->body_len /= 2;
    }
    free(range);
}

static void handle(const th_request *rq, th_response *rs, void *ctx)
{
    th_index *ix = ctx;
    const char *path = rq->path;
    char *host = th_header(rq, "Host");
    pthread_mutex_lock(&ix->lock);
    if (!strncmp(path, "http://", 7)) { /* proxy form */
        ix->proxied++;
        path = strchr(path + 7, '/') ? strchr(path + 7, '/') : "/";
    }
    rs->status = 404;
    rs->body = "not found";
    rs->body_len = 9;
    if (!strncmp(path, "/files/", 7)) {
        for (size_t i = 0; i < ix->n; i++)
            if (!strcmp(path + 7, ix->files[i].name))
                serve_file(&ix->files[i], rq, rs);
        pthread_mutex_unlock(&ix->lock);
        free(host);
        return;
    }
    ix->pages++;
    char *accept = th_header(rq, "Accept");
    snprintf(ix->accept, sizeof ix->accept, "%s", accept ? accept : "");
    int json = accept && strstr(accept, "application/vnd.pypi.simple.v1+json") && !ix->html_only;
    char version[64];
    if (!strcmp(path, "/simple/xgboost/")) {
        simple_page(ix, json);
        rs->status = 200;
        rs->content_type = json ? "application/vnd.pypi.simple.v1+json" : "text/html";
    } else if (sscanf(path, "/pypi/xgboost/%63[^/]/json", version) == 1 &&
               json_api_page(ix, version, host ? host : "127.0.0.1")) {
        rs->status = 200;
        rs->content_type = "application/json";
    }
    if (rs->status == 200 && ix->n_bodies < sizeof ix->bodies / sizeof *ix->bodies) {
        rs->body = ix->bodies[ix->n_bodies++] = page.data;
        rs->body_len = page.len;
        page = (smx_buf)SMX_BUF_INIT;
    }
    smx_buf_free(&page);
    if (ix->status) {
        rs->status = ix->status;
        rs->body = "index trouble";
        rs->body_len = 13;
    }
    rs->delay = ix->delay;
    pthread_mutex_unlock(&ix->lock);
    free(accept);
    free(host);
}

th_index *th_index_start(void)
{
    th_index *ix = calloc(1, sizeof *ix);
    pthread_mutex_init(&ix->lock, NULL);
    ix->srv = th_server_start(handle, ix);
    return ix;
}

void th_index_stop(th_index *ix)
{
    if (!ix)
        return;
    th_server_stop(ix->srv);
    for (size_t i = 0; i < ix->n; i++)
        free(ix->files[i].data);
    for (size_t i = 0; i < ix->n_bodies; i++)
        free(ix->bodies[i]);
    pthread_mutex_destroy(&ix->lock);
    free(ix);
}

const char *th_index_url(th_index *ix, const char *api)
{
    static char bufs[4][128];
    static int k;
    char *b = bufs[k++ & 3];
    snprintf(b, sizeof bufs[0], "%s/%s", th_server_url(ix->srv), api);
    return b;
}
