/*
 * One streaming pass over an archive.
 *
 * For gzip (the only compression SageMaker accepts) we inflate with zlib ourselves and hand
 * libarchive the decompressed tar stream; every compressed byte is hashed (sha256) and
 * counted on its way into inflate. Doing the inflate here, not in libarchive's filter, buys
 * three things: the gzip trailer's CRC and length are always verified (libarchive stops
 * reading at the tar end-of-archive blocks and would never see a corrupt tail), the
 * compressed offset of any problem is exact, and the ratio check sees exact byte counts.
 * Other compressions are read through libarchive's filters only to list what is inside.
 *
 * The archive's digest, each entry's data digest and the ratio all come out of a single read
 * with memory bounded by the block size, whatever the archive's size. Limits are checked as
 * data streams: the entry count and declared sizes at each header, the uncompressed total and
 * the uncompressed/compressed ratio at every data block, so a gzip bomb is stopped after
 * ratio_floor bytes, not after it has been inflated.
 *
 * The scan does not judge the layout (layout.c does); it records what is there, and the first
 * problem with the archive itself (not gzip, not tar, truncated, corrupt, over a limit), with
 * the compressed byte offset where it showed. A zip (a pip wheel) is read the same way when
 * the caller asks for one (artifact_scan_kind), as one stream through libarchive.
 */
#include "scan_private.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void artifact_limits_default(artifact_limits *l)
{
    l->max_entries = 10000;
    l->max_total_bytes = 8ull << 30; /* 8 GiB */
    l->max_entry_bytes = 8ull << 30;
    l->max_ratio = 200.0;
    l->ratio_floor = 64ull << 20; /* 64 MiB */
}

const char *artifact_type_name(artifact_type t)
{
    switch (t) {
    case ARTIFACT_FILE:
        return "file";
    case ARTIFACT_DIR:
        return "directory";
    case ARTIFACT_SYMLINK:
        return "symlink";
    case ARTIFACT_HARDLINK:
        return "hardlink";
    case ARTIFACT_CHARDEV:
        return "character-device";
    case ARTIFACT_BLOCKDEV:
        return "block-device";
    case ARTIFACT_FIFO:
        return "fifo";
    case ARTIFACT_SOCKET:
        return "socket";
    default:
        return "other";
    }
}

const char *artifact_problem_name(artifact_problem p)
{
    switch (p) {
    case ARTIFACT_P_NONE:
        return "none";
    case ARTIFACT_P_EMPTY_FILE:
        return "empty-file";
    case ARTIFACT_P_NOT_GZIP:
        return "not-gzip";
    case ARTIFACT_P_NOT_TAR:
        return "not-tar";
    case ARTIFACT_P_UNRECOGNISED:
        return "unrecognised";
    case ARTIFACT_P_TRUNCATED:
        return "truncated";
    case ARTIFACT_P_CORRUPT:
        return "corrupt";
    case ARTIFACT_P_LIMIT_ENTRIES:
        return "limit-entries";
    case ARTIFACT_P_LIMIT_BYTES:
        return "limit-bytes";
    case ARTIFACT_P_LIMIT_ENTRY_BYTES:
        return "limit-entry-bytes";
    case ARTIFACT_P_LIMIT_RATIO:
        return "limit-ratio";
    }
    return "unknown";
}

/* Normalise a stored path and flag what is unsafe about it. */
static char *normalise(const char *raw, unsigned *flags, int *depth)
{
    size_t n = strlen(raw);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    int d = 0;
    if (n == 0)
        *flags |= ARTIFACT_F_BADNAME;
    if (n > 4095)
        *flags |= ARTIFACT_F_LONGNAME;
    if (raw[0] == '/')
        *flags |= ARTIFACT_F_ABSOLUTE;
    const char *p = raw;
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - s);
        if (len == 0 || (len == 1 && s[0] == '.'))
            continue;
        if (len == 2 && s[0] == '.' && s[1] == '.')
            *flags |= ARTIFACT_F_DOTDOT;
        if (len > 255)
            *flags |= ARTIFACT_F_LONGNAME;
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                *flags |= ARTIFACT_F_BADNAME;
        if (o)
            out[o++] = '/';
        memcpy(out + o, s, len);
        o += len;
        d++;
    }
    out[o] = '\0';
    *depth = d;
    return out;
}

