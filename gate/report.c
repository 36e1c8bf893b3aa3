/*
 * The report of `smxgb check` and `smxgb plan`: cases (one per model container and container
 * version) holding notes, and every way it is shown, rendered here as data so that the verbs
 * only write it out: readable text, JSON, JUnit XML (one testcase per case, so CI systems show
 * each model) and GitHub Actions workflow commands (::error / ::warning). All of them come from
 * the same cases, so they always say the same thing.
 *
 * Out of memory never loses a verdict: a note that cannot be stored still counts towards its
 * case's errors or warnings, and the case is marked incomplete (gate_report_status says so).
 */
#include "gate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the data model ------------------------------------------------------------------------ */

static char *dup_or_null(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

static void case_free(gate_case *c)
{
    for (size_t k = 0; k < c->n_notes; k++) {
        free(c->notes[k].code);
        free(c->notes[k].text);
        free(c->notes[k].hint);
    }
    free(c->notes);
    free(c->name);
    free(c->container);
    free(c->artifact);
    json_decref(c->verify);
    json_decref(c->probe);
    free(c);
}

gate_case *gate_report_add(gate_report *r, const char *name, const char *container,
                           const char *artifact)
{
    gate_case **v = realloc(r->cases, (r->n + 1) * sizeof *v);
    if (!v)
        return NULL;
    r->cases = v;
    gate_case *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    int failed = 0;
    c->name = dup_or_null(name, &failed);
    c->container = dup_or_null(container, &failed);
    c->artifact = dup_or_null(artifact, &failed);
    if (failed) {
        case_free(c);
        return NULL;
    }
    r->cases[r->n++] = c;
    return c;
}

void gate_case_note(gate_case *c, artifact_severity sev, const char *code, const char *hint,
                    const char *fmt, ...)
{
    if (sev == ARTIFACT_ERROR)
        c->errors++;
    else if (sev == ARTIFACT_WARNING)
        c->warnings++;
    gate_note *v = realloc(c->notes, (c->n_notes + 1) * sizeof *v);
    if (!v) {
        c->incomplete = 1;
        return;
    }
    c->notes = v;
    gate_note *m = &v[c->n_notes++];
    int failed = 0;
    m->sev = sev;
    m->code = dup_or_null(code, &failed);
    m->hint = dup_or_null(hint, &failed);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&m->text, fmt, ap) < 0) {
        m->text = NULL;
        failed = 1;
    }
    va_end(ap);
    if (failed)
        c->incomplete = 1;
}

const char *gate_case_status(const gate_case *c)
{
    if (c->errors)
        return "fail";
    if (c->skipped)
        return "skip";
    return "pass";
}

int gate_report_status(const gate_report *r, smx_err *err)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->cases[i]->incomplete)
            return smx_fail(err, SMX_ENOMEM, "out of memory: the report of %s is incomplete",
                            r->cases[i]->name ? r->cases[i]->name : "a case");
    return SMX_OK;
}

void gate_report_free(gate_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        case_free(r->cases[i]);
    free(r->cases);
    r->cases = NULL;
    r->n = 0;
}

/* ---- text ---------------------------------------------------------------------------------- */

/* One case: its status line, then its notes, errors first. */
static int text_case(smx_buf *b, const gate_case *c)
{
    const char *st = gate_case_status(c);
    int rc = smx_buf_printf(b, "%s  %s",
                            !strcmp(st, "fail")   ? "FAIL"
                            : !strcmp(st, "skip") ? "SKIP"
                                                  : "PASS",
                            c->name);
    if (c->container)
        rc |= smx_buf_printf(b, "  [container %s]", c->container);
    rc |= smx_buf_puts(b, "\n");
    if (c->artifact)
        rc |= smx_buf_printf(b, "        artifact %s\n", c->artifact);
    for (int pass = 0; pass < 3; pass++) {
        artifact_severity want = pass == 0   ? ARTIFACT_ERROR
                                 : pass == 1 ? ARTIFACT_WARNING
                                             : ARTIFACT_INFO;
        for (size_t k = 0; k < c->n_notes; k++) {
            const gate_note *m = &c->notes[k];
            if (m->sev != want)
                continue;
            rc |= smx_buf_printf(b, "        %-7s %s: %s\n", artifact_severity_name(m->sev),
                                 m->code ? m->code : "", m->text ? m->text : "");
            if (m->hint)
                rc |= smx_buf_printf(b, "                fix: %s\n", m->hint);
        }
    }
    return rc;
}

