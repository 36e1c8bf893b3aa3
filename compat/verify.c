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
 * After the layout, each container gets a verdict for the files it loads: the load rules
 * (rules/) for its XGBoost and Python, and the load check where the runtime is the
 * container's own XGBoost version.
 */
#include "compat.h"

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

#define MAX_MODELS 64
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

static int is_xgboost_model(const compat_model_info *m)
{
    return m && !m->corrupt &&
           (m->format == COMPAT_FMT_BINARY || m->format == COMPAT_FMT_JSON ||
            m->format == COMPAT_FMT_UBJSON || m->format == COMPAT_FMT_PICKLE) &&
           m->payload != COMPAT_PAYLOAD_NONE;
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
    if (!c->o->no_load_check && !cm->partial && is_xgboost_model(cm->info) &&
        !(e->flags & ARTIFACT_F_TRUNCATED))
        for (size_t k = 0; k < r->n_runtimes; k++)
            load_check(c, cm, e, k);
    else if (cm->partial && !c->o->no_load_check && is_xgboost_model(cm->info))
        snprintf(cm->load_note, sizeof cm->load_note,
                 "not load-checked: %llu bytes, over the %llu-byte limit for keeping a model "
                 "whole to load it in a child process (--load-max-bytes)",
                 (unsigned long long)cm->bytes, (unsigned long long)c->max_bytes);
}

int compat_report_ok(const compat_report *r)
{
    return r->n_errors == 0 && (r->n_unknown == 0 || r->allow_unknown);
}

const compat_model *compat_report_model(const compat_report *r, size_t entry)
{
    for (size_t i = 0; i < r->n_models; i++)
        if (r->models[i].entry == entry)
            return &r->models[i];
    return NULL;
}

/* ---- verdicts ----------------------------------------------------------------------------- */

static int same_version(compat_version a, const char *b)
{
    compat_version v;
    return compat_version_parse(b, &v) == 0 && a.major == v.major && a.minor == v.minor &&
           (a.patch < 0 ? 0 : a.patch) == (v.patch < 0 ? 0 : v.patch);
}

/* The real load of cm that counts for container c: one by c's own XGBoost version, whichever
 * runtime ran it, or NULL (a load by another version is a stand-in: reported, the rules
 * decide). */
static const compat_loadcheck *exact_load(const compat_report *r, const compat_model *cm,
                                          const compat_container *c)
{
    for (size_t k = 0; cm && cm->loads && k < r->n_runtimes; k++) {
        const compat_loadcheck *l = &cm->loads[k];
        if (l->ran && l->version[0] && same_version(c->xgboost, l->version))
            return l;
    }
    return NULL;
}

const compat_loadcheck *compat_model_load(const compat_report *r, const compat_model *cm,
                                          const compat_result *res)
{
    if (!cm || !cm->loads || !r->n_runtimes)
        return NULL;
    if (!res) {
        for (size_t k = 0; k < r->n_runtimes; k++)
            if (cm->loads[k].ran)
                return &cm->loads[k];
        return &cm->loads[0];
    }
    const compat_loadcheck *l = exact_load(r, cm, res->c);
    return l ? l : res->runtime >= 0 ? &cm->loads[res->runtime] : NULL;
}

/* The exact load loaded the file and predicted: no rule that says the load raises stands. */
static int load_clean(const compat_loadcheck *l)
{
    return l && !l->timed_out && l->loaded && l->predicted;
}

/*
 * A real load by this container's own XGBoost version counts like a rule: a load that failed in
 * any way (it raised, crashed, hit the memory limit or the deadline, or predicting failed after
 * it loaded) is a failure, predictions that differ from the reference predictor are wrong
 * predictions. Where a rule says the load fails and the load came through, the load wins: the
 * rule is shown, overruled (judge_file). A clean load does not clear a rule about wrong
 * predictions: the generated rows may not exercise what the rule is about.
 */
