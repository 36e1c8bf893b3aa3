/*
 * Scratch: the temporary files and directories smxgb makes while it works (downloads, extracted
 * models, outputs before their rename). Each is registered here when it is made and forgotten
 * when it is removed or committed, so that:
 *   - a signal (SIGINT, SIGTERM, SIGHUP) removes what the interrupted command left: the CLI's
 *     handler calls smx_scratch_cleanup_signal, which only uses async-signal-safe calls
 *     (open, getdents64, unlinkat, rmdir) on a fixed table;
 *   - a later run removes stale scratch of its own that a SIGKILL or a crash left behind
 *     (smx_scratch_sweep: names starting with "smxgb-" in $TMPDIR, owned by this user, older
 *     than the given age).
 *
 * A forked child inherits the table but never cleans its parent's entries: each entry records
 * the process that made it.
 */
#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SCRATCH_SLOTS 64

typedef struct slot {
    atomic_int used; /* 0 free, 1 being written, 2 live */
    pid_t owner;
    char path[PATH_MAX];
} slot;

static slot slots[SCRATCH_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void smx_scratch_add(const char *path)
{
    if (!path || strlen(path) >= PATH_MAX)
        return;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < SCRATCH_SLOTS; i++)
        if (atomic_load(&slots[i].used) == 0) {
            atomic_store(&slots[i].used, 1);
            slots[i].owner = getpid();
            strcpy(slots[i].path, path);
            atomic_store(&slots[i].used, 2);
            break;
        }
    pthread_mutex_unlock(&lock);
}

void smx_scratch_forget(const char *path)
{
    if (!path)
        return;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < SCRATCH_SLOTS; i++)
        if (atomic_load(&slots[i].used) == 2 && !strcmp(slots[i].path, path)) {
            atomic_store(&slots[i].used, 0);
            break;
        }
    pthread_mutex_unlock(&lock);
}

/*
 * Remove a file or a directory tree at dirfd/name with async-signal-safe calls only (a signal
 * handler uses it). 512 bytes of stack per level: an archive path of at most 4095 bytes nests
 * at most 2048 levels deep. Returns 0, or -1 with errno of the first failure.
 */
static int remove_at(int dirfd, const char *name, int depth)
{
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -1;
    if (depth > 4096)
        return errno = ELOOP, -1;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[512];
    int rc = 0, first = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            struct dent {
                uint64_t ino;
                int64_t off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *d = (struct dent *)(buf + off);
            if (strcmp(d->name, ".") && strcmp(d->name, "..") &&
                remove_at(fd, d->name, depth + 1) != 0 && !rc)
                rc = -1, first = errno;
            off += d->reclen;
        }
    }
    close(fd);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && !rc)
        rc = -1, first = errno;
    if (rc)
        errno = first;
    return rc;
}

int smx_remove_tree(const char *path)
{
    return remove_at(AT_FDCWD, path, 0);
}

void smx_scratch_remove(const char *path)
{
    if (!path)
        return;
    remove_at(AT_FDCWD, path, 0);
    smx_scratch_forget(path);
}

void smx_scratch_cleanup_signal(void)
{
    pid_t me = getpid();
    for (int i = 0; i < SCRATCH_SLOTS; i++)
        if (atomic_load(&slots[i].used) == 2 && slots[i].owner == me) {
            remove_at(AT_FDCWD, slots[i].path, 0);
            atomic_store(&slots[i].used, 0);
        }
}

const char *smx_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

int smx_scratch_dir(const char *prefix, char **out, smx_err *err)
{
    *out = NULL;
    smx_buf b = SMX_BUF_INIT;
    if (smx_buf_printf(&b, "%s/%sXXXXXX", smx_tmpdir(), prefix))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!mkdtemp(b.data)) {
        int e = errno;
        smx_fail_at(err, SMX_EIO, smx_tmpdir(), "set TMPDIR to a writable directory",
                    "cannot create a temporary directory in %s: %s", smx_tmpdir(), strerror(e));
        smx_buf_free(&b);
        return SMX_EIO;
    }
    smx_scratch_add(b.data);
    *out = b.data;
    return SMX_OK;
}

int smx_scratch_sweep(double max_age_s, size_t *removed)
{
    if (removed)
        *removed = 0;
    const char *dir = smx_tmpdir();
    DIR *d = opendir(dir);
    if (!d)
        return SMX_EIO;
    int dfd = dirfd(d);
    time_t now = time(NULL);
    uid_t me = getuid();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "smxgb-", 6))
            continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid != me)
            continue;
        if (difftime(now, st.st_mtime) < max_age_s)
            continue;
        remove_at(dfd, e->d_name, 0);
        if (removed && fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            (*removed)++;
    }
    closedir(d);
    return SMX_OK;
}
