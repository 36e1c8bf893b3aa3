/*
 * Building the evaluator (the layout is described in eval_private.h): what XGBoost computes
 * once at load, computed here the same way, so that evaluation only walks and adds.
 *
 *   - The base margin: the stored base_score parsed as a float (strtof: correctly rounded, as
 *     XGBoost's from_chars) and mapped by the objective's ProbToMargin in float arithmetic
 *     (-logf(1/p - 1) for logistic, logf for log links, the identity otherwise; logitraw used
 *     the logit before 1.3.1). A binary model older than 1.0 stores the margin: XGBoost 1.0+
 *     maps it back through PredTransform and then ProbToMargin (multi:* objectives excepted),
 *     older XGBoost uses it as stored. 3.1+ store one value per output, as an array in a
 *     string that XGBoost before 3.1 cannot parse: it keeps its default, 0.5.
 *   - The trees of the iteration range, each checked to be a tree (every node reached once
 *     from the root), laid out complete or general, with dart's weight folded into its leaves:
 *     ((base + leaf) - base) * weight on the in-place path, (0 + leaf) * weight on a DMatrix.
 *   - gblinear: the weights as stored (features x groups, then the bias per group).
 */
#include "eval_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int obj_is(const compat_model_info *m, const char *name)
{
    return !strcmp(m->objective, name);
}

static int log_link(const compat_model_info *m)
{
    return obj_is(m, "count:poisson") || obj_is(m, "reg:gamma") || obj_is(m, "reg:tweedie") ||
           obj_is(m, "survival:cox") || obj_is(m, "survival:aft");
}

static int logistic(const compat_model_info *m)
{
    return obj_is(m, "binary:logistic") || obj_is(m, "reg:logistic");
}

/* The version whose rules apply: the one asked for, else the writer's as far as known. */
static compat_version rules_version(const compat_model_info *m, const compat_eval_opts *o)
{
    if (o->runtime.major || o->runtime.minor)
        return o->runtime;
    if (m->writer_max.major >= 0)
        return m->writer_max;
    if (m->writer_min.major >= 0)
        return m->writer_min;
    return (compat_version){99, 0, 0}; /* unknown: the newest rules */
}

static int version_before(compat_version v, int major, int minor, int patch)
{
    if (v.patch < 0 && v.major == major && v.minor == minor)
        return 0; /* "1.3.x": the newest patch of that minor */
    return compat_version_cmp(v, (compat_version){major, minor, patch}) < 0;
}

static int pick_transform(const compat_model_info *m, compat_version v, compat_eval *e,
                          smx_err *err)
{
    static const char *const identity[] = {"reg:squarederror",
                                           "reg:linear",
                                           "reg:squaredlogerror",
                                           "reg:pseudohubererror",
                                           "reg:absoluteerror",
                                           "reg:quantileerror",
                                           "binary:logitraw",
                                           "rank:pairwise",
                                           "rank:ndcg",
                                           "rank:map",
                                           NULL};
    for (size_t i = 0; identity[i]; i++)
        if (obj_is(m, identity[i])) {
            e->transform = MDL_EV_IDENTITY;
            return SMX_OK;
        }
    if (logistic(m))
        e->transform = version_before(v, 1, 6, 0) ? MDL_EV_SIGMOID_OLD : MDL_EV_SIGMOID;
    else if (log_link(m))
        e->transform = MDL_EV_EXPF;
    else if (obj_is(m, "binary:hinge"))
        e->transform = MDL_EV_HINGE;
    else if (obj_is(m, "multi:softprob"))
        e->transform = MDL_EV_SOFTPROB;
    else if (obj_is(m, "multi:softmax"))
        e->transform = MDL_EV_SOFTMAX;
    else
        return smx_fail(err, SMX_EINVAL, "objective \"%s\": its prediction transform is not known",
                        m->objective[0] ? m->objective : "(none)");
    return SMX_OK;
}

