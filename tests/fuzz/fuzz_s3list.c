/* libFuzzer target: the S3 ListObjectsV2 parser (gate_s3_list_parse) on arbitrary bytes. */
#include "gate/gate.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gate_s3_list l;
    smx_err err = {0};
    if (gate_s3_list_parse((const char *)data, size, "models/", &l, &err) == SMX_OK)
        gate_s3_list_free(&l);
    return 0;
}
