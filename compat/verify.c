/*
 * verify: an artifact against the container versions that could serve it.
 *
 * One streaming scan of the archive (artifacts/scan.c), the container-independent findings
 * (artifact_check_archive), then for every selected container its own listing of the model
 * directory (artifact_check_layout with that version's rules from the table). A finding that
 * several containers share is reported once with the set of containers it applies to, so the
 * report reads "for 0.90-1, 0.90-2, 1.0-1: ..." rather than the same sentence eleven times.
 *
 * While streaming, every top-level regular file goes through compat/model's streaming
 * identifier and is identified as soon as its data ends: kept whole up to load_max_bytes and
 * then loaded for real in a helper process (runtime/loadcheck.c), its bytes dropped after; a
 * larger one is read as it streams, with memory bounded whatever the artifact's size, and is
 * reported not load-checked, with the limit. Facts the streaming read could not establish
 * are in info->unknown (and said in the model's error), never left to read as absent.
 * After the layout, each container gets a verdict for the files it loads (verdicts.c): the load
 * rules (rules/) for its XGBoost and Python, and the load check where the runtime is the
 * container's own XGBoost version.
 */
#include "verify_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *compat_env_get(const char *const *env, size_t n, const char *key)
{
    size_t kl = strlen(key);
    const char *v = NULL;
    for (size_t i = 0; i < n; i++)
        if (!strncmp(env[i], key, kl) && env[i][kl] == '=')
            v = env[i] + kl + 1;
    return v;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Move f into the report, merging with an identical finding from another container. */
static int merge(compat_report *r, size_t *cap, artifact_finding *f, uint64_t mask)
{
    for (size_t i = 0; i < r->n_findings; i++) {
        artifact_finding *g = &r->findings[i].f;
        if (r->findings[i].containers && mask && !strcmp(g->code, f->code) &&
            g->severity == f->severity && same_str(g->entry, f->entry) &&
            same_str(g->message, f->message)) {
            r->findings[i].containers |= mask;
            free(f->message);
            free(f->hint);
            free(f->entry);
            return SMX_OK;
        }
    }
    if (r->n_findings == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        compat_finding *v = realloc(r->findings, nc * sizeof *v);
        if (!v)
            return SMX_ENOMEM;
        r->findings = v;
        *cap = nc;
    }
    r->findings[r->n_findings].f = *f;
    r->findings[r->n_findings].containers = mask;
    r->n_findings++;
    if (f->severity == ARTIFACT_ERROR)
        r->n_errors++;
    else if (f->severity == ARTIFACT_WARNING)
        r->n_warnings++;
    return SMX_OK;
}

void compat_report_free(compat_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_findings; i++) {
        free(r->findings[i].f.message);
        free(r->findings[i].f.hint);
        free(r->findings[i].f.entry);
    }
    free(r->findings);
    for (size_t i = 0; i < r->n_results; i++) {
        compat_judgement j = {0, r->results[i].reasons, r->results[i].n_reasons,
                              r->results[i].hint};
        compat_judgement_free(&j);
        free(r->results[i].loads);
    }
    free(r->results);
    for (size_t i = 0; i < r->n_models; i++) {
        compat_model_info_free(r->models[i].info);
        free(r->models[i].loads);
    }
    free(r->models);
    free(r->runtimes);
    free(r->runtime);
    artifact_scan_free(r->scan);
    free(r);
}

/* ---- identifying the model files while streaming ------------------------------------------ */

#define HEAD_BYTES (1u << 20) /* what a file too large to buffer is identified from */

typedef struct ident_ctx {
    compat_report *r;
    const compat_verify_opts *o;
    size_t cap_models;
    uint64_t max_bytes;          /* files up to this size are kept whole and load-checked */
    compat_model_stream *stream; /* the file being read */
    size_t file_ordinal;         /* how many regular files the scan has shown the hooks */
    size_t ordinal;              /* of the file being read */
    int failed;                  /* out of memory */
} ident_ctx;

