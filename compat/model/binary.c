/*
 * The legacy binary ("deprecated") model format, read without XGBoost (formats.md section 1).
 *
 * Layout, little-endian, dmlc serializer: optional "binf" magic (1.1.0-3.0.x), a 136-byte
 * LearnerModelParam, the objective and booster names (u64 length + bytes), the booster
 * payload (gbtree/dart: a 160-byte model param, then per tree a 148-byte param, 20-byte nodes
 * and 16-byte stats, then tree_info and dart's weight_drop; gblinear: a 136-byte param and a
 * vector of weights), then the attributes. Every length is checked against the bytes left
 * before anything is allocated, so a corrupt count cannot make us allocate or read past the
 * end; the first problem is reported with its byte offset.
 *
 * The writer version comes from the header: major/minor (1.0+; patch never stored), the
 * magic (1.1+), num_target (1.6+), boost_from_average (1.7+); major 0 means 0.90 or older.
 */
#include "model_private.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A step of a streaming read waits for more bytes (nothing consumed), or has consumed what
 * was there and waits for the rest (MORE_KEPT). */
#define NEED_MORE (-2)
#define MORE_KEPT (-3)

/* The bytes at hand: the whole file, or (streaming) the part of it not consumed yet. */
typedef struct cur {
    const unsigned char *b;
    size_t len, pos;
    compat_model_info *m;
    uint64_t base;  /* file offset of b[0] */
    uint64_t total; /* the file's size; MDL_SIZE_UNKNOWN when not known */
    int more;       /* bytes past b[len) are still to come */
} cur;

static uint32_t u32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t u64le(const unsigned char *p)
{
    return u32le(p) | (uint64_t)u32le(p + 4) << 32;
}
static int32_t i32le(const unsigned char *p)
{
    return (int32_t)u32le(p);
}
static float f32le(const unsigned char *p)
{
    uint32_t u = u32le(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static size_t left(const cur *c)
{
    return c->len - c->pos;
}

/* The file offset of the next byte. */
static size_t at(const cur *c)
{
    return (size_t)(c->base + c->pos);
}

/* Bytes from here to the end of the file, as far as known (UINT64_MAX: not known yet). */
static uint64_t rest(const cur *c)
{
    if (!c->more)
        return left(c);
    return c->total == MDL_SIZE_UNKNOWN || c->total < c->base + c->pos
               ? UINT64_MAX
               : c->total - (c->base + c->pos);
}

static int need(cur *c, uint64_t n, const char *what)
{
    if (left(c) >= n)
        return 0;
    if (c->more && rest(c) >= n)
        return NEED_MORE;
    return mdl_corrupt(c->m,
                       "truncated legacy binary: at byte offset %zu expected %s (%zu bytes), "
                       "but only %zu bytes are left",
                       at(c), what, (size_t)n, (size_t)(c->more ? rest(c) : left(c)));
}

/* dmlc string: u64 length + bytes. *s points into the buffer. */
static int get_str(cur *c, const char *what, size_t max, const unsigned char **s, size_t *n)
{
    size_t from = at(c);
    char w[96];
    snprintf(w, sizeof w, "the length of %s", what);
    int rc = need(c, 8, w);
    if (rc)
        return rc;
    uint64_t l = u64le(c->b + c->pos);
    if (l > max || l > rest(c) - 8)
        return mdl_corrupt(c->m,
                           "corrupt legacy binary: at byte offset %zu expected %s, but its "
                           "length field says %llu bytes (%zu bytes are left)",
                           from, what, (unsigned long long)l, (size_t)(rest(c) - 8));
    if (left(c) - 8 < l)
        return NEED_MORE;
    c->pos += 8;
    *s = c->b + c->pos;
    *n = (size_t)l;
    c->pos += (size_t)l;
    return 0;
}

static int is_objective_name(const unsigned char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || s[i] == ':'))
            return 0;
    return 1;
}

static int is_booster_name(const unsigned char *s, size_t n)
{
    return (n == 6 && !memcmp(s, "gbtree", 6)) || (n == 8 && !memcmp(s, "gblinear", 8)) ||
           (n == 4 && !memcmp(s, "dart", 4));
}

