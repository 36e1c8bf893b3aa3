/*
 * Training for a target container, the way that container's algorithm-mode training does it.
 *
 * Hyperparameters arrive with SageMaker's names and string values (hyperparameters.json). They
 * are checked against the container's own validation table (names, types, ranges, categories,
 * objective/num_class and eval_metric rules) and against what the container's XGBoost and the
 * loaded XGBoost support (reg:absoluteerror needs 1.7, reg:quantileerror 2.0...). Everything
 * except the container's own keys (num_round, early_stopping_rounds, csv_weights, ...) is
 * passed to XGBoost as a parameter, eval_metric once per listed metric, as xgb.train does.
 *
 * The loop is xgb.train's: watchlist [train, validation], one XGBoosterUpdateOneIter and one
 * XGBoosterEvalOneIter per round, early stopping on the last metric of the last set with
 * XGBoost 1.x's rules (maximize for auc/aucpr/map/ndcg, strict improvement, stop after
 * `early_stopping_rounds` rounds without one), best_score and best_iteration stored as model
 * attributes whenever early stopping is on, and best_ntree_limit as well for containers whose
 * XGBoost (< 2.0) writes it; the 1.7-1 server predicts with it.
 *
 * The model is serialized in the format that container's training writes (legacy binary for
 * XGBoost 1.x containers, UBJSON for 3.x), loaded back from those bytes and compared with the
 * in-process booster on the first rows of the training data.
 */
#include "compat.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the hyperparameter table ------------------------------------------------------------ */

typedef enum { HP_INT, HP_FLOAT, HP_CAT, HP_LIST, HP_STR } hp_type;

enum {
    HP_XGB = 0,        /* passed to XGBoost */
    HP_CONTAINER = 1,  /* read by the container itself, not passed */
    HP_UNSUPPORTED = 2 /* valid for the container, not supported by smxgb train */
};

typedef struct hp_def {
    const char *name;
    hp_type type;
    double lo, hi; /* NAN = unbounded */
    int lo_open, hi_open;
    const char *cats; /* space-separated, for HP_CAT */
    int use;
} hp_def;

#define U NAN
static const hp_def hp_table[] = {
    {"num_round", HP_INT, 1, U, 0, 0, NULL, HP_CONTAINER},
    {"csv_weights", HP_INT, 0, 1, 0, 0, NULL, HP_CONTAINER},
    {"early_stopping_rounds", HP_INT, 1, U, 0, 0, NULL, HP_CONTAINER},
    {"booster", HP_CAT, U, U, 0, 0, "gbtree gblinear dart", HP_XGB},
    {"verbosity", HP_INT, 0, 3, 0, 0, NULL, HP_XGB},
    {"nthread", HP_INT, 1, U, 0, 0, NULL, HP_XGB},
    {"eta", HP_FLOAT, 0, 1, 0, 0, NULL, HP_XGB},
    {"gamma", HP_FLOAT, 0, U, 0, 0, NULL, HP_XGB},
    {"max_depth", HP_INT, 0, U, 0, 0, NULL, HP_XGB},
    {"min_child_weight", HP_FLOAT, 0, U, 0, 0, NULL, HP_XGB},
    {"max_delta_step", HP_FLOAT, 0, U, 0, 0, NULL, HP_XGB},
    {"subsample", HP_FLOAT, 0, 1, 1, 0, NULL, HP_XGB},
    {"colsample_bytree", HP_FLOAT, 0, 1, 1, 0, NULL, HP_XGB},
    {"colsample_bylevel", HP_FLOAT, 0, 1, 1, 0, NULL, HP_XGB},
    {"colsample_bynode", HP_FLOAT, 0, 1, 1, 0, NULL, HP_XGB},
    {"lambda", HP_FLOAT, 0, U, 0, 0, NULL, HP_XGB},
    {"alpha", HP_FLOAT, 0, U, 0, 0, NULL, HP_XGB},
    {"tree_method", HP_CAT, U, U, 0, 0, "auto exact approx hist gpu_hist", HP_XGB},
    {"sketch_eps", HP_FLOAT, 0, 1, 1, 1, NULL, HP_XGB},
    {"scale_pos_weight", HP_FLOAT, 0, U, 1, 0, NULL, HP_XGB},
    {"updater", HP_LIST, U, U, 0, 0,
     "grow_colmaker distcol grow_histmaker grow_local_histmaker grow_skmaker sync refresh prune "
     "grow_quantile_histmaker shotgun coord_descent",
     HP_XGB},
    {"dsplit", HP_CAT, U, U, 0, 0, "row col", HP_XGB},
    {"refresh_leaf", HP_INT, 0, 1, 0, 0, NULL, HP_XGB},
    {"process_type", HP_CAT, U, U, 0, 0, "default update", HP_XGB},
    {"grow_policy", HP_CAT, U, U, 0, 0, "depthwise lossguide", HP_XGB},
    {"max_leaves", HP_INT, 0, U, 0, 0, NULL, HP_XGB},
    {"max_bin", HP_INT, 0, U, 0, 0, NULL, HP_XGB},
    {"predictor", HP_CAT, U, U, 0, 0, "auto cpu_predictor gpu_predictor", HP_XGB},
    {"monotone_constraints", HP_STR, U, U, 0, 0, NULL, HP_XGB},
    {"interaction_constraints", HP_STR, U, U, 0, 0, NULL, HP_XGB},
    {"sample_type", HP_CAT, U, U, 0, 0, "uniform weighted", HP_XGB},
    {"normalize_type", HP_CAT, U, U, 0, 0, "tree forest", HP_XGB},
    {"rate_drop", HP_FLOAT, 0, 1, 0, 0, NULL, HP_XGB},
    {"one_drop", HP_INT, 0, 1, 0, 0, NULL, HP_XGB},
    {"skip_drop", HP_FLOAT, 0, 1, 0, 0, NULL, HP_XGB},
    {"lambda_bias", HP_FLOAT, 0, 1, 0, 0, NULL, HP_XGB},
    {"tweedie_variance_power", HP_FLOAT, 1, 2, 1, 1, NULL, HP_XGB},
    {"objective", HP_CAT, U, U, 0, 0, NULL, HP_XGB}, /* categories: objective table below */
    {"num_class", HP_INT, 2, U, 0, 0, NULL, HP_XGB},
    {"base_score", HP_FLOAT, 0, U, 0, 0, NULL, HP_XGB},
    {"_kfold", HP_INT, 2, U, 0, 0, NULL, HP_UNSUPPORTED},
    {"_num_cv_round", HP_INT, 1, U, 0, 0, NULL, HP_UNSUPPORTED},
    {"_tuning_objective_metric", HP_STR, U, U, 0, 0, NULL, HP_CONTAINER},
    {"eval_metric", HP_LIST, U, U, 0, 0, NULL, HP_XGB}, /* metric table below */
    {"seed", HP_INT, -2147483648.0, 2147483647.0, 1, 1, NULL, HP_XGB},
    {"num_parallel_tree", HP_INT, 1, U, 0, 0, NULL, HP_XGB},
    {"save_model_on_termination", HP_CAT, U, U, 0, 0, "true false", HP_CONTAINER},
    {"aft_loss_distribution", HP_CAT, U, U, 0, 0, "normal logistic extreme", HP_XGB},
    {"aft_loss_distribution_scale", HP_FLOAT, 0, U, 0, 0, NULL, HP_XGB},
    {"single_precision_histogram", HP_CAT, U, U, 0, 0, "true false", HP_XGB},
    {"deterministic_histogram", HP_CAT, U, U, 0, 0, "true false", HP_XGB},
    {"sampling_method", HP_CAT, U, U, 0, 0, "uniform gradient_based", HP_XGB},
    {"prob_buffer_row", HP_INT, 1, U, 1, 0, NULL, HP_XGB},
};
#undef U

