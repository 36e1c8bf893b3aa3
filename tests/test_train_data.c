/*
 * train/data.c: the container's training channels as smxgb train reads them. Values (one dense
 * float32 buffer for CSV, CSR for LIBSVM, rounding as numpy/pandas then DMatrix give), and the
 * errors a user sees for a header, a ragged row, a non-numeric cell or a bad LIBSVM token.
 */
#include "helpers.h"

#include "train/train.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;
static void setup(void)
{
    dir = th_tmpdir();
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}
TestSuite(train_data, .init = setup, .fini = teardown);

static int parse(const char *text, int csv_weights, train_data_format f, train_data *d,
                 smx_err *err)
{
    memset(d, 0, sizeof *d);
    train_data_opts o = {.format = f, .csv_weights = csv_weights};
    return train_data_parse(text, strlen(text), "train.csv", &o, d, err);
}

/* ---- CSV --------------------------------------------------------------------------------- */

Test(train_data, csv_values_go_into_one_dense_buffer)
{
    train_data d;
    smx_err err = {0};
    const char *text = "1,0.5,-2e-3,\n0, 3 ,1.25E2,7\r\n\n2,nan,0.1,-0\n";
    cr_assert_eq(parse(text, 0, TRAIN_DATA_AUTO, &d, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(d.format, TRAIN_DATA_CSV);
    cr_assert_eq(d.nrow, 3);
    cr_assert_eq(d.ncol, 3);
    cr_assert_eq(d.labels[0], 1.0f);
    cr_assert_eq(d.labels[2], 2.0f);
    cr_assert_eq(d.X[0], 0.5f);
    cr_assert_eq(d.X[1], strtof("-2e-3", NULL));
    cr_assert(isnan(d.X[2]), "an empty cell is a missing value");
    cr_assert_eq(d.X[3], 3.0f);
    cr_assert_eq(d.X[4], 125.0f);
    cr_assert(isnan(d.X[6]));
    cr_assert_eq(d.X[7], strtof("0.1", NULL));
    cr_assert_null(d.weights);
    train_data_free(&d);
}

Test(train_data, csv_numbers_round_like_numpy)
{
    /* every value must equal float32(correctly rounded double), what pandas + DMatrix give */
    char text[1 << 16];
    size_t n = 0;
    unsigned s = 12345;
    double want[400];
    for (int i = 0; i < 200; i++) {
        s = s * 1103515245u + 12345u;
        double v = ((double)(s >> 8) / (1 << 24) - 0.5) * pow(10, (int)(s % 13) - 6);
        char cell[64];
        snprintf(cell, sizeof cell, (i % 3) ? "%.17g" : "%.6g", v);
        want[i] = strtod(cell, NULL);
        n += (size_t)snprintf(text + n, sizeof text - n, "0,%s\n", cell);
    }
    train_data d;
    smx_err err = {0};
    cr_assert_eq(parse(text, 0, TRAIN_DATA_CSV, &d, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(d.nrow, 200);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(d.X[i], (float)want[i], "row %d: %.9g vs %.9g", i, d.X[i], want[i]);
    train_data_free(&d);
}

Test(train_data, csv_weights_column)
{
    train_data d;
    smx_err err = {0};
    cr_assert_eq(parse("1,0.5,10,11\n0,2,20,21\n", 1, TRAIN_DATA_CSV, &d, &err), SMX_OK, "%s",
                 err.msg);
    cr_assert_eq(d.ncol, 2);
    cr_assert_not_null(d.weights);
    cr_assert_eq(d.weights[0], 0.5f);
    cr_assert_eq(d.weights[1], 2.0f);
    cr_assert_eq(d.X[2], 20.0f);
    train_data_free(&d);
}

Test(train_data, csv_header_row_is_named)
{
    train_data d;
    smx_err err = {0};
    int rc = parse("churned,tenure,charges\n1,2,3\n", 0, TRAIN_DATA_CSV, &d, &err);
    cr_assert_eq(rc, SMX_EFORMAT);
    cr_assert(strstr(err.msg, "train.csv: line 1 looks like a header"), "%s", err.msg);
    cr_assert(strstr(err.msg, "'churned'"), "%s", err.msg);
    cr_assert(strstr(err.msg, "no header row"), "%s", err.msg);
    train_data_free(&d);
}

Test(train_data, csv_ragged_row_is_named)
{
    train_data d;
    smx_err err = {0};
    int rc = parse("1,2,3\n0,4,5\n1,6\n", 0, TRAIN_DATA_CSV, &d, &err);
    cr_assert_eq(rc, SMX_EFORMAT);
    cr_assert(strstr(err.msg, "line 3 has 2 columns, but the first row has 3"), "%s", err.msg);
    train_data_free(&d);
    rc = parse("1,2,3\n0,4,5,6,7\n", 0, TRAIN_DATA_CSV, &d, &err);
    cr_assert(strstr(err.msg, "line 2 has 5 columns, but the first row has 3"), "%s", err.msg);
    train_data_free(&d);
}

Test(train_data, csv_non_numeric_cell_names_row_and_column)
{
    train_data d;
    smx_err err = {0};
    int rc = parse("1,2,3\n0,4,5\n1,6,abc\n", 0, TRAIN_DATA_CSV, &d, &err);
    cr_assert_eq(rc, SMX_EFORMAT);
    cr_assert(strstr(err.msg, "train.csv: line 3, column 3: 'abc' is not a number"), "%s", err.msg);
    train_data_free(&d);
    rc = parse("1,2,3\n,4,5\n", 0, TRAIN_DATA_CSV, &d, &err);
    cr_assert(strstr(err.msg, "line 2, column 1: the label is empty"), "%s", err.msg);
    train_data_free(&d);
    rc = parse("1,2,3\n0,0x10,5\n", 0, TRAIN_DATA_CSV, &d, &err);
    cr_assert(strstr(err.msg, "line 2, column 2: '0x10' is not a number"), "%s", err.msg);
    train_data_free(&d);
    /* Python's float() takes '1_0'; numpy and pandas, which the container's training uses, do not
     */
    rc = parse("1,2,3\n0,1_0,5\n", 0, TRAIN_DATA_CSV, &d, &err);
    cr_assert(strstr(err.msg, "line 2, column 2: '1_0' is not a number"), "%s", err.msg);
    train_data_free(&d);
}

/* ---- LIBSVM ------------------------------------------------------------------------------ */

Test(train_data, libsvm_rows_go_into_csr)
{
    train_data d;
    smx_err err = {0};
    cr_assert_eq(parse("1 3:0.5 1:2\n0 2:1.5  # comment\n\n1 5:-1\n", 0, TRAIN_DATA_AUTO, &d, &err),
                 SMX_OK, "%s", err.msg);
    cr_assert_eq(d.format, TRAIN_DATA_LIBSVM);
    cr_assert_eq(d.nrow, 3);
    cr_assert_eq(d.ncol, 6, "indexes are used as they are: num_feature = max index + 1");
    cr_assert_eq(d.indptr[1], 2);
    cr_assert_eq(d.indices[0], 1, "a row's indexes are sorted");
    cr_assert_eq(d.values[0], 2.0f);
    cr_assert_eq(d.indices[2], 2);
    cr_assert_eq(d.indptr[3], 4);
    train_data_free(&d);

    cr_assert_eq(parse("1:2 1:1\n0:0.5 2:1\n", 0, TRAIN_DATA_LIBSVM, &d, &err), SMX_OK, "%s",
                 err.msg);
    cr_assert_not_null(d.weights);
    cr_assert_eq(d.weights[1], 0.5f);
    train_data_free(&d);
}

Test(train_data, libsvm_errors_name_line_and_token)
{
    train_data d;
    smx_err err = {0};
    cr_assert_eq(parse("1 1:2\n0 3\n", 0, TRAIN_DATA_LIBSVM, &d, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "line 2, token 2: '3' is not 'index:value'"), "%s", err.msg);
    train_data_free(&d);
    parse("1 1:2\n0 1:x\n", 0, TRAIN_DATA_LIBSVM, &d, &err);
    cr_assert(strstr(err.msg, "line 2, token 2: '1:x': the value is not a number"), "%s", err.msg);
    train_data_free(&d);
    parse("1 1:2 1:3\n", 0, TRAIN_DATA_LIBSVM, &d, &err);
    cr_assert(strstr(err.msg, "feature index 1 appears twice"), "%s", err.msg);
    train_data_free(&d);
    parse("1:1 1:2\n0 1:3\n", 0, TRAIN_DATA_LIBSVM, &d, &err);
    cr_assert(strstr(err.msg, "line 2 has no weight"), "%s", err.msg);
    train_data_free(&d);
}

Test(train_data, a_directory_channel_reads_every_file_in_order)
{
    mkdir(th_path(dir, "ch"), 0755);
    th_write(th_path(dir, "ch/b.csv"), "0,2\n", 4);
    th_write(th_path(dir, "ch/a.csv"), "1,1\n", 4);
    th_write(th_path(dir, "ch/.hidden"), "x,y\n", 4);
    train_data d = {0};
    train_data_opts o = {0};
    smx_err err = {0};
    cr_assert_eq(train_data_load(th_path(dir, "ch"), &o, &d, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(d.nrow, 2);
    cr_assert_eq(d.n_files, 2);
    cr_assert_eq(d.labels[0], 1.0f);
    cr_assert_eq(d.X[1], 2.0f);
    train_data_free(&d);
}
