/*
 * `smxgb plan` end to end on hand-written `terraform show -json` fixtures (tests/data/plan) with
 * --artifact mappings: one good and two broken models, modules, an A/B pair, serverless, values
 * unknown until apply, non-XGBoost and legacy images, script mode and uncompressed sources, and
 * the CI outputs (JSON, JUnit, GitHub Actions annotations). The reader itself is tested in
 * test_gate_plan.c.
 */
#include "helpers.h"
#include "th_server.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PLAN(name) SMXGB_TESTDATA "/plan/" name

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
    th_write(th_path(dir, "raw-model"), m, n);
    free(m);
}
static void teardown(void)
{
    th_rmrf(dir);
    free(dir);
}

#define MAP_GOOD_AND_BROKEN                                                                        \
    "--artifact s3://acme-models/good/model.tar.gz=%s/good.tar.gz "                                \
    "--artifact s3://acme-models/nested/model.tar.gz=%s/nested.tar.gz "                            \
    "--artifact s3://acme-models/stray/model.tar.gz=%s/stray.tar.gz"

Test(plan_cli, one_good_two_broken_exits_1_naming_both, .init = setup, .fini = teardown)
{
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s --no-serve " MAP_GOOD_AND_BROKEN " 2>&1",
                      PLAN("good_and_broken.json"), dir, dir, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "PASS  aws_sagemaker_model.good"), "%s", out);
    cr_assert(strstr(out, "FAIL  module.team.aws_sagemaker_model.nested"), "%s", out);
    cr_assert(strstr(out, "FAIL  aws_sagemaker_model.stray"), "%s", out);
    cr_assert(strstr(out, "layout-no-model"), "the reason for the nested one: %s", out);
    cr_assert(strstr(out, "layout-multiple-models"), "the reason for the stray one: %s", out);
    const char *summary = strstr(out, "FAIL: 2 of 3 cases have errors:");
    cr_assert_not_null(summary, "%s", out);
    cr_assert(strstr(summary, "nested") && strstr(summary, "stray") && !strstr(summary, "good"),
              "the summary names both broken models: %s", summary);
    free(out);

    /* JSON: one case per model container, with the reasons */
    rc = th_smxgb(&out, "plan %s --no-serve --json " MAP_GOOD_AND_BROKEN,
                  PLAN("good_and_broken.json"), dir, dir, dir);
    cr_assert_eq(rc, 1);
    json_t *j = th_json(out);
    cr_assert(json_is_false(json_object_get(j, "ok")));
    json_t *cases = json_object_get(j, "cases");
    cr_assert_eq(json_array_size(cases), 3);
    size_t i;
    json_t *c;
    int failed = 0;
    json_array_foreach(cases, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *st = json_string_value(json_object_get(c, "status"));
        cr_assert_str_eq(json_string_value(json_object_get(c, "container")), "1.7-1");
        if (strstr(name, "good"))
            cr_assert_str_eq(st, "pass", "%s", name);
        else {
            cr_assert_str_eq(st, "fail", "%s", name);
            failed++;
        }
    }
    cr_assert_eq(failed, 2);
    json_decref(j);
    free(out);
}

