/*
 * The objectives and forms the load rules distinguish (tests/data/models/synth/forms, made by
 * forms.py from real 1.5.2, 1.7.4 and 3.0.5 models), each packaged and run through `smxgb
 * verify --json`: the expected verdict per container, and the rule and line of XGBoost's load
 * path it rests on. Every verify also loads the file with the real XGBoost 1.7.4 of this
 * machine, so the 1.7-1 and 1.7-1-1 columns are checked against XGBoost itself, not only
 * against the rules.
 *
 * Then the verdict "unknown": a fact a verdict rests on that the bytes do not give (a writer
 * known only as "1.3.x" where 1.3.0 and 1.3.1 differ) is not ok, the report says what would
 * settle it, and only --allow-unknown lets the report pass (and says so).
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
TestSuite(rules_forms, .init = setup, .fini = teardown, .timeout = 300);

static const char *const tags[] = {"0.90-1", "0.90-2", "1.0-1",   "1.2-1", "1.2-2", "1.3-1",
                                   "1.5-1",  "1.7-1",  "1.7-1-1", "3.0-5", "3.2-0"};

/* The form file packaged as `entry` (NULL: xgboost-model) into dir/name. */
static const char *package_form(const char *file, const char *entry, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/synth/forms/%s", SMXGB_TESTDATA, file);
    size_t n;
    char *m = th_read(path, &n);
    cr_assert_not_null(m, "%s exists (tests/data/models/synth/forms.py)", path);
    th_entry e[] = {{entry ? entry : "xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, name), "gzip", "ustar", e, 1);
    free(m);
    return th_path(dir, name);
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
    return NULL;
}

static const char *verdict_of(json_t *rep, const char *tag)
{
    json_t *c = container_of(rep, tag);
    cr_assert_not_null(c, "container %s in the report", tag);
    return json_string_value(json_object_get(c, "verdict"));
}

/* The reason of rule `rule` for container tag, or NULL. */
static json_t *reason(json_t *rep, const char *tag, const char *rule)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(container_of(rep, tag), "reasons"), i, x)
    {
        if (!strcmp(json_string_value(json_object_get(x, "rule")), rule))
            return x;
    }
    return NULL;
}

static char code_of(const char *verdict)
{
    return !strcmp(verdict, "ok")                  ? 'o'
           : !strcmp(verdict, "fails")             ? 'F'
           : !strcmp(verdict, "wrong-predictions") ? 'W'
           : !strcmp(verdict, "unknown")           ? 'U'
                                                   : '?';
}

/*
 * Expected verdicts in container order (0.90-1 0.90-2 1.0-1 1.2-1 1.2-2 1.3-1 1.5-1 1.7-1
 * 1.7-1-1 3.0-5 3.2-0; spaces are for reading): o ok, W wrong-predictions, F fails, U unknown.
 * `rule` must be among the reasons of container `at`. Pinned readers: 0.90, 1.0.0, 1.2.0,
 * 1.3.3, 1.5.2, 1.7.4, 3.0.5, 3.2.0. Citations: vX.Y.Z:path:line of dmlc/xgboost.
 */
