/*
 * TorchScript image backbones (include/mer/image.h): preprocessed frames in, one feature row
 * per frame out.
 *
 * B = images in one forward, H x W = their size, N = tokens, D = feature dim.
 */
#include "backbone_impl.h"
#include "mer/error.h"
#include "mer/image.h"
#include "mer/torch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What every message about a wrong export says is expected. */
#define SIGNATURE  "forward(images: float32 [B, 3, H, W]) -> float32 [B, D] or [B, N, D]"
#define PROBE_SIDE 224 /* the probe's side when the options neither resize nor crop */

struct mer_image_backbone {
    mer_jit *model;
    char *path;   /* the model file, for messages */
    char *device; /* set again before each run: the device is process-wide */
    size_t batch;
    enum mer_image_pool pool;
    int tokens; /* 1: the module returns [B, N, D] */
    int64_t dim;
    struct mer_image_opts opts; /* the module's preprocessing */
    char checksum[32];
    float *host; /* [B, N, D] of one forward, for pooling */
    size_t host_cap;
};

struct mer_image_backbone_params mer_image_backbone_default_params(void)
{
    struct mer_image_backbone_params p;
    memset(&p, 0, sizeof(p));
    p.device = "cpu";
    p.batch = 16;
    p.pool = MER_IMAGE_POOL_CLS;
    return p;
}

/* A key of mer_backbone.json as an option's text ("resize": 256 -> "256", "mean": [a, b, c]
 * -> "a,b,c"), set through the option table so its checks apply. */
