/*
 * Training channels the way SageMaker's XGBoost algorithm takes them: CSV with the label in
 * the first column and no header (label,weight,features with csv_weights=1), or LIBSVM
 * ("label[:weight] index:value ..."), a file or a directory of files per channel.
 *
 * The parser is ours rather than XGBoost's URI loader because it is faster and because its
 * errors can say what is wrong and where: a header row, a ragged row, a cell that is not a
 * number, each with the file, line and column. CSV rows go straight into one dense float32
 * buffer (NaN for an empty cell, XGBoost's "missing"), grown geometrically, which the trainer
 * hands to XGDMatrixCreateFromMat and frees before the first round. LIBSVM rows go into CSR
 * arrays. Files are read in chunks, so the page cache of a large file is not held in memory.
 *
 * Numbers: a cell is read with base's smx_number_parse under SMX_NUM_PLAIN (what numpy and
 * pandas take: no '_' between digits, nothing around the token), correctly rounded to a
 * double and then to float32, which is what numpy/pandas followed by DMatrix produce.
 */
#include "train.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CELL_ECHO 40
#define MAX_COLUMNS   1000000u

/* ---- content types ----------------------------------------------------------------------- */

int train_data_format_parse(const char *ct)
{
    if (!ct)
        return TRAIN_DATA_AUTO;
    /* parameters such as "; label_size=1" are ignored, as the container ignores them */
    size_t n = strcspn(ct, "; ");
    static const struct {
        const char *name;
        train_data_format f;
    } names[] = {{"csv", TRAIN_DATA_CSV},
                 {"text/csv", TRAIN_DATA_CSV},
                 {"libsvm", TRAIN_DATA_LIBSVM},
                 {"text/libsvm", TRAIN_DATA_LIBSVM},
                 {"text/x-libsvm", TRAIN_DATA_LIBSVM},
                 {"auto", TRAIN_DATA_AUTO}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && !strncasecmp(ct, names[i].name, n))
            return (int)names[i].f;
    return -1;
}

const char *train_data_format_name(train_data_format f)
{
    switch (f) {
    case TRAIN_DATA_CSV:
        return "text/csv";
    case TRAIN_DATA_LIBSVM:
        return "text/libsvm";
    default:
        return "auto";
    }
}

/* ---- the line parser --------------------------------------------------------------------- */

typedef struct parser {
    const char *name;
    const train_data_opts *o;
    train_data *d;
    uint64_t line;      /* 1-based line number of the line being parsed */
    uint64_t file_rows; /* rows read from this file so far (line 1 is a header only if 0) */
    size_t cap_feat;    /* CSV: X capacity in rows */
    size_t cap_idx;     /* LIBSVM: indices/values capacity */
    size_t cap_ptr;     /* LIBSVM: indptr capacity */
    size_t cap_w;
    smx_err *err;
} parser;

static void echo_cell(char *out, size_t n, const char *p, size_t len)
{
    size_t k = len > MAX_CELL_ECHO ? MAX_CELL_ECHO : len;
    size_t j = 0;
    for (size_t i = 0; i < k && j + 5 < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f)
            out[j++] = (char)c;
        else
            j += (size_t)snprintf(out + j, n - j, "\\x%02x", c);
    }
    if (len > k && j + 4 < n) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = 0;
}

static int oom(parser *ps)
{
    return smx_fail(ps->err, SMX_ENOMEM, "out of memory");
}

static int add_row_label(parser *ps, float label, float weight, int has_weight)
{
    train_data *d = ps->d;
    if (smx_grow((void **)&d->labels, &d->cap_rows, d->nrow + 1, sizeof(float)))
        return oom(ps);
    d->labels[d->nrow] = label;
    if (has_weight) {
        if (smx_grow((void **)&d->weights, &ps->cap_w, d->nrow + 1, sizeof(float)))
            return oom(ps);
        d->weights[d->nrow] = weight;
    }
    return 0;
}

static inline int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Count the cells of a CSV line (commas + 1). */
static size_t csv_cells(const char *p, const char *end)
{
    size_t n = 1;
    for (const char *q = p; (q = memchr(q, ',', (size_t)(end - q))); q++)
        n++;
    return n;
}

