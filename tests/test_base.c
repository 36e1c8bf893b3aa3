/*
 * base/: numbers as Python writes and reads them. repr() and json.dumps() of a double against
 * values whose Python text is known (and a table Python wrote, tests/data/serve/pyrepr.txt);
 * float() on what Python accepts and refuses; and the training channels' plain rules, which
 * refuse what numpy and pandas refuse although float() takes it.
 */
#include "helpers.h"

#include "base/base.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- repr -------------------------------------------------------------------------------- */

static const char *r(double v)
{
    static char b[4][SMX_PYREPR_MAX];
    static int i;
    char *o = b[i++ & 3];
    size_t n = smx_pyrepr(v, o);
    cr_assert_eq(n, strlen(o));
    return o;
}

static const char *rj(double v)
{
    static char b[SMX_PYREPR_MAX];
    smx_pyrepr_json(v, b);
    return b;
}

Test(pyrepr, hard_cases)
{
    cr_expect_str_eq(r(0.1), "0.1");
    cr_expect_str_eq(r(1e-05), "1e-05");
    cr_expect_str_eq(r(0.0001), "0.0001");
    cr_expect_str_eq(r(1e16), "1e+16");
    cr_expect_str_eq(r(1e15), "1000000000000000.0");
    cr_expect_str_eq(r(NAN), "nan");
    cr_expect_str_eq(r(INFINITY), "inf");
    cr_expect_str_eq(r(-INFINITY), "-inf");
    cr_expect_str_eq(r(-0.0), "-0.0");
    cr_expect_str_eq(r(1.0), "1.0");
    cr_expect_str_eq(r((double)1e-45f), "1.401298464324817e-45"); /* float32 subnormal */
    cr_expect_str_eq(r(5e-324), "5e-324");                        /* double subnormal */
    cr_expect_str_eq(r((double)0.1f), "0.10000000149011612");
    cr_expect_str_eq(r((double)-0.58963406f), "-0.5896340608596802");
    /* a power of two: the shortest string lies above the correctly rounded 16 digits */
    cr_expect_str_eq(r(ldexp(1.0, -97)), "6.310887241768095e-30");
    cr_expect_str_eq(rj(NAN), "NaN");
    cr_expect_str_eq(rj(INFINITY), "Infinity");
    cr_expect_str_eq(rj(-INFINITY), "-Infinity");
    cr_expect_str_eq(rj(1e-05), "1e-05");
}

Test(pyrepr, matches_python_on_886_values)
{
    FILE *f = fopen(SMXGB_TESTDATA "/serve/pyrepr.txt", "r");
    cr_assert(f);
    char line[256];
    int n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        unsigned long long bits;
        char want[64], wantj[64];
        cr_assert_eq(sscanf(line, "%llx %63s %63s", &bits, want, wantj), 3);
        double v;
        memcpy(&v, &bits, sizeof v);
        char got[SMX_PYREPR_MAX], gotj[SMX_PYREPR_MAX];
        smx_pyrepr(v, got);
        smx_pyrepr_json(v, gotj);
        if (strcmp(got, want) || strcmp(gotj, wantj)) {
            bad++;
            cr_log_error("%016llx: got %s / %s, Python %s / %s", bits, got, gotj, want, wantj);
        }
        n++;
    }
    fclose(f);
    cr_expect_gt(n, 800);
    cr_expect_eq(bad, 0);
}

/* Significant digits of a repr() text: "0.00125" 3, "3.0" 1, "1.5e-07" 2. */
static int sig_digits(const char *t)
{
    char d[64];
    int n = 0;
    for (const char *p = t; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && (n || *p != '0'))
            d[n++] = *p;
    while (n > 1 && d[n - 1] == '0')
        n--;
    return n;
}

/* Does a p-digit decimal near v (the correctly rounded one, or one unit either side) read back
 * as v? */
static int shorter_reads_back(double v, int p)
{
    char t[64];
    snprintf(t, sizeof t, "%.*e", p - 1, v);
    if (strtod(t, NULL) == v)
        return 1;
    char *e = strchr(t, 'e');
    int ex = atoi(e + 1);
    long long dgt = 0;
    for (char *q = t; q < e; q++)
        if (*q >= '0' && *q <= '9')
            dgt = dgt * 10 + (*q - '0');
    for (int s = -1; s <= 1; s += 2) {
        char u[64];
        snprintf(u, sizeof u, "%llde%d", dgt + s, ex - (p - 1));
        if (strtod(u, NULL) == v)
            return 1;
    }
    return 0;
}

Test(pyrepr, floats_read_back_and_are_shortest)
{
    /* serve prints float32 predictions: random ones, prediction-like ones, probabilities */
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        float f;
        uint32_t bits = (uint32_t)s;
        if (i % 3 == 0)
            memcpy(&f, &bits, sizeof f);
        else if (i % 3 == 1)
            f = (float)((double)(s % 2000001) / 1e6 - 1);
        else
            f = 1.0f / (1.0f + expf(-(float)((double)(s % 40001) / 1000 - 20)));
        if (!isfinite(f) || f == 0)
            continue;
        const char *t = r(f);
        cr_assert_eq(strtod(t, NULL), (double)f, "%a: %s does not read back", (double)f, t);
        int n = sig_digits(t);
        cr_assert(n == 1 || !shorter_reads_back(f, n - 1), "%a: %s is not the shortest", (double)f,
                  t);
    }
}

