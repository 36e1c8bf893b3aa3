/*
 * Python pickles, scanned and never executed (formats.md section 4).
 *
 * The container calls pickle.load before load_model, so for a pickle what matters is the
 * protocol (5 needs Python 3.8+), the classes it references (an xgboost.core.Booster, an
 * sklearn wrapper such as xgboost.sklearn.XGBClassifier, or something else entirely) and the
 * bytes of the Booster's "handle": the model XGBoost will receive. pickle_scan.c walks the
 * opcodes and hands over every byte string that may be that model; the first that identifies
 * as an XGBoost payload (a legacy binary, a "CONFIG-offset:" snapshot, a JSON or a UBJSON
 * snapshot, or a plain JSON/UBJSON model) is the payload.
 *
 * A whole read collects the candidates and identifies them after the scan, keeping the
 * payload's bytes for a real load. A pickle too large to keep whole is scanned as it streams:
 * a candidate short enough to wait for is identified as soon as it is complete; a longer one
 * (a pickled Booster's handle is a single bytes object of the model's size) is given, as its
 * bytes pass by, to the streaming reader of the payload format its first bytes sniff as
 * (protocol 2's latin-1 text decoded on the way). Memory: the scanner's window and the
 * payload reader's state, never the payload.
 */
#include "model_private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Does the start of these bytes look like an XGBoost payload? */
static int looks_like_payload(const unsigned char *b, size_t n)
{
    if (n >= 4 && !memcmp(b, "binf", 4))
        return 1;
    if (n >= 14 && !memcmp(b, "CONFIG-offset:", 14))
        return 1;
    if (n >= 2 && b[0] == '{')
        return 1;
    return mdl_binary_sniff(b, n);
}

/* Decode UTF-8 into latin-1 bytes (protocol 2 bytearray/bytes); NULL if a code point > 0xFF. */
static unsigned char *latin1(const unsigned char *p, size_t n, size_t *out_n)
{
    unsigned char *o = malloc(n ? n : 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            o[k++] = p[i++];
        } else if ((p[i] & 0xE0) == 0xC0 && i + 1 < n && (p[i] & 0x1F) <= 3) {
            o[k++] = (unsigned char)((p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F));
            i += 2;
        } else {
            free(o);
            return NULL;
        }
    }
    *out_n = k;
    return o;
}

