/*
 * The report of `smxgb check` and `smxgb plan`: cases (one per model container and container
 * version) holding notes, and every way it is shown, rendered here as data so that the verbs
 * only write it out: readable text, JSON, JUnit XML (one testcase per case, so CI systems show
 * each model) and GitHub Actions workflow commands (::error / ::warning). All of them come from
 * the same cases, so they always say the same thing.
 *
 * A case is fail (errors), unknown (a fact its verdict rests on could not be established: the
 * note says what would settle it), skip (nothing smxgb checks applies) or pass. Unknown is not
 * ok: the gate fails on it unless the report allows unknowns (--allow-unknown), and every
 * rendering then says that it was allowed. Notes about the run as a whole (a mapping that
 * matches nothing, nothing to check) are the report's own.
 *
 * Out of memory never loses a verdict: a note that cannot be stored still counts towards its
 * case's errors, unknowns or warnings, and the case is marked incomplete (gate_report_status
 * says so).
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

static void notes_free(gate_note *v, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        free(v[k].code);
        free(v[k].text);
        free(v[k].hint);
    }
    free(v);
}

static void case_free(gate_case *c)
{
    notes_free(c->notes, c->n_notes);
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

/* Append a note to *v (n notes); 0, or -1 when it could not be stored whole. */
static int add_note(gate_note **v, size_t *n, artifact_severity sev, int unknown, const char *code,
                    const char *hint, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));
static int add_note(gate_note **v, size_t *n, artifact_severity sev, int unknown, const char *code,
                    const char *hint, const char *fmt, va_list ap)
{
    gate_note *m = smx_push((void **)v, n, sizeof *m);
    if (!m)
        return -1;
    int failed = 0;
    m->sev = sev;
    m->unknown = unknown;
    m->code = dup_or_null(code, &failed);
    m->hint = dup_or_null(hint, &failed);
    if (vasprintf(&m->text, fmt, ap) < 0) {
        m->text = NULL;
        failed = 1;
    }
    return failed ? -1 : 0;
}

void gate_case_note(gate_case *c, artifact_severity sev, const char *code, const char *hint,
                    const char *fmt, ...)
{
    if (sev == ARTIFACT_ERROR)
        c->errors++;
    else if (sev == ARTIFACT_WARNING)
        c->warnings++;
    va_list ap;
    va_start(ap, fmt);
    if (add_note(&c->notes, &c->n_notes, sev, 0, code, hint, fmt, ap))
        c->incomplete = 1;
    va_end(ap);
}

void gate_case_unknown(gate_case *c, const char *code, const char *settle, const char *fmt, ...)
{
    c->unknown++;
    va_list ap;
    va_start(ap, fmt);
    if (add_note(&c->notes, &c->n_notes, ARTIFACT_WARNING, 1, code, settle, fmt, ap))
        c->incomplete = 1;
    va_end(ap);
}

void gate_report_note(gate_report *r, artifact_severity sev, const char *code, const char *hint,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (add_note(&r->notes, &r->n_notes, sev, 0, code, hint, fmt, ap))
        r->incomplete = 1;
    va_end(ap);
}

const char *gate_case_status(const gate_case *c)
{
    if (c->errors)
        return "fail";
    if (c->unknown)
        return "unknown";
    if (c->skipped)
        return "skip";
    return "pass";
}

/* The case keeps the gate from passing: errors, or unknown facts the report does not allow. */
static int case_fails(const gate_report *r, const gate_case *c)
{
    return c->errors || (c->unknown && !r->allow_unknown);
}

int gate_report_ok(const gate_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (case_fails(r, r->cases[i]))
            return 0;
    return 1;
}

int gate_report_status(const gate_report *r, smx_err *err)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->cases[i]->incomplete)
            return smx_fail(err, SMX_ENOMEM, "out of memory: the report of %s is incomplete",
                            r->cases[i]->name ? r->cases[i]->name : "a case");
    if (r->incomplete)
        return smx_fail(err, SMX_ENOMEM, "out of memory: the report's notes are incomplete");
    return SMX_OK;
}

void gate_report_free(gate_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        case_free(r->cases[i]);
    free(r->cases);
    r->cases = NULL;
    r->n = 0;
    notes_free(r->notes, r->n_notes);
    r->notes = NULL;
    r->n_notes = 0;
}

/* "unknown" for an unknown note, else the severity's name. */
static const char *note_label(const gate_note *m)
{
    return m->unknown ? "unknown" : artifact_severity_name(m->sev);
}

