/*
 * Layouts and ensembles a container cannot serve, packaging a file that is no model, and the
 * messages of the verdicts: each one a case where smxgb used to pass or mislead.
 *
 *   - SAGEMAKER_INFERENCE_ENSEMBLE=false and two top-level files, one of them no model: the
 *     container loads the first in os.listdir order, which may be the stray file.
 *   - An ensemble whose members predict different shapes: every /invocations fails (np.mean
 *     over arrays of different shapes raises, the container answers 400).
 *   - `smxgb package notes.txt`: refused unless --force.
 *   - FMT-BIN-1's 3.1+ text is documented under FMT-BIN-1; a pickle's reason does not say the
 *     file is parsed as text JSON; a UBJSON model's first reason is the error XGBoost raises.
 */
#include "compat/compat.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
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
TestSuite(rules_layouts, .init = setup, .fini = teardown, .timeout = 300);

static char *model(const char *rel, size_t *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/%s", SMXGB_TESTDATA, rel);
    char *m = th_read(path, n);
    cr_assert_not_null(m, "%s", path);
    return m;
}

static json_t *verify_json(const char *extra, const char *path, int *rc)
{
    char *out = NULL;
    *rc = th_smxgb(&out, "verify --json %s '%s'", extra ? extra : "", path);
    json_t *j = th_json(out);
    free(out);
    return j;
}

static json_t *container_of(json_t *rep, const char *tag)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(rep, "containers"), i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "container")), tag))
            return c;
    }
    cr_assert_fail("container %s in the report", tag);
    return NULL;
}

static const char *verdict_of(json_t *rep, const char *tag)
{
    return json_string_value(json_object_get(container_of(rep, tag), "verdict"));
}

/* The reason of rule `rule` for container tag (NULL if none), and the index of the first one
 * that is not ok in *first_bad. */
static json_t *reason(json_t *rep, const char *tag, const char *rule, size_t *first_bad)
{
    size_t i;
    json_t *x, *found = NULL;
    if (first_bad)
        *first_bad = (size_t)-1;
    json_array_foreach(json_object_get(container_of(rep, tag), "reasons"), i, x)
    {
        if (first_bad && *first_bad == (size_t)-1 &&
            strcmp(json_string_value(json_object_get(x, "verdict")), "ok"))
            *first_bad = i;
        if (!found && !strcmp(json_string_value(json_object_get(x, "rule")), rule))
            found = x;
    }
    return found;
}

/* ---- layouts and ensembles ------------------------------------------------------------------ */

/*
 * Ensemble off and a stray file beside the model: the container loads os.listdir()[0], whose
 * order tar does not set. Before: ok with a warning, exit 0, and the report claimed it loads
 * xgboost-model.
 */
Test(rules_layouts, ensemble_off_with_a_stray_file_fails)
{
    size_t n;
    char *m = model("1.7.4/binary_logistic.bin", &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}, {"notes.txt", 'f', 0, "notes", 5, NULL}};
    th_write_archive(th_path(dir, "stray.tar.gz"), "gzip", "ustar", e, 2);
    free(m);
    int rc;
    json_t *rep = verify_json("-c 1.7-1 -c 1.0-1 -e SAGEMAKER_INFERENCE_ENSEMBLE=false",
                              th_path(dir, "stray.tar.gz"), &rc);
    cr_assert_eq(rc, 1, "it can fail at deploy: an error");
    for (int k = 0; k < 2; k++) {
        const char *tag = k ? "1.0-1" : "1.7-1";
        cr_assert_str_eq(verdict_of(rep, tag), "fails", "%s", tag);
        json_t *x = reason(rep, tag, "LAYOUT-ORDER", NULL);
        cr_assert_not_null(x, "%s: the order decides", tag);
        const char *msg = json_string_value(json_object_get(x, "message"));
        cr_assert(strstr(msg, "notes.txt") && strstr(msg, "os.listdir"), "%s", msg);
        json_t *u = reason(rep, tag, "UNKNOWN", NULL);
        cr_assert(u && !strcmp(json_string_value(json_object_get(u, "entry")), "notes.txt"),
                  "%s: notes.txt is judged as what it is", tag);
        /* both files are listed as what it may load */
        cr_assert_eq(json_array_size(json_object_get(container_of(rep, tag), "loads")), 2);
    }
    json_decref(rep);
    char *out = NULL;
    th_smxgb(&out, "verify -c 1.7-1 -e SAGEMAKER_INFERENCE_ENSEMBLE=false '%s'",
             th_path(dir, "stray.tar.gz"));
    cr_assert(strstr(out, "loads one of xgboost-model, notes.txt (os.listdir order decides)"), "%s",
              out);
    cr_assert(!strstr(out, "(first in directory order of"), "%s", out);
    free(out);

    /* two copies of the same model: whichever is listed first, it is the model */
    m = model("1.7.4/binary_logistic.bin", &n);
    th_entry e2[] = {{"xgboost-model", 'f', 0, m, n, NULL}, {"model-copy", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "two.tar.gz"), "gzip", "ustar", e2, 2);
    free(m);
    rep = verify_json("-c 1.7-1 -e SAGEMAKER_INFERENCE_ENSEMBLE=false", th_path(dir, "two.tar.gz"),
                      &rc);
    cr_assert_eq(rc, 0, "the warning about the order stays a warning");
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "ok");
    cr_assert(th_has_finding(rep, "layout-order-nondeterministic", "1.7-1"));
    json_decref(rep);
}

