/*
 * egemaps.c: the name tables, the handle (plans, windows, filter banks) and the two entry
 * points. The frame analyses are in egemaps_lld.c, smoothing and functionals in
 * egemaps_func.c.
 */
#include "egemaps_impl.h"

#include "mer/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define F0F   "F0semitoneFrom27.5Hz_sma3nz_"
#define LDF   "loudness_sma3_"
#define MS(n) n "_amean", n "_stddevNorm"

const char *const mer_egemaps_names[MER_EGEMAPS_DIM] = {
    F0F "amean",
    F0F "stddevNorm",
    F0F "percentile20.0",
    F0F "percentile50.0",
    F0F "percentile80.0",
    F0F "pctlrange0-2",
    F0F "meanRisingSlope",
    F0F "stddevRisingSlope",
    F0F "meanFallingSlope",
    F0F "stddevFallingSlope",
    LDF "amean",
    LDF "stddevNorm",
    LDF "percentile20.0",
    LDF "percentile50.0",
    LDF "percentile80.0",
    LDF "pctlrange0-2",
    LDF "meanRisingSlope",
    LDF "stddevRisingSlope",
    LDF "meanFallingSlope",
    LDF "stddevFallingSlope",
    MS("spectralFlux_sma3"),
    MS("mfcc1_sma3"),
    MS("mfcc2_sma3"),
    MS("mfcc3_sma3"),
    MS("mfcc4_sma3"),
    MS("jitterLocal_sma3nz"),
    MS("shimmerLocaldB_sma3nz"),
    MS("HNRdBACF_sma3nz"),
    MS("logRelF0-H1-H2_sma3nz"),
    MS("logRelF0-H1-A3_sma3nz"),
    MS("F1frequency_sma3nz"),
    MS("F1bandwidth_sma3nz"),
    MS("F1amplitudeLogRelF0_sma3nz"),
    MS("F2frequency_sma3nz"),
    MS("F2bandwidth_sma3nz"),
    MS("F2amplitudeLogRelF0_sma3nz"),
    MS("F3frequency_sma3nz"),
    MS("F3bandwidth_sma3nz"),
    MS("F3amplitudeLogRelF0_sma3nz"),
    MS("alphaRatioV_sma3nz"),
    MS("hammarbergIndexV_sma3nz"),
    MS("slopeV0-500_sma3nz"),
    MS("slopeV500-1500_sma3nz"),
    MS("spectralFluxV_sma3nz"),
    MS("mfcc1V_sma3nz"),
    MS("mfcc2V_sma3nz"),
    MS("mfcc3V_sma3nz"),
    MS("mfcc4V_sma3nz"),
    "alphaRatioUV_sma3nz_amean",
    "hammarbergIndexUV_sma3nz_amean",
    "slopeUV0-500_sma3nz_amean",
    "slopeUV500-1500_sma3nz_amean",
    "spectralFluxUV_sma3nz_amean",
    "loudnessPeaksPerSec",
    "VoicedSegmentsPerSec",
    "MeanVoicedSegmentLengthSec",
    "StddevVoicedSegmentLengthSec",
    "MeanUnvoicedSegmentLength",
    "StddevUnvoicedSegmentLength",
    "equivalentSoundLevel_dBp",
};

const char *const mer_egemaps_lld_names[MER_EGEMAPS_LLD_DIM] = {
    "Loudness_sma3",
    "alphaRatio_sma3",
    "hammarbergIndex_sma3",
    "slope0-500_sma3",
    "slope500-1500_sma3",
    "spectralFlux_sma3",
    "mfcc1_sma3",
    "mfcc2_sma3",
    "mfcc3_sma3",
    "mfcc4_sma3",
    "F0semitoneFrom27.5Hz_sma3nz",
    "jitterLocal_sma3nz",
    "shimmerLocaldB_sma3nz",
    "HNRdBACF_sma3nz",
    "logRelF0-H1-H2_sma3nz",
    "logRelF0-H1-A3_sma3nz",
    "F1frequency_sma3nz",
    "F1bandwidth_sma3nz",
    "F1amplitudeLogRelF0_sma3nz",
    "F2frequency_sma3nz",
    "F2bandwidth_sma3nz",
    "F2amplitudeLogRelF0_sma3nz",
    "F3frequency_sma3nz",
    "F3bandwidth_sma3nz",
    "F3amplitudeLogRelF0_sma3nz",
};

