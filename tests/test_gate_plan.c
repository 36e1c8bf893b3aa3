/*
 * gate's plan reader and plan check, called as a library. The reader on hand-written
 * `terraform show -json` fixtures (tests/data/plan): one model, a module, an A/B pair,
 * serverless, values unknown until apply, a pipeline with script mode and an uncompressed
 * source, planned_values only. The check (gate_plan_check) with S3URI=LOCAL mappings and a
 * launcher that runs the built `smxgb serve`: what a user would read in each model's case.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PLAN(name) SMXGB_TESTDATA "/plan/" name

static gate_plan *load(const char *path)
{
    size_t n;
    char *text = th_read(path, &n);
    gate_plan *p = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_plan_parse(text, n, &p, &err), SMX_OK, "%s: %s", path, err.msg);
    free(text);
    return p;
}

static const gate_plan_variant *variant(const gate_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_variants; i++)
        if (p->variants[i].variant_name && !strcmp(p->variants[i].variant_name, name))
            return &p->variants[i];
    cr_assert_fail("no variant %s", name);
    return NULL;
}

Test(plan_reader, one_model)
{
    gate_plan *p = load(PLAN("one_model.json"));
    cr_assert_str_eq(p->format_version, "1.2");
    cr_assert_eq(p->n_containers, 1);
    const gate_plan_container *c = &p->containers[0];
    cr_assert_str_eq(c->model_address, "aws_sagemaker_model.churn");
    cr_assert_str_eq(c->module_address, "");
    cr_assert_str_eq(c->block, "primary_container");
    cr_assert_str_eq(c->image.s,
                     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1");
    cr_assert_str_eq(c->model_data_url.s, "s3://acme-models/churn/model.tar.gz");
    cr_assert_str_eq(c->actions, "create");
    cr_assert_str_eq(gate_plan_env(c, "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"), "text/csv");
    cr_assert_not(c->has_data_source, "model_data_source is only marked computed");
    const gate_plan_variant *v = variant(p, "AllTraffic");
    cr_assert_eq(v->startup_timeout, 600);
    cr_assert_eq(v->download_timeout, 600);
    cr_assert_str_eq(v->model_name.s, "churn-xgb");
    cr_assert_not(v->serverless);
    gate_plan_free(p);
}

Test(plan_reader, module_joins_variant_through_configuration)
{
    gate_plan *p = load(PLAN("module.json"));
    cr_assert_eq(p->n_containers, 1);
    cr_assert_str_eq(p->containers[0].model_address, "module.ml.aws_sagemaker_model.xgb");
    cr_assert_str_eq(p->containers[0].module_address, "module.ml");
    cr_assert_eq(p->n_variants, 1);
    cr_assert(p->variants[0].model_name.unknown, "model_name is known only after apply");
    cr_assert_str_eq(p->variants[0].model_ref, "module.ml.aws_sagemaker_model.xgb");
    cr_assert_eq(p->variants[0].startup_timeout, 120);
    gate_plan_free(p);
}

Test(plan_reader, planned_values_only_walks_child_modules)
{
    gate_plan *p = load(PLAN("planned_values_only.json"));
    cr_assert_eq(p->n_containers, 1);
    cr_assert_str_eq(p->containers[0].model_address, "module.ml.aws_sagemaker_model.xgb");
    cr_assert_str_eq(p->containers[0].module_address, "module.ml");
    cr_assert_str_eq(p->containers[0].model_data_url.s,
                     "s3://acme-models/churn/2026-11-22/model.tar.gz");
    gate_plan_free(p);
}

Test(plan_reader, ab_pair)
{
    gate_plan *p = load(PLAN("ab_pair.json"));
    cr_assert_eq(p->n_containers, 2);
    cr_assert_eq(p->n_variants, 2);
    cr_assert_str_eq(variant(p, "A")->model_name.s, "churn-a");
    cr_assert_eq(variant(p, "B")->startup_timeout, 90);
    cr_assert(strstr(p->containers[1].image.s, ":1.5-1"));
    gate_plan_free(p);
}

Test(plan_reader, serverless)
{
    gate_plan *p = load(PLAN("serverless.json"));
    const gate_plan_variant *v = variant(p, "AllTraffic");
    cr_assert(v->serverless);
    cr_assert_eq(v->memory_size_mb, 2048);
    cr_assert_eq(v->max_concurrency, 5);
    cr_assert_eq(v->startup_timeout, -1, "not set");
    gate_plan_free(p);
}

Test(plan_reader, unknown_values)
{
    gate_plan *p = load(PLAN("unknown.json"));
    cr_assert_eq(p->n_containers, 1, "aws_s3_object is not a model");
    const gate_plan_container *c = &p->containers[0];
    cr_assert_null(c->model_data_url.s);
    cr_assert(c->model_data_url.unknown);
    cr_assert(c->model_name.unknown);
    cr_assert_not(c->image.unknown);
    cr_assert_str_eq(p->variants[0].model_ref, "aws_sagemaker_model.fresh");
    gate_plan_free(p);
}

Test(plan_reader, pipeline_with_uncompressed_source)
{
    gate_plan *p = load(PLAN("pipeline_script_uncompressed.json"));
    cr_assert_eq(p->n_containers, 2);
    cr_assert_str_eq(p->containers[0].block, "container");
    cr_assert_str_eq(gate_plan_env(&p->containers[0], "SAGEMAKER_PROGRAM"), "inference.py");
    const gate_plan_container *c = &p->containers[1];
    cr_assert_eq(c->index, 1);
    cr_assert(c->has_data_source);
    cr_assert_str_eq(c->s3_uri.s, "s3://acme-models/raw/xgboost-model");
    cr_assert_str_eq(c->compression_type.s, "None");
    cr_assert_str_eq(c->s3_data_type.s, "S3Object");
    gate_plan_free(p);
}

Test(plan_reader, deletes_are_skipped_and_bad_input_refused)
{
    const char *del =
        "{\"format_version\":\"1.2\",\"resource_changes\":[{\"address\":"
        "\"aws_sagemaker_model.old\",\"mode\":\"managed\",\"type\":"
        "\"aws_sagemaker_model\",\"change\":{\"actions\":[\"delete\"],\"after\":null}}]}";
    gate_plan *p = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_plan_parse(del, strlen(del), &p, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(p->n_containers, 0);
    gate_plan_free(p);
    const char *bad[] = {"",
                         "[]",
                         "{\"resource_changes\": []}",
                         "{\"format_version\":\"2.0\",\"resource_changes\":[]}",
                         "{\"format_version\":\"1.2\",\"resource_changes\":{}}",
                         ("{\"format_version\":\"1.2\",\"resource_changes\":[{\"address\":\"a.b\","
                          "\"type\":\"aws_sagemaker_model\"}]}")};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.msg[0] = '\0';
        cr_assert_eq(gate_plan_parse(bad[i], strlen(bad[i]), &p, &err), SMX_EFORMAT, "%s", bad[i]);
        cr_assert(err.msg[0], "says why: %s", bad[i]);
    }
}

/* Variants join containers by model name, or by a configuration reference with the resource's
 * indexes ignored (quoted keys may hold brackets). */
