/*
 * checkpoint.h: a fold's state at an epoch boundary, in fold-K/checkpoint.safetensors, so
 * that `mer train --resume` goes on exactly where a killed run stopped: the weights, the best
 * epoch's weights (under "best/"), the optimizer's moments ("optim") and the counters below
 * as metadata. Written atomically (mer_st_writer_write): a kill leaves the old file or the
 * new one. Tensors are named after the model's parameters, so a checkpoint of another model
 * is refused by name and size.
 *
 *     struct mer_snapshot best = {0};
 *     mer_snapshot_take(&best, model);                  // host copies of every parameter
 *     struct mer_checkpoint_meta meta = {.epoch = 3, ...};
 *     struct mer_checkpoint_optim o = {mer_optim_state(opt), mer_optim_state_size(opt),
 *                                      mer_optim_steps(opt)};
 *     mer_checkpoint_save(dir, model, &best, &o, &meta);
 *     ...
 *     int found = mer_checkpoint_load(dir, model, &best, &o, &meta);  // 1, 0 if none, -1
 *     if (found > 0) mer_optim_set_steps(opt, o.steps);
 *     mer_snapshot_release(&best);
 */
#ifndef MER_CHECKPOINT_H
#define MER_CHECKPOINT_H

#include "mer/model.h"
#include "mer/torch.h"

#include <stddef.h>
#include <stdint.h>

/* Host copies of every parameter of a model, in its order (float32). Caller-owned; zero it
 * before the first take, release with mer_snapshot_release. */
struct mer_snapshot {
    float **w;
    size_t n;
};

/* Copies m's parameters into s (allocated on the first take). */
int mer_snapshot_take(struct mer_snapshot *s, mer_model *m);
/* Copies s back into m's parameters (on their device). */
int mer_snapshot_restore(const struct mer_snapshot *s, mer_model *m);
void mer_snapshot_release(struct mer_snapshot *s);

/* The counters a fold goes on from. */
struct mer_checkpoint_meta {
    int epoch;            /* epochs done */
    int bad;              /* epochs since the best one (early stopping's count) */
    int best_epoch;       /* the best epoch so far */
    double best_waf;      /* its validation score */
    int64_t steps;        /* optimisation steps done */
    double train_seconds; /* time in training passes so far */
};

/* An optimizer's state, borrowed from whichever engine's optimizer holds it (torch.h's
 * mer_optim_state, the plain-C engine's mer_adam_state, in one layout): size floats of
 * moments, and the steps taken. */
struct mer_checkpoint_optim {
    float *state; /* written by a load */
    size_t size;
    int64_t steps; /* set by a load; the caller gives it back to the optimizer */
};

/* Writes dir/checkpoint.safetensors: m's weights, best's, opt's state and step count, meta. */
int mer_checkpoint_save(const char *dir, mer_model *m, const struct mer_snapshot *best,
                        const struct mer_checkpoint_optim *opt,
                        const struct mer_checkpoint_meta *meta);
/* Restores m, best, opt and meta from dir/checkpoint.safetensors: 1 if restored, 0 if there
 * is none, -1 with an error naming the file (a tensor or the optimizer state that does not fit
 * this model: "config changed?"). */
int mer_checkpoint_load(const char *dir, mer_model *m, struct mer_snapshot *best,
                        struct mer_checkpoint_optim *opt, struct mer_checkpoint_meta *meta);

#endif
