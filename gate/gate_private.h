/*
 * Private to gate/: names its files share that are not part of the public header. They carry
 * the gate__ prefix.
 */
#ifndef SMXGB_GATE_PRIVATE_H
#define SMXGB_GATE_PRIVATE_H

#include "gate.h"

/* curl_global_init, once per process. */
int gate__curl_init(smx_err *err);

/* Append s (len bytes) to out as text a report can carry (probe.c): valid UTF-8, newlines and
 * tabs kept, CRLF as LF, any other control character or invalid byte as '?'. */
int gate__printable(smx_buf *out, const char *s, size_t len);

/* ---- downloads (fetch.c), shared with S3 prefix listings (fetchprefix.c) ------------------- */

/* A new 0600 file $TMPDIR/STEM-XXXXXX (opts->tmpdir overrides), registered as scratch: the
 * caller removes it with smx_scratch_remove. Returns its descriptor, or -1 with err set. */
int gate__temp_file(const gate_fetch_opts *opts, const char *stem, char **path, smx_err *err);
/* GET url (signed when is_s3 and credentials are set) into fd, which is path, with opts'
 * retries, low-speed limit, deadline and size caps; size and ETag checked. */
int gate__fetch_fd(const char *src, const char *url, const gate_fetch_opts *opts, int is_s3, int fd,
                   const char *path, gate_fetch_info *info, smx_err *err);

/* ---- the configuration section of plan JSON (planconfig.c) --------------------------------- */

/* s without its "[...]" instance keys: module.ml["a"].aws_x.y[0] -> module.ml.aws_x.y
 * (malloc'd, NULL when out of memory). */
char *gate__strip_indexes(const char *s);
/* The configuration of module ("" root, "module.a.module.b", keys ignored) below root. */
json_t *gate__config_module(json_t *root, const char *module);
/* The configuration resource of address (full, with its module) in module, or NULL. */
json_t *gate__config_resource(json_t *root, const char *module, const char *address);
/* An expression's literal string (constant_value), or NULL. */
const char *gate__config_string(json_t *expr);
/* Append to *refs (*n of them, each malloc'd, no duplicates) the resources an expression's
 * references name, qualified with module and without keys ("module.ml.aws_s3_object.model",
 * "data.aws_ecr_image.x"); references to variables, locals, count, modules are left out. */
int gate__config_refs(json_t *expr, const char *module, char ***refs, size_t *n, smx_err *err);

/* ---- the plan's own uploads as a model's data (planupload.c) ------------------------------- */

typedef enum gate__upload_kind {
    GATE__UPLOAD_MATCH,    /* writes the model data: its bytes are the artifact */
    GATE__UPLOAD_MAYBE,    /* may write it: part of its destination is known only after apply */
    GATE__UPLOAD_UNDER,    /* writes an object under the model data's S3 prefix */
    GATE__UPLOAD_UNCHANGED /* writes it, but the plan does not change it: S3 keeps its bytes */
} gate__upload_kind;

typedef struct gate__upload {
    const gate_plan_object *o;
    gate__upload_kind kind;
    char how[640];  /* how it was matched: "matched by bucket and key", ... */
    char uri[1100]; /* "s3://bucket/key" when both are known, else "" */
} gate__upload;

/* The uploads of plan p that concern container k's model data at uri (an S3 prefix when
 * prefix; NULL when the location is known only after apply: matched through the
 * configuration). *v is malloc'd (NULL when *n is 0). */
int gate__uploads(const gate_plan *p, const gate_plan_container *k, const char *uri, int prefix,
                  gate__upload **v, size_t *n, smx_err *err);

/* The bytes upload u puts in S3 as a local file *local (malloc'd): its source, relative to root
 * (NULL: the current directory; root_from says how root was chosen), or its content /
 * content_base64 written into a scratch directory *scratch (the caller removes it with
 * smx_scratch_remove). Notes on c say which upload, which file and how it was matched. 0; -1
 * out of memory; -2 when it cannot be had and c says why (a missing source is an io_error, bytes
 * known only after apply make c unknown). */
int gate__upload_file(gate_case *c, const gate__upload *u, const char *root, const char *root_from,
                      char **local, char **scratch);

/* ---- uncompressed model data (uncompressed.c) ---------------------------------------------- */

/* Package local (a directory tree, or one file placed as key_name) as the model directory
 * SageMaker builds from an uncompressed source: a temporary archive *tar (malloc'd, scratch; the
 * caller removes it with smx_scratch_remove). */
int gate__package_uncompressed(const char *local, const char *key_name, char **tar, smx_err *err);

/* ---- the steps of a check (check.c), shared with the plan walk (planrun.c) ------------------ */

/* Tell o's on_stage, if any, about e. */
void gate__stage(const gate_check_opts *o, const gate_stage_event *e);

/* An s3:// source downloaded without credentials (unsigned requests): an info note on c saying
 * so; nothing for other sources or with credentials. */
void gate__note_unsigned(gate_case *c, const char *src);

/*
 * Verify local against tags (n 0 = every version) and note what each container would do: one
 * case per container is added to r, or `into` is filled when given and exactly one container
 * is checked. A verify that cannot run is an io_error case. *rep is the report (NULL if verify
 * did not run; the caller frees it). SMX_ENOMEM when a case cannot be added.
 */
int gate__verify(gate_report *r, gate_case *into, const char *name, const char *source,
                 const char *local, const char *const *tags, size_t n, const gate_check_opts *o,
                 compat_report **rep, smx_err *err);

/* Serve local with container tag (NULL: the server's default) through o->launch, probe it
 * with the sample or rows as wide as the model (rep), stop it; the outcome goes into c. */
void gate__serve(gate_case *c, const char *local, const char *tag, const compat_report *rep,
                 const gate_check_opts *o);

#endif
