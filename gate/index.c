/*
 * The package index: which files of a project's version an index or a folder offers, with the
 * sha256 each is published with, as pip finds them.
 *
 *   simple API   INDEX/PROJECT/ (pip's --index-url, $PIP_INDEX_URL; PyPI's is
 *                https://pypi.org/simple/). Asked for PEP 691 JSON first
 *                (application/vnd.pypi.simple.v1+json: files[].filename, url, hashes.sha256,
 *                yanked), PEP 503 HTML taken when that is what comes (<a href="URL#sha256=HEX">
 *                FILENAME</a>, data-yanked). URLs are relative to the page that answered.
 *   JSON API     an index URL whose path ends in /pypi (https://pypi.org/pypi):
 *                INDEX/PROJECT/VERSION/json, urls[].filename, url, digests.sha256, yanked.
 *   find-links   a local folder of wheels (pip's --find-links DIR): every file there named
 *                for the project and version; no hash is published, the file is trusted as
 *                the user's.
 *
 * Pages are downloaded with fetch.c (retries, deadline, size cap, proxy and CA settings) into
 * scratch and parsed from memory. The parsers take (buf, len) and trust nothing in them: a
 * file name must be a plain name, a hash 64 hex digits, a URL http(s) once resolved.
 */
#include "gate_private.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PAGE_MAX_BYTES ((uint64_t)64 << 20)
#define SIMPLE_ACCEPT                                                                              \
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "             \
    "text/html;q=0.01"

void gate_index_list_free(gate_index_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->files[i].filename);
        free(l->files[i].url);
    }
    free(l->files);
    l->files = NULL;
    l->n = 0;
}

/* PEP 503 normalisation: case and runs of '-', '_', '.' do not matter. */
static int same_project(const char *a, size_t an, const char *b)
{
    size_t i = 0, j = 0, bn = strlen(b);
    while (i < an && j < bn) {
        int sa = strchr("-_.", a[i]) != NULL, sb = strchr("-_.", b[j]) != NULL;
        if (sa && sb) {
            while (i < an && strchr("-_.", a[i]))
                i++;
            while (j < bn && strchr("-_.", b[j]))
                j++;
            continue;
        }
        if (sa || sb || tolower((unsigned char)a[i]) != tolower((unsigned char)b[j]))
            return 0;
        i++, j++;
    }
    return i == an && j == bn;
}

/* The file is project's, of version: a wheel by its name's fields, a source distribution
 * (NAME-VERSION.tar.gz, .zip, .tar.bz2) by its last '-'. */
static int file_matches(const char *filename, const char *project, const char *version)
{
    compat_wheel_name w;
    if (!compat_wheel_name_parse(filename, &w))
        return same_project(w.project, strlen(w.project), project) &&
               compat_version_same(w.version, version);
    static const char *const exts[] = {".tar.gz", ".zip", ".tar.bz2", ".tgz"};
    size_t n = strlen(filename);
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
        size_t el = strlen(exts[i]);
        if (n <= el || strcasecmp(filename + n - el, exts[i]))
            continue;
        const char *dash = NULL;
        for (const char *p = filename; p < filename + n - el; p++)
            if (*p == '-')
                dash = p;
        if (!dash)
            return 0;
        char v[64];
        snprintf(v, sizeof v, "%.*s", (int)(filename + n - el - dash - 1), dash + 1);
        return same_project(filename, (size_t)(dash - filename), project) &&
               compat_version_same(v, version);
    }
    return 0;
}

/* A plain file name: no '/', no control characters, not "." or "..". */
static int plain_name(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) > 255)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == '/' || *p == '\\' || *p == 0x7f)
            return 0;
    return 1;
}

