/*
 * gate: what smxgb needs to stand between `terraform plan` and `terraform apply`.
 *
 *   probe   does to a running server what SageMaker does to a new container: GET /ping with a
 *           2 s timeout every interval until 200 with an empty body or the startup window ends,
 *           then one POST /invocations that must be accepted within 250 ms, answer 2xx within
 *           60 s and return at most 6 MiB (libcurl).
 *   fetch   turns an artifact source (a path, s3://bucket/key, https://...) into a local file:
 *           SigV4-signed S3 GETs (libcurl CURLOPT_AWS_SIGV4), streamed to a scratch file,
 *           size and ETag checked, retried with backoff on 5xx and stalls, within a deadline
 *           and a size cap.
 *   plan    reads `terraform show -json` output: every aws_sagemaker_model container (image,
 *           model data, environment), every endpoint configuration variant (startup and
 *           download timeouts, serverless limits) and every S3 upload, with values unknown
 *           until apply marked and the configuration's references of each.
 *   report  what check and plan found: one case per model container and container version
 *           (pass, fail, unknown or skip), rendered as text, JSON, JUnit XML and GitHub
 *           Actions annotations (as data).
 *   check   an artifact source verified for each container version, then served (by a
 *           launcher the caller gives) and probed: the cases of `smxgb check`.
 *   plan check  every model container of a parsed plan: what the plan gets wrong, then its
 *           artifact checked as `check` does: the cases of `smxgb plan`.
 *
 * Library code: nothing here prints or exits; callers get an SMX_* status, an smx_err message,
 * and optional callbacks for live progress.
 */
#ifndef SMXGB_GATE_H
#define SMXGB_GATE_H

#include "../artifacts/artifacts.h"
#include "../compat/compat.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- probe ------------------------------------------------------------------------------- */

/* SageMaker's numbers (hosting contract); see gate_probe_opts_default. */
#define GATE_PING_TIMEOUT           2.0   /* "The request timeout on /ping attempts is 2 seconds" */
#define GATE_PING_INTERVAL          5.0   /* SDK local mode polls every 5 s */
#define GATE_STARTUP_TIMEOUT        240.0 /* "4 minutes after startup" (last documented default) */
#define GATE_STARTUP_MIN            60.0  /* ContainerStartupHealthCheckTimeoutInSeconds range */
#define GATE_STARTUP_MAX            3600.0
#define GATE_CONNECT_TIMEOUT        0.25 /* "accept socket connection requests within 250 ms" */
#define GATE_INVOKE_TIMEOUT         60.0 /* "must respond to requests within 60 seconds" */
#define GATE_MAX_PAYLOAD            ((size_t)6291456) /* InvokeEndpoint body limit, 6 MiB */
#define GATE_SERVERLESS_MAX_PAYLOAD ((size_t)4000000) /* serverless: 4 MB */

typedef enum gate_step { GATE_STEP_PING, GATE_STEP_INVOKE } gate_step;

typedef enum gate_outcome {
    GATE_OK = 0,       /* ping: 200 with an empty body; invoke: 2xx within limits */
    GATE_REFUSED,      /* nothing listening / connection reset */
    GATE_CONNECT_SLOW, /* connection not accepted within the connect timeout */
    GATE_TIMEOUT,      /* no (complete) answer within the request timeout */
    GATE_BAD_STATUS,   /* an HTTP status other than the one required */
    GATE_PING_BODY,    /* ping answered 200 but with a body */
    GATE_TOO_LARGE,    /* response (or request) larger than the payload limit */
    GATE_NET_ERROR,    /* any other transport error */
    GATE_SERVER_GONE   /* the watched server process exited */
} gate_outcome;

const char *gate_outcome_name(gate_outcome o);

typedef struct gate_attempt {
    gate_step step;
    int n;               /* 1-based attempt number within its step */
    double t_start;      /* seconds since the probe started */
    double duration;     /* seconds the attempt took */
    double connect_time; /* seconds until the connection was accepted (0 if never) */
    long status;         /* HTTP status, 0 if none */
    gate_outcome outcome;
    size_t body_len; /* response body bytes received */
    char what[320];  /* one line for a timeline: "200, empty body", "timed out after 2.0 s" */
} gate_attempt;

