/*
 * Artifact sources: s3://bucket/key and https:// URLs become local temporary files.
 *
 * S3 requests are signed by libcurl (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3") with the
 * credentials of the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for temporary
 * credentials, AWS_SESSION_TOKEN sent as x-amz-security-token). S3 requires
 * x-amz-content-sha256 on every signed request and curl 7.88 does not add it, so it is sent
 * explicitly: the SHA-256 of the empty body of a GET. Without credentials the request goes
 * unsigned (public objects). AWS_ENDPOINT_URL_S3 (or the caller's endpoint) selects a
 * different S3 implementation, addressed path-style (ENDPOINT/bucket/key); otherwise AWS is
 * addressed virtual-hosted style (bucket.s3.REGION.amazonaws.com/key).
 *
 * The body streams to a 0600 temporary file (smxgb-src-*, registered as scratch so that a
 * signal removes a partial download) while its MD5 is computed; Content-Length and a plain
 * (single-part, non-KMS) ETag are checked at the end. 5xx, 429, stalls, resets and short
 * bodies are retried with exponential backoff; 403/404/301 become messages that say what to do
 * (expired token, missing key, bucket in another region: from x-amz-bucket-region or the
 * error body's <Endpoint>).
 *
 * Nothing hangs: a transfer below low_speed_limit bytes/s for low_speed_time seconds is
 * abandoned (and retried), and the whole download, retries and their backoff included, has a
 * deadline: the caller's, or 60 s plus 1 s per 512 KiB the server announces (checked from the
 * progress callback, which libcurl calls about once a second even when nothing arrives). A
 * body without Content-Length stops at a size cap, so that an endless answer cannot fill the
 * temporary directory. Every such failure says how many bytes of how many arrived. With
 * opts->resume, a retry after part of a body arrived asks for the rest (Range) when the server
 * announced Accept-Ranges: bytes, and starts again when it does not or answers 200.
 *
 * libcurl takes the proxy from the environment (https_proxy, HTTPS_PROXY, http_proxy,
 * ALL_PROXY); NO_PROXY adds to the loopback addresses, which never go through one. The CA
 * bundle for https:// is the caller's, else $CURL_CA_BUNDLE or $SSL_CERT_FILE (a file) and
 * $SSL_CERT_DIR (a directory), as the curl tool takes them, else the system's.
 */
#include "gate_private.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

int gate_source_is_remote(const char *src)
{
    return src && (!strncmp(src, "s3://", 5) || !strncmp(src, "https://", 8) ||
                   !strncmp(src, "http://", 7));
}

void gate_fetch_opts_default(gate_fetch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->retries = 4;
    o->backoff = 0.5;
    o->low_speed_limit = 1024;
    o->low_speed_time = 30;
}

void gate_fetch_info_free(gate_fetch_info *i)
{
    free(i->url);
    i->url = NULL;
}

static const char *env_nonempty(const char *k)
{
    const char *v = getenv(k);
    return v && *v ? v : NULL;
}

int gate_s3_credentials(void)
{
    return env_nonempty("AWS_ACCESS_KEY_ID") && env_nonempty("AWS_SECRET_ACCESS_KEY");
}

static const char *region_of(const gate_fetch_opts *o)
{
    if (o && o->region && *o->region)
        return o->region;
    const char *r = env_nonempty("AWS_REGION");
    if (!r)
        r = env_nonempty("AWS_DEFAULT_REGION");
    return r ? r : "us-east-1";
}

static const char *endpoint_of(const gate_fetch_opts *o)
{
    if (o && o->s3_endpoint && *o->s3_endpoint)
        return o->s3_endpoint;
    const char *e = env_nonempty("AWS_ENDPOINT_URL_S3");
    return e ? e : env_nonempty("AWS_ENDPOINT_URL");
}

