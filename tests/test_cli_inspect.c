/*
 * End-to-end tests of `smxgb inspect`: bare model files of every kind, artifacts made with
 * GNU tar, truncated and foreign files, a model larger than --max-model-bytes (identified from
 * its head and tail), and the usage errors.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MODELS SMXGB_TESTDATA "/models"

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
TestSuite(cli_inspect, .init = setup, .fini = teardown);

static int inspect_json(const char *path, const char *extra, json_t **out)
{
    char *text = NULL;
    int rc = th_smxgb(&text, "inspect --json %s '%s'", extra ? extra : "", path);
    *out = th_json(text);
    free(text);
    return rc;
}

static json_t *model(json_t *r, size_t i)
{
    return json_array_get(json_object_get(r, "models"), i);
}
static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void copy(const char *from, const char *to)
{
    size_t n;
    char *b = th_read(from, &n);
    th_write(to, b, n);
    free(b);
}

Test(cli_inspect, bare_model_files)
{
    json_t *r;
    cr_assert_eq(inspect_json(MODELS "/1.7.4/binary_logistic.json", NULL, &r), 0);
    cr_assert_str_eq(str(r, "kind"), "model");
    json_t *m = model(r, 0);
    cr_assert_str_eq(str(m, "format"), "json");
    json_t *w = json_object_get(m, "writer");
    cr_assert(json_is_true(json_object_get(w, "exact")));
    cr_assert_str_eq(str(w, "min"), "1.7.4");
    cr_assert_str_eq(str(m, "objective"), "binary:logistic");
    cr_assert_eq(json_integer_value(json_object_get(m, "num_feature")), 6);
    cr_assert_eq(json_integer_value(json_object_get(m, "num_trees")), 10);
    cr_assert_str_eq(str(json_object_get(m, "base_score"), "stored"), "5E-1");
    json_decref(r);

    cr_assert_eq(inspect_json(MODELS "/3.0.5/categorical.ubj", NULL, &r), 0);
    m = model(r, 0);
    cr_assert_str_eq(str(m, "format"), "ubjson");
    cr_assert(json_is_true(json_object_get(json_object_get(m, "features"), "categorical_splits")));
    json_decref(r);

    cr_assert_eq(inspect_json(MODELS "/synth/pickle_xgbclassifier.pkl", NULL, &r), 0);
    m = model(r, 0);
    cr_assert_str_eq(str(m, "format"), "pickle");
    cr_assert_str_eq(str(m, "payload"), "snap_ubj");
    json_t *p = json_object_get(m, "pickle");
    cr_assert_eq(json_integer_value(json_object_get(p, "protocol")), 4);
    cr_assert_str_eq(str(p, "class"), "xgboost.sklearn XGBClassifier");
    cr_assert(json_is_false(json_object_get(p, "is_booster")));
    json_decref(r);

    cr_assert_eq(inspect_json(MODELS "/synth/json_feature_names.json", NULL, &r), 0);
    m = model(r, 0);
    cr_assert_eq(json_array_size(json_object_get(m, "feature_names")), 6);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "feature_names"), 2)),
                     "region");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(m, "feature_types"), 2)),
                     "c");
    json_decref(r);

    /* the human form says the same in words */
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "inspect '%s'", MODELS "/1.5.2/binary_logistic.bin"), 0);
    cr_assert(strstr(out, "legacy binary with binf magic"), "%s", out);
    cr_assert(strstr(out, "XGBoost 1.5.x"), "%s", out);
    cr_assert(strstr(out, "binary:logistic"), "%s", out);
    cr_assert(strstr(out, "10 trees"), "%s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "inspect '%s'", MODELS "/synth/bin090_binary_logistic.bin"), 0);
    cr_assert(strstr(out, "XGBoost 0.90 or older"), "%s", out);
    cr_assert(strstr(out, "stored as a margin"), "%s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "inspect '%s'", MODELS "/synth/json_feature_names.json"), 0);
    cr_assert(strstr(out, "region(c)"), "%s", out);
    cr_assert(strstr(out, "categorical-splits"), "%s", out);
    free(out);
}

Test(cli_inspect, artifacts_are_streamed_and_every_top_level_file_identified)
{
    mkdir(th_path(dir, "m"), 0755);
    copy(MODELS "/3.0.5/binary_logistic.ubj", th_path(dir, "m/xgboost-model"));
    th_write(th_path(dir, "m/notes.txt"), "trained on friday\n", 18);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "tar -C '%s/m' -czf '%s/a.tar.gz' xgboost-model notes.txt", dir, dir);
    cr_assert_eq(th_run(cmd, NULL), 0);
    json_t *r;
    cr_assert_eq(inspect_json(th_path(dir, "a.tar.gz"), NULL, &r), 1, "notes.txt is not a model");
    cr_assert_str_eq(str(r, "kind"), "artifact");
    cr_assert_eq(json_array_size(json_object_get(r, "models")), 2);
    json_t *m = model(r, 0);
    cr_assert_str_eq(str(m, "entry"), "xgboost-model");
    cr_assert_str_eq(str(m, "format"), "ubjson");
    cr_assert_str_eq(str(json_object_get(m, "writer"), "min"), "3.0.5");
    cr_assert_str_eq(str(model(r, 1), "format"), "unknown");
    json_decref(r);

    /* a model bigger than --max-model-bytes: head parsed, version read from the tail */
    cr_assert_eq(inspect_json(th_path(dir, "a.tar.gz"), "--max-model-bytes 4096", &r), 1);
    m = model(r, 0);
    cr_assert(json_is_true(json_object_get(m, "partial")));
    cr_assert(json_is_false(json_object_get(m, "corrupt")), "a partial read is not corruption");
    cr_assert_str_eq(str(m, "format"), "ubjson");
    cr_assert_str_eq(str(json_object_get(m, "writer"), "min"), "3.0.5");
    cr_assert_eq(json_integer_value(json_object_get(m, "bytes")), 12246);
    json_decref(r);

    /* a pickle artifact as the 1.0-1/1.2-x containers' training wrote it */
    copy(MODELS "/synth/pickle_p4_cfgoff.pkl", th_path(dir, "m/xgboost-model"));
    snprintf(cmd, sizeof cmd, "tar -C '%s/m' -czf '%s/p.tar.gz' xgboost-model", dir, dir);
    cr_assert_eq(th_run(cmd, NULL), 0);
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "inspect '%s'", th_path(dir, "p.tar.gz")), 0);
    cr_assert(strstr(out, "xgboost-model"), "%s", out);
    cr_assert(strstr(out, "snap_cfgoff"), "%s", out);
    cr_assert(strstr(out, "XGBoost 1.2.1"), "%s", out);
    free(out);
}

