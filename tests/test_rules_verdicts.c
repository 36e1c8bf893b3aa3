/*
 * Verdicts end to end: every fixture model, packaged as xgboost-model, through `smxgb verify
 * --json`, against the load matrix measured with ten real XGBoost versions
 * (data/verdicts/matrix-sagemaker.csv: the rows loaded from a file named xgboost-model, as
 * SageMaker does, and under a misleading .json/.ubj name, plus the snapshot rows that stand for
 * pickle.load); convert round trips;
 * load checks whose child crashes, aborts or hangs decide the verdict of that version; the rules
 * engine on models no fixture has (pickles, 3.1+ base_score arrays). The load check itself
 * (deadline, memory limit, the helper process, wheels) is tested in test_runtime_loadcheck.c.
 */
#include "compat/compat.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <math.h>
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
TestSuite(rules_verdicts, .init = setup, .fini = teardown, .timeout = 300);

static const char *model_path(const char *rel)
{
    return th_path(SMXGB_TESTDATA "/models", rel);
}

/*
 * The fixture file rel, or a byte-identical one (same sha256 in manifest.csv): tests/data keeps
 * one copy of each distinct file (3.0.5's extensionless .bin is its .ubj, a .raw is its .bin).
 */
static const char *fixture_file(const char *rel)
{
    static char found[4096];
    if (access(model_path(rel), R_OK) == 0) {
        snprintf(found, sizeof found, "%s", model_path(rel));
        return found;
    }
    char *text = th_read(SMXGB_TESTDATA "/models/manifest.csv", NULL);
    char want_sha[80] = "", key[256];
    snprintf(key, sizeof key, ",models/%s,", rel);
    char *line = strstr(text, key);
    cr_assert_not_null(line, "%s is in manifest.csv", rel);
    char *eol = line + strcspn(line, "\r\n");
    char *comma = eol;
    while (comma > line && *comma != ',')
        comma--;
    snprintf(want_sha, sizeof want_sha, "%.*s", (int)(eol - comma - 1), comma + 1);
    found[0] = '\0';
    for (char *l = strtok(text, "\r\n"); l && !found[0]; l = strtok(NULL, "\r\n")) {
        size_t n = strlen(l);
        if (n < 64 || strcmp(l + n - 64, want_sha))
            continue;
        char *f = strstr(l, ",models/");
        if (!f)
            continue;
        f += strlen(",models/");
        char other[256];
        snprintf(other, sizeof other, "%.*s", (int)strcspn(f, ","), f);
        if (access(model_path(other), R_OK) == 0)
            snprintf(found, sizeof found, "%s", model_path(other));
    }
    free(text);
    cr_assert(found[0], "a file with the bytes of %s (sha256 %s) in tests/data/models", rel,
              want_sha);
    return found;
}

/* Package the bytes of a fixture file as entry into dir/name. */
static const char *package_named(const char *fixture_rel, const char *entry, const char *name)
{
    size_t n;
    char *m = th_read(fixture_file(fixture_rel), &n);
    th_entry e[] = {{entry, 'f', 0, m, n, NULL}};
    char out[4096];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    th_write_archive(out, "gzip", "ustar", e, 1);
    free(m);
    return th_path(dir, name);
}

/* Package the bytes of a fixture file as xgboost-model into dir/name. */
static const char *package_as_model(const char *fixture_rel, const char *name)
{
    size_t n;
    char *m = th_read(fixture_file(fixture_rel), &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    char out[4096];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    th_write_archive(out, "gzip", "ustar", e, 1);
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
    json_array_foreach(
        json_object_get(rep, "containers"), i,
        c) if (!strcmp(json_string_value(json_object_get(c, "container")), tag)) return c;
    return NULL;
}

static const char *verdict_of(json_t *rep, const char *tag)
{
    json_t *c = container_of(rep, tag);
    cr_assert_not_null(c, "container %s in the report", tag);
    return json_string_value(json_object_get(c, "verdict"));
}

static int has_reason(json_t *rep, const char *tag, const char *rule)
{
    size_t i;
    json_t *x;
    json_array_foreach(
        json_object_get(container_of(rep, tag), "reasons"), i,
        x) if (!strcmp(json_string_value(json_object_get(x, "rule")), rule)) return 1;
    return 0;
}

/* ---- the measured matrix as the oracle ---------------------------------------------------- */

/* Split one CSV line (RFC 4180 quotes) into at most max fields, in place. */
static size_t csv_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *w = ++p, *start = p;
            for (;;) {
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"' || !*p) {
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            if (*p == '"')
                p++;
            *w = '\0';
            f[n++] = start;
            if (*p == ',')
                p++;
            else
                break;
        } else {
            f[n++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = '\0';
            p = c + 1;
        }
    }
    return n;
}

typedef struct row {
    char file[128], reader[16], name[32], verdict[24];
} row;

