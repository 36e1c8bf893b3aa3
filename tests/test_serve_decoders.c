/*
 * serve/ below HTTP: the CSV sniffer, the CSV, libsvm and RecordIO-protobuf decoders, and the
 * response encoders. Expected values come from Python itself (tests/data/serve/sniff.txt) or
 * from the container's observed answers. Python's repr() and float() are base's
 * (tests/test_base.c).
 */
#include "helpers.h"
#include "serve/serve_private.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *data(const char *name)
{
    return th_path(SMXGB_TESTDATA "/serve", name);
}

/* ---- sniffer ----------------------------------------------------------------------------- */

static size_t unhex(const char *h, char *out)
{
    size_t n = 0;
    if (!strcmp(h, "-"))
        return 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned c;
        sscanf(h, "%2x", &c);
        out[n++] = (char)c;
    }
    return n;
}

Test(sniff, matches_python_csv_sniffer)
{
    FILE *f = fopen(data("sniff.txt"), "r");
    cr_assert(f);
    char line[512];
    int n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char hx[300], res[32], sample[160], want[4];
        cr_assert_eq(sscanf(line, "%299s %31s", hx, res), 2);
        size_t len = unhex(hx, sample);
        char d = 0;
        int ok = serve_csv_sniff(sample, len, &d);
        if (!strcmp(res, "error")) {
            if (ok) {
                bad++;
                cr_log_error("%s: sniffed 0x%02x, Python: error", hx, (unsigned char)d);
            }
        } else {
            unhex(res, want);
            if (!ok || d != want[0]) {
                bad++;
                cr_log_error("%s: sniffed %d/0x%02x, Python 0x%02x", hx, ok, (unsigned char)d,
                             (unsigned char)want[0]);
            }
        }
        n++;
    }
    fclose(f);
    cr_expect_gt(n, 500);
    cr_expect_eq(bad, 0);
}

/* ---- CSV --------------------------------------------------------------------------------- */

static serve_matrix M;
static serve_derr DE;
static void fini(void)
{
    serve_matrix_free(&M);
}
TestSuite(csv, .fini = fini);
TestSuite(libsvm, .fini = fini);
TestSuite(recordio, .fini = fini);

static int csv(const char *s)
{
    return serve_csv_decode(s, strlen(s), &M, &DE);
}

Test(csv, rows_and_delimiters)
{
    const char *bodies[] = {"0.1,0.2,0.3\n0.4,0.5,0.6", "0.1\t0.2\t0.3\n0.4\t0.5\t0.6",
                            "0.1;0.2;0.3\r\n0.4;0.5;0.6\r\n", " 0.1, 0.2, 0.3\n0.4, 0.5, 0.6  \n",
                            "0.1 0.2 0.3\n0.4 0.5 0.6"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        cr_assert_eq(csv(bodies[i]), SMX_OK, "%s: %s", bodies[i], DE.msg);
        cr_expect_eq(M.nrow, 2);
        cr_expect_eq(M.ncol, 3);
        cr_expect_eq(M.x[0], (float)0.1);
        cr_expect_eq(M.x[5], (float)0.6);
    }
}

Test(csv, sniffed_delimiter_depends_on_the_first_line)
{
    /* '|' is the most frequent character here... */
    cr_assert_eq(csv("1|2|3\n4|5|6"), SMX_OK, "%s", DE.msg);
    cr_expect_eq(M.ncol, 3);
    /* ...but not here ('0' is, so ',' is used), as csv.Sniffer decides */
    cr_expect_eq(csv("0.1|0.2|0.3"), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "could not convert string to float: '0.1|0.2|0.3'");
    /* one value sniffs as a digit or letter: read with ',' */
    cr_assert_eq(csv("1e-3"), SMX_OK);
    cr_expect_eq(M.ncol, 1);
}

