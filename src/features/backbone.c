/*
 * TorchScript audio backbones (include/mer/backbone.h): rows of waveform in, each row's
 * layer-pooled hidden states out.
 *
 * B = rows in one forward, W = samples of each (the batch's width), L = hidden states the
 * module returns, k = layers chosen, T = frames of a row, H = hidden size, D = pooled dim.
 */
#include "mer/backbone.h"
#include "backbone_impl.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"
#include "mer/torch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What every message about a wrong export says is expected. */
#define SIGNATURE                                                                                  \
    "forward(waveform: float32 [B, T]) -> list or tuple of float32 [B, T', D], one per layer"
#define MAX_HIDDEN   256 /* hidden states a module may return */
#define META_FILE    MER_BACKBONE_META
#define NORM_EPS     1e-7                /* Wav2Vec2FeatureExtractor's zero_mean_unit_var_norm */
#define WAV2VEC2_MIN 400                 /* samples: the receptive field of wav2vec2's encoder */
#define KEEP_BLOCKS  ((size_t)256 << 20) /* bytes: malloc blocks up to this stay in the heap */
#define KEEP_FREED   ((size_t)1 << 30)   /* bytes: freed heap memory kept from the kernel */

struct mer_backbone {
    mer_jit *model;
    char *path;      /* the model file, for messages */
    char *device;    /* set again before each run: the device is process-wide */
    size_t *layers;  /* [k] chosen hidden states, resolved to 0 .. L-1 */
    size_t n_layers; /* k */
    enum mer_layer_pool pool;
    size_t segment; /* samples per row of a long clip; 0: never cut */
    enum mer_segment_tail tail;
    int normalize;   /* resolved: 1 normalizes each clip */
    int rate;        /* samples per second the model wants */
    size_t batch;    /* most rows per forward */
    size_t n_hidden; /* L */
    int64_t hidden;  /* H */
    int64_t dim;     /* D */
    size_t min_samples;
    char checksum[32]; /* "xxh64:<16 hex>" */

    /* the last run: row i's frames are frames[out[i].off * D ..], out[i].T of them */
    float *frames;
    size_t frames_cap; /* floats */
    struct row_out {
        size_t off;
        int64_t T;
    } * out;
    size_t out_cap;
    struct row_key {
        size_t width, index;
    } * order; /* the rows by width, then position: the order they run in */
    size_t order_cap;
    float *input; /* [B, W] host batch */
    size_t input_cap;
};

struct mer_backbone_params mer_backbone_default_params(void)
{
    struct mer_backbone_params p;
    memset(&p, 0, sizeof(p));
    p.device = "cpu";
    p.pool = MER_LAYER_POOL_SUM;
    p.segment_s = 10.0;
    p.tail = MER_TAIL_PAD;
    p.normalize = MER_BACKBONE_NORM_AUTO;
    p.batch = 8;
    return p;
}

/* Grows *buf to hold n elements of size bytes each; -1 on out of memory. */
static int reserve(void *buf, size_t *cap, size_t n, size_t size)
{
    void *p;
    if (n <= *cap)
        return 0;
    if (n > SIZE_MAX / size / 2)
        return mer_error("out of memory");
    if (!(p = realloc(*(void **)buf, 2 * n * size)))
        return mer_error("out of memory");
    *(void **)buf = p;
    *cap = 2 * n;
    return 0;
}

const char *mer_backbone_shape_str(const mer_tensor *t, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < mer_tensor_ndim(t) && len < size; d++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", d ? ", " : "",
                                (long long)mer_tensor_dim_size(t, d));
    if (len < size)
        snprintf(buf + len, size - len, "]");
    return buf;
}

int mer_backbone_file_checksum(const char *path, char out[32])
{
    enum { CHUNK = 1 << 16 };
    struct mer_xxh64 h;
    size_t got;
    unsigned char *chunk;
    FILE *f = mer_fopen_regular(path);
    if (!f)
        return -1;
    if (!(chunk = malloc(CHUNK))) {
        fclose(f);
        return mer_error("out of memory");
    }
    mer_xxh64_init(&h, 0);
    while ((got = fread(chunk, 1, CHUNK, f)) > 0)
        mer_xxh64_update(&h, chunk, got);
    free(chunk);
    if (ferror(f)) {
        fclose(f);
        return mer_error("'%s': read error: %s", path, strerror(errno));
    }
    fclose(f);
    snprintf(out, 32, "xxh64:%016llx", (unsigned long long)mer_xxh64_digest(&h));
    return 0;
}

