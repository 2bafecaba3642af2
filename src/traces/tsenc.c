/*
 * The TorchScript text encoder (src/traces/textenc_backend.h): WordPiece ids from
 * src/traces/wordpiece.c into a user-exported sentence encoder,
 * forward(input_ids int64 [1, T], attention_mask int64 [1, T]) -> float [1, H] or [H].
 * One text at a time, so the mask is all ones and no padding is ever made.
 */
#include "mer/error.h"
#include "mer/torch.h"
#include "mer/wordpiece.h"
#include "traces/textenc_backend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mer_tsenc {
    struct mer_wordpiece *wp;
    mer_jit *model;
    char *path;    /* the model, for messages */
    size_t max;    /* max_tokens */
    int64_t dim;   /* H, from the probe run; 0 before it */
    int64_t *ids;  /* [max] */
    int64_t *mask; /* [max], all ones */
    double *wide;  /* [dim] for a float64 output */
    int layered;   /* forward returns every layer's hidden states (see textenc_backend.h) */
    float *states; /* [max * dim] one layer's, host copy */
};

#define MAX_LAYERS 256

/* "[1, 21, 32]" into buf. */
static const char *shape_str(const mer_tensor *y, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < mer_tensor_ndim(y) && len < size; d++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", d ? ", " : "",
                                (long long)mer_tensor_dim_size(y, d));
    if (len < size)
        snprintf(buf + len, size - len, "]");
    return buf;
}

/* H from the output's shape, which must be [1, H] or [H]. */
static int64_t output_dim(const struct mer_tsenc *e, const mer_tensor *y)
{
    int nd = mer_tensor_ndim(y), dt = mer_tensor_dtype(y);
    char shape[128];
    if (dt != MER_T_F32 && dt != MER_T_F64)
        return mer_error("'%s': forward returned a non-float tensor (expected float [1, H])",
                         e->path);
    if (nd == 1 && mer_tensor_dim_size(y, 0) > 0)
        return mer_tensor_dim_size(y, 0);
    if (nd == 2 && mer_tensor_dim_size(y, 0) == 1 && mer_tensor_dim_size(y, 1) > 0)
        return mer_tensor_dim_size(y, 1);
    return mer_error("'%s': forward returned shape %s, expected [1, H] or [H] (one pooled "
                     "sentence embedding)",
                     e->path, shape_str(y, shape, sizeof(shape)));
}

/* Copies y (float32 or float64, e->dim values) into out as floats; all must be finite. */
static int copy_out(struct mer_tsenc *e, const mer_tensor *y, float *out)
{
    size_t n = (size_t)e->dim;
    if (mer_tensor_dtype(y) == MER_T_F64) {
        if (mer_tensor_to_host(y, e->wide, n * sizeof(double)) < 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            out[i] = (float)e->wide[i];
    } else if (mer_tensor_to_host(y, out, n * sizeof(float)) < 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i]))
            return mer_error("'%s': the encoder returned a non-finite value at %zu", e->path, i);
    return 0;
}

/* Hidden states y[0..n) of n tokens ([CLS] ... [SEP]) into out[H]: the last MER_TSENC_LAYERS
 * summed, then their mean over the tokens between [CLS] and [SEP]. out NULL: the probe, which
 * checks the shapes and sets e->dim. */
static int pool_layers(struct mer_tsenc *e, mer_tensor *const *y, size_t n_layers, size_t n,
                       float *out)
{
    size_t first = n_layers > MER_TSENC_LAYERS ? n_layers - MER_TSENC_LAYERS : 0;
    int64_t h = mer_tensor_ndim(y[0]) == 3 ? mer_tensor_dim_size(y[0], 2) : 0;
    char shape[128];
    for (size_t l = 0; l < n_layers; l++)
        if (mer_tensor_dtype(y[l]) != MER_T_F32 || mer_tensor_ndim(y[l]) != 3 ||
            mer_tensor_dim_size(y[l], 0) != 1 || mer_tensor_dim_size(y[l], 1) != (int64_t)n ||
            mer_tensor_dim_size(y[l], 2) != h || h <= 0)
            return mer_error("'%s': hidden state %zu has shape %s, expected float32 [1, %zu, H] "
                             "like the others",
                             e->path, l, shape_str(y[l], shape, sizeof(shape)), n);
    if (e->dim && h != e->dim)
        return mer_error("'%s': hidden states of %lld, then %lld", e->path, (long long)e->dim,
                         (long long)h);
    e->dim = h;
    if (!out)
        return 0;
    if (!e->states && !(e->states = malloc(e->max * (size_t)h * sizeof(float))))
        return mer_error("out of memory");
    memset(out, 0, (size_t)h * sizeof(float));
    if (n <= 2) /* no token between [CLS] and [SEP] */
        return 0;
    for (size_t l = first; l < n_layers; l++) {
        if (mer_tensor_to_host(y[l], e->states, n * (size_t)h * sizeof(float)) < 0)
            return -1;
        for (size_t t = 1; t + 1 < n; t++)
            for (int64_t j = 0; j < h; j++)
                out[j] += e->states[t * (size_t)h + (size_t)j];
    }
    for (int64_t j = 0; j < h; j++) {
        out[j] /= (float)(n - 2);
        if (!isfinite(out[j]))
            return mer_error("'%s': the encoder returned a non-finite value", e->path);
    }
    return 0;
}

