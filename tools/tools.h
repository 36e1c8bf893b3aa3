/*
 * Shared by the verbs in tools/: the verb entry points, their documentation records, the
 * exit codes, and the printers for verify-style reports (text and JSON). tools/ is the only
 * place that prints or exits.
 */
#ifndef SMXGB_TOOLS_H
#define SMXGB_TOOLS_H

#include "../compat/compat.h"
#include "opts.h"

#include <jansson.h>
#include <stdio.h>

enum {
    EXIT_OK = 0,       /* no errors found / healthy */
    EXIT_FINDINGS = 1, /* the artifact (or server) has errors */
    EXIT_USAGE = 2,    /* usage error, missing or unreadable input, I/O failure */
    EXIT_INTERNAL = 3  /* smxgb itself failed (out of memory, library failure) */
};

#define SMXGB_EXIT_CODES                                                                           \
    "  0  no errors (warnings may have been printed)\n"                                            \
    "  1  errors found: the artifact would fail, or predict wrongly, on a container\n"             \
    "  2  usage error, or an input that cannot be read (missing file, permissions, I/O)\n"         \
    "  3  internal failure (out of memory, a library failed unexpectedly)"

/*
 * Verbs register themselves: each cmd_<verb>.c ends with
 *   SMXGB_VERB(verify, cmd_verify, verify_doc, 20)
 * (order sorts `smxgb help`), so adding a verb touches no shared file.
 */
struct verb {
    const char *name;
    int (*fn)(int, char **);
    const verb_doc *doc;
    int order;
};
void tools_register_verb(const char *name, int (*fn)(int, char **), const verb_doc *doc, int order);
#define SMXGB_VERB(name, fn, doc, order)                                                           \
    __attribute__((constructor)) static void register_verb_##name(void)                            \
    {                                                                                              \
        tools_register_verb(#name, fn, &doc, order);                                               \
    }

/* Codes that check and plan add to verify's (tools/codes.c). */
extern const artifact_code_doc gate_finding_codes[];

/* Map an smx status from a failed call to an exit code. */
int exit_for_status(int status);

/* The exit code for a negative opts_parse result: EXIT_OK after --help, else EXIT_USAGE. */
int verb_parse_exit(int n);
/* Print "smxgb VERB: need" and the usage line to stderr; returns EXIT_USAGE. */
int verb_usage(const verb_doc *doc, const char *need);
/* 1 when every --env value is KEY=VALUE; else prints which is not and returns 0. */
int verb_env_ok(const verb_doc *doc, const str_list *env);

/*
 * For a verb whose -o may be standard output ("-", /dev/stdout, or whatever fd 1 is): when it
 * is, keep the real stdout for the output only (returns "/dev/fd/N" in buf to pass to the
 * library) and point this process's stdout at stderr, so that what the verb prints cannot mix
 * with the bytes it writes. Otherwise returns output unchanged.
 */
const char *tools_claim_stdout(const char *output, char *buf, size_t n);

/* Verify-style report output. */
json_t *report_to_json(const compat_report *r);
void report_print_text(FILE *f, const compat_report *r);
/* What compat_identify found in a model file (tools/model_report.c). */
json_t *model_info_to_json(const compat_model_info *m);
void model_info_print_text(FILE *f, const compat_model_info *m);
/* Print a JSON value followed by a newline; returns 0 or -1. */
int print_json(FILE *f, json_t *v);

#endif
