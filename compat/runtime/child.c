/*
 * The one way smxgb runs XGBoost on outside input: in a child process, the helper executable
 * smxgb-xgb-child (child_main.c), started with posix_spawn (a fork immediately followed by an
 * exec). A bare fork would copy this process as it is, and a process whose OpenMP runtime
 * already has threads (serve, train, a test that trained a model) gets a child whose thread
 * pool does not exist: its first parallel region hangs. The exec'd helper starts clean.
 *
 * The job goes to the helper's stdin (a socket, so a helper that died early is an EPIPE, not a
 * SIGPIPE), its result comes back on stdout, its stderr is kept for the first line that says
 * something. One poll loop writes the job and reads both outputs, so neither side can block
 * the other, under a deadline: past it the helper is killed. The memory limit, no core dumps
 * and one OpenMP thread are the helper's own business (it sets them before loading).
 */
#include "runtime_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CHILD_NAME "smxgb-xgb-child"

uint64_t rtm_max_memory(const compat_load_limits *lim)
{
    return lim && lim->max_memory ? lim->max_memory : (uint64_t)4 << 30;
}

uint64_t rtm_max_result(const compat_load_limits *lim)
{
    return lim && lim->max_result ? lim->max_result : (uint64_t)64 << 20;
}

int rtm_timeout_ms(const compat_load_limits *lim)
{
    return lim && lim->timeout_ms > 0 ? lim->timeout_ms : 60000;
}

/* ---- finding the helper ------------------------------------------------------------------- */

static int executable(const char *p)
{
    return p && *p && access(p, X_OK) == 0;
}

static char *dup_if_executable(const char *dir, const char *rel)
{
    smx_buf b = SMX_BUF_INIT;
    smx_buf_printf(&b, "%s/%s", dir, rel);
    if (b.data && executable(b.data))
        return b.data;
    smx_buf_free(&b);
    return NULL;
}

int compat_child_path(const char *explicit_path, char **out, smx_err *err)
{
    *out = NULL;
    const char *given = explicit_path && *explicit_path ? explicit_path : NULL;
    const char *what = "the load limits' child";
    if (!given && getenv("SMXGB_CHILD") && *getenv("SMXGB_CHILD")) {
        given = getenv("SMXGB_CHILD");
        what = "$SMXGB_CHILD";
    }
    if (given) { /* named on purpose: no fallback to another helper */
        if (!executable(given))
            return smx_fail(err, SMX_EIO, "%s (%s) is not an executable file: %s", what, given,
                            strerror(errno));
        if (!(*out = strdup(given)))
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        return SMX_OK;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        if ((*out = dup_if_executable(exe, CHILD_NAME)) ||
            (*out = dup_if_executable(exe, "../libexec/smxgb/" CHILD_NAME)))
            return SMX_OK;
    }
    return smx_fail(err, SMX_EIO,
                    "cannot find the helper " CHILD_NAME " that runs XGBoost loads (looked beside "
                    "%s and in ../libexec/smxgb/ there); set SMXGB_CHILD to its path",
                    n > 0 ? exe : "this program");
}

/* ---- running it ----------------------------------------------------------------------------- */

