/*
 * The container table: containers.json, compiled in, parsed once with jansson into
 * compat_container records that live for the life of the process. Keeping the facts in a
 * data file keeps each one next to its source and out of the code; nothing here decides
 * anything, it only looks up.
 */
#include "rules.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char compat_containers_json[];
extern const size_t compat_containers_json_len;

static compat_container *table;
static size_t table_n;
static json_t *table_json; /* owns the strings the records point into */
static smx_err table_err;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static const char *str_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void load_table(void)
{
    json_error_t je;
    table_json =
        json_loadb((const char *)compat_containers_json, compat_containers_json_len, 0, &je);
    if (!table_json) {
        smx_fail(&table_err, SMX_EFORMAT, "containers.json line %d: %s", je.line, je.text);
        return;
    }
    json_t *arr = json_object_get(table_json, "containers");
    size_t n = json_array_size(arr);
    table = calloc(n ? n : 1, sizeof *table);
    if (!table) {
        smx_fail(&table_err, SMX_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        compat_container *c = &table[i];
        c->tag = str_of(o, "tag");
        c->xgboost_str = str_of(o, "xgboost");
        if (compat_version_parse(c->xgboost_str, &c->xgboost) != 0) {
            smx_fail(&table_err, SMX_EFORMAT, "containers.json: %s: bad xgboost version '%s'",
                     c->tag, c->xgboost_str);
            return;
        }
        c->python = str_of(o, "python");
        json_t *tags = json_object_get(o, "image_tags");
        size_t nt = json_array_size(tags);
        c->image_tags = calloc(nt + 1, sizeof *c->image_tags);
        if (!c->image_tags) {
            smx_fail(&table_err, SMX_ENOMEM, "out of memory");
            return;
        }
        for (size_t t = 0; t < nt; t++)
            c->image_tags[t] = json_string_value(json_array_get(tags, t));
        json_t *lay = json_object_get(o, "layout");
        c->layout.regular_files_only = json_is_true(json_object_get(lay, "regular_files_only"));
        c->layout.skips_dotfiles = json_is_true(json_object_get(lay, "skips_dotfiles"));
        c->layout.ensemble = json_is_true(json_object_get(lay, "ensemble"));
        c->eager_load = !strcmp(str_of(o, "load"), "eager");
        c->ping_checks_model = !strcmp(str_of(o, "ping"), "load-then-200");
        c->honours_accept = json_is_true(json_object_get(o, "accept"));
        c->selectable_output = json_is_true(json_object_get(o, "selectable_output"));
        c->csv_single_line = !strcmp(str_of(o, "csv_output"), "single-line");
        c->libsvm_shift = !strcmp(str_of(o, "libsvm_index"), "shift-if-min-ge-1");
        c->training_writes = str_of(o, "training_writes");
        c->source = str_of(o, "source");
    }
    table_n = n;
}

int compat_containers(const compat_container **out, size_t *n, smx_err *err)
{
    pthread_once(&table_once, load_table);
    if (table_err.status != SMX_OK) {
        if (err)
            *err = table_err;
        return table_err.status;
    }
    *out = table;
    *n = table_n;
    return SMX_OK;
}

/* A tag of the table or an image tag it lists; NULL when none. */
static const compat_container *find_tag(const compat_container *t, size_t n, const char *tag,
                                        size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(t[i].tag) == len && !strncmp(t[i].tag, tag, len))
            return &t[i];
        for (const char **it = t[i].image_tags; *it; it++)
            if (strlen(*it) == len && !strncmp(*it, tag, len))
                return &t[i];
    }
    return NULL;
}

#define CPU_PY3 "-cpu-py3"

const compat_container *compat_container_find(const char *spec)
{
    const compat_container *t;
    size_t n;
    if (!spec || compat_containers(&t, &n, NULL))
        return NULL;
    /* an image reference: [REGISTRY/]PATH/sagemaker-xgboost:TAG names the container of TAG;
     * one pinned by digest (@sha256:...) names none that can be read from it */
    const char *slash = strrchr(spec, '/');
    const char *name = slash ? slash + 1 : spec, *colon = strchr(name, ':');
    if (slash || colon) {
        if (!colon || strchr(spec, '@') || (size_t)(colon - name) != strlen("sagemaker-xgboost") ||
            strncmp(name, "sagemaker-xgboost", (size_t)(colon - name)))
            return NULL;
        spec = colon + 1;
    }
    size_t len = strlen(spec);
    const compat_container *c = find_tag(t, n, spec, len);
    /* the images are also tagged VERSION-cpu-py3 (as the container repository builds them) */
    size_t sl = strlen(CPU_PY3);
    if (!c && len > sl && !strcmp(spec + len - sl, CPU_PY3))
        c = find_tag(t, n, spec, len - sl);
    return c;
}

const compat_container *compat_container_default(void)
{
    return compat_container_find("1.7-1");
}

artifact_layout_rules compat_layout_rules(const compat_container *c, const char *ensemble_env)
{
    artifact_layout_rules r = c->layout;
    const char *v = ensemble_env ? ensemble_env : "true";
    if (strcmp(v, "true") != 0)
        r.ensemble = 0;
    return r;
}
