/*
 * Deterministic packaging: the same input gives the same bytes, so a Terraform
 * `etag = filemd5(...)` changes only when the model does.
 *
 * Everything that usually varies is pinned: entries sorted bytewise, mtime from the caller
 * (SOURCE_DATE_EPOCH or 0), uid/gid 0 with empty owner names, mode 0644, POSIX ustar headers
 * (pax only where a name needs it), and a gzip header without file name or timestamp
 * (libarchive's "!timestamp" option). Inputs the container would choke on are refused before
 * anything is written. The output goes through smx_out (base/output.c): a regular file is
 * replaced by rename only once complete, so a failure never leaves a half-written
 * model.tar.gz; a device, FIFO or stdout is streamed to. The archive's and each entry's sha256
 * are computed as they are written, so the caller can report them without reading back.
 */
#include "artifacts.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
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

/* A single model file: packaged as xgboost-model. */
static int collect_file(const char *input, const struct stat *st, pkg_item **out, size_t *n_out,
                        smx_err *err)
{
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    if (base[0] == '.')
        return smx_fail(err, SMX_EINVAL,
                        "%s: refusing a dotfile as the model (macOS '._' files are metadata, "
                        "not models); pass the real model file",
                        input);
    if (st->st_size == 0)
        return smx_fail(err, SMX_EINVAL, "%s: the model file is empty (0 bytes)", input);
    pkg_item *v = calloc(1, sizeof *v);
    if (!v || !(v->src = strdup(input)) || !(v->name = strdup("xgboost-model"))) {
        free_items(v, v ? 1 : 0);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    v->size = st->st_size;
    *out = v;
    *n_out = 1;
    return SMX_OK;
}

/* Why the directory entry at path (named nm, lstat es) cannot be packaged, or SMX_OK. */
static int refuse_dir_entry(const char *path, const char *nm, const struct stat *es, smx_err *err)
{
    if (nm[0] == '.')
        return smx_fail(err, SMX_EINVAL,
                        "%s: dotfile in the model directory; some containers (0.90-x, 1.0-1, "
                        "1.2-2) load it as a model. Remove it and package again",
                        path);
    if (S_ISDIR(es->st_mode))
        return smx_fail(err, SMX_EINVAL,
                        "%s: sub-directory in the model directory; the container never looks "
                        "inside it. Keep the model directory flat",
                        path);
    if (!S_ISREG(es->st_mode))
        return smx_fail(err, SMX_EINVAL,
                        "%s: not a regular file (links, devices and FIFOs are "
                        "not packaged)",
                        path);
    if (es->st_size == 0)
        return smx_fail(err, SMX_EINVAL, "%s: empty file (0 bytes); loading it as a model fails",
                        path);
    return SMX_OK;
}

/* A growing list of items. */
typedef struct pkg_items {
    pkg_item *v;
    size_t n, cap;
} pkg_items;

/* Append src (taken over: freed here on failure) under name. */
static int items_add(pkg_items *l, char *src, const char *name, int64_t size, smx_err *err)
{
    if (smx_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v)) {
        free(src);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    pkg_item *it = &l->v[l->n++];
    it->src = src;
    it->name = strdup(name);
    it->size = size;
    return it->name ? SMX_OK : smx_fail(err, SMX_ENOMEM, "out of memory");
}

/* One entry of the directory input: added to l, or refused. */
static int collect_dir_entry(const char *input, const char *nm, pkg_items *l, smx_err *err)
{
    smx_buf p = SMX_BUF_INIT;
    if (smx_buf_printf(&p, "%s/%s", input, nm))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    struct stat es;
    int rc;
    if (lstat(p.data, &es) != 0)
        rc = smx_fail(err, SMX_EIO, "%s: %s", p.data, strerror(errno));
    else if ((rc = refuse_dir_entry(p.data, nm, &es, err)) == SMX_OK) {
        rc = items_add(l, p.data, nm, es.st_size, err);
        p.data = NULL;
    }
    smx_buf_free(&p);
    return rc;
}

/* A directory: its top-level regular files under their own names, sorted bytewise. */
static int collect_dir(const char *input, const artifact_package_opts *o, pkg_item **out,
                       size_t *n_out, smx_err *err)
{
    DIR *d = opendir(input);
    if (!d)
        return smx_fail(err, SMX_EIO, "%s: %s", input, strerror(errno));
    pkg_items l = {NULL, 0, 0};
    int rc = SMX_OK;
    struct dirent *de;
    while (rc == SMX_OK && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            rc = collect_dir_entry(input, de->d_name, &l, err);
    }
    closedir(d);
    if (rc == SMX_OK && l.n == 0)
        rc = smx_fail(err, SMX_EINVAL, "%s: the directory holds no model file", input);
    if (rc == SMX_OK && l.n > 1 && !o->allow_multiple)
        rc = smx_fail(err, SMX_EINVAL,
                      "%s: %zu files; the container loads every top-level file as a model "
                      "(ensemble). Keep only the model, or pass --ensemble if you mean it",
                      input, l.n);
    if (rc != SMX_OK) {
        free_items(l.v, l.n);
        return rc;
    }
    qsort(l.v, l.n, sizeof *l.v, cmp_item);
    *out = l.v;
    *n_out = l.n;
    return SMX_OK;
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
    if (S_ISREG(st.st_mode))
        return collect_file(input, &st, out, n_out, err);
    if (!S_ISDIR(st.st_mode))
        return smx_fail(err, SMX_EINVAL, "%s: not a regular file or a directory", input);
    return collect_dir(input, o, out, n_out, err);
}

/* The archive's bytes go to the output and into the running sha256. */
typedef struct sink {
    smx_out *out;
    EVP_MD_CTX *md;
    uint64_t bytes;
    smx_err *err;
} sink;

static la_ssize_t sink_write(struct archive *a, void *ctx, const void *p, size_t n)
{
    (void)a;
    sink *k = ctx;
    if (smx_out_write(k->out, p, n, k->err))
        return -1;
    EVP_DigestUpdate(k->md, p, n);
    k->bytes += n;
    return (la_ssize_t)n;
}

static void hex_digest(EVP_MD_CTX *md, char out[65])
{
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    smx_sha256_hex(d, out);
}

void artifact_package_result_free(artifact_package_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_entries; i++)
        free(r->entries[i].path);
    free(r->entries);
    memset(r, 0, sizeof *r);
}