/* The first row of a channel fixes the number of feature columns. */
static int csv_columns(parser *ps, const char *p, const char *end, int w)
{
    size_t cells = csv_cells(p, end);
    if (cells < (size_t)(2 + w))
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s: line %llu has %zu column%s; CSV training data needs the label, %s"
                        "at least one feature",
                        ps->name, (unsigned long long)ps->line, cells, cells == 1 ? "" : "s",
                        w ? "the weight (csv_weights=1) and " : "");
    if (cells - 1 - w > MAX_COLUMNS)
        return smx_fail(ps->err, SMX_ELIMIT, "%s: line %llu has %zu columns (limit %u)", ps->name,
                        (unsigned long long)ps->line, cells, MAX_COLUMNS);
    ps->d->ncol = cells - 1 - (size_t)w;
    return 0;
}

/* The value of cell col (0-based), blanks trimmed: a number, or NaN when an empty feature. A
 * cell that is not a number on a file's first row is most likely a header. */
static int csv_cell(parser *ps, const char *a, const char *b, size_t col, int w, double *v)
{
    if (a == b) {
        if (col <= (size_t)w)
            return smx_fail(ps->err, SMX_EFORMAT,
                            "%s: line %llu, column %zu: the %s is empty (only feature cells "
                            "may be empty: they are missing values)",
                            ps->name, (unsigned long long)ps->line, col + 1,
                            col == 0 ? "label" : "weight");
        *v = NAN;
        return 0;
    }
    if (smx_number_parse(a, (size_t)(b - a), SMX_NUM_PLAIN, v))
        return 0;
    char cell[MAX_CELL_ECHO * 4 + 8];
    echo_cell(cell, sizeof cell, a, (size_t)(b - a));
    if (ps->file_rows == 0)
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s: line %llu looks like a header (column %zu is '%s'): SageMaker's "
                        "CSV training data has no header row and the label in the first "
                        "column; remove the header (e.g. tail -n +2)",
                        ps->name, (unsigned long long)ps->line, col + 1, cell);
    return smx_fail(ps->err, SMX_EFORMAT,
                    "%s: line %llu, column %zu: '%s' is not a number (every cell must be "
                    "numeric; column 1 is the label%s)",
                    ps->name, (unsigned long long)ps->line, col + 1, cell,
                    w ? ", column 2 the weight" : "");
}

static int ragged(parser *ps, size_t have, size_t want)
{
    return smx_fail(ps->err, SMX_EFORMAT,
                    "%s: line %llu has %zu columns, but the first row has %zu; every row needs "
                    "the same columns",
                    ps->name, (unsigned long long)ps->line, have, want);
}

/* One CSV row: label[,weight],features straight into the dense buffer. */
static int csv_line(parser *ps, const char *p, const char *end)
{
    train_data *d = ps->d;
    int w = ps->o->csv_weights ? 1 : 0, rc;
    if (d->nrow == 0 && d->ncol == 0 && (rc = csv_columns(ps, p, end, w)))
        return rc;
    if (ps->o->max_rows && d->nrow >= ps->o->max_rows)
        return smx_fail(ps->err, SMX_ELIMIT, "%s: more than %llu rows", ps->name,
                        (unsigned long long)ps->o->max_rows);
    if (smx_grow((void **)&d->X, &ps->cap_feat, d->nrow + 1, d->ncol * sizeof(float)))
        return oom(ps);
    float *row = d->X + d->nrow * d->ncol;
    size_t want = d->ncol + 1 + (size_t)w, col = 0;
    float label = 0, weight = 1;
    const char *c = p;
    for (;;) {
        const char *ce = memchr(c, ',', (size_t)(end - c));
        if (!ce)
            ce = end;
        if (col >= want)
            return ragged(ps, col + csv_cells(c, end), want);
        const char *a = c, *b = ce;
        while (a < b && is_blank(*a))
            a++;
        while (b > a && is_blank(b[-1]))
            b--;
        double v;
        if ((rc = csv_cell(ps, a, b, col, w, &v)))
            return rc;
        if (col == 0)
            label = (float)v;
        else if (w && col == 1)
            weight = (float)v;
        else
            row[col - 1 - (size_t)w] = (float)v;
        col++;
        if (ce == end)
            break;
        c = ce + 1;
    }
    if (col != want)
        return ragged(ps, col, want);
    if (isnan(label))
        return smx_fail(ps->err, SMX_EFORMAT, "%s: line %llu, column 1: the label is NaN", ps->name,
                        (unsigned long long)ps->line);
    if (add_row_label(ps, label, weight, w))
        return SMX_ENOMEM;
    d->nrow++;
    return 0;
}

