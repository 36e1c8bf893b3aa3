/*
 * UBJSON models read as they stream, and the format's entry (the parser is ubjson.c).
 *
 * A model too large to keep whole goes through a tokenizer that keeps a few bytes of state
 * between chunks: the stack of open containers, the integer being read, how many bytes of a
 * string or a typed array are still to pass. It hands every byte to the skeleton, to the
 * tree being read or to neither (split.c): the trees are the objects of the first "trees"
 * array, whose place in the skeleton is an empty array; each tree is parsed by ubjson.c as
 * soon as it ends, the skeleton at the end. A string of the skeleton longer than
 * MDL_MAX_STRING is cut just past it (its length rewritten in place, same width), so a huge
 * attribute costs no memory. Typed arrays are recognised as they pass ('$D': 2.1+, '$i' and
 * '$I': 3.0+), in the trees or anywhere else. Bytes after the top-level object are counted,
 * not kept. A problem is reported by parsing the bytes kept up to it with the parser, so it
 * reads as a whole read's.
 */
#include "model_private.h"

#include <stdlib.h>
#include <string.h>

enum { TO_SKEL, TO_TREE, TO_NONE };

/* What the next bytes are. */
enum {
    U_VALUE,   /* a value's type marker ('N' no-ops skipped) */
    U_MEMBER,  /* in an object: '}' or a key's length marker */
    U_ELEMENT, /* in an array without a count: ']' or a value's type marker */
    U_ARRAY,   /* after '[': '$', '#' or the first element */
    U_TYPE,    /* after "[$": the element type */
    U_HASH,    /* after "[$" and the type: '#' */
    U_COUNT,   /* the type marker of a length or a count */
    U_INT,     /* the bytes of that integer */
    U_SKIP,    /* bytes passed over: a string's, a number's, a typed array's data */
    U_DONE     /* the top-level object has ended */
};
/* What the integer being read is, and what follows the bytes being passed over. */
enum { FOR_STR, FOR_KEY, FOR_COUNT, FOR_TYPED };

typedef struct uframe {
    char kind;     /* '{' object, '[' array up to ']', '#' counted array */
    uint64_t left; /* '#': elements still to come */
} uframe;

typedef struct ustream {
    mdl_sreader r;
    mdl_split sp;
    uint64_t off; /* file offset of the chunk being fed */
    int st, sink, broken;
    uframe fr[MDL_MAX_DEPTH + 2];
    int depth;
    int trees_depth;  /* the "trees" array's frame: 0 not met yet, -1 ended */
    int trees_coming; /* its '[' was read, its frame not pushed yet */
    int tree_depth;   /* the tree object being read; 0 none */
    int purpose;      /* FOR_*: of the integer, then of the bytes passed over */
    char imark;
    int ineed, igot;
    unsigned char ib[8];
    size_t es;            /* typed array: element size */
    uint64_t skip, keep;  /* bytes to pass over; how many of them the skeleton keeps */
    int cutting;          /* a long string: the skeleton keeps `keep` bytes of it */
    unsigned char key[5]; /* the last key's first bytes, and its length */
    uint64_t klen;
    int key_is_trees; /* the value being started is the "trees" member's */
    uint64_t root_end;
} ustream;

static void us_switch(ustream *u, const unsigned char *b, size_t *run, size_t at, int to)
{
    size_t n = at - *run;
    if (u->sink == TO_SKEL)
        mdl_split_skel(&u->sp, b + *run, n);
    else if (u->sink == TO_TREE)
        mdl_split_tree(&u->sp, b + *run, n);
    else
        mdl_split_cut(&u->sp, n);
    *run = at;
    u->sink = to;
}

static int us_tree(mdl_split *s, unsigned char *b, size_t n)
{
    return mdl_ubj_part(b, n, s, MDL_UBJ_TREE, s->m);
}

/* A problem at b[i]: the parser reads the bytes kept up to it and says what it is. */
static void us_broken(ustream *u, const unsigned char *b, size_t *run, size_t i)
{
    mdl_split *sp = &u->sp;
    us_switch(u, b, run, i + 1, u->sink);
    if (u->tree_depth && !sp->tree_over && !sp->m->corrupt)
        mdl_ubj_part((const unsigned char *)(sp->tree.data ? sp->tree.data : ""), sp->tree.len, sp,
                     MDL_UBJ_TREE, sp->m);
    else if (!u->tree_depth && u->sink == TO_SKEL && !sp->skel_over && !sp->m->corrupt)
        mdl_ubj_part((const unsigned char *)sp->skel.data, sp->skel.len, sp, MDL_UBJ_SKELETON,
                     sp->m);
    if (!sp->m->corrupt)
        mdl_corrupt(sp->m, "corrupt UBJSON at byte offset %llu: unexpected byte 0x%02x",
                    (unsigned long long)(u->off + i), b[i]);
    u->broken = 1;
}