Test(plan_cli, junit_and_github_annotations, .init = setup, .fini = teardown)
{
    char *out = NULL;
    const char *junit = th_path(dir, "report.xml");
    int rc = th_smxgb(&out, "plan %s --no-serve --junit %s " MAP_GOOD_AND_BROKEN,
                      PLAN("good_and_broken.json"), junit, dir, dir, dir);
    cr_assert_eq(rc, 1, "%s", out);
    free(out);
    char *xml = th_read(junit, NULL);
    cr_assert(strstr(xml, "<testsuites name=\"smxgb plan\" tests=\"3\" failures=\"2\""), "%s", xml);
    cr_assert(strstr(xml, "name=\"aws_sagemaker_model.good primary_container[0] [1.7-1]\""), "%s",
              xml);
    cr_assert(strstr(xml, "<failure type=\"layout-no-model\""), "%s", xml);
    cr_assert(strstr(xml, "<failure type=\"layout-multiple-models\""), "%s", xml);
    free(xml);
    /* the XML parses (python3's parser is strict about escaping) */
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys,xml.dom.minidom as m; m.parse(sys.argv[1])' %s", junit);
    cr_assert_eq(th_run(cmd, NULL), 0, "JUnit XML is well-formed");

    rc = th_smxgb(&out, "plan %s --no-serve " MAP_GOOD_AND_BROKEN " 2>&1 | grep '^::'",
                  PLAN("good_and_broken.json"), dir, dir, dir);
    cr_assert_neq(rc, 0, "no annotations outside GitHub Actions: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "GITHUB_ACTIONS=true %s plan %s --no-serve " MAP_GOOD_AND_BROKEN " | grep '^::error'",
             SMXGB_BIN, PLAN("good_and_broken.json"), dir, dir, dir);
    cr_assert_eq(th_run(cmd, &out), 0);
    cr_assert(strstr(out, "::error file=" SMXGB_TESTDATA "/plan/good_and_broken.json,title=smxgb "
                          "layout-no-model module.team.aws_sagemaker_model.nested"),
              "%s", out);
    cr_assert(strstr(out, "layout-multiple-models"), "%s", out);
    cr_assert_null(strstr(out, "aws_sagemaker_model.good"), "no annotation for the good one: %s",
                   out);
    free(out);
}

Test(plan_cli, unknown_values_and_other_images_are_reported, .init = setup, .fini = teardown)
{
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s --no-serve", PLAN("unknown.json"));
    cr_assert_eq(rc, 1, "unknown until apply is not ok: %s", out);
    cr_assert(strstr(out, "UNKNOWN  aws_sagemaker_model.fresh"), "%s", out);
    cr_assert(strstr(out, "known only after apply"), "%s", out);
    free(out);
    rc = th_smxgb(&out, "plan %s --no-serve --allow-unknown", PLAN("unknown.json"));
    cr_assert_eq(rc, 0, "unless the user opts out: %s", out);
    cr_assert(strstr(out, "UNKNOWN  aws_sagemaker_model.fresh"), "%s", out);
    cr_assert(strstr(out, "allowed by --allow-unknown"), "%s", out);
    free(out);
    rc = th_smxgb(&out, "plan %s --no-serve", PLAN("non_xgboost.json"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "SKIP  aws_sagemaker_model.torch"), "%s", out);
    cr_assert(strstr(out, "not a SageMaker XGBoost image"), "%s", out);
    cr_assert(strstr(out, "plan-image-legacy"), "%s", out);
    free(out);
}

Test(plan_cli, module_ab_serverless_and_pipeline, .init = setup, .fini = teardown)
{
    char *out = NULL;
    int rc = th_smxgb(&out,
                      "plan %s --no-serve --artifact "
                      "s3://acme-models/churn/2026-11-22/model.tar.gz=%s/good.tar.gz",
                      PLAN("module.json"), dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "window is 120 s"), "the module's endpoint config is joined: %s", out);
    free(out);

    rc = th_smxgb(
        &out,
        "plan %s --no-serve --artifact s3://acme-models/churn/a/model.tar.gz=%s/good.tar.gz "
        "--artifact s3://acme-models/churn/b/model.tar.gz=%s/stray.tar.gz",
        PLAN("ab_pair.json"), dir, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "PASS  aws_sagemaker_model.a primary_container[0]  [container 1.7-1]"),
              "%s", out);
    cr_assert(strstr(out, "FAIL  aws_sagemaker_model.b primary_container[0]  [container 1.5-1]"),
              "%s", out);
    free(out);

    rc = th_smxgb(
        &out, "plan %s --no-serve --artifact s3://acme-models/churn/sl/model.tar.gz=%s/good.tar.gz",
        PLAN("serverless.json"), dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "4 MB"), "%s", out);
    free(out);
    rc = th_smxgb(
        &out, "plan %s --no-serve --artifact s3://acme-models/churn/sl/model.tar.gz=%s/good.tar.gz",
        PLAN("serverless_bad_memory.json"), dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "plan-serverless-memory"), "%s", out);
    free(out);

    rc =
        th_smxgb(&out,
                 "plan %s --no-serve --artifact s3://acme-models/pipe/model.tar.gz=%s/stray.tar.gz "
                 "--artifact s3://acme-models/raw/xgboost-model=%s/raw-model",
                 PLAN("pipeline_script_uncompressed.json"), dir, dir);
    cr_assert_eq(rc, 0, "script mode does not count layout errors; the raw file is one model: %s",
                 out);
    cr_assert(strstr(out, "script mode"), "%s", out);
    cr_assert(strstr(out, "xgboost-model in /opt/ml/model"), "%s", out);
    free(out);
}

