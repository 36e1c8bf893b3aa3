/*
 * The tree evaluator against XGBoost itself, bit for bit: models trained in-process with
 * Debian's libxgboost (1.7.4, through the dlopen runtime) for every objective family, gbtree,
 * dart, gblinear and random forests, saved as JSON, UBJSON, legacy binary and a memory
 * snapshot, loaded back by XGBoost and by the readers; then the proof (generated rows with
 * thresholds, ulps, missing values, +-inf, categories) must find every output equal, for all
 * trees, for the first iterations and for margins. The same proof over every model file in
 * tests/data, CSR rows against dense rows and XGBoost's CSR prediction, what the evaluator
 * refuses, and the reference predictor (the evaluator with the writer's arithmetic) against
 * XGBoost's DMatrix prediction.
 */
#include "helpers.h"

#include "compat/compat.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { NROW = 240, NCOL = 5 };

static uint32_t lcg = 12345;
static double urand(void)
{
    lcg = lcg * 1664525u + 1013904223u;
    return (lcg >> 8) / 16777216.0;
}

typedef struct cfg {
    const char *name;
    const char *params[16]; /* key, value pairs, NULL-terminated */
    int label;              /* 0 real, 1 binary, 2 class 0..2, 3 count, 4 positive, 5 cox, 6 aft */
} cfg;

static const cfg cfgs[] = {
    {"reg:squarederror", {"objective", "reg:squarederror", NULL}, 0},
    {"reg:logistic", {"objective", "reg:logistic", NULL}, 1},
    {"binary:logistic", {"objective", "binary:logistic", NULL}, 1},
    {"binary:logitraw", {"objective", "binary:logitraw", NULL}, 1},
    {"binary:hinge", {"objective", "binary:hinge", NULL}, 1},
    {"count:poisson", {"objective", "count:poisson", NULL}, 3},
    {"reg:gamma", {"objective", "reg:gamma", NULL}, 4},
    {"reg:tweedie", {"objective", "reg:tweedie", "tweedie_variance_power", "1.3", NULL}, 3},
    {"reg:pseudohubererror", {"objective", "reg:pseudohubererror", NULL}, 0},
    {"reg:absoluteerror", {"objective", "reg:absoluteerror", NULL}, 0},
    {"reg:squaredlogerror", {"objective", "reg:squaredlogerror", NULL}, 4},
    {"multi:softprob", {"objective", "multi:softprob", "num_class", "3", NULL}, 2},
    {"multi:softmax", {"objective", "multi:softmax", "num_class", "3", NULL}, 2},
    {"rank:pairwise", {"objective", "rank:pairwise", NULL}, 3},
    {"survival:cox", {"objective", "survival:cox", NULL}, 5},
    {"survival:aft", {"objective", "survival:aft", NULL}, 6},
    {"dart",
     {"objective", "binary:logistic", "booster", "dart", "rate_drop", "0.3", "skip_drop", "0",
      NULL},
     1},
    {"dart multiclass",
     {"objective", "multi:softprob", "num_class", "3", "booster", "dart", "rate_drop", "0.2",
      "skip_drop", "0", NULL},
     2},
    {"gblinear", {"objective", "reg:squarederror", "booster", "gblinear", NULL}, 0},
    {"gblinear multiclass",
     {"objective", "multi:softprob", "num_class", "3", "booster", "gblinear", NULL},
     2},
    {"random forest",
     {"objective", "binary:logistic", "num_parallel_tree", "3", "subsample", "0.7",
      "colsample_bynode", "0.7", NULL},
     1},
    {"deep trees",
     {"objective", "reg:squarederror", "max_depth", "12", "min_child_weight", "0", NULL},
     0},
};

