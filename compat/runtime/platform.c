/*
 * Which pip wheel of XGBoost can run on this machine, decided as pip decides it.
 *
 * A wheel's file name says what it runs on (PEP 427: NAME-VERSION[-BUILD]-PYTHON-ABI-
 * PLATFORM.whl, each tag a '.'-separated set, PEP 425). XGBoost publishes
 * py3-none-manylinux...: the Python tags do not matter to a library loaded with dlopen, but
 * a tag set for Python 2 only is still refused (no Python 3 container installs it). The
 * platform decides: manylinux1 needs glibc 2.5, manylinux2010 2.12, manylinux2014 2.17,
 * manylinux_X_Y glibc X.Y (PEP 600), each for one architecture; linux_ARCH is a plain build
 * (pip's last choice); musllinux, macOS, Windows and pure-Python wheels never run here. Among
 * the wheels that run, the one whose manylinux tag needs the newest glibc is pip's choice, and
 * so the build a container with that glibc installed; py3-none breaks a tie.
 *
 * Before a library is loaded, its ELF header is compared with this machine (class and
 * architecture), so that a wheel for another machine gets a message saying so instead of the
 * dynamic loader's "invalid ELF header".
 */
#include "runtime.h"

#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

void compat_platform_host(compat_platform *p)
{
    memset(p, 0, sizeof *p);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(p->arch, sizeof p->arch, "%.31s", u.machine);
#ifdef __GLIBC__
    sscanf(gnu_get_libc_version(), "%d.%d", &p->glibc_major, &p->glibc_minor);
#endif
}

const char *compat_platform_str(const compat_platform *p, char *buf, size_t n)
{
    if (p->glibc_major)
        snprintf(buf, n, "Linux %s, glibc %d.%d", p->arch, p->glibc_major, p->glibc_minor);
    else
        snprintf(buf, n, "Linux %s without glibc", p->arch);
    return buf;
}

/* Copy the '-'-separated field [a, b) into out (n bytes); -1 when empty or too long. */
static int field(const char *a, const char *b, char *out, size_t n)
{
    if (b <= a || (size_t)(b - a) >= n)
        return -1;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
    return 0;
}

int compat_wheel_name_parse(const char *filename, compat_wheel_name *w)
{
    memset(w, 0, sizeof *w);
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    size_t len = strlen(base);
    if (len < 5 || strcmp(base + len - 4, ".whl"))
        return -1;
    const char *dash[6];
    int nd = 0;
    for (const char *p = base; p < base + len - 4; p++)
        if (*p == '-') {
            if (nd == 5)
                return -1;
            dash[nd++] = p;
        }
    if (nd != 4 && nd != 5)
        return -1;
    const char *end = base + len - 4;
    int k = 0;
    if (field(base, dash[0], w->project, sizeof w->project) ||
        field(dash[0] + 1, dash[1], w->version, sizeof w->version))
        return -1;
    if (nd == 5 && field(dash[1] + 1, dash[2], w->build, sizeof w->build))
        return -1;
    k = nd == 5 ? 2 : 1;
    if (field(dash[k] + 1, dash[k + 1], w->python, sizeof w->python) ||
        field(dash[k + 1] + 1, dash[k + 2], w->abi, sizeof w->abi) ||
        field(dash[k + 2] + 1, end, w->platform, sizeof w->platform))
        return -1;
    return 0;
}

/* Any tag of the set is for Python 3 (py3, py3X, cp3X, py2.py3...). */
static int python3(const char *tags)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", tags);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save))
        if ((!strncmp(t, "py3", 3) || !strncmp(t, "cp3", 3)) &&
            strspn(t + 3, "0123456789") == strlen(t + 3))
            return 1;
    return 0;
}

/* The glibc a platform tag needs, and its architecture; 0 for a tag that is not glibc Linux,
 * 1 for linux_ARCH (no stated need), else 2 + major * 1000 + minor. */
static long platform_need(const char *tag, char *arch, size_t n)
{
    static const struct {
        const char *prefix;
        int major, minor;
    } legacy[] = {{"manylinux1_", 2, 5}, {"manylinux2010_", 2, 12}, {"manylinux2014_", 2, 17}};
    for (size_t i = 0; i < sizeof legacy / sizeof *legacy; i++)
        if (!strncmp(tag, legacy[i].prefix, strlen(legacy[i].prefix))) {
            snprintf(arch, n, "%s", tag + strlen(legacy[i].prefix));
            return 2 + legacy[i].major * 1000L + legacy[i].minor;
        }
    int major, minor, used = 0;
    if (sscanf(tag, "manylinux_%d_%d_%n", &major, &minor, &used) == 2 && used > 0 && major > 0 &&
        minor >= 0 && minor < 1000) {
        snprintf(arch, n, "%s", tag + used);
        return 2 + major * 1000L + minor;
    }
    if (!strncmp(tag, "linux_", 6)) {
        snprintf(arch, n, "%s", tag + 6);
        return 1;
    }
    return 0;
}