_Static_assert(EG_N_LLD == MER_EGEMAPS_LLD_DIM, "one LLD enum per LLD name");

static size_t next_pow2(size_t n)
{
    size_t p = 4;
    while (p < n)
        p <<= 1;
    return p;
}

static double mel(double f)
{
    return 1127.0 * log(1.0 + f / 700.0);
}

static double mel_inv(double m)
{
    return 700.0 * (exp(m / 1127.0) - 1.0);
}

/* openSMILE's smileDsp_equalLoudnessWeight (the PLP curve, non-HTK variant). */
static double equal_loudness(double f)
{
    double w = 2.0 * M_PI * f, w2 = w * w, c = w2 + 6300000.0;
    return 1e32 * ((w2 + 56.8e6) * w2 * w2) / (c * c * (w2 + 0.38e9) * (w2 * w2 * w2 * w + 1.7e31));
}

static void *zalloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

static void windows_init(mer_egemaps *e)
{
    double half = ((double)e->len60 - 1.0) / 2.0;
    for (size_t i = 0; i < e->len60; i++) {
        double d = ((double)i - half) / (0.4 * half);
        e->gauss60[i] = (float)exp(-0.5 * d * d);
    }
    for (size_t i = 0; i < e->nfft60; i++)
        e->cos60[i] = cos(2.0 * M_PI * (double)i / (double)e->nfft60);
    for (size_t i = 0; i < e->len20; i++)
        e->hamming20[i] =
            (float)(0.54 - 0.46 * cos(2.0 * M_PI * (double)i / ((double)e->len20 - 1)));
}

/* cSpecScale (octave scale from 25 Hz to Nyquist, as many points as bins) and cPitchShs. */
static void octave_init(mer_egemaps *e)
{
    size_t n = e->nbin60;
    double df = (double)e->sr / (double)e->nfft60, fmax = df * (double)(n - 1);
    double *x = e->oct_src_x, y2c = 0;
    e->oct_fmin = log2(25.0);
    e->oct_step = (log2(fmax) - e->oct_fmin) / (double)(n - 1);
    e->oct_ppo = (double)n / log2(fmax / 25.0);
    for (size_t i = 1; i < n; i++)
        x[i] = log2((double)i * df);
    x[0] = 2.0 * x[1] - x[2];
    /* natural cubic spline: the forward-sweep factors depend on the abscissae only */
    for (size_t i = 1; i + 1 < n; i++) {
        double sig = (x[i] - x[i - 1]) / (x[i + 1] - x[i - 1]);
        double p = sig * y2c + 2.0;
        e->oct_sig[i] = sig;
        e->oct_p_inv[i] = 1.0 / p;
        e->oct_six[i] = 6.0 / (x[i + 1] - x[i - 1]);
        e->oct_y2c[i] = y2c = (sig - 1.0) / p;
    }
    for (size_t i = 0; i + 1 < n; i++)
        e->oct_inv_dx[i] = 1.0 / (x[i + 1] - x[i]);
    for (size_t j = 0, k = 0; j < n; j++) {
        double xt = e->oct_fmin + (double)j * e->oct_step;
        while (k + 2 < n && x[k + 1] <= xt)
            k++;
        double h = x[k + 1] - x[k], a = (x[k + 1] - xt) / h, b = (xt - x[k]) / h;
        e->oct_seg[j] = (long)k;
        e->oct_w[4 * j] = a;
        e->oct_w[4 * j + 1] = b;
        e->oct_w[4 * j + 2] = (a * a * a - a) * h * h / 6.0;
        e->oct_w[4 * j + 3] = (b * b * b - b) * h * h / 6.0;
    }
    double atan_s = e->oct_ppo * log2(65.0 / 50.0) - 1.0;
    for (size_t i = 0; i < n; i++)
        e->oct_audw[i] = 0.5 + atan(3.0 * ((double)i + 1.0 - atan_s) / e->oct_ppo) / M_PI;
    for (int h = 1; h <= 15; h++)
        e->shs_shift[h] = (long)floor(e->oct_ppo * log2((double)h));
}

