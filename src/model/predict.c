/* mer predict: new clips through a trained run (predict.h). */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include "mer/predict.h"
#include "mer/config.h"
#include "mer/csv.h"
#include "mer/dataset.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/ingest.h"
#include "mer/labels.h"
#include "mer/outputs.h"
#include "mer/settings.h"
#include "mer/torch.h"
#include "mer/train.h"
#include "model/predict_impl.h"

#include <cjson/cJSON.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Everything one prediction holds while it runs. */
struct job {
    const struct mer_predict_params *p;
    mer_config *cfg;
    struct mer_settings set;
    struct mer_run_stores rec;
    char *config_path, *tmp;      /* tmp: the temporary directory (ours alone), or NULL */
    char *clips_csv;              /* tmp/clips.csv: name,path of the clips given */
    struct mer_strv names;        /* the samples predicted */
    char *made[MER_N_MODALITIES]; /* stores made again, in tmp */
};

struct mer_predict_params mer_predict_default_params(void)
{
    struct mer_predict_params p;
    memset(&p, 0, sizeof(p));
    p.jobs = 1;
    return p;
}

void mer_prediction_free(struct mer_prediction *r)
{
    if (!r)
        return;
    mer_strv_free(r->names, r->n);
    mer_strv_free(r->classes, (size_t)r->n_classes);
    free(r->rows);
    free(r);
}

/* ---- the run ---- */

/* The run's config, settings and stores record; every fold model must be there. */
static int open_run(struct job *j)
{
    const char *dir = j->p->run_dir;
    if (!(j->config_path = mer_path_join(dir, "config.json")))
        return mer_error("out of memory");
    if (!mer_path_exists(j->config_path))
        return mer_error("'%s': no such file: '%s' holds no run", j->config_path, dir);
    if (mer_config_load(&j->cfg, j->config_path, NULL, 0) < 0 ||
        mer_settings_from_config(j->cfg, &j->set) < 0 || mer_run_stores_read(dir, &j->rec) < 0)
        return -1;
    for (int k = 0; k < j->set.train.folds; k++) {
        char *path = mer_strfmt("%s/fold-%d/model.safetensors", dir, k);
        int there = path && mer_path_exists(path);
        if (!there) {
            mer_error("'%s': no such fold model (the run has %d folds; is it finished?)",
                      path ? path : dir, j->set.train.folds);
            free(path);
            return -1;
        }
        free(path);
    }
    return 0;
}

/* ---- the samples ---- */

/* The clips given as samples, and tmp/clips.csv for the extractors. */
static int list_clips(struct job *j)
{
    if (!(j->clips_csv = mer_path_join(j->tmp, "clips.csv")))
        return mer_error("out of memory");
    return mer_predict_list_clips(j->p->clips, j->p->n_clips, j->clips_csv, &j->names);
}

/* Without clips: every sample of the first ready store. */
static int names_of_store(struct job *j, const char *path)
{
    mer_store *s = NULL;
    int ret = 0;
    if (mer_store_open(&s, path, 0) < 0)
        return -1;
    for (size_t i = 0; ret == 0 && i < mer_store_n_samples(s); i++) {
        const char *id = mer_store_sample_id(s, i);
        ret = mer_strv_push(&j->names, id, strlen(id));
    }
    mer_store_close(s);
    return ret;
}

/* tmp/labels.safetensors: the samples, unlabeled, in split "predict", the run's classes. */
static int write_labels(struct job *j, char **path)
{
    struct mer_labels l = {.layout = "store",
                           .n = j->names.n,
                           .names = j->names.v,
                           .n_classes = j->rec.n_classes,
                           .classes = j->rec.classes,
                           .n_splits = 1};
    char *split = "predict";
    int ret = -1;
    l.splits = &split;
    l.label = malloc((l.n + 1) * sizeof(int64_t));
    l.valence = malloc((l.n + 1) * sizeof(float));
    l.split = calloc(l.n + 1, sizeof(int64_t));
    if (!(*path = mer_path_join(j->tmp, "labels.safetensors")) || !l.label || !l.valence ||
        !l.split) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < l.n; i++) {
        l.label[i] = -1;
        l.valence[i] = NAN;
    }
    ret = mer_labels_write(&l, *path, NULL);
done:
    free(l.label);
    free(l.valence);
    free(l.split);
    return ret;
}

