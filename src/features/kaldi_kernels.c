/* The per-frame loops of the Kaldi features (kaldi_impl.h). */
#include "features/kaldi_impl.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_BUILD 1
#endif

size_t mer_kaldi_first_nonfinite(const float *x, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) /* an OR over the chunk vectorizes; the search only on error */
        bad |= !(fabsf(x[i]) <= FLT_MAX);
    if (bad)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[i]))
                return i;
    return n;
}

/* Sums over four accumulators, so that the compiler can keep them in one vector register. */
double mer_kaldi_sum(const double *x, size_t n)
{
    double s[4] = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++)
            s[j] += x[i + j];
    for (; i < n; i++)
        s[0] += x[i];
    return (s[0] + s[2]) + (s[1] + s[3]);
}

double mer_kaldi_sum_squares(const double *x, size_t n, double mean)
{
    double s[4] = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++)
            s[j] += (x[i + j] - mean) * (x[i + j] - mean);
    for (; i < n; i++)
        s[0] += (x[i] - mean) * (x[i] - mean);
    return (s[0] + s[2]) + (s[1] + s[3]);
}

void mer_kaldi_preemph_window(const double *x, size_t n, double mean, double c,
                              const double *window, double *y)
{
    y[0] = ((x[0] - mean) - c * (x[0] - mean)) * window[0];
    for (size_t i = 1; i < n; i++)
        y[i] = ((x[i] - mean) - c * (x[i - 1] - mean)) * window[i];
}

void mer_kaldi_mel(const struct mer_kaldi *k, const float *power, float *mel)
{
    for (int b = 0; b < k->o.num_mel_bins; b++) {
        const float *w = k->mel_w + k->mel_off[b], *p = power + k->mel_start[b];
        float s = 0.0f;
        for (size_t i = 0; i < k->mel_len[b]; i++)
            s += w[i] * p[i];
        mel[b] = s;
    }
}

/* Cephes' logf: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log(m) by a polynomial in m - 1;
 * within about 1e-7 relative (libm's logf per value was a tenth of the frame's time). */
#define LOG_P0 7.0376836292E-2f
#define LOG_P1 -1.1514610310E-1f
#define LOG_P2 1.1676998740E-1f
#define LOG_P3 -1.2420140846E-1f
#define LOG_P4 1.4249322787E-1f
#define LOG_P5 -1.6668057665E-1f
#define LOG_P6 2.0000714765E-1f
#define LOG_P7 -2.4999993993E-1f
#define LOG_P8 3.3333331174E-1f
#define LOG_Q1 -2.12194440e-4f
#define LOG_Q2 0.693359375f
#define SQRTHF 0.707106781186547524f

static float fast_log(float x)
{
    uint32_t bits;
    float m, z, y, e;
    memcpy(&bits, &x, sizeof(bits));
    e = (float)((int)(bits >> 23) - 126);
    bits = (bits & 0x007fffffu) | 0x3f000000u;
    memcpy(&m, &bits, sizeof(m));
    if (m < SQRTHF) {
        e -= 1.0f;
        m = m + m - 1.0f;
    } else {
        m = m - 1.0f;
    }
    z = m * m;
    y = ((((((((LOG_P0 * m + LOG_P1) * m + LOG_P2) * m + LOG_P3) * m + LOG_P4) * m + LOG_P5) * m +
           LOG_P6) *
              m +
          LOG_P7) *
             m +
         LOG_P8) *
        m * z;
    y += LOG_Q1 * e;
    y += -0.5f * z;
    return m + y + LOG_Q2 * e;
}

#ifdef HAVE_AVX2_BUILD
__attribute__((target("avx2,fma"))) static void log_floor_avx2(float *x, size_t n, float floor)
{
    const __m256 one = _mm256_set1_ps(1.0f), lo = _mm256_set1_ps(floor);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_max_ps(_mm256_loadu_ps(x + i), lo);
        __m256i b = _mm256_castps_si256(v);
        __m256 e =
            _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b, 23), _mm256_set1_epi32(126)));
        __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
            _mm256_and_si256(b, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
        __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(SQRTHF), _CMP_LT_OQ);
        __m256 y, z;
        e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
        m = _mm256_add_ps(_mm256_sub_ps(m, one), _mm256_and_ps(m, small));
        z = _mm256_mul_ps(m, m);
        y = _mm256_set1_ps(LOG_P0);
        y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(LOG_P1));
        y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(LOG_P2));
        y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(LOG_P3));
        y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(LOG_P4));
        y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(LOG_P5));
        y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(LOG_P6));
        y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(LOG_P7));
        y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(LOG_P8));
        y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
        y = _mm256_fmadd_ps(_mm256_set1_ps(LOG_Q1), e, y);
        y = _mm256_fmadd_ps(_mm256_set1_ps(-0.5f), z, y);
        _mm256_storeu_ps(x + i, _mm256_fmadd_ps(_mm256_set1_ps(LOG_Q2), e, _mm256_add_ps(m, y)));
    }
    for (; i < n; i++)
        x[i] = fast_log(x[i] > floor ? x[i] : floor);
}
#endif

static int portable_only;

void mer_kaldi_set_portable(int on)
{
    portable_only = on;
}

void mer_kaldi_log_floor(float *x, size_t n, float floor)
{
#ifdef HAVE_AVX2_BUILD
    if (!portable_only && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        log_floor_avx2(x, n, floor);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++)
        x[i] = fast_log(x[i] > floor ? x[i] : floor);
}