typedef struct gate_probe_opts {
    const char *url;        /* base URL: "http://127.0.0.1:8080" (a trailing '/' is fine) */
    double startup_timeout; /* seconds the container has to pass /ping */
    double interval;        /* seconds between the starts of two /ping attempts */
    double ping_timeout;    /* per /ping request */
    double connect_timeout; /* per connection */
    double invoke_timeout;  /* the /invocations request */
    size_t max_payload;     /* request and response body limit */
    /* the sample for /invocations; sample NULL = ping only */
    const void *sample;
    size_t sample_len;
    const char *content_type;
    const char *accept; /* NULL = no Accept header */
    /* optional: called between attempts; return 0 when the server is known to be gone */
    int (*alive)(void *ctx);
    /* optional: called after each attempt, for a live timeline */
    void (*on_attempt)(const gate_attempt *a, void *ctx);
    void *ctx;
} gate_probe_opts;

/* SageMaker's timings; url and sample left NULL. */
void gate_probe_opts_default(gate_probe_opts *o);

/* The Content-Type a sample file's extension names, in any case: .csv text/csv; .libsvm, .svm
 * text/libsvm; .pbr, .rec, .recordio, .protobuf application/x-recordio-protobuf; .parquet
 * application/x-parquet. NULL for any other name. */
const char *gate_sample_content_type(const char *path);

typedef struct gate_probe_result {
    gate_attempt *attempts;
    size_t n_attempts;
    int healthy; /* /ping passed and, with a sample, /invocations passed */
    int ping_ok;
    double ping_ok_at; /* seconds from start to the first healthy /ping */
    int invoked;       /* an /invocations request was made */
    int invoke_ok;
    long invoke_status;
    char *invoke_body; /* the first bytes of the response (NUL-terminated, <= 4 KiB) */
    char *invoke_content_type;
    /* the whole body (its first 4 KiB; control characters but newlines and tabs as '?') of the
     * answer that failed the probe: the /invocations error, or the last failed /ping answer that
     * had a body; NULL if none */
    char *error_body;
    double elapsed;
    char verdict[1024]; /* one sentence: why healthy or not (the body is in error_body) */
} gate_probe_result;

/*
 * Run the probe. Returns SMX_OK whenever the probe ran (result->healthy says the verdict);
 * SMX_EINVAL for bad options; SMX_ERUNTIME if libcurl cannot be set up.
 */
int gate_probe(const gate_probe_opts *o, gate_probe_result *result, smx_err *err);
void gate_probe_result_free(gate_probe_result *r);

/* ---- fetch: artifact sources ------------------------------------------------------------- */

/* The default deadline of a download: 60 s plus 1 s per 512 KiB announced. */
#define GATE_FETCH_DEADLINE_BASE 60.0
#define GATE_FETCH_DEADLINE_RATE (512.0 * 1024)
/* The default cap of a body whose size the server does not announce: 2 GiB. */
#define GATE_FETCH_MAX_UNSIZED ((uint64_t)2 << 30)

/* 1 for "s3://..." and "https://" / "http://" sources, 0 for local paths. */
int gate_source_is_remote(const char *src);
/* 1 when the environment has the credentials s3:// downloads are signed with
 * (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); without them requests go unsigned. */
int gate_s3_credentials(void);

typedef struct gate_fetch_opts {
    const char *s3_endpoint; /* NULL: $AWS_ENDPOINT_URL_S3, else AWS (virtual-hosted style) */
    const char *region;      /* NULL: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1 */
    const char *tmpdir;      /* NULL: $TMPDIR or /tmp */
    int retries;             /* extra attempts on 5xx / timeouts / resets */
    double backoff;          /* first retry delay in seconds, doubled each time */
    /* a transfer slower than low_speed_limit bytes/s for low_speed_time seconds is abandoned
     * (and retried); defaults 1024 and 30 */
    uint64_t low_speed_limit;
    double low_speed_time;
    /* seconds the whole download may take, retries included; 0: GATE_FETCH_DEADLINE_BASE
     * seconds plus one per GATE_FETCH_DEADLINE_RATE bytes the server announces */
    double deadline;
    uint64_t max_bytes;   /* refuse larger objects (0 = no limit) */
    uint64_t max_unsized; /* a body without Content-Length stops here (0: GATE_FETCH_MAX_UNSIZED) */
    /* optional progress: bytes so far, total (0 unknown) */
    void (*progress)(uint64_t now, uint64_t total, void *ctx);
    void *ctx;
    /* a retry after part of the body arrived continues where it stopped (an HTTP Range
     * request) when the server announced Accept-Ranges: bytes; else it starts again */
    int resume;
    const char *accept; /* the Accept header, or NULL: libcurl's */
    /* the CA certificates to trust for https://: a file (PEM bundle); NULL: $CURL_CA_BUNDLE,
     * else $SSL_CERT_FILE, else the system's. $SSL_CERT_DIR names a directory of them. */
    const char *ca_bundle;
} gate_fetch_opts;

