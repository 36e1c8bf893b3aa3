/*
 * smxgb-xgb-child: the helper that runs XGBoost on outside input for smxgb (child.c starts it;
 * runtime_private.h describes the protocol). It reads one job from stdin until EOF, limits
 * itself (address space, no core dumps, one OpenMP thread, all before libxgboost is loaded),
 * opens the library through the runtime, loads the model bytes the way the container would,
 * predicts the rows it was given and writes the result to stdout as it goes: the library's
 * version first, so that a crash during the load still names it. XGBoost's own output goes
 * to stderr, where the parent takes the first line of a crash message from.
 *
 * It exits with _exit: libxgboost and its OpenMP runtime are never unloaded or torn down
 * (their static destructors are a known source of crashes at exit).
 */
#include "runtime_private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int out_fd = -1;

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

static void flush(smx_buf *b)
{
    if (write_all(out_fd, b->data, b->len))
        _exit(3); /* the parent is gone */
    smx_buf_reset(b);
}

static void put_u64(uint64_t v)
{
    smx_buf b = SMX_BUF_INIT;
    rtm_put_u64(&b, v);
    flush(&b);
    smx_buf_free(&b);
}

static void put_blob(const void *p, uint64_t n)
{
    smx_buf b = SMX_BUF_INIT;
    if (rtm_put_blob(&b, p, n))
        _exit(4);
    flush(&b);
    smx_buf_free(&b);
}

static void fail(const char *msg)
{
    put_u64(RTM_MSG_ERR);
    put_blob(msg, strlen(msg));
    _exit(0);
}

static void read_job(smx_buf *b)
{
    for (;;) {
        if (smx_buf_reserve(b, 65536))
            _exit(4);
        ssize_t r = read(STDIN_FILENO, b->data + b->len, 65536);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            _exit(5);
        if (r == 0)
            return;
        b->len += (size_t)r;
    }
}

static void limit(uint64_t max_memory)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    rl.rlim_cur = rl.rlim_max = (rlim_t)max_memory;
#if !defined(__SANITIZE_ADDRESS__)
    /* (an AddressSanitizer build reserves terabytes of shadow address space: no AS limit) */
    setrlimit(RLIMIT_AS, &rl);
#endif
    setenv("OMP_NUM_THREADS", "1", 1); /* read by the OpenMP runtime when it is loaded */
}

static int load(compat_xgb *x, const rtm_job *jb, compat_booster **b, smx_err *err)
{
    if (jb->how == RTM_LOAD_SNAPSHOT) {
        /* Booster.__setstate__: the snapshot goes to XGBoosterUnserializeFromBuffer (1.0+);
         * 0.90 pickles hold a binary model that 0.90 loads from a buffer */
        if (compat_xgb_version(x).major >= 1)
            return compat_booster_unserialize(x, jb->payload, jb->payload_len, b, err);
        return compat_booster_load_buffer(x, jb->payload, jb->payload_len, b, err);
    }
    return compat_booster_load_file(x, jb->file, b, err);
}

static int predict(compat_booster *b, const float *X, const rtm_job *jb, smx_err *err)
{
    compat_predict_opts po = {0, 0, NAN};
    const float *out;
    uint64_t shape[2];
    int rc = compat_booster_predict_dense(b, X, jb->nrow, jb->ncol, &po, &out, shape, err);
    if (rc)
        return rc;
    put_u64(shape[0]);
    put_u64(shape[1]);
    /* more than the parent takes: the shape only (an empty blob says why) */
    int fits = shape[1] == 0 || shape[0] <= jb->max_result / sizeof(float) / shape[1];
    put_blob(out, fits ? shape[0] * shape[1] * sizeof(float) : 0);
    return SMX_OK;
}

/* The new bytes, written to resave_file (the parent reads them there: they do not go through
 * the exchange), and the predictions of the original and of that file loaded back. */
static void resave(compat_xgb *x, compat_booster *b, const float *X, const rtm_job *jb)
{
    smx_err err = {0};
    void *nb;
    size_t nlen;
    if (compat_booster_save(b, jb->resave_format, &nb, &nlen, &err))
        fail(err.msg);
    int wfd = open(jb->resave_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (wfd < 0 || write_all(wfd, nb, nlen) || close(wfd))
        fail("cannot write the re-saved model to a temporary file");
    compat_booster *b2;
    if (compat_booster_load_file(x, jb->resave_file, &b2, &err)) {
        char msg[SMX_ERRMAX + 64];
        snprintf(msg, sizeof msg, "the re-saved model does not load back: %s", err.msg);
        fail(msg);
    }
    compat_booster_set_param(b2, "nthread", "1", NULL);
    put_u64(RTM_MSG_OK);
    if (predict(b, X, jb, &err) || predict(b2, X, jb, &err))
        fail(err.msg);
}

int main(void)
{
    /* results go to the original stdout; XGBoost's prints to stdout join its stderr */
    out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (out_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
        return 2;
    signal(SIGPIPE, SIG_DFL);
    smx_buf in = SMX_BUF_INIT;
    read_job(&in);
    rtm_job jb;
    if (rtm_job_decode(in.data, in.len, &jb)) {
        put_blob("", 0);
        fail("smxgb-xgb-child: malformed job on stdin (is this helper from the same build?)");
    }
    limit(jb.max_memory);
    float *X = malloc(jb.nrow * jb.ncol * sizeof(float) + 1);
    if (!X) {
        put_blob("", 0);
        fail("out of memory");
    }
    memcpy(X, jb.X, jb.nrow * jb.ncol * sizeof(float));

    smx_err err = {0};
    compat_xgb *x;
    if (compat_xgb_open(jb.lib[0] ? jb.lib : NULL, &x, &err)) {
        put_blob("", 0);
        fail(err.msg);
    }
    char ver[32];
    compat_version_str(compat_xgb_version(x), ver, sizeof ver);
    put_blob(ver, strlen(ver));
    compat_booster *b;
    if (load(x, &jb, &b, &err))
        fail(err.msg);
    compat_booster_set_param(b, "nthread", "1", NULL);
    if (jb.resave_format[0]) {
        resave(x, b, X, &jb);
        _exit(0);
    }
    uint64_t nf = 0;
    if (compat_booster_num_features(b, &nf, NULL))
        nf = 0;
    put_u64(RTM_MSG_OK);
    put_u64(nf);
    if (predict(b, X, &jb, &err)) {
        /* the load worked: report the prediction failure as the result's error */
        put_u64(0);
        put_u64(0);
        put_blob(err.msg, strlen(err.msg));
    }
    _exit(0);
}
