/*
 * Which predictor serve uses per model file, and that it changes nothing a client sees: every
 * test model is proven at load and served by smxgb's evaluator, whose answers (dense rows,
 * CSR rows, fewer columns than the model, ensembles) equal XGBoost's own bit for bit; a model
 * the evaluator does not take, and a CSR row that repeats an index, are served by XGBoost, and
 * the predictor text says why.
 */
#include "helpers.h"

#include "serve/serve.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVE_MODELS SMXGB_TESTDATA "/serve/models"

static serve_model *load(const char *dir)
{
    serve_model *m;
    serve_model_opts mo = {0};
    smx_err err = {0};
    cr_assert_eq(serve_model_load(dir, &mo, &m, &err), SMX_OK, "%s: %s", dir, err.msg);
    return m;
}

/* XGBoost's own answer for file i of m on the dense rows X (nrow x ncol, padded to nf). */
static void xgboost_says(const serve_model *m, size_t i, const float *X, size_t nrow, size_t ncol,
                         float *out, size_t *cells)
{
    smx_err err = {0};
    compat_xgb *x;
    compat_booster *b;
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK);
    const char *f = serve_model_file(m, i);
    size_t len;
    char *bytes = th_read(f, &len);
    compat_model_info *mi;
    cr_assert_eq(compat_identify(bytes, len, f, &mi, &err), SMX_OK);
    if (mi->payload_bytes)
        cr_assert_eq(compat_booster_unserialize(x, mi->payload_bytes, mi->payload_len, &b, &err),
                     SMX_OK);
    else
        cr_assert_eq(compat_booster_load_file(x, f, &b, &err), SMX_OK);
    uint64_t nf = serve_model_num_feature(m, i);
    float *pad = malloc(nrow * nf * sizeof *pad);
    for (size_t r = 0; r < nrow; r++)
        for (size_t c = 0; c < nf; c++)
            pad[r * nf + c] = c < ncol ? X[r * ncol + c] : NAN;
    compat_predict_opts po = {serve_model_iteration_end(m, i), 0, NAN};
    const float *res;
    uint64_t shape[2];
    cr_assert_eq(compat_booster_predict_dense(b, pad, nrow, nf, &po, &res, shape, &err), SMX_OK,
                 "%s", err.msg);
    *cells = (size_t)(shape[0] * shape[1]);
    memcpy(out, res, *cells * sizeof *out);
    free(pad);
    free(bytes);
    compat_model_info_free(mi);
    compat_booster_free(b);
    compat_xgb_close(x);
}

static float *rows(size_t nrow, size_t ncol)
{
    float *X = malloc(nrow * ncol * sizeof *X);
    uint32_t s = 99;
    for (size_t i = 0; i < nrow * ncol; i++) {
        s = s * 1664525u + 1013904223u;
        X[i] = s % 11 == 0 ? NAN : (float)((s >> 8) % 2000) / 500.0f - 2.0f;
    }
    return X;
}

Test(serve_fast, every_test_model_is_served_by_the_proven_evaluator_with_xgboosts_bits)
{
    static const char *dirs[] = {"reg",   "bin",     "softmax",  "softprob", "hinge",
                                 "early", "poisson", "logitraw", "pickled"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", SERVE_MODELS, dirs[d]);
        serve_model *m = load(dir);
        cr_assert(strstr(serve_model_predictor(m, 0), "smxgb's evaluator (") &&
                      strstr(serve_model_predictor(m, 0), "proven equal to XGBoost"),
                  "%s: %s", dirs[d], serve_model_predictor(m, 0));
        uint64_t nf = serve_model_num_feature(m, 0);
        size_t nrow = 300, ncol = (size_t)(nf > 1 ? nf - 1 : nf); /* one column short */
        float *X = rows(nrow, ncol), want[300 * 16];
        size_t cells;
        xgboost_says(m, 0, X, nrow, ncol, want, &cells);
        serve_matrix mx = {.nrow = nrow, .ncol = ncol, .x = X};
        serve_scratch s = {0};
        serve_pred p;
        smx_err err = {0};
        cr_assert_eq(serve_model_predict(m, &mx, &s, 1, &p, &err), SMX_OK, "%s", err.msg);
        cr_assert_eq(p.rows * p.cols, cells, "%s", dirs[d]);
        cr_assert(!memcmp(p.v, want, cells * sizeof *want), "%s: not XGBoost's bits", dirs[d]);
        serve_scratch_free(&s);
        free(X);
        serve_model_free(m);
    }
}

