/*
 * The model readers against real files written by XGBoost 1.5.2, 1.7.4 (C API and Python
 * pickle) and 3.0.5 (tests/data/models, copied from the measured fixtures): format, writer
 * version, learner facts, the same facts from every format of one model, the reference
 * predictor against the writer's own predictions, and truncated/corrupted bytes.
 */
#include "helpers.h"

#include "compat/model/model.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MODELS SMXGB_TESTDATA "/models"

typedef struct fixture {
    char path[1024];
    char writer[32]; /* "1.7.4-python" */
    char config[64]; /* "binary_logistic" */
    char ext[16];    /* "bin", "json", "ubj", "deprecated", "pkl", "state" */
} fixture;

static size_t list_fixtures(fixture *out, size_t cap)
{
    static const char *writers[] = {"1.5.2", "1.7.4", "1.7.4-python", "3.0.5"};
    size_t n = 0;
    for (size_t w = 0; w < 4; w++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/%s", MODELS, writers[w]);
        DIR *d = opendir(dir);
        cr_assert(d, "%s", dir);
        struct dirent *e;
        while ((e = readdir(d)) && n < cap) {
            const char *dot = strrchr(e->d_name, '.');
            if (!dot || e->d_name[0] == '.' || strstr(e->d_name, ".preds.txt"))
                continue;
            fixture *f = &out[n++];
            snprintf(f->path, sizeof f->path, "%s/%s", dir, e->d_name);
            snprintf(f->writer, sizeof f->writer, "%s", writers[w]);
            snprintf(f->config, sizeof f->config, "%.*s", (int)(dot - e->d_name), e->d_name);
            snprintf(f->ext, sizeof f->ext, "%s", dot + 1);
        }
        closedir(d);
    }
    return n;
}

static compat_model_info *identify_file(const char *path, char **bytes, size_t *len)
{
    size_t n;
    char *b = th_read(path, &n);
    cr_assert(b, "read %s", path);
    compat_model_info *m = NULL;
    smx_err err = {0};
    cr_assert_eq(compat_identify(b, n, path, &m, &err), SMX_OK, "%s: %s", path, err.msg);
    if (bytes) {
        *bytes = b;
        *len = n;
    } else {
        free(b);
    }
    return m;
}

/* What the fixture README says about each configuration. */
static void expected(const char *config, const char **objective, int *ncls, int *ntarget)
{
    *ncls = 0;
    *ntarget = 1;
    if (!strcmp(config, "binary_logistic") || !strcmp(config, "dart"))
        *objective = "binary:logistic";
    else if (!strcmp(config, "multi_softprob"))
        *objective = "multi:softprob", *ncls = 3;
    else if (!strcmp(config, "multi_output_tree"))
        *objective = "reg:squarederror", *ntarget = 2;
    else
        *objective = "reg:squarederror";
}

Test(model_readers, every_fixture_identified_with_its_writer_and_facts)
{
    static fixture fx[128];
    size_t n = list_fixtures(fx, 128);
    cr_assert_geq(n, 40, "found %zu fixtures", n);
    for (size_t i = 0; i < n; i++) {
        fixture *f = &fx[i];
        compat_model_info *m = identify_file(f->path, NULL, NULL);
        cr_assert_not(m->corrupt, "%s: %s", f->path, m->problem);
        compat_format want = !strcmp(f->ext, "json") ? COMPAT_FMT_JSON
                             : !strcmp(f->ext, "ubj") || !strcmp(f->ext, "state")
                                 ? COMPAT_FMT_UBJSON
                             : !strcmp(f->ext, "pkl") ? COMPAT_FMT_PICKLE
                                                      : COMPAT_FMT_BINARY;
        cr_assert_eq(m->format, want, "%s: format %s", f->path, compat_format_name(m->format));
        compat_version v;
        char wv[32];
        snprintf(wv, sizeof wv, "%.*s", (int)strcspn(f->writer, "-"), f->writer);
        cr_assert_eq(compat_version_parse(wv, &v), 0);
        cr_assert(compat_version_in_writer_range(m, v), "%s: writer %s not in range (%s)", f->path,
                  f->writer, m->writer_note);
        cr_assert(m->writer_note[0], "%s: says how the version was found", f->path);
        if (want == COMPAT_FMT_BINARY) {
            cr_assert_not(m->writer_exact, "binary stores no patch");
            cr_assert_eq(m->writer_min.major, v.major);
            cr_assert_eq(m->writer_min.minor, v.minor);
        } else {
            cr_assert(m->writer_exact, "%s stores its version", f->path);
        }
        const char *obj;
        int ncls, ntarget;
        expected(f->config, &obj, &ncls, &ntarget);
        cr_assert_str_eq(m->objective, obj, "%s", f->path);
        cr_assert_eq(m->num_feature, 6, "%s", f->path);
        cr_assert_eq(m->num_class, ncls, "%s", f->path);
        if (want != COMPAT_FMT_BINARY || v.major > 1 || v.minor >= 6)
            cr_assert_eq(m->num_target, ntarget, "%s", f->path);
        cr_assert_str_eq(m->booster,
                         !strcmp(f->config, "gblinear") ? "gblinear"
                         : !strcmp(f->config, "dart")   ? "dart"
                                                        : "gbtree",
                         "%s", f->path);
        cr_assert_eq(m->has_categorical, !strcmp(f->config, "categorical"), "%s", f->path);
        cr_assert_eq(m->size_leaf_vector > 1, !strcmp(f->config, "multi_output_tree"), "%s",
                     f->path);
        if (strcmp(f->config, "gblinear"))
            cr_assert_eq(m->num_trees, (int64_t)m->n_tree_structs, "%s", f->path);
        else
            cr_assert_eq(m->n_linear_weights, 7, "%s: 6 weights and a bias", f->path);
        cr_assert(m->base_score[0], "%s", f->path);
        compat_model_info_free(m);
    }
}

