/*
 * Models too large to keep whole: the streaming identifier must establish what a whole read
 * establishes, in memory that does not grow with the file.
 *
 * Every model of the test data is identified whole and then as it streams (the stream keeps
 * nothing whole), in chunks of several sizes: every fact the rules read must be the same, and
 * none may be unknown. Cut and corrupted copies must be reported as a whole read reports them.
 */
#include "compat/compat.h"
#include "tests/helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODELS SMXGB_TESTDATA "/models"

static void same_strs(char **a, size_t na, char **b, size_t nb, const char *what, const char *f)
{
    cr_assert_eq(na, nb, "%s: %zu %s streamed, %zu whole", f, na, what, nb);
    for (size_t i = 0; i < na; i++)
        cr_assert_str_eq(a[i], b[i], "%s: %s[%zu]", f, what, i);
}

/* A problem as both reads must say it: a read as it streams cannot know how many bytes a
 * file whose size was not declared has left after a length that claims more. */
static void problem_text(const char *p, char *out, size_t n)
{
    size_t len = strlen(p), at = 0;
    while (at + 9 <= len && memcmp(p + at, "but only ", 9))
        at++;
    int hit = at + 9 <= len;
    at = hit ? at + 9 : len;
    size_t end = at;
    while (p[end] >= '0' && p[end] <= '9')
        end++;
    snprintf(out, n, "%.*s%s%s", (int)at, p, hit ? "N" : "", p + end);
}

/* Every fact of compat_model_info but the parsed trees and the owned payload bytes. Without
 * a declared size, a corrupt file's problem may be found at another place than a whole read
 * finds it (a length that claims more than the file holds shows only at its end). */
static void same_facts(const compat_model_info *s, const compat_model_info *w, const char *f,
                       int declared)
{
    char a[32], b[32];
    cr_assert_eq(s->unknown, 0u, "%s: unknown facts (%s)", f, s->unknown_why);
    cr_assert_eq(s->format, w->format, "%s: format %s, whole %s", f, compat_format_name(s->format),
                 compat_format_name(w->format));
    cr_assert_eq(s->payload, w->payload, "%s: payload %s, whole %s", f,
                 compat_payload_name(s->payload), compat_payload_name(w->payload));
    cr_assert_eq(s->corrupt, w->corrupt, "%s: corrupt %d (%s), whole %d (%s)", f, s->corrupt,
                 s->problem, w->corrupt, w->problem);
    char ps[SMX_ERRMAX], pw[SMX_ERRMAX];
    problem_text(s->problem, ps, sizeof ps);
    problem_text(w->problem, pw, sizeof pw);
    if (declared || !w->corrupt)
        cr_assert_str_eq(ps, pw, "%s: problem\n  %s\nwhole\n  %s", f, s->problem, w->problem);
    if (w->corrupt)
        return; /* what either read found before the problem does not matter: it fails */
    cr_assert_str_eq(compat_version_str(s->writer_min, a, sizeof a),
                     compat_version_str(w->writer_min, b, sizeof b), "%s: writer_min", f);
    cr_assert_str_eq(compat_version_str(s->writer_max, a, sizeof a),
                     compat_version_str(w->writer_max, b, sizeof b), "%s: writer_max", f);
    cr_assert_eq(s->writer_min.major, w->writer_min.major, "%s", f);
    cr_assert_eq(s->writer_max.major, w->writer_max.major, "%s", f);
    cr_assert_eq(s->writer_exact, w->writer_exact, "%s", f);
    cr_assert_str_eq(s->objective, w->objective, "%s", f);
    cr_assert_str_eq(s->booster, w->booster, "%s", f);
    cr_assert_eq(s->num_feature, w->num_feature, "%s", f);
    cr_assert_eq(s->num_class, w->num_class, "%s", f);
    cr_assert_eq(s->num_target, w->num_target, "%s", f);
    cr_assert_str_eq(s->base_score, w->base_score, "%s", f);
    cr_assert_eq(s->base_score_array, w->base_score_array, "%s", f);
    cr_assert_eq(s->base_score_is_margin, w->base_score_is_margin, "%s", f);
    cr_assert_eq(s->boost_from_average, w->boost_from_average, "%s", f);
    cr_assert_eq(s->num_trees, w->num_trees, "%s", f);
    cr_assert_eq(s->num_parallel_tree, w->num_parallel_tree, "%s", f);
    cr_assert_eq(s->has_categorical, w->has_categorical, "%s", f);
    cr_assert_eq(s->size_leaf_vector, w->size_leaf_vector, "%s", f);
    cr_assert_eq(s->has_leaf_weights, w->has_leaf_weights, "%s", f);
    cr_assert_eq(s->has_cats_container, w->has_cats_container, "%s", f);
    cr_assert_eq(s->ubj_typed_f64, w->ubj_typed_f64, "%s", f);
    cr_assert_eq(s->ubj_typed_i8, w->ubj_typed_i8, "%s", f);
    cr_assert_eq(s->json_default_left_int, w->json_default_left_int, "%s", f);
    cr_assert_eq(s->json_has_split_type, w->json_has_split_type, "%s", f);
    cr_assert_eq(s->json_has_leaf_child_counts, w->json_has_leaf_child_counts, "%s", f);
    cr_assert_eq(s->n_attrs, w->n_attrs, "%s: %zu attributes, whole %zu", f, s->n_attrs,
                 w->n_attrs);
    for (size_t i = 0; i < s->n_attrs; i++) {
        int found = 0;
        for (size_t k = 0; k < w->n_attrs && !found; k++)
            found = !strcmp(s->attrs[i].key, w->attrs[k].key) &&
                    !strcmp(s->attrs[i].value, w->attrs[k].value);
        cr_assert(found, "%s: attribute %s", f, s->attrs[i].key);
    }
    same_strs(s->feature_names, s->n_feature_names, w->feature_names, w->n_feature_names,
              "feature names", f);
    same_strs(s->feature_types, s->n_feature_types, w->feature_types, w->n_feature_types,
              "feature types", f);
    cr_assert_eq(s->pickle_protocol, w->pickle_protocol, "%s", f);
    cr_assert_str_eq(s->pickle_class, w->pickle_class, "%s", f);
    same_strs(s->pickle_globals, s->n_pickle_globals, w->pickle_globals, w->n_pickle_globals,
              "pickle globals", f);
    cr_assert_eq(s->pickle_is_booster, w->pickle_is_booster, "%s", f);
    cr_assert_eq(s->pickle_joblib_arrays, w->pickle_joblib_arrays, "%s", f);
    cr_assert_str_eq(s->joblib_compression, w->joblib_compression, "%s", f);
    cr_assert_str_eq(s->foreign, w->foreign, "%s", f);
}

