/* mer extract audio: clips decoded (media.h) into fbank/MFCC (kaldi.h), eGeMAPS (egemaps.h) or
 * TorchScript backbone (backbone.h) features, through the store builder. */
#include "features/extract_impl.h"
#include "mer/backbone.h"
#include "mer/egemaps.h"
#include "mer/error.h"
#include "mer/extract.h"
#include "mer/fs.h"
#include "mer/kaldi.h"
#include "mer/media.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define READ_BLOCK 16384 /* samples decoded at a time by the streaming extractors */

#define AUDIO_KIND_LIST(X)                                                                         \
    X(FBANK, "fbank")                                                                              \
    X(MFCC, "mfcc")                                                                                \
    X(EGEMAPS, "egemaps")                                                                          \
    X(TORCHSCRIPT, "torchscript:")
#define AUDIO_KIND_ENUM(id, name) AUDIO_##id,
enum audio_kind { AUDIO_KIND_LIST(AUDIO_KIND_ENUM) AUDIO_N_KINDS };
#undef AUDIO_KIND_ENUM

static const char *const kind_names[] = {
#define AUDIO_KIND_NAME(id, name) name,
    AUDIO_KIND_LIST(AUDIO_KIND_NAME)
#undef AUDIO_KIND_NAME
};

struct mer_audio_params mer_audio_default_params(void)
{
    struct mer_audio_params p = {.features = "fbank", .rate = 16000, .segment_s = 10, .batch = 8};
    return p;
}

/* Skip reasons: the decoder's (media.h, in its order), then the extractors' own. */
enum { REASON_TOO_SHORT = MER_MEDIA_N_FAILS - 1, REASON_BAD_NAME, N_REASONS };

struct audio_source {
    enum audio_kind kind;
    enum mer_pool pool;
    int rate;
    mer_kaldi *kaldi;
    struct mer_kaldi_opts kaldi_opts;
    mer_backbone *backbone;
    mer_egemaps *egemaps;
    const char *reasons[N_REASONS];
};

static int parse_kind(const char *features, enum audio_kind *kind)
{
    for (int k = 0; k < AUDIO_N_KINDS; k++)
        if (k == AUDIO_TORCHSCRIPT ? !strncmp(features, kind_names[k], strlen(kind_names[k]))
                                   : !strcmp(features, kind_names[k])) {
            *kind = (enum audio_kind)k;
            return 0;
        }
    return mer_error("--features '%s': expected fbank, mfcc, egemaps or torchscript:<model.pt>",
                     features);
}

/* ---- fbank and MFCC: decoded and computed block by block, pooled as the frames come ---- */

struct frames {
    struct mer_rows *r;
    struct mer_pool_acc acc; /* utterance level */
    size_t cap;              /* frame level: rows of r->data */
};

static int on_frame(void *ctx, const float *row, size_t t)
{
    struct frames *f = ctx;
    struct mer_rows *r = f->r;
    (void)t;
    if (f->acc.d) {
        mer_pool_acc_add(&f->acc, row);
        return 0;
    }
    if ((size_t)r->t == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 512;
        float *grown = realloc(r->data, cap * (size_t)r->d * sizeof(float));
        if (!grown)
            return mer_error("out of memory");
        r->data = grown;
        f->cap = cap;
    }
    memcpy(r->data + r->t * r->d, row, (size_t)r->d * sizeof(float));
    r->t++;
    return 0;
}

/* Feeds the clip to the stream; the clip's length in samples, or -1 (*why set). */
static long feed_clip(mer_audio_reader *rd, mer_kaldi_stream *s, enum mer_media_fail *why)
{
    float buf[READ_BLOCK];
    long got, total = 0;
    while ((got = mer_audio_read(rd, buf, READ_BLOCK, why)) > 0) {
        if (mer_kaldi_push(s, buf, (size_t)got) < 0) {
            *why = MER_MEDIA_OK; /* not the clip's fault */
            return -1;
        }
        total += got;
    }
    return got < 0 ? -1 : total;
}

