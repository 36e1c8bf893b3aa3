/*
 * convert: the model of an artifact made to load correctly in one container (smxgb convert).
 *
 * The steps, one function each:
 *   1. the artifact as it is, verified for the container: if it loads correctly, it is the
 *      result, written unchanged (so that `convert ... -o out && upload out` always uploads);
 *   2. its one model file: a streaming scan identifies every regular file at any depth (a
 *      model in a sub-folder is found); dotfiles and files that are not XGBoost models are
 *      dropped, each named with the reason; more than one model file is a refusal;
 *   3. that file, extracted to scratch and packaged alone as xgboost-model, verified: if it
 *      loads correctly as it is, that package is the result;
 *   4. else the runtime re-saves it in the format the rules choose (compat_convert_plan), in
 *      a child process, which predicts generated rows with the original and with the re-saved
 *      model loaded back from a file; equal predictions, the container's rules on the new
 *      bytes and a last verify of the package decide.
 * The size limits are verify's: a model larger than load_max_bytes is identified as it
 * streams, and can be copied or repackaged, but not re-saved (that loads it in a child
 * process); the refusal names the limit and the option that raises it. Scratch lives in a
 * private directory of $TMPDIR, the result goes through smx_out (never over the input).
 * Refusals are results; only what stops the work is an error status.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse(compat_conversion *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(compat_conversion *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    c->action = COMPAT_CONVERT_REFUSED;
    return SMX_OK;
}

void compat_conversion_free(compat_conversion *c)
{
    for (size_t i = 0; i < c->n_dropped; i++)
        free(c->dropped[i].path);
    free(c->dropped);
    free(c->entry);
    memset(c, 0, sizeof *c);
}

/* The bytes of the file at from, written to the output (whole or not at all). */
static int write_output(const char *from, const compat_convert_opts *o, const char *input,
                        smx_err *err)
{
    const char *inputs[1] = {input};
    smx_out out;
    int rc = smx_out_open(&out, o->output, inputs, 1, err);
    if (rc)
        return rc;
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        smx_out_abort(&out);
        return smx_fail(err, SMX_EIO, "cannot read %s: %s", from, strerror(errno));
    }
    static char buf[1 << 16];
    ssize_t n;
    while (!rc && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        rc = n < 0 ? smx_fail(err, SMX_EIO, "cannot read %s: %s", from, strerror(errno))
                   : smx_out_write(&out, buf, (size_t)n, err);
    }
    close(fd);
    if (rc) {
        smx_out_abort(&out);
        return rc;
    }
    return smx_out_commit(&out, err);
}

/* verify for the one container (with a real load where the size allows). */
static int verify_one(const char *path, const compat_convert_opts *o, const compat_container *tc,
                      compat_report **r, smx_err *err)
{
    const char *tags[1] = {tc->tag};
    compat_verify_opts vo = {.containers = tags,
                             .n_containers = 1,
                             .xgboost_lib = o->xgboost_lib,
                             .runtimes = o->runtimes,
                             .cache_dir = o->cache_dir,
                             .limits = o->limits,
                             .load_max_bytes = o->load_max_bytes,
                             .display = o->display};
    return compat_verify(path, &vo, r, err);
}

/* The verdict for the one container, and whether its layout is sound. */
static int loads_correctly(const compat_report *r)
{
    const compat_result *res = &r->results[0];
    size_t nl = res->rules.ensemble ? res->n_loads : (res->n_loads ? 1 : 0);
    return !res->layout_errors && nl && res->verdict == COMPAT_VERDICT_OK;
}

/* ---- 2. the one model file ------------------------------------------------------------------ */

typedef struct finder {
    compat_model_stream *stream;
    compat_conversion *c;
    char **models; /* paths of the model files */
    size_t n_models, cap_models, cap_dropped;
    int failed;
} finder;

static int is_dotfile(const char *path)
{
    for (const char *p = path; p; p = strchr(p, '/')) {
        p += *p == '/';
        if (*p == '.')
            return 1;
    }
    return 0;
}

