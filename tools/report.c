/*
 * Printers for a compat_report (verify, and later check and plan): the readable text a
 * person sees in a terminal or CI log, and the documented JSON for machines. Both are built
 * from the same report, so they always say the same thing.
 */
#include "tools.h"

#include <string.h>
#include <unistd.h>

int print_json(FILE *f, json_t *v)
{
    if (json_dumpf(v, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        return -1;
    fputc('\n', f);
    return 0;
}

static json_t *containers_of(const compat_report *r, uint64_t mask)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_results; i++)
        if (mask & (1ull << i))
            json_array_append_new(a, json_string(r->results[i].c->tag));
    return a;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *reasons_json(const compat_result *res)
{
    json_t *a = json_array();
    for (size_t i = 0; i < res->n_reasons; i++) {
        const compat_reason *x = &res->reasons[i];
        json_t *o = json_object();
        json_object_set_new(o, "rule", json_string(x->rule));
        json_object_set_new(o, "verdict", json_string(compat_verdict_name(x->verdict)));
        json_object_set_new(o, "entry", str_or_null(x->entry));
        json_object_set_new(o, "message", json_string(x->message));
        json_object_set_new(o, "source", str_or_null(x->source));
        json_object_set_new(o, "overruled", json_boolean(x->overruled));
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *evidence_json(const compat_evidence *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(compat_evidence_name(e->kind)));
    json_object_set_new(o, "xgboost", e->xgboost[0] ? json_string(e->xgboost) : json_null());
    json_object_set_new(o, "identified", json_string(e->partial ? "head and tail" : "whole file"));
    json_object_set_new(o, "note", e->note[0] ? json_string(e->note) : json_null());
    return o;
}

/* One line: what the container's verdict rests on. */
static void print_evidence(FILE *f, const compat_result *res)
{
    const compat_evidence *e = &res->evidence;
    const char *how = e->partial ? "identified from the file's first and last bytes"
                                 : "identified from the bytes";
    if (e->kind == COMPAT_EVIDENCE_EXACT)
        fprintf(f,
                "             evidence: load-checked in XGBoost %s (this container's version); "
                "%s\n",
                e->xgboost, how);
    else if (e->kind == COMPAT_EVIDENCE_STANDIN)
        fprintf(f,
                "             evidence: rules only, %s (XGBoost %s loaded it as a stand-in, "
                "not this container's %s: %s)\n",
                how, e->xgboost, res->c->xgboost_str, res->runtime_why);
    else
        fprintf(f, "             evidence: rules only, %s%s%s\n", how, e->note[0] ? "; " : "",
                e->note);
}

/* One load check (rt: the runtime it ran in, for the list of every load). */
static json_t *load_json(const compat_loadcheck *l, const compat_model *cm,
                         const compat_report_runtime *rt)
{
    json_t *lc = json_object();
    if (rt) {
        json_object_set_new(lc, "lib", json_string(rt->lib[0] ? rt->lib : "system libxgboost"));
        json_object_set_new(lc, "runtime", json_string(compat_evidence_name(rt->kind)));
    }
    json_object_set_new(lc, "ran", json_boolean(l->ran));
    if (l->ran) {
        json_object_set_new(lc, "xgboost", json_string(l->version));
        json_object_set_new(lc, "loaded", json_boolean(l->loaded));
        json_object_set_new(lc, "error", l->loaded ? json_null() : json_string(l->error));
        json_object_set_new(lc, "predicted", json_boolean(l->predicted));
        json_object_set_new(lc, "compared", json_boolean(l->compared));
        json_object_set_new(lc, "max_abs_diff",
                            l->compared && l->max_diff < 1e300 ? json_real(l->max_diff)
                                                               : json_null());
    }
    const char *note = l->note[0] ? l->note : cm->load_note;
    json_object_set_new(lc, "note", note[0] ? json_string(note) : json_null());
    return lc;
}

static json_t *models_json(const compat_report *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_models; i++) {
        const compat_model *cm = &r->models[i];
        if (cm->entry >= r->scan->n_entries)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "entry", json_string(r->scan->entries[cm->entry].path));
        json_object_set_new(o, "bytes", json_integer((json_int_t)cm->bytes));
        json_object_set_new(o, "partial", json_boolean(cm->partial));
        const compat_model_info *m = cm->info;
        if (m) {
            char w[64];
            compat_writer_text(m, w, sizeof w, 0);
            json_object_set_new(o, "format", json_string(compat_format_name(m->format)));
            json_object_set_new(o, "payload", json_string(compat_payload_name(m->payload)));
            json_object_set_new(o, "detail", json_string(m->detail));
            json_object_set_new(o, "writer", json_string(w));
            json_object_set_new(o, "objective", json_string(m->objective));
            json_object_set_new(o, "booster", json_string(m->booster));
            json_object_set_new(o, "num_feature", json_integer(m->num_feature));
            if (m->corrupt)
                json_object_set_new(o, "problem", json_string(m->problem));
        } else {
            json_object_set_new(o, "error", json_string(cm->error));
        }
        static const compat_loadcheck none;
        const compat_loadcheck *first = compat_model_load(r, cm, NULL);
        json_object_set_new(o, "load_check", load_json(first ? first : &none, cm, NULL));
        json_t *all = json_array();
        for (size_t k = 0; cm->loads && k < r->n_runtimes; k++)
            json_array_append_new(all, load_json(&cm->loads[k], cm, &r->runtimes[k]));
        json_object_set_new(o, "load_checks", all);
        json_array_append_new(a, o);
    }
    return a;
}