/* A LIBSVM row being read: its label, weight and where its entries go. */
typedef struct svm_row {
    float label, weight;
    int has_weight, sorted;
    size_t start, nnz; /* its entries: [start, nnz) of indices/values */
    uint32_t last;
} svm_row;

/* Token 1: label[:weight]. */
static int libsvm_label(parser *ps, const char *t, size_t tl, svm_row *r)
{
    char cell[MAX_CELL_ECHO * 4 + 8];
    const char *colon = memchr(t, ':', tl);
    size_t ll = colon ? (size_t)(colon - t) : tl;
    double v;
    if (!smx_number_parse(t, ll, SMX_NUM_PLAIN, &v) || isnan(v)) {
        echo_cell(cell, sizeof cell, t, tl);
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s: line %llu, token 1: '%s' is not a label (LIBSVM rows are "
                        "'label[:weight] index:value ...')",
                        ps->name, (unsigned long long)ps->line, cell);
    }
    r->label = (float)v;
    if (!colon)
        return 0;
    if (!smx_number_parse(colon + 1, tl - ll - 1, SMX_NUM_PLAIN, &v)) {
        echo_cell(cell, sizeof cell, t, tl);
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s: line %llu, token 1: '%s': the weight after ':' is not a number",
                        ps->name, (unsigned long long)ps->line, cell);
    }
    r->weight = (float)v;
    r->has_weight = 1;
    return 0;
}

/* Token col (1-based, > 1): index:value, appended to the row's entries. */
static int libsvm_entry(parser *ps, const char *t, size_t tl, size_t col, svm_row *r)
{
    train_data *d = ps->d;
    char cell[MAX_CELL_ECHO * 4 + 8];
    const char *colon = memchr(t, ':', tl);
    if (!colon) {
        echo_cell(cell, sizeof cell, t, tl);
        return smx_fail(ps->err, SMX_EFORMAT, "%s: line %llu, token %zu: '%s' is not 'index:value'",
                        ps->name, (unsigned long long)ps->line, col, cell);
    }
    size_t il = (size_t)(colon - t);
    if (il == 3 && !strncmp(t, "qid", 3))
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s: line %llu: 'qid:' (ranking groups) is not supported by smxgb train",
                        ps->name, (unsigned long long)ps->line);
    uint64_t idx = 0;
    int okidx = il > 0 && il <= 10;
    for (size_t i = 0; okidx && i < il; i++) {
        if ((unsigned)(t[i] - '0') >= 10)
            okidx = 0;
        else
            idx = idx * 10 + (uint64_t)(t[i] - '0');
    }
    if (!okidx || idx >= MAX_COLUMNS) {
        echo_cell(cell, sizeof cell, t, tl);
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s: line %llu, token %zu: '%s': the feature index must be an integer "
                        "from 0 to %u",
                        ps->name, (unsigned long long)ps->line, col, cell, MAX_COLUMNS - 1);
    }
    double v;
    if (!smx_number_parse(colon + 1, tl - il - 1, SMX_NUM_PLAIN, &v)) {
        echo_cell(cell, sizeof cell, t, tl);
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s: line %llu, token %zu: '%s': the value is not a number", ps->name,
                        (unsigned long long)ps->line, col, cell);
    }
    if (smx_grow((void **)&d->indices, &ps->cap_idx, r->nnz + 1, sizeof(uint32_t)) ||
        smx_grow((void **)&d->values, &d->cap_nnz, r->nnz + 1, sizeof(float)))
        return oom(ps);
    if (r->nnz > r->start && (uint32_t)idx <= r->last)
        r->sorted = 0;
    r->last = (uint32_t)idx;
    d->indices[r->nnz] = (uint32_t)idx;
    d->values[r->nnz] = (float)v;
    r->nnz++;
    if (idx + 1 > d->ncol)
        d->ncol = idx + 1;
    return 0;
}

