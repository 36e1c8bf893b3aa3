/*
 * Private to compat/model: what its files share, every name prefixed mdl_ (MDL_ for
 * constants). Three layers, each using only the ones above it in this header:
 *   - the model-info builder (info.c): helpers that fill a compat_model_info;
 *   - the document view (doc.c): JSON and UBJSON models have the same schema, so both readers
 *     hand a small read-only view (mdl_doc) to mdl_doc_extract, which reads facts and trees once;
 *   - the format table: each format file exposes mdl_format entries {name, sniff, read}, and
 *     identify.c tries them in order. A reader that finds bytes inside bytes (a pickle's
 *     payload, a compressed wrapper's content) identifies them through the mdl_ctx it was
 *     given, so no reader calls the dispatcher and no file calls back into one that calls it.
 */
#ifndef SMXGB_COMPAT_MODEL_PRIVATE_H
#define SMXGB_COMPAT_MODEL_PRIVATE_H

#include "model.h"

/* A parsed tree, compact: what the reference predictor needs and nothing else. */
struct compat_tree {
    int32_t n_nodes;
    int32_t *left, *right; /* -1 = leaf */
    uint32_t *split_index; /* feature */
    float *split_cond;     /* threshold; the leaf value for scalar leaves */
    uint8_t *default_left;
    uint8_t *is_cat;    /* NULL when the tree has no categorical split */
    int64_t *cat_begin; /* per node: offset into cats (categorical nodes only) */
    int32_t *cat_size;  /* per node: number of categories that go right */
    int32_t *cats;      /* category values */
    size_t n_cats;
    int32_t leaf_size; /* > 1: vector leaves, values in leaf_vec */
    float *leaf_vec;   /* n_nodes x leaf_size */
};

/* Limits every reader enforces while parsing (never trusting a length field). */
enum {
    MDL_MAX_DEPTH = 128,      /* nesting of JSON/UBJSON containers */
    MDL_MAX_STRING = 1 << 20, /* objective, attribute values, feature names */
    MDL_MAX_TREES = 1 << 24,
    MDL_MAX_NODES = 1 << 28, /* per tree */
    MDL_MAX_WRAP_DEPTH = 4   /* pickles nested in joblib/gzip wrappers */
};

/* Largest JSON text (or JSON skeleton, trees cut out) parsed into one jansson document, which
 * holds ~10x the text; bigger ones get the learner facts without trees. */
#define MDL_JSON_DOM_MAX ((size_t)64 << 20)

/* Streaming readers (files too large to keep whole): the largest tree kept to be parsed on its
 * own, and the largest skeleton (the document with the trees' contents cut out, and strings
 * longer than MDL_MAX_STRING cut to just over it) kept to be parsed at the end. What lies
 * beyond them is reported unknown, never guessed. */
#define MDL_STREAM_TREE_MAX ((size_t)16 << 20)
#define MDL_STREAM_SKEL_MAX ((size_t)16 << 20)

/* ---- the model-info builder (info.c) ------------------------------------------------------ */

