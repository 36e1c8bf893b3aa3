/* Unit tests of artifacts/: the streaming scan, its limits, layout rules, extraction, packaging. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static void setup(void)
{
    dir = th_tmpdir();
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}
TestSuite(artifacts, .init = setup, .fini = teardown);

static artifact_scan *scan(const char *path, const artifact_limits *lim)
{
    artifact_scan *s = NULL;
    smx_err e = {0};
    cr_assert_eq(artifact_scan_file(path, lim, NULL, &s, &e), SMX_OK, "%s", e.msg);
    return s;
}

static const artifact_layout_rules RULES_17 = {1, 1, 1}; /* 1.7-1 */
static const artifact_layout_rules RULES_0901 = {0, 0, 0};
static const artifact_layout_rules RULES_122 = {1, 0, 1};

static int has_code(const artifact_findings *f, const char *code)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->v[i].code, code))
            return 1;
    return 0;
}

static artifact_findings layout(const artifact_scan *s, const artifact_layout_rules *r, size_t *nc)
{
    artifact_findings f = {0};
    size_t *cand = malloc((s->n_entries + 1) * sizeof *cand);
    cr_assert_eq(artifact_check_archive(s, &f), SMX_OK);
    cr_assert_eq(artifact_check_layout(s, r, &f, cand, nc), SMX_OK);
    free(cand);
    return f;
}

Test(artifacts, scan_records_entries_types_and_digests)
{
    const char *p = th_path(dir, "a.tar.gz");
    th_entry e[] = {{"xgboost-model", 'f', 0, "abc", 3, NULL},
                    {"sub/", 'd', 0, NULL, 0, NULL},
                    {"sub/link", 'l', 0, NULL, 0, "../xgboost-model"}};
    th_write_archive(p, "gzip", "pax", e, 3);
    artifact_scan *s = scan(p, NULL);
    cr_assert_eq(s->problem, ARTIFACT_P_NONE, "%s", s->problem_err.msg);
    cr_assert_str_eq(s->filter, "gzip");
    cr_assert_eq(s->n_entries, 3);
    cr_assert_eq(s->entries[0].type, ARTIFACT_FILE);
    cr_assert_eq(s->entries[0].size, 3);
    cr_assert_eq(s->entries[0].depth, 1);
    char hex[65];
    smx_sha256_hex(s->entries[0].sha256, hex);
    /* sha256("abc") */
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert_eq(s->entries[1].type, ARTIFACT_DIR);
    cr_assert_str_eq(s->entries[1].path, "sub");
    cr_assert_eq(s->entries[2].type, ARTIFACT_SYMLINK);
    cr_assert_str_eq(s->entries[2].link_target, "../xgboost-model");
    /* the archive digest is the digest of the file's bytes */
    char *out = NULL;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "sha256sum '%s' | cut -c1-64 | tr -d '\\n'", p);
    cr_assert_eq(th_run(cmd, &out), 0);
    cr_assert_str_eq(s->sha256_hex, out);
    free(out);
    artifact_scan_free(s);
}

Test(artifacts, normalises_paths_and_flags_unsafe_ones)
{
    const char *p = th_path(dir, "a.tar.gz");
    th_entry e[] = {{"./xgboost-model", 'f', 0, "x", 1, NULL},
                    {"/etc/evil", 'f', 0, "x", 1, NULL},
                    {"a/../../evil", 'f', 0, "x", 1, NULL},
                    {"setuid", 'f', 04755, "x", 1, NULL}};
    th_write_archive(p, "gzip", "pax", e, 4);
    artifact_scan *s = scan(p, NULL);
    cr_assert_str_eq(s->entries[0].path, "xgboost-model");
    cr_assert_eq(s->entries[0].depth, 1);
    cr_assert(s->entries[1].flags & ARTIFACT_F_ABSOLUTE);
    cr_assert(s->entries[2].flags & ARTIFACT_F_DOTDOT);
    cr_assert(s->entries[3].flags & ARTIFACT_F_SETID);
    artifact_findings f = {0};
    cr_assert_eq(artifact_check_archive(s, &f), SMX_OK);
    cr_assert(has_code(&f, "entry-absolute-path"));
    cr_assert(has_code(&f, "entry-dotdot"));
    cr_assert(has_code(&f, "entry-setid"));
    artifact_findings_free(&f);
    artifact_scan_free(s);
}