static const struct {
    const char *alias, *name;
} hp_aliases[] = {{"learning_rate", "eta"},
                  {"min_split_loss", "gamma"},
                  {"reg_lambda", "lambda"},
                  {"reg_alpha", "alpha"}};

/* Objectives the container accepts, with the first XGBoost that has them. */
static const struct {
    const char *name;
    compat_version since;
} objectives[] = {
    {"binary:logistic", {0, 0, 0}},
    {"binary:logitraw", {0, 0, 0}},
    {"binary:hinge", {0, 80, 0}},
    {"count:poisson", {0, 0, 0}},
    {"multi:softmax", {0, 0, 0}},
    {"multi:softprob", {0, 0, 0}},
    {"rank:pairwise", {0, 0, 0}},
    {"rank:ndcg", {0, 0, 0}},
    {"rank:map", {0, 0, 0}},
    {"reg:linear", {0, 0, 0}},
    {"reg:squarederror", {0, 90, 0}},
    {"reg:logistic", {0, 0, 0}},
    {"reg:gamma", {0, 0, 0}},
    {"reg:pseudohubererror", {1, 2, 0}},
    {"reg:squaredlogerror", {1, 0, 0}},
    {"reg:tweedie", {0, 0, 0}},
    {"reg:absoluteerror", {1, 7, 0}},
    {"reg:quantileerror", {2, 0, 0}},
    {"survival:aft", {1, 1, 0}},
    {"survival:cox", {0, 0, 0}},
};

/* XGBoost's built-in metrics, with the first XGBoost that has them ('@' forms handled below). */
static const struct {
    const char *name;
    compat_version since;
    int maximize;
} metrics[] = {
    {"rmse", {0, 0, 0}, 0},
    {"rmsle", {0, 90, 0}, 0},
    {"mae", {0, 0, 0}, 0},
    {"mape", {1, 1, 0}, 0},
    {"mphe", {1, 2, 0}, 0},
    {"logloss", {0, 0, 0}, 0},
    {"error", {0, 0, 0}, 0},
    {"merror", {0, 0, 0}, 0},
    {"mlogloss", {0, 0, 0}, 0},
    {"auc", {0, 0, 0}, 1},
    {"aucpr", {0, 90, 0}, 1},
    {"ndcg", {0, 0, 0}, 1},
    {"map", {0, 0, 0}, 1},
    {"poisson-nloglik", {0, 0, 0}, 0},
    {"gamma-nloglik", {0, 0, 0}, 0},
    {"cox-nloglik", {0, 0, 0}, 0},
    {"gamma-deviance", {0, 0, 0}, 0},
    {"tweedie-nloglik", {0, 0, 0}, 0},
    {"aft-nloglik", {1, 1, 0}, 0},
    {"interval-regression-accuracy", {1, 1, 0}, 0},
};