static row *load_matrix(size_t *n)
{
    size_t len;
    char *text = th_read(SMXGB_TESTDATA "/verdicts/matrix-sagemaker.csv", &len);
    row *rows = calloc(2048, sizeof *rows);
    size_t k = 0;
    char *save = NULL;
    int first = 1;
    for (char *line = strtok_r(text, "\n", &save); line && k < 2048;
         line = strtok_r(NULL, "\n", &save)) {
        if (first) {
            first = 0;
            continue;
        }
        char *f[9] = {0};
        if (csv_split(line, f, 9) < 8)
            continue;
        /* writer,config,format,file,reader,name_used,load_ok,max_abs_diff,error */
        const char *err = f[8] ? f[8] : "";
        const char *v;
        if (strcmp(f[6], "1"))
            v = "fails";
        else if (!*err && *f[7] && atof(f[7]) <= 1e-5)
            v = "ok";
        else
            v = "wrong-predictions";
        snprintf(rows[k].file, sizeof rows[k].file, "%s", f[3] + strlen("models/"));
        snprintf(rows[k].reader, sizeof rows[k].reader, "%s", f[4]);
        snprintf(rows[k].name, sizeof rows[k].name, "%s", f[5]);
        snprintf(rows[k].verdict, sizeof rows[k].verdict, "%s", v);
        k++;
    }
    free(text);
    *n = k;
    return rows;
}

static const row *find_row(const row *rows, size_t n, const char *file, const char *reader,
                           const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].file, file) && !strcmp(rows[i].reader, reader) &&
            !strcmp(rows[i].name, name))
            return &rows[i];
    return NULL;
}

/* The measured version standing for a container's pinned XGBoost: the same release, or the
 * same minor series (1.0.0 -> 1.0.2, 1.2.0 -> 1.2.1); NULL when not measured (3.2.0). */
static const char *measured_reader(const char *pinned)
{
    static const char *measured[] = {"0.90",  "1.0.2", "1.2.1", "1.3.3", "1.5.2", "1.7.4",
                                     "2.0.3", "2.1.4", "3.0.5", "3.4.1", NULL};
    for (const char **m = measured; *m; m++) {
        if (!strcmp(*m, pinned))
            return *m;
        size_t k = strrchr(*m, '.') - *m;
        if (strchr(*m, '.') != strrchr(*m, '.') && !strncmp(*m, pinned, k + 1) &&
            strchr(pinned, '.') != strrchr(pinned, '.'))
            return *m;
    }
    return NULL;
}

static void check_matrix(const char *name_used, const char *entry_name, size_t min_files);

Test(rules_verdicts, every_fixture_model_agrees_with_the_measured_matrix)
{
    check_matrix("xgboost-model", "xgboost-model", 65);
}

/* The same files under a misleading extension (XGBoost dispatches on it): a binary named
 * model.json, a binary or JSON named model.ubj. */
Test(rules_verdicts, misnamed_files_agree_with_the_measured_matrix)
{
    check_matrix("wrongext.json", "model.json", 40);
    check_matrix("wrongext.ubj", "model.ubj", 15);
}

static void check_matrix(const char *name_used, const char *entry_name, size_t min_files)
{
    size_t nrows;
    row *rows = load_matrix(&nrows);
    cr_assert_gt(nrows, 600, "matrix rows: %zu", nrows);
    /* every distinct file of the matrix */
    const compat_container *tab;
    size_t nt;
    smx_err err = {0};
    cr_assert_eq(compat_containers(&tab, &nt, &err), SMX_OK, "%s", err.msg);
    size_t pairs = 0, files = 0;
    smx_buf mismatches = SMX_BUF_INIT;
    for (size_t i = 0; i < nrows; i++) {
        if (strcmp(rows[i].name, name_used))
            continue;
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= !strcmp(rows[k].file, rows[i].file) && !strcmp(rows[k].name, name_used);
        if (seen)
            continue;
        files++;
        const char *file = rows[i].file;
        const char *a = package_named(file, entry_name, "m.tar.gz");
        int rc;
        json_t *rep = verify_json(NULL, a, &rc);
        int is_pickle = strstr(file, ".pkl") != NULL;
        char state[160];
        snprintf(state, sizeof state, "%.*s.state", (int)(strrchr(file, '.') - file), file);
        for (size_t c = 0; c < nt; c++) {
            const char *reader = measured_reader(tab[c].xgboost_str);
            if (!reader)
                continue;
            const row *r = find_row(rows, nrows, file, reader, name_used);
            cr_assert_not_null(r, "%s read by %s is in the matrix", file, reader);
            const char *want = r->verdict;
            if (is_pickle) {
                /* the container's pickle.load restores the snapshot
                 * (XGBoosterUnserializeFromBuffer) before it ever calls load_model on the file */
                const row *s = find_row(rows, nrows, state, reader, "(UnserializeFromBuffer)");
                cr_assert_not_null(s, "%s unserialized by %s is in the matrix", state, reader);
                if (!strcmp(s->verdict, "ok"))
                    want = "ok";
            }
            const char *got = verdict_of(rep, tab[c].tag);
            pairs++;
            if (strcmp(got, want))
                smx_buf_printf(&mismatches,
                               "  %s in %s (XGBoost %s, measured %s): verdict %s, measured %s\n",
                               file, tab[c].tag, tab[c].xgboost_str, reader, got, want);
        }
        /* the report exits 1 exactly when some container is not ok */
        int any_bad = 0;
        for (size_t c = 0; c < nt; c++)
            any_bad |= strcmp(verdict_of(rep, tab[c].tag), "ok") != 0;
        cr_assert_eq(rc, any_bad ? 1 : 0, "%s: exit status %d", file, rc);
        json_decref(rep);
    }
    free(rows);
    cr_assert_geq(files, min_files, "every fixture model file (%zu)", files);
    cr_assert_geq(pairs, min_files * 10, "pairs compared: %zu", pairs);
    cr_assert_null(mismatches.data, "verdicts that disagree with the measured matrix:\n%s",
                   mismatches.data ? mismatches.data : "");
}

