/*
 * base: the bottom of smxgb. What every module shares and nothing else: smx_err (a status plus a
 * precise message, where it happened and what to do: library code never prints and never
 * exits), smx_buf (the one growable byte buffer), array growth, a monotonic clock, hex, and
 * numbers as Python writes and reads them. Nothing here knows about models, archives or
 * containers.
 */
#ifndef SMXGB_BASE_H
#define SMXGB_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- status and error message ------------------------------------------------------------ */

enum smx_status {
    SMX_OK = 0,
    SMX_EINVAL = 1,  /* bad argument or usage */
    SMX_EIO = 2,     /* cannot open/read/write a file */
    SMX_EFORMAT = 3, /* input is not what it claims to be, or is corrupt */
    SMX_ELIMIT = 4,  /* a caller-supplied limit was exceeded */
    SMX_EUNSAFE = 5, /* input would escape or subvert its destination */
    SMX_ENOMEM = 6,
    SMX_ERUNTIME = 7 /* a dependency (XGBoost, libarchive...) failed */
};

#define SMX_ERRMAX 1024
/*
 * The one way a failure travels, in every module: a status, the message (what was expected and
 * what was found), and, for bad input, where it is (file, entry, line, byte offset) and what the
 * user can do about it. where and fix are "" when there is nothing to say.
 */
typedef struct smx_err {
    int status;
    char msg[SMX_ERRMAX];
    char where[256]; /* "model.tar.gz: xgboost-model, byte 1234", or "" */
    char fix[512];   /* what to do about it, or "" */
} smx_err;

/* Record status and message in *e (if e is not NULL); where and fix are cleared. Returns
 * status. */
