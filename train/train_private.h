/*
 * Private to train/: what the loop (train.c) takes from the hyperparameter code
 * (hyperparams.c). The hyperparameters stay SageMaker's strings until here.
 */
#ifndef SMXGB_TRAIN_PRIVATE_H
#define SMXGB_TRAIN_PRIVATE_H

#include "train.h"

/* The value of hyperparameter name (aliases such as learning_rate count), last one wins;
 * NULL when absent. */
const char *hp_get(const compat_kv *hp, size_t n, const char *name);
/* Python int() of a hyperparameter value: optional sign, digits, surrounding whitespace.
 * Returns 0, or -1 when s is not an integer. */
int hp_parse_int(const char *s, long long *v);
/* Pass every hyperparameter XGBoost takes to booster b, as xgb.train does (a list once per
 * element), plus the default eval_metric of container c's XGBoost when none is given. */
int hp_set_params(compat_booster *b, const compat_container *c, const compat_kv *hp, size_t n,
                  smx_err *err);

#endif
