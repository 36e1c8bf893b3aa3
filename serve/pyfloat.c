/*
 * Python's float repr and float() parsing, because the container prints every number with
 * repr() of a Python float (the float32 prediction widened to double) and parses CSV and
 * libsvm fields with float().
 *
 * repr: the shortest decimal string that reads back as the same double (David Gay's mode 0,
 * which CPython uses), then Python's layout: exponent form when the decimal exponent is
 * below -4 or at least 16 ("1e-05", "1e+16", two exponent digits at least), else fixed with
 * ".0" for integral values. The digits come from glibc's correctly rounded "%.*e": the
 * correctly rounded p-digit string is the closest p-digit string, so if any p-digit string
 * reads back, that one does (a binary search over p in 1..17). The one exception is a power
 * of two, whose rounding interval is narrower below than above: there the next p-digit
 * string above is tried as well.
 */
#include "serve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* digits of v (v > 0, finite) with p significant digits; returns decimal exponent e such that
 * v ~= d.ddd * 10^e. digits gets p chars (NUL-terminated). */
static int digits_p(double v, int p, char *digits)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
    char *d = digits;
    const char *s = tmp;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            *d++ = *s;
    *d = '\0';
    return atoi(s + 1);
}

static double read_back(const char *digits, int e)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%c.%se%d", digits[0], digits + 1, e);
    return strtod(tmp, NULL);
}

/* Increment a digit string by one unit in the last place; returns the new exponent. */
static int bump(char *digits, int e)
{
    int n = (int)strlen(digits);
    for (int i = n - 1; i >= 0; i--) {
        if (digits[i] < '9') {
            digits[i]++;
            return e;
        }
        digits[i] = '0';
    }
    /* 999 -> 1000: one more digit, drop the last to keep p digits */
    memmove(digits + 1, digits, (size_t)n);
    digits[0] = '1';
    digits[n] = '\0';
    return e + 1;
}

static int is_pow2(double v)
{
    int ex;
    double m = frexp(v, &ex);
    return m == 0.5;
}

static int try_p(double v, int p, char *digits, int *e)
{
    *e = digits_p(v, p, digits);
    if (read_back(digits, *e) == v)
        return 1;
    if (is_pow2(v)) {
        char up[24];
        memcpy(up, digits, (size_t)p + 1);
        int eu = bump(up, *e);
        if (read_back(up, eu) == v) {
            memcpy(digits, up, (size_t)p + 1);
            *e = eu;
            return 1;
        }
    }
    return 0;
}

/* 25 significant digits from one correctly rounded printf, from which the correctly rounded
 * p-digit strings (p <= 17) are derived without printing again, except when the digits
 * after p read 5000...0 (the 25-digit rounding may hide which side of the tie v is on) */
typedef struct wide {
    char d[32];
    int e;
} wide;

static int round_p(const wide *w, int p, char *digits, int *e)
{
    const char *d = w->d;
    int up;
    if (d[p] > '5') {
        up = 1;
    } else if (d[p] < '5') {
        up = 0;
    } else {
        int rest = 0;
        for (int i = p + 1; d[i]; i++)
            rest |= d[i] != '0';
        if (!rest)
            return 0; /* undecidable here */
        up = 1;
    }
    memcpy(digits, d, (size_t)p);
    digits[p] = '\0';
    *e = w->e;
    if (up)
        *e = bump(digits, *e);
    return 1;
}

static int try_fast(double v, const wide *w, int p, char *digits, int *e)
{
    if (!round_p(w, p, digits, e))
        return try_p(v, p, digits, e);
    if (read_back(digits, *e) == v)
        return 1;
    if (is_pow2(v))
        return try_p(v, p, digits, e);
    return 0;
}

/* Shortest round-trip digits (no trailing zeros) and decimal exponent. */
static int shortest(double v, char *digits, int *e)
{
    /* integers below 2^53 print their own digits */
    if (v < 9007199254740992.0 && v == floor(v)) {
        char tmp[24];
        int n = snprintf(tmp, sizeof tmp, "%.0f", v);
        *e = n - 1;
        while (n > 1 && tmp[n - 1] == '0')
            n--;
        memcpy(digits, tmp, (size_t)n);
        digits[n] = '\0';
        return n;
    }
    wide w;
    w.e = digits_p(v, 25, w.d);
    char best[24], d[24];
    int best_e, ed;
    /* most values need 16 or 17 digits: try 16, then 15, then search below */
    if (!try_fast(v, &w, 16, best, &best_e)) {
        if (!round_p(&w, 17, best, &best_e))
            best_e = digits_p(v, 17, best);
    } else if (try_fast(v, &w, 15, d, &ed)) {
        memcpy(best, d, sizeof d);
        best_e = ed;
        int lo = 1, hi = 15;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (try_fast(v, &w, mid, d, &ed)) {
                hi = mid;
                memcpy(best, d, sizeof d);
                best_e = ed;
            } else {
                lo = mid + 1;
            }
        }
    }
    int n = (int)strlen(best);
    while (n > 1 && best[n - 1] == '0')
        n--;
    best[n] = '\0';
    memcpy(digits, best, (size_t)n + 1);
    *e = best_e;
    return n;
}

