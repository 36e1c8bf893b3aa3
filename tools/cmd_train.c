/*
 * smxgb train --train PATH --container TAG -o model.tar.gz: train with SageMaker's
 * hyperparameters and write what that container's own training writes, packaged and verified.
 *
 * train_for_container (train/) does the work silently and reports progress through callbacks;
 * this file parses the options, prints the rounds in XGBoost's format
 * ("[0]\ttrain-rmse:0.12345"), draws a progress bar when stderr is a terminal, and prints the
 * result: a model its container would not load is a failed train.
 */
#include "tools.h"

#include "train/train.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    const char *train, *validation, *container, *hp_file, *output, *content_type, *xgboost_lib,
        *xgboost_wheel;
    str_list params;
    int json, quiet;
} o;

static const opt train_opts_table[] = {
    {OPT_STRING, 0, "train", &o.train, "PATH", "training channel: a file or a directory of files"},
    {OPT_STRING, 0, "validation", &o.validation, "PATH",
     "validation channel (early stopping watches its last metric)"},
    {OPT_STRING, 'c', "container", &o.container, "TAG",
     "target container version, e.g. 1.5-1, 1.7-1, 3.0-5 (required)"},
    {OPT_STRING, 0, "hyperparameters", &o.hp_file, "FILE",
     "hyperparameters.json as SageMaker writes it (every value a string)"},
    {OPT_LIST, 'p', "param", &o.params, "KEY=VALUE",
     "a hyperparameter, SageMaker name (repeatable; overrides --hyperparameters)"},
    {OPT_STRING, 'o', "output", &o.output, "FILE", "where to write model.tar.gz (required)"},
    {OPT_STRING, 0, "content-type", &o.content_type, "TYPE",
     "text/csv or text/libsvm (default: by extension, else from the first line)"},
    {OPT_STRING, 0, "xgboost-lib", &o.xgboost_lib, "PATH",
     "train with this libxgboost.so (default: $SMXGB_XGBOOST_LIB, else the container's runtime "
     "when cached (smxgb runtime fetch), else the system's)"},
    {OPT_STRING, 0, "xgboost-wheel", &o.xgboost_wheel, "WHEEL",
     "train with the libxgboost.so of this pip wheel, e.g. the exact version a container pins"},
    {OPT_FLAG, 'q', "quiet", &o.quiet, NULL, "do not print the per-round evaluation lines"},
    {OPT_FLAG, 0, "json", &o.json, NULL, "print the result as JSON (rounds are not printed)"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc train_doc = {
    "train",
    "smxgb train --train PATH [--validation PATH] --container TAG [--hyperparameters FILE]\n"
    "                   [-p KEY=VALUE]... -o model.tar.gz",
    "train a model the way a container's training would, package it and verify it",
    "Input as SageMaker's XGBoost algorithm takes it: CSV with the label in the first column\n"
    "and no header (label,weight,features with csv_weights=1; an empty cell is a missing\n"
    "value), or LIBSVM ('label[:weight] index:value ...', indexes used as they are). A channel\n"
    "is a file or a directory whose non-hidden files are read in name order.\n\n"
    "Hyperparameters use SageMaker's names with string values (num_round is required) and are\n"
    "validated as the container validates them and against its XGBoost version, e.g.\n"
    "objective=reg:absoluteerror needs XGBoost 1.7 (container 1.7-1 or later).\n\n"
    "Each round prints XGBoost's evaluation line on train (and validation). With\n"
    "early_stopping_rounds, training stops after that many rounds without improvement of the\n"
    "last metric on the last channel, and best_score, best_iteration (and, for containers\n"
    "with XGBoost 1.x, best_ntree_limit, which the 1.7-1 server predicts with) are stored in\n"
    "the model; for 1.7-1 best_iteration and best_ntree_limit are stored without early\n"
    "stopping too (the last round), as xgb.train 1.7 does.\n\n"
    "The model is written as that container's training writes 'xgboost-model': legacy binary\n"
    "for XGBoost 1.x containers, UBJSON for 3.x; it is loaded back and must predict exactly as\n"
    "the trained booster, then packaged deterministically (same data, hyperparameters and\n"
    "seed: same bytes) and verified for the container. Any error there fails the command.",
    train_opts_table,
    "  0  trained, packaged and verified\n"
    "  1  the packaged model fails verify for the container, or does not load back identically\n"
    "  2  usage error, bad hyperparameters, unreadable or malformed data\n"
    "  3  internal failure (XGBoost failed, out of memory)"};

/* ---- progress ---------------------------------------------------------------------------- */

typedef struct progress {
    int print_lines, bar;
    double t0; /* training started */
} progress;

static void on_data(void *ctx, const train_data *t, const train_data *v, double seconds)
{
    progress *p = ctx;
    if (p->print_lines) {
        fprintf(stderr, "read train: %llu rows x %llu features (%s, %zu file%s) in %.2fs\n",
                (unsigned long long)t->nrow, (unsigned long long)t->ncol,
                train_data_format_name(t->format), t->n_files, t->n_files == 1 ? "" : "s", seconds);
        if (v)
            fprintf(stderr, "read validation: %llu rows x %llu features\n",
                    (unsigned long long)v->nrow, (unsigned long long)v->ncol);
    }
    p->t0 = smx_now();
}

static void draw_bar(const progress *p, int iter, int num_round, const train_eval_metric *m,
                     size_t n)
{
    int width = 30, done = (int)((long long)(iter + 1) * width / num_round);
    fprintf(stderr, "[");
    for (int i = 0; i < width; i++)
        fputc(i < done ? '=' : (i == done ? '>' : ' '), stderr);
    fprintf(stderr, "] %d/%d", iter + 1, num_round);
    if (n)
        fprintf(stderr, "  %s-%s %.5f", m[n - 1].set, m[n - 1].name, m[n - 1].value);
    double el = smx_now() - p->t0;
    if (iter + 1 < num_round)
        fprintf(stderr, "  %.0fs left", el / (iter + 1) * (num_round - iter - 1));
    fflush(stderr);
}

static int on_round(void *ctx, int iter, int num_round, const train_eval_metric *m, size_t n)
{
    progress *p = ctx;
    if (p->bar)
        fputs("\r\033[K", stderr);
    if (p->print_lines) {
        printf("[%d]", iter);
        for (size_t i = 0; i < n; i++)
            printf("\t%s-%s:%.5f", m[i].set, m[i].name, m[i].value);
        printf("\n");
        fflush(stdout);
    }
    if (p->bar)
        draw_bar(p, iter, num_round, m, n);
    return 0;
}

static void on_trained(void *ctx, int status)
{
    progress *p = ctx;
    (void)status;
    if (p->bar)
        fputs("\r\033[K", stderr);
}

/* ---- the result -------------------------------------------------------------------------- */

static void print_result_json(const train_job *job, const compat_container *c)
{
    const train_result *r = &job->result;
    json_t *j = json_object();
    char vb[32];
    json_object_set_new(j, "output", json_string(o.output));
    json_object_set_new(j, "sha256", json_string(job->report->scan->sha256_hex));
    json_object_set_new(j, "container", json_string(c->tag));
    json_object_set_new(j, "xgboost", json_string(job->xgboost));
    json_object_set_new(j, "xgboost_version",
                        json_string(compat_version_str(job->xgboost_version, vb, sizeof vb)));
    json_object_set_new(j, "runtime",
                        json_string(job->evidence == COMPAT_EVIDENCE_EXACT ? "exact" : "stand-in"));
    json_object_set_new(j, "runtime_why", json_string(job->runtime_why));
    json_object_set_new(j, "format", json_string(r->format));
    json_object_set_new(j, "model_bytes", json_integer((json_int_t)r->model_len));
    json_object_set_new(j, "objective", json_string(r->objective));
    json_object_set_new(j, "rows_train", json_integer((json_int_t)r->n_train));
    json_object_set_new(j, "rows_validation", json_integer((json_int_t)r->n_validation));
    json_object_set_new(j, "num_feature", json_integer((json_int_t)r->num_feature));
    json_object_set_new(j, "num_round", json_integer(r->num_round));
    json_object_set_new(j, "rounds", json_integer(r->rounds));
    if (r->best_iteration >= 0) {
        json_object_set_new(j, "best_iteration", json_integer(r->best_iteration));
        json_object_set_new(j, "best_score", json_real(r->best_score));
        json_object_set_new(j, "early_stopping_metric", json_string(r->metric));
    }
    if (r->best_ntree_limit)
        json_object_set_new(j, "best_ntree_limit", json_integer(r->best_ntree_limit));
    json_object_set_new(j, "compared_rows", json_integer(r->compared_rows));
    json_object_set_new(j, "seconds_read", json_real(job->seconds_read));
    json_object_set_new(j, "seconds_train", json_real(job->seconds_train));
    json_object_set_new(j, "verify", report_to_json(job->report));
    json_object_set_new(j, "ok", json_boolean(job->verified));
    print_json(stdout, j);
    json_decref(j);
}

/* What was trained, with what, and (when verified) what was written. */
static void print_summary(const train_job *job, const compat_container *c)
{
    const train_result *r = &job->result;
    char vb[32];
    printf("trained %d round%s", r->rounds, r->rounds == 1 ? "" : "s");
    if (r->rounds < r->num_round)
        printf(" of %d (early stopping on %s)", r->num_round, r->metric);
    if (r->best_iteration >= 0) {
        printf(", best iteration %d", r->best_iteration);
        if (r->best_ntree_limit)
            printf(" (best_ntree_limit %d)", r->best_ntree_limit);
    }
    printf(" in %.2fs with XGBoost %s (%s)\n", job->seconds_train,
           compat_version_str(job->xgboost_version, vb, sizeof vb), job->xgboost);
    if (job->evidence != COMPAT_EVIDENCE_EXACT)
        printf("container %s pins XGBoost %s; XGBoost %s stood in: %s\n", c->tag, c->xgboost_str,
               vb, job->runtime_why);
    if (job->verified) {
        printf("wrote %s (xgboost-model: %s, %zu bytes, as container %s's training writes it; "
               "loads back and predicts identically on %d rows)\n",
               o.output, !strcmp(r->format, "ubj") ? "UBJSON" : "legacy binary", r->model_len,
               c->tag, r->compared_rows);
        printf("sha256 %s\n", job->report->scan->sha256_hex);
    }
}

static void print_result_text(const train_job *job, const compat_container *c)
{
    if (!o.quiet)
        print_summary(job, c);
    if (!job->verified) {
        fprintf(stderr,
                "smxgb train: the model fails verify for container %s, so %s was not written "
                "(that endpoint would not serve it correctly):\n",
                c->tag, o.output);
        report_print_text(stderr, job->report);
    } else if (!o.quiet) {
        printf("verify for %s: verdict ok\n", c->tag);
    }
}

/* ---- the verb ---------------------------------------------------------------------------- */

/* The container and the data format from the options; an exit code when they are unusable. */
static int check_options(int argc, char **argv, const compat_container **c, int *fmt)
{
    int n = opts_parse(argc, argv, &train_doc);
    if (n < 0)
        return verb_parse_exit(n);
    if (n != 0 || !o.train || !o.container || !o.output)
        return verb_usage(&train_doc, "need --train PATH, --container TAG and -o FILE");
    if (!(*c = compat_container_find(o.container))) {
        fprintf(stderr,
                "smxgb train: unknown container '%s' (known: 0.90-1 0.90-2 1.0-1 1.2-1 1.2-2 "
                "1.3-1 1.5-1 1.7-1 1.7-1-1 3.0-5 3.2-0)\n",
                o.container);
        return EXIT_USAGE;
    }
    if ((*fmt = train_data_format_parse(o.content_type)) < 0) {
        fprintf(stderr,
                "smxgb train: --content-type '%s': smxgb train reads text/csv and text/libsvm "
                "(parquet and recordio-protobuf are not supported)\n",
                o.content_type);
        return EXIT_USAGE;
    }
    return -1;
}

/* --hyperparameters, then each -p KEY=VALUE over it; an exit code on failure. */
static int read_hyperparameters(train_hparams *hp)
{
    smx_err err = {0};
    if (o.hp_file && train_hparams_load(hp, o.hp_file, &err)) {
        fprintf(stderr, "smxgb train: %s\n", err.msg);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < o.params.n; i++) {
        const char *kv = o.params.v[i], *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            fprintf(stderr, "smxgb train: -p '%s': expected KEY=VALUE\n", kv);
            return EXIT_USAGE;
        }
        if (train_hparams_set(hp, kv, (size_t)(eq - kv), eq + 1, &err)) {
            fprintf(stderr, "smxgb train: %s\n", err.msg);
            return EXIT_INTERNAL;
        }
    }
    if (o.xgboost_lib && o.xgboost_wheel) {
        fprintf(stderr, "smxgb train: give --xgboost-lib or --xgboost-wheel, not both\n");
        return EXIT_USAGE;
    }
    return -1;
}

/* A runtime or a channel that cannot be used is the user's to fix, unless we failed. */
static int failure_code(train_stage stage, int rc)
{
    if (stage == TRAIN_STAGE_RUNTIME || stage == TRAIN_STAGE_DATA)
        return rc == SMX_ENOMEM || rc == SMX_ERUNTIME ? EXIT_INTERNAL : EXIT_USAGE;
    return exit_for_status(rc);
}

static int report_job(const train_job *job, const compat_container *c, int rc, const smx_err *err)
{
    if (job->xgboost_log && *job->xgboost_log && !o.json && !o.quiet)
        fprintf(stderr, "XGBoost said:\n%s\n", job->xgboost_log);
    if (rc) {
        fprintf(stderr, "smxgb train: %s\n", err->msg);
        return failure_code(job->stage, rc);
    }
    if (!job->identical) {
        fprintf(stderr,
                "smxgb train: the saved model predicts differently from the trained booster "
                "(largest difference %g over %d rows)\n",
                (double)job->result.max_abs_diff, job->result.compared_rows);
        return EXIT_FINDINGS;
    }
    if (o.json)
        print_result_json(job, c);
    else
        print_result_text(job, c);
    return job->verified ? EXIT_OK : EXIT_FINDINGS;
}

static int cmd_train(int argc, char **argv)
{
    const compat_container *c = NULL;
    int fmt = 0;
    int code = check_options(argc, argv, &c, &fmt);
    train_hparams hp = {0};
    if (code < 0)
        code = read_hyperparameters(&hp);
    if (code >= 0)
        goto out;
    char out_fd[32];
    progress prog = {.print_lines = !o.json && !o.quiet,
                     .bar = !o.json && !o.quiet && isatty(STDERR_FILENO)};
    train_job_opts jo = {.train = o.train,
                         .validation = o.validation,
                         .container = c,
                         .hyperparameters = hp.v,
                         .n_hyperparameters = hp.n,
                         .format = (train_data_format)fmt,
                         .xgboost_lib = o.xgboost_lib,
                         .xgboost_wheel = o.xgboost_wheel,
                         .output = tools_claim_stdout(o.output, out_fd, sizeof out_fd),
                         .also_inputs = (const char *const[]){o.hp_file},
                         .n_also_inputs = o.hp_file ? 1 : 0,
                         .ctx = &prog,
                         .on_data = on_data,
                         .on_round = on_round,
                         .on_trained = on_trained};
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde)
        jo.mtime = strtoll(sde, NULL, 10);
    train_job job;
    smx_err err = {0};
    int rc = train_for_container(&jo, &job, &err);
    code = report_job(&job, c, rc, &err);
    train_job_free(&job);
out:
    train_hparams_free(&hp);
    str_list_free(&o.params);
    return code;
}

SMXGB_VERB(train, cmd_train, train_doc, 5)
