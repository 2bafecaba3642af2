/*
 * The training step in plain C (cnet.h). Dimension legend as model.c's: N = batch,
 * M = modalities, D_m = feature dim, H = hidden, P = prior dim, K = classes, Z = projection
 * dim, A = heads, E = H / A. Token-major buffers: [N, M*H] is also [N*M, H], the stack of
 * the modality tokens, and the concatenation the fusion MLP reads. Sums over a row or a head
 * are vectorized with `omp simd` reductions (-fopenmp-simd: no OpenMP runtime); their order
 * is fixed, so results stay deterministic.
 */
#include "model/cnet.h"
#include "mer/error.h"
#include "model/linear.h"
#include "model/adam.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 8
#define NORM_EPS   1e-12f /* F.normalize */
#define LN_EPS     1e-5f  /* nn.LayerNorm */

struct lin {
    const float *w, *b; /* [out, in], [out] */
    float *gw, *gb;
    int64_t in, out;
    size_t iw, ib; /* their indices in the model's parameter table */
};

/* Activations of one step, [cap, ...] each; what backward needs and its scratch. */
struct acts {
    float *xd[MER_MAX_MODALITIES][MAX_LAYERS];    /* each encoder layer's (dropped) input */
    float *scale[MER_MAX_MODALITIES][MAX_LAYERS]; /* its dropout factors */
    uint16_t *bits;                               /* dropout's random draws */
    float *panel;                                 /* mer_linear_forward's scratch */
    float *act[MER_MAX_MODALITIES][MAX_LAYERS];   /* ReLU outputs */
    float *h, *q, *hi, *pre, *pre2;               /* [N, M*H] */
    float *kv, *Q, *K, *V, *o, *xhat, *rstd, *att, *any;
    float *f1, *a, *wts, *f, *p1, *p2, *z, *znorm, *logits, *v;
    float *keys, *sim, *cnorm; /* keys: the batch's z, then the normalised prototypes */
    /* gradients and scratch */
    float *dh, *dhi, *dq, *dtmp, *dtmp2, *u, *du, *df, *dp, *dlogits, *dz, *dv, *dsim, *dkeys, *dC,
        *dact, *din;
};

struct mer_cnet {
    struct mer_model_config c;
    int64_t cap, mh; /* capacity, M*H */
    int priors;      /* a prior mode with prior_dim > 0 */
    struct lin enc[MER_MAX_MODALITIES][MAX_LAYERS], prior_proj[MER_MAX_MODALITIES];
    struct lin inject[MER_MAX_MODALITIES], gamma[MER_MAX_MODALITIES], beta[MER_MAX_MODALITIES];
    struct lin wq, wk, wv, wo, fuse1, fuse2, classifier, proj1, proj2, valence;
    const float *norm_w, *norm_b, *proto;
    float *g_norm_w, *g_norm_b, *g_proto;
    size_t i_norm_w, i_norm_b, i_proto;
    struct acts s;
    float *arena;
    /* The model's parameters, moved into one block (adam.h) for the engine's life. */
    struct mer_params params;
    /* A deferred optimizer step (mer_cnet_defer_step): pending[i] while parameter i waits for
     * its update. */
    mer_adam *opt;
    unsigned char *pending;
    /* Backward adds to the gradient block, so it must be zero before: the deferred step zeroes
     * each gradient as it consumes it (grads_zero once all are), else a memset. */
    int grads_zero, step_deferred;
};

/* ---- parameters: bound to the block by the model's table (modeldef.h) ---- */

/* Binds parameter i of m (its spec s) to the engine's fields, at its place in the block. */
static void bind_param(struct mer_cnet *e, const struct mer_param_spec *s, size_t i)
{
    const int64_t at = e->params.offset[i];
    float *v = e->params.values + at, *g = e->params.grads + at;
    struct lin *l = NULL;
    switch (s->role) {
    case MER_P_ENCODER:
        l = &e->enc[s->mod][s->layer];
        break;
    case MER_P_PRIOR_PROJ:
        l = &e->prior_proj[s->mod];
        break;
    case MER_P_INJECT:
        l = &e->inject[s->mod];
        break;
    case MER_P_GAMMA:
        l = &e->gamma[s->mod];
        break;
    case MER_P_BETA:
        l = &e->beta[s->mod];
        break;
    case MER_P_WQ:
        l = &e->wq;
        break;
    case MER_P_WK:
        l = &e->wk;
        break;
    case MER_P_WV:
        l = &e->wv;
        break;
    case MER_P_WO:
        l = &e->wo;
        break;
    case MER_P_NORM:
        if (s->bias) {
            e->norm_b = v;
            e->g_norm_b = g;
            e->i_norm_b = i;
        } else {
            e->norm_w = v;
            e->g_norm_w = g;
            e->i_norm_w = i;
        }
        return;
    case MER_P_FUSE1:
        l = &e->fuse1;
        break;
    case MER_P_FUSE2:
        l = &e->fuse2;
        break;
    case MER_P_CLASSIFIER:
        l = &e->classifier;
        break;
    case MER_P_PROJ1:
        l = &e->proj1;
        break;
    case MER_P_PROJ2:
        l = &e->proj2;
        break;
    case MER_P_PROTOTYPES:
        e->proto = v;
        e->g_proto = g;
        e->i_proto = i;
        return;
    case MER_P_VALENCE:
        l = &e->valence;
        break;
    }
    l->out = s->shape[0];
    if (s->bias) {
        l->b = v;
        l->gb = g;
        l->ib = i;
    } else {
        l->in = s->shape[1];
        l->w = v;
        l->gw = g;
        l->iw = i;
    }
}

static void bind_all(struct mer_cnet *e, const mer_model *m)
{
    for (size_t i = 0; i < mer_model_n_params(m); i++) {
        const struct mer_param_spec *s = mer_model_param_spec(m, i);
        const int64_t numel = s->shape[0] * (s->ndim == 2 ? s->shape[1] : 1);
        if (e->params.offset[i + 1] - e->params.offset[i] != numel)
            MER_BUG("cnet: parameter %s has %lld values, expected %lld", s->name,
                    (long long)(e->params.offset[i + 1] - e->params.offset[i]), (long long)numel);
        bind_param(e, s, i);
    }
}

/* ---- activation memory: one block, carved in a fixed order ---- */

