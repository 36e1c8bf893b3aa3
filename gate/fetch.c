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
 * The body streams to a 0600 temporary file while its MD5 is computed; Content-Length and a
 * plain (single-part, non-KMS) ETag are checked at the end. 5xx, 429, timeouts, resets and
 * short bodies are retried with exponential backoff; 403/404/301 become messages that say what
 * to do (expired token, missing key, bucket in another region).
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
    o->timeout = 60;
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

struct xfer {
    CURL *c;
    int fd;
    uint64_t bytes, max_bytes;
    int too_large, write_failed;
    EVP_MD_CTX *md5;
    smx_buf errbody; /* body of a non-2xx answer */
    char etag[128];
    char bucket_region[64];
    char sse[64];
    long long content_length;
    const gate_fetch_opts *o;
};

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    char line[512];
    size_t l = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, p, l);
    line[l] = '\0';
    while (l && (line[l - 1] == '\r' || line[l - 1] == '\n'))
        line[--l] = '\0';
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
        x->content_length = strtoll(v, NULL, 10);
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
    if (x->max_bytes && x->bytes + n > x->max_bytes) {
        x->too_large = 1;
        return 0;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(x->fd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            x->write_failed = errno ? errno : EIO;
            return 0;
        }
        off += (size_t)w;
    }
    EVP_DigestUpdate(x->md5, p, n);
    x->bytes += n;
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ultotal, (void)ulnow;
    struct xfer *x = ud;
    long status = 0;
    curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
    if (x->o->progress && status >= 200 && status < 300)
        x->o->progress((uint64_t)dlnow, (uint64_t)dltotal, x->o->ctx);
    return 0;
}

/* <Code>X</Code> and <Message>Y</Message> from an S3 XML error body. */
static void s3_error(const smx_buf *b, char *code, size_t cn, char *msg, size_t mn)
{
    code[0] = msg[0] = '\0';
    if (!b->data)
        return;
    const char *c = strstr(b->data, "<Code>"), *m = strstr(b->data, "<Message>");
    if (c) {
        c += 6;
        const char *e = strstr(c, "</Code>");
        if (e)
            snprintf(code, cn, "%.*s", (int)(e - c), c);
    }
    if (m) {
        m += 9;
        const char *e = strstr(m, "</Message>");
        if (e)
            snprintf(msg, mn, "%.*s", (int)(e - m), m);
    }
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

enum { TRY_OK, TRY_RETRY, TRY_FAIL };

static int explain_status(long status, const struct xfer *x, const char *src, int is_s3,
                          int signed_req, smx_err *err)
{
    char code[128], msg[512];
    s3_error(&x->errbody, code, sizeof code, msg, sizeof msg);
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
    if (status == 301 || status == 307 || status == 400) {
        if (x->bucket_region[0])
            return smx_fail(err, SMX_EIO,
                            "%s: HTTP %ld %s: the bucket is in region %s; set AWS_REGION=%s "
                            "(SageMaker also needs the model in the endpoint's region)",
                            src, status, detail, x->bucket_region, x->bucket_region);
    }
    return smx_fail(err, SMX_EIO, "%s: HTTP %ld%s%s%s%s", src, status, code[0] ? " " : "", detail,
                    msg[0] ? ": " : "", msg);
}

/* The handle for one GET of url: progress and stall limits, callbacks into x, redirects for
 * https:// sources, SigV4 for s3:// when credentials are set (*signed_req). Returns the header
 * list to free. */
static struct curl_slist *setup_transfer(CURL *c, const char *url, const gate_fetch_opts *o,
                                         int is_s3, struct xfer *x, int *signed_req)
{
    struct curl_slist *h = NULL;
    char sigv4[128], line[4200];
    const char *ak = env_nonempty("AWS_ACCESS_KEY_ID"), *sk = env_nonempty("AWS_SECRET_ACCESS_KEY");
    const char *tok = env_nonempty("AWS_SESSION_TOKEN");
    *signed_req = is_s3 && ak && sk;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)(o->timeout > 0 ? o->timeout : 60));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "smxgb");
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    if (!is_s3) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
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

