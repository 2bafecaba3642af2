/* What the plots are drawn from: calibration bins, training logs, predictions' confidences. */
#include "mer/error.h"
#include "mer/evaluate.h"
#include "mer/fs.h"
#include "mer/plot.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- calibration ---- */

void mer_calibration_release(struct mer_calibration *c)
{
    if (!c)
        return;
    free(c->count);
    free(c->acc);
    free(c->conf);
    memset(c, 0, sizeof(*c));
}

int mer_calibration_compute(struct mer_calibration *c, const double *conf, const int *correct,
                            size_t n, int bins)
{
    size_t right = 0;
    memset(c, 0, sizeof(*c));
    if (bins < 1)
        return mer_error("calibration: %d bins (expected at least 1)", bins);
    if (!n)
        return mer_error("calibration: no samples");
    c->bins = bins;
    c->n = n;
    c->count = calloc((size_t)bins, sizeof(size_t));
    c->acc = calloc((size_t)bins, sizeof(double));
    c->conf = calloc((size_t)bins, sizeof(double));
    if (!c->count || !c->acc || !c->conf) {
        mer_calibration_release(c);
        return mer_error("out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        /* (b/B, (b+1)/B]: a confidence on an edge goes to the bin below it */
        double b = ceil(conf[i] * bins) - 1;
        int k;
        if (!(conf[i] >= 0 && conf[i] <= 1)) {
            mer_calibration_release(c);
            return mer_error("calibration: confidence %g outside [0, 1]", conf[i]);
        }
        k = b < 0 ? 0 : b >= bins ? bins - 1 : (int)b;
        c->count[k]++;
        c->acc[k] += correct[i] != 0;
        c->conf[k] += conf[i];
        right += correct[i] != 0;
    }
    for (int k = 0; k < bins; k++) {
        if (!c->count[k])
            continue;
        c->acc[k] /= (double)c->count[k];
        c->conf[k] /= (double)c->count[k];
        c->ece += (double)c->count[k] / (double)n * fabs(c->acc[k] - c->conf[k]);
    }
    c->accuracy = (double)right / (double)n;
    return 0;
}

/* ---- training logs ---- */

void mer_plot_log_release(struct mer_plot_log *log)
{
    if (!log)
        return;
    for (size_t k = 0; k < log->n_keys; k++) {
        free(log->keys[k]);
        free(log->values[k]);
    }
    free(log->keys);
    free(log->values);
    memset(log, 0, sizeof(*log));
}

int mer_plot_log_key(const struct mer_plot_log *log, const char *key)
{
    for (size_t k = 0; k < log->n_keys; k++)
        if (!strcmp(log->keys[k], key))
            return (int)k;
    return -1;
}

struct log_reader {
    struct mer_plot_log *log;
    size_t cap; /* records each column has room for */
};

static int add_key(struct log_reader *r, const char *key)
{
    struct mer_plot_log *l = r->log;
    char **keys = realloc(l->keys, (l->n_keys + 1) * sizeof(char *));
    double **values;
    if (!keys)
        return mer_error("out of memory");
    l->keys = keys;
    values = realloc(l->values, (l->n_keys + 1) * sizeof(double *));
    if (!values)
        return mer_error("out of memory");
    l->values = values;
    l->keys[l->n_keys] = strdup(key);
    l->values[l->n_keys] = malloc((r->cap ? r->cap : 1) * sizeof(double));
    if (!l->keys[l->n_keys] || !l->values[l->n_keys]) {
        free(l->keys[l->n_keys]);
        free(l->values[l->n_keys]);
        return mer_error("out of memory");
    }
    for (size_t i = 0; i < r->cap; i++)
        l->values[l->n_keys][i] = NAN;
    l->n_keys++;
    return 0;
}

/* Room for one more record in every column (NaN until set). */
static int grow(struct log_reader *r)
{
    struct mer_plot_log *l = r->log;
    size_t cap;
    if (l->n_records < r->cap)
        return 0;
    cap = r->cap ? r->cap * 2 : 64;
    for (size_t k = 0; k < l->n_keys; k++) {
        double *v = realloc(l->values[k], cap * sizeof(double));
        if (!v)
            return mer_error("out of memory");
        for (size_t i = r->cap; i < cap; i++)
            v[i] = NAN;
        l->values[k] = v;
    }
    r->cap = cap;
    return 0;
}

static int log_line(void *ctx, const char *path, struct mer_text_line *line)
{
    struct log_reader *r = ctx;
    struct mer_plot_log *l = r->log;
    cJSON *o, *it;
    int ret = -1;
    if (strspn(line->text, " \t\r\n") == line->len)
        return 0; /* a blank line */
    o = cJSON_ParseWithLength(line->text, line->len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return mer_error("'%s':%zu: not a JSON object", path, line->lineno);
    }
    if (grow(r) < 0)
        goto done;
    cJSON_ArrayForEach(it, o)
    {
        int k;
        if (!cJSON_IsNumber(it) || !it->string)
            continue;
        if ((k = mer_plot_log_key(l, it->string)) < 0) {
            if (add_key(r, it->string) < 0)
                goto done;
            k = (int)l->n_keys - 1;
        }
        l->values[k][l->n_records] = it->valuedouble;
    }
    l->n_records++;
    ret = 0;
done:
    cJSON_Delete(o);
    return ret;
}

int mer_plot_log_read(struct mer_plot_log *log, const char *path)
{
    struct log_reader r = {log, 0};
    memset(log, 0, sizeof(*log));
    if (mer_read_lines(path, MER_LINE_MAX, log_line, &r) < 0) {
        mer_plot_log_release(log);
        return -1;
    }
    if (!log->n_records) {
        mer_plot_log_release(log);
        return mer_error("'%s': no records", path);
    }
    return 0;
}

/* ---- confidences of a predictions file ---- */

int mer_plot_confidence(const struct mer_predictions *p, double **conf, int **correct, size_t *n)
{
    size_t m = 0;
    *conf = NULL;
    *correct = NULL;
    *n = 0;
    if (!p->confidence)
        return mer_error("'%s': a submission has no probabilities (expected a predictions CSV)",
                         p->path);
    *conf = malloc((p->n + 1) * sizeof(double));
    *correct = malloc((p->n + 1) * sizeof(int));
    if (!*conf || !*correct) {
        mer_error("out of memory");
        goto fail;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (p->label[i] < 0)
            continue; /* unlabeled: no correctness to bin */
        (*conf)[m] = p->confidence[i];
        (*correct)[m] = p->pred[i] == p->label[i];
        m++;
    }
    if (!m) {
        mer_error("'%s': no labeled predictions (give --labels)", p->path);
        goto fail;
    }
    *n = m;
    return 0;
fail:
    free(*conf);
    free(*correct);
    *conf = NULL;
    *correct = NULL;
    return -1;
}
