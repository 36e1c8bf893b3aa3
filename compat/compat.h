/*
 * compat: whether the SageMaker XGBoost containers load a model artifact, and load it right.
 *
 * The public header of compat, which has three parts, each with its own header:
 *   model/model.h      what a model file is, who wrote it, what it needs; the reference
 *                      predictor (no XGBoost, no container knowledge);
 *   rules/rules.h      the container table, the image URIs, the load rules and verdicts;
 *   runtime/runtime.h  XGBoost itself (dlopen), wheels, real loads in a helper process.
 * This header adds verify (verify.c), which puts them together over one streaming read of
 * an artifact: the archive scan, identification of each top-level file, each container's
 * listing and load rules, and a real load.
 */
#ifndef SMXGB_COMPAT_H
#define SMXGB_COMPAT_H

#include "../artifacts/artifacts.h"
#include "model/model.h"
#include "rules/rules.h"
#include "runtime/runtime.h"

#include <stddef.h>
#include <stdint.h>

/* ---- verify: an artifact checked against container versions ----------------------------- */

typedef struct compat_model {
    size_t entry;            /* index into scan->entries */
    compat_model_info *info; /* NULL if it could not be identified (see error) */
    int partial;             /* larger than load_max_bytes: read as it streamed, not kept (so
                                not load-checked); info->unknown says what was not established */
    uint64_t bytes;          /* its size */
    compat_loadcheck *loads; /* loads[k]: the load check by report->runtimes[k] (NULL when the
                                report has no runtime) */
    char load_note[256];     /* why no runtime loaded it (over the size limit...), or "" */
    char error[SMX_ERRMAX];  /* why info is NULL, or which facts info->unknown names */
} compat_model;

typedef struct compat_finding {
    artifact_finding f;  /* owned */
    uint64_t containers; /* bit i = i-th container of the report; 0 = about the archive itself */
} compat_finding;

/* What a container's verdict rests on, weakest over the files it loads: rules only (identified
 * from the bytes), a real load by another XGBoost version than the container's (reported; the
 * rules decide), or a real load by the container's own version (a failed or mispredicting load
 * decides). */
typedef struct compat_evidence {
    compat_evidence_kind kind; /* runtime/runtime.h; compat_evidence_name */
    char xgboost[32];          /* the XGBoost that loaded the files ("" for rules) */
    int partial;               /* a file was identified from its first and last bytes only */
    char note[SMX_ERRMAX];     /* why no load of this version counts, or "" */
} compat_evidence;

typedef struct compat_result {
    const compat_container *c;
    artifact_layout_rules rules; /* as applied (ensemble after the environment) */
    int layout_errors;           /* error findings about the archive or this container's layout */
    size_t *loads;               /* entry indexes this container would load, archive order */
    size_t n_loads;
    /* the verdict for the model entries it loads (see compat_judge) */
    int verdict; /* compat_verdict */
    struct compat_reason *reasons;
    size_t n_reasons;
    char *hint; /* NULL when ok; for an unknown verdict, what would settle it */
    compat_evidence evidence;
    int runtime;                  /* the XGBoost that loads its files: an index into the
                                     report's runtimes, or -1 (none: runtime_why says why) */
    char runtime_why[SMX_ERRMAX]; /* which XGBoost loads its files and why, or why none does */
} compat_result;

/* An XGBoost library the load checks of a report ran in: the cached runtime of a version the
 * containers pin (exact), or the library given, $SMXGB_XGBOOST_LIB or the system's (a
 * stand-in), each run once per model whatever the number of containers it serves. */
#define COMPAT_MAX_RUNTIMES 64 /* one per container at most */

typedef struct compat_report_runtime {
    compat_evidence_kind kind; /* EXACT: a pinned version's cached runtime; else STANDIN */
    char pinned[32];           /* EXACT: the version it is the runtime of */
    char lib[4096];            /* the library ("" = the system's libxgboost) */
    char why[SMX_ERRMAX];      /* which library and why (compat_runtime_choose) */
    char version[32];          /* the version it reported, once it loaded a model ("") */
    int failed;                /* it cannot be opened or run on this machine: see error */
    char error[SMX_ERRMAX];
} compat_report_runtime;