static int ident_want(void *vc, const artifact_entry *e)
{
    ident_ctx *c = vc;
    size_t ord = c->file_ordinal++; /* the scan asks for every regular file, in order */
    if (e->depth != 1 || e->type != ARTIFACT_FILE || c->r->n_models >= MAX_MODELS)
        return 0;
    compat_model_stream_begin(c->stream, e->size);
    c->ordinal = ord;
    return 1;
}

static int ident_data(void *vc, const artifact_entry *e, const void *buf, size_t len, int64_t off)
{
    (void)e;
    (void)off;
    ident_ctx *c = vc;
    smx_err err = {0};
    if (compat_model_stream_feed(c->stream, buf, len, &err)) {
        c->failed = 1;
        return SMX_ENOMEM;
    }
    return SMX_OK;
}

/* A cached runtime is opened in the helper before its first load: one restored from another
 * machine's cache may need a newer glibc, a library or a symbol this one does not have. */
static void probe_runtime(compat_report_runtime *rt)
{
    char v[32];
    compat_load_limits lim = {0};
    smx_err err = {0};
    if (compat_runtime_probe(rt->lib, &lim, v, sizeof v, &err) == SMX_OK)
        return;
    rt->failed = 1;
    snprintf(rt->error, sizeof rt->error,
             "the cached runtime of xgboost %s does not run on this machine, so the rules "
             "decide: %.700s",
             rt->pinned, err.msg);
}

/* A real load of the whole file by runtime k, unless that runtime already failed to open. */
static void load_check(ident_ctx *c, compat_model *cm, const artifact_entry *e, size_t k)
{
    compat_report_runtime *rt = &c->r->runtimes[k];
    compat_loadcheck *l = &cm->loads[k];
    if (rt->kind == COMPAT_EVIDENCE_EXACT && !rt->version[0] && !rt->failed)
        probe_runtime(rt);
    if (rt->failed) {
        snprintf(l->note, sizeof l->note, "not load-checked: %.200s", rt->error);
        return;
    }
    size_t len;
    const void *data = compat_model_stream_data(c->stream, &len);
    compat_load_limits lim = {0};
    smx_err lerr = {0};
    if (c->o->on_load_check)
        c->o->on_load_check(e->path, 0, 0, "", c->o->ctx);
    int rc = compat_loadcheck_run(cm->info, data, len, e->path, rt->lib[0] ? rt->lib : NULL, &lim,
                                  l, &lerr);
    if (c->o->on_load_check)
        c->o->on_load_check(e->path, 1, rc == SMX_OK && l->loaded, l->version, c->o->ctx);
    if (rc != SMX_OK) {
        l->ran = 0;
        snprintf(l->note, sizeof l->note, "not load-checked: %.200s", lerr.msg);
    } else if (!l->loaded && !l->version[0] &&
               (strstr(l->error, "libxgboost") || strstr(l->error, "XGBoost library"))) {
        /* the library itself could not be opened: say it once, do not start a child per file */
        rt->failed = 1;
        snprintf(rt->error, sizeof rt->error, "%s", l->error);
        snprintf(l->note, sizeof l->note, "not load-checked: %.200s", l->error);
        l->ran = 0;
        l->error[0] = '\0';
    } else if (l->version[0]) {
        snprintf(rt->version, sizeof rt->version, "%s", l->version);
    }
}

