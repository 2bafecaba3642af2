/* Kaldi fbank and MFCC (kaldi.h): the plan (window, mel banks, DCT, lifter, FFT), one frame's
 * computation as torchaudio.compliance.kaldi does it, and the stream that cuts frames. */
#include "features/kaldi_impl.h"
#include "mer/error.h"
#include "mer/kaldi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPSILON 1.1920928955078125e-07f /* numeric_limits<float>::epsilon(), as torchaudio */
#define MAX_DFT 4096 /* the direct DFT's table is 16 * MAX_DFT^2 / 2 bytes at most */

static double mel_scale(double f)
{
    return 1127.0 * log(1.0 + f / 700.0);
}

static double inverse_mel_scale(double m)
{
    return 700.0 * (exp(m / 1127.0) - 1.0);
}

/* torchaudio's vtln_warp_freq: piecewise linear, F(low) = low, F(high) = high. */
static double vtln_warp_freq(const struct mer_kaldi_opts *o, double low, double high, double vhigh,
                             double f)
{
    double w = o->vtln_warp, l = o->vtln_low * fmax(1.0, w), h = vhigh * fmin(1.0, w);
    double scale = 1.0 / w, fl = scale * l, fh = scale * h;
    if (f < low || f > high)
        return f;
    if (f < l)
        return low + (fl - low) / (l - low) * (f - low);
    if (f < h)
        return scale * f;
    return high + (high - fh) / (high - h) * (f - high);
}

static double warp_mel(const struct mer_kaldi_opts *o, double low, double high, double vhigh,
                       double mel)
{
    if (o->vtln_warp == 1.0)
        return mel;
    return mel_scale(vtln_warp_freq(o, low, high, vhigh, inverse_mel_scale(mel)));
}

/* The effective mel cut-offs (high_freq, vtln_high <= 0 count from Nyquist), checked. */
static int mel_range(const struct mer_kaldi_opts *o, double *low, double *high, double *vhigh)
{
    double nyquist = 0.5 * o->sample_frequency, lo = o->low_freq, vlo = o->vtln_low;
    double hi = o->high_freq <= 0.0 ? o->high_freq + nyquist : o->high_freq;
    double vhi = o->vtln_high < 0.0 ? o->vtln_high + nyquist : o->vtln_high;
    double l = vlo * fmax(1.0, o->vtln_warp), h = vhi * fmin(1.0, o->vtln_warp);
    *low = lo, *high = hi, *vhigh = vhi;
    if (!(0.0 <= lo && lo < hi && hi <= nyquist))
        return mer_error("kaldi options 'low_freq' %g and 'high_freq' %g: expected 0 <= low < "
                         "high <= %g (the Nyquist frequency)",
                         o->low_freq, o->high_freq, nyquist);
    if (o->vtln_warp != 1.0 && !(lo < vlo && vlo < vhi && vhi < hi && lo < l && h < hi))
        return mer_error("kaldi options 'vtln_low' %g and 'vtln_high' %g: expected "
                         "low_freq < vtln_low < vtln_high < high_freq (%g, %g)",
                         o->vtln_low, o->vtln_high, lo, hi);
    return 0;
}

/* Filter b's weight at mel frequency m, with VTLN warping (torchaudio's get_mel_banks). */
static double mel_weight(const struct mer_kaldi_opts *o, double low, double high, double vhigh,
                         int b, double mlow, double delta, double m)
{
    double left = warp_mel(o, low, high, vhigh, mlow + b * delta);
    double center = warp_mel(o, low, high, vhigh, mlow + (b + 1.0) * delta);
    double right = warp_mel(o, low, high, vhigh, mlow + (b + 2.0) * delta);
    double up = (m - left) / (center - left), down = (right - m) / (right - center);
    if (m > left && m <= center)
        return up;
    if (m > center && m < right)
        return down;
    return 0.0;
}

/* Without warping, in float32 as torchaudio computes it (both its float32 and float64 paths):
 * a weight near a filter's edge multiplies a loud neighbouring bin, so its rounding shows. */
static double mel_weight_f32(int b, double mlow, double delta, double width, size_t i)
{
    float fd = (float)delta, fl = (float)mlow, bf = (float)b;
    float left = fl + bf * fd, center = fl + (bf + 1.0f) * fd, right = fl + (bf + 2.0f) * fd;
    float m = 1127.0f * logf(1.0f + ((float)width * (float)i) / 700.0f);
    float up = (m - left) / (center - left), down = (right - m) / (right - center);
    float v = up < down ? up : down;
    return v > 0.0f ? v : 0.0f;
}

