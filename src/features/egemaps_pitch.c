/*
 * egemaps_pitch.c: F0 as openSMILE's GeMAPS graph finds it: cSpecScale (octave-scale
 * spectrum with peak enhancement, smoothing and auditory weighting), cPitchShs (subharmonic
 * summation, 6 candidates), cPitchSmootherViterbi (its local and transition costs) and the
 * energy gate (cValbasedSelector on the 60 ms RMS, threshold 0.001).
 */
#include "egemaps_impl.h"

#include "mer/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHS_HARMONICS  15
#define SHS_COMPRESS   0.85
#define PITCH_MIN      55.0
#define PITCH_MAX      1000.0
#define VOICING_CUTOFF 0.7
#define RMS_GATE       0.001

/* The Viterbi weights of the GeMAPS config. */
#define W_LOCAL 2.0
#define W_TVV   10.0
#define W_TVVD  5.0
#define W_TVUV  10.0
#define W_THR   4.0
#define W_RANGE 1.0

struct cands {
    float f[EG_SHS_CANDIDATES], v[EG_SHS_CANDIDATES];
};

/* smileDsp_specEnhanceSHS: zero everything farther than 2 bins from a local maximum. */
static void spec_enhance(double *a, long n, long *posmax)
{
    long nmax = 0;
    if (n < 2)
        return;
    if (a[0] > a[1])
        posmax[nmax++] = 0;
    for (long i = 1; i < n - 1; i++)
        if (a[i] > a[i - 1] && a[i] >= a[i + 1])
            posmax[nmax++] = i;
    if (a[n - 1] > a[n - 2])
        posmax[nmax++] = n - 1;
    if (nmax == 1) { /* openSMILE reads posmax[1] (zero) here; kept as it does */
        for (long j = 3; j < n; j++)
            a[j] = 0;
        return;
    }
    for (long i = 1; i < nmax; i++)
        for (long j = posmax[i - 1] + 3; j <= posmax[i] - 3; j++)
            a[j] = 0;
}

/* smileDsp_specSmoothSHS: (1 2 1) / 4, in place, the last bin untouched. */
static void spec_smooth(double *a, long n)
{
    double prev = 0;
    for (long i = 0; i < n - 1; i++) {
        double ai = a[i];
        a[i] = (prev + 2.0 * ai + a[i + 1]) / 4.0;
        prev = ai;
    }
}

/* The octave-scale spectrum of a magnitude spectrum (natural cubic spline, then weighting). */
static void octave_spectrum(const mer_egemaps *e, double *y, double *y2, double *u, double *oct)
{
    long n = (long)e->nbin60;
    const double *idx = e->oct_inv_dx;
    u[0] = y2[0] = 0;
    for (long i = 1; i < n - 1; i++) {
        double d = (y[i + 1] - y[i]) * idx[i] - (y[i] - y[i - 1]) * idx[i - 1];
        u[i] = (e->oct_six[i] * d - e->oct_sig[i] * u[i - 1]) * e->oct_p_inv[i];
    }
    y2[n - 1] = 0;
    for (long k = n - 2; k >= 0; k--)
        y2[k] = e->oct_y2c[k] * y2[k + 1] + u[k];
    for (long j = 0; j < n; j++) {
        long k = e->oct_seg[j];
        const double *w = e->oct_w + 4 * j;
        double v = w[0] * y[k] + w[1] * y[k + 1] + w[2] * y2[k] + w[3] * y2[k + 1];
        oct[j] = v > 0.0 ? v * e->oct_audw[j] : 0.0;
    }
}

