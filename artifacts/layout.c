/*
 * Findings about an archive's layout.
 *
 * Two checks. artifact_check_archive looks at the archive and its entries as such: is it a
 * gzip-compressed tar, is it whole, is every entry safe to extract (no absolute or ".." paths,
 * no links, devices, FIFOs or set-id bits, names the file system accepts, no path stored twice
 * with different content). artifact_check_layout then plays one container version's model
 * loading against the entries: SageMaker unpacks the tar into /opt/ml/model and the container
 * lists that directory without recursing (os.listdir, in raw directory order), optionally skips
 * dotfiles and non-files, and loads either every remaining file (ensemble) or the first one.
 * The differences between versions come in as artifact_layout_rules from compat's container
 * table; nothing here knows a version number.
 *
 * Finding codes are stable identifiers, documented in artifact_finding_codes below and by
 * `smxgb help codes`.
 */
#include "artifacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_NAME "xgboost-model"

const artifact_code_doc artifact_finding_codes[] = {
    {"archive-empty-file", "error", "the artifact is a 0-byte file"},
    {"archive-not-gzip", "error",
     "not gzip-compressed (plain tar, bzip2, xz, zstd, zip...): SageMaker needs a .tar.gz"},
    {"archive-not-tar", "error",
     "gzip-compressed, but not a tar archive (e.g. a gzipped model file)"},
    {"archive-unrecognised", "error",
     "neither a compressed file nor an archive (e.g. a bare model file)"},
    {"archive-truncated", "error", "the archive ends early (incomplete upload or download)"},
    {"archive-corrupt", "error", "bad gzip data, bad tar header checksum or garbage"},
    {"archive-empty", "error", "a valid archive without a single entry"},
    {"limit-entries", "error", "more entries than the limit (--max-entries)"},
    {"limit-bytes", "error", "more uncompressed bytes than the limit (--max-bytes)"},
    {"limit-entry-bytes", "error", "an entry declares more bytes than the limit (--max-bytes)"},
    {"limit-ratio", "error",
     "inflates more than the ratio limit (--max-ratio): a decompression bomb"},
    {"entry-absolute-path", "error", "an entry with an absolute path"},
    {"entry-dotdot", "error", "an entry with a '..' component that escapes the model directory"},
    {"entry-symlink", "error", "a symbolic link"},
    {"entry-hardlink", "error", "a hard link"},
    {"entry-device", "error", "a character or block device node"},
    {"entry-special", "error", "a FIFO, socket or other special file"},
    {"entry-setid", "error", "setuid, setgid or sticky permission bits"},
    {"entry-name-too-long", "error", "a name component over 255 bytes or a path over 4095 bytes"},
    {"entry-bad-name", "error", "an empty name or one with control characters"},
    {"entry-duplicate", "error",
     "the same path stored twice with different content (the last one wins)"},
    {"entry-duplicate-same", "warning", "the same path stored twice with identical content"},
    {"entry-sparse", "warning", "a sparse file"},
    {"layout-no-model", "error",
     "no file at the top level that the container would load: /ping never passes"},
    {"layout-multiple-models", "error",
     "several top-level files while ensemble is on: every one is loaded as a model"},
    {"layout-dotfile-loaded", "error",
     "a dotfile (e.g. macOS ._xgboost-model) that this container loads or may load"},
    {"layout-first-entry", "error",
     "this container loads the first entry in directory order, which may not be the model"},
    {"layout-dotfile", "warning", "a dotfile at the top level; this container skips it"},
    {"layout-order-nondeterministic", "warning",
     "several candidates with ensemble off: which one loads depends on directory order"},
    {"layout-model-name", "info",
     "the model file is not named xgboost-model; the container loads any name, so this is not "
     "a problem"},
    {"layout-empty-model", "error", "a model file of 0 bytes"},
    {"layout-ensemble", "warning",
     "several top-level files, every one an XGBoost model, with SAGEMAKER_INFERENCE_ENSEMBLE on: "
     "the container serves their mean prediction (a vote for multi:softmax and binary:hinge)"},
    {"layout-directory", "warning",
     "directories in the archive; the container never looks inside them"},
    {NULL, NULL, NULL}};