/*
 * An ensemble of a binary:logistic model (one value per row) and a multi:softprob one (three):
 * np.mean over them raises and every /invocations answers 400. Before: ok with warnings.
 */
Test(rules_layouts, an_ensemble_whose_members_disagree_in_shape_fails)
{
    size_t n1, n2;
    char *m1 = model("1.7.4/binary_logistic.bin", &n1);
    char *m2 = model("1.7.4/multi_softprob.bin", &n2);
    th_entry e[] = {{"model-a", 'f', 0, m1, n1, NULL}, {"model-b", 'f', 0, m2, n2, NULL}};
    th_write_archive(th_path(dir, "ens.tar.gz"), "gzip", "ustar", e, 2);
    free(m1);
    free(m2);
    int rc;
    json_t *rep = verify_json("-c 1.7-1 -c 3.0-5", th_path(dir, "ens.tar.gz"), &rc);
    cr_assert_eq(rc, 1);
    for (int k = 0; k < 2; k++) {
        const char *tag = k ? "3.0-5" : "1.7-1";
        cr_assert_str_eq(verdict_of(rep, tag), "fails", "%s", tag);
        json_t *x = reason(rep, tag, "ENSEMBLE-SHAPE", NULL);
        cr_assert_not_null(x, "%s", tag);
        const char *msg = json_string_value(json_object_get(x, "message"));
        cr_assert(strstr(msg, "model-a") && strstr(msg, "model-b") && strstr(msg, "400"), "%s",
                  msg);
    }
    json_decref(rep);
    /* 1.0-1 has no ensembles: it loads one file, whichever os.listdir gives first */
    rep = verify_json("-c 1.0-1", th_path(dir, "ens.tar.gz"), &rc);
    cr_assert_null(reason(rep, "1.0-1", "ENSEMBLE-SHAPE", NULL));
    json_decref(rep);
}

/* ---- package -------------------------------------------------------------------------------- */

Test(rules_layouts, package_refuses_a_file_that_is_no_model_unless_forced)
{
    th_write(th_path(dir, "notes.txt"), "my notes\n", 9);
    char out_path[4096];
    snprintf(out_path, sizeof out_path, "%s/n.tar.gz", dir);
    char *out = NULL;
    int rc = th_smxgb(&out, "package '%s' -o '%s' 2>&1", th_path(dir, "notes.txt"), out_path);
    cr_assert_eq(rc, 2, "refused: %s", out);
    cr_assert(strstr(out, "not an XGBoost model") && strstr(out, "--force"), "%s", out);
    cr_assert_neq(access(out_path, F_OK), 0, "nothing written");
    free(out);
    rc = th_smxgb(&out, "package '%s' -o '%s' --force 2>&1", th_path(dir, "notes.txt"), out_path);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "warning") && strstr(out, "not an XGBoost model"), "%s", out);
    cr_assert_eq(access(out_path, F_OK), 0);
    free(out);

    /* a directory: every file is checked */
    char *d = strdup(th_path(dir, "m"));
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && cp '%s/models/1.7.4/binary_logistic.bin' '%s/a' && "
             "printf notes > '%s/notes.txt'",
             d, SMXGB_TESTDATA, d, d);
    cr_assert_eq(th_run(cmd, NULL), 0);
    rc = th_smxgb(&out, "package '%s' --ensemble -o '%s/d.tar.gz' 2>&1", d, dir);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "notes.txt"), "%s", out);
    free(out);
    /* and a real model packages as before, silently */
    rc = th_smxgb(&out, "package '%s/a' -o '%s/a.tar.gz' 2>&1", d, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(!strstr(out, "warning"), "%s", out);
    free(out);
    free(d);
}

/* ---- messages ------------------------------------------------------------------------------- */

/* 3.2-0 on a 1.7 legacy binary: the reason is FMT-BIN-1 with its 3.1+ text, and `help codes`
 * documents that text under FMT-BIN-1 (it showed only each rule's first outcome, so the text
 * seemed to be FMT-BIN-0's). */