/* One GET into x: TRY_OK, TRY_RETRY (5xx, 429, timeouts, resets, short bodies) or TRY_FAIL,
 * with the reason in err. */
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
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    x->c = NULL;

    if (x->too_large)
        return smx_fail(err, SMX_EIO, "%s: larger than the limit of %llu bytes", src,
                        (unsigned long long)x->max_bytes),
               TRY_FAIL;
    if (x->write_failed)
        return smx_fail(err, SMX_EIO, "%s: cannot write the temporary file: %s", src,
                        strerror(x->write_failed)),
               TRY_FAIL;
    if (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR ||
        rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE || rc == CURLE_GOT_NOTHING ||
        rc == CURLE_COULDNT_RESOLVE_HOST) {
        smx_fail(err, SMX_EIO, "%s: %s (%s)", src, curl_easy_strerror(rc), url);
        return rc == CURLE_COULDNT_RESOLVE_HOST ? TRY_FAIL : TRY_RETRY;
    }
    if (rc != CURLE_OK)
        return smx_fail(err, SMX_EIO, "%s: %s", src, curl_easy_strerror(rc)), TRY_FAIL;
    if (status >= 500 || status == 429) {
        char code[128], msg[256];
        s3_error(&x->errbody, code, sizeof code, msg, sizeof msg);
        smx_fail(err, SMX_EIO, "%s: HTTP %ld%s%s", src, status, code[0] ? " " : "", code);
        return TRY_RETRY;
    }
    if (status < 200 || status > 299)
        return explain_status(status, x, src, is_s3, signed_req, err), TRY_FAIL;
    if (x->content_length >= 0 && (uint64_t)x->content_length != x->bytes) {
        smx_fail(err, SMX_EIO, "%s: got %llu bytes, Content-Length said %lld", src,
                 (unsigned long long)x->bytes, x->content_length);
        return TRY_RETRY;
    }
    return TRY_OK;
}

/* Download url into fd (truncated first on every attempt), with retries, size and ETag checks. */
static int fetch_fd(const char *src, const char *url, const gate_fetch_opts *opts, int is_s3,
                    int fd, const char *path, gate_fetch_info *info, smx_err *err)
{
    struct xfer x = {.fd = fd, .max_bytes = opts->max_bytes, .o = opts};
    x.md5 = EVP_MD_CTX_new();
    double delay = opts->backoff > 0 ? opts->backoff : 0.5;
    int result = TRY_FAIL;
    for (int attempt = 0; attempt <= opts->retries; attempt++) {
        info->attempts = attempt + 1;
        if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET)) {
            smx_fail(err, SMX_EIO, "%s: %s", path, strerror(errno));
            result = TRY_FAIL;
            break;
        }
        x.bytes = 0;
        x.content_length = -1;
        x.etag[0] = x.bucket_region[0] = x.sse[0] = '\0';
        smx_buf_reset(&x.errbody);
        if (!x.md5 || !EVP_DigestInit_ex(x.md5, EVP_md5(), NULL)) {
            smx_fail(err, SMX_ERUNTIME, "OpenSSL: MD5 unavailable");
            result = TRY_FAIL;
            break;
        }
        result = try_once(src, url, opts, is_s3, &x, err);
        if (result != TRY_RETRY)
            break;
        if (attempt < opts->retries) {
            sleep_s(delay);
            delay *= 2;
        }
    }
    if (result == TRY_RETRY) {
        char prev[SMX_ERRMAX];
        snprintf(prev, sizeof prev, "%s", err->msg);
        smx_fail(err, SMX_EIO, "%.900s (gave up after %d attempts)", prev, info->attempts);
    }
    if (result == TRY_OK) {
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned dl = 0;
        EVP_DigestFinal_ex(x.md5, d, &dl);
        char hex[33];
        for (unsigned i = 0; i < 16 && i < dl; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        snprintf(info->etag, sizeof info->etag, "%s", x.etag);
        int plain = strlen(x.etag) == 32 && !strchr(x.etag, '-') && strcasecmp(x.sse, "aws:kms");
        if (plain) {
            if (strcasecmp(hex, x.etag)) {
                smx_fail(err, SMX_EIO,
                         "%s: the download does not match its ETag (MD5 %s, ETag %s); the "
                         "object changed during the download or was corrupted: try again",
                         src, hex, x.etag);
                result = TRY_FAIL;
            } else {
                info->etag_checked = 1;
            }
        }
    }
    EVP_MD_CTX_free(x.md5);
    smx_buf_free(&x.errbody);
    info->bytes = x.bytes;
    if (result != TRY_OK)
        return err->status ? err->status : SMX_EIO;
    return SMX_OK;
}

