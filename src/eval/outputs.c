/* A run's outputs and fold files; see outputs.h. */
#include "mer/outputs.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/metrics.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- run outputs ---- */

/* 1 if the set has samples and every one is labeled (its metrics mean something). */
static int labeled(const struct mer_samples *s, const struct mer_pred_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        if (s->label[set->idx[i]] < 0)
            return 0;
    return set->n > 0;
}

/* Adds "valence": {n, mse, ccc} over the samples with a valence label (valence head). */
static cJSON *with_valence(const struct mer_samples *s, cJSON *metrics,
                           const struct mer_pred_set *set)
{
    const size_t n = set->n, w = mer_samples_width(s);
    double *truth = malloc((n + 1) * sizeof(double)), *pred = malloc((n + 1) * sizeof(double));
    size_t m = 0;
    cJSON *v;
    if (metrics && s->valence_head && truth && pred && (v = cJSON_CreateObject())) {
        for (size_t i = 0; i < n; i++)
            if (isfinite(s->valence[set->idx[i]])) {
                truth[m] = s->valence[set->idx[i]];
                pred[m++] = set->rows[i * w + (size_t)s->n_classes] * set->valence_scale;
            }
        cJSON_AddNumberToObject(v, "n", (double)m);
        cJSON_AddNumberToObject(v, "mse", mer_mse(truth, pred, m));
        cJSON_AddNumberToObject(v, "ccc", mer_ccc(truth, pred, m));
        cJSON_AddItemToObject(metrics, "valence", v);
    }
    free(truth);
    free(pred);
    return metrics;
}

/* <run>/predictions/<set>.csv */
static int write_predictions(const struct mer_run_outputs *o, const struct mer_pred_set *set)
{
    char *dir = mer_strfmt("%s/predictions", o->run_dir), *path = NULL;
    int ret = -1;
    if (!dir || mer_mkdir_p(dir) < 0 || !(path = mer_strfmt("%s/%s.csv", dir, set->name)))
        goto done;
    ret = mer_predictions_write(path, &o->samples, set);
done:
    free(path);
    free(dir);
    return ret;
}

/* <run>/submission-<split>.csv: MER2024's name,discrete. */
static int write_submission(const struct mer_run_outputs *o, const struct mer_pred_set *set)
{
    char *path = mer_strfmt("%s/submission-%s.csv", o->run_dir, set->name);
    const char **names = malloc((set->n + 1) * sizeof(*names));
    int64_t *pred = malloc((set->n + 1) * sizeof(*pred));
    int ret = -1;
    if (!path || !names || !pred) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < set->n; i++)
        names[i] = o->samples.names[set->idx[i]];
    mer_pred_set_classes(&o->samples, set, pred);
    ret = mer_submission_write(path, names, o->samples.classes, pred, set->n);
done:
    free(path);
    free(names);
    free(pred);
    return ret;
}

/* Scores a set into *score and adds its metrics (with valence) to obj under key. */
static int add_metrics(const struct mer_run_outputs *o, const struct mer_pred_set *set, cJSON *obj,
                       const char *key, struct mer_set_score *score)
{
    struct mer_metrics m = {0};
    if (mer_pred_set_score(&o->samples, set, &m) < 0)
        return -1;
    *score = (struct mer_set_score){1, set->n, m.waf, m.accuracy, m.macro_f1};
    cJSON_AddItemToObject(
        obj, key, with_valence(&o->samples, mer_metrics_to_json(&m, o->samples.classes), set));
    mer_metrics_release(&m);
    return 0;
}

int mer_run_outputs_write(const struct mer_run_outputs *o, struct mer_set_score *cv,
                          struct mer_set_score *test)
{
    cJSON *root = cJSON_CreateObject(), *tests = cJSON_CreateObject();
    char *path = mer_strfmt("%s/metrics.json", o->run_dir);
    int ret = -1;
    memset(cv, 0, sizeof(*cv));
    memset(test, 0, o->n_test * sizeof(*test));
    if (!root || !tests || !path) {
        cJSON_Delete(tests);
        mer_error("out of memory");
        goto done;
    }
    if (write_predictions(o, &o->cv) < 0 || add_metrics(o, &o->cv, root, "cv", cv) < 0)
        goto done;
    for (size_t s = 0; s < o->n_test; s++) {
        const struct mer_pred_set *set = &o->test[s];
        if (!set->n)
            continue;
        if (write_predictions(o, set) < 0 || (o->submission && write_submission(o, set) < 0) ||
            (labeled(&o->samples, set) && add_metrics(o, set, tests, set->name, &test[s]) < 0))
            goto done;
    }
    cJSON_AddItemToObject(root, "test", tests);
    tests = NULL;
    ret = mer_write_json_atomic(path, root);
done:
    cJSON_Delete(tests);
    cJSON_Delete(root);
    free(path);
    return ret;
}

/* ---- fold files ---- */

/* The set's sample names as a metadata value (a JSON array); new, NULL on out of memory. */
static char *ids_json(const struct mer_samples *s, const struct mer_pred_set *set)
{
    const char **names = malloc((set->n + 1) * sizeof(*names));
    char *json = NULL;
    if (names) {
        for (size_t i = 0; i < set->n; i++)
            names[i] = s->names[set->idx[i]];
        json = mer_st_json_strings(names, set->n);
    }
    free(names);
    return json;
}

