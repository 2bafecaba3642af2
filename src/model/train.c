/*
 * k-fold training (train.h). N = batch, M = modalities in use, K = classes.
 * The step reads: batch -> forward -> zero grad -> backward -> clip -> step -> log; in the
 * plain-C engine (cnet.h) the optimizer's step is deferred into the next forward.
 */
#include "mer/train.h"
#include "mer/checkpoint.h"
#include "mer/rundir.h"
#include "model/cnet.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/metrics.h"
#include "mer/outputs.h"
#include "mer/progress.h"
#include "mer/rng.h"
#include "mer/settings.h"
#include "mer/store.h"
#include "model/adam.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREDICT_CHUNK 256

/* Everything one run shares across folds. */
struct run {
    const struct mer_dataset *ds;
    const struct mer_train_params *p;
    const struct mer_run_options *o; /* the command line's: run directory, folds, resume */
    struct mer_model_config mc;
    int mods[MER_N_MODALITIES]; /* model modality j -> dataset modality */
    int64_t *train_idx;         /* samples of the training split */
    size_t n_train;
    int *fold_of; /* [n_train] */
    double class_counts[MER_MAX_CLASSES];
    float *oof_logits;  /* [n_train, K] */
    int64_t **test_idx; /* per test split */
    size_t *n_test;
    float **test_logits; /* per test split, summed over folds */
};

/* Host buffers of one batch, sized for the largest batch. */
struct batch_buf {
    float *x[MER_N_MODALITIES], *prior[MER_N_MODALITIES], *w, *mask, *valence;
    int64_t *y;
};

static uint64_t mix_seed(uint64_t seed, uint64_t fold, uint64_t epoch)
{
    struct mer_rng r;
    mer_rng_seed(&r, seed ^ (fold * 0x9e3779b97f4a7c15ULL) ^ (epoch * 0xd1b54a32d192ed03ULL));
    return mer_rng_next(&r) >> 1;
}

static void batch_buf_release(struct batch_buf *b)
{
    for (int j = 0; j < MER_N_MODALITIES; j++) {
        free(b->x[j]);
        free(b->prior[j]);
    }
    free(b->w);
    free(b->mask);
    free(b->valence);
    free(b->y);
}

static int batch_buf_init(struct batch_buf *b, const struct run *r, size_t cap)
{
    memset(b, 0, sizeof(*b));
    for (int j = 0; j < r->mc.n_mod; j++) {
        b->x[j] = malloc(cap * (size_t)r->mc.dims[j] * sizeof(float) + 1);
        b->prior[j] = malloc(cap * (size_t)(r->mc.prior_dim + 1) * sizeof(float));
        if (!b->x[j] || !b->prior[j])
            return mer_error("out of memory");
    }
    b->w = malloc(cap * MER_N_MODALITIES * sizeof(float));
    b->mask = malloc(cap * MER_N_MODALITIES * sizeof(float));
    b->y = malloc(cap * sizeof(int64_t));
    b->valence = malloc(cap * sizeof(float));
    if (!b->w || !b->mask || !b->y || !b->valence)
        return mer_error("out of memory");
    return 0;
}

/* The prior weight of (sample i, dataset modality m): 0 when absent, unreliable or not chosen. */
static float prior_weight(const struct run *r, size_t i, int m)
{
    const struct mer_dataset *ds = r->ds;
    float rel = ds->prior_reliability[i * MER_N_MODALITIES + (size_t)m];
    if (!r->p->prior_modality[m] || ds->prior_present[i * MER_N_MODALITIES + (size_t)m] <= 0 ||
        rel < r->p->min_reliability)
        return 0.0f;
    return r->p->scale_by_reliability ? rel : 1.0f;
}

/* Gathers rows idx[0..n-1] into the host buffers, described by hb; with by_row, the features
 * stay where they are, hb naming their rows (the plain-C engine reads them in place). */
static void gather_batch(const struct run *r, struct batch_buf *buf, const int64_t *idx, size_t n,
                         const int64_t *labels, int by_row, struct mer_host_batch *hb)
{
    const struct mer_dataset *ds = r->ds;
    const int nm = r->mc.n_mod;
    const int64_t pd = r->mc.prior_dim;
    memset(hb, 0, sizeof(*hb));
    hb->n = (int64_t)n;
    for (size_t k = 0; k < n; k++) {
        size_t i = (size_t)idx[k];
        buf->y[k] = labels[i] < 0 ? 0 : labels[i];
        buf->valence[k] = ds->valence[i];
        for (int j = 0; j < nm; j++) {
            int m = r->mods[j];
            int64_t d = r->mc.dims[j];
            if (!by_row)
                memcpy(buf->x[j] + k * (size_t)d, ds->x[m] + i * (size_t)d,
                       (size_t)d * sizeof(float));
            buf->mask[k * (size_t)nm + (size_t)j] = ds->present[i * MER_N_MODALITIES + (size_t)m];
            if (pd) {
                memcpy(buf->prior[j] + k * (size_t)pd,
                       ds->prior + (i * MER_N_MODALITIES + (size_t)m) * (size_t)pd,
                       (size_t)pd * sizeof(float));
                buf->w[k * (size_t)nm + (size_t)j] = prior_weight(r, i, m);
            }
        }
    }
    for (int j = 0; j < nm; j++) {
        hb->x[j] = by_row ? ds->x[r->mods[j]] : buf->x[j];
        hb->prior[j] = pd ? buf->prior[j] : NULL;
    }
    hb->rows = by_row ? idx : NULL;
    hb->modality_mask = buf->mask;
    hb->prior_w = pd ? buf->w : NULL;
    hb->y = buf->y;
    hb->valence = buf->valence;
}

/* Gathers rows idx[0..n-1] into the host buffers and wraps them as tensors in b. */
static int make_batch(const struct run *r, struct batch_buf *buf, const int64_t *idx, size_t n,
                      const int64_t *labels, struct mer_batch *b)
{
    struct mer_host_batch hb;
    const int64_t pd = r->mc.prior_dim;
    gather_batch(r, buf, idx, n, labels, 0, &hb);
    memset(b, 0, sizeof(*b));
    b->n = (int64_t)n;
    for (int j = 0; j < r->mc.n_mod; j++) {
        int64_t xs[2] = {(int64_t)n, r->mc.dims[j]}, ps[2] = {(int64_t)n, pd};
        if (mer_tensor_from_host(&b->x[j], buf->x[j], MER_T_F32, 2, xs) < 0 ||
            (pd && mer_tensor_from_host(&b->prior[j], buf->prior[j], MER_T_F32, 2, ps) < 0))
            return -1;
    }
    b->modality_mask = hb.modality_mask;
    b->prior_w = hb.prior_w;
    b->y = hb.y;
    b->valence = hb.valence;
    return 0;
}

