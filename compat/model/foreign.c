/*
 * Files that are recognisably not an XGBoost model (formats.md 6): archives inside the
 * artifact, other libraries' models, XGBoost's own text dump, macOS resource forks. Each is
 * named by its magic or its first line, so a report can say what the file is instead of
 * "unrecognised bytes". None of them is read further.
 */
#include "model_private.h"

#include <string.h>

static int has_prefix(const unsigned char *b, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len >= n && !memcmp(b, s, n);
}

static int tar_sniff(const unsigned char *b, size_t len)
{
    return len >= 262 && !memcmp(b + 257, "ustar", 5);
}

static int zip_sniff(const unsigned char *b, size_t len)
{
    return has_prefix(b, len, "PK\x03\x04");
}

static int lightgbm_sniff(const unsigned char *b, size_t len)
{
    return has_prefix(b, len, "tree\nversion=") || has_prefix(b, len, "tree\r\nversion=");
}

static int dump_sniff(const unsigned char *b, size_t len)
{
    return has_prefix(b, len, "booster[0]:");
}

static int catboost_sniff(const unsigned char *b, size_t len)
{
    return has_prefix(b, len, "CBM1");
}

/* ModelProto: field 1 ir_version (varint, tag 0x08), usually then producer_name (0x12) */
static int onnx_sniff(const unsigned char *b, size_t len)
{
    if (len < 8 || b[0] != 0x08 || b[1] == 0 || b[1] > 20)
        return 0;
    size_t lim = len < 4096 ? len : 4096;
    for (size_t i = 0; i + 4 < lim; i++)
        if (!memcmp(b + i, "onnx", 4) || !memcmp(b + i, "ONNX", 4) ||
            !memcmp(b + i, "skl2onnx", 8 < lim - i ? 8 : lim - i))
            return 1;
    return 0;
}

static int appledouble_sniff(const unsigned char *b, size_t len)
{
    return len >= 4 && !memcmp(b, "\x00\x05\x16\x07", 4);
}

const mdl_format mdl_foreign_tar = {
    .name = "tar", .sniff = tar_sniff, .other = "tar archive (an archive inside the artifact)"};
const mdl_format mdl_foreign_zip = {.name = "zip", .sniff = zip_sniff, .other = "zip archive"};
const mdl_format mdl_foreign_lightgbm = {
    .name = "LightGBM", .sniff = lightgbm_sniff, .other = "LightGBM text model"};
const mdl_format mdl_foreign_dump = {
    .name = "XGBoost text dump",
    .sniff = dump_sniff,
    .other = "XGBoost text dump (dump_model output; no XGBoost can load it)"};
const mdl_format mdl_foreign_catboost = {
    .name = "CatBoost", .sniff = catboost_sniff, .other = "CatBoost model"};
const mdl_format mdl_foreign_onnx = {.name = "ONNX", .sniff = onnx_sniff, .other = "ONNX model"};
const mdl_format mdl_foreign_appledouble = {.name = "AppleDouble",
                                            .sniff = appledouble_sniff,
                                            .other = "AppleDouble resource fork (a macOS ._ file)"};