static int load_reason(compat_judgement *all, const compat_report *r, const compat_result *res,
                       const compat_model *cm, const char *path, size_t overruled)
{
    const compat_loadcheck *l = exact_load(r, cm, res->c);
    if (!l)
        return SMX_OK;
    char msg[SMX_ERRMAX + 400], over[96] = "";
    int v = COMPAT_VERDICT_OK;
    if (overruled)
        snprintf(over, sizeof over, "; this real load overrules %zu rule%s that say%s it fails",
                 overruled, overruled == 1 ? "" : "s", overruled == 1 ? "s" : "");
    if (l->timed_out) {
        /* the deadline guards time; it never decides that the model loads or that it fails */
        snprintf(msg, sizeof msg,
                 "load check in XGBoost %s did not finish: %s; settle it with `smxgb check` "
                 "(a real serve and probe) or on a machine where the load is faster",
                 l->version[0] ? l->version : "(not yet opened)", l->error);
        v = COMPAT_VERDICT_UNKNOWN;
    } else if (!l->loaded) {
        snprintf(msg, sizeof msg, "loaded with XGBoost %s: failed: %s", l->version, l->error);
        v = COMPAT_VERDICT_FAILS;
    } else if (!l->predicted) {
        snprintf(msg, sizeof msg,
                 "loaded with XGBoost %s, but predicting failed (every /invocations would): %s",
                 l->version, l->note[0] ? l->note : "no predictions came back");
        v = COMPAT_VERDICT_FAILS;
    } else if (l->compared) {
        int bad = !(l->max_diff <= 1e-5);
        snprintf(msg, sizeof msg,
                 "loaded with XGBoost %s: ok; predictions on %llu rows %s the reference "
                 "predictor (max |diff| %.3g)%s%s%s",
                 l->version, (unsigned long long)l->rows, bad ? "DIFFER from" : "match",
                 l->max_diff, l->note[0] ? "; " : "", l->note, over);
        v = bad ? COMPAT_VERDICT_WRONG : COMPAT_VERDICT_OK;
    } else {
        snprintf(msg, sizeof msg, "loaded with XGBoost %s: ok (%s)%s", l->version,
                 l->note[0] ? l->note : "predictions not compared", over);
    }
    return compat_judgement_add(all, "LOAD-CHECK", v, path, msg, "a real load in a child process");
}

/* Why no load of cm speaks for res: the rules decide. */
static const char *rules_note(const compat_report *r, const compat_result *res,
                              const compat_model *cm, int no_load_check)
{
    const compat_report_runtime *rt = res->runtime >= 0 ? &r->runtimes[res->runtime] : NULL;
    const compat_loadcheck *l = cm && rt && cm->loads ? &cm->loads[res->runtime] : NULL;
    if (!cm)
        return "not identified";
    if (no_load_check)
        return "not load-checked (--no-load-check)";
    if (!is_xgboost_model(cm->info))
        return "not an XGBoost model file: nothing to load";
    if (cm->load_note[0])
        return cm->load_note;
    if (!rt)
        return res->runtime_why[0] ? res->runtime_why : "not load-checked";
    if (rt->failed)
        return rt->error;
    if (l && l->timed_out)
        return l->error;
    return l && l->note[0] ? l->note : "not load-checked";
}

