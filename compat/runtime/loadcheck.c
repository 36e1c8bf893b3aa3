/*
 * Load checks: a model loaded for real by an XGBoost build, in the helper process.
 *
 * Some XGBoost versions abort (std::bad_alloc on a pickle), throw from a destructor or
 * segfault (3.2+ on old vector-leaf trees) when given a file they do not expect. So the
 * load never happens in smxgb's own process: the exact bytes the container would see are
 * written under the container's file name to a private temporary directory, and the helper
 * (child.c, child_main.c) loads them (a pickle: its payload, restored the way
 * Booster.__setstate__ does) and predicts generated rows under a memory limit and a deadline.
 * Its predictions are compared with the reference predictor's (compat/model). A helper that
 * crashes, aborts, exits without a result or runs past the deadline is reported as such,
 * with the first line it wrote to stderr. The parent never loads libxgboost itself.
 *
 * The same protocol re-saves a model for `smxgb convert` (compat_resave_run).
 */
#include "runtime_private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NROWS 16

/* One real load: the rows, the model on disk under its container name, how the helper ran. */
typedef struct attempt {
    float *X;
    size_t ncol;
    char *dir, *file;      /* private temporary directory, the model in it */
    char *back_dir, *back; /* re-save: where the new bytes are loaded back from */
    rtm_child cr;
} attempt;

static int write_file(const char *path, const void *p, size_t n, smx_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return smx_fail(err, SMX_EIO, "cannot create %s: %s", path, strerror(errno));
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return smx_fail(err, SMX_EIO, "cannot write %s: %s", path, strerror(e));
        }
        c += w;
        n -= (size_t)w;
    }
    if (close(fd))
        return smx_fail(err, SMX_EIO, "cannot write %s: %s", path, strerror(errno));
    return SMX_OK;
}

static void attempt_end(attempt *a)
{
    if (a->back)
        unlink(a->back);
    if (a->back_dir)
        rmdir(a->back_dir);
    if (a->file)
        unlink(a->file);
    if (a->dir)
        rmdir(a->dir);
    free(a->back);
    free(a->back_dir);
    free(a->file);
    free(a->dir);
    free(a->X);
    smx_buf_free(&a->cr.out);
}

/* Rows for m, and the bytes written as `name` (its base name; "xgboost-model" if none) in a
 * fresh directory; a re-save also gets resaved/xgboost-model, the container's name. */
static int attempt_begin(attempt *a, const compat_model_info *m, const void *bytes, size_t len,
                         const char *name, int resave, smx_err *err)
{
    memset(a, 0, sizeof *a);
    int rc = compat_gen_rows(m, NROWS, &a->X, &a->ncol, err);
    if (rc)
        return rc;
    const char *tmp = getenv("TMPDIR");
    smx_buf d = SMX_BUF_INIT, f = SMX_BUF_INIT, bd = SMX_BUF_INIT, b = SMX_BUF_INIT;
    smx_buf_printf(&d, "%s/smxgb-load-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!d.data)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!mkdtemp(d.data)) {
        rc = smx_fail(err, SMX_EIO, "cannot create a temporary directory in %s: %s",
                      tmp ? tmp : "/tmp", strerror(errno));
        smx_buf_free(&d);
        return rc;
    }
    a->dir = d.data;
    const char *base = name ? strrchr(name, '/') : NULL;
    base = base ? base + 1 : name;
    if (!base || !*base || base[0] == '.')
        base = "xgboost-model";
    smx_buf_printf(&f, "%s/%s", a->dir, base);
    if (!(a->file = f.data))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if ((rc = write_file(a->file, bytes, len, err)))
        return rc;
    if (!resave)
        return SMX_OK;
    smx_buf_printf(&bd, "%s/resaved", a->dir);
    smx_buf_printf(&b, "%s/resaved/xgboost-model", a->dir);
    a->back_dir = bd.data;
    a->back = b.data;
    if (!a->back_dir || !a->back)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (mkdir(a->back_dir, 0700))
        return smx_fail(err, SMX_EIO, "cannot create %s: %s", a->back_dir, strerror(errno));
    return SMX_OK;
}

static int attempt_run(attempt *a, const compat_model_info *m, const char *lib, const char *format,
                       const compat_load_limits *lim, smx_err *err)
{
    int snapshot = m->format == COMPAT_FMT_PICKLE && m->payload_bytes && m->payload_len;
    rtm_job jb = {rtm_max_memory(lim),
                  rtm_max_result(lim),
                  lib,
                  snapshot ? RTM_LOAD_SNAPSHOT : RTM_LOAD_FILE,
                  a->file,
                  snapshot ? m->payload_bytes : NULL,
                  snapshot ? m->payload_len : 0,
                  a->X,
                  NROWS,
                  a->ncol,
                  format,
                  a->back};
    return rtm_child_run(&jb, lim, &a->cr, err);
}

