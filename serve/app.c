/*
 * The container's HTTP behaviour as a pure function of a request (container.md §3-§4), so
 * that it can be tested and fuzzed without sockets.
 *
 * Routes: nginx proxies paths matching ^/(ping|invocations|execution-parameters) to Flask
 * and answers everything else 404 "{}"; Flask knows exactly /ping and /execution-parameters
 * (GET, with HEAD and OPTIONS added by Flask) and /invocations (POST), 405 for other methods
 * and its own 404 page for the rest of the proxied paths.
 *
 * /invocations, in the container's order: empty body 204; Content-Type -> parser, any
 * failure 415 with the exception text; model not loaded 500; predict failure 400; Accept
 * checked only now (406); then selectable output (any failure 500 with the text) or the
 * default encoding (an Accept the encoders do not know: Flask's 500 page).
 */
#include "serve_private.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HTML_CT "text/html; charset=utf-8"

static const char page_404[] =
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The "
    "requested URL was not found on the server. If you entered the URL manually please check "
    "your spelling and try again.</p>\n";
static const char page_405[] =
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not "
    "Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n";
static const char page_413[] =
    "<!doctype html>\n<html lang=en>\n<title>413 Request Entity Too Large</title>\n<h1>Request "
    "Entity Too Large</h1>\n<p>The data value transmitted exceeds the capacity limit.</p>\n";
/* gunicorn's answer to a request it cannot frame (e.g. Content-Length given twice) */
static const char page_400[] =
    "<html>\n  <head>\n    <title>Bad Request</title>\n  </head>\n  <body>\n    <h1><p>Bad "
    "Request</p></h1>\n    Invalid HTTP Header: 'CONTENT-LENGTH'\n  </body>\n</html>\n";
static const char page_500[] =
    "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal "
    "Server Error</h1>\n<p>The server encountered an internal error and was unable to complete "
    "your request. Either the server is overloaded or there is an error in the "
    "application.</p>\n";

static const char accepted_types[] =
    "csv, libsvm, parquet, recordio-protobuf, text/csv, text/libsvm, text/x-libsvm, "
    "application/x-parquet, application/x-recordio-protobuf";
static const char supported_accepts[] = "['application/json', 'application/jsonlines', "
                                        "'application/x-recordio-protobuf', 'text/csv']";

struct serve_app {
    const compat_container *c;
    serve_model *model;
    char *load_error;
    int batch;
    int selectable;
    char **keys;
    size_t n_keys;
    char *keys_buf;
    char *default_accept;
    uint64_t max_content_length;
    int cpu_count;
    int absoluteerror; /* reg:absoluteerror is selectable (1.7-1+) */
    char exec_params[160];
};

/* Python int() of an environment value (MAX_CONTENT_LENGTH) */
static int env_int(const char *s, uint64_t *out)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    if (*s == '+')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    uint64_t v = 0;
    int prev = 0;
    for (; *s && !isspace((unsigned char)*s); s++) {
        if (isdigit((unsigned char)*s)) {
            if (v > (UINT64_MAX - 9) / 10)
                return -1;
            v = v * 10 + (uint64_t)(*s - '0');
            prev = 1;
        } else if (*s == '_' && prev && isdigit((unsigned char)s[1])) {
            prev = 0;
        } else {
            return -1;
        }
    }
    while (*s && isspace((unsigned char)*s))
        s++;
    if (*s)
        return -1;
    *out = v;
    return 0;
}

