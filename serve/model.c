/*
 * The model, loaded and used the way one container version does (container.md §2):
 *
 *   listing   os.listdir(model_dir) in raw directory order (readdir here, on the extracted
 *             tree), regular files only (0.90-1: the first name, whatever it is), dotfiles
 *             skipped by 1.2-1 and 1.3-1+; ensemble on: every file, off: the first
 *   loading   pickle.load first, then Booster.load_model(path); both failing gives the
 *             container's "Model <path> cannot be loaded" text. nthread=1 per booster.
 *   predict   booster.predict(dtest, ntree_limit=best_ntree_limit) for XGBoost < 2 (the
 *             attribute written by early stopping is honoured), all trees for 3.x; more
 *             columns than the model has fail as XGBoost's learner check does, fewer are
 *             padded with missing values as the DMatrix would; ensembles average in float32
 *             (np.mean) or take the mode (multi:softmax, binary:hinge; ties to the smallest).
 *
 * One booster per file is shared by every thread: in-place prediction is thread-safe, and
 * a warm-up prediction at load time does the one-time configuration before threads start.
 */
#include "serve_private.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct mbooster {
    compat_booster *b;
    char *path;
    uint64_t num_feature;
    int iteration_end;
    int pickled; /* loaded by pickle.load (the container's feature checks apply) */
} mbooster;

struct serve_model {
    compat_xgb *x;
    const compat_container *c;
    mbooster *v;
    size_t n;
    char objective[64];
    int num_class;
};

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* What pickle.load says about these bytes, when they are not a pickle. */
static void pickle_error(const unsigned char *b, size_t n, char *out, size_t cap)
{
    if (n == 0)
        snprintf(out, cap, "Ran out of input");
    else if (b[0] >= 0x20 && b[0] <= 0x7e)
        snprintf(out, cap, "invalid load key, '%c'.", b[0]);
    else
        snprintf(out, cap, "invalid load key, '\\x%02x'.", b[0]);
}

static int is_pickle(const unsigned char *b, size_t n)
{
    return n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5;
}

static int read_config(compat_booster *b, char *objective, size_t objn, int *num_class,
                       int *num_parallel_tree, smx_err *err)
{
    char *cfg;
    int rc = compat_booster_config(b, &cfg, err);
    if (rc)
        return rc;
    json_error_t je;
    json_t *j = json_loads(cfg, 0, &je);
    free(cfg);
    if (!j)
        return smx_fail(err, SMX_ERUNTIME, "cannot parse the booster's JSON config: %s", je.text);
    json_t *learner = json_object_get(j, "learner");
    const char *obj =
        json_string_value(json_object_get(json_object_get(learner, "objective"), "name"));
    snprintf(objective, objn, "%s", obj ? obj : "");
    const char *nc = json_string_value(
        json_object_get(json_object_get(learner, "learner_model_param"), "num_class"));
    *num_class = nc ? atoi(nc) : 0;
    json_t *gb = json_object_get(learner, "gradient_booster");
    const char *gbname = json_string_value(json_object_get(gb, "name"));
    const char *npt = NULL;
    if (gbname && !strcmp(gbname, "dart"))
        gb = json_object_get(gb, "gbtree");
    npt = json_string_value(
        json_object_get(json_object_get(gb, "gbtree_model_param"), "num_parallel_tree"));
    if (!npt)
        npt = json_string_value(
            json_object_get(json_object_get(gb, "gbtree_train_param"), "num_parallel_tree"));
    *num_parallel_tree = gbname && !strcmp(gbname, "gblinear") ? 0 : (npt ? atoi(npt) : 1);
    json_decref(j);
    return SMX_OK;
}

/*
 * We load with the runtime's XGBoost, which may read what the container's pinned one cannot
 * (a 3.0.5 UBJSON model under 1.5-1's XGBoost 1.5.2). When the load rules say the pinned
 * version fails on these bytes, the container's load raises: say so and why.
 */
