/*
 * `smxgb serve` under abuse, end to end: the binary on an ephemeral port, spoken to over raw
 * sockets so that a test can hold connections half-way through a request head, keep them idle
 * after a large request, or signal the server with a request in flight.
 *
 *   - a request head that trickles in a header line at a time is closed at its deadline (the
 *     idle timeout alone never fires: every line is activity), and /ping keeps answering;
 *   - with every connection slot held by such heads, /ping is still answered at once;
 *   - keep-alive connections that each sent a multi-megabyte body cost no memory once answered;
 *   - SIGHUP, SIGTERM and SIGINT stop serve gracefully: an in-flight request completes, the
 *     scratch directory the artifact was extracted into is removed, the exit status is 0.
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REG        SMXGB_TESTDATA "/serve/models/reg"
#define ROW        "0.1,0.2,0.3,0.4\n"
#define ROW_ANSWER "-0.5896340608596802\n"

static char *tmp;
static pid_t running; /* killed at teardown if a failed assertion left it running */

static void setup(void)
{
    tmp = th_tmpdir();
    signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
    if (running > 0 && kill(running, SIGKILL) == 0)
        waitpid(running, NULL, 0);
    th_rmrf(tmp);
    free(tmp);
}
TestSuite(serve_abuse, .init = setup, .fini = teardown, .timeout = 300);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the server process ------------------------------------------------------------------ */

typedef struct srv {
    pid_t pid;
    int port;
    char log[4096];
} srv;

/* `[env] smxgb serve <args> --port 0`, waiting until it listens. */
static void srv_start(srv *s, const char *env, const char *args)
{
    static int n;
    snprintf(s->log, sizeof s->log, "%s/serve-%d.log", tmp, n++);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s exec %s serve %s --port 0 2>'%s'", env ? env : "", SMXGB_BIN,
             args, s->log);
    s->pid = fork();
    cr_assert_geq(s->pid, 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a test that timed out */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    running = s->pid;
    for (int i = 0; i < 3000; i++) {
        char *t = access(s->log, R_OK) == 0 ? th_read(s->log, NULL) : NULL;
        const char *p = t ? strstr(t, "listening on http://") : NULL;
        if (p && strchr(p, '(')) {
            s->port = atoi(strchr(p + 20, ':') + 1);
            free(t);
            return;
        }
        free(t);
        cr_assert_eq(waitpid(s->pid, NULL, WNOHANG), 0, "serve exited at start: %s", cmd);
        sleep_ms(10);
    }
    cr_assert_fail("serve did not start: %s", cmd);
}

/* Wait for the server to exit (at most 30 s); its exit status, or 128 + the signal. */
static int srv_wait(srv *s)
{
    int st = 0;
    for (int i = 0; i < 3000 && waitpid(s->pid, &st, WNOHANG) == 0; i++)
        sleep_ms(10);
    cr_assert(WIFEXITED(st) || WIFSIGNALED(st), "serve did not exit");
    running = 0;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code) {
        char *log = th_read(s->log, NULL);
        cr_log_error("serve exited with status %d:\n%s", code, log);
        free(log);
    }
    return code;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    fclose(f);
    return kb;
}

