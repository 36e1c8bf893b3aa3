/*
 * smxgb convert ARTIFACT --container TAG -o OUT.tar.gz: make a model load correctly in a
 * container whose XGBoost cannot read it as it is (a 3.0.5 UBJSON model for 1.5-1, say), or
 * whose archive hides it (a sub-folder, stray files). The work is compat_convert
 * (compat/convert.c); this file parses the options, calls it and prints what it did.
 */
#include "gate_cli.h"
#include "tools.h"

#include <stdlib.h>
#include <string.h>

static struct {
    const char *container, *output, *xgboost_lib, *xgboost_wheel;
    uint64_t load_max_bytes;
    int json;
} o;

static const opt convert_opts[] = {
    {OPT_STRING, 'c', "container", &o.container, "TAG",
     "the container version to convert for (required)"},
    {OPT_STRING, 'o', "output", &o.output, "OUT.tar.gz", "where to write the result (required)"},
    {OPT_STRING, 0, "xgboost-lib", &o.xgboost_lib, "PATH",
     "re-save with this libxgboost.so (default: the container's cached runtime, else "
     "$SMXGB_XGBOOST_LIB, else the system one)"},
    {OPT_STRING, 0, "xgboost-wheel", &o.xgboost_wheel, "FILE.whl",
     "re-save with the libxgboost.so bundled in this pip wheel"},
    {OPT_U64, 0, "load-max-bytes", &o.load_max_bytes, "N",
     "re-save models up to N bytes, loaded in a child process as verify's load checks are "
     "(default 32M)"},
    {OPT_INCLUDE, 0, NULL, gate_cli_runtime_opts, NULL, NULL},
    {OPT_FLAG, 0, "json", &o.json, NULL, "print the result as JSON"},
    {OPT_END, 0, NULL, NULL, NULL, NULL}};

static const verb_doc convert_doc = {
    "convert",
    "smxgb convert ARTIFACT --container TAG -o OUT.tar.gz [--xgboost-lib PATH] [--json]",
    "make the model of an artifact load correctly in a container, and prove it",
    "The result is always written to OUT when convert succeeds, so that `smxgb convert ... -o\n"
    "OUT && upload OUT` uploads something that loads:\n"
    "  - ARTIFACT already loads correctly in TAG (see `smxgb verify`): OUT is a copy of it;\n"
    "  - else its one model file (found at any depth: a model in a sub-folder is moved to the\n"
    "    top; dotfiles and files that are not models are dropped, each named) is packaged alone\n"
    "    as xgboost-model (deterministic, like `smxgb package`); if TAG loads that correctly,\n"
    "    it is OUT;\n"
    "  - else the runtime XGBoost (TAG's own XGBoost when its runtime is cached, see `smxgb\n"
    "    runtime` and --runtimes; else Debian's 1.7.4, or --xgboost-lib/--xgboost-wheel), if it\n"
    "    reads the model correctly and the model uses nothing TAG's XGBoost lacks, re-saves it in\n"
    "    a child process as the format the load rules choose for TAG (legacy binary, UBJSON or\n"
    "    JSON); the re-saved model must predict exactly what the original does on generated rows\n"
    "    and pass TAG's rules; it is packaged and verified for TAG once more.\n"
    "Otherwise it refuses and says why; nothing is written. Re-saving loads the model in a child\n"
    "process, so models larger than --load-max-bytes (verify's limit, default 32M) are refused\n"
    "there, saying so; copying and repackaging have no size limit.\n\n"
    "JSON: {\"artifact\", \"container\", \"action\": \"copied\"|\"repackaged\"|\"resaved\",\n"
    "  \"output\", \"entry\", \"dropped\": [{\"path\", \"why\"}], \"from\": {\"format\", "
    "\"payload\",\n"
    "  \"writer\"}, \"to\": {\"format\", \"writer\"}?, \"rows\"?, \"max_abs_diff\"?, \"verdict\",\n"
    "  \"sha256\", \"bytes\"} or {\"refused\": REASON}.",
    convert_opts,
    "  0  written: converted, repackaged, or copied (the model already loads correctly on TAG)\n"
    "  1  refused: the model cannot be made to load correctly on TAG (the reason is printed)\n"
    "  2  usage error, unknown container, the artifact cannot be read, or the output or\n"
    "     $TMPDIR cannot be written"};