static int pinned_cannot_load(const compat_container *c, const char *path, const smx_buf *bytes,
                              smx_err *err)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    compat_model_info *mi = NULL;
    smx_err e = {0};
    if (compat_identify(bytes->data, bytes->len, base, &mi, &e) != SMX_OK)
        return 0; /* out of memory: the real load below decides */
    compat_reader rd = {c->xgboost, c->python, c->tag};
    compat_judge_opts jo = {.artifact = NULL, .runtime = {-1, 0, 0}};
    compat_judgement j = {0};
    int fails =
        compat_judge(mi, base, &rd, &jo, &j, &e) == SMX_OK && j.verdict == COMPAT_VERDICT_FAILS;
    if (fails) {
        smx_buf why = SMX_BUF_INIT;
        for (size_t k = 0; k < j.n_reasons; k++)
            if (j.reasons[k].verdict == COMPAT_VERDICT_FAILS)
                smx_buf_printf(&why, "\n  %s: %s", j.reasons[k].rule, j.reasons[k].message);
        smx_fail(err, SMX_EFORMAT, "Model %s cannot be loaded by XGBoost %s (container %s):%s%s%s",
                 path, c->xgboost_str, c->tag, why.data ? why.data : "", j.hint ? "\n  fix: " : "",
                 j.hint ? j.hint : "");
        smx_buf_free(&why);
    }
    compat_judgement_free(&j);
    compat_model_info_free(mi);
    return fails;
}

static int load_one(serve_model *m, const char *dir, const char *path, mbooster *out, smx_err *err)
{
    const compat_container *c = m->c;
    int old_msg = compat_version_cmp(c->xgboost, (compat_version){1, 2, 0}) < 0;
    smx_buf bytes = SMX_BUF_INIT;
    smx_err e = {0};
    char e1[256], e1buf[SMX_ERRMAX / 2];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(e1, sizeof e1, "[Errno 21] Is a directory: '%s'", path);
        return smx_fail(err, SMX_EFORMAT,
                        old_msg ? "Model at %s cannot be loaded:\n%s\n%s"
                                : "Model %s cannot be loaded:\nPickle load error=%s\nXGB load "
                                  "model error=%s",
                        old_msg ? dir : path, e1, e1);
    }
    if (smx_buf_read_file(&bytes, path, (size_t)1 << 34, &e))
        return smx_fail(err, SMX_EIO, "%s", e.msg);
    compat_booster *b = NULL;
    long pickled_ntl = -1;
    if (is_pickle((const unsigned char *)bytes.data, bytes.len)) {
        /* pickle.load: Booster.__setstate__ restores the memory snapshot it carries */
        compat_model_info *mi = NULL;
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (compat_identify(bytes.data, bytes.len, base, &mi, &e)) {
            smx_buf_free(&bytes);
            return smx_fail(err, e.status, "%s", e.msg);
        }
        if (mi->format == COMPAT_FMT_PICKLE && !mi->pickle_is_booster) {
            char cls[128];
            const char *sp = strchr(mi->pickle_class, ' ');
            snprintf(cls, sizeof cls, "%s", sp ? sp + 1 : mi->pickle_class);
            compat_model_info_free(mi);
            smx_buf_free(&bytes);
            return smx_fail(err, SMX_EFORMAT,
                            "Model %s is a pickle of %s, not of an xgboost.core.Booster: the "
                            "container unpickles it and then fails with AttributeError: '%s' "
                            "object has no attribute 'set_param'",
                            path, cls[0] ? cls : "an unknown object", cls[0] ? cls : "object");
        }
        int urc = SMX_EFORMAT;
        if (mi->payload_bytes && mi->payload_len)
            urc = compat_booster_unserialize(m->x, mi->payload_bytes, mi->payload_len, &b, &e);
        else
            smx_fail(&e, SMX_EFORMAT, "the pickle carries no XGBoost model bytes");
        for (size_t i = 0; i < mi->n_attrs; i++)
            if (!strcmp(mi->attrs[i].key, "best_ntree_limit"))
                pickled_ntl = atol(mi->attrs[i].value);
        compat_model_info_free(mi);
        if (urc) {
            const char *ue = e.msg;
            if (!strncmp(ue, "unserialize snapshot: ", 22))
                ue += 22;
            snprintf(e1buf, sizeof e1buf, "%.500s", ue);
            b = NULL;
        } else {
            out->pickled = 1;
        }
    } else {
        pickle_error((const unsigned char *)bytes.data, bytes.len, e1buf, sizeof e1buf);
    }
    smx_buf_free(&bytes);
    if (!b && compat_booster_load_file(m->x, path, &b, &e)) {
        const char *e2 = e.msg;
        if (!strncmp(e2, "load model: ", 12))
            e2 += 12;
        return smx_fail(err, SMX_EFORMAT,
                        old_msg ? "Model at %s cannot be loaded:\n%s\n%s"
                                : "Model %s cannot be loaded:\nPickle load error=%s\nXGB load "
                                  "model error=%s",
                        old_msg ? dir : path, e1buf, e2);
    }
    out->b = b;
    int rc = compat_booster_set_param(b, "nthread", "1", err);
    if (!rc)
        rc = compat_booster_num_features(b, &out->num_feature, err);
    char obj[64];
    int nc = 0, npt = 1;
    if (!rc)
        rc = read_config(b, obj, sizeof obj, &nc, &npt, err);
    if (!rc && c->xgboost.major < 2) {
        /* Booster.load_model restores the attribute; pickle.load the pickled Python one */
        char *ntl = NULL;
        long v = 0;
        if (out->pickled) {
            v = pickled_ntl > 0 ? pickled_ntl : 0;
        } else {
            rc = compat_booster_attr(b, "best_ntree_limit", &ntl, err);
            if (!rc && ntl)
                v = atol(ntl);
        }
        out->iteration_end = (int)(v / (npt > 1 ? npt : 1));
        free(ntl);
    }
    if (!rc && !(out->path = strdup(path)))
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!rc) {
        /* warm-up: lazy configuration happens here, not under concurrent requests */
        float *row = malloc((out->num_feature ? out->num_feature : 1) * sizeof(float));
        if (!row)
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        for (uint64_t i = 0; i < out->num_feature; i++)
            row[i] = NAN;
        compat_predict_opts po = {out->iteration_end, 0, NAN};
        const float *res;
        uint64_t shape[2];
        smx_err ignore = {0};
        compat_booster_predict_dense(b, row, 1, out->num_feature, &po, &res, shape, &ignore);
        free(row);
    }
    return rc;
}