/* The same model saved in every format says the same things. */
Test(model_readers, formats_of_one_model_agree)
{
    static fixture fx[128];
    size_t n = list_fixtures(fx, 128);
    size_t pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(fx[i].writer, fx[j].writer) || strcmp(fx[i].config, fx[j].config))
                continue;
            compat_model_info *a = identify_file(fx[i].path, NULL, NULL);
            compat_model_info *b = identify_file(fx[j].path, NULL, NULL);
            cr_assert_eq(a->num_trees, b->num_trees, "%s vs %s", fx[i].path, fx[j].path);
            cr_assert_eq(a->num_class, b->num_class);
            cr_assert_str_eq(a->objective, b->objective);
            cr_assert_float_eq(strtod(a->base_score, NULL), strtod(b->base_score, NULL), 1e-6,
                               "%s %s vs %s %s", fx[i].path, a->base_score, fx[j].path,
                               b->base_score);
            pairs++;
            compat_model_info_free(a);
            compat_model_info_free(b);
        }
    cr_assert_geq(pairs, 30, "%zu pairs", pairs);
}

static float *test_matrix(size_t *nrow, size_t *ncol)
{
    size_t n;
    char *t = th_read(MODELS "/test_matrix.csv", &n);
    cr_assert(t);
    float *X = malloc(64 * 16 * sizeof *X);
    size_t r = 0, c = 0, cols = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        c = 0;
        for (char *p = line;; c++) {
            char *e;
            X[r * 16 + c] = strncmp(p, "nan", 3) ? strtof(p, &e) : NAN;
            p = strchr(p, ',');
            if (!p)
                break;
            p++;
        }
        cols = c + 1;
        r++;
    }
    free(t);
    /* compact to ncol columns */
    for (size_t i = 0; i < r; i++)
        memmove(X + i * cols, X + i * 16, cols * sizeof *X);
    *nrow = r;
    *ncol = cols;
    return X;
}

static double *read_preds(const char *path, size_t *n)
{
    size_t len;
    char *t = th_read(path, &len);
    cr_assert(t, "%s", path);
    double *v = malloc(4096 * sizeof *v);
    size_t k = 0;
    for (char *p = t; *p && k < 4096;) {
        char *e;
        double d = strtod(p, &e);
        if (e == p) {
            p++;
            continue;
        }
        v[k++] = d;
        p = e;
    }
    free(t);
    *n = k;
    return v;
}