void gate_fetch_opts_default(gate_fetch_opts *o);

typedef struct gate_fetch_info {
    char *url;            /* the URL requested (malloc'd) */
    char final_url[2048]; /* where it was answered, after redirects */
    uint64_t bytes;       /* bytes written */
    char etag[128];       /* as sent by the server, quotes removed; "" if none */
    int etag_checked;     /* the ETag was a plain MD5 and it matched */
    int attempts;
    int resumed;            /* attempts that continued a partial body */
    long status;            /* the HTTP status of the last answer (0: none) */
    char content_type[128]; /* its Content-Type, "" if none */
} gate_fetch_info;

/*
 * Download src into a new temporary file (mode 0600, $TMPDIR/smxgb-src-*, registered as scratch
 * so that a signal removes it) and return its path in *local (malloc'd; the caller removes it
 * with smx_scratch_remove). Local paths are not copied: *local is a copy of src. The download
 * ends at the deadline, a stall below the low-speed limit is retried, a body without
 * Content-Length stops at max_unsized; each says how many bytes of how many arrived. Errors:
 * SMX_EINVAL bad source, SMX_EIO network/HTTP/disk failures with a message that says what to
 * do.
 */
int gate_fetch(const char *src, const gate_fetch_opts *o, char **local, gate_fetch_info *info,
               smx_err *err);
void gate_fetch_info_free(gate_fetch_info *i);

/*
 * Download every object under an S3 prefix (s3://bucket/prefix/, ListObjectsV2) into a new
 * private temporary directory (registered as scratch), the prefix trimmed from each key as
 * SageMaker does for CompressionType None + S3Prefix. Keys with '.' or '..' components are
 * refused. *local_dir is malloc'd; the caller removes the tree (smx_scratch_remove).
 */
int gate_fetch_prefix(const char *s3prefix, const gate_fetch_opts *o, char **local_dir,
                      size_t *n_objects, smx_err *err);

/* One page of a ListObjectsV2 answer: the keys under prefix (folder markers dropped). */
typedef struct gate_s3_list {
    char **keys;
    size_t n;
    int truncated;
    char *token; /* NextContinuationToken, or NULL */
} gate_s3_list;

/* Parse a ListObjectsV2 XML body (buf, len). SMX_EUNSAFE for a key whose name below the
 * prefix is absolute or has '.' / '..' components; SMX_EFORMAT for a NUL byte. */
int gate_s3_list_parse(const char *buf, size_t len, const char *prefix, gate_s3_list *l,
                       smx_err *err);
void gate_s3_list_free(gate_s3_list *l);

/* The HTTPS URL an s3:// source is fetched from with these options (malloc'd). */
int gate_s3_url(const char *s3uri, const gate_fetch_opts *o, char **url, smx_err *err);

/* ---- the package index: wheels from PyPI, a mirror or a folder (index.c) ------------------ */

#define GATE_INDEX_DEFAULT "https://pypi.org/simple/"

typedef struct gate_index_file {
    char *filename;
    char *url;       /* an absolute http(s) URL, or a local path (find-links) */
    char sha256[65]; /* as the index publishes it (lower case), "" when it publishes none */
    int yanked;      /* PEP 592: still installable when pinned with == */
    int local;       /* from a find-links folder */
} gate_index_file;

typedef struct gate_index_list {
    gate_index_file *files;
    size_t n;
    char where[1100]; /* what was asked: the page's URL, or the folder */
} gate_index_list;
void gate_index_list_free(gate_index_list *l);

