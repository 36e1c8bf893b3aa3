/*
 * Private to compat/runtime: the resolved XGBoost entry points. lib.c fills them with dlsym;
 * the wrappers (booster.c, predict.c, dmatrix.c) call through them. A NULL pointer means the
 * loaded version does not have that function. Shared names carry the rtm_ prefix.
 */
#ifndef SMXGB_COMPAT_RUNTIME_PRIVATE_H
#define SMXGB_COMPAT_RUNTIME_PRIVATE_H

#include "runtime.h"

typedef uint64_t bst_ulong;
typedef void *BoosterHandle;
typedef void *DMatrixHandle;

struct compat_xgb {
    void *dl;
    char *path;
    compat_version version;
    void (*XGBoostVersion)(int *, int *, int *);
    const char *(*XGBGetLastError)(void);
    int (*XGBRegisterLogCallback)(void (*)(const char *));
    int (*XGBSetGlobalConfig)(const char *);
    int (*XGBoosterCreate)(const DMatrixHandle[], bst_ulong, BoosterHandle *);
    int (*XGBoosterFree)(BoosterHandle);
    int (*XGBoosterLoadModel)(BoosterHandle, const char *);
    int (*XGBoosterLoadModelFromBuffer)(BoosterHandle, const void *, bst_ulong);
    int (*XGBoosterUnserializeFromBuffer)(BoosterHandle, const void *, bst_ulong);
    int (*XGBoosterSaveModel)(BoosterHandle, const char *);
    int (*XGBoosterSaveModelToBuffer)(BoosterHandle, const char *, bst_ulong *, const char **);
    int (*XGBoosterGetModelRaw)(BoosterHandle, bst_ulong *, const char **);
    int (*XGBoosterSerializeToBuffer)(BoosterHandle, bst_ulong *, const char **);
    int (*XGBoosterSaveJsonConfig)(BoosterHandle, bst_ulong *, const char **);
    int (*XGBoosterLoadJsonConfig)(BoosterHandle, const char *);
    int (*XGBoosterSetParam)(BoosterHandle, const char *, const char *);
    int (*XGBoosterGetAttr)(BoosterHandle, const char *, const char **, int *);
    int (*XGBoosterSetAttr)(BoosterHandle, const char *, const char *);
    int (*XGBoosterGetAttrNames)(BoosterHandle, bst_ulong *, const char ***);
    int (*XGBoosterGetNumFeature)(BoosterHandle, bst_ulong *);
    int (*XGBoosterBoostedRounds)(BoosterHandle, int *);
    /* 0.90 has no `training` argument: call through predict_legacy there */
    int (*XGBoosterPredict)(BoosterHandle, DMatrixHandle, int, unsigned, int, bst_ulong *,
                            const float **);
    int (*XGBoosterPredictFromDMatrix)(BoosterHandle, DMatrixHandle, const char *,
                                       const bst_ulong **, bst_ulong *, const float **);
    int (*XGBoosterPredictFromDense)(BoosterHandle, const char *, const char *, DMatrixHandle,
                                     const bst_ulong **, bst_ulong *, const float **);
    int (*XGBoosterPredictFromCSR)(BoosterHandle, const char *, const char *, const char *,
                                   bst_ulong, const char *, DMatrixHandle, const bst_ulong **,
                                   bst_ulong *, const float **);
    int (*XGBoosterSlice)(BoosterHandle, int, int, int, BoosterHandle *);
    int (*XGBoosterUpdateOneIter)(BoosterHandle, int, DMatrixHandle);
    int (*XGBoosterEvalOneIter)(BoosterHandle, int, DMatrixHandle[], const char *[], bst_ulong,
                                const char **);
    int (*XGDMatrixCreateFromMat)(const float *, bst_ulong, bst_ulong, float, DMatrixHandle *);
    int (*XGDMatrixCreateFromCSREx)(const size_t *, const unsigned *, const float *, size_t, size_t,
                                    size_t, DMatrixHandle *);
    int (*XGDMatrixCreateFromFile)(const char *, int, DMatrixHandle *);
    int (*XGDMatrixCreateFromMat_omp)(const float *, bst_ulong, bst_ulong, float, DMatrixHandle *,
                                      int);
    int (*XGProxyDMatrixCreate)(DMatrixHandle *);
    int (*XGProxyDMatrixSetDataDense)(DMatrixHandle, const char *);
    int (*XGQuantileDMatrixCreateFromCallback)(void *, DMatrixHandle, void *, void (*)(void *),
                                               int (*)(void *), const char *, DMatrixHandle *);
    int (*XGDMatrixFree)(DMatrixHandle);
    int (*XGDMatrixSetFloatInfo)(DMatrixHandle, const char *, const float *, bst_ulong);
    int (*XGDMatrixNumRow)(DMatrixHandle, bst_ulong *);
    int (*XGDMatrixNumCol)(DMatrixHandle, bst_ulong *);
};

struct compat_dmatrix {
    compat_xgb *x;
    DMatrixHandle h;
};

struct compat_booster {
    compat_xgb *x;
    BoosterHandle h;
};

/* Record XGBoost's last error (first line, prefixed) in err; returns SMX_ERUNTIME. */
int rtm_fail(const compat_xgb *x, smx_err *err, const char *what);
/* This thread's proxy DMatrix for in-place prediction (lib.c), or NULL: the main thread, or a
 * version without proxies (XGBoost then makes its own). */
DMatrixHandle rtm_thread_proxy(compat_xgb *x);

#endif
