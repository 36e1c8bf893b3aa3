/*
 * libFuzzer target: the tree evaluator against XGBoost itself. The input is turned into a
 * random XGBoost 1.7 JSON model (gbtree or dart; 1 to 6 trees of depth up to 5 on 1 to 6
 * features; numeric splits with thresholds drawn from the input, +-0, subnormals and huge
 * values; categorical splits with small, repeated or large categories; any default
 * directions; leaves large enough to overflow; one of the objectives with a transform; a
 * base_score; an iteration range) and rows (thresholds, one ulp either side, NaN, +-inf, input
 * floats, categories). Both XGBoost (the runtime, dlopen) and the readers load the model; when
 * the evaluator builds, its outputs on those rows, dense and as CSR, must equal XGBoost's bit
 * for bit, and its proof must pass: anything else aborts. A model XGBoost refuses, or the
 * evaluator refuses, is skipped.
 */
#include "compat/compat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static compat_xgb *xgb;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    smx_err err = {0};
    if (compat_xgb_open(NULL, &xgb, &err)) {
        fprintf(stderr, "fuzz_eval: no XGBoost: %s\n", err.msg);
        abort();
    }
    return 0;
}

/* The input as a stream of choices; zeros once it runs out. */
typedef struct src {
    const uint8_t *p, *end;
} src;

static unsigned take(src *s, unsigned n)
{
    unsigned v = s->p < s->end ? *s->p++ : 0;
    return n ? v % n : v;
}

static float take_float(src *s)
{
    static const float special[] = {0.0f,    -0.0f, 0.5f,   1.0f,  -1.0f, 1e-45f,
                                    -1e-45f, 1e30f, -1e30f, 3.0f,  0.1f,  16777216.0f,
                                    2.5f,    -2.5f, 1e-38f, 100.0f};
    unsigned k = take(s, 4);
    if (k < 2)
        return special[take(s, 16)];
    uint32_t b = 0;
    for (int i = 0; i < 4; i++)
        b = b << 8 | take(s, 0);
    float f;
    memcpy(&f, &b, sizeof f);
    if (k == 2 && isfinite(f))
        return f;
    return (float)((int)take(s, 0) - 128) / 16.0f;
}

typedef struct gen {
    smx_buf j;
    float thr[64]; /* thresholds used, for the rows */
    size_t n_thr;
    int nf, cat_feature; /* cat_feature: -1 none */
} gen;

/* One tree, nodes in breadth-first order: each node a split until depth, or a leaf. */
static void gen_tree(src *s, gen *g, int id)
{
    int kind[63], n = 1, depth[63] = {0};
    int left[63], right[63];
    for (int i = 0; i < n; i++) {
        int split = depth[i] < 5 && n + 2 <= 63 && take(s, 3) != 0;
        kind[i] = split;
        left[i] = right[i] = -1;
        if (split) {
            left[i] = n, right[i] = n + 1;
            depth[n] = depth[n + 1] = depth[i] + 1;
            n += 2;
        }
    }
    smx_buf *j = &g->j;
    smx_buf cats = SMX_BUF_INIT, seg = SMX_BUF_INIT, sizes = SMX_BUF_INIT, cnodes = SMX_BUF_INIT;
    smx_buf li = SMX_BUF_INIT, ri = SMX_BUF_INIT, si = SMX_BUF_INIT, sc = SMX_BUF_INIT,
            dl = SMX_BUF_INIT, st = SMX_BUF_INIT, zero = SMX_BUF_INIT, par = SMX_BUF_INIT;
    size_t ncats = 0;
    for (int i = 0; i < n; i++) {
        const char *c = i ? "," : "";
        int f = (int)take(s, (unsigned)g->nf), cat = 0;
        float v = take_float(s);
        if (kind[i] && f == g->cat_feature) {
            cat = 1;
            int k = 1 + (int)take(s, 4);
            smx_buf_printf(&cnodes, "%s%d", cnodes.len ? "," : "", i);
            smx_buf_printf(&seg, "%s%zu", seg.len ? "," : "", ncats);
            smx_buf_printf(&sizes, "%s%d", sizes.len ? "," : "", k);
            for (int q = 0; q < k; q++, ncats++)
                smx_buf_printf(&cats, "%s%u", ncats ? "," : "",
                               take(s, 4) ? take(s, 12) : take(s, 0) * 997u);
            v = 0.0f;
        } else if (kind[i] && g->n_thr < 64) {
            g->thr[g->n_thr++] = v;
        } else if (!kind[i] && take(s, 16) == 0) {
            v = take(s, 2) ? 3e38f : -3e38f; /* sums overflow to +-inf, inf - inf is NaN */
        }
        smx_buf_printf(&li, "%s%d", c, left[i]);
        smx_buf_printf(&ri, "%s%d", c, right[i]);
        smx_buf_printf(&si, "%s%d", c, kind[i] ? f : 0);
        smx_buf_printf(&sc, "%s%.8e", c, (double)v); /* a Number for XGBoost */
        smx_buf_printf(&dl, "%s%u", c, take(s, 2));
        smx_buf_printf(&st, "%s%d", c, cat);
        smx_buf_printf(&zero, "%s0E0", c);
        smx_buf_printf(&par, "%s%d", c, i ? (i - 1) / 2 : 2147483647);
    }
    smx_buf_printf(j,
                   "%s{\"base_weights\":[%s],\"categories\":[%s],\"categories_nodes\":[%s],"
                   "\"categories_segments\":[%s],\"categories_sizes\":[%s],\"default_left\":[%s],"
                   "\"id\":%d,\"left_children\":[%s],\"loss_changes\":[%s],\"parents\":[%s],"
                   "\"right_children\":[%s],\"split_conditions\":[%s],\"split_indices\":[%s],"
                   "\"split_type\":[%s],\"sum_hessian\":[%s],\"tree_param\":{\"num_deleted\":"
                   "\"0\",\"num_feature\":\"%d\",\"num_nodes\":\"%d\",\"size_leaf_vector\":"
                   "\"0\"}}",
                   id ? "," : "", zero.data, cats.data ? cats.data : "",
                   cnodes.data ? cnodes.data : "", seg.data ? seg.data : "",
                   sizes.data ? sizes.data : "", dl.data, id, li.data, zero.data, par.data, ri.data,
                   sc.data, si.data, st.data, zero.data, g->nf, n);
    smx_buf *all[] = {&cats, &seg, &sizes, &cnodes, &li, &ri, &si, &sc, &dl, &st, &zero, &par};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        smx_buf_free(all[i]);
}