static void make_data(float *X, float *y, float *lo, float *hi, int label)
{
    for (int i = 0; i < NROW; i++) {
        for (int j = 0; j < NCOL; j++)
            X[i * NCOL + j] = urand() < 0.1 ? NAN : (float)(urand() * 4 - 2);
        double s = (isnan(X[i * NCOL]) ? 0 : X[i * NCOL]) -
                   (isnan(X[i * NCOL + 1]) ? 0.5 : X[i * NCOL + 1]) + urand() - 0.5;
        switch (label) {
        case 1:
            y[i] = s > 0;
            break;
        case 2:
            y[i] = s < -0.7 ? 0 : s < 0.7 ? 1 : 2;
            break;
        case 3:
            y[i] = (float)floor(exp(s / 2) * 2);
            break;
        case 4:
            y[i] = (float)exp(s / 2);
            break;
        case 5:
            y[i] = (float)(exp(s / 2) * (urand() < 0.3 ? -1 : 1));
            break;
        case 6:
            lo[i] = (float)exp(s / 2);
            hi[i] = urand() < 0.3 ? INFINITY : lo[i];
            y[i] = lo[i];
            break;
        default:
            y[i] = (float)(s + (X[i * NCOL + 2] > 0.3 ? 2 : 0) * (X[i * NCOL + 3] < -1 ? 1 : -1));
        }
    }
}

/* The oracle: XGBoost's in-place prediction with the evaluator's options. */
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

/* Prove the evaluator of m against booster b; returns the proof. */
static compat_eval_proof prove(compat_xgb *x, const compat_model_info *m, compat_booster *b,
                               int iteration_end, int margin, const char *what)
{
    compat_eval_opts eo = {compat_xgb_version(x), iteration_end, margin, COMPAT_EVAL_INPLACE};
    compat_eval *e;
    smx_err err = {0};
    cr_assert_eq(compat_eval_new(m, &eo, &e, &err), SMX_OK, "%s: %s", what, err.msg);
    oracle_ctx oc = {b, {iteration_end, margin, NAN}};
    compat_eval_proof pf;
    cr_assert_eq(compat_eval_prove(e, oracle, &oc, &pf, &err), SMX_OK, "%s: %s", what, err.msg);
    compat_eval_free(e);
    return pf;
}

static compat_booster *train(compat_xgb *x, const cfg *k, float *X)
{
    float y[NROW], lo[NROW], hi[NROW];
    smx_err err = {0};
    make_data(X, y, lo, hi, k->label);
    compat_dmatrix *d;
    cr_assert_eq(compat_dmatrix_from_dense(x, X, NROW, NCOL, NAN, 1, &d, &err), SMX_OK);
    cr_assert_eq(compat_dmatrix_set_float_info(d, "label", y, NROW, &err), SMX_OK, "%s", err.msg);
    if (k->label == 6) {
        cr_assert_eq(compat_dmatrix_set_float_info(d, "label_lower_bound", lo, NROW, &err), 0);
        cr_assert_eq(compat_dmatrix_set_float_info(d, "label_upper_bound", hi, NROW, &err), 0);
    }
    compat_booster *b;
    cr_assert_eq(compat_booster_create(x, &d, 1, &b, &err), SMX_OK);
    compat_booster_set_param(b, "max_depth", "4", &err);
    compat_booster_set_param(b, "eta", "0.4", &err);
    compat_booster_set_param(b, "nthread", "1", &err);
    compat_booster_set_param(b, "seed", "3", &err);
    for (size_t p = 0; k->params[p]; p += 2)
        cr_assert_eq(compat_booster_set_param(b, k->params[p], k->params[p + 1], &err), SMX_OK,
                     "%s: %s", k->name, err.msg);
    for (int it = 0; it < 8; it++)
        cr_assert_eq(compat_booster_update(b, it, d, &err), SMX_OK, "%s: %s", k->name, err.msg);
    compat_dmatrix_free(d);
    return b;
}

