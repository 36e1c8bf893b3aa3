/*
 * The prober against small servers in the test process whose /ping is slow (> 2 s), answers
 * 500, answers 200 with a body, becomes healthy late, or never listens; and the /invocations
 * step: the sample as received, non-2xx answers, oversized answers and requests, slow answers.
 * Then `smxgb probe` end to end: exit status, timeline, JSON.
 */
#include "gate/gate.h"
#include "helpers.h"
#include "th_server.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

struct behaviour {
    int ping_status;       /* status of /ping */
    const char *ping_body; /* body of /ping */
    double ping_delay;
    int fail_first; /* this many /ping answers are 503 first */
    int inv_status;
    const char *inv_body;
    size_t inv_len; /* 0: strlen(inv_body) */
    double inv_delay;
    /* recorded */
    int pings;
    int posts;
    char got_ct[128];
    char got_accept[128];
    char got_body[256];
};

static void handler(const th_request *rq, th_response *rs, void *ctx)
{
    struct behaviour *b = ctx;
    if (!strcmp(rq->path, "/ping") && !strcmp(rq->method, "GET")) {
        int n = __atomic_add_fetch(&b->pings, 1, __ATOMIC_SEQ_CST);
        rs->status = n <= b->fail_first ? 503 : b->ping_status;
        rs->body = b->ping_body ? b->ping_body : "";
        rs->body_len = strlen(rs->body);
        rs->delay = b->ping_delay;
        return;
    }
    if (!strcmp(rq->path, "/invocations") && !strcmp(rq->method, "POST")) {
        __atomic_add_fetch(&b->posts, 1, __ATOMIC_SEQ_CST);
        char *ct = th_header(rq, "Content-Type"), *acc = th_header(rq, "Accept");
        snprintf(b->got_ct, sizeof b->got_ct, "%s", ct ? ct : "");
        snprintf(b->got_accept, sizeof b->got_accept, "%s", acc ? acc : "");
        snprintf(b->got_body, sizeof b->got_body, "%.*s", (int)rq->body_len, rq->body);
        free(ct);
        free(acc);
        rs->status = b->inv_status;
        rs->body = b->inv_body ? b->inv_body : "";
        rs->body_len = b->inv_len ? b->inv_len : strlen(rs->body);
        rs->content_type = "text/csv";
        rs->delay = b->inv_delay;
        return;
    }
    rs->status = 404;
}

static gate_probe_result run(const char *url, double window, double interval, const char *sample)
{
    gate_probe_opts o;
    gate_probe_opts_default(&o);
    o.url = url;
    o.startup_timeout = window;
    o.interval = interval;
    if (sample) {
        o.sample = sample;
        o.sample_len = strlen(sample);
        o.content_type = "text/csv";
        o.accept = "application/json";
    }
    gate_probe_result r;
    smx_err err = {0};
    cr_assert_eq(gate_probe(&o, &r, &err), SMX_OK, "%s", err.msg);
    return r;
}

static size_t count_outcome(const gate_probe_result *r, gate_outcome oc)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_attempts; i++)
        n += r->attempts[i].outcome == oc;
    return n;
}

Test(probe, healthy_server_passes_at_first_ping)
{
    struct behaviour b = {.ping_status = 200};
    th_server *s = th_server_start(handler, &b);
    gate_probe_result r = run(th_server_url(s), 5, 1, NULL);
    cr_assert(r.healthy, "%s", r.verdict);
    cr_assert_eq(r.n_attempts, 1);
    cr_assert_eq(r.attempts[0].status, 200);
    cr_assert_lt(r.elapsed, 1.0, "a healthy server is answered at once, took %.2f s", r.elapsed);
    cr_assert(strstr(r.verdict, "healthy"), "%s", r.verdict);
    gate_probe_result_free(&r);
    th_server_stop(s);
}

Test(probe, ping_slower_than_two_seconds_is_a_failed_attempt)
{
    struct behaviour b = {.ping_status = 200, .ping_delay = 3.0};
    th_server *s = th_server_start(handler, &b);
    gate_probe_result r = run(th_server_url(s), 3, 0.5, NULL);
    cr_assert_not(r.healthy, "a /ping that takes 3 s never counts: %s", r.verdict);
    cr_assert_geq(r.n_attempts, 2);
    cr_assert_eq(count_outcome(&r, GATE_TIMEOUT), r.n_attempts);
    for (size_t i = 0; i < r.n_attempts; i++)
        cr_assert(r.attempts[i].duration > 1.9 && r.attempts[i].duration < 2.7,
                  "each attempt is cut at SageMaker's 2 s timeout, took %.2f s",
                  r.attempts[i].duration);
    cr_assert(strstr(r.verdict, "2 s timeout"), "%s", r.verdict);
    gate_probe_result_free(&r);
    th_server_stop(s);
}