static const char *const objectives[] = {"reg:squarederror", "binary:logistic", "binary:logitraw",
                                         "count:poisson",    "binary:hinge",    "multi:softprob",
                                         "multi:softmax",    "reg:gamma"};

/* The whole model; *groups its outputs per row. */
static void gen_model(src *s, gen *g, int *groups, int *ntrees)
{
    g->nf = 1 + (int)take(s, 6);
    g->cat_feature = take(s, 3) == 0 ? (int)take(s, (unsigned)g->nf) : -1;
    const char *obj = objectives[take(s, 8)];
    int multi = !strncmp(obj, "multi:", 6), dart = take(s, 3) == 0;
    *groups = multi ? 2 + (int)take(s, 3) : 1;
    int rounds = 1 + (int)take(s, 3);
    *ntrees = rounds * *groups;
    static const char *const base[] = {"5E-1", "2.5E-1", "9.9E-1", "1E-3", "7.3E-1"};
    smx_buf *j = &g->j;
    smx_buf_printf(j, "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
                      "\"gradient_booster\":{");
    if (dart)
        smx_buf_printf(j, "\"gbtree\":{");
    smx_buf_printf(j,
                   "\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\",\"num_trees\":"
                   "\"%d\",\"size_leaf_vector\":\"0\"},\"tree_info\":[",
                   *ntrees);
    for (int t = 0; t < *ntrees; t++)
        smx_buf_printf(j, "%s%d", t ? "," : "", t % *groups);
    smx_buf_printf(j, "],\"trees\":[");
    for (int t = 0; t < *ntrees; t++)
        gen_tree(s, g, t);
    smx_buf_printf(j, "]},\"name\":\"gbtree\"}");
    if (dart) {
        smx_buf_printf(j, ",\"name\":\"dart\",\"weight_drop\":[");
        for (int t = 0; t < *ntrees; t++)
            smx_buf_printf(j, "%s%.8e", t ? "," : "", (double)(take(s, 2) ? 1.0f : take_float(s)));
        smx_buf_printf(j, "]}");
    }
    smx_buf_printf(j,
                   ",\"learner_model_param\":{\"base_score\":\"%s\",\"boost_from_average\":\"1\","
                   "\"num_class\":\"%d\",\"num_feature\":\"%d\",\"num_target\":\"1\"},"
                   "\"objective\":{\"name\":\"%s\"",
                   base[take(s, 5)], multi ? *groups : 0, g->nf, obj);
    /* the objective's parameters, as XGBoost 1.7 saves them */
    if (multi)
        smx_buf_printf(j, ",\"softmax_multiclass_param\":{\"num_class\":\"%d\"}", *groups);
    else if (!strcmp(obj, "count:poisson"))
        smx_buf_printf(j, ",\"poisson_regression_param\":{\"max_delta_step\":\"0.7\"}");
    else if (strcmp(obj, "binary:hinge") && strcmp(obj, "reg:gamma"))
        smx_buf_printf(j, ",\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}");
    smx_buf_printf(j, "}},\"version\":[1,7,4]}");
}

