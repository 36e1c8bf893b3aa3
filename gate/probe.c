/*
 * The health-check prober: what SageMaker does to a new container, with SageMaker's numbers.
 *
 * Every attempt is a fresh connection (libcurl easy handle, no reuse), as a new instance's
 * health checker would make: GET /ping with a 2 s timeout, the next attempt `interval` seconds
 * after the start of the previous one, until one answers 200 with an empty body or no further
 * attempt fits in the startup window. Then one POST /invocations with the sample: the
 * connection must be accepted within 250 ms, the answer must be a 2xx within 60 s, and the
 * body at most 6 MiB (the download is cut as soon as it is larger). Each attempt is recorded
 * (and reported through a callback as it happens) so that the caller can print a timeline; an
 * attempt's line quotes the start of a failing answer, and the result keeps the whole of the
 * one that failed the probe (its first 4 KiB, as text) for the verdict.
 */
#include "gate_private.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEEP_BODY 4096

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int gate__curl_init(smx_err *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return smx_fail(err, SMX_ERUNTIME, "libcurl initialisation failed: %s",
                        curl_easy_strerror(curl_init_rc));
    return SMX_OK;
}

const char *gate_outcome_name(gate_outcome o)
{
    switch (o) {
    case GATE_OK:
        return "ok";
    case GATE_REFUSED:
        return "refused";
    case GATE_CONNECT_SLOW:
        return "connect-slow";
    case GATE_TIMEOUT:
        return "timeout";
    case GATE_BAD_STATUS:
        return "bad-status";
    case GATE_PING_BODY:
        return "ping-body";
    case GATE_TOO_LARGE:
        return "too-large";
    case GATE_NET_ERROR:
        return "network-error";
    case GATE_SERVER_GONE:
        return "server-gone";
    }
    return "?";
}

void gate_probe_opts_default(gate_probe_opts *o)
{
    memset(o, 0, sizeof *o);
    o->startup_timeout = GATE_STARTUP_TIMEOUT;
    o->interval = GATE_PING_INTERVAL;
    o->ping_timeout = GATE_PING_TIMEOUT;
    o->connect_timeout = GATE_CONNECT_TIMEOUT;
    o->invoke_timeout = GATE_INVOKE_TIMEOUT;
    o->max_payload = GATE_MAX_PAYLOAD;
}

const char *gate_sample_content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{"csv", "text/csv"},
                 {"libsvm", "text/libsvm"},
                 {"svm", "text/libsvm"},
                 {"pbr", "application/x-recordio-protobuf"},
                 {"rec", "application/x-recordio-protobuf"},
                 {"recordio", "application/x-recordio-protobuf"},
                 {"protobuf", "application/x-recordio-protobuf"},
                 {"parquet", "application/x-parquet"}};
    const char *base = path ? strrchr(path, '/') : NULL;
    const char *dot = path ? strrchr(base ? base + 1 : path, '.') : NULL;
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(dot + 1, types[i].ext))
            return types[i].type;
    return NULL;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

struct body {
    smx_buf keep;
    size_t total, limit;
    int too_large, oom;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
    size_t n = size * nmemb;
    b->total += n;
    if (b->limit && b->total > b->limit) {
        b->too_large = 1;
        return 0; /* abort the transfer */
    }
    if (b->keep.len < KEEP_BODY) {
        size_t take = KEEP_BODY - b->keep.len < n ? KEEP_BODY - b->keep.len : n;
        if (smx_buf_append(&b->keep, p, take)) {
            b->oom = 1;
            return 0;
        }
    }
    return n;
}

/* Printable excerpt of a body for a timeline line. */
static void excerpt(const char *s, size_t len, char *out, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 4 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 60) {
            out[j++] = '.', out[j++] = '.', out[j++] = '.';
            break;
        }
        out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : (c == '\n' ? ' ' : '?');
    }
    out[j] = '\0';
}

