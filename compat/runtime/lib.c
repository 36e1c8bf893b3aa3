/*
 * The one wrapper around the XGBoost C API.
 *
 * libxgboost is loaded with dlopen, never linked, so that the same smxgb binary can check a
 * model against Debian's 1.7.4 or against the exact build a container pins (a library path,
 * or the libxgboost.so inside a pip wheel). Only functions the loaded version exports are
 * resolved; a wrapper whose function is missing says so instead of crashing. XGBoost's log
 * output is captured through XGBRegisterLogCallback (never printed by library code), and its
 * error text is taken from XGBGetLastError, first line only (the rest is a stack trace).
 *
 * This file opens and closes the library, captures its log and errors, and owns the
 * per-thread proxy matrices of in-place prediction; boosters (booster.c), prediction
 * (predict.c) and training (dmatrix.c) call through the resolved pointers.
 *
 * Loading an untrusted model can abort or crash some XGBoost versions: callers that load
 * outside input do it in a child process (loadcheck.c), not here.
 */
#include "runtime_private.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *default_libs[] = {"libxgboost.so", "libxgboost.so.0", NULL};

/* ---- captured log ------------------------------------------------------------------------ */

static _Thread_local smx_buf tlog;

static void log_cb(const char *msg)
{
    if (tlog.len < 65536) {
        if (tlog.len)
            smx_buf_append(&tlog, "\n", 1);
        smx_buf_puts(&tlog, msg);
    }
}

const char *compat_xgb_log(void)
{
    return tlog.data ? tlog.data : "";
}
void compat_xgb_log_clear(void)
{
    smx_buf_reset(&tlog);
}

int rtm_fail(const compat_xgb *x, smx_err *err, const char *what)
{
    const char *m = x->XGBGetLastError ? x->XGBGetLastError() : NULL;
    if (!m || !*m)
        m = "unknown XGBoost error";
    /* Keep the first line that says something: XGBoost prefixes "[hh:mm:ss] file:line: " */
    const char *nl = strchr(m, '\n');
    int n = nl ? (int)(nl - m) : (int)strlen(m);
    return smx_fail(err, SMX_ERUNTIME, "%s: %.*s", what, n, m);
}

/* ---- open / close ------------------------------------------------------------------------ */

/* Every entry point we may call, resolved by name into its field of compat_xgb. */
#define SYM(name)                                                                                  \
    {                                                                                              \
#name, offsetof(compat_xgb, name)                                                          \
    }
static const struct {
    const char *name;
    size_t off;
} symbols[] = {SYM(XGBoostVersion),
               SYM(XGBGetLastError),
               SYM(XGBRegisterLogCallback),
               SYM(XGBSetGlobalConfig),
               SYM(XGBoosterCreate),
               SYM(XGBoosterFree),
               SYM(XGBoosterLoadModel),
               SYM(XGBoosterLoadModelFromBuffer),
               SYM(XGBoosterUnserializeFromBuffer),
               SYM(XGBoosterSaveModel),
               SYM(XGBoosterSaveModelToBuffer),
               SYM(XGBoosterGetModelRaw),
               SYM(XGBoosterSerializeToBuffer),
               SYM(XGBoosterSaveJsonConfig),
               SYM(XGBoosterLoadJsonConfig),
               SYM(XGBoosterSetParam),
               SYM(XGBoosterGetAttr),
               SYM(XGBoosterSetAttr),
               SYM(XGBoosterGetAttrNames),
               SYM(XGBoosterGetNumFeature),
               SYM(XGBoosterBoostedRounds),
               SYM(XGBoosterPredict),
               SYM(XGBoosterPredictFromDMatrix),
               SYM(XGBoosterPredictFromDense),
               SYM(XGBoosterPredictFromCSR),
               SYM(XGBoosterSlice),
               SYM(XGBoosterUpdateOneIter),
               SYM(XGBoosterEvalOneIter),
               SYM(XGDMatrixCreateFromMat),
               SYM(XGDMatrixCreateFromCSREx),
               SYM(XGDMatrixCreateFromFile),
               SYM(XGDMatrixCreateFromMat_omp),
               SYM(XGProxyDMatrixCreate),
               SYM(XGProxyDMatrixSetDataDense),
               SYM(XGQuantileDMatrixCreateFromCallback),
               SYM(XGDMatrixFree),
               SYM(XGDMatrixSetFloatInfo),
               SYM(XGDMatrixNumRow),
               SYM(XGDMatrixNumCol)};