/* Insertion sort of the row's entries by index (rows are short); duplicates are an error. */
static int libsvm_sort(parser *ps, const svm_row *r)
{
    train_data *d = ps->d;
    for (size_t i = r->start + 1; i < r->nnz; i++) {
        uint32_t ki = d->indices[i];
        float vi = d->values[i];
        size_t j = i;
        while (j > r->start && d->indices[j - 1] > ki) {
            d->indices[j] = d->indices[j - 1];
            d->values[j] = d->values[j - 1];
            j--;
        }
        d->indices[j] = ki;
        d->values[j] = vi;
    }
    for (size_t i = r->start + 1; i < r->nnz; i++)
        if (d->indices[i] == d->indices[i - 1])
            return smx_fail(ps->err, SMX_EFORMAT, "%s: line %llu: feature index %u appears twice",
                            ps->name, (unsigned long long)ps->line, d->indices[i]);
    return 0;
}

/* One LIBSVM row: label[:weight] index:value ... (a '#' starts a comment). */
static int libsvm_line(parser *ps, const char *p, const char *end)
{
    train_data *d = ps->d;
    if (ps->o->max_rows && d->nrow >= ps->o->max_rows)
        return smx_fail(ps->err, SMX_ELIMIT, "%s: more than %llu rows", ps->name,
                        (unsigned long long)ps->o->max_rows);
    const char *hash = memchr(p, '#', (size_t)(end - p));
    if (hash)
        end = hash;
    if (smx_grow((void **)&d->indptr, &ps->cap_ptr, d->nrow + 2, sizeof(size_t)))
        return oom(ps);
    if (d->nrow == 0)
        d->indptr[0] = 0;
    svm_row r = {.weight = 1, .sorted = 1, .start = d->indptr[d->nrow]};
    r.nnz = r.start;
    size_t tok = 0;
    for (const char *s = p; s < end;) {
        while (s < end && is_blank(*s))
            s++;
        if (s >= end)
            break;
        const char *t = s;
        while (s < end && !is_blank(*s))
            s++;
        size_t tl = (size_t)(s - t);
        int rc = tok == 0 ? libsvm_label(ps, t, tl, &r) : libsvm_entry(ps, t, tl, tok + 1, &r);
        if (rc)
            return rc;
        tok++;
    }
    if (tok == 0)
        return 0; /* a comment-only line */
    int rc;
    if (!r.sorted && (rc = libsvm_sort(ps, &r)))
        return rc;
    if (r.has_weight && !d->weights && d->nrow > 0)
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s: line %llu has a weight ('label:weight') but earlier rows do not; "
                        "give every row a weight or none",
                        ps->name, (unsigned long long)ps->line);
    if (!r.has_weight && d->weights)
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s: line %llu has no weight, but earlier rows have one ('label:weight'); "
                        "give every row a weight or none",
                        ps->name, (unsigned long long)ps->line);
    if (add_row_label(ps, r.label, r.weight, r.has_weight))
        return SMX_ENOMEM;
    d->indptr[d->nrow + 1] = r.nnz;
    d->nrow++;
    return 0;
}

/* Decide the format from the first non-empty line. */
static int sniff(const char *p, const char *end)
{
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (comma)
        return TRAIN_DATA_CSV;
    if (colon)
        return TRAIN_DATA_LIBSVM;
    return -1;
}

/* Parse the complete lines of [buf, buf+len); returns bytes consumed, or -1 on error (err set).
 * final: the buffer ends the file, so a last line without '\n' is complete. */
