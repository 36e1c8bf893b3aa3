/*
 * XGBoost from a pip wheel: the exact build a container pins (xgboost-1.5.2-...-manylinux.whl)
 * without installing it. A wheel is a zip; its native library is xgboost/lib/libxgboost.so,
 * and manylinux wheels bundle their dependencies (libgomp) in xgboost.libs/, found through
 * the library's $ORIGIN rpath. Those two folders are extracted (regular files only, paths
 * checked) into a private temporary directory, the library is loaded with dlopen, and the
 * directory is removed again: the mapping stays valid after the files are unlinked.
 */
#include "compat.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHEEL_MAX_BYTES (1ull << 31) /* uncompressed bytes extracted from one wheel */

/* Only xgboost/lib/ and *.libs/ entries, relative, without ".." or empty components. */
static int wanted(const char *p)
{
    if (!*p || p[0] == '/' || strstr(p, "..") || strstr(p, "//"))
        return 0;
    if (!strncmp(p, "xgboost/lib/", 12))
        return 1;
    const char *slash = strchr(p, '/');
    return slash && slash - p > 5 && !strncmp(slash - 5, ".libs", 5) && !strchr(slash + 1, '/');
}

static int mkdirs(const char *root, const char *rel, smx_err *err)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof path)
        return smx_fail(err, SMX_EINVAL, "path too long in wheel: %s", rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return smx_fail(err, SMX_EIO, "cannot create %s: %s", path, strerror(errno));
        *p = '/';
    }
    return SMX_OK;
}

static int extract(const char *wheel, const char *root, int *found, smx_err *err)
{
    struct archive *a = archive_read_new();
    if (!a)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    archive_read_support_format_zip(a);
    int rc = SMX_OK;
    if (archive_read_open_filename(a, wheel, 1 << 16) != ARCHIVE_OK) {
        rc = smx_fail(err, SMX_EIO, "%s is not a readable wheel (zip): %s", wheel,
                      archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    uint64_t total = 0;
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *p = archive_entry_pathname(e);
        if (!p || archive_entry_filetype(e) != AE_IFREG || !wanted(p))
            continue;
        if ((rc = mkdirs(root, p, err)))
            break;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, p);
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
            if (total > WHEEL_MAX_BYTES) {
                rc = smx_fail(err, SMX_ELIMIT, "%s: more than 2 GiB of libraries", wheel);
                break;
            }
            if (pwrite(fd, buf, len, off) != (ssize_t)len) {
                rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", path, strerror(errno));
                break;
            }
        }
        close(fd);
        if (!rc && r != ARCHIVE_EOF)
            rc = smx_fail(err, SMX_EFORMAT, "%s: entry %s: %s", wheel, p, archive_error_string(a));
        if (rc)
            break;
        if (!strcmp(p, "xgboost/lib/libxgboost.so"))
            *found = 1;
    }
    if (!rc && r != ARCHIVE_EOF && r != ARCHIVE_OK)
        rc = smx_fail(err, SMX_EFORMAT, "%s: %s", wheel, archive_error_string(a));
    archive_read_free(a);
    return rc;
}

int compat_xgb_open_wheel(const char *wheel, compat_xgb **out, smx_err *err)
{
    *out = NULL;
    const char *td = getenv("TMPDIR");
    char root[4096];
    snprintf(root, sizeof root, "%s/smxgb-wheel-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(root))
        return smx_fail(err, SMX_EIO, "cannot create a temporary directory: %s", strerror(errno));
    int found = 0;
    int rc = extract(wheel, root, &found, err);
    if (!rc && !found)
        rc = smx_fail(err, SMX_EFORMAT,
                      "%s has no xgboost/lib/libxgboost.so: pass an XGBoost wheel for Linux "
                      "(e.g. xgboost-1.5.2-py3-none-manylinux2014_x86_64.whl)",
                      wheel);
    if (!rc) {
        char lib[4200];
        snprintf(lib, sizeof lib, "%s/xgboost/lib/libxgboost.so", root);
        rc = compat_xgb_open(lib, out, err);
    }
    smx_err ignore = {0};
    artifact_remove_tree(root, &ignore);
    return rc;
}
