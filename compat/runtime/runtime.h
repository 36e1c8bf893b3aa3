/*
 * compat/runtime: XGBoost itself, loaded with dlopen so that any build can be used (Debian's
 * libxgboost, a path, or the libxgboost.so inside a pip wheel), never linked.
 *
 * lib.c opens the library and resolves only the entry points that version has; booster.c,
 * predict.c and dmatrix.c wrap them (each checks its function exists and returns a status
 * with XGBoost's first error line). wheel.c extracts a wheel's library into a cache, checked
 * against a manifest before each use; platform.c says which wheels run on this machine;
 * cache.c keeps each container's pinned XGBoost (a runtime) by version. Real loads of outside
 * models happen in a child process (loadcheck.c, child.c): the helper executable
 * smxgb-xgb-child, which a crash, an abort or a hang in XGBoost cannot take down.
 */
#ifndef SMXGB_COMPAT_RUNTIME_H
#define SMXGB_COMPAT_RUNTIME_H

#include "../model/model.h"

/* ---- the XGBoost runtime (dlopen) -------------------------------------------------------- */

typedef struct compat_xgb compat_xgb;

/*
 * Load libxgboost. path NULL: $SMXGB_XGBOOST_LIB if set, else the system library
 * (libxgboost.so, libxgboost.so.0). Resolves only the functions that version has. A path that
 * cannot be opened is SMX_EIO, a file that is not a library for this machine (empty, not ELF,
 * another architecture) SMX_EFORMAT, one the loader refuses SMX_ERUNTIME; each says why.
 */
int compat_xgb_open(const char *path, compat_xgb **out, smx_err *err);
/* Load the libxgboost.so of a pip wheel (xgboost/lib/, with its bundled xgboost.libs/). */
int compat_xgb_open_wheel(const char *wheel, compat_xgb **out, smx_err *err);
void compat_xgb_close(compat_xgb *x);
compat_version compat_xgb_version(const compat_xgb *x);
const char *compat_xgb_path(const compat_xgb *x);
/* XGBoost's own log lines (warnings) since the last call, joined by '\n'; "" if none. The
 * runtime captures them instead of letting the library print. */
const char *compat_xgb_log(void);
void compat_xgb_log_clear(void);

typedef struct compat_booster compat_booster;

/* Load model bytes the way Booster.load_model(bytearray) does (format sniffed by XGBoost). */
int compat_booster_load_buffer(compat_xgb *x, const void *buf, size_t len, compat_booster **out,
                               smx_err *err);
/* Load a file by path the way the container does (Booster().load_model(path): XGBoost
 * dispatches on the file name's extension, then sniffs). */
int compat_booster_load_file(compat_xgb *x, const char *path, compat_booster **out, smx_err *err);
/* Restore a memory snapshot (the payload of a pickled Booster). */
int compat_booster_unserialize(compat_xgb *x, const void *buf, size_t len, compat_booster **out,
                               smx_err *err);
void compat_booster_free(compat_booster *b);
int compat_booster_set_param(compat_booster *b, const char *key, const char *value, smx_err *err);
/* Attribute value (malloc'd) or NULL when absent. */
int compat_booster_attr(compat_booster *b, const char *key, char **value, smx_err *err);
int compat_booster_set_attr(compat_booster *b, const char *key, const char *value, smx_err *err);
/* The JSON config (XGBoosterSaveJsonConfig), malloc'd. */
int compat_booster_config(compat_booster *b, char **json, smx_err *err);
int compat_booster_num_features(compat_booster *b, uint64_t *n, smx_err *err);
int compat_booster_boosted_rounds(compat_booster *b, int *n, smx_err *err);
/* Serialize the model: format "json", "ubj" or "deprecated" (legacy binary). *out malloc'd. */
int compat_booster_save(compat_booster *b, const char *format, void **out, size_t *len,
                        smx_err *err);
int compat_booster_save_file(compat_booster *b, const char *path, smx_err *err);

/* Options for prediction. iteration_end 0 = all trees; margin: output_margin. */
typedef struct compat_predict_opts {
    int iteration_end;
    int margin;
    float missing; /* usually NAN */
} compat_predict_opts;

/*
 * Thread-safe in-place prediction on a dense row-major float32 matrix (XGBoost >= 1.5:
 * XGBoosterPredictFromDense; older versions fall back to a DMatrix). No allocation is made
 * beyond XGBoost's own thread-local result: *out points into it, valid until the next
 * prediction on this thread. shape[0..1] = rows, cols of the result.
 */
int compat_booster_predict_dense(compat_booster *b, const float *X, uint64_t nrow, uint64_t ncol,
                                 const compat_predict_opts *o, const float **out, uint64_t shape[2],
                                 smx_err *err);