Test(probe, ping_500_is_unhealthy_and_polled_every_interval)
{
    struct behaviour b = {.ping_status = 500, .ping_body = "model failed to load"};
    th_server *s = th_server_start(handler, &b);
    gate_probe_result r = run(th_server_url(s), 1.0, 0.25, NULL);
    cr_assert_not(r.healthy);
    cr_assert(r.n_attempts >= 3 && r.n_attempts <= 5, "1 s window, 0.25 s interval: %zu attempts",
              r.n_attempts);
    cr_assert_eq(count_outcome(&r, GATE_BAD_STATUS), r.n_attempts);
    cr_assert_eq(r.attempts[0].status, 500);
    cr_assert(strstr(r.attempts[0].what, "model failed to load"), "%s", r.attempts[0].what);
    for (size_t i = 1; i < r.n_attempts; i++) {
        double gap = r.attempts[i].t_start - r.attempts[i - 1].t_start;
        cr_assert(gap > 0.2 && gap < 0.6, "attempts are an interval apart: %.3f s", gap);
    }
    cr_assert_eq(b.pings, (int)r.n_attempts, "every attempt reached the server");
    gate_probe_result_free(&r);
    th_server_stop(s);
}

Test(probe, ping_200_with_a_body_is_not_healthy)
{
    struct behaviour b = {.ping_status = 200, .ping_body = "{\"status\": \"Healthy\"}"};
    th_server *s = th_server_start(handler, &b);
    gate_probe_result r = run(th_server_url(s), 0.6, 0.25, NULL);
    cr_assert_not(r.healthy, "%s", r.verdict);
    cr_assert_eq(count_outcome(&r, GATE_PING_BODY), r.n_attempts);
    cr_assert(strstr(r.verdict, "empty body"), "%s", r.verdict);
    gate_probe_result_free(&r);
    th_server_stop(s);
}

Test(probe, nothing_listening_is_refused_until_the_window_closes)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", th_free_port());
    gate_probe_result r = run(url, 1.0, 0.3, NULL);
    cr_assert_not(r.healthy);
    /* attempts at 0, 0.3, 0.6, 0.9 s (the last may slip past the window on a loaded machine) */
    cr_assert(r.n_attempts == 4 || r.n_attempts == 3, "%zu attempts", r.n_attempts);
    cr_assert_eq(count_outcome(&r, GATE_REFUSED), r.n_attempts);
    cr_assert(strstr(r.verdict, "nothing was listening"), "%s", r.verdict);
    gate_probe_result_free(&r);
}

Test(probe, server_that_becomes_healthy_late_passes)
{
    struct behaviour b = {.ping_status = 200, .fail_first = 2};
    th_server *s = th_server_start(handler, &b);
    gate_probe_result r = run(th_server_url(s), 5, 0.3, NULL);
    cr_assert(r.healthy, "%s", r.verdict);
    cr_assert_eq(r.n_attempts, 3);
    cr_assert_eq(r.attempts[0].status, 503);
    cr_assert_geq(r.ping_ok_at, 0.6);
    gate_probe_result_free(&r);
    th_server_stop(s);
}

static int dead(void *ctx)
{
    (void)ctx;
    return 0;
}

Test(probe, exited_server_stops_the_probe_early)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", th_free_port());
    gate_probe_opts o;
    gate_probe_opts_default(&o);
    o.url = url;
    o.alive = dead;
    gate_probe_result r;
    smx_err err = {0};
    cr_assert_eq(gate_probe(&o, &r, &err), SMX_OK);
    cr_assert_not(r.healthy);
    cr_assert_lt(r.elapsed, 1.0, "does not wait out the 240 s window");
    cr_assert_eq(r.attempts[r.n_attempts - 1].outcome, GATE_SERVER_GONE);
    cr_assert(strstr(r.verdict, "exited"), "%s", r.verdict);
    gate_probe_result_free(&r);
}

Test(probe, sample_is_posted_with_its_headers)
{
    struct behaviour b = {.ping_status = 200, .inv_status = 200, .inv_body = "0.73\n"};
    th_server *s = th_server_start(handler, &b);
    gate_probe_result r = run(th_server_url(s), 5, 1, "1.5,2,3\n");
    cr_assert(r.healthy, "%s", r.verdict);
    cr_assert(r.invoked && r.invoke_ok);
    cr_assert_eq(b.posts, 1);
    cr_assert_str_eq(b.got_ct, "text/csv");
    cr_assert_str_eq(b.got_accept, "application/json");
    cr_assert_str_eq(b.got_body, "1.5,2,3\n");
    cr_assert_str_eq(r.invoke_body, "0.73\n");
    cr_assert_str_eq(r.invoke_content_type, "text/csv");
    gate_probe_result_free(&r);
    th_server_stop(s);
}