struct carver {
    float *base;
    size_t used;
};

static float *carve(struct carver *cv, int64_t n)
{
    float *p = cv->base ? cv->base + cv->used : NULL;
    cv->used += ((size_t)n + 15) & ~(size_t)15; /* 64-byte steps keep every buffer aligned */
    return p;
}

static int64_t widest(int64_t a, int64_t b, int64_t c)
{
    const int64_t ab = a > b ? a : b;
    return ab > c ? ab : c;
}

/* Every buffer, sized for the engine's capacity; the linear kernel's panel holds the widest
 * input (din: features or 2H; M*H; P). */
static void carve_all(struct mer_cnet *e, struct carver *cv)
{
    const struct mer_model_config *c = &e->c;
    const int64_t n = e->cap, h = c->hidden, mh = e->mh, k = c->n_classes, z = c->proj_dim;
    const int64_t nk = n + k, a = c->heads > 0 ? c->heads : 1, dmax = mh > h ? 2 * mh : 2 * h;
    struct acts *s = &e->s;
    int64_t din = 2 * h;
    for (int m = 0; m < c->n_mod; m++) {
        din = c->dims[m] > din ? c->dims[m] : din;
        for (int l = 0; l < c->encoder_layers; l++) {
            s->xd[m][l] = carve(cv, n * (l ? h : c->dims[m]));
            s->scale[m][l] = carve(cv, n * (l ? h : c->dims[m]));
            s->act[m][l] = carve(cv, n * h);
        }
    }
    s->bits = (uint16_t *)carve(cv, (n * din + 4) / 2 + 1);
    s->panel = carve(cv, mer_linear_panel_floats(widest(din, mh, c->prior_dim)));
    s->h = carve(cv, n * mh);
    s->q = carve(cv, n * mh);
    s->hi = carve(cv, n * mh);
    s->pre = carve(cv, n * mh);
    s->pre2 = carve(cv, n * mh);
    s->kv = carve(cv, n * mh);
    s->Q = carve(cv, n * mh);
    s->K = carve(cv, n * mh);
    s->V = carve(cv, n * mh);
    s->o = carve(cv, n * mh);
    s->xhat = carve(cv, n * mh);
    s->rstd = carve(cv, n * c->n_mod);
    s->att = carve(cv, n * a * c->n_mod * c->n_mod);
    s->any = carve(cv, n);
    s->f1 = carve(cv, n * h);
    s->a = carve(cv, n * c->n_mod);
    s->wts = carve(cv, n * c->n_mod);
    s->f = carve(cv, n * h);
    s->p1 = carve(cv, n * h);
    s->p2 = carve(cv, n * z);
    s->z = carve(cv, n * z);
    s->znorm = carve(cv, n);
    s->logits = carve(cv, n * k);
    s->v = carve(cv, n);
    s->keys = carve(cv, nk * z);
    s->sim = carve(cv, n * nk);
    s->cnorm = carve(cv, k);
    s->dh = carve(cv, n * mh);
    s->dhi = carve(cv, n * mh);
    s->dq = carve(cv, n * mh);
    s->dtmp = carve(cv, n * dmax);
    s->dtmp2 = carve(cv, n * dmax);
    s->u = carve(cv, n * 2 * h);
    s->du = carve(cv, n * 2 * h);
    s->df = carve(cv, n * h);
    s->dp = carve(cv, n * (h > z ? h : z));
    s->dlogits = carve(cv, n * k);
    s->dz = carve(cv, n * z);
    s->dv = carve(cv, n);
    s->dsim = carve(cv, n * nk);
    s->dkeys = carve(cv, nk * z);
    s->dC = carve(cv, k * z);
    s->dact = carve(cv, n * h);
    s->din = carve(cv, n * (din > h ? din : h));
}

int mer_cnet_new(struct mer_cnet **out, mer_model *m, const struct mer_model_config *c, int64_t cap)
{
    struct mer_cnet *e;
    struct carver cv = {NULL, 0};
    if (c->n_classes > 64) /* the losses' per-class sums live on the stack */
        return mer_error("cnet: %d classes (at most 64)", c->n_classes);
    if (!(e = calloc(1, sizeof(*e))))
        return mer_error("out of memory");
    e->c = *c;
    e->cap = cap;
    e->mh = c->n_mod * c->hidden;
    e->priors = c->prior_mode != MER_PRIOR_NONE && c->prior_dim > 0;
    if (c->encoder_layers > MAX_LAYERS)
        MER_BUG("cnet: %d encoder layers", c->encoder_layers);
    if (mer_params_flatten(&e->params, mer_model_params(m), mer_model_n_params(m)) < 0)
        goto fail;
    bind_all(e, m);
    carve_all(e, &cv);
    e->grads_zero = 1; /* mer_params_flatten's gradients start at zero */
    if (!(e->pending = calloc(e->params.n + 1, 1)) ||
        !(e->arena = aligned_alloc(64, cv.used * sizeof(float)))) {
        mer_error("out of memory (%zu MB of activations)", cv.used * sizeof(float) >> 20);
        goto fail;
    }
    memset(e->arena, 0, cv.used * sizeof(float));
    cv.base = e->arena;
    cv.used = 0;
    carve_all(e, &cv);
    *out = e;
    return 0;
fail:
    mer_params_release(&e->params);
    free(e->pending);
    free(e);
    return -1;
}

void mer_cnet_free(struct mer_cnet *e)
{
    if (!e)
        return;
    mer_params_release(&e->params);
    free(e->arena);
    free(e->pending);
    free(e);
}

const struct mer_params *mer_cnet_params(const struct mer_cnet *e)
{
    return &e->params;
}

/* ---- the deferred optimizer step ---- */

/* Parameter i's pending update, if any: run before anything reads it. */
static void ensure(struct mer_cnet *e, size_t i)
{
    if (!e->pending[i])
        return;
    e->pending[i] = 0;
    mer_adam_step_param(e->opt, i);
}

void mer_cnet_defer_step(struct mer_cnet *e, mer_adam *opt)
{
    e->opt = opt;
    e->step_deferred = 1;
    mer_adam_begin_step(opt);
    memset(e->pending, 1, e->params.n);
}

void mer_cnet_flush(struct mer_cnet *e)
{
    for (size_t i = 0; i < e->params.n; i++)
        ensure(e, i);
    if (e->step_deferred)
        e->grads_zero = 1; /* every update zeroed its gradient */
    e->step_deferred = 0;
}