/* ---- text ---------------------------------------------------------------------------------- */

/* s, its lines after the first indented as deep as the note's text starts (a server's
 * answer, the end of its log), then a newline. */
static int text_lines(smx_buf *b, const char *s)
{
    int rc = 0;
    for (const char *nl; (nl = strchr(s, '\n')); s = nl + 1) {
        rc |= smx_buf_append(b, s, (size_t)(nl - s));
        rc |= smx_buf_puts(b, "\n                ");
    }
    return rc | smx_buf_printf(b, "%s\n", s);
}

/* Notes, errors first, then unknowns, warnings and information; a hint is what fixes an error
 * or settles an unknown. */
static int text_notes(smx_buf *b, const gate_note *v, size_t n)
{
    int rc = 0;
    for (int pass = 0; pass < 4; pass++) {
        for (size_t k = 0; k < n; k++) {
            const gate_note *m = &v[k];
            int rank = m->sev == ARTIFACT_ERROR     ? 0
                       : m->unknown                 ? 1
                       : m->sev == ARTIFACT_WARNING ? 2
                                                    : 3;
            if (rank != pass)
                continue;
            rc |= smx_buf_printf(b, "        %-7s %s: ", note_label(m), m->code ? m->code : "");
            rc |= text_lines(b, m->text ? m->text : "");
            if (m->hint)
                rc |= smx_buf_printf(b, "                %s: %s\n", m->unknown ? "settle" : "fix",
                                     m->hint);
        }
    }
    return rc;
}

/* One case: its status line, then its notes. */
static int text_case(smx_buf *b, const gate_case *c)
{
    const char *st = gate_case_status(c);
    int rc = smx_buf_printf(b, "%s  %s",
                            !strcmp(st, "fail")      ? "FAIL"
                            : !strcmp(st, "unknown") ? "UNKNOWN"
                            : !strcmp(st, "skip")    ? "SKIP"
                                                     : "PASS",
                            c->name);
    if (c->container)
        rc |= smx_buf_printf(b, "  [container %s]", c->container);
    rc |= smx_buf_puts(b, "\n");
    if (c->artifact)
        rc |= smx_buf_printf(b, "        artifact %s\n", c->artifact);
    return rc | text_notes(b, c->notes, c->n_notes);
}

/* ", NAME [C]" for every case with errors (errors) or unknown without errors (!errors). */
static int text_names(smx_buf *b, const gate_report *r, int errors)
{
    int rc = 0, first = 1;
    for (size_t i = 0; i < r->n; i++) {
        const gate_case *c = r->cases[i];
        if (errors ? !c->errors : c->errors || !c->unknown)
            continue;
        rc |= smx_buf_printf(b, "%s %s%s%s%s", first ? "" : ",", c->name, c->container ? " [" : "",
                             c->container ? c->container : "", c->container ? "]" : "");
        first = 0;
    }
    return rc;
}

/* check: which cases were served and probed and which only verified, when some were not
 * served (check without --container serves the default container only). */
static int text_served(smx_buf *b, const gate_report *r)
{
    size_t probed = 0;
    for (size_t i = 0; i < r->n; i++)
        probed += r->cases[i]->probe != NULL;
    if (strcmp(r->verb, "check") || !probed || probed == r->n)
        return 0;
    int rc = 0;
    for (int served = 1; served >= 0; served--) {
        rc |= smx_buf_puts(b, served ? "served and probed:" : "verified only, not served:");
        for (size_t i = 0, k = 0; i < r->n; i++) {
            const gate_case *c = r->cases[i];
            if ((c->probe != NULL) != served)
                continue;
            rc |=
                smx_buf_printf(b, "%s %s%s%s%s", k++ ? "," : "", c->name, c->container ? " [" : "",
                               c->container ? c->container : "", c->container ? "]" : "");
        }
        rc |= smx_buf_puts(b, "\n");
    }
    return rc;
}

