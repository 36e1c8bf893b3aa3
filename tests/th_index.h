/*
 * A package index for the runtime tests, on loopback (th_server): the simple API at
 * /simple/xgboost/ (PEP 691 JSON when asked for it, else PEP 503 HTML, with relative links),
 * the JSON API at /pypi/xgboost/VERSION/json (absolute links), and the files at /files/NAME.
 * Wheels are built by the test: a zip carrying the system's libxgboost.so as
 * xgboost/lib/libxgboost.so, a bundled library in xgboost.libs/, and a dist-info. Each file
 * and the pages can misbehave: a published sha256 that is not the file's, downloads cut
 * halfway, Range requests honoured or not, a slow body; pages that answer 404, 500 or stall.
 * Requests in proxy form (GET http://host/path) are served too, and counted.
 */
#ifndef SMXGB_TH_INDEX_H
#define SMXGB_TH_INDEX_H

#include "th_server.h"

#include <pthread.h>
#include <stddef.h>

typedef struct th_index_file {
    char name[256];
    char *data;
    size_t len;
    char sha256[65];    /* what the index publishes: the file's unless a test changes it */
    int cut;            /* the first `cut` downloads stop halfway (the full length announced) */
    int ranges;         /* Accept-Ranges: bytes, and a Range request answered with 206 */
    double bytes_per_s; /* send the body at this rate (0: at once) */
    int yanked;
    int downloads; /* requests for it so far */
} th_index_file;

typedef struct th_index {
    th_server *srv;
    pthread_mutex_t lock;
    th_index_file files[16];
    size_t n;
    int status;        /* pages answer this status (0: 200) */
    double delay;      /* pages answer after this many seconds */
    int html_only;     /* the simple API answers HTML even when JSON is asked for */
    int pages;         /* page requests so far */
    int proxied;       /* requests in proxy form so far */
    char accept[256];  /* the Accept header of the last page request */
    char *bodies[512]; /* the pages answered, freed by th_index_stop */
    size_t n_bodies;
} th_index;

th_index *th_index_start(void);
void th_index_stop(th_index *ix);
/* "http://127.0.0.1:PORT/simple" or ".../pypi" (api "simple" or "pypi"), static rotating. */
const char *th_index_url(th_index *ix, const char *api);

/* The system's libxgboost.so (Debian's 1.7.4), its real path. */
const char *th_system_lib(void);
/* A copy of the shim XGBoost (xgboost_shim.c: the system's 1.7.4 behind it) in dir that reports
 * `version`; with needed, it needs that library instead of libxgboost.so.0 (a name of the same
 * length), so it opens only where that name is found. Its path (th_path's buffer). */
const char *th_shim_lib(const char *dir, const char *version, const char *needed);
/* Write a wheel of `version` carrying lib at path (NULL lib: no library in it); returns its
 * bytes (malloc'd) and length. */
char *th_wheel_write(const char *path, const char *version, const char *lib, size_t *len);
/* Build xgboost-VERSION-py3-none-PLATFORM.whl in dir with lib (th_wheel_write) and serve it. */
th_index_file *th_index_add_wheel(th_index *ix, const char *dir, const char *version,
                                  const char *platform, const char *lib);
/* Serve bytes under name (an sdist, anything). */
th_index_file *th_index_add_bytes(th_index *ix, const char *name, const void *data, size_t len);
/* Downloads of a file so far. */
int th_index_downloads(th_index *ix, const th_index_file *f);

#endif
