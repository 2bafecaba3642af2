/*
 * The prior-injected fusion network (model.h). Dimension legend:
 * N = batch, M = modalities, D_m = feature dim, H = hidden, P = prior dim,
 * K = classes, Z = projection dim, A = attention heads, E = H / A.
 */
#include "mer/model.h"
#include "mer/error.h"
#include "mer/store.h"
#include "model/model_impl.h"
#include "model/try.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct linear {
    mer_tensor *w, *b; /* [out, in], [out] */
};

struct mer_model {
    struct mer_model_config c;
    size_t n_params;
    struct mer_param_spec specs[MER_MAX_PARAMS]; /* modeldef.h's table, for this config */
    mer_tensor *params[MER_MAX_PARAMS];
    struct linear enc[MER_MAX_MODALITIES][8];                          /* encoders.m.linears.l */
    struct linear prior_proj[MER_MAX_MODALITIES];                      /* prior_proj.m   P -> H */
    struct linear inject[MER_MAX_MODALITIES];                          /* inject.m       2H -> H */
    struct linear gamma[MER_MAX_MODALITIES], beta[MER_MAX_MODALITIES]; /* film, H -> H */
    struct linear wq, wk, wv, wo;                                      /* cross attention, H -> H */
    mer_tensor *norm_w, *norm_b;                                       /* [H] */
    struct linear fuse1, fuse2, classifier, proj1, proj2, valence;
    mer_tensor *prototypes; /* [K, Z] */
};

struct mer_model_config mer_model_default_config(void)
{
    struct mer_model_config c;
    memset(&c, 0, sizeof(c));
    c.hidden = 256;
    c.encoder_layers = 2;
    c.dropout = 0.3;
    c.n_classes = 6;
    c.prior_mode = MER_PRIOR_CROSS_ATTENTION;
    c.heads = 4;
    c.proj_dim = 128;
    c.attention_norm = MER_ATTENTION_SOFTMAX;
    return c;
}

struct mer_loss_config mer_loss_default_config(void)
{
    struct mer_loss_config l = {MER_CE_PLAIN, 1.0, 0.35, 0.1, 0.1, 1.0, NULL, NULL};
    return l;
}

/* ---- parameters: made from modeldef.h's table ---- */

/* Where parameter s lives among m's named fields. */
static mer_tensor **param_slot(mer_model *m, const struct mer_param_spec *s)
{
    struct linear *l = NULL;
    switch (s->role) {
    case MER_P_ENCODER:
        l = &m->enc[s->mod][s->layer];
        break;
    case MER_P_PRIOR_PROJ:
        l = &m->prior_proj[s->mod];
        break;
    case MER_P_INJECT:
        l = &m->inject[s->mod];
        break;
    case MER_P_GAMMA:
        l = &m->gamma[s->mod];
        break;
    case MER_P_BETA:
        l = &m->beta[s->mod];
        break;
    case MER_P_WQ:
        l = &m->wq;
        break;
    case MER_P_WK:
        l = &m->wk;
        break;
    case MER_P_WV:
        l = &m->wv;
        break;
    case MER_P_WO:
        l = &m->wo;
        break;
    case MER_P_NORM:
        return s->bias ? &m->norm_b : &m->norm_w;
    case MER_P_FUSE1:
        l = &m->fuse1;
        break;
    case MER_P_FUSE2:
        l = &m->fuse2;
        break;
    case MER_P_CLASSIFIER:
        l = &m->classifier;
        break;
    case MER_P_PROJ1:
        l = &m->proj1;
        break;
    case MER_P_PROJ2:
        l = &m->proj2;
        break;
    case MER_P_PROTOTYPES:
        return &m->prototypes;
    case MER_P_VALENCE:
        l = &m->valence;
        break;
    }
    return s->bias ? &l->b : &l->w;
}

