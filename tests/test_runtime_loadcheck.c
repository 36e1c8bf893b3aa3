/*
 * The load check: a real load of a model by an XGBoost build in the helper process
 * (smxgb-xgb-child): the deadline and the memory limit are the helper's alone, the helper is
 * exec'd (so a process whose OpenMP runtime has threads can start one), it is found where the
 * documentation says or the error says where it looked, and XGBoost can come from a pip wheel.
 * tests/fake_xgboost.c stands in for a library that hangs or runs out of memory.
 */
#include "compat/compat.h"
#include "helpers.h"

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
TestSuite(runtime_loadcheck, .init = setup, .fini = teardown, .timeout = 300);

static const char *model_path(const char *rel)
{
    return th_path(SMXGB_TESTDATA "/models", rel);
}

/* Package a test model as xgboost-model into dir/name. */
static const char *package_as_model(const char *rel, const char *name)
{
    size_t n;
    char *m = th_read(model_path(rel), &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    char out[4096];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    th_write_archive(out, "gzip", "ustar", e, 1);
    free(m);
    return th_path(dir, name);
}

static compat_model_info *identify_file(const char *rel, char **bytes, size_t *n)
{
    *bytes = th_read(model_path(rel), n);
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(*bytes, *n, "xgboost-model", &m, &err), SMX_OK, "%s", err.msg);
    return m;
}

Test(runtime_loadcheck, a_hanging_load_is_killed_at_the_deadline)
{
    size_t n;
    char *bytes;
    compat_model_info *m = identify_file("1.7.4/binary_logistic.bin", &bytes, &n);
    smx_err err = {0};
    setenv("FAKE_XGB_MODE", "hang", 1);
    compat_load_limits lim = {.timeout_ms = 1500};
    compat_loadcheck lc;
    cr_assert_eq(
        compat_loadcheck_run(m, bytes, n, "xgboost-model", SMXGB_FAKE_XGBOOST, &lim, &lc, &err),
        SMX_OK, "%s", err.msg);
    unsetenv("FAKE_XGB_MODE");
    cr_assert(lc.ran && !lc.loaded);
    cr_assert(strstr(lc.error, "timed out"), "%s", lc.error);
    /* and the real library loads the same bytes, predictions equal to the reference */
    cr_assert_eq(compat_loadcheck_run(m, bytes, n, "xgboost-model", NULL, NULL, &lc, &err), SMX_OK,
                 "%s", err.msg);
    cr_assert(lc.loaded, "%s", lc.error);
    cr_assert_str_eq(lc.version, "1.7.4");
    cr_assert_eq(lc.num_features, (uint64_t)m->num_feature, "the booster's feature count");
    cr_assert(lc.compared && lc.max_diff <= 1e-5, "max diff %g (%s)", lc.max_diff, lc.note);
    compat_model_info_free(m);
    free(bytes);
}

/*
 * The exchange has bounds of its own: predictions of 16 x 50,000,000 values (a crafted
 * num_class of 5e7) are not sent to the parent, which says why and how big they were. Before,
 * the parent took whatever the child sent, up to the child's own 4 GiB: 3.1 GB for such a
 * model. Measured here as the parent's peak memory staying far below the predictions' size.
 */
Test(runtime_loadcheck, the_exchange_is_bounded_like_the_child)
{
    size_t n;
    char *bytes;
    compat_model_info *m = identify_file("1.7.4/binary_logistic.bin", &bytes, &n);
    smx_err err = {0};
    setenv("FAKE_XGB_MODE", "wide", 1);
    compat_loadcheck lc;
    compat_load_limits lim = {.timeout_ms = 20000};
    cr_assert_eq(
        compat_loadcheck_run(m, bytes, n, "xgboost-model", SMXGB_FAKE_XGBOOST, &lim, &lc, &err),
        SMX_OK, "%s", err.msg);
    unsetenv("FAKE_XGB_MODE");
    cr_assert(lc.ran && lc.loaded && !lc.compared, "%s %s", lc.error, lc.note);
    cr_assert_eq(lc.rows, 16);
    cr_assert_eq(lc.cols, 50000000);
    cr_assert(strstr(lc.note, "16 x 50000000") && strstr(lc.note, "exchange"), "%s", lc.note);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    cr_assert_lt(ru.ru_maxrss, 512 * 1024, "parent peak %ld KiB", ru.ru_maxrss);
    compat_model_info_free(m);
    free(bytes);
}

