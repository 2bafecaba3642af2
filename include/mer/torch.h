/*
 * torch.h: a C API over libtorch (the only C++ in mer is its implementation,
 * src/torch/shim.cpp). Pure C: it never includes a torch header.
 *
 * Conventions (after tch-rs's torch_api):
 *   - opaque, distinct handle types: mer_tensor, mer_optim, mer_jit, mer_scope;
 *   - every call that can fail returns 0 or -1; on -1 the reason is in
 *     mer_errmsg() as one line ("torch: ..."): C++ exceptions never cross;
 *   - results come back through out-parameters as NEW handles: free them with
 *     mer_tensor_free, or let the enclosing scope free them;
 *   - a scope (mer_scope_begin .. mer_scope_end) owns every handle created
 *     while it is the innermost open scope, so a training step frees all its
 *     intermediates in one call. Parameters are made outside any scope.
 *
 *     mer_scope *s = mer_scope_begin();
 *     mer_tensor *h, *y;
 *     if (mer_t_linear(&h, x, w1, b1) < 0 || mer_t_relu(&y, h) < 0) ...;
 *     mer_scope_end(s);            // h and y are gone
 *
 * Tensors are float32 unless made otherwise; shapes are int64_t arrays.
 */
#ifndef MER_TORCH_H
#define MER_TORCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct mer_tensor mer_tensor;
typedef struct mer_optim mer_optim;
typedef struct mer_jit mer_jit;
typedef struct mer_scope mer_scope;

enum mer_tdtype { MER_T_F32, MER_T_F64, MER_T_I64, MER_T_BOOL };

/* Reduce over every dimension (for mer_t_sum / mer_t_mean). */
#define MER_ALL_DIMS (-1000)

/* ---- library ---- */

/* Makes libtorch available. The mer binary keeps the shim in a plugin (libmer_torch.so beside
 * it, or $MER_TORCH_LIBRARY) and loads it only for commands that need it, because loading
 * libtorch costs half a second; programs linked with the shim directly get 0 at once.
 * -1 with an error naming the plugin if it cannot be loaded. */
int mer_torch_load(void);

const char *mer_torch_version(void); /* "1.13.0" */
int mer_torch_cuda_available(void);
void mer_torch_set_threads(int n);
void mer_torch_manual_seed(uint64_t seed);
/* Deterministic algorithms on or off (libtorch errors on ops that have none). */
int mer_torch_set_deterministic(int on);
/* Device for new tensors: "cpu", "cuda" or "cuda:N"; -1 if not available here. */
int mer_torch_set_device(const char *spec);
/* Turns autograd recording on or off for this thread; returns the previous state. */
int mer_torch_grad_enabled(int on);

/* ---- scopes ---- */

/* Opens a scope (nested scopes stack); NULL on out of memory. */
mer_scope *mer_scope_begin(void);
/* Frees every handle the scope owns, keeps it open. */
void mer_scope_reset(mer_scope *s);
/* Frees every handle the scope owns and closes it (must be the innermost). NULL is fine. */
void mer_scope_end(mer_scope *s);
/* Handles alive in this process (for leak tests). */
size_t mer_tensor_live_count(void);

/* ---- tensors ---- */

/* Copies host data (little-endian, row-major) into a new tensor on the current device. */
int mer_tensor_from_host(mer_tensor **out, const void *data, enum mer_tdtype dt, int ndim,
                         const int64_t *shape);
int mer_tensor_zeros(mer_tensor **out, enum mer_tdtype dt, int ndim, const int64_t *shape);
/* Uniform in [lo, hi) from libtorch's generator (mer_torch_manual_seed). */
int mer_tensor_uniform(mer_tensor **out, int ndim, const int64_t *shape, double lo, double hi);
/* Copies to host; bytes must equal numel * element size of the tensor's dtype. */
int mer_tensor_to_host(const mer_tensor *t, void *buf, size_t bytes);
/* The value of a one-element tensor. */
int mer_tensor_item(const mer_tensor *t, double *out);
int mer_tensor_ndim(const mer_tensor *t);
int64_t mer_tensor_dim_size(const mer_tensor *t, int dim);
int64_t mer_tensor_numel(const mer_tensor *t);
/* A handle owned by a scope may be freed early; NULL is fine. */
void mer_tensor_free(mer_tensor *t);

/* ---- autograd ---- */

int mer_tensor_set_requires_grad(mer_tensor *t, int on);
int mer_tensor_backward(mer_tensor *loss);
/* New handle on t's gradient; -1 if t has none yet. */
int mer_tensor_grad(mer_tensor **out, const mer_tensor *t);
int mer_tensor_zero_grad(mer_tensor *t);
/* dst <- src in place, outside autograd (loading weights). */
int mer_tensor_copy_(mer_tensor *dst, const mer_tensor *src);

/* ---- ops: each returns a new handle in *out ---- */