Test(plan_reader, variants_join_by_name_or_by_reference)
{
    gate_plan *p = load(PLAN("ab_pair.json"));
    const gate_plan_variant *a = variant(p, "A"), *b = variant(p, "B");
    cr_assert(gate_plan_variant_uses(a, &p->containers[0]));
    cr_assert_not(gate_plan_variant_uses(a, &p->containers[1]));
    cr_assert(gate_plan_variant_uses(b, &p->containers[1]));
    gate_plan_free(p);
    p = load(PLAN("module.json"));
    cr_assert(gate_plan_variant_uses(&p->variants[0], &p->containers[0]),
              "the model name is unknown until apply: joined through the configuration");
    gate_plan_free(p);

    gate_plan_variant v = {.model_ref = "aws_sagemaker_model.m"};
    gate_plan_container k = {.model_address = "aws_sagemaker_model.m[\"x]y\"]"};
    cr_assert(gate_plan_variant_uses(&v, &k), "an index with a bracket in its key");
    k.model_address = "aws_sagemaker_model.other[0]";
    cr_assert_not(gate_plan_variant_uses(&v, &k));
}

/* ---- uploads and the configuration ---------------------------------------------------------- */

static const gate_plan_object *object(const gate_plan *p, const char *address)
{
    for (size_t i = 0; i < p->n_objects; i++)
        if (!strcmp(p->objects[i].address, address))
            return &p->objects[i];
    cr_assert_fail("no upload %s", address);
    return NULL;
}

static int has_ref(const gate_plan_container *c, const char *ref)
{
    for (size_t i = 0; i < c->n_data_refs; i++)
        if (!strcmp(c->data_refs[i], ref))
            return 1;
    return 0;
}

