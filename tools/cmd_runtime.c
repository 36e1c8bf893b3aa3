/*
 * smxgb runtime list | fetch WHAT... | path WHAT: each container's own XGBoost.
 *
 * A container pins one XGBoost (the container table); its runtime is that version's library
 * from the wheel pip would install on this machine, verified and cached (gate_runtime_fetch,
 * compat/runtime/cache.c). `list` shows every container, its pin and whether its runtime is
 * cached; `fetch` gets the runtimes asked for (a container tag, a version, or all); `path`
 * prints a cached library. This file maps the arguments to versions and prints.
 */
#include "gate_cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
    const char *index_url;
    str_list find_links;
    int no_index, json, quiet;
} o;

static const opt runtime_opts[] = {
    {OPT_STRING, 0, "index-url", &o.index_url, "URL",
     "the package index, as pip's --index-url: a simple API (PEP 503/691, default "
     "$PIP_INDEX_URL, else https://pypi.org/simple), or a JSON API ending in /pypi"},
    {OPT_LIST, 0, "find-links", &o.find_links, "DIR",
     "a folder of wheels, looked in before the index (repeatable)"},
    {OPT_FLAG, 0, "no-index", &o.no_index, NULL, "never ask the index: the --find-links folders"},
    {OPT_INCLUDE, 0, NULL, gate_cli_fetch_opts, NULL, NULL},
    {OPT_FLAG, 'q', "quiet", &o.quiet, NULL, "fetch: print only failures"},
    {OPT_FLAG, 0, "json", &o.json, NULL, "list, fetch: print the result as JSON"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc runtime_doc = {
    "runtime",
    "smxgb runtime list [--json]\n"
    "       smxgb runtime fetch CONTAINER|VERSION|all... [--index-url URL] [--find-links DIR]\n"
    "                           [--no-index] [--json]\n"
    "       smxgb runtime path CONTAINER|VERSION",
    "fetch and cache each container's own XGBoost (its pinned runtime)",
    "Each container pins one XGBoost (1.7-1: 1.7.4, 3.0-5: 3.0.5...). Its runtime is the\n"
    "libxgboost.so of the xgboost==X.Y.Z wheel that pip would install on this machine (manylinux\n"
    "for its architecture, the newest tag its glibc runs), with the libraries bundled beside "
    "it.\n\n"
    "  list    every container, its pinned XGBoost, and whether that runtime is cached.\n"
    "  fetch   downloads the wheel of each container or version given (all: every pinned\n"
    "          version), checks the sha256 the index publishes, extracts only the libraries,\n"
    "          opens the library in a helper process and checks that it is exactly that\n"
    "          version, and caches it by version and sha256. A cached runtime is not fetched\n"
    "          again. Two runs fetching one version at once share one download.\n"
    "  path    prints the cached library of a container or version.\n\n"
    "The cache is $XDG_CACHE_HOME/smxgb (else ~/.cache/smxgb): keep that folder between CI runs\n"
    "and each runtime is fetched once. Every use checks the cached files against the sha256\n"
    "recorded when they were extracted; a damaged runtime is removed and fetched again.\n"
    "serve -c TAG and train --container TAG run a container's own runtime when it is cached,\n"
    "and say which XGBoost stands in when it is not.\n\n"
    "Mirrors and air-gapped machines: --index-url (or $PIP_INDEX_URL) names another index;\n"
    "--find-links DIR takes wheels from a folder (it is looked in first; with --no-index\n"
    "nothing else is). Downloads use libcurl: https_proxy/HTTPS_PROXY, NO_PROXY, and the CA\n"
    "bundle in $CURL_CA_BUNDLE or $SSL_CERT_FILE ($SSL_CERT_DIR) as curl takes them; they\n"
    "show progress on a terminal, are retried, and a retry resumes a partial download when\n"
    "the server allows it.\n\n"
    "A version with no wheel for this machine (e.g. a platform the project did not build for),\n"
    "or whose library does not run here (a newer glibc, a missing symbol), is not available:\n"
    "its containers are checked by rules and the stand-in XGBoost.",
    runtime_opts,
    "  0  list, path: done; fetch: every runtime asked for is cached (with `all`, every pinned\n"
    "     version that has a wheel for this machine)\n"
    "  1  fetch: a runtime asked for is not available on this machine (no wheel for it, or its\n"
    "     library does not run here); path: not cached\n"
    "  2  usage error, or a fetch failed: the index or the download (HTTP, network, deadline),\n"
    "     a sha256 that is not the published one, a file that is not that version's wheel\n"
    "  3  internal failure"};

/* ---- which versions ---------------------------------------------------------------------- */

/* The versions args name, each once, in the container table's order ("all": every pin). */
static int versions_of(int argc, char **argv, const char **out, size_t cap, size_t *n)
{
    const compat_container *cs;
    size_t nc = 0;
    smx_err err = {0};
    if (compat_containers(&cs, &nc, &err)) {
        fprintf(stderr, "smxgb runtime: the container table cannot be read: %s\n", err.msg);
        return EXIT_INTERNAL;
    }
    *n = 0;
    for (int i = 1; i < argc; i++) {
        const compat_container *c = compat_container_find(argv[i]);
        int all = !strcmp(argv[i], "all"), known = 0;
        for (size_t k = 0; k < nc; k++)
            known |= compat_version_same(cs[k].xgboost_str, argv[i]);
        if (!all && !c && !known) {
            fprintf(stderr,
                    "smxgb runtime: '%s' is neither a container (see smxgb runtime list) nor a "
                    "version a container pins\n",
                    argv[i]);
            return EXIT_USAGE;
        }
        for (size_t k = 0; k < nc; k++) {
            const char *v = cs[k].xgboost_str;
            if (!(all || c == &cs[k] || compat_version_same(v, argv[i])))
                continue;
            int dup = 0;
            for (size_t j = 0; j < *n; j++)
                dup |= !strcmp(out[j], v);
            if (!dup && *n < cap)
                out[(*n)++] = v;
        }
    }
    return -1;
}

/* "1.7-1, 1.7-1-1": the containers that pin v. */
static void containers_of(const char *v, char *buf, size_t n)
{
    const compat_container *cs;
    size_t nc = 0;
    buf[0] = '\0';
    if (compat_containers(&cs, &nc, NULL))
        return;
    for (size_t k = 0; k < nc; k++)
        if (!strcmp(cs[k].xgboost_str, v)) {
            size_t l = strlen(buf);
            snprintf(buf + l, n - l, "%s%s", l ? ", " : "", cs[k].tag);
        }
}

/* ---- list -------------------------------------------------------------------------------- */

static int runtime_list(void)
{
    const compat_container *cs;
    size_t nc = 0;
    smx_err err = {0};
    char *root = NULL, plat[128];
    compat_platform p;
    compat_platform_host(&p);
    compat_platform_str(&p, plat, sizeof plat);
    if (compat_containers(&cs, &nc, &err) || compat_cache_root(NULL, &root, &err)) {
        fprintf(stderr, "smxgb runtime list: %s\n", err.msg);
        return EXIT_INTERNAL;
    }
    json_t *arr = json_array();
    if (!o.json)
        printf("cache %s (%s)\n\n%-10s %-8s %s\n", root, plat, "container", "xgboost", "runtime");
    int code = EXIT_OK;
    for (size_t k = 0; k < nc; k++) {
        compat_runtime rt;
        if (compat_runtime_find(cs[k].xgboost_str, NULL, &rt, &err)) {
            fprintf(stderr, "smxgb runtime list: %s\n", err.msg);
            code = EXIT_INTERNAL;
            break;
        }
        if (rt.note[0])
            fprintf(stderr, "smxgb runtime list: %s\n", rt.note);
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:s?, s:s?, s:s?}", "container", cs[k].tag,
                           "xgboost", cs[k].xgboost_str, "cached", rt.found, "lib",
                           rt.found ? rt.lib : NULL, "wheel", rt.found ? rt.wheel : NULL, "sha256",
                           rt.found ? rt.sha256 : NULL, "source", rt.found ? rt.source : NULL,
                           "cached_at", rt.found ? rt.cached_at : NULL));
        if (!o.json && rt.found)
            printf("%-10s %-8s cached: %s\n%-19s %s\n", cs[k].tag, cs[k].xgboost_str, rt.wheel, "",
                   rt.lib);
        else if (!o.json)
            printf("%-10s %-8s not cached (smxgb runtime fetch %s)\n", cs[k].tag, cs[k].xgboost_str,
                   cs[k].tag);
    }
    if (o.json && code == EXIT_OK) {
        json_t *j = json_pack("{s:s, s:s, s:o}", "cache", root, "platform", plat, "containers",
                              json_incref(arr));
        if (!j || print_json(stdout, j))
            code = EXIT_INTERNAL;
        json_decref(j);
    }
    json_decref(arr);
    free(root);
    return code;
}

