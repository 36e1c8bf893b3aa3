/*
 * smxgb train end to end: early stopping attributes, the container's model format, predictions
 * of the packaged model against a booster trained in-process, determinism of the artifact, the
 * errors a user sees, training with a wheel's libxgboost, a verdict that fails the command, and
 * byte equality with Debian's python3-xgboost xgb.train where it is installed.
 */
#include "helpers.h"

#include "train/train.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static void setup(void)
{
    dir = th_tmpdir();
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}
TestSuite(cli_train, .init = setup, .fini = teardown);

/* A small binary classification set: y depends on x0 + x1, with noise. */
static void write_data(const char *path, int rows, unsigned seed)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    unsigned s = seed;
    for (int i = 0; i < rows; i++) {
        float x[4];
        for (int j = 0; j < 4; j++) {
            s = s * 1103515245u + 12345u;
            x[j] = (float)((s >> 8) % 10000) / 10000.0f;
        }
        s = s * 1103515245u + 12345u;
        float noise = (float)((s >> 8) % 1000) / 1000.0f - 0.5f;
        int y = x[0] + 0.7f * x[1] + 0.6f * noise > 0.9f;
        fprintf(f, "%d,%.4f,%.4f,%.4f,%.4f\n", y, x[0], x[1], x[2], x[3]);
    }
    fclose(f);
}

/* Extract xgboost-model from an artifact into dir/name. */
static void extract_model(const char *artifact, const char *name)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s.d' && tar -xzf '%s' -C '%s/%s.d' xgboost-model", dir,
             name, artifact, dir, name);
    cr_assert_eq(th_run(cmd, NULL), 0, "%s", cmd);
}

static const char *model_path(const char *name)
{
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s.d/xgboost-model", dir, name);
    return p;
}

/* Train in-process with the low-level wrappers, as xgb.train would. */
static compat_booster *train_in_process(compat_xgb *x, const char *csv, int rounds)
{
    train_data d = {0};
    train_data_opts o = {0};
    smx_err err = {0};
    cr_assert_eq(train_data_load(csv, &o, &d, &err), SMX_OK, "%s", err.msg);
    compat_dmatrix *m;
    cr_assert_eq(compat_dmatrix_from_dense(x, d.X, d.nrow, d.ncol, NAN, 0, &m, &err), SMX_OK);
    cr_assert_eq(compat_dmatrix_set_float_info(m, "label", d.labels, d.nrow, &err), SMX_OK);
    compat_booster *b;
    cr_assert_eq(compat_booster_create(x, &m, 1, &b, &err), SMX_OK, "%s", err.msg);
    compat_booster_set_param(b, "objective", "binary:logistic", &err);
    compat_booster_set_param(b, "max_depth", "3", &err);
    compat_booster_set_param(b, "seed", "3", &err);
    compat_booster_set_param(b, "subsample", "0.8", &err);
    for (int i = 0; i < rounds; i++)
        cr_assert_eq(compat_booster_update(b, i, m, &err), SMX_OK, "%s", err.msg);
    compat_dmatrix_free(m);
    train_data_free(&d);
    return b;
}

static void predict_all(compat_xgb *x, compat_booster *b, const char *csv, compat_pred *out)
{
    train_data d = {0};
    train_data_opts o = {0};
    smx_err err = {0};
    cr_assert_eq(train_data_load(csv, &o, &d, &err), SMX_OK, "%s", err.msg);
    compat_dmatrix *m;
    cr_assert_eq(compat_dmatrix_from_dense(x, d.X, d.nrow, d.ncol, NAN, 0, &m, &err), SMX_OK);
    compat_predict_opts po = {.missing = NAN};
    cr_assert_eq(compat_booster_predict_dmatrix(b, m, &po, out, &err), SMX_OK, "%s", err.msg);
    compat_dmatrix_free(m);
    train_data_free(&d);
}

