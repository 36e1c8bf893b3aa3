/*
 * smxgb: the command table. Each verb lives in its own cmd_<verb>.c, parses its options with
 * opts.c from a table that also produces its help, calls library code (artifacts/, compat/,
 * serve/) and prints. This file only dispatches and documents.
 */
#include "tools.h"

#include <stdlib.h>
#include <string.h>

#ifndef SMXGB_VERSION
#define SMXGB_VERSION "0.0.0"
#endif

/* Filled before main() by SMXGB_VERB() in each cmd_<verb>.c, then sorted by order. */
#define MAX_VERBS 32
static struct verb verbs[MAX_VERBS + 1];
static size_t n_verbs;

void tools_register_verb(const char *name, int (*fn)(int, char **), const verb_doc *doc, int order)
{
    if (n_verbs == MAX_VERBS)
        abort(); /* a programming error caught by any test run */
    size_t i = n_verbs++;
    while (i > 0 && verbs[i - 1].order > order) {
        verbs[i] = verbs[i - 1];
        i--;
    }
    verbs[i] = (struct verb){name, fn, doc, order};
}

int exit_for_status(int status)
{
    switch (status) {
    case SMX_OK:
        return EXIT_OK;
    case SMX_EINVAL:
    case SMX_EIO:
        return EXIT_USAGE;
    case SMX_ENOMEM:
    case SMX_ERUNTIME:
        return EXIT_INTERNAL;
    default:
        return EXIT_FINDINGS;
    }
}

static void print_version(void)
{
    printf("smxgb %s\n", SMXGB_VERSION);
    compat_xgb *x;
    smx_err err = {0};
    if (compat_xgb_open(NULL, &x, &err) == SMX_OK) {
        char v[32];
        printf("xgboost %s (%s)\n", compat_version_str(compat_xgb_version(x), v, sizeof v),
               compat_xgb_path(x));
        compat_xgb_close(x);
    } else {
        printf("xgboost: not available: %s\n", err.msg);
    }
}

static void print_overview(FILE *f)
{
    fprintf(f, "usage: smxgb VERB [options] [args]\n\n"
               "Catch broken SageMaker XGBoost model artifacts before they are deployed.\n\n"
               "verbs:\n");
    for (const struct verb *v = verbs; v->name; v++)
        fprintf(f, "  %-10s %s\n", v->name, v->doc->summary);
    fprintf(f, "\nhelp topics:\n"
               "  smxgb help VERB        options and behaviour of one verb\n"
               "  smxgb help codes       every finding code, its severity and meaning\n"
               "  smxgb help exit-codes  exit status of every verb\n"
               "  smxgb --version        smxgb's version and the XGBoost it runs\n"
               "\nexit status:\n" SMXGB_EXIT_CODES "\n");
}

static void print_codes(FILE *f)
{
    fprintf(f, "Finding codes (stable identifiers, as in --json output).\n\n"
               "The archive and its layout (verify, check, plan):\n");
    for (const artifact_code_doc *c = artifact_finding_codes; c->code; c++)
        fprintf(f, "  %-30s %-8s %s\n", c->code, c->severity, c->meaning);
    fprintf(f, "\nVerdict rules (verify's containers[].reasons[].rule; the data is "
               "compat/rules/rules.json):\n");
    size_t n = 0;
    smx_err err = {0};
    if (compat_rules(&n, &err) == SMX_OK) {
        for (size_t i = 0; i < n; i++)
            fprintf(f, "  %-18s %-17s %s\n  %-18s %-17s (source: %s)\n", compat_rule_id(i),
                    compat_rule_verdict(i) ? compat_rule_verdict(i) : "",
                    compat_rule_why(i) ? compat_rule_why(i) : "", "", "",
                    compat_rule_source(i) ? compat_rule_source(i) : "?");
    } else {
        fprintf(f, "  (the rule table cannot be read: %s)\n", err.msg);
    }
    fprintf(f, "  %-18s %-17s %s\n", "LOAD-CHECK", "fails|note",
            "the model loaded (or failed to load) with a real XGBoost in a child process");
    fprintf(f, "  %-18s %-17s %s\n", "LAYOUT", "fails",
            "the archive or this container's layout has errors: nothing loads");
    fprintf(f, "  %-18s %-17s %s\n", "PARTIAL", "note",
            "a large model was identified from its first bytes only (facts stored later unknown)");
    fprintf(f, "  %-18s %-17s %s\n", "UNIDENTIFIED", "note",
            "a model file that was not identified (over 64 files, or unreadable): not judged");
    fprintf(f, "\nHealth checks and Terraform plans (check, plan):\n");
    for (const artifact_code_doc *c = gate_finding_codes; c->code; c++)
        fprintf(f, "  %-30s %-13s %s\n", c->code, c->severity, c->meaning);
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stdout);
        return EXIT_OK;
    }
    const char *topic = argv[1];
    if (!strcmp(topic, "codes")) {
        print_codes(stdout);
        return EXIT_OK;
    }
    if (!strcmp(topic, "exit-codes")) {
        printf("exit status (every verb):\n" SMXGB_EXIT_CODES "\n");
        for (const struct verb *v = verbs; v->name; v++)
            if (v->doc->exit_codes)
                printf("\nsmxgb %s:\n%s\n", v->name, v->doc->exit_codes);
        return EXIT_OK;
    }
    for (const struct verb *v = verbs; v->name; v++)
        if (!strcmp(v->name, topic)) {
            opts_print_help(stdout, v->doc);
            return EXIT_OK;
        }
    fprintf(stderr, "smxgb help: no such verb or topic '%s'\n", topic);
    print_overview(stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "--version") || !strcmp(verb, "version")) {
        print_version();
        return EXIT_OK;
    }
    if (!strcmp(verb, "help") || !strcmp(verb, "--help") || !strcmp(verb, "-h"))
        return cmd_help(argc - 1, argv + 1);
    for (const struct verb *v = verbs; v->name; v++)
        if (!strcmp(v->name, verb))
            return v->fn(argc - 1, argv + 1);
    fprintf(stderr, "smxgb: '%s' is not a verb. See 'smxgb help'.\n", verb);
    return EXIT_USAGE;
}