typedef struct gate_index_opts {
    /* the index, as pip's --index-url: NULL: $PIP_INDEX_URL, else GATE_INDEX_DEFAULT. A URL
     * whose path ends in /pypi is the JSON API (URL/PROJECT/VERSION/json); any other a simple
     * API (URL/PROJECT/, PEP 691 JSON asked for, PEP 503 HTML taken) */
    const char *index_url;
    const char *const *find_links; /* folders of wheels, as pip's --find-links DIR */
    size_t n_find_links;
    int no_index;          /* the folders only (pip's --no-index) */
    gate_fetch_opts fetch; /* limits, retries, progress; proxy and CA from the environment */
} gate_index_opts;

/*
 * The files of project's version: from the find-links folders (from_index 0) or from the
 * index (1). Files of other projects or versions are left out; names that are not plain file
 * names, hashes that are not 64 hex digits and URLs that are not http(s) are ignored. An index
 * that has no such project (404) or answers an error says so (SMX_EIO).
 */
int gate_index_list_files(const gate_index_opts *o, const char *project, const char *version,
                          int from_index, gate_index_list *l, smx_err *err);
/* The parsers of an index's answers (base: the URL that answered, for relative links): a PEP
 * 503 HTML page, and JSON (PEP 691 files[], or the JSON API's urls[]). Files are appended. */
int gate_index_parse_html(const char *buf, size_t len, const char *base, const char *project,
                          const char *version, gate_index_list *l, smx_err *err);
int gate_index_parse_json(const char *buf, size_t len, const char *base, const char *project,
                          const char *version, gate_index_list *l, smx_err *err);

/* ---- runtimes: each container's own XGBoost, fetched and cached (runtime.c) --------------- */

typedef struct gate_runtime_opts {
    gate_index_opts index;
    const char *cache_dir;            /* NULL: compat_cache_root's default */
    const compat_load_limits *limits; /* for the helper that opens the library; NULL: defaults */
    /* optional, with ctx: another process is fetching the same version (this one waits); a
     * download starts (done 0) and ends (done 1) */
    void (*on_wait)(const char *version, void *ctx);
    void (*on_download)(const char *version, const gate_index_file *f, int done, void *ctx);
    void *ctx;
} gate_runtime_opts;

typedef enum gate_runtime_outcome {
    GATE_RUNTIME_CACHED,  /* it was in the cache, intact: nothing downloaded */
    GATE_RUNTIME_FETCHED, /* downloaded (or taken from a folder), verified and cached */
    GATE_RUNTIME_NO_WHEEL /* no file of that version runs on this machine (why says what there is)
                           */
} gate_runtime_outcome;

typedef struct gate_runtime_result {
    gate_runtime_outcome outcome;
    compat_runtime runtime; /* CACHED, FETCHED: the cached runtime */
    char wheel[256];        /* FETCHED: the file chosen */
    char from[2048];        /* its URL or path */
    int sha256_published;   /* the index published its sha256 (and it matched) */
    uint64_t bytes;         /* downloaded */
    int attempts, resumed;  /* of the download */
    char why[SMX_ERRMAX];   /* NO_WHEEL: the files there are and why none runs here */
} gate_runtime_result;

/*
 * Make XGBoost `version`'s runtime for this machine available in the cache: a cached, intact
 * one is used; else the wheel pip would choose here (compat_wheel_rank: the newest manylinux
 * tag this glibc runs) is taken from the find-links folders, else downloaded from the index
 * (retried, resumed, within the download limits), then installed with compat_runtime_install
 * (published sha256, this machine's library, opened in the helper, exactly that version). Two
 * processes fetching one version share one download (compat_runtime_lock). SMX_OK with
 * r->outcome; errors say which step failed: the index (SMX_EIO), the download (SMX_EIO), the
 * file (SMX_EFORMAT: sha256, not a wheel, another version inside), the library does not run
 * here (SMX_ERUNTIME).
 */
int gate_runtime_fetch(const char *version, const gate_runtime_opts *o, gate_runtime_result *r,
                       smx_err *err);

/* One version's fetch in a run (gate_runtimes). */
typedef struct gate_runtime_try {
    char version[32];
    int rc;                /* gate_runtime_fetch's status */
    gate_runtime_result r; /* its result when rc is SMX_OK */
    char error[SMX_ERRMAX];
    int ok; /* the runtime is cached now */
} gate_runtime_try;