/* One load check; by: which library ran it ("the cached runtime", "the stand-in"). */
static void print_load(FILE *f, const compat_loadcheck *l, const char *by)
{
    if (!l->ran) {
        if (l->note[0])
            fprintf(f, "      %s\n", l->note);
        return;
    }
    fprintf(f, "      loaded with XGBoost %s (%s)", l->version[0] ? l->version : "?", by);
    if (!l->loaded)
        fprintf(f, ": failed: %s\n", l->error);
    else if (!l->predicted)
        fprintf(f, ", but predicting failed: %s\n",
                l->note[0] ? l->note : "no predictions came back");
    else if (l->compared)
        fprintf(f, ": ok; largest difference from the reference predictor %.3g%s%s\n", l->max_diff,
                l->note[0] ? "; " : "", l->note);
    else
        fprintf(f, ": ok (%s)\n", l->note[0] ? l->note : "not compared");
}

/* The XGBoost libraries the load checks ran in, and the containers each one served. */
static json_t *runtimes_json(const compat_report *r)
{
    json_t *rts = json_array();
    for (size_t k = 0; k < r->n_runtimes; k++) {
        const compat_report_runtime *x = &r->runtimes[k];
        json_t *tags = json_array();
        for (size_t i = 0; i < r->n_results; i++)
            if (r->results[i].runtime == (int)k)
                json_array_append_new(tags, json_string(r->results[i].c->tag));
        json_array_append_new(rts, json_pack("{s:s, s:s, s:o, s:s, s:o, s:o}", "kind",
                                             compat_evidence_name(x->kind), "lib",
                                             x->lib[0] ? x->lib : "system libxgboost", "xgboost",
                                             x->version[0] ? json_string(x->version) : json_null(),
                                             "why", x->why, "containers", tags, "error",
                                             x->failed ? json_string(x->error) : json_null()));
    }
    return rts;
}

