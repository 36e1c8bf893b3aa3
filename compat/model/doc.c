/*
 * The JSON/UBJSON model schema (formats.md section 2.1), read once for both encodings through
 * the mdl_doc view: learner facts, attributes, feature names and types, booster, trees (into the
 * compact compat_tree the reference predictor walks) and the per-field markers that date the
 * writer (section 2.3) and decide which readers can load the file (section 5).
 *
 * A model is {"learner":{..},"version":[M,m,p]}; a memory snapshot (the payload of a pickled
 * Booster, 1.3+) is {"Config":{..},"Model":{<model>}}. Trees are validated (array lengths,
 * child indexes, category segments) so that the predictor can trust them.
 */
#include "model_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G(n, k) ((n) ? d->get(d, (n), (k)) : NULL)

static int get_num(const mdl_doc *d, mdl_node n, double *out)
{
    return n ? d->num(d, n, out) : -1;
}

static int get_i64(const mdl_doc *d, mdl_node n, int64_t *out)
{
    double v;
    if (get_num(d, n, &v) || !(v >= -9e18 && v <= 9e18))
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int get_str(const mdl_doc *d, mdl_node n, char *buf, size_t cap)
{
    size_t l;
    const char *s = n ? d->str(d, n, &l) : NULL;
    if (!s)
        return -1;
    mdl_copy(buf, cap, s, l);
    return 0;
}

static int str_list(const mdl_doc *d, mdl_node arr, char ***v, size_t *n)
{
    size_t k = d->kind(d, arr) == MDL_ARR ? d->size(d, arr) : 0;
    for (size_t i = 0; i < k; i++) {
        size_t l;
        mdl_node e = d->at(d, arr, i);
        const char *s = e ? d->str(d, e, &l) : NULL;
        if (s && l <= MDL_MAX_STRING && mdl_add_str(v, n, s, l))
            return SMX_ENOMEM;
    }
    return 0;
}

/* numeric array of exactly n elements (n = (size_t)-1: any length, stored in *got) */
static int num_array(const mdl_doc *d, mdl_node arr, size_t n, size_t *got, double **out)
{
    if (d->kind(d, arr) != MDL_ARR)
        return -1;
    size_t k = d->size(d, arr);
    if (n != (size_t)-1 && k != n)
        return -1;
    double *v = malloc((k ? k : 1) * sizeof *v);
    if (!v)
        return SMX_ENOMEM;
    for (size_t i = 0; i < k; i++)
        if (d->num_at(d, arr, i, &v[i])) {
            free(v);
            return -1;
        }
    *out = v;
    if (got)
        *got = k;
    return 0;
}

/* " (at byte offset N)" when the document knows where n is, else "". Static buffer: use
 * once per message. */
static const char *where(const mdl_doc *d, mdl_node n)
{
    static _Thread_local char buf[48];
    size_t off = d->offset && n ? d->offset(d, n) : (size_t)-1;
    if (off == (size_t)-1)
        return "";
    snprintf(buf, sizeof buf, " (at byte offset %zu)", off);
    return buf;
}

static int tree_err(const mdl_doc *d, mdl_node tn, compat_model_info *m, size_t t, const char *what)
{
    return mdl_corrupt(m, "tree %zu%s: %s", t, where(d, tn), what);
}

/* The per-node arrays of one tree, as numbers. */
typedef struct tree_arrays {
    double *l, *r, *si, *sc, *df, *st, *bw;
} tree_arrays;

static void tree_arrays_free(tree_arrays *a)
{
    free(a->l);
    free(a->r);
    free(a->si);
    free(a->sc);
    free(a->df);
    free(a->st);
    free(a->bw);
}

/* tree_param's sizes, and the fields that date the writer (formats.md 2.3). */
static int tree_shape(const mdl_doc *d, mdl_node tn, size_t t, compat_model_info *m, size_t *n,
                      int64_t *slv)
{
    mdl_node tp = G(tn, "tree_param");
    int64_t nn = 0;
    *slv = 0;
    if (get_i64(d, G(tp, "num_nodes"), &nn) || nn <= 0)
        return tree_err(d, tn, m, t, "expected tree_param.num_nodes >= 1");
    if (nn > MDL_MAX_NODES) {
        char w[128];
        snprintf(w, sizeof w, "tree_param.num_nodes = %lld is over the limit of %d nodes per tree",
                 (long long)nn, MDL_MAX_NODES);
        return tree_err(d, tn, m, t, w);
    }
    get_i64(d, G(tp, "size_leaf_vector"), slv);
    if (*slv < 0 || *slv > 1 << 20)
        return tree_err(d, tn, m, t, "tree_param.size_leaf_vector out of range");
    *n = (size_t)nn;
    if (G(tn, "split_type"))
        m->json_has_split_type = 1;
    if (G(tn, "leaf_child_counts"))
        m->json_has_leaf_child_counts = 1;
    if (G(tn, "leaf_weights"))
        m->has_leaf_weights = 1;
    if (d->elem_kind(d, G(tn, "default_left")) == 2)
        m->json_default_left_int = 1;
    if (*slv > m->size_leaf_vector)
        m->size_leaf_vector = *slv;
    return SMX_OK;
}

static int tree_array(const mdl_doc *d, mdl_node tn, size_t t, compat_model_info *m,
                      const char *name, size_t count, double **out)
{
    int rc = num_array(d, G(tn, name), count, NULL, out);
    if (rc == 0 || rc == SMX_ENOMEM)
        return rc;
    char w[96];
    snprintf(w, sizeof w, "expected \"%s\" with one value per node", name);
    return tree_err(d, tn, m, t, w);
}

static int read_arrays(const mdl_doc *d, mdl_node tn, size_t t, compat_model_info *m, size_t n,
                       int64_t slv, tree_arrays *a)
{
    int rc = tree_array(d, tn, t, m, "left_children", n, &a->l);
    if (!rc)
        rc = tree_array(d, tn, t, m, "right_children", n, &a->r);
    if (!rc)
        rc = tree_array(d, tn, t, m, "split_indices", n, &a->si);
    if (!rc)
        rc = tree_array(d, tn, t, m, "split_conditions", n, &a->sc);
    if (!rc)
        rc = tree_array(d, tn, t, m, "default_left", n, &a->df);
    if (!rc && G(tn, "split_type"))
        rc = tree_array(d, tn, t, m, "split_type", n, &a->st);
    if (!rc && slv > 1 && !G(tn, "leaf_weights")) /* 2.0-3.1: leaf vectors in base_weights */
        rc = tree_array(d, tn, t, m, "base_weights", n * (size_t)slv, &a->bw);
    return rc;
}

/* Children (checked: -1 or another node), features, thresholds, default directions. */
static int build_nodes(const mdl_doc *d, mdl_node tn, size_t t, compat_model_info *m, size_t n,
                       int64_t slv, const tree_arrays *a, compat_tree *tr)
{
    if (mdl_tree_alloc(tr, n, slv))
        return SMX_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (a->l[i] == -1) {
            tr->left[i] = tr->right[i] = -1;
        } else if (a->l[i] >= 1 && a->l[i] < (double)n && a->r[i] >= 1 && a->r[i] < (double)n) {
            tr->left[i] = (int32_t)a->l[i];
            tr->right[i] = (int32_t)a->r[i];
        } else {
            char w[128];
            snprintf(w, sizeof w, "node %zu has children %.0f/%.0f, expected -1 or 1..%zu", i,
                     a->l[i], a->r[i], n - 1);
            return tree_err(d, tn, m, t, w);
        }
        tr->split_index[i] = a->si[i] >= 0 && a->si[i] < 4294967295.0 ? (uint32_t)a->si[i] : 0;
        tr->split_cond[i] = (float)a->sc[i];
        tr->default_left[i] = a->df[i] != 0;
    }
    return SMX_OK;
}