/* Same for CSR input (indptr nrow+1 entries, size_t; indices uint32). */
int compat_booster_predict_csr(compat_booster *b, const size_t *indptr, const uint32_t *indices,
                               const float *values, uint64_t nrow, uint64_t ncol,
                               const compat_predict_opts *o, const float **out, uint64_t shape[2],
                               smx_err *err);

/* ---- training: DMatrix and boosting rounds (dmatrix.c) ---------------------------------- */

typedef struct compat_dmatrix compat_dmatrix;

/* A DMatrix from a dense row-major float32 matrix (missing: usually NAN; nthread 0 = all). */
int compat_dmatrix_from_dense(compat_xgb *x, const float *X, uint64_t nrow, uint64_t ncol,
                              float missing, int nthread, compat_dmatrix **out, smx_err *err);
/* A QuantileDMatrix (XGBoost 1.7+, hist only) from a dense matrix: XGBoost sketches the data
 * straight into its histogram index without a CSR copy. labels/weights (weights may be
 * NULL) are set before sketching, so a weighted sketch sees them. */
int compat_dmatrix_quantile_dense(compat_xgb *x, const float *X, uint64_t nrow, uint64_t ncol,
                                  const float *labels, const float *weights, int max_bin,
                                  int nthread, compat_dmatrix **out, smx_err *err);
/* A DMatrix from CSR (indptr nrow+1 entries; indices uint32). */
int compat_dmatrix_from_csr(compat_xgb *x, const size_t *indptr, const uint32_t *indices,
                            const float *values, uint64_t nrow, uint64_t ncol, compat_dmatrix **out,
                            smx_err *err);
/* "label", "weight", "base_margin": XGBoost copies the values. */
int compat_dmatrix_set_float_info(compat_dmatrix *d, const char *field, const float *v, uint64_t n,
                                  smx_err *err);
int compat_dmatrix_shape(compat_dmatrix *d, uint64_t *nrow, uint64_t *ncol, smx_err *err);
void compat_dmatrix_free(compat_dmatrix *d);
/* A new booster whose cache holds the given matrices (at most 8). */
int compat_booster_create(compat_xgb *x, compat_dmatrix *const *cache, size_t n,
                          compat_booster **out, smx_err *err);
/* One boosting round (XGBoosterUpdateOneIter). */
int compat_booster_update(compat_booster *b, int iter, compat_dmatrix *train, smx_err *err);
/* XGBoost's evaluation string for round iter ("[0]\ttrain-rmse:0.5\t..."), malloc'd. */
int compat_booster_eval(compat_booster *b, int iter, compat_dmatrix *const *d,
                        const char *const *names, size_t n, char **out, smx_err *err);
/* The memory snapshot pickle stores (XGBoosterSerializeToBuffer), malloc'd. */
int compat_booster_serialize(compat_booster *b, void **out, size_t *len, smx_err *err);
/* Predict a DMatrix; out->values malloc'd (free with compat_pred_free). */
int compat_booster_predict_dmatrix(compat_booster *b, compat_dmatrix *d,
                                   const compat_predict_opts *o, compat_pred *out, smx_err *err);

/* ---- load checks: a real load in a child process (loadcheck.c, child.c) ------------------- */

/*
 * The bounds of a real load. The child has its memory limit and the deadline; the exchange
 * has bounds of its own, so that what the child sends back cannot grow the parent past them
 * either: the parent takes at most max_result bytes of results (the child leaves out
 * predictions larger than that and says so), and a re-saved model comes back as a file, not
 * through the exchange.
 */
typedef struct compat_load_limits {
    uint64_t max_memory; /* RLIMIT_AS of the child, bytes; 0 = 4 GiB */
    int timeout_ms;      /* 0 = 60 s */
    const char *child;   /* the helper executable; NULL: compat_child_path's search */
    uint64_t max_result; /* bytes of results the parent takes from the child; 0 = 64 MiB */
} compat_load_limits;

/*
 * Real loads run in a helper executable, smxgb-xgb-child, started with posix_spawn (fork and
 * exec: safe from a process whose OpenMP runtime already has threads). It is found, in order:
 *   1. `explicit_path` when not NULL or empty (compat_load_limits.child);
 *   2. $SMXGB_CHILD when set;
 *   3. beside the running program (the directory of /proc/self/exe): the build tree puts it
 *      next to the smxgb binary;
 *   4. DIR/../libexec/smxgb/smxgb-xgb-child, DIR that same directory (an installed layout).
 * Test programs of the build tree are given $SMXGB_CHILD by ctest. A helper named by 1 or 2
 * must be an executable file (a wrong setting is an error, never a fallback); 3-4 are tried in
 * turn. *out malloc'd; SMX_EIO when none is found.
 */
int compat_child_path(const char *explicit_path, char **out, smx_err *err);

