/*
 * Python pickles, scanned and never executed (formats.md section 4).
 *
 * The container calls pickle.load before load_model, so for a pickle what matters is the
 * protocol (5 needs Python 3.8+), the classes it references (an xgboost.core.Booster, an
 * sklearn wrapper such as xgboost.sklearn.XGBClassifier, or something else entirely) and the
 * bytes of the Booster's "handle": the model XGBoost will receive. We walk the opcode stream
 * once, tracking only what is needed to name globals (GLOBAL, and STACK_GLOBAL with the strings
 * and memo entries that feed it) and to collect the byte strings (bytes, bytearray, protocol 2's
 * latin-1 unicode, Python 2 str). Each candidate is then identified in turn: a legacy binary,
 * a "CONFIG-offset:" snapshot, a JSON or a UBJSON snapshot, or a plain JSON/UBJSON model.
 */
#include "model_private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IT_RAWUNI: protocol 0 'V' (raw-unicode-escape); IT_QSTR: protocol 0 'S' (a quoted repr) */
typedef enum { IT_NONE, IT_STR, IT_BYTES, IT_UNICODE, IT_RAWUNI, IT_QSTR } it_kind;

typedef struct item {
    it_kind kind;
    const unsigned char *p;
    size_t n;
} item;

typedef struct pk {
    const unsigned char *b;
    size_t len, pos;
    compat_model_info *m;
    item last[2];
    item *memo;
    size_t n_memo, cap_memo, next_memo;
    item cands[32];
    size_t n_cands;
    char pending_attr[32];
    int first_class_done;
    int joblib, oob;
    size_t joblib_stop;
    int proto;      /* from PROTO, -1 before one */
    int binary_ops; /* an opcode protocol 0 does not have was seen (then protocol 1) */
} pk;

enum { MEMO_MAX = 1 << 20 };

static void push(pk *s, it_kind k, const unsigned char *p, size_t n)
{
    s->last[0] = s->last[1];
    s->last[1] = (item){k, p, n};
}

static int memo_put(pk *s, size_t idx)
{
    if (idx >= MEMO_MAX)
        return 0;
    if (idx >= s->cap_memo) {
        size_t nc = s->cap_memo ? s->cap_memo : 64;
        while (nc <= idx)
            nc *= 2;
        item *v = realloc(s->memo, nc * sizeof *v);
        if (!v)
            return SMX_ENOMEM;
        memset(v + s->cap_memo, 0, (nc - s->cap_memo) * sizeof *v);
        s->memo = v;
        s->cap_memo = nc;
    }
    s->memo[idx] = s->last[1];
    if (idx >= s->n_memo)
        s->n_memo = idx + 1;
    return 0;
}

static void memo_get(pk *s, size_t idx)
{
    item it = idx < s->n_memo ? s->memo[idx] : (item){IT_NONE, NULL, 0};
    push(s, it.kind, it.p, it.n);
}

static int trunc_err(pk *s, size_t at, int op, const char *what)
{
    return mdl_corrupt(s->m,
                       "truncated pickle: opcode 0x%02x at byte offset %zu expects %s, but the "
                       "data ends at byte %zu",
                       op, at, what, s->len);
}

static uint64_t le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* A newline-terminated argument; *n excludes the newline. */
static int line(pk *s, size_t at, int op, const unsigned char **p, size_t *n)
{
    const unsigned char *e = memchr(s->b + s->pos, '\n', s->len - s->pos);
    if (!e)
        return trunc_err(s, at, op, "a newline-terminated argument");
    *p = s->b + s->pos;
    *n = (size_t)(e - *p);
    s->pos += *n + 1;
    return 0;
}

static int counted(pk *s, size_t at, int op, size_t lenbytes, const unsigned char **p, size_t *n)
{
    if (s->len - s->pos < lenbytes)
        return trunc_err(s, at, op, "a length");
    uint64_t l = le(s->b + s->pos, lenbytes);
    s->pos += lenbytes;
    if (l > s->len - s->pos)
        return mdl_corrupt(s->m,
                           "truncated pickle: opcode 0x%02x at byte offset %zu announces %llu "
                           "bytes, but only %zu are left",
                           op, at, (unsigned long long)l, s->len - s->pos);
    *p = s->b + s->pos;
    *n = (size_t)l;
    s->pos += (size_t)l;
    return 0;
}

