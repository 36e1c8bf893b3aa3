/*
 * Which predictor serves a model file. XGBoost always loads the file (its load decides what
 * the container does); smxgb's tree evaluator (compat_eval) then predicts instead of XGBoost
 * only when it has been proven, at load, to give XGBoost's bits:
 *
 *   1. the evaluator is built from the bytes XGBoost loaded (for a pickle, the snapshot it
 *      carries), following the arithmetic of the XGBoost version actually loaded and the
 *      iteration range the container predicts with (best_ntree_limit);
 *   2. its rows must be as wide as XGBoost's (num_feature);
 *   3. the proof (compat_eval_prove) compares every output on generated rows (thresholds and
 *      one ulp either side, missing values, +-inf, categories) with XGBoost's in-place
 *      prediction, bit for bit.
 *
 * Anything else (a model the evaluator does not build, a difference, XGBoost refusing the
 * rows) leaves XGBoost predicting, and mb->predictor says why: serve logs it at start.
 */
#include "serve_private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct oracle_ctx {
    compat_booster *b;
    compat_predict_opts po;
} oracle_ctx;

static int oracle(void *ctx, const float *X, size_t nrow, size_t ncol, const float **out,
                  uint64_t shape[2], smx_err *err)
{
    oracle_ctx *o = ctx;
    return compat_booster_predict_dense(o->b, X, nrow, ncol, &o->po, out, shape, err);
}

void serve_fast_setup(compat_xgb *x, serve_booster *mb, const compat_model_info *mi)
{
    char ver[32];
    compat_version v = compat_xgb_version(x);
    compat_version_str(v, ver, sizeof ver);
    compat_eval_opts eo = {v, mb->iteration_end, 0, COMPAT_EVAL_INPLACE};
    compat_eval *e = NULL;
    smx_err err = {0};
    if (!mi) {
        snprintf(mb->predictor, sizeof mb->predictor,
                 "XGBoost %s's predictor: the file could not be read for the evaluator", ver);
        return;
    }
    if (compat_eval_new(mi, &eo, &e, &err)) {
        snprintf(mb->predictor, sizeof mb->predictor,
                 "XGBoost %s's predictor: the evaluator does not take this model: %.500s", ver,
                 err.msg);
        return;
    }
    if (compat_eval_cols(e) != mb->num_feature) {
        snprintf(mb->predictor, sizeof mb->predictor,
                 "XGBoost %s's predictor: the trees split on %llu features, XGBoost's rows have "
                 "%llu",
                 ver, (unsigned long long)compat_eval_cols(e), (unsigned long long)mb->num_feature);
        compat_eval_free(e);
        return;
    }
    oracle_ctx oc = {mb->b, {mb->iteration_end, 0, NAN}};
    compat_eval_proof pf;
    if (compat_eval_prove(e, oracle, &oc, &pf, &err) || !pf.proven) {
        snprintf(mb->predictor, sizeof mb->predictor,
                 "XGBoost %s's predictor: the evaluator was not proven equal to it: %.500s", ver,
                 pf.why[0] ? pf.why : err.msg);
        compat_eval_free(e);
        return;
    }
    snprintf(mb->predictor, sizeof mb->predictor,
             "smxgb's evaluator (%s), proven equal to XGBoost %s bit for bit on %zu generated "
             "rows covering %zu thresholds%s",
             compat_eval_describe(e), ver, pf.rows, pf.thresholds,
             pf.inf_refused ? " (XGBoost refuses +-inf; so do the decoders)" : "");
    mb->ev = e;
}