/* Metrics the container computes itself in Python (scikit-learn), not XGBoost. */
static const char *container_metrics[] = {"accuracy",
                                          "balanced_accuracy",
                                          "f1",
                                          "f1_binary",
                                          "f1_macro",
                                          "precision",
                                          "precision_macro",
                                          "precision_micro",
                                          "recall",
                                          "recall_macro",
                                          "recall_micro",
                                          "r2",
                                          "mse",
                                          NULL};

static const hp_def *hp_find(const char *name)
{
    for (size_t i = 0; i < sizeof hp_aliases / sizeof hp_aliases[0]; i++)
        if (!strcmp(name, hp_aliases[i].alias))
            name = hp_aliases[i].name;
    for (size_t i = 0; i < sizeof hp_table / sizeof hp_table[0]; i++)
        if (!strcmp(name, hp_table[i].name))
            return &hp_table[i];
    return NULL;
}

const char *compat_train_hyperparameter_names(void)
{
    static char buf[2048];
    if (!buf[0]) {
        size_t n = 0;
        for (size_t i = 0; i < sizeof hp_table / sizeof hp_table[0]; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? ", " : "", hp_table[i].name);
    }
    return buf;
}

/* Levenshtein distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t c = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < c)
                c = prev[j] + 1;
            if (cur[j - 1] + 1 < c)
                c = cur[j - 1] + 1;
            cur[j] = c;
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

static const char *closest_name(const char *name)
{
    const char *best = NULL;
    size_t bd = 3;
    for (size_t i = 0; i < sizeof hp_table / sizeof hp_table[0]; i++) {
        size_t d = edit_distance(name, hp_table[i].name);
        if (d < bd) {
            bd = d;
            best = hp_table[i].name;
        }
    }
    return best;
}

static void trim(const char *s, const char **a, size_t *n)
{
    const char *e = s + strlen(s);
    while (*s && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    *a = s;
    *n = (size_t)(e - s);
}

/* Python int(): optional sign, digits, surrounding whitespace. */
static int parse_int(const char *s, long long *v)
{
    const char *a;
    size_t n;
    trim(s, &a, &n);
    if (!n || n > 20)
        return -1;
    char tmp[24];
    memcpy(tmp, a, n);
    tmp[n] = 0;
    char *e;
    errno = 0;
    *v = strtoll(tmp, &e, 10);
    return (errno || *e || e == tmp) ? -1 : 0;
}

static int parse_float(const char *s, double *v)
{
    const char *a;
    size_t n;
    trim(s, &a, &n);
    if (!n || n > 64)
        return -1;
    char tmp[72];
    memcpy(tmp, a, n);
    tmp[n] = 0;
    if (!strncasecmp(tmp, "0x", 2) || !strncasecmp(tmp + (tmp[0] == '-' || tmp[0] == '+'), "0x", 2))
        return -1; /* Python's float() takes no hex */
    char *e;
    *v = strtod(tmp, &e);
    return (*e || e == tmp) ? -1 : 0;
}

static int in_range(const hp_def *d, double v)
{
    if (isnan(v))
        return 0;
    if (!isnan(d->lo) && (d->lo_open ? v <= d->lo : v < d->lo))
        return 0;
    if (!isnan(d->hi) && (d->hi_open ? v >= d->hi : v > d->hi))
        return 0;
    return 1;
}

static void range_text(const hp_def *d, char *buf, size_t n)
{
    char lo[24] = "-inf", hi[24] = "inf";
    if (!isnan(d->lo))
        snprintf(lo, sizeof lo, "%.10g", d->lo);
    if (!isnan(d->hi))
        snprintf(hi, sizeof hi, "%.10g", d->hi);
    snprintf(buf, n, "%c%s, %s%c", d->lo_open || isnan(d->lo) ? '(' : '[', lo, hi,
             d->hi_open || isnan(d->hi) ? ')' : ']');
}

static int word_in(const char *word, size_t wl, const char *list)
{
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, " ");
        if (l == wl && !strncmp(p, word, wl))
            return 1;
        p += l;
        while (*p == ' ')
            p++;
    }
    return 0;
}

static const char *hp_get(const compat_kv *hp, size_t n, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < n; i++) {
        const hp_def *d = hp_find(hp[i].key);
        if (d && !strcmp(d->name, name))
            v = hp[i].value;
    }
    return v;
}

static int needs(compat_version have, compat_version since)
{
    return compat_version_cmp(have, since) < 0;
}