Test(model_readers, reference_predictions_match_the_writer)
{
    static fixture fx[128];
    size_t n = list_fixtures(fx, 128), nrow, ncol, checked = 0;
    float *X = test_matrix(&nrow, &ncol);
    cr_assert_eq(nrow, 20);
    cr_assert_eq(ncol, 6);
    for (size_t i = 0; i < n; i++) {
        fixture *f = &fx[i];
        char pp[1200];
        snprintf(pp, sizeof pp, "%s/%s/%s.preds.txt", MODELS, f->writer, f->config);
        size_t np;
        double *want = read_preds(pp, &np);
        compat_model_info *m = identify_file(f->path, NULL, NULL);
        compat_pred p;
        smx_err err = {0};
        cr_assert_eq(compat_reference_predict(m, X, nrow, ncol, 0, &p, &err), SMX_OK, "%s: %s",
                     f->path, err.msg);
        cr_assert_eq(p.rows * p.cols, np, "%s: %llu x %llu values vs %zu", f->path,
                     (unsigned long long)p.rows, (unsigned long long)p.cols, np);
        double worst = 0;
        for (size_t k = 0; k < np; k++) {
            double d = fabs(p.values[k] - want[k]);
            worst = d > worst ? d : worst;
        }
        cr_assert_leq(worst, 1e-5 * 4, "%s: largest difference %g", f->path, worst);
        checked++;
        compat_pred_free(&p);
        compat_model_info_free(m);
        free(want);
    }
    cr_assert_geq(checked, 40);
    free(X);
}

/* A file cut short at many offsets from first_cut on: recognised as its format, corrupt, and
 * the problem names the byte offset. Never a crash (the sanitizer build runs this too). */
static size_t check_truncations(const char *path, size_t first_cut)
{
    char *b;
    size_t len, cuts = 0;
    compat_model_info *whole = identify_file(path, &b, &len);
    compat_format fmt = whole->format;
    compat_model_info_free(whole);
    size_t step = len / 97 ? len / 97 : 1;
    for (size_t cut = first_cut; cut < len; cut += (cut < 300 ? 7 : step)) {
        compat_model_info *m = NULL;
        smx_err err = {0};
        char *p = malloc(cut); /* exact-size copy: ASan sees any over-read */
        memcpy(p, b, cut);
        cr_assert_eq(compat_identify(p, cut, path, &m, &err), SMX_OK);
        cr_assert_eq(m->format, fmt, "%s cut at %zu: %s", path, cut, compat_format_name(m->format));
        cr_assert(m->corrupt, "%s cut at %zu is not reported corrupt", path, cut);
        cr_assert(strstr(m->problem, "offset"), "%s cut at %zu: %s", path, cut, m->problem);
        compat_pred pr;
        cr_assert_neq(compat_reference_predict(m, (const float[6]){0}, 1, 6, 0, &pr, &err), SMX_OK,
                      "a corrupt model is not evaluated");
        compat_model_info_free(m);
        free(p);
        cuts++;
    }
    free(b);
    return cuts;
}

