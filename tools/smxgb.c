/*
 * smxgb: the command table. Each verb lives in its own cmd_<verb>.c, parses its options with
 * opts.c from a table that also produces its help, calls library code (artifacts/, compat/,
 * serve/) and prints. This file only dispatches and documents.
 */
#include "tools.h"

#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SMXGB_VERSION
#define SMXGB_VERSION "0.0.0"
#endif

/* Filled before main() by SMXGB_VERB() in each cmd_<verb>.c, then sorted by order. */
#define MAX_VERBS 32
static struct verb verbs[MAX_VERBS + 1];
static size_t n_verbs;

void tools_register_verb(const char *name, int (*fn)(int, char **), const verb_doc *doc, int order)
{
    if (n_verbs == MAX_VERBS)
        abort(); /* a programming error caught by any test run */
    size_t i = n_verbs++;
    while (i > 0 && verbs[i - 1].order > order) {
        verbs[i] = verbs[i - 1];
        i--;
    }
    verbs[i] = (struct verb){name, fn, doc, order};
}

const char *tools_claim_stdout(const char *output, char *buf, size_t n)
{
    if (!output)
        return output;
    struct stat a, b;
    int is_stdout = !strcmp(output, "-") ||
                    (stat(output, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 &&
                     !S_ISREG(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino);
    if (!is_stdout)
        return output;
    fflush(stdout);
    int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
        return output;
    snprintf(buf, n, "/dev/fd/%d", fd);
    return buf;
}

int exit_for_status(int status)
{
    switch (status) {
    case SMX_OK:
        return EXIT_OK;
    case SMX_EINVAL:
    case SMX_EIO:
        return EXIT_USAGE;
    case SMX_ENOMEM:
    case SMX_ERUNTIME:
        return EXIT_INTERNAL;
    default:
        return EXIT_FINDINGS;
    }
}

int verb_parse_exit(int n)
{
    return n == -2 ? EXIT_OK : EXIT_USAGE;
}

int verb_usage(const verb_doc *doc, const char *need)
{
    fprintf(stderr, "smxgb %s: %s\nusage: %s\n", doc->name, need, doc->usage);
    return EXIT_USAGE;
}

int verb_env_ok(const verb_doc *doc, const str_list *env)
{
    for (size_t i = 0; i < env->n; i++)
        if (!strchr(env->v[i], '=') || env->v[i][0] == '=') {
            fprintf(stderr, "smxgb %s: --env '%s': expected KEY=VALUE\n", doc->name, env->v[i]);
            return 0;
        }
    return 1;
}

static void print_version(void)
{
    printf("smxgb %s\n", SMXGB_VERSION);
    compat_xgb *x;
    smx_err err = {0};
    if (compat_xgb_open(NULL, &x, &err) == SMX_OK) {
        char v[32];
        printf("xgboost %s (%s)\n", compat_version_str(compat_xgb_version(x), v, sizeof v),
               compat_xgb_path(x));
        compat_xgb_close(x);
    } else {
        printf("xgboost: not available: %s\n", err.msg);
    }
}

static const char tagline[] =
    "catch broken SageMaker XGBoost model artifacts before they are deployed";

/* `smxgb help` lists these after the verbs; smxgb(1) and completion use them too. */
static const struct {
    const char *usage, *what;
} help_topics[] = {
    {"smxgb help VERB", "options and behaviour of one verb"},
    {"smxgb help codes", "every finding code, its severity and meaning"},
    {"smxgb help exit-codes", "exit status of every verb"},
    {"smxgb --version", "smxgb's version and the XGBoost it runs"},
};

static void print_overview(FILE *f)
{
    fprintf(f, "usage: smxgb VERB [options] [args]\n\n%c%s.\n\nverbs:\n",
            toupper((unsigned char)tagline[0]), tagline + 1);
    for (const struct verb *v = verbs; v->name; v++)
        fprintf(f, "  %-10s %s\n", v->name, v->doc->summary);
    fprintf(f, "\nhelp topics:\n");
    for (size_t i = 0; i < sizeof help_topics / sizeof *help_topics; i++)
        fprintf(f, "  %-21s  %s\n", help_topics[i].usage, help_topics[i].what);
    fprintf(f, "\nexit status:\n" SMXGB_EXIT_CODES "\n");
}

static void print_codes(FILE *f)
{
    fprintf(f, "Finding codes (stable identifiers, as in --json output).\n\n"
               "The archive and its layout (verify, check, plan):\n");
    for (const artifact_code_doc *c = artifact_finding_codes; c->code; c++)
        fprintf(f, "  %-30s %-8s %s\n", c->code, c->severity, c->meaning);
    fprintf(f, "\nVerdict rules (verify's containers[].reasons[].rule; the data is "
               "compat/rules/rules.json):\n");
    size_t n = 0;
    smx_err err = {0};
    fprintf(f,
            "  A rule lists each outcome with the readers it applies to. Where the bytes cannot\n"
            "  tell whether a rule applies (a writer known only as 1.3.x), its outcome becomes\n"
            "  'unknown': not ok, with what would settle it.\n");
    if (compat_rules(&n, &err) == SMX_OK) {
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < compat_rule_n_outcomes(i); k++) {
                char readers[96];
                compat_rule_outcome_readers(i, k, readers, sizeof readers);
                const char *v = compat_rule_outcome_verdict(i, k);
                const char *why = compat_rule_outcome_why(i, k);
                fprintf(f, "  %-18s %-17s %s: %s\n", k ? "" : compat_rule_id(i), v ? v : "",
                        readers, why ? why : "");
            }
            fprintf(f, "  %-18s %-17s (source: %s)\n", "", "",
                    compat_rule_source(i) ? compat_rule_source(i) : "?");
        }
    } else {
        fprintf(f, "  (the rule table cannot be read: %s)\n", err.msg);
    }
    fprintf(f, "  %-18s %-17s %s\n", "LOAD-CHECK", "fails|wrong-pred.|note",
            "the model loaded (or failed to, or failed to predict after loading) with a real "
            "XGBoost in a child process; it decides for the containers of that version");
    fprintf(f, "  %-18s %-17s %s\n", "LAYOUT-ORDER", "(worst)|note",
            "SAGEMAKER_INFERENCE_ENSEMBLE off and several files: any of them may be the one "
            "os.listdir gives first; the worst of their verdicts");
    fprintf(f, "  %-18s %-17s %s\n", "ENSEMBLE-SHAPE", "fails",
            "an ensemble whose models predict different shapes: np.mean raises, every "
            "/invocations answers 400");
    fprintf(f, "  %-18s %-17s %s\n", "LAYOUT", "fails",
            "the archive or this container's layout has errors: nothing loads");
    fprintf(f, "  %-18s %-17s %s\n", "PARTIAL", "note",
            "a model over --load-max-bytes, identified as it streamed: every fact read, not "
            "load-checked");
    fprintf(f, "  %-18s %-17s %s\n", "UNKNOWN-FACT", "unknown",
            "a fact of the model lies beyond what the streaming read reaches: the verdicts "
            "resting on it are unknown");
    fprintf(f, "  %-18s %-17s %s\n", "UNIDENTIFIED", "unknown",
            "a model file that was not identified (over 64 files, or unreadable): not judged, "
            "so whether it loads is unknown");
    fprintf(f, "\nHealth checks and Terraform plans (check, plan):\n");
    for (const artifact_code_doc *c = gate_finding_codes; c->code; c++)
        fprintf(f, "  %-30s %-13s %s\n", c->code, c->severity, c->meaning);
}