/* Why a platform tag that is not glibc Linux cannot run here. */
static const char *other_platform(const char *tag)
{
    if (!strncmp(tag, "musllinux", 9))
        return "for musl libc";
    if (!strncmp(tag, "macosx", 6))
        return "for macOS";
    if (!strncmp(tag, "win", 3))
        return "for Windows";
    if (!strcmp(tag, "any"))
        return "pure Python, without a compiled library";
    return "for another platform";
}

/* The rank of one platform tag on p (0: does not run, with why). */
static long rank_tag(const char *tag, const compat_platform *p, char *why, size_t n)
{
    char arch[64] = "";
    long need = platform_need(tag, arch, sizeof arch);
    if (!need) {
        snprintf(why, n, "%s (%s)", other_platform(tag), tag);
        return 0;
    }
    if (strcmp(arch, p->arch)) {
        snprintf(why, n, "for %s (%s); this machine is %s", arch, tag, p->arch);
        return 0;
    }
    if (!p->glibc_major) {
        snprintf(why, n, "needs glibc (%s); this machine has another C library", tag);
        return 0;
    }
    long have = 2 + p->glibc_major * 1000L + p->glibc_minor;
    if (need > have) {
        snprintf(why, n, "needs glibc %ld.%ld (%s); this machine has %d.%d", (need - 2) / 1000,
                 (need - 2) % 1000, tag, p->glibc_major, p->glibc_minor);
        return 0;
    }
    return need;
}

long compat_wheel_rank(const compat_wheel_name *w, const compat_platform *p, char *why, size_t n)
{
    if (!python3(w->python)) {
        snprintf(why, n, "not for Python 3 (%s)", w->python);
        return 0;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", w->platform);
    long best = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
        char reason[256];
        long r = rank_tag(t, p, reason, sizeof reason);
        if (r > best)
            best = r;
        else if (!best && why && n)
            snprintf(why, n, "%s", reason);
    }
    if (!best)
        return 0;
    return best * 2 + !strcmp(w->abi, "none"); /* py3-none breaks a tie */
}

/* The numbers of a release ("1.7.4" -> 1,7,4); -1 for a part that is not a number. */
static size_t release(const char *v, long out[8])
{
    size_t k = 0;
    for (const char *p = v; *p && k < 8;) {
        if (!isdigit((unsigned char)*p))
            return (size_t)-1;
        char *end;
        out[k++] = strtol(p, &end, 10);
        if (*end && *end != '.')
            return (size_t)-1;
        p = *end ? end + 1 : end;
    }
    return k;
}

int compat_version_same(const char *a, const char *b)
{
    long ra[8], rb[8];
    size_t na = release(a, ra), nb = release(b, rb);
    if (na == (size_t)-1 || nb == (size_t)-1)
        return !strcmp(a, b); /* pre-releases and local versions: only the same text */
    for (size_t i = 0; i < 8 && (i < na || i < nb); i++)
        if ((i < na ? ra[i] : 0) != (i < nb ? rb[i] : 0)) /* 1.0 == 1.0.0 (PEP 440) */
            return 0;
    return 1;
}

/* ---- the library file itself ------------------------------------------------------------- */

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_X86_64:
        return "x86_64";
    case EM_AARCH64:
        return "aarch64";
    case EM_386:
        return "i386";
    case EM_ARM:
        return "arm";
    case EM_PPC64:
        return "ppc64";
    case EM_S390:
        return "s390x";
    default:
        return "an unknown architecture";
    }
}

int compat_lib_check(const char *path, smx_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return smx_fail(err, SMX_EIO, "XGBoost library %s: %s", path, strerror(errno));
    Elf64_Ehdr h;
    size_t got = fread(&h, 1, sizeof h, f);
    fclose(f);
    if (got == 0)
        return smx_fail(err, SMX_EFORMAT, "XGBoost library %s is empty (0 bytes)", path);
    if (got < EI_NIDENT + 4 || memcmp(h.e_ident, ELFMAG, SELFMAG))
        return smx_fail(err, SMX_EFORMAT,
                        "XGBoost library %s is not a shared library (no ELF header; %zu bytes "
                        "read)",
                        path, got);
    if (h.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32))
        return smx_fail(err, SMX_EFORMAT,
                        "XGBoost library %s is a %d-bit library; this machine runs %d-bit "
                        "programs",
                        path, h.e_ident[EI_CLASS] == ELFCLASS64 ? 64 : 32, (int)sizeof(void *) * 8);
    if (got < sizeof h)
        return smx_fail(err, SMX_EFORMAT, "XGBoost library %s is truncated (%zu bytes)", path, got);
    compat_platform host;
    compat_platform_host(&host);
    const char *mine = machine_name(h.e_machine);
    if (strcmp(mine, host.arch) && !(h.e_machine == EM_X86_64 && !strcmp(host.arch, "amd64")))
        return smx_fail(err, SMX_EFORMAT,
                        "XGBoost library %s is built for %s; this machine is %s (use the wheel "
                        "for %s)",
                        path, mine, host.arch, host.arch);
    return SMX_OK;
}
