/*
 * train: training for a SageMaker XGBoost container, the way that container's algorithm-mode
 * training does it, through compat's XGBoost runtime (DMatrix, boosting rounds, serializing).
 *
 *   data.c         the container's CSV and LIBSVM channels, read into one float32 buffer or CSR
 *   hyperparams.c  SageMaker's hyperparameters: the container's validation table, and what
 *                  is passed to XGBoost
 *   train.c        the loop (xgb.train's: watchlist, early stopping, the attributes it stores)
 *                  and the model file that container's training writes
 *   container.c    smxgb train's whole job: runtime, hyperparameters, channels, the loop, then
 *                  model.tar.gz packaged and verified for the container
 *
 * Nothing here prints: progress (each round among it) is reported through callbacks.
 */
#ifndef SMXGB_TRAIN_H
#define SMXGB_TRAIN_H

#include "../compat/compat.h"

#include <stddef.h>
#include <stdint.h>

/* ---- training data: the container's CSV and LIBSVM channels (data.c) --------------------- */

typedef enum train_data_format {
    TRAIN_DATA_AUTO = 0, /* by extension, else sniffed from the first line */
    TRAIN_DATA_CSV,      /* label first, no header; csv_weights=1: label,weight,features */
    TRAIN_DATA_LIBSVM    /* "label[:weight] idx:value ..." */
} train_data_format;

/* "text/csv", "csv", "text/libsvm", "libsvm", ... -> format; -1 if not a content type we read. */
int train_data_format_parse(const char *content_type);
const char *train_data_format_name(train_data_format f);

typedef struct train_data {
    train_data_format format;
    uint64_t nrow, ncol;
    float *X;       /* CSV: dense row-major nrow x ncol, NaN = missing (empty cell) */
    size_t *indptr; /* LIBSVM: CSR, nrow + 1 entries */
    uint32_t *indices;
    float *values;
    float *labels;            /* nrow */
    float *weights;           /* nrow, or NULL when the channel has no weights */
    size_t n_files;           /* files read (a channel may be a directory) */
    uint64_t bytes;           /* bytes read */
    size_t cap_rows, cap_nnz; /* private: allocation sizes */
} train_data;

typedef struct train_data_opts {
    train_data_format format; /* AUTO: decided per channel from its first file */
    int csv_weights;          /* the csv_weights=1 hyperparameter */
    uint64_t max_rows;        /* 0 = no limit */
} train_data_opts;

/*
 * Parse one whole buffer (name is used in messages: "train.csv: line 3, column 2: ...") and
 * append its rows to d; the first buffer fixes d->format (AUTO sniffs) and, for CSV, the
 * number of columns. Errors: a header row, ragged rows, a cell that is not a number, a
 * missing label, a bad LIBSVM token; each names the file, line and column.
 */
int train_data_parse(const char *buf, size_t len, const char *name, const train_data_opts *o,
                     train_data *d, smx_err *err);
/* Read a channel: a file, or every regular non-hidden file of a directory in name order. */
int train_data_load(const char *path, const train_data_opts *o, train_data *d, smx_err *err);
/* Release the feature buffers only (after the DMatrix has copied them); labels stay. */
void train_data_free_features(train_data *d);
void train_data_free(train_data *d);

/* ---- hyperparameters (hyperparams.c) ----------------------------------------------------- */

/* Hyperparameters as SageMaker passes them: names and string values. */
typedef struct train_hparams {
    compat_kv *v;
    size_t n;
} train_hparams;

/* Set key (klen bytes) to value; a later value replaces an earlier one. SMX_ENOMEM. */
int train_hparams_set(train_hparams *h, const char *key, size_t klen, const char *value,
                      smx_err *err);
/* Add the entries of hyperparameters.json at path: a JSON object whose every value is a
 * string, as SageMaker writes it. SMX_EIO (cannot open), SMX_EFORMAT, SMX_ENOMEM. */
int train_hparams_load(train_hparams *h, const char *path, smx_err *err);
void train_hparams_free(train_hparams *h);

/* Every hyperparameter name smxgb train accepts, for messages ("a, b, c"). */
const char *train_hyperparameter_names(void);
/*
 * Check hyperparameters as the container's validation does, plus what the container's
 * XGBoost (c->xgboost) and the loaded XGBoost (xgb_version) support: unknown names list the
 * valid ones; num_round is required; ranges, categories, objective/num_class and eval_metric
 * rules. Returns SMX_EINVAL with a message naming the hyperparameter.
 */
int train_validate(const compat_container *c, compat_version xgb_version, const compat_kv *hp,
                   size_t n, smx_err *err);

/* ---- the training loop (train.c) --------------------------------------------------------- */

/* One metric of one evaluation set in a round: "validation", "rmse", 0.123. */
typedef struct train_eval_metric {
    char set[32];
    char name[64];
    double value;
} train_eval_metric;

/* Called after each round with that round's metrics (none when there is nothing to
 * evaluate); return nonzero to stop training. */
