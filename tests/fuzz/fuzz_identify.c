/*
 * Fuzz model identification: every reader behind compat_identify (legacy binary, JSON,
 * UBJSON, pickle opcode scan and payload extraction, joblib/gzip unwrapping, foreign-file
 * sniffing), the reference predictor on whatever trees come out, and the streaming
 * identifier (the streaming reader of every format that has one, the head-and-tail reading of
 * the others), on arbitrary bytes.
 * The first input byte picks a prefix that steers the bytes to one reader, so each reader is
 * reached without the fuzzer having to find its magic first.
 */
#include "compat/compat.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const prefixes[] = {"", "binf", "{L", "\x80\x04", "CONFIG-offset:", "{\""};
    if (size < 1)
        return 0;
    const char *pre = prefixes[data[0] % 6];
    size_t pl = strlen(pre);
    unsigned char *buf = malloc(pl + size - 1 + 1);
    if (!buf)
        return 0;
    memcpy(buf, pre, pl);
    memcpy(buf + pl, data + 1, size - 1);
    size_t len = pl + size - 1;

    compat_model_info *m = NULL;
    smx_err err = {0};
    if (compat_identify(buf, len, "xgboost-model", &m, &err) == SMX_OK) {
        static const float rows[2 * 8] = {0.5f, -1,  3, NAN,   1,      0, 2, -0.25f,
                                          NAN,  NAN, 7, 1e30f, -1e30f, 0, 1, 1};
        compat_pred p;
        if (compat_reference_predict(m, rows, 2, 8, 0, &p, &err) == SMX_OK)
            compat_pred_free(&p);
        if (m->payload_bytes) { /* what a load check would hand to XGBoost */
            compat_model_info *in = NULL;
            if (compat_identify(m->payload_bytes, m->payload_len, "payload", &in, &err) == SMX_OK)
                compat_model_info_free(in);
        }
        compat_model_info_free(m);
    }
    /* the same bytes streamed, too large to keep: the streaming reader of the format they
     * sniff as (JSON, UBJSON, legacy binary, pickles and their payloads, snapshots) gets them
     * in chunks, with the size declared and not; a format that does not stream is read from
     * its head and tail */
    for (int declare = 0; declare < 2; declare++) {
        compat_model_stream *s = NULL;
        if (compat_model_stream_new(64, 32, &s, &err) != SMX_OK)
            continue;
        compat_model_stream_begin(s, declare ? (int64_t)len : -1);
        size_t chunk = declare ? 7 : 50;
        for (size_t at = 0; at < len; at += chunk)
            compat_model_stream_feed(s, buf + at, len - at < chunk ? len - at : chunk, &err);
        if (compat_model_stream_identify(s, "xgboost-model", &m, &err) == SMX_OK)
            compat_model_info_free(m);
        compat_model_stream_free(s);
    }
    free(buf);
    return 0;
}