/* The categories of each categorical split (split_type 1): segments of "categories". */
static int read_categories(const mdl_doc *d, mdl_node tn, size_t t, compat_model_info *m, size_t n,
                           const double *st, compat_tree *tr)
{
    int any = 0;
    for (size_t i = 0; i < n; i++)
        any |= st[i] == 1;
    if (!any)
        return SMX_OK;
    m->has_categorical = 1;
    double *cn = NULL, *cs = NULL, *cz = NULL, *cv = NULL;
    size_t ncn = 0, ncs = 0, ncz = 0, ncv = 0;
    int rc = SMX_OK;
    if (num_array(d, G(tn, "categories_nodes"), (size_t)-1, &ncn, &cn) ||
        num_array(d, G(tn, "categories_segments"), (size_t)-1, &ncs, &cs) ||
        num_array(d, G(tn, "categories_sizes"), (size_t)-1, &ncz, &cz) ||
        num_array(d, G(tn, "categories"), (size_t)-1, &ncv, &cv) || ncn != ncs || ncn != ncz)
        rc = tree_err(d, tn, m, t,
                      "categorical split without consistent categories_nodes/"
                      "segments/sizes/categories arrays");
    if (!rc) {
        tr->is_cat = calloc(n, 1);
        tr->cat_begin = calloc(n, sizeof *tr->cat_begin);
        tr->cat_size = calloc(n, sizeof *tr->cat_size);
        tr->cats = malloc((ncv ? ncv : 1) * sizeof *tr->cats);
        if (!tr->is_cat || !tr->cat_begin || !tr->cat_size || !tr->cats)
            rc = SMX_ENOMEM;
    }
    for (size_t i = 0; !rc && i < ncv; i++)
        tr->cats[i] = cv[i] >= 0 && cv[i] < 2147483647.0 ? (int32_t)cv[i] : -1;
    tr->n_cats = ncv;
    for (size_t j = 0; !rc && j < ncn; j++) {
        if (!(cn[j] >= 0 && cn[j] < (double)n && cs[j] >= 0 && cz[j] >= 0 &&
              cs[j] + cz[j] <= (double)ncv)) {
            rc = tree_err(d, tn, m, t, "a categories segment lies outside \"categories\"");
            break;
        }
        size_t node = (size_t)cn[j];
        tr->cat_begin[node] = (int64_t)cs[j];
        tr->cat_size[node] = (int32_t)cz[j];
    }
    for (size_t i = 0; !rc && i < n; i++)
        tr->is_cat[i] = st[i] == 1;
    free(cn);
    free(cs);
    free(cz);
    free(cv);
    return rc;
}