static size_t repr(double v, char *out, const char *nan, const char *inf)
{
    char *o = out;
    if (isnan(v))
        return (size_t)sprintf(out, "%s", nan);
    if (signbit(v)) {
        *o++ = '-';
        v = -v;
    }
    if (isinf(v))
        return (size_t)(o - out) + (size_t)sprintf(o, "%s", inf);
    if (v == 0) {
        memcpy(o, "0.0", 4);
        return (size_t)(o - out) + 3;
    }
    char d[24];
    int e;
    int n = shortest(v, d, &e);
    int decpt = e + 1; /* value = 0.d1d2... * 10^decpt */
    if (decpt <= -4 || decpt > 16) {
        *o++ = d[0];
        if (n > 1) {
            *o++ = '.';
            memcpy(o, d + 1, (size_t)n - 1);
            o += n - 1;
        }
        o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (decpt <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -decpt; i++)
            *o++ = '0';
        memcpy(o, d, (size_t)n);
        o += n;
    } else if (decpt >= n) {
        memcpy(o, d, (size_t)n);
        o += n;
        for (int i = n; i < decpt; i++)
            *o++ = '0';
        *o++ = '.';
        *o++ = '0';
    } else {
        memcpy(o, d, (size_t)decpt);
        o += decpt;
        *o++ = '.';
        memcpy(o, d + decpt, (size_t)(n - decpt));
        o += n - decpt;
    }
    *o = '\0';
    return (size_t)(o - out);
}

size_t serve_pyrepr(double v, char out[SERVE_PYREPR_MAX])
{
    return repr(v, out, "nan", "inf");
}

size_t serve_pyrepr_json(double v, char out[SERVE_PYREPR_MAX])
{
    return repr(v, out, "NaN", "Infinity");
}

/* ---- float() ----------------------------------------------------------------------------- */

/* Python's str.strip() whitespace, ASCII part (Py_UNICODE_ISSPACE) */
static int py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static int ieq(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n != w)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return 1;
}

/* digits with single underscores between digits; returns chars consumed (0 = no digit) */
static size_t digit_run(const char *s, size_t n, char **o)
{
    size_t i = 0;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return 0;
    while (i < n) {
        if (s[i] >= '0' && s[i] <= '9') {
            *(*o)++ = s[i++];
        } else if (s[i] == '_' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
            i++;
        } else {
            break;
        }
    }
    return i;
}

int serve_pyfloat_parse(const char *s, size_t n, double *v)
{
    while (n && py_space((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && py_space((unsigned char)s[n - 1]))
        n--;
    if (!n || n > 4096)
        return 0;
    {
        /* fast path (Clinger): at most 15 digits and 22 decimals, exact m / 10^k */
        static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        size_t i = 0;
        int neg = 0, nd = 0, frac = -1, ok = 1;
        uint64_t m = 0;
        if (s[0] == '-' || s[0] == '+')
            neg = s[i++] == '-';
        for (; i < n; i++) {
            char c = s[i];
            if (c >= '0' && c <= '9') {
                m = m * 10 + (uint64_t)(c - '0');
                nd++;
                if (frac >= 0)
                    frac++;
            } else if (c == '.' && frac < 0) {
                frac = 0;
            } else {
                ok = 0;
                break;
            }
        }
        if (ok && nd > 0 && nd <= 15 && frac <= 22) {
            double d = (double)m;
            if (frac > 0)
                d /= p10[frac];
            *v = neg ? -d : d;
            return 1;
        }
    }
    char stackbuf[128];
    char *clean = n < sizeof stackbuf ? stackbuf : malloc(n + 1);
    if (!clean)
        return 0;
    char *o = clean;
    size_t i = 0;
    int neg = 0, ok = 0;
    if (s[i] == '+' || s[i] == '-') {
        neg = s[i] == '-';
        *o++ = s[i++];
    }
    const char *rest = s + i;
    size_t rn = n - i;
    if (ieq(rest, rn, "inf") || ieq(rest, rn, "infinity")) {
        *v = neg ? -INFINITY : INFINITY;
        ok = 2;
    } else if (ieq(rest, rn, "nan")) {
        *v = neg ? -NAN : NAN;
        ok = 2;
    } else {
        size_t a = digit_run(s + i, n - i, &o);
        i += a;
        size_t b = 0;
        if (i < n && s[i] == '.') {
            *o++ = s[i++];
            b = digit_run(s + i, n - i, &o);
            i += b;
        }
        if (a || b) {
            ok = 1;
            if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                *o++ = 'e';
                i++;
                if (i < n && (s[i] == '+' || s[i] == '-'))
                    *o++ = s[i++];
                size_t c = digit_run(s + i, n - i, &o);
                i += c;
                if (!c)
                    ok = 0;
            }
            if (i != n)
                ok = 0;
        }
    }
    if (ok == 1) {
        *o = '\0';
        *v = strtod(clean, NULL);
    }
    if (clean != stackbuf)
        free(clean);
    return ok != 0;
}