/* cPitchShs::pitchDetect and cPitchBase's range filter: candidates, best score first. */
static void shs_candidates(const mer_egemaps *e, const double *oct, double *ss, struct cands *c)
{
    long n = (long)e->nbin60, idx[EG_SHS_CANDIDATES] = {0};
    double score[EG_SHS_CANDIDATES] = {0}, scale = SHS_COMPRESS, mean = 0;
    int ncand = 0;
    memcpy(ss, oct, (size_t)n * sizeof(double));
    for (int h = 2; h <= SHS_HARMONICS; h++, scale *= SHS_COMPRESS)
        for (long j = e->shs_shift[h]; j < n; j++)
            ss[j - e->shs_shift[h]] += oct[j] * scale;
    for (long j = 0; j < n; j++) {
        ss[j] /= SHS_HARMONICS;
        if (ss[j] < 0)
            ss[j] = 0;
        mean += ss[j];
    }
    mean /= (double)n;
    for (long i = 1; i < n - 1; i++) {
        if (!(ss[i - 1] < ss[i] && ss[i] > ss[i + 1]))
            continue;
        for (int j = 0; j < EG_SHS_CANDIDATES; j++) {
            if (score[j] == 0.0 || score[j] < ss[i]) {
                for (int k = EG_SHS_CANDIDATES - 1; k > j; k--) {
                    score[k] = score[k - 1];
                    idx[k] = idx[k - 1];
                }
                idx[j] = i;
                score[j] = ss[i];
                if (ncand < EG_SHS_CANDIDATES)
                    ncand++;
                break;
            }
        }
    }
    memset(c, 0, sizeof(*c));
    double sc_all[EG_SHS_CANDIDATES] = {0};
    for (int i = 0; i < ncand; i++) {
        long j = idx[i];
        double f1 = (double)j * e->oct_step + e->oct_fmin, sc = 0;
        double fx =
            eg_quad_peak(f1 - e->oct_step, ss[j - 1], f1, ss[j], f1 + e->oct_step, ss[j + 1], &sc);
        c->f[i] = (float)exp2(fx);
        sc_all[i] = sc;
        c->v[i] = (sc > 0.0 && sc > mean) ? (float)(1.0 - mean / sc) : 0.0f;
    }
    /* drop candidates outside [55, 1000] Hz, keeping the order of the rest */
    for (int i = 0; i < EG_SHS_CANDIDATES && ncand > 0; i++) {
        if (c->f[i] > PITCH_MAX || c->f[i] < PITCH_MIN) {
            float orig = c->f[i];
            int j;
            for (j = i + 1; j < EG_SHS_CANDIDATES; j++) {
                c->f[j - 1] = c->f[j];
                c->v[j - 1] = c->v[j];
                sc_all[j - 1] = sc_all[j];
            }
            c->f[j - 1] = c->v[j - 1] = 0;
            sc_all[j - 1] = 0;
            if (orig > 0) {
                ncand--;
                i--;
            }
        }
    }
    int best = 0;
    for (int i = 1; i < EG_SHS_CANDIDATES; i++)
        if (sc_all[i] > sc_all[best])
            best = i;
    if (best > 0) {
        float tf = c->f[0], tv = c->v[0];
        c->f[0] = c->f[best];
        c->v[0] = c->v[best];
        c->f[best] = tf;
        c->v[best] = tv;
    }
}

/* The frequency-range cost of cSmileViterbiPitchSmooth::getFweight. */
static double range_weight(double f)
{
    if (f > 0.0 && f < 100.0)
        return -f / 100.0 + 1.0;
    if (f >= 100.0 && f < 350.0)
        return 0.0;
    if (f >= 350.0 && f < 600.0)
        return (f - 350.0) / 250.0;
    if (f >= 600.0)
        return 1.2;
    return 2.0;
}

#define N_STATES (EG_SHS_CANDIDATES + 1) /* the candidates and "unvoiced" */

static double local_cost(const struct cands *c, int i)
{
    if (i < EG_SHS_CANDIDATES) {
        double pv = fmin(fmax(c->v[i], 0.01), 1.0), thr = pv < VOICING_CUTOFF ? W_THR : 0.0;
        return (-log(pv) + thr) * W_LOCAL + range_weight(c->f[i]) * W_RANGE;
    }
    for (int j = 0; j < EG_SHS_CANDIDATES; j++)
        if (c->v[j] >= VOICING_CUTOFF)
            return W_LOCAL * W_THR;
    return 0.0;
}

