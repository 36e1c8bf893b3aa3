/*
 * The steps of `smxgb check` (and of `smxgb plan` for every model in a plan):
 *
 *   verify  compat_verify on the artifact, as `smxgb verify` does; one case per container.
 *   serve   this binary's own `serve` verb started as a child process on a free loopback port
 *           (`smxgb serve ARTIFACT --port N --quiet --container TAG`, the endpoint's
 *           environment in its environment, its own process group), probed with SageMaker's
 *           timings (gate_probe), then stopped with SIGTERM as SageMaker stops a container
 *           (SIGKILL if it is still there 5 s later). The sample is the user's file or rows as
 *           wide as the model, whose feature count comes from loading it with XGBoost in a
 *           separate, time-limited child process.
 *   source  paths, s3:// and https:// all become a local file (gate_fetch).
 *
 * A container whose verify already failed is not served: the report says why it would fail,
 * and serving it would only wait out the startup window.
 */
#include "gate_cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- verify ------------------------------------------------------------------------------ */

size_t check_verify(gate_report *r, gate_case *into, const char *name, const char *source,
                    const char *local, const char *const *tags, size_t n, const check_opts *o,
                    compat_report **rep_out)
{
    if (rep_out)
        *rep_out = NULL;
    compat_verify_opts vo = {
        .containers = tags, .n_containers = n, .env = o->env, .n_env = o->n_env};
    artifact_limits_default(&vo.limits);
    compat_report *rep;
    smx_err err = {0};
    int rc = compat_verify(local, &vo, &rep, &err);
    if (rc) {
        gate_case *c = into ? into : gate_cli_add(r, name, n == 1 ? tags[0] : NULL, source);
        gate_case_note(c, ARTIFACT_ERROR,
                       rc == SMX_EINVAL ? "container-unknown" : "artifact-unreadable", NULL, "%s",
                       err.msg);
        c->io_error = 1;
        return 1;
    }
    if (source && strcmp(source, local) && gate_source_is_remote(source)) {
        char *shown = strdup(source); /* name the source, not the temporary file */
        if (shown) {
            free(rep->scan->path);
            rep->scan->path = shown;
        }
    }
    json_t *full = report_to_json(rep);
    size_t added = 0;
    for (size_t i = 0; i < rep->n_results; i++) {
        const compat_result *res = &rep->results[i];
        gate_case *c =
            (into && rep->n_results == 1) ? into : gate_cli_add(r, name, res->c->tag, source);
        added++;
        c->verify = json_incref(full);
        for (size_t k = 0; k < rep->n_findings; k++) {
            const compat_finding *f = &rep->findings[k];
            if (f->containers && !(i < 64 && (f->containers & (1ull << i))))
                continue;
            artifact_severity sev = f->f.severity;
            if (o->script_mode && f->containers && sev == ARTIFACT_ERROR) {
                gate_case_note(c, ARTIFACT_INFO, f->f.code, NULL,
                               "%s (not counted: SAGEMAKER_PROGRAM is set, so the user's model_fn "
                               "decides what is loaded)",
                               f->f.message);
                continue;
            }
            gate_case_note(c, sev, f->f.code, f->f.hint, "%s", f->f.message);
        }
        if (res->verdict != COMPAT_VERDICT_OK && !res->layout_errors) {
            /* the load rules or a real load say this container cannot use the model */
            smx_buf b = SMX_BUF_INIT;
            for (size_t k = 0; k < res->n_reasons; k++)
                if (res->reasons[k].verdict != COMPAT_VERDICT_OK)
                    smx_buf_printf(&b, "%s%s: %s", b.len ? "; " : "", res->reasons[k].rule,
                                   res->reasons[k].message);
            const char *code = res->verdict == COMPAT_VERDICT_FAILS ? "verdict-fails"
                                                                    : "verdict-wrong-predictions";
            gate_case_note(
                c, o->script_mode ? ARTIFACT_INFO : ARTIFACT_ERROR, code, res->hint,
                "container %s (XGBoost %s) %s the model: %s", res->c->tag, res->c->xgboost_str,
                res->verdict == COMPAT_VERDICT_FAILS ? "cannot load" : "loads but mispredicts",
                b.data ? b.data : "see verify");
            smx_buf_free(&b);
        }
        size_t nl = res->rules.ensemble ? res->n_loads : (res->n_loads ? 1 : 0);
        if (nl && !res->layout_errors) {
            smx_buf b = SMX_BUF_INIT;
            for (size_t k = 0; k < nl; k++)
                smx_buf_printf(&b, "%s%s", k ? ", " : "", rep->scan->entries[res->loads[k]].path);
            gate_case_note(c, ARTIFACT_INFO, "container-loads", NULL,
                           "container %s (XGBoost %s) loads %s%s", res->c->tag, res->c->xgboost_str,
                           b.data ? b.data : "",
                           res->rules.ensemble && nl > 1 ? " as an ensemble" : "");
            smx_buf_free(&b);
        }
    }
    json_decref(full);
    if (rep_out)
        *rep_out = rep;
    else
        compat_report_free(rep);
    return added;
}

