/*
 * The opcode scanner of Python pickles (formats.md section 4), shared by a whole read and a
 * read as the file streams (pickle.c). A pickle is never executed: we walk its opcodes once,
 * tracking only what is needed to name globals (GLOBAL, and STACK_GLOBAL with the strings and
 * memo entries that feed it), to date the protocol, to pick up the attributes the Python side
 * keeps (best_iteration...), and to hand every byte string that may be the model to the
 * caller (bytes, bytearray, protocol 2's latin-1 unicode, Python 2 str).
 *
 * The scanner works on the bytes at hand (the whole file, or a window of it) and never keeps
 * a pointer into them past an opcode: the strings it must remember (the last two pushed, the
 * memoized ones) are copied, their first ITEM_COPY bytes only, which is all a name needs.
 * An opcode whose argument is not complete yet waits (MDL_PK_MORE) and is read again from its
 * start; a string too long to wait for (more than MDL_PK_WINDOW bytes) is handed over as it
 * streams (MDL_PK_BIG), its bytes passing by without being held.
 */
#include "model_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MEMO_MAX = 1 << 20, COPIES_MAX = 16 << 20 };

static int item_put(mdl_pk *s, int k, const unsigned char *p, size_t n)
{
    s->last[0] = s->last[1];
    mdl_pk_item *it = &s->last[1];
    it->kind = k;
    it->n = n;
    it->lost = 0;
    it->len = p ? (n < sizeof it->d ? n : sizeof it->d) : 0;
    if (it->len)
        memcpy(it->d, p, it->len);
    return 0;
}

static void push(mdl_pk *s, int k, const unsigned char *p, size_t n)
{
    item_put(s, k, p, n);
}

static int memo_put(mdl_pk *s, size_t idx)
{
    if (idx >= MEMO_MAX)
        return 0;
    if (idx >= s->cap_memo) {
        size_t nc = s->cap_memo ? s->cap_memo : 64;
        while (nc <= idx)
            nc *= 2;
        struct mdl_pk_memo *v = realloc(s->memo, nc * sizeof *v);
        if (!v)
            return SMX_ENOMEM;
        memset(v + s->cap_memo, 0, (nc - s->cap_memo) * sizeof *v);
        s->memo = v;
        s->cap_memo = nc;
    }
    const mdl_pk_item *it = &s->last[1];
    struct mdl_pk_memo *e = &s->memo[idx];
    e->kind = it->kind;
    e->n = it->n;
    e->len = 0;
    e->lost = 0;
    if (it->len && s->copies.len + it->len <= COPIES_MAX) {
        e->copy = s->copies.len;
        e->len = it->len;
        if (smx_buf_append(&s->copies, it->d, it->len))
            return SMX_ENOMEM;
    } else if (it->len) {
        e->lost = 1; /* too many names: this one is not kept */
    }
    if (idx >= s->n_memo)
        s->n_memo = idx + 1;
    return 0;
}

static void memo_get(mdl_pk *s, size_t idx)
{
    if (idx >= s->n_memo) {
        push(s, MDL_IT_NONE, NULL, 0);
        return;
    }
    const struct mdl_pk_memo *e = &s->memo[idx];
    push(s, e->kind, e->len ? (const unsigned char *)s->copies.data + e->copy : NULL, e->n);
    s->last[1].lost = e->lost;
}

static int trunc_err(mdl_pk *s, size_t at, int op, const char *what)
{
    if (s->more)
        return MDL_PK_MORE;
    return mdl_corrupt(s->m,
                       "truncated pickle: opcode 0x%02x at byte offset %zu expects %s, but the "
                       "data ends at byte %zu",
                       op, at, what, (size_t)(s->base + s->len));
}

static uint64_t le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static size_t left(const mdl_pk *s)
{
    return s->len - s->pos;
}

/* Bytes from here to the end of the file, as far as known (UINT64_MAX: not known). */
static uint64_t rest(const mdl_pk *s)
{
    uint64_t here = s->base + s->pos;
    if (!s->more)
        return left(s);
    return s->total == MDL_SIZE_UNKNOWN || s->total < here ? UINT64_MAX : s->total - here;
}