Test(plan_reader, uploads_with_their_bucket_key_and_bytes)
{
    gate_plan *p = load(PLAN("upload_source.json"));
    cr_assert_eq(p->n_objects, 1);
    const gate_plan_object *o = object(p, "aws_s3_object.model");
    cr_assert_str_eq(o->type, "aws_s3_object");
    cr_assert_str_eq(o->actions, "create");
    cr_assert_str_eq(o->bucket.s, "acme-models");
    cr_assert_str_eq(o->key.s, "churn/model.tar.gz");
    cr_assert_str_eq(o->source.s, "build/model.tar.gz");
    cr_assert_null(o->content.s);
    cr_assert(o->etag.unknown, "etag is computed by the provider here");
    gate_plan_free(p);

    p = load(PLAN("upload_content.json"));
    cr_assert_eq(p->n_objects, 2);
    cr_assert_not_null(object(p, "aws_s3_object.model")->content_base64.s);
    cr_assert_str_eq(object(p, "aws_s3_object.notes")->content.s, "feature list: a, b, c\n");
    gate_plan_free(p);

    p = load(PLAN("upload_missing.json"));
    o = object(p, "aws_s3_object.model");
    cr_assert_eq(o->n_build_cmds, 1, "the module's local-exec build step");
    cr_assert_str_eq(o->build_cmds[0], "python3 train.py --out build/model.tar.gz");
    gate_plan_free(p);
}

Test(plan_reader, references_of_the_model_data_and_the_upload_bucket)
{
    gate_plan *p = load(PLAN("upload_interpolated.json"));
    const gate_plan_object *o = object(p, "aws_s3_bucket_object.model");
    cr_assert_str_eq(o->type, "aws_s3_bucket_object", "the older resource type");
    cr_assert(o->bucket.unknown && !o->bucket.s, "a bucket_prefix bucket: unknown until apply");
    cr_assert_str_eq(o->bucket_ref, "aws_s3_bucket.models");
    const gate_plan_container *c = &p->containers[0];
    cr_assert(c->model_data_url.unknown);
    cr_assert(has_ref(c, "aws_s3_bucket_object.model"), "the URL interpolates the upload");
    cr_assert_not(has_ref(c, "aws_s3_bucket_object.model.key"), "resources, not attributes");
    gate_plan_free(p);

    p = load(PLAN("upload_module_bucket.json"));
    o = object(p, "module.ml.aws_s3_object.model");
    cr_assert_str_eq(o->module_address, "module.ml");
    cr_assert_str_eq(o->bucket_ref, "module.ml.aws_s3_bucket.models", "module-qualified");
    cr_assert(has_ref(&p->containers[0], "module.ml.aws_s3_bucket.models"));
    gate_plan_free(p);
}

Test(plan_reader, an_unknown_bucket_is_resolved_through_the_bucket_it_refers_to)
{
    size_t n;
    char *text = th_read(PLAN("upload_interpolated.json"), &n);
    json_t *j = json_loadb(text, n, 0, NULL);
    free(text);
    /* the bucket's name is a literal: known at plan time although the object's copy is not */
    json_t *b = json_array_get(json_object_get(j, "resource_changes"), 0);
    json_t *after = json_object_get(json_object_get(b, "change"), "after");
    json_object_set_new(after, "bucket", json_string("acme-models"));
    json_object_del(json_object_get(json_object_get(b, "change"), "after_unknown"), "bucket");
    char *dump = json_dumps(j, 0);
    json_decref(j);
    gate_plan *p = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_plan_parse(dump, strlen(dump), &p, &err), SMX_OK, "%s", err.msg);
    free(dump);
    const gate_plan_object *o = object(p, "aws_s3_bucket_object.model");
    cr_assert_str_eq(o->bucket.s, "acme-models");
    cr_assert(o->bucket_via_ref);
    gate_plan_free(p);
}

Test(plan_reader, the_tag_of_a_digest_pinned_image_from_the_configuration)
{
    gate_plan *p = load(PLAN("digest_image.json"));
    cr_assert_eq(p->n_containers, 2);
    const gate_plan_container *pinned = &p->containers[0], *tagged = &p->containers[1];
    cr_assert_str_eq(pinned->model_address, "aws_sagemaker_model.pinned");
    cr_assert_null(pinned->image_tag, "var.xgboost_image names no tag");
    cr_assert_str_eq(tagged->image_tag, "1.5-1");
    cr_assert(strstr(tagged->image_tag_from, "data.aws_ecr_image.xgb"), "%s",
              tagged->image_tag_from);
    gate_plan_free(p);
}