/* The runtimes a run fetches (--runtimes fetch): each pinned version at most once per run,
 * whatever the number of artifacts and containers. Zero it, set opts; free with
 * gate_runtimes_free. */
typedef struct gate_runtimes {
    const gate_runtime_opts *opts;
    /* optional, with opts->ctx: a version's fetch has ended (cached, fetched or failed) */
    void (*on_result)(const gate_runtime_try *t, void *ctx);
    gate_runtime_try *tried;
    size_t n, cap;
    compat_runtime_missing *missing; /* the versions not to be had, for compat_verify */
    size_t n_missing;
} gate_runtimes;

/*
 * Fetch the runtime of every version the containers pin (tags: container tags or image tags;
 * n 0: every container), each version once per run (one already tried is not tried again).
 * A version that cannot be had (no wheel for this machine, a download or a check that failed)
 * is no error of the run: it is in rs->missing with why, for compat_verify_opts.missing, and
 * its containers are judged by the rules. SMX_EINVAL for an unknown tag, SMX_ENOMEM.
 */
int gate_runtimes_fetch(gate_runtimes *rs, const char *const *tags, size_t n, smx_err *err);
void gate_runtimes_free(gate_runtimes *rs);

/* ---- plan: terraform show -json ---------------------------------------------------------- */

/* A string field of the plan: known, absent, or unknown until apply. */
typedef struct gate_value {
    char *s;     /* NULL when absent or unknown */
    int unknown; /* known only after apply */
} gate_value;

typedef struct gate_plan_container {
    char *model_address;   /* "module.ml.aws_sagemaker_model.xgb" */
    char *module_address;  /* "module.ml" or "" for the root module */
    gate_value model_name; /* the SageMaker model name */
    char *actions;         /* "create", "update", "delete,create", "no-op" ... */
    const char *block;     /* "primary_container" or "container" */
    int index;             /* position in the block */
    gate_value image;
    gate_value mode; /* SingleModel | MultiModel */
    gate_value model_data_url;
    int has_data_source; /* a model_data_source block is present */
    gate_value s3_uri, s3_data_type, compression_type;
    int env_unknown;           /* the environment map (or part of it) is unknown until apply */
    int env_unknown_sagemaker; /* ... and it is the whole map or a SAGEMAKER_* key */
    char **env;                /* "KEY=VALUE" */
    size_t n_env;
    /* from the configuration: the resources model_data_url (or s3_uri) is built from, module-
     * qualified and without indexes ("aws_s3_object.model", "module.ml.aws_s3_bucket.models") */
    char **data_refs;
    size_t n_data_refs;
    /* from the configuration: the tag of an image pinned by digest, when its expression refers
     * to a data source that names one (data.aws_ecr_image with a literal image_tag), and where
     * it was found; NULL when none */
    char *image_tag;
    char *image_tag_from;
} gate_plan_container;

typedef struct gate_plan_variant {
    char *config_address; /* "aws_sagemaker_endpoint_configuration.ec" */
    char *module_address;
    char *variant_name; /* may be NULL */
    int shadow;         /* from shadow_production_variants */
    gate_value model_name;
    char *model_ref;       /* from configuration: the model resource address it references */
    long startup_timeout;  /* -1 = not set, -2 = unknown until apply */
    long download_timeout; /* same */
    int serverless;
    long memory_size_mb; /* -1 / -2 as above */
    long max_concurrency;
    char *instance_type; /* may be NULL */
} gate_plan_variant;

/* An upload: an aws_s3_object (or the older aws_s3_bucket_object) in the plan. What the plan
 * puts at its bucket and key is a local file (source) or bytes in the plan itself (content,
 * content_base64). */
typedef struct gate_plan_object {
    char *address;        /* "module.ml.aws_s3_object.model" */
    char *module_address; /* "" for the root module */
    const char *type;     /* "aws_s3_object" or "aws_s3_bucket_object" */
    char *actions;        /* "create", "update", "delete,create", "no-op", "planned" ... */
    gate_value bucket;    /* when unknown, the planned name of the bucket it refers to, if known */
    char *bucket_ref;     /* the aws_s3_bucket its bucket refers to in the configuration, module-
                           * qualified ("module.ml.aws_s3_bucket.models"), or NULL */
    int bucket_via_ref;   /* bucket.s is bucket_ref's planned name (the object's own is unknown) */
    gate_value key;
    gate_value source; /* a path: relative ones are relative to Terraform's working directory */
    gate_value content, content_base64;
    gate_value etag;   /* as planned (filemd5(source) in the usual configuration) */
    char **build_cmds; /* local-exec commands in the configuration of its module */
    size_t n_build_cmds;
} gate_plan_object;