static int hexval(unsigned char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Protocol 0 'V': raw-unicode-escape, i.e. latin-1 bytes except \uXXXX / \UXXXXXXXX. */
static unsigned char *rawuni(const unsigned char *p, size_t n, size_t *out_n)
{
    unsigned char *o = malloc(n ? n : 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n;) {
        if (p[i] == '\\' && i + 1 < n && (p[i + 1] == 'u' || p[i + 1] == 'U')) {
            size_t w = p[i + 1] == 'u' ? 4 : 8;
            unsigned long v = 0;
            if (i + 2 + w > n)
                goto bad;
            for (size_t j = 0; j < w; j++) {
                int h = hexval(p[i + 2 + j]);
                if (h < 0)
                    goto bad;
                v = v << 4 | (unsigned long)h;
            }
            if (v > 0xff)
                goto bad;
            o[k++] = (unsigned char)v;
            i += 2 + w;
        } else {
            o[k++] = p[i++];
        }
    }
    *out_n = k;
    return o;
bad:
    free(o);
    return NULL;
}

/* Protocol 0 'S': a Python 2 str repr, '...' or "...", with \\ \' \" \n \r \t \xHH. */
static unsigned char *qstr(const unsigned char *p, size_t n, size_t *out_n)
{
    if (n < 2 || (p[0] != '\'' && p[0] != '"') || p[n - 1] != p[0])
        return NULL;
    p++;
    n -= 2;
    unsigned char *o = malloc(n ? n : 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n;) {
        if (p[i] != '\\') {
            o[k++] = p[i++];
            continue;
        }
        if (i + 1 >= n)
            goto bad;
        unsigned char c = p[i + 1];
        i += 2;
        if (c == 'n')
            o[k++] = '\n';
        else if (c == 'r')
            o[k++] = '\r';
        else if (c == 't')
            o[k++] = '\t';
        else if (c == 'x') {
            if (i + 2 > n || hexval(p[i]) < 0 || hexval(p[i + 1]) < 0)
                goto bad;
            o[k++] = (unsigned char)(hexval(p[i]) << 4 | hexval(p[i + 1]));
            i += 2;
        } else
            o[k++] = c;
    }
    *out_n = k;
    return o;
bad:
    free(o);
    return NULL;
}

static unsigned char *decode(int k, const unsigned char *p, size_t n, size_t *out_n)
{
    switch (k) {
    case MDL_IT_UNICODE:
        return latin1(p, n, out_n);
    case MDL_IT_RAWUNI:
        return rawuni(p, n, out_n);
    case MDL_IT_QSTR:
        return qstr(p, n, out_n);
    default:
        return NULL;
    }
}

/* The candidate of kind k at p[0..n) (off: where it starts in the file) identified as a
 * payload: 1 when it is one (m->payload set, its bytes kept), 0 when not, or SMX_ENOMEM. */
static int try_candidate(const mdl_ctx *ctx, compat_model_info *m, int k, const unsigned char *p,
                         size_t n)
{
    unsigned char *own = NULL;
    if (k == MDL_IT_UNICODE || k == MDL_IT_RAWUNI || k == MDL_IT_QSTR) {
        /* decode only what starts like a payload (the head may end mid-escape) */
        size_t head = k == MDL_IT_QSTR || n < 4096 ? n : 4096, hn = 0;
        unsigned char *h = NULL;
        for (int tries = 0; head > 0 && !(h = decode(k, p, head, &hn)) && tries < 8;
             tries++) /* a cut inside an escape or a UTF-8 sequence: back off a little */
            head = k != MDL_IT_QSTR && head > 12 ? head - 3 : 0;
        int ok = h && looks_like_payload(h, hn);
        free(h);
        if (!ok || !(own = decode(k, p, n, &n)))
            return 0;
        p = own;
    } else if (!looks_like_payload(p, n)) {
        return 0;
    }
    int rc = ctx->payload(ctx, p, n, m);
    m->format = COMPAT_FMT_PICKLE;
    if (m->payload == COMPAT_PAYLOAD_NONE) {
        free(own);
        return rc == SMX_ENOMEM ? rc : 0;
    }
    m->payload_bytes = own ? own : malloc(n ? n : 1);
    if (!m->payload_bytes)
        return SMX_ENOMEM;
    if (!own)
        memcpy(m->payload_bytes, p, n);
    m->payload_len = n;
    return rc == SMX_ENOMEM ? rc : 1;
}

/* The scan is complete: is it a Booster, and the detail. */
static void scan_detail(compat_model_info *m, const mdl_pk *s)
{
    m->pickle_is_booster = !strcmp(m->pickle_class, "xgboost.core Booster");
    char extra[128] = "";
    if (m->pickle_joblib_arrays)
        snprintf(extra, sizeof extra, ", joblib numpy data inline at byte %zu", s->joblib_stop);
    else if (s->oob)
        snprintf(extra, sizeof extra, ", out-of-band buffers (protocol 5 NEXT_BUFFER)");
    mdl_detail(m, "pickle protocol %d of %s%s", m->pickle_protocol,
               m->pickle_class[0] ? m->pickle_class : "a builtin value", extra);
}

/* The payload was found: the detail says what and where; its problem, where it is. */
static void payload_detail(compat_model_info *m, size_t n, uint64_t off, int corrupt_before)
{
    char saved[sizeof m->detail];
    memcpy(saved, m->detail, sizeof saved);
    mdl_detail(m, "%s; payload: %s (%zu bytes at pickle byte offset %zu)", saved,
               compat_payload_name(m->payload), n, (size_t)off);
    if (m->corrupt && !corrupt_before) {
        char pre[96];
        snprintf(pre, sizeof pre, "in the payload at pickle byte offset %zu: ", (size_t)off);
        mdl_prefix_problem(m, pre);
    }
}

/* ---- a whole read --------------------------------------------------------------------------- */

typedef struct whole {
    const unsigned char *b;
    struct cand {
        int kind;
        const unsigned char *p;
        size_t n;
    } cands[32];
    size_t n_cands;
} whole;

/* Remember a byte string that may be the model. Raw bytes must start like a payload;
 * text-encoded ones (protocols 0-2) are decoded later, so only short strings (attribute and
 * parameter names, which an sklearn wrapper has dozens of) are left out. */
static void whole_candidate(void *ctx, int k, const unsigned char *p, size_t n, uint64_t off)
{
    (void)off;
    whole *w = ctx;
    if (!p || n < 16 || w->n_cands == sizeof w->cands / sizeof w->cands[0])
        return;
    if ((k == MDL_IT_BYTES || k == MDL_IT_STR) ? !looks_like_payload(p, n) : n < 64)
        return;
    w->cands[w->n_cands++] = (struct cand){k, p, n};
}

/*
 * After joblib's inline array data: find byte-string opcodes (B, 0x8e BINBYTES8, 0x96
 * BYTEARRAY8, C) whose contents start like an XGBoost payload and whose length fits.
 */
static void resync(whole *w, size_t len, size_t from)
{
    static const struct {
        const char *sig;
        size_t n;
    } sigs[] = {{"binf", 4}, {"CONFIG-offset:", 14}, {"{L\0\0\0\0\0\0\0", 9}, {"{\"", 2}};
    const unsigned char *b = w->b;
    for (size_t i = from; i + 2 < len; i++) {
        int hit = 0;
        for (size_t k = 0; k < sizeof sigs / sizeof sigs[0] && !hit; k++)
            hit = len - i >= sigs[k].n && !memcmp(b + i, sigs[k].sig, sigs[k].n);
        if (!hit)
            continue;
        static const struct {
            unsigned char op;
            size_t lb;
        } ops[] = {{'B', 4}, {0x8e, 8}, {0x96, 8}, {'C', 1}};
        for (size_t k = 0; k < 4; k++) {
            size_t lb = ops[k].lb;
            if (i < lb + 1 || b[i - lb - 1] != ops[k].op)
                continue;
            uint64_t n = 0;
            for (size_t q = lb; q-- > 0;)
                n = n << 8 | b[i - lb + q];
            if (n >= 16 && n <= len - i) {
                whole_candidate(w, MDL_IT_BYTES, b + i, (size_t)n, i);
                i += (size_t)n - 1;
                break;
            }
        }
    }
}

int mdl_pickle_read(const mdl_ctx *ctx, const unsigned char *b, size_t len, compat_model_info *m)
{
    whole w;
    memset(&w, 0, sizeof w);
    w.b = b;
    mdl_pk s;
    mdl_pk_init(&s, m, len);
    s.ctx = &w;
    s.candidate = whole_candidate;
    m->format = COMPAT_FMT_PICKLE;
    size_t used;
    int rc = mdl_pk_scan(&s, b, len, 0, 0, &used);
    if (rc == MDL_PK_STOPPED) { /* joblib's numpy data: look for the Booster's bytes further on */
        resync(&w, len, s.joblib_stop);
        rc = SMX_OK;
    }
    if (!rc)
        scan_detail(m, &s);
    mdl_pk_free(&s);
    if (rc)
        return rc;
    /* the embedded model: the first candidate that identifies as XGBoost bytes */
    for (size_t i = 0; i < w.n_cands; i++) {
        int corrupt = m->corrupt;
        rc = try_candidate(ctx, m, w.cands[i].kind, w.cands[i].p, w.cands[i].n);
        if (rc == SMX_ENOMEM)
            return rc;
        if (rc == 1) {
            payload_detail(m, m->payload_len, (uint64_t)(w.cands[i].p - b), corrupt);
            return SMX_OK;
        }
    }
    return SMX_OK;
}

/* ---- a read as it streams ---------------------------------------------------------------------
 */

enum { P_SCAN, P_BIG, P_END };
enum { BIG_GATHER, BIG_FEED, BIG_PASS };

typedef struct pstream {
    mdl_sreader r;
    const mdl_ctx *ctx;
    mdl_pk s;
    compat_model_info *m;
    int text;      /* the protocol 0/1 entry */
    int state;     /* P_* */
    int status;    /* SMX_EFORMAT (the problem is in m), SMX_ENOMEM, or SMX_OK */
    int scanned;   /* the scan reached STOP (1), or joblib's numpy data or a long argument (2) */
    smx_buf win;   /* what the scanner waits on */
    uint64_t next; /* file offset of the next byte the scanner gets (win[0] if any) */
    /* a string too long to wait for, passing by */
    int big_kind, big_mode, big_op;
    uint64_t big_left, big_off, big_at, big_n, big_out;
    unsigned char head[4096]; /* its first bytes (decoded), to sniff */
    size_t head_len;
    int lead;                  /* latin-1 decoding: a UTF-8 lead byte waiting, or -1 */
    mdl_sreader *payload;      /* the payload reader it goes to */
    int found, corrupt_before; /* the payload, and whether a problem came before it */
    uint64_t found_off, found_n;
} pstream;

static void stream_candidate(void *ctx, int k, const unsigned char *p, size_t n, uint64_t off)
{
    pstream *ps = ctx;
    if (ps->found || ps->status)
        return;
    if (!p) { /* too long to wait for: decided on its first bytes as they pass */
        ps->big_kind = k;
        ps->big_off = off;
        ps->big_mode = n >= 16 && k != MDL_IT_NONE ? BIG_GATHER : BIG_PASS;
        return;
    }
    if (n < 16 || ((k == MDL_IT_BYTES || k == MDL_IT_STR) ? !looks_like_payload(p, n) : n < 64))
        return;
    int corrupt = ps->m->corrupt;
    int rc = try_candidate(ps->ctx, ps->m, k, p, n);
    if (rc == SMX_ENOMEM)
        ps->status = SMX_ENOMEM;
    else if (rc == 1)
        ps->found = 1, ps->found_off = off, ps->found_n = ps->m->payload_len,
        ps->corrupt_before = corrupt;
}

/* Bytes of the string as XGBoost gets them (protocol 2 text: latin-1 from UTF-8); *bad when
 * they cannot be (a whole read skips such a candidate). */
static size_t big_decode(pstream *ps, const unsigned char *b, size_t n, unsigned char *out,
                         int *bad)
{
    if (ps->big_kind != MDL_IT_UNICODE) {
        memcpy(out, b, n);
        return n;
    }
    size_t k = 0;
    for (size_t i = 0; i < n && !*bad; i++) {
        if (ps->lead >= 0) {
            out[k++] = (unsigned char)((ps->lead & 0x1F) << 6 | (b[i] & 0x3F));
            ps->lead = -1;
        } else if (b[i] < 0x80) {
            out[k++] = b[i];
        } else if ((b[i] & 0xE0) == 0xC0 && (b[i] & 0x1F) <= 3) {
            ps->lead = b[i];
        } else {
            *bad = 1;
        }
    }
    return k;
}

/* The first bytes are gathered: a payload reader for them, if they start like one. */
static int big_decide(pstream *ps)
{
    compat_model_info *m = ps->m;
    ps->big_mode = BIG_PASS;
    if (!looks_like_payload(ps->head, ps->head_len))
        return SMX_OK;
    uint64_t size = ps->big_kind == MDL_IT_UNICODE ? MDL_SIZE_UNKNOWN : ps->big_n;
    ps->corrupt_before = m->corrupt;
    int rc = ps->ctx->payload_stream(ps->ctx, ps->head, ps->head_len, size, m, &ps->payload);
    if (rc)
        return rc;
    if (!ps->payload) {
        mdl_unknown(m,
                    COMPAT_UNKNOWN_WRITER | COMPAT_UNKNOWN_LEARNER | COMPAT_UNKNOWN_TREES |
                        COMPAT_UNKNOWN_ENCODING | COMPAT_UNKNOWN_INTEGRITY,
                    "the payload at pickle byte offset %llu (%llu bytes) is in a format that is "
                    "not read as it streams",
                    (unsigned long long)ps->big_off, (unsigned long long)ps->big_n);
        return SMX_OK;
    }
    ps->big_mode = BIG_FEED;
    return ps->payload->feed(ps->payload, ps->head, ps->head_len);
}

/* The string has passed: was it the payload? */
static int big_end(pstream *ps)
{
    compat_model_info *m = ps->m;
    int rc = SMX_OK;
    if (ps->big_mode == BIG_GATHER && (rc = big_decide(ps)))
        return rc;
    if (ps->payload) {
        rc = ps->payload->end(ps->payload);
        ps->payload->free(ps->payload);
        ps->payload = NULL;
        m->format = COMPAT_FMT_PICKLE;
        if (rc == MDL_NOT_XGBOOST)
            m->payload = COMPAT_PAYLOAD_NONE;
        if (rc == SMX_ENOMEM)
            return rc;
        if (m->payload != COMPAT_PAYLOAD_NONE)
            ps->found = 1, ps->found_off = ps->big_off, ps->found_n = ps->big_out;
    }
    ps->state = P_SCAN;
    return SMX_OK;
}

/* Bytes of the string passing by; returns how many of b[0..n) were its. */
static size_t big_bytes(pstream *ps, const unsigned char *b, size_t n)
{
    size_t k = ps->big_left < n ? (size_t)ps->big_left : n;
    unsigned char tmp[16384];
    for (size_t done = 0; done < k && ps->big_mode != BIG_PASS && !ps->status;) {
        size_t step = k - done < sizeof tmp ? k - done : sizeof tmp;
        int bad = 0;
        size_t dn = big_decode(ps, b + done, step, tmp, &bad);
        done += step;
        ps->big_out += dn;
        if (bad) { /* not latin-1: no payload (a whole read does not decode it either) */
            if (ps->payload)
                ps->payload->free(ps->payload), ps->payload = NULL, ps->m->payload = 0;
            ps->big_mode = BIG_PASS;
            break;
        }
        size_t q = 0;
        while (ps->big_mode == BIG_GATHER && q < dn && ps->head_len < sizeof ps->head)
            ps->head[ps->head_len++] = tmp[q++];
        if (ps->big_mode == BIG_GATHER && ps->head_len == sizeof ps->head)
            ps->status = big_decide(ps);
        if (ps->big_mode == BIG_FEED && q < dn && !ps->status)
            ps->status = ps->payload->feed(ps->payload, tmp + q, dn - q);
    }
    ps->big_left -= k;
    if (!ps->big_left && !ps->status)
        ps->status = big_end(ps);
    return k;
}

/* Scan what is at hand; a string too long to wait for starts passing by. */
static size_t scan_some(pstream *ps, const unsigned char *b, size_t n, int more)
{
    size_t used = 0;
    int rc = mdl_pk_scan(&ps->s, b, n, ps->next, more, &used);
    ps->next += used;
    if (rc == MDL_PK_BIG) {
        ps->state = P_BIG;
        ps->big_left = ps->big_n = ps->s.big_n;
        ps->big_at = ps->next;
        ps->big_out = ps->head_len = 0;
        ps->lead = -1;
        if (ps->found || ps->s.big_kind == MDL_IT_NONE)
            ps->big_mode = BIG_PASS;
    } else if (rc == MDL_PK_STOPPED) {
        if (ps->s.joblib_stop)
            mdl_unknown(ps->m,
                        COMPAT_UNKNOWN_WRITER | COMPAT_UNKNOWN_LEARNER | COMPAT_UNKNOWN_TREES |
                            COMPAT_UNKNOWN_ENCODING | COMPAT_UNKNOWN_INTEGRITY,
                        "joblib's inline numpy data at byte %zu is not read as the pickle "
                        "streams: the Booster's bytes after it were not looked for",
                        ps->s.joblib_stop);
        ps->state = P_END;
        ps->scanned = 2;
    } else if (rc == MDL_PK_DONE) {
        ps->state = P_END;
        ps->scanned = 1;
    } else if (rc != MDL_PK_MORE) {
        ps->state = P_END;
        ps->status = rc;
    }
    return used;
}

/* A protocol 0/1 "pickle" that names no global and does not scan: not convincingly a pickle,
 * so unrecognised bytes rather than a corrupt pickle. */
static int not_a_pickle(compat_model_info *m)
{
    m->format = COMPAT_FMT_UNKNOWN;
    m->corrupt = 0;
    m->problem[0] = 0;
    mdl_detail(m, "unrecognised bytes");
    return SMX_OK;
}

static int ps_feed(mdl_sreader *r, const unsigned char *b, size_t n)
{
    pstream *ps = (pstream *)r;
    while (n && ps->state != P_END && !ps->status) {
        if (ps->state == P_BIG) {
            size_t k = big_bytes(ps, b, n);
            ps->next += k;
            b += k;
            n -= k;
        } else if (!ps->win.len) { /* straight from the chunk; what the scan waits on is kept */
            size_t used = scan_some(ps, b, n, 1);
            b += used;
            n -= used;
            if (ps->state == P_SCAN && n) {
                if (smx_buf_append(&ps->win, b, n))
                    return SMX_ENOMEM;
                n = 0;
            }
        } else {
            size_t take = n < 65536 ? n : 65536;
            if (smx_buf_append(&ps->win, b, take))
                return SMX_ENOMEM;
            b += take;
            n -= take;
            size_t used = scan_some(ps, (const unsigned char *)ps->win.data, ps->win.len, 1);
            if (ps->state == P_BIG && used < ps->win.len) {
                size_t k =
                    big_bytes(ps, (const unsigned char *)ps->win.data + used, ps->win.len - used);
                ps->next += k;
                used += k;
            }
            memmove(ps->win.data, ps->win.data + used, ps->win.len - used);
            ps->win.len -= used;
        }
    }
    return ps->status == SMX_ENOMEM ? SMX_ENOMEM : SMX_OK;
}

static int ps_end(mdl_sreader *r)
{
    pstream *ps = (pstream *)r;
    compat_model_info *m = ps->m;
    if (ps->state == P_SCAN && !ps->status)
        scan_some(ps, (const unsigned char *)(ps->win.data ? ps->win.data : ""), ps->win.len, 0);
    if (ps->state == P_BIG && ps->payload) { /* a payload that never ended is none */
        ps->payload->free(ps->payload);
        ps->payload = NULL;
        m->payload = COMPAT_PAYLOAD_NONE;
    }
    if (ps->state == P_BIG) /* the data ends inside a string */
        mdl_corrupt(m,
                    "truncated pickle: a string at byte offset %llu announces %llu bytes, but "
                    "only %llu are left",
                    (unsigned long long)ps->big_at, (unsigned long long)ps->big_n,
                    (unsigned long long)(ps->big_n - ps->big_left));
    if (ps->status == SMX_ENOMEM)
        return SMX_ENOMEM;
    m->format = COMPAT_FMT_PICKLE;
    if (ps->scanned) {
        scan_detail(m, &ps->s);
        if (ps->found)
            payload_detail(m, (size_t)ps->found_n, ps->found_off, ps->corrupt_before);
        else if (m->payload != COMPAT_PAYLOAD_NONE && !ps->found)
            m->payload = COMPAT_PAYLOAD_NONE;
    } else { /* a pickle that does not scan to its end has no payload a whole read trusts */
        m->payload = COMPAT_PAYLOAD_NONE;
    }
    if (ps->text && m->corrupt && !m->n_pickle_globals)
        return not_a_pickle(m);
    mdl_pickle_classify(m);
    return SMX_OK;
}

static void ps_free(mdl_sreader *r)
{
    pstream *ps = (pstream *)r;
    if (ps->payload)
        ps->payload->free(ps->payload);
    mdl_pk_free(&ps->s);
    smx_buf_free(&ps->win);
    free(ps);
}

static int open_stream(const mdl_ctx *c, uint64_t size, compat_model_info *m, mdl_sreader **out,
                       int text)
{
    pstream *ps = calloc(1, sizeof *ps);
    if (!ps)
        return SMX_ENOMEM;
    ps->r = (mdl_sreader){ps_feed, ps_end, ps_free};
    ps->ctx = c;
    ps->m = m;
    ps->text = text;
    ps->lead = -1;
    mdl_pk_init(&ps->s, m, size);
    ps->s.ctx = ps;
    ps->s.candidate = stream_candidate;
    m->format = COMPAT_FMT_PICKLE;
    *out = &ps->r;
    return SMX_OK;
}

static int proto_stream(const mdl_ctx *c, uint64_t size, compat_model_info *m, mdl_sreader **out)
{
    return open_stream(c, size, m, out, 0);
}

static int text_stream(const mdl_ctx *c, uint64_t size, compat_model_info *m, mdl_sreader **out)
{
    return open_stream(c, size, m, out, 1);
}

/* ---- the entries ------------------------------------------------------------------------ */

int mdl_pickle_sniff(const unsigned char *b, size_t len)
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

/* Pickles whose top-level object is not an XGBoost one. */
void mdl_pickle_classify(compat_model_info *m)
{
    const char *c = m->pickle_class;
    int xgb = 0;
    for (size_t i = 0; i < m->n_pickle_globals; i++)
        xgb |= !strncmp(m->pickle_globals[i], "xgboost.", 8);
    char what[128];
    if (!strncmp(c, "sklearn.", 8)) {
        snprintf(what, sizeof what, "scikit-learn pickle (%.60s)%s", c,
                 xgb ? " wrapping an XGBoost model" : "");
        mdl_foreign(m, what);
    } else if (!strncmp(c, "lightgbm.", 9)) {
        mdl_foreign(m, "LightGBM pickle");
    } else if (!strncmp(c, "catboost.", 9)) {
        mdl_foreign(m, "CatBoost pickle");
    }
}

static int proto_sniff(const unsigned char *b, size_t len)
{
    return len >= 2 && b[0] == 0x80 && b[1] <= 5;
}

static int proto_read(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m)
{
    int rc = mdl_pickle_read(c, b, len, m);
    mdl_pickle_classify(m);
    return rc;
}

/* Protocol 0/1 pickles have no PROTO opcode: what looks like one is tried last. */
static int text_read(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m)
{
    int rc = mdl_pickle_read(c, b, len, m);
    if (rc == SMX_EFORMAT && !m->n_pickle_globals)
        return not_a_pickle(m);
    mdl_pickle_classify(m);
    return rc;
}

const mdl_format mdl_pickle = {.name = "pickle (protocol 2+)",
                               .sniff = proto_sniff,
                               .read = proto_read,
                               .stream = proto_stream};
const mdl_format mdl_pickle_text = {.name = "pickle (protocol 0/1)",
                                    .sniff = mdl_pickle_sniff,
                                    .read = text_read,
                                    .stream = text_stream};
