#include "mer/dataset.h"
#include "mer/error.h"
#include "mer/labels.h"
#include "mer/store.h"
#include "mer/strmap.h"
#include "mer/strv.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mer_dataset_params mer_dataset_default_params(void)
{
    struct mer_dataset_params p;
    memset(&p, 0, sizeof(p));
    p.missing = MER_MISSING_ERROR;
    p.nan = MER_NAN_ERROR;
    return p;
}

void mer_dataset_free(struct mer_dataset *ds)
{
    if (!ds)
        return;
    mer_strv_free(ds->names, ds->n);
    mer_strv_free(ds->classes, (size_t)ds->n_classes);
    mer_strv_free(ds->splits, (size_t)ds->n_splits);
    free(ds->label);
    free(ds->valence);
    free(ds->split);
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        free(ds->x[m]);
        free(ds->shift[m]);
        free(ds->scale[m]);
    }
    free(ds->present);
    free(ds->prior);
    free(ds->prior_reliability);
    free(ds->prior_present);
    free(ds->pseudo);
    free(ds->pseudo_reliability);
    free(ds);
}

int mer_dataset_split_index(const struct mer_dataset *ds, const char *name)
{
    for (int i = 0; i < ds->n_splits; i++)
        if (!strcmp(ds->splits[i], name))
            return i;
    return -1;
}

/* A tensor of the expected dtype and leading dimension, or an error naming it. */
static const struct mer_st_tensor *need_tensor(const mer_st_file *f, const char *name,
                                               enum mer_dtype dt, int64_t rows)
{
    const struct mer_st_tensor *t = mer_st_find(f, name);
    if (!t) {
        mer_error("'%s': no tensor '%s'", mer_st_path(f), name);
        return NULL;
    }
    if (t->dtype != dt || t->ndim < 1 || t->shape[0] != rows) {
        mer_error("'%s': tensor '%s': expected %s with %lld rows, got %s [%lld...]", mer_st_path(f),
                  name, mer_dtype_name(dt), (long long)rows, mer_dtype_name(t->dtype),
                  (long long)(t->ndim ? t->shape[0] : 0));
        return NULL;
    }
    return t;
}

/* Takes the labels store's arrays over into the dataset (warning when the training split holds
 * unlabeled samples). */
static int load_labels(struct mer_dataset *ds, const struct mer_dataset_params *p)
{
    const char *path = p->labels;
    struct mer_labels *l = NULL;
    if (mer_labels_read_store(&l, path) < 0)
        return -1;
    if (p->train_split && *p->train_split)
        mer_labels_warn_unlabeled(l, p->train_split, path);
    ds->n = l->n;
    ds->names = l->names;
    ds->label = l->label;
    ds->valence = l->valence;
    ds->n_classes = l->n_classes;
    ds->classes = l->classes;
    ds->n_splits = l->n_splits;
    ds->splits = l->splits;
    ds->split = malloc((l->n + 1) * sizeof(*ds->split));
    for (size_t i = 0; ds->split && i < l->n; i++)
        ds->split[i] = (int)l->split[i];
    free(l->split);
    free(l); /* the arrays now belong to ds */
    return ds->split ? 0 : mer_error("out of memory");
}

/* Replaces NaN/Inf by 0 or reports the sample, per the policy. */
static int check_finite(float *row, int64_t d, const struct mer_dataset *ds, size_t i,
                        const char *what, enum mer_nan_policy nan)
{
    for (int64_t j = 0; j < d; j++) {
        if (isfinite(row[j]))
            continue;
        if (nan == MER_NAN_ZERO) {
            row[j] = 0;
            continue;
        }
        return mer_error("sample '%s': %s: non-finite value at column %lld "
                         "(hint: --set data.nan=zero replaces them by 0)",
                         ds->names[i], what, (long long)j);
    }
    return 0;
}

/* Samples of split s (*n) and how many of them the store has (*covered_n). */
static void split_coverage(const struct mer_dataset *ds, const unsigned char *covered, int s,
                           size_t *n, size_t *covered_n)
{
    *n = *covered_n = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->split[i] == s) {
            *n += 1;
            *covered_n += covered[i];
        }
}

