/*
 * Artifact sources: s3:// and https://.
 *   - the signed request, as a test server records it: Authorization AWS4-HMAC-SHA256 with
 *     the credential scope, x-amz-date, x-amz-content-sha256 sent explicitly,
 *     x-amz-security-token; the signature recomputed here (SigV4 with OpenSSL) must match;
 *   - retries on 5xx, messages for 403 (expired token, bad key) and 404, ETag and size checks;
 *   - end to end against s3rver (npm) on loopback: verify, check and plan download from it,
 *     and plan checks the plan's own upload, not the object in S3 it replaces.
 */
#include "gate/gate.h"
#include "helpers.h"
#include "th_server.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct rec {
    int fail_first; /* answer 503 to this many requests first */
    int status;     /* then this (200 default) */
    const char *body;
    size_t body_len;
    const char *extra;
    double delay; /* seconds before answering */
    int requests;
    char path[2048];
    char headers[8192]; /* of the last request */
};

static void rec_handler(const th_request *rq, th_response *rs, void *ctx)
{
    struct rec *r = ctx;
    int n = __atomic_add_fetch(&r->requests, 1, __ATOMIC_SEQ_CST);
    snprintf(r->path, sizeof r->path, "%s", rq->path);
    snprintf(r->headers, sizeof r->headers, "%s", rq->headers);
    if (n <= r->fail_first) {
        rs->status = 503;
        rs->body = "<Error><Code>SlowDown</Code></Error>";
        rs->body_len = strlen(rs->body);
        return;
    }
    rs->status = r->status ? r->status : 200;
    rs->body = r->body;
    rs->body_len = r->body_len;
    rs->extra_headers = r->extra;
    rs->delay = r->delay;
}

static char *hdr(const struct rec *r, const char *name)
{
    th_request rq = {.headers = (char *)r->headers};
    return th_header(&rq, name);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void hmac(const void *key, size_t kl, const char *msg, unsigned char out[32])
{
    unsigned ol = 32;
    HMAC(EVP_sha256(), key, (int)kl, (const unsigned char *)msg, strlen(msg), out, &ol);
}

/* Recompute the SigV4 signature of a recorded GET the way S3 does. */
static void expected_signature(const struct rec *r, const char *secret, char out[65])
{
    char *auth = hdr(r, "Authorization");
    cr_assert_not_null(auth);
    const char *sh = strstr(auth, "SignedHeaders=");
    cr_assert_not_null(sh);
    sh += strlen("SignedHeaders=");
    char signed_headers[512];
    snprintf(signed_headers, sizeof signed_headers, "%.*s", (int)strcspn(sh, ","), sh);
    const char *cred = strstr(auth, "Credential=") + strlen("Credential=");
    char scope[256];
    const char *slash = strchr(cred, '/');
    snprintf(scope, sizeof scope, "%.*s", (int)strcspn(slash + 1, ","), slash + 1);
    char date[16], region[64], service[16];
    cr_assert_eq(sscanf(scope, "%15[^/]/%63[^/]/%15[^/]/", date, region, service), 3);

    smx_buf canon = SMX_BUF_INIT;
    const char *qm = strchr(r->path, '?');
    smx_buf_printf(&canon, "GET\n%.*s\n%s\n", (int)(qm ? qm - r->path : (long)strlen(r->path)),
                   r->path, qm ? qm + 1 : "");
    char copy[512];
    snprintf(copy, sizeof copy, "%s", signed_headers);
    char *save = NULL;
    for (char *h = strtok_r(copy, ";", &save); h; h = strtok_r(NULL, ";", &save)) {
        char *v = hdr(r, h);
        cr_assert_not_null(v, "signed header %s was sent", h);
        smx_buf_printf(&canon, "%s:%s\n", h, v);
        free(v);
    }
    char *payload = hdr(r, "x-amz-content-sha256");
    smx_buf_printf(&canon, "\n%s\n%s", signed_headers, payload);
    unsigned char d[32];
    char dh[65];
    EVP_Digest(canon.data, canon.len, d, NULL, EVP_sha256(), NULL);
    hex(d, 32, dh);
    char *amzdate = hdr(r, "x-amz-date");
    smx_buf sts = SMX_BUF_INIT;
    smx_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amzdate, scope, dh);
    char k0[256];
    snprintf(k0, sizeof k0, "AWS4%s", secret);
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    hmac(k0, strlen(k0), date, k1);
    hmac(k1, 32, region, k2);
    hmac(k2, 32, service, k3);
    hmac(k3, 32, "aws4_request", k4);
    hmac(k4, 32, sts.data, sig);
    hex(sig, 32, out);
    smx_buf_free(&canon);
    smx_buf_free(&sts);
    free(amzdate);
    free(payload);
    free(auth);
}