/* Columns of a stored prediction row: K logits, then the valence with the valence head. */
static size_t width(const struct run *r)
{
    return (size_t)r->mc.n_classes + (r->mc.valence_head ? 1 : 0);
}

/* Rows [n, width] (logits, valence) of samples idx under the model, in plain C. */
static int predict_c(const struct run *r, struct mer_cnet *net, struct batch_buf *buf,
                     const int64_t *idx, size_t n, float *rows)
{
    const size_t k = (size_t)r->mc.n_classes, w = width(r), chunk = (size_t)r->p->batch_size;
    for (size_t at = 0; at < n; at += chunk) {
        const size_t len = n - at < chunk ? n - at : chunk;
        struct mer_host_batch hb;
        gather_batch(r, buf, idx + at, len, r->ds->label, 1, &hb);
        if (mer_cnet_forward(net, &hb) < 0)
            return -1;
        for (size_t i = 0; i < len; i++) {
            memcpy(rows + (at + i) * w, mer_cnet_logits(net) + i * k, k * sizeof(float));
            if (w > k)
                rows[(at + i) * w + k] = mer_cnet_valence(net)[i];
        }
    }
    return 0;
}

/* Rows [n, width] (logits, valence) of samples idx under the model, without autograd; through
 * the plain-C engine when the fold has one. */
static int predict(const struct run *r, mer_model *m, struct mer_cnet *net, struct batch_buf *buf,
                   const int64_t *idx, size_t n, float *rows)
{
    const size_t k = (size_t)r->mc.n_classes, w = width(r);
    float lg[PREDICT_CHUNK * 64], v[PREDICT_CHUNK];
    int was, ret = 0;
    if (net)
        return predict_c(r, net, buf, idx, n, rows);
    was = mer_torch_grad_enabled(0);
    for (size_t at = 0; at < n && ret == 0; at += PREDICT_CHUNK) {
        size_t len = n - at < PREDICT_CHUNK ? n - at : PREDICT_CHUNK;
        mer_scope *s = mer_scope_begin();
        struct mer_batch b;
        struct mer_forward f;
        ret = make_batch(r, buf, idx + at, len, r->ds->label, &b) < 0 ||
                      mer_model_forward(m, &b, 0, &f) < 0 ||
                      mer_tensor_to_host(f.logits, lg, len * k * sizeof(float)) < 0 ||
                      (f.valence && mer_tensor_to_host(f.valence, v, len * sizeof(float)) < 0)
                  ? -1
                  : 0;
        for (size_t i = 0; ret == 0 && i < len; i++) {
            memcpy(rows + (at + i) * w, lg + i * k, k * sizeof(float));
            if (w > k)
                rows[(at + i) * w + k] = v[i];
        }
        mer_scope_end(s);
    }
    mer_torch_grad_enabled(was);
    return ret;
}

/* The run's samples, as the outputs (outputs.h) index them. */
static struct mer_samples samples_of(const struct run *r)
{
    return (struct mer_samples){.names = r->ds->names,
                                .label = r->ds->label,
                                .valence = r->ds->valence,
                                .classes = r->ds->classes,
                                .n_classes = r->mc.n_classes,
                                .valence_head = r->mc.valence_head};
}

/* Predictions of samples idx[0..n-1]: rows [n, width], logits scaled by scale. */
static struct mer_pred_set pred_set(const char *name, const int64_t *idx, size_t n,
                                    const float *rows, double scale, double valence_scale)
{
    return (struct mer_pred_set){name, idx, n, rows, scale, valence_scale};
}

/* Metrics of logits [n, K] against the labels of idx. */
static int score(const struct run *r, const int64_t *idx, size_t n, const float *logits,
                 struct mer_metrics *m)
{
    const struct mer_samples s = samples_of(r);
    const struct mer_pred_set set = pred_set("", idx, n, logits, 1.0, 1.0);
    return mer_pred_set_score(&s, &set, m);
}

struct epoch_stats {
    double term[MER_N_LOSS_TERMS], total; /* sums over samples (modeldef.h's loss terms) */
    int64_t steps;
    size_t seen;
    int64_t *pred, *truth; /* training predictions of the epoch, for train WAF */
};

/* What a training pass updates: the model and its optimizer, and the plain-C engine when the
 * step runs in C (train.engine), its dropout drawing from drop. */
struct learner {
    mer_model *model;
    mer_optim *opt; /* torch's, for the libtorch step */
    mer_adam *adam; /* the plain-C engine's own, for its step (net) */
    struct mer_cnet *net;
    struct mer_rng drop;
};

/* Adds a finished step's losses and predictions to st. */
static int record_step(const struct run *r, struct epoch_stats *st, const struct mer_cnet_losses *l,
                       const float *logits, const int64_t *y, size_t n)
{
    if (!isfinite(l->total))
        return mer_error("training diverged: the loss is %g (lower train.lr?)", l->total);
    for (size_t k = 0; k < n; k++) {
        st->pred[st->seen + k] = mer_argmax(logits + k * (size_t)r->mc.n_classes, r->mc.n_classes);
        st->truth[st->seen + k] = y[k];
    }
    for (int t = 0; t < MER_N_LOSS_TERMS; t++)
        st->term[t] += l->term[t] * (double)n;
    st->total += l->total * (double)n;
    st->seen += n;
    return 0;
}

/* Gradient clipping (train.grad_clip), on the gradients either engine left. */
static int clip(const struct run *r, mer_model *m)
{
    if (r->p->grad_clip <= 0)
        return 0;
    return mer_clip_grad_norm(mer_model_params(m), mer_model_n_params(m), r->p->grad_clip, NULL);
}

