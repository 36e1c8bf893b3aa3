/*
 * The "CONFIG-offset:" memory snapshot (formats.md 3.2): what XGBoost 1.0-1.2 put in a pickled
 * Booster, and what such a pickle's payload is. Layout: the 14-byte magic, the size of the
 * binary model as an int64 (little-endian), the legacy binary model itself (read by binary.c),
 * then the learner's JSON config, which carries the exact writer version. A file that is
 * such a snapshot on its own is reported as a binary model (that is what XGBoost sees first).
 */
#include "model_private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int64_t i64le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return (int64_t)v;
}

/* The JSON config that ends the snapshot, at file offset `at`: the exact writer. */
static int read_config(const unsigned char *b, size_t len, size_t at, compat_model_info *m)
{
    json_error_t e;
    json_t *cfg = json_loadb((const char *)b, len, 0, &e);
    if (!cfg)
        return mdl_corrupt(m,
                           "corrupt CONFIG-offset snapshot: the JSON config at byte offset "
                           "%zu does not parse (%s at its byte %d)",
                           at, e.text, e.position);
    json_t *v = json_object_get(cfg, "version");
    if (json_array_size(v) == 3) {
        compat_version w = {(int)json_integer_value(json_array_get(v, 0)),
                            (int)json_integer_value(json_array_get(v, 1)),
                            (int)json_integer_value(json_array_get(v, 2))};
        mdl_set_writer(m, w, w, 1);
        mdl_note(m, "stored in the snapshot's JSON config (\"version\": [%d, %d, %d])", w.major,
                 w.minor, w.patch);
    }
    json_decref(cfg);
    return SMX_OK;
}

/* "CONFIG-offset:" + int64 LE size of the binary model + binary model + JSON config (1.0-1.2) */
static int read_cfgoff(const unsigned char *b, size_t len, compat_model_info *m)
{
    if (len < 22)
        return mdl_corrupt(m,
                           "truncated CONFIG-offset snapshot: %zu bytes, expected the 14-byte "
                           "header and an 8-byte offset",
                           len);
    int64_t off = i64le(b + 14);
    if (off < 0 || (uint64_t)off > len - 22)
        return mdl_corrupt(m,
                           "corrupt CONFIG-offset snapshot: at byte offset 14 the binary model "
                           "size is %lld, but only %zu bytes follow",
                           (long long)off, len - 22);
    int rc = mdl_binary_read(b + 22, (size_t)off, m);
    m->payload = COMPAT_PAYLOAD_SNAP_CFGOFF;
    mdl_detail(m, "CONFIG-offset memory snapshot (binary model of %lld bytes + JSON config)",
               (long long)off);
    if (rc == SMX_EFORMAT) {
        mdl_prefix_problem(m, "in the binary model at snapshot byte offset 22: ");
        return rc;
    }
    if (rc)
        return rc;
    /* the config carries the exact version */
    size_t at = 22 + (size_t)off;
    return read_config(b + at, len - at, at, m);
}

/* ---- a snapshot read as it streams: the header, the binary model (binary.c's streaming
 * reader), then the config, kept (up to MDL_STREAM_SKEL_MAX) and read at the end ---------- */

typedef struct cstream {
    mdl_sreader r;
    compat_model_info *m;
    uint64_t size, seen;
    unsigned char head[22];
    int64_t off;      /* the binary model's size, once the header is read */
    mdl_sreader *bin; /* its reader */
    smx_buf cfg;      /* the config */
    int over, enomem;
} cstream;