json_t *report_to_json(const compat_report *r)
{
    const artifact_scan *s = r->scan;
    json_t *j = json_object();
    json_object_set_new(j, "artifact", json_string(s->path));
    json_object_set_new(j, "sha256", json_string(s->sha256_hex));
    json_object_set_new(j, "bytes", json_integer((json_int_t)s->file_bytes));
    json_object_set_new(j, "compression", json_string(s->filter));
    json_object_set_new(j, "format", json_string(s->format));
    json_object_set_new(j, "ok", json_boolean(compat_report_ok(r)));
    json_object_set_new(j, "unknown", json_integer((json_int_t)r->n_unknown));
    json_object_set_new(j, "allow_unknown", json_boolean(r->allow_unknown));
    json_t *ents = json_array();
    for (size_t i = 0; i < s->n_entries; i++) {
        const artifact_entry *e = &s->entries[i];
        json_t *o = json_object();
        char mode[8], hex[65];
        snprintf(mode, sizeof mode, "%04o", e->mode);
        json_object_set_new(o, "path", json_string(e->raw_path));
        json_object_set_new(o, "normalized", json_string(e->path));
        json_object_set_new(o, "type", json_string(artifact_type_name(e->type)));
        json_object_set_new(o, "size", json_integer(e->size));
        json_object_set_new(o, "mode", json_string(mode));
        if (e->link_target)
            json_object_set_new(o, "link_target", json_string(e->link_target));
        if (e->has_sha256) {
            smx_sha256_hex(e->sha256, hex);
            json_object_set_new(o, "sha256", json_string(hex));
        }
        json_array_append_new(ents, o);
    }
    json_object_set_new(j, "entries", ents);
    json_t *fs = json_array();
    for (size_t i = 0; i < r->n_findings; i++) {
        const compat_finding *cf = &r->findings[i];
        json_t *o = json_object();
        json_object_set_new(o, "code", json_string(cf->f.code));
        json_object_set_new(o, "severity", json_string(artifact_severity_name(cf->f.severity)));
        json_object_set_new(o, "message", json_string(cf->f.message));
        json_object_set_new(o, "hint", str_or_null(cf->f.hint));
        json_object_set_new(o, "entry", str_or_null(cf->f.entry));
        json_object_set_new(o, "containers", containers_of(r, cf->containers));
        json_array_append_new(fs, o);
    }
    json_object_set_new(j, "findings", fs);
    json_t *cs = json_array();
    for (size_t i = 0; i < r->n_results; i++) {
        const compat_result *res = &r->results[i];
        json_t *o = json_object();
        json_object_set_new(o, "container", json_string(res->c->tag));
        json_object_set_new(o, "xgboost", json_string(res->c->xgboost_str));
        json_object_set_new(o, "python", json_string(res->c->python));
        json_object_set_new(o, "ensemble", json_boolean(res->rules.ensemble));
        json_object_set_new(o, "layout", json_string(res->layout_errors ? "fails" : "ok"));
        /* every file it may load: with ensemble off, any of them may be listed first */
        json_t *loads = json_array();
        for (size_t k = 0; k < res->n_loads; k++)
            json_array_append_new(loads, json_string(s->entries[res->loads[k]].path));
        json_object_set_new(o, "loads", loads);
        json_object_set_new(o, "verdict", json_string(compat_verdict_name(res->verdict)));
        json_object_set_new(o, "evidence", evidence_json(&res->evidence));
        json_object_set_new(o, "reasons", reasons_json(res));
        json_object_set_new(o, "hint", str_or_null(res->hint));
        json_array_append_new(cs, o);
    }
    json_object_set_new(j, "containers", cs);
    json_object_set_new(j, "models", models_json(r));
    json_object_set_new(j, "runtime", str_or_null(r->runtime));
    json_object_set_new(j, "runtimes", runtimes_json(r));
    return j;
}

static void print_containers_list(FILE *f, const compat_report *r, uint64_t mask)
{
    if (!mask)
        return;
    size_t n = 0;
    for (size_t i = 0; i < r->n_results; i++)
        n += (mask >> i) & 1;
    if (n == r->n_results && n > 1) {
        fprintf(f, "  [all containers checked]");
        return;
    }
    fprintf(f, "  [");
    int first = 1;
    for (size_t i = 0; i < r->n_results; i++)
        if (mask & (1ull << i)) {
            fprintf(f, "%s%s", first ? "" : " ", r->results[i].c->tag);
            first = 0;
        }
    fprintf(f, "]");
}

/* One container: what it loads, the verdict, what it rests on, its reasons and the fix (or,
 * for an unknown verdict, what would settle it). */
static void print_container(FILE *f, const compat_report *r, const compat_result *res)
{
    const artifact_scan *s = r->scan;
    fprintf(f, "    %-8s xgboost %-6s layout %-5s", res->c->tag, res->c->xgboost_str,
            res->layout_errors ? "FAILS" : "ok");
    size_t nl = res->n_loads;
    if (nl) {
        int one_of = !res->rules.ensemble && nl > 1;
        fprintf(f, " loads%s", one_of ? " one of" : "");
        for (size_t k = 0; k < nl; k++)
            if (k < 10)
                fprintf(f, "%s%s", k ? ", " : " ", s->entries[res->loads[k]].path);
            else if (k == 10)
                fprintf(f, " and %zu more", nl - 10);
        if (one_of)
            fprintf(f, " (os.listdir order decides)");
    }
    fprintf(f, "\n");
    fprintf(f, "             verdict: %s%s\n",
            res->verdict == COMPAT_VERDICT_OK        ? "ok"
            : res->verdict == COMPAT_VERDICT_WRONG   ? "WRONG PREDICTIONS"
            : res->verdict == COMPAT_VERDICT_UNKNOWN ? "UNKNOWN"
                                                     : "FAILS",
            res->verdict == COMPAT_VERDICT_UNKNOWN && r->allow_unknown
                ? " (allowed by --allow-unknown)"
                : "");
    print_evidence(f, res);
    for (size_t k = 0; k < res->n_reasons; k++) {
        const compat_reason *x = &res->reasons[k];
        if (x->verdict == COMPAT_VERDICT_OK && res->verdict != COMPAT_VERDICT_OK &&
            strcmp(x->rule, "LOAD-CHECK"))
            continue;
        fprintf(f, "               - %s%s: %s\n", x->rule,
                x->overruled                      ? " (overruled by the real load)"
                : x->verdict == COMPAT_VERDICT_OK ? " (note)"
                                                  : "",
                x->message);
    }
    if (res->hint)
        fprintf(f, "             %s: %s\n",
                res->verdict == COMPAT_VERDICT_UNKNOWN ? "settle" : "fix", res->hint);
}

