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

/* ---- the stores a run was trained on (stores.json, standardize.safetensors) ---- */

#define STORES_FILE      "stores.json"
#define STANDARDIZE_FILE "standardize.safetensors"

void mer_run_store_release(struct mer_run_store *s)
{
    free(s->path);
    free(s->checksum);
    free(s->extractor);
    memset(s, 0, sizeof(*s));
}

void mer_run_stores_release(struct mer_run_stores *s)
{
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        mer_run_store_release(&s->features[m]);
        free(s->shift[m]);
        free(s->scale[m]);
    }
    mer_run_store_release(&s->priors);
    for (int c = 0; c < s->n_classes; c++)
        free(s->classes[c]);
    free(s->classes);
    memset(s, 0, sizeof(*s));
}

/* The "extractor" object of a provenance's JSON text, as JSON text; NULL if it has none. */
static char *extractor_of(const char *provenance)
{
    cJSON *root = provenance ? cJSON_Parse(provenance) : NULL;
    cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "extractor");
    char *text = cJSON_IsObject(e) ? cJSON_PrintUnformatted(e) : NULL;
    cJSON_Delete(root);
    return text;
}

int mer_run_store_describe(const char *path, struct mer_run_store *out)
{
    mer_store *s = NULL;
    size_t len = 0;
    memset(out, 0, sizeof(*out));
    if (mer_store_open(&s, path, 0) < 0)
        return -1;
    for (size_t i = 0; i < mer_store_n_parts(s); i++) {
        const char *c = mer_st_meta(mer_store_part(s, i), "mer.checksum");
        len += strlen(c ? c : "") + 1;
    }
    out->path = mer_strfmt("%s", path);
    out->checksum = calloc(len + 1, 1);
    for (size_t i = 0; out->checksum && i < mer_store_n_parts(s); i++) {
        const char *c = mer_st_meta(mer_store_part(s, i), "mer.checksum");
        if (i)
            strcat(out->checksum, ",");
        strcat(out->checksum, c ? c : "");
    }
    out->extractor = extractor_of(mer_store_meta(s, "mer.provenance"));
    mer_store_close(s);
    if (!out->path || !out->checksum) {
        mer_run_store_release(out);
        return mer_error("out of memory");
    }
    return 0;
}

/* {"path", "checksum", "extractor", "dim"} of the store at path. */
static cJSON *store_json(const char *path, int64_t dim)
{
    struct mer_run_store d;
    cJSON *o;
    if (mer_run_store_describe(path, &d) < 0)
        return NULL;
    if ((o = cJSON_CreateObject())) {
        cJSON_AddStringToObject(o, "path", d.path);
        cJSON_AddStringToObject(o, "checksum", d.checksum);
        cJSON_AddItemToObject(o, "extractor",
                              d.extractor ? cJSON_Parse(d.extractor) : cJSON_CreateNull());
        cJSON_AddNumberToObject(o, "dim", (double)dim);
    } else {
        mer_error("out of memory");
    }
    mer_run_store_release(&d);
    return o;
}

static int write_standardize(const char *run_dir, const struct mer_dataset *ds)
{
    mer_st_writer *w = mer_st_writer_new();
    char *path = mer_strfmt("%s/%s", run_dir, STANDARDIZE_FILE), name[64];
    int ret = -1;
    if (!w || !path) {
        mer_error("out of memory");
        goto done;
    }
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        const char *mod = mer_modality_name((enum mer_modality)m);
        if (!ds->has[m] || !ds->shift[m])
            continue;
        snprintf(name, sizeof(name), "%s.shift", mod);
        if (mer_st_writer_add(w, name, MER_DTYPE_F32, 1, &ds->dim[m], ds->shift[m]) < 0)
            goto done;
        snprintf(name, sizeof(name), "%s.scale", mod);
        if (mer_st_writer_add(w, name, MER_DTYPE_F32, 1, &ds->dim[m], ds->scale[m]) < 0)
            goto done;
    }
    if (mer_st_writer_set_meta(w, "mer.kind", "standardize") < 0)
        goto done;
    ret = mer_st_writer_write(w, path);
done:
    mer_st_writer_free(w);
    free(path);
    return ret;
}

int mer_run_stores_write(const char *run_dir, const struct mer_dataset_params *p,
                         const struct mer_dataset *ds)
{
    cJSON *root = cJSON_CreateObject(), *mods = cJSON_CreateObject(), *item;
    char *path = mer_strfmt("%s/%s", run_dir, STORES_FILE);
    int ret = -1;
    if (!root || !mods || !path) {
        cJSON_Delete(mods);
        mer_error("out of memory");
        goto done;
    }
    cJSON_AddItemToObject(root, "modalities", mods);
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        if (!ds->has[m])
            continue;
        if (!(item = store_json(p->features[m], ds->dim[m])))
            goto done;
        cJSON_AddItemToObject(mods, mer_modality_name((enum mer_modality)m), item);
    }
    if (ds->prior_dim) {
        if (!(item = store_json(p->priors, ds->prior_dim)))
            goto done;
        cJSON_AddItemToObject(root, "priors", item);
    }
    cJSON_AddItemToObject(root, "classes",
                          cJSON_CreateStringArray((const char *const *)ds->classes, ds->n_classes));
    cJSON_AddBoolToObject(root, "standardize", p->standardize);
    if ((p->standardize && write_standardize(run_dir, ds) < 0) ||
        mer_write_json_atomic(path, root) < 0)
        goto done;
    ret = 0;
