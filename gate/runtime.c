/*
 * Runtimes: each container's own XGBoost, fetched once and cached for every later run.
 *
 * For one version: hold the version's lock (compat_runtime_lock: a second process fetching the
 * same version waits, then finds it cached), use the cached runtime when it is intact, else
 * choose the wheel pip would install on this machine, get it, and hand it to compat/ to verify
 * and cache. The wheel comes from the find-links folders when one there runs here (an
 * air-gapped machine never asks an index), else from the index (index.c). Among the files of
 * the version, wheels are ranked as pip ranks them for this platform (compat_wheel_rank: the
 * manylinux tag that needs the newest glibc this machine has); a yanked file is taken only
 * when nothing else runs (a container pins ==X.Y.Z, which PEP 592 still installs). When none
 * runs here, the outcome says what there is and why each one does not.
 *
 * The download is a scratch file in $TMPDIR (removed on a signal), resumed with a Range
 * request when a retry follows a partial body; it is removed once compat/ has extracted the
 * libraries from it: the cache keeps only those, keyed by the wheel's sha256.
 */
#include "gate_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Why file f cannot be used here (its rank 0). */
static long rank_file(const gate_index_file *f, const compat_platform *p, char *why, size_t n)
{
    compat_wheel_name w;
    if (compat_wheel_name_parse(f->filename, &w)) {
        snprintf(why, n, "a source distribution: smxgb uses wheels only");
        return 0;
    }
    long r = compat_wheel_rank(&w, p, why, n);
    return r ? r * 2 + !f->yanked : 0; /* a yanked file only when nothing else runs */
}

/* The best file of l for p: its index, or -1 with what there is and why nothing runs in why. */
static long select_wheel(const gate_index_list *l, const compat_platform *p, char *why, size_t n)
{
    long best = 0, at = -1;
    smx_buf b = SMX_BUF_INIT;
    for (size_t i = 0; i < l->n; i++) {
        char reason[300] = "";
        long r = rank_file(&l->files[i], p, reason, sizeof reason);
        if (r > best) {
            best = r;
            at = (long)i;
        } else if (!r) {
            smx_buf_printf(&b, "%s%s (%s)", b.len ? "; " : "", l->files[i].filename, reason);
        }
    }
    snprintf(why, n, "%.900s", b.data ? b.data : "");
    smx_buf_free(&b);
    return at;
}

/* The file to cache: from the folders, else from the index. *l holds it (l->files[*at]); *at -1
 * when none runs here (r->why says what there is). */
static int choose(const char *version, const gate_runtime_opts *o, gate_index_list *l, long *at,
                  gate_runtime_result *r, smx_err *err)
{
    compat_platform p;
    char plat[128], why[1000], seen[1200] = "";
    compat_platform_host(&p);
    compat_platform_str(&p, plat, sizeof plat);
    *at = -1;
    for (int from_index = 0; from_index < 2 && *at < 0; from_index++) {
        if (from_index ? o->index.no_index : !o->index.n_find_links)
            continue;
        gate_index_list_free(l);
        int rc = gate_index_list_files(&o->index, "xgboost", version, from_index, l, err);
        if (rc)
            return rc;
        *at = select_wheel(l, &p, why, sizeof why);
        size_t k = strlen(seen);
        if (*at < 0 && !l->n)
            snprintf(seen + k, sizeof seen - k, "%s%.500s has no file of xgboost %s", k ? "; " : "",
                     l->where, version);
        else if (*at < 0)
            snprintf(seen + k, sizeof seen - k, "%s%.300s has: %.800s", k ? "; " : "", l->where,
                     why);
    }
    if (*at < 0)
        snprintf(r->why, sizeof r->why,
                 "no wheel of xgboost %s runs on this machine (%.100s): %.800s", version, plat,
                 seen[0] ? seen : "no folder and no index to look in");
    return SMX_OK;
}

/* The chosen file as a local path: a folder's file as it is, an index's downloaded to scratch
 * (*tmp 1: the caller removes it). */