/* ---- raw HTTP ---------------------------------------------------------------------------- */

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* 0, or -1 when the peer has closed the connection */
static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* recv with a deadline: bytes read, 0 at EOF or reset, -1 at the deadline */
static ssize_t recv_until(int fd, void *p, size_t n, double deadline)
{
    for (;;) {
        int ms = (int)((deadline - now_s()) * 1000);
        if (ms <= 0)
            return -1;
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -1;
        ssize_t got = recv(fd, p, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        return got < 0 ? 0 : got;
    }
}

/* Read one Content-Length framed response within `seconds`; its status, or -1 (body empty). */
static int read_response(int fd, double seconds, smx_buf *body)
{
    if (body) {
        smx_buf_reset(body);
        smx_buf_append(body, "", 0);
    }
    double deadline = now_s() + seconds;
    smx_buf b = SMX_BUF_INIT;
    char chunk[65536];
    char *end = NULL;
    while (!end) {
        ssize_t got = recv_until(fd, chunk, sizeof chunk, deadline);
        if (got <= 0)
            break;
        smx_buf_append(&b, chunk, (size_t)got); /* NUL-terminated */
        end = strstr(b.data, "\r\n\r\n");
    }
    int status = -1;
    if (end) {
        size_t head = (size_t)(end + 4 - b.data), want = 0;
        const char *cl = strcasestr(b.data, "\r\nContent-Length: ");
        if (cl && cl < end)
            want = (size_t)atol(cl + 18);
        while (b.len - head < want) {
            ssize_t got = recv_until(fd, chunk, sizeof chunk, deadline);
            if (got <= 0)
                break;
            smx_buf_append(&b, chunk, (size_t)got);
        }
        if (b.len - head >= want) {
            status = atoi(b.data + 9);
            if (body)
                smx_buf_append(body, b.data + head, want);
        }
    }
    smx_buf_free(&b);
    return status;
}

/* GET /ping on a new connection: milliseconds to the 200, or -1 (no 200 within `seconds`). */
static double ping_ms(int port, double seconds)
{
    double t0 = now_s();
    int fd = tcp_connect(port);
    const char *rq = "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int st = send_all(fd, rq, strlen(rq)) ? -1 : read_response(fd, seconds, NULL);
    close(fd);
    return st == 200 ? (now_s() - t0) * 1000 : -1;
}

/* Has the server closed fd? (Waits at most ms for the close.) */
static int closed_by_server(int fd, int ms)
{
    char c;
    return recv_until(fd, &c, 1, now_s() + ms / 1000.0) == 0;
}

static void post_head(smx_buf *b, size_t len)
{
    smx_buf_reset(b);
    smx_buf_printf(b,
                   "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   len);
}

/* ---- the request head has a deadline ----------------------------------------------------- */

/* A header line every 250 ms: activity that resets any idle timeout. With the request
 * timeout at 2 s the head deadline is 2 s too (the default is 20 s, never longer than the
 * request timeout); before, such a connection stayed open for as long as the lines came. */
Test(serve_abuse, a_trickling_request_head_is_closed_at_its_deadline)
{
    srv s;
    srv_start(&s, NULL, "-q --env SAGEMAKER_MODEL_SERVER_TIMEOUT=2 " REG);
    int fd = tcp_connect(s.port);
    double t0 = now_s(), closed_after = -1, worst_ping = 0;
    const char *line = "POST /invocations HTTP/1.1\r\nHost: x\r\n";
    cr_assert_eq(send_all(fd, line, strlen(line)), 0);
    for (int i = 0; i < 24 && closed_after < 0; i++) {
        char h[64];
        snprintf(h, sizeof h, "X-Line-%d: %d\r\n", i, i);
        if (send_all(fd, h, strlen(h)) || closed_by_server(fd, 250))
            closed_after = now_s() - t0;
        double p = ping_ms(s.port, 5);
        cr_expect_geq(p, 0, "/ping did not answer while a head was trickling in");
        worst_ping = p > worst_ping ? p : worst_ping;
    }
    close(fd);
    if (closed_after > 0)
        cr_expect_geq(closed_after, 1.9, "closed after %.2f s, before its 2 s deadline",
                      closed_after);
    cr_expect(
        closed_after > 0 &&
                closed_after<
                    4.5, "a trickling request head was not closed at its 2 s deadline (%s %.2f s)",
                    closed_after> 0
            ? "closed after"
            : "still open after",
        closed_after > 0 ? closed_after : now_s() - t0);
    cr_expect_lt(worst_ping, 1000, "slowest /ping %.0f ms", worst_ping);
    /* an ordinary request on a fresh connection is unaffected */
    fd = tcp_connect(s.port);
    smx_buf rq = SMX_BUF_INIT, body = SMX_BUF_INIT;
    post_head(&rq, strlen(ROW));
    smx_buf_puts(&rq, ROW);
    cr_assert_eq(send_all(fd, rq.data, rq.len), 0);
    cr_expect_eq(read_response(fd, 10, &body), 200);
    cr_expect_str_eq(body.data, ROW_ANSWER);
    close(fd);
    smx_buf_free(&rq);
    smx_buf_free(&body);
    kill(s.pid, SIGTERM);
    cr_expect_eq(srv_wait(&s), 0);
}

/* --header-timeout counts from the previous answer on a keep-alive connection too: an idle
 * connection is closed when its next request head has not come in time (as nginx's
 * keepalive_timeout does), a prompt one is served. */
Test(serve_abuse, an_idle_keep_alive_connection_is_closed_at_the_header_timeout)
{
    srv s;
    srv_start(&s, NULL, "-q --header-timeout 1 " REG);
    const char *rq = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = tcp_connect(s.port);
    cr_assert_eq(send_all(fd, rq, strlen(rq)), 0);
    cr_assert_eq(read_response(fd, 5, NULL), 200);
    sleep_ms(300); /* well within the deadline: the connection is still served */
    cr_assert_eq(send_all(fd, rq, strlen(rq)), 0);
    cr_assert_eq(read_response(fd, 5, NULL), 200);
    double t0 = now_s();
    cr_expect(closed_by_server(fd, 4000), "an idle connection outlived --header-timeout 1");
    double after = now_s() - t0;
    cr_expect(after > 0.9 && after < 3, "closed %.2f s after its last answer", after);
    close(fd);
    kill(s.pid, SIGTERM);
    cr_expect_eq(srv_wait(&s), 0);
}

/* Every one of the 4096 connection slots (the default cap) held by a request head that never
 * ends, and more waiting in the listen queue: /ping is still answered at once, because the
 * oldest unfinished heads give way to new connections. Before, /ping waited in the listen
 * queue until a slot freed. */
Test(serve_abuse, ping_answers_with_every_connection_slot_held)
{
    enum { HOLD = 4096 + 64 };
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < HOLD + 256 && rl.rlim_max >= HOLD + 256) {
        rl.rlim_cur = HOLD + 256;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < HOLD + 256)
        cr_skip_test("needs %d open files (ulimit -n is %lu)", HOLD + 256,
                     (unsigned long)rl.rlim_cur);
    srv s;
    srv_start(&s, NULL, "-q " REG);
    int *fds = malloc(HOLD * sizeof *fds);
    const char *head = "GET /ping HTTP/1.1\r\nHost: x\r\n"; /* no blank line: never ends */
    for (int i = 0; i < HOLD; i++) {
        fds[i] = tcp_connect(s.port);
        send_all(fds[i], head, strlen(head));
    }
    sleep_ms(500);
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        double p = ping_ms(s.port, 3);
        cr_expect_geq(p, 0, "/ping got no answer with every connection slot held");
        worst = p > worst ? p : worst;
    }
    cr_expect_lt(worst, 1000, "slowest /ping %.0f ms with every connection slot held", worst);
    /* the connections that gave way are the oldest ones */
    cr_expect(closed_by_server(fds[0], 1000), "the oldest unfinished head is still open");
    cr_expect(!closed_by_server(fds[HOLD - 1], 0), "the newest unfinished head was closed");
    for (int i = 0; i < HOLD; i++)
        close(fds[i]);
    free(fds);
    kill(s.pid, SIGTERM);
    cr_expect_eq(srv_wait(&s), 0);
}