/* Adds a set's tensor [n, W] and its row names (metadata key ids) to w. */
static int add_set(mer_st_writer *w, const struct mer_samples *s, const struct mer_pred_set *set,
                   const char *tensor, const char *ids)
{
    const int64_t shape[2] = {(int64_t)set->n, (int64_t)mer_samples_width(s)};
    char *json = ids_json(s, set);
    int ret = !json ? mer_error("out of memory")
              : mer_st_writer_add(w, tensor, MER_DTYPE_F32, 2, shape, set->rows) < 0 ||
                      mer_st_writer_set_meta(w, ids, json) < 0
                  ? -1
                  : 0;
    free(json);
    return ret;
}

int mer_fold_preds_write(const char *path, const struct mer_samples *s,
                         const struct mer_fold_preds *f)
{
    mer_st_writer *w = mer_st_writer_new();
    char tensor[300], ids[320];
    int ret = -1;
    if (!w) {
        mer_error("out of memory");
        goto done;
    }
    if (add_set(w, s, &f->oof, "oof", "mer.ids") < 0)
        goto done;
    for (size_t k = 0; k < f->n_test; k++) {
        snprintf(tensor, sizeof(tensor), "test/%s", f->test[k].name);
        snprintf(ids, sizeof(ids), "mer.ids:%s", tensor);
        if (add_set(w, s, &f->test[k], tensor, ids) < 0)
            goto done;
    }
    if (mer_st_writer_set_meta(w, "mer.kind", "fold-predictions") < 0 ||
        mer_st_writer_set_meta_num(w, "best_waf", f->best_waf) < 0 ||
        mer_st_writer_set_meta_num(w, "best_epoch", f->best_epoch) < 0 ||
        mer_st_writer_set_meta_num(w, "steps_per_second", f->steps_per_second) < 0)
        goto done;
    ret = mer_st_writer_write(w, path);
done:
    mer_st_writer_free(w);
    return ret;
}

/* The file's names of a set's rows (metadata key ids) are the set's samples; a file without
 * them (written before they were stored) passes. */
static int check_ids(const mer_st_file *file, const struct mer_samples *s,
                     const struct mer_pred_set *set, const char *tensor, const char *ids)
{
    const char *path = mer_st_path(file), *have = mer_st_meta(file, ids);
    char *want = NULL;
    cJSON *arr = NULL, *it;
    size_t i = 0;
    int ret = -1;
    if (!have)
        return 0;
    if (!(want = ids_json(s, set))) {
        mer_error("out of memory");
        goto done;
    }
    if (!strcmp(have, want)) { /* as this build writes them */
        ret = 0;
        goto done;
    }
    arr = cJSON_ParseWithOpts(have, NULL, 1);
    if (!cJSON_IsArray(arr)) {
        mer_error("'%s': metadata '%s' is not a JSON array of sample names", path, ids);
        goto done;
    }
    cJSON_ArrayForEach(it, arr)
    {
        const char *name = cJSON_IsString(it) ? it->valuestring : "";
        if (i >= set->n || strcmp(name, s->names[set->idx[i]]))
            break;
        i++;
    }
    if (i == set->n && !it) {
        ret = 0; /* the same names, written otherwise */
        goto done;
    }
    if (i < set->n && it)
        mer_error("'%s': tensor '%s' row %zu is sample '%s' (%s), this run's is '%s': the fold "
                  "was trained on other data",
                  path, tensor, i, cJSON_IsString(it) ? it->valuestring : "?", ids,
                  s->names[set->idx[i]]);
    else
        mer_error("'%s': tensor '%s' names %d samples (%s), this run's has %zu: the fold was "
                  "trained on other data",
                  path, tensor, cJSON_GetArraySize(arr), ids, set->n);
done:
    cJSON_Delete(arr);
    free(want);
    return ret;
}

/* Points set->rows at the file's tensor, once its shape and names are the set's. */
static int read_set(const mer_st_file *file, const struct mer_samples *s, struct mer_pred_set *set,
                    const char *tensor, const char *ids, const char *what)
{
    const struct mer_st_tensor *t = mer_st_find(file, tensor);
    if (!t || t->dtype != MER_DTYPE_F32 || (size_t)t->numel != set->n * mer_samples_width(s))
        return mer_error("'%s': does not fit this run's %s", mer_st_path(file), what);
    if (check_ids(file, s, set, tensor, ids) < 0)
        return -1;
    set->rows = t->data;
    return 0;
}

int mer_fold_preds_read(mer_st_file **file, const char *path, const struct mer_samples *s,
                        struct mer_fold_preds *f)
{
    mer_st_file *st = NULL;
    char tensor[300], ids[320], what[320];
    double waf, sps;
    int64_t best_epoch;
    int ret = -1, found;
    *file = NULL;
    if ((found = mer_st_open_existing(&st, path, MER_ST_VERIFY)) <= 0)
        return found;
    if (read_set(st, s, &f->oof, "oof", "mer.ids", "folds (tensor 'oof')") < 0)
        goto done;
    for (size_t k = 0; k < f->n_test; k++) {
        snprintf(tensor, sizeof(tensor), "test/%s", f->test[k].name);
        snprintf(ids, sizeof(ids), "mer.ids:%s", tensor);
        snprintf(what, sizeof(what), "split '%s'", f->test[k].name);
        if (read_set(st, s, &f->test[k], tensor, ids, what) < 0)
            goto done;
    }
    if (mer_st_meta_number(st, "best_waf", -1, 1, &waf) < 0 ||
        mer_st_meta_int(st, "best_epoch", 0, INT_MAX, &best_epoch) < 0 ||
        mer_st_meta_number(st, "steps_per_second", 0, DBL_MAX, &sps) < 0)
        goto done;
    f->best_waf = waf;
    f->best_epoch = (int)best_epoch;
    f->steps_per_second = sps;
    *file = st;
    st = NULL;
    ret = 1;
done:
    mer_st_close(st);
    return ret;
}