static long long parse_lines(parser *ps, const char *buf, size_t len, int final)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl && !final)
            break;
        const char *le = nl ? nl : end;
        const char *a = p, *b = le;
        while (a < b && is_blank(*a))
            a++;
        while (b > a && is_blank(b[-1]))
            b--;
        if (a < b) {
            if (ps->d->format == TRAIN_DATA_AUTO) {
                int f = sniff(a, b);
                if (f < 0) {
                    char cell[MAX_CELL_ECHO * 4 + 8];
                    echo_cell(cell, sizeof cell, a, (size_t)(b - a));
                    smx_fail(ps->err, SMX_EFORMAT,
                             "%s: line %llu ('%s') is neither CSV (label,feature,...) nor LIBSVM "
                             "(label index:value ...); pass --content-type",
                             ps->name, (unsigned long long)ps->line, cell);
                    return -1;
                }
                ps->d->format = (train_data_format)f;
            }
            int rc = ps->d->format == TRAIN_DATA_CSV ? csv_line(ps, a, b) : libsvm_line(ps, a, b);
            if (rc)
                return -1;
            ps->file_rows++;
        }
        ps->line++;
        p = nl ? nl + 1 : end;
    }
    return (long long)(p - buf);
}

static void parser_init(parser *ps, const char *name, const train_data_opts *o, train_data *d,
                        smx_err *err)
{
    memset(ps, 0, sizeof *ps);
    ps->name = name;
    ps->o = o;
    ps->d = d;
    ps->line = 1;
    ps->cap_feat = d->ncol && d->format == TRAIN_DATA_CSV ? d->cap_rows : 0;
    ps->cap_w = d->weights ? d->cap_rows : 0;
    ps->cap_ptr = d->indptr ? d->cap_rows + 1 : 0;
    ps->cap_idx = d->cap_nnz;
    ps->err = err;
    if (d->format == TRAIN_DATA_AUTO && o->format != TRAIN_DATA_AUTO)
        d->format = o->format;
}

/* Capacities are tracked per array while parsing; keep them consistent for the next file by
 * trimming every row array to the same capacity. */
static int parser_finish(parser *ps)
{
    train_data *d = ps->d;
    size_t rows = d->nrow ? d->nrow : 1;
    if (d->labels && d->cap_rows != rows) {
        float *l = realloc(d->labels, rows * sizeof(float));
        if (l)
            d->labels = l;
    }
    if (d->X) {
        float *x = realloc(d->X, rows * (d->ncol ? d->ncol : 1) * sizeof(float));
        if (x)
            d->X = x;
    }
    if (d->weights) {
        float *w = realloc(d->weights, rows * sizeof(float));
        if (w)
            d->weights = w;
    }
    if (d->indptr) {
        size_t *ip = realloc(d->indptr, (rows + 1) * sizeof(size_t));
        if (ip)
            d->indptr = ip;
    }
    d->cap_rows = rows;
    if (d->indices) {
        size_t nnz = d->indptr[d->nrow];
        size_t keep = nnz ? nnz : 1;
        uint32_t *ix = realloc(d->indices, keep * sizeof(uint32_t));
        float *vv = realloc(d->values, keep * sizeof(float));
        if (ix)
            d->indices = ix;
        if (vv)
            d->values = vv;
        d->cap_nnz = keep;
    }
    return 0;
}

static int check_weights_consistent(parser *ps, uint64_t rows_before, int had_weights)
{
    train_data *d = ps->d;
    if (d->format == TRAIN_DATA_LIBSVM && rows_before > 0 && d->nrow > rows_before &&
        !had_weights && d->weights)
        return smx_fail(ps->err, SMX_EFORMAT,
                        "%s has weights ('label:weight') but the channel's earlier files do not",
                        ps->name);
    return 0;
}

int train_data_parse(const char *buf, size_t len, const char *name, const train_data_opts *o,
                     train_data *d, smx_err *err)
{
    parser ps;
    parser_init(&ps, name, o, d, err);
    uint64_t before = d->nrow;
    int had_w = d->weights != NULL;
    long long n = parse_lines(&ps, buf, len, 1);
    parser_finish(&ps);
    if (n < 0)
        return err->status ? err->status : SMX_EFORMAT;
    if (check_weights_consistent(&ps, before, had_w))
        return SMX_EFORMAT;
    d->n_files++;
    d->bytes += len;
    return SMX_OK;
}