static int drop(finder *f, const char *path, const char *why)
{
    compat_conversion *c = f->c;
    if (smx_grow((void **)&c->dropped, &f->cap_dropped, c->n_dropped + 1, sizeof *c->dropped))
        return SMX_ENOMEM;
    if (!(c->dropped[c->n_dropped].path = strdup(path)))
        return SMX_ENOMEM;
    c->dropped[c->n_dropped++].why = why;
    return SMX_OK;
}

static int find_want(void *ctx, const artifact_entry *e)
{
    finder *f = ctx;
    if (e->type != ARTIFACT_FILE || is_dotfile(e->path) || f->failed)
        return 0;
    compat_model_stream_begin(f->stream, e->size);
    return 1;
}

static int find_data(void *ctx, const artifact_entry *e, const void *buf, size_t len, int64_t off)
{
    (void)e;
    (void)off;
    finder *f = ctx;
    smx_err err = {0};
    return compat_model_stream_feed(f->stream, buf, len, &err);
}

static void find_end(void *ctx, const artifact_entry *e)
{
    finder *f = ctx;
    compat_model_info *m = NULL;
    smx_err err = {0};
    if (f->failed || compat_model_stream_identify(f->stream, e->path, &m, &err)) {
        f->failed = 1;
        return;
    }
    int model = m->format == COMPAT_FMT_BINARY || m->format == COMPAT_FMT_JSON ||
                m->format == COMPAT_FMT_UBJSON || m->format == COMPAT_FMT_PICKLE ||
                m->format == COMPAT_FMT_JOBLIB;
    compat_model_info_free(m);
    if (!model) {
        f->failed |= drop(f, e->path, "not a model file") != SMX_OK;
        return;
    }
    if (smx_grow((void **)&f->models, &f->cap_models, f->n_models + 1, sizeof *f->models) ||
        !(f->models[f->n_models] = strdup(e->path)))
        f->failed = 1;
    else
        f->n_models++;
}

/* Every file of the artifact: one model (c->entry), the rest dropped (c->dropped). */
static int find_model(const char *path, const compat_convert_opts *o, compat_conversion *c,
                      smx_err *err)
{
    finder f = {.c = c};
    uint64_t max = o->load_max_bytes ? o->load_max_bytes : COMPAT_IDENTIFY_MAX;
    int rc = compat_model_stream_new(max, 1 << 20, &f.stream, err);
    artifact_scan *s = NULL;
    artifact_hooks h = {&f, find_want, find_data, find_end};
    if (!rc)
        rc = artifact_scan_file(path, &o->limits, &h, &s, err);
    compat_model_stream_free(f.stream);
    for (size_t i = 0; !rc && s && i < s->n_entries; i++) {
        const artifact_entry *e = &s->entries[i];
        if (e->type == ARTIFACT_FILE && is_dotfile(e->path))
            rc = drop(&f, e->path, "a dotfile");
        else if (e->type != ARTIFACT_FILE && e->type != ARTIFACT_DIR)
            rc = drop(&f, e->path, "not a regular file");
    }
    if (!rc && f.failed)
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!rc && s && s->problem != ARTIFACT_P_NONE)
        refuse(c, "the archive cannot be read whole: %s", s->problem_err.msg);
    else if (!rc && f.n_models == 0)
        refuse(c, "no model file in the artifact (%zu files, none an XGBoost model)", c->n_dropped);
    else if (!rc && f.n_models > 1)
        refuse(c, "%zu model files (%s, %s%s): convert handles one model file", f.n_models,
               f.models[0], f.models[1], f.n_models > 2 ? ", ..." : "");
    else if (!rc && !(c->entry = strdup(f.models[0])))
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    for (size_t i = 0; i < f.n_models; i++)
        free(f.models[i]);
    free(f.models);
    artifact_scan_free(s);
    return rc;
}

/* ---- 3. the model alone, as xgboost-model ------------------------------------------------- */

typedef struct extractor {
    const char *entry, *to;
    int fd, failed;
} extractor;

