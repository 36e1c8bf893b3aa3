/*
 * The CI report of `smxgb check` and `smxgb plan`: cases (one per model container and container
 * version) holding findings, printed as readable text or JSON, written as JUnit XML (one
 * testcase per case, so CI systems show each model), and as GitHub Actions workflow commands
 * (::error / ::warning) when GITHUB_ACTIONS=true. All outputs come from the same cases.
 */
#include "gate_cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

gcase *greport_add(greport *r, const char *name, const char *container, const char *artifact)
{
    gcase **v = realloc(r->cases, (r->n + 1) * sizeof *v);
    gcase *c = calloc(1, sizeof *c);
    if (!v || !c) {
        fprintf(stderr, "smxgb %s: out of memory\n", r->verb);
        exit(EXIT_INTERNAL);
    }
    r->cases = v;
    r->cases[r->n++] = c;
    c->name = strdup(name);
    c->container = container ? strdup(container) : NULL;
    c->artifact = artifact ? strdup(artifact) : NULL;
    return c;
}

void gcase_msg(gcase *c, artifact_severity sev, const char *code, const char *hint, const char *fmt,
               ...)
{
    gcase_note *v = realloc(c->msgs, (c->n_msgs + 1) * sizeof *v);
    if (!v) {
        fprintf(stderr, "smxgb: out of memory\n");
        exit(EXIT_INTERNAL);
    }
    c->msgs = v;
    gcase_note *m = &v[c->n_msgs++];
    m->sev = sev;
    m->code = strdup(code);
    m->hint = hint ? strdup(hint) : NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&m->text, fmt, ap) < 0)
        m->text = NULL;
    va_end(ap);
    if (sev == ARTIFACT_ERROR)
        c->errors++;
    else if (sev == ARTIFACT_WARNING)
        c->warnings++;
}

void greport_free(greport *r)
{
    for (size_t i = 0; i < r->n; i++) {
        gcase *c = r->cases[i];
        for (size_t k = 0; k < c->n_msgs; k++) {
            free(c->msgs[k].code);
            free(c->msgs[k].text);
            free(c->msgs[k].hint);
        }
        free(c->msgs);
        free(c->name);
        free(c->container);
        free(c->artifact);
        json_decref(c->verify);
        json_decref(c->probe);
        free(c);
    }
    free(r->cases);
    r->cases = NULL;
    r->n = 0;
}

static const char *status_of(const gcase *c)
{
    if (c->errors)
        return "fail";
    if (c->skipped)
        return "skip";
    return "pass";
}

/* ---- text ------------------------------------------------------------------------------- */

static void print_text(FILE *f, const greport *r)
{
    size_t failed = 0, skipped = 0;
    for (size_t i = 0; i < r->n; i++) {
        const gcase *c = r->cases[i];
        const char *st = status_of(c);
        failed += c->errors > 0;
        skipped += !c->errors && c->skipped;
        fprintf(f, "%s  %s",
                !strcmp(st, "fail")   ? "FAIL"
                : !strcmp(st, "skip") ? "SKIP"
                                      : "PASS",
                c->name);
        if (c->container)
            fprintf(f, "  [container %s]", c->container);
        fprintf(f, "\n");
        if (c->artifact)
            fprintf(f, "        artifact %s\n", c->artifact);
        for (int pass = 0; pass < 3; pass++) {
            artifact_severity want = pass == 0   ? ARTIFACT_ERROR
                                     : pass == 1 ? ARTIFACT_WARNING
                                                 : ARTIFACT_INFO;
            for (size_t k = 0; k < c->n_msgs; k++) {
                const gcase_note *m = &c->msgs[k];
                if (m->sev != want)
                    continue;
                fprintf(f, "        %-7s %s: %s\n", artifact_severity_name(m->sev), m->code,
                        m->text ? m->text : "");
                if (m->hint)
                    fprintf(f, "                fix: %s\n", m->hint);
            }
        }
    }
    fprintf(f, "\n");
    if (failed) {
        fprintf(f, "FAIL: %zu of %zu %s error%s:", failed, r->n,
                r->n == 1 ? "case has" : "cases have", failed == 1 ? "" : "s");
        int first = 1;
        for (size_t i = 0; i < r->n; i++)
            if (r->cases[i]->errors)
                fprintf(f, "%s %s%s%s%s", first ? "" : ",", r->cases[i]->name,
                        r->cases[i]->container ? " [" : "",
                        r->cases[i]->container ? r->cases[i]->container : "",
                        r->cases[i]->container ? "]" : ""),
                    first = 0;
        fprintf(f, "\n");
    } else {
        fprintf(f, "OK: %zu case%s passed%s", r->n - skipped, r->n - skipped == 1 ? "" : "s",
                skipped ? "" : "\n");
        if (skipped)
            fprintf(f, ", %zu skipped (see above)\n", skipped);
    }
}

