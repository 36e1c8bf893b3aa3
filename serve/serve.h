/*
 * serve: a SageMaker XGBoost container stand-in. It answers /ping, /execution-parameters and
 * /invocations byte for byte as the container's algorithm-mode Flask app does (see
 * container.md §2-§5), but in-process and without Python.
 *
 * Layers, bottom up:
 *   csv.c       the container's CSV rules (csv.Sniffer delimiter, "" and nan as missing)
 *   libsvm.c    the container's own libsvm splitter (indexes as-is, or the 3.x shift)
 *   recordio.c  RecordIO framing + the Record protobuf (protobuf-c), both directions
 *   encode.c    response bodies: text/csv, JSON, JSON lines, RecordIO-protobuf, selectable output
 *   model.c     model selection and loading per container version
 *   fast.c      which predictor serves a file: smxgb's evaluator when proven at load, else XGBoost
 *   predict.c   prediction as the container does it, ensemble average or vote
 *   app.c       routing, status codes, error texts: a pure function of a request (fuzzable)
 *   conns.c     the connection table: request-head deadlines, a reserve of free slots
 *   server.c    libmicrohttpd around app.c: threads, limits, access log, graceful shutdown
 *
 * Python's repr() and float() of a double come from base/ (smx_pyrepr, smx_pyfloat_parse).
 * Decoders parse straight into reusable buffers (serve_matrix); nothing here prints.
 */
#ifndef SMXGB_SERVE_H
#define SMXGB_SERVE_H

#include "../compat/compat.h"

#include <stddef.h>
#include <stdint.h>

/* ---- decoded requests -------------------------------------------------------------------- */

/* A request matrix: dense row-major floats or CSR. Buffers are reused across requests. */
typedef struct serve_matrix {
    int sparse;
    uint64_t nrow, ncol;
    float *x; /* dense: nrow * ncol */
    size_t x_cap;
    size_t *indptr; /* sparse: nrow + 1 */
    size_t indptr_cap;
    uint32_t *indices;
    float *values;
    size_t nnz, nz_cap, val_cap;
    /* decoder scratch */
    void *scratch;
    size_t scratch_cap;
    void *scratch2;
    size_t scratch2_cap;
} serve_matrix;

void serve_matrix_free(serve_matrix *m);

/* A decoder failure as the container reports it: Python exception class and text. */
typedef struct serve_derr {
    const char *pytype; /* "<class 'ValueError'>" */
    char msg[SMX_ERRMAX];
} serve_derr;

/* text/csv body (the container's csv_to_dmatrix). */
int serve_csv_decode(const char *buf, size_t len, serve_matrix *m, serve_derr *de);
/* text/libsvm body; shift: 3.x rule (indexes shifted by -1 when the minimum is >= 1). */
int serve_libsvm_decode(const char *buf, size_t len, int shift, serve_matrix *m, serve_derr *de);
/* application/x-recordio-protobuf body: features["values"], dense or sparse tensors. */
int serve_recordio_decode(const char *buf, size_t len, serve_matrix *m, serve_derr *de);

/* ---- RecordIO-protobuf output ------------------------------------------------------------ */

/* One label entry of a Record: key -> float32 tensor values. */
typedef struct serve_rio_label {
    const char *key;
    const float *values;
    size_t n;
} serve_rio_label;

/* Append the protobuf bytes of Record{label: entries} (no framing) to out. */
int serve_rio_record(const serve_rio_label *labels, size_t n, smx_buf *out);
/* Append one RecordIO frame (magic, length, data, zero padding to 4 bytes). */
int serve_rio_frame(const void *data, size_t len, smx_buf *out);

/* ---- the model --------------------------------------------------------------------------- */

typedef struct serve_model serve_model;

typedef struct serve_model_opts {
    const compat_container *container; /* NULL = default (1.7-1) */
    const char *ensemble_env;          /* SAGEMAKER_INFERENCE_ENSEMBLE, NULL = unset */
    const char *xgboost_lib;           /* NULL = system libxgboost */
} serve_model_opts;

/*
 * Load the model directory dir exactly as the container version lists and loads it
 * (os.listdir order, regular files, dotfiles per version, ensemble or the first file).
 * On failure err->msg is the container's own error text (what /invocations would say after
 * "Unable to load model: ", or what kills the worker at boot).
 */
int serve_model_load(const char *dir, const serve_model_opts *o, serve_model **out, smx_err *err);
void serve_model_free(serve_model *m);
const char *serve_model_objective(const serve_model *m);
int serve_model_num_class(const serve_model *m);
size_t serve_model_count(const serve_model *m);
/* The XGBoost the model was loaded with. */
const compat_xgb *serve_model_runtime(const serve_model *m);
/* The file loaded as the i-th booster. */
const char *serve_model_file(const serve_model *m, size_t i);
uint64_t serve_model_num_feature(const serve_model *m, size_t i);
int serve_model_iteration_end(const serve_model *m, size_t i);
/* Which predictor the i-th file uses: "smxgb's evaluator (...)" when it was proven at load to
 * give XGBoost's bits, else "XGBoost's predictor: <why>". */
const char *serve_model_predictor(const serve_model *m, size_t i);

