/*
 * The `configuration` section of `terraform show -json PLANFILE` output: each resource's
 * expressions as written, before evaluation. The plan reader turns to it for what the planned
 * values cannot say: which resources a value known only after apply is built from (its
 * references), and literals of other resources (a data source's image_tag, a local-exec
 * command).
 *
 * Configuration addresses are module-local and carry no instance keys: module.ml["a"]'s
 * aws_s3_object.model[0] is "aws_s3_object.model" in the configuration of module call "ml".
 * References are strings Terraform unwraps step by step and lists all of
 * ("aws_s3_object.model.key", "aws_s3_object.model", "aws_s3_object.model[0]", "var.x",
 * "count.index", "data.aws_ecr_image.x.image_uri"); only equality of strings is promised, so
 * they are reduced here to the resource they name and compared as such.
 */
#include "gate_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *gate__strip_indexes(const char *s)
{
    char *o = malloc(strlen(s) + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    int depth = 0, quoted = 0;
    for (const char *p = s; *p; p++) {
        if (quoted) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                quoted = 0;
            continue;
        }
        if (*p == '"' && depth) {
            quoted = 1;
            continue;
        }
        if (*p == '[') {
            depth++;
            continue;
        }
        if (*p == ']') {
            if (depth)
                depth--;
            continue;
        }
        if (!depth)
            o[j++] = *p;
    }
    o[j] = '\0';
    return o;
}

json_t *gate__config_module(json_t *root, const char *module)
{
    json_t *m = root;
    char *clean = gate__strip_indexes(module);
    if (!clean)
        return NULL;
    char *save = NULL;
    int expect_name = 0;
    for (char *t = strtok_r(clean, ".", &save); t && m; t = strtok_r(NULL, ".", &save)) {
        if (!expect_name && !strcmp(t, "module")) {
            expect_name = 1;
            continue;
        }
        m = json_object_get(json_object_get(json_object_get(m, "module_calls"), t), "module");
        expect_name = 0;
    }
    free(clean);
    return m;
}

json_t *gate__config_resource(json_t *root, const char *module, const char *address)
{
    json_t *m = root ? gate__config_module(root, module) : NULL;
    char *clean = m ? gate__strip_indexes(address) : NULL;
    char *mclean = clean ? gate__strip_indexes(module) : NULL;
    json_t *found = NULL;
    if (mclean) {
        size_t ml = strlen(mclean);
        const char *local = clean;
        if (ml && !strncmp(clean, mclean, ml) && clean[ml] == '.')
            local = clean + ml + 1;
        size_t i;
        json_t *res;
        json_array_foreach(json_object_get(m, "resources"), i, res)
        {
            const char *a = json_string_value(json_object_get(res, "address"));
            if (a && !strcmp(a, local)) {
                found = res;
                break;
            }
        }
    }
    free(clean);
    free(mclean);
    return found;
}

const char *gate__config_string(json_t *expr)
{
    return json_string_value(json_object_get(expr, "constant_value"));
}

/* The resource a reference names ("data.aws_ecr_image.x", "aws_s3_object.model"), written
 * into out; 0 for references to anything else (variables, locals, count, modules...). */
static int ref_resource(const char *ref, char *out, size_t n)
{
    static const char *const other[] = {"var",  "local",     "path",   "count", "each",
                                        "self", "terraform", "module", NULL};
    char *clean = gate__strip_indexes(ref);
    if (!clean)
        return 0;
    char *parts[3] = {NULL, NULL, NULL};
    char *save = NULL;
    size_t k = 0;
    for (char *t = strtok_r(clean, ".", &save); t && k < 3; t = strtok_r(NULL, ".", &save))
        parts[k++] = t;
    int ok = 0;
    if (k >= 2) {
        for (size_t i = 0; other[i]; i++)
            if (!strcmp(parts[0], other[i]))
                k = 0;
        if (k && !strcmp(parts[0], "data"))
            ok = k == 3 && snprintf(out, n, "data.%s.%s", parts[1], parts[2]) < (int)n;
        else if (k)
            ok = snprintf(out, n, "%s.%s", parts[0], parts[1]) < (int)n;
    }
    free(clean);
    return ok;
}

int gate__config_refs(json_t *expr, const char *module, char ***refs, size_t *n, smx_err *err)
{
    size_t i;
    json_t *r;
    char *mclean = gate__strip_indexes(module);
    if (!mclean)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    int rc = SMX_OK;
    json_array_foreach(json_object_get(expr, "references"), i, r)
    {
        char local[512], *full = NULL;
        const char *s = json_string_value(r);
        if (!s || !ref_resource(s, local, sizeof local))
            continue;
        if (asprintf(&full, "%s%s%s", mclean, *mclean ? "." : "", local) < 0) {
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            break;
        }
        int seen = 0;
        for (size_t k = 0; k < *n && !seen; k++)
            seen = !strcmp((*refs)[k], full);
        char **v = seen ? NULL : realloc(*refs, (*n + 1) * sizeof *v);
        if (!seen && !v) {
            free(full);
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
            break;
        }
        if (seen) {
            free(full);
            continue;
        }
        *refs = v;
        (*refs)[(*n)++] = full;
    }
    free(mclean);
    return rc;
}