static int cs_feed(mdl_sreader *r, const unsigned char *b, size_t n)
{
    cstream *c = (cstream *)r;
    while (n && !c->enomem) {
        if (c->seen < 22) { /* the header */
            size_t k = 22 - c->seen < n ? (size_t)(22 - c->seen) : n;
            memcpy(c->head + c->seen, b, k);
            c->seen += k, b += k, n -= k;
            if (c->seen == 22 && (c->off = i64le(c->head + 14)) >= 0 &&
                (c->size == MDL_SIZE_UNKNOWN || (uint64_t)c->off <= c->size - 22) &&
                mdl_binary_stream(NULL, (uint64_t)c->off, c->m, &c->bin))
                c->enomem = 1;
            continue;
        }
        uint64_t in_bin =
            c->off >= 0 && c->seen < 22 + (uint64_t)c->off ? 22 + (uint64_t)c->off - c->seen : 0;
        size_t k = in_bin < n ? (size_t)in_bin : n;
        if (k && c->bin && c->bin->feed(c->bin, b, k))
            c->enomem = 1;
        if (!k) { /* the config */
            k = n;
            if (c->cfg.len + k > MDL_STREAM_SKEL_MAX)
                c->over = 1;
            else if (smx_buf_append(&c->cfg, b, k))
                c->enomem = 1;
        }
        c->seen += k, b += k, n -= k;
    }
    return c->enomem ? SMX_ENOMEM : SMX_OK;
}

static int cs_end(mdl_sreader *r)
{
    cstream *c = (cstream *)r;
    compat_model_info *m = c->m;
    if (c->enomem)
        return SMX_ENOMEM;
    if (c->seen < 22)
        return mdl_corrupt(m,
                           "truncated CONFIG-offset snapshot: %zu bytes, expected the 14-byte "
                           "header and an 8-byte offset",
                           (size_t)c->seen),
               SMX_OK;
    if (!c->bin || c->seen < 22 + (uint64_t)c->off)
        return mdl_corrupt(m,
                           "corrupt CONFIG-offset snapshot: at byte offset 14 the binary model "
                           "size is %lld, but only %zu bytes follow",
                           (long long)c->off,
                           (size_t)((c->size == MDL_SIZE_UNKNOWN ? c->seen : c->size) - 22)),
               SMX_OK;
    int rc = c->bin->end(c->bin);
    m->payload = COMPAT_PAYLOAD_SNAP_CFGOFF;
    mdl_detail(m, "CONFIG-offset memory snapshot (binary model of %lld bytes + JSON config)",
               (long long)c->off);
    if (rc == SMX_ENOMEM)
        return rc;
    if (m->corrupt) {
        mdl_prefix_problem(m, "in the binary model at snapshot byte offset 22: ");
        return SMX_OK;
    }
    if (c->over) {
        mdl_unknown(m, COMPAT_UNKNOWN_WRITER,
                    "the snapshot's JSON config is larger than %zu MiB: not read",
                    MDL_STREAM_SKEL_MAX >> 20);
        return SMX_OK;
    }
    read_config((const unsigned char *)(c->cfg.data ? c->cfg.data : ""), c->cfg.len,
                22 + (size_t)c->off, m);
    return SMX_OK;
}

static void cs_free(mdl_sreader *r)
{
    cstream *c = (cstream *)r;
    if (c->bin)
        c->bin->free(c->bin);
    smx_buf_free(&c->cfg);
    free(c);
}

static int cfgoff_sniff(const unsigned char *b, size_t len)
{
    return len >= 14 && !memcmp(b, "CONFIG-offset:", 14);
}

static int cfgoff_entry_read(const mdl_ctx *c, const unsigned char *b, size_t len,
                             compat_model_info *m)
{
    (void)c;
    int rc = read_cfgoff(b, len, m);
    m->format = COMPAT_FMT_BINARY;
    return rc;
}

/* As a file of its own it is reported as a binary model (what XGBoost sees first); inside a
 * pickle, the pickle reader sets the format back. */
static int cfgoff_stream(const mdl_ctx *ctx, uint64_t size, compat_model_info *m, mdl_sreader **out)
{
    (void)ctx;
    cstream *c = calloc(1, sizeof *c);
    if (!c)
        return SMX_ENOMEM;
    c->r = (mdl_sreader){cs_feed, cs_end, cs_free};
    c->m = m;
    c->size = size;
    c->off = -1;
    m->format = COMPAT_FMT_BINARY;
    *out = &c->r;
    return SMX_OK;
}

const mdl_format mdl_snapshot_cfgoff = {.name = "CONFIG-offset snapshot",
                                        .sniff = cfgoff_sniff,
                                        .read = cfgoff_entry_read,
                                        .stream = cfgoff_stream};