static int get_file(const char *version, const gate_index_file *f, const gate_runtime_opts *o,
                    gate_runtime_result *r, char **path, int *tmp, smx_err *err)
{
    *tmp = 0;
    if (f->local) {
        *path = strdup(f->url);
        return *path ? SMX_OK : smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    gate_fetch_opts fo = o->index.fetch;
    fo.resume = 1;
    fo.accept = NULL;
    int fd = gate__temp_file(&fo, "smxgb-wheel", path, err);
    if (fd < 0)
        return err->status;
    *tmp = 1;
    if (o->on_download)
        o->on_download(version, f, 0, o->ctx);
    gate_fetch_info info;
    memset(&info, 0, sizeof info);
    int rc = gate__fetch_fd(f->url, f->url, &fo, 0, fd, *path, &info, err);
    if (rc && info.status >= 400 && info.status < 500)
        rc = smx_fail(err, SMX_EIO,
                      "%s: HTTP %ld: the index lists %s there, but it cannot be "
                      "downloaded (a mirror out of step with its index?)",
                      f->url, info.status, f->filename);
    if (close(fd) && !rc)
        rc = smx_fail(err, SMX_EIO, "%s: %s", *path, strerror(errno));
    if (o->on_download)
        o->on_download(version, f, 1, o->ctx);
    r->bytes = info.bytes;
    r->attempts = info.attempts;
    r->resumed = info.resumed;
    return rc;
}

/* Choose, get and install version's wheel (the lock is held). */
static int fetch_locked(const char *version, const gate_runtime_opts *o, gate_runtime_result *r,
                        smx_err *err)
{
    char damaged[SMX_ERRMAX];
    snprintf(damaged, sizeof damaged, "%s", r->runtime.note);
    gate_index_list l = {0};
    long at = -1;
    int rc = choose(version, o, &l, &at, r, err);
    if (rc || at < 0) {
        r->outcome = GATE_RUNTIME_NO_WHEEL;
        gate_index_list_free(&l);
        return rc;
    }
    const gate_index_file *f = &l.files[at];
    snprintf(r->wheel, sizeof r->wheel, "%s", f->filename);
    snprintf(r->from, sizeof r->from, "%s", f->url);
    r->sha256_published = f->sha256[0] != '\0';
    char *path = NULL;
    int tmp = 0;
    rc = get_file(version, f, o, r, &path, &tmp, err);
    compat_runtime_wheel w = {path, f->filename, version, f->sha256[0] ? f->sha256 : NULL, f->url};
    if (!rc)
        rc = compat_runtime_install(&w, o->cache_dir, o->limits, &r->runtime, err);
    if (!rc) {
        r->outcome = GATE_RUNTIME_FETCHED;
        if (damaged[0])
            snprintf(r->runtime.note, sizeof r->runtime.note, "%s", damaged);
    }
    if (tmp && path)
        smx_scratch_remove(path);
    free(path);
    gate_index_list_free(&l);
    return rc;
}

int gate_runtime_fetch(const char *version, const gate_runtime_opts *o, gate_runtime_result *r,
                       smx_err *err)
{
    memset(r, 0, sizeof *r);
    int fd = -1;
    int rc = compat_runtime_lock(version, o->cache_dir, 0, &fd, err);
    if (rc == 1) { /* another process fetches it: wait, then it is most likely cached */
        if (o->on_wait)
            o->on_wait(version, o->ctx);
        rc = compat_runtime_lock(version, o->cache_dir, 1, &fd, err);
    }
    if (rc)
        return rc;
    rc = compat_runtime_find(version, o->cache_dir, &r->runtime, err);
    if (!rc && r->runtime.found)
        r->outcome = GATE_RUNTIME_CACHED;
    else if (!rc)
        rc = fetch_locked(version, o, r, err);
    compat_runtime_unlock(fd);
    return rc;
}

/* ---- the runtimes of a run ------------------------------------------------------------------ */

/* Try version once in this run. */
static int try_version(gate_runtimes *rs, const char *version, smx_err *err)
{
    for (size_t i = 0; i < rs->n; i++)
        if (compat_version_same(rs->tried[i].version, version))
            return SMX_OK;
    if (smx_grow((void **)&rs->tried, &rs->cap, rs->n + 1, sizeof *rs->tried))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    gate_runtime_try *t = &rs->tried[rs->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->version, sizeof t->version, "%s", version);
    smx_err ferr = {0};
    t->rc = gate_runtime_fetch(version, rs->opts, &t->r, &ferr);
    t->ok = !t->rc && t->r.outcome != GATE_RUNTIME_NO_WHEEL;
    if (t->rc == SMX_ENOMEM)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (t->rc)
        snprintf(t->error, sizeof t->error, "%s", ferr.msg);
    else if (!t->ok)
        snprintf(t->error, sizeof t->error, "%s", t->r.why);
    if (rs->on_result)
        rs->on_result(t, rs->opts->ctx);
    return SMX_OK;
}

int gate_runtimes_fetch(gate_runtimes *rs, const char *const *tags, size_t n, smx_err *err)
{
    const compat_container *table;
    size_t nt = 0;
    int rc = compat_containers(&table, &nt, err);
    for (size_t i = 0; !rc && i < (n ? n : nt); i++) {
        const compat_container *c = n ? compat_container_find(tags[i]) : &table[i];
        if (!c)
            return smx_fail(err, SMX_EINVAL, "unknown container '%s'", tags[i]);
        rc = try_version(rs, c->xgboost_str, err);
    }
    if (rc)
        return rc;
    /* the list for compat_verify, remade: its strings live in tried[], which may have moved */
    free(rs->missing);
    rs->missing = NULL;
    rs->n_missing = 0;
    if (rs->n && !(rs->missing = calloc(rs->n, sizeof *rs->missing)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    for (size_t i = 0; i < rs->n; i++)
        if (!rs->tried[i].ok)
            rs->missing[rs->n_missing++] =
                (compat_runtime_missing){rs->tried[i].version, rs->tried[i].error};
    return SMX_OK;
}

void gate_runtimes_free(gate_runtimes *rs)
{
    free(rs->tried);
    free(rs->missing);
    rs->tried = NULL;
    rs->missing = NULL;
    rs->n = rs->cap = rs->n_missing = 0;
}
