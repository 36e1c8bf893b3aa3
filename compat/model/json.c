/*
 * JSON models and JSON memory snapshots (formats.md section 2), read through the same document
 * view as UBJSON (doc.c).
 *
 * Memory stays proportional to one tree, not to the model: one structural pass finds the
 * "trees" array and the extent of each tree; jansson parses the rest (the skeleton, with the
 * trees cut out), and each tree is parsed on its own, also by jansson, when doc.c asks
 * for it. Byte offsets in messages are those of the file.
 *
 * A text that cannot be split that way (no trees, not well nested) is parsed whole, up to
 * MDL_JSON_DOM_MAX bytes; beyond that only the learner facts that matter for verdicts
 * (version, objective, base_score, shapes) are read from the small members found by a bounded
 * text scan, and the trees are left unparsed (the reference predictor then says so).
 */
#include "model_private.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mdl_kind j_kind(const mdl_doc *d, mdl_node n)
{
    (void)d;
    if (!n)
        return MDL_NULL;
    switch (json_typeof((const json_t *)n)) {
    case JSON_OBJECT:
        return MDL_OBJ;
    case JSON_ARRAY:
        return MDL_ARR;
    case JSON_STRING:
        return MDL_STR;
    case JSON_INTEGER:
        return MDL_INT;
    case JSON_REAL:
        return MDL_REAL;
    case JSON_TRUE:
    case JSON_FALSE:
        return MDL_BOOL;
    default:
        return MDL_NULL;
    }
}

static mdl_node j_get(const mdl_doc *d, mdl_node obj, const char *key)
{
    (void)d;
    return obj ? json_object_get((const json_t *)obj, key) : NULL;
}

static size_t j_size(const mdl_doc *d, mdl_node n)
{
    (void)d;
    const json_t *j = n;
    if (json_is_array(j))
        return json_array_size(j);
    if (json_is_object(j))
        return json_object_size(j);
    return 0;
}

static mdl_node j_at(const mdl_doc *d, mdl_node arr, size_t i)
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

static int j_num_at(const mdl_doc *d, mdl_node arr, size_t i, double *out)
{
    (void)d;
    const json_t *e = json_array_get((const json_t *)arr, i);
    if (!e || !(json_is_number(e) || json_is_boolean(e)))
        return -1;
    return scalar(e, out);
}

static int j_num(const mdl_doc *d, mdl_node n, double *out)
{
    (void)d;
    return n ? scalar(n, out) : -1;
}

static const char *j_str(const mdl_doc *d, mdl_node n, size_t *len)
{
    (void)d;
    if (!json_is_string((const json_t *)n))
        return NULL;
    *len = json_string_length((const json_t *)n);
    return json_string_value((const json_t *)n);
}

/* Object members by index: jansson iterates in insertion order; we walk the iterator. */
static mdl_node j_member(const mdl_doc *d, mdl_node obj, size_t i, const char **key, size_t *klen)
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

static int j_elem_kind(const mdl_doc *d, mdl_node arr)
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

static int read_large(const unsigned char *b, size_t len, compat_model_info *m, const mdl_doc *d)
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
    int rc = mdl_doc_extract(d, root, m, 0);
    json_decref(root);
    mdl_detail(m,
               "JSON model of %zu bytes (larger than %zu: learner facts only, trees not "
               "parsed)",
               len, (size_t)MDL_JSON_DOM_MAX);
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
    char stack[MDL_MAX_DEPTH + 1];
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
            if (depth == MDL_MAX_DEPTH)
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
    return mdl_corrupt(m, "%s JSON at byte offset %zu%s: %s", trunc ? "truncated" : "corrupt", at,
                       what, e->text);
}

/* The context of one JSON model: its text, where its trees are, the tree being read. */
struct jctx {
    const unsigned char *b;
    const trees *t;
    json_t *root;
    const json_t *cur; /* the tree being read and where it starts */
    size_t cur_off;
};

static int j_ext_tree(const mdl_doc *d, size_t i, const mdl_doc **td, mdl_node *out,
                      compat_model_info *m)
{
    jctx *c = (jctx *)d->ctx; /* ours: the view is read-only only to doc.c */
    span sp = c->t->el[i];
    size_t n = sp.e - sp.s;
    unsigned char *copy = malloc(n + 1);
    if (!copy)
        return SMX_ENOMEM;
    memcpy(copy, c->b + sp.s, n);
    copy[n] = 0;
    fix_nonfinite(copy, n);
    c->cur_off = sp.s;
    json_error_t e;
    json_t *tn = json_loadb((const char *)copy, n, JSON_ALLOW_NUL, &e);
    free(copy);
    if (!tn) {
        char w[64];
        snprintf(w, sizeof w, " (in tree %zu)", i);
        return json_fail(m, &e, sp.s, (size_t)-1, w);
    }
    c->cur = tn;
    *td = d;
    *out = tn;
    return SMX_OK;
}

