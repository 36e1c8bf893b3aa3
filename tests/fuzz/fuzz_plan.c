/* libFuzzer target: the Terraform plan reader (gate_plan_parse) on arbitrary bytes. */
#include "gate/gate.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gate_plan *p = NULL;
    smx_err err = {0};
    if (gate_plan_parse((const char *)data, size, &p, &err) == SMX_OK) {
        for (size_t i = 0; i < p->n_containers; i++)
            (void)gate_plan_env(&p->containers[i], "SAGEMAKER_PROGRAM");
        gate_plan_free(p);
    }
    return 0;
}