/* ---- the model's width, from XGBoost in a child process ----------------------------------- */

static int model_width(const char *local, const char *entry, uint64_t *width, char *why, size_t wn)
{
    int fds[2];
    if (pipe(fds))
        return snprintf(why, wn, "pipe: %s", strerror(errno)), -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return snprintf(why, wn, "fork: %s", strerror(errno)), -1;
    }
    if (pid == 0) {
        close(fds[0]);
        struct rlimit cpu = {60, 60};
        setrlimit(RLIMIT_CPU, &cpu);
        alarm(120);
        char msg[SMX_ERRMAX + 32] = "";
        uint64_t w = 0;
        artifact_limits lim;
        artifact_limits_default(&lim);
        char *dir = NULL;
        smx_err e = {0};
        compat_xgb *x = NULL;
        compat_booster *b = NULL;
        int ok = 0;
        if (artifact_extract(local, NULL, &lim, &dir, &e) == SMX_OK) {
            char *p = NULL;
            if (asprintf(&p, "%s/%s", dir, entry) > 0 && compat_xgb_open(NULL, &x, &e) == SMX_OK &&
                compat_booster_load_file(x, p, &b, &e) == SMX_OK &&
                compat_booster_num_features(b, &w, &e) == SMX_OK)
                ok = 1;
            free(p);
            artifact_remove_tree(dir, NULL);
            free(dir);
        }
        if (!ok)
            snprintf(msg, sizeof msg, "%s", e.msg);
        char out[SMX_ERRMAX + 64];
        int n = ok ? snprintf(out, sizeof out, "W%llu", (unsigned long long)w)
                   : snprintf(out, sizeof out, "E%s", msg);
        if (write(fds[1], out, (size_t)n) < 0)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    char buf[SMX_ERRMAX + 64];
    size_t len = 0;
    struct pollfd pfd = {fds[0], POLLIN, 0};
    while (len < sizeof buf - 1 && poll(&pfd, 1, 130000) > 0) {
        ssize_t rd = read(fds[0], buf + len, sizeof buf - 1 - len);
        if (rd <= 0)
            break;
        len += (size_t)rd;
    }
    buf[len] = '\0';
    close(fds[0]);
    int st = 0;
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    if (len > 1 && buf[0] == 'W') {
        *width = strtoull(buf + 1, NULL, 10);
        return 0;
    }
    if (len > 1 && buf[0] == 'E')
        snprintf(why, wn, "%.900s", buf + 1);
    else if (WIFSIGNALED(st))
        snprintf(why, wn, "XGBoost crashed loading it (signal %d)", WTERMSIG(st));
    else
        snprintf(why, wn, "the model could not be loaded");
    return -1;
}