/* ---- the stores ---- */

/* The first key (a dotted path into key[size]) where two extractor objects differ, and its
 * values there (new JSON text, "none" when absent) into *va and *vb; 0 if they are the same. */
static int first_difference(const cJSON *a, const cJSON *b, char *key, size_t size, char **va,
                            char **vb)
{
    const size_t at = strlen(key);
    const cJSON *it;
    if (!a && !b) /* neither records one (stores imported from .npy files) */
        return 0;
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        for (int pass = 0; pass < 2; pass++) { /* keys of a, then keys only b has */
            const cJSON *obj = pass ? b : a;
            cJSON_ArrayForEach(it, obj)
            {
                const cJSON *x = pass ? cJSON_GetObjectItemCaseSensitive(a, it->string) : it;
                const cJSON *y = pass ? it : cJSON_GetObjectItemCaseSensitive(b, it->string);
                if (pass && x)
                    continue;
                snprintf(key + at, size - at, "%s%s", at ? "." : "", it->string);
                if (first_difference(x, y, key, size, va, vb))
                    return 1;
                key[at] = 0;
            }
        }
        return 0;
    }
    if (a && b && cJSON_Compare(a, b, 1))
        return 0;
    *va = a ? cJSON_PrintUnformatted(a) : mer_strfmt("none");
    *vb = b ? cJSON_PrintUnformatted(b) : mer_strfmt("none");
    return 1;
}

/* A store for modality m must have been made as the run's was: refused naming both stores
 * and the first option where they differ. */
static int check_store(const struct job *j, int m, const char *path)
{
    const struct mer_run_store *want = &j->rec.features[m];
    struct mer_run_store got;
    cJSON *a, *b;
    char key[256] = "", *va = NULL, *vb = NULL;
    int ret = 0;
    if (mer_run_store_describe(path, &got) < 0)
        return -1;
    a = got.extractor ? cJSON_Parse(got.extractor) : NULL;
    b = want->extractor ? cJSON_Parse(want->extractor) : NULL;
    if (first_difference(a, b, key, sizeof(key), &va, &vb))
        ret = mer_error("'%s': made with extractor %s %s, the run's %s store '%s' with %s", path,
                        *key ? key : "object", va ? va : "?",
                        mer_modality_name((enum mer_modality)m), want->path, vb ? vb : "?");
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(va);
    free(vb);
    mer_run_store_release(&got);
    return ret;
}
/* The run's own store, read for the fitted state it saved, must still be the one the run was
 * trained on (not made again since). */
static int check_unchanged(const struct mer_run_store *want, const char *what)
{
    struct mer_run_store now;
    int ret = 0;
    if (mer_run_store_describe(want->path, &now) < 0)
        return -1;
    if (strcmp(now.checksum, want->checksum))
        ret = mer_error("'%s': checksum %s, but the run was trained on %s (its %s store, whose "
                        "fitted encoder mer predict reuses, was made again since)",
                        want->path, now.checksum, want->checksum, what);
    mer_run_store_release(&now);
    return ret;
}

/* Modality m's store made again into tmp/<modality>.safetensors, for the samples named. */
static int remake_store(struct job *j, int m)
{
    const struct mer_run_store *want = &j->rec.features[m];
    const char *mod = mer_modality_name((enum mer_modality)m);
    const struct mer_predict_sources src = {j->clips_csv, j->p->transcripts, j->p->device,
                                            j->p->jobs, NULL};
    char *fname = mer_strfmt("%s.safetensors", mod);
    int ret = -1;
    if (!fname || !(j->made[m] = mer_path_join(j->tmp, fname)))
        mer_error("out of memory");
    else if (mer_predict_make_store(mod, want->path, want->extractor, &src, j->made[m]) == 0)
        ret = check_store(j, m, j->made[m]); /* it must say what the run's said (decoder, model) */
    free(fname);
    return ret;
}