/* AUTO and nothing decided yet: a .csv, .libsvm or .svm file says what it is. */
static void format_from_name(const char *path, const train_data_opts *o, train_data *d)
{
    if (d->format != TRAIN_DATA_AUTO || o->format != TRAIN_DATA_AUTO)
        return;
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return;
    if (!strcasecmp(dot, ".csv"))
        d->format = TRAIN_DATA_CSV;
    else if (!strcasecmp(dot, ".libsvm") || !strcasecmp(dot, ".svm"))
        d->format = TRAIN_DATA_LIBSVM;
}

/* Read fd in chunks (4 MiB, doubled for a longer line, up to 256 MiB) and parse the complete
 * lines of each; *total counts the bytes read. */
static int read_chunks(int fd, parser *ps, const char *path, uint64_t *total, smx_err *err)
{
    size_t cap = 4u << 20, have = 0;
    char *buf = malloc(cap);
    if (!buf)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    int rc = SMX_OK;
    for (;;) {
        if (have == cap) {
            if (cap >= (256u << 20)) {
                rc = smx_fail(err, SMX_ELIMIT, "%s: line %llu is longer than 256 MiB", path,
                              (unsigned long long)ps->line);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = smx_fail(err, SMX_ENOMEM, "out of memory");
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + have, cap - have);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = smx_fail(err, SMX_EIO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        *total += (uint64_t)r;
        have += (size_t)r;
        long long used = parse_lines(ps, buf, have, r == 0);
        if (used < 0) {
            rc = err->status ? err->status : SMX_EFORMAT;
            break;
        }
        memmove(buf, buf + used, have - (size_t)used);
        have -= (size_t)used;
        if (r == 0)
            break;
    }
    free(buf);
    return rc;
}

static int load_file(const char *path, const train_data_opts *o, train_data *d, smx_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return smx_fail(err, SMX_EIO, "cannot open %s: %s", path, strerror(errno));
    format_from_name(path, o, d);
    parser ps;
    parser_init(&ps, path, o, d, err);
    uint64_t before = d->nrow, total = 0;
    int had_w = d->weights != NULL;
    int rc = read_chunks(fd, &ps, path, &total, err);
    close(fd);
    parser_finish(&ps);
    if (rc)
        return rc;
    if (check_weights_consistent(&ps, before, had_w))
        return SMX_EFORMAT;
    d->n_files++;
    d->bytes += total;
    return SMX_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int train_data_load(const char *path, const train_data_opts *o, train_data *d, smx_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return smx_fail(err, SMX_EIO, "cannot read %s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        int rc = load_file(path, o, d, err);
        if (!rc && d->nrow == 0)
            return smx_fail(err, SMX_EFORMAT, "%s has no rows", path);
        return rc;
    }
    DIR *dir = opendir(path);
    if (!dir)
        return smx_fail(err, SMX_EIO, "cannot read directory %s: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = SMX_OK;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        char *full;
        if (asprintf(&full, "%s/%s", path, e->d_name) < 0) {
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            break;
        }
        struct stat fs;
        if (stat(full, &fs) != 0 || !S_ISREG(fs.st_mode)) {
            free(full);
            continue;
        }
        if (smx_grow((void **)&names, &cap, n + 1, sizeof *names)) {
            free(full);
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            break;
        }
        names[n++] = full;
    }
    closedir(dir);
    if (!rc && n == 0)
        rc = smx_fail(err, SMX_EFORMAT, "%s: no data files (hidden files are skipped)", path);
    if (!rc)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; !rc && i < n; i++)
        rc = load_file(names[i], o, d, err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (!rc && d->nrow == 0)
        rc = smx_fail(err, SMX_EFORMAT, "%s: the files have no rows", path);
    return rc;
}

void train_data_free_features(train_data *d)
{
    free(d->X);
    free(d->indptr);
    free(d->indices);
    free(d->values);
    d->X = NULL;
    d->indptr = NULL;
    d->indices = NULL;
    d->values = NULL;
    d->cap_nnz = 0;
}

void train_data_free(train_data *d)
{
    train_data_free_features(d);
    free(d->labels);
    free(d->weights);
    memset(d, 0, sizeof *d);
}
