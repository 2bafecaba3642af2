/* mer plot: SVG and PNG charts of mer's files (confusion, curves, reliability, calibration, f1). */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/evaluate.h"
#include "mer/fs.h"
#include "mer/names.h"
#include "mer/opt.h"
#include "mer/plot.h"
#include "mer/strv.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
    "mer plot confusion <predictions.csv | run dir> -o <dir | file.svg | file.png> [options]",
    "mer plot calibration <predictions.csv | run dir> -o <dir | file> [--bins n] [options]",
    "mer plot curves <run dir | log.jsonl> -o <dir | file> [--keys a,b] [--best key]",
    "mer plot reliability <ingest-report.json> -o <dir | file> [options]",
    "mer plot f1 <run dir | metrics.json>... -o <dir | file> [--split name] [options]",
    NULL,
};

struct plot_opts {
    const char *out, *format, *title, *labels, *split, *keys, *best;
    int width, height, bins, normalize, subset, force;
    struct mer_plot_params pp;
};

/* <out>/<name> for a directory, or out without its .svg/.png (which then is the one format). */
static char *out_base(struct plot_opts *o, const char *name)
{
    size_t n = strlen(o->out);
    if (n > 4 && (!strcmp(o->out + n - 4, ".svg") || !strcmp(o->out + n - 4, ".png"))) {
        o->pp.formats = !strcmp(o->out + n - 4, ".svg") ? MER_PLOT_SVG : MER_PLOT_PNG;
        return mer_strfmt("%.*s", (int)(n - 4), o->out);
    }
    if (mer_mkdir_p(o->out) < 0)
        return NULL;
    return mer_path_join(o->out, name);
}

/* The overwrite rule for <base>.svg / <base>.png, before anything is drawn. */
static int check_base(const struct plot_opts *o, const char *base)
{
    for (int f = 0; f < 2; f++) {
        char *path;
        int ret;
        if (!(o->pp.formats & (f ? MER_PLOT_PNG : MER_PLOT_SVG)))
            continue;
        if (!(path = mer_strfmt("%s.%s", base, f ? "png" : "svg")))
            return mer_error("out of memory");
        ret = mer_output_check(path, o->force);
        free(path);
        if (ret < 0)
            return -1;
    }
    return 0;
}

static char *begin(struct plot_opts *o, const char *name)
{
    char *base = out_base(o, name);
    if (!base && !*mer_errmsg())
        mer_error("out of memory");
    if (base && check_base(o, base) < 0) {
        free(base);
        return NULL;
    }
    return base;
}

/* A run directory's predictions/<split>.csv, or the file itself. */
static char *pred_path(const struct plot_opts *o, const char *in)
{
    const char *split = o->split ? o->split : "cv";
    if (!mer_is_dir(in))
        return strdup(in);
    if (mer_name_check("split", split) < 0)
        return NULL;
    return mer_strfmt("%s/predictions/%s.csv", in, split);
}

/* The predictions file with --labels attached; *p is the caller's to free, also on -1. */
static int read_predictions(const struct plot_opts *o, const char *path, struct mer_predictions **p)
{
    if (mer_predictions_read(p, path) < 0)
        return -1;
    return o->labels ? mer_predictions_attach_labels(*p, o->labels, o->subset) : 0;
}

static int plot_confusion(struct plot_opts *o, const char *in)
{
    struct mer_predictions *p = NULL;
    struct mer_metrics m = {0};
    char *path = pred_path(o, in), *base = NULL;
    int ret = -1;
    if (!path || !(base = begin(o, o->normalize ? "confusion-norm" : "confusion")) ||
        read_predictions(o, path, &p) < 0 || mer_predictions_score(p, &m) < 0 ||
        mer_plot_confusion(base, &o->pp, m.confusion, p->classes, p->n_classes, o->normalize) < 0)
        goto done;
    ret = 0;
done:
    mer_metrics_release(&m);
    mer_predictions_free(p);
    free(base);
    free(path);
    return ret;
}

static int plot_calibration(struct plot_opts *o, const char *in)
{
    struct mer_calibration cal = {0};
    struct mer_predictions *p = NULL;
    char *path = pred_path(o, in), *base = NULL;
    double *conf = NULL;
    int *correct = NULL, ret = -1;
    size_t n;
    if (!path || !(base = begin(o, "calibration")) || read_predictions(o, path, &p) < 0 ||
        mer_plot_confidence(p, &conf, &correct, &n) < 0 ||
        mer_calibration_compute(&cal, conf, correct, n, o->bins) < 0 ||
        mer_plot_calibration(base, &o->pp, &cal) < 0)
        goto done;
    printf("ECE %.12f (%d bins, %zu samples, accuracy %.6f)\n", cal.ece, cal.bins, cal.n,
           cal.accuracy);
    ret = 0;
done:
    mer_calibration_release(&cal);
    mer_predictions_free(p);
    free(conf);
    free(correct);
    free(base);
    free(path);
    return ret;
}