/* A newline-terminated argument; *n excludes the newline. */
static int line(mdl_pk *s, size_t at, int op, const unsigned char **p, size_t *n)
{
    const unsigned char *e = memchr(s->b + s->pos, '\n', left(s));
    if (!e && s->more && left(s) > MDL_PK_WINDOW) {
        mdl_unknown(s->m, COMPAT_UNKNOWN_PICKLE | COMPAT_UNKNOWN_INTEGRITY,
                    "opcode 0x%02x at byte offset %zu has an argument longer than %d MiB: the "
                    "pickle is not read further",
                    op, at, MDL_PK_WINDOW >> 20);
        return MDL_PK_STOPPED;
    }
    if (!e)
        return trunc_err(s, at, op, "a newline-terminated argument");
    *p = s->b + s->pos;
    *n = (size_t)(e - *p);
    s->pos += *n + 1;
    return 0;
}

/* A length-prefixed argument. One longer than MDL_PK_WINDOW that is not all at hand is
 * MDL_PK_BIG: *p NULL, *n its length, its bytes to come. */
static int counted(mdl_pk *s, size_t at, int op, size_t lenbytes, const unsigned char **p,
                   size_t *n)
{
    if (left(s) < lenbytes)
        return trunc_err(s, at, op, "a length");
    uint64_t l = le(s->b + s->pos, lenbytes);
    uint64_t r = rest(s) - lenbytes;
    if (l > r || (!s->more && l > left(s) - lenbytes))
        return mdl_corrupt(s->m,
                           "truncated pickle: opcode 0x%02x at byte offset %zu announces %llu "
                           "bytes, but only %zu are left",
                           op, at, (unsigned long long)l, (size_t)r);
    if (l > left(s) - lenbytes) {
        if (l <= MDL_PK_WINDOW)
            return MDL_PK_MORE;
        s->pos += lenbytes;
        *p = NULL;
        *n = (size_t)l;
        return MDL_PK_BIG;
    }
    s->pos += lenbytes;
    *p = s->b + s->pos;
    *n = (size_t)l;
    s->pos += (size_t)l;
    return 0;
}

static int add_global(mdl_pk *s, const unsigned char *mod, size_t ml, const unsigned char *name,
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
    push(s, MDL_IT_NONE, NULL, 0);
    return 0;
}

static void string_pushed(mdl_pk *s, int k, const unsigned char *p, size_t n, size_t at)
{
    push(s, k, p, n);
    if (p && k != MDL_IT_BYTES && n < sizeof s->pending_attr &&
        ((n == 14 && !memcmp(p, "best_iteration", 14)) ||
         (n == 16 && !memcmp(p, "best_ntree_limit", 16)) ||
         (n == 10 && !memcmp(p, "best_score", 10)))) {
        memcpy(s->pending_attr, p, n);
        s->pending_attr[n] = 0;
        return;
    }
    s->pending_attr[0] = 0;
    if (s->candidate)
        s->candidate(s->ctx, k, p, n, at);
}

static int value_pushed(mdl_pk *s, const char *text)
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
    push(s, MDL_IT_NONE, NULL, 0);
    return 0;
}

#define NOT_MINE (-1) /* an opcode handler does not know this opcode */

/* Opcodes without an argument: marks, containers, tuples, booleans, None, reductions. */
static int op_plain(mdl_pk *s, int op)
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
            push(s, MDL_IT_NONE, NULL, 0);
        if (op == 0x97)
            s->oob = 1;
        return 0;
    default:
        return NOT_MINE;
    }
}

/* A decimal memo index on its own line (protocol 0 PUT and GET). */
static int line_index(mdl_pk *s, size_t at, int op, size_t *idx)
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
static int op_memo(mdl_pk *s, size_t at, int op)
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
        if (left(s) < n)
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
static int binary_number(mdl_pk *s, size_t at, int op, char *num, size_t cap)
{
    size_t n = op == 'J' || op == 0x84 ? 4 : op == 'K' || op == 0x82 ? 1 : op == 'G' ? 8 : 2;
    if (left(s) < n)
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
static int op_number(mdl_pk *s, size_t at, int op)
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
        rc = counted(s, at, op, op == 0x8a ? 1 : 4, &p, &n);
        if (rc == MDL_PK_BIG) { /* a number of megabytes: its bytes pass by */
            s->big_n = n;
            s->big_kind = MDL_IT_NONE;
        }
        if (rc == 0 || rc == MDL_PK_BIG) {
            int r2 = value_pushed(s, "long");
            return r2 ? r2 : rc;
        }
        return rc;
    default:
        return NOT_MINE;
    }
}

