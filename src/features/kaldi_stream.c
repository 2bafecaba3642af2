/* Cutting a clip into frames, in chunks (kaldi.h's stream), and the one-call helper over it.
 *
 * Frame t covers the samples t * shift - pad .. + window_size - 1, pad = 0 with snip_edges and
 * window_size / 2 - shift / 2 without; indices before 0 and from n on are reflected
 * (x[-1 - i] = x[i], x[n + i] = x[n - 1 - i]), as torchaudio's _get_strided. The buffer holds
 * the samples from the next frame's start, and always the last window + shift ones, which the
 * reflected tail frames need at finish. */
#include "features/kaldi_impl.h"
#include "mer/error.h"
#include "mer/kaldi.h"
#include "mer/rng.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 4096 /* samples appended between frame cuts */

struct mer_kaldi_stream {
    const mer_kaldi *k;
    mer_kaldi_row_fn on_row;
    void *ctx;
    float *buf; /* samples base .. base + len - 1 */
    size_t cap, len;
    int64_t base, total, pad;
    size_t next;   /* the next frame's index */
    double *frame; /* [window_size] */
    float *row;    /* [dim] */
    struct mer_kaldi_work work;
    struct mer_rng rng;
    int failed, finished;
};

static int64_t frame_start(const mer_kaldi_stream *s, size_t t)
{
    return (int64_t)t * (int64_t)s->k->shift - s->pad;
}

static int stream_open(mer_kaldi_stream **out, const mer_kaldi *k, mer_kaldi_row_fn on_row,
                       void *ctx)
{
    mer_kaldi_stream *s = calloc(1, sizeof(*s));
    MER_ASSERT(on_row != NULL);
    *out = NULL;
    if (!s)
        return mer_error("out of memory");
    s->k = k;
    s->on_row = on_row;
    s->ctx = ctx;
    s->cap = k->win + k->shift + CHUNK;
    s->pad = k->o.snip_edges ? 0 : (int64_t)(k->win / 2) - (int64_t)(k->shift / 2);
    s->buf = malloc(s->cap * sizeof(float));
    s->frame = malloc(k->win * sizeof(double));
    s->row = malloc(k->dim * sizeof(float));
    s->work.windowed = calloc(k->padded, sizeof(double));
    s->work.power = malloc(k->bins * sizeof(float));
    s->work.mel = malloc((size_t)k->o.num_mel_bins * sizeof(float));
    if (!s->buf || !s->frame || !s->row || !s->work.windowed || !s->work.power || !s->work.mel) {
        mer_kaldi_stream_close(s);
        return mer_error("out of memory");
    }
    mer_rng_seed(&s->rng, k->o.dither_seed);
    *out = s;
    return 0;
}

int mer_kaldi_stream_open(mer_kaldi_stream **out, const mer_kaldi *k, mer_kaldi_row_fn on_row,
                          void *ctx)
{
    *out = NULL;
    if (k->o.subtract_mean)
        return mer_error("kaldi option 'subtract_mean': needs the whole clip, not a stream "
                         "(use mer_kaldi_compute)");
    return stream_open(out, k, on_row, ctx);
}

void mer_kaldi_stream_close(mer_kaldi_stream *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s->frame);
    free(s->row);
    free(s->work.windowed);
    free(s->work.power);
    free(s->work.mel);
    free(s);
}

/* Sample i of the clip (reflected outside 0 .. total - 1); it must still be buffered. */
static float sample_at(const mer_kaldi_stream *s, int64_t i)
{
    if (i < 0)
        i = -1 - i;
    else if (i >= s->total)
        i = 2 * s->total - 1 - i;
    return s->buf[i - s->base];
}

/* Frame s->next through the plan and out to the callback. */
static int emit_frame(mer_kaldi_stream *s)
{
    const mer_kaldi *k = s->k;
    int64_t start = frame_start(s, s->next);
    if (start >= s->base && start + (int64_t)k->win <= s->base + (int64_t)s->len) {
        const float *x = s->buf + (start - s->base);
        for (size_t j = 0; j < k->win; j++)
            s->frame[j] = x[j];
    } else {
        for (size_t j = 0; j < k->win; j++)
            s->frame[j] = sample_at(s, start + (int64_t)j);
    }
    if (k->o.dither != 0.0)
        for (size_t j = 0; j < k->win; j++)
            s->frame[j] += k->o.dither * mer_rng_normal(&s->rng);
    mer_kaldi_frame(k, s->frame, &s->work, s->row);
    if (s->on_row(s->ctx, s->row, s->next) != 0) {
        s->failed = 1;
        return -1;
    }
    s->next++;
    return 0;
}

