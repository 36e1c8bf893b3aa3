/*
 * HTTP around app.c with libmicrohttpd.
 *
 * A pool of `workers` threads, each with its own epoll loop (MHD's internal thread pool);
 * requests are answered inside the access handler, so a thread decodes, predicts and
 * encodes without handing work over. Per thread, the decode and predict buffers are reused (a
 * pthread key frees them when the thread ends).
 *
 * Memory per connection: one context, reused across keep-alive requests, holds the request
 * body and the response body (queued as a persistent buffer, no copy). Bodies up to
 * KEEP_BYTES stay with the connection for its next request, so the small-request path
 * allocates nothing. A larger request body is mapped (mmap) and, once the answer has been
 * sent, handed to its worker thread as that thread's one spare mapping (the next large body
 * on the thread reuses its pages instead of faulting in fresh ones) or unmapped; a larger
 * response body is freed. An idle connection therefore costs a few kilobytes whatever it
 * sent before: what large bodies leave behind is bounded per worker thread (one spare, the
 * size of the largest body that thread received), not per connection.
 *
 * Slow clients (conns.c has the design): a connection must complete its request head within
 * head_timeout seconds of its accept or of its previous answer (default 20 s, never more than
 * the request timeout; the idle timeout alone restarts with every byte), and when the
 * connection cap is nearly reached the connections that have waited longest for a request
 * head are closed to keep a reserve of free slots, so /ping is answered under a slowloris
 * flood. The cap is lowered to what the open-file limit allows (raised to its hard limit when
 * needed), so that the cap, not a failing accept(), is what runs out.
 *
 * POST /invocations with a Content-Length above MAX_CONTENT_LENGTH gets 413 before any byte
 * of the body is read (MHD then closes the connection); a chunked body is counted as it
 * arrives. SIGTERM, SIGINT and SIGHUP (a closed terminal; serve has no workers to reload as
 * gunicorn does): stop accepting (new connections are closed), wait for in-flight requests,
 * stop; the caller then removes what it extracted. The signals can be routed before serving
 * starts (serve_stop_signals_install), so that a stop asked for during extraction or model
 * load is kept rather than killing the process with its scratch directory left behind.
 */
#include "serve_private.h"

#include "conns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Request and response bodies up to this size stay with the connection between requests. */
#define KEEP_BYTES              ((size_t)64 * 1024)
#define DEFAULT_MAX_CONNECTIONS 4096u
#define DEFAULT_HEAD_TIMEOUT    20u

typedef struct srv {
    serve_app *app;
    const serve_server_opts *o;
    uint64_t max_len;
    atomic_long in_flight;
    atomic_int stopping; /* a stop was asked for: new connections are closed as they come */
    serve_conns conns;
} srv;

/* A request body: malloc'd up to KEEP_BYTES (kept across requests), mapped above (released
 * when the answer is sent). */
typedef struct body_buf {
    char *data;
    size_t len, cap;
    int mapped;
} body_buf;

typedef struct conn {
    serve_conn_slot slot;
    int tracked; /* slot is in srv.conns */
    body_buf body;
    smx_buf out;
    int started; /* a request is in progress */
    int too_large;
    int reads_body;
    int status;
    size_t bytes;
    struct timespec t0;
    char method[16];
    char path[256];
} conn;

/* Per worker thread: the decode and predict buffers, and the spare large body buffer. */
typedef struct thread_bufs {
    serve_scratch scratch;
    body_buf spare;
} thread_bufs;

static pthread_key_t bufs_key;
static pthread_once_t bufs_once = PTHREAD_ONCE_INIT;

static void body_free(body_buf *b)
{
    if (b->mapped)
        munmap(b->data, b->cap);
    else
        free(b->data);
    *b = (body_buf){0};
}

static void bufs_free(void *p)
{
    thread_bufs *t = p;
    serve_scratch_free(&t->scratch);
    body_free(&t->spare);
    free(t);
}

