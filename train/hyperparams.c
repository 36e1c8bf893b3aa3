/*
 * SageMaker's hyperparameters for a target container, checked as that container checks them.
 *
 * Hyperparameters arrive with SageMaker's names and string values (hyperparameters.json). They
 * are checked against the container's own validation table (names, types, ranges, categories,
 * objective/num_class and eval_metric rules) and against what the container's XGBoost and the
 * loaded XGBoost support (reg:absoluteerror needs 1.7, reg:quantileerror 2.0...). Everything
 * except the container's own keys (num_round, early_stopping_rounds, csv_weights, ...) is
 * passed to XGBoost as a parameter, eval_metric once per listed metric, as xgb.train does.
 * A set of them is read from hyperparameters.json (every value a string, as SageMaker writes
 * it) and then from KEY=VALUE overrides, a later value replacing an earlier one.
 */
#include "train_private.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

const char *train_hyperparameter_names(void)
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

/* s without surrounding whitespace, copied into tmp (room for max + 1 bytes); 0 when that is
 * empty or longer than max. */
static int trimmed(const char *s, char *tmp, size_t max)
{
    const char *a;
    size_t n;
    trim(s, &a, &n);
    if (!n || n > max)
        return 0;
    memcpy(tmp, a, n);
    tmp[n] = 0;
    return 1;
}

/* Python int(): optional sign, digits, surrounding whitespace. */
int hp_parse_int(const char *s, long long *v)
{
    char tmp[24];
    if (!trimmed(s, tmp, 20))
        return -1;
    char *e;
    errno = 0;
    *v = strtoll(tmp, &e, 10);
    return (errno || *e || e == tmp) ? -1 : 0;
}

static int parse_float(const char *s, double *v)
{
    char tmp[72];
    if (!trimmed(s, tmp, 64))
        return -1;
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

const char *hp_get(const compat_kv *hp, size_t n, const char *name)
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

/* An HP_INT or HP_FLOAT value: its type, then its range. */
static int check_number(const hp_def *d, const char *k, const char *v, smx_err *err)
{
    double x;
    if (d->type == HP_INT) {
        long long iv;
        if (hp_parse_int(v, &iv))
            return smx_fail(err, SMX_EINVAL, "hyperparameter %s='%s': expected an integer", k, v);
        x = (double)iv;
    } else if (parse_float(v, &x)) {
        return smx_fail(err, SMX_EINVAL, "hyperparameter %s='%s': expected a number", k, v);
    }
    if (!in_range(d, x)) {
        char rt[64];
        range_text(d, rt, sizeof rt);
        return smx_fail(err, SMX_EINVAL, "hyperparameter %s=%s is out of range %s", k, v, rt);
    }
    return SMX_OK;
}

/* objective: one the container accepts, and one both its XGBoost and the loaded one have. */
static int check_objective(const compat_container *c, compat_version xv, const char *v,
                           smx_err *err)
{
    char b1[32], b2[32];
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
                        "hyperparameter objective='%s' is not valid; valid for %s: %s", v, c->tag,
                        list);
    }
    if (needs(c->xgboost, objectives[j].since))
        return smx_fail(err, SMX_EINVAL,
                        "objective '%s' needs XGBoost %s, but container %s has XGBoost "
                        "%s: its endpoint could not load the model; use container "
                        "1.7-1 or later, or another objective",
                        v, compat_version_str(objectives[j].since, b1, sizeof b1), c->tag,
                        c->xgboost_str);
    if (needs(xv, objectives[j].since))
        return smx_fail(err, SMX_EINVAL,
                        "objective '%s' needs XGBoost %s; the loaded XGBoost is %s "
                        "(pass --xgboost-lib)",
                        v, compat_version_str(objectives[j].since, b1, sizeof b1),
                        compat_version_str(xv, b2, sizeof b2));
    return SMX_OK;
}

/* An HP_LIST value: comma-separated, each entry a category (eval_metric: a metric). */
static int check_list(const hp_def *d, const compat_container *c, compat_version xv, const char *k,
                      const char *v, smx_err *err)
{
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
            return smx_fail(err, SMX_EINVAL, "hyperparameter %s: '%.*s' is not valid; valid: %s", k,
                            (int)tl, p, d->cats);
        }
        count++;
        p += l;
    }
    if (!count)
        return smx_fail(err, SMX_EINVAL, "hyperparameter %s is empty", k);
    return SMX_OK;
}