/* Drops the samples that no frame will read again. */
static void drop_used(mer_kaldi_stream *s)
{
    int64_t keep = frame_start(s, s->next), tail = s->total - (int64_t)(s->k->win + s->k->shift);
    if (tail < keep)
        keep = tail;
    if (keep <= s->base)
        return;
    memmove(s->buf, s->buf + (keep - s->base),
            (size_t)(s->base + (int64_t)s->len - keep) * sizeof(float));
    s->len = (size_t)(s->base + (int64_t)s->len - keep);
    s->base = keep;
}

int mer_kaldi_push(mer_kaldi_stream *s, const float *x, size_t n)
{
    const mer_kaldi *k = s->k;
    MER_ASSERT(!s->finished);
    if (s->failed)
        return mer_error("kaldi stream: pushed after an error");
    while (n > 0) {
        size_t take = s->cap - s->len < n ? s->cap - s->len : n;
        size_t bad = mer_kaldi_first_nonfinite(x, take);
        if (bad < take) {
            s->failed = 1;
            return mer_error("sample %lld: not a finite number (%g)",
                             (long long)(s->total + (int64_t)bad), (double)x[bad]);
        }
        memcpy(s->buf + s->len, x, take * sizeof(float));
        s->len += take;
        s->total += take;
        x += take;
        n -= take;
        /* a frame waits for window_size samples in all (below that the clip gives none) */
        while (s->total >= (int64_t)k->win && frame_start(s, s->next) + (int64_t)k->win <= s->total)
            if (emit_frame(s) < 0)
                return -1;
        drop_used(s);
    }
    return 0;
}

int mer_kaldi_finish(mer_kaldi_stream *s)
{
    size_t m = mer_kaldi_frames(s->k, (size_t)s->total);
    MER_ASSERT(!s->finished);
    if (s->failed)
        return mer_error("kaldi stream: finished after an error");
    s->finished = 1;
    while (s->next < m)
        if (emit_frame(s) < 0)
            return -1;
    return 0;
}

struct collect {
    float *rows;
    size_t dim, T;
};

static int collect_row(void *ctx, const float *row, size_t t)
{
    struct collect *c = ctx;
    MER_ASSERT(t < c->T);
    memcpy(c->rows + t * c->dim, row, c->dim * sizeof(float));
    return 0;
}

/* Each column minus its mean over the T rows (the sums in double). */
static int subtract_column_means(float *rows, size_t T, size_t dim)
{
    double *mean = calloc(dim, sizeof(double));
    if (!mean)
        return mer_error("out of memory");
    for (size_t t = 0; t < T; t++)
        for (size_t d = 0; d < dim; d++)
            mean[d] += rows[t * dim + d];
    for (size_t t = 0; t < T; t++)
        for (size_t d = 0; d < dim; d++)
            rows[t * dim + d] -= (float)(mean[d] / (double)T);
    free(mean);
    return 0;
}

int mer_kaldi_compute(const mer_kaldi *k, const float *wave, size_t n, float **rows, size_t *T)
{
    struct collect c = {NULL, k->dim, mer_kaldi_frames(k, n)};
    mer_kaldi_stream *s = NULL;
    int ret = -1;
    *rows = NULL;
    *T = 0;
    if (c.T && !(c.rows = malloc(c.T * c.dim * sizeof(float))))
        return mer_error("out of memory");
    if (stream_open(&s, k, collect_row, &c) < 0 || mer_kaldi_push(s, wave, n) < 0 ||
        mer_kaldi_finish(s) < 0)
        goto done;
    MER_ASSERT(s->next == c.T);
    if (k->o.subtract_mean && c.T && subtract_column_means(c.rows, c.T, c.dim) < 0)
        goto done;
    *rows = c.rows;
    *T = c.T;
    c.rows = NULL;
    ret = 0;
done:
    mer_kaldi_stream_close(s);
    free(c.rows);
    return ret;
}
