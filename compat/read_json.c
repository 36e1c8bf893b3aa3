/*
 * JSON models and JSON memory snapshots (formats.md section 2), read through the same document
 * view as UBJSON (model_doc.c).
 *
 * Memory stays proportional to one tree, not to the model: one structural pass finds the
 * "trees" array and the extent of each tree; jansson parses the rest (the skeleton, with the
 * trees cut out), and each tree is parsed on its own when model_doc.c asks for it, by a small
 * arena parser for the shapes XGBoost writes, or by jansson for anything else (which also
 * gives precise error messages). Byte offsets in messages are those of the file.
 *
 * A text that cannot be split that way (no trees, not well nested) is parsed whole, up to
 * MODEL_JSON_DOM_MAX bytes; beyond that only the learner facts that matter for verdicts
 * (version, objective, base_score, shapes) are read from the small members found by a bounded
 * text scan, and the trees are left unparsed (the reference predictor then says so).
 */
#include "model_private.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static md_kind j_kind(const mdoc *d, mnode n)
{
    (void)d;
    if (!n)
        return MD_NULL;
    switch (json_typeof((const json_t *)n)) {
    case JSON_OBJECT:
        return MD_OBJ;
    case JSON_ARRAY:
        return MD_ARR;
    case JSON_STRING:
        return MD_STR;
    case JSON_INTEGER:
        return MD_INT;
    case JSON_REAL:
        return MD_REAL;
    case JSON_TRUE:
    case JSON_FALSE:
        return MD_BOOL;
    default:
        return MD_NULL;
    }
}

static mnode j_get(const mdoc *d, mnode obj, const char *key)
{
    (void)d;
    return obj ? json_object_get((const json_t *)obj, key) : NULL;
}

static size_t j_size(const mdoc *d, mnode n)
{
    (void)d;
    const json_t *j = n;
    if (json_is_array(j))
        return json_array_size(j);
    if (json_is_object(j))
        return json_object_size(j);
    return 0;
}

static mnode j_at(const mdoc *d, mnode arr, size_t i)
{
    (void)d;
    return json_array_get((const json_t *)arr, i);
}

static int scalar(const json_t *j, double *out)
{
    if (json_is_number(j)) {
        *out = json_number_value(j);
        return 0;
    }
    if (json_is_boolean(j)) {
        *out = json_is_true(j);
        return 0;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        char *e;
        if (!*s)
            return -1;
        *out = strtod(s, &e);
        return *e ? -1 : 0;
    }
    return -1;
}

static int j_num_at(const mdoc *d, mnode arr, size_t i, double *out)
{
    (void)d;
    const json_t *e = json_array_get((const json_t *)arr, i);
    if (!e || !(json_is_number(e) || json_is_boolean(e)))
        return -1;
    return scalar(e, out);
}

static int j_num(const mdoc *d, mnode n, double *out)
{
    (void)d;
    return n ? scalar(n, out) : -1;
}

static const char *j_str(const mdoc *d, mnode n, size_t *len)
{
    (void)d;
    if (!json_is_string((const json_t *)n))
        return NULL;
    *len = json_string_length((const json_t *)n);
    return json_string_value((const json_t *)n);
}

/* Object members by index: jansson iterates in insertion order; we walk the iterator. */
static mnode j_member(const mdoc *d, mnode obj, size_t i, const char **key, size_t *klen)
{
    (void)d;
    json_t *o = (json_t *)obj;
    size_t k = 0;
    for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it), k++)
        if (k == i) {
            *key = json_object_iter_key(it);
            *klen = strlen(*key);
            return json_object_iter_value(it);
        }
    return NULL;
}

static int j_elem_kind(const mdoc *d, mnode arr)
{
    (void)d;
    const json_t *e = json_array_get((const json_t *)arr, 0);
    if (json_is_boolean(e))
        return 1;
    if (json_is_integer(e))
        return 2;
    return 0;
}