int mer_backbone_read_meta(const char *path, cJSON **root)
{
    char *text = NULL;
    size_t len;
    *root = NULL;
    if (mer_jit_extra_file(path, MER_BACKBONE_META, &text, &len) < 0)
        return -1;
    if (!text)
        return 0;
    *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        return mer_error("'%s': %s is not a JSON object", path, MER_BACKBONE_META);
    }
    return 0;
}

/* The export script's mer_backbone.json, where there is one: sample_rate and normalize. */
static int read_metadata(struct mer_backbone *b, enum mer_backbone_norm norm)
{
    cJSON *root, *rate, *normalize;
    int ret = -1;
    b->rate = 16000;
    b->normalize = norm == MER_BACKBONE_NORM_ON;
    if (mer_backbone_read_meta(b->path, &root) < 0)
        return -1;
    if (!root)
        return 0;
    rate = cJSON_GetObjectItemCaseSensitive(root, "sample_rate");
    normalize = cJSON_GetObjectItemCaseSensitive(root, "normalize");
    if (rate && (!cJSON_IsNumber(rate) || rate->valuedouble < 1 || rate->valuedouble > 1e6 ||
                 rate->valuedouble != (int)rate->valuedouble))
        mer_error("'%s': %s: sample_rate must be a positive integer", b->path, META_FILE);
    else if (normalize && !cJSON_IsBool(normalize))
        mer_error("'%s': %s: normalize must be true or false", b->path, META_FILE);
    else
        ret = 0;
    if (ret == 0 && rate)
        b->rate = (int)rate->valuedouble;
    if (ret == 0 && normalize && norm == MER_BACKBONE_NORM_AUTO)
        b->normalize = cJSON_IsTrue(normalize);
    cJSON_Delete(root);
    return ret;
}

/* Checks the module's hidden states hs[L] for a batch of B rows: float32 [B, T, H], all of
 * one shape; *T and *H get theirs. */
static int check_hidden(mer_tensor *const *hs, size_t L, int64_t B, int64_t *T, int64_t *H)
{
    char shape[128];
    if (L == 0)
        return mer_error("forward returned an empty list");
    for (size_t l = 0; l < L; l++) {
        const mer_tensor *h = hs[l];
        if (mer_tensor_ndim(h) != 3)
            return mer_error("hidden state %zu has shape %s (rank %d)", l,
                             mer_backbone_shape_str(h, shape, sizeof(shape)), mer_tensor_ndim(h));
        if (mer_tensor_dtype(h) != MER_T_F32)
            return mer_error("hidden state %zu is not float32", l);
        if (mer_tensor_dim_size(h, 0) != B)
            return mer_error("hidden state %zu has shape %s for a batch of %lld", l,
                             mer_backbone_shape_str(h, shape, sizeof(shape)), (long long)B);
        if (l == 0) {
            *T = mer_tensor_dim_size(h, 1);
            *H = mer_tensor_dim_size(h, 2);
        } else if (mer_tensor_dim_size(h, 1) != *T || mer_tensor_dim_size(h, 2) != *H) {
            return mer_error("hidden state %zu has shape %s, hidden state 0 [%lld, %lld, %lld]", l,
                             mer_backbone_shape_str(h, shape, sizeof(shape)), (long long)B,
                             (long long)*T, (long long)*H);
        }
    }
    if (*H < 1)
        return mer_error("hidden states of size 0");
    return 0;
}

/* The chosen layers of hs pooled into one new tensor [B, T, D]. */
static int pool_layers(const struct mer_backbone *b, mer_tensor *const *hs, mer_tensor **out)
{
    const mer_tensor *chosen[MAX_HIDDEN];
    mer_tensor *stack;
    for (size_t i = 0; i < b->n_layers; i++)
        chosen[i] = hs[b->layers[i]];
    if (b->pool == MER_LAYER_POOL_CAT)
        return mer_t_cat(out, chosen, b->n_layers, -1);
    /* as MERTools: torch.stack(hidden_states)[layer_ids].sum(dim=0) */
    if (mer_t_stack(&stack, chosen, b->n_layers, 0) < 0)
        return -1;
    if (b->pool == MER_LAYER_POOL_MEAN)
        return mer_t_mean(out, stack, 0, 0);
    return mer_t_sum(out, stack, 0, 0);
}

