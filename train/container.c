/*
 * Training for a container from start to finish, what `smxgb train` does: load the XGBoost to
 * train with, check the hyperparameters before any data is read, read the channels, train
 * (train_run), then package the model file as that container's training names it
 * (xgboost-model in a deterministic model.tar.gz) and verify the artifact for that container.
 *
 * A model that does not load back identically is not packaged, and an artifact that fails
 * verify for its own container is removed: train never leaves behind a model that container
 * would not serve correctly. Each step that fails says which one it was (job->stage), so the
 * caller can tell bad input from an internal failure. Progress (the channels read, each round,
 * the end of training) goes to the caller's callbacks; nothing here prints.
 */
#include "train.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Prefix err's message with what was being done ("train channel: ..."). */
static int fail_in(smx_err *err, int rc, const char *what)
{
    char msg[SMX_ERRMAX];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return smx_fail(err, rc, "%s: %s", what, msg);
}

static int open_runtime(const train_job_opts *o, compat_xgb **x, train_job *job, smx_err *err)
{
    /* libgomp's default is to spin-wait between parallel regions; on a machine shared with
     * other work (CI runners, laptops) the spinning threads burn most of the CPU time and
     * slow training several-fold. Waiting passively changes nothing in the result. An
     * explicit OMP_WAIT_POLICY wins; libgomp reads it when libxgboost loads it, below. */
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    int rc = o->xgboost_wheel ? compat_xgb_open_wheel(o->xgboost_wheel, x, err)
                              : compat_xgb_open(o->xgboost_lib, x, err);
    if (rc)
        return rc;
    job->xgboost = strdup(o->xgboost_wheel ? o->xgboost_wheel : compat_xgb_path(*x));
    if (!job->xgboost)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    job->xgboost_version = compat_xgb_version(*x);
    return SMX_OK;
}

/* The train channel, then validation (read in the format train turned out to have). */
static int read_channels(const train_job_opts *o, train_data *dtrain, train_data *dval,
                         train_job *job, smx_err *err)
{
    train_data_opts dopt = {.format = o->format};
    for (size_t i = 0; i < o->n_hyperparameters; i++)
        if (!strcmp(o->hyperparameters[i].key, "csv_weights"))
            dopt.csv_weights = atoi(o->hyperparameters[i].value) == 1;
    double t0 = smx_now();
    int rc = train_data_load(o->train, &dopt, dtrain, err);
    if (rc)
        return fail_in(err, rc, "train channel");
    if (o->validation) {
        train_data_opts vopt = dopt;
        vopt.format = dtrain->format;
        if ((rc = train_data_load(o->validation, &vopt, dval, err)))
            return fail_in(err, rc, "validation channel");
    }
    job->seconds_read = smx_now() - t0;
    return SMX_OK;
}

static int train_model(const train_job_opts *o, compat_xgb *x, train_data *dtrain, train_data *dval,
                       train_job *job, smx_err *err)
{
    train_opts topt = {.container = o->container,
                       .hyperparameters = o->hyperparameters,
                       .n_hyperparameters = o->n_hyperparameters,
                       .on_round = o->on_round,
                       .ctx = o->ctx};
    double t0 = smx_now();
    int rc = train_run(x, &topt, dtrain, o->validation ? dval : NULL, &job->result, err);
    if (o->on_trained)
        o->on_trained(o->ctx, rc);
    if (rc)
        return rc;
    job->seconds_train = smx_now() - t0;
    job->xgboost_log = strdup(compat_xgb_log());
    if (!job->xgboost_log)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    job->identical = job->result.max_abs_diff == 0;
    return SMX_OK;
}

static int write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(buf, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : -1;
}

/* xgboost-model, as the container's training names it, in a deterministic model.tar.gz. */
static int package(const train_job_opts *o, const train_result *r, smx_err *err)
{
    const char *td = getenv("TMPDIR");
    char *dir = NULL;
    if (asprintf(&dir, "%s/smxgb-train-XXXXXX", td && *td ? td : "/tmp") < 0)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!mkdtemp(dir)) {
        int e = errno;
        free(dir);
        return smx_fail(err, SMX_EIO, "cannot create a temporary directory: %s", strerror(e));
    }
    char model[4096];
    snprintf(model, sizeof model, "%s/xgboost-model", dir);
    int rc = SMX_OK;
    if (write_file(model, r->model, r->model_len))
        rc = smx_fail(err, SMX_EIO, "cannot write %s: %s", model, strerror(errno));
    artifact_package_opts po = {.allow_multiple = 0, .mtime = o->mtime};
    if (!rc)
        rc = artifact_package(model, o->output, &po, err);
    unlink(model);
    rmdir(dir);
    free(dir);
    return rc;
}

/* verify for the target container; ok means no error finding and the verdict ok. */
static int verify(const train_job_opts *o, train_job *job, smx_err *err)
{
    const char *tags[1] = {o->container->tag};
    /* no load check in a forked child: this process already runs XGBoost's OpenMP threads,
     * and a child forked from it can hang in libgomp; train_run has loaded the written bytes
     * back and compared its predictions already. The load rules still apply. */
    compat_verify_opts vo = {
        .containers = tags, .n_containers = 1, .xgboost_lib = o->xgboost_lib, .no_load_check = 1};
    artifact_limits_default(&vo.limits);
    int rc = compat_verify(o->output, &vo, &job->report, err);
    if (rc) {
        char what[4200];
        snprintf(what, sizeof what, "verify %s", o->output);
        return fail_in(err, rc, what);
    }
    const compat_report *rep = job->report;
    job->verified =
        rep->n_errors == 0 && rep->n_results == 1 && rep->results[0].verdict == COMPAT_VERDICT_OK;
    if (!job->verified)
        unlink(o->output); /* never leave an artifact behind that fails its own container */
    return SMX_OK;
}

int train_for_container(const train_job_opts *o, train_job *job, smx_err *err)
{
    memset(job, 0, sizeof *job);
    train_data dtrain = {0}, dval = {0};
    compat_xgb *x = NULL;
    job->stage = TRAIN_STAGE_RUNTIME;
    int rc = open_runtime(o, &x, job, err);
    if (!rc) {
        job->stage = TRAIN_STAGE_HYPERPARAMETERS;
        rc = train_validate(o->container, job->xgboost_version, o->hyperparameters,
                            o->n_hyperparameters, err);
    }
    if (!rc) {
        job->stage = TRAIN_STAGE_DATA;
        rc = read_channels(o, &dtrain, &dval, job, err);
    }
    if (!rc && o->on_data)
        o->on_data(o->ctx, &dtrain, o->validation ? &dval : NULL, job->seconds_read);
    if (!rc) {
        job->stage = TRAIN_STAGE_TRAIN;
        rc = train_model(o, x, &dtrain, &dval, job, err);
    }
    if (!rc && job->identical) {
        job->stage = TRAIN_STAGE_PACKAGE;
        rc = package(o, &job->result, err);
    }
    if (!rc && job->identical) {
        job->stage = TRAIN_STAGE_VERIFY;
        rc = verify(o, job, err);
    }
    train_data_free(&dtrain);
    train_data_free(&dval);
    compat_xgb_close(x);
    return rc;
}

void train_job_free(train_job *job)
{
    free(job->xgboost);
    free(job->xgboost_log);
    train_result_free(&job->result);
    compat_report_free(job->report);
    memset(job, 0, sizeof *job);
}
