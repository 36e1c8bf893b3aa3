/*
 * The one option parser every verb uses (git's parse-options, in small): a verb declares a
 * table of options, and the same table drives parsing, `smxgb VERB --help` and
 * `smxgb help VERB`, so the documentation cannot drift from what is accepted.
 */
#ifndef SMXGB_TOOLS_OPTS_H
#define SMXGB_TOOLS_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    OPT_END,
    OPT_FLAG,
    OPT_STRING,
    OPT_LIST,
    OPT_INT,
    OPT_U64,
    OPT_DOUBLE,
    OPT_INCLUDE /* value is another table (opt *) whose options the verb takes too */
} opt_type;

typedef struct str_list {
    const char **v;
    size_t n;
} str_list;

typedef struct opt {
    opt_type type;
    char short_name;       /* 0 = none */
    const char *long_name; /* without "--" */
    void *value;           /* int*, const char**, str_list*, long*, uint64_t*, double*, opt* */
    const char *argh;      /* argument placeholder, e.g. "TAG" */
    const char *help;
} opt;

typedef struct verb_doc {
    const char *name;
    const char *usage;       /* "smxgb verify ARTIFACT [options]" */
    const char *summary;     /* one line */
    const char *description; /* paragraphs, may be NULL */
    const opt *opts;
    const char *exit_codes; /* verb-specific exit codes, may be NULL */
} verb_doc;

/*
 * Parse argv[1..] against doc->opts. Positional arguments are compacted into argv[1..] and
 * their count returned. On --help prints help and returns -2; on a usage error prints it with
 * the usage line to stderr and returns -1.
 */
int opts_parse(int argc, char **argv, const verb_doc *doc);
void opts_print_help(FILE *f, const verb_doc *doc);
void str_list_free(str_list *l);

#endif