/* A store that has none of the samples of some split was made for other data: training and
 * predicting that split without it (data.missing=mask) would be silently wrong, so it is
 * refused whatever the policy. covered[i] is 1 where the store has sample i. */
static int check_split_coverage(const struct mer_dataset *ds, const char *path, const char *labels,
                                const unsigned char *covered, const char *hint)
{
    size_t total = 0;
    for (size_t i = 0; i < ds->n; i++)
        total += covered[i];
    if (!total)
        return mer_error("'%s' covers 0 of the %zu samples of '%s' (%s)", path, ds->n, labels,
                         hint);
    for (int s = 0; s < ds->n_splits; s++) {
        size_t n, c;
        split_coverage(ds, covered, s, &n, &c);
        if (n && !c)
            return mer_error("'%s' covers 0 of the %zu samples of split '%s' in '%s' (%s)", path, n,
                             ds->splits[s], labels, hint);
    }
    return 0;
}

/* Reports up to five names of labeled samples missing from a store. */
static int report_missing(const char *path, const char *what, char **names, size_t n_missing,
                          size_t total)
{
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n_missing && i < 5; i++) {
        int w = snprintf(list + used, sizeof(list) - used, "%s'%s'", i ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= sizeof(list) - used)
            break;
        used += (size_t)w;
    }
    return mer_error("'%s': %zu of %zu samples have no %s features: %s%s "
                     "(hint: --set data.missing=mask masks them)",
                     path, n_missing, total, what, list, n_missing > 5 ? ", ..." : "");
}

static int load_modality(struct mer_dataset *ds, int m, const struct mer_dataset_params *p)
{
    const char *path = p->features[m];
    mer_store *s = NULL;
    char **missing = NULL, hint[160];
    unsigned char *covered = NULL;
    size_t n_missing = 0;
    int64_t d;
    int ret = -1;
    if (mer_store_open(&s, path, MER_ST_VERIFY) < 0)
        return -1;
    if (mer_store_is_sequence(s)) {
        mer_error("'%s': frame-level features; import them with --pool mean or --pool max", path);
        goto done;
    }
    d = ds->dim[m] = mer_store_dim(s);
    ds->x[m] = calloc(ds->n * (size_t)d + 1, sizeof(float));
    missing = calloc(ds->n + 1, sizeof(*missing));
    covered = calloc(ds->n + 1, 1);
    if (!ds->x[m] || !missing || !covered) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < ds->n; i++) {
        int64_t row = mer_store_find_sample(s, ds->names[i]);
        float *dst = ds->x[m] + i * (size_t)d;
        if (row < 0) {
            missing[n_missing++] = ds->names[i];
            continue;
        }
        ds->present[i * MER_N_MODALITIES + (size_t)m] = 1;
        covered[i] = 1;
        if (mer_store_read(s, (size_t)row, dst) < 0) /* (its error names the file) */
            goto done;
        if (check_finite(dst, d, ds, i, mer_modality_name(m), p->nan) < 0) {
            mer_error_prefix("'%s'", path);
            goto done;
        }
    }
    snprintf(hint, sizeof(hint), "no %s features there: import them, or leave data.%s out",
             mer_modality_name(m), mer_modality_name(m));
    if (n_missing && check_split_coverage(ds, path, p->labels, covered, hint) < 0)
        goto done;
    if (n_missing && p->missing == MER_MISSING_ERROR) {
        report_missing(path, mer_modality_name(m), missing, n_missing, ds->n);
        goto done;
    }
    ds->has[m] = 1;
    ret = 0;
done:
    free(covered);
    free(missing);
    mer_store_close(s);
    return ret;
}

/* data.standardize: every column of modality m to zero mean and unit variance over the rows of
 * the training split (all of them without one) that have the modality, in double; a constant
 * column keeps scale 1. The same shift and scale go to every row, so no other split's values
 * (nor any label) enter the statistics. */
