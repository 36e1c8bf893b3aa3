/*
 * Deterministic packaging: the same input gives the same bytes, so a Terraform
 * `etag = filemd5(...)` changes only when the model does.
 *
 * Everything that usually varies is pinned: entries sorted bytewise, mtime from the caller
 * (SOURCE_DATE_EPOCH or 0), uid/gid 0 with empty owner names, mode 0644, POSIX ustar headers
 * (pax only where a name needs it), and a gzip header without file name or timestamp
 * (libarchive's "!timestamp" option). Inputs the container would choke on are refused before
 * anything is written; the archive goes to a temporary file beside the output and is renamed
 * into place only once complete, so a failure never leaves a half-written model.tar.gz.
 */
#include "artifacts.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct pkg_item {
    char *src;  /* path to read */
    char *name; /* name in the archive */
    int64_t size;
} pkg_item;

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const pkg_item *)a)->name, ((const pkg_item *)b)->name);
}

static void free_items(pkg_item *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].src);
        free(v[i].name);
    }
    free(v);
}

/* Collect the files to package, refusing anything the container would choke on. */
static int collect(const char *input, const artifact_package_opts *o, pkg_item **out, size_t *n_out,
                   smx_err *err)
{
    struct stat st;
    *out = NULL;
    *n_out = 0;
    if (stat(input, &st) != 0)
        return smx_fail(err, SMX_EIO, "%s: %s", input, strerror(errno));
    if (S_ISREG(st.st_mode)) {
        const char *base = strrchr(input, '/');
        base = base ? base + 1 : input;
        if (base[0] == '.')
            return smx_fail(err, SMX_EINVAL,
                            "%s: refusing a dotfile as the model (macOS '._' files are metadata, "
                            "not models); pass the real model file",
                            input);
        if (st.st_size == 0)
            return smx_fail(err, SMX_EINVAL, "%s: the model file is empty (0 bytes)", input);
        pkg_item *v = calloc(1, sizeof *v);
        if (!v || !(v->src = strdup(input)) || !(v->name = strdup("xgboost-model"))) {
            free_items(v, v ? 1 : 0);
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        }
        v->size = st.st_size;
        *out = v;
        *n_out = 1;
        return SMX_OK;
    }
    if (!S_ISDIR(st.st_mode))
        return smx_fail(err, SMX_EINVAL, "%s: not a regular file or a directory", input);

    DIR *d = opendir(input);
    if (!d)
        return smx_fail(err, SMX_EIO, "%s: %s", input, strerror(errno));
    pkg_item *v = NULL;
    size_t n = 0, cap = 0;
    int rc = SMX_OK;
    struct dirent *de;
    while (rc == SMX_OK && (de = readdir(d))) {
        const char *nm = de->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, ".."))
            continue;
        smx_buf p = SMX_BUF_INIT;
        if (smx_buf_printf(&p, "%s/%s", input, nm)) {
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            break;
        }
        struct stat es;
        if (lstat(p.data, &es) != 0) {
            rc = smx_fail(err, SMX_EIO, "%s: %s", p.data, strerror(errno));
        } else if (nm[0] == '.') {
            rc = smx_fail(err, SMX_EINVAL,
                          "%s: dotfile in the model directory; some containers (0.90-x, 1.0-1, "
                          "1.2-2) load it as a model. Remove it and package again",
                          p.data);
        } else if (S_ISDIR(es.st_mode)) {
            rc = smx_fail(err, SMX_EINVAL,
                          "%s: sub-directory in the model directory; the container never looks "
                          "inside it. Keep the model directory flat",
                          p.data);
        } else if (!S_ISREG(es.st_mode)) {
            rc = smx_fail(err, SMX_EINVAL,
                          "%s: not a regular file (links, devices and FIFOs are "
                          "not packaged)",
                          p.data);
        } else if (es.st_size == 0) {
            rc = smx_fail(err, SMX_EINVAL, "%s: empty file (0 bytes); loading it as a model fails",
                          p.data);
        } else {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 4;
                pkg_item *nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    rc = smx_fail(err, SMX_ENOMEM, "out of memory");
                    smx_buf_free(&p);
                    break;
                }
                v = nv;
                cap = nc;
            }
            v[n].src = p.data;
            v[n].name = strdup(nm);
            v[n].size = es.st_size;
            p.data = NULL;
            if (!v[n++].name)
                rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        }
        smx_buf_free(&p);
    }
    closedir(d);
    if (rc == SMX_OK && n == 0)
        rc = smx_fail(err, SMX_EINVAL, "%s: the directory holds no model file", input);
    if (rc == SMX_OK && n > 1 && !o->allow_multiple)
        rc = smx_fail(err, SMX_EINVAL,
                      "%s: %zu files; the container loads every top-level file as a model "
                      "(ensemble). Keep only the model, or pass --ensemble if you mean it",
                      input, n);
    if (rc != SMX_OK) {
        free_items(v, n);
        return rc;
    }
    qsort(v, n, sizeof *v, cmp_item);
    *out = v;
    *n_out = n;
    return SMX_OK;
}