static void aws_env(const char *token)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    if (token)
        setenv("AWS_SESSION_TOKEN", token, 1);
    else
        unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_REGION", "eu-west-1", 1);
}

static int fetch(th_server *s, const char *uri, char **local, gate_fetch_info *info, smx_err *err)
{
    gate_fetch_opts o;
    gate_fetch_opts_default(&o);
    o.s3_endpoint = th_server_url(s);
    o.backoff = 0.02;
    return gate_fetch(uri, &o, local, info, err);
}

Test(sources, signed_request_headers_and_signature)
{
    aws_env("FwoGZXIvYXdzEXAMPLETOKEN");
    struct rec r = {.body = "model bytes", .body_len = 11};
    th_server *s = th_server_start(rec_handler, &r);
    char *local = NULL;
    gate_fetch_info info;
    smx_err err = {0};
    cr_assert_eq(fetch(s, "s3://acme-models/churn/v 1/model.tar.gz", &local, &info, &err), SMX_OK,
                 "%s", err.msg);
    cr_assert_str_eq(r.path, "/acme-models/churn/v%201/model.tar.gz", "path-style, key encoded");
    char *auth = hdr(&r, "Authorization");
    cr_assert_not_null(auth);
    char want[128];
    char *date = hdr(&r, "x-amz-date");
    cr_assert_not_null(date, "x-amz-date is sent");
    cr_assert_eq(strlen(date), 16, "YYYYMMDDTHHMMSSZ: %s", date);
    snprintf(want, sizeof want,
             "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/%.8s/eu-west-1/s3/aws4_request", date);
    cr_assert(!strncmp(auth, want, strlen(want)), "%s", auth);
    char *sha = hdr(&r, "x-amz-content-sha256");
    cr_assert_not_null(sha, "x-amz-content-sha256 is sent explicitly");
    cr_assert_str_eq(sha, EMPTY_SHA256, "the empty body's hash");
    char *tok = hdr(&r, "x-amz-security-token");
    cr_assert_not_null(tok);
    cr_assert_str_eq(tok, "FwoGZXIvYXdzEXAMPLETOKEN");
    for (const char *h = "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"; h; h = NULL)
        cr_assert(strstr(auth, h), "signed headers include %s: %s", h, auth);
    char sig[65];
    expected_signature(&r, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sig);
    cr_assert(strstr(auth, sig), "the signature is SigV4 over these headers: expected %s in %s",
              sig, auth);
    /* the file holds the body */
    size_t n;
    char *got = th_read(local, &n);
    cr_assert_eq(n, 11);
    cr_assert(!memcmp(got, "model bytes", 11));
    struct stat st;
    stat(local, &st);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(info.bytes, 11);
    unlink(local);
    free(local);
    free(got);
    free(auth);
    free(date);
    free(sha);
    free(tok);
    gate_fetch_info_free(&info);
    th_server_stop(s);
}

Test(sources, unsigned_without_credentials_and_https_urls)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    struct rec r = {.body = "x", .body_len = 1};
    th_server *s = th_server_start(rec_handler, &r);
    char *local = NULL;
    smx_err err = {0};
    cr_assert_eq(fetch(s, "s3://public-bucket/m.tar.gz", &local, NULL, &err), SMX_OK, "%s",
                 err.msg);
    char *auth = hdr(&r, "Authorization");
    cr_assert_null(auth, "no credentials, no signature");
    unlink(local);
    free(local);
    /* a plain URL (presigned, or any web server) */
    char url[128];
    snprintf(url, sizeof url, "%s/files/model.tar.gz?X-Amz-Signature=abc", th_server_url(s));
    cr_assert_eq(gate_fetch(url, NULL, &local, NULL, &err), SMX_OK, "%s", err.msg);
    cr_assert_str_eq(r.path, "/files/model.tar.gz?X-Amz-Signature=abc");
    unlink(local);
    free(local);
    th_server_stop(s);
}

