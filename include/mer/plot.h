/*
 * plot.h: charts as SVG and PNG, drawn with cairo, from plain data: a confusion matrix, learning
 * curves, histograms (the priors' reliability), a calibration (reliability) diagram with its
 * ECE, and per-class F1 bars across the rows of a report. Plus the readers that turn mer's own
 * files (a run's fold-K/log.jsonl, an ingest-report.json, a predictions CSV, metrics.json) into
 * that data.
 *
 *     struct mer_plot_params pp = mer_plot_default_params();   // 800x600, SVG and PNG
 *     pp.title = "confusion (cv)";
 *     // writes out/confusion.svg and out/confusion.png (atomic)
 *     if (mer_plot_confusion("out/confusion", &pp, m.confusion, classes, k, 0) < 0) ...;
 *
 *     struct mer_calibration cal;
 *     if (mer_calibration_compute(&cal, conf, correct, n, 15) < 0) ...;   // cal.ece
 *     mer_plot_calibration("out/calibration", &pp, &cal);
 *     mer_calibration_release(&cal);
 *
 * Every plot function takes a base path (no extension) and writes <base>.svg and/or
 * <base>.png as pp.formats says, through fs.h's atomic writers; -1 with the error set. The
 * same input gives byte-identical files. Text is cairo's toy text in "sans-serif". Cairo's SVG
 * surface draws glyphs as paths, so each SVG also carries its text as data: <title> (the
 * plot's title), <desc> (every label drawn, one a line) and <metadata id="mer-plot"> (a JSON
 * object: "kind" and what was drawn: "cells", "bars", "series", "panels", "ece", ...).
 */
#ifndef MER_PLOT_H
#define MER_PLOT_H

#include <stddef.h>
#include <stdint.h>

enum mer_plot_format_flags {
    MER_PLOT_SVG = 1 << 0,
    MER_PLOT_PNG = 1 << 1,
};

struct mer_plot_params {
    int width, height; /* pixels (PNG) or points (SVG); each in [200, 8000] */
    unsigned formats;  /* MER_PLOT_SVG | MER_PLOT_PNG */
    const char *title; /* drawn at the top; NULL: the plot's default */
};

/* 800 x 600, both formats, no title. */
struct mer_plot_params mer_plot_default_params(void);
/* "svg", "png" or "both" into *formats; -1 with the error set otherwise. */
int mer_plot_parse_format(const char *s, unsigned *formats);

/* A K x K confusion matrix (row = truth, column = prediction, as metrics.h's), class names on
 * the axes, the number in each cell, a colour bar. normalize: each row divided by its sum
 * (a row without samples stays 0). */
int mer_plot_confusion(const char *base, const struct mer_plot_params *pp, const int64_t *confusion,
                       char *const *classes, int k, int normalize);

/* One line of a panel: n points (x[i], y[i]); mark: the index of a point drawn as a marker
 * (a fold's best epoch), or -1. */
struct mer_plot_series {
    const char *name;
    const double *x, *y;
    size_t n;
    long mark;
};
struct mer_plot_panel {
    const char *title;
    const struct mer_plot_series *series;
    size_t n_series;
};
/* Panels on a grid, one legend of the series' names (taken from the first panel). */
int mer_plot_curves(const char *base, const struct mer_plot_params *pp,
                    const struct mer_plot_panel *panels, size_t n_panels);

/* One histogram: counts of bins equal-width bins over [lo, hi]. */
struct mer_plot_hist {
    const char *name;
    const double *counts;
    int bins;
    double lo, hi;
};
/* One panel per histogram, side by side; threshold (if finite) is drawn as a dashed line. */
int mer_plot_histograms(const char *base, const struct mer_plot_params *pp,
                        const struct mer_plot_hist *h, size_t n, double threshold,
                        const char *threshold_label);

/* Equal-width confidence bins over [0, 1]: a sample of confidence c falls in bin
 * ceil(c * bins) - 1 (bin 0 for c = 0), so bin b holds (b/bins, (b+1)/bins].
 * ECE = sum_b (count_b / n) |acc_b - conf_b|. */