/* ---- building blocks ---- */

/* y = x W^T + b over n rows; ldx and ldy are the row strides. */
static void lin_fwd(struct mer_cnet *e, const struct lin *l, const float *x, int64_t ldx, int64_t n,
                    float *y, int64_t ldy)
{
    ensure(e, l->iw);
    ensure(e, l->ib);
    mer_linear_forward(l->w, l->b, l->in, l->out, x, ldx, n, y, ldy, e->s.panel);
}

/* The weight and bias gradients of y = x W^T + b (added to theirs), and dx = dy W when dx is
 * not NULL (added to dx when accumulate, else written). */
static void lin_bwd(struct lin *l, const float *x, int64_t ldx, const float *dy, int64_t lddy,
                    int64_t n, float *dx, int64_t lddx, int accumulate)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l->out, (int)l->in, (int)n, 1.0f, dy,
                (int)lddy, x, (int)ldx, 1.0f, l->gw, (int)l->in);
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < l->out; o++)
            l->gb[o] += dy[i * lddy + o];
    if (dx)
        mer_linear_backward_input(l->w, l->in, l->out, dy, lddy, n, dx, lddx, accumulate);
}

/* The elementwise loops are written without branches (a mispredicted sign costs more than
 * the arithmetic) so that they vectorize. */
static void relu_inplace(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* dy *= (y > 0), the ReLU's backward from its output. */
static void relu_bwd(float *restrict dy, const float *restrict y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* out = dropout(x) over n rows of d (row i of x at rows[i], or i without rows), inverted:
 * kept values scaled by 1 / (1 - p); the factors go to scale. Evaluation mode (rng NULL) or
 * p = 0 copies. Each 64-bit draw gives four 16-bit uniforms (p is quantised to 1/65536),
 * laid out first so that the masking loop vectorizes. */
static void dropout(const float *x, const int64_t *rows, int64_t n, int64_t d, float *restrict out,
                    float *restrict scale, uint16_t *restrict bits, double p, struct mer_rng *rng)
{
    const float keep = p < 1 ? (float)(1.0 / (1.0 - p)) : 0.0f;
    const int32_t cut = p >= 1 ? 65536 : (int32_t)lround(p * 65536.0);
    const int on = rng && p > 0;
    for (int64_t i = 0; on && i < n * d; i += 4) {
        const uint64_t u = mer_rng_next(rng);
        memcpy(bits + i, &u, sizeof(u)); /* bits has room for n * d rounded up to 4 */
    }
    for (int64_t i = 0; i < n; i++) {
        const float *restrict xr = x + (rows ? rows[i] : i) * d;
        float *restrict o = out + i * d, *restrict f = scale + i * d;
        const uint16_t *restrict br = bits + i * d;
        if (!on) {
            memcpy(o, xr, (size_t)d * sizeof(float));
            for (int64_t j = 0; j < d; j++)
                f[j] = 1.0f;
            continue;
        }
        for (int64_t j = 0; j < d; j++) {
            f[j] = (int32_t)br[j] >= cut ? keep : 0.0f;
            o[j] = xr[j] * f[j];
        }
    }
}

static float mask_at(const struct mer_host_batch *b, int64_t i, int m, int nm)
{
    return b->modality_mask ? b->modality_mask[i * nm + m] : 1.0f;
}

/* ---- forward ---- */

static void encode(struct mer_cnet *e, const struct mer_host_batch *b, int m, struct mer_rng *rng)
{
    const struct mer_model_config *c = &e->c;
    const int64_t n = b->n, h = c->hidden, L = c->encoder_layers;
    struct acts *s = &e->s;
    const float *in = b->x[m];
    for (int64_t l = 0; l < L; l++) {
        const int64_t d = l ? h : c->dims[m];
        dropout(in, l ? NULL : b->rows, n, d, s->xd[m][l], s->scale[m][l], s->bits, c->dropout,
                rng);
        lin_fwd(e, &e->enc[m][l], s->xd[m][l], d, n, s->act[m][l], h);
        relu_inplace(s->act[m][l], n * h);
        in = s->act[m][l];
    }
    for (int64_t i = 0; i < n; i++) {
        const float mk = mask_at(b, i, m, c->n_mod);
        for (int64_t j = 0; j < h; j++)
            s->h[i * e->mh + m * h + j] = in[i * h + j] * mk;
    }
}

static float sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* [h_m ; q_m] as [N, 2H] in u. */
static void pair_rows(const struct mer_cnet *e, int m, int64_t n, float *u)
{
    const int64_t h = e->c.hidden;
    for (int64_t i = 0; i < n; i++) {
        memcpy(u + i * 2 * h, e->s.h + i * e->mh + m * h, (size_t)h * sizeof(float));
        memcpy(u + i * 2 * h + h, e->s.q + i * e->mh + m * h, (size_t)h * sizeof(float));
    }
}

/* concat, gate and film: hi_m = h_m + w_m * delta_m. */
static void inject_residual(struct mer_cnet *e, const struct mer_host_batch *b, int m)
{
    const struct mer_model_config *c = &e->c;
    const int64_t n = b->n, h = c->hidden, mh = e->mh, off = m * h;
    struct acts *s = &e->s;
    const enum mer_prior_mode mode = c->prior_mode;
    switch (mode) {
    case MER_PRIOR_FILM:
        lin_fwd(e, &e->gamma[m], s->q + off, mh, n, s->pre + off, mh);
        lin_fwd(e, &e->beta[m], s->q + off, mh, n, s->pre2 + off, mh);
        break;
    case MER_PRIOR_CONCAT:
    case MER_PRIOR_GATE:
        pair_rows(e, m, n, s->u);
        lin_fwd(e, &e->inject[m], s->u, 2 * h, n, s->pre + off, mh);
        break;
    case MER_PRIOR_NONE:
    case MER_PRIOR_CROSS_ATTENTION:
        MER_BUG("cnet: prior mode %s has no residual injection", mer_prior_mode_names[mode]);
    }
    for (int64_t i = 0; i < n; i++) {
        const float w = b->prior_w[i * c->n_mod + m];
        for (int64_t j = 0; j < h; j++) {
            const int64_t at = i * mh + off + j;
            float delta = 0;
            switch (mode) {
            case MER_PRIOR_CONCAT:
                delta = s->pre[at] > 0 ? s->pre[at] : 0;
                break;
            case MER_PRIOR_GATE:
                delta = sigmoidf(s->pre[at]) * s->q[at];
                break;
            case MER_PRIOR_FILM:
                delta = s->pre[at] * s->h[at] + s->pre2[at];
                break;
            case MER_PRIOR_NONE:            /* not residual: */
            case MER_PRIOR_CROSS_ATTENTION: /* refused above */
                break;
            }
            s->hi[at] = s->h[at] + w * delta;
        }
    }
}

/* Attention of every token (n, i) over the prior keys of sample n, per head: att and o. */
static void attend(struct mer_cnet *e, const struct mer_host_batch *b)
{
    const int nm = e->c.n_mod, A = e->c.heads;
    const int64_t n = b->n, h = e->c.hidden, E = h / A;
    const float sc = 1.0f / sqrtf((float)E);
    struct acts *s = &e->s;
    for (int64_t r = 0; r < n; r++) {
        s->any[r] = 0;
        for (int j = 0; j < nm; j++)
            s->any[r] = b->prior_w[r * nm + j] > 0 ? 1.0f : s->any[r];
        for (int a = 0; a < A; a++)
            for (int i = 0; i < nm; i++) {
                float *att = s->att + ((r * A + a) * nm + i) * nm, mx = -INFINITY, sum = 0;
                const float *q = s->Q + (r * nm + i) * h + a * E;
                float *o = s->o + (r * nm + i) * h + a * E;
                for (int j = 0; j < nm; j++) {
                    const float *k = s->K + (r * nm + j) * h + a * E;
                    float d = 0;
#pragma omp simd reduction(+ : d)
                    for (int64_t t = 0; t < E; t++)
                        d += q[t] * k[t];
                    att[j] = b->prior_w[r * nm + j] > 0 ? d * sc : -INFINITY;
                    mx = att[j] > mx ? att[j] : mx;
                }
                for (int j = 0; j < nm; j++) {
                    att[j] = s->any[r] > 0 ? expf(att[j] - mx) : 0.0f; /* no key: attends 0 */
                    sum += att[j];
                }
                for (int64_t t = 0; t < E; t++)
                    o[t] = 0;
                for (int j = 0; j < nm; j++) {
                    const float *v = s->V + (r * nm + j) * h + a * E;
                    att[j] = sum > 0 ? att[j] / sum : 0.0f;
                    for (int64_t t = 0; t < E; t++)
                        o[t] += att[j] * v[t];
                }
            }
    }
}

/* y = LayerNorm(x) per row of H, keeping xhat and 1/std for backward. */
static void layer_norm(struct mer_cnet *e, const float *x, int64_t rows, float *y)
{
    const int64_t h = e->c.hidden;
    struct acts *s = &e->s;
    ensure(e, e->i_norm_w);
    ensure(e, e->i_norm_b);
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * h;
        float mean = 0, var = 0, rstd;
#pragma omp simd reduction(+ : mean)
        for (int64_t j = 0; j < h; j++)
            mean += xr[j];
        mean /= (float)h;
#pragma omp simd reduction(+ : var)
        for (int64_t j = 0; j < h; j++)
            var += (xr[j] - mean) * (xr[j] - mean);
        rstd = 1.0f / sqrtf(var / (float)h + LN_EPS);
        s->rstd[r] = rstd;
        for (int64_t j = 0; j < h; j++) {
            s->xhat[r * h + j] = (xr[j] - mean) * rstd;
            y[r * h + j] = s->xhat[r * h + j] * e->norm_w[j] + e->norm_b[j];
        }
    }
}

static void cross_attention(struct mer_cnet *e, const struct mer_host_batch *b)
{
    const int nm = e->c.n_mod;
    const int64_t n = b->n, h = e->c.hidden, rows = n * nm;
    struct acts *s = &e->s;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < h; j++)
            s->kv[r * h + j] = s->q[r * h + j] * b->prior_w[r];
    lin_fwd(e, &e->wq, s->h, h, rows, s->Q, h);
    lin_fwd(e, &e->wk, s->kv, h, rows, s->K, h);
    lin_fwd(e, &e->wv, s->kv, h, rows, s->V, h);
    attend(e, b);
    lin_fwd(e, &e->wo, s->o, h, rows, s->dtmp, h);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < h; j++)
            s->dtmp[r * h + j] = s->h[r * h + j] + s->dtmp[r * h + j] * s->any[r / nm];
    layer_norm(e, s->dtmp, rows, s->hi);
}

