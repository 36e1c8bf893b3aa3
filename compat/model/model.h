/*
 * compat/model: what a model file is, who wrote it and what it predicts, without XGBoost.
 *
 * The bottom of compat: XGBoost versions and writer ranges (version.c); identification
 * (identify.c), which hands the bytes to one reader per format (binary.c, json.c, ubjson.c,
 * pickle.c, snapshot.c, wrapped.c, foreign.c), whole or as they stream (stream.c); the model
 * facts the readers extract (compat_model_info, built by info.c and doc.c); and the tree
 * evaluator, bit for bit XGBoost's arithmetic, proven against XGBoost where it predicts
 * (eval_build.c, eval.c, eval_prove.c), which is also the reference predictor of a parsed
 * model (predict.c). Nothing here loads libxgboost or knows about containers: the load rules
 * (compat/rules) and the runtime (compat/runtime) build on these facts.
 */
#ifndef SMXGB_COMPAT_MODEL_H
#define SMXGB_COMPAT_MODEL_H

#include "../../base/base.h"

#include <stddef.h>
#include <stdint.h>

/* ---- versions ---------------------------------------------------------------------------- */

typedef struct compat_version {
    int major, minor, patch; /* patch -1 = unknown */
} compat_version;

/* Parse "1.7.4", "1.7", "0.90" into v; returns 0 on success. */
int compat_version_parse(const char *s, compat_version *v);
/* <0, 0, >0; an unknown patch compares as 0. */
int compat_version_cmp(compat_version a, compat_version b);
/* Format as "1.7.4" (or "1.7" when patch is unknown); returns buf. */
const char *compat_version_str(compat_version v, char *buf, size_t n);

/* ---- model files: what a file is, who wrote it, what it needs (readers: one file each) --- */

typedef enum compat_format {
    COMPAT_FMT_UNKNOWN = 0,
    COMPAT_FMT_BINARY, /* legacy binary ("deprecated"), with or without the binf magic */
    COMPAT_FMT_JSON,   /* JSON model (save_model *.json) */
    COMPAT_FMT_UBJSON, /* UBJSON model */
    COMPAT_FMT_PICKLE, /* a Python pickle (the container tries pickle.load first) */
    COMPAT_FMT_JOBLIB, /* joblib-compressed pickle (zlib/gzip/bz2/lzma/lz4 wrapped) */
    COMPAT_FMT_FOREIGN /* recognisably something else: LightGBM, ONNX, sklearn, tar, gzip... */
} compat_format;

/* compat_model_info.objective_config */
enum {
    COMPAT_OBJCFG_UNREAD = 0, /* not read (a file read in part, an unparsable attribute) */
    COMPAT_OBJCFG_READ,       /* read: objective_params lists its members */
    COMPAT_OBJCFG_NONE        /* the file has none, so XGBoost reads none (a <= 0.90 binary, or
                                 a binary without the "objective" attribute) */
};

/* What the XGBoost bytes are (for a pickle: what its embedded payload is). */
typedef enum compat_payload {
    COMPAT_PAYLOAD_NONE = 0,
    COMPAT_PAYLOAD_BIN,         /* legacy binary model */
    COMPAT_PAYLOAD_JSON,        /* JSON model */
    COMPAT_PAYLOAD_UBJ,         /* UBJSON model */
    COMPAT_PAYLOAD_SNAP_CFGOFF, /* "CONFIG-offset:" memory snapshot (1.0-1.2) */
    COMPAT_PAYLOAD_SNAP_JSON,   /* JSON {"Config","Model"} snapshot (1.3-1.5) */
    COMPAT_PAYLOAD_SNAP_UBJ     /* UBJSON {"Config","Model"} snapshot (1.6+) */
} compat_payload;

const char *compat_format_name(compat_format f);
const char *compat_payload_name(compat_payload p);

typedef struct compat_kv {
    char *key, *value;
} compat_kv;

typedef struct compat_tree compat_tree; /* a parsed tree, for the reference predictor */