Test(plan_cli, unreadable_inputs_exit_2, .init = setup, .fini = teardown)
{
    char *out = NULL;
    cr_assert_eq(th_smxgb(&out, "plan %s/missing.json 2>&1", dir), 2);
    free(out);
    th_write(th_path(dir, "state.json"), "{\"values\": 1}", 13);
    cr_assert_eq(th_smxgb(&out, "plan %s 2>&1", th_path(dir, "state.json")), 2, "%s", out);
    cr_assert(strstr(out, "format_version"), "%s", out);
    free(out);
    cr_assert_eq(th_smxgb(&out,
                          "plan %s --no-serve --artifact "
                          "s3://acme-models/good/model.tar.gz=%s/absent.tar.gz 2>&1",
                          PLAN("one_model.json"), dir),
                 2, "a mapping that does not point at a file");
    free(out);
}

/* The `smxgb plan` command lines of the README's CI jobs, with the binary under test. */
static size_t readme_commands(char cmds[][1024], size_t max)
{
    char *readme = th_read(SMXGB_SOURCE_DIR "/README.md", NULL);
    const char *needle = "/opt/smxgb/build/tools/smxgb plan ";
    size_t n = 0;
    for (const char *p = strstr(readme, needle); p && n < max; p = strstr(p + 1, needle)) {
        const char *args = p + strlen("/opt/smxgb/build/tools/smxgb");
        size_t len = strcspn(args, "\n");
        snprintf(cmds[n++], 1024, "%s%.*s", SMXGB_BIN, (int)len, args);
    }
    free(readme);
    return n;
}

Test(plan_cli, readme_ci_jobs_without_terraform, .init = setup, .fini = teardown)
{
    char cmds[4][1024];
    size_t n = readme_commands(cmds, 4);
    cr_assert_eq(n, 2, "a GitHub Actions and a GitLab CI job");
    for (size_t i = 0; i < n; i++) {
        /* `terraform show -json tfplan > plan.json` stands here as a fixture */
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "cd %s && cp %s plan.json && rm -f smxgb.xml && %s", dir,
                 PLAN("non_xgboost.json"), cmds[i]);
        char *out = NULL;
        cr_assert_eq(th_run(cmd, &out), 0, "%s: %s", cmds[i], out);
        free(out);
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import sys,xml.dom.minidom as m; "
                 "d=m.parse(sys.argv[1]); print(len(d.getElementsByTagName(\"testcase\")))' %s",
                 th_path(dir, "smxgb.xml"));
        cr_assert_eq(th_run(cmd, &out), 0, "the job's JUnit report is written and parses");
        cr_assert_str_eq(out, "2\n", "one testcase per model container");
        free(out);
    }
}

Test(plan_cli, uncompressed_prefix_mapped_to_a_directory, .init = setup, .fini = teardown)
{
    mkdir(th_path(dir, "prefix"), 0755);
    size_t n;
    char *m = th_model(&n);
    th_write(th_path(dir, "prefix/xgboost-model"), m, n);
    free(m);
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s --no-serve --artifact s3://acme-models/raw-prefix=%s",
                      PLAN("uncompressed_prefix.json"), th_path(dir, "prefix"));
    cr_assert_eq(rc, 0, "a prefix mapping may omit its trailing '/': %s", out);
    cr_assert(strstr(out, "the prefix's files"), "%s", out);
    free(out);
    th_write(th_path(dir, "prefix/notes.txt"), "hello\n", 6);
    rc = th_smxgb(&out, "plan %s --no-serve --artifact s3://acme-models/raw-prefix/=%s",
                  PLAN("uncompressed_prefix.json"), th_path(dir, "prefix"));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "layout-multiple-models"), "%s", out);
    free(out);
}