static int add_global(pk *s, const unsigned char *mod, size_t ml, const unsigned char *name,
                      size_t nl)
{
    char g[256];
    snprintf(g, sizeof g, "%.*s %.*s", (int)(ml < 120 ? ml : 120), (const char *)mod,
             (int)(nl < 120 ? nl : 120), (const char *)name);
    compat_model_info *m = s->m;
    for (size_t i = 0; i < m->n_pickle_globals; i++)
        if (!strcmp(m->pickle_globals[i], g))
            goto seen;
    if (m->n_pickle_globals < 256 &&
        mdl_add_str(&m->pickle_globals, &m->n_pickle_globals, g, strlen(g)))
        return SMX_ENOMEM;
seen:
    if (!s->first_class_done && strcmp(g, "copyreg _reconstructor") &&
        strcmp(g, "copy_reg _reconstructor") && strcmp(g, "__builtin__ object") &&
        strcmp(g, "builtins object")) {
        s->first_class_done = 1;
        mdl_copy(m->pickle_class, sizeof m->pickle_class, g, strlen(g));
    }
    if (!strncmp(g, "joblib.", 7))
        s->joblib = 1;
    push(s, IT_NONE, NULL, 0);
    return 0;
}

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

/* Remember a byte string that may be the model. Raw bytes must start like a payload;
 * text-encoded ones (protocols 0-2) are decoded later, so only short strings (attribute and
 * parameter names, which an sklearn wrapper has dozens of) are left out. */
static void candidate(pk *s, it_kind k, const unsigned char *p, size_t n)
{
    if (n < 16 || s->n_cands == sizeof s->cands / sizeof s->cands[0])
        return;
    if ((k == IT_BYTES || k == IT_STR) ? !looks_like_payload(p, n) : n < 64)
        return;
    s->cands[s->n_cands++] = (item){k, p, n};
}

static void string_pushed(pk *s, it_kind k, const unsigned char *p, size_t n)
{
    push(s, k, p, n);
    if (k != IT_BYTES && n < sizeof s->pending_attr &&
        ((n == 14 && !memcmp(p, "best_iteration", 14)) ||
         (n == 16 && !memcmp(p, "best_ntree_limit", 16)) ||
         (n == 10 && !memcmp(p, "best_score", 10)))) {
        memcpy(s->pending_attr, p, n);
        s->pending_attr[n] = 0;
        return;
    }
    s->pending_attr[0] = 0;
    candidate(s, k, p, n);
}

static int value_pushed(pk *s, const char *text)
{
    if (s->pending_attr[0]) {
        int have = 0;
        for (size_t i = 0; i < s->m->n_attrs; i++)
            have |= !strcmp(s->m->attrs[i].key, s->pending_attr);
        if (!have &&
            mdl_add_attr(s->m, s->pending_attr, strlen(s->pending_attr), text, strlen(text)))
            return SMX_ENOMEM;
    }
    s->pending_attr[0] = 0;
    push(s, IT_NONE, NULL, 0);
    return 0;
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

static unsigned char *decode(it_kind k, const unsigned char *p, size_t n, size_t *out_n)
{
    switch (k) {
    case IT_UNICODE:
        return latin1(p, n, out_n);
    case IT_RAWUNI:
        return rawuni(p, n, out_n);
    case IT_QSTR:
        return qstr(p, n, out_n);
    default:
        return NULL;
    }
}

/*
 * After joblib's inline array data: find byte-string opcodes (B, 0x8e BINBYTES8, 0x96
 * BYTEARRAY8, C) whose contents start like an XGBoost payload and whose length fits.
 */
static void resync(pk *s, size_t from)
{
    static const struct {
        const char *sig;
        size_t n;
    } sigs[] = {{"binf", 4}, {"CONFIG-offset:", 14}, {"{L\0\0\0\0\0\0\0", 9}, {"{\"", 2}};
    for (size_t i = from; i + 2 < s->len; i++) {
        int hit = 0;
        for (size_t k = 0; k < sizeof sigs / sizeof sigs[0] && !hit; k++)
            hit = s->len - i >= sigs[k].n && !memcmp(s->b + i, sigs[k].sig, sigs[k].n);
        if (!hit)
            continue;
        static const struct {
            unsigned char op;
            size_t lb;
        } ops[] = {{'B', 4}, {0x8e, 8}, {0x96, 8}, {'C', 1}};
        for (size_t k = 0; k < 4; k++) {
            size_t lb = ops[k].lb;
            if (i < lb + 1 || s->b[i - lb - 1] != ops[k].op)
                continue;
            uint64_t n = le(s->b + i - lb, lb);
            if (n >= 16 && n <= s->len - i) {
                candidate(s, IT_BYTES, s->b + i, (size_t)n);
                i += (size_t)n - 1;
                break;
            }
        }
    }
}

#define NOT_MINE (-1) /* an opcode handler does not know this opcode */

/* Opcodes without an argument: marks, containers, tuples, booleans, None, reductions. */
static int op_plain(pk *s, int op)
{
    switch (op) {
    case '(':
    case '0':
    case '1':
    case '2':
    case 'N':
    case 'Q':
    case 'R':
    case 'a':
    case 'b':
    case 'd':
    case '}':
    case 'e':
    case 'l':
    case ']':
    case 'o':
    case 's':
    case 't':
    case ')':
    case 'u':
    case 0x81:
    case 0x85:
    case 0x86:
    case 0x87:
    case 0x88:
    case 0x89:
    case 0x8f:
    case 0x90:
    case 0x91:
    case 0x92:
    case 0x97:
    case 0x98:
        s->binary_ops |= op == '}' || op == ']' || op == ')' || op == 'e' || op == 'u';
        if (op == 0x88 || op == 0x89)
            return value_pushed(s, op == 0x88 ? "True" : "False");
        if (op != '0' && op != '1' && op != '2' && op != '(')
            push(s, IT_NONE, NULL, 0);
        if (op == 0x97)
            s->oob = 1;
        return 0;
    default:
        return NOT_MINE;
    }
}

/* A decimal memo index on its own line (protocol 0 PUT and GET). */
static int line_index(pk *s, size_t at, int op, size_t *idx)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    int rc = line(s, at, op, &p, &n);
    if (rc)
        return rc;
    char num[48];
    snprintf(num, sizeof num, "%.*s", (int)(n < 40 ? n : 40), (const char *)p);
    *idx = (size_t)strtoul(num, NULL, 10);
    return 0;
}

