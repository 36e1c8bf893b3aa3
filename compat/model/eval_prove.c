/*
 * The proof that an evaluator equals an XGBoost (the oracle), bit for bit, on rows made to
 * find where they could differ.
 *
 * Every feature gets a list of candidate values: each threshold it is split on and the floats
 * one ulp below and above it; for a categorical split, each category of its set, the
 * categories just past its largest and past its bit set, fractional, negative and
 * out-of-range (>= 2^24) categories; and for every feature NaN (missing), +-0, +-1, the
 * smallest subnormal, the largest floats. Row r takes, for feature f, candidate
 * (r + offset_f) mod |list_f|, so max |list_f| rows hold every candidate of every feature
 * (each beside varied values of the other features); 64 more rows draw candidates at random.
 * A second batch puts +inf and -inf in each feature in turn. Rows are generated and compared
 * in chunks, so memory stays small whatever the width of the rows; each chunk is evaluated
 * whole and again one to three rows at a time (small requests take another path).
 *
 * The proof is complete or it is not proven: when covering every candidate would take more
 * than MDL_EV_PROOF_WORK tree evaluations (rows x trees), nothing is compared and why says so.
 */
#include "eval_private.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    PROOF_WORK = 1 << 27,   /* rows x trees the oracle is asked for, at most */
    PROOF_CHUNK = 1 << 20,  /* floats of rows generated at once */
    PROOF_RANDOM_ROWS = 64, /* rows drawn at random after the covering ones */
    PROOF_INF_ROWS = 256    /* rows of the +-inf batch past the two all-inf rows, at most */
};

typedef struct cands {
    float *v;
    size_t n, cap;
} cands;

static int add(cands *c, float x)
{
    if (smx_grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v))
        return -1;
    c->v[c->n++] = x;
    return 0;
}

static int add_threshold(cands *c, float t)
{
    if (isnan(t))
        return 0;
    return add(c, t) || add(c, nextafterf(t, -INFINITY)) || add(c, nextafterf(t, INFINITY));
}

static int add_categories(const compat_eval *e, const mdl_ev_gnode *n, cands *c)
{
    const mdl_ev_cat *ct = &e->cats[n->cat];
    int rc = 0;
    uint32_t mx = 0;
    for (uint32_t b = 0; b < ct->words * 32 && !rc; b++)
        if ((e->cat_bits[ct->off + b / 32] >> (31 - b % 32)) & 1u) {
            rc = add(c, (float)b) || add(c, (float)b + 0.5f);
            mx = b;
        }
    float edge[] = {(float)mx + 1, (float)(ct->words * 32),     (float)(ct->words * 32) - 1, -1.0f,
                    -0.5f,         (float)(MDL_EV_MAX_CAT - 1), (float)MDL_EV_MAX_CAT,       1e9f};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0] && !rc; i++)
        rc = add(c, edge[i]);
    return rc;
}

static int cmp_bits(const void *a, const void *b)
{
    uint32_t x, y;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    return (x > y) - (x < y);
}

/* Sort and drop repeats (bit patterns: -0 and +0 stay apart); returns the new count. */
static size_t dedupe(cands *c)
{
    if (!c->n)
        return 0;
    qsort(c->v, c->n, sizeof *c->v, cmp_bits);
    size_t k = 1;
    for (size_t i = 1; i < c->n; i++)
        if (memcmp(&c->v[i], &c->v[k - 1], 4))
            c->v[k++] = c->v[i];
    return c->n = k;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Distinct numeric (feature, threshold) pairs: what the report counts as covered. */
static size_t count_thresholds(const compat_eval *e)
{
    uint64_t *k = malloc((e->n_cnodes + e->n_gnodes + 1) * sizeof *k);
    if (!k)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < e->n_cnodes + e->n_gnodes; i++) {
        int complete = i < e->n_cnodes;
        const mdl_ev_gnode *g = complete ? NULL : &e->gnodes[i - e->n_cnodes];
        float c = complete ? e->cnodes[i].cond : g->cond;
        uint32_t fd = complete ? e->cnodes[i].fd : g->fd, bits;
        if (isnan(c) || (fd & (MDL_EV_LEAF | MDL_EV_CAT)))
            continue;
        memcpy(&bits, &c, 4);
        k[n++] = (uint64_t)(fd & MDL_EV_FEAT) << 32 | bits;
    }
    qsort(k, n, sizeof *k, cmp_u64);
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += i == 0 || k[i] != k[i - 1];
    free(k);
    return d;
}