/* The mel filters as (start, length) runs over the FFT bins; weights concatenated. */
static int make_mel_banks(struct mer_kaldi *k)
{
    const struct mer_kaldi_opts *o = &k->o;
    size_t nfft = k->padded / 2, total = 0;
    double low, high, vhigh, width = o->sample_frequency / (double)k->padded;
    double mlow, delta;
    double *w = NULL;
    int ret = -1;
    if (mel_range(o, &low, &high, &vhigh) < 0)
        return -1;
    mlow = mel_scale(low);
    delta = (mel_scale(high) - mlow) / (o->num_mel_bins + 1);
    k->mel_start = calloc((size_t)o->num_mel_bins, sizeof(*k->mel_start));
    k->mel_len = calloc((size_t)o->num_mel_bins, sizeof(*k->mel_len));
    k->mel_off = calloc((size_t)o->num_mel_bins, sizeof(*k->mel_off));
    k->mel_w = malloc(nfft * (size_t)o->num_mel_bins * sizeof(float));
    w = malloc(nfft * sizeof(double));
    if (!k->mel_start || !k->mel_len || !k->mel_off || !k->mel_w || !w) {
        mer_error("out of memory");
        goto done;
    }
    for (int b = 0; b < o->num_mel_bins; b++) {
        size_t first = nfft, last = 0;
        for (size_t i = 0; i < nfft; i++) {
            w[i] = o->vtln_warp == 1.0 ? mel_weight_f32(b, mlow, delta, width, i)
                                       : mel_weight(o, low, high, vhigh, b, mlow, delta,
                                                    mel_scale(width * (double)i));
            if (w[i] != 0.0) {
                first = first < i ? first : i;
                last = i;
            }
        }
        if (first == nfft)
            first = last = 0, w[0] = 0.0; /* an empty filter: one zero weight */
        k->mel_start[b] = first;
        k->mel_len[b] = last - first + 1;
        k->mel_off[b] = total;
        for (size_t i = first; i <= last; i++)
            k->mel_w[total++] = (float)w[i];
    }
    ret = 0;
done:
    free(w);
    return ret;
}

static double window_at(const struct mer_kaldi_opts *o, size_t i, size_t n)
{
    double a = 2.0 * M_PI / (double)(n - 1), x = (double)i;
    switch (o->window_type) {
    case MER_KALDI_WINDOW_HANNING:
        return 0.5 - 0.5 * cos(a * x);
    case MER_KALDI_WINDOW_HAMMING:
        return 0.54 - 0.46 * cos(a * x);
    case MER_KALDI_WINDOW_POVEY:
        return pow(0.5 - 0.5 * cos(a * x), 0.85);
    case MER_KALDI_WINDOW_RECTANGULAR:
        return 1.0;
    case MER_KALDI_WINDOW_BLACKMAN:
        return o->blackman_coeff - 0.5 * cos(a * x) + (0.5 - o->blackman_coeff) * cos(2 * a * x);
    }
    MER_BUG("window type %d", (int)o->window_type);
    return 0.0;
}

/* The DCT-II rows Kaldi's MFCC takes (orthonormal, C0 = sqrt(1/N) * sum) and the lifter, in
 * float32 as torchaudio computes them (create_dct): log mel values near -16 in every bin make
 * a cosine's rounding add up over the bins. */
static int make_cepstra(struct mer_kaldi *k)
{
    size_t nc = (size_t)k->o.num_ceps, nm = (size_t)k->o.num_mel_bins;
    double q = k->o.cepstral_lifter;
    float step = (float)(M_PI / (double)nm), norm = (float)sqrt(2.0 / (double)nm);
    k->dct = malloc(nc * nm * sizeof(float));
    k->lifter = malloc(nc * sizeof(float));
    if (!k->dct || !k->lifter)
        return mer_error("out of memory");
    for (size_t c = 0; c < nc; c++) {
        for (size_t m = 0; m < nm; m++)
            k->dct[c * nm + m] = c == 0 ? (float)sqrt(1.0 / (double)nm)
                                        : cosf(step * ((float)m + 0.5f) * (float)c) * norm;
        k->lifter[c] =
            q != 0.0 ? 1.0f + (float)(0.5 * q) * sinf((float)M_PI * (float)c / (float)q) : 1.0f;
    }
    return 0;
}

/* A direct DFT table for a frame size that is not a power of two: cos and sin per bin. */
static int make_dft(struct mer_kaldi *k)
{
    size_t n = k->padded, bins = n / 2 + 1;
    k->dft = malloc(2 * bins * n * sizeof(double));
    if (!k->dft)
        return mer_error("out of memory");
    for (size_t b = 0; b < bins; b++)
        for (size_t i = 0; i < n; i++) {
            double a = -2.0 * M_PI * (double)((b * i) % n) / (double)n;
            k->dft[2 * (b * n + i)] = cos(a);
            k->dft[2 * (b * n + i) + 1] = sin(a);
        }
    return 0;
}

