/*
 * What a model file is: a table of formats, tried in order, libarchive-style.
 *
 * Each format file (binary.c, json.c, ubjson.c, pickle.c, snapshot.c, wrapped.c, foreign.c)
 * exposes one mdl_format entry per form it recognises: a name, a sniff that looks at the first
 * bytes, and a reader. The dispatcher knows no magic number: it gives the bytes to the first
 * entry whose sniff says yes, the way XGBoost and the container do (formats.md 1.5, 3.2): the
 * XGBoost formats first, then pickles, compressed wrappers, and files that are recognisably
 * something else; protocol 0/1 pickles, whose opening is the least distinctive, last.
 *
 * Readers that find bytes inside bytes call back through their mdl_ctx, never into this file:
 * a pickle asks ctx->payload what its embedded model is (only the formats XGBoost receives:
 * a model or a memory snapshot), a compressed wrapper asks ctx->inner what it holds (the whole
 * table again, one level deeper, at most MDL_MAX_WRAP_DEPTH levels).
 *
 * A file too large to keep whole (stream.c) is sniffed the same way from its first bytes and
 * read by the streaming reader of the entry that recognised it, if it has one; a pickle read
 * as it streams asks ctx->payload_stream for a streaming reader of its embedded model.
 */
#include "model_private.h"

static const mdl_format *const file_formats[] = {
    &mdl_snapshot_cfgoff, &mdl_binary,           &mdl_ubjson,       &mdl_json,
    &mdl_pickle,          &mdl_wrapped_gzip,     &mdl_wrapped_zlib, &mdl_wrapped_zf,
    &mdl_wrapped_other,   &mdl_foreign_tar,      &mdl_foreign_zip,  &mdl_foreign_lightgbm,
    &mdl_foreign_dump,    &mdl_foreign_catboost, &mdl_foreign_onnx, &mdl_foreign_appledouble,
    &mdl_pickle_text};

/* What a pickled Booster's handle can hold: a model, or a memory snapshot. */
static const mdl_format *const payload_formats[] = {&mdl_snapshot_cfgoff, &mdl_ubjson,
                                                    &mdl_json_payload, &mdl_binary};

static int identify_payload(const mdl_ctx *c, const unsigned char *b, size_t len,
                            compat_model_info *m)
{
    for (size_t i = 0; i < sizeof payload_formats / sizeof payload_formats[0]; i++) {
        const mdl_format *f = payload_formats[i];
        if (!f->sniff(b, len))
            continue;
        int rc = f->read(c, b, len, m);
        if (rc == MDL_NOT_XGBOOST) {
            m->payload = COMPAT_PAYLOAD_NONE;
            return SMX_OK;
        }
        return rc;
    }
    m->payload = COMPAT_PAYLOAD_NONE;
    return SMX_OK;
}

static int identify_inner(const mdl_ctx *c, const unsigned char *b, size_t len,
                          compat_model_info *m);

static int identify(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m,
                    const mdl_format **matched)
{
    if (matched)
        *matched = NULL;
    if (len == 0) {
        mdl_detail(m, "empty file");
        return mdl_corrupt(m, "the file is empty (0 bytes): expected a model");
    }
    if (c->depth > MDL_MAX_WRAP_DEPTH) {
        mdl_foreign(m, "compressed data nested too deep");
        return SMX_OK;
    }
    for (size_t i = 0; i < sizeof file_formats / sizeof file_formats[0]; i++) {
        const mdl_format *f = file_formats[i];
        if (!f->sniff(b, len))
            continue;
        if (matched)
            *matched = f;
        int rc = f->read ? f->read(c, b, len, m) : MDL_NOT_XGBOOST;
        if (rc == MDL_NOT_XGBOOST) {
            mdl_foreign(m, f->other);
            return SMX_OK;
        }
        return rc;
    }
    mdl_detail(m, "unrecognised bytes");
    return SMX_OK;
}

static int identify_inner(const mdl_ctx *c, const unsigned char *b, size_t len,
                          compat_model_info *m)
{
    mdl_ctx in = *c;
    in.depth++;
    return identify(&in, b, len, m, NULL);
}

/* A payload too large to keep whole: the streaming reader of the payload format it starts as. */
static int stream_payload(const mdl_ctx *c, const unsigned char *head, size_t n, uint64_t size,
                          compat_model_info *m, mdl_sreader **out)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof payload_formats / sizeof payload_formats[0]; i++) {
        const mdl_format *f = payload_formats[i];
        if (f->sniff(head, n))
            return f->stream ? f->stream(c, size, m, out) : SMX_OK;
    }
    return SMX_OK;
}

static const mdl_ctx top = {0, identify_payload, identify_inner, stream_payload};

int mdl_stream_open(const unsigned char *head, size_t n, uint64_t size, compat_model_info *m,
                    const mdl_format **matched, mdl_sreader **out)
{
    *out = NULL;
    *matched = NULL;
    for (size_t i = 0; n && i < sizeof file_formats / sizeof file_formats[0]; i++) {
        const mdl_format *f = file_formats[i];
        if (!f->sniff(head, n))
            continue;
        *matched = f;
        return f->stream ? f->stream(&top, size, m, out) : SMX_OK;
    }
    return SMX_OK;
}

int mdl_identify_file(const void *buf, size_t len, const char *name, compat_model_info **out,
                      const mdl_format **matched, smx_err *err)
{
    compat_model_info *m = mdl_info_new();
    if (!m)
        return smx_fail(err, SMX_ENOMEM, "out of memory identifying %s", name ? name : "model");
    int rc = identify(&top, buf, len, m, matched);
    if (rc == SMX_ENOMEM) {
        compat_model_info_free(m);
        return smx_fail(err, SMX_ENOMEM, "out of memory identifying %s", name ? name : "model");
    }
    if (m->corrupt) /* what we parsed of a broken file is not trustworthy for prediction */
        mdl_clear_trees(m);
    *out = m;
    return SMX_OK;
}

int compat_identify(const void *buf, size_t len, const char *name, compat_model_info **out,
                    smx_err *err)
{
    return mdl_identify_file(buf, len, name, out, NULL, err);
}
