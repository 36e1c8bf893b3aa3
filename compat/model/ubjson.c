/*
 * UBJSON models and memory snapshots, read by our own parser (formats.md section 3.3).
 *
 * XGBoost's UBJWriter emits objects whose keys are an integer-marked length plus bytes,
 * counted arrays ("[#L" count), typed arrays ("[$" type "#L" count, big-endian values) and
 * scalars. The parser builds a small read-only tree in an arena: strings and typed arrays
 * point into the input (zero copy), so memory stays proportional to the number of containers
 * and scalars, not to the size of the tree arrays. Every count is checked against the bytes
 * left before allocating, nesting is limited, and the first problem is reported with its byte
 * offset. doc.c then reads the model out of the tree (shared with the JSON reader).
 *
 * The parser also reads the parts of a file too large to keep whole (mdl_ubj_part): each
 * tree and the skeleton that ubjstream.c cuts it into, with offsets of the file in messages.
 * ubjstream.c holds the format's entry.
 */
#include "model_private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ub_node ub_node;
typedef struct ub_member {
    const unsigned char *key;
    size_t klen;
    ub_node *v;
} ub_member;

struct ub_node {
    mdl_kind kind;
    size_t off; /* byte offset of the type marker */
    char tmark; /* typed arrays: element marker; 0 otherwise */
    union {
        int64_t i;
        double r;
        struct {
            const unsigned char *p;
            size_t n;
        } s; /* string, or typed-array data (n = count) */
        struct {
            ub_node **v;
            size_t n;
        } a;
        struct {
            ub_member *v;
            size_t n;
        } o;
    } u;
};

/* ---- arena -------------------------------------------------------------------------------- */

typedef struct blk {
    struct blk *next;
    size_t used, cap;
    max_align_t data[];
} blk;

typedef struct ub {
    const unsigned char *b;
    size_t len, pos;
    blk *arena;
    compat_model_info *m;
    int typed_f64, typed_i8;
    /* a part of a file read as it streams (b is a tree or the skeleton): where its bytes sit
     * in the file; NULL for a whole file */
    const mdl_split *map;
    int map_tree;
} ub;

static void *arena_alloc(ub *p, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!p->arena || p->arena->cap - p->arena->used < n) {
        size_t cap = n > (64u << 10) ? n : (64u << 10);
        blk *k = malloc(sizeof *k + cap);
        if (!k)
            return NULL;
        k->next = p->arena;
        k->used = 0;
        k->cap = cap;
        p->arena = k;
    }
    void *r = (char *)p->arena->data + p->arena->used;
    p->arena->used += n;
    return r;
}

static void arena_free(ub *p)
{
    while (p->arena) {
        blk *n = p->arena->next;
        free(p->arena);
        p->arena = n;
    }
}

/* ---- parser -------------------------------------------------------------------------------- */

#define ENOMEM_RC SMX_ENOMEM

static size_t left(const ub *p)
{
    return p->len - p->pos;
}

/* The file offset of position pos of the bytes being parsed. */
static size_t at(const ub *p, size_t pos)
{
    if (!p->map)
        return pos;
    return (size_t)(p->map_tree ? p->map->tree_off + pos : mdl_split_offset(p->map, pos));
}

static int trunc_err(ub *p, const char *what)
{
    return mdl_corrupt(p->m, "truncated UBJSON: the data ends at byte offset %zu, expected %s",
                       at(p, p->pos), what);
}

static uint64_t be(const unsigned char *q, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | q[i];
    return v;
}

static size_t elem_size(char t)
{
    switch (t) {
    case 'i':
    case 'U':
    case 'C':
        return 1;
    case 'I':
        return 2;
    case 'l':
    case 'd':
        return 4;
    case 'L':
    case 'D':
        return 8;
    default:
        return 0;
    }
}

static int read_int(ub *p, char t, int64_t *out, const char *what)
{
    size_t n = elem_size(t);
    if (!n || t == 'd' || t == 'D' || t == 'C')
        return mdl_corrupt(p->m,
                           "corrupt UBJSON at byte offset %zu: expected an integer type marker "
                           "for %s, found 0x%02x",
                           at(p, p->pos - 1), what, (unsigned char)t);
    if (left(p) < n)
        return trunc_err(p, what);
    uint64_t v = be(p->b + p->pos, n);
    p->pos += n;
    switch (t) {
    case 'i':
        *out = (int8_t)v;
        break;
    case 'U':
        *out = (uint8_t)v;
        break;
    case 'I':
        *out = (int16_t)v;
        break;
    case 'l':
        *out = (int32_t)v;
        break;
    default:
        *out = (int64_t)v;
    }
    return 0;
}

