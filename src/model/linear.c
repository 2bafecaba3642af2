/*
 * nn.Linear's forward and input gradient without packing the weight (linear.h). Legend: N =
 * rows of x (the batch), I = in, O = out. The forward's panel is x's rows transposed, [I, 32]:
 * row i holds feature i of 32 samples, four 8-float vectors, so one weight value times one
 * panel row is four vector FMAs. The input gradient needs no panel: W's rows are already
 * vectors along I. Vectors are GCC/Clang vector extensions: AVX2 registers in the build for CPUs
 * with AVX2 and FMA, SSE or NEON pairs in the plain one.
 */
#include "model/linear.h"

#include <string.h>

#define PANEL_ROWS  32 /* samples per panel: four vectors */
#define WEIGHT_ROWS 3  /* per pass: 3 x 4 accumulators and 4 panel vectors fit 16 registers */

typedef float v8 __attribute__((vector_size(32)));

int64_t mer_linear_panel_floats(int64_t in)
{
    return in * PANEL_ROWS;
}

/* __builtin_shufflevector: Clang, and GCC from 12; older compilers transpose one by one. */
#if defined(__has_builtin) && !defined(MER_LINEAR_NO_SHUFFLE)
#if __has_builtin(__builtin_shufflevector)
#define HAVE_SHUFFLE 1
#endif
#endif

#ifdef HAVE_SHUFFLE
#define SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)

/* The 8 x 8 block x[0..7, 0..7] (row stride ldx) transposed into panel rows 0..7 (columns
 * 0..7): three rounds of shuffles, as _MM_TRANSPOSE8_PS does it. */