/* Every modality the run used: a ready store (checked) or one made again. */
static int resolve_stores(struct job *j, const char **stores)
{
    for (int m = 0; m < MER_N_MODALITIES; m++) { /* what is missing, before making anything */
        const struct mer_predict_sources src = {j->clips_csv, j->p->transcripts, j->p->device,
                                                j->p->jobs, NULL};
        const struct mer_run_store *want = &j->rec.features[m];
        if (!want->path && j->p->stores[m])
            return mer_error("'%s': the run was not trained on %s features", j->p->stores[m],
                             mer_modality_name((enum mer_modality)m));
        if (want->path && !j->p->stores[m] &&
            (mer_predict_make_store(mer_modality_name((enum mer_modality)m), want->path,
                                    want->extractor, &src, NULL) < 0 ||
             /* text is encoded with the IDF the run's text store saved */
             (m == MER_MOD_TEXT && check_unchanged(want, "text") < 0)))
            return -1;
    }
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        const char *given = j->p->stores[m];
        if (!j->rec.features[m].path)
            continue;
        if (given) {
            if (check_store(j, m, given) < 0)
                return -1;
            stores[m] = given;
        } else {
            if (remake_store(j, m) < 0)
                return -1;
            stores[m] = j->made[m];
        }
    }
    return 0;
}

/* ---- the dataset ---- */

/* A run trained with priors, predicting without them: every prior absent (masked). */
static int mask_priors(struct mer_dataset *ds, int64_t pd)
{
    ds->prior_dim = pd;
    ds->prior = calloc(ds->n * MER_N_MODALITIES * (size_t)pd + 1, sizeof(float));
    ds->prior_reliability = calloc(ds->n * MER_N_MODALITIES + 1, sizeof(float));
    ds->prior_present = calloc(ds->n * MER_N_MODALITIES + 1, sizeof(float));
    if (!ds->prior || !ds->prior_reliability || !ds->prior_present)
        return mer_error("out of memory");
    return 0;
}

/* A metadata number of the run's priors store, or dflt. */
static double meta_number(const mer_st_file *f, const char *key, double dflt)
{
    double v;
    return mer_st_meta(f, key) && mer_st_meta_number(f, key, -1e300, 1e300, &v) == 0 ? v : dflt;
}

/* tmp/priors.safetensors from the answers given, as the run's priors store was made: its
 * encoder, dimension and min_reliability, and the encoder state it saved (no new fit). */
static int ingest_responses(struct job *j, const char *labels, char **out)
{
    struct mer_ingest_params ip = mer_ingest_default_params();
    const char *run_priors = j->rec.priors.path;
    mer_st_file *f = NULL;
    mer_ingest *g = NULL;
    int ret = -1;
    if (!run_priors)
        return mer_error("'%s': the run was trained without priors", j->p->responses);
    if (check_unchanged(&j->rec.priors, "priors") < 0 ||
        mer_st_open(&f, run_priors, MER_ST_VERIFY) < 0)
        return -1;
    ip.labels = labels;
    ip.encoder = mer_st_meta(f, "mer.encoder") ? mer_st_meta(f, "mer.encoder") : ip.encoder;
    ip.dim = (int64_t)meta_number(f, "mer.embedding_dim", (double)ip.dim);
    ip.min_reliability = meta_number(f, "mer.min_reliability", ip.min_reliability);
    ip.state_from = run_priors;
    if (!(*out = mer_path_join(j->tmp, "priors.safetensors")))
        mer_error("out of memory");
    else if (mer_ingest_new(&g, &ip) == 0 && mer_ingest_read(g, j->p->responses) == 0 &&
             mer_ingest_finish(g) == 0)
        ret = mer_ingest_write_priors(g, *out, NULL);
    mer_ingest_free(g);
    mer_st_close(f);
    return ret;
}