Test(artifacts, not_gzip_not_tar_and_empty_are_told_apart)
{
    th_entry e[] = {{"xgboost-model", 'f', 0, "abc", 3, NULL}};
    const char *plain = th_path(dir, "plain.tar");
    th_write_archive(plain, "none", "ustar", e, 1);
    artifact_scan *s = scan(plain, NULL);
    cr_assert_eq(s->problem, ARTIFACT_P_NOT_GZIP);
    cr_assert_str_eq(s->filter, "none");
    cr_assert_eq(s->n_entries, 1, "entries of a plain tar are still listed");
    artifact_scan_free(s);

    const char *bz = th_path(dir, "a.tar.bz2");
    th_write_archive(bz, "bzip2", "pax", e, 1);
    s = scan(bz, NULL);
    cr_assert_eq(s->problem, ARTIFACT_P_NOT_GZIP);
    cr_assert_str_eq(s->filter, "bzip2");
    artifact_scan_free(s);

    const char *gz = th_path(dir, "model.gz");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "printf 'binf-model-bytes' | gzip -c > '%s'", gz);
    cr_assert_eq(th_run(cmd, NULL), 0);
    s = scan(gz, NULL);
    cr_assert_eq(s->problem, ARTIFACT_P_NOT_TAR, "%s", s->problem_err.msg);
    artifact_scan_free(s);

    const char *empty = th_path(dir, "empty.tar.gz");
    th_write(empty, "", 0);
    s = scan(empty, NULL);
    cr_assert_eq(s->problem, ARTIFACT_P_EMPTY_FILE);
    cr_assert_str_eq(s->problem_err.msg, "the file is empty (0 bytes)");
    cr_assert_str_eq(s->problem_err.where, empty);
    artifact_scan_free(s);

    const char *noent = th_path(dir, "noentries.tar.gz");
    th_write_archive(noent, "gzip", "pax", NULL, 0);
    s = scan(noent, NULL);
    cr_assert_eq(s->problem, ARTIFACT_P_NONE, "%s", s->problem_err.msg);
    cr_assert_eq(s->n_entries, 0);
    artifact_findings f = {0};
    artifact_check_archive(s, &f);
    cr_assert(has_code(&f, "archive-empty"));
    artifact_findings_free(&f);
    artifact_scan_free(s);
}

Test(artifacts, truncated_and_corrupt_archives_name_the_offset)
{
    size_t n;
    char *model = th_model(&n);
    th_entry e[] = {{"xgboost-model", 'f', 0, model, n, NULL}};
    const char *p = th_path(dir, "a.tar.gz");
    th_write_archive(p, "gzip", "pax", e, 1);
    size_t len;
    char *bytes = th_read(p, &len);
    const char *t = th_path(dir, "trunc.tar.gz");
    th_write(t, bytes, len / 2);
    artifact_scan *s = scan(t, NULL);
    cr_assert_eq(s->problem, ARTIFACT_P_TRUNCATED, "got %s: %s", artifact_problem_name(s->problem),
                 s->problem_err.msg);
    cr_assert(s->problem_offset > 0);
    /* the bad input as smx_err carries it: the file and the byte, and what to do */
    char where[4200];
    snprintf(where, sizeof where, "%s, compressed byte %llu", t,
             (unsigned long long)s->problem_offset);
    cr_assert_eq(s->problem_err.status, SMX_EFORMAT);
    cr_assert_str_eq(s->problem_err.where, where);
    cr_assert(strstr(s->problem_err.fix, "re-download"), "%s", s->problem_err.fix);
    artifact_scan_free(s);

    /* flip bytes in the middle of the deflate stream */
    for (size_t i = len / 3; i < len / 3 + 16; i++)
        bytes[i] ^= 0x5a;
    const char *c = th_path(dir, "corrupt.tar.gz");
    th_write(c, bytes, len);
    s = scan(c, NULL);
    cr_assert(s->problem == ARTIFACT_P_CORRUPT || s->problem == ARTIFACT_P_TRUNCATED, "got %s",
              artifact_problem_name(s->problem));
    artifact_scan_free(s);
    free(bytes);
    free(model);
}