Test(model_readers, truncated_files_are_corrupt_with_an_offset)
{
    static fixture fx[128];
    size_t n = list_fixtures(fx, 128), cuts = 0;
    for (size_t i = 0; i < n; i++)
        cuts += check_truncations(fx[i].path, 16);
    /* magic-less binaries are recognisable once the names after the header are there */
    static const char *synth[] = {"bin090_binary_logistic.bin", "bin10_reg_squarederror.bin",
                                  "pickle_p0_090.pkl",          "pickle_p1_cfgoff.pkl",
                                  "pickle_p2_090.pkl",          "pickle_p3_snapjson.pkl",
                                  "pickle_p5_snapubj.pkl",      "pickle_xgbclassifier.pkl",
                                  "joblib_zlib.joblib",         "joblib_gzip.joblib"};
    for (size_t i = 0; i < sizeof synth / sizeof synth[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/synth/%s", MODELS, synth[i]);
        cuts += check_truncations(path, 200);
    }
    cr_assert_gt(cuts, 3000, "%zu cuts", cuts);
}

/* Bytes flipped all over every fixture: identify and predict never crash or hang. */
Test(model_readers, corrupted_bytes_never_crash)
{
    static fixture fx[256];
    size_t n = list_fixtures(fx, 128), runs = 0, flagged = 0;
    /* and every synthetic file: pickles, joblib wrappers, foreign files, the objectives and
     * forms of synth/forms */
    static const char *const dirs[] = {MODELS "/synth", MODELS "/synth/forms"};
    for (size_t k = 0; k < 2; k++) {
        DIR *dd = opendir(dirs[k]);
        cr_assert(dd);
        for (struct dirent *e; (e = readdir(dd)) && n < 256;)
            if (e->d_name[0] != '.' && e->d_type == DT_REG && !strstr(e->d_name, ".py") &&
                !strstr(e->d_name, ".csv"))
                snprintf(fx[n++].path, sizeof fx[0].path, "%s/%s", dirs[k], e->d_name);
        closedir(dd);
    }
    float X[6] = {0.5f, -1.0f, 3.0f, NAN, 1.0f, 0.0f};
    srand(7);
    for (size_t i = 0; i < n; i++) {
        char *b;
        size_t len;
        compat_model_info *whole = identify_file(fx[i].path, &b, &len);
        compat_model_info_free(whole);
        for (int k = 0; k < 60; k++) {
            char *p = malloc(len);
            memcpy(p, b, len);
            size_t at = (size_t)rand() % len;
            for (int j = 0; j < 4 && at + (size_t)j < len; j++)
                p[at + (size_t)j] = (char)(k % 3 == 0 ? 0xff : k % 3 == 1 ? 0x00 : rand());
            compat_model_info *m = NULL;
            smx_err err = {0};
            cr_assert_eq(compat_identify(p, len, fx[i].path, &m, &err), SMX_OK);
            compat_pred pr;
            if (compat_reference_predict(m, X, 1, 6, 0, &pr, &err) == SMX_OK)
                compat_pred_free(&pr);
            flagged += m->corrupt;
            compat_model_info_free(m);
            free(p);
            runs++;
        }
        free(b);
    }
    cr_assert_gt(flagged, runs / 10, "%zu of %zu corruptions detected", flagged, runs);
}

/* ---- the files the measured fixtures do not cover (tests/data/models/synth/make.py) -------- */

static int split_csv(char *line, char **f, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

static void check_version_bound(const compat_model_info *m, const char *want, int upper,
                                const char *file)
{
    compat_version v = upper ? m->writer_max : m->writer_min;
    if (!*want) {
        cr_assert_lt(v.major, 0, "%s: %s bound should be unknown", file, upper ? "upper" : "lower");
        return;
    }
    compat_version w;
    cr_assert_eq(compat_version_parse(want, &w), 0);
    cr_assert_eq(v.major, w.major, "%s: %s", file, m->writer_note);
    cr_assert_eq(v.minor, w.minor, "%s: %s", file, m->writer_note);
    if (w.patch >= 0)
        cr_assert_eq(v.patch, w.patch, "%s", file);
    else
        cr_assert_lt(v.patch, 0, "%s: no patch is stored, none may be claimed", file);
}

Test(model_readers, synthetic_layouts_pickles_wrappers_and_foreign_files)
{
    size_t len, nrow, ncol, files = 0;
    char *csv = th_read(MODELS "/synth/expect.csv", &len);
    cr_assert(csv);
    float *X = test_matrix(&nrow, &ncol);
    char *save = NULL;
    strtok_r(csv, "\n", &save); /* header */
    for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[16];
        cr_assert_eq(split_csv(line, f, 16), 16, "%s", line);
        const char *file = f[0], *fmt = f[1], *payload = f[2], *wmin = f[3], *wmax = f[4],
                   *obj = f[5], *ncls = f[6], *proto = f[7], *pclass = f[8], *comp = f[9],
                   *foreign = f[10], *preds = f[11];
        char path[1024];
        snprintf(path, sizeof path, "%s/synth/%s", MODELS, file);
        compat_model_info *m = identify_file(path, NULL, NULL);
        cr_assert_not(m->corrupt, "%s: %s", file, m->problem);
        cr_assert_str_eq(compat_format_name(m->format), fmt, "%s: %s", file, m->detail);
        cr_assert_str_eq(compat_payload_name(m->payload), payload, "%s: %s", file, m->detail);
        if (*obj) {
            check_version_bound(m, wmin, 0, file);
            check_version_bound(m, wmax, 1, file);
            cr_assert_str_eq(m->objective, obj, "%s", file);
            cr_assert_eq(m->num_class, atoi(ncls), "%s", file);
        }
        if (*proto) {
            cr_assert_eq(m->pickle_protocol, atoi(proto), "%s", file);
            cr_assert_str_eq(m->pickle_class, pclass, "%s", file);
            cr_assert_eq(m->pickle_is_booster, !strcmp(pclass, "xgboost.core Booster"), "%s", file);
        }
        if (*comp)
            cr_assert_str_eq(m->joblib_compression, comp, "%s", file);
        cr_assert_eq(m->pickle_joblib_arrays, atoi(f[12]), "%s: joblib inline arrays", file);
        cr_assert_eq(m->base_score_array, atoi(f[13]), "%s: base_score array", file);
        cr_assert_eq(m->ubj_typed_f64, atoi(f[14]), "%s: UBJ $D arrays", file);
        cr_assert_eq(m->ubj_typed_i8, atoi(f[15]), "%s: UBJ $i/$I arrays", file);
        if (*obj && !m->writer_exact)
            cr_assert(strstr(m->writer_note, "inferred") || strstr(m->writer_note, "header"),
                      "%s: says how the version was inferred: %s", file, m->writer_note);
        if (*foreign)
            cr_assert(strstr(m->foreign, foreign), "%s: foreign '%s'", file, m->foreign);
        if (*proto && strcmp(payload, "none")) {
            /* the payload handed to XGBoost identifies as itself */
            cr_assert(m->payload_bytes && m->payload_len, "%s keeps its payload", file);
            compat_model_info *p;
            smx_err err = {0};
            cr_assert_eq(compat_identify(m->payload_bytes, m->payload_len, "payload", &p, &err), 0);
            cr_assert_str_eq(compat_payload_name(p->payload), payload, "%s payload", file);
            cr_assert_eq(p->num_trees, m->num_trees);
            compat_model_info_free(p);
        }
        if (*preds) {
            char pp[1200];
            snprintf(pp, sizeof pp, "%s/%s", MODELS, preds);
            size_t np;
            double *want = read_preds(pp, &np);
            compat_pred p;
            smx_err err = {0};
            cr_assert_eq(compat_reference_predict(m, X, nrow, ncol, 0, &p, &err), SMX_OK, "%s: %s",
                         file, err.msg);
            cr_assert_eq(p.rows * p.cols, np, "%s", file);
            for (size_t k = 0; k < np; k++)
                cr_assert_float_eq(p.values[k], want[k], 4e-5, "%s value %zu: %g vs %g", file, k,
                                   p.values[k], want[k]);
            compat_pred_free(&p);
            free(want);
        }
        compat_model_info_free(m);
        files++;
    }
    cr_assert_geq(files, 20);
    free(csv);
    free(X);
}

/* Found by fuzz_identify: a protocol-0 number argument longer than the scratch buffer. */
Test(model_readers, long_protocol0_number_lines)
{
    char p[300] = "\x80\x02";
    for (int op = 0; op < 4; op++) {
        size_t n = 2;
        p[n++] = "IFLP"[op];
        for (int i = 0; i < 120; i++)
            p[n++] = i == 119 ? 'L' : '7';
        p[n++] = '\n';
        p[n++] = '.';
        compat_model_info *m;
        smx_err err = {0};
        cr_assert_eq(compat_identify(p, n, "x.pkl", &m, &err), SMX_OK);
        cr_assert_eq(m->format, COMPAT_FMT_PICKLE);
        cr_assert_not(m->corrupt, "%s", m->problem);
        compat_model_info_free(m);
    }
}

/* A tree whose arrays disagree with its num_nodes: the problem names the tree and the byte
 * offset where it starts, in JSON and in UBJSON. */
Test(model_readers, inconsistent_tree_names_tree_and_offset)
{
    static const struct {
        const char *file, *from, *to, *tree_start;
        size_t n;
    } cases[] = {
        {"1.7.4/binary_logistic.json", "\"num_nodes\":\"15\"", "\"num_nodes\":\"16\"",
         "{\"base_weights\"", 16},
        {"1.7.4/binary_logistic.ubj",
         "num_nodesSL\0\0\0\0\0\0\0\x02"
         "15",
         "num_nodesSL\0\0\0\0\0\0\0\x02"
         "16",
         "{L\0\0\0\0\0\0\0\x0c"
         "base_weights",
         21},
    };
    for (size_t c = 0; c < 2; c++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", MODELS, cases[c].file);
        size_t len;
        char *b = th_read(path, &len);
        char *at = memmem(b, len, cases[c].from, cases[c].n);
        cr_assert(at, "%s", cases[c].file);
        memcpy(at, cases[c].to, cases[c].n);
        size_t tl = c ? 22 : strlen(cases[c].tree_start);
        char *tree = memmem(b, len, cases[c].tree_start, tl);
        cr_assert(tree && tree < at);
        compat_model_info *m;
        smx_err err = {0};
        cr_assert_eq(compat_identify(b, len, path, &m, &err), SMX_OK);
        cr_assert(m->corrupt, "%s", cases[c].file);
        char want[96];
        snprintf(want, sizeof want, "tree 0 (at byte offset %zu)", (size_t)(tree - b));
        cr_assert(strstr(m->problem, want), "%s: %s (want '%s')", cases[c].file, m->problem, want);
        cr_assert(strstr(m->problem, "one value per node"), "%s", m->problem);
        compat_model_info_free(m);
        free(b);
    }
}

/* A few hundred KB of zlib that inflate to 100 MB: refused past the limit, not allocated. */
Test(model_readers, compression_bombs_are_cut_off)
{
    static unsigned char in[1 << 20], out[1 << 20];
    memset(in, 'N', sizeof in);
    in[0] = 0x80, in[1] = 4; /* a pickle, so the content is worth reading */
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(deflateInit(&z, 9), Z_OK);
    smx_buf b = SMX_BUF_INIT;
    for (int i = 0; i < 100; i++) {
        z.next_in = in;
        z.avail_in = sizeof in;
        do {
            z.next_out = out;
            z.avail_out = sizeof out;
            deflate(&z, i == 99 ? Z_FINISH : Z_NO_FLUSH);
            smx_buf_append(&b, out, sizeof out - z.avail_out);
        } while (z.avail_out == 0);
        in[0] = in[1] = 'N';
    }
    deflateEnd(&z);
    cr_assert_lt(b.len, 1 << 20);
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(b.data, b.len, "model.joblib", &m, &err), SMX_OK);
    cr_assert(m->corrupt);
    cr_assert(strstr(m->problem, "decompresses to more than"), "%s", m->problem);
    cr_assert_str_eq(m->joblib_compression, "zlib");
    compat_model_info_free(m);
    smx_buf_free(&b);
}