static void bufs_init(void)
{
    pthread_key_create(&bufs_key, bufs_free);
}

static thread_bufs *thread_bufs_get(void)
{
    thread_bufs *t = pthread_getspecific(bufs_key);
    if (!t && (t = calloc(1, sizeof *t)))
        pthread_setspecific(bufs_key, t);
    return t;
}

/* Map (or remap) b to cap bytes; 0 or -1. A body that outgrows the malloc'd size takes the
 * thread's spare mapping when there is one: its pages are in memory already, where fresh ones
 * would cost a page fault each (about as much as decoding a thousand CSV rows). */
static int body_map(body_buf *b, size_t cap)
{
    if (!b->mapped) {
        thread_bufs *t = thread_bufs_get();
        body_buf m = {0};
        if (t) {
            m = t->spare;
            t->spare = (body_buf){0};
        }
        if (!m.mapped) {
            void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                return -1;
            m = (body_buf){.data = p, .cap = cap, .mapped = 1};
        }
        if (b->len)
            memcpy(m.data, b->data, b->len);
        m.len = b->len;
        free(b->data);
        *b = m;
        if (b->cap >= cap)
            return 0;
    }
    void *p = mremap(b->data, b->cap, cap, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Room for need bytes in all (capacity, not extra); 0 or -1. */
static int body_reserve(body_buf *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap * 2 > need ? b->cap * 2 : need;
    if (cap <= KEEP_BYTES) {
        cap = cap < 4096 ? 4096 : cap;
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
        return 0;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (cap > SIZE_MAX - page)
        return -1;
    return body_map(b, (cap + page - 1) / page * page);
}

static int body_append(body_buf *b, const char *p, size_t n)
{
    if (body_reserve(b, b->len + n))
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* The answer is sent: a small body buffer stays with the connection for its next request; a
 * mapped one becomes the thread's spare (the larger of the two is kept, the other unmapped),
 * so that memory held for large bodies is bounded per worker thread, not per connection. */
static void release_request_memory(conn *k)
{
    k->body.len = 0;
    if (k->body.mapped) {
        thread_bufs *t = thread_bufs_get();
        if (t && k->body.cap > t->spare.cap) {
            body_free(&t->spare);
            t->spare = k->body;
            k->body = (body_buf){0};
        } else {
            body_free(&k->body);
        }
    }
    if (k->out.cap > KEEP_BYTES)
        smx_buf_free(&k->out);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    srv *sv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        conn *k = calloc(1, sizeof(conn));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (k && ci) {
            serve_conns_open(&sv->conns, &k->slot, ci->connect_fd);
            k->tracked = 1;
        }
        *socket_context = k;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        conn *k = *socket_context;
        if (k->tracked)
            serve_conns_close(&sv->conns, &k->slot);
        body_free(&k->body);
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

/* A request's headers have arrived: start its log record, and answer at once (400, 413)
 * when its framing or its Content-Length rules it out; else reserve its body. */
static enum MHD_Result begin_request(srv *sv, struct MHD_Connection *c, conn *k, const char *url,
                                     const char *method)
{
    k->started = 1;
    k->too_large = 0;
    k->status = 0;
    k->bytes = 0;
    clock_gettime(CLOCK_MONOTONIC, &k->t0);
    snprintf(k->method, sizeof k->method, "%s", method);
    snprintf(k->path, sizeof k->path, "%s", url);
    atomic_fetch_add(&sv->in_flight, 1);
    if (k->tracked)
        serve_conns_busy(&sv->conns, &k->slot);
    k->body.len = 0;
    k->reads_body = serve_app_reads_body(method, url);
    cl_check ck = {NULL, 0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, cl_conflict, &ck);
    serve_response rs;
    if (ck.conflict) {
        serve_app_bad_framing(&rs);
        k->too_large = 1; /* the body, if any, is drained unread */
        return queue(c, k, &rs);
    }
    const char *cl = k->reads_body ? MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                                 MHD_HTTP_HEADER_CONTENT_LENGTH)
                                   : NULL;
    if (!cl)
        return MHD_YES;
    char *e;
    errno = 0;
    unsigned long long n = strtoull(cl, &e, 10);
    if (errno == ERANGE || n > sv->max_len) {
        serve_app_too_large(&rs);
        k->too_large = 1;
        return queue(c, k, &rs);
    }
    return n && body_reserve(&k->body, (size_t)n) ? MHD_NO : MHD_YES;
}

/* The whole body is in: the app's answer. */
static enum MHD_Result answer(srv *sv, struct MHD_Connection *c, conn *k, const char *url,
                              const char *method)
{
    serve_response rs;
    if (k->too_large) {
        serve_app_too_large(&rs);
        return queue(c, k, &rs);
    }
    thread_bufs *tb = thread_bufs_get();
    if (!tb)
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
    serve_app_handle(sv->app, &rq, &tb->scratch, &k->out, &rs);
    return queue(c, k, &rs);
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
        return begin_request(sv, c, k, url, method);
    }
    if (*upload_data_size) {
        if (k->reads_body && !k->too_large) {
            if (k->body.len + *upload_data_size > sv->max_len)
                k->too_large = 1;
            else if (body_append(&k->body, upload_data, *upload_data_size))
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return answer(sv, c, k, url, method);
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
    release_request_memory(k);
    if (k->tracked)
        serve_conns_idle(&sv->conns, &k->slot);
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

/* ---- stopping --------------------------------------------------------------------------- */

/* The stop signals write to a pipe that the main thread waits on: whichever thread the signal
 * lands on (libxgboost and MHD have their own), and even if the parent ignored SIGTERM or
 * SIGINT (a shell's background job). SIGHUP ignored by the parent (nohup) stays ignored. */
static const int stop_sigs[] = {SIGTERM, SIGINT, SIGHUP};
#define N_STOP_SIGS (sizeof stop_sigs / sizeof stop_sigs[0])
static int stop_pipe[2] = {-1, -1};
static struct sigaction stop_old[N_STOP_SIGS];

static void on_stop_signal(int sig)
{
    (void)sig;
    int e = errno;
    ssize_t w = write(stop_pipe[1], "x", 1);
    (void)w;
    errno = e;
}

int serve_stop_signals_install(smx_err *err)
{
    if (stop_pipe[0] >= 0)
        return SMX_OK;
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK))
        return smx_fail(err, SMX_EIO, "pipe: %s", strerror(errno));
    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < N_STOP_SIGS; i++) {
        sigaction(stop_sigs[i], NULL, &stop_old[i]);
        if (stop_sigs[i] == SIGHUP && stop_old[i].sa_handler == SIG_IGN)
            continue;
        sigaction(stop_sigs[i], &sa, NULL);
        sigaddset(&set, stop_sigs[i]);
    }
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return SMX_OK;
}

void serve_stop_signals_restore(void)
{
    if (stop_pipe[0] < 0)
        return;
    for (size_t i = 0; i < N_STOP_SIGS; i++)
        sigaction(stop_sigs[i], &stop_old[i], NULL);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    stop_pipe[0] = stop_pipe[1] = -1;
}

int serve_stop_requested(void)
{
    struct pollfd pf = {stop_pipe[0], POLLIN, 0};
    return stop_pipe[0] >= 0 && poll(&pf, 1, 0) > 0;
}

/* Until a stop signal: sleep to the next head deadline, shut down the heads that missed it. */
static void run_until_stopped(srv *sv)
{
    for (;;) {
        double next = serve_conns_expire(&sv->conns);
        int ms = next >= 1 ? 1000 : next <= 0 ? 0 : (int)(next * 1000) + 1;
        struct pollfd pf = {stop_pipe[0], POLLIN, 0};
        int r = poll(&pf, 1, ms);
        if (r > 0 || (r < 0 && errno != EINTR))
            return;
    }
}

/* ---- the daemon -------------------------------------------------------------------------- */

/* The connection cap that the open-file limit allows (raising the soft limit when needed):
 * beyond it accept() would fail, and neither the cap nor the reserve would ever apply. */
static unsigned fit_open_files(unsigned want, unsigned workers)
{
    rlim_t spare = 64 + 4 * (rlim_t)workers; /* stdio, listen socket, epoll and ITC per worker */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return want;
    rlim_t need = want + spare;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return want;
    return rl.rlim_cur > spare + 16 ? (unsigned)(rl.rlim_cur - spare) : 16;
}

static unsigned head_timeout_of(const serve_server_opts *o, unsigned timeout)
{
    if (o->head_timeout)
        return o->head_timeout;
    return timeout < DEFAULT_HEAD_TIMEOUT ? timeout : DEFAULT_HEAD_TIMEOUT;
}

/* Connections that come once a stop was asked for are closed at once. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    return atomic_load(&((srv *)cls)->stopping) ? MHD_NO : MHD_YES;
}

/*
 * Stop accepting, let in-flight requests finish (at most the timeout), stop. Not with
 * MHD_quiesce_daemon: with epoll and a thread pool, libmicrohttpd 0.9.75 races its workers
 * for the listen socket's removal from their epoll sets and can abort the process
 * ("Failed to remove listen FD from epoll set"), which would leave the scratch behind. The
 * accept policy closes what comes instead, and MHD_stop_daemon, which joins the workers
 * first, closes the listen socket.
 */
static void drain_and_stop(struct MHD_Daemon *d, srv *sv, unsigned timeout)
{
    atomic_store(&sv->stopping, 1);
    unsigned waited_ms = 0, limit_ms = timeout * 1000u;
    while (atomic_load(&sv->in_flight) > 0 && waited_ms < limit_ms) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited_ms += 5;
    }
    MHD_stop_daemon(d);
}

int serve_server_run(serve_app *a, const serve_server_opts *o, smx_err *err)
{
    pthread_once(&bufs_once, bufs_init);
    int own_signals = stop_pipe[0] < 0;
    int rc = serve_stop_signals_install(err);
    if (rc)
        return rc;
    if (serve_stop_requested()) { /* during extraction or model load: never listen */
        if (own_signals)
            serve_stop_signals_restore();
        return SMX_OK;
    }
    srv sv = {.app = a, .o = o, .max_len = serve_app_max_content_length(a)};
    atomic_init(&sv.in_flight, 0);
    atomic_init(&sv.stopping, 0);
    unsigned workers = o->workers ? o->workers : 1, timeout = o->timeout ? o->timeout : 60;
    unsigned limit =
        fit_open_files(o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS, workers);
    if (limit < workers) /* libmicrohttpd gives each worker limit / workers */
        limit = workers;
    int fd = -1, v6 = 0;
    unsigned port = 0;
    if (serve_conns_init(&sv.conns, workers, limit, head_timeout_of(o, timeout)))
        rc = smx_fail(err, SMX_ERUNTIME, "cannot create a mutex");
    else if ((rc = listen_socket(o, &fd, &port, &v6, err)))
        serve_conns_destroy(&sv.conns);
    if (rc) {
        if (own_signals)
            serve_stop_signals_restore();
        return rc;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TURBO |
                     (v6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, &accept_policy, &sv, &on_request, &sv, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, workers, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_NOTIFY_COMPLETED, &on_completed, &sv, MHD_OPTION_NOTIFY_CONNECTION,
        &on_connection, &sv, MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_END);
    if (!d) {
        close(fd);
        rc = smx_fail(err, SMX_ERUNTIME, "libmicrohttpd failed to start on %s:%u", o->host, port);
    } else {
        if (o->on_listen)
            o->on_listen(o->ctx, port);
        run_until_stopped(&sv);
        drain_and_stop(d, &sv, timeout);
    }
    serve_conns_destroy(&sv.conns);
    if (own_signals)
        serve_stop_signals_restore();
    return rc;
}
