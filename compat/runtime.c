/*
 * The one wrapper around the XGBoost C API.
 *
 * libxgboost is loaded with dlopen, never linked, so that the same smxgb binary can check a
 * model against Debian's 1.7.4 or against the exact build a container pins (a library path,
 * or the libxgboost.so inside a pip wheel). Only functions the loaded version exports are
 * resolved; callers test for NULL before using one that not every version has.
 */
#include "compat.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

struct compat_xgb {
    void *dl;
    char *path;
    compat_version version;
    void (*XGBoostVersion)(int *, int *, int *);
    const char *(*XGBGetLastError)(void);
};

static const char *default_libs[] = {"libxgboost.so", "libxgboost.so.0", NULL};

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
    *(void **)&x->XGBoostVersion = dlsym(dl, "XGBoostVersion");
    *(void **)&x->XGBGetLastError = dlsym(dl, "XGBGetLastError");
    if (!x->XGBGetLastError) {
        compat_xgb_close(x);
        return smx_fail(err, SMX_ERUNTIME, "%s does not look like libxgboost (no XGBGetLastError)",
                        used);
    }
    x->version.patch = -1;
    if (x->XGBoostVersion)
        x->XGBoostVersion(&x->version.major, &x->version.minor, &x->version.patch);
    *out = x;
    return SMX_OK;
}

void compat_xgb_close(compat_xgb *x)
{
    if (!x)
        return;
    if (x->dl)
        dlclose(x->dl);
    free(x->path);
    free(x);
}

compat_version compat_xgb_version(const compat_xgb *x) { return x->version; }
const char *compat_xgb_path(const compat_xgb *x) { return x->path; }
