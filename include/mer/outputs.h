/*
 * outputs.h: the files a training run leaves, written in one place from plain data (sample
 * names, classes, labels, valence and the model's rows; evaluate.h's mer_samples and
 * mer_pred_set): the run's predictions/<set>.csv, submission-<split>.csv and metrics.json,
 * and each finished fold's fold-K/predictions.safetensors (what --resume and --jobs take in).
 *
 *     struct mer_run_outputs o = {.run_dir = "runs/x", .samples = s, .cv = cv,
 *                                 .test = test, .n_test = n, .submission = 1};
 *     struct mer_set_score cv_score, test_score[n];
 *     if (mer_run_outputs_write(&o, &cv_score, test_score) < 0) ...;  // mer_errmsg()
 *
 * A fold file holds F32 tensors "oof" [n_va, W] and "test/<split>" [n_test, W] (W = K logits,
 * then the valence), metadata mer.kind "fold-predictions", best_waf, best_epoch,
 * steps_per_second, and the sample names of each tensor's rows: mer.ids for "oof",
 * "mer.ids:test/<split>" for each split. Reading checks the shapes and those names against the
 * run's sets, so a fold file from other data is refused, naming the file; a file written before
 * the names were stored (no mer.ids) is read on its shapes alone.
 *
 * A run also records what it was trained on, so `mer predict` can make the same features for
 * new clips: stores.json (beside config.json) names each modality's store (path, mer.checksum,
 * the provenance's "extractor" object, dim), the priors store, the labels' classes, and
 * standardize.safetensors holds data.standardize's fitted state (F32 "<modality>.shift" and
 * "<modality>.scale", [dim] each):
 *
 *     if (mer_run_stores_write("runs/x", &settings.data, ds) < 0) ...;
 *     struct mer_run_stores rs;
 *     if (mer_run_stores_read("runs/x", &rs) < 0) ...;  // a run from an older mer: no record
 *     mer_run_stores_release(&rs);
 */
#ifndef MER_OUTPUTS_H
#define MER_OUTPUTS_H

#include "mer/dataset.h"
#include "mer/evaluate.h"
#include "mer/store.h"

#include <stddef.h>

/* A run's outputs. */
struct mer_run_outputs {
    const char *run_dir;
    struct mer_samples samples;
    struct mer_pred_set cv;          /* out-of-fold predictions of the training split */
    const struct mer_pred_set *test; /* [n_test] predicted splits; an empty one writes nothing */
    size_t n_test;
    int submission; /* also submission-<split>.csv per predicted split (eval.submission) */
};

/* The metrics of one set; scored is 0 for a set with an unlabeled sample (or none). */
struct mer_set_score {
    int scored;
    size_t n;
    double waf, accuracy, macro_f1;
};

/* Writes predictions/cv.csv, predictions/<split>.csv (and submission-<split>.csv) for each
 * non-empty split, and metrics.json: {"cv": metrics, "test": {split: metrics}}, the splits
 * whose samples are all labeled, each with "valence": {n, mse, ccc} with the valence head.
 * Fills *cv and test [n_test]. Every file atomic; -1 with the error set. */
int mer_run_outputs_write(const struct mer_run_outputs *o, struct mer_set_score *cv,
                          struct mer_set_score *test);

/* One finished fold's predictions (the sets' scale and valence_scale are not stored). */
struct mer_fold_preds {
    struct mer_pred_set oof;   /* the fold's validation samples */
    struct mer_pred_set *test; /* [n_test] the predicted splits, by name */
    size_t n_test;
    double best_waf; /* the selected metric's best value, -1 to 1 */
    int best_epoch;
    double steps_per_second;
};

/* Writes fold-K/predictions.safetensors (atomic), row names from s. */
int mer_fold_preds_write(const char *path, const struct mer_samples *s,
                         const struct mer_fold_preds *f);
/* Reads a fold file into f, whose sets say the samples expected (idx, n, name): 1 with every
 * set's rows pointing into *file (borrowed: valid until mer_st_close(*file)) and the numbers
 * filled; 0 if path does not exist; -1 with an error naming the file if it does not fit (a
 * shape, a set's sample names, a number out of range) or cannot be read. */
int mer_fold_preds_read(mer_st_file **file, const char *path, const struct mer_samples *s,
                        struct mer_fold_preds *f);

/* One store as a run records it. Strings owned (mer_run_stores_release). */
struct mer_run_store {
    char *path;      /* as the config named it; NULL = not used by the run */
    char *checksum;  /* mer.checksum (a sharded store: its parts', comma-separated) */
    char *extractor; /* the provenance's "extractor" object as JSON text; NULL if none */
    int64_t dim;     /* feature columns (priors: P) */
};

/* Everything stores.json and standardize.safetensors hold. */
struct mer_run_stores {
    struct mer_run_store features[MER_N_MODALITIES];
    struct mer_run_store priors;
    int n_classes;
    char **classes;                                           /* [n_classes] */
    float *shift[MER_N_MODALITIES], *scale[MER_N_MODALITIES]; /* [dim]; NULL without standardize */
};

/* Describes the store at path (checksum, extractor) into *out; out->path is a copy of path.
 * -1 with the error set naming the file. */
int mer_run_store_describe(const char *path, struct mer_run_store *out);
/* Writes run_dir/stores.json and (with p->standardize) run_dir/standardize.safetensors from the
 * dataset p made; atomic; -1 with the error set. */
int mer_run_stores_write(const char *run_dir, const struct mer_dataset_params *p,
                         const struct mer_dataset *ds);
/* Reads them back; -1 with an error naming the file: no stores.json (a run from an older mer),
 * a malformed record, a missing or unfitting standardize.safetensors. */
int mer_run_stores_read(const char *run_dir, struct mer_run_stores *out);
void mer_run_stores_release(struct mer_run_stores *s);
void mer_run_store_release(struct mer_run_store *s);

#endif
