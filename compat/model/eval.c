/*
 * Evaluating rows with the evaluator eval_build.c built (layout: eval_private.h), the way
 * XGBoost's CPU predictor does, bit for bit:
 *
 *   - Rows go in blocks of MDL_EV_BLOCK (fewer when there are many outputs: a block's margins
 *     stay on the stack). Each block starts from the base margins; then tree by tree, in tree
 *     order, every row's leaf is added to its margin in float: the sum XGBoost forms, in the
 *     same order, so the same bits.
 *   - A complete tree is walked level by level across the block: for each level, each row
 *     moves from node i to 2i+1 or 2i+2. The rows of a level do not depend on each other, so
 *     the processor overlaps their loads; no step branches on the data.
 *   - A general tree is walked row by row as XGBoost does: missing takes the default
 *     direction, a numeric split goes left when x < threshold, a categorical one goes right
 *     for the categories in its set (XGBoost's Decision()).
 *   - Then the objective's transform, in XGBoost's float arithmetic (Sigmoid, expf, Softmax
 *     with the maximum subtracted and a double sum, argmax keeping the first maximum).
 *
 * gblinear follows GBLinear::Pred: bias + base, then x * w in feature order, skipping missing.
 * Nothing here allocates; CSR rows are scattered into a caller's all-NaN row and cleared back.
 */
#include "eval_private.h"

#include <math.h>
#include <string.h>

/* ---- trees ---------------------------------------------------------------------------------- */

/* One step down a complete tree: node i to 2i+1 (left) or 2i+2 (right). */
static inline uint32_t step(const mdl_ev_node *nodes, uint32_t i, const float *row)
{
    mdl_ev_node n = nodes[i];
    float x = row[n.fd & MDL_EV_FEAT];
    /* right: !(x < cond), except a missing x goes left when DL says so */
    uint32_t right = !(x < n.cond) & !((x != x) & (n.fd >> 31));
    return 2 * i + 1 + right;
}

/* The same step on keyed rows (see kkey in eval_private.h): lane j of the group at k. */
#define KSTEP(i, j) (i) = 2 * (i) + 1 + (k[(size_t)kcol[i] + (j)] >= kkey[i])

/* A complete tree over the block: eight rows in flight on keyed rows, else one at a time. */
static void add_complete(const compat_eval *e, const mdl_ev_tree *t, const float *X, size_t stride,
                         const int32_t *keys, size_t kstride, size_t nrow, float *mg)
{
    const mdl_ev_node *nodes = e->cnodes + t->nodes;
    const int32_t *kkey = e->kkey + t->nodes;
    const uint32_t *kcol = e->kcol + t->nodes;
    const float *leaves = e->leaves + t->leaves;
    size_t G = e->groups, g = t->group, r = 0;
    int depth = t->depth;
    uint32_t first = (1u << depth) - 1; /* the first leaf's position */
    if (!keys) {
        for (; r < nrow; r++) {
            uint32_t i = 0;
            for (int d = 0; d < depth; d++)
                i = step(nodes, i, X + r * stride);
            mg[r * G + g] += leaves[i - first];
        }
        return;
    }
    for (; r + MDL_EV_LANES <= nrow; r += MDL_EV_LANES) {
        const int32_t *k = keys + r * kstride;
        uint32_t i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0, i7 = 0;
        for (int d = 0; d < depth; d++) {
            KSTEP(i0, 0);
            KSTEP(i1, 1);
            KSTEP(i2, 2);
            KSTEP(i3, 3);
            KSTEP(i4, 4);
            KSTEP(i5, 5);
            KSTEP(i6, 6);
            KSTEP(i7, 7);
        }
        uint32_t leaf[MDL_EV_LANES] = {i0, i1, i2, i3, i4, i5, i6, i7};
        for (size_t j = 0; j < MDL_EV_LANES; j++)
            mg[(r + j) * G + g] += leaves[leaf[j] - first];
    }
    const int32_t *k = keys + r * kstride; /* a last, partial group: lane by lane */
    for (size_t j = 0; r + j < nrow; j++) {
        uint32_t i = 0;
        for (int d = 0; d < depth; d++)
            KSTEP(i, j);
        mg[(r + j) * G + g] += leaves[i - first];
    }
}

