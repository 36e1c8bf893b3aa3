/*
 * In-process prediction, one thread: smxgb's tree evaluator against XGBoost's own predictor
 * (XGBoosterPredictFromDense with nthread 1, through the same dlopen runtime serve uses).
 *
 *   predict_inproc MODEL_FILE [ROWS] [SECONDS]
 *
 * Loads MODEL_FILE with XGBoost and with smxgb's readers, proves the evaluator against
 * XGBoost (as serve does at load), then alternates one call of each predictor on the same
 * ROWS rows (default 1000; uniform in [-1, 1), deterministic) for SECONDS (default 3), and
 * prints the median time per call of each and their ratio. Every evaluator result is compared
 * with XGBoost's bit for bit; a difference exits 1.
 */
#include "compat/compat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct oracle_ctx {
    compat_booster *b;
} oracle_ctx;

static int oracle(void *ctx, const float *X, size_t nrow, size_t ncol, const float **out,
                  uint64_t shape[2], smx_err *err)
{
    oracle_ctx *o = ctx;
    compat_predict_opts po = {0, 0, NAN};
    return compat_booster_predict_dense(o->b, X, nrow, ncol, &po, out, shape, err);
}

static int fail(const char *what, const smx_err *e)
{
    fprintf(stderr, "predict_inproc: %s: %s\n", what, e->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: predict_inproc MODEL_FILE [ROWS] [SECONDS]\n");
        return 2;
    }
    size_t nrow = argc > 2 ? (size_t)atol(argv[2]) : 1000;
    double secs = argc > 3 ? atof(argv[3]) : 3;
    smx_err err = {0};
    compat_xgb *x;
    compat_booster *b;
    if (compat_xgb_open(NULL, &x, &err) || compat_booster_load_file(x, argv[1], &b, &err) ||
        compat_booster_set_param(b, "nthread", "1", &err))
        return fail("XGBoost", &err);
    uint64_t nf = 0;
    compat_booster_num_features(b, &nf, &err);
    smx_buf bytes = SMX_BUF_INIT;
    compat_model_info *m;
    if (smx_buf_read_file(&bytes, argv[1], (size_t)1 << 32, &err) ||
        compat_identify(bytes.data, bytes.len, argv[1], &m, &err))
        return fail("read", &err);
    compat_eval_opts eo = {compat_xgb_version(x), 0, 0, COMPAT_EVAL_INPLACE};
    compat_eval *e;
    if (compat_eval_new(m, &eo, &e, &err))
        return fail("evaluator", &err);
    oracle_ctx oc = {b};
    compat_eval_proof pf;
    double t0 = smx_now();
    if (compat_eval_prove(e, oracle, &oc, &pf, &err))
        return fail("proof", &err);
    printf("model: %s; num_feature %llu; proof: %s (%zu rows, %zu thresholds, %.1f ms)%s%s\n",
           compat_eval_describe(e), (unsigned long long)nf, pf.proven ? "equal bits" : "FAILED",
           pf.rows, pf.thresholds, (smx_now() - t0) * 1e3, pf.why[0] ? ": " : "", pf.why);
    if (!pf.proven)
        return 1;

    float *X = malloc(nrow * nf * sizeof *X), *ours = malloc(nrow * compat_eval_width(e) * 4);
    uint64_t s = 7;
    for (size_t i = 0; i < nrow * nf; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        X[i] = (float)((double)(s >> 40) / (double)(1ull << 24) * 2 - 1);
    }
    size_t cap = 1 << 16, n = 0;
    double *tx = malloc(cap * sizeof *tx), *te = malloc(cap * sizeof *te);
    double end = smx_now() + secs;
    while (smx_now() < end && n < cap) {
        const float *theirs;
        uint64_t shape[2];
        compat_predict_opts po = {0, 0, NAN};
        double a = smx_now();
        if (compat_booster_predict_dense(b, X, nrow, nf, &po, &theirs, shape, &err))
            return fail("XGBoost predict", &err);
        double c = smx_now();
        compat_eval_dense(e, X, nrow, nf, ours);
        double d = smx_now();
        if (memcmp(theirs, ours, nrow * compat_eval_width(e) * 4)) {
            fprintf(stderr, "predict_inproc: the evaluator differs from XGBoost\n");
            return 1;
        }
        tx[n] = c - a;
        te[n] = d - c;
        n++;
    }
    qsort(tx, n, sizeof *tx, cmp_d);
    qsort(te, n, sizeof *te, cmp_d);
    printf("rows=%zu calls=%zu xgboost_us=%.1f eval_us=%.1f ratio=%.2f\n", nrow, n, tx[n / 2] * 1e6,
           te[n / 2] * 1e6, tx[n / 2] / te[n / 2]);
    free(tx);
    free(te);
    free(X);
    free(ours);
    compat_eval_free(e);
    compat_model_info_free(m);
    smx_buf_free(&bytes);
    compat_booster_free(b);
    compat_xgb_close(x);
    return 0;
}