/* Runs a layered model on the ids of text; out may be NULL (the probe). */
static int run_layers(struct mer_tsenc *e, mer_tensor *const *in, size_t n, float *out)
{
    mer_tensor *y[MAX_LAYERS];
    size_t n_layers = 0;
    if (mer_jit_forward_list(e->model, y, MAX_LAYERS, &n_layers, (const mer_tensor *const *)in, 2) <
        0)
        return mer_error_prefix("'%s': forward on %zu tokens", e->path, n);
    if (!n_layers)
        return mer_error("'%s': forward returned an empty list of hidden states", e->path);
    return pool_layers(e, y, n_layers, n, out);
}

/* Runs the model on the ids of text; out may be NULL (the probe, which sets e->dim). */
static int run(struct mer_tsenc *e, const char *text, float *out)
{
    int ret = -1, grad = mer_torch_grad_enabled(0);
    mer_scope *s = mer_scope_begin();
    mer_tensor *in[2], *y = NULL;
    size_t n = mer_wordpiece_encode(e->wp, text, strlen(text), e->ids, e->max);
    int64_t shape[2] = {1, (int64_t)n}, dim;
    if (!s) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_tensor_from_host(&in[0], e->ids, MER_T_I64, 2, shape) < 0 ||
        mer_tensor_from_host(&in[1], e->mask, MER_T_I64, 2, shape) < 0)
        goto done;
    if (e->layered) {
        ret = run_layers(e, in, n, out);
        goto done;
    }
    if (mer_jit_forward(e->model, &y, (const mer_tensor *const *)in, 2) < 0) {
        mer_error_prefix("'%s': forward on %zu tokens", e->path, n);
        goto done;
    }
    if ((dim = output_dim(e, y)) < 0)
        goto done;
    if (e->dim && dim != e->dim) {
        mer_error("'%s': forward returned %lld values, then %lld", e->path, (long long)e->dim,
                  (long long)dim);
        goto done;
    }
    e->dim = dim;
    if (!e->wide && !(e->wide = malloc((size_t)dim * sizeof(double)))) {
        mer_error("out of memory");
        goto done;
    }
    if (out && copy_out(e, y, out) < 0)
        goto done;
    ret = 0;
done:
    mer_scope_end(s);
    mer_torch_grad_enabled(grad);
    return ret;
}

int mer_tsenc_open(struct mer_tsenc **out, const char *model_path, const char *vocab_path,
                   int max_tokens)
{
    struct mer_tsenc *e = calloc(1, sizeof(*e));
    *out = NULL;
    if (!e)
        return mer_error("out of memory");
    if (max_tokens < 2) {
        mer_error("'%s': max_tokens must be at least 2, got %d", model_path, max_tokens);
        goto fail;
    }
    e->max = (size_t)max_tokens;
    e->path = strdup(model_path);
    e->ids = malloc(e->max * sizeof(*e->ids));
    e->mask = malloc(e->max * sizeof(*e->mask));
    if (!e->path || !e->ids || !e->mask) {
        mer_error("out of memory");
        goto fail;
    }
    for (size_t i = 0; i < e->max; i++)
        e->mask[i] = 1;
    if (mer_jit_load(&e->model, model_path) < 0)
        goto fail;
    if (mer_wordpiece_open(&e->wp, vocab_path, 1) < 0) {
        mer_error_prefix("'%s' needs its WordPiece vocabulary", model_path);
        goto fail;
    }
    /* The probe: H, the kind of output (one embedding, or every layer's states), and a model
     * that cannot run fails here. */
    e->layered = 1;
    if (run(e, "", NULL) < 0) {
        e->layered = 0;
        e->dim = 0;
        mer_error_clear();
        if (run(e, "", NULL) < 0)
            goto fail;
    }
    *out = e;
    return 0;
fail:
    mer_tsenc_close(e);
    return -1;
}

int64_t mer_tsenc_dim(const struct mer_tsenc *e)
{
    return e->dim;
}

int mer_tsenc_encode(struct mer_tsenc *e, const char *text, float *out)
{
    return run(e, text, out);
}

void mer_tsenc_close(struct mer_tsenc *e)
{
    if (!e)
        return;
    mer_wordpiece_close(e->wp);
    mer_jit_free(e->model);
    free(e->path);
    free(e->ids);
    free(e->mask);
    free(e->wide);
    free(e->states);
    free(e);
}