static int hex64(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

/* rel resolved against base (an absolute http(s) URL, or NULL for none); malloc'd or NULL. */
static char *resolve(const char *base, const char *rel)
{
    CURLU *u = curl_url();
    char *out = NULL, *scheme = NULL;
    if (u && (!base || curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK) &&
        curl_url_set(u, CURLUPART_URL, rel, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        (!strcmp(scheme, "https") || !strcmp(scheme, "http")))
        curl_url_get(u, CURLUPART_URL, &out, 0);
    curl_free(scheme);
    curl_url_cleanup(u);
    char *copy = out ? strdup(out) : NULL;
    curl_free(out);
    return copy;
}

/* Add a file when it is project's, of version, and sane; 0, or -1 when out of memory. */
static int add_file(gate_index_list *l, const char *filename, const char *url, const char *sha,
                    int yanked, int local, const char *project, const char *version)
{
    if (!filename || !url || !plain_name(filename) || !file_matches(filename, project, version))
        return 0;
    size_t cap = l->n;
    if (smx_grow((void **)&l->files, &cap, l->n + 1, sizeof *l->files))
        return -1;
    gate_index_file *f = &l->files[l->n];
    memset(f, 0, sizeof *f);
    f->filename = strdup(filename);
    f->url = strdup(url);
    if (!f->filename || !f->url) {
        free(f->filename);
        free(f->url);
        return -1;
    }
    if (hex64(sha))
        for (int i = 0; i < 65; i++)
            f->sha256[i] = (char)tolower((unsigned char)sha[i]);
    f->yanked = yanked;
    f->local = local;
    l->n++;
    return 0;
}

/* ---- PEP 503 HTML ------------------------------------------------------------------------ */

/* Decode the entities a simple page uses (&amp; &lt; &gt; &quot; &#39; &#NN; &#xNN;) in place. */
static void unescape(char *s)
{
    static const struct {
        const char *name;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    char *w = s;
    for (char *r = s; *r;) {
        int done = 0;
        for (size_t i = 0; i < sizeof ents / sizeof *ents && !done; i++)
            if (!strncmp(r, ents[i].name, strlen(ents[i].name))) {
                *w++ = ents[i].c;
                r += strlen(ents[i].name);
                done = 1;
            }
        if (!done && r[0] == '&' && r[1] == '#') {
            char *end;
            long v = r[2] == 'x' || r[2] == 'X' ? strtol(r + 3, &end, 16) : strtol(r + 2, &end, 10);
            if (*end == ';' && v > 0 && v < 128) {
                *w++ = (char)v;
                r = end + 1;
                done = 1;
            }
        }
        if (!done)
            *w++ = *r++;
    }
    *w = '\0';
}

/* The value of attribute name in the tag text [p, end), malloc'd; NULL if absent. *present is
 * set when the attribute is there, with or without a value. */
static char *attr(const char *p, const char *end, const char *name, int *present)
{
    size_t nl = strlen(name);
    if (present)
        *present = 0;
    for (const char *q = p; q + nl <= end; q++) {
        if (strncasecmp(q, name, nl) || !isspace((unsigned char)q[-1]))
            continue;
        const char *v = q + nl;
        while (v < end && isspace((unsigned char)*v))
            v++;
        if (v < end && *v != '=' && (isalpha((unsigned char)*v) || *v == '-'))
            continue; /* a longer attribute name */
        if (present)
            *present = 1;
        if (v >= end || *v != '=')
            return strdup("");
        v++;
        while (v < end && isspace((unsigned char)*v))
            v++;
        char quote = v < end && (*v == '"' || *v == '\'') ? *v++ : 0;
        const char *e = v;
        while (e < end && (quote ? *e != quote : !isspace((unsigned char)*e) && *e != '>'))
            e++;
        char *val = strndup(v, (size_t)(e - v));
        if (val)
            unescape(val);
        return val;
    }
    return NULL;
}

/* The name from a URL: its last path part, without query and fragment, %XX decoded. */
static char *name_from_url(const char *url)
{
    size_t n = strcspn(url, "?#");
    const char *s = url;
    for (const char *p = url; p < url + n; p++)
        if (*p == '/')
            s = p + 1;
    char *out = strndup(s, (size_t)(url + n - s));
    if (!out)
        return NULL;
    char *w = out;
    for (char *r = out; *r; r++) {
        unsigned hi, lo;
        if (r[0] == '%' && sscanf(r + 1, "%1x%1x", &hi, &lo) == 2 && (hi || lo)) {
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return out;
}

/* One <a ...>text</a>: [tag, tag_end) the attributes, [text, text_end) the text. */
static int html_anchor(gate_index_list *l, const char *tag, const char *tag_end, const char *text,
                       const char *text_end, const char *base, const char *project,
                       const char *version)
{
    int yanked = 0;
    char *href = attr(tag, tag_end, "href", NULL), *y = attr(tag, tag_end, "data-yanked", &yanked);
    free(y);
    if (!href)
        return 0;
    char *name = strndup(text, (size_t)(text_end - text));
    if (name) {
        unescape(name);
        char *s = name, *e = name + strlen(name);
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = '\0';
        memmove(name, s, strlen(s) + 1);
    }
    if (name && !*name) {
        free(name);
        name = name_from_url(href);
    }
    const char *frag = strchr(href, '#');
    const char *sha = frag && !strncmp(frag, "#sha256=", 8) ? frag + 8 : NULL;
    char *url = resolve(base, href);
    int rc = name ? add_file(l, name, url, sha, yanked, 0, project, version) : -1;
    free(name);
    free(url);
    free(href);
    return rc;
}

int gate_index_parse_html(const char *buf, size_t len, const char *base, const char *project,
                          const char *version, gate_index_list *l, smx_err *err)
{
    char *text = strndup(buf, len); /* a NUL inside ends the page */
    if (!text)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    const char *end = text + strlen(text);
    for (const char *p = text; p < end;) {
        const char *a = strcasestr(p, "<a");
        if (!a || a + 2 >= end)
            break;
        if (!isspace((unsigned char)a[2])) {
            p = a + 2;
            continue;
        }
        const char *tag_end = strchr(a, '>');
        const char *close = tag_end ? strcasestr(tag_end, "</a") : NULL;
        if (!close)
            break;
        if (html_anchor(l, a + 2, tag_end, tag_end + 1, close, base, project, version)) {
            free(text);
            return smx_fail(err, SMX_ENOMEM, "out of memory");
        }
        p = close + 3;
    }
    free(text);
    return SMX_OK;
}

/* ---- PEP 691 JSON and the JSON API ------------------------------------------------------- */

int gate_index_parse_json(const char *buf, size_t len, const char *base, const char *project,
                          const char *version, gate_index_list *l, smx_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return smx_fail(err, SMX_EFORMAT, "%s: not a JSON object (line %d: %s)", base, je.line,
                        je.text);
    }
    /* PEP 691 lists files[] with hashes; the JSON API urls[] with digests */
    json_t *files = json_object_get(j, "files");
    const char *hashes = "hashes";
    if (!json_is_array(files)) {
        files = json_object_get(j, "urls");
        hashes = "digests";
    }
    if (!json_is_array(files)) {
        json_decref(j);
        return smx_fail(err, SMX_EFORMAT,
                        "%s: neither a simple API page (files[]) nor a JSON API answer (urls[])",
                        base);
    }
    int rc = SMX_OK;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "filename"));
        const char *href = json_string_value(json_object_get(f, "url"));
        const char *sha = json_string_value(json_object_get(json_object_get(f, hashes), "sha256"));
        json_t *y = json_object_get(f, "yanked");
        int yanked = json_is_true(y) || (json_is_string(y));
        char *url = href ? resolve(base, href) : NULL;
        if (add_file(l, name, url, sha, yanked, 0, project, version))
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        free(url);
        if (rc)
            break;
    }
    json_decref(j);
    return rc;
}

/* ---- where the list comes from ----------------------------------------------------------- */

static int list_folder(const char *dir, const char *project, const char *version,
                       gate_index_list *l, smx_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return smx_fail_at(err, SMX_EIO, dir, "give --find-links a folder of wheels",
                           "--find-links %s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = SMX_OK;
    while (!rc && (e = readdir(d))) {
        smx_buf p = SMX_BUF_INIT;
        smx_buf_printf(&p, "%s/%s", dir, e->d_name);
        if (!p.data || add_file(l, e->d_name, p.data, NULL, 0, 1, project, version))
            rc = smx_fail(err, SMX_ENOMEM, "out of memory");
        smx_buf_free(&p);
    }
    closedir(d);
    return rc;
}

/* GET url into body (at most PAGE_MAX_BYTES) with the caller's download settings. */
static int get_page(const char *url, const char *accept, const gate_fetch_opts *fo, smx_buf *body,
                    gate_fetch_info *info, smx_err *err)
{
    gate_fetch_opts o = *fo;
    o.accept = accept;
    o.max_bytes = PAGE_MAX_BYTES;
    o.max_unsized = PAGE_MAX_BYTES;
    o.progress = NULL;
    o.resume = 0;
    memset(info, 0, sizeof *info);
    char *path = NULL;
    int fd = gate__temp_file(&o, "smxgb-index", &path, err);
    if (fd < 0)
        return err->status;
    int rc = gate__fetch_fd(url, url, &o, 0, fd, path, info, err);
    close(fd);
    if (!rc)
        rc = smx_buf_read_file(body, path, PAGE_MAX_BYTES, err);
    smx_scratch_remove(path);
    free(path);
    return rc;
}

/* The index URL: the caller's, $PIP_INDEX_URL, else PyPI's simple API; *json_api when its
 * path ends in /pypi. malloc'd, without trailing '/'. */
static char *index_base(const gate_index_opts *o, int *json_api)
{
    const char *u = o->index_url && *o->index_url ? o->index_url : getenv("PIP_INDEX_URL");
    if (!u || !*u)
        u = GATE_INDEX_DEFAULT;
    size_t n = strlen(u);
    while (n && u[n - 1] == '/')
        n--;
    *json_api = n >= 5 && !strncmp(u + n - 5, "/pypi", 5);
    return strndup(u, n);
}

static int list_index(const gate_index_opts *o, const char *project, const char *version,
                      gate_index_list *l, smx_err *err)
{
    int json_api;
    char *base = index_base(o, &json_api);
    smx_buf url = SMX_BUF_INIT, body = SMX_BUF_INIT;
    if (base && json_api)
        smx_buf_printf(&url, "%s/%s/%s/json", base, project, version);
    else if (base)
        smx_buf_printf(&url, "%s/%s/", base, project);
    free(base);
    if (!url.data)
        return smx_fail(err, SMX_ENOMEM, "out of memory");
    snprintf(l->where, sizeof l->where, "%s", url.data);
    gate_fetch_info info;
    int rc = get_page(url.data, json_api ? "application/json" : SIMPLE_ACCEPT, &o->fetch, &body,
                      &info, err);
    if (rc && info.status == 404)
        rc = smx_fail(err, SMX_EIO,
                      json_api ? "%s: HTTP 404: the index has no %s %s (check the version, or "
                                 "the index: --index-url)"
                               : "%s: HTTP 404: the index has no project %s (check --index-url: "
                                 "a simple API, like https://pypi.org/simple)",
                      url.data, project, version);
    else if (!rc && (json_api ||
                     !strncasecmp(info.content_type, "application/vnd.pypi.simple.v1+json", 35) ||
                     !strncasecmp(info.content_type, "application/json", 16) ||
                     (!info.content_type[0] && body.len && body.data[0] == '{')))
        rc = gate_index_parse_json(body.data, body.len, info.final_url, project, version, l, err);
    else if (!rc)
        rc = gate_index_parse_html(body.data ? body.data : "", body.len, info.final_url, project,
                                   version, l, err);
    smx_buf_free(&url);
    smx_buf_free(&body);
    return rc;
}

int gate_index_list_files(const gate_index_opts *o, const char *project, const char *version,
                          int from_index, gate_index_list *l, smx_err *err)
{
    memset(l, 0, sizeof *l);
    int rc = SMX_OK;
    for (size_t i = 0; !from_index && !rc && i < o->n_find_links; i++) {
        rc = list_folder(o->find_links[i], project, version, l, err);
        snprintf(l->where, sizeof l->where, "%s", o->find_links[i]);
    }
    if (!from_index || rc)
        return rc;
    if ((rc = gate__curl_init(err)))
        return rc;
    return list_index(o, project, version, l, err);
}