/* bytes streamed through s in chunks of `chunk`, declaring the size or not */
static compat_model_info *stream(compat_model_stream *s, const char *b, size_t n, size_t chunk,
                                 int declare)
{
    compat_model_stream_begin(s, declare ? (int64_t)n : -1);
    smx_err err = {0};
    for (size_t at = 0; at < n; at += chunk)
        cr_assert_eq(compat_model_stream_feed(s, b + at, n - at < chunk ? n - at : chunk, &err),
                     SMX_OK, "%s", err.msg);
    compat_model_info *m = NULL;
    cr_assert_eq(compat_model_stream_identify(s, "xgboost-model", &m, &err), SMX_OK, "%s", err.msg);
    return m;
}

/* Formats read as they stream (the others are identified from their head and tail). */
static int streams(const compat_model_info *w)
{
    return w->format == COMPAT_FMT_JSON || w->format == COMPAT_FMT_UBJSON ||
           (w->format == COMPAT_FMT_PICKLE && !w->pickle_joblib_arrays) ||
           w->format == COMPAT_FMT_BINARY;
}

static void check_bytes(const char *label, const char *b, size_t n)
{
    compat_model_info *w = NULL;
    smx_err err = {0};
    cr_assert_eq(compat_identify(b, n, "xgboost-model", &w, &err), SMX_OK, "%s", err.msg);
    if (w->format == COMPAT_FMT_PICKLE && w->payload_bytes && w->payload_len < n) {
        /* the payload as a file of its own (a memory snapshot as the top-level file) */
        char label2[4200];
        snprintf(label2, sizeof label2, "the payload of %s", label);
        check_bytes(label2, (const char *)w->payload_bytes, w->payload_len);
    }
    if (!streams(w) || n < 64) {
        compat_model_info_free(w);
        return;
    }
    static const size_t chunks[] = {1, 13, 4096, (size_t)1 << 30};
    compat_model_stream *s;
    cr_assert_eq(compat_model_stream_new(32, 16, &s, &err), SMX_OK);
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        if (chunks[c] == 1 && n > 200000)
            continue;
        for (int declare = 0; declare < 2; declare++) {
            compat_model_info *m = stream(s, b, n, chunks[c], declare);
            cr_assert(compat_model_stream_partial(s), "%s", label);
            char what[512];
            snprintf(what, sizeof what, "%s (chunks of %zu, size %s)", label, chunks[c],
                     declare ? "declared" : "not declared");
            same_facts(m, w, what, declare);
            compat_model_info_free(m);
        }
    }
    compat_model_stream_free(s);
    compat_model_info_free(w);
}

static void check_dir(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "%s", dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".txt") || strstr(e->d_name, ".csv") ||
            strstr(e->d_name, ".py") || strstr(e->d_name, ".state"))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) || !S_ISREG(st.st_mode))
            continue; /* a directory: listed on its own */
        size_t n;
        char *b = th_read(path, &n);
        cr_assert(b, "%s", path);
        check_bytes(path, b, n);
        free(b);
    }
    closedir(d);
}