/* ---- curves ---- */

/* The panels: --keys, or every loss term (the numeric fields that are not epoch, lr, seconds,
 * samples or a train_/val_ metric) and the validation WAF. */
static int pick_keys(const struct plot_opts *o, const struct mer_plot_log *log, const char *path,
                     struct mer_strv *keys)
{
    static const char *const skip[] = {"epoch", "lr", "seconds", "samples"};
    if (o->keys) {
        for (const char *s = o->keys; *s;) {
            size_t len = strcspn(s, ",");
            if (len && mer_strv_push(keys, s, len) < 0)
                return -1;
            if (len && mer_plot_log_key(log, keys->v[keys->n - 1]) < 0)
                return mer_error("'%s': no numeric field '%s'", path, keys->v[keys->n - 1]);
            s += len + (s[len] == ',');
        }
        return keys->n ? 0 : mer_error("--keys: no key given");
    }
    for (size_t k = 0; k < log->n_keys; k++) {
        const char *key = log->keys[k];
        int plain = strncmp(key, "train_", 6) && strncmp(key, "val_", 4);
        for (size_t i = 0; i < MER_ARRAY_SIZE(skip); i++)
            plain = plain && strcmp(key, skip[i]);
        if (plain && mer_strv_push(keys, key, strlen(key)) < 0)
            return -1;
    }
    if (mer_plot_log_key(log, "val_waf") >= 0 && mer_strv_push(keys, "val_waf", 7) < 0)
        return -1;
    return keys->n ? 0 : mer_error("'%s': no loss term or val_waf to plot", path);
}

/* The fold logs of a run directory (fold-0/log.jsonl, fold-1/...), or the one log given. */
static int log_paths(const char *in, struct mer_strv *paths, struct mer_strv *names)
{
    if (!mer_is_dir(in))
        return mer_strv_push(paths, in, strlen(in)) < 0 || mer_strv_push(names, "log", 3) < 0 ? -1
                                                                                              : 0;
    for (int k = 0;; k++) {
        char *p = mer_strfmt("%s/fold-%d/log.jsonl", in, k), *n = mer_strfmt("fold %d", k);
        int ok = p && n && mer_path_exists(p);
        if (ok &&
            (mer_strv_push(paths, p, strlen(p)) < 0 || mer_strv_push(names, n, strlen(n)) < 0))
            ok = -1;
        free(p);
        free(n);
        if (ok < 0)
            return -1;
        if (!ok)
            break;
    }
    return paths->n ? 0 : mer_error("'%s': no fold-0/log.jsonl (not a run directory?)", in);
}

/* The index of the first largest finite value of the best key (the trainer keeps the first). */
static long best_index(const struct mer_plot_log *log, int key)
{
    long best = -1;
    for (size_t i = 0; key >= 0 && i < log->n_records; i++)
        if (isfinite(log->values[key][i]) &&
            (best < 0 || log->values[key][i] > log->values[key][best]))
            best = (long)i;
    return best;
}

static int draw_curves(struct plot_opts *o, const char *base, struct mer_plot_log *logs,
                       const struct mer_strv *paths, const struct mer_strv *names)
{
    struct mer_strv keys = MER_STRV_INIT;
    struct mer_plot_series *series = NULL;
    struct mer_plot_panel *panels = NULL;
    size_t f = paths->n;
    int ret = -1;
    if (pick_keys(o, &logs[0], paths->v[0], &keys) < 0)
        goto done;
    series = calloc(keys.n * f, sizeof(*series));
    panels = calloc(keys.n, sizeof(*panels));
    if (!series || !panels) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t k = 0; k < keys.n; k++) {
        panels[k] = (struct mer_plot_panel){keys.v[k], series + k * f, f};
        for (size_t i = 0; i < f; i++) {
            int key = mer_plot_log_key(&logs[i], keys.v[k]),
                ep = mer_plot_log_key(&logs[i], "epoch");
            struct mer_plot_series *s = &series[k * f + i];
            if (key < 0 || ep < 0) {
                mer_error("'%s': no numeric field '%s'", paths->v[i],
                          key < 0 ? keys.v[k] : "epoch");
                goto done;
            }
            *s = (struct mer_plot_series){
                names->v[i], logs[i].values[ep], logs[i].values[key], logs[i].n_records,
                best_index(&logs[i], mer_plot_log_key(&logs[i], o->best))};
        }
    }
    ret = mer_plot_curves(base, &o->pp, panels, keys.n);
