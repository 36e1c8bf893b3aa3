/*
 * End-to-end tests of `smxgb package` and `smxgb verify` (layout part) on archives made by
 * real tools: GNU tar (with and without "./" prefixes) and Python's tarfile (pax and GNU
 * formats), plus libarchive-built ones for what those tools will not produce.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static void setup(void)
{
    dir = th_tmpdir();
    size_t n;
    char *m = th_model(&n);
    mkdir(th_path(dir, "m"), 0755);
    th_write(th_path(dir, "m/xgboost-model"), m, n);
    free(m);
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}
TestSuite(cli_layout, .init = setup, .fini = teardown);

/* Run a shell command in which every "@" stands for the test directory. */
static int sh(const char *tmpl, const char *d)
{
    smx_buf cmd = SMX_BUF_INIT;
    for (const char *p = tmpl; *p; p++)
        if (*p == '@')
            smx_buf_puts(&cmd, d);
        else
            smx_buf_append(&cmd, p, 1);
    int rc = th_run(cmd.data, NULL);
    smx_buf_free(&cmd);
    return rc;
}

/* verify --json on path; returns the exit code and the parsed report. */
static int verify_json(const char *path, const char *extra, json_t **rep)
{
    char *out = NULL;
    int rc = th_smxgb(&out, "verify --json %s '%s'", extra ? extra : "", path);
    *rep = th_json(out);
    free(out);
    return rc;
}

static size_t n_findings(json_t *r, const char *severity)
{
    size_t n = 0, i;
    json_t *f;
    json_array_foreach(json_object_get(r, "findings"), i,
                       f) if (!strcmp(json_string_value(json_object_get(f, "severity")), severity))
        n++;
    return n;
}

Test(cli_layout, version_and_help)
{
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "--version"), 0);
    cr_assert(strstr(out, "smxgb "), "%s", out);
    cr_assert(strstr(out, "xgboost 1.7.4"), "runs Debian's XGBoost: %s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "help"), 0);
    cr_assert(strstr(out, "verify") && strstr(out, "package") && strstr(out, "exit status"), "%s",
              out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "help verify"), 0);
    cr_assert(strstr(out, "--container") && strstr(out, "--env") && strstr(out, "--json"), "%s",
              out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "help codes"), 0);
    for (const artifact_code_doc *c = artifact_finding_codes; c->code; c++)
        cr_assert(strstr(out, c->code), "help codes lists %s", c->code);
    free(out);
    cr_assert_eq(th_smxgb(&out, "help nosuchverb 2>/dev/null"), 2);
    free(out);
    cr_assert_eq(th_smxgb(&out, "nosuchverb 2>/dev/null"), 2);
    free(out);
    cr_assert_eq(th_smxgb(&out, "verify 2>/dev/null"), 2, "missing argument is a usage error");
    free(out);
}

Test(cli_layout, gnu_tar_with_and_without_dot_prefix_is_clean)
{
    const char *a = th_path(dir, "a.tar.gz");
    cr_assert_eq(sh("tar -C '@/m' -czf '@/a.tar.gz' xgboost-model", dir), 0);
    json_t *r;
    cr_assert_eq(verify_json(a, NULL, &r), 1,
                 "a 1.7.4 binary: 0.90-x load it and predict nothing, 3.2-0 cannot read it");
    cr_assert_eq(n_findings(r, "warning"), 0);
    cr_assert_eq(n_findings(r, "error"), 0, "the layout is clean for every version");
    cr_assert_eq(json_array_size(json_object_get(r, "containers")), 11, "every version by default");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r, "containers"), i, c)
        cr_assert_str_eq(json_string_value(json_object_get(c, "layout")), "ok");
    json_decref(r);
    cr_assert_eq(verify_json(a, "-c 1.7-1", &r), 0);
    cr_assert(json_is_true(json_object_get(r, "ok")));
    json_decref(r);

    const char *b = th_path(dir, "b.tar.gz");
    cr_assert_eq(sh("tar -C '@/m' -czf '@/b.tar.gz' .", dir), 0);
    cr_assert_eq(verify_json(b, NULL, &r), 1, "./xgboost-model is the top-level xgboost-model");
    cr_assert_eq(n_findings(r, "error"), 0);
    cr_assert_eq(n_findings(r, "warning"), 0, "the ./ root entry is not a directory warning");
    json_t *c0 = json_array_get(json_object_get(r, "containers"), 7);
    cr_assert_str_eq(json_string_value(json_object_get(c0, "container")), "1.7-1");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(c0, "loads"), 0)),
                     "xgboost-model");
    json_decref(r);
}