static const char *format_words(const char *f)
{
    return !strcmp(f, "deprecated") ? "legacy binary" : !strcmp(f, "ubj") ? "UBJSON" : "JSON";
}

static const char *action_name(compat_convert_action a)
{
    return a == COMPAT_CONVERT_COPIED       ? "copied"
           : a == COMPAT_CONVERT_REPACKAGED ? "repackaged"
           : a == COMPAT_CONVERT_RESAVED    ? "resaved"
                                            : "refused";
}

static void print_json_result(const char *artifact, const compat_conversion *c)
{
    json_t *j = json_object();
    if (c->action == COMPAT_CONVERT_REFUSED) {
        json_object_set_new(j, "refused", json_string(c->reason));
        print_json(stdout, j);
        json_decref(j);
        return;
    }
    json_object_set_new(j, "artifact", json_string(artifact));
    json_object_set_new(j, "container", json_string(c->container->tag));
    json_object_set_new(j, "action", json_string(action_name(c->action)));
    json_object_set_new(j, "output", json_string(o.output));
    json_object_set_new(j, "entry", c->entry ? json_string(c->entry) : json_null());
    json_t *d = json_array();
    for (size_t i = 0; i < c->n_dropped; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "path", json_string(c->dropped[i].path));
        json_object_set_new(e, "why", json_string(c->dropped[i].why));
        json_array_append_new(d, e);
    }
    json_object_set_new(j, "dropped", d);
    json_t *from = json_object();
    json_object_set_new(from, "format", json_string(compat_format_name(c->from_format)));
    json_object_set_new(from, "payload", json_string(compat_payload_name(c->from_payload)));
    json_object_set_new(from, "writer", json_string(c->from_writer));
    json_object_set_new(j, "from", from);
    if (c->action == COMPAT_CONVERT_RESAVED) {
        json_t *to = json_object();
        json_object_set_new(to, "format", json_string(c->to_format));
        json_object_set_new(to, "writer", json_string(c->to_writer));
        json_object_set_new(j, "to", to);
        json_object_set_new(j, "rows", json_integer((json_int_t)c->rows));
        json_object_set_new(j, "max_abs_diff", json_real(c->max_diff));
    }
    json_object_set_new(j, "verdict", json_string(compat_verdict_name(c->verdict)));
    json_object_set_new(j, "sha256", json_string(c->sha256));
    json_object_set_new(j, "bytes", json_integer((json_int_t)c->bytes));
    print_json(stdout, j);
    json_decref(j);
}

