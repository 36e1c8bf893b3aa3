/*
 * application/x-recordio-protobuf, both directions.
 *
 * Framing (MXNet RecordIO as SageMaker uses it): per record a little-endian uint32 magic
 * 0xced7230a, a uint32 whose low 29 bits are the length (the top 3 bits flag a record split
 * over several frames, which SageMaker writers never produce and which is refused here), the
 * payload, zero padding to a multiple of 4 bytes. The payload is a Record (record.proto,
 * decoded by protobuf-c).
 *
 * Requests (the container up to 1.7-1, through mlio): features["values"] of every record is
 * one row; the first record decides dense (no keys) or sparse (keys = column indexes,
 * shape[0] = width); labels are ignored. float32, float64 and int32 tensors are accepted and
 * cast to float32, as the DMatrix does.
 */
#include "serve_private.h"

#include "record.pb-c.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define RIO_MAGIC 0xced7230aU

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int rfail(serve_derr *de, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rfail(serve_derr *de, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    de->pytype = "<class 'RuntimeError'>";
    vsnprintf(de->msg, sizeof de->msg, fmt, ap);
    va_end(ap);
    return SMX_EFORMAT;
}

/* the tensor of features["values"]: values as doubles through get(), keys, shape */
typedef struct tview {
    int type; /* value case */
    size_t n;
    const void *v;
    size_t n_keys;
    const uint64_t *keys;
    size_t n_shape;
    const uint64_t *shape;
} tview;

static double tget(const tview *t, size_t i)
{
    switch (t->type) {
    case AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR:
        return ((const float *)t->v)[i];
    case AIALGS__DATA__VALUE__VALUE_FLOAT64_TENSOR:
        return ((const double *)t->v)[i];
    default:
        return ((const int32_t *)t->v)[i];
    }
}

static int view_of(const Aialgs__Data__Record *r, size_t rec, tview *t, serve_derr *de)
{
    const Aialgs__Data__Value *val = NULL;
    for (size_t i = 0; i < r->n_features; i++)
        if (r->features[i]->key && !strcmp(r->features[i]->key, "values"))
            val = r->features[i]->value; /* last one wins, as in a map */
    if (!val) {
        de->pytype = "<class 'KeyError'>";
        snprintf(de->msg, sizeof de->msg, "'values'");
        return SMX_EFORMAT;
    }
    memset(t, 0, sizeof *t);
    t->type = val->value_case;
    switch (val->value_case) {
    case AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR:
        t->n = val->float32_tensor->n_values;
        t->v = val->float32_tensor->values;
        t->n_keys = val->float32_tensor->n_keys;
        t->keys = val->float32_tensor->keys;
        t->n_shape = val->float32_tensor->n_shape;
        t->shape = val->float32_tensor->shape;
        break;
    case AIALGS__DATA__VALUE__VALUE_FLOAT64_TENSOR:
        t->n = val->float64_tensor->n_values;
        t->v = val->float64_tensor->values;
        t->n_keys = val->float64_tensor->n_keys;
        t->keys = val->float64_tensor->keys;
        t->n_shape = val->float64_tensor->n_shape;
        t->shape = val->float64_tensor->shape;
        break;
    case AIALGS__DATA__VALUE__VALUE_INT32_TENSOR:
        t->n = val->int32_tensor->n_values;
        t->v = val->int32_tensor->values;
        t->n_keys = val->int32_tensor->n_keys;
        t->keys = val->int32_tensor->keys;
        t->n_shape = val->int32_tensor->n_shape;
        t->shape = val->int32_tensor->shape;
        break;
    default:
        return rfail(de, "record %zu: feature 'values' is not a float32, float64 or int32 tensor",
                     rec);
    }
    if (t->n_keys && t->n_keys != t->n)
        return rfail(de, "record %zu: sparse tensor with %zu keys and %zu values", rec, t->n_keys,
                     t->n);
    return SMX_OK;
}

static int room(serve_derr *de)
{
    de->pytype = "<class 'MemoryError'>";
    snprintf(de->msg, sizeof de->msg, "out of memory");
    return SMX_ENOMEM;
}

/* The frame at off: its payload's length in *n, or the error. */
static int frame_at(const unsigned char *p, size_t len, size_t off, size_t *n, serve_derr *de)
{
    if (len - off < 8)
        return rfail(de, "truncated record header at byte offset %zu", off);
    uint32_t magic = rd32(p + off), lw = rd32(p + off + 4);
    if (magic != RIO_MAGIC)
        return rfail(de, "invalid RecordIO magic 0x%08x at byte offset %zu (expected 0x%08x)",
                     magic, off, RIO_MAGIC);
    if (lw >> 29)
        return rfail(de,
                     "record at byte offset %zu is split over several frames (continuation flag "
                     "%u), which is not supported",
                     off, lw >> 29);
    *n = lw & ((1u << 29) - 1);
    if (*n > len - off - 8)
        return rfail(de, "record at byte offset %zu declares %zu bytes but only %zu remain", off,
                     *n, len - off - 8);
    return SMX_OK;
}

/* The rows so far: the first record decides dense or sparse and the width. */
typedef struct rows {
    size_t rec, nvals;
    int sparse; /* -1 before the first record */
    uint64_t width;
} rows;

static int add_dense(serve_matrix *m, rows *st, const tview *t, serve_derr *de)
{
    if (serve_grow((void **)&m->x, &m->x_cap, st->nvals + t->n + 1, sizeof(float)))
        return room(de);
    for (size_t i = 0; i < t->n; i++)
        m->x[st->nvals++] = (float)tget(t, i);
    return SMX_OK;
}

static int add_sparse(serve_matrix *m, const rows *st, const tview *t, serve_derr *de)
{
    size_t rec = st->rec;
    if (serve_grow((void **)&m->indptr, &m->indptr_cap, rec + 2, sizeof(size_t)) ||
        serve_grow((void **)&m->indices, &m->nz_cap, m->nnz + t->n + 1, sizeof(uint32_t)) ||
        serve_grow((void **)&m->values, &m->val_cap, m->nnz + t->n + 1, sizeof(float)))
        return room(de);
    m->indptr[rec] = m->nnz;
    for (size_t i = 0; i < t->n; i++) {
        if (t->keys[i] >= st->width)
            return rfail(de, "record %zu: key %llu is outside the shape %llu", rec,
                         (unsigned long long)t->keys[i], (unsigned long long)st->width);
        if (i && t->keys[i] <= t->keys[i - 1])
            return rfail(de, "record %zu: keys are not strictly increasing", rec);
        m->indices[m->nnz] = (uint32_t)t->keys[i];
        m->values[m->nnz++] = (float)tget(t, i);
    }
    m->indptr[rec + 1] = m->nnz;
    return SMX_OK;
}

/* Record r's features["values"] as the next row. */
static int add_record(serve_matrix *m, rows *st, const Aialgs__Data__Record *r, serve_derr *de)
{
    tview t;
    int rc = view_of(r, st->rec, &t, de);
    if (rc)
        return rc;
    int is_sparse = t.n_keys > 0 || (t.n == 0 && t.n_shape > 0);
    uint64_t w = is_sparse ? (t.n_shape ? t.shape[0] : 0) : t.n;
    if (st->sparse < 0) {
        st->sparse = is_sparse;
        st->width = w;
    }
    if (is_sparse != st->sparse || w != st->width)
        return rfail(de,
                     "record %zu: feature 'values' has %s width %llu, the first record %s width "
                     "%llu",
                     st->rec, is_sparse ? "sparse" : "dense", (unsigned long long)w,
                     st->sparse ? "sparse" : "dense", (unsigned long long)st->width);
    if (st->sparse && !t.n_shape)
        return rfail(de, "record %zu: sparse tensor without a shape", st->rec);
    return st->sparse ? add_sparse(m, st, &t, de) : add_dense(m, st, &t, de);
}

/* After the last record: what mlio and the DMatrix refuse, then the shape. */
static int finish(serve_matrix *m, const rows *st, serve_derr *de)
{
    if (st->rec == 0) {
        de->pytype = "<class 'TypeError'>";
        snprintf(de->msg, sizeof de->msg, "'NoneType' object is not subscriptable");
        return SMX_EFORMAT;
    }
    if (st->width > UINT32_MAX)
        return rfail(de, "feature width %llu is too large", (unsigned long long)st->width);
    const float *v = st->sparse ? m->values : m->x;
    size_t nv = st->sparse ? m->nnz : st->nvals;
    for (size_t i = 0; i < nv; i++)
        if (isinf(v[i])) {
            serve_xgb_inf_error(de);
            return SMX_EFORMAT;
        }
    m->sparse = st->sparse;
    m->nrow = st->rec;
    m->ncol = st->width;
    return SMX_OK;
}

int serve_recordio_decode(const char *buf, size_t len, serve_matrix *m, serve_derr *de)
{
    const unsigned char *p = (const unsigned char *)buf;
    rows st = {.sparse = -1};
    m->nrow = m->ncol = 0;
    m->nnz = 0;
    for (size_t off = 0; off < len;) {
        size_t n = 0;
        int rc = frame_at(p, len, off, &n, de);
        if (rc)
            return rc;
        Aialgs__Data__Record *r =
            aialgs__data__record__unpack(NULL, n, (const uint8_t *)p + off + 8);
        if (!r)
            return rfail(de, "record at byte offset %zu is not a valid Record protobuf", off);
        rc = add_record(m, &st, r, de);
        aialgs__data__record__free_unpacked(r, NULL);
        if (rc)
            return rc;
        st.rec++;
        off += 8 + ((n + 3) & ~(size_t)3);
        if (off > len)
            off = len; /* missing padding after the last record is tolerated */
    }
    return finish(m, &st, de);
}

/* ---- output ------------------------------------------------------------------------------ */

int serve_rio_record(const serve_rio_label *labels, size_t n, smx_buf *out)
{
    Aialgs__Data__Record r = AIALGS__DATA__RECORD__INIT;
    Aialgs__Data__Record__LabelEntry ents[16], *ptrs[16];
    Aialgs__Data__Value vals[16];
    Aialgs__Data__Float32Tensor tens[16];
    if (n > 16)
        return SMX_EINVAL;
    for (size_t i = 0; i < n; i++) {
        aialgs__data__record__label_entry__init(&ents[i]);
        aialgs__data__value__init(&vals[i]);
        aialgs__data__float32_tensor__init(&tens[i]);
        tens[i].n_values = labels[i].n;
        tens[i].values = (float *)labels[i].values;
        vals[i].value_case = AIALGS__DATA__VALUE__VALUE_FLOAT32_TENSOR;
        vals[i].float32_tensor = &tens[i];
        ents[i].key = (char *)labels[i].key;
        ents[i].value = &vals[i];
        ptrs[i] = &ents[i];
    }
    r.n_label = n;
    r.label = ptrs;
    size_t sz = aialgs__data__record__get_packed_size(&r);
    if (smx_buf_reserve(out, sz))
        return SMX_ENOMEM;
    aialgs__data__record__pack(&r, (uint8_t *)out->data + out->len);
    out->len += sz;
    out->data[out->len] = '\0';
    return SMX_OK;
}

int serve_rio_frame(const void *data, size_t len, smx_buf *out)
{
    unsigned char hdr[8];
    uint32_t magic = RIO_MAGIC, l = (uint32_t)len;
    for (int i = 0; i < 4; i++) {
        hdr[i] = (unsigned char)(magic >> (8 * i));
        hdr[4 + i] = (unsigned char)(l >> (8 * i));
    }
    static const char zeros[4] = {0};
    size_t pad = (4 - (len & 3)) & 3;
    if (smx_buf_append(out, hdr, 8) || smx_buf_append(out, data, len) ||
        smx_buf_append(out, zeros, pad))
        return SMX_ENOMEM;
    return SMX_OK;
}