/* One optimisation step on a batch, in plain C. */
static int step_c(const struct run *r, struct learner *ln, struct batch_buf *buf,
                  const int64_t *idx, size_t n, const int64_t *labels, struct epoch_stats *st)
{
    struct mer_host_batch hb;
    struct mer_cnet_losses l;
    gather_batch(r, buf, idx, n, labels, 1, &hb);
    if (mer_cnet_step(ln->net, &hb, &r->p->loss, &ln->drop, &l, NULL) < 0 || clip(r, ln->model) < 0)
        return -1;
    mer_cnet_defer_step(ln->net, ln->adam); /* applied as the next forward reads each weight */
    return record_step(r, st, &l, mer_cnet_logits(ln->net), hb.y, n);
}

/* One optimisation step on a batch, through libtorch's autograd. */
static int step_torch(const struct run *r, struct learner *ln, struct batch_buf *buf,
                      const int64_t *idx, size_t n, const int64_t *labels, struct epoch_stats *st)
{
    mer_scope *s = mer_scope_begin();
    struct mer_batch b;
    struct mer_forward f;
    struct mer_losses l;
    struct mer_cnet_losses v = {0};
    float *logits = malloc(n * (size_t)r->mc.n_classes * sizeof(float));
    int ret = -1;
    if (!logits) {
        mer_scope_end(s);
        return mer_error("out of memory");
    }
    if (make_batch(r, buf, idx, n, labels, &b) < 0 || mer_model_forward(ln->model, &b, 1, &f) < 0 ||
        mer_model_losses(ln->model, &f, &b, &r->p->loss, &l) < 0 ||
        mer_optim_zero_grad(ln->opt) < 0 || mer_tensor_backward(l.total) < 0 ||
        clip(r, ln->model) < 0 || mer_optim_step(ln->opt) < 0)
        goto done;
    for (int t = 0; t < MER_N_LOSS_TERMS; t++)
        if (l.term[t] && mer_tensor_item(l.term[t], &v.term[t]) < 0)
            goto done;
    if (mer_tensor_item(l.total, &v.total) < 0 ||
        mer_tensor_to_host(f.logits, logits, n * (size_t)r->mc.n_classes * sizeof(float)) < 0)
        goto done;
    ret = record_step(r, st, &v, logits, b.y, n);
done:
    free(logits);
    mer_scope_end(s);
    return ret;
}

/* Appends one epoch's record to fold-K/log.jsonl (flushed: a killed run keeps its log). */
static int log_epoch(FILE *log, int epoch, const struct epoch_stats *st, double lr,
                     const struct mer_metrics *tr, const struct mer_metrics *va, double secs,
                     const struct mer_model_config *mc)
{
    double n = st->seen ? (double)st->seen : 1;
    fprintf(log, "{\"epoch\": %d, \"loss\": %.6f, ", epoch, st->total / n);
    for (int t = 0; t < MER_N_LOSS_TERMS; t++)
        if (mer_loss_term_active(mc, (enum mer_loss_term)t))
            fprintf(log, "\"%s\": %.6f, ", mer_loss_term_names[t], st->term[t] / n);
    fprintf(log,
            "\"lr\": %g, \"train_waf\": %.6f, \"train_acc\": %.6f, \"val_waf\": %.6f, "
            "\"val_acc\": %.6f, \"val_macro_f1\": %.6f, \"seconds\": %.3f}\n",
            lr, tr->waf, tr->accuracy, va->waf, va->accuracy, va->macro_f1, secs);
    return fflush(log) == 0 ? 0 : mer_error("cannot write the training log");
}

struct fold_state {
    int k;
    int64_t *tr, *va, *tr_base; /* tr: this epoch's order, a shuffle of tr_base */
    size_t n_tr, n_va;
    mer_model *model;
    mer_optim *opt;       /* torch's optimizer, or NULL */
    mer_adam *adam;       /* the plain-C engine's (with net), or NULL */
    struct mer_cnet *net; /* the plain-C step (train.engine), or NULL */
    struct mer_snapshot best;
    double best_waf;
    int best_epoch;
    int64_t steps;
    double train_seconds;
    double last_loss, last_val_waf; /* the latest epoch's, for the progress line */
};

/* One pass over base[0..n-1], in an order (and with dropout) drawn from (seed, fold, key)
 * alone, so an epoch is the same whether or not the run was resumed before it. */
static int train_pass(const struct run *r, int fold, struct learner *ln, struct batch_buf *buf,
                      int64_t *order, const int64_t *base, size_t n, const int64_t *labels,
                      uint64_t key, struct epoch_stats *st)
{
    const size_t bs = (size_t)r->p->batch_size;
    struct mer_rng rng;
    mer_rng_seed(&rng, mix_seed(r->p->seed, (uint64_t)fold, key));
    mer_torch_manual_seed(mix_seed(r->p->seed, (uint64_t)fold, key + 7777));
    mer_rng_seed(&ln->drop, mix_seed(r->p->seed, (uint64_t)fold, key + 7777));
    memcpy(order, base, n * sizeof(*order));
    mer_rng_shuffle(&rng, order, n);
    for (size_t at = 0; at < n; at += bs) {
        size_t len = n - at < bs ? n - at : bs;
        if (len < 2 && at > 0)
            break; /* a batch of one has no contrastive pairs; drop the remainder */
        if ((ln->net ? step_c(r, ln, buf, order + at, len, labels, st)
                     : step_torch(r, ln, buf, order + at, len, labels, st)) < 0)
            return -1;
        st->steps++;
    }
    if (ln->net)
        mer_cnet_flush(ln->net);
    return 0;
}