Test(plan_cli, unpublished_image_tag_is_an_error)
{
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s --no-serve", PLAN("unpublished_tag.json"));
    cr_assert_eq(rc, 1, "an image that cannot be pulled fails the endpoint: %s", out);
    cr_assert(strstr(out, "plan-image-tag") && strstr(out, "'1.7-2'"), "%s", out);
    cr_assert_null(strstr(out, "artifact-unreadable"), "no download for an unusable image: %s",
                   out);
    free(out);
}

Test(plan_cli, serverless_probe_uses_the_4_mb_payload_limit, .init = setup, .fini = teardown,
     .timeout = 120)
{
    if (th_smxgb(NULL, "help serve >/dev/null 2>&1") != 0)
        cr_skip_test("this build has no `serve` verb");
    /* 4.5 MB of valid rows: fine for a real-time endpoint (6 MiB), too large for serverless */
    const char *row = "0.1,0.2,0.3,0.4,0.5,0.6\n";
    size_t rl = strlen(row), rows = 4500000 / rl + 1;
    char *big = malloc(rows * rl);
    for (size_t i = 0; i < rows; i++)
        memcpy(big + i * rl, row, rl);
    th_write(th_path(dir, "big.csv"), big, rows * rl);
    free(big);
    char *out = NULL;
    int rc = th_smxgb(&out,
                      "plan %s --sample %s --content-type text/csv --artifact "
                      "s3://acme-models/churn/sl/model.tar.gz=%s/good.tar.gz",
                      PLAN("serverless.json"), th_path(dir, "big.csv"), dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "probe-unhealthy") && strstr(out, "4000000"), "%s", out);
    free(out);
    rc = th_smxgb(&out,
                  "plan %s --sample %s --content-type text/csv --artifact "
                  "s3://acme-models/churn/a/model.tar.gz=%s/good.tar.gz --artifact "
                  "s3://acme-models/churn/b/model.tar.gz=%s/good.tar.gz",
                  PLAN("ab_pair.json"), th_path(dir, "big.csv"), dir, dir);
    cr_assert(strstr(out, "probe-healthy"), "a real-time endpoint takes it: %s", out);
    free(out);
}

/* Every code a plan report can hold is documented in `smxgb help codes`. */
static void expect_documented(json_t *items, const char *key, const char *codes, const char *plan)
{
    size_t i;
    json_t *f;
    json_array_foreach(items, i, f)
    {
        const char *code = json_string_value(json_object_get(f, key));
        cr_assert_not_null(code, "%s: an item without a %s", plan, key);
        char needle[128];
        snprintf(needle, sizeof needle, "  %s ", code);
        cr_expect(strstr(codes, needle), "%s: '%s' is not in `smxgb help codes`", plan, code);
    }
}