/* PredTransform of one value, for the pre-1.0 base margin (softmax objectives excluded). */
static float pred_transform1(mdl_ev_transform t, float x)
{
    switch (t) {
    case MDL_EV_SIGMOID: {
        float y = -x;
        y = 88.7f < y ? 88.7f : y;
        return 1.0f / (expf(y) + 1.0f + 1e-16f);
    }
    case MDL_EV_SIGMOID_OLD:
        return 1.0f / (1.0f + expf(-x));
    case MDL_EV_EXPF:
        return expf(x);
    case MDL_EV_HINGE:
        return x > 0.0 ? 1.0f : 0.0f;
    default:
        return x;
    }
}

static float prob_to_margin(const compat_model_info *m, compat_version v, float p)
{
    if (logistic(m) || (obj_is(m, "binary:logitraw") && version_before(v, 1, 3, 1)))
        return -logf(1.0f / p - 1.0f);
    if (log_link(m))
        return logf(p);
    return p;
}

static int base_margins(const compat_model_info *m, compat_version v, compat_eval *e, smx_err *err)
{
    const char *s = m->base_score;
    size_t n = 0;
    /* before 3.1, XGBoost's from_chars fails on "[...]" and base_score keeps its default */
    if (!*s || (*s == '[' && version_before(v, 3, 1, 0))) {
        for (size_t g = 0; g < e->groups; g++)
            e->base[g] = 0.5f;
        n = 1;
    } else {
        int array = *s == '[';
        s += array;
        while (*s && *s != ']' && n < e->groups) {
            char *end;
            float f = strtof(s, &end);
            if (end == s)
                break;
            e->base[n++] = f;
            s = end;
            while (*s == ',' || *s == ' ')
                s++;
        }
        if (!n || (!array && n != 1))
            return smx_fail(err, SMX_EINVAL, "base_score \"%s\" is not a number", m->base_score);
    }
    for (size_t g = n; g < e->groups; g++)
        e->base[g] = e->base[n - 1];
    int multi = !strncmp(m->objective, "multi:", 6);
    for (size_t g = 0; g < e->groups; g++) {
        float p = e->base[g];
        if (m->base_score_is_margin) {
            if (compat_version_cmp(v, (compat_version){1, 0, 0}) < 0 || multi)
                continue; /* used as stored */
            p = pred_transform1(e->transform, p);
        }
        e->base[g] = isnan(p) ? p : prob_to_margin(m, v, p);
    }
    return SMX_OK;
}

/* ---- trees ---------------------------------------------------------------------------------- */

/* What a tree is: checked to be a tree, its depth, whether it needs the general layout. */
typedef struct shape {
    int32_t *order; /* nodes breadth-first from the root */
    int32_t n;      /* nodes reached */
    int depth;
    int general;
} shape;

