/*
 * What `smxgb check` and `smxgb plan` share in the CLI (tools/gate_cli.c): their common options,
 * the server launcher and progress hooks they give gate's check, and the writer of gate's
 * report (text or JSON, JUnit XML, GitHub Actions annotations) with its exit code. Also the
 * artifact download with a progress bar that `smxgb verify` uses.
 */
#ifndef SMXGB_TOOLS_GATE_CLI_H
#define SMXGB_TOOLS_GATE_CLI_H

#include "../gate/gate.h"
#include "tools.h"

/* The options check and plan share: one table that both include (OPT_INCLUDE), its values in
 * gate_cli. */
typedef struct gate_cli_args {
    const char *sample, *content_type, *accept, *junit, *s3_endpoint;
    double startup_timeout, interval;
    int json, no_serve, verbose, quiet;
    /* downloads (gate_cli_fetch_opts): deadline, low-speed time, cap without Content-Length */
    double timeout, stall_timeout;
    uint64_t size_cap;
    const char *runtimes; /* --runtimes: cached, fetch or none (gate_cli_runtime_opts) */
} gate_cli_args;
extern gate_cli_args gate_cli;
extern opt gate_cli_opts[];
/* The download options (--timeout, --stall-timeout, --size-cap), in gate_cli_opts and in
 * verify's table; their values in gate_cli. */
extern opt gate_cli_fetch_opts[];

/* --runtimes WHEN: which XGBoost verify loads each container's models with; in gate_cli_opts,
 * and in the tables of verify and convert. */
extern opt gate_cli_runtime_opts[];
/* What --runtimes asks for: *mode for compat_verify, and with `fetch` the run's runtimes to
 * fetch (gate_runtimes_fetch: downloads and failures said on stderr, failures only with quiet),
 * else NULL. 0, or -1 after a usage message for a value that is none of the three. */
int gate_cli_runtimes(const char *verb, int quiet, compat_runtimes *mode, gate_runtimes **fetch);
/* The end of the run: the fetched runtimes' records freed. */
void gate_cli_runtimes_end(void);

/* A download's progress bar on stderr (a gate_fetch_opts.progress; stderr a terminal), for
 * fetches outside check and plan (smxgb runtime fetch). */
void gate_cli_progress_bar(uint64_t now, uint64_t total, void *ctx);

/* Refuse shared options that do not go together (message on stderr); 0 when they are fine. A
 * --sample without --content-type gets the type its extension names. */
int gate_cli_usage_ok(const char *verb);

/* The check options of gate_cli: this binary's `serve` verb as the launcher, verify's JSON for
 * each case, downloads from --s3-endpoint, and the run's progress on stderr (each stage, a
 * progress line on a terminal; nothing with --quiet; with --verbose every probe attempt). fo
 * is filled and must outlive o. gate_cli_finish ends the progress. */
void gate_cli_check_opts(gate_check_opts *o, gate_fetch_opts *fo);

/* Print the report (text, or JSON with --json), write JUnit (--junit), emit GitHub annotations
 * when GITHUB_ACTIONS=true. Returns the exit code: 2 if any artifact could not be read, 1 if
 * any case has errors or is unknown (unless the report allows unknowns), else 0. */
int gate_cli_finish(gate_report *r);

/* ---- live progress on stderr (tools/progress.c) ---- */

/* Start a run: lines 1 prints a line as each stage starts and ends (0: nothing, --quiet), and
 * on a terminal keeps a progress line below them; timeline prints every probe attempt
 * (--verbose). Returns 1 when the progress line is drawn. */
int progress_begin(int lines, int timeline);
/* The hooks for gate: gate_check_opts.on_stage, .on_attempt, gate_fetch_opts.progress. */
void progress_stage(const gate_stage_event *e, void *ctx);
void progress_attempt(const gate_attempt *a, void *ctx);
void progress_download(uint64_t now, uint64_t total, void *ctx);
/* The run is over: the progress line is rubbed out. */
void progress_end(void);
/* Around fork(): nothing is being drawn while held. */
void progress_hold(void);
void progress_release(void);

/* Turn a source (path, s3://, https://) into a local file, with the download options of
 * gate_cli. *tmp is set to 1 when the caller must remove *local (smx_scratch_remove). On a
 * terminal the download prints its start, a progress line, and its size, time and rate. Returns an
 * SMX status; the message is in err. */
int source_fetch(const char *src, const char *s3_endpoint, char **local, int *tmp, smx_err *err);

#endif