static int kaldi_rows(struct audio_source *a, const char *path, struct mer_rows *r)
{
    struct frames f = {.r = r};
    mer_audio_reader *rd = NULL;
    mer_kaldi_stream *s = NULL;
    enum mer_media_fail why = MER_MEDIA_OK;
    long n = -1;
    int ret = -1;
    r->d = (int64_t)mer_kaldi_dim(a->kaldi);
    if (a->pool != MER_POOL_NONE && mer_pool_acc_init(&f.acc, a->pool, r->d) < 0)
        return -1;
    if (mer_audio_open(&rd, path, a->rate, &why) < 0) {
        ret = mer_extract_skip_media(r, why);
        goto done;
    }
    if (mer_kaldi_stream_open(&s, a->kaldi, on_frame, &f) < 0)
        goto done;
    n = feed_clip(rd, s, &why);
    if (n < 0 || mer_kaldi_finish(s) < 0) {
        ret = n < 0 && why != MER_MEDIA_OK ? mer_extract_skip_media(r, why) : -1;
        goto done;
    }
    r->seconds = (double)n / a->rate;
    if (!f.acc.t && !r->t) {
        ret = mer_rows_skip(r, REASON_TOO_SHORT, "'%s': %ld samples, shorter than one frame", path,
                            n);
        goto done;
    }
    if (f.acc.d) {
        float *row = malloc((size_t)mer_pool_cols(a->pool, r->d) * sizeof(float));
        if (!row) {
            mer_error("out of memory");
            goto done;
        }
        mer_pool_acc_finish(&f.acc, row);
        free(r->data);
        r->data = row;
        r->t = 1;
        r->d = mer_pool_cols(a->pool, r->d);
        r->pooled = 1;
    }
    ret = 1;
done:
    mer_pool_acc_release(&f.acc);
    mer_kaldi_stream_close(s);
    mer_audio_close(rd);
    return ret;
}

/* ---- eGeMAPS (over the whole clip) and backbones (decoded here, run in batches) ---- */

static int decode_clip(struct audio_source *a, const char *path, struct mer_rows *r, float **pcm,
                       size_t *n)
{
    enum mer_media_fail why = MER_MEDIA_OK;
    if (mer_audio_decode(path, a->rate, pcm, n, &why) < 0)
        return why == MER_MEDIA_OK ? -1 : mer_extract_skip_media(r, why);
    r->seconds = (double)*n / a->rate;
    return 1;
}

/* The 88 functionals (utterance level), or the 25 descriptors of every frame. */
static int egemaps_rows(struct audio_source *a, const char *path, struct mer_rows *r)
{
    float *pcm = NULL;
    size_t n = 0, frames;
    int frame_level = a->pool == MER_POOL_NONE;
    int got = decode_clip(a, path, r, &pcm, &n);
    if (got != 1)
        return got;
    frames = mer_egemaps_frames(a->egemaps, n);
    if (!frames) {
        free(pcm);
        return mer_rows_skip(r, REASON_TOO_SHORT, "'%s': %zu samples, shorter than one frame", path,
                             n);
    }
    r->t = frame_level ? (int64_t)frames : 1;
    r->d = frame_level ? MER_EGEMAPS_LLD_DIM : MER_EGEMAPS_DIM;
    r->pooled = !frame_level;
    if (!(r->data = malloc((size_t)(r->t * r->d) * sizeof(float))))
        got = mer_error("out of memory");
    else if ((frame_level ? mer_egemaps_lld(a->egemaps, pcm, n, r->data)
                          : mer_egemaps_compute(a->egemaps, pcm, n, r->data)) < 0)
        got = -1;
    free(pcm);
    return got;
}

/* The waveform itself, as [n, 1]: the batch call turns it into frames. */
static int waveform_rows(struct audio_source *a, const char *path, struct mer_rows *r)
{
    float *pcm = NULL;
    size_t n = 0;
    int got = decode_clip(a, path, r, &pcm, &n);
    if (got != 1)
        return got;
    if (mer_backbone_rows(a->backbone, pcm, n, NULL) == 0) {
        free(pcm);
        return mer_rows_skip(r, REASON_TOO_SHORT,
                             "'%s': %zu samples, shorter than the %zu the model takes", path, n,
                             mer_backbone_min_samples(a->backbone));
    }
    r->data = pcm;
    r->t = (int64_t)n;
    r->d = 1;
    return 1;
}

static int make_rows(void *ctx, const char *name, const char *path, struct mer_rows *r)
{
    struct audio_source *a = ctx;
    (void)name;
    switch (a->kind) {
    case AUDIO_FBANK:
    case AUDIO_MFCC:
        return kaldi_rows(a, path, r);
    case AUDIO_EGEMAPS:
        return egemaps_rows(a, path, r);
    case AUDIO_TORCHSCRIPT:
        return waveform_rows(a, path, r);
    case AUDIO_N_KINDS:
        break;
    }
    MER_BUG("audio kind %d", (int)a->kind);
}

