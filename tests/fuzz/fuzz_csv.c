/* libFuzzer target: the container's CSV rules (serve_csv_decode). */
#include "serve/serve.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static serve_matrix m;
    serve_derr de;
    if (serve_csv_decode((const char *)data, size, &m, &de) == SMX_OK) {
        volatile float sink = 0;
        for (uint64_t i = 0; i < m.nrow * m.ncol; i++)
            sink += m.x[i];
        (void)sink;
    }
    return 0;
}