typedef struct compat_loadcheck {
    int ran;                /* 0: not attempted (see note) */
    int loaded;             /* the runtime loaded it (and the check came to its end) */
    int timed_out;          /* the deadline struck, at whatever stage error names: the check
                               did not finish, which says nothing about the model */
    char version[32];       /* the runtime's version */
    char error[SMX_ERRMAX]; /* load failure, crash ("crashed (SIGSEGV)") or timeout */
    uint64_t rows, cols;    /* prediction shape from the runtime */
    uint64_t num_features;  /* the loaded booster's number of features (0: unknown) */
    int predicted;          /* the predictions arrived whole; loaded but not predicted is a
                               failure (predict raised, the child died or timed out while
                               sending them: see note) */
    int compared;           /* predictions compared with the reference predictor */
    double max_diff;        /* largest |runtime - reference| */
    char note[256];         /* why no comparison, or other remarks */
} compat_loadcheck;

/*
 * Load the exact bytes the container would see (a pickle: its payload, restored the way
 * Booster.__setstate__ does; otherwise the file as `name`) with the XGBoost at lib (NULL =
 * default) in a child process under limits, predict generated rows, and compare with
 * compat_reference_predict. Crashes, aborts and timeouts of the child are reported in out,
 * never propagated. Returns SMX_OK when out describes the attempt.
 */
int compat_loadcheck_run(const compat_model_info *m, const void *bytes, size_t len,
                         const char *name, const char *lib, const compat_load_limits *lim,
                         compat_loadcheck *out, smx_err *err);

/*
 * Re-save model bytes with the XGBoost at lib in `format`, in a child process, and predict
 * generated rows with both the original and the re-saved model (loaded back from a file named
 * xgboost-model). The re-saved model is written to save_to (it does not pass through the
 * exchange; keep save_to in $TMPDIR, where it is moved from); out->len is its size, and
 * pred_a/pred_b are malloc'd rows x cols each. SMX_ELIMIT when the predictions are more than
 * the exchange takes (lim->max_result).
 */
typedef struct compat_resave {
    uint64_t len;
    float *pred_a, *pred_b;
    uint64_t rows, cols;
    char version[32];
} compat_resave;
int compat_resave_run(const compat_model_info *m, const void *bytes, size_t len, const char *name,
                      const char *lib, const char *format, const char *save_to,
                      const compat_load_limits *lim, compat_resave *out, smx_err *err);
void compat_resave_free(compat_resave *r);

/* ---- wheels: the libxgboost.so inside a pip wheel (platform.c, wheel.c) ------------------ */

/* This machine as wheels name it. */
typedef struct compat_platform {
    char arch[32];                /* uname's machine: "x86_64", "aarch64" */
    int glibc_major, glibc_minor; /* 0 when the C library is not glibc */
} compat_platform;
void compat_platform_host(compat_platform *p);
/* "Linux x86_64, glibc 2.36"; returns buf. */
const char *compat_platform_str(const compat_platform *p, char *buf, size_t n);

/* A wheel's file name (PEP 427): NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl. */
typedef struct compat_wheel_name {
    char project[128], version[64], build[32], python[64], abi[64], platform[256];
} compat_wheel_name;
/* Split a wheel file name (a path's last part); 0, or -1 when it is not one. */
int compat_wheel_name_parse(const char *filename, compat_wheel_name *w);
/*
 * How well wheel w fits platform p, as pip ranks it: 0 when it cannot run there (why says why:
 * another architecture, a newer glibc, macOS, musl, Python 2 only...), else a rank that is
 * higher for the tag that needs the newest glibc (manylinux1 = 2.5, manylinux2010 = 2.12,
 * manylinux2014 = 2.17, manylinux_X_Y = X.Y; linux_ARCH lowest), py3-none breaking a tie.
 */
long compat_wheel_rank(const compat_wheel_name *w, const compat_platform *p, char *why, size_t n);
/* Two versions are the same release (PEP 440: "1.0" is "1.0.0"; other text compared as is). */
int compat_version_same(const char *a, const char *b);
/* The file at path is a shared library this machine can load (an ELF of its class and
 * architecture): SMX_OK, SMX_EIO (cannot be opened) or SMX_EFORMAT with what it is instead
 * (empty, not ELF, truncated, built for aarch64...). */
int compat_lib_check(const char *path, smx_err *err);

/* The cache directory: cache_dir when given, else $XDG_CACHE_HOME/smxgb, else ~/.cache/smxgb
 * (malloc'd). */
int compat_cache_root(const char *cache_dir, char **out, smx_err *err);

/*
 * Extract the bundled libxgboost.so (and the *.libs/ it needs) of the wheel at path (a zip,
 * read with libarchive) into the cache entry of the wheel's sha256 (CACHE/wheels/SHA256;
 * cache_dir overrides CACHE) and return its path (malloc'd). A cached copy is reused when its
 * files match the manifest written when it was extracted, else it is extracted again.
 */