/* The candidates of every feature (cs: cols lists). */
static int collect(const compat_eval *e, cands *cs, size_t cols)
{
    int rc = 0;
    for (size_t i = 0; i < e->n_cnodes && !rc; i++)
        rc = add_threshold(&cs[e->cnodes[i].fd & MDL_EV_FEAT], e->cnodes[i].cond);
    for (size_t i = 0; i < e->n_gnodes && !rc; i++) {
        const mdl_ev_gnode *n = &e->gnodes[i];
        if (n->fd & MDL_EV_LEAF)
            continue;
        cands *c = &cs[n->fd & MDL_EV_FEAT];
        rc = n->fd & MDL_EV_CAT ? add_categories(e, n, c) : add_threshold(c, n->cond);
    }
    static const float generic[] = {NAN, 0.0f, -0.0f, 1.0f, -1.0f, 1e-45f, FLT_MAX, -FLT_MAX};
    for (size_t f = 0; f < cols && !rc; f++) {
        for (size_t g = 0; g < sizeof generic / sizeof generic[0] && !rc; g++)
            rc = add(&cs[f], generic[g]);
        if (!rc)
            dedupe(&cs[f]);
    }
    return rc ? SMX_ENOMEM : SMX_OK;
}

static uint32_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return (uint32_t)(x ^ (x >> 33));
}

/* Row r of the main batch: covering rows first, then random ones. */
static void main_row(const cands *cs, size_t cols, size_t covering, size_t r, float *row)
{
    for (size_t f = 0; f < cols; f++) {
        size_t n = cs[f].n, i;
        if (r < covering)
            i = (r + mix(f)) % n;
        else
            i = mix((uint64_t)r * cols + f + 1) % n;
        row[f] = cs[f].v[i];
    }
}

/* Row r of the +-inf batch: all +inf, all -inf, then one feature at +-inf in turn. */
static void inf_row(const cands *cs, size_t cols, size_t r, float *row)
{
    for (size_t f = 0; f < cols; f++)
        row[f] =
            r < 2 ? (r ? -INFINITY : INFINITY) : cs[f].v[mix((uint64_t)r * cols + f) % cs[f].n];
    if (r >= 2)
        row[(r - 2) / 2 % cols] = r % 2 ? -INFINITY : INFINITY;
}

typedef struct batch {
    const compat_eval *e;
    const cands *cs;
    size_t cols, rows, covering;
    int inf;
    float *X, *ours; /* one chunk */
    size_t chunk;    /* rows per chunk */
} batch;

static int first_difference(const batch *b, size_t r0, const float *theirs, size_t n,
                            compat_eval_proof *out)
{
    size_t w = b->e->width;
    for (size_t i = 0; i < n * w; i++)
        if (memcmp(&theirs[i], &b->ours[i], 4)) {
            uint32_t a, c;
            memcpy(&a, &theirs[i], 4);
            memcpy(&c, &b->ours[i], 4);
            snprintf(out->why, sizeof out->why,
                     "%s row %zu, output %zu: XGBoost %.9g (0x%08x), evaluator %.9g (0x%08x)",
                     b->inf ? "+-inf" : "generated", r0 + i / w, i % w, (double)theirs[i], a,
                     (double)b->ours[i], c);
            return 1;
        }
    return 0;
}

/* Compare one batch chunk by chunk. SMX_OK with out->why set when they differ; the oracle's
 * error in *oerr (SMX_ERUNTIME) when it refused a chunk. */