static void inject(struct mer_cnet *e, const struct mer_host_batch *b)
{
    const struct mer_model_config *c = &e->c;
    struct acts *s = &e->s;
    if (!e->priors) {
        memcpy(s->hi, s->h, (size_t)(b->n * e->mh) * sizeof(float));
        return;
    }
    for (int m = 0; m < c->n_mod; m++)
        lin_fwd(e, &e->prior_proj[m], b->prior[m], c->prior_dim, b->n, s->q + m * c->hidden, e->mh);
    switch (c->prior_mode) {
    case MER_PRIOR_CROSS_ATTENTION:
        cross_attention(e, b);
        break;
    case MER_PRIOR_CONCAT:
    case MER_PRIOR_GATE:
    case MER_PRIOR_FILM:
        for (int m = 0; m < c->n_mod; m++)
            inject_residual(e, b, m);
        break;
    case MER_PRIOR_NONE: /* e->priors is 0 */
        break;
    }
}

/* 1 for softmax fusion weights, 0 for raw ones (model.fusion.attention_norm). */
static int softmax_weights(const struct mer_model_config *c)
{
    switch (c->attention_norm) {
    case MER_ATTENTION_SOFTMAX:
        return 1;
    case MER_ATTENTION_NONE:
        return 0;
    }
    return 1;
}

