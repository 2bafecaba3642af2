/* egemaps_impl.h: what the eGeMAPS files share (private to src/features/egemaps*.c). */
#ifndef MER_EGEMAPS_IMPL_H
#define MER_EGEMAPS_IMPL_H

#include "mer/egemaps.h"
#include "mer/fft.h"

#include <stddef.h>

#define EG_SHS_CANDIDATES 6
#define EG_MEL_BANDS      26
#define EG_MFCC           4
#define EG_LPC_ORDER      11
#define EG_FORMANTS       5

/* The frame-level descriptors, in mer_egemaps_lld_names order. */
enum eg_lld {
    EG_LOUDNESS,
    EG_ALPHA,
    EG_HAMMARBERG,
    EG_SLOPE0_500,
    EG_SLOPE500_1500,
    EG_FLUX,
    EG_MFCC1,
    EG_F0 = EG_MFCC1 + EG_MFCC,
    EG_JITTER,
    EG_SHIMMER,
    EG_HNR,
    EG_H1H2,
    EG_H1A3,
    EG_F1_FREQ,
    EG_F1_BW,
    EG_F1_AMP,
    EG_F2_FREQ,
    EG_F2_BW,
    EG_F2_AMP,
    EG_F3_FREQ,
    EG_F3_BW,
    EG_F3_AMP,
    EG_N_LLD
};

/* One band of a least-squares spectral slope, as cSpectral maps it onto bins. */
struct eg_slope_band {
    long lo, hi;       /* first and last bin */
    double w_lo, w_hi; /* weights of those edge bins */
    double n_ind;      /* openSMILE's "number of points" (hi index - lo index) */
};

struct mer_egemaps {
    int sr;
    size_t hop, len60, len20; /* samples */
    mer_fft *fft60, *fft20;   /* next powers of two above len60, len20 */
    size_t nfft60, nfft20, nbin60, nbin20;
    float *gauss60, *hamming20;
    double *cos60; /* [nfft60] cos(2 pi i / nfft60), for the ACF */

    /* octave-scale spectrum for SHS (cSpecScale): spline from the linear bins */
    double *oct_src_x; /* [nbin60] log2 frequency of each linear bin */
    /* natural cubic spline: every factor that only depends on the abscissae, [nbin60] each */
    double *oct_sig, *oct_p_inv, *oct_y2c, *oct_inv_dx, *oct_six;
    long *oct_seg;    /* [nbin60] source interval of each target point */
    double *oct_w;    /* [4 * nbin60] its weights: a, b, (a^3 - a) h^2 / 6, (b^3 - b) h^2 / 6 */
    double *oct_audw; /* [nbin60] auditory weighting */
    double oct_fmin, oct_step, oct_ppo;
    long shs_shift[16]; /* octave-scale shift of harmonic h (index h) */

    /* mel filter bank on the 20 ms bins: bin k adds w*P to band lo and (1-w)*P to band lo+1 */
    int *mel_band;            /* [nbin20] lower band (-1: below the first band, -2: outside) */
    float *mel_w;             /* [nbin20] */
    double eql[EG_MEL_BANDS]; /* equal-loudness weight at each band centre */
    double dct[EG_MFCC][EG_MEL_BANDS];

    /* spectral shape on the 20 ms bins */
    long bin_1k, bin_2k, bin_5k, bin_flux_hi;
    struct eg_slope_band slope[2];

    /* formants: autocorrelation of the spectrum below lpc_fs / 2 */
    double lpc_fs;
    long lpc_bins;   /* bins 0 .. lpc_bins - 1 enter the ACF */
    double *lpc_cos; /* [(EG_LPC_ORDER + 1) * lpc_bins] */
};

/* The raw (unsmoothed) descriptors of every frame, and what the functionals need beside. */
struct eg_frames {
    size_t n;
    float *lld;       /* [n * EG_N_LLD], raw; formants not yet gated by voicing */
    float *energy2;   /* [n] mean square of the unwindowed 20 ms frame (for Leq) */
    int all_formants; /* also in unvoiced frames (the LLD output shows them, functionals not) */
};

/* Pitch (SHS + Viterbi + energy gate) in Hz for every frame, into f0[n]. */
int eg_pitch(const mer_egemaps *e, const float *x, size_t nx, size_t n, float *f0);

/* Every descriptor of every frame given the final pitch. */
int eg_frames_compute(const mer_egemaps *e, const float *x, size_t nx, const float *f0,
                      struct eg_frames *fr);

/* Smoothing and functionals over the raw frames into out[88]; lld_out (or NULL) gets the
 * smoothed frame-level descriptors [n * 25]. */
int eg_functionals(const struct eg_frames *fr, float *out, float *lld_out);

/* The samples of frame t of length len (zero past the end) into buf, times the window. */
void eg_frame(const float *x, size_t nx, size_t start, size_t len, const float *win, float *buf);

/* Vertex of the parabola through (x1,y1), (x2,y2), (x3,y3); *y gets its value. */
double eg_quad_peak(double x1, double y1, double x2, double y2, double x3, double y3, double *y);

#endif
