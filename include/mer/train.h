/*
 * train.h: k-fold training of the fusion model on a dataset (dataset.h), early stopping on
 * fold-validation WAF, and fold-averaged predictions; the engine behind `mer train`.
 *
 * Run directory layout:
 *   config.json            the resolved config (written by the command)
 *   folds.json             the fold of every training sample
 *   fold-K/model.safetensors   the best epoch's weights (atomic)
 *   fold-K/checkpoint.safetensors  after every epoch: weights, best weights, Adam state,
 *                          epoch, early-stopping state (what --resume continues from)
 *   fold-K/predictions.safetensors  the finished fold's out-of-fold and test logits, with
 *                          their samples' names (outputs.h; checked when a run takes it in)
 *   fold-K/pretrain.jsonl  stage 1 (train.pretrain): one JSON object per epoch
 *   fold-K/log.jsonl       one JSON object per epoch: every loss term, lr, train/val WAF
 *                          and accuracy, seconds
 *   predictions/cv.csv     out-of-fold predictions on the training split
 *   predictions/<split>.csv    test splits: fold-averaged logits -> probabilities
 *   metrics.json           CV metrics and, where labels exist, test metrics
 *   submission-<split>.csv MER2024 submissions (eval.submission)
 * The predictions, submissions, metrics.json and fold files are written by outputs.h.
 * With train.keep_checkpoints=false, a finished run (all folds, outputs written) removes
 * every fold-K/checkpoint.safetensors.
 *
 * Determinism: batch order, dropout and initialisation are re-seeded from (seed, fold,
 * epoch), so a run is a function of its config and seed, and a run resumed from an epoch's
 * checkpoint ends with the same weights and metrics as one never interrupted.
 */
#ifndef MER_TRAIN_H
#define MER_TRAIN_H

#include "mer/dataset.h"
#include "mer/model.h"
#include "mer/xenum.h"

/* Limits of a run; settings.h refuses a config beyond them, naming the key. */
#define MER_MAX_TEST_SPLITS 16 /* splits a run predicts besides its training split */
#define MER_MAX_FOLDS       32 /* train.folds (the config schema's range) */
#define MER_MAX_CLASSES     64 /* classes of the labels; loss.class_weights */

/* eval.ensemble: what the fold models' test predictions are averaged as. */
#define MER_ENSEMBLES(X)                                                                           \
    X(MER_ENSEMBLE_LOGITS, "logits") /* raw logits (the MER2024 baseline) */                       \
    X(MER_ENSEMBLE_PROBS, "probs")   /* softmax probabilities */

enum mer_ensemble { MER_ENSEMBLES(MER_ENUM_ROW) };
enum { MER_N_ENSEMBLES = 0 MER_ENSEMBLES(MER_COUNT_ROW) };
static const char *const mer_ensemble_names[MER_N_ENSEMBLES] = {MER_ENSEMBLES(MER_NAME_ROW)};

/* What a run trains and predicts: the config's, as typed settings (settings.h fills it). */
struct mer_train_params {
    struct mer_model_config model; /* n_mod, dims and prior_dim are filled from the data */
    struct mer_loss_config loss;
    enum mer_optim_kind optimizer;
    double lr, weight_decay, grad_clip;
    int batch_size, epochs, patience, folds;
    uint64_t seed;
    int keep_checkpoints; /* train.keep_checkpoints: 0 removes them once the run is finished */
    /* Steps in plain C (cnet.h) instead of libtorch's autograd: train.engine on the run's
     * device (mer_settings_select_engine). */
    int c_engine;
    enum mer_select_metric select_metric; /* train.select_metric: picks a fold's best epoch */
    enum mer_ensemble ensemble;           /* eval.ensemble */
    int write_submission; /* submission-<split>.csv (name,discrete) per predicted split */
    /* loss.class_weights, n_class_weights of them (0 = derived from the data's class counts:
     * mer_settings_complete_loss) */
    double class_weights[MER_MAX_CLASSES];
    int pretrain_epochs; /* stage 1 on pseudo-labeled unlabeled clips; 0 = off */
    double pretrain_min_reliability;
    int n_class_weights;
    int use_modality[MER_N_MODALITIES];   /* from the data: which stores are given */
    int prior_modality[MER_N_MODALITIES]; /* model.prior.modalities */
    double min_reliability;
    int scale_by_reliability;
    const char *train_split;
    const char *const *test_splits; /* at most MER_MAX_TEST_SPLITS */
    size_t n_test_splits;
};

/* How one run is carried out: the command line's (mer train's options), never the config's,
 * so a run resumed or sharded differently is still the same run. */
struct mer_run_options {
    const char *run_dir; /* --out: the run directory */
    int only_fold;       /* --fold: train this fold alone; -1: all folds */
    int shard_index;     /* --shard i/n: train folds k with k % n == i; */
    int shard_count;     /* n > 1 writes only the folds' own files (--jobs workers) */
    int resume;          /* --resume: continue from fold-K/checkpoint, keep finished folds */
    int quiet;           /* -q: no progress */
    /* The command's alone (mer_train_run does not read them): */
    int force;          /* --force: clear the old run's files first */
    int jobs;           /* --jobs: folds in this many processes (--shard j/jobs workers) */
    int threads;        /* --threads: libtorch and OpenBLAS threads; 0: all cores */
    int deterministic;  /* --deterministic: deterministic kernels (or train.deterministic) */
    const char *device; /* --device; NULL: train.device */
};
#define MER_RUN_OPTIONS_INIT                                                                       \
    {                                                                                              \
        .only_fold = -1, .shard_count = 1                                                          \
    }

/* The metrics of one labelled test split, from the fold ensemble. */
struct mer_split_score {
    const char *split; /* borrowed from the params' test_splits */
    size_t n;          /* samples scored */
    double waf, acc, macro_f1;
};

struct mer_train_summary {
    double cv_waf, cv_acc, cv_macro_f1;
    struct mer_split_score test[MER_MAX_TEST_SPLITS]; /* the labelled test splits */
    size_t n_test;
    double fold_waf[MER_MAX_FOLDS];
    int fold_best_epoch[MER_MAX_FOLDS];
    int folds;
    double steps_per_second;
};

/* Trains what p says as o says (all folds, o->only_fold or o's shard), writes the run
 * directory o->run_dir, fills the summary. */
int mer_train_run(const struct mer_dataset *ds, const struct mer_train_params *p,
                  const struct mer_run_options *o, struct mer_train_summary *out);

/* The fold ensemble's predictions of samples idx [n] of ds, as mer_train_run predicts a test
 * split: every fold model of run_dir (fold-K/model.safetensors, K < p->folds) on the engine p
 * says, summed as eval.ensemble says. rows [n, K (+1 with the valence head)] get the sums, to
 * be scaled by *scale (logits) and *valence_scale, as mer_pred_set's rows are (evaluate.h).
 * -1 with an error naming a missing or unfitting fold model. */
int mer_train_predict(const struct mer_dataset *ds, const struct mer_train_params *p,
                      const char *run_dir, const int64_t *idx, size_t n, float *rows, double *scale,
                      double *valence_scale);

#endif