Test(cli_layout, python_tarfile_pax_and_gnu_formats)
{
    static const char *fmts[] = {"PAX_FORMAT", "GNU_FORMAT", "USTAR_FORMAT"};
    for (size_t i = 0; i < 3; i++) {
        char cmd[8192];
        snprintf(
            cmd, sizeof cmd,
            "cd '%s' && python3 -c \"import tarfile; t=tarfile.open('py.tar.gz','w:gz',"
            "format=tarfile.%s); t.add('m/xgboost-model', arcname='xgboost-model'); t.close()\"",
            dir, fmts[i]);
        cr_assert_eq(th_run(cmd, NULL), 0, "%s", cmd);
        json_t *r;
        cr_assert_eq(verify_json(th_path(dir, "py.tar.gz"), "-c 1.7-1", &r), 0, "%s", fmts[i]);
        cr_assert_eq(n_findings(r, "warning"), 0);
        json_decref(r);
    }
    /* Python writes ".." paths without complaint; we do not accept them */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && python3 -c \"import tarfile; t=tarfile.open('evil.tar.gz','w:gz');"
             "t.add('m/xgboost-model', arcname='xgboost-model');"
             "t.add('m/xgboost-model', arcname='../../etc/evil'); t.close()\"",
             dir);
    cr_assert_eq(th_run(cmd, NULL), 0);
    json_t *r;
    cr_assert_eq(verify_json(th_path(dir, "evil.tar.gz"), NULL, &r), 1);
    cr_assert(th_has_finding(r, "entry-dotdot", NULL));
    json_decref(r);
}

Test(cli_layout, model_in_a_subfolder_fails_everywhere)
{
    cr_assert_eq(sh("tar -C '@' -czf '@/sub.tar.gz' m", dir), 0);
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "verify '%s'", th_path(dir, "sub.tar.gz")), 1);
    cr_assert(strstr(out, "layout-no-model"), "%s", out);
    cr_assert(strstr(out, "sub-folder"), "the message says why: %s", out);
    cr_assert(strstr(out, "m/xgboost-model"), "and names the entry: %s", out);
    free(out);
}

Test(cli_layout, stray_file_with_ensemble_on_and_off)
{
    th_write(th_path(dir, "m/notes.txt"), "notes", 5);
    cr_assert_eq(sh("tar -C '@/m' -czf '@/s.tar.gz' xgboost-model notes.txt", dir), 0);
    const char *a = th_path(dir, "s.tar.gz");
    json_t *r;
    cr_assert_eq(verify_json(a, "-c 1.7-1", &r), 1);
    cr_assert(th_has_finding(r, "layout-multiple-models", "1.7-1"));
    json_decref(r);
    /* with ensemble off only the first file in os.listdir order loads, and that may be
     * notes.txt: an error (the verdict judges every candidate) */
    cr_assert_eq(verify_json(a, "-c 1.7-1 --env SAGEMAKER_INFERENCE_ENSEMBLE=false", &r), 1,
                 "with ensemble off the stray file may be the one loaded");
    cr_assert(th_has_finding(r, "layout-order-nondeterministic", "1.7-1"));
    json_decref(r);
    /* 1.2-1 never ensembles */
    cr_assert_eq(verify_json(a, "-c 1.2-1", &r), 1);
    cr_assert(th_has_finding(r, "layout-order-nondeterministic", "1.2-1"));
    json_decref(r);
}

