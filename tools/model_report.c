/*
 * Printers for what compat_identify found in a model file: one JSON object (inspect --json,
 * and any verb that wants to show model facts) and the human text form.
 */
#include "tools.h"

#include <stdlib.h>
#include <string.h>

static json_t *version_json(compat_version v)
{
    char b[32];
    if (v.major < 0)
        return json_null();
    return json_string(compat_version_str(v, b, sizeof b));
}

static json_t *strs_json(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *model_info_to_json(const compat_model_info *m)
{
    json_t *j = json_object();
    json_object_set_new(j, "format", json_string(compat_format_name(m->format)));
    json_object_set_new(j, "payload", json_string(compat_payload_name(m->payload)));
    json_object_set_new(j, "detail", json_string(m->detail));
    json_t *w = json_object();
    json_object_set_new(w, "exact", json_boolean(m->writer_exact));
    json_object_set_new(w, "min", version_json(m->writer_min));
    json_object_set_new(w, "max", version_json(m->writer_max));
    json_object_set_new(w, "max_any_patch",
                        json_boolean(m->writer_max.major >= 0 && m->writer_max.patch < 0));
    json_object_set_new(w, "note", json_string(m->writer_note));
    json_object_set_new(j, "writer", w);
    json_object_set_new(j, "objective", m->objective[0] ? json_string(m->objective) : json_null());
    json_object_set_new(j, "booster", m->booster[0] ? json_string(m->booster) : json_null());
    json_object_set_new(j, "num_feature", json_integer(m->num_feature));
    json_object_set_new(j, "num_class", json_integer(m->num_class));
    json_object_set_new(j, "num_target", json_integer(m->num_target));
    json_t *bs = json_object();
    json_object_set_new(bs, "stored", m->base_score[0] ? json_string(m->base_score) : json_null());
    json_object_set_new(bs, "array", json_boolean(m->base_score_array));
    json_object_set_new(bs, "is_margin", json_boolean(m->base_score_is_margin));
    json_object_set_new(j, "base_score", bs);
    json_object_set_new(j, "boost_from_average",
                        m->boost_from_average < 0 ? json_null()
                                                  : json_integer(m->boost_from_average));
    json_object_set_new(j, "num_trees", json_integer(m->num_trees));
    json_object_set_new(j, "num_parallel_tree", json_integer(m->num_parallel_tree));
    json_t *f = json_object();
    json_object_set_new(f, "categorical_splits", json_boolean(m->has_categorical));
    json_object_set_new(f, "size_leaf_vector", json_integer(m->size_leaf_vector));
    json_object_set_new(f, "vector_leaves", json_boolean(m->size_leaf_vector > 1));
    json_object_set_new(f, "leaf_weights", json_boolean(m->has_leaf_weights));
    json_object_set_new(f, "cats_container", json_boolean(m->has_cats_container));
    json_object_set_new(f, "ubj_typed_f64", json_boolean(m->ubj_typed_f64));
    json_object_set_new(f, "ubj_typed_i8", json_boolean(m->ubj_typed_i8));
    json_object_set_new(f, "json_default_left_int", json_boolean(m->json_default_left_int));
    json_object_set_new(f, "json_split_type", json_boolean(m->json_has_split_type));
    json_object_set_new(f, "json_leaf_child_counts", json_boolean(m->json_has_leaf_child_counts));
    json_object_set_new(j, "features", f);
    json_t *a = json_object();
    for (size_t i = 0; i < m->n_attrs; i++)
        json_object_set_new(a, m->attrs[i].key, json_string(m->attrs[i].value));
    json_object_set_new(j, "attributes", a);
    json_object_set_new(j, "feature_names", strs_json(m->feature_names, m->n_feature_names));
    json_object_set_new(j, "feature_types", strs_json(m->feature_types, m->n_feature_types));
    if (m->pickle_protocol || m->format == COMPAT_FMT_PICKLE || m->n_pickle_globals) {
        json_t *p = json_object();
        json_object_set_new(p, "protocol", json_integer(m->pickle_protocol));
        json_object_set_new(p, "class", json_string(m->pickle_class));
        json_object_set_new(p, "is_booster", json_boolean(m->pickle_is_booster));
        json_object_set_new(p, "joblib_arrays", json_boolean(m->pickle_joblib_arrays));
        json_object_set_new(p, "globals", strs_json(m->pickle_globals, m->n_pickle_globals));
        json_object_set_new(p, "payload_bytes", json_integer((json_int_t)m->payload_len));
        json_object_set_new(j, "pickle", p);
    }
    if (m->joblib_compression[0])
        json_object_set_new(j, "compression", json_string(m->joblib_compression));
    if (m->foreign[0])
        json_object_set_new(j, "foreign", json_string(m->foreign));
    json_object_set_new(j, "corrupt", json_boolean(m->corrupt));
    json_object_set_new(j, "problem", m->corrupt ? json_string(m->problem) : json_null());
    json_t *u = json_array();
    for (unsigned bit = 1; bit && bit <= m->unknown; bit <<= 1) {
        char name[32];
        if (m->unknown & bit)
            json_array_append_new(u, json_string(compat_unknown_text(bit, name, sizeof name)));
    }
    json_object_set_new(j, "unknown", u);
    json_object_set_new(j, "unknown_why", m->unknown ? json_string(m->unknown_why) : json_null());
    return j;
}

static void writer_text(FILE *f, const compat_model_info *m)
{
    char w[96];
    if (m->writer_min.major < 0 && m->writer_max.major < 0)
        fprintf(f, "  writer        unknown%s%s\n", m->writer_note[0] ? " - " : "", m->writer_note);
    else if (m->writer_note[0])
        fprintf(f, "  writer        %s\n                (%s)\n",
                compat_writer_text(m, w, sizeof w, COMPAT_WRITER_PREFIX | COMPAT_WRITER_WORDS),
                m->writer_note);
    else
        fprintf(f, "  writer        %s\n",
                compat_writer_text(m, w, sizeof w, COMPAT_WRITER_PREFIX | COMPAT_WRITER_WORDS));
}

/* One float32 as the user wrote it: the shortest digits that give the same float32, printed
 * the way Python prints that number ("5E-1" and 0.5f are both "0.5"). */
static void float32_text(double v, char out[SMX_PYREPR_MAX])
{
    char digits[64];
    for (int p = 1; p <= 9; p++) {
        snprintf(digits, sizeof digits, "%.*g", p, v);
        if ((float)strtod(digits, NULL) == (float)v)
            break;
    }
    smx_pyrepr(strtod(digits, NULL), out);
}

/* base_score as stored ("5E-1", "[4.5E-1,5E-1]", "0.5") in Python's notation ("0.5",
 * "[0.45, 0.5]"); the stored text itself when it is not numbers. */
static void base_score_text(const char *stored, char *out, size_t n)
{
    const char *p = stored;
    int array = *p == '[';
    smx_buf b = SMX_BUF_INIT;
    smx_buf_puts(&b, array ? "[" : "");
    p += array;
    for (int k = 0;; k++) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) {
            snprintf(out, n, "%s", stored);
            smx_buf_free(&b);
            return;
        }
        char num[SMX_PYREPR_MAX];
        float32_text(v, num);
        smx_buf_printf(&b, "%s%s", k ? ", " : "", num);
        p = end;
        while (*p == ' ')
            p++;
        if (*p != ',')
            break;
        p++;
    }
    if ((array && strcmp(p, "]")) || (!array && *p)) {
        snprintf(out, n, "%s", stored);
        smx_buf_free(&b);
        return;
    }
    smx_buf_puts(&b, array ? "]" : "");
    snprintf(out, n, "%s", b.data ? b.data : stored);
    smx_buf_free(&b);
}

