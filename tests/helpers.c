#include "helpers.h"

#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int th_write_archive(const char *out, const char *filter, const char *format, const th_entry *e,
                     size_t n)
{
    struct archive *a = archive_write_new();
    if (!strcmp(filter, "gzip"))
        archive_write_add_filter_gzip(a);
    else if (!strcmp(filter, "bzip2"))
        archive_write_add_filter_bzip2(a);
    else if (!strcmp(filter, "xz"))
        archive_write_add_filter_xz(a);
    else if (!strcmp(filter, "zstd"))
        archive_write_add_filter_zstd(a);
    if (!strcmp(format, "ustar"))
        archive_write_set_format_ustar(a);
    else if (!strcmp(format, "gnutar"))
        archive_write_set_format_gnutar(a);
    else if (!strcmp(format, "zip"))
        archive_write_set_format_zip(a);
    else
        archive_write_set_format_pax_restricted(a);
    cr_assert_eq(archive_write_open_filename(a, out), ARCHIVE_OK, "open %s: %s", out,
                 archive_error_string(a));
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].path);
        archive_entry_set_mtime(ae, 0, 0);
        switch (e[i].type) {
        case 'd':
            archive_entry_set_filetype(ae, AE_IFDIR);
            archive_entry_set_perm(ae, e[i].mode ? e[i].mode : 0755);
            break;
        case 'l':
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_set_symlink(ae, e[i].target);
            archive_entry_set_perm(ae, 0777);
            break;
        case 'h':
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_hardlink(ae, e[i].target);
            archive_entry_set_perm(ae, 0644);
            break;
        case 'c':
            archive_entry_set_filetype(ae, AE_IFCHR);
            archive_entry_set_rdev(ae, 0x0103);
            archive_entry_set_perm(ae, 0666);
            break;
        case 'p':
            archive_entry_set_filetype(ae, AE_IFIFO);
            archive_entry_set_perm(ae, 0644);
            break;
        default:
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_perm(ae, e[i].mode ? e[i].mode : 0644);
            archive_entry_set_size(ae, (la_int64_t)e[i].len);
        }
        cr_assert_eq(archive_write_header(a, ae), ARCHIVE_OK, "header %s: %s", e[i].path,
                     archive_error_string(a));
        if (e[i].type == 'f' && e[i].len)
            cr_assert_eq(archive_write_data(a, e[i].data, e[i].len), (la_ssize_t)e[i].len);
        archive_entry_free(ae);
    }
    cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return 0;
}

/* Test programs are not installed beside the helper that runs real loads: tell the library
 * where the build put it (ctest does too; this covers running a test binary by hand). */
__attribute__((constructor)) static void th_child_path(void)
{
    setenv("SMXGB_CHILD", SMXGB_CHILD_PATH, 0);
}

char *th_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/smxgb-test-XXXXXX", base && *base ? base : "/tmp") > 0);
    cr_assert_not_null(mkdtemp(p));
    return p;
}

void th_rmrf(const char *dir)
{
    if (dir)
        artifact_remove_tree(dir, NULL);
}

const char *th_path(const char *dir, const char *name)
{
    static char bufs[8][4096];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

int th_run(const char *cmdline, char **out)
{
    FILE *p = popen(cmdline, "r");
    cr_assert_not_null(p, "popen %s", cmdline);
    smx_buf b = SMX_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        smx_buf_append(&b, chunk, n);
    int st = pclose(p);
    if (!b.data)
        smx_buf_append(&b, "", 0);
    if (out)
        *out = b.data;
    else
        free(b.data);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

int th_smxgb(char **out, const char *fmt, ...)
{
    smx_buf cmd = SMX_BUF_INIT;
    smx_buf_printf(&cmd, "%s ", SMXGB_BIN);
    va_list ap;
    va_start(ap, fmt);
    smx_buf_vprintf(&cmd, fmt, ap);
    va_end(ap);
    int rc = th_run(cmd.data, out);
    smx_buf_free(&cmd);
    return rc;
}

int th_serve_launch(void *ctx, const gate_server_spec *s, pid_t *pid, smx_err *err)
{
    (void)ctx;
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    const char **args = calloc(10 + 2 * s->n_env, sizeof *args);
    if (!args)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    size_t a = 0;
    args[a++] = "smxgb";
    args[a++] = "serve";
    args[a++] = s->artifact;
    args[a++] = "--port";
    args[a++] = port;
    args[a++] = "--quiet";
    if (s->container) {
        args[a++] = "--container";
        args[a++] = s->container;
    }
    for (size_t i = 0; i < s->n_env; i++) {
        args[a++] = "--env";
        args[a++] = s->env[i];
    }
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        setpgid(0, 0);
        dup2(s->log_fd, 1);
        dup2(s->log_fd, 2);
        for (size_t i = 0; i < s->n_env; i++)
            putenv((char *)s->env[i]);
        execv(SMXGB_BIN, (char *const *)args);
        _exit(127);
    }
    free(args);
    if (p < 0)
        return smx_fail(err, SMX_EIO, "fork failed");
    *pid = p;
    return SMX_OK;
}

char *th_read(const char *path, size_t *len)
{
    smx_buf b = SMX_BUF_INIT;
    smx_err e = {0};
    cr_assert_eq(smx_buf_read_file(&b, path, (size_t)1 << 31, &e), SMX_OK, "%s", e.msg);
    if (len)
        *len = b.len;
    if (!b.data)
        smx_buf_append(&b, "", 0);
    return b.data;
}

int th_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "write %s", path);
    if (len)
        cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return 0;
}

char *th_model(size_t *len)
{
    return th_read(SMXGB_TESTDATA "/model-1.7.4-binary_logistic.bin", len);
}

json_t *th_json(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    cr_assert_not_null(j, "invalid JSON (line %d: %s): %.500s", je.line, je.text, text);
    return j;
}

int th_has_finding(json_t *report, const char *code, const char *container)
{
    json_t *fs = json_object_get(report, "findings");
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "code")), code) != 0)
            continue;
        if (!container)
            return 1;
        json_t *cs = json_object_get(f, "containers");
        size_t k;
        json_t *c;
        json_array_foreach(cs, k, c) if (!strcmp(json_string_value(c), container)) return 1;
    }
    return 0;
}