static int temp_file(const gate_fetch_opts *opts, const char *stem, char **path, smx_err *err)
{
    const char *tmpdir = opts->tmpdir ? opts->tmpdir : getenv("TMPDIR");
    if (asprintf(path, "%s/%s-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp", stem) < 0) {
        *path = NULL;
        return smx_fail(err, SMX_ENOMEM, "out of memory"), -1;
    }
    int fd = mkstemp(*path);
    if (fd < 0) {
        smx_fail(err, SMX_EIO, "cannot create a temporary file %s: %s", *path, strerror(errno));
        free(*path);
        *path = NULL;
    }
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
    int fd = temp_file(opts, "smxgb-src", &path, err);
    if (fd < 0) {
        free(url);
        return err->status;
    }
    rc = fetch_fd(src, url, opts, is_s3, fd, path, info, err);
    if (close(fd) && !rc)
        rc = smx_fail(err, SMX_EIO, "%s: %s", path, strerror(errno));
    if (rc) {
        unlink(path);
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

/* ---- S3 prefixes (CompressionType None + S3Prefix) ---------------------------------------- */

/* Percent-encode a query value (everything but unreserved characters). */
static void encode_query(smx_buf *b, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            smx_buf_append(b, p, 1);
        else
            smx_buf_printf(b, "%%%02X", *p);
    }
}

/* The text between <tag> and </tag> starting at *pos; advances *pos. malloc'd or NULL. */
static char *xml_next(const char *s, const char *tag, const char **pos)
{
    char open[64], close_[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close_, sizeof close_, "</%s>", tag);
    const char *a = strstr(*pos, open);
    if (!a)
        return NULL;
    a += strlen(open);
    const char *e = strstr(a, close_);
    if (!e)
        return NULL;
    *pos = e + strlen(close_);
    (void)s;
    /* undo the five XML escapes S3 uses */
    char *out = malloc((size_t)(e - a) + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (const char *p = a; p < e;) {
        static const char *const ents[][2] = {
            {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
        int done = 0;
        for (size_t k = 0; k < 5 && !done; k++) {
            size_t l = strlen(ents[k][0]);
            if (!strncmp(p, ents[k][0], l)) {
                out[j++] = ents[k][1][0];
                p += l;
                done = 1;
            }
        }
        if (!done)
            out[j++] = *p++;
    }
    out[j] = '\0';
    return out;
}

/* mkdir -p for the directories of rel (already checked by safe_rel) under dir. */
static int make_parents(const char *dir, const char *rel, smx_err *err)
{
    char *copy = strdup(rel);
    if (!copy)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    for (char *slash = strchr(copy, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        char *d = NULL;
        int ok = asprintf(&d, "%s/%s", dir, copy) >= 0 && (mkdir(d, 0700) == 0 || errno == EEXIST);
        int e = errno;
        free(d);
        *slash = '/';
        if (!ok) {
            free(copy);
            return smx_fail(err, SMX_EIO, "cannot create a directory for '%s': %s", rel,
                            strerror(e));
        }
    }
    free(copy);
    return SMX_OK;
}

static int safe_rel(const char *rel, smx_err *err)
{
    if (!*rel || rel[0] == '/' || strstr(rel, "//"))
        return smx_fail(err, SMX_EUNSAFE, "object name '%s' is not a safe relative path", rel);
    for (const char *p = rel; *p;) {
        size_t cl = strcspn(p, "/");
        if ((cl == 2 && !strncmp(p, "..", 2)) || (cl == 1 && *p == '.'))
            return smx_fail(err, SMX_EUNSAFE, "object name '%s' has a '.' or '..' component", rel);
        p += cl;
        if (*p == '/')
            p++;
    }
    return SMX_OK;
}

void gate_s3_list_free(gate_s3_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    free(l->token);
    memset(l, 0, sizeof *l);
}

int gate_s3_list_parse(const char *buf, size_t len, const char *prefix, gate_s3_list *l,
                       smx_err *err)
{
    memset(l, 0, sizeof *l);
    char *text = malloc(len + 1);
    if (!text)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(text, buf, len);
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        return smx_fail(err, SMX_EFORMAT, "the S3 listing contains a NUL byte");
    }
    size_t pl = strlen(prefix);
    int rc = SMX_OK;
    const char *pos = text;
    char *key;
    while (!rc && (key = xml_next(text, "Key", &pos))) {
        size_t kl = strlen(key);
        if (strncmp(key, prefix, pl) || (kl && key[kl - 1] == '/')) {
            free(key); /* outside the prefix, or a "folder" marker */
            continue;
        }
        rc = safe_rel(key + pl, err);
        if (!rc && l->n >= 100000)
            rc = smx_fail(err, SMX_ELIMIT, "more than 100000 objects under the prefix");
        if (!rc) {
            char **v = realloc(l->keys, (l->n + 1) * sizeof *v);
            if (!v) {
                rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            } else {
                l->keys = v;
                l->keys[l->n++] = key;
                key = NULL;
            }
        }
        free(key);
    }
    const char *tp = text;
    char *trunc = xml_next(text, "IsTruncated", &tp);
    l->truncated = trunc && !strcmp(trunc, "true");
    free(trunc);
    if (l->truncated) {
        tp = text;
        l->token = xml_next(text, "NextContinuationToken", &tp);
    }
    free(text);
    if (rc)
        gate_s3_list_free(l);
    return rc;
}

/* Fetch one ListObjectsV2 page of prefix (after token, when not NULL) into l. */
static int list_page(const char *s3prefix, const char *base, const char *prefix, const char *token,
                     const gate_fetch_opts *opts, gate_s3_list *l, smx_err *err)
{
    memset(l, 0, sizeof *l);
    smx_buf q = SMX_BUF_INIT;
    smx_buf_puts(&q, base);
    smx_buf_puts(&q, "?");
    if (token) {
        smx_buf_puts(&q, "continuation-token=");
        encode_query(&q, token);
        smx_buf_puts(&q, "&");
    }
    smx_buf_puts(&q, "list-type=2&prefix=");
    encode_query(&q, prefix);
    char *lpath = NULL;
    int fd = temp_file(opts, "smxgb-list", &lpath, err);
    if (fd < 0) {
        smx_buf_free(&q);
        return err->status;
    }
    gate_fetch_info li = {0};
    int rc = fetch_fd(s3prefix, q.data, opts, 1, fd, lpath, &li, err);
    close(fd);
    smx_buf_free(&q);
    smx_buf body = SMX_BUF_INIT;
    if (!rc)
        rc = smx_buf_read_file(&body, lpath, (size_t)64 << 20, err);
    unlink(lpath);
    free(lpath);
    if (!rc)
        rc = gate_s3_list_parse(body.data ? body.data : "", body.len, prefix, l, err);
    smx_buf_free(&body);
    return rc;
}

/* Download every key of l into dir, at its path below prefix; *count grows by each one. */
static int fetch_listed(const char *dir, const char *s3prefix, const char *prefix,
                        const gate_s3_list *l, const gate_fetch_opts *opts, size_t *count,
                        smx_err *err)
{
    int rc = SMX_OK;
    for (size_t i = 0; !rc && i < l->n; i++) {
        const char *rel = l->keys[i] + strlen(prefix);
        rc = make_parents(dir, rel, err);
        char *dst = NULL, *obj = NULL, *objurl = NULL;
        if (!rc &&
            (asprintf(&dst, "%s/%s", dir, rel) < 0 || asprintf(&obj, "%s%s", s3prefix, rel) < 0))
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        if (!rc)
            rc = gate_s3_url(obj, opts, &objurl, err);
        if (!rc) {
            int ofd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
            if (ofd < 0) {
                rc = smx_fail(err, SMX_EIO, "%s: %s", dst, strerror(errno));
            } else {
                gate_fetch_info oi = {0};
                rc = fetch_fd(obj, objurl, opts, 1, ofd, dst, &oi, err);
                if (close(ofd) && !rc)
                    rc = smx_fail(err, SMX_EIO, "%s: %s", dst, strerror(errno));
                (*count)++;
            }
        }
        free(dst);
        free(obj);
        free(objurl);
    }
    return rc;
}

/* Every page of the listing, and every object on it, into dir. */
static int fetch_pages(const char *dir, const char *s3prefix, const char *base, const char *prefix,
                       const gate_fetch_opts *opts, size_t *count, smx_err *err)
{
    char *token = NULL;
    int rc = SMX_OK;
    for (int page = 0; page < 1000 && !rc; page++) {
        gate_s3_list l;
        rc = list_page(s3prefix, base, prefix, token, opts, &l, err);
        if (!rc)
            rc = fetch_listed(dir, s3prefix, prefix, &l, opts, count, err);
        free(token);
        token = NULL;
        int more = !rc && l.truncated && l.token;
        if (more) {
            token = l.token;
            l.token = NULL;
        }
        gate_s3_list_free(&l);
        if (!more)
            break;
    }
    free(token);
    return rc;
}

int gate_fetch_prefix(const char *s3prefix, const gate_fetch_opts *opts, char **local_dir,
                      size_t *n_objects, smx_err *err)
{
    gate_fetch_opts dflt;
    if (!opts) {
        gate_fetch_opts_default(&dflt);
        opts = &dflt;
    }
    *local_dir = NULL;
    *n_objects = 0;
    size_t sl = strlen(s3prefix);
    if (strncmp(s3prefix, "s3://", 5) || !sl || s3prefix[sl - 1] != '/')
        return smx_fail(err, SMX_EINVAL, "'%s' is not an s3:// prefix ending in '/'", s3prefix);
    int rc = gate__curl_init(err);
    if (rc)
        return rc;
    const char *bslash = strchr(s3prefix + 5, '/');
    char *bucket_uri = strndup(s3prefix, (size_t)(bslash - s3prefix) + 1); /* s3://bucket/ */
    const char *prefix = bslash + 1;
    char *base = NULL;
    if (!bucket_uri)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    /* the bucket's URL: ".../bucket/" path style, "https://bucket.s3.REGION.../" otherwise */
    rc = gate_s3_url(bucket_uri, opts, &base, err);
    free(bucket_uri);
    if (rc)
        return rc;
    char dirt[4096];
    const char *tmpdir = opts->tmpdir ? opts->tmpdir : getenv("TMPDIR");
    snprintf(dirt, sizeof dirt, "%s/smxgb-prefix-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dirt)) {
        free(base);
        return smx_fail(err, SMX_EIO, "cannot create a temporary directory: %s", strerror(errno));
    }
    size_t count = 0;
    rc = fetch_pages(dirt, s3prefix, base, prefix, opts, &count, err);
    free(base);
    if (!rc && !count)
        rc = smx_fail(err, SMX_EIO, "%s: no objects under this prefix", s3prefix);
    if (rc) {
        artifact_remove_tree(dirt, NULL);
        return rc;
    }
    *local_dir = strdup(dirt);
    *n_objects = count;
    return *local_dir ? SMX_OK : smx_fail(err, SMX_ENOMEM, "out of memory");
}