/* The memo: MEMOIZE, PUT/BINPUT/LONG_BINPUT, GET/BINGET/LONG_BINGET. */
static int op_memo(pk *s, size_t at, int op)
{
    size_t idx, n = op == 'q' || op == 'h' ? 1 : 4;
    int rc;
    switch (op) {
    case 0x94: /* MEMOIZE */
        return memo_put(s, s->next_memo++);
    case 'p': /* PUT */
        return (rc = line_index(s, at, op, &idx)) ? rc : memo_put(s, idx);
    case 'g': /* GET */
        if ((rc = line_index(s, at, op, &idx)) == 0)
            memo_get(s, idx);
        return rc;
    case 'q':
    case 'r':
    case 'h':
    case 'j':
        if (s->len - s->pos < n)
            return trunc_err(s, at, op, "a memo index");
        idx = (size_t)le(s->b + s->pos, n);
        s->pos += n;
        if (op == 'h' || op == 'j') {
            memo_get(s, idx);
            return 0;
        }
        s->binary_ops = 1;
        return memo_put(s, idx);
    default:
        return NOT_MINE;
    }
}

/* A binary number (BININT, BININT1, BININT2, BINFLOAT, EXT1/2/4) as text in num. */
static int binary_number(pk *s, size_t at, int op, char *num, size_t cap)
{
    size_t n = op == 'J' || op == 0x84 ? 4 : op == 'K' || op == 0x82 ? 1 : op == 'G' ? 8 : 2;
    if (s->len - s->pos < n)
        return trunc_err(s, at, op, "its argument");
    if (op == 'J') {
        snprintf(num, cap, "%d", (int32_t)le(s->b + s->pos, 4));
    } else if (op == 'G') {
        uint64_t u = 0;
        for (size_t i = 0; i < 8; i++)
            u = u << 8 | s->b[s->pos + i];
        double dv;
        memcpy(&dv, &u, 8);
        snprintf(num, cap, "%.17g", dv);
    } else {
        snprintf(num, cap, "%llu", (unsigned long long)le(s->b + s->pos, n));
    }
    s->pos += n;
    s->binary_ops = 1;
    return 0;
}