/* The last line: OK with the counts, or FAIL naming every failed and every unknown case. */
static int text_summary(smx_buf *b, const gate_report *r)
{
    size_t failed = 0, unknown = 0, skipped = 0;
    for (size_t i = 0; i < r->n; i++) {
        const gate_case *c = r->cases[i];
        failed += c->errors > 0;
        unknown += !c->errors && c->unknown;
        skipped += !c->errors && !c->unknown && c->skipped;
    }
    int rc = 0;
    if (!r->n)
        return smx_buf_puts(b, "OK: nothing to check\n");
    if (!failed && (!unknown || r->allow_unknown)) {
        size_t passed = r->n - skipped - unknown;
        rc |= smx_buf_printf(b, "OK: %zu case%s passed", passed, passed == 1 ? "" : "s");
        if (unknown)
            rc |= smx_buf_printf(b, ", %zu unknown (allowed by --allow-unknown)", unknown);
        if (skipped)
            rc |= smx_buf_printf(b, ", %zu skipped (see above)", skipped);
        return rc | smx_buf_puts(b, "\n");
    }
    rc |= smx_buf_puts(b, "FAIL: ");
    if (failed) {
        rc |= smx_buf_printf(b, "%zu of %zu case%s %s errors:", failed, r->n, r->n == 1 ? "" : "s",
                             failed == 1 ? "has" : "have");
        rc |= text_names(b, r, 1);
    }
    if (unknown) {
        rc |= smx_buf_printf(b, "%s%zu of %zu case%s %s unknown%s:", failed ? "; " : "", unknown,
                             r->n, r->n == 1 ? "" : "s", unknown == 1 ? "is" : "are",
                             r->allow_unknown ? " (allowed by --allow-unknown)" : "");
        rc |= text_names(b, r, 0);
        if (!r->allow_unknown)
            rc |= smx_buf_puts(b, " (settle them as their notes say, or accept them with "
                                  "--allow-unknown)");
    }
    return rc | smx_buf_puts(b, "\n");
}

int gate_report_text(const gate_report *r, smx_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < r->n; i++)
        rc |= text_case(out, r->cases[i]);
    if (r->n_notes) {
        rc |= smx_buf_puts(out, r->n ? "\n" : "");
        rc |= smx_buf_printf(out, "smxgb %s\n", r->verb);
        rc |= text_notes(out, r->notes, r->n_notes);
    }
    rc |= smx_buf_puts(out, "\n");
    rc |= text_served(out, r);
    rc |= text_summary(out, r);
    return rc ? SMX_ENOMEM : SMX_OK;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static json_t *notes_json(const gate_note *v, size_t n)
{
    json_t *ms = json_array();
    for (size_t k = 0; k < n; k++) {
        const gate_note *m = &v[k];
        json_t *x = json_object();
        json_object_set_new(x, "severity", json_string(note_label(m)));
        json_object_set_new(x, "code", json_string(m->code ? m->code : ""));
        json_object_set_new(x, "message", json_string(m->text ? m->text : ""));
        json_object_set_new(x, "hint", m->hint ? json_string(m->hint) : json_null());
        json_array_append_new(ms, x);
    }
    return ms;
}

static json_t *case_json(const gate_case *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "container", c->container ? json_string(c->container) : json_null());
    json_object_set_new(o, "artifact", c->artifact ? json_string(c->artifact) : json_null());
    json_object_set_new(o, "status", json_string(gate_case_status(c)));
    json_object_set_new(o, "seconds", json_real(c->seconds));
    json_object_set_new(o, "findings", notes_json(c->notes, c->n_notes));
    if (c->verify)
        json_object_set(o, "verify", c->verify);
    if (c->probe)
        json_object_set(o, "probe", c->probe);
    return o;
}

