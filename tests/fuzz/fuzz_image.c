/* libFuzzer target: image URI parsing (compat_image_parse) on arbitrary strings. */
#include "compat/compat.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    compat_image im;
    smx_err err = {0};
    compat_image_parse(s, &im, &err);
    free(s);
    return 0;
}