typedef struct compat_model_info {
    compat_format format;
    compat_payload payload;
    char detail[160]; /* e.g. "legacy binary with binf magic", "pickle protocol 4" */
    /* writer version: exact when stored (JSON/UBJ "version"), else a range */
    compat_version writer_min, writer_max; /* major -1 = unknown */
    int writer_exact;
    char writer_note[160]; /* how the version was inferred */
    /* learner */
    char objective[64];
    /* the objective's configuration: learner.objective of JSON/UBJSON, the JSON in a 1.0+
     * legacy binary's "objective" attribute; its member names other than "name" */
    int objective_config; /* COMPAT_OBJCFG_*: whether XGBoost reads one and whether we did */
    char **objective_params;
    size_t n_objective_params;
    char booster[16]; /* gbtree | dart | gblinear */
    int64_t num_feature, num_class, num_target;
    char base_score[128];     /* as stored ("5E-1", "[4.5E-1]", "0.5") */
    int base_score_array;     /* written as a JSON array string (3.1+) */
    int base_score_is_margin; /* <= 0.90 binary stores the margin */
    int boost_from_average;   /* -1 unknown */
    /* trees */
    int64_t num_trees;
    int64_t num_parallel_tree;
    int has_categorical;             /* any split_type == 1 / categories present */
    int64_t size_leaf_vector;        /* > 1: vector leaves (multi_output_tree) */
    int has_leaf_weights;            /* 3.2+ vector-leaf layout */
    int has_cats_container;          /* 3.1+ "cats" */
    int ubj_typed_f64, ubj_typed_i8; /* UBJ typed arrays '$D' (2.1+), '$i'/'$I' (3.0+) */
    int json_default_left_int;       /* 1.6+ writes default_left as integers */
    int json_has_split_type;         /* 1.3+ */
    int json_has_leaf_child_counts;  /* 1.0-1.2 */
    /* attributes and feature info */
    compat_kv *attrs;
    size_t n_attrs;
    char **feature_names, **feature_types;
    size_t n_feature_names, n_feature_types;
    /* pickles */
    int pickle_protocol;    /* 0 if not a pickle */
    char pickle_class[128]; /* the object pickled: "xgboost.core Booster", "xgboost.sklearn
                               XGBClassifier" */
    char **pickle_globals;  /* every module/class the pickle references */
    size_t n_pickle_globals;
    int pickle_is_booster;       /* the top-level object is an xgboost.core.Booster */
    int pickle_joblib_arrays;    /* joblib wrote numpy arrays inline: plain pickle.load fails */
    char joblib_compression[16]; /* "zlib", "gzip", "bz2", "xz", "lzma", "lz4" */
    /* foreign files */
    char foreign[128]; /* "LightGBM text model", "ONNX model", "scikit-learn pickle", ... */
    /* the model bytes XGBoost would receive (for a pickle: the payload), owned */
    unsigned char *payload_bytes; /* pickles and joblib files only; NULL: the file itself */
    size_t payload_len;
    /* parsed trees, for the reference predictor (NULL when not parsed) */
    compat_tree *trees;
    size_t n_tree_structs;
    float *linear_weights; /* gblinear: (num_feature + 1) x groups, bias last */
    size_t n_linear_weights;
    float *tree_weights;        /* dart weight_drop */
    int dart_weights_in_gbtree; /* 3.3+ DART: booster "gbtree" with a weight_drop array */
    int *tree_info;             /* group of each tree */
    /* problems: a known format whose bytes are truncated or corrupt */
    int corrupt;
    char problem[SMX_ERRMAX]; /* names the byte offset and what was expected */
    /*
     * Facts that could not be established: COMPAT_UNKNOWN_* bits, 0 when every fact above was
     * read from the bytes. A fact named here is not absent: its field holds whatever default
     * the reader started from, which must not be read as "the file does not use it". The
     * verdict engine judges a rule that depends on an unknown fact as unknown, never as not
     * applying. unknown_why says what was not read and why (a limit and its value).
     */
    unsigned unknown;
    char unknown_why[256];
} compat_model_info;

/* The facts of compat_model_info that a reader may be unable to establish. */
enum {
    COMPAT_UNKNOWN_WRITER = 1u << 0,   /* writer_min/writer_max/writer_exact */
    COMPAT_UNKNOWN_LEARNER = 1u << 1,  /* objective, booster, base_score, num_class/num_target */
    COMPAT_UNKNOWN_TREES = 1u << 2,    /* what the trees use: has_categorical, size_leaf_vector,
                                          has_leaf_weights, json_* field markers */
    COMPAT_UNKNOWN_ENCODING = 1u << 3, /* ubj_typed_f64, ubj_typed_i8 */
    COMPAT_UNKNOWN_PICKLE = 1u << 4,   /* the pickle's own facts: pickle_class,
                                          pickle_is_booster, pickle_protocol (its payload's
                                          facts are the bits above) */
    COMPAT_UNKNOWN_INTEGRITY = 1u << 5 /* corrupt: the bytes were not all checked */
};
/* The unknown facts in words ("writer, trees"), "" for none; returns buf. */
const char *compat_unknown_text(unsigned unknown, char *buf, size_t n);

/*
 * Is v inside the writer range of m? writer_min/writer_max are inclusive; a writer_max with
 * patch -1 means any patch of that minor (the binary header stores no patch), a major of -1
 * means unbounded on that side. 0 when nothing is known.
 */