typedef struct compat_report {
    artifact_scan *scan;
    compat_finding *findings;
    size_t n_findings;
    compat_result *results;
    size_t n_results;
    size_t n_errors, n_warnings;
    size_t n_unknown;     /* containers whose verdict is unknown (not counted as errors) */
    int allow_unknown;    /* the user accepts unknown verdicts (--allow-unknown): shown as such */
    compat_model *models; /* the top-level files, identified (and load-checked) */
    size_t n_models;
    compat_report_runtime *runtimes; /* the XGBoost libraries of the load checks */
    size_t n_runtimes;
    char *runtime; /* the XGBoost used for load checks ("XGBoost 1.7.4 (path)", several joined
                      by "; "), or NULL */
} compat_report;

/* Which XGBoost loads each container's models (compat_verify_opts.runtimes). */
typedef enum compat_runtimes {
    COMPAT_RUNTIMES_CACHED = 0, /* a container's cached runtime when there is one, else the
                                   stand-in (compat_runtime_choose) */
    COMPAT_RUNTIMES_NONE        /* the stand-in only: the library given, $SMXGB_XGBOOST_LIB or
                                   the system's */
} compat_runtimes;

/* A pinned version whose runtime could not be had (its fetch failed): the containers pinning
 * it are judged by the rules, and their evidence says why. */
typedef struct compat_runtime_missing {
    const char *version;
    const char *why;
} compat_runtime_missing;

typedef struct compat_verify_opts {
    const char *const *containers; /* tags or image tags; n_containers 0 = every version */
    size_t n_containers;
    const char *const *env; /* "KEY=VALUE" as the endpoint would set them */
    size_t n_env;
    artifact_limits limits;
    /* load checks: every identified model is loaded in a child process by each container's
     * XGBoost: its cached runtime (exact), else the stand-in (compat_runtime_choose); one load
     * per distinct library, whatever the number of containers */
    int no_load_check;       /* skip them */
    const char *xgboost_lib; /* the stand-in, used for every container when given; NULL:
                                $SMXGB_XGBOOST_LIB, else the system libxgboost */
    compat_runtimes runtimes;
    const char *cache_dir; /* the runtimes' cache; NULL: compat_cache_root's default */
    const compat_runtime_missing *missing; /* versions whose runtime could not be fetched */
    size_t n_missing;
    uint64_t load_max_bytes; /* models up to this size are kept whole and load-checked;
                                larger ones are identified as they stream and not loaded;
                                0 = COMPAT_IDENTIFY_MAX */
    const char *display;     /* the artifact as the user named it (hints); NULL = path */
    /* optional, for live progress: a load check of model file `entry` starts (done 0) and ends
     * (done 1; loaded: XGBoost loaded it; version: the XGBoost, or "") */
    void (*on_load_check)(const char *entry, int done, int loaded, const char *version, void *ctx);
    void *ctx;
    int allow_unknown; /* recorded in the report: unknown verdicts do not fail it */
} compat_verify_opts;

/* 1 when the report passes: no errors, and no unknown verdict unless they are allowed. */
int compat_report_ok(const compat_report *r);

/* The load check of cm that speaks for container res: the one by res's own XGBoost version
 * when there is one, else the one by its runtime (a stand-in); NULL when none (res NULL: the
 * first load that ran, else the first). */
const compat_loadcheck *compat_model_load(const compat_report *r, const compat_model *cm,
                                          const compat_result *res);

/* Look up KEY in a "KEY=VALUE" list (last one wins); NULL if absent. */
const char *compat_env_get(const char *const *env, size_t n, const char *key);

/*
 * Check the artifact at path: the archive, then each container's layout. Returns SMX_OK with
 * *out set whenever the file could be read (the report says what is wrong with it); SMX_EINVAL
 * for an unknown container tag; SMX_EIO if it cannot be read.
 */