compat_model_info *mdl_info_new(void);
void mdl_clear_trees(compat_model_info *m);
/* Mark the bytes corrupt (first problem wins); always returns SMX_EFORMAT. */
int mdl_corrupt(compat_model_info *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mdl_prefix_problem(compat_model_info *m, const char *prefix);
void mdl_detail(compat_model_info *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mdl_note(compat_model_info *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mdl_add_attr(compat_model_info *m, const char *k, size_t kl, const char *v, size_t vl);
int mdl_add_str(char ***v, size_t *n, const char *s, size_t len);
void mdl_set_writer(compat_model_info *m, compat_version lo, compat_version hi, int exact);
/* Facts (COMPAT_UNKNOWN_* bits) that could not be established, and why (the first reason
 * is kept). */
void mdl_unknown(compat_model_info *m, unsigned facts, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Free one parsed tree's arrays (not the struct). */
void mdl_tree_free(compat_tree *t);
/* Size tr for n nodes with leaf vectors of slv values (slv <= 1: scalar leaves) and allocate its
 * node arrays (children, split features, thresholds, default directions): SMX_ENOMEM or SMX_OK.
 * What was allocated is freed with the tree. */
int mdl_tree_alloc(compat_tree *tr, size_t n, int64_t slv);
void mdl_copy(char *dst, size_t cap, const char *s, size_t len);
/* Recognisably not an XGBoost model: format FOREIGN, what it is in foreign and detail. */
void mdl_foreign(compat_model_info *m, const char *what);

/* ---- a read-only document view shared by the JSON and UBJSON readers --------------------- */

typedef enum { MDL_NULL, MDL_BOOL, MDL_INT, MDL_REAL, MDL_STR, MDL_ARR, MDL_OBJ } mdl_kind;

typedef struct mdl_doc mdl_doc;
typedef const void *mdl_node;

struct mdl_doc {
    const void *ctx;
    mdl_kind (*kind)(const mdl_doc *d, mdl_node n);
    mdl_node (*get)(const mdl_doc *d, mdl_node obj, const char *key);
    size_t (*size)(const mdl_doc *d, mdl_node n); /* array length or object member count */
    mdl_node (*at)(const mdl_doc *d, mdl_node arr, size_t i); /* NULL for typed-array elements */
    /* numeric array element (ints, reals, booleans as 0/1); 0 on success */
    int (*num_at)(const mdl_doc *d, mdl_node arr, size_t i, double *out);
    int (*num)(const mdl_doc *d, mdl_node n, double *out); /* number, bool, or numeric string */
    const char *(*str)(const mdl_doc *d, mdl_node n, size_t *len); /* NULL if not a string */
    /* object member i: key (not NUL-terminated) and value */
    mdl_node (*member)(const mdl_doc *d, mdl_node obj, size_t i, const char **key, size_t *klen);
    /* is this array's element kind boolean (1), integer (2), other (0)? checks element 0 */
    int (*elem_kind)(const mdl_doc *d, mdl_node arr);
    /* Optional: the gbtree "trees" kept out of the document and parsed one at a time (JSON),
     * so memory holds one tree's document, not all of them. ext_tree returns SMX_OK, the
     * tree's node and the view to read it with (*td), or a status (and m->problem); ext_free
     * releases it. */
    size_t n_ext;
    int (*ext_tree)(const mdl_doc *d, size_t i, const mdl_doc **td, mdl_node *out,
                    compat_model_info *m);
    void (*ext_free)(const mdl_doc *d, mdl_node n);
    /* Optional: byte offset of a node in the input, (size_t)-1 if unknown. */
    size_t (*offset)(const mdl_doc *d, mdl_node n);
    /* Set by a streaming reader: the n_ext trees were read one at a time as they streamed
     * (mdl_doc_tree) and are not kept; the document's "trees" is empty. */
    int streamed;
};

/* Extract everything from a model document (root = {"learner":..,"version":..}) or a
 * snapshot ({"Config":..,"Model":..}); ubj says which encoding (for m->payload). Returns
 * SMX_OK, MDL_NOT_XGBOOST when the document has neither shape, SMX_EFORMAT, SMX_ENOMEM. */
#define MDL_NOT_XGBOOST (-1)
int mdl_doc_extract(const mdl_doc *d, mdl_node root, compat_model_info *m, int ubj);
/* One tree of a document read as it streams (t: its index in "trees"): its facts go into m
 * and it is validated as a whole read validates it, then dropped. SMX_OK, SMX_EFORMAT
 * (m->problem), SMX_ENOMEM. */
int mdl_doc_tree(const mdl_doc *d, mdl_node tn, size_t t, compat_model_info *m);
/* A "version" member's value [major, minor, patch], plausible numbers; 0 or -1. */
int mdl_doc_version(const mdl_doc *d, mdl_node v, compat_version *out);
/* The tail of a file read in part: the "version" [M, m, p] that ends a JSON or UBJSON model,
 * given the document view that parsed it. Sets m's writer (exact) and note; 0, or -1. */
int mdl_doc_tail_version(const mdl_doc *d, mdl_node v, compat_model_info *m);

/* ---- documents cut as they stream (split.c), for the JSON and UBJSON streaming readers ---- */

/* The skeleton (the document without its trees' contents), the tree being read, and where
 * bytes were cut out of the skeleton. The tokenizer hands every byte to one of the three. */
typedef struct mdl_split {
    compat_model_info *m;
    smx_buf skel;
    struct mdl_cut {
        size_t at;  /* skeleton position the bytes were cut before */
        uint64_t n; /* how many */
    } * cuts;
    size_t n_cuts, cap_cuts;
    smx_buf tree;
    uint64_t tree_off; /* file offset of the tree being read */
    size_t n_trees;    /* trees ended so far */
    int tree_over, skel_over, enomem;
} mdl_split;

void mdl_split_skel(mdl_split *s, const void *p, size_t n); /* bytes of the skeleton */
void mdl_split_cut(mdl_split *s, uint64_t n);               /* bytes left out of it */
void mdl_split_tree_begin(mdl_split *s, uint64_t off);
void mdl_split_tree(mdl_split *s, const void *p, size_t n); /* bytes of the current tree */
/* The tree is complete: parse it (unless it was over the limit, or a problem was found
 * already). SMX_OK or SMX_ENOMEM. */
int mdl_split_tree_end(mdl_split *s, int (*parse)(mdl_split *s, unsigned char *b, size_t n));
/* The file offset of skeleton position pos. */
uint64_t mdl_split_offset(const mdl_split *s, size_t pos);
void mdl_split_free(mdl_split *s);

/* ---- the format table (identify.c) -------------------------------------------------------- */

typedef struct mdl_ctx mdl_ctx;

/*
 * A reader of a file too large to keep whole: it gets the bytes in order, in chunks of any
 * size, keeps bounded state, and puts facts and problems into the compat_model_info it was
 * opened with, as the format's whole read would (without the parsed trees). feed returns
 * SMX_OK or SMX_ENOMEM; end (the bytes are over) SMX_OK, SMX_ENOMEM, or MDL_NOT_XGBOOST for
 * well-formed bytes that are not an XGBoost model. What it cannot establish within its limits
 * it names with mdl_unknown.
 */
typedef struct mdl_sreader mdl_sreader;
struct mdl_sreader {
    int (*feed)(mdl_sreader *r, const unsigned char *b, size_t n);
    int (*end)(mdl_sreader *r);
    void (*free)(mdl_sreader *r);
};
#define MDL_SIZE_UNKNOWN UINT64_MAX

/* Where the bytes a reader gets sit, and how it identifies bytes it finds inside them. */
struct mdl_ctx {
    int depth; /* compressed wrappers around these bytes */
    /* What a pickle's embedded bytes are: a model or a memory snapshot (m->payload), else
     * m->payload NONE. Returns SMX_OK, SMX_EFORMAT (m->problem), SMX_ENOMEM. */
    int (*payload)(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m);
    /* What the content of a compressed wrapper is: the whole table, one level deeper. */
    int (*inner)(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m);
    /* The same as payload for embedded bytes too large to keep: a streaming reader for the
     * payload format the first bytes head[0..n) sniff as (size: all of the embedded bytes),
     * or *out NULL when none sniffs or that format cannot be streamed. SMX_OK or SMX_ENOMEM. */
    int (*payload_stream)(const mdl_ctx *c, const unsigned char *head, size_t n, uint64_t size,
                          compat_model_info *m, mdl_sreader **out);
};

/*
 * One recognisable form of file. sniff looks at the first bytes only (and never past len);
 * read fills m (format, facts, corrupt/problem) and returns SMX_OK, SMX_EFORMAT when the bytes
 * are this format but broken, SMX_ENOMEM, or MDL_NOT_XGBOOST when they are well-formed but not
 * an XGBoost model; then the file is `other` (foreign). An entry without read is always
 * `other`. Entries are written with designated initializers: the optional members stay NULL.
 */
typedef struct mdl_format {
    const char *name;
    int (*sniff)(const unsigned char *b, size_t len);
    int (*read)(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m);
    const char *other;
    /* Optional, for a file too large to read whole (stream.c): what its last bytes t[0..n)
     * say; for JSON and UBJSON the stored "version" (the writer) that ends the model. */
    int (*tail)(const unsigned char *t, size_t n, compat_model_info *m);
    /* Optional: a streaming reader for a file of this format of `size` bytes
     * (MDL_SIZE_UNKNOWN when not known in advance); SMX_OK or SMX_ENOMEM. */
    int (*stream)(const mdl_ctx *c, uint64_t size, compat_model_info *m, mdl_sreader **out);
} mdl_format;

extern const mdl_format mdl_binary;          /* binary.c: legacy binary, "binf" or magic-less */
extern const mdl_format mdl_json;            /* json.c: a '{' file */
extern const mdl_format mdl_json_payload;    /* json.c: '{' then '"' or '}' (inside a pickle) */
extern const mdl_format mdl_ubjson;          /* ubjson.c */
extern const mdl_format mdl_snapshot_cfgoff; /* snapshot.c: "CONFIG-offset:" (1.0-1.2) */
extern const mdl_format mdl_pickle;          /* pickle.c: protocol 2+ (PROTO opcode) */
extern const mdl_format mdl_pickle_text;     /* pickle.c: what may be a protocol 0/1 pickle */
extern const mdl_format mdl_wrapped_gzip;    /* wrapped.c */
extern const mdl_format mdl_wrapped_zlib;    /* wrapped.c: joblib's zlib */
extern const mdl_format mdl_wrapped_zf;      /* wrapped.c: joblib < 0.10 "ZF0x" zlib */
extern const mdl_format mdl_wrapped_other;   /* wrapped.c: bz2, xz, lzma, lz4, zstd (not opened) */
extern const mdl_format mdl_foreign_tar, mdl_foreign_zip, mdl_foreign_lightgbm, mdl_foreign_dump,
    mdl_foreign_catboost, mdl_foreign_onnx, mdl_foreign_appledouble; /* foreign.c */

/* compat_identify, and the entry that recognised the bytes (NULL: none did). */
int mdl_identify_file(const void *buf, size_t len, const char *name, compat_model_info **out,
                      const mdl_format **matched, smx_err *err);
/* The entry whose sniff recognises the first bytes head[0..n) of a file (NULL: none), and,
 * when it can stream, its streaming reader into m (else *out NULL). SMX_OK or SMX_ENOMEM. */
int mdl_stream_open(const unsigned char *head, size_t n, uint64_t size, compat_model_info *m,
                    const mdl_format **matched, mdl_sreader **out);

/* ubjson.c: the UBJSON parser, for ubjstream.c (the format's entry and streaming reader). The
 * whole read; the tail reader (mdl_format.tail); and one part of a file cut as it streams:
 * a tree (its facts into m), or the skeleton, whose "trees" were read already
 * (SKELETON_STREAMED) or never found (SKELETON). Offsets in messages are the file's. */
enum { MDL_UBJ_TREE, MDL_UBJ_SKELETON, MDL_UBJ_SKELETON_STREAMED };
int mdl_ubj_read(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m);
int mdl_ubj_tail(const unsigned char *t, size_t n, compat_model_info *m);
int mdl_ubj_sniff(const unsigned char *b, size_t len);
int mdl_ubj_part(const unsigned char *b, size_t len, const mdl_split *sp, int what,
                 compat_model_info *m);

/* ---- pickles: the opcode scanner (pickle_scan.c), for the whole read and the streaming
 * read of pickle.c ------------------------------------------------------------------------- */

/* What a string opcode pushed: IT_RAWUNI protocol 0 'V' (raw-unicode-escape), IT_QSTR
 * protocol 0 'S' (a quoted repr). */
enum { MDL_IT_NONE, MDL_IT_STR, MDL_IT_BYTES, MDL_IT_UNICODE, MDL_IT_RAWUNI, MDL_IT_QSTR };
/* mdl_pk_scan's results besides SMX_EFORMAT (m->problem) and SMX_ENOMEM */
enum {
    MDL_PK_DONE = 0,    /* STOP */
    MDL_PK_MORE = -2,   /* the next opcode's argument is not all at hand yet */
    MDL_PK_BIG = -3,    /* a string of big_n bytes starts at the bytes used: they pass by */
    MDL_PK_STOPPED = -4 /* joblib's inline numpy data at joblib_stop, or an argument too
                           long to wait for (named in m->unknown) */
};
#define MDL_PK_WINDOW (1 << 20) /* the longest argument a streaming read waits for */

typedef struct mdl_pk_item {
    int kind;
    size_t n, len;        /* the string's length; how much of it d holds */
    unsigned char d[128]; /* its first bytes (all a class name needs) */
    int lost;             /* memoized after the memo's copies were full */
} mdl_pk_item;

typedef struct mdl_pk {
    const unsigned char *b; /* the bytes at hand */
    size_t len, pos;
    uint64_t base, total; /* file offset of b[0]; the file's size or MDL_SIZE_UNKNOWN */
    int more;             /* bytes past b[len) are still to come */
    compat_model_info *m;
    mdl_pk_item last[2];
    struct mdl_pk_memo {
        int kind, lost;
        size_t n, copy, len; /* copy: offset of its first bytes in copies */
    } * memo;
    size_t n_memo, cap_memo, next_memo;
    smx_buf copies;
    char pending_attr[32];
    int first_class_done, joblib, oob;
    size_t joblib_stop;
    int proto;      /* from PROTO, -1 before one */
    int binary_ops; /* an opcode protocol 0 does not have was seen (then protocol 1) */
    /* every byte string that may be the model: p NULL when it is MDL_PK_BIG */
    void *ctx;
    void (*candidate)(void *ctx, int kind, const unsigned char *p, size_t n, uint64_t off);
    int big_kind; /* MDL_PK_BIG: the string's kind and length */
    size_t big_n;
} mdl_pk;

void mdl_pk_init(mdl_pk *s, compat_model_info *m, uint64_t total);
/* Scan opcodes in b[0..len) (file offset base) until STOP or the bytes at hand end; *used:
 * bytes consumed. A result of MDL_PK_DONE, MDL_PK_MORE, MDL_PK_BIG, MDL_PK_STOPPED, or a
 * status. */
int mdl_pk_scan(mdl_pk *s, const unsigned char *b, size_t len, uint64_t base, int more,
                size_t *used);
void mdl_pk_free(mdl_pk *s);

/* What the other format files use of binary.c and pickle.c. */
int mdl_binary_read(const unsigned char *b, size_t len, compat_model_info *m);
int mdl_binary_stream(const mdl_ctx *c, uint64_t size, compat_model_info *m, mdl_sreader **out);
int mdl_binary_sniff(const unsigned char *b, size_t len); /* magic-less (formats.md 1.5 rule 2) */
int mdl_pickle_read(const mdl_ctx *c, const unsigned char *b, size_t len, compat_model_info *m);
int mdl_pickle_sniff(const unsigned char *b, size_t len); /* any protocol's opening */
/* A pickle whose top-level object is not XGBoost's (sklearn, LightGBM...) is foreign. */
void mdl_pickle_classify(compat_model_info *m);

#endif