/* What the verdict for one file rests on; the container's evidence is the weakest. */
static void file_evidence(compat_evidence *ev, const compat_report *r, const compat_result *res,
                          const compat_model *cm, int no_load_check, int first)
{
    compat_evidence e = {0};
    const compat_loadcheck *x = exact_load(r, cm, res->c);
    const compat_report_runtime *rt = res->runtime >= 0 ? &r->runtimes[res->runtime] : NULL;
    const compat_loadcheck *l = cm && rt && cm->loads ? &cm->loads[res->runtime] : NULL;
    if (x) {
        e.kind = COMPAT_EVIDENCE_EXACT;
        snprintf(e.xgboost, sizeof e.xgboost, "%s", x->version);
    } else if (l && l->ran && l->version[0] && !rt->failed) {
        e.kind = COMPAT_EVIDENCE_STANDIN;
        snprintf(e.xgboost, sizeof e.xgboost, "%s", l->version);
        snprintf(e.note, sizeof e.note,
                 "XGBoost %s is not this container's %s: its load is reported, the rules "
                 "decide (%.700s)",
                 l->version, res->c->xgboost_str, res->runtime_why);
    } else {
        e.kind = COMPAT_EVIDENCE_RULES;
        snprintf(e.note, sizeof e.note, "%s", rules_note(r, res, cm, no_load_check));
    }
    e.partial = cm && cm->partial;
    if (first || e.kind < ev->kind) {
        int partial = ev->partial || e.partial;
        *ev = e;
        ev->partial = partial;
    } else {
        ev->partial |= e.partial;
    }
}

/* The worst verdict of the reasons that still decide. */
static void recount(compat_judgement *j)
{
    j->verdict = COMPAT_VERDICT_OK;
    for (size_t i = 0; i < j->n_reasons; i++)
        if (!j->reasons[i].overruled && j->reasons[i].verdict > j->verdict)
            j->verdict = j->reasons[i].verdict;
}

/* The rules' reasons about cm for res, added to all; those that say the load fails are
 * overruled when the load by the container's own version came through (*overruled counts
 * them). */
static int add_rule_reasons(compat_judgement *all, const compat_judgement *j,
                            const compat_loadcheck *exact, const char *path, size_t *overruled)
{
    int rc = SMX_OK;
    int clean = load_clean(exact);
    for (size_t i = 0; i < j->n_reasons && !rc; i++) {
        const compat_reason *x = &j->reasons[i];
        rc = compat_judgement_add(all, x->rule, x->verdict, path, x->message, x->source);
        if (!rc && clean && x->verdict == COMPAT_VERDICT_FAILS &&
            !compat_rule_python_level(x->rule)) {
            all->reasons[all->n_reasons - 1].overruled = 1;
            (*overruled)++;
        }
    }
    if (*overruled)
        recount(all);
    return rc;
}

/* The reasons about one file the container loads (cm NULL: not identified). */
static int judge_file(compat_judgement *all, const compat_report *r, const compat_result *res,
                      const compat_model *cm, const char *path, const compat_judge_opts *jo,
                      smx_err *err)
{
    if (!cm || !cm->info) {
        char msg[SMX_ERRMAX + 64];
        snprintf(msg, sizeof msg, "not identified%s%s", cm ? ": " : " (too many files)",
                 cm ? cm->error : "");
        return compat_judgement_add(all, "UNIDENTIFIED", COMPAT_VERDICT_OK, path, msg, NULL);
    }
    compat_reader rd = {res->c->xgboost, res->c->python, res->c->tag};
    compat_judgement j;
    /* real loads that failed or mispredicted: their versions do not load it correctly */
    compat_version bad[COMPAT_MAX_RUNTIMES];
    compat_judge_opts o = *jo;
    o.not_ok = bad;
    o.n_not_ok = 0;
    for (size_t k = 0; cm->loads && k < r->n_runtimes && k < COMPAT_MAX_RUNTIMES; k++) {
        const compat_loadcheck *l = &cm->loads[k];
        if (l->ran && !l->timed_out && l->version[0] &&
            compat_version_parse(l->version, &bad[o.n_not_ok]) == 0 &&
            (!l->loaded || !l->predicted || (l->compared && !(l->max_diff <= 1e-5))))
            o.n_not_ok++;
    }
    int rc = compat_judge(cm->info, path, &rd, &o, &j, err);
    if (rc)
        return rc;
    size_t overruled = 0;
    rc = add_rule_reasons(all, &j, exact_load(r, cm, res->c), path, &overruled);
    /* a fact the streaming read could not reach is unknown, and so is every verdict resting on it
     */
    if (!rc && cm->info->unknown && cm->error[0])
        rc = compat_judgement_add(all, "UNKNOWN-FACT", COMPAT_VERDICT_UNKNOWN, path, cm->error,
                                  "the model's own bytes (not reached within the reader's limits)");
    else if (!rc && cm->partial && cm->error[0])
        rc = compat_judgement_add(all, "PARTIAL", COMPAT_VERDICT_OK, path, cm->error, NULL);
    if (!rc)
        rc = load_reason(all, r, res, cm, path, overruled);
    /* an overruled rule's fix is not the fix */
    if (!rc && j.hint && !overruled && !all->hint && !(all->hint = strdup(j.hint)))
        rc = SMX_ENOMEM;
    compat_judgement_free(&j);
    return rc;
}