json_t *gate_report_json(const gate_report *r)
{
    json_t *j = json_object();
    json_t *cs = json_array();
    for (size_t i = 0; i < r->n; i++)
        json_array_append_new(cs, case_json(r->cases[i]));
    json_object_set_new(j, "verb", json_string(r->verb));
    if (r->file)
        json_object_set_new(j, "file", json_string(r->file));
    json_object_set_new(j, "ok", json_boolean(gate_report_ok(r)));
    json_object_set_new(j, "allow_unknown", json_boolean(r->allow_unknown));
    json_object_set_new(j, "findings", notes_json(r->notes, r->n_notes));
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
    if (r->error_body)
        json_object_set_new(j, "error_body", json_string(r->error_body));
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

/* A note counts towards the failure: an error, or an unknown the report does not allow. */
static int failing_note(const gate_report *r, const gate_note *m)
{
    return m->sev == ARTIFACT_ERROR || (m->unknown && !r->allow_unknown);
}

/* <failure> with every failing note of the case, or <skipped> with the first reason (an
 * allowed unknown says so). */
static int junit_verdict(smx_buf *b, const gate_report *r, const gate_case *c)
{
    const gate_note *first = NULL, *first_reason = NULL;
    for (size_t k = 0; k < c->n_notes; k++) {
        if (!first && failing_note(r, &c->notes[k]))
            first = &c->notes[k];
        if (!first_reason && (c->notes[k].sev != ARTIFACT_INFO || c->notes[k].unknown))
            first_reason = &c->notes[k];
    }
    int rc = 0;
    if (case_fails(r, c)) {
        rc |= smx_buf_puts(b, "      <failure type=\"");
        rc |= xml_escape(b, first ? first->code : "");
        rc |= smx_buf_puts(b, "\" message=\"");
        rc |= xml_escape(b, first ? first->text : "");
        rc |= smx_buf_puts(b, "\">");
        for (size_t k = 0; k < c->n_notes; k++) {
            const gate_note *m = &c->notes[k];
            if (!failing_note(r, m))
                continue;
            rc |= smx_buf_printf(b, "%s", m->unknown ? "unknown " : "");
            rc |= xml_escape(b, m->code);
            rc |= smx_buf_puts(b, ": ");
            rc |= xml_escape(b, m->text);
            if (m->hint) {
                rc |= smx_buf_puts(b, m->unknown ? "\n  settle: " : "\n  fix: ");
                rc |= xml_escape(b, m->hint);
            }
            rc |= smx_buf_puts(b, "\n");
        }
        rc |= smx_buf_puts(b, "</failure>\n");
    } else if (c->skipped || c->unknown) {
        const gate_note *m = first_reason ? first_reason : c->n_notes ? &c->notes[0] : NULL;
        rc |= smx_buf_puts(b, "      <skipped message=\"");
        if (c->unknown)
            rc |= smx_buf_puts(b, "unknown (allowed by --allow-unknown): ");
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
    rc |= junit_verdict(b, r, c);
    rc |= smx_buf_puts(b, "      <system-out>");
    if (c->artifact) {
        rc |= smx_buf_puts(b, "artifact ");
        rc |= xml_escape(b, c->artifact);
        rc |= smx_buf_puts(b, "\n");
    }
    for (size_t k = 0; k < c->n_notes; k++) {
        rc |= xml_escape(b, note_label(&c->notes[k]));
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
        const gate_case *c = r->cases[i];
        failures += case_fails(r, c);
        skipped += !case_fails(r, c) && (c->skipped || c->unknown);
        total += c->seconds;
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

/* "::error file=F,title=smxgb CODE NAME::NAME [container C]: TEXT Fix: HINT"; c NULL for a
 * note of the report. An unknown is an error unless the report allows it. */
static int gh_line(smx_buf *b, const gate_report *r, const gate_case *c, const gate_note *m)
{
    int rc = smx_buf_printf(b, "::%s ", failing_note(r, m) ? "error" : "warning");
    const char *file = r->file ? r->file : c ? c->artifact : NULL;
    const char *name = c ? c->name : r->verb;
    if (file) {
        rc |= smx_buf_puts(b, "file=");
        rc |= gh_escape(b, file, 1);
        rc |= smx_buf_puts(b, ",");
    }
    rc |= smx_buf_puts(b, "title=");
    char title[512];
    snprintf(title, sizeof title, "smxgb %s %s", m->code ? m->code : "", name);
    rc |= gh_escape(b, title, 1);
    rc |= smx_buf_puts(b, "::");
    rc |= gh_escape(b, name, 0);
    if (c && c->container) {
        rc |= smx_buf_puts(b, " [container ");
        rc |= gh_escape(b, c->container, 0);
        rc |= smx_buf_puts(b, "]");
    }
    rc |= smx_buf_puts(b, m->unknown ? ": unknown: " : ": ");
    rc |= gh_escape(b, m->text, 0);
    if (m->hint) {
        rc |= smx_buf_puts(b, m->unknown ? " Settle: " : " Fix: ");
        rc |= gh_escape(b, m->hint, 0);
    }
    if (m->unknown && r->allow_unknown)
        rc |= smx_buf_puts(b, " (allowed by --allow-unknown)");
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
    for (size_t k = 0; k < r->n_notes; k++)
        if (r->notes[k].sev != ARTIFACT_INFO)
            rc |= gh_line(out, r, NULL, &r->notes[k]);
    return rc ? SMX_ENOMEM : SMX_OK;
}