struct mer_calibration {
    int bins;
    size_t n;      /* samples */
    size_t *count; /* [bins] */
    double *acc;   /* [bins] fraction correct (0 in an empty bin) */
    double *conf;  /* [bins] mean confidence (0 in an empty bin) */
    double ece;
    double accuracy; /* over all samples */
};
/* conf [n] in [0, 1] (each sample's largest probability), correct [n] 0 or 1; bins >= 1.
 * Owned arrays: mer_calibration_release. -1 with the error set (n = 0, a confidence outside
 * [0, 1], out of memory). */
int mer_calibration_compute(struct mer_calibration *c, const double *conf, const int *correct,
                            size_t n, int bins);
void mer_calibration_release(struct mer_calibration *c);
/* The reliability diagram (accuracy per bin against the diagonal, the gap shaded), the count
 * per bin below it, ECE in the title. */
int mer_plot_calibration(const char *base, const struct mer_plot_params *pp,
                         const struct mer_calibration *c);

/* Grouped bars: one group per class, one bar per row (colour + legend), values [n_rows *
 * n_classes] row-major in [0, 1] (F1), std [n_rows * n_classes] error bars or NULL. What
 * `mer report --plots` draws from its rows' per-class F1 means. */
int mer_plot_bars(const char *base, const struct mer_plot_params *pp, const char *const *rows,
                  size_t n_rows, const char *const *classes, size_t n_classes, const double *values,
                  const double *std, const char *y_label);

/* The overwrite rule (fs.h's mer_output_check) for <base>.svg and <base>.png as formats says:
 * a set of plots checks every file before it draws any. -1 with the error naming the file. */
int mer_plot_check_outputs(const char *base, unsigned formats, int force);

struct mer_report;
/* mer report --plots: dir/f1-<set>.{svg,png} for every set of the report (cv, each test split):
 * the per-class F1 means of every row with their std over seeds as error bars. Every output is
 * checked against the overwrite rule (force) before any is drawn. */
int mer_plot_report(const char *dir, const struct mer_plot_params *pp, const struct mer_report *r,
                    int force);

/* ---- readers: mer's files -> the plain data above ---- */

/* A training log (fold-K/log.jsonl: one JSON object a line): its numeric fields, each a column
 * of n_records values (NaN where a record lacks it), in the order they first appear. */
struct mer_plot_log {
    size_t n_records;
    size_t n_keys;
    char **keys;     /* [n_keys] */
    double **values; /* [n_keys][n_records] */
};
/* -1 with the error naming file:line (not a JSON object, no record at all). */
int mer_plot_log_read(struct mer_plot_log *log, const char *path);
void mer_plot_log_release(struct mer_plot_log *log);
/* Index of a key, or -1. */
int mer_plot_log_key(const struct mer_plot_log *log, const char *key);

/* Confidence (the largest p_<class>, evaluate.h's confidence) and correctness (prediction =
 * label) of each labeled row of predictions read with evaluate.h (labels attached as the caller
 * wants). New arrays *conf and *correct [*n] (free with free()); -1 with the error set (a
 * submission: no probabilities; no labeled row). */
struct mer_predictions;
int mer_plot_confidence(const struct mer_predictions *p, double **conf, int **correct, size_t *n);

/* ---- what mer eval --plots and mer plot write ---- */

/* The plots of one predictions file (labels attached from labels_path if not NULL) into dir
 * (created): <prefix>confusion, <prefix>confusion-norm and <prefix>calibration (bins bins), in
 * each format of pp (pp->title ignored). Every file is checked against the overwrite rule
 * (fs.h, force) before anything is drawn. *ece gets the calibration's ECE. */
int mer_plot_predictions(const char *dir, const char *prefix, const struct mer_plot_params *pp,
                         const char *pred_path, const char *labels_path, int subset, int bins,
                         int force, double *ece);

/* Per-class F1 of n metrics files (a run's metrics.json, or mer eval --out's), each a row
 * named by its directory: split "cv" or a test split's name (a run's "test": {split: ...}), or
 * any top-level key of mer eval's file. New arrays *rows [n] (mer_strv_free), *classes [*k]
 * (mer_strv_free), *f1 [n * *k] (free); -1 with the error set: a missing split, files whose
 * classes differ (naming both). */
int mer_plot_read_f1(const char *const *paths, size_t n, const char *split, char ***rows,
                     char ***classes, size_t *k, double **f1);

#endif
