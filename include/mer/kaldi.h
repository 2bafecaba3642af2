/*
 * kaldi.h: Kaldi-compatible log mel filterbank (fbank) and MFCC features, numerically as
 * torchaudio.compliance.kaldi.fbank / .mfcc compute them (same option names, same defaults
 * except the two noted below), from float32 PCM as decoded (no hidden scaling: the samples
 * are used as given, in [-1, 1] for decoded audio, as torchaudio gets them in MERTools).
 *
 *     struct mer_kaldi_opts o;
 *     mer_kaldi_defaults(&o, MER_KALDI_FBANK);
 *     if (mer_kaldi_set(&o, "num-mel-bins", "40") < 0) ...;   // mer_errmsg() names the option
 *     mer_kaldi *k;
 *     if (mer_kaldi_open(&k, MER_KALDI_FBANK, &o) < 0) ...;
 *     float *rows; size_t T;                                   // rows[T * mer_kaldi_dim(k)]
 *     if (mer_kaldi_compute(k, wave, n, &rows, &T) < 0) ...;   // free(rows)
 *     mer_kaldi_close(k);
 *
 * Streaming (an hour-long clip in bounded memory; the rows equal mer_kaldi_compute's exactly,
 * whatever the chunk sizes):
 *
 *     mer_kaldi_stream *s;
 *     mer_kaldi_stream_open(&s, k, on_row, ctx);               // on_row(ctx, row, t) per frame
 *     mer_kaldi_push(s, chunk, m); ...                         // any sizes, in order
 *     mer_kaldi_finish(s);                                     // the tail frames
 *     mer_kaldi_stream_close(s);
 *
 * Where mer differs from torchaudio's defaults: fbank num_mel_bins = 80 (torchaudio 23);
 * mfcc use_energy = true (Kaldi's compute-mfcc-feats; torchaudio false); and dither is 0 (as
 * torchaudio's; Kaldi's is 1). A non-zero dither draws its Gaussian noise from mer_rng seeded by
 * the mer-only option dither_seed, so it is deterministic (torchaudio's torch.randn noise cannot be
 * reproduced). Fewer samples than one frame give 0 frames (torchaudio raises an error).
 * Samples that are NaN or infinite are refused (an error naming the sample index).
 * A window_size that is not a power of two with round_to_power_of_two = false takes a direct
 * DFT: the same numbers, about 30 times slower (frames up to 4096 samples).
 *
 * A plan is read-only after mer_kaldi_open: any number of threads may share one, each with its
 * own stream (or its own mer_kaldi_compute call).
 */
#ifndef MER_KALDI_H
#define MER_KALDI_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum mer_kaldi_kind { MER_KALDI_FBANK, MER_KALDI_MFCC };

enum mer_kaldi_window {
    MER_KALDI_WINDOW_POVEY,
    MER_KALDI_WINDOW_HANNING,
    MER_KALDI_WINDOW_HAMMING,
    MER_KALDI_WINDOW_RECTANGULAR,
    MER_KALDI_WINDOW_BLACKMAN,
};

/* Plain data; fill with mer_kaldi_defaults, change with mer_kaldi_set (or directly). The names
 * and meanings are torchaudio.compliance.kaldi's; times in milliseconds, frequencies in Hz. */
struct mer_kaldi_opts {
    enum mer_kaldi_kind kind; /* set by mer_kaldi_defaults */
    double sample_frequency;  /* 16000 */
    double frame_length;      /* 25 ms */
    double frame_shift;       /* 10 ms */
    double dither;            /* 0: none */
    double preemphasis_coefficient;
    int remove_dc_offset;
    enum mer_kaldi_window window_type;
    int round_to_power_of_two;
    double blackman_coeff;
    int snip_edges;
    int num_mel_bins;
    double low_freq, high_freq; /* high_freq <= 0: offset from the Nyquist frequency */
    int use_energy, use_log_fbank, use_power;
    double energy_floor;
    int raw_energy, htk_compat, subtract_mean;
    double vtln_low, vtln_high, vtln_warp;
    int num_ceps;           /* mfcc */
    double cepstral_lifter; /* mfcc */
    uint64_t dither_seed;   /* mer only: the seed of the dither noise */
};

