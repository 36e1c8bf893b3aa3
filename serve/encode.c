/*
 * Response bodies, byte for byte as the container writes them.
 *
 * Default output (no SAGEMAKER_INFERENCE_OUTPUT): preds.tolist() printed by Python, so every
 * number is repr() of the float32 widened to double.
 *   SAGEMAKER_BATCH      "\n".join(map(str, preds)) + "\n" (rows of lists print "[a, b]")
 *   <= 1.2-1             ",".join(map(str, preds)) on one line
 *   application/json     {"predictions": [{"score": p}, ...]}
 *   text/csv             csv.writer: one row per line, every line ending in "\n"
 *
 * Selectable output (SAGEMAKER_INFERENCE_OUTPUT): per row a dict of the requested keys the
 * objective supports, in the container's code order, then the unsupported ones as NaN; CSV
 * follows the order of the variable instead. JSON, JSON lines, CSV and RecordIO-protobuf,
 * the last with the container's bug of never resetting its record buffer (record i holds
 * the entries of records 0..i).
 */
#include "serve_private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int put_num(smx_buf *o, double v, int json)
{
    char b[SMX_PYREPR_MAX];
    size_t n = json ? smx_pyrepr_json(v, b) : smx_pyrepr(v, b);
    return smx_buf_append(o, b, n);
}

/* Python str() of one prediction row: a float, or a list "[a, b, c]" */
static int put_row(smx_buf *o, const serve_pred *p, uint64_t r, int json)
{
    const float *v = p->v + r * p->cols;
    if (p->cols == 1)
        return put_num(o, v[0], json);
    int rc = smx_buf_append(o, "[", 1);
    for (uint64_t c = 0; c < p->cols && !rc; c++) {
        if (c)
            rc = smx_buf_append(o, ", ", 2);
        if (!rc)
            rc = put_num(o, v[c], json);
    }
    return rc ? rc : smx_buf_append(o, "]", 1);
}

int serve_encode_default(const serve_pred *p, int kind, smx_buf *o)
{
    int rc = 0;
    smx_buf_reset(o);
    if (smx_buf_reserve(o, (size_t)(p->rows * p->cols) * 22 + 32))
        return SMX_ENOMEM;
    switch (kind) {
    case SERVE_OUT_BATCH:
        for (uint64_t r = 0; r < p->rows && !rc; r++)
            if (!(rc = put_row(o, p, r, 0)))
                rc = smx_buf_append(o, "\n", 1);
        break;
    case SERVE_OUT_SINGLE_LINE:
        for (uint64_t r = 0; r < p->rows && !rc; r++) {
            if (r)
                rc = smx_buf_append(o, ",", 1);
            if (!rc)
                rc = put_row(o, p, r, 0);
        }
        break;
    case SERVE_OUT_JSON:
        rc = smx_buf_puts(o, "{\"predictions\": [");
        for (uint64_t r = 0; r < p->rows && !rc; r++) {
            rc = smx_buf_puts(o, r ? ", {\"score\": " : "{\"score\": ");
            if (!rc)
                rc = put_row(o, p, r, 1);
            if (!rc)
                rc = smx_buf_append(o, "}", 1);
        }
        if (!rc)
            rc = smx_buf_puts(o, "]}");
        break;
    case SERVE_OUT_CSV:
        for (uint64_t r = 0; r < p->rows && !rc; r++) {
            const float *v = p->v + r * p->cols;
            for (uint64_t c = 0; c < p->cols && !rc; c++) {
                if (c)
                    rc = smx_buf_append(o, ",", 1);
                if (!rc)
                    rc = put_num(o, v[c], 0);
            }
            if (!rc)
                rc = smx_buf_append(o, "\n", 1);
        }
        break;
    default:
        return SMX_EINVAL;
    }
    return rc ? SMX_ENOMEM : SMX_OK;
}

/* ---- selectable output ------------------------------------------------------------------- */

enum {
    K_PREDICTED_LABEL,
    K_LABELS,
    K_PROBABILITY,
    K_PROBABILITIES,
    K_RAW_SCORE,
    K_RAW_SCORES,
    K_PREDICTED_SCORE,
    K_N
};
static const char *const key_names[K_N] = {"predicted_label", "labels",    "probability",
                                           "probabilities",   "raw_score", "raw_scores",
                                           "predicted_score"};