Test(model_large, streaming_establishes_what_a_whole_read_does)
{
    static const char *dirs[] = {"1.5.2", "1.7.4", "1.7.4-python", "3.0.5", "synth", "synth/forms"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char d[4096];
        snprintf(d, sizeof d, "%s/%s", MODELS, dirs[i]);
        check_dir(d);
    }
    check_dir(SMXGB_TESTDATA "/verdicts/container");
}

/* Cut short or damaged, a streamed model is reported as the whole read reports it. */
Test(model_large, cut_and_damaged_models_stream_like_whole_ones)
{
    static const char *files[] = {"1.7.4/binary_logistic.json",
                                  "1.7.4/binary_logistic.ubj",
                                  "1.7.4/dart.bin",
                                  "1.7.4-python/binary_logistic.pkl",
                                  "3.0.5/categorical.ubj",
                                  "synth/pickle_p4_cfgoff.pkl",
                                  "synth/pickle_p2_090.pkl",
                                  "1.5.2/multi_softprob.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", MODELS, files[i]);
        size_t n;
        char *b = th_read(path, &n);
        cr_assert(b, "%s", path);
        for (size_t k = 1; k < 8; k++) {
            char label[4200];
            snprintf(label, sizeof label, "%s cut to %zu bytes", files[i], n * k / 8);
            check_bytes(label, b, n * k / 8);
            char *d = malloc(n);
            memcpy(d, b, n);
            d[n * k / 8] ^= 0x5a;
            snprintf(label, sizeof label, "%s with byte %zu changed", files[i], n * k / 8);
            check_bytes(label, d, n);
            free(d);
        }
        free(b);
    }
}

/* ---- models generated here, through the system XGBoost (1.7.4) ---------------------------- */

typedef struct gen {
    compat_xgb *x;
    compat_dmatrix *d;
    compat_booster *b;
    float *X, *y;
} gen;

/* A booster of `rounds` trees of depth up to `depth` on generated rows, with an attribute of
 * `attr` bytes (0: none): XGBoost writes attributes before the trees, so a large one makes a
 * large model fast. */
static void gen_model(gen *g, const char *objective, int rounds, int depth, size_t attr)
{
    smx_err err = {0};
    memset(g, 0, sizeof *g);
    cr_assert_eq(compat_xgb_open(NULL, &g->x, &err), SMX_OK, "%s", err.msg);
    size_t nr = 2000, nc = 8;
    g->X = malloc(nr * nc * sizeof *g->X);
    g->y = malloc(nr * sizeof *g->y);
    for (size_t i = 0; i < nr * nc; i++)
        g->X[i] = (float)((i * 7919 + i / nc * 104729) % 1000) / 100.0f;
    int binary = !strncmp(objective, "binary:", 7); /* else positive labels (reg:gamma) */
    for (size_t i = 0; i < nr; i++)
        g->y[i] = binary ? g->X[i * nc] + g->X[i * nc + 1] > 10.0f
                         : 1.0f + g->X[i * nc] + g->X[i * nc + 1];
    cr_assert_eq(compat_dmatrix_from_dense(g->x, g->X, nr, nc, NAN, 1, &g->d, &err), SMX_OK, "%s",
                 err.msg);
    cr_assert_eq(compat_dmatrix_set_float_info(g->d, "label", g->y, nr, &err), SMX_OK, "%s",
                 err.msg);
    cr_assert_eq(compat_booster_create(g->x, &g->d, 1, &g->b, &err), SMX_OK, "%s", err.msg);
    char dep[16];
    snprintf(dep, sizeof dep, "%d", depth);
    compat_booster_set_param(g->b, "nthread", "2", &err);
    compat_booster_set_param(g->b, "objective", objective, &err);
    compat_booster_set_param(g->b, "max_depth", dep, &err);
    compat_booster_set_param(g->b, "min_child_weight", "0", &err);
    for (int i = 0; i < rounds; i++)
        cr_assert_eq(compat_booster_update(g->b, i, g->d, &err), SMX_OK, "%s", err.msg);
    if (attr) {
        char *note = malloc(attr + 1);
        for (size_t i = 0; i < attr; i++)
            note[i] = "training notes "[i % 15];
        note[attr] = '\0';
        cr_assert_eq(compat_booster_set_attr(g->b, "notes", note, &err), SMX_OK, "%s", err.msg);
        free(note);
    }
}

static void gen_free(gen *g)
{
    compat_booster_free(g->b);
    compat_dmatrix_free(g->d);
    compat_xgb_close(g->x);
    free(g->X);
    free(g->y);
}

/* A pickled Booster as Python writes it: protocol 4 (bytes of the snapshot) or protocol 2
 * (the snapshot as latin-1 text in UTF-8, bytearray's reduction for old protocols). */
