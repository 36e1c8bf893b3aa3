/*
 * Downloads that hang, never end, or fail in odd ways, against the scriptable test server
 * (th_server): a body trickled at 1 byte/s and a server that stalls after its headers end
 * within the deadline and say how many bytes of how many arrived; retries share that deadline;
 * an endless body without Content-Length stops at the size cap; redirects, a reply that is not
 * HTTP, a 301 naming its endpoint, and a full disk say what happened; SIGTERM during a
 * download leaves no partial file behind. Library calls (gate_fetch) and the CLI (verify,
 * check, plan with --timeout and --size-cap).
 */
#include "gate/gate.h"
#include "helpers.h"
#include "th_server.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the server does for every request. */
struct script {
    th_response rs;
    char location[256]; /* a redirect's target for the first request, or "" */
    int requests;
};

static void script_handler(const th_request *rq, th_response *rs, void *ctx)
{
    struct script *s = ctx;
    int n = __atomic_add_fetch(&s->requests, 1, __ATOMIC_SEQ_CST);
    (void)rq;
    *rs = s->rs;
    if (s->location[0] && n == 1) {
        static char hdr[320];
        snprintf(hdr, sizeof hdr, "Location: %s\r\n", s->location);
        *rs = (th_response){.status = 302, .extra_headers = hdr};
    }
}

static char body[1000];
static char *dir;

static void setup(void)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    memset(body, 'x', sizeof body);
    dir = th_tmpdir();
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}
TestSuite(fetch_limits, .init = setup, .fini = teardown, .timeout = 60);

static gate_fetch_opts opts(th_server *s)
{
    gate_fetch_opts o;
    gate_fetch_opts_default(&o);
    o.s3_endpoint = th_server_url(s);
    o.backoff = 0.05;
    o.tmpdir = dir;
    return o;
}

/* Entries of dir whose name starts with prefix. */
static int count_entries(const char *d, const char *prefix)
{
    DIR *dd = opendir(d);
    int n = 0;
    struct dirent *e;
    while (dd && (e = readdir(dd)))
        n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (dd)
        closedir(dd);
    return n;
}

Test(fetch_limits, a_trickle_ends_at_the_deadline_with_the_bytes_received)
{
    struct script sc = {.rs = {.status = 200, .body = body, .body_len = 1000, .bytes_per_s = 1}};
    th_server *s = th_server_start(script_handler, &sc);
    gate_fetch_opts o = opts(s);
    o.deadline = 2;
    char *local = NULL;
    smx_err err = {0};
    double t0 = smx_now();
    cr_assert_eq(gate_fetch("s3://b/k.tar.gz", &o, &local, NULL, &err), SMX_EIO);
    double took = smx_now() - t0;
    cr_assert(took >= 1.8 && took < 4.5, "ends in about the deadline: %.1f s", took);
    cr_assert(strstr(err.msg, "received") && strstr(err.msg, "of 1000 bytes") &&
                  strstr(err.msg, "2 s"),
              "%s", err.msg);
    cr_assert_eq(count_entries(dir, "smxgb-src-"), 0, "no partial download is left");
    th_server_stop(s);
}

Test(fetch_limits, a_stall_after_the_headers_ends_at_the_deadline)
{
    struct script sc = {.rs = {.status = 200, .body = body, .body_len = 1000, .stall = 600}};
    th_server *s = th_server_start(script_handler, &sc);
    gate_fetch_opts o = opts(s);
    o.deadline = 2;
    char *local = NULL;
    gate_fetch_info info;
    smx_err err = {0};
    double t0 = smx_now();
    cr_assert_eq(gate_fetch("s3://b/k.tar.gz", &o, &local, &info, &err), SMX_EIO);
    double took = smx_now() - t0;
    cr_assert(took >= 1.8 && took < 4.5, "%.1f s", took);
    cr_assert(strstr(err.msg, "received 0 of 1000 bytes"), "%s", err.msg);
    th_server_stop(s);
}

