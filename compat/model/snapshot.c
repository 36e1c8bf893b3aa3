/*
 * The "CONFIG-offset:" memory snapshot (formats.md 3.2): what XGBoost 1.0-1.2 put in a pickled
 * Booster, and what such a pickle's payload is. Layout: the 14-byte magic, the size of the
 * binary model as an int64 (little-endian), the legacy binary model itself (read by binary.c),
 * then the learner's JSON config, which carries the exact writer version. A file that is
 * such a snapshot on its own is reported as a binary model (that is what XGBoost sees first).
 */
#include "model_private.h"

#include <jansson.h>
#include <string.h>

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
    json_error_t e;
    size_t at = 22 + (size_t)off;
    json_t *cfg = json_loadb((const char *)b + at, len - at, 0, &e);
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

const mdl_format mdl_snapshot_cfgoff = {
    .name = "CONFIG-offset snapshot", .sniff = cfgoff_sniff, .read = cfgoff_entry_read};