static int read_marker(ub *p, char *t, const char *what)
{
    while (left(p) && p->b[p->pos] == 'N') /* no-op */
        p->pos++;
    if (!left(p))
        return trunc_err(p, what);
    *t = (char)p->b[p->pos++];
    return 0;
}

/* A length or count: an integer with its own marker, 0 <= n <= limit. */
static int read_len(ub *p, size_t limit, size_t *out, const char *what)
{
    size_t from = p->pos;
    char t = 0;
    int64_t v;
    if (read_marker(p, &t, what) || read_int(p, t, &v, what))
        return SMX_EFORMAT;
    if (limit > left(p)) /* the limit is never more than what follows the length itself */
        limit = left(p);
    if (v < 0 || (uint64_t)v > limit)
        return mdl_corrupt(p->m,
                           "%s UBJSON at byte offset %zu: %s is %lld, but only %zu bytes are "
                           "left",
                           v < 0 ? "corrupt" : "truncated", at(p, from), what, (long long)v, limit);
    *out = (size_t)v;
    return 0;
}

static int parse_value(ub *p, char t, ub_node **out, int depth);

static int grow(ub *p, void **v, size_t *cap, size_t n, size_t esz)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *nv = arena_alloc(p, nc * esz);
    if (!nv)
        return ENOMEM_RC;
    if (n)
        memcpy(nv, *v, n * esz);
    *v = nv;
    *cap = nc;
    return 0;
}

static int parse_array(ub *p, ub_node *node, int depth)
{
    size_t from = p->pos - 1;
    node->kind = MDL_ARR;
    if (left(p) && p->b[p->pos] == '$') {
        p->pos++;
        if (!left(p))
            return trunc_err(p, "the element type of a typed array");
        char et = (char)p->b[p->pos++];
        size_t es = elem_size(et);
        if (!es)
            return mdl_corrupt(p->m,
                               "corrupt UBJSON at byte offset %zu: typed array of 0x%02x "
                               "elements, expected one of i U I l L d D",
                               at(p, p->pos - 1), (unsigned char)et);
        if (!left(p) || p->b[p->pos] != '#')
            return left(p) ? mdl_corrupt(p->m,
                                         "corrupt UBJSON at byte offset %zu: expected '#' and "
                                         "a count after the typed-array type",
                                         at(p, p->pos))
                           : trunc_err(p, "'#' and the count of a typed array");
        p->pos++;
        size_t n;
        if (read_len(p, left(p), &n, "the typed-array count"))
            return SMX_EFORMAT;
        if (n > left(p) / es)
            return mdl_corrupt(p->m,
                               "truncated UBJSON: the typed array at byte offset %zu holds "
                               "%zu elements of %zu bytes, but only %zu bytes are left",
                               at(p, from), n, es, left(p));
        node->tmark = et;
        node->u.s.p = p->b + p->pos;
        node->u.s.n = n;
        p->pos += n * es;
        if (et == 'D')
            p->typed_f64 = 1;
        if (et == 'i' || et == 'I')
            p->typed_i8 = 1;
        return 0;
    }
    if (left(p) && p->b[p->pos] == '#') {
        p->pos++;
        size_t n;
        if (read_len(p, left(p), &n, "the array count"))
            return SMX_EFORMAT;
        node->u.a.v = arena_alloc(p, (n ? n : 1) * sizeof(ub_node *));
        if (!node->u.a.v)
            return ENOMEM_RC;
        for (size_t i = 0; i < n; i++) {
            char t = 0;
            if (read_marker(p, &t, "an array element"))
                return SMX_EFORMAT;
            int rc = parse_value(p, t, &node->u.a.v[i], depth + 1);
            if (rc)
                return rc;
        }
        node->u.a.n = n;
        return 0;
    }
    size_t cap = 0, n = 0;
    for (;;) {
        char t = 0;
        if (read_marker(p, &t, "an array element or ']'"))
            return SMX_EFORMAT;
        if (t == ']')
            break;
        if (grow(p, (void **)&node->u.a.v, &cap, n, sizeof(ub_node *)))
            return ENOMEM_RC;
        int rc = parse_value(p, t, &node->u.a.v[n], depth + 1);
        if (rc)
            return rc;
        n++;
    }
    node->u.a.n = n;
    return 0;
}

