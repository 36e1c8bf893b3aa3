/*
 * A small reference predictor: evaluates a model parsed by the readers, without XGBoost, so
 * that a real load in some XGBoost version can be checked against what the file says.
 *
 * margin = base margin + sum of tree leaves per output group (dart: times weight_drop), or
 * the gblinear dot product; then the objective's transform. Tree walks follow XGBoost's CPU
 * predictor: missing (NaN, or a feature beyond the row) takes the default direction; numeric
 * splits go left when value < condition; a categorical split sends the categories listed at
 * the node right and everything else (including negative or unseen categories) left.
 *
 * The base margin: 1.0+ files store base_score as the user sees it and the objective maps it
 * to a margin (logit for logistic, log for count/gamma/tweedie/cox/aft; binary:logitraw used
 * logit before 1.3.1); 0.90 and older binaries store the margin itself; 3.1+ store one value
 * per output as a JSON array in a string.
 *
 * compat_gen_rows makes the deterministic rows that a real load (compat/runtime) predicts and
 * this predictor evaluates, so the two can be compared.
 */
#include "model_private.h"

#include <math.h>
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

static int logit_link(const compat_model_info *m)
{
    if (obj_is(m, "binary:logistic") || obj_is(m, "reg:logistic"))
        return 1;
    if (obj_is(m, "binary:logitraw")) {
        /* 8be2cd8c9 (1.3.1) made LogisticRaw::ProbToMargin the identity */
        compat_version v131 = {1, 3, 1};
        return m->writer_max.major >= 0 && compat_version_cmp(m->writer_max, v131) < 0 &&
               !(m->writer_max.major == 1 && m->writer_max.minor == 3 && m->writer_max.patch < 0);
    }
    return 0;
}

static double prob_to_margin(const compat_model_info *m, double bs)
{
    if (m->base_score_is_margin)
        return bs;
    if (logit_link(m))
        return -log(1.0 / bs - 1.0);
    if (log_link(m))
        return log(bs);
    return bs;
}

/* base margins, one per output group */
static int base_margins(const compat_model_info *m, double *out, size_t groups)
{
    const char *s = m->base_score;
    double v[1024];
    size_t n = 0;
    if (!*s) {
        v[n++] = 0.5;
    } else if (*s == '[') {
        s++;
        while (*s && *s != ']' && n < 1024) {
            char *e;
            v[n++] = strtod(s, &e);
            if (e == s)
                return -1;
            s = e;
            while (*s == ',' || *s == ' ')
                s++;
        }
        if (!n)
            return -1;
    } else {
        char *e;
        v[n++] = strtod(s, &e);
        if (e == s)
            return -1;
    }
    for (size_t g = 0; g < groups; g++)
        out[g] = prob_to_margin(m, v[n == 1 ? 0 : g < n ? g : n - 1]);
    return 0;
}

static int32_t walk(const compat_tree *t, const float *row, size_t ncol)
{
    int32_t nid = 0;
    for (int32_t steps = 0; steps <= t->n_nodes && t->left[nid] != -1; steps++) {
        uint32_t f = t->split_index[nid];
        float x = f < ncol ? row[f] : NAN;
        int left;
        if (isnan(x)) {
            left = t->default_left[nid];
        } else if (t->is_cat && t->is_cat[nid]) {
            left = 1;
            if (x >= 0 && x < 2147483647.0f) {
                int32_t c = (int32_t)x;
                const int32_t *cs = t->cats + t->cat_begin[nid];
                for (int32_t k = 0; k < t->cat_size[nid]; k++)
                    if (cs[k] == c) {
                        left = 0;
                        break;
                    }
            }
        } else {
            left = x < t->split_cond[nid];
        }
        nid = left ? t->left[nid] : t->right[nid];
    }
    return nid;
}

static void transform(const compat_model_info *m, const double *mg, size_t k, float *out)
{
    if (obj_is(m, "multi:softprob")) {
        double mx = mg[0], sum = 0;
        for (size_t i = 1; i < k; i++)
            mx = mg[i] > mx ? mg[i] : mx;
        for (size_t i = 0; i < k; i++)
            sum += exp(mg[i] - mx);
        for (size_t i = 0; i < k; i++)
            out[i] = (float)(exp(mg[i] - mx) / sum);
        return;
    }
    if (obj_is(m, "multi:softmax")) {
        size_t best = 0;
        for (size_t i = 1; i < k; i++)
            if (mg[i] > mg[best])
                best = i;
        out[0] = (float)best;
        return;
    }
    for (size_t i = 0; i < k; i++) {
        double v = mg[i];
        if (obj_is(m, "binary:logistic") || obj_is(m, "reg:logistic"))
            v = 1.0 / (1.0 + exp(-v));
        else if (obj_is(m, "binary:hinge"))
            v = v > 0 ? 1.0 : 0.0;
        else if (log_link(m))
            v = exp(v);
        out[i] = (float)v;
    }
}

