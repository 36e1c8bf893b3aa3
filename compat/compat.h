/*
 * compat: whether the SageMaker XGBoost containers load a model artifact, and load it right.
 *
 * The public header of compat, which has three parts, each with its own header:
 *   model/model.h      what a model file is, who wrote it, what it needs; the reference
 *                      predictor (no XGBoost, no container knowledge);
 *   rules/rules.h      the container table, the image URIs, the load rules and verdicts;
 *   runtime/runtime.h  XGBoost itself (dlopen), wheels, real loads in a helper process.
 * This header adds verify (verify.c), which puts them together over one streaming read of
 * an artifact: the archive scan, identification of each top-level file, each container's
 * listing and load rules, and a real load; and training for a container (traindata.c,
 * train.c).
 */
#ifndef SMXGB_COMPAT_H
#define SMXGB_COMPAT_H

#include "../artifacts/artifacts.h"
#include "model/model.h"
#include "rules/rules.h"
#include "runtime/runtime.h"

#include <stddef.h>
#include <stdint.h>

/* ---- verify: an artifact checked against container versions ----------------------------- */

typedef struct compat_model {
    size_t entry;            /* index into scan->entries */
    compat_model_info *info; /* NULL if it could not be identified (see error) */
    int partial;             /* identified from its head and tail only (a large file) */
    uint64_t bytes;          /* its size */
    compat_loadcheck load;   /* the load check with the runtime */
    char error[SMX_ERRMAX];
} compat_model;

typedef struct compat_finding {
    artifact_finding f;  /* owned */
    uint64_t containers; /* bit i = i-th container of the report; 0 = about the archive itself */
} compat_finding;

typedef struct compat_result {
    const compat_container *c;
    artifact_layout_rules rules; /* as applied (ensemble after the environment) */
    int layout_errors;           /* error findings about the archive or this container's layout */
    size_t *loads;               /* entry indexes this container would load, archive order */
    size_t n_loads;
    /* the verdict for the model entries it loads (see compat_judge) */
    int verdict; /* compat_verdict */
    struct compat_reason *reasons;
    size_t n_reasons;
    char *hint; /* NULL when ok */
} compat_result;

typedef struct compat_report {
    artifact_scan *scan;
    compat_finding *findings;
    size_t n_findings;
    compat_result *results;
    size_t n_results;
    size_t n_errors, n_warnings;
    compat_model *models; /* the top-level files, identified (and load-checked) */
    size_t n_models;
    char *runtime; /* the XGBoost used for load checks ("1.7.4 (path)"), or NULL */
} compat_report;

typedef struct compat_verify_opts {
    const char *const *containers; /* tags or image tags; n_containers 0 = every version */
    size_t n_containers;
    const char *const *env; /* "KEY=VALUE" as the endpoint would set them */
    size_t n_env;
    artifact_limits limits;
    /* load checks: every identified model is loaded in a child process by this XGBoost */
    int no_load_check;       /* skip them */
    const char *xgboost_lib; /* NULL: $SMXGB_XGBOOST_LIB, else the system libxgboost */
    uint64_t load_max_bytes; /* models larger than this are identified from their first and
                                last bytes only and not loaded; 0 = COMPAT_IDENTIFY_MAX */
    const char *display;     /* the artifact as the user named it (hints); NULL = path */
} compat_verify_opts;

/* Look up KEY in a "KEY=VALUE" list (last one wins); NULL if absent. */
const char *compat_env_get(const char *const *env, size_t n, const char *key);

/*
 * Check the artifact at path: the archive, then each container's layout. Returns SMX_OK with
 * *out set whenever the file could be read (the report says what is wrong with it); SMX_EINVAL
 * for an unknown container tag; SMX_EIO if it cannot be read.
 */
int compat_verify(const char *path, const compat_verify_opts *o, compat_report **out, smx_err *err);
void compat_report_free(compat_report *r);

#define COMPAT_IDENTIFY_MAX (32ull << 20) /* larger: identified from their head and tail */

/* The identified model for entry index `entry` of the report, or NULL. */
const compat_model *compat_report_model(const compat_report *r, size_t entry);

