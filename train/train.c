/*
 * The training loop for a target container, the way that container's algorithm-mode training
 * does it.
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
#include "train_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluation strings ------------------------------------------------------------------ */

/* "[3]\ttrain-rmse:0.5\tvalidation-rmse:0.6" -> metrics; returns count. */
static size_t parse_eval(const char *s, train_eval_metric *m, size_t max)
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

static int to_dmatrix(compat_xgb *x, train_data *d, uint64_t ncol, int quantile_bins,
                      compat_dmatrix **out, smx_err *err)
{
    int rc;
    if (quantile_bins > 0 && d->format == TRAIN_DATA_CSV)
        /* hist on dense data: XGBoost sketches our buffer directly (no CSR copy); the trees
         * are the same as from a DMatrix */
        return compat_dmatrix_quantile_dense(x, d->X, d->nrow, d->ncol, d->labels, d->weights,
                                             quantile_bins, 0, out, err);
    if (d->format == TRAIN_DATA_CSV)
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
static int check_matrix(compat_xgb *x, const train_data *d, uint64_t ncol, uint64_t k,
                        compat_dmatrix **out, smx_err *err)
{
    if (d->format == TRAIN_DATA_CSV)
        return compat_dmatrix_from_dense(x, d->X, k, d->ncol, NAN, 1, out, err);
    return compat_dmatrix_from_csr(x, d->indptr, d->indices, d->values, k, ncol, out, err);
}

/*
 * One training run: what the hyperparameters say, the matrices, the booster. train_run fills
 * it step by step in xgb.train's order and frees it in one place.
 */
typedef struct session {
    compat_xgb *x;
    const compat_container *c;
    const compat_kv *hp;
    size_t nhp;
    long long num_round, esr, npt; /* num_round, early_stopping_rounds, num_parallel_tree */
    uint64_t ncol;
    compat_dmatrix *dtrain, *dval, *dcheck;
    compat_dmatrix *cache[2]; /* the watchlist: train, then validation */
    size_t nev;
    compat_booster *b;
} session;

static void session_free(session *s)
{
    compat_booster_free(s->b);
    compat_dmatrix_free(s->dcheck);
    compat_dmatrix_free(s->dtrain);
    compat_dmatrix_free(s->dval);
}

/* The container's own hyperparameters, the channels checked against each other, and what the
 * result says before training. */
static int settle(session *s, const train_data *train, const train_data *val, train_result *r,
                  smx_err *err)
{
    const char *v;
    s->npt = 1;
    hp_parse_int(hp_get(s->hp, s->nhp, "num_round"), &s->num_round);
    if ((v = hp_get(s->hp, s->nhp, "early_stopping_rounds")))
        hp_parse_int(v, &s->esr);
    if ((v = hp_get(s->hp, s->nhp, "num_parallel_tree")))
        hp_parse_int(v, &s->npt);
    if (!train || !train->nrow)
        return smx_fail(err, SMX_EINVAL, "the train channel has no rows");
    if (val && val->format != train->format)
        return smx_fail(err, SMX_EINVAL, "the train channel is %s but validation is %s",
                        train_data_format_name(train->format), train_data_format_name(val->format));
    if (val && train->format == TRAIN_DATA_CSV && val->ncol != train->ncol)
        return smx_fail(err, SMX_EINVAL, "train has %llu feature columns but validation has %llu",
                        (unsigned long long)train->ncol, (unsigned long long)val->ncol);
    s->ncol = train->ncol;
    if (val && val->ncol > s->ncol)
        s->ncol = val->ncol;
    r->num_round = (int)s->num_round;
    r->n_train = train->nrow;
    r->n_validation = val ? val->nrow : 0;
    r->num_feature = s->ncol;
    const char *obj = hp_get(s->hp, s->nhp, "objective");
    snprintf(r->objective, sizeof r->objective, "%s", obj ? obj : "reg:squarederror");
    return SMX_OK;
}

/* tree_method=hist on dense data trains from a QuantileDMatrix (XGBoost 1.7+): its max_bin,
 * or 0 for a plain DMatrix. */
static int quantile_bins(const session *s)
{
    const char *tm = hp_get(s->hp, s->nhp, "tree_method"), *v;
    if (!tm || strcmp(tm, "hist") ||
        compat_version_cmp(compat_xgb_version(s->x), (compat_version){1, 7, 0}) < 0 ||
        getenv("SMXGB_TRAIN_NO_QUANTILE"))
        return 0;
    long long mb = 256;
    if ((v = hp_get(s->hp, s->nhp, "max_bin")))
        hp_parse_int(v, &mb);
    return mb > 1 ? (int)mb : 0;
}

/* The check rows, then the training and validation matrices; each channel's feature buffers
 * are freed as soon as XGBoost has its own copy. */
static int make_matrices(session *s, int check_rows, train_data *train, train_data *val,
                         smx_err *err)
{
    uint64_t k = check_rows > 0 ? (uint64_t)check_rows : 1000;
    if (k > train->nrow)
        k = train->nrow;
    int rc = check_matrix(s->x, train, s->ncol, k, &s->dcheck, err);
    if (!rc)
        rc = to_dmatrix(s->x, train, s->ncol, quantile_bins(s), &s->dtrain, err);
    if (rc)
        return rc;
    train_data_free_features(train);
    if (val) {
        if ((rc = to_dmatrix(s->x, val, s->ncol, 0, &s->dval, err)))
            return rc;
        train_data_free_features(val);
    }
    s->cache[0] = s->dtrain;
    s->cache[1] = s->dval;
    s->nev = val ? 2 : 1;
    return SMX_OK;
}

static int make_booster(session *s, smx_err *err)
{
    int rc = compat_booster_create(s->x, s->cache, s->nev, &s->b, err);
    if (!rc)
        rc = compat_booster_set_param(s->b, "validate_parameters", "1", err);
    if (!rc)
        rc = hp_set_params(s->b, s->c, s->hp, s->nhp, err);
    return rc;
}

/* Early stopping's state: xgb.train's EarlyStopping callback. */
typedef struct early_stop {
    int maximize; /* -1 until the first round names the watched metric */
    double best;
    int stagnant;
} early_stop;

/* Watch w, the last metric of the last set, in round it: an improvement stores best_score and
 * best_iteration on the booster; *stop when early_stopping_rounds passed without one. */
static int watch(session *s, early_stop *es, int it, const train_eval_metric *w, train_result *r,
                 int *stop, smx_err *err)
{
    if (es->maximize < 0) {
        es->maximize = metric_maximize(w->name);
        snprintf(r->metric, sizeof r->metric, "%s-%s", w->set, w->name);
    }
    int improved = it == 0 || (es->maximize ? w->value > es->best : w->value < es->best);
    if (!improved) {
        if (++es->stagnant >= s->esr)
            *stop = 1;
        return SMX_OK;
    }
    es->best = w->value;
    es->stagnant = 0;
    r->best_iteration = it;
    r->best_score = w->value;
    char sv[SMX_PYREPR_MAX], iv[24];
    smx_pyrepr(w->value, sv);
    snprintf(iv, sizeof iv, "%d", it);
    int rc = compat_booster_set_attr(s->b, "best_score", sv, err);
    if (!rc)
        rc = compat_booster_set_attr(s->b, "best_iteration", iv, err);
    return rc;
}

/* The rounds: update, evaluate the watchlist, report, and stop early when told to. */
static int boost(session *s, const train_opts *o, train_result *r, smx_err *err)
{
    static const char *const names[2] = {"train", "validation"};
    early_stop es = {.maximize = -1};
    train_eval_metric m[32];
    char *ev = NULL;
    int rc = SMX_OK;
    for (int it = 0; it < (int)s->num_round; it++) {
        if ((rc = compat_booster_update(s->b, it, s->dtrain, err)))
            break;
        r->rounds = it + 1;
        free(ev);
        ev = NULL;
        if ((rc = compat_booster_eval(s->b, it, s->cache, names, s->nev, &ev, err)))
            break;
        size_t nm = parse_eval(ev, m, sizeof m / sizeof m[0]);
        int stop = o->on_round ? o->on_round(o->ctx, it, (int)s->num_round, m, nm) : 0;
        if (s->esr > 0 && nm > 0 && (rc = watch(s, &es, it, &m[nm - 1], r, &stop, err)))
            break;
        if (stop)
            break;
    }
    free(ev);
    return rc;
}

/*
 * What xgb.train stores after training: with early stopping best_score and best_iteration
 * (the callback), plus best_ntree_limit up to XGBoost 1.7 (2.0 dropped it). XGBoost 1.6/1.7
 * also store best_iteration = last round and best_ntree_limit without early stopping
 * (CallbackContainer.after_training); 1.5 and older kept those on the Python object only.
 */
static int store_best(session *s, train_result *r, smx_err *err)
{
    int stores_always = s->c->xgboost.major == 1 && s->c->xgboost.minor >= 6;
    int best_it = r->best_iteration;
    char v[24];
    int rc;
    if (best_it < 0 && stores_always) {
        best_it = r->rounds - 1;
        snprintf(v, sizeof v, "%d", best_it);
        if ((rc = compat_booster_set_attr(s->b, "best_iteration", v, err)))
            return rc;
    }
    if (best_it >= 0 && s->c->xgboost.major < 2) {
        r->best_ntree_limit = (int)((best_it + 1) * s->npt);
        snprintf(v, sizeof v, "%d", r->best_ntree_limit);
        if ((rc = compat_booster_set_attr(s->b, "best_ntree_limit", v, err)))
            return rc;
    }
    return SMX_OK;
}

/* xgb.train returns bst.copy(): a serialize/unserialize round trip that drops the training
 * state (the metrics attribute among it) before the model is saved. */
static int copy_booster(session *s, smx_err *err)
{
    void *snap = NULL;
    size_t slen = 0;
    compat_booster *fresh = NULL;
    int rc = compat_booster_serialize(s->b, &snap, &slen, err);
    if (rc)
        return rc;
    rc = compat_booster_unserialize(s->x, snap, slen, &fresh, err);
    free(snap);
    if (rc)
        return rc;
    compat_booster_free(s->b);
    s->b = fresh;
    return SMX_OK;
}

/* The saved model's predictions p2 against the trained booster's p1. */
static int compare(const compat_pred *p1, const compat_pred *p2, train_result *r, smx_err *err)
{
    if (p1->rows != p2->rows || p1->cols != p2->cols)
        return smx_fail(err, SMX_ERUNTIME,
                        "the saved model predicts a different shape (%llux%llu vs %llux%llu)",
                        (unsigned long long)p2->rows, (unsigned long long)p2->cols,
                        (unsigned long long)p1->rows, (unsigned long long)p1->cols);
    r->compared_rows = (int)p1->rows;
    for (uint64_t i = 0; i < p1->rows * p1->cols; i++) {
        float a = p1->values[i], b = p2->values[i], dd = fabsf(a - b);
        if (dd > r->max_abs_diff || (isnan(dd) && !(isnan(a) && isnan(b))))
            r->max_abs_diff = isnan(dd) ? INFINITY : dd;
    }
    return SMX_OK;
}

/* Save in the format that container's training writes, load those bytes back and predict the
 * check rows with both boosters. */
static int save_and_compare(session *s, train_result *r, smx_err *err)
{
    compat_version v21 = {2, 1, 0};
    r->format = compat_version_cmp(s->c->xgboost, v21) >= 0 ? "ubj" : "deprecated";
    void *bytes = NULL;
    size_t blen = 0;
    int rc = compat_booster_save(s->b, r->format, &bytes, &blen, err);
    if (rc)
        return rc;
    r->model = bytes;
    r->model_len = blen;
    compat_booster *loaded = NULL;
    if ((rc = compat_booster_load_buffer(s->x, bytes, blen, &loaded, err))) {
        char why[SMX_ERRMAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return smx_fail(err, rc, "the model just written does not load back: %s", why);
    }
    compat_pred p1 = {0}, p2 = {0};
    compat_predict_opts po = {.iteration_end = 0, .margin = 0, .missing = NAN};
    if (!(rc = compat_booster_predict_dmatrix(s->b, s->dcheck, &po, &p1, err)) &&
        !(rc = compat_booster_predict_dmatrix(loaded, s->dcheck, &po, &p2, err)))
        rc = compare(&p1, &p2, r, err);
    compat_pred_free(&p1);
    compat_pred_free(&p2);
    compat_booster_free(loaded);
    return rc;
}

int train_run(compat_xgb *x, const train_opts *o, train_data *train, train_data *val,
              train_result *r, smx_err *err)
{
    memset(r, 0, sizeof *r);
    r->best_iteration = -1;
    session s = {.x = x, .c = o->container, .hp = o->hyperparameters, .nhp = o->n_hyperparameters};
    int rc = train_validate(s.c, compat_xgb_version(x), s.hp, s.nhp, err);
    if (!rc)
        rc = settle(&s, train, val, r, err);
    if (!rc)
        rc = make_matrices(&s, o->check_rows, train, val, err);
    if (!rc)
        rc = make_booster(&s, err);
    if (!rc)
        rc = boost(&s, o, r, err);
    if (!rc)
        rc = store_best(&s, r, err);
    if (!rc)
        rc = copy_booster(&s, err);
    if (!rc)
        rc = save_and_compare(&s, r, err);
    session_free(&s);
    if (rc)
        train_result_free(r);
    return rc;
}

void train_result_free(train_result *r)
{
    free(r->model);
    r->model = NULL;
    r->model_len = 0;
}