static void j_ext_free(const mdl_doc *d, mdl_node n)
{
    (void)d;
    json_decref((json_t *)n);
}

static size_t j_offset(const mdl_doc *d, mdl_node n)
{
    const jctx *c = d->ctx;
    return n && n == c->cur ? c->cur_off : (size_t)-1;
}

static int json_read(const mdl_ctx *ctx, const unsigned char *b, size_t len, compat_model_info *m)
{
    (void)ctx;
    m->format = COMPAT_FMT_JSON;
    m->payload = COMPAT_PAYLOAD_JSON;
    mdl_detail(m, "JSON model");
    trees t = {0, 0, NULL, 0, 0};
    jctx c = {.b = b, .t = &t};
    mdl_doc d = {&c,       j_kind,      j_get, j_size,     j_at,       j_num_at, j_num, j_str,
                 j_member, j_elem_kind, 0,     j_ext_tree, j_ext_free, j_offset, 0};
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
        if (len > MDL_JSON_DOM_MAX) {
            free(t.el);
            return read_large(b, len, m, &d);
        }
    } else if (skel_len > MDL_JSON_DOM_MAX) {
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
    int rc = mdl_doc_extract(&d, root, m, 0);
    json_decref(root);
    free(t.el);
    return rc;
}

/* ---- a JSON model read as it streams -------------------------------------------------------
 *
 * The structural pass of find_trees, run on chunks as they come: it hands every byte to the
 * skeleton, to the tree being read, or to neither (split.c), and each tree is parsed by
 * jansson and read by doc.c as soon as it ends. Strings of the skeleton are cut just past
 * MDL_MAX_STRING characters (the readers take no longer ones as facts), so a huge attribute
 * costs no memory. At the end the skeleton is parsed like the one json_read builds.
 */

enum { TO_SKEL, TO_TREE, TO_NONE };

typedef struct jstream {
    mdl_sreader r;
    mdl_split sp;
    uint64_t off; /* file offset of the chunk being fed */
    int sink;     /* where the bytes from `run` on go */
    int in_str, esc, uesc, cutting, keyed, depth, tdepth, broken;
    char stack[MDL_MAX_DEPTH + 1];
    unsigned char key[5]; /* the first bytes of the last string, and its raw length */
    uint64_t slen, units; /* units: characters so far (an escape counts one) */
} jstream;

/* Hand b[*run..at) to the current sink; the bytes from `at` on go to `to`. */
static void js_switch(jstream *j, const unsigned char *b, size_t *run, size_t at, int to)
{
    size_t n = at - *run;
    if (j->sink == TO_SKEL)
        mdl_split_skel(&j->sp, b + *run, n);
    else if (j->sink == TO_TREE)
        mdl_split_tree(&j->sp, b + *run, n);
    else
        mdl_split_cut(&j->sp, n);
    *run = at;
    j->sink = to;
}

static int js_tree(mdl_split *s, unsigned char *b, size_t n)
{
    fix_nonfinite(b, n);
    json_error_t e;
    json_t *tn = json_loadb((const char *)b, n, JSON_ALLOW_NUL, &e);
    if (!tn) {
        char w[64];
        snprintf(w, sizeof w, " (in tree %zu)", s->n_trees);
        return json_fail(s->m, &e, (size_t)s->tree_off, (size_t)-1, w);
    }
    jctx c = {.cur = tn, .cur_off = (size_t)s->tree_off};
    mdl_doc d = {&c,       j_kind,      j_get, j_size, j_at, j_num_at, j_num, j_str,
                 j_member, j_elem_kind, 0,     NULL,   NULL, j_offset, 0};
    int rc = mdl_doc_tree(&d, tn, s->n_trees, s->m);
    json_decref(tn);
    return rc;
}

