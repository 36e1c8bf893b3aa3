/*
 * Compressed wrappers around a model file (formats.md 4.3): joblib.dump(compress=...) writes a
 * zlib stream (joblib < 0.10: behind a "ZF0x" + hex-length header), gzip.open writes gzip.
 * Both are opened with zlib under a size limit and what they hold is identified: a pickle
 * (then the file is a joblib pickle, which the container cannot read: its pickle.load sees
 * compressed bytes), a tar archive, or anything else (through the dispatcher again, one level
 * deeper). bz2, xz, lzma, lz4 and zstd are recognised by their magic and not opened.
 */
#include "model_private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Largest decompressed size we accept from a joblib/gzip wrapper: WRAP_RATIO times the
 * compressed size, at least WRAP_FLOOR, never more than WRAP_MAX (a few bytes of zlib must not
 * make us allocate gigabytes). */
#define WRAP_MAX   ((size_t)2 << 30)
#define WRAP_FLOOR ((size_t)64 << 20)
#define WRAP_RATIO 100

/* Inflate zlib (raw=0), or gzip (gzip=1), up to WRAP_MAX bytes. */
static int inflate_all(const unsigned char *b, size_t len, int gzip, unsigned char **out,
                       size_t *out_len, char *why, size_t why_n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK)
        return SMX_ENOMEM;
    size_t limit = len > WRAP_MAX / WRAP_RATIO ? WRAP_MAX : len * WRAP_RATIO;
    if (limit < WRAP_FLOOR)
        limit = WRAP_FLOOR;
    size_t cap = len < limit / 4 ? len * 4 + 4096 : limit, n = 0;
    unsigned char *o = malloc(cap);
    if (!o) {
        inflateEnd(&z);
        return SMX_ENOMEM;
    }
    z.next_in = (unsigned char *)b;
    int rc = Z_OK;
    size_t fed = 0;
    while (rc != Z_STREAM_END) {
        if (n == cap) {
            if (cap >= limit) {
                snprintf(why, why_n,
                         "decompresses to more than %zu bytes (the limit for %zu compressed "
                         "bytes); not read further",
                         limit, len);
                rc = Z_MEM_ERROR;
                break;
            }
            cap = cap * 2 > limit ? limit : cap * 2;
            unsigned char *no = realloc(o, cap);
            if (!no) {
                free(o);
                inflateEnd(&z);
                return SMX_ENOMEM;
            }
            o = no;
        }
        if (z.avail_in == 0 && fed < len) {
            size_t chunk = len - fed > (1u << 30) ? (1u << 30) : len - fed;
            z.next_in = (unsigned char *)b + fed;
            z.avail_in = (uInt)chunk;
            fed += chunk;
        }
        z.next_out = o + n;
        z.avail_out = (uInt)(cap - n > (1u << 30) ? (1u << 30) : cap - n);
        size_t before = z.avail_out;
        rc = inflate(&z, Z_NO_FLUSH);
        n += before - z.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && z.avail_in == 0 && fed >= len) {
            snprintf(why, why_n, "truncated: the compressed stream ends at byte offset %zu", len);
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            snprintf(why, why_n, "corrupt compressed data near byte offset %lu (%s)",
                     (unsigned long)z.total_in, z.msg ? z.msg : "inflate error");
            break;
        }
    }
    inflateEnd(&z);
    *out = o;
    *out_len = n;
    return rc == Z_STREAM_END ? SMX_OK : SMX_EFORMAT;
}