const char *artifact_severity_name(artifact_severity s)
{
    return s == ARTIFACT_ERROR ? "error" : s == ARTIFACT_WARNING ? "warning" : "info";
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int artifact_findings_add(artifact_findings *f, const char *code, artifact_severity sev,
                          const char *entry, const char *hint, const char *fmt, ...)
{
    if (smx_grow((void **)&f->v, &f->cap, f->n + 1, sizeof *f->v))
        return SMX_ENOMEM;
    smx_buf m = SMX_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int rc = smx_buf_vprintf(&m, fmt, ap);
    va_end(ap);
    if (rc)
        return SMX_ENOMEM;
    artifact_finding *x = &f->v[f->n];
    x->code = code;
    x->severity = sev;
    x->message = m.data;
    x->hint = dup_or_null(hint);
    x->entry = dup_or_null(entry);
    if ((hint && !x->hint) || (entry && !x->entry)) {
        free(x->message);
        free(x->hint);
        free(x->entry);
        return SMX_ENOMEM;
    }
    f->n++;
    return SMX_OK;
}

void artifact_findings_free(artifact_findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].message);
        free(f->v[i].hint);
        free(f->v[i].entry);
    }
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}

static const char *HINT_REPACK =
    "re-create the archive with `smxgb package MODEL_FILE -o model.tar.gz`";

/* Add a finding to out (a variable of the calling function); return its status if that fails. */
#define ADD(...)                                                                                   \
    do {                                                                                           \
        int add_rc_ = artifact_findings_add(out, __VA_ARGS__);                                     \
        if (add_rc_)                                                                               \
            return add_rc_;                                                                        \
    } while (0)

/* The finding code for each problem a scan can stop on. */
static const char *const problem_code[] = {
    [ARTIFACT_P_EMPTY_FILE] = "archive-empty-file",
    [ARTIFACT_P_NOT_GZIP] = "archive-not-gzip",
    [ARTIFACT_P_NOT_TAR] = "archive-not-tar",
    [ARTIFACT_P_UNRECOGNISED] = "archive-unrecognised",
    [ARTIFACT_P_TRUNCATED] = "archive-truncated",
    [ARTIFACT_P_CORRUPT] = "archive-corrupt",
    [ARTIFACT_P_LIMIT_ENTRIES] = "limit-entries",
    [ARTIFACT_P_LIMIT_BYTES] = "limit-bytes",
    [ARTIFACT_P_LIMIT_ENTRY_BYTES] = "limit-entry-bytes",
    [ARTIFACT_P_LIMIT_RATIO] = "limit-ratio",
};

/* The finding for what stopped the scan, if anything did: the scan's problem_err, its fix the
 * hint. */
static int add_problem(const artifact_scan *s, artifact_findings *out)
{
    if (s->problem == ARTIFACT_P_NONE)
        return SMX_OK;
    const char *code = problem_code[s->problem];
    const char *msg = s->problem_err.msg, *fix = s->problem_err.fix;
    if (s->problem == ARTIFACT_P_NOT_GZIP)
        ADD(code, ARTIFACT_ERROR, NULL, fix, "%s (SageMaker requires a .tar.gz)", msg);
    else if (s->problem == ARTIFACT_P_TRUNCATED || s->problem == ARTIFACT_P_CORRUPT)
        ADD(code, ARTIFACT_ERROR, NULL, fix, "%s at compressed byte %llu: %s",
            s->problem == ARTIFACT_P_TRUNCATED ? "truncated" : "corrupt",
            (unsigned long long)s->problem_offset, msg);
    else
        ADD(code, ARTIFACT_ERROR, NULL, fix, "%s", msg);
    return SMX_OK;
}

