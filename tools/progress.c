/*
 * Live progress of `smxgb check` and `smxgb plan` on stderr, from the stages gate reports
 * (gate_check_opts.on_stage): a line as each stage starts and one with its time and result as
 * it ends, so that a log shows what ran and how long it took:
 *
 *   download   s3://acme/model.tar.gz ...
 *   download   s3://acme/model.tar.gz: 143.2 MiB in 12.4 s (11.5 MiB/s)
 *   verify     s3://acme/model.tar.gz ...
 *   load check xgboost-model ...
 *   load check xgboost-model: 1.3 s, loaded by XGBoost 1.7.4
 *   verify     s3://acme/model.tar.gz: 1.5 s, 11 containers, 3 with errors
 *   serve      s3://acme/model.tar.gz [1.7-1] on http://127.0.0.1:41234 ...
 *   probe      s3://acme/model.tar.gz [1.7-1] ...
 *   probe      s3://acme/model.tar.gz [1.7-1]: 14.5 s, healthy
 *   serve      s3://acme/model.tar.gz [1.7-1]: 14.6 s, stopped
 *
 * On a terminal a progress line stays below them: the stage under way, its clock, and the
 * download's bytes and rate or the probe's last attempt. A ticker thread redraws it four times
 * a second, so that a long stage (a large download, a server loading its model) is never
 * silent; the mutex it draws under is held across fork() by the server launcher, so that the
 * child never inherits a half-written line or a held stdio lock. --quiet turns both off.
 */
#include "gate_cli.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 4

typedef struct running {
    gate_stage stage;
    char what[512];
    double t0;
} running;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t ticker;
    int lines;    /* print a line per stage start and end */
    int live;     /* a terminal: keep a progress line below them */
    int timeline; /* print every probe attempt (--verbose) */
    int ticking;  /* the ticker thread runs */
    int shown;    /* the progress line is on the screen */
    running stack[MAX_DEPTH];
    int depth;
    uint64_t now, total; /* the download under way */
    char attempt[160];   /* the probe's last attempt */
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* ---- sizes and the progress line ----------------------------------------------------------- */

/* "812 bytes", "3.4 KiB", "143.2 MiB", "1.2 GiB". */
static const char *size_text(uint64_t n, char *buf, size_t len)
{
    if (n < 1024)
        snprintf(buf, len, "%llu bytes", (unsigned long long)n);
    else if (n < (1u << 20))
        snprintf(buf, len, "%.1f KiB", (double)n / 1024);
    else if (n < (1u << 30))
        snprintf(buf, len, "%.1f MiB", (double)n / (1 << 20));
    else
        snprintf(buf, len, "%.1f GiB", (double)n / (1 << 30));
    return buf;
}

/* "850 ms", "12.4 s". */
static const char *time_text(double s, char *buf, size_t len)
{
    if (s < 0.9995)
        snprintf(buf, len, "%.0f ms", s * 1000);
    else
        snprintf(buf, len, "%.1f s", s);
    return buf;
}

static int term_width(void)
{
    struct winsize ws;
    return !ioctl(2, TIOCGWINSZ, &ws) && ws.ws_col > 20 ? ws.ws_col : 80;
}

/* Rub out the progress line (P.mu held). */
static void clear_live(void)
{
    if (P.shown)
        fputs("\r\033[K", stderr);
    P.shown = 0;
}

/* Draw the progress line for the innermost stage (P.mu held). */
static void draw_live(void)
{
    if (!P.live || !P.depth)
        return;
    const running *r = &P.stack[P.depth - 1];
    double t = smx_now() - r->t0;
    char line[1024], extra[256] = "", a[32], b[32], c[32];
    if (r->stage == GATE_STAGE_DOWNLOAD && P.now) {
        uint64_t rate = t > 0 ? (uint64_t)((double)P.now / t) : 0;
        if (P.total)
            snprintf(extra, sizeof extra, "  %s of %s (%.0f%%), %s/s",
                     size_text(P.now, a, sizeof a), size_text(P.total, b, sizeof b),
                     100.0 * (double)P.now / (double)P.total, size_text(rate, c, sizeof c));
        else
            snprintf(extra, sizeof extra, "  %s, %s/s", size_text(P.now, a, sizeof a),
                     size_text(rate, c, sizeof c));
    } else if (r->stage == GATE_STAGE_PROBE && P.attempt[0]) {
        snprintf(extra, sizeof extra, "  %s", P.attempt);
    }
    int n = snprintf(line, sizeof line, "> %s %s  %.1f s%s", gate_stage_name(r->stage), r->what, t,
                     extra);
    int w = term_width() - 1;
    if (n > w)
        n = w;
    fprintf(stderr, "\r\033[K%.*s", n, line);
    fflush(stderr);
    P.shown = 1;
}

/* A line for the log, under the progress line (P.mu held). */
static void print_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void print_line(const char *fmt, ...)
{
    clear_live();
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    draw_live();
    fflush(stderr);
}

static void *tick(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&P.mu);
    while (P.ticking) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&P.cv, &P.mu, &ts);
        if (P.ticking)
            draw_live();
    }
    pthread_mutex_unlock(&P.mu);
    return NULL;
}