Test(cli_layout, macos_dotfile_depends_on_the_container)
{
    th_write(th_path(dir, "m/._xgboost-model"), "\x00\x05\x16\x07", 4);
    cr_assert_eq(sh("tar -C '@/m' -czf '@/d.tar.gz' ._xgboost-model xgboost-model", dir), 0);
    const char *a = th_path(dir, "d.tar.gz");
    json_t *r;
    cr_assert_eq(verify_json(a, "-c 1.7-1 -c 1.3-1", &r), 0, "1.3-1+ skip dotfiles");
    cr_assert(th_has_finding(r, "layout-dotfile", "1.7-1"));
    json_decref(r);
    cr_assert_eq(verify_json(a, "-c 1.2-2", &r), 1, "1.2-2 loads the dotfile as a model");
    cr_assert(th_has_finding(r, "layout-dotfile-loaded", "1.2-2"));
    json_decref(r);
    cr_assert_eq(verify_json(a, "-c 0.90-1", &r), 1, "0.90-1 may pick it as os.listdir()[0]");
    cr_assert(th_has_finding(r, "layout-dotfile-loaded", "0.90-1"));
    json_decref(r);
    cr_assert_eq(verify_json(a, "-c 1.0-1-cpu-py3", &r), 1, "image tags are accepted");
    json_decref(r);
}

Test(cli_layout, other_name_directory_and_symlink)
{
    cr_assert_eq(
        sh("cp '@/m/xgboost-model' '@/m/model.bin' && tar -C '@/m' -czf '@/n.tar.gz' model.bin",
           dir),
        0);
    json_t *r;
    cr_assert_eq(verify_json(th_path(dir, "n.tar.gz"), "-c 1.7-1", &r), 0,
                 "the name of the model file does not matter");
    cr_assert(th_has_finding(r, "layout-model-name", "1.7-1"));
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "findings"), i, f)
    {
        if (!strcmp(json_string_value(json_object_get(f, "code")), "layout-model-name"))
            cr_assert_str_eq(json_string_value(json_object_get(f, "severity")), "info",
                             "not even a warning: the container loads any non-dot name");
    }
    json_decref(r);
    char *text = NULL;
    cr_assert_eq(th_smxgb(&text, "verify '%s' -c 1.7-1", th_path(dir, "n.tar.gz")), 0);
    cr_assert(strstr(text, "the name does not matter"), "%s", text);
    free(text);

    cr_assert_eq(
        sh("cd '@/m' && ln -s xgboost-model link && tar -czf '@/l.tar.gz' xgboost-model link", dir),
        0);
    cr_assert_eq(verify_json(th_path(dir, "l.tar.gz"), NULL, &r), 1);
    cr_assert(th_has_finding(r, "entry-symlink", NULL));
    json_decref(r);
}

/* Every code verify reports for an ensemble is documented in `smxgb help codes`. */
Test(cli_layout, ensemble_codes_are_documented)
{
    cr_assert_eq(sh("mkdir -p '@/ens' && cp '@/m/xgboost-model' '@/ens/a' && "
                    "cp '@/m/xgboost-model' '@/ens/b' && tar -C '@/ens' -czf '@/ens.tar.gz' a b",
                    dir),
                 0);
    json_t *r;
    verify_json(th_path(dir, "ens.tar.gz"), "-c 1.7-1", &r);
    cr_assert(th_has_finding(r, "layout-ensemble", "1.7-1"));
    char *codes = NULL;
    cr_assert_eq(th_smxgb(&codes, "help codes"), 0);
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "findings"), i, f)
    {
        const char *code = json_string_value(json_object_get(f, "code"));
        cr_expect(strstr(codes, code), "'%s' is not in `smxgb help codes`", code);
    }
    free(codes);
    json_decref(r);
}

Test(cli_layout, a_zip_is_not_also_called_empty)
{
    cr_assert_eq(sh("cd '@/m' && python3 -c \"import zipfile; "
                    "zipfile.ZipFile('../m.zip','w').write('xgboost-model')\"",
                    dir),
                 0);
    json_t *r;
    cr_assert_eq(verify_json(th_path(dir, "m.zip"), "-c 1.7-1", &r), 1);
    cr_assert(th_has_finding(r, "archive-not-gzip", NULL));
    cr_assert(!th_has_finding(r, "archive-empty", NULL), "a zip with a file is not empty");
    json_decref(r);
}