#define APPEND_LIT(o, lit) smx_buf_append((o), (lit), sizeof(lit) - 1)

static void pickle_booster(smx_buf *o, const void *snap, size_t n, int protocol)
{
    const unsigned char *s = snap;
    if (protocol >= 4) {
        APPEND_LIT(o, "\x80\x04\x8c\x0cxgboost.core\x94\x8c\x07"
                      "Booster\x94\x93\x94)\x81\x94}\x94("
                      "\x8c\x06handle\x94\x8c\x08"
                      "builtins\x94\x8c\x09"
                      "bytearray\x94\x93\x94");
        unsigned char h[9] = {0x8e};
        for (int i = 0; i < 8; i++)
            h[1 + i] = (unsigned char)((uint64_t)n >> (8 * i));
        smx_buf_append(o, h, 9);
        smx_buf_append(o, s, n);
        APPEND_LIT(o, "\x94\x85\x94R\x94\x8c\x0e"
                      "best_iteration\x94K\x09ub.");
        return;
    }
    APPEND_LIT(o, "\x80\x02"
                  "cxgboost.core\nBooster\nq\x00)\x81q\x01}q\x02"
                  "X\x06\x00\x00\x00handleq\x03"
                  "c__builtin__\nbytearray\nq\x04");
    smx_buf u = SMX_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        unsigned char c[2] = {(unsigned char)(0xC0 | s[i] >> 6),
                              (unsigned char)(0x80 | (s[i] & 0x3F))};
        if (s[i] < 0x80)
            smx_buf_append(&u, s + i, 1);
        else
            smx_buf_append(&u, c, 2);
    }
    unsigned char h[5] = {'X', (unsigned char)u.len, (unsigned char)(u.len >> 8),
                          (unsigned char)(u.len >> 16), (unsigned char)(u.len >> 24)};
    smx_buf_append(o, h, 5);
    smx_buf_append(o, u.data, u.len);
    smx_buf_free(&u);
    APPEND_LIT(o, "q\x05X\x07\x00\x00\x00latin-1q\x06\x86q\x07Rq\x08sb.");
}

/*
 * A pickled Booster whose handle is too long to wait for (more than 1 MiB) is followed to
 * its bytes as they stream, as protocol 4 bytes and as protocol 2 latin-1 text: the pickle is
 * a Booster and its payload the UBJSON snapshot a whole read finds. Before, a pickle larger
 * than verify keeps whole was identified from its head: the scan stopped in the handle, the
 * class was never confirmed a Booster, and the payload was unknown.
 */
Test(model_large, a_pickled_booster_is_followed_to_its_payload)
{
    gen g;
    gen_model(&g, "binary:logistic", 4, 4, (size_t)3 << 20);
    void *snap;
    size_t n;
    smx_err err = {0};
    cr_assert_eq(compat_booster_serialize(g.b, &snap, &n, &err), SMX_OK, "%s", err.msg);
    for (int proto = 2; proto <= 4; proto += 2) {
        smx_buf p = SMX_BUF_INIT;
        pickle_booster(&p, snap, n, proto);
        compat_model_info *w = NULL;
        cr_assert_eq(compat_identify(p.data, p.len, "xgboost-model", &w, &err), SMX_OK);
        cr_assert(w->pickle_is_booster && w->payload == COMPAT_PAYLOAD_SNAP_UBJ,
                  "protocol %d, whole: %s", proto, w->detail);
        compat_model_info_free(w);
        char label[64];
        snprintf(label, sizeof label, "a protocol %d pickle of %zu bytes", proto, p.len);
        check_bytes(label, p.data, p.len);
        for (size_t k = 1; k < 8; k += 2) { /* cut, and damaged, in the handle and around it */
            size_t at = k == 7 ? p.len - 20 : p.len * k / 8;
            snprintf(label, sizeof label, "a protocol %d pickle cut to %zu bytes", proto, at);
            check_bytes(label, p.data, at);
            p.data[at] ^= 0x5a;
            snprintf(label, sizeof label, "a protocol %d pickle with byte %zu changed", proto, at);
            check_bytes(label, p.data, p.len);
            p.data[at] ^= 0x5a;
        }
        smx_buf_free(&p);
    }
    free(snap);
    gen_free(&g);
}

/* ---- end to end: models of 50-300 MB in every format ---------------------------------------- */

static char *bigdir;

static const char *bpath(const char *name)
{
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", bigdir, name);
    return buf[k];
}

/* The model's bytes in a format: "json", "ubj", "deprecated", or "pickle" (a protocol 4
 * pickle of the Booster, as Python writes it). */