static int ex_want(void *ctx, const artifact_entry *e)
{
    extractor *x = ctx;
    if (e->type != ARTIFACT_FILE || strcmp(e->path, x->entry))
        return 0;
    if (x->fd >= 0) /* a later entry of the same path replaces an earlier one */
        close(x->fd);
    x->fd = open(x->to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    x->failed |= x->fd < 0;
    return x->fd >= 0;
}

static int ex_data(void *ctx, const artifact_entry *e, const void *buf, size_t len, int64_t off)
{
    (void)e;
    (void)off;
    extractor *x = ctx;
    const char *p = buf;
    while (len) {
        ssize_t w = write(x->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->failed = 1;
            return SMX_EIO;
        }
        p += w;
        len -= (size_t)w;
    }
    return SMX_OK;
}

/* The model file's bytes, to `to`. */
static int extract(const char *path, const compat_convert_opts *o, const char *entry,
                   const char *to, smx_err *err)
{
    extractor x = {entry, to, -1, 0};
    artifact_hooks h = {&x, ex_want, ex_data, NULL};
    artifact_scan *s = NULL;
    int rc = artifact_scan_file(path, &o->limits, &h, &s, err);
    artifact_scan_free(s);
    if (x.fd >= 0 && close(x.fd))
        x.failed = 1;
    if (!rc && x.failed)
        rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", to, strerror(errno));
    return rc;
}

/* Package the file at model as xgboost-model in pkg and verify it. */
static int package(const char *model, const char *pkg, const compat_convert_opts *o,
                   const compat_container *tc, compat_report **r, smx_err *err)
{
    artifact_package_opts po = {.allow_multiple = 0, .mtime = o->mtime};
    int rc = artifact_package(model, pkg, &po, err);
    return rc ? rc : verify_one(pkg, o, tc, r, err);
}

/* ---- 4. a re-save by the runtime ------------------------------------------------------------ */

static double max_diff(const compat_resave *rs)
{
    double md = 0;
    for (uint64_t i = 0; i < rs->rows * rs->cols; i++) {
        double d = fabs((double)rs->pred_a[i] - (double)rs->pred_b[i]);
        if (isnan(rs->pred_a[i]) != isnan(rs->pred_b[i]))
            d = INFINITY;
        else if (isnan(rs->pred_a[i]))
            d = 0;
        if (d > md)
            md = d;
    }
    return md;
}

/* Can the runtime re-save this model at all (it loaded it, within the size limit)? */
static int resave_possible(const compat_model *cm, const compat_loadcheck *l,
                           const compat_convert_opts *o, compat_conversion *c)
{
    uint64_t max = o->load_max_bytes ? o->load_max_bytes : COMPAT_IDENTIFY_MAX;
    if (!cm || !cm->info)
        return refuse(c, "the model file could not be identified: %s",
                      cm ? cm->error : "too many files"),
               0;
    if (cm->partial)
        return refuse(c,
                      "the model file is %llu bytes, over the %llu-byte limit for loading a "
                      "model in a child process to re-save it; raise it with --load-max-bytes",
                      (unsigned long long)cm->bytes, (unsigned long long)max),
               0;
    if (!l || !l->ran || !l->version[0])
        return refuse(c, "the runtime XGBoost could not be used: %s",
                      l && l->note[0] ? l->note : "no load check ran"),
               0;
    if (!l->loaded)
        return refuse(c, "XGBoost %s (the runtime) cannot load it: %s", l->version, l->error), 0;
    return 1;
}

/* The re-saved file against the container's rules (it is identified as it streams). */
static int judge_resaved(const char *file, const compat_container *tc, compat_conversion *c,
                         smx_err *err)
{
    smx_buf b = SMX_BUF_INIT;
    int rc = smx_buf_read_file(&b, file, (size_t)-1, err);
    compat_model_info *ni = NULL;
    if (!rc)
        rc = compat_identify(b.data ? b.data : "", b.len, "xgboost-model", &ni, err);
    smx_buf_free(&b);
    if (rc)
        return rc;
    compat_reader rd = {tc->xgboost, tc->python, tc->tag};
    compat_judgement j = {0};
    rc = compat_judge(ni, "xgboost-model", &rd, NULL, &j, err);
    if (!rc && j.verdict != COMPAT_VERDICT_OK)
        refuse(c, "the re-saved model would still not load correctly: %s",
               j.n_reasons ? j.reasons[0].message : "?");
    compat_judgement_free(&j);
    compat_model_info_free(ni);
    return rc;
}

/* Re-save cm (at model_file) with the runtime whose load is l. */
static int resave_with(const char *model_file, const compat_model *cm, const compat_loadcheck *l,
                       const compat_convert_opts *o, const char *dir, compat_conversion *c,
                       smx_err *err)
{
    const compat_container *tc = c->container;
    compat_version runtime;
    compat_version_parse(l->version, &runtime);
    compat_reader rd = {tc->xgboost, tc->python, tc->tag};
    if (compat_convert_plan(cm->info, "xgboost-model", runtime, &rd, &c->to_format, err))
        return refuse(c, "%s", err->msg);
    smx_buf b = SMX_BUF_INIT, to = SMX_BUF_INIT;
    smx_buf_printf(&to, "%s/resaved", dir);
    int rc = to.data ? smx_buf_read_file(&b, model_file, (size_t)-1, err) : SMX_ENOMEM;
    if (!rc && mkdir(to.data, 0700))
        rc = smx_fail(err, SMX_EIO, "cannot create %s: %s", to.data, strerror(errno));
    smx_buf_puts(&to, "/xgboost-model");
    compat_resave rs = {0};
    compat_load_limits lim = {0};
    if (!rc && compat_resave_run(cm->info, b.data ? b.data : "", b.len, "xgboost-model",
                                 o->xgboost_lib, c->to_format, to.data, &lim, &rs, err)) {
        rc = refuse(c, "re-saving with the runtime failed: %s", err->msg);
    } else if (!rc) {
        c->rows = rs.rows;
        c->max_diff = max_diff(&rs);
        snprintf(c->to_writer, sizeof c->to_writer, "%s", rs.version);
        if (!(c->max_diff <= 1e-6))
            refuse(c,
                   "the re-saved model predicts differently from the original (max |diff| "
                   "%.3g)",
                   c->max_diff);
        else
            rc = judge_resaved(to.data, tc, c, err);
    }
    compat_resave_free(&rs);
    smx_buf_free(&b);
    smx_buf_free(&to);
    return rc;
}

/* The report whose load check for the container is the stand-in's (the library given,
 * $SMXGB_XGBOOST_LIB or the system's), the one that re-saves: r itself, unless the container's
 * own cached runtime loaded the package in r (it could not load it correctly: the stand-in
 * reads it and writes what the container reads); then *own, a verify with the stand-in. */
static int standin_report(const char *pkg, const compat_report *r, const compat_convert_opts *o,
                          const compat_container *tc, const compat_report **src,
                          compat_report **own, smx_err *err)
{
    const compat_result *res = &r->results[0];
    *src = r;
    *own = NULL;
    if (res->runtime < 0 || r->runtimes[res->runtime].kind != COMPAT_EVIDENCE_EXACT)
        return SMX_OK;
    compat_convert_opts so = *o;
    so.runtimes = COMPAT_RUNTIMES_NONE;
    int rc = verify_one(pkg, &so, tc, own, err);
    if (!rc)
        *src = *own;
    return rc;
}

/* Re-save the model (at model_file, packaged at pkg and judged in r) for the container into
 * dir/resaved, with the stand-in; the result's last verify is the proof in the container's own
 * runtime when it is cached. */
static int resave(const char *model_file, const char *pkg, const compat_report *r,
                  const compat_convert_opts *o, const char *dir, compat_conversion *c, smx_err *err)
{
    const compat_container *tc = c->container;
    const compat_report *src;
    compat_report *own = NULL;
    int rc = standin_report(pkg, r, o, tc, &src, &own, err);
    const compat_result *res = &src->results[0];
    const compat_model *cm = rc ? NULL : compat_report_model(src, res->loads[0]);
    const compat_loadcheck *l =
        res->runtime >= 0 && cm && cm->loads ? &cm->loads[res->runtime] : NULL;
    if (!rc && resave_possible(cm, l, o, c))
        rc = resave_with(model_file, cm, l, o, dir, c, err);
    compat_report_free(own);
    return rc;
}

/* ---- the steps together ---------------------------------------------------------------------- */

/* The model as the container sees it at the top (from r), for the report. */
static void from_facts(const compat_report *r, compat_conversion *c)
{
    const compat_model *cm =
        r->results[0].n_loads ? compat_report_model(r, r->results[0].loads[0]) : NULL;
    snprintf(c->from_writer, sizeof c->from_writer, "?");
    if (!cm || !cm->info)
        return;
    c->from_format = cm->info->format;
    c->from_payload = cm->info->payload;
    snprintf(c->from_detail, sizeof c->from_detail, "%s",
             cm->info->detail[0] ? cm->info->detail : compat_format_name(cm->info->format));
    if (cm->info->writer_min.major >= 0)
        compat_version_str(cm->info->writer_min, c->from_writer, sizeof c->from_writer);
}

/* The result: the package at pkg (verified in r) goes to the output. */
static int deliver(const char *pkg, const compat_report *r, const char *path,
                   const compat_convert_opts *o, compat_conversion *c, smx_err *err)
{
    c->verdict = r->results[0].verdict;
    if (!loads_correctly(r))
        return refuse(c, "the packaged result does not verify for %s (%s); nothing written",
                      c->container->tag, compat_verdict_name(c->verdict));
    snprintf(c->sha256, sizeof c->sha256, "%s", r->scan->sha256_hex);
    c->bytes = r->scan->file_bytes;
    return write_output(pkg, o, path, err);
}

/* Steps 2-4 for an artifact that does not load correctly as it is. */
static int rebuild(const char *path, const compat_convert_opts *o, const char *dir,
                   compat_conversion *c, smx_err *err)
{
    int rc = find_model(path, o, c, err);
    if (rc || c->reason[0])
        return rc;
    smx_buf model = SMX_BUF_INIT, pkg = SMX_BUF_INIT;
    smx_buf_printf(&model, "%s/xgboost-model", dir);
    smx_buf_printf(&pkg, "%s/package.tar.gz", dir);
    compat_report *r = NULL, *r2 = NULL;
    if (!model.data || !pkg.data)
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!rc)
        rc = extract(path, o, c->entry, model.data, err);
    if (!rc)
        rc = package(model.data, pkg.data, o, c->container, &r, err);
    if (!rc) {
        from_facts(r, c);
        if (loads_correctly(r)) { /* as it is, once at the top and alone */
            c->action = COMPAT_CONVERT_REPACKAGED;
            rc = deliver(pkg.data, r, path, o, c, err);
        } else if (!(rc = resave(model.data, pkg.data, r, o, dir, c, err)) && !c->reason[0]) {
            smx_buf_reset(&model);
            smx_buf_printf(&model, "%s/resaved/xgboost-model", dir);
            unlink(pkg.data);
            c->action = COMPAT_CONVERT_RESAVED;
            if (!(rc = package(model.data, pkg.data, o, c->container, &r2, err)))
                rc = deliver(pkg.data, r2, path, o, c, err);
        }
    }
    compat_report_free(r);
    compat_report_free(r2);
    smx_buf_free(&model);
    smx_buf_free(&pkg);
    return rc;
}

