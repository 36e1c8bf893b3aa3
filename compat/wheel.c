/*
 * XGBoost from a pip wheel, loaded in this process: the exact build a container pins
 * (xgboost-1.5.2-...-manylinux.whl) without installing it. The wheel's library comes from the
 * same sha256-keyed cache the load checks use (wheel_cache.c), so a wheel is extracted once
 * whichever verb sees it first.
 */
#include "compat.h"

#include <stdlib.h>

int compat_xgb_open_wheel(const char *wheel, compat_xgb **out, smx_err *err)
{
    *out = NULL;
    char *lib = NULL;
    int rc = compat_wheel_lib(wheel, NULL, &lib, err);
    if (rc == SMX_OK)
        rc = compat_xgb_open(lib, out, err);
    free(lib);
    return rc;
}
