/*
 * Private to compat/: what the model readers share. Each reader (read_binary.c, read_json.c,
 * read_ubjson.c, read_pickle.c) fills a compat_model_info; identify.c decides which reader
 * gets the bytes. JSON and UBJSON models have the same schema, so both readers hand a small
 * document view (mdoc) to model_doc.c, which extracts the facts and the trees once.
 */
#ifndef SMXGB_COMPAT_MODEL_PRIVATE_H
#define SMXGB_COMPAT_MODEL_PRIVATE_H

#include "model.h"

#include <stdarg.h>

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
    MODEL_MAX_DEPTH = 128,      /* nesting of JSON/UBJSON containers */
    MODEL_MAX_STRING = 1 << 20, /* objective, attribute values, feature names */
    MODEL_MAX_TREES = 1 << 24,
    MODEL_MAX_NODES = 1 << 28, /* per tree */
    MODEL_MAX_PICKLE_DEPTH = 4 /* pickles nested in joblib/gzip wrappers */
};

/* Largest JSON text (or JSON skeleton, trees cut out) parsed into one jansson document, which
 * holds ~10x the text; bigger ones get the learner facts without trees. */
#define MODEL_JSON_DOM_MAX ((size_t)64 << 20)

compat_model_info *model_info_new(void);
void model_info_clear_trees(compat_model_info *m);
/* Mark the bytes corrupt (first problem wins); always returns SMX_EFORMAT. */
int model_corrupt(compat_model_info *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void model_prefix_problem(compat_model_info *m, const char *prefix);
void model_detail(compat_model_info *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void model_note(compat_model_info *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int model_add_attr(compat_model_info *m, const char *k, size_t kl, const char *v, size_t vl);
int model_add_str(char ***v, size_t *n, const char *s, size_t len);
void model_set_writer(compat_model_info *m, compat_version lo, compat_version hi, int exact);
void model_copy(char *dst, size_t cap, const char *s, size_t len);

/* Readers. Each fills m (format, facts, corrupt/problem); returns SMX_OK, SMX_EFORMAT when the
 * bytes are this format but broken, SMX_ENOMEM. */
int read_binary(const unsigned char *b, size_t len, compat_model_info *m);
int read_json(const unsigned char *b, size_t len, compat_model_info *m);
int read_ubjson(const unsigned char *b, size_t len, compat_model_info *m);
int read_pickle(const unsigned char *b, size_t len, compat_model_info *m);
/* Magic-less legacy binary? (formats.md 1.5 rule 2) */
int read_binary_sniff(const unsigned char *b, size_t len);
/* Identify the payload bytes of a pickle or a snapshot into m->payload (and facts). */
int identify_payload(const unsigned char *b, size_t len, compat_model_info *m);
/* Identify any bytes (used recursively for pickles inside joblib/gzip wrappers). */
int identify_bytes(const unsigned char *b, size_t len, const char *name, compat_model_info *m,
                   int depth);

/* ---- a read-only document view shared by the JSON and UBJSON readers --------------------- */

typedef enum { MD_NULL, MD_BOOL, MD_INT, MD_REAL, MD_STR, MD_ARR, MD_OBJ } md_kind;

typedef struct mdoc mdoc;
typedef const void *mnode;

struct mdoc {
    const void *ctx;
    md_kind (*kind)(const mdoc *d, mnode n);
    mnode (*get)(const mdoc *d, mnode obj, const char *key);
    size_t (*size)(const mdoc *d, mnode n);          /* array length or object member count */
    mnode (*at)(const mdoc *d, mnode arr, size_t i); /* NULL for typed-array elements */
    /* numeric array element (ints, reals, booleans as 0/1); 0 on success */
    int (*num_at)(const mdoc *d, mnode arr, size_t i, double *out);
    int (*num)(const mdoc *d, mnode n, double *out);         /* number, bool, or numeric string */
    const char *(*str)(const mdoc *d, mnode n, size_t *len); /* NULL if not a string */
    /* object member i: key (not NUL-terminated) and value */
    mnode (*member)(const mdoc *d, mnode obj, size_t i, const char **key, size_t *klen);
    /* is this array's element kind boolean (1), integer (2), other (0)? checks element 0 */
    int (*elem_kind)(const mdoc *d, mnode arr);
    /* Optional: the gbtree "trees" kept out of the document and parsed one at a time (JSON),
     * so memory holds one tree's document, not all of them. ext_tree returns SMX_OK, the
     * tree's node and the view to read it with (*td), or a status (and m->problem); ext_free
     * releases it. */
    size_t n_ext;
    int (*ext_tree)(const mdoc *d, size_t i, const mdoc **td, mnode *out, compat_model_info *m);
    void (*ext_free)(const mdoc *d, mnode n);
    /* Optional: byte offset of a node in the input, (size_t)-1 if unknown. */
    size_t (*offset)(const mdoc *d, mnode n);
};

/* Extract everything from a model document (root = {"learner":..,"version":..}) or a
 * snapshot ({"Config":..,"Model":..}); ubj says which encoding (for m->payload). Returns
 * SMX_OK, MODEL_NOT_XGBOOST when the document has neither shape, SMX_EFORMAT, SMX_ENOMEM. */
#define MODEL_NOT_XGBOOST (-1)
int model_doc_extract(const mdoc *d, mnode root, compat_model_info *m, int ubj);

#endif
