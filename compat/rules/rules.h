/*
 * compat/rules: what each SageMaker XGBoost container is and which models it loads correctly.
 *
 * The container table (containers.c, from containers.json), the ECR image URIs of every
 * container (images.c, from the SageMaker SDK's xgboost_image_uris.json), and the verdict
 * engine (verdict.c) that applies the load rules of rules.json to the facts compat/model
 * extracted from a file; judge.c adds the concrete hint, convert.c plans a re-save that a
 * container loads correctly. The data files are compiled in; nothing here reads model bytes
 * or loads XGBoost.
 */
#ifndef SMXGB_COMPAT_RULES_H
#define SMXGB_COMPAT_RULES_H

#include "../../artifacts/artifacts.h"
#include "../model/model.h"

/* ---- the container table ----------------------------------------------------------------- */

typedef struct compat_container {
    const char *tag;              /* "1.7-1" */
    compat_version xgboost;       /* pinned XGBoost */
    const char *xgboost_str;      /* "1.7.4" */
    const char *python;           /* "3.9" */
    const char **image_tags;      /* NULL-terminated, e.g. "1.5-1", "1.5-1-arm64" */
    artifact_layout_rules layout; /* ensemble here = supports ensemble (env decides) */
    int eager_load;               /* loads at worker boot (1.2-2+): a failure kills the server */
    int ping_checks_model;        /* /ping runs load_model */
    int honours_accept;           /* Accept header (1.2-2+) */
    int selectable_output;        /* SAGEMAKER_INFERENCE_OUTPUT (1.0-1+) */
    int csv_single_line;          /* <= 1.2-1: ",".join(preds) */
    int libsvm_shift;             /* 3.x: indexes shifted by -1 when the minimum is >= 1 */
    const char *training_writes;  /* "pickle" | "save_model" */
    const char *source;           /* where the facts come from */
} compat_container;

/* The table, parsed once from the embedded containers.json; NULL-free array of n entries. */
int compat_containers(const compat_container **out, size_t *n, smx_err *err);
/* Find a container by tag ("1.7-1"), image tag ("1.0-1-cpu-py3", "1.5-1-arm64", and any
 * version with -cpu-py3: "1.7-1-cpu-py3") or image URI whose repository is sagemaker-xgboost
 * ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", a private copy's,
 * "sagemaker-xgboost:1.7-1"); NULL for anything else, an image pinned by digest included. */
const compat_container *compat_container_find(const char *spec);
/* The default container for serve (1.7-1). */
const compat_container *compat_container_default(void);

/*
 * Layout rules for container c in an environment: SAGEMAKER_INFERENCE_ENSEMBLE (NULL = unset)
 * turns ensemble off unless it is exactly "true", as the container's own check does.
 */
artifact_layout_rules compat_layout_rules(const compat_container *c, const char *ensemble_env);

/* ---- image URIs (images.c; the SDK's xgboost.json, compiled in) -------------------------- */

typedef enum compat_image_kind {
    COMPAT_IMAGE_XGBOOST,             /* sagemaker-xgboost with a published version tag */
    COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG, /* sagemaker-xgboost, tag not published (or a digest) */
    COMPAT_IMAGE_LEGACY,              /* the legacy built-in algorithm image xgboost:1 */
    COMPAT_IMAGE_OTHER                /* not an XGBoost image */
} compat_image_kind;

typedef struct compat_image {
    compat_image_kind kind;
    char uri[512];
    char account[32], region[64], domain[32], repository[256], tag[128], digest[160];
    char version[32];      /* container version ("1.7-1", "1" for legacy), "" if none */
    const char *processor; /* "cpu" (-cpu-py3 tags), "arm64", or NULL */
    int graviton;
    int official_account;              /* the account is AWS's registry for the region */
    const compat_container *container; /* the container table entry, NULL if none */
    char note[320];                    /* what is unusual about it, "" if nothing */
} compat_image;

const char *compat_image_kind_name(compat_image_kind k);
/* Split an image URI and look it up. SMX_OK for any string (im->kind says what it is). */
int compat_image_parse(const char *uri, compat_image *im, smx_err *err);
/* AWS's URI for version in region ("683313688378.dkr.ecr.us-east-1.amazonaws.com/
 * sagemaker-xgboost:1.7-1"); returns 0, or -1 when not published there. */
int compat_image_uri(const char *version, const char *region, int graviton, char *out, size_t n);

