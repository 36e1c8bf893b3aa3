/*
 * The hostile-archive suite: tests/hostile/make_hostile.py writes archives that attack or fool
 * a reader (escapes, links, devices, set-id bits, bombs, sparse and huge entries, broken
 * framing, name tricks, other formats disguised as .tar.gz). For each one:
 *   - `smxgb verify` exits 1 and reports the specific finding code from the manifest,
 *     within 5 s and 64 MB peak RSS (measured with wait4; relaxed under sanitizers);
 *   - safe extraction either refuses it or writes only inside its own new directory, and
 *     nothing appears beside that directory or at the absolute paths the archives aim at.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static char *dir;
static json_t *manifest;

static void setup(void)
{
    dir = th_tmpdir();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/hostile/make_hostile.py' '%s/a'", SMXGB_SOURCE_DIR,
             dir);
    cr_assert_eq(th_run(cmd, NULL), 0, "make_hostile.py failed");
    size_t n;
    char *text = th_read(th_path(dir, "a/manifest.json"), &n);
    cr_assert(text);
    manifest = th_json(text);
    free(text);
    cr_assert(json_array_size(manifest) >= 25, "the suite has %zu archives, want >= 25",
              json_array_size(manifest));
}
static void teardown(void)
{
    json_decref(manifest);
    th_rmrf(dir);
    free(dir);
}
TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 300);

/* Run smxgb verify --json on path; stdout into *out; peak RSS (KB) and wall seconds. */
static int run_verify(const char *path, char **out, long *rss_kb, double *secs)
{
    char tmpl[] = "/tmp/smxgb-hostile-out-XXXXXX";
    int ofd = mkstemp(tmpl);
    cr_assert(ofd >= 0);
    unlink(tmpl);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(ofd, 1);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 2);
        execl(SMXGB_BIN, SMXGB_BIN, "verify", "--json", path, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    *rss_kb = ru.ru_maxrss;
    off_t len = lseek(ofd, 0, SEEK_END);
    *out = calloc(1, (size_t)len + 1);
    cr_assert(pread(ofd, *out, (size_t)len, 0) == len);
    close(ofd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(hostile, verify_reports_each_attack)
{
    double max_secs = SANITIZED ? 20.0 : 5.0;
    size_t i;
    json_t *c;
    json_array_foreach(manifest, i, c)
    {
        const char *file = json_string_value(json_object_get(c, "file"));
        const char *code = json_string_value(json_object_get(c, "code"));
        char path[4096];
        snprintf(path, sizeof path, "%s/a/%s", dir, file);
        char *out = NULL;
        long rss;
        double secs;
        int rc = run_verify(path, &out, &rss, &secs);
        cr_expect_eq(rc, 1, "%s: verify exited %d, want 1", file, rc);
        json_t *rep = json_loads(out, 0, NULL);
        cr_expect(rep, "%s: verify --json printed no JSON: %.200s", file, out);
        if (rep)
            cr_expect(th_has_finding(rep, code, NULL), "%s: no finding '%s' in %.600s", file, code,
                      out);
        cr_expect(secs < max_secs, "%s: verify took %.2f s (limit %.0f s)", file, secs, max_secs);
        if (!SANITIZED)
            cr_expect(rss < 64 * 1024, "%s: verify peaked at %ld KB (limit 64 MB)", file, rss);
        json_decref(rep);
        free(out);
    }
}

/* Names in dir other than keep (NULL = any); returns how many. */
static int count_others(const char *d, const char *keep, char *first, size_t n)
{
    DIR *dp = opendir(d);
    cr_assert(dp, "cannot open %s", d);
    int k = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (keep && !strcmp(de->d_name, keep))
            continue;
        if (!k++)
            snprintf(first, n, "%s", de->d_name);
    }
    closedir(dp);
    return k;
}

Test(hostile, extraction_stays_inside)
{
    static const char *const outside[] = {"/tmp/smxgb-escaped-absolute", "/tmp/smxgb-escaped-pax"};
    for (size_t k = 0; k < 2; k++)
        unlink(outside[k]);
    size_t i;
    json_t *c;
    json_array_foreach(manifest, i, c)
    {
        const char *file = json_string_value(json_object_get(c, "file"));
        const char *code = json_string_value(json_object_get(c, "code"));
        char path[4096], sandbox[4096], parent[4200];
        snprintf(path, sizeof path, "%s/a/%s", dir, file);
        snprintf(sandbox, sizeof sandbox, "%s/sbx-%zu", dir, i);
        snprintf(parent, sizeof parent, "%s/inner", sandbox);
        cr_assert_eq(mkdir(sandbox, 0700), 0);
        cr_assert_eq(mkdir(parent, 0700), 0);
        char *out_dir = NULL;
        smx_err err = {0};
        int rc = artifact_extract(path, parent, NULL, &out_dir, &err);
        /* every attack on the archive or its entries is refused; layout problems, a valid
         * empty archive and a replaced entry extract (serve then reports what it loads) */
        int must_refuse = strncmp(code, "layout-", 7) != 0 &&
                          strcmp(code, "entry-duplicate") != 0 &&
                          strcmp(code, "archive-empty") != 0;
        if (must_refuse)
            cr_expect_neq(rc, SMX_OK, "%s: extraction was not refused", file);
        if (rc != SMX_OK)
            cr_expect(err.msg[0], "%s: refused without a message", file);
        char other[256] = "";
        cr_expect_eq(count_others(sandbox, "inner", other, sizeof other), 0,
                     "%s: '%s' appeared beside the extraction parent", file, other);
        const char *made = out_dir ? strrchr(out_dir, '/') + 1 : NULL;
        cr_expect_eq(count_others(parent, made, other, sizeof other), 0,
                     "%s: '%s' left in the parent (not the extraction directory)", file, other);
        if (out_dir) {
            smx_err e2 = {0};
            cr_expect_eq(artifact_remove_tree(out_dir, &e2), SMX_OK, "%s", e2.msg);
            free(out_dir);
        }
        for (size_t k = 0; k < 2; k++)
            cr_expect_neq(access(outside[k], F_OK), 0, "%s: wrote %s", file, outside[k]);
    }
}