static int load_data(struct job *j, const char **stores, struct mer_dataset **ds)
{
    struct mer_dataset_params dp = j->set.data;
    char *labels = NULL, *ingested = NULL;
    int ret = -1;
    if (j->p->priors && j->p->responses) {
        mer_error("give either --priors or --responses");
        goto done;
    }
    if (write_labels(j, &labels) < 0 ||
        (j->p->responses && ingest_responses(j, labels, &ingested) < 0))
        goto done;
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        dp.features[m] = stores[m];
        dp.shift[m] = j->rec.shift[m];
        dp.scale[m] = j->rec.scale[m];
    }
    dp.labels = labels;
    dp.priors = ingested ? ingested : j->rec.priors.path ? j->p->priors : NULL;
    dp.pseudo_labels = NULL;
    dp.train_split = NULL;
    if (j->p->priors && !j->rec.priors.path) {
        mer_error("'%s': the run was trained without priors", j->p->priors);
        goto done;
    }
    if (mer_dataset_load(ds, &dp) < 0)
        goto done;
    for (int m = 0; m < MER_N_MODALITIES; m++)
        if (j->rec.features[m].path && (*ds)->dim[m] != j->rec.features[m].dim) {
            mer_error("'%s': %lld columns, the run's %s store '%s' %lld", stores[m],
                      (long long)(*ds)->dim[m], mer_modality_name((enum mer_modality)m),
                      j->rec.features[m].path, (long long)j->rec.features[m].dim);
            goto done;
        }
    if (j->rec.priors.path && !dp.priors)
        ret = mask_priors(*ds, j->rec.priors.dim);
    else if (j->rec.priors.path && (*ds)->prior_dim != j->rec.priors.dim)
        ret = mer_error("'%s': priors of %lld columns, the run's '%s' %lld", dp.priors,
                        (long long)(*ds)->prior_dim, j->rec.priors.path,
                        (long long)j->rec.priors.dim);
    else
        ret = 0;
done:
    free(labels);
    free(ingested);
    return ret;
}

/* ---- the run ---- */

static int make_tmp(struct job *j)
{
    const char *base = getenv("TMPDIR");
    j->tmp = mer_strfmt("%s/mer-predict.XXXXXX", base && *base ? base : "/tmp");
    if (!j->tmp)
        return mer_error("out of memory");
    if (!mkdtemp(j->tmp)) {
        mer_error("'%s': cannot make a temporary directory", j->tmp);
        free(j->tmp);
        j->tmp = NULL;
        return -1;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

/* Where the engine runs: --device, else the run's train.device; then its train.engine. */
static int select_device(struct job *j)
{
    const char *dev = mer_settings_device(&j->set, j->p->device, mer_torch_cuda_available());
    if (mer_settings_select_engine(&j->set, dev) < 0)
        return -1;
    return mer_torch_set_device(dev);
}

static int predict_all(struct job *j, const struct mer_dataset *ds, struct mer_prediction **out)
{
    const size_t w = (size_t)ds->n_classes + (j->set.train.model.valence_head ? 1 : 0);
    struct mer_prediction *r = calloc(1, sizeof(*r));
    int64_t *idx = malloc((ds->n + 1) * sizeof(int64_t));
    int ret = -1;
    if (!r || !idx || !(r->rows = malloc((ds->n + 1) * w * sizeof(float)))) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < ds->n; i++)
        idx[i] = (int64_t)i;
    if (mer_train_predict(ds, &j->set.train, j->p->run_dir, idx, ds->n, r->rows, &r->scale,
                          &r->valence_scale) < 0)
        goto done;
    r->n = ds->n;
    r->names = j->names.v;
    j->names = (struct mer_strv)MER_STRV_INIT;
    r->n_classes = j->rec.n_classes;
    r->classes = j->rec.classes;
    j->rec.n_classes = 0;
    j->rec.classes = NULL;
    r->valence_head = j->set.train.model.valence_head;
    *out = r;
    r = NULL;
    ret = 0;
done:
    mer_prediction_free(r);
    free(idx);
    return ret;
}

int mer_predict(const struct mer_predict_params *p, struct mer_prediction **out)
{
    struct job j = {.p = p, .names = MER_STRV_INIT};
    struct mer_dataset *ds = NULL;
    const char *stores[MER_N_MODALITIES] = {0};
    int ret = -1;
    *out = NULL;
    if (open_run(&j) < 0 || select_device(&j) < 0 || make_tmp(&j) < 0 ||
        (p->n_clips && list_clips(&j) < 0) || resolve_stores(&j, stores) < 0)
        goto done;
    for (int m = 0; !j.names.n && m < MER_N_MODALITIES; m++)
        if (stores[m] && names_of_store(&j, stores[m]) < 0)
            goto done;
    if (load_data(&j, stores, &ds) < 0 || predict_all(&j, ds, out) < 0)
        goto done;
    ret = 0;
done:
    mer_dataset_free(ds);
    if (j.tmp)
        nftw(j.tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(j.tmp);
    free(j.clips_csv);
    free(j.config_path);
    for (int m = 0; m < MER_N_MODALITIES; m++)
        free(j.made[m]);
    mer_strv_release(&j.names);
    mer_run_stores_release(&j.rec);
    mer_config_free(j.cfg);
    return ret;
}