int mdl_binary_sniff(const unsigned char *b, size_t len)
{
    if (len < 144)
        return 0;
    uint64_t l = u64le(b + 136);
    if (l < 1 || l > 64 || len < 144 + l + 8)
        return 0;
    if (!is_objective_name(b + 144, (size_t)l))
        return 0;
    uint64_t l2 = u64le(b + 144 + l);
    if (l2 < 4 || l2 > 8 || len < 152 + l + l2)
        return 0;
    return is_booster_name(b + 152 + l, (size_t)l2);
}

static void binary_version(compat_model_info *m, int magic, uint32_t major, uint32_t minor,
                           uint32_t ntarget, int32_t bfa)
{
    compat_version lo = {(int)major, (int)minor, -1}, hi = {(int)major, (int)minor, -1};
    if (major == 0) {
        lo = (compat_version){-1, 0, -1};
        hi = (compat_version){0, 90, -1};
        mdl_set_writer(m, lo, hi, 0);
        int saved = 0;
        for (size_t i = 0; i < m->n_attrs; i++)
            saved |= !strncmp(m->attrs[i].key, "SAVED_PARAM_", 12);
        mdl_note(m,
                 "major_version 0 in the header: written by XGBoost 0.90 or older (no finer "
                 "dating)%s",
                 saved ? "; SAVED_PARAM_* attributes suggest 0.8x-0.90" : "");
        return;
    }
    if (major > 3 || minor > 99) {
        mdl_set_writer(m, (compat_version){-1, 0, -1}, (compat_version){-1, 0, -1}, 0);
        mdl_note(m, "the header claims version %u.%u, which no XGBoost wrote", major, minor);
        return;
    }
    mdl_set_writer(m, lo, hi, 0);
    const char *extra = "";
    if (ntarget >= 1 && bfa == 1)
        extra = "; num_target and boost_from_average set (1.7+)";
    else if (ntarget >= 1)
        extra = "; num_target set (1.6+)";
    if (magic)
        mdl_note(m, "major/minor %u.%u from the header, patch not stored; binf magic (1.1-3.0)%s",
                 major, minor, extra);
    else if (major == 1 && minor == 0)
        mdl_note(m, "major/minor 1.0 from the header, patch not stored; no binf magic (1.0.x)");
    else
        mdl_note(m,
                 "major/minor %u.%u from the header, patch not stored; the binf magic that "
                 "%u.%u writes is missing%s",
                 major, minor, major, minor, extra);
}

/* What the 136-byte LearnerModelParam says that the rest of the reading needs. */
typedef struct header {
    uint32_t major, minor, ntarget;
    int32_t extra_attrs, metrics, bfa;
} header;

static void read_header(cur *c, compat_model_info *m, header *h)
{
    const unsigned char *p = c->b + c->pos;
    float bs = f32le(p);
    uint32_t nf = u32le(p + 4);
    h->major = u32le(p + 20);
    h->minor = u32le(p + 24);
    h->ntarget = u32le(p + 28);
    h->extra_attrs = i32le(p + 12);
    h->metrics = i32le(p + 16);
    h->bfa = i32le(p + 32);
    c->pos += 136;
    uint32_t major = h->major, minor = h->minor;
    snprintf(m->base_score, sizeof m->base_score, "%.9g", (double)bs);
    m->base_score_is_margin = major == 0;
    m->num_feature = nf;
    m->num_class = i32le(p + 8);
    int v16 = major > 1 || (major == 1 && minor >= 6),
        v17 = major > 1 || (major == 1 && minor >= 7);
    m->num_target = v16 && h->ntarget >= 1 ? h->ntarget : 1;
    m->boost_from_average = v17 ? h->bfa : -1;
    /* provisional writer range from the header (refined by binary_version at the end), so that
     * a file read only in part (verify reads the head of a huge model) still says who wrote it */
    if (major == 0)
        mdl_set_writer(m, (compat_version){-1, 0, -1}, (compat_version){0, 90, -1}, 0);
    else if (major <= 3 && minor <= 99)
        mdl_set_writer(m, (compat_version){(int)major, (int)minor, -1},
                       (compat_version){(int)major, (int)minor, -1}, 0);
}

