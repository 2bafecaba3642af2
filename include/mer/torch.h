/*
 * torch.h: a C API over libtorch (the only C++ in mer is its implementation,
 * src/torch/shim.cpp). Pure C: it never includes a torch header.
 *
 * Conventions (after tch-rs's torch_api):
 *   - opaque, distinct handle types: mer_tensor, mer_optim, mer_jit, mer_scope;
 *   - every call that can fail returns 0 or -1; on -1 the reason is in
 *     mer_errmsg() as one line ("torch: <libtorch's message without its backtrace>"):
 *     C++ exceptions never cross into C, and *out is left untouched;
 *   - results come back through out-parameters as NEW handles: free them with
 *     mer_tensor_free, or let the enclosing scope free them;
 *   - a scope (mer_scope_begin .. mer_scope_end) owns every handle created
 *     while it is the innermost open scope of the thread, so a training step frees
 *     all its intermediates in one call. Handles made outside any scope
 *     (parameters, data loaded once) live until mer_tensor_free;
 *   - every _free and mer_scope_end accepts NULL. Handles must not be NULL elsewhere
 *     (except where a parameter says "may be NULL").
 *
 *     mer_scope *s = mer_scope_begin();
 *     mer_tensor *h, *y;
 *     if (mer_t_linear(&h, x, w1, b1) < 0 || mer_t_relu(&y, h) < 0) ...;
 *     mer_scope_end(s);            // h and y are gone
 *
 * A training step (parameters p[n] and the optimizer made before the loop):
 *
 *     mer_scope *s = mer_scope_begin();
 *     for (step = 0; step < steps; step++) {
 *         mer_optim_zero_grad(opt);
 *         forward(&loss, p, batch);    // every intermediate lands in s
 *         mer_tensor_backward(loss);
 *         mer_clip_grad_norm(p, n, 1.0, NULL);
 *         mer_optim_step(opt);
 *         mer_scope_reset(s);          // frees the step's handles, s stays open
 *     }
 *     mer_scope_end(s);
 *
 * Tensors are float32 unless made otherwise; shapes are int64_t arrays, row-major.
 * Dimensions are torch's: negative ones count from the end.
 */
#ifndef MER_TORCH_H
#define MER_TORCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct mer_tensor mer_tensor;
typedef struct mer_optim mer_optim;
typedef struct mer_jit mer_jit;
typedef struct mer_scope mer_scope;

/* Element types (torch.float32, float64, int64, bool; 4, 8, 8 and 1 bytes). */
enum mer_tdtype { MER_T_F32, MER_T_F64, MER_T_I64, MER_T_BOOL };

/* Reduce over every dimension (for mer_t_sum / mer_t_mean). */
#define MER_ALL_DIMS (-1000)

/* ---- library ---- */

/* Makes libtorch available. The mer binary keeps the shim in a plugin (libmer_torch.so beside
 * it, or $MER_TORCH_LIBRARY) and loads it only for commands that need it, because loading
 * libtorch costs half a second; programs linked with the shim directly get 0 at once.
 * -1 with an error naming the plugin if it cannot be loaded. */
int mer_torch_load(void);

/* libtorch's version, "1.13.0"; static storage. */
const char *mer_torch_version(void);
/* 1 if this libtorch was built with CUDA and sees a GPU, else 0. */
int mer_torch_cuda_available(void);
/* torch.set_num_threads(n) for intra-op work; n <= 0 is ignored, and so is a refusal once
 * libtorch's pool is running (the old count stays). */
void mer_torch_set_threads(int n);
/* torch.manual_seed: seeds every generator (CPU and CUDA) used by uniform and dropout. */
void mer_torch_manual_seed(uint64_t seed);
/* torch.use_deterministic_algorithms(on): ops without a deterministic kernel then fail
 * with an error naming them. */
int mer_torch_set_deterministic(int on);
/* Device for tensors made from now on (from_host, zeros, uniform, jit_load): "cpu", "cuda"
 * or "cuda:N". -1 with a message naming the spec if it does not parse, is neither cpu nor
 * cuda, or asks for CUDA that this libtorch lacks (built without it, no GPU, N too big);
 * the device then stays as it was. Process-wide; cpu at start. */
int mer_torch_set_device(const char *spec);
/* Turns autograd recording on or off for this thread (off = torch.no_grad()); returns the
 * previous state, so a no-grad region reads
 *     int was = mer_torch_grad_enabled(0); ...; mer_torch_grad_enabled(was); */
int mer_torch_grad_enabled(int on);

/* ---- scopes ---- */

/* Opens a scope on this thread's stack (nested scopes stack); NULL on out of memory. */
mer_scope *mer_scope_begin(void);
/* Frees every handle the scope owns and keeps it open (once per training step). NULL is
 * fine. Handles freed early with mer_tensor_free are skipped. */
void mer_scope_reset(mer_scope *s);
/* Frees every handle the scope owns and closes it. It must be the innermost open scope of
 * the calling thread (anything else is a bug: abort). NULL is fine. */
void mer_scope_end(mer_scope *s);
/* Tensor handles alive in this process, scoped or not (for leak tests). */
size_t mer_tensor_live_count(void);

