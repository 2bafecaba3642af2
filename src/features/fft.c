/* The real FFT of fft.h: an N/2-point complex FFT of the even/odd-packed input, then the split
 * step that turns it into the N/2 + 1 bins of the real transform.
 *
 * The arithmetic is double (the input and output are float): a float FFT's rounding, about
 * 1e-7 of the frame's energy, is a large relative error in the quiet bins of a loud frame, and
 * the log mel features must stay within 1e-3 of torchaudio's. The complex FFT is iterative
 * decimation in time on separate real and imaginary arrays (bit-reversed input): one radix-4
 * pass for the first two stages, then radix-2 stages with contiguous per-stage twiddles, which
 * the AVX2 path takes four at a time. */
#include "mer/error.h"
#include "mer/fft.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_BUILD 1
#endif

#define STACK_HALF 2048 /* complex sizes up to this use stack scratch; larger ones malloc */

struct mer_fft {
    size_t n, half;   /* real size, complex size */
    uint32_t *bitrev; /* [half] */
    double *twiddle;  /* stages len = 8 .. half: len/2 cosines then len/2 sines each */
    double *split;    /* [half / 2 + 1] pairs: exp(-2 pi i k / n) */
    double *split_im; /* the sines, in split */
    int avx2;
};

static int portable_only;

void mer_fft_set_portable(int on)
{
    portable_only = on;
}