Test(model_eval, equals_xgboost_bit_for_bit_for_every_objective_booster_and_format)
{
    compat_xgb *x;
    smx_err err = {0};
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK, "%s", err.msg);
    size_t proofs = 0;
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        const cfg *k = &cfgs[c];
        float *X = malloc(sizeof(float) * NROW * NCOL);
        compat_booster *trained = train(x, k, X);
        static const char *formats[] = {"json", "ubj", "deprecated", "snapshot"};
        for (size_t f = 0; f < 4; f++) {
            void *buf;
            size_t len;
            compat_booster *b;
            if (f == 3) {
                cr_assert_eq(compat_booster_serialize(trained, &buf, &len, &err), SMX_OK);
                cr_assert_eq(compat_booster_unserialize(x, buf, len, &b, &err), SMX_OK, "%s",
                             err.msg);
            } else {
                cr_assert_eq(compat_booster_save(trained, formats[f], &buf, &len, &err), SMX_OK);
                cr_assert_eq(compat_booster_load_buffer(x, buf, len, &b, &err), SMX_OK, "%s",
                             err.msg);
            }
            compat_booster_set_param(b, "nthread", "1", &err);
            char what[128];
            snprintf(what, sizeof what, "%s saved as %s", k->name, formats[f]);
            compat_model_info *m;
            cr_assert_eq(compat_identify(buf, len, what, &m, &err), SMX_OK, "%s", err.msg);
            int linear = !strcmp(m->booster, "gblinear");
            int ends[] = {0, 3};
            for (size_t i = 0; i < (linear ? 1u : 2u); i++)
                for (int margin = 0; margin < 2; margin++) {
                    compat_eval_proof pf = prove(x, m, b, ends[i], margin, what);
                    cr_assert(pf.proven, "%s (iteration_end %d, margin %d): %s", what, ends[i],
                              margin, pf.why);
                    cr_assert_geq(pf.rows, 64, "%s: %zu rows", what, pf.rows);
                    /* XGBoost predicts +-inf in place; gblinear goes through a DMatrix,
                     * which refuses them */
                    cr_assert_eq(pf.inf_refused, linear, "%s", what);
                    proofs++;
                }
            compat_model_info_free(m);
            compat_booster_free(b);
            free(buf);
        }
        compat_booster_free(trained);
        free(X);
    }
    cr_assert_geq(proofs, 4 * 2 * 2 * (sizeof cfgs / sizeof cfgs[0] - 2));
    compat_xgb_close(x);
}

/* ---- every model file in tests/data ------------------------------------------------------- */

/*
 * The reference predictor (verify's cross-check, convert's proof) is this evaluator with the
 * writer's arithmetic, compared here with XGBoost's DMatrix prediction: every objective and
 * booster, saved as JSON, UBJSON, legacy binary and a memory snapshot and read back by the
 * readers, for all trees and for the first three iterations.
 */
static void compare_reference(const compat_model_info *m, const float *X, int iteration_end,
                              const compat_pred *want, const char *what)
{
    compat_pred got;
    smx_err err = {0};
    cr_assert_eq(compat_reference_predict(m, X, NROW, NCOL, iteration_end, &got, &err), SMX_OK,
                 "%s: %s", what, err.msg);
    cr_assert_eq(got.rows * got.cols, want->rows * want->cols, "%s: %llu values vs %llu", what,
                 (unsigned long long)(got.rows * got.cols),
                 (unsigned long long)(want->rows * want->cols));
    for (uint64_t k = 0; k < got.rows * got.cols; k++) {
        double w = want->values[k], g = got.values[k];
        cr_assert_leq(fabs(g - w), 2e-5 * (1 + fabs(w)),
                      "%s (iteration_end %d): value %llu is %.9g, XGBoost says %.9g", what,
                      iteration_end, (unsigned long long)k, g, w);
    }
    compat_pred_free(&got);
}

Test(model_eval, the_reference_predictor_equals_xgboost_for_every_objective_and_format)
{
    compat_xgb *x;
    smx_err err = {0};
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK, "%s", err.msg);
    size_t models = 0;
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        const cfg *k = &cfgs[c];
        float *X = malloc(sizeof(float) * NROW * NCOL);
        compat_booster *b = train(x, k, X);
        compat_dmatrix *d;
        cr_assert_eq(compat_dmatrix_from_dense(x, X, NROW, NCOL, NAN, 1, &d, &err), SMX_OK);
        compat_predict_opts po = {0, 0, NAN};
        compat_pred all, first3;
        cr_assert_eq(compat_booster_predict_dmatrix(b, d, &po, &all, &err), SMX_OK, "%s", err.msg);
        po.iteration_end = 3;
        cr_assert_eq(compat_booster_predict_dmatrix(b, d, &po, &first3, &err), SMX_OK);
        static const char *formats[] = {"json", "ubj", "deprecated", "snapshot"};
        for (size_t f = 0; f < 4; f++) {
            void *buf;
            size_t len;
            if (f == 3)
                cr_assert_eq(compat_booster_serialize(b, &buf, &len, &err), SMX_OK);
            else
                cr_assert_eq(compat_booster_save(b, formats[f], &buf, &len, &err), SMX_OK);
            char what[128];
            snprintf(what, sizeof what, "%s saved as %s", k->name, formats[f]);
            compat_model_info *m;
            cr_assert_eq(compat_identify(buf, len, what, &m, &err), SMX_OK, "%s", err.msg);
            cr_assert_not(m->corrupt, "%s: %s", what, m->problem);
            cr_assert_str_eq(m->objective, k->params[1], "%s", what);
            cr_assert(compat_version_in_writer_range(m, compat_xgb_version(x)), "%s: %s", what,
                      m->writer_note);
            compare_reference(m, X, 0, &all, what);
            if (strncmp(k->name, "dart", 4)) /* dart's partial predictions use other weights */
                compare_reference(m, X, 3, &first3, what);
            compat_model_info_free(m);
            free(buf);
            models++;
        }
        compat_pred_free(&all);
        compat_pred_free(&first3);
        compat_dmatrix_free(d);
        compat_booster_free(b);
        free(X);
    }
    cr_assert_eq(models, 4 * sizeof cfgs / sizeof cfgs[0]);
    compat_xgb_close(x);
}