static int standardize(struct mer_dataset *ds, int m, int train, const float *shift,
                       const float *scale)
{
    int64_t d = ds->dim[m];
    double *sum = calloc((size_t)d + 1, sizeof(double)),
           *sq = calloc((size_t)d + 1, sizeof(double));
    size_t rows = 0;
    ds->shift[m] = malloc(((size_t)d + 1) * sizeof(float));
    ds->scale[m] = malloc(((size_t)d + 1) * sizeof(float));
    if (!sum || !sq || !ds->shift[m] || !ds->scale[m]) {
        free(sum);
        free(sq);
        return mer_error("out of memory");
    }
    for (size_t i = 0; !shift && i < ds->n; i++) {
        const float *x = ds->x[m] + i * (size_t)d;
        if (!ds->present[i * MER_N_MODALITIES + (size_t)m] || (train >= 0 && ds->split[i] != train))
            continue;
        rows++;
        for (int64_t j = 0; j < d; j++) {
            sum[j] += x[j];
            sq[j] += (double)x[j] * x[j];
        }
    }
    for (int64_t j = 0; shift && j < d; j++) { /* a trained run's, reused (mer predict) */
        ds->shift[m][j] = shift[j];
        ds->scale[m][j] = scale[j];
    }
    for (int64_t j = 0; !shift && j < d; j++) {
        double mean = rows ? sum[j] / (double)rows : 0,
               var = rows ? sq[j] / (double)rows - mean * mean : 0;
        ds->shift[m][j] = (float)mean;
        ds->scale[m][j] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
    }
    for (size_t i = 0; i < ds->n; i++) {
        float *x = ds->x[m] + i * (size_t)d;
        if (ds->present[i * MER_N_MODALITIES + (size_t)m])
            for (int64_t j = 0; j < d; j++)
                x[j] = (x[j] - ds->shift[m][j]) / ds->scale[m][j];
    }
    free(sum);
    free(sq);
    return 0;
}

/* Class index of a name, or -1. */
static int class_of(const struct mer_dataset *ds, const char *name)
{
    for (int k = 0; k < ds->n_classes; k++)
        if (!strcmp(ds->classes[k], name))
            return k;
    return -1;
}

static int alloc_priors(struct mer_dataset *ds, int64_t pd)
{
    size_t nm = ds->n * MER_N_MODALITIES;
    ds->prior_dim = pd;
    ds->prior = calloc(nm * (size_t)pd + 1, sizeof(float));
    ds->prior_reliability = calloc(nm + 1, sizeof(float));
    ds->prior_present = calloc(nm + 1, sizeof(float));
    if (!ds->prior || !ds->prior_reliability || !ds->prior_present)
        return mer_error("out of memory");
    return 0;
}

/* A priors store from mer import: features [N, M * P], a NaN row (or no row) = no prior; a
 * split without any row is refused. */
static int priors_from_features(struct mer_dataset *ds, mer_store *s, const char *path,
                                const char *labels)
{
    int64_t d = mer_store_dim(s), pd = d / MER_N_MODALITIES;
    unsigned char *covered = NULL;
    float *row;
    int ret = -1;
    if (mer_store_is_sequence(s) || d % MER_N_MODALITIES || pd == 0)
        return mer_error("'%s': a priors store made by mer import must be [N, 3 * P] "
                         "(audio, video, text priors side by side), got dimension %lld",
                         path, (long long)d);
    if (alloc_priors(ds, pd) < 0)
        return -1;
    if (!(covered = calloc(ds->n + 1, 1))) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < ds->n; i++) {
        int64_t r = mer_store_find_sample(s, ds->names[i]);
        if (r < 0)
            continue;
        covered[i] = 1;
        row = ds->prior + i * MER_N_MODALITIES * (size_t)pd;
        if (mer_store_read(s, (size_t)r, row) < 0) /* (its error names the file) */
            goto done;
        for (int m = 0; m < MER_N_MODALITIES; m++) {
            float *q = row + (size_t)m * (size_t)pd;
            int ok = 1;
            for (int64_t j = 0; j < pd; j++)
                ok &= isfinite(q[j]) != 0;
            if (!ok)
                memset(q, 0, (size_t)pd * sizeof(float));
            ds->prior_present[i * MER_N_MODALITIES + (size_t)m] = (float)ok;
            ds->prior_reliability[i * MER_N_MODALITIES + (size_t)m] = (float)ok;
        }
    }
    ret = check_split_coverage(ds, path, labels, covered, "no priors for them there");
