/*
 * smxgb runtime end to end, against a package index on loopback (th_index) and a cache of the
 * test's own ($XDG_CACHE_HOME): list, fetch and path; no second download; two runs fetching at
 * once share one download and one entry; each failure's exit code and message; a damaged cache
 * found and fetched again; serve and train run a container's cached runtime and say which
 * XGBoost stands in when none is cached. The real package index is never contacted.
 */
#include "helpers.h"
#include "th_index.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static th_index *ix;
static char env[2048]; /* the environment every command runs with */

static void setup(void)
{
    dir = th_tmpdir();
    ix = th_index_start();
    snprintf(env, sizeof env,
             "XDG_CACHE_HOME='%s/cache' PIP_INDEX_URL='%s' SMXGB_XGBOOST_LIB=", dir,
             th_index_url(ix, "simple"));
}
static void teardown(void)
{
    th_index_stop(ix);
    th_rmrf(dir);
    free(dir);
}
TestSuite(cli_runtime, .init = setup, .fini = teardown, .timeout = 300);

/* Run `smxgb ARGS` with the test's environment, stderr joined to stdout. */
static int smxgb(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int smxgb(char **out, const char *fmt, ...)
{
    char args[8192], cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s %.8000s 2>&1", env, SMXGB_BIN, args);
    return th_run(cmd, out);
}

static th_index_file *serve_174(void)
{
    return th_index_add_wheel(ix, dir, "1.7.4", "manylinux2014_x86_64", th_system_lib());
}

Test(cli_runtime, list_fetch_path_and_no_second_download)
{
    th_index_file *f = serve_174();
    char *out = NULL;
    cr_assert_eq(smxgb(&out, "runtime list"), 0, "%s", out);
    cr_assert(strstr(out, "1.7-1      1.7.4    not cached (smxgb runtime fetch 1.7-1)"), "%s", out);
    free(out);
    cr_assert_eq(smxgb(&out, "runtime path 1.7-1"), 1, "%s", out);
    cr_assert(strstr(out, "xgboost 1.7.4 is not cached") && strstr(out, "smxgb runtime fetch"),
              "%s", out);
    free(out);

    cr_assert_eq(smxgb(&out, "runtime fetch 1.7-1"), 0, "%s", out);
    cr_assert(strstr(out, "xgboost 1.7.4 (1.7-1, 1.7-1-1): fetched "
                          "xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl") &&
                  strstr(out, "sha256 as published") && strstr(out, "loads here as XGBoost 1.7.4"),
              "%s", out);
    free(out);
    cr_assert_eq(smxgb(&out, "runtime list --json"), 0, "%s", out);
    json_t *j = th_json(out);
    free(out);
    json_t *c;
    size_t i;
    int cached = 0;
    json_array_foreach(json_object_get(j, "containers"), i, c)
    {
        const char *tag = json_string_value(json_object_get(c, "container"));
        int is = json_is_true(json_object_get(c, "cached"));
        cr_assert_eq(is, !strcmp(tag, "1.7-1") || !strcmp(tag, "1.7-1-1"), "%s", tag);
        cached += is;
    }
    cr_assert_eq(cached, 2);
    json_decref(j);
    cr_assert_eq(smxgb(&out, "runtime path 1.7.4"), 0, "%s", out);
    out[strcspn(out, "\n")] = '\0';
    struct stat st;
    cr_assert(strstr(out, "/cache/smxgb/wheels/") && stat(out, &st) == 0, "%s", out);
    free(out);
    cr_assert_eq(smxgb(&out, "runtime fetch 1.7-1-1 1.7.4"), 0, "%s", out);
    cr_assert(strstr(out, "xgboost 1.7.4 (1.7-1, 1.7-1-1): cached"), "%s", out);
    free(out);
    cr_assert_eq(th_index_downloads(ix, f), 1, "downloaded once");
}

Test(cli_runtime, two_runs_fetching_at_once_share_one_download)
{
    th_index_file *f = serve_174();
    f->bytes_per_s = (double)f->len; /* about a second per download */
    char cmd[16384], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "cd '%s'; (%s %s runtime fetch 1.7-1 >a.out 2>&1; echo $? >a.rc) & "
             "(%s %s runtime fetch 1.7.4 >b.out 2>&1; echo $? >b.rc) & wait; cat a.rc b.rc a.out "
             "b.out",
             dir, env, SMXGB_BIN, env, SMXGB_BIN);
    cr_assert_eq(th_run(cmd, &out), 0);
    cr_assert(!strncmp(out, "0\n0\n", 4), "both succeed: %s", out);
    cr_assert(strstr(out, "fetched") && strstr(out, "cached"), "one fetched, one found it: %s",
              out);
    free(out);
    cr_assert_eq(th_index_downloads(ix, f), 1);
    snprintf(cmd, sizeof cmd, "ls '%s/cache/smxgb/wheels'", dir);
    cr_assert_eq(th_run(cmd, &out), 0);
    cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one entry: %s", out);
    free(out);
}