/* cMelspec: 26 triangular bands equally spaced in mel between 20 Hz and min(8 kHz, Nyquist). */
static void mel_init(mer_egemaps *e)
{
    double df = (double)e->sr / (double)e->nfft20;
    double hi = fmin(8000.0, (double)e->sr / 2.0), lo_m = mel(20.0), hi_m = mel(hi);
    double cf[EG_MEL_BANDS + 2], step = (hi_m - lo_m) / (EG_MEL_BANDS + 1.0);
    long nlo = lround(20.0 / df), nhi = lround(hi / df);
    for (int m = 0; m < EG_MEL_BANDS + 2; m++)
        cf[m] = lo_m + m * step;
    for (size_t k = 0; k < e->nbin20; k++) {
        double mk = mel((double)k * df);
        int m = 0;
        e->mel_band[k] = -2;
        e->mel_w[k] = 0;
        if ((long)k <= nlo || (long)k >= nhi)
            continue;
        while (m < EG_MEL_BANDS && cf[m + 1] < mk)
            m++;
        e->mel_band[k] = m - 1; /* the band centred on cf[m] gets w, the next 1 - w */
        e->mel_w[k] = (float)((cf[m + 1] - mk) / (cf[m + 1] - cf[m]));
    }
    for (int b = 0; b < EG_MEL_BANDS; b++)
        e->eql[b] = equal_loudness(mel_inv(cf[b + 1]));
    for (int i = 0; i < EG_MFCC; i++) {
        double c = i + 1.0, lifter = 1.0 + 11.0 * sin(M_PI * c / 22.0);
        for (int m = 0; m < EG_MEL_BANDS; m++)
            e->dct[i][m] =
                sqrt(2.0 / EG_MEL_BANDS) * cos(M_PI * c / EG_MEL_BANDS * (m + 0.5)) * lifter;
    }
}

/* cSpectral's mapping of a slope band [lo, hi] Hz onto bins and edge weights. */
static struct eg_slope_band slope_band(double df, long nbin, double lo, double hi)
{
    struct eg_slope_band s;
    long i;
    double li, hiidx;
    for (i = 0; i < nbin && (double)i * df <= lo; i++)
        ;
    s.w_lo = (i < nbin && i > 0) ? ((double)i * df - lo) / df : 1.0;
    li = fmax((double)i - 1.0, 0.0);
    for (i = 0; i < nbin && (double)i * df < hi; i++)
        ;
    s.w_hi = (i < nbin && i > 0) ? (hi - (double)(i - 1) * df) / df : 1.0;
    hiidx = (i < nbin && (double)i * df == hi) ? (double)i : (double)i - 1.0;
    if (hiidx >= (double)nbin)
        hiidx = (double)nbin - 1;
    if (s.w_lo == 0.0)
        s.w_lo = 1.0;
    if (s.w_hi == 0.0)
        s.w_hi = 1.0;
    s.lo = (long)li;
    s.hi = (long)hiidx;
    s.n_ind = hiidx - li;
    return s;
}