/* Each top-level file: what it is, and each load check of it. */
static void print_models(FILE *f, const compat_report *r)
{
    const artifact_scan *s = r->scan;
    if (r->n_models) {
        fprintf(f, "\n  models:\n");
        for (size_t i = 0; i < r->n_models; i++) {
            const compat_model *cm = &r->models[i];
            if (cm->entry >= s->n_entries)
                continue;
            const compat_model_info *m = cm->info;
            if (!m) {
                fprintf(f, "    %s: not identified: %s\n", s->entries[cm->entry].path, cm->error);
                continue;
            }
            char w[64];
            compat_writer_text(m, w, sizeof w, 0);
            fprintf(f, "    %s: %s", s->entries[cm->entry].path,
                    m->detail[0] ? m->detail : compat_format_name(m->format));
            if (m->format != COMPAT_FMT_FOREIGN && m->format != COMPAT_FMT_UNKNOWN)
                fprintf(f, ", written by XGBoost %s, %s %s, %lld features", w,
                        m->objective[0] ? m->objective : "?", m->booster[0] ? m->booster : "?",
                        (long long)m->num_feature);
            fprintf(f, "\n");
            if (m->corrupt)
                fprintf(f, "      damaged: %s\n", m->problem);
            if (cm->partial && cm->error[0])
                fprintf(f, "      %s\n", cm->error);
            if (cm->load_note[0])
                fprintf(f, "      %s\n", cm->load_note);
            for (size_t k = 0; cm->loads && k < r->n_runtimes; k++)
                print_load(f, &cm->loads[k],
                           r->runtimes[k].kind == COMPAT_EVIDENCE_EXACT ? "the cached runtime"
                           : r->runtimes[k].lib[0]                      ? r->runtimes[k].lib
                                                                        : "the system's library");
        }
    }
}

void report_print_text(FILE *f, const compat_report *r)
{
    const artifact_scan *s = r->scan;
    fprintf(f, "%s\n", s->path);
    fprintf(f, "  sha256 %s, %llu bytes, %s%s%s\n", s->sha256_hex,
            (unsigned long long)s->file_bytes,
            strcmp(s->filter, "none") ? s->filter : "uncompressed", s->format[0] ? ", " : "",
            s->format);
    if (s->n_entries) {
        fprintf(f, "  entries:\n");
        size_t shown = s->n_entries > 20 ? 20 : s->n_entries;
        for (size_t i = 0; i < shown; i++) {
            const artifact_entry *e = &s->entries[i];
            fprintf(f, "    %-9s %04o %12lld  %s%s%s\n", artifact_type_name(e->type), e->mode,
                    (long long)e->size, e->raw_path, e->link_target ? " -> " : "",
                    e->link_target ? e->link_target : "");
        }
        if (shown < s->n_entries)
            fprintf(f, "    ... and %zu more\n", s->n_entries - shown);
    }
    if (r->n_findings)
        fprintf(f, "\n");
    for (int pass = 0; pass < 3; pass++) {
        artifact_severity want = pass == 0   ? ARTIFACT_ERROR
                                 : pass == 1 ? ARTIFACT_WARNING
                                             : ARTIFACT_INFO;
        for (size_t i = 0; i < r->n_findings; i++) {
            const compat_finding *cf = &r->findings[i];
            if (cf->f.severity != want)
                continue;
            fprintf(f, "  %-7s %s", artifact_severity_name(want), cf->f.code);
            print_containers_list(f, r, cf->containers);
            fprintf(f, "\n          %s\n", cf->f.message);
            if (cf->f.hint)
                fprintf(f, "          fix: %s\n", cf->f.hint);
        }
    }
    print_models(f, r);
    if (r->n_results) {
        fprintf(f, "\n  containers:\n");
        for (size_t i = 0; i < r->n_results; i++)
            print_container(f, r, &r->results[i]);
    }
    fprintf(f, "\n%s: %zu error%s, ",
            r->n_errors                         ? "FAIL"
            : r->n_unknown && !r->allow_unknown ? "UNKNOWN"
                                                : "OK",
            r->n_errors, r->n_errors == 1 ? "" : "s");
    if (r->n_unknown)
        fprintf(f, "%zu unknown%s, ", r->n_unknown,
                r->allow_unknown ? " (allowed by --allow-unknown)" : "");
    fprintf(f, "%zu warning%s\n", r->n_warnings, r->n_warnings == 1 ? "" : "s");
}
