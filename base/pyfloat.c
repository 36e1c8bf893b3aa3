/*
 * Numbers as Python writes and reads them, in one place. The container prints every number
 * with repr() of a Python float (serve's responses, the best_score attribute training stores)
 * and reads inference fields with float(); its training reads CSV and LIBSVM channels through
 * numpy/pandas, which take a narrower set of strings.
 *
 * repr: the shortest decimal string that reads back as the same double (David Gay's mode 0,
 * which CPython uses), then Python's layout: exponent form when the decimal exponent is
 * below -4 or at least 16 ("1e-05", "1e+16", two exponent digits at least), else fixed with
 * ".0" for integral values. The digits come from glibc's correctly rounded "%.*e": the
 * correctly rounded p-digit string is the closest p-digit string, so if any p-digit string
 * reads back, that one does (a binary search over p in 1..17). The one exception is a power
 * of two, whose rounding interval is narrower below than above: there the next p-digit
 * string above is tried as well. Doubles that are floats (serve's predictions) usually take a
 * faster exact path with 128-bit integers (float_shortest) that finds the same digits.
 *
 * Parsing: one scanner checks the grammar ([sign] digits [. digits] [e [sign] digits], or
 * nan/inf/infinity) and collects the first 19 significant digits. A decimal whose digits all
 * fit and whose power of ten is within 10^22 is converted exactly (Clinger's fast path: both
 * operands are exact doubles, so the one multiplication or division rounds correctly);
 * anything else goes through strtod, which rounds correctly too. The rules (SMX_NUM_PLAIN,
 * SMX_NUM_PYTHON in base.h) differ only in what the scanner accepts around the digits.
 */
#include "base.h"

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

/*
 * The same digits without printf or strtod for a double that is a float (serve's predictions):
 * v = m * 2^e2 with m < 2^24, so v is exactly N * 10^-k with N = m * 5^k (e2 = -k < 0) or
 * N = m * 2^e2 (k = 0), a 128-bit integer when -44 <= e2 <= 103. The double's rounding
 * interval is v +- 2^(e2-30) (its 53-bit mantissa is m << 29, even, so ties read back to v),
 * that is N +- R / 2^30 in units of 10^-k with R = 5^k or 2^e2. The correctly rounded p-digit
 * decimal D * 10^j (j = digits of N - p) reads back to v when |D * 10^j - N| * 2^30 <= R, and
 * then so do all longer ones: going down from 17 digits, the last that reads back is the
 * shortest, as in shortest(). 0 (the general path) for anything else: not a normal float, out
 * of range, a power of two (its interval is narrower below), or a p-digit rounding that is an
 * exact tie (printf would round it to even; the general path decides).
 */
__extension__ typedef unsigned __int128 u128;

static const uint64_t pow10_128[39][2] = {
    {0x0000000000000000u, 0x0000000000000001u}, {0x0000000000000000u, 0x000000000000000au},
    {0x0000000000000000u, 0x0000000000000064u}, {0x0000000000000000u, 0x00000000000003e8u},
    {0x0000000000000000u, 0x0000000000002710u}, {0x0000000000000000u, 0x00000000000186a0u},
    {0x0000000000000000u, 0x00000000000f4240u}, {0x0000000000000000u, 0x0000000000989680u},
    {0x0000000000000000u, 0x0000000005f5e100u}, {0x0000000000000000u, 0x000000003b9aca00u},
    {0x0000000000000000u, 0x00000002540be400u}, {0x0000000000000000u, 0x000000174876e800u},
    {0x0000000000000000u, 0x000000e8d4a51000u}, {0x0000000000000000u, 0x000009184e72a000u},
    {0x0000000000000000u, 0x00005af3107a4000u}, {0x0000000000000000u, 0x00038d7ea4c68000u},
    {0x0000000000000000u, 0x002386f26fc10000u}, {0x0000000000000000u, 0x016345785d8a0000u},
    {0x0000000000000000u, 0x0de0b6b3a7640000u}, {0x0000000000000000u, 0x8ac7230489e80000u},
    {0x0000000000000005u, 0x6bc75e2d63100000u}, {0x0000000000000036u, 0x35c9adc5dea00000u},
    {0x000000000000021eu, 0x19e0c9bab2400000u}, {0x000000000000152du, 0x02c7e14af6800000u},
    {0x000000000000d3c2u, 0x1bcecceda1000000u}, {0x0000000000084595u, 0x161401484a000000u},
    {0x000000000052b7d2u, 0xdcc80cd2e4000000u}, {0x00000000033b2e3cu, 0x9fd0803ce8000000u},
    {0x00000000204fce5eu, 0x3e25026110000000u}, {0x00000001431e0faeu, 0x6d7217caa0000000u},
    {0x0000000c9f2c9cd0u, 0x4674edea40000000u}, {0x0000007e37be2022u, 0xc0914b2680000000u},
    {0x000004ee2d6d415bu, 0x85acef8100000000u}, {0x0000314dc6448d93u, 0x38c15b0a00000000u},
    {0x0001ed09bead87c0u, 0x378d8e6400000000u}, {0x0013426172c74d82u, 0x2b878fe800000000u},
    {0x00c097ce7bc90715u, 0xb34b9f1000000000u}, {0x0785ee10d5da46d9u, 0x00f436a000000000u},
    {0x4b3b4ca85a86c47au, 0x098a224000000000u},
};

