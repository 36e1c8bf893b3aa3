/*
 * The model, loaded the way one container version does (container.md §2):
 *
 *   listing   os.listdir(model_dir) in raw directory order (readdir here, on the extracted
 *             tree), regular files only (0.90-1: the first name, whatever it is), dotfiles
 *             skipped by 1.2-1 and 1.3-1+; ensemble on: every file, off: the first
 *   loading   pickle.load first, then Booster.load_model(path); both failing gives the
 *             container's "Model <path> cannot be loaded" text. nthread=1 per booster.
 *             best_ntree_limit (the attribute early stopping writes) sets the iteration range
 *             for XGBoost < 2; 3.x predicts with all trees.
 *
 * One booster per file is shared by every thread: in-place prediction is thread-safe, and
 * a warm-up prediction at load time does the one-time configuration before threads start.
 * Then fast.c decides whether smxgb's evaluator predicts for the file (predict.c).
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
        smx_fail(err, SMX_EFORMAT,
                 "Model %s cannot be loaded by XGBoost %s (container %s):%s%s%s\n(smxgb's load "
                 "rules say so; this is not the container's own message: XGBoost %s does not run "
                 "here)",
                 path, c->xgboost_str, c->tag, why.data ? why.data : "", j.hint ? "\n  fix: " : "",
                 j.hint ? j.hint : "", c->xgboost_str);
        smx_buf_free(&why);
    }
    compat_judgement_free(&j);
    compat_model_info_free(mi);
    return fails;
}

/* XGBoost's part of a load error is the runtime's: when the container pins another version,
 * whose wording may differ, say so ("" otherwise). */
static void runtime_note(const serve_model *m, char *note, size_t n)
{
    char rv[32];
    note[0] = '\0';
    compat_version_str(compat_xgb_version(m->x), rv, sizeof rv);
    if (compat_version_cmp(compat_xgb_version(m->x), m->c->xgboost) != 0)
        snprintf(note, n,
                 "\n(the XGBoost errors are those of XGBoost %s, which smxgb runs; the "
                 "container's %s may word them differently)",
                 rv, m->c->xgboost_str);
}

/* The container's text when neither pickle.load nor Booster.load_model reads path; note is
 * runtime_note's ("" when XGBoost's words are not in the text). */
static int cannot_load(const serve_model *m, const char *dir, const char *path, const char *e1,
                       const char *e2, const char *note, smx_err *err)
{
    int old_msg = compat_version_cmp(m->c->xgboost, (compat_version){1, 2, 0}) < 0;
    return smx_fail(err, SMX_EFORMAT,
                    old_msg ? "Model at %s cannot be loaded:\n%s\n%s%s"
                            : "Model %s cannot be loaded:\nPickle load error=%s\nXGB load "
                              "model error=%s%s",
                    old_msg ? dir : path, e1, e2, note);
}

/*
 * pickle.load: Booster.__setstate__ restores the memory snapshot the pickle carries. A pickle
 * of something else fails (SMX_EFORMAT, the container's text); a snapshot XGBoost refuses
 * leaves *b NULL with pickle.load's error in e1, for Booster.load_model to try the file.
 */
static int unpickle(serve_model *m, const char *path, const compat_model_info *mi,
                    compat_booster **b, long *ntl, char *e1, size_t e1n, smx_err *err)
{
    if (mi->format == COMPAT_FMT_PICKLE && !mi->pickle_is_booster) {
        char cls[128];
        const char *sp = strchr(mi->pickle_class, ' ');
        snprintf(cls, sizeof cls, "%s", sp ? sp + 1 : mi->pickle_class);
        return smx_fail(err, SMX_EFORMAT,
                        "Model %s is a pickle of %s, not of an xgboost.core.Booster: the "
                        "container unpickles it and then fails with AttributeError: '%s' "
                        "object has no attribute 'set_param'",
                        path, cls[0] ? cls : "an unknown object", cls[0] ? cls : "object");
    }
    smx_err e = {0};
    int urc = SMX_EFORMAT;
    if (mi->payload_bytes && mi->payload_len)
        urc = compat_booster_unserialize(m->x, mi->payload_bytes, mi->payload_len, b, &e);
    else
        smx_fail(&e, SMX_EFORMAT, "the pickle carries no XGBoost model bytes");
    for (size_t i = 0; i < mi->n_attrs; i++)
        if (!strcmp(mi->attrs[i].key, "best_ntree_limit"))
            *ntl = atol(mi->attrs[i].value);
    if (urc) {
        const char *ue = e.msg;
        if (!strncmp(ue, "unserialize snapshot: ", 22))
            ue += 22;
        snprintf(e1, e1n, "%.500s", ue);
        *b = NULL;
    }
    return SMX_OK;
}