done:
    free(series);
    free(panels);
    mer_strv_release(&keys);
    return ret;
}

static int plot_curves(struct plot_opts *o, const char *in)
{
    struct mer_strv paths = MER_STRV_INIT, names = MER_STRV_INIT;
    struct mer_plot_log *logs = NULL;
    char *base = NULL;
    int ret = -1;
    if (log_paths(in, &paths, &names) < 0 || !(base = begin(o, "curves")))
        goto done;
    if (!(logs = calloc(paths.n, sizeof(*logs)))) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < paths.n; i++)
        if (mer_plot_log_read(&logs[i], paths.v[i]) < 0)
            goto done;
    ret = draw_curves(o, base, logs, &paths, &names);
done:
    for (size_t i = 0; logs && i < paths.n; i++)
        mer_plot_log_release(&logs[i]);
    free(logs);
    free(base);
    mer_strv_release(&paths);
    mer_strv_release(&names);
    return ret;
}

/* ---- the priors' reliability (ingest-report.json) ---- */

#define MAX_TRACES 16

static int plot_reliability(struct plot_opts *o, const char *in)
{
    struct mer_plot_hist h[MAX_TRACES];
    double counts[MAX_TRACES][64];
    char names[MAX_TRACES][96], label[64];
    const cJSON *rel, *it, *min;
    cJSON *root = NULL;
    char *base = NULL;
    size_t n = 0;
    int ret = -1;
    if (!(root = mer_read_json(in)))
        goto done;
    rel = cJSON_GetObjectItemCaseSensitive(root, "reliability");
    min = cJSON_GetObjectItemCaseSensitive(rel, "min_reliability");
    if (!cJSON_IsObject(rel)) {
        mer_error("'%s': key 'reliability': expected an object (an ingest report?)", in);
        goto done;
    }
    /* one panel per trace: every member with a histogram (the names are the report's) */
    cJSON_ArrayForEach(it, rel)
    {
        const cJSON *hist = cJSON_GetObjectItemCaseSensitive(it, "histogram"), *v;
        const cJSON *traces = cJSON_GetObjectItemCaseSensitive(it, "traces");
        const cJSON *mean = cJSON_GetObjectItemCaseSensitive(it, "mean");
        int b = 0;
        if (!cJSON_IsArray(hist))
            continue;
        if (n == MAX_TRACES || cJSON_GetArraySize(hist) < 1 || cJSON_GetArraySize(hist) > 64) {
            mer_error("'%s': key 'reliability.%s.histogram': expected 1 to 64 bins (and at most "
                      "%d traces)",
                      in, it->string, MAX_TRACES);
            goto done;
        }
        cJSON_ArrayForEach(v, hist)
        {
            if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0)) {
                mer_error("'%s': key 'reliability.%s.histogram': expected counts", in, it->string);
                goto done;
            }
            counts[n][b++] = v->valuedouble;
        }
        snprintf(names[n], sizeof(names[n]), "%s (%.0f traces, mean %.2f)", it->string,
                 cJSON_IsNumber(traces) ? traces->valuedouble : 0,
                 cJSON_IsNumber(mean) ? mean->valuedouble : 0);
        h[n] = (struct mer_plot_hist){names[n], counts[n], b, 0, 1};
        n++;
    }
    if (!n) {
        mer_error("'%s': key 'reliability': no histogram", in);
        goto done;
    }
    snprintf(label, sizeof(label), "min_reliability %.2f",
             cJSON_IsNumber(min) ? min->valuedouble : 0);
    if (!(base = begin(o, "reliability")) ||
        mer_plot_histograms(base, &o->pp, h, n, cJSON_IsNumber(min) ? min->valuedouble : NAN,
                            label) < 0)
        goto done;
    ret = 0;
done:
    free(base);
    cJSON_Delete(root);
    return ret;
}

/* ---- per-class F1 of runs ---- */