Test(plan_reader, a_state_and_other_json_are_not_plans)
{
    size_t n;
    char *text = th_read(PLAN("state.json"), &n);
    gate_plan *p = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_plan_parse(text, n, &p, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "state") && strstr(err.msg, "terraform show -json tfplan"), "%s",
              err.msg);
    free(text);
    const char *other = "{\"format_version\": \"1.0\", \"name\": \"x\"}";
    cr_assert_eq(gate_plan_parse(other, strlen(other), &p, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "not a Terraform plan"), "%s", err.msg);
}

/* ---- the plan check ------------------------------------------------------------------------ */

static char *dir;
static void setup(void)
{
    dir = th_tmpdir();
    size_t n;
    char *m = th_model(&n);
    th_entry good[] = {{"xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "good.tar.gz"), "gzip", "pax", good, 1);
    th_entry nested[] = {{"model/", 'd', 0, NULL, 0, NULL},
                         {"model/xgboost-model", 'f', 0, m, n, NULL}};
    th_write_archive(th_path(dir, "nested.tar.gz"), "gzip", "pax", nested, 2);
    th_entry stray[] = {{"xgboost-model", 'f', 0, m, n, NULL},
                        {"notes.txt", 'f', 0, "feature list\n", 13, NULL}};
    th_write_archive(th_path(dir, "stray.tar.gz"), "gzip", "pax", stray, 2);
    mkdir(th_path(dir, "prefix"), 0755);
    th_write(th_path(dir, "prefix/xgboost-model"), m, n);
    free(m);
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}
TestSuite(gate_plan_check, .init = setup, .fini = teardown, .timeout = 120);

/* S3URI=LOCAL mappings into the fixture directory (static storage). */
static const char *const *mappings(size_t *n)
{
    static char m[5][1024];
    static const char *v[5];
    static const char *const uri[] = {
        "s3://acme-models/good/model.tar.gz", "s3://acme-models/nested/model.tar.gz",
        "s3://acme-models/stray/model.tar.gz", "s3://acme-models/churn/model.tar.gz",
        "s3://acme-models/churn/sl/model.tar.gz"};
    static const char *const file[] = {"good.tar.gz", "nested.tar.gz", "stray.tar.gz",
                                       "good.tar.gz", "good.tar.gz"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(m[i], sizeof m[i], "%s=%s/%s", uri[i], dir, file[i]);
        v[i] = m[i];
    }
    *n = 5;
    return v;
}

static gate_plan_check_opts mapped(int serve)
{
    gate_plan_check_opts o = {0};
    o.artifacts = mappings(&o.n_artifacts);
    o.check.no_serve = !serve;
    o.check.launch = th_serve_launch;
    o.check.interval = 0.2;
    return o;
}

static void run(gate_report *r, const char *plan, const gate_plan_check_opts *o)
{
    gate_plan *p = load(plan);
    smx_err err = {0};
    r->verb = "plan";
    r->file = plan;
    cr_assert_eq(gate_plan_check(r, p, o, &err), SMX_OK, "%s", err.msg);
    gate_plan_free(p);
}

static gate_case *case_named(const gate_report *r, const char *prefix)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strncmp(r->cases[i]->name, prefix, strlen(prefix)))
            return r->cases[i];
    cr_assert_fail("no case %s", prefix);
    return NULL;
}

static const gate_note *note(const gate_case *c, const char *code)
{
    for (size_t i = 0; i < c->n_notes; i++)
        if (!strcmp(c->notes[i].code, code))
            return &c->notes[i];
    return NULL;
}

static const char *notes_of(const gate_case *c)
{
    static char buf[8192];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_notes && len < sizeof buf - 1; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "[%s] %s: %s\n",
                                artifact_severity_name(c->notes[i].sev), c->notes[i].code,
                                c->notes[i].text);
    return buf;
}

Test(gate_plan_check, a_good_and_two_broken_models_name_both_broken_ones)
{
    gate_report r = {0};
    gate_plan_check_opts o = mapped(0);
    run(&r, PLAN("good_and_broken.json"), &o);
    cr_assert_eq(r.n, 3, "one case per model container");
    gate_case *good = case_named(&r, "aws_sagemaker_model.good primary_container[0]");
    gate_case *nested =
        case_named(&r, "module.team.aws_sagemaker_model.nested primary_container[0]");
    gate_case *stray = case_named(&r, "aws_sagemaker_model.stray primary_container[0]");
    cr_assert_str_eq(gate_case_status(good), "pass", "%s", notes_of(good));
    cr_assert_str_eq(gate_case_status(nested), "fail");
    cr_assert(note(nested, "layout-no-model"), "%s", notes_of(nested));
    cr_assert_str_eq(gate_case_status(stray), "fail");
    cr_assert(note(stray, "layout-multiple-models"), "%s", notes_of(stray));
    for (size_t i = 0; i < r.n; i++)
        cr_assert_str_eq(r.cases[i]->container, "1.7-1", "the version the image names");
    cr_assert(note(good, "artifact-mapped"), "%s", notes_of(good));
    smx_buf text = SMX_BUF_INIT;
    cr_assert_eq(gate_report_text(&r, &text), SMX_OK);
    const char *summary = strstr(text.data, "FAIL: 2 of 3");
    cr_assert(summary && strstr(summary, "nested") && strstr(summary, "stray") &&
                  !strstr(summary, "good"),
              "%s", text.data);
    smx_buf_free(&text);
    gate_report_free(&r);
}

