/*
 * The bytes of the child protocol (runtime_private.h describes the messages): native-endian
 * u64 integers and blobs (a u64 length, then the bytes). Both ends are the same build on the
 * same machine, so nothing needs converting. A reader never trusts a length beyond the bytes
 * it has; strings in a job travel with their NUL, and a job whose strings lack it is refused.
 */
#include "runtime_private.h"

#include <string.h>

int rtm_put_u64(smx_buf *b, uint64_t v)
{
    return smx_buf_append(b, &v, sizeof v);
}

int rtm_put_blob(smx_buf *b, const void *p, uint64_t n)
{
    if (rtm_put_u64(b, n))
        return SMX_ENOMEM;
    return n ? smx_buf_append(b, p, (size_t)n) : SMX_OK;
}

uint64_t rtm_get_u64(rtm_rd *r)
{
    uint64_t v = 0;
    if (r->left < sizeof v) {
        r->bad = 1;
        return 0;
    }
    memcpy(&v, r->p, sizeof v);
    r->p += sizeof v;
    r->left -= sizeof v;
    return v;
}

const char *rtm_get_blob(rtm_rd *r, uint64_t *n)
{
    *n = rtm_get_u64(r);
    if (r->bad || *n > r->left) {
        r->bad = 1;
        *n = 0;
        return NULL;
    }
    const char *p = r->p;
    r->p += *n;
    r->left -= (size_t)*n;
    return p;
}

void rtm_get_str(rtm_rd *r, char *dst, size_t cap)
{
    uint64_t n;
    const char *p = rtm_get_blob(r, &n);
    size_t k = n < cap - 1 ? (size_t)n : cap - 1;
    if (p && k)
        memcpy(dst, p, k);
    dst[p ? k : 0] = '\0';
}

/* ---- jobs ----------------------------------------------------------------------------------- */

static int put_cstr(smx_buf *b, const char *s)
{
    return rtm_put_blob(b, s ? s : "", (s ? strlen(s) : 0) + 1);
}

static const char *get_cstr(rtm_rd *r)
{
    uint64_t n;
    const char *p = rtm_get_blob(r, &n);
    if (!p || n == 0 || p[n - 1] != '\0' || memchr(p, '\0', (size_t)n) != p + n - 1) {
        r->bad = 1;
        return NULL;
    }
    return p;
}

int rtm_job_encode(const rtm_job *jb, smx_buf *b)
{
    uint64_t xbytes = jb->nrow * jb->ncol * sizeof(float);
    int rc = rtm_put_u64(b, RTM_JOB_MAGIC) || rtm_put_u64(b, jb->max_memory) ||
             rtm_put_u64(b, jb->max_result) || put_cstr(b, jb->lib) ||
             rtm_put_u64(b, (uint64_t)jb->how) || put_cstr(b, jb->file) ||
             rtm_put_blob(b, jb->payload, jb->payload_len) || rtm_put_u64(b, jb->nrow) ||
             rtm_put_u64(b, jb->ncol) || rtm_put_blob(b, jb->X, xbytes) ||
             put_cstr(b, jb->resave_format) || put_cstr(b, jb->resave_file);
    return rc ? SMX_ENOMEM : SMX_OK;
}

int rtm_job_decode(const void *p, size_t n, rtm_job *jb)
{
    rtm_rd r = {p, n, 0};
    memset(jb, 0, sizeof *jb);
    if (rtm_get_u64(&r) != RTM_JOB_MAGIC)
        return -1;
    jb->max_memory = rtm_get_u64(&r);
    jb->max_result = rtm_get_u64(&r);
    jb->lib = get_cstr(&r);
    jb->how = (int)rtm_get_u64(&r);
    jb->file = get_cstr(&r);
    jb->payload = rtm_get_blob(&r, &jb->payload_len);
    jb->nrow = rtm_get_u64(&r);
    jb->ncol = rtm_get_u64(&r);
    uint64_t xbytes;
    const char *x = rtm_get_blob(&r, &xbytes);
    jb->resave_format = get_cstr(&r);
    jb->resave_file = get_cstr(&r);
    if (r.bad || r.left || (jb->how != RTM_LOAD_FILE && jb->how != RTM_LOAD_SNAPSHOT) ||
        (jb->ncol && jb->nrow > UINT64_MAX / jb->ncol / sizeof(float)) ||
        xbytes != jb->nrow * jb->ncol * sizeof(float))
        return -1;
    jb->X = x;
    return 0;
}