int compat_version_in_writer_range(const compat_model_info *m, compat_version v);

/*
 * Who wrote m, as text (version.c). flags 0: "1.7.4" (stored), "1.7" (the binary header's
 * major.minor), "<=0.90", "1.3.0-1.5" (a range), "unknown" - a range's open end is left out
 * ("1.6.0" for 1.6+). COMPAT_WRITER_PREFIX: "XGBoost 1.7.4", "XGBoost <= 0.90", "an unknown
 * XGBoost" (in a sentence). COMPAT_WRITER_WORDS (with or without the prefix): open ends and
 * unstored patches in words, "1.6.0 or later", "0.90 or older", "1.7.x", "1.3.0 .. 1.5.x".
 * Returns buf.
 */
enum { COMPAT_WRITER_PREFIX = 1u << 0, COMPAT_WRITER_WORDS = 1u << 1 };
const char *compat_writer_text(const compat_model_info *m, char *buf, size_t n, unsigned flags);

/*
 * Identify model bytes and extract the facts above, without calling XGBoost. name is the
 * file name (the extension matters to XGBoost's own dispatch); limits guard allocations.
 * Returns SMX_OK with *out set for anything, recognised or not (info->format says which, and
 * info->corrupt/problem say what is wrong); SMX_ENOMEM otherwise.
 * Memory beyond buf: the compact trees, one tree's JSON document at a time (a JSON skeleton
 * of at most 64 MiB), and for joblib/gzip wrappers the inflated bytes (at most 100x the
 * compressed size, at least 64 MiB, at most 2 GiB). A corrupt model keeps its facts but not
 * its trees (trees NULL: the reference predictor refuses it).
 */
int compat_identify(const void *buf, size_t len, const char *name, compat_model_info **out,
                    smx_err *err);
void compat_model_info_free(compat_model_info *m);

/* ---- identifying a file as it streams (stream.c) ------------------------------------------ */

/*
 * For a file read in chunks (an archive entry). A file up to max_bytes is kept whole and
 * identified as by compat_identify; its bytes stay available (compat_model_stream_data) for a
 * real load. A larger one is "partial": not kept, but read as it streams by its format's
 * streaming reader (JSON, UBJSON, legacy binary, pickles and the Booster payload inside them),
 * which establishes the same facts as a whole read with memory bounded by a limit per tree and
 * by the size of what lies outside the trees (MDL_STREAM_* in model_private.h), never by the
 * file's size. A format without a streaming reader (compressed wrappers, foreign files) is
 * identified from its first head_bytes (0 = max_bytes) and last 64 KiB, and whatever that
 * cannot establish is named in info->unknown. So is anything a streaming reader could not
 * reach within its limits. One stream serves any number of files in turn.
 */
typedef struct compat_model_stream compat_model_stream;
int compat_model_stream_new(uint64_t max_bytes, uint64_t head_bytes, compat_model_stream **out,
                            smx_err *err);
/* Start the next file; size: its declared size, or -1 when unknown. */
void compat_model_stream_begin(compat_model_stream *s, int64_t size);
int compat_model_stream_feed(compat_model_stream *s, const void *buf, size_t len, smx_err *err);
/* Identify what was fed (SMX_OK with *out set, or SMX_ENOMEM). */
int compat_model_stream_identify(compat_model_stream *s, const char *name, compat_model_info **out,
                                 smx_err *err);
/* The bytes kept: the whole file unless partial (then its first head_bytes); valid until the
 * next begin. */
const void *compat_model_stream_data(const compat_model_stream *s, size_t *len);
int compat_model_stream_partial(const compat_model_stream *s);
uint64_t compat_model_stream_size(const compat_model_stream *s); /* bytes fed */
void compat_model_stream_free(compat_model_stream *s);

/* ---- the reference predictor (predict.c) ------------------------------------------------ */

/* Predictions: out receives malloc'd values, row-major, shape rows x cols (cols 1 for 1-D). */
typedef struct compat_pred {
    float *values;
    uint64_t rows, cols;
} compat_pred;
void compat_pred_free(compat_pred *p);

/*
 * Reference predictor: the tree evaluator below (gbtree/dart/gblinear, numeric and
 * categorical splits, every objective's transform) with the arithmetic of the XGBoost that
 * wrote m, on dense rows of ncol columns (NaN = missing; columns past ncol are missing).
 * out receives nrow x width values (width: 1, num_class or num_target).
 */
int compat_reference_predict(const compat_model_info *m, const float *X, size_t nrow, size_t ncol,
                             int iteration_end, compat_pred *out, smx_err *err);

/* Generate nrow deterministic test rows for m (NaN = missing; categorical features get small
 * integer categories). *X malloc'd, nrow x *ncol. */