/* The length of the UTF-8 sequence at s (n bytes left), or 0 when it is not a valid one
 * (overlong, a surrogate, past U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (!len || len > n || (s[0] >= 0x80 && s[0] < 0xc0))
        return 0;
    uint32_t cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

int gate__printable(smx_buf *out, const char *s, size_t len)
{
    const unsigned char *d = (const unsigned char *)s;
    int rc = 0;
    for (size_t i = 0; i < len; i++) {
        size_t u = d[i] >= 0x80 ? utf8_len(d + i, len - i) : 0;
        if (u) {
            rc |= smx_buf_append(out, d + i, u);
            i += u - 1;
            continue;
        }
        if (d[i] == '\r' && i + 1 < len && d[i + 1] == '\n')
            continue;
        char c = (d[i] < 0x20 && d[i] != '\n' && d[i] != '\t') || d[i] >= 0x7f ? '?' : (char)d[i];
        rc |= smx_buf_append(out, &c, 1);
    }
    return rc;
}

/* The whole body kept (at most KEEP_BODY bytes) as a failing answer's text (gate__printable),
 * without its trailing newlines; a body longer than what was kept says how much more there
 * was. NULL when empty. */
static char *error_text(const struct body *b)
{
    size_t len = b->keep.len;
    while (len && (b->keep.data[len - 1] == '\n' || b->keep.data[len - 1] == '\r'))
        len--;
    if (!len)
        return NULL;
    smx_buf t = SMX_BUF_INIT;
    int rc = gate__printable(&t, b->keep.data, len);
    if (b->total > b->keep.len)
        rc |= smx_buf_printf(&t, "\n... (%zu more bytes)", b->total - b->keep.len);
    if (rc) {
        smx_buf_free(&t);
        return NULL;
    }
    return t.data;
}

/* The attempt's line without the body's excerpt (the verdict carries the whole body). */
static void brief(const gate_attempt *a, char *out, size_t n)
{
    if (a->outcome == GATE_BAD_STATUS)
        snprintf(out, n, "HTTP %ld (needs %s)", a->status,
                 a->step == GATE_STEP_PING ? "200" : "2xx");
    else if (a->outcome == GATE_PING_BODY)
        snprintf(out, n, "HTTP 200 with a %zu-byte body (SageMaker requires an empty body)",
                 a->body_len);
    else
        snprintf(out, n, "%s", a->what);
}

struct req {
    const char *method; /* "GET" or "POST" */
    const char *url;
    double timeout, connect_timeout;
    const void *body;
    size_t body_len;
    const char *content_type, *accept;
    size_t limit;
    /* out */
    struct body resp;
    char *content_type_out;
};

/* The curl handle for q: one fresh connection, q's timeouts, its body and headers (*h). */
static void setup_request(CURL *c, struct req *q, struct curl_slist **h)
{
    char line[1200];
    q->resp.limit = q->limit;
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(q->timeout * 1000 + 0.5));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(q->connect_timeout * 1000 + 0.5));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &q->resp);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "smxgb-probe");
    *h = curl_slist_append(*h, "Expect:");
    if (!strcmp(q->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
        snprintf(line, sizeof line, "Content-Type: %s",
                 q->content_type ? q->content_type : "application/octet-stream");
        *h = curl_slist_append(*h, line);
        if (q->accept) {
            snprintf(line, sizeof line, "Accept: %s", q->accept);
            *h = curl_slist_append(*h, line);
        }
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *h);
}

/* The attempt's outcome and its one line, from curl's result and the answer: GET /ping needs
 * 200 with an empty body, POST /invocations a 2xx. */
