/*
 * The verdict engine: rules.json applied to what a reader found in a model file.
 *
 * rules.json (compiled in) lists load rules as data: a condition on the facts the readers
 * extract (payload, wrapper, writer version, objective, booster, feature flags, file name
 * extension) and, for the reader versions where the outcome is not ok, that outcome and why.
 * This file only evaluates them: for one model and one reader (an XGBoost version and, for
 * pickles, the container's Python) the verdict is the worst outcome of every rule that holds
 * (fails > wrong-predictions > ok), with one reason per rule, each naming its source.
 *
 * The hint that goes with a verdict is judge.c's; what a re-save would need, convert.c's.
 */
#include "rules_private.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern const unsigned char compat_rules_json[];
extern const size_t compat_rules_json_len;

static json_t *rules;
static smx_err rules_err;
static pthread_once_t rules_once = PTHREAD_ONCE_INIT;

static void load_rules(void)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)compat_rules_json, compat_rules_json_len, 0, &je);
    if (!j) {
        smx_fail(&rules_err, SMX_EFORMAT, "rules.json line %d: %s", je.line, je.text);
        return;
    }
    rules = json_object_get(j, "rules");
    if (!json_is_array(rules)) {
        smx_fail(&rules_err, SMX_EFORMAT, "rules.json: no \"rules\" array");
        rules = NULL;
        return;
    }
    json_incref(rules);
    json_decref(j);
}

static int get_rules(smx_err *err)
{
    pthread_once(&rules_once, load_rules);
    if (rules_err.status) {
        if (err)
            *err = rules_err;
        return rules_err.status;
    }
    return SMX_OK;
}

int compat_rules(size_t *n, smx_err *err)
{
    int rc = get_rules(err);
    *n = rc ? 0 : json_array_size(rules);
    return rc;
}

const char *compat_rule_id(size_t i)
{
    if (get_rules(NULL))
        return NULL;
    return json_string_value(json_object_get(json_array_get(rules, i), "id"));
}

static const char *rule_outcome(size_t i, const char *key)
{
    if (get_rules(NULL))
        return NULL;
    json_t *o = json_array_get(json_object_get(json_array_get(rules, i), "outcomes"), 0);
    return json_string_value(json_object_get(o, key));
}

const char *compat_rule_verdict(size_t i)
{
    return rule_outcome(i, "verdict");
}
const char *compat_rule_why(size_t i)
{
    return rule_outcome(i, "why");
}

const char *compat_rule_source(size_t i)
{
    if (get_rules(NULL))
        return NULL;
    return json_string_value(json_object_get(json_array_get(rules, i), "source"));
}

const char *compat_verdict_name(int v)
{
    return v == COMPAT_VERDICT_FAILS   ? "fails"
           : v == COMPAT_VERDICT_WRONG ? "wrong-predictions"
                                       : "ok";
}

static int verdict_of(const char *s)
{
    if (s && !strcmp(s, "fails"))
        return COMPAT_VERDICT_FAILS;
    if (s && !strcmp(s, "wrong-predictions"))
        return COMPAT_VERDICT_WRONG;
    return COMPAT_VERDICT_OK;
}

/* ---- facts ------------------------------------------------------------------------------- */

static const char *format_key(compat_format f)
{
    switch (f) {
    case COMPAT_FMT_FOREIGN:
        return "foreign";
    case COMPAT_FMT_UNKNOWN:
        return "unknown";
    default:
        return "xgboost";
    }
}

static const char *wrapper_key(const compat_model_info *m)
{
    if (m->format == COMPAT_FMT_PICKLE)
        return "pickle";
    if (m->format == COMPAT_FMT_JOBLIB)
        return "joblib";
    return "raw";
}

/* Is any value of the stored base_score ("5E-1", "[5E-1,4E-1]") other than 0.5? */
static int base_score_not_half(const compat_model_info *m)
{
    const char *p = m->base_score;
    int any = 0;
    while (*p) {
        while (*p == '[' || *p == ',' || *p == ' ')
            p++;
        if (!*p || *p == ']')
            break;
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            return 1; /* unparsable: assume it matters */
        any = 1;
        if (v != 0.5)
            return 1;
        p = end;
    }
    return !any;
}

static int has_flag(const compat_model_info *m, const char *f)
{
    if (!strcmp(f, "base_score_array"))
        return m->base_score_array;
    if (!strcmp(f, "base_score_not_half"))
        return base_score_not_half(m);
    if (!strcmp(f, "categorical"))
        return m->has_categorical;
    if (!strcmp(f, "vector_leaf"))
        return m->size_leaf_vector > 1;
    if (!strcmp(f, "leaf_weights"))
        return m->has_leaf_weights;
    if (!strcmp(f, "ubj_typed_f64"))
        return m->ubj_typed_f64;
    if (!strcmp(f, "ubj_typed_i8"))
        return m->ubj_typed_i8;
    if (!strcmp(f, "multi_target_scalar"))
        return m->num_target > 1 && m->size_leaf_vector <= 1;
    if (!strcmp(f, "pickle_not_booster"))
        return m->format == COMPAT_FMT_PICKLE && !m->pickle_is_booster;
    if (!strcmp(f, "pickle_protocol5"))
        return m->format == COMPAT_FMT_PICKLE && m->pickle_protocol >= 5;
    return 0;
}

