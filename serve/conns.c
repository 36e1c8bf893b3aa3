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
 *     serve_conns_expire at each deadline. Every connection enters the table at "now" with the
 *     same timeout, so a waiting queue is in deadline order: expiry pops from its front.
 *   - The reserve (nginx's ngx_drain_connections, which closes idle keep-alive connections when
 *     it runs out of free ones): when the open connections pass limit - reserve, the connections
 *     that have waited longest for a request head are shut down, at once, whenever a connection
 *     opens or becomes idle. (libmicrohttpd gives each worker limit / workers slots; while the
 *     total stays below the cap, some worker has a free slot and accepts.)
 *
 * A client that sends its request at once (a health check) is never the oldest waiter, so it
 * always finds a slot and is answered in milliseconds. Connections with a request in progress
 * are never shut down by either rule: the request timeout (libmicrohttpd's idle timeout)
 * bounds each wait for more of a body.
 *
 * The waiting queue is split in one shard per libmicrohttpd worker thread, each under its own
 * mutex, so that the per-request bookkeeping of a keep-alive connection (busy, then idle
 * again) takes a mutex that other threads take only to expire or evict a waiter.
 * The counts are atomics; the reserve rule looks at the head of every shard to find the
 * oldest waiter (locking one shard at a time, never two).
 *
 * Shutting down means shutdown(2) of the socket, from whichever thread applies the rule; the
 * connection's own libmicrohttpd thread then sees the end of the stream and closes it as if the
 * client had gone, so no libmicrohttpd state is touched from outside its thread. The socket
 * cannot be closed and its number reused under us: libmicrohttpd reports the close
 * (serve_conns_close, which takes the shard's mutex) before it closes the socket, and a
 * connection is shut down only while it is queued, under that mutex.
 */
#include "conns.h"

#include "../base/base.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

unsigned serve_conns_reserve_for(unsigned limit)
{
    if (limit < 2)
        return 0;
    unsigned r = limit / 16;
    return r < 1 ? 1 : r > 64 ? 64 : r;
}

int serve_conns_init(serve_conns *t, unsigned workers, unsigned limit, double head_timeout)
{
    memset(t, 0, sizeof *t);
    unsigned n = workers ? workers : 1;
    t->limit = limit;
    t->reserve = serve_conns_reserve_for(limit);
    t->head_timeout = head_timeout;
    t->shards = aligned_alloc(_Alignof(serve_conns_shard), n * sizeof *t->shards);
    if (!t->shards)
        return -1;
    for (t->n = 0; t->n < n; t->n++) {
        memset(&t->shards[t->n], 0, sizeof t->shards[t->n]);
        if (pthread_mutex_init(&t->shards[t->n].mu, NULL)) {
            serve_conns_destroy(t);
            return -1;
        }
    }
    return 0;
}

void serve_conns_destroy(serve_conns *t)
{
    for (unsigned i = 0; i < t->n; i++)
        pthread_mutex_destroy(&t->shards[i].mu);
    free(t->shards);
    t->shards = NULL;
    t->n = 0;
}

/* The calling worker thread's shard (each worker thread takes the next one, once). */
static serve_conns_shard *my_shard(serve_conns *t)
{
    static _Thread_local serve_conns *owner;
    static _Thread_local serve_conns_shard *mine;
    if (owner != t) {
        owner = t;
        mine = &t->shards[atomic_fetch_add(&t->next, 1) % t->n];
    }
    return mine;
}

static void unqueue(serve_conns_shard *sh, serve_conn_slot *s)
{
    if (!s->waiting)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        sh->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        sh->tail = s->prev;
    s->prev = s->next = NULL;
    s->waiting = 0;
}

static void enqueue(serve_conns_shard *sh, serve_conn_slot *s)
{
    unqueue(sh, s);
    s->since = smx_now();
    s->prev = sh->tail;
    s->next = NULL;
    if (sh->tail)
        sh->tail->next = s;
    else
        sh->head = s;
    sh->tail = s;
    s->waiting = 1;
}

/* With sh->mu held. */
static void evict(serve_conns *t, serve_conns_shard *sh, serve_conn_slot *s)
{
    unqueue(sh, s);
    s->evicted = 1;
    atomic_fetch_add(&t->evicting, 1);
    shutdown(s->fd, SHUT_RDWR);
}

static int short_of_slots(serve_conns *t)
{
    long busy = (long)atomic_load(&t->open) - (long)atomic_load(&t->evicting);
    return busy > (long)t->limit - (long)t->reserve;
}

/* Give way to new connections: the oldest waiters go while too few slots are free. Takes
 * each shard's mutex in turn; the caller holds none. */
static void keep_reserve(serve_conns *t)
{
    while (short_of_slots(t)) {
        serve_conns_shard *oldest = NULL;
        double since = 0;
        for (unsigned i = 0; i < t->n; i++) {
            serve_conns_shard *sh = &t->shards[i];
            pthread_mutex_lock(&sh->mu);
            if (sh->head && (!oldest || sh->head->since < since)) {
                oldest = sh;
                since = sh->head->since;
            }
            pthread_mutex_unlock(&sh->mu);
        }
        if (!oldest)
            return;
        pthread_mutex_lock(&oldest->mu);
        if (oldest->head)
            evict(t, oldest, oldest->head);
        pthread_mutex_unlock(&oldest->mu);
    }
}

void serve_conns_open(serve_conns *t, serve_conn_slot *s, int fd)
{
    serve_conns_shard *sh = my_shard(t);
    *s = (serve_conn_slot){.fd = fd, .shard = sh};
    atomic_fetch_add(&t->open, 1);
    keep_reserve(t); /* before this one is queued: it is never its own victim */
    pthread_mutex_lock(&sh->mu);
    enqueue(sh, s);
    pthread_mutex_unlock(&sh->mu);
}

void serve_conns_busy(serve_conns *t, serve_conn_slot *s)
{
    (void)t;
    pthread_mutex_lock(&s->shard->mu);
    unqueue(s->shard, s);
    pthread_mutex_unlock(&s->shard->mu);
}

void serve_conns_idle(serve_conns *t, serve_conn_slot *s)
{
    pthread_mutex_lock(&s->shard->mu);
    int queued = !s->evicted;
    if (queued)
        enqueue(s->shard, s);
    pthread_mutex_unlock(&s->shard->mu);
    if (queued && short_of_slots(t))
        keep_reserve(t);
}

void serve_conns_close(serve_conns *t, serve_conn_slot *s)
{
    pthread_mutex_lock(&s->shard->mu);
    unqueue(s->shard, s);
    pthread_mutex_unlock(&s->shard->mu);
    if (s->evicted)
        atomic_fetch_sub(&t->evicting, 1);
    atomic_fetch_sub(&t->open, 1);
}

double serve_conns_expire(serve_conns *t)
{
    double next = t->head_timeout;
    for (unsigned i = 0; i < t->n; i++) {
        serve_conns_shard *sh = &t->shards[i];
        pthread_mutex_lock(&sh->mu);
        double now = smx_now();
        while (sh->head && now - sh->head->since >= t->head_timeout)
            evict(t, sh, sh->head);
        if (sh->head && sh->head->since + t->head_timeout - now < next)
            next = sh->head->since + t->head_timeout - now;
        pthread_mutex_unlock(&sh->mu);
    }
    keep_reserve(t);
    return next;
}