int smx_fail(smx_err *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, with where (may be NULL) and fix (may be NULL). */
int smx_fail_at(smx_err *e, int status, const char *where, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void smx_err_clear(smx_err *e);

/* ---- growable byte buffer ---------------------------------------------------------------- */

typedef struct smx_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
} smx_buf;

#define SMX_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }
int smx_buf_reserve(smx_buf *b, size_t extra);
int smx_buf_append(smx_buf *b, const void *p, size_t n);
int smx_buf_puts(smx_buf *b, const char *s);
int smx_buf_printf(smx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int smx_buf_vprintf(smx_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void smx_buf_reset(smx_buf *b);
void smx_buf_free(smx_buf *b);
/* Read a whole file, refusing files larger than max_bytes. */
int smx_buf_read_file(smx_buf *b, const char *path, size_t max_bytes, smx_err *err);

void smx_sha256_hex(const unsigned char digest[32], char out[65]);

/* ---- small helpers ----------------------------------------------------------------------- */

/*
 * Make room for need elements of elem bytes in the array *p of capacity *cap (in elements),
 * growing geometrically. Returns SMX_OK or SMX_ENOMEM (*p and *cap unchanged then).
 */
int smx_grow(void **p, size_t *cap, size_t need, size_t elem);
/*
 * Append one zeroed element of elem bytes to the array *p of *n elements, growing it by one (for
 * short lists that keep no capacity). Returns the new element, or NULL when out of memory (*p and
 * *n unchanged then).
 */
void *smx_push(void **p, size_t *n, size_t elem);
/* Seconds on the monotonic clock (for durations and deadlines). */
double smx_now(void);

/* ---- outputs: written whole or not at all (output.c) ---------------------------------------- */

typedef struct smx_out {
    char *path;    /* as given */
    char *tmp;     /* the temporary file beside the destination, or NULL when written through */
    int fd;        /* write here (or use smx_out_write) */
    int through;   /* the destination is written in place: "-", a device, FIFO, socket, tty */
    int is_stdout; /* "-" */
    int same_as_stdout; /* "-", /dev/stdout, /dev/fd/1...: reports must go to stderr */
} smx_out;

/*
 * Open the output path for a command whose inputs are inputs[0..n_inputs) (files or
 * directories; NULL entries are skipped). Refuses (SMX_EINVAL) a path that is an input or lies
 * inside an input directory, and (SMX_EIO) one that cannot be created, before any work is done.
 * "-" is standard output. A destination that exists and is not a regular file (a device, FIFO,
 * terminal, /dev/stdout...) is written through in place; anything else goes to a temporary file
 * in the same directory that smx_out_commit renames over it (a symlink is followed, so the link
 * stays). Temporary files of an earlier run older than a day beside it are removed.
 */
int smx_out_open(smx_out *o, const char *path, const char *const *inputs, size_t n_inputs,
                 smx_err *err);
/* The same checks as smx_out_open, creating nothing: for a command that works long before it
 * writes (train) and must fail at once when the output cannot be written. */
int smx_out_check(const char *path, const char *const *inputs, size_t n_inputs, smx_err *err);
int smx_out_write(smx_out *o, const void *p, size_t n, smx_err *err);
/* Finish: fsync and rename into place (or close when written through). On failure the
 * temporary file is removed and the destination is untouched. */
int smx_out_commit(smx_out *o, smx_err *err);
/* Give up: remove the temporary file; the destination is untouched. Safe after commit. */
void smx_out_abort(smx_out *o);

/* ---- scratch: temporary files removed on a signal, and swept when stale (scratch.c) ------- */

/* $TMPDIR, or /tmp. */
const char *smx_tmpdir(void);
/* Make a private directory $TMPDIR/<prefix>XXXXXX (prefix should start with "smxgb-"),
 * registered as scratch; *out malloc'd. */
int smx_scratch_dir(const char *prefix, char **out, smx_err *err);
/* Register a path made elsewhere as scratch (removed by smx_scratch_cleanup_signal). */
void smx_scratch_add(const char *path);
/* The path is no longer scratch (committed or removed by its owner). */
void smx_scratch_forget(const char *path);
/* Remove a file or a whole directory tree (symlinks are removed, not followed). 0, or -1 with
 * errno; a path that does not exist is not an error. Async-signal-safe. */
int smx_remove_tree(const char *path);
/* Remove the path (a whole tree for a directory) and forget it. */
void smx_scratch_remove(const char *path);
/* Remove every scratch path this process registered. Async-signal-safe: for a handler of
 * SIGINT, SIGTERM and SIGHUP. */
void smx_scratch_cleanup_signal(void);
/* Remove this user's "smxgb-*" entries in $TMPDIR older than max_age_s seconds (scratch of a
 * run that was killed). *removed (may be NULL) counts them. */
int smx_scratch_sweep(double max_age_s, size_t *removed);

/* ---- numbers as Python writes and reads them (pyfloat.c) --------------------------------- */

#define SMX_PYREPR_MAX 32
/* Python's repr(v): "0.1", "1e-05", "1e+16", "nan", "-inf", "-0.0". Returns the length. */
size_t smx_pyrepr(double v, char out[SMX_PYREPR_MAX]);
/* The same as json.dumps writes it: NaN, Infinity, -Infinity. */
size_t smx_pyrepr_json(double v, char out[SMX_PYREPR_MAX]);

/*
 * Which strings smx_number_parse takes as numbers. Both take [sign] digits [. digits]
 * [e|E [sign] digits] with at least one digit before the exponent, and nan, inf, infinity in
 * any case with an optional sign; no hex, no other words. They differ on purpose, because the
 * container reads numbers in two ways: its training channels through numpy/pandas (which
 * refuse "1_0" and do not keep the sign of "-nan"), its inference fields with float().
 */
enum smx_number_rules {
    SMX_NUM_PLAIN = 0, /* the training channels: the token exactly, nothing around it */
    SMX_NUM_PYTHON = 1 /* float(): surrounding whitespace, single '_' between digits,
                          "-nan" keeps its sign; at most 4096 characters after the strip */
};
/* Parse all of s[0..n) as a number, correctly rounded to a double. Returns 1 and *v, else 0. */
int smx_number_parse(const char *s, size_t n, int rules, double *v);
/* Python's float(s) on an ASCII token: smx_number_parse with SMX_NUM_PYTHON. */
int smx_pyfloat_parse(const char *s, size_t n, double *v);

#endif