/* Numbers: text (FLOAT, INT, LONG, PERSID), binary, and LONG1/LONG4. */
static int op_number(pk *s, size_t at, int op)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    char num[48];
    int rc;
    switch (op) {
    case 'F':
    case 'I':
    case 'L':
    case 'P':
        if ((rc = line(s, at, op, &p, &n)))
            return rc;
        snprintf(num, sizeof num, "%.*s", (int)(n < 40 ? n : 40), (const char *)p);
        size_t nl = strlen(num);
        if (nl && num[nl - 1] == 'L') /* Python 2 long: "10L" */
            num[nl - 1] = 0;
        return value_pushed(s, num);
    case 'J':
    case 'K':
    case 'M':
    case 'G':
    case 0x82:
    case 0x83:
    case 0x84:
        return (rc = binary_number(s, at, op, num, sizeof num)) ? rc : value_pushed(s, num);
    case 0x8a:
    case 0x8b: /* LONG1, LONG4 */
        return (rc = counted(s, at, op, op == 0x8a ? 1 : 4, &p, &n)) ? rc : value_pushed(s, "long");
    default:
        return NOT_MINE;
    }
}

/* Strings and bytes: protocol 0 text (STRING, UNICODE), counted ones (2+ and 3+). */
static int op_string(pk *s, size_t at, int op)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    int rc;
    switch (op) {
    case 'S':
    case 'V':
        if ((rc = line(s, at, op, &p, &n)) == 0)
            string_pushed(s, op == 'S' ? IT_QSTR : IT_RAWUNI, p, n);
        return rc;
    case 'T':
    case 'U':
    case 'X':
    case 0x8c:
    case 0x8d:
    case 'B':
    case 'C':
    case 0x8e:
    case 0x96: {
        size_t lb = op == 'U' || op == 'C' || op == 0x8c     ? 1
                    : op == 0x8d || op == 0x8e || op == 0x96 ? 8
                                                             : 4;
        if ((rc = counted(s, at, op, lb, &p, &n)) == 0) {
            it_kind k = op == 'T' || op == 'U'                  ? IT_STR
                        : op == 'X' || op == 0x8c || op == 0x8d ? IT_UNICODE
                                                                : IT_BYTES;
            string_pushed(s, k, p, n);
        }
        s->binary_ops = 1;
        return rc;
    }
    default:
        return NOT_MINE;
    }
}

/* Classes: GLOBAL and INST ("module\nname\n"), STACK_GLOBAL (the last two strings). */
static int op_global(pk *s, size_t at, int op)
{
    const unsigned char *p = NULL, *p2 = NULL;
    size_t n = 0, n2 = 0;
    int rc;
    if (op == 'c' || op == 'i') {
        if ((rc = line(s, at, op, &p, &n)) == 0 && (rc = line(s, at, op, &p2, &n2)) == 0)
            rc = add_global(s, p, n, p2, n2);
        return rc;
    }
    if (op != 0x93)
        return NOT_MINE;
    item a = s->last[0], b = s->last[1];
    if (a.kind == IT_NONE || b.kind == IT_NONE)
        return add_global(s, (const unsigned char *)"?", 1, (const unsigned char *)"?", 1);
    return add_global(s, a.p, a.n, b.p, b.n);
}

/* Walk the opcodes to STOP. An opcode no handler knows ends the walk: in a joblib pickle
 * (numpy array bytes follow), or as corruption. */
static int scan(pk *s)
{
    s->proto = -1;
    for (;;) {
        if (s->pos >= s->len)
            return mdl_corrupt(s->m,
                               "truncated pickle: the data ends at byte offset %zu without the "
                               "STOP opcode ('.')",
                               s->pos);
        size_t at = s->pos;
        int op = s->b[s->pos++], rc;
        if (op == '.') { /* STOP */
            s->m->pickle_protocol = s->proto >= 0 ? s->proto : s->binary_ops ? 1 : 0;
            return 0;
        }
        if (op == 0x80) { /* PROTO */
            if (s->pos >= s->len)
                return trunc_err(s, at, op, "the protocol number");
            s->proto = s->b[s->pos++];
            if (s->proto > 5)
                return mdl_corrupt(s->m,
                                   "corrupt pickle: protocol %d at byte offset %zu, expected 0-5",
                                   s->proto, at);
            continue;
        }
        if (op == 0x95) { /* FRAME */
            if (s->len - s->pos < 8)
                return trunc_err(s, at, op, "an 8-byte frame length");
            s->pos += 8;
            continue;
        }
        if ((rc = op_plain(s, op)) == NOT_MINE && (rc = op_memo(s, at, op)) == NOT_MINE &&
            (rc = op_number(s, at, op)) == NOT_MINE && (rc = op_string(s, at, op)) == NOT_MINE &&
            (rc = op_global(s, at, op)) == NOT_MINE) {
            if (!s->joblib)
                return mdl_corrupt(s->m, "corrupt pickle: unknown opcode 0x%02x at byte offset %zu",
                                   op, at);
            /* joblib writes numpy array bytes between opcodes, which only its own unpickler
             * can step over; look for the Booster's bytes further on */
            resync(s, at);
            s->m->pickle_joblib_arrays = 1;
            s->joblib_stop = at;
            s->m->pickle_protocol = s->proto >= 0 ? s->proto : 1;
            return 0;
        }
        if (rc)
            return rc;
    }
}

