/*
 * smxgb train --train PATH --container TAG -o model.tar.gz: train with SageMaker's
 * hyperparameters and write what that container's own training writes, packaged and verified.
 *
 * The library (train/) trains silently and reports each round through a callback;
 * this file prints the rounds in XGBoost's format ("[0]\ttrain-rmse:0.12345"), draws a
 * progress bar when stderr is a terminal, packages the model deterministically and runs
 * verify for the target container: a model that container would not load is a failed train.
 */
#include "tools.h"

#include "train/train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
     "train with this libxgboost.so (default: the system's, or $SMXGB_XGBOOST_LIB)"},
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

/* ---- hyperparameters --------------------------------------------------------------------- */

typedef struct hp_list {
    compat_kv *v;
    size_t n;
} hp_list;

static int hp_set(hp_list *l, const char *k, size_t kl, const char *v)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->v[i].key) == kl && !strncmp(l->v[i].key, k, kl)) {
            char *nv = strdup(v);
            if (!nv)
                return -1;
            free(l->v[i].value);
            l->v[i].value = nv;
            return 0;
        }
    compat_kv *nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    l->v = nv;
    l->v[l->n].key = strndup(k, kl);
    l->v[l->n].value = strdup(v);
    if (!l->v[l->n].key || !l->v[l->n].value)
        return -1;
    l->n++;
    return 0;
}

static void hp_free(hp_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].value);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int hp_load_file(hp_list *l, const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) {
        fprintf(stderr, "smxgb train: %s: line %d, column %d: %s\n", path, je.line, je.column,
                je.text);
        return -1;
    }
    if (!json_is_object(j)) {
        fprintf(stderr, "smxgb train: %s: expected a JSON object of hyperparameters\n", path);
        json_decref(j);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (!json_is_string(v)) {
            fprintf(stderr,
                    "smxgb train: %s: '%s' is not a string; SageMaker writes every "
                    "hyperparameter value as a string (\"%s\": \"...\")\n",
                    path, k, k);
            json_decref(j);
            return -1;
        }
        if (hp_set(l, k, strlen(k), json_string_value(v))) {
            json_decref(j);
            return -1;
        }
    }
    json_decref(j);
    return 0;
}

/* ---- per-round output -------------------------------------------------------------------- */

typedef struct round_ctx {
    int print_lines, bar;
    struct timespec t0;
} round_ctx;

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int on_round(void *vctx, int iter, int num_round, const train_eval_metric *m, size_t n)
{
    round_ctx *c = vctx;
    if (c->bar)
        fputs("\r\033[K", stderr);
    if (c->print_lines) {
        printf("[%d]", iter);
        for (size_t i = 0; i < n; i++)
            printf("\t%s-%s:%.5f", m[i].set, m[i].name, m[i].value);
        printf("\n");
        fflush(stdout);
    }
    if (c->bar) {
        int width = 30, done = (int)((long long)(iter + 1) * width / num_round);
        fprintf(stderr, "[");
        for (int i = 0; i < width; i++)
            fputc(i < done ? '=' : (i == done ? '>' : ' '), stderr);
        fprintf(stderr, "] %d/%d", iter + 1, num_round);
        if (n)
            fprintf(stderr, "  %s-%s %.5f", m[n - 1].set, m[n - 1].name, m[n - 1].value);
        double el = since(&c->t0);
        if (iter + 1 < num_round)
            fprintf(stderr, "  %.0fs left", el / (iter + 1) * (num_round - iter - 1));
        fflush(stderr);
    }
    return 0;
}

/* ---- the verb ---------------------------------------------------------------------------- */

