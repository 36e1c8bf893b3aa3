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

typedef struct cur {
    const unsigned char *b;
    size_t len, pos;
    compat_model_info *m;
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

static int need(cur *c, size_t n, const char *what)
{
    if (left(c) >= n)
        return 0;
    return mdl_corrupt(c->m,
                       "truncated legacy binary: at byte offset %zu expected %s (%zu bytes), "
                       "but only %zu bytes are left",
                       c->pos, what, n, left(c));
}

/* dmlc string: u64 length + bytes. *s points into the buffer. */
static int get_str(cur *c, const char *what, size_t max, const unsigned char **s, size_t *n)
{
    size_t at = c->pos;
    char w[96];
    snprintf(w, sizeof w, "the length of %s", what);
    if (need(c, 8, w))
        return SMX_EFORMAT;
    uint64_t l = u64le(c->b + c->pos);
    if (l > max || l > left(c) - 8)
        return mdl_corrupt(c->m,
                           "corrupt legacy binary: at byte offset %zu expected %s, but its "
                           "length field says %llu bytes (%zu bytes are left)",
                           at, what, (unsigned long long)l, left(c) - 8);
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

static int read_floats(cur *c, const char *what, float **out, size_t *n)
{
    size_t at = c->pos;
    char w[96];
    snprintf(w, sizeof w, "the element count of %s", what);
    if (need(c, 8, w))
        return SMX_EFORMAT;
    uint64_t k = u64le(c->b + c->pos);
    if (k > (left(c) - 8) / 4)
        return mdl_corrupt(c->m,
                           "corrupt legacy binary: at byte offset %zu expected %s, but its "
                           "count says %llu floats (%zu bytes are left)",
                           at, what, (unsigned long long)k, left(c) - 8);
    c->pos += 8;
    float *v = malloc(k ? (size_t)k * sizeof *v : 1);
    if (!v)
        return SMX_ENOMEM;
    for (size_t i = 0; i < k; i++)
        v[i] = f32le(c->b + c->pos + 4 * i);
    c->pos += (size_t)k * 4;
    *out = v;
    *n = (size_t)k;
    return 0;
}

static int read_tree(cur *c, size_t t, compat_tree *tr)
{
    size_t at = c->pos;
    char w[96];
    snprintf(w, sizeof w, "the parameters of tree %zu", t);
    if (need(c, 148, w))
        return SMX_EFORMAT;
    int32_t nn = i32le(c->b + c->pos + 4);
    int32_t slv = i32le(c->b + c->pos + 20);
    c->pos += 148;
    if (nn <= 0 || nn > MDL_MAX_NODES || (size_t)nn > left(c) / 36)
        return mdl_corrupt(c->m,
                           "corrupt legacy binary: tree %zu at byte offset %zu says num_nodes "
                           "= %d, expected 1..%zu for the %zu bytes left",
                           t, at, nn, left(c) / 36, left(c));
    tr->n_nodes = nn;
    tr->leaf_size = slv > 1 ? slv : 1;
    size_t n = (size_t)nn;
    tr->left = malloc(n * sizeof *tr->left);
    tr->right = malloc(n * sizeof *tr->right);
    tr->split_index = malloc(n * sizeof *tr->split_index);
    tr->split_cond = malloc(n * sizeof *tr->split_cond);
    tr->default_left = malloc(n);
    if (!tr->left || !tr->right || !tr->split_index || !tr->split_cond || !tr->default_left)
        return SMX_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = c->b + c->pos + 20 * i;
        int32_t l = i32le(p + 4), r = i32le(p + 8);
        uint32_t si = u32le(p + 12);
        if (l != -1 && (l <= 0 || l >= nn || r <= 0 || r >= nn))
            return mdl_corrupt(c->m,
                               "corrupt legacy binary: tree %zu node %zu at byte offset %zu "
                               "has children %d/%d, expected -1 or 1..%d",
                               t, i, c->pos + 20 * i, l, r, nn - 1);
        tr->left[i] = l;
        tr->right[i] = l == -1 ? -1 : r;
        tr->split_index[i] = si & 0x7fffffffu;
        tr->default_left[i] = (uint8_t)(si >> 31);
        tr->split_cond[i] = f32le(p + 16);
    }
    c->pos += n * 20 + n * 16; /* nodes, then the stats we do not need */
    return 0;
}

static int read_gbtree(cur *c, compat_model_info *m, int dart, int major)
{
    if (need(c, 160, "the gbtree model parameters (160 bytes)"))
        return SMX_EFORMAT;
    size_t at = c->pos;
    const unsigned char *p = c->b + c->pos;
    int32_t nt = i32le(p), npt = i32le(p + 4), ngroup = i32le(p + 24), slv = i32le(p + 28);
    c->pos += 160;
    if (nt < 0 || nt > MDL_MAX_TREES || (size_t)nt > left(c) / (148 + 36 + 4))
        return mdl_corrupt(m,
                           "corrupt legacy binary: gbtree parameters at byte offset %zu say "
                           "num_trees = %d, more than the %zu bytes left can hold",
                           at, nt, left(c));
    m->num_trees = nt;
    m->num_parallel_tree = npt >= 1 && major >= 1 ? npt : 1;
    m->size_leaf_vector = slv;
    if (major == 0 && ngroup > 1 && m->num_class <= 1)
        m->num_class = ngroup;
    m->trees = calloc(nt ? (size_t)nt : 1, sizeof *m->trees);
    m->tree_info = calloc(nt ? (size_t)nt : 1, sizeof *m->tree_info);
    if (!m->trees || !m->tree_info)
        return SMX_ENOMEM;
    m->n_tree_structs = (size_t)nt;
    for (size_t t = 0; t < (size_t)nt; t++) {
        int rc = read_tree(c, t, &m->trees[t]);
        if (rc)
            return rc;
    }
    if (nt > 0) {
        if (need(c, 4 * (size_t)nt, "tree_info (the output group of each tree)"))
            return SMX_EFORMAT;
        for (size_t t = 0; t < (size_t)nt; t++)
            m->tree_info[t] = i32le(c->b + c->pos + 4 * t);
        c->pos += 4 * (size_t)nt;
        if (dart) {
            size_t nw = 0;
            int rc = read_floats(c, "dart weight_drop", &m->tree_weights, &nw);
            if (rc)
                return rc;
            if (nw != (size_t)nt)
                return mdl_corrupt(m,
                                   "corrupt legacy binary: dart weight_drop has %zu weights "
                                   "for %d trees",
                                   nw, nt);
        }
    }
    return 0;
}

static int read_gblinear(cur *c, compat_model_info *m)
{
    if (need(c, 136, "the gblinear model parameters (136 bytes)"))
        return SMX_EFORMAT;
    uint32_t nf = u32le(c->b + c->pos);
    int32_t ng = i32le(c->b + c->pos + 4);
    c->pos += 136;
    if (nf && m->num_feature == 0)
        m->num_feature = nf;
    if (ng > 1 && m->num_class <= 1)
        m->num_class = ng;
    return read_floats(c, "the gblinear weights", &m->linear_weights, &m->n_linear_weights);
}

static int read_attrs(cur *c, compat_model_info *m)
{
    size_t at = c->pos;
    if (need(c, 8, "the attribute count"))
        return SMX_EFORMAT;
    uint64_t n = u64le(c->b + c->pos);
    if (n > (left(c) - 8) / 16)
        return mdl_corrupt(m,
                           "corrupt legacy binary: at byte offset %zu the attribute count is "
                           "%llu, more than the %zu bytes left can hold",
                           at, (unsigned long long)n, left(c) - 8);
    c->pos += 8;
    for (uint64_t i = 0; i < n; i++) {
        const unsigned char *k, *v;
        size_t kl, vl;
        if (get_str(c, "an attribute name", MDL_MAX_STRING, &k, &kl) ||
            get_str(c, "an attribute value", MDL_MAX_STRING, &v, &vl))
            return SMX_EFORMAT;
        if (mdl_add_attr(m, (const char *)k, kl, (const char *)v, vl))
            return SMX_ENOMEM;
    }
    return 0;
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
    size_t at = c->pos;
    if (get_str(c, "the objective name", 256, &s, &sl))
        return SMX_EFORMAT;
    if (!is_objective_name(s, sl))
        return mdl_corrupt(m,
                           "corrupt legacy binary: at byte offset %zu expected an objective "
                           "name such as \"binary:logistic\"",
                           at);
    mdl_copy(m->objective, sizeof m->objective, (const char *)s, sl);
    at = c->pos;
    if (get_str(c, "the booster name", 64, &s, &sl))
        return SMX_EFORMAT;
    if (!is_booster_name(s, sl))
        return mdl_corrupt(m,
                           "corrupt legacy binary: at byte offset %zu expected the booster "
                           "name gbtree, dart or gblinear",
                           at);
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
    if (!strcmp(m->objective, "count:poisson") &&
        get_str(c, "max_delta_step (0.90 count:poisson)", 256, &s, &sl))
        return SMX_EFORMAT;
    if (h->metrics == 0)
        return SMX_OK;
    if (need(c, 8, "the eval metric count"))
        return SMX_EFORMAT;
    uint64_t n = u64le(c->b + c->pos);
    if (n > (left(c) - 8) / 8)
        return mdl_corrupt(m,
                           "corrupt legacy binary: at byte offset %zu the metric count is too "
                           "large",
                           c->pos);
    c->pos += 8;
    for (uint64_t i = 0; i < n; i++)
        if (get_str(c, "an eval metric name", 256, &s, &sl))
            return SMX_EFORMAT;
    return SMX_OK;
}

int mdl_binary_read(const unsigned char *b, size_t len, compat_model_info *m)
{
    cur c = {b, len, 0, m};
    m->format = COMPAT_FMT_BINARY;
    m->payload = COMPAT_PAYLOAD_BIN;
    int magic = len >= 4 && !memcmp(b, "binf", 4);
    mdl_detail(m, "legacy binary %s", magic ? "with binf magic" : "without magic");
    if (magic)
        c.pos = 4;
    if (len >= 4 && !memcmp(b, "bs64", 4))
        return mdl_corrupt(m, "base64 legacy binary (\"bs64\", before XGBoost 0.6): no "
                              "current XGBoost reads it");
    if (need(&c, 136, "LearnerModelParam"))
        return SMX_EFORMAT;
    header h;
    read_header(&c, m, &h);
    int rc = read_names(&c, m);
    if (rc)
        return rc;
    if (!strcmp(m->booster, "gblinear"))
        rc = read_gblinear(&c, m);
    else
        rc = read_gbtree(&c, m, !strcmp(m->booster, "dart"), (int)h.major);
    if (rc)
        return rc;
    if (h.extra_attrs != 0 && (rc = read_attrs(&c, m)))
        return rc;
    if (h.major >= 1 && (rc = read_objective_config(m, 1)))
        return rc;
    if (h.major == 0)
        m->objective_config = COMPAT_OBJCFG_NONE;
    if (h.major == 0 && (rc = read_090_trailer(&c, m, &h)))
        return rc;
    binary_version(m, magic, h.major, h.minor, h.ntarget, h.bfa);
    if (left(&c))
        mdl_detail(m, "legacy binary %s, %zu trailing bytes ignored",
                   magic ? "with binf magic" : "without magic", left(&c));
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

const mdl_format mdl_binary = {
    .name = "legacy binary", .sniff = binary_entry_sniff, .read = binary_entry_read};