typedef struct gate_plan {
    char *format_version;
    char *terraform_version;
    gate_plan_container *containers;
    size_t n_containers;
    gate_plan_variant *variants;
    size_t n_variants;
    gate_plan_object *objects;
    size_t n_objects;
    size_t n_models; /* aws_sagemaker_model resources seen (including ones without containers) */
} gate_plan;

/*
 * Parse `terraform show -json PLANFILE` output (buf, len). Accepts format_version 1.x and
 * ignores unknown keys. Reads resource_changes (create/update/replace/no-op; deletes are
 * skipped) or, when a file has none, planned_values (root and child modules): the SageMaker
 * models, endpoint configurations and S3 uploads, with the configuration's references of each.
 * Returns SMX_EFORMAT with the reason for anything that is not a plan: not JSON, another
 * format_version, `terraform show -json` of a state (values but no planned_values or
 * resource_changes), any other JSON.
 */
int gate_plan_parse(const char *buf, size_t len, gate_plan **out, smx_err *err);
void gate_plan_free(gate_plan *p);

/* Look up KEY in a container's environment; NULL if absent. */
const char *gate_plan_env(const gate_plan_container *c, const char *key);

/* 1 when endpoint variant v serves container k: the same SageMaker model name, or (a name known
 * only after apply) a configuration reference to k's model resource, indexes ignored. */
int gate_plan_variant_uses(const gate_plan_variant *v, const gate_plan_container *k);

/* ---- reports: what check and plan found ---------------------------------------------------- */

typedef struct gate_note {
    artifact_severity sev;
    int unknown; /* a fact the verdict rests on could not be established (sev is a warning);
                  * hint says what would settle it */
    char *code;
    char *text;
    char *hint; /* may be NULL */
} gate_note;

/* One model container (plan) or artifact (check) checked against one container version. */
typedef struct gate_case {
    char *name;      /* "module.ml.aws_sagemaker_model.xgb primary_container[0]" or the artifact */
    char *container; /* container version, or NULL */
    char *artifact;  /* the source as given, or NULL */
    gate_note *notes;
    size_t n_notes;
    int errors, warnings;
    int unknown;    /* unknown notes: the verdict is not ok unless the report allows them */
    int skipped;    /* nothing could be checked (a reason is among the notes) */
    int io_error;   /* the artifact could not be read or downloaded */
    int incomplete; /* out of memory: a note was counted but could not be stored */
    double seconds;
    json_t *verify; /* the verify report (see gate_check_opts.verify_json), or NULL */
    json_t *probe;  /* the health check (gate_probe_json), or NULL */
} gate_case;

typedef struct gate_report {
    const char *verb; /* "check" | "plan" */
    const char *file; /* the file annotations point at (the plan), or NULL */
    gate_case **cases;
    size_t n;
    /* notes about the run as a whole (an --artifact mapping that matches no model...) */
    gate_note *notes;
    size_t n_notes;
    int incomplete;    /* out of memory: a report note could not be stored */
    int allow_unknown; /* the user accepts unknown cases (--allow-unknown); the report says so */
} gate_report;

/* Add a case (strings are copied). NULL when out of memory. */
gate_case *gate_report_add(gate_report *r, const char *name, const char *container,
                           const char *artifact);
/* Add a note to a case; errors and warnings are counted even when out of memory. */
void gate_case_note(gate_case *c, artifact_severity sev, const char *code, const char *hint,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A fact the case's verdict rests on could not be established: an unknown note (counted even
 * when out of memory); settle says what would establish it. */
