/*
 * Shared by `smxgb check` and `smxgb plan`: a report made of cases (one per model container
 * and container version), the steps that fill a case (verify, serve + probe), artifact
 * sources, and the CI outputs (text, JSON, JUnit XML, GitHub Actions annotations).
 */
#ifndef SMXGB_TOOLS_GATE_CLI_H
#define SMXGB_TOOLS_GATE_CLI_H

#include "../gate/gate.h"
#include "tools.h"

/* Add a case; out of memory ends the program (EXIT_INTERNAL). */
gate_case *gate_cli_add(gate_report *r, const char *name, const char *container,
                        const char *artifact);

typedef struct gate_cli_out {
    int json;
    const char *junit; /* path or NULL */
    int quiet;
} gate_cli_out;

/* Print the report (text or JSON), write JUnit, emit GitHub annotations when
 * GITHUB_ACTIONS=true (tools/gate_cli.c). Returns the exit code: 2 if any artifact could not be
 * read, 1 if any case has errors, else 0. */
int gate_cli_finish(gate_report *r, const gate_cli_out *o);

/* ---- the steps ----------------------------------------------------------------------------- */

typedef struct check_opts {
    const char *const *env; /* KEY=VALUE for verify and the served process */
    size_t n_env;
    const char *sample; /* sample file, or NULL to generate rows as wide as the model */
    const char *content_type, *accept;
    double startup_timeout; /* probe window (0: SageMaker's default) */
    double interval;        /* 0: 5 s */
    size_t max_payload;     /* 0: 6 MiB (serverless: 4 MB) */
    int no_serve;
    int script_mode; /* SAGEMAKER_PROGRAM: user code decides what loads */
    int verbose;     /* print the probe timeline to stderr */
} check_opts;

/* Verify local against tags (n 0 = every version); adds one case per container to r (or
 * fills `into` when given and exactly one container is checked). Returns the number of cases
 * added or filled; the compat_report is returned through *rep when rep is not NULL. */
size_t check_verify(gate_report *r, gate_case *into, const char *name, const char *source,
                    const char *local, const char *const *tags, size_t n, const check_opts *o,
                    compat_report **rep);

/* Serve local with container tag (NULL: serve's default) as a child process of this binary,
 * probe it, stop it; the outcome goes into c. */
void check_serve(gate_case *c, const char *local, const char *tag, const compat_report *rep,
                 const check_opts *o);

/* ---- sources ------------------------------------------------------------------------------- */

/* Turn a source (path, s3://, https://) into a local file. *tmp is set to 1 when the caller
 * must unlink *local. Prints a progress bar on a terminal. Returns an SMX status; the message
 * is in err. */
int source_fetch(const char *src, const char *s3_endpoint, char **local, int *tmp, smx_err *err);

#endif
