/*
 * The Terraform plan reader: `terraform show -json PLANFILE` in, the SageMaker models and
 * endpoint configurations the plan would create or change out (jansson).
 *
 * resource_changes is the primary source: it lists every resource of every module with its
 * address, and `change.after_unknown` mirrors `change.after` with `true` where a value is
 * known only after apply (a model_data_url built from an aws_s3_object created in the same
 * plan, a computed name). Deletes are skipped; no-ops are kept (the caller decides). A plan
 * without resource_changes (a trimmed one) is read from planned_values, root module and child
 * modules recursively.
 *
 * Nested blocks are JSON arrays (primary_container[0], container[i],
 * model_data_source[0].s3_data_source[0], production_variants[i].serverless_config[0]).
 * An endpoint configuration's model_name is often unknown (it refers to a model created in
 * the same plan), so the `configuration` section's references are read too, to join variants
 * to models by address (planconfig.c).
 *
 * Uploads (aws_s3_object, and the older aws_s3_bucket_object) are read because the object a
 * model's data URL names is often written by the same apply: their bucket, key and bytes (a
 * source file, or content / content_base64), and from the configuration what their bucket and
 * the model's data URL refer to, so that a model can be matched to its upload when the URL is
 * known only after apply. A bucket known only after apply is taken from the aws_s3_bucket it
 * refers to when that one's name is known. A model's image pinned by digest gets the tag a
 * data.aws_ecr_image it refers to names in the configuration.
 *
 * What is read must be a plan: `terraform show -json` of a state (values, no planned_values or
 * resource_changes) describes what is deployed, not what apply would do, and is refused.
 */
#include "gate_private.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    gate_plan *p;
    json_t *config; /* configuration.root_module, may be NULL */
    smx_err *err;
    /* aws_s3_bucket resources with a known name: address without keys, and the name */
    char **bucket_addr, **bucket_name;
    size_t n_buckets;
} reader;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int is_true(json_t *v)
{
    return json_is_true(v);
}

/* after_unknown child: object member, array element, or the whole subtree when it is `true`. */
static json_t *unk_get(json_t *unk, const char *key)
{
    if (is_true(unk))
        return unk;
    return json_is_object(unk) ? json_object_get(unk, key) : NULL;
}
static json_t *unk_at(json_t *unk, size_t i)
{
    if (is_true(unk))
        return unk;
    return json_is_array(unk) ? json_array_get(unk, i) : NULL;
}

static int value_of(json_t *obj, json_t *unk, const char *key, gate_value *v)
{
    json_t *x = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    memset(v, 0, sizeof *v);
    if (json_is_string(x)) {
        v->s = strdup(json_string_value(x));
        return v->s ? 0 : -1;
    }
    if (json_is_number(x)) {
        char b[64];
        snprintf(b, sizeof b, "%.0f", json_number_value(x));
        v->s = strdup(b);
        return v->s ? 0 : -1;
    }
    if (is_true(unk_get(unk, key)))
        v->unknown = 1;
    return 0;
}

/* A number field: value, -1 absent/null, -2 unknown until apply. */
static long number_of(json_t *obj, json_t *unk, const char *key)
{
    json_t *x = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_number(x))
        return (long)json_number_value(x);
    if (is_true(unk_get(unk, key)))
        return -2;
    return -1;
}

static void value_free(gate_value *v)
{
    free(v->s);
    v->s = NULL;
}

static char *actions_str(json_t *actions)
{
    smx_buf b = SMX_BUF_INIT;
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a)
    {
        if (json_is_string(a))
            smx_buf_printf(&b, "%s%s", b.len ? "," : "", json_string_value(a));
    }
    if (!b.data)
        return strdup("");
    return b.data;
}

static int only_deletes(json_t *actions)
{
    if (!json_is_array(actions) || !json_array_size(actions))
        return 0;
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a)
    {
        const char *s = json_string_value(a);
        if (!s || (strcmp(s, "delete") && strcmp(s, "forget")))
            return 0;
    }
    return 1;
}