static const struct form {
    const char *file, *entry, *want, *at, *rule;
} forms[] = {
    /* binary:logitraw. <= 0.90 stores the margin logit(0.5) = -0; 1.2.0 takes its logit and
     * aborts on it (v1.2.0:src/learner.cc:729-745, v1.3.0:src/objective/regression_loss.h:88-90) */
    {"logitraw_bin090.bin", NULL, "ooo FF ooooo F", "1.2-1", "OBJ-LR-090"},
    /* 1.3.1 made LogisticRaw::ProbToMargin the identity (v1.3.1:src/objective/regression_loss.h:
     * 165-167): 1.0-1.3.0 writers meant logit(base_score) */
    {"logitraw_bin12.bin", NULL, "WW ooo WWWWW F", "1.3-1", "OBJ-LR-SHIFT-OLD"},
    /* the header stores 1.3 only: 1.3.0 and 1.3.3 (the 1.3-1 container) differ */
    {"logitraw_bin13.bin", NULL, "WW UUUUUUUU F", "1.5-1", "OBJ-LR-SHIFT-OLD"},
    {"logitraw_bin17.bin", NULL, "WW WWW ooooo F", "1.2-2", "OBJ-LR-SHIFT-NEW"},
    /* an intercept outside (0,1) (2.0+ fit it as a margin): 1.0-1.3.0 abort
     * (v1.0.0:src/objective/regression_loss.h:88-90) */
    {"logitraw_bin20_bs-0.8.bin", NULL, "WW FFF ooooo F", "1.0-1", "OBJ-LR-BS01"},
    {"logitraw_ubj305.ubj", NULL, "FF FFFFF oooo", "1.5-1", "FMT-UBJ"},
    {"logitraw_ubj305_bs-0.8.ubj", NULL, "FF FFFFF oooo", "1.2-2", "OBJ-LR-BS01"},
    {"logitraw_ubj31_bs-0.8.ubj", NULL, "FF FFFFF WWW o", "3.0-5", "BS-ARRAY-SILENT"},
    /* binary:hinge from <= 0.90: 1.2+ convert the stored margin with the 0/1 step
     * (v1.2.0:src/learner.cc:729-745, v1.2.0:src/objective/hinge.cu:71-74) */
    {"hinge_bin090.bin", NULL, "ooo WWWWWWW F", "1.7-1", "OBJ-HINGE-090"},
    {"hinge_bin17.bin", NULL, "WW oooooooo F", "0.90-1", "FMT-BIN-1"},
    {"hinge_ubj305.ubj", NULL, "FF FFFFF oooo", "1.3-1", "FMT-UBJ"},
    /* ranking: 2.0 writes lambdarank_param, <= 1.7 read lambda_rank_param
     * (v1.7.4:src/objective/rank_obj.cu:795-796) */
    {"rank_pairwise_bin17.bin", NULL, "WW oooooooo F", "3.2-0", "FMT-BIN-1"},
    {"rank_ndcg_bin17.bin", NULL, "WW oooooooo F", "3.2-0", "FMT-BIN-1"},
    {"rank_pairwise_bin20.bin", NULL, "WW FFFFFFF o F", "1.7-1", "OBJ-RANK-20"},
    {"rank_ndcg_bin20.bin", NULL, "WW FFFFFFF o F", "1.7-1", "OBJ-RANK-20"},
    {"ndcg_ubj305.ubj", NULL, "FF FFFFFFF oo", "1.7-1-1", "OBJ-RANK-20"},
    /* registered in 1.1 (v1.1.0:src/objective/aft_obj.cc:111) */
    {"aft_bin17.bin", NULL, "FF F ooooooo F", "1.0-1", "OBJ-AFT"},
    {"aft_ubj305.ubj", NULL, "FF FFFFF oooo", "1.5-1", "FMT-UBJ"},
    /* pseudo-Huber: registered in 1.2; 1.2-1.5 read reg_loss_param
     * (v1.5.2:src/objective/regression_obj.cu:148-149), 1.6+ write pseudo_huber_param */
    {"phub_bin15.bin", NULL, "FF F ooooooo F", "1.0-1", "OBJ-PHUB"},
    {"phub_bin17.bin", NULL, "FF FFFFF ooo F", "1.5-1", "OBJ-PHUB-16"},
    /* registered in 2.0 (v2.0.0:src/objective/quantile_obj.cu:219), 1.7 (v1.7.0:src/objective/
     * regression_obj.cu:767) */
    {"quantile_bin20.bin", NULL, "FF FFFFFFF o F", "1.7-1", "OBJ-QNT"},
    {"quantile_ubj305.ubj", NULL, "FF FFFFFFF oo", "1.7-1", "OBJ-QNT"},
    {"abs_bin17.bin", NULL, "FF FFFFF ooo F", "1.5-1", "OBJ-ABS"},
    /* count:poisson: 0.90 reads a max_delta_step 1.x never writes (v0.90:src/learner.cc:396-400)
     */
    {"poisson_bin17.bin", NULL, "FF oooooooo F", "0.90-2", "FMT-BIN-POI"},
    {"poisson_bin090.bin", NULL, "oo oooooooo F", "3.2-0", "FMT-BIN-0"},
    /* reg:gamma: <= 2.0 write no reg_loss_param, 2.1-3.0 need it
     * (v2.1.0:src/objective/regression_obj.cu:187-188); 3.1+ tolerant */
    {"gamma_bin20.bin", NULL, "WW ooooooo FF", "3.0-5", "OBJ-GAMMA"},
    {"gamma_json174.json", NULL, "FF FFFFF oo F o", "3.0-5", "OBJ-GAMMA"},
    {"gamma_ubj305.ubj", NULL, "FF FFFFF oooo", "1.3-1", "FMT-UBJ"},
    {"gamma_bin090.bin", NULL, "oo oooooooo F", "3.2-0", "FMT-BIN-0"},
    {"tweedie_bin17.bin", NULL, "WW oooooooo F", "0.90-1", "FMT-BIN-1"},
    /* reg:squaredlogerror: 3.0.3+ write no reg_loss_param, 1.0-3.0.2 need it
     * (v1.7.4:src/objective/regression_obj.cu:177-178); decided by the content, also for a 3.0
     * binary whose header cannot tell 3.0.2 from 3.0.5 */
    {"sqlog_bin17.bin", NULL, "FF oooooooo F", "0.90-1", "OBJ-SQLOG"},
    {"sqlog_ubj305.ubj", NULL, "FF FFFFFFF oo", "1.7-1", "OBJ-SQLOG-303"},
    {"sqlog_json305.json", NULL, "FF FFFFFFF oo", "1.7-1", "OBJ-SQLOG-303"},
    {"sqlog_bin30_305.bin", NULL, "FF FFFFFFF o F", "1.2-1", "OBJ-SQLOG-303"},
    /* DART and gblinear as such, and DART as 3.3/3.4 save it (booster gbtree + weight_drop):
     * <= 3.2 sum the trees with weight 1 (v3.2.0:src/gbm/gbtree.cc:439-442) */
    {"dart_bin17.bin", NULL, "WW oooooooo F", "0.90-1", "FMT-BIN-1"},
    {"dart_ubj33.ubj", NULL, "FF FFFFF WWWW", "3.2-0", "DART-33"},
    {"dart_ubj34.ubj", NULL, "FF FFFFF WWWW", "1.7-1", "DART-33"},
    {"gblinear_bin17.bin", NULL, "WW oooooooo F", "3.2-0", "FMT-BIN-1"},
    {"gblinear_json31_bs0.45.json", NULL, "FF F WWWWWWW o", "1.2-1", "BS-ARRAY-SILENT"},
    /* categorical splits written by 1.5: 1.3/1.4 predict them as numeric splits
     * (v1.3.3:include/xgboost/tree_model.h:729-750) */
    {"categorical_json15.json", NULL, "FF FFF W ooooo", "1.3-1", "CAT-13"},
    /* one output per tree, num_target 2 (1.6+) */
    {"multitarget_bin17.bin", NULL, "WW WWWWW ooo F", "1.5-1", "MT-SCALAR"},
    {"multitarget_json174.json", NULL, "FF FFFFF oooo", "1.3-1", "FMT-TREE-16"},
    /* vector leaves as 3.2 writes them (leaf_weights) */
    {"vleaf_ubj32.ubj", NULL, "FF FFFFFFF W o", "3.0-5", "VLEAF-NEW"},
    /* memory snapshots of each booster type, pickled: CONFIG-offset (1.2), JSON (1.5): a
     * gblinear one loads in 1.0-1.2 (only trees need leaf_child_counts,
     * v1.2.0:src/tree/tree_model.cc:704-705), UBJSON (1.7.4, made by XGBoost itself) */
    {"pickle_cfgoff12_dart.pkl", NULL, "FF oooooooo F", "3.2-0", "SNAP-CFGOFF"},
    {"pickle_cfgoff12_gblinear.pkl", NULL, "FF oooooooo F", "0.90-1", "SNAP-CFGOFF"},
    {"pickle_snapjson15_dart.pkl", NULL, "FF FFF ooooo F", "1.2-2", "FMT-JSON-13"},
    {"pickle_snapjson15_gblinear.pkl", NULL, "FF oooooooo F", "3.2-0", "SNAP-JSON"},
    {"pickle_snapubj174_dart.pkl", NULL, "FF FFFFF oooo", "1.5-1", "SNAP-UBJ"},
    {"pickle_snapubj174_gblinear.pkl", NULL, "FF FFFFF oooo", "1.0-1", "SNAP-UBJ"},
    /* the same snapshots saved as the model file itself: pickle.load and load_model both fail
     * (CONFIG-offset: empty objective name, v1.0.0:src/learner.cc:495-501) */
    {"snap_cfgoff12.raw", NULL, "FF FFFFFFFFF", "1.7-1", "SNAP-AS-MODEL"},
    {"snap_json15.raw", NULL, "FF FFFFFFFFF", "1.5-1", "SNAP-AS-MODEL"},
    {"snap_ubj174.raw", NULL, "FF FFFFFFFFF", "3.0-5", "SNAP-AS-MODEL"},
    /* base_score inside and outside (0,1) as 2.x (a scalar) and 3.1+ (an array) write it */
    {"logistic_bin20_bs0.45.bin", NULL, "WW oooooooo F", "0.90-1", "FMT-BIN-1"},
    {"logistic_ubj31_bs0.5.ubj", NULL, "FF FFFFF oooo", "1.0-1", "BS-ARRAY"},
    {"logistic_ubj31_bs0.45.ubj", NULL, "FF FFFFF WWW o", "1.7-1", "BS-ARRAY-SILENT"},
    /* a binary named *.JSON: 1.0-1.5 compare the extension case-sensitively and sniff
     * (v1.0.0:src/common/io.h:81-88), 1.6+ lower-case it (v1.6.0:src/common/io.cc:146-150) */
    {"logistic_bin17_upper.JSON", "xgboost-model.JSON", "WW ooooo FFFF", "1.7-1", "NAME-JSON"},
};

