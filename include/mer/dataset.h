/*
 * dataset.h: the training data of one run, joined by sample name and held in memory.
 *
 * Reads a labels store (mer import-labels), one feature store per modality
 * (audio, video, text; any non-empty subset) and optionally a priors store,
 * and lines them up row by row in the labels' order. Features are copied into
 * contiguous float32 arrays so a batch is a gather of rows.
 *
 *     struct mer_dataset_params p = mer_dataset_default_params();
 *     p.features[MER_MOD_AUDIO] = "stores/audio.safetensors";
 *     p.labels = "stores/labels.safetensors";
 *     struct mer_dataset *ds;
 *     if (mer_dataset_load(&ds, &p) < 0) ...;   // mer_errmsg() names file and sample
 *     mer_dataset_free(ds);
 *
 * Priors store (mer.kind "priors"): prior F32 [N, M, P] (M = 3, in the order
 * audio, video, text), reliability F32 [N, M] in [0, 1], present U8 [N, M].
 * Pseudo-labels (for stage-1 pre-training) come from a labels store whose classes are named
 * as the labels' are, with an optional F32 [N] tensor "reliability".
 *
 * A "features" store of [N, M * P] is accepted too (what `mer import` makes from
 * .npy files): reliability 1, and a row of NaN marks a missing prior.
 *
 * Stores are joined by sample name and class name, never by position, and stores that do not
 * belong together are refused with both sides named:
 *   - a priors store from mer ingest holds one row per sample of the labels store it was
 *     ingested against, and its K scores (after the D-wide embedding, P = D + K + 1) follow its
 *     mer.classes: every sample of the labels must be there ("'p' covers 504 of the 626 samples
 *     of 'l'; 0 of the 122 of split 'test1': ..."), and its classes must be the labels'. The
 *     same classes in another order are reordered to the labels' order (the scores are
 *     per-class probabilities, so this is exact); other classes are refused.
 *   - a feature store (or a priors store from mer import) that has none of the samples of a
 *     split is refused even with data.missing = mask ("'v' covers 0 of the 122 samples of split
 *     'test1' in 'l'"): masking a modality for a whole split, or for all samples, is not a
 *     missing sample but the wrong store.
 *   - pseudo-labels are matched by name; a store naming none of the samples is refused.
 * With p.train_split set, unlabeled samples in that split are a warning (mer_warn): training
 * skips them and predicts nothing for them.
 */
#ifndef MER_DATASET_H
#define MER_DATASET_H

#include "mer/modality.h"
#include "mer/xenum.h"

#include <stddef.h>
#include <stdint.h>

/* data.missing: a sample absent from a feature store. */
#define MER_MISSING_POLICIES(X)                                                                    \
    X(MER_MISSING_ERROR, "error") /* the run fails, naming the samples */                          \
    X(MER_MISSING_MASK, "mask")   /* that modality is masked for the sample */
/* data.nan: NaN or Inf in features. */
#define MER_NAN_POLICIES(X)                                                                        \
    X(MER_NAN_ERROR, "error") /* the run fails, naming the sample and modality */                  \
    X(MER_NAN_ZERO, "zero")   /* the value is replaced by 0 */

enum mer_missing_policy { MER_MISSING_POLICIES(MER_ENUM_ROW) };
enum mer_nan_policy { MER_NAN_POLICIES(MER_ENUM_ROW) };
enum {
    MER_N_MISSING_POLICIES = 0 MER_MISSING_POLICIES(MER_COUNT_ROW),
    MER_N_NAN_POLICIES = 0 MER_NAN_POLICIES(MER_COUNT_ROW),
};
static const char *const mer_missing_policy_names[MER_N_MISSING_POLICIES] = {
    MER_MISSING_POLICIES(MER_NAME_ROW)};
static const char *const mer_nan_policy_names[MER_N_NAN_POLICIES] = {
    MER_NAN_POLICIES(MER_NAME_ROW)};

struct mer_dataset_params {
    const char *features[MER_N_MODALITIES]; /* store paths; NULL or "" = modality unused */
    const char *labels;                     /* labels store path (required) */
    const char *priors;                     /* priors store path; NULL or "" = none */
    const char *pseudo_labels; /* labels store of pseudo-labels (stage-1 pre-training), or "" */
    const char *train_split; /* the split trained on (warns about its unlabeled samples), or NULL */
    enum mer_missing_policy missing; /* a sample absent from a feature store */
    enum mer_nan_policy nan;         /* NaN/Inf in features */
    int standardize; /* data.standardize: z-score each feature column (train split's stats) */
    /* With standardize: a trained run's shift and scale per modality ([dim], borrowed), applied
     * instead of the training split's statistics (mer predict); NULL: fitted here. */
    const float *shift[MER_N_MODALITIES], *scale[MER_N_MODALITIES];
};

struct mer_dataset_params mer_dataset_default_params(void);

struct mer_dataset {
    size_t n;       /* samples, in the labels store's order */
    char **names;   /* [n] */
    int64_t *label; /* [n] class index, -1 = unlabeled */
    float *valence; /* [n] NaN = absent */
    int *split;     /* [n] index into splits */
    int n_classes;  /* K */
    char **classes; /* [K] */
    int n_splits;
    char **splits;                 /* [n_splits] */
    int has[MER_N_MODALITIES];     /* modality in use */
    int64_t dim[MER_N_MODALITIES]; /* D_m */
    float *x[MER_N_MODALITIES];    /* [n, D_m] */
    /* data.standardize: x = (raw - shift) / scale per column, from the training split's rows
     * that have the modality (labels unused); NULL without it */
    float *shift[MER_N_MODALITIES], *scale[MER_N_MODALITIES]; /* [D_m] */
    float *present;            /* [n, M] 1 if the sample has that modality, else 0 */
    int64_t prior_dim;         /* P, 0 without priors */
    float *prior;              /* [n, M, P] */
    float *prior_reliability;  /* [n, M] */
    float *prior_present;      /* [n, M] 1 or 0 */
    int64_t *pseudo;           /* [n] pseudo-label (class index), -1 = none; NULL = none given */
    float *pseudo_reliability; /* [n] its reliability (the store's "reliability", else 1) */
};

/* Loads and joins; new dataset in *out (free with mer_dataset_free). */
int mer_dataset_load(struct mer_dataset **out, const struct mer_dataset_params *p);
void mer_dataset_free(struct mer_dataset *ds);

/* Index of a split name, or -1. */
int mer_dataset_split_index(const struct mer_dataset *ds, const char *name);

#endif
