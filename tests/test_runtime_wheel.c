/*
 * Pinned runtimes in compat/runtime, without a network: which wheel runs on this machine (as
 * pip ranks them), what a library file is before it is loaded, and the cache: a wheel is
 * cached as a version's runtime only when its sha256 is the published one, its library is
 * this machine's, opens in the helper and is exactly that version; a cached entry whose files
 * changed is never used (removed, or extracted again from the wheel at hand).
 */
#include "compat/compat.h"
#include "helpers.h"
#include "th_index.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static void setup(void)
{
    dir = th_tmpdir();
    char cache[4096];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    setenv("XDG_CACHE_HOME", cache, 1);
    unsetenv("SMXGB_XGBOOST_LIB");
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}
TestSuite(runtime_wheel, .init = setup, .fini = teardown, .timeout = 300);

static compat_platform host(const char *arch, int major, int minor)
{
    compat_platform p = {.glibc_major = major, .glibc_minor = minor};
    snprintf(p.arch, sizeof p.arch, "%s", arch);
    return p;
}

static long rank(const char *name, const compat_platform *p, char *why)
{
    compat_wheel_name w;
    cr_assert_eq(compat_wheel_name_parse(name, &w), 0, "%s is a wheel name", name);
    why[0] = '\0';
    return compat_wheel_rank(&w, p, why, 256);
}

Test(runtime_wheel, wheels_are_ranked_as_pip_ranks_them_for_this_machine)
{
    compat_platform x86 = host("x86_64", 2, 36), old = host("x86_64", 2, 17);
    char why[256];
    /* the newest manylinux tag this glibc runs wins */
    long m1 = rank("xgboost-1.0.0-py3-none-manylinux1_x86_64.whl", &x86, why);
    long m2014 = rank("xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl", &x86, why);
    long m228 = rank("xgboost-3.0.5-py3-none-manylinux_2_28_x86_64.whl", &x86, why);
    long plain = rank("xgboost-3.0.5-py3-none-linux_x86_64.whl", &x86, why);
    cr_assert(m228 > m2014 && m2014 > m1 && m1 > plain && plain > 0, "%ld %ld %ld %ld", m228, m2014,
              m1, plain);
    /* a compressed tag set counts by its best tag */
    cr_assert_eq(
        rank("xgboost-1.3.3-py3-none-manylinux2010_x86_64.manylinux_2_28_x86_64.whl", &x86, why),
        m228);
    /* glibc 2.17 runs manylinux2014 but not manylinux_2_28 */
    cr_assert_gt(rank("xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl", &old, why), 0);
    cr_assert_eq(rank("xgboost-3.0.5-py3-none-manylinux_2_28_x86_64.whl", &old, why), 0);
    cr_assert(strstr(why, "needs glibc 2.28") && strstr(why, "this machine has 2.17"), "%s", why);
    /* what never runs here, and why */
    static const struct {
        const char *name, *why;
    } no[] = {{"xgboost-1.7.4-py3-none-manylinux2014_aarch64.whl", "for aarch64"},
              {"xgboost-1.7.4-py3-none-macosx_12_0_arm64.whl", "for macOS"},
              {"xgboost-1.7.4-py3-none-win_amd64.whl", "for Windows"},
              {"xgboost-1.7.4-py3-none-musllinux_1_1_x86_64.whl", "for musl"},
              {"xgboost-0.90-py2-none-manylinux1_x86_64.whl", "not for Python 3"},
              {"xgboost-2.0.0-py3-none-any.whl", "pure Python"}};
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        cr_assert_eq(rank(no[i].name, &x86, why), 0, "%s", no[i].name);
        cr_assert(strstr(why, no[i].why), "%s: %s", no[i].name, why);
    }
    /* py3-none breaks a tie; cp37 wheels run too (the library does not care) */
    long cp = rank("xgboost-1.0.0-cp37-cp37m-manylinux1_x86_64.whl", &x86, why);
    cr_assert(cp > 0 && cp < m1, "%ld %ld", cp, m1);
    /* names: the build tag, and what is not a wheel name */
    compat_wheel_name w;
    cr_assert_eq(compat_wheel_name_parse("xgboost-1.7.4-1-py3-none-any.whl", &w), 0);
    cr_assert_str_eq(w.build, "1");
    cr_assert_str_eq(w.platform, "any");
    cr_assert_neq(compat_wheel_name_parse("xgboost-1.7.4.tar.gz", &w), 0);
    cr_assert_neq(compat_wheel_name_parse("xgboost-1.7.4-py3.whl", &w), 0);
    /* versions as PEP 440 compares releases */
    cr_assert(compat_version_same("1.0", "1.0.0") && compat_version_same("0.90", "0.90"));
    cr_assert(!compat_version_same("0.90", "0.9") && !compat_version_same("1.7.4", "1.7.5"));
    cr_assert(!compat_version_same("3.0.5", "3.0.5rc1"));
}