typedef struct outcome {
    char path[512];
    char cls[96]; /* booster, objective */
    int loaded;   /* XGBoost loaded it */
    int built;    /* the evaluator was built */
    int proven;
    char why[600];
} outcome;

static void walk_dir(const char *dir, outcome *out, size_t *n, size_t cap)
{
    DIR *d = opendir(dir);
    cr_assert(d, "%s", dir);
    struct dirent *de;
    while ((de = readdir(d)) && *n < cap) {
        if (de->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st))
            continue;
        if (S_ISDIR(st.st_mode)) {
            walk_dir(p, out, n, cap);
            continue;
        }
        const char *ext = strrchr(de->d_name, '.');
        if (ext && (!strcmp(ext, ".txt") || !strcmp(ext, ".csv") || !strcmp(ext, ".py") ||
                    !strcmp(ext, ".jsonl") || !strcmp(ext, ".pb") || !strcmp(ext, ".pbr")))
            continue;
        if (strstr(p, "/plan/"))
            continue;
        snprintf(out[(*n)++].path, sizeof out->path, "%s", p);
    }
    closedir(d);
}

static void prove_file(compat_xgb *x, outcome *o)
{
    size_t len;
    char *bytes = th_read(o->path, &len);
    cr_assert(bytes, "%s", o->path);
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(bytes, len, o->path, &m, &err), SMX_OK, "%s", o->path);
    snprintf(o->cls, sizeof o->cls, "%s %s", m->booster[0] ? m->booster : "-",
             m->objective[0] ? m->objective : "-");
    if (m->format == COMPAT_FMT_FOREIGN || m->format == COMPAT_FMT_UNKNOWN || m->corrupt ||
        (m->format == COMPAT_FMT_PICKLE && !m->payload_bytes)) {
        /* not XGBoost's bytes: they are not handed to XGBoost in this process (real loads of
         * outside files run in a helper process) */
        snprintf(o->why, sizeof o->why, "not an XGBoost model: %s", m->detail);
        compat_model_info_free(m);
        free(bytes);
        return;
    }
    compat_booster *b = NULL;
    int rc = m->payload_bytes
                 ? compat_booster_unserialize(x, m->payload_bytes, m->payload_len, &b, &err)
                 : compat_booster_load_file(x, o->path, &b, &err);
    if (rc) {
        snprintf(o->why, sizeof o->why, "XGBoost %s cannot load it: %.300s",
                 compat_version_str(compat_xgb_version(x), (char[16]){0}, 16), err.msg);
    } else {
        o->loaded = 1;
        compat_booster_set_param(b, "nthread", "1", &err);
        compat_eval_opts eo = {compat_xgb_version(x), 0, 0, COMPAT_EVAL_INPLACE};
        compat_eval *e;
        uint64_t nf = 0;
        compat_booster_num_features(b, &nf, &err);
        if (compat_eval_new(m, &eo, &e, &err)) {
            snprintf(o->why, sizeof o->why, "not evaluated: %.500s", err.msg);
        } else if (compat_eval_cols(e) != nf) {
            o->built = 1;
            snprintf(o->why, sizeof o->why, "rows of %llu columns, XGBoost takes %llu",
                     (unsigned long long)compat_eval_cols(e), (unsigned long long)nf);
            compat_eval_free(e);
        } else {
            o->built = 1;
            oracle_ctx oc = {b, {0, 0, NAN}};
            compat_eval_proof pf;
            cr_assert_eq(compat_eval_prove(e, oracle, &oc, &pf, &err), SMX_OK, "%s", err.msg);
            o->proven = pf.proven;
            snprintf(o->why, sizeof o->why, "%s", pf.proven ? compat_eval_describe(e) : pf.why);
            compat_eval_free(e);
        }
        compat_booster_free(b);
    }
    compat_model_info_free(m);
    free(bytes);
}