/* The finding for an entry that is not a regular file or a directory. */
static int add_entry_type(const artifact_entry *e, artifact_findings *out)
{
    const char *p = e->raw_path;
    switch (e->type) {
    case ARTIFACT_SYMLINK:
        ADD("entry-symlink", ARTIFACT_ERROR, p, "archive the file itself, not a link to it",
            "'%s' is a symbolic link to '%s'", p, e->link_target ? e->link_target : "");
        break;
    case ARTIFACT_HARDLINK:
        ADD("entry-hardlink", ARTIFACT_ERROR, p, "archive the file itself, not a link to it",
            "'%s' is a hard link to '%s'", p, e->link_target ? e->link_target : "");
        break;
    case ARTIFACT_CHARDEV:
    case ARTIFACT_BLOCKDEV:
        ADD("entry-device", ARTIFACT_ERROR, p, HINT_REPACK, "'%s' is a %s node", p,
            artifact_type_name(e->type));
        break;
    case ARTIFACT_FIFO:
    case ARTIFACT_SOCKET:
    case ARTIFACT_OTHER:
        ADD("entry-special", ARTIFACT_ERROR, p, HINT_REPACK, "'%s' is a %s, not a file", p,
            artifact_type_name(e->type));
        break;
    default:
        break;
    }
    return SMX_OK;
}

/* The findings for entry i: its path, its type, its mode, a second copy, holes. */
static int add_entry(const artifact_entry *e, size_t i, artifact_findings *out)
{
    const char *p = e->raw_path;
    if (e->flags & ARTIFACT_F_ABSOLUTE)
        ADD("entry-absolute-path", ARTIFACT_ERROR, p, HINT_REPACK,
            "'%s' has an absolute path: extraction would write outside the model directory", p);
    if (e->flags & ARTIFACT_F_DOTDOT)
        ADD("entry-dotdot", ARTIFACT_ERROR, p, HINT_REPACK,
            "'%s' has a '..' component: extraction would write outside the model directory", p);
    if (e->flags & ARTIFACT_F_LONGNAME)
        ADD("entry-name-too-long", ARTIFACT_ERROR, p, HINT_REPACK,
            "'%.80s...' (%zu bytes) has a name the file system cannot create", p, strlen(p));
    if (e->flags & ARTIFACT_F_BADNAME)
        ADD("entry-bad-name", ARTIFACT_ERROR, p, HINT_REPACK,
            "entry %zu has an empty name or a name with control characters", i);
    int rc = add_entry_type(e, out);
    if (rc)
        return rc;
    if (e->flags & ARTIFACT_F_SETID)
        ADD("entry-setid", ARTIFACT_ERROR, p, HINT_REPACK,
            "'%s' has mode %04o (setuid/setgid/sticky bits)", p, e->mode);
    if (e->flags & ARTIFACT_F_DUP_DIFFERS)
        ADD("entry-duplicate", ARTIFACT_ERROR, p, HINT_REPACK,
            "'%s' is stored more than once with different content; extraction keeps the "
            "last copy, other tools may keep the first",
            e->path);
    else if (e->flags & ARTIFACT_F_DUPLICATE)
        ADD("entry-duplicate-same", ARTIFACT_WARNING, p, HINT_REPACK,
            "'%s' is stored more than once (same content)", e->path);
    if (e->flags & ARTIFACT_F_SPARSE)
        ADD("entry-sparse", ARTIFACT_WARNING, p, NULL,
            "'%s' is a sparse file (%lld bytes declared, %llu stored)", p, (long long)e->size,
            (unsigned long long)e->data_bytes);
    return SMX_OK;
}

int artifact_check_archive(const artifact_scan *s, artifact_findings *out)
{
    int rc = add_problem(s, out);
    if (rc)
        return rc;
    /* a zip or 7z is not read as a tar at all: "no entries" would be a second, wrong finding */
    int tar_read = s->problem == ARTIFACT_P_NONE ||
                   (s->problem == ARTIFACT_P_NOT_GZIP && strcmp(s->filter, "zip") != 0 &&
                    strcmp(s->filter, "7z") != 0);
    if (s->n_entries == 0 && tar_read)
        ADD("archive-empty", ARTIFACT_ERROR, NULL, HINT_REPACK,
            "the archive has no entries at all");
    for (size_t i = 0; i < s->n_entries && rc == SMX_OK; i++)
        rc = add_entry(&s->entries[i], i, out);
    return rc;
}