/* The attention fusion over modality tokens: wts [N, M], f [N, H]. */
static void fuse(struct mer_cnet *e, const struct mer_host_batch *b)
{
    const struct mer_model_config *c = &e->c;
    const int softmax = softmax_weights(c);
    const int nm = c->n_mod;
    const int64_t n = b->n, h = c->hidden;
    struct acts *s = &e->s;
    lin_fwd(e, &e->fuse1, s->hi, e->mh, n, s->f1, h);
    relu_inplace(s->f1, n * h);
    lin_fwd(e, &e->fuse2, s->f1, h, n, s->a, nm);
    for (int64_t i = 0; i < n; i++) {
        float *a = s->a + i * nm, *w = s->wts + i * nm, mx = -INFINITY, sum = 0;
        for (int m = 0; m < nm; m++) {
            if (!softmax) {
                w[m] = a[m] * mask_at(b, i, m, nm);
                continue;
            }
            w[m] = mask_at(b, i, m, nm) == 0 ? -1e30f : a[m]; /* as masked_fill(-1e30) */
            mx = w[m] > mx ? w[m] : mx;
        }
        for (int m = 0; softmax && m < nm; m++)
            sum += (w[m] = expf(w[m] - mx));
        for (int m = 0; softmax && m < nm; m++)
            w[m] /= sum;
        for (int64_t j = 0; j < h; j++) {
            float acc = 0;
            for (int m = 0; m < nm; m++)
                acc += w[m] * s->hi[i * e->mh + m * h + j];
            s->f[i * h + j] = acc;
        }
    }
}

static void heads(struct mer_cnet *e, int64_t n)
{
    const struct mer_model_config *c = &e->c;
    const int64_t h = c->hidden, z = c->proj_dim;
    struct acts *s = &e->s;
    lin_fwd(e, &e->classifier, s->f, h, n, s->logits, c->n_classes);
    lin_fwd(e, &e->proj1, s->f, h, n, s->p1, h);
    relu_inplace(s->p1, n * h);
    lin_fwd(e, &e->proj2, s->p1, h, n, s->p2, z);
    for (int64_t i = 0; i < n; i++) {
        float ss = 0;
        for (int64_t j = 0; j < z; j++)
            ss += s->p2[i * z + j] * s->p2[i * z + j];
        s->znorm[i] = fmaxf(sqrtf(ss), NORM_EPS);
        for (int64_t j = 0; j < z; j++)
            s->z[i * z + j] = s->p2[i * z + j] / s->znorm[i];
    }
    if (c->valence_head)
        lin_fwd(e, &e->valence, s->f, h, n, s->v, 1);
}

/* ---- losses, each adding its gradient (times its weight) to dlogits, dz, dC, dv ---- */

static double cross_entropy(struct mer_cnet *e, const struct mer_host_batch *b,
                            const struct mer_loss_config *lc)
{
    const int k = e->c.n_classes;
    const int64_t n = b->n;
    double total = 0, wsum = 0, loss = 0, adj[64] = {0};
    for (int cl = 0; lc->class_counts && cl < k; cl++)
        total += lc->class_counts[cl];
    for (int cl = 0; lc->ce == MER_CE_LOGIT_ADJUSTED && cl < k; cl++)
        adj[cl] = (float)(lc->logit_adjust_tau * log(fmax(lc->class_counts[cl], 1e-12) / total));
    for (int64_t i = 0; i < n; i++) {
        const int64_t y = b->y[i];
        double w = 1.0;
        if (lc->ce == MER_CE_CLASS_WEIGHTED)
            w = lc->class_weights ? (float)lc->class_weights[y]
                                  : (float)(total / (k * fmax(lc->class_counts[y], 1.0)));
        wsum += w;
    }
    for (int64_t i = 0; i < n; i++) {
        const float *lg = e->s.logits + i * k;
        float *dl = e->s.dlogits + i * k;
        const int64_t y = b->y[i];
        double w = 1.0, mx = -INFINITY, sum = 0;
        if (lc->ce == MER_CE_CLASS_WEIGHTED)
            w = lc->class_weights ? (float)lc->class_weights[y]
                                  : (float)(total / (k * fmax(lc->class_counts[y], 1.0)));
        for (int cl = 0; cl < k; cl++)
            mx = fmax(mx, (double)lg[cl] + adj[cl]);
        for (int cl = 0; cl < k; cl++)
            sum += exp(lg[cl] + adj[cl] - mx);
        loss += w * (log(sum) + mx - (lg[y] + adj[y]));
        for (int cl = 0; cl < k; cl++)
            dl[cl] = (float)(w / wsum * (exp(lg[cl] + adj[cl] - mx) / sum - (cl == y)));
    }
    return loss / wsum;
}

/* Normalised prototypes C = keys[N..N+K) and the similarity logits z keys^T / tau. */
static void similarities(struct mer_cnet *e, int64_t n, double tau)
{
    const int k = e->c.n_classes;
    const int64_t z = e->c.proj_dim, nk = n + k;
    struct acts *s = &e->s;
    float *cn = s->keys + n * z;
    ensure(e, e->i_proto);
    memcpy(s->keys, s->z, (size_t)(n * z) * sizeof(float));
    for (int cl = 0; cl < k; cl++) {
        float ss = 0;
        for (int64_t j = 0; j < z; j++)
            ss += e->proto[cl * z + j] * e->proto[cl * z + j];
        s->cnorm[cl] = fmaxf(sqrtf(ss), NORM_EPS);
        for (int64_t j = 0; j < z; j++)
            cn[cl * z + j] = e->proto[cl * z + j] / s->cnorm[cl];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)nk, (int)z,
                (float)(1.0 / tau), s->z, (int)z, s->keys, (int)z, 0.0f, s->sim, (int)nk);
}

static int key_class(const struct mer_host_batch *b, int64_t j)
{
    return j < b->n ? (int)b->y[j] : (int)(j - b->n);
}

/* The balanced contrastive term; its gradient on the similarity logits goes to dsim. */
static double bcl_inter(struct mer_cnet *e, const struct mer_host_batch *b, double lambda)
{
    const int k = e->c.n_classes;
    const int64_t n = b->n, nk = n + k;
    struct acts *s = &e->s;
    double loss = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *L = s->sim + i * nk;
        float *dL = s->dsim + i * nk;
        double mx = -INFINITY, per[64] = {0}, cnt[64] = {0}, S = 0, npos, logden, lp = 0;
        for (int64_t j = 0; j < nk; j++)
            mx = fmax(mx, L[j]);
        for (int64_t j = 0; j < nk; j++)
            if (j != i) {
                per[key_class(b, j)] += exp(L[j] - mx);
                cnt[key_class(b, j)] += 1;
            }
        for (int cl = 0; cl < k; cl++)
            S += per[cl] / cnt[cl];
        logden = log(S) + mx;
        npos = cnt[b->y[i]];
        for (int64_t j = 0; j < nk; j++) {
            const int cj = key_class(b, j), pos = j != i && cj == b->y[i];
            const double soft = j != i ? exp(L[j] - mx) / (cnt[cj] * S) : 0.0;
            if (pos)
                lp += L[j] - logden;
            dL[j] = (float)(lambda / (double)n * (soft - (pos ? 1.0 / npos : 0.0)));
        }
        loss -= lp / npos;
    }
    return loss / (double)n;
}

