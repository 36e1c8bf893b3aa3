/*
 * What the readers find in the objectives and forms of tests/data/models/synth/forms (made by
 * forms.py, listed in forms.csv): the facts the load rules decide on beyond format and writer
 * (the objective's configuration, 3.3+ DART weights in a gbtree, base_score, num_target), and
 * the problems they report in a model that is too large to be one.
 */
#include "compat/compat.h"
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(model_forms, .timeout = 120);

/* The facts the rules need, as the readers find them in each form (forms.csv). */
Test(model_forms, the_readers_find_the_facts_the_rules_need)
{
    char *csv = th_read(SMXGB_TESTDATA "/models/synth/forms/forms.csv", NULL);
    cr_assert_not_null(csv);
    char *save = NULL;
    size_t files = 0;
    strtok_r(csv, "\n", &save); /* header */
    for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        /* file,format,payload,writer_min,writer_max,objective,booster,obj_params,base_score,
         * dart_gbtree,num_target (base_score may be quoted: it holds commas) */
        char *f[11] = {0};
        size_t n = 0;
        for (char *p = line; p && n < 11;) {
            if (*p == '"') {
                f[n++] = ++p;
                p = strchr(p, '"');
                *p++ = '\0';
                p = *p == ',' ? p + 1 : NULL;
            } else {
                f[n++] = p;
                char *c = strchr(p, ',');
                if (c)
                    *c++ = '\0';
                p = c;
            }
        }
        cr_assert_eq(n, 11, "forms.csv: %s", line);
        char path[4096];
        snprintf(path, sizeof path, "%s/models/synth/forms/%s", SMXGB_TESTDATA, f[0]);
        size_t len;
        char *b = th_read(path, &len);
        compat_model_info *m;
        smx_err err = {0};
        cr_assert_eq(compat_identify(b, len, f[0], &m, &err), SMX_OK, "%s", err.msg);
        cr_assert_not(m->corrupt, "%s: %s", f[0], m->problem);
        cr_assert_str_eq(compat_format_name(m->format), f[1], "%s", f[0]);
        cr_assert_str_eq(compat_payload_name(m->payload), f[2], "%s", f[0]);
        cr_assert_str_eq(m->objective, f[5], "%s", f[0]);
        cr_assert_str_eq(m->booster, f[6], "%s", f[0]);
        if (!strcmp(f[7], "-")) {
            cr_assert_eq(m->objective_config, COMPAT_OBJCFG_NONE, "%s: no objective config", f[0]);
        } else if (strcmp(f[2], "snap_cfgoff") && strcmp(f[2], "snap_json") &&
                   strcmp(f[2], "snap_ubj")) {
            cr_assert_eq(m->objective_config, COMPAT_OBJCFG_READ, "%s: objective config read",
                         f[0]);
            smx_buf keys = SMX_BUF_INIT;
            for (size_t k = 0; k < m->n_objective_params; k++)
                smx_buf_printf(&keys, "%s%s", k ? " " : "", m->objective_params[k]);
            cr_assert_str_eq(keys.data ? keys.data : "", f[7], "%s: objective params", f[0]);
            smx_buf_free(&keys);
        }
        if (*f[8])
            cr_assert_str_eq(m->base_score, f[8], "%s: base_score", f[0]);
        cr_assert_eq(m->dart_weights_in_gbtree, atoi(f[9]), "%s: DART weights in gbtree", f[0]);
        if (*f[9] == '1')
            cr_assert_not_null(m->tree_weights, "%s: the reference predictor gets them", f[0]);
        if (*f[10])
            cr_assert_eq(m->num_target, atoi(f[10]), "%s: num_target", f[0]);
        compat_model_info_free(m);
        free(b);
        files++;
    }
    free(csv);
    cr_assert_geq(files, 50, "%zu forms", files);
}

/* A tree that claims more nodes than smxgb reads (a JSON model with num_nodes = 300000000) is
 * reported as over the limit, not as "expected tree_param.num_nodes >= 1". */
Test(model_forms, a_tree_over_the_node_limit_says_so)
{
    json_error_t je;
    json_t *j = json_load_file(SMXGB_TESTDATA "/models/1.7.4/binary_logistic.json", 0, &je);
    cr_assert_not_null(j, "%s", je.text);
    json_t *t0 = json_array_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(j, "learner"), "gradient_booster"),
                            "model"),
            "trees"),
        0);
    json_object_set_new(json_object_get(t0, "tree_param"), "num_nodes", json_string("300000000"));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    compat_model_info *m;
    smx_err err = {0};
    cr_assert_eq(compat_identify(text, strlen(text), "xgboost-model", &m, &err), SMX_OK);
    cr_assert(m->corrupt);
    cr_assert(strstr(m->problem, "num_nodes = 300000000 is over the limit of 268435456 nodes"),
              "%s", m->problem);
    cr_assert_null(strstr(m->problem, ">= 1"), "%s", m->problem);
    compat_model_info_free(m);

    /* verify names it too */
    char *dir = th_tmpdir();
    th_entry e[] = {{"xgboost-model", 'f', 0, text, strlen(text), NULL}};
    th_write_archive(th_path(dir, "n.tar.gz"), "gzip", "ustar", e, 1);
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "verify -c 1.7-1 '%s'", th_path(dir, "n.tar.gz")), 1);
    cr_assert(strstr(out, "CORRUPT") && strstr(out, "over the limit"), "%s", out);
    free(out);
    free(text);
    th_rmrf(dir);
    free(dir);
}
