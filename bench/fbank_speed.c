/* Speed of the Kaldi features (mer/kaldi.h) on one core: 1000 s of 16 kHz noise plus a tone,
 * through mer_kaldi_compute and through a stream fed 10 ms chunks, for 80-bin fbank and for
 * MFCC, timed in this thread's CPU time. Reads nothing. Build: cmake --build build --target
 * mer-bench-fbank; run: build/mer-bench-fbank [seconds of audio, default 1000]. */
#include "mer/error.h"
#include "mer/kaldi.h"
#include "mer/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RATE 16000

/* CPU seconds of this thread (on a shared machine wall time counts the other processes too)
 * or wall seconds. */
static double clock_seconds(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double wall_best;

static double now(void)
{
    return clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}

static float *make_audio(size_t n)
{
    struct mer_rng r;
    float *x = malloc(n * sizeof(float));
    mer_rng_seed(&r, 1);
    for (size_t i = 0; x && i < n; i++)
        x[i] = (float)(0.05 * (mer_rng_uniform(&r) - 0.5) +
                       0.3 * sin(2.0 * M_PI * 440.0 * (double)i / RATE));
    return x;
}

static double checksum;

static int sink(void *ctx, const float *row, size_t t)
{
    (void)ctx;
    checksum += row[t % 8];
    return 0;
}

/* Seconds of the best of three runs of fn. */
static double best_of(int (*fn)(const mer_kaldi *, const float *, size_t), const mer_kaldi *k,
                      const float *x, size_t n)
{
    double best = 1e30;
    wall_best = 1e30;
    for (int i = 0; i < 3; i++) {
        double t0 = now(), w0 = clock_seconds(CLOCK_MONOTONIC);
        if (fn(k, x, n) < 0) {
            fprintf(stderr, "mer-bench-fbank: %s\n", mer_errmsg());
            exit(1);
        }
        best = fmin(best, now() - t0);
        wall_best = fmin(wall_best, clock_seconds(CLOCK_MONOTONIC) - w0);
    }
    return best;
}

static int one_call(const mer_kaldi *k, const float *x, size_t n)
{
    float *rows;
    size_t T;
    if (mer_kaldi_compute(k, x, n, &rows, &T) < 0)
        return -1;
    checksum += T ? rows[T / 2] : 0;
    free(rows);
    return 0;
}

static int streamed(const mer_kaldi *k, const float *x, size_t n)
{
    mer_kaldi_stream *s;
    int ret = 0;
    if (mer_kaldi_stream_open(&s, k, sink, NULL) < 0)
        return -1;
    for (size_t at = 0; at < n && ret == 0; at += RATE / 100)
        ret = mer_kaldi_push(s, x + at, n - at < RATE / 100 ? n - at : RATE / 100);
    if (ret == 0)
        ret = mer_kaldi_finish(s);
    mer_kaldi_stream_close(s);
    return ret;
}

static void bench(const char *label, enum mer_kaldi_kind kind, const float *x, size_t n)
{
    struct mer_kaldi_opts o;
    mer_kaldi *k;
    double seconds = (double)n / RATE, a, b, wa, wb;
    mer_kaldi_defaults(&o, kind);
    if (mer_kaldi_open(&k, kind, &o) < 0) {
        fprintf(stderr, "mer-bench-fbank: %s\n", mer_errmsg());
        exit(1);
    }
    a = best_of(one_call, k, x, n);
    wa = wall_best;
    b = best_of(streamed, k, x, n);
    wb = wall_best;
    printf("%s: %.0f x realtime (one call, %.1f ms per 100 s), %.0f x realtime (stream, 10 ms "
           "chunks); wall clock %.0f x and %.0f x\n",
           label, seconds / a, 100.0 * 1e3 * a / seconds, seconds / b, seconds / wa, seconds / wb);
    mer_kaldi_close(k);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1000.0;
    size_t n = (size_t)(seconds * RATE);
    float *x = make_audio(n);
    if (!x || n == 0) {
        fprintf(stderr, "mer-bench-fbank: cannot make %g s of audio\n", seconds);
        return 1;
    }
    bench("fbank 80", MER_KALDI_FBANK, x, n);
    bench("mfcc 13", MER_KALDI_MFCC, x, n);
    fprintf(stderr, "(checksum %g)\n", checksum);
    free(x);
    return 0;
}