static void trains_loads_and_predicts_identically(const char *tag, const char *magic, size_t ml)
{
    char *train = strdup(th_path(dir, "train.csv"));
    write_data(train, 1500, 1);
    char *art = strdup(th_path(dir, "model.tar.gz"));
    char *out = NULL;
    int rc = th_smxgb(&out,
                      "train --train '%s' --container %s -p num_round=15 -p max_depth=3 -p "
                      "objective=binary:logistic -p seed=3 -p subsample=0.8 -o '%s' 2>&1",
                      train, tag, art);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "[14]\ttrain-logloss:"), "one XGBoost evaluation line per round: %s",
              out);
    free(out);

    /* verify for that container says ok (exit 0, no errors) */
    rc = th_smxgb(&out, "verify --json --container %s '%s'", tag, art);
    json_t *rep = th_json(out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(json_is_true(json_object_get(rep, "ok")), "%s", out);
    json_t *c0 = json_array_get(json_object_get(rep, "containers"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(c0, "container")), tag);
    cr_assert_str_eq(json_string_value(json_object_get(c0, "verdict")), "ok", "%s", out);
    json_decref(rep);
    free(out);

    /* the container's format, and the same predictions as a booster trained in-process */
    extract_model(art, tag);
    size_t n;
    char *bytes = th_read(model_path(tag), &n);
    cr_assert(n > ml && !memcmp(bytes, magic, ml), "%s: wrong model format", tag);
    free(bytes);
    compat_xgb *x;
    smx_err err = {0};
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK, "%s", err.msg);
    compat_booster *loaded, *mem = train_in_process(x, train, 15);
    cr_assert_eq(compat_booster_load_file(x, model_path(tag), &loaded, &err), SMX_OK, "%s",
                 err.msg);
    compat_pred a, b;
    predict_all(x, mem, train, &a);
    predict_all(x, loaded, train, &b);
    cr_assert_eq(a.rows, 1500);
    cr_assert_eq(a.rows, b.rows);
    cr_assert_eq(memcmp(a.values, b.values, a.rows * a.cols * sizeof(float)), 0,
                 "the packaged model predicts differently from the in-process booster");
    compat_pred_free(&a);
    compat_pred_free(&b);
    compat_booster_free(loaded);
    compat_booster_free(mem);
    compat_xgb_close(x);
    free(train);
    free(art);
}

Test(cli_train, for_1_5_1_legacy_binary_verified_and_identical)
{
    trains_loads_and_predicts_identically("1.5-1", "binf", 4);
}

Test(cli_train, for_3_0_5_ubjson_verified_and_identical)
{
    trains_loads_and_predicts_identically("3.0-5", "{L\0\0\0\0\0\0\0\x07learner", 17);
}

static char *attr_of(const char *model, const char *key)
{
    compat_xgb *x;
    smx_err err = {0};
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK);
    compat_booster *b;
    cr_assert_eq(compat_booster_load_file(x, model, &b, &err), SMX_OK, "%s", err.msg);
    char *v = NULL;
    compat_booster_attr(b, key, &v, &err);
    compat_booster_free(b);
    compat_xgb_close(x);
    return v;
}