Test(artifacts, limits_stop_the_scan)
{
    const char *p = th_path(dir, "many.tar.gz");
    th_entry e[50];
    char names[50][16];
    for (int i = 0; i < 50; i++) {
        snprintf(names[i], sizeof names[i], "f%02d", i);
        e[i] = (th_entry){names[i], 'f', 0, "x", 1, NULL};
    }
    th_write_archive(p, "gzip", "pax", e, 50);
    artifact_limits lim;
    artifact_limits_default(&lim);
    lim.max_entries = 10;
    artifact_scan *s = scan(p, &lim);
    cr_assert_eq(s->problem, ARTIFACT_P_LIMIT_ENTRIES);
    cr_assert_eq(s->n_entries, 10);
    cr_assert_eq(s->problem_err.status, SMX_ELIMIT);
    cr_assert(strstr(s->problem_err.fix, "--max-entries"), "%s", s->problem_err.fix);
    artifact_scan_free(s);

    /* 8 MiB of zeros: a ratio of about 1000:1 */
    size_t big = 8u << 20;
    char *zeros = calloc(1, big);
    th_entry z[] = {{"xgboost-model", 'f', 0, zeros, big, NULL}};
    const char *b = th_path(dir, "bomb.tar.gz");
    th_write_archive(b, "gzip", "pax", z, 1);
    artifact_limits_default(&lim);
    lim.ratio_floor = 1u << 20;
    lim.max_ratio = 100;
    s = scan(b, &lim);
    cr_assert_eq(s->problem, ARTIFACT_P_LIMIT_RATIO, "got %s", artifact_problem_name(s->problem));
    cr_assert(s->uncompressed_bytes < big, "stopped before inflating everything");
    artifact_scan_free(s);

    artifact_limits_default(&lim);
    lim.max_total_bytes = lim.max_entry_bytes = 1u << 20;
    s = scan(b, &lim);
    cr_assert_eq(s->problem, ARTIFACT_P_LIMIT_ENTRY_BYTES, "got %s",
                 artifact_problem_name(s->problem));
    artifact_scan_free(s);
    free(zeros);
}

Test(artifacts, duplicates_with_different_content_are_errors)
{
    const char *p = th_path(dir, "dup.tar.gz");
    th_entry e[] = {{"xgboost-model", 'f', 0, "one", 3, NULL},
                    {"./xgboost-model", 'f', 0, "two", 3, NULL},
                    {"same", 'f', 0, "x", 1, NULL},
                    {"same", 'f', 0, "x", 1, NULL}};
    th_write_archive(p, "gzip", "pax", e, 4);
    artifact_scan *s = scan(p, NULL);
    cr_assert(s->entries[1].flags & ARTIFACT_F_DUP_DIFFERS);
    cr_assert(s->entries[3].flags & ARTIFACT_F_DUPLICATE);
    cr_assert_not(s->entries[3].flags & ARTIFACT_F_DUP_DIFFERS);
    artifact_findings f = {0};
    artifact_check_archive(s, &f);
    cr_assert(has_code(&f, "entry-duplicate"));
    cr_assert(has_code(&f, "entry-duplicate-same"));
    artifact_findings_free(&f);
    artifact_scan_free(s);
}

Test(artifacts, layout_rules_follow_the_container)
{
    const char *p = th_path(dir, "a.tar.gz");
    th_entry e[] = {{"xgboost-model", 'f', 0, "m", 1, NULL},
                    {"._xgboost-model", 'f', 0, "x", 1, NULL}};
    th_write_archive(p, "gzip", "pax", e, 2);
    artifact_scan *s = scan(p, NULL);
    size_t nc;
    artifact_findings f = layout(s, &RULES_17, &nc);
    cr_assert_eq(nc, 1, "1.7-1 skips the dotfile");
    cr_assert(has_code(&f, "layout-dotfile"));
    cr_assert_not(has_code(&f, "layout-multiple-models"));
    artifact_findings_free(&f);
    f = layout(s, &RULES_122, &nc);
    cr_assert_eq(nc, 2, "1.2-2 loads the dotfile too");
    cr_assert(has_code(&f, "layout-dotfile-loaded"));
    cr_assert(has_code(&f, "layout-multiple-models"));
    artifact_findings_free(&f);
    f = layout(s, &RULES_0901, &nc);
    cr_assert(has_code(&f, "layout-dotfile-loaded"), "0.90-1 may pick the dotfile");
    artifact_findings_free(&f);
    artifact_scan_free(s);
}

