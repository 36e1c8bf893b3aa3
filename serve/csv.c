/*
 * text/csv requests, parsed by the container's rules (encoder.csv_to_dmatrix in XC 1.7-1):
 *
 *   payload.strip().decode("utf-8")
 *   delimiter = csv.Sniffer().sniff(first_line[:512]).delimiter, "," if alphanumeric
 *   rows = payload.split("\n"); fields = row.split(delimiter); "" -> "nan"
 *   np.array(rows)            -> ValueError "inhomogeneous shape" for ragged rows
 *   .astype(float)            -> ValueError "could not convert string to float: 'x'"
 *   xgb.DMatrix(arr)          -> XGBoostError for inf (after the cast to float32)
 *
 * The sniffer is CPython's, reduced to what one line can do: the four quote patterns of
 * _guess_quote_and_delimiter, then _guess_delimiter's frequency table (every ASCII character
 * of a single line is "consistent", so one candidate wins outright, else the first of
 * ",\t; :" present, else the most frequent, ties to the highest code point). That is why a
 * one-column payload such as "0.5" sniffs as '5' and is then read with ','.
 *
 * One pass parses straight into the float buffer while checking the shape; the first
 * conversion error is remembered and reported only if the shape is sound, as numpy would.
 * Plain decimals (the usual payload) are converted in line; anything else goes through the
 * one float() parser (smx_pyfloat_parse), and both round correctly, so they agree.
 */
#include "serve_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ascii_word(unsigned char c)
{
    /* \w for ASCII; non-ASCII characters are treated as word characters */
    return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

static int delim_class(unsigned char c)
{
    return !ascii_word(c) && c != '\n' && c != '"' && c != '\'';
}

static int is_quote(unsigned char c)
{
    return c == '"' || c == '\'';
}

/* _guess_quote_and_delimiter on one line: the delimiter found next to quotes, or 0. */
static char guess_quote_delim(const unsigned char *s, size_t n)
{
    unsigned counts[256] = {0};
    unsigned char order[256];
    size_t n_order = 0, n_matches = 0;
#define TALLY(c)                                                                                   \
    do {                                                                                           \
        if (!counts[(c)]++)                                                                        \
            order[n_order++] = (c);                                                                \
    } while (0)
    /* 1: ,".*?", (findall, non-overlapping) */
    for (size_t i = 0; i + 2 < n;) {
        size_t adv = 1;
        if (delim_class(s[i])) {
            size_t j = i + 1;
            if (s[j] == ' ' && j + 1 < n && is_quote(s[j + 1]))
                j++;
            if (is_quote(s[j])) {
                for (size_t k = j + 1; k + 1 < n; k++)
                    if (s[k] == s[j] && s[k + 1] == s[i]) {
                        TALLY(s[i]);
                        n_matches++;
                        adv = k + 2 - i;
                        break;
                    }
            }
        }
        i += adv;
    }
    if (!n_matches && n >= 3 && is_quote(s[0])) {
        /* 2: ^".*?", */
        for (size_t k = 1; k + 1 < n; k++)
            if (s[k] == s[0] && delim_class(s[k + 1])) {
                TALLY(s[k + 1]);
                n_matches++;
                break;
            }
    }
    if (!n_matches && n >= 3 && is_quote(s[n - 1])) {
        /* 3: ,".*?"$ (leftmost start) */
        for (size_t i = 0; i + 2 < n && !n_matches; i++) {
            if (!delim_class(s[i]))
                continue;
            size_t j = i + 1;
            if (s[j] == ' ' && j + 1 < n && is_quote(s[j + 1]))
                j++;
            if (is_quote(s[j]) && s[j] == s[n - 1] && n - 1 > j) {
                TALLY(s[i]);
                n_matches++;
            }
        }
    }
#undef TALLY
    /* 4: ^".*?"$ has no delimiter group; no match at all: no delimiter either */
    if (!n_order)
        return 0;
    unsigned char best = order[0];
    for (size_t i = 1; i < n_order; i++)
        if (counts[order[i]] > counts[best])
            best = order[i];
    return best == '\n' ? 0 : (char)best;
}

/* _guess_delimiter on one line. */
static char guess_delim(const unsigned char *s, size_t n)
{
    unsigned freq[128] = {0};
    for (size_t i = 0; i < n; i++)
        if (s[i] < 127)
            freq[s[i]]++;
    int n_present = 0, only = -1;
    for (int c = 0; c < 127; c++)
        if (freq[c]) {
            n_present++;
            only = c;
        }
    if (n_present == 0)
        return 0;
    if (n_present == 1)
        return (char)only;
    static const char preferred[] = {',', '\t', ';', ' ', ':'};
    for (size_t i = 0; i < sizeof preferred; i++)
        if (freq[(unsigned char)preferred[i]])
            return preferred[i];
    int best = -1;
    for (int c = 0; c < 127; c++)
        if (freq[c] && (best < 0 || freq[c] >= freq[best]))
            best = c;
    return (char)best;
}

/* first 512 characters (code points) of the line */
static size_t sample_len(const unsigned char *s, size_t n)
{
    size_t chars = 0, i = 0;
    for (; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            if (chars == 512)
                break;
            chars++;
        }
    }
    return i;
}