Test(cli_runtime, each_failure_has_its_exit_code_and_message)
{
    th_index_file *f = serve_174();
    th_index_add_wheel(ix, dir, "3.0.5", "macosx_12_0_arm64", th_system_lib());
    char *out = NULL;
    /* a usage error */
    cr_assert_eq(smxgb(&out, "runtime fetch 9.9-9"), 2, "%s", out);
    cr_assert(strstr(out, "neither a container"), "%s", out);
    free(out);
    /* no wheel for this platform: not available (1); with all, no failure (0) */
    cr_assert_eq(smxgb(&out, "runtime fetch 3.0-5"), 1, "%s", out);
    cr_assert(strstr(out, "xgboost 3.0.5 (3.0-5): not available: no wheel of xgboost 3.0.5 runs "
                          "on this machine") &&
                  strstr(out, "(for macOS"),
              "%s", out);
    free(out);
    cr_assert_eq(smxgb(&out, "runtime fetch all"), 0, "%s", out);
    cr_assert(strstr(out, "xgboost 1.7.4 (1.7-1, 1.7-1-1): fetched") &&
                  strstr(out, "xgboost 0.90 (0.90-1, 0.90-2): not available"),
              "%s", out);
    free(out);
    /* a wrong sha256 (another cache), an index that fails, one that is not there: 2 */
    snprintf(env, sizeof env,
             "XDG_CACHE_HOME='%s/cache2' PIP_INDEX_URL='%s' SMXGB_XGBOOST_LIB=", dir,
             th_index_url(ix, "simple"));
    f->sha256[0] = f->sha256[0] == 'a' ? 'b' : 'a';
    cr_assert_eq(smxgb(&out, "runtime fetch 1.7-1"), 2, "%s", out);
    cr_assert(strstr(out, "failed:") && strstr(out, "but the index publishes"), "%s", out);
    free(out);
    ix->status = 500;
    cr_assert_eq(smxgb(&out, "runtime fetch 1.7-1 --timeout 5"), 2, "%s", out);
    cr_assert(strstr(out, "HTTP 500"), "%s", out);
    free(out);
    cr_assert_eq(smxgb(&out,
                       "runtime fetch 1.7-1 --index-url http://127.0.0.1:%d/simple "
                       "--timeout 3",
                       th_free_port()),
                 2, "%s", out);
    cr_assert(strstr(out, "Couldn't connect"), "%s", out);
    free(out);
    cr_assert_eq(smxgb(&out, "runtime list"), 0, "%s", out);
    cr_assert(strstr(out, "1.7-1      1.7.4    not cached"), "nothing was cached: %s", out);
    free(out);
}

Test(cli_runtime, a_damaged_runtime_is_found_and_fetched_again)
{
    th_index_file *f = serve_174();
    char *out = NULL;
    cr_assert_eq(smxgb(&out, "runtime fetch 1.7-1 -q"), 0, "%s", out);
    cr_assert_str_eq(out, "", "--quiet prints nothing when all is well");
    free(out);
    cr_assert_eq(smxgb(&out, "runtime path 1.7-1"), 0, "%s", out);
    out[strcspn(out, "\n")] = '\0';
    cr_assert_eq(truncate(out, 4096), 0, "%s", out);
    free(out);
    cr_assert_eq(smxgb(&out, "runtime path 1.7-1"), 1, "%s", out);
    cr_assert(strstr(out, "was damaged") && strstr(out, "libxgboost.so has 4096 bytes") &&
                  strstr(out, "it was removed"),
              "%s", out);
    free(out);
    cr_assert_eq(smxgb(&out, "runtime fetch 1.7-1"), 0, "%s", out);
    cr_assert(strstr(out, "fetched"), "%s", out);
    free(out);
    cr_assert_eq(th_index_downloads(ix, f), 2);
    /* find-links with --no-index: the folder's wheel */
    snprintf(env, sizeof env, "XDG_CACHE_HOME='%s/cache3' SMXGB_XGBOOST_LIB=", dir);
    cr_assert_eq(smxgb(&out, "runtime fetch 1.7.4 --find-links '%s' --no-index", dir), 0, "%s",
                 out);
    cr_assert(strstr(out, "no sha256 published: unchecked"), "%s", out);
    free(out);
}