Test(csv, missing_values)
{
    cr_assert_eq(csv("0.1,,0.3\n,nan,"), SMX_OK);
    cr_expect(isnan(M.x[1]) && isnan(M.x[3]) && isnan(M.x[4]) && isnan(M.x[5]));
    /* a single column: "0.5" sniffs as '5' -> ','; a blank line inside is a missing row */
    cr_assert_eq(csv("0.5\n\n0.7"), SMX_OK);
    cr_expect_eq(M.nrow, 3);
    cr_expect_eq(M.ncol, 1);
    cr_expect(isnan(M.x[1]));
}

Test(csv, values_are_parsed_as_double_then_cast)
{
    /* 0.1 as double then float32 is 0x3dcccccd */
    cr_assert_eq(csv("0.1,1e-3,2E-1,-4,1_000"), SMX_OK);
    cr_expect_eq(M.x[0], (float)0.1);
    cr_expect_eq(M.x[1], (float)1e-3);
    cr_expect_eq(M.x[4], 1000.0f);
}

Test(csv, errors_as_the_container_words_them)
{
    cr_expect_eq(csv("a,b,c,d\n0.1,0.2,0.3,0.4"), SMX_EFORMAT);
    cr_expect_str_eq(DE.pytype, "<class 'ValueError'>");
    cr_expect_str_eq(DE.msg, "could not convert string to float: 'a'");
    cr_expect_eq(csv("\"0.1\",\"0.2\""), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "could not convert string to float: '\"0.1\"'");
    cr_expect_eq(csv("0.1,0.2,0.3,0.4\n0.1,0.2"), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "setting an array element with a sequence. The requested array has "
                             "an inhomogeneous shape after 1 dimensions. The detected shape was "
                             "(2,) + inhomogeneous part.");
    /* the shape is checked before the values, as numpy does */
    cr_expect_eq(csv("a,b\n0.1,0.2,0.3\n1,2"), SMX_EFORMAT);
    cr_expect(strstr(DE.msg, "inhomogeneous") != NULL);
    cr_expect_eq(csv("0.1,0.2\n\n0.3,0.4"), SMX_EFORMAT);
    cr_expect(strstr(DE.msg, "(3,)") != NULL);
    cr_expect_eq(csv("inf,0.2"), SMX_EFORMAT);
    cr_expect_str_eq(DE.pytype, "<class 'xgboost.core.XGBoostError'>");
    cr_expect(strstr(DE.msg, "Input data contains `inf` or `nan`") != NULL);
    cr_expect_eq(csv("1e39,0.2"), SMX_EFORMAT); /* finite double, inf as float32 */
    cr_expect_eq(csv(" \r\n "), SMX_EFORMAT);
    cr_expect_str_eq(DE.pytype, "<class '_csv.Error'>");
    cr_expect_str_eq(DE.msg, "Could not determine delimiter");
    cr_expect_eq(csv("0.1,\xff"), SMX_EFORMAT);
    cr_expect_str_eq(DE.pytype, "<class 'UnicodeDecodeError'>");
    cr_expect_str_eq(DE.msg,
                     "'utf-8' codec can't decode byte 0xff in position 4: invalid start byte");
    cr_expect_eq(csv("it's,1"), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "could not convert string to float: \"it's\"");
}

/* ---- libsvm ------------------------------------------------------------------------------ */

static int svm(const char *s, int shift)
{
    return serve_libsvm_decode(s, strlen(s), shift, &M, &DE);
}

static float at(uint64_t row, uint32_t col)
{
    for (size_t k = M.indptr[row]; k < M.indptr[row + 1]; k++)
        if (M.indices[k] == col)
            return M.values[k];
    return NAN;
}

Test(libsvm, indexes_as_is_label_ignored)
{
    cr_assert_eq(svm("1 0:0.1 3:0.4\n0 2:0.7", 0), SMX_OK);
    cr_expect_eq(M.nrow, 2);
    cr_expect_eq(M.ncol, 4);
    cr_expect_eq(at(0, 0), (float)0.1);
    cr_expect_eq(at(0, 3), (float)0.4);
    cr_expect(isnan(at(0, 1)));
    cr_expect_eq(at(1, 2), (float)0.7);
    /* 1-based files get one more (empty) column */
    cr_assert_eq(svm("1 1:0.1 2:0.2 3:0.3", 0), SMX_OK);
    cr_expect_eq(M.ncol, 4);
    cr_expect(isnan(at(0, 0)));
}