/* keys each objective supports (bit i = key i) */
static unsigned valid_keys(const char *obj, int absoluteerror)
{
    const unsigned six = (1u << K_PREDICTED_LABEL) | (1u << K_LABELS) | (1u << K_PROBABILITY) |
                         (1u << K_PROBABILITIES) | (1u << K_RAW_SCORE) | (1u << K_RAW_SCORES);
    const unsigned four =
        (1u << K_PREDICTED_LABEL) | (1u << K_LABELS) | (1u << K_RAW_SCORE) | (1u << K_RAW_SCORES);
    if (!strcmp(obj, "reg:squarederror") || !strcmp(obj, "reg:logistic") ||
        !strcmp(obj, "reg:gamma") || !strcmp(obj, "reg:tweedie") ||
        (absoluteerror && !strcmp(obj, "reg:absoluteerror")))
        return 1u << K_PREDICTED_SCORE;
    if (!strcmp(obj, "binary:logistic") || !strcmp(obj, "multi:softprob"))
        return six;
    if (!strcmp(obj, "binary:logitraw") || !strcmp(obj, "binary:hinge") ||
        !strcmp(obj, "multi:softmax"))
        return four;
    return 0;
}

/* one value of the output dict */
typedef struct val {
    enum { V_NAN, V_FLOAT, V_INT, V_FLIST, V_ILIST } t;
    double d;
    long i;
    const float *fl; /* V_FLIST over floats widened */
    double pair[2];  /* V_FLIST of two doubles when fl is NULL */
    size_t n;
} val;

static val compute(int key, const char *obj, int num_class, const float *row, uint64_t cols)
{
    val v = {.t = V_NAN};
    int softprob = !strcmp(obj, "multi:softprob");
    double p = row[0];
    float mx = row[0];
    uint64_t arg = 0;
    for (uint64_t c = 1; c < cols; c++)
        if (row[c] > mx) {
            mx = row[c];
            arg = c;
        }
    switch (key) {
    case K_PREDICTED_LABEL:
        if (!strcmp(obj, "binary:hinge") || !strcmp(obj, "multi:softmax"))
            v = (val){.t = V_FLOAT, .d = p};
        else if (!strcmp(obj, "binary:logistic"))
            v = (val){.t = V_INT, .i = p > 0.5};
        else if (!strcmp(obj, "binary:logitraw"))
            v = (val){.t = V_INT, .i = p > 0};
        else if (softprob)
            v = (val){.t = V_INT, .i = (long)arg};
        break;
    case K_LABELS:
        if (strstr(obj, "binary:"))
            v = (val){.t = V_ILIST, .n = 2};
        else if (strstr(obj, "multi:") && num_class > 0)
            v = (val){.t = V_ILIST, .n = (size_t)num_class};
        break;
    case K_PROBABILITY:
        if (!strcmp(obj, "binary:logistic"))
            v = (val){.t = V_FLOAT, .d = p};
        else if (softprob)
            v = (val){.t = V_FLOAT, .d = mx};
        break;
    case K_PROBABILITIES:
        if (!strcmp(obj, "binary:logistic"))
            v = (val){.t = V_FLIST, .pair = {1 - p, p}, .n = 2};
        else if (softprob)
            v = (val){.t = V_FLIST, .fl = row, .n = (size_t)cols};
        break;
    case K_RAW_SCORE:
        v = (val){.t = V_FLOAT, .d = softprob ? (double)mx : p};
        break;
    case K_RAW_SCORES:
        if (softprob)
            v = (val){.t = V_FLIST, .fl = row, .n = (size_t)cols};
        else
            v = (val){.t = V_FLIST, .pair = {1 - p, p}, .n = 2};
        break;
    case K_PREDICTED_SCORE:
        v = (val){.t = V_FLOAT, .d = p};
        break;
    }
    return v;
}

static int put_val(smx_buf *o, const val *v, int json)
{
    char b[32];
    int rc = 0;
    switch (v->t) {
    case V_NAN:
        return put_num(o, NAN, json);
    case V_FLOAT:
        return put_num(o, v->d, json);
    case V_INT:
        snprintf(b, sizeof b, "%ld", v->i);
        return smx_buf_puts(o, b);
    case V_FLIST:
    case V_ILIST:
        rc = smx_buf_append(o, "[", 1);
        for (size_t i = 0; i < v->n && !rc; i++) {
            if (i)
                rc = smx_buf_append(o, ", ", 2);
            if (rc)
                break;
            if (v->t == V_ILIST) {
                snprintf(b, sizeof b, "%zu", i);
                rc = smx_buf_puts(o, b);
            } else {
                rc = put_num(o, v->fl ? (double)v->fl[i] : v->pair[i], json);
            }
        }
        return rc ? rc : smx_buf_append(o, "]", 1);
    }
    return rc;
}

