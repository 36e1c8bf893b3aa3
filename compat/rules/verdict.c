/*
 * The verdict engine: rules.json applied to what a reader found in a model file.
 *
 * rules.json (compiled in) lists load rules as data: a condition on the facts the readers
 * extract (payload, wrapper, writer version, objective and its configuration, booster, feature
 * flags, file name extension) and, for the reader versions where the outcome is not ok, that
 * outcome and why. This file only evaluates them: for one model and one reader (an XGBoost
 * version and, for pickles, the container's Python) the verdict is the worst outcome of every
 * rule that holds (fails > unknown > wrong-predictions > ok), with one reason per rule, each
 * naming its source.
 *
 * A condition is three-valued: it holds, it does not, or the file cannot tell (a writer known
 * only as "1.3.x" against a boundary at 1.3.1, an objective configuration that was not read).
 * A rule that may hold gives, for a reader whose outcome is not ok, the verdict unknown: the
 * reason says which fact is missing and the hint what would settle it.
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

int compat_rule_python_level(const char *id)
{
    if (!id || get_rules(NULL))
        return 0;
    size_t i;
    json_t *rule;
    json_array_foreach(rules, i, rule)
    {
        const char *rid = json_string_value(json_object_get(rule, "id"));
        if (rid && !strcmp(rid, id))
            return json_is_true(json_object_get(rule, "python_level"));
    }
    return 0;
}

static json_t *rule_outcome_at(size_t i, size_t k)
{
    if (get_rules(NULL))
        return NULL;
    return json_array_get(json_object_get(json_array_get(rules, i), "outcomes"), k);
}

size_t compat_rule_n_outcomes(size_t i)
{
    if (get_rules(NULL))
        return 0;
    return json_array_size(json_object_get(json_array_get(rules, i), "outcomes"));
}

const char *compat_rule_outcome_verdict(size_t i, size_t k)
{
    return json_string_value(json_object_get(rule_outcome_at(i, k), "verdict"));
}

const char *compat_rule_outcome_why(size_t i, size_t k)
{
    return json_string_value(json_object_get(rule_outcome_at(i, k), "why"));
}

const char *compat_rule_outcome_readers(size_t i, size_t k, char *buf, size_t n)
{
    json_t *o = rule_outcome_at(i, k);
    smx_buf b = SMX_BUF_INIT;
    static const char *const keys[] = {"xgboost", "python"};
    static const char *const names[] = {"XGBoost", "Python"};
    for (size_t r = 0; r < 2; r++) {
        json_t *x = json_object_get(o, keys[r]);
        const char *from = json_string_value(json_object_get(x, "from"));
        const char *to = json_string_value(json_object_get(x, "to"));
        if (from && to)
            smx_buf_printf(&b, "%s%s %s to < %s", b.len ? ", " : "", names[r], from, to);
        else if (from)
            smx_buf_printf(&b, "%s%s >= %s", b.len ? ", " : "", names[r], from);
        else if (to)
            smx_buf_printf(&b, "%s%s < %s", b.len ? ", " : "", names[r], to);
    }
    snprintf(buf, n, "%s", b.data ? b.data : "every reader");
    smx_buf_free(&b);
    return buf;
}

const char *compat_verdict_name(int v)
{
    return v == COMPAT_VERDICT_FAILS     ? "fails"
           : v == COMPAT_VERDICT_UNKNOWN ? "unknown"
           : v == COMPAT_VERDICT_WRONG   ? "wrong-predictions"
                                         : "ok";
}

static int verdict_of(const char *s)
{
    if (s && !strcmp(s, "fails"))
        return COMPAT_VERDICT_FAILS;
    if (s && !strcmp(s, "unknown"))
        return COMPAT_VERDICT_UNKNOWN;
    if (s && !strcmp(s, "wrong-predictions"))
        return COMPAT_VERDICT_WRONG;
    return COMPAT_VERDICT_OK;
}

/* ---- three-valued conditions -------------------------------------------------------------- */

typedef enum tri { NO = 0, YES = 1, MAYBE = 2 } tri;

/* What kept a condition from being decided, for the reason and the hint. */
typedef struct undecided {
    char why[SMX_ERRMAX];
    const char *settle;
} undecided;

static const char SETTLE_WRITER[] =
    "the exact XGBoost release that wrote the model settles it (the file does not record it): "
    "load the model with that release and save it as JSON or UBJSON, which record the version; "
    "or accept the risk with --allow-unknown";
static const char SETTLE_PARTIAL[] =
    "reading the whole file settles it: raise --load-max-bytes above the model's size";