static int in_list(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i,
                       v) if (json_is_string(v) && !strcmp(json_string_value(v), s)) return 1;
    return 0;
}

static int vparse(json_t *v, compat_version *out)
{
    return json_is_string(v) && compat_version_parse(json_string_value(v), out) == 0;
}

/* The extension XGBoost sees: after the last '.', lower-cased ("" if none). */
static void name_ext(const char *name, char *ext, size_t n)
{
    ext[0] = '\0';
    if (!name)
        return;
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot)
        return;
    size_t k = 0;
    for (const char *p = dot + 1; *p && k + 1 < n; p++)
        ext[k++] = (char)tolower((unsigned char)*p);
    ext[k] = '\0';
}

static int known(compat_version v)
{
    return v.major >= 0;
}

static int cond_holds(json_t *w, const compat_model_info *m, const char *name)
{
    json_t *v;
    compat_version b;
    if ((v = json_object_get(w, "format")) && !in_list(v, format_key(m->format)))
        return 0;
    if ((v = json_object_get(w, "corrupt")) && json_is_true(v) != (m->corrupt != 0))
        return 0;
    if ((v = json_object_get(w, "wrapper")) && strcmp(json_string_value(v), wrapper_key(m)))
        return 0;
    if ((v = json_object_get(w, "payload")) && !in_list(v, compat_payload_name(m->payload)))
        return 0;
    if ((v = json_object_get(w, "payload_not")) && in_list(v, compat_payload_name(m->payload)))
        return 0;
    /* rules about XGBoost models do not apply to files that are none */
    if ((json_object_get(w, "payload") || json_object_get(w, "objective") ||
         json_object_get(w, "flags") || json_object_get(w, "name_ext")) &&
        (m->format == COMPAT_FMT_FOREIGN || m->format == COMPAT_FMT_UNKNOWN))
        return 0;
    if ((v = json_object_get(w, "writer_from"))) {
        if (!vparse(v, &b) || !known(m->writer_min) || compat_version_cmp(m->writer_min, b) < 0)
            return 0;
    }
    if ((v = json_object_get(w, "writer_to"))) {
        if (!vparse(v, &b) || !known(m->writer_max) || compat_version_cmp(m->writer_max, b) >= 0)
            return 0;
    }
    if ((v = json_object_get(w, "objective")) && !in_list(v, m->objective))
        return 0;
    if ((v = json_object_get(w, "objective_prefix")) &&
        strncmp(m->objective, json_string_value(v), strlen(json_string_value(v))))
        return 0;
    if ((v = json_object_get(w, "booster_not")) && in_list(v, m->booster))
        return 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(w, "flags"), i,
                       f) if (!has_flag(m, json_string_value(f))) return 0;
    json_array_foreach(json_object_get(w, "flags_not"), i,
                       f) if (has_flag(m, json_string_value(f))) return 0;
    if ((v = json_object_get(w, "name_ext"))) {
        char ext[16];
        name_ext(name, ext, sizeof ext);
        if (strcmp(ext, json_string_value(v)))
            return 0;
    }
    return 1;
}

/* Does reader r fall in the outcome's ranges? */
static int reader_in(json_t *o, const compat_reader *r)
{
    json_t *x = json_object_get(o, "xgboost"), *p = json_object_get(o, "python");
    compat_version b;
    if (x) {
        json_t *from = json_object_get(x, "from"), *to = json_object_get(x, "to");
        if (from && (!vparse(from, &b) || compat_version_cmp(r->xgboost, b) < 0))
            return 0;
        if (to && (!vparse(to, &b) || compat_version_cmp(r->xgboost, b) >= 0))
            return 0;
    }
    if (p) {
        compat_version pv;
        if (!r->python || compat_version_parse(r->python, &pv) != 0) {
            /* "3.7.10" parses; a bare "3" would not: treat an unknown Python as not matching */
            return 0;
        }
        json_t *from = json_object_get(p, "from"), *to = json_object_get(p, "to");
        if (from && (!vparse(from, &b) || compat_version_cmp(pv, b) < 0))
            return 0;
        if (to && (!vparse(to, &b) || compat_version_cmp(pv, b) >= 0))
            return 0;
    }
    return 1;
}