int mer_t_add(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
int mer_t_sub(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
int mer_t_mul(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
int mer_t_div(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
int mer_t_matmul(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
int mer_t_add_scalar(mer_tensor **out, const mer_tensor *a, double s);
int mer_t_mul_scalar(mer_tensor **out, const mer_tensor *a, double s);
int mer_t_relu(mer_tensor **out, const mer_tensor *a);
int mer_t_gelu(mer_tensor **out, const mer_tensor *a);
int mer_t_sigmoid(mer_tensor **out, const mer_tensor *a);
int mer_t_tanh(mer_tensor **out, const mer_tensor *a);
int mer_t_exp(mer_tensor **out, const mer_tensor *a);
int mer_t_log(mer_tensor **out, const mer_tensor *a);
int mer_t_neg(mer_tensor **out, const mer_tensor *a);
int mer_t_sqrt(mer_tensor **out, const mer_tensor *a);
/* x [.., in] @ w[out, in]^T + b[out] (b may be NULL), as torch.nn.functional.linear. */
int mer_t_linear(mer_tensor **out, const mer_tensor *x, const mer_tensor *w, const mer_tensor *b);
int mer_t_softmax(mer_tensor **out, const mer_tensor *x, int dim);
int mer_t_log_softmax(mer_tensor **out, const mer_tensor *x, int dim);
int mer_t_logsumexp(mer_tensor **out, const mer_tensor *x, int dim, int keepdim);
/* Over the last dimension; w and b may be NULL. */
int mer_t_layer_norm(mer_tensor **out, const mer_tensor *x, const mer_tensor *w,
                     const mer_tensor *b, double eps);
int mer_t_dropout(mer_tensor **out, const mer_tensor *x, double p, int train);
/* dim = MER_ALL_DIMS reduces everything (keepdim ignored). */
int mer_t_sum(mer_tensor **out, const mer_tensor *x, int dim, int keepdim);
int mer_t_mean(mer_tensor **out, const mer_tensor *x, int dim, int keepdim);
/* Maximum values along dim. */
int mer_t_max(mer_tensor **out, const mer_tensor *x, int dim, int keepdim);
int mer_t_cat(mer_tensor **out, const mer_tensor *const *xs, size_t n, int dim);
int mer_t_stack(mer_tensor **out, const mer_tensor *const *xs, size_t n, int dim);
int mer_t_index_select(mer_tensor **out, const mer_tensor *x, int dim, const mer_tensor *index);
int mer_t_gather(mer_tensor **out, const mer_tensor *x, int dim, const mer_tensor *index);
/* Where mask (bool, broadcastable) is true, value; elsewhere x. */
int mer_t_masked_fill(mer_tensor **out, const mer_tensor *x, const mer_tensor *mask, double value);
/* x / max(||x||_2 along dim, eps), as torch.nn.functional.normalize. */
int mer_t_normalize(mer_tensor **out, const mer_tensor *x, int dim, double eps);
int mer_t_transpose(mer_tensor **out, const mer_tensor *x, int d0, int d1);
int mer_t_reshape(mer_tensor **out, const mer_tensor *x, int ndim, const int64_t *shape);

/* ---- optimizers ---- */

enum mer_optim_kind { MER_OPTIM_SGD, MER_OPTIM_ADAM, MER_OPTIM_ADAMW };

struct mer_optim_params {
    enum mer_optim_kind kind;
    double lr;           /* 1e-3 */
    double beta1, beta2; /* 0.9, 0.999 */
    double eps;          /* 1e-8 */
    double weight_decay; /* L2 for sgd/adam (added to the gradient), decoupled for adamw */
};

struct mer_optim_params mer_optim_default_params(enum mer_optim_kind kind);

/* An optimizer over params (borrowed: they must outlive it). Adam/AdamW keep their moments
 * in one contiguous block and update float32 CPU parameters in one fused loop each,
 * with torch.optim's exact arithmetic. */
int mer_optim_new(mer_optim **out, mer_tensor *const *params, size_t n,
                  const struct mer_optim_params *p);
void mer_optim_free(mer_optim *o);
int mer_optim_step(mer_optim *o);
int mer_optim_zero_grad(mer_optim *o);
void mer_optim_set_lr(mer_optim *o, double lr);
/* Steps taken so far. */
int64_t mer_optim_steps(const mer_optim *o);
/* The moments block, for checkpoints: mer_optim_state_size floats (per parameter, in order,
 * its first moments then its second; empty for SGD). Borrowed and writable: a checkpoint
 * restores it by copying in, then mer_optim_set_steps. */
size_t mer_optim_state_size(const mer_optim *o);
float *mer_optim_state(mer_optim *o);
void mer_optim_set_steps(mer_optim *o, int64_t steps);
/* As torch.nn.utils.clip_grad_norm_: scales grads by min(1, max_norm / (norm + 1e-6)).
 * The norm before clipping goes to *norm (may be NULL). */
int mer_clip_grad_norm(mer_tensor *const *params, size_t n, double max_norm, double *norm);

/* ---- TorchScript ---- */

/* Loads a module saved by torch.jit.save (on the current device, in eval mode). */
int mer_jit_load(mer_jit **out, const char *path);
void mer_jit_free(mer_jit *m);
/* forward(*inputs) -> one tensor. */
int mer_jit_forward(mer_jit *m, mer_tensor **out, const mer_tensor *const *inputs, size_t n);

#endif
