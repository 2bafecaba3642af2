/*
 * The losses of model.h: cross-entropy (plain, class-weighted, logit-adjusted) and the
 * Balanced Dual-Contrastive terms. N = batch, K = classes, Z = projection dim.
 * Masks and weights that depend only on the labels are built on the host, so each
 * term is a handful of large tensor ops.
 */
#include "mer/error.h"
#include "mer/model.h"
#include "model/model_impl.h"
#include "model/try.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int f32_tensor(mer_tensor **out, const float *v, int ndim, const int64_t *shape)
{
    return mer_tensor_from_host(out, v, MER_T_F32, ndim, shape);
}

static int cross_entropy(const mer_tensor *logits, const struct mer_batch *b, int k,
                         const struct mer_loss_config *lc, mer_tensor **out)
{
    const int64_t n = b->n, n1[2] = {n, 1}, ks[1] = {k};
    float *w = malloc((size_t)(n + k) * sizeof(float)), wsum = 0;
    mer_tensor *y, *adj = NULL, *shifted, *logp, *picked, *wt, *weighted, *sum;
    double total = 0; /* training samples */
    int ret = -1;
    if (!w)
        return mer_error("out of memory");
    for (int c = 0; lc->class_counts && c < k; c++)
        total += lc->class_counts[c];
    TRY_FAIL(mer_tensor_from_host(&y, b->y, MER_T_I64, 2, n1));
    if (lc->ce != MER_CE_PLAIN && !lc->class_counts) {
        mer_error("loss: class-weighted and logit-adjusted cross-entropy need class counts");
        goto fail;
    }
    shifted = (mer_tensor *)logits;
    if (lc->ce == MER_CE_LOGIT_ADJUSTED) {
        for (int c = 0; c < k; c++) /* logits + tau log prior_c (Menon et al., 2021) */
            w[c] = (float)(lc->logit_adjust_tau * log(fmax(lc->class_counts[c], 1e-12) / total));
        TRY_FAIL(f32_tensor(&adj, w, 1, ks));
        TRY_FAIL(mer_t_add(&shifted, logits, adj));
    }
    TRY_FAIL(mer_t_log_softmax(&logp, shifted, 1));
    TRY_FAIL(mer_t_gather(&picked, logp, 1, y)); /* [N, 1] */
    for (int64_t i = 0; i < n; i++) {
        if (lc->ce == MER_CE_CLASS_WEIGHTED && lc->class_weights)
            w[i] = (float)lc->class_weights[b->y[i]];
        else if (lc->ce == MER_CE_CLASS_WEIGHTED) /* n / (K n_c), sklearn's "balanced" */
            w[i] = (float)(total / (k * fmax(lc->class_counts[b->y[i]], 1.0)));
        else
            w[i] = 1.0f;
        wsum += w[i];
    }
    TRY_FAIL(f32_tensor(&wt, w, 2, n1));
    TRY_FAIL(mer_t_mul(&weighted, picked, wt));
    TRY_FAIL(mer_t_sum(&sum, weighted, MER_ALL_DIMS, 0));
    TRY_FAIL(mer_t_mul_scalar(out, sum, -1.0 / wsum)); /* weighted mean of the NLL */
    ret = 0;
fail:
    free(w);
    return ret;
}

/* Host masks of the balanced contrastive term over keys = batch ++ prototypes. */
struct bcl_masks {
    float *not_self; /* [N, N+K] */
    float *onehot;   /* [N+K, K] */
    float *counts;   /* [N, K]  keys of class c other than the anchor (>= 1: the prototype) */
    float *pos;      /* [N, N+K] positives / (their count * N) */
};

static void bcl_masks_release(struct bcl_masks *mk)
{
    free(mk->not_self);
    free(mk->onehot);
    free(mk->counts);
    free(mk->pos);
}

static int bcl_masks_build(struct bcl_masks *mk, const int64_t *y, int64_t n, int k)
{
    int64_t nk = n + k;
    mk->not_self = calloc((size_t)(n * nk), sizeof(float));
    mk->onehot = calloc((size_t)(nk * k), sizeof(float));
    mk->counts = calloc((size_t)(n * k), sizeof(float));
    mk->pos = calloc((size_t)(n * nk), sizeof(float));
    if (!mk->not_self || !mk->onehot || !mk->counts || !mk->pos)
        return mer_error("out of memory");
    for (int64_t j = 0; j < nk; j++)
        mk->onehot[j * k + (j < n ? y[j] : j - n)] = 1;
    for (int64_t i = 0; i < n; i++) {
        float npos = 0;
        for (int64_t j = 0; j < nk; j++) {
            int64_t cj = j < n ? y[j] : j - n;
            if (j == i)
                continue;
            mk->not_self[i * nk + j] = 1;
            mk->counts[i * k + cj] += 1;
            if (cj == y[i]) {
                mk->pos[i * nk + j] = 1;
                npos++;
            }
        }
        for (int64_t j = 0; j < nk; j++)
            mk->pos[i * nk + j] /= npos * (float)n;
    }
    return 0;
}

