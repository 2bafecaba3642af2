#define _POSIX_C_SOURCE 200809L
#include "mer/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int quiet;
static double plain_interval = 10.0;

void mer_progress_quiet(int q)
{
    quiet = q;
}

void mer_progress_interval(double seconds)
{
    plain_interval = seconds;
}

double mer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void mer_format_duration(char *buf, size_t size, double s)
{
    if (s < 0 || s != s)
        snprintf(buf, size, "?");
    else if (s >= 3600)
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, size, "%.1fs", s);
}

void mer_progress_start(struct mer_progress *p, const char *label, int64_t total, const char *unit)
{
    p->label = label;
    p->unit = unit ? unit : "items";
    p->total = total;
    p->done = 0;
    p->t_start = p->t_last_print = mer_now();
    p->tty = isatty(STDERR_FILENO);
    p->printed = 0;
    p->note[0] = '\0';
}

void mer_progress_note(struct mer_progress *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->note, sizeof(p->note), fmt, ap);
    va_end(ap);
}

static void print_line(struct mer_progress *p, double now, int final)
{
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char eta[32], took[32];
    mer_format_duration(took, sizeof(took), elapsed);
    if (p->total > 0 && rate > 0)
        mer_format_duration(eta, sizeof(eta), (double)(p->total - p->done) / rate);
    else
        snprintf(eta, sizeof(eta), "?");
    if (p->tty) {
        char bar[26] = "";
        int filled = p->total > 0 ? (int)(25 * p->done / p->total) : 0;
        for (int i = 0; i < 25; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[25] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %s %.1f/s %s %s%s%s", p->label, bar,
                (long long)p->done, (long long)p->total, p->unit, rate, final ? "took" : "eta",
                final ? took : eta, p->note[0] ? "  " : "", p->note);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %lld/%lld %s, %.1f/s, %s %s%s%s\n", p->label, (long long)p->done,
                (long long)p->total, p->unit, rate, final ? "took" : "eta", final ? took : eta,
                p->note[0] ? ", " : "", p->note);
    }
    fflush(stderr);
    p->t_last_print = now;
    p->printed = 1;
}

void mer_progress_update(struct mer_progress *p, int64_t done)
{
    double now;
    p->done = done;
    if (quiet)
        return;
    now = mer_now();
    /* The TTY bar redraws ~10 times a second; plain lines are rarer. */
    if (now - p->t_last_print >= (p->tty ? 0.1 : plain_interval))
        print_line(p, now, 0);
}

void mer_progress_finish(struct mer_progress *p)
{
    if (!quiet)
        print_line(p, mer_now(), 1);
}
