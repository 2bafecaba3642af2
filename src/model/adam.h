/*
 * adam.h (private to src/model): the plain-C engine's parameters in one block, and its
 * optimizer over that block.
 *
 * mer_params_flatten moves a model's parameters into two contiguous host blocks, their values
 * and their gradients, parameter i at offset[i] in both, which the engine's kernels (cnet.c)
 * and mer_adam read and write in place. The parameters stay torch tensors viewing the blocks
 * (mer_tensor_bind_host), so torch ops, snapshots and checkpoints keep working on them, until
 * mer_params_release gives them storage of their own again and frees the blocks.
 *
 * mer_adam is torch.optim.Adam/AdamW (torch 1.13, single-tensor path) over such a block: one
 * fused loop per parameter over raw memory (llm.c's gpt2_update), its moments in one float32
 * block laid out as a checkpoint stores them. The libtorch engine keeps torch's optimizer
 * (mer_optim in torch.h); both write the same checkpoint ("optim", "optim_steps").
 *
 *     struct mer_params pb = {0};
 *     mer_adam *opt;
 *     if (mer_params_flatten(&pb, mer_model_params(m), mer_model_n_params(m)) < 0 ||
 *         mer_adam_new(&opt, &pb, &op) < 0) ...;
 *     ...                              // a backward pass writes pb.grads
 *     mer_adam_begin_step(opt);        // counts the step
 *     for (size_t i = 0; i < pb.n; i++)
 *         mer_adam_step_param(opt, i); // parameter i updated, its gradient zeroed
 *     mer_adam_free(opt);
 *     mer_params_release(&pb);         // before the model is freed
 */
#ifndef MER_MODEL_ADAM_H
#define MER_MODEL_ADAM_H

#include "mer/torch.h"

#include <stddef.h>
#include <stdint.h>

/* A model's parameters in one block. Caller-owned; zero it before mer_params_flatten. */
struct mer_params {
    float *values, *grads;      /* [offset[n]] each, 64-byte aligned (as torch's allocator) */
    int64_t *offset;            /* [n + 1]: parameter i is [offset[i], offset[i + 1]) */
    mer_tensor *const *tensors; /* the parameters (borrowed: they must outlive the block) */
    size_t n;
};

/* Moves the n float32 CPU leaf tensors t into one block, values kept, gradients zero. -1 with
 * the error set (out of memory, a tensor that is not float32 on the CPU), nothing moved. */
int mer_params_flatten(struct mer_params *b, mer_tensor *const *t, size_t n);
/* Gives the tensors storage of their own (values and gradients copied) and frees the block.
 * Accepts a zeroed struct. */
void mer_params_release(struct mer_params *b);

typedef struct mer_adam mer_adam;

/* A new Adam (p->kind MER_OPTIM_ADAM: weight decay added to the gradient) or AdamW (decoupled
 * decay) over b's parameters (borrowed: b must outlive it), moments zero, no step taken; free
 * with mer_adam_free. -1 with the error set for another kind or out of memory. */
int mer_adam_new(mer_adam **out, const struct mer_params *b, const struct mer_optim_params *p);
void mer_adam_free(mer_adam *a);
/* One step, in two phases so that a caller can update each parameter just before it next
 * reads it, while its weights are in cache: begin counts the step; step_param(a, i) then
 * updates parameter i once for it and zeroes its gradient in the same pass, so that the next
 * backward can add to it. Every parameter must be updated before the next begin. */
void mer_adam_begin_step(mer_adam *a);
void mer_adam_step_param(mer_adam *a, size_t i);
/* Steps counted so far. */
int64_t mer_adam_steps(const mer_adam *a);
/* The moments block, for checkpoints: mer_adam_state_size floats, per parameter in order its
 * first moments then its second (mer_optim_state's layout). Borrowed and writable: a
 * checkpoint restores it by copying in, then mer_adam_set_steps. */
size_t mer_adam_state_size(const mer_adam *a);
float *mer_adam_state(mer_adam *a);
void mer_adam_set_steps(mer_adam *a, int64_t steps);

#endif