/* Split s3://bucket/key; bucket and key malloc'd. */
static int split_s3(const char *uri, char **bucket, char **key, smx_err *err)
{
    if (strncmp(uri, "s3://", 5))
        return smx_fail(err, SMX_EINVAL, "'%s' is not an s3:// URI", uri);
    const char *b = uri + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (!bl)
        return smx_fail(err, SMX_EINVAL, "'%s': no bucket name (expected s3://BUCKET/KEY)", uri);
    for (size_t i = 0; i < bl; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-' ||
              b[i] == '.' || b[i] == '_'))
            return smx_fail(err, SMX_EINVAL, "'%s': '%.*s' is not a valid bucket name", uri,
                            (int)bl, b);
    *bucket = strndup(b, bl);
    *key = strdup(slash ? slash + 1 : "");
    if (!*bucket || !*key) {
        free(*bucket);
        free(*key);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    return SMX_OK;
}

/* Percent-encode a key for a URL path (SigV4 canonical form: unreserved and '/' kept). */
static void encode_key(smx_buf *b, const char *k)
{
    for (const unsigned char *p = (const unsigned char *)k; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == '/')
            smx_buf_append(b, p, 1);
        else
            smx_buf_printf(b, "%%%02X", *p);
    }
}

int gate_s3_url(const char *s3uri, const gate_fetch_opts *o, char **url, smx_err *err)
{
    char *bucket = NULL, *key = NULL;
    int rc = split_s3(s3uri, &bucket, &key, err);
    if (rc)
        return rc;
    smx_buf b = SMX_BUF_INIT;
    const char *ep = endpoint_of(o), *region = region_of(o);
    const char *dom = !strncmp(region, "cn-", 3) ? "amazonaws.com.cn" : "amazonaws.com";
    if (ep) {
        size_t n = strlen(ep);
        while (n && ep[n - 1] == '/')
            n--;
        smx_buf_printf(&b, "%.*s/%s/", (int)n, ep, bucket);
    } else if (strchr(bucket, '.')) {
        smx_buf_printf(&b, "https://s3.%s.%s/%s/", region, dom, bucket);
    } else {
        smx_buf_printf(&b, "https://%s.s3.%s.%s/", bucket, region, dom);
    }
    encode_key(&b, key);
    free(bucket);
    free(key);
    if (!b.data)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    *url = b.data;
    return SMX_OK;
}

/* One download: where it goes, its limits, and what the server said in the current attempt. */
struct xfer {
    CURL *c;
    int fd;
    const char *path; /* the file written, for messages */
    const gate_fetch_opts *o;
    int http_source;          /* an http:// source: a redirect to http:// is no downgrade */
    double t0, deadline;      /* smx_now() at the start and at the deadline of all attempts */
    int fixed_deadline;       /* the caller's: it does not grow with Content-Length */
    uint64_t max_unsized;     /* the cap of a body without Content-Length */
    long status;              /* of the latest status line */
    uint64_t bytes;           /* body bytes written */
    long long content_length; /* -1: not announced */
    int too_large, unsized_cap, deadline_hit, write_failed;
    uint64_t resume_from; /* body bytes kept from earlier attempts (this one asked for the rest) */
    int accept_ranges;    /* the latest answer said Accept-Ranges: bytes */
    int range_refused;    /* a resumed attempt was answered with the whole body: start again */
    EVP_MD_CTX *md5;
    smx_buf errbody; /* body of a non-2xx answer */
    smx_buf final;   /* the URL that answered (after redirects) */
    char etag[128], bucket_region[64], sse[64], location[1024], content_type[128];
    char errbuf[CURL_ERROR_SIZE];
};