/* ---- training data: the container's CSV and LIBSVM channels (traindata.c) ---------------- */

typedef enum compat_data_format {
    COMPAT_DATA_AUTO = 0, /* by extension, else sniffed from the first line */
    COMPAT_DATA_CSV,      /* label first, no header; csv_weights=1: label,weight,features */
    COMPAT_DATA_LIBSVM    /* "label[:weight] idx:value ..." */
} compat_data_format;

/* "text/csv", "csv", "text/libsvm", "libsvm", ... -> format; -1 if not a content type we read. */
int compat_data_format_parse(const char *content_type);
const char *compat_data_format_name(compat_data_format f);

typedef struct compat_train_data {
    compat_data_format format;
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
} compat_train_data;

typedef struct compat_data_opts {
    compat_data_format format; /* AUTO: decided per channel from its first file */
    int csv_weights;           /* the csv_weights=1 hyperparameter */
    uint64_t max_rows;         /* 0 = no limit */
} compat_data_opts;

/*
 * Parse one whole buffer (name is used in messages: "train.csv: line 3, column 2: ...") and
 * append its rows to d; the first buffer fixes d->format (AUTO sniffs) and, for CSV, the
 * number of columns. Errors: a header row, ragged rows, a cell that is not a number, a
 * missing label, a bad LIBSVM token; each names the file, line and column.
 */
int compat_data_parse(const char *buf, size_t len, const char *name, const compat_data_opts *o,
                      compat_train_data *d, smx_err *err);
/* Read a channel: a file, or every regular non-hidden file of a directory in name order. */
int compat_data_load(const char *path, const compat_data_opts *o, compat_train_data *d,
                     smx_err *err);
/* Release the feature buffers only (after the DMatrix has copied them); labels stay. */
void compat_data_free_features(compat_train_data *d);
void compat_data_free(compat_train_data *d);

/* ---- training for a container (train.c) ------------------------------------------------ */

typedef struct compat_kv compat_kv; /* defined with the model facts below */

/* One metric of one evaluation set in a round: "validation", "rmse", 0.123. */
typedef struct compat_eval_metric {
    char set[32];
    char name[64];
    double value;
} compat_eval_metric;

/* Called after each round with that round's metrics (none when there is nothing to
 * evaluate); return nonzero to stop training. */
typedef int (*compat_train_eval_fn)(void *ctx, int iter, int num_round, const compat_eval_metric *m,
                                    size_t n);

typedef struct compat_train_opts {
    const compat_container *container;
    const compat_kv *hyperparameters; /* SageMaker names, string values (hp.json) */
    size_t n_hyperparameters;
    compat_train_eval_fn on_round;
    void *ctx;
    int check_rows; /* rows kept to compare the saved model; 0 = 1000 */
} compat_train_opts;

typedef struct compat_train_result {
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
} compat_train_result;

/* Every hyperparameter name smxgb train accepts, for messages ("a, b, c"). */
const char *compat_train_hyperparameter_names(void);
/*
 * Check hyperparameters as the container's validation does, plus what the container's
 * XGBoost (c->xgboost) and the loaded XGBoost (xgb_version) support: unknown names list the
 * valid ones; num_round is required; ranges, categories, objective/num_class and eval_metric
 * rules. Returns SMX_EINVAL with a message naming the hyperparameter.
 */
int compat_train_validate(const compat_container *c, compat_version xgb_version,
                          const compat_kv *hp, size_t n, smx_err *err);
/*
 * Train on train (and validation, which may be NULL) as the container's training does:
 * watchlist train then validation, early stopping on the last metric of the last set,
 * best_score/best_iteration (and best_ntree_limit where that container's XGBoost writes it)
 * stored as attributes; then serialize in the format that container's training writes, load
 * those bytes back and compare predictions with the in-process booster. Frees the feature
 * buffers of the data once the DMatrix has them.
 */
int compat_train(compat_xgb *x, const compat_train_opts *o, compat_train_data *train,
                 compat_train_data *validation, compat_train_result *r, smx_err *err);
void compat_train_result_free(compat_train_result *r);

#endif