static int cpu_has_avx2(void)
{
#ifdef HAVE_AVX2_BUILD
    return !portable_only && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int mer_fft_open(mer_fft **out, size_t n)
{
    mer_fft *f;
    size_t bits = 0, at = 0;
    *out = NULL;
    if (n < 4 || n > ((size_t)1 << 24) || (n & (n - 1)))
        return mer_error("FFT size %zu: expected a power of two from 4 to 16777216", n);
    if (!(f = calloc(1, sizeof(*f))))
        return mer_error("out of memory");
    f->n = n;
    f->half = n / 2;
    f->avx2 = cpu_has_avx2();
    f->bitrev = malloc(f->half * sizeof(*f->bitrev));
    f->twiddle = malloc(2 * f->half * sizeof(double));
    f->split = malloc(2 * (f->half / 2 + 1) * sizeof(double));
    f->split_im = f->split + f->half / 2 + 1;
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
        f->bitrev[i] = (uint32_t)r;
    }
    for (size_t len = 8; len <= f->half; len <<= 1) {
        for (size_t j = 0; j < len / 2; j++) {
            double a = -2.0 * M_PI * (double)j / (double)len;
            f->twiddle[at + j] = cos(a);
            f->twiddle[at + len / 2 + j] = sin(a);
        }
        at += len;
    }
    for (size_t k = 0; k <= f->half / 2; k++) {
        double a = -2.0 * M_PI * (double)k / (double)n;
        f->split[k] = cos(a);
        f->split_im[k] = sin(a);
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

/* z_m = x_2m + i x_2m+1 in bit-reversed order, with the first two stages (twiddles 1 and -i)
 * done on the way: one radix-4 butterfly per four values (positions p .. p+3 hold the inputs
 * bitrev[p .. p+3]). For float and double inputs alike. */
#define LOAD_RADIX4(f, in, re, im)                                                                 \
    do {                                                                                           \
        const uint32_t *rev = (f)->bitrev;                                                         \
        if ((f)->half == 2) {                                                                      \
            double r0 = in[0], i0 = in[1], r1 = in[2], i1 = in[3];                                 \
            re[0] = r0 + r1, im[0] = i0 + i1, re[1] = r0 - r1, im[1] = i0 - i1;                    \
            break;                                                                                 \
        }                                                                                          \
        for (size_t p = 0; p < (f)->half; p += 4) {                                                \
            size_t i0 = 2 * rev[p], i1 = 2 * rev[p + 1], i2 = 2 * rev[p + 2], i3 = 2 * rev[p + 3]; \
            double a0r = (double)in[i0] + in[i1], a0i = (double)in[i0 + 1] + in[i1 + 1];           \
            double a1r = (double)in[i0] - in[i1], a1i = (double)in[i0 + 1] - in[i1 + 1];           \
            double a2r = (double)in[i2] + in[i3], a2i = (double)in[i2 + 1] + in[i3 + 1];           \
            double a3r = (double)in[i2] - in[i3], a3i = (double)in[i2 + 1] - in[i3 + 1];           \
            re[p] = a0r + a2r, im[p] = a0i + a2i;                                                  \
            re[p + 2] = a0r - a2r, im[p + 2] = a0i - a2i;                                          \
            re[p + 1] = a1r + a3i, im[p + 1] = a1i - a3r;                                          \
            re[p + 3] = a1r - a3i, im[p + 3] = a1i + a3r;                                          \
        }                                                                                          \
    } while (0)

#ifdef HAVE_AVX2_BUILD
/* LOAD_RADIX4 four butterflies at a time (half >= 16): butterfly r reads inputs r, r + h/2,
 * r + h/4, r + 3h/4 (contiguous over r) and writes positions bitrev[r] .. + 3, so four of them
 * are a 4 x 4 transpose. load4(in, m, &re, &im) reads complex inputs m .. m+3 with their lanes
 * in the order 0, 2, 1, 3 (that of an unpack). */
#define RADIX4_AVX2(f, in, re, im, load4)                                                          \
    do {                                                                                           \
        size_t h_ = (f)->half, q_ = h_ / 4;                                                        \
        for (size_t r = 0; r < q_; r += 4) {                                                       \
            __m256d x0r, x0i, x1r, x1i, x2r, x2i, x3r, x3i, t0, t1, t2, t3;                        \
            load4(in, r, &x0r, &x0i);                                                              \
            load4(in, r + 2 * q_, &x1r, &x1i);                                                     \
            load4(in, r + q_, &x2r, &x2i);                                                         \
            load4(in, r + 3 * q_, &x3r, &x3i);                                                     \
            __m256d a0r = _mm256_add_pd(x0r, x1r), a0i = _mm256_add_pd(x0i, x1i);                  \
            __m256d a1r = _mm256_sub_pd(x0r, x1r), a1i = _mm256_sub_pd(x0i, x1i);                  \
            __m256d a2r = _mm256_add_pd(x2r, x3r), a2i = _mm256_add_pd(x2i, x3i);                  \
            __m256d a3r = _mm256_sub_pd(x2r, x3r), a3i = _mm256_sub_pd(x2i, x3i);                  \
            __m256d pr[4] = {_mm256_add_pd(a0r, a2r), _mm256_add_pd(a1r, a3i),                     \
                             _mm256_sub_pd(a0r, a2r), _mm256_sub_pd(a1r, a3i)};                    \
            __m256d pi[4] = {_mm256_add_pd(a0i, a2i), _mm256_sub_pd(a1i, a3r),                     \
                             _mm256_sub_pd(a0i, a2i), _mm256_add_pd(a1i, a3r)};                    \
            double *dst[2] = {re, im};                                                             \
            __m256d *src[2] = {pr, pi};                                                            \
            for (int c = 0; c < 2; c++) {                                                          \
                __m256d *v = src[c];                                                               \
                t0 = _mm256_unpacklo_pd(v[0], v[1]), t1 = _mm256_unpackhi_pd(v[0], v[1]);          \
                t2 = _mm256_unpacklo_pd(v[2], v[3]), t3 = _mm256_unpackhi_pd(v[2], v[3]);          \
                _mm256_storeu_pd(dst[c] + (f)->bitrev[r], _mm256_permute2f128_pd(t0, t2, 0x20));   \
                _mm256_storeu_pd(dst[c] + (f)->bitrev[r + 2],                                      \
                                 _mm256_permute2f128_pd(t1, t3, 0x20));                            \
                _mm256_storeu_pd(dst[c] + (f)->bitrev[r + 1],                                      \
                                 _mm256_permute2f128_pd(t0, t2, 0x31));                            \
                _mm256_storeu_pd(dst[c] + (f)->bitrev[r + 3],                                      \
                                 _mm256_permute2f128_pd(t1, t3, 0x31));                            \
            }                                                                                      \
        }                                                                                          \
    } while (0)

__attribute__((target("avx2,fma"))) static inline void load4_f64(const double *in, size_t m,
                                                                 __m256d *r, __m256d *i)
{
    __m256d a = _mm256_loadu_pd(in + 2 * m), b = _mm256_loadu_pd(in + 2 * m + 4);
    *r = _mm256_unpacklo_pd(a, b);
    *i = _mm256_unpackhi_pd(a, b);
}

__attribute__((target("avx2,fma"))) static inline void load4_f32(const float *in, size_t m,
                                                                 __m256d *r, __m256d *i)
{
    __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(in + 2 * m));
    __m256d b = _mm256_cvtps_pd(_mm_loadu_ps(in + 2 * m + 4));
    *r = _mm256_unpacklo_pd(a, b);
    *i = _mm256_unpackhi_pd(a, b);
}

__attribute__((target("avx2,fma"))) static void radix4_f64_avx2(const mer_fft *f, const double *in,
                                                                double *re, double *im)
{
    RADIX4_AVX2(f, in, re, im, load4_f64);
}

__attribute__((target("avx2,fma"))) static void radix4_f32_avx2(const mer_fft *f, const float *in,
                                                                double *re, double *im)
{
    RADIX4_AVX2(f, in, re, im, load4_f32);
}
#endif

/* The first two stages from float or double input. */
static void radix4_f32(const mer_fft *f, const float *in, double *re, double *im)
{
#ifdef HAVE_AVX2_BUILD
    if (f->avx2 && f->half >= 16) {
        radix4_f32_avx2(f, in, re, im);
        return;
    }
#endif
    LOAD_RADIX4(f, in, re, im);
}

static void radix4_f64(const mer_fft *f, const double *in, double *re, double *im)
{
#ifdef HAVE_AVX2_BUILD
    if (f->avx2 && f->half >= 16) {
        radix4_f64_avx2(f, in, re, im);
        return;
    }
#endif
    LOAD_RADIX4(f, in, re, im);
}

static void stages_portable(const mer_fft *f, double *re, double *im)
{
    const double *tw = f->twiddle;
    for (size_t len = 8; len <= f->half; tw += len, len <<= 1) {
        size_t L = len / 2;
        for (size_t i = 0; i < f->half; i += len)
            for (size_t j = 0; j < L; j++) {
                double wr = tw[j], wi = tw[L + j];
                double br = re[i + L + j], bi = im[i + L + j];
                double tr = br * wr - bi * wi, ti = br * wi + bi * wr;
                double ar = re[i + j], ai = im[i + j];
                re[i + j] = ar + tr, im[i + j] = ai + ti;
                re[i + L + j] = ar - tr, im[i + L + j] = ai - ti;
            }
    }
}

#ifdef HAVE_AVX2_BUILD
/* One radix-2 stage of size len (len / 2 >= 4), four butterflies at a time. */
__attribute__((target("avx2,fma"))) static void
radix2_stage_avx2(size_t h, size_t len, const double *tw, double *re, double *im)
{
    size_t L = len / 2;
    for (size_t i = 0; i < h; i += len) {
        double *ar = re + i, *ai = im + i, *br = re + i + L, *bi = im + i + L;
        for (size_t j = 0; j < L; j += 4) {
            __m256d wr = _mm256_loadu_pd(tw + j), wi = _mm256_loadu_pd(tw + L + j);
            __m256d xr = _mm256_loadu_pd(br + j), xi = _mm256_loadu_pd(bi + j);
            __m256d tr = _mm256_fmsub_pd(xr, wr, _mm256_mul_pd(xi, wi));
            __m256d ti = _mm256_fmadd_pd(xr, wi, _mm256_mul_pd(xi, wr));
            __m256d yr = _mm256_loadu_pd(ar + j), yi = _mm256_loadu_pd(ai + j);
            _mm256_storeu_pd(ar + j, _mm256_add_pd(yr, tr));
            _mm256_storeu_pd(ai + j, _mm256_add_pd(yi, ti));
            _mm256_storeu_pd(br + j, _mm256_sub_pd(yr, tr));
            _mm256_storeu_pd(bi + j, _mm256_sub_pd(yi, ti));
        }
    }
}

/* (xr + i xi) (wr + i wi) into *pr, *pi. */
__attribute__((target("avx2,fma"))) static inline void cmul(__m256d xr, __m256d xi, __m256d wr,
                                                            __m256d wi, __m256d *pr, __m256d *pi)
{
    *pr = _mm256_fmsub_pd(xr, wr, _mm256_mul_pd(xi, wi));
    *pi = _mm256_fmadd_pd(xr, wi, _mm256_mul_pd(xi, wr));
}

/* The radix-2 stages of sizes 2L and 4L in one pass (L >= 4): per quarter index j, inputs
 * a b c d at j, L + j, 2L + j, 3L + j; w1 = w_2L^j, w2 = w_4L^j, and w_4L^(L+j) = -i w2. */
__attribute__((target("avx2,fma"))) static void
radix4_stage_avx2(size_t h, size_t L, const double *tw1, const double *tw2, double *re, double *im)
{
    for (size_t i = 0; i < h; i += 4 * L) {
        double *r0 = re + i, *i0 = im + i, *r1 = r0 + L, *i1 = i0 + L;
        double *r2 = r0 + 2 * L, *i2 = i0 + 2 * L, *r3 = r0 + 3 * L, *i3 = i0 + 3 * L;
        for (size_t j = 0; j < L; j += 4) {
            __m256d w1r = _mm256_loadu_pd(tw1 + j), w1i = _mm256_loadu_pd(tw1 + L + j);
            __m256d w2r = _mm256_loadu_pd(tw2 + j), w2i = _mm256_loadu_pd(tw2 + 2 * L + j);
            __m256d ar = _mm256_loadu_pd(r0 + j), ai = _mm256_loadu_pd(i0 + j);
            __m256d cr = _mm256_loadu_pd(r2 + j), ci = _mm256_loadu_pd(i2 + j);
            __m256d br, bi, dr, di, tr, ti;
            cmul(_mm256_loadu_pd(r1 + j), _mm256_loadu_pd(i1 + j), w1r, w1i, &br, &bi);
            cmul(_mm256_loadu_pd(r3 + j), _mm256_loadu_pd(i3 + j), w1r, w1i, &dr, &di);
            /* the first stage: a +- w1 b, c +- w1 d */
            __m256d a1r = _mm256_add_pd(ar, br), a1i = _mm256_add_pd(ai, bi);
            __m256d b1r = _mm256_sub_pd(ar, br), b1i = _mm256_sub_pd(ai, bi);
            __m256d c1r = _mm256_add_pd(cr, dr), c1i = _mm256_add_pd(ci, di);
            __m256d d1r = _mm256_sub_pd(cr, dr), d1i = _mm256_sub_pd(ci, di);
            /* the second: a1 +- w2 c1, b1 +- (-i w2) d1 */
            cmul(c1r, c1i, w2r, w2i, &cr, &ci);
            cmul(d1r, d1i, w2r, w2i, &tr, &ti);
            _mm256_storeu_pd(r0 + j, _mm256_add_pd(a1r, cr));
            _mm256_storeu_pd(i0 + j, _mm256_add_pd(a1i, ci));
            _mm256_storeu_pd(r2 + j, _mm256_sub_pd(a1r, cr));
            _mm256_storeu_pd(i2 + j, _mm256_sub_pd(a1i, ci));
            _mm256_storeu_pd(r1 + j, _mm256_add_pd(b1r, ti));
            _mm256_storeu_pd(i1 + j, _mm256_sub_pd(b1i, tr));
            _mm256_storeu_pd(r3 + j, _mm256_sub_pd(b1r, ti));
            _mm256_storeu_pd(i3 + j, _mm256_add_pd(b1i, tr));
        }
    }
}

/* Stage len's twiddles start at len - 8 (the tables of 8, 16, ... before it). An odd number of
 * stages starts with one radix-2 stage, the rest go two at a time. */
__attribute__((target("avx2,fma"))) static void stages_avx2(const mer_fft *f, double *re,
                                                            double *im)
{
    size_t h = f->half, len = 8, count = 0;
    for (size_t l = 8; l <= h; l <<= 1)
        count++;
    if (count % 2) {
        radix2_stage_avx2(h, len, f->twiddle, re, im);
        len <<= 1;
    }
    for (; len <= h / 2; len <<= 2)
        radix4_stage_avx2(h, len / 2, f->twiddle + (len - 8), f->twiddle + (2 * len - 8), re, im);
}
#endif

/* The stages after the first two, on re[half], im[half]. */
static void complex_stages(const mer_fft *f, double *re, double *im)
{
#ifdef HAVE_AVX2_BUILD
    if (f->avx2) {
        stages_avx2(f, re, im);
        return;
    }
#endif
    stages_portable(f, re, im);
}

/* X_k = (Z_k + conj Z_{h-k}) / 2 - i w^k (Z_k - conj Z_{h-k}) / 2, w = exp(-2 pi i / n);
 * bin h - k from the same pair. emit(k, re, im) stores one bin. */
#define SPLIT(f, re, im, EMIT)                                                                     \
    do {                                                                                           \
        size_t h_ = (f)->half;                                                                     \
        EMIT(0, re[0] + im[0], 0.0);                                                               \
        EMIT(h_, re[0] - im[0], 0.0);                                                              \
        for (size_t k = 1; k <= h_ / 2; k++) {                                                     \
            size_t q = h_ - k;                                                                     \
            double er = 0.5 * (re[k] + re[q]), ei = 0.5 * (im[k] - im[q]);                         \
            double orr = 0.5 * (im[k] + im[q]), oi = -0.5 * (re[k] - re[q]);                       \
            double wr = (f)->split[k], wi = (f)->split_im[k];                                      \
            double tr = orr * wr - oi * wi, ti = orr * wi + oi * wr;                               \
            EMIT(k, er + tr, ei + ti);                                                             \
            if (q != k)                                                                            \
                EMIT(q, er - tr, -(ei - ti));                                                      \
        }                                                                                          \
    } while (0)

#define EMIT_POWER(k, r, i) (power[k] = (float)((r) * (r) + (i) * (i)))

#ifdef HAVE_AVX2_BUILD
/* SPLIT's powers four bins k at a time (and the four bins h - k with them). */
__attribute__((target("avx2,fma"))) static void split_power_avx2(const mer_fft *f, const double *re,
                                                                 const double *im, float *power)
{
    size_t h = f->half, k = 1;
    const __m256d half = _mm256_set1_pd(0.5);
    power[0] = (float)((re[0] + im[0]) * (re[0] + im[0]));
    power[h] = (float)((re[0] - im[0]) * (re[0] - im[0]));
    for (; k + 4 <= h / 2; k += 4) {
        size_t q = h - k - 3; /* bins q .. q+3 pair with k+3 .. k */
        __m256d rk = _mm256_loadu_pd(re + k), ik = _mm256_loadu_pd(im + k);
        __m256d rq = _mm256_permute4x64_pd(_mm256_loadu_pd(re + q), 0x1B);
        __m256d iq = _mm256_permute4x64_pd(_mm256_loadu_pd(im + q), 0x1B);
        __m256d er = _mm256_mul_pd(half, _mm256_add_pd(rk, rq));
        __m256d ei = _mm256_mul_pd(half, _mm256_sub_pd(ik, iq));
        __m256d orr = _mm256_mul_pd(half, _mm256_add_pd(ik, iq));
        __m256d oi = _mm256_mul_pd(half, _mm256_sub_pd(rq, rk));
        __m256d wr = _mm256_loadu_pd(f->split + k), wi = _mm256_loadu_pd(f->split_im + k);
        __m256d tr = _mm256_fmsub_pd(orr, wr, _mm256_mul_pd(oi, wi));
        __m256d ti = _mm256_fmadd_pd(orr, wi, _mm256_mul_pd(oi, wr));
        __m256d ar = _mm256_add_pd(er, tr), ai = _mm256_add_pd(ei, ti);
        __m256d br = _mm256_sub_pd(er, tr), bi = _mm256_sub_pd(ei, ti);
        __m256d pk = _mm256_fmadd_pd(ar, ar, _mm256_mul_pd(ai, ai));
        __m256d pq = _mm256_fmadd_pd(br, br, _mm256_mul_pd(bi, bi));
        _mm_storeu_ps(power + k, _mm256_cvtpd_ps(pk));
        _mm_storeu_ps(power + q, _mm256_cvtpd_ps(_mm256_permute4x64_pd(pq, 0x1B)));
    }
    for (; k <= h / 2; k++) {
        size_t q = h - k;
        double er = 0.5 * (re[k] + re[q]), ei = 0.5 * (im[k] - im[q]);
        double orr = 0.5 * (im[k] + im[q]), oi = -0.5 * (re[k] - re[q]);
        double wr = f->split[k], wi = f->split_im[k];
        double tr = orr * wr - oi * wi, ti = orr * wi + oi * wr;
        EMIT_POWER(k, er + tr, ei + ti);
        if (q != k)
            EMIT_POWER(q, er - tr, -(ei - ti));
    }
}
#endif

static void split_power(const mer_fft *f, const double *re, const double *im, float *power)
{
#ifdef HAVE_AVX2_BUILD
    if (f->avx2) {
        split_power_avx2(f, re, im, power);
        return;
    }
#endif
    SPLIT(f, re, im, EMIT_POWER);
}

/* Scratch for the complex values: the stack for the sizes the features use. */
#define WITH_SCRATCH(f, re, im, BODY)                                                              \
    do {                                                                                           \
        double stack_[2 * STACK_HALF], *heap_ = NULL, *re, *im;                                    \
        if ((f)->half > STACK_HALF) {                                                              \
            heap_ = malloc(2 * (f)->half * sizeof(double));                                        \
            MER_ASSERT(heap_ != NULL);                                                             \
        }                                                                                          \
        re = heap_ ? heap_ : stack_;                                                               \
        im = re + (f)->half;                                                                       \
        BODY;                                                                                      \
        free(heap_);                                                                               \
    } while (0)

void mer_fft_real(const mer_fft *f, const float *in, float *out)
{
#define EMIT_BIN(k, r, i) (out[2 * (k)] = (float)(r), out[2 * (k) + 1] = (float)(i))
    WITH_SCRATCH(f, re, im, {
        radix4_f32(f, in, re, im);
        complex_stages(f, re, im);
        SPLIT(f, re, im, EMIT_BIN);
    });
#undef EMIT_BIN
}

void mer_fft_power(const mer_fft *f, const float *in, float *work, float *power)
{
    (void)work; /* the scratch is the FFT's own now */
    WITH_SCRATCH(f, re, im, {
        radix4_f32(f, in, re, im);
        complex_stages(f, re, im);
        split_power(f, re, im, power);
    });
}

void mer_fft_power_f64(const mer_fft *f, const double *in, float *power)
{
    WITH_SCRATCH(f, re, im, {
        radix4_f64(f, in, re, im);
        complex_stages(f, re, im);
        split_power(f, re, im, power);
    });
}
