/*
 * Private to the tree evaluator (eval_build.c builds it, eval.c runs it, eval_prove.c proves
 * it): the layout, every name prefixed mdl_ev_ (MDL_EV_ for constants).
 *
 * Trees come in two layouts, chosen per tree when it is built:
 *   - complete: a tree of depth <= MDL_EV_COMPLETE_DEPTH with numeric splits only is padded
 *     to the complete binary tree of its depth. A leaf above the last level becomes a split
 *     that sends everything right (threshold NaN, missing goes right) down to copies of its
 *     value. Node i's children are 2i+1 and 2i+2, so a row takes exactly depth steps, each a
 *     load, a compare and no branch, and the leaf is the position reached. Nodes are 8 bytes.
 *   - general: any other tree (deeper, categorical, vector leaves), renumbered breadth-first
 *     so that a node's right child follows its left one; a row walks until a leaf.
 * Leaf values are stored as they are added: dart's weight is folded in at build time with
 * XGBoost's own float operations, so evaluation is one float add per tree and row.
 */
#ifndef SMXGB_COMPAT_MODEL_EVAL_PRIVATE_H
#define SMXGB_COMPAT_MODEL_EVAL_PRIVATE_H

#include "model_private.h"

#include <string.h>

enum {
    MDL_EV_BLOCK = 64,          /* rows evaluated together, tree by tree */
    MDL_EV_MARGINS = 4096,      /* floats of margins one block keeps on the stack */
    MDL_EV_COMPLETE_DEPTH = 10, /* deepest tree padded to a complete one */
    MDL_EV_MAX_GROUPS = MDL_EV_MARGINS,
    MDL_EV_CSR_WORK = 1 << 16, /* floats of densified CSR rows, at least one row */
    MDL_EV_KEYS = 1 << 13,     /* int32 keys of a block's rows on the stack (see kkey) */
    MDL_EV_SLACK = 16,
    MDL_EV_LANES = 8 /* keyed rows walked together (see kkey) */
};

/* node flags (the feature index is below them) */
#define MDL_EV_DL      0x80000000u /* missing goes left */
#define MDL_EV_CAT     0x40000000u /* general: categorical split */
#define MDL_EV_LEAF    0x20000000u /* general: a leaf */
#define MDL_EV_FEAT    0x1fffffffu
#define MDL_EV_MAX_CAT 16777216 /* XGBoost's OutOfRangeCat(): categories are below 2^24 */

/* A node of a complete tree: go right when !(x < cond), or when x is missing and not DL. */
typedef struct mdl_ev_node {
    float cond;
    uint32_t fd; /* feature | MDL_EV_DL */
} mdl_ev_node;

/*
 * The same nodes for rows turned into integer keys, as two arrays (kkey, kcol) indexed like
 * cnodes: an order-preserving map of floats onto int32 (-0 taken as +0) makes !(x < cond)
 * key(x) >= key(cond). A row is keyed twice, missing as INT32_MAX in the first copy (it goes
 * right) and INT32_MIN in the second (left), and the rows of a block are interleaved by
 * MDL_EV_LANES: key c of row j of a group sits at c * MDL_EV_LANES + j. kcol holds that offset
 * for lane 0 (feature, plus cols when missing goes left, times MDL_EV_LANES), so the lanes of
 * a group share one base and a step is two loads and a compare. A padding node has key
 * INT32_MIN: everything goes right. Both arrays have MDL_EV_SLACK entries past the last node.
 */
/* A node of a general tree. */
typedef struct mdl_ev_gnode {
    float cond;
    uint32_t fd;   /* feature | flags */
    uint32_t left; /* index of the left child (the right one is left + 1); leaf: value index */
    uint32_t cat;  /* categorical: index into e->cats */
} mdl_ev_gnode;

/* A categorical node's bit set: words of e->cat_bits from off. */
typedef struct mdl_ev_cat {
    size_t off;
    uint32_t words;
} mdl_ev_cat;

typedef struct mdl_ev_tree {
    int complete;   /* the layout */
    int depth;      /* complete: levels of splits */
    uint32_t group; /* the output a scalar leaf adds to */
    int vector;     /* leaves are width-long vectors */
    size_t nodes;   /* first node in e->cnodes or e->gnodes */
    size_t leaves;  /* first leaf value in e->leaves */
} mdl_ev_tree;

/* How margins become outputs: XGBoost's PredTransform, per objective. */
typedef enum {
    MDL_EV_IDENTITY,
    MDL_EV_SIGMOID,     /* 1.6+: clamped at -88.7 */
    MDL_EV_SIGMOID_OLD, /* before 1.6: 1 / (1 + expf(-x)) */
    MDL_EV_EXPF,
    MDL_EV_HINGE,
    MDL_EV_SOFTPROB,
    MDL_EV_SOFTMAX
} mdl_ev_transform;

struct compat_eval {
    size_t groups; /* margins per row */
    size_t width;  /* outputs per row */
    uint64_t cols; /* columns a row needs */
    uint64_t num_feature;
    mdl_ev_transform transform;
    float *base; /* groups base margins */
    /* trees */
    mdl_ev_tree *trees;
    size_t n_trees;
    mdl_ev_node *cnodes;
    int32_t *kkey; /* cnodes as keys, same indexes */
    uint32_t *kcol;
    size_t n_cnodes;
    mdl_ev_gnode *gnodes;
    size_t n_gnodes;
    float *leaves;
    size_t n_leaves;
    mdl_ev_cat *cats; /* per categorical node */
    size_t n_cats;
    uint32_t *cat_bits; /* a bit per category, as many words as XGBoost keeps */
    size_t n_cat_bits;
    /* gblinear: weights[f * groups + g], the bias after the last feature */
    int linear;
    float *weights;
    uint64_t linear_features;
    char desc[200];
};

/* The order-preserving key of a float that is not NaN. */
static inline int32_t mdl_ev_key(float x)
{
    x += 0.0f; /* -0 becomes +0: they compare equal */
    int32_t b;
    memcpy(&b, &x, sizeof b);
    return b < 0 ? b ^ 0x7fffffff : b;
}

/* Does a categorical node send category x (not missing) left? XGBoost's Decision(). */
static inline int mdl_ev_cat_left(const compat_eval *e, uint32_t c, float x)
{
    if (x < 0 || x >= (float)MDL_EV_MAX_CAT) /* InvalidCat */
        return 1;
    uint32_t v = (uint32_t)x;
    if (v / 32 >= e->cats[c].words)
        return 1;
    /* CLBitField32: bit 0 of a word is its most significant */
    return !((e->cat_bits[e->cats[c].off + v / 32] >> (31 - v % 32)) & 1u);
}

#endif