static int read_wrapped(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m,
                        int gzip, const char *comp)
{
    unsigned char *o = NULL;
    size_t n = 0;
    char why[256] = "";
    int rc = inflate_all(b, len, gzip, &o, &n, why, sizeof why);
    if (rc == SMX_ENOMEM)
        return rc;
    if (rc != SMX_OK) {
        /* still say what we can about the partial content */
        if (n >= 2 && mdl_pickle_sniff(o, n)) {
            m->format = COMPAT_FMT_JOBLIB;
            snprintf(m->joblib_compression, sizeof m->joblib_compression, "%s", comp);
        } else if (gzip) {
            mdl_foreign(m, "gzip-compressed data");
        } else {
            m->format = COMPAT_FMT_JOBLIB;
            snprintf(m->joblib_compression, sizeof m->joblib_compression, "%s", comp);
        }
        free(o);
        if (!m->detail[0])
            mdl_detail(m, "%s-compressed data, not completely read", comp);
        return mdl_corrupt(m, "%s-compressed data %s", comp, why);
    }
    if (gzip && n >= 262 && !memcmp(o + 257, "ustar", 5)) {
        mdl_foreign(m, "gzip-compressed tar archive (a model.tar.gz inside the artifact)");
        free(o);
        return SMX_OK;
    }
    if (mdl_pickle_sniff(o, n)) {
        rc = mdl_pickle_read(c, o, n, m);
        if (m->format == COMPAT_FMT_PICKLE) {
            m->format = COMPAT_FMT_JOBLIB;
            snprintf(m->joblib_compression, sizeof m->joblib_compression, "%s", comp);
            mdl_detail(m, "%s-compressed (joblib) %s", comp, m->detail);
        }
        mdl_pickle_classify(m);
        free(o);
        return rc == SMX_ENOMEM ? rc : SMX_OK;
    }
    if (gzip) {
        compat_model_info *in = mdl_info_new();
        if (!in) {
            free(o);
            return SMX_ENOMEM;
        }
        rc = c->inner(c, o, n, in);
        char what[128];
        snprintf(what, sizeof what, "gzip-compressed %s file", compat_format_name(in->format));
        mdl_foreign(m, what);
        compat_model_info_free(in);
        free(o);
        return rc == SMX_ENOMEM ? rc : SMX_OK;
    }
    mdl_foreign(m, "zlib-compressed data that is not a pickle");
    free(o);
    return SMX_OK;
}

/* ---- the entries ---------------------------------------------------------------------------- */

static int gzip_sniff(const unsigned char *b, size_t len)
{
    return len >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

static int gzip_read(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m)
{
    return read_wrapped(c, b, len, m, 1, "gzip");
}

static int zlib_sniff(const unsigned char *b, size_t len)
{
    return len >= 2 && b[0] == 0x78 &&
           (b[1] == 0x01 || b[1] == 0x5e || b[1] == 0x9c || b[1] == 0xda);
}

static int zlib_read(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m)
{
    return read_wrapped(c, b, len, m, 0, "zlib");
}

static int zf_sniff(const unsigned char *b, size_t len)
{
    return len >= 4 && !memcmp(b, "ZF0x", 4);
}

/* joblib < 0.10 zlib: "ZF0x" + hex length + padding, then the zlib stream */
static int zf_read(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m)
{
    size_t at = 4;
    while (at < len && at < 24 && isxdigit(b[at]))
        at++;
    while (at < len && at < 32 && b[at] == ' ')
        at++;
    return read_wrapped(c, b + at, len - at, m, 0, "zlib");
}

static const struct {
    const char *magic;
    size_t n;
    const char *comp, *what;
} others[] = {
    {"BZh", 3, "bz2", "bzip2-compressed data (joblib compress='bz2'?), not opened"},
    {"\xfd"
     "7zXZ\0",
     6, "xz", "xz-compressed data (joblib compress='xz'?), not opened"},
    {"\x5d\0\0", 3, "lzma", "lzma-compressed data (joblib compress='lzma'?), not opened"},
    {"\x04\x22\x4d\x18", 4, "lz4", "lz4-compressed data (joblib compress='lz4'?), not opened"},
    {"\x28\xb5\x2f\xfd", 4, "zstd", "zstd-compressed data, not opened"}};

static int other_index(const unsigned char *b, size_t len)
{
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (len >= others[i].n && !memcmp(b, others[i].magic, others[i].n))
            return (int)i;
    return -1;
}

static int other_sniff(const unsigned char *b, size_t len)
{
    return other_index(b, len) >= 0;
}

static int other_read(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m)
{
    (void)c;
    int i = other_index(b, len);
    mdl_foreign(m, others[i].what);
    snprintf(m->joblib_compression, sizeof m->joblib_compression, "%s", others[i].comp);
    return SMX_OK;
}

const mdl_format mdl_wrapped_gzip = {.name = "gzip", .sniff = gzip_sniff, .read = gzip_read};
const mdl_format mdl_wrapped_zlib = {
    .name = "zlib (joblib)", .sniff = zlib_sniff, .read = zlib_read};
const mdl_format mdl_wrapped_zf = {
    .name = "zlib with a ZF0x header (joblib < 0.10)", .sniff = zf_sniff, .read = zf_read};
const mdl_format mdl_wrapped_other = {
    .name = "bz2, xz, lzma, lz4, zstd", .sniff = other_sniff, .read = other_read};
