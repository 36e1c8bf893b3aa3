/*
 * What a model file is: the dispatcher over the readers (one file each), the wrappers around
 * them (joblib compression, gzip), and the recognisable non-XGBoost files (LightGBM text,
 * ONNX, scikit-learn pickles, tar and zip archives, XGBoost text dumps).
 *
 * Dispatch follows the bytes, the way XGBoost and the container do (formats.md 1.5, 3.2):
 * a pickle opcode stream (0x80 PROTO, or a protocol 0/1 opening), "binf" or a magic-less
 * binary header, '{' followed by '"' (JSON) or a letter (UBJSON). Compressed wrappers are
 * opened with zlib under a size limit and the content identified again (bounded depth).
 * The readers never call XGBoost.
 */
#include "model_private.h"

#include <ctype.h>
#include <jansson.h>
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

/* ---- helpers shared by the readers -------------------------------------------------------- */

compat_model_info *model_info_new(void)
{
    compat_model_info *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->writer_min.major = m->writer_max.major = -1;
    m->writer_min.patch = m->writer_max.patch = -1;
    m->boost_from_average = -1;
    return m;
}

void model_copy(char *dst, size_t cap, const char *s, size_t len)
{
    if (!cap)
        return;
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
    for (size_t i = 0; i < n; i++) /* keep printable: these strings end up on terminals */
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
            dst[i] = '?';
}

int model_corrupt(compat_model_info *m, const char *fmt, ...)
{
    if (!m->corrupt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->problem, sizeof m->problem, fmt, ap);
        va_end(ap);
        m->corrupt = 1;
    }
    return SMX_EFORMAT;
}