/* Start `smxgb serve` on model for container tag, until it listens; its stderr. */
static char *serve_log(const char *model, const char *tag)
{
    char cmd[16384], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "cd '%s'; %s %s serve '%s' -c %s --port %d --workers 1 --quiet 2>serve.log & pid=$!; "
             "for i in $(seq 100); do grep -q 'listening\\|cannot' '%s/serve.log' && break; "
             "sleep 0.1; done; kill $pid; wait $pid; cat '%s/serve.log'",
             dir, env, SMXGB_BIN, model, tag, th_free_port(), dir, dir);
    th_run(cmd, &out);
    return out;
}

Test(cli_runtime, serve_and_train_run_the_containers_own_runtime)
{
    serve_174();
    size_t n;
    char *m = th_read(SMXGB_TESTDATA "/models/1.7.4/binary_logistic.json", &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    const char *model = th_path(dir, "m.tar.gz");
    th_write_archive(model, "gzip", "ustar", e, 1);
    free(m);
    /* --quiet keeps serve from saying which XGBoost serves; without it, it says */
    char *log = serve_log(model, "1.7-1");
    cr_assert(strstr(log, "listening") && !strstr(log, "XGBoost"), "%s", log);
    free(log);
    char *out = NULL;
    cr_assert_eq(smxgb(&out, "runtime fetch 1.7-1"), 0, "%s", out);
    free(out);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s'; %s %s serve m.tar.gz -c 1.7-1 --port %d --workers 1 2>serve2.log & "
             "pid=$!; for i in $(seq 100); do grep -q listening serve2.log && break; sleep 0.1; "
             "done; kill $pid; wait $pid; cat serve2.log",
             dir, env, SMXGB_BIN, th_free_port());
    cr_assert_eq(th_run(cmd, &out), 0);
    cr_assert(strstr(out, "container 1.7-1 runs XGBoost 1.7.4: the cached runtime of xgboost "
                          "1.7.4 (xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl)"),
              "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "cd '%s'; %s %s serve m.tar.gz -c 3.0-5 --port %d --workers 1 2>serve3.log & "
             "pid=$!; for i in $(seq 100); do grep -q listening serve3.log && break; sleep 0.1; "
             "done; kill $pid; wait $pid; cat serve3.log",
             dir, env, SMXGB_BIN, th_free_port());
    cr_assert_eq(th_run(cmd, &out), 0);
    cr_assert(strstr(out, "container 3.0-5 pins XGBoost 3.0.5; XGBoost 1.7.4 stands in: no "
                          "runtime of xgboost 3.0.5 is cached for this machine"),
              "%s", out);
    free(out);

    /* train: the cached runtime of 1.7-1, a stand-in for 3.0-5 */
    const char *csv = th_path(dir, "train.csv");
    th_write(csv, "1,2,3\n0,3,1\n1,2,2\n0,5,1\n", 24);
    cr_assert_eq(
        smxgb(&out, "train --train '%s' -c 1.7-1 -p num_round=2 --json -o '%s/t.tar.gz'", csv, dir),
        0, "%s", out);
    json_t *j = th_json(out);
    free(out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "runtime")), "exact");
    cr_assert(strstr(json_string_value(json_object_get(j, "xgboost")), "/cache/smxgb/wheels/"),
              "trained with the cached library");
    json_decref(j);
    cr_assert_eq(
        smxgb(&out, "train --train '%s' -c 3.0-5 -p num_round=2 -o '%s/u.tar.gz'", csv, dir), 0,
        "%s", out);
    cr_assert(strstr(out, "container 3.0-5 pins XGBoost 3.0.5; XGBoost 1.7.4 stood in: no runtime "
                          "of xgboost 3.0.5 is cached"),
              "%s", out);
    free(out);
}
