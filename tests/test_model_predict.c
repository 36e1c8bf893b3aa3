/*
 * The reference predictor against XGBoost itself: small models trained in-process with
 * Debian's libxgboost (1.7.4, through the dlopen runtime) for every objective family the
 * predictor knows, gbtree/dart/gblinear, several parallel trees, missing values (default
 * directions), each saved as JSON, UBJSON, legacy binary and a memory snapshot; the readers
 * parse the bytes and our predictions must equal XGBoost's, for all trees and for the first
 * few iterations.
 */
#include "helpers.h"

#include "compat/compat.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    {"gblinear", {"objective", "reg:squarederror", "booster", "gblinear", NULL}, 0},
    {"gblinear multiclass",
     {"objective", "multi:softprob", "num_class", "3", "booster", "gblinear", NULL},
     2},
    {"random forest",
     {"objective", "binary:logistic", "num_parallel_tree", "3", "subsample", "0.7",
      "colsample_bynode", "0.7", NULL},
     1},
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
            y[i] = (float)s;
        }
    }
}

static compat_model_info *identify(const void *b, size_t n, const char *what)
{
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(b, n, what, &m, &err), SMX_OK, "%s", err.msg);
    cr_assert_not(m->corrupt, "%s: %s", what, m->problem);
    return m;
}

static void compare(const compat_model_info *m, const float *X, int iteration_end,
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

Test(model_predict, equals_xgboost_for_every_objective_booster_and_format)
{
    compat_xgb *x;
    smx_err err = {0};
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK, "%s", err.msg);
    size_t models = 0;
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        const cfg *k = &cfgs[c];
        float *X = malloc(sizeof(float) * NROW * NCOL), y[NROW], lo[NROW], hi[NROW];
        make_data(X, y, lo, hi, k->label);
        compat_dmatrix *d;
        cr_assert_eq(compat_dmatrix_from_dense(x, X, NROW, NCOL, NAN, 1, &d, &err), SMX_OK);
        cr_assert_eq(compat_dmatrix_set_float_info(d, "label", y, NROW, &err), SMX_OK, "%s",
                     err.msg);
        if (k->label == 6) {
            cr_assert_eq(compat_dmatrix_set_float_info(d, "label_lower_bound", lo, NROW, &err), 0,
                         "%s", err.msg);
            cr_assert_eq(compat_dmatrix_set_float_info(d, "label_upper_bound", hi, NROW, &err), 0,
                         "%s", err.msg);
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
            compat_model_info *m = identify(buf, len, what);
            cr_assert_str_eq(m->objective, k->params[1], "%s", what);
            cr_assert(compat_version_in_writer_range(m, compat_xgb_version(x)), "%s: %s", what,
                      m->writer_note);
            compare(m, X, 0, &all, what);
            if (strcmp(k->name, "dart")) /* dart's partial predictions use other weights */
                compare(m, X, 3, &first3, what);
            compat_model_info_free(m);
            free(buf);
            models++;
        }
        compat_pred_free(&all);
        compat_pred_free(&first3);
        compat_booster_free(b);
        compat_dmatrix_free(d);
        free(X);
    }
    cr_assert_eq(models, 4 * sizeof cfgs / sizeof cfgs[0]);
    compat_xgb_close(x);
}
