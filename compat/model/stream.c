/*
 * Identifying a file as it streams out of an archive, in bounded memory (verify, inspect).
 *
 * A file up to max_bytes is kept whole and identified like any buffer, and its bytes stay
 * available for a real load. A larger one is not kept: as soon as it is known to be larger
 * (its declared size, or the byte past max_bytes), its first bytes are sniffed with the format
 * table (identify.c) and the format's streaming reader gets every byte in order: JSON and
 * UBJSON models are cut into their trees and the rest (split.c), legacy binary models are read
 * section by section, pickles opcode by opcode down to the Booster's payload, which is read
 * by its own streaming reader. Those establish every fact a whole read does, with memory
 * bounded by their limits, not by the file.
 *
 * A format without a streaming reader (compressed wrappers, foreign files) is identified from
 * the first head_bytes and a ring of the last TAIL bytes, where JSON and UBJSON models keep
 * their writer's "version"; that the head ends early is not corruption, and what the unread
 * middle may hold is named unknown. Memory: max_bytes while a file may be kept whole, then the
 * head, TAIL and the streaming reader's state.
 */
#include "model_private.h"

#include <stdlib.h>
#include <string.h>

#define TAIL  65536
#define SNIFF 4096 /* enough for every format's sniff */

struct compat_model_stream {
    uint64_t max_bytes, head_bytes;
    uint64_t size;       /* declared, or MDL_SIZE_UNKNOWN */
    smx_buf head;        /* the whole file while it may be kept whole, then its first head_bytes */
    unsigned char *tail; /* ring of the bytes past the head, TAIL bytes, allocated when needed */
    uint64_t tail_len;   /* bytes that went into the ring */
    uint64_t seen;
    int partial;
    smx_buf pre;          /* a partial file's first bytes, until there are enough to sniff */
    int opened;           /* a partial file's format was sniffed */
    const mdl_format *f;  /* the entry that recognised it */
    compat_model_info *m; /* the facts its streaming reader found so far */
    mdl_sreader *sr;      /* NULL: none (head and tail only) */
};

int compat_model_stream_new(uint64_t max_bytes, uint64_t head_bytes, compat_model_stream **out,
                            smx_err *err)
{
    compat_model_stream *s = calloc(1, sizeof *s);
    if (!s)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    s->max_bytes = max_bytes;
    s->head_bytes = head_bytes && head_bytes < max_bytes ? head_bytes : max_bytes;
    *out = s;
    return SMX_OK;
}

static void drop_reader(compat_model_stream *s)
{
    if (s->sr)
        s->sr->free(s->sr);
    compat_model_info_free(s->m);
    s->sr = NULL;
    s->m = NULL;
    s->f = NULL;
    s->opened = 0;
}

void compat_model_stream_begin(compat_model_stream *s, int64_t size)
{
    smx_buf_free(&s->head); /* the previous file's bytes are not held while the scan goes on */
    smx_buf_free(&s->pre);
    drop_reader(s);
    s->tail_len = s->seen = 0;
    s->size = size >= 0 ? (uint64_t)size : MDL_SIZE_UNKNOWN;
    s->partial = size > 0 && (uint64_t)size > s->max_bytes;
}

/* Sniff the first bytes (every byte read so far) and start the format's streaming reader on
 * them. */
static int open_reader(compat_model_stream *s, const smx_buf *first)
{
    s->opened = 1;
    if (!(s->m = mdl_info_new()))
        return SMX_ENOMEM;
    const unsigned char *h = (const unsigned char *)(first->data ? first->data : "");
    int rc = mdl_stream_open(h, first->len, s->size, s->m, &s->f, &s->sr);
    if (!rc && s->sr && first->len)
        rc = s->sr->feed(s->sr, h, first->len);
    smx_buf_free(&s->pre);
    return rc;
}

/* Past the head: keep the last TAIL bytes. */
static int to_ring(compat_model_stream *s, const unsigned char *p, size_t len)
{
    if (!len)
        return SMX_OK;
    if (!s->tail && !(s->tail = malloc(TAIL)))
        return SMX_ENOMEM;
    if (len > TAIL) {
        s->tail_len += len - TAIL;
        p += len - TAIL;
        len = TAIL;
    }
    for (size_t i = 0; i < len; i++)
        s->tail[(s->tail_len++) % TAIL] = p[i];
    return SMX_OK;
}

/* A partial file's bytes: the head, the ring, and the streaming reader once it is open. */
static int feed_partial(compat_model_stream *s, const unsigned char *p, size_t len)
{
    size_t take = 0;
    if (s->head.len < s->head_bytes) {
        take = s->head_bytes - s->head.len < len ? (size_t)(s->head_bytes - s->head.len) : len;
        if (smx_buf_append(&s->head, p, take))
            return SMX_ENOMEM;
    }
    int rc = to_ring(s, p + take, len - take);
    if (rc || s->opened)
        return rc ? rc : s->sr ? s->sr->feed(s->sr, p, len) : SMX_OK;
    if (smx_buf_append(&s->pre, p, len)) /* not enough to sniff yet */
        return SMX_ENOMEM;
    return s->pre.len < SNIFF ? SMX_OK : open_reader(s, &s->pre);
}