Test(model_eval, the_proof_runs_for_every_model_in_tests_data)
{
    compat_xgb *x;
    smx_err err = {0};
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK, "%s", err.msg);
    static outcome out[256];
    size_t n = 0;
    walk_dir(SMXGB_TESTDATA, out, &n, 256);
    size_t proven = 0, loaded = 0;
    for (size_t i = 0; i < n; i++) {
        prove_file(x, &out[i]);
        const char *rel = out[i].path + strlen(SMXGB_TESTDATA) + 1;
        /* every model this XGBoost loads is proven; the rest it cannot load at all (foreign
         * files, 0.90 pickles, 3.1 typed UBJSON, 3.x vector-leaf trees) */
        cr_expect(out[i].proven || !out[i].loaded, "%s (%s): %s", rel, out[i].cls, out[i].why);
        proven += out[i].proven;
        loaded += out[i].loaded;
    }
    cr_assert_eq(proven, loaded);
    cr_assert_geq(proven, 80, "%zu models proven", proven);
    compat_xgb_close(x);
}

/* ---- CSR rows, refusals, a proof that fails ---------------------------------------------- */

static compat_model_info *trained_info(compat_xgb *x, const cfg *k, compat_booster **b, float *X)
{
    smx_err err = {0};
    *b = train(x, k, X);
    void *buf;
    size_t len;
    cr_assert_eq(compat_booster_save(*b, "json", &buf, &len, &err), SMX_OK);
    compat_model_info *m;
    cr_assert_eq(compat_identify(buf, len, "m.json", &m, &err), SMX_OK);
    free(buf);
    return m;
}

Test(model_eval, csr_rows_equal_dense_rows_and_xgboost)
{
    compat_xgb *x;
    smx_err err = {0};
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK, "%s", err.msg);
    float *X = malloc(sizeof(float) * NROW * NCOL);
    compat_booster *b;
    compat_model_info *m = trained_info(x, &cfgs[11] /* multi:softprob */, &b, X);
    compat_eval *e;
    compat_eval_opts eo = {compat_xgb_version(x), 0, 0, COMPAT_EVAL_INPLACE};
    cr_assert_eq(compat_eval_new(m, &eo, &e, &err), SMX_OK, "%s", err.msg);
    size_t w = compat_eval_width(e), cols = compat_eval_cols(e);
    cr_assert_eq(w, 3);
    cr_assert_eq(cols, NCOL);
    /* CSR: missing values left out, except every 7th kept as an explicit NaN */
    size_t *indptr = malloc((NROW + 1) * sizeof *indptr), nnz = 0;
    uint32_t *idx = malloc(NROW * NCOL * sizeof *idx);
    float *val = malloc(NROW * NCOL * sizeof *val);
    indptr[0] = 0;
    for (size_t r = 0; r < NROW; r++) {
        for (size_t c = 0; c < NCOL; c++)
            if (!isnan(X[r * NCOL + c]) || (r * NCOL + c) % 7 == 0) {
                idx[nnz] = (uint32_t)c;
                val[nnz++] = X[r * NCOL + c];
            }
        indptr[r + 1] = nnz;
    }
    size_t nw = compat_eval_csr_work(e);
    float *work = malloc(nw * sizeof *work), *dense = malloc(NROW * w * 4),
          *sparse = malloc(NROW * w * 4);
    for (size_t i = 0; i < nw; i++)
        work[i] = NAN;
    compat_eval_dense(e, X, NROW, NCOL, dense);
    cr_assert_eq(compat_eval_csr(e, indptr, idx, val, NROW, work, sparse), SMX_OK);
    cr_assert(!memcmp(dense, sparse, NROW * w * 4), "CSR and dense rows differ");
    const float *theirs;
    uint64_t shape[2];
    compat_predict_opts po = {0, 0, NAN};
    cr_assert_eq(
        compat_booster_predict_csr(b, indptr, idx, val, NROW, NCOL, &po, &theirs, shape, &err),
        SMX_OK, "%s", err.msg);
    cr_assert_eq(shape[0] * shape[1], NROW * w);
    cr_assert(!memcmp(theirs, sparse, NROW * w * 4), "XGBoost's CSR prediction differs");
    for (size_t i = 0; i < nw; i++)
        cr_assert(isnan(work[i]), "work[%zu] was not cleared", i);
    /* a repeated index: XGBoost's answer depends on the duplicates, the evaluator declines */
    idx[indptr[5] + 1] = idx[indptr[5]];
    val[indptr[5] + 1] = 1.0f;
    cr_assert_eq(compat_eval_csr(e, indptr, idx, val, NROW, work, sparse), SMX_EINVAL);
    for (size_t i = 0; i < nw; i++)
        cr_assert(isnan(work[i]), "work[%zu] was not cleared after a repeated index", i);
    free(indptr), free(idx), free(val), free(work), free(dense), free(sparse), free(X);
    compat_eval_free(e);
    compat_model_info_free(m);
    compat_booster_free(b);
    compat_xgb_close(x);
}

