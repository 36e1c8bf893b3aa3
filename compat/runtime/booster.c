/*
 * Boosters: create, load (a file the way the container does, a buffer, a memory snapshot),
 * parameters and attributes, and save (to a buffer in any format the version writes, to a
 * file, or as the memory snapshot a pickle stores). Each wrapper checks that the loaded
 * XGBoost has the function it needs and returns a status with XGBoost's first error line.
 */
#include "runtime_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int new_booster(compat_xgb *x, compat_booster **out, smx_err *err)
{
    compat_booster *b = calloc(1, sizeof *b);
    if (!b)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    b->x = x;
    if (x->XGBoosterCreate(NULL, 0, &b->h) != 0) {
        free(b);
        return rtm_fail(x, err, "XGBoosterCreate");
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
        rtm_fail(b->x, err, what);
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
        return rtm_fail(b->x, err, key);
    return SMX_OK;
}

int compat_booster_attr(compat_booster *b, const char *key, char **value, smx_err *err)
{
    *value = NULL;
    const char *v = NULL;
    int ok = 0;
    if (!b->x->XGBoosterGetAttr || b->x->XGBoosterGetAttr(b->h, key, &v, &ok) != 0)
        return rtm_fail(b->x, err, "get attribute");
    if (ok && v && !(*value = strdup(v)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    return SMX_OK;
}

int compat_booster_set_attr(compat_booster *b, const char *key, const char *value, smx_err *err)
{
    if (!b->x->XGBoosterSetAttr || b->x->XGBoosterSetAttr(b->h, key, value) != 0)
        return rtm_fail(b->x, err, "set attribute");
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
        return rtm_fail(b->x, err, "save config");
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
        return rtm_fail(b->x, err, "num features");
    *n = v;
    return SMX_OK;
}

int compat_booster_boosted_rounds(compat_booster *b, int *n, smx_err *err)
{
    if (!b->x->XGBoosterBoostedRounds)
        return smx_fail(err, SMX_ERUNTIME, "this XGBoost has no XGBoosterBoostedRounds");
    if (b->x->XGBoosterBoostedRounds(b->h, n) != 0)
        return rtm_fail(b->x, err, "boosted rounds");
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
            return rtm_fail(x, err, "save model");
    } else if (!strcmp(format, "deprecated") && x->XGBoosterGetModelRaw) {
        if (x->XGBoosterGetModelRaw(b->h, &n, &p) != 0)
            return rtm_fail(x, err, "save model");
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
        return rtm_fail(b->x, err, "save model");
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
        return rtm_fail(b->x, err, "serialize");
    void *copy = malloc(n ? (size_t)n : 1);
    if (!copy)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(copy, p, (size_t)n);
    *out = copy;
    *len = (size_t)n;
    return SMX_OK;
}
