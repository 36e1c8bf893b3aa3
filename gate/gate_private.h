/* Private to gate/: shared between its files, not part of the public header. */
#ifndef SMXGB_GATE_PRIVATE_H
#define SMXGB_GATE_PRIVATE_H

#include "gate.h"

/* curl_global_init, once per process. */
int gate_curl_init(smx_err *err);

#endif