/* Balanced contrastive loss (Zhu et al., CVPR 2022) with class prototypes; see
 * python/mer_model.py. */
static int bcl_inter(const mer_tensor *z, const mer_tensor *protos, const struct mer_batch *b,
                     int k, double tau, mer_tensor **out)
{
    const int64_t n = b->n, nk = n + k, s_nnk[2] = {n, nk}, s_nkk[2] = {nk, k}, s_nk[2] = {n, k};
    struct bcl_masks mk = {0};
    mer_tensor *c, *keys, *kt, *dots, *lg, *mx, *sh, *ex, *exm, *oh, *per, *cnt, *mean, *den;
    mer_tensor *logden, *logden2, *logprob, *pos, *lpp, *sum, *ns;
    const mer_tensor *pair[2];
    int ret = -1;
    if (bcl_masks_build(&mk, b->y, n, k) < 0)
        goto fail;
    TRY_FAIL(mer_t_normalize(&c, protos, 1, 1e-12)); /* [K, Z] */
    pair[0] = z;
    pair[1] = c;
    TRY_FAIL(mer_t_cat(&keys, pair, 2, 0)); /* [N+K, Z] */
    TRY_FAIL(mer_t_transpose(&kt, keys, 0, 1));
    TRY_FAIL(mer_t_matmul(&dots, z, kt));
    TRY_FAIL(mer_t_mul_scalar(&lg, dots, 1.0 / tau)); /* [N, N+K] */
    TRY_FAIL(mer_t_max(&mx, lg, 1, 1));               /* stabiliser; cancels in the result */
    TRY_FAIL(mer_t_sub(&sh, lg, mx));
    TRY_FAIL(mer_t_exp(&ex, sh));
    TRY_FAIL(f32_tensor(&ns, mk.not_self, 2, s_nnk));
    TRY_FAIL(mer_t_mul(&exm, ex, ns));
    TRY_FAIL(f32_tensor(&oh, mk.onehot, 2, s_nkk));
    TRY_FAIL(mer_t_matmul(&per, exm, oh)); /* [N, K] sums per class */
    TRY_FAIL(f32_tensor(&cnt, mk.counts, 2, s_nk));
    TRY_FAIL(mer_t_div(&mean, per, cnt)); /* class-averaged */
    TRY_FAIL(mer_t_sum(&den, mean, 1, 1));
    TRY_FAIL(mer_t_log(&logden, den));
    TRY_FAIL(mer_t_add(&logden2, logden, mx));
    TRY_FAIL(mer_t_sub(&logprob, lg, logden2));
    TRY_FAIL(f32_tensor(&pos, mk.pos, 2, s_nnk));
    TRY_FAIL(mer_t_mul(&lpp, logprob, pos));
    TRY_FAIL(mer_t_sum(&sum, lpp, MER_ALL_DIMS, 0));
    TRY_FAIL(mer_t_neg(out, sum));
    ret = 0;
fail:
    bcl_masks_release(&mk);
    return ret;
}

/* Mean over present classes of the mean (1 - cos) of their samples to their prototype. */
static int bcl_intra(const mer_tensor *z, const mer_tensor *protos, const struct mer_batch *b,
                     int k, mer_tensor **out)
{
    const int64_t n = b->n, n1[1] = {n}, ns[1] = {n};
    float *w = calloc((size_t)n + 1, sizeof(float));
    int *count = calloc((size_t)k, sizeof(int)), present = 0;
    mer_tensor *c, *y, *cy, *prod, *dots, *wt, *wd, *sum, *neg;
    int ret = -1;
    if (!w || !count) {
        mer_error("out of memory");
        goto fail;
    }
    for (int64_t i = 0; i < n; i++)
        present += count[b->y[i]]++ == 0;
    for (int64_t i = 0; i < n; i++)
        w[i] = 1.0f / ((float)count[b->y[i]] * (float)present);
    TRY_FAIL(mer_t_normalize(&c, protos, 1, 1e-12));
    TRY_FAIL(mer_tensor_from_host(&y, b->y, MER_T_I64, 1, n1));
    TRY_FAIL(mer_t_index_select(&cy, c, 0, y));
    TRY_FAIL(mer_t_mul(&prod, z, cy));
    TRY_FAIL(mer_t_sum(&dots, prod, 1, 0)); /* cos(z_i, C_{y_i}) */
    TRY_FAIL(f32_tensor(&wt, w, 1, ns));
    TRY_FAIL(mer_t_mul(&wd, dots, wt));
    TRY_FAIL(mer_t_sum(&sum, wd, MER_ALL_DIMS, 0));
    TRY_FAIL(mer_t_neg(&neg, sum));
    TRY_FAIL(mer_t_add_scalar(out, neg, 1.0)); /* the weights sum to 1 */
    ret = 0;
fail:
    free(w);
    free(count);
    return ret;
}

