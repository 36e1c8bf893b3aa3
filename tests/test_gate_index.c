/*
 * The package-index client and the runtime fetch (gate/index.c, gate/runtime.c) against a
 * package index on loopback (th_index): the simple API in PEP 691 JSON and PEP 503 HTML, the
 * JSON API, find-links folders; the wheel pip would choose here; verification and caching (no
 * second download); and each way an index or a download goes wrong: 404, 500, a stall, a
 * sha256 that is not the file's, a download cut short (retried, resumed), no wheel for this
 * platform. The real package index is never contacted.
 */
#include "gate/gate.h"
#include "helpers.h"
#include "th_index.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static th_index *ix;
static void setup(void)
{
    dir = th_tmpdir();
    char cache[4096];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    setenv("XDG_CACHE_HOME", cache, 1);
    unsetenv("PIP_INDEX_URL");
    unsetenv("SMXGB_XGBOOST_LIB");
    ix = th_index_start();
}
static void teardown(void)
{
    th_index_stop(ix);
    th_rmrf(dir);
    free(dir);
}
TestSuite(gate_index, .init = setup, .fini = teardown, .timeout = 300);

static gate_runtime_opts opts(const char *api)
{
    gate_runtime_opts o = {0};
    gate_fetch_opts_default(&o.index.fetch);
    o.index.fetch.backoff = 0.05;
    o.index.index_url = api ? th_index_url(ix, api) : NULL;
    return o;
}

/* ---- the parsers ------------------------------------------------------------------------- */

Test(gate_index, simple_pages_are_read_as_pip_reads_them)
{
    const char *html =
        "<html><body>\n"
        "<a href=\"../../packages/ab/xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl#sha256="
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\" "
        "data-requires-python=\"&gt;=3.8\">xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl</a>\n"
        "<A HREF='https://files.example/x/xgboost-1.7.4.tar.gz?a=1&amp;b=2' data-yanked>"
        " xgboost-1.7.4.tar.gz </A>\n"
        "<a href=\"xgboost-1.7.5-py3-none-any.whl\">xgboost-1.7.5-py3-none-any.whl</a>\n"
        "<a href=\"file:///etc/passwd\">xgboost-1.7.4-py3-none-any.whl</a>\n"
        "<a href=\"x.whl\">../xgboost-1.7.4-py3-none-any.whl</a>\n"
        "<a href=\"/other/XGBoost-1.7.4-py3-none-win_amd64.whl#md5=00\"></a>\n"
        "<a name=\"anchor\">no href</a><abbr>not an anchor</abbr>\n";
    gate_index_list l = {0};
    smx_err err = {0};
    cr_assert_eq(gate_index_parse_html(html, strlen(html), "https://idx.example/simple/xgboost/",
                                       "xgboost", "1.7.4", &l, &err),
                 SMX_OK, "%s", err.msg);
    cr_assert_eq(l.n, 3, "the other version, the file:// link and the bad name are left out");
    cr_assert_str_eq(l.files[0].filename, "xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl");
    cr_assert_str_eq(l.files[0].url, "https://idx.example/packages/ab/"
                                     "xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl");
    cr_assert_str_eq(l.files[0].sha256,
                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    cr_assert(!l.files[0].yanked);
    cr_assert_str_eq(l.files[1].filename, "xgboost-1.7.4.tar.gz");
    cr_assert_str_eq(l.files[1].url, "https://files.example/x/xgboost-1.7.4.tar.gz?a=1&b=2");
    cr_assert(l.files[1].yanked && !l.files[1].sha256[0]);
    cr_assert_str_eq(l.files[2].filename, "XGBoost-1.7.4-py3-none-win_amd64.whl",
                     "an empty anchor takes the URL's name; the project's case does not matter");
    cr_assert_str_eq(l.files[2].url,
                     "https://idx.example/other/XGBoost-1.7.4-py3-none-win_amd64.whl");
    gate_index_list_free(&l);

    const char *pep691 =
        "{\"meta\": {\"api-version\": \"1.0\"}, \"name\": \"xgboost\", \"files\": ["
        "{\"filename\": \"xgboost-1.0-py3-none-manylinux1_x86_64.whl\", \"url\": "
        "\"../../f/a.whl\", \"hashes\": {\"sha256\": \"" /* 1.0 is 1.0.0 */
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}, "
        "\"yanked\": \"broken build\"},"
        "{\"filename\": \"xgboost-1.0.0.tar.gz\", \"url\": \"ftp://x/y\", "
        "\"hashes\": {}}]}";
    cr_assert_eq(gate_index_parse_json(pep691, strlen(pep691), "http://h:1/simple/xgboost/",
                                       "xgboost", "1.0.0", &l, &err),
                 SMX_OK, "%s", err.msg);
    cr_assert_eq(l.n, 1, "an ftp:// link is left out");
    cr_assert_str_eq(l.files[0].url, "http://h:1/f/a.whl");
    cr_assert(l.files[0].yanked && l.files[0].sha256[0] == 'b');
    gate_index_list_free(&l);
    cr_assert_eq(gate_index_parse_json("[1]", 3, "u", "xgboost", "1", &l, &err), SMX_EFORMAT);
    cr_assert_eq(gate_index_parse_json("{\"x\":1}", 7, "u", "xgboost", "1", &l, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "neither a simple API page"), "%s", err.msg);
}

