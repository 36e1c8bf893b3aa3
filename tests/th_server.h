/*
 * A small HTTP/1.1 test server inside the test process: raw sockets, one thread for the accept
 * loop and one per connection, so that slow answers do not hold up the next request. The
 * handler decides status, body and delays, and can record what it received.
 */
#ifndef SMXGB_TH_SERVER_H
#define SMXGB_TH_SERVER_H

#include <stddef.h>

typedef struct th_request {
    char method[16];
    char path[2048];
    char *headers; /* the raw header block, "Name: value\r\n"... */
    char *body;
    size_t body_len;
} th_request;

typedef struct th_response {
    int status;               /* 0 = close the connection without answering */
    const char *content_type; /* NULL = none */
    const char *body;         /* not owned (must outlive the response) */
    size_t body_len;
    double delay;              /* seconds to wait before answering */
    const char *extra_headers; /* "Name: value\r\n"... or NULL */
    /* servers that misbehave */
    const char *raw; /* sent as is instead of an HTTP response (not owned), or NULL */
    size_t raw_len;
    double stall;       /* seconds to wait between the headers and the body */
    double bytes_per_s; /* send the body at this rate (0: at once) */
    long long announce; /* Content-Length to announce instead of body_len (0: body_len) */
    int no_length;      /* no Content-Length: the body ends when the connection closes */
    int endless;        /* send the body again and again until the client goes away */
} th_response;

typedef void (*th_handler)(const th_request *rq, th_response *rs, void *ctx);

typedef struct th_server th_server;

/* Listen on 127.0.0.1 on a free port and serve with h until th_server_stop. */
th_server *th_server_start(th_handler h, void *ctx);
int th_server_port(const th_server *s);
/* Requests answered so far (or being answered). */
int th_server_requests(const th_server *s);
void th_server_stop(th_server *s);
/* "http://127.0.0.1:PORT" in a static rotating buffer. */
const char *th_server_url(const th_server *s);

/* Value of header name (case-insensitive) in rq, malloc'd; NULL if absent. */
char *th_header(const th_request *rq, const char *name);

/* A free TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
int th_free_port(void);

#endif
