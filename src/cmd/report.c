/* mer report: an ablation table (mean ± std over seeds, paired bootstrap against a baseline)
 * over run directories and sweeps. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/opt.h"
#include "mer/plot.h"
#include "mer/report.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const usage[] = {
    "mer report [options] <run or sweep dir>...",
    NULL,
};

struct report_opts {
    const char *format, *out, *baseline, *plots;
    int per_class, resamples, seed, force;
};

static int run(const char *const *paths, size_t n, const struct report_opts *o,
               enum mer_report_format fmt)
{
    struct mer_report r = MER_REPORT_INIT;
    struct mer_report_params p = mer_report_default_params();
    struct mer_atomic_file f = {0};
    int ret = -1;
    p.baseline = o->baseline;
    p.resamples = o->resamples;
    p.bootstrap_seed = (uint64_t)o->seed;
    if (o->out && mer_output_check(o->out, o->force) < 0)
        goto done;
    if (mer_report_build(&r, paths, n, &p) < 0)
        goto done;
    if (o->plots) {
        struct mer_plot_params pp = mer_plot_default_params();
        if (mer_plot_report(o->plots, &pp, &r, o->force) < 0)
            goto done;
    }
    if (!o->out) {
        ret = mer_report_write(stdout, &r, fmt, o->per_class);
        goto done;
    }
    if (mer_atomic_open(&f, o->out) < 0)
        goto done;
    if (mer_report_write(f.fp, &r, fmt, o->per_class) < 0) {
        mer_atomic_abort(&f);
        goto done;
    }
    ret = mer_atomic_commit(&f);
done:
    mer_report_release(&r);
    return ret;
}

int cmd_report(int argc, const char **argv)
{
    struct report_opts o = {.format = "text", .resamples = 1000};
    enum mer_report_format fmt;
    struct mer_option opts[] = {
        MER_OPT_STRING(0, "format", &o.format, "fmt",
                       "text (aligned, the default), markdown, csv, json or latex"),
        MER_OPT_STRING('o', "out", &o.out, "file", "write the report here (atomic)"),
        MER_OPT_BOOL(0, "force", &o.force, "overwrite the --out file and the plots"),
        MER_OPT_BOOL(0, "per-class", &o.per_class, "add per-class F1 columns"),
        MER_OPT_STRING(0, "plots", &o.plots, "dir",
                       "also draw each set's per-class F1 bars (f1-<set>.svg/.png) into dir"),
        MER_OPT_STRING(0, "baseline", &o.baseline, "key=value,...",
                       "the row to compare every row with (differences, paired bootstrap)"),
        MER_OPT_INT_RANGE(0, "resamples", &o.resamples, "[1,1000000]",
                          "bootstrap resamples (default 1000)"),
        MER_OPT_INT_RANGE(0, "bootstrap-seed", &o.seed, "[0,)",
                          "seed of the bootstrap's resampling (default 0)"),
        MER_OPT_END(),
    };
    int n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0)
        return mer_opt_exit_code(n);
    if (n == 0)
        return mer_usage_error("report", "give at least one run or sweep directory");
    if (mer_report_format_parse(o.format, &fmt) < 0)
        return mer_usage_error("report", "--format: %s", mer_errmsg());
    return run(argv, (size_t)n, &o, fmt) < 0 ? cmd_fail("report") : 0;
}
