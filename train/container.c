/*
 * Training for a container from start to finish, what `smxgb train` does: load the XGBoost to
 * train with, check the hyperparameters before any data is read, read the channels, train
 * (train_run), then package the model file as that container's training names it
 * (xgboost-model in a deterministic model.tar.gz) and verify the artifact for that container.
 *
 * The output is checked before any work (it must not be one of the inputs, nor inside an input
 * channel directory, and its directory must be writable), and written only at the end: the
 * artifact is packaged and verified in scratch, then written whole to the output. A model that
 * does not load back identically is not packaged, and an artifact that fails verify for its own
 * container never reaches the output, so an existing file there is kept: train never leaves
 * behind a model that container would not serve correctly. Each step that fails says which one it
 * was (job->stage), so the caller can tell bad input from an internal failure. Progress (the
 * channels read, each round, the end of training) goes to the caller's callbacks; nothing here
 * prints.
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
    /* with neither --xgboost-lib nor --xgboost-wheel: the container's own runtime when it is
     * cached, else $SMXGB_XGBOOST_LIB or the system's as a stand-in (compat_runtime_choose) */
    compat_runtime_choice ch = {.evidence = COMPAT_EVIDENCE_STANDIN};
    int rc = SMX_OK;
    if (o->xgboost_wheel)
        snprintf(ch.why, sizeof ch.why, "the wheel given (%s)", o->xgboost_wheel);
    else
        rc = compat_runtime_choose(o->container->xgboost_str, o->xgboost_lib, NULL, &ch, err);
    if (!rc)
        rc = o->xgboost_wheel ? compat_xgb_open_wheel(o->xgboost_wheel, x, err)
                              : compat_xgb_open(ch.lib[0] ? ch.lib : NULL, x, err);
    if (rc)
        return rc;
    job->xgboost = strdup(o->xgboost_wheel ? o->xgboost_wheel : compat_xgb_path(*x));
    job->runtime_why = strdup(ch.why);
    if (!job->xgboost || !job->runtime_why)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    job->xgboost_version = compat_xgb_version(*x);
    char v[32];
    compat_version_str(job->xgboost_version, v, sizeof v);
    job->evidence = compat_version_same(v, o->container->xgboost_str) ? COMPAT_EVIDENCE_EXACT
                                                                      : COMPAT_EVIDENCE_STANDIN;
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

static int write_file(const char *path, const void *buf, size_t len, smx_err *err)
{
    smx_out out;
    int rc = smx_out_open(&out, path, NULL, 0, err);
    if (!rc)
        rc = smx_out_write(&out, buf, len, err);
    if (!rc)
        rc = smx_out_commit(&out, err);
    smx_out_abort(&out);
    return rc;
}

/* xgboost-model, as the container's training names it, in a deterministic model.tar.gz in the
 * job's scratch directory (verified there before it goes to the output). */
