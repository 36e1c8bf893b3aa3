/*
 * `smxgb verify` given a model file where a model.tar.gz belongs: it says what the file is and
 * how to package it (text and JSON), instead of every container failing to find a model; an
 * archive, and a file that is no model, are reported as before.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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
TestSuite(verify_cli, .init = setup, .fini = teardown);

Test(verify_cli, a_bare_model_file_is_identified_with_how_to_package_it)
{
    size_t n;
    char *m = th_model(&n);
    th_write(th_path(dir, "xgboost-model"), m, n);
    free(m);
    char *out = NULL;
    int rc = th_smxgb(&out, "verify %s", th_path(dir, "xgboost-model"));
    cr_assert_eq(rc, 1, "a model file is not an artifact SageMaker can use: %s", out);
    cr_assert(strstr(out, "xgboost-model: an XGBoost model file, not a model.tar.gz\n"), "%s", out);
    cr_assert(strstr(out, "  it is: legacy binary with binf magic, written by XGBoost 1.7.x, "
                          "binary:logistic gbtree, 6 features\n"),
              "%s", out);
    cr_assert(strstr(out, "\n    smxgb package xgboost-model -o model.tar.gz\n"
                          "    smxgb verify model.tar.gz\n"),
              "%s", out);
    cr_assert(!strstr(out, "layout FAILS"), "not eleven containers failing to find it: %s", out);
    free(out);

    rc = th_smxgb(&out, "verify %s --json", th_path(dir, "xgboost-model"));
    cr_assert_eq(rc, 1);
    json_t *j = th_json(out);
    json_t *mf = json_object_get(j, "model_file");
    cr_assert_str_eq(json_string_value(json_object_get(mf, "package")),
                     "smxgb package xgboost-model -o model.tar.gz");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(mf, "model"), "format")),
                     "binary");
    cr_assert(th_has_finding(j, "archive-unrecognised", NULL), "the finding is kept: %s", out);
    json_decref(j);
    free(out);
}

Test(verify_cli, a_file_that_is_no_model_is_reported_as_before)
{
    th_write(th_path(dir, "notes.txt"), "feature list\n", 13);
    char *out = NULL;
    int rc = th_smxgb(&out, "verify %s", th_path(dir, "notes.txt"));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "archive-unrecognised") && !strstr(out, "an XGBoost model file"), "%s",
              out);
    free(out);
}

/* A load check the user asked for must run: a library that cannot be loaded fails the run
 * (exit 2, saying why) instead of passing as "not load-checked". */
Test(verify_cli, an_unusable_xgboost_lib_fails_the_run)
{
    size_t n;
    char *m = th_model(&n);
    th_write(th_path(dir, "xgboost-model"), m, n);
    free(m);
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "package %s -o %s >/dev/null", th_path(dir, "xgboost-model"),
                          th_path(dir, "m.tar.gz")),
                 0);
    free(out);
    th_write(th_path(dir, "empty.so"), "", 0);
    const char *libs[] = {"/nonexistent/libxgboost.so", th_path(dir, "empty.so")};
    const char *why[] = {"No such file", "empty"};
    for (int i = 0; i < 2; i++) {
        int rc = th_smxgb(&out, "verify %s -c 1.7-1 --xgboost-lib %s 2>&1",
                          th_path(dir, "m.tar.gz"), libs[i]);
        cr_assert_eq(rc, 2, "%s", out);
        cr_assert(strstr(out, "cannot be used") && strstr(out, why[i]), "%s", out);
        free(out);
    }
}
