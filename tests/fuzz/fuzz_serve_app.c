/*
 * libFuzzer target: request handling below HTTP (serve_app_handle): routing, Content-Type and
 * Accept parsing, the decoders, prediction with a real model (multi:softprob, the widest
 * output) and every encoder. Input: byte 0 picks the app (no model / default output /
 * selectable output with every key / batch) and the method; the rest is
 * path NUL content-type NUL accept NUL body (a missing part = header absent).
 */
#include "serve/serve.h"

#include <stdlib.h>
#include <string.h>

static serve_app *apps[4];
static serve_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    smx_err err = {0};
    serve_model_opts mo = {0};
    if (serve_model_load(SMXGB_TESTDATA "/serve/models/softprob", &mo, &model, &err))
        abort();
    static const char *env1[] = {"SAGEMAKER_INFERENCE_OUTPUT=predicted_label,labels,probability,"
                                 "probabilities,raw_score,raw_scores,predicted_score,x"};
    static const char *env2[] = {"SAGEMAKER_BATCH=1"};
    serve_app_opts o[4] = {{0}, {0}, {.env = env1, .n_env = 1}, {.env = env2, .n_env = 1}};
    for (int i = 0; i < 4; i++)
        if (serve_app_new(&o[i], i ? model : NULL, i ? NULL : "no model", &apps[i], &err))
            abort();
    return 0;
}

static const char *next(const char **p, const char *end, char *buf, size_t cap, int *present)
{
    const char *z = memchr(*p, 0, (size_t)(end - *p));
    size_t n = (size_t)((z ? z : end) - *p);
    *present = *p < end;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = z ? z + 1 : end;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static serve_scratch s;
    static smx_buf out;
    if (size < 1)
        return 0;
    static const char *methods[] = {"GET", "POST",   "HEAD", "OPTIONS",
                                    "PUT", "DELETE", "POST", "POST"};
    serve_app *a = apps[data[0] & 3];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    char path[256], ct[256], acc[256];
    int has_path, has_ct, has_acc;
    next(&p, end, path, sizeof path, &has_path);
    next(&p, end, ct, sizeof ct, &has_ct);
    next(&p, end, acc, sizeof acc, &has_acc);
    serve_request rq = {methods[(data[0] >> 2) & 7],
                        has_path ? path : "/invocations",
                        has_ct ? ct : NULL,
                        has_acc ? acc : NULL,
                        p,
                        (size_t)(end - p)};
    serve_response rs;
    serve_app_handle(a, &rq, &s, &out, &rs);
    if (rs.status < 200 || rs.status > 599 || (rs.body_len && !rs.body))
        __builtin_trap();
    return 0;
}