Test(cli_train, early_stopping_stores_best_iteration_and_best_ntree_limit)
{
    char *train = strdup(th_path(dir, "train.csv"));
    char *val = strdup(th_path(dir, "val.csv"));
    write_data(train, 800, 1);
    write_data(val, 300, 99);
    const char *tags[] = {"1.7-1", "3.0-5"};
    for (int t = 0; t < 2; t++) {
        char art[1024];
        snprintf(art, sizeof art, "%s/es-%s.tar.gz", dir, tags[t]);
        char *out = NULL;
        int rc = th_smxgb(&out,
                          "train --train '%s' --validation '%s' --container %s -p num_round=300 "
                          "-p eta=0.5 -p max_depth=6 -p objective=binary:logistic -p "
                          "eval_metric=logloss -p early_stopping_rounds=5 -o '%s' 2>&1",
                          train, val, tags[t], art);
        cr_assert_eq(rc, 0, "%s", out);
        /* find the best round from the printed validation-logloss lines */
        int best = -1, last = -1;
        double bestv = 1e300;
        for (char *p = out; (p = strstr(p, "validation-logloss:")); p++) {
            double v = strtod(p + strlen("validation-logloss:"), NULL);
            last++;
            if (v < bestv) {
                bestv = v;
                best = last;
            }
        }
        cr_assert(last >= 0 && last < 299, "training stopped early: %d rounds", last + 1);
        cr_assert_eq(last, best + 5, "stops 5 rounds after the best");
        extract_model(art, tags[t]);
        char *bi = attr_of(model_path(tags[t]), "best_iteration");
        char *bn = attr_of(model_path(tags[t]), "best_ntree_limit");
        char *bs = attr_of(model_path(tags[t]), "best_score");
        cr_assert_not_null(bi);
        cr_assert_eq(atoi(bi), best, "best_iteration %s, printed best %d", bi, best);
        cr_assert_not_null(bs);
        cr_assert(fabs(strtod(bs, NULL) - bestv) < 1e-5, "best_score %s vs %.5f", bs, bestv);
        if (t == 0) {
            cr_assert_not_null(bn, "1.7-1 (xgb.train 1.7) stores best_ntree_limit");
            cr_assert_eq(atoi(bn), best + 1);
        } else {
            cr_assert_null(bn, "XGBoost 3.x training does not store best_ntree_limit");
        }
        free(bi);
        free(bn);
        free(bs);
        free(out);
    }
    free(train);
    free(val);
}

Test(cli_train, same_input_and_seed_give_the_same_artifact_bytes)
{
    char *train = strdup(th_path(dir, "train.csv"));
    write_data(train, 1000, 5);
    char *a = strdup(th_path(dir, "a.tar.gz")), *b = strdup(th_path(dir, "b.tar.gz"));
    const char *args = "-p num_round=10 -p subsample=0.7 -p colsample_bytree=0.8 -p seed=11 "
                       "-p tree_method=hist --container 1.7-1 -q";
    cr_assert_eq(th_smxgb(NULL, "train --train '%s' %s -o '%s'", train, args, a), 0);
    cr_assert_eq(th_smxgb(NULL, "train --train '%s' %s -o '%s'", train, args, b), 0);
    size_t na, nb;
    char *da = th_read(a, &na), *db = th_read(b, &nb);
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(da, db, na), 0, "two runs gave different artifacts");
    free(da);
    free(db);
    free(train);
    free(a);
    free(b);
}

Test(cli_train, cli_reports_data_and_hyperparameter_errors)
{
    char *csv = strdup(th_path(dir, "h.csv"));
    th_write(csv, "label,f1\n1,2\n", 14);
    char *out = NULL;
    int rc = th_smxgb(&out, "train --train '%s' -c 1.7-1 -p num_round=2 -o '%s/x.tar.gz' 2>&1", csv,
                      dir);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "line 1 looks like a header"), "%s", out);
    cr_assert(access(th_path(dir, "x.tar.gz"), F_OK) != 0, "no artifact on failure");
    free(out);

    char *hp = strdup(th_path(dir, "hyperparameters.json"));
    const char *j = "{\"num_round\": \"5\", \"objective\": \"reg:absoluteerror\"}";
    th_write(hp, j, strlen(j));
    th_write(csv, "1,2\n0,3\n", 8);
    rc = th_smxgb(&out, "train --train '%s' -c 1.5-1 --hyperparameters '%s' -o '%s/x.tar.gz' 2>&1",
                  csv, hp, dir);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "reg:absoluteerror' needs XGBoost 1.7"), "%s", out);
    free(out);

    j = "{\"num_round\": 5}";
    th_write(hp, j, strlen(j));
    rc = th_smxgb(&out, "train --train '%s' -c 1.7-1 --hyperparameters '%s' -o '%s/x.tar.gz' 2>&1",
                  csv, hp, dir);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "writes every hyperparameter value as a string"), "%s", out);
    free(out);
    free(csv);
    free(hp);
}

