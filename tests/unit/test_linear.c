/* mer_linear_forward and mer_linear_backward_input against double-precision loops, on shapes
 * that hit every edge of their blocking (rows past a panel of 32 or a tile of 4, widths not a
 * multiple of 8 or 16, outputs not a multiple of 3, strided rows, adding to dx or not), in
 * both builds; and the forward's result is the same on every call. */
#include "model/linear.h"
#include "mer/rng.h"
#include "testhelp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* worst, or this output's error if larger: |got - (base + sum_k a[k sa] b[k sb])| relative to
 * the sum of the terms' magnitudes, worked out in double; infinite once an output is NaN. */
static double worse(double worst, float got, double base, const float *a, int64_t sa,
                    const float *b, int64_t sb, int64_t len)
{
    double s = base, mag = fabs(base);
    for (int64_t k = 0; k < len; k++) {
        s += (double)a[k * sa] * b[k * sb];
        mag += fabs((double)a[k * sa] * b[k * sb]);
    }
    const double d = fabs(got - s) / (mag + 1e-30);
    return isnan(d) ? INFINITY : d > worst ? d : worst;
}

/* worst, or infinite if a row's padding (NaN to begin with) was written. */
static double padding_kept(double worst, const float *pad, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        if (!isnan(pad[i]))
            return INFINITY;
    return worst;
}

/* The worst error of y = x W^T + b over one shape (worse, padding_kept). */
static double check_forward(struct mer_rng *r, int64_t n, int64_t in, int64_t out, int with_bias)
{
    const int64_t ldx = in + 3, ldy = out + 2; /* strided rows: padding never read or written */
    float *w = malloc((size_t)(in * out + 1) * sizeof(float)),
          *b = malloc((size_t)(out + 1) * sizeof(float)),
          *x = malloc((size_t)(n * ldx + 1) * sizeof(float)),
          *y = malloc((size_t)(n * ldy + 1) * sizeof(float)),
          *panel = malloc((size_t)(mer_linear_panel_floats(in) + 1) * sizeof(float));
    double worst = 0;
    for (int64_t i = 0; i < in * out; i++)
        w[i] = (float)mer_rng_normal(r);
    for (int64_t i = 0; i < out; i++)
        b[i] = (float)mer_rng_normal(r);
    for (int64_t i = 0; i < n * ldx; i++)
        x[i] = (float)mer_rng_normal(r);
    for (int64_t i = 0; i < n * ldy; i++)
        y[i] = NAN; /* padding must stay NaN */
    mer_linear_forward(w, with_bias ? b : NULL, in, out, x, ldx, n, y, ldy, panel);
    for (int64_t j = 0; j < n; j++) {
        for (int64_t o = 0; o < out; o++)
            worst = worse(worst, y[j * ldy + o], with_bias ? b[o] : 0, x + j * ldx, 1, w + o * in,
                          1, in);
        worst = padding_kept(worst, y + j * ldy + out, ldy - out);
    }
    free(w);
    free(b);
    free(x);
    free(y);
    free(panel);
    return worst;
}

/* The worst error of dx = dx0 + dy W (accumulate) or dy W over one shape, as above. */
static double check_input(struct mer_rng *r, int64_t n, int64_t in, int64_t out, int accumulate)
{
    const int64_t lddy = out + 1, lddx = in + 5;
    float *w = malloc((size_t)(in * out + 1) * sizeof(float)),
          *dy = malloc((size_t)(n * lddy + 1) * sizeof(float)),
          *dx = malloc((size_t)(n * lddx + 1) * sizeof(float)),
          *dx0 = malloc((size_t)(n * lddx + 1) * sizeof(float));
    double worst = 0;
    for (int64_t i = 0; i < in * out; i++)
        w[i] = (float)mer_rng_normal(r);
    for (int64_t i = 0; i < n * lddy; i++)
        dy[i] = (float)mer_rng_normal(r);
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < lddx; i++)
            dx0[j * lddx + i] = i < in ? (float)mer_rng_normal(r) : NAN;
    memcpy(dx, dx0, (size_t)(n * lddx) * sizeof(float));
    mer_linear_backward_input(w, in, out, dy, lddy, n, dx, lddx, accumulate);
    for (int64_t j = 0; j < n; j++) {
        for (int64_t i = 0; i < in; i++)
            worst = worse(worst, dx[j * lddx + i], accumulate ? dx0[j * lddx + i] : 0,
                          dy + j * lddy, 1, w + i, in, out);
        worst = padding_kept(worst, dx + j * lddx + in, lddx - in);
    }
    free(w);
    free(dy);
    free(dx);
    free(dx0);
    return worst;
}

int main(void)
{
    static const int64_t ns[] = {1, 7, 8, 32, 33, 70}, ins[] = {1, 5, 8, 16, 263},
                         outs[] = {1, 2, 3, 4, 7, 256};
    for (int portable = 0; portable < 2; portable++) {
        TEST(portable ? "portable build: every blocking edge"
                      : "default build: every blocking edge")
        {
            struct mer_rng r;
            double worst = 0;
            mer_rng_seed(&r, 11);
            mer_linear_set_portable(portable);
            for (size_t a = 0; a < sizeof(ns) / sizeof(*ns); a++)
                for (size_t c = 0; c < sizeof(ins) / sizeof(*ins); c++)
                    for (size_t d = 0; d < sizeof(outs) / sizeof(*outs); d++) {
                        const double e = check_forward(&r, ns[a], ins[c], outs[d],
                                                       (int)(a + d) % 2),
                                     f = check_input(&r, ns[a], ins[c] + 16, outs[d],
                                                     (int)(a + c) % 2);
                        worst = e > worst ? e : worst;
                        worst = f > worst ? f : worst;
                    }
            printf("worst relative error %.3g\n", worst);
            CHECK(worst < 1e-5); /* float32 sums of up to 263 terms */
        }
    }
    mer_linear_set_portable(0);
    TEST("the same result on every call (deterministic)")
    {
        struct mer_rng r;
        const int64_t n = 45, in = 300, out = 100;
        float *w = malloc(in * out * sizeof(float)), *x = malloc(n * in * sizeof(float)),
              *y1 = malloc(n * out * sizeof(float)), *y2 = malloc(n * out * sizeof(float)),
              *panel = malloc(mer_linear_panel_floats(in) * sizeof(float));
        mer_rng_seed(&r, 5);
        for (int64_t i = 0; i < in * out; i++)
            w[i] = (float)mer_rng_normal(&r);
        for (int64_t i = 0; i < n * in; i++)
            x[i] = (float)mer_rng_normal(&r);
        mer_linear_forward(w, NULL, in, out, x, in, n, y1, out, panel);
        memset(panel, 0x7f, mer_linear_panel_floats(in) * sizeof(float)); /* stale scratch */
        mer_linear_forward(w, NULL, in, out, x, in, n, y2, out, panel);
        CHECK(!memcmp(y1, y2, n * out * sizeof(float)));
        free(w);
        free(x);
        free(y1);
        free(y2);
        free(panel);
    }
    return test_report();
}
