/*
 * egemaps_func.c: from raw frame descriptors to the 88 eGeMAPSv02 functionals, as the v02
 * config wires cContourSmoother, cValbasedSelector and cFunctionals (Moments, Percentiles,
 * Peaks2, Segments, Means): same smoothing, voiced/unvoiced split and functional definitions.
 */
#include "egemaps_impl.h"

#include "mer/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_PERIOD 0.01 /* seconds */
#define PEAK_REL     0.1  /* Peaks2.relThresh */
#define SEG_MIN      3    /* Segments.segMinLng (frames) */
#define PAUSE_MIN    2    /* Segments.pauseMinLng (frames) */

/* sma3: the mean of the frame and its neighbours; with nz, zeros stay zero and are left out
 * of their neighbours' means (noZeroSma). */
static void sma3(const float *x, size_t stride, size_t n, int nz, float *out)
{
    for (size_t t = 0; t < n; t++) {
        double s = 0;
        int c = 0;
        if (nz && x[t * stride] == 0.0f) {
            out[t] = 0;
            continue;
        }
        for (size_t u = t ? t - 1 : 0; u <= t + 1 && u < n; u++) {
            float v = x[u * stride];
            if (nz && v == 0.0f)
                continue;
            s += v;
            c++;
        }
        out[t] = (float)(s / c);
    }
}

/* The values of x[n] (all of them, or only the nonzero ones) into v; their count. */
static size_t select_values(const float *x, size_t n, int nonzero, float *v)
{
    size_t m = 0;
    for (size_t t = 0; t < n; t++)
        if (!nonzero || x[t] != 0.0f)
            v[m++] = x[t];
    return m;
}