Test(probe, invocation_error_status_is_unhealthy)
{
    struct behaviour b = {.ping_status = 200, .inv_status = 415, .inv_body = "unsupported"};
    th_server *s = th_server_start(handler, &b);
    gate_probe_result r = run(th_server_url(s), 5, 1, "1,2\n");
    cr_assert(r.ping_ok);
    cr_assert_not(r.healthy);
    cr_assert_eq(r.invoke_status, 415);
    cr_assert(strstr(r.verdict, "/invocations failed") && strstr(r.verdict, "415"), "%s",
              r.verdict);
    gate_probe_result_free(&r);
    th_server_stop(s);
}

Test(probe, invocation_answer_over_6_mib_is_cut_off)
{
    size_t big = GATE_MAX_PAYLOAD + 4096;
    char *body = malloc(big);
    memset(body, '1', big);
    struct behaviour b = {.ping_status = 200, .inv_status = 200, .inv_body = body, .inv_len = big};
    th_server *s = th_server_start(handler, &b);
    gate_probe_result r = run(th_server_url(s), 5, 1, "1,2\n");
    cr_assert_not(r.healthy);
    cr_assert_eq(r.attempts[r.n_attempts - 1].outcome, GATE_TOO_LARGE);
    cr_assert_leq(r.attempts[r.n_attempts - 1].body_len, GATE_MAX_PAYLOAD + 65536);
    gate_probe_result_free(&r);
    th_server_stop(s);
    free(body);
}

Test(probe, oversized_sample_is_refused_before_sending)
{
    struct behaviour b = {.ping_status = 200, .inv_status = 200, .inv_body = "1"};
    th_server *s = th_server_start(handler, &b);
    size_t big = GATE_MAX_PAYLOAD + 1;
    char *sample = malloc(big + 1);
    memset(sample, '1', big);
    sample[big] = '\0';
    gate_probe_result r = run(th_server_url(s), 5, 1, sample);
    cr_assert_not(r.healthy);
    cr_assert_eq(r.attempts[r.n_attempts - 1].outcome, GATE_TOO_LARGE);
    cr_assert_eq(b.posts, 0, "SageMaker would not forward it; neither do we");
    gate_probe_result_free(&r);
    th_server_stop(s);
    free(sample);
}

Test(probe, slow_invocation_times_out)
{
    struct behaviour b = {.ping_status = 200, .inv_status = 200, .inv_body = "1", .inv_delay = 2};
    th_server *s = th_server_start(handler, &b);
    gate_probe_opts o;
    gate_probe_opts_default(&o);
    o.url = th_server_url(s);
    o.invoke_timeout = 0.5;
    o.sample = "1,2\n";
    o.sample_len = 4;
    o.content_type = "text/csv";
    gate_probe_result r;
    smx_err err = {0};
    cr_assert_eq(gate_probe(&o, &r, &err), SMX_OK);
    cr_assert_not(r.healthy);
    cr_assert_eq(r.attempts[r.n_attempts - 1].outcome, GATE_TIMEOUT);
    gate_probe_result_free(&r);
    th_server_stop(s);
}

Test(probe_cli, exit_status_timeline_and_json)
{
    struct behaviour good = {.ping_status = 200, .inv_status = 200, .inv_body = "0.5\n"};
    struct behaviour bad = {.ping_status = 500};
    th_server *g = th_server_start(handler, &good), *bd = th_server_start(handler, &bad);
    char *dir = th_tmpdir();
    th_write(th_path(dir, "rows.csv"), "1,2,3\n", 6);
    char *out = NULL;
    int rc = th_smxgb(&out, "probe %s --sample %s --content-type text/csv", th_server_url(g),
                      th_path(dir, "rows.csv"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "/ping") && strstr(out, "/invocations") && strstr(out, "healthy"), "%s",
              out);
    cr_assert_str_eq(good.got_body, "1,2,3\n");
    free(out);

    rc = th_smxgb(&out, "probe %s --startup-timeout 0.5 --interval 0.2 2>/dev/null",
                  th_server_url(bd));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "HTTP 500") && strstr(out, "unhealthy"), "%s", out);
    /* numbers as the user wrote them (0.5 was printed "0") */
    cr_assert(strstr(out, "(startup window 0.5 s, /ping every 0.2 s with a 2 s timeout)"), "%s",
              out);
    cr_assert(strstr(out, "within the 0.5 s startup window (") && strstr(out, " every 0.2 s;"),
              "%s", out);
    free(out);

    rc = th_smxgb(&out, "probe %s --startup-timeout 0.5 --interval 0.2 --json 2>/dev/null",
                  th_server_url(bd));
    cr_assert_eq(rc, 1);
    json_t *j = th_json(out);
    cr_assert(json_is_false(json_object_get(j, "healthy")));
    json_t *a0 = json_array_get(json_object_get(j, "attempts"), 0);
    cr_assert_eq(json_integer_value(json_object_get(a0, "status")), 500);
    cr_assert_str_eq(json_string_value(json_object_get(a0, "outcome")), "bad-status");
    json_decref(j);
    free(out);

    cr_assert_eq(th_smxgb(&out, "probe 2>/dev/null"), 2);
    free(out);
    th_write(th_path(dir, "rows.dat"), "1,2,3\n", 6);
    cr_assert_eq(
        th_smxgb(&out, "probe %s --sample %s 2>&1", th_server_url(g), th_path(dir, "rows.dat")), 2,
        "a sample needs a content type its name does not give: %s", out);
    cr_assert(strstr(out, "cannot tell the content type") && strstr(out, "--content-type"), "%s",
              out);
    free(out);
    th_rmrf(dir);
    free(dir);
    th_server_stop(g);
    th_server_stop(bd);
}