/* For documents too large for a DOM: the JSON value that follows `"key":` (first match at or
 * after from), parsed on its own; NULL if absent or malformed. Only small values are taken. */
static json_t *scan_value(const unsigned char *b, size_t len, const char *key, size_t from)
{
    size_t kl = strlen(key);
    for (size_t i = from; i + kl + 3 < len; i++) {
        if (b[i] != '"' || memcmp(b + i + 1, key, kl) || b[i + 1 + kl] != '"')
            continue;
        size_t j = i + kl + 2;
        while (j < len && (b[j] == ' ' || b[j] == '\n' || b[j] == '\t' || b[j] == '\r'))
            j++;
        if (j >= len || b[j] != ':')
            continue;
        j++;
        size_t lim = len - j < 65536 ? len - j : 65536;
        json_error_t e;
        return json_loadb((const char *)b + j, lim, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &e);
    }
    return NULL;
}

static int read_large(const unsigned char *b, size_t len, compat_model_info *m, const mdoc *d)
{
    json_t *root = json_object();
    json_t *learner = json_object();
    json_t *lmp = scan_value(b, len, "learner_model_param", 0);
    json_t *obj = scan_value(b, len, "objective", 0);
    /* "version" is the last member: search the tail first */
    json_t *ver = scan_value(b, len, "version", len > 4096 ? len - 4096 : 0);
    if (!root || !learner)
        return SMX_ENOMEM;
    if (lmp)
        json_object_set_new(learner, "learner_model_param", lmp);
    if (obj)
        json_object_set_new(learner, "objective", obj);
    json_object_set_new(root, "learner", learner);
    if (ver)
        json_object_set_new(root, "version", ver);
    int rc = model_doc_extract(d, root, m, 0);
    json_decref(root);
    model_detail(m,
                 "JSON model of %zu bytes (larger than %zu: learner facts only, trees not "
                 "parsed)",
                 len, (size_t)MODEL_JSON_DOM_MAX);
    return rc;
}

/*
 * XGBoost writes non-finite floats as bare NaN / Infinity / -Infinity tokens (1.7.4 does for
 * the unused split_conditions of categorical nodes), which jansson rejects. Rewrite those
 * tokens, outside strings, in place into same-length numbers (0e0, 3.40e+38), so byte offsets
 * in error messages stay those of the file.
 */
static void fix_nonfinite(unsigned char *b, size_t len)
{
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        if (in_str) {
            if (b[i] == '\\')
                i++;
            else if (b[i] == '"')
                in_str = 0;
        } else if (b[i] == '"') {
            in_str = 1;
        } else if (b[i] == 'N' && len - i >= 3 && !memcmp(b + i, "NaN", 3)) {
            memcpy(b + i, "0e0", 3);
        } else if (b[i] == 'I' && len - i >= 8 && !memcmp(b + i, "Infinity", 8)) {
            memcpy(b + i, "3.40e+38", 8);
        }
    }
}

/* ---- trees parsed one at a time ----------------------------------------------------------- */

typedef struct span {
    size_t s, e; /* [s, e) */
} span;

typedef struct trees {
    size_t arr_s, arr_e; /* the "trees" array, '[' .. past ']' */
    span *el;
    size_t n, cap;
} trees;

/*
 * One structural pass over the text (strings skipped, nesting checked): find the first
 * "trees" member whose value is an array, and the extent of each object in it. Returns 1 when
 * found, 0 when the text has none or is not well nested (the full parser then reports), -1 on
 * out of memory.
 */
