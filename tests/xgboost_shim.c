/*
 * A real XGBoost that reports another version, for the tests of per-container runtimes: it
 * defines XGBoostVersion alone and needs the system's libxgboost.so.0 for everything else, so
 * a dlopen of it finds the system library's functions behind it (dlsym searches a library's
 * dependencies). The version is the text after '=' in smxgb_shim_version: a test copies this
 * library and writes another version there (th_shim_lib), and so caches "XGBoost 3.2.0" that
 * loads and predicts as 1.7.4 does. Patching the needed library's name in a copy makes one
 * that opens only where that name can be found.
 */
#include <stdio.h>

__attribute__((visibility("default"))) const char smxgb_shim_version[32] =
    "SMXGB-SHIM-VERSION=1.7.4";

__attribute__((visibility("default"))) void XGBoostVersion(int *major, int *minor, int *patch);

void XGBoostVersion(int *major, int *minor, int *patch)
{
    char v[32];
    const volatile char *s = smxgb_shim_version; /* read as the file has it */
    for (size_t i = 0; i < sizeof v; i++)
        v[i] = s[i];
    v[sizeof v - 1] = '\0';
    *major = *minor = *patch = 0;
    sscanf(v + sizeof "SMXGB-SHIM-VERSION=" - 1, "%d.%d.%d", major, minor, patch);
}