static int read_tree(const mdl_doc *d, mdl_node tn, size_t t, compat_model_info *m, compat_tree *tr)
{
    size_t n = 0;
    int64_t slv = 0;
    int rc = tree_shape(d, tn, t, m, &n, &slv);
    if (rc)
        return rc;
    tree_arrays a = {0};
    rc = read_arrays(d, tn, t, m, n, slv, &a);
    if (!rc)
        rc = build_nodes(d, tn, t, m, n, slv, &a, tr);
    if (!rc && a.st)
        rc = read_categories(d, tn, t, m, n, a.st, tr);
    if (!rc && a.bw) {
        tr->leaf_vec = malloc(n * (size_t)slv * sizeof *tr->leaf_vec);
        if (!tr->leaf_vec)
            rc = SMX_ENOMEM;
        for (size_t i = 0; !rc && i < n * (size_t)slv; i++)
            tr->leaf_vec[i] = (float)a.bw[i];
    }
    tree_arrays_free(&a);
    return rc;
}

static int read_gbtree(const mdl_doc *d, mdl_node model, compat_model_info *m)
{
    mdl_node mp = G(model, "gbtree_model_param");
    int64_t nt = 0, npt = 1, slv = 0;
    if (get_i64(d, G(mp, "num_trees"), &nt) || nt < 0 || nt > MDL_MAX_TREES)
        return mdl_corrupt(m, "expected gbtree_model_param.num_trees%s", where(d, mp ? mp : model));
    get_i64(d, G(mp, "num_parallel_tree"), &npt);
    if (!get_i64(d, G(mp, "size_leaf_vector"), &slv) && slv > m->size_leaf_vector)
        m->size_leaf_vector = slv;
    m->num_trees = nt;
    m->num_parallel_tree = npt >= 1 ? npt : 1;
    if (G(model, "cats"))
        m->has_cats_container = 1;
    mdl_node trees = G(model, "trees");
    mdl_node info = G(model, "tree_info");
    size_t ntr = d->ext_tree || d->streamed     ? d->n_ext
                 : d->kind(d, trees) == MDL_ARR ? d->size(d, trees)
                                                : (size_t)-1;
    if (ntr != (size_t)nt)
        return mdl_corrupt(m, "expected \"trees\" with num_trees (%lld) trees, found %lld%s",
                           (long long)nt, (long long)(ntr == (size_t)-1 ? -1 : (long long)ntr),
                           where(d, trees));
    if (d->kind(d, info) != MDL_ARR || d->size(d, info) != (size_t)nt)
        return mdl_corrupt(m, "expected \"tree_info\" with num_trees (%lld) entries%s",
                           (long long)nt, where(d, info ? info : model));
    for (size_t t = 0; d->streamed && t < (size_t)nt; t++) { /* the trees were read already */
        double g;
        if (d->num_at(d, info, t, &g) || g < 0 || g > 1e6)
            return mdl_corrupt(m, "tree_info[%zu] is not a group index%s", t, where(d, info));
    }
    if (d->streamed)
        return 0;
    m->trees = calloc(nt ? (size_t)nt : 1, sizeof *m->trees);
    m->tree_info = calloc(nt ? (size_t)nt : 1, sizeof *m->tree_info);
    if (!m->trees || !m->tree_info)
        return SMX_ENOMEM;
    m->n_tree_structs = (size_t)nt;
    for (size_t t = 0; t < (size_t)nt; t++) {
        double g;
        if (d->num_at(d, info, t, &g) || g < 0 || g > 1e6)
            return mdl_corrupt(m, "tree_info[%zu] is not a group index%s", t, where(d, info));
        m->tree_info[t] = (int)g;
        mdl_node tn = NULL;
        const mdl_doc *td = d;
        if (d->ext_tree) {
            int rc = d->ext_tree(d, t, &td, &tn, m);
            if (rc)
                return rc;
        } else {
            tn = d->at(d, trees, t);
        }
        if (td->kind(td, tn) != MDL_OBJ) {
            if (d->ext_free)
                d->ext_free(d, tn);
            return mdl_corrupt(m, "trees[%zu] is not an object%s", t, where(td, tn ? tn : trees));
        }
        int rc = read_tree(td, tn, t, m, &m->trees[t]);
        if (d->ext_free)
            d->ext_free(d, tn);
        if (rc)
            return rc;
    }
    return 0;
}