/* Trees are parsed one at a time; members XGBoost never writes (here an escaped string and a
 * mixed array in every tree) change nothing, and a broken tree names its offset in the file. */
Test(model_readers, json_trees_with_unusual_members_read_the_same)
{
    size_t len, nrow, ncol;
    char *b = th_read(MODELS "/1.7.4/binary_logistic.json", &len);
    smx_buf o = SMX_BUF_INIT;
    const char *p = b, *hit;
    size_t trees = 0;
    while ((hit = strstr(p, "{\"base_weights\""))) {
        smx_buf_append(&o, p, (size_t)(hit - p));
        smx_buf_puts(&o, "{\"note\":\"a \\\"quoted\\\" word\",\"mixed\":[1,\"x\",{}],");
        p = hit + 1;
        trees++;
    }
    smx_buf_puts(&o, p);
    cr_assert_eq(trees, 10);
    float *X = test_matrix(&nrow, &ncol);
    compat_model_info *a, *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(b, len, "a.json", &a, &err), SMX_OK);
    cr_assert_eq(compat_identify(o.data, o.len, "b.json", &m, &err), SMX_OK);
    cr_assert_not(m->corrupt, "%s", m->problem);
    compat_pred pa, pb;
    cr_assert_eq(compat_reference_predict(a, X, nrow, ncol, 0, &pa, &err), SMX_OK);
    cr_assert_eq(compat_reference_predict(m, X, nrow, ncol, 0, &pb, &err), SMX_OK);
    for (size_t k = 0; k < nrow; k++)
        cr_assert_eq(pa.values[k], pb.values[k]);
    compat_pred_free(&pa);
    compat_pred_free(&pb);
    compat_model_info_free(a);
    compat_model_info_free(m);

    /* a broken tree: jansson's message, at the offset in the whole file */
    char *bad = strstr(o.data + o.len / 2, "\"left_children\":[");
    cr_assert(bad);
    bad[17] = '}';
    cr_assert_eq(compat_identify(o.data, o.len, "c.json", &m, &err), SMX_OK);
    cr_assert(m->corrupt);
    char want[64];
    snprintf(want, sizeof want, "at byte offset %zu", (size_t)(bad + 17 - o.data));
    cr_assert(strstr(m->problem, want), "%s (want %s)", m->problem, want);
    compat_model_info_free(m);
    smx_buf_free(&o);
    free(b);
    free(X);
}

