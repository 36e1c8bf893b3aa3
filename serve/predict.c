/*
 * Prediction as the container does it (container.md §2): booster.predict on the request
 * matrix with the best_ntree_limit the file was loaded with; more columns than the model has
 * fail as XGBoost's learner check does, fewer are padded with missing values as the DMatrix
 * would; pickled models get the container's feature-count checks; ensembles average in
 * float32 (np.mean) or take the mode (multi:softmax, binary:hinge; ties to the smallest).
 *
 * Each file predicts with the predictor fast.c chose at load: smxgb's evaluator, proven to give
 * XGBoost's bits, into the thread's scratch; or XGBoost's in-place prediction. A CSR row that
 * repeats an index is left to XGBoost (its answer depends on the repeats).
 */
#include "serve_private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void serve_scratch_free(serve_scratch *s)
{
    serve_matrix_free(&s->m);
    free(s->pad);
    free(s->acc);
    free(s->tmp);
    free(s->pred);
    free(s->work);
    smx_buf_free(&s->ct);
    memset(s, 0, sizeof *s);
}

/* The evaluator's CSR rows: s->work grown to need floats, new ones NaN as the rest are. */
static int work_rows(serve_scratch *s, size_t need)
{
    size_t old = s->work_cap;
    if (serve_grow((void **)&s->work, &s->work_cap, need, sizeof(float)))
        return -1;
    for (size_t i = old; i < s->work_cap; i++)
        s->work[i] = NAN;
    return 0;
}

/* Predict with the evaluator; 1 when it declined (XGBoost predicts instead). */
static int predict_fast(const serve_model *model, serve_booster *mb, const serve_matrix *x,
                        const float *X, serve_scratch *s, const float **res, uint64_t shape[2],
                        smx_err *err)
{
    size_t w = compat_eval_width(mb->ev), n = (size_t)x->nrow;
    if (serve_grow((void **)&s->pred, &s->pred_cap, n * w, sizeof(float)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (x->sparse) {
        if (work_rows(s, model->work))
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        if (compat_eval_csr(mb->ev, x->indptr, x->indices, x->values, n, s->work, s->pred))
            return 1;
    } else {
        compat_eval_dense(mb->ev, X, n, (size_t)mb->num_feature, s->pred);
    }
    *res = s->pred;
    shape[0] = n;
    shape[1] = w;
    return SMX_OK;
}

static int predict_one(const serve_model *model, serve_booster *mb, const serve_matrix *x,
                       serve_scratch *s, const float **res, uint64_t shape[2], smx_err *err)
{
    if (x->ncol > mb->num_feature) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        return smx_fail(err, SMX_EINVAL,
                        "[%02d:%02d:%02d] ./src/learner.cc:1510: Check failed: "
                        "learner_model_param_.num_feature >= p_fmat->Info().num_col_ (%llu vs. "
                        "%llu) : Number of columns does not match number of features in booster.",
                        tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long long)mb->num_feature,
                        (unsigned long long)x->ncol);
    }
    compat_predict_opts po = {mb->iteration_end, 0, NAN};
    uint64_t nf = mb->num_feature;
    const float *X = x->x;
    if (!x->sparse && x->ncol != nf) {
        /* fewer columns: the DMatrix treats the rest as missing */
        if (serve_grow((void **)&s->pad, &s->pad_cap, (size_t)(x->nrow * nf), sizeof(float)))
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        for (uint64_t r = 0; r < x->nrow; r++) {
            float *dst = s->pad + r * nf;
            memcpy(dst, x->x + r * x->ncol, (size_t)x->ncol * sizeof(float));
            for (uint64_t c = x->ncol; c < nf; c++)
                dst[c] = NAN;
        }
        X = s->pad;
    }
    if (mb->ev && x->nrow) {
        int rc = predict_fast(model, mb, x, X, s, res, shape, err);
        if (rc != 1)
            return rc;
    }
    if (x->sparse)
        return compat_booster_predict_csr(mb->b, x->indptr, x->indices, x->values, x->nrow, nf, &po,
                                          res, shape, err);
    return compat_booster_predict_dense(mb->b, X, x->nrow, nf, &po, res, shape, err);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* scipy.stats.mode of k values: the most frequent, the smallest among ties (sorts col) */
static float mode(float *col, size_t k)
{
    qsort(col, k, sizeof(float), cmp_float);
    float best = col[0];
    size_t best_n = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && col[j] == col[i])
            j++;
        if (j - i > best_n) {
            best_n = j - i;
            best = col[i];
        }
        i = j > i ? j : i + 1;
    }
    return best;
}

