/* The real FFT of fft.h: an N/2-point complex radix-2 FFT of the even/odd-packed input, then
 * the split step that turns it into the N/2 + 1 bins of the real transform. */
#include "mer/error.h"
#include "mer/fft.h"

#include <math.h>
#include <stdlib.h>

struct mer_fft {
    size_t n, half;   /* real size, complex size */
    size_t *bitrev;   /* [half] */
    float *twiddle;   /* [half] pairs: exp(-2 pi i k / half), k < half / 2 */
    float *split;     /* [half] pairs: exp(-2 pi i k / n), k < half */
};

int mer_fft_open(mer_fft **out, size_t n)
{
    mer_fft *f;
    size_t bits = 0;
    *out = NULL;
    if (n < 4 || n > ((size_t)1 << 24) || (n & (n - 1)))
        return mer_error("FFT size %zu: expected a power of two from 4 to 16777216", n);
    if (!(f = calloc(1, sizeof(*f))))
        return mer_error("out of memory");
    f->n = n;
    f->half = n / 2;
    f->bitrev = malloc(f->half * sizeof(*f->bitrev));
    f->twiddle = malloc(f->half * sizeof(float));
    f->split = malloc(2 * f->half * sizeof(float));
    if (!f->bitrev || !f->twiddle || !f->split) {
        mer_fft_close(f);
        return mer_error("out of memory");
    }
    while (((size_t)1 << bits) < f->half)
        bits++;
    for (size_t i = 0; i < f->half; i++) {
        size_t r = 0;
        for (size_t b = 0; b < bits; b++)
            r |= ((i >> b) & 1) << (bits - 1 - b);
        f->bitrev[i] = r;
    }
    for (size_t k = 0; k < f->half / 2; k++) {
        double a = -2.0 * M_PI * (double)k / (double)f->half;
        f->twiddle[2 * k] = (float)cos(a);
        f->twiddle[2 * k + 1] = (float)sin(a);
    }
    for (size_t k = 0; k < f->half; k++) {
        double a = -2.0 * M_PI * (double)k / (double)n;
        f->split[2 * k] = (float)cos(a);
        f->split[2 * k + 1] = (float)sin(a);
    }
    *out = f;
    return 0;
}

void mer_fft_close(mer_fft *f)
{
    if (!f)
        return;
    free(f->bitrev);
    free(f->twiddle);
    free(f->split);
    free(f);
}

size_t mer_fft_size(const mer_fft *f)
{
    return f->n;
}

/* In-place iterative radix-2 FFT of half complex values z (pairs). */
static void complex_fft(const mer_fft *f, float *z)
{
    size_t h = f->half;
    for (size_t len = 2; len <= h; len <<= 1) {
        size_t step = h / len;
        for (size_t i = 0; i < h; i += len)
            for (size_t j = 0; j < len / 2; j++) {
                float wr = f->twiddle[2 * j * step], wi = f->twiddle[2 * j * step + 1];
                float *a = z + 2 * (i + j), *b = z + 2 * (i + j + len / 2);
                float tr = b[0] * wr - b[1] * wi, ti = b[0] * wi + b[1] * wr;
                b[0] = a[0] - tr;
                b[1] = a[1] - ti;
                a[0] += tr;
                a[1] += ti;
            }
    }
}

void mer_fft_real(const mer_fft *f, const float *in, float *out)
{
    size_t h = f->half;
    /* z_m = x_2m + i x_2m+1, in bit-reversed order for the in-place passes */
    for (size_t m = 0; m < h; m++) {
        size_t r = f->bitrev[m];
        out[2 * r] = in[2 * m];
        out[2 * r + 1] = in[2 * m + 1];
    }
    complex_fft(f, out);
    /* X_k = (Z_k + conj Z_{h-k}) / 2 - i w^k (Z_k - conj Z_{h-k}) / 2, w = exp(-2 pi i / n) */
    out[2 * h] = out[0] - out[1];
    out[2 * h + 1] = 0;
    out[0] = out[0] + out[1];
    out[1] = 0;
    for (size_t k = 1; k <= h / 2; k++) {
        float *a = out + 2 * k, *b = out + 2 * (h - k);
        float er = 0.5f * (a[0] + b[0]), ei = 0.5f * (a[1] - b[1]);
        float orr = 0.5f * (a[1] + b[1]), oi = -0.5f * (a[0] - b[0]);
        float wr = f->split[2 * k], wi = f->split[2 * k + 1];
        float tr = orr * wr - oi * wi, ti = orr * wi + oi * wr;
        a[0] = er + tr;
        a[1] = ei + ti;
        /* bin h-k: E conj, O conj times w^(h-k) = -conj(w^k) */
        b[0] = er - tr;
        b[1] = -(ei - ti);
    }
}

void mer_fft_power(const mer_fft *f, const float *in, float *work, float *power)
{
    mer_fft_real(f, in, work);
    for (size_t k = 0; k <= f->half; k++)
        power[k] = work[2 * k] * work[2 * k] + work[2 * k + 1] * work[2 * k + 1];
}