Test(fetch_limits, retries_share_the_deadline)
{
    /* each attempt stalls until the low-speed limit gives up after 1 s; 4 retries would take
     * 5 s and more, the deadline allows 2.5 */
    struct script sc = {.rs = {.status = 200, .body = body, .body_len = 1000, .stall = 600}};
    th_server *s = th_server_start(script_handler, &sc);
    gate_fetch_opts o = opts(s);
    o.low_speed_time = 1;
    o.deadline = 2.5;
    char *local = NULL;
    gate_fetch_info info;
    smx_err err = {0};
    double t0 = smx_now();
    cr_assert_eq(gate_fetch("s3://b/k.tar.gz", &o, &local, &info, &err), SMX_EIO);
    double took = smx_now() - t0;
    cr_assert(took < 4, "the retries stop at the deadline: %.1f s, %d attempts", took,
              info.attempts);
    cr_assert_geq(info.attempts, 2, "a stall is retried while time is left");
    cr_assert(strstr(err.msg, "below 1024 bytes/s") && strstr(err.msg, "received 0 of 1000"), "%s",
              err.msg);
    cr_assert(strstr(err.msg, "deadline"), "%s", err.msg);
    th_server_stop(s);
}

Test(fetch_limits, an_endless_body_without_length_stops_at_the_cap)
{
    static char chunk[65536];
    memset(chunk, 'y', sizeof chunk);
    struct script sc = {
        .rs = {
            .status = 200, .body = chunk, .body_len = sizeof chunk, .no_length = 1, .endless = 1}};
    th_server *s = th_server_start(script_handler, &sc);
    gate_fetch_opts o = opts(s);
    o.max_unsized = 1 << 20;
    char *local = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_fetch("s3://b/k.tar.gz", &o, &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "1048576") && strstr(err.msg, "Content-Length"), "%s", err.msg);
    cr_assert_eq(sc.requests, 1, "not retried");
    cr_assert_eq(count_entries(dir, "smxgb-src-"), 0, "the partial file is removed");
    th_server_stop(s);

    /* a body without Content-Length under the cap is fine */
    struct script small = {.rs = {.status = 200, .body = body, .body_len = 1000, .no_length = 1}};
    s = th_server_start(script_handler, &small);
    o = opts(s);
    gate_fetch_info info;
    cr_assert_eq(gate_fetch("s3://b/k.tar.gz", &o, &local, &info, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(info.bytes, 1000);
    unlink(local);
    free(local);
    gate_fetch_info_free(&info);
    th_server_stop(s);
}

Test(fetch_limits, redirects_say_where_they_went)
{
    /* http -> http for an http:// source: followed */
    struct script sc = {.rs = {.status = 200, .body = body, .body_len = 1000}};
    th_server *s = th_server_start(script_handler, &sc);
    snprintf(sc.location, sizeof sc.location, "%s/moved/model.tar.gz", th_server_url(s));
    char url[256];
    snprintf(url, sizeof url, "%s/model.tar.gz", th_server_url(s));
    gate_fetch_opts o = opts(s);
    char *local = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_fetch(url, &o, &local, NULL, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(sc.requests, 2);
    unlink(local);
    free(local);

    /* to another protocol: refused, saying so */
    struct script ftp = {.rs = {.status = 200}, .location = "ftp://127.0.0.1/model.tar.gz"};
    th_server *s2 = th_server_start(script_handler, &ftp);
    snprintf(url, sizeof url, "%s/model.tar.gz", th_server_url(s2));
    cr_assert_eq(gate_fetch(url, &o, &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "redirected to ftp://127.0.0.1/model.tar.gz"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, "Unsupported protocol"), "%s", err.msg);
    th_server_stop(s);
    th_server_stop(s2);
}

Test(fetch_limits, a_reply_that_is_not_http_says_so)
{
    static const char ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
    struct script sc = {.rs = {.raw = ssh, .raw_len = sizeof ssh - 1}};
    th_server *s = th_server_start(script_handler, &sc);
    char url[256];
    snprintf(url, sizeof url, "%s/model.tar.gz", th_server_url(s));
    gate_fetch_opts o = opts(s);
    char *local = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_fetch(url, &o, &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "not HTTP") && strstr(err.msg, "127.0.0.1"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, "Unsupported protocol"), "%s", err.msg);
    th_server_stop(s);
}

Test(fetch_limits, a_301_names_the_endpoint_and_region_from_its_body)
{
    static const char moved[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code>"
        "<Message>The bucket you are attempting to access must be addressed using the specified "
        "endpoint. Please send all future requests to this endpoint.</Message>"
        "<Endpoint>acme-models.s3.eu-west-1.amazonaws.com</Endpoint>"
        "<Bucket>acme-models</Bucket><RequestId>0</RequestId></Error>";
    struct script sc = {.rs = {.status = 301, .body = moved, .body_len = sizeof moved - 1}};
    th_server *s = th_server_start(script_handler, &sc);
    gate_fetch_opts o = opts(s);
    char *local = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_fetch("s3://acme-models/k.tar.gz", &o, &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "acme-models.s3.eu-west-1.amazonaws.com") &&
                  strstr(err.msg, "AWS_REGION=eu-west-1"),
              "%s", err.msg);
    th_server_stop(s);

    /* a 307 with the region header and no code: no stray spacing */
    struct script tmp = {
        .rs = {.status = 307, .extra_headers = "x-amz-bucket-region: ap-south-1\r\n"}};
    s = th_server_start(script_handler, &tmp);
    o = opts(s);
    cr_assert_eq(gate_fetch("s3://acme-models/k.tar.gz", &o, &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "HTTP 307: the bucket is in region ap-south-1"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, " :"), "%s", err.msg);
    th_server_stop(s);
}

Test(fetch_limits, a_full_disk_names_the_error_and_the_file)
{
    static char big[65536];
    struct script sc = {.rs = {.status = 200, .body = big, .body_len = sizeof big}};
    th_server *s = th_server_start(script_handler, &sc);
    gate_fetch_opts o = opts(s);
    /* the file system refuses more than 8 KiB (EFBIG: the same path as ENOSPC) */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {8192, 8192};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    char *local = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_fetch("s3://b/k.tar.gz", &o, &local, NULL, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "File too large") && strstr(err.msg, dir) &&
                  strstr(err.msg, "smxgb-src-") && strstr(err.msg, "of 65536 bytes"),
              "names the error, the file and how far it got: %s", err.msg);
    cr_assert_null(strstr(err.msg, "Write error"), "%s", err.msg);
    cr_assert_eq(sc.requests, 1, "not retried");
    cr_assert_eq(count_entries(dir, "smxgb-src-"), 0);
    th_server_stop(s);
}