/* A copy of the system library with `from` replaced by `to` (same length). */
static const char *patched_lib(const char *name, const char *from, const char *to)
{
    size_t n;
    char *b = th_read(th_system_lib(), &n);
    size_t fl = strlen(from) + 1;
    char *at = memmem(b, n, from, fl);
    cr_assert_not_null(at, "%s is in the system library", from);
    memcpy(at, to, fl);
    const char *p = th_path(dir, name);
    th_write(p, b, n);
    free(b);
    return p;
}

Test(runtime_wheel, a_library_is_checked_before_it_is_loaded)
{
    smx_err err = {0};
    cr_assert_eq(compat_lib_check(th_system_lib(), &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(compat_lib_check(th_path(dir, "missing.so"), &err), SMX_EIO);
    th_write(th_path(dir, "empty.so"), "", 0);
    cr_assert_eq(compat_lib_check(th_path(dir, "empty.so"), &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "is empty (0 bytes)"), "%s", err.msg);
    th_write(th_path(dir, "text.so"), "#!/bin/sh\necho hi\n", 18);
    cr_assert_eq(compat_lib_check(th_path(dir, "text.so"), &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "not a shared library"), "%s", err.msg);
    /* an aarch64 build: the ELF header says so (e_machine 183) */
    size_t n;
    char *b = th_read(th_system_lib(), &n);
    b[18] = (char)183;
    b[19] = 0;
    th_write(th_path(dir, "arm.so"), b, n);
    free(b);
    cr_assert_eq(compat_lib_check(th_path(dir, "arm.so"), &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "built for aarch64; this machine is x86_64"), "%s", err.msg);
    /* compat_xgb_open says the same instead of the loader's words */
    compat_xgb *x = NULL;
    cr_assert_eq(compat_xgb_open(th_path(dir, "empty.so"), &x, &err), SMX_EFORMAT);
    cr_assert_eq(compat_xgb_open("/nonexistent/libxgboost.so", &x, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/libxgboost.so") && strstr(err.msg, "No such file"),
              "%s", err.msg);
}

static int install(const char *wheel, const char *name, const char *version, const char *sha,
                   compat_runtime *rt, smx_err *err)
{
    compat_runtime_wheel w = {wheel, name, version, sha, "test"};
    compat_load_limits lim = {.timeout_ms = 60000};
    return compat_runtime_install(&w, NULL, &lim, rt, err);
}

static char *wheel_sha(const char *path)
{
    char *out = NULL;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    cr_assert_eq(th_run(cmd, &out), 0);
    out[64] = '\0';
    return out;
}

Test(runtime_wheel, a_wheel_becomes_a_runtime_only_when_everything_checks_out)
{
    const char *whl = th_path(dir, "xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl");
    size_t n;
    free(th_wheel_write(whl, "1.7.4", th_system_lib(), &n));
    char *sha = wheel_sha(whl);
    compat_runtime rt;
    smx_err err = {0};

    /* not the published file: nothing cached */
    char bad[65];
    memcpy(bad, sha, 65);
    bad[0] = bad[0] == '0' ? '1' : '0';
    cr_assert_eq(install(whl, NULL, "1.7.4", bad, &rt, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "the index publishes") && strstr(err.msg, "nothing was cached"), "%s",
              err.msg);
    cr_assert_eq(compat_runtime_find("1.7.4", NULL, &rt, &err), SMX_OK);
    cr_assert(!rt.found);

    /* a wheel named for another version than asked */
    cr_assert_eq(install(whl, NULL, "1.5.2", NULL, &rt, &err), SMX_EINVAL);

    /* the published file: cached, found, the library inside the cache */
    cr_assert_eq(install(whl, NULL, "1.7.4", sha, &rt, &err), SMX_OK, "%s", err.msg);
    cr_assert(rt.found && !strcmp(rt.loaded, "1.7.4"), "%s", rt.loaded);
    compat_runtime again;
    cr_assert_eq(compat_runtime_find("1.7.4", NULL, &again, &err), SMX_OK, "%s", err.msg);
    cr_assert(again.found && !strcmp(again.lib, rt.lib) && !strcmp(again.sha256, sha));
    cr_assert(strstr(again.lib, "/cache/smxgb/wheels/") && strstr(again.lib, sha), "%s", again.lib);
    cr_assert_str_eq(again.wheel, "xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl");
    struct stat st;
    char bundled[4200];
    snprintf(bundled, sizeof bundled, "%s/cache/smxgb/wheels/%s/xgboost.libs", dir, sha);
    cr_assert_eq(stat(bundled, &st), 0, "the bundled libraries are extracted beside it");
    compat_runtime_choice ch;
    cr_assert_eq(compat_runtime_choose("1.7.4", NULL, NULL, &ch, &err), SMX_OK);
    cr_assert(ch.evidence == COMPAT_EVIDENCE_EXACT && !strcmp(ch.lib, rt.lib));
    cr_assert_eq(compat_runtime_choose("3.0.5", NULL, NULL, &ch, &err), SMX_OK);
    cr_assert(ch.evidence == COMPAT_EVIDENCE_STANDIN && !ch.lib[0] &&
                  strstr(ch.why, "smxgb runtime fetch 3.0.5"),
              "%s", ch.why);
    free(sha);
}

Test(runtime_wheel, a_library_that_is_not_that_version_or_does_not_run_here_is_not_cached)
{
    compat_runtime rt;
    smx_err err = {0};
    size_t n;
    /* a "3.0.5" wheel whose library is 1.7.4 */
    const char *w305 = th_path(dir, "xgboost-3.0.5-py3-none-manylinux_2_28_x86_64.whl");
    free(th_wheel_write(w305, "3.0.5", th_system_lib(), &n));
    cr_assert_eq(install(w305, NULL, "3.0.5", NULL, &rt, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "its library is XGBoost 1.7.4, not 3.0.5"), "%s", err.msg);
    /* a library built for another machine */
    size_t ln;
    char *b = th_read(th_system_lib(), &ln);
    b[18] = (char)183;
    b[19] = 0;
    th_write(th_path(dir, "arm.so"), b, ln);
    free(b);
    const char *warm = th_path(dir, "xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl");
    free(th_wheel_write(warm, "1.7.4", th_path(dir, "arm.so"), &n));
    cr_assert_eq(install(warm, NULL, "1.7.4", NULL, &rt, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "built for aarch64"), "%s", err.msg);
    /* one that needs a newer glibc, and one with a missing symbol: the loader's words */
    const char *newer = patched_lib("newer.so", "GLIBC_2.34", "GLIBC_2.99");
    free(th_wheel_write(warm, "1.7.4", newer, &n));
    cr_assert_eq(install(warm, NULL, "1.7.4", NULL, &rt, &err), SMX_ERUNTIME);
    cr_assert(strstr(err.msg, "cannot run on this machine") && strstr(err.msg, "GLIBC_2.99"), "%s",
              err.msg);
    const char *nosym = patched_lib("nosym.so", "omp_get_num_procs", "omp_get_num_prucs");
    free(th_wheel_write(warm, "1.7.4", nosym, &n));
    cr_assert_eq(install(warm, NULL, "1.7.4", NULL, &rt, &err), SMX_ERUNTIME);
    cr_assert(strstr(err.msg, "undefined symbol: omp_get_num_prucs"), "%s", err.msg);
    /* none of them became a runtime: the stand-in is chosen */
    cr_assert_eq(compat_runtime_find("1.7.4", NULL, &rt, &err), SMX_OK);
    cr_assert(!rt.found);
    cr_assert_eq(compat_runtime_find("3.0.5", NULL, &rt, &err), SMX_OK);
    cr_assert(!rt.found);
}

static void truncate_file(const char *path, off_t to)
{
    cr_assert_eq(truncate(path, to), 0, "%s", path);
}

Test(runtime_wheel, a_damaged_cache_entry_is_never_used)
{
    const char *whl = th_path(dir, "xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl");
    size_t n;
    free(th_wheel_write(whl, "1.7.4", th_system_lib(), &n));
    compat_runtime rt;
    smx_err err = {0};
    cr_assert_eq(install(whl, NULL, "1.7.4", NULL, &rt, &err), SMX_OK, "%s", err.msg);
    char lib[4096];
    snprintf(lib, sizeof lib, "%s", rt.lib);
    struct stat st;
    cr_assert_eq(stat(lib, &st), 0);
    off_t full = st.st_size;

    /* truncated: the runtime look-up removes it and says so (a new process checks again) */
    truncate_file(lib, full / 2);
    pid_t pid = fork();
    if (pid == 0) {
        compat_runtime r2;
        smx_err e2 = {0};
        int ok = compat_runtime_find("1.7.4", NULL, &r2, &e2) == SMX_OK && !r2.found &&
                 strstr(r2.note, "was damaged") && strstr(r2.note, "libxgboost.so has");
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a damaged entry is reported");
    cr_assert_neq(stat(lib, &st), 0, "and removed");

    /* with the wheel at hand it is extracted again: a zero-byte library is repaired */
    char *path = NULL;
    cr_assert_eq(compat_wheel_lib(whl, NULL, &path, &err), SMX_OK, "%s", err.msg);
    cr_assert_str_eq(path, lib);
    truncate_file(path, 0);
    pid = fork();
    if (pid == 0) {
        char *p2 = NULL;
        smx_err e2 = {0};
        struct stat s2;
        int ok = compat_wheel_lib(whl, NULL, &p2, &e2) == SMX_OK && stat(p2, &s2) == 0 &&
                 s2.st_size == full;
        _exit(ok ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the library is extracted again");
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, full);

    /* an entry without a manifest (an older smxgb's) is extracted again too */
    char manifest[4200];
    snprintf(manifest, sizeof manifest, "%.*s/SMXGB-MANIFEST",
             (int)(strlen(path) - strlen("/xgboost/lib/libxgboost.so")), path);
    cr_assert_eq(unlink(manifest), 0, "%s", manifest);
    pid = fork();
    if (pid == 0) {
        char *p2 = NULL;
        smx_err e2 = {0};
        _exit(compat_wheel_lib(whl, NULL, &p2, &e2) == SMX_OK && access(manifest, F_OK) == 0 ? 0
                                                                                             : 1);
    }
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the manifest is written again");
    free(path);
}

/* Two processes installing one wheel at once end with one intact entry. */
Test(runtime_wheel, concurrent_installs_share_one_entry)
{
    const char *whl = th_path(dir, "xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl");
    size_t n;
    free(th_wheel_write(whl, "1.7.4", th_system_lib(), &n));
    pid_t pids[3];
    for (int i = 0; i < 3; i++)
        if ((pids[i] = fork()) == 0) {
            compat_runtime rt;
            smx_err err = {0};
            _exit(install(whl, NULL, "1.7.4", NULL, &rt, &err) == SMX_OK ? 0 : 1);
        }
    for (int i = 0; i < 3; i++) {
        int status;
        waitpid(pids[i], &status, 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "install %d", i);
    }
    char *out = NULL;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls -A '%s/cache/smxgb/wheels' '%s/cache/smxgb/runtimes'", dir, dir);
    cr_assert_eq(th_run(cmd, &out), 0);
    cr_assert(!strstr(out, "smxgb-model-") && !strstr(out, "damaged") && !strstr(out, ".tmp-"),
              "nothing half-made is left: %s", out);
    free(out);
    compat_runtime rt;
    smx_err err = {0};
    cr_assert_eq(compat_runtime_find("1.7.4", NULL, &rt, &err), SMX_OK);
    cr_assert(rt.found, "%s", rt.note);
}
