/*
 * Identifying a file as it streams out of an archive, in bounded memory (verify, inspect).
 *
 * A file up to max_bytes is kept whole and identified like any buffer, and its bytes stay
 * available for a real load. A larger one keeps its first bytes (head_bytes when its size is
 * known to be larger, else the max_bytes it had reached) and a ring of its last TAIL bytes.
 * The head is identified; that it ends early is not corruption. Then the format that
 * recognised it reads the tail, if it has something to read there: JSON and UBJSON models
 * end with their writer's "version". Memory: the head plus TAIL, whatever the file's size.
 */
#include "model_private.h"

#include <stdlib.h>
#include <string.h>

#define TAIL 65536

struct compat_model_stream {
    uint64_t max_bytes, head_bytes;
    uint64_t limit; /* of this file's head */
    smx_buf head;
    unsigned char *tail; /* ring of the bytes past the head, TAIL bytes, allocated when needed */
    uint64_t tail_len;   /* bytes that went into the ring */
    uint64_t seen;
    int partial;
};

int compat_model_stream_new(uint64_t max_bytes, uint64_t head_bytes, compat_model_stream **out,
                            smx_err *err)
{
    compat_model_stream *s = calloc(1, sizeof *s);
    if (!s)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    s->max_bytes = max_bytes;
    s->head_bytes = head_bytes && head_bytes < max_bytes ? head_bytes : max_bytes;
    s->limit = max_bytes;
    *out = s;
    return SMX_OK;
}

void compat_model_stream_begin(compat_model_stream *s, int64_t size)
{
    smx_buf_free(&s->head); /* the previous file's bytes are not held while the scan goes on */
    s->tail_len = s->seen = 0;
    s->partial = size > 0 && (uint64_t)size > s->max_bytes;
    s->limit = s->partial ? s->head_bytes : s->max_bytes;
}

int compat_model_stream_feed(compat_model_stream *s, const void *buf, size_t len, smx_err *err)
{
    const unsigned char *p = buf;
    s->seen += len;
    if (s->head.len < s->limit) {
        size_t take = s->limit - s->head.len < len ? (size_t)(s->limit - s->head.len) : len;
        if (smx_buf_append(&s->head, p, take))
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        p += take;
        len -= take;
    }
    if (!len)
        return SMX_OK;
    s->partial = 1;
    if (!s->tail && !(s->tail = malloc(TAIL)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    for (size_t i = 0; i < len; i++) /* past the head: keep the last TAIL bytes */
        s->tail[(s->tail_len++) % TAIL] = p[i];
    return SMX_OK;
}

/* The last bytes of the file in order: the ring, completed by the end of the head. */
static size_t last_bytes(const compat_model_stream *s, unsigned char *out)
{
    size_t k = s->tail_len < TAIL ? (size_t)s->tail_len : TAIL;
    size_t from_head = TAIL - k < s->head.len ? TAIL - k : s->head.len;
    memcpy(out, s->head.data + s->head.len - from_head, from_head);
    size_t start = s->tail_len < TAIL ? 0 : (size_t)(s->tail_len % TAIL);
    for (size_t i = 0; i < k; i++)
        out[from_head + i] = s->tail[(start + i) % TAIL];
    return from_head + k;
}

int compat_model_stream_identify(compat_model_stream *s, const char *name, compat_model_info **out,
                                 smx_err *err)
{
    const mdl_format *f = NULL;
    const char *data = s->head.data ? s->head.data : "";
    int rc = mdl_identify_file(data, s->head.len, name, out, &f, err);
    if (rc || !s->partial)
        return rc;
    compat_model_info *m = *out;
    m->corrupt = 0; /* the head ends early because we stopped reading, not the file */
    m->problem[0] = '\0';
    if (f && f->tail && m->format != COMPAT_FMT_FOREIGN && s->tail_len) {
        unsigned char *t = malloc(TAIL);
        if (!t) {
            compat_model_info_free(m);
            *out = NULL;
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        }
        f->tail(t, last_bytes(s, t), m);
        free(t);
    }
    return SMX_OK;
}

const void *compat_model_stream_data(const compat_model_stream *s, size_t *len)
{
    *len = s->head.len;
    return s->head.data ? s->head.data : "";
}

int compat_model_stream_partial(const compat_model_stream *s)
{
    return s->partial;
}

uint64_t compat_model_stream_size(const compat_model_stream *s)
{
    return s->seen;
}

void compat_model_stream_free(compat_model_stream *s)
{
    if (!s)
        return;
    smx_buf_free(&s->head);
    free(s->tail);
    free(s);
}