/* The container on top of the stack ends at b[at] (its closing byte, or none: counted). */
static void us_pop(ustream *u, const unsigned char *b, size_t *run, size_t at, int counted)
{
    int was_trees = u->depth == u->trees_depth;
    u->depth--;
    if (!was_trees)
        return;
    us_switch(u, b, run, at, TO_SKEL); /* "]" (the one read, or one written) ends it */
    if (counted)
        mdl_split_skel(&u->sp, "]", 1);
    u->trees_depth = -1;
}

/* A value ended before b[at]: what comes next in the container around it. */
static void us_value_done(ustream *u, const unsigned char *b, size_t *run, size_t at)
{
    for (;;) {
        if (u->depth == 0) {
            u->st = U_DONE; /* what follows is counted, not kept */
            us_switch(u, b, run, at, TO_NONE);
            u->root_end = u->off + at;
            return;
        }
        uframe *f = &u->fr[u->depth - 1];
        if (f->kind != '#') {
            u->st = f->kind == '{' ? U_MEMBER : U_ELEMENT;
            return;
        }
        if (--f->left > 0) {
            u->st = U_VALUE;
            return;
        }
        us_pop(u, b, run, at, 1);
    }
}

static void us_push(ustream *u, const unsigned char *b, size_t *run, size_t i, char kind,
                    uint64_t left)
{
    if (u->depth > MDL_MAX_DEPTH) {
        us_broken(u, b, run, i);
        return;
    }
    u->fr[u->depth].kind = kind;
    u->fr[u->depth].left = left;
    u->depth++;
    if (kind != '{' && u->trees_coming) {
        u->trees_depth = u->depth;
        u->trees_coming = 0;
    }
}

/* A value's type marker at b[i]. */
static void us_marker(ustream *u, const unsigned char *b, size_t *run, size_t i)
{
    unsigned char c = b[i];
    int trees = u->key_is_trees;
    u->key_is_trees = 0;
    static const char sizes[] = "i1U1C1I2l4d4L8D8";
    const char *sz = c ? strchr(sizes, c) : NULL;
    if (sz && (sz - sizes) % 2 == 0) { /* a number: its bytes are passed over */
        u->skip = (uint64_t)(sz[1] - '0');
        u->purpose = FOR_STR;
        u->st = U_SKIP;
    } else if (c == 'Z' || c == 'T' || c == 'F') {
        us_value_done(u, b, run, i + 1);
    } else if (c == 'S' || c == 'H') {
        u->purpose = FOR_STR;
        u->st = U_COUNT;
    } else if (c == '[') {
        if (trees && u->trees_depth == 0 && u->sink == TO_SKEL) {
            u->trees_coming = 1; /* the skeleton keeps "[", then "]" */
            us_switch(u, b, run, i + 1, TO_NONE);
        }
        u->st = U_ARRAY;
    } else if (c == '{') {
        if (u->trees_depth > 0 && u->depth == u->trees_depth && !u->tree_depth) {
            us_switch(u, b, run, i, TO_TREE);
            mdl_split_tree_begin(&u->sp, u->off + i);
            u->tree_depth = u->depth + 1;
        }
        us_push(u, b, run, i, '{', 0);
        u->st = U_MEMBER;
    } else {
        us_broken(u, b, run, i);
    }
}

/* The bytes after '[': a typed array, a counted one, or the first element. */
static void us_array(ustream *u, const unsigned char *b, size_t *run, size_t i)
{
    unsigned char c = b[i];
    static const char sizes[] = "i1U1C1I2l4d4L8D8";
    const char *sz = c ? strchr(sizes, c) : NULL;
    if (u->st == U_ARRAY && c == '$') {
        u->st = U_TYPE;
    } else if (u->st == U_ARRAY && c == '#') {
        u->purpose = FOR_COUNT;
        u->st = U_COUNT;
    } else if (u->st == U_TYPE && sz && (sz - sizes) % 2 == 0) {
        u->es = (size_t)(sz[1] - '0');
        u->sp.m->ubj_typed_f64 |= c == 'D';
        u->sp.m->ubj_typed_i8 |= c == 'i' || c == 'I';
        u->st = U_HASH;
    } else if (u->st == U_HASH && c == '#') {
        u->purpose = FOR_TYPED;
        u->st = U_COUNT;
    } else {
        us_broken(u, b, run, i);
    }
}

/* A string's or a key's length is known: pass over its bytes, keeping at most just over
 * MDL_MAX_STRING of them in the skeleton (the length rewritten, same width). */