Test(sources, retries_5xx_with_backoff)
{
    aws_env(NULL);
    struct rec r = {.fail_first = 2, .body = "abc", .body_len = 3};
    th_server *s = th_server_start(rec_handler, &r);
    char *local = NULL;
    gate_fetch_info info;
    smx_err err = {0};
    cr_assert_eq(fetch(s, "s3://b/k.tar.gz", &local, &info, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(info.attempts, 3);
    cr_assert_eq(r.requests, 3);
    unlink(local);
    free(local);
    gate_fetch_info_free(&info);

    struct rec always = {.fail_first = 100};
    th_server *s2 = th_server_start(rec_handler, &always);
    cr_assert_eq(fetch(s2, "s3://b/k.tar.gz", &local, &info, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "503") && strstr(err.msg, "5 attempts"), "%s", err.msg);
    cr_assert_eq(always.requests, 5, "1 + 4 retries");
    th_server_stop(s);
    th_server_stop(s2);
}

Test(sources, clear_messages_for_403_and_404)
{
    aws_env("OLDTOKEN");
    struct rec expired = {.status = 403,
                          .body = "<Error><Code>ExpiredToken</Code><Message>The provided token "
                                  "has expired.</Message></Error>"};
    expired.body_len = strlen(expired.body);
    th_server *s = th_server_start(rec_handler, &expired);
    char *local = NULL;
    smx_err err = {0};
    cr_assert_eq(fetch(s, "s3://b/k.tar.gz", &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "expired") && strstr(err.msg, "AWS_SESSION_TOKEN"), "%s", err.msg);
    cr_assert_eq(expired.requests, 1, "a 403 is not retried");
    th_server_stop(s);

    struct rec denied = {
        .status = 403,
        .body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"};
    denied.body_len = strlen(denied.body);
    s = th_server_start(rec_handler, &denied);
    cr_assert_eq(fetch(s, "s3://b/k.tar.gz", &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "s3:GetObject"), "%s", err.msg);
    th_server_stop(s);

    struct rec missing = {.status = 404,
                          .body = "<Error><Code>NoSuchKey</Code><Message>The specified key does "
                                  "not exist.</Message></Error>"};
    missing.body_len = strlen(missing.body);
    s = th_server_start(rec_handler, &missing);
    cr_assert_eq(fetch(s, "s3://b/k.tar.gz", &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "404") && strstr(err.msg, "no such object") &&
                  strstr(err.msg, "s3://b/k.tar.gz"),
              "%s", err.msg);
    th_server_stop(s);

    struct rec moved = {.status = 301,
                        .extra = "x-amz-bucket-region: ap-south-1\r\n",
                        .body = "<Error><Code>PermanentRedirect</Code></Error>"};
    moved.body_len = strlen(moved.body);
    s = th_server_start(rec_handler, &moved);
    cr_assert_eq(fetch(s, "s3://b/k.tar.gz", &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "AWS_REGION=ap-south-1"), "%s", err.msg);
    th_server_stop(s);

    cr_assert_eq(gate_fetch("s3://b/prefix/", NULL, &local, NULL, &err), SMX_EINVAL);
    cr_assert_eq(gate_fetch("s3:///k", NULL, &local, NULL, &err), SMX_EINVAL);
}

Test(sources, etag_and_length_are_checked)
{
    aws_env(NULL);
    /* md5("abc") = 900150983cd24fb0d6963f7d28e17f72 */
    struct rec ok = {
        .body = "abc", .body_len = 3, .extra = "ETag: \"900150983cd24fb0d6963f7d28e17f72\"\r\n"};
    th_server *s = th_server_start(rec_handler, &ok);
    char *local = NULL;
    gate_fetch_info info;
    smx_err err = {0};
    cr_assert_eq(fetch(s, "s3://b/k.tar.gz", &local, &info, &err), SMX_OK, "%s", err.msg);
    cr_assert(info.etag_checked);
    unlink(local);
    free(local);
    gate_fetch_info_free(&info);
    th_server_stop(s);

    struct rec bad = {
        .body = "abd", .body_len = 3, .extra = "ETag: \"900150983cd24fb0d6963f7d28e17f72\"\r\n"};
    s = th_server_start(rec_handler, &bad);
    cr_assert_eq(fetch(s, "s3://b/k.tar.gz", &local, &info, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "ETag"), "%s", err.msg);
    th_server_stop(s);

    struct rec multipart = {
        .body = "abd", .body_len = 3, .extra = "ETag: \"d41d8cd98f00b204e9800998ecf8427e-3\"\r\n"};
    s = th_server_start(rec_handler, &multipart);
    cr_assert_eq(fetch(s, "s3://b/k.tar.gz", &local, &info, &err), SMX_OK, "%s", err.msg);
    cr_assert_not(info.etag_checked, "a multipart ETag is not an MD5");
    unlink(local);
    free(local);
    gate_fetch_info_free(&info);
    th_server_stop(s);
}

Test(sources, prefix_listing_is_signed_and_trimmed)
{
    aws_env(NULL);
    struct rec r = {.body = "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name>"
                            "<Contents><Key>models/v1/</Key></Contents>"
                            "<Contents><Key>models/v1/xgboost-model</Key></Contents>"
                            "<IsTruncated>false</IsTruncated></ListBucketResult>"};
    r.body_len = strlen(r.body);
    th_server *s = th_server_start(rec_handler, &r);
    gate_fetch_opts o;
    gate_fetch_opts_default(&o);
    o.s3_endpoint = th_server_url(s);
    char *dirp = NULL;
    size_t n = 0;
    smx_err err = {0};
    cr_assert_eq(gate_fetch_prefix("s3://b/models/v1/", &o, &dirp, &n, &err), SMX_OK, "%s",
                 err.msg);
    cr_assert_eq(n, 1, "the folder marker is not an object");
    cr_assert_eq(r.requests, 2, "one list, one object");
    struct stat st;
    cr_assert_eq(stat(th_path(dirp, "xgboost-model"), &st), 0, "the prefix is trimmed");
    th_rmrf(dirp);
    free(dirp);
    cr_assert_eq(gate_fetch_prefix("s3://b/models/v1", &o, &dirp, &n, &err), SMX_EINVAL);

    /* the list request's signature covers its query string */
    struct rec one = {.body =
                          "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"};
    one.body_len = strlen(one.body);
    th_server *s2 = th_server_start(rec_handler, &one);
    o.s3_endpoint = th_server_url(s2);
    cr_assert_eq(gate_fetch_prefix("s3://b/a b/", &o, &dirp, &n, &err), SMX_EIO, "empty prefix");
    cr_assert(strstr(err.msg, "no objects"), "%s", err.msg);
    cr_assert_str_eq(one.path, "/b/?list-type=2&prefix=a%20b%2F");
    char sig[65];
    expected_signature(&one, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sig);
    char *auth = hdr(&one, "Authorization");
    cr_assert(strstr(auth, sig), "expected %s in %s", sig, auth);
    free(auth);

    /* keys that would escape the directory are refused */
    struct rec evil = {.body = "<ListBucketResult><Contents><Key>p/../../etc/x</Key></Contents>"
                               "<IsTruncated>false</IsTruncated></ListBucketResult>"};
    evil.body_len = strlen(evil.body);
    th_server *s3 = th_server_start(rec_handler, &evil);
    o.s3_endpoint = th_server_url(s3);
    cr_assert_eq(gate_fetch_prefix("s3://b/p/", &o, &dirp, &n, &err), SMX_EUNSAFE, "%s", err.msg);
    th_server_stop(s);
    th_server_stop(s2);
    th_server_stop(s3);
}

Test(sources, stalled_transfer_times_out_and_is_retried)
{
    aws_env(NULL);
    struct rec r = {.body = "abc", .body_len = 3, .delay = 3.0};
    th_server *s = th_server_start(rec_handler, &r);
    gate_fetch_opts o;
    gate_fetch_opts_default(&o);
    o.s3_endpoint = th_server_url(s);
    o.low_speed_time = 1;
    o.retries = 1;
    o.backoff = 0.05;
    char *local = NULL;
    gate_fetch_info info;
    smx_err err = {0};
    cr_assert_eq(gate_fetch("s3://b/k.tar.gz", &o, &local, &info, &err), SMX_EIO);
    cr_assert_eq(info.attempts, 2, "a timeout is retried");
    cr_assert(strstr(err.msg, "gave up after 2 attempts"), "%s", err.msg);
    th_server_stop(s);
}

/* ---- s3rver ------------------------------------------------------------------------------ */

static pid_t s3rver_pid;
static int s3rver_port;
static char *s3dir;

static void s3rver_stop(void)
{
    if (s3rver_pid > 0) {
        kill(s3rver_pid, SIGTERM);
        waitpid(s3rver_pid, NULL, 0);
        s3rver_pid = 0;
    }
    if (s3dir) {
        th_rmrf(s3dir);
        free(s3dir);
        s3dir = NULL;
    }
}

/* Start s3rver (installed by scripts/setup.sh into tests/s3; installed here if missing). */
static int s3rver_start(void)
{
    const char *bin = SMXGB_SOURCE_DIR "/tests/s3/node_modules/s3rver/bin/s3rver.js";
    if (access(bin, R_OK) != 0 &&
        th_run("npm install --prefix " SMXGB_SOURCE_DIR "/tests/s3 --no-audit --no-fund "
               ">/dev/null 2>&1",
               NULL) != 0)
        return -1;
    if (access(bin, R_OK) != 0)
        return -1;
    s3dir = th_tmpdir();
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    s3rver_pid = fork();
    if (s3rver_pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execlp("node", "node", bin, "-d", s3dir, "-a", "127.0.0.1", "-p", "0", "--configure-bucket",
               "acme-models", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256];
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "listening on 127.0.0.1:");
        if (p) {
            s3rver_port = atoi(p + strlen("listening on 127.0.0.1:"));
            break;
        }
    }
    /* keep draining its log so that it never blocks on a full pipe */
    if (fork() == 0) {
        while (fgets(line, sizeof line, f))
            ;
        _exit(0);
    }
    fclose(f);
    return s3rver_port > 0 ? 0 : -1;
}

Test(s3rver, verify_check_and_plan_download_from_s3, .fini = s3rver_stop, .timeout = 120)
{
    if (s3rver_start() != 0)
        cr_skip_test("s3rver could not be installed with npm (no network?): the s3:// end-to-end "
                     "test did not run");
    char *dir = th_tmpdir();
    size_t n;
    char *m = th_model(&n);
    th_entry good[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "good.tar.gz"), "gzip", "pax", good, 1);
    th_entry nested[] = {{"m/", 'd', 0, NULL, 0, NULL}, {"m/xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "nested.tar.gz"), "gzip", "pax", nested, 2);
    free(m);
    char cmd[4096];
    const char *objs[][2] = {{"good.tar.gz", "good/model.tar.gz"},
                             {"nested.tar.gz", "nested/model.tar.gz"}};
    for (int i = 0; i < 2; i++) {
        snprintf(
            cmd, sizeof cmd,
            "curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H "
            "'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T %s http://127.0.0.1:%d/acme-models/%s",
            th_path(dir, objs[i][0]), s3rver_port, objs[i][1]);
        cr_assert_eq(th_run(cmd, NULL), 0, "upload %s", objs[i][1]);
    }
    char env[512];
    snprintf(env, sizeof env,
             "AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 "
             "AWS_ENDPOINT_URL_S3=http://127.0.0.1:%d",
             s3rver_port);
    char *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s %s verify s3://acme-models/good/model.tar.gz --container 1.7-1 --json", env,
             SMXGB_BIN);
    cr_assert_eq(th_run(cmd, &out), 0, "%s", out);
    json_t *j = th_json(out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "artifact")),
                     "s3://acme-models/good/model.tar.gz");
    json_decref(j);
    free(out);

    snprintf(cmd, sizeof cmd,
             "%s %s check --no-serve --container 1.7-1 s3://acme-models/good/model.tar.gz "
             "s3://acme-models/nested/model.tar.gz s3://acme-models/absent/model.tar.gz 2>&1",
             env, SMXGB_BIN);
    int rc = th_run(cmd, &out);
    cr_assert_eq(rc, 2, "an object that does not exist cannot be read: %s", out);
    cr_assert(strstr(out, "PASS  s3://acme-models/good/model.tar.gz"), "%s", out);
    cr_assert(strstr(out, "FAIL  s3://acme-models/nested/model.tar.gz"), "%s", out);
    cr_assert(strstr(out, "NoSuchKey"), "%s", out);
    free(out);

    /* a key id the server does not know */
    snprintf(
        cmd, sizeof cmd,
        "AWS_ACCESS_KEY_ID=NOBODY AWS_SECRET_ACCESS_KEY=x AWS_ENDPOINT_URL_S3=http://127.0.0.1:%d "
        "%s verify s3://acme-models/good/model.tar.gz 2>&1",
        s3rver_port, SMXGB_BIN);
    cr_assert_eq(th_run(cmd, &out), 2);
    cr_assert(strstr(out, "InvalidAccessKeyId") && strstr(out, "AWS_ACCESS_KEY_ID"), "%s", out);
    free(out);

    /* plan downloads what it is not given */
    snprintf(cmd, sizeof cmd,
             "%s %s plan %s/plan/good_and_broken.json --no-serve --artifact "
             "s3://acme-models/stray/model.tar.gz=%s 2>&1",
             env, SMXGB_BIN, SMXGB_TESTDATA, th_path(dir, "good.tar.gz"));
    rc = th_run(cmd, &out);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "PASS  aws_sagemaker_model.good"), "downloaded from s3rver: %s", out);
    cr_assert(strstr(out, "FAIL  module.team.aws_sagemaker_model.nested"), "%s", out);
    cr_assert(strstr(out, "layout-no-model"), "%s", out);
    free(out);

    /* CompressionType None + S3Prefix: every object under the prefix, downloaded */
    snprintf(cmd, sizeof cmd,
             "curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H "
             "'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T %s "
             "http://127.0.0.1:%d/acme-models/raw-prefix/xgboost-model",
             SMXGB_TESTDATA "/model-1.7.4-binary_logistic.bin", s3rver_port);
    cr_assert_eq(th_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s %s plan %s/plan/uncompressed_prefix.json --no-serve 2>&1", env,
             SMXGB_BIN, SMXGB_TESTDATA);
    rc = th_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "1 object under s3://acme-models/raw-prefix/"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "printf 'a,b\\n' | curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H "
             "'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T - "
             "http://127.0.0.1:%d/acme-models/raw-prefix/features.csv",
             s3rver_port);
    cr_assert_eq(th_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s %s plan %s/plan/uncompressed_prefix.json --no-serve 2>&1", env,
             SMXGB_BIN, SMXGB_TESTDATA);
    rc = th_run(cmd, &out);
    cr_assert_eq(rc, 1, "a stray file under the prefix is loaded as a model too: %s", out);
    cr_assert(strstr(out, "layout-multiple-models"), "%s", out);
    free(out);

    /* the README's CI job, with the plan's models in S3 and GITHUB_ACTIONS set */
    char *readme = th_read(SMXGB_SOURCE_DIR "/README.md", NULL);
    const char *p = strstr(readme, "/opt/smxgb/build/tools/smxgb plan ");
    cr_assert_not_null(p);
    p += strlen("/opt/smxgb/build/tools/smxgb");
    char job[1024];
    snprintf(job, sizeof job, "%s%.*s", SMXGB_BIN, (int)strcspn(p, "\n"), p);
    free(readme);
    snprintf(cmd, sizeof cmd,
             "curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H "
             "'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T %s http://127.0.0.1:%d/acme-models/%s",
             th_path(dir, "nested.tar.gz"), s3rver_port, "stray/model.tar.gz");
    cr_assert_eq(th_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "cd %s && cp %s/plan/good_and_broken.json plan.json && %s GITHUB_ACTIONS=true %s", dir,
             SMXGB_TESTDATA, env, job);
    rc = th_run(cmd, &out);
    cr_assert_eq(rc, 1, "the job fails before terraform apply: %s", out);
    cr_assert(strstr(out, "::error file=plan.json,title=smxgb layout-no-model "
                          "module.team.aws_sagemaker_model.nested"),
              "%s", out);
    cr_assert(strstr(out, "::error file=plan.json,title=smxgb layout-no-model "
                          "aws_sagemaker_model.stray"),
              "%s", out);
    free(out);
    char *xml = th_read(th_path(dir, "smxgb.xml"), NULL);
    cr_assert(strstr(xml, "tests=\"3\" failures=\"2\""), "%s", xml);
    free(xml);

    /* the plan uploads a broken build/model.tar.gz over the good model in S3 now: the upload is
     * what the endpoint gets, and plan fails naming it (it passed on the object in S3 before) */
    snprintf(cmd, sizeof cmd,
             "curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H "
             "'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T %s "
             "http://127.0.0.1:%d/acme-models/churn/model.tar.gz",
             th_path(dir, "good.tar.gz"), s3rver_port);
    cr_assert_eq(th_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "cd %s && mkdir -p build && cp nested.tar.gz build/model.tar.gz && cp "
             "%s/plan/upload_source.json plan.json && %s %s plan plan.json --no-serve 2>&1",
             dir, SMXGB_TESTDATA, env, SMXGB_BIN);
    rc = th_run(cmd, &out);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "layout-no-model") && strstr(out, "build/model.tar.gz") &&
                  strstr(out, "aws_s3_object.model"),
              "%s", out);
    free(out);
    th_rmrf(dir);
    free(dir);
}