/* Strings and bytes: protocol 0 text (STRING, UNICODE), counted ones (2+ and 3+). */
static int op_string(mdl_pk *s, size_t at, int op)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    int rc;
    switch (op) {
    case 'S':
    case 'V':
        if ((rc = line(s, at, op, &p, &n)) == 0)
            string_pushed(s, op == 'S' ? MDL_IT_QSTR : MDL_IT_RAWUNI, p, n, at + 1);
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
        int k = op == 'T' || op == 'U'                  ? MDL_IT_STR
                : op == 'X' || op == 0x8c || op == 0x8d ? MDL_IT_UNICODE
                                                        : MDL_IT_BYTES;
        rc = counted(s, at, op, lb, &p, &n);
        if (rc == 0 || rc == MDL_PK_BIG) {
            s->big_n = n;
            s->big_kind = k;
            string_pushed(s, k, p, n, s->base + s->pos - (p ? n : 0));
            s->binary_ops = 1;
        }
        return rc;
    }
    default:
        return NOT_MINE;
    }
}

/* Classes: GLOBAL and INST ("module\nname\n"), STACK_GLOBAL (the last two strings). */
static int op_global(mdl_pk *s, size_t at, int op)
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
    mdl_pk_item a = s->last[0], b = s->last[1];
    if (a.lost || b.lost)
        mdl_unknown(s->m, COMPAT_UNKNOWN_PICKLE,
                    "the pickle memoizes more than %d MiB of names: a class it names by the "
                    "memo is not known",
                    COPIES_MAX >> 20);
    if (a.kind == MDL_IT_NONE || b.kind == MDL_IT_NONE || a.lost || b.lost)
        return add_global(s, (const unsigned char *)"?", 1, (const unsigned char *)"?", 1);
    return add_global(s, a.d, a.len, b.d, b.len);
}

/* One opcode at s->pos; *stop set at STOP. */
static int op_one(mdl_pk *s, int *stop)
{
    size_t at = (size_t)(s->base + s->pos);
    int op = s->b[s->pos++], rc;
    if (op == '.') { /* STOP */
        s->m->pickle_protocol = s->proto >= 0 ? s->proto : s->binary_ops ? 1 : 0;
        *stop = 1;
        return 0;
    }
    if (op == 0x80) { /* PROTO */
        if (!left(s))
            return trunc_err(s, at, op, "the protocol number");
        s->proto = s->b[s->pos++];
        if (s->proto > 5)
            return mdl_corrupt(s->m, "corrupt pickle: protocol %d at byte offset %zu, expected 0-5",
                               s->proto, at);
        return 0;
    }
    if (op == 0x95) { /* FRAME */
        if (left(s) < 8)
            return trunc_err(s, at, op, "an 8-byte frame length");
        s->pos += 8;
        return 0;
    }
    if ((rc = op_plain(s, op)) == NOT_MINE && (rc = op_memo(s, at, op)) == NOT_MINE &&
        (rc = op_number(s, at, op)) == NOT_MINE && (rc = op_string(s, at, op)) == NOT_MINE &&
        (rc = op_global(s, at, op)) == NOT_MINE) {
        if (!s->joblib)
            return mdl_corrupt(s->m, "corrupt pickle: unknown opcode 0x%02x at byte offset %zu", op,
                               at);
        /* joblib writes numpy array bytes between opcodes, which only its own unpickler
         * can step over: the caller looks for the Booster's bytes further on */
        s->m->pickle_joblib_arrays = 1;
        s->joblib_stop = at;
        s->m->pickle_protocol = s->proto >= 0 ? s->proto : 1;
        return MDL_PK_STOPPED;
    }
    return rc;
}

int mdl_pk_scan(mdl_pk *s, const unsigned char *b, size_t len, uint64_t base, int more,
                size_t *used)
{
    s->b = b;
    s->len = len;
    s->pos = 0;
    s->base = base;
    s->more = more;
    int rc = 0, stop = 0;
    while (!stop) {
        if (s->pos >= s->len) {
            rc = s->more ? MDL_PK_MORE
                         : mdl_corrupt(s->m,
                                       "truncated pickle: the data ends at byte offset %zu "
                                       "without the STOP opcode ('.')",
                                       (size_t)(s->base + s->pos));
            break;
        }
        size_t from = s->pos;
        rc = op_one(s, &stop);
        if (rc == MDL_PK_MORE)
            s->pos = from; /* read again when its argument is complete */
        if (rc)
            break;
    }
    *used = s->pos;
    return stop ? MDL_PK_DONE : rc;
}

void mdl_pk_init(mdl_pk *s, compat_model_info *m, uint64_t total)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    s->total = total;
    s->proto = -1;
}

void mdl_pk_free(mdl_pk *s)
{
    free(s->memo);
    smx_buf_free(&s->copies);
}