/* Why the layout decides the verdict, if it does; how many files are judged. */
static int judge_layout(compat_judgement *all, const compat_result *res, size_t nl, size_t *judged)
{
    int rc = SMX_OK;
    if (res->layout_errors)
        rc = compat_judgement_add(
            all, "LAYOUT", COMPAT_VERDICT_FAILS, NULL,
            "this container's listing of /opt/ml/model fails (see the errors above)",
            "container.md §2");
    else if (!nl)
        rc = compat_judgement_add(all, "LAYOUT", COMPAT_VERDICT_FAILS, NULL,
                                  "no file this container would load", "container.md §2");
    /* a layout that fails decides the verdict; the files are judged only when it is sound
     * (and then at most MAX_MODELS of them were identified) */
    *judged = res->layout_errors ? 0 : nl;
    if (!rc && *judged > MAX_MODELS) {
        char msg[128];
        snprintf(msg, sizeof msg, "%zu model files: only the first %d were identified", *judged,
                 MAX_MODELS);
        rc = compat_judgement_add(all, "UNIDENTIFIED", COMPAT_VERDICT_OK, NULL, msg, NULL);
        *judged = MAX_MODELS;
    }
    return rc;
}

/* How many values per row a model predicts: what the container's np.mean combines. */
static int64_t output_width(const compat_model_info *m)
{
    if (!strcmp(m->objective, "multi:softmax"))
        return 1;
    if (m->num_class > 1)
        return m->num_class;
    if (m->num_target > 1)
        return m->num_target;
    return m->size_leaf_vector > 1 ? m->size_leaf_vector : 1;
}

/* An ensemble whose models predict different shapes: the container averages their predictions
 * with np.mean, which raises on arrays of different shapes, so every /invocations answers 400. */
static int judge_ensemble_shape(compat_judgement *all, const compat_report *r,
                                const compat_result *res, size_t judged)
{
    if (!res->rules.ensemble || judged < 2)
        return SMX_OK;
    smx_buf b = SMX_BUF_INIT;
    int64_t first = -1;
    int differ = 0;
    for (size_t k = 0; k < judged; k++) {
        const compat_model *cm = compat_report_model(r, res->loads[k]);
        if (!cm || !is_xgboost_model(cm->info))
            continue;
        int64_t w = output_width(cm->info);
        differ |= first >= 0 && w != first;
        if (first < 0)
            first = w;
        smx_buf_printf(&b, "%s%s: %lld value%s per row (%s)", b.len ? ", " : "",
                       r->scan->entries[res->loads[k]].path, (long long)w, w == 1 ? "" : "s",
                       cm->info->objective[0] ? cm->info->objective : "?");
    }
    int rc = SMX_OK;
    if (differ)
        rc = compat_judgement_add(
            all, "ENSEMBLE-SHAPE", COMPAT_VERDICT_FAILS, NULL, b.data ? b.data : "",
            "XC@1.7-1:src/sagemaker_xgboost_container/algorithm_mode/serve_utils.py:224-235 "
            "(np.mean(ensemble, axis=0) over the models' predictions), "
            "XC@1.7-1:src/sagemaker_xgboost_container/algorithm_mode/serve.py:226-229 (an "
            "exception in predict answers 400); container.md §2");
    if (differ && !rc) {
        /* say what happens after the list of shapes */
        compat_reason *x = &all->reasons[all->n_reasons - 1];
        smx_buf m = SMX_BUF_INIT;
        smx_buf_printf(&m,
                       "the ensemble's models predict different shapes (%s): the container "
                       "averages them with np.mean, which raises, so every /invocations answers "
                       "400 'Unable to evaluate payload provided'",
                       x->message);
        if (m.data) {
            free(x->message);
            x->message = m.data;
        }
    }
    smx_buf_free(&b);
    return rc;
}