static int write_item(struct archive *a, struct archive_entry *ae, const pkg_item *it,
                      int64_t mtime, char sha256[65], smx_err *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    int fd = open(it->src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        EVP_MD_CTX_free(md);
        return smx_fail(err, SMX_EIO, "%s: %s", it->src, strerror(errno));
    }
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
        EVP_DigestUpdate(md, buf, (size_t)n);
        if (archive_write_data(a, buf, (size_t)n) != n) {
            if (err->status == SMX_OK) /* else the sink said why (disk full...) */
                smx_fail(err, SMX_EIO, "cannot write archive data: %s", archive_error_string(a));
            rc = err->status;
            goto out;
        }
    }
    if (total != it->size)
        rc = smx_fail(err, SMX_EIO,
                      "%s: the file changed size while being packaged (%lld, now %lld bytes)",
                      it->src, (long long)it->size, (long long)total);
out:
    close(fd);
    hex_digest(md, sha256);
    EVP_MD_CTX_free(md);
    return rc;
}

/* Write the items as a deterministic tar.gz through the sink; entry digests into shas. */
static int write_archive(sink *k, const pkg_item *items, size_t n, int64_t mtime, char (*shas)[65],
                         smx_err *err)
{
    struct archive *a = archive_write_new();
    struct archive_entry *ae = archive_entry_new();
    int rc = SMX_OK;
    if (!a || !ae) {
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        goto done;
    }
    if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "compression-level", "6") != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open2(a, k, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
        rc = smx_fail(err, SMX_ERUNTIME, "cannot set up the archive writer: %s",
                      archive_error_string(a));
        goto done;
    }
    for (size_t i = 0; i < n && rc == SMX_OK; i++)
        rc = write_item(a, ae, &items[i], mtime, shas[i], err);
    if (rc == SMX_OK && archive_write_close(a) != ARCHIVE_OK)
        rc = err->status ? err->status
                         : smx_fail(err, SMX_EIO, "%s: cannot finish the archive: %s", k->out->path,
                                    archive_error_string(a));
done:
    if (a)
        archive_write_free(a);
    if (ae)
        archive_entry_free(ae);
    return rc;
}

static int fill_result(artifact_package_result *r, const sink *k, const pkg_item *items, size_t n,
                       char (*shas)[65], smx_err *err)
{
    memset(r, 0, sizeof *r);
    hex_digest(k->md, r->sha256);
    r->bytes = k->bytes;
    r->written_through = k->out->through;
    r->to_stdout = k->out->same_as_stdout;
    if (!(r->entries = calloc(n ? n : 1, sizeof *r->entries)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!(r->entries[i].path = strdup(items[i].name))) {
            artifact_package_result_free(r);
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        }
        r->entries[i].size = items[i].size;
        memcpy(r->entries[i].sha256, shas[i], 65);
        r->n_entries = i + 1;
    }
    return SMX_OK;
}

int artifact_package(const char *input, const char *out_path, const artifact_package_opts *opts,
                     smx_err *err)
{
    artifact_package_opts defo = {0};
    if (!opts)
        opts = &defo;
    smx_err_clear(err);
    pkg_item *items;
    size_t n;
    int rc = collect(input, opts, &items, &n, err);
    for (size_t i = 0; !rc && opts->check && i < n; i++)
        rc = opts->check(opts->check_ctx, items[i].src, items[i].name, err);
    if (rc) {
        free_items(items, n); /* n is 0 when collect failed */
        return rc;
    }
    /* Never overwrite an input with its own archive; fail before any work when the output
     * cannot be written. */
    const char **inputs = calloc(opts->n_also_inputs + 1, sizeof *inputs);
    char(*shas)[65] = calloc(n ? n : 1, sizeof *shas);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    smx_out out = {.fd = -1};
    sink k = {.out = &out, .md = md, .err = err};
    if (!inputs || !shas || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        goto done;
    }
    inputs[0] = input;
    for (size_t i = 0; i < opts->n_also_inputs; i++)
        inputs[i + 1] = opts->also_inputs[i];
    if ((rc = smx_out_open(&out, out_path, inputs, opts->n_also_inputs + 1, err)) ||
        (rc = write_archive(&k, items, n, opts->mtime, shas, err)) ||
        (rc = smx_out_commit(&out, err)))
        goto done;
    if (opts->result)
        rc = fill_result(opts->result, &k, items, n, shas, err);
done:
    smx_out_abort(&out); /* nothing left to do after a commit */
    EVP_MD_CTX_free(md);
    free(shas);
    free(inputs);
    free_items(items, n);
    return rc;
}
