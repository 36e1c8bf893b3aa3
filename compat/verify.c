/*
 * verify: an artifact against the container versions that could serve it.
 *
 * One streaming scan of the archive (artifacts/scan.c), the container-independent findings
 * (artifact_check_archive), then for every selected container its own listing of the model
 * directory (artifact_check_layout with that version's rules from the table). A finding that
 * several containers share is reported once with the set of containers it applies to, so the
 * report reads "for 0.90-1, 0.90-2, 1.0-1: ..." rather than the same sentence eleven times.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

const char *compat_env_get(const char *const *env, size_t n, const char *key)
{
    size_t kl = strlen(key);
    const char *v = NULL;
    for (size_t i = 0; i < n; i++)
        if (!strncmp(env[i], key, kl) && env[i][kl] == '=')
            v = env[i] + kl + 1;
    return v;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Move f into the report, merging with an identical finding from another container. */
static int merge(compat_report *r, size_t *cap, artifact_finding *f, uint64_t mask)
{
    for (size_t i = 0; i < r->n_findings; i++) {
        artifact_finding *g = &r->findings[i].f;
        if (r->findings[i].containers && mask && !strcmp(g->code, f->code) &&
            g->severity == f->severity && same_str(g->entry, f->entry) &&
            same_str(g->message, f->message)) {
            r->findings[i].containers |= mask;
            free(f->message);
            free(f->hint);
            free(f->entry);
            return SMX_OK;
        }
    }
    if (r->n_findings == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        compat_finding *v = realloc(r->findings, nc * sizeof *v);
        if (!v)
            return SMX_ENOMEM;
        r->findings = v;
        *cap = nc;
    }
    r->findings[r->n_findings].f = *f;
    r->findings[r->n_findings].containers = mask;
    r->n_findings++;
    if (f->severity == ARTIFACT_ERROR)
        r->n_errors++;
    else if (f->severity == ARTIFACT_WARNING)
        r->n_warnings++;
    return SMX_OK;
}

void compat_report_free(compat_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_findings; i++) {
        free(r->findings[i].f.message);
        free(r->findings[i].f.hint);
        free(r->findings[i].f.entry);
    }
    free(r->findings);
    for (size_t i = 0; i < r->n_results; i++)
        free(r->results[i].loads);
    free(r->results);
    artifact_scan_free(r->scan);
    free(r);
}

int compat_verify(const char *path, const compat_verify_opts *o, compat_report **out, smx_err *err)
{
    *out = NULL;
    const compat_container *table;
    size_t nt;
    int rc = compat_containers(&table, &nt, err);
    if (rc)
        return rc;
    compat_report *r = calloc(1, sizeof *r);
    if (!r)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    size_t nsel = o->n_containers ? o->n_containers : nt;
    if (nsel > 64) {
        free(r);
        return smx_fail(err, SMX_EINVAL, "at most 64 containers at a time");
    }
    r->results = calloc(nsel, sizeof *r->results);
    if (!r->results) {
        free(r);
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nsel; i++) {
        const compat_container *c = o->n_containers ? compat_container_find(o->containers[i]) : &table[i];
        if (!c) {
            smx_buf tags = SMX_BUF_INIT;
            for (size_t k = 0; k < nt; k++)
                smx_buf_printf(&tags, "%s%s", k ? ", " : "", table[k].tag);
            rc = smx_fail(err, SMX_EINVAL, "unknown container '%s' (known: %s)", o->containers[i],
                          tags.data ? tags.data : "");
            smx_buf_free(&tags);
            compat_report_free(r);
            return rc;
        }
        r->results[i].c = c;
    }
    r->n_results = nsel;

    rc = artifact_scan_file(path, &o->limits, NULL, &r->scan, err);
    if (rc) {
        compat_report_free(r);
        return rc;
    }
    size_t cap = 0;
    artifact_findings af = {0};
    if ((rc = artifact_check_archive(r->scan, &af)))
        goto nomem;
    for (size_t i = 0; i < af.n; i++)
        if ((rc = merge(r, &cap, &af.v[i], 0)))
            goto nomem;
    free(af.v);
    memset(&af, 0, sizeof af);

    size_t archive_errors = r->n_errors;
    const char *ens = compat_env_get(o->env, o->n_env, "SAGEMAKER_INFERENCE_ENSEMBLE");
    for (size_t i = 0; i < nsel; i++) {
        compat_result *res = &r->results[i];
        res->rules = compat_layout_rules(res->c, ens);
        res->layout_errors = (int)archive_errors;
        res->loads = malloc((r->scan->n_entries + 1) * sizeof *res->loads);
        if (!res->loads)
            goto nomem;
        if ((rc = artifact_check_layout(r->scan, &res->rules, &af, res->loads, &res->n_loads)))
            goto nomem;
        for (size_t k = 0; k < af.n; k++) {
            if (af.v[k].severity == ARTIFACT_ERROR)
                res->layout_errors++;
            if ((rc = merge(r, &cap, &af.v[k], 1ull << i)))
                goto nomem;
        }
        free(af.v);
        memset(&af, 0, sizeof af);
    }
    *out = r;
    return SMX_OK;
nomem:
    artifact_findings_free(&af);
    compat_report_free(r);
    return smx_fail(err, SMX_ENOMEM, "out of memory");
}