/* Can m be evaluated? Its number of output groups in *groups. */
static int check_model(const compat_model_info *m, size_t *groups, smx_err *err)
{
    int linear = !strcmp(m->booster, "gblinear"), vleaf = m->size_leaf_vector > 1;
    if (m->corrupt)
        return smx_fail(err, SMX_EINVAL, "the model is corrupt: %s", m->problem);
    if (!m->booster[0] || (linear ? !m->linear_weights : (!m->trees && m->num_trees > 0)))
        return smx_fail(err, SMX_EINVAL, "the %s model was not parsed (%s): nothing to evaluate",
                        m->booster[0] ? m->booster : "unknown", m->detail);
    if (m->has_leaf_weights)
        return smx_fail(err, SMX_EINVAL,
                        "vector-leaf trees with \"leaf_weights\" (the XGBoost 3.2+ layout) are not "
                        "evaluated by the reference predictor");
    size_t g = 1;
    if (m->num_class > 1)
        g = (size_t)m->num_class;
    if (m->num_target > 1)
        g = (size_t)m->num_target;
    if (g > 1 << 16)
        return smx_fail(err, SMX_EINVAL, "%zu output groups is more than the predictor handles", g);
    for (size_t t = 0; !linear && t < m->n_tree_structs; t++) {
        if (!vleaf && (m->tree_info[t] < 0 || (size_t)m->tree_info[t] >= g))
            return smx_fail(err, SMX_EINVAL, "tree %zu belongs to group %d of %zu", t,
                            m->tree_info[t], g);
        if (m->trees[t].leaf_size > 1 && (size_t)m->trees[t].leaf_size != g)
            return smx_fail(err, SMX_EINVAL, "tree %zu has %d-value leaves for %zu outputs", t,
                            m->trees[t].leaf_size, g);
    }
    if (linear && (m->n_linear_weights < g || m->n_linear_weights % g))
        return smx_fail(err, SMX_EINVAL,
                        "gblinear has %zu weights, not (features + 1) x %zu output groups",
                        m->n_linear_weights, g);
    *groups = g;
    return SMX_OK;
}

/* Add one row's margins to mg: the gblinear dot product, or the first ntrees trees' leaves. */
static void add_margins(const compat_model_info *m, const float *row, size_t ncol, size_t groups,
                        size_t ntrees, double *mg)
{
    if (!strcmp(m->booster, "gblinear")) {
        size_t nf = m->n_linear_weights / groups ? m->n_linear_weights / groups - 1 : 0;
        for (size_t g = 0; g < groups; g++) {
            double s = m->linear_weights[nf * groups + g];
            for (size_t f = 0; f < nf && f < ncol; f++)
                if (!isnan(row[f]))
                    s += (double)m->linear_weights[f * groups + g] * row[f];
            mg[g] += s;
        }
        return;
    }
    for (size_t t = 0; t < ntrees; t++) {
        const compat_tree *tr = &m->trees[t];
        int32_t leaf = walk(tr, row, ncol);
        double w = m->tree_weights ? m->tree_weights[t] : 1.0;
        if (tr->leaf_size > 1 && tr->leaf_vec) {
            for (size_t g = 0; g < groups; g++)
                mg[g] += w * tr->leaf_vec[(size_t)leaf * groups + g];
        } else {
            mg[m->tree_info[t]] += w * tr->split_cond[leaf];
        }
    }
}

int compat_reference_predict(const compat_model_info *m, const float *X, size_t nrow, size_t ncol,
                             int iteration_end, compat_pred *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    size_t groups = 1;
    int rc = check_model(m, &groups, err);
    if (rc)
        return rc;
    size_t width = obj_is(m, "multi:softmax") ? 1 : groups;
    double *base = malloc(groups * sizeof *base), *mg = malloc(groups * sizeof *mg);
    out->values = malloc((nrow ? nrow : 1) * width * sizeof *out->values);
    if (!base || !mg || !out->values)
        rc = smx_fail(err, SMX_ENOMEM, "out of memory predicting %zu rows", nrow);
    else if (base_margins(m, base, groups))
        rc = smx_fail(err, SMX_EINVAL, "base_score \"%s\" is not a number", m->base_score);
    size_t ntrees = m->n_tree_structs;
    if (iteration_end > 0) { /* the trees of the first iteration_end rounds */
        size_t per = (size_t)(m->num_parallel_tree > 0 ? m->num_parallel_tree : 1) *
                     (m->size_leaf_vector > 1 ? 1 : groups);
        if ((size_t)iteration_end * per < ntrees)
            ntrees = (size_t)iteration_end * per;
    }
    for (size_t r = 0; !rc && r < nrow; r++) {
        memcpy(mg, base, groups * sizeof *mg);
        add_margins(m, X + r * ncol, ncol, groups, ntrees, mg);
        transform(m, mg, groups, out->values + r * width);
    }
    free(base);
    free(mg);
    if (rc) {
        free(out->values);
        out->values = NULL;
        return rc;
    }
    out->rows = nrow;
    out->cols = width;
    return SMX_OK;
}

void compat_pred_free(compat_pred *p)
{
    free(p->values);
    p->values = NULL;
    p->rows = p->cols = 0;
}

/* ---- generated rows ----------------------------------------------------------------------- */

static uint32_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

int compat_gen_rows(const compat_model_info *m, size_t nrow, float **X, size_t *ncol, smx_err *err)
{
    size_t nc = m->num_feature > 0 ? (size_t)m->num_feature : 1;
    if (nc > 100000)
        return smx_fail(err, SMX_ELIMIT, "%zu features: too many to generate test rows", nc);
    float *x = malloc(nrow * nc * sizeof *x);
    if (!x)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    uint64_t s = 0x5eed;
    for (size_t r = 0; r < nrow; r++)
        for (size_t c = 0; c < nc; c++) {
            int cat =
                m->has_categorical && (c >= m->n_feature_types || !m->feature_types ||
                                       !m->feature_types[c] || !strcmp(m->feature_types[c], "c"));
            uint32_t u = lcg(&s);
            float v;
            if (r > 0 && u % 9 == 0)
                v = NAN; /* every row but the first has a few missing values */
            else if (cat)
                v = (float)(u % 5);
            else
                v = (float)((double)(u % 60001) / 10000.0 - 3.0);
            x[r * nc + c] = v;
        }
    *X = x;
    *ncol = nc;
    return SMX_OK;
}