/* A JSON model that cannot be split into trees and is larger than one document may be (here a
 * 70 MB gblinear): the learner facts are still read, without building the document. */
Test(model_readers, huge_unsplittable_json_gives_facts_without_a_document)
{
    smx_buf b = SMX_BUF_INIT;
    smx_buf_puts(&b, "{\"learner\":{\"attributes\":{\"best_iteration\":\"3\"},\"feature_names\":[],"
                     "\"feature_types\":[],\"gradient_booster\":{\"model\":{\"boosted_rounds\":4,"
                     "\"weights\":[");
    size_t n = 14u << 20;
    smx_buf_reserve(&b, n * 5 + 512);
    for (size_t i = 0; i < n; i++)
        smx_buf_append(&b, i ? ",0.25" : "0.25", i ? 5 : 4);
    smx_buf_printf(&b,
                   "]},\"name\":\"gblinear\"},\"learner_model_param\":{\"base_score\":\"5E-1\","
                   "\"num_class\":\"0\",\"num_feature\":\"%zu\",\"num_target\":\"1\"},"
                   "\"objective\":{\"name\":\"reg:squarederror\",\"reg_loss_param\":{}}},"
                   "\"version\":[1,7,4]}",
                   n - 1);
    cr_assert_gt(b.len, (size_t)64 << 20);
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(b.data, b.len, "big.json", &m, &err), SMX_OK);
    cr_assert_eq(m->format, COMPAT_FMT_JSON);
    cr_assert_not(m->corrupt, "%s", m->problem);
    cr_assert(m->writer_exact && m->writer_min.major == 1 && m->writer_min.minor == 7);
    cr_assert_str_eq(m->objective, "reg:squarederror");
    cr_assert_eq(m->num_feature, (int64_t)n - 1);
    cr_assert_str_eq(m->base_score, "5E-1");
    cr_assert(strstr(m->detail, "learner facts only"), "%s", m->detail);
    compat_pred p;
    cr_assert_neq(compat_reference_predict(m, (const float[1]){0}, 1, 1, 0, &p, &err), SMX_OK);
    cr_assert(strstr(err.msg, "not parsed"), "%s", err.msg);
    compat_model_info_free(m);
    smx_buf_free(&b);
}