int serve_app_new(const serve_app_opts *o, serve_model *model, const char *load_error,
                  serve_app **out, smx_err *err)
{
    *out = NULL;
    serve_app *a = calloc(1, sizeof *a);
    if (!a)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    a->c = o->container ? o->container : compat_container_default();
    a->model = model;
    if (load_error && !(a->load_error = strdup(load_error)))
        goto oom;
    const char *v;
    v = compat_env_get(o->env, o->n_env, "SAGEMAKER_BATCH");
    a->batch = v && *v;
    v = compat_env_get(o->env, o->n_env, "SAGEMAKER_INFERENCE_OUTPUT");
    if (v && a->c->selectable_output) {
        a->selectable = 1;
        /* value.replace(" ", "").lower().split(",") */
        size_t n = strlen(v);
        if (!(a->keys_buf = malloc(n + 1)) || !(a->keys = calloc(n + 1, sizeof *a->keys)))
            goto oom;
        char *w = a->keys_buf;
        a->keys[a->n_keys++] = w;
        for (const char *p = v; *p; p++) {
            if (*p == ' ')
                continue;
            if (*p == ',') {
                *w++ = '\0';
                a->keys[a->n_keys++] = w;
            } else {
                *w++ = (char)tolower((unsigned char)*p);
            }
        }
        *w = '\0';
    }
    v = compat_env_get(o->env, o->n_env, "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT");
    if (!(a->default_accept = strdup(v ? v : "text/csv")))
        goto oom;
    a->max_content_length = 6291456;
    v = compat_env_get(o->env, o->n_env, "MAX_CONTENT_LENGTH");
    if (v && env_int(v, &a->max_content_length)) {
        serve_app_free(a);
        return smx_fail(err, SMX_EINVAL,
                        "MAX_CONTENT_LENGTH='%s': invalid literal for int() with base 10 (the "
                        "container fails to start)",
                        v);
    }
    a->cpu_count = o->cpu_count > 0 ? o->cpu_count : (int)sysconf(_SC_NPROCESSORS_ONLN);
    a->absoluteerror = compat_version_cmp(a->c->xgboost, (compat_version){1, 7, 0}) >= 0;
    snprintf(a->exec_params, sizeof a->exec_params,
             "{\"MaxConcurrentTransforms\": %d, \"BatchStrategy\": \"MULTI_RECORD\", "
             "\"MaxPayloadInMB\": %llu}",
             a->cpu_count, (unsigned long long)(a->max_content_length / (1024 * 1024)));
    *out = a;
    return SMX_OK;
oom:
    serve_app_free(a);
    return smx_fail(err, SMX_ENOMEM, "out of memory");
}

void serve_app_free(serve_app *a)
{
    if (!a)
        return;
    free(a->load_error);
    free(a->keys);
    free(a->keys_buf);
    free(a->default_accept);
    free(a);
}

uint64_t serve_app_max_content_length(const serve_app *a)
{
    return a->max_content_length;
}

/* ---- cgi.parse_header -------------------------------------------------------------------- */

typedef struct hdr {
    char key[128]; /* lower-cased when lower */
    char label_size[64];
    int has_label_size;
} hdr;