Test(rules_verdicts, reasons_and_hints_say_what_to_do)
{
    const char *a = package_as_model("3.0.5/binary_logistic.bin", "ubj.tar.gz");
    int rc;
    json_t *rep = verify_json("-c 1.5-1 -c 1.7-1", a, &rc);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(verdict_of(rep, "1.5-1"), "fails");
    cr_assert(has_reason(rep, "1.5-1", "FMT-UBJ"), "UBJSON needs 1.6+");
    const char *hint = json_string_value(json_object_get(container_of(rep, "1.5-1"), "hint"));
    cr_assert(hint && strstr(hint, "smxgb convert") && strstr(hint, "--container 1.5-1"),
              "hint: %s", hint);
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "ok");
    cr_assert(json_is_null(json_object_get(container_of(rep, "1.7-1"), "hint")));
    /* the real load by Debian's 1.7.4 is reported, compared with the reference predictor */
    json_t *lc = json_object_get(json_array_get(json_object_get(rep, "models"), 0), "load_check");
    cr_assert(json_is_true(json_object_get(lc, "loaded")), "loaded with 1.7.4");
    cr_assert_str_eq(json_string_value(json_object_get(lc, "xgboost")), "1.7.4");
    cr_assert(json_is_number(json_object_get(lc, "max_abs_diff")) &&
                  json_number_value(json_object_get(lc, "max_abs_diff")) <= 1e-5,
              "predictions match the reference predictor");
    cr_assert(has_reason(rep, "1.7-1", "LOAD-CHECK"));
    json_decref(rep);

    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "verify -c 1.5-1 '%s'", a), 1);
    cr_assert(strstr(out, "FAILS") && strstr(out, "UBJSON needs XGBoost >= 1.6"), "%s", out);
    cr_assert(strstr(out, "fix: run `smxgb convert"), "%s", out);
    cr_assert(strstr(out, "loaded with XGBoost 1.7.4 (the system's library): ok"), "%s", out);
    free(out);
}

/* ---- convert ------------------------------------------------------------------------------ */