/* Vector-leaf trees in the 3.2+ layout ("leaf_weights"): recognised, and not evaluated with
 * the 2.0-3.1 reading of base_weights. */
Test(model_readers, vector_leaf_trees_with_leaf_weights_are_flagged)
{
    size_t len;
    char *b = th_read(MODELS "/3.0.5/multi_output_tree.json", &len);
    smx_buf o = SMX_BUF_INIT;
    const char *p = b, *hit;
    while ((hit = strstr(p, "{\"base_weights\""))) {
        smx_buf_append(&o, p, (size_t)(hit - p));
        smx_buf_puts(&o, "{\"leaf_weights\":[0.5,0.5],");
        p = hit + 1;
    }
    smx_buf_puts(&o, p);
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(o.data, o.len, "mt.json", &m, &err), SMX_OK);
    cr_assert_not(m->corrupt, "%s", m->problem);
    cr_assert(m->has_leaf_weights);
    cr_assert_eq(m->size_leaf_vector, 2);
    compat_pred pr;
    cr_assert_neq(compat_reference_predict(m, (const float[6]){0}, 1, 6, 0, &pr, &err), SMX_OK);
    cr_assert(strstr(err.msg, "leaf_weights"), "%s", err.msg);
    compat_model_info_free(m);
    smx_buf_free(&o);
    free(b);
}

/* Stream f in chunks of `chunk` bytes through s, declaring its size or not. */
static compat_model_info *stream_file(compat_model_stream *s, const char *bytes, size_t n,
                                      size_t chunk, int declare)
{
    compat_model_stream_begin(s, declare ? (int64_t)n : -1);
    smx_err err = {0};
    for (size_t at = 0; at < n; at += chunk)
        cr_assert_eq(compat_model_stream_feed(s, bytes + at, n - at < chunk ? n - at : chunk, &err),
                     SMX_OK, "%s", err.msg);
    compat_model_info *m = NULL;
    cr_assert_eq(compat_model_stream_identify(s, "xgboost-model", &m, &err), SMX_OK, "%s", err.msg);
    return m;
}

/*
 * The streaming identifier verify and inspect share: a file within max_bytes is identified
 * whole; a larger one is read as it streams and keeps only its first head_bytes (whether its
 * size was declared or not): the writer is the one the whole file names, and that the file
 * was not kept is not corruption.
 */