Test(rules_layouts, help_codes_documents_every_outcome_under_its_rule)
{
    size_t n;
    char *m = model("1.7.4/binary_logistic.bin", &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "b.tar.gz"), "gzip", "ustar", e, 1);
    free(m);
    int rc;
    json_t *rep = verify_json("-c 3.2-0", th_path(dir, "b.tar.gz"), &rc);
    json_t *x = reason(rep, "3.2-0", "FMT-BIN-1", NULL);
    cr_assert_not_null(x);
    cr_assert_null(reason(rep, "3.2-0", "FMT-BIN-0", NULL));
    const char *msg = json_string_value(json_object_get(x, "message"));
    cr_assert(strstr(msg, "deprecated in 1.6 and removed in 3.1"), "%s", msg);
    json_decref(rep);

    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "help codes"), 0);
    char *bin1 = strstr(out, "\n  FMT-BIN-1 "), *next = bin1 ? strstr(bin1 + 3, "\n  FMT-") : NULL;
    cr_assert(bin1 && next, "%s", out);
    *next = '\0';
    cr_assert(strstr(bin1, "deprecated in 1.6 and removed in 3.1") && strstr(bin1, ">= 3.1.0"),
              "FMT-BIN-1's 3.1+ outcome, with its readers: %s", bin1);
    char *bin0 = strstr(out, "\n  FMT-BIN-0 ");
    cr_assert(bin0 && bin0 < bin1);
    bin1[0] = '\0'; /* FMT-BIN-0's lines only */
    cr_assert(!strstr(bin0, "deprecated in 1.6 and removed in 3.1") &&
                  strstr(bin0, "Invalid model format"),
              "FMT-BIN-0 says its own text: %s", bin0);
    free(out);
}

/* A pickled UBJSON snapshot in 1.5-1: the reasons say what happens to a pickle, not "parses the
 * file as text JSON"; a UBJSON model's first reason is the UBJSON error XGBoost raises, not
 * FMT-TREE-16 (the trees are never reached). */
Test(rules_layouts, reasons_name_the_error_the_container_raises)
{
    size_t n;
    char path[4096];
    snprintf(path, sizeof path, "%s/models/synth/pickle_p5_snapubj.pkl", SMXGB_TESTDATA);
    char *m = th_read(path, &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "p.tar.gz"), "gzip", "ustar", e, 1);
    free(m);
    int rc;
    json_t *rep = verify_json("-c 1.5-1 -c 1.3-1", th_path(dir, "p.tar.gz"), &rc);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(container_of(rep, "1.5-1"), "reasons"), i, x)
    {
        const char *msg = json_string_value(json_object_get(x, "message"));
        cr_assert_null(strstr(msg, "parses the file as text JSON"), "%s: %s",
                       json_string_value(json_object_get(x, "rule")), msg);
    }
    cr_assert_not_null(reason(rep, "1.5-1", "SNAP-UBJ", NULL));
    json_decref(rep);

    m = model("3.0.5/binary_logistic.ubj", &n);
    th_entry e2[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "u.tar.gz"), "gzip", "ustar", e2, 1);
    free(m);
    rep = verify_json("-c 1.5-1 -c 1.3-1", th_path(dir, "u.tar.gz"), &rc);
    for (int k = 0; k < 2; k++) {
        const char *tag = k ? "1.3-1" : "1.5-1";
        size_t first;
        json_t *u = reason(rep, tag, "FMT-UBJ", &first);
        cr_assert_not_null(u, "%s", tag);
        json_t *f = json_array_get(json_object_get(container_of(rep, tag), "reasons"), first);
        cr_assert_str_eq(json_string_value(json_object_get(f, "rule")), "FMT-UBJ", "%s", tag);
        cr_assert_null(reason(rep, tag, "FMT-TREE-16", NULL), "%s", tag);
    }
    json_decref(rep);
}

/* An ensemble of more files than verify identifies (64): the files past the limit are not
 * judged, so the verdict is unknown, with what settles it. (Before: an error calling the 65
 * XGBoost models a layout that fails; and had it passed the layout, an UNIDENTIFIED note in an
 * ok verdict.) */
Test(rules_layouts, an_ensemble_of_more_files_than_are_identified_is_unknown)
{
    size_t n;
    char *m = model("1.7.4/binary_logistic.bin", &n);
    enum { FILES = 65 };
    th_entry e[FILES];
    char names[FILES][32];
    for (int i = 0; i < FILES; i++) {
        snprintf(names[i], sizeof names[i], "model-%02d", i);
        e[i] = (th_entry){names[i], 'f', 0, m, n, NULL};
    }
    th_write_archive(th_path(dir, "many.tar.gz"), "gzip", "ustar", e, FILES);
    int rc;
    json_t *rep = verify_json("-c 1.7-1 --no-load-check", th_path(dir, "many.tar.gz"), &rc);
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "unknown");
    json_t *x = reason(rep, "1.7-1", "UNIDENTIFIED", NULL);
    cr_assert_not_null(x);
    cr_assert(strstr(json_string_value(json_object_get(x, "message")), "keep at most 64"));
    const char *hint = json_string_value(json_object_get(container_of(rep, "1.7-1"), "hint"));
    cr_assert(hint && strstr(hint, "--allow-unknown") && !strstr(hint, "re-save"), "%s", hint);
    cr_assert_eq(rc, 1, "an unknown verdict fails the gate");
    json_decref(rep);
    free(m);
}