/*
 * The deadline strikes after the load, while the child predicts (or sends): the result says
 * it timed out, and at which stage, and is no load. Before, it said the model loaded and "the
 * child stopped while sending predictions".
 */
Test(runtime_loadcheck, a_deadline_after_the_load_is_a_timeout)
{
    size_t n;
    char *bytes;
    compat_model_info *m = identify_file("1.7.4/binary_logistic.bin", &bytes, &n);
    smx_err err = {0};
    setenv("FAKE_XGB_MODE", "stall", 1);
    compat_loadcheck lc;
    compat_load_limits lim = {.timeout_ms = 1500};
    cr_assert_eq(
        compat_loadcheck_run(m, bytes, n, "xgboost-model", SMXGB_FAKE_XGBOOST, &lim, &lc, &err),
        SMX_OK, "%s", err.msg);
    unsetenv("FAKE_XGB_MODE");
    cr_assert(lc.ran && lc.timed_out && !lc.loaded, "%s / %s", lc.error, lc.note);
    cr_assert(strstr(lc.error, "timed out") && strstr(lc.error, "after loading the model"), "%s",
              lc.error);
    cr_assert_null(strstr(lc.note, "stopped while sending"), "%s", lc.note);
    compat_model_info_free(m);
    free(bytes);
}

/* The child's address space is limited: a load that needs more memory dies alone. */
Test(runtime_loadcheck, a_load_over_the_memory_limit_dies_in_the_child)
{
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("AddressSanitizer builds run the child without an address-space limit");
#else
    size_t n;
    char *bytes;
    compat_model_info *m = identify_file("1.7.4/binary_logistic.bin", &bytes, &n);
    smx_err err = {0};
    setenv("FAKE_XGB_MODE", "oom", 1);
    compat_loadcheck lc;
    compat_load_limits small = {.max_memory = 256u << 20, .timeout_ms = 20000};
    cr_assert_eq(
        compat_loadcheck_run(m, bytes, n, "xgboost-model", SMXGB_FAKE_XGBOOST, &small, &lc, &err),
        SMX_OK, "%s", err.msg);
    cr_assert(!lc.loaded && strstr(lc.error, "crashed (SIGABRT)") && strstr(lc.error, "bad_alloc"),
              "256 MiB limit: %s", lc.error);
    compat_load_limits big = {.max_memory = 4ull << 30, .timeout_ms = 20000};
    cr_assert_eq(
        compat_loadcheck_run(m, bytes, n, "xgboost-model", SMXGB_FAKE_XGBOOST, &big, &lc, &err),
        SMX_OK, "%s", err.msg);
    cr_assert(!lc.loaded && strstr(lc.error, "fake load error"),
              "4 GiB limit: the allocation works: %s", lc.error);
    unsetenv("FAKE_XGB_MODE");
    compat_model_info_free(m);
    free(bytes);
#endif
}

/* ---- XGBoost from a pip wheel ------------------------------------------------------------- */

static void write_wheel(const char *out, const char *lib_src, const char *lib_name)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_zip(a);
    cr_assert_eq(archive_write_open_filename(a, out), ARCHIVE_OK);
    const char *meta = "Metadata-Version: 2.1\nName: xgboost\nVersion: 1.7.4\n";
    struct {
        const char *name;
        const char *data;
        size_t len;
    } files[2] = {{"xgboost-1.7.4.dist-info/METADATA", meta, strlen(meta)}, {lib_name, NULL, 0}};
    size_t nl = 0;
    char *lib = lib_src ? th_read(lib_src, &nl) : NULL;
    files[1].data = lib;
    files[1].len = nl;
    for (size_t i = 0; i < (lib_src ? 2u : 1u); i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, files[i].name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)files[i].len);
        cr_assert_eq(archive_write_header(a, e), ARCHIVE_OK);
        cr_assert_eq(archive_write_data(a, files[i].data, files[i].len), (la_ssize_t)files[i].len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    free(lib);
}