void model_info_print_text(FILE *f, const compat_model_info *m)
{
    fprintf(f, "  format        %s (%s)\n", compat_format_name(m->format), m->detail);
    if (m->foreign[0])
        fprintf(f, "  not XGBoost   %s\n", m->foreign);
    if (m->format == COMPAT_FMT_PICKLE || m->format == COMPAT_FMT_JOBLIB || m->n_pickle_globals) {
        fprintf(f, "  pickle        protocol %d, object %s%s\n", m->pickle_protocol,
                m->pickle_class[0] ? m->pickle_class : "?",
                m->pickle_is_booster ? " (a Booster)" : "");
        fprintf(f, "  references   ");
        for (size_t i = 0; i < m->n_pickle_globals; i++)
            fprintf(f, " %s%s", m->pickle_globals[i], i + 1 < m->n_pickle_globals ? "," : "");
        fprintf(f, "\n  payload       %s (%zu bytes)\n", compat_payload_name(m->payload),
                m->payload_len);
    }
    if (m->pickle_joblib_arrays)
        fprintf(f, "  joblib        numpy arrays are written inline (joblib.dump): plain "
                   "pickle.load fails on this file, only joblib.load reads it\n");
    if (m->joblib_compression[0])
        fprintf(f, "  compression   %s\n", m->joblib_compression);
    if (m->payload != COMPAT_PAYLOAD_NONE) {
        writer_text(f, m);
        fprintf(f, "  objective     %s\n", m->objective[0] ? m->objective : "?");
        fprintf(f, "  booster       %s", m->booster[0] ? m->booster : "?");
        if (strcmp(m->booster, "gblinear"))
            fprintf(f, ", %lld trees (num_parallel_tree %lld)", (long long)m->num_trees,
                    (long long)m->num_parallel_tree);
        fprintf(f, "\n  features      %lld   classes %lld   targets %lld\n",
                (long long)m->num_feature, (long long)m->num_class, (long long)m->num_target);
        char bs[256] = "?";
        if (m->base_score[0])
            base_score_text(m->base_score, bs, sizeof bs);
        fprintf(f, "  base_score    %s%s%s\n", bs,
                m->base_score_array ? " (a per-output array: 3.1+)" : "",
                m->base_score_is_margin ? " (stored as a margin: 0.90 and older)" : "");
        if (m->has_categorical || m->size_leaf_vector > 1 || m->has_cats_container ||
            m->ubj_typed_f64 || m->ubj_typed_i8)
            fprintf(f, "  uses         %s%s%s%s%s\n",
                    m->has_categorical ? " categorical-splits" : "",
                    m->size_leaf_vector > 1 ? " vector-leaves" : "",
                    m->has_cats_container ? " cats-container" : "",
                    m->ubj_typed_f64 ? " ubj-float64-arrays" : "",
                    m->ubj_typed_i8 ? " ubj-int8/16-arrays" : "");
        int shown = 0; /* "objective"/"metrics" are XGBoost's own (1.0+ binaries) */
        for (size_t i = 0; i < m->n_attrs; i++)
            if (strcmp(m->attrs[i].key, "objective") && strcmp(m->attrs[i].key, "metrics"))
                fprintf(f, "%s %s=%.60s", shown++ ? "" : "  attributes   ", m->attrs[i].key,
                        m->attrs[i].value);
        if (shown)
            fprintf(f, "\n");
        if (m->n_feature_names || m->n_feature_types) {
            size_t nf =
                m->n_feature_names > m->n_feature_types ? m->n_feature_names : m->n_feature_types;
            fprintf(f, "  feature names");
            for (size_t i = 0; i < nf && i < 20; i++)
                fprintf(f, " %s%s%s%s", i < m->n_feature_names ? m->feature_names[i] : "?",
                        i < m->n_feature_types ? "(" : "",
                        i < m->n_feature_types ? m->feature_types[i] : "",
                        i < m->n_feature_types ? ")" : "");
            fprintf(f, "%s\n", nf > 20 ? " ..." : "");
        }
    }
    if (m->corrupt)
        fprintf(f, "  PROBLEM       %s\n", m->problem);
    if (m->unknown) {
        char what[128];
        fprintf(f, "  NOT KNOWN     %s: %s\n", compat_unknown_text(m->unknown, what, sizeof what),
                m->unknown_why);
    }
}