Test(cli_layout, broken_archives)
{
    cr_assert_eq(sh("tar -C '@/m' -cf '@/plain.tar' xgboost-model", dir), 0);
    json_t *r;
    cr_assert_eq(verify_json(th_path(dir, "plain.tar"), NULL, &r), 1);
    cr_assert(th_has_finding(r, "archive-not-gzip", NULL));
    json_decref(r);

    cr_assert_eq(sh("tar -C '@/m' -czf '@/t.tar.gz' xgboost-model && head -c 1000 '@/t.tar.gz' > "
                    "'@/trunc.tar.gz'",
                    dir),
                 0);
    cr_assert_eq(verify_json(th_path(dir, "trunc.tar.gz"), NULL, &r), 1);
    cr_assert(th_has_finding(r, "archive-truncated", NULL));
    json_decref(r);

    cr_assert_eq(verify_json(th_path(dir, "m/xgboost-model"), NULL, &r), 1, "a bare model file");
    cr_assert(th_has_finding(r, "archive-unrecognised", NULL));
    json_decref(r);

    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "verify '%s' 2>&1", th_path(dir, "missing.tar.gz")), 2);
    cr_assert(strstr(out, "missing.tar.gz"), "names the file: %s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "verify -c 9.9 '%s' 2>&1", th_path(dir, "t.tar.gz")), 2);
    cr_assert(strstr(out, "unknown container '9.9'"), "%s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out, "verify --env NOEQUALS '%s' 2>&1", th_path(dir, "t.tar.gz")), 2);
    free(out);
}

Test(cli_layout, package_is_deterministic_end_to_end)
{
    char *o1 = NULL, *o2 = NULL, *o3 = NULL;
    cr_assert_eq(th_smxgb(&o1, "package '%s' -o '%s' --json", th_path(dir, "m/xgboost-model"),
                          th_path(dir, "p1.tar.gz")),
                 0);
    sleep(1);
    cr_assert_eq(th_smxgb(&o2, "package '%s' -o '%s' --json", th_path(dir, "m/xgboost-model"),
                          th_path(dir, "p2.tar.gz")),
                 0);
    json_t *j1 = th_json(o1), *j2 = th_json(o2);
    cr_assert_str_eq(json_string_value(json_object_get(j1, "sha256")),
                     json_string_value(json_object_get(j2, "sha256")));
    json_decref(j1);
    json_decref(j2);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "tar --utc -tvzf '%s'", th_path(dir, "p1.tar.gz"));
    cr_assert_eq(th_run(cmd, &o3), 0);
    cr_assert(strstr(o3, "-rw-r--r-- 0/0"), "mode 0644, uid/gid 0 and no names: %s", o3);
    cr_assert(strstr(o3, "1970-01-01 00:00 xgboost-model"), "mtime 0: %s", o3);
    free(o1);
    free(o2);
    free(o3);

    snprintf(
        cmd, sizeof cmd,
        "SOURCE_DATE_EPOCH=1700000000 %s package '%s' -o '%s' >/dev/null && tar --utc -tvzf '%s'",
        SMXGB_BIN, th_path(dir, "m/xgboost-model"), th_path(dir, "p3.tar.gz"),
        th_path(dir, "p3.tar.gz"));
    cr_assert_eq(th_run(cmd, &o3), 0);
    cr_assert(strstr(o3, "2023-11-14 22:13 xgboost-model"), "SOURCE_DATE_EPOCH sets mtime: %s", o3);
    free(o3);

    /* the result verifies clean */
    json_t *r;
    cr_assert_eq(verify_json(th_path(dir, "p1.tar.gz"), "-c 1.7-1", &r), 0);
    json_decref(r);

    /* refusals are usage errors with the file named, and write nothing */
    th_write(th_path(dir, "empty"), "", 0);
    cr_assert_eq(
        th_smxgb(&o1, "package '%s' -o '%s' 2>&1", th_path(dir, "empty"), th_path(dir, "e.tar.gz")),
        2);
    cr_assert(strstr(o1, "empty"), "%s", o1);
    free(o1);
    cr_assert_neq(access(th_path(dir, "e.tar.gz"), F_OK), 0);
}
