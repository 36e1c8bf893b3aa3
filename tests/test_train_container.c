/*
 * train/container.c and the hyperparameter set: the whole of smxgb train as a library call.
 * Progress arrives through the callbacks in order (channels read, every round, training over);
 * a failure names its step; a model its container would fail is not left behind; and
 * hyperparameters.json is read as SageMaker writes it, KEY=VALUE overriding it.
 */
#include "helpers.h"

#include "train/train.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
TestSuite(train_container, .init = setup, .fini = teardown);

/* y depends on x0 and x1. */
static char *write_csv(const char *name, int rows)
{
    char *path = strdup(th_path(dir, name));
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    unsigned s = 7;
    for (int i = 0; i < rows; i++) {
        float x[3];
        for (int j = 0; j < 3; j++) {
            s = s * 1103515245u + 12345u;
            x[j] = (float)((s >> 8) % 1000) / 1000.0f;
        }
        fprintf(f, "%d,%.3f,%.3f,%.3f\n", x[0] + x[1] > 1.0f, x[0], x[1], x[2]);
    }
    fclose(f);
    return path;
}

typedef struct events {
    char log[4096]; /* "D" channels read, "R<iter>" a round, "T<status>" training over */
    uint64_t rows;
    int validation;
} events;

static void on_data(void *ctx, const train_data *t, const train_data *v, double seconds)
{
    events *e = ctx;
    (void)seconds;
    e->rows = t->nrow;
    e->validation = v != NULL;
    strcat(e->log, "D");
}

static int on_round(void *ctx, int iter, int num_round, const train_eval_metric *m, size_t n)
{
    events *e = ctx;
    cr_assert_eq(num_round, 4);
    cr_assert_eq(n, 1, "train's metric each round");
    cr_assert_str_eq(m[0].set, "train");
    cr_assert_str_eq(m[0].name, "logloss");
    snprintf(e->log + strlen(e->log), sizeof e->log - strlen(e->log), "R%d", iter);
    return 0;
}

static void on_trained(void *ctx, int status)
{
    events *e = ctx;
    snprintf(e->log + strlen(e->log), sizeof e->log - strlen(e->log), "T%d", status);
}

static train_job_opts job_opts(events *e, const char *train, const char *tag, const char *obj,
                               compat_kv hp[2])
{
    hp[0] = (compat_kv){"num_round", "4"};
    hp[1] = (compat_kv){"objective", (char *)obj};
    train_job_opts o = {.train = train,
                        .container = compat_container_find(tag),
                        .hyperparameters = hp,
                        .n_hyperparameters = 2,
                        .output = th_path(dir, "model.tar.gz"),
                        .ctx = e,
                        .on_data = on_data,
                        .on_round = on_round,
                        .on_trained = on_trained};
    cr_assert_not_null(o.container);
    return o;
}

Test(train_container, trains_packages_and_verifies_reporting_progress_in_order)
{
    char *train = write_csv("train.csv", 400);
    events e = {0};
    compat_kv hp[2];
    train_job_opts o = job_opts(&e, train, "1.7-1", "binary:logistic", hp);
    train_job job;
    smx_err err = {0};
    cr_assert_eq(train_for_container(&o, &job, &err), SMX_OK, "%s", err.msg);
    cr_assert_str_eq(e.log, "DR0R1R2R3T0");
    cr_assert_eq(e.rows, 400);
    cr_assert_eq(e.validation, 0);
    cr_assert_eq(job.stage, TRAIN_STAGE_WRITE, "verified, then written");
    cr_assert(job.identical && job.verified);
    cr_assert_eq(job.result.rounds, 4);
    cr_assert_str_eq(job.result.format, "deprecated", "1.7-1 training writes legacy binary");
    cr_assert_not_null(job.report);
    cr_assert_eq(access(o.output, F_OK), 0, "model.tar.gz is written");
    train_job_free(&job);
    free(train);
}

Test(train_container, a_failure_names_its_step_and_leaves_no_artifact)
{
    char *train = write_csv("train.csv", 50);
    th_write(th_path(dir, "hdr.csv"), "label,f1\n1,2\n", 13);
    events e = {0};
    compat_kv hp[2];
    train_job_opts o = job_opts(&e, th_path(dir, "hdr.csv"), "1.7-1", "binary:logistic", hp);
    train_job job;
    smx_err err = {0};
    cr_assert_eq(train_for_container(&o, &job, &err), SMX_EFORMAT);
    cr_assert_eq(job.stage, TRAIN_STAGE_DATA);
    cr_assert(strstr(err.msg, "train channel: ") == err.msg, "%s", err.msg);
    cr_assert_str_eq(e.log, "", "no progress before the data is read");
    train_job_free(&job);

    /* bad hyperparameters fail before any data is read: the channel does not even exist */
    o = job_opts(&e, th_path(dir, "missing.csv"), "1.5-1", "reg:absoluteerror", hp);
    cr_assert_eq(train_for_container(&o, &job, &err), SMX_EINVAL);
    cr_assert_eq(job.stage, TRAIN_STAGE_HYPERPARAMETERS);
    cr_assert(strstr(err.msg, "needs XGBoost 1.7"), "%s", err.msg);
    cr_assert(access(o.output, F_OK) != 0);
    train_job_free(&job);
    free(train);
}

Test(train_container, a_model_its_container_fails_is_removed)
{
    /* binary:logitraw from XGBoost >= 1.3.1 predicts shifted margins in 1.2-x containers */
    char *train = write_csv("train.csv", 200);
    events e = {0};
    compat_kv hp[2];
    train_job_opts o = job_opts(&e, train, "1.2-2", "binary:logitraw", hp);
    o.on_round = NULL;
    train_job job;
    smx_err err = {0};
    cr_assert_eq(train_for_container(&o, &job, &err), SMX_OK, "%s", err.msg);
    cr_assert(job.identical);
    cr_assert_not(job.verified);
    cr_assert_eq(job.report->results[0].verdict, COMPAT_VERDICT_WRONG);
    cr_assert(access(o.output, F_OK) != 0, "the artifact is removed");
    train_job_free(&job);
    free(train);
}

Test(train_container, hyperparameters_json_then_overrides)
{
    const char *path = th_path(dir, "hyperparameters.json");
    const char *j = "{\"num_round\": \"5\", \"eta\": \"0.1\"}";
    th_write(path, j, strlen(j));
    train_hparams hp = {0};
    smx_err err = {0};
    cr_assert_eq(train_hparams_load(&hp, path, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(train_hparams_set(&hp, "eta=0.3", 3, "0.3", &err), SMX_OK);
    cr_assert_eq(train_hparams_set(&hp, "max_depth", 9, "4", &err), SMX_OK);
    cr_assert_eq(hp.n, 3, "a later value replaces an earlier one");
    cr_assert_str_eq(hp.v[0].key, "num_round");
    cr_assert_str_eq(hp.v[1].key, "eta");
    cr_assert_str_eq(hp.v[1].value, "0.3");
    cr_assert_str_eq(hp.v[2].value, "4");
    train_hparams_free(&hp);

    j = "{\"num_round\": 5}";
    th_write(path, j, strlen(j));
    cr_assert_eq(train_hparams_load(&hp, path, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "'num_round' is not a string"), "%s", err.msg);
    train_hparams_free(&hp);
    cr_assert_eq(train_hparams_load(&hp, th_path(dir, "none.json"), &err), SMX_EIO);
    train_hparams_free(&hp);
}