Test(model_eval, refuses_what_it_cannot_evaluate_and_the_proof_can_fail)
{
    compat_xgb *x;
    smx_err err = {0};
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK, "%s", err.msg);
    float *X = malloc(sizeof(float) * NROW * NCOL);
    compat_booster *b;
    compat_model_info *m = trained_info(x, &cfgs[2] /* binary:logistic */, &b, X);
    compat_eval *e;
    compat_eval_opts eo = {compat_xgb_version(x), 9, 0, COMPAT_EVAL_INPLACE};
    cr_assert_eq(compat_eval_new(m, &eo, &e, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "iteration_end 9 asks for 9 trees; the model has 8"), "%s", err.msg);

    eo.iteration_end = 0;
    char obj[64];
    memcpy(obj, m->objective, sizeof obj);
    snprintf(m->objective, sizeof m->objective, "binary:mystery");
    cr_assert_eq(compat_eval_new(m, &eo, &e, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "binary:mystery"), "%s", err.msg);
    memcpy(m->objective, obj, sizeof obj);

    static const char not_a_tree[] =
        "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
        "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":"
        "\"1\",\"num_trees\":\"1\",\"size_leaf_vector\":\"0\"},\"tree_info\":[0],"
        "\"trees\":[{\"base_weights\":[0,0,0],\"categories\":[],\"categories_nodes\":[],"
        "\"categories_segments\":[],\"categories_sizes\":[],\"default_left\":[0,0,0],"
        "\"id\":0,\"left_children\":[1,-1,-1],\"loss_changes\":[0,0,0],\"parents\":["
        "2147483647,0,0],\"right_children\":[1,-1,-1],\"split_conditions\":[0.5,-1,1],"
        "\"split_indices\":[0,0,0],\"split_type\":[0,0,0],\"sum_hessian\":[1,1,1],"
        "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"2\",\"num_nodes\":"
        "\"3\",\"size_leaf_vector\":\"0\"}}]},\"name\":\"gbtree\"},"
        "\"learner_model_param\":{\"base_score\":\"5E-1\",\"boost_from_average\":\"1\","
        "\"num_class\":\"0\",\"num_feature\":\"2\",\"num_target\":\"1\"},"
        "\"objective\":{\"name\":\"reg:squarederror\",\"reg_loss_param\":{"
        "\"scale_pos_weight\":\"1\"}}},\"version\":[1,7,4]}";
    compat_model_info *bad;
    cr_assert_eq(compat_identify(not_a_tree, sizeof not_a_tree - 1, "bad.json", &bad, &err),
                 SMX_OK);
    cr_assert_not(bad->corrupt, "%s", bad->problem);
    cr_assert_eq(compat_eval_new(bad, &eo, &e, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "tree 0: node 1 is reached twice"), "%s", err.msg);
    compat_model_info_free(bad);

    /* margins against XGBoost's probabilities: the proof says where they differ */
    eo.margin = 1;
    cr_assert_eq(compat_eval_new(m, &eo, &e, &err), SMX_OK, "%s", err.msg);
    oracle_ctx oc = {b, {0, 0, NAN}};
    compat_eval_proof pf;
    cr_assert_eq(compat_eval_prove(e, oracle, &oc, &pf, &err), SMX_OK);
    cr_assert_not(pf.proven);
    cr_assert(strstr(pf.why, "generated row 0, output 0: XGBoost"), "%s", pf.why);
    compat_eval_free(e);
    compat_model_info_free(m);
    compat_booster_free(b);
    free(X);
    compat_xgb_close(x);
}