/* JSON string of a key (json.dumps escapes) */
static int put_jstr(smx_buf *o, const char *s)
{
    int rc = smx_buf_append(o, "\"", 1);
    for (; *s && !rc; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rc = smx_buf_append(o, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            /* json.dumps(ensure_ascii=True); keys come from the environment, bytes >= 0x80
             * are escaped one by one (not decoded as UTF-8) */
            char e[8];
            static const char *named = "\b\f\n\r\t";
            static const char *letters = "bfnrt";
            const char *q = c ? strchr(named, c) : NULL;
            if (q)
                snprintf(e, sizeof e, "\\%c", letters[q - named]);
            else
                snprintf(e, sizeof e, "\\u%04x", c);
            rc = smx_buf_puts(o, e);
        } else {
            rc = smx_buf_append(o, s, 1);
        }
    }
    return rc ? rc : smx_buf_append(o, "\"", 1);
}

/* What a selectable response holds: the keys asked for and which of them the objective has. */
typedef struct selection {
    const char *objective;
    int num_class;
    const char *const *keys;
    size_t n_keys;
    unsigned valid;  /* the keys the objective supports (bit per K_*) */
    unsigned wanted; /* those asked for */
    size_t inv[64];  /* keys asked for that it does not support: first occurrences */
    size_t n_inv;
} selection;

enum { SEL_JSON, SEL_JSONLINES, SEL_RECORDIO, SEL_CSV };

static int accept_kind(const char *accept)
{
    static const char *const types[] = {"application/json", "application/jsonlines",
                                        "application/x-recordio-protobuf", "text/csv"};
    for (int k = 0; k < 4; k++)
        if (!strcmp(accept, types[k]))
            return k;
    return -1;
}

/* The key k the objective supports named s, or -1. */
static int valid_key(const selection *sel, const char *s)
{
    int found = -1;
    for (int k = 0; k < K_N; k++)
        if (!strcmp(s, key_names[k]) && (sel->valid & (1u << k)))
            found = k;
    return found;
}

/* The dict's keys: valid ones in code order, then the invalid ones (first occurrence). */
static void select_keys(selection *sel)
{
    for (size_t i = 0; i < sel->n_keys; i++) {
        int k = valid_key(sel, sel->keys[i]);
        if (k >= 0)
            sel->wanted |= 1u << k;
    }
    for (size_t i = 0; i < sel->n_keys && sel->n_inv < 64; i++) {
        int ok = valid_key(sel, sel->keys[i]) >= 0;
        for (size_t j = 0; j < sel->n_inv && !ok; j++)
            if (!strcmp(sel->keys[sel->inv[j]], sel->keys[i]))
                ok = 1;
        if (!ok)
            sel->inv[sel->n_inv++] = i;
    }
}

/* One row as a JSON object: {"key": value, ...}, the invalid keys NaN. */
static int put_dict_row(smx_buf *o, const selection *sel, const serve_pred *p, const float *row)
{
    int rc = smx_buf_append(o, "{", 1);
    int first = 1;
    for (int k = 0; k < K_N && !rc; k++) {
        if (!(sel->wanted & (1u << k)))
            continue;
        val v = compute(k, sel->objective, sel->num_class, row, p->cols);
        rc = smx_buf_puts(o, first ? "" : ", ");
        first = 0;
        rc = rc ? rc : put_jstr(o, key_names[k]);
        rc = rc ? rc : smx_buf_puts(o, ": ");
        rc = rc ? rc : put_val(o, &v, 1);
    }
    for (size_t j = 0; j < sel->n_inv && !rc; j++) {
        rc = smx_buf_puts(o, first ? "" : ", ");
        first = 0;
        rc = rc ? rc : put_jstr(o, sel->keys[sel->inv[j]]);
        rc = rc ? rc : smx_buf_puts(o, ": NaN");
    }
    return rc ? rc : smx_buf_append(o, "}", 1);
}

/* One row as a CSV line in the order the keys were asked for; lists quoted. */
static int put_csv_row(smx_buf *o, const selection *sel, const serve_pred *p, const float *row)
{
    int rc = 0;
    for (size_t i = 0; i < sel->n_keys && !rc; i++) {
        if (i)
            rc = smx_buf_append(o, ",", 1);
        int k = valid_key(sel, sel->keys[i]);
        val v =
            k >= 0 ? compute(k, sel->objective, sel->num_class, row, p->cols) : (val){.t = V_NAN};
        int list = v.t == V_FLIST || v.t == V_ILIST;
        if (list)
            rc = rc ? rc : smx_buf_append(o, "\"", 1);
        rc = rc ? rc : put_val(o, &v, 0);
        if (list)
            rc = rc ? rc : smx_buf_append(o, "\"", 1);
    }
    return rc;
}