Test(cli_inspect, broken_and_foreign_files)
{
    size_t n;
    char *b = th_read(MODELS "/1.7.4/reg_squarederror.ubj", &n);
    th_write(th_path(dir, "cut.ubj"), b, 5000);
    free(b);
    json_t *r;
    cr_assert_eq(inspect_json(th_path(dir, "cut.ubj"), NULL, &r), 1);
    json_t *m = model(r, 0);
    cr_assert(json_is_true(json_object_get(m, "corrupt")));
    cr_assert(strstr(str(m, "problem"), "byte offset"), "%s", str(m, "problem"));
    json_decref(r);
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "inspect '%s'", th_path(dir, "cut.ubj")), 1);
    cr_assert(strstr(out, "PROBLEM") && strstr(out, "truncated"), "%s", out);
    free(out);

    cr_assert_eq(inspect_json(MODELS "/synth/lightgbm.txt", NULL, &r), 1);
    cr_assert_str_eq(str(model(r, 0), "format"), "foreign");
    cr_assert(strstr(str(model(r, 0), "foreign"), "LightGBM"));
    json_decref(r);

    cr_assert_eq(inspect_json(MODELS "/synth/joblib_zlib.joblib", NULL, &r), 0);
    cr_assert_str_eq(str(model(r, 0), "format"), "joblib");
    cr_assert_str_eq(str(model(r, 0), "compression"), "zlib");
    json_decref(r);

    cr_assert_eq(th_smxgb(&out, "inspect '%s' 2>&1", th_path(dir, "missing")), 2);
    cr_assert(strstr(out, "missing"), "%s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "inspect 2>/dev/null"), 2);
    free(out);
    cr_assert_eq(th_smxgb(&out, "help inspect"), 0);
    cr_assert(strstr(out, "--json") && strstr(out, "--max-model-bytes"), "%s", out);
    free(out);
}

/* base_score is printed as Python prints the number, whatever text the file stores ("5E-1" in
 * JSON, a float in the legacy binary), and a writer line never ends in an empty "()". */
Test(cli_inspect, numbers_as_python_prints_them)
{
    const char *files[] = {"1.5.2/binary_logistic.json", "1.7.4/binary_logistic.bin"};
    for (size_t i = 0; i < 2; i++) {
        char *out = NULL;
        cr_assert_eq(th_smxgb(&out, "inspect '%s/models/%s'", SMXGB_TESTDATA, files[i]), 0, "%s",
                     files[i]);
        cr_assert(strstr(out, "base_score    0.5\n"), "%s: %s", files[i], out);
        cr_assert_null(strstr(out, "5E-1"), "%s: %s", files[i], out);
        cr_assert_null(strstr(out, "()"), "%s: %s", files[i], out);
        free(out);
    }
}
