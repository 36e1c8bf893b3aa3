/*
 * Load checks: a model loaded for real by an XGBoost build, in a child process.
 *
 * Some XGBoost versions abort (std::bad_alloc on a pickle), throw from a destructor or
 * segfault (3.2+ on old vector-leaf trees) when given a file they do not expect. So the
 * load never happens in smxgb's own process: a forked child sets an address-space limit, no
 * core dumps and one OpenMP thread, opens the library through the runtime (dlopen), loads
 * the exact bytes the container would see, predicts generated rows and writes the result to
 * a pipe. The parent reads it with a deadline; a child that crashes, aborts, exits without a
 * result or runs past the deadline (killed) is reported as such, with the first line it
 * wrote to stderr. The parent never loads libxgboost itself.
 *
 * The same machinery re-saves a model for `smxgb convert` (compat_resave_run).
 */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the child ---------------------------------------------------------------------------- */

enum { MSG_OK = 0, MSG_ERR = 1 };

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void put_u64(int fd, uint64_t v)
{
    (void)write_all(fd, &v, sizeof v);
}
static void put_blob(int fd, const void *p, uint64_t n)
{
    put_u64(fd, n);
    if (n)
        (void)write_all(fd, p, (size_t)n);
}

static void child_fail(int fd, const char *msg)
{
    put_u64(fd, MSG_ERR);
    put_blob(fd, msg, strlen(msg));
    _exit(0);
}

typedef struct job {
    const compat_model_info *m;
    const void *bytes;
    size_t len;
    const char *file; /* the bytes written under the container's file name */
    const char *lib;
    const float *X;
    size_t nrow, ncol;
    const char *resave_format; /* NULL: load check only */
    const char *resave_file;   /* where the re-saved model is written and loaded back from */
} job;

static int child_load(compat_xgb *x, const job *jb, compat_booster **b, smx_err *err)
{
    if (jb->m->format == COMPAT_FMT_PICKLE && jb->m->payload_bytes && jb->m->payload_len) {
        /* Booster.__setstate__: the snapshot goes to XGBoosterUnserializeFromBuffer (1.0+);
         * 0.90 pickles hold a binary model that 0.90 loads from a buffer */
        if (compat_xgb_version(x).major >= 1)
            return compat_booster_unserialize(x, jb->m->payload_bytes, jb->m->payload_len, b, err);
        return compat_booster_load_buffer(x, jb->m->payload_bytes, jb->m->payload_len, b, err);
    }
    return compat_booster_load_file(x, jb->file, b, err);
}

static int child_predict(int fd, compat_booster *b, const job *jb, smx_err *err)
{
    compat_predict_opts po = {0, 0, NAN};
    const float *out;
    uint64_t shape[2];
    int rc = compat_booster_predict_dense(b, jb->X, jb->nrow, jb->ncol, &po, &out, shape, err);
    if (rc)
        return rc;
    put_u64(fd, shape[0]);
    put_u64(fd, shape[1]);
    put_blob(fd, out, shape[0] * shape[1] * sizeof(float));
    return SMX_OK;
}

static void child_main(int fd, const job *jb, const compat_load_limits *lim)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    rlim_t mem = lim && lim->max_memory ? (rlim_t)lim->max_memory : (rlim_t)4 << 30;
    rl.rlim_cur = rl.rlim_max = mem;
#if !defined(__SANITIZE_ADDRESS__)
    /* (an AddressSanitizer build reserves terabytes of shadow address space: no AS limit) */
    setrlimit(RLIMIT_AS, &rl);
