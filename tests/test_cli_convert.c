/*
 * End-to-end tests of `smxgb convert`: a model in a sub-folder is repackaged at the top with
 * the other files dropped and named; the result is written even when nothing needs
 * converting; scratch that cannot be made is an I/O problem (exit 2), not a refusal; the
 * output is never the input. (Re-saves are tested in test_rules_verdicts; models over the
 * size limit in test_model_large.)
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
TestSuite(cli_convert, .init = setup, .fini = teardown);

/* An archive of the model at `model_path` in a sub-folder, with an AppleDouble file, a
 * .DS_Store and a README beside it. */
static const char *subfolder_artifact(const char *model, const char *name)
{
    size_t n;
    char *m = th_read(model, &n);
    cr_assert(m, "%s", model);
    th_entry e[] = {{"model", 'd', 0, NULL, 0, NULL},
                    {"model/xgboost-model", 'f', 0, m, n, NULL},
                    {"model/._xgboost-model", 'f', 0, "\x00\x05\x16\x07\x00\x02\x00\x00", 8, NULL},
                    {".DS_Store", 'f', 0, "Bud1", 4, NULL},
                    {"README.md", 'f', 0, "trained on friday\n", 18, NULL}};
    const char *a = strdup(th_path(dir, name));
    th_write_archive(a, "gzip", "ustar", e, sizeof e / sizeof e[0]);
    free(m);
    return a;
}

static json_t *verify_json(const char *args, const char *a, int *rc)
{
    char *out = NULL;
    *rc = th_smxgb(&out, "verify --json %s '%s'", args, a);
    json_t *j = th_json(out);
    free(out);
    return j;
}

static const char *verdict_of(json_t *rep, const char *tag)
{
    json_t *cs = json_object_get(rep, "containers");
    for (size_t i = 0; i < json_array_size(cs); i++) {
        json_t *c = json_array_get(cs, i);
        if (!strcmp(json_string_value(json_object_get(c, "container")), tag))
            return json_string_value(json_object_get(c, "verdict"));
    }
    return "?";
}

/* The model is repackaged out of its sub-folder; every other file is dropped and named. */
Test(cli_convert, a_model_in_a_sub_folder_is_repackaged_at_the_top)
{
    const char *a = subfolder_artifact(MODELS "/1.7.4/binary_logistic.ubj", "sub.tar.gz");
    int rc;
    json_t *rep = verify_json("-c 1.7-1", a, &rc);
    cr_assert_eq(rc, 1, "the container lists no file at the top");
    json_decref(rep);

    char out[4096], *o = NULL;
    snprintf(out, sizeof out, "%s/fixed.tar.gz", dir);
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.7-1 -o '%s' --json", a, out), 0, "%s", o);
    json_t *j = th_json(o);
    free(o);
    cr_assert_str_eq(json_string_value(json_object_get(j, "action")), "repackaged");
    cr_assert_str_eq(json_string_value(json_object_get(j, "entry")), "model/xgboost-model");
    json_t *d = json_object_get(j, "dropped");
    cr_assert_eq(json_array_size(d), 3, "._xgboost-model, .DS_Store, README.md");
    int dot = 0, readme = 0;
    for (size_t i = 0; i < json_array_size(d); i++) {
        const char *p = json_string_value(json_object_get(json_array_get(d, i), "path"));
        const char *why = json_string_value(json_object_get(json_array_get(d, i), "why"));
        dot += strstr(p, "/.") || p[0] == '.' ? !strcmp(why, "a dotfile") : 0;
        readme += !strcmp(p, "README.md") && strstr(why, "not a model");
    }
    cr_assert_eq(dot, 2, "the dotfiles are dropped as dotfiles");
    cr_assert_eq(readme, 1, "README.md is dropped as not a model");
    json_decref(j);

    rep = verify_json("-c 1.7-1", out, &rc);
    cr_assert_eq(rc, 0, "the result loads");
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "ok");
    json_t *es = json_object_get(rep, "entries");
    cr_assert_eq(json_array_size(es), 1, "only the model");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(es, 0), "path")),
                     "xgboost-model");
    json_decref(rep);

    /* the text says what was dropped */
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.7-1 -o '%s'", a, out), 0, "%s", o);
    cr_assert(strstr(o, "repackaged") && strstr(o, "dropped: README.md (not a model file)"), "%s",
              o);
    free(o);
    free((char *)a);
}