static int tree_shape(const compat_tree *t, size_t ti, shape *s, smx_err *err)
{
    memset(s, 0, sizeof *s);
    if (t->n_nodes < 1)
        return smx_fail(err, SMX_EINVAL, "tree %zu has no nodes", ti);
    int32_t n = t->n_nodes;
    uint8_t *seen = calloc((size_t)n, 1);
    int32_t *level = malloc((size_t)n * sizeof *level);
    s->order = malloc((size_t)n * sizeof *s->order);
    if (!seen || !level || !s->order) {
        free(seen);
        free(level);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    int rc = SMX_OK;
    int32_t head = 0, tail = 0;
    s->order[tail++] = 0;
    seen[0] = 1;
    level[0] = 0;
    s->general = t->leaf_size > 1;
    while (head < tail && !rc) {
        int32_t k = s->order[head++];
        if (t->left[k] == -1)
            continue;
        int32_t c[2] = {t->left[k], t->right[k]};
        for (int j = 0; j < 2 && !rc; j++) {
            if (c[j] < 0 || c[j] >= n || seen[c[j]]) {
                rc = smx_fail(err, SMX_EINVAL,
                              "tree %zu: node %d is reached twice or not at all "
                              "(not a tree)",
                              ti, c[j]);
                break;
            }
            seen[c[j]] = 1;
            level[c[j]] = level[k] + 1;
            s->depth = level[c[j]] > s->depth ? level[c[j]] : s->depth;
            s->order[tail++] = c[j];
        }
        if ((t->is_cat && t->is_cat[k]) || isnan(t->split_cond[k]))
            s->general = 1;
    }
    s->n = tail;
    if (s->depth > MDL_EV_COMPLETE_DEPTH)
        s->general = 1;
    free(seen);
    free(level);
    if (rc) {
        free(s->order);
        s->order = NULL;
    }
    return rc;
}

/* The value a leaf adds: dart's weight folded in as XGBoost's prediction path computes it. */
static float leaf_add(const compat_eval *e, int dart, const compat_eval_opts *o, float w,
                      uint32_t g, float leaf)
{
    if (!dart)
        return leaf;
    if (o->path == COMPAT_EVAL_DMATRIX) {
        float p = 0.0f + leaf;
        return p * w;
    }
    float p = e->base[g] + leaf;
    float d = p - e->base[0];
    return d * w;
}

static void *grow_array(void **p, size_t *cap, size_t need, size_t elem)
{
    if (smx_grow(p, cap, need, elem))
        return NULL;
    return *p;
}

typedef struct caps {
    size_t cnodes, kkey, kcol, gnodes, leaves, cats, cat_bits;
} caps;

static int emit_complete(compat_eval *e, caps *cp, const compat_tree *t, const shape *s,
                         mdl_ev_tree *et, int dart, const compat_eval_opts *o, float w,
                         uint64_t cols)
{
    size_t internal = ((size_t)1 << s->depth) - 1, nleaves = (size_t)1 << s->depth;
    size_t need = e->n_cnodes + internal + MDL_EV_SLACK;
    if (!grow_array((void **)&e->cnodes, &cp->cnodes, need, sizeof *e->cnodes) ||
        !grow_array((void **)&e->kkey, &cp->kkey, need, sizeof *e->kkey) ||
        !grow_array((void **)&e->kcol, &cp->kcol, need, sizeof *e->kcol) ||
        !grow_array((void **)&e->leaves, &cp->leaves, e->n_leaves + nleaves, sizeof *e->leaves))
        return SMX_ENOMEM;
    int32_t src[2 << MDL_EV_COMPLETE_DEPTH]; /* the original node each position stands for */
    src[0] = 0;
    et->nodes = e->n_cnodes;
    et->leaves = e->n_leaves;
    for (size_t p = 0; p < internal; p++) {
        int32_t k = src[p];
        mdl_ev_node *nd = &e->cnodes[e->n_cnodes + p];
        size_t q = e->n_cnodes + p;
        if (t->left[k] == -1) { /* a leaf above the last level: everything goes right */
            nd->cond = NAN;
            nd->fd = 0;
            e->kkey[q] = INT32_MIN;
            e->kcol[q] = 0;
            src[2 * p + 1] = src[2 * p + 2] = k;
        } else {
            nd->cond = t->split_cond[k];
            nd->fd = t->split_index[k] | (t->default_left[k] ? MDL_EV_DL : 0);
            e->kkey[q] = mdl_ev_key(nd->cond);
            uint64_t c = t->split_index[k] + (t->default_left[k] ? cols : 0);
            /* rows too wide to be keyed do not use kcol */
            e->kcol[q] = 2 * cols * MDL_EV_LANES <= MDL_EV_KEYS ? (uint32_t)(c * MDL_EV_LANES) : 0;
            src[2 * p + 1] = t->left[k];
            src[2 * p + 2] = t->right[k];
        }
    }
    for (size_t l = 0; l < nleaves; l++)
        e->leaves[e->n_leaves + l] =
            leaf_add(e, dart, o, w, et->group, t->split_cond[src[internal + l]]);
    e->n_cnodes += internal;
    e->n_leaves += nleaves;
    for (size_t q = e->n_cnodes; q < e->n_cnodes + MDL_EV_SLACK; q++) /* readable, never used */
        e->kkey[q] = INT32_MIN, e->kcol[q] = 0;
    return SMX_OK;
}

/* A categorical node's bit set, sized as XGBoost sizes it (the largest category + 1 bits). */
static int emit_categories(compat_eval *e, caps *cp, const compat_tree *t, int32_t k, size_t ti,
                           uint32_t *idx, smx_err *err)
{
    int32_t size = t->cat_size ? t->cat_size[k] : 0;
    const int32_t *cs = size > 0 ? t->cats + t->cat_begin[k] : NULL;
    int32_t mx = -1;
    for (int32_t j = 0; j < size; j++) {
        if (cs[j] < 0 || cs[j] >= MDL_EV_MAX_CAT)
            return smx_fail(err, SMX_EINVAL,
                            "tree %zu: category %d is outside what XGBoost can hold (0..2^24)", ti,
                            cs[j]);
        mx = cs[j] > mx ? cs[j] : mx;
    }
    uint32_t words = (uint32_t)((mx + 1 + 31) / 32);
    if (!grow_array((void **)&e->cats, &cp->cats, e->n_cats + 1, sizeof *e->cats) ||
        !grow_array((void **)&e->cat_bits, &cp->cat_bits, e->n_cat_bits + words + 1,
                    sizeof *e->cat_bits))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    e->cats[e->n_cats] = (mdl_ev_cat){e->n_cat_bits, words};
    memset(e->cat_bits + e->n_cat_bits, 0, words * sizeof *e->cat_bits);
    for (int32_t j = 0; j < size; j++)
        e->cat_bits[e->n_cat_bits + (uint32_t)cs[j] / 32] |= 1u << (31 - (uint32_t)cs[j] % 32);
    e->n_cat_bits += words;
    *idx = (uint32_t)e->n_cats++;
    return SMX_OK;
}

/* Breadth-first renumbering: children are enqueued together, so right = left + 1. */
static int emit_general(compat_eval *e, caps *cp, const compat_tree *t, size_t ti, const shape *s,
                        mdl_ev_tree *et, int dart, const compat_eval_opts *o, float w, smx_err *err)
{
    size_t per_leaf = et->vector ? e->groups : 1, n = (size_t)s->n;
    int32_t *newid = malloc((size_t)t->n_nodes * sizeof *newid);
    if (!newid ||
        !grow_array((void **)&e->gnodes, &cp->gnodes, e->n_gnodes + n, sizeof *e->gnodes) ||
        !grow_array((void **)&e->leaves, &cp->leaves, e->n_leaves + n * per_leaf,
                    sizeof *e->leaves)) {
        free(newid);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        newid[s->order[i]] = (int32_t)i;
    et->nodes = e->n_gnodes;
    et->leaves = e->n_leaves;
    int rc = SMX_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        int32_t k = s->order[i];
        mdl_ev_gnode *g = &e->gnodes[e->n_gnodes + i];
        memset(g, 0, sizeof *g);
        if (t->left[k] == -1) {
            g->fd = MDL_EV_LEAF;
            g->left = (uint32_t)(e->n_leaves - et->leaves);
            for (size_t j = 0; j < per_leaf; j++) {
                float v = et->vector ? t->leaf_vec[(size_t)k * per_leaf + j] : t->split_cond[k];
                e->leaves[e->n_leaves++] =
                    leaf_add(e, dart, o, w, et->vector ? (uint32_t)j : et->group, v);
            }
            continue;
        }
        g->cond = t->split_cond[k];
        g->fd = t->split_index[k] | (t->default_left[k] ? MDL_EV_DL : 0);
        g->left = (uint32_t)newid[t->left[k]];
        if (t->is_cat && t->is_cat[k]) {
            g->fd |= MDL_EV_CAT;
            rc = emit_categories(e, cp, t, k, ti, &g->cat, err);
        }
    }
    e->n_gnodes += n;
    free(newid);
    return rc;
}

/* The trees XGBoost's iteration_end selects: iteration_end x groups x num_parallel_tree. */
static int tree_range(const compat_model_info *m, const compat_eval_opts *o, size_t groups,
                      size_t *end, smx_err *err)
{
    *end = m->n_tree_structs;
    if (o->iteration_end < 0)
        return smx_fail(err, SMX_EINVAL, "iteration_end %d is negative", o->iteration_end);
    if (o->iteration_end == 0)
        return SMX_OK;
    size_t per = (size_t)(m->num_parallel_tree > 0 ? m->num_parallel_tree : 1) *
                 (m->size_leaf_vector > 1 ? 1 : groups);
    size_t want = (size_t)o->iteration_end * per;
    if (want > m->n_tree_structs)
        return smx_fail(err, SMX_EINVAL,
                        "iteration_end %d asks for %zu trees; the model has %zu (XGBoost: "
                        "\"Invalid number of trees\")",
                        o->iteration_end, want, m->n_tree_structs);
    *end = want;
    return SMX_OK;
}

/* Columns a row needs: num_feature, and every split feature of the first `end` trees. */
static int split_columns(const compat_model_info *m, size_t end, compat_eval *e, smx_err *err)
{
    for (size_t t = 0; t < end; t++) {
        const compat_tree *tr = &m->trees[t];
        for (int32_t k = 0; k < tr->n_nodes; k++) {
            uint32_t f = tr->split_index[k];
            if (tr->left[k] == -1 || f < e->cols)
                continue;
            if (f >= MDL_EV_FEAT)
                return smx_fail(err, SMX_EINVAL,
                                "tree %zu splits on feature %u: more features than the evaluator "
                                "holds",
                                t, f);
            e->cols = (uint64_t)f + 1;
        }
    }
    return SMX_OK;
}

/* Are m's tree weights applied? dart's always; 3.3+ save DART as booster "gbtree" with its
 * weight_drop, which XGBoost before 3.3 does not read (it predicts with every tree whole). */
static int dart_weighted(const compat_model_info *m, compat_version v)
{
    return !strcmp(m->booster, "dart") ||
           (m->dart_weights_in_gbtree && !version_before(v, 3, 3, 0));
}

static int build_trees(const compat_model_info *m, const compat_eval_opts *o, compat_version v,
                       compat_eval *e, smx_err *err)
{
    size_t end;
    int rc = tree_range(m, o, e->groups, &end, err);
    if (rc)
        return rc;
    int dart = dart_weighted(m, v);
    if (dart && !m->tree_weights)
        return smx_fail(err, SMX_EINVAL, "dart model without weight_drop");
    if ((rc = split_columns(m, end, e, err)))
        return rc;
    e->trees = calloc(end ? end : 1, sizeof *e->trees);
    if (!e->trees)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    caps cp = {0};
    size_t complete = 0;
    int deepest = 0;
    for (size_t t = 0; t < end && !rc; t++) {
        const compat_tree *tr = &m->trees[t];
        mdl_ev_tree *et = &e->trees[t];
        et->vector = tr->leaf_size > 1;
        if (et->vector && (!tr->leaf_vec || (size_t)tr->leaf_size != e->groups))
            return smx_fail(err, SMX_EINVAL, "tree %zu has %d-value leaves for %zu outputs", t,
                            tr->leaf_size, e->groups);
        if (!et->vector && (m->tree_info[t] < 0 || (size_t)m->tree_info[t] >= e->groups))
            return smx_fail(err, SMX_EINVAL, "tree %zu belongs to output %d of %zu", t,
                            m->tree_info[t], e->groups);
        et->group = et->vector ? 0 : (uint32_t)m->tree_info[t];
        shape s;
        if ((rc = tree_shape(tr, t, &s, err)))
            return rc;
        float w = dart ? m->tree_weights[t] : 1.0f;
        et->complete = !s.general;
        et->depth = s.depth;
        if (et->complete) {
            rc = emit_complete(e, &cp, tr, &s, et, dart, o, w, e->cols);
            if (rc)
                smx_fail(err, rc, "out of memory");
            complete++;
            deepest = s.depth > deepest ? s.depth : deepest;
        } else {
            rc = emit_general(e, &cp, tr, t, &s, et, dart, o, w, err);
        }
        free(s.order);
        e->n_trees = t + 1;
    }
    const char *kind = strcmp(m->booster, "gbtree") || !dart ? m->booster : "gbtree (DART weights)";
    if (!rc && complete)
        snprintf(e->desc, sizeof e->desc, "%s, %zu tree%s: %zu complete (depth <= %d), %zu general",
                 kind, end, end == 1 ? "" : "s", complete, deepest, end - complete);
    else if (!rc)
        snprintf(e->desc, sizeof e->desc, "%s, %zu tree%s, general", kind, end,
                 end == 1 ? "" : "s");
    return rc;
}

static int build_linear(const compat_model_info *m, compat_eval *e, smx_err *err)
{
    size_t g = e->groups;
    if (!m->linear_weights || m->n_linear_weights < g || m->n_linear_weights % g)
        return smx_fail(err, SMX_EINVAL,
                        "gblinear has %zu weights, not (features + 1) x %zu output groups",
                        m->n_linear_weights, g);
    e->linear = 1;
    e->linear_features = m->n_linear_weights / g - 1;
    if (!(e->weights = malloc(m->n_linear_weights * sizeof *e->weights)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(e->weights, m->linear_weights, m->n_linear_weights * sizeof *e->weights);
    snprintf(e->desc, sizeof e->desc, "gblinear, %llu features x %zu outputs",
             (unsigned long long)e->linear_features, g);
    return SMX_OK;
}

/* Can m be evaluated at all? Its output groups in e->groups. */
static int check_model(const compat_model_info *m, compat_eval *e, smx_err *err)
{
    int linear = !strcmp(m->booster, "gblinear");
    if (m->corrupt)
        return smx_fail(err, SMX_EINVAL, "the model is corrupt: %s", m->problem);
    if (m->unknown) {
        char what[128];
        return smx_fail(err, SMX_EINVAL, "the model was not read whole (%s unknown: %s)",
                        compat_unknown_text(m->unknown, what, sizeof what), m->unknown_why);
    }
    if (!m->booster[0] || (linear ? !m->linear_weights : (!m->trees && m->num_trees > 0)))
        return smx_fail(err, SMX_EINVAL, "the %s model was not parsed (%s): nothing to evaluate",
                        m->booster[0] ? m->booster : "unknown", m->detail);
    if (strcmp(m->booster, "gbtree") && strcmp(m->booster, "dart") && !linear)
        return smx_fail(err, SMX_EINVAL, "booster \"%s\" is not known", m->booster);
    if (m->has_leaf_weights)
        return smx_fail(err, SMX_EINVAL,
                        "vector-leaf trees with \"leaf_weights\" (the XGBoost 3.2+ layout) are not "
                        "evaluated");
    size_t g = 1;
    if (m->num_class > 1)
        g = (size_t)m->num_class;
    if (m->num_target > 1)
        g = (size_t)m->num_target;
    if (g > MDL_EV_MAX_GROUPS)
        return smx_fail(err, SMX_EINVAL, "%zu outputs per row is more than the evaluator holds", g);
    e->groups = g;
    if (m->num_feature < 0 || m->num_feature > MDL_EV_FEAT)
        return smx_fail(err, SMX_EINVAL, "num_feature %lld is out of range",
                        (long long)m->num_feature);
    e->num_feature = (uint64_t)m->num_feature;
    e->cols = e->num_feature;
    return SMX_OK;
}

int compat_eval_new(const compat_model_info *m, const compat_eval_opts *o, compat_eval **out,
                    smx_err *err)
{
    *out = NULL;
    static const compat_eval_opts none = {{0, 0, 0}, 0, 0, COMPAT_EVAL_INPLACE};
    if (!o)
        o = &none;
    compat_eval *e = calloc(1, sizeof *e);
    if (!e)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    compat_version v = rules_version(m, o);
    int rc = check_model(m, e, err);
    if (!rc)
        rc = pick_transform(m, v, e, err);
    if (!rc && !(e->base = malloc(e->groups * sizeof *e->base)))
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!rc)
        rc = base_margins(m, v, e, err);
    if (!rc)
        rc =
            strcmp(m->booster, "gblinear") ? build_trees(m, o, v, e, err) : build_linear(m, e, err);
    if (rc) {
        compat_eval_free(e);
        return rc;
    }
    if (o->margin)
        e->transform = MDL_EV_IDENTITY;
    e->width = e->transform == MDL_EV_SOFTMAX ? 1 : e->groups;
    *out = e;
    return SMX_OK;
}

void compat_eval_free(compat_eval *e)
{
    if (!e)
        return;
    free(e->base);
    free(e->trees);
    free(e->cnodes);
    free(e->kkey);
    free(e->kcol);
    free(e->gnodes);
    free(e->leaves);
    free(e->cats);
    free(e->cat_bits);
    free(e->weights);
    free(e);
}

size_t compat_eval_width(const compat_eval *e)
{
    return e->width;
}

uint64_t compat_eval_cols(const compat_eval *e)
{
    return e->cols;
}

const char *compat_eval_describe(const compat_eval *e)
{
    return e->desc;
}
