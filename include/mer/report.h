/*
 * report.h: an ablation table over training runs (mer report).
 *
 * Each path is a run directory (it has config.json) or a directory whose subdirectories, one
 * level down, are run directories (a sweep). A run without metrics.json is incomplete: listed,
 * never averaged. The config keys whose values differ between the complete runs (the resolved
 * config flattened to dotted keys) name the settings; runs that differ only in train.seed form
 * one row. Every cell is the mean, the sample std (ddof = 1; NaN for one run) and the values
 * over the row's runs of one metric of one set ("cv", then each test split).
 *
 *     struct mer_report r = MER_REPORT_INIT;
 *     struct mer_report_params p = mer_report_default_params();
 *     p.baseline = "model.prior.mode=none";                // optional
 *     if (mer_report_build(&r, paths, n_paths, &p) < 0) ...;  // mer_errmsg()
 *     mer_report_write(stdout, &r, MER_REPORT_TEXT, 0);
 *     mer_report_release(&r);
 *
 * With a baseline, each row gets the differences of its means to the baseline row's and, per
 * set, a paired bootstrap of WAF on the per-sample predictions (predictions/<set>.csv): the
 * row's and the baseline's runs are paired by train.seed (by order of seed when the two rows'
 * seeds differ), the labeled samples are taken in byte order of their names, and resample b
 * draws n indices with mer_rng_below(n) from one mer_rng seeded with bootstrap_seed (fresh for
 * each row and set): its statistic is the mean over the pairs of WAF(row run) - WAF(baseline
 * run) on the resample, WAF computed from counts as sum_c support_c * 2tp_c / (2tp_c + fp_c +
 * fn_c) / n, summed in class order. p = min(1, 2 * min(#{d_b <= 0}, #{d_b >= 0}) / B); the 95%
 * CI is the 2.5th and 97.5th percentiles of the d_b (numpy's default linear interpolation).
 *
 * Runs whose class lists or labeled samples (name and label in predictions/cv.csv) differ are
 * refused, naming both; so are a malformed config.json or metrics.json (naming the file).
 */
#ifndef MER_REPORT_H
#define MER_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;

/* The metrics of a cell, in column order; per-class F1 columns follow at MER_REPORT_N_METRICS. */
enum mer_report_metric {
    MER_REPORT_WAF,
    MER_REPORT_ACCURACY,
    MER_REPORT_MACRO_F1,
    MER_REPORT_N_METRICS,
};

enum mer_report_format {
    MER_REPORT_TEXT,
    MER_REPORT_MARKDOWN,
    MER_REPORT_CSV,
    MER_REPORT_JSON,
    MER_REPORT_LATEX,
};

/* The JSON's "version" (mer.kind "report"); bumped on any change a script could notice. */
#define MER_REPORT_VERSION 1

struct mer_report_params {
    const char *baseline;    /* "key=value,...": the row to compare with; NULL = none */
    int resamples;           /* bootstrap resamples B (default 1000) */
    uint64_t bootstrap_seed; /* seed of the resampling (default 0) */
};

struct mer_report_params mer_report_default_params(void);

struct mer_report_run {
    char *dir;             /* as found: the argument, or argument/subdirectory */
    int complete;          /* has metrics.json */
    int64_t seed;          /* train.seed */
    size_t row;            /* complete runs: the row it is in */
    struct cJSON *flat;    /* the config as {"dotted.key": JSON text}; internal */
    struct cJSON *metrics; /* metrics.json; internal */
};

/* mean, std (sample, ddof = 1: NaN for n < 2), n and the values of one metric over a row's runs
 * (in the row's run order); n = 0 when no run of the row has the set. */
struct mer_report_cell {
    double mean, std;
    size_t n;
    double *values; /* [n] */
    int best;       /* the highest mean of its column (ties all marked) */
};

/* One set of a row against the baseline row. */
struct mer_report_cmp {
    int valid;                          /* both rows have the set */
    double delta[MER_REPORT_N_METRICS]; /* row's mean - baseline's mean */
    double waf_diff;                    /* mean over the pairs of the WAF differences */
    double ci_lo, ci_hi, p;             /* bootstrap of waf_diff */
    size_t pairs;                       /* paired runs */
    int by_order;                       /* paired by order of seed, not by seed value */
};

struct mer_report_row {
    char **values; /* [n_keys] each varying key's value as JSON text */
    size_t n_runs;
    size_t *runs;                  /* [n_runs] indices into the report's runs, by seed */
    struct mer_report_cell *cells; /* [n_sets * n_cols] (mer_report_cell) */
    struct mer_report_cmp *cmp;    /* [n_sets] with a baseline, else NULL */
};

struct mer_report {
    size_t n_runs;
    struct mer_report_run *runs; /* in the order found (subdirectories by name) */
    size_t n_keys;
    char **keys; /* the varying config keys, sorted (train.seed never among them) */
    size_t n_sets;
    char **sets; /* "cv", then the test splits in order of first appearance */
    int n_classes;
    char **classes;
    size_t n_cols; /* MER_REPORT_N_METRICS + n_classes */
    size_t n_rows;
    struct mer_report_row *rows; /* in order of their first run */
    long baseline;               /* index of the baseline row, -1 without */
    struct mer_report_params params;
};

#define MER_REPORT_INIT                                                                            \
    {                                                                                              \
        .baseline = -1                                                                             \
    }

/* Reads the runs under paths [n] and fills *r (release with mer_report_release, also after a
 * failure). -1 with the error set: no run found, a file that cannot be read or is malformed
 * (naming it), runs with different class lists or label sets (naming both), a baseline that
 * matches no row or several, predictions that do not pair. */
int mer_report_build(struct mer_report *r, const char *const *paths, size_t n,
                     const struct mer_report_params *p);
void mer_report_release(struct mer_report *r);

/* Cell of row, set s, column c (< n_cols); borrowed. */
const struct mer_report_cell *mer_report_cell(const struct mer_report *r, size_t row, size_t s,
                                              size_t c);

/* Parses "text", "markdown", "csv", "json", "latex"; -1 with the error set otherwise. */
int mer_report_format_parse(const char *name, enum mer_report_format *out);

/* Writes the table (per_class: per-class F1 columns too) with a footer saying what the
 * numbers are, and the incomplete runs; -1 with the error set on a write error. */
int mer_report_write(FILE *f, const struct mer_report *r, enum mer_report_format fmt,
                     int per_class);

/* The bootstrap's resample indices: idx [B * n], resample b at idx + b * n, as described above;
 * for tests and oracles. */
void mer_report_resample_indices(uint64_t seed, size_t n, size_t resamples, size_t *idx);

#endif