/* Start the helper with job, out and errp (the parent's ends are closed on exec). */
static int spawn(const char *path, int job, int out, int errp, pid_t *pid, smx_err *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    if (posix_spawn_file_actions_init(&fa))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (posix_spawnattr_init(&at)) {
        posix_spawn_file_actions_destroy(&fa);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    posix_spawn_file_actions_adddup2(&fa, job, STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, errp, STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
    /* a clean signal state whatever this process blocks or ignores */
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&dfl, sigs[i]);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {(char *)CHILD_NAME, NULL};
    int rc = posix_spawn(pid, path, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc)
        return smx_fail(err, SMX_EIO, "cannot run %s: %s", path, strerror(rc));
    return SMX_OK;
}

typedef struct pump {
    struct pollfd fds[3]; /* job (write), result (read), stderr (read) */
    const smx_buf *job;
    size_t sent;
    rtm_child *cr;
    smx_buf errbuf;
    uint64_t max_out;
} pump;

static void close_slot(pump *p, int i)
{
    close(p->fds[i].fd);
    p->fds[i].fd = -1;
}

/* Write what the job socket takes now; close it when done or when the helper is gone. */
static void pump_job(pump *p)
{
    while (p->sent < p->job->len) {
        ssize_t w = send(p->fds[0].fd, p->job->data + p->sent, p->job->len - p->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w <= 0) { /* the helper stopped reading: its result (or death) says why */
            close_slot(p, 0);
            return;
        }
        p->sent += (size_t)w;
    }
    shutdown(p->fds[0].fd, SHUT_WR);
    close_slot(p, 0);
}

/* Read one output; SMX_OK, or a limit/memory failure (the caller kills the helper). */
static int pump_read(pump *p, int i, smx_err *err)
{
    char buf[65536];
    ssize_t r = read(p->fds[i].fd, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return SMX_OK;
    if (r <= 0) {
        close_slot(p, i);
        return SMX_OK;
    }
    smx_buf *dst = i == 1 ? &p->cr->out : &p->errbuf;
    if (i == 2 && p->errbuf.len > 8192)
        return SMX_OK; /* enough to find its first line */
    if (i == 1 && p->cr->out.len + (size_t)r > p->max_out)
        return smx_fail(err, SMX_ELIMIT,
                        "the XGBoost child sent more than the %llu bytes the load check's "
                        "exchange takes",
                        (unsigned long long)p->max_out);
    if (smx_buf_append(dst, buf, (size_t)r))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    return SMX_OK;
}

/* Until both outputs end or the deadline: feed the job, collect the outputs. */
static int pump_run(pump *p, pid_t pid, int timeout_ms, smx_err *err)
{
    double deadline = smx_now() + timeout_ms / 1000.0;
    int rc = SMX_OK;
    while (p->fds[1].fd >= 0 || p->fds[2].fd >= 0) {
        int64_t left = (int64_t)((deadline - smx_now()) * 1000);
        if (left <= 0) {
            p->cr->timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        int n = poll(p->fds, 3, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (p->fds[0].fd >= 0 && (p->fds[0].revents & (POLLOUT | POLLERR | POLLHUP)))
            pump_job(p);
        for (int i = 1; i < 3; i++) {
            if (p->fds[i].fd < 0 || !(p->fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int r = pump_read(p, i, err);
            if (r && !rc) {
                rc = r;
                kill(pid, SIGKILL);
            }
        }
    }
    for (int i = 0; i < 3; i++)
        if (p->fds[i].fd >= 0)
            close_slot(p, i);
    return rc;
}

/* The first stderr line that says something (XGBoost prints "[time] file:line: msg"). */
static void first_line(smx_buf *eb, char *out, size_t n)
{
    if (!eb->data)
        return;
    char *save = NULL, *line = strtok_r(eb->data, "\n", &save);
    while (line && !*line)
        line = strtok_r(NULL, "\n", &save);
    if (line)
        snprintf(out, n, "%s", line);
}

int rtm_child_run(const rtm_job *jb, const compat_load_limits *lim, rtm_child *cr, smx_err *err)
{
    memset(cr, 0, sizeof *cr);
    char *path = NULL;
    int rc = compat_child_path(lim ? lim->child : NULL, &path, err);
    if (rc)
        return rc;
    smx_buf job = SMX_BUF_INIT;
    if (rtm_job_encode(jb, &job)) {
        free(path);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    int sv[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
    pid_t pid = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) || pipe2(po, O_CLOEXEC) ||
        pipe2(pe, O_CLOEXEC))
        rc = smx_fail(err, SMX_EIO, "pipe: %s", strerror(errno));
    else
        rc = spawn(path, sv[1], po[1], pe[1], &pid, err);
    free(path);
    int mine[3] = {sv[1], po[1], pe[1]}, theirs[3] = {sv[0], po[0], pe[0]};
    for (int i = 0; i < 3; i++)
        if (mine[i] >= 0)
            close(mine[i]);
    if (rc) {
        for (int i = 0; i < 3; i++)
            if (theirs[i] >= 0)
                close(theirs[i]);
        smx_buf_free(&job);
        return rc;
    }
    pump p = {{{sv[0], POLLOUT, 0}, {po[0], POLLIN, 0}, {pe[0], POLLIN, 0}},
              &job,
              0,
              cr,
              SMX_BUF_INIT,
              rtm_max_result(lim) + RTM_RESULT_SLACK};
    rc = pump_run(&p, pid, rtm_timeout_ms(lim), err);
    while (waitpid(pid, &cr->status, 0) < 0 && errno == EINTR)
        ;
    first_line(&p.errbuf, cr->stderr_line, sizeof cr->stderr_line);
    smx_buf_free(&p.errbuf);
    smx_buf_free(&job);
    if (rc)
        smx_buf_free(&cr->out);
    return rc;
}

void rtm_child_death(const rtm_child *cr, const compat_load_limits *lim, char *out, size_t n)
{
    const char *sep = cr->stderr_line[0] ? ": " : "";
    if (cr->timed_out) {
        snprintf(out, n, "timed out after %d s (killed)%s%s", rtm_timeout_ms(lim) / 1000, sep,
                 cr->stderr_line);
    } else if (WIFSIGNALED(cr->status)) {
        const char *abbr = sigabbrev_np(WTERMSIG(cr->status));
        snprintf(out, n, "crashed (SIG%s)%s%s", abbr ? abbr : "?", sep, cr->stderr_line);
    } else {
        snprintf(out, n, "child exited rc=%d without a result%s%s",
                 WIFEXITED(cr->status) ? WEXITSTATUS(cr->status) : -1, sep, cr->stderr_line);
    }
}