static int run_epoch(const struct run *r, struct fold_state *fs, struct batch_buf *buf, int epoch,
                     FILE *log, float *va_logits)
{
    const struct mer_train_params *p = r->p;
    struct epoch_stats st = {0};
    struct mer_metrics tr = {0}, va = {0};
    double t0 = mer_now(), score_now;
    int ret = -1;
    st.pred = malloc((fs->n_tr + 1) * sizeof(int64_t));
    st.truth = malloc((fs->n_tr + 1) * sizeof(int64_t));
    if (!st.pred || !st.truth) {
        mer_error("out of memory");
        goto done;
    }
    struct learner ln = {fs->model, fs->opt, fs->adam, fs->net, {{0}}};
    if (train_pass(r, fs->k, &ln, buf, fs->tr, fs->tr_base, fs->n_tr, r->ds->label, (uint64_t)epoch,
                   &st) < 0)
        goto done;
    fs->steps += st.steps;
    fs->train_seconds += mer_now() - t0;
    if (mer_metrics_compute(&tr, st.truth, st.pred, st.seen, r->mc.n_classes) < 0 ||
        predict(r, fs->model, fs->net, buf, fs->va, fs->n_va, va_logits) < 0 ||
        score(r, fs->va, fs->n_va, va_logits, &va) < 0 ||
        log_epoch(log, epoch, &st, p->lr, &tr, &va, mer_now() - t0, &r->mc) < 0)
        goto done;
    fs->last_loss = st.total / (st.seen ? (double)st.seen : 1);
    fs->last_val_waf = va.waf;
    score_now = NAN; /* (a value outside the enum: never better) */
    switch (r->p->select_metric) {
    case MER_SELECT_WAF:
        score_now = va.waf;
        break;
    case MER_SELECT_ACCURACY:
        score_now = va.accuracy;
        break;
    case MER_SELECT_MACRO_F1:
        score_now = va.macro_f1;
        break;
    }
    if (score_now > fs->best_waf) {
        fs->best_waf = score_now;
        fs->best_epoch = epoch;
        if (mer_snapshot_take(&fs->best, fs->model) < 0)
            goto done;
    }
    ret = 0;
done:
    mer_metrics_release(&tr);
    mer_metrics_release(&va);
    free(st.pred);
    free(st.truth);
    return ret;
}

static int split_fold(const struct run *r, struct fold_state *fs)
{
    fs->tr = malloc((r->n_train + 1) * sizeof(int64_t));
    fs->va = malloc((r->n_train + 1) * sizeof(int64_t));
    if (!fs->tr || !fs->va)
        return mer_error("out of memory");
    for (size_t i = 0; i < r->n_train; i++) {
        if (r->fold_of[i] == fs->k)
            fs->va[fs->n_va++] = r->train_idx[i];
        else
            fs->tr[fs->n_tr++] = r->train_idx[i];
    }
    if (!(fs->tr_base = malloc((fs->n_tr + 1) * sizeof(int64_t))))
        return mer_error("out of memory");
    memcpy(fs->tr_base, fs->tr, fs->n_tr * sizeof(int64_t));
    if (fs->n_va == 0 || fs->n_tr == 0)
        return mer_error("fold-%d has an empty training or validation part", fs->k);
    if ((size_t)r->p->batch_size > fs->n_tr)
        return mer_error("train.batch_size %d is larger than fold-%d's %zu training samples",
                         r->p->batch_size, fs->k, fs->n_tr);
    return 0;
}

/* Takes a fold's out-of-fold logits [n_va, K] and test logits (one array per split) in. */
/* Adds one fold's rows [n, width] to the ensemble's sums [n, width]. */
static void ensemble_add(const struct run *r, const float *rows, size_t n, float *sums)
{
    const size_t nc = (size_t)r->mc.n_classes, w = width(r);
    for (size_t i = 0; i < n; i++) {
        const float *z = rows + i * w;
        float *acc = sums + i * w;
        double mx = -INFINITY, sum = 0;
        for (size_t c = 0; c < nc; c++)
            mx = fmax(mx, z[c]);
        for (size_t c = 0; c < nc; c++)
            sum += exp(z[c] - mx);
        for (size_t c = 0; c < nc; c++) /* eval.ensemble: raw logits, or probabilities */
            acc[c] += r->p->ensemble == MER_ENSEMBLE_PROBS ? (float)(exp(z[c] - mx) / sum) : z[c];
        if (w > nc)
            acc[nc] += z[nc]; /* valence: averaged as is */
    }
}

/* The ensemble's sums [n, width] as rows the outputs scale (mer_pred_set's scale): summed
 * probabilities -> their log, so the softmax averages them. */
static void ensemble_finish(const struct run *r, float *sums, size_t n)
{
    if (r->p->ensemble != MER_ENSEMBLE_PROBS)
        return;
    for (size_t j = 0; j < n * width(r); j++)
        if (j % width(r) < (size_t)r->mc.n_classes)
            sums[j] = logf(fmaxf(sums[j], 1e-30f));
}

static void absorb_fold(struct run *r, int k, const float *va_logits, const float *const *test)
{
    const size_t w = width(r);
    for (size_t i = 0, v = 0; i < r->n_train; i++)
        if (r->fold_of[i] == k)
            memcpy(r->oof_logits + i * w, va_logits + v++ * w, w * sizeof(float));
    for (size_t s = 0; s < r->p->n_test_splits; s++)
        ensemble_add(r, test[s], r->n_test[s], r->test_logits[s]);
}

static size_t fold_size(const struct run *r, int k)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_train; i++)
        n += r->fold_of[i] == k;
    return n;
}

/* The fold's sets (test [n_test_splits], filled): its validation samples and the test splits. */
static void fold_sets(const struct run *r, const struct fold_state *fs, const int64_t *va,
                      size_t n_va, struct mer_fold_preds *f, struct mer_pred_set *test)
{
    f->oof = pred_set("oof", va, n_va, NULL, 1.0, 1.0);
    for (size_t s = 0; s < r->p->n_test_splits; s++)
        test[s] = pred_set(r->p->test_splits[s], r->test_idx[s], r->n_test[s], NULL, 1.0, 1.0);
    f->test = test;
    f->n_test = r->p->n_test_splits;
    if (fs) {
        f->best_waf = fs->best_waf;
        f->best_epoch = fs->best_epoch;
    }
}

/* fold-K/predictions.safetensors: the finished fold, so a resumed or merged run keeps it. */
static int save_fold(const struct run *r, const struct fold_state *fs, const char *dir,
                     const float *va_logits, float *const *test, double sps)
{
    const struct mer_samples s = samples_of(r);
    struct mer_pred_set *sets = calloc(r->p->n_test_splits + 1, sizeof(*sets));
    struct mer_fold_preds f = {0};
    char *path = mer_strfmt("%s/predictions.safetensors", dir);
    int ret = -1;
    if (!sets || !path) {
        mer_error("out of memory");
        goto done;
    }
    fold_sets(r, fs, fs->va, fs->n_va, &f, sets);
    f.oof.rows = va_logits;
    for (size_t k = 0; k < f.n_test; k++)
        sets[k].rows = test[k];
    f.steps_per_second = sps;
    ret = mer_fold_preds_write(path, &s, &f);
done:
    free(path);
    free(sets);
    return ret;
}

