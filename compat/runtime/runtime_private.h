/*
 * Private to compat/runtime: the resolved XGBoost entry points. lib.c fills them with dlsym;
 * the wrappers (booster.c, predict.c, dmatrix.c) call through them. A NULL pointer means the
 * loaded version does not have that function. Shared names carry the rtm_ prefix.
 */
#ifndef SMXGB_COMPAT_RUNTIME_PRIVATE_H
#define SMXGB_COMPAT_RUNTIME_PRIVATE_H

#include "runtime.h"

typedef uint64_t bst_ulong;
typedef void *BoosterHandle;
typedef void *DMatrixHandle;

struct compat_xgb {
    void *dl;
    char *path;
    compat_version version;
    void (*XGBoostVersion)(int *, int *, int *);
    const char *(*XGBGetLastError)(void);
    int (*XGBRegisterLogCallback)(void (*)(const char *));
    int (*XGBSetGlobalConfig)(const char *);
    int (*XGBoosterCreate)(const DMatrixHandle[], bst_ulong, BoosterHandle *);
    int (*XGBoosterFree)(BoosterHandle);
    int (*XGBoosterLoadModel)(BoosterHandle, const char *);
    int (*XGBoosterLoadModelFromBuffer)(BoosterHandle, const void *, bst_ulong);
    int (*XGBoosterUnserializeFromBuffer)(BoosterHandle, const void *, bst_ulong);
    int (*XGBoosterSaveModel)(BoosterHandle, const char *);
    int (*XGBoosterSaveModelToBuffer)(BoosterHandle, const char *, bst_ulong *, const char **);
    int (*XGBoosterGetModelRaw)(BoosterHandle, bst_ulong *, const char **);
    int (*XGBoosterSerializeToBuffer)(BoosterHandle, bst_ulong *, const char **);
    int (*XGBoosterSaveJsonConfig)(BoosterHandle, bst_ulong *, const char **);
    int (*XGBoosterLoadJsonConfig)(BoosterHandle, const char *);
    int (*XGBoosterSetParam)(BoosterHandle, const char *, const char *);
    int (*XGBoosterGetAttr)(BoosterHandle, const char *, const char **, int *);
    int (*XGBoosterSetAttr)(BoosterHandle, const char *, const char *);
    int (*XGBoosterGetAttrNames)(BoosterHandle, bst_ulong *, const char ***);
    int (*XGBoosterGetNumFeature)(BoosterHandle, bst_ulong *);
    int (*XGBoosterBoostedRounds)(BoosterHandle, int *);
    /* 0.90 has no `training` argument: call through predict_legacy there */
    int (*XGBoosterPredict)(BoosterHandle, DMatrixHandle, int, unsigned, int, bst_ulong *,
                            const float **);
    int (*XGBoosterPredictFromDMatrix)(BoosterHandle, DMatrixHandle, const char *,
                                       const bst_ulong **, bst_ulong *, const float **);
    int (*XGBoosterPredictFromDense)(BoosterHandle, const char *, const char *, DMatrixHandle,
                                     const bst_ulong **, bst_ulong *, const float **);
    int (*XGBoosterPredictFromCSR)(BoosterHandle, const char *, const char *, const char *,
                                   bst_ulong, const char *, DMatrixHandle, const bst_ulong **,
                                   bst_ulong *, const float **);
    int (*XGBoosterSlice)(BoosterHandle, int, int, int, BoosterHandle *);
    int (*XGBoosterUpdateOneIter)(BoosterHandle, int, DMatrixHandle);
    int (*XGBoosterEvalOneIter)(BoosterHandle, int, DMatrixHandle[], const char *[], bst_ulong,
                                const char **);
    int (*XGDMatrixCreateFromMat)(const float *, bst_ulong, bst_ulong, float, DMatrixHandle *);
    int (*XGDMatrixCreateFromCSREx)(const size_t *, const unsigned *, const float *, size_t, size_t,
                                    size_t, DMatrixHandle *);
    int (*XGDMatrixCreateFromFile)(const char *, int, DMatrixHandle *);
    int (*XGDMatrixCreateFromMat_omp)(const float *, bst_ulong, bst_ulong, float, DMatrixHandle *,
                                      int);
    int (*XGProxyDMatrixCreate)(DMatrixHandle *);
    int (*XGProxyDMatrixSetDataDense)(DMatrixHandle, const char *);
    int (*XGQuantileDMatrixCreateFromCallback)(void *, DMatrixHandle, void *, void (*)(void *),
                                               int (*)(void *), const char *, DMatrixHandle *);
    int (*XGDMatrixFree)(DMatrixHandle);
    int (*XGDMatrixSetFloatInfo)(DMatrixHandle, const char *, const float *, bst_ulong);
    int (*XGDMatrixNumRow)(DMatrixHandle, bst_ulong *);
    int (*XGDMatrixNumCol)(DMatrixHandle, bst_ulong *);
};

struct compat_dmatrix {
    compat_xgb *x;
    DMatrixHandle h;
};

struct compat_booster {
    compat_xgb *x;
    BoosterHandle h;
};

/* Record XGBoost's last error (first line, prefixed) in err; returns SMX_ERUNTIME. */
int rtm_fail(const compat_xgb *x, smx_err *err, const char *what);
/* This thread's proxy DMatrix for in-place prediction (lib.c), or NULL: the main thread, or a
 * version without proxies (XGBoost then makes its own). */