/* dlopen path, else $SMXGB_XGBOOST_LIB, else the system library; *used names what opened. */
static void *open_lib(const char *path, const char **used, smx_err *err)
{
    if (!path || !*path) {
        const char *env = getenv("SMXGB_XGBOOST_LIB");
        if (env && *env)
            path = env;
    }
    void *dl = NULL;
    *used = path;
    if (path) {
        /* a missing, empty, truncated or foreign file: say what it is (SMX_EIO, SMX_EFORMAT)
         * rather than the loader's words; a path without '/' is the loader's to search */
        if (strchr(path, '/') && compat_lib_check(path, err))
            return NULL;
        dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!dl)
            smx_fail(err, SMX_ERUNTIME, "cannot load XGBoost library %s: %s", path, dlerror());
        return dl;
    }
    for (const char **p = default_libs; *p && !dl; p++) {
        dl = dlopen(*p, RTLD_NOW | RTLD_LOCAL);
        *used = *p;
    }
    if (!dl)
        smx_fail(err, SMX_ERUNTIME,
                 "cannot find libxgboost (install libxgboost-dev, or pass --xgboost-lib PATH): %s",
                 dlerror());
    return dl;
}

int compat_xgb_open(const char *path, compat_xgb **out, smx_err *err)
{
    *out = NULL;
    const char *used = NULL;
    void *dl = open_lib(path, &used, err);
    if (!dl)
        return err && err->status ? err->status : SMX_ERUNTIME;
    compat_xgb *x = calloc(1, sizeof *x);
    if (!x || !(x->path = strdup(used))) {
        free(x);
        dlclose(dl);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    x->dl = dl;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *f = dlsym(dl, symbols[i].name); /* NULL: this version does not have it */
        memcpy((char *)x + symbols[i].off, &f, sizeof f);
    }
    if (!x->XGBGetLastError || !x->XGBoosterCreate || !x->XGBoosterFree) {
        compat_xgb_close(x);
        return smx_fail(err, SMX_ERUNTIME, "%s does not look like libxgboost (no XGBoosterCreate)",
                        used);
    }
    x->version.patch = -1;
    if (x->XGBoostVersion)
        x->XGBoostVersion(&x->version.major, &x->version.minor, &x->version.patch);
    else
        x->version = (compat_version){0, 90, -1}; /* XGBoostVersion appeared in 1.0 */
    if (x->XGBRegisterLogCallback)
        x->XGBRegisterLogCallback(log_cb);
    *out = x;
    return SMX_OK;
}

/* ---- per-thread proxy DMatrix (see rtm_thread_proxy) ------------------------------------ */

typedef struct tl_proxy {
    const compat_xgb *x;
    DMatrixHandle h;
    struct tl_proxy *next;
} tl_proxy;

/* every proxy made, freed by compat_xgb_close: freeing one in a thread-exit destructor would
 * call into XGBoost while the thread's C++ thread-locals are already gone */
static pthread_mutex_t proxy_lock = PTHREAD_MUTEX_INITIALIZER;
static tl_proxy *proxies;
static _Thread_local tl_proxy *my_proxy;

DMatrixHandle rtm_thread_proxy(compat_xgb *x)
{
    if (!x->XGProxyDMatrixCreate || !x->XGDMatrixFree || gettid() == getpid())
        return NULL;
    if (my_proxy && my_proxy->x == x)
        return my_proxy->h;
    tl_proxy *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->x = x;
    if (x->XGProxyDMatrixCreate(&t->h) != 0) {
        free(t);
        return NULL;
    }
    pthread_mutex_lock(&proxy_lock);
    t->next = proxies;
    proxies = t;
    pthread_mutex_unlock(&proxy_lock);
    my_proxy = t;
    return t->h;
}

static void proxies_free(compat_xgb *x)
{
    pthread_mutex_lock(&proxy_lock);
    for (tl_proxy **pp = &proxies; *pp;) {
        tl_proxy *t = *pp;
        if (t->x == x) {
            *pp = t->next;
            x->XGDMatrixFree(t->h);
            free(t);
        } else {
            pp = &t->next;
        }
    }
    pthread_mutex_unlock(&proxy_lock);
}

void compat_xgb_close(compat_xgb *x)
{
    if (!x)
        return;
    proxies_free(x); /* after every thread that predicted has stopped */
    /* libxgboost keeps thread pools and static state: never dlclose it while the process
     * lives (unloading OpenMP runtimes is a known source of crashes at exit) */
    free(x->path);
    free(x);
}

compat_version compat_xgb_version(const compat_xgb *x)
{
    return x->version;
}
const char *compat_xgb_path(const compat_xgb *x)
{
    return x->path;
}
