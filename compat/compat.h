/*
 * compat: what each SageMaker XGBoost container version is, what model file formats exist,
 * and whether a given container can load a given model. It also owns the one wrapper around
 * the XGBoost C API (runtime.c), which loads libxgboost with dlopen so that any XGBoost build
 * can be used, not just the one we link against.
 *
 * The container table is a data file (containers.json) compiled into the binary.
 */
#ifndef SMXGB_COMPAT_H
#define SMXGB_COMPAT_H

#include "../artifacts/artifacts.h"

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

/* ---- the container table ----------------------------------------------------------------- */

typedef struct compat_container {
    const char *tag;          /* "1.7-1" */
    compat_version xgboost;   /* pinned XGBoost */
    const char *xgboost_str;  /* "1.7.4" */
    const char *python;       /* "3.9" */
    const char **image_tags;  /* NULL-terminated, e.g. "1.5-1", "1.5-1-arm64" */
    artifact_layout_rules layout; /* ensemble here = supports ensemble (env decides) */
    int eager_load;           /* loads at worker boot (1.2-2+): a failure kills the server */
    int ping_checks_model;    /* /ping runs load_model */
    int honours_accept;       /* Accept header (1.2-2+) */
    int selectable_output;    /* SAGEMAKER_INFERENCE_OUTPUT (1.0-1+) */
    int csv_single_line;      /* <= 1.2-1: ",".join(preds) */
    int libsvm_shift;         /* 3.x: indexes shifted by -1 when the minimum is >= 1 */
    const char *training_writes; /* "pickle" | "save_model" */
    const char *source;       /* where the facts come from */
} compat_container;

/* The table, parsed once from the embedded containers.json; NULL-free array of n entries. */
int compat_containers(const compat_container **out, size_t *n, smx_err *err);
/* Find a container by tag ("1.7-1") or image tag ("1.0-1-cpu-py3", "1.5-1-arm64"). */
const compat_container *compat_container_find(const char *tag);
/* The default container for serve (1.7-1). */
const compat_container *compat_container_default(void);

/*
 * Layout rules for container c in an environment: SAGEMAKER_INFERENCE_ENSEMBLE (NULL = unset)
 * turns ensemble off unless it is exactly "true", as the container's own check does.
 */
artifact_layout_rules compat_layout_rules(const compat_container *c, const char *ensemble_env);

/* ---- the XGBoost runtime (dlopen) -------------------------------------------------------- */

typedef struct compat_xgb compat_xgb;

/*
 * Load libxgboost. path NULL: $SMXGB_XGBOOST_LIB if set, else the system library
 * (libxgboost.so, libxgboost.so.0). Resolves only the functions that version has.
 */
int compat_xgb_open(const char *path, compat_xgb **out, smx_err *err);
void compat_xgb_close(compat_xgb *x);
compat_version compat_xgb_version(const compat_xgb *x);
const char *compat_xgb_path(const compat_xgb *x);

/* ---- verify: an artifact checked against container versions ----------------------------- */

typedef struct compat_finding {
    artifact_finding f; /* owned */
    uint64_t containers; /* bit i = i-th container of the report; 0 = about the archive itself */
} compat_finding;

typedef struct compat_result {
    const compat_container *c;
    artifact_layout_rules rules; /* as applied (ensemble after the environment) */
    int layout_errors;           /* error findings about the archive or this container's layout */
    size_t *loads;               /* entry indexes this container would load, archive order */
    size_t n_loads;
} compat_result;

typedef struct compat_report {
    artifact_scan *scan;
    compat_finding *findings;
    size_t n_findings;
    compat_result *results;
    size_t n_results;
    size_t n_errors, n_warnings;
} compat_report;

typedef struct compat_verify_opts {
    const char *const *containers; /* tags or image tags; n_containers 0 = every version */
    size_t n_containers;
    const char *const *env; /* "KEY=VALUE" as the endpoint would set them */
    size_t n_env;
    artifact_limits limits;
} compat_verify_opts;

/* Look up KEY in a "KEY=VALUE" list (last one wins); NULL if absent. */
const char *compat_env_get(const char *const *env, size_t n, const char *key);

/*
 * Check the artifact at path: the archive, then each container's layout. Returns SMX_OK with
 * *out set whenever the file could be read (the report says what is wrong with it); SMX_EINVAL
 * for an unknown container tag; SMX_EIO if it cannot be read.
 */
int compat_verify(const char *path, const compat_verify_opts *o, compat_report **out, smx_err *err);
void compat_report_free(compat_report *r);

#endif