int compat_convert(const char *path, const compat_convert_opts *o, compat_conversion *c,
                   smx_err *err)
{
    memset(c, 0, sizeof *c);
    if (!(c->container = compat_container_find(o->container)))
        return smx_fail(err, SMX_EINVAL, "unknown container '%s'", o->container);
    const char *inputs[1] = {path};
    int rc = smx_out_check(o->output, inputs, 1, err);
    char *dir = NULL;
    if (!rc) /* an unwritable $TMPDIR is an I/O problem (SMX_EIO), said before any work */
        rc = smx_scratch_dir("smxgb-convert-", &dir, err);
    compat_report *r = NULL;
    if (!rc)
        rc = verify_one(path, o, c->container, &r, err);
    if (!rc && loads_correctly(r)) { /* 1. as it is */
        from_facts(r, c);
        c->action = COMPAT_CONVERT_COPIED;
        c->verdict = COMPAT_VERDICT_OK;
        snprintf(c->sha256, sizeof c->sha256, "%s", r->scan->sha256_hex);
        c->bytes = r->scan->file_bytes;
        rc = write_output(path, o, path, err);
    } else if (!rc) {
        c->from_verdict = r->results[0].verdict;
        rc = rebuild(path, o, dir, c, err);
    }
    compat_report_free(r);
    if (dir) {
        smx_scratch_remove(dir);
        free(dir);
    }
    if (rc || c->reason[0])
        c->action = COMPAT_CONVERT_REFUSED;
    return rc;
}