/* The defaults of kind (the option table's). */
void mer_kaldi_defaults(struct mer_kaldi_opts *o, enum mer_kaldi_kind kind);

/* Sets one option from text: name with '_' or '-' ("num_mel_bins", "num-mel-bins"); booleans
 * true|false|1|0. -1 with an error naming the option and the allowed values for an unknown
 * name, an option of the other kind, or a bad value; o is unchanged then. */
int mer_kaldi_set(struct mer_kaldi_opts *o, const char *name, const char *value);

/* Every option of o's kind with its value, as a new JSON object (the provenance); NULL if out
 * of memory. The caller owns it (cJSON_Delete). */
cJSON *mer_kaldi_opts_json(const struct mer_kaldi_opts *o);

/* The option table, for help text and docs: entries 0 .. mer_kaldi_option_count() - 1. */
struct mer_kaldi_option_info {
    const char *name;
    const char *type;          /* "bool", "int", "real", "window", "seed" */
    const char *fbank_default; /* NULL if the option is not fbank's */
    const char *mfcc_default;  /* NULL if the option is not mfcc's */
    const char *range;         /* e.g. "(0,)", or the allowed words */
    const char *help;
};
size_t mer_kaldi_option_count(void);
const struct mer_kaldi_option_info *mer_kaldi_option(size_t i);

typedef struct mer_kaldi mer_kaldi;

/* A plan: window, mel banks, DCT, lifter and FFT precomputed for opts (copied). kind must be
 * opts->kind. -1 with an error naming the option if the combination is invalid (e.g. high_freq
 * above the Nyquist frequency). Free with mer_kaldi_close (NULL is fine). */
int mer_kaldi_open(mer_kaldi **out, enum mer_kaldi_kind kind, const struct mer_kaldi_opts *opts);
void mer_kaldi_close(mer_kaldi *k);

/* Output columns: num_mel_bins (+1 with use_energy) for fbank, num_ceps for mfcc. */
size_t mer_kaldi_dim(const mer_kaldi *k);
/* Samples per frame and per shift. */
size_t mer_kaldi_window_size(const mer_kaldi *k);
size_t mer_kaldi_window_shift(const mer_kaldi *k);
/* The number of frames of a clip of n samples. */
size_t mer_kaldi_frames(const mer_kaldi *k, size_t n);

/* The features of a whole clip: *rows = a new [*T, dim] row-major array (free() it; NULL when
 * *T is 0). subtract_mean is applied here. -1 with an error (non-finite sample, no memory). */
int mer_kaldi_compute(const mer_kaldi *k, const float *wave, size_t n, float **rows, size_t *T);

/* Called once per frame in order, t = 0, 1, ...; row[dim] is borrowed (valid during the call).
 * A non-zero return stops the stream: push/finish return -1 with the error the callback set
 * (mer_error). */
typedef int (*mer_kaldi_row_fn)(void *ctx, const float *row, size_t t);

typedef struct mer_kaldi_stream mer_kaldi_stream;

/* A stream over plan k (borrowed; must outlive the stream) calling on_row (not NULL) with ctx
 * for each frame. It holds at most about
 * window_size + window_shift + 4096 samples. With snip_edges = false the first frames reflect
 * the clip's first samples (held until used) and the last ones its last samples, so the tail
 * frames come only from mer_kaldi_finish, when the length is known. subtract_mean needs every
 * frame first: refused here (-1; use mer_kaldi_compute). */
int mer_kaldi_stream_open(mer_kaldi_stream **out, const mer_kaldi *k, mer_kaldi_row_fn on_row,
                          void *ctx);
/* The next n samples; calls on_row for each frame they complete. -1 on a non-finite sample or a
 * callback's stop; the stream is then unusable. */
int mer_kaldi_push(mer_kaldi_stream *s, const float *x, size_t n);
/* The end of the clip: the frames still due. Pushing after finish is a bug. */
int mer_kaldi_finish(mer_kaldi_stream *s);
void mer_kaldi_stream_close(mer_kaldi_stream *s);

#endif
