#include "th_server.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct th_server {
    int fd, port;
    th_handler h;
    void *ctx;
    pthread_t thread;
    int requests;
    int stopping;
};

struct conn {
    th_server *s;
    int fd;
};

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

char *th_header(const th_request *rq, const char *name)
{
    size_t nl = strlen(name);
    for (const char *l = rq->headers; l && *l;) {
        const char *e = strstr(l, "\r\n");
        if (!e)
            break;
        if ((size_t)(e - l) > nl && l[nl] == ':' && !strncasecmp(l, name, nl)) {
            const char *v = l + nl + 1;
            while (*v == ' ')
                v++;
            return strndup(v, (size_t)(e - v));
        }
        l = e + 2;
    }
    return NULL;
}

/* The body at rs->bytes_per_s (1 byte, or a tenth of a second's worth, at a time); -1 when
 * the client went away. */
static int send_slowly(int fd, const th_response *rs)
{
    size_t chunk = rs->bytes_per_s >= 10 ? (size_t)(rs->bytes_per_s / 10) : 1;
    for (size_t off = 0; off < rs->body_len; off += chunk) {
        size_t n = rs->body_len - off < chunk ? rs->body_len - off : chunk;
        if (send_all(fd, rs->body + off, n))
            return -1;
        sleep_s((double)n / rs->bytes_per_s);
    }
    return 0;
}

static void respond(int fd, const th_response *rs)
{
    char head[1024], length[64] = "";
    if (!rs->no_length)
        snprintf(length, sizeof length, "Content-Length: %lld\r\n",
                 rs->announce ? rs->announce : (long long)rs->body_len);
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d Test\r\n%sConnection: close\r\n%s%s%s%s\r\n",
                     rs->status, length, rs->content_type ? "Content-Type: " : "",
                     rs->content_type ? rs->content_type : "", rs->content_type ? "\r\n" : "",
                     rs->extra_headers ? rs->extra_headers : "");
    if (send_all(fd, head, (size_t)n) || !rs->body_len)
        return;
    if (rs->stall > 0)
        sleep_s(rs->stall);
    do {
        int rc = rs->bytes_per_s > 0 ? send_slowly(fd, rs) : send_all(fd, rs->body, rs->body_len);
        if (rc)
            return;
    } while (rs->endless);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    th_request rq = {0};
    char *buf = NULL;
    size_t len = 0, cap = 0, hdr_end = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = (len + 65536) * 2;
            buf = realloc(buf, cap);
        }
        ssize_t r = recv(c->fd, buf + len, cap - len - 1, 0);
        if (r <= 0)
            goto done;
        len += (size_t)r;
        buf[len] = '\0';
        if (!hdr_end) {
            char *e = strstr(buf, "\r\n\r\n");
            if (!e)
                continue;
            hdr_end = (size_t)(e - buf) + 4;
        }
        char *cl = NULL;
        buf[hdr_end - 2] = '\0';
        char *line = strstr(buf, "\r\n");
        rq.headers = line ? line + 2 : "";
        cl = th_header(&rq, "Content-Length");
        buf[hdr_end - 2] = '\r';
        size_t want = cl ? strtoul(cl, NULL, 10) : 0;
        free(cl);
        if (len - hdr_end >= want) {
            rq.body_len = want;
            break;
        }
    }
    sscanf(buf, "%15s %2047s", rq.method, rq.path);
    buf[hdr_end - 2] = '\0';
    rq.headers = strstr(buf, "\r\n") + 2;
    rq.body = buf + hdr_end;
    __atomic_add_fetch(&c->s->requests, 1, __ATOMIC_SEQ_CST);
    th_response rs = {.status = 200};
    c->s->h(&rq, &rs, c->s->ctx);
    if (rs.delay > 0)
        sleep_s(rs.delay);
    if (rs.raw)
        send_all(c->fd, rs.raw, rs.raw_len);
    else if (rs.status)
        respond(c->fd, &rs);
done:
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    free(buf);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    th_server *s = arg;
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (__atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST)) {
            close(fd);
            return NULL;
        }
        struct conn *c = malloc(sizeof *c);
        c->s = s;
        c->fd = fd;
        pthread_t t;
        pthread_create(&t, NULL, conn_main, c);
        pthread_detach(t);
    }
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *port = ntohs(a.sin_port);
    return fd;
}

th_server *th_server_start(th_handler h, void *ctx)
{
    th_server *s = calloc(1, sizeof *s);
    s->h = h;
    s->ctx = ctx;
    s->fd = listen_any(&s->port);
    cr_assert_eq(listen(s->fd, 64), 0);
    pthread_create(&s->thread, NULL, accept_main, s);
    return s;
}

int th_server_port(const th_server *s)
{
    return s->port;
}
int th_server_requests(const th_server *s)
{
    return __atomic_load_n(&s->requests, __ATOMIC_SEQ_CST);
}

const char *th_server_url(const th_server *s)
{
    static char bufs[4][64];
    static int k;
    char *b = bufs[k++ & 3];
    snprintf(b, sizeof bufs[0], "http://127.0.0.1:%d", s->port);
    return b;
}

void th_server_stop(th_server *s)
{
    if (!s)
        return;
    __atomic_store_n(&s->stopping, 1, __ATOMIC_SEQ_CST);
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
    free(s);
}

int th_free_port(void)
{
    int port;
    int fd = listen_any(&port);
    close(fd);
    return port;
}
