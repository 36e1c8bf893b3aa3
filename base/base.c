/*
 * The shared types: smx_err (status + message + where + fix, set with smx_fail/smx_fail_at) and
 * smx_buf (a growable, always NUL-terminated byte buffer), and the small helpers every module
 * would otherwise write again. Every module uses these rather than its own, so messages and
 * buffers cross module boundaries unchanged.
 */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

__attribute__((format(printf, 5, 0))) static void
err_set(smx_err *e, int status, const char *where, const char *fix, const char *fmt, va_list ap)
{
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    e->status = status;
    snprintf(e->where, sizeof e->where, "%s", where ? where : "");
    snprintf(e->fix, sizeof e->fix, "%s", fix ? fix : "");
}

int smx_fail(smx_err *e, int status, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        err_set(e, status, NULL, NULL, fmt, ap);
        va_end(ap);
    }
    return status;
}

int smx_fail_at(smx_err *e, int status, const char *where, const char *fix, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        err_set(e, status, where, fix, fmt, ap);
        va_end(ap);
    }
    return status;
}

void smx_err_clear(smx_err *e)
{
    if (e) {
        e->status = SMX_OK;
        e->msg[0] = e->where[0] = e->fix[0] = '\0';
    }
}

int smx_buf_reserve(smx_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return SMX_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return SMX_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return SMX_ENOMEM;
    b->data = p;
    b->cap = cap;
    return SMX_OK;
}

int smx_buf_append(smx_buf *b, const void *p, size_t n)
{
    if (smx_buf_reserve(b, n))
        return SMX_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SMX_OK;
}

int smx_buf_puts(smx_buf *b, const char *s)
{
    return smx_buf_append(b, s, strlen(s));
}

int smx_buf_vprintf(smx_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || smx_buf_reserve(b, (size_t)n))
        return SMX_ENOMEM;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return SMX_OK;
}

int smx_buf_printf(smx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = smx_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void smx_buf_reset(smx_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void smx_buf_free(smx_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int smx_buf_read_file(smx_buf *b, const char *path, size_t max_bytes, smx_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return smx_fail(err, SMX_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return smx_fail(err, SMX_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return smx_fail(err, SMX_ELIMIT, "%s: %lld bytes is over the limit of %zu bytes", path,
                        (long long)st.st_size, max_bytes);
    }
    if (smx_buf_reserve(b, (size_t)st.st_size)) {
        close(fd);
        return smx_fail(err, SMX_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (smx_buf_reserve(b, 65536)) {
            close(fd);
            return smx_fail(err, SMX_ENOMEM, "%s: out of memory", path);
        }
        ssize_t n = read(fd, b->data + b->len, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return smx_fail(err, SMX_EIO, "%s: read error: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
        b->data[b->len] = '\0';
        if (b->len > max_bytes) {
            close(fd);
            return smx_fail(err, SMX_ELIMIT, "%s: over the limit of %zu bytes", path, max_bytes);
        }
    }
    close(fd);
    return SMX_OK;
}

void smx_sha256_hex(const unsigned char d[32], char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[64] = '\0';
}

int smx_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return SMX_OK;
    if (!elem || need > SIZE_MAX / elem)
        return SMX_ENOMEM;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c = c > SIZE_MAX / 2 / elem ? need : c + c / 2 + 16;
    void *q = realloc(*p, c * elem);
    if (!q)
        return SMX_ENOMEM;
    *p = q;
    *cap = c;
    return SMX_OK;
}

void *smx_push(void **p, size_t *n, size_t elem)
{
    if (!elem || *n >= SIZE_MAX / elem - 1)
        return NULL;
    char *q = realloc(*p, (*n + 1) * elem);
    if (!q)
        return NULL;
    *p = q;
    void *x = q + (*n)++ * elem;
    memset(x, 0, elem);
    return x;
}

double smx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