static void save_as(gen *g, const char *format, smx_buf *out)
{
    smx_err err = {0};
    void *b;
    size_t n;
    if (!strcmp(format, "pickle")) {
        cr_assert_eq(compat_booster_serialize(g->b, &b, &n, &err), SMX_OK, "%s", err.msg);
        pickle_booster(out, b, n, 4);
    } else {
        cr_assert_eq(compat_booster_save(g->b, format, &b, &n, &err), SMX_OK, "%s", err.msg);
        smx_buf_append(out, b, n);
    }
    free(b);
}

/* An attribute of `bytes` bytes of text as random as words are (gzip keeps it well under
 * verify's limit on the compression ratio of an archive). */
static void set_notes(gen *g, size_t bytes)
{
    smx_err err = {0};
    char *note = malloc(bytes + 1);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < bytes; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        note[i] = "abcdefghijklmnopqrstuvwxyz      "[s % 32];
    }
    note[bytes] = '\0';
    cr_assert_eq(compat_booster_set_attr(g->b, "notes", note, &err), SMX_OK, "%s", err.msg);
    free(note);
}

static json_t *run_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *run_json(const char *fmt, ...)
{
    char cmd[8192], *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    th_run(cmd, &out);
    json_t *j = th_json(out);
    free(out);
    return j;
}

static const char *verdict_of(json_t *rep, const char *tag)
{
    json_t *cs = json_object_get(rep, "containers");
    for (size_t i = 0; i < json_array_size(cs); i++) {
        json_t *c = json_array_get(cs, i);
        if (!strcmp(json_string_value(json_object_get(c, "container")), tag))
            return json_string_value(json_object_get(c, "verdict"));
    }
    return "?";
}

static int has_reason(json_t *rep, const char *tag, const char *rule)
{
    json_t *cs = json_object_get(rep, "containers");
    for (size_t i = 0; i < json_array_size(cs); i++) {
        json_t *c = json_array_get(cs, i);
        if (strcmp(json_string_value(json_object_get(c, "container")), tag))
            continue;
        json_t *rs = json_object_get(c, "reasons");
        for (size_t k = 0; k < json_array_size(rs); k++)
            if (!strcmp(json_string_value(json_object_get(json_array_get(rs, k), "rule")), rule))
                return 1;
    }
    return 0;
}

