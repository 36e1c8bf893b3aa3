/*
 * Private to compat/rules: what judge.c and convert.c use of the verdict engine (verdict.c).
 * Shared names carry the rls_ prefix.
 */
#ifndef SMXGB_COMPAT_RULES_PRIVATE_H
#define SMXGB_COMPAT_RULES_PRIVATE_H

#include "rules.h"

/*
 * Every rule of rules.json that holds for model m stored as `name`, for reader r, added to out
 * (one reason per rule, verdict the worst). rule_hint (may be NULL) receives the expanded
 * "hint" of the first rule whose outcome is not ok (malloc'd), or NULL when that rule has none.
 * Returns SMX_OK, SMX_EFORMAT (rules.json is bad) or SMX_ENOMEM.
 */
int rls_apply(const compat_model_info *m, const char *name, const compat_reader *r,
              compat_judgement *out, char **rule_hint, smx_err *err);

#endif
