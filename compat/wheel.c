/*
 * XGBoost from a pip wheel: `pip download xgboost==1.5.2` gives a .whl (a zip) that bundles
 * the exact libxgboost.so the container pins. We read the zip with libarchive, find the one
 * entry whose path ends in lib/libxgboost.so, and copy it into a cache directory keyed by the
 * wheel's sha256, so the next run dlopens the cached copy without unpacking anything. The
 * copy is written to a temporary name and renamed, so concurrent runs never see half a file.
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

#define WHEEL_LIB_MAX (2ull << 30) /* a libxgboost.so larger than 2 GiB is not one */

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

static int is_lib_entry(const char *p)
{
    size_t n = strlen(p), k = strlen("lib/libxgboost.so");
    return n >= k && !strcmp(p + n - k, "lib/libxgboost.so") && (n == k || p[n - k - 1] == '/');
}

int compat_wheel_lib(const char *path, const char *cache_dir, char **lib_path, smx_err *err)
{
    *lib_path = NULL;
    char hex[65];
    int rc = sha256_file(path, hex, err);
    if (rc)
        return rc;
    smx_buf dir = SMX_BUF_INIT;
    if (cache_dir && *cache_dir)
        smx_buf_puts(&dir, cache_dir);
    else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME"))
        smx_buf_printf(&dir, "%s/smxgb", getenv("XDG_CACHE_HOME"));
    else if (getenv("HOME") && *getenv("HOME"))
        smx_buf_printf(&dir, "%s/.cache/smxgb", getenv("HOME"));
    else
        smx_buf_puts(&dir, "/tmp/smxgb-cache");
    smx_buf_printf(&dir, "/wheels/%s", hex);
    if (!dir.data)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    smx_buf lib = SMX_BUF_INIT;
    smx_buf_printf(&lib, "%s/libxgboost.so", dir.data);
    struct stat st;
    if (lib.data && stat(lib.data, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        smx_buf_free(&dir);
        *lib_path = lib.data;
        return SMX_OK;
    }
    if (mkdirs(dir.data)) {
        rc = smx_fail(err, SMX_EIO, "cannot create cache directory %s: %s", dir.data, strerror(errno));
        goto out;
    }

    struct archive *a = archive_read_new();
    archive_read_support_format_zip(a);
    if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
        rc = smx_fail(err, SMX_EFORMAT, "%s is not a wheel (zip): %s", path, archive_error_string(a));
        archive_read_free(a);
        goto out;
    }
    struct archive_entry *e;
    int found = 0, r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (!name || !is_lib_entry(name) || archive_entry_filetype(e) != AE_IFREG)
            continue;
        found = 1;
        if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > WHEEL_LIB_MAX) {
            rc = smx_fail(err, SMX_ELIMIT, "%s: %s is larger than 2 GiB", path, name);
            break;
        }
        smx_buf tmp = SMX_BUF_INIT;
        smx_buf_printf(&tmp, "%s/.libxgboost.so.%ld", dir.data, (long)getpid());
        int fd = tmp.data ? open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700) : -1;
        if (fd < 0) {
            rc = smx_fail(err, SMX_EIO, "cannot write into %s: %s", dir.data, strerror(errno));
            smx_buf_free(&tmp);
            break;
        }
        const void *buf;
        size_t n;
        la_int64_t off;
        uint64_t total = 0;
        while ((r = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK) {
            total += n;
            if (total > WHEEL_LIB_MAX || pwrite(fd, buf, n, off) != (ssize_t)n) {
                r = ARCHIVE_FATAL;
                break;
            }
        }
        if (close(fd) || r != ARCHIVE_EOF) {
            rc = smx_fail(err, SMX_EFORMAT, "%s: cannot extract %s: %s", path, name,
                          archive_error_string(a) ? archive_error_string(a) : "write failed");
            unlink(tmp.data);
        } else if (rename(tmp.data, lib.data)) {
            rc = smx_fail(err, SMX_EIO, "cannot rename into %s: %s", lib.data, strerror(errno));
            unlink(tmp.data);
        }
        smx_buf_free(&tmp);
        break;
    }
    if (!rc && r != ARCHIVE_OK && r != ARCHIVE_EOF && !found)
        rc = smx_fail(err, SMX_EFORMAT, "%s: corrupt wheel: %s", path, archive_error_string(a));
    else if (!rc && !found)
        rc = smx_fail(err, SMX_EFORMAT,
                      "%s has no lib/libxgboost.so (is it an xgboost wheel for this platform?)", path);
    archive_read_free(a);
out:
    smx_buf_free(&dir);
    if (rc) {
        smx_buf_free(&lib);
        return rc;
    }
    *lib_path = lib.data;
    return SMX_OK;
}