Test(libsvm, shape_from_the_entries)
{
    /* lines without entries: inside they are empty rows, at the end they add nothing */
    cr_assert_eq(svm("0:1\n\n5\n2:3\n7\n8 ", 0), SMX_OK);
    cr_expect_eq(M.nrow, 4);
    cr_expect_eq(M.ncol, 3);
    cr_expect_eq(M.indptr[1] - M.indptr[0], 1);
    cr_expect_eq(M.indptr[2], M.indptr[1]);
    /* duplicates are summed, unsorted columns sorted, explicit zeros kept, 1:2:3 reads 2 */
    cr_assert_eq(svm("3:1 1:0.5 3:0.25 0:0 2:2:9", 0), SMX_OK);
    cr_expect_eq(at(0, 3), 1.25f);
    cr_expect_eq(at(0, 0), 0.0f);
    cr_expect_eq(at(0, 2), 2.0f);
    cr_expect_eq(M.indptr[1], 4);
}

Test(libsvm, column_indexes_beyond_32_bits_keep_the_width)
{
    /* found by fuzz_libsvm: the width is what the container's CSR would have, so the
     * column-count check against the model names the true number */
    cr_assert_eq(svm("1133333335:3 331133333335:3 33333333335:3", 0), SMX_OK);
    cr_expect_eq(M.ncol, 331133333336ull);
    cr_expect_eq(M.nnz, 3);
}

Test(libsvm, shift_of_3x)
{
    cr_assert_eq(svm("1 1:0.1 2:0.2 3:0.3", 1), SMX_OK);
    cr_expect_eq(M.ncol, 3);
    cr_expect_eq(at(0, 0), (float)0.1);
    /* a 0 index anywhere: no shift (data-dependent, as in the container) */
    cr_assert_eq(svm("1 0:0.1 2:0.2", 1), SMX_OK);
    cr_expect_eq(M.ncol, 3);
    cr_expect_eq(at(0, 0), (float)0.1);
}

Test(libsvm, errors)
{
    cr_expect_eq(svm("1 qid:3 0:0.1", 0), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "invalid literal for int() with base 10: 'qid'");
    cr_expect_eq(svm("0 a:b c:d", 0), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "invalid literal for int() with base 10: 'a'");
    cr_expect_eq(svm("0 1:b", 0), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "could not convert string to float: 'b'");
    cr_expect_eq(svm("0 1:", 0), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "could not convert string to float: ''");
    cr_expect_eq(svm("1 2 3", 0), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "cannot infer dimensions from zero sized index arrays");
    cr_expect_eq(svm("-1:0.5", 0), SMX_EFORMAT);
    cr_expect_str_eq(DE.msg, "negative column index found");
    cr_expect_eq(svm("99999999999999999999:1", 0), SMX_EFORMAT);
    cr_expect_str_eq(DE.pytype, "<class 'OverflowError'>");
    cr_expect_eq(svm("0:inf", 0), SMX_EFORMAT);
    cr_expect_str_eq(DE.pytype, "<class 'xgboost.core.XGBoostError'>");
}

/* ---- RecordIO-protobuf ------------------------------------------------------------------- */

static int rio_file(const char *name)
{
    size_t n;
    char *b = th_read(data(name), &n);
    cr_assert(b);
    int rc = serve_recordio_decode(b, n, &M, &DE);
    free(b);
    return rc;
}

Test(recordio, dense_int32_records)
{
    cr_assert_eq(rio_file("dense_int32.pb"), SMX_OK, "%s", DE.msg);
    cr_expect_eq(M.sparse, 0);
    cr_expect_eq(M.nrow, 5);
    cr_expect_eq(M.ncol, 5);
    cr_expect_eq(M.x[0], 1.0f);
    cr_expect_eq(M.x[1], 0.0f);
    cr_expect_eq(M.x[4 * 5 + 1], 1.0f);
}

