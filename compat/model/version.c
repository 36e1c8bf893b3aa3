/*
 * XGBoost versions: "1.7.4", "1.7" (a patch the bytes do not store), "0.90" (minor 90). The
 * container table, the readers' writer ranges, the load rules and the runtime all compare
 * versions the same way, so the three functions live here, at the bottom of compat.
 */
#include "model.h"

#include <stdio.h>

int compat_version_parse(const char *s, compat_version *v)
{
    int ma = 0, mi = 0, pa = -1, n = 0;
    if (!s)
        return -1;
    if (sscanf(s, "%d.%d.%d%n", &ma, &mi, &pa, &n) == 3 && s[n] == '\0') {
    } else if (sscanf(s, "%d.%d%n", &ma, &mi, &n) == 2 && s[n] == '\0') {
        pa = -1;
    } else {
        return -1;
    }
    /* "0.90" is minor 90 */
    v->major = ma;
    v->minor = mi;
    v->patch = pa;
    return 0;
}

int compat_version_cmp(compat_version a, compat_version b)
{
    if (a.major != b.major)
        return a.major < b.major ? -1 : 1;
    if (a.minor != b.minor)
        return a.minor < b.minor ? -1 : 1;
    int pa = a.patch < 0 ? 0 : a.patch, pb = b.patch < 0 ? 0 : b.patch;
    return pa < pb ? -1 : pa > pb;
}

const char *compat_version_str(compat_version v, char *buf, size_t n)
{
    if (v.patch >= 0)
        snprintf(buf, n, "%d.%d.%d", v.major, v.minor, v.patch);
    else if (v.major == 0)
        snprintf(buf, n, "%d.%02d", v.major, v.minor);
    else
        snprintf(buf, n, "%d.%d", v.major, v.minor);
    return buf;
}

int compat_version_in_writer_range(const compat_model_info *m, compat_version v)
{
    if (m->writer_min.major < 0 && m->writer_max.major < 0)
        return 0;
    if (m->writer_min.major >= 0 && compat_version_cmp(v, m->writer_min) < 0)
        return 0;
    if (m->writer_max.major >= 0) {
        compat_version hi = m->writer_max;
        if (hi.patch < 0) { /* any patch of that minor */
            if (v.major != hi.major)
                return v.major < hi.major;
            return v.minor <= hi.minor;
        }
        return compat_version_cmp(v, hi) <= 0;
    }
    return 1;
}

static int known(compat_version v)
{
    return v.major >= 0;
}

/* WORDS: open ranges and a patch the bytes do not store, said in words. */
static void writer_words(const compat_model_info *m, char *buf, size_t n, const char *pre)
{
    char a[32], b[32];
    compat_version lo = m->writer_min, hi = m->writer_max;
    if (m->writer_exact)
        snprintf(buf, n, "%s%s", pre, compat_version_str(lo, a, sizeof a));
    else if (!known(lo))
        snprintf(buf, n, "%s%s or older", pre, compat_version_str(hi, a, sizeof a));
    else if (!known(hi))
        snprintf(buf, n, "%s%s or later", pre, compat_version_str(lo, a, sizeof a));
    else if (hi.patch < 0 && lo.major == hi.major && lo.minor == hi.minor)
        snprintf(buf, n, "%s%d.%d.x", pre, hi.major, hi.minor);
    else
        snprintf(buf, n, "%s%s .. %s%s", pre, compat_version_str(lo, a, sizeof a),
                 compat_version_str(hi, b, sizeof b), hi.patch < 0 ? ".x" : "");
}

const char *compat_writer_text(const compat_model_info *m, char *buf, size_t n, unsigned flags)
{
    char a[32], b[32];
    const char *pre = flags & COMPAT_WRITER_PREFIX ? "XGBoost " : "";
    compat_version lo = m->writer_min, hi = m->writer_max;
    if (!known(lo) && !known(hi))
        snprintf(buf, n, "%s", flags & COMPAT_WRITER_PREFIX ? "an unknown XGBoost" : "unknown");
    else if (flags & COMPAT_WRITER_WORDS)
        writer_words(m, buf, n, pre);
    else if (m->writer_exact || !known(hi) || (known(lo) && !compat_version_cmp(lo, hi)))
        snprintf(buf, n, "%s%s", pre, compat_version_str(known(lo) ? lo : hi, a, sizeof a));
    else if (!known(lo))
        snprintf(buf, n, "%s<=%s%s", pre, flags & COMPAT_WRITER_PREFIX ? " " : "",
                 compat_version_str(hi, a, sizeof a));
    else
        snprintf(buf, n, "%s%s-%s", pre, compat_version_str(lo, a, sizeof a),
                 compat_version_str(hi, b, sizeof b));
    return buf;
}
