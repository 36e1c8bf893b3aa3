/*
 * HTTP around app.c with libmicrohttpd.
 *
 * A pool of `workers` threads, each with its own epoll loop (MHD's internal thread pool);
 * requests are answered inside the access handler, so a thread decodes, predicts and
 * encodes without handing work over. Per connection, one context is reused across
 * keep-alive requests: the request body and the response body live in its two buffers
 * (the response is queued as a persistent buffer, no copy). Per thread, the decode and
 * predict buffers are reused (a pthread key frees them when the thread ends).
 *
 * POST /invocations with a Content-Length above MAX_CONTENT_LENGTH gets 413 before any byte
 * of the body is read (MHD then closes the connection); a chunked body is counted as it
 * arrives. SIGTERM/SIGINT: stop accepting (quiesce), wait for in-flight requests, stop.
 */
#include "serve_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct srv {
    serve_app *app;
    const serve_server_opts *o;
    uint64_t max_len;
    atomic_long in_flight;
} srv;

typedef struct conn {
    smx_buf body, out;
    int started; /* a request is in progress */
    int too_large;
    int reads_body;
    int status;
    size_t bytes;
    struct timespec t0;
    char method[16];
    char path[256];
} conn;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
    serve_scratch_free(p);
    free(p);
}

static void scratch_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

static serve_scratch *thread_scratch(void)
{
    serve_scratch *s = pthread_getspecific(scratch_key);
    if (!s && (s = calloc(1, sizeof *s)))
        pthread_setspecific(scratch_key, s);
    return s;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)c;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(conn));
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        conn *k = *socket_context;
        smx_buf_free(&k->body);
        smx_buf_free(&k->out);
        free(k);
        *socket_context = NULL;
    }
}

static conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static enum MHD_Result queue(struct MHD_Connection *c, conn *k, const serve_response *rs)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(rs->body_len, (void *)rs->body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    if (rs->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
    if (rs->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, rs->allow);
    MHD_add_response_header(r, MHD_HTTP_HEADER_SERVER, "gunicorn");
    k->status = rs->status;
    k->bytes = rs->body_len;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Content-Length headers that disagree (RFC 9112 6.3: the message cannot be framed). */
typedef struct cl_check {
    const char *first;
    int conflict;
} cl_check;

static enum MHD_Result cl_conflict(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    cl_check *ck = cls;
    if (!key || strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
        return MHD_YES;
    if (!ck->first)
        ck->first = value ? value : "";
    else if (strcmp(ck->first, value ? value : "") != 0)
        ck->conflict = 1;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    srv *sv = cls;
    conn *k = conn_of(c);
    if (!k)
        return MHD_NO;
    if (!*con_cls) {
        *con_cls = k;
        k->started = 1;
        k->too_large = 0;
        k->status = 0;
        k->bytes = 0;
        clock_gettime(CLOCK_MONOTONIC, &k->t0);
        snprintf(k->method, sizeof k->method, "%s", method);
        snprintf(k->path, sizeof k->path, "%s", url);
        atomic_fetch_add(&sv->in_flight, 1);
        smx_buf_reset(&k->body);
        k->reads_body = serve_app_reads_body(method, url);
        cl_check ck = {NULL, 0};
        MHD_get_connection_values(c, MHD_HEADER_KIND, cl_conflict, &ck);
        if (ck.conflict) {
            serve_response rs;
            serve_app_bad_framing(&rs);
            k->too_large = 1; /* the body, if any, is drained unread */
            return queue(c, k, &rs);
        }
        if (k->reads_body) {
            const char *cl =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl) {
                char *e;
                errno = 0;
                unsigned long long n = strtoull(cl, &e, 10);
                if (errno == ERANGE || n > sv->max_len) {
                    serve_response rs;
                    serve_app_too_large(&rs);
                    k->too_large = 1;
                    return queue(c, k, &rs);
                }
                if (n && smx_buf_reserve(&k->body, (size_t)n))
                    return MHD_NO;
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (k->reads_body && !k->too_large) {
            if (k->body.len + *upload_data_size > sv->max_len)
                k->too_large = 1;
            else if (smx_buf_append(&k->body, upload_data, *upload_data_size))
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    serve_response rs;
    if (k->too_large) {
        serve_app_too_large(&rs);
        return queue(c, k, &rs);
    }
    serve_scratch *s = thread_scratch();
    if (!s)
        return MHD_NO;
    serve_request rq = {
        .method = method,
        .path = url,
        .content_type =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
        .body = k->body.data ? k->body.data : "",
        .body_len = k->body.len,
    };
    serve_app_handle(sv->app, &rq, s, &k->out, &rs);
    return queue(c, k, &rs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    srv *sv = cls;
    conn *k = *con_cls;
    if (!k)
        return;
    *con_cls = NULL;
    k->started = 0;
    if (sv->o->log) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long us = (long)(t1.tv_sec - k->t0.tv_sec) * 1000000L + (t1.tv_nsec - k->t0.tv_nsec) / 1000;
        char line[512];
        snprintf(line, sizeof line, "%s %s %d %zu %ldus%s", k->method, k->path, k->status, k->bytes,
                 us, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
        sv->o->log(sv->o->ctx, line);
    }
    atomic_fetch_sub(&sv->in_flight, 1);
}

static int listen_socket(const serve_server_opts *o, int *fd_out, unsigned *port, int *v6,
                         smx_err *err)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%u", o->port);
    int gr = getaddrinfo(o->host, ps, &hints, &ai);
    if (gr)
        return smx_fail(err, SMX_EINVAL, "cannot resolve host '%s': %s", o->host, gai_strerror(gr));
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        freeaddrinfo(ai);
        return smx_fail(err, SMX_EIO, "socket: %s", strerror(errno));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
        int e = errno;
        close(fd);
        freeaddrinfo(ai);
        return smx_fail(err, SMX_EIO, "cannot listen on %s:%u: %s", o->host, o->port, strerror(e));
    }
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return SMX_OK;
}

static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig)
{
    (void)sig;
    int e = errno;
    ssize_t w = write(stop_pipe[1], "x", 1);
    (void)w;
    errno = e;
}

static void restore_signals(const struct sigaction *term, const struct sigaction *intr)
{
    sigaction(SIGTERM, term, NULL);
    sigaction(SIGINT, intr, NULL);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    stop_pipe[0] = stop_pipe[1] = -1;
}

int serve_server_run(serve_app *a, const serve_server_opts *o, smx_err *err)
{
    pthread_once(&scratch_once, scratch_init);
    srv sv = {.app = a, .o = o, .max_len = serve_app_max_content_length(a)};
    atomic_init(&sv.in_flight, 0);
    int fd = -1, v6 = 0;
    unsigned port = 0;
    int rc = listen_socket(o, &fd, &port, &v6, err);
    if (rc)
        return rc;
    /* SIGTERM/SIGINT write to a pipe that this thread waits on: whichever thread the signal
     * lands on (libxgboost and MHD have their own), and even if the parent ignored it */
    if (pipe2(stop_pipe, O_CLOEXEC)) {
        close(fd);
        return smx_fail(err, SMX_EIO, "pipe: %s", strerror(errno));
    }
    struct sigaction sa = {0}, old_term, old_int;
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO |
                     (v6 ? MHD_USE_IPv6 : 0);
    unsigned workers = o->workers ? o->workers : 1;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, 0, NULL, NULL, &on_request, &sv, MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_THREAD_POOL_SIZE, workers, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)(o->timeout ? o->timeout : 60), MHD_OPTION_NOTIFY_COMPLETED,
                         &on_completed, &sv, MHD_OPTION_NOTIFY_CONNECTION, &on_connection, &sv,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_END);
    if (!d) {
        restore_signals(&old_term, &old_int);
        close(fd);
        return smx_fail(err, SMX_ERUNTIME, "libmicrohttpd failed to start on %s:%u", o->host, port);
    }
    if (o->on_listen)
        o->on_listen(o->ctx, port);
    char c;
    while (read(stop_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    /* stop accepting, let in-flight requests finish (at most the timeout), stop */
    MHD_socket lfd = MHD_quiesce_daemon(d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    unsigned waited_ms = 0, limit_ms = (o->timeout ? o->timeout : 60) * 1000u;
    while (atomic_load(&sv.in_flight) > 0 && waited_ms < limit_ms) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited_ms += 5;
    }
    MHD_stop_daemon(d);
    restore_signals(&old_term, &old_int);
    return SMX_OK;
}
