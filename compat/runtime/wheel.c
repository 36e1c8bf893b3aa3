/*
 * XGBoost from a pip wheel: the exact build a container pins (xgboost-1.5.2-...-manylinux.whl)
 * without installing it, kept in a cache that every later run, whichever verb, reuses.
 *
 * A wheel is a zip that bundles libxgboost.so in xgboost/lib/ (XGBoost 1.1 and later) or, as a
 * data file, in xgboost-V.data/data/xgboost/ (0.90, 1.0), and for manylinux wheels the
 * libraries it needs in <name>.libs/ or xgboost/.libs/, found through the library's $ORIGIN
 * rpath. Load checks run in children that each dlopen a path, so the library has to stay on
 * disk: only those folders are extracted, by artifacts/ (the project's one safe extraction:
 * one pass, regular files only, no link, no absolute or ".." path among them, limits), into a
 * fresh directory under CACHE/wheels (CACHE: $XDG_CACHE_HOME/smxgb, else ~/.cache/smxgb).
 *
 * Each entry is keyed by the wheel's sha256 and carries a manifest, SMXGB-MANIFEST: the
 * library's path and the sha256 and size of every file extracted. The manifest is written
 * before the directory is renamed to its key, so concurrent runs never see half an entry, and
 * an entry is checked against its manifest before its library is used (every file's size each
 * time, its sha256 once per process): a
 * truncated, emptied or altered file is found, the entry is set aside and removed, and the
 * caller extracts it again from the wheel (compat_wheel_lib) or fetches it again (a pinned
 * runtime, cache.c). An entry without a manifest (written by an older smxgb) is treated the
 * same way.
 */
#include "../../artifacts/artifacts.h"
#include "runtime_private.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHEEL_MAX_BYTES (2ull << 30) /* uncompressed bytes of one wheel */
#define MANIFEST        "SMXGB-MANIFEST"
#define MANIFEST_HEAD   "smxgb wheel cache 1\n"

int rtm_sha256_file(const char *path, char hex[65], uint64_t *size, smx_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return smx_fail(err, SMX_EIO, "cannot open %s: %s", path, strerror(errno));
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        fclose(f);
        EVP_MD_CTX_free(c);
        return smx_fail(err, SMX_ENOMEM, "sha256 context");
    }
    static _Thread_local unsigned char buf[1 << 20];
    unsigned char d[32];
    size_t n;
    uint64_t total = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        EVP_DigestUpdate(c, buf, n);
        total += n;
    }
    int bad = ferror(f);
    fclose(f);
    unsigned dl = 0;
    EVP_DigestFinal_ex(c, d, &dl);
    EVP_MD_CTX_free(c);
    if (bad)
        return smx_fail(err, SMX_EIO, "cannot read %s", path);
    smx_sha256_hex(d, hex);
    if (size)
        *size = total;
    return SMX_OK;
}

int rtm_mkdirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0700) && errno != EEXIST ? -1 : 0;
}

int compat_cache_root(const char *cache_dir, char **out, smx_err *err)
{
    smx_buf root = SMX_BUF_INIT;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (cache_dir && *cache_dir)
        smx_buf_puts(&root, cache_dir);
    else if (xdg && *xdg)
        smx_buf_printf(&root, "%s/smxgb", xdg);
    else if (home && *home)
        smx_buf_printf(&root, "%s/.cache/smxgb", home);
    else
        smx_buf_puts(&root, "/tmp/smxgb-cache");
    if (!root.data)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    *out = root.data;
    return SMX_OK;
}

/* ---- what a wheel holds ------------------------------------------------------------------ */

/* Where the library is in an extracted wheel, newest layout first. */
static int find_lib(const char *dir, char *rel, size_t n)
{
    snprintf(rel, n, "xgboost/lib/libxgboost.so");
    smx_buf p = SMX_BUF_INIT;
    smx_buf_printf(&p, "%s/%s", dir, rel);
    struct stat st;
    int ok = p.data && stat(p.data, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
    smx_buf_free(&p);
    if (ok)
        return 0;
    DIR *d = opendir(dir); /* xgboost-0.90.data/data/xgboost/libxgboost.so */
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".data"))
            continue;
        snprintf(rel, n, "%s/data/xgboost/libxgboost.so", e->d_name);
        smx_buf_printf(&p, "%s/%s", dir, rel);
        ok = p.data && stat(p.data, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
        smx_buf_free(&p);
        if (ok)
            break;
    }
    if (d)
        closedir(d);
    return ok ? 0 : -1;
}