/* Peak resident memory (KiB) of `smxgb verify` on the artifact, and its report. */
static json_t *verify_measured(const char *artifact, long *peak_kib)
{
    char cmd[8192];
    const char *t = bpath("time.txt");
    snprintf(cmd, sizeof cmd,
             "/usr/bin/time -f %%M -o '%s' %s verify --json -c 1.5-1 -c 1.7-1 -c 3.0-5 '%s'", t,
             SMXGB_BIN, artifact);
    char *out = NULL;
    th_run(cmd, &out);
    json_t *j = th_json(out);
    free(out);
    size_t n = 0;
    char *m = th_read(t, &n); /* "Command exited with non-zero status 1\n" may come first */
    while (m && n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0';
    const char *last = m ? strrchr(m, '\n') : NULL;
    *peak_kib = m ? atol(last ? last + 1 : m) : -1;
    free(m);
    return j;
}

/*
 * A reg:gamma model written by XGBoost 1.7.4 in each format, small (what verify keeps whole)
 * and large (50-300 MB: a large attribute, which XGBoost writes before the trees; the
 * objective and the version come last). verify's verdicts for 1.5-1, 1.7-1 and 3.0-5 must be
 * the small model's, with every rule able to fire: 3.0-5 fails the gamma objective written by
 * 1.0-2.1 (OBJ-GAMMA), which sits at the end of the file. Before, a JSON or UBJSON model over
 * 32 MiB was judged from its head and its last bytes: the objective was never read and 3.0-5
 * said ok; a pickled Booster over 32 MiB failed everywhere (PKL-CLASS). The large ones are
 * not kept: verify's peak memory stays far below their size, and they are reported not
 * load-checked, with the limit.
 */
Test(model_large, large_models_get_the_small_ones_verdicts, .timeout = 600)
{
    static const struct {
        const char *format;
        size_t mib;
    } fs[] = {{"json", 300}, {"ubj", 200}, {"deprecated", 100}, {"pickle", 60}};
    static const char *tags[] = {"1.5-1", "1.7-1", "3.0-5"};
    bigdir = th_tmpdir();
    gen g;
    gen_model(&g, "reg:gamma", 20, 6, 0);
    for (size_t f = 0; f < sizeof fs / sizeof fs[0]; f++) {
        smx_buf small = SMX_BUF_INIT, big = SMX_BUF_INIT;
        save_as(&g, fs[f].format, &small);
        set_notes(&g, (fs[f].mib << 20) - small.len);
        save_as(&g, fs[f].format, &big);
        set_notes(&g, 1);
        cr_assert_gt(big.len, (size_t)(fs[f].mib - 2) << 20, "%s: %zu bytes", fs[f].format,
                     big.len);
        th_entry es[] = {{"xgboost-model", 'f', 0, small.data, small.len, NULL}};
        th_write_archive(bpath("small.tar.gz"), "gzip", "ustar", es, 1);
        smx_buf_free(&small);
        mkdir(bpath("m"), 0755);
        th_write(bpath("m/xgboost-model"), big.data, big.len);
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "tar -C '%s' -cf - xgboost-model | gzip -1 > '%s'", bpath("m"),
                 bpath("big.tar.gz"));
        cr_assert_eq(th_run(cmd, NULL), 0);
        unlink(bpath("m/xgboost-model"));

        long peak_small, peak;
        json_t *rs = verify_measured(bpath("small.tar.gz"), &peak_small);
        json_t *rb = verify_measured(bpath("big.tar.gz"), &peak);
        for (size_t t = 0; t < 3; t++)
            cr_assert_str_eq(verdict_of(rb, tags[t]), verdict_of(rs, tags[t]),
                             "%s of %zu bytes in %s", fs[f].format, big.len, tags[t]);
        cr_assert_str_eq(verdict_of(rb, "3.0-5"), "fails", "%s: OBJ-GAMMA", fs[f].format);
        cr_assert(has_reason(rb, "3.0-5", "OBJ-GAMMA"), "%s", fs[f].format);
        cr_assert_str_eq(verdict_of(rb, "1.7-1"), "ok", "%s", fs[f].format);
        cr_assert(!has_reason(rb, "1.7-1", "PARTIAL"), "%s: every fact established", fs[f].format);
        json_t *m0 = json_array_get(json_object_get(rb, "models"), 0);
        cr_assert(json_is_true(json_object_get(m0, "partial")));
        const char *note =
            json_string_value(json_object_get(json_object_get(m0, "load_check"), "note"));
        cr_assert(note && strstr(note, "not load-checked") && strstr(note, "--load-max-bytes"),
                  "%s", note ? note : "(none)");
        cr_assert_gt(peak, 0);
        /* what the large model costs over the small one is bounded, not proportional */
        size_t growth = (size_t)(peak > peak_small ? peak - peak_small : 0) * 1024;
        cr_assert_lt(growth, big.len / 8 < ((size_t)24 << 20) ? big.len / 8 : (size_t)24 << 20,
                     "%s: verify peaked at %ld KiB for %zu bytes (%ld KiB for the small one)",
                     fs[f].format, peak, big.len, peak_small);
#if !defined(__SANITIZE_ADDRESS__) /* (AddressSanitizer alone costs some 30 MiB) */
        cr_assert_lt((size_t)peak * 1024, big.len / 3, "%s: verify peaked at %ld KiB", fs[f].format,
                     peak);
#endif
        fprintf(stderr, "model_large: %-10s %9zu bytes: verify peak %ld KiB (small model: %ld)\n",
                fs[f].format, big.len, peak, peak_small);
        json_decref(rs);
        json_decref(rb);
        if (!strcmp(fs[f].format, "pickle")) { /* a Booster, followed to its payload */
            json_t *in = run_json("%s inspect --json '%s'", SMXGB_BIN, bpath("big.tar.gz"));
            json_t *mi = json_array_get(json_object_get(in, "models"), 0);
            json_t *p = json_object_get(mi, "pickle");
            cr_assert(json_is_true(json_object_get(p, "is_booster")), "the pickle is a Booster");
            cr_assert_str_eq(json_string_value(json_object_get(mi, "payload")), "snap_ubj");
            cr_assert_str_eq(json_string_value(json_object_get(mi, "objective")), "reg:gamma");
            json_decref(in);
        }
        if (!strcmp(fs[f].format, "json")) { /* check --no-serve goes by the same verdicts */
            char *o = NULL;
            cr_assert_eq(th_smxgb(&o, "check '%s' -c 3.0-5 --no-serve", bpath("big.tar.gz")), 1,
                         "%s", o);
            free(o);
            cr_assert_eq(th_smxgb(&o, "check '%s' -c 1.7-1 --no-serve", bpath("big.tar.gz")), 0,
                         "%s", o);
            free(o);
            /* inspect reads a bare file over --max-model-bytes as it streams */
            th_write(bpath("big.json"), big.data, big.len);
            json_t *in = run_json("%s inspect --json --max-model-bytes 32M '%s'", SMXGB_BIN,
                                  bpath("big.json"));
            json_t *mi = json_array_get(json_object_get(in, "models"), 0);
            cr_assert(json_is_true(json_object_get(in, "ok")), "exit 0, every fact known");
            cr_assert(json_is_true(json_object_get(mi, "partial")));
            cr_assert_str_eq(json_string_value(json_object_get(mi, "objective")), "reg:gamma");
            cr_assert_str_eq(
                json_string_value(json_object_get(json_object_get(mi, "writer"), "min")), "1.7.4");
            cr_assert_eq(json_array_size(json_object_get(mi, "unknown")), 0);
            json_decref(in);
            unlink(bpath("big.json"));
        }
        smx_buf_free(&big);
    }
    gen_free(&g);
    th_rmrf(bigdir);
    free(bigdir);
}