/* torchaudio's window arithmetic: int(sample_frequency * ms * 0.001), in double. */
static int frame_sizes(struct mer_kaldi *k)
{
    const struct mer_kaldi_opts *o = &k->o;
    double win = o->sample_frequency * o->frame_length * 0.001;
    double shift = o->sample_frequency * o->frame_shift * 0.001;
    if (!(win >= 2.0 && win < 1e7))
        return mer_error("kaldi option 'frame_length' %g ms: expected a window of 2 to 10^7 "
                         "samples at %g Hz",
                         o->frame_length, o->sample_frequency);
    if (!(shift >= 1.0 && shift < 1e7))
        return mer_error("kaldi option 'frame_shift' %g ms: expected a shift of 1 to 10^7 "
                         "samples at %g Hz",
                         o->frame_shift, o->sample_frequency);
    k->win = (size_t)win;
    k->shift = (size_t)shift;
    k->padded = k->win;
    if (o->round_to_power_of_two)
        for (k->padded = 1; k->padded < k->win; k->padded <<= 1)
            ;
    if (k->padded % 2)
        return mer_error("kaldi option 'frame_length' %g ms: a window of %zu samples is odd; "
                         "set round_to_power_of_two or change frame_length",
                         o->frame_length, k->win);
    return 0;
}

static int check_kind(struct mer_kaldi *k, enum mer_kaldi_kind kind)
{
    if (kind != MER_KALDI_FBANK && kind != MER_KALDI_MFCC)
        return mer_error("kaldi features: unknown kind %d", (int)kind);
    if (k->o.kind != kind)
        return mer_error("kaldi features: the options were made for %s, not %s",
                         k->o.kind == MER_KALDI_MFCC ? "mfcc" : "fbank",
                         kind == MER_KALDI_MFCC ? "mfcc" : "fbank");
    if (kind == MER_KALDI_MFCC) {
        /* torchaudio's mfcc always takes the log power spectrum */
        k->o.use_log_fbank = 1;
        k->o.use_power = 1;
        if (k->o.num_ceps > k->o.num_mel_bins)
            return mer_error("kaldi option 'num_ceps' %d: expected at most num_mel_bins (%d)",
                             k->o.num_ceps, k->o.num_mel_bins);
    }
    if (k->o.num_mel_bins < 4)
        return mer_error("kaldi option 'num_mel_bins' %d: expected at least 4", k->o.num_mel_bins);
    if (!(k->o.preemphasis_coefficient >= 0.0 && k->o.preemphasis_coefficient <= 1.0))
        return mer_error("kaldi option 'preemphasis_coefficient' %g: expected in [0, 1]",
                         k->o.preemphasis_coefficient);
    if (!(k->o.energy_floor >= 0.0 && k->o.dither >= 0.0 && k->o.vtln_warp > 0.0))
        return mer_error("kaldi options 'energy_floor', 'dither', 'vtln_warp': expected >= 0, "
                         ">= 0, > 0");
    return 0;
}

int mer_kaldi_open(mer_kaldi **out, enum mer_kaldi_kind kind, const struct mer_kaldi_opts *opts)
{
    struct mer_kaldi *k = calloc(1, sizeof(*k));
    *out = NULL;
    if (!k)
        return mer_error("out of memory");
    k->o = *opts;
    if (check_kind(k, kind) < 0 || frame_sizes(k) < 0 || make_mel_banks(k) < 0)
        goto fail;
    k->bins = k->padded / 2 + 1;
    k->window = malloc(k->win * sizeof(double));
    if (!k->window) {
        mer_error("out of memory");
        goto fail;
    }
    for (size_t i = 0; i < k->win; i++)
        k->window[i] = window_at(&k->o, i, k->win);
    if ((k->padded & (k->padded - 1)) == 0 && k->padded >= 4) {
        if (mer_fft_open(&k->fft, k->padded) < 0)
            goto fail;
    } else if (k->padded > MAX_DFT) {
        mer_error("kaldi option 'round_to_power_of_two' false: frames of %zu samples need a "
                  "direct DFT, which takes frames up to %d samples; set it true",
                  k->padded, MAX_DFT);
        goto fail;
    } else if (make_dft(k) < 0) {
        goto fail;
    }
    if (kind == MER_KALDI_MFCC) {
        if (make_cepstra(k) < 0)
            goto fail;
        k->dim = (size_t)k->o.num_ceps;
    } else {
        k->dim = (size_t)k->o.num_mel_bins + (k->o.use_energy ? 1 : 0);
    }
    k->log_energy_floor = k->o.energy_floor > 0.0 ? (float)log(k->o.energy_floor) : -INFINITY;
    *out = k;
    return 0;
fail:
    mer_kaldi_close(k);
    return -1;
}