/* ---- fetch ------------------------------------------------------------------------------- */

static void on_wait(const char *version, void *ctx)
{
    (void)ctx;
    if (!o.quiet)
        fprintf(stderr, "xgboost %s: another smxgb is fetching it; waiting\n", version);
}

static void on_download(const char *version, const gate_index_file *f, int done, void *ctx)
{
    (void)ctx;
    if (o.quiet)
        return;
    if (done && isatty(STDERR_FILENO))
        fprintf(stderr, "\n");
    else if (!done)
        fprintf(stderr, "xgboost %s: downloading %s\n", version, f->url);
}

/* One version's outcome as a line (and a JSON object); returns its exit code. */
static int report_one(const char *v, int rc, const gate_runtime_result *r, const smx_err *err,
                      json_t *arr)
{
    char cs[256], line[3 * SMX_ERRMAX];
    containers_of(v, cs, sizeof cs);
    const char *outcome = "failed";
    int code = EXIT_OK;
    if (rc) {
        code = rc == SMX_ERUNTIME ? EXIT_FINDINGS : rc == SMX_ENOMEM ? EXIT_INTERNAL : EXIT_USAGE;
        outcome = rc == SMX_ERUNTIME ? "not-available" : "failed";
        snprintf(line, sizeof line, "%s: %s", outcome, err->msg);
    } else if (r->outcome == GATE_RUNTIME_NO_WHEEL) {
        code = EXIT_FINDINGS;
        outcome = "not-available";
        snprintf(line, sizeof line, "not available: %s", r->why);
    } else if (r->outcome == GATE_RUNTIME_CACHED) {
        outcome = "cached";
        snprintf(line, sizeof line, "cached (%s)", r->runtime.wheel);
    } else {
        outcome = "fetched";
        snprintf(line, sizeof line, "fetched %s (%.1f MB, %s), loads here as XGBoost %s%s%s",
                 r->wheel, (double)r->bytes / 1048576.0,
                 r->sha256_published ? "sha256 as published" : "no sha256 published: unchecked",
                 r->runtime.loaded, r->runtime.note[0] ? "; " : "", r->runtime.note);
    }
    if (!o.json && (!o.quiet || code))
        fprintf(code ? stderr : stdout, "xgboost %s (%s): %s\n", v, cs, line);
    int found = !rc && r->outcome != GATE_RUNTIME_NO_WHEEL;
    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s}", "version", v,
                                         "containers", cs, "outcome", outcome, "lib",
                                         found ? r->runtime.lib : NULL, "wheel",
                                         found ? r->runtime.wheel : NULL, "source",
                                         found ? r->runtime.source : NULL, "message", line));
    return code;
}