static int write_all(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(buf, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : -1;
}

static int load_channel(const char *what, const char *path, const train_data_opts *dopt,
                        train_data *d)
{
    smx_err err = {0};
    int rc = train_data_load(path, dopt, d, &err);
    if (rc) {
        fprintf(stderr, "smxgb train: %s channel: %s\n", what, err.msg);
        return rc == SMX_ENOMEM ? EXIT_INTERNAL : EXIT_USAGE;
    }
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &train_doc);
    if (n == -2)
        return EXIT_OK;
    if (n < 0)
        return EXIT_USAGE;
    if (n != 0 || !o.train || !o.container || !o.output) {
        fprintf(stderr, "smxgb train: need --train PATH, --container TAG and -o FILE\nusage: %s\n",
                train_doc.usage);
        return EXIT_USAGE;
    }
    const compat_container *c = compat_container_find(o.container);
    if (!c) {
        fprintf(stderr,
                "smxgb train: unknown container '%s' (known: 0.90-1 0.90-2 1.0-1 1.2-1 1.2-2 "
                "1.3-1 1.5-1 1.7-1 1.7-1-1 3.0-5 3.2-0)\n",
                o.container);
        return EXIT_USAGE;
    }
    int fmt = train_data_format_parse(o.content_type);
    if (fmt < 0) {
        fprintf(stderr,
                "smxgb train: --content-type '%s': smxgb train reads text/csv and text/libsvm "
                "(parquet and recordio-protobuf are not supported)\n",
                o.content_type);
        return EXIT_USAGE;
    }

    int code = EXIT_OK;
    hp_list hp = {0};
    train_data dtrain = {0}, dval = {0};
    train_result res = {0};
    compat_xgb *x = NULL;
    char *tmpdir = NULL;
    compat_report *report = NULL;
    smx_err err = {0};

    if (o.hp_file && hp_load_file(&hp, o.hp_file)) {
        code = EXIT_USAGE;
        goto out;
    }
    for (size_t i = 0; i < o.params.n; i++) {
        const char *eq = strchr(o.params.v[i], '=');
        if (!eq || eq == o.params.v[i]) {
            fprintf(stderr, "smxgb train: -p '%s': expected KEY=VALUE\n", o.params.v[i]);
            code = EXIT_USAGE;
            goto out;
        }
        if (hp_set(&hp, o.params.v[i], (size_t)(eq - o.params.v[i]), eq + 1)) {
            code = EXIT_INTERNAL;
            goto out;
        }
    }
    if (o.xgboost_lib && o.xgboost_wheel) {
        fprintf(stderr, "smxgb train: give --xgboost-lib or --xgboost-wheel, not both\n");
        code = EXIT_USAGE;
        goto out;
    }
    /* libgomp's default is to spin-wait between parallel regions; on a machine shared with
     * other work (CI runners, laptops) the spinning threads burn most of the CPU time and
     * slow training several-fold. Waiting passively changes nothing in the result. An
     * explicit OMP_WAIT_POLICY wins; libgomp reads it when libxgboost loads it, below. */
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    int rc = o.xgboost_wheel ? compat_xgb_open_wheel(o.xgboost_wheel, &x, &err)
                             : compat_xgb_open(o.xgboost_lib, &x, &err);
    if (rc) {
        fprintf(stderr, "smxgb train: %s\n", err.msg);
        code = rc == SMX_ERUNTIME || rc == SMX_ENOMEM ? EXIT_INTERNAL : EXIT_USAGE;
        goto out;
    }
    /* bad hyperparameters fail before any data is read */
    if ((rc = train_validate(c, compat_xgb_version(x), hp.v, hp.n, &err))) {
        fprintf(stderr, "smxgb train: %s\n", err.msg);
        code = exit_for_status(rc);
        goto out;
    }
    train_data_opts dopt = {.format = (train_data_format)fmt};
    for (size_t i = 0; i < hp.n; i++)
        if (!strcmp(hp.v[i].key, "csv_weights"))
            dopt.csv_weights = atoi(hp.v[i].value) == 1;

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((code = load_channel("train", o.train, &dopt, &dtrain)))
        goto out;
    if (o.validation) {
        train_data_opts vopt = dopt;
        vopt.format = dtrain.format;
        if ((code = load_channel("validation", o.validation, &vopt, &dval)))
            goto out;
    }
    double t_read = since(&t0);
    if (!o.json && !o.quiet) {
        fprintf(stderr, "read train: %llu rows x %llu features (%s, %zu file%s) in %.2fs\n",
                (unsigned long long)dtrain.nrow, (unsigned long long)dtrain.ncol,
                train_data_format_name(dtrain.format), dtrain.n_files,
                dtrain.n_files == 1 ? "" : "s", t_read);
        if (o.validation)
            fprintf(stderr, "read validation: %llu rows x %llu features\n",
                    (unsigned long long)dval.nrow, (unsigned long long)dval.ncol);
    }

    round_ctx rctx = {.print_lines = !o.json && !o.quiet,
                      .bar = !o.json && !o.quiet && isatty(STDERR_FILENO)};
    clock_gettime(CLOCK_MONOTONIC, &rctx.t0);
    train_opts topt = {.container = c,
                       .hyperparameters = hp.v,
                       .n_hyperparameters = hp.n,
                       .on_round = on_round,
                       .ctx = &rctx};
    rc = train_run(x, &topt, &dtrain, o.validation ? &dval : NULL, &res, &err);
    if (rctx.bar)
        fputs("\r\033[K", stderr);
    if (rc) {
        fprintf(stderr, "smxgb train: %s\n", err.msg);
        code = exit_for_status(rc);
        goto out;
    }
    double t_train = since(&rctx.t0);
    const char *log = compat_xgb_log();
    if (*log && !o.json && !o.quiet)
        fprintf(stderr, "XGBoost said:\n%s\n", log);
    if (res.max_abs_diff != 0) {
        fprintf(stderr,
                "smxgb train: the saved model predicts differently from the trained booster "
                "(largest difference %g over %d rows)\n",
                (double)res.max_abs_diff, res.compared_rows);
        code = EXIT_FINDINGS;
        goto out;
    }

    /* package: the model file as the container's training names it */
    const char *td = getenv("TMPDIR");
    if (asprintf(&tmpdir, "%s/smxgb-train-XXXXXX", td && *td ? td : "/tmp") < 0 ||
        !mkdtemp(tmpdir)) {
        fprintf(stderr, "smxgb train: cannot create a temporary directory: %s\n", strerror(errno));
        free(tmpdir);
        tmpdir = NULL;
        code = EXIT_USAGE;
        goto out;
    }
    char model_path[4096];
    snprintf(model_path, sizeof model_path, "%s/xgboost-model", tmpdir);
    if (write_all(model_path, res.model, res.model_len)) {
        fprintf(stderr, "smxgb train: cannot write %s: %s\n", model_path, strerror(errno));
        code = EXIT_USAGE;
        goto out;
    }
    artifact_package_opts po = {.allow_multiple = 0, .mtime = 0};
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde)
        po.mtime = strtoll(sde, NULL, 10);
    if ((rc = artifact_package(model_path, o.output, &po, &err))) {
        fprintf(stderr, "smxgb train: %s\n", err.msg);
        code = exit_for_status(rc);
        goto out;
    }

    /* verify for the target container */
    const char *tags[1] = {c->tag};
    /* no load check in a forked child: this process already runs XGBoost's OpenMP threads,
     * and a child forked from it can hang in libgomp; train_run has loaded the written
     * bytes back and compared its predictions already. The load rules still apply. */
    compat_verify_opts vo = {
        .containers = tags, .n_containers = 1, .xgboost_lib = o.xgboost_lib, .no_load_check = 1};
    artifact_limits_default(&vo.limits);
    if ((rc = compat_verify(o.output, &vo, &report, &err))) {
        fprintf(stderr, "smxgb train: verify %s: %s\n", o.output, err.msg);
        code = exit_for_status(rc);
        goto out;
    }
    /* ok means: no error finding, and the verdict for the target container is ok */
    int verified = report->n_errors == 0 && report->n_results == 1 &&
                   report->results[0].verdict == COMPAT_VERDICT_OK;
    if (o.json) {
        json_t *j = json_object();
        json_object_set_new(j, "output", json_string(o.output));
        json_object_set_new(j, "sha256", json_string(report->scan->sha256_hex));
        json_object_set_new(j, "container", json_string(c->tag));
        char vb[32];
        json_object_set_new(j, "xgboost",
                            json_string(o.xgboost_wheel ? o.xgboost_wheel : compat_xgb_path(x)));
        json_object_set_new(j, "xgboost_version",
                            json_string(compat_version_str(compat_xgb_version(x), vb, sizeof vb)));
        json_object_set_new(j, "format", json_string(res.format));
        json_object_set_new(j, "model_bytes", json_integer((json_int_t)res.model_len));
        json_object_set_new(j, "objective", json_string(res.objective));
        json_object_set_new(j, "rows_train", json_integer((json_int_t)res.n_train));
        json_object_set_new(j, "rows_validation", json_integer((json_int_t)res.n_validation));
        json_object_set_new(j, "num_feature", json_integer((json_int_t)res.num_feature));
        json_object_set_new(j, "num_round", json_integer(res.num_round));
        json_object_set_new(j, "rounds", json_integer(res.rounds));
        if (res.best_iteration >= 0) {
            json_object_set_new(j, "best_iteration", json_integer(res.best_iteration));
            json_object_set_new(j, "best_score", json_real(res.best_score));
            json_object_set_new(j, "early_stopping_metric", json_string(res.metric));
        }
        if (res.best_ntree_limit)
            json_object_set_new(j, "best_ntree_limit", json_integer(res.best_ntree_limit));
        json_object_set_new(j, "compared_rows", json_integer(res.compared_rows));
        json_object_set_new(j, "seconds_read", json_real(t_read));
        json_object_set_new(j, "seconds_train", json_real(t_train));
        json_object_set_new(j, "verify", report_to_json(report));
        json_object_set_new(j, "ok", json_boolean(verified));
        print_json(stdout, j);
        json_decref(j);
    } else {
        FILE *f = o.quiet ? stderr : stdout;
        if (!o.quiet) {
            fprintf(f, "trained %d round%s", res.rounds, res.rounds == 1 ? "" : "s");
            if (res.rounds < res.num_round)
                fprintf(f, " of %d (early stopping on %s)", res.num_round, res.metric);
            if (res.best_iteration >= 0) {
                fprintf(f, ", best iteration %d", res.best_iteration);
                if (res.best_ntree_limit)
                    fprintf(f, " (best_ntree_limit %d)", res.best_ntree_limit);
            }
            char vb[32];
            fprintf(f, " in %.2fs with XGBoost %s (%s)\n", t_train,
                    compat_version_str(compat_xgb_version(x), vb, sizeof vb),
                    o.xgboost_wheel ? o.xgboost_wheel : compat_xgb_path(x));
            if (verified) {
                fprintf(f,
                        "wrote %s (xgboost-model: %s, %zu bytes, as container %s's training "
                        "writes it; loads back and predicts identically on %d rows)\n",
                        o.output, !strcmp(res.format, "ubj") ? "UBJSON" : "legacy binary",
                        res.model_len, c->tag, res.compared_rows);
                fprintf(f, "sha256 %s\n", report->scan->sha256_hex);
            }
        }
        if (!verified) {
            fprintf(stderr,
                    "smxgb train: the model fails verify for container %s, so %s was removed "
                    "(that endpoint would not serve it correctly):\n",
                    c->tag, o.output);
            report_print_text(stderr, report);
        } else if (!o.quiet) {
            fprintf(f, "verify for %s: verdict ok\n", c->tag);
        }
    }
    if (!verified) {
        unlink(o.output); /* never leave an artifact behind that fails its own container */
        code = EXIT_FINDINGS;
    }

out:
    if (tmpdir) {
        char p[4096];
        snprintf(p, sizeof p, "%s/xgboost-model", tmpdir);
        unlink(p);
        rmdir(tmpdir);
        free(tmpdir);
    }
    compat_report_free(report);
    train_result_free(&res);
    train_data_free(&dtrain);
    train_data_free(&dval);
    compat_xgb_close(x);
    hp_free(&hp);
    str_list_free(&o.params);
    return code;
}

SMXGB_VERB(train, cmd_train, train_doc, 5)
