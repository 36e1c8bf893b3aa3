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
/* Every option of table in order, the tables it includes expanded: up to cap pointers into out;
 * returns how many there are. */
#define OPTS_MAX 128
size_t opts_flatten(const opt *table, const opt **out, size_t cap);
void str_list_free(str_list *l);

/*
 * The same tables as man(7) pages and shell completion (opts_doc.c), printed by the hidden
 * `smxgb help --man [VERB]` and `smxgb help --completion bash|zsh` that the build runs.
 */
typedef struct opts_completion {
    const verb_doc *const *docs; /* every verb, in `smxgb help` order */
    size_t n;
    const char *const *topics; /* NULL-terminated help topics besides the verbs */
    const char *const *tags;   /* NULL-terminated container tags: the values of a TAG option */
} opts_completion;

void opts_print_man(FILE *f, const verb_doc *doc, const char *version);
/* Pieces for a page that is not a verb's (smxgb(1)): the .TH line (title as "smxgb-verify"),
 * help-style text as roff paragraphs, and "  N  meaning" lines as an exit status list. */
void opts_man_header(FILE *f, const char *title, const char *version);
void opts_man_text(FILE *f, const char *text);
void opts_man_exit_codes(FILE *f, const char *codes);
void opts_print_completion_bash(FILE *f, const opts_completion *c);
void opts_print_completion_zsh(FILE *f, const opts_completion *c);

#endif