/* A tensor of ones (LayerNorm's weight starts as the identity). */
static int ones(mer_tensor **out, int ndim, const int64_t *shape)
{
    mer_tensor *src;
    float *one = malloc((size_t)shape[0] * sizeof(float) + 1);
    int r;
    if (!one)
        return mer_error("out of memory");
    for (int64_t j = 0; j < shape[0]; j++)
        one[j] = 1.0f;
    r = mer_tensor_from_host(&src, one, MER_T_F32, ndim, shape);
    free(one);
    TRY(r);
    r = mer_tensor_zeros(out, MER_T_F32, ndim, shape) < 0 ? -1 : mer_tensor_copy_(*out, src);
    mer_tensor_free(src);
    return r;
}

/* Parameter i as its spec says, drawing from mer_torch_manual_seed's generator. */
static int make_param(mer_model *m, size_t i)
{
    const struct mer_param_spec *s = &m->specs[i];
    mer_tensor **slot = param_slot(m, s);
    int r = -1;
    switch (s->init) {
    case MER_INIT_UNIFORM:
        r = mer_tensor_uniform(slot, s->ndim, s->shape, -s->bound, s->bound);
        break;
    case MER_INIT_ZEROS:
        r = mer_tensor_zeros(slot, MER_T_F32, s->ndim, s->shape);
        break;
    case MER_INIT_ONES:
        r = ones(slot, s->ndim, s->shape);
        break;
    }
    m->params[i] = *slot; /* NULL if not made */
    return r < 0 ? -1 : mer_tensor_set_requires_grad(*slot, 1);
}

static int check_config(const struct mer_model_config *c)
{
    if (c->n_mod < 1 || c->n_mod > MER_MAX_MODALITIES)
        return mer_error("model: %d modalities (1 to 3 supported)", c->n_mod);
    if (c->hidden < 1 || c->encoder_layers < 1 || c->encoder_layers > 8 || c->n_classes < 2 ||
        c->proj_dim < 1)
        return mer_error("model: hidden, encoder_layers (1..8), classes (>= 2) and proj_dim "
                         "must be positive");
    if (c->prior_mode == MER_PRIOR_CROSS_ATTENTION && c->prior_dim &&
        (c->heads < 1 || c->hidden % c->heads))
        return mer_error("model: hidden %lld is not divisible by %d heads", (long long)c->hidden,
                         c->heads);
    for (int i = 0; i < c->n_mod; i++)
        if (c->dims[i] < 1)
            return mer_error("model: modality %d has dimension %lld", i, (long long)c->dims[i]);
    return 0;
}

int mer_model_new(mer_model **out, const struct mer_model_config *c)
{
    mer_model *m;
    size_t n;
    if (check_config(c) < 0)
        return -1;
    if (!(m = calloc(1, sizeof(*m))))
        return mer_error("out of memory");
    m->c = *c;
    if ((n = mer_param_specs(c, m->specs)) > MER_MAX_PARAMS)
        MER_BUG("%zu parameters (at most %d)", n, MER_MAX_PARAMS);
    for (size_t i = 0; i < n; i++) {
        int r = make_param(m, i);
        m->n_params += m->params[i] != NULL; /* freed with the rest on failure */
        if (r < 0) {
            mer_model_free(m);
            return -1;
        }
    }
    *out = m;
    return 0;
}

void mer_model_free(mer_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_params; i++)
        mer_tensor_free(m->params[i]);
    free(m);
}

size_t mer_model_n_params(const mer_model *m)
{
    return m->n_params;
}

const char *mer_model_param_name(const mer_model *m, size_t i)
{
    return i < m->n_params ? m->specs[i].name : NULL;
}

mer_tensor *mer_model_param(const mer_model *m, size_t i)
{
    return i < m->n_params ? m->params[i] : NULL;
}

mer_tensor *const *mer_model_params(const mer_model *m)
{
    return m->params;
}

const struct mer_param_spec *mer_model_param_spec(const mer_model *m, size_t i)
{
    return i < m->n_params ? &m->specs[i] : NULL;
}

