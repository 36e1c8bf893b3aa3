/*
 * smxgb verify ARTIFACT: read the artifact once and say, per container version, whether
 * SageMaker and the container would load it.
 */
#include "gate_cli.h"
#include "tools.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    str_list containers;
    str_list env;
    int json;
    uint64_t max_entries, max_bytes;
    double max_ratio;
    const char *xgboost_lib, *xgboost_wheel;
    int no_load_check, allow_unknown;
    uint64_t load_max_bytes;
    const char *s3_endpoint;
} o;

static const opt verify_opts[] = {
    {OPT_LIST, 'c', "container", &o.containers, "TAG",
     "check against this container version, image tag or image URI (repeatable; default: every "
     "version)"},
    {OPT_LIST, 'e', "env", &o.env, "KEY=VALUE",
     "endpoint environment, e.g. SAGEMAKER_INFERENCE_ENSEMBLE=false (repeatable)"},
    {OPT_FLAG, 0, "json", &o.json, NULL, "print the report as JSON"},
    {OPT_FLAG, 0, "allow-unknown", &o.allow_unknown, NULL,
     "an unknown verdict does not fail the report (exit 0; the report says it was allowed)"},
    {OPT_STRING, 0, "s3-endpoint", &o.s3_endpoint, "URL",
     "S3 endpoint for an s3:// ARTIFACT (default $AWS_ENDPOINT_URL_S3, else AWS)"},
    {OPT_INCLUDE, 0, NULL, gate_cli_fetch_opts, NULL, NULL},
    {OPT_U64, 0, "max-entries", &o.max_entries, "N",
     "refuse archives with more entries (default 10000)"},
    {OPT_U64, 0, "max-bytes", &o.max_bytes, "N",
     "refuse more uncompressed bytes, total or per entry (default 8G)"},
    {OPT_DOUBLE, 0, "max-ratio", &o.max_ratio, "R",
     "refuse an uncompressed:compressed ratio above R past 64 MiB (default 200)"},
    {OPT_STRING, 0, "xgboost-lib", &o.xgboost_lib, "PATH",
     "load-check with this libxgboost.so (default: $SMXGB_XGBOOST_LIB, else the system one)"},
    {OPT_STRING, 0, "xgboost-wheel", &o.xgboost_wheel, "FILE.whl",
     "load-check with the libxgboost.so bundled in this pip wheel (cached by sha256)"},
    {OPT_FLAG, 0, "no-load-check", &o.no_load_check, NULL,
     "do not load the models with XGBoost (rules only)"},
    {OPT_INCLUDE, 0, NULL, gate_cli_runtime_opts, NULL, NULL},
    {OPT_U64, 0, "load-max-bytes", &o.load_max_bytes, "N",
     "load-check model files up to N bytes, kept in memory for it (default 32M); larger ones "
     "are identified in full as they stream and reported not load-checked"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc verify_doc = {
    "verify",
    "smxgb verify ARTIFACT [--container TAG]... [--env KEY=VALUE]... [--runtimes WHEN]\n"
    "                      [--allow-unknown] [--json]",
    "check a model.tar.gz the way SageMaker and each container version read it",
    "ARTIFACT is a path, s3://bucket/key (AWS credentials from the environment) or an https://\n"
    "URL; remote artifacts are downloaded to a temporary file first.\n"
    "Reads the archive in one streaming pass (memory does not grow with its size) and reports:\n"
    "  - archive errors: not a gzip-compressed tar, truncated or corrupt, empty, limits exceeded;\n"
    "  - unsafe entries: absolute or '..' paths, links, devices, FIFOs, set-id bits, bad names,\n"
    "    one path stored twice with different content;\n"
    "  - per container version, how it lists /opt/ml/model: no file at the top level (a model\n"
    "    in a sub-folder is invisible), several files while SAGEMAKER_INFERENCE_ENSEMBLE is on\n"
    "    (every file is loaded as a model), dotfiles (skipped by 1.2-1 and 1.3-1+, loaded by\n"
    "    0.90-x, 1.0-1 and 1.2-2), a model not named xgboost-model, directories.\n"
    "Each finding has a stable code (see 'smxgb help codes') and names the containers it\n"
    "applies to. Container tags: 0.90-1 0.90-2 1.0-1 1.2-1 1.2-2 1.3-1 1.5-1 1.7-1 1.7-1-1\n"
    "3.0-5 3.2-0; image tags such as 1.7-1-cpu-py3 or 1.5-1-arm64 and sagemaker-xgboost image\n"
    "URIs (683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1) are accepted\n"
    "too.\n\n"
    "JSON schema: {\"artifact\", \"sha256\", \"bytes\", \"compression\", \"format\", \"ok\",\n"
    "  \"entries\": [{\"path\", \"normalized\", \"type\", \"size\", \"mode\", \"link_target\"?, "
    "\"sha256\"?}],\n"
    "  \"findings\": [{\"code\", \"severity\", \"message\", \"hint\", \"entry\", \"containers\": "
    "[TAG]}],\n"
    "  \"containers\": [{\"container\", \"xgboost\", \"python\", \"ensemble\", \"layout\", "
    "\"loads\": [PATH],\n"
    "    \"verdict\", \"evidence\", \"reasons\", \"hint\"}], \"models\", \"runtime\", "
    "\"runtimes\"}\n"
    "A finding with an empty \"containers\" list is about the archive itself.\n"
    "An XGBoost model file given instead of an archive is identified, and verify says how to\n"
    "package it (exit 1); its JSON adds \"model_file\": {\"model\": <inspect --json's model>,\n"
    "\"package\": the command}.\n\n"
    "Each top-level file is identified (format, writer version, objective, features) and judged\n"
    "per container by the load rules (compat/rules/rules.json): \"verdict\" is ok, fails (the "
    "load\n"
    "raises: /ping never passes), wrong-predictions (it loads but predicts something else) or\n"
    "unknown (see below),\n"
    "with \"reasons\" [{\"rule\", \"verdict\", \"entry\", \"message\", \"source\", \"overruled\"}] "
    "and a\n"
    "\"hint\" (re-save with save_model under the right version, or `smxgb convert`). Models up to\n"
    "--load-max-bytes are also loaded for real by an XGBoost build in a child process (memory and\n"
    "time limits; a crash is reported, not inherited) and their predictions on generated rows\n"
    "compared with smxgb's reference predictor: \"models\": [{\"entry\", \"format\", \"payload\",\n"
    "\"writer\", \"objective\", \"booster\", \"load_check\": {\"xgboost\", \"loaded\", \"error\",\n"
    "\"predicted\", \"max_abs_diff\"}}]. A real load that fails in any way (it raises, crashes,\n"
    "hits the memory limit or the deadline, or predicting fails after it loaded) makes the\n"
    "verdict of the containers pinning that XGBoost version fails, one that predicts otherwise\n"
    "wrong-predictions (Debian's 1.7.4 by default: 1.7-1, 1.7-1-1; --xgboost-wheel for another),\n"
    "whatever the rules say.\n\n"
    "Each container's \"evidence\" says what its verdict rests on: {\"kind\": \"load-exact\"\n"
    "(loaded for real by the container's own XGBoost version), \"load-standin\" (loaded by\n"
    "another version: reported, the rules decide) or \"rules\" (identified from the bytes only),\n"
    "\"xgboost\": the version that loaded it or null, \"identified\": \"whole file\" | \"head and\n"
    "tail\", \"note\": why no load of its own version counts, or null}; the text report prints\n"
    "it under each verdict.\n\n"
    "Runtimes: each container's own XGBoost is the runtime `smxgb runtime fetch` caches. With\n"
    "--runtimes cached (the default) a container whose runtime is cached is load-checked in it\n"
    "(load-exact); the others share the stand-in (--xgboost-lib, $SMXGB_XGBOOST_LIB, else the\n"
    "system's libxgboost). Each distinct library loads each model once, whatever the number of\n"
    "containers it serves: \"runtimes\": [{\"kind\", \"lib\", \"xgboost\", \"why\",\n"
    "\"containers\", \"error\"}], and each model's \"load_checks\" lists every load (\"lib\",\n"
    "\"runtime\"). --runtimes fetch fetches the runtimes of the containers checked first (each\n"
    "version once; $PIP_INDEX_URL or pypi.org; cached for later runs); a version that cannot be\n"
    "fetched, or a cached runtime that does not run on this machine (a newer glibc, a missing\n"
    "library or symbol), leaves its containers to the rules, and their evidence note says why.\n"
    "--runtimes none uses the stand-in alone. Where a rule says the load fails and the load in\n"
    "the container's own version loaded the model and predicted, the real load wins: the rule\n"
    "stays in \"reasons\" with \"overruled\": true (text: \"overruled by the real load\") and no\n"
    "longer decides the verdict; a rule about the container's Python (unpickling) is never\n"
    "overruled by a load in XGBoost alone, nor a wrong-predictions rule by matching predictions\n"
    "on generated rows.\n\n"
    "A verdict is \"unknown\" when a fact it rests on is not in the bytes (a legacy binary's\n"
    "header stores the writer's major.minor only, and XGBoost 1.3.0 and 1.3.1 read\n"
    "binary:logitraw differently): not ok, with a \"hint\" that says what would settle it. The\n"
    "report counts them apart (\"unknown\") and fails on them unless --allow-unknown is given;\n"
    "then it passes and says they were allowed (\"allow_unknown\": true).",
    verify_opts,
    "  0  no errors for any container checked (unknown verdicts only with --allow-unknown)\n"
    "  1  errors found, or an unknown verdict without --allow-unknown\n"
    "  2  usage error, unknown container, or the artifact cannot be read"};

/* What the file at path is when it is a model file (identified from its first and last bytes,
 * as verify identifies a large archive entry); NULL otherwise. */
static compat_model_info *identify_file(const char *path, const char *name)
{
    FILE *f = fopen(path, "rb");
    compat_model_stream *st = NULL;
    smx_err err = {0};
    if (!f || compat_model_stream_new(COMPAT_IDENTIFY_MAX, 0, &st, &err)) {
        if (f)
            fclose(f);
        return NULL;
    }
    compat_model_stream_begin(st, -1);
    char buf[65536];
    size_t n;
    int rc = SMX_OK;
    while (!rc && (n = fread(buf, 1, sizeof buf, f)) > 0)
        rc = compat_model_stream_feed(st, buf, n, &err);
    fclose(f);
    compat_model_info *m = NULL;
    if (rc || compat_model_stream_identify(st, name, &m, &err))
        m = NULL;
    compat_model_stream_free(st);
    return m;
}

static int is_xgboost_file(const compat_model_info *m)
{
    return m && (m->format == COMPAT_FMT_BINARY || m->format == COMPAT_FMT_JSON ||
                 m->format == COMPAT_FMT_UBJSON || m->format == COMPAT_FMT_PICKLE ||
                 m->format == COMPAT_FMT_JOBLIB);
}

/*
 * A model file given where a model.tar.gz belongs: say what it is and how to package it,
 * instead of every container failing to find a model in it. Returns the exit code, or -1 when
 * r is not about such a file (an archive, or a file that is no XGBoost model).
 */
static int bare_model(const compat_report *r, const char *local, const char *shown)
{
    const artifact_scan *s = r->scan;
    if (s->n_entries || (s->problem != ARTIFACT_P_NOT_TAR && s->problem != ARTIFACT_P_UNRECOGNISED))
        return -1;
    const char *base = strrchr(shown, '/') ? strrchr(shown, '/') + 1 : shown;
    compat_model_info *m = identify_file(local, base);
    if (!is_xgboost_file(m)) {
        compat_model_info_free(m);
        return -1;
    }
    char w[96], what[512];
    compat_writer_text(m, w, sizeof w, COMPAT_WRITER_PREFIX | COMPAT_WRITER_WORDS);
    snprintf(what, sizeof what, "%s, written by %s, %s %s, %lld features",
             m->detail[0] ? m->detail : compat_format_name(m->format), w,
             m->objective[0] ? m->objective : "objective unknown", m->booster,
             (long long)m->num_feature);
    char package[1200];
    snprintf(package, sizeof package, "smxgb package %s -o model.tar.gz", base);
    if (o.json) {
        json_t *j = report_to_json(r);
        json_t *b = json_object();
        json_object_set_new(b, "model", model_info_to_json(m));
        json_object_set_new(b, "package", json_string(package));
        json_object_set_new(j, "model_file", b);
        print_json(stdout, j);
        json_decref(j);
    } else {
        printf("%s: an XGBoost model file, not a model.tar.gz\n"
               "  it is: %s\n"
               "  SageMaker downloads the model data as a gzip-compressed tar, and each container\n"
               "  loads the model file at the archive's top level. Package it, then verify the\n"
               "  archive:\n"
               "    %s\n"
               "    smxgb verify model.tar.gz\n\n"
               "FAIL: not an archive (%s)\n",
               shown, what, package,
               s->problem == ARTIFACT_P_NOT_TAR ? "archive-not-tar" : "archive-unrecognised");
    }
    compat_model_info_free(m);
    return EXIT_FINDINGS;
}

/* Verify src (a path, or s3://bucket/key or an https:// URL downloaded to a temporary file);
 * *bare is bare_model's exit code, or -1. */
static int verify_source(const char *src, compat_verify_opts *vo, compat_report **r, int *bare,
                         smx_err *err)
{
    char *local = NULL;
    int tmp = 0;
    int rc = source_fetch(src, o.s3_endpoint, &local, &tmp, err);
    if (!rc) {
        vo->display = src;
        rc = compat_verify(local, vo, r, err);
        if (!rc && tmp) {
            free((*r)->scan->path);
            (*r)->scan->path = strdup(src);
        }
        if (!rc)
            *bare = bare_model(*r, local, src);
        if (tmp)
            smx_scratch_remove(local);
    }
    free(local);
    return rc;
}

/* --runtimes: vo's mode, and with fetch the runtimes the containers pin, each version once
 * (an unknown container is verify's to report). -1 for a usage error, else an SMX status. */
static int runtimes(compat_verify_opts *vo, smx_err *err)
{
    gate_runtimes *fetch = NULL;
    if (gate_cli_runtimes("verify", 0, &vo->runtimes, &fetch))
        return -1;
    int rc = SMX_OK;
    if (fetch && !o.no_load_check &&
        (rc = gate_runtimes_fetch(fetch, o.containers.v, o.containers.n, err)) == SMX_EINVAL)
        rc = SMX_OK;
    if (fetch) {
        vo->missing = fetch->missing;
        vo->n_missing = fetch->n_missing;
    }
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &verify_doc);
    if (n < 0)
        return verb_parse_exit(n);
    if (n != 1)
        return verb_usage(&verify_doc, "need exactly one ARTIFACT");
    if (!verb_env_ok(&verify_doc, &o.env))
        return EXIT_USAGE;
    compat_verify_opts vo = {.containers = o.containers.v,
                             .n_containers = o.containers.n,
                             .env = o.env.v,
                             .n_env = o.env.n};
    artifact_limits_default(&vo.limits);
    if (o.max_entries)
        vo.limits.max_entries = o.max_entries;
    if (o.max_bytes)
        vo.limits.max_total_bytes = vo.limits.max_entry_bytes = o.max_bytes;
    if (o.max_ratio > 0)
        vo.limits.max_ratio = o.max_ratio;
    vo.no_load_check = o.no_load_check;
    vo.allow_unknown = o.allow_unknown;
    vo.load_max_bytes = o.load_max_bytes;
    vo.xgboost_lib = o.xgboost_lib;
    char *wheel_lib = NULL;
    if (o.xgboost_wheel) {
        smx_err werr = {0};
        int wrc = compat_wheel_lib(o.xgboost_wheel, NULL, &wheel_lib, &werr);
        if (wrc) {
            fprintf(stderr, "smxgb verify: --xgboost-wheel: %s\n", werr.msg);
            return exit_for_status(wrc == SMX_EFORMAT ? SMX_EINVAL : wrc);
        }
        vo.xgboost_lib = wheel_lib;
    }

    compat_report *r;
    smx_err err = {0};
    int bare = -1;
    int rc = runtimes(&vo, &err);
    if (rc < 0) {
        free(wheel_lib);
        return EXIT_USAGE;
    }
    if (!rc)
        rc = verify_source(argv[1], &vo, &r, &bare, &err);
    gate_cli_runtimes_end();
    free(wheel_lib);
    if (rc) {
        fprintf(stderr, "smxgb verify: %s\n", err.msg);
        return exit_for_status(rc);
    }
    if (bare >= 0) {
        compat_report_free(r);
        return bare;
    }
    if (o.json) {
        json_t *j = report_to_json(r);
        print_json(stdout, j);
        json_decref(j);
    } else {
        report_print_text(stdout, r);
    }
    int code = compat_report_ok(r) ? EXIT_OK : EXIT_FINDINGS;
    compat_report_free(r);
    str_list_free(&o.containers);
    str_list_free(&o.env);
    return code;
}

SMXGB_VERB(verify, cmd_verify, verify_doc, 20)