done:
    free(covered);
    return ret;
}

/* "[a,b,c]" of n names, cut short past 200 bytes. */
static const char *name_list(char *buf, size_t size, char *const *names, size_t n)
{
    size_t used = 0;
    buf[used++] = '[';
    for (size_t k = 0; k < n && used + 8 < size; k++) {
        int w = snprintf(buf + used, size - used, "%s%s", k ? "," : "", names[k]);
        if (w < 0 || used + (size_t)w + 8 >= size) {
            used += (size_t)snprintf(buf + used, size - used, ",...");
            break;
        }
        used += (size_t)w;
    }
    snprintf(buf + used, size - used, "]");
    return buf;
}

/* The priors' class order against the labels': perm[k] = the labels' index of the priors'
 * class k. The same classes in another order are reordered (the scores are per-class
 * probabilities, so this is well defined); other classes are refused, naming both sides. */
static int prior_class_order(const struct mer_dataset *ds, const mer_st_file *f, const char *labels,
                             int *perm, int *same)
{
    const char *path = mer_st_path(f);
    char **classes = NULL, a[256], b[256];
    size_t n = 0;
    int ret = -1;
    if (mer_st_meta_strings(f, "mer.classes", &classes, &n) < 0)
        goto done;
    *same = n == (size_t)ds->n_classes;
    for (size_t k = 0; k < n && *same; k++) {
        perm[k] = class_of(ds, classes[k]);
        for (size_t j = 0; j < k && perm[k] >= 0; j++)
            if (perm[j] == perm[k])
                perm[k] = -1; /* listed twice */
        *same = perm[k] >= 0;
    }
    if (!*same) {
        mer_error("'%s' has classes %s, not those of '%s' %s: ingest the answers against this "
                  "labels store (mer ingest --labels '%s')",
                  path, name_list(a, sizeof(a), classes, n), labels,
                  name_list(b, sizeof(b), ds->classes, (size_t)ds->n_classes), labels);
        goto done;
    }
    for (size_t k = 0; k < n; k++)
        *same &= perm[k] == (int)k;
    ret = 0;
done:
    mer_strv_free(classes, n);
    return ret;
}

/* The first split with the least coverage, as "; 0 of the 122 of split 'test1'". */
static void worst_split(const struct mer_dataset *ds, const unsigned char *covered, char *buf,
                        size_t size)
{
    double worst = 2;
    *buf = '\0';
    for (int s = 0; s < ds->n_splits; s++) {
        size_t n, c;
        split_coverage(ds, covered, s, &n, &c);
        if (n && (double)c / (double)n < worst) {
            worst = (double)c / (double)n;
            snprintf(buf, size, "; %zu of the %zu of split '%s'", c, n, ds->splits[s]);
        }
    }
}

/* A priors store from mer ingest: prior [N, M, P], reliability [N, M], present [N, M]; joined
 * by sample name (every sample of the labels must be there: mer ingest writes one row per
 * sample of its labels store) and by class name (the K scores after the D-wide embedding). */