/* nthread, num_feature and the iteration range of the loaded out->b. */
static int booster_facts(const serve_model *m, serve_booster *out, long pickled_ntl, smx_err *err)
{
    compat_booster *b = out->b;
    int rc = compat_booster_set_param(b, "nthread", "1", err);
    if (!rc)
        rc = compat_booster_num_features(b, &out->num_feature, err);
    char obj[64];
    int nc = 0, npt = 1;
    if (!rc)
        rc = read_config(b, obj, sizeof obj, &nc, &npt, err);
    if (!rc && m->c->xgboost.major < 2) {
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
    return rc;
}

/* Warm-up: XGBoost's lazy configuration happens here, not under concurrent requests. */
static int warm_up(serve_booster *out, smx_err *err)
{
    float *row = malloc((out->num_feature ? out->num_feature : 1) * sizeof(float));
    if (!row)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    for (uint64_t i = 0; i < out->num_feature; i++)
        row[i] = NAN;
    compat_predict_opts po = {out->iteration_end, 0, NAN};
    const float *res;
    uint64_t shape[2];
    smx_err ignore = {0};
    compat_booster_predict_dense(out->b, row, 1, out->num_feature, &po, &res, shape, &ignore);
    free(row);
    return SMX_OK;
}

static int load_one(serve_model *m, const char *dir, const char *path, serve_booster *out,
                    smx_err *err)
{
    smx_buf bytes = SMX_BUF_INIT;
    smx_err e = {0};
    char e1[SMX_ERRMAX / 2];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(e1, sizeof e1, "[Errno 21] Is a directory: '%s'", path);
        return cannot_load(m, dir, path, e1, e1, "", err);
    }
    if (smx_buf_read_file(&bytes, path, (size_t)1 << 34, &e))
        return smx_fail(err, SMX_EIO, "%s", e.msg);
    /* what the bytes are: for pickle.load, and for the evaluator */
    compat_model_info *mi = NULL;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int pickle = is_pickle((const unsigned char *)bytes.data, bytes.len);
    int rc = compat_identify(bytes.data, bytes.len, base, &mi, &e);
    if (rc && pickle)
        rc = smx_fail(err, e.status, "%s", e.msg);
    else
        rc = SMX_OK; /* out of memory for the facts of a model file: XGBoost alone predicts */
    compat_booster *b = NULL;
    long pickled_ntl = -1;
    if (!rc && pickle) {
        rc = unpickle(m, path, mi, &b, &pickled_ntl, e1, sizeof e1, err);
        out->pickled = b != NULL;
    } else if (!rc) {
        pickle_error((const unsigned char *)bytes.data, bytes.len, e1, sizeof e1);
    }
    smx_buf_free(&bytes);
    if (!rc && !b && compat_booster_load_file(m->x, path, &b, &e)) {
        const char *e2 = e.msg;
        char note[160];
        runtime_note(m, note, sizeof note);
        rc = cannot_load(m, dir, path, e1, strncmp(e2, "load model: ", 12) ? e2 : e2 + 12, note,
                         err);
    }
    out->b = b;
    if (!rc)
        rc = booster_facts(m, out, pickled_ntl, err);
    if (!rc && !(out->path = strdup(path)))
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    if (!rc)
        rc = warm_up(out, err);
    if (!rc)
        serve_fast_setup(m->x, out, mi);
    compat_model_info_free(mi);
    return rc;
}

void serve_model_free(serve_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        compat_booster_free(m->v[i].b);
        compat_eval_free(m->v[i].ev);
        free(m->v[i].path);
    }
    free(m->v);
    compat_xgb_close(m->x);
    free(m);
}

/* os.listdir(dir) as the container filters it; SMX_EFORMAT with its text when empty. */
static int list_files(const char *dir, const compat_container *c, artifact_layout_rules rules,
                      char ***files, size_t *n, smx_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return smx_fail(err, SMX_EIO, "[Errno %d] %s: '%s'", errno, strerror(errno), dir);
    size_t cap = 0;
    int rc = SMX_OK;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = join(dir, de->d_name);
        struct stat st;
        int isfile = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
        if (p && ((rules.regular_files_only && !isfile) ||
                  (rules.skips_dotfiles && de->d_name[0] == '.'))) {
            free(p);
            continue;
        }
        if (!p || smx_grow((void **)files, &cap, *n + 1, sizeof **files)) {
            free(p);
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            break;
        }
        (*files)[(*n)++] = p;
    }
    closedir(d);
    if (!rc && *n == 0) {
        if (!strcmp(c->tag, "1.2-1"))
            rc = smx_fail(err, SMX_EFORMAT, "No valid model files found in '%s'", dir);
        else if (!strcmp(c->tag, "1.0-1") || !strcmp(c->tag, "0.90-2"))
            rc = smx_fail(err, SMX_EFORMAT, "%s", ""); /* StopIteration has no text */
        else
            rc = smx_fail(err, SMX_EFORMAT, "list index out of range");
    }
    return rc;
}

/* Loaded by the runtime's XGBoost; when the container pins another version, its rules decide
 * whether that version could have read the same bytes. */
static int pinned_check(const serve_model *m, char *const *files, size_t want, smx_err *err)
{
    if (compat_version_cmp(compat_xgb_version(m->x), m->c->xgboost) == 0)
        return SMX_OK;
    int rc = SMX_OK;
    for (size_t i = 0; i < want && !rc; i++) {
        smx_buf bytes = SMX_BUF_INIT;
        smx_err e = {0};
        if (smx_buf_read_file(&bytes, files[i], (size_t)1 << 34, &e) == SMX_OK &&
            pinned_cannot_load(m->c, files[i], &bytes, err))
            rc = SMX_EFORMAT;
        smx_buf_free(&bytes);
    }
    return rc;
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
    char **files = NULL;
    size_t n = 0;
    rc = list_files(dir, c, rules, &files, &n, err);
    size_t want = rules.ensemble ? n : (n ? 1 : 0);
    if (!rc && !(m->v = calloc(want ? want : 1, sizeof *m->v)))
        rc = smx_fail(err, SMX_ENOMEM, "out of memory");
    for (size_t i = 0; i < want && !rc; i++) {
        rc = load_one(m, dir, files[i], &m->v[i], err);
        if (m->v[i].b)
            m->n = i + 1;
        if (!rc && m->v[i].ev && compat_eval_csr_work(m->v[i].ev) > m->work)
            m->work = compat_eval_csr_work(m->v[i].ev);
    }
    if (!rc)
        rc = pinned_check(m, files, want, err);
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
const char *serve_model_predictor(const serve_model *m, size_t i)
{
    return m->v[i].predictor;
}