static void classify(const struct req *q, CURLcode rc, const char *ct, gate_attempt *a)
{
    long status = a->status;
    char ex[80];
    excerpt(q->resp.keep.data ? q->resp.keep.data : "", q->resp.keep.len, ex, sizeof ex);
    if (q->resp.too_large) {
        a->outcome = GATE_TOO_LARGE;
        snprintf(a->what, sizeof a->what,
                 "HTTP %ld, response larger than %zu bytes (SageMaker's payload limit): cut off",
                 status, q->limit);
    } else if (rc == CURLE_COULDNT_CONNECT) {
        a->outcome = GATE_REFUSED;
        snprintf(a->what, sizeof a->what, "connection refused (nothing listening)");
    } else if (rc == CURLE_OPERATION_TIMEDOUT && a->connect_time <= 0) {
        a->outcome = GATE_CONNECT_SLOW;
        snprintf(a->what, sizeof a->what, "connection not accepted within %.0f ms",
                 q->connect_timeout * 1000);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        a->outcome = GATE_TIMEOUT;
        snprintf(a->what, sizeof a->what, "no answer within %.1f s (SageMaker's timeout)%s",
                 q->timeout, status ? " (headers came, the body did not finish)" : "");
    } else if (rc != CURLE_OK) {
        a->outcome = GATE_NET_ERROR;
        snprintf(a->what, sizeof a->what, "%s", curl_easy_strerror(rc));
    } else if (!strcmp(q->method, "GET")) {
        if (status != 200) {
            a->outcome = GATE_BAD_STATUS;
            snprintf(a->what, sizeof a->what, "HTTP %ld%s%s%s (needs 200)", status,
                     q->resp.total ? " \"" : "", ex, q->resp.total ? "\"" : "");
        } else if (q->resp.total) {
            a->outcome = GATE_PING_BODY;
            snprintf(a->what, sizeof a->what,
                     "HTTP 200 with a %zu-byte body \"%s\" (SageMaker requires an empty body)",
                     q->resp.total, ex);
        } else {
            a->outcome = GATE_OK;
            snprintf(a->what, sizeof a->what, "HTTP 200, empty body");
        }
    } else if (status < 200 || status > 299) {
        a->outcome = GATE_BAD_STATUS;
        snprintf(a->what, sizeof a->what, "HTTP %ld%s%s%s (needs 2xx)", status,
                 q->resp.total ? " \"" : "", ex, q->resp.total ? "\"" : "");
    } else {
        a->outcome = GATE_OK;
        snprintf(a->what, sizeof a->what, "HTTP %ld, %zu-byte %s body \"%s\"", status,
                 q->resp.total, ct ? ct : "untyped", ex);
    }
}

static int do_request(struct req *q, gate_attempt *a, smx_err *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return smx_fail(err, SMX_ERUNTIME, "libcurl: cannot create a handle");
    struct curl_slist *h = NULL;
    setup_request(c, q, &h);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    double connect = 0;
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &connect);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        q->content_type_out = strdup(ct);
    a->status = status;
    a->connect_time = connect;
    a->body_len = q->resp.total;
    int ret = SMX_OK;
    if (q->resp.oom)
        ret = smx_fail(err, SMX_ENOMEM, "out of memory reading the response");
    else
        classify(q, rc, ct, a);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return ret;
}

static int push_attempt(gate_probe_result *r, const gate_attempt *a, smx_err *err)
{
    gate_attempt *v = smx_push((void **)&r->attempts, &r->n_attempts, sizeof *v);
    if (!v)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    *v = *a;
    return SMX_OK;
}

static char *join_url(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    char *u = NULL;
    if (asprintf(&u, "%.*s%s", (int)n, base, path) < 0)
        return NULL;
    return u;
}

/* The most frequent outcome among failed pings, for the verdict. */
static gate_outcome dominant_failure(const gate_probe_result *r, size_t *count)
{
    size_t counts[GATE_SERVER_GONE + 1] = {0};
    for (size_t i = 0; i < r->n_attempts; i++)
        if (r->attempts[i].step == GATE_STEP_PING && r->attempts[i].outcome != GATE_OK)
            counts[r->attempts[i].outcome]++;
    gate_outcome best = GATE_NET_ERROR;
    size_t bc = 0;
    for (int k = 1; k <= GATE_SERVER_GONE; k++)
        if (counts[k] > bc)
            bc = counts[k], best = (gate_outcome)k;
    *count = bc;
    return best;
}

static const char *why(gate_outcome o)
{
    switch (o) {
    case GATE_REFUSED:
        return "nothing was listening";
    case GATE_CONNECT_SLOW:
        return "the connection was not accepted in time";
    case GATE_TIMEOUT:
        return "/ping took longer than SageMaker's 2 s timeout";
    case GATE_BAD_STATUS:
        return "/ping answered with a status other than 200";
    case GATE_PING_BODY:
        return "/ping answered 200 with a body; SageMaker requires an empty body";
    case GATE_TOO_LARGE:
        return "the answer was too large";
    case GATE_SERVER_GONE:
        return "the server process exited";
    default:
        return "the request failed";
    }
}

