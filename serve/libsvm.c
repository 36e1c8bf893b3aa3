/*
 * text/libsvm requests, parsed by the container's own splitter
 * (serve_utils._get_sparse_matrix_from_libsvm), not by a libsvm reader:
 *
 *   payload.strip().decode("utf-8"); lines = split("\n"); items = line.split(" ")
 *   an item with ':' -> col = item.split(":")[0], val = item.split(":")[1]; others (the
 *   label, empty items) are ignored
 *   np.array(col).astype(int)   -> "invalid literal for int() with base 10: 'qid'" first,
 *   np.array(data).astype(float) -> then the values
 *   csr_matrix((data, (row, col))) -> shape (max row + 1, max col + 1): trailing lines
 *   without items add no rows, duplicates are summed (in double), explicit zeros stay.
 *
 * Indexes are used as they are (0-based) up to 1.7-1; 3.x shifts them down by one when the
 * smallest is at least 1 (the `shift` argument). The result is CSR with float32 values.
 */
#include "serve_private.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct ent {
    int64_t col;
    double val;
} ent;

/* Python int(s, 10) for int64: 1 ok, 0 invalid literal, -1 too large */
static int py_int(const char *s, size_t n, int64_t *out)
{
    while (n && ((*s == ' ') || (*s >= '\t' && *s <= '\r') || (*s >= 0x1c && *s <= 0x1f))) {
        s++;
        n--;
    }
    while (n && ((s[n - 1] == ' ') || (s[n - 1] >= '\t' && s[n - 1] <= '\r') ||
                 (s[n - 1] >= 0x1c && s[n - 1] <= 0x1f)))
        n--;
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i >= n)
        return 0;
    unsigned __int128 v = 0;
    int big = 0, prev_digit = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            if (!big) {
                v = v * 10 + (unsigned)(c - '0');
                if (v > (unsigned __int128)INT64_MAX + 1)
                    big = 1;
            }
            prev_digit = 1;
        } else if (c == '_' && prev_digit && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
            prev_digit = 0;
        } else {
            return 0;
        }
    }
    if (big || (!neg && v > INT64_MAX))
        return -1;
    *out = neg ? (int64_t)(0 - (uint64_t)v) : (int64_t)v;
    return 1;
}

static int cmp_ent(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    return (x->col > y->col) - (x->col < y->col);
}

static int fail(serve_derr *de, const char *what, const char *s, size_t n)
{
    char r[256];
    serve_pystr_repr(s, n, r, sizeof r);
    de->pytype = "<class 'ValueError'>";
    snprintf(de->msg, sizeof de->msg, "%s%s", what, r);
    return SMX_EFORMAT;
}

static int oom(serve_derr *de)
{
    de->pytype = "<class 'MemoryError'>";
    snprintf(de->msg, sizeof de->msg, "out of memory");
    return SMX_ENOMEM;
}

/* What the splitter found: entries in m->scratch, line starts in m->indptr, and the first
 * column and value that do not parse. */
typedef struct scan {
    size_t nnz, line, rows_with; /* rows_with: lines up to the last one with an item */
    const char *bad_col, *bad_val;
    size_t bad_col_n, bad_val_n;
    int col_overflow;
    int64_t min_col, max_col;
} scan;

/* One "col:val" item, [it, ie) with its first ':' at c1 (a third field is ignored). */
static int scan_item(serve_matrix *m, scan *st, const char *it, const char *c1, const char *ie)
{
    const char *vs = c1 + 1;
    const char *c2 = memchr(vs, ':', (size_t)(ie - vs));
    const char *ve = c2 ? c2 : ie;
    if (serve_grow(&m->scratch, &m->scratch_cap, st->nnz + 1, sizeof(ent)))
        return SMX_ENOMEM;
    ent *e = (ent *)m->scratch + st->nnz;
    int r = py_int(it, (size_t)(c1 - it), &e->col);
    if (r <= 0) {
        if (!st->bad_col) {
            st->bad_col = it;
            st->bad_col_n = (size_t)(c1 - it);
            st->col_overflow = r < 0;
        }
        e->col = 0;
    }
    if (!smx_pyfloat_parse(vs, (size_t)(ve - vs), &e->val)) {
        if (!st->bad_val) {
            st->bad_val = vs;
            st->bad_val_n = (size_t)(ve - vs);
        }
        e->val = 0;
    }
    if (e->col < st->min_col)
        st->min_col = e->col;
    if (e->col > st->max_col)
        st->max_col = e->col;
    st->nnz++;
    st->rows_with = st->line + 1;
    return SMX_OK;
}