/* The last line: OK with the count, or FAIL naming every failed case. */
static int text_summary(smx_buf *b, const gate_report *r)
{
    size_t failed = 0, skipped = 0;
    for (size_t i = 0; i < r->n; i++) {
        failed += r->cases[i]->errors > 0;
        skipped += !r->cases[i]->errors && r->cases[i]->skipped;
    }
    int rc = 0;
    if (!failed) {
        rc |= smx_buf_printf(b, "OK: %zu case%s passed%s", r->n - skipped,
                             r->n - skipped == 1 ? "" : "s", skipped ? "" : "\n");
        if (skipped)
            rc |= smx_buf_printf(b, ", %zu skipped (see above)\n", skipped);
        return rc;
    }
    rc |= smx_buf_printf(b, "FAIL: %zu of %zu %s error%s:", failed, r->n,
                         r->n == 1 ? "case has" : "cases have", failed == 1 ? "" : "s");
    int first = 1;
    for (size_t i = 0; i < r->n; i++) {
        const gate_case *c = r->cases[i];
        if (!c->errors)
            continue;
        rc |= smx_buf_printf(b, "%s %s%s%s%s", first ? "" : ",", c->name, c->container ? " [" : "",
                             c->container ? c->container : "", c->container ? "]" : "");
        first = 0;
    }
    rc |= smx_buf_puts(b, "\n");
    return rc;
}

int gate_report_text(const gate_report *r, smx_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < r->n; i++)
        rc |= text_case(out, r->cases[i]);
    rc |= smx_buf_puts(out, "\n");
    rc |= text_summary(out, r);
    return rc ? SMX_ENOMEM : SMX_OK;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static json_t *case_json(const gate_case *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "container", c->container ? json_string(c->container) : json_null());
    json_object_set_new(o, "artifact", c->artifact ? json_string(c->artifact) : json_null());
    json_object_set_new(o, "status", json_string(gate_case_status(c)));
    json_object_set_new(o, "seconds", json_real(c->seconds));
    json_t *ms = json_array();
    for (size_t k = 0; k < c->n_notes; k++) {
        const gate_note *n = &c->notes[k];
        json_t *m = json_object();
        json_object_set_new(m, "severity", json_string(artifact_severity_name(n->sev)));
        json_object_set_new(m, "code", json_string(n->code ? n->code : ""));
        json_object_set_new(m, "message", json_string(n->text ? n->text : ""));
        json_object_set_new(m, "hint", n->hint ? json_string(n->hint) : json_null());
        json_array_append_new(ms, m);
    }
    json_object_set_new(o, "findings", ms);
    if (c->verify)
        json_object_set(o, "verify", c->verify);
    if (c->probe)
        json_object_set(o, "probe", c->probe);
    return o;
}

json_t *gate_report_json(const gate_report *r)
{
    json_t *j = json_object();
    int ok = 1;
    json_t *cs = json_array();
    for (size_t i = 0; i < r->n; i++) {
        ok &= r->cases[i]->errors == 0;
        json_array_append_new(cs, case_json(r->cases[i]));
    }
    json_object_set_new(j, "verb", json_string(r->verb));
    if (r->file)
        json_object_set_new(j, "file", json_string(r->file));
    json_object_set_new(j, "ok", json_boolean(ok));
    json_object_set_new(j, "cases", cs);
    return j;
}

json_t *gate_probe_json(const char *url, const gate_probe_result *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "url", json_string(url));
    json_object_set_new(j, "healthy", json_boolean(r->healthy));
    json_object_set_new(j, "verdict", json_string(r->verdict));
    json_object_set_new(j, "elapsed", json_real(r->elapsed));
    json_t *at = json_array();
    for (size_t i = 0; i < r->n_attempts; i++) {
        const gate_attempt *a = &r->attempts[i];
        json_t *x = json_object();
        json_object_set_new(x, "step", json_string(a->step == GATE_STEP_PING ? "ping" : "invoke"));
        json_object_set_new(x, "n", json_integer(a->n));
        json_object_set_new(x, "t", json_real(a->t_start));
        json_object_set_new(x, "duration", json_real(a->duration));
        json_object_set_new(x, "status", json_integer(a->status));
        json_object_set_new(x, "outcome", json_string(gate_outcome_name(a->outcome)));
        json_object_set_new(x, "what", json_string(a->what));
        json_array_append_new(at, x);
    }
    json_object_set_new(j, "attempts", at);
    if (r->invoked) {
        json_t *inv = json_object();
        json_object_set_new(inv, "status", json_integer(r->invoke_status));
        json_object_set_new(inv, "content_type",
                            r->invoke_content_type ? json_string(r->invoke_content_type)
                                                   : json_null());
        json_object_set_new(inv, "body",
                            r->invoke_body ? json_string(r->invoke_body) : json_null());
        json_object_set_new(j, "invocation", inv);
    }
    return j;
}

