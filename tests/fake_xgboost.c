/*
 * A stand-in libxgboost for the load-check tests: it exports just enough of the C API for
 * the runtime to open it, reports version 1.7.4, and misbehaves on load the way broken
 * builds do, chosen by $FAKE_XGB_MODE: "segv" (crash), "abort" (std::terminate-like abort
 * with a message on stderr), "oom" (a 1 GiB allocation, aborting if it fails), "hang" (never
 * returns), "slow" (a normal load error after a second, as a large model takes to load),
 * "error" (a normal load error). Some modes load fine and misbehave when predicting:
 * "predict-error" (a prediction error), "predict-hang" and "stall" (never return from the
 * prediction), "wide" (returns 16 x 50,000,000 predictions, what a crafted num_class of 5e7
 * asks for; the values are never there to read).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void XGBoostVersion(int *major, int *minor, int *patch);
const char *XGBGetLastError(void);
int XGBoosterCreate(const void *dmats[], uint64_t n, void **out);
int XGBoosterFree(void *h);
int XGBoosterLoadModel(void *h, const char *path);
int XGBoosterLoadModelFromBuffer(void *h, const void *buf, uint64_t len);
int XGBoosterUnserializeFromBuffer(void *h, const void *buf, uint64_t len);
int XGBoosterPredictFromDense(void *h, const char *array, const char *config, void *proxy,
                              const uint64_t **shape, uint64_t *dim, const float **out);
int XGBoosterSetParam(void *h, const char *key, const char *value);

void XGBoostVersion(int *major, int *minor, int *patch)
{
    *major = 1;
    *minor = 7;
    *patch = 4;
}

const char *XGBGetLastError(void)
{
    return "[00:00:00] fake.cc:1: Check failed: fake load error";
}

int XGBoosterCreate(const void *dmats[], uint64_t n, void **out)
{
    (void)dmats;
    (void)n;
    static int dummy;
    *out = &dummy;
    return 0;
}

int XGBoosterFree(void *h)
{
    (void)h;
    return 0;
}

static int mode_is(const char *name)
{
    const char *m = getenv("FAKE_XGB_MODE");
    return m && !strcmp(m, name);
}

static int misbehave(void)
{
    const char *m = getenv("FAKE_XGB_MODE");
    if (mode_is("wide") || mode_is("stall"))
        return 0; /* the load works */
    if (m && !strcmp(m, "segv")) {
        raise(SIGSEGV);
    } else if (m && !strcmp(m, "abort")) {
        fprintf(stderr, "terminate called after throwing an instance of 'std::bad_alloc'\n");
        abort();
    } else if (m && !strcmp(m, "oom")) {
        /* what a huge model does: fails only if the address space is limited */
        void *p = malloc((size_t)1 << 30);
        if (!p) {
            fprintf(stderr, "terminate called after throwing an instance of 'std::bad_alloc'\n");
            abort();
        }
        free(p);
    } else if (m && !strcmp(m, "hang")) {
        for (;;)
            pause();
    } else if (m && !strcmp(m, "slow")) {
        struct timespec left = {1, 0};
        while (nanosleep(&left, &left) != 0)
            ; /* a signal does not cut the load short */
    } else if (m && !strncmp(m, "predict-", 8)) {
        return 0; /* the load works */
    }
    return -1;
}

int XGBoosterSetParam(void *h, const char *key, const char *value)
{
    (void)h;
    (void)key;
    (void)value;
    return 0;
}

int XGBoosterPredictFromDense(void *h, const char *array, const char *config, void *proxy,
                              const uint64_t **shape, uint64_t *dim, const float **out)
{
    (void)h;
    (void)array;
    (void)config;
    (void)proxy;
    static uint64_t shp[2] = {16, 50000000};
    static float few[16];
    while (mode_is("predict-hang") || mode_is("stall"))
        pause();
    if (!mode_is("wide"))
        return -1; /* predict-error, or a load that worked where it should not have */
    *shape = shp;
    *dim = 2;
    *out = few;
    return 0;
}

int XGBoosterLoadModel(void *h, const char *path)
{
    (void)h;
    (void)path;
    return misbehave();
}

int XGBoosterLoadModelFromBuffer(void *h, const void *buf, uint64_t len)
{
    (void)h;
    (void)buf;
    (void)len;
    return misbehave();
}

int XGBoosterUnserializeFromBuffer(void *h, const void *buf, uint64_t len)
{
    (void)h;
    (void)buf;
    (void)len;
    return misbehave();
}
