/*
 * egemaps.h: the 88 eGeMAPSv02 functionals (and their 25 frame-level descriptors) of a mono
 * clip, after openSMILE's config/egemaps/v02 (which includes config/gemaps/v01b).
 *
 * A handle holds the FFT plans, windows and filter banks of one sample rate; it is read-only
 * once made, so any number of threads may compute with one handle at once (each call
 * allocates its own scratch memory and writes nothing else).
 *
 *     mer_egemaps *e;
 *     if (mer_egemaps_open(&e, 16000) < 0) ...;              // mer_errmsg()
 *     float f[MER_EGEMAPS_DIM];
 *     if (mer_egemaps_compute(e, pcm, n, f) < 0) ...;        // pcm: float in [-1, 1]
 *     for (int i = 0; i < MER_EGEMAPS_DIM; i++) printf("%s %g\n", mer_egemaps_names[i], f[i]);
 *     mer_egemaps_close(e);
 *
 * Frames: 10 ms hop; a 60 ms Gaussian window (sigma 0.4) for pitch, jitter, shimmer, HNR and
 * harmonics, a 20 ms Hamming window for loudness, MFCC, spectral shape and formants; frame t
 * starts at sample t * hop; there are 1 + (n - len20) / hop frames (60 ms frames that run past
 * the end are zero-padded). Pitch: subharmonic summation (15 harmonics, compression 0.85) on
 * an octave-scale spectrum, 6 candidates per frame, Viterbi smoothing with openSMILE's costs,
 * unvoiced when the frame's RMS is below 0.001. Everything then follows openSMILE's v02 graph:
 * sma3 smoothing (zeros kept out for the _sma3nz contours), voiced/unvoiced selection by
 * F0 > 0, and the functionals (amean, stddevNorm = std/mean, percentiles 20/50/80 with linear
 * interpolation, their range, Peaks2 rising/falling slopes, loudness peaks per second, nonX/eqX
 * segments with minimum 3 frames and pauses of 2, Leq = 10 log10 of the mean frame power).
 *
 * Where this differs from openSMILE (the README's eGeMAPS section has the whole list):
 * jitter/shimmer analyse each voiced 60 ms frame alone (openSMILE carries the period tracker
 * over the frames); formant LPC (order 11 at 11 kHz) is taken from the autocorrelation of the
 * power spectrum below 5.5 kHz instead of a resampled frame; the Viterbi path is decided over
 * the whole clip (openSMILE: within 40 frames); the 60 ms frames share the 20 ms frame grid
 * (zero-padded at the end). Values follow the same definitions and units, so they are close
 * to, not bit-equal with, openSMILE's. Levels are not normalised to the frame length (as in
 * openSMILE), so loudness, MFCC and flux depend on the sample rate: use 16 kHz to compare.
 *
 * Too short or silent input is no error: with fewer than one 20 ms frame every output is 0;
 * with no voiced frame the voiced-only functionals are 0 (never NaN or infinite).
 */
#ifndef MER_EGEMAPS_H
#define MER_EGEMAPS_H

#include <stddef.h>

#define MER_EGEMAPS_DIM     88
#define MER_EGEMAPS_LLD_DIM 25

/* The 88 functional names in openSMILE's order (F0semitoneFrom27.5Hz_sma3nz_amean first,
 * equivalentSoundLevel_dBp last): the one name table. */
extern const char *const mer_egemaps_names[MER_EGEMAPS_DIM];

/* The 25 frame-level descriptor names in openSMILE's eGeMAPSv02 LLD order (Loudness_sma3,
 * ..., mfcc4_sma3, F0semitoneFrom27.5Hz_sma3nz, ..., F3amplitudeLogRelF0_sma3nz). */
extern const char *const mer_egemaps_lld_names[MER_EGEMAPS_LLD_DIM];

typedef struct mer_egemaps mer_egemaps;

/* Plans and tables for a sample rate of 8000 to 192000 Hz. New handle in *out, free with
 * mer_egemaps_close; -1 with the error set. */
int mer_egemaps_open(mer_egemaps **out, int sample_rate);
void mer_egemaps_close(mer_egemaps *e);

int mer_egemaps_sample_rate(const mer_egemaps *e);

/* The number of 10 ms frames of a clip of n samples (0 when shorter than 20 ms). */
size_t mer_egemaps_frames(const mer_egemaps *e, size_t n);

/* The 88 functionals of x[n] (mono float, full scale 1.0) into out[]. -1 with the error set
 * (out of memory, non-finite samples). */
int mer_egemaps_compute(const mer_egemaps *e, const float *x, size_t n, float out[MER_EGEMAPS_DIM]);

/* The frame-level descriptors: lld[t * MER_EGEMAPS_LLD_DIM + k] for t < frames (the value of
 * mer_egemaps_frames; lld holds that many rows, the caller's). Smoothed as openSMILE writes
 * them (sma3, and zero in unvoiced frames for the _sma3nz ones). -1 with the error set. */
int mer_egemaps_lld(const mer_egemaps *e, const float *x, size_t n, float *lld);

#endif