/* 1 if fold k finished earlier (its predictions are taken in), 0 if not, -1 on error (a fold
 * file that does not fit this run, its samples' names included). */
static int load_fold(struct run *r, int k, struct mer_train_summary *sum)
{
    const struct mer_samples s = samples_of(r);
    char *path = mer_strfmt("%s/fold-%d/predictions.safetensors", r->o->run_dir, k);
    int64_t *va = malloc((fold_size(r, k) + 1) * sizeof(int64_t));
    struct mer_pred_set *sets = calloc(r->p->n_test_splits + 1, sizeof(*sets));
    const float **test = calloc(r->p->n_test_splits + 1, sizeof(*test));
    struct mer_fold_preds f = {0};
    mer_st_file *file = NULL;
    size_t n_va = 0;
    int ret = -1;
    if (!path || !va || !sets || !test) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < r->n_train; i++)
        if (r->fold_of[i] == k)
            va[n_va++] = r->train_idx[i];
    fold_sets(r, NULL, va, n_va, &f, sets);
    if ((ret = mer_fold_preds_read(&file, path, &s, &f)) <= 0)
        goto done;
    for (size_t t = 0; t < f.n_test; t++)
        test[t] = sets[t].rows;
    absorb_fold(r, k, f.oof.rows, test);
    sum->fold_waf[k] = f.best_waf;
    sum->fold_best_epoch[k] = f.best_epoch;
    sum->steps_per_second += f.steps_per_second;
done:
    mer_st_close(file);
    free(test);
    free(sets);
    free(va);
    free(path);
    return ret;
}

/* Out-of-fold and test predictions of the fold's best model, saved, then taken in. */
static int fold_predictions(struct run *r, struct fold_state *fs, struct batch_buf *buf,
                            float *va_logits, const char *dir, double sps)
{
    const size_t nc = width(r);
    float *test[MER_MAX_TEST_SPLITS] = {0};
    int ret = -1;
    if (mer_snapshot_restore(&fs->best, fs->model) < 0 ||
        predict(r, fs->model, fs->net, buf, fs->va, fs->n_va, va_logits) < 0)
        goto done;
    for (size_t s = 0; s < r->p->n_test_splits; s++) {
        if (!(test[s] = malloc((r->n_test[s] + 1) * nc * sizeof(float)))) {
            mer_error("out of memory");
            goto done;
        }
        if (predict(r, fs->model, fs->net, buf, r->test_idx[s], r->n_test[s], test[s]) < 0)
            goto done;
    }
    if (save_fold(r, fs, dir, va_logits, test, sps) < 0)
        goto done;
    absorb_fold(r, fs->k, va_logits, (const float *const *)test);
    ret = 0;
done:
    for (size_t s = 0; s < MER_MAX_TEST_SPLITS; s++)
        free(test[s]);
    return ret;
}

/* ---- checkpoints (checkpoint.h): everything an epoch boundary needs to go on exactly ---- */

/* The fold's optimizer state, from whichever engine's optimizer it has. */
static struct mer_checkpoint_optim optim_state(const struct fold_state *fs)
{
    if (fs->adam)
        return (struct mer_checkpoint_optim){
            mer_adam_state(fs->adam), mer_adam_state_size(fs->adam), mer_adam_steps(fs->adam)};
    return (struct mer_checkpoint_optim){mer_optim_state(fs->opt), mer_optim_state_size(fs->opt),
                                         mer_optim_steps(fs->opt)};
}

static int save_checkpoint(const struct fold_state *fs, const char *dir, int epoch, int bad)
{
    const struct mer_checkpoint_optim o = optim_state(fs);
    const struct mer_checkpoint_meta meta = {.epoch = epoch,
                                             .bad = bad,
                                             .best_epoch = fs->best_epoch,
                                             .best_waf = fs->best_waf,
                                             .steps = fs->steps,
                                             .train_seconds = fs->train_seconds};
    return mer_checkpoint_save(dir, fs->model, &fs->best, &o, &meta);
}

/* Keeps the first `epochs` lines of the fold's log (the ones the checkpoint covers). */
static int trim_log(const char *path, int epochs)
{
    char *text = NULL, *p;
    size_t size = 0;
    int ret, kept = 0;
    if (!mer_path_exists(path))
        return 0;
    if (mer_read_file(path, &text, &size) < 0)
        return -1;
    for (p = text; kept < epochs && (p = strchr(p, '\n')); p++)
        kept++;
    ret = mer_write_file_atomic(path, text, kept == epochs && p ? (size_t)(p - text) : size);
    free(text);
    return ret;
}

/* Restores a fold from its checkpoint; returns the epoch it covers (0 if there is none). */
static int load_checkpoint(struct fold_state *fs, const char *dir, int *bad)
{
    struct mer_checkpoint_meta meta;
    struct mer_checkpoint_optim o = optim_state(fs);
    int found = mer_checkpoint_load(dir, fs->model, &fs->best, &o, &meta);
    if (found <= 0)
        return found;
    if (fs->adam)
        mer_adam_set_steps(fs->adam, o.steps);
    else
        mer_optim_set_steps(fs->opt, o.steps);
    fs->steps = meta.steps;
    fs->best_waf = meta.best_waf;
    fs->best_epoch = meta.best_epoch;
    fs->train_seconds = meta.train_seconds;
    *bad = meta.bad;
    return meta.epoch;
}

/* A new optimizer (train.optimizer, train.lr, train.weight_decay) for model m: the plain-C
 * engine's own over its parameter block when it has one (net), else torch's. */
static int optim_new(const struct mer_train_params *p, mer_model *m, struct mer_cnet *net,
                     mer_optim **opt, mer_adam **adam)
{
    struct mer_optim_params op = mer_optim_default_params(p->optimizer);
    op.lr = p->lr;
    op.weight_decay = p->weight_decay;
    if (net)
        return mer_adam_new(adam, mer_cnet_params(net), &op);
    return mer_optim_new(opt, mer_model_params(m), mer_model_n_params(m), &op);
}

/* Stage 1 (train.pretrain): unlabeled clips with a reliable pseudo-label, before the fold's
 * supervised epochs; its own optimizer, its log in fold-K/pretrain.jsonl. Only clips without
 * a ground-truth label take part, so no validation or test label leaks in. */