static int meta_option(struct mer_image_backbone *b, cJSON *root, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key), *e;
    char text[128] = "";
    size_t at = 0;
    if (!v)
        return 0;
    if (cJSON_IsBool(v))
        snprintf(text, sizeof(text), "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNumber(v))
        snprintf(text, sizeof(text), "%.17g", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(text, sizeof(text), "%s", v->valuestring);
    else if (cJSON_IsArray(v))
        cJSON_ArrayForEach(e, v) at +=
            (size_t)snprintf(text + at, sizeof(text) - at, "%s%.9g", at ? "," : "",
                             cJSON_IsNumber(e) ? e->valuedouble : NAN);
    if (mer_image_set(&b->opts, key, text) < 0)
        return mer_error_prefix("'%s': %s", b->path, MER_BACKBONE_META);
    return 0;
}

/* The preprocessing in the module's mer_backbone.json over mer_image_defaults. */
static int read_metadata(struct mer_image_backbone *b)
{
    static const char *const keys[] = {"resize", "crop", "interpolation", "rescale", "mean", "std"};
    cJSON *root, *kind;
    int ret = 0;
    mer_image_defaults(&b->opts);
    if (mer_backbone_read_meta(b->path, &root) < 0)
        return -1;
    if (!root)
        return 0;
    kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
    if (kind && (!cJSON_IsString(kind) || strcmp(kind->valuestring, "image")))
        ret = mer_error("'%s': %s: kind is %s, not an image backbone", b->path, MER_BACKBONE_META,
                        cJSON_IsString(kind) ? kind->valuestring : "not a string");
    for (size_t i = 0; ret == 0 && i < MER_ARRAY_SIZE(keys); i++)
        ret = meta_option(b, root, keys[i]);
    cJSON_Delete(root);
    return ret;
}

/* out [B, D] from y, a float32 [B, D] or [B, N, D] (pooled), checked against the D at open
 * (dim 0: the probe, which sets it). */
static int pool_output(struct mer_image_backbone *b, const mer_tensor *y, int64_t B, float *out)
{
    char shape[128];
    int nd = mer_tensor_ndim(y);
    int64_t N = nd == 3 ? mer_tensor_dim_size(y, 1) : 1, D = mer_tensor_dim_size(y, nd - 1);
    mer_backbone_shape_str(y, shape, sizeof(shape));
    if (mer_tensor_dtype(y) != MER_T_F32)
        return mer_error("returned %s, not float32", shape);
    if ((nd != 2 && nd != 3) || mer_tensor_dim_size(y, 0) != B || N < 1 || D < 1)
        return mer_error("returned float32 %s", shape);
    if (b->dim && (D != b->dim || (nd == 3) != b->tokens))
        return mer_error("returned %s, at open [B, %s%lld]", shape, b->tokens ? "N, " : "",
                         (long long)b->dim);
    if (!b->dim) {
        b->dim = D;
        b->tokens = nd == 3;
    }
    if (!out)
        return 0;
    if (nd == 2)
        return mer_tensor_to_host(y, out, (size_t)(B * D) * sizeof(float));
    if ((size_t)(B * N * D) > b->host_cap) {
        float *p = realloc(b->host, (size_t)(B * N * D) * sizeof(float));
        if (!p)
            return mer_error("out of memory");
        b->host = p;
        b->host_cap = (size_t)(B * N * D);
    }
    if (mer_tensor_to_host(y, b->host, (size_t)(B * N * D) * sizeof(float)) < 0)
        return -1;
    for (int64_t i = 0; i < B; i++) {
        const float *t = b->host + i * N * D;
        float *o = out + i * D;
        if (b->pool == MER_IMAGE_POOL_CLS) {
            memcpy(o, t, (size_t)D * sizeof(float));
            continue;
        }
        for (int64_t d = 0; d < D; d++) {
            double s = 0;
            for (int64_t n = 0; n < N; n++)
                s += t[n * D + d];
            o[d] = (float)(s / (double)N);
        }
    }
    return 0;
}

/* One forward over images [B, 3, h, w]; out [B, D] (NULL: the probe, only checks). */
static int forward(struct mer_image_backbone *b, const float *images, int64_t B, int h, int w,
                   float *out)
{
    int ret = -1, grad = mer_torch_grad_enabled(0);
    mer_scope *s = mer_scope_begin();
    mer_tensor *in, *y;
    int64_t shape[4] = {B, 3, h, w};
    if (!s)
        ret = mer_error("out of memory");
    else if (mer_tensor_from_host(&in, images, MER_T_F32, 4, shape) == 0 &&
             mer_jit_forward(b->model, &y, (const mer_tensor *const *)&in, 1) == 0)
        ret = pool_output(b, y, B, out);
    mer_scope_end(s);
    mer_torch_grad_enabled(grad);
    return ret;
}

/* The probe: one black frame, preprocessed as the module wants, must give [1, D] or
 * [1, N, D]. */
static int probe(struct mer_image_backbone *b)
{
    static const uint8_t black[3];
    struct mer_image_opts o = b->opts;
    int h, w, ret;
    float *x;
    if (o.resize <= 0 && o.crop <= 0)
        o.crop = PROBE_SIDE;
    mer_image_out_size(&o, 1, 1, &h, &w);
    if (!(x = malloc((size_t)3 * h * w * sizeof(float))))
        return mer_error("out of memory");
    ret = mer_image_preprocess(&o, black, 1, 1, x);
    if (ret == 0 && forward(b, x, 1, h, w, NULL) < 0)
        ret = mer_error_prefix("'%s': expected %s; on float32 [1, 3, %d, %d]", b->path, SIGNATURE,
                               h, w);
    free(x);
    return ret;
}

int mer_image_backbone_open(mer_image_backbone **out, const struct mer_image_backbone_params *p)
{
    struct mer_image_backbone *b;
    *out = NULL;
    if (!p->model || !*p->model)
        return mer_error("no image backbone model file given");
    if (p->batch < 1 || (unsigned)p->pool > MER_IMAGE_POOL_MEAN)
        return mer_error("'%s': batch must be at least 1 (got %d) and pool cls or mean", p->model,
                         p->batch);
    if (!(b = calloc(1, sizeof(*b))))
        return mer_error("out of memory");
    b->path = strdup(p->model);
    b->device = strdup(p->device ? p->device : "cpu");
    b->batch = (size_t)p->batch;
    b->pool = p->pool;
    if (!b->path || !b->device) {
        mer_error("out of memory");
        goto fail;
    }
    if (mer_backbone_file_checksum(b->path, b->checksum) < 0 || read_metadata(b) < 0 ||
        mer_backbone_load_module(&b->model, b->path, b->device, p->threads) < 0 || probe(b) < 0)
        goto fail;
    *out = b;
    return 0;
fail:
    mer_image_backbone_close(b);
    return -1;
}

void mer_image_backbone_close(mer_image_backbone *b)
{
    if (!b)
        return;
    mer_jit_free(b->model);
    free(b->path);
    free(b->device);
    free(b->host);
    free(b);
}

int64_t mer_image_backbone_dim(const mer_image_backbone *b)
{
    return b->dim;
}

int mer_image_backbone_tokens(const mer_image_backbone *b)
{
    return b->tokens;
}

const struct mer_image_opts *mer_image_backbone_opts(const mer_image_backbone *b)
{
    return &b->opts;
}

const char *mer_image_backbone_checksum(const mer_image_backbone *b)
{
    return b->checksum;
}

int mer_image_backbone_run(mer_image_backbone *b, const float *images, size_t n, int h, int w,
                           float *out)
{
    size_t per = (size_t)3 * (size_t)h * (size_t)w;
    if (h < 1 || w < 1)
        return mer_error("'%s': images of %d x %d pixels", b->path, h, w);
    if (n && mer_torch_set_device(b->device) < 0)
        return -1;
    for (size_t done = 0; done < n;) {
        size_t B = n - done < b->batch ? n - done : b->batch;
        if (forward(b, images + done * per, (int64_t)B, h, w, out + done * (size_t)b->dim) < 0)
            return mer_error_prefix("'%s': expected %s; on float32 [%zu, 3, %d, %d]", b->path,
                                    SIGNATURE, B, h, w);
        done += B;
    }
    return 0;
}