/* ---- JUnit XML ----------------------------------------------------------------------------- */

static int xml_escape(smx_buf *b, const char *s)
{
    int rc = 0;
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&':
            rc |= smx_buf_puts(b, "&amp;");
            break;
        case '<':
            rc |= smx_buf_puts(b, "&lt;");
            break;
        case '>':
            rc |= smx_buf_puts(b, "&gt;");
            break;
        case '"':
            rc |= smx_buf_puts(b, "&quot;");
            break;
        case '\'':
            rc |= smx_buf_puts(b, "&apos;");
            break;
        default: {
            char out = ch < 0x20 && ch != '\n' && ch != '\t' ? '?' : (char)ch;
            rc |= smx_buf_append(b, &out, 1);
        }
        }
    }
    return rc;
}

/* <failure> with every error of the case, or <skipped> with the first reason. */
static int junit_verdict(smx_buf *b, const gate_case *c)
{
    const gate_note *first = NULL, *first_reason = NULL;
    for (size_t k = 0; k < c->n_notes; k++) {
        if (!first && c->notes[k].sev == ARTIFACT_ERROR)
            first = &c->notes[k];
        if (!first_reason && c->notes[k].sev != ARTIFACT_INFO)
            first_reason = &c->notes[k];
    }
    int rc = 0;
    if (c->errors) {
        rc |= smx_buf_puts(b, "      <failure type=\"");
        rc |= xml_escape(b, first ? first->code : "");
        rc |= smx_buf_puts(b, "\" message=\"");
        rc |= xml_escape(b, first ? first->text : "");
        rc |= smx_buf_puts(b, "\">");
        for (size_t k = 0; k < c->n_notes; k++) {
            if (c->notes[k].sev != ARTIFACT_ERROR)
                continue;
            rc |= xml_escape(b, c->notes[k].code);
            rc |= smx_buf_puts(b, ": ");
            rc |= xml_escape(b, c->notes[k].text);
            if (c->notes[k].hint) {
                rc |= smx_buf_puts(b, "\n  fix: ");
                rc |= xml_escape(b, c->notes[k].hint);
            }
            rc |= smx_buf_puts(b, "\n");
        }
        rc |= smx_buf_puts(b, "</failure>\n");
    } else if (c->skipped) {
        const gate_note *m = first_reason ? first_reason : c->n_notes ? &c->notes[0] : NULL;
        rc |= smx_buf_puts(b, "      <skipped message=\"");
        rc |= xml_escape(b, m ? m->text : "not checked");
        rc |= smx_buf_puts(b, "\"/>\n");
    }
    return rc;
}

static int junit_case(smx_buf *b, const gate_report *r, const gate_case *c)
{
    int rc = smx_buf_printf(b, "    <testcase classname=\"smxgb.%s\" name=\"", r->verb);
    rc |= xml_escape(b, c->name);
    if (c->container) {
        rc |= smx_buf_puts(b, " [");
        rc |= xml_escape(b, c->container);
        rc |= smx_buf_puts(b, "]");
    }
    rc |= smx_buf_printf(b, "\" time=\"%.3f\"", c->seconds);
    if (r->file) {
        rc |= smx_buf_puts(b, " file=\"");
        rc |= xml_escape(b, r->file);
        rc |= smx_buf_puts(b, "\"");
    }
    rc |= smx_buf_puts(b, ">\n");
    rc |= junit_verdict(b, c);
    rc |= smx_buf_puts(b, "      <system-out>");
    if (c->artifact) {
        rc |= smx_buf_puts(b, "artifact ");
        rc |= xml_escape(b, c->artifact);
        rc |= smx_buf_puts(b, "\n");
    }
    for (size_t k = 0; k < c->n_notes; k++) {
        rc |= xml_escape(b, artifact_severity_name(c->notes[k].sev));
        rc |= smx_buf_puts(b, " ");
        rc |= xml_escape(b, c->notes[k].code);
        rc |= smx_buf_puts(b, ": ");
        rc |= xml_escape(b, c->notes[k].text);
        rc |= smx_buf_puts(b, "\n");
    }
    rc |= smx_buf_puts(b, "</system-out>\n    </testcase>\n");
    return rc;
}

