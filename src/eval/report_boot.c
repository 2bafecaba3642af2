/* mer report: a row against the baseline row, with the paired bootstrap of WAF; see report.h. */
#include "eval/report_impl.h"
#include "mer/error.h"
#include "mer/evaluate.h"
#include "mer/fs.h"
#include "mer/rng.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void mer_report_resample_indices(uint64_t seed, size_t n, size_t resamples, size_t *idx)
{
    struct mer_rng rng;
    mer_rng_seed(&rng, seed);
    for (size_t i = 0; i < n * resamples; i++)
        idx[i] = (size_t)mer_rng_below(&rng, n);
}

/* One set's paired predictions: pairs x n classes, samples in byte order of their names. */
struct paired {
    size_t n, pairs;
    int k;
    int64_t *label;           /* [n] */
    int64_t *pred_a, *pred_b; /* [pairs * n]: the row's run, the baseline's run */
    int64_t *counts;          /* [3 * k] scratch: support, tp, predicted */
};

static void paired_release(struct paired *p)
{
    free(p->label);
    free(p->pred_a);
    free(p->pred_b);
    free(p->counts);
}

/* WAF of pred against label over the samples idx [n] (NULL: all), from counts. */
static double waf(const struct paired *p, const int64_t *pred, const size_t *idx)
{
    int64_t *sup = p->counts, *tp = sup + p->k, *np = tp + p->k;
    double acc = 0;
    memset(p->counts, 0, 3 * (size_t)p->k * sizeof(int64_t));
    for (size_t i = 0; i < p->n; i++) {
        size_t j = idx ? idx[i] : i;
        sup[p->label[j]]++;
        np[pred[j]]++;
        tp[p->label[j]] += pred[j] == p->label[j];
    }
    for (int c = 0; c < p->k; c++) {
        int64_t den = sup[c] + np[c]; /* 2tp + fp + fn */
        if (den)
            acc += (double)sup[c] * (2.0 * (double)tp[c] / (double)den);
    }
    return p->n ? acc / (double)p->n : 0;
}

/* The mean over the pairs of WAF(row) - WAF(baseline) on the samples idx (NULL: all). */
static double waf_diff(const struct paired *p, const size_t *idx)
{
    double sum = 0;
    for (size_t q = 0; q < p->pairs; q++)
        sum += waf(p, p->pred_a + q * p->n, idx) - waf(p, p->pred_b + q * p->n, idx);
    return sum / (double)p->pairs;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile(x, q) with its default (linear) method, x sorted [n]. */
static double percentile(const double *x, size_t n, double q)
{
    double h = q / 100.0 * (double)(n - 1), t;
    size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
    t = h - (double)lo;
    /* numpy's _lerp: from the nearer end, so that t = 1 gives x[hi] exactly */
    return t >= 0.5 ? x[hi] - (x[hi] - x[lo]) * (1 - t) : x[lo] + (x[hi] - x[lo]) * t;
}

/* Reads run's predictions/<set>.csv: the labeled rows, by name. */
static int read_set(const struct mer_report_run *run, const char *set, struct mer_predictions **p,
                    char **path)
{
    *path = mer_strfmt("%s/predictions/%s.csv", run->dir, set);
    if (!*path)
        return mer_error("out of memory");
    return mer_predictions_read(p, *path);
}

static int by_name_of(const void *a, const void *b, const struct mer_predictions *p)
{
    return strcmp(p->names[*(const size_t *)a], p->names[*(const size_t *)b]);
}

size_t mer_report_sorted_labeled(const struct mer_predictions *p, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->label[i] >= 0)
            idx[n++] = i;
    for (size_t gap = n / 2; gap > 0; gap /= 2) /* shell sort: qsort has no context in C11 */
        for (size_t i = gap; i < n; i++)
            for (size_t j = i; j >= gap && by_name_of(&idx[j - gap], &idx[j], p) > 0; j -= gap) {
                size_t t = idx[j];
                idx[j] = idx[j - gap];
                idx[j - gap] = t;
            }
    return n;
}