static void spectral_init(mer_egemaps *e)
{
    double df = (double)e->sr / (double)e->nfft20, nyq = (double)e->sr / 2.0;
    long nbin = (long)e->nbin20;
    e->bin_flux_hi = (long)fmin((double)(nbin - 1), floor(5000.0 / df));
    e->slope[0] = slope_band(df, nbin, 0, 500);
    e->slope[1] = slope_band(df, nbin, 500, 1500);
    e->lpc_fs = nyq >= 5500.0 ? 11000.0 : (double)e->sr;
    e->lpc_bins = (long)fmin((double)nbin, floor(e->lpc_fs / 2.0 / df) + 1);
    for (int m = 0; m <= EG_LPC_ORDER; m++)
        for (long k = 0; k < e->lpc_bins; k++) {
            double f = (double)k * df, w = (k == 0 || f >= e->lpc_fs / 2.0) ? 1.0 : 2.0;
            e->lpc_cos[m * e->lpc_bins + k] = w * cos(2.0 * M_PI * f * m / e->lpc_fs);
        }
}

int mer_egemaps_open(mer_egemaps **out, int sample_rate)
{
    mer_egemaps *e;
    *out = NULL;
    if (sample_rate < 8000 || sample_rate > 192000)
        return mer_error("egemaps: sample rate %d Hz is outside 8000 to 192000", sample_rate);
    e = calloc(1, sizeof(*e));
    if (!e)
        return mer_error("egemaps: out of memory");
    e->sr = sample_rate;
    e->hop = (size_t)lround(0.010 * sample_rate);
    e->len60 = (size_t)lround(0.060 * sample_rate);
    e->len20 = (size_t)lround(0.020 * sample_rate);
    e->nfft60 = next_pow2(e->len60);
    e->nfft20 = next_pow2(e->len20);
    e->nbin60 = e->nfft60 / 2 + 1;
    e->nbin20 = e->nfft20 / 2 + 1;
    if (mer_fft_open(&e->fft60, e->nfft60) < 0 || mer_fft_open(&e->fft20, e->nfft20) < 0)
        goto fail;
    e->gauss60 = zalloc(e->len60, sizeof(float));
    e->hamming20 = zalloc(e->len20, sizeof(float));
    e->cos60 = zalloc(e->nfft60, sizeof(double));
    e->oct_src_x = zalloc(e->nbin60, sizeof(double));
    e->oct_sig = zalloc(e->nbin60, sizeof(double));
    e->oct_p_inv = zalloc(e->nbin60, sizeof(double));
    e->oct_y2c = zalloc(e->nbin60, sizeof(double));
    e->oct_inv_dx = zalloc(e->nbin60, sizeof(double));
    e->oct_six = zalloc(e->nbin60, sizeof(double));
    e->oct_w = zalloc(4 * e->nbin60, sizeof(double));
    e->oct_seg = zalloc(e->nbin60, sizeof(long));
    e->oct_audw = zalloc(e->nbin60, sizeof(double));
    e->mel_band = zalloc(e->nbin20, sizeof(int));
    e->mel_w = zalloc(e->nbin20, sizeof(float));
    e->lpc_cos = zalloc((EG_LPC_ORDER + 1) * e->nbin20, sizeof(double));
    if (!e->gauss60 || !e->hamming20 || !e->cos60 || !e->oct_src_x || !e->oct_sig ||
        !e->oct_p_inv || !e->oct_y2c || !e->oct_inv_dx || !e->oct_six || !e->oct_w || !e->oct_seg ||
        !e->oct_audw || !e->mel_band || !e->mel_w || !e->lpc_cos) {
        mer_error("egemaps: out of memory");
        goto fail;
    }
    windows_init(e);
    octave_init(e);
    mel_init(e);
    spectral_init(e);
    *out = e;
    return 0;
fail:
    mer_egemaps_close(e);
    return -1;
}

void mer_egemaps_close(mer_egemaps *e)
{
    if (!e)
        return;
    mer_fft_close(e->fft60);
    mer_fft_close(e->fft20);
    free(e->gauss60);
    free(e->hamming20);
    free(e->cos60);
    free(e->oct_src_x);
    free(e->oct_sig);
    free(e->oct_p_inv);
    free(e->oct_y2c);
    free(e->oct_inv_dx);
    free(e->oct_six);
    free(e->oct_w);
    free(e->oct_seg);
    free(e->oct_audw);
    free(e->mel_band);
    free(e->mel_w);
    free(e->lpc_cos);
    free(e);
}

