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
 *
 * Determinism: batch order, dropout and initialisation are re-seeded from (seed, fold,
 * epoch), so a run is a function of its config and seed, and a run resumed from an epoch's
 * checkpoint ends with the same weights and metrics as one never interrupted.
 */
#ifndef MER_TRAIN_H
#define MER_TRAIN_H

#include "mer/dataset.h"
#include "mer/model.h"

/* Limits of a run; settings.h refuses a config beyond them, naming the key. */
#define MER_MAX_TEST_SPLITS 16 /* splits a run predicts besides its training split */
#define MER_MAX_FOLDS       32 /* train.folds (the config schema's range) */
#define MER_MAX_CLASSES     64 /* classes of the labels; loss.class_weights */

/* What a run trains and predicts (settings.h fills it from the config), then the runtime
 * options its command sets. */
struct mer_train_params {
    struct mer_model_config model; /* n_mod, dims and prior_dim are filled from the data */
    struct mer_loss_config loss;
    enum mer_optim_kind optimizer;
    double lr, weight_decay, grad_clip;
    int batch_size, epochs, patience, folds;
    uint64_t seed;
    /* Steps in plain C (cnet.h) instead of libtorch's autograd: train.engine on the run's
     * device (mer_settings_select_engine). */
    int c_engine;
    int select_metric;    /* best epoch by 0 = WAF, 1 = accuracy, 2 = macro-F1 */
    int ensemble_probs;   /* average the folds' probabilities instead of raw logits */
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

    /* Runtime options: the command's, never the config's. */
    int only_fold;                /* -1: all folds */
    int shard_index, shard_count; /* train folds k with k % count == index; count > 1 writes
                                     only the folds' own files (--jobs workers) */
    int resume;                   /* continue from fold-K/checkpoint and keep finished folds */
    const char *run_dir;
    int quiet;
};

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

/* Trains (all folds or only_fold), writes the run directory, fills the summary. */
int mer_train_run(const struct mer_dataset *ds, const struct mer_train_params *p,
                  struct mer_train_summary *out);

#endif