#endif
    setenv("OMP_NUM_THREADS", "1", 1);
    signal(SIGPIPE, SIG_DFL);

    smx_err err = {0};
    compat_xgb *x;
    if (compat_xgb_open(jb->lib, &x, &err)) {
        put_blob(fd, "", 0);
        child_fail(fd, err.msg);
    }
    /* the version goes first, so that a crash during the load still names the library */
    char ver[32];
    compat_version_str(compat_xgb_version(x), ver, sizeof ver);
    put_blob(fd, ver, strlen(ver));
    compat_booster *b;
    if (child_load(x, jb, &b, &err))
        child_fail(fd, err.msg);
    compat_booster_set_param(b, "nthread", "1", NULL);
    if (!jb->resave_format) {
        put_u64(fd, MSG_OK);
        if (child_predict(fd, b, jb, &err)) {
            /* the load worked: report the prediction failure as the result's error */
            put_u64(fd, 0);
            put_u64(fd, 0);
            put_blob(fd, err.msg, strlen(err.msg));
        }
        _exit(0);
    }
    /* re-save: original predictions, the new bytes, and the predictions of those bytes
     * loaded back from a file named like the container's */
    void *nb;
    size_t nlen;
    if (compat_booster_save(b, jb->resave_format, &nb, &nlen, &err))
        child_fail(fd, err.msg);
    int wfd = open(jb->resave_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (wfd < 0 || write_all(wfd, nb, nlen) || close(wfd))
        child_fail(fd, "cannot write the re-saved model to a temporary file");
    compat_booster *b2;
    if (compat_booster_load_file(x, jb->resave_file, &b2, &err)) {
        char msg[SMX_ERRMAX + 64];
        snprintf(msg, sizeof msg, "the re-saved model does not load back: %s", err.msg);
        child_fail(fd, msg);
    }
    compat_booster_set_param(b2, "nthread", "1", NULL);
    put_u64(fd, MSG_OK);
    put_blob(fd, nb, nlen);
    if (child_predict(fd, b, jb, &err) || child_predict(fd, b2, jb, &err))
        child_fail(fd, err.msg);
    _exit(0);
}

/* ---- the parent --------------------------------------------------------------------------- */

typedef struct child_result {
    smx_buf out; /* what the child wrote on the result pipe */
    char stderr_line[512];
    int status; /* waitpid status */
    int timed_out;
} child_result;