void mer_kaldi_close(mer_kaldi *k)
{
    if (!k)
        return;
    mer_fft_close(k->fft);
    free(k->window);
    free(k->dft);
    free(k->mel_start);
    free(k->mel_len);
    free(k->mel_off);
    free(k->mel_w);
    free(k->dct);
    free(k->lifter);
    free(k);
}

size_t mer_kaldi_dim(const mer_kaldi *k)
{
    return k->dim;
}

size_t mer_kaldi_window_size(const mer_kaldi *k)
{
    return k->win;
}

size_t mer_kaldi_window_shift(const mer_kaldi *k)
{
    return k->shift;
}

size_t mer_kaldi_frames(const mer_kaldi *k, size_t n)
{
    if (n < k->win)
        return 0;
    if (k->o.snip_edges)
        return 1 + (n - k->win) / k->shift;
    return (n + k->shift / 2) / k->shift;
}

/* log(max(sum x^2, eps)) floored at log(energy_floor), as torchaudio's _get_log_energy. */
static float log_energy(const mer_kaldi *k, const double *x, size_t n, double mean)
{
    double s = mer_kaldi_sum_squares(x, n, mean);
    float e = (float)log(s > EPSILON ? s : EPSILON);
    return e > k->log_energy_floor ? e : k->log_energy_floor;
}

static void dft_power(const mer_kaldi *k, const double *x, float *power)
{
    size_t n = k->padded;
    for (size_t b = 0; b < k->bins; b++) {
        const double *t = k->dft + 2 * b * n;
        double re = 0, im = 0;
        for (size_t i = 0; i < n; i++) {
            re += x[i] * t[2 * i];
            im += x[i] * t[2 * i + 1];
        }
        power[b] = (float)(re * re + im * im);
    }
}

/* The energy, mel energies and cepstra of one frame into out[dim]. frame[window_size] holds the
 * samples (dithered); w is the stream's scratch. */
void mer_kaldi_frame(const mer_kaldi *k, double *frame, struct mer_kaldi_work *w, float *out)
{
    const struct mer_kaldi_opts *o = &k->o;
    size_t nm = (size_t)o->num_mel_bins;
    float energy = 0.0f, *mel = w->mel;
    double mean = o->remove_dc_offset ? mer_kaldi_sum(frame, k->win) / (double)k->win : 0.0;
    if (o->raw_energy)
        energy = log_energy(k, frame, k->win, mean);
    mer_kaldi_preemph_window(frame, k->win, mean, o->preemphasis_coefficient, k->window,
                             w->windowed);
    if (!o->raw_energy)
        energy = log_energy(k, w->windowed, k->win, 0.0);
    if (k->fft)
        mer_fft_power_f64(k->fft, w->windowed, w->power);
    else
        dft_power(k, w->windowed, w->power);
    if (!o->use_power)
        for (size_t b = 0; b < k->bins; b++)
            w->power[b] = sqrtf(w->power[b]);
    mer_kaldi_mel(k, w->power, mel);
    if (o->use_log_fbank)
        mer_kaldi_log_floor(mel, nm, EPSILON);
    if (o->kind == MER_KALDI_FBANK) {
        size_t at = o->use_energy && !o->htk_compat ? 1 : 0;
        memcpy(out + at, mel, nm * sizeof(float));
        if (o->use_energy)
            out[o->htk_compat ? nm : 0] = energy;
        return;
    }
    mer_kaldi_cepstra(k, mel, energy, out);
}

void mer_kaldi_cepstra(const mer_kaldi *k, const float *mel, float energy, float *out)
{
    const struct mer_kaldi_opts *o = &k->o;
    size_t nc = (size_t)o->num_ceps, nm = (size_t)o->num_mel_bins;
    float c0;
    for (size_t c = 0; c < nc; c++) {
        const float *row = k->dct + c * nm;
        float s = 0.0f;
        for (size_t m = 0; m < nm; m++)
            s += row[m] * mel[m];
        out[c] = s * k->lifter[c];
    }
    if (o->use_energy)
        out[0] = energy;
    if (!o->htk_compat)
        return;
    c0 = out[0];
    memmove(out, out + 1, (nc - 1) * sizeof(float));
    out[nc - 1] = o->use_energy ? c0 : c0 * (float)M_SQRT2;
}
