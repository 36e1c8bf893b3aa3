/*
 * The model-info builder: a compat_model_info starts empty (writer unknown, boost_from_average
 * unknown) and the readers fill it through these helpers. They keep the strings printable
 * (they end up on terminals), keep the first problem found (the one with the useful byte
 * offset), and own every allocation, so compat_model_info_free releases whatever a reader got
 * as far as. Nothing here reads bytes or calls a reader: every file in compat/model may use it.
 */
#include "model_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

compat_model_info *mdl_info_new(void)
{
    compat_model_info *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->writer_min.major = m->writer_max.major = -1;
    m->writer_min.patch = m->writer_max.patch = -1;
    m->boost_from_average = -1;
    return m;
}

void mdl_copy(char *dst, size_t cap, const char *s, size_t len)
{
    if (!cap)
        return;
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
    for (size_t i = 0; i < n; i++) /* keep printable: these strings end up on terminals */
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
            dst[i] = '?';
}

int mdl_corrupt(compat_model_info *m, const char *fmt, ...)
{
    if (!m->corrupt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->problem, sizeof m->problem, fmt, ap);
        va_end(ap);
        m->corrupt = 1;
    }
    return SMX_EFORMAT;
}

void mdl_detail(compat_model_info *m, const char *fmt, ...)
{
    char tmp[sizeof m->detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(m->detail, tmp, sizeof tmp);
}

void mdl_note(compat_model_info *m, const char *fmt, ...)
{
    char tmp[sizeof m->writer_note];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(m->writer_note, tmp, sizeof tmp);
}

void mdl_prefix_problem(compat_model_info *m, const char *prefix)
{
    char tmp[2 * SMX_ERRMAX];
    size_t pl = strlen(prefix);
    if (pl >= SMX_ERRMAX)
        return;
    memcpy(tmp, prefix, pl);
    memcpy(tmp + pl, m->problem, strlen(m->problem) + 1);
    mdl_copy(m->problem, sizeof m->problem, tmp, strlen(tmp));
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

int mdl_add_attr(compat_model_info *m, const char *k, size_t kl, const char *v, size_t vl)
{
    for (size_t i = 0; i < m->n_attrs; i++) /* one value per key: the last one wins */
        if (strlen(m->attrs[i].key) == kl && !memcmp(m->attrs[i].key, k, kl)) {
            char *nv = dup_n(v, vl);
            if (!nv)
                return SMX_ENOMEM;
            free(m->attrs[i].value);
            m->attrs[i].value = nv;
            return 0;
        }
    compat_kv *a = realloc(m->attrs, (m->n_attrs + 1) * sizeof *a);
    if (!a)
        return SMX_ENOMEM;
    m->attrs = a;
    a[m->n_attrs].key = dup_n(k, kl);
    a[m->n_attrs].value = dup_n(v, vl);
    if (!a[m->n_attrs].key || !a[m->n_attrs].value) {
        free(a[m->n_attrs].key);
        free(a[m->n_attrs].value);
        return SMX_ENOMEM;
    }
    m->n_attrs++;
    return 0;
}

int mdl_add_str(char ***v, size_t *n, const char *s, size_t len)
{
    char **a = realloc(*v, (*n + 1) * sizeof *a);
    if (!a)
        return SMX_ENOMEM;
    *v = a;
    if (!(a[*n] = dup_n(s, len)))
        return SMX_ENOMEM;
    (*n)++;
    return 0;
}

void mdl_set_writer(compat_model_info *m, compat_version lo, compat_version hi, int exact)
{
    m->writer_min = lo;
    m->writer_max = hi;
    m->writer_exact = exact;
}

void mdl_unknown(compat_model_info *m, unsigned facts, const char *fmt, ...)
{
    if (!m->unknown_why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->unknown_why, sizeof m->unknown_why, fmt, ap);
        va_end(ap);
    }
    m->unknown |= facts;
}

const char *compat_unknown_text(unsigned unknown, char *buf, size_t n)
{
    static const char *const names[] = {"writer",   "learner", "trees",
                                        "encoding", "pickle",  "integrity"};
    size_t k = 0;
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0] && n; i++)
        if (unknown & (1u << i)) {
            int w = snprintf(buf + k, n - k, "%s%s", k ? ", " : "", names[i]);
            if (w < 0 || (size_t)w >= n - k)
                break;
            k += (size_t)w;
        }
    return buf;
}