/* One hyperparameter on its own: a name the container knows, a value of its type. */
static int check_one(const compat_container *c, compat_version xv, const char *k, const char *v,
                     smx_err *err)
{
    const hp_def *d = hp_find(k);
    if (!d) {
        const char *near = closest_name(k);
        if (near)
            return smx_fail(err, SMX_EINVAL,
                            "unknown hyperparameter '%s' (did you mean '%s'?); valid: %s", k, near,
                            train_hyperparameter_names());
        return smx_fail(err, SMX_EINVAL, "unknown hyperparameter '%s'; valid: %s", k,
                        train_hyperparameter_names());
    }
    if (d->use == HP_UNSUPPORTED)
        return smx_fail(err, SMX_EINVAL,
                        "hyperparameter '%s' (k-fold cross-validation) is valid for the "
                        "container but not supported by smxgb train",
                        k);
    switch (d->type) {
    case HP_INT:
    case HP_FLOAT:
        return check_number(d, k, v, err);
    case HP_CAT:
        if (!strcmp(d->name, "objective"))
            return check_objective(c, xv, v, err);
        if (!word_in(v, strlen(v), d->cats))
            return smx_fail(err, SMX_EINVAL, "hyperparameter %s='%s' is not valid; valid: %s", k, v,
                            d->cats);
        if (!strcmp(d->name, "tree_method") && !strcmp(v, "gpu_hist"))
            return smx_fail(err, SMX_EINVAL,
                            "tree_method=gpu_hist needs a GPU build of XGBoost; use hist");
        return SMX_OK;
    case HP_LIST:
        return check_list(d, c, xv, k, v, err);
    case HP_STR:
        break;
    }
    return SMX_OK;
}

/* The rules between hyperparameters, and the XGBoost versions training needs. */
static int check_together(const compat_container *c, compat_version xv, const compat_kv *hp,
                          size_t n, smx_err *err)
{
    char b1[32];
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

int train_validate(const compat_container *c, compat_version xv, const compat_kv *hp, size_t n,
                   smx_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = check_one(c, xv, hp[i].key, hp[i].value ? hp[i].value : "", err);
        if (rc)
            return rc;
    }
    return check_together(c, xv, hp, n, err);
}

/* ---- a set of hyperparameters: hyperparameters.json, then KEY=VALUE overrides ---------- */

int train_hparams_set(train_hparams *h, const char *key, size_t klen, const char *value,
                      smx_err *err)
{
    char *v = strdup(value);
    if (!v)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    for (size_t i = 0; i < h->n; i++)
        if (strlen(h->v[i].key) == klen && !strncmp(h->v[i].key, key, klen)) {
            free(h->v[i].value);
            h->v[i].value = v;
            return SMX_OK;
        }
    char *k = strndup(key, klen);
    compat_kv *kv = k ? smx_push((void **)&h->v, &h->n, sizeof *kv) : NULL;
    if (!kv) {
        free(k);
        free(v);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    kv->key = k;
    kv->value = v;
    return SMX_OK;
}

int train_hparams_load(train_hparams *h, const char *path, smx_err *err)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        return smx_fail(err,
                        json_error_code(&je) == json_error_cannot_open_file ? SMX_EIO : SMX_EFORMAT,
                        "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return smx_fail(err, SMX_EFORMAT, "%s: expected a JSON object of hyperparameters", path);
    }
    int rc = SMX_OK;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (!json_is_string(v)) {
            rc = smx_fail(err, SMX_EFORMAT,
                          "%s: '%s' is not a string; SageMaker writes every hyperparameter value "
                          "as a string (\"%s\": \"...\")",
                          path, k, k);
            break;
        }
        if ((rc = train_hparams_set(h, k, strlen(k), json_string_value(v), err)))
            break;
    }
    json_decref(j);
    return rc;
}

void train_hparams_free(train_hparams *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].key);
        free(h->v[i].value);
    }
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

/* ---- what is passed to XGBoost ---------------------------------------------------------- */

int hp_set_params(compat_booster *b, const compat_container *c, const compat_kv *hp, size_t n,
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