int mer_egemaps_sample_rate(const mer_egemaps *e)
{
    return e->sr;
}

size_t mer_egemaps_frames(const mer_egemaps *e, size_t n)
{
    return n < e->len20 ? 0 : 1 + (n - e->len20) / e->hop;
}

void eg_frame(const float *x, size_t nx, size_t start, size_t len, const float *win, float *buf)
{
    for (size_t i = 0; i < len; i++) {
        float v = start + i < nx ? x[start + i] : 0.0f;
        buf[i] = win ? v * win[i] : v;
    }
}

double eg_quad_peak(double x1, double y1, double x2, double y2, double x3, double y3, double *y)
{
    double den =
        x1 * x1 * x2 + x2 * x2 * x3 + x3 * x3 * x1 - x3 * x3 * x2 - x2 * x2 * x1 - x1 * x1 * x3;
    if (den != 0.0) {
        double a = (y1 * x2 + y2 * x3 + y3 * x1 - y3 * x2 - y2 * x1 - y1 * x3) / den;
        double b = (x1 * x1 * y2 + x2 * x2 * y3 + x3 * x3 * y1 - x3 * x3 * y2 - x2 * x2 * y1 -
                    x1 * x1 * y3) /
                   den;
        double c = (x1 * x1 * x2 * y3 + x2 * x2 * x3 * y1 + x3 * x3 * x1 * y2 - x3 * x3 * x2 * y1 -
                    x2 * x2 * x1 * y3 - x1 * x1 * x3 * y2) /
                   den;
        if (a != 0.0) {
            double x = -b / (2.0 * a);
            *y = c - a * x * x;
            return x;
        }
    }
    if (y1 > y2 && y1 > y3) {
        *y = y1;
        return x1;
    }
    if (y3 > y1 && y3 > y2) {
        *y = y3;
        return x3;
    }
    *y = y2;
    return x2;
}

/* Runs the whole analysis; out (88) and lld (n frames x 25) may each be NULL. */
static int analyse(const mer_egemaps *e, const float *x, size_t nx, float *out, float *lld)
{
    struct eg_frames fr = {0};
    float *f0 = NULL;
    int ret = -1;
    for (size_t i = 0; i < nx; i++)
        if (!isfinite(x[i]))
            return mer_error("egemaps: sample %zu is not a finite number", i);
    fr.n = mer_egemaps_frames(e, nx);
    fr.all_formants = lld != NULL;
    if (fr.n == 0) {
        if (out)
            memset(out, 0, MER_EGEMAPS_DIM * sizeof(float));
        return 0;
    }
    f0 = malloc(fr.n * sizeof(float));
    fr.lld = malloc(fr.n * EG_N_LLD * sizeof(float));
    fr.energy2 = malloc(fr.n * sizeof(float));
    if (!f0 || !fr.lld || !fr.energy2) {
        mer_error("egemaps: out of memory for %zu frames", fr.n);
        goto done;
    }
    if (eg_pitch(e, x, nx, fr.n, f0) < 0 || eg_frames_compute(e, x, nx, f0, &fr) < 0 ||
        eg_functionals(&fr, out, lld) < 0)
        goto done;
    ret = 0;
done:
    free(f0);
    free(fr.lld);
    free(fr.energy2);
    return ret;
}

int mer_egemaps_compute(const mer_egemaps *e, const float *x, size_t n, float out[MER_EGEMAPS_DIM])
{
    return analyse(e, x, n, out, NULL);
}

int mer_egemaps_lld(const mer_egemaps *e, const float *x, size_t n, float *lld)
{
    return analyse(e, x, n, NULL, lld);
}
