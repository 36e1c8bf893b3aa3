/*
 * Pinned runtimes: each container's own XGBoost, cached by version for this machine.
 *
 * A runtime is a wheel's cache entry (wheel.c: CACHE/wheels/SHA256/, its files checked
 * against a manifest before use) plus a record that names it for a version:
 * CACHE/runtimes/xgboost-VERSION-ARCH.json with the wheel's file name, sha256 and source, and
 * the version its library reported. A record is written only after the wheel's sha256 matched
 * what the index publishes, its library was found to be built for this machine, and a helper
 * process (the load-check child) opened it and it reported exactly that version: a record
 * means "this machine runs XGBoost VERSION from here". Records are written to a temporary
 * file and renamed, so a reader sees a whole record or none.
 *
 * Nothing here downloads: gate/ fetches a wheel and hands it to compat_runtime_install, and
 * holds compat_runtime_lock around its look-up, download and install, so that two runs
 * fetching one version at once share one download and one entry. compat_runtime_find is what
 * every verb that runs a container's XGBoost calls: a damaged entry is removed (and the
 * caller told to fetch it again), never used.
 */
#include "runtime_private.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *compat_evidence_name(compat_evidence_kind e)
{
    switch (e) {
    case COMPAT_EVIDENCE_EXACT:
        return "load-exact";
    case COMPAT_EVIDENCE_STANDIN:
        return "load-standin";
    default:
        return "rules";
    }
}

/* CACHE/runtimes/xgboost-VERSION-ARCH.ext (malloc'd), or NULL when out of memory. */
static char *record_path(const char *root, const char *version, const char *ext)
{
    compat_platform p;
    compat_platform_host(&p);
    smx_buf b = SMX_BUF_INIT;
    smx_buf_printf(&b, "%s/runtimes/xgboost-%s-%s.%s", root, version, p.arch, ext);
    return b.data;
}