int serve_csv_sniff(const char *line, size_t n, char *delim)
{
    const unsigned char *s = (const unsigned char *)line;
    n = sample_len(s, n);
    /* every quote pattern needs a quote character; the usual payload has none */
    int quotes = memchr(s, '"', n) || memchr(s, '\'', n);
    char d = quotes ? guess_quote_delim(s, n) : 0;
    if (!d)
        d = guess_delim(s, n);
    if (!d)
        return 0;
    unsigned char c = (unsigned char)d;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        d = ',';
    *delim = d;
    return 1;
}

/* ---- helpers shared with libsvm.c -------------------------------------------------------- */

static int bytes_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

void serve_strip(const char **buf, size_t *len)
{
    const char *b = *buf;
    size_t n = *len;
    while (n && bytes_space((unsigned char)*b)) {
        b++;
        n--;
    }
    while (n && bytes_space((unsigned char)b[n - 1]))
        n--;
    *buf = b;
    *len = n;
}

/* bytes.decode("utf-8") check; 0 if valid, else fills de with Python's message */
int serve_utf8_check(const char *buf, size_t len, serve_derr *de)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    while (i < len) {
        /* ASCII, 8 bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else {
            de->pytype = "<class 'UnicodeDecodeError'>";
            snprintf(de->msg, sizeof de->msg,
                     "'utf-8' codec can't decode byte 0x%02x in position %zu: invalid start byte",
                     c, i);
            return -1;
        }
        for (size_t k = 1; k <= need; k++) {
            unsigned lim_lo = k == 1 ? lo : 0x80, lim_hi = k == 1 ? hi : 0xBF;
            if (i + k >= len || s[i + k] < lim_lo || s[i + k] > lim_hi) {
                const char *why =
                    i + k >= len ? "unexpected end of data" : "invalid continuation byte";
                de->pytype = "<class 'UnicodeDecodeError'>";
                if (k == 1)
                    snprintf(de->msg, sizeof de->msg,
                             "'utf-8' codec can't decode byte 0x%02x in position %zu: %s", c, i,
                             why);
                else
                    snprintf(de->msg, sizeof de->msg,
                             "'utf-8' codec can't decode bytes in position %zu-%zu: %s", i,
                             i + k - 1, why);
                return -1;
            }
        }
        i += need + 1;
    }
    return 0;
}

/* Python repr() of a str (ASCII-faithful; other characters copied as they are). */
void serve_pystr_repr(const char *s, size_t n, char *out, size_t cap)
{
    int has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    size_t o = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < cap)                                                                           \
            out[o++] = (ch);                                                                       \
    } while (0)
    PUT(q);
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == (unsigned char)q || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c == '\t') {
            PUT('\\');
            PUT('t');
        } else if (c == '\n') {
            PUT('\\');
            PUT('n');
        } else if (c == '\r') {
            PUT('\\');
            PUT('r');
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        } else {
            PUT((char)c);
        }
    }
    PUT(q);
#undef PUT
    out[o < cap ? o : cap - 1] = '\0';
}

