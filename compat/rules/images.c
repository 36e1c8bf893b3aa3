/*
 * The image table: which ECR image URI is which SageMaker XGBoost container. The data is the
 * SageMaker Python SDK's own image_uri_config/xgboost.json (xgboost_image_uris.json, compiled
 * in): per version the repository ("sagemaker-xgboost", or "xgboost" for the legacy built-in
 * algorithm version "1"), the processors/py_versions that shape the tag ("0.90-1-cpu-py3"),
 * and the registry account of every region; inference_graviton adds the "-arm64" tags.
 *
 * compat_image_parse splits a URI the way the SDK's ECR_URI_PATTERN does
 * (ACCOUNT.dkr.ecr.REGION.DOMAIN/REPOSITORY:TAG), then looks the repository and tag up. It
 * never guesses: a repository it does not know is "not an XGBoost image", the legacy
 * repository is reported as such, and an account that is not AWS's for that region is said.
 */
#include "rules.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char compat_image_uris_json[];
extern const size_t compat_image_uris_json_len;

static json_t *images;
static pthread_once_t images_once = PTHREAD_ONCE_INIT;

static void load_images(void)
{
    json_error_t je;
    images = json_loadb((const char *)compat_image_uris_json, compat_image_uris_json_len, 0, &je);
}

static const char *const domains[] = {
    "amazonaws.com.cn", "amazonaws.com",  "c2s.ic.gov", "sc2s.sgov.gov",
    "csp.hci.ic.gov",   "cloud.adc-e.uk", NULL};

const char *compat_image_kind_name(compat_image_kind k)
{
    switch (k) {
    case COMPAT_IMAGE_XGBOOST:
        return "sagemaker-xgboost";
    case COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG:
        return "sagemaker-xgboost-unknown-tag";
    case COMPAT_IMAGE_LEGACY:
        return "legacy-xgboost-1";
    case COMPAT_IMAGE_OTHER:
        return "other";
    }
    return "?";
}

/* The registry account for version in region within scope; NULL if none. */
static const char *account_for(const char *scope, const char *version, const char *region,
                               const char **repo)
{
    json_t *v =
        json_object_get(json_object_get(json_object_get(images, scope), "versions"), version);
    if (!v)
        return NULL;
    if (repo)
        *repo = json_string_value(json_object_get(v, "repository"));
    return json_string_value(json_object_get(json_object_get(v, "registries"), region));
}

