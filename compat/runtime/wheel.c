/*
 * XGBoost from a pip wheel: the exact build a container pins (xgboost-1.5.2-...-manylinux.whl)
 * without installing it.
 *
 * A wheel is a zip that bundles libxgboost.so in xgboost/lib/ and, for manylinux wheels, the
 * libraries it needs in <name>.libs/, found through the library's $ORIGIN rpath. Load checks
 * run in children that each dlopen a path, so the library has to stay on disk: those two
 * folders are extracted by artifacts/ (the project's one safe extraction: one pass, regular
 * files only, no link, no absolute or ".." path among them, limits) into a fresh
 * directory under $XDG_CACHE_HOME/smxgb/wheels (else ~/.cache/smxgb/wheels), which is then
 * renamed to the wheel's sha256: concurrent runs never see half a cache entry, and every later
 * run, whichever verb it is, reuses it.
 */
#include "../../artifacts/artifacts.h"
#include "runtime.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHEEL_MAX_BYTES (2ull << 30) /* uncompressed bytes of one wheel */

static int sha256_file(const char *path, char hex[65], smx_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return smx_fail(err, SMX_EIO, "cannot open wheel %s: %s", path, strerror(errno));
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        fclose(f);
        EVP_MD_CTX_free(c);
        return smx_fail(err, SMX_ENOMEM, "sha256 context");
    }
    unsigned char buf[65536], d[32];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(c, buf, n);
    int bad = ferror(f);
    fclose(f);
    unsigned dl = 0;
    EVP_DigestFinal_ex(c, d, &dl);
    EVP_MD_CTX_free(c);
    if (bad)
        return smx_fail(err, SMX_EIO, "cannot read wheel %s", path);
    smx_sha256_hex(d, hex);
    return SMX_OK;
}

/* mkdir -p */
static int mkdirs(const char *path)
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

/* The wheel members a load needs: xgboost/lib/ and the top-level <name>.libs/ files. */
static int wanted(void *ctx, const artifact_entry *e)
{
    (void)ctx;
    const char *p = e->path;
    if (!strncmp(p, "xgboost/lib/", 12))
        return 1;
    const char *slash = strchr(p, '/');
    return slash && slash - p > 5 && !strncmp(slash - 5, ".libs", 5) && !strchr(slash + 1, '/');
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Extract the wheel's libraries under root and move them to dir (the cache entry). */
static int extract(const char *wheel, const char *root, const char *dir, smx_err *err)
{
    artifact_limits lim;
    artifact_limits_default(&lim);
    lim.max_total_bytes = lim.max_entry_bytes = WHEEL_MAX_BYTES;
    artifact_extract_opts xo = {ARTIFACT_KIND_ZIP, wanted, NULL};
    char *tmp = NULL;
    smx_err xerr = {0};
    int rc = artifact_extract_some(wheel, root, &lim, &xo, &tmp, &xerr);
    if (rc == SMX_ENOMEM || rc == SMX_EIO)
        return smx_fail(err, rc, "%s", xerr.msg);
    if (rc)
        return smx_fail(err, SMX_EFORMAT, "%s is not a usable wheel (zip): %s", wheel, xerr.msg);
    smx_buf lib = SMX_BUF_INIT;
    smx_buf_printf(&lib, "%s/xgboost/lib/libxgboost.so", tmp);
    if (!lib.data)
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    else if (!is_file(lib.data))
        rc = smx_fail(err, SMX_EFORMAT,
                      "%s has no xgboost/lib/libxgboost.so: pass an XGBoost wheel for Linux "
                      "(e.g. xgboost-1.5.2-py3-none-manylinux2014_x86_64.whl)",
                      wheel);
    else if (rename(tmp, dir) != 0 && errno != EEXIST && errno != ENOTEMPTY)
        rc = smx_fail(err, SMX_EIO, "cannot move the extracted wheel into %s: %s", dir,
                      strerror(errno));
    smx_buf_free(&lib);
    if (access(tmp, F_OK) == 0) /* failed, or another run got there first */
        artifact_remove_tree(tmp, NULL);
    free(tmp);
    return rc;
}

int compat_wheel_lib(const char *path, const char *cache_dir, char **lib_path, smx_err *err)
{
    *lib_path = NULL;
    char hex[65];
    int rc = sha256_file(path, hex, err);
    if (rc)
        return rc;
    smx_buf root = SMX_BUF_INIT, dir = SMX_BUF_INIT, lib = SMX_BUF_INIT;
    if (cache_dir && *cache_dir)
        smx_buf_puts(&root, cache_dir);
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        smx_buf_printf(&root, "%s/smxgb", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME") && *getenv("HOME"))
        smx_buf_printf(&root, "%s/.cache/smxgb", getenv("HOME"));
    else
        smx_buf_puts(&root, "/tmp/smxgb-cache");
    smx_buf_puts(&root, "/wheels");
    smx_buf_printf(&dir, "%s/%s", root.data ? root.data : "", hex);
    smx_buf_printf(&lib, "%s/xgboost/lib/libxgboost.so", dir.data ? dir.data : "");
    if (!root.data || !dir.data || !lib.data)
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    else if (is_file(lib.data))
        rc = SMX_OK; /* cached */
    else if (mkdirs(root.data))
        rc = smx_fail(err, SMX_EIO, "cannot create cache directory %s: %s", root.data,
                      strerror(errno));
    else if ((rc = extract(path, root.data, dir.data, err)) == SMX_OK && !is_file(lib.data))
        rc = smx_fail(err, SMX_EIO, "%s: the cached wheel has no library", dir.data);
    smx_buf_free(&root);
    smx_buf_free(&dir);
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
