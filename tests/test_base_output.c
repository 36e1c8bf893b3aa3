/*
 * base/output.c and base/scratch.c: an output is written whole or not at all, never destroys
 * what its path points at (a FIFO, a device, a symlink, an input), and scratch is removed on a
 * signal and swept when stale.
 */
#include "base/base.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static int write_all_out(const char *path, const char *const *in, size_t nin, const char *text,
                         smx_err *err)
{
    smx_out o;
    int rc = smx_out_open(&o, path, in, nin, err);
    if (rc) {
        smx_out_abort(&o);
        return rc;
    }
    if ((rc = smx_out_write(&o, text, strlen(text), err))) {
        smx_out_abort(&o);
        return rc;
    }
    return smx_out_commit(&o, err);
}

static size_t count_prefix(const char *dir, const char *prefix)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c '^%s' || true", dir, prefix);
    char *out = NULL;
    th_run(cmd, &out);
    size_t n = out ? strtoul(out, NULL, 10) : 0;
    free(out);
    return n;
}

Test(output, replaces_a_regular_file_whole_and_leaves_no_temporary)
{
    char *d = th_tmpdir();
    const char *p = th_path(d, "out.bin");
    th_write(p, "old", 3);
    smx_err err = {0};
    cr_assert_eq(write_all_out(p, NULL, 0, "new content", &err), SMX_OK, "%s", err.msg);
    size_t len;
    char *got = th_read(p, &len);
    cr_assert_str_eq(got, "new content");
    cr_assert_eq(count_prefix(d, "out.bin.tmp-"), 0);
    free(got);
    th_rmrf(d);
    free(d);
}