static void ident_end(void *vc, const artifact_entry *e)
{
    ident_ctx *c = vc;
    compat_report *r = c->r;
    if (c->failed)
        return;
    if (smx_grow((void **)&r->models, &c->cap_models, r->n_models + 1, sizeof *r->models)) {
        c->failed = 1;
        return;
    }
    compat_model *cm = &r->models[r->n_models++];
    memset(cm, 0, sizeof *cm);
    cm->entry = c->ordinal; /* resolved to an entry index after the scan */
    cm->bytes = compat_model_stream_size(c->stream);
    cm->partial = compat_model_stream_partial(c->stream);
    smx_err err = {0};
    if (compat_model_stream_identify(c->stream, e->path, &cm->info, &err) != SMX_OK) {
        snprintf(cm->error, sizeof cm->error, "%s", err.msg);
        cm->info = NULL;
    } else if (cm->info->unknown) {
        char what[128];
        snprintf(cm->error, sizeof cm->error, "%s of %llu bytes: not established: %s (%s)",
                 cm->partial ? "read as it streamed" : "identified", (unsigned long long)cm->bytes,
                 compat_unknown_text(cm->info->unknown, what, sizeof what), cm->info->unknown_why);
    }
    if (r->n_runtimes && !(cm->loads = calloc(r->n_runtimes, sizeof *cm->loads))) {
        c->failed = 1;
        return;
    }
    if (!c->o->no_load_check && !cm->partial && compat_is_xgboost_model(cm->info) &&
        !(e->flags & ARTIFACT_F_TRUNCATED))
        for (size_t k = 0; k < r->n_runtimes; k++)
            load_check(c, cm, e, k);
    else if (cm->partial && !c->o->no_load_check && compat_is_xgboost_model(cm->info))
        snprintf(cm->load_note, sizeof cm->load_note,
                 "not load-checked: %llu bytes, over the %llu-byte limit for keeping a model "
                 "whole to load it in a child process (--load-max-bytes)",
                 (unsigned long long)cm->bytes, (unsigned long long)c->max_bytes);
}

int compat_report_ok(const compat_report *r)
{
    return r->n_errors == 0 && (r->n_unknown == 0 || r->allow_unknown);
}

/* ---- verify ------------------------------------------------------------------------------ */