static int run_batch(batch *b, compat_eval_oracle oracle, void *ctx, compat_eval_proof *out,
                     smx_err *oerr)
{
    for (size_t r0 = 0; r0 < b->rows; r0 += b->chunk) {
        size_t n = b->rows - r0 < b->chunk ? b->rows - r0 : b->chunk;
        for (size_t i = 0; i < n; i++) {
            float *row = b->X + i * b->cols;
            if (b->inf)
                inf_row(b->cs, b->cols, r0 + i, row);
            else
                main_row(b->cs, b->cols, b->covering, r0 + i, row);
        }
        compat_eval_dense(b->e, b->X, n, b->cols, b->ours);
        const float *theirs;
        uint64_t shape[2];
        if (oracle(ctx, b->X, n, b->cols, &theirs, shape, oerr))
            return SMX_ERUNTIME;
        if (shape[0] != n || shape[0] * shape[1] != n * b->e->width) {
            snprintf(out->why, sizeof out->why,
                     "XGBoost answered %llu x %llu values for %zu rows, the evaluator %zu x %zu",
                     (unsigned long long)shape[0], (unsigned long long)shape[1], n, n, b->e->width);
            return SMX_OK;
        }
        if (first_difference(b, r0, theirs, n, out))
            return SMX_OK;
        /* the same rows a few at a time (a request of one row takes another path) */
        for (size_t i = 0; i < n; i += 1 + i % 3)
            compat_eval_dense(b->e, b->X + i * b->cols, 1 + i % 3 < n - i ? 1 + i % 3 : n - i,
                              b->cols, b->ours + i * b->e->width);
        if (first_difference(b, r0, theirs, n, out))
            return SMX_OK;
        out->rows += n;
    }
    return SMX_OK;
}

static int prove_with(const compat_eval *e, cands *cs, size_t cols, compat_eval_oracle oracle,
                      void *ctx, compat_eval_proof *out, smx_err *err)
{
    size_t widest = 0, trees = e->linear ? 1 : e->n_trees ? e->n_trees : 1;
    for (size_t f = 0; f < cols; f++)
        widest = cs[f].n > widest ? cs[f].n : widest;
    batch b = {e, cs, cols, widest + PROOF_RANDOM_ROWS, widest, 0, NULL, NULL, 0};
    if ((double)b.rows * (double)trees > PROOF_WORK) {
        snprintf(out->why, sizeof out->why,
                 "covering every threshold takes %zu rows x %zu trees, more than the proof's "
                 "budget of %d",
                 b.rows, trees, PROOF_WORK);
        return SMX_OK;
    }
    b.chunk = PROOF_CHUNK / cols;
    b.chunk = b.chunk < 1 ? 1 : b.chunk > b.rows ? b.rows : b.chunk;
    size_t inf_rows = 2 + (2 * cols < PROOF_INF_ROWS ? 2 * cols : PROOF_INF_ROWS);
    size_t chunk_rows = b.chunk > inf_rows ? b.chunk : inf_rows;
    b.X = malloc(chunk_rows * cols * sizeof *b.X);
    b.ours = malloc(chunk_rows * e->width * sizeof *b.ours);
    int rc = SMX_OK;
    smx_err oerr = {0};
    if (!b.X || !b.ours)
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!rc && run_batch(&b, oracle, ctx, out, &oerr))
        snprintf(out->why, sizeof out->why, "XGBoost refused the generated rows: %.400s", oerr.msg);
    if (!rc && !out->why[0]) {
        batch ib = b;
        ib.inf = 1;
        ib.rows = ib.chunk = inf_rows;
        size_t before = out->rows;
        if (run_batch(&ib, oracle, ctx, out, &oerr)) {
            out->inf_refused = 1; /* XGBoost refuses +-inf: so do the callers' decoders */
            out->rows = before;
        }
    }
    free(b.X);
    free(b.ours);
    return rc;
}

int compat_eval_prove(const compat_eval *e, compat_eval_oracle oracle, void *ctx,
                      compat_eval_proof *out, smx_err *err)
{
    memset(out, 0, sizeof *out);
    size_t cols = e->cols ? e->cols : 1;
    cands *cs = calloc(cols, sizeof *cs);
    if (!cs)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    int rc = collect(e, cs, cols);
    if (rc)
        smx_fail(err, rc, "out of memory");
    else
        rc = prove_with(e, cs, cols, oracle, ctx, out, err);
    for (size_t f = 0; f < cols; f++)
        free(cs[f].v);
    free(cs);
    if (!rc) {
        out->thresholds = count_thresholds(e);
        out->proven = !out->why[0];
    }
    return rc;
}