/* Puts file p's predictions into out (pairs slot q), checking its samples and labels against the
 * reference ref (names ref_path) when there is one. */
static int take(struct paired *pp, int64_t *out, const struct mer_predictions *p, const char *path,
                const struct mer_predictions *ref, const size_t *ref_idx, const char *ref_path)
{
    size_t *idx = malloc((p->n + 1) * sizeof(*idx)), n;
    int ret = -1;
    if (!idx)
        return mer_error("out of memory");
    n = mer_report_sorted_labeled(p, idx);
    if (n != pp->n) {
        mer_error("'%s' and '%s' do not pair: %zu and %zu labeled samples", ref_path, path, pp->n,
                  n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (ref && (strcmp(p->names[idx[i]], ref->names[ref_idx[i]]) ||
                    p->label[idx[i]] != ref->label[ref_idx[i]])) {
            mer_error("'%s' and '%s' do not pair: sample '%s' differs (name or label)", ref_path,
                      path, ref->names[ref_idx[i]]);
            goto done;
        }
        out[i] = p->pred[idx[i]];
    }
    ret = 0;
done:
    free(idx);
    return ret;
}

/* Loads the pairs' predictions of set s: pa [pairs] row runs, pb [pairs] baseline runs. */
static int load_pairs(const struct mer_report *r, const char *set, const size_t *pa,
                      const size_t *pb, struct paired *pp)
{
    struct mer_predictions *ref = NULL, *p = NULL;
    char *ref_path = NULL, *path = NULL;
    size_t *ref_idx = NULL;
    int ret = -1;
    if (read_set(&r->runs[pb[0]], set, &ref, &ref_path) < 0)
        goto done;
    pp->k = ref->n_classes;
    if (!(ref_idx = malloc((ref->n + 1) * sizeof(*ref_idx))))
        goto oom;
    pp->n = mer_report_sorted_labeled(ref, ref_idx);
    if (!(pp->label = malloc((pp->n + 1) * sizeof(int64_t))) ||
        !(pp->pred_a = malloc((pp->n * pp->pairs + 1) * sizeof(int64_t))) ||
        !(pp->pred_b = malloc((pp->n * pp->pairs + 1) * sizeof(int64_t))) ||
        !(pp->counts = malloc((3 * (size_t)pp->k + 1) * sizeof(int64_t))))
        goto oom;
    for (size_t i = 0; i < pp->n; i++)
        pp->label[i] = ref->label[ref_idx[i]];
    for (size_t q = 0; q < 2 * pp->pairs; q++) {
        const size_t run = q < pp->pairs ? pa[q] : pb[q - pp->pairs];
        int64_t *out =
            q < pp->pairs ? pp->pred_a + q * pp->n : pp->pred_b + (q - pp->pairs) * pp->n;
        if (read_set(&r->runs[run], set, &p, &path) < 0 ||
            take(pp, out, p, path, ref, ref_idx, ref_path) < 0)
            goto done;
        if (p->n_classes != pp->k) {
            mer_error("'%s' and '%s' have different class lists", ref_path, path);
            goto done;
        }
        mer_predictions_free(p);
        p = NULL;
        free(path);
        path = NULL;
    }
    ret = 0;
    goto done;
oom:
    mer_error("out of memory");
done:
    mer_predictions_free(ref);
    mer_predictions_free(p);
    free(ref_path);
    free(path);
    free(ref_idx);
    return ret;
}

/* The runs of row that have set s, in the row's order (by seed), into out; their count. */
static size_t runs_with(const struct mer_report *r, const struct mer_report_row *row, size_t s,
                        size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < row->n_runs; i++)
        if (mer_report_set_json(&r->runs[row->runs[i]], r->sets[s]))
            out[n++] = row->runs[i];
    return n;
}