/* The containers asked for (o->containers), or the whole table, one result each. */
static int select_containers(compat_report *r, const compat_verify_opts *o, smx_err *err)
{
    const compat_container *table;
    size_t nt;
    int rc = compat_containers(&table, &nt, err);
    if (rc)
        return rc;
    size_t nsel = o->n_containers ? o->n_containers : nt;
    if (nsel > 64) /* a finding's containers are a 64-bit mask */
        return smx_fail(err, SMX_EINVAL, "at most 64 containers at a time");
    if (!(r->results = calloc(nsel ? nsel : 1, sizeof *r->results)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    for (size_t i = 0; i < nsel; i++) {
        const compat_container *c =
            o->n_containers ? compat_container_find(o->containers[i]) : &table[i];
        if (!c) {
            smx_buf tags = SMX_BUF_INIT;
            for (size_t k = 0; k < nt; k++)
                smx_buf_printf(&tags, "%s%s", k ? ", " : "", table[k].tag);
            rc = smx_fail(err, SMX_EINVAL, "unknown container '%s' (known: %s)", o->containers[i],
                          tags.data ? tags.data : "");
            smx_buf_free(&tags);
            return rc;
        }
        r->results[i].c = c;
        r->results[i].runtime = -1;
    }
    r->n_results = nsel;
    return SMX_OK;
}

/* ---- which XGBoost loads each container's models ----------------------------------------- */

/* The stand-in alone (--runtimes none): the library given, $SMXGB_XGBOOST_LIB or the system's. */
static void standin_only(const char *explicit_lib, compat_runtime_choice *ch)
{
    const char *env = getenv("SMXGB_XGBOOST_LIB");
    memset(ch, 0, sizeof *ch);
    ch->evidence = COMPAT_EVIDENCE_STANDIN;
    if (explicit_lib && *explicit_lib) {
        snprintf(ch->lib, sizeof ch->lib, "%s", explicit_lib);
        snprintf(ch->why, sizeof ch->why, "the XGBoost library given (%s)", explicit_lib);
    } else if (env && *env) {
        snprintf(ch->lib, sizeof ch->lib, "%s", env);
        snprintf(ch->why, sizeof ch->why, "$SMXGB_XGBOOST_LIB (%s)", env);
    } else {
        snprintf(ch->why, sizeof ch->why, "the system's XGBoost (--runtimes none)");
    }
}

/* The runtime of r that runs ch's library, added when it is new; its index, or -1 (ENOMEM). */
static int runtime_index(compat_report *r, size_t *cap, const compat_runtime_choice *ch,
                         const char *version)
{
    for (size_t k = 0; k < r->n_runtimes; k++)
        if (!strcmp(r->runtimes[k].lib, ch->lib))
            return (int)k;
    if (smx_grow((void **)&r->runtimes, cap, r->n_runtimes + 1, sizeof *r->runtimes))
        return -1;
    compat_report_runtime *rt = &r->runtimes[r->n_runtimes];
    memset(rt, 0, sizeof *rt);
    rt->kind = ch->evidence;
    if (ch->evidence == COMPAT_EVIDENCE_EXACT)
        snprintf(rt->pinned, sizeof rt->pinned, "%s", version);
    snprintf(rt->lib, sizeof rt->lib, "%s", ch->lib);
    snprintf(rt->why, sizeof rt->why, "%s", ch->why);
    return (int)r->n_runtimes++;
}

/*
 * For each pinned version among the selected containers, once: its runtime (the cached one,
 * else the stand-in; with --runtimes none the stand-in), or none when its fetch failed. A
 * library serves every container it is chosen for: the load checks run once per library.
 */
static int choose_runtimes(compat_report *r, const compat_verify_opts *o, smx_err *err)
{
    size_t cap = 0;
    for (size_t i = 0; i < r->n_results; i++) {
        compat_result *res = &r->results[i];
        const char *v = res->c->xgboost_str;
        res->runtime = -1;
        for (size_t j = 0; j < i && res->runtime < 0; j++) /* a version already chosen for */
            if (compat_version_same(r->results[j].c->xgboost_str, v) &&
                r->results[j].runtime >= 0) {
                res->runtime = r->results[j].runtime;
                memcpy(res->runtime_why, r->results[j].runtime_why, sizeof res->runtime_why);
            }
        const char *missing = NULL;
        for (size_t m = 0; m < o->n_missing && !missing; m++)
            if (compat_version_same(o->missing[m].version, v))
                missing = o->missing[m].why ? o->missing[m].why : "";
        if (res->runtime >= 0)
            continue;
        if (missing && !(o->xgboost_lib && *o->xgboost_lib)) {
            snprintf(res->runtime_why, sizeof res->runtime_why,
                     "the runtime of xgboost %s could not be fetched, so the rules decide: %.800s",
                     v, missing);
            continue;
        }
        compat_runtime_choice ch;
        if (o->runtimes == COMPAT_RUNTIMES_NONE)
            standin_only(o->xgboost_lib, &ch);
        else if (compat_runtime_choose(v, o->xgboost_lib, o->cache_dir, &ch, err))
            return err->status;
        if ((res->runtime = runtime_index(r, &cap, &ch, v)) < 0)
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        snprintf(res->runtime_why, sizeof res->runtime_why, "%s", ch.why);
    }
    return SMX_OK;
}

/* One streaming pass: the archive's entries, and every top-level file identified (and
 * load-checked by each runtime of the report) as it streams. */
static int scan_and_identify(const char *path, const compat_verify_opts *o, compat_report *r,
                             smx_err *err)
{
    ident_ctx ic = {0};
    ic.r = r;
    ic.o = o;
    ic.max_bytes = o->load_max_bytes ? o->load_max_bytes : COMPAT_IDENTIFY_MAX;
    int rc = compat_model_stream_new(ic.max_bytes, HEAD_BYTES, &ic.stream, err);
    if (rc)
        return rc;
    artifact_hooks hooks = {&ic, ident_want, ident_data, ident_end};
    rc = artifact_scan_file(path, &o->limits, &hooks, &r->scan, err);
    compat_model_stream_free(ic.stream);
    if (rc || ic.failed)
        return rc ? rc : smx_fail(err, SMX_ENOMEM, "out of memory");
    /* the hooks counted regular files: turn the counts into entry indexes */
    for (size_t k = 0; k < r->n_models; k++) {
        size_t found = (size_t)-1, ord = 0;
        for (size_t i = 0; i < r->scan->n_entries && found == (size_t)-1; i++)
            if (r->scan->entries[i].type == ARTIFACT_FILE && ord++ == r->models[k].entry)
                found = i;
        r->models[k].entry = found;
    }
    /* the XGBoost the load checks ran in, for the report */
    smx_buf rt = SMX_BUF_INIT;
    for (size_t k = 0; k < r->n_runtimes; k++) {
        const compat_report_runtime *x = &r->runtimes[k];
        if (x->version[0])
            smx_buf_printf(&rt, "%sXGBoost %s (%s)", rt.len ? "; " : "", x->version,
                           x->lib[0] ? x->lib : "system libxgboost");
    }
    r->runtime = rt.data;
    return SMX_OK;
}

/* Move every finding of af into the report (mask: the containers it is about) and empty af;
 * *errors counts the errors among them. */
static int merge_all(compat_report *r, size_t *cap, artifact_findings *af, uint64_t mask,
                     int *errors)
{
    int rc = SMX_OK;
    for (size_t k = 0; k < af->n; k++) {
        artifact_finding *f = &af->v[k];
        if (!rc && errors && f->severity == ARTIFACT_ERROR)
            (*errors)++;
        if (!rc && (rc = merge(r, cap, f, mask)) == SMX_OK)
            continue; /* the report owns (or has freed) its strings */
        free(f->message);
        free(f->hint);
        free(f->entry);
    }
    free(af->v);
    memset(af, 0, sizeof *af);
    return rc;
}

/* The archive's findings, then each container's listing of the model directory, merged. */
static int check_layouts(compat_report *r, const compat_verify_opts *o)
{
    size_t cap = 0;
    artifact_findings af = {0};
    int rc = artifact_check_archive(r->scan, &af);
    if (!rc)
        rc = merge_all(r, &cap, &af, 0, NULL);
    size_t archive_errors = r->n_errors;
    const char *ens = compat_env_get(o->env, o->n_env, "SAGEMAKER_INFERENCE_ENSEMBLE");
    for (size_t i = 0; !rc && i < r->n_results; i++) {
        compat_result *res = &r->results[i];
        res->rules = compat_layout_rules(res->c, ens);
        res->layout_errors = (int)archive_errors;
        res->loads = malloc((r->scan->n_entries + 1) * sizeof *res->loads);
        rc = res->loads
                 ? artifact_check_layout(r->scan, &res->rules, &af, res->loads, &res->n_loads)
                 : SMX_ENOMEM;
        if (!rc)
            rc = merge_all(r, &cap, &af, 1ull << i, &res->layout_errors);
    }
    artifact_findings_free(&af);
    return rc;
}

int compat_verify(const char *path, const compat_verify_opts *o, compat_report **out, smx_err *err)
{
    *out = NULL;
    /* a load check the user asked for must run: a library they named that cannot be loaded
     * here fails the run (it never becomes "not load-checked") */
    if (o->xgboost_lib && *o->xgboost_lib && !o->no_load_check &&
        compat_lib_check(o->xgboost_lib, err) != SMX_OK) {
        char why[SMX_ERRMAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return smx_fail_at(err, SMX_EIO, o->xgboost_lib,
                           "name a libxgboost.so built for this machine, or drop --xgboost-lib",
                           "the XGBoost library for the load checks cannot be used: %s", why);
    }
    compat_report *r = calloc(1, sizeof *r);
    if (!r)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    int rc = select_containers(r, o, err);
    if (!rc && !o->no_load_check)
        rc = choose_runtimes(r, o, err);
    if (!rc)
        rc = scan_and_identify(path, o, r, err);
    if (!rc && check_layouts(r, o))
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!rc)
        verify_ensembles(r);
    for (size_t i = 0; !rc && i < r->n_results; i++) {
        rc = verify_judge_result(r, &r->results[i], o, o->display ? o->display : path, err);
        /* a container that would fail or predict wrongly is an error of the report (its
         * layout errors are already counted); an unknown verdict is counted apart */
        if (rc || r->results[i].verdict == COMPAT_VERDICT_OK || r->results[i].layout_errors)
            continue;
        if (r->results[i].verdict == COMPAT_VERDICT_UNKNOWN)
            r->n_unknown++;
        else
            r->n_errors++;
    }
    r->allow_unknown = o->allow_unknown;
    if (rc) {
        compat_report_free(r);
        return rc;
    }
    *out = r;
    return SMX_OK;
}