/* ---- listing from an index --------------------------------------------------------------- */

Test(gate_index, the_simple_api_is_asked_for_json_and_html_is_taken)
{
    th_index_add_wheel(ix, dir, "1.7.4", "manylinux2014_x86_64", th_system_lib());
    th_index_add_wheel(ix, dir, "1.5.2", "manylinux2014_x86_64", th_system_lib());
    th_index_add_bytes(ix, "xgboost-1.7.4.tar.gz", "sdist", 5);
    gate_runtime_opts o = opts("simple");
    gate_index_list l;
    smx_err err = {0};
    cr_assert_eq(gate_index_list_files(&o.index, "xgboost", "1.7.4", 1, &l, &err), SMX_OK, "%s",
                 err.msg);
    cr_assert(strstr(ix->accept, "application/vnd.pypi.simple.v1+json"), "%s", ix->accept);
    cr_assert_eq(l.n, 2);
    cr_assert(strstr(l.files[0].url, "/files/xgboost-1.7.4-py3-none-manylinux2014_x86_64.whl"),
              "relative to the page: %s", l.files[0].url);
    cr_assert_str_eq(l.files[0].sha256, ix->files[0].sha256);
    gate_index_list_free(&l);
    ix->html_only = 1;
    cr_assert_eq(gate_index_list_files(&o.index, "xgboost", "1.7.4", 1, &l, &err), SMX_OK, "%s",
                 err.msg);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.files[0].sha256, ix->files[0].sha256);
    gate_index_list_free(&l);
    /* the JSON API, by an index URL ending in /pypi; $PIP_INDEX_URL when none is given */
    gate_runtime_opts j = opts(NULL);
    setenv("PIP_INDEX_URL", th_index_url(ix, "pypi/"), 1);
    cr_assert_eq(gate_index_list_files(&j.index, "xgboost", "1.5.2", 1, &l, &err), SMX_OK, "%s",
                 err.msg);
    cr_assert(strstr(l.where, "/pypi/xgboost/1.5.2/json"), "%s", l.where);
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.files[0].sha256, ix->files[1].sha256);
    gate_index_list_free(&l);
    cr_assert_eq(gate_index_list_files(&j.index, "xgboost", "9.9.9", 1, &l, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "HTTP 404: the index has no xgboost 9.9.9"), "%s", err.msg);
}

Test(gate_index, an_index_that_fails_says_how)
{
    gate_runtime_opts o = opts("simple");
    gate_index_list l;
    smx_err err = {0};
    ix->status = 404;
    cr_assert_eq(gate_index_list_files(&o.index, "xgboost", "1.7.4", 1, &l, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "HTTP 404: the index has no project xgboost") &&
                  strstr(err.msg, "--index-url"),
              "%s", err.msg);
    cr_assert_eq(ix->pages, 1, "a 404 is not retried");
    ix->status = 500;
    ix->pages = 0;
    o.index.fetch.retries = 2;
    cr_assert_eq(gate_index_list_files(&o.index, "xgboost", "1.7.4", 1, &l, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "HTTP 500") && strstr(err.msg, "gave up after 3 attempts"), "%s",
              err.msg);
    cr_assert_eq(ix->pages, 3);
    /* an index that never answers: the deadline ends it */
    ix->status = 0;
    ix->delay = 30;
    o.index.fetch.low_speed_time = 1;
    o.index.fetch.deadline = 3;
    double t0 = smx_now();
    cr_assert_eq(gate_index_list_files(&o.index, "xgboost", "1.7.4", 1, &l, &err), SMX_EIO);
    cr_assert_lt(smx_now() - t0, 10.0);
    cr_assert(strstr(err.msg, "deadline") || strstr(err.msg, "stalled"), "%s", err.msg);
}

/* ---- fetching a runtime ------------------------------------------------------------------ */