/* Split [p, end) into lines and items; indptr[r] = first entry of line r, over every line. */
static int scan_lines(const char *p, const char *end, serve_matrix *m, scan *st)
{
    for (;;) {
        const char *le = memchr(p, '\n', (size_t)(end - p));
        if (!le)
            le = end;
        if (serve_grow((void **)&m->indptr, &m->indptr_cap, st->line + 2, sizeof(size_t)))
            return SMX_ENOMEM;
        m->indptr[st->line] = st->nnz;
        for (const char *it = p;;) {
            const char *ie = memchr(it, ' ', (size_t)(le - it));
            if (!ie)
                ie = le;
            const char *c1 = memchr(it, ':', (size_t)(ie - it));
            if (c1 && scan_item(m, st, it, c1, ie))
                return SMX_ENOMEM;
            if (ie == le)
                break;
            it = ie + 1;
        }
        st->line++;
        if (le == end)
            break;
        p = le + 1;
    }
    m->indptr[st->line] = st->nnz;
    return SMX_OK;
}

/* numpy's and scipy's errors, in the order they raise them (SMX_OK when there is none). */
static int scan_error(const scan *st, int64_t delta, serve_derr *de)
{
    if (st->bad_col && st->col_overflow) {
        de->pytype = "<class 'OverflowError'>";
        snprintf(de->msg, sizeof de->msg, "Python int too large to convert to C long");
        return SMX_EFORMAT;
    }
    if (st->bad_col)
        return fail(de, "invalid literal for int() with base 10: ", st->bad_col, st->bad_col_n);
    if (st->bad_val)
        return fail(de, "could not convert string to float: ", st->bad_val, st->bad_val_n);
    if (st->nnz == 0) {
        de->pytype = "<class 'ValueError'>";
        snprintf(de->msg, sizeof de->msg, "cannot infer dimensions from zero sized index arrays");
        return SMX_EFORMAT;
    }
    if (st->min_col - delta < 0) {
        de->pytype = "<class 'ValueError'>";
        snprintf(de->msg, sizeof de->msg, "negative column index found");
        return SMX_EFORMAT;
    }
    return SMX_OK;
}

/* The entries into CSR, per row: sort by column, sum duplicates, cast to float32. */
static int compress_rows(serve_matrix *m, const scan *st, int64_t delta, serve_derr *de)
{
    ent *all = m->scratch;
    size_t out = 0;
    for (size_t r = 0; r < st->rows_with; r++) {
        size_t a = m->indptr[r], b = m->indptr[r + 1];
        m->indptr[r] = out;
        if (b - a > 1) {
            int sorted = 1;
            for (size_t k = a + 1; k < b && sorted; k++)
                sorted = all[k - 1].col < all[k].col;
            if (!sorted)
                qsort(all + a, b - a, sizeof(ent), cmp_ent);
        }
        for (size_t k = a; k < b;) {
            double sum = all[k].val;
            size_t k2 = k + 1;
            while (k2 < b && all[k2].col == all[k].col)
                sum += all[k2++].val;
            float f = (float)sum;
            if (isinf(f)) {
                serve_xgb_inf_error(de);
                return SMX_EFORMAT;
            }
            uint64_t c = (uint64_t)(all[k].col - delta);
            m->indices[out] = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
            m->values[out] = f;
            out++;
            k = k2;
        }
    }
    m->indptr[st->rows_with] = out;
    m->nnz = out;
    return SMX_OK;
}

int serve_libsvm_decode(const char *buf, size_t len, int shift, serve_matrix *m, serve_derr *de)
{
    m->sparse = 1;
    m->nrow = m->ncol = 0;
    m->nnz = 0;
    serve_strip(&buf, &len);
    if (serve_utf8_check(buf, len, de))
        return SMX_EFORMAT;
    scan st = {.min_col = INT64_MAX, .max_col = INT64_MIN};
    if (scan_lines(buf, buf + len, m, &st))
        return oom(de);
    int64_t delta = shift && st.min_col >= 1 ? 1 : 0;
    int rc = scan_error(&st, delta, de);
    if (rc)
        return rc;
    if (serve_grow((void **)&m->indices, &m->nz_cap, st.nnz, sizeof(uint32_t)) ||
        serve_grow((void **)&m->values, &m->val_cap, st.nnz, sizeof(float)))
        return oom(de);
    if ((rc = compress_rows(m, &st, delta, de)))
        return rc;
    m->nrow = st.rows_with;
    m->ncol = (uint64_t)(st.max_col - delta) + 1;
    return SMX_OK;
}
