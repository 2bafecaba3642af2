/* Private to src/features/kaldi*.c: the plan's layout and the per-frame kernels. */
#ifndef MER_FEATURES_KALDI_IMPL_H
#define MER_FEATURES_KALDI_IMPL_H

#include "mer/fft.h"
#include "mer/kaldi.h"

#include <stddef.h>

struct mer_kaldi {
    struct mer_kaldi_opts o;
    size_t win, shift, padded, bins, dim;  /* samples per frame, per shift, FFT size, bins */
    double *window;                        /* [win] */
    mer_fft *fft;                          /* NULL when padded is not a power of two */
    double *dft;                           /* [bins][padded] (cos, sin) otherwise */
    size_t *mel_start, *mel_len, *mel_off; /* [num_mel_bins]: filter b covers FFT bins
                                              mel_start[b] .. + mel_len[b] - 1 */
    float *mel_w;                          /* the weights, filter b's at mel_off[b] */
    float *dct;                            /* mfcc: [num_ceps][num_mel_bins] */
    float *lifter;                         /* mfcc: [num_ceps] */
    float log_energy_floor;                /* log(energy_floor), -inf for 0 */
};

/* A frame's scratch (a stream's own). */
struct mer_kaldi_work {
    double *windowed; /* [padded]: the FFT's input; the tail after window_size stays 0 */
    float *power;     /* [bins] */
    float *mel;       /* [num_mel_bins] */
};

void mer_kaldi_frame(const struct mer_kaldi *k, double *frame, struct mer_kaldi_work *w,
                     float *out);
void mer_kaldi_cepstra(const struct mer_kaldi *k, const float *mel, float energy, float *out);

/* Kernels (kaldi_kernels.c). The samples are double up to the FFT: see fft.c. */
/* The index of the first NaN or infinity in x[n], n if none. */
size_t mer_kaldi_first_nonfinite(const float *x, size_t n);
double mer_kaldi_sum(const double *x, size_t n);
/* sum (x[i] - mean)^2 */
double mer_kaldi_sum_squares(const double *x, size_t n, double mean);
/* y[i] = ((x[i] - mean) - c (x[i-1] - mean)) * window[i], x[-1] = x[0] (torchaudio's replicate
 * pad of the pre-emphasis, after its per-frame mean removal). */
void mer_kaldi_preemph_window(const double *x, size_t n, double mean, double c,
                              const double *window, double *y);
void mer_kaldi_mel(const struct mer_kaldi *k, const float *power, float *mel);
/* x[i] = log(max(x[i], floor)), floor a normal float; within 1e-7 relative of log. */
void mer_kaldi_log_floor(float *x, size_t n, float floor);
/* Forces the portable kernels (tests compare both paths). */
void mer_kaldi_set_portable(int on);

#endif
