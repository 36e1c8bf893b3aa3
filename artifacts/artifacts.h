/*
 * artifacts: the bottom layer of smxgb. Everything that touches a model.tar.gz lives here:
 * one streaming pass over an archive (libarchive, gzip through zlib) that records every entry
 * and the archive's sha256 under caller-supplied limits; a layout check that applies one
 * container version's loading rules to those entries; safe extraction into a fresh private
 * directory; and deterministic packaging.
 */
#ifndef SMXGB_ARTIFACTS_H
#define SMXGB_ARTIFACTS_H

#include "../base/base.h"

#include <stddef.h>
#include <stdint.h>

/* ---- streaming archive scan -------------------------------------------------------------- */

typedef enum artifact_type {
    ARTIFACT_FILE,
    ARTIFACT_DIR,
    ARTIFACT_SYMLINK,
    ARTIFACT_HARDLINK,
    ARTIFACT_CHARDEV,
    ARTIFACT_BLOCKDEV,
    ARTIFACT_FIFO,
    ARTIFACT_SOCKET,
    ARTIFACT_OTHER
} artifact_type;

const char *artifact_type_name(artifact_type t);

/* Entry flags: properties that make an entry unsafe or suspicious. */
enum {
    ARTIFACT_F_ABSOLUTE = 1u << 0,    /* path starts with '/' */
    ARTIFACT_F_DOTDOT = 1u << 1,      /* a ".." component */
    ARTIFACT_F_SETID = 1u << 2,       /* setuid, setgid or sticky bit */
    ARTIFACT_F_LONGNAME = 1u << 3,    /* a component > 255 bytes or path > 4095 bytes */
    ARTIFACT_F_DUPLICATE = 1u << 4,   /* same normalised path as an earlier entry */
    ARTIFACT_F_DUP_DIFFERS = 1u << 5, /* ...and different content or type */
    ARTIFACT_F_SPARSE = 1u << 6,      /* a sparse entry (holes) */
    ARTIFACT_F_BADNAME = 1u << 7,     /* empty name, control characters or invalid encoding */
    ARTIFACT_F_TRUNCATED = 1u << 8,   /* the archive ended inside this entry's data */
    ARTIFACT_F_SUPERSEDED = 1u << 9   /* a later entry has the same path (extraction replaces it) */
};

typedef struct artifact_entry {
    char *raw_path;    /* as stored in the archive */
    char *path;        /* normalised: no leading "./", no "//", no trailing "/" ("" = the root) */
    char *link_target; /* symlink or hardlink target, else NULL */
    artifact_type type;
    int64_t size;        /* size declared in the header */
    uint64_t data_bytes; /* bytes of data actually read */
    unsigned mode;       /* permission bits, incl. setuid/setgid/sticky */
    unsigned flags;      /* ARTIFACT_F_* */
    int depth;           /* path components; 1 = top level, 0 = the root itself */
    int has_sha256;
    unsigned char sha256[32]; /* of the data, for regular files */
    uint64_t header_offset;   /* compressed bytes consumed when the header was read */
} artifact_entry;

/* Limits: every one is enforced while streaming, before the offending data is held. */
typedef struct artifact_limits {
    uint64_t max_entries;     /* number of entries */
    uint64_t max_total_bytes; /* uncompressed bytes, summed over entries (declared or read) */
    uint64_t max_entry_bytes; /* declared size of one entry */
    double max_ratio;         /* uncompressed / compressed, checked past ratio_floor */
    uint64_t ratio_floor;     /* uncompressed bytes below which the ratio is not checked */
} artifact_limits;

void artifact_limits_default(artifact_limits *l);

/* What stopped the scan early, if anything. The entries read so far are kept. */
typedef enum artifact_problem {
    ARTIFACT_P_NONE = 0,
    ARTIFACT_P_EMPTY_FILE,   /* zero bytes */
    ARTIFACT_P_NOT_GZIP,     /* readable, but not gzip-compressed (see scan->filter) */
    ARTIFACT_P_NOT_TAR,      /* gzip, but the content is not a tar archive */
    ARTIFACT_P_UNRECOGNISED, /* neither a known compression nor an archive */
    ARTIFACT_P_TRUNCATED,    /* the data stops early */
    ARTIFACT_P_CORRUPT,      /* bad checksum, bad gzip data, garbage header */
    ARTIFACT_P_LIMIT_ENTRIES,
    ARTIFACT_P_LIMIT_BYTES,
    ARTIFACT_P_LIMIT_ENTRY_BYTES,
    ARTIFACT_P_LIMIT_RATIO
} artifact_problem;