/* ---- verdicts: the load rules (rules.json) applied to a model and a reader ----------------- */

/* Ranked: the verdict of several reasons is the worst (highest) of them. Unknown ranks above
 * wrong-predictions (what is unknown may be a failure) and below fails (a known failure). */
typedef enum compat_verdict {
    COMPAT_VERDICT_OK = 0,
    COMPAT_VERDICT_WRONG = 1,   /* loads, but predicts something else than the writer intended */
    COMPAT_VERDICT_UNKNOWN = 2, /* a fact the outcome rests on is not known (the writer's exact
                                   version, ...): not ok; the reason says what would settle it */
    COMPAT_VERDICT_FAILS = 3    /* the load raises: the endpoint never passes /ping */
} compat_verdict;
const char *compat_verdict_name(int v); /* "ok", "wrong-predictions", "unknown", "fails" */

typedef struct compat_reason {
    char *rule;  /* "FMT-UBJ", or "LOAD-CHECK" for a real load */
    int verdict; /* what this reason implies; ok for a note */
    char *entry; /* the model entry it is about, or NULL */
    char *message;
    char *source;  /* reference section / fixture rows */
    int overruled; /* a rule's reason that a real load in the reader's own version contradicts:
                      shown, and it no longer decides the verdict */
} compat_reason;

typedef struct compat_judgement {
    int verdict; /* compat_verdict */
    compat_reason *reasons;
    size_t n_reasons;
    char *hint; /* a concrete fix, NULL when ok */
} compat_judgement;

/* Who loads the file: an XGBoost version, and the Python the container runs (NULL when the
 * bytes go straight to XGBoost, as in our own load checks: pickle-level rules are skipped). */
typedef struct compat_reader {
    compat_version xgboost;
    const char *python;
    const char *tag; /* container tag, for messages; may be NULL */
} compat_reader;

typedef struct compat_judge_opts {
    const char *artifact;   /* named in hints ("smxgb convert ARTIFACT ..."); NULL = ARTIFACT */
    compat_version runtime; /* the XGBoost convert would use; major -1 = none */
    /* XGBoost versions known not to load it correctly whatever the rules say (a real load
     * failed or mispredicted): the hint does not name their containers as loading it */
    const compat_version *not_ok;
    size_t n_not_ok;
} compat_judge_opts;

/*
 * Apply every load rule to model m, stored under file name `name` (the extension matters),
 * for reader r. Fills out (free with compat_judgement_free). SMX_EFORMAT if rules.json is bad.
 */
int compat_judge(const compat_model_info *m, const char *name, const compat_reader *r,
                 const compat_judge_opts *o, compat_judgement *out, smx_err *err);
void compat_judgement_free(compat_judgement *j);
/* Add a reason (copies the strings); returns SMX_OK or SMX_ENOMEM. */
int compat_judgement_add(compat_judgement *j, const char *rule, int verdict, const char *entry,
                         const char *message, const char *source);
/* Number of rules and the id of rule i (for listings and tests). */
int compat_rules(size_t *n, smx_err *err);
const char *compat_rule_id(size_t i);
/* Rule i's first outcome ("fails" | "wrong-predictions"), its reason template and its source. */
const char *compat_rule_verdict(size_t i);
const char *compat_rule_why(size_t i);
const char *compat_rule_source(size_t i);
/* 1 when rule `id` is about the container's Python (unpickling), not about XGBoost's reading:
 * a load in XGBoost alone does not speak to it. */
int compat_rule_python_level(const char *id);
/* Rule i's outcomes: how many, and outcome k's verdict, reason template and reader range as
 * text ("XGBoost < 1.0.0", "XGBoost >= 3.1.0", "Python < 3.8", "every reader"; into buf). */
size_t compat_rule_n_outcomes(size_t i);
const char *compat_rule_outcome_verdict(size_t i, size_t k);
const char *compat_rule_outcome_why(size_t i, size_t k);
const char *compat_rule_outcome_readers(size_t i, size_t k, char *buf, size_t n);

/*
 * Conversion plan: the format ("deprecated", "ubj" or "json") in which XGBoost `runtime`
 * should re-save m so that reader r loads it correctly. SMX_EINVAL with the reason in err
 * when the runtime cannot read m correctly itself or no format it writes suits r.
 */
int compat_convert_plan(const compat_model_info *m, const char *name, compat_version runtime,
                        const compat_reader *r, const char **format, smx_err *err);

#endif