/* ---- JSON ------------------------------------------------------------------------------- */

static json_t *to_json(const greport *r)
{
    json_t *j = json_object();
    int ok = 1;
    json_t *cs = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const gcase *c = r->cases[i];
        ok &= c->errors == 0;
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(c->name));
        json_object_set_new(o, "container", c->container ? json_string(c->container) : json_null());
        json_object_set_new(o, "artifact", c->artifact ? json_string(c->artifact) : json_null());
        json_object_set_new(o, "status", json_string(status_of(c)));
        json_object_set_new(o, "seconds", json_real(c->seconds));
        json_t *ms = json_array();
        for (size_t k = 0; k < c->n_msgs; k++) {
            json_t *m = json_object();
            json_object_set_new(m, "severity", json_string(artifact_severity_name(c->msgs[k].sev)));
            json_object_set_new(m, "code", json_string(c->msgs[k].code));
            json_object_set_new(m, "message", json_string(c->msgs[k].text ? c->msgs[k].text : ""));
            json_object_set_new(m, "hint",
                                c->msgs[k].hint ? json_string(c->msgs[k].hint) : json_null());
            json_array_append_new(ms, m);
        }
        json_object_set_new(o, "findings", ms);
        if (c->verify)
            json_object_set(o, "verify", c->verify);
        if (c->probe)
            json_object_set(o, "probe", c->probe);
        json_array_append_new(cs, o);
    }
    json_object_set_new(j, "verb", json_string(r->verb));
    if (r->file)
        json_object_set_new(j, "file", json_string(r->file));
    json_object_set_new(j, "ok", json_boolean(ok));
    json_object_set_new(j, "cases", cs);
    return j;
}

/* ---- JUnit XML -------------------------------------------------------------------------- */

static void xml_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        switch (ch) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            if (ch < 0x20 && ch != '\n' && ch != '\t')
                fputc('?', f);
            else
                fputc(ch, f);
        }
    }
}