/* dz += dsim keys / tau; dkeys = dsim^T z / tau (rows < N add to dz, the rest to dC). */
static void bcl_inter_bwd(struct mer_cnet *e, int64_t n, double tau)
{
    const int k = e->c.n_classes;
    const int64_t z = e->c.proj_dim, nk = n + k;
    struct acts *s = &e->s;
    const float it = (float)(1.0 / tau);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)z, (int)nk, it, s->dsim,
                (int)nk, s->keys, (int)z, 1.0f, s->dz, (int)z);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nk, (int)z, (int)n, it, s->dsim,
                (int)nk, s->z, (int)z, 0.0f, s->dkeys, (int)z);
    for (int64_t j = 0; j < n * z; j++)
        s->dz[j] += s->dkeys[j];
    for (int64_t j = 0; j < k * z; j++)
        s->dC[j] += s->dkeys[n * z + j];
}

static double bcl_intra(struct mer_cnet *e, const struct mer_host_batch *b, double lambda)
{
    const int64_t n = b->n, z = e->c.proj_dim;
    struct acts *s = &e->s;
    const float *cn = s->keys + n * z;
    int count[64] = {0}, present = 0;
    double loss = 0;
    for (int64_t i = 0; i < n; i++)
        present += count[b->y[i]]++ == 0;
    for (int64_t i = 0; i < n; i++) {
        const float *c = cn + b->y[i] * z, *zi = s->z + i * z;
        const double w = 1.0 / ((double)count[b->y[i]] * present);
        double dot = 0;
        for (int64_t j = 0; j < z; j++) {
            dot += zi[j] * c[j];
            s->dz[i * z + j] -= (float)(lambda * w) * c[j];
            s->dC[b->y[i] * z + j] -= (float)(lambda * w) * zi[j];
        }
        loss += w * (1.0 - dot);
    }
    return loss;
}

static double valence_mse(struct mer_cnet *e, const struct mer_host_batch *b, double lambda)
{
    const int64_t n = b->n;
    int count = 0;
    double loss = 0;
    for (int64_t i = 0; i < n; i++)
        count += b->valence && isfinite(b->valence[i]);
    for (int64_t i = 0; i < n; i++) {
        const int has = b->valence && isfinite(b->valence[i]);
        const double d = has ? (double)e->s.v[i] - b->valence[i] : 0.0;
        loss += has ? d * d / count : 0.0;
        e->s.dv[i] = has ? (float)(lambda * 2.0 * d / count) : 0.0f;
    }
    return loss;
}

/* y = x / max(|x|, eps) per row: dx = (dy - y (y . dy)) / max(|x|, eps), written to dx or,
 * with add, added to it. */
static void normalize_bwd(const float *y, const float *norm, const float *dy, float *dx,
                          int64_t rows, int64_t z, int add)
{
    for (int64_t r = 0; r < rows; r++) {
        double dot = 0;
        for (int64_t j = 0; j < z; j++)
            dot += (double)y[r * z + j] * dy[r * z + j];
        for (int64_t j = 0; j < z; j++)
            dx[r * z + j] = (add ? dx[r * z + j] : 0.0f) +
                            (dy[r * z + j] - y[r * z + j] * (float)dot) / norm[r];
    }
}

/* ---- backward ---- */

static void heads_bwd(struct mer_cnet *e, int64_t n)
{
    const struct mer_model_config *c = &e->c;
    const int64_t h = c->hidden, z = c->proj_dim;
    struct acts *s = &e->s;
    lin_bwd(&e->classifier, s->f, h, s->dlogits, c->n_classes, n, s->df, h, 0);
    normalize_bwd(s->z, s->znorm, s->dz, s->dp, n, z, 0);
    lin_bwd(&e->proj2, s->p1, h, s->dp, z, n, s->dtmp, h, 0);
    relu_bwd(s->dtmp, s->p1, n * h);
    lin_bwd(&e->proj1, s->f, h, s->dtmp, h, n, s->df, h, 1);
    if (c->valence_head)
        lin_bwd(&e->valence, s->f, h, s->dv, 1, n, s->df, h, 1);
    normalize_bwd(s->keys + n * z, s->cnorm, s->dC, e->g_proto, c->n_classes, z, 1);
}

static void fuse_bwd(struct mer_cnet *e, const struct mer_host_batch *b)
{
    const struct mer_model_config *c = &e->c;
    const int nm = c->n_mod;
    const int64_t n = b->n, h = c->hidden, mh = e->mh;
    struct acts *s = &e->s;
    float *da = s->dtmp2; /* [N, M] */
    for (int64_t i = 0; i < n; i++) {
        const float *w = s->wts + i * nm, *df = s->df + i * h;
        float dw[MER_MAX_MODALITIES], dot = 0;
        for (int m = 0; m < nm; m++) {
            const float *hi = s->hi + i * mh + m * h;
            float *dhi = s->dhi + i * mh + m * h;
            float sum = 0;
#pragma omp simd reduction(+ : sum)
            for (int64_t j = 0; j < h; j++) {
                sum += df[j] * hi[j];
                dhi[j] = w[m] * df[j];
            }
            dw[m] = sum;
            dot += w[m] * dw[m];
        }
        for (int m = 0; m < nm; m++)
            da[i * nm + m] =
                softmax_weights(c) ? w[m] * (dw[m] - dot) : dw[m] * mask_at(b, i, m, nm);
    }
    lin_bwd(&e->fuse2, s->f1, h, da, nm, n, s->dtmp, h, 0);
    relu_bwd(s->dtmp, s->f1, n * h);
    lin_bwd(&e->fuse1, s->hi, mh, s->dtmp, h, n, s->dhi, mh, 1);
}