static int add_container(reader *r, const char *address, const char *module, const gate_value *name,
                         const char *actions, const char *block, int index, json_t *c, json_t *cu)
{
    gate_plan *p = r->p;
    gate_plan_container *k = smx_push((void **)&p->containers, &p->n_containers, sizeof *k);
    if (!k)
        return smx_fail(r->err, SMX_ENOMEM, "out of memory");
    k->model_address = strdup(address);
    k->module_address = strdup(module);
    k->model_name.s = dup_or_null(name->s);
    k->model_name.unknown = name->unknown;
    k->actions = strdup(actions);
    k->block = block;
    k->index = index;
    int bad = !k->model_address || !k->module_address || !k->actions;
    if (json_is_object(c) || is_true(cu)) {
        bad |= value_of(c, cu, "image", &k->image);
        bad |= value_of(c, cu, "mode", &k->mode);
        bad |= value_of(c, cu, "model_data_url", &k->model_data_url);
        json_t *mds = json_is_object(c) ? json_object_get(c, "model_data_source") : NULL;
        json_t *mdsu = unk_get(cu, "model_data_source");
        json_t *m0 = json_array_get(mds, 0);
        if (json_is_object(m0)) {
            json_t *s3 = json_array_get(json_object_get(m0, "s3_data_source"), 0);
            json_t *s3u = unk_get(unk_at(mdsu, 0), "s3_data_source");
            s3u = unk_at(s3u, 0);
            k->has_data_source = 1;
            bad |= value_of(s3, s3u, "s3_uri", &k->s3_uri);
            bad |= value_of(s3, s3u, "s3_data_type", &k->s3_data_type);
            bad |= value_of(s3, s3u, "compression_type", &k->compression_type);
        }
        json_t *env = json_is_object(c) ? json_object_get(c, "environment") : NULL;
        json_t *envu = unk_get(cu, "environment");
        if (is_true(envu))
            k->env_unknown = k->env_unknown_sagemaker = 1;
        if (json_is_object(env)) {
            const char *key;
            json_t *val;
            json_object_foreach(env, key, val)
            {
                if (is_true(unk_get(envu, key))) {
                    k->env_unknown = 1;
                    k->env_unknown_sagemaker |= !strncmp(key, "SAGEMAKER_", 10);
                }
                if (!json_is_string(val))
                    continue;
                char **e = realloc(k->env, (k->n_env + 1) * sizeof *e);
                if (!e)
                    return smx_fail(r->err, SMX_ENOMEM, "out of memory");
                k->env = e;
                if (asprintf(&k->env[k->n_env], "%s=%s", key, json_string_value(val)) < 0)
                    return smx_fail(r->err, SMX_ENOMEM, "out of memory");
                k->n_env++;
            }
        } else if (json_is_object(envu)) {
            const char *key;
            json_t *val;
            json_object_foreach(envu, key, val) if (is_true(val))
            {
                k->env_unknown = 1;
                k->env_unknown_sagemaker |= !strncmp(key, "SAGEMAKER_", 10);
            }
        }
    } else {
        /* the block exists but its element is neither known nor marked unknown */
        k->image.unknown = 1;
    }
    return bad ? smx_fail(r->err, SMX_ENOMEM, "out of memory") : SMX_OK;
}