/* The members' predictions, one after the other in s->acc (cells each), averaged or voted. */
static int ensemble(serve_model *model, const serve_matrix *m, serve_scratch *s, const float *first,
                    const uint64_t shape[2], serve_pred *out, smx_err *err)
{
    size_t cells = (size_t)(shape[0] * shape[1]), k = model->n;
    int vote =
        !strcmp(model->objective, "multi:softmax") || !strcmp(model->objective, "binary:hinge");
    if (serve_grow((void **)&s->acc, &s->acc_cap, cells * k, sizeof(float)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(s->acc, first, cells * sizeof(float));
    for (size_t i = 1; i < k; i++) {
        uint64_t sh[2];
        const float *res;
        int rc = predict_one(model, &model->v[i], m, s, &res, sh, err);
        if (rc)
            return rc;
        if (sh[0] != shape[0] || sh[1] != shape[1])
            return smx_fail(err, SMX_EINVAL,
                            "operands could not be broadcast together with shapes (%llu,%llu) "
                            "(%llu,%llu)",
                            (unsigned long long)shape[0], (unsigned long long)shape[1],
                            (unsigned long long)sh[0], (unsigned long long)sh[1]);
        memcpy(s->acc + i * cells, res, cells * sizeof(float));
    }
    if (serve_grow((void **)&s->tmp, &s->tmp_cap, cells + k, sizeof(float)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    float *col = s->tmp + cells;
    for (size_t c = 0; c < cells; c++) {
        if (!vote) {
            /* np.mean over axis 0 of float32: sequential float32 sums, then / k */
            float sum = s->acc[c];
            for (size_t i = 1; i < k; i++)
                sum += s->acc[i * cells + c];
            s->tmp[c] = sum / (float)k;
        } else {
            for (size_t i = 0; i < k; i++)
                col[i] = s->acc[i * cells + c];
            s->tmp[c] = mode(col, k);
        }
    }
    *out = (serve_pred){s->tmp, shape[0], shape[1]};
    return SMX_OK;
}

int serve_model_predict(serve_model *model, const serve_matrix *m, serve_scratch *s, int csv_like,
                        serve_pred *out, smx_err *err)
{
    if (model->v[0].pickled) {
        /* the container's own checks, for pickled models only (model[0] decides) */
        uint64_t x = model->v[0].num_feature, y = m->ncol;
        if (csv_like && !(x == y || x == y + 1))
            return smx_fail(err, SMX_EINVAL,
                            "Feature size of csv inference data %llu is not consistent with "
                            "feature size of trained model %llu.",
                            (unsigned long long)y, (unsigned long long)x);
        if (!csv_like && y > x + 1)
            return smx_fail(err, SMX_EINVAL,
                            "Feature size of libsvm inference data %llu is larger than feature "
                            "size of trained model %llu.",
                            (unsigned long long)y, (unsigned long long)x);
    }
    const float *res;
    uint64_t shape[2];
    int rc = predict_one(model, &model->v[0], m, s, &res, shape, err);
    if (rc)
        return rc;
    if (model->n == 1) {
        *out = (serve_pred){res, shape[0], shape[1]};
        return SMX_OK;
    }
    return ensemble(model, m, s, res, shape, out, err);
}
