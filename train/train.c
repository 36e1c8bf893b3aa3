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

int train_run(compat_xgb *x, const train_opts *o, train_data *train, train_data *val,
              train_result *r, smx_err *err)
{
    memset(r, 0, sizeof *r);
    r->best_iteration = -1;
    const compat_container *c = o->container;
    compat_version xv = compat_xgb_version(x);
    int rc = train_validate(c, xv, o->hyperparameters, o->n_hyperparameters, err);
    if (rc)
        return rc;
    const compat_kv *hp = o->hyperparameters;
    size_t nhp = o->n_hyperparameters;
    long long num_round = 0, esr = 0, npt = 1;
    hp_parse_int(hp_get(hp, nhp, "num_round"), &num_round);
    const char *s;
    if ((s = hp_get(hp, nhp, "early_stopping_rounds")))
        hp_parse_int(s, &esr);
    if ((s = hp_get(hp, nhp, "num_parallel_tree")))
        hp_parse_int(s, &npt);
    if (!train || !train->nrow)
        return smx_fail(err, SMX_EINVAL, "the train channel has no rows");
    if (val && val->format != train->format)
        return smx_fail(err, SMX_EINVAL, "the train channel is %s but validation is %s",
                        train_data_format_name(train->format), train_data_format_name(val->format));
    if (val && train->format == TRAIN_DATA_CSV && val->ncol != train->ncol)
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
            hp_parse_int(s, &mb);
        qbins = mb > 1 ? (int)mb : 0;
    }
    if ((rc = to_dmatrix(x, train, ncol, qbins, &dtrain, err)))
        goto out;
    train_data_free_features(train); /* XGBoost has its own copy now */
    if (val) {
        if ((rc = to_dmatrix(x, val, ncol, 0, &dval, err)))
            goto out;
        train_data_free_features(val);
    }
    compat_dmatrix *cache[2] = {dtrain, dval};
    const char *names[2] = {"train", "validation"};
    size_t nev = val ? 2 : 1;
    if ((rc = compat_booster_create(x, cache, nev, &b, err)))
        goto out;
    if ((rc = compat_booster_set_param(b, "validate_parameters", "1", err)))
        goto out;
    if ((rc = hp_set_params(b, c, hp, nhp, err)))
        goto out;

    double best = 0;
    int stagnant = 0, maximize = -1;
    train_eval_metric m[32];
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
            const train_eval_metric *w = &m[nm - 1]; /* last metric of the last set */
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

void train_result_free(train_result *r)
{
    free(r->model);
    r->model = NULL;
    r->model_len = 0;
}