/* Key the block's rows in groups of MDL_EV_LANES (see kkey). */
static void key_rows(const float *X, size_t stride, size_t cols, size_t nrow, int32_t *keys)
{
    for (size_t r = 0; r < nrow; r++) {
        int32_t *k = keys + (r / MDL_EV_LANES) * MDL_EV_LANES * 2 * cols + r % MDL_EV_LANES;
        for (size_t f = 0; f < cols; f++) {
            float x = X[r * stride + f];
            int missing = x != x;
            int32_t v = missing ? 0 : mdl_ev_key(x);
            k[f * MDL_EV_LANES] = missing ? INT32_MAX : v;
            k[(cols + f) * MDL_EV_LANES] = missing ? INT32_MIN : v;
        }
    }
}

static uint32_t walk_general(const compat_eval *e, const mdl_ev_gnode *nodes, const float *row)
{
    uint32_t k = 0;
    for (;;) {
        const mdl_ev_gnode *n = &nodes[k];
        if (n->fd & MDL_EV_LEAF)
            return n->left;
        float x = row[n->fd & MDL_EV_FEAT];
        int left;
        if (isnan(x))
            left = (n->fd & MDL_EV_DL) != 0;
        else if (n->fd & MDL_EV_CAT)
            left = mdl_ev_cat_left(e, n->cat, x);
        else
            left = x < n->cond;
        k = n->left + (uint32_t)!left;
    }
}

/* A general tree's leaf added to one row's margins m. */
static void add_general_row(const compat_eval *e, const mdl_ev_tree *t, const float *row, float *m)
{
    const float *leaves = e->leaves + t->leaves;
    uint32_t leaf = walk_general(e, e->gnodes + t->nodes, row);
    if (t->vector)
        for (size_t g = 0; g < e->groups; g++)
            m[g] += leaves[leaf + g];
    else
        m[t->group] += leaves[leaf];
}

static void add_general(const compat_eval *e, const mdl_ev_tree *t, const float *X, size_t stride,
                        size_t nrow, float *mg)
{
    for (size_t r = 0; r < nrow; r++)
        add_general_row(e, t, X + r * stride, mg + r * e->groups);
}

/* Four complete trees of one depth from t: the small-block path walks them together. */
static int quad(const compat_eval *e, size_t t)
{
    if (t + 4 > e->n_trees)
        return 0;
    const mdl_ev_tree *a = e->trees + t;
    return a[0].complete && a[1].complete && a[2].complete && a[3].complete &&
           a[1].depth == a[0].depth && a[2].depth == a[0].depth && a[3].depth == a[0].depth;
}

#define QSTEP(q) i##q = 2 * i##q + 1 + (k[(size_t)c##q[i##q] + j] >= k##q[i##q])

/* A block of fewer rows than a group: each row through every tree in order, the trees four
 * at a time (one row has no other rows to overlap with). Row j is lane j of keys k. */
static void add_row_small(const compat_eval *e, const int32_t *k, size_t j, const float *row,
                          float *m)
{
    for (size_t t = 0; t < e->n_trees;) {
        const mdl_ev_tree *a = e->trees + t;
        if (quad(e, t)) {
            const int32_t *k0 = e->kkey + a[0].nodes, *k1 = e->kkey + a[1].nodes,
                          *k2 = e->kkey + a[2].nodes, *k3 = e->kkey + a[3].nodes;
            const uint32_t *c0 = e->kcol + a[0].nodes, *c1 = e->kcol + a[1].nodes,
                           *c2 = e->kcol + a[2].nodes, *c3 = e->kcol + a[3].nodes;
            uint32_t i0 = 0, i1 = 0, i2 = 0, i3 = 0, first = (1u << a->depth) - 1;
            for (int d = 0; d < a->depth; d++) {
                QSTEP(0);
                QSTEP(1);
                QSTEP(2);
                QSTEP(3);
            }
            m[a[0].group] += e->leaves[a[0].leaves + i0 - first];
            m[a[1].group] += e->leaves[a[1].leaves + i1 - first];
            m[a[2].group] += e->leaves[a[2].leaves + i2 - first];
            m[a[3].group] += e->leaves[a[3].leaves + i3 - first];
            t += 4;
        } else if (a->complete) {
            const int32_t *kkey = e->kkey + a->nodes;
            const uint32_t *kcol = e->kcol + a->nodes;
            uint32_t i = 0;
            for (int d = 0; d < a->depth; d++)
                KSTEP(i, j);
            m[a->group] += e->leaves[a->leaves + i - ((1u << a->depth) - 1)];
            t++;
        } else {
            add_general_row(e, a, row, m);
            t++;
        }
    }
}