static int find_trees(const unsigned char *b, size_t len, trees *t)
{
    char stack[MODEL_MAX_DEPTH + 1];
    int depth = 0, keyed = 0, tdepth = -1;
    size_t ks = 0, ke = 0, el_s = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = b[i];
        if (c == '"') {
            size_t j = i + 1;
            while (j < len && b[j] != '"')
                j += b[j] == '\\' ? 2 : 1;
            if (j >= len)
                return 0;
            ks = i + 1, ke = j;
            i = j;
        } else if (c == ':') {
            keyed = depth > 0 && stack[depth - 1] == '{';
        } else if (c == '{' || c == '[') {
            if (depth == MODEL_MAX_DEPTH)
                return 0;
            if (c == '[' && tdepth < 0 && keyed && ke - ks == 5 && !memcmp(b + ks, "trees", 5)) {
                tdepth = depth + 1;
                t->arr_s = i;
            } else if (c == '{' && tdepth >= 0 && depth == tdepth) {
                el_s = i;
            }
            stack[depth++] = (char)c;
            keyed = 0;
        } else if (c == '}' || c == ']') {
            if (!depth || stack[depth - 1] != (c == '}' ? '{' : '['))
                return 0;
            depth--;
            if (tdepth >= 0 && c == '}' && depth == tdepth) {
                if (t->n == t->cap) {
                    size_t nc = t->cap ? t->cap * 2 : 64;
                    span *v = realloc(t->el, nc * sizeof *v);
                    if (!v)
                        return -1;
                    t->el = v;
                    t->cap = nc;
                }
                t->el[t->n++] = (span){el_s, i + 1};
            } else if (tdepth >= 0 && c == ']' && depth == tdepth - 1) {
                t->arr_e = i + 1;
                tdepth = -2; /* done; keep checking the nesting of the rest */
            }
            keyed = 0;
        } else if (c == ',') {
            keyed = 0;
        }
    }
    return depth == 0 && tdepth == -2;
}

typedef struct jctx jctx;

static int json_fail(compat_model_info *m, const json_error_t *e, size_t base, size_t len,
                     const char *what)
{
    size_t at = base + (size_t)(e->position > 0 ? e->position : 0);
    int trunc = at >= len || strstr(e->text, "premature end") || strstr(e->text, "unexpected end");
    if (!trunc && e->position > 0) /* jansson counts the offending byte as read */
        at--;
    return model_corrupt(m, "%s JSON at byte offset %zu%s: %s", trunc ? "truncated" : "corrupt", at,
                         what, e->text);
}

/* ---- a fast path for tree objects ---------------------------------------------------------
 *
 * Most of a JSON model is its trees, and most of a tree is arrays of numbers. jansson makes
 * one allocation per number; this small parser reads a tree object into an arena that is
 * reused for the next tree, with arrays of scalars kept as plain vectors of doubles. It only
 * takes what XGBoost writes (no escapes in strings, arrays either all scalars or all
 * containers); anything else, including malformed text, goes to jansson, which then also
 * gives the precise error message.
 */

typedef struct fj fj;
typedef struct fj_member {
    const char *k;
    size_t kl;
    fj *v;
} fj_member;

struct fj {
    md_kind kind;
    int ek; /* scalar arrays: 1 all booleans, 2 all integers, 0 otherwise */
    int scalars;
    union {
        double num;
        struct {
            const char *p;
            size_t n;
        } s;
        struct {
            double *v;
            size_t n;
        } nums;
        struct {
            fj **v;
            size_t n;
        } a;
        struct {
            fj_member *v;
            size_t n;
        } o;
    } u;
};

typedef struct fj_arena {
    char *mem;
    size_t used, cap;
    int failed;
} fj_arena;

static void *fj_alloc(fj_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (a->cap - a->used < n) { /* too small for this tree: fail, the caller grows and retries */
        a->failed = 1;
        return NULL;
    }
    void *r = a->mem + a->used;
    a->used += n;
    return r;
}

struct jctx {
    const unsigned char *b;
    const trees *t;
    json_t *root;
    const void *cur; /* the tree being read, where it starts, and which parser read it */
    size_t cur_off;
    int cur_fast;
    fj_arena arena; /* the fast path's arena, its text, and its view */
    char *text;
    mdoc fdoc;
};

