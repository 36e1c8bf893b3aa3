/*
 * The image table: image URIs as users write them in Terraform, mapped to container versions,
 * regions and registries; the legacy xgboost:1 repository and other images reported as such.
 */
#include "compat/compat.h"

#include <criterion/criterion.h>
#include <string.h>

static compat_image parse(const char *uri)
{
    compat_image im;
    smx_err err = {0};
    cr_assert_eq(compat_image_parse(uri, &im, &err), SMX_OK, "%s", err.msg);
    return im;
}

Test(rules_images, official_uri_maps_to_its_container)
{
    compat_image im = parse("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1");
    cr_assert_eq(im.kind, COMPAT_IMAGE_XGBOOST);
    cr_assert_str_eq(im.version, "1.7-1");
    cr_assert_str_eq(im.region, "us-east-1");
    cr_assert_str_eq(im.account, "683313688378");
    cr_assert(im.official_account);
    cr_assert_not_null(im.container);
    cr_assert_str_eq(im.container->tag, "1.7-1");
    cr_assert_str_eq(im.container->xgboost_str, "1.7.4");
}

Test(rules_images, cpu_py3_and_arm64_tags)
{
    compat_image im =
        parse("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3");
    cr_assert_eq(im.kind, COMPAT_IMAGE_XGBOOST);
    cr_assert_str_eq(im.version, "1.0-1");
    cr_assert_str_eq(im.processor, "cpu");
    im = parse("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.5-1-arm64");
    cr_assert_eq(im.kind, COMPAT_IMAGE_XGBOOST);
    cr_assert(im.graviton);
    cr_assert_str_eq(im.container->tag, "1.5-1");
    /* 1.0-1 is only published as -cpu-py3; a bare 1.0-1 tag does not exist */
    im = parse("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.0-1");
    cr_assert_eq(im.kind, COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG, "%s", im.note);
    /* no Graviton build of 1.7-1 */
    im = parse("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1-arm64");
    cr_assert_eq(im.kind, COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG);
}

Test(rules_images, china_and_gov_partitions)
{
    compat_image im =
        parse("450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:3.0-5");
    cr_assert_eq(im.kind, COMPAT_IMAGE_XGBOOST);
    cr_assert_str_eq(im.region, "cn-north-1");
    cr_assert_str_eq(im.domain, "amazonaws.com.cn");
    cr_assert(im.official_account);
    char uri[512];
    cr_assert_eq(compat_image_uri("3.0-5", "cn-north-1", 0, uri, sizeof uri), 0);
    cr_assert_str_eq(uri,
                     "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:3.0-5");
    cr_assert_eq(compat_image_uri("0.90-1", "eu-west-1", 0, uri, sizeof uri), 0);
    cr_assert_str_eq(
        uri, "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:0.90-1-cpu-py3");
    cr_assert_eq(compat_image_uri("1.7-1", "mars-north-1", 0, uri, sizeof uri), -1);
}

Test(rules_images, wrong_account_is_said_not_hidden)
{
    /* the us-east-1 account used in eu-west-1 */
    compat_image im = parse("683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1");
    cr_assert_eq(im.kind, COMPAT_IMAGE_XGBOOST);
    cr_assert_not(im.official_account);
    cr_assert(strstr(im.note, "141502667606"), "names the right account: %s", im.note);
}

Test(rules_images, legacy_xgboost_1_is_reported)
{
    compat_image im = parse("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1");
    cr_assert_eq(im.kind, COMPAT_IMAGE_LEGACY);
    cr_assert_null(im.container, "the legacy algorithm is not guessed to be any container");
    cr_assert(strstr(im.note, "legacy"), "%s", im.note);
    im = parse("433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:latest");
    cr_assert_eq(im.kind, COMPAT_IMAGE_LEGACY);
    /* xgboost repository in someone else's account */
    im = parse("111122223333.dkr.ecr.us-east-1.amazonaws.com/xgboost:1");
    cr_assert_eq(im.kind, COMPAT_IMAGE_OTHER);
}

Test(rules_images, other_images_are_not_xgboost)
{
    const char *uris[] = {
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310",
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/my-team/xgb-server:v3",
        "docker.io/library/python:3.11",
        "ghcr.io/acme/sagemaker-xgboost:1.7-1",
        "not an image",
    };
    for (size_t i = 0; i < sizeof uris / sizeof *uris; i++) {
        compat_image im = parse(uris[i]);
        cr_assert_eq(im.kind, COMPAT_IMAGE_OTHER, "%s", uris[i]);
        cr_assert_null(im.container);
        cr_assert(im.note[0], "says why: %s", uris[i]);
    }
}

Test(rules_images, unpublished_tags_and_digests)
{
    compat_image im = parse("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:9.9-9");
    cr_assert_eq(im.kind, COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG);
    im = parse("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:"
               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    cr_assert_eq(im.kind, COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG);
    cr_assert(strstr(im.note, "digest"), "%s", im.note);
}