/* The file turned out larger than max_bytes: from now on it streams; the head is cut back. */
static int become_partial(compat_model_stream *s)
{
    s->partial = 1;
    /* the reader gets everything kept so far (once there is enough to sniff) */
    int rc = s->head.len >= SNIFF                                 ? open_reader(s, &s->head)
             : smx_buf_append(&s->pre, s->head.data, s->head.len) ? SMX_ENOMEM
                                                                  : SMX_OK;
    if (rc)
        return rc;
    if (s->head.len > s->head_bytes) {
        smx_buf cut = SMX_BUF_INIT;
        if (to_ring(s, (const unsigned char *)s->head.data + s->head_bytes,
                    (size_t)(s->head.len - s->head_bytes)))
            return SMX_ENOMEM;
        if (smx_buf_append(&cut, s->head.data, (size_t)s->head_bytes))
            return SMX_ENOMEM;
        smx_buf_free(&s->head);
        s->head = cut;
    }
    return SMX_OK;
}

int compat_model_stream_feed(compat_model_stream *s, const void *buf, size_t len, smx_err *err)
{
    const unsigned char *p = buf;
    int rc = SMX_OK;
    s->seen += len;
    if (!s->partial && s->head.len + len <= s->max_bytes) {
        if (smx_buf_append(&s->head, p, len))
            rc = SMX_ENOMEM;
    } else if (!s->partial) {
        size_t take = (size_t)(s->max_bytes - s->head.len);
        if (smx_buf_append(&s->head, p, take) || become_partial(s))
            rc = SMX_ENOMEM;
        else
            rc = feed_partial(s, p + take, len - take);
    } else {
        rc = feed_partial(s, p, len);
    }
    return rc ? smx_fail(err, SMX_ENOMEM, "out of memory") : SMX_OK;
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

/* What the tail says (JSON and UBJSON: the writer's version), for a writer still unknown. */
static int read_tail(const compat_model_stream *s, const mdl_format *f, compat_model_info *m)
{
    if (!f || !f->tail || m->format == COMPAT_FMT_FOREIGN || !s->tail_len ||
        !(m->unknown & COMPAT_UNKNOWN_WRITER))
        return SMX_OK;
    unsigned char *t = malloc(TAIL);
    if (!t)
        return SMX_ENOMEM;
    if (f->tail(t, last_bytes(s, t), m) == 0)
        m->unknown &= ~(unsigned)COMPAT_UNKNOWN_WRITER;
    free(t);
    return SMX_OK;
}

/* A format read from its head and tail only: what the rest of it may hold is unknown. */
static int identify_head(compat_model_stream *s, const char *name, compat_model_info **out,
                         smx_err *err)
{
    const mdl_format *f = NULL;
    const char *data = s->head.data ? s->head.data : "";
    int rc = mdl_identify_file(data, s->head.len, name, out, &f, err);
    if (rc)
        return rc;
    compat_model_info *m = *out;
    m->corrupt = 0; /* the head ends early because we stopped reading, not the file */
    m->problem[0] = '\0';
    if (m->format != COMPAT_FMT_FOREIGN && m->format != COMPAT_FMT_UNKNOWN)
        mdl_unknown(m,
                    COMPAT_UNKNOWN_WRITER | COMPAT_UNKNOWN_LEARNER | COMPAT_UNKNOWN_TREES |
                        COMPAT_UNKNOWN_ENCODING | COMPAT_UNKNOWN_PICKLE | COMPAT_UNKNOWN_INTEGRITY,
                    "%s is not read as it streams: only its first %zu bytes and its last %d "
                    "KiB were read",
                    f && f->name ? f->name : "this format", s->head.len, TAIL >> 10);
    return read_tail(s, f, m);
}

int compat_model_stream_identify(compat_model_stream *s, const char *name, compat_model_info **out,
                                 smx_err *err)
{
    *out = NULL;
    if (!s->partial) {
        const char *data = s->head.data ? s->head.data : "";
        return mdl_identify_file(data, s->head.len, name, out, NULL, err);
    }
    int rc = s->opened ? SMX_OK : open_reader(s, &s->pre);
    if (!rc && !s->sr) {
        drop_reader(s);
        return identify_head(s, name, out, err);
    }
    if (!rc && (rc = s->sr->end(s->sr)) == MDL_NOT_XGBOOST) {
        mdl_foreign(s->m, s->f->other);
        rc = SMX_OK;
    }
    if (!rc)
        rc = read_tail(s, s->f, s->m);
    if (rc) {
        drop_reader(s);
        return smx_fail(err, SMX_ENOMEM, "out of memory identifying %s", name ? name : "model");
    }
    *out = s->m;
    s->m = NULL;
    drop_reader(s);
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
    drop_reader(s);
    smx_buf_free(&s->head);
    smx_buf_free(&s->pre);
    free(s->tail);
    free(s);
}
