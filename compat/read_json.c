/*
 * JSON models and JSON memory snapshots (formats.md section 2), parsed with jansson and read
 * through the same document view as UBJSON (model_doc.c).
 *
 * jansson builds the whole document, roughly ten times the size of the text. Up to
 * MODEL_JSON_DOM_MAX bytes that is what we do; beyond it we still report the format and the
 * learner facts that matter for verdicts (version, objective, base_score, booster, counts)
 * by parsing only the small "learner_model_param", "objective" and "version" members found
 * by a bounded text scan, and leave the trees unparsed (the reference predictor then says it
 * has no trees to evaluate).
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
 * the unused split_conditions of categorical nodes), which jansson rejects. Copy the text with
 * those tokens, outside strings, replaced by same-length numbers (0e0, 3.40e+38), so byte
 * offsets in error messages stay those of the file. NULL (no copy needed) if there are none.
 */
static unsigned char *replace_nonfinite(const unsigned char *b, size_t len, int *nomem)
{
    unsigned char *c = NULL;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        if (in_str) {
            if (b[i] == '\\')
                i++;
            else if (b[i] == '"')
                in_str = 0;
            continue;
        }
        if (b[i] == '"') {
            in_str = 1;
            continue;
        }
        const char *rep = NULL;
        size_t n = 0;
        if (b[i] == 'N' && len - i >= 3 && !memcmp(b + i, "NaN", 3))
            rep = "0e0", n = 3;
        else if (b[i] == 'I' && len - i >= 8 && !memcmp(b + i, "Infinity", 8))
            rep = "3.40e+38", n = 8;
        if (!rep)
            continue;
        if (!c) {
            if (!(c = malloc(len ? len : 1))) {
                *nomem = 1;
                return NULL;
            }
            memcpy(c, b, len);
        }
        memcpy(c + i, rep, n);
        i += n - 1;
    }
    return c;
}

int read_json(const unsigned char *b, size_t len, compat_model_info *m)
{
    m->format = COMPAT_FMT_JSON;
    m->payload = COMPAT_PAYLOAD_JSON;
    model_detail(m, "JSON model");
    mdoc d = {NULL, j_kind, j_get, j_size, j_at, j_num_at, j_num, j_str, j_member, j_elem_kind};
    if (len > MODEL_JSON_DOM_MAX)
        return read_large(b, len, m, &d);
    json_error_t e;
    int nomem = 0;
    unsigned char *fixed = replace_nonfinite(b, len, &nomem);
    if (nomem)
        return SMX_ENOMEM;
    json_t *root = json_loadb((const char *)(fixed ? fixed : b), len, JSON_ALLOW_NUL, &e);
    free(fixed);
    if (!root) {
        int trunc = (size_t)e.position >= len || strstr(e.text, "premature end") ||
                    strstr(e.text, "unexpected end");
        return model_corrupt(m, "%s JSON at byte offset %d (line %d, column %d): %s",
                             trunc ? "truncated" : "corrupt", e.position, e.line, e.column, e.text);
    }
    int rc = model_doc_extract(&d, root, m, 0);
    json_decref(root);
    return rc;
}