/* Mean of (v - label)^2 over the samples that have a valence label (0 if none has). */
static int valence_mse(const mer_tensor *v, const struct mer_batch *b, mer_tensor **out)
{
    const int64_t n = b->n, ns[1] = {n};
    float *t = malloc((size_t)n * 2 * sizeof(float) + 1), *w = t + n;
    mer_tensor *tt, *wt, *d, *d2, *wd;
    int count = 0, ret = -1;
    if (!t)
        return mer_error("out of memory");
    for (int64_t i = 0; i < n; i++)
        count += b->valence && isfinite(b->valence[i]);
    for (int64_t i = 0; i < n; i++) {
        int has = b->valence && isfinite(b->valence[i]);
        t[i] = has ? b->valence[i] : 0.0f;
        w[i] = has ? 1.0f / (float)count : 0.0f;
    }
    TRY_FAIL(f32_tensor(&tt, t, 1, ns));
    TRY_FAIL(f32_tensor(&wt, w, 1, ns));
    TRY_FAIL(mer_t_sub(&d, v, tt));
    TRY_FAIL(mer_t_mul(&d2, d, d));
    TRY_FAIL(mer_t_mul(&wd, d2, wt));
    TRY_FAIL(mer_t_sum(out, wd, MER_ALL_DIMS, 0));
    ret = 0;
fail:
    free(t);
    return ret;
}

/* Term t of modeldef.h's table, a new scalar in the current scope. */
static int loss_term(enum mer_loss_term t, const mer_model *m, const struct mer_forward *f,
                     const struct mer_batch *b, const struct mer_loss_config *lc, mer_tensor **out)
{
    const mer_tensor *protos = mer_model_prototypes_impl(m);
    const int k = mer_model_n_classes_impl(m);
    switch (t) {
    case MER_LOSS_CE:
        return cross_entropy(f->logits, b, k, lc, out);
    case MER_LOSS_INTER:
        return bcl_inter(f->z, protos, b, k, lc->tau, out);
    case MER_LOSS_INTRA:
        return bcl_intra(f->z, protos, b, k, out);
    case MER_LOSS_VALENCE:
        return valence_mse(f->valence, b, out);
    }
    return mer_error("loss: term %d", (int)t);
}

/* The terms of one group (every model's: every, else the ones a config adds), then their
 * weights, then their sum into *total: the order the graph has always been built in, so
 * backward sums the gradients in the same order. The first term of the table is the base of
 * the sum (weight 1). */
static int add_terms(mer_model *m, const struct mer_forward *f, const struct mer_batch *b,
                     const struct mer_loss_config *lc, struct mer_losses *out, int every)
{
    const struct mer_model_config *c = mer_model_config_impl(m);
    mer_tensor *scaled[MER_N_LOSS_TERMS] = {0};
    int in[MER_N_LOSS_TERMS];
    for (int t = 0; t < MER_N_LOSS_TERMS; t++) {
        in[t] = mer_loss_term_active(c, (enum mer_loss_term)t) &&
                mer_loss_term_active(NULL, (enum mer_loss_term)t) == every;
        if (in[t] && loss_term((enum mer_loss_term)t, m, f, b, lc, &out->term[t]) < 0)
            return -1;
    }
    for (int t = 1; t < MER_N_LOSS_TERMS; t++)
        if (in[t] && mer_t_mul_scalar(&scaled[t], out->term[t],
                                      mer_loss_lambda(lc, (enum mer_loss_term)t)) < 0)
            return -1;
    if (in[0])
        out->total = out->term[0];
    for (int t = 1; t < MER_N_LOSS_TERMS; t++)
        if (in[t] && mer_t_add(&out->total, out->total, scaled[t]) < 0)
            return -1;
    return 0;
}

int mer_model_losses(mer_model *m, const struct mer_forward *f, const struct mer_batch *b,
                     const struct mer_loss_config *lc, struct mer_losses *out)
{
    int k = mer_model_n_classes_impl(m);
    memset(out, 0, sizeof(*out));
    for (int64_t i = 0; i < b->n; i++)
        if (b->y[i] < 0 || b->y[i] >= k)
            return mer_error("loss: sample %lld of the batch has label %lld outside 0..%d",
                             (long long)i, (long long)b->y[i], k - 1);
    if (add_terms(m, f, b, lc, out, 1) < 0 || add_terms(m, f, b, lc, out, 0) < 0)
        return -1;
    return 0;
}