static int priors_from_ingest(struct mer_dataset *ds, const char *path, const char *labels)
{
    mer_st_file *f = NULL;
    char **ids = NULL, worst[160];
    size_t n_ids = 0, n_covered = 0;
    struct mer_strmap map = MER_STRMAP_INIT;
    const struct mer_st_tensor *prior, *rel, *pres;
    unsigned char *covered = NULL;
    float *tmp = NULL;
    int *perm = NULL, same = 1, ret = -1;
    int64_t emb = 0, nk = ds->n_classes;
    const char *ed;
    if (mer_st_open(&f, path, MER_ST_VERIFY) < 0)
        return -1;
    if (mer_st_meta_strings(f, "mer.ids", &ids, &n_ids) < 0)
        goto done;
    prior = need_tensor(f, "prior", MER_DTYPE_F32, (int64_t)n_ids);
    rel = need_tensor(f, "reliability", MER_DTYPE_F32, (int64_t)n_ids);
    pres = need_tensor(f, "present", MER_DTYPE_U8, (int64_t)n_ids);
    if (!prior || !rel || !pres)
        goto done;
    if (prior->ndim != 3 || prior->shape[1] != MER_N_MODALITIES || rel->numel != pres->numel ||
        rel->numel != (int64_t)n_ids * MER_N_MODALITIES) {
        mer_error("'%s': expected prior [N, 3, P], reliability [N, 3], present [N, 3]", path);
        goto done;
    }
    if (!(perm = calloc((size_t)nk + 1, sizeof(*perm))) || !(covered = calloc(ds->n + 1, 1)) ||
        !(tmp = malloc(((size_t)nk + 1) * sizeof(*tmp)))) {
        mer_error("out of memory");
        goto done;
    }
    if (prior_class_order(ds, f, labels, perm, &same) < 0)
        goto done;
    emb = prior->shape[2] - nk - 1; /* P = D + K + 1 */
    if ((ed = mer_st_meta(f, "mer.embedding_dim"))) {
        char *end;
        long long v = strtoll(ed, &end, 10);
        if (end == ed || *end || v < 0 || v > prior->shape[2]) {
            mer_error("'%s': metadata 'mer.embedding_dim' is '%.40s', not a size", path, ed);
            goto done;
        }
        emb = v;
    }
    if (emb < 0 || emb + nk + 1 != prior->shape[2]) {
        mer_error("'%s': prior [N, 3, %lld] does not hold an embedding, %lld class scores and a "
                  "contribution",
                  path, (long long)prior->shape[2], (long long)nk);
        goto done;
    }
    if (alloc_priors(ds, prior->shape[2]) < 0)
        goto done;
    if (mer_strmap_build(&map, (const char *const *)ids, n_ids, NULL) < 0) {
        mer_error_prefix("'%s'", path);
        goto done;
    }
    for (size_t i = 0; i < ds->n; i++)
        n_covered += covered[i] = mer_strmap_get(&map, ds->names[i]) >= 0;
    if (n_covered < ds->n) {
        worst_split(ds, covered, worst, sizeof(worst));
        mer_error("'%s' covers %zu of the %zu samples of '%s'%s: ingest the answers against this "
                  "labels store (mer ingest --labels '%s')",
                  path, n_covered, ds->n, labels, worst, labels);
        goto done;
    }
    for (size_t i = 0; i < ds->n; i++) {
        size_t pm = MER_N_MODALITIES * (size_t)ds->prior_dim;
        int64_t r = mer_strmap_get(&map, ds->names[i]);
        float *dst = ds->prior + i * pm;
        memcpy(dst, (const float *)prior->data + (size_t)r * pm, pm * sizeof(float));
        for (size_t m = 0; !same && m < MER_N_MODALITIES; m++) { /* scores to the labels' order */
            float *sc = dst + m * (size_t)ds->prior_dim + emb;
            memcpy(tmp, sc, (size_t)nk * sizeof(float));
            for (int64_t c = 0; c < nk; c++)
                sc[perm[c]] = tmp[c];
        }
        for (size_t m = 0; m < MER_N_MODALITIES; m++) {
            float w;
            size_t k = (size_t)r * MER_N_MODALITIES + m;
            memcpy(&w, (const char *)rel->data + k * sizeof(float), sizeof(w));
            ds->prior_present[i * MER_N_MODALITIES + m] =
                ((const uint8_t *)pres->data)[k] ? 1.0f : 0.0f;
            ds->prior_reliability[i * MER_N_MODALITIES + m] = isfinite(w) ? w : 0.0f;
        }
    }
    ret = 0;
done:
    mer_strmap_release(&map);
    mer_strv_free(ids, n_ids);
    free(covered);
    free(perm);
    free(tmp);
    mer_st_close(f);
    return ret;
}

static int load_priors(struct mer_dataset *ds, const char *path, const char *labels)
{
    mer_store *s = NULL;
    const char *kind;
    int ret;
    if (mer_store_open(&s, path, MER_ST_VERIFY) < 0)
        return -1;
    kind = mer_store_kind(s);
    if (kind && !strcmp(kind, "priors")) {
        mer_store_close(s);
        return priors_from_ingest(ds, path, labels);
    }
    ret = priors_from_features(ds, s, path, labels);
    mer_store_close(s);
    return ret;
}