/* ---- generated documentation: the build runs these (hidden) help forms --------------- */

/* smxgb(1): the overview, one entry per verb pointing at its own page. */
static void print_man_overview(FILE *f)
{
    opts_man_header(f, "smxgb", SMXGB_VERSION);
    fprintf(f, ".SH NAME\nsmxgb \\- ");
    opts_man_text(f, tagline);
    fprintf(f, ".SH SYNOPSIS\n.B smxgb\nVERB [options] [args]\n.br\n.B smxgb help\n"
               "[VERB | codes | exit\\-codes]\n.br\n.B smxgb \\-\\-version\n.SH DESCRIPTION\n");
    char first[sizeof tagline + 1];
    snprintf(first, sizeof first, "%c%s.", toupper((unsigned char)tagline[0]), tagline + 1);
    opts_man_text(f, first);
    fprintf(f, "Each verb has its own page and the same text as\n.BR \"smxgb help \" VERB .\n"
               ".SH VERBS\n");
    for (const struct verb *v = verbs; v->name; v++) {
        fprintf(f, ".TP\n.BR smxgb\\-%s (1)\n", v->name);
        opts_man_text(f, v->doc->summary);
    }
    fprintf(f, ".SH HELP TOPICS\n");
    for (size_t i = 0; i < sizeof help_topics / sizeof *help_topics; i++) {
        fprintf(f, ".TP\n.B ");
        opts_man_text(f, help_topics[i].usage);
        opts_man_text(f, help_topics[i].what);
    }
    fprintf(f, ".SH EXIT STATUS\n");
    opts_man_exit_codes(f, SMXGB_EXIT_CODES);
    fprintf(f, ".SH SEE ALSO\n");
    for (const struct verb *v = verbs; v->name; v++)
        fprintf(f, ".BR smxgb\\-%s (1)%s\n", v->name, v[1].name ? "," : "");
}