/* Check one eval_metric entry. */
static int check_metric(const char *m, size_t ml, const compat_container *c, compat_version xv,
                        smx_err *err)
{
    char name[64];
    if (ml == 0 || ml >= sizeof name)
        return smx_fail(err, SMX_EINVAL, "eval_metric: empty or overlong metric name");
    memcpy(name, m, ml);
    name[ml] = 0;
    char *at = strchr(name, '@');
    char base[64];
    snprintf(base, sizeof base, "%s", name);
    if (at) {
        base[at - name] = 0;
        if (strcmp(base, "error") && strcmp(base, "ndcg") && strcmp(base, "map") &&
            strcmp(base, "tweedie-nloglik"))
            return smx_fail(err, SMX_EINVAL,
                            "eval_metric '%s': a threshold ('@t') is only valid for 'error', "
                            "'ndcg' and 'map'",
                            name);
        double t;
        if (parse_float(at + 1, &t) && strcmp(at + 1, "-"))
            return smx_fail(err, SMX_EINVAL,
                            "eval_metric '%s': the threshold after '@' must be "
                            "a number",
                            name);
    } else if (ml > 1 && name[ml - 1] == '-' &&
               (!strncmp(name, "ndcg", 4) || !strncmp(name, "map", 3))) {
        base[ml - 1] = 0; /* ndcg-, map- */
    }
    for (const char **cm = container_metrics; *cm; cm++)
        if (!strcmp(base, *cm))
            return smx_fail(err, SMX_EINVAL,
                            "eval_metric '%s' is computed by the container in Python "
                            "(scikit-learn), not by XGBoost; smxgb train supports XGBoost's "
                            "metrics: rmse, rmsle, mae, mape, mphe, logloss, error, error@t, "
                            "merror, mlogloss, auc, aucpr, ndcg, map, poisson-nloglik, "
                            "gamma-nloglik, cox-nloglik, gamma-deviance, tweedie-nloglik, "
                            "aft-nloglik, interval-regression-accuracy",
                            name);
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
        if (strcmp(base, metrics[i].name))
            continue;
        char b1[32], b2[32];
        if (needs(c->xgboost, metrics[i].since))
            return smx_fail(
                err, SMX_EINVAL, "eval_metric '%s' needs XGBoost %s; container %s has XGBoost %s",
                name, compat_version_str(metrics[i].since, b1, sizeof b1), c->tag, c->xgboost_str);
        if (needs(xv, metrics[i].since))
            return smx_fail(err, SMX_EINVAL,
                            "eval_metric '%s' needs XGBoost %s; the loaded XGBoost is %s", name,
                            compat_version_str(metrics[i].since, b1, sizeof b1),
                            compat_version_str(xv, b2, sizeof b2));
        return SMX_OK;
    }
    return smx_fail(err, SMX_EINVAL,
                    "eval_metric '%s' is not a metric; valid: rmse, rmsle, mae, mape, mphe, "
                    "logloss, error, error@t, merror, mlogloss, auc, aucpr, ndcg, ndcg@n, map, "
                    "map@n, poisson-nloglik, gamma-nloglik, cox-nloglik, gamma-deviance, "
                    "tweedie-nloglik, aft-nloglik, interval-regression-accuracy",
                    name);
}