/* ---- idle connections cost no request memory --------------------------------------------- */

Test(serve_abuse, idle_connections_hold_no_request_memory)
{
    enum { CONNS = 40, ROWS = 110000 };
    const char *row = "0.123456789,0.223456789,0.323456789,0.423456789\n"; /* 48 bytes */
    smx_buf csv = SMX_BUF_INIT, rq = SMX_BUF_INIT, body = SMX_BUF_INIT;
    for (int i = 0; i < ROWS; i++)
        smx_buf_puts(&csv, row);
    srv s;
    /* a head deadline far beyond the test: the connections stay open however slow the machine */
    srv_start(&s, NULL, "-q --header-timeout 600 " REG);
    long rss0 = rss_kb(s.pid);
    int fds[CONNS];
    post_head(&rq, csv.len);
    for (int i = 0; i < CONNS; i++) {
        fds[i] = tcp_connect(s.port);
        cr_assert_eq(send_all(fds[i], rq.data, rq.len), 0);
        cr_assert_eq(send_all(fds[i], csv.data, csv.len), 0);
        cr_assert_eq(read_response(fds[i], 30, &body), 200, "request %d", i);
        size_t lines = 0;
        for (size_t k = 0; k < body.len; k++)
            lines += body.data[k] == '\n';
        cr_assert_eq(lines, (size_t)ROWS, "request %d: %zu rows answered", i, lines);
    }
    long rss = rss_kb(s.pid);
    cr_log_info("serve RSS: %ld KB at start, %ld KB with %d idle connections that each sent "
                "%.1f MB",
                rss0, rss, CONNS, csv.len / 1e6);
#ifndef __SANITIZE_ADDRESS__ /* AddressSanitizer keeps freed memory in quarantine */
    cr_expect_lt(rss, 100 * 1024,
                 "%d idle keep-alive connections that each sent %.1f MB hold %ld MB (at start "
                 "%ld MB)",
                 CONNS, csv.len / 1e6, rss / 1024, rss0 / 1024);
#endif
    /* the connections stay usable */
    post_head(&rq, strlen(ROW));
    smx_buf_puts(&rq, ROW);
    for (int i = 0; i < CONNS; i += 7) {
        cr_assert_eq(send_all(fds[i], rq.data, rq.len), 0);
        cr_expect_eq(read_response(fds[i], 10, &body), 200);
        cr_expect_str_eq(body.data, ROW_ANSWER);
    }
    for (int i = 0; i < CONNS; i++)
        close(fds[i]);
    smx_buf_free(&csv);
    smx_buf_free(&rq);
    smx_buf_free(&body);
    kill(s.pid, SIGTERM);
    cr_expect_eq(srv_wait(&s), 0);
}