/* ---- what gate reports ----------------------------------------------------------------------- */

/* What a stage is about: the source or file, and for serve and probe the container. */
static void subject(const gate_stage_event *e, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s", e->what ? e->what : "", e->container ? " [" : "",
             e->container ? e->container : "", e->container ? "]" : "");
}

/* The end of a stage: its time and what came of it. */
static void result(const gate_stage_event *e, char *buf, size_t n)
{
    char a[32], b[32], t[32];
    time_text(e->seconds, t, sizeof t);
    switch (e->stage) {
    case GATE_STAGE_DOWNLOAD:
        if (!e->ok)
            snprintf(buf, n, "failed after %s", t);
        else if (e->bytes)
            snprintf(
                buf, n, "%s in %s (%s/s)", size_text(e->bytes, a, sizeof a), t,
                size_text(e->seconds > 0 ? (uint64_t)((double)e->bytes / e->seconds) : e->bytes, b,
                          sizeof b));
        else
            snprintf(buf, n, "%s%s%s", t, e->detail ? ", " : "", e->detail ? e->detail : "");
        break;
    case GATE_STAGE_LOAD_CHECK:
        snprintf(buf, n, "%s, %s%s%s", t, e->ok ? "loaded" : "not loaded",
                 e->detail ? " by XGBoost " : "", e->detail ? e->detail : "");
        break;
    case GATE_STAGE_PROBE:
        snprintf(buf, n, "%s, %s", t, e->ok ? "healthy" : "unhealthy");
        break;
    default:
        snprintf(buf, n, "%s%s%s", t, e->detail ? ", " : "", e->detail ? e->detail : "");
    }
}

void progress_stage(const gate_stage_event *e, void *ctx)
{
    (void)ctx;
    char what[512], res[768];
    subject(e, what, sizeof what);
    pthread_mutex_lock(&P.mu);
    if (!e->done) {
        if (P.lines)
            print_line("%-10s %s%s%s%s ...\n", gate_stage_name(e->stage), what,
                       e->url && e->stage == GATE_STAGE_SERVE ? " on " : "",
                       e->url && e->stage == GATE_STAGE_SERVE ? e->url : "",
                       e->unsigned_s3 ? " (unsigned: no AWS credentials)" : "");
        if (P.depth < MAX_DEPTH) {
            running *r = &P.stack[P.depth++];
            r->stage = e->stage;
            snprintf(r->what, sizeof r->what, "%s", what);
            r->t0 = smx_now();
        }
        if (e->stage == GATE_STAGE_DOWNLOAD)
            P.now = P.total = 0;
        if (e->stage == GATE_STAGE_PROBE)
            P.attempt[0] = '\0';
        draw_live();
    } else {
        if (P.depth && P.stack[P.depth - 1].stage == e->stage)
            P.depth--;
        result(e, res, sizeof res);
        if (P.lines)
            print_line("%-10s %s: %s\n", gate_stage_name(e->stage), what, res);
    }
    pthread_mutex_unlock(&P.mu);
}

void progress_download(uint64_t now, uint64_t total, void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&P.mu);
    P.now = now;
    P.total = total;
    pthread_mutex_unlock(&P.mu);
}

void progress_attempt(const gate_attempt *a, void *ctx)
{
    (void)ctx;
    const char *method = a->step == GATE_STEP_PING ? "GET" : "POST";
    const char *path = a->step == GATE_STEP_PING ? "/ping" : "/invocations";
    pthread_mutex_lock(&P.mu);
    snprintf(P.attempt, sizeof P.attempt, "%s %s #%d: %s", method, path, a->n,
             gate_outcome_name(a->outcome));
    if (P.timeline)
        print_line("  %+8.2fs  %-4s %-12s #%-3d %-13s %s\n", a->t_start, method, path, a->n,
                   gate_outcome_name(a->outcome), a->what);
    pthread_mutex_unlock(&P.mu);
}

/* ---- the run --------------------------------------------------------------------------------- */

int progress_begin(int lines, int timeline)
{
    pthread_mutex_lock(&P.mu);
    P.lines = lines;
    P.timeline = timeline;
    P.live = lines && isatty(2);
    P.depth = 0;
    if (P.live && !P.ticking) {
        P.ticking = 1;
        if (pthread_create(&P.ticker, NULL, tick, NULL))
            P.ticking = 0; /* no ticker: the line is drawn at each event */
    }
    pthread_mutex_unlock(&P.mu);
    return P.live;
}

void progress_end(void)
{
    pthread_mutex_lock(&P.mu);
    int ticking = P.ticking;
    P.ticking = 0;
    P.depth = 0;
    clear_live();
    fflush(stderr);
    pthread_cond_signal(&P.cv);
    pthread_mutex_unlock(&P.mu);
    if (ticking)
        pthread_join(P.ticker, NULL);
}

void progress_hold(void)
{
    pthread_mutex_lock(&P.mu);
    fflush(stderr);
}

void progress_release(void)
{
    pthread_mutex_unlock(&P.mu);
}