static const uint64_t pow5_128[45][2] = {
    {0x0000000000000000u, 0x0000000000000001u}, {0x0000000000000000u, 0x0000000000000005u},
    {0x0000000000000000u, 0x0000000000000019u}, {0x0000000000000000u, 0x000000000000007du},
    {0x0000000000000000u, 0x0000000000000271u}, {0x0000000000000000u, 0x0000000000000c35u},
    {0x0000000000000000u, 0x0000000000003d09u}, {0x0000000000000000u, 0x000000000001312du},
    {0x0000000000000000u, 0x000000000005f5e1u}, {0x0000000000000000u, 0x00000000001dcd65u},
    {0x0000000000000000u, 0x00000000009502f9u}, {0x0000000000000000u, 0x0000000002e90eddu},
    {0x0000000000000000u, 0x000000000e8d4a51u}, {0x0000000000000000u, 0x0000000048c27395u},
    {0x0000000000000000u, 0x000000016bcc41e9u}, {0x0000000000000000u, 0x000000071afd498du},
    {0x0000000000000000u, 0x0000002386f26fc1u}, {0x0000000000000000u, 0x000000b1a2bc2ec5u},
    {0x0000000000000000u, 0x000003782dace9d9u}, {0x0000000000000000u, 0x00001158e460913du},
    {0x0000000000000000u, 0x000056bc75e2d631u}, {0x0000000000000000u, 0x0001b1ae4d6e2ef5u},
    {0x0000000000000000u, 0x000878678326eac9u}, {0x0000000000000000u, 0x002a5a058fc295edu},
    {0x0000000000000000u, 0x00d3c21bcecceda1u}, {0x0000000000000000u, 0x0422ca8b0a00a425u},
    {0x0000000000000000u, 0x14adf4b7320334b9u}, {0x0000000000000000u, 0x6765c793fa10079du},
    {0x0000000000000002u, 0x04fce5e3e2502611u}, {0x000000000000000au, 0x18f07d736b90be55u},
    {0x0000000000000032u, 0x7cb2734119d3b7a9u}, {0x00000000000000fcu, 0x6f7c40458122964du},
    {0x00000000000004eeu, 0x2d6d415b85acef81u}, {0x00000000000018a6u, 0xe32246c99c60ad85u},
    {0x0000000000007b42u, 0x6fab61f00de36399u}, {0x000000000002684cu, 0x2e58e9b04570f1fdu},
    {0x00000000000c097cu, 0xe7bc90715b34b9f1u}, {0x00000000003c2f70u, 0x86aed236c807a1b5u},
    {0x00000000012ced32u, 0xa16a1b11e8262889u}, {0x0000000005e0a1fdu, 0x2712875988becaadu},
    {0x000000001d6329f1u, 0xc35ca4bfabb9f561u}, {0x0000000092efd1b8u, 0xd0cf37be5aa1cae5u},
    {0x00000002deaf189cu, 0x140c16b7c528f679u}, {0x0000000e596b7b0cu, 0x643c7196d9ccd05du},
    {0x00000047bf19673du, 0xf52e37f2410011d1u},
};