/* The label entry of value v under key; a list that is not the row itself is copied into
 * *list (malloc'd), a scalar into store. */
static int rio_label(const val *v, const char *key, serve_rio_label *lab, float store[2],
                     float **list)
{
    lab->key = key;
    if (v->t == V_FLIST && v->fl) {
        lab->values = v->fl;
        lab->n = v->n;
    } else if (v->t == V_ILIST || v->t == V_FLIST) {
        float *l = *list = malloc((v->n ? v->n : 1) * sizeof(float));
        if (!l)
            return SMX_ENOMEM;
        for (size_t i = 0; i < v->n; i++)
            l[i] = v->t == V_ILIST ? (float)i : (float)v->pair[i];
        lab->values = l;
        lab->n = v->n;
    } else {
        store[0] = v->t == V_NAN ? NAN : v->t == V_INT ? (float)v->i : (float)v->d;
        lab->values = store;
        lab->n = 1;
    }
    return SMX_OK;
}

/* RecordIO-protobuf: label entries in dict order; the record buffer acc accumulates (the
 * container never resets it), and each row's frame holds all of it. */
static int put_rio_row(smx_buf *o, const selection *sel, const serve_pred *p, const float *row,
                       smx_buf *acc)
{
    serve_rio_label lab[K_N + 64];
    float store[K_N + 64][2];
    float *lists[K_N + 64] = {0};
    size_t nl = 0;
    int rc = 0;
    for (int k = 0; k < K_N && !rc; k++) {
        if (!(sel->wanted & (1u << k)))
            continue;
        val v = compute(k, sel->objective, sel->num_class, row, p->cols);
        rc = rio_label(&v, key_names[k], &lab[nl], store[nl], &lists[nl]);
        if (!rc)
            nl++;
    }
    for (size_t j = 0; j < sel->n_inv && !rc; j++) {
        store[nl][0] = NAN;
        lab[nl] = (serve_rio_label){sel->keys[sel->inv[j]], store[nl], 1};
        nl++;
    }
    rc = rc ? rc : serve_rio_record(lab, nl, acc);
    rc = rc ? rc : serve_rio_frame(acc->data, acc->len, o);
    for (size_t j = 0; j < nl; j++)
        free(lists[j]);
    return rc;
}

int serve_encode_selectable(const serve_pred *p, const char *objective, int num_class,
                            int absoluteerror, const char *const *keys, size_t n_keys,
                            const char *accept, int batch, smx_buf *o, smx_err *err)
{
    smx_buf_reset(o);
    selection sel = {.objective = objective,
                     .num_class = num_class,
                     .keys = keys,
                     .n_keys = n_keys,
                     .valid = valid_keys(objective, absoluteerror)};
    if (!sel.valid)
        return smx_fail(err, SMX_EINVAL,
                        "Objective `%s` unsupported for selectable inference predictions.",
                        objective);
    int kind = accept_kind(accept);
    if (kind < 0)
        return smx_fail(err, SMX_EINVAL,
                        "Cannot encode selected predictions into accept type '%s'.", accept);
    select_keys(&sel);
    int rc = 0;
    smx_buf acc = SMX_BUF_INIT;
    if (kind == SEL_JSON)
        rc = smx_buf_puts(o, "{\"predictions\": [");
    for (uint64_t r = 0; r < p->rows && !rc; r++) {
        const float *row = p->v + r * p->cols;
        if (kind == SEL_JSON) {
            rc = r ? smx_buf_puts(o, ", ") : 0;
            rc = rc ? rc : put_dict_row(o, &sel, p, row);
        } else if (kind == SEL_JSONLINES) {
            rc = put_dict_row(o, &sel, p, row);
            rc = rc ? rc : smx_buf_append(o, "\n", 1);
        } else if (kind == SEL_CSV) {
            rc = r ? smx_buf_append(o, "\n", 1) : 0;
            rc = rc ? rc : put_csv_row(o, &sel, p, row);
        } else {
            rc = put_rio_row(o, &sel, p, row, &acc);
        }
    }
    if (kind == SEL_JSON && !rc)
        rc = smx_buf_puts(o, "]}");
    if (kind == SEL_CSV && batch && !rc)
        rc = smx_buf_append(o, "\n", 1);
    smx_buf_free(&acc);
    if (rc)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    return SMX_OK;
}
