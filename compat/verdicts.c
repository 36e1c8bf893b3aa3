/*
 * verdicts: what each container's verdict on an artifact rests on, once verify (verify.c) has
 * scanned it, identified and load-checked its model files and listed each container's model
 * directory: the layout, the load rules for the container's XGBoost and Python (rules/), the
 * real loads (the one in the container's own XGBoost version decides, and overrules a rule that
 * says the load fails; a stand-in's is reported), the ensemble's shapes and the evidence.
 */
#include "verify_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int compat_is_xgboost_model(const compat_model_info *m)
{
    return m && !m->corrupt &&
           (m->format == COMPAT_FMT_BINARY || m->format == COMPAT_FMT_JSON ||
            m->format == COMPAT_FMT_UBJSON || m->format == COMPAT_FMT_PICKLE) &&
           m->payload != COMPAT_PAYLOAD_NONE;
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
    if (!compat_is_xgboost_model(cm->info))
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
        /* a file the container loads that was not identified: whether it loads is unknown */
        char msg[SMX_ERRMAX + 160];
        snprintf(msg, sizeof msg,
                 "not identified%s%s; settle it by identifying the file on its own (smxgb "
                 "inspect) or by keeping fewer model files",
                 cm ? ": " : " (too many files)", cm ? cm->error : "");
        return compat_judgement_add(all, "UNIDENTIFIED", COMPAT_VERDICT_UNKNOWN, path, msg, NULL);
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
        snprintf(msg, sizeof msg,
                 "%zu model files: only the first %d were identified, the others are not "
                 "judged; keep at most %d",
                 *judged, MAX_MODELS, MAX_MODELS);
        rc = compat_judgement_add(all, "UNIDENTIFIED", COMPAT_VERDICT_UNKNOWN, NULL, msg, NULL);
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
        if (!cm || !compat_is_xgboost_model(cm->info))
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

int verify_judge_result(compat_report *r, compat_result *res, const compat_verify_opts *vo,
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
    else if (all.verdict == COMPAT_VERDICT_UNKNOWN && !all.hint)
        h = "a fact this verdict rests on is not known: settle it as the unknown reason says, "
            "or accept it with --allow-unknown (the report then says so)";
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
void verify_ensembles(compat_report *r)
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
            /* past MAX_MODELS the files are not identified: judge_layout calls them unknown */
            for (size_t l = 0; l < res->n_loads && l < MAX_MODELS && all_models; l++) {
                const compat_model *cm = compat_report_model(r, res->loads[l]);
                all_models = cm && compat_is_xgboost_model(cm->info);
            }
        }
        if (!all_models || !cf->containers)
            continue;
        smx_buf m = SMX_BUF_INIT;
        if (nfiles > MAX_MODELS)
            smx_buf_printf(&m,
                           "%zu top-level files, the first %d of them XGBoost models (the others "
                           "were not identified), and SAGEMAKER_INFERENCE_ENSEMBLE is on: ",
                           nfiles, MAX_MODELS);
        else
            smx_buf_printf(&m,
                           "%zu top-level files, every one an XGBoost model, and "
                           "SAGEMAKER_INFERENCE_ENSEMBLE is on: ",
                           nfiles);
        smx_buf_puts(&m, "the container loads them all and serves their mean prediction (a vote "
                         "for multi:softmax and binary:hinge)");
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
