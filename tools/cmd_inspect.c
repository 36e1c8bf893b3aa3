/*
 * smxgb inspect ARTIFACT|MODEL_FILE: say what a model file is (format, writer version,
 * objective, booster, shapes, base_score, features that limit which XGBoost can read it,
 * pickle classes and payload), without calling XGBoost. A model file on its own, and every
 * top-level regular file of a model.tar.gz (the archive streamed once), goes through
 * compat/model's streaming identifier, the one verify uses: a file larger than
 * --max-model-bytes is not kept whole but read as it streams, so memory stays bounded
 * whatever its size; what that could not establish is reported as not known. This file only
 * prints what the library found.
 */
#include "tools.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct {
    int json;
    uint64_t max_model;
} o;

static const opt inspect_opts[] = {
    {OPT_FLAG, 0, "json", &o.json, NULL, "print the result as JSON"},
    {OPT_U64, 0, "max-model-bytes", &o.max_model, "N",
     "keep at most N bytes of one model in memory (default 512M); larger models are read "
     "as they stream"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc inspect_doc = {
    "inspect",
    "smxgb inspect ARTIFACT|MODEL_FILE [--json]",
    "say what a model file is: format, writer version, objective, shapes, features",
    "Reads a model file (legacy binary, JSON, UBJSON, pickle, joblib) or every top-level file\n"
    "of a model.tar.gz and prints what it is, without loading it in XGBoost: the format and\n"
    "the writer's XGBoost version (exact when the file stores it, else the range the bytes\n"
    "allow, with how it was inferred), objective, booster, num_feature/num_class/num_target,\n"
    "base_score as stored, tree count, categorical splits and vector leaves, attributes such\n"
    "as best_iteration, feature names and types; for a pickle its protocol, the classes it\n"
    "references and the embedded model. Files that are recognisably something else (LightGBM,\n"
    "ONNX, scikit-learn pickles, archives) are named. Truncated or corrupt files are reported\n"
    "with the byte offset and what was expected there.\n\n"
    "JSON schema: {\"file\", \"kind\": \"model\"|\"artifact\", \"ok\", \"models\": [{\"entry\",\n"
    "  \"bytes\", \"partial\", \"format\", \"payload\", \"detail\", \"writer\": {\"exact\", "
    "\"min\",\n"
    "  \"max\", \"max_any_patch\", \"note\"}, \"objective\", \"booster\", \"num_feature\",\n"
    "  \"num_class\", \"num_target\", \"base_score\": {\"stored\", \"array\", \"is_margin\"},\n"
    "  \"num_trees\", \"features\": {..}, \"attributes\", \"feature_names\", \"feature_types\",\n"
    "  \"pickle\"?, \"foreign\"?, \"corrupt\", \"problem\", \"unknown\": [FACT],\n"
    "  \"unknown_why\"}], \"archive_problem\"?}\n"
    "\"partial\": the file was larger than --max-model-bytes and read as it streamed;\n"
    "\"unknown\" names the facts that could not be established (writer, learner, trees,\n"
    "encoding, pickle, integrity) and \"unknown_why\" says why.",
    inspect_opts,
    "  0  every model file was recognised and is intact\n"
    "  1  a model file is corrupt, truncated, not a model, or not all of its facts are known\n"
    "  2  usage error, or the file cannot be read"};

/*
 * Entries are identified as soon as they end (on_end), by compat/model's streaming identifier,
 * and only their report is kept: memory holds one entry (at most --max-model-bytes) or the
 * streaming reader's state at a time, whatever the artifact holds.
 */
typedef struct ctx {
    compat_model_stream *stream;
    json_t *models; /* --json: reports go here */
    smx_buf text;   /* else: the text reports, printed after the archive summary */
    int bad, rc;
} ctx;

static int report_one(const char *label, compat_model_info *m, uint64_t size, int partial,
                      json_t *models, FILE *out, int *bad)
{
    if (m->corrupt || m->format == COMPAT_FMT_UNKNOWN || m->format == COMPAT_FMT_FOREIGN ||
        m->unknown)
        *bad = 1;
    if (models) {
        json_t *j = model_info_to_json(m);
        json_object_set_new(j, "entry", json_string(label));
        json_object_set_new(j, "bytes", json_integer((json_int_t)size));
        json_object_set_new(j, "partial", json_boolean(partial));
        json_array_append_new(models, j);
    } else {
        fprintf(out, "%s  (%llu bytes%s)\n", label, (unsigned long long)size,
                partial ? ", read as it streamed" : "");
        model_info_print_text(out, m);
    }
    compat_model_info_free(m);
    return EXIT_OK;
}

static int want(void *cv, const artifact_entry *e)
{
    ctx *c = cv;
    if (e->type != ARTIFACT_FILE || e->depth != 1)
        return 0;
    compat_model_stream_begin(c->stream, e->size);
    return 1;
}

static int on_data(void *cv, const artifact_entry *e, const void *buf, size_t len, int64_t off)
{
    ctx *c = cv;
    (void)e;
    (void)off;
    smx_err err = {0};
    return compat_model_stream_feed(c->stream, buf, len, &err);
}

static void on_end(void *cv, const artifact_entry *e)
{
    ctx *c = cv;
    char *t = NULL;
    size_t tn = 0;
    FILE *f = c->models ? NULL : open_memstream(&t, &tn);
    compat_model_info *m = NULL;
    smx_err err = {0};
    if (!c->models && !f) {
        c->rc = EXIT_INTERNAL;
    } else if (compat_model_stream_identify(c->stream, e->path, &m, &err)) {
        fprintf(stderr, "smxgb inspect: %s\n", err.msg);
        c->rc = EXIT_INTERNAL;
    } else {
        report_one(e->path, m, compat_model_stream_size(c->stream),
                   compat_model_stream_partial(c->stream), c->models, f, &c->bad);
    }
    if (f) {
        fclose(f);
        smx_buf_append(&c->text, t, tn);
        free(t);
    }
}

/* Feed the file at path to the stream, its size declared. */
static int stream_file(const char *path, compat_model_stream *st, smx_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return smx_fail(err, SMX_EIO, "cannot open '%s': %s", path, strerror(errno));
    struct stat sb;
    compat_model_stream_begin(st, fstat(fileno(f), &sb) == 0 ? (int64_t)sb.st_size : -1);
    static unsigned char buf[1 << 16];
    size_t n;
    int rc = SMX_OK;
    while (!rc && (n = fread(buf, 1, sizeof buf, f)) > 0)
        rc = compat_model_stream_feed(st, buf, n, err);
    if (!rc && ferror(f))
        rc = smx_fail(err, SMX_EIO, "cannot read '%s': %s", path, strerror(errno));
    fclose(f);
    return rc;
}

static int looks_like_archive(const unsigned char *b, size_t n)
{
    return (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) || (n >= 3 && !memcmp(b, "BZh", 3)) ||
           (n >= 6 && !memcmp(b,
                              "\xfd"
                              "7zXZ\0",
                              6)) ||
           (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4)) ||
           (n >= 262 && !memcmp(b + 257, "ustar", 5));
}

#define NOT_AN_ARCHIVE (-1)

/* Every top-level file of the archive at path; NOT_AN_ARCHIVE for a compressed file that holds
 * no archive (a model file: joblib, gzip), else an exit code (*bad: a finding; *done: the
 * report is complete, to be printed). */
static int inspect_archive(const char *path, size_t cap, json_t *out, json_t *models, int *bad,
                           int *done)
{
    ctx c = {.models = models, .text = SMX_BUF_INIT};
    artifact_hooks h = {&c, want, on_data, on_end};
    artifact_limits lim;
    artifact_limits_default(&lim);
    artifact_scan *s = NULL;
    smx_err err = {0};
    int rc = compat_model_stream_new(cap, cap, &c.stream, &err);
    if (rc == SMX_OK)
        rc = artifact_scan_file(path, &lim, &h, &s, &err);
    compat_model_stream_free(c.stream);
    if (rc != SMX_OK) {
        fprintf(stderr, "smxgb inspect: %s\n", err.msg);
        rc = exit_for_status(rc);
    } else if (s->n_entries == 0 &&
               (s->problem == ARTIFACT_P_NOT_TAR || s->problem == ARTIFACT_P_UNRECOGNISED)) {
        rc = NOT_AN_ARCHIVE;
    } else {
        if (out) {
            json_object_set_new(out, "kind", json_string("artifact"));
            if (s->problem != ARTIFACT_P_NONE)
                json_object_set_new(out, "archive_problem", json_string(s->problem_err.msg));
        } else {
            printf("%s: %s archive, %zu entr%s\n", path, s->filter, s->n_entries,
                   s->n_entries == 1 ? "y" : "ies");
            if (s->problem != ARTIFACT_P_NONE)
                printf("  archive problem: %s\n", s->problem_err.msg);
            if (c.text.len)
                fwrite(c.text.data, 1, c.text.len, stdout);
        }
        *bad |= c.bad || s->problem != ARTIFACT_P_NONE;
        *done = 1;
        rc = c.rc;
    }
    smx_buf_free(&c.text);
    artifact_scan_free(s);
    return rc;
}

/* A model file on its own, through the same streaming identifier (kept whole up to cap). */
static int inspect_file(const char *path, size_t cap, json_t *out, json_t *models, int *bad,
                        int *done)
{
    smx_err err = {0};
    compat_model_stream *st = NULL;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    compat_model_info *m = NULL;
    int r = compat_model_stream_new(cap, 1 << 20, &st, &err);
    if (!r)
        r = stream_file(path, st, &err);
    if (!r)
        r = compat_model_stream_identify(st, base, &m, &err);
    if (r) {
        fprintf(stderr, "smxgb inspect: %s\n", err.msg);
        compat_model_stream_free(st);
        return r == SMX_ENOMEM ? EXIT_INTERNAL : exit_for_status(r);
    }
    if (out)
        json_object_set_new(out, "kind", json_string("model"));
    *done = 1;
    r = report_one(base, m, compat_model_stream_size(st), compat_model_stream_partial(st), models,
                   stdout, bad);
    compat_model_stream_free(st);
    return r;
}

static int cmd_inspect(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &inspect_doc);
    if (n < 0)
        return verb_parse_exit(n);
    if (n != 1)
        return verb_usage(&inspect_doc, "need exactly one ARTIFACT or MODEL_FILE");
    const char *path = argv[1];
    size_t cap = o.max_model ? (size_t)o.max_model : (size_t)512 << 20;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "smxgb inspect: cannot open '%s': %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    unsigned char head[512];
    size_t hn = fread(head, 1, sizeof head, f);
    fclose(f);

    json_t *out = o.json ? json_object() : NULL, *models = o.json ? json_array() : NULL;
    int bad = 0, done = 0;
    int rc = looks_like_archive(head, hn) ? inspect_archive(path, cap, out, models, &bad, &done)
                                          : NOT_AN_ARCHIVE;
    if (rc == NOT_AN_ARCHIVE)
        rc = inspect_file(path, cap, out, models, &bad, &done);
    if (out && done) {
        json_object_set_new(out, "file", json_string(path));
        json_object_set_new(out, "ok", json_boolean(!bad));
        json_object_set_new(out, "models", json_incref(models));
        print_json(stdout, out);
    }
    json_decref(out);
    json_decref(models);
    if (rc)
        return rc;
    return bad ? EXIT_FINDINGS : EXIT_OK;
}

SMXGB_VERB(inspect, cmd_inspect, inspect_doc, 25)