/* DART's tree weights ("weight_drop"), one per tree. */
static int read_weight_drop(const mdl_doc *d, mdl_node gb, mdl_node wd, compat_model_info *m)
{
    double *w = NULL;
    size_t nw = 0;
    int rc = num_array(d, wd, (size_t)-1, &nw, &w);
    if (rc == SMX_ENOMEM)
        return rc;
    if (rc || nw != (size_t)m->num_trees) {
        free(w);
        return mdl_corrupt(m, "expected dart weight_drop with one weight per tree%s",
                           where(d, wd ? wd : gb));
    }
    m->tree_weights = malloc((nw ? nw : 1) * sizeof *m->tree_weights);
    if (!m->tree_weights) {
        free(w);
        return SMX_ENOMEM;
    }
    for (size_t i = 0; i < nw; i++)
        m->tree_weights[i] = (float)w[i];
    free(w);
    return 0;
}

int mdl_doc_tree(const mdl_doc *d, mdl_node tn, size_t t, compat_model_info *m)
{
    if (d->kind(d, tn) != MDL_OBJ)
        return mdl_corrupt(m, "trees[%zu] is not an object%s", t, where(d, tn));
    compat_tree tr;
    memset(&tr, 0, sizeof tr);
    int rc = read_tree(d, tn, t, m, &tr);
    mdl_tree_free(&tr);
    return rc;
}