static int parse_object(ub *p, ub_node *node, int depth)
{
    node->kind = MDL_OBJ;
    size_t cap = 0, n = 0;
    for (;;) {
        while (left(p) && p->b[p->pos] == 'N')
            p->pos++;
        if (!left(p))
            return trunc_err(p, "an object key or '}'");
        if (p->b[p->pos] == '}') {
            p->pos++;
            break;
        }
        size_t kl;
        if (read_len(p, left(p), &kl, "the length of an object key"))
            return SMX_EFORMAT;
        if (grow(p, (void **)&node->u.o.v, &cap, n, sizeof(ub_member)))
            return ENOMEM_RC;
        ub_member *mb = &node->u.o.v[n];
        mb->key = p->b + p->pos;
        mb->klen = kl;
        p->pos += kl;
        char t = 0;
        if (read_marker(p, &t, "the value of an object member"))
            return SMX_EFORMAT;
        int rc = parse_value(p, t, &mb->v, depth + 1);
        if (rc)
            return rc;
        n++;
    }
    node->u.o.n = n;
    return 0;
}

static int parse_value(ub *p, char t, ub_node **out, int depth)
{
    if (depth > MDL_MAX_DEPTH)
        return mdl_corrupt(p->m,
                           "corrupt UBJSON at byte offset %zu: containers nested more than %d "
                           "deep",
                           at(p, p->pos), MDL_MAX_DEPTH);
    ub_node *n = arena_alloc(p, sizeof *n);
    if (!n)
        return ENOMEM_RC;
    memset(n, 0, sizeof *n);
    n->off = p->pos - 1;
    *out = n;
    switch (t) {
    case '{':
        return parse_object(p, n, depth);
    case '[':
        return parse_array(p, n, depth);
    case 'Z':
        n->kind = MDL_NULL;
        return 0;
    case 'T':
    case 'F':
        n->kind = MDL_BOOL;
        n->u.i = t == 'T';
        return 0;
    case 'i':
    case 'U':
    case 'I':
    case 'l':
    case 'L':
        n->kind = MDL_INT;
        return read_int(p, t, &n->u.i, "an integer");
    case 'd':
    case 'D': {
        size_t es = t == 'd' ? 4 : 8;
        if (left(p) < es)
            return trunc_err(p, "a number");
        uint64_t v = be(p->b + p->pos, es);
        p->pos += es;
        n->kind = MDL_REAL;
        if (es == 4) {
            uint32_t u = (uint32_t)v;
            float f;
            memcpy(&f, &u, 4);
            n->u.r = f;
        } else {
            memcpy(&n->u.r, &v, 8);
        }
        return 0;
    }
    case 'C':
        if (!left(p))
            return trunc_err(p, "a char");
        n->kind = MDL_STR;
        n->u.s.p = p->b + p->pos++;
        n->u.s.n = 1;
        return 0;
    case 'S':
    case 'H': {
        size_t l;
        if (read_len(p, left(p), &l, "a string length"))
            return SMX_EFORMAT;
        n->kind = MDL_STR;
        n->u.s.p = p->b + p->pos;
        n->u.s.n = l;
        p->pos += l;
        return 0;
    }
    default:
        return mdl_corrupt(p->m,
                           "corrupt UBJSON at byte offset %zu: unknown type marker 0x%02x, "
                           "expected one of { [ S i U I l L d D T F Z",
                           at(p, p->pos - 1), (unsigned char)t);
    }
}

/* ---- the document view ------------------------------------------------------------------- */

static mdl_kind k_kind(const mdl_doc *d, mdl_node n)
{
    (void)d;
    return n ? ((const ub_node *)n)->kind : MDL_NULL;
}