Test(gate_plan_check, a_good_model_passes_its_health_check_in_the_endpoints_window)
{
    gate_report r = {0};
    gate_plan_check_opts o = mapped(1);
    run(&r, PLAN("one_model.json"), &o);
    gate_case *c = case_named(&r, "aws_sagemaker_model.churn");
    cr_assert_str_eq(gate_case_status(c), "pass", "%s", notes_of(c));
    const gate_note *w = note(c, "plan-startup-timeout");
    cr_assert(w && strstr(w->text, "600 s"), "the endpoint configuration's window: %s",
              notes_of(c));
    cr_assert(note(c, "probe-healthy"), "%s", notes_of(c));
    gate_report_free(&r);
}

Test(gate_plan_check, a_serverless_endpoint_is_probed_with_its_4_mb_limit)
{
    const char *row = "0.1,0.2,0.3,0.4,0.5,0.6\n";
    size_t rl = strlen(row), rows = 4500000 / rl + 1;
    char *big = malloc(rows * rl);
    for (size_t i = 0; i < rows; i++)
        memcpy(big + i * rl, row, rl);
    th_write(th_path(dir, "big.csv"), big, rows * rl);
    free(big);
    gate_report r = {0};
    gate_plan_check_opts o = mapped(1);
    o.check.sample = th_path(dir, "big.csv");
    o.check.content_type = "text/csv";
    run(&r, PLAN("serverless.json"), &o);
    gate_case *c = r.cases[0];
    const gate_note *n = note(c, "probe-unhealthy");
    cr_assert(n && strstr(n->text, "4000000"), "4.5 MB is over serverless' limit: %s", notes_of(c));
    gate_report_free(&r);
}

Test(gate_plan_check, values_known_only_after_apply_make_the_case_unknown_and_say_so)
{
    gate_report r = {0};
    gate_plan_check_opts o = mapped(0);
    run(&r, PLAN("unknown.json"), &o);
    gate_case *c = case_named(&r, "aws_sagemaker_model.fresh");
    cr_assert_str_eq(gate_case_status(c), "unknown", "not a pass: %s", notes_of(c));
    const gate_note *n = note(c, "plan-model-data");
    cr_assert(n && n->unknown && strstr(n->text, "known only after apply"), "%s", notes_of(c));
    cr_assert(n->hint && strstr(n->hint, "--artifact"), "what would settle it: %s", notes_of(c));
    cr_assert_not(gate_report_ok(&r), "the gate fails");
    r.allow_unknown = 1;
    cr_assert(gate_report_ok(&r), "unless the user accepts unknowns");
    smx_buf text = SMX_BUF_INIT;
    cr_assert_eq(gate_report_text(&r, &text), SMX_OK);
    cr_assert(strstr(text.data, "UNKNOWN  aws_sagemaker_model.fresh") &&
                  strstr(text.data, "allowed by --allow-unknown"),
              "%s", text.data);
    smx_buf_free(&text);
    gate_report_free(&r);
}

Test(gate_plan_check, an_unpublished_image_tag_fails_and_nothing_is_downloaded)
{
    gate_report r = {0};
    gate_plan_check_opts o = mapped(0);
    run(&r, PLAN("unpublished_tag.json"), &o);
    gate_case *c = r.cases[0];
    const gate_note *n = note(c, "plan-image-tag");
    cr_assert(n && n->sev == ARTIFACT_ERROR && strstr(n->text, "'1.7-2'"), "%s", notes_of(c));
    cr_assert(note(c, "artifact-not-checked"), "%s", notes_of(c));
    cr_assert_null(note(c, "artifact-unreadable"), "%s", notes_of(c));
    gate_report_free(&r);
}