int compat_wheel_lib(const char *path, const char *cache_dir, char **lib_path, smx_err *err);

/* ---- pinned runtimes: each container's XGBoost, cached by version (cache.c) --------------- */

typedef struct compat_runtime {
    int found;             /* cached for this machine, and its files are intact */
    char version[32];      /* the version asked for ("1.7.4") */
    char loaded[32];       /* the version its library reported when it was cached */
    char lib[4096];        /* the cached libxgboost.so */
    char wheel[256];       /* the wheel's file name */
    char sha256[65];       /* the wheel's sha256 */
    char source[1024];     /* where the wheel came from (a URL or a file) */
    char cached_at[32];    /* UTC, ISO 8601 */
    char note[SMX_ERRMAX]; /* not found because the entry was damaged (and removed), or a
                              damaged copy was replaced; "" otherwise */
} compat_runtime;

/*
 * The cached runtime of XGBoost `version` for this machine. SMX_OK with rt->found 1 and
 * rt->lib when cached and intact (each file's sha256 checked against the entry's manifest,
 * once per process, sizes each time); rt->found 0 when not cached, or when the entry was damaged or
 * its record unreadable (rt->note says so; the entry is removed so that a fetch replaces it).
 * SMX_EINVAL for a version that cannot be one.
 */
int compat_runtime_find(const char *version, const char *cache_dir, compat_runtime *rt,
                        smx_err *err);

/* A downloaded wheel to cache as the runtime of a version. */
typedef struct compat_runtime_wheel {
    const char *path;    /* the wheel file */
    const char *name;    /* its file name when path is a temporary file; NULL: path's */
    const char *version; /* the XGBoost version it must be */
    const char *sha256;  /* what the index publishes, or NULL (a local wheel) */
    const char *source;  /* for the record: its URL or file; NULL: path */
} compat_runtime_wheel;

/*
 * Cache w as the runtime of w->version: its sha256 must be the published one (SMX_EFORMAT,
 * nothing cached), its file name's version the one asked for (SMX_EINVAL); its libraries are
 * extracted (compat_wheel_lib's entry); the library must be built for this machine
 * (compat_lib_check) and open in the helper process (compat_runtime_probe: SMX_ERUNTIME with
 * the loader's reason, e.g. a glibc too old or a missing symbol) and report exactly
 * w->version (SMX_EFORMAT). Only then is the record written. rt describes the result.
 */
int compat_runtime_install(const compat_runtime_wheel *w, const char *cache_dir,
                           const compat_load_limits *lim, compat_runtime *rt, smx_err *err);

/* Open lib in the helper process (compat_child_path) and ask its version, without loading any
 * model: SMX_OK and version, or SMX_EFORMAT (not a library for this machine) or SMX_ERUNTIME
 * (it does not open here: the loader's message, or how the helper died). */
int compat_runtime_probe(const char *lib, const compat_load_limits *lim, char *version, size_t n,
                         smx_err *err);

/* Hold the lock of version's runtime (a file in CACHE/runtimes): one fetch at a time across
 * processes. wait 0: returns 1 at once when another process holds it. *fd is released by
 * compat_runtime_unlock (or when the process ends). */
int compat_runtime_lock(const char *version, const char *cache_dir, int wait, int *fd,
                        smx_err *err);
void compat_runtime_unlock(int fd);

/* What a container's verdict rests on (a report's per-container evidence, and which runtime a
 * container gets). */
typedef enum compat_evidence_kind {
    COMPAT_EVIDENCE_RULES = 0, /* no real load: identified from the bytes, the rules decide */
    COMPAT_EVIDENCE_STANDIN,   /* a real load in another XGBoost version (a stand-in) */
    COMPAT_EVIDENCE_EXACT      /* a real load in exactly the container's X.Y.Z */
} compat_evidence_kind;
/* "rules", "load-standin", "load-exact" */
const char *compat_evidence_name(compat_evidence_kind e);

typedef struct compat_runtime_choice {
    compat_evidence_kind evidence; /* EXACT or STANDIN (RULES only once a load could not run) */
    char lib[4096];                /* the library to load; "" = the system's libxgboost */
    char why[SMX_ERRMAX];          /* which library and why, for a report */
    compat_runtime runtime;        /* the cache look-up (runtime.note: a damaged entry removed) */
} compat_runtime_choice;

/*
 * The XGBoost that runs a container pinning `version`: explicit_lib when given (a stand-in,
 * unless its load reports `version`), else $SMXGB_XGBOOST_LIB (the same), else the cached
 * runtime of `version` (exact), else the system library (a stand-in; why says how to fetch
 * the exact one). verify, serve and train call this for each container they run.
 */
int compat_runtime_choose(const char *version, const char *explicit_lib, const char *cache_dir,
                          compat_runtime_choice *ch, smx_err *err);

#endif
