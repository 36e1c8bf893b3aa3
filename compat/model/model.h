/*
 * compat/model: what a model file is, without XGBoost. XGBoost versions and how they compare
 * (version.c).
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

#endif