/* The objective and booster names. */
static int read_names(cur *c, compat_model_info *m)
{
    const unsigned char *s;
    size_t sl;
    size_t from = at(c);
    int rc = get_str(c, "the objective name", 256, &s, &sl);
    if (rc)
        return rc;
    if (!is_objective_name(s, sl))
        return mdl_corrupt(m,
                           "corrupt legacy binary: at byte offset %zu expected an objective "
                           "name such as \"binary:logistic\"",
                           from);
    mdl_copy(m->objective, sizeof m->objective, (const char *)s, sl);
    from = at(c);
    if ((rc = get_str(c, "the booster name", 64, &s, &sl)))
        return rc;
    if (!is_booster_name(s, sl))
        return mdl_corrupt(m,
                           "corrupt legacy binary: at byte offset %zu expected the booster "
                           "name gbtree, dart or gblinear",
                           from);
    mdl_copy(m->booster, sizeof m->booster, (const char *)s, sl);
    return SMX_OK;
}

/*
 * The objective's configuration: 1.0+ keep its JSON in the "objective" attribute and give it
 * to the objective's LoadConfig at load (v1.0.0:src/learner.cc:537-541 reads it, :605-610
 * writes it); without the attribute (0.90 and older) XGBoost configures nothing. A value that
 * does not parse stays unread (XGBoost's own Json::Load would abort on it).
 */
static int read_objective_config(compat_model_info *m, int attrs_read)
{
    const char *cfg = NULL;
    for (size_t i = 0; i < m->n_attrs; i++)
        if (!strcmp(m->attrs[i].key, "objective"))
            cfg = m->attrs[i].value;
    if (!cfg) {
        m->objective_config = attrs_read ? COMPAT_OBJCFG_NONE : COMPAT_OBJCFG_UNREAD;
        return SMX_OK;
    }
    json_error_t e;
    json_t *j = json_loads(cfg, 0, &e);
    if (!json_is_object(j)) {
        json_decref(j);
        return SMX_OK;
    }
    const char *k;
    json_t *v;
    int rc = SMX_OK;
    json_object_foreach(j, k, v) if (!rc && strcmp(k, "name")) rc =
        mdl_add_str(&m->objective_params, &m->n_objective_params, k, strlen(k));
    json_decref(j);
    m->objective_config = COMPAT_OBJCFG_READ;
    return rc;
}

/* What 0.90 and older write after the attributes: count:poisson's max_delta_step, metrics. */
static int read_090_trailer(cur *c, compat_model_info *m, const header *h)
{
    const unsigned char *s;
    size_t sl;
    int rc;
    if (!strcmp(m->objective, "count:poisson") &&
        (rc = get_str(c, "max_delta_step (0.90 count:poisson)", 256, &s, &sl)))
        return rc;
    if (h->metrics == 0)
        return SMX_OK;
    if ((rc = need(c, 8, "the eval metric count")))
        return rc;
    uint64_t n = u64le(c->b + c->pos);
    if (n > (rest(c) - 8) / 8)
        return mdl_corrupt(m,
                           "corrupt legacy binary: at byte offset %zu the metric count is too "
                           "large",
                           at(c));
    c->pos += 8;
    for (uint64_t i = 0; i < n; i++)
        if ((rc = get_str(c, "an eval metric name", 256, &s, &sl)))
            return rc;
    return SMX_OK;
}

/* ---- the reading, step by step -------------------------------------------------------------
 *
 * A whole read and a streaming one are the same steps: a whole read has every byte at hand
 * (more = 0) and keeps the trees for the reference predictor; a streaming one gets the bytes
 * as they come, checks the trees node by node and keeps none. A step either completes, or
 * waits for more bytes (NEED_MORE: it is run again from its start), or has consumed what was
 * at hand and waits for the rest (MORE_KEPT: node arrays, tree_info, weight vectors, which
 * may be larger than any buffer we would hold). Bytes that only need passing over (node
 * statistics, long attribute values) are skipped without being held.
 */