/* Transition from state j (previous frame) to i (this frame). openSMILE's u->u test is
 * `i == j == n - 1`, never true, so u->u costs its fallback 1.0; last_change is shared by
 * every pair in call order, as there. */
static double transition_cost(const struct cands *prev, const struct cands *cur, int i, int j,
                              double *last_change)
{
    int iu = i == N_STATES - 1, ju = j == N_STATES - 1;
    if (!iu && !ju) {
        double f0 = prev->f[j], f1 = cur->f[i], r, x;
        if (f0 == 0 || f1 == 0)
            return 999.0;
        r = log(f1 / f0);
        x = W_TVV * fabs(r) + W_TVVD * fabs(r - *last_change);
        *last_change = r;
        return x;
    }
    if (iu != ju) {
        *last_change = 0.0;
        return W_TVUV;
    }
    return 1.0;
}

static void viterbi(const struct cands *c, size_t n, unsigned char *back, float *f0)
{
    double cost[N_STATES], next[N_STATES], last_change = 0.0;
    for (int i = 0; i < N_STATES; i++)
        cost[i] = local_cost(&c[0], i);
    for (size_t t = 1; t < n; t++) {
        for (int i = 0; i < N_STATES; i++) {
            int arg = 0;
            double best = transition_cost(&c[t - 1], &c[t], i, 0, &last_change) + cost[0];
            for (int j = 1; j < N_STATES; j++) {
                double v = transition_cost(&c[t - 1], &c[t], i, j, &last_change) + cost[j];
                if (v < best) {
                    best = v;
                    arg = j;
                }
            }
            next[i] = best + local_cost(&c[t], i);
            back[t * N_STATES + (size_t)i] = (unsigned char)arg;
        }
        memcpy(cost, next, sizeof(cost));
    }
    int s = 0;
    for (int i = 1; i < N_STATES; i++)
        if (cost[i] < cost[s])
            s = i;
    for (size_t t = n; t-- > 0;) {
        f0[t] = s < EG_SHS_CANDIDATES ? c[t].f[s] : 0.0f;
        if (t > 0)
            s = back[t * N_STATES + (size_t)s];
    }
}

int eg_pitch(const mer_egemaps *e, const float *x, size_t nx, size_t n, float *f0)
{
    size_t nb = e->nbin60;
    float *frame = malloc((e->nfft60 + 2) * sizeof(float) * 3);
    double *work = malloc(nb * 6 * sizeof(double));
    long *posmax = malloc((nb + 2) * sizeof(long));
    struct cands *c = malloc(n * sizeof(*c));
    unsigned char *back = malloc(n * N_STATES);
    float *rms = malloc(n * sizeof(float));
    int ret = -1;
    if (!frame || !work || !posmax || !c || !back || !rms) {
        mer_error("egemaps: out of memory for the pitch of %zu frames", n);
        goto done;
    }
    float *fw = frame + e->nfft60 + 2, *pw = fw + e->nfft60 + 2;
    double *y = work, *y2 = y + nb, *u = y2 + nb, *oct = u + nb, *ss = oct + nb;
    for (size_t t = 0; t < n; t++) {
        double sum2 = 0;
        memset(frame, 0, e->nfft60 * sizeof(float));
        eg_frame(x, nx, t * e->hop, e->len60, e->gauss60, frame);
        for (size_t i = 0; i < e->len60; i++)
            sum2 += (double)frame[i] * frame[i];
        rms[t] = (float)sqrt(sum2 / (double)e->len60);
        mer_fft_power(e->fft60, frame, fw, pw);
        for (size_t k = 0; k < nb; k++)
            y[k] = sqrt(pw[k]);
        spec_enhance(y, (long)nb, posmax);
        spec_smooth(y, (long)nb);
        octave_spectrum(e, y, y2, u, oct);
        shs_candidates(e, oct, ss, &c[t]);
    }
    viterbi(c, n, back, f0);
    for (size_t t = 0; t < n; t++)
        if (rms[t] < RMS_GATE)
            f0[t] = 0;
    ret = 0;
done:
    free(frame);
    free(work);
    free(posmax);
    free(c);
    free(back);
    free(rms);
    return ret;
}
