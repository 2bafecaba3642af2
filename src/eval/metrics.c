#include "mer/metrics.h"
#include "mer/error.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void mer_metrics_release(struct mer_metrics *m)
{
    if (!m)
        return;
    free(m->precision);
    free(m->recall);
    free(m->f1);
    free(m->support);
    free(m->predicted);
    free(m->confusion);
    memset(m, 0, sizeof(*m));
}

static int metrics_alloc(struct mer_metrics *m, int k)
{
    size_t K = (size_t)k;
    memset(m, 0, sizeof(*m));
    m->n_classes = k;
    m->precision = calloc(K, sizeof(double));
    m->recall = calloc(K, sizeof(double));
    m->f1 = calloc(K, sizeof(double));
    m->support = calloc(K, sizeof(int64_t));
    m->predicted = calloc(K, sizeof(int64_t));
    m->confusion = calloc(K * K, sizeof(int64_t));
    if (!m->precision || !m->recall || !m->f1 || !m->support || !m->predicted || !m->confusion) {
        mer_metrics_release(m);
        return mer_error("out of memory");
    }
    return 0;
}

static double ratio(double num, double den)
{
    return den > 0 ? num / den : 0.0;
}

/* Per-class precision/recall/F1 from the confusion matrix, then sklearn's averages. */
static void summarize(struct mer_metrics *m)
{
    int k = m->n_classes, present = 0;
    int64_t correct = 0;
    for (int c = 0; c < k; c++) {
        double tp = (double)m->confusion[(size_t)c * (size_t)k + (size_t)c];
        correct += (int64_t)tp;
        m->precision[c] = ratio(tp, (double)m->predicted[c]);
        m->recall[c] = ratio(tp, (double)m->support[c]);
        m->f1[c] = ratio(2 * m->precision[c] * m->recall[c], m->precision[c] + m->recall[c]);
        if (m->support[c] || m->predicted[c]) {
            present++;
            m->macro_f1 += m->f1[c];
        }
        m->waf += m->f1[c] * (double)m->support[c];
        m->weighted_precision += m->precision[c] * (double)m->support[c];
        m->weighted_recall += m->recall[c] * (double)m->support[c];
    }
    m->macro_f1 = ratio(m->macro_f1, present);
    m->waf = ratio(m->waf, (double)m->n);
    m->weighted_precision = ratio(m->weighted_precision, (double)m->n);
    m->weighted_recall = ratio(m->weighted_recall, (double)m->n);
    m->accuracy = ratio((double)correct, (double)m->n);
}

int mer_metrics_compute(struct mer_metrics *m, const int64_t *truth, const int64_t *pred, size_t n,
                        int n_classes)
{
    if (n_classes < 1)
        return mer_error("metrics: need at least one class, got %d", n_classes);
    if (metrics_alloc(m, n_classes) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int64_t t = truth[i], p = pred[i];
        if (t < 0 || t >= n_classes || p < 0 || p >= n_classes) {
            mer_metrics_release(m);
            return mer_error("metrics: sample %zu: label %lld or prediction %lld outside 0..%d", i,
                             (long long)t, (long long)p, n_classes - 1);
        }
        m->support[t]++;
        m->predicted[p]++;
        m->confusion[t * n_classes + p]++;
    }
    m->n = (int64_t)n;
    summarize(m);
    return 0;
}

double mer_mse(const double *truth, const double *pred, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (truth[i] - pred[i]) * (truth[i] - pred[i]);
    return n ? s / (double)n : 0.0;
}

double mer_ccc(const double *truth, const double *pred, size_t n)
{
    double mt = 0, mp = 0, vt = 0, vp = 0, cov = 0, den;
    if (n == 0)
        return 0.0;
    for (size_t i = 0; i < n; i++) {
        mt += truth[i];
        mp += pred[i];
    }
    mt /= (double)n;
    mp /= (double)n;
    for (size_t i = 0; i < n; i++) {
        vt += (truth[i] - mt) * (truth[i] - mt);
        vp += (pred[i] - mp) * (pred[i] - mp);
        cov += (truth[i] - mt) * (pred[i] - mp);
    }
    vt /= (double)n;
    vp /= (double)n;
    cov /= (double)n;
    den = vt + vp + (mt - mp) * (mt - mp);
    return den > 0 ? 2 * cov / den : 0.0;
}

cJSON *mer_metrics_to_json(const struct mer_metrics *m, char *const *classes)
{
    cJSON *o = cJSON_CreateObject(), *per = cJSON_CreateObject(), *conf = cJSON_CreateArray();
    if (!o || !per || !conf) {
        cJSON_Delete(o);
        cJSON_Delete(per);
        cJSON_Delete(conf);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "n", (double)m->n);
    cJSON_AddNumberToObject(o, "waf", m->waf);
    cJSON_AddNumberToObject(o, "accuracy", m->accuracy);
    cJSON_AddNumberToObject(o, "macro_f1", m->macro_f1);
    cJSON_AddNumberToObject(o, "weighted_precision", m->weighted_precision);
    cJSON_AddNumberToObject(o, "weighted_recall", m->weighted_recall);
    for (int c = 0; c < m->n_classes; c++) {
        cJSON *pc = cJSON_CreateObject(), *row = cJSON_CreateArray();
        cJSON_AddNumberToObject(pc, "precision", m->precision[c]);
        cJSON_AddNumberToObject(pc, "recall", m->recall[c]);
        cJSON_AddNumberToObject(pc, "f1", m->f1[c]);
        cJSON_AddNumberToObject(pc, "support", (double)m->support[c]);
        cJSON_AddItemToObject(per, classes[c], pc);
        for (int p = 0; p < m->n_classes; p++)
            cJSON_AddItemToArray(row,
                                 cJSON_CreateNumber((double)m->confusion[c * m->n_classes + p]));
        cJSON_AddItemToArray(conf, row);
    }
    cJSON_AddItemToObject(o, "per_class", per);
    cJSON_AddItemToObject(o, "confusion", conf);
    return o;
}

int64_t mer_argmax(const float *v, int k)
{
    int64_t best = 0;
    for (int c = 1; c < k; c++)
        if (v[c] > v[best])
            best = c;
    return best;
}
