/*
 * Safe extraction, for the verbs that need the model on disk (serve, check).
 *
 * Extraction is the scan of scan.c with hooks: the same single pass, the same limits. Only
 * regular files are ever written; links, devices and FIFOs are never created, so nothing in
 * the tree can redirect a later write. Every file is opened relative to a directory file
 * descriptor with O_NOFOLLOW | O_EXCL, each directory component with O_DIRECTORY |
 * O_NOFOLLOW, inside a fresh mkdtemp directory (0700) that nobody else knows. When the scan
 * is done the findings decide: one unsafe entry, or any problem with the archive, and the
 * whole tree is removed and the extraction refused. A caller may take only some entries (the
 * libraries of a pip wheel, a zip): the others are scanned but neither written nor judged.
 */
#include "artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct xctx {
    const artifact_extract_opts *o;
    int root; /* directory fd of the new tree */
    int fd;   /* file being written, or -1 */
    smx_err *err;
    const char *archive;
} xctx;

static int unsafe(const artifact_entry *e)
{
    return (e->flags &
            (ARTIFACT_F_ABSOLUTE | ARTIFACT_F_DOTDOT | ARTIFACT_F_LONGNAME | ARTIFACT_F_BADNAME)) ||
           (e->type != ARTIFACT_FILE && e->type != ARTIFACT_DIR);
}

/* Open (creating) the directory holding path's last component; *leaf points into path. */
static int open_parent(int root, const char *path, const char **leaf, smx_err *err)
{
    int dfd = dup(root);
    if (dfd < 0)
        return -1;
    const char *p = path;
    for (;;) {
        const char *sl = strchr(p, '/');
        if (!sl)
            break;
        char comp[256];
        size_t n = (size_t)(sl - p);
        if (n == 0 || n >= sizeof comp) {
            close(dfd);
            smx_fail(err, SMX_EUNSAFE, "bad path component in '%s'", path);
            return -1;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (mkdirat(dfd, comp, 0755) != 0 && errno != EEXIST) {
            smx_fail(err, SMX_EIO, "cannot create directory '%s' for '%s': %s", comp, path,
                     strerror(errno));
            close(dfd);
            return -1;
        }
        int nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(dfd);
        if (nfd < 0) {
            smx_fail(err, SMX_EUNSAFE, "'%s': '%s' is not a directory: %s", path, comp,
                     strerror(errno));
            return -1;
        }
        dfd = nfd;
        p = sl + 1;
    }
    *leaf = p;
    return dfd;
}

static int x_want(void *ctx, const artifact_entry *e)
{
    xctx *x = ctx;
    if (unsafe(e) || e->depth == 0 || (x->o->select && !x->o->select(x->o->ctx, e)))
        return 0;
    const char *leaf;
    int dfd = open_parent(x->root, e->path, &leaf, x->err);
    if (dfd < 0)
        return -(x->err->status ? x->err->status : SMX_EIO);
    /* A later copy of the same path replaces the earlier one, as tar does. */
    struct stat st;
    if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
        unlinkat(dfd, leaf, 0);
    x->fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    int saved = errno;
    close(dfd);
    if (x->fd < 0) {
        smx_fail(x->err, SMX_EIO, "%s: cannot create '%s': %s", x->archive, e->path,
                 strerror(saved));
        return -SMX_EIO;
    }
    return 1;
}

static int x_data(void *ctx, const artifact_entry *e, const void *buf, size_t len, int64_t off)
{
    xctx *x = ctx;
    const char *p = buf;
    while (len) {
        ssize_t n = pwrite(x->fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return smx_fail(x->err, SMX_EIO, "%s: cannot write '%s': %s", x->archive, e->path,
                            strerror(errno));
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return SMX_OK;
}

static void x_end(void *ctx, const artifact_entry *e)
{
    xctx *x = ctx;
    if (x->fd >= 0) {
        if (e->size > 0 && ftruncate(x->fd, e->size) != 0 && x->err->status == SMX_OK)
            smx_fail(x->err, SMX_EIO, "%s: cannot size '%s': %s", x->archive, e->path,
                     strerror(errno));
        close(x->fd);
        x->fd = -1;
    }
}

int artifact_remove_tree(const char *dir, smx_err *err)
{
    smx_scratch_forget(dir);
    if (smx_remove_tree(dir) != 0)
        return smx_fail(err, SMX_EIO, "%s: cannot remove: %s", dir, strerror(errno));
    return SMX_OK;
}

int artifact_extract(const char *archive, const char *parent, const artifact_limits *limits,
                     char **out_dir, smx_err *err)
{
    artifact_extract_opts all = {ARTIFACT_KIND_TAR, NULL, NULL};
    return artifact_extract_some(archive, parent, limits, &all, out_dir, err);
}

int artifact_extract_some(const char *archive, const char *parent, const artifact_limits *limits,
                          const artifact_extract_opts *o, char **out_dir, smx_err *err)
{
    *out_dir = NULL;
    if (!parent)
        parent = smx_tmpdir();
    smx_buf dir = SMX_BUF_INIT;
    if (smx_buf_printf(&dir, "%s/smxgb-model-XXXXXX", parent))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!mkdtemp(dir.data)) {
        int e = errno;
        smx_buf_free(&dir);
        return smx_fail(err, SMX_EIO, "%s: cannot create a directory for the model: %s", parent,
                        strerror(e));
    }
    smx_scratch_add(dir.data); /* a signal during the extraction removes it */
    xctx x = {.o = o, .fd = -1, .err = err, .archive = archive};
    smx_err_clear(err);
    x.root = open(dir.data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (x.root < 0) {
        int e = errno;
        artifact_remove_tree(dir.data, NULL);
        smx_buf_free(&dir);
        return smx_fail(err, SMX_EIO, "cannot open the model directory: %s", strerror(e));
    }
    artifact_hooks hooks = {.ctx = &x, .want = x_want, .on_data = x_data, .on_end = x_end};
    artifact_scan *s = NULL;
    int rc = artifact_scan_kind(archive, o->kind, limits, &hooks, &s, err);
    if (x.fd >= 0)
        close(x.fd);
    close(x.root);
    if (rc == SMX_OK && err->status != SMX_OK)
        rc = err->status;
    if (rc == SMX_OK && s->problem != ARTIFACT_P_NONE)
        rc = smx_fail(err, s->problem_err.status, "%s: %s (%s)", archive, s->problem_err.msg,
                      artifact_problem_name(s->problem));
    for (size_t i = 0; rc == SMX_OK && i < s->n_entries; i++) {
        const artifact_entry *e = &s->entries[i];
        if (o->select && !o->select(o->ctx, e))
            continue;
        if (unsafe(e) || (e->flags & ARTIFACT_F_SETID))
            rc = smx_fail(err, SMX_EUNSAFE,
                          "%s: refusing to extract: entry '%s' is unsafe (%s%s%s%s%s)", archive,
                          e->raw_path, artifact_type_name(e->type),
                          e->flags & ARTIFACT_F_ABSOLUTE ? ", absolute path" : "",
                          e->flags & ARTIFACT_F_DOTDOT ? ", '..' in path" : "",
                          e->flags & (ARTIFACT_F_LONGNAME | ARTIFACT_F_BADNAME) ? ", bad name" : "",
                          e->flags & ARTIFACT_F_SETID ? ", set-id bits" : "");
    }
    artifact_scan_free(s);
    if (rc != SMX_OK) {
        artifact_remove_tree(dir.data, NULL);
        smx_buf_free(&dir);
        return rc;
    }
    *out_dir = dir.data;
    return SMX_OK;
}