/* The LayerNorm's backward: dx from dy (rows of H), and its weight and bias gradients. */
static void layer_norm_bwd(struct mer_cnet *e, const float *dy, int64_t rows, float *dx)
{
    const int64_t h = e->c.hidden;
    struct acts *s = &e->s;
    for (int64_t r = 0; r < rows; r++) {
        const float *xh = s->xhat + r * h, *g = dy + r * h;
        float m1 = 0, m2 = 0;
#pragma omp simd reduction(+ : m1, m2)
        for (int64_t j = 0; j < h; j++) {
            const float dxh = g[j] * e->norm_w[j];
            e->g_norm_w[j] += g[j] * xh[j];
            e->g_norm_b[j] += g[j];
            m1 += dxh;
            m2 += dxh * xh[j];
        }
        m1 /= (float)h;
        m2 /= (float)h;
        for (int64_t j = 0; j < h; j++)
            dx[r * h + j] = s->rstd[r] * (g[j] * e->norm_w[j] - m1 - xh[j] * m2);
    }
}

/* From do (the attended values' gradient, in s->o's layout at dtmp) to dQ, dK, dV. */
static void attend_bwd(struct mer_cnet *e, const struct mer_host_batch *b, const float *dO,
                       float *dQ, float *dK, float *dV)
{
    const int nm = e->c.n_mod, A = e->c.heads;
    const int64_t n = b->n, h = e->c.hidden, E = h / A;
    const float sc = 1.0f / sqrtf((float)E);
    struct acts *s = &e->s;
    memset(dK, 0, (size_t)(n * nm * h) * sizeof(float));
    memset(dV, 0, (size_t)(n * nm * h) * sizeof(float));
    for (int64_t r = 0; r < n; r++)
        for (int a = 0; a < A; a++)
            for (int i = 0; i < nm; i++) {
                const float *att = s->att + ((r * A + a) * nm + i) * nm;
                const float *dout = dO + (r * nm + i) * h + a * E;
                const float *q = s->Q + (r * nm + i) * h + a * E;
                float *dq = dQ + (r * nm + i) * h + a * E, da[MER_MAX_MODALITIES], dot = 0;
                for (int j = 0; j < nm; j++) {
                    const float *v = s->V + (r * nm + j) * h + a * E;
                    float *dv = dV + (r * nm + j) * h + a * E;
                    float sum = 0;
#pragma omp simd reduction(+ : sum)
                    for (int64_t t = 0; t < E; t++) {
                        sum += dout[t] * v[t];
                        dv[t] += att[j] * dout[t];
                    }
                    da[j] = sum;
                    dot += att[j] * da[j];
                }
                for (int64_t t = 0; t < E; t++)
                    dq[t] = 0;
                for (int j = 0; j < nm; j++) {
                    const float ds = att[j] * (da[j] - dot) * sc;
                    const float *k = s->K + (r * nm + j) * h + a * E;
                    float *dk = dK + (r * nm + j) * h + a * E;
                    for (int64_t t = 0; t < E; t++) {
                        dq[t] += ds * k[t];
                        dk[t] += ds * q[t];
                    }
                }
            }
}

static void cross_attention_bwd(struct mer_cnet *e, const struct mer_host_batch *b)
{
    const int nm = e->c.n_mod;
    const int64_t n = b->n, h = e->c.hidden, rows = n * nm, rh = rows * h;
    struct acts *s = &e->s;
    float *dres = s->dh, *dwo = s->dtmp, *dO = s->dtmp2, *dQ = s->pre; /* pre: unused here */
    float *dK = s->dtmp + rh, *dV = s->dtmp2 + rh;
    layer_norm_bwd(e, s->dhi, rows, dres); /* dh starts as d(residual): the t + ... path */
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < h; j++)
            dwo[r * h + j] = dres[r * h + j] * s->any[r / nm];
    lin_bwd(&e->wo, s->o, h, dwo, h, rows, dO, h, 0);
    attend_bwd(e, b, dO, dQ, dK, dV);
    lin_bwd(&e->wq, s->h, h, dQ, h, rows, s->dh, h, 1);
    lin_bwd(&e->wk, s->kv, h, dK, h, rows, s->dq, h, 0);
    lin_bwd(&e->wv, s->kv, h, dV, h, rows, s->dq, h, 1);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < h; j++)
            s->dq[r * h + j] *= b->prior_w[r];
}

static void inject_residual_bwd(struct mer_cnet *e, const struct mer_host_batch *b, int m)
{
    const struct mer_model_config *c = &e->c;
    const int64_t n = b->n, h = c->hidden, mh = e->mh, off = m * h;
    struct acts *s = &e->s;
    float *ds = s->dtmp, *ds2 = s->dtmp2; /* [N, H] each */
    for (int64_t i = 0; i < n; i++) {
        const float w = b->prior_w[i * c->n_mod + m];
        for (int64_t j = 0; j < h; j++) {
            const int64_t at = i * mh + off + j, t = i * h + j;
            const float dd = w * s->dhi[at]; /* d(delta) */
            s->dh[at] = s->dhi[at];
            switch (c->prior_mode) {
            case MER_PRIOR_CONCAT:
                ds[t] = s->pre[at] > 0 ? dd : 0;
                break;
            case MER_PRIOR_GATE: {
                const float g = sigmoidf(s->pre[at]);
                s->dq[at] = dd * g;
                ds[t] = dd * s->q[at] * g * (1 - g);
                break;
            }
            case MER_PRIOR_FILM:
                ds[t] = dd * s->h[at]; /* d(gamma) */
                ds2[t] = dd;           /* d(beta) */
                s->dh[at] += dd * s->pre[at];
                break;
            case MER_PRIOR_NONE:            /* not residual: */
            case MER_PRIOR_CROSS_ATTENTION: /* inject_bwd does not come here */
                break;
            }
        }
    }
    if (c->prior_mode == MER_PRIOR_FILM) {
        lin_bwd(&e->gamma[m], s->q + off, mh, ds, h, n, s->dq + off, mh, 0);
        lin_bwd(&e->beta[m], s->q + off, mh, ds2, h, n, s->dq + off, mh, 1);
        return;
    }
    pair_rows(e, m, n, s->u);
    lin_bwd(&e->inject[m], s->u, 2 * h, ds, h, n, s->du, 2 * h, 0);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < h; j++) {
            const int64_t at = i * mh + off + j;
            s->dh[at] += s->du[i * 2 * h + j];
            s->dq[at] =
                (c->prior_mode == MER_PRIOR_GATE ? s->dq[at] : 0) + s->du[i * 2 * h + h + j];
        }
}