/* amean and stddevNorm (openSMILE's "compatible" form: std / mean, mean 0 read as 1). */
static void moments(const float *v, size_t n, float *amean, float *stddev_norm)
{
    double mean = 0, m2 = 0;
    *amean = *stddev_norm = 0;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        mean += v[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        m2 += (v[i] - mean) * (v[i] - mean);
    m2 /= (double)n;
    *amean = (float)mean;
    if (m2 > 0)
        *stddev_norm = (float)(sqrt(m2) / (mean == 0.0 ? 1.0 : mean));
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float percentile(const float *sorted, size_t n, double p)
{
    double idx = p * (double)(n - 1);
    size_t i1 = (size_t)floor(idx), i2 = (size_t)ceil(idx);
    if (i1 == i2)
        return sorted[i1];
    return (float)(sorted[i1] * ((double)i2 - idx) + sorted[i2] * (idx - (double)i1));
}

/* Percentiles 20, 50, 80 (linear interpolation) and their range; v is sorted in place. */
static void percentiles(float *v, size_t n, float *out)
{
    memset(out, 0, 4 * sizeof(float));
    if (n == 0)
        return;
    qsort(v, n, sizeof(float), cmp_float);
    out[0] = percentile(v, n, 0.2);
    out[1] = percentile(v, n, 0.5);
    out[2] = percentile(v, n, 0.8);
    out[3] = out[2] - out[0];
}

/* Peaks2's list of local extrema; alive[] marks those its three passes keep. */
struct extrema {
    size_t n;
    int *type; /* 1 max, 0 min */
    long *x;
    float *y;
    unsigned char *alive;
};

static int below(float diff, float thresh)
{
    return diff < thresh;
}

/* cFunctionalPeaks2::process's three pruning passes, transcribed. */
static void peaks_prune(struct extrema *m, const float *in, float thresh)
{
    float last_val = in[0], last_min = in[0], last_max = in[0];
    long last_max_i = -1, last_min_i = -1;
    int min_flag = 0, init = 1;
    for (size_t i = 0; i < m->n; i++) {
        if (m->type[i] == 1) {
            if (below(fabsf(m->y[i] - last_val), thresh)) {
                if (below(m->y[i] - last_min, thresh)) {
                    m->alive[i] = 0;
                } else {
                    if (m->y[i] > last_max * 1.05f) {
                        if (last_max_i >= 0)
                            m->alive[last_max_i] = 0;
                        last_max = m->y[i];
                        last_max_i = (long)i;
                    } else if (min_flag) {
                        last_max = m->y[i];
                        last_max_i = (long)i;
                    } else {
                        m->alive[i] = 0;
                    }
                    min_flag = 0;
                }
            } else {
                min_flag = 0;
                last_max = m->y[i];
                last_max_i = (long)i;
            }
        } else if (!below(fabsf(m->y[i] - last_val), thresh)) {
            min_flag = 1;
            last_min = m->y[i];
        }
        last_val = m->y[i];
    }
    last_max = in[0];
    for (size_t i = 0; i < m->n; i++) {
        if (!m->alive[i])
            continue;
        if (m->type[i] == 0 && below(last_max - m->y[i], thresh))
            m->alive[i] = 0;
        else if (m->type[i] == 1)
            last_max = m->y[i];
    }
    last_max = last_min = in[0];
    min_flag = 0;
    last_max_i = last_min_i = -1;
    for (size_t i = 0; i < m->n; i++) {
        if (!m->alive[i])
            continue;
        if (m->type[i] == 0) {
            if (!min_flag || init) {
                last_min = m->y[i];
                last_min_i = (long)i;
                min_flag = 1;
                init = 0;
            } else if (m->y[i] >= last_min) {
                m->alive[i] = 0;
            } else {
                m->alive[last_min_i] = 0;
                last_min_i = (long)i;
                last_min = m->y[i];
            }
        } else {
            if (min_flag || init) {
                last_max = m->y[i];
                last_max_i = (long)i;
                min_flag = 0;
                init = 0;
            } else if (m->y[i] <= last_max) {
                m->alive[i] = 0;
            } else {
                m->alive[last_max_i] = 0;
                last_max_i = (long)i;
                last_max = m->y[i];
            }
        }
    }
}

struct slope_acc {
    double sum, sum2;
    int n;
};

static void slope_add(struct slope_acc *a, double s)
{
    a->sum += s;
    a->sum2 += s * s;
    a->n++;
}

/* Mean and (population) standard deviation of the slopes (0 when there are none). */
static void slope_stats(const struct slope_acc *a, float *mean, float *sd)
{
    double m = a->n > 1 ? a->sum / a->n : a->sum;
    double var = a->n > 1 ? a->sum2 / a->n - m * m : 0.0;
    *mean = (float)m;
    *sd = var > 0 ? (float)sqrt(var) : 0.0f;
}

/*
 * Peaks2 over in[n]: out[0..3] = mean/stddev of rising slopes, mean/stddev of falling slopes
 * (per second; a rising slope joins a minimum, or the start, to the next maximum), and *peaks
 * = the number of maxima per second. Extrema must rise or fall by 10% of the range.
 */
static int peaks2(const float *in, size_t n, float *out, float *peaks)
{
    struct extrema m = {0};
    struct slope_acc rise = {0}, fall = {0};
    float lo, hi, last_max, last_min;
    long last_max_pos = 0, last_min_pos = 0;
    int last_is_max = -1;
    size_t n_peaks = 0;
    memset(out, 0, 4 * sizeof(float));
    *peaks = 0;
    if (n == 0)
        return 0;
    m.type = malloc(n * sizeof(int));
    m.x = malloc(n * sizeof(long));
    m.y = malloc(n * sizeof(float));
    m.alive = malloc(n);
    if (!m.type || !m.x || !m.y || !m.alive) {
        free(m.type);
        free(m.x);
        free(m.y);
        free(m.alive);
        return mer_error("egemaps: out of memory");
    }
    lo = hi = in[0];
    for (size_t i = 1; i < n; i++) {
        lo = fminf(lo, in[i]);
        hi = fmaxf(hi, in[i]);
    }
    for (size_t i = 2; i + 2 < n; i++) {
        int type = in[i] > in[i - 1] && in[i] > in[i + 1]   ? 1
                   : in[i] < in[i - 1] && in[i] < in[i + 1] ? 0
                                                            : -1;
        if (type < 0)
            continue;
        m.type[m.n] = type;
        m.x[m.n] = (long)i;
        m.y[m.n] = in[i];
        m.alive[m.n++] = 1;
    }
    peaks_prune(&m, in, PEAK_REL * (hi - lo));
    last_max = last_min = in[0];
    for (size_t i = 0; i < m.n; i++) {
        if (!m.alive[i])
            continue;
        if (m.type[i] == 0) {
            last_min = m.y[i];
            last_min_pos = m.x[i];
            if (last_min_pos - last_max_pos > 0) {
                slope_add(&fall, (last_max - last_min) /
                                     ((double)(last_min_pos - last_max_pos) * FRAME_PERIOD));
                last_is_max = 0;
            }
        } else {
            n_peaks++;
            last_max = m.y[i];
            last_max_pos = m.x[i];
            if (last_max_pos - last_min_pos > 0) {
                slope_add(&rise, (last_max - last_min) /
                                     ((double)(last_max_pos - last_min_pos) * FRAME_PERIOD));
                last_is_max = 1;
            }
        }
    }
    if (last_is_max == 1 && (long)n - 1 - last_max_pos > 0)
        slope_add(&fall,
                  (in[n - 1] - last_max) / ((double)((long)n - 1 - last_max_pos) * FRAME_PERIOD));
    else if (last_is_max == 0 && (long)n - 1 - last_min_pos > 0)
        slope_add(&rise,
                  (in[n - 1] - last_min) / ((double)((long)n - 1 - last_min_pos) * FRAME_PERIOD));
    else if (last_is_max == -1) { /* no extremum: openSMILE's slope per frame, not per second */
        double s = (in[n - 1] - in[0]) / (double)n;
        if (s > 0)
            slope_add(&rise, s);
        else if (s < 0)
            slope_add(&fall, s);
    }
    slope_stats(&rise, &out[0], &out[1]);
    slope_stats(&fall, &out[2], &out[3]);
    *peaks = (float)((double)n_peaks / ((double)n * FRAME_PERIOD));
    free(m.type);
    free(m.x);
    free(m.y);
    free(m.alive);
    return 0;
}

struct segments {
    size_t n;
    double sum, sum2;
};

static void seg_add(struct segments *s, long len)
{
    s->n++;
    s->sum += (double)len;
    s->sum2 += (double)len * (double)len;
}

/* cFunctionalSegments' nonX (want_zero 0: runs of nonzero frames) and eqX (want_zero 1),
 * X = 0, with its minimum segment and pause lengths and its segment-end arithmetic. */
static void segments(const float *in, size_t n, int want_zero, struct segments *s)
{
    long start_idx = 0, i;
    int state = 0, seg_start = 0, seg_end = 0;
    memset(s, 0, sizeof(*s));
    for (i = 0; i < (long)n; i++) {
        int inside = want_zero ? in[i] == 0.0f : in[i] != 0.0f;
        if (inside) {
            if (state == 1) {
                seg_end = 0;
                if (++seg_start >= SEG_MIN) {
                    seg_start = 0;
                    state = 2;
                }
            } else if (state == 0) {
                seg_start++;
                start_idx = i;
                state = 1;
            } else {
                seg_end = 0;
            }
        } else if (state == 2) {
            seg_start = 0;
            if (++seg_end >= PAUSE_MIN) {
                state = 0;
                seg_add(s, i - seg_end - start_idx);
                seg_end = 0;
            }
        } else if (state == 1) {
            if (++seg_end >= PAUSE_MIN) {
                state = 0;
                seg_end = seg_start = 0;
            }
        }
    }
    if (state == 2) {
        seg_end++;
        seg_add(s, i - seg_end - start_idx);
    }
}

/* Mean and standard deviation of the segment lengths in seconds. */
static void seg_stats(const struct segments *s, float *mean, float *sd)
{
    double m = s->n > 1 ? s->sum / (double)s->n : s->sum, var = 0;
    if (s->n > 1)
        var = s->sum2 / (double)s->n - m * m;
    *mean = (float)(m * FRAME_PERIOD);
    *sd = var > 0 ? (float)(sqrt(var) * FRAME_PERIOD) : 0.0f;
}

/* Smoothed contours of every descriptor, as openSMILE's LLD output writes them. */
static void smooth_all(const struct eg_frames *fr, float *dst, float *tmp)
{
    for (int k = 0; k < EG_N_LLD; k++) {
        sma3(fr->lld + k, EG_N_LLD, fr->n, k >= EG_F0, tmp);
        for (size_t t = 0; t < fr->n; t++)
            dst[t * EG_N_LLD + (size_t)k] = tmp[t];
    }
}

static int is_formant_freq_or_bw(int k)
{
    return k == EG_F1_FREQ || k == EG_F1_BW || k == EG_F2_FREQ || k == EG_F2_BW ||
           k == EG_F3_FREQ || k == EG_F3_BW;
}

enum gate { GATE_NONE, GATE_VOICED, GATE_UNVOICED };

/* Descriptor k gated by voicing (0 where the gate is shut), then sma3 (nz). */
static void gated_contour(const struct eg_frames *fr, int k, enum gate g, float *raw, float *out)
{
    for (size_t t = 0; t < fr->n; t++) {
        int voiced = fr->lld[t * EG_N_LLD + EG_F0] > 0.000001f;
        int open = g == GATE_NONE || (g == GATE_VOICED) == voiced;
        raw[t] = open ? fr->lld[t * EG_N_LLD + (size_t)k] : 0.0f;
    }
    sma3(raw, 1, fr->n, 1, out);
}

static const int voiced_only[] = {EG_JITTER,  EG_SHIMMER, EG_HNR,    EG_H1H2,    EG_H1A3,
                                  EG_F1_FREQ, EG_F1_BW,   EG_F1_AMP, EG_F2_FREQ, EG_F2_BW,
                                  EG_F2_AMP,  EG_F3_FREQ, EG_F3_BW,  EG_F3_AMP};
static const int spectral_v[] = {EG_ALPHA, EG_HAMMARBERG, EG_SLOPE0_500, EG_SLOPE500_1500, EG_FLUX,
                                 EG_MFCC1, EG_MFCC1 + 1,  EG_MFCC1 + 2,  EG_MFCC1 + 3};

/* The ten F0 / loudness functionals of contour c (nonzero values only when nz). */
static int ten_functionals(const float *c, size_t n, int nz, float *v, float *out, float *peaks)
{
    size_t m = select_values(c, n, nz, v);
    if (peaks2(v, m, out + 6, peaks) < 0)
        return -1;
    moments(v, m, &out[0], &out[1]);
    percentiles(v, m, out + 2);
    return 0;
}

int eg_functionals(const struct eg_frames *fr, float *out, float *lld_out)
{
    size_t n = fr->n;
    float *buf = malloc(n * 4 * sizeof(float)), *a, *b, *c, *v, peaks, dummy;
    struct segments sv, su;
    double leq = 0;
    int o = 0, ret = -1;
    if (!buf)
        return mer_error("egemaps: out of memory for %zu frames", n);
    a = buf, b = a + n, c = b + n, v = c + n;
    if (lld_out)
        smooth_all(fr, lld_out, a);
    if (!out) {
        ret = 0;
        goto done;
    }
    sma3(fr->lld + EG_F0, EG_N_LLD, n, 1, c); /* F0 sma3nz: kept for the segments */
    if (ten_functionals(c, n, 1, v, out + o, &dummy) < 0)
        goto done;
    o += 10;
    sma3(fr->lld + EG_LOUDNESS, EG_N_LLD, n, 0, b);
    if (ten_functionals(b, n, 0, v, out + o, &peaks) < 0)
        goto done;
    o += 10;
    for (int k = EG_FLUX; k < EG_F0; k++, o += 2) {
        sma3(fr->lld + k, EG_N_LLD, n, 0, b);
        moments(b, n, &out[o], &out[o + 1]);
    }
    for (size_t i = 0; i < MER_ARRAY_SIZE(voiced_only); i++, o += 2) {
        int k = voiced_only[i];
        gated_contour(fr, k, is_formant_freq_or_bw(k) ? GATE_VOICED : GATE_NONE, a, b);
        moments(v, select_values(b, n, 1, v), &out[o], &out[o + 1]);
    }
    for (size_t i = 0; i < MER_ARRAY_SIZE(spectral_v); i++, o += 2) {
        gated_contour(fr, spectral_v[i], GATE_VOICED, a, b);
        moments(v, select_values(b, n, 1, v), &out[o], &out[o + 1]);
    }
    for (int i = 0; i < 5; i++, o++) {
        gated_contour(fr, spectral_v[i], GATE_UNVOICED, a, b);
        moments(v, select_values(b, n, 1, v), &out[o], &dummy);
    }
    out[o++] = peaks;
    segments(c, n, 0, &sv);
    segments(c, n, 1, &su);
    out[o++] = (float)((double)sv.n / ((double)n * FRAME_PERIOD));
    seg_stats(&sv, &out[o], &out[o + 1]);
    seg_stats(&su, &out[o + 2], &out[o + 3]);
    o += 4;
    for (size_t t = 0; t < n; t++)
        leq += fr->energy2[t];
    leq /= (double)n;
    out[o++] = (float)(10.0 * log10(fmax(leq, 1e-12)));
    MER_ASSERT(o == MER_EGEMAPS_DIM);
    ret = 0;
done:
    free(buf);
    return ret;
}