static int write_item(struct archive *a, struct archive_entry *ae, const pkg_item *it,
                      int64_t mtime, smx_err *err)
{
    int fd = open(it->src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return smx_fail(err, SMX_EIO, "%s: %s", it->src, strerror(errno));
    archive_entry_clear(ae);
    archive_entry_set_pathname(ae, it->name);
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_size(ae, it->size);
    archive_entry_set_mtime(ae, (time_t)mtime, 0);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    archive_entry_set_uname(ae, "");
    archive_entry_set_gname(ae, "");
    int rc = SMX_OK;
    if (archive_write_header(a, ae) != ARCHIVE_OK) {
        rc = smx_fail(err, SMX_ERUNTIME, "%s: cannot write tar header: %s", it->name,
                      archive_error_string(a));
        goto out;
    }
    char buf[65536];
    int64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = smx_fail(err, SMX_EIO, "%s: read error: %s", it->src, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        total += n;
        if (total > it->size)
            break;
        if (archive_write_data(a, buf, (size_t)n) != n) {
            rc = smx_fail(err, SMX_EIO, "cannot write archive data: %s", archive_error_string(a));
            goto out;
        }
    }
    if (total != it->size)
        rc = smx_fail(err, SMX_EIO,
                      "%s: the file changed size while being packaged (%lld, now %lld bytes)",
                      it->src, (long long)it->size, (long long)total);
out:
    close(fd);
    return rc;
}

int artifact_package(const char *input, const char *out_path, const artifact_package_opts *opts,
                     smx_err *err)
{
    artifact_package_opts defo = {0, 0};
    if (!opts)
        opts = &defo;
    pkg_item *items;
    size_t n;
    int rc = collect(input, opts, &items, &n, err);
    if (rc)
        return rc;
    /* Never overwrite the input with its own archive. */
    struct stat si, so;
    for (size_t i = 0; i < n; i++)
        if (stat(items[i].src, &si) == 0 && stat(out_path, &so) == 0 && si.st_dev == so.st_dev &&
            si.st_ino == so.st_ino) {
            free_items(items, n);
            return smx_fail(err, SMX_EINVAL, "%s: the output would overwrite the input", out_path);
        }

    smx_buf tmp = SMX_BUF_INIT;
    if (smx_buf_printf(&tmp, "%s.tmp-XXXXXX", out_path)) {
        free_items(items, n);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    int fd = mkstemp(tmp.data);
    if (fd < 0) {
        rc = smx_fail(err, SMX_EIO, "%s: cannot create: %s", out_path, strerror(errno));
        free_items(items, n);
        smx_buf_free(&tmp);
        return rc;
    }
    struct archive *a = archive_write_new();
    struct archive_entry *ae = archive_entry_new();
    if (!a || !ae) {
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        goto fail;
    }
    if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "compression-level", "6") != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        rc = smx_fail(err, SMX_ERUNTIME, "cannot set up the archive writer: %s",
                      archive_error_string(a));
        goto fail;
    }
    for (size_t i = 0; i < n && rc == SMX_OK; i++)
        rc = write_item(a, ae, &items[i], opts->mtime, err);
    if (rc)
        goto fail;
    if (archive_write_close(a) != ARCHIVE_OK) {
        rc = smx_fail(err, SMX_EIO, "%s: cannot finish the archive: %s", out_path,
                      archive_error_string(a));
        goto fail;
    }
    archive_write_free(a);
    a = NULL;
    archive_entry_free(ae);
    ae = NULL;
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = smx_fail(err, SMX_EIO, "%s: cannot write: %s", out_path, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp.data, out_path) != 0) {
        rc = smx_fail(err, SMX_EIO, "%s: cannot rename into place: %s", out_path, strerror(errno));
        goto fail;
    }
    free_items(items, n);
    smx_buf_free(&tmp);
    return SMX_OK;
fail:
    if (a)
        archive_write_free(a);
    if (ae)
        archive_entry_free(ae);
    if (fd >= 0)
        close(fd);
    unlink(tmp.data);
    free_items(items, n);
    smx_buf_free(&tmp);
    return rc;
}
