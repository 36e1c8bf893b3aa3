/* libFuzzer target: the package index's answers (gate_index_parse_html, gate_index_parse_json)
 * on arbitrary bytes, as an HTML simple page and as JSON. */
#include "gate/gate.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gate_index_list l = {0};
    smx_err err = {0};
    const char *base = "https://idx.example/simple/xgboost/";
    gate_index_parse_html((const char *)data, size, base, "xgboost", "1.7.4", &l, &err);
    gate_index_parse_json((const char *)data, size, base, "xgboost", "1.7.4", &l, &err);
    gate_index_list_free(&l);
    return 0;
}