/* Clip c's frames: those of its rows [lo, hi) of the last run, one after the other. */
static int clip_frames(struct audio_source *a, struct mer_rows *c, size_t lo, size_t hi)
{
    int64_t d = mer_backbone_dim(a->backbone), t = 0, T;
    float *out;
    for (size_t i = lo; i < hi; i++) {
        mer_backbone_frames(a->backbone, i, &T);
        t += T;
    }
    if (!(out = malloc((size_t)(t * d + 1) * sizeof(float))))
        return mer_error("out of memory");
    t = 0;
    for (size_t i = lo; i < hi; i++) {
        const float *f = mer_backbone_frames(a->backbone, i, &T);
        memcpy(out + t * d, f, (size_t)(T * d) * sizeof(float));
        t += T;
    }
    free(c->data);
    c->data = out;
    c->t = t;
    c->d = d;
    return 0;
}

/* A batch of clips' waveforms through the backbone: every clip's rows in one run (the
 * backbone batches rows of one width), then each clip's frames in place of its waveform. */
static int backbone_batch(void *ctx, struct mer_rows *clips, size_t n)
{
    struct audio_source *a = ctx;
    size_t total = 0, k = 0;
    struct mer_backbone_row *rows;
    size_t *first;
    int ret = -1;
    for (size_t i = 0; i < n; i++)
        if (clips[i].data && !clips[i].reason)
            total += mer_backbone_rows(a->backbone, clips[i].data, (size_t)clips[i].t, NULL);
    rows = calloc(total + 1, sizeof(*rows));
    first = calloc(n + 1, sizeof(*first));
    if (!rows || !first) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        first[i] = k;
        if (clips[i].data && !clips[i].reason)
            k += mer_backbone_rows(a->backbone, clips[i].data, (size_t)clips[i].t, rows + k);
    }
    first[n] = k;
    if (total && mer_backbone_run(a->backbone, rows, total) < 0)
        goto done;
    ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++)
        if (clips[i].data && !clips[i].reason)
            ret = clip_frames(a, &clips[i], first[i], first[i + 1]);
done:
    free(rows);
    free(first);
    return ret;
}

/* ---- opening the extractor, and the run ---- */

static int set_kaldi(void *o, const char *name, const char *value)
{
    return mer_kaldi_set(o, name, value);
}

static int open_kaldi(struct audio_source *a, const struct mer_audio_params *ap)
{
    enum mer_kaldi_kind kind = a->kind == AUDIO_MFCC ? MER_KALDI_MFCC : MER_KALDI_FBANK;
    struct mer_kaldi_opts o;
    char rate[32];
    mer_kaldi_defaults(&o, kind);
    snprintf(rate, sizeof(rate), "%d", a->rate);
    if (mer_kaldi_set(&o, "sample_frequency", rate) < 0)
        return -1;
    if (mer_extract_apply_params(ap->params, ap->n_params, &o, set_kaldi, "sample_frequency",
                                 "the sample rate is --rate") < 0)
        return -1;
    a->kaldi_opts = o;
    return mer_kaldi_open(&a->kaldi, kind, &o);
}

/* "-4,-3,-2,-1" into layers[] (at most max); the count, or -1. */
static int parse_layers(const char *s, int *layers, int max)
{
    int n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || (*end && *end != ',') || n == max || v < -1000 || v > 1000)
            return mer_error("--layers '%s': expected a list of layer indexes such as -4,-3,-2,-1",
                             s);
        layers[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return n ? n : mer_error("--layers: no layer given");
}

static int open_backbone(struct audio_source *a, const struct mer_audio_params *ap)
{
    struct mer_backbone_params p = mer_backbone_default_params();
    int layers[64], n = 0;
    p.model = ap->features + strlen(kind_names[AUDIO_TORCHSCRIPT]);
    p.device = ap->device;
    p.segment_s = ap->segment_s;
    p.batch = ap->batch;
    p.threads = ap->threads;
    if (ap->layers && (n = parse_layers(ap->layers, layers, 64)) < 0)
        return -1;
    p.layers = n ? layers : NULL;
    p.n_layers = (size_t)n;
    if (ap->layer_pool) {
        static const char *const pools[] = {"sum", "mean", "cat"};
        size_t k = 0;
        while (k < 3 && strcmp(ap->layer_pool, pools[k]))
            k++;
        if (k == 3)
            return mer_error("--layer-pool '%s': expected sum, mean or cat", ap->layer_pool);
        p.pool = (enum mer_layer_pool)k;
    }
    if (mer_backbone_open(&a->backbone, &p) < 0)
        return -1;
    a->rate = mer_backbone_sample_rate(a->backbone);
    return 0;
}

