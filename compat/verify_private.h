/* Shared by verify.c (scan, identify, load check) and verdicts.c (judging); not public. */
#ifndef SMXGB_COMPAT_VERIFY_PRIVATE_H
#define SMXGB_COMPAT_VERIFY_PRIVATE_H

#include "compat.h"

/* At most this many model files of an artifact are identified (and judged). */
#define MAX_MODELS 64

/* m is a model file XGBoost reads (not foreign, not unrecognised). */
int compat_is_xgboost_model(const compat_model_info *m);

/* res's verdict, reasons, hint and evidence from r's layout, models and loads; artifact names
 * the artifact in the reasons. */
int verify_judge_result(compat_report *r, compat_result *res, const compat_verify_opts *vo,
                        const char *artifact, smx_err *err);

/* Findings "several model files" of containers whose every file is an XGBoost model, with
 * ensemble on, become the warning layout-ensemble. */
void verify_ensembles(compat_report *r);

#endif