const char *artifact_problem_name(artifact_problem p);

/* Optional hooks: receive the data of chosen entries while streaming. */
typedef struct artifact_hooks {
    void *ctx;
    /* Return 1 to receive this entry's data through on_data, 0 to skip it. */
    int (*want)(void *ctx, const artifact_entry *e);
    /* Return SMX_OK to continue; anything else aborts the scan with that status. */
    int (*on_data)(void *ctx, const artifact_entry *e, const void *buf, size_t len, int64_t offset);
    void (*on_end)(void *ctx, const artifact_entry *e);
} artifact_hooks;

typedef struct artifact_scan {
    char *path;
    char sha256_hex[65]; /* of the whole file, including trailing bytes */
    uint64_t file_bytes;
    uint64_t uncompressed_bytes; /* data bytes of all entries */
    char filter[32];             /* "gzip", "none", "bzip2", "xz", "zstd", ... */
    char format[64];             /* libarchive's format name, e.g. "GNU tar format" */
    artifact_entry *entries;
    size_t n_entries;
    artifact_problem problem;
    /* When problem is not NONE, the bad input as every module carries it: status SMX_EFORMAT
     * (SMX_ELIMIT for a limit), msg what was found, where the file and compressed byte, fix what
     * to do about it. */
    smx_err problem_err;
    uint64_t problem_offset; /* compressed byte offset where the problem showed */
} artifact_scan;

/*
 * Read the archive at path in one streaming pass. Returns SMX_OK when the file could be read
 * at all (then *out is set, and out->problem says whether the archive itself is sound);
 * SMX_EIO when the file cannot be opened or read; SMX_ENOMEM; or a status from a hook.
 */
int artifact_scan_file(const char *path, const artifact_limits *limits, const artifact_hooks *hooks,
                       artifact_scan **out, smx_err *err);
/* What a scan reads: a model.tar.gz (artifact_scan_file), or a zip such as a pip wheel. */
typedef enum artifact_kind { ARTIFACT_KIND_TAR = 0, ARTIFACT_KIND_ZIP } artifact_kind;
/* artifact_scan_file for an archive of that kind (a file of another kind: problem
 * ARTIFACT_P_UNRECOGNISED). */
int artifact_scan_kind(const char *path, artifact_kind kind, const artifact_limits *limits,
                       const artifact_hooks *hooks, artifact_scan **out, smx_err *err);
void artifact_scan_free(artifact_scan *s);

/* ---- layout: one container version's loading rules applied to the entries ---------------- */

/* How a container version lists /opt/ml/model (see compat's container table). */
typedef struct artifact_layout_rules {
    int regular_files_only; /* os.path.isfile filter (0: 0.90-1 takes os.listdir()[0]) */
    int skips_dotfiles;     /* names starting with '.' ignored (1.2-1, 1.3-1+) */
    int ensemble;           /* every remaining file is loaded (1.2-2+ with ensemble on) */
} artifact_layout_rules;

typedef enum artifact_severity {
    ARTIFACT_INFO,
    ARTIFACT_WARNING,
    ARTIFACT_ERROR
} artifact_severity;
const char *artifact_severity_name(artifact_severity s);

typedef struct artifact_finding {
    const char *code; /* stable identifier, see artifact_finding_codes */
    artifact_severity severity;
    char *message;
    char *hint;
    char *entry; /* the entry's normalised path, or NULL */
} artifact_finding;

typedef struct artifact_findings {
    artifact_finding *v;
    size_t n, cap;
} artifact_findings;

