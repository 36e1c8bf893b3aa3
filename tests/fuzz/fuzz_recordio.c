/* libFuzzer target: RecordIO framing + Record protobuf requests (serve_recordio_decode). */
#include "serve/serve.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static serve_matrix m;
    serve_derr de;
    if (serve_recordio_decode((const char *)data, size, &m, &de) == SMX_OK && m.sparse) {
        if (m.indptr[0] != 0 || m.indptr[m.nrow] != m.nnz)
            __builtin_trap();
        for (size_t k = 0; k < m.nnz; k++)
            if (m.indices[k] >= m.ncol)
                __builtin_trap();
    }
    return 0;
}