int mdl_pickle_read(const mdl_ctx *ctx, const unsigned char *b, size_t len, compat_model_info *m)
{
    pk s;
    memset(&s, 0, sizeof s);
    s.b = b;
    s.len = len;
    s.m = m;
    m->format = COMPAT_FMT_PICKLE;
    int rc = scan(&s);
    free(s.memo);
    if (rc)
        return rc;
    m->pickle_is_booster = !strcmp(m->pickle_class, "xgboost.core Booster");
    char extra[128] = "";
    if (m->pickle_joblib_arrays)
        snprintf(extra, sizeof extra, ", joblib numpy data inline at byte %zu", s.joblib_stop);
    else if (s.oob)
        snprintf(extra, sizeof extra, ", out-of-band buffers (protocol 5 NEXT_BUFFER)");
    mdl_detail(m, "pickle protocol %d of %s%s", m->pickle_protocol,
               m->pickle_class[0] ? m->pickle_class : "a builtin value", extra);

    /* the embedded model: the first candidate that identifies as XGBoost bytes */
    for (size_t i = 0; i < s.n_cands; i++) {
        item c = s.cands[i];
        unsigned char *own = NULL;
        const unsigned char *p = c.p;
        size_t n = c.n;
        if (c.kind == IT_UNICODE || c.kind == IT_RAWUNI || c.kind == IT_QSTR) {
            /* decode only what starts like a payload (the head may end mid-escape) */
            size_t head = c.kind == IT_QSTR || n < 4096 ? n : 4096, hn = 0;
            unsigned char *h = NULL;
            for (int tries = 0; head > 0 && !(h = decode(c.kind, p, head, &hn)) && tries < 8;
                 tries++) /* a cut inside an escape or a UTF-8 sequence: back off a little */
                head = c.kind != IT_QSTR && head > 12 ? head - 3 : 0;
            int ok = h && looks_like_payload(h, hn);
            free(h);
            if (!ok)
                continue;
            if (!(own = decode(c.kind, p, n, &n)))
                continue;
            p = own;
        } else if (!looks_like_payload(p, n)) {
            continue;
        }
        char saved_detail[sizeof m->detail];
        memcpy(saved_detail, m->detail, sizeof saved_detail);
        rc = ctx->payload(ctx, p, n, m);
        m->format = COMPAT_FMT_PICKLE;
        if (m->payload == COMPAT_PAYLOAD_NONE) {
            free(own);
            continue;
        }
        m->payload_bytes = own ? own : malloc(n ? n : 1);
        if (!m->payload_bytes)
            return SMX_ENOMEM;
        if (!own)
            memcpy(m->payload_bytes, p, n);
        m->payload_len = n;
        mdl_detail(m, "%s; payload: %s (%zu bytes at pickle byte offset %zu)", saved_detail,
                   compat_payload_name(m->payload), n, (size_t)(c.p - b));
        if (m->corrupt) {
            char pre[96];
            snprintf(pre, sizeof pre,
                     "in the payload at pickle byte offset %zu: ", (size_t)(c.p - b));
            mdl_prefix_problem(m, pre);
        }
        return rc == SMX_ENOMEM ? rc : SMX_OK;
    }
    return SMX_OK;
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
    if (rc == SMX_EFORMAT && !m->n_pickle_globals) {
        /* not convincingly a pickle after all */
        m->format = COMPAT_FMT_UNKNOWN;
        m->corrupt = 0;
        m->problem[0] = 0;
        mdl_detail(m, "unrecognised bytes");
        return SMX_OK;
    }
    mdl_pickle_classify(m);
    return rc;
}

const mdl_format mdl_pickle = {
    .name = "pickle (protocol 2+)", .sniff = proto_sniff, .read = proto_read};
const mdl_format mdl_pickle_text = {
    .name = "pickle (protocol 0/1)", .sniff = mdl_pickle_sniff, .read = text_read};
