/*
 * Test helpers: build archives entry by entry with libarchive (any type, mode, name, content,
 * filter), run the smxgb binary and capture its output and exit status, make temp dirs, start
 * `smxgb serve` for gate's check.
 */
#ifndef SMXGB_TEST_HELPERS_H
#define SMXGB_TEST_HELPERS_H

#include "artifacts/artifacts.h"
#include "gate/gate.h"

#include <jansson.h>
#include <stddef.h>

typedef struct th_entry {
    const char *path;
    char type;        /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' chardev, 'p' fifo */
    unsigned mode;    /* 0 = 0644 / 0755 */
    const void *data; /* file content (NULL = empty) */
    size_t len;
    const char *target; /* link target */
} th_entry;

/* Write an archive with the given entries. filter: "gzip", "none", "bzip2", "xz", "zstd";
 * format: "pax", "ustar", "gnutar", "zip" (filter "none"). Returns 0. */
int th_write_archive(const char *out, const char *filter, const char *format, const th_entry *e,
                     size_t n);

/* A fresh temp dir (malloc'd path); removed by th_rmrf. */
char *th_tmpdir(void);
void th_rmrf(const char *dir);
/* Path join into a static rotating buffer. */
const char *th_path(const char *dir, const char *name);

/* Run a shell command line; capture stdout (malloc'd, NUL-terminated) and return the exit code
 * (or 128+signal). */
int th_run(const char *cmdline, char **out);
/* Run smxgb with printf-style arguments appended to the binary path. */
int th_smxgb(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A gate_server_launch_fn that runs the built binary's `smxgb serve` for the spec (its own
 * process group, output to the spec's log, the environment set and passed with --env). */
int th_serve_launch(void *ctx, const gate_server_spec *s, pid_t *pid, smx_err *err);

/* Read a whole file (malloc'd); *len set. */
char *th_read(const char *path, size_t *len);
int th_write(const char *path, const void *data, size_t len);

/* Test data: the bundled model bytes. */
char *th_model(size_t *len);

/* Parse JSON text or fail the test. */
json_t *th_json(const char *text);
/* Does the JSON report have a finding with this code (optionally for container tag)? */
int th_has_finding(json_t *report, const char *code, const char *container);

#endif