int64_t mer_model_n_weights(const mer_model *m)
{
    int64_t n = 0;
    for (size_t i = 0; i < m->n_params; i++)
        n += mer_tensor_numel(m->params[i]);
    return n;
}

/* ---- forward ---- */

static int linear(mer_tensor **out, const mer_tensor *x, const struct linear *l)
{
    return mer_t_linear(out, x, l->w, l->b);
}

/* Column m of a [N, M] tensor as [N, 1]. */
static int column(mer_tensor **out, const mer_tensor *x, int m)
{
    mer_tensor *idx;
    int64_t i = m, one = 1;
    TRY(mer_tensor_from_host(&idx, &i, MER_T_I64, 1, &one));
    return mer_t_index_select(out, x, 1, idx);
}

/* (Dropout -> Linear -> ReLU) x L */
static int encode(mer_model *m, int i, const mer_tensor *x, int train, mer_tensor **h)
{
    const mer_tensor *cur = x;
    for (int l = 0; l < m->c.encoder_layers; l++) {
        mer_tensor *d, *lin, *act;
        TRY(mer_t_dropout(&d, cur, m->c.dropout, train));
        TRY(linear(&lin, d, &m->enc[i][l]));
        TRY(mer_t_relu(&act, lin));
        cur = act;
    }
    *h = (mer_tensor *)cur;
    return 0;
}

/* h + w * delta, the residual form every non-attention injection takes. */
static int residual(mer_tensor **out, const mer_tensor *h, const mer_tensor *w,
                    const mer_tensor *delta)
{
    mer_tensor *scaled;
    TRY(mer_t_mul(&scaled, w, delta));
    return mer_t_add(out, h, scaled);
}

static int inject_one(mer_model *m, int i, mer_tensor *h, const mer_tensor *q, const mer_tensor *w,
                      mer_tensor **out)
{
    mer_tensor *hq, *pre, *delta, *g, *b, *gh;
    const mer_tensor *pair[2] = {h, q};
    switch (m->c.prior_mode) {
    case MER_PRIOR_CONCAT:
        TRY(mer_t_cat(&hq, pair, 2, 1));
        TRY(linear(&pre, hq, &m->inject[i]));
        TRY(mer_t_relu(&delta, pre));
        break;
    case MER_PRIOR_GATE:
        TRY(mer_t_cat(&hq, pair, 2, 1));
        TRY(linear(&pre, hq, &m->inject[i]));
        TRY(mer_t_sigmoid(&g, pre));
        TRY(mer_t_mul(&delta, g, q));
        break;
    case MER_PRIOR_FILM:
        TRY(linear(&g, q, &m->gamma[i]));
        TRY(linear(&b, q, &m->beta[i]));
        TRY(mer_t_mul(&gh, g, h));
        TRY(mer_t_add(&delta, gh, b));
        break;
    case MER_PRIOR_NONE:
    case MER_PRIOR_CROSS_ATTENTION:
        MER_BUG("model: prior mode %s has no residual injection",
                mer_prior_mode_names[m->c.prior_mode]);
    }
    return residual(out, h, w, delta);
}

/* A host float array as a tensor of the given shape. */
static int host_f32(mer_tensor **out, const float *v, int ndim, const int64_t *shape)
{
    return mer_tensor_from_host(out, v, MER_T_F32, ndim, shape);
}

/* v > 0 (or v <= 0 when negate) over n host values, as a bool tensor of the given shape. */
static int host_mask(mer_tensor **out, const float *v, size_t n, int negate, int ndim,
                     const int64_t *shape)
{
    unsigned char *b = malloc(n + 1);
    int r;
    if (!b)
        return mer_error("out of memory");
    for (size_t j = 0; j < n; j++)
        b[j] = (v[j] > 0) != (negate != 0);
    r = mer_tensor_from_host(out, b, MER_T_BOOL, ndim, shape);
    free(b);
    return r;
}