typedef int (*train_round_fn)(void *ctx, int iter, int num_round, const train_eval_metric *m,
                              size_t n);

typedef struct train_opts {
    const compat_container *container;
    const compat_kv *hyperparameters; /* SageMaker names, string values (hp.json) */
    size_t n_hyperparameters;
    train_round_fn on_round;
    void *ctx;
    int check_rows; /* rows kept to compare the saved model; 0 = 1000 */
} train_opts;

typedef struct train_result {
    unsigned char *model; /* the file the container's training writes as xgboost-model */
    size_t model_len;
    const char *format;   /* "deprecated" (legacy binary) or "ubj" */
    int num_round;        /* requested */
    int rounds;           /* boosted */
    int best_iteration;   /* -1 without early stopping */
    int best_ntree_limit; /* 0 when not stored */
    double best_score;
    char objective[64];
    char metric[128]; /* the metric early stopping watched ("validation-auc") */
    uint64_t n_train, n_validation, num_feature;
    int compared_rows;  /* rows predicted by the saved model and the in-process booster */
    float max_abs_diff; /* largest difference between the two (0 = identical) */
} train_result;

/*
 * Train on train (and validation, which may be NULL) as the container's training does:
 * watchlist train then validation, early stopping on the last metric of the last set,
 * best_score/best_iteration (and best_ntree_limit where that container's XGBoost writes it)
 * stored as attributes; then serialize in the format that container's training writes, load
 * those bytes back and compare predictions with the in-process booster. Frees the feature
 * buffers of the data once the DMatrix has them.
 */
int train_run(compat_xgb *x, const train_opts *o, train_data *train, train_data *validation,
              train_result *r, smx_err *err);
void train_result_free(train_result *r);

/* ---- training for a container: train, package, verify (container.c) --------------------- */

/* The step train_for_container was at when it stopped. */
typedef enum train_stage {
    TRAIN_STAGE_OUTPUT,          /* the output cannot be written, or is an input */
    TRAIN_STAGE_RUNTIME,         /* loading libxgboost (or a wheel's) */
    TRAIN_STAGE_HYPERPARAMETERS, /* validating them, before any data is read */
    TRAIN_STAGE_DATA,            /* reading the channels */
    TRAIN_STAGE_TRAIN,           /* the rounds, saving the model, loading it back */
    TRAIN_STAGE_PACKAGE,         /* writing model.tar.gz */
    TRAIN_STAGE_VERIFY,          /* verify for the container */
    TRAIN_STAGE_WRITE            /* writing the verified artifact to the output */
} train_stage;

typedef struct train_job_opts {
    const char *train;      /* the train channel: a file or a directory */
    const char *validation; /* the validation channel, or NULL */
    const compat_container *container;
    const compat_kv *hyperparameters; /* SageMaker names, string values */
    size_t n_hyperparameters;
    train_data_format format;       /* AUTO: by extension, else from the first line */
    const char *xgboost_lib;        /* train with this libxgboost (NULL: $SMXGB_XGBOOST_LIB, else
                                       the container's cached runtime, else the system's) */
    const char *xgboost_wheel;      /* or with the libxgboost of this pip wheel; NULL if not */
    const char *output;             /* the model.tar.gz to write: checked before any work, written
                                       only once the artifact is verified; never one of the inputs */
    const char *const *also_inputs; /* other files the command reads (hyperparameters.json) */
    size_t n_also_inputs;
    int64_t mtime; /* the archive entries' mtime (SOURCE_DATE_EPOCH, or 0) */
    /* progress, each may be NULL: the channels are read (validation NULL when none); each
     * round; training is over (status SMX_OK or its failure), before packaging */
    void *ctx;
    void (*on_data)(void *ctx, const train_data *train, const train_data *validation,
                    double seconds);
    train_round_fn on_round;
    void (*on_trained)(void *ctx, int status);
} train_job_opts;

typedef struct train_job {
    train_stage stage;              /* where it stopped: the failed step, or the last one */
    char *xgboost;                  /* trained with: the wheel, or libxgboost's path */
    compat_version xgboost_version; /* its version */
    compat_evidence_kind evidence;  /* EXACT: the container's own version; STANDIN: another */
    char *runtime_why;              /* which XGBoost and why (compat_runtime_choose's words) */
    char *xgboost_log;              /* what XGBoost logged while training, "" if nothing */
    train_result result;
    double seconds_read, seconds_train;
    int identical;         /* the saved model predicts as the trained booster; when not, the
                              model is neither packaged nor verified */
    compat_report *report; /* verify for the container (NULL before) */
    int verified;          /* no error finding and the verdict for the container is ok; when
                              not, the output was not written (an existing file is kept) */
} train_job;

/*
 * Train for o->container as its training would (train_run), package the model and verify the
 * artifact for that container. Returns SMX_OK when job says how it went (identical, verified);
 * otherwise the status of the step that failed (job->stage), with err saying what failed.
 * Free job with train_job_free in either case.
 */
int train_for_container(const train_job_opts *o, train_job *job, smx_err *err);
void train_job_free(train_job *job);

#endif