Test(plan_cli, every_reported_code_is_documented, .init = setup, .fini = teardown)
{
    static const char *const plans[] = {"ab_pair.json",
                                        "good_and_broken.json",
                                        "module.json",
                                        "non_xgboost.json",
                                        "one_model.json",
                                        "pipeline_script_uncompressed.json",
                                        "planned_values_only.json",
                                        "serverless.json",
                                        "serverless_bad_memory.json",
                                        "uncompressed_prefix.json",
                                        "unknown.json",
                                        "unpublished_tag.json",
                                        "digest_image.json",
                                        "no_models.json",
                                        "upload_ambiguous.json",
                                        "upload_content.json",
                                        "upload_interpolated.json",
                                        "upload_missing.json",
                                        "upload_module_bucket.json",
                                        "upload_source.json"};
    char *codes = NULL;
    cr_assert_eq(th_smxgb(&codes, "help codes"), 0);
    size_t n_codes = 0;
    for (size_t k = 0; k < sizeof plans / sizeof *plans; k++) {
        char *out = NULL;
        th_smxgb(&out,
                 "plan %s/plan/%s --no-serve --json " MAP_GOOD_AND_BROKEN
                 " --artifact s3://acme-models/churn/2026-11-22/model.tar.gz=%s/good.tar.gz"
                 " --artifact s3://acme-models/churn/a/model.tar.gz=%s/good.tar.gz"
                 " --artifact s3://acme-models/churn/b/model.tar.gz=%s/stray.tar.gz"
                 " --artifact s3://acme-models/churn/sl/model.tar.gz=%s/good.tar.gz"
                 " --artifact s3://acme-models/pipe/model.tar.gz=%s/stray.tar.gz"
                 " --artifact s3://acme-models/raw/xgboost-model=%s/raw-model 2>/dev/null",
                 SMXGB_TESTDATA, plans[k], dir, dir, dir, dir, dir, dir, dir, dir, dir);
        json_t *j = json_loads(out, 0, NULL);
        cr_assert_not_null(j, "%s: no JSON: %.300s", plans[k], out);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(j, "cases"), i, c)
        {
            json_t *f = json_object_get(c, "findings");
            n_codes += json_array_size(f);
            expect_documented(f, "code", codes, plans[k]);
            json_t *v = json_object_get(c, "verify");
            expect_documented(json_object_get(v, "findings"), "code", codes, plans[k]);
            size_t m;
            json_t *res;
            json_array_foreach(json_object_get(v, "containers"), m, res)
                expect_documented(json_object_get(res, "reasons"), "rule", codes, plans[k]);
        }
        json_decref(j);
        free(out);
    }
    cr_assert_gt(n_codes, 20, "the fixtures produce findings to check");
    free(codes);
}

/* ---- the plan's own upload is the artifact ------------------------------------------------- */

/* An S3 stand-in that answers every GET with one body (the model in S3 now) and counts them. */
struct s3_now {
    const char *body;
    size_t len;
    int gets;
};

static void s3_now_handler(const th_request *rq, th_response *rs, void *ctx)
{
    struct s3_now *s = ctx;
    (void)rq;
    __atomic_add_fetch(&s->gets, 1, __ATOMIC_SEQ_CST);
    rs->status = 200;
    rs->body = s->body;
    rs->body_len = s->len;
}

/* dir/NAME as a copy of a fixture, and dir/REL as a copy of one of the setup's archives. */
static void place(const char *fixture, const char *name)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp %s/plan/%s %s", SMXGB_TESTDATA, fixture, th_path(dir, name));
    cr_assert_eq(th_run(cmd, NULL), 0);
}
static void place_archive(const char *archive, const char *rel)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname %s)\" && cp %s/%s %s", th_path(dir, rel), dir,
             archive, th_path(dir, rel));
    cr_assert_eq(th_run(cmd, NULL), 0);
}

Test(plan_cli, the_plans_own_upload_is_checked_not_the_object_in_s3_now, .init = setup,
     .fini = teardown)
{
    /* S3 holds a good model now; the plan replaces it with build/model.tar.gz, which is broken */
    size_t n;
    char *good = th_read(th_path(dir, "good.tar.gz"), &n);
    struct s3_now s3 = {good, n, 0};
    th_server *s = th_server_start(s3_now_handler, &s3);
    place("upload_source.json", "plan.json");
    place_archive("nested.tar.gz", "build/model.tar.gz");
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s --no-serve --s3-endpoint %s 2>&1", th_path(dir, "plan.json"),
                      th_server_url(s));
    cr_assert_eq(rc, 1, "the uploaded archive is broken: %s", out);
    cr_assert(strstr(out, "FAIL  aws_sagemaker_model.churn"), "%s", out);
    cr_assert(strstr(out, "layout-no-model"), "%s", out);
    cr_assert(strstr(out, "aws_s3_object.model") && strstr(out, "build/model.tar.gz"),
              "names the upload and the file: %s", out);
    cr_assert_eq(s3.gets, 0, "the object in S3 now is not what apply deploys: %s", out);
    free(out);

    /* the source is relative to the plan file's directory, wherever smxgb runs */
    place_archive("good.tar.gz", "build/model.tar.gz");
    rc = th_smxgb(&out, "plan %s --no-serve --s3-endpoint %s 2>&1", th_path(dir, "plan.json"),
                  th_server_url(s));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "PASS  aws_sagemaker_model.churn"), "%s", out);
    char used[4200];
    snprintf(used, sizeof used, "%s/build/model.tar.gz", dir);
    cr_assert(strstr(out, used), "reports the file used: %s", out);
    free(out);

    /* --root says where terraform ran; a file that is not there is an error, not a skip */
    rc = th_smxgb(&out, "plan %s --no-serve --root /nonexistent-root --s3-endpoint %s 2>&1",
                  th_path(dir, "plan.json"), th_server_url(s));
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "/nonexistent-root/build/model.tar.gz") && strstr(out, "--root"), "%s",
              out);
    cr_assert_eq(s3.gets, 0, "%s", out);
    free(out);

    /* an --artifact mapping wins over the upload */
    place_archive("nested.tar.gz", "build/model.tar.gz");
    rc =
        th_smxgb(&out,
                 "plan %s --no-serve --artifact s3://acme-models/churn/model.tar.gz=%s/good.tar.gz "
                 "2>&1",
                 th_path(dir, "plan.json"), dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "artifact-mapped") && strstr(out, "aws_s3_object.model"), "%s", out);
    free(out);
    th_server_stop(s);
    free(good);
}