void serve_xgb_inf_error(serve_derr *de)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    de->pytype = "<class 'xgboost.core.XGBoostError'>";
    snprintf(de->msg, sizeof de->msg,
             "[%02d:%02d:%02d] ./src/data/data.cc:1104: Check failed: valid: Input data contains "
             "`inf` or `nan`",
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void serve_matrix_free(serve_matrix *m)
{
    free(m->x);
    free(m->indptr);
    free(m->indices);
    free(m->values);
    free(m->scratch);
    free(m->scratch2);
    memset(m, 0, sizeof *m);
}

static int nomem(serve_derr *de)
{
    de->pytype = "<class 'MemoryError'>";
    snprintf(de->msg, sizeof de->msg, "out of memory");
    return SMX_ENOMEM;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * The common field, [sign] digits [. digits] up to the delimiter or the line's end, at a
 * glance: its value as smx_pyfloat_parse reads it (Clinger's fast path: at most 19 digits, a
 * mantissa within 2^53 and at most 22 decimals, so that one division of exact doubles rounds
 * correctly). 0 for anything else, which the caller hands to
 * smx_pyfloat_parse; *end is where the field ends when 1.
 */
static int plain_number(const char *p, const char *le, char delim, double *v, const char **end)
{
    const char *s = p;
    int neg = 0, digits, frac = 0;
    uint64_t mant = 0;
    if (s < le && (*s == '-' || *s == '+'))
        neg = *s++ == '-';
    const char *d0 = s;
    for (unsigned c; s < le && (c = (unsigned)(*s - '0')) < 10; s++)
        mant = mant * 10 + c;
    digits = (int)(s - d0);
    if (s < le && *s == '.') {
        const char *f0 = ++s;
        for (unsigned c; s < le && (c = (unsigned)(*s - '0')) < 10; s++)
            mant = mant * 10 + c;
        frac = (int)(s - f0);
        digits += frac;
    }
    /* at most 19 digits (leading zeros included) cannot overflow the mantissa */
    if (!digits || digits > 19 || frac > 22 || (s < le && *s != delim) || mant > (1ull << 53))
        return 0;
    double d = (double)mant / pow10_exact[frac];
    *v = neg ? -d : d;
    *end = s;
    return 1;
}

/* One field [f, fe) into x: "" is missing, else float(); *bad keeps the first failure. */
static void field_value(const char *f, const char *fe, float *x, const char **bad, size_t *bad_len)
{
    double v;
    if (fe == f) {
        *x = NAN;
    } else if (smx_pyfloat_parse(f, (size_t)(fe - f), &v)) {
        *x = (float)v;
    } else {
        *x = NAN;
        if (!*bad) {
            *bad = f;
            *bad_len = (size_t)(fe - f);
        }
    }
}

typedef struct csv_state {
    serve_matrix *m;
    size_t nvals;
    int ragged; /* stop storing values: the shape error wins */
    const char *bad;
    size_t bad_len;
} csv_state;

/* The fields of the line [p, le) into st->m->x; returns their count, or -1 out of memory. */
static int64_t parse_line(csv_state *st, const char *p, const char *le, char delim)
{
    int64_t cols = 0;
    const char *f = p;
    for (;;) {
        const char *fe;
        if (!st->ragged) {
            if (serve_grow((void **)&st->m->x, &st->m->x_cap, st->nvals + 1, sizeof(float)))
                return -1;
            double v;
            if (plain_number(f, le, delim, &v, &fe)) {
                st->m->x[st->nvals] = (float)v;
            } else {
                fe = memchr(f, delim, (size_t)(le - f));
                fe = fe ? fe : le;
                field_value(f, fe, &st->m->x[st->nvals], &st->bad, &st->bad_len);
            }
            st->nvals++;
        } else {
            fe = memchr(f, delim, (size_t)(le - f));
            fe = fe ? fe : le;
        }
        cols++;
        if (fe == le)
            return cols;
        f = fe + 1;
    }
}

int serve_csv_decode(const char *buf, size_t len, serve_matrix *m, serve_derr *de)
{
    m->sparse = 0;
    m->nrow = m->ncol = 0;
    serve_strip(&buf, &len);
    if (serve_utf8_check(buf, len, de))
        return SMX_EFORMAT;
    const char *nl = memchr(buf, '\n', len);
    size_t first = nl ? (size_t)(nl - buf) : len;
    char delim;
    if (!serve_csv_sniff(buf, first, &delim)) {
        de->pytype = "<class '_csv.Error'>";
        snprintf(de->msg, sizeof de->msg, "Could not determine delimiter");
        return SMX_EFORMAT;
    }
    const char *p = buf, *end = buf + len;
    uint64_t nrow = 0, ncol = 0;
    csv_state st = {m, 0, 0, NULL, 0};
    for (;;) {
        const char *le = memchr(p, '\n', (size_t)(end - p));
        if (!le)
            le = end;
        int64_t cols = parse_line(&st, p, le, delim);
        if (cols < 0)
            return nomem(de);
        if (nrow == 0)
            ncol = (uint64_t)cols;
        else if ((uint64_t)cols != ncol)
            st.ragged = 1;
        nrow++;
        if (le == end)
            break;
        p = le + 1;
    }
    if (st.ragged) {
        de->pytype = "<class 'ValueError'>";
        snprintf(de->msg, sizeof de->msg,
                 "setting an array element with a sequence. The requested array has an "
                 "inhomogeneous shape after 1 dimensions. The detected shape was (%llu,) + "
                 "inhomogeneous part.",
                 (unsigned long long)nrow);
        return SMX_EFORMAT;
    }
    if (st.bad) {
        char r[256];
        serve_pystr_repr(st.bad, st.bad_len, r, sizeof r);
        de->pytype = "<class 'ValueError'>";
        snprintf(de->msg, sizeof de->msg, "could not convert string to float: %s", r);
        return SMX_EFORMAT;
    }
    for (size_t i = 0; i < st.nvals; i++)
        if (isinf(m->x[i])) {
            serve_xgb_inf_error(de);
            return SMX_EFORMAT;
        }
    m->nrow = nrow;
    m->ncol = ncol;
    return SMX_OK;
}