/* A Content-Length: the default deadline grows with it. */
static void on_length(struct xfer *x, const char *v)
{
    x->content_length = strtoll(v, NULL, 10);
    double d =
        x->t0 + GATE_FETCH_DEADLINE_BASE + (double)x->content_length / GATE_FETCH_DEADLINE_RATE;
    if (!x->fixed_deadline && x->content_length > 0 && d > x->deadline)
        x->deadline = d;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    char line[1200];
    size_t l = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, p, l);
    line[l] = '\0';
    while (l && (line[l - 1] == '\r' || line[l - 1] == '\n'))
        line[--l] = '\0';
    if (!strncmp(line, "HTTP/", 5)) { /* a new response (after a redirect, or 100) */
        const char *sp = strchr(line, ' ');
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->content_length = -1;
        x->etag[0] = x->bucket_region[0] = x->sse[0] = x->location[0] = '\0';
        x->content_type[0] = '\0';
        x->accept_ranges = 0;
        return n;
    }
    char *colon = strchr(line, ':');
    if (!colon)
        return n;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ')
        v++;
    if (!strcasecmp(line, "ETag")) {
        if (*v == '"')
            v++;
        size_t vl = strlen(v);
        if (vl && v[vl - 1] == '"')
            v[--vl] = '\0';
        snprintf(x->etag, sizeof x->etag, "%s", v);
    } else if (!strcasecmp(line, "x-amz-bucket-region")) {
        snprintf(x->bucket_region, sizeof x->bucket_region, "%s", v);
    } else if (!strcasecmp(line, "x-amz-server-side-encryption")) {
        snprintf(x->sse, sizeof x->sse, "%s", v);
    } else if (!strcasecmp(line, "Content-Length")) {
        on_length(x, v);
    } else if (!strcasecmp(line, "Location")) {
        snprintf(x->location, sizeof x->location, "%s", v);
    } else if (!strcasecmp(line, "Content-Type")) {
        snprintf(x->content_type, sizeof x->content_type, "%s", v);
    } else if (!strcasecmp(line, "Accept-Ranges")) {
        x->accept_ranges = !strcasecmp(v, "bytes");
    }
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        if (x->errbody.len < 65536)
            smx_buf_append(&x->errbody, p, n);
        return n;
    }
    if (x->content_length < 0 && x->max_unsized && x->bytes + n > x->max_unsized) {
        x->unsized_cap = 1;
        return 0;
    }
    if (x->o->max_bytes && x->bytes + n > x->o->max_bytes) {
        x->too_large = 1;
        return 0;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(x->fd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->write_failed = w < 0 && errno ? errno : EIO;
            return 0;
        }
        off += (size_t)w;
    }
    EVP_DigestUpdate(x->md5, p, n);
    x->bytes += n;
    return n;
}

/* Progress for the caller, and the deadline (libcurl calls this about once a second even when
 * nothing arrives). */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ultotal, (void)ulnow;
    struct xfer *x = ud;
    if (smx_now() > x->deadline) {
        x->deadline_hit = 1;
        return 1;
    }
    long status = 0;
    curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
    if (x->o->progress && status >= 200 && status < 300)
        x->o->progress(x->resume_from + (uint64_t)dlnow,
                       dltotal ? x->resume_from + (uint64_t)dltotal : 0, x->o->ctx);
    return 0;
}