void gate_case_unknown(gate_case *c, const char *code, const char *settle, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A note about the whole run (a warning or information, not tied to one case). */
void gate_report_note(gate_report *r, artifact_severity sev, const char *code, const char *hint,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* "fail" (it has errors), "unknown" (a fact it rests on is unknown), "skip" (nothing could be
 * checked) or "pass". */
const char *gate_case_status(const gate_case *c);
/* 1 when the gate passes: no case has errors, and none is unknown unless r->allow_unknown. */
int gate_report_ok(const gate_report *r);
/* SMX_ENOMEM (with a message) when a case is incomplete, else SMX_OK. */
int gate_report_status(const gate_report *r, smx_err *err);
void gate_report_free(gate_report *r);

/* The readable report: a PASS/FAIL/UNKNOWN/SKIP block per case, the report's notes, then one
 * summary line. */
int gate_report_text(const gate_report *r, smx_buf *out);
/* {"verb", "file"?, "ok", "allow_unknown", "findings": [...], "cases": [{"name", "container",
 * "artifact", "status", "seconds", "findings": [{"severity", "code", "message", "hint"}],
 * "verify"?, "probe"?}]}; an unknown note's severity is "unknown" and its hint what would
 * settle it. NULL when out of memory. */
json_t *gate_report_json(const gate_report *r);
/* JUnit XML: one testsuite, one testcase per case (failure: its errors; skipped: its reason). */
int gate_report_junit(const gate_report *r, smx_buf *out);
/* GitHub Actions workflow commands: one ::error / ::warning line per error and warning. */
int gate_report_github(const gate_report *r, smx_buf *out);

/* A probe result as JSON (the schema of `smxgb probe --json`). */
json_t *gate_probe_json(const char *url, const gate_probe_result *r);

/* ---- check: verify, serve and probe an artifact -------------------------------------------- */

/* What a launcher needs to start a server for one artifact and container version. */
typedef struct gate_server_spec {
    const char *artifact;   /* the local model.tar.gz */
    const char *container;  /* container version tag, or NULL for the server's default */
    const char *const *env; /* KEY=VALUE: the endpoint's environment */
    size_t n_env;
    int port;   /* listen on 127.0.0.1:port */
    int log_fd; /* the server's stdout and stderr go here (gate reads it for failures) */
} gate_server_spec;

/*
 * Start a server as the caller's child process, in a process group of its own (*pid is its
 * process id and group id). gate probes it, reaps it, and stops it as SageMaker stops a
 * container: SIGTERM to the group, SIGKILL 5 s later. Returns SMX_OK with *pid set, or a status
 * with the reason in err.
 */
typedef int (*gate_server_launch_fn)(void *ctx, const gate_server_spec *s, pid_t *pid,
                                     smx_err *err);

/* The stages of a check, for live progress (gate_check_opts.on_stage). */
typedef enum gate_stage {
    GATE_STAGE_DOWNLOAD,   /* an s3:// or https:// source (or an S3 prefix) is downloaded */
    GATE_STAGE_VERIFY,     /* the artifact is verified (compat_verify) */
    GATE_STAGE_LOAD_CHECK, /* within verify: XGBoost loads one model file in a helper process */
    GATE_STAGE_SERVE,      /* a server runs for one case: from its launch until it is stopped */
    GATE_STAGE_PROBE       /* within serve: /ping until healthy, then /invocations */
} gate_stage;

/* "download", "verify", "load check", "serve", "probe". */
const char *gate_stage_name(gate_stage s);

typedef struct gate_stage_event {
    gate_stage stage;
    int done; /* 0: the stage starts; 1: it ended */
    /* download, verify: the source; load check: the model file in the archive; serve, probe:
     * the case's name */
    const char *what;
    const char *container; /* serve, probe: the container version, NULL for serve's default */
    const char *url;       /* serve, probe: where the server listens */
    int unsigned_s3;       /* download: an s3:// source fetched without credentials */
    /* when done */
    double seconds; /* how long it took */
    int ok;         /* downloaded, verified without errors, loaded, healthy, stopped as asked */
    uint64_t bytes; /* download: bytes received */
    /* a short result: "11 containers, 3 with errors", "XGBoost 1.7.4", the probe's verdict, "exited
     * with status 3", a download's error; or NULL */
    const char *detail;
} gate_stage_event;

typedef struct gate_check_opts {
    /* the endpoint's environment, for verify and the server; SAGEMAKER_PROGRAM means script
     * mode (the user's code decides what loads: load findings are information, nothing is
     * served) */
    const char *const *env;
    size_t n_env;
    const char *sample;       /* file for /invocations, or NULL: rows as wide as the model */
    const char *content_type; /* the sample's (NULL: text/csv) */
    const char *accept;       /* Accept header for /invocations, or NULL */
    double startup_timeout;   /* probe window; 0: SageMaker's */
    double interval;          /* between /ping attempts; 0: 0.5 s */
    size_t max_payload;       /* 0: 6 MiB */
    int no_serve;             /* verify only */
    /* starts the server for the health check; NULL: no health check (the case says so) */
    gate_server_launch_fn launch;
    void *launch_ctx;
    /* renders the verify report each case carries (e.g. as `smxgb verify --json`); NULL: none */
    json_t *(*verify_json)(const compat_report *rep);
    /* downloads of s3:// and https:// sources; NULL: gate_fetch_opts_default */
    const gate_fetch_opts *fetch;
    /* which XGBoost verify loads each container's models with (compat_verify_opts.runtimes);
     * fetch_runtimes, when set, fetches the runtimes the verified containers pin first, each
     * version once for the whole run (--runtimes fetch) */
    compat_runtimes runtimes;
    gate_runtimes *fetch_runtimes;
    /* optional, with ctx: each stage as it starts and ends; each probe attempt */
    void (*on_stage)(const gate_stage_event *e, void *ctx);
    void (*on_attempt)(const gate_attempt *a, void *ctx);
    void *ctx;
} gate_check_opts;

/*
 * A source as a local file: gate_fetch with o's download options, a remote one reported to
 * o->on_stage as the download stage. *tmp is 1 when the caller must remove *local
 * (smx_scratch_remove).
 */
int gate_check_fetch(const char *src, const gate_check_opts *o, char **local, int *tmp,
                     smx_err *err);

/*
 * Check one artifact source (a path, s3://bucket/key or https:// URL) against containers (n 0:
 * every version): download it, verify it (one case per container version), then serve and
 * probe each container asked for, or with none asked for the default container only. A
 * container whose verify failed is not served. The probe sample is o->sample, or 3 CSV rows as
 * wide as the model (its feature count from verify's load check, else from the model file).
 * Returns SMX_OK when the cases say what happened (an unreadable source is a case with
 * io_error); SMX_ENOMEM when the report could not be completed.
 */
int gate_check_source(gate_report *r, const char *source, const char *const *containers,
                      size_t n_containers, const gate_check_opts *o, smx_err *err);

/* ---- plan check: every model container of a plan ------------------------------------------ */

typedef struct gate_plan_check_opts {
    /* for every container; its env is replaced by the container's environment, a
     * startup_timeout of 0 becomes the endpoint configuration's window, and a serverless
     * endpoint's payload limit (4 MB) replaces max_payload */
    gate_check_opts check;
    /* "S3URI=LOCAL": use LOCAL for the model data at S3URI instead of downloading it (a
     * model.tar.gz, or for CompressionType None the file or the prefix's directory; a prefix
     * may be given with or without its trailing '/'). A mapping wins over an upload in the
     * plan; one that matches no model is a warning of the report. */
    const char *const *artifacts;
    size_t n_artifacts;
    /* "IMAGE=TAG": check the containers whose image is IMAGE (e.g. one pinned by digest) as
     * container version TAG */
    const char *const *images;
    size_t n_images;
    /* the directory relative `source` paths of uploads are relative to (where Terraform ran);
     * NULL: the current directory. root_from says how it was chosen, for the report ("the plan
     * file's directory", "--root") */
    const char *root;
    const char *root_from;
} gate_plan_check_opts;

/*
 * Check every model container of plan p: one case per container, named "ADDRESS BLOCK[i]".
 * What the plan itself gets wrong (image, model data URL, environment, endpoint timeouts,
 * serverless limits) is noted first. Then the artifact: an --artifact mapping, else the upload
 * in the same plan that writes the model data (matched by bucket and key, or through the
 * configuration's references when they are known only after apply; several candidates are
 * each checked, in cases of their own), else the object downloaded; it is checked as
 * gate_check_source does, against the container version the image names. A fact the verdict
 * needs that the plan leaves unknown (the model data location, an image pinned by digest, the
 * bytes of an upload) makes the case unknown, with what would settle it. Returns SMX_OK when
 * the cases say what happened; SMX_ENOMEM when the report could not be completed.
 */
int gate_plan_check(gate_report *r, const gate_plan *p, const gate_plan_check_opts *o,
                    smx_err *err);

#endif