/* Byte equality with what Debian's python3-xgboost writes from xgb.train + save_raw, with the
 * default tree method (DMatrix) and with hist (smxgb trains from a QuantileDMatrix there). */
static void same_bytes_as_python(const char *tree_method)
{
    if (th_run("/usr/bin/python3 -c 'import xgboost, numpy' 2>/dev/null", NULL) != 0)
        cr_skip_test("/usr/bin/python3 has no xgboost (scripts/setup.sh installs it)");
    char *train = strdup(th_path(dir, "train.csv"));
    char *val = strdup(th_path(dir, "val.csv"));
    write_data(train, 600, 2);
    write_data(val, 200, 4);
    char *art = strdup(th_path(dir, "m.tar.gz"));
    cr_assert_eq(th_smxgb(NULL,
                          "train --train '%s' --validation '%s' -c 1.7-1 -p num_round=40 -p "
                          "objective=binary:logistic -p eval_metric=auc,logloss -p "
                          "early_stopping_rounds=3 -p max_depth=4 -p tree_method=%s -q -o '%s'",
                          train, val, tree_method, art),
                 0);
    extract_model(art, "py");
    char script[4096];
    snprintf(
        script, sizeof script,
        "/usr/bin/python3 -c \"\n"
        "import numpy as np, xgboost as xgb\n"
        "t = np.loadtxt('%s', delimiter=',', dtype=np.float32)\n"
        "v = np.loadtxt('%s', delimiter=',', dtype=np.float32)\n"
        "dt = xgb.DMatrix(t[:, 1:], label=t[:, 0]); dv = xgb.DMatrix(v[:, 1:], label=v[:, 0])\n"
        "b = xgb.train({'objective': 'binary:logistic', 'eval_metric': ['auc', 'logloss'], "
        "'max_depth': 4, 'tree_method': '%s'}, dt, 40, evals=[(dt, 'train'), (dv, "
        "'validation')], early_stopping_rounds=3, verbose_eval=False)\n"
        "open('%s/py.bin', 'wb').write(b.save_raw('deprecated'))\n\"",
        train, val, tree_method, dir);
    cr_assert_eq(th_run(script, NULL), 0);
    size_t n1, n2;
    char *ours = th_read(model_path("py"), &n1);
    char *theirs = th_read(th_path(dir, "py.bin"), &n2);
    cr_assert_eq(n1, n2, "model sizes differ: %zu vs %zu", n1, n2);
    cr_assert_eq(memcmp(ours, theirs, n1), 0, "smxgb train and xgb.train wrote different bytes");
    free(ours);
    free(theirs);
    free(train);
    free(val);
    free(art);
}

Test(cli_train, same_bytes_as_python_xgb_train)
{
    same_bytes_as_python("auto");
}
Test(cli_train, same_bytes_as_python_xgb_train_hist)
{
    same_bytes_as_python("hist");
}

