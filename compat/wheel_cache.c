/*
 * A pip wheel's libxgboost.so, cached on disk for load checks in child processes.
 *
 * `pip download xgboost==1.5.2` gives a .whl (a zip) that bundles the exact library the
 * container pins, plus (manylinux) its dependencies in xgboost.libs/, found through the
 * library's $ORIGIN rpath. Load checks run in children that each dlopen a path, so unlike
 * compat_xgb_open_wheel (wheel.c: extract, load in this process, remove) the library has to
 * stay on disk: xgboost/lib/ and *.libs/ are extracted (libarchive, regular files only, paths
 * checked) into a directory keyed by the wheel's sha256 under $XDG_CACHE_HOME/smxgb (else
 * ~/.cache/smxgb). The extraction goes to a temporary directory renamed into place when
 * complete, so concurrent runs never see half a cache entry, and the next run reuses it.
 */
#include "compat.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHEEL_LIB_MAX (2ull << 30) /* uncompressed bytes extracted from one wheel */

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

/* mkdir -p for every component of path below (and including) its parent directories. */
static int mkdirs(const char *path, int include_last)
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
    return include_last && mkdir(tmp, 0700) && errno != EEXIST ? -1 : 0;
}

/* Only xgboost/lib/ and <name>.libs/ entries, relative, without ".." or empty components. */
static int wanted(const char *p)
{
    if (!*p || p[0] == '/' || strstr(p, "..") || strstr(p, "//"))
        return 0;
    if (!strncmp(p, "xgboost/lib/", 12))
        return 1;
    const char *slash = strchr(p, '/');
    return slash && slash - p > 5 && !strncmp(slash - 5, ".libs", 5) && !strchr(slash + 1, '/');
}

static int extract(const char *wheel, const char *root, int *found, smx_err *err)
{
    struct archive *a = archive_read_new();
    if (!a)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    archive_read_support_format_zip(a);
    if (archive_read_open_filename(a, wheel, 65536) != ARCHIVE_OK) {
        int rc = smx_fail(err, SMX_EFORMAT, "%s is not a wheel (zip): %s", wheel,
                          archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    int rc = SMX_OK, r;
    uint64_t total = 0;
    struct archive_entry *e;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        if (!p || archive_entry_filetype(e) != AE_IFREG || !wanted(p))
            continue;
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/%s", root, p);
        if (n < 0 || (size_t)n >= sizeof path || mkdirs(path, 0)) {
            rc = smx_fail(err, SMX_EIO, "cannot create a directory for %s under %s", p, root);
            break;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
        if (fd < 0) {
            rc = smx_fail(err, SMX_EIO, "cannot create %s: %s", path, strerror(errno));
            break;
        }
        const void *buf;
        size_t len;
        la_int64_t off;
        while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
            total += len;
            if (total > WHEEL_LIB_MAX) {
                rc = smx_fail(err, SMX_ELIMIT, "%s: more than 2 GiB of libraries", wheel);
                break;
            }
            if (pwrite(fd, buf, len, off) != (ssize_t)len) {
                rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", path, strerror(errno));
                break;
            }
        }
        if (close(fd) && !rc)
            rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", path, strerror(errno));
        if (!rc && r != ARCHIVE_EOF)
            rc = smx_fail(err, SMX_EFORMAT, "%s: entry %s: %s", wheel, p, archive_error_string(a));
        if (rc)
            break;
        if (!strcmp(p, "xgboost/lib/libxgboost.so"))
            *found = 1;
    }
    if (!rc && r != ARCHIVE_EOF && r != ARCHIVE_OK)
        rc = smx_fail(err, SMX_EFORMAT, "%s: corrupt wheel: %s", wheel, archive_error_string(a));
    archive_read_free(a);
    return rc;
}

int compat_wheel_lib(const char *path, const char *cache_dir, char **lib_path, smx_err *err)
{
    *lib_path = NULL;
    char hex[65];
    int rc = sha256_file(path, hex, err);
    if (rc)
        return rc;
    smx_buf dir = SMX_BUF_INIT, lib = SMX_BUF_INIT, tmp = SMX_BUF_INIT;
    if (cache_dir && *cache_dir)
        smx_buf_puts(&dir, cache_dir);
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        smx_buf_printf(&dir, "%s/smxgb", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME") && *getenv("HOME"))
        smx_buf_printf(&dir, "%s/.cache/smxgb", getenv("HOME"));
    else
        smx_buf_puts(&dir, "/tmp/smxgb-cache");
    smx_buf_printf(&dir, "/wheels/%s", hex);
    smx_buf_printf(&lib, "%s/xgboost/lib/libxgboost.so", dir.data ? dir.data : "");
    smx_buf_printf(&tmp, "%s.tmp-%ld", dir.data ? dir.data : "", (long)getpid());
    if (!dir.data || !lib.data || !tmp.data) {
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        goto out;
    }
    struct stat st;
    if (stat(lib.data, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        goto out; /* cached */
    if (mkdirs(tmp.data, 1)) {
        rc = smx_fail(err, SMX_EIO, "cannot create cache directory %s: %s", tmp.data,
                      strerror(errno));
        goto out;
    }
    int found = 0;
    rc = extract(path, tmp.data, &found, err);
    if (!rc && !found)
        rc = smx_fail(err, SMX_EFORMAT,
                      "%s has no xgboost/lib/libxgboost.so: pass an XGBoost wheel for Linux "
                      "(e.g. xgboost-1.5.2-py3-none-manylinux2014_x86_64.whl)",
                      path);
    if (!rc && rename(tmp.data, dir.data) != 0 &&
        !(stat(lib.data, &st) == 0 && S_ISREG(st.st_mode)))
        rc = smx_fail(err, SMX_EIO, "cannot move the extracted wheel into %s: %s", dir.data,
                      strerror(errno));
    smx_err ignore = {0};
    if (access(tmp.data, F_OK) == 0)
        artifact_remove_tree(tmp.data, &ignore); /* failed, or another run got there first */
out:
    smx_buf_free(&dir);
    smx_buf_free(&tmp);
    if (rc) {
        smx_buf_free(&lib);
        return rc;
    }
    *lib_path = lib.data;
    return SMX_OK;
}
