/*
 * Private to serve/: the connection table of server.c (see conns.c for the design).
 */
#ifndef SMXGB_SERVE_CONNS_H
#define SMXGB_SERVE_CONNS_H

#include <pthread.h>
#include <stdatomic.h>

typedef struct serve_conns_shard serve_conns_shard;

/* One connection as the table sees it; embedded in the server's per-connection context. */
typedef struct serve_conn_slot {
    struct serve_conn_slot *prev, *next; /* in its shard's waiting queue */
    serve_conns_shard *shard;
    int fd;
    int waiting;  /* in the queue: no request head yet */
    int evicted;  /* shut down by the table, not yet closed */
    double since; /* smx_now() when it started waiting */
} serve_conn_slot;

/* The waiting connections of one libmicrohttpd worker thread, under their own mutex. */
struct serve_conns_shard {
    _Alignas(64) pthread_mutex_t mu;
    serve_conn_slot *head, *tail; /* waiting, oldest first */
};

typedef struct serve_conns {
    serve_conns_shard *shards; /* one per worker thread */
    unsigned n;
    atomic_uint next;     /* the shard for the next worker thread that asks */
    atomic_uint open;     /* connections open (evicted ones until they close) */
    atomic_uint evicting; /* of those, shut down and not yet closed */
    unsigned limit;       /* the connection cap */
    unsigned reserve;     /* slots kept free: eviction starts at limit - reserve */
    double head_timeout;  /* seconds */
} serve_conns;

/* The reserve kept free under a cap of limit connections. */
unsigned serve_conns_reserve_for(unsigned limit);
/* A table for a cap of limit connections served by workers threads. 0 or -1. */
int serve_conns_init(serve_conns *t, unsigned workers, unsigned limit, double head_timeout);
void serve_conns_destroy(serve_conns *t);
/* A connection was accepted by the calling worker thread: it waits for its request head from
 * now. The later calls for it may come from any thread. */
void serve_conns_open(serve_conns *t, serve_conn_slot *s, int fd);
/* Its request head is complete. */
void serve_conns_busy(serve_conns *t, serve_conn_slot *s);
/* Its answer is sent: it waits for the next request head from now. */
void serve_conns_idle(serve_conns *t, serve_conn_slot *s);
/* It closed (for any reason). */
void serve_conns_close(serve_conns *t, serve_conn_slot *s);
/* Shut down the connections whose head deadline has passed; the seconds until the next
 * deadline, or head_timeout when none is waiting. */
double serve_conns_expire(serve_conns *t);

#endif