Test(rules_forms, every_objective_and_form_gets_the_verdict_of_xgboosts_load_path)
{
    smx_buf bad = SMX_BUF_INIT;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        const struct form *f = &forms[i];
        int rc;
        json_t *rep = verify_json(NULL, package_form(f->file, f->entry, "f.tar.gz"), &rc);
        char want[16], got[16];
        size_t k = 0;
        for (const char *p = f->want; *p; p++)
            if (*p != ' ')
                want[k++] = *p;
        want[k] = '\0';
        cr_assert_eq(k, 11, "%s: 11 expectations", f->file);
        int any_bad = 0;
        for (size_t c = 0; c < 11; c++) {
            got[c] = code_of(verdict_of(rep, tags[c]));
            any_bad |= got[c] != 'o';
        }
        got[11] = '\0';
        if (strcmp(got, want))
            smx_buf_printf(&bad, "  %-32s got %s, expected %s\n", f->file, got, want);
        if (!reason(rep, f->at, f->rule))
            smx_buf_printf(&bad, "  %-32s %s: no %s reason\n", f->file, f->at, f->rule);
        /* a report with any container not ok exits 1 */
        if (rc != (any_bad ? 1 : 0))
            smx_buf_printf(&bad, "  %-32s exit status %d\n", f->file, rc);
        json_decref(rep);
    }
    cr_assert_null(bad.data, "verdicts that disagree with XGBoost's load path:\n%s",
                   bad.data ? bad.data : "");
}