static void us_string(ustream *u, const unsigned char *b, size_t *run, size_t i, uint64_t v)
{
    u->skip = v;
    u->keep = 0;
    u->cutting = 0;
    if (u->sink == TO_SKEL && v > (uint64_t)MDL_MAX_STRING + 2 && u->ineed >= 4) {
        us_switch(u, b, run, i + 1, TO_SKEL); /* the length is in the skeleton now */
        uint64_t keep = (uint64_t)MDL_MAX_STRING + 2;
        if (!u->sp.skel_over && u->sp.skel.len >= (size_t)u->ineed) {
            unsigned char *p = (unsigned char *)u->sp.skel.data + u->sp.skel.len - u->ineed;
            for (int k = u->ineed - 1; k >= 0; k--, keep >>= 8)
                p[k] = (unsigned char)(keep & 0xff);
        }
        u->keep = (uint64_t)MDL_MAX_STRING + 2;
        u->cutting = 1;
    }
    u->st = U_SKIP;
    if (u->purpose == FOR_KEY)
        u->klen = v;
}

static void us_skipped(ustream *u, const unsigned char *b, size_t *run, size_t at);

/* The integer of a length or a count is complete at b[i]. */
static void us_int_done(ustream *u, const unsigned char *b, size_t *run, size_t i)
{
    uint64_t raw = 0;
    for (int k = 0; k < u->ineed; k++)
        raw = raw << 8 | u->ib[k];
    int64_t v = u->imark == 'i'   ? (int8_t)raw
                : u->imark == 'U' ? (int64_t)(uint8_t)raw
                : u->imark == 'I' ? (int16_t)raw
                : u->imark == 'l' ? (int32_t)raw
                                  : (int64_t)raw;
    if (v < 0 || (u->purpose == FOR_TYPED && (uint64_t)v > UINT64_MAX / u->es)) {
        us_broken(u, b, run, i);
        return;
    }
    if (u->purpose == FOR_STR || u->purpose == FOR_KEY || u->purpose == FOR_TYPED) {
        if (u->purpose == FOR_TYPED)
            u->skip = (uint64_t)v * u->es, u->st = U_SKIP;
        else
            us_string(u, b, run, i, (uint64_t)v);
        if (!u->skip) /* nothing to pass over */
            us_skipped(u, b, run, i + 1);
    } else {
        us_push(u, b, run, i, '#', (uint64_t)v);
        if (!u->broken && v == 0) {
            us_pop(u, b, run, i + 1, 1);
            us_value_done(u, b, run, i + 1);
        } else {
            u->st = U_VALUE;
        }
    }
}

/* The bytes passed over have ended before b[at]. */
static void us_skipped(ustream *u, const unsigned char *b, size_t *run, size_t at)
{
    if (u->cutting)
        us_switch(u, b, run, at, TO_SKEL);
    u->cutting = 0;
    if (u->purpose == FOR_KEY) {
        u->key_is_trees = u->klen == 5 && !memcmp(u->key, "trees", 5);
        u->st = U_VALUE;
        return;
    }
    if (u->purpose == FOR_TYPED && u->trees_coming) { /* a typed "trees": no tree in it */
        u->trees_coming = 0;
        us_switch(u, b, run, at, TO_SKEL);
        mdl_split_skel(&u->sp, "]", 1);
        u->trees_depth = -1;
    }
    us_value_done(u, b, run, at);
}

/* Pass over bytes from b[*i]. */
static void us_skip(ustream *u, const unsigned char *b, size_t n, size_t *i, size_t *run)
{
    size_t k = u->skip < n - *i ? (size_t)u->skip : n - *i;
    if (u->purpose == FOR_KEY)
        for (size_t q = 0; q < k && u->klen - u->skip + q < sizeof u->key; q++)
            u->key[u->klen - u->skip + q] = b[*i + q];
    if (u->cutting && u->keep) {
        size_t kk = u->keep < k ? (size_t)u->keep : k;
        u->keep -= kk;
        if (!u->keep) /* the skeleton keeps no more of it */
            us_switch(u, b, run, *i + kk, TO_NONE);
    }
    *i += k;
    u->skip -= k;
    if (!u->skip)
        us_skipped(u, b, run, *i);
}

