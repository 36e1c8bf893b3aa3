/*
 * What each container's verdict rests on, and real loads that go wrong after the load itself.
 *
 * Every verdict carries its evidence, in the text report and in --json: identified from the
 * bytes (the rules decide), load-checked in the container's own XGBoost version, or loaded by
 * another version as a stand-in (reported; the rules decide). A load check that fails in any
 * way, including after the model loaded (predicting raised, the child hit its memory limit,
 * died or ran out of time while sending the predictions), is never ok for the containers that
 * pin that version.
 */
#include "compat/compat.h"
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
TestSuite(rules_evidence, .init = setup, .fini = teardown, .timeout = 300);

static const char *package_bytes(const void *m, size_t n, const char *name)
{
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, name), "gzip", "ustar", e, 1);
    return th_path(dir, name);
}

static const char *package_fixture(const char *rel, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/%s", SMXGB_TESTDATA, rel);
    size_t n;
    char *m = th_read(path, &n);
    const char *a = package_bytes(m, n, name);
    free(m);
    return a;
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

static const char *evidence(json_t *rep, const char *tag, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(container_of(rep, tag), "evidence"), key));
}

Test(rules_evidence, every_verdict_says_what_it_rests_on)
{
    const char *a = package_fixture("1.7.4/binary_logistic.bin", "b.tar.gz");
    int rc;
    json_t *rep = verify_json("-c 1.7-1 -c 1.5-1 -c 0.90-1", a, &rc);
    /* 1.7-1 pins 1.7.4, the XGBoost of this machine: a load in its own version */
    cr_assert_str_eq(evidence(rep, "1.7-1", "kind"), "load-exact");
    cr_assert_str_eq(evidence(rep, "1.7-1", "xgboost"), "1.7.4");
    cr_assert_str_eq(evidence(rep, "1.7-1", "identified"), "whole file");
    /* 1.5-1 pins 1.5.2: the 1.7.4 load stands in, the rules decide */
    cr_assert_str_eq(evidence(rep, "1.5-1", "kind"), "load-standin");
    cr_assert_str_eq(evidence(rep, "1.5-1", "xgboost"), "1.7.4");
    cr_assert(strstr(evidence(rep, "1.5-1", "note"), "the rules decide"), "%s",
              evidence(rep, "1.5-1", "note"));
    cr_assert_str_eq(evidence(rep, "0.90-1", "kind"), "load-standin");
    json_decref(rep);

    rep = verify_json("-c 1.7-1 --no-load-check", a, &rc);
    cr_assert_str_eq(evidence(rep, "1.7-1", "kind"), "rules");
    cr_assert(json_is_null(
        json_object_get(json_object_get(container_of(rep, "1.7-1"), "evidence"), "xgboost")));
    cr_assert(strstr(evidence(rep, "1.7-1", "note"), "--no-load-check"), "%s",
              evidence(rep, "1.7-1", "note"));
    json_decref(rep);

    /* identified from the head and the tail only: said so */
    rep = verify_json("-c 1.7-1 --load-max-bytes 4096", a, &rc);
    cr_assert_str_eq(evidence(rep, "1.7-1", "kind"), "rules");
    cr_assert_str_eq(evidence(rep, "1.7-1", "identified"), "head and tail");
    json_decref(rep);

    char *out = NULL;
    th_smxgb(&out, "verify -c 1.7-1 -c 1.5-1 '%s'", a);
    cr_assert(strstr(out, "evidence: load-checked in XGBoost 1.7.4 (this container's version)"),
              "%s", out);
    cr_assert(strstr(out, "evidence: rules only, identified from the bytes (XGBoost 1.7.4 loaded "
                          "it as a stand-in, not this container's 1.5.2: no runtime of "
                          "xgboost 1.5.2 is cached for this machine (`smxgb runtime fetch "
                          "1.5.2`)"),
              "%s", out);
    free(out);
    th_smxgb(&out, "help verify");
    cr_assert(strstr(out, "\"evidence\"") && strstr(out, "load-standin") &&
                  strstr(out, "--allow-unknown"),
              "help verify documents the evidence and the opt-out: %s", out);
    free(out);
}

/*
 * num_class 1e8: XGBoost 1.7.4 loads the model, and predicting 16 rows needs 6.4 GB, over the
 * child's memory limit: std::bad_alloc. The container would answer every /invocations with an
 * error. Before: "loaded ... ok (predict failed: std::bad_alloc)", verdict ok, exit 0.
 */