static void add_linear(const compat_eval *e, const float *X, size_t stride, size_t ncol,
                       size_t nrow, float *mg)
{
    size_t G = e->groups, nf = e->linear_features;
    if (nf > e->num_feature)
        nf = e->num_feature;
    if (nf > ncol)
        nf = ncol;
    for (size_t r = 0; r < nrow; r++)
        for (size_t g = 0; g < G; g++) {
            const float *row = X + r * stride;
            float psum = e->weights[e->linear_features * G + g] + mg[r * G + g];
            for (size_t f = 0; f < nf; f++)
                if (!isnan(row[f]))
                    psum += row[f] * e->weights[f * G + g];
            mg[r * G + g] = psum;
        }
}

/* ---- transforms ----------------------------------------------------------------------------- */

static float sigmoid(float x)
{
    float y = -x;
    y = 88.7f < y ? 88.7f : y; /* std::min(-x, 88.7f) */
    float denom = expf(y) + 1.0f + 1e-16f;
    return 1.0f / denom;
}

static void softprob(const float *mg, size_t k, float *out)
{
    float wmax = mg[0];
    for (size_t i = 1; i < k; i++)
        wmax = fmaxf(mg[i], wmax);
    double wsum = 0.0f;
    for (size_t i = 0; i < k; i++) {
        out[i] = expf(mg[i] - wmax);
        wsum += out[i];
    }
    for (size_t i = 0; i < k; i++)
        out[i] /= (float)wsum;
}

static void transform(const compat_eval *e, const float *mg, size_t nrow, float *out)
{
    size_t G = e->groups, n = nrow * G;
    switch (e->transform) {
    case MDL_EV_IDENTITY:
        memcpy(out, mg, n * sizeof *out);
        return;
    case MDL_EV_SIGMOID:
        for (size_t i = 0; i < n; i++)
            out[i] = sigmoid(mg[i]);
        return;
    case MDL_EV_SIGMOID_OLD:
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0f / (1.0f + expf(-mg[i]));
        return;
    case MDL_EV_EXPF:
        for (size_t i = 0; i < n; i++)
            out[i] = expf(mg[i]);
        return;
    case MDL_EV_HINGE:
        for (size_t i = 0; i < n; i++)
            out[i] = mg[i] > 0.0 ? 1.0f : 0.0f;
        return;
    case MDL_EV_SOFTPROB:
        for (size_t r = 0; r < nrow; r++)
            softprob(mg + r * G, G, out + r * G);
        return;
    case MDL_EV_SOFTMAX:
        for (size_t r = 0; r < nrow; r++) {
            size_t best = 0;
            for (size_t g = 1; g < G; g++)
                if (mg[r * G + g] > mg[r * G + best])
                    best = g;
            out[r] = (float)best;
        }
        return;
    }
}

/* ---- rows ----------------------------------------------------------------------------------- */

static int keyed(const compat_eval *e)
{
    return !e->linear && 2 * (e->cols ? e->cols : 1) * MDL_EV_LANES <= MDL_EV_KEYS;
}