Test(rules_verdicts, convert_ubjson_for_1_5_1_round_trip)
{
    const char *a = package_as_model("3.0.5/binary_logistic.bin", "in.tar.gz");
    char out1[4096], out2[4096];
    snprintf(out1, sizeof out1, "%s/c1.tar.gz", dir);
    snprintf(out2, sizeof out2, "%s/c2.tar.gz", dir);
    char *o = NULL;
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.5-1 -o '%s' --json", a, out1), 0, "%s",
                 o);
    json_t *j = th_json(o);
    free(o);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "to"), "format")),
                     "deprecated");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "to"), "writer")),
                     "1.7.4");
    cr_assert_eq(json_number_value(json_object_get(j, "max_abs_diff")), 0.0, "equal predictions");
    cr_assert_geq(json_integer_value(json_object_get(j, "rows")), 8);
    cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "ok");
    const char *sha1 = json_string_value(json_object_get(j, "sha256"));

    /* the 1.5-1 rules accept the result, and a real 1.7.4 load predicts what the reference
     * predictor computes from the converted file */
    int rc;
    json_t *rep = verify_json("-c 1.5-1 -c 1.7-1", out1, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(verdict_of(rep, "1.5-1"), "ok");
    json_t *m0 = json_array_get(json_object_get(rep, "models"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(m0, "payload")),
                     compat_payload_name(COMPAT_PAYLOAD_BIN));
    json_t *lc = json_object_get(m0, "load_check");
    cr_assert(json_is_true(json_object_get(lc, "loaded")));
    cr_assert(json_number_value(json_object_get(lc, "max_abs_diff")) <= 1e-5);
    json_decref(rep);

    /* the converted file predicts what the writer (3.0.5) predicted on the fixture rows
     * (the reference predictor on the converted file vs the writer's own output) */
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/x' && tar -C '%s/x' -xzf '%s'", dir, dir, out1);
    cr_assert_eq(th_run(cmd, NULL), 0);
    size_t n;
    char *conv = th_read(th_path(dir, "x/xgboost-model"), &n);
    compat_model_info *ci;
    smx_err err = {0};
    cr_assert_eq(compat_identify(conv, n, "xgboost-model", &ci, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(ci->payload, COMPAT_PAYLOAD_BIN);
    char *tm = th_read(SMXGB_TESTDATA "/verdicts/test_matrix.csv", NULL);
    char *pr = th_read(SMXGB_TESTDATA "/verdicts/3.0.5-binary_logistic.preds.txt", NULL);
    float X[20 * 6];
    double want[20];
    size_t nx = 0, np = 0;
    for (char *t = strtok(tm, ",\n"); t && nx < 120; t = strtok(NULL, ",\n"))
        X[nx++] = strcmp(t, "nan") && strcmp(t, "NaN") ? strtof(t, NULL) : NAN;
    for (char *t = strtok(pr, "\n"); t && np < 20; t = strtok(NULL, "\n"))
        want[np++] = strtod(t, NULL);
    cr_assert_eq(nx, 120);
    cr_assert_eq(np, 20);
    compat_pred p = {0};
    cr_assert_eq(compat_reference_predict(ci, X, 20, 6, 0, &p, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(p.rows * p.cols, 20);
    for (size_t i = 0; i < 20; i++)
        cr_assert(fabs(p.values[i] - want[i]) <= 1e-5, "row %zu: converted %g, writer %g", i,
                  p.values[i], want[i]);
    compat_pred_free(&p);
    compat_model_info_free(ci);
    free(conv);
    free(tm);
    free(pr);

    /* deterministic: the same input converts to the same bytes */
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.5-1-arm64 -o '%s' --json", a, out2), 0,
                 "%s", o);
    json_t *j2 = th_json(o);
    free(o);
    cr_assert_str_eq(sha1, json_string_value(json_object_get(j2, "sha256")));
    json_decref(j2);
    json_decref(j);
}

/* An sklearn wrapper pickle fails in every container (Booster methods are called on it), but
 * the booster inside it can be re-saved as the model file the container expects. */
Test(rules_verdicts, convert_unwraps_an_sklearn_pickle)
{
    const char *a = package_as_model("synth/pickle_xgbclassifier.pkl", "skl.tar.gz");
    int rc;
    json_t *rep = verify_json("-c 1.7-1", a, &rc);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "fails");
    cr_assert(has_reason(rep, "1.7-1", "PKL-CLASS"));
    json_decref(rep);
    char out[4096];
    snprintf(out, sizeof out, "%s/booster.tar.gz", dir);
    char *o = NULL;
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.7-1 -o '%s'", a, out), 0, "%s", o);
    cr_assert(strstr(o, "max |diff| 0"), "%s", o);
    free(o);
    rep = verify_json("-c 1.7-1", out, &rc);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "ok");
    json_decref(rep);
}

Test(rules_verdicts, convert_refuses_and_says_why)
{
    char out[4096];
    snprintf(out, sizeof out, "%s/never.tar.gz", dir);
    char *o = NULL;
    /* vector-leaf trees: Debian's 1.7.4 cannot read them at all */
    const char *mt = package_as_model("3.0.5/multi_output_tree.ubj", "mt.tar.gz");
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.5-1 -o '%s' 2>&1", mt, out), 1, "%s", o);
    cr_assert(strstr(o, "refused") && strstr(o, "1.7.4"), "%s", o);
    free(o);
    cr_assert_neq(access(out, F_OK), 0, "nothing written");
    /* 0.90 reads no format 1.7.4 writes correctly */
    const char *ubj = package_as_model("3.0.5/reg_squarederror.ubj", "r.tar.gz");
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 0.90-2 -o '%s' 2>&1", ubj, out), 1, "%s",
                 o);
    cr_assert(strstr(o, "refused") && strstr(o, "no format"), "%s", o);
    free(o);
    cr_assert_neq(access(out, F_OK), 0, "nothing written");
    /* already fine: nothing to convert, and the artifact is written unchanged (so that
     * `convert ... -o out && upload out` works) */
    cr_assert_eq(th_smxgb(&o, "convert '%s' --container 1.7-1 -o '%s'", ubj, out), 0, "%s", o);
    cr_assert(strstr(o, "nothing to convert"), "%s", o);
    free(o);
    size_t n1, n2;
    char *a = th_read(ubj, &n1), *b = th_read(out, &n2);
    cr_assert(a && b && n1 == n2 && !memcmp(a, b, n1), "a copy of the artifact");
    free(a);
    free(b);
}

/* ---- load checks that go wrong ------------------------------------------------------------ */

static json_t *fake_verify(const char *mode, const char *a, int *rc)
{
    char *out = NULL;
    *rc = th_smxgb(&out, "verify --json -c 1.7-1 -c 1.5-1 --xgboost-lib '%s' '%s' 2>/dev/null",
                   SMXGB_FAKE_XGBOOST, a);
    (void)mode;
    json_t *j = th_json(out);
    free(out);
    return j;
}

