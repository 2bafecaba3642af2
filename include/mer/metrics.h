/*
 * metrics.h: classification and regression metrics, as scikit-learn computes them.
 *
 * WAF (support-weighted F1) is MER2024's ranking metric. Conventions follow
 * sklearn's defaults exactly, so numbers agree with f1_score(average=...) to 1e-6:
 *   - a class counts in the macro average if it occurs in the truth or the
 *     predictions (sklearn's unique_labels); a class in neither is left out;
 *   - a zero denominator gives 0 (precision of a never-predicted class,
 *     recall of a class absent from the truth, F1 when both are 0);
 *   - weighted averages use the true support as weights.
 *
 *     struct mer_metrics m;
 *     if (mer_metrics_compute(&m, truth, pred, n, 6) < 0) ...;
 *     printf("WAF %.4f\n", m.waf);
 *     mer_metrics_release(&m);
 */
#ifndef MER_METRICS_H
#define MER_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct mer_metrics {
    int n_classes; /* K */
    int64_t n;     /* samples */
    double accuracy, waf, macro_f1, weighted_precision, weighted_recall;
    double *precision, *recall, *f1; /* [K] each */
    int64_t *support;                /* [K] true count per class */
    int64_t *predicted;              /* [K] predicted count per class */
    int64_t *confusion;              /* [K*K], row = truth, column = prediction */
};

/*
 * Fills m (owned arrays; release with mer_metrics_release). truth and pred hold
 * class indices in [0, n_classes); n may be 0 (all metrics 0). -1 with an error
 * on a label out of range or out of memory.
 */
int mer_metrics_compute(struct mer_metrics *m, const int64_t *truth, const int64_t *pred, size_t n,
                        int n_classes);
void mer_metrics_release(struct mer_metrics *m);

/* Index of the largest of v[0..k-1] (the first on ties): a row of logits' class. */
int64_t mer_argmax(const float *v, int k);

/* Mean squared error of two arrays of n values (0 for n = 0). */
double mer_mse(const double *truth, const double *pred, size_t n);
/* Lin's concordance correlation coefficient (population moments); 0 if undefined. */
double mer_ccc(const double *truth, const double *pred, size_t n);

/* {"n", "waf", "accuracy", "macro_f1", ..., "per_class": {name: {...}}, "confusion": [[..]]}:
 * a new cJSON object (the caller deletes it), NULL on out of memory. */
struct cJSON;
struct cJSON *mer_metrics_to_json(const struct mer_metrics *m, char *const *classes);

#endif
