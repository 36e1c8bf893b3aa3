/*
 * Training through the runtime: DMatrix from dense, CSR or (1.7+) a QuantileDMatrix sketched
 * straight from a dense matrix, labels and weights, a booster over a cache of matrices, one
 * boosting round, and XGBoost's evaluation string. compat/train.c drives these.
 */
#include "runtime_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int new_dmatrix(compat_xgb *x, DMatrixHandle h, compat_dmatrix **out, smx_err *err)
{
    compat_dmatrix *d = calloc(1, sizeof *d);
    if (!d) {
        x->XGDMatrixFree(h);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    d->x = x;
    d->h = h;
    *out = d;
    return SMX_OK;
}

int compat_dmatrix_from_dense(compat_xgb *x, const float *X, uint64_t nrow, uint64_t ncol,
                              float missing, int nthread, compat_dmatrix **out, smx_err *err)
{
    *out = NULL;
    DMatrixHandle h = NULL;
    int rc;
    if (x->XGDMatrixCreateFromMat_omp)
        rc = x->XGDMatrixCreateFromMat_omp(X, nrow, ncol, missing, &h, nthread);
    else if (x->XGDMatrixCreateFromMat)
        rc = x->XGDMatrixCreateFromMat(X, nrow, ncol, missing, &h);
    else
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGDMatrixCreateFromMat");
    if (rc != 0)
        return rtm_fail(x, err, "create DMatrix");
    return new_dmatrix(x, h, out, err);
}

/* One-batch iterator for XGQuantileDMatrixCreateFromCallback: the whole matrix at once. */
typedef struct qdm_iter {
    compat_xgb *x;
    DMatrixHandle proxy;
    const float *X, *labels, *weights;
    uint64_t nrow, ncol;
    int done, failed;
} qdm_iter;

static void qdm_reset(void *it)
{
    ((qdm_iter *)it)->done = 0;
}

static int qdm_next(void *vit)
{
    qdm_iter *it = vit;
    if (it->done)
        return 0;
    char arr[200];
    snprintf(arr, sizeof arr,
             "{\"data\": [%llu, true], \"shape\": [%llu, %llu], \"typestr\": \"<f4\", "
             "\"version\": 3}",
             (unsigned long long)(uintptr_t)it->X, (unsigned long long)it->nrow,
             (unsigned long long)it->ncol);
    if (it->x->XGProxyDMatrixSetDataDense(it->proxy, arr) != 0 ||
        it->x->XGDMatrixSetFloatInfo(it->proxy, "label", it->labels, it->nrow) != 0 ||
        (it->weights &&
         it->x->XGDMatrixSetFloatInfo(it->proxy, "weight", it->weights, it->nrow) != 0)) {
        it->failed = 1;
        return 0;
    }
    it->done = 1;
    return 1;
}

int compat_dmatrix_quantile_dense(compat_xgb *x, const float *X, uint64_t nrow, uint64_t ncol,
                                  const float *labels, const float *weights, int max_bin,
                                  int nthread, compat_dmatrix **out, smx_err *err)
{
    *out = NULL;
    if (!x->XGProxyDMatrixCreate || !x->XGProxyDMatrixSetDataDense ||
        !x->XGQuantileDMatrixCreateFromCallback || !x->XGDMatrixSetFloatInfo)
        return smx_fail(err, SMX_ERUNTIME,
                        "this XGBoost has no XGQuantileDMatrixCreateFromCallback (1.7+)");
    qdm_iter it = {
        .x = x, .X = X, .labels = labels, .weights = weights, .nrow = nrow, .ncol = ncol};
    if (x->XGProxyDMatrixCreate(&it.proxy) != 0)
        return rtm_fail(x, err, "create proxy DMatrix");
    char cfg[128];
    snprintf(cfg, sizeof cfg, "{\"missing\": NaN, \"nthread\": %d, \"max_bin\": %d}", nthread,
             max_bin);
    DMatrixHandle h = NULL;
    int rc =
        x->XGQuantileDMatrixCreateFromCallback(&it, it.proxy, NULL, qdm_reset, qdm_next, cfg, &h);
    if (rc != 0 || it.failed) {
        rtm_fail(x, err, "create QuantileDMatrix");
        if (h)
            x->XGDMatrixFree(h);
        x->XGDMatrixFree(it.proxy);
        return SMX_ERUNTIME;
    }
    x->XGDMatrixFree(it.proxy);
    return new_dmatrix(x, h, out, err);
}

int compat_dmatrix_from_csr(compat_xgb *x, const size_t *indptr, const uint32_t *indices,
                            const float *values, uint64_t nrow, uint64_t ncol, compat_dmatrix **out,
                            smx_err *err)
{
    *out = NULL;
    if (!x->XGDMatrixCreateFromCSREx)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGDMatrixCreateFromCSREx");
    DMatrixHandle h = NULL;
    if (x->XGDMatrixCreateFromCSREx(indptr, indices, values, (size_t)nrow + 1, indptr[nrow],
                                    (size_t)ncol, &h) != 0)
        return rtm_fail(x, err, "create DMatrix");
    return new_dmatrix(x, h, out, err);
}

int compat_dmatrix_set_float_info(compat_dmatrix *d, const char *field, const float *v, uint64_t n,
                                  smx_err *err)
{
    if (!d->x->XGDMatrixSetFloatInfo)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGDMatrixSetFloatInfo");
    if (d->x->XGDMatrixSetFloatInfo(d->h, field, v, (bst_ulong)n) != 0)
        return rtm_fail(d->x, err, field);
    return SMX_OK;
}

int compat_dmatrix_shape(compat_dmatrix *d, uint64_t *nrow, uint64_t *ncol, smx_err *err)
{
    bst_ulong r = 0, c = 0;
    if (!d->x->XGDMatrixNumRow || !d->x->XGDMatrixNumCol)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGDMatrixNumRow");
    if (d->x->XGDMatrixNumRow(d->h, &r) != 0 || d->x->XGDMatrixNumCol(d->h, &c) != 0)
        return rtm_fail(d->x, err, "DMatrix shape");
    *nrow = r;
    *ncol = c;
    return SMX_OK;
}

void compat_dmatrix_free(compat_dmatrix *d)
{
    if (!d)
        return;
    d->x->XGDMatrixFree(d->h);
    free(d);
}

int compat_booster_create(compat_xgb *x, compat_dmatrix *const *cache, size_t n,
                          compat_booster **out, smx_err *err)
{
    *out = NULL;
    DMatrixHandle hs[8];
    if (n > sizeof hs / sizeof hs[0])
        return smx_fail(err, SMX_EINVAL, "at most %zu cached DMatrix", sizeof hs / sizeof hs[0]);
    for (size_t i = 0; i < n; i++)
        hs[i] = cache[i]->h;
    compat_booster *b = calloc(1, sizeof *b);
    if (!b)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    b->x = x;
    if (x->XGBoosterCreate(n ? hs : NULL, (bst_ulong)n, &b->h) != 0) {
        free(b);
        return rtm_fail(x, err, "XGBoosterCreate");
    }
    *out = b;
    return SMX_OK;
}

int compat_booster_update(compat_booster *b, int iter, compat_dmatrix *train, smx_err *err)
{
    if (!b->x->XGBoosterUpdateOneIter)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterUpdateOneIter");
    if (b->x->XGBoosterUpdateOneIter(b->h, iter, train->h) != 0)
        return rtm_fail(b->x, err, "boosting round");
    return SMX_OK;
}

int compat_booster_eval(compat_booster *b, int iter, compat_dmatrix *const *d,
                        const char *const *names, size_t n, char **out, smx_err *err)
{
    *out = NULL;
    DMatrixHandle hs[8];
    const char *ns[8];
    if (n > sizeof hs / sizeof hs[0])
        return smx_fail(err, SMX_EINVAL, "at most %zu evaluation sets", sizeof hs / sizeof hs[0]);
    for (size_t i = 0; i < n; i++) {
        hs[i] = d[i]->h;
        ns[i] = names[i];
    }
    if (!b->x->XGBoosterEvalOneIter)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterEvalOneIter");
    const char *res = NULL;
    if (b->x->XGBoosterEvalOneIter(b->h, iter, hs, ns, (bst_ulong)n, &res) != 0)
        return rtm_fail(b->x, err, "evaluation");
    if (!(*out = strdup(res ? res : "")))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    return SMX_OK;
}