static int check_params(const struct audio_source *a, const struct mer_audio_params *ap)
{
    int kaldi = a->kind == AUDIO_FBANK || a->kind == AUDIO_MFCC;
    int ts = a->kind == AUDIO_TORCHSCRIPT;
    if (!kaldi && ap->n_params)
        return mer_error("--param is for fbank and mfcc, not %s", ap->features);
    if (!ts && (ap->layers || ap->layer_pool || ap->device))
        return mer_error("--layers, --layer-pool and --device are for torchscript:<model.pt>");
    if (a->kind == AUDIO_EGEMAPS && a->pool != MER_POOL_MEAN && a->pool != MER_POOL_NONE)
        return mer_error("egemaps: its functionals are the clip's row (--level utt), or its "
                         "descriptors every frame's (--level frame); --pool does not apply");
    return 0;
}

/* Every option that changes the rows, as JSON text (fingerprint and provenance). */
static char *audio_options(const struct audio_source *a, const struct mer_audio_params *ap)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "extractor", "audio");
    cJSON_AddStringToObject(o, "features", ap->features);
    cJSON_AddNumberToObject(o, "rate", a->rate);
    cJSON_AddStringToObject(o, "decoder", mer_media_versions());
    if (a->kaldi)
        cJSON_AddItemToObject(o, "params", mer_kaldi_opts_json(&a->kaldi_opts));
    if (a->backbone) {
        cJSON_AddStringToObject(o, "model_checksum", mer_backbone_checksum(a->backbone));
        cJSON_AddStringToObject(o, "layers", ap->layers ? ap->layers : "-4,-3,-2,-1");
        cJSON_AddStringToObject(o, "layer_pool", ap->layer_pool ? ap->layer_pool : "sum");
        cJSON_AddNumberToObject(o, "segment_s", ap->segment_s);
        cJSON_AddBoolToObject(o, "normalize", mer_backbone_normalizes(a->backbone));
    }
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

int mer_extract_audio(const struct mer_build_params *bp, const struct mer_audio_params *ap,
                      struct mer_build_report *r)
{
    struct audio_source a = {.pool = bp->pool, .rate = ap->rate};
    struct mer_samples s = MER_SAMPLES_INIT;
    struct mer_build_params p = *bp;
    struct mer_build_source src = {.label = "extract audio",
                                   .nouns = &mer_clip_nouns,
                                   .reasons = a.reasons,
                                   .n_reasons = N_REASONS,
                                   .bad_name_reason = REASON_BAD_NAME,
                                   .produce = make_rows,
                                   .ctx = &a};
    char *options = NULL, *provenance = NULL;
    int ret = -1;
    memset(r, 0, sizeof(*r));
    for (int k = 1; k < MER_MEDIA_N_FAILS; k++)
        a.reasons[k - 1] = mer_media_fail_name((enum mer_media_fail)k);
    a.reasons[REASON_TOO_SHORT] = "too short";
    a.reasons[REASON_BAD_NAME] = "file name not UTF-8";
    if (parse_kind(ap->features, &a.kind) < 0 || check_params(&a, ap) < 0)
        goto done;
    if (a.kind == AUDIO_TORCHSCRIPT) {
        if (open_backbone(&a, ap) < 0)
            goto done;
        src.batch = backbone_batch;
        src.batch_size = (size_t)(ap->batch > 0 ? ap->batch : 8);
    } else if (a.kind == AUDIO_EGEMAPS) {
        if (mer_egemaps_open(&a.egemaps, a.rate) < 0)
            goto done;
    } else if (open_kaldi(&a, ap) < 0) {
        goto done;
    }
    if (!(options = audio_options(&a, ap))) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_extract_provenance(bp->provenance, options, &provenance) < 0 ||
        mer_extract_list_clips(&s, bp->input) < 0)
        goto done;
    src.options = options;
    p.provenance = provenance;
    ret = mer_build_store(&p, &s, &src, r);
done:
    mer_kaldi_close(a.kaldi);
    mer_backbone_close(a.backbone);
    mer_egemaps_close(a.egemaps);
    mer_samples_release(&s);
    free(options);
    free(provenance);
    return ret;
}