/* A model whose facts were not all read (a reader's limit) is not evaluated: the reason names
 * what is unknown. */
Test(model_eval, a_model_read_in_part_is_not_evaluated)
{
    size_t len;
    char *bytes = th_read(SMXGB_TESTDATA "/models/1.7.4/binary_logistic.json", &len);
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(bytes, len, "m.json", &m, &err), SMX_OK, "%s", err.msg);
    compat_eval *e;
    compat_eval_opts eo = {{1, 7, 4}, 0, 0, COMPAT_EVAL_INPLACE};
    cr_assert_eq(compat_eval_new(m, &eo, &e, &err), SMX_OK, "%s", err.msg);
    compat_eval_free(e);
    m->unknown = COMPAT_UNKNOWN_TREES;
    snprintf(m->unknown_why, sizeof m->unknown_why, "a tree over the per-tree limit");
    cr_assert_eq(compat_eval_new(m, &eo, &e, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "not read whole (trees unknown: a tree over the per-tree limit)"),
              "%s", err.msg);
    compat_model_info_free(m);
    free(bytes);
}

/* 3.3+ save DART as booster "gbtree" with weight_drop: XGBoost 3.3+ weighs the trees (dart's
 * in-place arithmetic, base + ((base + leaf) - base) * weight), older XGBoost reads the trees
 * alone and predicts with them whole (the tests/data proof checks that against 1.7.4). */
Test(model_eval, dart_weights_saved_in_gbtree_apply_from_3_3)
{
    size_t len;
    char *bytes = th_read(SMXGB_TESTDATA "/models/synth/forms/dart_ubj33.ubj", &len);
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(bytes, len, "dart_ubj33.ubj", &m, &err), SMX_OK, "%s", err.msg);
    cr_assert(m->dart_weights_in_gbtree && m->tree_weights && m->tree_weights[0] != 1.0f);
    compat_eval *old, *new;
    compat_eval_opts eo = {{1, 7, 4}, 1, 1, COMPAT_EVAL_INPLACE};
    cr_assert_eq(compat_eval_new(m, &eo, &old, &err), SMX_OK, "%s", err.msg);
    eo.runtime = (compat_version){3, 3, 0};
    cr_assert_eq(compat_eval_new(m, &eo, &new, &err), SMX_OK, "%s", err.msg);
    cr_assert(strstr(compat_eval_describe(new), "gbtree (DART weights), 1 tree"), "%s",
              compat_eval_describe(new));
    cr_assert(!strstr(compat_eval_describe(old), "DART"), "%s", compat_eval_describe(old));
    size_t cols = compat_eval_cols(new);
    float *X = calloc(cols, sizeof *X), a, b;
    size_t differ = 0;
    for (int r = 0; r < 16; r++) {
        for (size_t c = 0; c < cols; c++)
            X[c] = (float)((r * 7 + (int)c * 3) % 11) / 5.0f - 1.0f;
        compat_eval_dense(old, X, 1, cols, &a); /* 1.7.4: base 0.5, margin 0, leaf whole */
        compat_eval_dense(new, X, 1, cols, &b); /* 3.3: base [0.53] as a margin, leaf weighed */
        float base = -logf(1.0f / 0.53f - 1.0f);
        cr_assert_float_eq(b - base, a * m->tree_weights[0], 1e-5, "row %d: %g vs %g", r, b, a);
        differ += b != a;
    }
    cr_assert_gt(differ, 0);
    free(X);
    compat_eval_free(old);
    compat_eval_free(new);
    compat_model_info_free(m);
    free(bytes);
}