int artifact_findings_add(artifact_findings *f, const char *code, artifact_severity sev,
                          const char *entry, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void artifact_findings_free(artifact_findings *f);

/* Findings about the archive itself and its entries, independent of the container version. */
int artifact_check_archive(const artifact_scan *s, artifact_findings *out);

/*
 * Findings from one container's model-directory listing. candidates (room for s->n_entries)
 * receives the indexes of the entries that container would try to load, in archive order;
 * n_candidates their count.
 */
int artifact_check_layout(const artifact_scan *s, const artifact_layout_rules *rules,
                          artifact_findings *out, size_t *candidates, size_t *n_candidates);

/* A documented catalogue of finding codes: code, severity, one-line meaning. */
typedef struct artifact_code_doc {
    const char *code;
    const char *severity;
    const char *meaning;
} artifact_code_doc;
extern const artifact_code_doc artifact_finding_codes[];

/* ---- safe extraction --------------------------------------------------------------------- */

/*
 * Extract the regular files and directories of the archive into a new private directory
 * (mode 0700) created under parent (NULL: $TMPDIR or /tmp). Refuses the whole archive, and
 * removes what it wrote, if any entry is a link, device, FIFO or socket, has an absolute or
 * ".." path, or exceeds the limits. Files are written 0644 (setuid/setgid bits dropped),
 * directories 0755, with O_NOFOLLOW|O_EXCL under directory file descriptors, so nothing can
 * land outside the new directory. *out_dir receives the malloc'd path.
 */
int artifact_extract(const char *archive, const char *parent, const artifact_limits *limits,
                     char **out_dir, smx_err *err);
/* Extraction of some entries, or of another kind of archive. */
typedef struct artifact_extract_opts {
    artifact_kind kind;
    /* NULL: every entry. Else only the entries select returns 1 for: they are checked and
     * written as above; the others are skipped (never written, so they cannot be a risk). A
     * problem with the archive itself still refuses it. */
    int (*select)(void *ctx, const artifact_entry *e);
    void *ctx;
} artifact_extract_opts;
int artifact_extract_some(const char *archive, const char *parent, const artifact_limits *limits,
                          const artifact_extract_opts *o, char **out_dir, smx_err *err);
/* Remove a directory tree created by artifact_extract (does not follow symlinks). */
int artifact_remove_tree(const char *dir, smx_err *err);

/* ---- deterministic packaging ------------------------------------------------------------- */

/* What was written, computed while writing (the output may be a FIFO or stdout, which cannot be
 * read back). Free with artifact_package_result_free. */
typedef struct artifact_package_entry {
    char *path;
    int64_t size;
    char sha256[65];
} artifact_package_entry;

typedef struct artifact_package_result {
    char sha256[65]; /* of the archive bytes */
    uint64_t bytes;
    artifact_package_entry *entries;
    size_t n_entries;
    int written_through; /* the output was a device, FIFO, terminal or stdout */
    int to_stdout;       /* the output is this process's stdout: print reports elsewhere */
} artifact_package_result;

void artifact_package_result_free(artifact_package_result *r);

typedef struct artifact_package_opts {
    int allow_multiple;             /* more than one top-level file in a DIR input */
    int64_t mtime;                  /* entry mtime: SOURCE_DATE_EPOCH or 0 */
    const char *const *also_inputs; /* further inputs the output must not overwrite (NULL) */
    size_t n_also_inputs;
    artifact_package_result *result; /* filled when not NULL */
    /* Optional: called for every file before anything is written (src: the file to read, name:
     * its name in the archive); a status other than SMX_OK refuses the input with err. The
     * caller decides what a model is (artifacts knows nothing of model formats). */
    int (*check)(void *ctx, const char *src, const char *name, smx_err *err);
    void *check_ctx;
} artifact_package_opts;

/*
 * Write a gzip-compressed tar to out_path: a single input file becomes "xgboost-model"; a
 * directory contributes its top-level regular files under their own names, sorted bytewise.
 * Refuses empty files, dotfiles, sub-directories and other entry types, (unless
 * allow_multiple) more than one file, and any file opts->check refuses. Same input, same bytes:
 * mtime from opts, uid/gid 0, empty owner names, mode 0644, no gzip name or timestamp. out_path is
 * opened with smx_out_open before any work: "-" is stdout, a device/FIFO/terminal is written
 * through, a regular file is replaced by rename only when complete, and an input (or also_inputs)
 * is never overwritten.
 */
int artifact_package(const char *input, const char *out_path, const artifact_package_opts *opts,
                     smx_err *err);

#endif