Test(runtime_loadcheck, xgboost_from_a_wheel_is_extracted_once_and_used)
{
    /* Debian's library: libxgboost.so is a symlink to the real file */
    char real[4096];
    ssize_t k = readlink("/usr/lib/x86_64-linux-gnu/libxgboost.so", real, sizeof real - 1);
    cr_assert_gt(k, 0, "Debian's libxgboost-dev is installed");
    real[k] = '\0';
    char lib[8192];
    snprintf(lib, sizeof lib, "%s%s", real[0] == '/' ? "" : "/usr/lib/x86_64-linux-gnu/", real);
    const char *whl = th_path(dir, "xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl");
    write_wheel(whl, lib, "xgboost/lib/libxgboost.so");
    const char *a = package_as_model("1.7.4/reg_squarederror.bin", "w.tar.gz");
    char *out = NULL;
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "XDG_CACHE_HOME='%s/cache' %s verify --json -c 1.7-1 --xgboost-wheel '%s' '%s'", dir,
             SMXGB_BIN, whl, a);
    cr_assert_eq(th_run(cmd, &out), 0, "%s", out);
    json_t *rep = th_json(out);
    free(out);
    const char *runtime = json_string_value(json_object_get(rep, "runtime"));
    cr_assert(runtime && strstr(runtime, "/cache/smxgb/wheels/") && strstr(runtime, "1.7.4"), "%s",
              runtime);
    json_t *lc = json_object_get(json_array_get(json_object_get(rep, "models"), 0), "load_check");
    cr_assert(json_is_true(json_object_get(lc, "loaded")));
    json_decref(rep);
    /* cached under the wheel's sha256: a second run reuses the file */
    char *cached = NULL;
    snprintf(cmd, sizeof cmd, "ls '%s'/cache/smxgb/wheels/*/xgboost/lib/libxgboost.so", dir);
    cr_assert_eq(th_run(cmd, &cached), 0);
    struct stat st1, st2;
    cached[strcspn(cached, "\n")] = '\0';
    cr_assert_eq(stat(cached, &st1), 0);
    snprintf(cmd, sizeof cmd,
             "XDG_CACHE_HOME='%s/cache' %s verify -c 1.7-1 --xgboost-wheel '%s' '%s' >/dev/null",
             dir, SMXGB_BIN, whl, a);
    cr_assert_eq(th_run(cmd, NULL), 0);
    cr_assert_eq(stat(cached, &st2), 0);
    cr_assert_eq(st1.st_ino, st2.st_ino, "not extracted again");
    free(cached);

    /* a wheel without the library is a usage error that says so */
    const char *bad = th_path(dir, "xgboost-0-py3-none-any.whl");
    write_wheel(bad, NULL, NULL);
    snprintf(cmd, sizeof cmd,
             "XDG_CACHE_HOME='%s/cache' %s verify -c 1.7-1 --xgboost-wheel '%s' '%s' 2>&1", dir,
             SMXGB_BIN, bad, a);
    cr_assert_eq(th_run(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "xgboost/lib/libxgboost.so"), "%s", out);
    free(out);
}

/* ---- the helper process ----------------------------------------------------------------- */

/*
 * A process whose OpenMP runtime already runs threads (it trained a model with 4 threads)
 * can still load-check: the helper is a fresh program, not a copy of this process (a forked
 * copy inherits a thread pool whose threads do not exist, and its first parallel region
 * hangs until the deadline).
 */