/* The content type of --sample comes from its extension when --content-type is not given. */
Test(probe_cli, sample_content_type_from_its_extension)
{
    struct behaviour b = {.ping_status = 200, .inv_status = 200, .inv_body = "0.5\n"};
    th_server *s = th_server_start(handler, &b);
    char *dir = th_tmpdir();
    const struct {
        const char *name, *type;
    } cases[] = {{"rows.csv", "text/csv"},
                 {"rows.CSV", "text/csv"},
                 {"rows.libsvm", "text/libsvm"},
                 {"rows.pbr", "application/x-recordio-protobuf"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        th_write(th_path(dir, cases[i].name), "1,2,3\n", 6);
        char *out = NULL;
        int rc =
            th_smxgb(&out, "probe %s --sample %s", th_server_url(s), th_path(dir, cases[i].name));
        cr_assert_eq(rc, 0, "%s: %s", cases[i].name, out);
        cr_assert_str_eq(b.got_ct, cases[i].type, "%s", cases[i].name);
        char said[128];
        snprintf(said, sizeof said, "sent as %s (from its extension)", cases[i].type);
        cr_assert(strstr(out, said), "the user is told: %s", out);
        free(out);
    }
    th_rmrf(dir);
    free(dir);
    th_server_stop(s);
}

/* A long error from /invocations, as the real container writes one (a Python exception over
 * several lines): the whole text, not its first 60 characters. */
static const char long_error[] =
    "Unable to evaluate payload provided: operands could not be broadcast together with shapes "
    "(3,6) (4,)\nTraceback (most recent call last):\n  File \"serve_utils.py\", line 212, in "
    "predict\nValueError: feature_names mismatch: expected 6 features, got 4\n";

Test(probe, a_failed_answer_keeps_its_whole_text)
{
    struct behaviour b = {.ping_status = 200, .inv_status = 400, .inv_body = long_error};
    th_server *s = th_server_start(handler, &b);
    gate_probe_result r = run(th_server_url(s), 5, 1, "1,2,3,4\n");
    cr_assert_not(r.healthy);
    cr_assert_not_null(r.error_body);
    cr_assert_eq(strlen(r.error_body), strlen(long_error) - 1,
                 "the whole body, without its final "
                 "newline: %s",
                 r.error_body);
    cr_assert(!strncmp(r.error_body, long_error, strlen(long_error) - 1), "%s", r.error_body);
    cr_assert(strstr(r.verdict, "HTTP 400 (needs 2xx)") && !strstr(r.verdict, "..."),
              "the verdict does not cut the text: %s", r.verdict);
    gate_probe_result_free(&r);
    th_server_stop(s);
}

Test(probe_cli, a_failed_answer_is_printed_whole)
{
    struct behaviour b = {.ping_status = 200, .inv_status = 400, .inv_body = long_error};
    th_server *s = th_server_start(handler, &b);
    char *dir = th_tmpdir();
    th_write(th_path(dir, "rows.csv"), "1,2,3,4\n", 8);
    char *out = NULL;
    int rc = th_smxgb(&out, "probe %s --sample %s", th_server_url(s), th_path(dir, "rows.csv"));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "the server answered:\n  Unable to evaluate payload provided: operands "
                          "could not be broadcast together with shapes (3,6) (4,)\n"),
              "%s", out);
    cr_assert(strstr(out, "\n  ValueError: feature_names mismatch: expected 6 features, got 4\n"),
              "%s", out);
    free(out);
    rc = th_smxgb(&out, "probe %s --sample %s --json", th_server_url(s), th_path(dir, "rows.csv"));
    json_t *j = th_json(out);
    const char *eb = json_string_value(json_object_get(j, "error_body"));
    cr_assert(eb && strstr(eb, "got 4"), "%s", out);
    json_decref(j);
    free(out);
    th_rmrf(dir);
    free(dir);
    th_server_stop(s);
}