static artifact_type entry_type(struct archive_entry *ae)
{
    if (archive_entry_hardlink(ae))
        return ARTIFACT_HARDLINK;
    switch (archive_entry_filetype(ae)) {
    case AE_IFREG:
        return ARTIFACT_FILE;
    case AE_IFDIR:
        return ARTIFACT_DIR;
    case AE_IFLNK:
        return ARTIFACT_SYMLINK;
    case AE_IFCHR:
        return ARTIFACT_CHARDEV;
    case AE_IFBLK:
        return ARTIFACT_BLOCKDEV;
    case AE_IFIFO:
        return ARTIFACT_FIFO;
    case AE_IFSOCK:
        return ARTIFACT_SOCKET;
    default:
        return ARTIFACT_OTHER;
    }
}

/* What the user can do about each problem: the fix a scan's problem_err carries. */
static const char *problem_fix(artifact_problem p)
{
    switch (p) {
    case ARTIFACT_P_EMPTY_FILE:
        return "check the upload or build step that wrote it";
    case ARTIFACT_P_NOT_GZIP:
        return "SageMaker only unpacks gzip-compressed tar files: use `tar -czf` or `smxgb "
               "package`";
    case ARTIFACT_P_NOT_TAR:
        return "put the model in a tar first: `smxgb package MODEL_FILE -o model.tar.gz`";
    case ARTIFACT_P_UNRECOGNISED:
        return "if this is the model file itself, package it: `smxgb package MODEL_FILE -o "
               "model.tar.gz`";
    case ARTIFACT_P_TRUNCATED:
        return "the file is incomplete: re-upload or re-download it and compare sizes";
    case ARTIFACT_P_CORRUPT:
        return "re-create the archive with `smxgb package MODEL_FILE -o model.tar.gz`";
    case ARTIFACT_P_LIMIT_ENTRIES:
        return "a model artifact needs one file; raise --max-entries only if this is intended";
    case ARTIFACT_P_LIMIT_BYTES:
    case ARTIFACT_P_LIMIT_ENTRY_BYTES:
        return "raise --max-bytes if the model really is this large";
    case ARTIFACT_P_LIMIT_RATIO:
        return "raise --max-ratio if the data really is this compressible";
    case ARTIFACT_P_NONE:
        break;
    }
    return NULL;
}