/* v > 0 as 1.0 / 0.0 over n host values, as a float tensor of the given shape. */
static int host_indicator(mer_tensor **out, const float *v, size_t n, int ndim,
                          const int64_t *shape)
{
    float *f = malloc(n * sizeof(float) + 1);
    int r;
    if (!f)
        return mer_error("out of memory");
    for (size_t j = 0; j < n; j++)
        f[j] = v[j] > 0 ? 1.0f : 0.0f;
    r = host_f32(out, f, ndim, shape);
    free(f);
    return r;
}

static int split_heads(mer_tensor **out, const mer_tensor *x, const struct linear *l,
                       const int64_t *nmae)
{
    mer_tensor *y, *r;
    TRY(linear(&y, x, l));                /* [N, M, H] */
    TRY(mer_t_reshape(&r, y, 4, nmae));   /* [N, M, A, E] */
    return mer_t_transpose(out, r, 1, 2); /* [N, A, M, E] */
}

/* Modality tokens attend to the (reliability-weighted) prior tokens; see python/mer_model.py. */
static int cross_attention(mer_model *m, const struct mer_batch *b, mer_tensor **h, mer_tensor **q)
{
    const int64_t n = b->n, nm = m->c.n_mod, hd = m->c.hidden, a = m->c.heads, e = hd / a;
    const int64_t nm1[3] = {n, nm, 1}, key_shape[4] = {n, 1, 1, nm}, nmae[4] = {n, nm, a, e};
    const int64_t nmh[3] = {n, nm, hd}, n11[3] = {n, 1, 1};
    float *any = malloc((size_t)n * sizeof(float) + 1);
    mer_tensor *t, *qp, *w, *kv, *Q, *K, *V, *kt, *s, *ss, *nokey, *sm, *att, *keyf, *am, *o;
    mer_tensor *ot, *o2, *wo, *anyt, *wo2, *res, *out;
    int r;
    if (!any)
        return mer_error("out of memory");
    for (int64_t i = 0; i < n; i++) {
        any[i] = 0;
        for (int64_t j = 0; j < nm; j++)
            any[i] = b->prior_w[i * nm + j] > 0 ? 1.0f : any[i];
    }
    r = host_f32(&anyt, any, 3, n11);
    free(any);
    TRY(r);
    TRY(mer_t_stack(&t, (const mer_tensor *const *)h, (size_t)nm, 1)); /* [N, M, H] */
    TRY(mer_t_stack(&qp, (const mer_tensor *const *)q, (size_t)nm, 1));
    TRY(host_f32(&w, b->prior_w, 3, nm1));
    TRY(mer_t_mul(&kv, qp, w));
    TRY(split_heads(&Q, t, &m->wq, nmae));
    TRY(split_heads(&K, kv, &m->wk, nmae));
    TRY(split_heads(&V, kv, &m->wv, nmae));
    TRY(mer_t_transpose(&kt, K, 2, 3));
    TRY(mer_t_matmul(&s, Q, kt));
    TRY(mer_t_mul_scalar(&ss, s, 1.0 / sqrt((double)e))); /* [N, A, M, M] */
    TRY(host_mask(&nokey, b->prior_w, (size_t)(n * nm), 1, 4, key_shape));
    TRY(mer_t_masked_fill(&sm, ss, nokey, -1e30));
    TRY(mer_t_softmax(&att, sm, -1));
    TRY(host_indicator(&keyf, b->prior_w, (size_t)(n * nm), 4, key_shape));
    TRY(mer_t_mul(&am, att, keyf));     /* a sample without any prior key attends to nothing */
    TRY(mer_t_matmul(&o, am, V));       /* [N, A, M, E] */
    TRY(mer_t_transpose(&ot, o, 1, 2)); /* [N, M, A, E] */
    TRY(mer_t_reshape(&o2, ot, 3, nmh));
    TRY(linear(&wo, o2, &m->wo));
    TRY(mer_t_mul(&wo2, wo, anyt));
    TRY(mer_t_add(&res, t, wo2));
    TRY(mer_t_layer_norm(&out, res, m->norm_w, m->norm_b, 1e-5));
    for (int j = 0; j < nm; j++) {
        mer_tensor *idx, *sel;
        int64_t jj = j, one = 1, nh[2] = {n, hd};
        TRY(mer_tensor_from_host(&idx, &jj, MER_T_I64, 1, &one));
        TRY(mer_t_index_select(&sel, out, 1, idx));
        TRY(mer_t_reshape(&h[j], sel, 2, nh));
    }
    return 0;
}