/* ---- tensors ---- */

/* Copies numel * element-size bytes of host data (native byte order, row-major) into a new
 * tensor of shape[ndim] (ndim 0..8; 0 is a scalar) on the current device. -1 on a bad
 * rank or dtype, or an allocation failure. */
int mer_tensor_from_host(mer_tensor **out, const void *data, enum mer_tdtype dt, int ndim,
                         const int64_t *shape);
/* A new tensor of zeros on the current device. */
int mer_tensor_zeros(mer_tensor **out, enum mer_tdtype dt, int ndim, const int64_t *shape);
/* A new float32 tensor, uniform in [lo, hi) from libtorch's generator (mer_torch_manual_seed). */
int mer_tensor_uniform(mer_tensor **out, int ndim, const int64_t *shape, double lo, double hi);
/* Copies the tensor's values (from any device, made contiguous) into buf. bytes must equal
 * numel * element size of the tensor's own dtype (no conversion): otherwise -1 with a
 * message naming the dtype, shape and both sizes. Check mer_tensor_dtype first where the
 * tensor's origin (a TorchScript module) leaves its dtype open. */
int mer_tensor_to_host(const mer_tensor *t, void *buf, size_t bytes);
/* The value of a one-element tensor of any dtype, as a double. -1 if numel != 1. */
int mer_tensor_item(const mer_tensor *t, double *out);
/* The tensor's enum mer_tdtype, or -1 for a dtype outside it (a module's int32 output). */
int mer_tensor_dtype(const mer_tensor *t);
int mer_tensor_ndim(const mer_tensor *t);
/* Size of dimension dim (0 <= dim < ndim), -1 outside. */
int64_t mer_tensor_dim_size(const mer_tensor *t, int dim);
int64_t mer_tensor_numel(const mer_tensor *t);
/* Frees one handle (the tensor's memory goes when its last handle or graph user goes). A
 * handle owned by a scope may be freed early: the scope then skips it. NULL is fine. */
void mer_tensor_free(mer_tensor *t);

/* ---- autograd ---- */

/* Marks a leaf tensor (a parameter) as needing gradients. -1 on a non-leaf or integer tensor. */
int mer_tensor_set_requires_grad(mer_tensor *t, int on);
/* Backpropagates from a one-element tensor, accumulating into the leaves' gradients and
 * freeing the graph. -1 if loss has more than one element, needs no grad, or a tensor the
 * graph saved was changed in place since (an optimizer step between forward and backward). */
int mer_tensor_backward(mer_tensor *loss);
/* A new handle on t's accumulated gradient, sharing its memory (it sees later zeroing and
 * accumulation; free the handle, never the gradient). -1 if t has no gradient yet. */
int mer_tensor_grad(mer_tensor **out, const mer_tensor *t);
/* Sets t's gradient to zeros where it has one (torch 1.13's zero_grad(set_to_none=False)). */
int mer_tensor_zero_grad(mer_tensor *t);
/* Makes float32 CPU leaf t a view of host memory: its values are copied into values (its numel
 * floats), where torch reads and writes them from then on, and its gradient becomes a view of
 * grad (as it is: zero it first for a zero gradient). Both stay the caller's and must outlive
 * t's use until mer_tensor_unbind_host(t). For plain-C kernels over all of a model's parameters
 * in one block (src/model/adam.c); torch ops keep working on t. -1 for a tensor that is not
 * float32 on the CPU. */
int mer_tensor_bind_host(mer_tensor *t, float *values, float *grad);
/* Gives t, and its gradient if it has one, storage of their own again, values kept. */
int mer_tensor_unbind_host(mer_tensor *t);
/* dst <- src in place, outside autograd (loading weights); src broadcasts to dst's shape and
 * is converted to its dtype and device. */
int mer_tensor_copy_(mer_tensor *dst, const mer_tensor *src);

/* ---- ops: each returns a new handle in *out, recorded by autograd where grad is on ----
 * Binary ops broadcast as torch does; dtype mismatches promote as torch does. Shape errors
 * are -1 with libtorch's message, which names the shapes ("... (2x3 and 4x5)"). */