void model_detail(compat_model_info *m, const char *fmt, ...)
{
    char tmp[sizeof m->detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(m->detail, tmp, sizeof tmp);
}

void model_note(compat_model_info *m, const char *fmt, ...)
{
    char tmp[sizeof m->writer_note];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(m->writer_note, tmp, sizeof tmp);
}

void model_prefix_problem(compat_model_info *m, const char *prefix)
{
    char tmp[2 * SMX_ERRMAX];
    size_t pl = strlen(prefix);
    if (pl >= SMX_ERRMAX)
        return;
    memcpy(tmp, prefix, pl);
    memcpy(tmp + pl, m->problem, strlen(m->problem) + 1);
    model_copy(m->problem, sizeof m->problem, tmp, strlen(tmp));
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

int model_add_attr(compat_model_info *m, const char *k, size_t kl, const char *v, size_t vl)
{
    for (size_t i = 0; i < m->n_attrs; i++) /* one value per key: the last one wins */
        if (strlen(m->attrs[i].key) == kl && !memcmp(m->attrs[i].key, k, kl)) {
            char *nv = dup_n(v, vl);
            if (!nv)
                return SMX_ENOMEM;
            free(m->attrs[i].value);
            m->attrs[i].value = nv;
            return 0;
        }
    compat_kv *a = realloc(m->attrs, (m->n_attrs + 1) * sizeof *a);
    if (!a)
        return SMX_ENOMEM;
    m->attrs = a;
    a[m->n_attrs].key = dup_n(k, kl);
    a[m->n_attrs].value = dup_n(v, vl);
    if (!a[m->n_attrs].key || !a[m->n_attrs].value) {
        free(a[m->n_attrs].key);
        free(a[m->n_attrs].value);
        return SMX_ENOMEM;
    }
    m->n_attrs++;
    return 0;
}

int model_add_str(char ***v, size_t *n, const char *s, size_t len)
{
    char **a = realloc(*v, (*n + 1) * sizeof *a);
    if (!a)
        return SMX_ENOMEM;
    *v = a;
    if (!(a[*n] = dup_n(s, len)))
        return SMX_ENOMEM;
    (*n)++;
    return 0;
}

void model_set_writer(compat_model_info *m, compat_version lo, compat_version hi, int exact)
{
    m->writer_min = lo;
    m->writer_max = hi;
    m->writer_exact = exact;
}

static void tree_free(compat_tree *t)
{
    free(t->left);
    free(t->right);
    free(t->split_index);
    free(t->split_cond);
    free(t->default_left);
    free(t->is_cat);
    free(t->cat_begin);
    free(t->cat_size);
    free(t->cats);
    free(t->leaf_vec);
}

void model_info_clear_trees(compat_model_info *m)
{
    for (size_t i = 0; i < m->n_tree_structs; i++)
        tree_free(&m->trees[i]);
    free(m->trees);
    free(m->tree_info);
    free(m->tree_weights);
    free(m->linear_weights);
    m->trees = NULL;
    m->tree_info = NULL;
    m->tree_weights = NULL;
    m->linear_weights = NULL;
    m->n_tree_structs = 0;
    m->n_linear_weights = 0;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void compat_model_info_free(compat_model_info *m)
{
    if (!m)
        return;
    model_info_clear_trees(m);
    for (size_t i = 0; i < m->n_attrs; i++) {
        free(m->attrs[i].key);
        free(m->attrs[i].value);
    }
    free(m->attrs);
    free_strs(m->feature_names, m->n_feature_names);
    free_strs(m->feature_types, m->n_feature_types);
    free_strs(m->pickle_globals, m->n_pickle_globals);
    free(m->payload_bytes);
    free(m);
}

const char *compat_format_name(compat_format f)
{
    switch (f) {
    case COMPAT_FMT_BINARY:
        return "binary";
    case COMPAT_FMT_JSON:
        return "json";
    case COMPAT_FMT_UBJSON:
        return "ubjson";
    case COMPAT_FMT_PICKLE:
        return "pickle";
    case COMPAT_FMT_JOBLIB:
        return "joblib";
    case COMPAT_FMT_FOREIGN:
        return "foreign";
    default:
        return "unknown";
    }
}

const char *compat_payload_name(compat_payload p)
{
    switch (p) {
    case COMPAT_PAYLOAD_BIN:
        return "bin";
    case COMPAT_PAYLOAD_JSON:
        return "json";
    case COMPAT_PAYLOAD_UBJ:
        return "ubj";
    case COMPAT_PAYLOAD_SNAP_CFGOFF:
        return "snap_cfgoff";
    case COMPAT_PAYLOAD_SNAP_JSON:
        return "snap_json";
    case COMPAT_PAYLOAD_SNAP_UBJ:
        return "snap_ubj";
    default:
        return "none";
    }
}

/* ---- payloads (what XGBoost receives: a model or a memory snapshot) ----------------------- */

static int is_ubj_start(const unsigned char *b, size_t len)
{
    return len >= 2 && b[0] == '{' && isalpha(b[1]);
}

static int is_json_start(const unsigned char *b, size_t len)
{
    if (len < 1 || b[0] != '{')
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (b[i] == '"' || b[i] == '}')
            return 1;
        if (!isspace(b[i]))
            return 0;
    }
    return 1; /* "{" and whitespace only: JSON, truncated */
}

static int64_t i64le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return (int64_t)v;
}

/* "CONFIG-offset:" + int64 LE size of the binary model + binary model + JSON config (1.0-1.2) */
static int read_cfgoff(const unsigned char *b, size_t len, compat_model_info *m)
{
    if (len < 22)
        return model_corrupt(m,
                             "truncated CONFIG-offset snapshot: %zu bytes, expected the 14-byte "
                             "header and an 8-byte offset",
                             len);
    int64_t off = i64le(b + 14);
    if (off < 0 || (uint64_t)off > len - 22)
        return model_corrupt(m,
                             "corrupt CONFIG-offset snapshot: at byte offset 14 the binary model "
                             "size is %lld, but only %zu bytes follow",
                             (long long)off, len - 22);
    int rc = read_binary(b + 22, (size_t)off, m);
    m->payload = COMPAT_PAYLOAD_SNAP_CFGOFF;
    model_detail(m, "CONFIG-offset memory snapshot (binary model of %lld bytes + JSON config)",
                 (long long)off);
    if (rc == SMX_EFORMAT) {
        model_prefix_problem(m, "in the binary model at snapshot byte offset 22: ");
        return rc;
    }
    if (rc)
        return rc;
    /* the config carries the exact version */
    json_error_t e;
    size_t at = 22 + (size_t)off;
    json_t *cfg = json_loadb((const char *)b + at, len - at, 0, &e);
    if (!cfg)
        return model_corrupt(m,
                             "corrupt CONFIG-offset snapshot: the JSON config at byte offset "
                             "%zu does not parse (%s at its byte %d)",
                             at, e.text, e.position);
    json_t *v = json_object_get(cfg, "version");
    if (json_array_size(v) == 3) {
        compat_version w = {(int)json_integer_value(json_array_get(v, 0)),
                            (int)json_integer_value(json_array_get(v, 1)),
                            (int)json_integer_value(json_array_get(v, 2))};
        model_set_writer(m, w, w, 1);
        model_note(m, "stored in the snapshot's JSON config (\"version\": [%d, %d, %d])", w.major,
                   w.minor, w.patch);
    }
    json_decref(cfg);
    return SMX_OK;
}

int identify_payload(const unsigned char *b, size_t len, compat_model_info *m)
{
    if (len >= 14 && !memcmp(b, "CONFIG-offset:", 14))
        return read_cfgoff(b, len, m);
    if (is_ubj_start(b, len)) {
        int rc = read_ubjson(b, len, m);
        return rc == MODEL_NOT_XGBOOST ? (m->payload = COMPAT_PAYLOAD_NONE, SMX_OK) : rc;
    }
    if (is_json_start(b, len)) {
        int rc = read_json(b, len, m);
        return rc == MODEL_NOT_XGBOOST ? (m->payload = COMPAT_PAYLOAD_NONE, SMX_OK) : rc;
    }
    if ((len >= 4 && (!memcmp(b, "binf", 4) || !memcmp(b, "bs64", 4))) || read_binary_sniff(b, len))
        return read_binary(b, len, m);
    m->payload = COMPAT_PAYLOAD_NONE;
    return SMX_OK;
}

/* ---- wrappers ------------------------------------------------------------------------------ */

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

static int is_pickle_start(const unsigned char *b, size_t len)
{
    if (len >= 2 && b[0] == 0x80 && b[1] <= 5)
        return 1;
    /* protocol 0/1 openings of an object pickle */
    if (len >= 3 && (b[0] == 'c' || b[0] == '(') &&
        (!memcmp(b, "ccopy_reg\n", len < 10 ? len : 10) ||
         !memcmp(b, "cxgboost", len < 8 ? len : 8) || !memcmp(b, "(dp0", len < 4 ? len : 4) ||
         !memcmp(b, "(i", len < 2 ? len : 2)))
        return 1;
    if (len >= 2 && b[0] == 'c' && isalpha(b[1]) && memchr(b, '\n', len < 128 ? len : 128))
        return 1;
    return 0;
}

static void foreign(compat_model_info *m, const char *what)
{
    m->format = COMPAT_FMT_FOREIGN;
    model_copy(m->foreign, sizeof m->foreign, what, strlen(what));
    model_detail(m, "%s", what);
}

/* Pickles whose top-level object is not an XGBoost one. */
static void classify_pickle(compat_model_info *m)
{
    const char *c = m->pickle_class;
    int xgb = 0;
    for (size_t i = 0; i < m->n_pickle_globals; i++)
        xgb |= !strncmp(m->pickle_globals[i], "xgboost.", 8);
    char what[128];
    if (!strncmp(c, "sklearn.", 8)) {
        snprintf(what, sizeof what, "scikit-learn pickle (%.60s)%s", c,
                 xgb ? " wrapping an XGBoost model" : "");
        foreign(m, what);
    } else if (!strncmp(c, "lightgbm.", 9)) {
        foreign(m, "LightGBM pickle");
    } else if (!strncmp(c, "catboost.", 9)) {
        foreign(m, "CatBoost pickle");
    }
}

static int identify_wrapped(const unsigned char *b, size_t len, const char *name,
                            compat_model_info *m, int depth, int gzip, const char *comp)
{
    unsigned char *o = NULL;
    size_t n = 0;
    char why[256] = "";
    int rc = inflate_all(b, len, gzip, &o, &n, why, sizeof why);
    if (rc == SMX_ENOMEM)
        return rc;
    if (rc != SMX_OK) {
        /* still say what we can about the partial content */
        if (n >= 2 && is_pickle_start(o, n)) {
            m->format = COMPAT_FMT_JOBLIB;
            snprintf(m->joblib_compression, sizeof m->joblib_compression, "%s", comp);
        } else if (gzip) {
            foreign(m, "gzip-compressed data");
        } else {
            m->format = COMPAT_FMT_JOBLIB;
            snprintf(m->joblib_compression, sizeof m->joblib_compression, "%s", comp);
        }
        free(o);
        if (!m->detail[0])
            model_detail(m, "%s-compressed data, not completely read", comp);
        return model_corrupt(m, "%s-compressed data %s", comp, why);
    }
    if (gzip && n >= 262 && !memcmp(o + 257, "ustar", 5)) {
        foreign(m, "gzip-compressed tar archive (a model.tar.gz inside the artifact)");
        free(o);
        return SMX_OK;
    }
    if (is_pickle_start(o, n)) {
        rc = read_pickle(o, n, m);
        if (m->format == COMPAT_FMT_PICKLE) {
            m->format = COMPAT_FMT_JOBLIB;
            snprintf(m->joblib_compression, sizeof m->joblib_compression, "%s", comp);
            model_detail(m, "%s-compressed (joblib) %s", comp, m->detail);
        }
        classify_pickle(m);
        free(o);
        return rc == SMX_ENOMEM ? rc : SMX_OK;
    }
    if (gzip) {
        compat_model_info *in = model_info_new();
        if (!in) {
            free(o);
            return SMX_ENOMEM;
        }
        rc = identify_bytes(o, n, name, in, depth + 1);
        char what[128];
        snprintf(what, sizeof what, "gzip-compressed %s file", compat_format_name(in->format));
        foreign(m, what);
        compat_model_info_free(in);
        free(o);
        return rc == SMX_ENOMEM ? rc : SMX_OK;
    }
    foreign(m, "zlib-compressed data that is not a pickle");
    free(o);
    return SMX_OK;
}

static int has_prefix(const unsigned char *b, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len >= n && !memcmp(b, s, n);
}

static int looks_onnx(const unsigned char *b, size_t len)
{
    /* ModelProto: field 1 ir_version (varint, tag 0x08), usually then producer_name (0x12) */
    if (len < 8 || b[0] != 0x08 || b[1] == 0 || b[1] > 20)
        return 0;
    size_t lim = len < 4096 ? len : 4096;
    for (size_t i = 0; i + 4 < lim; i++)
        if (!memcmp(b + i, "onnx", 4) || !memcmp(b + i, "ONNX", 4) ||
            !memcmp(b + i, "skl2onnx", 8 < lim - i ? 8 : lim - i))
            return 1;
    return 0;
}

int identify_bytes(const unsigned char *b, size_t len, const char *name, compat_model_info *m,
                   int depth)
{
    (void)name;
    if (len == 0) {
        model_detail(m, "empty file");
        return model_corrupt(m, "the file is empty (0 bytes): expected a model");
    }
    if (depth > MODEL_MAX_PICKLE_DEPTH) {
        foreign(m, "compressed data nested too deep");
        return SMX_OK;
    }
    /* XGBoost formats first */
    if (has_prefix(b, len, "CONFIG-offset:")) {
        int rc = read_cfgoff(b, len, m);
        m->format = COMPAT_FMT_BINARY;
        return rc;
    }
    if (has_prefix(b, len, "binf") || has_prefix(b, len, "bs64") || read_binary_sniff(b, len))
        return read_binary(b, len, m);
    if (is_ubj_start(b, len)) {
        int rc = read_ubjson(b, len, m);
        if (rc == MODEL_NOT_XGBOOST) {
            foreign(m, "UBJSON document that is not an XGBoost model");
            return SMX_OK;
        }
        return rc;
    }
    if (len >= 1 && b[0] == '{') {
        int rc = read_json(b, len, m);
        if (rc == MODEL_NOT_XGBOOST) {
            foreign(m, "JSON document that is not an XGBoost model (no \"learner\")");
            return SMX_OK;
        }
        return rc;
    }
    if (len >= 2 && b[0] == 0x80 && b[1] <= 5) {
        int rc = read_pickle(b, len, m);
        classify_pickle(m);
        return rc;
    }
    /* wrappers */
    if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return identify_wrapped(b, len, name, m, depth, 1, "gzip");
    if (len >= 2 && b[0] == 0x78 && (b[1] == 0x01 || b[1] == 0x5e || b[1] == 0x9c || b[1] == 0xda))
        return identify_wrapped(b, len, name, m, depth, 0, "zlib");
    if (has_prefix(b, len, "ZF0x")) { /* joblib < 0.10 zlib: "ZF0x" + hex length + 8 pad */
        size_t at = 4;
        while (at < len && at < 24 && isxdigit(b[at]))
            at++;
        while (at < len && at < 32 && b[at] == ' ')
            at++;
        return identify_wrapped(b + at, len - at, name, m, depth, 0, "zlib");
    }
    struct {
        const char *magic;
        size_t n;
        const char *comp, *what;
    } comps[] = {
        {"BZh", 3, "bz2", "bzip2-compressed data (joblib compress='bz2'?), not opened"},
        {"\xfd"
         "7zXZ\0",
         6, "xz", "xz-compressed data (joblib compress='xz'?), not opened"},
        {"\x5d\0\0", 3, "lzma", "lzma-compressed data (joblib compress='lzma'?), not opened"},
        {"\x04\x22\x4d\x18", 4, "lz4", "lz4-compressed data (joblib compress='lz4'?), not opened"},
        {"\x28\xb5\x2f\xfd", 4, "zstd", "zstd-compressed data, not opened"}};
    for (size_t i = 0; i < sizeof comps / sizeof comps[0]; i++)
        if (len >= comps[i].n && !memcmp(b, comps[i].magic, comps[i].n)) {
            foreign(m, comps[i].what);
            snprintf(m->joblib_compression, sizeof m->joblib_compression, "%s", comps[i].comp);
            return SMX_OK;
        }
    /* foreign formats */
    if (len >= 262 && !memcmp(b + 257, "ustar", 5)) {
        foreign(m, "tar archive (an archive inside the artifact)");
        return SMX_OK;
    }
    if (has_prefix(b, len, "PK\x03\x04")) {
        foreign(m, "zip archive");
        return SMX_OK;
    }
    if (has_prefix(b, len, "tree\nversion=") || has_prefix(b, len, "tree\r\nversion=")) {
        foreign(m, "LightGBM text model");
        return SMX_OK;
    }
    if (has_prefix(b, len, "booster[0]:")) {
        foreign(m, "XGBoost text dump (dump_model output; no XGBoost can load it)");
        return SMX_OK;
    }
    if (has_prefix(b, len, "CBM1")) {
        foreign(m, "CatBoost model");
        return SMX_OK;
    }
    if (looks_onnx(b, len)) {
        foreign(m, "ONNX model");
        return SMX_OK;
    }
    if (len >= 4 && !memcmp(b, "\x00\x05\x16\x07", 4)) {
        foreign(m, "AppleDouble resource fork (a macOS ._ file)");
        return SMX_OK;
    }
    if (is_pickle_start(b, len)) {
        int rc = read_pickle(b, len, m);
        if (rc == SMX_EFORMAT && !m->n_pickle_globals) {
            /* not convincingly a pickle after all */
            m->format = COMPAT_FMT_UNKNOWN;
            m->corrupt = 0;
            m->problem[0] = 0;
            model_detail(m, "unrecognised bytes");
            return SMX_OK;
        }
        classify_pickle(m);
        return rc;
    }
    model_detail(m, "unrecognised bytes");
    return SMX_OK;
}

int compat_identify(const void *buf, size_t len, const char *name, compat_model_info **out,
                    smx_err *err)
{
    compat_model_info *m = model_info_new();
    if (!m)
        return smx_fail(err, SMX_ENOMEM, "out of memory identifying %s", name ? name : "model");
    int rc = identify_bytes(buf, len, name, m, 0);
    if (rc == SMX_ENOMEM) {
        compat_model_info_free(m);
        return smx_fail(err, SMX_ENOMEM, "out of memory identifying %s", name ? name : "model");
    }
    if (m->corrupt) /* what we parsed of a broken file is not trustworthy for prediction */
        model_info_clear_trees(m);
    *out = m;
    return SMX_OK;
}