/* Row values: the model's thresholds and their neighbours, categories, NaN, +-inf, input. */
static float row_value(src *s, const gen *g, int f)
{
    unsigned k = take(s, 8);
    if (f == g->cat_feature && k < 3)
        return (float)take(s, 14) - (k == 0 ? 0.5f : 0.0f);
    if (k < 4 && g->n_thr) {
        float t = g->thr[take(s, (unsigned)g->n_thr)];
        return k == 0   ? t
               : k == 1 ? nextafterf(t, -INFINITY)
               : k == 2 ? nextafterf(t, INFINITY)
                        : -t;
    }
    if (k == 4)
        return NAN;
    if (k == 5)
        return take(s, 2) ? INFINITY : -INFINITY;
    return take_float(s);
}

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

static void differ(const char *what, size_t i, float a, float b)
{
    fprintf(stderr, "fuzz_eval: %s differs at %zu: XGBoost %a, evaluator %a\n", what, i, (double)a,
            (double)b);
    abort();
}

/* Dense and CSR rows through both; every bit equal. */
static void compare_rows(src *s, const gen *g, compat_booster *b, const compat_eval *e,
                         const compat_predict_opts *po)
{
    size_t nrow = 1 + take(s, 20), nf = (size_t)g->nf, w = compat_eval_width(e);
    float X[21 * 6], ours[21 * 8], work[64 * 6], vals[21 * 6];
    size_t indptr[22], nnz = 0;
    uint32_t idx[21 * 6];
    indptr[0] = 0;
    for (size_t r = 0; r < nrow; r++) {
        for (size_t f = 0; f < nf; f++) {
            X[r * nf + f] = row_value(s, g, (int)f);
            if (!isnan(X[r * nf + f]) || take(s, 4) == 0) {
                idx[nnz] = (uint32_t)f;
                vals[nnz++] = X[r * nf + f];
            }
        }
        indptr[r + 1] = nnz;
    }
    const float *theirs;
    uint64_t shape[2];
    smx_err err = {0};
    if (compat_booster_predict_dense(b, X, nrow, nf, po, &theirs, shape, &err))
        return; /* XGBoost refuses the rows */
    if (shape[0] * shape[1] != nrow * w)
        differ("the shape", (size_t)(shape[0] * shape[1]), 0, (float)(nrow * w));
    compat_eval_dense(e, X, nrow, nf, ours);
    for (size_t i = 0; i < nrow * w; i++)
        if (memcmp(&theirs[i], &ours[i], sizeof *ours))
            differ("a dense row", i, theirs[i], ours[i]);
    if (compat_eval_csr_work(e) > sizeof work / sizeof *work)
        return;
    for (size_t i = 0; i < compat_eval_csr_work(e); i++)
        work[i] = NAN;
    if (compat_booster_predict_csr(b, indptr, idx, vals, nrow, nf, po, &theirs, shape, &err) ||
        compat_eval_csr(e, indptr, idx, vals, nrow, work, ours))
        return;
    for (size_t i = 0; i < nrow * w; i++)
        if (memcmp(&theirs[i], &ours[i], sizeof *ours))
            differ("a CSR row", i, theirs[i], ours[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src s = {data, data + size};
    gen g = {SMX_BUF_INIT, {0}, 0, 0, -1};
    int groups, ntrees;
    gen_model(&s, &g, &groups, &ntrees);
    smx_err err = {0};
    compat_booster *b = NULL;
    compat_model_info *m = NULL;
    compat_eval *e = NULL;
    int iteration_end = (int)take(&s, (unsigned)(ntrees / groups + 1));
    compat_eval_opts eo = {compat_xgb_version(xgb), iteration_end, (int)take(&s, 4) == 0,
                           COMPAT_EVAL_INPLACE};
    if (compat_booster_load_buffer(xgb, g.j.data, g.j.len, &b, &err) ||
        compat_booster_set_param(b, "nthread", "1", &err) ||
        compat_identify(g.j.data, g.j.len, "fuzz.json", &m, &err) ||
        compat_eval_new(m, &eo, &e, &err))
        goto out;
    oracle_ctx oc = {b, {iteration_end, eo.margin, NAN}};
    compare_rows(&s, &g, b, e, &oc.po);
    compat_eval_proof pf;
    if (compat_eval_prove(e, oracle, &oc, &pf, &err))
        abort();
    if (!pf.proven && !strstr(pf.why, "refused")) {
        fprintf(stderr, "fuzz_eval: the proof failed: %s\n", pf.why);
        abort();
    }
out:
    compat_eval_free(e);
    compat_model_info_free(m);
    compat_booster_free(b);
    smx_buf_free(&g.j);
    return 0;
}