/* A download from S3 without credentials goes unsigned: the report says so; with credentials it
 * does not. */
Test(plan_cli, a_download_without_credentials_says_so, .init = setup, .fini = teardown)
{
    size_t n;
    char *good = th_read(th_path(dir, "good.tar.gz"), &n);
    struct s3_now s3 = {good, n, 0};
    th_server *s = th_server_start(s3_now_handler, &s3);
    char *out = NULL;
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN %s plan %s "
             "--no-serve --s3-endpoint %s 2>&1",
             SMXGB_BIN, PLAN("good_and_broken.json"), th_server_url(s));
    th_run(cmd, &out);
    cr_assert_gt(s3.gets, 0, "the model data was downloaded: %s", out);
    cr_assert(strstr(out, "artifact-downloaded: s3://acme-models/good/model.tar.gz was downloaded "
                          "without AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                          "are not set, so the requests were unsigned"),
              "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "env AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=secret %s plan %s "
             "--no-serve --s3-endpoint %s 2>&1",
             SMXGB_BIN, PLAN("good_and_broken.json"), th_server_url(s));
    th_run(cmd, &out);
    cr_assert(!strstr(out, "without AWS credentials"), "%s", out);
    free(out);
    th_server_stop(s);
    free(good);
}

Test(plan_cli, uploads_matched_through_the_configuration, .init = setup, .fini = teardown)
{
    /* s3://${aws_s3_bucket_object.model.bucket}/${aws_s3_bucket_object.model.key} */
    place("upload_interpolated.json", "plan.json");
    place_archive("nested.tar.gz", "build/model.tar.gz");
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s --no-serve 2>&1", th_path(dir, "plan.json"));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "aws_s3_bucket_object.model") && strstr(out, "layout-no-model"), "%s",
              out);
    cr_assert(strstr(out, "model_data_url is built from aws_s3_bucket_object.model"), "%s", out);
    free(out);

    /* module.ml: the URL and the upload name the same new bucket; source under path.module */
    place("upload_module_bucket.json", "plan.json");
    place_archive("good.tar.gz", "modules/ml/artifacts/model.tar.gz");
    rc = th_smxgb(&out, "plan %s --no-serve 2>&1", th_path(dir, "plan.json"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "PASS  module.ml.aws_sagemaker_model.xgb"), "%s", out);
    cr_assert(strstr(out, "module.ml.aws_s3_object.model") &&
                  strstr(out, "modules/ml/artifacts/model.tar.gz") &&
                  strstr(out, "module.ml.aws_s3_bucket.models"),
              "%s", out);
    free(out);

    /* two uploads to that bucket could be the model: both are checked, and the report says so */
    place("upload_ambiguous.json", "plan.json");
    place_archive("good.tar.gz", "build/model.tar.gz");
    place_archive("stray.tar.gz", "build/baseline.tar.gz");
    rc = th_smxgb(&out, "plan %s --no-serve 2>&1", th_path(dir, "plan.json"));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "2 uploads could be"), "%s", out);
    cr_assert(strstr(out, "aws_s3_object.model") && strstr(out, "aws_s3_object.baseline"), "%s",
              out);
    cr_assert(strstr(out, "layout-multiple-models"), "the baseline archive was checked: %s", out);
    free(out);
}