enum {
    B_MAGIC,
    B_HEADER,
    B_NAMES,
    B_PARAM,
    B_TREE,
    B_NODES,
    B_TREE_INFO,
    B_FLOAT_COUNT,
    B_FLOATS,
    B_ATTR_COUNT,
    B_ATTR,
    B_TRAILER,
    B_TRAIL,
    B_DONE
};

typedef struct bin {
    cur c;
    int step;
    int keep; /* a whole read: keep the trees */
    int magic;
    header h;
    int32_t nt;       /* trees */
    size_t t;         /* the tree being read */
    int32_t nn;       /* its nodes, how many were read */
    size_t node;      /* nodes of it read */
    compat_tree *tr;  /* where its nodes go (NULL: checked only) */
    size_t k;         /* tree_info entries, weights read */
    uint64_t nf;      /* weights announced */
    float *fv;        /* weights kept (a whole read) */
    uint64_t n_attrs; /* attributes announced, read */
    uint64_t attr;
    uint64_t skip;         /* bytes to pass over */
    uint64_t trailing;     /* bytes after the model */
    int objective_skipped; /* the "objective" attribute was too long to keep */
} bin;

static int step_magic(bin *s)
{
    cur *c = &s->c;
    if (left(c) < 4 && c->more)
        return NEED_MORE;
    s->magic = left(c) >= 4 && !memcmp(c->b + c->pos, "binf", 4);
    mdl_detail(c->m, "legacy binary %s", s->magic ? "with binf magic" : "without magic");
    if (left(c) >= 4 && !memcmp(c->b + c->pos, "bs64", 4))
        return mdl_corrupt(c->m, "base64 legacy binary (\"bs64\", before XGBoost 0.6): no "
                                 "current XGBoost reads it");
    if (s->magic)
        c->pos += 4;
    s->step = B_HEADER;
    return 0;
}

static int step_header(bin *s)
{
    int rc = need(&s->c, 136, "LearnerModelParam");
    if (rc)
        return rc;
    read_header(&s->c, s->c.m, &s->h);
    s->step = B_NAMES;
    return 0;
}

static int step_names(bin *s)
{
    int rc = read_names(&s->c, s->c.m);
    if (!rc)
        s->step = B_PARAM;
    return rc;
}

static int step_gblinear(bin *s)
{
    cur *c = &s->c;
    compat_model_info *m = c->m;
    int rc = need(c, 136, "the gblinear model parameters (136 bytes)");
    if (rc)
        return rc;
    uint32_t nf = u32le(c->b + c->pos);
    int32_t ng = i32le(c->b + c->pos + 4);
    c->pos += 136;
    if (nf && m->num_feature == 0)
        m->num_feature = nf;
    if (ng > 1 && m->num_class <= 1)
        m->num_class = ng;
    s->step = B_FLOAT_COUNT;
    return 0;
}

/* The booster's parameters: gblinear's, or gbtree's and dart's (how many trees). */
static int step_param(bin *s)
{
    cur *c = &s->c;
    compat_model_info *m = c->m;
    if (!strcmp(m->booster, "gblinear"))
        return step_gblinear(s);
    int rc = need(c, 160, "the gbtree model parameters (160 bytes)");
    if (rc)
        return rc;
    size_t from = at(c);
    const unsigned char *p = c->b + c->pos;
    int32_t nt = i32le(p), npt = i32le(p + 4), ngroup = i32le(p + 24), slv = i32le(p + 28);
    c->pos += 160;
    if (nt < 0 || nt > MDL_MAX_TREES || (uint64_t)nt > rest(c) / (148 + 36 + 4))
        return mdl_corrupt(m,
                           "corrupt legacy binary: gbtree parameters at byte offset %zu say "
                           "num_trees = %d, more than the %zu bytes left can hold",
                           from, nt, (size_t)rest(c));
    m->num_trees = s->nt = nt;
    m->num_parallel_tree = npt >= 1 && s->h.major >= 1 ? npt : 1;
    m->size_leaf_vector = slv;
    if (s->h.major == 0 && ngroup > 1 && m->num_class <= 1)
        m->num_class = ngroup;
    if (s->keep) {
        m->trees = calloc(nt ? (size_t)nt : 1, sizeof *m->trees);
        m->tree_info = calloc(nt ? (size_t)nt : 1, sizeof *m->tree_info);
        if (!m->trees || !m->tree_info)
            return SMX_ENOMEM;
        m->n_tree_structs = (size_t)nt;
    }
    s->step = nt ? B_TREE : B_ATTR_COUNT; /* no trees: no tree_info, no weights */
    return 0;
}

