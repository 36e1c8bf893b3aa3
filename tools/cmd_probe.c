/*
 * smxgb probe URL: health-check a running server the way SageMaker checks a new container,
 * printing a timeline of the attempts and the verdict.
 */
#include "gate_cli.h"

#include <stdlib.h>
#include <string.h>

static struct {
    double startup_timeout, interval;
    const char *sample, *content_type, *accept;
    int json;
} o;

static const opt probe_opts[] = {
    {OPT_DOUBLE, 0, "startup-timeout", &o.startup_timeout, "S",
     "startup window for /ping, as ContainerStartupHealthCheckTimeoutInSeconds (SageMaker "
     "accepts 60-3600; default 240, the documented 4 minutes)"},
    {OPT_DOUBLE, 0, "interval", &o.interval, "S",
     "seconds between /ping attempts (default 5, as SageMaker SDK local mode)"},
    {OPT_STRING, 0, "sample", &o.sample, "FILE", "POST this file to /invocations once healthy"},
    {OPT_STRING, 0, "content-type", &o.content_type, "T",
     "Content-Type of the sample (default: from its extension: .csv text/csv, .libsvm text/libsvm, "
     ".pbr application/x-recordio-protobuf)"},
    {OPT_STRING, 0, "accept", &o.accept, "A", "Accept header for /invocations"},
    {OPT_FLAG, 0, "json", &o.json, NULL, "print the attempts and the verdict as JSON"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc probe_doc = {
    "probe",
    "smxgb probe URL [--startup-timeout S] [--interval S] [--sample FILE [--content-type T] "
    "[--accept A]] [--json]",
    "health-check a running server with SageMaker's timings",
    "Does to the server at URL what SageMaker does to a new container:\n"
    "  - GET /ping with a 2 s timeout, first at once and then every interval, until it answers\n"
    "    200 with an empty body or no attempt fits in the startup window;\n"
    "  - then, with --sample, one POST /invocations: the connection must be accepted within\n"
    "    250 ms, the answer must be a 2xx within 60 s, and request and response at most 6 MiB.\n"
    "Every attempt is a new connection. Works against any server: `smxgb serve`, the real\n"
    "container (docker run -p 8080:8080 -v $PWD/model:/opt/ml/model IMAGE serve), a proxy.\n"
    "Prints a timeline of the attempts and the verdict; when an answer fails the check, its\n"
    "whole text (the first 4 KiB) follows the verdict.\n\n"
    "JSON schema: {\"url\", \"healthy\", \"verdict\", \"elapsed\", \"attempts\": [{\"step\": "
    "\"ping\"|\"invoke\", \"n\", \"t\", \"duration\", \"status\", \"outcome\", \"what\"}],\n"
    "  \"invocation\"?: {\"status\", \"content_type\", \"body\"}, \"error_body\"?: the whole text "
    "(first 4 KiB)\n  of the answer that failed}",
    probe_opts,
    "  0  healthy: /ping passed (and /invocations, with a sample)\n"
    "  1  not healthy\n"
    "  2  usage error, or the sample cannot be read"};

static void on_attempt(const gate_attempt *a, void *ctx)
{
    (void)ctx;
    printf("  %+8.2fs  %-4s %-12s #%-3d %-13s %s (%.0f ms)\n", a->t_start,
           a->step == GATE_STEP_PING ? "GET" : "POST",
           a->step == GATE_STEP_PING ? "/ping" : "/invocations", a->n,
           gate_outcome_name(a->outcome), a->what, a->duration * 1000);
    fflush(stdout);
}

/* Seconds as the user wrote them: Python's repr without a trailing ".0" ("0.5", "240"). */
static const char *secs(double v, char out[SMX_PYREPR_MAX])
{
    size_t n = smx_pyrepr(v, out);
    if (n > 2 && !strcmp(out + n - 2, ".0"))
        out[n - 2] = '\0';
    return out;
}

/* The timings asked for into po; 0 with a message on stderr when one is not usable. */
static int timings(gate_probe_opts *po)
{
    if (o.startup_timeout) {
        if (o.startup_timeout <= 0) {
            fprintf(stderr, "smxgb probe: --startup-timeout must be positive\n");
            return 0;
        }
        char t[SMX_PYREPR_MAX];
        if (o.startup_timeout < GATE_STARTUP_MIN || o.startup_timeout > GATE_STARTUP_MAX)
            fprintf(stderr,
                    "smxgb probe: note: SageMaker accepts a startup health-check timeout of "
                    "60-3600 s; probing with %s s\n",
                    secs(o.startup_timeout, t));
        po->startup_timeout = o.startup_timeout;
    }
    if (o.interval) {
        if (o.interval <= 0) {
            fprintf(stderr, "smxgb probe: --interval must be positive\n");
            return 0;
        }
        po->interval = o.interval;
    }
    return 1;
}

/* --sample read into *sample and set on po, its content type given or named by its extension
 * (*inferred); 0 with a message on stderr when it cannot be. */
static int sample_opts(gate_probe_opts *po, smx_buf *sample, int *inferred)
{
    *inferred = 0;
    if (o.content_type && !o.sample) {
        fprintf(stderr, "smxgb probe: --content-type needs --sample\n");
        return 0;
    }
    if (!o.sample)
        return 1;
    if (!o.content_type) {
        *inferred = 1;
        if (!(o.content_type = gate_sample_content_type(o.sample))) {
            fprintf(stderr,
                    "smxgb probe: cannot tell the content type of '%s' from its name: give "
                    "--content-type (text/csv, text/libsvm, application/x-recordio-protobuf)\n",
                    o.sample);
            return 0;
        }
    }
    smx_err err = {0};
    if (smx_buf_read_file(sample, o.sample, (size_t)64 << 20, &err)) {
        fprintf(stderr, "smxgb probe: %s\n", err.msg);
        return 0;
    }
    po->sample = sample->data ? sample->data : "";
    po->sample_len = sample->len;
    po->content_type = o.content_type;
    po->accept = o.accept;
    return 1;
}

/* The verdict, then the whole text of the answer that failed, a line per line. */
static void print_verdict(const gate_probe_result *r)
{
    printf("%s\n", r->verdict);
    if (!r->error_body)
        return;
    printf("the server answered:\n");
    const char *l = r->error_body;
    for (const char *nl; (nl = strchr(l, '\n')); l = nl + 1)
        printf("  %.*s\n", (int)(nl - l), l);
    printf("  %s\n", l);
}

static int cmd_probe(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &probe_doc);
    if (n < 0)
        return verb_parse_exit(n);
    if (n != 1)
        return verb_usage(&probe_doc, "need exactly one URL");
    gate_probe_opts po;
    gate_probe_opts_default(&po);
    po.url = argv[1];
    smx_buf sample = SMX_BUF_INIT;
    int inferred;
    if (!timings(&po) || !sample_opts(&po, &sample, &inferred)) {
        smx_buf_free(&sample);
        return EXIT_USAGE;
    }
    if (!o.json) {
        char window[SMX_PYREPR_MAX], every[SMX_PYREPR_MAX], timeout[SMX_PYREPR_MAX];
        printf("probe %s (startup window %s s, /ping every %s s with a %s s timeout)\n", po.url,
               secs(po.startup_timeout, window), secs(po.interval, every),
               secs(po.ping_timeout, timeout));
        if (o.sample)
            printf("sample %s, %zu bytes, sent as %s%s\n", o.sample, sample.len, o.content_type,
                   inferred ? " (from its extension)" : "");
        po.on_attempt = on_attempt;
    }
    gate_probe_result r;
    smx_err err = {0};
    int rc = gate_probe(&po, &r, &err);
    smx_buf_free(&sample);
    if (rc) {
        fprintf(stderr, "smxgb probe: %s\n", err.msg);
        gate_probe_result_free(&r);
        return exit_for_status(rc);
    }
    if (o.json) {
        json_t *j = gate_probe_json(po.url, &r);
        print_json(stdout, j);
        json_decref(j);
    } else {
        print_verdict(&r);
    }
    int code = r.healthy ? EXIT_OK : EXIT_FINDINGS;
    gate_probe_result_free(&r);
    return code;
}

SMXGB_VERB(probe, cmd_probe, probe_doc, 50)