int compat_gen_rows(const compat_model_info *m, size_t nrow, float **X, size_t *ncol, smx_err *err);

/* ---- the tree evaluator (eval_build.c, eval.c, eval_prove.c) -------------------------------- */

/*
 * One evaluator over a parsed model, built once and then used by any number of threads: it
 * follows the arithmetic of one XGBoost version bit for bit (float sums in tree order from the
 * base margin, that version's transforms) and allocates nothing per call. Built for gbtree and
 * dart (numeric and categorical splits, scalar or vector leaves) and gblinear; iteration
 * ranges as XGBoost's iteration_end. Whether it equals a given XGBoost is proven, not assumed:
 * see compat_eval_prove.
 */
typedef struct compat_eval compat_eval;

/* Which of XGBoost's prediction paths to follow: they differ for dart, whose in-place
 * prediction adds ((base + leaf) - base) * weight where a DMatrix adds leaf * weight. */
enum { COMPAT_EVAL_INPLACE = 0, COMPAT_EVAL_DMATRIX = 1 };

typedef struct compat_eval_opts {
    /* The XGBoost whose arithmetic to follow (its base-margin and sigmoid rules); all zero:
     * the writer's own version, as far as the file tells. */
    compat_version runtime;
    int iteration_end; /* the trees of the first iteration_end rounds; 0 = all */
    int margin;        /* 1: margins, no objective transform (output_margin) */
    int path;          /* COMPAT_EVAL_INPLACE or COMPAT_EVAL_DMATRIX */
} compat_eval_opts;

/*
 * Build the evaluator for m. SMX_EINVAL with the reason when m cannot be evaluated (corrupt or
 * not parsed, an objective whose transform is unknown, trees that are not trees, categories
 * XGBoost cannot hold, an iteration_end beyond the trees), SMX_ENOMEM. The evaluator does not
 * keep m.
 */
int compat_eval_new(const compat_model_info *m, const compat_eval_opts *o, compat_eval **out,
                    smx_err *err);
void compat_eval_free(compat_eval *e);
/* Values per row of the result (1, num_class or num_target; 1 for multi:softmax). */
size_t compat_eval_width(const compat_eval *e);
/* Columns a dense row needs: the model's num_feature, at least every split feature + 1. */
uint64_t compat_eval_cols(const compat_eval *e);
/* What was built, in a few words ("100 trees: 100 as complete trees of depth <= 6 ..."). */
const char *compat_eval_describe(const compat_eval *e);

/*
 * Evaluate nrow dense rows of ncol >= compat_eval_cols(e) floats (row-major, NaN = missing;
 * columns past num_feature are ignored) into out (nrow x width). No allocation, thread-safe.
 */
void compat_eval_dense(const compat_eval *e, const float *X, size_t nrow, size_t ncol, float *out);

/*
 * Evaluate nrow CSR rows (indptr nrow + 1 entries, NaN values = missing, indexes at or past
 * compat_eval_cols(e) ignored, as XGBoost's in-place CSR prediction does). work holds
 * compat_eval_csr_work(e) floats, all NaN, and is left so. SMX_EINVAL when a row repeats an
 * index (XGBoost's answer then depends on the duplicates' order and count: predict with
 * XGBoost); out is then incomplete.
 */
size_t compat_eval_csr_work(const compat_eval *e);
int compat_eval_csr(const compat_eval *e, const size_t *indptr, const uint32_t *indices,
                    const float *values, size_t nrow, float *work, float *out);

/*
 * The proof: evaluate generated rows with e and with an oracle (the runtime's XGBoost, given
 * as a function predicting dense rows of compat_eval_cols(e) columns) and compare every output
 * bit for bit. The rows hold, for every feature, each split threshold and the floats one ulp
 * either side of it, missing values, +-0, +-inf, large values, and for categorical splits
 * every category, unseen, negative, fractional and out-of-range ones. Rows with +-inf are a
 * separate batch: an oracle that refuses them (XGBoost through a DMatrix) leaves them
 * unproven, and out->inf_refused says so.
 */
typedef int (*compat_eval_oracle)(void *ctx, const float *X, size_t nrow, size_t ncol,
                                  const float **out, uint64_t shape[2], smx_err *err);
typedef struct compat_eval_proof {
    int proven;        /* every compared output equal bit for bit */
    size_t rows;       /* rows compared */
    size_t thresholds; /* distinct (feature, threshold) pairs covered */
    int inf_refused;   /* the oracle refused the rows with +-inf */
    char why[512];     /* not proven: the first difference, or why nothing was compared */
} compat_eval_proof;
int compat_eval_prove(const compat_eval *e, compat_eval_oracle oracle, void *ctx,
                      compat_eval_proof *out, smx_err *err);

#endif