void serve_model_free(serve_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        compat_booster_free(m->v[i].b);
        free(m->v[i].path);
    }
    free(m->v);
    compat_xgb_close(m->x);
    free(m);
}

int serve_model_load(const char *dir, const serve_model_opts *o, serve_model **out, smx_err *err)
{
    *out = NULL;
    const compat_container *c = o && o->container ? o->container : compat_container_default();
    if (!c)
        return smx_fail(err, SMX_ERUNTIME, "no default container in the container table");
    artifact_layout_rules rules = compat_layout_rules(c, o ? o->ensemble_env : NULL);
    serve_model *m = calloc(1, sizeof *m);
    if (!m)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    m->c = c;
    int rc = compat_xgb_open(o ? o->xgboost_lib : NULL, &m->x, err);
    if (rc) { /* the runtime, not the model: whatever the library's fault was */
        free(m);
        return err && err->status ? (err->status = SMX_ERUNTIME) : SMX_ERUNTIME;
    }
    DIR *d = opendir(dir);
    if (!d) {
        serve_model_free(m);
        return smx_fail(err, SMX_EIO, "[Errno %d] %s: '%s'", errno, strerror(errno), dir);
    }
    char **files = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = join(dir, de->d_name);
        if (!p) {
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            break;
        }
        struct stat st;
        int isfile = stat(p, &st) == 0 && S_ISREG(st.st_mode);
        if ((rules.regular_files_only && !isfile) ||
            (rules.skips_dotfiles && de->d_name[0] == '.')) {
            free(p);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nf = realloc(files, cap * sizeof *nf);
            if (!nf) {
                free(p);
                rc = smx_fail(err, SMX_ENOMEM, "out of memory");
                break;
            }
            files = nf;
        }
        files[n++] = p;
    }
    closedir(d);
    if (!rc && n == 0) {
        if (!strcmp(c->tag, "1.2-1"))
            rc = smx_fail(err, SMX_EFORMAT, "No valid model files found in '%s'", dir);
        else if (!strcmp(c->tag, "1.0-1") || !strcmp(c->tag, "0.90-2"))
            rc = smx_fail(err, SMX_EFORMAT, "%s", ""); /* StopIteration has no text */
        else
            rc = smx_fail(err, SMX_EFORMAT, "list index out of range");
    }
    size_t want = rules.ensemble ? n : (n ? 1 : 0);
    if (!rc && !(m->v = calloc(want ? want : 1, sizeof *m->v)))
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    for (size_t i = 0; i < want && !rc; i++) {
        rc = load_one(m, dir, files[i], &m->v[i], err);
        if (m->v[i].b)
            m->n = i + 1;
    }
    /* loaded by the runtime's XGBoost; when the container pins another version, its rules
     * decide whether that version could have read the same bytes */
    if (!rc && compat_version_cmp(compat_xgb_version(m->x), c->xgboost) != 0)
        for (size_t i = 0; i < want && !rc; i++) {
            smx_buf bytes = SMX_BUF_INIT;
            smx_err e = {0};
            if (smx_buf_read_file(&bytes, files[i], (size_t)1 << 34, &e) == SMX_OK &&
                pinned_cannot_load(c, files[i], &bytes, err))
                rc = SMX_EFORMAT;
            smx_buf_free(&bytes);
        }
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    if (!rc) {
        int npt;
        rc = read_config(m->v[0].b, m->objective, sizeof m->objective, &m->num_class, &npt, err);
    }
    if (rc) {
        serve_model_free(m);
        return rc;
    }
    *out = m;
    return SMX_OK;
}

