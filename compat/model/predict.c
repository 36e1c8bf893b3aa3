/*
 * The reference predictor: a model parsed by the readers, evaluated without XGBoost, so that
 * a real load in some XGBoost version can be checked against what the file says. It is the
 * tree evaluator (eval_build.c, eval.c) with the arithmetic of the XGBoost that wrote the file
 * (as far as the file tells) and XGBoost's in-place prediction path, over rows of any width
 * (columns past the row are missing).
 *
 * compat_gen_rows makes the deterministic rows that a real load (compat/runtime) predicts and
 * this predictor evaluates, so the two can be compared.
 */
#include "model_private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int compat_reference_predict(const compat_model_info *m, const float *X, size_t nrow, size_t ncol,
                             int iteration_end, compat_pred *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    compat_eval_opts eo = {{0, 0, 0}, iteration_end, 0, COMPAT_EVAL_INPLACE};
    compat_eval *e;
    int rc = compat_eval_new(m, &eo, &e, err);
    if (rc)
        return rc;
    size_t cols = (size_t)compat_eval_cols(e), width = compat_eval_width(e), stride = ncol;
    float *pad = NULL;
    if (ncol < cols) { /* features past the row are missing */
        stride = cols;
        pad = malloc((nrow ? nrow : 1) * cols * sizeof *pad);
        for (size_t r = 0; pad && r < nrow; r++)
            for (size_t c = 0; c < cols; c++)
                pad[r * cols + c] = c < ncol ? X[r * ncol + c] : NAN;
    }
    out->values = malloc((nrow ? nrow : 1) * width * sizeof *out->values);
    if (!out->values || (ncol < cols && !pad)) {
        free(out->values);
        out->values = NULL;
        rc = smx_fail(err, SMX_ENOMEM, "out of memory predicting %zu rows", nrow);
    } else {
        compat_eval_dense(e, pad ? pad : X, nrow, stride, out->values);
        out->rows = nrow;
        out->cols = width;
    }
    free(pad);
    compat_eval_free(e);
    return rc;
}

void compat_pred_free(compat_pred *p)
{
    free(p->values);
    p->values = NULL;
    p->rows = p->cols = 0;
}

/* ---- generated rows ----------------------------------------------------------------------- */

static uint32_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

int compat_gen_rows(const compat_model_info *m, size_t nrow, float **X, size_t *ncol, smx_err *err)
{
    size_t nc = m->num_feature > 0 ? (size_t)m->num_feature : 1;
    if (nc > 100000)
        return smx_fail(err, SMX_ELIMIT, "%zu features: too many to generate test rows", nc);
    float *x = malloc(nrow * nc * sizeof *x);
    if (!x)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    uint64_t s = 0x5eed;
    for (size_t r = 0; r < nrow; r++)
        for (size_t c = 0; c < nc; c++) {
            int cat =
                m->has_categorical && (c >= m->n_feature_types || !m->feature_types ||
                                       !m->feature_types[c] || !strcmp(m->feature_types[c], "c"));
            uint32_t u = lcg(&s);
            float v;
            if (r > 0 && u % 9 == 0)
                v = NAN; /* every row but the first has a few missing values */
            else if (cat)
                v = (float)(u % 5);
            else
                v = (float)((double)(u % 60001) / 10000.0 - 3.0);
            x[r * nc + c] = v;
        }
    *X = x;
    *ncol = nc;
    return SMX_OK;
}
