/*
 * train/hyperparams.c: SageMaker's hyperparameters validated as each container validates them,
 * and against what the container's XGBoost supports.
 */
#include "helpers.h"

#include "train/train.h"

#include <criterion/criterion.h>
#include <string.h>

static int validate(const char *tag, const char *const *kv, size_t n, smx_err *err)
{
    compat_kv hp[16];
    for (size_t i = 0; i < n; i++) {
        hp[i].key = (char *)kv[2 * i];
        hp[i].value = (char *)kv[2 * i + 1];
    }
    const compat_container *c = compat_container_find(tag);
    cr_assert_not_null(c, "%s", tag);
    return train_validate(c, (compat_version){1, 7, 4}, hp, n, err);
}

Test(train_hyperparams, hyperparameters_are_validated_per_container)
{
    smx_err err = {0};
    const char *ok[] = {"num_round", "10",          "objective",   "binary:logistic", "eta",
                        "0.3",       "eval_metric", "auc,logloss", "learning_rate",   "0.2"};
    cr_assert_eq(validate("1.5-1", ok, 5, &err), SMX_OK, "%s", err.msg);

    const char *absl[] = {"num_round", "10", "objective", "reg:absoluteerror"};
    cr_assert_eq(validate("1.5-1", absl, 2, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "needs XGBoost 1.7"), "%s", err.msg);
    cr_assert(strstr(err.msg, "1.5-1 has XGBoost 1.5.2"), "%s", err.msg);
    cr_assert_eq(validate("1.7-1", absl, 2, &err), SMX_OK, "%s", err.msg);

    const char *typo[] = {"num_round", "10", "etta", "0.1"};
    cr_assert_eq(validate("1.7-1", typo, 2, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "unknown hyperparameter 'etta' (did you mean 'eta'?)"), "%s",
              err.msg);
    cr_assert(strstr(err.msg, "max_depth") && strstr(err.msg, "colsample_bytree"),
              "the message lists the valid names: %s", err.msg);

    const char *none[] = {"eta", "0.1"};
    cr_assert_eq(validate("1.7-1", none, 1, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "num_round is required"), "%s", err.msg);

    const char *range[] = {"num_round", "10", "eta", "1.5"};
    cr_assert_eq(validate("1.7-1", range, 2, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "eta=1.5 is out of range [0, 1]"), "%s", err.msg);

    const char *notint[] = {"num_round", "10.5"};
    cr_assert_eq(validate("1.7-1", notint, 1, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "num_round='10.5': expected an integer"), "%s", err.msg);

    const char *multi[] = {"num_round", "10", "objective", "multi:softmax"};
    cr_assert_eq(validate("1.7-1", multi, 2, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "needs num_class"), "%s", err.msg);

    const char *auc[] = {"num_round", "10", "eval_metric", "auc"};
    cr_assert_eq(validate("1.7-1", auc, 2, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "auc is only for classification and ranking"), "%s", err.msg);

    const char *f1[] = {"num_round", "10", "objective", "binary:logistic", "eval_metric", "f1"};
    cr_assert_eq(validate("1.7-1", f1, 3, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "computed by the container in Python"), "%s", err.msg);

    const char *obj[] = {"num_round", "10", "objective", "reg:quantileerror"};
    cr_assert_eq(validate("1.7-1", obj, 2, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "needs XGBoost 2.0"), "%s", err.msg);

    const char *old[] = {"num_round", "10"};
    cr_assert_eq(validate("0.90-2", old, 1, &err), SMX_EINVAL);
    cr_assert(strstr(err.msg, "predicts nothing"), "%s", err.msg);
}