static int check_probe_opts(const gate_probe_opts *o, smx_err *err)
{
    if (!o->url || !*o->url)
        return smx_fail(err, SMX_EINVAL, "probe: no URL");
    if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))
        return smx_fail(err, SMX_EINVAL, "probe: '%s' is not an http:// or https:// URL", o->url);
    if (o->startup_timeout <= 0 || o->interval <= 0 || o->ping_timeout <= 0 ||
        o->connect_timeout <= 0 || o->invoke_timeout <= 0)
        return smx_fail(err, SMX_EINVAL, "probe: timeouts and the interval must be positive");
    if (o->sample && !o->content_type)
        return smx_fail(err, SMX_EINVAL, "probe: a sample needs a content type");
    return SMX_OK;
}

/* Record an attempt and tell the caller. */
static int attempted(const gate_probe_opts *o, gate_probe_result *r, const gate_attempt *a,
                     smx_err *err)
{
    int rc = push_attempt(r, a, err);
    if (!rc && o->on_attempt)
        o->on_attempt(a, o->ctx);
    return rc;
}

/* Sleep until `next` seconds after start, noticing a dead server early. */
static void wait_until(const gate_probe_opts *o, double start, double next)
{
    while (smx_now() - start < next) {
        if (o->alive && !o->alive(o->ctx))
            break;
        double left = next - (smx_now() - start);
        sleep_s(left < 0.05 ? left : 0.05);
    }
}

/* GET /ping every interval until it passes, the server is gone, or the startup window
 * closes. */
static int ping_until_healthy(const gate_probe_opts *o, gate_probe_result *r, const char *url,
                              size_t limit, double start, smx_err *err)
{
    for (int n = 1;; n++) {
        double t0 = smx_now() - start;
        gate_attempt a = {.step = GATE_STEP_PING, .n = n, .t_start = t0};
        if (o->alive && !o->alive(o->ctx)) {
            a.outcome = GATE_SERVER_GONE;
            snprintf(a.what, sizeof a.what, "the server process has exited");
            return attempted(o, r, &a, err);
        }
        struct req q = {.method = "GET",
                        .url = url,
                        .timeout = o->ping_timeout,
                        .connect_timeout = o->connect_timeout,
                        .limit = limit};
        int rc = do_request(&q, &a, err);
        if (!rc && (a.outcome == GATE_BAD_STATUS || a.outcome == GATE_PING_BODY)) {
            free(r->error_body);
            r->error_body = error_text(&q.resp);
        }
        smx_buf_free(&q.resp.keep);
        free(q.content_type_out);
        if (rc)
            return rc;
        a.duration = smx_now() - start - t0;
        if ((rc = attempted(o, r, &a, err)))
            return rc;
        if (a.outcome == GATE_OK) {
            free(r->error_body);
            r->error_body = NULL;
            r->ping_ok = 1;
            r->ping_ok_at = t0 + a.duration;
            return SMX_OK;
        }
        /* the next attempt starts `interval` after this one started, or now if this one
         * took longer; none starts after the window has closed */
        double next = t0 + o->interval, t_now = smx_now() - start;
        if (next < t_now)
            next = t_now;
        if (next >= o->startup_timeout)
            return SMX_OK;
        wait_until(o, start, next);
    }
}

/* Seconds as the user wrote them: Python's repr without a trailing ".0" ("0.5", "240"). */
static const char *secs(double v, char out[SMX_PYREPR_MAX])
{
    size_t n = smx_pyrepr(v, out);
    if (n > 2 && !strcmp(out + n - 2, ".0"))
        out[n - 2] = '\0';
    return out;
}

/* Why /ping never passed: the server exited, or the window closed (with the commonest
 * failure and the last one). */
static void ping_verdict(const gate_probe_opts *o, gate_probe_result *r)
{
    size_t cnt;
    gate_outcome d = dominant_failure(r, &cnt);
    const gate_attempt *last = &r->attempts[r->n_attempts - 1];
    char last_what[sizeof last->what];
    brief(last, last_what, sizeof last_what);
    size_t pings = 0;
    for (size_t i = 0; i < r->n_attempts; i++)
        pings +=
            r->attempts[i].step == GATE_STEP_PING && r->attempts[i].outcome != GATE_SERVER_GONE;
    if (last->outcome == GATE_SERVER_GONE)
        snprintf(r->verdict, sizeof r->verdict,
                 "unhealthy: the server exited after %.1f s, before /ping ever answered 200 "
                 "with an empty body (%zu attempt%s)",
                 last->t_start, pings, pings == 1 ? "" : "s");
    else {
        char window[SMX_PYREPR_MAX], every[SMX_PYREPR_MAX];
        snprintf(r->verdict, sizeof r->verdict,
                 "unhealthy: no healthy /ping within the %s s startup window (%zu "
                 "attempt%s every %s s; %s; last: %s). SageMaker would fail the endpoint "
                 "creation",
                 secs(o->startup_timeout, window), pings, pings == 1 ? "" : "s",
                 secs(o->interval, every), why(d), last_what);
    }
}