Test(plan_cli, upload_bytes_in_the_plan_are_checked, .init = setup, .fini = teardown)
{
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s --no-serve 2>&1", PLAN("upload_content.json"));
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "FAIL  aws_sagemaker_model.churn"), "%s", out);
    cr_assert(strstr(out, "FAIL  aws_sagemaker_model.notes"), "%s", out);
    cr_assert(strstr(out, "content_base64") && strstr(out, "layout-no-model"), "%s", out);
    cr_assert(strstr(out, "aws_s3_object.notes") && strstr(out, "content"), "%s", out);
    free(out);
}

Test(plan_cli, an_upload_built_during_apply_is_an_error_that_says_how_to_build_it, .init = setup,
     .fini = teardown)
{
    place("upload_missing.json", "plan.json");
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s --no-serve 2>&1", th_path(dir, "plan.json"));
    cr_assert_eq(rc, 2, "never a silent skip: %s", out);
    cr_assert(strstr(out, "build/model.tar.gz") && strstr(out, "does not exist"), "%s", out);
    cr_assert(strstr(out, "python3 train.py --out build/model.tar.gz"),
              "quotes the build step the plan runs during apply: %s", out);
    cr_assert(strstr(out, "before `smxgb plan`"), "%s", out);
    free(out);
}

Test(plan_cli, a_mapping_that_matches_no_model_warns, .init = setup, .fini = teardown)
{
    char *out = NULL;
    int rc = th_smxgb(&out,
                      "plan %s --no-serve " MAP_GOOD_AND_BROKEN
                      " --artifact s3://acme-models/good/modle.tar.gz=%s/good.tar.gz 2>&1",
                      PLAN("good_and_broken.json"), dir, dir, dir, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "s3://acme-models/good/modle.tar.gz") && strstr(out, "matches no model"),
              "%s", out);
    free(out);
    rc = th_smxgb(&out,
                  "plan %s --no-serve --json " MAP_GOOD_AND_BROKEN
                  " --artifact s3://acme-models/good/modle.tar.gz=%s/good.tar.gz",
                  PLAN("good_and_broken.json"), dir, dir, dir, dir);
    json_t *j = th_json(out);
    json_t *f = json_array_get(json_object_get(j, "findings"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(f, "code")), "plan-artifact-unused", "%s",
                     out);
    json_decref(j);
    free(out);
}

Test(plan_cli, input_that_is_not_a_plan_exits_2_and_no_model_says_nothing_to_check)
{
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s 2>&1", PLAN("state.json"));
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "state") && strstr(out, "terraform show -json tfplan"), "%s", out);
    free(out);
    char *d = th_tmpdir();
    {
        const char *other = "{\"format_version\": \"1.0\", \"name\": \"x\"}";
        th_write(th_path(d, "other.json"), other, strlen(other));
    }
    rc = th_smxgb(&out, "plan %s 2>&1", th_path(d, "other.json"));
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "not a Terraform plan"), "%s", out);
    free(out);
    th_rmrf(d);
    free(d);
    rc = th_smxgb(&out, "plan %s 2>&1", PLAN("no_models.json"));
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "nothing to check"), "%s", out);
    free(out);
}

#define MAP_DIGEST                                                                                 \
    "--artifact s3://acme-models/pinned/model.tar.gz=%s/good.tar.gz "                              \
    "--artifact s3://acme-models/tagged/model.tar.gz=%s/good.tar.gz"
#define DIGEST_IMAGE                                                                               \
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:"                       \
    "3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a3f1a"

