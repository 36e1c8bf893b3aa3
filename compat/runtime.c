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
 * Loading an untrusted model can abort or crash some XGBoost versions: callers that load
 * outside input do it in a child process (see the load check), not here.
 */
#include "runtime_private.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
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

int compat_xgb_fail(const compat_xgb *x, smx_err *err, const char *what)
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

#define RESOLVE(x, name) (*(void **)&(x)->name = dlsym((x)->dl, #name))

int compat_xgb_open(const char *path, compat_xgb **out, smx_err *err)
{
    *out = NULL;
    if (!path || !*path) {
        const char *env = getenv("SMXGB_XGBOOST_LIB");
        if (env && *env)
            path = env;
    }
    void *dl = NULL;
    const char *used = path;
    if (path) {
        dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!dl)
            return smx_fail(err, SMX_ERUNTIME, "cannot load XGBoost library %s: %s", path,
                            dlerror());
    } else {
        for (const char **p = default_libs; *p && !dl; p++) {
            dl = dlopen(*p, RTLD_NOW | RTLD_LOCAL);
            used = *p;
        }
        if (!dl)
            return smx_fail(err, SMX_ERUNTIME,
                            "cannot find libxgboost (install libxgboost-dev, or pass "
                            "--xgboost-lib PATH): %s",
                            dlerror());
    }
    compat_xgb *x = calloc(1, sizeof *x);
    if (!x || !(x->path = strdup(used))) {
        free(x);
        dlclose(dl);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    x->dl = dl;
    RESOLVE(x, XGBoostVersion);
    RESOLVE(x, XGBGetLastError);
    RESOLVE(x, XGBRegisterLogCallback);
    RESOLVE(x, XGBSetGlobalConfig);
    RESOLVE(x, XGBoosterCreate);
    RESOLVE(x, XGBoosterFree);
    RESOLVE(x, XGBoosterLoadModel);
    RESOLVE(x, XGBoosterLoadModelFromBuffer);
    RESOLVE(x, XGBoosterUnserializeFromBuffer);
    RESOLVE(x, XGBoosterSaveModel);
    RESOLVE(x, XGBoosterSaveModelToBuffer);
    RESOLVE(x, XGBoosterGetModelRaw);
    RESOLVE(x, XGBoosterSerializeToBuffer);
    RESOLVE(x, XGBoosterSaveJsonConfig);
    RESOLVE(x, XGBoosterLoadJsonConfig);
    RESOLVE(x, XGBoosterSetParam);
    RESOLVE(x, XGBoosterGetAttr);
    RESOLVE(x, XGBoosterSetAttr);
    RESOLVE(x, XGBoosterGetAttrNames);
    RESOLVE(x, XGBoosterGetNumFeature);
    RESOLVE(x, XGBoosterBoostedRounds);
    RESOLVE(x, XGBoosterPredict);
    RESOLVE(x, XGBoosterPredictFromDMatrix);
    RESOLVE(x, XGBoosterPredictFromDense);
    RESOLVE(x, XGBoosterPredictFromCSR);
    RESOLVE(x, XGBoosterSlice);
    RESOLVE(x, XGBoosterUpdateOneIter);
    RESOLVE(x, XGBoosterEvalOneIter);
    RESOLVE(x, XGDMatrixCreateFromMat);
    RESOLVE(x, XGDMatrixCreateFromCSREx);
    RESOLVE(x, XGDMatrixCreateFromFile);
    RESOLVE(x, XGDMatrixCreateFromMat_omp);
    RESOLVE(x, XGProxyDMatrixCreate);
    RESOLVE(x, XGProxyDMatrixSetDataDense);
    RESOLVE(x, XGQuantileDMatrixCreateFromCallback);
    RESOLVE(x, XGDMatrixFree);
    RESOLVE(x, XGDMatrixSetFloatInfo);
    RESOLVE(x, XGDMatrixNumRow);
    RESOLVE(x, XGDMatrixNumCol);
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

static void proxies_free(compat_xgb *x);

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

/* ---- boosters ---------------------------------------------------------------------------- */

static int new_booster(compat_xgb *x, compat_booster **out, smx_err *err)
{
    compat_booster *b = calloc(1, sizeof *b);
    if (!b)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    b->x = x;
    if (x->XGBoosterCreate(NULL, 0, &b->h) != 0) {
        free(b);
        return compat_xgb_fail(x, err, "XGBoosterCreate");
    }
    *out = b;
    return SMX_OK;
}

void compat_booster_free(compat_booster *b)
{
    if (!b)
        return;
    b->x->XGBoosterFree(b->h);
    free(b);
}

static int finish_load(compat_booster *b, int rc, compat_booster **out, smx_err *err,
                       const char *what)
{
    if (rc != 0) {
        compat_xgb_fail(b->x, err, what);
        compat_booster_free(b);
        return SMX_ERUNTIME;
    }
    *out = b;
    return SMX_OK;
}

int compat_booster_load_buffer(compat_xgb *x, const void *buf, size_t len, compat_booster **out,
                               smx_err *err)
{
    *out = NULL;
    if (!x->XGBoosterLoadModelFromBuffer)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterLoadModelFromBuffer");
    compat_booster *b = NULL;
    int rc = new_booster(x, &b, err);
    if (rc)
        return rc;
    return finish_load(b, x->XGBoosterLoadModelFromBuffer(b->h, buf, (bst_ulong)len), out, err,
                       "load model");
}

int compat_booster_load_file(compat_xgb *x, const char *path, compat_booster **out, smx_err *err)
{
    *out = NULL;
    if (!x->XGBoosterLoadModel)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterLoadModel");
    compat_booster *b = NULL;
    int rc = new_booster(x, &b, err);
    if (rc)
        return rc;
    return finish_load(b, x->XGBoosterLoadModel(b->h, path), out, err, "load model");
}

int compat_booster_unserialize(compat_xgb *x, const void *buf, size_t len, compat_booster **out,
                               smx_err *err)
{
    *out = NULL;
    if (!x->XGBoosterUnserializeFromBuffer)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterUnserializeFromBuffer");
    compat_booster *b = NULL;
    int rc = new_booster(x, &b, err);
    if (rc)
        return rc;
    return finish_load(b, x->XGBoosterUnserializeFromBuffer(b->h, buf, (bst_ulong)len), out, err,
                       "unserialize snapshot");
}

int compat_booster_set_param(compat_booster *b, const char *key, const char *value, smx_err *err)
{
    if (b->x->XGBoosterSetParam(b->h, key, value) != 0)
        return compat_xgb_fail(b->x, err, key);
    return SMX_OK;
}

int compat_booster_attr(compat_booster *b, const char *key, char **value, smx_err *err)
{
    *value = NULL;
    const char *v = NULL;
    int ok = 0;
    if (!b->x->XGBoosterGetAttr || b->x->XGBoosterGetAttr(b->h, key, &v, &ok) != 0)
        return compat_xgb_fail(b->x, err, "get attribute");
    if (ok && v && !(*value = strdup(v)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    return SMX_OK;
}

int compat_booster_set_attr(compat_booster *b, const char *key, const char *value, smx_err *err)
{
    if (!b->x->XGBoosterSetAttr || b->x->XGBoosterSetAttr(b->h, key, value) != 0)
        return compat_xgb_fail(b->x, err, "set attribute");
    return SMX_OK;
}

int compat_booster_config(compat_booster *b, char **json, smx_err *err)
{
    *json = NULL;
    bst_ulong n = 0;
    const char *s = NULL;
    if (!b->x->XGBoosterSaveJsonConfig)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterSaveJsonConfig");
    if (b->x->XGBoosterSaveJsonConfig(b->h, &n, &s) != 0)
        return compat_xgb_fail(b->x, err, "save config");
    if (!(*json = strndup(s, (size_t)n)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    return SMX_OK;
}

int compat_booster_num_features(compat_booster *b, uint64_t *n, smx_err *err)
{
    bst_ulong v = 0;
    if (!b->x->XGBoosterGetNumFeature)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterGetNumFeature");
    if (b->x->XGBoosterGetNumFeature(b->h, &v) != 0)
        return compat_xgb_fail(b->x, err, "num features");
    *n = v;
    return SMX_OK;
}

int compat_booster_boosted_rounds(compat_booster *b, int *n, smx_err *err)
{
    if (!b->x->XGBoosterBoostedRounds)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterBoostedRounds");
    if (b->x->XGBoosterBoostedRounds(b->h, n) != 0)
        return compat_xgb_fail(b->x, err, "boosted rounds");
    return SMX_OK;
}

int compat_booster_save(compat_booster *b, const char *format, void **out, size_t *len,
                        smx_err *err)
{
    *out = NULL;
    *len = 0;
    bst_ulong n = 0;
    const char *p = NULL;
    compat_xgb *x = b->x;
    if (x->XGBoosterSaveModelToBuffer) {
        char cfg[64];
        snprintf(cfg, sizeof cfg, "{\"format\": \"%s\"}", format);
        if (x->XGBoosterSaveModelToBuffer(b->h, cfg, &n, &p) != 0)
            return compat_xgb_fail(x, err, "save model");
    } else if (!strcmp(format, "deprecated") && x->XGBoosterGetModelRaw) {
        if (x->XGBoosterGetModelRaw(b->h, &n, &p) != 0)
            return compat_xgb_fail(x, err, "save model");
    } else {
        return smx_fail(err, SMX_ERUNTIME, "XGBoost %d.%d cannot save the '%s' format to memory",
                        x->version.major, x->version.minor, format);
    }
    void *copy = malloc(n ? (size_t)n : 1);
    if (!copy)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(copy, p, (size_t)n);
    *out = copy;
    *len = (size_t)n;
    return SMX_OK;
}

int compat_booster_save_file(compat_booster *b, const char *path, smx_err *err)
{
    if (b->x->XGBoosterSaveModel(b->h, path) != 0)
        return compat_xgb_fail(b->x, err, "save model");
    return SMX_OK;
}

/* ---- prediction -------------------------------------------------------------------------- */

static void predict_config(char *buf, size_t n, const compat_predict_opts *o)
{
    char miss[32];
    if (isnan(o->missing))
        snprintf(miss, sizeof miss, "NaN");
    else
        snprintf(miss, sizeof miss, "%.9g", (double)o->missing);
    snprintf(buf, n,
             "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": %d, "
             "\"strict_shape\": false, \"missing\": %s, \"cache_id\": 0}",
             o->margin ? 1 : 0, o->iteration_end, miss);
}

static void shape_of(const bst_ulong *shape, bst_ulong dim, uint64_t out[2])
{
    out[0] = dim >= 1 ? shape[0] : 0;
    out[1] = 1;
    for (bst_ulong i = 1; i < dim; i++)
        out[1] *= shape[i];
}

/* Fallback for XGBoost without in-place prediction: a DMatrix per call. */
static _Thread_local float *fallback_buf;

static int predict_via_dmatrix(compat_booster *b, DMatrixHandle d, uint64_t nrow,
                               const compat_predict_opts *o, const float **out, uint64_t shape[2],
                               smx_err *err)
{
    compat_xgb *x = b->x;
    bst_ulong len = 0;
    const float *res = NULL;
    int rc;
    if (x->XGBoosterPredictFromDMatrix) {
        char cfg[256];
        predict_config(cfg, sizeof cfg, o);
        const bst_ulong *shp;
        bst_ulong dim;
        rc = x->XGBoosterPredictFromDMatrix(b->h, d, cfg, &shp, &dim, &res);
        if (rc == 0) {
            shape_of(shp, dim, shape);
            len = shape[0] * shape[1];
        }
    } else {
        unsigned ntree = 0; /* ntree_limit semantics differ by booster; 0 = all */
        if (x->version.major == 0) {
            int (*p)(BoosterHandle, DMatrixHandle, int, unsigned, bst_ulong *, const float **) =
                (int (*)(BoosterHandle, DMatrixHandle, int, unsigned, bst_ulong *, const float **))(
                    void *)x->XGBoosterPredict;
            rc = p(b->h, d, o->margin ? 1 : 0, ntree, &len, &res);
        } else {
            rc = x->XGBoosterPredict(b->h, d, o->margin ? 1 : 0, ntree, 0, &len, &res);
        }
        if (rc == 0) {
            shape[0] = nrow;
            shape[1] = nrow ? len / nrow : 0;
        }
    }
    if (rc != 0) {
        x->XGDMatrixFree(d);
        return compat_xgb_fail(x, err, "predict");
    }
    float *copy = realloc(fallback_buf, (len ? len : 1) * sizeof *copy);
    if (!copy) {
        x->XGDMatrixFree(d);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    memcpy(copy, res, len * sizeof *copy);
    fallback_buf = copy;
    x->XGDMatrixFree(d);
    *out = copy;
    return SMX_OK;
}

/*
 * One proxy DMatrix per thread for in-place prediction: without one, XGBoost builds a fresh
 * proxy (and its Context, which reads the cgroup CPU quota files) on every call. The proxy
 * only carries the array of the current call, so reusing it on its own thread is safe. The
 * main thread keeps the old path (single-threaded tools gain nothing, and a proxy there
 * would register C++ thread-local destructors that outlive the leak check at exit).
 */
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

static DMatrixHandle thread_proxy(compat_xgb *x)
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

int compat_booster_predict_dense(compat_booster *b, const float *X, uint64_t nrow, uint64_t ncol,
                                 const compat_predict_opts *o, const float **out, uint64_t shape[2],
                                 smx_err *err)
{
    compat_xgb *x = b->x;
    compat_version v15 = {1, 5, 0};
    if (x->XGBoosterPredictFromDense && compat_version_cmp(x->version, v15) >= 0) {
        char arr[160], cfg[256];
        snprintf(arr, sizeof arr,
                 "{\"data\": [%llu, true], \"shape\": [%llu, %llu], \"typestr\": \"<f4\", "
                 "\"version\": 3}",
                 (unsigned long long)(uintptr_t)X, (unsigned long long)nrow,
                 (unsigned long long)ncol);
        predict_config(cfg, sizeof cfg, o);
        const bst_ulong *shp;
        bst_ulong dim;
        if (x->XGBoosterPredictFromDense(b->h, arr, cfg, thread_proxy(x), &shp, &dim, out) == 0) {
            shape_of(shp, dim, shape);
            return SMX_OK;
        }
        /* gblinear has no in-place prediction ("Inplace predict is not supported by current
         * booster"): fall back to a DMatrix below */
        if (!x->XGDMatrixCreateFromMat)
            return compat_xgb_fail(x, err, "predict");
    }
    if (!x->XGDMatrixCreateFromMat)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no dense prediction entry point");
    DMatrixHandle d;
    if (x->XGDMatrixCreateFromMat(X, nrow, ncol, o->missing, &d) != 0)
        return compat_xgb_fail(x, err, "create DMatrix");
    return predict_via_dmatrix(b, d, nrow, o, out, shape, err);
}

int compat_booster_predict_csr(compat_booster *b, const size_t *indptr, const uint32_t *indices,
                               const float *values, uint64_t nrow, uint64_t ncol,
                               const compat_predict_opts *o, const float **out, uint64_t shape[2],
                               smx_err *err)
{
    compat_xgb *x = b->x;
    compat_version v15 = {1, 5, 0};
    if (x->XGBoosterPredictFromCSR && compat_version_cmp(x->version, v15) >= 0) {
        char ip[160], ix[160], vv[160], cfg[256];
        uint64_t nnz = indptr[nrow];
        snprintf(
            ip, sizeof ip,
            "{\"data\": [%llu, true], \"shape\": [%llu], \"typestr\": \"<u%zu\", \"version\": 3}",
            (unsigned long long)(uintptr_t)indptr, (unsigned long long)(nrow + 1), sizeof(size_t));
        snprintf(
            ix, sizeof ix,
            "{\"data\": [%llu, true], \"shape\": [%llu], \"typestr\": \"<u4\", \"version\": 3}",
            (unsigned long long)(uintptr_t)(nnz ? (const void *)indices : (const void *)indptr),
            (unsigned long long)nnz);
        snprintf(
            vv, sizeof vv,
            "{\"data\": [%llu, true], \"shape\": [%llu], \"typestr\": \"<f4\", \"version\": 3}",
            (unsigned long long)(uintptr_t)(nnz ? (const void *)values : (const void *)indptr),
            (unsigned long long)nnz);
        predict_config(cfg, sizeof cfg, o);
        const bst_ulong *shp;
        bst_ulong dim;
        if (x->XGBoosterPredictFromCSR(b->h, ip, ix, vv, ncol, cfg, thread_proxy(x), &shp, &dim,
                                       out) != 0)
            return compat_xgb_fail(x, err, "predict");
        shape_of(shp, dim, shape);
        return SMX_OK;
    }
    if (!x->XGDMatrixCreateFromCSREx)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no CSR prediction entry point");
    DMatrixHandle d;
    if (x->XGDMatrixCreateFromCSREx(indptr, indices, values, nrow + 1, indptr[nrow], ncol, &d) != 0)
        return compat_xgb_fail(x, err, "create DMatrix");
    return predict_via_dmatrix(b, d, nrow, o, out, shape, err);
}

/* ---- training: DMatrix, booster over a cache, one boosting round, evaluation ------------- */

static int new_dmatrix(compat_xgb *x, DMatrixHandle h, compat_dmatrix **out, smx_err *err)
{
    compat_dmatrix *d = calloc(1, sizeof *d);
    if (!d) {
        x->XGDMatrixFree(h);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    d->x = x;
    d->h = h;
    *out = d;
    return SMX_OK;
}

int compat_dmatrix_from_dense(compat_xgb *x, const float *X, uint64_t nrow, uint64_t ncol,
                              float missing, int nthread, compat_dmatrix **out, smx_err *err)
{
    *out = NULL;
    DMatrixHandle h = NULL;
    int rc;
    if (x->XGDMatrixCreateFromMat_omp)
        rc = x->XGDMatrixCreateFromMat_omp(X, nrow, ncol, missing, &h, nthread);
    else if (x->XGDMatrixCreateFromMat)
        rc = x->XGDMatrixCreateFromMat(X, nrow, ncol, missing, &h);
    else
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGDMatrixCreateFromMat");
    if (rc != 0)
        return compat_xgb_fail(x, err, "create DMatrix");
    return new_dmatrix(x, h, out, err);
}

/* One-batch iterator for XGQuantileDMatrixCreateFromCallback: the whole matrix at once. */
typedef struct qdm_iter {
    compat_xgb *x;
    DMatrixHandle proxy;
    const float *X, *labels, *weights;
    uint64_t nrow, ncol;
    int done, failed;
} qdm_iter;

static void qdm_reset(void *it)
{
    ((qdm_iter *)it)->done = 0;
}

static int qdm_next(void *vit)
{
    qdm_iter *it = vit;
    if (it->done)
        return 0;
    char arr[200];
    snprintf(arr, sizeof arr,
             "{\"data\": [%llu, true], \"shape\": [%llu, %llu], \"typestr\": \"<f4\", "
             "\"version\": 3}",
             (unsigned long long)(uintptr_t)it->X, (unsigned long long)it->nrow,
             (unsigned long long)it->ncol);
    if (it->x->XGProxyDMatrixSetDataDense(it->proxy, arr) != 0 ||
        it->x->XGDMatrixSetFloatInfo(it->proxy, "label", it->labels, it->nrow) != 0 ||
        (it->weights &&
         it->x->XGDMatrixSetFloatInfo(it->proxy, "weight", it->weights, it->nrow) != 0)) {
        it->failed = 1;
        return 0;
    }
    it->done = 1;
    return 1;
}

int compat_dmatrix_quantile_dense(compat_xgb *x, const float *X, uint64_t nrow, uint64_t ncol,
                                  const float *labels, const float *weights, int max_bin,
                                  int nthread, compat_dmatrix **out, smx_err *err)
{
    *out = NULL;
    if (!x->XGProxyDMatrixCreate || !x->XGProxyDMatrixSetDataDense ||
        !x->XGQuantileDMatrixCreateFromCallback || !x->XGDMatrixSetFloatInfo)
        return smx_fail(err, SMX_ERUNTIME,
                        "this XGBoost has no XGQuantileDMatrixCreateFromCallback (1.7+)");
    qdm_iter it = {
        .x = x, .X = X, .labels = labels, .weights = weights, .nrow = nrow, .ncol = ncol};
    if (x->XGProxyDMatrixCreate(&it.proxy) != 0)
        return compat_xgb_fail(x, err, "create proxy DMatrix");
    char cfg[128];
    snprintf(cfg, sizeof cfg, "{\"missing\": NaN, \"nthread\": %d, \"max_bin\": %d}", nthread,
             max_bin);
    DMatrixHandle h = NULL;
    int rc =
        x->XGQuantileDMatrixCreateFromCallback(&it, it.proxy, NULL, qdm_reset, qdm_next, cfg, &h);
    if (rc != 0 || it.failed) {
        compat_xgb_fail(x, err, "create QuantileDMatrix");
        if (h)
            x->XGDMatrixFree(h);
        x->XGDMatrixFree(it.proxy);
        return SMX_ERUNTIME;
    }
    x->XGDMatrixFree(it.proxy);
    return new_dmatrix(x, h, out, err);
}

int compat_dmatrix_from_csr(compat_xgb *x, const size_t *indptr, const uint32_t *indices,
                            const float *values, uint64_t nrow, uint64_t ncol, compat_dmatrix **out,
                            smx_err *err)
{
    *out = NULL;
    if (!x->XGDMatrixCreateFromCSREx)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGDMatrixCreateFromCSREx");
    DMatrixHandle h = NULL;
    if (x->XGDMatrixCreateFromCSREx(indptr, indices, values, (size_t)nrow + 1, indptr[nrow],
                                    (size_t)ncol, &h) != 0)
        return compat_xgb_fail(x, err, "create DMatrix");
    return new_dmatrix(x, h, out, err);
}

int compat_dmatrix_set_float_info(compat_dmatrix *d, const char *field, const float *v, uint64_t n,
                                  smx_err *err)
{
    if (!d->x->XGDMatrixSetFloatInfo)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGDMatrixSetFloatInfo");
    if (d->x->XGDMatrixSetFloatInfo(d->h, field, v, (bst_ulong)n) != 0)
        return compat_xgb_fail(d->x, err, field);
    return SMX_OK;
}

int compat_dmatrix_shape(compat_dmatrix *d, uint64_t *nrow, uint64_t *ncol, smx_err *err)
{
    bst_ulong r = 0, c = 0;
    if (!d->x->XGDMatrixNumRow || !d->x->XGDMatrixNumCol)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGDMatrixNumRow");
    if (d->x->XGDMatrixNumRow(d->h, &r) != 0 || d->x->XGDMatrixNumCol(d->h, &c) != 0)
        return compat_xgb_fail(d->x, err, "DMatrix shape");
    *nrow = r;
    *ncol = c;
    return SMX_OK;
}

void compat_dmatrix_free(compat_dmatrix *d)
{
    if (!d)
        return;
    d->x->XGDMatrixFree(d->h);
    free(d);
}

int compat_booster_create(compat_xgb *x, compat_dmatrix *const *cache, size_t n,
                          compat_booster **out, smx_err *err)
{
    *out = NULL;
    DMatrixHandle hs[8];
    if (n > sizeof hs / sizeof hs[0])
        return smx_fail(err, SMX_EINVAL, "at most %zu cached DMatrix", sizeof hs / sizeof hs[0]);
    for (size_t i = 0; i < n; i++)
        hs[i] = cache[i]->h;
    compat_booster *b = calloc(1, sizeof *b);
    if (!b)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    b->x = x;
    if (x->XGBoosterCreate(n ? hs : NULL, (bst_ulong)n, &b->h) != 0) {
        free(b);
        return compat_xgb_fail(x, err, "XGBoosterCreate");
    }
    *out = b;
    return SMX_OK;
}

int compat_booster_update(compat_booster *b, int iter, compat_dmatrix *train, smx_err *err)
{
    if (!b->x->XGBoosterUpdateOneIter)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterUpdateOneIter");
    if (b->x->XGBoosterUpdateOneIter(b->h, iter, train->h) != 0)
        return compat_xgb_fail(b->x, err, "boosting round");
    return SMX_OK;
}

int compat_booster_eval(compat_booster *b, int iter, compat_dmatrix *const *d,
                        const char *const *names, size_t n, char **out, smx_err *err)
{
    *out = NULL;
    DMatrixHandle hs[8];
    const char *ns[8];
    if (n > sizeof hs / sizeof hs[0])
        return smx_fail(err, SMX_EINVAL, "at most %zu evaluation sets", sizeof hs / sizeof hs[0]);
    for (size_t i = 0; i < n; i++) {
        hs[i] = d[i]->h;
        ns[i] = names[i];
    }
    if (!b->x->XGBoosterEvalOneIter)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterEvalOneIter");
    const char *res = NULL;
    if (b->x->XGBoosterEvalOneIter(b->h, iter, hs, ns, (bst_ulong)n, &res) != 0)
        return compat_xgb_fail(b->x, err, "evaluation");
    if (!(*out = strdup(res ? res : "")))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    return SMX_OK;
}

int compat_booster_predict_dmatrix(compat_booster *b, compat_dmatrix *d,
                                   const compat_predict_opts *o, compat_pred *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    compat_xgb *x = b->x;
    const float *res = NULL;
    bst_ulong len = 0;
    uint64_t shape[2] = {0, 1};
    if (x->XGBoosterPredictFromDMatrix) {
        char cfg[256];
        predict_config(cfg, sizeof cfg, o);
        const bst_ulong *shp;
        bst_ulong dim;
        if (x->XGBoosterPredictFromDMatrix(b->h, d->h, cfg, &shp, &dim, &res) != 0)
            return compat_xgb_fail(x, err, "predict");
        shape_of(shp, dim, shape);
        len = shape[0] * shape[1];
    } else if (x->XGBoosterPredict && x->version.major >= 1) {
        if (x->XGBoosterPredict(b->h, d->h, o->margin ? 1 : 0, 0, 0, &len, &res) != 0)
            return compat_xgb_fail(x, err, "predict");
        bst_ulong nr = 0;
        x->XGDMatrixNumRow(d->h, &nr);
        shape[0] = nr;
        shape[1] = nr ? len / nr : 0;
    } else {
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no DMatrix prediction entry point");
    }
    out->values = malloc((len ? len : 1) * sizeof(float));
    if (!out->values)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(out->values, res, len * sizeof(float));
    out->rows = shape[0];
    out->cols = shape[1];
    return SMX_OK;
}

int compat_booster_serialize(compat_booster *b, void **out, size_t *len, smx_err *err)
{
    *out = NULL;
    *len = 0;
    bst_ulong n = 0;
    const char *p = NULL;
    if (!b->x->XGBoosterSerializeToBuffer)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterSerializeToBuffer");
    if (b->x->XGBoosterSerializeToBuffer(b->h, &n, &p) != 0)
        return compat_xgb_fail(b->x, err, "serialize");
    void *copy = malloc(n ? (size_t)n : 1);
    if (!copy)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(copy, p, (size_t)n);
    *out = copy;
    *len = (size_t)n;
    return SMX_OK;
}