int compat_train_validate(const compat_container *c, compat_version xv, const compat_kv *hp,
                          size_t n, smx_err *err)
{
    char b1[32], b2[32], rt[64];
    for (size_t i = 0; i < n; i++) {
        const char *k = hp[i].key, *v = hp[i].value ? hp[i].value : "";
        const hp_def *d = hp_find(k);
        if (!d) {
            const char *near = closest_name(k);
            if (near)
                return smx_fail(err, SMX_EINVAL,
                                "unknown hyperparameter '%s' (did you mean '%s'?); valid: %s", k,
                                near, compat_train_hyperparameter_names());
            return smx_fail(err, SMX_EINVAL, "unknown hyperparameter '%s'; valid: %s", k,
                            compat_train_hyperparameter_names());
        }
        if (d->use == HP_UNSUPPORTED)
            return smx_fail(err, SMX_EINVAL,
                            "hyperparameter '%s' (k-fold cross-validation) is valid for the "
                            "container but not supported by smxgb train",
                            k);
        long long iv;
        double fv;
        switch (d->type) {
        case HP_INT:
            if (parse_int(v, &iv))
                return smx_fail(err, SMX_EINVAL, "hyperparameter %s='%s': expected an integer", k,
                                v);
            if (!in_range(d, (double)iv)) {
                range_text(d, rt, sizeof rt);
                return smx_fail(err, SMX_EINVAL, "hyperparameter %s=%s is out of range %s", k, v,
                                rt);
            }
            break;
        case HP_FLOAT:
            if (parse_float(v, &fv))
                return smx_fail(err, SMX_EINVAL, "hyperparameter %s='%s': expected a number", k, v);
            if (!in_range(d, fv)) {
                range_text(d, rt, sizeof rt);
                return smx_fail(err, SMX_EINVAL, "hyperparameter %s=%s is out of range %s", k, v,
                                rt);
            }
            break;
        case HP_CAT:
            if (!strcmp(d->name, "objective")) {
                size_t j, no = sizeof objectives / sizeof objectives[0];
                for (j = 0; j < no && strcmp(objectives[j].name, v); j++)
                    ;
                if (j == no) {
                    char list[1024];
                    size_t l = 0;
                    for (size_t q = 0; q < no; q++)
                        if (!needs(c->xgboost, objectives[q].since))
                            l += (size_t)snprintf(list + l, sizeof list - l, "%s%s", q ? ", " : "",
                                                  objectives[q].name);
                    return smx_fail(err, SMX_EINVAL,
                                    "hyperparameter objective='%s' is not valid; valid for %s: %s",
                                    v, c->tag, list);
                }
                if (needs(c->xgboost, objectives[j].since))
                    return smx_fail(err, SMX_EINVAL,
                                    "objective '%s' needs XGBoost %s, but container %s has XGBoost "
                                    "%s: its endpoint could not load the model; use container "
                                    "1.7-1 or later, or another objective",
                                    v, compat_version_str(objectives[j].since, b1, sizeof b1),
                                    c->tag, c->xgboost_str);
                if (needs(xv, objectives[j].since))
                    return smx_fail(err, SMX_EINVAL,
                                    "objective '%s' needs XGBoost %s; the loaded XGBoost is %s "
                                    "(pass --xgboost-lib)",
                                    v, compat_version_str(objectives[j].since, b1, sizeof b1),
                                    compat_version_str(xv, b2, sizeof b2));
                break;
            }
            if (!word_in(v, strlen(v), d->cats))
                return smx_fail(err, SMX_EINVAL, "hyperparameter %s='%s' is not valid; valid: %s",
                                k, v, d->cats);
            if (!strcmp(d->name, "tree_method") && !strcmp(v, "gpu_hist"))
                return smx_fail(err, SMX_EINVAL,
                                "tree_method=gpu_hist needs a GPU build of XGBoost; use hist");
            break;
        case HP_LIST: {
            const char *p = v;
            int count = 0;
            while (*p) {
                while (*p == ' ' || *p == ',')
                    p++;
                if (!*p)
                    break;
                size_t l = strcspn(p, ",");
                size_t tl = l;
                while (tl && p[tl - 1] == ' ')
                    tl--;
                if (!strcmp(d->name, "eval_metric")) {
                    int rc = check_metric(p, tl, c, xv, err);
                    if (rc)
                        return rc;
                } else if (!word_in(p, tl, d->cats)) {
                    return smx_fail(err, SMX_EINVAL,
                                    "hyperparameter %s: '%.*s' is not valid; valid: %s", k, (int)tl,
                                    p, d->cats);
                }
                count++;
                p += l;
            }
            if (!count)
                return smx_fail(err, SMX_EINVAL, "hyperparameter %s is empty", k);
            break;
        }
        case HP_STR:
            break;
        }
    }
    if (!hp_get(hp, n, "num_round"))
        return smx_fail(err, SMX_EINVAL,
                        "hyperparameter num_round is required (the number of boosting rounds), "
                        "e.g. -p num_round=100");
    const char *obj = hp_get(hp, n, "objective");
    const char *ncls = hp_get(hp, n, "num_class");
    if (obj && !strncmp(obj, "multi:", 6) && !ncls)
        return smx_fail(err, SMX_EINVAL,
                        "objective %s needs num_class (the number of classes), e.g. -p num_class=3",
                        obj);
    if (!obj && ncls)
        return smx_fail(err, SMX_EINVAL,
                        "num_class is only for multi-class objectives (multi:softmax, "
                        "multi:softprob); set objective");
    const char *em = hp_get(hp, n, "eval_metric");
    const char *objv = obj ? obj : "reg:squarederror";
    if (em) {
        char list[512];
        snprintf(list, sizeof list, ",%s,", em);
        if (strstr(list, ",auc,") && strncmp(objv, "binary:", 7) && strncmp(objv, "rank:", 5))
            return smx_fail(err, SMX_EINVAL,
                            "eval_metric auc is only for classification and ranking objectives "
                            "(binary:*, rank:*); objective is %s",
                            objv);
        if (strstr(list, "aft-nloglik") && strcmp(objv, "survival:aft"))
            return smx_fail(err, SMX_EINVAL,
                            "eval_metric aft-nloglik is only for objective survival:aft");
    }
    const char *tm = hp_get(hp, n, "tree_method");
    if (hp_get(hp, n, "monotone_constraints") &&
        !(tm && (!strcmp(tm, "exact") || !strcmp(tm, "hist"))))
        return smx_fail(err, SMX_EINVAL, "monotone_constraints needs tree_method exact or hist");
    if (hp_get(hp, n, "interaction_constraints") &&
        !(tm && (!strcmp(tm, "exact") || !strcmp(tm, "hist") || !strcmp(tm, "approx"))))
        return smx_fail(err, SMX_EINVAL,
                        "interaction_constraints needs tree_method exact, hist or approx");
    if (c->xgboost.major == 0)
        return smx_fail(err, SMX_EINVAL,
                        "container %s runs XGBoost %s, which predicts nothing from models saved "
                        "by XGBoost 1.0 or later; train with that XGBoost (--xgboost-lib) or "
                        "target 1.0-1 or later",
                        c->tag, c->xgboost_str);
    if (xv.major == 0 || (xv.major == 1 && xv.minor < 0))
        return smx_fail(err, SMX_EINVAL, "XGBoost %s is too old to train with smxgb",
                        compat_version_str(xv, b1, sizeof b1));
    return SMX_OK;
}