Test(rules_verdicts, a_crashing_or_hanging_load_never_takes_smxgb_down)
{
    const char *a = package_as_model("1.7.4/binary_logistic.bin", "b.tar.gz");
    static const char *modes[] = {"segv", "abort", "error"};
    for (size_t i = 0; i < 3; i++) {
        setenv("FAKE_XGB_MODE", modes[i], 1);
        int rc;
        json_t *rep = fake_verify(modes[i], a, &rc);
        cr_assert_eq(rc, 1, "%s: a report with errors, not a crash of smxgb", modes[i]);
        json_t *lc =
            json_object_get(json_array_get(json_object_get(rep, "models"), 0), "load_check");
        cr_assert(json_is_false(json_object_get(lc, "loaded")), "%s", modes[i]);
        const char *e = json_string_value(json_object_get(lc, "error"));
        if (!strcmp(modes[i], "error"))
            cr_assert(e && strstr(e, "fake load error"), "%s: %s", modes[i], e);
        else
            cr_assert(e && (strstr(e, "crashed (SIG") || strstr(e, "without a result")), "%s: %s",
                      modes[i], e);
        if (!strcmp(modes[i], "abort"))
            cr_assert(strstr(e, "bad_alloc"), "the child's stderr is quoted: %s", e);
        /* the fake claims 1.7.4: its failure decides 1.7-1, not 1.5-1 */
        cr_assert_str_eq(verdict_of(rep, "1.7-1"), "fails");
        cr_assert(has_reason(rep, "1.7-1", "LOAD-CHECK"));
        cr_assert_str_eq(verdict_of(rep, "1.5-1"), "ok");
        json_decref(rep);
    }
    unsetenv("FAKE_XGB_MODE");
}

/* ---- ensembles ---------------------------------------------------------------------------- */

Test(rules_verdicts, several_real_models_are_an_ensemble_warning)
{
    size_t n1, n2;
    char *m1 = th_read(model_path("1.7.4/binary_logistic.bin"), &n1);
    char *m2 = th_read(model_path("1.7.4/binary_logistic.json"), &n2);
    th_entry e[] = {{"model-a", 'f', 0, m1, n1, NULL}, {"model-b", 'f', 0, m2, n2, NULL}};
    th_write_archive(th_path(dir, "ens.tar.gz"), "gzip", "ustar", e, 2);
    int rc;
    json_t *rep = verify_json("-c 1.7-1", th_path(dir, "ens.tar.gz"), &rc);
    cr_assert_eq(rc, 0, "an ensemble of real models is supported");
    cr_assert(th_has_finding(rep, "layout-ensemble", "1.7-1"));
    cr_assert(!th_has_finding(rep, "layout-multiple-models", "1.7-1"));
    json_decref(rep);
    /* JSON from 1.7.4 fails in 1.5-1: the ensemble fails there as a whole */
    rep = verify_json("-c 1.5-1", th_path(dir, "ens.tar.gz"), &rc);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(verdict_of(rep, "1.5-1"), "fails");
    json_decref(rep);

    th_entry e2[] = {{"xgboost-model", 'f', 0, m1, n1, NULL},
                     {"notes.txt", 'f', 0, "notes", 5, NULL}};
    th_write_archive(th_path(dir, "stray.tar.gz"), "gzip", "ustar", e2, 2);
    rep = verify_json("-c 1.7-1", th_path(dir, "stray.tar.gz"), &rc);
    cr_assert_eq(rc, 1, "a stray file is still an error");
    cr_assert(th_has_finding(rep, "layout-multiple-models", "1.7-1"));
    json_decref(rep);
    free(m1);
    free(m2);
}

/* ---- the rules on models no fixture has --------------------------------------------------- */

static compat_judgement judge(compat_model_info *m, const char *tag)
{
    const compat_container *c = compat_container_find(tag);
    cr_assert_not_null(c);
    compat_reader r = {c->xgboost, c->python, c->tag};
    compat_judgement j;
    smx_err err = {0};
    cr_assert_eq(compat_judge(m, "xgboost-model", &r, NULL, &j, &err), SMX_OK, "%s", err.msg);
    return j;
}

static int judged_by(const compat_judgement *j, const char *rule)
{
    for (size_t i = 0; i < j->n_reasons; i++)
        if (!strcmp(j->reasons[i].rule, rule))
            return 1;
    return 0;
}

static compat_model_info base_model(compat_format f, compat_payload p, const char *writer)
{
    compat_model_info m;
    memset(&m, 0, sizeof m);
    m.format = f;
    m.payload = p;
    compat_version_parse(writer, &m.writer_min);
    m.writer_max = m.writer_min;
    m.writer_exact = 1;
    snprintf(m.objective, sizeof m.objective, "binary:logistic");
    snprintf(m.booster, sizeof m.booster, "gbtree");
    m.num_feature = 5;
    m.num_target = 1;
    return m;
}

Test(rules_verdicts, base_score_array_predicts_wrongly_before_3_1)
{
    compat_model_info m = base_model(COMPAT_FMT_UBJSON, COMPAT_PAYLOAD_UBJ, "3.1.0");
    m.base_score_array = 1;
    snprintf(m.base_score, sizeof m.base_score, "[4.5E-1]");
    compat_judgement j = judge(&m, "1.7-1");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_WRONG);
    cr_assert(judged_by(&j, "BS-ARRAY-SILENT"));
    compat_judgement_free(&j);
    j = judge(&m, "1.0-1");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_FAILS, "1.0-1.1 cannot parse it at all");
    cr_assert(judged_by(&j, "BS-ARRAY"));
    compat_judgement_free(&j);
    /* an array of 0.5 values: the 0.5 fallback predicts the same */
    snprintf(m.base_score, sizeof m.base_score, "[5E-1,5E-1,5E-1]");
    j = judge(&m, "1.7-1");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_OK);
    compat_judgement_free(&j);
    snprintf(m.base_score, sizeof m.base_score, "[4.5E-1]");
    j = judge(&m, "3.0-5");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_WRONG);
    compat_judgement_free(&j);
    j = judge(&m, "3.2-0");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_OK);
    compat_judgement_free(&j);
}