static mdl_node k_get(const mdl_doc *d, mdl_node obj, const char *key)
{
    (void)d;
    const ub_node *o = obj;
    if (!o || o->kind != MDL_OBJ)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < o->u.o.n; i++)
        if (o->u.o.v[i].klen == kl && !memcmp(o->u.o.v[i].key, key, kl))
            return o->u.o.v[i].v;
    return NULL;
}

static size_t k_size(const mdl_doc *d, mdl_node n)
{
    (void)d;
    const ub_node *a = n;
    if (!a)
        return 0;
    if (a->kind == MDL_OBJ)
        return a->u.o.n;
    if (a->kind != MDL_ARR)
        return 0;
    return a->tmark ? a->u.s.n : a->u.a.n;
}

static mdl_node k_at(const mdl_doc *d, mdl_node arr, size_t i)
{
    (void)d;
    const ub_node *a = arr;
    if (!a || a->kind != MDL_ARR || a->tmark || i >= a->u.a.n)
        return NULL;
    return a->u.a.v[i];
}

static int scalar_num(const ub_node *n, double *out)
{
    if (!n)
        return -1;
    switch (n->kind) {
    case MDL_INT:
    case MDL_BOOL:
        *out = (double)n->u.i;
        return 0;
    case MDL_REAL:
        *out = n->u.r;
        return 0;
    case MDL_STR: {
        char tmp[64];
        if (n->u.s.n == 0 || n->u.s.n >= sizeof tmp)
            return -1;
        memcpy(tmp, n->u.s.p, n->u.s.n);
        tmp[n->u.s.n] = 0;
        char *e;
        *out = strtod(tmp, &e);
        return *e ? -1 : 0;
    }
    default:
        return -1;
    }
}

static int k_num_at(const mdl_doc *d, mdl_node arr, size_t i, double *out)
{
    (void)d;
    const ub_node *a = arr;
    if (!a || a->kind != MDL_ARR)
        return -1;
    if (!a->tmark)
        return i < a->u.a.n ? scalar_num(a->u.a.v[i], out) : -1;
    if (i >= a->u.s.n)
        return -1;
    size_t es = elem_size(a->tmark);
    uint64_t v = be(a->u.s.p + i * es, es);
    switch (a->tmark) {
    case 'i':
        *out = (int8_t)v;
        break;
    case 'U':
    case 'C':
        *out = (uint8_t)v;
        break;
    case 'I':
        *out = (int16_t)v;
        break;
    case 'l':
        *out = (int32_t)v;
        break;
    case 'L':
        *out = (double)(int64_t)v;
        break;
    case 'd': {
        uint32_t u = (uint32_t)v;
        float f;
        memcpy(&f, &u, 4);
        *out = f;
        break;
    }
    default:
        memcpy(out, &v, 8);
    }
    return 0;
}

static int k_num(const mdl_doc *d, mdl_node n, double *out)
{
    (void)d;
    return scalar_num(n, out);
}

static const char *k_str(const mdl_doc *d, mdl_node n, size_t *len)
{
    (void)d;
    const ub_node *s = n;
    if (!s || s->kind != MDL_STR)
        return NULL;
    *len = s->u.s.n;
    return (const char *)s->u.s.p;
}

static mdl_node k_member(const mdl_doc *d, mdl_node obj, size_t i, const char **key, size_t *klen)
{
    (void)d;
    const ub_node *o = obj;
    if (!o || o->kind != MDL_OBJ || i >= o->u.o.n)
        return NULL;
    *key = (const char *)o->u.o.v[i].key;
    *klen = o->u.o.v[i].klen;
    return o->u.o.v[i].v;
}

static int k_elem_kind(const mdl_doc *d, mdl_node arr)
{
    (void)d;
    const ub_node *a = arr;
    if (!a || a->kind != MDL_ARR)
        return 0;
    if (a->tmark)
        return a->tmark == 'd' || a->tmark == 'D' ? 0 : 2;
    if (!a->u.a.n)
        return 0;
    mdl_kind k = a->u.a.v[0]->kind;
    return k == MDL_BOOL ? 1 : k == MDL_INT ? 2 : 0;
}

static size_t k_offset(const mdl_doc *d, mdl_node n)
{
    return n ? (d->ctx ? at(d->ctx, ((const ub_node *)n)->off) : ((const ub_node *)n)->off)
             : (size_t)-1;
}