typedef struct fjp {
    const char *p, *end;
    fj_arena *a;
    int depth;
} fjp;

static void fj_ws(fjp *q)
{
    while (q->p < q->end && (*q->p == ' ' || *q->p == '\n' || *q->p == '\t' || *q->p == '\r'))
        q->p++;
}

static int fj_number(fjp *q, double *out, int *is_int)
{
    const char *p = q->p;
    int neg = 0;
    if (p < q->end && *p == '-')
        neg = 1, p++;
    const char *d0 = p;
    int64_t v = 0;
    while (p < q->end && *p >= '0' && *p <= '9' && p - d0 < 18)
        v = v * 10 + (*p++ - '0');
    if (p > d0 &&
        (p >= q->end || (*p != '.' && *p != 'e' && *p != 'E' && !(*p >= '0' && *p <= '9')))) {
        *out = (double)(neg ? -v : v);
        *is_int = 1;
        q->p = p;
        return 0;
    }
    char *e;
    *out = strtod(q->p, &e); /* the text is NUL-terminated */
    if (e == q->p || e > q->end)
        return -1;
    *is_int = 0;
    q->p = e;
    return 0;
}

static fj *fj_value(fjp *q);

static int fj_scalar(fjp *q, double *v, int *k)
{
    char c = *q->p;
    if (c == 't' && q->end - q->p >= 4 && !memcmp(q->p, "true", 4)) {
        *v = 1, *k = 1, q->p += 4;
        return 0;
    }
    if (c == 'f' && q->end - q->p >= 5 && !memcmp(q->p, "false", 5)) {
        *v = 0, *k = 1, q->p += 5;
        return 0;
    }
    int is_int;
    if (fj_number(q, v, &is_int))
        return -1;
    *k = is_int ? 2 : 0;
    return 0;
}

static fj *fj_array(fjp *q, fj *n)
{
    q->p++;
    fj_ws(q);
    n->kind = MD_ARR;
    if (q->p < q->end && *q->p == ']') {
        q->p++;
        n->scalars = 1;
        return n;
    }
    if (q->p >= q->end)
        return NULL;
    char c = *q->p;
    size_t cap = 16, k = 0;
    if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f') {
        n->scalars = 1;
        double *v = fj_alloc(q->a, cap * sizeof *v);
        int ek = -1;
        for (;;) {
            if (!v)
                return NULL;
            if (k == cap) {
                double *nv = fj_alloc(q->a, 2 * cap * sizeof *nv);
                if (!nv)
                    return NULL;
                memcpy(nv, v, k * sizeof *v);
                v = nv, cap *= 2;
            }
            int kind;
            if (q->p >= q->end || fj_scalar(q, &v[k], &kind))
                return NULL;
            ek = ek == -1 ? kind : ek == kind ? ek : 0;
            k++;
            fj_ws(q);
            if (q->p < q->end && *q->p == ',') {
                q->p++;
                fj_ws(q);
                continue;
            }
            if (q->p < q->end && *q->p == ']')
                break;
            return NULL;
        }
        q->p++;
        n->ek = ek < 0 ? 0 : ek;
        n->u.nums.v = v;
        n->u.nums.n = k;
        return n;
    }
    fj **v = fj_alloc(q->a, cap * sizeof *v);
    for (;;) {
        if (!v)
            return NULL;
        if (k == cap) {
            fj **nv = fj_alloc(q->a, 2 * cap * sizeof *nv);
            if (!nv)
                return NULL;
            memcpy(nv, v, k * sizeof *v);
            v = nv, cap *= 2;
        }
        if (!(v[k++] = fj_value(q)))
            return NULL;
        fj_ws(q);
        if (q->p < q->end && *q->p == ',') {
            q->p++;
            continue;
        }
        if (q->p < q->end && *q->p == ']')
            break;
        return NULL;
    }
    q->p++;
    n->u.a.v = v;
    n->u.a.n = k;
    return n;
}