/* A tree's parameters: how many nodes follow. */
static int step_tree(bin *s)
{
    cur *c = &s->c;
    size_t from = at(c);
    char w[96];
    snprintf(w, sizeof w, "the parameters of tree %zu", s->t);
    int rc = need(c, 148, w);
    if (rc)
        return rc;
    int32_t nn = i32le(c->b + c->pos + 4);
    int32_t slv = i32le(c->b + c->pos + 20);
    c->pos += 148;
    if (nn <= 0 || nn > MDL_MAX_NODES || (uint64_t)nn > rest(c) / 36)
        return mdl_corrupt(c->m,
                           "corrupt legacy binary: tree %zu at byte offset %zu says num_nodes "
                           "= %d, expected 1..%zu for the %zu bytes left",
                           s->t, from, nn, (size_t)(rest(c) / 36), (size_t)rest(c));
    s->nn = nn;
    s->node = 0;
    s->tr = s->keep ? &c->m->trees[s->t] : NULL;
    if (s->tr) {
        if (mdl_tree_alloc(s->tr, (size_t)nn, slv))
            return SMX_ENOMEM;
    }
    s->step = B_NODES;
    return 0;
}

/* As many 20-byte nodes as are at hand; then the 16-byte statistics, passed over. */
static int step_nodes(bin *s)
{
    cur *c = &s->c;
    size_t k = left(c) / 20, todo = (size_t)s->nn - s->node;
    if (k > todo)
        k = todo;
    for (size_t q = 0; q < k; q++) {
        const unsigned char *p = c->b + c->pos + 20 * q;
        size_t i = s->node + q;
        int32_t l = i32le(p + 4), r = i32le(p + 8);
        uint32_t si = u32le(p + 12);
        if (l != -1 && (l <= 0 || l >= s->nn || r <= 0 || r >= s->nn))
            return mdl_corrupt(c->m,
                               "corrupt legacy binary: tree %zu node %zu at byte offset %zu "
                               "has children %d/%d, expected -1 or 1..%d",
                               s->t, i, at(c) + 20 * q, l, r, s->nn - 1);
        if (s->tr) {
            s->tr->left[i] = l;
            s->tr->right[i] = l == -1 ? -1 : r;
            s->tr->split_index[i] = si & 0x7fffffffu;
            s->tr->default_left[i] = (uint8_t)(si >> 31);
            s->tr->split_cond[i] = f32le(p + 16);
        }
    }
    c->pos += 20 * k;
    s->node += k;
    if (s->node < (size_t)s->nn) {
        char w[96];
        snprintf(w, sizeof w, "node %zu of tree %zu", s->node, s->t);
        int rc = need(c, 20, w);
        return rc == NEED_MORE ? MORE_KEPT : rc;
    }
    s->skip = (uint64_t)s->nn * 16; /* the statistics we do not need */
    s->step = ++s->t < (size_t)s->nt ? B_TREE : B_TREE_INFO;
    return 0;
}

/* The output group of each tree. */
static int step_tree_info(bin *s)
{
    cur *c = &s->c;
    const char *w = "tree_info (the output group of each tree)";
    int rc = s->k ? 0 : need(c, 4 * (uint64_t)s->nt, w);
    if (rc && rc != NEED_MORE)
        return rc;
    size_t k = left(c) / 4, todo = (size_t)s->nt - s->k;
    if (k > todo)
        k = todo;
    for (size_t q = 0; s->keep && q < k; q++)
        c->m->tree_info[s->k + q] = i32le(c->b + c->pos + 4 * q);
    c->pos += 4 * k;
    s->k += k;
    if (s->k < (size_t)s->nt)
        return (rc = need(c, 4 * ((uint64_t)s->nt - s->k), w)) == NEED_MORE ? MORE_KEPT : rc;
    s->step = !strcmp(c->m->booster, "dart") ? B_FLOAT_COUNT : B_ATTR_COUNT;
    return 0;
}