/* An entry the layout rules can reason about: a safe path, and the last copy of its path. */
static int usable(const artifact_entry *e)
{
    return !(e->flags & (ARTIFACT_F_ABSOLUTE | ARTIFACT_F_DOTDOT | ARTIFACT_F_BADNAME |
                         ARTIFACT_F_SUPERSEDED));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Length of the first path component. */
static size_t first_len(const char *path)
{
    const char *sl = strchr(path, '/');
    return sl ? (size_t)(sl - path) : strlen(path);
}

/*
 * Count top-level directories that exist only as the prefix of deeper paths (tar files made
 * without directory entries). Sorting keeps this O(n log n) for archives with many entries.
 */
static int count_implied_dirs(const artifact_scan *s, size_t *out)
{
    *out = 0;
    char **names = malloc((s->n_entries + 1) * sizeof *names);
    if (!names)
        return SMX_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->n_entries; i++) {
        const artifact_entry *e = &s->entries[i];
        if (usable(e) && e->depth == 1)
            names[n++] = e->path;
    }
    qsort(names, n, sizeof *names, cmp_str);
    char **prefixes = malloc((s->n_entries + 1) * sizeof *prefixes);
    if (!prefixes) {
        free(names);
        return SMX_ENOMEM;
    }
    size_t np = 0;
    int rc = SMX_OK;
    for (size_t i = 0; i < s->n_entries && rc == SMX_OK; i++) {
        const artifact_entry *e = &s->entries[i];
        if (!usable(e) || e->depth < 2)
            continue;
        size_t l = first_len(e->path);
        char *fc = strndup(e->path, l);
        if (!fc) {
            rc = SMX_ENOMEM;
            break;
        }
        if (bsearch(&fc, names, n, sizeof *names, cmp_str))
            free(fc);
        else
            prefixes[np++] = fc;
    }
    qsort(prefixes, np, sizeof *prefixes, cmp_str);
    for (size_t i = 0; i < np; i++) {
        if (i == 0 || strcmp(prefixes[i], prefixes[i - 1]) != 0)
            (*out)++;
    }
    for (size_t i = 0; i < np; i++)
        free(prefixes[i]);
    free(prefixes);
    free(names);
    return rc;
}

/* What the container's listing of the model directory holds. */
typedef struct listing {
    size_t n_candidates;   /* entries it would try to load */
    size_t n_model_files;  /* candidates that are regular files and not dotfiles */
    size_t n_top_other;    /* top-level names that are not regular files */
    size_t n_implied;      /* top-level directories that only prefix deeper paths */
    size_t n_dirs;         /* directories, implied ones included */
    size_t n_nested_files; /* regular files below the top level */
    const char *nested_example;
} listing;

/* Walk the entries as the container lists /opt/ml/model; candidates as artifact_check_layout. */
static int list_model_dir(const artifact_scan *s, const artifact_layout_rules *rules,
                          size_t *candidates, listing *l)
{
    memset(l, 0, sizeof *l);
    int rc = count_implied_dirs(s, &l->n_implied);
    if (rc)
        return rc;
    l->n_top_other = l->n_dirs = l->n_implied;
    for (size_t i = 0; i < s->n_entries; i++) {
        const artifact_entry *e = &s->entries[i];
        if (!usable(e) || e->depth == 0)
            continue;
        if (e->type == ARTIFACT_DIR)
            l->n_dirs++;
        if (e->depth >= 2) {
            if (e->type == ARTIFACT_FILE) {
                l->n_nested_files++;
                if (!l->nested_example)
                    l->nested_example = e->path;
            }
            continue;
        }
        int dot = e->path[0] == '.';
        int is_file = e->type == ARTIFACT_FILE;
        if (!is_file)
            l->n_top_other++;
        int candidate = (!rules->regular_files_only || is_file) && (!rules->skips_dotfiles || !dot);
        if (candidate) {
            candidates[l->n_candidates++] = i;
            if (is_file && !dot)
                l->n_model_files++;
        }
    }
    return SMX_OK;
}