/* ---- load checks ---------------------------------------------------------------------------- */

/* The largest |runtime - reference| over the predictions p (out->rows x out->cols floats). */
static void compare(const compat_model_info *m, const attempt *a, const char *p,
                    compat_loadcheck *out)
{
    compat_pred ref = {0};
    smx_err rerr = {0};
    if (compat_reference_predict(m, a->X, NROWS, a->ncol, 0, &ref, &rerr) != SMX_OK) {
        snprintf(out->note, sizeof out->note, "not compared: reference predictor: %.200s",
                 rerr.msg);
        return;
    }
    out->compared = 1;
    if (ref.rows * ref.cols != out->rows * out->cols) {
        out->max_diff = INFINITY;
        snprintf(out->note, sizeof out->note, "prediction shape %llux%llu, reference %llux%llu",
                 (unsigned long long)out->rows, (unsigned long long)out->cols,
                 (unsigned long long)ref.rows, (unsigned long long)ref.cols);
    } else {
        double md = 0;
        for (uint64_t i = 0; i < ref.rows * ref.cols; i++) {
            float v;
            memcpy(&v, p + i * sizeof(float), sizeof v);
            double d = fabs((double)v - (double)ref.values[i]);
            if (isnan(v) != isnan(ref.values[i]))
                d = INFINITY;
            else if (isnan(v))
                d = 0;
            if (d > md)
                md = d;
        }
        out->max_diff = md;
    }
    compat_pred_free(&ref);
}

/* The deadline struck: whatever came before it, the check did not finish. The stage it had
 * reached is said, the result is not a load (nor a failed one: timed_out says so). */
static void timed_out(const attempt *a, const compat_load_limits *lim, compat_loadcheck *out)
{
    rtm_rd r = {a->cr.out.data, a->cr.out.len, 0};
    rtm_get_str(&r, out->version, sizeof out->version);
    uint64_t kind = rtm_get_u64(&r);
    const char *stage = r.bad                 ? "before XGBoost had opened"
                        : kind == RTM_MSG_ERR ? "while reporting a failure"
                        : kind != RTM_MSG_OK  ? "while loading the model"
                                              : "after loading the model, while predicting or "
                                                "sending the predictions";
    if (r.bad)
        out->version[0] = '\0';
    else if (kind != RTM_MSG_OK && kind != RTM_MSG_ERR)
        stage = "while loading the model";
    char why[SMX_ERRMAX];
    rtm_child_death(&a->cr, lim, why, sizeof why);
    snprintf(out->error, sizeof out->error, "%.700s, %s", why, stage);
    out->timed_out = 1;
    out->loaded = 0;
}

static void read_loadcheck(const compat_model_info *m, const attempt *a,
                           const compat_load_limits *lim, compat_loadcheck *out)
{
    if (a->cr.timed_out) {
        timed_out(a, lim, out);
        return;
    }
    rtm_rd r = {a->cr.out.data, a->cr.out.len, 0};
    rtm_get_str(&r, out->version, sizeof out->version);
    uint64_t kind = rtm_get_u64(&r), n;
    if (r.bad) {
        rtm_child_death(&a->cr, lim, out->error, sizeof out->error);
        return;
    }
    if (kind == RTM_MSG_ERR) {
        rtm_get_str(&r, out->error, sizeof out->error);
        return;
    }
    out->loaded = 1;
    out->num_features = rtm_get_u64(&r);
    out->rows = rtm_get_u64(&r);
    out->cols = rtm_get_u64(&r);
    const char *p = rtm_get_blob(&r, &n);
    if (r.bad) { /* say why: a crash or an exit in the middle */
        char why[SMX_ERRMAX];
        rtm_child_death(&a->cr, lim, why, sizeof why);
        snprintf(out->note, sizeof out->note,
                 "not compared: the child %.200s while sending the "
                 "predictions",
                 why);
    } else if (out->rows == 0 && out->cols == 0)
        snprintf(out->note, sizeof out->note, "predict failed: %.*s", (int)(n < 200 ? n : 200), p);
    else if (n == 0) {
        out->predicted = 1; /* the child predicted; only the comparison is left out */
        snprintf(out->note, sizeof out->note,
                 "not compared: %llu x %llu predictions are more than the %llu bytes the load "
                 "check's exchange takes",
                 (unsigned long long)out->rows, (unsigned long long)out->cols,
                 (unsigned long long)rtm_max_result(lim));
    } else if (n != out->rows * out->cols * sizeof(float)) {
        snprintf(out->note, sizeof out->note, "malformed prediction message");
    } else {
        out->predicted = 1;
        compare(m, a, p, out);
    }
}

