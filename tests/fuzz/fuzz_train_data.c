/*
 * Fuzz the training-data parser (train/data.c): the same bytes as CSV, CSV with
 * weights, LIBSVM and sniffed, with a row limit so a large input cannot exhaust memory. The
 * parsed shape is checked for consistency.
 */
#include "train/train.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const train_data_format fmts[] = {TRAIN_DATA_AUTO, TRAIN_DATA_CSV, TRAIN_DATA_CSV,
                                             TRAIN_DATA_LIBSVM};
    for (int i = 0; i < 4; i++) {
        train_data d;
        memset(&d, 0, sizeof d);
        train_data_opts o = {.format = fmts[i], .csv_weights = i == 2, .max_rows = 100000};
        smx_err err = {0};
        int rc = train_data_parse((const char *)data, size, "fuzz", &o, &d, &err);
        if (rc == SMX_OK && d.nrow) {
            if (d.format == TRAIN_DATA_CSV) {
                if (!d.X || !d.ncol)
                    abort();
                volatile float s = d.X[d.nrow * d.ncol - 1];
                (void)s;
            } else {
                if (!d.indptr || d.indptr[d.nrow] < d.indptr[0])
                    abort();
                for (uint64_t r = 0; r < d.nrow; r++)
                    for (size_t k = d.indptr[r]; k < d.indptr[r + 1]; k++)
                        if (d.indices[k] >= d.ncol ||
                            (k > d.indptr[r] && d.indices[k] <= d.indices[k - 1]))
                            abort();
            }
            volatile float l = d.labels[d.nrow - 1];
            (void)l;
            if (d.weights) {
                volatile float w = d.weights[d.nrow - 1];
                (void)w;
            }
        }
        train_data_free(&d);
    }
    return 0;
}