/* A version as it may appear in a file name: digits, letters, '.', '+', '_', '-'. */
static int version_ok(const char *v)
{
    if (!v || !*v || strlen(v) >= 32 || v[0] == '.')
        return 0;
    for (const char *p = v; *p; p++)
        if (!(('0' <= *p && *p <= '9') || ('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
              *p == '.' || *p == '+' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

static void copy_str(char *dst, size_t n, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(dst, n, "%s", v ? v : "");
}

/* ---- look-up ----------------------------------------------------------------------------- */

/* Fill rt from the record's JSON; -1 when it is not a record. */
static int read_record(const char *path, compat_runtime *rt)
{
    smx_buf b = SMX_BUF_INIT;
    if (smx_buf_read_file(&b, path, 1 << 16, NULL))
        return -1;
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    smx_buf_free(&b);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    copy_str(rt->loaded, sizeof rt->loaded, j, "loaded");
    copy_str(rt->wheel, sizeof rt->wheel, j, "wheel");
    copy_str(rt->sha256, sizeof rt->sha256, j, "sha256");
    copy_str(rt->source, sizeof rt->source, j, "source");
    copy_str(rt->cached_at, sizeof rt->cached_at, j, "cached_at");
    json_decref(j);
    return strlen(rt->sha256) == 64 && strspn(rt->sha256, "0123456789abcdef") == 64 && rt->loaded[0]
               ? 0
               : -1;
}

int compat_runtime_find(const char *version, const char *cache_dir, compat_runtime *rt,
                        smx_err *err)
{
    memset(rt, 0, sizeof *rt);
    if (!version_ok(version))
        return smx_fail(err, SMX_EINVAL, "'%s' is not an XGBoost version", version ? version : "");
    snprintf(rt->version, sizeof rt->version, "%s", version);
    char *root = NULL;
    int rc = compat_cache_root(cache_dir, &root, err);
    if (rc)
        return rc;
    char *rec = record_path(root, version, "json");
    smx_buf dir = SMX_BUF_INIT;
    char rel[1024], why[512];
    struct stat st;
    if (!rec) {
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    } else if (stat(rec, &st) != 0) {
        /* not cached */
    } else if (read_record(rec, rt) || smx_buf_printf(&dir, "%s/wheels/%s", root, rt->sha256)) {
        snprintf(rt->note, sizeof rt->note,
                 "the cache's record of xgboost %s (%s) was unreadable and was removed", version,
                 rec);
        unlink(rec);
    } else if (rtm_entry_check(dir.data, rel, sizeof rel, why, sizeof why)) {
        snprintf(rt->note, sizeof rt->note,
                 "the cached runtime of xgboost %s (%s) was damaged: %s; it was removed "
                 "(`smxgb runtime fetch %s` fetches it again)",
                 version, dir.data, why, version);
        rtm_entry_discard(dir.data);
        unlink(rec);
    } else if ((size_t)snprintf(rt->lib, sizeof rt->lib, "%s/%s", dir.data, rel) >=
               sizeof rt->lib) {
        rc = smx_fail(err, SMX_EINVAL, "the cache path %s is too long", dir.data);
    } else {
        rt->found = 1;
    }
    smx_buf_free(&dir);
    free(rec);
    free(root);
    return rc;
}

/* ---- the library runs here --------------------------------------------------------------- */

int compat_runtime_probe(const char *lib, const compat_load_limits *lim, char *version, size_t n,
                         smx_err *err)
{
    if (n)
        version[0] = '\0';
    int rc = compat_lib_check(lib, err);
    if (rc)
        return rc;
    /* the helper opens the library and writes its version before it loads anything; the file
     * it is then asked to load does not exist, which every version reports as an error */
    rtm_job jb = {rtm_max_memory(lim),
                  rtm_max_result(lim),
                  lib,
                  RTM_LOAD_FILE,
                  "/nonexistent/smxgb-runtime-probe",
                  NULL,
                  0,
                  NULL,
                  0,
                  0,
                  "",
                  ""};
    rtm_child cr;
    if ((rc = rtm_child_run(&jb, lim, &cr, err)))
        return rc;
    rtm_rd r = {cr.out.data, cr.out.len, 0};
    char got[64] = "", msg[SMX_ERRMAX] = "";
    rtm_get_str(&r, got, sizeof got);
    if (!r.bad && !got[0] && rtm_get_u64(&r) == RTM_MSG_ERR)
        rtm_get_str(&r, msg, sizeof msg);
    if (r.bad && !got[0])
        rtm_child_death(&cr, lim, msg, sizeof msg);
    smx_buf_free(&cr.out);
    if (!got[0])
        return smx_fail(err, SMX_ERUNTIME, "%s cannot run on this machine: %s", lib,
                        msg[0] ? msg : "the helper reported nothing");
    snprintf(version, n, "%s", got);
    return SMX_OK;
}

/* ---- install ----------------------------------------------------------------------------- */

static int write_record(const char *root, const compat_runtime *rt, smx_err *err)
{
    compat_platform p;
    compat_platform_host(&p);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "version", rt->version, "loaded",
                          rt->loaded, "wheel", rt->wheel, "sha256", rt->sha256, "source",
                          rt->source, "arch", p.arch, "cached_at", rt->cached_at);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    char *rec = record_path(root, rt->version, "json");
    smx_buf tmp = SMX_BUF_INIT, dir = SMX_BUF_INIT;
    smx_buf_printf(&tmp, "%s.tmp-%ld", rec ? rec : "", (long)getpid());
    smx_buf_printf(&dir, "%s/runtimes", root);
    int rc = SMX_OK;
    if (!text || !rec || !tmp.data || !dir.data)
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    else if (rtm_mkdirs(dir.data))
        rc = smx_fail(err, SMX_EIO, "cannot create %s: %s", dir.data, strerror(errno));
    FILE *f = rc ? NULL : fopen(tmp.data, "wb");
    if (!rc && (!f || fputs(text, f) < 0 || fputc('\n', f) < 0))
        rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", tmp.data, strerror(errno));
    if (f && fclose(f) && !rc)
        rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", tmp.data, strerror(errno));
    if (!rc && rename(tmp.data, rec))
        rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", rec, strerror(errno));
    if (rc && tmp.data)
        unlink(tmp.data);
    free(text);
    free(rec);
    smx_buf_free(&tmp);
    smx_buf_free(&dir);
    return rc;
}

/* The wheel is the one published, and for the version asked for. */
static int check_wheel(const compat_runtime_wheel *w, compat_runtime *rt, smx_err *err)
{
    const char *base = strrchr(w->path, '/');
    base = base ? base + 1 : w->path;
    snprintf(rt->wheel, sizeof rt->wheel, "%s", w->name && *w->name ? w->name : base);
    compat_wheel_name wn;
    if (!compat_wheel_name_parse(rt->wheel, &wn) && !compat_version_same(wn.version, w->version))
        return smx_fail(err, SMX_EINVAL, "%s is a wheel of version %s, not %s", rt->wheel,
                        wn.version, w->version);
    int rc = rtm_sha256_file(w->path, rt->sha256, NULL, err);
    if (rc)
        return rc;
    if (w->sha256 && *w->sha256 && strcasecmp(w->sha256, rt->sha256))
        return smx_fail(err, SMX_EFORMAT,
                        "%s: its sha256 is %s, but the index publishes %s: the download is "
                        "damaged or not the file the index lists; nothing was cached",
                        rt->wheel, rt->sha256, w->sha256);
    return SMX_OK;
}

int compat_runtime_install(const compat_runtime_wheel *w, const char *cache_dir,
                           const compat_load_limits *lim, compat_runtime *rt, smx_err *err)
{
    memset(rt, 0, sizeof *rt);
    if (!version_ok(w->version))
        return smx_fail(err, SMX_EINVAL, "'%s' is not an XGBoost version", w->version);
    snprintf(rt->version, sizeof rt->version, "%s", w->version);
    snprintf(rt->source, sizeof rt->source, "%s", w->source ? w->source : w->path);
    char *root = NULL, *dir = NULL, rel[1024];
    int rc = check_wheel(w, rt, err);
    if (!rc)
        rc = compat_cache_root(cache_dir, &root, err);
    if (!rc)
        rc = rtm_wheel_entry(w->path, rt->sha256, root, &dir, rel, sizeof rel, rt->note,
                             sizeof rt->note, err);
    if (!rc && (size_t)snprintf(rt->lib, sizeof rt->lib, "%s/%s", dir, rel) >= sizeof rt->lib)
        rc = smx_fail(err, SMX_EINVAL, "the cache path %s is too long", dir);
    if (!rc)
        rc = compat_runtime_probe(rt->lib, lim, rt->loaded, sizeof rt->loaded, err);
    if (!rc && !compat_version_same(rt->loaded, w->version))
        rc = smx_fail(err, SMX_EFORMAT,
                      "%s: its library is XGBoost %s, not %s; it was not cached as %s", rt->wheel,
                      rt->loaded, w->version, w->version);
    time_t now = time(NULL);
    struct tm tm;
    if (!rc && gmtime_r(&now, &tm))
        strftime(rt->cached_at, sizeof rt->cached_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!rc)
        rc = write_record(root, rt, err);
    rt->found = rc == SMX_OK;
    free(root);
    free(dir);
    return rc;
}

/* ---- one fetch of a version at a time ---------------------------------------------------- */

int compat_runtime_lock(const char *version, const char *cache_dir, int wait, int *fd, smx_err *err)
{
    *fd = -1;
    if (!version_ok(version))
        return smx_fail(err, SMX_EINVAL, "'%s' is not an XGBoost version", version ? version : "");
    char *root = NULL;
    int rc = compat_cache_root(cache_dir, &root, err);
    if (rc)
        return rc;
    char *path = record_path(root, version, "lock");
    smx_buf dir = SMX_BUF_INIT;
    smx_buf_printf(&dir, "%s/runtimes", root);
    int f = -1;
    if (!path || !dir.data)
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    else if (rtm_mkdirs(dir.data))
        rc = smx_fail(err, SMX_EIO, "cannot create %s: %s", dir.data, strerror(errno));
    else if ((f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        rc = smx_fail(err, SMX_EIO, "cannot open %s: %s", path, strerror(errno));
    while (!rc && flock(f, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK && !wait)
            rc = 1; /* busy */
        else
            rc = smx_fail(err, SMX_EIO, "cannot lock %s: %s", path, strerror(errno));
    }
    if (rc && f >= 0)
        close(f);
    else if (!rc)
        *fd = f;
    free(path);
    free(root);
    smx_buf_free(&dir);
    return rc;
}

void compat_runtime_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the lock */
}

/* ---- which XGBoost runs a container's model ---------------------------------------------- */

int compat_runtime_choose(const char *version, const char *explicit_lib, const char *cache_dir,
                          compat_runtime_choice *ch, smx_err *err)
{
    memset(ch, 0, sizeof *ch);
    const char *env = getenv("SMXGB_XGBOOST_LIB");
    if (explicit_lib && *explicit_lib) {
        ch->evidence = COMPAT_EVIDENCE_STANDIN;
        snprintf(ch->lib, sizeof ch->lib, "%s", explicit_lib);
        snprintf(ch->why, sizeof ch->why, "the XGBoost library given (%s)", explicit_lib);
        return SMX_OK;
    }
    if (env && *env) {
        ch->evidence = COMPAT_EVIDENCE_STANDIN;
        snprintf(ch->lib, sizeof ch->lib, "%s", env);
        snprintf(ch->why, sizeof ch->why, "$SMXGB_XGBOOST_LIB (%s)", env);
        return SMX_OK;
    }
    int rc = compat_runtime_find(version, cache_dir, &ch->runtime, err);
    if (rc)
        return rc;
    if (ch->runtime.found) {
        ch->evidence = COMPAT_EVIDENCE_EXACT;
        snprintf(ch->lib, sizeof ch->lib, "%s", ch->runtime.lib);
        snprintf(ch->why, sizeof ch->why, "the cached runtime of xgboost %s (%s)", version,
                 ch->runtime.wheel);
        return SMX_OK;
    }
    ch->evidence = COMPAT_EVIDENCE_STANDIN;
    snprintf(ch->why, sizeof ch->why,
             "no runtime of xgboost %s is cached for this machine (`smxgb runtime fetch %s`); "
             "the system's XGBoost stands in%s%.700s",
             version, version, ch->runtime.note[0] ? ": " : "", ch->runtime.note);
    return SMX_OK;
}