static size_t block_rows(const compat_eval *e)
{
    size_t b = MDL_EV_MARGINS / e->groups;
    if (keyed(e)) { /* whole groups of lanes fit in the keys */
        size_t fit = MDL_EV_KEYS / (2 * (e->cols ? e->cols : 1)) / MDL_EV_LANES * MDL_EV_LANES;
        b = fit < b ? fit : b;
    }
    return b > MDL_EV_BLOCK ? MDL_EV_BLOCK : b ? b : 1;
}

/* One block of at most block_rows(e) rows, stride floats apart, ncol of them valid. */
static void eval_block(const compat_eval *e, const float *X, size_t stride, size_t ncol,
                       size_t nrow, float *out)
{
    float mg[MDL_EV_MARGINS];
    int32_t keys[MDL_EV_KEYS];
    size_t G = e->groups, cols = e->cols ? e->cols : 1;
    for (size_t r = 0; r < nrow; r++)
        memcpy(mg + r * G, e->base, G * sizeof *mg);
    if (e->linear) {
        add_linear(e, X, stride, ncol, nrow, mg);
    } else {
        int k = keyed(e) && e->n_cnodes;
        if (k)
            key_rows(X, stride, cols, nrow, keys);
        if (k && nrow < MDL_EV_LANES) {
            for (size_t r = 0; r < nrow; r++)
                add_row_small(e, keys, r, X + r * stride, mg + r * G);
            transform(e, mg, nrow, out);
            return;
        }
        for (size_t t = 0; t < e->n_trees; t++) {
            const mdl_ev_tree *tr = &e->trees[t];
            if (tr->complete)
                add_complete(e, tr, X, stride, k ? keys : NULL, 2 * cols, nrow, mg);
            else
                add_general(e, tr, X, stride, nrow, mg);
        }
    }
    transform(e, mg, nrow, out);
}

void compat_eval_dense(const compat_eval *e, const float *X, size_t nrow, size_t ncol, float *out)
{
    size_t b = block_rows(e);
    for (size_t r = 0; r < nrow; r += b) {
        size_t n = nrow - r < b ? nrow - r : b;
        eval_block(e, X + r * ncol, ncol, ncol, n, out + r * e->width);
    }
}

/* CSR rows densified a few at a time into work, each cols floats apart. */
static size_t csr_rows(const compat_eval *e)
{
    size_t cols = e->cols ? e->cols : 1, b = block_rows(e), fit = MDL_EV_CSR_WORK / cols;
    return fit < 1 ? 1 : fit < b ? fit : b;
}

size_t compat_eval_csr_work(const compat_eval *e)
{
    return csr_rows(e) * (e->cols ? e->cols : 1);
}

/* Scatter row r into w; 0, or -1 at a repeated index (entries before it are written). */
static int scatter(const size_t *indptr, const uint32_t *indices, const float *values, size_t r,
                   size_t cols, float *w, size_t *stop)
{
    for (size_t k = indptr[r]; k < indptr[r + 1]; k++) {
        uint32_t c = indices[k];
        if (c >= cols || isnan(values[k]))
            continue;
        if (!isnan(w[c])) {
            *stop = k;
            return -1;
        }
        w[c] = values[k];
    }
    *stop = indptr[r + 1];
    return 0;
}

int compat_eval_csr(const compat_eval *e, const size_t *indptr, const uint32_t *indices,
                    const float *values, size_t nrow, float *work, float *out)
{
    size_t cols = e->cols ? e->cols : 1, b = csr_rows(e);
    int rc = SMX_OK;
    for (size_t r0 = 0; r0 < nrow && !rc; r0 += b) {
        size_t n = nrow - r0 < b ? nrow - r0 : b, filled = 0, stop[MDL_EV_BLOCK];
        for (; filled < n; filled++)
            if (scatter(indptr, indices, values, r0 + filled, cols, work + filled * cols,
                        &stop[filled])) {
                rc = SMX_EINVAL;
                filled++;
                break;
            }
        if (!rc)
            eval_block(e, work, cols, cols, n, out + r0 * e->width);
        for (size_t i = 0; i < filled; i++)
            for (size_t k = indptr[r0 + i]; k < stop[i]; k++)
                if (indices[k] < cols)
                    work[i * cols + indices[k]] = NAN;
    }
    return rc;
}
