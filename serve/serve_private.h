/*
 * Private to serve/: helpers the decoders and encoders share, and the loaded model's
 * structure that model.c, fast.c and predict.c share.
 */
#ifndef SMXGB_SERVE_PRIVATE_H
#define SMXGB_SERVE_PRIVATE_H

#include "serve.h"

#include <stdlib.h>

/* bytes.strip(): ASCII whitespace at both ends */
void serve_strip(const char **buf, size_t *len);
/* bytes.decode("utf-8"): 0 if valid, else -1 with Python's UnicodeDecodeError text */
int serve_utf8_check(const char *buf, size_t len, serve_derr *de);
/* Python repr() of a str */
void serve_pystr_repr(const char *s, size_t n, char *out, size_t cap);
/* XGBoost's DMatrix error for inf values */
void serve_xgb_inf_error(serve_derr *de);
/* the sniffed delimiter of the first line (after the alphanumeric -> ',' rule); 0 = none */
int serve_csv_sniff(const char *line, size_t n, char *delim);

/* default output kinds */
enum { SERVE_OUT_CSV, SERVE_OUT_JSON, SERVE_OUT_BATCH, SERVE_OUT_SINGLE_LINE };
/* The container's default response body (no selectable output). */
int serve_encode_default(const serve_pred *p, int kind, smx_buf *o);
/* Selectable output (SAGEMAKER_INFERENCE_OUTPUT keys); err = the container's 500 text. */
int serve_encode_selectable(const serve_pred *p, const char *objective, int num_class,
                            int absoluteerror, const char *const *keys, size_t n_keys,
                            const char *accept, int batch, smx_buf *o, smx_err *err);

/* ---- the model: what model.c (loading), fast.c (the evaluator) and predict.c share ------- */

/* One model file, loaded. */
typedef struct serve_booster {
    compat_booster *b;
    char *path;
    uint64_t num_feature;
    int iteration_end;
    int pickled;         /* loaded by pickle.load (the container's feature checks apply) */
    compat_eval *ev;     /* smxgb's evaluator, proven equal to b at load; NULL: b predicts */
    char predictor[640]; /* which predictor, and why */
} serve_booster;

struct serve_model {
    compat_xgb *x;
    const compat_container *c;
    serve_booster *v;
    size_t n;
    char objective[64];
    int num_class;
    size_t work; /* floats of serve_scratch.work the evaluators' CSR rows need */
};

/*
 * Choose mb's predictor (fast.c): build the evaluator of mi, the parsed bytes XGBoost loaded
 * into mb->b, and use it only when its proof against mb->b passes; mb->predictor says which
 * and why. Never fails: whatever goes wrong leaves XGBoost predicting.
 */
void serve_fast_setup(compat_xgb *x, serve_booster *mb, const compat_model_info *mi);

/* Grow *p to hold need elements of elem bytes; 0 or -1. */
static inline int serve_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / elem)
        return -1;
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

#endif