/* Pairs the row's runs with the baseline's: by seed when both have the same seeds, else by
 * order of seed (a warning says so). */
static size_t pair_runs(const struct mer_report *r, size_t *pa, size_t na, const size_t *pb,
                        size_t nb, int *by_order)
{
    *by_order = na != nb;
    for (size_t i = 0; !*by_order && i < na; i++)
        *by_order = r->runs[pa[i]].seed != r->runs[pb[i]].seed;
    return na < nb ? na : nb;
}

static int compare_set(struct mer_report *r, size_t row, size_t s, struct mer_report_cmp *cmp)
{
    const struct mer_report_row *a = &r->rows[row], *base = &r->rows[r->baseline];
    const size_t B = (size_t)r->params.resamples;
    size_t *pa = malloc((a->n_runs + 1) * sizeof(size_t)),
           *pb = malloc((base->n_runs + 1) * sizeof(size_t));
    size_t na, nb, *idx = NULL, le = 0, ge = 0;
    struct paired pp = {0};
    struct mer_rng rng;
    double *d = NULL;
    int ret = -1;
    if (!pa || !pb) {
        mer_error("out of memory");
        goto done;
    }
    na = runs_with(r, a, s, pa);
    nb = runs_with(r, base, s, pb);
    memset(cmp, 0, sizeof(*cmp));
    if (!na || !nb) {
        ret = 0; /* one of the rows lacks the set: nothing to compare */
        goto done;
    }
    for (int m = 0; m < MER_REPORT_N_METRICS; m++)
        cmp->delta[m] = mer_report_cell(r, row, s, (size_t)m)->mean -
                        mer_report_cell(r, (size_t)r->baseline, s, (size_t)m)->mean;
    pp.pairs = cmp->pairs = pair_runs(r, pa, na, pb, nb, &cmp->by_order);
    if (load_pairs(r, r->sets[s], pa, pb, &pp) < 0)
        goto done;
    if (!(idx = malloc((pp.n + 1) * sizeof(size_t))) || !(d = malloc(B * sizeof(double)))) {
        mer_error("out of memory");
        goto done;
    }
    cmp->waf_diff = waf_diff(&pp, NULL);
    mer_rng_seed(&rng, r->params.bootstrap_seed);
    for (size_t b = 0; b < B; b++) {
        for (size_t i = 0; i < pp.n; i++) /* as mer_report_resample_indices draws them */
            idx[i] = (size_t)mer_rng_below(&rng, pp.n);
        d[b] = pp.n ? waf_diff(&pp, idx) : 0;
        le += d[b] <= 0;
        ge += d[b] >= 0;
    }
    qsort(d, B, sizeof(double), by_value);
    cmp->p = fmin(1.0, 2.0 * (double)(le < ge ? le : ge) / (double)B);
    cmp->ci_lo = percentile(d, B, 2.5);
    cmp->ci_hi = percentile(d, B, 97.5);
    cmp->valid = 1;
    ret = 0;
done:
    paired_release(&pp);
    free(pa);
    free(pb);
    free(idx);
    free(d);
    return ret;
}

int mer_report_compare(struct mer_report *r, size_t row)
{
    struct mer_report_row *w = &r->rows[row];
    if (!(w->cmp = calloc(r->n_sets + 1, sizeof(*w->cmp))))
        return mer_error("out of memory");
    int by_order = 0;
    for (size_t s = 0; s < r->n_sets; s++) {
        if (compare_set(r, row, s, &w->cmp[s]) < 0)
            return -1;
        by_order |= w->cmp[s].by_order;
    }
    if (by_order)
        mer_warn("the row of '%s' and the baseline row of '%s' have other seeds: their runs are "
                 "paired by order of seed",
                 r->runs[w->runs[0]].dir, r->runs[r->rows[r->baseline].runs[0]].dir);
    return 0;
}