Test(rules_verdicts, pickles_protocol_class_and_snapshot_version_count)
{
    compat_model_info m = base_model(COMPAT_FMT_PICKLE, COMPAT_PAYLOAD_SNAP_UBJ, "1.7.4");
    m.pickle_protocol = 5;
    m.pickle_is_booster = 1;
    compat_judgement j = judge(&m, "1.7-1");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_OK, "Python 3.9 reads protocol 5");
    compat_judgement_free(&j);
    j = judge(&m, "1.3-1");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_FAILS);
    cr_assert(judged_by(&j, "PKL-PROTO5"), "Python 3.7 cannot read protocol 5");
    cr_assert(judged_by(&j, "SNAP-UBJ"), "and 1.3.3 cannot read a UBJ snapshot");
    compat_judgement_free(&j);
    j = judge(&m, "3.0-5");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_OK);
    cr_assert(judged_by(&j, "SNAP-UBJ"), "a note: restored by another version than its writer");
    compat_judgement_free(&j);

    /* a 0.90 pickle (its payload is a 0.90 binary) only in 0.90-x */
    compat_model_info old = base_model(COMPAT_FMT_PICKLE, COMPAT_PAYLOAD_BIN, "0.90");
    old.pickle_protocol = 2;
    old.pickle_is_booster = 1;
    j = judge(&old, "0.90-2");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_OK);
    compat_judgement_free(&j);
    j = judge(&old, "1.0-1");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_FAILS);
    cr_assert(judged_by(&j, "SNAP-090"));
    compat_judgement_free(&j);

    /* an sklearn wrapper fails everywhere: the container calls Booster methods on it */
    m.pickle_is_booster = 0;
    snprintf(m.pickle_class, sizeof m.pickle_class, "xgboost.sklearn XGBClassifier");
    j = judge(&m, "1.7-1");
    cr_assert_eq(j.verdict, COMPAT_VERDICT_FAILS);
    cr_assert(judged_by(&j, "PKL-CLASS"));
    cr_assert(strstr(j.reasons[0].message, "XGBClassifier"), "%s", j.reasons[0].message);
    compat_judgement_free(&j);
}

/* Does text cite a source line as vX.Y.Z:path:line (dmlc/xgboost at a tag) or
 * XC@branch:path:line (aws/sagemaker-xgboost-container)? */
static int cites_source_line(const char *text)
{
    for (const char *p = text; *p; p++) {
        int start = p == text || p[-1] == ' ' || p[-1] == '(';
        if (!start || !((p[0] == 'v' && p[1] >= '0' && p[1] <= '9') || !strncmp(p, "XC@", 3)))
            continue;
        size_t tok = strcspn(p, " ,;)");
        const char *c1 = memchr(p, ':', tok);
        const char *c2 = c1 ? memchr(c1 + 1, ':', tok - (size_t)(c1 + 1 - p)) : NULL;
        if (c2 && c2 - c1 > 2 && c2[1] >= '0' && c2[1] <= '9')
            return 1;
    }
    return 0;
}

Test(rules_verdicts, every_rule_names_its_source)
{
    size_t n;
    smx_err err = {0};
    cr_assert_eq(compat_rules(&n, &err), SMX_OK, "%s", err.msg);
    cr_assert_geq(n, 30);
    char *text = th_read(SMXGB_SOURCE_DIR "/compat/rules/rules.json", NULL);
    json_t *j = th_json(text);
    free(text);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(j, "rules"), i, r)
    {
        const char *src = json_string_value(json_object_get(r, "source"));
        const char *id = json_string_value(json_object_get(r, "id"));
        cr_assert(src && (strstr(src, "formats.md") || strstr(src, "container.md")),
                  "rule %s names its reference section", id);
        /* and the line of XGBoost's load path (or the container's) it rests on */
        int cited = cites_source_line(src);
        cr_assert(cited, "rule %s cites XGBoost's source as vX.Y.Z:path:line: %s", id, src);
        cr_assert_str_eq(json_string_value(json_object_get(r, "id")), compat_rule_id(i));
    }
    json_decref(j);
}

/* ---- files no measured version wrote: the reference's rules ------------------------------- */

/*
 * Synthetic files (tests/data/models/synth, made by make.py from real ones) for what the
 * fixtures lack: 0.90-layout binaries and pickles, CONFIG-offset/JSON/UBJ snapshot pickles, an
 * sklearn wrapper, joblib, a 3.1-style base_score array. Expected verdicts per container, in
 * table order (0.90-1 0.90-2 1.0-1 1.2-1 1.2-2 1.3-1 1.5-1 1.7-1 1.7-1-1 3.0-5 3.2-0), from
 * formats.md §1.4, §2.5, §4, §5 and container.md §2: o = ok, F = fails, W = wrong-predictions.
 */
