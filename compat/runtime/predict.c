/*
 * Prediction: in place on a dense or CSR matrix (XGBoost 1.5+: XGBoosterPredictFromDense /
 * FromCSR, thread-safe, no copy; the result lives in XGBoost's thread-local buffer), through
 * a DMatrix on older versions and for gblinear, and on a DMatrix made for training. The
 * prediction config is the same JSON for every entry point.
 */
#include "runtime_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void predict_config(char *buf, size_t n, const compat_predict_opts *o)
{
    char miss[32];
    if (isnan(o->missing))
        snprintf(miss, sizeof miss, "NaN");
    else
        snprintf(miss, sizeof miss, "%.9g", (double)o->missing);
    snprintf(buf, n,
             "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": %d, "
             "\"strict_shape\": false, \"missing\": %s, \"cache_id\": 0}",
             o->margin ? 1 : 0, o->iteration_end, miss);
}

static void shape_of(const bst_ulong *shape, bst_ulong dim, uint64_t out[2])
{
    out[0] = dim >= 1 ? shape[0] : 0;
    out[1] = 1;
    for (bst_ulong i = 1; i < dim; i++)
        out[1] *= shape[i];
}

/* Fallback for XGBoost without in-place prediction: a DMatrix per call. */
static _Thread_local float *fallback_buf;