static int fj_string(fjp *q, const char **s, size_t *n)
{
    const char *p = ++q->p;
    while (q->p < q->end && *q->p != '"') {
        if (*q->p == '\\' || (unsigned char)*q->p < 0x20)
            return -1; /* escapes: leave it to jansson */
        q->p++;
    }
    if (q->p >= q->end)
        return -1;
    *s = p;
    *n = (size_t)(q->p - p);
    q->p++;
    return 0;
}

static fj *fj_object(fjp *q, fj *n)
{
    q->p++;
    n->kind = MD_OBJ;
    size_t cap = 32, k = 0;
    fj_member *v = fj_alloc(q->a, cap * sizeof *v);
    fj_ws(q);
    if (q->p < q->end && *q->p == '}') {
        q->p++;
        n->u.o.v = v;
        return v ? n : NULL;
    }
    for (;;) {
        if (!v)
            return NULL;
        if (k == cap) {
            fj_member *nv = fj_alloc(q->a, 2 * cap * sizeof *nv);
            if (!nv)
                return NULL;
            memcpy(nv, v, k * sizeof *v);
            v = nv, cap *= 2;
        }
        fj_ws(q);
        if (q->p >= q->end || *q->p != '"' || fj_string(q, &v[k].k, &v[k].kl))
            return NULL;
        fj_ws(q);
        if (q->p >= q->end || *q->p != ':')
            return NULL;
        q->p++;
        if (!(v[k++].v = fj_value(q)))
            return NULL;
        fj_ws(q);
        if (q->p < q->end && *q->p == ',') {
            q->p++;
            continue;
        }
        if (q->p < q->end && *q->p == '}')
            break;
        return NULL;
    }
    q->p++;
    n->u.o.v = v;
    n->u.o.n = k;
    return n;
}

static fj *fj_value(fjp *q)
{
    fj_ws(q);
    if (q->p >= q->end || ++q->depth > MODEL_MAX_DEPTH)
        return NULL;
    fj *n = fj_alloc(q->a, sizeof *n);
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    fj *r = NULL;
    switch (*q->p) {
    case '{':
        r = fj_object(q, n);
        break;
    case '[':
        r = fj_array(q, n);
        break;
    case '"':
        n->kind = MD_STR;
        r = fj_string(q, &n->u.s.p, &n->u.s.n) ? NULL : n;
        break;
    case 'n':
        if (q->end - q->p >= 4 && !memcmp(q->p, "null", 4)) {
            q->p += 4;
            n->kind = MD_NULL;
            r = n;
        }
        break;
    default: {
        int k;
        if (!fj_scalar(q, &n->u.num, &k)) {
            n->kind = k == 1 ? MD_BOOL : k == 2 ? MD_INT : MD_REAL;
            r = n;
        }
    }
    }
    q->depth--;
    return r;
}

static md_kind f_kind(const mdoc *d, mnode n)
{
    (void)d;
    return n ? ((const fj *)n)->kind : MD_NULL;
}

static mnode f_get(const mdoc *d, mnode obj, const char *key)
{
    (void)d;
    const fj *o = obj;
    if (!o || o->kind != MD_OBJ)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < o->u.o.n; i++)
        if (o->u.o.v[i].kl == kl && !memcmp(o->u.o.v[i].k, key, kl))
            return o->u.o.v[i].v;
    return NULL;
}

static size_t f_size(const mdoc *d, mnode n)
{
    (void)d;
    const fj *a = n;
    if (!a)
        return 0;
    if (a->kind == MD_OBJ)
        return a->u.o.n;
    if (a->kind != MD_ARR)
        return 0;
    return a->scalars ? a->u.nums.n : a->u.a.n;
}

static mnode f_at(const mdoc *d, mnode arr, size_t i)
{
    (void)d;
    const fj *a = arr;
    if (!a || a->kind != MD_ARR || a->scalars || i >= a->u.a.n)
        return NULL;
    return a->u.a.v[i];
}