/* No model at the top level, and directories the container does not look into. */
static int add_no_model(const listing *l, artifact_findings *out)
{
    if (l->n_model_files == 0) {
        if (l->n_nested_files)
            ADD("layout-no-model", ARTIFACT_ERROR, l->nested_example,
                "put the model at the top level of the archive: `tar -C DIR -czf model.tar.gz "
                "xgboost-model` or `smxgb package`",
                "no file at the top level of the archive; the model is in a sub-folder ('%s'). "
                "The container does not look into sub-folders, loads nothing and never answers "
                "/ping",
                l->nested_example);
        else
            ADD("layout-no-model", ARTIFACT_ERROR, NULL, HINT_REPACK,
                "no file at the top level that this container would load (dotfiles and "
                "directories do not count): it loads nothing and never answers /ping");
    }
    if (l->n_dirs)
        ADD("layout-directory", ARTIFACT_WARNING, NULL,
            "keep the archive flat: only the model file at the top level",
            "%zu director%s in the archive%s; the container never looks inside them", l->n_dirs,
            l->n_dirs == 1 ? "y" : "ies",
            l->n_nested_files ? " (files inside them are invisible to it)" : "");
    return SMX_OK;
}

/* Per-candidate and per-dotfile checks name at most PER_CODE entries each, then one summary,
 * so a hostile archive with thousands of entries gives a readable report in linear time. */
#define PER_CODE 10

/* Empty model files, and model files not named xgboost-model (*n_unnamed counts those). */
static int add_model_files(const artifact_scan *s, const size_t *candidates, size_t nc,
                           artifact_findings *out, size_t *n_unnamed)
{
    for (size_t k = 0; k < nc; k++) {
        const artifact_entry *e = &s->entries[candidates[k]];
        int dot = e->path[0] == '.';
        if (e->type != ARTIFACT_FILE || dot)
            continue;
        if (e->size == 0)
            ADD("layout-empty-model", ARTIFACT_ERROR, e->path,
                "check the step that saved the model", "'%s' is empty (0 bytes): loading it fails",
                e->path);
        if (strcmp(e->path, MODEL_NAME) != 0 && strncmp(e->path, MODEL_NAME "-", 14) != 0 &&
            ++*n_unnamed <= PER_CODE)
            ADD("layout-model-name", ARTIFACT_INFO, e->path, NULL,
                "'%s' is loaded as the model; the name does not matter (the container loads "
                "any file name that does not start with a dot; SageMaker training writes "
                "xgboost-model)",
                e->path);
    }
    return SMX_OK;
}

static const char *HINT_DOTFILES =
    "exclude dotfiles: on macOS `COPYFILE_DISABLE=1 tar ...`, or `smxgb package`";

/* Dotfiles at the top level: skipped, loaded, or perhaps loaded (*n_dotfiles counts them). */
static int add_dotfiles(const artifact_scan *s, const artifact_layout_rules *rules, size_t nc,
                        artifact_findings *out, size_t *n_dotfiles)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        const artifact_entry *e = &s->entries[i];
        if (!usable(e) || e->depth != 1 || e->path[0] != '.')
            continue;
        if (++*n_dotfiles > PER_CODE)
            continue;
        if (rules->skips_dotfiles)
            ADD("layout-dotfile", ARTIFACT_WARNING, e->path, HINT_DOTFILES,
                "'%s' is a dotfile; this container skips it", e->path);
        else if (rules->ensemble)
            ADD("layout-dotfile-loaded", ARTIFACT_ERROR, e->path, HINT_DOTFILES,
                "'%s' is a dotfile and this container does not skip dotfiles: it is loaded as "
                "a model too, and fails",
                e->path);
        else if (nc > 1)
            ADD("layout-dotfile-loaded", ARTIFACT_ERROR, e->path, HINT_DOTFILES,
                "'%s' is a dotfile and this container does not skip dotfiles: it loads the "
                "first file in directory order, which may be this one",
                e->path);
    }
    return SMX_OK;
}