static int runtime_fetch(int argc, char **argv)
{
    const char *versions[64];
    size_t n = 0;
    int code = versions_of(argc, argv, versions, 64, &n);
    if (code >= 0)
        return code;
    int all = 0;
    for (int i = 1; i < argc; i++)
        all |= !strcmp(argv[i], "all");
    gate_runtime_opts ro = {.on_wait = on_wait, .on_download = on_download};
    gate_fetch_opts_default(&ro.index.fetch);
    ro.index.fetch.deadline = gate_cli.timeout;
    if (gate_cli.stall_timeout > 0)
        ro.index.fetch.low_speed_time = gate_cli.stall_timeout;
    ro.index.fetch.max_unsized = gate_cli.size_cap;
    if (isatty(STDERR_FILENO) && !o.quiet && !o.json)
        ro.index.fetch.progress = gate_cli_progress_bar;
    ro.index.index_url = o.index_url;
    ro.index.find_links = o.find_links.v;
    ro.index.n_find_links = o.find_links.n;
    ro.index.no_index = o.no_index;
    json_t *arr = json_array();
    code = EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        gate_runtime_result r;
        smx_err err = {0};
        int rc = gate_runtime_fetch(versions[i], &ro, &r, &err);
        int c = report_one(versions[i], rc, &r, &err, arr);
        if (c == EXIT_FINDINGS && all && !rc) /* all: what has no wheel here is no failure */
            c = EXIT_OK;
        if (c > code)
            code = c;
    }
    if (o.json && print_json(stdout, arr))
        code = EXIT_INTERNAL;
    json_decref(arr);
    return code;
}

