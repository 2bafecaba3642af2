/*
 * fft.h: the real FFT that the audio features (fbank, MFCC, eGeMAPS) share.
 *
 * A plan holds the twiddles of one power-of-two size and is read-only after it is made, so
 * any number of threads may use one plan at once (each with its own output buffer).
 *
 *     mer_fft *f;
 *     if (mer_fft_open(&f, 512) < 0) ...;          // mer_errmsg()
 *     float spec[512 + 2];
 *     mer_fft_real(f, frame, spec);                // spec[2k], spec[2k+1] = Re, Im of bin k
 *     mer_fft_close(f);
 *
 * Unnormalised, as numpy.fft.rfft and torch.fft.rfft: X_k = sum_n x_n exp(-2 pi i k n / N).
 * The arithmetic is double whatever the input (float rounding would cost the quiet bins of a
 * loud frame their accuracy); sizes up to 4096 need no allocation per call.
 */
#ifndef MER_FFT_H
#define MER_FFT_H

#include <stddef.h>

typedef struct mer_fft mer_fft;

/* A plan for real inputs of n samples (a power of two, 4 to 2^24). -1 with the error set. */
int mer_fft_open(mer_fft **out, size_t n);
void mer_fft_close(mer_fft *f);
size_t mer_fft_size(const mer_fft *f);

/* The n/2 + 1 bins of in[n] into out[n + 2] as (Re, Im) pairs; in and out may not overlap. */
void mer_fft_real(const mer_fft *f, const float *in, float *out);

/* |X_k|^2 for k = 0 .. n/2 into power[n/2 + 1]; work (n + 2 floats) is no longer used. */
void mer_fft_power(const mer_fft *f, const float *in, float *work, float *power);

/* Plans opened after mer_fft_set_portable(1) take the portable code even where the CPU has
 * AVX2 (tests compare both paths). */
void mer_fft_set_portable(int on);

/* The same from double samples in[n] (the arithmetic is double in both). */
void mer_fft_power_f64(const mer_fft *f, const double *in, float *power);

#endif