const char *serve_model_objective(const serve_model *m)
{
    return m->objective;
}
int serve_model_num_class(const serve_model *m)
{
    return m->num_class;
}
const compat_xgb *serve_model_runtime(const serve_model *m)
{
    return m->x;
}

size_t serve_model_count(const serve_model *m)
{
    return m->n;
}
const char *serve_model_file(const serve_model *m, size_t i)
{
    return m->v[i].path;
}
uint64_t serve_model_num_feature(const serve_model *m, size_t i)
{
    return m->v[i].num_feature;
}
int serve_model_iteration_end(const serve_model *m, size_t i)
{
    return m->v[i].iteration_end;
}

void serve_scratch_free(serve_scratch *s)
{
    serve_matrix_free(&s->m);
    free(s->pad);
    free(s->acc);
    free(s->tmp);
    smx_buf_free(&s->ct);
    memset(s, 0, sizeof *s);
}

static int predict_one(mbooster *mb, const serve_matrix *x, serve_scratch *s, const float **res,
                       uint64_t shape[2], smx_err *err)
{
    if (x->ncol > mb->num_feature) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        return smx_fail(err, SMX_EINVAL,
                        "[%02d:%02d:%02d] ./src/learner.cc:1510: Check failed: "
                        "learner_model_param_.num_feature >= p_fmat->Info().num_col_ (%llu vs. "
                        "%llu) : Number of columns does not match number of features in booster.",
                        tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long long)mb->num_feature,
                        (unsigned long long)x->ncol);
    }
    compat_predict_opts po = {mb->iteration_end, 0, NAN};
    uint64_t nf = mb->num_feature;
    if (x->sparse)
        return compat_booster_predict_csr(mb->b, x->indptr, x->indices, x->values, x->nrow, nf, &po,
                                          res, shape, err);
    const float *X = x->x;
    if (x->ncol != nf) {
        /* fewer columns: the DMatrix treats the rest as missing */
        if (serve_grow((void **)&s->pad, &s->pad_cap, (size_t)(x->nrow * nf), sizeof(float)))
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        for (uint64_t r = 0; r < x->nrow; r++) {
            float *dst = s->pad + r * nf;
            memcpy(dst, x->x + r * x->ncol, (size_t)x->ncol * sizeof(float));
            for (uint64_t c = x->ncol; c < nf; c++)
                dst[c] = NAN;
        }
        X = s->pad;
    }
    return compat_booster_predict_dense(mb->b, X, x->nrow, nf, &po, res, shape, err);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int serve_model_predict(serve_model *model, const serve_matrix *m, serve_scratch *s, int csv_like,
                        serve_pred *out, smx_err *err)
{
    const float *res;
    if (model->v[0].pickled) {
        /* the container's own checks, for pickled models only (model[0] decides) */
        uint64_t x = model->v[0].num_feature, y = m->ncol;
        if (csv_like && !(x == y || x == y + 1))
            return smx_fail(err, SMX_EINVAL,
                            "Feature size of csv inference data %llu is not consistent with "
                            "feature size of trained model %llu.",
                            (unsigned long long)y, (unsigned long long)x);
        if (!csv_like && y > x + 1)
            return smx_fail(err, SMX_EINVAL,
                            "Feature size of libsvm inference data %llu is larger than feature "
                            "size of trained model %llu.",
                            (unsigned long long)y, (unsigned long long)x);
    }
    uint64_t shape[2];
    int rc = predict_one(&model->v[0], m, s, &res, shape, err);
    if (rc)
        return rc;
    if (model->n == 1) {
        *out = (serve_pred){res, shape[0], shape[1]};
        return SMX_OK;
    }
    size_t cells = (size_t)(shape[0] * shape[1]), k = model->n;
    int vote =
        !strcmp(model->objective, "multi:softmax") || !strcmp(model->objective, "binary:hinge");
    if (serve_grow((void **)&s->acc, &s->acc_cap, cells * k, sizeof(float)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    memcpy(s->acc, res, cells * sizeof(float));
    for (size_t i = 1; i < k; i++) {
        uint64_t sh[2];
        if ((rc = predict_one(&model->v[i], m, s, &res, sh, err)))
            return rc;
        if (sh[0] != shape[0] || sh[1] != shape[1])
            return smx_fail(err, SMX_EINVAL,
                            "operands could not be broadcast together with shapes (%llu,%llu) "
                            "(%llu,%llu)",
                            (unsigned long long)shape[0], (unsigned long long)shape[1],
                            (unsigned long long)sh[0], (unsigned long long)sh[1]);
        memcpy(s->acc + i * cells, res, cells * sizeof(float));
    }
    if (serve_grow((void **)&s->tmp, &s->tmp_cap, cells + k, sizeof(float)))
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    float *col = s->tmp + cells;
    for (size_t c = 0; c < cells; c++) {
        if (!vote) {
            /* np.mean over axis 0 of float32: sequential float32 sums, then / k */
            float sum = s->acc[c];
            for (size_t i = 1; i < k; i++)
                sum += s->acc[i * cells + c];
            s->tmp[c] = sum / (float)k;
        } else {
            /* scipy.stats.mode: the most frequent value, the smallest among ties */
            for (size_t i = 0; i < k; i++)
                col[i] = s->acc[i * cells + c];
            qsort(col, k, sizeof(float), cmp_float);
            float best = col[0];
            size_t best_n = 0;
            for (size_t i = 0; i < k;) {
                size_t j = i;
                while (j < k && col[j] == col[i])
                    j++;
                if (j - i > best_n) {
                    best_n = j - i;
                    best = col[i];
                }
                i = j > i ? j : i + 1;
            }
            s->tmp[c] = best;
        }
    }
    *out = (serve_pred){s->tmp, shape[0], shape[1]};
    return SMX_OK;
}