Test(runtime_loadcheck, works_from_a_process_that_runs_openmp_threads)
{
    smx_err err = {0};
    compat_xgb *x;
    cr_assert_eq(compat_xgb_open(NULL, &x, &err), SMX_OK, "%s", err.msg);
    size_t nr = 2000, nc = 8;
    float *X = malloc(nr * nc * sizeof *X), *y = malloc(nr * sizeof *y);
    for (size_t i = 0; i < nr * nc; i++)
        X[i] = (float)((i * 7919) % 1000) / 100.0f;
    for (size_t i = 0; i < nr; i++)
        y[i] = X[i * nc] > 5;
    compat_dmatrix *d;
    cr_assert_eq(compat_dmatrix_from_dense(x, X, nr, nc, NAN, 4, &d, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(compat_dmatrix_set_float_info(d, "label", y, nr, &err), SMX_OK, "%s", err.msg);
    compat_booster *b;
    cr_assert_eq(compat_booster_create(x, &d, 1, &b, &err), SMX_OK, "%s", err.msg);
    compat_booster_set_param(b, "nthread", "4", &err);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(compat_booster_update(b, i, d, &err), SMX_OK, "%s", err.msg);

    char *bytes;
    size_t n;
    compat_model_info *m = identify_file("1.7.4/binary_logistic.json", &bytes, &n);
    compat_load_limits lim = {.timeout_ms = 30000};
    compat_loadcheck lc;
    cr_assert_eq(compat_loadcheck_run(m, bytes, n, "xgboost-model", NULL, &lim, &lc, &err), SMX_OK,
                 "%s", err.msg);
    cr_assert(lc.loaded, "%s", lc.error);
    cr_assert(lc.compared && lc.max_diff <= 1e-5, "max diff %g (%s)", lc.max_diff, lc.note);
    compat_model_info_free(m);
    free(bytes);
    compat_booster_free(b);
    compat_dmatrix_free(d);
    compat_xgb_close(x);
    free(X);
    free(y);
}

/* The helper named on purpose is used, and a wrong name is an error that says which. */
Test(runtime_loadcheck, the_helper_is_the_one_named_or_found)
{
    char *found = NULL;
    smx_err err = {0};
    cr_assert_eq(compat_child_path(NULL, &found, &err), SMX_OK, "%s", err.msg);
    cr_assert(strstr(found, "smxgb-xgb-child") && access(found, X_OK) == 0, "%s", found);

    char *bytes;
    size_t n;
    compat_model_info *m = identify_file("1.7.4/binary_logistic.bin", &bytes, &n);
    compat_loadcheck lc;
    /* not our helper: it exits without a result, and the report says so */
    compat_load_limits other = {.timeout_ms = 20000, .child = "/bin/false"};
    cr_assert_eq(compat_loadcheck_run(m, bytes, n, "xgboost-model", NULL, &other, &lc, &err),
                 SMX_OK, "%s", err.msg);
    cr_assert(lc.ran && !lc.loaded && strstr(lc.error, "child exited rc=1 without a result"), "%s",
              lc.error);
    /* $SMXGB_CHILD names it too; a missing file is an error, never another helper */
    setenv("SMXGB_CHILD", th_path(dir, "missing-child"), 1);
    int rc = compat_loadcheck_run(m, bytes, n, "xgboost-model", NULL, NULL, &lc, &err);
    cr_assert_eq(rc, SMX_EIO);
    cr_assert(strstr(err.msg, "$SMXGB_CHILD") && strstr(err.msg, "missing-child"), "%s", err.msg);
    setenv("SMXGB_CHILD", found, 1);
    cr_assert_eq(compat_loadcheck_run(m, bytes, n, "xgboost-model", NULL, NULL, &lc, &err), SMX_OK,
                 "%s", err.msg);
    cr_assert(lc.loaded && lc.compared && lc.max_diff <= 1e-5, "%s %s", lc.error, lc.note);
    unsetenv("SMXGB_CHILD");
    compat_model_info_free(m);
    free(bytes);
    free(found);
}

/* smxgb finds the helper beside itself: a copy of both elsewhere still load-checks. */
Test(runtime_loadcheck, smxgb_finds_the_helper_beside_itself)
{
    char *found = NULL;
    smx_err err = {0};
    cr_assert_eq(compat_child_path(NULL, &found, &err), SMX_OK, "%s", err.msg);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/bin' && cp '%s' '%s' '%s/bin/'", dir, SMXGB_BIN, found,
             dir);
    cr_assert_eq(th_run(cmd, NULL), 0);
    const char *a = package_as_model("1.7.4/binary_logistic.bin", "m.tar.gz");
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s/bin/smxgb' verify --json -c 1.7-1 '%s'", dir, a);
    cr_assert_eq(th_run(cmd, &out), 0, "%s", out);
    json_t *rep = th_json(out);
    json_t *lc = json_object_get(json_array_get(json_object_get(rep, "models"), 0), "load_check");
    cr_assert(json_is_true(json_object_get(lc, "loaded")), "%s", out);
    json_decref(rep);
    free(out);
    free(found);
}