Test(rules_verdicts, synthetic_models_follow_the_reference_rules)
{
    static const struct {
        const char *file, *want;
    } cases[] = {
        {"bin090_binary_logistic.bin", "oooooooooo F"},
        {"bin10_reg_squarederror.bin", "WWoooooooo F"},
        {"pickle_p0_090.pkl", "ooFFFFFFFFF"},
        {"pickle_p2_090.pkl", "ooFFFFFFFFF"},
        {"pickle_p1_cfgoff.pkl", "FFooooooooF"},
        {"pickle_p3_cfgoff10.pkl", "FFooooooooF"},
        {"pickle_p3_snapjson.pkl", "FFFFFooooo F"},
        {"pickle_p5_snapubj.pkl", "FFFFFFFoooo"},
        {"pickle_xgbclassifier.pkl", "FFFFFFFFFFF"},
        {"pickle_sklearn_rf.pkl", "FFFFFFFFFFF"},
        {"joblib_zlib.joblib", "FFFFFFFFFFF"},
        {"lightgbm.txt", "FFFFFFFFFFF"},
        {"json12_leaf_child_counts.json", "FFooooooooo"},
        {"ubj31_typed.ubj", "FFFFFFFFFWo"},
    };
    static const char *tags[] = {"0.90-1", "0.90-2", "1.0-1",   "1.2-1", "1.2-2", "1.3-1",
                                 "1.5-1",  "1.7-1",  "1.7-1-1", "3.0-5", "3.2-0"};
    smx_buf bad = SMX_BUF_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "synth/%s", cases[i].file);
        const char *a = package_as_model(rel, "s.tar.gz");
        int rc;
        json_t *rep = verify_json(NULL, a, &rc);
        char want[16];
        size_t k = 0;
        for (const char *p = cases[i].want; *p; p++)
            if (*p != ' ')
                want[k++] = *p;
        want[k] = '\0';
        cr_assert_eq(k, 11, "%s: 11 expectations", cases[i].file);
        for (size_t c = 0; c < 11; c++) {
            const char *w = want[c] == 'o' ? "ok" : want[c] == 'F' ? "fails" : "wrong-predictions";
            const char *got = verdict_of(rep, tags[c]);
            if (strcmp(got, w))
                smx_buf_printf(&bad, "  %s in %s: %s, expected %s\n", cases[i].file, tags[c], got,
                               w);
        }
        json_decref(rep);
    }
    cr_assert_null(bad.data, "verdicts that disagree with the reference rules:\n%s",
                   bad.data ? bad.data : "");
}

/* A model over --load-max-bytes is read as it streams (memory stays bounded for huge
 * artifacts): every fact drives the rules, nothing is missing (no PARTIAL note), and it is
 * reported not load-checked, naming the limit and the option that raises it. */
Test(rules_verdicts, a_large_model_is_judged_from_its_head)
{
    const char *a = package_as_model("1.7.4/multi_softprob.bin", "big.tar.gz");
    int rc;
    json_t *rep = verify_json("--load-max-bytes 4096 -c 0.90-1 -c 1.7-1", a, &rc);
    json_t *m0 = json_array_get(json_object_get(rep, "models"), 0);
    cr_assert(json_is_true(json_object_get(m0, "partial")));
    cr_assert_str_eq(json_string_value(json_object_get(m0, "writer")), "1.7");
    json_t *lc = json_object_get(m0, "load_check");
    cr_assert(json_is_false(json_object_get(lc, "ran")));
    cr_assert(strstr(json_string_value(json_object_get(lc, "note")), "--load-max-bytes"));
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "ok");
    cr_assert_str_eq(verdict_of(rep, "0.90-1"), "wrong-predictions", "FMT-BIN-1 from the header");
    cr_assert(!has_reason(rep, "1.7-1", "PARTIAL"), "every fact was read");
    cr_assert_eq(rc, 1);
    json_decref(rep);
}

/*
 * A JSON model larger than the 32 MiB verify keeps whole, written by XGBoost 1.7.4 (generated
 * here through the runtime: a few trees and a 34 MiB attribute, which XGBoost writes before
 * the trees), is read as it streams. Its "version" is the last member of the file, so verify
 * knows the writer: 1.5-1 cannot read the integer default_left that 1.7.4 writes
 * (FMT-TREE-16). Before, the version was not read and 1.5-1 was called ok. inspect names the
 * same writer.
 */
