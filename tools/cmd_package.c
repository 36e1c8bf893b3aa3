/*
 * smxgb package MODEL_FILE|DIR -o model.tar.gz: a deterministic archive the container loads,
 * re-read after writing so what is printed is what is in the file.
 */
#include "tools.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct {
    const char *output;
    int ensemble;
    int json;
    int force;
} o;

static const opt package_opts[] = {
    {OPT_STRING, 'o', "output", &o.output, "FILE",
     "where to write the gzip-compressed tar (required)"},
    {OPT_FLAG, 0, "ensemble", &o.ensemble, NULL,
     "allow several model files from DIR (the container averages them)"},
    {OPT_FLAG, 0, "json", &o.json, NULL, "print the result as JSON"},
    {OPT_FLAG, 0, "force", &o.force, NULL,
     "package files that are not XGBoost models anyway (with a warning)"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc package_doc = {
    "package",
    "smxgb package MODEL_FILE|DIR -o model.tar.gz [--ensemble] [--force] [--json]",
    "build a deterministic model.tar.gz (same input, same bytes)",
    "A MODEL_FILE is stored at the top level as 'xgboost-model', the name the container and\n"
    "SageMaker training use. A DIR contributes its top-level files under their own names.\n"
    "Entries are sorted; mtime is $SOURCE_DATE_EPOCH or 0; uid/gid 0 with empty owner names;\n"
    "mode 0644; the gzip header has no name or timestamp. Packaging the same input twice gives\n"
    "byte-identical output, so Terraform's etag = filemd5(...) only changes with the model.\n\n"
    "Refused: an empty file, dotfiles (e.g. macOS ._xgboost-model), sub-directories, links and\n"
    "special files, more than one file unless --ensemble is given, and a file that is not an\n"
    "XGBoost model (identified from its bytes as `smxgb verify` does: a text file, a LightGBM\n"
    "or scikit-learn model, a tar) unless --force is given, which packages it with a warning.\n"
    "The output is written to a temporary file and renamed into place, so a failure never\n"
    "leaves a partial archive.",
    package_opts,
    NULL};

/* Is the file at src an XGBoost model? Identified as verify does, from at most its first
 * 32 MiB and last bytes (compat_model_stream), so memory stays bounded. With --force a file
 * that is none is packaged with a warning. */
static int check_model(void *ctx, const char *src, const char *name, smx_err *err)
{
    (void)ctx;
    compat_model_stream *st;
    int rc = compat_model_stream_new(COMPAT_IDENTIFY_MAX, 1u << 20, &st, err);
    if (rc)
        return rc;
    FILE *f = fopen(src, "rb");
    if (!f) {
        compat_model_stream_free(st);
        return smx_fail(err, SMX_EIO, "%s: %s", src, strerror(errno));
    }
    compat_model_stream_begin(st, -1);
    char buf[1 << 16];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof buf, f)) > 0)
        rc = compat_model_stream_feed(st, buf, n, err);
    fclose(f);
    compat_model_info *m = NULL;
    if (!rc)
        rc = compat_model_stream_identify(st, name, &m, err);
    compat_model_stream_free(st);
    if (rc)
        return rc;
    int none = m->format == COMPAT_FMT_FOREIGN || m->format == COMPAT_FMT_UNKNOWN;
    char what[200];
    snprintf(what, sizeof what, "%s", m->foreign[0] ? m->foreign : m->detail);
    compat_model_info_free(m);
    if (!none)
        return SMX_OK;
    if (o.force) {
        fprintf(stderr,
                "smxgb package: warning: %s is not an XGBoost model (%s); packaged anyway "
                "(--force): the container will fail to load it\n",
                src, what);
        return SMX_OK;
    }
    return smx_fail(err, SMX_EINVAL,
                    "%s is not an XGBoost model (%s): the container would fail to load it. "
                    "Package the file Booster.save_model wrote, or pass --force",
                    src, what);
}

static int cmd_package(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &package_doc);
    if (n < 0)
        return verb_parse_exit(n);
    if (n != 1 || !o.output)
        return verb_usage(&package_doc, "need one MODEL_FILE or DIR and -o FILE");
    artifact_package_opts po = {.allow_multiple = o.ensemble, .mtime = 0, .check = check_model};
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        errno = 0;
        long long v = strtoll(sde, &end, 10);
        if (errno || *end || v < 0) {
            fprintf(stderr, "smxgb package: SOURCE_DATE_EPOCH='%s' is not a non-negative integer\n",
                    sde);
            return EXIT_USAGE;
        }
        po.mtime = v;
    }
    smx_err err = {0};
    artifact_package_result res;
    po.result = &res;
    int rc = artifact_package(argv[1], o.output, &po, &err);
    if (rc) {
        fprintf(stderr, "smxgb package: %s\n", err.msg);
        return exit_for_status(rc);
    }
    /* the archive itself may be on stdout: then the report goes to stderr */
    FILE *rep = res.to_stdout ? stderr : stdout;
    if (o.json) {
        json_t *j = json_object();
        json_object_set_new(j, "output", json_string(o.output));
        json_object_set_new(j, "sha256", json_string(res.sha256));
        json_object_set_new(j, "bytes", json_integer((json_int_t)res.bytes));
        json_t *ents = json_array();
        for (size_t i = 0; i < res.n_entries; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "path", json_string(res.entries[i].path));
            json_object_set_new(e, "size", json_integer(res.entries[i].size));
            json_object_set_new(e, "sha256", json_string(res.entries[i].sha256));
            json_array_append_new(ents, e);
        }
        json_object_set_new(j, "entries", ents);
        print_json(rep, j);
        json_decref(j);
    } else {
        fprintf(rep, "wrote %s (%llu bytes, sha256 %s)\n", o.output, (unsigned long long)res.bytes,
                res.sha256);
        for (size_t i = 0; i < res.n_entries; i++)
            fprintf(rep, "  %-20s %12lld bytes\n", res.entries[i].path,
                    (long long)res.entries[i].size);
    }
    artifact_package_result_free(&res);
    return EXIT_OK;
}

SMXGB_VERB(package, cmd_package, package_doc, 10)