Test(cli_train, trains_with_the_libxgboost_of_a_wheel)
{
    /* a wheel laid out as pip's: xgboost/lib/libxgboost.so (here Debian's library) */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import zipfile, sys\n"
             "z = zipfile.ZipFile('%s/xgb.whl', 'w', zipfile.ZIP_DEFLATED)\n"
             "z.write('%s', 'xgboost/lib/libxgboost.so')\n"
             "z.writestr('../outside', 'x')\n"
             "z.close()\n"
             "z = zipfile.ZipFile('%s/nolib.whl', 'w'); z.writestr('xgboost/core.py', ''); "
             "z.close()\"",
             dir, "/usr/lib/x86_64-linux-gnu/libxgboost.so.0", dir);
    cr_assert_eq(th_run(cmd, NULL), 0, "%s", cmd);
    char *train = strdup(th_path(dir, "train.csv"));
    write_data(train, 300, 8);
    char *out = NULL;
    /* TMPDIR and the cache in dir: the wheel is unpacked under dir, so a '..' entry would land
     * in dir */
    snprintf(cmd, sizeof cmd,
             "TMPDIR='%s' XDG_CACHE_HOME='%s' %s train --train '%s' -c 1.7-1 -p num_round=3 "
             "--xgboost-wheel '%s/xgb.whl' --json -o '%s/w.tar.gz'",
             dir, dir, SMXGB_BIN, train, dir, dir);
    int rc = th_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s", out);
    json_t *j = th_json(out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "xgboost_version")), "1.7.4");
    cr_assert(strstr(json_string_value(json_object_get(j, "xgboost")), "xgb.whl"));
    cr_assert(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    free(out);
    cr_assert(access(th_path(dir, "outside"), F_OK) != 0, "a '..' entry is never extracted");

    rc = th_smxgb(&out,
                  "train --train '%s' -c 1.7-1 -p num_round=3 --xgboost-wheel '%s/nolib.whl' "
                  "-o '%s/w2.tar.gz' 2>&1",
                  train, dir, dir);
    cr_assert(access(th_path(dir, "smxgb/wheels"), F_OK) == 0,
              "the wheel's library is cached under $XDG_CACHE_HOME/smxgb");
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "has no xgboost/lib/libxgboost.so"), "%s", out);
    free(out);
    free(train);
}

Test(cli_train, a_verdict_other_than_ok_fails_train_and_removes_the_artifact)
{
    /* binary:logitraw from XGBoost >= 1.3.1 predicts shifted margins in 1.2-x containers */
    char *train = strdup(th_path(dir, "train.csv"));
    write_data(train, 300, 8);
    char *out = NULL;
    int rc = th_smxgb(&out,
                      "train --train '%s' -c 1.2-2 -p num_round=3 -p objective=binary:logitraw "
                      "-o '%s/lr.tar.gz' 2>&1",
                      train, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "fails verify for container 1.2-2"), "%s", out);
    cr_assert(strstr(out, "OBJ-LR-SHIFT"), "the verdict's rule is shown: %s", out);
    cr_assert(access(th_path(dir, "lr.tar.gz"), F_OK) != 0, "the artifact is removed");
    free(out);
    rc = th_smxgb(&out,
                  "train --train '%s' -c 1.3-1 -p num_round=3 -p objective=binary:logitraw "
                  "-o '%s/lr.tar.gz' -q 2>&1",
                  train, dir);
    cr_assert_eq(rc, 0, "1.3-1 reads 1.7 logitraw margins as written: %s", out);
    free(out);
    free(train);
}

/* csv_weights=1 and no early stopping (xgb.train 1.7 then stores best_iteration = last round
 * and best_ntree_limit anyway): the same bytes as xgb.train with DMatrix(weight=...). */
static void same_bytes_weighted(const char *tree_method)
{
    if (th_run("/usr/bin/python3 -c 'import xgboost, numpy' 2>/dev/null", NULL) != 0)
        cr_skip_test("/usr/bin/python3 has no xgboost (scripts/setup.sh installs it)");
    char *plain = strdup(th_path(dir, "plain.csv"));
    char *train = strdup(th_path(dir, "weighted.csv"));
    write_data(plain, 700, 6);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "awk -F, 'BEGIN { OFS = \",\" } { w = (NR %% 4 + 1) * 0.5; $1 = $1 \",\" w; print }' "
             "'%s' > '%s'",
             plain, train);
    cr_assert_eq(th_run(cmd, NULL), 0);
    char *art = strdup(th_path(dir, "w.tar.gz"));
    cr_assert_eq(th_smxgb(NULL,
                          "train --train '%s' -c 1.7-1 -p num_round=12 -p csv_weights=1 -p "
                          "objective=binary:logistic -p tree_method=%s -q -o '%s'",
                          train, tree_method, art),
                 0);
    extract_model(art, "w");
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"\n"
             "import numpy as np, xgboost as xgb\n"
             "t = np.loadtxt('%s', delimiter=',', dtype=np.float32)\n"
             "d = xgb.DMatrix(t[:, 2:], label=t[:, 0], weight=t[:, 1])\n"
             "b = xgb.train({'objective': 'binary:logistic', 'tree_method': '%s'}, d, 12, "
             "evals=[(d, 'train')], verbose_eval=False)\n"
             "open('%s/w.bin', 'wb').write(b.save_raw('deprecated'))\n\"",
             train, tree_method, dir);
    cr_assert_eq(th_run(cmd, NULL), 0);
    size_t n1, n2;
    char *ours = th_read(model_path("w"), &n1);
    char *theirs = th_read(th_path(dir, "w.bin"), &n2);
    cr_assert_eq(n1, n2, "model sizes differ: %zu vs %zu", n1, n2);
    cr_assert_eq(memcmp(ours, theirs, n1), 0, "smxgb train and xgb.train wrote different bytes");
    free(ours);
    free(theirs);
    free(plain);
    free(train);
    free(art);
}