int compat_loadcheck_run(const compat_model_info *m, const void *bytes, size_t len,
                         const char *name, const char *lib, const compat_load_limits *lim,
                         compat_loadcheck *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    attempt a;
    int rc = attempt_begin(&a, m, bytes, len, name, 0, err);
    if (!rc)
        rc = attempt_run(&a, m, lib, NULL, lim, err);
    if (!rc) {
        out->ran = 1;
        read_loadcheck(m, &a, lim, out);
    }
    attempt_end(&a);
    return rc;
}

/* ---- re-saves ------------------------------------------------------------------------------ */

/* The two predictions; SMX_OK when both came and have one shape, SMX_ELIMIT when they were
 * more than the exchange takes. */
static int read_predictions(rtm_rd *r, compat_resave *out)
{
    for (int k = 0; k < 2; k++) {
        uint64_t rows = rtm_get_u64(r), cols = rtm_get_u64(r), n;
        const char *p = rtm_get_blob(r, &n);
        if (!r->bad && n == 0 && rows && cols) {
            out->rows = rows;
            out->cols = cols;
            return SMX_ELIMIT;
        }
        if (r->bad || n != rows * cols * sizeof(float))
            return SMX_ERUNTIME;
        float *v = malloc(n ? n : 1);
        if (!v)
            return SMX_ENOMEM;
        memcpy(v, p, n);
        if (k == 0) {
            out->pred_a = v;
            out->rows = rows;
            out->cols = cols;
        } else if (rows == out->rows && cols == out->cols) {
            out->pred_b = v;
        } else {
            free(v);
            return SMX_ERUNTIME;
        }
    }
    return SMX_OK;
}

/* Move the re-saved file to save_to (a rename within $TMPDIR; a copy across devices). */
static int move_file(const char *from, const char *to, smx_err *err)
{
    if (rename(from, to) == 0)
        return SMX_OK;
    if (errno != EXDEV)
        return smx_fail(err, SMX_EIO, "cannot move the re-saved model to %s: %s", to,
                        strerror(errno));
    smx_buf b = SMX_BUF_INIT;
    int rc = smx_buf_read_file(&b, from, (size_t)-1, err);
    if (!rc)
        rc = write_file(to, b.data ? b.data : "", b.len, err);
    smx_buf_free(&b);
    unlink(from);
    return rc;
}

static int read_resave(const attempt *a, const compat_load_limits *lim, const char *save_to,
                       compat_resave *out, smx_err *err)
{
    rtm_rd r = {a->cr.out.data, a->cr.out.len, 0};
    rtm_get_str(&r, out->version, sizeof out->version);
    uint64_t kind = rtm_get_u64(&r), n;
    if (r.bad || a->cr.timed_out) {
        char why[SMX_ERRMAX];
        rtm_child_death(&a->cr, lim, why, sizeof why);
        return smx_fail(err, SMX_ERUNTIME, "the XGBoost child %s", why);
    }
    if (kind == RTM_MSG_ERR) {
        const char *p = rtm_get_blob(&r, &n);
        return smx_fail(err, SMX_ERUNTIME, "%.*s", (int)(n < 900 ? n : 900), p ? p : "");
    }
    int rc = read_predictions(&r, out);
    if (rc == SMX_ELIMIT) {
        uint64_t rows = out->rows, cols = out->cols;
        compat_resave_free(out);
        return smx_fail(err, SMX_ELIMIT,
                        "%llu x %llu predictions are more than the %llu bytes the exchange with "
                        "the XGBoost child takes: the re-saved model cannot be compared",
                        (unsigned long long)rows, (unsigned long long)cols,
                        (unsigned long long)rtm_max_result(lim));
    }
    if (rc) {
        compat_resave_free(out);
        return smx_fail(err, SMX_ERUNTIME,
                        "the re-save child sent an incomplete result "
                        "(or the two models predict different shapes)");
    }
    struct stat st;
    if (stat(a->back, &st) || (rc = move_file(a->back, save_to, err))) {
        compat_resave_free(out);
        return rc ? rc
                  : smx_fail(err, SMX_EIO, "the re-saved model is missing: %s", strerror(errno));
    }
    out->len = (uint64_t)st.st_size;
    return SMX_OK;
}

int compat_resave_run(const compat_model_info *m, const void *bytes, size_t len, const char *name,
                      const char *lib, const char *format, const char *save_to,
                      const compat_load_limits *lim, compat_resave *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    attempt a;
    int rc = attempt_begin(&a, m, bytes, len, name, 1, err);
    if (!rc)
        rc = attempt_run(&a, m, lib, format, lim, err);
    if (!rc)
        rc = read_resave(&a, lim, save_to, out, err);
    attempt_end(&a);
    return rc;
}

void compat_resave_free(compat_resave *r)
{
    free(r->pred_a);
    free(r->pred_b);
    memset(r, 0, sizeof *r);
}