Test(gate_index, fetch_chooses_verifies_caches_and_does_not_download_twice)
{
    /* what does not run here, an older tag, and the one pip would take */
    th_index_add_wheel(ix, dir, "1.7.4", "manylinux2014_aarch64", th_system_lib());
    th_index_add_wheel(ix, dir, "1.7.4", "macosx_12_0_arm64", th_system_lib());
    th_index_add_bytes(ix, "xgboost-1.7.4.tar.gz", "sdist", 5);
    th_index_file *old = th_index_add_wheel(ix, dir, "1.7.4", "manylinux1_x86_64", th_system_lib());
    th_index_file *best =
        th_index_add_wheel(ix, dir, "1.7.4", "manylinux2014_x86_64", th_system_lib());
    th_index_add_wheel(ix, dir, "1.7.4", "manylinux_2_99_x86_64", th_system_lib());
    gate_runtime_opts o = opts("simple");
    gate_runtime_result r;
    smx_err err = {0};
    cr_assert_eq(gate_runtime_fetch("1.7.4", &o, &r, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(r.outcome, GATE_RUNTIME_FETCHED);
    cr_assert_str_eq(r.wheel, best->name);
    cr_assert(r.sha256_published && r.bytes == best->len);
    cr_assert(r.runtime.found && !strcmp(r.runtime.loaded, "1.7.4"));
    cr_assert_eq(th_index_downloads(ix, best), 1);
    cr_assert_eq(th_index_downloads(ix, old), 0);
    /* cached: no index page, no download */
    int pages = ix->pages;
    cr_assert_eq(gate_runtime_fetch("1.7.4", &o, &r, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(r.outcome, GATE_RUNTIME_CACHED);
    cr_assert_eq(ix->pages, pages);
    cr_assert_eq(th_index_downloads(ix, best), 1);
    /* nothing of the download is left in TMPDIR's scratch */
    char *out = NULL;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls -A '%s/cache/smxgb'", dir);
    cr_assert_eq(th_run(cmd, &out), 0);
    cr_assert(strstr(out, "runtimes") && strstr(out, "wheels") && !strstr(out, "whl"), "%s", out);
    free(out);
}

Test(gate_index, a_sha256_that_is_not_the_published_one_caches_nothing)
{
    th_index_file *f =
        th_index_add_wheel(ix, dir, "1.7.4", "manylinux2014_x86_64", th_system_lib());
    f->sha256[10] = f->sha256[10] == 'a' ? 'b' : 'a';
    gate_runtime_opts o = opts("simple");
    gate_runtime_result r;
    smx_err err = {0};
    cr_assert_eq(gate_runtime_fetch("1.7.4", &o, &r, &err), SMX_EFORMAT);
    cr_assert(strstr(err.msg, "but the index publishes") && strstr(err.msg, "nothing was cached"),
              "%s", err.msg);
    compat_runtime rt;
    cr_assert_eq(compat_runtime_find("1.7.4", NULL, &rt, &err), SMX_OK);
    cr_assert(!rt.found);
}

Test(gate_index, a_download_cut_short_is_retried_or_resumed)
{
    th_index_file *f =
        th_index_add_wheel(ix, dir, "1.7.4", "manylinux2014_x86_64", th_system_lib());
    gate_runtime_opts o = opts("simple");
    gate_runtime_result r;
    smx_err err = {0};
    /* no ranges: the retry starts again */
    f->cut = 1;
    cr_assert_eq(gate_runtime_fetch("1.7.4", &o, &r, &err), SMX_OK, "%s", err.msg);
    cr_assert(r.attempts == 2 && r.resumed == 0, "%d %d", r.attempts, r.resumed);
    cr_assert_eq(th_index_downloads(ix, f), 2);

    /* ranges: the retry asks for the rest (through the JSON API, into another cache) */
    setenv("XDG_CACHE_HOME", th_path(dir, "cache2"), 1);
    f->ranges = 1;
    f->cut = th_index_downloads(ix, f) + 1;
    o = opts("pypi");
    cr_assert_eq(gate_runtime_fetch("1.7.4", &o, &r, &err), SMX_OK, "%s", err.msg);
    cr_assert(r.attempts == 2 && r.resumed == 1, "%d %d", r.attempts, r.resumed);
    cr_assert(r.runtime.found && r.bytes == f->len);

    /* cut every time: gives up, saying how much arrived */
    setenv("XDG_CACHE_HOME", th_path(dir, "cache3"), 1);
    f->ranges = 0;
    f->cut = 100;
    o.index.fetch.retries = 2;
    cr_assert_eq(gate_runtime_fetch("1.7.4", &o, &r, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "Content-Length said") || strstr(err.msg, "Transferred a partial"),
              "%s", err.msg);
    cr_assert(strstr(err.msg, "gave up after 3 attempts"), "%s", err.msg);
}

Test(gate_index, no_wheel_for_this_platform_says_what_there_is)
{
    th_index_add_wheel(ix, dir, "0.90", "manylinux2014_aarch64", th_system_lib());
    th_index_add_wheel(ix, dir, "0.90", "win_amd64", th_system_lib());
    th_index_add_wheel(ix, dir, "0.90", "manylinux_2_99_x86_64", th_system_lib());
    th_index_add_bytes(ix, "xgboost-0.90.tar.gz", "sdist", 5);
    gate_runtime_opts o = opts("simple");
    gate_runtime_result r;
    smx_err err = {0};
    cr_assert_eq(gate_runtime_fetch("0.90", &o, &r, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(r.outcome, GATE_RUNTIME_NO_WHEEL);
    cr_assert(strstr(r.why, "no wheel of xgboost 0.90 runs on this machine (Linux x86_64"), "%s",
              r.why);
    cr_assert(strstr(r.why, "manylinux2014_aarch64.whl (for aarch64") &&
                  strstr(r.why, "win_amd64.whl (for Windows") &&
                  strstr(r.why, "(needs glibc 2.99") &&
                  strstr(r.why, "xgboost-0.90.tar.gz (a source distribution"),
              "%s", r.why);
    /* and a version the index has no file of */
    cr_assert_eq(gate_runtime_fetch("1.3.3", &o, &r, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(r.outcome, GATE_RUNTIME_NO_WHEEL);
    cr_assert(strstr(r.why, "has no file of xgboost 1.3.3"), "%s", r.why);
}

Test(gate_index, a_folder_of_wheels_needs_no_index)
{
    char *links = strdup(th_path(dir, "wheels"));
    mkdir(links, 0700);
    th_index *other = th_index_start(); /* builds the wheel into the folder; never asked */
    th_index_add_wheel(other, links, "1.7.4", "manylinux2014_x86_64", th_system_lib());
    th_index_add_wheel(other, links, "1.5.2", "manylinux2014_aarch64", th_system_lib());
    th_index_stop(other);
    gate_runtime_opts o = opts(NULL);
    o.index.index_url = "http://127.0.0.1:1/simple"; /* nothing listens there */
    const char *fl[] = {links};
    o.index.find_links = fl;
    o.index.n_find_links = 1;
    gate_runtime_result r;
    smx_err err = {0};
    cr_assert_eq(gate_runtime_fetch("1.7.4", &o, &r, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(r.outcome, GATE_RUNTIME_FETCHED);
    cr_assert(!r.sha256_published && strstr(r.from, "/wheels/xgboost-1.7.4-"), "%s", r.from);
    /* only a wheel for another machine there, and no index: not available, nothing asked */
    o.index.no_index = 1;
    cr_assert_eq(gate_runtime_fetch("1.5.2", &o, &r, &err), SMX_OK, "%s", err.msg);
    cr_assert_eq(r.outcome, GATE_RUNTIME_NO_WHEEL);
    cr_assert(strstr(r.why, "for aarch64"), "%s", r.why);
    /* a folder that is not there */
    const char *missing[] = {th_path(dir, "nope")};
    o.index.find_links = missing;
    cr_assert_eq(gate_runtime_fetch("1.5.2", &o, &r, &err), SMX_EIO);
    cr_assert(strstr(err.msg, "--find-links"), "%s", err.msg);
    free(links);
}

Test(gate_index, a_proxy_from_the_environment_is_used)
{
    th_index_add_wheel(ix, dir, "1.7.4", "manylinux2014_x86_64", th_system_lib());
    /* the index's name never resolves (.invalid); the proxy on loopback answers for it */
    char proxy[128];
    snprintf(proxy, sizeof proxy, "%s", th_server_url(ix->srv));
    setenv("http_proxy", proxy, 1);
    gate_runtime_opts o = opts(NULL);
    o.index.index_url = "http://pypi.invalid/simple";
    gate_runtime_result r;
    smx_err err = {0};
    int rc = gate_runtime_fetch("1.7.4", &o, &r, &err);
    unsetenv("http_proxy");
    cr_assert_eq(rc, SMX_OK, "%s", err.msg);
    cr_assert_eq(r.outcome, GATE_RUNTIME_FETCHED);
    cr_assert(ix->proxied >= 2, "the page and the wheel went through the proxy: %d", ix->proxied);
}