/* The text between <tag> and </tag> of an S3 XML error body, or "". */
static void xml_field(const smx_buf *b, const char *tag, char *out, size_t n)
{
    char open[64], close_[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_, sizeof close_, "</%s>", tag);
    out[0] = '\0';
    const char *a = b->data ? strstr(b->data, open) : NULL;
    const char *e = a ? strstr(a + strlen(open), close_) : NULL;
    if (e)
        snprintf(out, n, "%.*s", (int)(e - a - (long)strlen(open)), a + strlen(open));
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* "received N of M bytes", or "received N bytes; no size was announced". */
static void received(const struct xfer *x, char *out, size_t n)
{
    if (x->content_length >= 0)
        snprintf(out, n, "received %llu of %lld bytes", (unsigned long long)x->bytes,
                 x->content_length);
    else
        snprintf(out, n, "received %llu bytes; the server announced no size",
                 (unsigned long long)x->bytes);
}

enum { TRY_OK, TRY_RETRY, TRY_FAIL, TRY_DEADLINE };

/* A 301/307/400 from S3: the bucket's region, from x-amz-bucket-region or from the endpoint the
 * error body names (BUCKET.s3.REGION.amazonaws.com). -1 when neither says. */
static int explain_region(long status, const struct xfer *x, const char *src, const char *code,
                          smx_err *err)
{
    char endpoint[256], region[64] = "";
    xml_field(&x->errbody, "Endpoint", endpoint, sizeof endpoint);
    snprintf(region, sizeof region, "%s", x->bucket_region);
    const char *r = strstr(endpoint, "s3.")   ? strstr(endpoint, "s3.") + 3
                    : strstr(endpoint, "s3-") ? strstr(endpoint, "s3-") + 3
                                              : NULL;
    const char *dom = r ? strstr(r, ".amazonaws.com") : NULL;
    if (!region[0] && dom && dom > r && (size_t)(dom - r) < sizeof region &&
        strncmp(r, "dualstack", 9))
        snprintf(region, sizeof region, "%.*s", (int)(dom - r), r);
    if (!region[0] && !endpoint[0])
        return -1;
    if (!region[0])
        return smx_fail(err, SMX_EIO,
                        "%s: HTTP %ld%s%s: the bucket must be addressed at %s (--s3-endpoint "
                        "https://%s, or the region it is in: AWS_REGION)",
                        src, status, code[0] ? " " : "", code, endpoint, endpoint);
    return smx_fail(err, SMX_EIO,
                    "%s: HTTP %ld%s%s: the bucket is in region %s%s%s%s; set AWS_REGION=%s "
                    "(SageMaker also needs the model in the endpoint's region)",
                    src, status, code[0] ? " " : "", code, region, endpoint[0] ? " (S3 names " : "",
                    endpoint, endpoint[0] ? ")" : "", region);
}

static int explain_status(long status, const struct xfer *x, const char *src, int is_s3,
                          int signed_req, smx_err *err)
{
    char code[128], msg[512];
    xml_field(&x->errbody, "Code", code, sizeof code);
    xml_field(&x->errbody, "Message", msg, sizeof msg);
    const char *detail = code[0] ? code : "";
    if (status == 403) {
        if (!strcmp(code, "ExpiredToken") || !strcmp(code, "TokenRefreshRequired"))
            return smx_fail(err, SMX_EIO,
                            "%s: HTTP 403 %s: the session token has expired; refresh the "
                            "credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                            "AWS_SESSION_TOKEN), e.g. `aws sso login` or `aws sts "
                            "get-session-token`",
                            src, code);
        if (!strcmp(code, "InvalidAccessKeyId") || !strcmp(code, "SignatureDoesNotMatch") ||
            !strcmp(code, "InvalidToken"))
            return smx_fail(err, SMX_EIO,
                            "%s: HTTP 403 %s: the credentials were rejected; check "
                            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
                            "for temporary credentials)%s%s",
                            src, code, msg[0] ? ": " : "", msg);
        if (is_s3 && !signed_req)
            return smx_fail(err, SMX_EIO,
                            "%s: HTTP 403 %s: access denied to an unsigned request; no "
                            "credentials in the environment (set AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY)",
                            src, detail);
        return smx_fail(err, SMX_EIO,
                        "%s: HTTP 403 %s: access denied; the credentials need s3:GetObject on "
                        "this object (and kms:Decrypt if it is KMS-encrypted)%s%s",
                        src, detail, msg[0] ? ": " : "", msg);
    }
    if (status == 404) {
        if (!strcmp(code, "NoSuchBucket"))
            return smx_fail(err, SMX_EIO, "%s: HTTP 404 NoSuchBucket: the bucket does not exist",
                            src);
        return smx_fail(err, SMX_EIO,
                        "%s: HTTP 404%s%s: no such object; check the key (S3 keys are "
                        "case-sensitive and the model may not be uploaded yet)",
                        src, code[0] ? " " : "", detail);
    }
    if ((status == 301 || status == 307 || status == 400) &&
        explain_region(status, x, src, code, err) >= 0)
        return err->status;
    return smx_fail(err, SMX_EIO, "%s: HTTP %ld%s%s%s%s", src, status, code[0] ? " " : "", detail,
                    msg[0] ? ": " : "", msg);
}