static int read_booster(const mdl_doc *d, mdl_node gb, compat_model_info *m)
{
    if (get_str(d, G(gb, "name"), m->booster, sizeof m->booster))
        return mdl_corrupt(m, "expected gradient_booster.name%s", where(d, gb));
    if (!strcmp(m->booster, "gbtree")) {
        int rc = read_gbtree(d, G(gb, "model"), m);
        /* 3.3+ save DART as booster "gbtree" with its weights beside the model (3.3,
         * v3.3.0:src/gbm/gbtree.cc:499-511) or inside it (3.4+,
         * v3.4.1:src/gbm/gbtree_model.cc:80-85) */
        mdl_node wd = G(gb, "weight_drop");
        if (!wd)
            wd = G(G(gb, "model"), "weight_drop");
        if (rc || !wd)
            return rc;
        m->dart_weights_in_gbtree = 1;
        return read_weight_drop(d, gb, wd, m);
    }
    if (!strcmp(m->booster, "dart")) {
        int rc = read_gbtree(d, G(G(gb, "gbtree"), "model"), m);
        return rc ? rc : read_weight_drop(d, gb, G(gb, "weight_drop"), m);
    }
    if (!strcmp(m->booster, "gblinear")) {
        double *w = NULL;
        size_t nw = 0;
        int rc = num_array(d, G(G(gb, "model"), "weights"), (size_t)-1, &nw, &w);
        if (rc == SMX_ENOMEM)
            return rc;
        if (rc)
            return mdl_corrupt(m, "expected gblinear model.weights%s", where(d, gb));
        m->linear_weights = malloc((nw ? nw : 1) * sizeof *m->linear_weights);
        if (!m->linear_weights) {
            free(w);
            return SMX_ENOMEM;
        }
        for (size_t i = 0; i < nw; i++)
            m->linear_weights[i] = (float)w[i];
        m->n_linear_weights = nw;
        free(w);
        return 0;
    }
    return mdl_corrupt(m, "unknown booster \"%s\"", m->booster);
}

/* No "version" member: date the writer from the fields it wrote (formats.md 2.3). */
static void infer_writer(compat_model_info *m)
{
    compat_version lo = {1, 0, 0}, hi = {-1, 0, -1};
    const char *why = "JSON/UBJSON schema (1.0+)";
    if (m->format == COMPAT_FMT_UBJSON || m->payload == COMPAT_PAYLOAD_SNAP_UBJ)
        lo = (compat_version){1, 6, 0}, why = "UBJSON (1.6+)";
    if (m->json_has_leaf_child_counts)
        lo = (compat_version){1, 0, 0}, hi = (compat_version){1, 2, -1},
        why = "leaf_child_counts (1.0-1.2)";
    else if (m->json_has_split_type && !m->json_default_left_int)
        lo = (compat_version){1, 3, 0}, hi = (compat_version){1, 5, -1},
        why = "split_type with boolean default_left (1.3-1.5)";
    else if (m->json_default_left_int)
        lo = (compat_version){1, 6, 0}, why = "integer default_left (1.6+)";
    if (m->base_score_array)
        lo = (compat_version){3, 1, 0}, hi = (compat_version){-1, 0, -1},
        why = "base_score written as an array (3.1+)";
    if (m->has_leaf_weights)
        lo = (compat_version){3, 2, 0}, why = "vector-leaf trees with leaf_weights (3.2+)";
    mdl_set_writer(m, lo, hi, 0);
    mdl_note(m, "no \"version\" member; inferred from the fields written: %s", why);
}

int mdl_doc_version(const mdl_doc *d, mdl_node v, compat_version *out)
{
    double a[3];
    if (d->kind(d, v) != MDL_ARR || d->size(d, v) != 3 || d->num_at(d, v, 0, &a[0]) ||
        d->num_at(d, v, 1, &a[1]) || d->num_at(d, v, 2, &a[2]) || !(a[0] >= 0 && a[0] < 100) ||
        !(a[1] >= 0 && a[1] < 1000) || !(a[2] >= 0 && a[2] < 1000))
        return -1;
    *out = (compat_version){(int)a[0], (int)a[1], (int)a[2]};
    return 0;
}

int mdl_doc_tail_version(const mdl_doc *d, mdl_node v, compat_model_info *m)
{
    compat_version w;
    if (mdl_doc_version(d, v, &w))
        return -1;
    mdl_set_writer(m, w, w, 1);
    mdl_note(m, "stored in the file (\"version\": [%d, %d, %d], read from its last bytes)", w.major,
             w.minor, w.patch);
    return 0;
}

/* The objective's configuration: the names of its members besides "name" (what a reader's
 * LoadConfig looks up, e.g. reg_loss_param). */