done:
    cJSON_Delete(root);
    free(path);
    return ret;
}

static char *dup_string(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? mer_strfmt("%s", v->valuestring) : NULL;
}

/* One store's record (o: its JSON object) into *s. */
static int read_store(const char *path, const char *what, const cJSON *o, struct mer_run_store *s)
{
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(o, "dim");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "extractor");
    s->path = dup_string(o, "path");
    s->checksum = dup_string(o, "checksum");
    s->extractor = cJSON_IsObject(e) ? cJSON_PrintUnformatted(e) : NULL;
    if (!s->path || !s->checksum || !cJSON_IsNumber(dim) || dim->valuedouble < 1)
        return mer_error("'%s': %s: no path, checksum or dim", path, what);
    s->dim = (int64_t)dim->valuedouble;
    return 0;
}

/* data.standardize's shift and scale of every modality the run has, from standardize.safetensors.
 */
static int read_standardize(const char *run_dir, struct mer_run_stores *s)
{
    char *path = mer_strfmt("%s/%s", run_dir, STANDARDIZE_FILE), name[64];
    mer_st_file *f = NULL;
    int ret = -1;
    if (!path)
        return mer_error("out of memory");
    if (mer_st_open(&f, path, MER_ST_VERIFY) < 0)
        goto done;
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        float **dst[2] = {&s->shift[m], &s->scale[m]};
        if (!s->features[m].path)
            continue;
        for (int k = 0; k < 2; k++) {
            const struct mer_st_tensor *t;
            snprintf(name, sizeof(name), "%s.%s", mer_modality_name((enum mer_modality)m),
                     k ? "scale" : "shift");
            t = mer_st_find(f, name);
            if (!t || t->dtype != MER_DTYPE_F32 || t->ndim != 1 ||
                t->shape[0] != s->features[m].dim) {
                mer_error("'%s': no F32 tensor '%s' [%lld]", path, name,
                          (long long)s->features[m].dim);
                goto done;
            }
            if (!(*dst[k] = malloc(t->nbytes + 1))) {
                mer_error("out of memory");
                goto done;
            }
            memcpy(*dst[k], t->data, t->nbytes);
        }
    }
    ret = 0;
done:
    mer_st_close(f);
    free(path);
    return ret;
}

int mer_run_stores_read(const char *run_dir, struct mer_run_stores *out)
{
    char *path = mer_strfmt("%s/%s", run_dir, STORES_FILE), *text = NULL, what[64];
    cJSON *root = NULL;
    const cJSON *mods, *classes, *c;
    size_t size = 0;
    int ret = -1;
    memset(out, 0, sizeof(*out));
    if (!path)
        return mer_error("out of memory");
    if (!mer_path_exists(path)) {
        mer_error("'%s': no such file: the run does not record its stores (made by an older mer; "
                  "train it again)",
                  path);
        goto done;
    }
    if (mer_read_file(path, &text, &size) < 0)
        goto done;
    root = cJSON_Parse(text);
    mods = cJSON_GetObjectItemCaseSensitive(root, "modalities");
    classes = cJSON_GetObjectItemCaseSensitive(root, "classes");
    if (!cJSON_IsObject(mods) || !cJSON_IsArray(classes) || cJSON_GetArraySize(classes) < 1) {
        mer_error("'%s': not a stores record (no modalities or classes)", path);
        goto done;
    }
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        const char *name = mer_modality_name((enum mer_modality)m);
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(mods, name);
        snprintf(what, sizeof(what), "modalities.%s", name);
        if (o && read_store(path, what, o, &out->features[m]) < 0)
            goto done;
    }
    c = cJSON_GetObjectItemCaseSensitive(root, "priors");
    if (c && read_store(path, "priors", c, &out->priors) < 0)
        goto done;
    out->n_classes = cJSON_GetArraySize(classes);
    if (!(out->classes = calloc((size_t)out->n_classes, sizeof(char *)))) {
        mer_error("out of memory");
        goto done;
    }
    for (int k = 0; k < out->n_classes; k++) {
        c = cJSON_GetArrayItem(classes, k);
        if (!cJSON_IsString(c) || !(out->classes[k] = mer_strfmt("%s", c->valuestring))) {
            mer_error("'%s': classes[%d] is not a string", path, k);
            goto done;
        }
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "standardize")) &&
        read_standardize(run_dir, out) < 0)
        goto done;
    ret = 0;
done:
    if (ret < 0)
        mer_run_stores_release(out);
    cJSON_Delete(root);
    free(text);
    free(path);
    return ret;
}