static int run_child(const job *jb, const compat_load_limits *lim, child_result *cr, smx_err *err)
{
    memset(cr, 0, sizeof *cr);
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC))
        return smx_fail(err, SMX_EIO, "pipe: %s", strerror(errno));
    if (pipe2(pe, O_CLOEXEC)) {
        close(po[0]);
        close(po[1]);
        return smx_fail(err, SMX_EIO, "pipe: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(po[0]);
        close(po[1]);
        close(pe[0]);
        close(pe[1]);
        return smx_fail(err, SMX_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(po[0]);
        close(pe[0]);
        dup2(pe[1], STDERR_FILENO);
        dup2(pe[1], STDOUT_FILENO);
        child_main(po[1], jb, lim);
        _exit(0);
    }
    close(po[1]);
    close(pe[1]);
    int timeout = lim && lim->timeout_ms > 0 ? lim->timeout_ms : 60000;
    double deadline = smx_now() + timeout / 1000.0;
    smx_buf eb = SMX_BUF_INIT;
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    int rc = SMX_OK;
    uint64_t max_out = (lim && lim->max_memory ? lim->max_memory : (uint64_t)4 << 30);
    while (open_fds > 0) {
        int64_t left = (int64_t)((deadline - smx_now()) * 1000);
        if (left <= 0) {
            cr->timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        int n = poll(fds, 2, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[65536];
            ssize_t r = read(fds[i].fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            smx_buf *dst = i == 0 ? &cr->out : &eb;
            if (i == 1 && eb.len > 8192)
                continue;
            if (i == 0 && cr->out.len + (size_t)r > max_out) {
                kill(pid, SIGKILL);
                rc = smx_fail(err, SMX_ELIMIT, "the load check produced more than %llu bytes",
                              (unsigned long long)max_out);
                continue;
            }
            if (smx_buf_append(dst, buf, (size_t)r)) {
                kill(pid, SIGKILL);
                rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    while (waitpid(pid, &cr->status, 0) < 0 && errno == EINTR)
        ;
    /* the first stderr line that says something (XGBoost prints "[time] file:line: msg") */
    if (eb.data) {
        char *line = strtok(eb.data, "\n");
        while (line && !*line)
            line = strtok(NULL, "\n");
        if (line)
            snprintf(cr->stderr_line, sizeof cr->stderr_line, "%s", line);
    }
    smx_buf_free(&eb);
    if (rc)
        smx_buf_free(&cr->out);
    return rc;
}

/* Reader over the child's message. */
typedef struct rd {
    const char *p;
    size_t left;
    int bad;
} rd;

static uint64_t get_u64(rd *r)
{
    uint64_t v = 0;
    if (r->left < sizeof v) {
        r->bad = 1;
        return 0;
    }
    memcpy(&v, r->p, sizeof v);
    r->p += sizeof v;
    r->left -= sizeof v;
    return v;
}

static const char *get_blob(rd *r, uint64_t *n)
{
    *n = get_u64(r);
    if (r->bad || *n > r->left) {
        r->bad = 1;
        *n = 0;
        return NULL;
    }
    const char *p = r->p;
    r->p += *n;
    r->left -= (size_t)*n;
    return p;
}

static void copy_str(char *dst, size_t cap, const char *p, uint64_t n)
{
    size_t k = n < cap - 1 ? (size_t)n : cap - 1;
    if (p && k)
        memcpy(dst, p, k);
    dst[p ? k : 0] = '\0';
}

/* Describe how the child ended when it produced no result. */
static void child_death(const child_result *cr, int timeout_ms, char *out, size_t n)
{
    const char *sep = cr->stderr_line[0] ? ": " : "";
    if (cr->timed_out) {
        snprintf(out, n, "timed out after %d s (killed)%s%s", timeout_ms / 1000, sep,
                 cr->stderr_line);
    } else if (WIFSIGNALED(cr->status)) {
        const char *abbr = sigabbrev_np(WTERMSIG(cr->status));
        snprintf(out, n, "crashed (SIG%s)%s%s", abbr ? abbr : "?", sep, cr->stderr_line);
    } else {
        snprintf(out, n, "child exited rc=%d without a result%s%s",
                 WIFEXITED(cr->status) ? WEXITSTATUS(cr->status) : -1, sep, cr->stderr_line);
    }
}

static char *temp_model_file(const char *name, char **dir, smx_err *err)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/smxgb-load-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        smx_fail(err, SMX_EIO, "cannot create a temporary directory in %s: %s", tmp ? tmp : "/tmp",
                 strerror(errno));
        return NULL;
    }
    const char *base = name ? strrchr(name, '/') : NULL;
    base = base ? base + 1 : name;
    if (!base || !*base || base[0] == '.')
        base = "xgboost-model";
    smx_buf p = SMX_BUF_INIT;
    smx_buf_printf(&p, "%s/%s", tmpl, base);
    *dir = strdup(tmpl);
    return p.data;
}

static void remove_temp(char *dir, char *file, const char *extra)
{
    if (file)
        unlink(file);
    if (extra)
        unlink(extra);
    if (dir)
        rmdir(dir);
    free(file);
    free(dir);
}

static int write_file(const char *path, const void *p, size_t n, smx_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return smx_fail(err, SMX_EIO, "cannot create %s: %s", path, strerror(errno));
    if (write_all(fd, p, n) || close(fd))
        return smx_fail(err, SMX_EIO, "cannot write %s: %s", path, strerror(errno));
    return SMX_OK;
}

#define NROWS 16

int compat_loadcheck_run(const compat_model_info *m, const void *bytes, size_t len,
                         const char *name, const char *lib, const compat_load_limits *lim,
                         compat_loadcheck *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    float *X = NULL;
    size_t ncol = 0;
    int rc = compat_gen_rows(m, NROWS, &X, &ncol, err);
    if (rc)
        return rc;
    char *dir = NULL, *file = temp_model_file(name, &dir, err);
    if (!file) {
        free(X);
        return err->status;
    }
    if ((rc = write_file(file, bytes, len, err))) {
        remove_temp(dir, file, NULL);
        free(X);
        return rc;
    }
    job jb = {m, bytes, len, file, lib, X, NROWS, ncol, NULL, NULL};
    child_result cr;
    rc = run_child(&jb, lim, &cr, err);
    remove_temp(dir, file, NULL);
    if (rc) {
        free(X);
        return rc;
    }
    out->ran = 1;
    rd r = {cr.out.data, cr.out.len, 0};
    uint64_t n;
    const char *p = get_blob(&r, &n);
    if (!r.bad)
        copy_str(out->version, sizeof out->version, p, n);
    uint64_t kind = get_u64(&r);
    if (r.bad) {
        child_death(&cr, lim && lim->timeout_ms > 0 ? lim->timeout_ms : 60000, out->error,
                    sizeof out->error);
    } else if (kind == MSG_ERR) {
        p = get_blob(&r, &n);
        copy_str(out->error, sizeof out->error, p, n);
    } else {
        out->loaded = 1;
        out->rows = get_u64(&r);
        out->cols = get_u64(&r);
        p = get_blob(&r, &n);
        if (r.bad) {
            snprintf(out->note, sizeof out->note, "the child stopped while sending predictions");
        } else if (out->rows == 0 && out->cols == 0) {
            snprintf(out->note, sizeof out->note, "predict failed: %.*s", (int)(n < 200 ? n : 200),
                     p);
        } else if (n != out->rows * out->cols * sizeof(float)) {
            snprintf(out->note, sizeof out->note, "malformed prediction message");
        } else {
            compat_pred ref = {0};
            smx_err rerr = {0};
            if (compat_reference_predict(m, X, NROWS, ncol, 0, &ref, &rerr) != SMX_OK) {
                snprintf(out->note, sizeof out->note, "not compared: reference predictor: %.200s",
                         rerr.msg);
            } else if (ref.rows * ref.cols != out->rows * out->cols) {
                out->compared = 1;
                out->max_diff = INFINITY;
                snprintf(out->note, sizeof out->note,
                         "prediction shape %llux%llu, reference %llux%llu",
                         (unsigned long long)out->rows, (unsigned long long)out->cols,
                         (unsigned long long)ref.rows, (unsigned long long)ref.cols);
            } else {
                out->compared = 1;
                double md = 0;
                for (uint64_t i = 0; i < ref.rows * ref.cols; i++) {
                    float a;
                    memcpy(&a, p + i * sizeof(float), sizeof a);
                    double d = fabs((double)a - (double)ref.values[i]);
                    if (isnan(a) != isnan(ref.values[i]))
                        d = INFINITY;
                    else if (isnan(a))
                        d = 0;
                    if (d > md)
                        md = d;
                }
                out->max_diff = md;
            }
            compat_pred_free(&ref);
        }
    }
    smx_buf_free(&cr.out);
    free(X);
    return SMX_OK;
}

int compat_resave_run(const compat_model_info *m, const void *bytes, size_t len, const char *name,
                      const char *lib, const char *format, const compat_load_limits *lim,
                      compat_resave *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    float *X = NULL;
    size_t ncol = 0;
    int rc = compat_gen_rows(m, NROWS, &X, &ncol, err);
    if (rc)
        return rc;
    char *dir = NULL, *file = temp_model_file(name, &dir, err);
    if (!file) {
        free(X);
        return err->status;
    }
    smx_buf second = SMX_BUF_INIT;
    smx_buf_printf(&second, "%s/resaved", dir);
    if (!second.data || (rc = write_file(file, bytes, len, err))) {
        remove_temp(dir, file, NULL);
        smx_buf_free(&second);
        free(X);
        return rc ? rc : smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    /* the re-saved file is loaded back under the container's name: xgboost-model */
    smx_buf back = SMX_BUF_INIT;
    smx_buf_printf(&back, "%s/xgboost-model", second.data);
    mkdir(second.data, 0700);
    job jb = {m, bytes, len, file, lib, X, NROWS, ncol, format, back.data};
    child_result cr;
    rc = run_child(&jb, lim, &cr, err);
    unlink(back.data);
    rmdir(second.data);
    smx_buf_free(&back);
    smx_buf_free(&second);
    remove_temp(dir, file, NULL);
    free(X);
    if (rc)
        return rc;
    rd r = {cr.out.data, cr.out.len, 0};
    uint64_t n;
    const char *p = get_blob(&r, &n);
    if (!r.bad)
        copy_str(out->version, sizeof out->version, p, n);
    uint64_t kind = get_u64(&r);
    if (r.bad) {
        char why[SMX_ERRMAX];
        child_death(&cr, lim && lim->timeout_ms > 0 ? lim->timeout_ms : 60000, why, sizeof why);
        rc = smx_fail(err, SMX_ERUNTIME, "the XGBoost child %s", why);
    } else if (kind == MSG_ERR) {
        p = get_blob(&r, &n);
        rc = smx_fail(err, SMX_ERUNTIME, "%.*s", (int)(n < 900 ? n : 900), p ? p : "");
    } else {
        p = get_blob(&r, &n);
        if (!r.bad && (out->bytes = malloc(n ? n : 1))) {
            memcpy(out->bytes, p, n);
            out->len = n;
        }
        for (int k = 0; k < 2 && !r.bad; k++) {
            uint64_t rows = get_u64(&r), cols = get_u64(&r);
            p = get_blob(&r, &n);
            if (r.bad || n != rows * cols * sizeof(float))
                break;
            float *v = malloc(n ? n : 1);
            if (!v)
                break;
            memcpy(v, p, n);
            if (k == 0) {
                out->pred_a = v;
                out->rows = rows;
                out->cols = cols;
            } else if (rows == out->rows && cols == out->cols) {
                out->pred_b = v;
            } else {
                free(v);
            }
        }
        if (!out->bytes || !out->pred_a || !out->pred_b) {
            rc = smx_fail(err, SMX_ERUNTIME,
                          "the re-save child sent an incomplete result "
                          "(or the two models predict different shapes)");
            compat_resave_free(out);
        }
    }
    smx_buf_free(&cr.out);
    return rc;
}

void compat_resave_free(compat_resave *r)
{
    free(r->bytes);
    free(r->pred_a);
    free(r->pred_b);
    memset(r, 0, sizeof *r);
}