int gate_report_junit(const gate_report *r, smx_buf *out)
{
    size_t failures = 0, skipped = 0;
    double total = 0;
    for (size_t i = 0; i < r->n; i++) {
        failures += r->cases[i]->errors > 0;
        skipped += !r->cases[i]->errors && r->cases[i]->skipped;
        total += r->cases[i]->seconds;
    }
    int rc = smx_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    rc |= smx_buf_printf(out,
                         "<testsuites name=\"smxgb %s\" tests=\"%zu\" failures=\"%zu\" "
                         "skipped=\"%zu\">\n",
                         r->verb, r->n, failures, skipped);
    rc |= smx_buf_printf(out, "  <testsuite name=\"smxgb %s", r->verb);
    if (r->file) {
        rc |= smx_buf_puts(out, " ");
        rc |= xml_escape(out, r->file);
    }
    rc |= smx_buf_printf(
        out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
        r->n, failures, skipped, total);
    for (size_t i = 0; i < r->n; i++)
        rc |= junit_case(out, r, r->cases[i]);
    rc |= smx_buf_puts(out, "  </testsuite>\n</testsuites>\n");
    return rc ? SMX_ENOMEM : SMX_OK;
}

/* ---- GitHub Actions workflow commands ------------------------------------------------------ */

static int gh_escape(smx_buf *b, const char *s, int property)
{
    int rc = 0;
    for (; s && *s; s++) {
        if (*s == '%')
            rc |= smx_buf_puts(b, "%25");
        else if (*s == '\r')
            rc |= smx_buf_puts(b, "%0D");
        else if (*s == '\n')
            rc |= smx_buf_puts(b, "%0A");
        else if (property && *s == ':')
            rc |= smx_buf_puts(b, "%3A");
        else if (property && *s == ',')
            rc |= smx_buf_puts(b, "%2C");
        else
            rc |= smx_buf_append(b, s, 1);
    }
    return rc;
}

/* "::error file=F,title=smxgb CODE NAME::NAME [container C]: TEXT Fix: HINT" */
static int gh_line(smx_buf *b, const gate_report *r, const gate_case *c, const gate_note *m)
{
    int rc = smx_buf_printf(b, "::%s ", m->sev == ARTIFACT_ERROR ? "error" : "warning");
    if (r->file || c->artifact) {
        rc |= smx_buf_puts(b, "file=");
        rc |= gh_escape(b, r->file ? r->file : c->artifact, 1);
        rc |= smx_buf_puts(b, ",");
    }
    rc |= smx_buf_puts(b, "title=");
    char title[512];
    snprintf(title, sizeof title, "smxgb %s %s", m->code ? m->code : "", c->name);
    rc |= gh_escape(b, title, 1);
    rc |= smx_buf_puts(b, "::");
    rc |= gh_escape(b, c->name, 0);
    if (c->container) {
        rc |= smx_buf_puts(b, " [container ");
        rc |= gh_escape(b, c->container, 0);
        rc |= smx_buf_puts(b, "]");
    }
    rc |= smx_buf_puts(b, ": ");
    rc |= gh_escape(b, m->text, 0);
    if (m->hint) {
        rc |= smx_buf_puts(b, " Fix: ");
        rc |= gh_escape(b, m->hint, 0);
    }
    rc |= smx_buf_puts(b, "\n");
    return rc;
}

int gate_report_github(const gate_report *r, smx_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < r->n; i++) {
        const gate_case *c = r->cases[i];
        for (size_t k = 0; k < c->n_notes; k++)
            if (c->notes[k].sev != ARTIFACT_INFO)
                rc |= gh_line(out, r, c, &c->notes[k]);
    }
    return rc ? SMX_ENOMEM : SMX_OK;
}