Test(gate_plan_check, an_uncompressed_prefix_is_checked_as_the_model_directory)
{
    char map[1024];
    snprintf(map, sizeof map, "s3://acme-models/raw-prefix=%s", th_path(dir, "prefix"));
    const char *maps[] = {map};
    gate_report r = {0};
    gate_plan_check_opts o = {.artifacts = maps, .n_artifacts = 1, .check = {.no_serve = 1}};
    run(&r, PLAN("uncompressed_prefix.json"), &o);
    gate_case *c = r.cases[0];
    cr_assert_str_eq(gate_case_status(c), "pass", "%s", notes_of(c));
    const gate_note *n = note(c, "artifact-uncompressed");
    cr_assert(n && strstr(n->text, "the prefix's files"), "%s", notes_of(c));
    gate_report_free(&r);
}

Test(gate_plan_check, a_model_that_cannot_be_downloaded_is_an_io_error_with_a_way_out)
{
    gate_fetch_opts fo;
    gate_fetch_opts_default(&fo);
    fo.s3_endpoint = "http://127.0.0.1:1"; /* nothing listens there */
    fo.retries = 0;
    gate_report r = {0};
    gate_plan_check_opts o = {.check = {.no_serve = 1, .fetch = &fo}};
    run(&r, PLAN("one_model.json"), &o);
    gate_case *c = r.cases[0];
    cr_assert(c->io_error, "%s", notes_of(c));
    const gate_note *n = note(c, "artifact-unreadable");
    cr_assert(n && n->hint && strstr(n->hint, "--artifact S3URI=LOCAL"), "%s", notes_of(c));
    gate_report_free(&r);
}

/* ---- the plan's own upload ----------------------------------------------------------------- */

/* A copy of fixture plan with the after values of resource ADDRESS changed: key=value pairs
 * (value NULL: known only after apply), parsed. */
static gate_plan *load_edited(const char *plan, const char *address, const char *const *kv,
                              size_t n)
{
    size_t len;
    char *text = th_read(plan, &len);
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    size_t i;
    json_t *rc;
    json_array_foreach(json_object_get(j, "resource_changes"), i, rc)
    {
        if (strcmp(json_string_value(json_object_get(rc, "address")), address))
            continue;
        json_t *ch = json_object_get(rc, "change");
        for (size_t k = 0; k < n; k += 2) {
            json_t *unk = json_object_get(ch, "after_unknown");
            if (kv[k + 1])
                json_object_del(unk, kv[k]);
            else
                json_object_set_new(unk, kv[k], json_true());
            json_object_set_new(json_object_get(ch, "after"), kv[k],
                                kv[k + 1] ? json_string(kv[k + 1]) : json_null());
        }
    }
    char *dump = json_dumps(j, 0);
    json_decref(j);
    gate_plan *p = NULL;
    smx_err err = {0};
    cr_assert_eq(gate_plan_parse(dump, strlen(dump), &p, &err), SMX_OK, "%s", err.msg);
    free(dump);
    return p;
}

static void check_plan(gate_report *r, const gate_plan *p, const gate_plan_check_opts *o)
{
    smx_err err = {0};
    r->verb = "plan";
    cr_assert_eq(gate_plan_check(r, p, o, &err), SMX_OK, "%s", err.msg);
}

static void copy_to(const char *from, const char *rel)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname %s)\" && cp %s %s", th_path(dir, rel), from,
             th_path(dir, rel));
    cr_assert_eq(th_run(cmd, NULL), 0);
}

Test(gate_plan_check, the_upload_is_checked_relative_to_the_root_it_is_given)
{
    copy_to(th_path(dir, "nested.tar.gz"), "build/model.tar.gz");
    gate_plan *p = load(PLAN("upload_source.json"));
    gate_report r = {0};
    gate_plan_check_opts o = {.check = {.no_serve = 1}, .root = dir, .root_from = "--root"};
    check_plan(&r, p, &o);
    cr_assert_eq(r.n, 1);
    gate_case *c = r.cases[0];
    cr_assert_str_eq(gate_case_status(c), "fail", "%s", notes_of(c));
    cr_assert(note(c, "layout-no-model"), "%s", notes_of(c));
    const gate_note *u = note(c, "plan-upload");
    char used[4200];
    snprintf(used, sizeof used, "%s/build/model.tar.gz", dir);
    cr_assert(u && strstr(u->text, "aws_s3_object.model") && strstr(u->text, used) &&
                  strstr(u->text, "--root") && strstr(u->text, "by bucket and key"),
              "which upload, which file, how it was matched: %s", notes_of(c));
    gate_report_free(&r);

    /* a mapping of the same URI wins */
    char map[4200];
    snprintf(map, sizeof map, "s3://acme-models/churn/model.tar.gz=%s",
             th_path(dir, "good.tar.gz"));
    const char *maps[] = {map};
    o.artifacts = maps;
    o.n_artifacts = 1;
    gate_report r2 = {0};
    check_plan(&r2, p, &o);
    cr_assert_str_eq(gate_case_status(r2.cases[0]), "pass", "%s", notes_of(r2.cases[0]));
    cr_assert_eq(r2.n_notes, 0, "the mapping was used: no warning");
    gate_report_free(&r2);
    gate_plan_free(p);
}