/* ---- unknown is not ok --------------------------------------------------------------------- */

/*
 * The 1.3-1 container's own binary:logitraw model: a legacy binary whose header says 1.3 (the
 * container's XGBoost is 1.3.3). Whether 1.3.0 or 1.3.1+ wrote it decides how base_score is
 * read, and the bytes do not say. Before, it was judged as written by 1.3.0: wrong-predictions
 * in 1.3-1 ... 3.0-5 (its own container!), ok in 1.0-1 and 1.2-x.
 */
Test(rules_forms, a_writer_known_only_to_the_minor_is_unknown_not_1_3_0)
{
    const char *a = package_form("logitraw_bin13.bin", NULL, "lr13.tar.gz");
    int rc;
    json_t *rep = verify_json(NULL, a, &rc);
    cr_assert_eq(rc, 1, "unknown fails the report");
    cr_assert(json_is_false(json_object_get(rep, "ok")));
    cr_assert_eq(json_integer_value(json_object_get(rep, "unknown")), 8);
    for (size_t c = 2; c < 10; c++) {
        cr_assert_str_eq(verdict_of(rep, tags[c]), "unknown", "%s", tags[c]);
        json_t *x = reason(rep, tags[c], c < 5 ? "OBJ-LR-SHIFT-NEW" : "OBJ-LR-SHIFT-OLD");
        cr_assert_not_null(x, "%s: the rule that may apply", tags[c]);
        const char *msg = json_string_value(json_object_get(x, "message"));
        cr_assert(strstr(msg, "1.3.x") && strstr(msg, "1.3.1"), "%s: %s", tags[c], msg);
        const char *hint = json_string_value(json_object_get(container_of(rep, tags[c]), "hint"));
        cr_assert(hint && strstr(hint, "settles it") && strstr(hint, "--allow-unknown"), "%s: %s",
                  tags[c], hint);
    }
    cr_assert_str_eq(verdict_of(rep, "0.90-1"), "wrong-predictions", "FMT-BIN-1 is known");
    cr_assert_str_eq(verdict_of(rep, "3.2-0"), "fails", "FMT-BIN-1 is known");
    json_decref(rep);

    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "verify -c 1.3-1 '%s'", a), 1);
    cr_assert(strstr(out, "verdict: UNKNOWN") && strstr(out, "settle: "), "%s", out);
    cr_assert(strstr(out, "UNKNOWN: 0 errors, 1 unknown"), "%s", out);
    free(out);
}