/* The handle for one GET of url: low-speed limit, callbacks into x, redirects for http(s)://
 * sources (to https://, and to http:// from an http:// source), SigV4 for s3:// when
 * credentials are set (*signed_req). Returns the header list to free. */
static struct curl_slist *setup_transfer(CURL *c, const char *url, const gate_fetch_opts *o,
                                         int is_s3, struct xfer *x, int *signed_req)
{
    struct curl_slist *h = NULL;
    char sigv4[128], line[4200];
    const char *ak = env_nonempty("AWS_ACCESS_KEY_ID"), *sk = env_nonempty("AWS_SECRET_ACCESS_KEY");
    const char *tok = env_nonempty("AWS_SESSION_TOKEN");
    *signed_req = is_s3 && gate_s3_credentials();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT,
                     (long)(o->low_speed_limit ? o->low_speed_limit : 1024));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                     (long)(o->low_speed_time > 0 ? o->low_speed_time + 0.5 : 30));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "smxgb");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    const char *np = env_nonempty("NO_PROXY") ? env_nonempty("NO_PROXY") : env_nonempty("no_proxy");
    snprintf(line, sizeof line, "localhost,127.0.0.1,::1%s%.3000s", np ? "," : "", np ? np : "");
    curl_easy_setopt(c, CURLOPT_NOPROXY, line);
    const char *ca = o->ca_bundle && *o->ca_bundle ? o->ca_bundle : env_nonempty("CURL_CA_BUNDLE");
    if (!ca)
        ca = env_nonempty("SSL_CERT_FILE");
    if (ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    if (env_nonempty("SSL_CERT_DIR"))
        curl_easy_setopt(c, CURLOPT_CAPATH, env_nonempty("SSL_CERT_DIR"));
    if (x->resume_from)
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x->resume_from);
    if (o->accept && *o->accept) {
        snprintf(line, sizeof line, "Accept: %.4000s", o->accept);
        h = curl_slist_append(h, line);
    }
    if (!is_s3) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, x->http_source ? "http,https" : "https");
    }
    if (*signed_req) {
        snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", region_of(o));
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
        curl_easy_setopt(c, CURLOPT_USERNAME, ak);
        curl_easy_setopt(c, CURLOPT_PASSWORD, sk);
        h = curl_slist_append(h, "x-amz-content-sha256: " EMPTY_SHA256);
        if (tok) {
            snprintf(line, sizeof line, "x-amz-security-token: %s", tok);
            h = curl_slist_append(h, line);
        }
    }
    if (h)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    return h;
}

/* What stopped a transfer before its answer was complete (or what libcurl reports), in err:
 * TRY_RETRY for what another attempt may cure, TRY_DEADLINE when time is up. */