Test(cli_train, same_bytes_as_python_weighted_hist)
{
    same_bytes_weighted("hist");
}
Test(cli_train, same_bytes_as_python_weighted_approx)
{
    same_bytes_weighted("approx");
}

/* LIBSVM: the same bytes as xgb.train on XGBoost's own loader (DMatrix('f?format=libsvm'),
 * what the 1.7-1 container's training uses); indexes kept as they are (1-based -> 7 columns). */
Test(cli_train, libsvm_same_bytes_as_python_xgb_train)
{
    if (th_run("/usr/bin/python3 -c 'import xgboost, numpy' 2>/dev/null", NULL) != 0)
        cr_skip_test("/usr/bin/python3 has no xgboost (scripts/setup.sh installs it)");
    char *train = strdup(th_path(dir, "train.libsvm"));
    FILE *f = fopen(train, "w");
    cr_assert_not_null(f);
    unsigned s = 77;
    for (int i = 0; i < 1200; i++) {
        float x[7] = {0};
        char line[256];
        size_t n = 0;
        for (int j = 1; j <= 6; j++) {
            s = s * 1103515245u + 12345u;
            if ((s >> 8) % 10 < 7) {
                s = s * 1103515245u + 12345u;
                x[j] = (float)((s >> 8) % 10000) / 10000.0f;
                n += (size_t)snprintf(line + n, sizeof line - n, " %d:%.4f", j, x[j]);
            }
        }
        fprintf(f, "%d%s\n", x[1] + 0.5f * x[2] > 0.7f, line);
    }
    fclose(f);
    char *art = strdup(th_path(dir, "l.tar.gz"));
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out,
                          "train --train '%s' -c 1.7-1 -p num_round=8 -p objective=binary:logistic "
                          "--json -o '%s'",
                          train, art),
                 0, "%s", out);
    json_t *j = th_json(out);
    cr_assert_eq(json_integer_value(json_object_get(j, "num_feature")), 7);
    json_decref(j);
    free(out);
    extract_model(art, "l");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"\n"
             "import xgboost as xgb\n"
             "d = xgb.DMatrix('%s?format=libsvm')\n"
             "b = xgb.train({'objective': 'binary:logistic'}, d, 8, evals=[(d, 'train')], "
             "verbose_eval=False)\n"
             "open('%s/l.bin', 'wb').write(b.save_raw('deprecated'))\n\" 2>/dev/null",
             train, dir);
    cr_assert_eq(th_run(cmd, NULL), 0);
    size_t n1, n2;
    char *ours = th_read(model_path("l"), &n1);
    char *theirs = th_read(th_path(dir, "l.bin"), &n2);
    cr_assert_eq(n1, n2, "model sizes differ: %zu vs %zu", n1, n2);
    cr_assert_eq(memcmp(ours, theirs, n1), 0, "smxgb train and xgb.train wrote different bytes");
    free(ours);
    free(theirs);
    free(train);
    free(art);
}