/* ---- signals ----------------------------------------------------------------------------- */

/* An artifact and an empty TMPDIR that belongs to the test; the env prefix in env. */
static const char *artifact_and_tmpdir(char *env, size_t cap, char **scratch)
{
    size_t n;
    char *m = th_read(th_path(REG, "xgboost-model"), &n);
    th_entry e[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    static char art[4096];
    snprintf(art, sizeof art, "%s", th_path(tmp, "model.tar.gz"));
    th_write_archive(art, "gzip", "gnutar", e, 1);
    free(m);
    *scratch = strdup(th_path(tmp, "scratch"));
    mkdir(*scratch, 0700);
    snprintf(env, cap, "TMPDIR='%s'", *scratch);
    return art;
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "%s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* gunicorn takes SIGHUP as a graceful restart of its workers; serve has no workers to
 * restart, so it takes it as the graceful stop. Before, SIGHUP killed serve (status 129) with
 * the request cut and the extracted model left behind. */
Test(serve_abuse, sighup_mid_request_finishes_it_removes_the_scratch_and_exits_0)
{
    char env[4200], args[4200], *scratch;
    const char *art = artifact_and_tmpdir(env, sizeof env, &scratch);
    snprintf(args, sizeof args, "-q '%s'", art);
    srv s;
    srv_start(&s, env, args);
    cr_expect_eq(entries(scratch), 1, "the artifact is extracted into TMPDIR");
    enum { ROWS = 20000 };
    smx_buf rq = SMX_BUF_INIT, body = SMX_BUF_INIT;
    post_head(&rq, ROWS * strlen(ROW));
    size_t head = rq.len;
    for (int i = 0; i < ROWS; i++)
        smx_buf_puts(&rq, ROW);
    size_t half = head + (rq.len - head) / 2;
    int fd = tcp_connect(s.port);
    cr_assert_eq(send_all(fd, rq.data, half), 0);
    sleep_ms(200);
    kill(s.pid, SIGHUP);
    sleep_ms(300);
    cr_expect_lt(ping_ms(s.port, 2), 0, "a connection that comes after SIGHUP is not served");
    cr_expect_eq(send_all(fd, rq.data + half, rq.len - half), 0, "the request was cut");
    cr_expect_eq(read_response(fd, 20, &body), 200, "no complete answer after SIGHUP");
    cr_expect_eq(body.len, (size_t)ROWS * strlen(ROW_ANSWER));
    close(fd);
    cr_expect_eq(srv_wait(&s), 0);
    cr_expect_eq(entries(scratch), 0, "the extracted model is left behind in TMPDIR");
    smx_buf_free(&rq);
    smx_buf_free(&body);
    free(scratch);
}

Test(serve_abuse, sigterm_and_sigint_remove_the_scratch_and_exit_0)
{
    char env[4200], args[4200], *scratch;
    const char *art = artifact_and_tmpdir(env, sizeof env, &scratch);
    snprintf(args, sizeof args, "-q '%s'", art);
    int sigs[] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        srv s;
        srv_start(&s, env, args);
        cr_expect_eq(entries(scratch), 1);
        cr_expect_geq(ping_ms(s.port, 5), 0);
        kill(s.pid, sigs[i]);
        cr_expect_eq(srv_wait(&s), 0, "%s", strsignal(sigs[i]));
        cr_expect_eq(entries(scratch), 0, "%s: the extracted model is left behind",
                     strsignal(sigs[i]));
    }
    free(scratch);
}

/* A stop asked for while the model loads is kept until the load is done: serve then exits 0
 * without listening, and removes the extracted model. Before, the signal's default action
 * killed serve in the middle of the load, with the scratch directory left behind. */
Test(serve_abuse, sigterm_while_the_model_loads_removes_the_scratch_and_exits_0)
{
    char env[4400], args[4200], *scratch;
    const char *art = artifact_and_tmpdir(env, sizeof env, &scratch);
    size_t n = strlen(env);
    snprintf(env + n, sizeof env - n, " SMXGB_XGBOOST_LIB='%s' FAKE_XGB_MODE=slow",
             SMXGB_FAKE_XGBOOST);
    /* 1.0-1 loads lazily: a model that does not load still gets served */
    snprintf(args, sizeof args, "-q --container 1.0-1 '%s' --port 0", art);
    srv s = {0};
    snprintf(s.log, sizeof s.log, "%s/load.log", tmp);
    smx_buf cmd = SMX_BUF_INIT;
    smx_buf_printf(&cmd, "%s exec %s serve %s 2>'%s'", env, SMXGB_BIN, args, s.log);
    s.pid = fork();
    cr_assert_geq(s.pid, 0);
    if (s.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl("/bin/sh", "sh", "-c", cmd.data, (char *)NULL);
        _exit(127);
    }
    smx_buf_free(&cmd);
    running = s.pid;
    for (int i = 0; i < 500 && entries(scratch) == 0; i++)
        sleep_ms(2); /* extracted: the (one second) load follows */
    sleep_ms(100);
    kill(s.pid, SIGTERM);
    cr_expect_eq(srv_wait(&s), 0);
    char *text = th_read(s.log, NULL);
    cr_expect(strstr(text, "listening on") == NULL, "served after SIGTERM: %s", text);
    free(text);
    cr_expect_eq(entries(scratch), 0, "the extracted model is left behind in TMPDIR");
    free(scratch);
}

/* Under nohup (SIGHUP ignored by the parent) a closed terminal does not stop serve. */
Test(serve_abuse, sighup_stays_ignored_under_nohup)
{
    srv s;
    srv_start(&s, "trap '' HUP;", "-q " REG);
    kill(s.pid, SIGHUP);
    sleep_ms(200);
    cr_expect_geq(ping_ms(s.port, 5), 0, "serve stopped on a SIGHUP it was told to ignore");
    kill(s.pid, SIGTERM);
    cr_expect_eq(srv_wait(&s), 0);
}
