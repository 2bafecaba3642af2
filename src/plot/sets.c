/* Plots of whole files: a predictions file's confusion and calibration (mer eval --plots), and
 * the per-class F1 of a set of metrics files (mer plot f1). */
#include "mer/error.h"
#include "mer/evaluate.h"
#include "mer/fs.h"
#include "mer/plot.h"
#include "mer/strv.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *const pred_plots[] = {"confusion", "confusion-norm", "calibration"};

/* The overwrite rule for every file the set will write, before any is drawn. */
static int check_outputs(const char *dir, const char *prefix, unsigned formats, int force)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(pred_plots); i++) {
        char *base = mer_strfmt("%s/%s%s", dir, prefix, pred_plots[i]);
        int ret = base ? mer_plot_check_outputs(base, formats, force) : mer_error("out of memory");
        free(base);
        if (ret < 0)
            return -1;
    }
    return 0;
}

static int plot_one(const char *dir, const char *prefix, const char *name,
                    const struct mer_plot_params *pp, const struct mer_predictions *p,
                    const struct mer_metrics *m, const struct mer_calibration *cal)
{
    char *base = mer_strfmt("%s/%s%s", dir, prefix, name);
    int ret;
    if (!base)
        return mer_error("out of memory");
    if (!strcmp(name, "calibration"))
        ret = mer_plot_calibration(base, pp, cal);
    else
        ret = mer_plot_confusion(base, pp, m->confusion, p->classes, p->n_classes,
                                 !strcmp(name, "confusion-norm"));
    free(base);
    return ret;
}

int mer_plot_predictions(const char *dir, const char *prefix, const struct mer_plot_params *pp,
                         const char *pred_path, const char *labels_path, int subset, int bins,
                         int force, double *ece)
{
    struct mer_plot_params q = *pp;
    struct mer_predictions *p = NULL;
    struct mer_metrics m = {0};
    struct mer_calibration cal = {0};
    double *conf = NULL;
    int *correct = NULL, ret = -1;
    size_t n;
    q.title = NULL;
    if (mer_mkdir_p(dir) < 0 || check_outputs(dir, prefix, pp->formats, force) < 0 ||
        mer_predictions_read(&p, pred_path) < 0 ||
        (labels_path && mer_predictions_attach_labels(p, labels_path, subset) < 0) ||
        mer_predictions_score(p, &m) < 0 || mer_plot_confidence(p, &conf, &correct, &n) < 0 ||
        mer_calibration_compute(&cal, conf, correct, n, bins) < 0)
        goto done;
    for (size_t i = 0; i < MER_ARRAY_SIZE(pred_plots); i++)
        if (plot_one(dir, prefix, pred_plots[i], &q, p, &m, &cal) < 0)
            goto done;
    *ece = cal.ece;
    ret = 0;
done:
    mer_calibration_release(&cal);
    free(conf);
    free(correct);
    mer_metrics_release(&m);
    mer_predictions_free(p);
    return ret;
}

/* ---- per-class F1 of metrics files ---- */

/* The metrics object of split in a metrics file's root. */
static const cJSON *split_of(const cJSON *root, const char *split)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, split);
    if (cJSON_IsObject(o) && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "per_class")))
        return o;
    o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "test"), split);
    return cJSON_IsObject(o) ? o : NULL;
}

/* The row's name: the directory that holds the file. */
static int row_name(struct mer_strv *rows, const char *path)
{
    const char *slash = strrchr(path, '/'), *start;
    size_t len;
    if (!slash)
        return mer_strv_push(rows, ".", 1);
    len = (size_t)(slash - path);
    start = path;
    for (const char *s = path; s < slash; s++)
        if (*s == '/' && s + 1 < slash)
            start = s + 1;
    len -= (size_t)(start - path);
    return mer_strv_push(rows, start, len ? len : 1);
}

static int read_one(const char *path, const char *split, size_t row, struct mer_strv *classes,
                    const char *first, double **f1)
{
    size_t k = 0;
    cJSON *root = mer_read_json(path);
    const cJSON *pc, *it;
    int ret = -1;
    if (!root)
        return -1;
    pc = cJSON_GetObjectItemCaseSensitive(split_of(root, split), "per_class");
    if (!cJSON_IsObject(pc)) {
        mer_error("'%s': no metrics of split '%s' with per-class values", path, split);
        goto done;
    }
    cJSON_ArrayForEach(it, pc)
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "f1");
        if (!first && mer_strv_push(classes, it->string, strlen(it->string)) < 0)
            goto done;
        if (first && (k >= classes->n || strcmp(classes->v[k], it->string))) {
            mer_error("'%s' and '%s' have different classes", first, path);
            goto done;
        }
        if (!cJSON_IsNumber(v)) {
            mer_error("'%s': key '%s.per_class.%s.f1': expected a number", path, split, it->string);
            goto done;
        }
        if (!first && !(*f1 = realloc(*f1, (k + 1) * sizeof(double)))) {
            mer_error("out of memory");
            goto done;
        }
        (*f1)[row * classes->n + k] = v->valuedouble;
        k++;
    }
    if (!k || k != classes->n) {
        mer_error(k ? "'%s' and '%s' have different classes" : "'%s': no classes in '%s'",
                  k ? first : path, k ? path : split);
        goto done;
    }
    ret = 0;
done:
    cJSON_Delete(root);
    return ret;
}

int mer_plot_read_f1(const char *const *paths, size_t n, const char *split, char ***rows,
                     char ***classes, size_t *k, double **f1)
{
    struct mer_strv r = MER_STRV_INIT, c = MER_STRV_INIT;
    double *v = NULL;
    int ret = -1;
    if (!n)
        return mer_error("no metrics files");
    for (size_t i = 0; i < n; i++) {
        if (row_name(&r, paths[i]) < 0 ||
            read_one(paths[i], split, i, &c, i ? paths[0] : NULL, &v) < 0)
            goto done;
        if (i == 0) { /* the first file sets the classes: room for every row now */
            double *all = realloc(v, n * c.n * sizeof(double));
            if (!all) {
                mer_error("out of memory");
                goto done;
            }
            v = all;
        }
    }
    *rows = r.v;
    *classes = c.v;
    *k = c.n;
    *f1 = v;
    return 0;
done:
    mer_strv_release(&r);
    mer_strv_release(&c);
    free(v);
    return ret;
}