/*
 * One forward over b->input as [B, W]. Without layers chosen yet (the probe), it only checks
 * the signature and sets b->n_hidden and b->hidden. Otherwise the pooled frames [B, T, D] go
 * to frames (grown to fit, T floats * D * B), and *T to the frames per row.
 */
static int forward(struct mer_backbone *b, int64_t B, int64_t W, size_t frames_at, int64_t *T)
{
    int ret = -1, grad = mer_torch_grad_enabled(0);
    mer_scope *s = mer_scope_begin();
    mer_tensor *in, *hs[MAX_HIDDEN], *pooled;
    int64_t shape[2] = {B, W}, H = 0;
    size_t L = 0, n;
    if (!s) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_tensor_from_host(&in, b->input, MER_T_F32, 2, shape) < 0 ||
        mer_jit_forward_list(b->model, hs, MAX_HIDDEN, &L, (const mer_tensor *const *)&in, 1) < 0 ||
        check_hidden(hs, L, B, T, &H) < 0)
        goto done;
    if (b->n_hidden && (L != b->n_hidden || H != b->hidden)) {
        mer_error("%zu hidden states of size %lld, at open %zu of size %lld", L, (long long)H,
                  b->n_hidden, (long long)b->hidden);
        goto done;
    }
    b->n_hidden = L;
    b->hidden = H;
    if (!b->n_layers) {
        ret = 0;
        goto done;
    }
    n = (size_t)(B * *T * b->dim);
    if (pool_layers(b, hs, &pooled) < 0 ||
        reserve(&b->frames, &b->frames_cap, frames_at + n, sizeof(float)) < 0 ||
        mer_tensor_to_host(pooled, b->frames + frames_at, n * sizeof(float)) < 0)
        goto done;
    ret = 0;
done:
    mer_scope_end(s);
    mer_torch_grad_enabled(grad);
    return ret;
}

/* A deterministic test signal for the probes: two tones, 0.1 and 0.05 of full scale. */
static int probe_input(struct mer_backbone *b, size_t W)
{
    if (reserve(&b->input, &b->input_cap, W, sizeof(float)) < 0)
        return -1;
    for (size_t i = 0; i < W; i++) {
        double t = (double)i / b->rate;
        b->input[i] = (float)(0.1 * sin(2 * M_PI * 220 * t) + 0.05 * sin(2 * M_PI * 1250 * t));
    }
    return 0;
}

/* The probe: the module runs on 1 s and returns hidden states of the expected signature. */
static int probe_signature(struct mer_backbone *b)
{
    int64_t T;
    if (probe_input(b, (size_t)b->rate) < 0)
        return -1;
    if (forward(b, 1, b->rate, 0, &T) < 0)
        return mer_error_prefix("'%s': expected %s; on float32 [1, %d]", b->path, SIGNATURE,
                                b->rate);
    if (T < 1)
        return mer_error("'%s': no frames for 1 s of audio (expected %s)", b->path, SIGNATURE);
    return 0;
}

/* Whether the module gives at least one frame for W samples (b->input holds the probe). */
static int runs_on(struct mer_backbone *b, size_t W)
{
    int64_t T = 0;
    size_t chosen = b->n_layers;
    int ok;
    b->n_layers = 0; /* a signature check only */
    ok = forward(b, 1, (int64_t)W, 0, &T) == 0 && T >= 1;
    b->n_layers = chosen;
    mer_error_clear();
    return ok;
}

/* The shortest input the module runs on: 400 samples for wav2vec2's encoder (tried first),
 * else found by bisection between 1 sample and the probe's second. */