static void print_text(FILE *f, const char *artifact, const compat_conversion *c)
{
    const compat_container *tc = c->container;
    if (c->action == COMPAT_CONVERT_COPIED) {
        fprintf(f,
                "%s already loads correctly in %s (XGBoost %s): nothing to convert; written "
                "unchanged\n",
                artifact, tc->tag, tc->xgboost_str);
    } else if (c->action == COMPAT_CONVERT_REPACKAGED) {
        fprintf(f, "repackaged %s for %s (XGBoost %s): the model loads as it is\n", artifact,
                tc->tag, tc->xgboost_str);
        fprintf(f, "  model: %s (%s, written by XGBoost %s), as xgboost-model at the top\n",
                c->entry, c->from_detail, c->from_writer);
    } else {
        fprintf(f, "converted %s for %s (XGBoost %s)\n", artifact, tc->tag, tc->xgboost_str);
        fprintf(f, "  from: %s, written by XGBoost %s (%s in %s)\n", c->from_detail, c->from_writer,
                compat_verdict_name(c->from_verdict), tc->tag);
        fprintf(f, "  to:   %s written by XGBoost %s, as xgboost-model\n",
                format_words(c->to_format), c->to_writer);
        fprintf(f,
                "  proof: %llu generated rows, original and converted predictions equal (max "
                "|diff| %.3g)\n",
                (unsigned long long)c->rows, c->max_diff);
    }
    for (size_t i = 0; i < c->n_dropped; i++)
        fprintf(f, "  dropped: %s (%s)\n", c->dropped[i].path, c->dropped[i].why);
    if (c->action != COMPAT_CONVERT_COPIED)
        fprintf(f, "  %s verdict for the result: %s\n", tc->tag, compat_verdict_name(c->verdict));
    fprintf(f, "wrote %s (%llu bytes, sha256 %s)\n", o.output, (unsigned long long)c->bytes,
            c->sha256);
}

static int cmd_convert(int argc, char **argv)
{
    int n = opts_parse(argc, argv, &convert_doc);
    if (n < 0)
        return verb_parse_exit(n);
    if (n != 1 || !o.container || !o.output)
        return verb_usage(&convert_doc, "need ARTIFACT, --container TAG and -o OUT.tar.gz");
    compat_convert_opts co = {.container = o.container,
                              .output = o.output,
                              .xgboost_lib = o.xgboost_lib,
                              .load_max_bytes = o.load_max_bytes,
                              .display = argv[1]};
    artifact_limits_default(&co.limits);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (*end || v < 0) {
            fprintf(stderr, "smxgb convert: SOURCE_DATE_EPOCH='%s' is not a non-negative integer\n",
                    sde);
            return EXIT_USAGE;
        }
        co.mtime = v;
    }
    char *wheel_lib = NULL;
    smx_err err = {0};
    if (o.xgboost_wheel) {
        if (compat_wheel_lib(o.xgboost_wheel, NULL, &wheel_lib, &err)) {
            fprintf(stderr, "smxgb convert: --xgboost-wheel: %s\n", err.msg);
            return EXIT_USAGE;
        }
        co.xgboost_lib = wheel_lib;
    }
    gate_runtimes *fetch = NULL;
    if (gate_cli_runtimes("convert", 0, &co.runtimes, &fetch)) {
        free(wheel_lib);
        return EXIT_USAGE;
    }
    compat_conversion c;
    int rc = SMX_OK;
    /* --runtimes fetch: the container's own XGBoost first (what cannot be had: the stand-in
     * re-saves, and says so); an unknown container is convert's to report */
    if (fetch && !co.xgboost_lib &&
        (rc = gate_runtimes_fetch(fetch, &o.container, 1, &err)) == SMX_EINVAL)
        rc = SMX_OK;
    if (!rc)
        rc = compat_convert(argv[1], &co, &c, &err);
    else
        memset(&c, 0, sizeof c);
    gate_cli_runtimes_end();
    free(wheel_lib);
    if (rc) {
        fprintf(stderr, "smxgb convert: %s\n", err.msg);
        if (err.fix[0])
            fprintf(stderr, "  fix: %s\n", err.fix);
        compat_conversion_free(&c);
        return exit_for_status(rc);
    }
    int code = c.action == COMPAT_CONVERT_REFUSED ? EXIT_FINDINGS : EXIT_OK;
    if (o.json)
        print_json_result(argv[1], &c);
    else if (c.action == COMPAT_CONVERT_REFUSED)
        fprintf(stderr, "smxgb convert: refused: %s\n", c.reason);
    else /* the result may be on stdout ("-o -"): the report goes to stderr then */
        print_text(strcmp(o.output, "-") ? stdout : stderr, argv[1], &c);
    compat_conversion_free(&c);
    return code;
}

SMXGB_VERB(convert, cmd_convert, convert_doc, 27)