Test(serve_fast, csr_rows_and_ensembles_give_xgboosts_bits)
{
    serve_model *m = load(SERVE_MODELS "/ens");
    cr_assert_eq(serve_model_count(m), 3);
    uint64_t nf = serve_model_num_feature(m, 0);
    size_t nrow = 200;
    float *X = rows(nrow, (size_t)nf), want[200], sum[200] = {0};
    for (size_t i = 0; i < 3; i++) {
        cr_assert(strstr(serve_model_predictor(m, i), "smxgb's evaluator"), "%s",
                  serve_model_predictor(m, i));
        size_t cells;
        xgboost_says(m, i, X, nrow, (size_t)nf, want, &cells);
        for (size_t r = 0; r < nrow; r++)
            sum[r] += want[r];
    }
    for (size_t r = 0; r < nrow; r++)
        sum[r] /= 3.0f; /* np.mean of float32 */
    /* the same rows as CSR, missing values left out */
    size_t *indptr = malloc((nrow + 1) * sizeof *indptr), nnz = 0;
    uint32_t *idx = malloc(nrow * nf * sizeof *idx);
    float *val = malloc(nrow * nf * sizeof *val);
    indptr[0] = 0;
    for (size_t r = 0; r < nrow; r++) {
        for (size_t c = 0; c < nf; c++)
            if (!isnan(X[r * nf + c])) {
                idx[nnz] = (uint32_t)c;
                val[nnz++] = X[r * nf + c];
            }
        indptr[r + 1] = nnz;
    }
    serve_matrix mx = {.sparse = 1, .nrow = nrow, .ncol = nf};
    mx.indptr = indptr, mx.indices = idx, mx.values = val, mx.nnz = nnz;
    serve_scratch s = {0};
    serve_pred p;
    smx_err err = {0};
    cr_assert_eq(serve_model_predict(m, &mx, &s, 0, &p, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(p.rows, nrow);
    cr_assert(!memcmp(p.v, sum, nrow * sizeof *sum), "the ensemble mean differs");
    /* a repeated index: XGBoost answers (the last value wins), and the buffers stay clean */
    val[indptr[3]] = -5.0f;
    idx[indptr[3] + 1] = idx[indptr[3]];
    cr_assert_eq(serve_model_predict(m, &mx, &s, 0, &p, &err), SMX_OK, "%s", err.msg);
    for (size_t i = 0; i < s.work_cap; i++)
        cr_assert(isnan(s.work[i]), "work[%zu] left dirty", i);
    serve_scratch_free(&s);
    free(indptr), free(idx), free(val), free(X);
    serve_model_free(m);
}

/* A categorical split on category 2^24, which XGBoost stores but can never match. */
static const char huge_category[] =
    "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
    "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
    "\"num_trees\":\"1\",\"size_leaf_vector\":\"0\"},\"tree_info\":[0],\"trees\":[{"
    "\"base_weights\":[0E0,-1E0,1E0],\"categories\":[1,16777216],\"categories_nodes\":[0],"
    "\"categories_segments\":[0],\"categories_sizes\":[2],\"default_left\":[1,0,0],\"id\":0,"
    "\"left_children\":[1,-1,-1],\"loss_changes\":[0E0,0E0,0E0],\"parents\":[2147483647,0,0],"
    "\"right_children\":[2,-1,-1],\"split_conditions\":[0E0,-1E0,1E0],\"split_indices\":[0,0,0],"
    "\"split_type\":[1,0,0],\"sum_hessian\":[1E0,1E0,1E0],\"tree_param\":{\"num_deleted\":\"0\","
    "\"num_feature\":\"2\",\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"}}]},\"name\":"
    "\"gbtree\"},\"learner_model_param\":{\"base_score\":\"5E-1\",\"boost_from_average\":\"1\","
    "\"num_class\":\"0\",\"num_feature\":\"2\",\"num_target\":\"1\"},\"objective\":{\"name\":"
    "\"reg:squarederror\",\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}}},\"version\":[1,7,4]}";

Test(serve_fast, a_model_the_evaluator_does_not_take_is_served_by_xgboost_and_says_why)
{
    char *dir = th_tmpdir();
    cr_assert_eq(
        th_write(th_path(dir, "xgboost-model.json"), huge_category, sizeof huge_category - 1), 0);
    serve_model *m = load(dir);
    const char *why = serve_model_predictor(m, 0);
    cr_assert(strstr(why, "XGBoost 1.7.4's predictor: the evaluator does not take this model: "
                          "tree 0: category 16777216"),
              "%s", why);
    float X[4] = {1, 0, 2, NAN};
    serve_matrix mx = {.nrow = 2, .ncol = 2, .x = X};
    serve_scratch s = {0};
    serve_pred p;
    smx_err err = {0};
    cr_assert_eq(serve_model_predict(m, &mx, &s, 1, &p, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(p.rows, 2);
    cr_assert_float_eq(p.v[0], 1.5f, 0, "category 1 goes right: %g", p.v[0]);
    cr_assert_float_eq(p.v[1], -0.5f, 0, "category 2 goes left: %g", p.v[1]);
    serve_scratch_free(&s);
    serve_model_free(m);
    th_rmrf(dir);
    free(dir);
}