Test(rules_evidence, a_load_check_that_fails_after_loading_is_not_ok)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("AddressSanitizer builds run the child without an address-space limit");
#endif
    json_error_t je;
    json_t *j = json_load_file(SMXGB_TESTDATA "/models/1.7.4/binary_logistic.json", 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    json_t *learner = json_object_get(j, "learner");
    json_object_set_new(learner, "objective",
                        json_pack("{s:s, s:{s:s}}", "name", "multi:softprob",
                                  "softmax_multiclass_param", "num_class", "100000000"));
    json_object_set_new(json_object_get(learner, "learner_model_param"), "num_class",
                        json_string("100000000"));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    const char *a = package_bytes(text, strlen(text), "nc.tar.gz");
    free(text);

    int rc;
    json_t *rep = verify_json("-c 1.7-1 -c 3.0-5", a, &rc);
    cr_assert_eq(rc, 1, "a failed load check fails the report");
    json_t *c17 = container_of(rep, "1.7-1");
    cr_assert_str_eq(json_string_value(json_object_get(c17, "verdict")), "fails");
    cr_assert_str_eq(evidence(rep, "1.7-1", "kind"), "load-exact");
    int found = 0;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(c17, "reasons"), i, x)
    {
        const char *msg = json_string_value(json_object_get(x, "message"));
        found |= !strcmp(json_string_value(json_object_get(x, "rule")), "LOAD-CHECK") &&
                 !strcmp(json_string_value(json_object_get(x, "verdict")), "fails") &&
                 strstr(msg, "predicting failed") && strstr(msg, "bad_alloc");
    }
    cr_assert(found, "the LOAD-CHECK reason says predicting failed");
    json_t *lc = json_object_get(json_array_get(json_object_get(rep, "models"), 0), "load_check");
    cr_assert(json_is_true(json_object_get(lc, "loaded")));
    cr_assert(json_is_false(json_object_get(lc, "predicted")));
    /* 3.0-5: the rules decide (ok), and its hint-free verdict stands; the 1.7.4 load is not
     * its own */
    cr_assert_str_eq(json_string_value(json_object_get(container_of(rep, "3.0-5"), "verdict")),
                     "ok");
    json_decref(rep);

    /* another container's hint does not name 1.7-1 as loading it correctly */
    rep = verify_json("-c 1.5-1", a, &rc);
    const char *hint = json_string_value(json_object_get(container_of(rep, "1.5-1"), "hint"));
    cr_assert(hint && strstr(hint, "load it correctly: 3.0-5") && !strstr(hint, "1.7-1"), "%s",
              hint);
    json_decref(rep);

    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "verify -c 1.7-1 '%s'", a), 1);
    cr_assert(strstr(out, "loaded with XGBoost 1.7.4, but predicting failed"), "%s", out);
    cr_assert(!strstr(out, ": ok (predict failed"), "%s", out);
    free(out);
}

/* The stand-in library loads the model and then fails to predict: the verdict of the version it
 * claims (1.7.4) is fails, not ok. */
Test(rules_evidence, a_prediction_error_after_the_load_fails_that_version)
{
    const char *a = package_fixture("1.7.4/binary_logistic.bin", "b.tar.gz");
    setenv("FAKE_XGB_MODE", "predict-error", 1);
    char *out = NULL;
    int rc = th_smxgb(&out, "verify --json -c 1.7-1 -c 1.5-1 --xgboost-lib '%s' '%s' 2>/dev/null",
                      SMXGB_FAKE_XGBOOST, a);
    unsetenv("FAKE_XGB_MODE");
    json_t *rep = th_json(out);
    free(out);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(json_string_value(json_object_get(container_of(rep, "1.7-1"), "verdict")),
                     "fails");
    cr_assert_str_eq(json_string_value(json_object_get(container_of(rep, "1.5-1"), "verdict")),
                     "ok", "the rules decide 1.5-1");
    json_t *lc = json_object_get(json_array_get(json_object_get(rep, "models"), 0), "load_check");
    cr_assert(json_is_true(json_object_get(lc, "loaded")), "it loaded: %s",
              json_string_value(json_object_get(lc, "error")));
    cr_assert(json_is_false(json_object_get(lc, "predicted")));
    cr_assert(strstr(json_string_value(json_object_get(lc, "note")), "predict failed"), "%s",
              json_string_value(json_object_get(lc, "note")));
    json_decref(rep);
}

/* A child that loaded the model and then runs out of time before its predictions are sent:
 * the load check says it timed out (before: only 'the child stopped while sending
 * predictions'), and it did not predict. */
Test(rules_evidence, a_deadline_after_the_load_says_timed_out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/1.7.4/binary_logistic.bin", SMXGB_TESTDATA);
    size_t n;
    char *bytes = th_read(path, &n);
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(bytes, n, "xgboost-model", &m, &err), SMX_OK, "%s", err.msg);
    setenv("FAKE_XGB_MODE", "predict-hang", 1);
    compat_load_limits lim = {.timeout_ms = 1500};
    compat_loadcheck lc;
    cr_assert_eq(
        compat_loadcheck_run(m, bytes, n, "xgboost-model", SMXGB_FAKE_XGBOOST, &lim, &lc, &err),
        SMX_OK, "%s", err.msg);
    unsetenv("FAKE_XGB_MODE");
    /* the deadline says nothing about the model: not a load, not a failed one */
    cr_assert(lc.ran && lc.timed_out && !lc.loaded && !lc.predicted,
              "ran %d timed out %d loaded %d predicted %d: %s / %s", lc.ran, lc.timed_out,
              lc.loaded, lc.predicted, lc.error, lc.note);
    cr_assert(strstr(lc.error, "timed out") && strstr(lc.error, "after loading the model"), "%s",
              lc.error);
    compat_model_info_free(m);
    free(bytes);
}
