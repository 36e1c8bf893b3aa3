/*
 * Private to serve/: the connection table of server.c (see conns.c for the design).
 */
#ifndef SMXGB_SERVE_CONNS_H
#define SMXGB_SERVE_CONNS_H

#include <pthread.h>

/* One connection as the table sees it; embedded in the server's per-connection context. */
typedef struct serve_conn_slot {
    struct serve_conn_slot *prev, *next; /* in the waiting queue */
    int fd;
    int waiting;  /* in the queue: no request head yet */
    int evicted;  /* shut down by the table, not yet closed */
    double since; /* smx_now() when it started waiting */
} serve_conn_slot;

typedef struct serve_conns {
    pthread_mutex_t mu;
    serve_conn_slot *head, *tail;   /* waiting, oldest first */
    unsigned open;                  /* connections open (evicted ones until they close) */
    unsigned evicting;              /* of those, shut down and not yet closed */
    unsigned limit;                 /* the connection cap */
    unsigned reserve;               /* slots kept free: eviction starts at limit - reserve */
    double head_timeout;            /* seconds */
    unsigned long expired, evicted; /* counts, for tests and logs */
} serve_conns;

/* The reserve kept free for a cap of limit connections. */
unsigned serve_conns_reserve_for(unsigned limit);
int serve_conns_init(serve_conns *t, unsigned limit, double head_timeout);
void serve_conns_destroy(serve_conns *t);
/* A connection was accepted: it waits for its request head from now. */
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