/* Combine: NO wins, then MAYBE; the first MAYBE keeps its explanation. */
static tri both(tri a, tri b)
{
    if (a == NO || b == NO)
        return NO;
    return a == MAYBE || b == MAYBE ? MAYBE : YES;
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

/* The values of the stored base_score ("5E-1", "[5E-1,4E-1]"); -1 when none or unparsable. */
static int base_score_values(const compat_model_info *m, double *v, size_t cap, size_t *n)
{
    const char *p = m->base_score;
    *n = 0;
    while (*p) {
        while (*p == '[' || *p == ',' || *p == ' ')
            p++;
        if (!*p || *p == ']')
            break;
        char *end;
        double x = strtod(p, &end);
        if (end == p)
            return -1;
        if (*n < cap)
            v[(*n)++] = x;
        p = end;
    }
    return *n ? 0 : -1;
}

/* base_score flags: MAYBE when the value was not read (a model read in part). */
static tri base_score_flag(const compat_model_info *m, const char *f)
{
    double v[64];
    size_t n;
    if (base_score_values(m, v, 64, &n))
        return m->base_score[0] ? YES : MAYBE; /* unparsable: assume it matters */
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(f, "base_score_not_half"))
            any |= v[i] != 0.5;
        else if (!strcmp(f, "base_score_not_0_1"))
            any |= v[i] != 0 && v[i] != 1;
        else /* base_score_outside_01: a user-space scalar */
            any |= !m->base_score_array && !m->base_score_is_margin && !(v[i] > 0 && v[i] < 1);
    }
    return any ? YES : NO;
}

static int dart_weights_in_gbtree(const compat_model_info *m)
{
    if (!m->dart_weights_in_gbtree || !m->tree_weights)
        return m->dart_weights_in_gbtree;
    for (int64_t t = 0; t < m->num_trees; t++)
        if (m->tree_weights[t] != 1.0f)
            return 1;
    return 0;
}

static tri has_flag(const compat_model_info *m, const char *f)
{
    if (!strncmp(f, "base_score_", 11) && strcmp(f, "base_score_array"))
        return base_score_flag(m, f);
    int v = 0;
    if (!strcmp(f, "base_score_array"))
        v = m->base_score_array;
    else if (!strcmp(f, "categorical"))
        v = m->has_categorical;
    else if (!strcmp(f, "vector_leaf"))
        v = m->size_leaf_vector > 1;
    else if (!strcmp(f, "leaf_weights"))
        v = m->has_leaf_weights;
    else if (!strcmp(f, "ubj_typed_f64"))
        v = m->ubj_typed_f64;
    else if (!strcmp(f, "ubj_typed_i8"))
        v = m->ubj_typed_i8;
    else if (!strcmp(f, "multi_target_scalar"))
        v = m->num_target > 1 && m->size_leaf_vector <= 1;
    else if (!strcmp(f, "pickle_not_booster"))
        v = m->format == COMPAT_FMT_PICKLE && !m->pickle_is_booster;
    else if (!strcmp(f, "pickle_protocol5"))
        v = m->format == COMPAT_FMT_PICKLE && m->pickle_protocol >= 5;
    else if (!strcmp(f, "dart_weights_in_gbtree"))
        v = dart_weights_in_gbtree(m);
    return v ? YES : NO;
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

/* The extension XGBoost sees: after the last '.' ("" if none), lower-cased as 1.6+ do
 * (v1.6.0:src/common/io.cc:146-150) or exactly as written, as 1.0-1.5 compare it
 * (v1.0.0:src/common/io.h:81-88). */
static void name_ext(const char *name, char *ext, size_t n, int lower)
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
        ext[k++] = lower ? (char)tolower((unsigned char)*p) : *p;
    ext[k] = '\0';
}

static int known(compat_version v)
{
    return v.major >= 0;
}

/* Is every patch of v (a patch the bytes do not store stands for any) below b? */
static int all_below(compat_version v, compat_version b)
{
    if (v.patch >= 0)
        return compat_version_cmp(v, b) < 0;
    return v.major != b.major ? v.major < b.major : v.minor < b.minor;
}

static void writer_undecided(const compat_model_info *m, int from, compat_version b, undecided *u)
{
    char w[96], bs[32];
    compat_writer_text(m, w, sizeof w, COMPAT_WRITER_PREFIX | COMPAT_WRITER_WORDS);
    compat_version_str(b, bs, sizeof bs);
    snprintf(u->why, sizeof u->why,
             "it holds only for models written by XGBoost %s%s, and this file says only that "
             "%s wrote it%s%s%s",
             from ? bs : "older than ", from ? " or later" : bs, w, m->writer_note[0] ? " (" : "",
             m->writer_note, m->writer_note[0] ? ")" : "");
    u->settle = SETTLE_WRITER;
}