static int f_scalar(const fj *n, double *out)
{
    if (!n)
        return -1;
    if (n->kind == MD_INT || n->kind == MD_REAL || n->kind == MD_BOOL) {
        *out = n->u.num;
        return 0;
    }
    if (n->kind == MD_STR) {
        char tmp[64];
        if (!n->u.s.n || n->u.s.n >= sizeof tmp)
            return -1;
        memcpy(tmp, n->u.s.p, n->u.s.n);
        tmp[n->u.s.n] = 0;
        char *e;
        *out = strtod(tmp, &e);
        return *e ? -1 : 0;
    }
    return -1;
}

static int f_num_at(const mdoc *d, mnode arr, size_t i, double *out)
{
    (void)d;
    const fj *a = arr;
    if (!a || a->kind != MD_ARR)
        return -1;
    if (a->scalars) {
        if (i >= a->u.nums.n)
            return -1;
        *out = a->u.nums.v[i];
        return 0;
    }
    if (i >= a->u.a.n || a->u.a.v[i]->kind == MD_STR)
        return -1;
    return f_scalar(a->u.a.v[i], out);
}

static int f_num(const mdoc *d, mnode n, double *out)
{
    (void)d;
    return f_scalar(n, out);
}

static const char *f_str(const mdoc *d, mnode n, size_t *len)
{
    (void)d;
    const fj *s = n;
    if (!s || s->kind != MD_STR)
        return NULL;
    *len = s->u.s.n;
    return s->u.s.p;
}

static mnode f_member(const mdoc *d, mnode obj, size_t i, const char **key, size_t *klen)
{
    (void)d;
    const fj *o = obj;
    if (!o || o->kind != MD_OBJ || i >= o->u.o.n)
        return NULL;
    *key = o->u.o.v[i].k;
    *klen = o->u.o.v[i].kl;
    return o->u.o.v[i].v;
}

static int f_elem_kind(const mdoc *d, mnode arr)
{
    (void)d;
    const fj *a = arr;
    return a && a->kind == MD_ARR && a->scalars && a->u.nums.n ? a->ek : 0;
}

static size_t f_offset(const mdoc *d, mnode n);

/* Parse tree i with the fast path; NULL if it did not take it. */
static fj *fast_tree(jctx *c, span sp, unsigned char *text)
{
    size_t n = sp.e - sp.s, room = 8 * n + 4096; /* nodes and vectors: a few times the text */
    for (int tries = 0; tries < 2; tries++, room *= 4) {
        size_t want = room;
        if (c->arena.cap < want) {
            char *m = realloc(c->arena.mem, want);
            if (!m)
                return NULL;
            c->arena.mem = m;
            c->arena.cap = want;
        }
        c->arena.used = 0;
        c->arena.failed = 0;
        fjp q = {(const char *)text, (const char *)text + n, &c->arena, 0};
        fj *r = fj_value(&q);
        if (r) {
            fj_ws(&q);
            return q.p == q.end && r->kind == MD_OBJ ? r : NULL;
        }
        if (!c->arena.failed) /* not the JSON we take: jansson reads it */
            return NULL;
    } /* else the arena was too small: once more with room to spare */
    return NULL;
}