Test(rules_verdicts, a_large_json_model_is_judged_by_the_version_at_its_end)
{
    smx_err err = {0};
    compat_xgb *x;
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(compat_xgb_version(x).minor, 7, "the system XGBoost is 1.7.x");
    size_t nr = 200, nc = 4;
    float *X = malloc(nr * nc * sizeof *X), *y = malloc(nr * sizeof *y);
    for (size_t i = 0; i < nr * nc; i++)
        X[i] = (float)((i * 7919) % 1000) / 100.0f;
    for (size_t i = 0; i < nr; i++)
        y[i] = X[i * nc] + X[i * nc + 1];
    compat_dmatrix *d;
    cr_assert_eq(compat_dmatrix_from_dense(x, X, nr, nc, NAN, 1, &d, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(compat_dmatrix_set_float_info(d, "label", y, nr, &err), SMX_OK, "%s", err.msg);
    compat_booster *b;
    cr_assert_eq(compat_booster_create(x, &d, 1, &b, &err), SMX_OK, "%s", err.msg);
    compat_booster_set_param(b, "nthread", "1", &err);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(compat_booster_update(b, i, d, &err), SMX_OK, "%s", err.msg);
    size_t big = (size_t)34 << 20;
    char *note = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        note[i] = "training notes "[i % 15];
    note[big] = '\0';
    cr_assert_eq(compat_booster_set_attr(b, "notes", note, &err), SMX_OK, "%s", err.msg);
    free(note);
    void *json;
    size_t n;
    cr_assert_eq(compat_booster_save(b, "json", &json, &n, &err), SMX_OK, "%s", err.msg);
    cr_assert_gt(n, (size_t)33 << 20, "%zu bytes: more than verify reads whole", n);
    th_entry e[] = {{"xgboost-model", 'f', 0, json, n, NULL}};
    th_write_archive(th_path(dir, "large.tar.gz"), "gzip", "ustar", e, 1);
    free(json);
    compat_booster_free(b);
    compat_dmatrix_free(d);
    compat_xgb_close(x);
    free(X);
    free(y);

    int rc;
    json_t *rep = verify_json("-c 1.5-1 -c 1.7-1", th_path(dir, "large.tar.gz"), &rc);
    json_t *m0 = json_array_get(json_object_get(rep, "models"), 0);
    cr_assert(json_is_true(json_object_get(m0, "partial")));
    cr_assert_str_eq(json_string_value(json_object_get(m0, "format")), "json");
    cr_assert_str_eq(json_string_value(json_object_get(m0, "writer")), "1.7.4");
    cr_assert_str_eq(verdict_of(rep, "1.5-1"), "fails");
    cr_assert(has_reason(rep, "1.5-1", "FMT-TREE-16"));
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "ok");
    cr_assert(!has_reason(rep, "1.7-1", "PARTIAL"), "every fact was read");
    cr_assert_eq(rc, 1);
    json_decref(rep);

    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "inspect --json '%s'", th_path(dir, "large.tar.gz")), 0, "%s", out);
    json_t *in = th_json(out);
    free(out);
    json_t *w = json_object_get(json_array_get(json_object_get(in, "models"), 0), "writer");
    cr_assert(json_is_true(json_object_get(w, "exact")));
    cr_assert_str_eq(json_string_value(json_object_get(w, "min")), "1.7.4");
    json_decref(in);
}

/*
 * Models from the SageMaker container's own test resources (fixtures/container): the 3.2.0
 * UBJSON model of XC master stores base_score as an array, and a real 1.7.4 load predicts
 * something else than the model says (BS-ARRAY-SILENT, seen by a real load, not only by the
 * rule); the 1.0.0 pickle loads in 1.0-1 ... 3.0-5; the 0.90 pickle only in 0.90-x.
 */
Test(rules_verdicts, container_test_resources)
{
    size_t n;
    char *m = th_read(SMXGB_TESTDATA "/verdicts/container/master-abalone-3.2.0.ubj", &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "c.tar.gz"), "gzip", "ustar", e, 1);
    free(m);
    int rc;
    json_t *rep = verify_json(NULL, th_path(dir, "c.tar.gz"), &rc);
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "wrong-predictions");
    cr_assert(has_reason(rep, "1.7-1", "BS-ARRAY-SILENT") &&
              has_reason(rep, "1.7-1", "LOAD-CHECK"));
    cr_assert_str_eq(verdict_of(rep, "3.0-5"), "wrong-predictions");
    cr_assert_str_eq(verdict_of(rep, "3.2-0"), "ok");
    json_t *lc = json_object_get(json_array_get(json_object_get(rep, "models"), 0), "load_check");
    cr_assert(json_number_value(json_object_get(lc, "max_abs_diff")) > 1.0,
              "1.7.4 predicts with base_score 0.5 instead of the stored intercept");
    json_decref(rep);

    static const struct {
        const char *file, *ok_from, *ok_to;
    } pk[] = {{"1.0-1-pickled_model.pkl", "1.0-1", "3.0-5"},
              {"0.90-2-pickled_model.pkl", "0.90-1", "0.90-2"}};
    static const char *tags[] = {"0.90-1", "0.90-2", "1.0-1",   "1.2-1", "1.2-2", "1.3-1",
                                 "1.5-1",  "1.7-1",  "1.7-1-1", "3.0-5", "3.2-0"};
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/verdicts/container/%s", SMXGB_TESTDATA, pk[i].file);
        m = th_read(path, &n);
        th_entry e2[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
        th_write_archive(th_path(dir, "p.tar.gz"), "gzip", "ustar", e2, 1);
        free(m);
        rep = verify_json(NULL, th_path(dir, "p.tar.gz"), &rc);
        int in = 0;
        for (size_t c = 0; c < 11; c++) {
            if (!strcmp(tags[c], pk[i].ok_from))
                in = 1;
            cr_assert_str_eq(verdict_of(rep, tags[c]), in ? "ok" : "fails", "%s in %s", pk[i].file,
                             tags[c]);
            if (!strcmp(tags[c], pk[i].ok_to))
                in = 0;
        }
        json_decref(rep);
    }
}