static void inject_bwd(struct mer_cnet *e, const struct mer_host_batch *b)
{
    const struct mer_model_config *c = &e->c;
    struct acts *s = &e->s;
    if (!e->priors) {
        memcpy(s->dh, s->dhi, (size_t)(b->n * e->mh) * sizeof(float));
        return;
    }
    switch (c->prior_mode) {
    case MER_PRIOR_CROSS_ATTENTION:
        cross_attention_bwd(e, b);
        break;
    case MER_PRIOR_CONCAT:
    case MER_PRIOR_GATE:
    case MER_PRIOR_FILM:
        for (int m = 0; m < c->n_mod; m++)
            inject_residual_bwd(e, b, m);
        break;
    case MER_PRIOR_NONE: /* e->priors is 0 */
        break;
    }
    for (int m = 0; m < c->n_mod; m++)
        lin_bwd(&e->prior_proj[m], b->prior[m], c->prior_dim, s->dq + m * c->hidden, e->mh, b->n,
                NULL, 0, 0);
}

static void encode_bwd(struct mer_cnet *e, const struct mer_host_batch *b, int m)
{
    const struct mer_model_config *c = &e->c;
    const int64_t n = b->n, h = c->hidden;
    struct acts *s = &e->s;
    for (int64_t i = 0; i < n; i++) {
        const float mk = mask_at(b, i, m, c->n_mod);
        for (int64_t j = 0; j < h; j++)
            s->dact[i * h + j] = s->dh[i * e->mh + m * h + j] * mk;
    }
    for (int l = c->encoder_layers - 1; l >= 0; l--) {
        const int64_t d = l ? h : c->dims[m];
        relu_bwd(s->dact, s->act[m][l], n * h);
        lin_bwd(&e->enc[m][l], s->xd[m][l], d, s->dact, h, n, l ? s->din : NULL, h, 0);
        for (int64_t t = 0; l && t < n * h; t++)
            s->dact[t] = s->din[t] * s->scale[m][l][t];
    }
}

/* ---- the step ---- */

static int check_size(const struct mer_cnet *e, const struct mer_host_batch *b)
{
    if (b->n < 1 || b->n > e->cap)
        return mer_error("cnet: a batch of %lld samples (capacity %lld)", (long long)b->n,
                         (long long)e->cap);
    return 0;
}

static int check_batch(const struct mer_cnet *e, const struct mer_host_batch *b)
{
    if (check_size(e, b) < 0)
        return -1;
    for (int64_t i = 0; i < b->n; i++)
        if (b->y[i] < 0 || b->y[i] >= e->c.n_classes)
            return mer_error("loss: sample %lld of the batch has label %lld outside 0..%d",
                             (long long)i, (long long)b->y[i], e->c.n_classes - 1);
    return 0;
}

static void forward(struct mer_cnet *e, const struct mer_host_batch *b, struct mer_rng *rng)
{
    for (int m = 0; m < e->c.n_mod; m++)
        encode(e, b, m, rng);
    inject(e, b);
    fuse(e, b);
    heads(e, b->n);
}

int mer_cnet_forward(struct mer_cnet *e, const struct mer_host_batch *b)
{
    if (check_size(e, b) < 0)
        return -1;
    mer_cnet_flush(e);
    forward(e, b, NULL);
    return 0;
}

int mer_cnet_step(struct mer_cnet *e, const struct mer_host_batch *b,
                  const struct mer_loss_config *lc, struct mer_rng *rng,
                  struct mer_cnet_losses *out, float *logits)
{
    const struct mer_model_config *c = &e->c;
    const int64_t n = b->n, z = c->proj_dim;
    struct acts *s = &e->s;
    if (check_batch(e, b) < 0)
        return -1;
    if (lc->ce != MER_CE_PLAIN && !lc->class_counts)
        return mer_error("loss: class-weighted and logit-adjusted cross-entropy need class counts");
    forward(e, b, rng);
    mer_cnet_flush(e); /* what the forward did not read: before backward adds */
    if (!e->grads_zero)
        memset(e->params.grads, 0, (size_t)e->params.offset[e->params.n] * sizeof(float));
    e->grads_zero = 0;
    memset(s->dz, 0, (size_t)(n * z) * sizeof(float));
    memset(s->dC, 0, (size_t)(c->n_classes * z) * sizeof(float));
    /* The terms of modeldef.h's table, in its order (each adds its gradient to dlogits, dz,
     * dC or dv), and their total: the first term, plus lambda * each other. */
    for (int t = 0; t < MER_N_LOSS_TERMS; t++) {
        const enum mer_loss_term term = (enum mer_loss_term)t;
        const double lambda = mer_loss_lambda(lc, term);
        double v = 0.0;
        if (!mer_loss_term_active(c, term)) {
            out->term[t] = 0.0;
            continue;
        }
        switch (term) {
        case MER_LOSS_CE:
            v = cross_entropy(e, b, lc);
            break;
        case MER_LOSS_INTER:
            similarities(e, n, lc->tau);
            v = bcl_inter(e, b, lambda);
            bcl_inter_bwd(e, n, lc->tau);
            break;
        case MER_LOSS_INTRA: /* reads the normalised prototypes similarities() left in keys */
            v = bcl_intra(e, b, lambda);
            break;
        case MER_LOSS_VALENCE:
            v = valence_mse(e, b, lambda);
            break;
        }
        out->term[t] = v;
        out->total = t == 0 ? v : out->total + lambda * v;
    }
    heads_bwd(e, n);
    fuse_bwd(e, b);
    inject_bwd(e, b);
    for (int m = 0; m < c->n_mod; m++)
        encode_bwd(e, b, m);
    if (logits)
        memcpy(logits, s->logits, (size_t)(n * c->n_classes) * sizeof(float));
    return 0;
}

const float *mer_cnet_logits(const struct mer_cnet *e)
{
    return e->s.logits;
}

const float *mer_cnet_z(const struct mer_cnet *e)
{
    return e->s.z;
}

const float *mer_cnet_valence(const struct mer_cnet *e)
{
    return e->c.valence_head ? e->s.v : NULL;
}