/* The count of dart's weight_drop, or of gblinear's weights. */
static int step_float_count(bin *s)
{
    cur *c = &s->c;
    const char *what = !strcmp(c->m->booster, "dart") ? "dart weight_drop" : "the gblinear weights";
    size_t from = at(c);
    char w[96];
    snprintf(w, sizeof w, "the element count of %s", what);
    int rc = need(c, 8, w);
    if (rc)
        return rc;
    uint64_t k = u64le(c->b + c->pos);
    if (k > (rest(c) - 8) / 4)
        return mdl_corrupt(c->m,
                           "corrupt legacy binary: at byte offset %zu expected %s, but its "
                           "count says %llu floats (%zu bytes are left)",
                           from, what, (unsigned long long)k, (size_t)(rest(c) - 8));
    c->pos += 8;
    s->nf = k;
    s->k = 0;
    if (s->keep && !(s->fv = malloc(k ? (size_t)k * sizeof *s->fv : 1)))
        return SMX_ENOMEM;
    s->step = B_FLOATS;
    return 0;
}

static int step_floats(bin *s)
{
    cur *c = &s->c;
    compat_model_info *m = c->m;
    size_t k = left(c) / 4, todo = (size_t)(s->nf - s->k);
    if (k > todo)
        k = todo;
    for (size_t q = 0; s->fv && q < k; q++)
        s->fv[s->k + q] = f32le(c->b + c->pos + 4 * q);
    c->pos += 4 * k;
    s->k += k;
    if (s->k < s->nf) {
        int rc = need(c, 4 * (s->nf - s->k), "the rest of the weights");
        return rc == NEED_MORE ? MORE_KEPT : rc;
    }
    int dart = !strcmp(m->booster, "dart");
    if (dart) {
        m->tree_weights = s->fv;
        s->fv = NULL;
        if (s->nf != (uint64_t)s->nt)
            return mdl_corrupt(m,
                               "corrupt legacy binary: dart weight_drop has %zu weights for %d "
                               "trees",
                               (size_t)s->nf, s->nt);
    } else {
        m->linear_weights = s->fv;
        m->n_linear_weights = s->fv ? (size_t)s->nf : 0;
        s->fv = NULL;
    }
    s->step = B_ATTR_COUNT;
    return 0;
}

static int step_attr_count(bin *s)
{
    cur *c = &s->c;
    if (s->h.extra_attrs == 0) {
        s->step = s->h.major == 0 ? B_TRAILER : B_TRAIL;
        return 0;
    }
    size_t from = at(c);
    int rc = need(c, 8, "the attribute count");
    if (rc)
        return rc;
    uint64_t n = u64le(c->b + c->pos);
    if (n > (rest(c) - 8) / 16)
        return mdl_corrupt(c->m,
                           "corrupt legacy binary: at byte offset %zu the attribute count is "
                           "%llu, more than the %zu bytes left can hold",
                           from, (unsigned long long)n, (size_t)(rest(c) - 8));
    c->pos += 8;
    s->n_attrs = n;
    s->attr = 0;
    s->step = n ? B_ATTR : s->h.major == 0 ? B_TRAILER : B_TRAIL;
    return 0;
}