/* ---- float() ----------------------------------------------------------------------------- */

static int pf(const char *s, double *v)
{
    return smx_pyfloat_parse(s, strlen(s), v);
}

Test(pyfloat, accepts_what_python_accepts)
{
    double v;
    cr_expect(pf("1_0", &v) && v == 10);
    cr_expect(pf("1e1_0", &v) && v == 1e10);
    cr_expect(pf(" 1.5\r", &v) && v == 1.5);
    cr_expect(pf("\v2\x1c", &v) && v == 2, "Python's whitespace includes \\v and \\x1c");
    cr_expect(pf("+.5", &v) && v == 0.5);
    cr_expect(pf("5.", &v) && v == 5);
    cr_expect(pf("-4", &v) && v == -4);
    cr_expect(pf("-0", &v) && v == 0 && signbit(v));
    cr_expect(pf("3.5e+0", &v) && v == 3.5);
    cr_expect(pf("2E-1", &v) && v == 0.2);
    cr_expect(pf("1e400", &v) && isinf(v));
    cr_expect(pf("1e-400", &v) && v == 0);
    cr_expect(pf("5e-324", &v) && v == 5e-324);
    cr_expect(pf("Infinity", &v) && isinf(v) && v > 0);
    cr_expect(pf("-inf", &v) && isinf(v) && v < 0);
    cr_expect(pf("NaN", &v) && isnan(v) && !signbit(v));
    cr_expect(pf("-nan", &v) && isnan(v) && signbit(v), "float('-nan') keeps its sign");
    cr_expect(pf("0.1", &v) && v == 0.1);
    cr_expect(pf("123456789012345678901234567890", &v) && v == 123456789012345678901234567890.0);
    cr_expect(pf("0.30000000000000004441", &v) && v == 0.30000000000000004);
    cr_expect(pf("9007199254740993", &v) && v == 9007199254740992.0, "ties round to even");
}

Test(pyfloat, rejects_what_python_rejects)
{
    double v;
    const char *bad[] = {"",        " ",    ".",     "0x10", "1d5",  "1__0", "_1",
                         "1_",      "1_.5", "1e",    "e5",   "nan1", "infi", "'0.1'",
                         "\"0.1\"", "1 2",  "0:0.1", "--1",  "a",    "1._5", "+-inf"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect(!pf(bad[i], &v), "accepted '%s'", bad[i]);
    cr_expect(!smx_pyfloat_parse("1\0", 2, &v), "an embedded NUL is not whitespace");
}

/* ---- the training channels' rules -------------------------------------------------------- */

static int plain(const char *s, double *v)
{
    return smx_number_parse(s, strlen(s), SMX_NUM_PLAIN, v);
}

Test(plain_numbers, same_values_as_float)
{
    const char *same[] = {"0.1",
                          "-4",
                          "5.",
                          "+.5",
                          "2E-1",
                          "1e400",
                          "1e-400",
                          "-0",
                          "5e-324",
                          "1.25E2",
                          "0.30000000000000004441",
                          "inf",
                          "-INF",
                          "Infinity",
                          "123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        double a, b;
        cr_expect(plain(same[i], &a), "refused '%s'", same[i]);
        cr_expect(pf(same[i], &b));
        cr_expect(!memcmp(&a, &b, sizeof a), "'%s': %.17g vs float() %.17g", same[i], a, b);
    }
}

Test(plain_numbers, refuses_what_numpy_and_pandas_refuse)
{
    double v;
    /* float() takes these; numpy.loadtxt and pandas.read_csv do not read them as numbers */
    const char *py_only[] = {"1_0", "1e1_0", " 1", "1 ", "\t2", "\v2"};
    for (size_t i = 0; i < sizeof py_only / sizeof *py_only; i++) {
        cr_expect(pf(py_only[i], &v), "float() refused '%s'", py_only[i]);
        cr_expect(!plain(py_only[i], &v), "accepted '%s'", py_only[i]);
    }
    const char *bad[] = {"", ".", "0x10", "1e", "e5", "nan1", "--1", "a", "1.2.3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect(!plain(bad[i], &v), "accepted '%s'", bad[i]);
}

Test(plain_numbers, nan_is_unsigned_and_long_tokens_are_read)
{
    double v;
    cr_expect(plain("-nan", &v) && isnan(v) && !signbit(v), "pandas reads -nan as NaN");
    /* float() here refuses a token over 4096 characters; the channel reader has no limit */
    size_t n = 5000;
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memset(s, '0', n);
    s[1] = '.';
    s[2] = '5';
    s[n] = '\0';
    cr_expect(smx_number_parse(s, n, SMX_NUM_PLAIN, &v) && v == 0.5, "a long decimal is read");
    cr_expect(!smx_pyfloat_parse(s, n, &v));
    free(s);
}
