/*
 * The limits `smxgb serve` is measured against (bench/serve.sh):
 *
 *   serve_inproc loop MODEL_DIR PAYLOAD SECONDS THREADS
 *       decode + predict + encode of one text/csv payload in a loop, through the same request
 *       handler the server uses (serve_app_handle), without HTTP: requests/s and the p50/p99
 *       of one iteration, THREADS threads sharing the booster.
 *   serve_inproc cold SMXGB ARTIFACT RUNS
 *       cold start: from fork+exec of `smxgb serve ARTIFACT` to the first 200 from /ping
 *       (polled every 100 us), median and minimum over RUNS starts.
 */
#include "serve/serve.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct job {
    serve_app *app;
    const char *body;
    size_t len;
    double seconds;
    double *lat;
    size_t n, cap;
} job;

static void *loop(void *p)
{
    job *j = p;
    serve_scratch s = {0};
    smx_buf out = SMX_BUF_INIT;
    serve_request rq = {"POST", "/invocations", "text/csv", NULL, j->body, j->len};
    double end = now() + j->seconds;
    for (;;) {
        double t0 = now();
        if (t0 > end)
            break;
        serve_response rs;
        serve_app_handle(j->app, &rq, &s, &out, &rs);
        if (rs.status != 200) {
            fprintf(stderr, "status %d: %.*s\n", rs.status, (int)rs.body_len, rs.body);
            exit(1);
        }
        double t1 = now();
        if (j->n == j->cap) {
            j->cap = j->cap ? j->cap * 2 : 1 << 16;
            j->lat = realloc(j->lat, j->cap * sizeof *j->lat);
        }
        j->lat[j->n++] = t1 - t0;
    }
    serve_scratch_free(&s);
    smx_buf_free(&out);
    return NULL;
}

static int cmd_loop(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: serve_inproc loop MODEL_DIR PAYLOAD SECONDS THREADS\n");
        return 2;
    }
    smx_err err = {0};
    serve_model *m;
    serve_model_opts mo = {0};
    if (serve_model_load(argv[2], &mo, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    serve_app *app;
    serve_app_opts ao = {0};
    if (serve_app_new(&ao, m, NULL, &app, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    smx_buf body = SMX_BUF_INIT;
    if (smx_buf_read_file(&body, argv[3], 1 << 28, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double secs = atof(argv[4]);
    int nt = atoi(argv[5]);
    job *jobs = calloc((size_t)nt, sizeof *jobs);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    for (int i = 0; i < nt; i++) {
        jobs[i] = (job){app, body.data, body.len, secs, NULL, 0, 0};
        pthread_create(&th[i], NULL, loop, &jobs[i]);
    }
    size_t total = 0;
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i], NULL);
        total += jobs[i].n;
    }
    double *all = malloc(total * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < nt; i++) {
        memcpy(all + k, jobs[i].lat, jobs[i].n * sizeof *all);
        k += jobs[i].n;
        free(jobs[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_d);
    printf("inproc threads=%d req/s=%.0f p50_us=%.1f p99_us=%.1f\n", nt, (double)total / secs,
           all[total / 2] * 1e6, all[(size_t)((double)total * 0.99)] * 1e6);
    free(all);
    free(jobs);
    free(th);
    smx_buf_free(&body);
    serve_app_free(app);
    serve_model_free(m);
    return 0;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &sl);
    close(fd);
    return ntohs(a.sin_port);
}

static int ping(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        const char *rq = "GET /ping HTTP/1.0\r\n\r\n";
        char buf[64] = {0};
        if (write(fd, rq, strlen(rq)) > 0 && read(fd, buf, sizeof buf - 1) > 12)
            ok = !strncmp(buf + 9, "200", 3);
    }
    close(fd);
    return ok;
}

static int cmd_cold(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: serve_inproc cold SMXGB ARTIFACT RUNS\n");
        return 2;
    }
    int runs = atoi(argv[4]);
    double *t = calloc((size_t)runs, sizeof *t);
    for (int r = 0; r < runs; r++) {
        int port = free_port();
        char ps[16];
        snprintf(ps, sizeof ps, "%d", port);
        double t0 = now();
        pid_t pid = fork();
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stderr))
                _exit(126);
            execl(argv[2], argv[2], "serve", argv[3], "--port", ps, "--quiet", (char *)NULL);
            _exit(127);
        }
        while (!ping(port)) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                fprintf(stderr, "smxgb serve exited before answering /ping\n");
                return 1;
            }
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
        t[r] = now() - t0;
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_d);
    printf("cold_start runs=%d median_ms=%.1f min_ms=%.1f max_ms=%.1f\n", runs, t[runs / 2] * 1e3,
           t[0] * 1e3, t[runs - 1] * 1e3);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "loop"))
        return cmd_loop(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "cold"))
        return cmd_cold(argc, argv);
    fprintf(stderr, "usage: serve_inproc loop|cold ...\n");
    return 2;
}