static inline __attribute__((always_inline)) void transpose8(const float *x, int64_t ldx,
                                                             float *panel)
{
    v8 r[8], t[8], u[8];
    for (int j = 0; j < 8; j++)
        memcpy(&r[j], x + j * ldx, sizeof(v8));
    for (int j = 0; j < 8; j += 2) {
        t[j] = SHUF(r[j], r[j + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[j + 1] = SHUF(r[j], r[j + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int j = 0; j < 8; j += 4)
        for (int k = 0; k < 2; k++) {
            u[j + 2 * k] = SHUF(t[j + k], t[j + k + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[j + 2 * k + 1] = SHUF(t[j + k], t[j + k + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int i = 0; i < 4; i++) {
        const v8 lo = SHUF(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11),
                 hi = SHUF(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        memcpy(panel + i * PANEL_ROWS, &lo, sizeof(v8));
        memcpy(panel + (i + 4) * PANEL_ROWS, &hi, sizeof(v8));
    }
}
#endif

/* panel[i, j] = x[j, i] for j < rows, 0 for rows <= j < 32: whole 8 x 8 blocks by shuffles,
 * the edges one by one. */
static inline __attribute__((always_inline)) void fill_panel(const float *x, int64_t ldx,
                                                             int64_t rows, int64_t in, float *panel)
{
    if (rows < PANEL_ROWS)
        memset(panel, 0, (size_t)(in * PANEL_ROWS) * sizeof(float));
#ifdef HAVE_SHUFFLE
    const int64_t in8 = in & ~(int64_t)7, rows8 = rows & ~(int64_t)7;
    for (int64_t j = 0; j < rows8; j += 8)
        for (int64_t i = 0; i < in8; i += 8)
            transpose8(x + j * ldx + i, ldx, panel + i * PANEL_ROWS + j);
#else
    const int64_t in8 = 0, rows8 = 0;
#endif
    for (int64_t j = 0; j < rows; j++)
        for (int64_t i = j < rows8 ? in8 : 0; i < in; i++)
            panel[i * PANEL_ROWS + j] = x[j * ldx + i];
}

/* Weight rows o..o+2 (the last repeated past out: the same work, its results not stored)
 * against the panel, the bias added, into y's rows. Accumulators and panel vectors are plain
 * locals so that they stay in registers. */
static inline __attribute__((always_inline)) void
rows_times_panel(const float *w, const float *b, int64_t in, int64_t out, int64_t o,
                 const float *panel, int64_t rows, float *y, int64_t ldy)
{
    const float *w0 = w + o * in, *w1 = w + (o + 1 < out ? o + 1 : o) * in,
                *w2 = w + (o + 2 < out ? o + 2 : o) * in;
    v8 a00 = {0}, a01 = {0}, a02 = {0}, a03 = {0}, a10 = {0}, a11 = {0}, a12 = {0}, a13 = {0},
       a20 = {0}, a21 = {0}, a22 = {0}, a23 = {0};
    for (int64_t i = 0; i < in; i++) {
        v8 x0, x1, x2, x3;
        const float *p = panel + i * PANEL_ROWS;
        memcpy(&x0, p, sizeof(v8));
        memcpy(&x1, p + 8, sizeof(v8));
        memcpy(&x2, p + 16, sizeof(v8));
        memcpy(&x3, p + 24, sizeof(v8));
        const float s0 = w0[i], s1 = w1[i], s2 = w2[i];
        a00 += s0 * x0, a01 += s0 * x1, a02 += s0 * x2, a03 += s0 * x3;
        a10 += s1 * x0, a11 += s1 * x1, a12 += s1 * x2, a13 += s1 * x3;
        a20 += s2 * x0, a21 += s2 * x1, a22 += s2 * x2, a23 += s2 * x3;
    }
    const v8 acc[WEIGHT_ROWS][4] = {
        {a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23}};
    for (int r = 0; r < WEIGHT_ROWS && o + r < out; r++) {
        const float bias = b ? b[o + r] : 0.0f;
        for (int64_t j = 0; j < rows; j++)
            y[j * ldy + o + r] = acc[r][j / 8][j % 8] + bias;
    }
}

static inline __attribute__((always_inline)) void
forward_impl(const float *w, const float *b, int64_t in, int64_t out, const float *x, int64_t ldx,
             int64_t n, float *y, int64_t ldy, float *panel)
{
    for (int64_t j0 = 0; j0 < n; j0 += PANEL_ROWS) {
        const int64_t rows = n - j0 < PANEL_ROWS ? n - j0 : PANEL_ROWS;
        fill_panel(x + j0 * ldx, ldx, rows, in, panel);
        for (int64_t o = 0; o < out; o += WEIGHT_ROWS)
            rows_times_panel(w, b, in, out, o, panel, rows, y + j0 * ldy, ldy);
    }
}

/* dx rows j..j+3 (past n, the last row repeated, its results not stored), columns i..i+15:
 * dy's four rows broadcast against W's rows, eight accumulators. W is read in place, 16 floats
 * (a cache line where its rows are aligned) from each row. */
static inline __attribute__((always_inline)) void
input_tile(const float *w, int64_t in, int64_t out, const float *dy, int64_t lddy, int64_t n,
           int64_t j, int64_t i, float *dx, int64_t lddx, int accumulate)
{
    const float *d0 = dy + j * lddy, *d1 = dy + (j + 1 < n ? j + 1 : j) * lddy,
                *d2 = dy + (j + 2 < n ? j + 2 : j) * lddy,
                *d3 = dy + (j + 3 < n ? j + 3 : j) * lddy;
    v8 a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0}, a20 = {0}, a21 = {0}, a30 = {0}, a31 = {0};
    for (int64_t o = 0; o < out; o++) {
        v8 w0, w1;
        memcpy(&w0, w + o * in + i, sizeof(v8));
        memcpy(&w1, w + o * in + i + 8, sizeof(v8));
        const float s0 = d0[o], s1 = d1[o], s2 = d2[o], s3 = d3[o];
        a00 += s0 * w0, a01 += s0 * w1, a10 += s1 * w0, a11 += s1 * w1;
        a20 += s2 * w0, a21 += s2 * w1, a30 += s3 * w0, a31 += s3 * w1;
    }
    const v8 acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
    for (int r = 0; r < 4 && j + r < n; r++) {
        float *row = dx + (j + r) * lddx + i;
        for (int c = 0; c < 16; c++)
            row[c] = (accumulate ? row[c] : 0.0f) + acc[r][c / 8][c % 8];
    }
}

static inline __attribute__((always_inline)) void input_impl(const float *w, int64_t in,
                                                             int64_t out, const float *dy,
                                                             int64_t lddy, int64_t n, float *dx,
                                                             int64_t lddx, int accumulate)
{
    const int64_t in16 = in & ~(int64_t)15;
    for (int64_t i = 0; i < in16; i += 16)
        for (int64_t j = 0; j < n; j += 4)
            input_tile(w, in, out, dy, lddy, n, j, i, dx, lddx, accumulate);
    for (int64_t j = 0; j < n; j++) /* the columns past the last 16 */
        for (int64_t i = in16; i < in; i++) {
            float sum = 0.0f;
            for (int64_t o = 0; o < out; o++)
                sum += dy[j * lddy + o] * w[o * in + i];
            dx[j * lddx + i] = (accumulate ? dx[j * lddx + i] : 0.0f) + sum;
        }
}

/* Built twice: for CPUs with AVX2 and FMA, and for any. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVX2_BUILD 1
__attribute__((target("avx2,fma"))) static void forward_avx2(const float *w, const float *b,
                                                             int64_t in, int64_t out,
                                                             const float *x, int64_t ldx, int64_t n,
                                                             float *y, int64_t ldy, float *panel)
{
    forward_impl(w, b, in, out, x, ldx, n, y, ldy, panel);
}

__attribute__((target("avx2,fma"))) static void input_avx2(const float *w, int64_t in, int64_t out,
                                                           const float *dy, int64_t lddy, int64_t n,
                                                           float *dx, int64_t lddx, int accumulate)
{
    input_impl(w, in, out, dy, lddy, n, dx, lddx, accumulate);
}
#endif

static void input_portable(const float *w, int64_t in, int64_t out, const float *dy, int64_t lddy,
                           int64_t n, float *dx, int64_t lddx, int accumulate)
{
    input_impl(w, in, out, dy, lddy, n, dx, lddx, accumulate);
}

static void forward_portable(const float *w, const float *b, int64_t in, int64_t out,
                             const float *x, int64_t ldx, int64_t n, float *y, int64_t ldy,
                             float *panel)
{
    forward_impl(w, b, in, out, x, ldx, n, y, ldy, panel);
}

static int portable_only;

void mer_linear_set_portable(int on)
{
    portable_only = on;
}

static int use_avx2(void)
{
#ifdef HAVE_AVX2_BUILD
    return !portable_only && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void mer_linear_forward(const float *w, const float *b, int64_t in, int64_t out, const float *x,
                        int64_t ldx, int64_t n, float *y, int64_t ldy, float *panel)
{
#ifdef HAVE_AVX2_BUILD
    if (use_avx2()) {
        forward_avx2(w, b, in, out, x, ldx, n, y, ldy, panel);
        return;
    }
#endif
    forward_portable(w, b, in, out, x, ldx, n, y, ldy, panel);
}

void mer_linear_backward_input(const float *w, int64_t in, int64_t out, const float *dy,
                               int64_t lddy, int64_t n, float *dx, int64_t lddx, int accumulate)
{
#ifdef HAVE_AVX2_BUILD
    if (use_avx2()) {
        input_avx2(w, in, out, dy, lddy, n, dx, lddx, accumulate);
        return;
    }
#endif
    input_portable(w, in, out, dy, lddy, n, dx, lddx, accumulate);
}