Test(recordio, sparse_records)
{
    cr_assert_eq(rio_file("sparse_int32.pb"), SMX_OK, "%s", DE.msg);
    cr_expect_eq(M.sparse, 1);
    cr_expect_eq(M.nrow, 5);
    cr_expect_eq(M.ncol, 5);
    cr_expect_eq(at(0, 0), 1.0f);
    cr_expect_eq(at(4, 1), 1.0f);
    cr_expect(isnan(at(4, 0)));
    cr_assert_eq(rio_file("sparse_center.pbr"), SMX_OK, "%s", DE.msg);
    cr_expect_eq(M.nrow, 3);
    cr_expect_eq(M.ncol, 3);
    cr_expect_eq(M.indptr[1], 0); /* empty first row */
    cr_expect_eq(at(1, 1), 1.0f);
}

Test(recordio, round_trip_and_errors)
{
    /* a request built with the encoder's own framing: features are field 1 */
    smx_buf rec = SMX_BUF_INIT, req = SMX_BUF_INIT;
    const float v[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    serve_rio_label l = {"values", v, 4};
    cr_assert_eq(serve_rio_record(&l, 1, &rec), SMX_OK);
    rec.data[0] = 0x0a; /* label (field 2) -> features (field 1) */
    for (int i = 0; i < 2; i++)
        cr_assert_eq(serve_rio_frame(rec.data, rec.len, &req), SMX_OK);
    cr_expect_eq(req.len % 4, 0);
    cr_assert_eq(serve_recordio_decode(req.data, req.len, &M, &DE), SMX_OK, "%s", DE.msg);
    cr_expect_eq(M.nrow, 2);
    cr_expect_eq(M.ncol, 4);
    cr_expect_eq(M.x[7], 0.4f);
    /* wrong magic, truncation, garbage */
    req.data[0] ^= 1;
    cr_expect_eq(serve_recordio_decode(req.data, req.len, &M, &DE), SMX_EFORMAT);
    cr_expect(strstr(DE.msg, "magic") != NULL);
    req.data[0] ^= 1;
    cr_expect_eq(serve_recordio_decode(req.data, req.len - 9, &M, &DE), SMX_EFORMAT);
    cr_expect_eq(serve_recordio_decode("abc", 3, &M, &DE), SMX_EFORMAT);
    /* no "values" feature */
    rec.data[4] = 'V';
    smx_buf_reset(&req);
    serve_rio_frame(rec.data, rec.len, &req);
    cr_expect_eq(serve_recordio_decode(req.data, req.len, &M, &DE), SMX_EFORMAT);
    cr_expect_str_eq(DE.pytype, "<class 'KeyError'>");
    smx_buf_free(&rec);
    smx_buf_free(&req);
}

/* ---- encoders ---------------------------------------------------------------------------- */

static smx_buf OUT;
static void fini_out(void)
{
    smx_buf_free(&OUT);
}
TestSuite(encode, .fini = fini_out);

Test(encode, default_outputs)
{
    const float v[] = {-0.58963406f, 2.1042297f};
    serve_pred p = {v, 2, 1};
    cr_assert_eq(serve_encode_default(&p, SERVE_OUT_CSV, &OUT), SMX_OK);
    cr_expect_str_eq(OUT.data, "-0.5896340608596802\n2.104229688644409\n");
    serve_encode_default(&p, SERVE_OUT_JSON, &OUT);
    cr_expect_str_eq(OUT.data, "{\"predictions\": [{\"score\": -0.5896340608596802}, {\"score\": "
                               "2.104229688644409}]}");
    serve_encode_default(&p, SERVE_OUT_SINGLE_LINE, &OUT);
    cr_expect_str_eq(OUT.data, "-0.5896340608596802,2.104229688644409");
    const float m[] = {0.5f, 0.25f, NAN, 1, 0, 1e-5f};
    serve_pred q = {m, 2, 3};
    serve_encode_default(&q, SERVE_OUT_BATCH, &OUT);
    cr_expect_str_eq(OUT.data, "[0.5, 0.25, nan]\n[1.0, 0.0, 9.999999747378752e-06]\n");
    serve_encode_default(&q, SERVE_OUT_CSV, &OUT);
    cr_expect_str_eq(OUT.data, "0.5,0.25,nan\n1.0,0.0,9.999999747378752e-06\n");
    serve_encode_default(&q, SERVE_OUT_JSON, &OUT);
    cr_expect_str_eq(OUT.data, "{\"predictions\": [{\"score\": [0.5, 0.25, NaN]}, {\"score\": "
                               "[1.0, 0.0, 9.999999747378752e-06]}]}");
}

Test(encode, selectable_binary_logistic_as_observed)
{
    const float v[] = {0.03051910363137722f};
    serve_pred p = {v, 1, 1};
    const char *keys[] = {"predicted_label", "probability", "probabilities",  "raw_score",
                          "raw_scores",      "labels",      "predicted_score"};
    smx_err err = {0};
    cr_assert_eq(
        serve_encode_selectable(&p, "binary:logistic", 0, 1, keys, 7, "text/csv", 0, &OUT, &err),
        SMX_OK);
    cr_expect_str_eq(OUT.data,
                     "0,0.03051910363137722,\"[0.9694808963686228, 0.03051910363137722]\","
                     "0.03051910363137722,\"[0.9694808963686228, 0.03051910363137722]\","
                     "\"[0, 1]\",nan");
    cr_assert_eq(serve_encode_selectable(&p, "binary:logistic", 0, 1, keys, 7, "application/json",
                                         0, &OUT, &err),
                 SMX_OK);
    cr_expect_str_eq(OUT.data, "{\"predictions\": [{\"predicted_label\": 0, \"labels\": [0, 1], "
                               "\"probability\": 0.03051910363137722, \"probabilities\": "
                               "[0.9694808963686228, 0.03051910363137722], \"raw_score\": "
                               "0.03051910363137722, \"raw_scores\": [0.9694808963686228, "
                               "0.03051910363137722], \"predicted_score\": NaN}]}");
    cr_expect_eq(
        serve_encode_selectable(&p, "count:poisson", 0, 1, keys, 1, "text/csv", 0, &OUT, &err),
        SMX_EINVAL);
    cr_expect_str_eq(err.msg,
                     "Objective `count:poisson` unsupported for selectable inference predictions.");
    cr_expect_eq(
        serve_encode_selectable(&p, "binary:logistic", 0, 1, keys, 1, "text/plain", 0, &OUT, &err),
        SMX_EINVAL);
    cr_expect_str_eq(err.msg, "Cannot encode selected predictions into accept type 'text/plain'.");
}

Test(encode, recordio_records_accumulate_as_observed)
{
    /* recorded: reg model, SAGEMAKER_INFERENCE_OUTPUT=predicted_score, 3 rows */
    const float v[] = {-0.58963406f, 2.1042297f, 0.6936505f};
    serve_pred p = {v, 3, 1};
    const char *keys[] = {"predicted_score"};
    smx_err err = {0};
    cr_assert_eq(serve_encode_selectable(&p, "reg:squarederror", 0, 1, keys, 1,
                                         "application/x-recordio-protobuf", 0, &OUT, &err),
                 SMX_OK);
    cr_expect_eq(OUT.len, 204);
    static const unsigned char head[] = {0x0a, 0x23, 0xd7, 0xce, 0x1d, 0, 0, 0, 0x12, 0x1b};
    cr_expect_eq(memcmp(OUT.data, head, sizeof head), 0);
    /* second frame: length 58 = the first record and the second */
    cr_expect_eq((unsigned char)OUT.data[44], 0x3a);
}