/* From a sub-folder and in a format the container cannot read: re-saved, then packaged. */
Test(cli_convert, a_model_in_a_sub_folder_is_re_saved_when_it_must_be)
{
    const char *a = subfolder_artifact(MODELS "/3.0.5/binary_logistic.ubj", "sub.tar.gz");
    char out[4096], *o = NULL;
    snprintf(out, sizeof out, "%s/fixed.tar.gz", dir);
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.5-1 -o '%s' --json", a, out), 0, "%s", o);
    json_t *j = th_json(o);
    free(o);
    cr_assert_str_eq(json_string_value(json_object_get(j, "action")), "resaved");
    cr_assert_eq(json_array_size(json_object_get(j, "dropped")), 3);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "to"), "format")),
                     "deprecated");
    json_decref(j);
    int rc;
    json_t *rep = verify_json("-c 1.5-1", out, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(verdict_of(rep, "1.5-1"), "ok");
    json_decref(rep);
    free((char *)a);
}

/* Scratch that cannot be made is an I/O problem: exit 2 with the reason, as documented,
 * not exit 1 "refused". Before, convert went on, the load check could not write its files,
 * and it refused ("the runtime XGBoost could not be used"). */
Test(cli_convert, an_unwritable_tmpdir_is_an_io_problem)
{
    size_t n;
    char *m = th_read(MODELS "/3.0.5/binary_logistic.ubj", &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "in.tar.gz"), "gzip", "ustar", e, 1);
    free(m);
    /* a directory nobody may write to (root may write anywhere but in /sys) */
    const char *ro = "/sys";
    if (geteuid() != 0) {
        ro = th_path(dir, "ro");
        mkdir(ro, 0555);
    }
    char *o = NULL;
    int rc = th_smxgb(&o, "convert '%s' --container 1.5-1 -o '%s/out.tar.gz' 2>&1",
                      th_path(dir, "in.tar.gz"), dir);
    free(o);
    cr_assert_eq(rc, 0, "writable: converted");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "TMPDIR='%s' %s convert '%s' --container 1.5-1 -o '%s/o2.tar.gz' 2>&1", ro, SMXGB_BIN,
             th_path(dir, "in.tar.gz"), dir);
    rc = th_run(cmd, &o);
    cr_assert_eq(rc, 2, "%s", o);
    cr_assert(strstr(o, "TMPDIR") && !strstr(o, "refused"), "%s", o);
    free(o);
    cr_assert_neq(access(th_path(dir, "o2.tar.gz"), F_OK), 0, "nothing written");
}

/* The output is never the input; the artifact is left alone. */
Test(cli_convert, the_output_is_not_the_input)
{
    size_t n;
    char *m = th_read(MODELS "/1.7.4/binary_logistic.json", &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    const char *a = th_path(dir, "in.tar.gz");
    th_write_archive(a, "gzip", "ustar", e, 1);
    free(m);
    size_t before;
    char *b1 = th_read(a, &before);
    char *o = NULL;
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.7-1 -o '%s' 2>&1", a, a), 2, "%s", o);
    free(o);
    size_t after;
    char *b2 = th_read(a, &after);
    cr_assert(before == after && !memcmp(b1, b2, before), "the artifact is untouched");
    free(b1);
    free(b2);
}

/* Several model files (an ensemble): convert handles one, and says which it found. */
Test(cli_convert, several_models_are_refused_by_name)
{
    size_t n1, n2;
    char *m1 = th_read(MODELS "/1.7.4/binary_logistic.json", &n1);
    char *m2 = th_read(MODELS "/3.0.5/binary_logistic.ubj", &n2);
    th_entry e[] = {{"a/xgboost-model", 'f', 0, m1, n1, NULL},
                    {"b/xgboost-model", 'f', 0, m2, n2, NULL}};
    const char *a = th_path(dir, "two.tar.gz");
    th_write_archive(a, "gzip", "ustar", e, 2);
    free(m1);
    free(m2);
    char *o = NULL;
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.5-1 -o '%s/x.tar.gz' 2>&1", a, dir), 1,
                 "%s", o);
    cr_assert(strstr(o, "refused") && strstr(o, "a/xgboost-model") && strstr(o, "b/xgboost-model"),
              "%s", o);
    free(o);
}