static u128 p10(int j)
{
    return (u128)pow10_128[j][0] << 64 | pow10_128[j][1];
}

static int float_shortest(double v, char *digits, int *e)
{
    float f = (float)v;
    if ((double)f != v)
        return 0;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    int ex = (int)(bits >> 23 & 0xff), e2 = ex - 150;
    uint32_t m = (bits & 0x7fffff) | 0x800000;
    if (ex == 0 || ex == 0xff || m == 0x800000 || e2 < -44 || e2 > 103)
        return 0;
    int k = e2 < 0 ? -e2 : 0;
    u128 n, r;
    if (e2 < 0) {
        r = (u128)pow5_128[k][0] << 64 | pow5_128[k][1];
        n = r * m;
    } else {
        r = (u128)1 << e2;
        n = (u128)m << e2;
    }
    u128 slack = r >> 30; /* |D * 10^j - N| may be at most this */
    int len = 1;
    while (len < 39 && n >= p10(len))
        len++;
    /* p = 17 (or all of N's digits), then one digit fewer at a time: tq = N / 10^j truncated,
     * rem = N % 10^j */
    int p = len < 17 ? len : 17, j = len - p;
    u128 div = p10(j);
    uint64_t tq = (uint64_t)(n / div), best = 0;
    u128 rem = n - (u128)tq * div;
    int best_j = -1;
    for (; p >= 1; p--) {
        uint64_t q = tq;
        u128 d = rem, half = div / 2;
        if (j) {
            if (rem == half)
                return 0;
            if (rem > half) {
                q++;
                d = div - rem;
            }
        }
        if (d > slack)
            break;
        best = q;
        best_j = j;
        rem += (u128)(tq % 10) * div;
        tq /= 10;
        div *= 10;
        j++;
    }
    if (best_j < 0)
        return 0;
    char tmp[24];
    int nd = 0;
    for (; best; best /= 10)
        tmp[nd++] = (char)('0' + (int)(best % 10));
    /* digits, most significant first, without trailing zeros */
    int lead = nd - 1, t = 0;
    while (t < nd - 1 && tmp[t] == '0')
        t++;
    int n_out = 0;
    for (int i = nd - 1; i >= t; i--)
        digits[n_out++] = tmp[i];
    digits[n_out] = '\0';
    *e = lead + best_j - k;
    return n_out;
}

