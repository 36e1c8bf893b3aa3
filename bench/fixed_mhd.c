/*
 * The floor serve's 1-row requests are measured against: a libmicrohttpd server with serve's
 * own daemon setup (a pool of WORKERS threads, each with its own epoll loop, turbo mode) that
 * reads each request body and answers every request with the same fixed body, the size of a
 * 1-row prediction, from a persistent buffer.
 *
 *   fixed_mhd PORT WORKERS        prints "listening on PORT" (PORT 0: the one the system
 *                                 picked), serves until SIGTERM or SIGINT
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char body[] = "0.48329365253448486";
static struct MHD_Response *response;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **ctx)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    if (!*ctx) { /* the head: the body, if any, comes in the next calls */
        *ctx = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, response);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fixed_mhd PORT WORKERS\n");
        return 2;
    }
    response =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, "Content-Type", "text/csv; charset=utf-8");
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, (uint16_t)atoi(argv[1]), NULL, NULL, &on_request, NULL,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(argv[2]), MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fixed_mhd: cannot start on port %s\n", argv[1]);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on %u\n", di ? (unsigned)di->port : (unsigned)atoi(argv[1]));
    fflush(stdout);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(response);
    return 0;
}