static int inject_priors(mer_model *m, const struct mer_batch *b, mer_tensor **h)
{
    const int64_t n = b->n, nm = m->c.n_mod, nmshape[2] = {n, nm};
    mer_tensor *q[MER_MAX_MODALITIES], *w;
    if (m->c.prior_mode == MER_PRIOR_NONE || m->c.prior_dim == 0)
        return 0;
    for (int i = 0; i < nm; i++)
        TRY(linear(&q[i], b->prior[i], &m->prior_proj[i]));
    if (m->c.prior_mode == MER_PRIOR_CROSS_ATTENTION)
        return cross_attention(m, b, h, q);
    TRY(host_f32(&w, b->prior_w, 2, nmshape));
    for (int i = 0; i < nm; i++) {
        mer_tensor *wi;
        TRY(column(&wi, w, i));
        TRY(inject_one(m, i, h[i], q[i], wi, &h[i]));
    }
    return 0;
}

/* Attention over modality tokens (the MER2024 baseline's fusion) -> [N, H]. */
static int fuse(mer_model *m, const struct mer_batch *b, mer_tensor **h, const mer_tensor *mask,
                mer_tensor **f)
{
    const int64_t n = b->n, nm = m->c.n_mod, nmshape[2] = {n, nm};
    mer_tensor *cat, *f1, *r1, *a, *weights, *sum = NULL;
    TRY(mer_t_cat(&cat, (const mer_tensor *const *)h, (size_t)nm, 1));
    TRY(linear(&f1, cat, &m->fuse1));
    TRY(mer_t_relu(&r1, f1));
    TRY(linear(&a, r1, &m->fuse2)); /* [N, M] */
    switch (m->c.attention_norm) {
    case MER_ATTENTION_SOFTMAX: {
        mer_tensor *absent, *filled;
        static const float all_present = 1.0f;
        if (b->modality_mask)
            TRY(host_mask(&absent, b->modality_mask, (size_t)(n * nm), 1, 2, nmshape));
        else
            TRY(host_mask(&absent, &all_present, 1, 1, 1, (const int64_t[]){1}));
        TRY(mer_t_masked_fill(&filled, a, absent, -1e30));
        TRY(mer_t_softmax(&weights, filled, 1));
        break;
    }
    case MER_ATTENTION_NONE:
        TRY(mer_t_mul(&weights, a, mask));
        break;
    }
    for (int i = 0; i < nm; i++) {
        mer_tensor *wi, *term;
        TRY(column(&wi, weights, i));
        TRY(mer_t_mul(&term, wi, h[i]));
        if (sum)
            TRY(mer_t_add(&sum, sum, term));
        else
            sum = term;
    }
    *f = sum;
    return 0;
}

static int all_ones(mer_tensor **out, int64_t n, int64_t nm)
{
    int64_t shape[2] = {n, nm};
    mer_tensor *z;
    TRY(mer_tensor_zeros(&z, MER_T_F32, 2, shape));
    return mer_t_add_scalar(out, z, 1.0);
}