Test(plan_cli, an_image_pinned_by_digest_is_unknown_until_its_container_is_named, .init = setup,
     .fini = teardown)
{
    char *out = NULL;
    int rc = th_smxgb(&out, "plan %s --no-serve " MAP_DIGEST " 2>&1", PLAN("digest_image.json"),
                      dir, dir);
    cr_assert_eq(rc, 1, "unknown is not ok: %s", out);
    cr_assert(strstr(out, "UNKNOWN  aws_sagemaker_model.pinned"), "%s", out);
    cr_assert(strstr(out, "--image"), "says what would settle it: %s", out);
    cr_assert(strstr(out, "PASS  aws_sagemaker_model.tagged primary_container[0]  [container "
                          "1.5-1]"),
              "the tag from the configuration's data.aws_ecr_image: %s", out);
    cr_assert(strstr(out, "data.aws_ecr_image.xgb"), "%s", out);
    free(out);

    rc = th_smxgb(&out, "plan %s --no-serve --image %s=1.7-1 " MAP_DIGEST " 2>&1",
                  PLAN("digest_image.json"), DIGEST_IMAGE, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "PASS  aws_sagemaker_model.pinned primary_container[0]  [container "
                          "1.7-1]"),
              "%s", out);
    cr_assert(strstr(out, "--image"), "reports which was used: %s", out);
    free(out);
    /* the TAG of --image takes what --container takes: an image tag names its container */
    rc = th_smxgb(&out, "plan %s --no-serve --image %s=1.7-1-cpu-py3 " MAP_DIGEST " 2>&1",
                  PLAN("digest_image.json"), DIGEST_IMAGE, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "PASS  aws_sagemaker_model.pinned primary_container[0]  [container "
                          "1.7-1]"),
              "%s", out);
    free(out);

    rc = th_smxgb(&out, "plan %s --no-serve --allow-unknown " MAP_DIGEST " 2>&1",
                  PLAN("digest_image.json"), dir, dir);
    cr_assert_eq(rc, 0, "the user opted out: %s", out);
    cr_assert(strstr(out, "UNKNOWN  aws_sagemaker_model.pinned"), "%s", out);
    cr_assert(strstr(out, "--allow-unknown"), "the report shows the opt-out: %s", out);
    free(out);
    cr_assert_eq(
        th_smxgb(&out, "plan %s --image %s=9.9-9 2>&1", PLAN("digest_image.json"), DIGEST_IMAGE), 2,
        "an unknown container version is a usage error");
    free(out);
}

/* Does text hold head, a duration ("850 ms", "12.4 s"), then tail? */
static int timed(const char *text, const char *head, const char *tail)
{
    for (const char *p = text; (p = strstr(p, head)); p++) {
        const char *q = p + strlen(head);
        size_t digits = strspn(q, "0123456789.");
        if (!digits)
            continue;
        q += digits;
        if (!strncmp(q, " ms", 3))
            q += 3;
        else if (!strncmp(q, " s", 2))
            q += 2;
        else
            continue;
        if (!strncmp(q, tail, strlen(tail)))
            return 1;
    }
    return 0;
}

/* plan prints each stage of each model's check on stderr as check does; --quiet turns it off. */
Test(plan_cli, each_stage_is_printed_on_stderr, .init = setup, .fini = teardown)
{
    char *err = NULL;
    int rc = th_smxgb(&err, "plan %s --no-serve " MAP_GOOD_AND_BROKEN " 2>&1 >/dev/null",
                      PLAN("good_and_broken.json"), dir, dir, dir);
    cr_assert_eq(rc, 1, "%s", err);
    cr_assert(strstr(err, "verify     s3://acme-models/good/model.tar.gz ...\n"), "%s", err);
    cr_assert(
        timed(err, "verify     s3://acme-models/good/model.tar.gz: ", ", 1 container, no errors\n"),
        "%s", err);
    cr_assert(timed(err, "verify     s3://acme-models/nested/model.tar.gz: ",
                    ", 1 container, 1 with errors\n"),
              "%s", err);
    cr_assert(strstr(err, "load check xgboost-model: "), "%s", err);
    free(err);
    rc = th_smxgb(&err, "plan %s --no-serve --quiet " MAP_GOOD_AND_BROKEN " 2>&1 >/dev/null",
                  PLAN("good_and_broken.json"), dir, dir, dir);
    cr_assert_eq(rc, 1);
    cr_assert_str_eq(err, "");
    free(err);
}