static int pretrain(const struct run *r, struct fold_state *fs, struct batch_buf *buf,
                    const char *dir)
{
    const struct mer_train_params *p = r->p;
    const struct mer_dataset *ds = r->ds;
    int64_t *base = malloc((ds->n + 1) * sizeof(int64_t)), *order = NULL;
    char *path = mer_strfmt("%s/pretrain.jsonl", dir);
    struct learner ln = {0};
    FILE *log = NULL;
    size_t n = 0;
    int ret = -1;
    for (size_t i = 0; base && i < ds->n; i++)
        /* the threshold as the store holds reliabilities, in float: 0.7 there is below 0.7 */
        if (ds->label[i] < 0 && ds->pseudo[i] >= 0 &&
            ds->pseudo_reliability[i] >= (float)p->pretrain_min_reliability)
            base[n++] = (int64_t)i;
    if (!base || !path || !(order = malloc((n + 1) * sizeof(int64_t)))) {
        mer_error("out of memory");
        goto done;
    }
    if (n < (size_t)p->batch_size) {
        mer_error("train.pretrain: %zu unlabeled clips have a pseudo-label with reliability >= "
                  "%g, fewer than a batch",
                  n, p->pretrain_min_reliability);
        goto done;
    }
    ln.model = fs->model;
    ln.net = fs->net;
    if (optim_new(p, ln.model, ln.net, &ln.opt, &ln.adam) < 0)
        goto done;
    if (!(log = fopen(path, "w"))) {
        mer_error("'%s': cannot write", path);
        goto done;
    }
    for (int e = 1; e <= p->pretrain_epochs; e++) {
        struct epoch_stats st = {0};
        double t0 = mer_now();
        st.pred = malloc((n + 1) * sizeof(int64_t));
        st.truth = malloc((n + 1) * sizeof(int64_t));
        if (!st.pred || !st.truth ||
            train_pass(r, fs->k, &ln, buf, order, base, n, ds->pseudo, 1000000 + (uint64_t)e, &st) <
                0) {
            free(st.pred);
            free(st.truth);
            goto done;
        }
        /* Stage 1's log: the terms every model has (pseudo-labels carry no valence). */
        fprintf(log, "{\"epoch\": %d, \"samples\": %zu, \"loss\": %.6f, ", e, n,
                st.total / (double)st.seen);
        for (int t = 0; t < MER_N_LOSS_TERMS; t++)
            if (mer_loss_term_active(NULL, (enum mer_loss_term)t))
                fprintf(log, "\"%s\": %.6f, ", mer_loss_term_names[t],
                        st.term[t] / (double)st.seen);
        fprintf(log, "\"seconds\": %.3f}\n", mer_now() - t0);
        free(st.pred);
        free(st.truth);
    }
    ret = fflush(log) == 0 ? 0 : mer_error("'%s': write failed", path);
done:
    if (log)
        fclose(log);
    mer_optim_free(ln.opt);
    mer_adam_free(ln.adam);
    free(base);
    free(order);
    free(path);
    return ret;
}

static int train_fold(struct run *r, int k, struct mer_train_summary *sum)
{
    const struct mer_train_params *p = r->p;
    struct fold_state fs = {0};
    struct batch_buf buf = {0};
    struct mer_progress bar;
    char *dir = mer_strfmt("%s/fold-%d", r->o->run_dir, k), *path = NULL, label[64];
    FILE *log = NULL;
    float *va_logits = NULL;
    double sps;
    int ret = -1, bad = 0, start;
    fs.k = k;
    fs.best_waf = -1;
    if (!dir || mer_mkdir_p(dir) < 0 || split_fold(r, &fs) < 0 ||
        batch_buf_init(&buf, r, PREDICT_CHUNK > p->batch_size ? PREDICT_CHUNK : p->batch_size) < 0)
        goto done;
    va_logits = malloc((fs.n_va + 1) * width(r) * sizeof(float));
    path = mer_strfmt("%s/log.jsonl", dir);
    mer_torch_manual_seed(mix_seed(p->seed, (uint64_t)k, 0));
    if (!va_logits || !path || mer_model_new(&fs.model, &r->mc) < 0 ||
        (p->c_engine && mer_cnet_new(&fs.net, fs.model, &r->mc, p->batch_size) < 0) ||
        optim_new(p, fs.model, fs.net, &fs.opt, &fs.adam) < 0)
        goto done;
    /* --resume: go on after the last epoch the checkpoint holds; the log keeps those epochs. */
    start = r->o->resume ? load_checkpoint(&fs, dir, &bad) : 0;
    if (start < 0 || (r->o->resume && trim_log(path, start) < 0))
        goto done;
    /* Stage 1 runs before the first supervised epoch; a checkpoint already holds its result. */
    if (start == 0 && p->pretrain_epochs > 0 && pretrain(r, &fs, &buf, dir) < 0)
        goto done;
    if (!(log = fopen(path, start ? "a" : "w"))) {
        mer_error("'%s': cannot write", path);
        goto done;
    }
    snprintf(label, sizeof(label), "fold-%d (%d of %d)", k, k + 1, p->folds);
    mer_progress_start(&bar, label, p->epochs, "epochs");
    for (int e = start + 1; e <= p->epochs && !(p->patience > 0 && bad >= p->patience); e++) {
        int before = fs.best_epoch;
        if (run_epoch(r, &fs, &buf, e, log, va_logits) < 0)
            goto done;
        bad = fs.best_epoch == before ? bad + 1 : 0;
        if (save_checkpoint(&fs, dir, e, bad) < 0)
            goto done;
        mer_progress_note(&bar, "loss %.4f  val WAF %.4f  best %s %.4f (epoch %d)", fs.last_loss,
                          fs.last_val_waf, mer_select_metric_labels[p->select_metric], fs.best_waf,
                          fs.best_epoch);
        mer_progress_update(&bar, e);
    }
    mer_progress_finish(&bar);
    free(path);
    path = mer_strfmt("%s/model.safetensors", dir);
    sps = fs.train_seconds > 0 ? (double)fs.steps / fs.train_seconds : 0;
    if (!path || fold_predictions(r, &fs, &buf, va_logits, dir, sps) < 0 ||
        mer_model_save_weights(fs.model, path, NULL, 0) < 0)
        goto done;
    sum->fold_waf[k] = fs.best_waf;
    sum->fold_best_epoch[k] = fs.best_epoch;
    sum->steps_per_second += sps;
    ret = 0;
done:
    if (log)
        fclose(log);
    mer_optim_free(fs.opt);
    mer_adam_free(fs.adam);
    mer_cnet_free(fs.net);
    mer_model_free(fs.model);
    mer_snapshot_release(&fs.best);
    batch_buf_release(&buf);
    free(fs.tr);
    free(fs.tr_base);
    free(fs.va);
    free(va_logits);
    free(path);
    free(dir);
    return ret;
}