/* Shortest round-trip digits (no trailing zeros) and decimal exponent. */
static int shortest(double v, char *digits, int *e)
{
    int fast = float_shortest(v, digits, e);
    if (fast)
        return fast;
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

size_t smx_pyrepr(double v, char out[SMX_PYREPR_MAX])
{
    return repr(v, out, "nan", "inf");
}

size_t smx_pyrepr_json(double v, char out[SMX_PYREPR_MAX])
{
    return repr(v, out, "NaN", "Infinity");
}

/* ---- parsing ----------------------------------------------------------------------------- */

#define PY_MAX_TOKEN 4096 /* serve's bound on one float() field, not Python's (it has none) */

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Python's str.strip() whitespace, ASCII part (Py_UNICODE_ISSPACE) */
static int py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static int is_digit(char c)
{
    return (unsigned)(c - '0') < 10;
}

/* s[0..n) is word, in any case */
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

/* What the scanner found: value = mant * 10^exp10 when nothing was dropped. */
typedef struct scan {
    const char *s;
    size_t n, i;     /* the token and the read position */
    int underscores; /* '_' between two digits is skipped (Python) */
    uint64_t mant;   /* the first 19 significant digits */
    int sig;         /* significant digits in mant (leading zeros do not count) */
    int dropped;     /* digits after those: the fast path cannot be used */
    long exp10;
} scan;

/*
 * A run of digits from sc->i (in the fraction when frac), with single underscores between
 * digits when sc->underscores. Returns the number of digits read (0: no digit first).
 */
static size_t digit_run(scan *sc, int frac)
{
    size_t nd = 0;
    while (sc->i < sc->n) {
        char c = sc->s[sc->i];
        if (is_digit(c)) {
            if (sc->sig < 19) {
                sc->mant = sc->mant * 10 + (uint64_t)(c - '0');
                if (sc->mant)
                    sc->sig++;
                if (frac)
                    sc->exp10--;
            } else {
                sc->dropped++;
                if (!frac)
                    sc->exp10++;
            }
            nd++;
        } else if (!(c == '_' && sc->underscores && nd && sc->i + 1 < sc->n &&
                     is_digit(sc->s[sc->i + 1]))) {
            break;
        }
        sc->i++;
    }
    return nd;
}

/* [e|E [sign] digits] at sc->i: adds the exponent to sc->exp10; 0 if an 'e' has no digits. */
static int exponent(scan *sc)
{
    if (sc->i >= sc->n || (sc->s[sc->i] != 'e' && sc->s[sc->i] != 'E'))
        return 1;
    sc->i++;
    int neg = 0;
    if (sc->i < sc->n && (sc->s[sc->i] == '-' || sc->s[sc->i] == '+'))
        neg = sc->s[sc->i++] == '-';
    long e = 0;
    size_t nd = 0;
    while (sc->i < sc->n) {
        char c = sc->s[sc->i];
        if (is_digit(c)) {
            if (e < 100000) /* beyond that the value is 0 or inf; strtod says which */
                e = e * 10 + (c - '0');
            nd++;
        } else if (!(c == '_' && sc->underscores && nd && sc->i + 1 < sc->n &&
                     is_digit(sc->s[sc->i + 1]))) {
            break;
        }
        sc->i++;
    }
    sc->exp10 += neg ? -e : e;
    return nd > 0;
}

/* The grammar was checked: let the C library round s[0..n) (underscores removed). */
static int slow_path(const char *s, size_t n, double *v)
{
    char stack[128];
    char *tmp = n < sizeof stack ? stack : malloc(n + 1);
    if (!tmp)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_')
            tmp[k++] = s[i];
    tmp[k] = '\0';
    char *end;
    *v = strtod(tmp, &end);
    int ok = end == tmp + k;
    if (tmp != stack)
        free(tmp);
    return ok;
}

int smx_number_parse(const char *s, size_t n, int rules, double *v)
{
    int python = rules == SMX_NUM_PYTHON;
    if (python) {
        while (n && py_space((unsigned char)*s)) {
            s++;
            n--;
        }
        while (n && py_space((unsigned char)s[n - 1]))
            n--;
        if (n > PY_MAX_TOKEN)
            return 0;
    }
    if (!n)
        return 0;
    scan sc = {.s = s, .n = n, .underscores = python};
    int neg = 0;
    if (s[0] == '-' || s[0] == '+')
        neg = s[sc.i++] == '-';
    size_t after_sign = sc.i;
    size_t nd = digit_run(&sc, 0);
    if (sc.i < n && s[sc.i] == '.') {
        sc.i++;
        nd += digit_run(&sc, 1);
    }
    if (!nd) {
        const char *w = s + after_sign;
        size_t wn = n - after_sign;
        if (ieq(w, wn, "inf") || ieq(w, wn, "infinity")) {
            *v = neg ? -INFINITY : INFINITY;
            return 1;
        }
        if (ieq(w, wn, "nan")) {
            /* Python keeps the sign of -nan; numpy and pandas read a plain NaN */
            *v = python && neg ? -NAN : NAN;
            return 1;
        }
        return 0;
    }
    if (!exponent(&sc) || sc.i != n)
        return 0;
    if (!sc.dropped && sc.mant <= (1ull << 53) && sc.exp10 >= -22 && sc.exp10 <= 22) {
        double d = (double)sc.mant;
        d = sc.exp10 < 0 ? d / pow10_exact[-sc.exp10] : d * pow10_exact[sc.exp10];
        *v = neg ? -d : d;
        return 1;
    }
    return slow_path(s, n, v);
}

int smx_pyfloat_parse(const char *s, size_t n, double *v)
{
    return smx_number_parse(s, n, SMX_NUM_PYTHON, v);
}