static void find_min_samples(struct mer_backbone *b)
{
    size_t lo = 1, hi = (size_t)b->rate;
    if (hi > WAV2VEC2_MIN && runs_on(b, WAV2VEC2_MIN) && !runs_on(b, WAV2VEC2_MIN - 1)) {
        b->min_samples = WAV2VEC2_MIN;
        return;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (runs_on(b, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    b->min_samples = hi;
}

/* p->layers (NULL: -4..-1) as indexes into the L hidden states. */
static int resolve_layers(struct mer_backbone *b, const struct mer_backbone_params *p)
{
    static const int last_four[] = {-4, -3, -2, -1};
    const int *want = p->layers ? p->layers : last_four;
    size_t k = p->layers ? p->n_layers : MER_ARRAY_SIZE(last_four);
    long L = (long)b->n_hidden;
    if (k == 0 || k > MAX_HIDDEN)
        return mer_error("'%s': %zu layers chosen (1 to %d)", b->path, k, MAX_HIDDEN);
    if (!(b->layers = calloc(k, sizeof(*b->layers))))
        return mer_error("out of memory");
    for (size_t i = 0; i < k; i++) {
        long r = want[i] < 0 ? L + want[i] : want[i];
        if (r < 0 || r >= L)
            return mer_error("'%s': layer %d is out of range: the module returns %ld hidden "
                             "states (0..%ld or -%ld..-1)",
                             b->path, want[i], L, L - 1, L);
        b->layers[i] = (size_t)r;
    }
    b->n_layers = k;
    b->dim = b->hidden * (p->pool == MER_LAYER_POOL_CAT ? (int64_t)k : 1);
    return 0;
}

/* A forward allocates and frees its activations (tens of MB for each 10 s row); glibc hands
 * blocks over 128 KB back to the kernel on free (and trims the heap), so the next forward
 * page-faults all of it in again: that tripled the tiny test model's CPU time. Process-wide. */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, (int)KEEP_BLOCKS);
    mallopt(M_TRIM_THRESHOLD, (int)KEEP_FREED);
#endif
}

int mer_backbone_load_module(mer_jit **out, const char *path, const char *device, int threads)
{
    *out = NULL;
    mer_torch_set_threads(threads);
    keep_freed_memory();
    if (mer_torch_set_device(device ? device : "cpu") < 0)
        return -1;
    return mer_jit_load(out, path);
}

static int check_params(const struct mer_backbone_params *p)
{
    const char *m = p->model ? p->model : "(null)";
    if (!p->model || !*p->model)
        return mer_error("no backbone model file given");
    if ((unsigned)p->pool > MER_LAYER_POOL_CAT || (unsigned)p->tail > MER_TAIL_KEEP ||
        (unsigned)p->normalize > MER_BACKBONE_NORM_ON)
        return mer_error("'%s': unknown layer pool, tail or normalization", m);
    if (p->batch < 1)
        return mer_error("'%s': batch must be at least 1, got %d", m, p->batch);
    if (!isfinite(p->segment_s) || p->segment_s > 3600)
        return mer_error("'%s': segment_s %g out of range (at most 3600 s; 0 never cuts)", m,
                         p->segment_s);
    return 0;
}

int mer_backbone_open(mer_backbone **out, const struct mer_backbone_params *p)
{
    struct mer_backbone *b;
    *out = NULL;
    if (check_params(p) < 0)
        return -1;
    if (!(b = calloc(1, sizeof(*b))))
        return mer_error("out of memory");
    b->path = strdup(p->model);
    b->device = strdup(p->device ? p->device : "cpu");
    b->pool = p->pool;
    b->tail = p->tail;
    b->batch = (size_t)p->batch;
    if (!b->path || !b->device) {
        mer_error("out of memory");
        goto fail;
    }
    if (mer_backbone_file_checksum(b->path, b->checksum) < 0 || read_metadata(b, p->normalize) < 0)
        goto fail;
    b->segment = p->segment_s > 0 ? (size_t)llround(p->segment_s * b->rate) : 0;
    if (mer_backbone_load_module(&b->model, b->path, b->device, p->threads) < 0 ||
        probe_signature(b) < 0 || resolve_layers(b, p) < 0)
        goto fail;
    find_min_samples(b);
    *out = b;
    return 0;
fail:
    mer_backbone_close(b);
    return -1;
}

void mer_backbone_close(mer_backbone *b)
{
    if (!b)
        return;
    mer_jit_free(b->model);
    free(b->path);
    free(b->device);
    free(b->layers);
    free(b->frames);
    free(b->out);
    free(b->order);
    free(b->input);
    free(b);
}

int64_t mer_backbone_dim(const mer_backbone *b)
{
    return b->dim;
}

size_t mer_backbone_layer_count(const mer_backbone *b)
{
    return b->n_hidden;
}

int mer_backbone_sample_rate(const mer_backbone *b)
{
    return b->rate;
}

int mer_backbone_normalizes(const mer_backbone *b)
{
    return b->normalize;
}

const char *mer_backbone_checksum(const mer_backbone *b)
{
    return b->checksum;
}

size_t mer_backbone_min_samples(const mer_backbone *b)
{
    return b->min_samples;
}

/* shift and scale that make x[n] zero-mean, unit-variance as Wav2Vec2FeatureExtractor does:
 * (x - mean) / sqrt(var + 1e-7), population variance; the identity without normalization. */
static void norm_of(const mer_backbone *b, const float *x, size_t n, double *shift, double *scale)
{
    double mean = 0, var = 0;
    *shift = 0;
    *scale = 1;
    if (!b->normalize)
        return;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= (double)n;
    *shift = mean;
    *scale = 1 / sqrt(var + NORM_EPS);
}

size_t mer_backbone_rows(const mer_backbone *b, const float *x, size_t n,
                         struct mer_backbone_row *rows)
{
    size_t seg = b->segment, count, tail;
    double shift, scale;
    if (n < b->min_samples || n == 0)
        return 0;
    if (seg == 0 || n <= seg)
        seg = n;
    count = (n + seg - 1) / seg;
    tail = n - (count - 1) * seg;
    /* KEEP: a tail the module cannot run on joins the row before it */
    if (b->tail == MER_TAIL_KEEP && count > 1 && tail < b->min_samples)
        count--;
    if (!rows)
        return count;
    norm_of(b, x, n, &shift, &scale);
    for (size_t i = 0; i < count; i++) {
        struct mer_backbone_row *r = &rows[i];
        r->x = x + i * seg;
        r->len = i + 1 < count ? seg : n - i * seg;
        r->width = b->tail == MER_TAIL_PAD ? seg : r->len;
        r->shift = shift;
        r->scale = scale;
    }
    return count;
}

static int by_width(const void *pa, const void *pb)
{
    const struct row_key *a = pa, *b = pb;
    if (a->width != b->width)
        return a->width < b->width ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* b->input <- rows order[0 .. B) as [B, W]: normalized samples, zeros after each row's len. */
static int fill_batch(struct mer_backbone *b, const struct mer_backbone_row *rows,
                      const struct row_key *order, size_t B, size_t W)
{
    if (W > SIZE_MAX / B || reserve(&b->input, &b->input_cap, B * W, sizeof(float)) < 0)
        return mer_error("out of memory");
    for (size_t r = 0; r < B; r++) {
        const struct mer_backbone_row *row = &rows[order[r].index];
        float *dst = b->input + r * W;
        for (size_t i = 0; i < row->len; i++)
            dst[i] = (float)((row->x[i] - row->shift) * row->scale);
        memset(dst + row->len, 0, (W - row->len) * sizeof(float));
    }
    return 0;
}

int mer_backbone_run(mer_backbone *b, const struct mer_backbone_row *rows, size_t n)
{
    size_t done = 0, at = 0;
    if (reserve(&b->out, &b->out_cap, n, sizeof(*b->out)) < 0 ||
        reserve(&b->order, &b->order_cap, n, sizeof(*b->order)) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].len > rows[i].width || rows[i].width < b->min_samples)
            return mer_error("'%s': row %zu: %zu samples as %zu (at least %zu, within width)",
                             b->path, i, rows[i].len, rows[i].width, b->min_samples);
        b->order[i].width = rows[i].width;
        b->order[i].index = i;
    }
    qsort(b->order, n, sizeof(*b->order), by_width);
    if (n && mer_torch_set_device(b->device) < 0)
        return -1;
    while (done < n) {
        const struct row_key *batch = b->order + done;
        size_t W = batch[0].width, B = 1;
        int64_t T;
        while (B < b->batch && done + B < n && batch[B].width == W)
            B++;
        if (fill_batch(b, rows, batch, B, W) < 0)
            return -1;
        if (forward(b, (int64_t)B, (int64_t)W, at * (size_t)b->dim, &T) < 0)
            return mer_error_prefix("'%s': forward on float32 [%zu, %zu]", b->path, B, W);
        for (size_t r = 0; r < B; r++) {
            b->out[batch[r].index].off = at;
            b->out[batch[r].index].T = T;
            at += (size_t)T;
        }
        done += B;
    }
    return 0;
}

const float *mer_backbone_frames(const mer_backbone *b, size_t i, int64_t *T)
{
    *T = b->out[i].T;
    return b->frames + b->out[i].off * (size_t)b->dim;
}
