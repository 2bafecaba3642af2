/*
 * egemaps_lld.c: every frame-level descriptor but pitch, after the openSMILE components the
 * GeMAPS graph uses: cPitchJitter (jitter, shimmer), cHarmonics (HNR from the ACF, H1-H2,
 * H1-A3, formant amplitudes), cMelspec + cPlp + cVectorOperation (loudness), cMelspec + cMfcc
 * (MFCC 1-4), cSpectral (alpha ratio, Hammarberg index, slopes, flux), cLpc + cFormantLpc
 * (F1-F3 and bandwidths) and cEnergy (the frame power for Leq).
 */
#include "egemaps_impl.h"

#include "mer/error.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JITTER_SEARCH 0.1 /* searchRangeRel */
#define JITTER_MIN_CC 0.5
#define MIN_PERIODS   2
#define LOG_FLOOR_REL -201.0f

/* Prefix sums of x and x^2 over a frame, so that each correlation below costs one pass. */
struct prefix {
    double *s, *s2; /* [len + 1] */
};

/* Scratch of one call, sized for the handle's frames. */
struct work {
    float *f60, *f20, *fw, *mag60, *pow60, *mag20, *pow20, *prev_mag20, *acf;
    unsigned char *have;
    double *cc;
    struct prefix pre;
};

struct jitter_state {
    double jitter, shimmer; /* the last values, reused when a voiced frame finds no period */
};

static void prefix_fill(const float *x, long n, struct prefix *p)
{
    p->s[0] = p->s2[0] = 0;
    for (long i = 0; i < n; i++) {
        p->s[i + 1] = p->s[i] + x[i];
        p->s2[i + 1] = p->s2[i] + (double)x[i] * x[i];
    }
}

/* Normalised (mean-removed) cross-correlation of x[a .. a+n) and x[b .. b+n). */
static double cross_corr(const float *x, const struct prefix *p, long a, long b, long n)
{
    double acc[4] = {0, 0, 0, 0}, sxy, sx = p->s[a + n] - p->s[a], sy = p->s[b + n] - p->s[b];
    double sxx = p->s2[a + n] - p->s2[a] - sx * sx / (double)n;
    double syy = p->s2[b + n] - p->s2[b] - sy * sy / (double)n;
    long i = 0;
    for (; i + 4 <= n; i += 4) /* four sums, so that the compiler may vectorise */
        for (int k = 0; k < 4; k++)
            acc[k] += (double)x[a + i + k] * x[b + i + k];
    for (; i < n; i++)
        acc[0] += (double)x[a + i] * x[b + i];
    sxy = acc[0] + acc[1] + acc[2] + acc[3] - sx * sy / (double)n;
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0.0;
}