/* writer_from / writer_to against the range of writers the file allows: an unknown patch of
 * writer_min reads as .0, of writer_max as any patch. */
static tri writer_cond(json_t *w, const compat_model_info *m, undecided *u)
{
    json_t *v;
    compat_version b;
    tri t = YES;
    if ((v = json_object_get(w, "writer_from"))) {
        if (!vparse(v, &b) || (known(m->writer_max) && all_below(m->writer_max, b)))
            return NO;
        if (!known(m->writer_min) || compat_version_cmp(m->writer_min, b) < 0) {
            t = MAYBE;
            writer_undecided(m, 1, b, u);
        }
    }
    if ((v = json_object_get(w, "writer_to"))) {
        if (!vparse(v, &b) || (known(m->writer_min) && compat_version_cmp(m->writer_min, b) >= 0))
            return NO;
        if (!(known(m->writer_max) && all_below(m->writer_max, b)) && t == YES) {
            t = MAYBE;
            writer_undecided(m, 0, b, u);
        }
    }
    return t;
}

/* objective_config_lacks: none of the keys is in the objective's configuration. */
static tri config_lacks(json_t *keys, const compat_model_info *m, undecided *u)
{
    if (m->objective_config == COMPAT_OBJCFG_NONE)
        return NO; /* XGBoost configures nothing: nothing can be missing */
    if (m->objective_config == COMPAT_OBJCFG_UNREAD) {
        snprintf(u->why, sizeof u->why,
                 "it holds only if the objective's configuration lacks %s, and that was not "
                 "read (the model was read in part, or the configuration does not parse)",
                 json_string_value(json_array_get(keys, 0)));
        u->settle = SETTLE_PARTIAL;
        return MAYBE;
    }
    size_t i;
    json_t *k;
    json_array_foreach(
        keys, i, k) for (size_t p = 0; p < m->n_objective_params;
                         p++) if (json_is_string(k) &&
                                  !strcmp(m->objective_params[p], json_string_value(k))) return NO;
    return YES;
}

static tri flags_cond(json_t *w, const compat_model_info *m, undecided *u)
{
    tri t = YES;
    size_t i;
    json_t *f;
    for (int neg = 0; neg < 2; neg++)
        json_array_foreach(json_object_get(w, neg ? "flags_not" : "flags"), i, f)
        {
            tri h = has_flag(m, json_string_value(f));
            if (h == MAYBE) {
                if (t == YES) {
                    snprintf(u->why, sizeof u->why,
                             "it depends on the stored base_score, which was not read (the model "
                             "was read in part)");
                    u->settle = SETTLE_PARTIAL;
                }
                t = MAYBE;
            } else if ((h == YES) == neg) {
                return NO;
            }
        }
    return t;
}