/* Ensemble off and several files: the container loads whichever os.listdir returns first,
 * an order the archive does not set, so any of them may be the one. verdicts[k] is file k's. */
static int judge_order(compat_judgement *all, const compat_report *r, const compat_result *res,
                       const int *verdicts, size_t judged)
{
    if (res->rules.ensemble || judged < 2)
        return SMX_OK;
    smx_buf names = SMX_BUF_INIT, bad = SMX_BUF_INIT;
    int worst = COMPAT_VERDICT_OK;
    for (size_t k = 0; k < judged; k++) {
        const char *path = r->scan->entries[res->loads[k]].path;
        smx_buf_printf(&names, "%s%s", k ? ", " : "", path);
        if (verdicts[k] != COMPAT_VERDICT_OK)
            smx_buf_printf(&bad, "%s%s (%s)", bad.len ? ", " : "", path,
                           compat_verdict_name(verdicts[k]));
        if (verdicts[k] > worst)
            worst = verdicts[k];
    }
    smx_buf m = SMX_BUF_INIT;
    smx_buf_printf(
        &m,
        "SAGEMAKER_INFERENCE_ENSEMBLE is off: the container loads one of %zu files (%s), "
        "whichever os.listdir returns first, an order the archive does not set%s%s",
        judged, names.data ? names.data : "",
        bad.len ? "; the one it loads may be " : "; each of them loads correctly",
        bad.data ? bad.data : "");
    int rc = m.data ? compat_judgement_add(all, "LAYOUT-ORDER", worst, NULL, m.data,
                                           "XC@1.7-1:src/sagemaker_xgboost_container/"
                                           "algorithm_mode/serve_utils.py:156,170 "
                                           "(os.listdir, then paths[0:1]); container.md §2")
                    : SMX_ENOMEM;
    smx_buf_free(&names);
    smx_buf_free(&bad);
    smx_buf_free(&m);
    return rc;
}