static int write_junit(const greport *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t failures = 0, skipped = 0;
    double total = 0;
    for (size_t i = 0; i < r->n; i++) {
        failures += r->cases[i]->errors > 0;
        skipped += !r->cases[i]->errors && r->cases[i]->skipped;
        total += r->cases[i]->seconds;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"smxgb %s\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n",
            r->verb, r->n, failures, skipped);
    fprintf(f, "  <testsuite name=\"smxgb %s", r->verb);
    if (r->file) {
        fputc(' ', f);
        xml_escape(f, r->file);
    }
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
            r->n, failures, skipped, total);
    for (size_t i = 0; i < r->n; i++) {
        const gcase *c = r->cases[i];
        fprintf(f, "    <testcase classname=\"smxgb.%s\" name=\"", r->verb);
        xml_escape(f, c->name);
        if (c->container) {
            fputs(" [", f);
            xml_escape(f, c->container);
            fputc(']', f);
        }
        fprintf(f, "\" time=\"%.3f\"", c->seconds);
        if (r->file) {
            fputs(" file=\"", f);
            xml_escape(f, r->file);
            fputc('"', f);
        }
        fputs(">\n", f);
        const gcase_note *first = NULL, *first_reason = NULL;
        for (size_t k = 0; k < c->n_msgs; k++) {
            if (!first && c->msgs[k].sev == ARTIFACT_ERROR)
                first = &c->msgs[k];
            if (!first_reason && c->msgs[k].sev != ARTIFACT_INFO)
                first_reason = &c->msgs[k];
        }
        if (c->errors) {
            fputs("      <failure type=\"", f);
            xml_escape(f, first->code);
            fputs("\" message=\"", f);
            xml_escape(f, first->text);
            fputs("\">", f);
            for (size_t k = 0; k < c->n_msgs; k++) {
                if (c->msgs[k].sev != ARTIFACT_ERROR)
                    continue;
                xml_escape(f, c->msgs[k].code);
                fputs(": ", f);
                xml_escape(f, c->msgs[k].text);
                if (c->msgs[k].hint) {
                    fputs("\n  fix: ", f);
                    xml_escape(f, c->msgs[k].hint);
                }
                fputc('\n', f);
            }
            fputs("</failure>\n", f);
        } else if (c->skipped) {
            const gcase_note *m = first_reason ? first_reason : c->n_msgs ? &c->msgs[0] : NULL;
            fputs("      <skipped message=\"", f);
            xml_escape(f, m ? m->text : "not checked");
            fputs("\"/>\n", f);
        }
        fputs("      <system-out>", f);
        if (c->artifact) {
            fputs("artifact ", f);
            xml_escape(f, c->artifact);
            fputc('\n', f);
        }
        for (size_t k = 0; k < c->n_msgs; k++) {
            xml_escape(f, artifact_severity_name(c->msgs[k].sev));
            fputc(' ', f);
            xml_escape(f, c->msgs[k].code);
            fputs(": ", f);
            xml_escape(f, c->msgs[k].text);
            fputc('\n', f);
        }
        fputs("</system-out>\n    </testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
    return fclose(f) ? -1 : 0;
}

/* ---- probe results ------------------------------------------------------------------------ */

json_t *probe_to_json(const char *url, const gate_probe_result *r)
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

/* ---- GitHub Actions workflow commands ----------------------------------------------------- */

static void gh_escape(FILE *f, const char *s, int property)
{
    for (; s && *s; s++) {
        if (*s == '%')
            fputs("%25", f);
        else if (*s == '\r')
            fputs("%0D", f);
        else if (*s == '\n')
            fputs("%0A", f);
        else if (property && *s == ':')
            fputs("%3A", f);
        else if (property && *s == ',')
            fputs("%2C", f);
        else
            fputc(*s, f);
    }
}

static void github_annotations(FILE *f, const greport *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const gcase *c = r->cases[i];
        for (size_t k = 0; k < c->n_msgs; k++) {
            const gcase_note *m = &c->msgs[k];
            if (m->sev == ARTIFACT_INFO)
                continue;
            fprintf(f, "::%s ", m->sev == ARTIFACT_ERROR ? "error" : "warning");
            if (r->file || c->artifact) {
                fputs("file=", f);
                gh_escape(f, r->file ? r->file : c->artifact, 1);
                fputc(',', f);
            }
            fputs("title=", f);
            char title[512];
            snprintf(title, sizeof title, "smxgb %s %s", m->code, c->name);
            gh_escape(f, title, 1);
            fputs("::", f);
            gh_escape(f, c->name, 0);
            if (c->container) {
                fputs(" [container ", f);
                gh_escape(f, c->container, 0);
                fputc(']', f);
            }
            fputs(": ", f);
            gh_escape(f, m->text, 0);
            if (m->hint) {
                fputs(" Fix: ", f);
                gh_escape(f, m->hint, 0);
            }
            fputc('\n', f);
        }
    }
}

int greport_finish(greport *r, const greport_out *o)
{
    if (o->json) {
        json_t *j = to_json(r);
        print_json(stdout, j);
        json_decref(j);
    } else if (!o->quiet) {
        print_text(stdout, r);
    }
    const char *gha = getenv("GITHUB_ACTIONS");
    if (gha && !strcmp(gha, "true"))
        github_annotations(o->json ? stderr : stdout, r);
    int code = EXIT_OK;
    for (size_t i = 0; i < r->n; i++) {
        if (r->cases[i]->io_error)
            code = EXIT_USAGE;
        else if (r->cases[i]->errors && code == EXIT_OK)
            code = EXIT_FINDINGS;
    }
    if (o->junit && write_junit(r, o->junit)) {
        fprintf(stderr, "smxgb %s: cannot write JUnit report %s\n", r->verb, o->junit);
        return EXIT_USAGE;
    }
    fflush(stdout);
    return code;
}