/* The tag a data.aws_ecr_image the image refers to names as a literal, into k. */
static int image_tag_of(reader *r, gate_plan_container *k, json_t *image)
{
    char **refs = NULL;
    size_t n = 0;
    int rc = gate__config_refs(image, k->module_address, &refs, &n, r->err);
    for (size_t i = 0; i < n && !rc && !k->image_tag; i++) {
        const char *local = strstr(refs[i], "data.aws_ecr_image.");
        json_t *ds = local ? gate__config_resource(r->config, k->module_address, refs[i]) : NULL;
        const char *tag =
            gate__config_string(json_object_get(json_object_get(ds, "expressions"), "image_tag"));
        if (!tag)
            continue;
        k->image_tag = strdup(tag);
        if (asprintf(&k->image_tag_from, "%s (image_tag = \"%s\" in the configuration)", refs[i],
                     tag) < 0)
            k->image_tag_from = NULL;
        if (!k->image_tag || !k->image_tag_from)
            rc = smx_fail(r->err, SMX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        free(refs[i]);
    free(refs);
    return rc;
}

/* From the configuration: what the container's model data location and image refer to. */
static int container_config(reader *r, gate_plan_container *k)
{
    json_t *res = gate__config_resource(r->config, k->module_address, k->model_address);
    json_t *c = json_array_get(json_object_get(json_object_get(res, "expressions"), k->block),
                               (size_t)k->index);
    if (!json_is_object(c))
        return SMX_OK;
    json_t *url = json_object_get(c, "model_data_url");
    if (!url) {
        json_t *mds = json_array_get(json_object_get(c, "model_data_source"), 0);
        url = json_object_get(json_array_get(json_object_get(mds, "s3_data_source"), 0), "s3_uri");
    }
    int rc = gate__config_refs(url, k->module_address, &k->data_refs, &k->n_data_refs, r->err);
    return rc ? rc : image_tag_of(r, k, json_object_get(c, "image"));
}

static int read_model(reader *r, const char *address, const char *module, const char *actions,
                      json_t *after, json_t *unk)
{
    r->p->n_models++;
    gate_value name;
    if (value_of(after, unk, "name", &name))
        return smx_fail(r->err, SMX_ENOMEM, "out of memory");
    int rc = SMX_OK;
    size_t before = r->p->n_containers;
    static const char *const blocks[] = {"primary_container", "container"};
    for (int b = 0; b < 2 && !rc; b++) {
        json_t *arr = json_is_object(after) ? json_object_get(after, blocks[b]) : NULL;
        json_t *au = unk_get(unk, blocks[b]);
        if (arr && !json_is_array(arr) && !json_is_null(arr)) {
            rc = smx_fail(r->err, SMX_EFORMAT, "%s: %s: expected an array (a Terraform block)",
                          address, blocks[b]);
            break;
        }
        size_t n = json_array_size(arr);
        for (size_t i = 0; i < n && !rc; i++)
            rc = add_container(r, address, module, &name, actions, blocks[b], (int)i,
                               json_array_get(arr, i), unk_at(au, i));
        if (!n && is_true(au))
            rc = add_container(r, address, module, &name, actions, blocks[b], 0, NULL, au);
    }
    if (!rc && r->p->n_containers == before && is_true(unk))
        rc = add_container(r, address, module, &name, actions, "primary_container", 0, NULL, unk);
    for (size_t i = before; i < r->p->n_containers && !rc; i++)
        rc = container_config(r, &r->p->containers[i]);
    value_free(&name);
    return rc;
}

/* From the configuration: which aws_sagemaker_model variant i of a config refers to. */
static char *model_ref_of(reader *r, const char *module, const char *address, const char *block,
                          size_t i)
{
    json_t *res = gate__config_resource(r->config, module, address);
    if (!res)
        return NULL;
    char *ref = NULL;
    json_t *pv = json_array_get(json_object_get(json_object_get(res, "expressions"), block), i);
    json_t *refs = json_object_get(json_object_get(pv, "model_name"), "references");
    size_t j;
    json_t *s;
    json_array_foreach(refs, j, s)
    {
        const char *t = json_string_value(s);
        if (!t || strncmp(t, "aws_sagemaker_model.", 20))
            continue;
        const char *dot = strchr(t + 20, '.');
        size_t len = dot ? (size_t)(dot - t) : strlen(t);
        if (asprintf(&ref, "%s%s%.*s", module, *module ? "." : "", (int)len, t) < 0)
            ref = NULL;
        break;
    }
    return ref;
}

static int read_config(reader *r, const char *address, const char *module, json_t *after,
                       json_t *unk)
{
    static const char *const blocks[] = {"production_variants", "shadow_production_variants"};
    for (int b = 0; b < 2; b++) {
        json_t *arr = json_is_object(after) ? json_object_get(after, blocks[b]) : NULL;
        json_t *au = unk_get(unk, blocks[b]);
        size_t n = json_array_size(arr);
        for (size_t i = 0; i < n; i++) {
            json_t *pv = json_array_get(arr, i), *pu = unk_at(au, i);
            gate_plan *p = r->p;
            gate_plan_variant *x = smx_push((void **)&p->variants, &p->n_variants, sizeof *x);
            if (!x)
                return smx_fail(r->err, SMX_ENOMEM, "out of memory");
            x->config_address = strdup(address);
            x->module_address = strdup(module);
            x->shadow = b;
            gate_value vn;
            value_of(pv, pu, "variant_name", &vn);
            x->variant_name = vn.s;
            value_of(pv, pu, "model_name", &x->model_name);
            gate_value it;
            value_of(pv, pu, "instance_type", &it);
            x->instance_type = it.s;
            x->startup_timeout =
                number_of(pv, pu, "container_startup_health_check_timeout_in_seconds");
            x->download_timeout = number_of(pv, pu, "model_data_download_timeout_in_seconds");
            json_t *sc = json_array_get(json_object_get(pv, "serverless_config"), 0);
            json_t *scu = unk_at(unk_get(pu, "serverless_config"), 0);
            x->memory_size_mb = -1;
            x->max_concurrency = -1;
            if (json_is_object(sc)) {
                x->serverless = 1;
                x->memory_size_mb = number_of(sc, scu, "memory_size_in_mb");
                x->max_concurrency = number_of(sc, scu, "max_concurrency");
            }
            x->model_ref = model_ref_of(r, module, address, blocks[b], i);
            if (!x->config_address || !x->module_address)
                return smx_fail(r->err, SMX_ENOMEM, "out of memory");
        }
    }
    return SMX_OK;
}

/* The local-exec commands of a module's configuration (a build step that runs during apply). */
static int build_commands(reader *r, gate_plan_object *o)
{
    json_t *m = r->config ? gate__config_module(r->config, o->module_address) : NULL;
    size_t i, k;
    json_t *res, *pr;
    json_array_foreach(json_object_get(m, "resources"), i, res)
    {
        json_array_foreach(json_object_get(res, "provisioners"), k, pr)
        {
            const char *type = json_string_value(json_object_get(pr, "type"));
            const char *cmd =
                gate__config_string(json_object_get(json_object_get(pr, "expressions"), "command"));
            if (!type || strcmp(type, "local-exec") || !cmd)
                continue;
            char **v = realloc(o->build_cmds, (o->n_build_cmds + 1) * sizeof *v);
            if (!v || !(v[o->n_build_cmds] = strdup(cmd))) {
                if (v)
                    o->build_cmds = v;
                return smx_fail(r->err, SMX_ENOMEM, "out of memory");
            }
            o->build_cmds = v;
            o->n_build_cmds++;
        }
    }
    return SMX_OK;
}

/* 1 for "aws_s3_bucket.NAME" with or without a module (or "data.") in front. */
static int is_bucket_ref(const char *ref)
{
    const char *d = strrchr(ref, '.');
    size_t tl = d ? (size_t)(d - ref) : 0;
    return tl >= 13 && !strncmp(d - 13, "aws_s3_bucket", 13) && (tl == 13 || d[-14] == '.');
}

/* The aws_s3_bucket the object's bucket refers to in the configuration (the first one). */
static int bucket_ref_of(reader *r, gate_plan_object *o)
{
    json_t *res = gate__config_resource(r->config, o->module_address, o->address);
    char **refs = NULL;
    size_t n = 0;
    int rc = gate__config_refs(json_object_get(json_object_get(res, "expressions"), "bucket"),
                               o->module_address, &refs, &n, r->err);
    for (size_t i = 0; i < n; i++) {
        if (!o->bucket_ref && is_bucket_ref(refs[i])) {
            o->bucket_ref = refs[i];
            continue;
        }
        free(refs[i]);
    }
    free(refs);
    return rc;
}

static int read_object(reader *r, const char *type, const char *address, const char *module,
                       const char *actions, json_t *after, json_t *unk)
{
    gate_plan *p = r->p;
    gate_plan_object *o = smx_push((void **)&p->objects, &p->n_objects, sizeof *o);
    if (!o)
        return smx_fail(r->err, SMX_ENOMEM, "out of memory");
    o->type = !strcmp(type, "aws_s3_object") ? "aws_s3_object" : "aws_s3_bucket_object";
    o->address = strdup(address);
    o->module_address = strdup(module);
    o->actions = strdup(actions);
    int bad = !o->address || !o->module_address || !o->actions;
    bad |= value_of(after, unk, "bucket", &o->bucket);
    bad |= value_of(after, unk, "key", &o->key);
    bad |= value_of(after, unk, "source", &o->source);
    bad |= value_of(after, unk, "content", &o->content);
    bad |= value_of(after, unk, "content_base64", &o->content_base64);
    bad |= value_of(after, unk, "etag", &o->etag);
    if (bad)
        return smx_fail(r->err, SMX_ENOMEM, "out of memory");
    int rc = bucket_ref_of(r, o);
    return rc ? rc : build_commands(r, o);
}

/* An aws_s3_bucket's name, when known, for uploads whose bucket refers to it. */
static int read_bucket(reader *r, const char *address, json_t *after)
{
    const char *name = json_string_value(json_object_get(after, "bucket"));
    if (!name)
        return SMX_OK;
    char **a = realloc(r->bucket_addr, (r->n_buckets + 1) * sizeof *a);
    if (a)
        r->bucket_addr = a;
    char **b = a ? realloc(r->bucket_name, (r->n_buckets + 1) * sizeof *b) : NULL;
    if (b)
        r->bucket_name = b;
    char *ca = b ? gate__strip_indexes(address) : NULL, *cn = ca ? strdup(name) : NULL;
    if (!cn) {
        free(ca);
        return smx_fail(r->err, SMX_ENOMEM, "out of memory");
    }
    r->bucket_addr[r->n_buckets] = ca;
    r->bucket_name[r->n_buckets++] = cn;
    return SMX_OK;
}

static int is_upload_type(const char *type)
{
    return !strcmp(type, "aws_s3_object") || !strcmp(type, "aws_s3_bucket_object");
}

static int read_resource(reader *r, const char *type, const char *address, const char *module,
                         const char *actions, json_t *after, json_t *unk)
{
    if (!strcmp(type, "aws_sagemaker_model"))
        return read_model(r, address, module, actions, after, unk);
    if (!strcmp(type, "aws_sagemaker_endpoint_configuration"))
        return read_config(r, address, module, after, unk);
    if (is_upload_type(type))
        return read_object(r, type, address, module, actions, after, unk);
    if (!strcmp(type, "aws_s3_bucket"))
        return read_bucket(r, address, after);
    return SMX_OK;
}

/* An upload's bucket known only after apply is the known name of the bucket it refers to. */
static int resolve_buckets(reader *r)
{
    for (size_t i = 0; i < r->p->n_objects; i++) {
        gate_plan_object *o = &r->p->objects[i];
        if (o->bucket.s || !o->bucket_ref)
            continue;
        for (size_t k = 0; k < r->n_buckets; k++) {
            if (strcmp(r->bucket_addr[k], o->bucket_ref))
                continue;
            if (!(o->bucket.s = strdup(r->bucket_name[k])))
                return smx_fail(r->err, SMX_ENOMEM, "out of memory");
            o->bucket_via_ref = 1;
            break;
        }
    }
    return SMX_OK;
}

static int walk_planned(reader *r, json_t *mod, const char *path, int depth)
{
    if (depth > 64)
        return smx_fail(r->err, SMX_EFORMAT, "%s: modules nested more than 64 deep", path);
    const char *maddr = json_string_value(json_object_get(mod, "address"));
    json_t *res = json_object_get(mod, "resources");
    if (res && !json_is_array(res))
        return smx_fail(r->err, SMX_EFORMAT, "%s.resources: expected an array", path);
    size_t i;
    json_t *x;
    json_array_foreach(res, i, x)
    {
        const char *type = json_string_value(json_object_get(x, "type"));
        const char *addr = json_string_value(json_object_get(x, "address"));
        const char *mode = json_string_value(json_object_get(x, "mode"));
        if (!type || !addr || (mode && strcmp(mode, "managed")))
            continue;
        int rc = read_resource(r, type, addr, maddr ? maddr : "", "planned",
                               json_object_get(x, "values"), NULL);
        if (rc)
            return rc;
    }
    json_t *kids = json_object_get(mod, "child_modules");
    if (kids && !json_is_array(kids))
        return smx_fail(r->err, SMX_EFORMAT, "%s.child_modules: expected an array", path);
    json_array_foreach(kids, i, x)
    {
        char sub[512];
        snprintf(sub, sizeof sub, "%.400s.child_modules[%zu]", path, i);
        int rc = walk_planned(r, x, sub, depth + 1);
        if (rc)
            return rc;
    }
    return SMX_OK;
}

/* resource_changes: every managed model and endpoint configuration that is not only deleted. */
static int read_changes(reader *r, json_t *rcs)
{
    size_t i;
    json_t *x;
    json_array_foreach(rcs, i, x)
    {
        const char *type = json_string_value(json_object_get(x, "type"));
        const char *addr = json_string_value(json_object_get(x, "address"));
        const char *mode = json_string_value(json_object_get(x, "mode"));
        if (!type || !addr || (mode && strcmp(mode, "managed")))
            continue;
        if (strcmp(type, "aws_sagemaker_model") &&
            strcmp(type, "aws_sagemaker_endpoint_configuration") && !is_upload_type(type) &&
            strcmp(type, "aws_s3_bucket"))
            continue;
        if (json_object_get(x, "deposed"))
            continue;
        json_t *ch = json_object_get(x, "change");
        if (!json_is_object(ch))
            return smx_fail(r->err, SMX_EFORMAT, "resource_changes[%zu] (%s): no change object", i,
                            addr);
        json_t *actions = json_object_get(ch, "actions");
        if (only_deletes(actions))
            continue;
        char *acts = actions_str(actions);
        const char *module = json_string_value(json_object_get(x, "module_address"));
        int rc =
            acts ? read_resource(r, type, addr, module ? module : "", acts,
                                 json_object_get(ch, "after"), json_object_get(ch, "after_unknown"))
                 : smx_fail(r->err, SMX_ENOMEM, "out of memory");
        free(acts);
        if (rc)
            return rc;
    }
    return SMX_OK;
}

/* A plan's format_version and terraform_version, and its configuration (for references). */
static int read_header(reader *r, json_t *root)
{
    const char *fv = json_string_value(json_object_get(root, "format_version"));
    if (!json_is_object(root) || !fv)
        return smx_fail(r->err, SMX_EFORMAT,
                        "no format_version: this is not `terraform show -json PLANFILE` output "
                        "(run `terraform plan -out=tfplan && terraform show -json tfplan`)");
    if (strncmp(fv, "1.", 2) != 0 && strcmp(fv, "1") != 0)
        return smx_fail(r->err, SMX_EFORMAT,
                        "format_version \"%s\": only 1.x plan JSON is understood", fv);
    r->p->format_version = strdup(fv);
    r->p->terraform_version =
        dup_or_null(json_string_value(json_object_get(root, "terraform_version")));
    r->config = json_object_get(json_object_get(root, "configuration"), "root_module");
    if (r->config && !json_is_object(r->config))
        r->config = NULL;
    return SMX_OK;
}

/* A plan has planned_values or resource_changes; a state (values) or other JSON is refused. */
static int is_plan(reader *r, json_t *root)
{
    if (json_object_get(root, "planned_values") || json_object_get(root, "resource_changes"))
        return SMX_OK;
    if (json_object_get(root, "values"))
        return smx_fail(
            r->err, SMX_EFORMAT,
            "this is `terraform show -json` of a state (it has values, but no planned_values or "
            "resource_changes): it shows what is deployed now, not what apply would deploy; "
            "give a plan: `terraform plan -out=tfplan && terraform show -json tfplan`");
    return smx_fail(r->err, SMX_EFORMAT,
                    "not a Terraform plan: no planned_values or resource_changes; expected the "
                    "output of `terraform plan -out=tfplan && terraform show -json tfplan`");
}

/* resource_changes when there are any, else planned_values. */
static int read_plan(reader *r, json_t *root)
{
    int rc = read_header(r, root);
    if (!rc)
        rc = is_plan(r, root);
    if (rc)
        return rc;
    json_t *rcs = json_object_get(root, "resource_changes");
    if (rcs && !json_is_array(rcs))
        return smx_fail(r->err, SMX_EFORMAT, "resource_changes: expected an array");
    if (json_array_size(rcs)) {
        rc = read_changes(r, rcs);
    } else {
        json_t *pv = json_object_get(json_object_get(root, "planned_values"), "root_module");
        if (pv && !json_is_object(pv))
            return smx_fail(r->err, SMX_EFORMAT, "planned_values.root_module: expected an object");
        rc = pv ? walk_planned(r, pv, "planned_values.root_module", 0) : SMX_OK;
    }
    return rc ? rc : resolve_buckets(r);
}

int gate_plan_parse(const char *buf, size_t len, gate_plan **out, smx_err *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(buf, len, 0, &je);
    if (!root)
        return smx_fail(
            err, SMX_EFORMAT,
            "not JSON (line %d, column %d: %s); expected `terraform show -json PLANFILE` "
            "output",
            je.line, je.column, je.text);
    gate_plan *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(root);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    reader r = {p, NULL, err, NULL, NULL, 0};
    int rc = read_plan(&r, root);
    json_decref(root);
    for (size_t i = 0; i < r.n_buckets; i++) {
        free(r.bucket_addr[i]);
        free(r.bucket_name[i]);
    }
    free(r.bucket_addr);
    free(r.bucket_name);
    if (rc) {
        gate_plan_free(p);
        return rc;
    }
    *out = p;
    return SMX_OK;
}

void gate_plan_free(gate_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_containers; i++) {
        gate_plan_container *c = &p->containers[i];
        free(c->model_address);
        free(c->module_address);
        value_free(&c->model_name);
        free(c->actions);
        value_free(&c->image);
        value_free(&c->mode);
        value_free(&c->model_data_url);
        value_free(&c->s3_uri);
        value_free(&c->s3_data_type);
        value_free(&c->compression_type);
        for (size_t k = 0; k < c->n_env; k++)
            free(c->env[k]);
        free(c->env);
        for (size_t k = 0; k < c->n_data_refs; k++)
            free(c->data_refs[k]);
        free(c->data_refs);
        free(c->image_tag);
        free(c->image_tag_from);
    }
    free(p->containers);
    for (size_t i = 0; i < p->n_objects; i++) {
        gate_plan_object *o = &p->objects[i];
        free(o->address);
        free(o->module_address);
        free(o->actions);
        free(o->bucket_ref);
        gate_value *vals[] = {&o->bucket,         &o->key, &o->source, &o->content,
                              &o->content_base64, &o->etag};
        for (size_t k = 0; k < sizeof vals / sizeof *vals; k++)
            value_free(vals[k]);
        for (size_t k = 0; k < o->n_build_cmds; k++)
            free(o->build_cmds[k]);
        free(o->build_cmds);
    }
    free(p->objects);
    for (size_t i = 0; i < p->n_variants; i++) {
        gate_plan_variant *v = &p->variants[i];
        free(v->config_address);
        free(v->module_address);
        free(v->variant_name);
        value_free(&v->model_name);
        free(v->model_ref);
        free(v->instance_type);
    }
    free(p->variants);
    free(p->format_version);
    free(p->terraform_version);
    free(p);
}

const char *gate_plan_env(const gate_plan_container *c, const char *key)
{
    size_t kl = strlen(key);
    const char *v = NULL;
    for (size_t i = 0; i < c->n_env; i++)
        if (!strncmp(c->env[i], key, kl) && c->env[i][kl] == '=')
            v = c->env[i] + kl + 1;
    return v;
}

int gate_plan_variant_uses(const gate_plan_variant *v, const gate_plan_container *k)
{
    if (v->model_name.s && k->model_name.s && !strcmp(v->model_name.s, k->model_name.s))
        return 1;
    if (!v->model_ref)
        return 0;
    char *a = gate__strip_indexes(k->model_address);
    int same = a && !strcmp(a, v->model_ref);
    free(a);
    return same;
}