static int objective_params(const mdl_doc *d, mdl_node obj, compat_model_info *m)
{
    for (size_t i = 0; i < d->size(d, obj); i++) {
        const char *k;
        size_t kl;
        if (d->member(d, obj, i, &k, &kl) && !(kl == 4 && !memcmp(k, "name", 4)) &&
            kl <= MDL_MAX_STRING &&
            mdl_add_str(&m->objective_params, &m->n_objective_params, k, kl))
            return SMX_ENOMEM;
    }
    m->objective_config = COMPAT_OBJCFG_READ;
    return SMX_OK;
}

int mdl_doc_extract(const mdl_doc *d, mdl_node root, compat_model_info *m, int ubj)
{
    if (d->kind(d, root) != MDL_OBJ)
        return MDL_NOT_XGBOOST;
    mdl_node learner = G(root, "learner"), version = G(root, "version"), cfg = NULL;
    if (!learner) {
        cfg = G(root, "Config");
        mdl_node model = G(root, "Model");
        if (!cfg || !model)
            return MDL_NOT_XGBOOST;
        learner = G(model, "learner");
        version = G(model, "version");
        if (!version)
            version = G(cfg, "version");
        m->payload = ubj ? COMPAT_PAYLOAD_SNAP_UBJ : COMPAT_PAYLOAD_SNAP_JSON;
        mdl_detail(m, "%s memory snapshot {\"Config\",\"Model\"}", ubj ? "UBJSON" : "JSON");
    }
    if (d->kind(d, learner) != MDL_OBJ)
        return mdl_corrupt(m, "expected a \"learner\" object%s",
                           where(d, learner ? learner : root));

    mdl_node attrs = G(learner, "attributes");
    size_t na = d->kind(d, attrs) == MDL_OBJ ? d->size(d, attrs) : 0;
    for (size_t i = 0; i < na; i++) {
        const char *k;
        size_t kl, vl;
        mdl_node v = d->member(d, attrs, i, &k, &kl);
        const char *s = v ? d->str(d, v, &vl) : NULL;
        if (s && kl <= MDL_MAX_STRING && vl <= MDL_MAX_STRING && mdl_add_attr(m, k, kl, s, vl))
            return SMX_ENOMEM;
    }
    if (str_list(d, G(learner, "feature_names"), &m->feature_names, &m->n_feature_names) ||
        str_list(d, G(learner, "feature_types"), &m->feature_types, &m->n_feature_types))
        return SMX_ENOMEM;

    mdl_node lmp = G(learner, "learner_model_param");
    if (get_str(d, G(lmp, "base_score"), m->base_score, sizeof m->base_score)) {
        double bs;
        if (!get_num(d, G(lmp, "base_score"), &bs))
            snprintf(m->base_score, sizeof m->base_score, "%.9g", bs);
    }
    m->base_score_array = m->base_score[0] == '[';
    int64_t v;
    if (!get_i64(d, G(lmp, "num_class"), &v))
        m->num_class = v;
    if (!get_i64(d, G(lmp, "num_feature"), &v))
        m->num_feature = v;
    m->num_target = get_i64(d, G(lmp, "num_target"), &v) ? 1 : v;
    m->boost_from_average = get_i64(d, G(lmp, "boost_from_average"), &v) ? -1 : (int)v;

    mdl_node obj = G(learner, "objective");
    if (get_str(d, G(obj, "name"), m->objective, sizeof m->objective))
        get_str(d, G(G(G(cfg, "learner"), "learner_train_param"), "objective"), m->objective,
                sizeof m->objective);
    if (d->kind(d, obj) == MDL_OBJ && objective_params(d, obj, m))
        return SMX_ENOMEM;

    int rc = 0;
    mdl_node gb = G(learner, "gradient_booster");
    if (gb)
        rc = read_booster(d, gb, m);
    else if (!m->objective[0] && !m->base_score[0])
        return MDL_NOT_XGBOOST;
    if (rc)
        return rc;

    compat_version w;
    if (!mdl_doc_version(d, version, &w)) {
        mdl_set_writer(m, w, w, 1);
        mdl_note(m, "stored in the file (\"version\": [%d, %d, %d])", w.major, w.minor, w.patch);
    } else {
        infer_writer(m);
    }
    return SMX_OK;
}