/* ---- path -------------------------------------------------------------------------------- */

static int runtime_path(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "smxgb runtime path: give one container or version\nusage: %s\n",
                runtime_doc.usage);
        return EXIT_USAGE;
    }
    const char *versions[1] = {NULL};
    size_t n = 0;
    int code = versions_of(argc, argv, versions, 1, &n);
    if (code >= 0)
        return code;
    if (!n || !strcmp(argv[1], "all")) {
        fprintf(stderr, "smxgb runtime path: 'all' names many; give one container or version\n");
        return EXIT_USAGE;
    }
    compat_runtime rt;
    smx_err err = {0};
    if (compat_runtime_find(versions[0], NULL, &rt, &err)) {
        fprintf(stderr, "smxgb runtime path: %s\n", err.msg);
        return exit_for_status(err.status);
    }
    if (!rt.found) {
        fprintf(stderr,
                "smxgb runtime path: xgboost %s is not cached for this machine%s%s; "
                "`smxgb runtime fetch %s` fetches it\n",
                versions[0], rt.note[0] ? ": " : "", rt.note, versions[0]);
        return EXIT_FINDINGS;
    }
    printf("%s\n", rt.lib);
    return EXIT_OK;
}

static int cmd_runtime(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : NULL;
    if (sub && sub[0] == '-') { /* --help, or an option before the subcommand */
        return verb_parse_exit(opts_parse(argc, argv, &runtime_doc));
    }
    int n = sub ? opts_parse(argc - 1, argv + 1, &runtime_doc) : -1;
    int code = EXIT_USAGE;
    if (n == -2)
        code = EXIT_OK;
    else if (!sub)
        code = verb_usage(&runtime_doc, "give list, fetch or path");
    else if (n < 0)
        code = EXIT_USAGE;
    else if (!strcmp(sub, "list") && n == 0)
        code = runtime_list();
    else if (!strcmp(sub, "fetch") && n > 0)
        code = runtime_fetch(n + 1, argv + 1);
    else if (!strcmp(sub, "path"))
        code = runtime_path(n + 1, argv + 1);
    else if (!strcmp(sub, "fetch"))
        fprintf(stderr, "smxgb runtime fetch: give containers, versions or all\nusage: %s\n",
                runtime_doc.usage);
    else if (!strcmp(sub, "list"))
        fprintf(stderr, "smxgb runtime list: takes no arguments\nusage: %s\n", runtime_doc.usage);
    else
        fprintf(stderr, "smxgb runtime: '%s' is not list, fetch or path\nusage: %s\n", sub,
                runtime_doc.usage);
    str_list_free(&o.find_links);
    return code;
}

SMXGB_VERB(runtime, cmd_runtime, runtime_doc, 30)