/* The wheel members a load needs: the library's folder and the bundled libraries. */
static int wanted(void *ctx, const artifact_entry *e)
{
    (void)ctx;
    const char *p = e->path;
    if (!strncmp(p, "xgboost/lib/", 12) || !strncmp(p, "xgboost/.libs/", 14))
        return 1;
    const char *slash = strchr(p, '/');
    if (!slash)
        return 0;
    if (slash - p > 5 && !strncmp(slash - 5, ".data", 5) && !strncmp(slash, "/data/xgboost/", 14))
        return !strchr(slash + 14, '/');
    return slash - p > 5 && !strncmp(slash - 5, ".libs", 5) && !strchr(slash + 1, '/');
}

/* ---- the manifest ------------------------------------------------------------------------ */

/* Append "file SHA256 SIZE REL" for every regular file below dir/rel. */
static int list_files(const char *dir, const char *rel, smx_buf *m, smx_err *err)
{
    smx_buf path = SMX_BUF_INIT;
    smx_buf_printf(&path, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = path.data ? opendir(path.data) : NULL;
    if (!d) {
        smx_buf_free(&path);
        return smx_fail(err, SMX_EIO, "cannot list %s/%s: %s", dir, rel, strerror(errno));
    }
    int rc = SMX_OK;
    struct dirent *e;
    while (rc == SMX_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, MANIFEST))
            continue;
        smx_buf sub = SMX_BUF_INIT, full = SMX_BUF_INIT;
        smx_buf_printf(&sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        smx_buf_printf(&full, "%s/%s", dir, sub.data ? sub.data : "");
        struct stat st;
        char hex[65];
        uint64_t size = 0;
        if (!sub.data || !full.data)
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        else if (lstat(full.data, &st))
            rc = smx_fail(err, SMX_EIO, "%s: %s", full.data, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = list_files(dir, sub.data, m, err);
        else if (S_ISREG(st.st_mode) && !(rc = rtm_sha256_file(full.data, hex, &size, err)))
            smx_buf_printf(m, "file %s %llu %s\n", hex, (unsigned long long)size, sub.data);
        smx_buf_free(&sub);
        smx_buf_free(&full);
    }
    closedir(d);
    smx_buf_free(&path);
    return rc;
}

static int write_manifest(const char *dir, const char *lib_rel, smx_err *err)
{
    smx_buf m = SMX_BUF_INIT, path = SMX_BUF_INIT;
    smx_buf_printf(&m, MANIFEST_HEAD "lib %s\n", lib_rel);
    int rc = list_files(dir, "", &m, err);
    smx_buf_printf(&path, "%s/" MANIFEST, dir);
    if (!rc && (!m.data || !path.data))
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    FILE *f = rc ? NULL : fopen(path.data, "wbx");
    if (!rc && (!f || fwrite(m.data, 1, m.len, f) != m.len))
        rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", path.data, strerror(errno));
    if (f && fclose(f) && !rc)
        rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", path.data, strerror(errno));
    smx_buf_free(&m);
    smx_buf_free(&path);
    return rc;
}

/* Entries this process has checked already (a library is loaded many times in one run). */
static pthread_mutex_t checked_lock = PTHREAD_MUTEX_INITIALIZER;
static char *checked[64];
static size_t n_checked;

static int was_checked(const char *dir, int add)
{
    int found = 0;
    pthread_mutex_lock(&checked_lock);
    for (size_t i = 0; i < n_checked && !found; i++)
        found = !strcmp(checked[i], dir);
    if (!found && add && n_checked < sizeof checked / sizeof *checked)
        checked[n_checked++] = strdup(dir);
    pthread_mutex_unlock(&checked_lock);
    return found;
}

/* One "file SHA SIZE REL" line against the file on disk (its sha256 unless known); 0, or -1
 * with why. */
static int check_line(const char *dir, const char *line, int known, char *why, size_t n)
{
    char hex[65], rel[1024], got[65];
    unsigned long long size;
    if (sscanf(line, "file %64s %llu %1023[^\n]", hex, &size, rel) != 3)
        return snprintf(why, n, "its manifest has a malformed line"), -1;
    smx_buf p = SMX_BUF_INIT;
    smx_buf_printf(&p, "%s/%s", dir, rel);
    struct stat st;
    uint64_t have = 0;
    int rc = 0;
    if (!p.data || stat(p.data, &st))
        rc = -1, snprintf(why, n, "%s is missing", rel);
    else if ((uint64_t)st.st_size != size)
        rc = -1, snprintf(why, n, "%s has %llu bytes; %llu were extracted", rel,
                          (unsigned long long)st.st_size, size);
    else if (!known && (rtm_sha256_file(p.data, got, &have, NULL) || strcmp(got, hex)))
        rc = -1, snprintf(why, n, "%s has sha256 %.16s...; %.16s... was extracted", rel, got, hex);
    smx_buf_free(&p);
    return rc;
}

int rtm_entry_check(const char *dir, char *lib_rel, size_t lib_n, char *why, size_t n)
{
    smx_buf path = SMX_BUF_INIT, m = SMX_BUF_INIT;
    smx_buf_printf(&path, "%s/" MANIFEST, dir);
    int rc = path.data ? smx_buf_read_file(&m, path.data, 1 << 20, NULL) : -1;
    smx_buf_free(&path);
    if (rc || !m.data || strncmp(m.data, MANIFEST_HEAD, strlen(MANIFEST_HEAD))) {
        smx_buf_free(&m);
        snprintf(why, n, "it has no manifest of its files");
        return -1;
    }
    char *save = NULL, *line = strtok_r(m.data + strlen(MANIFEST_HEAD), "\n", &save);
    char lib[1024];
    rc = line && sscanf(line, "lib %1023s", lib) == 1 && strlen(lib) < lib_n ? 0 : -1;
    if (rc)
        snprintf(why, n, "its manifest names no library");
    else
        memcpy(lib_rel, lib, strlen(lib) + 1);
    int files = 0;
    int known = was_checked(dir, 0);
    while (!rc && (line = strtok_r(NULL, "\n", &save))) {
        files++;
        rc = check_line(dir, line, known, why, n);
    }
    if (!rc && !files)
        rc = -1, snprintf(why, n, "its manifest lists no file");
    smx_buf_free(&m);
    if (!rc && !known)
        was_checked(dir, 1);
    return rc;
}

/* ---- entries ----------------------------------------------------------------------------- */

/* Move a damaged entry out of the way (a new one can take its name at once) and remove it. */
int rtm_entry_discard(const char *dir)
{
    smx_buf aside = SMX_BUF_INIT;
    smx_buf_printf(&aside, "%s.damaged-%ld", dir, (long)getpid());
    int rc = aside.data && rename(dir, aside.data) == 0 ? 0 : -1;
    if (!rc)
        smx_remove_tree(aside.data);
    else if (errno == ENOENT)
        rc = 0; /* another run removed it */
    smx_buf_free(&aside);
    return rc;
}

/* Extract the wheel's libraries under wheels/, write the manifest, and move the result to
 * dir (the cache entry). Another run that got there first wins: its entry is used. */
static int extract(const char *wheel, const char *wheels, const char *dir, smx_err *err)
{
    artifact_limits lim;
    artifact_limits_default(&lim);
    lim.max_total_bytes = lim.max_entry_bytes = WHEEL_MAX_BYTES;
    artifact_extract_opts xo = {ARTIFACT_KIND_ZIP, wanted, NULL};
    char *tmp = NULL, rel[1024];
    smx_err xerr = {0};
    int rc = artifact_extract_some(wheel, wheels, &lim, &xo, &tmp, &xerr);
    if (rc == SMX_ENOMEM || rc == SMX_EIO)
        return smx_fail(err, rc, "%s", xerr.msg);
    if (rc)
        return smx_fail(err, SMX_EFORMAT, "%s is not a usable wheel (zip): %s", wheel, xerr.msg);
    if (find_lib(tmp, rel, sizeof rel))
        rc = smx_fail(err, SMX_EFORMAT,
                      "%s has no xgboost/lib/libxgboost.so: pass an XGBoost wheel for Linux "
                      "(e.g. xgboost-1.5.2-py3-none-manylinux2014_x86_64.whl)",
                      wheel);
    else if ((rc = write_manifest(tmp, rel, err)) == SMX_OK && rename(tmp, dir) != 0 &&
             errno != EEXIST && errno != ENOTEMPTY)
        rc = smx_fail(err, SMX_EIO, "cannot move the extracted wheel into %s: %s", dir,
                      strerror(errno));
    if (access(tmp, F_OK) == 0) /* failed, or another run got there first */
        artifact_remove_tree(tmp, NULL);
    smx_scratch_forget(tmp);
    free(tmp);
    return rc;
}

int rtm_wheel_entry(const char *wheel, const char *hex, const char *root, char **dir, char *lib_rel,
                    size_t lib_n, char *note, size_t note_n, smx_err *err)
{
    *dir = NULL;
    if (note_n)
        note[0] = '\0';
    smx_buf wheels = SMX_BUF_INIT, d = SMX_BUF_INIT;
    smx_buf_printf(&wheels, "%s/wheels", root);
    smx_buf_printf(&d, "%s/wheels/%s", root, hex);
    if (!wheels.data || !d.data) {
        smx_buf_free(&wheels);
        smx_buf_free(&d);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    char why[512];
    struct stat st;
    int rc = SMX_OK;
    if (stat(d.data, &st) == 0 && rtm_entry_check(d.data, lib_rel, lib_n, why, sizeof why)) {
        snprintf(note, note_n, "the cached copy was damaged (%s) and was extracted again", why);
        rtm_entry_discard(d.data);
    }
    if (stat(d.data, &st) != 0) {
        if (rtm_mkdirs(wheels.data))
            rc = smx_fail(err, SMX_EIO, "cannot create cache directory %s: %s", wheels.data,
                          strerror(errno));
        else
            rc = extract(wheel, wheels.data, d.data, err);
    }
    if (!rc && rtm_entry_check(d.data, lib_rel, lib_n, why, sizeof why))
        rc = smx_fail(err, SMX_EIO, "%s: the cache entry is not usable: %s", d.data, why);
    smx_buf_free(&wheels);
    if (rc) {
        smx_buf_free(&d);
        return rc;
    }
    *dir = d.data;
    return SMX_OK;
}

int compat_wheel_lib(const char *path, const char *cache_dir, char **lib_path, smx_err *err)
{
    *lib_path = NULL;
    char hex[65], rel[1024], note[SMX_ERRMAX];
    char *root = NULL, *dir = NULL;
    int rc = rtm_sha256_file(path, hex, NULL, err);
    if (!rc)
        rc = compat_cache_root(cache_dir, &root, err);
    if (!rc)
        rc = rtm_wheel_entry(path, hex, root, &dir, rel, sizeof rel, note, sizeof note, err);
    smx_buf lib = SMX_BUF_INIT;
    if (!rc && smx_buf_printf(&lib, "%s/%s", dir, rel))
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    free(root);
    free(dir);
    if (rc) {
        smx_buf_free(&lib);
        return rc;
    }
    *lib_path = lib.data;
    return SMX_OK;
}

int compat_xgb_open_wheel(const char *wheel, compat_xgb **out, smx_err *err)
{
    *out = NULL;
    char *lib = NULL;
    int rc = compat_wheel_lib(wheel, NULL, &lib, err);
    if (rc == SMX_OK)
        rc = compat_xgb_open(lib, out, err);
    free(lib);
    return rc;
}