/*
 * convert on a model over 32 MiB: re-saving loads it in a child process, within verify's
 * limit, so by default it is refused, naming the limit and --load-max-bytes; raised, the
 * model is converted. Repackaging needs no load and has no limit. Before, convert refused
 * any model over 32 MiB ("larger than the size verify identifies and loads whole"), naming
 * neither.
 */
Test(model_large, convert_takes_models_over_32_mib, .timeout = 600)
{
    bigdir = th_tmpdir();
    gen g;
    gen_model(&g, "reg:squarederror", 10, 5, 0);
    set_notes(&g, (size_t)40 << 20);
    smx_buf m = SMX_BUF_INIT;
    save_as(&g, "json", &m);
    cr_assert_gt(m.len, (size_t)32 << 20);
    mkdir(bpath("m"), 0755);
    mkdir(bpath("m/model"), 0755);
    th_write(bpath("m/model/xgboost-model"), m.data, m.len);
    th_write(bpath("m/model/notes.txt"), "v2\n", 3);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "tar -C '%s' -cf - model | gzip -1 > '%s'", bpath("m"),
             bpath("sub.tar.gz"));
    cr_assert_eq(th_run(cmd, NULL), 0);
    smx_buf_free(&m);

    /* in a sub-folder and loading as it is in 1.7-1: repackaged, whatever its size */
    char *o = NULL;
    cr_assert_eq(th_smxgb(&o, "convert '%s' -c 1.7-1 -o '%s' --json", bpath("sub.tar.gz"),
                          bpath("out17.tar.gz")),
                 0, "%s", o);
    json_t *j = th_json(o);
    free(o);
    cr_assert_str_eq(json_string_value(json_object_get(j, "action")), "repackaged");
    cr_assert_eq(json_array_size(json_object_get(j, "dropped")), 1, "notes.txt");
    json_decref(j);

    /* 1.5-1 cannot read a 1.7.4 JSON model: it must be re-saved, which loads it */
    cr_assert_eq(th_smxgb(&o, "convert '%s' -c 1.5-1 -o '%s' 2>&1", bpath("sub.tar.gz"),
                          bpath("out15.tar.gz")),
                 1, "%s", o);
    cr_assert(strstr(o, "refused") && strstr(o, "--load-max-bytes") && strstr(o, "33554432"), "%s",
              o);
    free(o);
    cr_assert_neq(access(bpath("out15.tar.gz"), F_OK), 0, "nothing written");
    cr_assert_eq(th_smxgb(&o, "convert '%s' -c 1.5-1 -o '%s' --load-max-bytes 64M --json",
                          bpath("sub.tar.gz"), bpath("out15.tar.gz")),
                 0, "%s", o);
    j = th_json(o);
    free(o);
    cr_assert_str_eq(json_string_value(json_object_get(j, "action")), "resaved");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "to"), "format")),
                     "deprecated");
    cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "ok");
    json_decref(j);
    json_t *rep = run_json("%s verify --json -c 1.5-1 '%s'", SMXGB_BIN, bpath("out15.tar.gz"));
    cr_assert_str_eq(verdict_of(rep, "1.5-1"), "ok");
    json_decref(rep);
    gen_free(&g);
    th_rmrf(bigdir);
    free(bigdir);
}

/*
 * A legacy binary model with an attribute longer than 1 MiB (XGBoost writes and reads any
 * length) is a sound model. Before, the binary reader called it corrupt, and every container
 * failed it.
 */
Test(model_large, a_long_attribute_is_no_corruption)
{
    bigdir = th_tmpdir();
    gen g;
    gen_model(&g, "binary:logistic", 4, 3, 0);
    set_notes(&g, (size_t)2 << 20);
    smx_buf m = SMX_BUF_INIT;
    save_as(&g, "deprecated", &m);
    th_entry e[] = {{"xgboost-model", 'f', 0, m.data, m.len, NULL}};
    th_write_archive(bpath("a.tar.gz"), "gzip", "ustar", e, 1);
    smx_buf_free(&m);
    json_t *rep = run_json("%s verify --json -c 1.7-1 '%s'", SMXGB_BIN, bpath("a.tar.gz"));
    cr_assert_str_eq(verdict_of(rep, "1.7-1"), "ok");
    cr_assert(!has_reason(rep, "1.7-1", "CORRUPT"));
    json_t *lc = json_object_get(json_array_get(json_object_get(rep, "models"), 0), "load_check");
    cr_assert(json_is_true(json_object_get(lc, "loaded")), "and XGBoost loads it");
    json_decref(rep);
    gen_free(&g);
    th_rmrf(bigdir);
    free(bigdir);
}