/* ---- the CLI -------------------------------------------------------------------------------- */

Test(fetch_limits, sigterm_during_a_download_leaves_no_partial_file)
{
    struct script sc = {.rs = {.status = 200, .body = body, .body_len = 1000, .bytes_per_s = 50}};
    th_server *s = th_server_start(script_handler, &sc);
    char url[256];
    snprintf(url, sizeof url, "%s/model.tar.gz", th_server_url(s));
    pid_t pid = fork();
    if (pid == 0) {
        setenv("TMPDIR", dir, 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(SMXGB_BIN, "smxgb", "verify", url, (char *)NULL);
        _exit(127);
    }
    int seen = 0;
    for (int i = 0; i < 100 && !seen; i++) {
        seen = count_entries(dir, "smxgb-src-");
        usleep(50000);
    }
    cr_assert(seen, "the download started");
    usleep(200000); /* some bytes are in the file */
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "dies of the signal (status %d)", st);
    cr_assert_eq(count_entries(dir, "smxgb-src-"), 0, "the partial download was removed");
    th_server_stop(s);
}

Test(fetch_limits, timeout_and_size_cap_on_verify_check_and_plan)
{
    struct script sc = {.rs = {.status = 200, .body = body, .body_len = 1000, .bytes_per_s = 1}};
    th_server *s = th_server_start(script_handler, &sc);
    char *out = NULL;
    double t0 = smx_now();
    int rc = th_smxgb(&out, "verify %s/model.tar.gz --timeout 2 2>&1", th_server_url(s));
    double took = smx_now() - t0;
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(took < 5, "%.1f s", took);
    cr_assert(strstr(out, "of 1000 bytes"), "%s", out);
    free(out);
    rc = th_smxgb(&out, "check --no-serve --timeout 2 %s/model.tar.gz 2>&1", th_server_url(s));
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "of 1000 bytes"), "%s", out);
    free(out);
    rc = th_smxgb(&out, "plan %s/plan/one_model.json --no-serve --timeout 2 --s3-endpoint %s 2>&1",
                  SMXGB_TESTDATA, th_server_url(s));
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "of 1000 bytes"), "%s", out);
    free(out);
    th_server_stop(s);

    static char chunk[65536];
    struct script endless = {
        .rs = {
            .status = 200, .body = chunk, .body_len = sizeof chunk, .no_length = 1, .endless = 1}};
    s = th_server_start(script_handler, &endless);
    rc = th_smxgb(&out, "verify %s/model.tar.gz --size-cap 200000 2>&1", th_server_url(s));
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "200000") && strstr(out, "--size-cap"), "%s", out);
    free(out);
    th_server_stop(s);
}