/* Per-thread buffers for predict; zero-initialise, free with serve_scratch_free. */
typedef struct serve_scratch {
    serve_matrix m;
    float *pad; /* dense input widened to the model's feature count */
    size_t pad_cap;
    float *acc; /* ensemble results */
    size_t acc_cap;
    float *tmp;
    size_t tmp_cap;
    float *pred; /* the evaluator's predictions */
    size_t pred_cap;
    float *work; /* the evaluator's CSR rows: all NaN between requests */
    size_t work_cap;
    smx_buf ct; /* the response's Content-Type when it is not a constant */
} serve_scratch;
void serve_scratch_free(serve_scratch *s);

/* Predictions: rows x cols (cols 1 unless multi:softprob etc.). Points into scratch or into
 * XGBoost's thread-local buffer: valid until the next prediction on this thread. */
typedef struct serve_pred {
    const float *v;
    uint64_t rows, cols;
} serve_pred;

/*
 * Predict on m (in s->m or elsewhere) as the container does: feature checks of pickled
 * models, best_ntree_limit, ensemble average or vote. On failure err->msg is the text that
 * follows "Unable to evaluate payload provided: ".
 */
int serve_model_predict(serve_model *model, const serve_matrix *m, serve_scratch *s, int csv_like,
                        serve_pred *out, smx_err *err);

/* ---- the application (routing, status codes, bodies) ------------------------------------ */

typedef struct serve_app serve_app;

typedef struct serve_app_opts {
    const compat_container *container; /* NULL = default */
    const char *const *env;            /* "KEY=VALUE", later entries win */
    size_t n_env;
    int cpu_count; /* for /execution-parameters; 0 = this machine's */
} serve_app_opts;

/*
 * Create the app over an already loaded model (model may be NULL together with
 * load_error: then /invocations answers 500 "Unable to load model: <load_error>", as the
 * lazily loading container versions do). The app does not own the model.
 */
int serve_app_new(const serve_app_opts *o, serve_model *model, const char *load_error,
                  serve_app **out, smx_err *err);
void serve_app_free(serve_app *a);
uint64_t serve_app_max_content_length(const serve_app *a);

typedef struct serve_request {
    const char *method;
    const char *path;         /* without the query string */
    const char *content_type; /* NULL = header absent */
    const char *accept;       /* NULL = header absent */
    const char *body;
    size_t body_len;
} serve_request;

typedef struct serve_response {
    int status;
    const char *content_type; /* NULL = none */
    const char *allow;        /* Allow header for 405 / OPTIONS, else NULL */
    const char *body;         /* static text or out->data */
    size_t body_len;
} serve_response;

/* Does a request to path with this method read the body (only POST /invocations does)? */
int serve_app_reads_body(const char *method, const char *path);

/* The 413 answer (body larger than MAX_CONTENT_LENGTH). */
void serve_app_too_large(serve_response *rs);
/* The 400 answer to a request whose body cannot be framed safely: Content-Length given twice
 * with different values (a request-smuggling pattern; the HTTP library would take the first). */
void serve_app_bad_framing(serve_response *rs);

/*
 * Answer one request. The body of the response is static or written into out (cleared
 * first). Thread-safe: each thread brings its own scratch and out.
 */
void serve_app_handle(serve_app *a, const serve_request *rq, serve_scratch *s, smx_buf *out,
                      serve_response *rs);

/* ---- the HTTP server --------------------------------------------------------------------- */

typedef struct serve_server_opts {
    const char *host; /* "127.0.0.1" */
    unsigned port;    /* 0 = any free port */
    unsigned workers; /* threads */
    unsigned timeout; /* seconds: connection idle/read timeout (0 = 60) */
    /* seconds a connection has to complete a request head, from its accept or its previous
     * answer (0 = 20, or timeout when shorter) */
    unsigned head_timeout;
    /* connections open at once (0 = 4096; lowered to what the open-file limit allows); when
     * nearly all are taken, the ones that have waited longest for a request head are closed */
    unsigned max_connections;
    /* access log: called once per request with a line (no newline); NULL = none */
    void (*log)(void *ctx, const char *line);
    /* called once listening, with the bound port */
    void (*on_listen)(void *ctx, unsigned port);
    void *ctx;
} serve_server_opts;

/*
 * Serve app until SIGTERM, SIGINT or SIGHUP: stop accepting, let in-flight requests finish,
 * return SMX_OK. Each answered request is reported to o->log (method, path, status, bytes, us).
 * When a stop was asked for before (see serve_stop_signals_install), returns SMX_OK at once.
 */
int serve_server_run(serve_app *a, const serve_server_opts *o, smx_err *err);

/*
 * Route SIGTERM, SIGINT and SIGHUP (unless SIGHUP is ignored, as under nohup) to a graceful
 * stop from now on, instead of their default of killing the process. Call it before the work
 * that precedes serving (extracting the artifact, loading the model) so that a stop asked for
 * then does not leave that work's files behind: serve_stop_requested() tells, and
 * serve_server_run returns at once. serve_server_run installs them itself when the caller did
 * not (and then restores them); a caller that installed them restores them.
 */
int serve_stop_signals_install(smx_err *err);
int serve_stop_requested(void);
void serve_stop_signals_restore(void);

#endif