/* A byte of a string: its escapes, its end, the key it may be, and the cut of a long one. */
static void js_string(jstream *j, const unsigned char *b, size_t i, size_t *run)
{
    unsigned char c = b[i];
    if (j->slen < sizeof j->key)
        j->key[j->slen] = c;
    j->slen++;
    if (j->uesc) {
        j->uesc--;
    } else if (j->esc) {
        j->esc = 0;
        j->uesc = c == 'u' ? 4 : 0;
        j->units++;
    } else if (c == '\\') {
        j->esc = 1;
    } else if (c == '"') {
        j->slen--;
        j->in_str = 0;
        if (j->cutting)
            js_switch(j, b, run, i, TO_SKEL);
        j->cutting = 0;
    } else if (j->sink == TO_SKEL && ++j->units > (uint64_t)MDL_MAX_STRING + 1) {
        js_switch(j, b, run, i, TO_NONE); /* longer than any fact: the rest is not kept */
        j->cutting = 1;
    }
}

static void js_close(jstream *j, const unsigned char *b, size_t i, size_t *run)
{
    unsigned char c = b[i];
    if (!j->depth || j->stack[j->depth - 1] != (c == '}' ? '{' : '[')) {
        mdl_corrupt(j->sp.m, "corrupt JSON at byte offset %llu: '%c' closes nothing open",
                    (unsigned long long)(j->off + i), c);
        j->broken = 1;
        return;
    }
    j->depth--;
    if (j->tdepth >= 0 && c == '}' && j->depth == j->tdepth) { /* a tree ends */
        js_switch(j, b, run, i + 1, TO_NONE);
        mdl_split_tree_end(&j->sp, js_tree);
    } else if (j->tdepth >= 0 && c == ']' && j->depth == j->tdepth - 1) { /* the trees end */
        js_switch(j, b, run, i, TO_SKEL);
        j->tdepth = -2;
    }
    j->keyed = 0;
}

static void js_open(jstream *j, const unsigned char *b, size_t i, size_t *run)
{
    unsigned char c = b[i];
    if (j->depth == MDL_MAX_DEPTH) {
        mdl_corrupt(j->sp.m, "corrupt JSON at byte offset %llu: nested more than %d deep",
                    (unsigned long long)(j->off + i), MDL_MAX_DEPTH);
        j->broken = 1;
        return;
    }
    if (c == '[' && j->tdepth == -1 && j->keyed && j->slen == 5 && !memcmp(j->key, "trees", 5)) {
        j->tdepth = j->depth + 1; /* the skeleton keeps "[", then "]" */
        js_switch(j, b, run, i + 1, TO_NONE);
    } else if (c == '{' && j->tdepth >= 0 && j->depth == j->tdepth) { /* a tree starts */
        js_switch(j, b, run, i, TO_TREE);
        mdl_split_tree_begin(&j->sp, j->off + i);
    }
    j->stack[j->depth++] = (char)c;
    j->keyed = 0;
}

static int js_feed(mdl_sreader *r, const unsigned char *b, size_t n)
{
    jstream *j = (jstream *)r;
    size_t run = 0;
    for (size_t i = 0; i < n && !j->broken; i++) {
        unsigned char c = b[i];
        if (j->in_str)
            js_string(j, b, i, &run);
        else if (c == '"')
            j->in_str = 1, j->slen = j->units = 0;
        else if (c == ':')
            j->keyed = j->depth > 0 && j->stack[j->depth - 1] == '{';
        else if (c == ',')
            j->keyed = 0;
        else if (c == '{' || c == '[')
            js_open(j, b, i, &run);
        else if (c == '}' || c == ']')
            js_close(j, b, i, &run);
    }
    if (!j->broken)
        js_switch(j, b, &run, n, j->sink);
    j->off += n;
    return j->sp.enomem ? SMX_ENOMEM : SMX_OK;
}