static int transfer_error(const char *src, const char *url, CURLcode rc, const struct xfer *x,
                          smx_err *err)
{
    char got[128];
    received(x, got, sizeof got);
    if (x->deadline_hit)
        return smx_fail(err, SMX_EIO,
                        "%s: no complete download within the %g s deadline (%s); --timeout S "
                        "allows more",
                        src, x->deadline - x->t0, got),
               TRY_DEADLINE;
    if (x->unsized_cap)
        return smx_fail(err, SMX_EIO,
                        "%s: the server sent more than %llu bytes without announcing a size (no "
                        "Content-Length); stopped there, so that an endless answer cannot fill the "
                        "disk (--size-cap N allows more)",
                        src, (unsigned long long)x->max_unsized),
               TRY_FAIL;
    if (x->too_large)
        return smx_fail(err, SMX_EIO, "%s: larger than the limit of %llu bytes", src,
                        (unsigned long long)x->o->max_bytes),
               TRY_FAIL;
    if (x->write_failed)
        return smx_fail(err, SMX_EIO,
                        "%s: cannot write the download to %s: %s (%s); make room in the "
                        "temporary directory, or set TMPDIR to one with more space",
                        src, x->path, strerror(x->write_failed), got),
               TRY_FAIL;
    if (rc == CURLE_UNSUPPORTED_PROTOCOL && x->location[0])
        return smx_fail(err, SMX_EIO,
                        "%s: redirected to %s (HTTP %ld), which smxgb does not follow: it follows "
                        "redirects to https:%s",
                        src, x->location, x->status,
                        x->http_source ? "// and, from an http:// source, to http://" : "//"),
               TRY_FAIL;
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_WEIRD_SERVER_REPLY) {
        char *ip = NULL;
        long port = 0;
        curl_easy_getinfo(x->c, CURLINFO_PRIMARY_IP, &ip);
        curl_easy_getinfo(x->c, CURLINFO_PRIMARY_PORT, &port);
        return smx_fail(err, SMX_EIO,
                        "%s: the server at %s:%ld answered, but not HTTP (libcurl: %s); check "
                        "the URL's scheme and port",
                        src, ip ? ip : "?", port,
                        x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc)),
               TRY_FAIL;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT && x->status)
        return smx_fail(err, SMX_EIO, "%s: the transfer stalled: below %llu bytes/s for %g s (%s)",
                        src,
                        (unsigned long long)(x->o->low_speed_limit ? x->o->low_speed_limit : 1024),
                        x->o->low_speed_time > 0 ? x->o->low_speed_time : 30, got),
               TRY_RETRY;
    int retry = rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT ||
                rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE ||
                rc == CURLE_GOT_NOTHING;
    if (retry || rc == CURLE_COULDNT_RESOLVE_HOST)
        return smx_fail(err, SMX_EIO, "%s: %s (%s)", src, curl_easy_strerror(rc), url),
               retry ? TRY_RETRY : TRY_FAIL;
    return smx_fail(err, SMX_EIO, "%s: %s%s%s", src, curl_easy_strerror(rc),
                    x->errbuf[0] ? ": " : "", x->errbuf),
           TRY_FAIL;
}

/* One GET into x: TRY_OK, TRY_RETRY (5xx, 429, stalls, resets, short bodies), TRY_DEADLINE or
 * TRY_FAIL, with the reason in err. */
