/* libFuzzer target: the container's libsvm splitter (serve_libsvm_decode), both index rules. */
#include "serve/serve.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static serve_matrix m;
    serve_derr de;
    int shift = size && (data[0] & 1);
    if (serve_libsvm_decode((const char *)data, size, shift, &m, &de) == SMX_OK &&
        m.ncol <= UINT32_MAX) {
        /* CSR invariants the predictor relies on (a wider matrix never reaches it: ncol over
         * the model's num_feature is the container's column-count error) */
        if (m.indptr[0] != 0 || m.indptr[m.nrow] != m.nnz)
            __builtin_trap();
        for (uint64_t r = 0; r < m.nrow; r++)
            for (size_t k = m.indptr[r]; k < m.indptr[r + 1]; k++)
                if (m.indices[k] >= m.ncol || (k > m.indptr[r] && m.indices[k] <= m.indices[k - 1]))
                    __builtin_trap();
    }
    return 0;
}
