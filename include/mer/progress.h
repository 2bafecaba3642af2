/*
 * progress.h: one progress reporter for every long command.
 *
 * On a TTY (stderr) it redraws a single line: label, bar, done/total, rate and
 * ETA. Otherwise it prints a plain line at most every `interval` seconds (and
 * at the end), which reads well in Slurm logs. mer_progress_quiet(1) silences
 * all of it (--quiet).
 *
 *     struct mer_progress p;
 *     mer_progress_start(&p, "import audio", n, "files");
 *     for (i = 0; i < n; i++) { work(i); mer_progress_update(&p, i + 1); }
 *     mer_progress_finish(&p);
 */
#ifndef MER_PROGRESS_H
#define MER_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct mer_progress {
    const char *label; /* borrowed */
    const char *unit;  /* borrowed, e.g. "files", "steps" */
    int64_t total;     /* 0 if unknown */
    int64_t done;
    double t_start, t_last_print;
    int tty;
    int printed;
    char note[160]; /* shown after the rate and ETA, e.g. "loss 0.912  val WAF 0.734"; "" = none */
};

/* Global switches, set once by main from --quiet and the environment. */
void mer_progress_quiet(int quiet);
/* Seconds between plain (non-TTY) lines; default 10. */
void mer_progress_interval(double seconds);

void mer_progress_start(struct mer_progress *p, const char *label, int64_t total, const char *unit);
void mer_progress_update(struct mer_progress *p, int64_t done);
void mer_progress_finish(struct mer_progress *p);
/* Sets the note shown with the next line (printf-style; cut to fit the note). */
void mer_progress_note(struct mer_progress *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Monotonic seconds. */
double mer_now(void);

/* Writes "1h02m", "3m05s" or "12.3s" into buf. */
void mer_format_duration(char *buf, size_t size, double seconds);

#endif