static int try_once(const char *src, const char *url, const gate_fetch_opts *o, int is_s3,
                    struct xfer *x, smx_err *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return smx_fail(err, SMX_ERUNTIME, "libcurl: cannot create a handle"), TRY_FAIL;
    x->c = c;
    int signed_req;
    struct curl_slist *h = setup_transfer(c, url, o, is_s3, x, &signed_req);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    char *eff = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
    smx_buf_reset(&x->final);
    smx_buf_puts(&x->final, eff ? eff : url);
    int result = rc == CURLE_OK ? TRY_OK : transfer_error(src, url, rc, x, err);
    if (rc == CURLE_RANGE_ERROR) { /* asked for the rest, got the whole body: start again */
        x->range_refused = 1;
        result = TRY_RETRY;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    x->c = NULL;
    if (result != TRY_OK)
        return result;
    if (status >= 500 || status == 429) {
        char code[128];
        xml_field(&x->errbody, "Code", code, sizeof code);
        smx_fail(err, SMX_EIO, "%s: HTTP %ld%s%s", src, status, code[0] ? " " : "", code);
        return TRY_RETRY;
    }
    if (status < 200 || status > 299)
        return explain_status(status, x, src, is_s3, signed_req, err), TRY_FAIL;
    if (x->content_length >= 0 && (uint64_t)x->content_length != x->bytes - x->resume_from) {
        smx_fail(err, SMX_EIO, "%s: got %llu bytes, Content-Length said %lld", src,
                 (unsigned long long)(x->bytes - x->resume_from), x->content_length);
        return TRY_RETRY;
    }
    return TRY_OK;
}

/* The final message when attempts ran out (no_time: the deadline left no time for another) or
 * time did: what the last attempt saw, and why no other followed. last is what the attempt
 * before the final one saw ("" if none). */
static void gave_up(const char *src, int result, int attempts, int no_time, const struct xfer *x,
                    const char *last, smx_err *err)
{
    char prev[SMX_ERRMAX];
    snprintf(prev, sizeof prev, "%s", err->msg);
    size_t sl = strlen(src);
    const char *why =
        !strncmp(last, src, sl) && !strncmp(last + sl, ": ", 2) ? last + sl + 2 : last;
    if (result == TRY_RETRY && no_time)
        smx_fail(err, SMX_EIO,
                 "%.800s (gave up after %d attempt%s: the %g s deadline left no time for "
                 "another; --timeout S allows more)",
                 prev, attempts, attempts == 1 ? "" : "s", x->deadline - x->t0);
    else if (result == TRY_RETRY)
        smx_fail(err, SMX_EIO, "%.900s (gave up after %d attempts)", prev, attempts);
    else if (result == TRY_DEADLINE && attempts > 1 && why[0])
        smx_fail(err, SMX_EIO, "%.600s (attempt %d; the one before: %.300s)", prev, attempts, why);
}

/* The next attempt continues the body: resuming is asked for, part of a 2xx body arrived, the
 * server takes ranges and did not refuse one. */
static int can_resume(const struct xfer *x)
{
    return x->o->resume && x->bytes > 0 && x->accept_ranges && !x->range_refused &&
           x->status >= 200 && x->status < 300 && !x->too_large && !x->unsized_cap &&
           !x->write_failed;
}

/* One attempt's state, reset: the file truncated, the counters and the MD5 restarted; or, when
 * it can resume, the body so far and its MD5 kept. */
static int reset_attempt(struct xfer *x, int *resumed, smx_err *err)
{
    if (can_resume(x)) {
        x->resume_from = x->bytes;
        (*resumed)++;
    } else {
        x->resume_from = 0;
        if (ftruncate(x->fd, 0) || lseek(x->fd, 0, SEEK_SET))
            return smx_fail(err, SMX_EIO, "%s: %s", x->path, strerror(errno));
        x->bytes = 0;
        if (!x->md5 || !EVP_DigestInit_ex(x->md5, EVP_md5(), NULL))
            return smx_fail(err, SMX_ERUNTIME, "OpenSSL: MD5 unavailable");
    }
    x->range_refused = x->accept_ranges = 0;
    x->status = 0;
    x->content_length = -1;
    x->too_large = x->unsized_cap = x->deadline_hit = x->write_failed = 0;
    x->etag[0] = x->bucket_region[0] = x->sse[0] = x->location[0] = x->errbuf[0] = '\0';
    x->content_type[0] = '\0';
    smx_buf_reset(&x->errbody);
    return SMX_OK;
}

/* The MD5 of the body against a plain ETag (single-part, not KMS): TRY_OK or TRY_FAIL. */
static int check_etag(const char *src, struct xfer *x, gate_fetch_info *info, smx_err *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    EVP_DigestFinal_ex(x->md5, d, &dl);
    char hex[33];
    for (unsigned i = 0; i < 16 && i < dl; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    snprintf(info->etag, sizeof info->etag, "%s", x->etag);
    int plain = strlen(x->etag) == 32 && !strchr(x->etag, '-') && strcasecmp(x->sse, "aws:kms");
    if (!plain)
        return TRY_OK;
    if (strcasecmp(hex, x->etag))
        return smx_fail(err, SMX_EIO,
                        "%s: the download does not match its ETag (MD5 %s, ETag %s); the object "
                        "changed during the download or was corrupted: try again",
                        src, hex, x->etag),
               TRY_FAIL;
    info->etag_checked = 1;
    return TRY_OK;
}

int gate__fetch_fd(const char *src, const char *url, const gate_fetch_opts *opts, int is_s3, int fd,
                   const char *path, gate_fetch_info *info, smx_err *err)
{
    struct xfer x = {.fd = fd, .path = path, .o = opts, .http_source = !strncmp(url, "http://", 7)};
    x.t0 = smx_now();
    x.fixed_deadline = opts->deadline > 0;
    x.deadline = x.t0 + (x.fixed_deadline ? opts->deadline : GATE_FETCH_DEADLINE_BASE);
    x.max_unsized = opts->max_unsized ? opts->max_unsized : GATE_FETCH_MAX_UNSIZED;
    x.md5 = EVP_MD_CTX_new();
    double delay = opts->backoff > 0 ? opts->backoff : 0.5;
    char last[SMX_ERRMAX] = "";
    int result = TRY_FAIL, no_time = 0;
    for (int attempt = 0; attempt <= opts->retries; attempt++) {
        info->attempts = attempt + 1;
        if (reset_attempt(&x, &info->resumed, err))
            break;
        result = try_once(src, url, opts, is_s3, &x, err);
        if (result != TRY_RETRY || attempt == opts->retries)
            break;
        if ((no_time = x.deadline - smx_now() <= delay)) /* retries share the deadline */
            break;
        snprintf(last, sizeof last, "%s", err->msg);
        sleep_s(delay);
        delay *= 2;
    }
    if (result == TRY_RETRY || result == TRY_DEADLINE)
        gave_up(src, result, info->attempts, no_time, &x, last, err);
    if (result == TRY_OK)
        result = check_etag(src, &x, info, err);
    EVP_MD_CTX_free(x.md5);
    smx_buf_free(&x.errbody);
    info->bytes = x.bytes;
    info->status = x.status;
    snprintf(info->content_type, sizeof info->content_type, "%s", x.content_type);
    snprintf(info->final_url, sizeof info->final_url, "%s", x.final.data ? x.final.data : url);
    smx_buf_free(&x.final);
    if (result != TRY_OK)
        return err->status ? err->status : SMX_EIO;
    return SMX_OK;
}

int gate__temp_file(const gate_fetch_opts *opts, const char *stem, char **path, smx_err *err)
{
    const char *tmpdir = opts->tmpdir ? opts->tmpdir : smx_tmpdir();
    if (asprintf(path, "%s/%s-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp", stem) < 0) {
        *path = NULL;
        return smx_fail(err, SMX_ENOMEM, "out of memory"), -1;
    }
    int fd = mkstemp(*path);
    if (fd < 0) {
        smx_fail_at(err, SMX_EIO, tmpdir, "set TMPDIR to a writable directory",
                    "cannot create a temporary file %s: %s", *path, strerror(errno));
        free(*path);
        *path = NULL;
        return -1;
    }
    smx_scratch_add(*path);
    return fd;
}

int gate_fetch(const char *src, const gate_fetch_opts *opts, char **local, gate_fetch_info *info,
               smx_err *err)
{
    gate_fetch_opts dflt;
    if (!opts) {
        gate_fetch_opts_default(&dflt);
        opts = &dflt;
    }
    gate_fetch_info scratch;
    if (!info)
        info = &scratch;
    memset(info, 0, sizeof *info);
    *local = NULL;
    if (!gate_source_is_remote(src)) {
        *local = strdup(src);
        return *local ? SMX_OK : smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    int rc = gate__curl_init(err);
    if (rc)
        return rc;
    int is_s3 = !strncmp(src, "s3://", 5);
    char *url = NULL;
    if (is_s3) {
        if ((rc = gate_s3_url(src, opts, &url, err)))
            return rc;
        const char *k = strchr(src + 5, '/');
        if (!k || !k[1] || src[strlen(src) - 1] == '/') {
            free(url);
            return smx_fail(err, SMX_EINVAL,
                            "%s: names a prefix, not an object; give the key of the model.tar.gz",
                            src);
        }
    } else if (!(url = strdup(src))) {
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    char *path = NULL;
    int fd = gate__temp_file(opts, "smxgb-src", &path, err);
    if (fd < 0) {
        free(url);
        return err->status;
    }
    rc = gate__fetch_fd(src, url, opts, is_s3, fd, path, info, err);
    if (close(fd) && !rc)
        rc = smx_fail(err, SMX_EIO, "%s: %s", path, strerror(errno));
    if (rc) {
        smx_scratch_remove(path);
        free(path);
        free(url);
        return rc;
    }
    info->url = url;
    if (info == &scratch)
        gate_fetch_info_free(&scratch);
    *local = path;
    return SMX_OK;
}
