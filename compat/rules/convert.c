/*
 * Conversion planning: in which format XGBoost `runtime` should re-save a model so that a
 * given reader (a container's XGBoost) loads it correctly. The runtime must read the model
 * correctly itself (the same rules, applied with the runtime as the reader); then each format
 * it can write ("deprecated", "ubj", "json", in that order) is tried on a copy of the facts
 * as that re-save would make them, and the first one every rule passes for the reader wins.
 */
#include "rules_private.h"

#include <string.h>

/* What m would look like re-saved by XGBoost `runtime` in `format`. */
static compat_model_info resaved(const compat_model_info *m, compat_version runtime,
                                 const char *format)
{
    compat_model_info c = *m;
    c.format = !strcmp(format, "deprecated") ? COMPAT_FMT_BINARY
               : !strcmp(format, "ubj")      ? COMPAT_FMT_UBJSON
                                             : COMPAT_FMT_JSON;
    c.payload = !strcmp(format, "deprecated") ? COMPAT_PAYLOAD_BIN
                : !strcmp(format, "ubj")      ? COMPAT_PAYLOAD_UBJ
                                              : COMPAT_PAYLOAD_JSON;
    c.writer_min = c.writer_max = runtime;
    c.writer_exact = 1;
    c.corrupt = 0;
    c.pickle_protocol = 0;
    c.pickle_is_booster = 0;
    compat_version v31 = {3, 1, 0}, v21 = {2, 1, 0}, v30 = {3, 0, 0}, v32 = {3, 2, 0};
    c.base_score_array = compat_version_cmp(runtime, v31) >= 0;
    if (compat_version_cmp(runtime, v21) < 0)
        c.ubj_typed_f64 = 0;
    if (compat_version_cmp(runtime, v30) < 0)
        c.ubj_typed_i8 = 0;
    c.has_leaf_weights = c.size_leaf_vector > 1 && compat_version_cmp(runtime, v32) >= 0;
    return c;
}

static int runtime_writes(compat_version rt, const char *format, const compat_model_info *m)
{
    compat_version v16 = {1, 6, 0}, v31 = {3, 1, 0}, v10 = {1, 0, 0};
    if (!strcmp(format, "deprecated"))
        return compat_version_cmp(rt, v31) < 0 && !m->has_categorical && m->size_leaf_vector <= 1;
    if (!strcmp(format, "ubj"))
        return compat_version_cmp(rt, v16) >= 0;
    return compat_version_cmp(rt, v10) >= 0;
}

int compat_convert_plan(const compat_model_info *m, const char *name, compat_version runtime,
                        const compat_reader *r, const char **format, smx_err *err)
{
    *format = NULL;
    char rv[32], tv[32];
    compat_version_str(runtime, rv, sizeof rv);
    compat_version_str(r->xgboost, tv, sizeof tv);
    if (m->format == COMPAT_FMT_FOREIGN || m->format == COMPAT_FMT_UNKNOWN)
        return smx_fail(err, SMX_EINVAL, "it is not an XGBoost model%s%s",
                        m->foreign[0] ? ": " : "", m->foreign);
    if (m->format == COMPAT_FMT_JOBLIB)
        return smx_fail(err, SMX_EINVAL,
                        "a joblib-compressed file: load it with joblib and save_model");
    if (m->corrupt)
        return smx_fail(err, SMX_EINVAL, "the model is damaged: %s", m->problem);
    if (m->format == COMPAT_FMT_PICKLE && (!m->payload_bytes || !m->payload_len))
        return smx_fail(err, SMX_EINVAL, "no XGBoost model bytes were found in the pickle");
    /* the runtime has to read it correctly itself (bytes given straight to XGBoost) */
    compat_reader self = {runtime, NULL, NULL};
    compat_judgement j = {0};
    int rc = rls_apply(m, name, &self, &j, NULL, err);
    if (rc)
        return rc;
    if (j.verdict != COMPAT_VERDICT_OK) {
        smx_buf why = SMX_BUF_INIT;
        for (size_t i = 0; i < j.n_reasons; i++)
            if (j.reasons[i].verdict != COMPAT_VERDICT_OK)
                smx_buf_printf(&why, "%s%s: %s", why.len ? "; " : "", j.reasons[i].rule,
                               j.reasons[i].message);
        rc = smx_fail(err, SMX_EINVAL,
                      "XGBoost %s (the runtime) does not read this model correctly: %s", rv,
                      why.data ? why.data : "");
        smx_buf_free(&why);
        compat_judgement_free(&j);
        return rc;
    }
    compat_judgement_free(&j);
    static const char *fmts[] = {"deprecated", "ubj", "json"};
    smx_buf why = SMX_BUF_INIT;
    for (size_t i = 0; i < 3; i++) {
        if (!runtime_writes(runtime, fmts[i], m)) {
            smx_buf_printf(&why, "%s%s: XGBoost %s cannot write it for this model",
                           why.len ? "; " : "", fmts[i], rv);
            continue;
        }
        compat_model_info c = resaved(m, runtime, fmts[i]);
        compat_judgement jc = {0};
        if ((rc = rls_apply(&c, "xgboost-model", r, &jc, NULL, err))) {
            smx_buf_free(&why);
            return rc;
        }
        if (jc.verdict == COMPAT_VERDICT_OK) {
            compat_judgement_free(&jc);
            smx_buf_free(&why);
            *format = fmts[i];
            return SMX_OK;
        }
        for (size_t k = 0; k < jc.n_reasons; k++)
            if (jc.reasons[k].verdict != COMPAT_VERDICT_OK) {
                smx_buf_printf(&why, "%s%s: %s", why.len ? "; " : "", fmts[i],
                               jc.reasons[k].message);
                break;
            }
        compat_judgement_free(&jc);
    }
    rc = smx_fail(err, SMX_EINVAL, "no format XGBoost %s writes loads correctly in XGBoost %s (%s)",
                  rv, tv, why.data ? why.data : "");
    smx_buf_free(&why);
    return rc;
}