/* ---- serve + probe ------------------------------------------------------------------------ */

/* 0: this binary has no serve verb; 1: it has; 2: it has and takes --env KEY=VALUE. */
static int serve_verb_available(void)
{
    static int cached = -1;
    if (cached >= 0)
        return cached;
    cached = 0;
    int fds[2];
    if (pipe(fds))
        return cached;
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        dup2(fds[1], 1);
        if (dn >= 0)
            dup2(dn, 2);
        close(fds[0]);
        execl("/proc/self/exe", "smxgb", "help", "serve", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    smx_buf help = SMX_BUF_INIT;
    char chunk[4096];
    ssize_t n;
    while ((n = read(fds[0], chunk, sizeof chunk)) > 0)
        smx_buf_append(&help, chunk, (size_t)n);
    close(fds[0]);
    int st = 0;
    if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        cached = help.data && strstr(help.data, "--env") ? 2 : 1;
    smx_buf_free(&help);
    return cached;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = -1;
    if (!bind(fd, (struct sockaddr *)&a, sizeof a) && !getsockname(fd, (struct sockaddr *)&a, &al))
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

struct child {
    pid_t pid;
    int exited, status;
};

static int child_alive(void *ctx)
{
    struct child *ch = ctx;
    if (ch->exited)
        return 0;
    int st;
    if (waitpid(ch->pid, &st, WNOHANG) == ch->pid) {
        ch->exited = 1;
        ch->status = st;
        return 0;
    }
    return 1;
}

static void timeline_line(const gate_attempt *a, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "  %+8.2fs  %-4s %-12s #%-3d %-13s %s\n", a->t_start,
            a->step == GATE_STEP_PING ? "GET" : "POST",
            a->step == GATE_STEP_PING ? "/ping" : "/invocations", a->n,
            gate_outcome_name(a->outcome), a->what);
}

/* The last lines of the server's log, for a failure message. */
static char *log_tail(const char *path, size_t max)
{
    smx_buf b = SMX_BUF_INIT;
    if (smx_buf_read_file(&b, path, (size_t)64 << 20, NULL) || !b.len) {
        smx_buf_free(&b);
        return NULL;
    }
    const char *start = b.len > max ? b.data + b.len - max : b.data;
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = '\0';
    char *t = strdup(start);
    smx_buf_free(&b);
    for (char *q = t; q && *q; q++) /* one line in reports and annotations */
        if (*q == '\n')
            *q = ' ';
    return t;
}

static void stop_child(gate_case *c, struct child *ch)
{
    if (ch->exited)
        return;
    kill(-ch->pid, SIGTERM);
    kill(ch->pid, SIGTERM);
    double t0 = smx_now();
    while (smx_now() - t0 < 5.0) {
        if (!child_alive(ch))
            return;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    gate_case_note(c, ARTIFACT_WARNING, "serve-ignores-sigterm", NULL,
                   "the server was still running 5 s after SIGTERM (SageMaker sends SIGKILL 30 s "
                   "after SIGTERM); killed");
    kill(-ch->pid, SIGKILL);
    kill(ch->pid, SIGKILL);
    waitpid(ch->pid, &ch->status, 0);
    ch->exited = 1;
}

void check_serve(gate_case *c, const char *local, const char *tag, const compat_report *rep,
                 const check_opts *o)
{
    if (o->no_serve)
        return;
    if (o->script_mode) {
        gate_case_note(
            c, ARTIFACT_INFO, "serve-skipped", NULL,
            "not served: SAGEMAKER_PROGRAM selects script mode, whose user code smxgb does "
            "not run; the archive was checked, the inference script was not");
        return;
    }
    if (c->errors) {
        gate_case_note(c, ARTIFACT_INFO, "serve-skipped", NULL,
                       "not served: verify already found errors for this container");
        return;
    }
    int serve_env = serve_verb_available() == 2;
    if (!serve_verb_available()) {
        gate_case_note(c, ARTIFACT_WARNING, "serve-unavailable", NULL,
                       "the health check was not run: this smxgb build has no `serve` verb");
        return;
    }
    /* the sample: the user's file, or rows as wide as the model */
    smx_buf sample = SMX_BUF_INIT;
    const char *ctype = o->content_type ? o->content_type : "text/csv";
    if (o->sample) {
        smx_err e = {0};
        if (smx_buf_read_file(&sample, o->sample, (size_t)64 << 20, &e)) {
            gate_case_note(c, ARTIFACT_ERROR, "sample-unreadable", NULL, "%s", e.msg);
            c->io_error = 1;
            return;
        }
    } else {
        const compat_result *res = NULL;
        for (size_t i = 0; rep && i < rep->n_results; i++)
            if (!tag || !strcmp(rep->results[i].c->tag, tag))
                res = &rep->results[i];
        uint64_t width = 0;
        char why[SMX_ERRMAX] = "";
        if (res && res->n_loads &&
            model_width(local, rep->scan->entries[res->loads[0]].path, &width, why, sizeof why) ==
                0 &&
            width > 0 && width <= 100000) {
            for (int row = 0; row < 3; row++) {
                for (uint64_t j = 0; j < width; j++)
                    smx_buf_printf(&sample, "%s%.2f", j ? "," : "",
                                   (double)((row * 7 + (int)(j % 97) * 3) % 10) / 10.0);
                smx_buf_puts(&sample, "\n");
            }
            gate_case_note(c, ARTIFACT_INFO, "sample-generated", NULL,
                           "sample: 3 generated text/csv rows of %llu features",
                           (unsigned long long)width);
            ctype = "text/csv";
        } else {
            gate_case_note(
                c, ARTIFACT_INFO, "sample-none", NULL,
                "no sample sent to /invocations: the model's feature count is unknown (%s)",
                why[0] ? why : "no model file");
        }
    }

    int port = free_port();
    char logpath[] = "/tmp/smxgb-serve-log-XXXXXX";
    int logfd = mkstemp(logpath);
    if (port < 0 || logfd < 0) {
        gate_case_note(c, ARTIFACT_ERROR, "serve-failed", NULL, "cannot set up the server: %s",
                       strerror(errno));
        if (logfd >= 0) {
            close(logfd);
            unlink(logpath);
        }
        smx_buf_free(&sample);
        return;
    }
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    fflush(stdout);
    fflush(stderr);
    struct child ch = {0};
    ch.pid = fork();
    if (ch.pid == 0) {
        setpgid(0, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        for (size_t i = 0; i < o->n_env; i++) {
            char *kv = strdup(o->env[i]);
            char *eq = kv ? strchr(kv, '=') : NULL;
            if (eq) {
                *eq = '\0';
                setenv(kv, eq + 1, 1);
            }
            free(kv);
        }
        /* smxgb serve ARTIFACT --port N --quiet [--container TAG] [--env KEY=VALUE]... */
        const char **args = calloc(10 + 2 * o->n_env, sizeof *args);
        if (!args)
            _exit(127);
        size_t a = 0;
        args[a++] = "smxgb";
        args[a++] = "serve";
        args[a++] = local;
        args[a++] = "--port";
        args[a++] = portstr;
        args[a++] = "--quiet";
        if (tag) {
            args[a++] = "--container";
            args[a++] = tag;
        }
        for (size_t i = 0; serve_env && i < o->n_env; i++) {
            args[a++] = "--env";
            args[a++] = o->env[i];
        }
        args[a] = NULL;
        execv("/proc/self/exe", (char *const *)args);
        _exit(127);
    }
    close(logfd);
    if (ch.pid < 0) {
        gate_case_note(c, ARTIFACT_ERROR, "serve-failed", NULL, "fork: %s", strerror(errno));
        unlink(logpath);
        smx_buf_free(&sample);
        return;
    }
    setpgid(ch.pid, ch.pid);

    gate_probe_opts po;
    gate_probe_opts_default(&po);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    po.url = url;
    if (o->startup_timeout > 0)
        po.startup_timeout = o->startup_timeout;
    po.interval = o->interval > 0 ? o->interval : 0.5;
    if (o->max_payload)
        po.max_payload = o->max_payload;
    if (sample.len) {
        po.sample = sample.data;
        po.sample_len = sample.len;
        po.content_type = ctype;
        po.accept = o->accept;
    }
    po.alive = child_alive;
    po.ctx = &ch;
    if (o->verbose) {
        fprintf(stderr, "%s [%s]: serving on %s\n", c->name, tag ? tag : "default", url);
        po.on_attempt = timeline_line;
    }
    gate_probe_result pr;
    smx_err e = {0};
    int rc = gate_probe(&po, &pr, &e);
    stop_child(c, &ch);
    if (rc) {
        gate_case_note(c, ARTIFACT_ERROR, "probe-failed", NULL, "%s", e.msg);
    } else {
        c->probe = gate_probe_json(url, &pr);
        if (pr.healthy) {
            gate_case_note(c, ARTIFACT_INFO, "probe-healthy", NULL, "%s", pr.verdict);
        } else {
            char *tail = log_tail(logpath, 600);
            char exitinfo[96] = "";
            if (ch.exited && pr.attempts &&
                pr.attempts[pr.n_attempts - 1].outcome == GATE_SERVER_GONE) {
                if (WIFEXITED(ch.status))
                    snprintf(exitinfo, sizeof exitinfo, " (the server exited with status %d)",
                             WEXITSTATUS(ch.status));
                else if (WIFSIGNALED(ch.status))
                    snprintf(exitinfo, sizeof exitinfo, " (the server died of signal %d)",
                             WTERMSIG(ch.status));
            }
            gate_case_note(c, ARTIFACT_ERROR, "probe-unhealthy", NULL, "%s%s%s%s", pr.verdict,
                           exitinfo, tail ? "; server log: " : "", tail ? tail : "");
            free(tail);
        }
    }
    gate_probe_result_free(&pr);
    unlink(logpath);
    smx_buf_free(&sample);
}

/* ---- sources ------------------------------------------------------------------------------ */

static void progress_bar(uint64_t now, uint64_t total, void *ctx)
{
    (void)ctx;
    static double last;
    double t = smx_now();
    if (t - last < 0.1 && now != total)
        return;
    last = t;
    if (total) {
        int w = (int)(40.0 * (double)now / (double)total);
        fprintf(stderr, "\r  [%-40.*s] %5.1f%% %llu/%llu MB", w,
                "########################################", 100.0 * (double)now / (double)total,
                (unsigned long long)(now >> 20), (unsigned long long)(total >> 20));
    } else {
        fprintf(stderr, "\r  %llu MB", (unsigned long long)(now >> 20));
    }
    fflush(stderr);
}

int source_fetch(const char *src, const char *s3_endpoint, char **local, int *tmp, smx_err *err)
{
    *tmp = 0;
    if (!gate_source_is_remote(src)) {
        *local = strdup(src);
        return *local ? SMX_OK : smx_fail(err, SMX_ENOMEM, "out of memory");
    }
    gate_fetch_opts fo;
    gate_fetch_opts_default(&fo);
    fo.s3_endpoint = s3_endpoint;
    int tty = isatty(2);
    if (tty) {
        fo.progress = progress_bar;
        fprintf(stderr, "downloading %s\n", src);
    }
    gate_fetch_info info;
    int rc = gate_fetch(src, &fo, local, &info, err);
    if (tty)
        fprintf(stderr, "\n");
    if (rc == SMX_OK)
        *tmp = 1;
    gate_fetch_info_free(&info);
    return rc;
}
