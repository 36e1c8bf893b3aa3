/*
 * Outputs a verb writes (-o): whole or not at all, and never at the cost of what the path points
 * at.
 *
 * What the destination is decides how it is written:
 *   - "-": standard output, written through.
 *   - an existing file that is not a regular file (a character or block device, a FIFO, a
 *     socket, a terminal), or a path that names a file descriptor (/dev/stdout, /dev/fd/N,
 *     /proc/self/fd/N), or a symlink to any of these: written through, streaming, in place.
 *     Renaming a temporary file over /dev/null would replace the device node with a file.
 *   - a regular file, a symlink to one, or nothing yet: a temporary file in the same directory
 *     (OUT.tmp-XXXXXX, registered as scratch so that a signal removes it), renamed over the
 *     destination by smx_out_commit only when complete; smx_out_abort removes it. A symlink is
 *     resolved first, so the link stays a link and its target is replaced.
 *
 * smx_out_open checks everything it can before the caller starts work: the destination is not
 * one of the command's inputs, nor inside an input directory (same device and inode, so other
 * spellings of the path do not get through), and its directory is writable (the temporary file
 * is created right away).
 */
#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int names_fd(const char *path)
{
    return !strcmp(path, "/dev/stdout") || !strcmp(path, "/dev/stderr") ||
           !strncmp(path, "/dev/fd/", 8) || !strncmp(path, "/proc/self/fd/", 14);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Is the directory `dir` (or a directory above it) the same as input directory `in`? */
static int inside(const char *dir, const struct stat *in)
{
    char cur[PATH_MAX];
    if (!realpath(dir, cur))
        return 0;
    for (;;) {
        struct stat st;
        if (stat(cur, &st) == 0 && st.st_dev == in->st_dev && st.st_ino == in->st_ino)
            return 1;
        char *slash = strrchr(cur, '/');
        if (!slash || slash == cur) {
            if (cur[1] == '\0')
                return 0;
            cur[1] = '\0';
            continue;
        }
        *slash = '\0';
    }
}

/* Refuse an output that is one of the inputs, or inside an input directory. */
static int check_inputs(const char *path, const char *dir, const char *const *inputs, size_t n,
                        smx_err *err)
{
    struct stat so;
    int exists = stat(path, &so) == 0;
    for (size_t i = 0; i < n; i++) {
        struct stat si;
        if (!inputs[i] || stat(inputs[i], &si) != 0)
            continue;
        if (exists && so.st_dev == si.st_dev && so.st_ino == si.st_ino && S_ISREG(so.st_mode))
            return smx_fail_at(err, SMX_EINVAL, path,
                               "write the output to another path (-o elsewhere)",
                               "%s: the output is the input %s; writing it would destroy the input",
                               path, inputs[i]);
        if (S_ISDIR(si.st_mode) && inside(dir, &si))
            return smx_fail_at(err, SMX_EINVAL, path,
                               "write the output outside the input directory",
                               "%s: the output is inside the input directory %s; writing it "
                               "would change the input",
                               path, inputs[i]);
    }
    return SMX_OK;
}

static int open_through(smx_out *o, const char *path, smx_err *err)
{
    if (!strcmp(path, "-")) {
        o->fd = STDOUT_FILENO;
        o->is_stdout = o->same_as_stdout = 1;
        return SMX_OK;
    }
    o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (o->fd < 0)
        return smx_fail_at(err, SMX_EIO, path, "check the path and its permissions",
                           "%s: cannot open for writing: %s", path, strerror(errno));
    struct stat a, b; /* /dev/stdout, /dev/fd/1...: what stdout is */
    o->same_as_stdout = fstat(o->fd, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 &&
                        a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    return SMX_OK;
}

/* Remove OUT.tmp-* of an earlier run that was killed before its rename (older than a day). */
static void sweep_stale(const char *target)
{
    char *dir = dir_of(target);
    const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    DIR *d = dir ? opendir(dir) : NULL;
    size_t bl = strlen(base);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        struct stat st;
        if (strncmp(e->d_name, base, bl) || strncmp(e->d_name + bl, ".tmp-", 5) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != getuid() || difftime(time(NULL), st.st_mtime) < 86400)
            continue;
        unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d)
        closedir(d);
    free(dir);
}

static int open_atomic(smx_out *o, const char *target, const struct stat *existing, smx_err *err)
{
    sweep_stale(target);
    smx_buf b = SMX_BUF_INIT;
    if (smx_buf_printf(&b, "%s.tmp-XXXXXX", target))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    o->fd = mkostemp(b.data, O_CLOEXEC);
    if (o->fd < 0) {
        int e = errno;
        char *dir = dir_of(target);
        smx_fail_at(err, SMX_EIO, target, "write the output to a directory you can write to",
                    "%s: cannot create a file in %s: %s", target, dir ? dir : ".", strerror(e));
        free(dir);
        smx_buf_free(&b);
        return SMX_EIO;
    }
    smx_scratch_add(b.data);
    mode_t mode = existing ? existing->st_mode & 07777 : 0644;
    if (fchmod(o->fd, mode) != 0) { /* best effort: a file system without modes */
    }
    o->tmp = b.data;
    return SMX_OK;
}

/* What the path leads to: *target is the file to replace (a symlink's target), *through is set
 * when the destination is written in place. Checks inputs and writability. */
static int classify(const char *path, const char *const *inputs, size_t n_inputs, char *target,
                    struct stat *st, int *exists, int *through, smx_err *err)
{
    *through = 0;
    if (!path || !*path)
        return smx_fail(err, SMX_EINVAL, "no output path given");
    if (!strcmp(path, "-") || names_fd(path)) {
        *through = 1;
        return SMX_OK;
    }
    *exists = stat(path, st) == 0;
    if (*exists && S_ISDIR(st->st_mode))
        return smx_fail_at(err, SMX_EINVAL, path, "name a file, not a directory",
                           "%s: is a directory", path);
    if (!*exists || !realpath(path, target))
        snprintf(target, PATH_MAX, "%s", path);
    char *dir = dir_of(target);
    if (!dir)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    int rc = check_inputs(path, dir, inputs, n_inputs, err);
    *through = *exists && !S_ISREG(st->st_mode);
    if (!rc && !*through && access(dir, F_OK) != 0)
        rc = smx_fail_at(err, SMX_EIO, path, "create the directory first",
                         "%s: the directory %s does not exist", path, dir);
    else if (!rc && !*through && access(dir, W_OK | X_OK) != 0)
        rc = smx_fail_at(err, SMX_EIO, path, "write the output to a directory you can write to",
                         "%s: cannot create a file in %s: %s", path, dir, strerror(errno));
    else if (!rc && *through && access(path, W_OK) != 0)
        rc = smx_fail_at(err, SMX_EIO, path, "check the path and its permissions",
                         "%s: cannot open for writing: %s", path, strerror(errno));
    free(dir);
    return rc;
}

int smx_out_check(const char *path, const char *const *inputs, size_t n_inputs, smx_err *err)
{
    char target[PATH_MAX];
    struct stat st;
    int exists = 0, through = 0;
    return classify(path, inputs, n_inputs, target, &st, &exists, &through, err);
}

int smx_out_open(smx_out *o, const char *path, const char *const *inputs, size_t n_inputs,
                 smx_err *err)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    char target[PATH_MAX];
    struct stat st;
    int exists = 0;
    int rc = classify(path, inputs, n_inputs, target, &st, &exists, &o->through, err);
    if (rc)
        return rc;
    if (!(o->path = strdup(path)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (o->through)
        return open_through(o, path, err);
    return open_atomic(o, target, exists ? &st : NULL, err);
}

int smx_out_write(smx_out *o, const void *p, size_t n, smx_err *err)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(o->fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return smx_fail_at(err, SMX_EIO, o->path, "free space or choose another output",
                               "%s: write error: %s", o->path,
                               w < 0 ? strerror(errno) : "nothing written");
        c += w;
        n -= (size_t)w;
    }
    return SMX_OK;
}

int smx_out_commit(smx_out *o, smx_err *err)
{
    int rc = SMX_OK;
    if (o->through) {
        if (!o->is_stdout && o->fd >= 0 && close(o->fd) != 0)
            rc = smx_fail_at(err, SMX_EIO, o->path, NULL, "%s: write error: %s", o->path,
                             strerror(errno));
        o->fd = -1;
        free(o->path);
        o->path = NULL;
        return rc;
    }
    if (fsync(o->fd) != 0 || close(o->fd) != 0) {
        rc = smx_fail_at(err, SMX_EIO, o->path, "free space or choose another output",
                         "%s: write error: %s", o->path, strerror(errno));
        o->fd = -1;
        smx_out_abort(o);
        return rc;
    }
    o->fd = -1;
    const char *target = o->tmp; /* the temporary sits beside the resolved target */
    size_t tl = strlen(target) - strlen(".tmp-XXXXXX");
    char *final = strndup(target, tl);
    if (!final || rename(o->tmp, final) != 0) {
        rc = smx_fail_at(err, SMX_EIO, o->path, NULL, "%s: cannot rename into place: %s", o->path,
                         final ? strerror(errno) : "out of memory");
        free(final);
        smx_out_abort(o);
        return rc;
    }
    free(final);
    smx_scratch_forget(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    return SMX_OK;
}

void smx_out_abort(smx_out *o)
{
    if (o->fd >= 0 && !o->is_stdout)
        close(o->fd);
    o->fd = -1;
    if (o->tmp) {
        smx_scratch_remove(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
    free(o->path);
    o->path = NULL;
}
