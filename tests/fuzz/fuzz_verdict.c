/*
 * Fuzz the verdict engine: whatever compat_identify makes of arbitrary bytes (any format,
 * writer range, objective string, base_score text, flags) is judged by every load rule for
 * every container, under a name with and without an extension, and the conversion plan is
 * computed for each container with a 1.7.4 runtime. The rules' own text parsers (base_score
 * arrays, version ranges, placeholders) see reader output built from outside bytes.
 */
#include "compat/compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const prefixes[] = {"", "binf", "{L", "\x80\x04", "CONFIG-offset:", "{\""};
    static const char *const names[] = {"xgboost-model", "model.json", "model.ubj", "m.JSON"};
    if (size < 1)
        return 0;
    const char *pre = prefixes[data[0] % 6];
    const char *name = names[(data[0] / 6) % 4];
    size_t pl = strlen(pre);
    unsigned char *buf = malloc(pl + size);
    if (!buf)
        return 0;
    memcpy(buf, pre, pl);
    memcpy(buf + pl, data + 1, size - 1);
    compat_model_info *m = NULL;
    smx_err err = {0};
    if (compat_identify(buf, pl + size - 1, name, &m, &err) == SMX_OK) {
        const compat_container *t;
        size_t n;
        if (compat_containers(&t, &n, &err) == SMX_OK) {
            compat_judge_opts o = {.artifact = "fuzz.tar.gz", .runtime = {1, 7, 4}};
            for (size_t i = 0; i < n; i++) {
                compat_reader r = {t[i].xgboost, t[i].python, t[i].tag};
                compat_judgement j;
                if (compat_judge(m, name, &r, &o, &j, &err) == SMX_OK)
                    compat_judgement_free(&j);
                const char *fmt;
                compat_convert_plan(m, name, o.runtime, &r, &fmt, &err);
            }
        }
        compat_model_info_free(m);
    }
    free(buf);
    return 0;
}
