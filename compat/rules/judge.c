/*
 * The judgement with a hint: the verdict engine's reasons for one model and one reader, and,
 * when the verdict is not ok, a concrete fix: `smxgb convert` with the exact container when
 * the runtime we have can re-save the model in a format that reader loads correctly
 * (convert.c), otherwise the failing rule's own advice; then the containers that do load the
 * model correctly as it is.
 */
#include "rules_private.h"

#include <stdlib.h>
#include <string.h>

int compat_judge(const compat_model_info *m, const char *name, const compat_reader *r,
                 const compat_judge_opts *o, compat_judgement *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    char *rule_hint = NULL;
    int rc = rls_apply(m, name, r, out, &rule_hint, err);
    if (rc) {
        compat_judgement_free(out);
        return rc;
    }
    if (out->verdict == COMPAT_VERDICT_OK) {
        free(rule_hint);
        return SMX_OK;
    }

    smx_buf h = SMX_BUF_INIT;
    const char *fmt = NULL;
    smx_err perr = {0};
    if (o && o->runtime.major >= 0 &&
        compat_convert_plan(m, name, o->runtime, r, &fmt, &perr) == SMX_OK) {
        char rv[32];
        smx_buf_printf(&h,
                       "run `smxgb convert %s --container %s -o converted.tar.gz`: it re-saves the "
                       "model as %s with XGBoost %s, which %s loads correctly, and proves the "
                       "predictions equal",
                       o->artifact ? o->artifact : "ARTIFACT", r->tag ? r->tag : "TAG",
                       !strcmp(fmt, "deprecated") ? "a legacy binary"
                       : !strcmp(fmt, "ubj")      ? "UBJSON"
                                                  : "JSON",
                       compat_version_str(o->runtime, rv, sizeof rv),
                       r->tag ? r->tag : "that container");
    } else if (rule_hint) {
        smx_buf_puts(&h, rule_hint);
    }
    free(rule_hint);
    /* which containers do load it correctly */
    const compat_container *tab;
    size_t nt;
    if (compat_containers(&tab, &nt, NULL) == SMX_OK) {
        smx_buf okl = SMX_BUF_INIT;
        for (size_t i = 0; i < nt; i++) {
            int known_bad = 0;
            for (size_t k = 0; o && k < o->n_not_ok; k++)
                known_bad |= !compat_version_cmp(o->not_ok[k], tab[i].xgboost);
            if (known_bad)
                continue;
            compat_reader cr = {tab[i].xgboost, tab[i].python, tab[i].tag};
            compat_judgement cj = {0};
            if (rls_apply(m, name, &cr, &cj, NULL, NULL) == SMX_OK &&
                cj.verdict == COMPAT_VERDICT_OK)
                smx_buf_printf(&okl, "%s%s", okl.len ? ", " : "", tab[i].tag);
            compat_judgement_free(&cj);
        }
        if (h.len)
            smx_buf_puts(&h, "; ");
        if (okl.len)
            smx_buf_printf(&h, "containers that load it correctly: %s", okl.data);
        else
            smx_buf_puts(&h, "no container version loads it correctly as it is");
        smx_buf_free(&okl);
    }
    out->hint = h.data ? h.data : strdup("");
    if (!out->hint) {
        compat_judgement_free(out);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    return SMX_OK;
}