/* The summaries for what add_model_files and add_dotfiles did not name one by one. */
static int add_more(const artifact_layout_rules *rules, size_t n_unnamed, size_t n_dotfiles,
                    artifact_findings *out)
{
    if (n_unnamed > PER_CODE)
        ADD("layout-model-name", ARTIFACT_INFO, NULL, NULL,
            "and %zu more files loaded as models under other names (names do not matter)",
            n_unnamed - PER_CODE);
    if (n_dotfiles > PER_CODE)
        ADD(rules->skips_dotfiles ? "layout-dotfile" : "layout-dotfile-loaded",
            rules->skips_dotfiles ? ARTIFACT_WARNING : ARTIFACT_ERROR, NULL, HINT_DOTFILES,
            "and %zu more dotfiles at the top level", n_dotfiles - PER_CODE);
    return SMX_OK;
}

/* Several candidates: every one loaded (ensemble), or the first in directory order. */
static int add_several(const artifact_scan *s, const artifact_layout_rules *rules, const listing *l,
                       const size_t *candidates, artifact_findings *out)
{
    size_t nc = l->n_candidates;
    /* os.listdir() also returns implied directories; 0.90-1 does not filter them out */
    size_t n_listed = nc + (rules->regular_files_only ? 0 : l->n_implied);
    if (rules->ensemble && nc > 1) {
        smx_buf names = SMX_BUF_INIT;
        for (size_t k = 0; k < nc && k < PER_CODE; k++)
            smx_buf_printf(&names, "%s'%s'", k ? ", " : "", s->entries[candidates[k]].path);
        if (nc > PER_CODE)
            smx_buf_printf(&names, " and %zu more", nc - PER_CODE);
        int rc = artifact_findings_add(
            out, "layout-multiple-models", ARTIFACT_ERROR, NULL,
            "keep only the model file at the top level, or set SAGEMAKER_INFERENCE_ENSEMBLE=false "
            "(then only the first file in directory order is loaded)",
            "%zu top-level files (%s) and SAGEMAKER_INFERENCE_ENSEMBLE is on: the container "
            "loads every one of them as a model and fails if any is not one",
            nc, names.data ? names.data : "");
        smx_buf_free(&names);
        return rc;
    }
    if (!rules->ensemble && n_listed > 1) {
        if (!rules->regular_files_only && l->n_top_other > 0)
            ADD("layout-first-entry", ARTIFACT_ERROR, NULL, HINT_REPACK,
                "this container loads os.listdir()[0] whatever it is, and the top level holds "
                "%zu entries, not all of them files: it may pick a directory instead of the "
                "model",
                n_listed);
        else
            ADD("layout-order-nondeterministic", ARTIFACT_WARNING, NULL,
                "keep exactly one file at the top level",
                "%zu candidate files and only the first in directory order is loaded: which "
                "one is not predictable",
                n_listed);
    }
    return SMX_OK;
}

int artifact_check_layout(const artifact_scan *s, const artifact_layout_rules *rules,
                          artifact_findings *out, size_t *candidates, size_t *n_candidates)
{
    *n_candidates = 0;
    /* Nothing to say about the layout of something that is not a readable archive. */
    if (s->problem == ARTIFACT_P_EMPTY_FILE || s->problem == ARTIFACT_P_NOT_TAR ||
        s->problem == ARTIFACT_P_UNRECOGNISED || s->n_entries == 0)
        return SMX_OK;
    listing l;
    int rc = list_model_dir(s, rules, candidates, &l);
    if (rc)
        return rc;
    *n_candidates = l.n_candidates;
    if ((rc = add_no_model(&l, out)) || l.n_model_files == 0)
        return rc;
    size_t n_unnamed = 0, n_dotfiles = 0;
    if ((rc = add_model_files(s, candidates, l.n_candidates, out, &n_unnamed)) ||
        (rc = add_dotfiles(s, rules, l.n_candidates, out, &n_dotfiles)) ||
        (rc = add_more(rules, n_unnamed, n_dotfiles, out)))
        return rc;
    return add_several(s, rules, &l, candidates, out);
}