/* One attribute. A value longer than MDL_MAX_STRING is no fact we use: passed over. */
static int step_attr(bin *s)
{
    cur *c = &s->c;
    const unsigned char *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    int rc = get_str(c, "an attribute name", MDL_MAX_STRING, &k, &kl);
    if (rc)
        return rc;
    size_t from = at(c);
    if ((rc = need(c, 8, "the length of an attribute value")))
        return rc;
    uint64_t l = u64le(c->b + c->pos);
    if (l > MDL_MAX_STRING) {
        if (l > rest(c) - 8)
            return mdl_corrupt(c->m,
                               "corrupt legacy binary: at byte offset %zu expected an attribute "
                               "value, but its length field says %llu bytes (%zu bytes are left)",
                               from, (unsigned long long)l, (size_t)(rest(c) - 8));
        c->pos += 8;
        s->skip = l;
        if (kl == 9 && !memcmp(k, "objective", 9))
            s->objective_skipped = 1;
    } else {
        if ((rc = get_str(c, "an attribute value", MDL_MAX_STRING, &v, &vl)))
            return rc;
        if (mdl_add_attr(c->m, (const char *)k, kl, (const char *)v, vl))
            return SMX_ENOMEM;
    }
    if (++s->attr == s->n_attrs)
        s->step = s->h.major == 0 ? B_TRAILER : B_TRAIL;
    return 0;
}

static int step_trailer(bin *s)
{
    int rc = read_090_trailer(&s->c, s->c.m, &s->h);
    if (!rc)
        s->step = B_TRAIL;
    return rc;
}

/* What follows the model: counted, not read. */
static int step_trail(bin *s)
{
    s->trailing += left(&s->c);
    s->c.pos = s->c.len;
    if (s->c.more)
        return MORE_KEPT;
    s->step = B_DONE;
    return 0;
}

static int (*const steps[])(bin *s) = {
    [B_MAGIC] = step_magic,         [B_HEADER] = step_header,
    [B_NAMES] = step_names,         [B_PARAM] = step_param,
    [B_TREE] = step_tree,           [B_NODES] = step_nodes,
    [B_TREE_INFO] = step_tree_info, [B_FLOAT_COUNT] = step_float_count,
    [B_FLOATS] = step_floats,       [B_ATTR_COUNT] = step_attr_count,
    [B_ATTR] = step_attr,           [B_TRAILER] = step_trailer,
    [B_TRAIL] = step_trail};

/* Run the steps over the bytes at hand: 0 when the model is read, NEED_MORE, or a status. */
static int run(bin *s)
{
    cur *c = &s->c;
    while (s->step != B_DONE) {
        if (s->skip) {
            size_t k = s->skip < left(c) ? (size_t)s->skip : left(c);
            c->pos += k;
            s->skip -= k;
            if (s->skip && c->more)
                return NEED_MORE;
            if (s->skip)
                return mdl_corrupt(c->m,
                                   "truncated legacy binary: the data ends at byte offset %zu, "
                                   "%llu bytes short",
                                   at(c), (unsigned long long)s->skip);
        }
        size_t from = c->pos;
        int rc = steps[s->step](s);
        if (rc == NEED_MORE)
            c->pos = from;
        if (rc == NEED_MORE || rc == MORE_KEPT)
            return NEED_MORE;
        if (rc)
            return rc;
    }
    return 0;
}

/* The model is read: the objective's configuration (1.0+ keep it in an attribute; 0.90 and
 * older have none), the writer from the header, and what follows it. */
static int finish(bin *s)
{
    compat_model_info *m = s->c.m;
    int rc = SMX_OK;
    if (s->h.major == 0)
        m->objective_config = COMPAT_OBJCFG_NONE;
    else if (s->objective_skipped)
        m->objective_config = COMPAT_OBJCFG_UNREAD;
    else
        rc = read_objective_config(m, 1);
    binary_version(m, s->magic, s->h.major, s->h.minor, s->h.ntarget, s->h.bfa);
    if (s->trailing)
        mdl_detail(m, "legacy binary %s, %zu trailing bytes ignored",
                   s->magic ? "with binf magic" : "without magic", (size_t)s->trailing);
    return rc;
}

int mdl_binary_read(const unsigned char *b, size_t len, compat_model_info *m)
{
    bin s;
    memset(&s, 0, sizeof s);
    s.c = (cur){b, len, 0, m, 0, len, 0};
    s.keep = 1;
    m->format = COMPAT_FMT_BINARY;
    m->payload = COMPAT_PAYLOAD_BIN;
    int rc = run(&s);
    free(s.fv);
    if (rc)
        return rc;
    return finish(&s);
}