static int predict_via_dmatrix(compat_booster *b, DMatrixHandle d, uint64_t nrow,
                               const compat_predict_opts *o, const float **out, uint64_t shape[2],
                               smx_err *err)
{
    compat_xgb *x = b->x;
    bst_ulong len = 0;
    const float *res = NULL;
    int rc;
    if (x->XGBoosterPredictFromDMatrix) {
        char cfg[256];
        predict_config(cfg, sizeof cfg, o);
        const bst_ulong *shp;
        bst_ulong dim;
        rc = x->XGBoosterPredictFromDMatrix(b->h, d, cfg, &shp, &dim, &res);
        if (rc == 0) {
            shape_of(shp, dim, shape);
            len = shape[0] * shape[1];
        }
    } else {
        unsigned ntree = 0; /* ntree_limit semantics differ by booster; 0 = all */
        if (x->version.major == 0) {
            int (*p)(BoosterHandle, DMatrixHandle, int, unsigned, bst_ulong *, const float **) =
                (int (*)(BoosterHandle, DMatrixHandle, int, unsigned, bst_ulong *, const float **))(
                    void *)x->XGBoosterPredict;
            rc = p(b->h, d, o->margin ? 1 : 0, ntree, &len, &res);
        } else {
            rc = x->XGBoosterPredict(b->h, d, o->margin ? 1 : 0, ntree, 0, &len, &res);
        }
        if (rc == 0) {
            shape[0] = nrow;
            shape[1] = nrow ? len / nrow : 0;
        }
    }
    if (rc != 0) {
        x->XGDMatrixFree(d);
        return rtm_fail(x, err, "predict");
    }
    float *copy = realloc(fallback_buf, (len ? len : 1) * sizeof *copy);
    if (!copy) {
        x->XGDMatrixFree(d);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    memcpy(copy, res, len * sizeof *copy);
    fallback_buf = copy;
    x->XGDMatrixFree(d);
    *out = copy;
    return SMX_OK;
}

/*
 * One proxy DMatrix per thread for in-place prediction: without one, XGBoost builds a fresh
 * proxy (and its Context, which reads the cgroup CPU quota files) on every call. The proxy
 * only carries the array of the current call, so reusing it on its own thread is safe. The
 * main thread keeps the old path (single-threaded tools gain nothing, and a proxy there
 * would register C++ thread-local destructors that outlive the leak check at exit).
 */
int compat_booster_predict_dense(compat_booster *b, const float *X, uint64_t nrow, uint64_t ncol,
                                 const compat_predict_opts *o, const float **out, uint64_t shape[2],
                                 smx_err *err)
{
    compat_xgb *x = b->x;
    compat_version v15 = {1, 5, 0};
    if (x->XGBoosterPredictFromDense && compat_version_cmp(x->version, v15) >= 0) {
        char arr[160], cfg[256];
        snprintf(arr, sizeof arr,
                 "{\"data\": [%llu, true], \"shape\": [%llu, %llu], \"typestr\": \"<f4\", "
                 "\"version\": 3}",
                 (unsigned long long)(uintptr_t)X, (unsigned long long)nrow,
                 (unsigned long long)ncol);
        predict_config(cfg, sizeof cfg, o);
        const bst_ulong *shp;
        bst_ulong dim;
        if (x->XGBoosterPredictFromDense(b->h, arr, cfg, rtm_thread_proxy(x), &shp, &dim, out) ==
            0) {
            shape_of(shp, dim, shape);
            return SMX_OK;
        }
        /* gblinear has no in-place prediction ("Inplace predict is not supported by current
         * booster"): fall back to a DMatrix below */
        if (!x->XGDMatrixCreateFromMat)
            return rtm_fail(x, err, "predict");
    }
    if (!x->XGDMatrixCreateFromMat)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no dense prediction entry point");
    DMatrixHandle d;
    if (x->XGDMatrixCreateFromMat(X, nrow, ncol, o->missing, &d) != 0)
        return rtm_fail(x, err, "create DMatrix");
    return predict_via_dmatrix(b, d, nrow, o, out, shape, err);
}

int compat_booster_predict_csr(compat_booster *b, const size_t *indptr, const uint32_t *indices,
                               const float *values, uint64_t nrow, uint64_t ncol,
                               const compat_predict_opts *o, const float **out, uint64_t shape[2],
                               smx_err *err)
{
    compat_xgb *x = b->x;
    compat_version v15 = {1, 5, 0};
    if (x->XGBoosterPredictFromCSR && compat_version_cmp(x->version, v15) >= 0) {
        char ip[160], ix[160], vv[160], cfg[256];
        uint64_t nnz = indptr[nrow];
        snprintf(
            ip, sizeof ip,
            "{\"data\": [%llu, true], \"shape\": [%llu], \"typestr\": \"<u%zu\", \"version\": 3}",
            (unsigned long long)(uintptr_t)indptr, (unsigned long long)(nrow + 1), sizeof(size_t));
        snprintf(
            ix, sizeof ix,
            "{\"data\": [%llu, true], \"shape\": [%llu], \"typestr\": \"<u4\", \"version\": 3}",
            (unsigned long long)(uintptr_t)(nnz ? (const void *)indices : (const void *)indptr),
            (unsigned long long)nnz);
        snprintf(
            vv, sizeof vv,
            "{\"data\": [%llu, true], \"shape\": [%llu], \"typestr\": \"<f4\", \"version\": 3}",
            (unsigned long long)(uintptr_t)(nnz ? (const void *)values : (const void *)indptr),
            (unsigned long long)nnz);
        predict_config(cfg, sizeof cfg, o);
        const bst_ulong *shp;
        bst_ulong dim;
        if (x->XGBoosterPredictFromCSR(b->h, ip, ix, vv, ncol, cfg, rtm_thread_proxy(x), &shp, &dim,
                                       out) != 0)
            return rtm_fail(x, err, "predict");
        shape_of(shp, dim, shape);
        return SMX_OK;
    }
    if (!x->XGDMatrixCreateFromCSREx)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no CSR prediction entry point");
    DMatrixHandle d;
    if (x->XGDMatrixCreateFromCSREx(indptr, indices, values, nrow + 1, indptr[nrow], ncol, &d) != 0)
        return rtm_fail(x, err, "create DMatrix");
    return predict_via_dmatrix(b, d, nrow, o, out, shape, err);
}

int compat_booster_predict_dmatrix(compat_booster *b, compat_dmatrix *d,
                                   const compat_predict_opts *o, compat_pred *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    compat_xgb *x = b->x;
    const float *res = NULL;
    bst_ulong len = 0;
    uint64_t shape[2] = {0, 1};
    if (x->XGBoosterPredictFromDMatrix) {
        char cfg[256];
        predict_config(cfg, sizeof cfg, o);
        const bst_ulong *shp;
        bst_ulong dim;
        if (x->XGBoosterPredictFromDMatrix(b->h, d->h, cfg, &shp, &dim, &res) != 0)
            return rtm_fail(x, err, "predict");
        shape_of(shp, dim, shape);
        len = shape[0] * shape[1];
    } else if (x->XGBoosterPredict && x->version.major >= 1) {
        if (x->XGBoosterPredict(b->h, d->h, o->margin ? 1 : 0, 0, 0, &len, &res) != 0)
            return rtm_fail(x, err, "predict");
        bst_ulong nr = 0;
        x->XGDMatrixNumRow(d->h, &nr);
        shape[0] = nr;
        shape[1] = nr ? len / nr : 0;
    } else {
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no DMatrix prediction entry point");
    }
    out->values = malloc((len ? len : 1) * sizeof(float));
    if (!out->values)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(out->values, res, len * sizeof(float));
    out->rows = shape[0];
    out->cols = shape[1];
    return SMX_OK;
}