/* ---- run-level outputs ---- */

static int write_folds(const struct run *r)
{
    cJSON *root = cJSON_CreateObject(), *folds = cJSON_CreateObject();
    char *path = mer_strfmt("%s/folds.json", r->o->run_dir);
    int ret = -1;
    if (!root || !folds || !path) {
        cJSON_Delete(folds);
        mer_error("out of memory");
        goto done;
    }
    cJSON_AddNumberToObject(root, "k", r->p->folds);
    cJSON_AddNumberToObject(root, "seed", (double)r->p->seed);
    for (size_t i = 0; i < r->n_train; i++)
        cJSON_AddNumberToObject(folds, r->ds->names[r->train_idx[i]], r->fold_of[i]);
    cJSON_AddItemToObject(root, "folds", folds);
    ret = mer_write_json_atomic(path, root);
done:
    free(path);
    cJSON_Delete(root);
    return ret;
}

/* Drops the training samples (and their out-of-fold rows) of every other fold. */
static void keep_only_fold(struct run *r, int k)
{
    const size_t nc = width(r);
    size_t kept = 0;
    for (size_t i = 0; i < r->n_train; i++)
        if (r->fold_of[i] == k) {
            r->train_idx[kept] = r->train_idx[i];
            memmove(r->oof_logits + kept * nc, r->oof_logits + i * nc, nc * sizeof(float));
            r->fold_of[kept++] = k;
        }
    r->n_train = kept;
}

/* What the ensemble's rows of all folds are scaled by: 1/folds for summed logits. */
static double ensemble_scale(const struct mer_train_params *p)
{
    return p->ensemble == MER_ENSEMBLE_PROBS ? 1.0 : 1.0 / p->folds;
}

/* The fold ensemble's predictions, handed to the outputs (outputs.h): predictions, submissions,
 * metrics.json; their scores into the summary. */
static int write_outputs(struct run *r, struct mer_train_summary *sum)
{
    const struct mer_train_params *p = r->p;
    const int one_fold = r->o->only_fold >= 0;
    const double vscale = one_fold ? 1.0 : 1.0 / p->folds; /* summed over folds */
    const double scale = one_fold ? 1.0 : ensemble_scale(p);
    struct mer_pred_set *test = calloc(p->n_test_splits + 1, sizeof(*test));
    struct mer_set_score cv, *ts = calloc(p->n_test_splits + 1, sizeof(*ts));
    struct mer_run_outputs o = {.run_dir = r->o->run_dir,
                                .samples = samples_of(r),
                                .test = test,
                                .n_test = p->n_test_splits,
                                .submission = p->write_submission};
    int ret = -1;
    if (!test || !ts) {
        mer_error("out of memory");
        goto done;
    }
    if (one_fold)
        keep_only_fold(r, r->o->only_fold); /* out-of-fold predictions exist for that fold alone */
    o.cv = pred_set("cv", r->train_idx, r->n_train, r->oof_logits, 1.0, 1.0);
    for (size_t s = 0; s < p->n_test_splits; s++) {
        ensemble_finish(r, r->test_logits[s], r->n_test[s]);
        test[s] = pred_set(p->test_splits[s], r->test_idx[s], r->n_test[s], r->test_logits[s],
                           scale, vscale);
    }
    if (mer_run_outputs_write(&o, &cv, ts) < 0)
        goto done;
    sum->cv_waf = cv.waf;
    sum->cv_acc = cv.accuracy;
    sum->cv_macro_f1 = cv.macro_f1;
    for (size_t s = 0; s < p->n_test_splits; s++)
        if (ts[s].scored && sum->n_test < MER_MAX_TEST_SPLITS)
            sum->test[sum->n_test++] = (struct mer_split_score){
                p->test_splits[s], ts[s].n, ts[s].waf, ts[s].accuracy, ts[s].macro_f1};
    ret = 0;
done:
    free(test);
    free(ts);
    return ret;
}

/* ---- setup ---- */

static int collect_split(const struct mer_dataset *ds, const char *name, int need_labels,
                         int64_t **idx, size_t *n)
{
    int s = mer_dataset_split_index(ds, name);
    *n = 0;
    *idx = malloc((ds->n + 1) * sizeof(int64_t));
    if (!*idx)
        return mer_error("out of memory");
    for (size_t i = 0; s >= 0 && i < ds->n; i++)
        if (ds->split[i] == s && (!need_labels || ds->label[i] >= 0))
            (*idx)[(*n)++] = (int64_t)i;
    return 0;
}

/* The model the data and p make (its modalities, dims, classes, prior size). */
static int setup_model(struct run *r, const struct mer_dataset *ds,
                       const struct mer_train_params *p)
{
    int nm = 0;
    r->ds = ds;
    r->p = p;
    r->mc = p->model;
    for (int m = 0; m < MER_N_MODALITIES; m++)
        if (p->use_modality[m] && ds->has[m]) {
            r->mods[nm] = m;
            r->mc.dims[nm++] = ds->dim[m];
        }
    r->mc.n_mod = nm;
    r->mc.n_classes = ds->n_classes;
    r->mc.prior_dim = r->mc.prior_mode == MER_PRIOR_NONE ? 0 : ds->prior_dim;
    if (ds->n_classes > MER_MAX_CLASSES)
        return mer_error("%d classes; at most %d are supported", ds->n_classes, MER_MAX_CLASSES);
    return 0;
}