int mer_t_add(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
int mer_t_sub(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
int mer_t_mul(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
int mer_t_div(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
/* torch.matmul: 1-D/2-D/batched. */
int mer_t_matmul(mer_tensor **out, const mer_tensor *a, const mer_tensor *b);
int mer_t_add_scalar(mer_tensor **out, const mer_tensor *a, double s);
int mer_t_mul_scalar(mer_tensor **out, const mer_tensor *a, double s);
int mer_t_relu(mer_tensor **out, const mer_tensor *a);
/* The exact (erf) GELU, torch's default. */
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
/* log(sum(exp(x))) along dim, computed stably. */
int mer_t_logsumexp(mer_tensor **out, const mer_tensor *x, int dim, int keepdim);
/* Over the last dimension; w and b ([last dim]) may be NULL. */
int mer_t_layer_norm(mer_tensor **out, const mer_tensor *x, const mer_tensor *w,
                     const mer_tensor *b, double eps);
/* With train != 0, zeroes each element with probability p and scales the rest by 1/(1-p)
 * (libtorch's generator); with train == 0, a new handle on x itself (no copy). */
int mer_t_dropout(mer_tensor **out, const mer_tensor *x, double p, int train);
/* dim = MER_ALL_DIMS reduces everything to a scalar (keepdim ignored). */
int mer_t_sum(mer_tensor **out, const mer_tensor *x, int dim, int keepdim);
int mer_t_mean(mer_tensor **out, const mer_tensor *x, int dim, int keepdim);
/* Maximum values along dim (gradient to the arg max). */
int mer_t_max(mer_tensor **out, const mer_tensor *x, int dim, int keepdim);
/* Joins n tensors (borrowed) along an existing dim / a new dim. */
int mer_t_cat(mer_tensor **out, const mer_tensor *const *xs, size_t n, int dim);
int mer_t_stack(mer_tensor **out, const mer_tensor *const *xs, size_t n, int dim);
/* index: 1-D int64. */
int mer_t_index_select(mer_tensor **out, const mer_tensor *x, int dim, const mer_tensor *index);
/* out[i][j] = x[i][index[i][j]] for dim 1 (int64 index of x's rank), as torch.gather; with
 * log_softmax, mean and neg it makes cross-entropy (the picked log-probabilities). */
int mer_t_gather(mer_tensor **out, const mer_tensor *x, int dim, const mer_tensor *index);
/* Where mask (bool, broadcastable) is true, value; elsewhere x. */
int mer_t_masked_fill(mer_tensor **out, const mer_tensor *x, const mer_tensor *mask, double value);
/* x / max(||x||_2 along dim, eps), as torch.nn.functional.normalize. */
int mer_t_normalize(mer_tensor **out, const mer_tensor *x, int dim, double eps);
/* A view (shares memory with x, which it keeps alive). */
int mer_t_transpose(mer_tensor **out, const mer_tensor *x, int d0, int d1);
/* A view where x's layout allows, else a copy; one size may be -1. */
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

/* torch.optim's defaults for kind (weight_decay 0, or 1e-2 for AdamW). */
struct mer_optim_params mer_optim_default_params(enum mer_optim_kind kind);

/* A new optimizer over params (borrowed: they must outlive it; free with mer_optim_free).
 * SGD (no momentum), Adam and AdamW follow torch.optim 1.13's arithmetic, bias correction and
 * eps placement included: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * Adam/AdamW keep their moments in one contiguous float32 block and update each parameter
 * through tensor ops, on its device and in its dtype. (The plain-C engine has its own Adam
 * over its parameter block, src/model/adam.h; both keep the same moments for checkpoints.) */
int mer_optim_new(mer_optim **out, mer_tensor *const *params, size_t n,
                  const struct mer_optim_params *p);
void mer_optim_free(mer_optim *o);
/* One update of every parameter that has a gradient (others are left alone, as in torch). */
int mer_optim_step(mer_optim *o);
/* Zeroes every parameter's gradient (mer_tensor_zero_grad over the list). */
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
/* As torch.nn.utils.clip_grad_norm_: the 2-norm of all gradients together; each is scaled by
 * min(1, max_norm / (norm + 1e-6)) (float32 arithmetic, as torch). Parameters without a
 * gradient are skipped. Float32 CPU gradients take fused loops (the norm agrees with torch's
 * to float rounding), others tensor ops. The norm before clipping goes to *norm (may be NULL). */
int mer_clip_grad_norm(mer_tensor *const *params, size_t n, double max_norm, double *norm);

/* ---- TorchScript ---- */

/* Loads a module saved by torch.jit.save onto the current device, in eval mode; free with
 * mer_jit_free. -1 with a message naming the file if it is missing or not TorchScript. */
int mer_jit_load(mer_jit **out, const char *path);
void mer_jit_free(mer_jit *m);
/* forward(*inputs) (borrowed) -> one new tensor handle. -1 if the module fails (the message
 * is the cause from its traceback's last line) or returns anything but a tensor. */
int mer_jit_forward(mer_jit *m, mer_tensor **out, const mer_tensor *const *inputs, size_t n);
/* forward(*inputs) (borrowed) for a module that returns a list or a tuple of tensors: each as
 * a new handle in outs[0 .. *n_out), in order. -1 if the module fails (as mer_jit_forward),
 * returns anything else (the message names it: "a Tensor [1, 49, 32]", "a Dict[str, Tensor]"),
 * an element that is not a tensor, or more than cap elements (the message says how many). */
int mer_jit_forward_list(mer_jit *m, mer_tensor **outs, size_t cap, size_t *n_out,
                         const mer_tensor *const *inputs, size_t n);
/* The extra file `name` that torch.jit.save(..., _extra_files={name: ...}) stored in the
 * TorchScript file at path, read without loading the module: a new NUL-terminated buffer in
 * *out (free it with free()) holding *len bytes; 0 with *out = NULL if the file has no extra
 * file of that name. -1 with a message naming path if it is not a TorchScript archive. */
int mer_jit_extra_file(const char *path, const char *name, char **out, size_t *len);

#endif
