/*
 * linear.h (private to src/model): nn.Linear's forward, y = x W^T + b, and its input
 * gradient, dx = dy W, for the plain-C engine's batches (cnet.h): a few dozen rows against
 * weights of hundreds of rows.
 * OpenBLAS packs the whole weight into its own layout on every such call, and that copy, of a
 * weight the optimizer has just rewritten, costs as much as a third of the multiply (measured:
 * 75 GFLOPS for a 256 x 1024 weight against 32 rows, where this forward does 105). Here the
 * weight is read once, in place. The forward transposes the rows of x into a panel (a few KB,
 * cheap) and runs each group of three weight rows against the whole panel in registers, the
 * bias added and y written row-major in the same pass; the input gradient runs four rows of
 * dy against sixteen columns of W at a time. (The weight gradient, dW = dy^T x, stays with
 * OpenBLAS: no kernel tried here beat it.)
 *
 *     float *panel = malloc(mer_linear_panel_floats(in) * sizeof(float));
 *     mer_linear_forward(w, b, in, out, x, in, n, y, out, panel);          // y [n, out]
 *     mer_linear_backward_input(w, in, out, dy, out, n, dx, in, 0);        // dx [n, in]
 *
 * Deterministic: every output sums its terms in the same order on a given machine (an
 * AVX2+FMA build where the CPU has them, else a plain one; the two round differently).
 */
#ifndef MER_MODEL_LINEAR_H
#define MER_MODEL_LINEAR_H

#include <stdint.h>

/* The scratch mer_linear_forward needs for inputs of width in, in floats. */
int64_t mer_linear_panel_floats(int64_t in);

/* y[j, o] = b[o] + sum_i x[j, i] w[o, i] for j < n, o < out: w [out, in] row-major, b [out]
 * (NULL: none), x [n, in] with row stride ldx, y [n, out] with row stride ldy (written, not
 * added to; it must not overlap x). panel: mer_linear_panel_floats(in) floats of scratch. */
void mer_linear_forward(const float *w, const float *b, int64_t in, int64_t out, const float *x,
                        int64_t ldx, int64_t n, float *y, int64_t ldy, float *panel);

/* dx[j, i] = (dx[j, i] if accumulate) + sum_o dy[j, o] w[o, i] (nn.Linear's gradient with
 * respect to its input) for j < n, i < in: dy [n, out] with row stride lddy, dx [n, in] with
 * row stride lddx (it must not overlap dy or w). */
void mer_linear_backward_input(const float *w, int64_t in, int64_t out, const float *dy,
                               int64_t lddy, int64_t n, float *dx, int64_t lddx, int accumulate);

/* With on, both take the portable build even where the CPU has AVX2 and FMA (for
 * tests and comparisons; not thread-safe against calls in flight). */
void mer_linear_set_portable(int on);

#endif