static int judge_result(compat_report *r, compat_result *res, const compat_verify_opts *vo,
                        const char *artifact, smx_err *err)
{
    compat_judgement all = {0};
    /* the files it may load: all of them with ensemble on; with it off one, but any of them
     * may be the one os.listdir gives first */
    size_t nl = res->n_loads, judged;
    int rc = judge_layout(&all, res, nl, &judged);
    /* the XGBoost convert would re-save with: the stand-in (the container's own runtime proves
     * the result), when it loaded the models */
    compat_judge_opts jo = {.artifact = artifact, .runtime = {-1, 0, -1}};
    compat_version rv;
    for (size_t k = 0; k < r->n_runtimes && jo.runtime.major < 0; k++)
        if (r->runtimes[k].kind == COMPAT_EVIDENCE_STANDIN && !r->runtimes[k].failed &&
            compat_version_parse(r->runtimes[k].version, &rv) == 0)
            jo.runtime = rv;
    res->evidence = (compat_evidence){0};
    snprintf(res->evidence.note, sizeof res->evidence.note, "%s",
             judged ? "" : "the layout decides: no file is judged");
    int verdicts[MAX_MODELS];
    for (size_t k = 0; k < judged && !rc; k++) {
        const compat_model *cm = compat_report_model(r, res->loads[k]);
        size_t before = all.n_reasons;
        rc = judge_file(&all, r, res, cm, r->scan->entries[res->loads[k]].path, &jo, err);
        verdicts[k] = COMPAT_VERDICT_OK;
        for (size_t i = before; i < all.n_reasons; i++)
            if (!all.reasons[i].overruled && all.reasons[i].verdict > verdicts[k])
                verdicts[k] = all.reasons[i].verdict;
        file_evidence(&res->evidence, r, res, cm, vo->no_load_check, k == 0);
    }
    int file_verdict = all.verdict;
    if (!rc)
        rc = judge_ensemble_shape(&all, r, res, judged);
    if (!rc)
        rc = judge_order(&all, r, res, verdicts, judged);
    if (rc == SMX_ENOMEM)
        smx_fail(err, rc, "out of memory");
    const char *h = NULL;
    if (all.verdict > file_verdict) /* the ensemble's shapes decide, not a file */
        h = "keep models that predict the same shape, or only one model";
    else if (all.verdict != COMPAT_VERDICT_OK && !res->rules.ensemble && judged > 1)
        h = "keep only the model file at the top level: with SAGEMAKER_INFERENCE_ENSEMBLE off, "
            "the container loads whichever file os.listdir returns first";
    else if (all.verdict != COMPAT_VERDICT_OK && !all.hint)
        h = res->layout_errors || !nl ? "fix the archive layout first (see the errors above)"
                                      : "load the model with this container's XGBoost "
                                        "version and re-save it with save_model";
    if (!rc && h) {
        free(all.hint);
        if (!(all.hint = strdup(h)))
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    res->verdict = all.verdict;
    res->reasons = all.reasons;
    res->n_reasons = all.n_reasons;
    res->hint = all.verdict == COMPAT_VERDICT_OK ? (free(all.hint), NULL) : all.hint;
    return rc;
}

/* Several files that are all real XGBoost models, with ensemble on, are an ensemble: a
 * supported feature, so a warning rather than an error. */
static void ensembles(compat_report *r)
{
    for (size_t i = 0; i < r->n_findings; i++) {
        compat_finding *cf = &r->findings[i];
        if (strcmp(cf->f.code, "layout-multiple-models") || cf->f.severity != ARTIFACT_ERROR)
            continue;
        int all_models = 1;
        size_t nfiles = 0;
        for (size_t k = 0; k < r->n_results && all_models; k++) {
            if (!(cf->containers & (1ull << k)))
                continue;
            const compat_result *res = &r->results[k];
            nfiles = res->n_loads;
            all_models = res->n_loads <= MAX_MODELS;
            for (size_t l = 0; l < res->n_loads && all_models; l++) {
                const compat_model *cm = compat_report_model(r, res->loads[l]);
                all_models = cm && is_xgboost_model(cm->info);
            }
        }
        if (!all_models || !cf->containers)
            continue;
        smx_buf m = SMX_BUF_INIT;
        smx_buf_printf(
            &m,
            "%zu top-level files, every one an XGBoost model, and SAGEMAKER_INFERENCE_ENSEMBLE "
            "is on: the container loads them all and serves their mean prediction (a vote "
            "for multi:softmax and binary:hinge)",
            nfiles);
        char *h = strdup("intended? then nothing to do; otherwise keep one model file, or set "
                         "SAGEMAKER_INFERENCE_ENSEMBLE=false");
        if (!m.data || !h) {
            smx_buf_free(&m);
            free(h);
            continue;
        }
        free(cf->f.message);
        free(cf->f.hint);
        cf->f.message = m.data;
        cf->f.hint = h;
        cf->f.code = "layout-ensemble";
        cf->f.severity = ARTIFACT_WARNING;
        r->n_errors--;
        r->n_warnings++;
        for (size_t k = 0; k < r->n_results; k++)
            if (cf->containers & (1ull << k))
                r->results[k].layout_errors--;
    }
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
        ensembles(r);
    for (size_t i = 0; !rc && i < r->n_results; i++) {
        rc = judge_result(r, &r->results[i], o, o->display ? o->display : path, err);
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