static int package(const train_job_opts *o, const train_result *r, const char *scratch,
                   char **artifact, smx_err *err)
{
    char model[4096];
    snprintf(model, sizeof model, "%s/xgboost-model", scratch);
    if (asprintf(artifact, "%s/model.tar.gz", scratch) < 0) {
        *artifact = NULL;
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    int rc = write_file(model, r->model, r->model_len, err);
    artifact_package_opts po = {.allow_multiple = 0, .mtime = o->mtime};
    if (!rc)
        rc = artifact_package(model, *artifact, &po, err);
    unlink(model);
    return rc;
}

/* verify the packaged artifact for the target container; ok means no error finding and the
 * verdict ok. The report names the output the user asked for. */
static int verify(const train_job_opts *o, const char *artifact, train_job *job, smx_err *err)
{
    const char *tags[1] = {o->container->tag};
    /* no load check in a forked child: this process already runs XGBoost's OpenMP threads,
     * and a child forked from it can hang in libgomp; train_run has loaded the written bytes
     * back and compared its predictions already. The load rules still apply. */
    compat_verify_opts vo = {.containers = tags,
                             .n_containers = 1,
                             .xgboost_lib = o->xgboost_lib,
                             .no_load_check = 1,
                             .display = o->output};
    artifact_limits_default(&vo.limits);
    int rc = compat_verify(artifact, &vo, &job->report, err);
    if (rc) {
        char what[4200];
        snprintf(what, sizeof what, "verify %s", o->output);
        return fail_in(err, rc, what);
    }
    char *shown = strdup(o->output);
    if (!shown)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    free(job->report->scan->path);
    job->report->scan->path = shown;
    const compat_report *rep = job->report;
    job->verified =
        rep->n_errors == 0 && rep->n_results == 1 && rep->results[0].verdict == COMPAT_VERDICT_OK;
    return SMX_OK;
}

/* The verified artifact goes to the output whole (a regular file by rename, a device or FIFO
 * written through); an artifact that fails its own container never reaches it. */
/* Every file the job reads: the output must be none of them (nor inside a channel directory). */
static const char **inputs_of(const train_job_opts *o, size_t *n)
{
    const char **v = calloc(o->n_also_inputs + 2, sizeof *v);
    if (!v)
        return NULL;
    *n = 0;
    v[(*n)++] = o->train;
    if (o->validation)
        v[(*n)++] = o->validation;
    for (size_t i = 0; i < o->n_also_inputs; i++)
        v[(*n)++] = o->also_inputs[i];
    return v;
}

static int check_output(const train_job_opts *o, smx_err *err)
{
    size_t n;
    const char **in = inputs_of(o, &n);
    if (!in)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    int rc = smx_out_check(o->output, in, n, err);
    free(in);
    return rc;
}

static int install(const train_job_opts *o, const char *artifact, smx_err *err)
{
    smx_buf b = SMX_BUF_INIT;
    size_t n = 0;
    const char **in = inputs_of(o, &n);
    int rc = in ? smx_buf_read_file(&b, artifact, SIZE_MAX / 2, err)
                : smx_fail(err, SMX_ENOMEM, "out of memory");
    smx_out out = {.fd = -1};
    if (!rc)
        rc = smx_out_open(&out, o->output, in, n, err);
    if (!rc && !(rc = smx_out_write(&out, b.data, b.len, err)))
        rc = smx_out_commit(&out, err);
    smx_out_abort(&out); /* nothing left to do after a commit */
    smx_buf_free(&b);
    free(in);
    return rc;
}

/* Package, verify, and only then write the output. */
static int deliver(const train_job_opts *o, train_job *job, smx_err *err)
{
    char *scratch = NULL, *artifact = NULL;
    int rc = smx_scratch_dir("smxgb-train-", &scratch, err);
    if (!rc) {
        job->stage = TRAIN_STAGE_PACKAGE;
        rc = package(o, &job->result, scratch, &artifact, err);
    }
    if (!rc) {
        job->stage = TRAIN_STAGE_VERIFY;
        rc = verify(o, artifact, job, err);
    }
    if (!rc && job->verified) {
        job->stage = TRAIN_STAGE_WRITE;
        rc = install(o, artifact, err);
    }
    if (scratch)
        smx_scratch_remove(scratch);
    free(scratch);
    free(artifact);
    return rc;
}

int train_for_container(const train_job_opts *o, train_job *job, smx_err *err)
{
    memset(job, 0, sizeof *job);
    train_data dtrain = {0}, dval = {0};
    compat_xgb *x = NULL;
    job->stage = TRAIN_STAGE_OUTPUT;
    int rc = check_output(o, err);
    if (!rc) {
        job->stage = TRAIN_STAGE_RUNTIME;
        rc = open_runtime(o, &x, job, err);
    }
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
    if (!rc && job->identical)
        rc = deliver(o, job, err);
    train_data_free(&dtrain);
    train_data_free(&dval);
    compat_xgb_close(x);
    return rc;
}

void train_job_free(train_job *job)
{
    free(job->xgboost);
    free(job->runtime_why);
    free(job->xgboost_log);
    train_result_free(&job->result);
    compat_report_free(job->report);
    memset(job, 0, sizeof *job);
}