static void strip_span(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* count of '"' minus count of '\"' in [s, e) */
static int open_quotes(const char *s, const char *e)
{
    int q = 0;
    for (const char *p = s; p < e; p++)
        if (*p == '"')
            q += (p > s && p[-1] == '\\') ? 0 : 1;
    return q;
}

static void parse_header(const char *line, int lower, hdr *h)
{
    memset(h, 0, sizeof *h);
    const char *s = line, *end = line + strlen(line);
    int first = 1;
    for (;;) {
        /* _parseparam: find the next ';' outside quotes */
        const char *e = s;
        for (;;) {
            const char *semi = memchr(e, ';', (size_t)(end - e));
            if (!semi) {
                e = end;
                break;
            }
            if (semi > s && open_quotes(s, semi) % 2) {
                e = semi + 1;
                continue;
            }
            e = semi;
            break;
        }
        const char *fs = s, *fe = e;
        strip_span(&fs, &fe);
        if (first) {
            size_t n = (size_t)(fe - fs);
            if (n >= sizeof h->key)
                n = sizeof h->key - 1;
            for (size_t i = 0; i < n; i++)
                h->key[i] = lower ? (char)tolower((unsigned char)fs[i]) : fs[i];
            h->key[n] = '\0';
            first = 0;
        } else {
            const char *eq = memchr(fs, '=', (size_t)(fe - fs));
            if (eq) {
                const char *ns = fs, *ne = eq, *vs = eq + 1, *ve = fe;
                strip_span(&ns, &ne);
                strip_span(&vs, &ve);
                int is_ls = (size_t)(ne - ns) == 10 && !strncasecmp(ns, "label_size", 10);
                if (is_ls) {
                    char *o = h->label_size;
                    size_t cap = sizeof h->label_size - 1, k = 0;
                    if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
                        vs++;
                        ve--;
                        for (const char *p = vs; p < ve && k < cap; p++) {
                            if (*p == '\\' && p + 1 < ve && (p[1] == '\\' || p[1] == '"'))
                                p++;
                            o[k++] = *p;
                        }
                    } else {
                        for (const char *p = vs; p < ve && k < cap; p++)
                            o[k++] = *p;
                    }
                    o[k] = '\0';
                    h->has_label_size = 1;
                }
            }
        }
        if (e >= end)
            break;
        s = e + 1;
    }
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void text(serve_response *rs, int status, const char *ct, const char *body, size_t n)
{
    rs->status = status;
    rs->content_type = ct;
    rs->body = body;
    rs->body_len = n;
    rs->allow = NULL;
}

#define STATIC(rs, st, ct, s) text((rs), (st), (ct), (s), sizeof(s) - 1)

static void message(serve_response *rs, int status, smx_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void message(serve_response *rs, int status, smx_buf *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    smx_buf_reset(out);
    if (smx_buf_vprintf(out, fmt, ap)) {
        va_end(ap);
        STATIC(rs, 500, HTML_CT, page_500);
        return;
    }
    va_end(ap);
    text(rs, status, HTML_CT, out->data, out->len);
}

int serve_app_reads_body(const char *method, const char *path)
{
    return !strcmp(method, "POST") && !strcmp(path, "/invocations");
}

void serve_app_too_large(serve_response *rs)
{
    STATIC(rs, 413, HTML_CT, page_413);
}

void serve_app_bad_framing(serve_response *rs)
{
    STATIC(rs, 400, "text/html", page_400);
}

/* Flask adds "; charset=utf-8" to text mimetypes */
static const char *mimetype(const char *accept, smx_buf *ct_buf)
{
    /* the result outlives this request's stack: static text or the thread's buffer */
    if (!strcmp(accept, "text/csv"))
        return "text/csv; charset=utf-8";
    if (!strcmp(accept, "application/json"))
        return "application/json";
    smx_buf_reset(ct_buf);
    if (!strncmp(accept, "text/", 5) || !strcmp(accept, "application/xml"))
        smx_buf_printf(ct_buf, "%s; charset=utf-8", accept);
    else
        smx_buf_puts(ct_buf, accept);
    return ct_buf->data ? ct_buf->data : "";
}

enum payload { IN_CSV, IN_LIBSVM, IN_RECORDIO };

/* 1. The request's Content-Type (libsvm when it has none); -1 with the 415 in rs. */
static int payload_kind(const serve_request *rq, smx_buf *out, serve_response *rs)
{
    if (!rq->content_type)
        return IN_LIBSVM;
    hdr h;
    parse_header(rq->content_type, 1, &h);
    if (!strcmp(h.key, "csv") || !strcmp(h.key, "text/csv")) {
        if (!h.has_label_size || !strcmp(h.label_size, "1"))
            return IN_CSV;
        message(rs, 415, out,
                "%s is not an accepted csv ContentType. Optional parameter label_size must be "
                "equal to 1",
                rq->content_type);
    } else if (!strcmp(h.key, "libsvm") || !strcmp(h.key, "text/libsvm") ||
               !strcmp(h.key, "text/x-libsvm")) {
        return IN_LIBSVM;
    } else if (!strcmp(h.key, "recordio-protobuf") ||
               !strcmp(h.key, "application/x-recordio-protobuf")) {
        return IN_RECORDIO;
    } else if (!strcmp(h.key, "parquet") || !strcmp(h.key, "application/x-parquet")) {
        message(rs, 415, out, "Content-type %s is not supported.", rq->content_type);
    } else {
        message(rs, 415, out, "%s is not an accepted ContentType: %s.", rq->content_type,
                accepted_types);
    }
    return -1;
}

/* The body into s->m; -1 with the 415 in rs when the container's decoder would fail. */
static int decode(const serve_app *a, enum payload kind, const serve_request *rq, serve_scratch *s,
                  smx_buf *out, serve_response *rs)
{
    serve_derr de = {0};
    int rc;
    if (kind == IN_CSV)
        rc = serve_csv_decode(rq->body, rq->body_len, &s->m, &de);
    else if (kind == IN_LIBSVM)
        rc = serve_libsvm_decode(rq->body, rq->body_len, a->c->libsvm_shift, &s->m, &de);
    else
        rc = serve_recordio_decode(rq->body, rq->body_len, &s->m, &de);
    if (!rc)
        return 0;
    if (kind == IN_RECORDIO)
        message(rs, 415, out,
                "Loading recordio-protobuf data failed with Exception, please ensure data is in "
                "recordio-protobuf format: %s %s",
                de.pytype, de.msg);
    else
        message(rs, 415, out,
                "Loading %s data failed with Exception, please ensure data is in %s format:\n "
                "%s\n %s",
                kind == IN_CSV ? "csv" : "libsvm", kind == IN_CSV ? "csv" : "libsvm", de.pytype,
                de.msg);
    return -1;
}

/* 4. The Accept type (lowered into lower, cap bytes) for containers that honour it, NULL for
 * those that do not; -1 with the 406 in rs. */
static int accept_type(const serve_app *a, const serve_request *rq, char *lower, size_t cap,
                       const char **accept, smx_buf *out, serve_response *rs)
{
    *accept = NULL;
    if (!a->c->honours_accept && !a->selectable)
        return 0;
    hdr h;
    parse_header(rq->accept ? rq->accept : "", 0, &h);
    if (!h.key[0] || !strcmp(h.key, "*/*")) {
        *accept = a->default_accept;
        return 0;
    }
    size_t i = 0;
    for (; h.key[i] && i + 1 < cap; i++)
        lower[i] = (char)tolower((unsigned char)h.key[i]);
    lower[i] = '\0';
    if (strcmp(lower, "application/json") && strcmp(lower, "application/jsonlines") &&
        strcmp(lower, "application/x-recordio-protobuf") && strcmp(lower, "text/csv")) {
        message(rs, 406, out,
                "Accept type %s is not supported. Please use supported accept types: %s.", h.key,
                supported_accepts);
        return -1;
    }
    *accept = lower;
    return 0;
}

/* 5. The predictions as the response body. */
static void encode(const serve_app *a, const serve_pred *p, const char *accept, serve_scratch *s,
                   smx_buf *out, serve_response *rs)
{
    smx_err err = {0};
    if (a->selectable) {
        if (serve_encode_selectable(p, serve_model_objective(a->model),
                                    serve_model_num_class(a->model), a->absoluteerror,
                                    (const char *const *)a->keys, a->n_keys, accept, a->batch, out,
                                    &err))
            message(rs, 500, out, "%s", err.msg);
        else
            text(rs, 200, mimetype(accept, &s->ct), out->data, out->len);
        return;
    }
    int okind = -1;
    const char *ct = "text/csv; charset=utf-8";
    if (!a->c->honours_accept) {
        okind = a->batch ? SERVE_OUT_BATCH : SERVE_OUT_SINGLE_LINE;
    } else {
        ct = mimetype(accept, &s->ct);
        if (a->batch)
            okind = SERVE_OUT_BATCH;
        else if (!strcmp(accept, "application/json"))
            okind = SERVE_OUT_JSON;
        else if (!strcmp(accept, "text/csv"))
            okind = SERVE_OUT_CSV;
    }
    if (okind < 0 || serve_encode_default(p, okind, out))
        STATIC(rs, 500, HTML_CT, page_500);
    else
        text(rs, 200, ct, out->data, out->len);
}

static void invocations(serve_app *a, const serve_request *rq, serve_scratch *s, smx_buf *out,
                        serve_response *rs)
{
    if (rq->body_len == 0) {
        text(rs, 204, HTML_CT, "", 0);
        return;
    }
    int kind = payload_kind(rq, out, rs);
    if (kind < 0 || decode(a, (enum payload)kind, rq, s, out, rs))
        return;
    /* 2. the model */
    if (!a->model) {
        message(rs, 500, out, "Unable to load model: %s", a->load_error ? a->load_error : "");
        return;
    }
    /* 3. predict */
    serve_pred p;
    smx_err err = {0};
    if (serve_model_predict(a->model, &s->m, s, kind != IN_LIBSVM, &p, &err)) {
        message(rs, 400, out, "Unable to evaluate payload provided: %s", err.msg);
        return;
    }
    /* 4. Accept (after predicting), 5. encode */
    const char *accept;
    char lower[128];
    if (!accept_type(a, rq, lower, sizeof lower, &accept, out, rs))
        encode(a, &p, accept, s, out, rs);
}

static int prefix(const char *path, const char *p)
{
    return !strncmp(path, p, strlen(p));
}

void serve_app_handle(serve_app *a, const serve_request *rq, serve_scratch *s, smx_buf *out,
                      serve_response *rs)
{
    const char *m = rq->method, *path = rq->path;
    int get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
    int options = !strcmp(m, "OPTIONS");
    if (!strcmp(path, "/ping") || !strcmp(path, "/execution-parameters")) {
        int ping = path[1] == 'p';
        if (get) {
            if (ping)
                text(rs, 200, HTML_CT, "", 0);
            else
                text(rs, 200, "application/json", a->exec_params, strlen(a->exec_params));
        } else if (options) {
            text(rs, 200, HTML_CT, "", 0);
            rs->allow = "GET, HEAD, OPTIONS";
        } else {
            STATIC(rs, 405, HTML_CT, page_405);
            rs->allow = "GET, HEAD, OPTIONS";
        }
        return;
    }
    if (!strcmp(path, "/invocations")) {
        if (!strcmp(m, "POST")) {
            invocations(a, rq, s, out, rs);
        } else if (options) {
            text(rs, 200, HTML_CT, "", 0);
            rs->allow = "OPTIONS, POST";
        } else {
            STATIC(rs, 405, HTML_CT, page_405);
            rs->allow = "OPTIONS, POST";
        }
        return;
    }
    if (prefix(path, "/ping") || prefix(path, "/invocations") ||
        prefix(path, "/execution-parameters")) {
        STATIC(rs, 404, HTML_CT, page_404);
        return;
    }
    STATIC(rs, 404, "application/octet-stream", "{}");
}