static double peak_to_peak(const float *x, long n)
{
    float lo = x[1], hi = x[1];
    for (long i = 1; i < n - 1; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    return (double)hi - (double)lo;
}

/*
 * cPitchJitter's period walk over one voiced 60 ms frame: each next period is the lag (within
 * +-10% of 1/F0) that maximises the normalised cross-correlation of two consecutive
 * stretches; periods with correlation above 0.5 count. jitter = mean |T_i - T_i-1| / mean T;
 * shimmer = sum |A_i - A_i+1| / sum (A_i + A_i+1) / 2 with A the peak-to-peak amplitude,
 * reported as 20 log10(1 + shimmer) dB.
 */
static void jitter_shimmer(const float *x, long len, double f0, double sr, double *cc,
                           struct prefix *pre, struct jitter_state *st)
{
    double tf = sr / f0, last_t0 = 0, jit = 0, period_sum = 0, amp = 0, amp_diff = 0;
    long t0 = lround(tf), tmin = (long)floor((1.0 - JITTER_SEARCH) * tf);
    long tmax = (long)ceil((1.0 + JITTER_SEARCH) * tf), start = 0;
    int n_periods = 0, n_diffs = 0;
    if (tmin < 2 || len < MIN_PERIODS * tmax + MIN_PERIODS)
        return;
    prefix_fill(x, len, pre);
    while (start < len - 2 * tmax - 1) {
        long best = -1;
        for (long lag = tmin; lag <= tmax; lag++)
            cc[lag - tmin] = cross_corr(x, pre, start, start + lag, lag);
        for (long i = 1; i < tmax - tmin - 1; i++)
            if (cc[i - 1] < cc[i] && cc[i] > cc[i + 1] && (best < 0 || cc[i] > cc[best]))
                best = i;
        if (best < 0) {
            start += t0;
            continue;
        }
        long pp = tmin + best, os = start;
        double cc_peak = 0;
        double lag =
            (double)tmin + eg_quad_peak((double)(best - 1), cc[best - 1], (double)best, cc[best],
                                        (double)(best + 1), cc[best + 1], &cc_peak);
        start += pp;
        if (cc_peak > JITTER_MIN_CC) {
            double a0 = peak_to_peak(x + os, pp), a1 = peak_to_peak(x + start, pp);
            double period = fabs(lag) / sr;
            period_sum += period;
            n_periods++;
            if (last_t0 > 0) {
                jit += fabs(last_t0 - period);
                n_diffs++;
            }
            last_t0 = period;
            amp += (a0 + a1) / 2.0;
            amp_diff += fabs(a0 - a1);
        }
    }
    if (n_periods > 0 && n_diffs > 0)
        st->jitter = fmin(1.0, (jit / n_diffs) / (period_sum / n_periods));
    else if (n_periods > 0)
        st->jitter = 0; /* one period only: openSMILE writes 0, not the last value */
    if (n_periods > 0 && amp > 0)
        st->shimmer = fmin(1.0, amp_diff / amp);
}

static int is_peak(const float *x, long n, long i)
{
    if (i >= n || i < 0)
        return 0;
    if (i + 1 < n)
        return i > 0 ? (x[i] > x[i - 1] && x[i] > x[i + 1]) : x[0] > x[1];
    return i > 0 && x[i] > x[i - 1];
}

/* The autocorrelation of a 60 ms frame from its power spectrum (the inverse transform of
 * the power, up to a scale that the HNR ratio cancels), one lag at a time as the peak search
 * asks for it: a handful of lags instead of a whole transform. */
struct lazy_acf {
    const mer_egemaps *e;
    const float *pow;
    float *val;
    unsigned char *have;
};

static float acf_at(struct lazy_acf *a, long m)
{
    if (!a->have[m]) {
        size_t n = a->e->nfft60, half = n / 2;
        const double *c = a->e->cos60;
        double s = a->pow[0] + (m % 2 ? -1.0 : 1.0) * a->pow[half], s2 = 0;
        for (size_t k = 1, i = (size_t)m; k < half; k++) { /* i = k m mod n */
            s2 += a->pow[k] * c[i];
            i += (size_t)m;
            i -= i >= n ? n : 0;
        }
        s += 2.0 * s2;
        a->val[m] = (float)fabs(s);
        a->have[m] = 1;
    }
    return a->val[m];
}

/* cHarmonics::isPeak on the ACF. */
static int acf_is_peak(struct lazy_acf *a, long n, long i)
{
    if (i >= n || i < 0)
        return 0;
    if (i + 1 < n)
        return i > 0 ? (acf_at(a, i) > acf_at(a, i - 1) && acf_at(a, i) > acf_at(a, i + 1))
                     : acf_at(a, 0) > acf_at(a, 1);
    return i > 0 && acf_at(a, i) > acf_at(a, i - 1);
}

/* cHarmonics::getClosestPeak: the nearest local maximum, looking left first. */
static long acf_closest_peak(struct lazy_acf *a, long n, long i)
{
    if (acf_is_peak(a, n, i))
        return i;
    for (long o = 1; i - o > 0 || i + o < n - 1; o++) {
        if (i - o > 0 && acf_is_peak(a, n, i - o))
            return i - o;
        if (i + o < n - 1 && acf_is_peak(a, n, i + o))
            return i + o;
    }
    return i;
}

/* cHarmonics' HNR: 10 log10(r(T0) / (r(0) - r(T0))), T0 the ACF peak nearest sr / F0. */
static float hnr_acf(const mer_egemaps *e, const float *pow, double f0, float *val,
                     unsigned char *have)
{
    struct lazy_acf a = {e, pow, val, have};
    long n = (long)e->nbin60, bin = (long)floor((double)e->sr / f0);
    double d, h;
    if (bin <= 0 || bin >= n)
        return 0;
    memset(have, 0, (size_t)n);
    bin = acf_closest_peak(&a, n, bin);
    if (bin <= 0)
        return 0;
    d = (double)acf_at(&a, 0) - acf_at(&a, bin);
    h = d == 0.0 ? 1e11 : acf_at(&a, bin) / d;
    return (float)(10.0 * log10(fmin(fmax(h, 1e-11), 1e11)));
}

struct harmonic {
    long bin;
    double freq, mag, mag_interp, log_rel;
};

#define N_HARMONICS 100

static long freq_to_bin(double df, long n, double f, long start)
{
    for (long b = start > 0 ? start : 1; b < n; b++)
        if ((double)b * df > f)
            return ((double)b * df - f > f - (double)(b - 1) * df) ? b - 1 : b;
    return 0;
}

/* cHarmonics::findHarmonicPeaks (its branch for a spectrum with a frequency axis) and
 * postProcessHarmonics: peaks near k * F0, magnitudes relative to H1 in dB. */
static void find_harmonics(const mer_egemaps *e, const float *mag, double f0, struct harmonic *h)
{
    long n = (long)e->nbin60;
    double df = (double)e->sr / (double)e->nfft60, log_h1 = 0;
    long last = freq_to_bin(df, n, 0.5 * f0, 1), first = freq_to_bin(df, n, 0.5 * f0, last);
    for (int i = 0; i < N_HARMONICS; i++) {
        long cand = freq_to_bin(df, n, (i + 1) * f0, last), peak = -1;
        memset(&h[i], 0, sizeof(h[i]));
        h[i].log_rel = -201.0;
        h[i].bin = -1;
        if (cand <= 0 || cand >= n) /* past Nyquist: freq_to_bin gives 0 */
            continue;
        if (is_peak(mag, n, cand)) {
            peak = cand;
        } else {
            long l = cand - 1, r = cand + 1;
            long lo = freq_to_bin(df, n, (i + 0.5) * f0, last);
            long hi = freq_to_bin(df, n, (i + 1.5) * f0, cand);
            if (hi == 0)
                hi = n - 1;
            while ((l >= lo || r <= hi) && peak < 0) {
                if (r <= hi) {
                    if (is_peak(mag, n, r)) {
                        peak = r;
                        break;
                    }
                    r++;
                }
                if (l >= lo) {
                    if (is_peak(mag, n, l)) {
                        peak = l;
                        break;
                    }
                    l--;
                }
            }
        }
        if (peak >= first && peak < n - 1 && peak > 0) {
            double m = 0;
            h[i].bin = peak;
            h[i].mag = mag[peak];
            h[i].freq = eg_quad_peak((peak - 1) * df, mag[peak - 1], peak * df, mag[peak],
                                     (peak + 1) * df, mag[peak + 1], &m);
            h[i].mag_interp = m;
        } else {
            h[i].bin = cand;
        }
        last = cand;
    }
    if (h[0].mag > 0)
        log_h1 = log10(h[0].mag);
    h[0].log_rel = 0;
    for (int i = 1; i < N_HARMONICS; i++) {
        if (h[0].mag <= 0)
            h[i].log_rel = -201.0;
        else if (h[i].mag_interp > 0)
            h[i].log_rel = fmax(-200.0, 20.0 * (log10(h[i].mag_interp) - log_h1));
        else
            h[i].log_rel = -200.0;
        if (h[i].bin == h[i - 1].bin) {
            memset(&h[i], 0, sizeof(h[i]));
            h[i].log_rel = -201.0;
        }
    }
}

/* The strongest harmonic within +-20% of a formant frequency, or -1. */
static int formant_harmonic(const struct harmonic *h, double fc)
{
    int best = -1;
    double best_mag = 0;
    for (int i = 0; i < N_HARMONICS; i++)
        if (h[i].freq >= 0.8 * fc && h[i].freq <= 1.2 * fc && h[i].mag > best_mag) {
            best = i;
            best_mag = h[i].mag;
        }
    return best;
}

static float clamp201(double v)
{
    return (float)fmin(201.0, fmax(-201.0, v));
}

static void harmonics_lld(const mer_egemaps *e, const float *mag, double f0, float *lld)
{
    struct harmonic h[N_HARMONICS];
    if (f0 <= 0) {
        lld[EG_H1H2] = lld[EG_H1A3] = 0;
        lld[EG_F1_AMP] = lld[EG_F2_AMP] = lld[EG_F3_AMP] = LOG_FLOOR_REL;
        return;
    }
    find_harmonics(e, mag, f0, h);
    lld[EG_H1H2] = clamp201(h[0].log_rel - h[1].log_rel);
    for (int f = 0; f < 3; f++) {
        int idx = formant_harmonic(h, lld[EG_F1_FREQ + 3 * f]);
        lld[EG_F1_AMP + 3 * f] = idx >= 0 ? (float)h[idx].log_rel : 0.0f;
        if (f == 2)
            lld[EG_H1A3] =
                idx >= 0 ? clamp201(h[0].log_rel - h[idx].log_rel) : clamp201(h[0].log_rel - 201.0);
    }
}

/* Levinson-Durbin on r[0..p] into a[0..p] (a[0] = 1); 0 if the frame has no energy. */
static int levinson(const double *r, double *a, int p)
{
    double err = r[0], tmp[EG_LPC_ORDER + 1];
    if (!(err > 0))
        return 0;
    memset(a, 0, (size_t)(p + 1) * sizeof(double));
    a[0] = 1;
    for (int i = 1; i <= p; i++) {
        double k = -r[i];
        for (int j = 1; j < i; j++)
            k -= a[j] * r[i - j];
        k /= err;
        memcpy(tmp, a, sizeof(tmp));
        for (int j = 1; j < i; j++)
            a[j] = tmp[j] + k * tmp[i - j];
        a[i] = k;
        err *= 1.0 - k * k;
        if (!(err > 0))
            break;
    }
    return 1;
}

/* |z| without hypot's overflow care (the values here are small). */
static double cmod(double complex z)
{
    return sqrt(creal(z) * creal(z) + cimag(z) * cimag(z));
}

/* One root of sum_j c[j] z^j (degree m) by Laguerre's method from *x (after Numerical
 * Recipes' laguer: fractional steps break limit cycles). */
static void laguerre(const double complex *c, int m, double complex *x)
{
    static const double frac[] = {0.0, 0.5, 0.25, 0.75, 0.13, 0.38, 0.62, 0.88, 1.0};
    for (int it = 1; it <= 80; it++) {
        double complex b = c[m], d = 0, f = 0, g, g2, h, sq, gp, gm, dx, x1;
        double err = cmod(b), abx = cmod(*x);
        for (int j = m - 1; j >= 0; j--) {
            f = *x * f + d;
            d = *x * d + b;
            b = *x * b + c[j];
            err = cmod(b) + abx * err;
        }
        if (cmod(b) <= err * 1e-12)
            return;
        g = d / b;
        g2 = g * g;
        h = g2 - 2.0 * f / b;
        sq = csqrt((m - 1) * (m * h - g2));
        gp = g + sq;
        gm = g - sq;
        if (cmod(gp) < cmod(gm))
            gp = gm;
        dx = fmax(cmod(gp), cmod(gm)) > 0 ? m / gp : (1 + abx) * cexp(I * (double)it);
        x1 = *x - dx;
        if (x1 == *x)
            return;
        *x = it % 10 ? x1 : *x - frac[it / 10] * dx;
    }
}

/* The roots of z^p + a[1] z^(p-1) + ... + a[p]: Laguerre with deflation, then each root
 * polished on the full polynomial. */
static void poly_roots(const double *a, int p, double complex *z)
{
    double complex c[EG_LPC_ORDER + 1], d[EG_LPC_ORDER + 1];
    for (int j = 0; j <= p; j++)
        c[j] = d[j] = a[p - j]; /* ascending powers */
    for (int m = p; m >= 1; m--) {
        double complex x = 0, b, t;
        laguerre(d, m, &x);
        z[m - 1] = x;
        b = d[m];
        for (int j = m - 1; j >= 0; j--) { /* deflate by (z - x) */
            t = d[j];
            d[j] = b;
            b = x * b + t;
        }
    }
    for (int i = 0; i < p; i++)
        laguerre(c, p, &z[i]);
}

/* cLpc (autocorrelation method, order 11 at 11 kHz) and cFormantLpc: the pole angles within
 * 50..5450 Hz, ascending, and their bandwidths -ln|z| fs / pi. */
static void formants_lld(const mer_egemaps *e, const float *pow20, float *lld)
{
    double r[EG_LPC_ORDER + 1], a[EG_LPC_ORDER + 1], fc[EG_FORMANTS], bw[EG_FORMANTS];
    double complex z[EG_LPC_ORDER];
    int nf = 0;
    for (int f = 0; f < 3; f++)
        lld[EG_F1_FREQ + 3 * f] = lld[EG_F1_BW + 3 * f] = 0;
    for (int m = 0; m <= EG_LPC_ORDER; m++) {
        const double *c = e->lpc_cos + m * e->lpc_bins;
        double s = 0;
        for (long k = 0; k < e->lpc_bins; k++)
            s += c[k] * pow20[k];
        r[m] = s;
    }
    if (!levinson(r, a, EG_LPC_ORDER))
        return;
    poly_roots(a, EG_LPC_ORDER, z);
    for (int i = 0; i < EG_LPC_ORDER && nf < EG_FORMANTS; i++) {
        double complex zi = z[i];
        double mag = cabs(zi), f;
        if (mag > 1.0)
            zi = zi / (mag * mag); /* reflect into the unit circle: 1 / conj(z) */
        if (cimag(zi) < 0)
            continue;
        f = fabs(carg(zi)) / (2.0 * M_PI) * e->lpc_fs;
        if (f < 50.0 || f > fmin(5450.0, e->lpc_fs / 2.0 - 50.0))
            continue;
        fc[nf] = f;
        bw[nf] = -log(cabs(zi)) * e->lpc_fs / M_PI;
        nf++;
    }
    for (int i = 0; i < nf; i++)
        for (int j = i + 1; j < nf; j++)
            if (fc[j] < fc[i]) {
                double t = fc[i];
                fc[i] = fc[j];
                fc[j] = t;
                t = bw[i];
                bw[i] = bw[j];
                bw[j] = t;
            }
    for (int f = 0; f < 3 && f < nf; f++) {
        lld[EG_F1_FREQ + 3 * f] = (float)fc[f];
        lld[EG_F1_BW + 3 * f] = (float)bw[f];
    }
}

/* Loudness (auditory spectrum: mel power, equal loudness, cube-root-ish compression, mean
 * over bands) and MFCC 1-4 (HTK scaling and floor, DCT-II, lifter 22). */
static void mel_lld(const mer_egemaps *e, const float *pow20, float *lld)
{
    double band[EG_MEL_BANDS] = {0}, loud = 0;
    for (size_t k = 0; k < e->nbin20; k++) {
        int b = e->mel_band[k];
        double a = (double)pow20[k] * e->mel_w[k];
        if (b < -1)
            continue;
        if (b >= 0)
            band[b] += a;
        if (b < EG_MEL_BANDS - 1)
            band[b + 1] += pow20[k] - a;
    }
    for (int b = 0; b < EG_MEL_BANDS; b++)
        loud += pow(fmax(band[b], 0.00000000093) * e->eql[b], 0.33);
    lld[EG_LOUDNESS] = (float)(loud / EG_MEL_BANDS);
    for (int i = 0; i < EG_MFCC; i++) {
        double c = 0;
        for (int b = 0; b < EG_MEL_BANDS; b++)
            c += log(fmax(band[b] * 32767.0 * 32767.0, 1.0)) * e->dct[i][b];
        lld[EG_MFCC1 + i] = (float)c;
    }
}

static double db_power(double p)
{
    return p <= 1e-14 ? -140.0 : 10.0 * log10(p);
}

/* cSpectral's least-squares slope of the dB power spectrum over one band (dB per Hz). */
static float band_slope(const struct eg_slope_band *s, double df, const float *pow20)
{
    double f = (double)s->lo * df, sf = f * s->w_lo, s2f = sf * sf;
    double sa = f * s->w_lo * db_power(pow20[s->lo]), sb = s->w_lo * db_power(pow20[s->lo]);
    for (long i = s->lo + 1; i < s->hi; i++) {
        double fi = (double)i * df, l = db_power(pow20[i]);
        s2f += fi * fi;
        sf += fi;
        sa += fi * l;
        sb += l;
    }
    f = (double)s->hi * df * s->w_hi;
    s2f += f * f;
    sf += f;
    sa += f * db_power(pow20[s->hi]);
    sb += s->w_hi * db_power(pow20[s->hi]);
    double den = s->n_ind * s2f - sf * sf;
    return den != 0.0 ? (float)((s->n_ind * sa - sf * sb) / den) : 0.0f;
}

static void spectral_lld(const mer_egemaps *e, const float *mag20, const float *prev_mag20,
                         const float *pow20, float *lld)
{
    double df = (double)e->sr / (double)e->nfft20, lo = 0, hi = 0, max02 = 0, max25 = 0;
    for (size_t k = 0; k < e->nbin20 && (double)k * df <= 5000.0; k++) {
        double f = (double)k * df, p = pow20[k];
        if (f < 1000.0)
            lo += p;
        else
            hi += p;
        if (f < 2000.0)
            max02 = fmax(max02, p);
        else
            max25 = fmax(max25, p);
    }
    lld[EG_ALPHA] = lo > 0 ? (float)(10.0 * log10(fmax(hi, 1e-14) / lo)) : 0.0f;
    lld[EG_HAMMARBERG] = max25 > 0 ? (float)(10.0 * log10(fmax(max02, 1e-14) / max25)) : 0.0f;
    lld[EG_SLOPE0_500] = band_slope(&e->slope[0], df, pow20);
    lld[EG_SLOPE500_1500] = band_slope(&e->slope[1], df, pow20);
    if (prev_mag20) {
        double s = 0;
        for (long k = 0; k <= e->bin_flux_hi; k++) {
            double d = (double)mag20[k] - prev_mag20[k];
            s += d * d;
        }
        lld[EG_FLUX] = (float)sqrt(s / (double)(e->bin_flux_hi + 1));
    } else {
        lld[EG_FLUX] = 0;
    }
}

static void work_free(struct work *w)
{
    free(w->f60);
    free(w->cc);
    free(w->have);
}

static int work_alloc(const mer_egemaps *e, struct work *w)
{
    size_t n60 = e->nfft60 + 2, n20 = e->nfft20 + 2;
    size_t total = n60 * 5 + n20 * 5;
    memset(w, 0, sizeof(*w));
    w->f60 = calloc(total, sizeof(float));
    w->cc = calloc((e->len60 + 2) * 3, sizeof(double));
    w->have = calloc(e->nbin60, 1);
    if (!w->f60 || !w->cc || !w->have) {
        work_free(w);
        return mer_error("egemaps: out of memory");
    }
    w->pre.s = w->cc + e->len60 + 2;
    w->pre.s2 = w->pre.s + e->len60 + 2;
    w->fw = w->f60 + n60;
    w->mag60 = w->fw + n60;
    w->pow60 = w->mag60 + n60;
    w->acf = w->pow60 + n60;
    w->f20 = w->acf + n60;
    w->mag20 = w->f20 + n20;
    w->pow20 = w->mag20 + n20;
    w->prev_mag20 = w->pow20 + n20;
    return 0;
}

/* The descriptors from the 60 ms Gaussian frame: jitter, shimmer, HNR, harmonics. */
static void frame60(const mer_egemaps *e, const float *x, size_t nx, size_t t, double f0,
                    struct work *w, struct jitter_state *js, float *lld)
{
    size_t start = t * e->hop;
    lld[EG_JITTER] = lld[EG_SHIMMER] = lld[EG_HNR] = 0;
    if (f0 <= 0) {
        js->jitter = js->shimmer = 0;
        harmonics_lld(e, NULL, 0, lld);
        return;
    }
    memset(w->f60, 0, e->nfft60 * sizeof(float));
    eg_frame(x, nx, start, e->len60, NULL, w->f60);
    jitter_shimmer(w->f60, (long)e->len60, f0, e->sr, w->cc, &w->pre, js);
    lld[EG_JITTER] = (float)js->jitter;
    lld[EG_SHIMMER] = (float)(20.0 * log10(1.0 + js->shimmer));
    for (size_t i = 0; i < e->len60; i++)
        w->f60[i] *= e->gauss60[i];
    mer_fft_power(e->fft60, w->f60, w->fw, w->pow60);
    for (size_t k = 0; k < e->nbin60; k++)
        w->mag60[k] = sqrtf(w->pow60[k]);
    lld[EG_HNR] = hnr_acf(e, w->pow60, f0, w->acf, w->have);
    harmonics_lld(e, w->mag60, f0, lld);
}

int eg_frames_compute(const mer_egemaps *e, const float *x, size_t nx, const float *f0,
                      struct eg_frames *fr)
{
    struct work w;
    struct jitter_state js = {0, 0};
    if (work_alloc(e, &w) < 0)
        return -1;
    for (size_t t = 0; t < fr->n; t++) {
        float *lld = fr->lld + t * EG_N_LLD;
        double sum2 = 0, f = f0[t];
        memset(w.f20, 0, e->nfft20 * sizeof(float));
        eg_frame(x, nx, t * e->hop, e->len20, NULL, w.f20);
        for (size_t i = 0; i < e->len20; i++)
            sum2 += (double)w.f20[i] * w.f20[i];
        fr->energy2[t] = (float)(sum2 / (double)e->len20);
        for (size_t i = 0; i < e->len20; i++)
            w.f20[i] *= e->hamming20[i];
        mer_fft_power(e->fft20, w.f20, w.fw, w.pow20);
        for (size_t k = 0; k < e->nbin20; k++)
            w.mag20[k] = sqrtf(w.pow20[k]);
        mel_lld(e, w.pow20, lld);
        spectral_lld(e, w.mag20, t ? w.prev_mag20 : NULL, w.pow20, lld);
        memcpy(w.prev_mag20, w.mag20, e->nbin20 * sizeof(float));
        if (fr->all_formants || f > 0)
            formants_lld(e, w.pow20, lld);
        else
            for (int k = 0; k < 3; k++)
                lld[EG_F1_FREQ + 3 * k] = lld[EG_F1_BW + 3 * k] = 0;
        lld[EG_F0] = f > 29.136 ? (float)(12.0 * log2(f / 27.5)) : (f > 0 ? 1.0f : 0.0f);
        frame60(e, x, nx, t, f, &w, &js, lld);
    }
    work_free(&w);
    return 0;
}