static int setup(struct run *r, const struct mer_dataset *ds, const struct mer_train_params *p)
{
    int64_t *labels = NULL;
    int ret = -1;
    if (setup_model(r, ds, p) < 0)
        return -1;
    if (collect_split(ds, p->train_split, 1, &r->train_idx, &r->n_train) < 0)
        return -1;
    if (r->n_train == 0)
        return mer_error("split '%s' has no labeled samples (data.train_split)", p->train_split);
    if (!(labels = malloc(r->n_train * sizeof(int64_t))) ||
        !(r->fold_of = malloc(r->n_train * sizeof(int))) ||
        !(r->oof_logits = calloc(r->n_train * width(r) + 1, sizeof(float))) ||
        !(r->test_idx = calloc(p->n_test_splits + 1, sizeof(*r->test_idx))) ||
        !(r->n_test = calloc(p->n_test_splits + 1, sizeof(*r->n_test))) ||
        !(r->test_logits = calloc(p->n_test_splits + 1, sizeof(*r->test_logits)))) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < r->n_train; i++) {
        labels[i] = ds->label[r->train_idx[i]];
        r->class_counts[labels[i]] += 1;
    }
    if (mer_stratified_folds(labels, r->n_train, ds->n_classes, p->folds, p->seed, r->fold_of) < 0)
        goto done;
    for (size_t s = 0; s < p->n_test_splits; s++) {
        if (!strcmp(p->test_splits[s], "cv")) { /* predictions/cv.csv is the out-of-fold one */
            mer_error("split 'cv' would overwrite the out-of-fold predictions "
                      "(predictions/cv.csv): rename it in the labels");
            goto done;
        }
        if (collect_split(ds, p->test_splits[s], 0, &r->test_idx[s], &r->n_test[s]) < 0 ||
            !(r->test_logits[s] = calloc(r->n_test[s] * width(r) + 1, sizeof(float))))
            goto done;
    }
    ret = 0;
done:
    free(labels);
    return ret;
}

static void release(struct run *r)
{
    for (size_t s = 0; r->test_idx && s < r->p->n_test_splits; s++) {
        free(r->test_idx[s]);
        free(r->test_logits[s]);
    }
    free(r->test_idx);
    free(r->test_logits);
    free(r->n_test);
    free(r->train_idx);
    free(r->fold_of);
    free(r->oof_logits);
}

int mer_train_run(const struct mer_dataset *ds, const struct mer_train_params *p,
                  const struct mer_run_options *o, struct mer_train_summary *out)
{
    struct run r;
    struct mer_train_params q = *p;
    int ret = -1;
    memset(&r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    /* train.folds' range is checked once, by the config schema; the summary holds MER_MAX_FOLDS */
    MER_ASSERT(p->folds >= 2 && p->folds <= (int)MER_ARRAY_SIZE(out->fold_waf));
    /* and the splits by mer_settings_resolve_splits (eval.splits) */
    MER_ASSERT(p->n_test_splits <= MER_MAX_TEST_SPLITS);
    mer_progress_quiet(o->quiet);
    r.o = o;
    if (setup(&r, ds, p) < 0)
        goto done;
    if (mer_settings_complete_loss(&q.loss, p, r.class_counts, ds->n_classes) < 0)
        goto done;
    r.p = &q;
    if (write_folds(&r) < 0)
        goto done;
    for (int k = 0; k < p->folds; k++) {
        int done_before = 0;
        if ((o->only_fold >= 0 && o->only_fold != k) ||
            (o->shard_count > 1 && k % o->shard_count != o->shard_index))
            continue;
        if (o->resume && (done_before = load_fold(&r, k, out)) < 0)
            goto done;
        if (!done_before && train_fold(&r, k, out) < 0)
            goto done;
    }
    out->folds = p->folds;
    if (o->shard_count > 1) { /* a --jobs worker: the parent writes the run's outputs */
        ret = 0;
        goto done;
    }
    out->steps_per_second /= o->only_fold < 0 ? p->folds : 1;
    ret = write_outputs(&r, out);
    /* finished: the checkpoints (weights, best weights, Adam moments) only served --resume */
    if (ret == 0 && !p->keep_checkpoints && o->only_fold < 0)
        ret = mer_run_drop_checkpoints(o->run_dir, p->folds);
done:
    release(&r);
    return ret;
}

/* One fold model's rows [n, width] of samples idx, from run_dir/fold-K/model.safetensors. */
static int predict_fold(const struct run *r, const char *run_dir, int k, struct batch_buf *buf,
                        const int64_t *idx, size_t n, float *rows)
{
    char *path = mer_strfmt("%s/fold-%d/model.safetensors", run_dir, k);
    mer_model *model = NULL;
    struct mer_cnet *net = NULL;
    int ret = -1;
    if (!path)
        return mer_error("out of memory");
    if (!mer_path_exists(path))
        mer_error("'%s': no such fold model (the run is not finished)", path);
    else if (mer_model_new(&model, &r->mc) == 0 && mer_model_load_weights(model, path) == 0 &&
             (!r->p->c_engine || mer_cnet_new(&net, model, &r->mc, r->p->batch_size) == 0))
        ret = predict(r, model, net, buf, idx, n, rows);
    mer_cnet_free(net);
    mer_model_free(model);
    free(path);
    return ret;
}

int mer_train_predict(const struct mer_dataset *ds, const struct mer_train_params *p,
                      const char *run_dir, const int64_t *idx, size_t n, float *rows, double *scale,
                      double *valence_scale)
{
    struct run r;
    struct batch_buf buf = {0};
    float *fold_rows = NULL;
    int ret = -1;
    memset(&r, 0, sizeof(r));
    if (setup_model(&r, ds, p) < 0)
        return -1;
    memset(rows, 0, n * width(&r) * sizeof(float));
    if (batch_buf_init(&buf, &r, PREDICT_CHUNK > p->batch_size ? PREDICT_CHUNK : p->batch_size) <
            0 ||
        !(fold_rows = malloc((n + 1) * width(&r) * sizeof(float)))) {
        mer_error("out of memory");
        goto done;
    }
    for (int k = 0; k < p->folds; k++) {
        if (predict_fold(&r, run_dir, k, &buf, idx, n, fold_rows) < 0)
            goto done;
        ensemble_add(&r, fold_rows, n, rows);
    }
    ensemble_finish(&r, rows, n);
    *scale = ensemble_scale(p);
    *valence_scale = 1.0 / p->folds;
    ret = 0;
done:
    batch_buf_release(&buf);
    free(fold_rows);
    return ret;
}