static int plot_f1(struct plot_opts *o, int n, const char **in)
{
    struct mer_strv paths = MER_STRV_INIT;
    char **rows = NULL, **classes = NULL, *base = NULL;
    double *f1 = NULL;
    size_t k = 0;
    int ret = -1;
    for (int i = 0; i < n; i++) {
        char *p = mer_is_dir(in[i]) ? mer_path_join(in[i], "metrics.json") : strdup(in[i]);
        if (!p || mer_strv_push(&paths, p, strlen(p)) < 0) {
            free(p);
            mer_error("out of memory");
            goto done;
        }
        free(p);
    }
    if (mer_plot_read_f1((const char *const *)paths.v, paths.n, o->split ? o->split : "cv", &rows,
                         &classes, &k, &f1) < 0 ||
        !(base = begin(o, "f1")) ||
        mer_plot_bars(base, &o->pp, (const char *const *)rows, paths.n,
                      (const char *const *)classes, k, f1, NULL, "F1") < 0)
        goto done;
    ret = 0;
done:
    mer_strv_free(rows, rows ? paths.n : 0);
    mer_strv_free(classes, k);
    free(f1);
    free(base);
    mer_strv_release(&paths);
    return ret;
}

static int run(struct plot_opts *o, int n, const char **args)
{
    const char *what = args[0];
    if (!strcmp(what, "f1"))
        return plot_f1(o, n - 1, args + 1);
    if (!strcmp(what, "confusion"))
        return plot_confusion(o, args[1]);
    if (!strcmp(what, "calibration"))
        return plot_calibration(o, args[1]);
    if (!strcmp(what, "curves"))
        return plot_curves(o, args[1]);
    return plot_reliability(o, args[1]);
}

int cmd_plot(int argc, const char **argv)
{
    static const char *const kinds[] = {"confusion", "calibration", "curves", "reliability", "f1"};
    struct plot_opts o = {
        .format = "both", .width = 800, .height = 600, .bins = 15, .best = "val_waf"};
    struct mer_option opts[] = {
        MER_OPT_STRING('o', "out", &o.out, "path",
                       "a directory (one file per format, named by the plot) or a .svg/.png file"),
        MER_OPT_STRING(0, "format", &o.format, "fmt", "svg, png or both (default both)"),
        MER_OPT_INT_RANGE(0, "width", &o.width, "[200,8000]", "width in pixels (default 800)"),
        MER_OPT_INT_RANGE(0, "height", &o.height, "[200,8000]", "height in pixels (default 600)"),
        MER_OPT_STRING(0, "title", &o.title, "text", "the title (default: the plot's own)"),
        MER_OPT_STRING(0, "labels", &o.labels, "file",
                       "confusion, calibration: labels to score against (label CSV or store)"),
        MER_OPT_BOOL(0, "subset", &o.subset,
                     "confusion, calibration: predictions may cover only part of --labels"),
        MER_OPT_STRING(0, "split", &o.split, "name",
                       "a run's predictions or metrics of this split (default cv)"),
        MER_OPT_BOOL(0, "normalize", &o.normalize, "confusion: divide each row by its sum"),
        MER_OPT_INT_RANGE(0, "bins", &o.bins, "[1,1000]",
                          "calibration: equal-width confidence bins (default 15)"),
        MER_OPT_STRING(0, "keys", &o.keys, "a,b",
                       "curves: the log's fields to plot (default: loss terms and val_waf)"),
        MER_OPT_STRING(0, "best", &o.best, "key",
                       "curves: the field whose largest value marks a fold's best epoch "
                       "(default val_waf)"),
        MER_OPT_BOOL(0, "force", &o.force, "overwrite existing plot files"),
        MER_OPT_END(),
    };
    int n = mer_opt_parse(argc, argv, opts, usage), known = 0;
    if (n < 0)
        return mer_opt_exit_code(n);
    if (n < 1)
        return mer_usage_error("plot", "expected a plot: confusion, calibration, curves, "
                                       "reliability or f1");
    for (size_t i = 0; i < MER_ARRAY_SIZE(kinds); i++)
        known |= !strcmp(argv[0], kinds[i]);
    if (!known)
        return mer_usage_error("plot",
                               "unknown plot '%s' (expected confusion, calibration, "
                               "curves, reliability or f1)",
                               argv[0]);
    if (n < 2 || (n > 2 && strcmp(argv[0], "f1")))
        return mer_usage_error("plot", "%s: expected one input, got %d", argv[0], n - 1);
    if (!o.out)
        return mer_usage_error("plot", "missing -o <dir or file>");
    o.pp = mer_plot_default_params();
    o.pp.width = o.width;
    o.pp.height = o.height;
    o.pp.title = o.title;
    if (mer_plot_parse_format(o.format, &o.pp.formats) < 0)
        return mer_usage_error("plot", "option '--format': %s", mer_errmsg());
    return run(&o, n, argv) < 0 ? cmd_fail("plot") : 0;
}