Test(model_readers, the_streaming_identifier_reads_head_and_tail)
{
    static const char *files[] = {"1.7.4/binary_logistic.json", "1.7.4/binary_logistic.ubj",
                                  "1.7.4/multi_softprob.bin", "3.0.5/categorical.ubj",
                                  "1.5.2/dart.json"};
    compat_model_stream *s;
    smx_err err = {0};
    cr_assert_eq(compat_model_stream_new(4096, 2048, &s, &err), SMX_OK);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024], *bytes;
        size_t n;
        snprintf(path, sizeof path, "%s/%s", MODELS, files[i]);
        compat_model_info *whole = identify_file(path, &bytes, &n);
        cr_assert_gt(n, (size_t)4096, "%s is larger than the stream keeps", files[i]);
        for (int declare = 0; declare < 2; declare++) {
            compat_model_info *m = stream_file(s, bytes, n, 1000, declare);
            size_t kept;
            compat_model_stream_data(s, &kept);
            cr_assert(compat_model_stream_partial(s), "%s", files[i]);
            cr_assert_eq(compat_model_stream_size(s), n);
            cr_assert_eq(kept, 2048u, "%s: %zu bytes kept", files[i], kept);
            cr_assert(!m->corrupt, "%s: %s", files[i], m->problem);
            cr_assert_eq(m->format, whole->format, "%s", files[i]);
            char a[32], b[32];
            cr_assert_str_eq(compat_version_str(m->writer_min, a, sizeof a),
                             compat_version_str(whole->writer_min, b, sizeof b), "%s", files[i]);
            cr_assert_str_eq(compat_version_str(m->writer_max, a, sizeof a),
                             compat_version_str(whole->writer_max, b, sizeof b), "%s", files[i]);
            cr_assert_eq(m->writer_exact, whole->writer_exact, "%s", files[i]);
            compat_model_info_free(m);
        }
        /* within max_bytes: the file itself, identified as a whole */
        compat_model_stream *big;
        cr_assert_eq(compat_model_stream_new(n, 0, &big, &err), SMX_OK);
        compat_model_info *m = stream_file(big, bytes, n, 777, 1);
        size_t kept;
        const void *data = compat_model_stream_data(big, &kept);
        cr_assert(!compat_model_stream_partial(big) && kept == n && !memcmp(data, bytes, n));
        cr_assert_eq(m->num_trees, whole->num_trees);
        cr_assert_str_eq(m->writer_note, whole->writer_note);
        compat_model_info_free(m);
        compat_model_stream_free(big);
        compat_model_info_free(whole);
        free(bytes);
    }
    compat_model_stream_free(s);
}

/* The writer as verify's report, the rules' messages and inspect say it. */
Test(model_readers, the_writer_in_its_three_forms)
{
    static const struct {
        compat_version lo, hi;
        int exact;
        const char *plain, *prefix, *words;
    } cases[] = {
        {{1, 7, 4}, {1, 7, 4}, 1, "1.7.4", "XGBoost 1.7.4", "XGBoost 1.7.4"},
        {{1, 7, -1}, {1, 7, -1}, 0, "1.7", "XGBoost 1.7", "XGBoost 1.7.x"},
        {{-1, 0, -1}, {0, 90, -1}, 0, "<=0.90", "XGBoost <= 0.90", "XGBoost 0.90 or older"},
        {{1, 6, 0}, {-1, 0, -1}, 0, "1.6.0", "XGBoost 1.6.0", "XGBoost 1.6.0 or later"},
        {{1, 3, 0}, {1, 5, -1}, 0, "1.3.0-1.5", "XGBoost 1.3.0-1.5", "XGBoost 1.3.0 .. 1.5.x"},
        {{-1, 0, -1}, {-1, 0, -1}, 0, "unknown", "an unknown XGBoost", "an unknown XGBoost"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        compat_model_info m;
        memset(&m, 0, sizeof m);
        m.writer_min = cases[i].lo;
        m.writer_max = cases[i].hi;
        m.writer_exact = cases[i].exact;
        char b[96];
        cr_assert_str_eq(compat_writer_text(&m, b, sizeof b, 0), cases[i].plain);
        cr_assert_str_eq(compat_writer_text(&m, b, sizeof b, COMPAT_WRITER_PREFIX),
                         cases[i].prefix);
        cr_assert_str_eq(
            compat_writer_text(&m, b, sizeof b, COMPAT_WRITER_PREFIX | COMPAT_WRITER_WORDS),
            cases[i].words);
    }
}