void mdl_foreign(compat_model_info *m, const char *what)
{
    m->format = COMPAT_FMT_FOREIGN;
    mdl_copy(m->foreign, sizeof m->foreign, what, strlen(what));
    mdl_detail(m, "%s", what);
}

int mdl_tree_alloc(compat_tree *tr, size_t n, int64_t slv)
{
    tr->n_nodes = (int32_t)n;
    tr->leaf_size = slv > 1 ? (int32_t)slv : 1;
    tr->left = malloc(n * sizeof *tr->left);
    tr->right = malloc(n * sizeof *tr->right);
    tr->split_index = malloc(n * sizeof *tr->split_index);
    tr->split_cond = malloc(n * sizeof *tr->split_cond);
    tr->default_left = malloc(n);
    if (!tr->left || !tr->right || !tr->split_index || !tr->split_cond || !tr->default_left)
        return SMX_ENOMEM;
    return SMX_OK;
}

void mdl_tree_free(compat_tree *t)
{
    free(t->left);
    free(t->right);
    free(t->split_index);
    free(t->split_cond);
    free(t->default_left);
    free(t->is_cat);
    free(t->cat_begin);
    free(t->cat_size);
    free(t->cats);
    free(t->leaf_vec);
}

void mdl_clear_trees(compat_model_info *m)
{
    for (size_t i = 0; i < m->n_tree_structs; i++)
        mdl_tree_free(&m->trees[i]);
    free(m->trees);
    free(m->tree_info);
    free(m->tree_weights);
    free(m->linear_weights);
    m->trees = NULL;
    m->tree_info = NULL;
    m->tree_weights = NULL;
    m->linear_weights = NULL;
    m->n_tree_structs = 0;
    m->n_linear_weights = 0;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void compat_model_info_free(compat_model_info *m)
{
    if (!m)
        return;
    mdl_clear_trees(m);
    for (size_t i = 0; i < m->n_attrs; i++) {
        free(m->attrs[i].key);
        free(m->attrs[i].value);
    }
    free(m->attrs);
    free_strs(m->feature_names, m->n_feature_names);
    free_strs(m->feature_types, m->n_feature_types);
    free_strs(m->pickle_globals, m->n_pickle_globals);
    free_strs(m->objective_params, m->n_objective_params);
    free(m->payload_bytes);
    free(m);
}

const char *compat_format_name(compat_format f)
{
    switch (f) {
    case COMPAT_FMT_BINARY:
        return "binary";
    case COMPAT_FMT_JSON:
        return "json";
    case COMPAT_FMT_UBJSON:
        return "ubjson";
    case COMPAT_FMT_PICKLE:
        return "pickle";
    case COMPAT_FMT_JOBLIB:
        return "joblib";
    case COMPAT_FMT_FOREIGN:
        return "foreign";
    default:
        return "unknown";
    }
}

const char *compat_payload_name(compat_payload p)
{
    switch (p) {
    case COMPAT_PAYLOAD_BIN:
        return "bin";
    case COMPAT_PAYLOAD_JSON:
        return "json";
    case COMPAT_PAYLOAD_UBJ:
        return "ubj";
    case COMPAT_PAYLOAD_SNAP_CFGOFF:
        return "snap_cfgoff";
    case COMPAT_PAYLOAD_SNAP_JSON:
        return "snap_json";
    case COMPAT_PAYLOAD_SNAP_UBJ:
        return "snap_ubj";
    default:
        return "none";
    }
}