static void set_problem(artifact_scan *s, artifact_problem p, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_problem(artifact_scan *s, artifact_problem p, uint64_t off, const char *fmt, ...)
{
    /* not-gzip is recorded up front and only replaced by a problem that stopped the walk */
    if (s->problem != ARTIFACT_P_NONE && s->problem != ARTIFACT_P_NOT_GZIP)
        return;
    s->problem = p;
    s->problem_offset = off;
    char msg[SMX_ERRMAX], where[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (off)
        snprintf(where, sizeof where, "%s, compressed byte %llu", s->path, (unsigned long long)off);
    else
        snprintf(where, sizeof where, "%s", s->path);
    smx_fail_at(&s->problem_err, p >= ARTIFACT_P_LIMIT_ENTRIES ? SMX_ELIMIT : SMX_EFORMAT, where,
                problem_fix(p), "%s", msg);
}

/* Classify a libarchive failure message. */
static artifact_problem classify(const char *msg)
{
    if (!msg)
        return ARTIFACT_P_CORRUPT;
    if (strstr(msg, "runcat") || strstr(msg, "premature end") || strstr(msg, "Premature end"))
        return ARTIFACT_P_TRUNCATED;
    return ARTIFACT_P_CORRUPT;
}

static const char *sniff_filter(const unsigned char *h, size_t n)
{
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        return "gzip";
    if (n >= 3 && memcmp(h, "BZh", 3) == 0)
        return "bzip2";
    if (n >= 6 && memcmp(h,
                         "\xfd"
                         "7zXZ\0",
                         6) == 0)
        return "xz";
    if (n >= 4 && memcmp(h, "\x28\xb5\x2f\xfd", 4) == 0)
        return "zstd";
    if (n >= 4 && memcmp(h, "\x04\x22\x4d\x18", 4) == 0)
        return "lz4";
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x9d)
        return "compress";
    if (n >= 4 && memcmp(h, "PK\x03\x04", 4) == 0)
        return "zip";
    if (n >= 4 && memcmp(h, "PK\x05\x06", 4) == 0)
        return "zip";
    if (n >= 6 && memcmp(h, "7z\xbc\xaf\x27\x1c", 6) == 0)
        return "7z";
    if (n >= 262 && memcmp(h + 257, "ustar", 5) == 0)
        return "none";
    return NULL;
}

static int add_entry(artifact_scan *s, size_t *cap, artifact_entry **slot)
{
    if (smx_grow((void **)&s->entries, cap, s->n_entries + 1, sizeof *s->entries))
        return SMX_ENOMEM;
    *slot = &s->entries[s->n_entries++];
    memset(*slot, 0, sizeof **slot);
    return SMX_OK;
}

static int cmp_idx_path(const void *a, const void *b, void *ctx)
{
    const artifact_scan *s = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    int c = strcmp(s->entries[ia].path, s->entries[ib].path);
    if (c)
        return c;
    return ia < ib ? -1 : ia > ib;
}

/* Flag entries whose normalised path repeats an earlier one (the later one wins on extraction). */
static int mark_duplicates(artifact_scan *s)
{
    if (s->n_entries < 2)
        return SMX_OK;
    size_t *idx = malloc(s->n_entries * sizeof *idx);
    if (!idx)
        return SMX_ENOMEM;
    for (size_t i = 0; i < s->n_entries; i++)
        idx[i] = i;
    qsort_r(idx, s->n_entries, sizeof *idx, cmp_idx_path, s);
    for (size_t i = 1; i < s->n_entries; i++) {
        artifact_entry *a = &s->entries[idx[i - 1]], *b = &s->entries[idx[i]];
        if (strcmp(a->path, b->path) != 0)
            continue;
        if (a->type == ARTIFACT_DIR && b->type == ARTIFACT_DIR)
            continue; /* a directory listed twice is harmless */
        b->flags |= ARTIFACT_F_DUPLICATE;
        a->flags |= ARTIFACT_F_SUPERSEDED;
        if (a->type != b->type || a->has_sha256 != b->has_sha256 ||
            (a->has_sha256 && memcmp(a->sha256, b->sha256, 32) != 0) ||
            (a->flags & ARTIFACT_F_DUP_DIFFERS))
            b->flags |= ARTIFACT_F_DUP_DIFFERS;
    }
    free(idx);
    return SMX_OK;
}

void artifact_scan_free(artifact_scan *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_entries; i++) {
        free(s->entries[i].raw_path);
        free(s->entries[i].path);
        free(s->entries[i].link_target);
    }
    free(s->entries);
    free(s->path);
    free(s);
}

static void fail_from(artifact_scan *s, const reader *r, const char *m, uint64_t off,
                      const char *where);

/* Stream one entry's data: digest, limits, hooks. Returns SMX_OK, or a hook's status. */
static int read_data(struct archive *a, reader *r, artifact_scan *s, artifact_entry *e,
                     const artifact_limits *lim, const artifact_hooks *hooks, int want, int *stop)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return SMX_ENOMEM;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    int rc = SMX_OK;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int ar = archive_read_data_block(a, &buf, &len, &off);
        if (ar == ARCHIVE_EOF)
            break;
        if (ar < ARCHIVE_WARN) {
            char where[600];
            e->flags |= ARTIFACT_F_TRUNCATED;
            snprintf(where, sizeof where,
                     "inside entry '%.400s' after %llu of %lld data bytes: ", e->raw_path,
                     (unsigned long long)e->data_bytes, (long long)e->size);
            fail_from(s, r, archive_error_string(a), r->gzip ? scan_zpos(r) : r->consumed, where);
            *stop = 1;
            break;
        }
        e->data_bytes += len;
        s->uncompressed_bytes += len;
        EVP_DigestUpdate(md, buf, len);
        if (s->uncompressed_bytes > lim->max_total_bytes) {
            set_problem(s, ARTIFACT_P_LIMIT_BYTES, r->consumed,
                        "more than %llu uncompressed bytes (limit) while reading entry '%s'",
                        (unsigned long long)lim->max_total_bytes, e->raw_path);
            *stop = 1;
            break;
        }
        if (s->uncompressed_bytes > lim->ratio_floor && r->consumed > 0 &&
            (double)s->uncompressed_bytes > lim->max_ratio * (double)r->consumed) {
            set_problem(s, ARTIFACT_P_LIMIT_RATIO, r->consumed,
                        "%llu bytes inflated from %llu compressed bytes (more than %.0f:1) while "
                        "reading entry '%s': a decompression bomb?",
                        (unsigned long long)s->uncompressed_bytes, (unsigned long long)r->consumed,
                        lim->max_ratio, e->raw_path);
            *stop = 1;
            break;
        }
        if (want && hooks && hooks->on_data) {
            rc = hooks->on_data(hooks->ctx, e, buf, len, off);
            if (rc != SMX_OK) {
                *stop = 1;
                break;
            }
        }
    }
    if (!*stop || rc == SMX_OK) {
        unsigned int dl = 0;
        EVP_DigestFinal_ex(md, e->sha256, &dl);
        e->has_sha256 = !(e->flags & ARTIFACT_F_TRUNCATED);
    }
    EVP_MD_CTX_free(md);
    return rc;
}