int mer_model_forward(mer_model *m, const struct mer_batch *b, int train, struct mer_forward *out)
{
    const int64_t n = b->n, nm = m->c.n_mod, nmshape[2] = {n, nm};
    mer_tensor *h[MER_MAX_MODALITIES], *mask, *f, *p1, *r1, *p2;
    TRY(b->modality_mask ? host_f32(&mask, b->modality_mask, 2, nmshape) : all_ones(&mask, n, nm));
    for (int i = 0; i < nm; i++) {
        mer_tensor *enc, *mi;
        TRY(encode(m, i, b->x[i], train, &enc));
        TRY(column(&mi, mask, i));
        TRY(mer_t_mul(&h[i], enc, mi));
    }
    TRY(inject_priors(m, b, h));
    TRY(fuse(m, b, h, mask, &f));
    TRY(linear(&out->logits, f, &m->classifier));
    TRY(linear(&p1, f, &m->proj1));
    TRY(mer_t_relu(&r1, p1));
    TRY(linear(&p2, r1, &m->proj2));
    out->valence = NULL;
    if (m->c.valence_head) {
        mer_tensor *v;
        int64_t n1 = n;
        TRY(linear(&v, f, &m->valence));
        TRY(mer_t_reshape(&out->valence, v, 1, &n1));
    }
    return mer_t_normalize(&out->z, p2, 1, 1e-12);
}

mer_tensor *mer_model_prototypes_impl(const mer_model *m)
{
    return m->prototypes;
}

int mer_model_n_classes_impl(const mer_model *m)
{
    return m->c.n_classes;
}

const struct mer_model_config *mer_model_config_impl(const mer_model *m)
{
    return &m->c;
}

/* ---- weights on disk ---- */

int mer_model_load_weights(mer_model *m, const char *path)
{
    mer_st_file *f = NULL;
    int ret = -1;
    if (mer_st_open(&f, path, MER_ST_VERIFY) < 0)
        return -1;
    for (size_t i = 0; i < m->n_params; i++) {
        const struct mer_st_tensor *t = mer_st_find(f, m->specs[i].name);
        mer_tensor *src;
        int r, same = t && t->dtype == MER_DTYPE_F32 && t->ndim == mer_tensor_ndim(m->params[i]);
        for (int d = 0; same && d < t->ndim; d++)
            same = t->shape[d] == mer_tensor_dim_size(m->params[i], d);
        if (!same) {
            mer_error("'%s': tensor '%s' is %s, expected F32 of the model's shape", path,
                      m->specs[i].name, t ? "of another dtype or shape" : "missing");
            goto done;
        }
        if (mer_tensor_from_host(&src, t->data, MER_T_F32, t->ndim, t->shape) < 0)
            goto done;
        r = mer_tensor_copy_(m->params[i], src);
        mer_tensor_free(src);
        if (r < 0)
            goto done;
    }
    ret = 0;
done:
    mer_st_close(f);
    return ret;
}

int mer_model_save_weights(const mer_model *m, const char *path, const char *const *meta_kv,
                           size_t n_meta)
{
    mer_st_writer *w = mer_st_writer_new();
    float *bufs[MER_MAX_PARAMS] = {0};
    int ret = -1;
    if (!w)
        return mer_error("out of memory");
    for (size_t i = 0; i < m->n_params; i++) {
        int64_t shape[8], n = mer_tensor_numel(m->params[i]);
        int nd = mer_tensor_ndim(m->params[i]);
        for (int d = 0; d < nd; d++)
            shape[d] = mer_tensor_dim_size(m->params[i], d);
        if (!(bufs[i] = malloc((size_t)n * sizeof(float) + 1))) {
            mer_error("out of memory");
            goto done;
        }
        if (mer_tensor_to_host(m->params[i], bufs[i], (size_t)n * sizeof(float)) < 0 ||
            mer_st_writer_add(w, m->specs[i].name, MER_DTYPE_F32, nd, shape, bufs[i]) < 0)
            goto done;
    }
    for (size_t i = 0; i + 1 < 2 * n_meta; i += 2)
        if (mer_st_writer_set_meta(w, meta_kv[i], meta_kv[i + 1]) < 0)
            goto done;
    if (mer_st_writer_set_meta(w, "mer.kind", "model") < 0)
        goto done;
    ret = mer_st_writer_write(w, path);
done:
    for (size_t i = 0; i < m->n_params; i++)
        free(bufs[i]);
    mer_st_writer_free(w);
    return ret;
}