static tri cond_holds(json_t *w, const compat_model_info *m, const char *name, undecided *u)
{
    json_t *v;
    if ((v = json_object_get(w, "format")) && !in_list(v, format_key(m->format)))
        return NO;
    if ((v = json_object_get(w, "corrupt")) && json_is_true(v) != (m->corrupt != 0))
        return NO;
    if ((v = json_object_get(w, "wrapper")) && strcmp(json_string_value(v), wrapper_key(m)))
        return NO;
    if ((v = json_object_get(w, "payload")) && !in_list(v, compat_payload_name(m->payload)))
        return NO;
    if ((v = json_object_get(w, "payload_not")) && in_list(v, compat_payload_name(m->payload)))
        return NO;
    /* rules about XGBoost models do not apply to files that are none */
    if ((json_object_get(w, "payload") || json_object_get(w, "objective") ||
         json_object_get(w, "flags") || json_object_get(w, "name_ext") ||
         json_object_get(w, "name_ext_exact")) &&
        (m->format == COMPAT_FMT_FOREIGN || m->format == COMPAT_FMT_UNKNOWN))
        return NO;
    if ((v = json_object_get(w, "objective")) && !in_list(v, m->objective))
        return NO;
    if ((v = json_object_get(w, "objective_prefix")) &&
        strncmp(m->objective, json_string_value(v), strlen(json_string_value(v))))
        return NO;
    if ((v = json_object_get(w, "booster_not")) && in_list(v, m->booster))
        return NO;
    static const char *const ext_keys[] = {"name_ext", "name_ext_exact"};
    for (int k = 0; k < 2; k++) {
        if (!(v = json_object_get(w, ext_keys[k])))
            continue;
        char ext[16];
        name_ext(name, ext, sizeof ext, k == 0);
        if (strcmp(ext, json_string_value(v)))
            return NO;
    }
    undecided uw = {{0}, NULL}, uc = {{0}, NULL}, uf = {{0}, NULL};
    tri tw = writer_cond(w, m, &uw);
    tri tc = (v = json_object_get(w, "objective_config_lacks")) ? config_lacks(v, m, &uc) : YES;
    tri tf = flags_cond(w, m, &uf);
    tri t = both(both(tw, tc), tf);
    if (t == MAYBE)
        *u = tw == MAYBE ? uw : tc == MAYBE ? uc : uf;
    return t;
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
    r->overruled = 0;
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

/* One outcome of a rule that holds (t YES) or may hold (t MAYBE) for reader r: a reason, and
 * the rule's hint (or, for an unknown, what would settle it) when it is the first of its
 * verdict. */
static int add_outcome(json_t *rule, json_t *o, tri t, const undecided *u,
                       const compat_model_info *m, const compat_reader *r, compat_judgement *out,
                       const char *hints[4])
{
    const char *id = json_string_value(json_object_get(rule, "id"));
    const char *src = json_string_value(json_object_get(rule, "source"));
    int v = verdict_of(json_string_value(json_object_get(o, "verdict")));
    char *msg = expand(json_string_value(json_object_get(o, "why")), m, r);
    if (!msg)
        return SMX_ENOMEM;
    const char *hint = json_string_value(json_object_get(rule, "hint"));
    if (t == MAYBE) {
        if (v == COMPAT_VERDICT_OK) {
            free(msg);
            return SMX_OK; /* ok either way */
        }
        smx_buf b = SMX_BUF_INIT;
        smx_buf_printf(&b, "unknown: %s %s - if it applies: %s", u->why,
                       v == COMPAT_VERDICT_FAILS ? "(the load may fail)"
                                                 : "(the predictions may be wrong)",
                       msg);
        free(msg);
        if (!(msg = b.data))
            return SMX_ENOMEM;
        v = COMPAT_VERDICT_UNKNOWN;
        const char *settle = json_string_value(json_object_get(rule, "settle"));
        hint = settle ? settle : u->settle;
    }
    int rc = compat_judgement_add(out, id, v, NULL, msg, src);
    free(msg);
    if (!rc && v != COMPAT_VERDICT_OK && !hints[v])
        hints[v] = hint ? hint : "";
    return rc;
}

static int add_notes(json_t *rule, const compat_model_info *m, const compat_reader *r,
                     compat_judgement *out)
{
    const char *id = json_string_value(json_object_get(rule, "id"));
    const char *src = json_string_value(json_object_get(rule, "source"));
    size_t k;
    json_t *o;
    json_array_foreach(json_object_get(rule, "notes"), k, o)
    {
        if (json_is_true(json_object_get(o, "xgboost_not_writer")) &&
            (!m->writer_exact || !compat_version_cmp(m->writer_min, r->xgboost)))
            continue;
        char *msg = expand(json_string_value(json_object_get(o, "why")), m, r);
        int rc =
            msg ? compat_judgement_add(out, id, COMPAT_VERDICT_OK, NULL, msg, src) : SMX_ENOMEM;
        free(msg);
        if (rc)
            return rc;
    }
    return SMX_OK;
}

int rls_apply(const compat_model_info *m, const char *name, const compat_reader *r,
              compat_judgement *out, char **rule_hint, smx_err *err)
{
    const char *hints[4] = {NULL, NULL, NULL, NULL}; /* per verdict: the first rule's hint */
    if (rule_hint)
        *rule_hint = NULL;
    int rc = get_rules(err);
    if (rc)
        return rc;
    size_t i;
    json_t *rule;
    json_array_foreach(rules, i, rule)
    {
        if (!r->python && json_is_true(json_object_get(rule, "python_level")))
            continue;
        undecided u = {{0}, NULL};
        tri t = cond_holds(json_object_get(rule, "when"), m, name, &u);
        if (t == NO)
            continue;
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(rule, "outcomes"), k, o)
        {
            if (!reader_in(o, r))
                continue;
            if ((rc = add_outcome(rule, o, t, &u, m, r, out, hints)))
                return smx_fail(err, rc, "out of memory");
            break; /* one outcome per rule */
        }
        if (t == YES && (rc = add_notes(rule, m, r, out)))
            return smx_fail(err, rc, "out of memory");
    }
    /* the hint of the first rule whose outcome is the verdict */
    const char *h = out->verdict < 4 ? hints[out->verdict] : NULL;
    if (rule_hint && h && *h)
        *rule_hint = expand(h, m, r); /* NULL when out of memory: no hint then */
    return SMX_OK;
}
