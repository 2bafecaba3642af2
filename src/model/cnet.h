/*
 * cnet.h (private to src/model): the fusion model's training step in plain C on the CPU
 * (llm.c style): forward, every loss term and the backward pass by hand (the layers' forward
 * and input-gradient products through linear.h, their weight gradients through OpenBLAS),
 * over the model's own parameters, which mer_cnet_new moves into one contiguous block, and its
 * own Adam over that block (src/model/adam.h).
 * The math is model.h's: test_model holds its outputs, losses and gradients to the PyTorch
 * reference (python/mer_model.py) to 1e-5 in every injection mode and loss variant.
 *
 * Why: a step of this small network is hundreds of tiny ops, and libtorch spends more time
 * dispatching and recording them than computing them. Here a step allocates nothing, and
 * nearly all its time is in its forty-odd matrix products and the optimizer's one pass.
 *
 *     struct mer_cnet *net;
 *     mer_adam *opt;
 *     if (mer_cnet_new(&net, model, &cfg, 32) < 0 ||     // its tensors now view the block
 *         mer_adam_new(&opt, mer_cnet_params(net), &op) < 0) ...;
 *     mer_cnet_step(net, &batch, &loss_cfg, &rng, &losses, logits);  // gradients written
 *     mer_clip_grad_norm(...); mer_cnet_defer_step(net, opt);  // applied lazily
 *     mer_cnet_flush(net);                           // before reading the weights otherwise
 *     mer_adam_free(opt);
 *     mer_cnet_free(net);                            // before mer_model_free
 */
#ifndef MER_MODEL_CNET_H
#define MER_MODEL_CNET_H

#include "mer/model.h"
#include "mer/rng.h"

#include <stdint.h>

struct mer_cnet;
struct mer_params;                /* src/model/adam.h */
typedef struct mer_adam mer_adam; /* src/model/adam.h */

/* One batch on the host; every pointer borrowed. Rows are samples. */
struct mer_host_batch {
    int64_t n;                              /* N <= the engine's capacity */
    const float *x[MER_MAX_MODALITIES];     /* [N, D_m], or with rows a matrix [*, D_m] */
    const float *prior[MER_MAX_MODALITIES]; /* [N, P] (with priors) */
    const float *modality_mask;             /* [N, M] 1/0, NULL = all present */
    const float *prior_w;                   /* [N, M] reliability * presence (with priors) */
    const int64_t *y;                       /* [N] labels in 0..K-1 */
    const float *valence;                   /* [N] NaN = none (valence head), or NULL */
    const int64_t *rows;                    /* NULL, or: sample i is row rows[i] of each x[m] */
};

/* modeldef.h's loss terms; a term the model does not have (the valence MSE without the
 * valence head) is 0. */
struct mer_cnet_losses {
    double total;
    double term[MER_N_LOSS_TERMS];
};

/* An engine over model m (CPU, float32) for batches of up to cap samples; m's parameters and
 * gradients move into contiguous blocks that both the engine and torch use. */
int mer_cnet_new(struct mer_cnet **out, mer_model *m, const struct mer_model_config *c,
                 int64_t cap);
/* Gives m's parameters storage of their own back; before mer_model_free. */
void mer_cnet_free(struct mer_cnet *e);
/* The block m's parameters live in, for the engine's optimizer (mer_adam_new); borrowed,
 * valid until mer_cnet_free. */
const struct mer_params *mer_cnet_params(const struct mer_cnet *e);

/* Forward, losses and backward on b: every gradient is overwritten (not accumulated). With
 * rng, dropout is on (masks drawn from it); NULL is evaluation mode. logits [N, K] are
 * written when not NULL. -1 with the error set on a label out of range or N > cap. */
int mer_cnet_step(struct mer_cnet *e, const struct mer_host_batch *b,
                  const struct mer_loss_config *lc, struct mer_rng *rng,
                  struct mer_cnet_losses *out, float *logits);

/* Takes opt's step (after any gradient clipping) lazily: counts it now, then updates each
 * parameter just before the next forward reads it, while its weights are in cache, instead
 * of in one pass that leaves them cold; identical results. Every update is done before the
 * next backward overwrites the gradients, and by mer_cnet_flush. */
void mer_cnet_defer_step(struct mer_cnet *e, mer_adam *opt);
/* Applies the updates still deferred (before reading the weights any other way: predictions
 * through torch, snapshots, checkpoints). */
void mer_cnet_flush(struct mer_cnet *e);

/* The forward pass alone, in evaluation mode (no dropout, no gradients): predictions. */
int mer_cnet_forward(struct mer_cnet *e, const struct mer_host_batch *b);

/* The forward outputs of the last step or forward (borrowed, [N, K], [N, Z], [N] or NULL). */
const float *mer_cnet_logits(const struct mer_cnet *e);
const float *mer_cnet_z(const struct mer_cnet *e);
const float *mer_cnet_valence(const struct mer_cnet *e);

#endif
