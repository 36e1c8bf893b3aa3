/*
 * What `smxgb check` and `smxgb plan` share in the CLI: writing the report gate renders (text or
 * JSON on stdout, JUnit XML to a file, GitHub Actions annotations when GITHUB_ACTIONS=true) and
 * turning it into the exit code.
 */
#include "gate_cli.h"

#include <stdlib.h>
#include <string.h>

gate_case *gate_cli_add(gate_report *r, const char *name, const char *container,
                        const char *artifact)
{
    gate_case *c = gate_report_add(r, name, container, artifact);
    if (!c) {
        fprintf(stderr, "smxgb %s: out of memory\n", r->verb);
        exit(EXIT_INTERNAL);
    }
    return c;
}

static int write_all(FILE *f, const smx_buf *b)
{
    return b->len && fwrite(b->data, 1, b->len, f) != b->len ? -1 : 0;
}

static int write_junit(const gate_report *r, const char *path)
{
    smx_buf b = SMX_BUF_INIT;
    if (gate_report_junit(r, &b)) {
        smx_buf_free(&b);
        return -1;
    }
    FILE *f = fopen(path, "w");
    int rc = f ? write_all(f, &b) : -1;
    if (f && fclose(f))
        rc = -1;
    smx_buf_free(&b);
    return rc;
}

/* Render with fn and write it to f; out of memory ends the program. */
static void print_rendered(FILE *f, const gate_report *r, int (*fn)(const gate_report *, smx_buf *))
{
    smx_buf b = SMX_BUF_INIT;
    if (fn(r, &b)) {
        fprintf(stderr, "smxgb %s: out of memory\n", r->verb);
        exit(EXIT_INTERNAL);
    }
    write_all(f, &b);
    smx_buf_free(&b);
}

int gate_cli_finish(gate_report *r, const gate_cli_out *o)
{
    if (o->json) {
        json_t *j = gate_report_json(r);
        print_json(stdout, j);
        json_decref(j);
    } else if (!o->quiet) {
        print_rendered(stdout, r, gate_report_text);
    }
    const char *gha = getenv("GITHUB_ACTIONS");
    if (gha && !strcmp(gha, "true"))
        print_rendered(o->json ? stderr : stdout, r, gate_report_github);
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