/* Expand {placeholders} in a rule's text. */
static char *expand(const char *t, const compat_model_info *m, const compat_reader *r)
{
    smx_buf b = SMX_BUF_INIT;
    char tmp[64];
    for (const char *p = t; *p; p++) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            if (e && e - p < 32) {
                char key[32];
                memcpy(key, p + 1, (size_t)(e - p - 1));
                key[e - p - 1] = '\0';
                const char *val = NULL;
                char w[64];
                if (!strcmp(key, "xgboost"))
                    val = compat_version_str(r->xgboost, tmp, sizeof tmp);
                else if (!strcmp(key, "python"))
                    val = r->python ? r->python : "?";
                else if (!strcmp(key, "writer"))
                    val = compat_writer_text(m, w, sizeof w, COMPAT_WRITER_PREFIX);
                else if (!strcmp(key, "foreign"))
                    val = m->foreign[0] ? m->foreign : "another kind of file";
                else if (!strcmp(key, "problem"))
                    val = m->problem;
                else if (!strcmp(key, "pickle_class"))
                    val = m->pickle_class[0] ? m->pickle_class : "another class";
                else if (!strcmp(key, "pickle_protocol")) {
                    snprintf(tmp, sizeof tmp, "%d", m->pickle_protocol);
                    val = tmp;
                } else if (!strcmp(key, "base_score"))
                    val = m->base_score;
                else if (!strcmp(key, "joblib"))
                    val = m->joblib_compression[0] ? m->joblib_compression : "compressed";
                else if (!strcmp(key, "tag"))
                    val = r->tag ? r->tag : "this container";
                if (val) {
                    smx_buf_puts(&b, val);
                    p = e;
                    continue;
                }
            }
        }
        smx_buf_append(&b, p, 1);
    }
    if (!b.data)
        return strdup("");
    return b.data;
}

int compat_judgement_add(compat_judgement *j, const char *rule, int verdict, const char *entry,
                         const char *message, const char *source)
{
    compat_reason *v = realloc(j->reasons, (j->n_reasons + 1) * sizeof *v);
    if (!v)
        return SMX_ENOMEM;
    j->reasons = v;
    compat_reason *r = &v[j->n_reasons];
    r->rule = strdup(rule ? rule : "");
    r->verdict = verdict;
    r->entry = entry ? strdup(entry) : NULL;
    r->message = strdup(message ? message : "");
    r->source = source ? strdup(source) : NULL;
    j->n_reasons++;
    if (verdict > j->verdict)
        j->verdict = verdict;
    if (!r->rule || !r->message || (entry && !r->entry) || (source && !r->source))
        return SMX_ENOMEM;
    return SMX_OK;
}

void compat_judgement_free(compat_judgement *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n_reasons; i++) {
        free(j->reasons[i].rule);
        free(j->reasons[i].entry);
        free(j->reasons[i].message);
        free(j->reasons[i].source);
    }
    free(j->reasons);
    free(j->hint);
    memset(j, 0, sizeof *j);
}

int rls_apply(const compat_model_info *m, const char *name, const compat_reader *r,
              compat_judgement *out, char **rule_hint, smx_err *err)
{
    json_t *hint_rule = NULL;
    if (rule_hint)
        *rule_hint = NULL;
    int rc = get_rules(err);
    if (rc)
        return rc;
    size_t i;
    json_t *rule;
    json_array_foreach(rules, i, rule)
    {
        json_t *w = json_object_get(rule, "when");
        if (!r->python && json_is_true(json_object_get(rule, "python_level")))
            continue;
        if (!cond_holds(w, m, name))
            continue;
        const char *id = json_string_value(json_object_get(rule, "id"));
        const char *src = json_string_value(json_object_get(rule, "source"));
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(rule, "outcomes"), k, o)
        {
            if (!reader_in(o, r))
                continue;
            char *msg = expand(json_string_value(json_object_get(o, "why")), m, r);
            int v = verdict_of(json_string_value(json_object_get(o, "verdict")));
            rc = msg ? compat_judgement_add(out, id, v, NULL, msg, src) : SMX_ENOMEM;
            free(msg);
            if (rc)
                return smx_fail(err, rc, "out of memory");
            if (v != COMPAT_VERDICT_OK && !hint_rule)
                hint_rule = rule;
            break; /* one outcome per rule */
        }
        json_array_foreach(json_object_get(rule, "notes"), k, o)
        {
            if (json_is_true(json_object_get(o, "xgboost_not_writer"))) {
                if (!m->writer_exact || !compat_version_cmp(m->writer_min, r->xgboost))
                    continue;
            }
            char *msg = expand(json_string_value(json_object_get(o, "why")), m, r);
            rc =
                msg ? compat_judgement_add(out, id, COMPAT_VERDICT_OK, NULL, msg, src) : SMX_ENOMEM;
            free(msg);
            if (rc)
                return smx_fail(err, rc, "out of memory");
        }
    }
    const char *h = json_string_value(json_object_get(hint_rule, "hint"));
    if (rule_hint && h)
        *rule_hint = expand(h, m, r); /* NULL when out of memory: no hint then */
    return SMX_OK;
}