static int all_digits(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* ACCOUNT.dkr.ecr.REGION.DOMAIN/REPOSITORY[:TAG|@DIGEST] into im; 0, or -1 (im->note says). */
static int split_uri(const char *uri, compat_image *im)
{
    const char *slash = strchr(uri, '/');
    const char *p = strstr(uri, ".dkr.ecr.");
    if (!slash || !p || p > slash || !all_digits(uri, (size_t)(p - uri))) {
        snprintf(im->note, sizeof im->note,
                 "not an Amazon ECR image URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG)");
        return -1;
    }
    snprintf(im->account, sizeof im->account, "%.*s", (int)(p - uri), uri);
    const char *host_rest = p + strlen(".dkr.ecr.");
    size_t host_len = (size_t)(slash - host_rest);
    const char *dom = NULL;
    for (const char *const *d = domains; *d && !dom; d++) {
        size_t dl = strlen(*d);
        if (host_len > dl + 1 && !strncmp(host_rest + host_len - dl, *d, dl) &&
            host_rest[host_len - dl - 1] == '.') {
            dom = *d;
            snprintf(im->region, sizeof im->region, "%.*s", (int)(host_len - dl - 1), host_rest);
            snprintf(im->domain, sizeof im->domain, "%s", *d);
        }
    }
    if (!dom) {
        snprintf(im->note, sizeof im->note, "ECR host '%.*s' is not in a known AWS partition",
                 (int)(slash - uri), uri);
        return -1;
    }
    const char *repo = slash + 1;
    const char *at = strchr(repo, '@'), *colon = strrchr(repo, ':');
    size_t repo_len;
    if (at) {
        repo_len = (size_t)(at - repo);
        snprintf(im->digest, sizeof im->digest, "%s", at + 1);
    } else if (colon) {
        repo_len = (size_t)(colon - repo);
        snprintf(im->tag, sizeof im->tag, "%s", colon + 1);
    } else {
        repo_len = strlen(repo);
        snprintf(im->tag, sizeof im->tag, "latest");
    }
    snprintf(im->repository, sizeof im->repository, "%.*s", (int)repo_len, repo);
    return 0;
}

/* Repository "xgboost": the legacy built-in algorithm, when the account is AWS's. */
static void legacy_image(compat_image *im)
{
    const char *acct = account_for("inference", "1", im->region, NULL);
    if (acct && !strcmp(acct, im->account) &&
        (!strcmp(im->tag, "1") || !strcmp(im->tag, "latest") || im->digest[0])) {
        im->kind = COMPAT_IMAGE_LEGACY;
        im->official_account = 1;
        snprintf(im->version, sizeof im->version, "1");
        snprintf(im->note, sizeof im->note,
                 "the legacy built-in XGBoost algorithm (repository xgboost, tag 1), not the "
                 "open-source sagemaker-xgboost container; its loading rules are not modelled");
        return;
    }
    snprintf(im->note, sizeof im->note,
             "repository 'xgboost' in account %s is not the legacy SageMaker XGBoost image for %s",
             im->account, im->region);
}

/* sagemaker-xgboost: tag = VERSION, VERSION-cpu-py3 (<= 1.0-1) or VERSION-arm64. */
static void sagemaker_image(compat_image *im)
{
    if (im->digest[0] && !im->tag[0]) {
        im->kind = COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG;
        snprintf(im->note, sizeof im->note,
                 "pinned by digest; the container version cannot be read from the URI");
        return;
    }
    char version[sizeof im->tag];
    memcpy(version, im->tag, sizeof version);
    const char *scope = "inference";
    size_t vl = strlen(version);
    if (vl > 8 && !strcmp(version + vl - 8, "-cpu-py3")) {
        version[vl - 8] = '\0';
        im->processor = "cpu";
    } else if (vl > 6 && !strcmp(version + vl - 6, "-arm64")) {
        version[vl - 6] = '\0';
        im->processor = "arm64";
        im->graviton = 1;
        scope = "inference_graviton";
    }
    json_t *ve =
        json_object_get(json_object_get(json_object_get(images, scope), "versions"), version);
    /* the tag must be spelled exactly as the SDK formats it */
    int shape_ok = 0;
    if (ve) {
        json_t *procs = json_object_get(ve, "processors");
        int wants_cpu_py3 = procs && json_array_size(procs) > 0;
        shape_ok =
            im->graviton ? 1 : (wants_cpu_py3 ? im->processor != NULL : im->processor == NULL);
    }
    if (!ve || !shape_ok || !strcmp(version, "1")) {
        im->kind = COMPAT_IMAGE_XGBOOST_UNKNOWN_TAG;
        snprintf(im->note, sizeof im->note,
                 "sagemaker-xgboost tag '%s' is not a published container version", im->tag);
        return;
    }
    snprintf(im->version, sizeof im->version, "%.31s", version);
    im->kind = COMPAT_IMAGE_XGBOOST;
    im->container = compat_container_find(version);
    const char *acct = account_for(scope, version, im->region, NULL);
    if (!acct)
        snprintf(im->note, sizeof im->note, "sagemaker-xgboost:%s is not published in region %s",
                 im->tag, im->region);
    else if (strcmp(acct, im->account) != 0)
        snprintf(im->note, sizeof im->note,
                 "account %s is not AWS's sagemaker-xgboost registry for %s (%s): a private copy? "
                 "treated as container %s",
                 im->account, im->region, acct, version);
    else
        im->official_account = 1;
}

int compat_image_parse(const char *uri, compat_image *im, smx_err *err)
{
    memset(im, 0, sizeof *im);
    pthread_once(&images_once, load_images);
    if (!images)
        return smx_fail(err, SMX_ERUNTIME, "the embedded image table does not parse");
    if (!uri || !*uri)
        return smx_fail(err, SMX_EINVAL, "empty image URI");
    snprintf(im->uri, sizeof im->uri, "%s", uri);
    im->kind = COMPAT_IMAGE_OTHER;
    if (split_uri(uri, im))
        return SMX_OK;
    if (!strcmp(im->repository, "xgboost"))
        legacy_image(im);
    else if (!strcmp(im->repository, "sagemaker-xgboost"))
        sagemaker_image(im);
    else
        snprintf(im->note, sizeof im->note, "repository '%s' is not a SageMaker XGBoost image",
                 im->repository);
    return SMX_OK;
}

int compat_image_uri(const char *version, const char *region, int graviton, char *out, size_t n)
{
    pthread_once(&images_once, load_images);
    if (!images)
        return -1;
    const char *repo = NULL;
    const char *acct =
        account_for(graviton ? "inference_graviton" : "inference", version, region, &repo);
    if (!acct || !repo)
        return -1;
    const char *dom = "amazonaws.com";
    if (!strncmp(region, "cn-", 3))
        dom = "amazonaws.com.cn";
    else if (!strcmp(region, "us-iso-east-1"))
        dom = "c2s.ic.gov";
    else if (!strcmp(region, "us-isob-east-1"))
        dom = "sc2s.sgov.gov";
    else if (!strncmp(region, "us-isof-", 8))
        dom = "csp.hci.ic.gov";
    else if (!strcmp(region, "eu-isoe-west-1"))
        dom = "cloud.adc-e.uk";
    json_t *ve = json_object_get(
        json_object_get(json_object_get(images, graviton ? "inference_graviton" : "inference"),
                        "versions"),
        version);
    const char *suffix = graviton                                             ? "-arm64"
                         : json_array_size(json_object_get(ve, "processors")) ? "-cpu-py3"
                                                                              : "";
    snprintf(out, n, "%s.dkr.ecr.%s.%s/%s:%s%s", acct, region, dom, repo, version, suffix);
    return 0;
}