/* --allow-unknown: the report passes, and says that it was allowed, in text and JSON. */
Test(rules_forms, allow_unknown_passes_and_says_so)
{
    const char *a = package_form("logitraw_bin13.bin", NULL, "lr13.tar.gz");
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "verify -c 1.3-1 -c 1.5-1 --allow-unknown '%s'", a), 0, "%s", out);
    cr_assert(strstr(out, "verdict: UNKNOWN (allowed by --allow-unknown)"), "%s", out);
    cr_assert(strstr(out, "OK: 0 errors, 2 unknown (allowed by --allow-unknown)"), "%s", out);
    free(out);
    int rc;
    json_t *rep = verify_json("-c 1.3-1 --allow-unknown", a, &rc);
    cr_assert_eq(rc, 0);
    cr_assert(json_is_true(json_object_get(rep, "ok")));
    cr_assert(json_is_true(json_object_get(rep, "allow_unknown")));
    cr_assert_str_eq(verdict_of(rep, "1.3-1"), "unknown", "still unknown, only allowed");
    json_decref(rep);
    /* a known failure is not allowed by it */
    a = package_form("sqlog_ubj305.ubj", NULL, "sq.tar.gz");
    cr_assert_eq(th_smxgb(&out, "verify -c 1.7-1 --allow-unknown '%s'", a), 1, "%s", out);
    free(out);
}

/* check: an unknown case fails the gate unless --allow-unknown, which the report shows. */
Test(rules_forms, check_reports_an_unknown_verdict_as_unknown)
{
    const char *a = package_form("logitraw_bin13.bin", NULL, "lr13.tar.gz");
    char *out = NULL;
    int rc = th_smxgb(&out, "check -c 1.5-1 --json '%s'", a);
    json_t *j = th_json(out);
    free(out);
    cr_assert_eq(rc, 1, "unknown is not a pass");
    json_t *c0 = json_array_get(json_object_get(j, "cases"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(c0, "status")), "unknown");
    int found = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(c0, "findings"), i, f)
    {
        found |= !strcmp(json_string_value(json_object_get(f, "code")), "verdict-unknown") &&
                 !strcmp(json_string_value(json_object_get(f, "severity")), "unknown");
    }
    cr_assert(found, "a verdict-unknown finding");
    json_decref(j);
    rc = th_smxgb(&out, "check -c 1.5-1 --allow-unknown '%s'", a);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "allowed by --allow-unknown"), "%s", out);
    free(out);
}

/* A raw CONFIG-offset snapshot (what XGBoosterSerializeToBuffer writes in 1.0-1.2) as the model
 * file: pickle.load and load_model both fail in every container; before, ok in 1.0-1 ... 3.0-5.
 * The real 1.7.4 load says so too. */
Test(rules_forms, a_raw_config_offset_snapshot_fails_everywhere)
{
    int rc;
    json_t *rep = verify_json(NULL, package_form("snap_cfgoff12.raw", NULL, "cfg.tar.gz"), &rc);
    cr_assert_eq(rc, 1);
    for (size_t c = 0; c < 11; c++) {
        cr_assert_str_eq(verdict_of(rep, tags[c]), "fails", "%s", tags[c]);
        cr_assert_not_null(reason(rep, tags[c], "SNAP-AS-MODEL"), "%s", tags[c]);
    }
    json_t *lc = json_object_get(json_array_get(json_object_get(rep, "models"), 0), "load_check");
    cr_assert(json_is_false(json_object_get(lc, "loaded")));
    cr_assert(strstr(json_string_value(json_object_get(lc, "error")), "Unknown objective"), "%s",
              json_string_value(json_object_get(lc, "error")));
    json_decref(rep);
}