/* The optional "reliability" F32 [n] tensor of a pseudo-labels store into rel (else 1s). */
static int pseudo_reliability(const char *path, size_t n, float *rel)
{
    mer_st_file *f = NULL;
    const struct mer_st_tensor *t;
    for (size_t i = 0; i < n; i++)
        rel[i] = 1.0f;
    if (mer_st_open(&f, path, 0) < 0)
        return -1;
    t = mer_st_find(f, "reliability");
    if (t && (t->dtype != MER_DTYPE_F32 || t->ndim != 1 || (size_t)t->shape[0] != n)) {
        mer_st_close(f);
        return mer_error("'%s': tensor 'reliability' must be F32 [%zu]", path, n);
    }
    if (t)
        memcpy(rel, t->data, n * sizeof(float));
    mer_st_close(f);
    return 0;
}

static int load_pseudo(struct mer_dataset *ds, const char *path, const char *labels)
{
    struct mer_labels *l = NULL;
    struct mer_strmap map = MER_STRMAP_INIT;
    float *rel = NULL;
    size_t matched = 0;
    int ret = -1;
    ds->pseudo = malloc((ds->n + 1) * sizeof(int64_t));
    ds->pseudo_reliability = calloc(ds->n + 1, sizeof(float));
    if (!ds->pseudo || !ds->pseudo_reliability)
        return mer_error("out of memory");
    for (size_t i = 0; i < ds->n; i++)
        ds->pseudo[i] = -1;
    if (mer_labels_read_store(&l, path) < 0 || !(rel = malloc((l->n + 1) * sizeof(float))) ||
        pseudo_reliability(path, l->n, rel) < 0 ||
        mer_strmap_build(&map, (const char *const *)ds->names, ds->n, NULL) < 0)
        goto done;
    for (size_t j = 0; j < l->n; j++) {
        int64_t i = mer_strmap_get(&map, l->names[j]);
        int k = l->label[j] >= 0 ? class_of(ds, l->classes[l->label[j]]) : -1;
        matched += i >= 0;
        if (i < 0 || l->label[j] < 0)
            continue; /* a clip without features, or without a pseudo-label */
        if (k < 0) {
            mer_error("'%s': sample '%s': pseudo-label '%s' is not a class of the labels", path,
                      l->names[j], l->classes[l->label[j]]);
            goto done;
        }
        ds->pseudo[i] = k;
        ds->pseudo_reliability[i] = rel[j];
    }
    if (!matched) {
        mer_error("'%s' covers 0 of the %zu samples of '%s' (made from another labels store?)",
                  path, ds->n, labels);
        goto done;
    }
    ret = 0;
done:
    mer_strmap_release(&map);
    mer_labels_free(l);
    free(rel);
    return ret;
}

int mer_dataset_load(struct mer_dataset **out, const struct mer_dataset_params *p)
{
    struct mer_dataset *ds = calloc(1, sizeof(*ds));
    int used = 0;
    if (!ds)
        return mer_error("out of memory");
    if (!p->labels || !*p->labels) {
        mer_error("no labels store given (data.labels)");
        goto fail;
    }
    if (load_labels(ds, p) < 0)
        goto fail;
    ds->present = calloc(ds->n * MER_N_MODALITIES + 1, sizeof(float));
    if (!ds->present) {
        mer_error("out of memory");
        goto fail;
    }
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        if (!p->features[m] || !*p->features[m])
            continue;
        if (load_modality(ds, m, p) < 0 ||
            (p->standardize &&
             standardize(ds, m, p->train_split ? mer_dataset_split_index(ds, p->train_split) : -1,
                         p->shift[m], p->scale[m]) < 0))
            goto fail;
        used++;
    }
    if (!used) {
        mer_error("no feature store given (data.audio, data.video, data.text)");
        goto fail;
    }
    if (p->priors && *p->priors && load_priors(ds, p->priors, p->labels) < 0)
        goto fail;
    if (p->pseudo_labels && *p->pseudo_labels && load_pseudo(ds, p->pseudo_labels, p->labels) < 0)
        goto fail;
    *out = ds;
    return 0;
fail:
    mer_dataset_free(ds);
    return -1;
}