static int print_completion(const char *shell)
{
    const verb_doc *docs[MAX_VERBS];
    size_t n = 0;
    for (const struct verb *v = verbs; v->name; v++)
        docs[n++] = v->doc;
    static const char *const topics[] = {"codes", "exit-codes", NULL};
    const compat_container *cs;
    size_t n_cs = 0;
    smx_err err = {0};
    if (compat_containers(&cs, &n_cs, &err) != SMX_OK) {
        fprintf(stderr, "smxgb help: the container table cannot be read: %s\n", err.msg);
        return EXIT_INTERNAL;
    }
    const char *tags[64];
    size_t n_tags = 0;
    for (size_t i = 0; i < n_cs && n_tags + 1 < sizeof tags / sizeof *tags; i++)
        tags[n_tags++] = cs[i].tag;
    tags[n_tags] = NULL;
    opts_completion c = {docs, n, topics, tags};
    if (!strcmp(shell, "bash"))
        opts_print_completion_bash(stdout, &c);
    else if (!strcmp(shell, "zsh"))
        opts_print_completion_zsh(stdout, &c);
    else {
        fprintf(stderr, "smxgb help --completion: no completion for '%s' (bash, zsh)\n", shell);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* smxgb help --man [VERB] | --completion bash|zsh | --verbs */
static int help_generate(int argc, char **argv)
{
    const char *form = argv[1];
    if (!strcmp(form, "--verbs") && argc == 2) {
        for (const struct verb *v = verbs; v->name; v++)
            printf("%s\n", v->name);
        return EXIT_OK;
    }
    if (!strcmp(form, "--completion") && argc == 3)
        return print_completion(argv[2]);
    if (!strcmp(form, "--man") && argc == 2) {
        print_man_overview(stdout);
        return EXIT_OK;
    }
    if (!strcmp(form, "--man") && argc == 3)
        for (const struct verb *v = verbs; v->name; v++)
            if (!strcmp(v->name, argv[2])) {
                opts_print_man(stdout, v->doc, SMXGB_VERSION);
                return EXIT_OK;
            }
    fprintf(stderr, "smxgb help: usage: smxgb help --man [VERB] | --completion bash|zsh | "
                    "--verbs\n");
    return EXIT_USAGE;
}

static int cmd_help(int argc, char **argv)
{
    if (argc >= 2 && !strncmp(argv[1], "--", 2))
        return help_generate(argc, argv);
    if (argc < 2) {
        print_overview(stdout);
        return EXIT_OK;
    }
    const char *topic = argv[1];
    if (!strcmp(topic, "codes")) {
        print_codes(stdout);
        return EXIT_OK;
    }
    if (!strcmp(topic, "exit-codes")) {
        printf("exit status (every verb):\n" SMXGB_EXIT_CODES "\n");
        for (const struct verb *v = verbs; v->name; v++)
            if (v->doc->exit_codes)
                printf("\nsmxgb %s:\n%s\n", v->name, v->doc->exit_codes);
        return EXIT_OK;
    }
    for (const struct verb *v = verbs; v->name; v++)
        if (!strcmp(v->name, topic)) {
            opts_print_help(stdout, v->doc);
            return EXIT_OK;
        }
    fprintf(stderr, "smxgb help: no such verb or topic '%s'\n", topic);
    print_overview(stderr);
    return EXIT_USAGE;
}

/* SIGINT, SIGTERM, SIGHUP: remove this run's scratch (downloads, extracted models, outputs
 * before their rename), then die of the signal as before. serve installs its own handlers
 * (graceful stop) while it runs. */
static void on_fatal_signal(int sig)
{
    smx_scratch_cleanup_signal();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_cleanup(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old;
        /* keep an inherited "ignore" (nohup, a CI runner that ignores SIGHUP) */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(sigs[i], &sa, NULL);
    }
    smx_scratch_sweep(24 * 3600.0, NULL); /* what a killed earlier run left */
}

int main(int argc, char **argv)
{
    install_cleanup();
    if (argc < 2) {
        print_overview(stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "--version") || !strcmp(verb, "version")) {
        print_version();
        return EXIT_OK;
    }
    if (!strcmp(verb, "help") || !strcmp(verb, "--help") || !strcmp(verb, "-h"))
        return cmd_help(argc - 1, argv + 1);
    for (const struct verb *v = verbs; v->name; v++)
        if (!strcmp(v->name, verb))
            return v->fn(argc - 1, argv + 1);
    fprintf(stderr, "smxgb: '%s' is not a verb. See 'smxgb help'.\n", verb);
    return EXIT_USAGE;
}
