/*
 * settings.h: a resolved config (config.h) as typed structs, the one place that reads its keys:
 * the data (dataset.h), the training, model and loss (train.h, model.h), how runs pick their
 * device and engine, which splits they predict, and the priors `mer ingest` builds (prior.*).
 * What the command line decides and the config never holds (--out, --fold, --shard, --resume,
 * -q, --threads, ...) is not here: the command fills a struct mer_run_options (train.h) and
 * passes it beside the settings.
 *
 *     struct mer_settings s;
 *     struct mer_run_options run = MER_RUN_OPTIONS_INIT;
 *     if (mer_settings_from_config(cfg, &s) < 0) ...;      // mer_errmsg() names the key
 *     run.run_dir = "runs/x";                              // from the command line
 *     ... load the dataset ds ...
 *     if (mer_settings_resolve_splits(&s, cfg, ds) < 0) ...; // s.train.test_splits
 *     if (mer_train_run(ds, &s.train, &run, &summary) < 0) ...;
 *
 * Strings are borrowed from the config: valid while it lives unchanged. Every key's type and
 * range are checked by the config schema when it is resolved; what the schema cannot say (a
 * limit below, a key that needs another) is an error here naming the key.
 */
#ifndef MER_SETTINGS_H
#define MER_SETTINGS_H

#include "mer/dataset.h"
#include "mer/train.h"
#include "mer/xenum.h"

struct mer_config;

/* train.engine: the training step. */
#define MER_ENGINES(X)                                                                             \
    X(MER_ENGINE_AUTO, "auto")   /* the plain-C step on the CPU, libtorch's autograd elsewhere */  \
    X(MER_ENGINE_C, "c")         /* plain C (CPU only) */                                          \
    X(MER_ENGINE_TORCH, "torch") /* libtorch's autograd */

/* train.device: where a run trains (--device also takes cuda:N). */
#define MER_DEVICES(X)                                                                             \
    X(MER_DEVICE_AUTO, "auto") /* cuda when libtorch sees a GPU, else the CPU */                   \
    X(MER_DEVICE_CPU, "cpu")                                                                       \
    X(MER_DEVICE_CUDA, "cuda")

enum mer_engine { MER_ENGINES(MER_ENUM_ROW) };
enum mer_device { MER_DEVICES(MER_ENUM_ROW) };
enum {
    MER_N_ENGINES = 0 MER_ENGINES(MER_COUNT_ROW),
    MER_N_DEVICES = 0 MER_DEVICES(MER_COUNT_ROW),
};
static const char *const mer_engine_names[MER_N_ENGINES] = {MER_ENGINES(MER_NAME_ROW)};
static const char *const mer_device_names[MER_N_DEVICES] = {MER_DEVICES(MER_NAME_ROW)};

/* Where and how a run trains. */
struct mer_device_settings {
    enum mer_device device; /* train.device */
    enum mer_engine engine; /* train.engine */
    int deterministic;      /* train.deterministic: deterministic kernels only */
};

/* prior.*: how `mer ingest` builds a priors store (training reads min_reliability and
 * scale_by_reliability through mer_train_params). */
struct mer_prior_settings {
    const char *encoder;      /* prior.encoder: a textenc.h spec, "hash" by default */
    int64_t dim;              /* prior.dim: the hash encoder's embedding size */
    double min_reliability;   /* prior.min_reliability */
    int scale_by_reliability; /* prior.scale_by_reliability */
};

struct mer_settings {
    struct mer_dataset_params data; /* data.*, train.pretrain.pseudo_labels */
    struct mer_train_params train;  /* train.*, model.*, loss.*, eval.ensemble/submission;
                                       test_splits by mer_settings_resolve_splits */
    struct mer_device_settings device;
    struct mer_prior_settings prior;
    const char *test_splits[MER_MAX_TEST_SPLITS]; /* what train.test_splits points to */
};

/* Fills s from a resolved config; -1 with an error naming the key (a split name that is not a
 * valid file name, stage-1 pre-training without its pseudo-labels, more loss.class_weights than
 * MER_MAX_CLASSES, a model.prior.modalities item that is no modality). */
int mer_settings_from_config(const struct mer_config *cfg, struct mer_settings *s);
/* prior.* alone (what `mer ingest` reads); never fails. */
void mer_prior_settings_from_config(const struct mer_config *cfg, struct mer_prior_settings *p);

/* The splits a run predicts, once the data is known: eval.splits, or every split of ds other
 * than the training split (at most MER_MAX_TEST_SPLITS). Points s->train.test_splits at
 * s->test_splits (so s must not be copied afterwards). -1 with an error naming where
 * eval.splits was set: more than MER_MAX_TEST_SPLITS listed, a split listed twice, or one the
 * data lacks (the message lists the data's splits). */
int mer_settings_resolve_splits(struct mer_settings *s, const struct mer_config *cfg,
                                const struct mer_dataset *ds);

/* Completes a loss config with what the data decides, at train time (mer_train_run): counts,
 * the training split's samples per class ([n_classes], borrowed by l), which class_weighted and
 * logit_adjusted cross-entropy weigh by; and p's loss.class_weights (NULL in l when none are
 * given: the weights are then derived from counts). -1 with an error naming loss.class_weights
 * when it does not hold one value per class. */
int mer_settings_complete_loss(struct mer_loss_config *l, const struct mer_train_params *p,
                               const double *counts, int n_classes);

/* The device a run trains on: the --device value given (NULL: train.device), "auto" made "cpu"
 * or "cuda" as cuda_available says. Borrowed: the name table's or the given string. */
const char *mer_settings_device(const struct mer_settings *s, const char *given,
                                int cuda_available);
/* The engine on the device a run trains on (mer_settings_device's): sets s->train.c_engine.
 * -1 if train.engine=c and the device is not the CPU. */
int mer_settings_select_engine(struct mer_settings *s, const char *device);

#endif
