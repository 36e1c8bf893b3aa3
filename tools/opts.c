/*
 * Option parsing for every verb: --long, --long=value, --long value, -s value, -s, and "--"
 * to end options. Values are stored straight into the verb's variables through the table.
 */
#include "opts.h"

#include "../base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void str_list_free(str_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int list_push(str_list *l, const char *s)
{
    const char **v = smx_push((void **)&l->v, &l->n, sizeof *v);
    if (!v)
        return -1;
    *v = s;
    return 0;
}

static int usage_error(const verb_doc *doc, const char *msg, const char *arg)
{
    fprintf(stderr, "smxgb %s: %s%s%s\nusage: %s\nTry 'smxgb help %s'.\n", doc->name, msg,
            arg ? ": " : "", arg ? arg : "", doc->usage, doc->name);
    return -1;
}

static int set_value(const verb_doc *doc, const opt *o, const char *val)
{
    char *end;
    errno = 0;
    switch (o->type) {
    case OPT_STRING:
        *(const char **)o->value = val;
        return 0;
    case OPT_LIST:
        return list_push(o->value, val) ? usage_error(doc, "out of memory", NULL) : 0;
    case OPT_INT: {
        long v = strtol(val, &end, 10);
        if (errno || *end || end == val || v < -2147483647L || v > 2147483647L)
            return usage_error(doc, "expected an integer", val);
        *(int *)o->value = (int)v;
        return 0;
    }
    case OPT_U64: {
        if (val[0] == '-')
            return usage_error(doc, "expected a non-negative integer", val);
        unsigned long long v = strtoull(val, &end, 10);
        uint64_t mul = 1;
        if (*end == 'K' || *end == 'k')
            mul = 1ull << 10, end++;
        else if (*end == 'M' || *end == 'm')
            mul = 1ull << 20, end++;
        else if (*end == 'G' || *end == 'g')
            mul = 1ull << 30, end++;
        if (errno || *end || end == val || (mul > 1 && v > UINT64_MAX / mul))
            return usage_error(doc, "expected a non-negative integer (suffix K, M or G allowed)",
                               val);
        *(uint64_t *)o->value = (uint64_t)v * mul;
        return 0;
    }
    case OPT_DOUBLE: {
        double v = strtod(val, &end);
        if (errno || *end || end == val)
            return usage_error(doc, "expected a number", val);
        *(double *)o->value = v;
        return 0;
    }
    default:
        return usage_error(doc, "internal: bad option type", o->long_name);
    }
}

/* The option named by a long name (nl bytes of name) or a short one, in table and the tables it
 * includes; the last match wins. */
static const opt *find_opt(const opt *table, const char *name, size_t nl, char short_name)
{
    const opt *found = NULL;
    for (const opt *p = table; p && p->type != OPT_END; p++) {
        const opt *q = p->type == OPT_INCLUDE ? find_opt(p->value, name, nl, short_name) : NULL;
        if (q)
            found = q;
        else if (p->type != OPT_INCLUDE &&
                 (name ? strlen(p->long_name) == nl && !strncmp(p->long_name, name, nl)
                       : p->short_name && p->short_name == short_name))
            found = p;
    }
    return found;
}

int opts_parse(int argc, char **argv, const verb_doc *doc)
{
    int npos = 0;
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            argv[1 + npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            opts_print_help(stdout, doc);
            return -2;
        }
        const opt *o = NULL;
        const char *val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            o = find_opt(doc->opts, name, nl, 0);
            if (!o)
                return usage_error(doc, "unknown option", a);
            if (eq) {
                if (o->type == OPT_FLAG)
                    return usage_error(doc, "option takes no value", a);
                val = eq + 1;
            }
        } else {
            o = find_opt(doc->opts, NULL, 0, a[1]);
            if (!o)
                return usage_error(doc, "unknown option", a);
            if (a[2]) {
                if (o->type == OPT_FLAG)
                    return usage_error(doc, "option takes no value", a);
                val = a + 2;
            }
        }
        if (o->type == OPT_FLAG) {
            *(int *)o->value = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return usage_error(doc, "option needs a value", a);
            val = argv[++i];
        }
        if (set_value(doc, o, val))
            return -1;
    }
    return npos;
}

static void print_opt(FILE *f, const opt *p)
{
    char left[80];
    int n = 0;
    if (p->short_name)
        n = snprintf(left, sizeof left, "-%c, --%s", p->short_name, p->long_name);
    else
        n = snprintf(left, sizeof left, "    --%s", p->long_name);
    if (p->type != OPT_FLAG && n > 0 && (size_t)n < sizeof left)
        snprintf(left + n, sizeof left - (size_t)n, " %s", p->argh ? p->argh : "VALUE");
    if (strlen(left) > 26)
        fprintf(f, "  %s\n  %-26s  %s\n", left, "", p->help);
    else
        fprintf(f, "  %-26s  %s\n", left, p->help);
}

size_t opts_flatten(const opt *table, const opt **out, size_t cap)
{
    size_t n = 0;
    for (const opt *p = table; p && p->type != OPT_END; p++) {
        if (p->type == OPT_INCLUDE) {
            n += opts_flatten(p->value, n < cap ? out + n : NULL, n < cap ? cap - n : 0);
            continue;
        }
        if (n < cap)
            out[n] = p;
        n++;
    }
    return n;
}

/* Print table's options (and those of the tables it includes); returns how many. */
static int print_opts(FILE *f, const opt *table, int printed)
{
    for (const opt *p = table; p && p->type != OPT_END; p++) {
        if (p->type == OPT_INCLUDE) {
            printed = print_opts(f, p->value, printed);
            continue;
        }
        if (!printed++)
            fprintf(f, "\noptions:\n");
        print_opt(f, p);
    }
    return printed;
}

void opts_print_help(FILE *f, const verb_doc *doc)
{
    fprintf(f, "usage: %s\n\n%s\n", doc->usage, doc->summary);
    if (doc->description)
        fprintf(f, "\n%s\n", doc->description);
    if (print_opts(f, doc->opts, 0))
        fprintf(f, "  %-26s  %s\n", "-h, --help", "show this help");
    if (doc->exit_codes)
        fprintf(f, "\nexit status:\n%s\n", doc->exit_codes);
}
