/* mer report --plots: the per-class F1 of every row of a report, one chart per set. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/plot.h"
#include "mer/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A row's legend entry: "mode=none, lambda_inter=0" (each varying key by its last part, as a
 * legend has little room); new, NULL on out of memory. */
static char *row_label(const struct mer_report *r, size_t row)
{
    char *label = mer_strfmt("%s", r->n_keys ? "" : "all runs");
    for (size_t k = 0; label && k < r->n_keys; k++) {
        const char *key = strrchr(r->keys[k], '.') ? strrchr(r->keys[k], '.') + 1 : r->keys[k];
        const char *v = r->rows[row].values[k];
        size_t vl = strlen(v);
        int quoted = vl >= 2 && v[0] == '"' && v[vl - 1] == '"';
        char *next = mer_strfmt("%s%s%s=%.*s", label, k ? ", " : "", key, (int)(vl - 2 * quoted),
                                v + quoted);
        free(label);
        label = next;
    }
    return label;
}

/* The chart of set s: means and stds of the per-class F1 columns (a std of one run drawn as
 * none). */
static int plot_set(const char *dir, const struct mer_plot_params *pp, const struct mer_report *r,
                    size_t s, const char *const *labels)
{
    const size_t k = (size_t)r->n_classes, n = r->n_rows;
    double *mean = malloc((n * k + 1) * sizeof(double)),
           *std = malloc((n * k + 1) * sizeof(double));
    char *base = mer_strfmt("%s/f1-%s", dir, r->sets[s]);
    char *title = mer_strfmt("per-class F1 on '%s' (mean ± std over seeds)", r->sets[s]);
    struct mer_plot_params q = *pp;
    int ret = -1;
    if (!mean || !std || !base || !title) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t row = 0; row < n; row++)
        for (size_t c = 0; c < k; c++) {
            const struct mer_report_cell *cell =
                mer_report_cell(r, row, s, MER_REPORT_N_METRICS + c);
            mean[row * k + c] = cell->n ? cell->mean : 0;
            std[row * k + c] = isfinite(cell->std) ? cell->std : 0;
        }
    q.title = title;
    ret = mer_plot_bars(base, &q, labels, n, (const char *const *)r->classes, k, mean, std, "F1");
done:
    free(mean);
    free(std);
    free(base);
    free(title);
    return ret;
}

/* Every file the plots would write, checked against the overwrite rule before any is drawn. */
static int check_outputs(const char *dir, const struct mer_plot_params *pp,
                         const struct mer_report *r, int force)
{
    for (size_t s = 0; s < r->n_sets; s++) {
        char *base = mer_strfmt("%s/f1-%s", dir, r->sets[s]);
        int ret =
            base ? mer_plot_check_outputs(base, pp->formats, force) : mer_error("out of memory");
        free(base);
        if (ret < 0)
            return -1;
    }
    return 0;
}

int mer_plot_report(const char *dir, const struct mer_plot_params *pp, const struct mer_report *r,
                    int force)
{
    char **labels = calloc(r->n_rows + 1, sizeof(*labels));
    int ret = -1;
    if (!labels)
        return mer_error("out of memory");
    if (!r->n_rows || r->n_classes <= 0) {
        mer_error("the report has no complete run to plot");
        goto done;
    }
    for (size_t row = 0; row < r->n_rows; row++)
        if (!(labels[row] = row_label(r, row))) {
            mer_error("out of memory");
            goto done;
        }
    if (mer_mkdir_p(dir) < 0 || check_outputs(dir, pp, r, force) < 0)
        goto done;
    for (size_t s = 0; s < r->n_sets; s++)
        if (plot_set(dir, pp, r, s, (const char *const *)labels) < 0)
            goto done;
    ret = 0;
done:
    for (size_t row = 0; row < r->n_rows; row++)
        free(labels[row]);
    free(labels);
    return ret;
}
