/*
 * End to end: what `-o` does to the thing it points at. A device, a FIFO, /dev/stdout and "-"
 * are written through and stay what they are; an input is never overwritten; an interrupted
 * command leaves no scratch behind. Device nodes are only made in a private mount namespace
 * with its own tmpfs /dev, never on the machine's /dev.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *model_file(const char *dir)
{
    size_t len;
    char *m = th_model(&len);
    char *p = strdup(th_path(dir, "xgboost-model"));
    th_write(p, m, len);
    free(m);
    return p;
}

/* Can this process make a private mount namespace (root, unshare available)? */
static int have_unshare(void)
{
    return th_run("unshare -m --propagation private true 2>/dev/null", NULL) == 0;
}

Test(cli_output, package_to_dev_null_keeps_the_device_node)
{
    if (!have_unshare())
        cr_skip_test("no private mount namespace here (needs root and unshare)");
    char *d = th_tmpdir();
    char *m = model_file(d);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "unshare -m --propagation private sh -c 'mount -t tmpfs none /dev && "
             "mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/full c 1 7 && "
             "ln -s /proc/self/fd/1 /dev/stdout && "
             "%s package %s -o /dev/null >/dev/null 2>&1; echo rc=$?; "
             "test -c /dev/null && echo null-is-a-device; "
             "%s package %s -o /dev/full 2>&1; echo rc=$?; test -c /dev/full && echo full-ok; "
             "%s package %s -o /dev/stdout | gzip -t && echo stdout-is-gzip; "
             "test -L /dev/stdout && echo stdout-is-a-link'",
             SMXGB_BIN, m, SMXGB_BIN, m, SMXGB_BIN, m);
    char *out = NULL;
    th_run(cmd, &out);
    cr_assert(strstr(out, "rc=0\nnull-is-a-device"), "%s", out);
    cr_assert(strstr(out, "full-ok"), "%s", out);
    cr_assert(strstr(out, "No space left on device") && strstr(out, "/dev/full"),
              "disk full names the errno and the path: %s", out);
    cr_assert(strstr(out, "rc=2"), "a write error is an I/O problem (exit 2): %s", out);
    cr_assert(strstr(out, "stdout-is-gzip"), "%s", out);
    cr_assert(strstr(out, "stdout-is-a-link"), "%s", out);
    free(out);
    free(m);
    th_rmrf(d);
    free(d);
}

Test(cli_output, package_to_a_fifo_and_to_dash_streams)
{
    char *d = th_tmpdir();
    char *m = model_file(d);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && mkfifo p && { (gzip -t < p && echo fifo-ok) & } && "
             "%s package %s -o %s/p >/dev/null; wait; test -p %s/p && echo still-fifo; "
             "%s package %s -o - | gzip -t && echo dash-ok",
             d, SMXGB_BIN, m, d, d, SMXGB_BIN, m);
    char *out = NULL;
    th_run(cmd, &out);
    cr_assert(strstr(out, "fifo-ok"), "%s", out);
    cr_assert(strstr(out, "still-fifo"), "%s", out);
    cr_assert(strstr(out, "dash-ok"), "%s", out);
    free(out);
    free(m);
    th_rmrf(d);
    free(d);
}

Test(cli_output, package_refuses_to_write_into_its_input_directory)
{
    char *d = th_tmpdir();
    char *m = model_file(d);
    char *out = NULL;
    int rc = th_smxgb(&out, "package %s -o %s/model.tar.gz 2>&1", d, d);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "inside the input directory"), "%s", out);
    cr_assert_neq(access(th_path(d, "model.tar.gz"), F_OK), 0, "nothing written");
    free(out);
    free(m);
    th_rmrf(d);
    free(d);
}

Test(cli_output, sigterm_during_package_leaves_no_temporary)
{
    char *d = th_tmpdir();
    /* a file large enough that packaging takes a moment (random bytes: --force) */
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && head -c 300000000 /dev/urandom > xgboost-model && "
             "(%s package xgboost-model -o out.tar.gz --force & p=$!; sleep 0.5; kill -TERM $p; "
             "wait $p; "
             "echo rc=$?); ls -A",
             d, SMXGB_BIN);
    char *out = NULL;
    th_run(cmd, &out);
    cr_assert(strstr(out, "rc=143"), "died of SIGTERM: %s", out);
    cr_assert_null(strstr(out, ".tmp-"), "no OUT.tmp-* left: %s", out);
    cr_assert_null(strstr(out, "out.tar.gz"), "no partial output: %s", out);
    free(out);
    th_rmrf(d);
    free(d);
}

static void csv_rows(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 200; i++)
        fprintf(f, "%d,%d.5,%d\n", i % 2, i % 7, (i * 13) % 5);
    fclose(f);
}

Test(cli_output, train_never_overwrites_its_own_training_data)
{
    char *d = th_tmpdir();
    char t[512];
    snprintf(t, sizeof t, "%s/t.csv", d);
    csv_rows(t);
    size_t before_len;
    char *before = th_read(t, &before_len);
    char *out = NULL;
    int rc = th_smxgb(&out, "train --train %s --container 1.7-1 -p num_round=2 -o %s/./t.csv 2>&1",
                      t, d);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "the output is the input"), "%s", out);
    cr_assert_null(strstr(out, "[0]"), "refused before training: %s", out);
    size_t after_len;
    char *after = th_read(t, &after_len);
    cr_assert(after_len == before_len && !memcmp(before, after, before_len), "data intact");
    free(out);
    free(before);
    free(after);
    /* nor a file inside a channel directory */
    mkdir(th_path(d, "chan"), 0700);
    csv_rows(th_path(th_path(d, "chan"), "part1.csv"));
    rc = th_smxgb(&out,
                  "train --train %s/chan --container 1.7-1 -p num_round=2 -o %s/chan/m.tar.gz 2>&1",
                  d, d);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "inside the input directory"), "%s", out);
    free(out);
    th_rmrf(d);
    free(d);
}

Test(cli_output, train_checks_the_output_before_training_and_writes_a_fifo)
{
    char *d = th_tmpdir();
    char t[512];
    snprintf(t, sizeof t, "%s/t.csv", d);
    csv_rows(t);
    char *out = NULL;
    int rc = th_smxgb(
        &out, "train --train %s --container 1.7-1 -p num_round=2 -o /nonexistent/m.tar.gz 2>&1", t);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "/nonexistent"), "%s", out);
    cr_assert_null(strstr(out, "[0]"), "refused before training: %s", out);
    free(out);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && mkfifo p && { (gzip -t < p && echo fifo-ok) & } && "
             "%s train --train %s --container 1.7-1 -p num_round=2 -o p -q; echo rc=$?; wait; "
             "test -p p && echo still-fifo; "
             "%s train --train %s --container 1.7-1 -p num_round=2 -o - 2>/dev/null | gzip -t && "
             "echo dash-ok",
             d, SMXGB_BIN, t, SMXGB_BIN, t);
    th_run(cmd, &out);
    cr_assert(strstr(out, "rc=0") && strstr(out, "fifo-ok") && strstr(out, "still-fifo"), "%s",
              out);
    cr_assert(strstr(out, "dash-ok"), "the archive alone on stdout, the report on stderr: %s", out);
    free(out);
    th_rmrf(d);
    free(d);
}
