/*
 * verify, check and convert with each container's own XGBoost, end to end. The runtimes are
 * cached by the test in a cache of its own ($XDG_CACHE_HOME): the system's libxgboost (1.7.4)
 * and copies of the shim XGBoost (xgboost_shim.c) that report another version and load and
 * predict as the system's does, put in wheels and cached by `smxgb runtime fetch` from a folder
 * or from a package index on loopback (th_index). The real package index is never contacted.
 */
#include "helpers.h"
#include "th_index.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static th_index *ix;
static char env[2048]; /* the environment every command runs with */
static const char *model;

static void setup(void)
{
    dir = th_tmpdir();
    ix = th_index_start();
    snprintf(env, sizeof env,
             "XDG_CACHE_HOME='%s/cache' PIP_INDEX_URL='%s' SMXGB_XGBOOST_LIB= LD_LIBRARY_PATH=",
             dir, th_index_url(ix, "simple"));
    /* a legacy binary written by 1.7.4: the rules say XGBoost 3.1+ cannot read it */
    size_t n;
    char *m = th_read(SMXGB_TESTDATA "/models/1.7.4/binary_logistic.bin", &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    static char path[4096];
    snprintf(path, sizeof path, "%s", th_path(dir, "m.tar.gz"));
    th_write_archive(path, "gzip", "ustar", e, 1);
    free(m);
    model = path;
}
static void teardown(void)
{
    th_index_stop(ix);
    th_rmrf(dir);
    free(dir);
}
TestSuite(cli_runtime_verify, .init = setup, .fini = teardown, .timeout = 300);

/* Run `[extra env] smxgb ARGS` with the test's environment. */
static int smxgb_env(char **out, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int smxgb_env(char **out, const char *extra, const char *fmt, ...)
{
    char args[8192], cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    /* stderr joined to stdout, unless ARGS send it elsewhere */
    snprintf(cmd, sizeof cmd, "%s %s %s %.8000s%s", env, extra, SMXGB_BIN, args,
             strstr(args, "2>") ? "" : " 2>&1");
    return th_run(cmd, out);
}
#define smxgb(out, ...) smxgb_env(out, "", __VA_ARGS__)

/* Cache lib as the runtime of version, from a folder of wheels (`runtime fetch --find-links`). */
static void cache_runtime(const char *version, const char *lib, const char *extra_env)
{
    char folder[4096], name[256], *out = NULL;
    snprintf(folder, sizeof folder, "%s/wheels-%s", dir, version);
    cr_assert_eq(mkdir(folder, 0700), 0);
    snprintf(name, sizeof name, "xgboost-%s-py3-none-manylinux2014_x86_64.whl", version);
    size_t n;
    free(th_wheel_write(th_path(folder, name), version, lib, &n));
    cr_assert_eq(smxgb_env(&out, extra_env, "runtime fetch %s --find-links '%s' --no-index",
                           version, folder),
                 0, "%s", out);
    free(out);
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

static const char *verdict(json_t *rep, const char *tag)
{
    return json_string_value(json_object_get(container_of(rep, tag), "verdict"));
}

/* The reason of container tag by rule id, or NULL. */
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

/* The versions of the load checks of the report's one model, joined by ' '. */
static void load_versions(json_t *rep, char *buf, size_t n)
{
    json_t *m = json_array_get(json_object_get(rep, "models"), 0), *l;
    size_t i;
    buf[0] = '\0';
    json_array_foreach(json_object_get(m, "load_checks"), i, l)
    {
        size_t k = strlen(buf);
        const char *v = json_string_value(json_object_get(l, "xgboost"));
        snprintf(buf + k, n - k, "%s%s", k ? " " : "", v ? v : "-");
    }
}

Test(cli_runtime_verify, each_container_is_checked_in_its_own_cached_xgboost)
{
    cache_runtime("1.7.4", th_system_lib(), "");
    cache_runtime("3.2.0", th_shim_lib(dir, "3.2.0", NULL), "");
    char *out = NULL, loads[256];
    /* 1.7-1 and 1.7-1-1 share 1.7.4: two runtimes, two loads, whatever the containers */
    int rc = smxgb(&out, "verify '%s' -c 1.7-1 -c 3.2-0 -c 1.7-1-1 --json", model);
    json_t *rep = th_json(out);
    free(out);
    cr_assert_eq(json_array_size(json_object_get(rep, "runtimes")), 2);
    load_versions(rep, loads, sizeof loads);
    cr_assert_str_eq(loads, "1.7.4 3.2.0");
    cr_assert_str_eq(evidence(rep, "1.7-1", "kind"), "load-exact");
    cr_assert_str_eq(evidence(rep, "1.7-1", "xgboost"), "1.7.4");
    cr_assert_str_eq(evidence(rep, "1.7-1-1", "kind"), "load-exact");
    cr_assert_str_eq(evidence(rep, "3.2-0", "kind"), "load-exact");
    cr_assert_str_eq(evidence(rep, "3.2-0", "xgboost"), "3.2.0");
    json_t *x = json_array_get(json_object_get(rep, "runtimes"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(x, "kind")), "load-exact");
    cr_assert(strstr(json_string_value(json_object_get(x, "lib")), "/cache/smxgb/wheels/"));

    /* the rule says 3.2.0 cannot read a 1.7 legacy binary; its own XGBoost loaded it and
     * predicted what the reference predictor does: the load wins, the rule is shown overruled */
    cr_assert_str_eq(verdict(rep, "3.2-0"), "ok");
    json_t *rule = reason(rep, "3.2-0", "FMT-BIN-1");
    cr_assert_not_null(rule);
    cr_assert(json_is_true(json_object_get(rule, "overruled")));
    cr_assert_str_eq(json_string_value(json_object_get(rule, "verdict")), "fails");
    cr_assert(
        strstr(json_string_value(json_object_get(reason(rep, "3.2-0", "LOAD-CHECK"), "message")),
               "loaded with XGBoost 3.2.0: ok; predictions on 16 rows match") &&
        strstr(json_string_value(json_object_get(reason(rep, "3.2-0", "LOAD-CHECK"), "message")),
               "overrules 1 rule"));
    cr_assert(json_is_null(json_object_get(container_of(rep, "3.2-0"), "hint")));
    cr_assert_eq(rc, 0, "every container loads it");
    json_decref(rep);

    rc = smxgb(&out, "verify '%s' -c 3.2-0", model);
    cr_assert(strstr(out, "evidence: load-checked in XGBoost 3.2.0 (this container's version)") &&
                  strstr(out, "- FMT-BIN-1 (overruled by the real load): XGBoost 3.1+ cannot "
                              "read a legacy binary"),
              "%s", out);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);

    /* a container whose runtime is not cached: the system's XGBoost stands in, the rules
     * decide; --runtimes none: the stand-in for all, and the rule decides for 3.2-0 */
    rc = smxgb(&out, "verify '%s' -c 3.0-5 -c 3.2-0 --json", model);
    rep = th_json(out);
    free(out);
    cr_assert_str_eq(evidence(rep, "3.0-5", "kind"), "load-standin");
    cr_assert_str_eq(evidence(rep, "3.0-5", "xgboost"), "1.7.4");
    cr_assert(strstr(evidence(rep, "3.0-5", "note"), "no runtime of xgboost 3.0.5 is cached"), "%s",
              evidence(rep, "3.0-5", "note"));
    cr_assert_str_eq(evidence(rep, "3.2-0", "kind"), "load-exact");
    json_decref(rep);
    rc = smxgb(&out, "verify '%s' -c 3.2-0 --runtimes none --json", model);
    rep = th_json(out);
    free(out);
    cr_assert_eq(json_array_size(json_object_get(rep, "runtimes")), 1);
    cr_assert_str_eq(evidence(rep, "3.2-0", "kind"), "load-standin");
    cr_assert_str_eq(verdict(rep, "3.2-0"), "fails");
    cr_assert(!json_is_true(json_object_get(reason(rep, "3.2-0", "FMT-BIN-1"), "overruled")));
    cr_assert_eq(rc, 1);
    json_decref(rep);

    /* convert: 3.2-0's own XGBoost loads the model as it is, so it is written unchanged; with
     * the stand-in alone, the rule decides and the stand-in re-saves it */
    cr_assert_eq(smxgb(&out, "convert '%s' -c 3.2-0 -o '%s/c1.tar.gz' --json", model, dir), 0, "%s",
                 out);
    rep = th_json(out);
    free(out);
    cr_assert_str_eq(json_string_value(json_object_get(rep, "action")), "copied");
    json_decref(rep);
    cr_assert_eq(
        smxgb(&out, "convert '%s' -c 3.2-0 -o '%s/c2.tar.gz' --runtimes none --json", model, dir),
        0, "%s", out);
    rep = th_json(out);
    free(out);
    cr_assert_str_eq(json_string_value(json_object_get(rep, "action")), "resaved");
    json_decref(rep);
}

Test(cli_runtime_verify, a_runtime_that_does_not_run_here_leaves_its_containers_to_the_rules)
{
    /* cached where its library was found (as on another machine), verified where it is not */
    char lib9[2048], cmd[8192], extra[2100], *out = NULL;
    snprintf(lib9, sizeof lib9, "%s/lib9", dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && ln -s '%s' '%s/libxgboost.so.9'", lib9,
             th_system_lib(), lib9);
    cr_assert_eq(th_run(cmd, &out), 0);
    free(out);
    snprintf(extra, sizeof extra, "LD_LIBRARY_PATH='%s'", lib9);
    cache_runtime("3.0.5", th_shim_lib(dir, "3.0.5", "libxgboost.so.9"), extra);

    int rc = smxgb(&out, "verify '%s' -c 3.0-5 -c 1.7-1 --json", model);
    json_t *rep = th_json(out);
    free(out);
    cr_assert_str_eq(evidence(rep, "3.0-5", "kind"), "rules");
    const char *note = evidence(rep, "3.0-5", "note");
    cr_assert(strstr(note, "the cached runtime of xgboost 3.0.5 does not run on this machine, "
                           "so the rules decide") &&
                  strstr(note, "libxgboost.so.9"),
              "%s", note);
    json_t *x = json_array_get(json_object_get(rep, "runtimes"), 0);
    cr_assert(strstr(json_string_value(json_object_get(x, "error")), "libxgboost.so.9"));
    /* the other container still has its load, and the rules' verdict stands for 3.0-5 */
    cr_assert_str_eq(evidence(rep, "1.7-1", "kind"), "load-exact");
    cr_assert_str_eq(verdict(rep, "3.0-5"), "ok");
    cr_assert_eq(rc, 0);
    json_decref(rep);

    rc = smxgb(&out, "verify '%s' -c 3.0-5", model);
    cr_assert(strstr(out, "evidence: rules only, identified from the bytes; the cached runtime "
                          "of xgboost 3.0.5 does not run on this machine"),
              "%s", out);
    free(out);
}

Test(cli_runtime_verify, runtimes_fetch_downloads_once_then_uses_the_cache)
{
    th_index_file *f = th_index_add_wheel(ix, dir, "3.2.0", "manylinux2014_x86_64",
                                          th_shim_lib(dir, "3.2.0", NULL));
    char *out = NULL;
    int rc =
        smxgb(&out, "verify '%s' -c 3.2-0 -c 3.0-5 --runtimes fetch --json 2>/dev/null", model);
    json_t *rep = th_json(out);
    free(out);
    cr_assert_str_eq(evidence(rep, "3.2-0", "kind"), "load-exact");
    cr_assert_str_eq(verdict(rep, "3.2-0"), "ok");
    /* the index has no 3.0.5: said, and its container is judged by the rules */
    cr_assert_str_eq(evidence(rep, "3.0-5", "kind"), "rules");
    cr_assert(strstr(evidence(rep, "3.0-5", "note"),
                     "the runtime of xgboost 3.0.5 could not be fetched, so the rules decide: no "
                     "wheel of xgboost 3.0.5"),
              "%s", evidence(rep, "3.0-5", "note"));
    cr_assert_eq(rc, 0);
    json_decref(rep);
    cr_assert_eq(th_index_downloads(ix, f), 1);

    /* the second run finds it cached: nothing downloaded, nothing said about 3.2.0 */
    rc = smxgb(&out, "verify '%s' -c 3.2-0 --runtimes fetch", model);
    cr_assert(!strstr(out, "downloading") && strstr(out, "load-checked in XGBoost 3.2.0"), "%s",
              out);
    free(out);
    cr_assert_eq(th_index_downloads(ix, f), 1);
    rc = smxgb(&out, "verify '%s' -c 3.0-5 --runtimes fetch", model);
    cr_assert(strstr(out, "xgboost 3.0.5: its runtime cannot be had, so its containers are "
                          "judged by the rules: no wheel of xgboost 3.0.5"),
              "%s", out);
    free(out);

    /* check's verify uses the same runtimes (--no-serve: verify only) */
    rc = smxgb(&out, "check '%s' -c 3.2-0 --no-serve --runtimes fetch --json --quiet", model);
    rep = th_json(out);
    free(out);
    json_t *v = json_object_get(json_array_get(json_object_get(rep, "cases"), 0), "verify");
    cr_assert_str_eq(evidence(v, "3.2-0", "kind"), "load-exact");
    cr_assert_eq(rc, 0);
    json_decref(rep);
    cr_assert_eq(th_index_downloads(ix, f), 1);
    cr_assert_eq(smxgb(&out, "verify '%s' --runtimes sometimes", model), 2);
    cr_assert(strstr(out, "--runtimes 'sometimes': give cached, fetch or none"), "%s", out);
    free(out);
}
