/*
 * smxgb convert ARTIFACT --container TAG -o OUT.tar.gz: make a model load correctly in a
 * container whose XGBoost cannot read it as it is (a 3.0.5 UBJSON model for 1.5-1, say).
 *
 * verify says what the model is and what TAG does with it; the rules choose a format the
 * runtime's XGBoost writes and TAG reads correctly; a child process loads the original bytes
 * with the runtime, re-saves them in that format, loads the result back from a file named
 * xgboost-model and predicts generated rows with both. Only if the predictions are equal, and
 * the re-saved model passes TAG's rules, is it packaged (deterministically) and verified once
 * more. Anything else is a refusal that says why.
 */
#include "tools.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    const char *container, *output, *xgboost_lib, *xgboost_wheel;
    int json;
} o;

static const opt convert_opts[] = {
    {OPT_STRING, 'c', "container", &o.container, "TAG",
     "the container version to convert for (required)"},
    {OPT_STRING, 'o', "output", &o.output, "OUT.tar.gz",
     "where to write the converted artifact (required)"},
    {OPT_STRING, 0, "xgboost-lib", &o.xgboost_lib, "PATH",
     "re-save with this libxgboost.so (default: $SMXGB_XGBOOST_LIB, else the system one)"},
    {OPT_STRING, 0, "xgboost-wheel", &o.xgboost_wheel, "FILE.whl",
     "re-save with the libxgboost.so bundled in this pip wheel"},
    {OPT_FLAG, 0, "json", &o.json, NULL, "print the result as JSON"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc convert_doc = {
    "convert",
    "smxgb convert ARTIFACT --container TAG -o OUT.tar.gz [--xgboost-lib PATH] [--json]",
    "re-save a model in a format the container's XGBoost loads correctly, and prove it",
    "When the model in ARTIFACT fails or predicts wrongly on TAG (see `smxgb verify`), but the\n"
    "runtime XGBoost (Debian's 1.7.4 unless --xgboost-lib/--xgboost-wheel) reads it correctly\n"
    "and it uses nothing TAG's XGBoost lacks, convert re-saves it in a child process as the\n"
    "format the load rules choose for TAG (legacy binary, UBJSON or JSON), checks that the\n"
    "re-saved model predicts exactly what the original does on generated rows and that TAG's\n"
    "rules accept it, then packages it as xgboost-model (deterministic, like `smxgb package`)\n"
    "and verifies the result for TAG. Otherwise it refuses and says why; nothing is written.\n\n"
    "JSON: {\"artifact\", \"container\", \"output\", \"from\": {\"format\", \"writer\"}, \"to\": "
    "{\"format\",\n"
    "  \"writer\"}, \"rows\", \"max_abs_diff\", \"verdict\", \"sha256\"} or {\"refused\": REASON}.",
    convert_opts,
    "  0  converted (or nothing to do: the model already loads correctly on TAG)\n"
    "  1  refused: the model cannot be converted for TAG (the reason is printed)\n"
    "  2  usage error, unknown container, or the artifact cannot be read"};

/* ---- capturing one entry's bytes ---------------------------------------------------------- */

typedef struct grab {
    const char *path;
    smx_buf buf;
    int active;
} grab;

static int grab_want(void *c, const artifact_entry *e)
{
    grab *g = c;
    g->active = e->depth == 1 && !strcmp(e->path, g->path);
    if (g->active)
        smx_buf_reset(&g->buf); /* a later entry of the same path replaces an earlier one */
    return g->active;
}

static int grab_data(void *c, const artifact_entry *e, const void *buf, size_t len, int64_t off)
{
    (void)e;
    (void)off;
    grab *g = c;
    return smx_buf_append(&g->buf, buf, len) ? SMX_ENOMEM : SMX_OK;
}

static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int refuse(const char *fmt, ...)
{
    char msg[2 * SMX_ERRMAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o.json) {
        json_t *j = json_object();
        json_object_set_new(j, "refused", json_string(msg));
        print_json(stdout, j);
        json_decref(j);
    } else {
        fprintf(stderr, "smxgb convert: refused: %s\n", msg);
    }
    return EXIT_FINDINGS;
}

static const char *format_words(const char *f)
{
    return !strcmp(f, "deprecated") ? "legacy binary" : !strcmp(f, "ubj") ? "UBJSON" : "JSON";
}

static int write_whole(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return close(fd);
}

static char *make_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    smx_buf b = SMX_BUF_INIT;
    smx_buf_printf(&b, "%s/smxgb-convert-XXXXXX", t && *t ? t : "/tmp");
    if (!b.data || !mkdtemp(b.data)) {
        smx_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static int cmd_convert(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &convert_doc);
    if (n == -2)
        return EXIT_OK;
    if (n < 0)
        return EXIT_USAGE;
    if (n != 1 || !o.container || !o.output) {
        fprintf(stderr,
                "smxgb convert: need ARTIFACT, --container TAG and -o OUT.tar.gz\nusage: %s\n",
                convert_doc.usage);
        return EXIT_USAGE;
    }
    const char *artifact = argv[1];
    const compat_container *tc = compat_container_find(o.container);
    if (!tc) {
        fprintf(stderr, "smxgb convert: unknown container '%s'\n", o.container);
        return EXIT_USAGE;
    }
    char *wheel_lib = NULL;
    const char *lib = o.xgboost_lib;
    smx_err err = {0};
    if (o.xgboost_wheel) {
        int wrc = compat_wheel_lib(o.xgboost_wheel, NULL, &wheel_lib, &err);
        if (wrc) {
            fprintf(stderr, "smxgb convert: --xgboost-wheel: %s\n", err.msg);
            return EXIT_USAGE;
        }
        lib = wheel_lib;
    }
    int code = EXIT_OK;
    compat_report *r = NULL, *r2 = NULL;
    grab g = {NULL, SMX_BUF_INIT, 0};
    compat_resave rs = {0};
    compat_model_info *ni = NULL;
    char *tmpdir = NULL;
    smx_buf model_path = SMX_BUF_INIT;

    /* 1. what the model is and what TAG makes of it (with a real load by the runtime) */
    const char *tags[1] = {tc->tag};
    compat_verify_opts vo = {.containers = tags, .n_containers = 1, .xgboost_lib = lib};
    artifact_limits_default(&vo.limits);
    int rc = compat_verify(artifact, &vo, &r, &err);
    if (rc) {
        fprintf(stderr, "smxgb convert: %s\n", err.msg);
        code = exit_for_status(rc);
        goto out;
    }
    compat_result *res = &r->results[0];
    size_t nl = res->rules.ensemble ? res->n_loads : (res->n_loads ? 1 : 0);
    if (res->layout_errors || !nl) {
        code =
            refuse("the archive itself fails for %s (run `smxgb verify` and fix the layout first)",
                   tc->tag);
        goto out;
    }
    if (nl != 1) {
        code = refuse("%s loads several model files (an ensemble); convert handles one model file",
                      tc->tag);
        goto out;
    }
    const artifact_entry *e = &r->scan->entries[res->loads[0]];
    const compat_model *cm = compat_report_model(r, res->loads[0]);
    if (!cm || !cm->info) {
        code =
            refuse("the model file could not be identified: %s", cm ? cm->error : "too many files");
        goto out;
    }
    if (cm->partial) {
        code = refuse("%s",
                      "the model file is larger than the size verify identifies and loads whole");
        goto out;
    }
    if (res->verdict == COMPAT_VERDICT_OK) {
        if (o.json) {
            json_t *j = json_object();
            json_object_set_new(j, "artifact", json_string(artifact));
            json_object_set_new(j, "container", json_string(tc->tag));
            json_object_set_new(j, "verdict", json_string("ok"));
            json_object_set_new(j, "output", json_null());
            print_json(stdout, j);
            json_decref(j);
        } else {
            printf("%s already loads correctly in %s (XGBoost %s): nothing to convert, nothing "
                   "written\n",
                   artifact, tc->tag, tc->xgboost_str);
        }
        goto out;
    }
    if (!cm->load.ran || !cm->load.version[0]) {
        code = refuse("the runtime XGBoost could not be used: %s",
                      cm->load.note[0] ? cm->load.note : "no load check ran");
        goto out;
    }
    if (!cm->load.loaded) {
        code =
            refuse("XGBoost %s (the runtime) cannot load it: %s", cm->load.version, cm->load.error);
        goto out;
    }
    compat_version runtime;
    compat_version_parse(cm->load.version, &runtime);

    /* 2. which format TAG reads correctly */
    compat_reader rd = {tc->xgboost, tc->python, tc->tag};
    const char *fmt = NULL;
    if (compat_convert_plan(cm->info, e->path, runtime, &rd, &fmt, &err) != SMX_OK) {
        code = refuse("%s", err.msg);
        goto out;
    }

    /* 3. the exact bytes, re-saved and compared in a child process */
    g.path = e->path;
    artifact_hooks hk = {&g, grab_want, grab_data, NULL};
    artifact_scan *s2 = NULL;
    rc = artifact_scan_file(artifact, &vo.limits, &hk, &s2, &err);
    artifact_scan_free(s2);
    if (rc || !g.buf.data) {
        fprintf(stderr, "smxgb convert: cannot read %s from %s: %s\n", e->path, artifact, err.msg);
        code = exit_for_status(rc ? rc : SMX_EIO);
        goto out;
    }
    compat_load_limits lim = {0};
    if (compat_resave_run(cm->info, g.buf.data, g.buf.len, e->path, lib, fmt, &lim, &rs, &err)) {
        code = refuse("re-saving with the runtime failed: %s", err.msg);
        goto out;
    }
    double md = 0;
    for (uint64_t i = 0; i < rs.rows * rs.cols; i++) {
        double d = fabs((double)rs.pred_a[i] - (double)rs.pred_b[i]);
        if (isnan(rs.pred_a[i]) != isnan(rs.pred_b[i]))
            d = INFINITY;
        else if (isnan(rs.pred_a[i]))
            d = 0;
        if (d > md)
            md = d;
    }
    if (!(md <= 1e-6)) {
        code = refuse("the re-saved model predicts differently from the original (max |diff| %.3g)",
                      md);
        goto out;
    }
    /* 4. the re-saved bytes against TAG's rules */
    if (compat_identify(rs.bytes, rs.len, "xgboost-model", &ni, &err) != SMX_OK || !ni) {
        code = refuse("the re-saved model cannot be identified: %s", err.msg);
        goto out;
    }
    compat_judgement j = {0};
    if (compat_judge(ni, "xgboost-model", &rd, NULL, &j, &err) != SMX_OK) {
        fprintf(stderr, "smxgb convert: %s\n", err.msg);
        code = EXIT_INTERNAL;
        goto out;
    }
    if (j.verdict != COMPAT_VERDICT_OK) {
        char why[SMX_ERRMAX];
        snprintf(why, sizeof why, "%s", j.n_reasons ? j.reasons[0].message : "?");
        compat_judgement_free(&j);
        code = refuse("the re-saved model would still not load correctly: %s", why);
        goto out;
    }
    compat_judgement_free(&j);

    /* 5. package it and verify the result once more */
    tmpdir = make_tmpdir();
    if (!tmpdir) {
        fprintf(stderr, "smxgb convert: cannot create a temporary directory: %s\n",
                strerror(errno));
        code = EXIT_USAGE;
        goto out;
    }
    smx_buf_printf(&model_path, "%s/xgboost-model", tmpdir);
    if (write_whole(model_path.data, rs.bytes, rs.len)) {
        fprintf(stderr, "smxgb convert: cannot write %s: %s\n", model_path.data, strerror(errno));
        code = EXIT_USAGE;
        goto out;
    }
    artifact_package_opts po = {.allow_multiple = 0, .mtime = 0};
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (*end || v < 0) {
            fprintf(stderr, "smxgb convert: SOURCE_DATE_EPOCH='%s' is not a non-negative integer\n",
                    sde);
            code = EXIT_USAGE;
            goto out;
        }
        po.mtime = v;
    }
    if ((rc = artifact_package(model_path.data, o.output, &po, &err))) {
        fprintf(stderr, "smxgb convert: %s\n", err.msg);
        code = exit_for_status(rc);
        goto out;
    }
    if ((rc = compat_verify(o.output, &vo, &r2, &err))) {
        fprintf(stderr, "smxgb convert: verifying %s: %s\n", o.output, err.msg);
        code = exit_for_status(rc);
        goto out;
    }
    const char *v2 = compat_verdict_name(r2->results[0].verdict);
    char wfrom[32] = "?";
    if (cm->info->writer_min.major >= 0)
        compat_version_str(cm->info->writer_min, wfrom, sizeof wfrom);
    if (r2->results[0].verdict != COMPAT_VERDICT_OK) {
        unlink(o.output);
        code = refuse("the packaged result does not verify for the container (%s); removed it", v2);
        goto out;
    }
    if (o.json) {
        json_t *jo = json_object();
        json_object_set_new(jo, "artifact", json_string(artifact));
        json_object_set_new(jo, "container", json_string(tc->tag));
        json_object_set_new(jo, "output", json_string(o.output));
        json_t *from = json_object();
        json_object_set_new(from, "format", json_string(compat_format_name(cm->info->format)));
        json_object_set_new(from, "payload", json_string(compat_payload_name(cm->info->payload)));
        json_object_set_new(from, "writer", json_string(wfrom));
        json_object_set_new(jo, "from", from);
        json_t *to = json_object();
        json_object_set_new(to, "format", json_string(fmt));
        json_object_set_new(to, "writer", json_string(rs.version));
        json_object_set_new(jo, "to", to);
        json_object_set_new(jo, "rows", json_integer((json_int_t)rs.rows));
        json_object_set_new(jo, "max_abs_diff", json_real(md));
        json_object_set_new(jo, "verdict", json_string(v2));
        json_object_set_new(jo, "sha256", json_string(r2->scan->sha256_hex));
        print_json(stdout, jo);
        json_decref(jo);
    } else {
        printf("converted %s for %s (XGBoost %s)\n", artifact, tc->tag, tc->xgboost_str);
        printf("  from: %s, written by XGBoost %s (%s in %s)\n",
               cm->info->detail[0] ? cm->info->detail : compat_format_name(cm->info->format), wfrom,
               compat_verdict_name(res->verdict), tc->tag);
        printf("  to:   %s written by XGBoost %s, as xgboost-model\n", format_words(fmt),
               rs.version);
        printf("  proof: %llu generated rows, original and converted predictions equal (max |diff| "
               "%.3g)\n",
               (unsigned long long)rs.rows, md);
        printf("  %s verdict for the result: %s\n", tc->tag, v2);
        printf("wrote %s (%llu bytes, sha256 %s)\n", o.output,
               (unsigned long long)r2->scan->file_bytes, r2->scan->sha256_hex);
    }
out:
    if (model_path.data)
        unlink(model_path.data);
    if (tmpdir)
        rmdir(tmpdir);
    free(tmpdir);
    smx_buf_free(&model_path);
    compat_model_info_free(ni);
    compat_resave_free(&rs);
    smx_buf_free(&g.buf);
    compat_report_free(r);
    compat_report_free(r2);
    free(wheel_lib);
    return code;
}

SMXGB_VERB(convert, cmd_convert, convert_doc, 27)