Test(artifacts, model_in_a_subfolder_is_no_model)
{
    const char *p = th_path(dir, "a.tar.gz");
    /* no directory entry: the folder is only implied */
    th_entry e[] = {{"model/xgboost-model", 'f', 0, "m", 1, NULL}};
    th_write_archive(p, "gzip", "pax", e, 1);
    artifact_scan *s = scan(p, NULL);
    size_t nc;
    artifact_findings f = layout(s, &RULES_17, &nc);
    cr_assert_eq(nc, 0);
    cr_assert(has_code(&f, "layout-no-model"));
    cr_assert(has_code(&f, "layout-directory"));
    artifact_findings_free(&f);
    f = layout(s, &RULES_0901, &nc);
    cr_assert(has_code(&f, "layout-no-model"), "0.90-1 would pick the directory");
    artifact_findings_free(&f);
    artifact_scan_free(s);
}

Test(artifacts, extraction_writes_only_inside_and_refuses_unsafe)
{
    const char *good = th_path(dir, "good.tar.gz");
    th_entry e[] = {{"xgboost-model", 'f', 04755, "model", 5, NULL}, {"d/f", 'f', 0, "x", 1, NULL}};
    th_write_archive(good, "gzip", "pax", e, 2);
    char *out = NULL;
    smx_err err = {0};
    /* set-id bits are refused */
    cr_assert_eq(artifact_extract(good, dir, NULL, &out, &err), SMX_EUNSAFE);
    cr_assert_null(out);

    th_entry e2[] = {{"xgboost-model", 'f', 0, "model", 5, NULL}, {"d/f", 'f', 0, "x", 1, NULL}};
    th_write_archive(good, "gzip", "pax", e2, 2);
    cr_assert_eq(artifact_extract(good, dir, NULL, &out, &err), SMX_OK, "%s", err.msg);
    size_t n;
    char *m = th_read(th_path(out, "xgboost-model"), &n);
    cr_assert_eq(n, 5);
    cr_assert_eq(memcmp(m, "model", 5), 0);
    free(m);
    struct stat st;
    cr_assert_eq(stat(out, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700, "the model directory is private");
    cr_assert_eq(stat(th_path(out, "xgboost-model"), &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0644);
    cr_assert_eq(artifact_remove_tree(out, &err), SMX_OK);
    free(out);

    const char *cases[][2] = {{"../escape", "f"}, {"/abs", "f"}, {"ln", "l"},
                              {"hl", "h"},        {"dev", "c"},  {"fifo", "p"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *bad = th_path(dir, "bad.tar.gz");
        th_entry b[] = {{"xgboost-model", 'f', 0, "m", 1, NULL},
                        {cases[i][0], cases[i][1][0], 0, "x", 1, "/etc/passwd"}};
        th_write_archive(bad, "gzip", "pax", b, 2);
        out = NULL;
        int rc = artifact_extract(bad, dir, NULL, &out, &err);
        cr_assert_eq(rc, SMX_EUNSAFE, "%s: rc %d %s", cases[i][0], rc, err.msg);
        cr_assert_null(out);
        cr_assert_neq(access(th_path(dir, "escape"), F_OK), 0, "nothing written outside");
    }
    /* no directory is left behind by refused extractions */
    char *ls = NULL;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c smxgb-model || true", dir);
    th_run(cmd, &ls);
    cr_assert_eq(atoi(ls), 0, "refused extractions removed their directory");
    free(ls);
}

Test(artifacts, package_is_deterministic_and_refuses_bad_input)
{
    size_t n;
    char *model = th_model(&n);
    const char *mf = th_path(dir, "model.bin");
    th_write(mf, model, n);
    const char *a = th_path(dir, "a.tar.gz"), *b = th_path(dir, "b.tar.gz");
    smx_err err = {0};
    artifact_package_opts po = {.mtime = 0};
    cr_assert_eq(artifact_package(mf, a, &po, &err), SMX_OK, "%s", err.msg);
    sleep(1); /* a timestamp that leaked would now differ */
    cr_assert_eq(artifact_package(mf, b, &po, &err), SMX_OK, "%s", err.msg);
    size_t la, lb;
    char *ba = th_read(a, &la), *bb = th_read(b, &lb);
    cr_assert_eq(la, lb);
    cr_assert_eq(memcmp(ba, bb, la), 0, "same input, same bytes");
    cr_assert_eq((unsigned char)ba[4] | ba[5] | ba[6] | ba[7], 0, "gzip mtime is zero");
    cr_assert_eq((unsigned char)ba[3] & 0x08, 0, "no gzip file name");
    free(ba);
    free(bb);
    artifact_scan *s = scan(a, NULL);
    cr_assert_eq(s->n_entries, 1);
    cr_assert_str_eq(s->entries[0].path, "xgboost-model");
    cr_assert_eq(s->entries[0].mode, 0644);
    cr_assert_eq(s->entries[0].size, (int64_t)n);
    artifact_scan_free(s);

    const char *empty = th_path(dir, "empty");
    th_write(empty, "", 0);
    cr_assert_eq(artifact_package(empty, th_path(dir, "e.tar.gz"), &po, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "empty"), "%s", err.msg);
    cr_assert_neq(access(th_path(dir, "e.tar.gz"), F_OK), 0, "nothing written on refusal");

    char *md = NULL;
    cr_assert(asprintf(&md, "%s/mdir", dir) > 0);
    mkdir(md, 0755);
    th_write(th_path(md, "xgboost-model"), model, n);
    th_write(th_path(md, "notes.txt"), "x", 1);
    cr_assert_eq(artifact_package(md, th_path(dir, "m.tar.gz"), &po, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "2 files"), "%s", err.msg);
    po.allow_multiple = 1;
    cr_assert_eq(artifact_package(md, th_path(dir, "m.tar.gz"), &po, &err), SMX_OK, "%s", err.msg);
    s = scan(th_path(dir, "m.tar.gz"), NULL);
    cr_assert_eq(s->n_entries, 2);
    cr_assert_str_eq(s->entries[0].path, "notes.txt", "entries are sorted");
    cr_assert_str_eq(s->entries[1].path, "xgboost-model");
    artifact_scan_free(s);
    th_write(th_path(md, ".DS_Store"), "x", 1);
    cr_assert_eq(artifact_package(md, th_path(dir, "m2.tar.gz"), &po, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "dotfile"), "%s", err.msg);
    free(md);
    free(model);
}

static int lib_only(void *ctx, const artifact_entry *e)
{
    (void)ctx;
    return !strncmp(e->path, "xgboost/lib/", 12);
}

/* A pip wheel is a zip: only the members asked for are written, and they must be safe. */
Test(artifacts, zip_members_are_extracted_selectively)
{
    const char *whl = th_path(dir, "x.whl");
    th_entry e[] = {{"xgboost/lib/libxgboost.so", 'f', 0, "ELF", 3, NULL},
                    {"xgboost/core.py", 'f', 0, "py", 2, NULL},
                    {"../outside", 'f', 0, "x", 1, NULL}};
    th_write_archive(whl, "none", "zip", e, 3);
    artifact_extract_opts xo = {ARTIFACT_KIND_ZIP, lib_only, NULL};
    char *out = NULL;
    smx_err err = {0};
    cr_assert_eq(artifact_extract_some(whl, dir, NULL, &xo, &out, &err), SMX_OK, "%s", err.msg);
    size_t n;
    char *lib = th_read(th_path(out, "xgboost/lib/libxgboost.so"), &n);
    cr_assert(n == 3 && !memcmp(lib, "ELF", 3));
    free(lib);
    cr_assert_neq(access(th_path(out, "xgboost/core.py"), F_OK), 0, "not asked for");
    cr_assert_neq(access(th_path(dir, "outside"), F_OK), 0, "a '..' entry is never written");
    artifact_remove_tree(out, NULL);
    free(out);

    /* an unsafe member that was asked for refuses the wheel */
    th_entry bad[] = {{"xgboost/lib/../../../escape", 'f', 0, "x", 1, NULL}};
    th_write_archive(whl, "none", "zip", bad, 1);
    out = NULL;
    cr_assert_eq(artifact_extract_some(whl, dir, NULL, &xo, &out, &err), SMX_EUNSAFE, "%s",
                 err.msg);
    cr_assert_null(out);
    cr_assert_neq(access(th_path(dir, "../escape"), F_OK), 0);

    /* a tar is not a zip, and a zip is not a model.tar.gz */
    th_entry t[] = {{"xgboost/lib/libxgboost.so", 'f', 0, "ELF", 3, NULL}};
    th_write_archive(th_path(dir, "t.tar.gz"), "gzip", "pax", t, 1);
    cr_assert_eq(artifact_extract_some(th_path(dir, "t.tar.gz"), dir, NULL, &xo, &out, &err),
                 SMX_EFORMAT);
    cr_assert(strstr(err.msg, "not a zip archive"), "%s", err.msg);
    th_write_archive(whl, "none", "zip", t, 1);
    cr_assert_eq(artifact_extract(whl, dir, NULL, &out, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "not a gzip-compressed tar"), "%s", err.msg);
}