static int js_end(mdl_sreader *r)
{
    jstream *j = (jstream *)r;
    mdl_split *sp = &j->sp;
    if (sp->enomem)
        return SMX_ENOMEM;
    if (j->broken || sp->skel_over)
        return SMX_OK; /* the problem, or what is unknown, is said already */
    if (j->sink == TO_TREE && !sp->tree_over && sp->tree.data && !sp->m->corrupt) {
        /* the data ends inside a tree: what jansson says about it, as a whole read would */
        json_error_t e;
        fix_nonfinite((unsigned char *)sp->tree.data, sp->tree.len);
        json_t *t = json_loadb(sp->tree.data, sp->tree.len, JSON_ALLOW_NUL, &e);
        json_decref(t);
        if (!t)
            json_fail(sp->m, &e, (size_t)sp->tree_off, (size_t)j->off, "");
    }
    unsigned char *sk = (unsigned char *)(sp->skel.data ? sp->skel.data : "");
    fix_nonfinite(sk, sp->skel.len);
    json_error_t e;
    json_t *root = json_loadb((const char *)sk, sp->skel.len, JSON_ALLOW_NUL, &e);
    if (!root) {
        /* as json_fail says it, at the offset in the file (jansson counts the offending byte
         * as read) */
        size_t pos = (size_t)(e.position > 0 ? e.position : 0);
        int end = pos >= sp->skel.len || strstr(e.text, "premature end") ||
                  strstr(e.text, "unexpected end");
        uint64_t at = end ? j->off : mdl_split_offset(sp, pos ? pos - 1 : 0);
        mdl_corrupt(sp->m, "%s JSON at byte offset %llu: %s", end ? "truncated" : "corrupt",
                    (unsigned long long)at, e.text);
        return SMX_OK;
    }
    jctx c = {.root = root};
    mdl_doc d = {&c,       j_kind,      j_get, j_size, j_at, j_num_at, j_num, j_str,
                 j_member, j_elem_kind, 0,     NULL,   NULL, NULL,     0};
    d.streamed = j->tdepth == -2; /* the trees were read as they came */
    d.n_ext = sp->n_trees;
    int rc = mdl_doc_extract(&d, root, sp->m, 0);
    json_decref(root);
    return rc == SMX_ENOMEM || rc == MDL_NOT_XGBOOST ? rc : SMX_OK;
}

static void js_free(mdl_sreader *r)
{
    jstream *j = (jstream *)r;
    mdl_split_free(&j->sp);
    free(j);
}

static int json_stream(const mdl_ctx *ctx, uint64_t size, compat_model_info *m, mdl_sreader **out)
{
    (void)ctx;
    (void)size;
    jstream *j = calloc(1, sizeof *j);
    if (!j)
        return SMX_ENOMEM;
    j->r = (mdl_sreader){js_feed, js_end, js_free};
    j->sp.m = m;
    j->tdepth = -1;
    j->sink = TO_SKEL;
    m->format = COMPAT_FMT_JSON;
    m->payload = COMPAT_PAYLOAD_JSON;
    mdl_detail(m, "JSON model");
    *out = &j->r;
    return SMX_OK;
}

/* ---- the entries ------------------------------------------------------------------------- */

static int json_sniff(const unsigned char *b, size_t len)
{
    return len >= 1 && b[0] == '{';
}

/* Inside a pickle, only what a model or a snapshot starts with: '{', blanks, '"' or '}'. */
static int json_payload_sniff(const unsigned char *b, size_t len)
{
    if (len < 1 || b[0] != '{')
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (b[i] == '"' || b[i] == '}')
            return 1;
        if (!isspace(b[i]))
            return 0;
    }
    return 1; /* "{" and whitespace only: JSON, truncated */
}

/*
 * The end of a JSON model read in part: the last `"version": [M, m, p]`, which XGBoost writes
 * as the last member of the model (of the snapshot's "Model"), so that only '}' and blanks
 * follow it. The array is parsed by jansson and read through the same view as a whole file.
 */
static int json_tail(const unsigned char *t, size_t n, compat_model_info *m)
{
    size_t i = n;
    while (i-- > 0 && (t[i] != '"' || n - i < 9 || memcmp(t + i, "\"version\"", 9)))
        ;
    if (i == (size_t)-1)
        return -1;
    size_t j = i + 9;
    while (j < n && isspace(t[j]))
        j++;
    if (j >= n || t[j++] != ':')
        return -1;
    while (j < n && isspace(t[j]))
        j++;
    const unsigned char *close = j < n && t[j] == '[' ? memchr(t + j, ']', n - j) : NULL;
    if (!close)
        return -1;
    for (const unsigned char *q = close + 1; q < t + n; q++)
        if (*q != '}' && !isspace(*q))
            return -1;
    json_error_t e;
    json_t *v = json_loadb((const char *)t + j, (size_t)(close - (t + j)) + 1, 0, &e);
    mdl_doc d = {NULL,     j_kind,      j_get, j_size, j_at, j_num_at, j_num, j_str,
                 j_member, j_elem_kind, 0,     NULL,   NULL, NULL,     0};
    int rc = v ? mdl_doc_tail_version(&d, v, m) : -1;
    json_decref(v);
    return rc;
}

const mdl_format mdl_json = {.name = "JSON",
                             .sniff = json_sniff,
                             .read = json_read,
                             .tail = json_tail,
                             .stream = json_stream,
                             .other =
                                 "JSON document that is not an XGBoost model (no \"learner\")"};
const mdl_format mdl_json_payload = {.name = "JSON (pickle payload)",
                                     .sniff = json_payload_sniff,
                                     .read = json_read,
                                     .stream = json_stream};