/* ---- evaluation strings ------------------------------------------------------------------ */

/* "[3]\ttrain-rmse:0.5\tvalidation-rmse:0.6" -> metrics; returns count. */
static size_t parse_eval(const char *s, compat_eval_metric *m, size_t max)
{
    size_t n = 0;
    const char *p = strchr(s, '\t');
    while (p && n < max) {
        p++;
        const char *end = strchr(p, '\t');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        const char *colon = NULL;
        for (const char *q = p + l; q > p; q--)
            if (q[-1] == ':') {
                colon = q - 1;
                break;
            }
        const char *dash = memchr(p, '-', l);
        if (colon && dash && dash < colon) {
            size_t sl = (size_t)(dash - p), ml = (size_t)(colon - dash - 1);
            if (sl < sizeof m[n].set && ml < sizeof m[n].name) {
                memcpy(m[n].set, p, sl);
                m[n].set[sl] = 0;
                memcpy(m[n].name, dash + 1, ml);
                m[n].name[ml] = 0;
                m[n].value = strtod(colon + 1, NULL);
                n++;
            }
        }
        p = end;
    }
    return n;
}

static int metric_maximize(const char *name)
{
    /* xgboost.callback.EarlyStopping (1.3..1.7): these prefixes maximize, except mape */
    static const char *maxm[] = {"auc",  "aucpr", "map", "ndcg", "auc@", "aucpr@",
                                 "map@", "ndcg@", "pre", "pre@", NULL};
    if (!strcmp(name, "mape"))
        return 0;
    for (const char **p = maxm; *p; p++)
        if (!strncmp(name, *p, strlen(*p)))
            return 1;
    return 0;
}

/* ---- training ---------------------------------------------------------------------------- */

static int to_dmatrix(compat_xgb *x, compat_train_data *d, uint64_t ncol, int quantile_bins,
                      compat_dmatrix **out, smx_err *err)
{
    int rc;
    if (quantile_bins > 0 && d->format == COMPAT_DATA_CSV)
        /* hist on dense data: XGBoost sketches our buffer directly (no CSR copy); the trees
         * are the same as from a DMatrix */
        return compat_dmatrix_quantile_dense(x, d->X, d->nrow, d->ncol, d->labels, d->weights,
                                             quantile_bins, 0, out, err);
    if (d->format == COMPAT_DATA_CSV)
        rc = compat_dmatrix_from_dense(x, d->X, d->nrow, d->ncol, NAN, 0, out, err);
    else
        rc = compat_dmatrix_from_csr(x, d->indptr, d->indices, d->values, d->nrow, ncol, out, err);
    if (rc)
        return rc;
    rc = compat_dmatrix_set_float_info(*out, "label", d->labels, d->nrow, err);
    if (!rc && d->weights)
        rc = compat_dmatrix_set_float_info(*out, "weight", d->weights, d->nrow, err);
    if (rc) {
        compat_dmatrix_free(*out);
        *out = NULL;
    }
    return rc;
}

/* The first k rows of d as their own DMatrix, for comparing predictions after saving. */
static int check_matrix(compat_xgb *x, const compat_train_data *d, uint64_t ncol, uint64_t k,
                        compat_dmatrix **out, smx_err *err)
{
    if (d->format == COMPAT_DATA_CSV)
        return compat_dmatrix_from_dense(x, d->X, k, d->ncol, NAN, 1, out, err);
    return compat_dmatrix_from_csr(x, d->indptr, d->indices, d->values, k, ncol, out, err);
}

static int set_params(compat_booster *b, const compat_container *c, const compat_kv *hp, size_t n,
                      smx_err *err)
{
    int rc;
    const char *obj = hp_get(hp, n, "objective");
    for (size_t i = 0; i < n; i++) {
        const hp_def *d = hp_find(hp[i].key);
        if (!d || d->use != HP_XGB)
            continue;
        const char *a;
        size_t l;
        trim(hp[i].value, &a, &l);
        if (d->type == HP_LIST) {
            /* xgb.train passes a list once per element */
            const char *p = a, *end = a + l;
            while (p < end) {
                while (p < end && (*p == ' ' || *p == ','))
                    p++;
                size_t tl = strcspn(p, ",");
                if ((size_t)(end - p) < tl)
                    tl = (size_t)(end - p);
                size_t vl = tl;
                while (vl && p[vl - 1] == ' ')
                    vl--;
                if (vl) {
                    char v[128];
                    snprintf(v, sizeof v, "%.*s", (int)vl, p);
                    if (!strcmp(d->name, "updater")) {
                        /* updater is one comma-separated string for XGBoost */
                        snprintf(v, sizeof v, "%.*s", (int)l, a);
                        if ((rc = compat_booster_set_param(b, d->name, v, err)))
                            return rc;
                        break;
                    }
                    if ((rc = compat_booster_set_param(b, d->name, v, err)))
                        return rc;
                }
                p += tl;
            }
            continue;
        }
        char v[1024];
        snprintf(v, sizeof v, "%.*s", (int)l, a);
        if ((rc = compat_booster_set_param(b, d->name, v, err)))
            return rc;
    }
    /* XGBoost before 1.3 evaluated binary:logistic with error and multi:* with merror by
     * default; 1.3 changed both to logloss. Keep the target's default so early stopping
     * watches the metric that container would. */
    if (!hp_get(hp, n, "eval_metric") && obj &&
        compat_version_cmp(c->xgboost, (compat_version){1, 3, 0}) < 0) {
        if (!strcmp(obj, "binary:logistic") &&
            (rc = compat_booster_set_param(b, "eval_metric", "error", err)))
            return rc;
        if (!strncmp(obj, "multi:", 6) &&
            (rc = compat_booster_set_param(b, "eval_metric", "merror", err)))
            return rc;
    }
    return SMX_OK;
}