/* Prefer inflate's own diagnosis of a failure over libarchive's echo of it. */
static void fail_from(artifact_scan *s, const reader *r, const char *m, uint64_t off,
                      const char *where)
{
    if (r->zproblem)
        set_problem(s, (artifact_problem)r->zproblem, r->zoffset, "%s%s", where, r->zmsg);
    else
        set_problem(s, classify(m), off, "%s%s", where, m ? m : "unreadable data");
}

/*
 * What the first bytes say, for a scan of `kind`: 1 when the archive can be read (*filt: the
 * compression, "none" for an uncompressed tar or a zip), 0 when the scan stops here (the
 * problem is set). A model.tar.gz scan notes a compression other than gzip and goes on.
 */
static int sniff_kind(artifact_scan *s, const reader *r, artifact_kind kind, const char **filt)
{
    *filt = sniff_filter(r->head, r->head_len);
    if (*filt)
        snprintf(s->filter, sizeof s->filter, "%s", *filt);
    if (kind == ARTIFACT_KIND_ZIP) {
        if (*filt && !strcmp(*filt, "zip"))
            return 1;
        set_problem(s, ARTIFACT_P_UNRECOGNISED, 0, "not a zip archive");
        return 0;
    }
    if (*filt && (!strcmp(*filt, "zip") || !strcmp(*filt, "7z"))) {
        set_problem(s, ARTIFACT_P_NOT_GZIP, 0, "this is a %s archive, not a gzip-compressed tar",
                    *filt);
        return 0;
    }
    if (!*filt) {
        char shown[64];
        size_t k = 0;
        for (size_t i = 0; i < r->head_len && i < 8 && k + 4 < sizeof shown; i++)
            k += (size_t)snprintf(shown + k, sizeof shown - k, "%s%02x", i ? " " : "", r->head[i]);
        set_problem(s, ARTIFACT_P_UNRECOGNISED, 0,
                    "neither gzip-compressed nor a tar archive (the file starts with %s)", shown);
        return 0;
    }
    if (!strcmp(*filt, "none"))
        set_problem(s, ARTIFACT_P_NOT_GZIP, 0,
                    "this is an uncompressed tar archive, not gzip-compressed");
    else if (strcmp(*filt, "gzip") != 0)
        set_problem(s, ARTIFACT_P_NOT_GZIP, 0, "this is %s-compressed, not gzip-compressed", *filt);
    return 1;
}

int artifact_scan_file(const char *path, const artifact_limits *limits, const artifact_hooks *hooks,
                       artifact_scan **out, smx_err *err)
{
    return artifact_scan_kind(path, ARTIFACT_KIND_TAR, limits, hooks, out, err);
}

/* One scan in progress: the result being built, the reader under libarchive, and the caller's
 * limits and hooks. Each step below returns an SMX status (err says why) and sets `stop` when
 * the archive ended early with a problem recorded in the scan (that is not a failure). */
typedef struct scanner {
    const char *path;
    artifact_kind kind;
    const artifact_limits *limits;
    const artifact_hooks *hooks;
    smx_err *err;
    artifact_scan *s;
    reader r;
    struct archive *a;
    size_t cap;
    int stop;
} scanner;