Test(output, abort_keeps_the_old_file)
{
    char *d = th_tmpdir();
    const char *p = th_path(d, "keep.bin");
    th_write(p, "precious", 8);
    smx_out o;
    smx_err err = {0};
    cr_assert_eq(smx_out_open(&o, p, NULL, 0, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(smx_out_write(&o, "half", 4, &err), SMX_OK);
    smx_out_abort(&o);
    size_t len;
    char *got = th_read(p, &len);
    cr_assert_str_eq(got, "precious");
    cr_assert_eq(count_prefix(d, "keep.bin.tmp-"), 0);
    free(got);
    th_rmrf(d);
    free(d);
}

Test(output, writes_through_a_fifo_and_keeps_it_a_fifo)
{
    char *d = th_tmpdir();
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/pipe", d);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    char link[512];
    snprintf(link, sizeof link, "%s/link", d);
    cr_assert_eq(symlink(fifo, link), 0);
    for (int viaLink = 0; viaLink < 2; viaLink++) {
        pid_t pid = fork();
        if (pid == 0) { /* the reader */
            int fd = open(fifo, O_RDONLY);
            char buf[64] = "";
            ssize_t n = read(fd, buf, sizeof buf - 1);
            _exit(n == 5 && !memcmp(buf, "bytes", 5) ? 0 : 1);
        }
        smx_err err = {0};
        cr_assert_eq(write_all_out(viaLink ? link : fifo, NULL, 0, "bytes", &err), SMX_OK, "%s",
                     err.msg);
        int st = 0;
        waitpid(pid, &st, 0);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reader got the bytes");
        struct stat sb;
        cr_assert_eq(stat(fifo, &sb), 0);
        cr_assert(S_ISFIFO(sb.st_mode), "still a FIFO");
        cr_assert_eq(lstat(link, &sb), 0);
        cr_assert(S_ISLNK(sb.st_mode), "the link is still a link");
    }
    th_rmrf(d);
    free(d);
}

Test(output, a_symlink_to_a_file_stays_a_link)
{
    char *d = th_tmpdir();
    char target[512], link[512];
    snprintf(target, sizeof target, "%s/real.tar.gz", d);
    snprintf(link, sizeof link, "%s/current.tar.gz", d);
    th_write(target, "v1", 2);
    cr_assert_eq(symlink(target, link), 0);
    smx_err err = {0};
    cr_assert_eq(write_all_out(link, NULL, 0, "v2", &err), SMX_OK, "%s", err.msg);
    struct stat sb;
    cr_assert_eq(lstat(link, &sb), 0);
    cr_assert(S_ISLNK(sb.st_mode));
    size_t len;
    char *got = th_read(target, &len);
    cr_assert_str_eq(got, "v2");
    free(got);
    th_rmrf(d);
    free(d);
}

Test(output, refuses_its_own_input_in_any_spelling)
{
    char *d = th_tmpdir();
    char in[512], other[512], sub[512], inside[512];
    snprintf(in, sizeof in, "%s/train.csv", d);
    snprintf(other, sizeof other, "%s/./x/../train.csv", d);
    snprintf(sub, sizeof sub, "%s/channel", d);
    snprintf(inside, sizeof inside, "%s/channel/model.tar.gz", d);
    th_write(in, "1,2\n", 4);
    mkdir(th_path(d, "x"), 0700);
    mkdir(sub, 0700);
    smx_err err = {0};
    const char *inputs[] = {in};
    cr_assert_eq(write_all_out(other, inputs, 1, "archive", &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "the output is the input"), "%s", err.msg);
    cr_assert(err.fix[0], "says what to do");
    size_t len;
    char *got = th_read(in, &len);
    cr_assert_str_eq(got, "1,2\n", "the input is untouched");
    free(got);
    const char *dirs[] = {sub};
    cr_assert_eq(write_all_out(inside, dirs, 1, "archive", &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "inside the input directory"), "%s", err.msg);
    th_rmrf(d);
    free(d);
}

Test(output, an_unwritable_destination_fails_before_any_work)
{
    smx_out o;
    smx_err err = {0};
    cr_assert_eq(smx_out_open(&o, "/nonexistent-dir/model.tar.gz", NULL, 0, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "/nonexistent-dir"), "names the directory: %s", err.msg);
    smx_out_abort(&o);
    char *d = th_tmpdir();
    cr_assert_eq(smx_out_open(&o, d, NULL, 0, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "is a directory"), "%s", err.msg);
    smx_out_abort(&o);
    th_rmrf(d);
    free(d);
}

Test(output, stale_temporaries_of_a_killed_run_are_removed)
{
    char *d = th_tmpdir();
    char stale[512], fresh[512], p[512];
    snprintf(p, sizeof p, "%s/m.tar.gz", d);
    snprintf(stale, sizeof stale, "%s/m.tar.gz.tmp-AAAAAA", d);
    snprintf(fresh, sizeof fresh, "%s/m.tar.gz.tmp-BBBBBB", d);
    th_write(stale, "x", 1);
    th_write(fresh, "y", 1);
    struct utimbuf old = {time(NULL) - 2 * 86400, time(NULL) - 2 * 86400};
    utime(stale, &old);
    smx_err err = {0};
    cr_assert_eq(write_all_out(p, NULL, 0, "z", &err), SMX_OK, "%s", err.msg);
    cr_assert_neq(access(stale, F_OK), 0, "the day-old temporary is gone");
    cr_assert_eq(access(fresh, F_OK), 0, "a recent one may belong to a running command");
    th_rmrf(d);
    free(d);
}

Test(scratch, a_signal_removes_scratch_and_a_child_never_removes_its_parents)
{
    char *d = th_tmpdir();
    setenv("TMPDIR", d, 1);
    char *dir = NULL;
    smx_err err = {0};
    cr_assert_eq(smx_scratch_dir("smxgb-test-", &dir, &err), SMX_OK, "%s", err.msg);
    th_write(th_path(dir, "file"), "data", 4);
    mkdir(th_path(dir, "sub"), 0700);
    th_write(th_path(th_path(dir, "sub"), "deep"), "data", 4);
    pid_t pid = fork();
    if (pid == 0) {
        smx_scratch_cleanup_signal();
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    cr_assert_eq(access(dir, F_OK), 0, "a forked child left the parent's scratch alone");
    smx_scratch_cleanup_signal();
    cr_assert_neq(access(dir, F_OK), 0, "the whole tree is gone");
    free(dir);
    unsetenv("TMPDIR");
    th_rmrf(d);
    free(d);
}

Test(scratch, sweep_removes_only_stale_scratch_of_ours)
{
    char *d = th_tmpdir();
    setenv("TMPDIR", d, 1);
    char old[512], recent[512], other[512];
    snprintf(old, sizeof old, "%s/smxgb-src-old", d);
    snprintf(recent, sizeof recent, "%s/smxgb-src-new", d);
    snprintf(other, sizeof other, "%s/not-ours", d);
    mkdir(old, 0700);
    th_write(th_path(old, "f"), "x", 1);
    mkdir(recent, 0700);
    mkdir(other, 0700);
    struct utimbuf t = {time(NULL) - 2 * 86400, time(NULL) - 2 * 86400};
    utime(old, &t);
    utime(other, &t);
    size_t removed = 0;
    cr_assert_eq(smx_scratch_sweep(86400, &removed), SMX_OK);
    cr_assert_eq(removed, 1);
    cr_assert_neq(access(old, F_OK), 0);
    cr_assert_eq(access(recent, F_OK), 0);
    cr_assert_eq(access(other, F_OK), 0);
    unsetenv("TMPDIR");
    th_rmrf(d);
    free(d);
}