int compat_train(compat_xgb *x, const compat_train_opts *o, compat_train_data *train,
                 compat_train_data *val, compat_train_result *r, smx_err *err)
{
    memset(r, 0, sizeof *r);
    r->best_iteration = -1;
    const compat_container *c = o->container;
    compat_version xv = compat_xgb_version(x);
    int rc = compat_train_validate(c, xv, o->hyperparameters, o->n_hyperparameters, err);
    if (rc)
        return rc;
    const compat_kv *hp = o->hyperparameters;
    size_t nhp = o->n_hyperparameters;
    long long num_round = 0, esr = 0, npt = 1;
    parse_int(hp_get(hp, nhp, "num_round"), &num_round);
    const char *s;
    if ((s = hp_get(hp, nhp, "early_stopping_rounds")))
        parse_int(s, &esr);
    if ((s = hp_get(hp, nhp, "num_parallel_tree")))
        parse_int(s, &npt);
    if (!train || !train->nrow)
        return smx_fail(err, SMX_EINVAL, "the train channel has no rows");
    if (val && val->format != train->format)
        return smx_fail(err, SMX_EINVAL, "the train channel is %s but validation is %s",
                        compat_data_format_name(train->format),
                        compat_data_format_name(val->format));
    if (val && train->format == COMPAT_DATA_CSV && val->ncol != train->ncol)
        return smx_fail(err, SMX_EINVAL, "train has %llu feature columns but validation has %llu",
                        (unsigned long long)train->ncol, (unsigned long long)val->ncol);
    uint64_t ncol = train->ncol;
    if (val && val->ncol > ncol)
        ncol = val->ncol;
    r->num_round = (int)num_round;
    r->n_train = train->nrow;
    r->n_validation = val ? val->nrow : 0;
    r->num_feature = ncol;
    snprintf(r->objective, sizeof r->objective, "%s",
             hp_get(hp, nhp, "objective") ? hp_get(hp, nhp, "objective") : "reg:squarederror");

    compat_dmatrix *dtrain = NULL, *dval = NULL, *dcheck = NULL;
    compat_booster *b = NULL, *loaded = NULL;
    char *ev = NULL;
    compat_pred p1 = {0}, p2 = {0};
    uint64_t k = o->check_rows > 0 ? (uint64_t)o->check_rows : 1000;
    if (k > train->nrow)
        k = train->nrow;
    if ((rc = check_matrix(x, train, ncol, k, &dcheck, err)))
        goto out;
    /* tree_method=hist on dense data trains from a QuantileDMatrix (XGBoost 1.7+) */
    int qbins = 0;
    const char *tm = hp_get(hp, nhp, "tree_method");
    if (tm && !strcmp(tm, "hist") && compat_version_cmp(xv, (compat_version){1, 7, 0}) >= 0 &&
        !getenv("SMXGB_TRAIN_NO_QUANTILE")) {
        long long mb = 256;
        if ((s = hp_get(hp, nhp, "max_bin")))
            parse_int(s, &mb);
        qbins = mb > 1 ? (int)mb : 0;
    }
    if ((rc = to_dmatrix(x, train, ncol, qbins, &dtrain, err)))
        goto out;
    compat_data_free_features(train); /* XGBoost has its own copy now */
    if (val) {
        if ((rc = to_dmatrix(x, val, ncol, 0, &dval, err)))
            goto out;
        compat_data_free_features(val);
    }
    compat_dmatrix *cache[2] = {dtrain, dval};
    const char *names[2] = {"train", "validation"};
    size_t nev = val ? 2 : 1;
    if ((rc = compat_booster_create(x, cache, nev, &b, err)))
        goto out;
    if ((rc = compat_booster_set_param(b, "validate_parameters", "1", err)))
        goto out;
    if ((rc = set_params(b, c, hp, nhp, err)))
        goto out;

    double best = 0;
    int stagnant = 0, maximize = -1;
    compat_eval_metric m[32];
    for (int it = 0; it < (int)num_round; it++) {
        if ((rc = compat_booster_update(b, it, dtrain, err)))
            goto out;
        r->rounds = it + 1;
        free(ev);
        ev = NULL;
        if ((rc = compat_booster_eval(b, it, cache, names, nev, &ev, err)))
            goto out;
        size_t nm = parse_eval(ev, m, sizeof m / sizeof m[0]);
        int stop = o->on_round ? o->on_round(o->ctx, it, (int)num_round, m, nm) : 0;
        if (esr > 0 && nm > 0) {
            const compat_eval_metric *w = &m[nm - 1]; /* last metric of the last set */
            if (maximize < 0) {
                maximize = metric_maximize(w->name);
                snprintf(r->metric, sizeof r->metric, "%s-%s", w->set, w->name);
            }
            int improved = it == 0 || (maximize ? w->value > best : w->value < best);
            if (improved) {
                best = w->value;
                r->best_iteration = it;
                r->best_score = w->value;
                stagnant = 0;
                char sv[SMX_PYREPR_MAX], iv[24];
                smx_pyrepr(w->value, sv);
                snprintf(iv, sizeof iv, "%d", it);
                if ((rc = compat_booster_set_attr(b, "best_score", sv, err)) ||
                    (rc = compat_booster_set_attr(b, "best_iteration", iv, err)))
                    goto out;
            } else {
                stagnant++;
            }
            if (stagnant >= esr)
                stop = 1;
        }
        if (stop)
            break;
    }
    /* What xgb.train stores after training: with early stopping best_score and
     * best_iteration (the callback), plus best_ntree_limit up to XGBoost 1.7 (2.0 dropped
     * it). XGBoost 1.6/1.7 also store best_iteration = last round and best_ntree_limit
     * without early stopping (CallbackContainer.after_training); 1.5 and older kept those
     * on the Python object only. */
    int stores_always = c->xgboost.major == 1 && c->xgboost.minor >= 6;
    int best_it = r->best_iteration;
    if (best_it < 0 && stores_always) {
        char v[24];
        best_it = r->rounds - 1;
        snprintf(v, sizeof v, "%d", best_it);
        if ((rc = compat_booster_set_attr(b, "best_iteration", v, err)))
            goto out;
    }
    if (best_it >= 0 && c->xgboost.major < 2) {
        char v[24];
        r->best_ntree_limit = (int)((best_it + 1) * npt);
        snprintf(v, sizeof v, "%d", r->best_ntree_limit);
        if ((rc = compat_booster_set_attr(b, "best_ntree_limit", v, err)))
            goto out;
    }

    /* xgb.train returns bst.copy(): a serialize/unserialize round trip that drops the
     * training state (the metrics attribute among it) before the model is saved */
    {
        void *snap = NULL;
        size_t slen = 0;
        compat_booster *fresh = NULL;
        if ((rc = compat_booster_serialize(b, &snap, &slen, err)))
            goto out;
        rc = compat_booster_unserialize(x, snap, slen, &fresh, err);
        free(snap);
        if (rc)
            goto out;
        compat_booster_free(b);
        b = fresh;
    }
    compat_version v21 = {2, 1, 0};
    r->format = compat_version_cmp(c->xgboost, v21) >= 0 ? "ubj" : "deprecated";
    void *bytes = NULL;
    size_t blen = 0;
    if ((rc = compat_booster_save(b, r->format, &bytes, &blen, err)))
        goto out;
    r->model = bytes;
    r->model_len = blen;

    /* load what was written and predict the first rows with both boosters */
    if ((rc = compat_booster_load_buffer(x, bytes, blen, &loaded, err))) {
        smx_fail(err, rc, "the model just written does not load back: %s", err->msg);
        goto out;
    }
    compat_predict_opts po = {.iteration_end = 0, .margin = 0, .missing = NAN};
    if ((rc = compat_booster_predict_dmatrix(b, dcheck, &po, &p1, err)) ||
        (rc = compat_booster_predict_dmatrix(loaded, dcheck, &po, &p2, err)))
        goto out;
    if (p1.rows != p2.rows || p1.cols != p2.cols) {
        rc = smx_fail(err, SMX_ERUNTIME,
                      "the saved model predicts a different shape (%llux%llu vs %llux%llu)",
                      (unsigned long long)p2.rows, (unsigned long long)p2.cols,
                      (unsigned long long)p1.rows, (unsigned long long)p1.cols);
        goto out;
    }
    r->compared_rows = (int)p1.rows;
    for (uint64_t i = 0; i < p1.rows * p1.cols; i++) {
        float dd = fabsf(p1.values[i] - p2.values[i]);
        if (dd > r->max_abs_diff || (isnan(dd) && !(isnan(p1.values[i]) && isnan(p2.values[i]))))
            r->max_abs_diff = isnan(dd) ? INFINITY : dd;
    }
out:
    free(ev);
    compat_pred_free(&p1);
    compat_pred_free(&p2);
    compat_booster_free(loaded);
    compat_booster_free(b);
    compat_dmatrix_free(dcheck);
    compat_dmatrix_free(dtrain);
    compat_dmatrix_free(dval);
    if (rc) {
        free(r->model);
        r->model = NULL;
        r->model_len = 0;
    }
    return rc;
}

void compat_train_result_free(compat_train_result *r)
{
    free(r->model);
    r->model = NULL;
    r->model_len = 0;
}