Test(gate_plan_check, the_plans_etag_proves_the_file_is_the_one_planned)
{
    copy_to(th_path(dir, "good.tar.gz"), "build/model.tar.gz");
    size_t n;
    char *bytes = th_read(th_path(dir, "build/model.tar.gz"), &n);
    unsigned char d[16];
    EVP_Digest(bytes, n, d, NULL, EVP_md5(), NULL);
    free(bytes);
    char md5[33];
    for (int i = 0; i < 16; i++)
        snprintf(md5 + 2 * i, 3, "%02x", d[i]);
    const char *same[] = {"etag", md5};
    gate_plan *p = load_edited(PLAN("upload_source.json"), "aws_s3_object.model", same, 2);
    gate_plan_check_opts o = {.check = {.no_serve = 1}, .root = dir, .root_from = "--root"};
    gate_report r = {0};
    check_plan(&r, p, &o);
    cr_assert_str_eq(gate_case_status(r.cases[0]), "pass", "%s", notes_of(r.cases[0]));
    gate_report_free(&r);
    gate_plan_free(p);

    const char *other[] = {"etag", "0123456789abcdef0123456789abcdef"};
    p = load_edited(PLAN("upload_source.json"), "aws_s3_object.model", other, 2);
    gate_report r2 = {0};
    check_plan(&r2, p, &o);
    const gate_note *e = note(r2.cases[0], "plan-upload-changed");
    cr_assert(e && e->sev == ARTIFACT_ERROR && strstr(e->text, md5) &&
                  strstr(e->text, "0123456789abcdef0123456789abcdef"),
              "the file changed since terraform plan: %s", notes_of(r2.cases[0]));
    gate_report_free(&r2);
    gate_plan_free(p);
}

Test(gate_plan_check, bytes_in_the_plan_are_checked_from_a_scratch_file)
{
    /* content_base64 of a good model.tar.gz */
    size_t n;
    char *bytes = th_read(th_path(dir, "good.tar.gz"), &n);
    char *b64 = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)bytes, (int)n);
    free(bytes);
    const char *kv[] = {"content_base64", b64};
    gate_plan *p = load_edited(PLAN("upload_content.json"), "aws_s3_object.model", kv, 2);
    free(b64);
    gate_report r = {0};
    gate_plan_check_opts o = {.check = {.no_serve = 1}};
    check_plan(&r, p, &o);
    gate_case *churn = case_named(&r, "aws_sagemaker_model.churn");
    cr_assert_str_eq(gate_case_status(churn), "pass", "%s", notes_of(churn));
    const gate_note *u = note(churn, "plan-upload");
    cr_assert(u && strstr(u->text, "content_base64"), "%s", notes_of(churn));
    gate_case *notes = case_named(&r, "aws_sagemaker_model.notes");
    cr_assert_str_eq(gate_case_status(notes), "fail", "text is not a model.tar.gz: %s",
                     notes_of(notes));
    gate_report_free(&r);
    gate_plan_free(p);

    /* bytes known only after apply: unknown, never the object in S3 now */
    const char *unk[] = {"content_base64", NULL};
    p = load_edited(PLAN("upload_content.json"), "aws_s3_object.model", unk, 2);
    gate_report r2 = {0};
    check_plan(&r2, p, &o);
    churn = case_named(&r2, "aws_sagemaker_model.churn");
    cr_assert_str_eq(gate_case_status(churn), "unknown", "%s", notes_of(churn));
    gate_report_free(&r2);
    gate_plan_free(p);
}