static int open_input(const char *path, int *fd, struct stat *st, smx_err *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return smx_fail(err, SMX_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(*fd, st) != 0 || S_ISDIR(st->st_mode)) {
        int e = errno;
        int dir = S_ISDIR(st->st_mode);
        close(*fd);
        *fd = -1;
        return dir ? smx_fail(err, SMX_EIO, "%s: is a directory, not a model.tar.gz", path)
                   : smx_fail(err, SMX_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    return SMX_OK;
}

/* libarchive over the reader: the decompressor (ours for gzip) and the formats of `kind`. */
static int open_archive(scanner *sc, const char *filt)
{
    sc->r.gzip = !strcmp(filt, "gzip");
    if (sc->r.gzip) {
        if (inflateInit2(&sc->r.zs, 16 + MAX_WBITS) != Z_OK)
            return smx_fail(sc->err, SMX_ENOMEM, "%s: cannot initialise zlib", sc->path);
        sc->r.zs_ready = 1;
    }
    if (!(sc->a = archive_read_new()))
        return smx_fail(sc->err, SMX_ENOMEM, "%s: out of memory", sc->path);
    if (sc->r.gzip || sc->kind == ARTIFACT_KIND_ZIP)
        archive_read_support_filter_none(sc->a);
    else
        archive_read_support_filter_all(sc->a);
    if (sc->kind == ARTIFACT_KIND_ZIP) {
        archive_read_support_format_zip_streamable(sc->a); /* one pass, no seeking */
    } else {
        archive_read_support_format_tar(sc->a);
        archive_read_support_format_gnutar(sc->a);
        archive_read_support_format_empty(sc->a);
    }
    return SMX_OK;
}

/* The first header could not be read: an empty tar (returns 0: not a problem), a damaged first
 * header, or no tar (returns 1: recorded). */
static int first_header_failed(scanner *sc, const char *filt)
{
    reader *r = &sc->r;
    int zeros = r->gzip && r->first_len >= 1024;
    for (size_t i = 0; zeros && i < r->first_len; i++)
        zeros = r->first[i] == 0;
    if (zeros)
        return 0; /* only end-of-archive blocks: a valid tar with no entries */
    const unsigned char *h0 = r->gzip ? r->first : r->head;
    size_t h0_len = r->gzip ? r->first_len : r->head_len;
    if (h0_len >= 512 && !memcmp(h0 + 257, "ustar", 5))
        set_problem(sc->s, ARTIFACT_P_CORRUPT, 0,
                    "the first tar header (entry '%.100s') has a bad checksum: the archive is "
                    "damaged",
                    (const char *)h0);
    else if (r->gzip)
        set_problem(sc->s, ARTIFACT_P_NOT_TAR, 0,
                    "gzip-compressed, but the content is not a tar archive");
    else
        set_problem(sc->s, ARTIFACT_P_NOT_TAR, 0,
                    "%s-compressed, and the content is not a tar archive", filt);
    return 1;
}

/* archive_read_next_header did not give an entry (ar is its status): record why and stop, or
 * end quietly on a valid tar without entries. */
static void header_failed(scanner *sc, int ar, uint64_t hdr_off, const char *filt)
{
    artifact_scan *s = sc->s;
    const char *m = archive_error_string(sc->a);
    const char *last = s->n_entries ? s->entries[s->n_entries - 1].raw_path : "";
    sc->stop = 1;
    if (ar == ARCHIVE_RETRY) {
        /* libarchive found a header with a bad checksum and would skip ahead to the next
         * plausible one; tar and Python's tarfile stop there, and so do we */
        set_problem(s, ARTIFACT_P_CORRUPT, hdr_off,
                    "damaged tar header after entry %zu ('%.400s'): %s", s->n_entries, last,
                    m ? m : "bad checksum");
        return;
    }
    if (!sc->r.zproblem && s->n_entries == 0 && m && strstr(m, "Unrecognized archive format")) {
        sc->stop = first_header_failed(sc, filt);
        return;
    }
    char where[600];
    snprintf(where, sizeof where, "after entry %zu%s%.400s%s: ", s->n_entries,
             s->n_entries ? " ('" : "", last, s->n_entries ? "')" : "");
    fail_from(s, &sc->r, m, hdr_off, where);
}

/* Record the entry libarchive just read, and stop at the limits on its declared size. */
static int record_entry(scanner *sc, struct archive_entry *ae, uint64_t hdr_off,
                        artifact_entry **out)
{
    artifact_scan *s = sc->s;
    artifact_entry *e;
    if (add_entry(s, &sc->cap, &e))
        return smx_fail(sc->err, SMX_ENOMEM, "%s: out of memory", sc->path);
    const char *raw = archive_entry_pathname(ae);
    e->raw_path = strdup(raw ? raw : "");
    e->path = normalise(raw ? raw : "", &e->flags, &e->depth);
    e->type = entry_type(ae);
    const char *lt = e->type == ARTIFACT_HARDLINK  ? archive_entry_hardlink(ae)
                     : e->type == ARTIFACT_SYMLINK ? archive_entry_symlink(ae)
                                                   : NULL;
    e->link_target = lt ? strdup(lt) : NULL;
    if (!e->raw_path || !e->path || (lt && !e->link_target))
        return smx_fail(sc->err, SMX_ENOMEM, "%s: out of memory", sc->path);
    e->size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;
    e->mode = (unsigned)archive_entry_mode(ae) & 07777;
    if (e->mode & 07000)
        e->flags |= ARTIFACT_F_SETID;
    if (archive_entry_sparse_count(ae) > 0)
        e->flags |= ARTIFACT_F_SPARSE;
    e->header_offset = hdr_off;
    *out = e;
    const artifact_limits *l = sc->limits;
    if (e->size < 0 || (uint64_t)e->size > l->max_entry_bytes) {
        set_problem(s, ARTIFACT_P_LIMIT_ENTRY_BYTES, hdr_off,
                    "entry '%s' declares %lld bytes, over the limit of %llu", e->raw_path,
                    (long long)e->size, (unsigned long long)l->max_entry_bytes);
        sc->stop = 1;
    } else if (s->uncompressed_bytes + (uint64_t)e->size > l->max_total_bytes) {
        set_problem(s, ARTIFACT_P_LIMIT_BYTES, hdr_off,
                    "entry '%s' declares %lld bytes, which takes the archive over the limit of "
                    "%llu uncompressed bytes",
                    e->raw_path, (long long)e->size, (unsigned long long)l->max_total_bytes);
        sc->stop = 1;
    }
    return SMX_OK;
}

/* A regular file's data: through the caller's hooks when it wants it, hashed either way. */
static int entry_data(scanner *sc, artifact_entry *e)
{
    const artifact_hooks *h = sc->hooks;
    smx_err *err = sc->err;
    int want = h && h->want ? h->want(h->ctx, e) : 0;
    if (want < 0) {
        if (err && err->status == SMX_OK)
            smx_fail(err, -want, "%s: stopped at entry '%s'", sc->path, e->raw_path);
        return -want;
    }
    int rc = read_data(sc->a, &sc->r, sc->s, e, sc->limits, h, want, &sc->stop);
    if (rc == SMX_ENOMEM)
        return smx_fail(err, rc, "%s: out of memory", sc->path);
    if (rc != SMX_OK) {
        if (err && err->status == SMX_OK)
            smx_fail(err, rc, "%s: stopped while reading entry '%s'", sc->path, e->raw_path);
        return rc;
    }
    if (want && h->on_end)
        h->on_end(h->ctx, e);
    if (sc->r.io_errno)
        return smx_fail(err, SMX_EIO, "%s: read error: %s", sc->path, strerror(sc->r.io_errno));
    return SMX_OK;
}

/* Every entry, until the end of the archive, a problem or a limit. */
static int read_entries(scanner *sc, const char *filt)
{
    artifact_scan *s = sc->s;
    int opened = archive_read_open(sc->a, &sc->r, NULL, scan_read_cb, NULL) == ARCHIVE_OK;
    while (!sc->stop) {
        struct archive_entry *ae;
        uint64_t hdr_off = sc->r.gzip ? scan_zpos(&sc->r) : sc->r.consumed;
        int ar = opened ? archive_read_next_header(sc->a, &ae) : ARCHIVE_FATAL;
        if (sc->r.io_errno)
            return smx_fail(sc->err, SMX_EIO, "%s: read error: %s", sc->path,
                            strerror(sc->r.io_errno));
        if (ar == ARCHIVE_EOF)
            break;
        if (ar == ARCHIVE_RETRY || ar < ARCHIVE_WARN) {
            header_failed(sc, ar, hdr_off, filt);
            break;
        }
        if (s->n_entries >= sc->limits->max_entries) {
            set_problem(s, ARTIFACT_P_LIMIT_ENTRIES, hdr_off, "more than %llu entries (limit)",
                        (unsigned long long)sc->limits->max_entries);
            sc->stop = 1;
            break;
        }
        if (!s->format[0] && archive_format_name(sc->a))
            snprintf(s->format, sizeof s->format, "%s", archive_format_name(sc->a));
        artifact_entry *e = NULL;
        int rc = record_entry(sc, ae, hdr_off, &e);
        if (rc == SMX_OK && !sc->stop && e->type == ARTIFACT_FILE)
            rc = entry_data(sc, e);
        if (rc)
            return rc;
    }
    return SMX_OK;
}

/* The tar ended: inflate the rest so the gzip trailer (CRC, length) is checked too. */
static int finish_gzip(scanner *sc)
{
    ssize_t n;
    while ((n = scan_inflate_some(&sc->r)) > 0)
        ;
    if (n < 0 && sc->r.io_errno)
        return smx_fail(sc->err, SMX_EIO, "%s: read error: %s", sc->path, strerror(sc->r.io_errno));
    if (n < 0)
        set_problem(sc->s, (artifact_problem)sc->r.zproblem, sc->r.zoffset,
                    "after the last entry: %s", sc->r.zmsg);
    return SMX_OK;
}

/* Hash whatever was not needed (bytes after the data, or after a stop), then the digest. */
static int drain_and_hash(scanner *sc)
{
    for (;;) {
        ssize_t n = read(sc->r.fd, sc->r.block, READ_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return smx_fail(sc->err, SMX_EIO, "%s: read error: %s", sc->path, strerror(errno));
        if (n == 0)
            break;
        EVP_DigestUpdate(sc->r.sha, sc->r.block, (size_t)n);
        sc->r.consumed += (uint64_t)n;
    }
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(sc->r.sha, d, &dl);
    smx_sha256_hex(d, sc->s->sha256_hex);
    return SMX_OK;
}

/* Sniff, read the entries and check the trailer; a problem found in the bytes is recorded in
 * the scan and ends the reading early, but the whole file is still hashed. */
static int scan(scanner *sc)
{
    reader *r = &sc->r;
    artifact_scan *s = sc->s;
    /* Sniff the magic with pread so the streaming read still starts at byte 0. */
    ssize_t hn = pread(r->fd, r->head, sizeof r->head, 0);
    r->head_len = hn > 0 ? (size_t)hn : 0;
    const char *filt = NULL;
    int rc = SMX_OK;
    if (r->head_len == 0)
        set_problem(s, ARTIFACT_P_EMPTY_FILE, 0, "the file is empty (0 bytes)");
    else if (sniff_kind(s, r, sc->kind, &filt)) {
        if (!(rc = open_archive(sc, filt)))
            rc = read_entries(sc, filt);
        if (!rc && !sc->stop && r->gzip)
            rc = finish_gzip(sc);
        if (!rc && mark_duplicates(s))
            rc = smx_fail(sc->err, SMX_ENOMEM, "%s: out of memory", sc->path);
    }
    return rc ? rc : drain_and_hash(sc);
}

int artifact_scan_kind(const char *path, artifact_kind kind, const artifact_limits *limits,
                       const artifact_hooks *hooks, artifact_scan **out, smx_err *err)
{
    artifact_limits deflim;
    if (!limits) {
        artifact_limits_default(&deflim);
        limits = &deflim;
    }
    *out = NULL;
    scanner sc = {.path = path, .kind = kind, .limits = limits, .hooks = hooks, .err = err};
    struct stat st;
    int rc = open_input(path, &sc.r.fd, &st, err);
    if (rc)
        return rc;
    sc.s = calloc(1, sizeof *sc.s);
    sc.r.block = malloc(READ_BLOCK);
    sc.r.out = malloc(READ_BLOCK);
    sc.r.sha = EVP_MD_CTX_new();
    if (!sc.s || !sc.r.block || !sc.r.out || !sc.r.sha || !(sc.s->path = strdup(path)) ||
        !EVP_DigestInit_ex(sc.r.sha, EVP_sha256(), NULL)) {
        rc = smx_fail(err, SMX_ENOMEM, "%s: out of memory", path);
    } else {
        sc.s->file_bytes = (uint64_t)st.st_size;
        snprintf(sc.s->filter, sizeof sc.s->filter, "unknown");
        rc = scan(&sc);
    }
    if (sc.a)
        archive_read_free(sc.a);
    if (sc.r.zs_ready)
        inflateEnd(&sc.r.zs);
    EVP_MD_CTX_free(sc.r.sha);
    free(sc.r.block);
    free(sc.r.out);
    close(sc.r.fd);
    if (rc != SMX_OK) {
        artifact_scan_free(sc.s);
        return rc;
    }
    *out = sc.s;
    return SMX_OK;
}
