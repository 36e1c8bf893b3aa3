/*
 * The connection table of server.c: which connections are waiting for a request head, since
 * when, and which of them give way when the server runs out of connection slots.
 *
 * libmicrohttpd's connection timeout is an idle timeout: every byte received restarts it. A
 * client that sends one header line every few seconds (slowloris) therefore keeps its
 * connection forever, and enough of them fill every slot of the connection cap, after which
 * new connections, /ping included, wait in the listen queue. Two rules close that door:
 *
 *   - The head deadline (nginx's client_header_timeout, with its keepalive_timeout folded in):
 *     a connection waits in this table from its accept, or from the moment its previous answer
 *     was sent, until its next request head is complete; one that waits longer than
 *     head_timeout is shut down, however busily it trickles bytes. server.c's main thread calls
 *     serve_conns_expire at each deadline. Because every connection enters the table at "now"
 *     with the same timeout, the waiting queue is in deadline order: expiry pops from its front.
 *   - The reserve (nginx's ngx_drain_connections, which closes idle keep-alive connections when
 *     it runs out of free ones): when the open connections pass limit - reserve, the connections
 *     that have waited longest for a request head are shut down, at once, whenever a connection
 *     opens or becomes idle. A client that sends its request at once (a health check) is never
 *     the oldest waiter, so it always finds a slot and is answered in milliseconds. Connections
 *     with a request in progress are never shut down by either rule.
 *
 * Shutting down means shutdown(2) of the socket, from whichever thread applies the rule; the
 * connection's own libmicrohttpd thread then sees the end of the stream and closes it as if the
 * client had gone, so no libmicrohttpd state is touched from outside its thread. The socket
 * cannot be closed and its number reused under us: libmicrohttpd reports the close
 * (serve_conns_close, under the same mutex) before it closes the socket.
 */
#include "conns.h"

#include "../base/base.h"

#include <sys/socket.h>

unsigned serve_conns_reserve_for(unsigned limit)
{
    if (limit < 2)
        return 0;
    unsigned r = limit / 16;
    return r < 1 ? 1 : r > 64 ? 64 : r;
}

int serve_conns_init(serve_conns *t, unsigned limit, double head_timeout)
{
    *t = (serve_conns){
        .limit = limit, .reserve = serve_conns_reserve_for(limit), .head_timeout = head_timeout};
    return pthread_mutex_init(&t->mu, NULL) ? -1 : 0;
}

void serve_conns_destroy(serve_conns *t)
{
    pthread_mutex_destroy(&t->mu);
}

static void unqueue(serve_conns *t, serve_conn_slot *s)
{
    if (!s->waiting)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        t->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        t->tail = s->prev;
    s->prev = s->next = NULL;
    s->waiting = 0;
}

static void enqueue(serve_conns *t, serve_conn_slot *s)
{
    unqueue(t, s);
    s->since = smx_now();
    s->prev = t->tail;
    s->next = NULL;
    if (t->tail)
        t->tail->next = s;
    else
        t->head = s;
    t->tail = s;
    s->waiting = 1;
}

static void evict(serve_conns *t, serve_conn_slot *s)
{
    unqueue(t, s);
    s->evicted = 1;
    t->evicting++;
    shutdown(s->fd, SHUT_RDWR);
}

/* Give way to new connections: the oldest waiters go while too few slots are free. */
static void keep_reserve(serve_conns *t)
{
    while (t->head && t->open - t->evicting > t->limit - t->reserve) {
        evict(t, t->head);
        t->evicted++;
    }
}

void serve_conns_open(serve_conns *t, serve_conn_slot *s, int fd)
{
    *s = (serve_conn_slot){.fd = fd};
    pthread_mutex_lock(&t->mu);
    t->open++;
    /* the oldest waiters give way before this one is queued: it is never its own victim */
    keep_reserve(t);
    enqueue(t, s);
    pthread_mutex_unlock(&t->mu);
}

void serve_conns_busy(serve_conns *t, serve_conn_slot *s)
{
    pthread_mutex_lock(&t->mu);
    unqueue(t, s);
    pthread_mutex_unlock(&t->mu);
}

void serve_conns_idle(serve_conns *t, serve_conn_slot *s)
{
    pthread_mutex_lock(&t->mu);
    if (!s->evicted) {
        enqueue(t, s);
        keep_reserve(t);
    }
    pthread_mutex_unlock(&t->mu);
}

void serve_conns_close(serve_conns *t, serve_conn_slot *s)
{
    pthread_mutex_lock(&t->mu);
    unqueue(t, s);
    if (s->evicted)
        t->evicting--;
    t->open--;
    pthread_mutex_unlock(&t->mu);
}

double serve_conns_expire(serve_conns *t)
{
    pthread_mutex_lock(&t->mu);
    double now = smx_now();
    while (t->head && now - t->head->since >= t->head_timeout) {
        evict(t, t->head);
        t->expired++;
    }
    keep_reserve(t);
    double next = t->head ? t->head->since + t->head_timeout - now : t->head_timeout;
    pthread_mutex_unlock(&t->mu);
    return next;
}