Test(gate_plan_check, several_candidate_uploads_are_each_checked)
{
    copy_to(th_path(dir, "good.tar.gz"), "build/model.tar.gz");
    copy_to(th_path(dir, "stray.tar.gz"), "build/baseline.tar.gz");
    gate_plan *p = load(PLAN("upload_ambiguous.json"));
    gate_report r = {0};
    gate_plan_check_opts o = {.check = {.no_serve = 1}, .root = dir, .root_from = "--root"};
    check_plan(&r, p, &o);
    cr_assert_eq(r.n, 3, "the model, then one case per candidate upload");
    gate_case *c = r.cases[0];
    const gate_note *u = note(c, "plan-upload");
    cr_assert(u && strstr(u->text, "2 uploads could be"), "%s", notes_of(c));
    gate_case *model = case_named(&r, "aws_sagemaker_model.churn primary_container[0] upload "
                                      "aws_s3_object.model");
    gate_case *base = case_named(&r, "aws_sagemaker_model.churn primary_container[0] upload "
                                     "aws_s3_object.baseline");
    cr_assert_str_eq(gate_case_status(model), "pass", "%s", notes_of(model));
    cr_assert_str_eq(gate_case_status(base), "fail", "%s", notes_of(base));
    gate_report_free(&r);
    gate_plan_free(p);
}

Test(gate_plan_check, mappings_and_images_that_match_nothing_are_warnings_of_the_report)
{
    size_t n;
    const char *const *m = mappings(&n);
    const char *maps[6];
    for (size_t i = 0; i < n; i++)
        maps[i] = m[i];
    maps[n] = "s3://acme-models/good/modle.tar.gz=/nowhere";
    const char *images[] = {"123.dkr.ecr.us-east-1.amazonaws.com/x@sha256:00=1.7-1"};
    gate_plan_check_opts o = {.check = {.no_serve = 1},
                              .artifacts = maps,
                              .n_artifacts = n + 1,
                              .images = images,
                              .n_images = 1};
    gate_report r = {0};
    run(&r, PLAN("good_and_broken.json"), &o);
    int artifact = 0, image = 0;
    for (size_t i = 0; i < r.n_notes; i++) {
        cr_assert_eq(r.notes[i].sev, ARTIFACT_WARNING);
        artifact |= !strcmp(r.notes[i].code, "plan-artifact-unused") &&
                    strstr(r.notes[i].text, "s3://acme-models/good/modle.tar.gz");
        image |= !strcmp(r.notes[i].code, "plan-image-unused");
    }
    cr_assert(artifact && image, "%zu notes", r.n_notes);
    gate_report_free(&r);

    gate_report none = {0};
    gate_plan_check_opts plain = {.check = {.no_serve = 1}};
    run(&none, PLAN("no_models.json"), &plain);
    cr_assert_eq(none.n, 0);
    cr_assert(none.n_notes == 1 && strstr(none.notes[0].text, "nothing to check"));
    gate_report_free(&none);
}

Test(gate_plan_check, an_image_pinned_by_digest_takes_the_container_it_is_given)
{
    char map1[1024], map2[1024];
    snprintf(map1, sizeof map1, "s3://acme-models/pinned/model.tar.gz=%s",
             th_path(dir, "good.tar.gz"));
    snprintf(map2, sizeof map2, "s3://acme-models/tagged/model.tar.gz=%s",
             th_path(dir, "good.tar.gz"));
    const char *maps[] = {map1, map2};
    gate_plan_check_opts o = {.check = {.no_serve = 1}, .artifacts = maps, .n_artifacts = 2};
    gate_report r = {0};
    run(&r, PLAN("digest_image.json"), &o);
    gate_case *pinned = case_named(&r, "aws_sagemaker_model.pinned");
    cr_assert_str_eq(gate_case_status(pinned), "unknown", "%s", notes_of(pinned));
    const gate_note *d = note(pinned, "plan-image-digest");
    cr_assert(d && d->unknown && d->hint && strstr(d->hint, "--image"), "%s", notes_of(pinned));
    gate_case *tagged = case_named(&r, "aws_sagemaker_model.tagged");
    cr_assert_str_eq(tagged->container, "1.5-1");
    cr_assert_str_eq(gate_case_status(tagged), "pass", "%s", notes_of(tagged));
    gate_report_free(&r);

    const char *images[] = {"683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:"
                            "3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a="
                            "1.7-1"};
    o.images = images;
    o.n_images = 1;
    gate_report r2 = {0};
    run(&r2, PLAN("digest_image.json"), &o);
    pinned = case_named(&r2, "aws_sagemaker_model.pinned");
    cr_assert_str_eq(pinned->container, "1.7-1");
    cr_assert_str_eq(gate_case_status(pinned), "pass", "%s", notes_of(pinned));
    d = note(pinned, "plan-image-digest");
    cr_assert(d && !d->unknown && strstr(d->text, "--image"), "%s", notes_of(pinned));
    tagged = case_named(&r2, "aws_sagemaker_model.tagged");
    cr_assert_str_eq(tagged->container, "1.7-1", "--image wins over the configuration");
    gate_report_free(&r2);
}