static int j_ext_tree(const mdoc *d, size_t i, const mdoc **td, mnode *out, compat_model_info *m)
{
    jctx *c = (jctx *)d->ctx; /* ours: the view is read-only only to model_doc.c */
    span sp = c->t->el[i];
    size_t n = sp.e - sp.s;
    unsigned char *copy = malloc(n + 1);
    if (!copy)
        return SMX_ENOMEM;
    memcpy(copy, c->b + sp.s, n);
    copy[n] = 0;
    fix_nonfinite(copy, n);
    c->cur_off = sp.s;
    fj *f = fast_tree(c, sp, copy);
    if (f) {
        free(c->text);
        c->text = (char *)copy; /* the tree's strings point into it */
        c->cur = f;
        c->cur_fast = 1;
        *td = &c->fdoc;
        *out = f;
        return SMX_OK;
    }
    json_error_t e;
    json_t *tn = json_loadb((const char *)copy, n, JSON_ALLOW_NUL, &e);
    free(copy);
    if (!tn) {
        char w[64];
        snprintf(w, sizeof w, " (in tree %zu)", i);
        return json_fail(m, &e, sp.s, (size_t)-1, w);
    }
    c->cur = tn;
    c->cur_fast = 0;
    *td = d;
    *out = tn;
    return SMX_OK;
}

static void j_ext_free(const mdoc *d, mnode n)
{
    const jctx *c = d->ctx;
    if (n && n == c->cur && c->cur_fast)
        return; /* the arena is reused for the next tree */
    json_decref((json_t *)n);
}

static size_t j_offset(const mdoc *d, mnode n)
{
    const jctx *c = d->ctx;
    return n && n == c->cur ? c->cur_off : (size_t)-1;
}

static size_t f_offset(const mdoc *d, mnode n)
{
    const jctx *c = d->ctx;
    return n && n == c->cur ? c->cur_off : (size_t)-1;
}

int read_json(const unsigned char *b, size_t len, compat_model_info *m)
{
    m->format = COMPAT_FMT_JSON;
    m->payload = COMPAT_PAYLOAD_JSON;
    model_detail(m, "JSON model");
    trees t = {0, 0, NULL, 0, 0};
    jctx c = {.b = b, .t = &t};
    mdoc d = {&c,    j_kind,   j_get,       j_size, j_at,       j_num_at,   j_num,
              j_str, j_member, j_elem_kind, 0,      j_ext_tree, j_ext_free, j_offset};
    c.fdoc = (mdoc){&c,    f_kind,   f_get,       f_size, f_at, f_num_at, f_num,
                    f_str, f_member, f_elem_kind, 0,      NULL, NULL,     f_offset};
    int found = find_trees(b, len, &t);
    if (found < 0) {
        free(t.el);
        return SMX_ENOMEM;
    }
    /* the document without its trees: text before and after the array, "[]" in between */
    size_t skel_len = found ? t.arr_s + 2 + (len - t.arr_e) : len;
    if (!found) {
        d.ext_tree = NULL;
        d.ext_free = NULL;
        if (len > MODEL_JSON_DOM_MAX) {
            free(t.el);
            return read_large(b, len, m, &d);
        }
    } else if (skel_len > MODEL_JSON_DOM_MAX) {
        free(t.el);
        return read_large(b, len, m, &d);
    }
    unsigned char *skel = malloc(skel_len ? skel_len : 1);
    if (!skel) {
        free(t.el);
        return SMX_ENOMEM;
    }
    if (found) {
        memcpy(skel, b, t.arr_s);
        memcpy(skel + t.arr_s, "[]", 2);
        memcpy(skel + t.arr_s + 2, b + t.arr_e, len - t.arr_e);
        d.n_ext = t.n;
    } else {
        memcpy(skel, b, len);
    }
    fix_nonfinite(skel, skel_len);
    json_error_t e;
    json_t *root = json_loadb((const char *)skel, skel_len, JSON_ALLOW_NUL, &e);
    free(skel);
    if (!root) {
        /* positions past the trees shift by what was cut out */
        size_t pos = (size_t)(e.position > 0 ? e.position : 0);
        if (found && pos > t.arr_s + 2)
            e.position += (int)(t.arr_e - t.arr_s - 2);
        free(t.el);
        return json_fail(m, &e, 0, len, "");
    }
    c.root = root;
    int rc = model_doc_extract(&d, root, m, 0);
    json_decref(root);
    free(t.el);
    free(c.arena.mem);
    free(c.text);
    return rc;
}