int compat_verify(const char *path, const compat_verify_opts *o, compat_report **out, smx_err *err);
void compat_report_free(compat_report *r);

#define COMPAT_IDENTIFY_MAX (32ull << 20) /* larger: not kept whole, so not load-checked */

/* ---- convert: the model of an artifact made to load correctly in one container ------------ */

typedef struct compat_convert_opts {
    const char *container;    /* the tag (or image tag) to convert for */
    const char *output;       /* where the result goes (smx_out_open: "-" is stdout) */
    const char *xgboost_lib;  /* the runtime that re-saves when given; NULL: the container's
                                 cached runtime (compat_runtime_choose), else $SMXGB_XGBOOST_LIB,
                                 else the system libxgboost */
    compat_runtimes runtimes; /* NONE: never the cached runtime */
    const char *cache_dir;    /* NULL: compat_cache_root's default */
    artifact_limits limits;
    uint64_t load_max_bytes; /* the largest model loaded in a child process (as verify's);
                                0 = COMPAT_IDENTIFY_MAX */
    int64_t mtime;           /* entry mtime of a package written (SOURCE_DATE_EPOCH or 0) */
    const char *display;     /* the artifact as the user named it; NULL = path */
} compat_convert_opts;

/* A file of the artifact that is not in the result, and why. */
typedef struct compat_dropped {
    char *path;
    const char *why; /* "a dotfile", "not a model file: ...", "not a regular file" */
} compat_dropped;

typedef enum compat_convert_action {
    COMPAT_CONVERT_REFUSED = 0, /* nothing written: reason says why */
    COMPAT_CONVERT_COPIED,      /* the artifact already loads correctly: written unchanged */
    COMPAT_CONVERT_REPACKAGED,  /* the model loads as it is, once packaged as xgboost-model at
                                   the top (from a sub-folder, without the dropped files) */
    COMPAT_CONVERT_RESAVED      /* re-saved by the runtime in a format the container reads */
} compat_convert_action;

typedef struct compat_conversion {
    compat_convert_action action;
    char reason[2 * SMX_ERRMAX];       /* refused: why */
    const compat_container *container; /* the one converted for */
    char *entry;                       /* the model file in the artifact (NULL: none chosen) */
    compat_dropped *dropped;           /* other files of the artifact, left out */
    size_t n_dropped;
    /* the model as it was, and its verdict in the container as a top-level xgboost-model */
    compat_format from_format;
    compat_payload from_payload;
    char from_detail[160], from_writer[32];
    int from_verdict;
    /* a re-save: the format chosen, the runtime's version, the proof */
    const char *to_format; /* "deprecated", "ubj", "json" */
    char to_writer[32];
    uint64_t rows;
    double max_diff;
    /* what was written */
    int verdict; /* the container's verdict for the result */
    char sha256[65];
    uint64_t bytes;
} compat_conversion;

/*
 * Make the model of the artifact at path load correctly in o->container and write the result
 * to o->output: the artifact unchanged when it already does; else its one model file (found
 * at any depth; dotfiles and files that are not models dropped, each named in out->dropped)
 * packaged as xgboost-model at the top, re-saved first by the runtime when the container would
 * not load it correctly as it is (the re-save is proven by equal predictions on generated
 * rows and by the container's rules, and the result verified once more). Scratch goes to a
 * private directory in $TMPDIR. Returns SMX_OK with *out filled (out->action REFUSED with the
 * reason when it cannot be done), SMX_EINVAL for an unknown container or an output that is an
 * input, SMX_EIO when the artifact cannot be read or the output or scratch cannot be written,
 * SMX_ENOMEM.
 */
int compat_convert(const char *path, const compat_convert_opts *o, compat_conversion *out,
                   smx_err *err);
void compat_conversion_free(compat_conversion *c);

/* The identified model for entry index `entry` of the report, or NULL. */
const compat_model *compat_report_model(const compat_report *r, size_t entry);

#endif