/*
 * What a streaming read cannot reach within its limits is named unknown, never left at a
 * default: a JSON model whose skeleton (what lies outside the trees) is over 16 MiB (here 3
 * million feature names) has its learner facts unknown, its writer still read from its end;
 * a compressed wrapper, which is not read as it streams, has every fact of its content
 * unknown.
 */
Test(model_large, what_lies_beyond_the_limits_is_unknown)
{
    size_t n;
    char *b = th_read(MODELS "/1.7.4/binary_logistic.json", &n);
    const char *at = strstr(b, "\"feature_names\":[]");
    cr_assert(at);
    smx_buf j = SMX_BUF_INIT;
    smx_buf_append(&j, b, (size_t)(at - b));
    smx_buf_puts(&j, "\"feature_names\":[");
    for (int i = 0; i < 3000000; i++)
        smx_buf_printf(&j, "%s\"f%d\"", i ? "," : "", i);
    smx_buf_puts(&j, at + strlen("\"feature_names\":["));
    free(b);
    compat_model_stream *s;
    smx_err err = {0};
    cr_assert_eq(compat_model_stream_new(1 << 20, 1 << 16, &s, &err), SMX_OK);
    compat_model_info *m = stream(s, j.data, j.len, 1 << 16, 1);
    cr_assert_eq(m->format, COMPAT_FMT_JSON);
    cr_assert(m->unknown & COMPAT_UNKNOWN_LEARNER, "%x %s", m->unknown, m->unknown_why);
    cr_assert(!(m->unknown & COMPAT_UNKNOWN_WRITER), "the version is read at the end");
    cr_assert(m->writer_exact && m->writer_min.minor == 7);
    cr_assert(strstr(m->unknown_why, "16 MiB"), "%s", m->unknown_why);
    compat_model_info_free(m);
    smx_buf_free(&j);

    compat_model_stream_free(s);

    b = th_read(MODELS "/synth/joblib_zlib.joblib", &n);
    cr_assert_eq(compat_model_stream_new(1024, 512, &s, &err), SMX_OK);
    m = stream(s, b, n, 100, 1);
    cr_assert(compat_model_stream_partial(s));
    cr_assert_eq(m->format, COMPAT_FMT_JOBLIB, "%s", compat_format_name(m->format));
    cr_assert(m->unknown & COMPAT_UNKNOWN_LEARNER && m->unknown & COMPAT_UNKNOWN_INTEGRITY, "%x",
              m->unknown);
    cr_assert(strstr(m->unknown_why, "not read as it streams"), "%s", m->unknown_why);
    compat_model_stream_free(s);
    free(b);
    compat_model_info_free(m);
}

/*
 * What verify could not establish decides the verdict: a JSON model whose learner facts lie
 * beyond the streaming reader's reach (a 40 MB skeleton of feature names, kept whole by no
 * limit) is unknown in every container, the gate fails, and only --allow-unknown passes it,
 * which the report then says.
 */
Test(model_large, an_unreached_fact_is_an_unknown_verdict, .timeout = 300)
{
    size_t n;
    char *b = th_read(MODELS "/1.7.4/binary_logistic.json", &n);
    const char *at = strstr(b, "\"feature_names\":[]");
    cr_assert(at);
    smx_buf j = SMX_BUF_INIT;
    smx_buf_append(&j, b, (size_t)(at - b));
    smx_buf_puts(&j, "\"feature_names\":[");
    for (int i = 0; i < 4000000; i++)
        smx_buf_printf(&j, "%s\"f%d\"", i ? "," : "", i);
    smx_buf_puts(&j, at + strlen("\"feature_names\":["));
    free(b);
    bigdir = th_tmpdir();
    th_entry es[] = {{"xgboost-model", 'f', 0, j.data, j.len, NULL}};
    th_write_archive(bpath("wide.tar.gz"), "gzip", "ustar", es, 1);
    smx_buf_free(&j);

    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s verify --json -c 1.7-1 '%s'", SMXGB_BIN, bpath("wide.tar.gz"));
    int rc = th_run(cmd, &out);
    json_t *r = th_json(out);
    free(out);
    cr_assert_str_eq(verdict_of(r, "1.7-1"), "unknown");
    cr_assert(has_reason(r, "1.7-1", "UNKNOWN-FACT"));
    cr_assert_neq(rc, 0, "an unknown verdict fails the gate");
    json_decref(r);

    snprintf(cmd, sizeof cmd, "%s verify --allow-unknown -c 1.7-1 '%s' 2>&1", SMXGB_BIN,
             bpath("wide.tar.gz"));
    rc = th_run(cmd, &out);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "unknown"), "the report shows what was allowed: %s", out);
    free(out);
    th_rmrf(bigdir);
    free(bigdir);
}