/* One step at b[*i]: a byte, or a run of bytes passed over. */
static void us_step(ustream *u, const unsigned char *b, size_t n, size_t *i, size_t *run)
{
    unsigned char c = b[*i];
    switch (u->st) {
    case U_SKIP:
        us_skip(u, b, n, i, run);
        return;
    case U_DONE:
        *i = n;
        return;
    case U_VALUE:
        if (c != 'N')
            us_marker(u, b, run, *i);
        break;
    case U_MEMBER:
        if (c == '}') {
            int was_tree = u->depth == u->tree_depth;
            u->depth--;
            if (was_tree) {
                us_switch(u, b, run, *i + 1, TO_NONE);
                u->tree_depth = 0;
                mdl_split_tree_end(&u->sp, us_tree);
            }
            us_value_done(u, b, run, *i + 1);
        } else if (c != 'N') {
            u->purpose = FOR_KEY;
            u->st = U_COUNT;
            return; /* b[*i] is the key length's marker */
        }
        break;
    case U_ELEMENT:
        if (c == ']') {
            us_pop(u, b, run, *i, 0);
            us_value_done(u, b, run, *i + 1);
        } else if (c != 'N') {
            us_marker(u, b, run, *i);
        }
        break;
    case U_ARRAY:
        if (c != '$' && c != '#') { /* the first element: read again as one */
            us_push(u, b, run, *i, '[', 0);
            u->st = U_ELEMENT;
            return;
        }
        us_array(u, b, run, *i);
        break;
    case U_TYPE:
    case U_HASH:
        us_array(u, b, run, *i);
        break;
    case U_COUNT:
        if (c == 'N')
            break;
        u->ineed = c == 'i' || c == 'U' ? 1 : c == 'I' ? 2 : c == 'l' ? 4 : c == 'L' ? 8 : 0;
        if (!u->ineed)
            us_broken(u, b, run, *i);
        u->imark = (char)c;
        u->igot = 0;
        u->st = U_INT;
        break;
    case U_INT:
        u->ib[u->igot++] = c;
        if (u->igot == u->ineed)
            us_int_done(u, b, run, *i);
        break;
    }
    (*i)++;
}

static int us_feed(mdl_sreader *r, const unsigned char *b, size_t n)
{
    ustream *u = (ustream *)r;
    size_t run = 0, i = 0;
    while (i < n && !u->broken)
        us_step(u, b, n, &i, &run);
    if (!u->broken)
        us_switch(u, b, &run, n, u->sink);
    u->off += n;
    return u->sp.enomem ? SMX_ENOMEM : SMX_OK;
}

static int us_end(mdl_sreader *r)
{
    ustream *u = (ustream *)r;
    mdl_split *sp = &u->sp;
    if (sp->enomem)
        return SMX_ENOMEM;
    if (u->broken || sp->skel_over)
        return SMX_OK;     /* the problem, or what is unknown, is said already */
    if (u->st != U_DONE) { /* the data ends early: the parser says where and in what */
        if (u->tree_depth && !sp->tree_over && !sp->m->corrupt)
            mdl_ubj_part((const unsigned char *)(sp->tree.data ? sp->tree.data : ""), sp->tree.len,
                         sp, MDL_UBJ_TREE, sp->m);
        if (!sp->m->corrupt)
            mdl_ubj_part((const unsigned char *)(sp->skel.data ? sp->skel.data : ""), sp->skel.len,
                         sp, MDL_UBJ_SKELETON, sp->m);
        if (!sp->m->corrupt)
            mdl_corrupt(sp->m, "truncated UBJSON: the data ends at byte offset %llu",
                        (unsigned long long)u->off);
        return SMX_OK;
    }
    int rc =
        mdl_ubj_part((const unsigned char *)sp->skel.data, sp->skel.len, sp,
                     u->trees_depth == -1 ? MDL_UBJ_SKELETON_STREAMED : MDL_UBJ_SKELETON, sp->m);
    if (rc == SMX_OK && u->off > u->root_end)
        mdl_detail(sp->m, "%s, %llu trailing bytes ignored", sp->m->detail,
                   (unsigned long long)(u->off - u->root_end));
    return rc == SMX_ENOMEM || rc == MDL_NOT_XGBOOST ? rc : SMX_OK;
}

static void us_free(mdl_sreader *r)
{
    ustream *u = (ustream *)r;
    mdl_split_free(&u->sp);
    free(u);
}

static int ubjson_stream(const mdl_ctx *c, uint64_t size, compat_model_info *m, mdl_sreader **out)
{
    (void)c;
    (void)size;
    ustream *u = calloc(1, sizeof *u);
    if (!u)
        return SMX_ENOMEM;
    u->r = (mdl_sreader){us_feed, us_end, us_free};
    u->sp.m = m;
    u->st = U_VALUE;
    u->sink = TO_SKEL;
    m->format = COMPAT_FMT_UBJSON;
    m->payload = COMPAT_PAYLOAD_UBJ;
    mdl_detail(m, "UBJSON model");
    *out = &u->r;
    return SMX_OK;
}

const mdl_format mdl_ubjson = {.name = "UBJSON",
                               .sniff = mdl_ubj_sniff,
                               .read = mdl_ubj_read,
                               .tail = mdl_ubj_tail,
                               .stream = ubjson_stream,
                               .other = "UBJSON document that is not an XGBoost model"};
