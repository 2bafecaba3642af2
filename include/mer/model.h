/*
 * model.h: the prior-injected fusion network and its losses (configs/README.md), in C over
 * the torch shim. The math is stated in python/mer_model.py, which the
 * oracle test compares against (forward, every loss term, every gradient).
 *
 * Dimension legend: N = batch, M = modalities in use, D_m = feature dim of
 * modality m, H = hidden, P = prior dim, K = classes, Z = projection dim.
 *
 * Parameters are named as in the reference's PyTorch state_dict
 * ("encoders.0.linears.1.weight", "fuse1.bias", "prototypes", ...), so
 * weights move between mer and PyTorch by name.
 *
 *     struct mer_model_config c = mer_model_default_config();
 *     c.n_mod = 3; c.dims[0] = 1024; ...
 *     mer_model *m;
 *     if (mer_model_new(&m, &c) < 0) ...;
 *     mer_scope *s = mer_scope_begin();
 *     struct mer_forward out;
 *     mer_model_forward(m, &batch, 1, &out);       // handles owned by the scope
 *     mer_scope_end(s);
 *     mer_model_free(m);
 */
#ifndef MER_MODEL_H
#define MER_MODEL_H

#include "mer/modeldef.h"
#include "mer/torch.h"

#include <stddef.h>
#include <stdint.h>

typedef struct mer_model mer_model;

/* One batch; every tensor borrowed. */
struct mer_batch {
    int64_t n;                             /* N */
    mer_tensor *x[MER_MAX_MODALITIES];     /* [N, D_m] float32 */
    mer_tensor *prior[MER_MAX_MODALITIES]; /* [N, P] (with priors) */
    const float *modality_mask;            /* host [N, M] 1/0, NULL = all present */
    const float *prior_w;                  /* host [N, M] reliability * presence (with priors) */
    const int64_t *y;                      /* host [N] labels (for the losses) */
    const float *valence;                  /* host [N] valence labels, NaN = none (head only) */
};

struct mer_forward {
    mer_tensor *logits;  /* [N, K] */
    mer_tensor *z;       /* [N, Z], L2-normalised */
    mer_tensor *valence; /* [N] with the valence head, else NULL */
};

/* Scalars; term[t] is NULL for a term the model does not have (mer_loss_term_active). */
struct mer_losses {
    mer_tensor *total;
    mer_tensor *term[MER_N_LOSS_TERMS]; /* modeldef.h's MER_LOSS_TERMS */
};

struct mer_model_config mer_model_default_config(void);
struct mer_loss_config mer_loss_default_config(void);

/* A model with PyTorch's default initialisation (from mer_torch_manual_seed's generator). */
int mer_model_new(mer_model **out, const struct mer_model_config *c);
void mer_model_free(mer_model *m);

/* The parameters, in the order of modeldef.h's table: names, handles (borrowed), and what
 * each is (its row, modality, layer, shape; borrowed). */
size_t mer_model_n_params(const mer_model *m);
const char *mer_model_param_name(const mer_model *m, size_t i);
mer_tensor *mer_model_param(const mer_model *m, size_t i);
mer_tensor *const *mer_model_params(const mer_model *m);
const struct mer_param_spec *mer_model_param_spec(const mer_model *m, size_t i);
int64_t mer_model_n_weights(const mer_model *m);

/* Forward pass; new handles in *out belong to the current scope. */
int mer_model_forward(mer_model *m, const struct mer_batch *b, int train, struct mer_forward *out);
/* Every term the model has (modeldef.h's loss-term table) and their total, the sum of
 * lambda * term in the table's order; a term with lambda 0 is still computed, but adds
 * nothing. */
int mer_model_losses(mer_model *m, const struct mer_forward *f, const struct mer_batch *b,
                     const struct mer_loss_config *lc, struct mer_losses *out);

/* Copies parameters from a safetensors file by name (every parameter must be there, F32, same
 * shape). */
int mer_model_load_weights(mer_model *m, const char *path);
/* Writes every parameter (F32) to a safetensors file, atomically, with metadata. */
int mer_model_save_weights(const mer_model *m, const char *path, const char *const *meta_kv,
                           size_t n_meta);

#endif