DMatrixHandle rtm_thread_proxy(compat_xgb *x);

/* ---- the child protocol: child.c runs the helper, child_main.c is the helper, wire.c the bytes
 *
 * Job, on the helper's stdin until EOF: u64 RTM_JOB_MAGIC, u64 max_memory (its RLIMIT_AS),
 * u64 max_result (the most bytes of predictions it may send), blob lib ("" = the default
 * library), u64 how (RTM_LOAD_FILE: load `file` by path as the container does;
 * RTM_LOAD_SNAPSHOT: restore `payload` as Booster.__setstate__ does), blob file, blob
 * payload, u64 nrow, u64 ncol, blob X (nrow x ncol float32), blob resave_format ("" = a load
 * check only), blob resave_file.
 *
 * Result, on its stdout, written as it goes (a crash leaves what was written): blob version
 * (of the library; "" when it did not open), then u64 RTM_MSG_ERR + blob message, or u64
 * RTM_MSG_OK and, for a load check, u64 num_features (of the loaded booster; 0 unknown), then
 * the predictions; for a re-save (the new bytes are in resave_file, where the parent reads
 * them), the predictions of the original model and of the re-saved one loaded back from that
 * file. Predictions are u64 rows, u64 cols, blob values (rows = cols = 0: the blob says why
 * predict failed; an empty blob for rows x cols > 0: they were larger than max_result).
 * All integers are native-endian u64, blobs a u64 length and the bytes.
 */
#define RTM_JOB_MAGIC 0x32424f4a42475853ull /* "SXGBJOB2" */
enum { RTM_MSG_OK = 0, RTM_MSG_ERR = 1 };
enum { RTM_LOAD_FILE = 0, RTM_LOAD_SNAPSHOT = 1 };

typedef struct rtm_job {
    uint64_t max_memory;
    uint64_t max_result;
    const char *lib;
    int how;
    const char *file;
    const void *payload;
    uint64_t payload_len;
    const void *X; /* nrow x ncol float32 (decoded: not necessarily aligned) */
    uint64_t nrow, ncol;
    const char *resave_format; /* "" or NULL: a load check */
    const char *resave_file;
} rtm_job;

/* A reader over received bytes; bad once anything was missing. */
typedef struct rtm_rd {
    const char *p;
    size_t left;
    int bad;
} rtm_rd;

int rtm_put_u64(smx_buf *b, uint64_t v);
int rtm_put_blob(smx_buf *b, const void *p, uint64_t n);
uint64_t rtm_get_u64(rtm_rd *r);
const char *rtm_get_blob(rtm_rd *r, uint64_t *n); /* NULL when bad */
void rtm_get_str(rtm_rd *r, char *dst, size_t cap);
int rtm_job_encode(const rtm_job *jb, smx_buf *b);
/* Decode a job; its pointers point into the bytes. 0, or -1 when malformed. */
int rtm_job_decode(const void *p, size_t n, rtm_job *jb);

/* How a run of the helper ended. */
typedef struct rtm_child {
    smx_buf out;           /* what it wrote on stdout */
    char stderr_line[512]; /* the first line it wrote on stderr that says something */
    int status;            /* waitpid status */
    int timed_out;         /* killed at the deadline */
} rtm_child;

/*
 * Run the helper on jb under lim (the deadline here; the memory limit in the helper) and
 * collect what it wrote. SMX_OK whenever it ran, however it ended (cr says); SMX_EIO when it
 * could not be started, SMX_ELIMIT when it wrote more than the exchange takes (max_result
 * and RTM_RESULT_SLACK for the rest of the message).
 */
#define RTM_RESULT_SLACK (64u << 10)
int rtm_child_run(const rtm_job *jb, const compat_load_limits *lim, rtm_child *cr, smx_err *err);
/* Describe how the helper ended when it left no result: "crashed (SIGSEGV): <stderr>"... */
void rtm_child_death(const rtm_child *cr, const compat_load_limits *lim, char *out, size_t n);
/* lim's values with the defaults filled in */
uint64_t rtm_max_memory(const compat_load_limits *lim);
uint64_t rtm_max_result(const compat_load_limits *lim);
int rtm_timeout_ms(const compat_load_limits *lim);

/* ---- the wheel cache (wheel.c), shared with the pinned runtimes (cache.c) ------------------ */

/* sha256 of a file as 64 hex digits; *size (may be NULL) its length. */
int rtm_sha256_file(const char *path, char hex[65], uint64_t *size, smx_err *err);
/* mkdir -p with mode 0700; 0 or -1 with errno. */
int rtm_mkdirs(const char *path);
/* Check the cache entry dir against its manifest (sizes each time, sha256 once per process): 0 and
 * the library's path relative to dir in lib_rel, or -1 and why (a file missing, resized or altered;
 * no manifest). */
int rtm_entry_check(const char *dir, char *lib_rel, size_t lib_n, char *why, size_t n);
/* Set a damaged entry aside and remove it; 0, or -1 with errno. */
int rtm_entry_discard(const char *dir);
/* The intact entry ROOT/wheels/HEX of the wheel whose sha256 is hex: reused when its files
 * match its manifest, else (re-)extracted from wheel (note says when a damaged copy was
 * replaced). *dir malloc'd; lib_rel is the library's path inside it. */
int rtm_wheel_entry(const char *wheel, const char *hex, const char *root, char **dir, char *lib_rel,
                    size_t lib_n, char *note, size_t note_n, smx_err *err);

#endif