/* The top-level object: it must be one. */
static int read_doc(ub *p, ub_node **root)
{
    char t = 0;
    int rc = read_marker(p, &t, "the top-level object");
    if (!rc && t != '{')
        rc = mdl_corrupt(p->m, "corrupt UBJSON at byte offset %zu: expected '{', found 0x%02x",
                         at(p, 0), (unsigned char)t);
    if (!rc)
        rc = parse_value(p, t, root, 0);
    return rc;
}

int mdl_ubj_read(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m)
{
    (void)c;
    ub p = {b, len, 0, NULL, m, 0, 0, NULL, 0};
    m->format = COMPAT_FMT_UBJSON;
    m->payload = COMPAT_PAYLOAD_UBJ;
    mdl_detail(m, "UBJSON model");
    ub_node *root = NULL;
    int rc = read_doc(&p, &root);
    if (rc) {
        arena_free(&p);
        return rc;
    }
    m->ubj_typed_f64 = p.typed_f64;
    m->ubj_typed_i8 = p.typed_i8;
    mdl_doc d = {NULL,     k_kind,      k_get, k_size, k_at, k_num_at, k_num, k_str,
                 k_member, k_elem_kind, 0,     NULL,   NULL, k_offset, 0};
    rc = mdl_doc_extract(&d, root, m, 1);
    if (rc == SMX_OK && p.pos < len)
        mdl_detail(m, "%s, %zu trailing bytes ignored", m->detail, len - p.pos);
    arena_free(&p);
    return rc;
}

int mdl_ubj_part(const unsigned char *b, size_t len, const mdl_split *sp, int what,
                 compat_model_info *m)
{
    ub p = {b, len, 0, NULL, m, 0, 0, sp, what == MDL_UBJ_TREE};
    ub_node *root = NULL;
    int rc = read_doc(&p, &root);
    if (!rc) {
        mdl_doc d = {&p,       k_kind,      k_get, k_size, k_at, k_num_at, k_num, k_str,
                     k_member, k_elem_kind, 0,     NULL,   NULL, k_offset, 0};
        d.streamed = what == MDL_UBJ_SKELETON_STREAMED;
        d.n_ext = sp->n_trees;
        rc = what == MDL_UBJ_TREE ? mdl_doc_tree(&d, root, sp->n_trees, m)
                                  : mdl_doc_extract(&d, root, m, 1);
    }
    arena_free(&p);
    return rc;
}

/* '{' and then a key length marker (XGBoost writes 'L' or 'i'; any letter is tried) */
int mdl_ubj_sniff(const unsigned char *b, size_t len)
{
    return len >= 2 && b[0] == '{' && isalpha(b[1]);
}

/*
 * The end of a UBJSON model read in part: the last key "version" (its length 7 just before
 * it), whose value is parsed by the parser above and must be followed by '}' only: XGBoost
 * writes "version" as the last member of the model (of the snapshot's "Model").
 */
int mdl_ubj_tail(const unsigned char *t, size_t n, compat_model_info *m)
{
    size_t i = n;
    while (i-- > 1 && (t[i - 1] != 7 || n - i < 7 || memcmp(t + i, "version", 7)))
        ;
    if (i == 0 || i == (size_t)-1)
        return -1;
    compat_model_info *scratch = mdl_info_new(); /* parse errors go here, not into m */
    if (!scratch)
        return -1;
    ub p = {t, n, i + 7, NULL, scratch, 0, 0, NULL, 0};
    ub_node *v = NULL;
    char mk = 0;
    int rc = read_marker(&p, &mk, "a value") || parse_value(&p, mk, &v, 1) ? -1 : 0;
    while (!rc && p.pos < n && (t[p.pos] == '}' || t[p.pos] == 'N'))
        p.pos++;
    mdl_doc d = {NULL,     k_kind,      k_get, k_size, k_at, k_num_at, k_num, k_str,
                 k_member, k_elem_kind, 0,     NULL,   NULL, k_offset, 0};
    if (!rc)
        rc = p.pos == n ? mdl_doc_tail_version(&d, v, m) : -1;
    arena_free(&p);
    compat_model_info_free(scratch);
    return rc;
}