/* ---- reading it as it streams ------------------------------------------------------------- */

typedef struct bstream {
    mdl_sreader r;
    bin s;
    smx_buf win; /* bytes a step is waiting to complete */
    int stopped; /* a problem was found: the rest is not read */
} bstream;

/* Run the steps over buf[0..n) (file offset base); returns the bytes consumed. */
static size_t bs_run(bstream *bs, const unsigned char *buf, size_t n, uint64_t base, int more)
{
    bin *s = &bs->s;
    s->c.b = buf;
    s->c.len = n;
    s->c.pos = 0;
    s->c.base = base;
    s->c.more = more;
    int rc = run(s);
    if (rc && rc != NEED_MORE)
        bs->stopped = 1;
    if (rc == SMX_ENOMEM)
        bs->stopped = 2;
    return s->c.pos;
}

static int bs_feed(mdl_sreader *r, const unsigned char *b, size_t n)
{
    bstream *bs = (bstream *)r;
    while (n && !bs->stopped && bs->s.step != B_DONE) {
        if (!bs->win.len) { /* straight from the chunk; what a step waits on is kept */
            size_t used = bs_run(bs, b, n, bs->s.c.base + bs->s.c.pos, 1);
            if (!bs->stopped && used < n && smx_buf_append(&bs->win, b + used, n - used))
                return SMX_ENOMEM;
            return bs->stopped == 2 ? SMX_ENOMEM : SMX_OK;
        }
        size_t take = n < 65536 ? n : 65536;
        if (smx_buf_append(&bs->win, b, take))
            return SMX_ENOMEM;
        b += take;
        n -= take;
        uint64_t base = bs->s.c.base + bs->s.c.pos;
        size_t used = bs_run(bs, (const unsigned char *)bs->win.data, bs->win.len, base, 1);
        memmove(bs->win.data, bs->win.data + used, bs->win.len - used);
        bs->win.len -= used;
    }
    return bs->stopped == 2 ? SMX_ENOMEM : SMX_OK;
}

static int bs_end(mdl_sreader *r)
{
    bstream *bs = (bstream *)r;
    if (bs->stopped)
        return bs->stopped == 2 ? SMX_ENOMEM : SMX_OK;
    if (bs->s.step != B_DONE)
        bs_run(bs, (const unsigned char *)(bs->win.data ? bs->win.data : ""), bs->win.len,
               bs->s.c.base + bs->s.c.pos, 0);
    if (bs->stopped)
        return bs->stopped == 2 ? SMX_ENOMEM : SMX_OK;
    return finish(&bs->s) == SMX_ENOMEM ? SMX_ENOMEM : SMX_OK;
}

static void bs_free(mdl_sreader *r)
{
    bstream *bs = (bstream *)r;
    free(bs->s.fv);
    smx_buf_free(&bs->win);
    free(bs);
}

int mdl_binary_stream(const mdl_ctx *c, uint64_t size, compat_model_info *m, mdl_sreader **out)
{
    (void)c;
    bstream *bs = calloc(1, sizeof *bs);
    if (!bs)
        return SMX_ENOMEM;
    bs->r = (mdl_sreader){bs_feed, bs_end, bs_free};
    bs->s.c.m = m;
    bs->s.c.total = size;
    m->format = COMPAT_FMT_BINARY;
    m->payload = COMPAT_PAYLOAD_BIN;
    *out = &bs->r;
    return SMX_OK;
}

/* ---- the entry --------------------------------------------------------------------------- */

static int binary_entry_sniff(const unsigned char *b, size_t len)
{
    return (len >= 4 && (!memcmp(b, "binf", 4) || !memcmp(b, "bs64", 4))) ||
           mdl_binary_sniff(b, len);
}

static int binary_entry_read(const mdl_ctx *c, const unsigned char *b, size_t len,
                             compat_model_info *m)
{
    (void)c;
    return mdl_binary_read(b, len, m);
}

const mdl_format mdl_binary = {.name = "legacy binary",
                               .sniff = binary_entry_sniff,
                               .read = binary_entry_read,
                               .stream = mdl_binary_stream};