/* One POST /invocations with the sample (refused unsent when it is over the payload limit),
 * and the verdict. */
static int invoke_once(const gate_probe_opts *o, gate_probe_result *r, const char *url,
                       size_t limit, double start, smx_err *err)
{
    gate_attempt a = {.step = GATE_STEP_INVOKE, .n = 1, .t_start = smx_now() - start};
    r->invoked = 1;
    if (o->sample_len > limit) {
        a.outcome = GATE_TOO_LARGE;
        snprintf(a.what, sizeof a.what,
                 "the sample is %zu bytes; SageMaker refuses requests over %zu bytes",
                 o->sample_len, limit);
    } else {
        struct req q = {.method = "POST",
                        .url = url,
                        .timeout = o->invoke_timeout,
                        .connect_timeout = o->connect_timeout,
                        .body = o->sample,
                        .body_len = o->sample_len,
                        .content_type = o->content_type,
                        .accept = o->accept,
                        .limit = limit};
        int rc = do_request(&q, &a, err);
        if (!rc && a.outcome != GATE_OK)
            r->error_body = error_text(&q.resp);
        if (!rc) {
            r->invoke_status = a.status;
            r->invoke_body = q.resp.keep.data ? q.resp.keep.data : strdup("");
            q.resp.keep.data = NULL;
            r->invoke_content_type = q.content_type_out;
            q.content_type_out = NULL;
        }
        smx_buf_free(&q.resp.keep);
        free(q.content_type_out);
        if (rc)
            return rc;
    }
    a.duration = smx_now() - start - a.t_start;
    int rc = attempted(o, r, &a, err);
    if (rc)
        return rc;
    r->invoke_ok = a.outcome == GATE_OK;
    if (r->invoke_ok)
        snprintf(r->verdict, sizeof r->verdict,
                 "healthy: /ping passed after %.1f s and /invocations answered %ld in %.2f s",
                 r->ping_ok_at, a.status, a.duration);
    else {
        char what[sizeof a.what];
        brief(&a, what, sizeof what);
        snprintf(r->verdict, sizeof r->verdict,
                 "unhealthy: /ping passed after %.1f s but /invocations failed: %s", r->ping_ok_at,
                 what);
    }
    return SMX_OK;
}

int gate_probe(const gate_probe_opts *o, gate_probe_result *r, smx_err *err)
{
    memset(r, 0, sizeof *r);
    int rc = check_probe_opts(o, err);
    if (rc || (rc = gate__curl_init(err)))
        return rc;
    char *ping_url = join_url(o->url, "/ping"), *inv_url = join_url(o->url, "/invocations");
    if (!ping_url || !inv_url) {
        free(ping_url);
        free(inv_url);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    size_t limit = o->max_payload ? o->max_payload : GATE_MAX_PAYLOAD;
    double start = smx_now();
    rc = ping_until_healthy(o, r, ping_url, limit, start, err);
    if (!rc && !r->ping_ok)
        ping_verdict(o, r);
    else if (!rc && o->sample)
        rc = invoke_once(o, r, inv_url, limit, start, err);
    else if (!rc)
        snprintf(r->verdict, sizeof r->verdict,
                 "healthy: /ping answered 200 with an empty body after %.1f s (attempt %d); no "
                 "sample was sent to /invocations",
                 r->ping_ok_at, r->attempts[r->n_attempts - 1].n);
    if (!rc)
        r->healthy = r->ping_ok && (!o->sample || r->invoke_ok);
    r->elapsed = smx_now() - start;
    free(ping_url);
    free(inv_url);
    return rc;
}

void gate_probe_result_free(gate_probe_result *r)
{
    free(r->attempts);
    free(r->invoke_body);
    free(r->invoke_content_type);
    free(r->error_body);
    memset(r, 0, sizeof *r);
}
