/*
 * modeldef.h: the fusion model defined once: its modes and their names, its configs, its
 * parameter table and its loss-term table. Both engines (the libtorch one in model.c and
 * loss.c, the plain-C one in cnet.c) build and bind their parameters from the table, both sum
 * the loss terms of the table, and the config reader, the epoch statistics and the training
 * log iterate over the same rows; python/mer_model.py states the same model for the oracle.
 *
 * Every mode is an enum with one row per value in an X-macro list (xenum.h): the enum, its
 * name table (mer_x_names[value]) and the config schema's "a|b|c" are made from that one list.
 * Switches over these enums list every value and have no default, so a mode added here and
 * missed in an engine is a compile error (-Wswitch), not a silent fallback.
 *
 * Adding an injection mode: its row in MER_PRIOR_MODES, its parameters in
 * mer_param_present (and a row in MER_PARAMS if it needs new ones), its math in model.c and
 * cnet.c, and python/mer_model.py (its MODES and math: the oracle's cases follow them); then
 * configs/README.md's key table, which `mer config --doc` prints from the schema. Adding a loss
 * term: its row in MER_LOSS_TERMS and its cases in mer_loss_lambda and mer_loss_term_active, its
 * math in loss.c and cnet.c, and python/mer_model.py.
 *
 * Dimension legend: M = modalities, D_m = feature dim of modality m, H = hidden,
 * P = prior dim, K = classes, Z = projection dim.
 */
#ifndef MER_MODELDEF_H
#define MER_MODELDEF_H

#include "mer/torch.h"
#include "mer/xenum.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MER_MAX_MODALITIES 3

/* model.prior.mode: how the priors enter the modality tokens before fusion. */
#define MER_PRIOR_MODES(X)                                                                         \
    X(MER_PRIOR_NONE, "none")                                                                      \
    X(MER_PRIOR_CONCAT, "concat")                                                                  \
    X(MER_PRIOR_GATE, "gate")                                                                      \
    X(MER_PRIOR_FILM, "film")                                                                      \
    X(MER_PRIOR_CROSS_ATTENTION, "cross_attention")

/* model.fusion.attention_norm: the modality attention weights. */
#define MER_ATTENTION_NORMS(X)                                                                     \
    X(MER_ATTENTION_SOFTMAX, "softmax") /* softmax over the present modalities */                  \
    X(MER_ATTENTION_NONE, "none")       /* raw, masked (the MER2024 baseline) */

/* loss.ce: the cross-entropy variant. */
#define MER_CE_KINDS(X)                                                                            \
    X(MER_CE_PLAIN, "plain")                                                                       \
    X(MER_CE_CLASS_WEIGHTED, "class_weighted")                                                     \
    X(MER_CE_LOGIT_ADJUSTED, "logit_adjusted")

/* train.optimizer: the optimizers training offers (enum mer_optim_kind, torch.h). */
#define MER_TRAIN_OPTIMIZERS(X)                                                                    \
    X(MER_OPTIM_ADAM, "adam")                                                                      \
    X(MER_OPTIM_ADAMW, "adamw")

/* train.select_metric: the validation score that picks a fold's best epoch. */
#define MER_SELECT_METRICS(X)                                                                      \
    X(MER_SELECT_WAF, "waf")                                                                       \
    X(MER_SELECT_ACCURACY, "accuracy")                                                             \
    X(MER_SELECT_MACRO_F1, "macro_f1")

enum mer_prior_mode { MER_PRIOR_MODES(MER_ENUM_ROW) };
enum mer_attention_norm { MER_ATTENTION_NORMS(MER_ENUM_ROW) };
enum mer_ce_kind { MER_CE_KINDS(MER_ENUM_ROW) };
enum mer_select_metric { MER_SELECT_METRICS(MER_ENUM_ROW) };
enum {
    MER_N_PRIOR_MODES = 0 MER_PRIOR_MODES(MER_COUNT_ROW),
    MER_N_ATTENTION_NORMS = 0 MER_ATTENTION_NORMS(MER_COUNT_ROW),
    MER_N_CE_KINDS = 0 MER_CE_KINDS(MER_COUNT_ROW),
    MER_N_SELECT_METRICS = 0 MER_SELECT_METRICS(MER_COUNT_ROW),
    MER_N_OPTIM_KINDS = MER_OPTIM_ADAMW + 1,
};

static const char *const mer_prior_mode_names[MER_N_PRIOR_MODES] = {MER_PRIOR_MODES(MER_NAME_ROW)};
static const char *const mer_attention_norm_names[MER_N_ATTENTION_NORMS] = {
    MER_ATTENTION_NORMS(MER_NAME_ROW)};
static const char *const mer_ce_kind_names[MER_N_CE_KINDS] = {MER_CE_KINDS(MER_NAME_ROW)};
/* NULL for a kind training does not offer (SGD). */
static const char *const mer_optimizer_names[MER_N_OPTIM_KINDS] = {
    MER_TRAIN_OPTIMIZERS(MER_NAME_ROW)};
static const char *const mer_select_metric_names[MER_N_SELECT_METRICS] = {
    MER_SELECT_METRICS(MER_NAME_ROW)};
/* As the progress line names them. */
static const char *const mer_select_metric_labels[MER_N_SELECT_METRICS] = {
    [MER_SELECT_WAF] = "WAF",
    [MER_SELECT_ACCURACY] = "accuracy",
    [MER_SELECT_MACRO_F1] = "macro-F1"};

/* ---- configs ---- */

struct mer_model_config {
    int n_mod;                              /* M, 1..3 */
    int64_t dims[MER_MAX_MODALITIES];       /* D_m, e.g. 1024, 768, 1024 */
    int64_t hidden;                         /* H, 256 */
    int encoder_layers;                     /* 2 */
    double dropout;                         /* 0.3 */
    int n_classes;                          /* K, 6 */
    int64_t prior_dim;                      /* P, 0 = no priors */
    enum mer_prior_mode prior_mode;         /* cross_attention */
    int heads;                              /* 4 (H % heads == 0) */
    int64_t proj_dim;                       /* Z, 128 */
    enum mer_attention_norm attention_norm; /* softmax; none: raw weights (baseline) */
    int valence_head;                       /* 1: also regress valence from the fused vector */
};

struct mer_loss_config {
    enum mer_ce_kind ce;
    double logit_adjust_tau;     /* 1.0 */
    double lambda_inter;         /* 0.35 */
    double lambda_intra;         /* 0.1 */
    double tau;                  /* 0.1 */
    double lambda_valence;       /* 1.0 (with the valence head) */
    const double *class_counts;  /* [K] training-set counts (class_weighted, logit_adjusted) */
    const double *class_weights; /* [K] explicit class_weighted weights, or NULL (derived) */
};

/* ---- the loss terms ---- */

/* total = sum over the active terms of lambda * term, in this order (the order both engines
 * compute them in, and log.jsonl's). X(value, name as logged). */
#define MER_LOSS_TERMS(X)                                                                          \
    X(MER_LOSS_CE, "ce")           /* cross-entropy (loss.ce), lambda 1 */                         \
    X(MER_LOSS_INTER, "inter")     /* balanced contrastive, samples and prototypes */              \
    X(MER_LOSS_INTRA, "intra")     /* mean (1 - cos) of samples to their prototype */              \
    X(MER_LOSS_VALENCE, "valence") /* valence MSE (the valence head) */

enum mer_loss_term { MER_LOSS_TERMS(MER_ENUM_ROW) };
enum { MER_N_LOSS_TERMS = 0 MER_LOSS_TERMS(MER_COUNT_ROW) };
static const char *const mer_loss_term_names[MER_N_LOSS_TERMS] = {MER_LOSS_TERMS(MER_NAME_ROW)};

/* The term's weight in the total (loss config). */
static inline double mer_loss_lambda(const struct mer_loss_config *lc, enum mer_loss_term t)
{
    switch (t) {
    case MER_LOSS_CE:
        return 1.0;
    case MER_LOSS_INTER:
        return lc->lambda_inter;
    case MER_LOSS_INTRA:
        return lc->lambda_intra;
    case MER_LOSS_VALENCE:
        return lc->lambda_valence;
    }
    return 0.0;
}

/* Whether a model of config c has the term; a term it has is computed and logged even with
 * lambda 0. Stage 1 (pre-training on pseudo-labels) logs the terms every model has. */
static inline int mer_loss_term_active(const struct mer_model_config *c, enum mer_loss_term t)
{
    switch (t) {
    case MER_LOSS_CE:
    case MER_LOSS_INTER:
    case MER_LOSS_INTRA:
        return 1;
    case MER_LOSS_VALENCE:
        return c == NULL ? 0 : c->valence_head; /* NULL: in every model */
    }
    return 0;
}

/* ---- the parameter table ---- */

/* How a row repeats: once, per modality (name "%d" = m), per modality and encoder layer
 * ("%d" = m, then l). */
enum mer_param_repeat { MER_PARAM_ONCE, MER_PARAM_PER_MODALITY, MER_PARAM_PER_LAYER };
/* What a row holds: nn.Linear (".weight" [out, in], ".bias" [out], both U(-1/sqrt(in),
 * 1/sqrt(in)) as PyTorch's default), nn.LayerNorm over [H] (".weight" ones, ".bias" zeros),
 * or a matrix [out, in] drawn from U(-1, 1). */
enum mer_param_kind { MER_PARAM_LINEAR, MER_PARAM_LAYER_NORM, MER_PARAM_MATRIX };

/* X(role, PyTorch name, repeat, kind), in the order of the model's state_dict (and of
 * model.safetensors). */
#define MER_PARAMS(X)                                                                              \
    X(MER_P_ENCODER, "encoders.%d.linears.%d", MER_PARAM_PER_LAYER, MER_PARAM_LINEAR)              \
    X(MER_P_PRIOR_PROJ, "prior_proj.%d", MER_PARAM_PER_MODALITY, MER_PARAM_LINEAR)                 \
    X(MER_P_INJECT, "inject.%d", MER_PARAM_PER_MODALITY, MER_PARAM_LINEAR)                         \
    X(MER_P_GAMMA, "gamma.%d", MER_PARAM_PER_MODALITY, MER_PARAM_LINEAR)                           \
    X(MER_P_BETA, "beta.%d", MER_PARAM_PER_MODALITY, MER_PARAM_LINEAR)                             \
    X(MER_P_WQ, "wq", MER_PARAM_ONCE, MER_PARAM_LINEAR)                                            \
    X(MER_P_WK, "wk", MER_PARAM_ONCE, MER_PARAM_LINEAR)                                            \
    X(MER_P_WV, "wv", MER_PARAM_ONCE, MER_PARAM_LINEAR)                                            \
    X(MER_P_WO, "wo", MER_PARAM_ONCE, MER_PARAM_LINEAR)                                            \
    X(MER_P_NORM, "norm", MER_PARAM_ONCE, MER_PARAM_LAYER_NORM)                                    \
    X(MER_P_FUSE1, "fuse1", MER_PARAM_ONCE, MER_PARAM_LINEAR)                                      \
    X(MER_P_FUSE2, "fuse2", MER_PARAM_ONCE, MER_PARAM_LINEAR)                                      \
    X(MER_P_CLASSIFIER, "classifier", MER_PARAM_ONCE, MER_PARAM_LINEAR)                            \
    X(MER_P_PROJ1, "proj1", MER_PARAM_ONCE, MER_PARAM_LINEAR)                                      \
    X(MER_P_PROJ2, "proj2", MER_PARAM_ONCE, MER_PARAM_LINEAR)                                      \
    X(MER_P_PROTOTYPES, "prototypes", MER_PARAM_ONCE, MER_PARAM_MATRIX)                            \
    X(MER_P_VALENCE, "valence", MER_PARAM_ONCE, MER_PARAM_LINEAR)

#define MER_PARAM_ENUM_ROW(role, name, repeat, kind) role,
enum mer_param_role { MER_PARAMS(MER_PARAM_ENUM_ROW) };

struct mer_param_row {
    enum mer_param_role role;
    const char *name;
    enum mer_param_repeat repeat;
    enum mer_param_kind kind;
};
#define MER_PARAM_TABLE_ROW(role, name, repeat, kind) {role, name, repeat, kind},
static const struct mer_param_row mer_param_table[] = {MER_PARAMS(MER_PARAM_TABLE_ROW)};
#define MER_N_PARAM_ROWS (sizeof(mer_param_table) / sizeof(mer_param_table[0]))

/* Whether a model of config c has the row's parameters. */
static inline int mer_param_present(const struct mer_model_config *c, enum mer_param_role r)
{
    const int priors = c->prior_mode != MER_PRIOR_NONE && c->prior_dim > 0;
    const enum mer_prior_mode mode = c->prior_mode;
    switch (r) {
    case MER_P_ENCODER:
    case MER_P_FUSE1:
    case MER_P_FUSE2:
    case MER_P_CLASSIFIER:
    case MER_P_PROJ1:
    case MER_P_PROJ2:
    case MER_P_PROTOTYPES:
        return 1;
    case MER_P_VALENCE:
        return c->valence_head;
    case MER_P_PRIOR_PROJ:
        return priors;
    case MER_P_INJECT:
        return priors && (mode == MER_PRIOR_CONCAT || mode == MER_PRIOR_GATE);
    case MER_P_GAMMA:
    case MER_P_BETA:
        return priors && mode == MER_PRIOR_FILM;
    case MER_P_WQ:
    case MER_P_WK:
    case MER_P_WV:
    case MER_P_WO:
    case MER_P_NORM:
        return priors && mode == MER_PRIOR_CROSS_ATTENTION;
    }
    return 0;
}

/* The row's [out, in] for modality m and encoder layer l (a LayerNorm: [H, H], its size H). */
static inline void mer_param_dims(const struct mer_model_config *c, enum mer_param_role r, int m,
                                  int l, int64_t *out, int64_t *in)
{
    const int64_t h = c->hidden;
    *out = h;
    *in = h;
    switch (r) {
    case MER_P_ENCODER:
        *in = l ? h : c->dims[m];
        break;
    case MER_P_PRIOR_PROJ:
        *in = c->prior_dim;
        break;
    case MER_P_INJECT:
        *in = 2 * h;
        break;
    case MER_P_FUSE1:
        *in = c->n_mod * h;
        break;
    case MER_P_FUSE2:
        *out = c->n_mod;
        break;
    case MER_P_CLASSIFIER:
        *out = c->n_classes;
        break;
    case MER_P_PROJ2:
        *out = c->proj_dim;
        break;
    case MER_P_PROTOTYPES:
        *out = c->n_classes;
        *in = c->proj_dim;
        break;
    case MER_P_VALENCE:
        *out = 1;
        break;
    case MER_P_GAMMA:
    case MER_P_BETA:
    case MER_P_WQ:
    case MER_P_WK:
    case MER_P_WV:
    case MER_P_WO:
    case MER_P_NORM:
    case MER_P_PROJ1:
        break;
    }
}

/* One parameter tensor of a model, as the table lays them out. */
enum mer_param_init { MER_INIT_UNIFORM, MER_INIT_ZEROS, MER_INIT_ONES };
struct mer_param_spec {
    enum mer_param_role role;
    int mod, layer; /* modality, encoder layer (0 where the row does not repeat so) */
    int bias;       /* the row's second tensor: a Linear's or LayerNorm's bias */
    char name[48];  /* "encoders.0.linears.1.weight" */
    int ndim;
    int64_t shape[2];
    enum mer_param_init init;
    double bound; /* MER_INIT_UNIFORM: U(-bound, bound) */
};

#define MER_MAX_PARAMS 64

/* Every parameter of a model of config c, in order, into out[0..MER_MAX_PARAMS-1]; returns
 * their count (more than MER_MAX_PARAMS: only the first MER_MAX_PARAMS written). */
static inline size_t mer_param_specs(const struct mer_model_config *c, struct mer_param_spec *out)
{
    size_t n = 0;
    for (size_t r = 0; r < MER_N_PARAM_ROWS; r++) {
        const struct mer_param_row *row = &mer_param_table[r];
        const int n_m = row->repeat == MER_PARAM_ONCE ? 1 : c->n_mod;
        const int n_l = row->repeat == MER_PARAM_PER_LAYER ? c->encoder_layers : 1;
        if (!mer_param_present(c, row->role))
            continue;
        for (int m = 0; m < n_m; m++)
            for (int l = 0; l < n_l; l++)
                for (int b = 0; b < (row->kind == MER_PARAM_MATRIX ? 1 : 2); b++, n++) {
                    struct mer_param_spec *s = &out[n];
                    char base[40];
                    int64_t o, i;
                    if (n >= MER_MAX_PARAMS)
                        continue;
                    mer_param_dims(c, row->role, m, l, &o, &i);
                    memset(s, 0, sizeof(*s));
                    s->role = row->role;
                    s->mod = m;
                    s->layer = l;
                    s->bias = b;
                    snprintf(base, sizeof(base), row->name, m, l);
                    snprintf(s->name, sizeof(s->name), "%s%s", base,
                             row->kind == MER_PARAM_MATRIX ? ""
                             : b                           ? ".bias"
                                                           : ".weight");
                    s->ndim = row->kind == MER_PARAM_LINEAR && !b ? 2
                              : row->kind == MER_PARAM_MATRIX     ? 2
                                                                  : 1;
                    s->shape[0] = o;
                    s->shape[1] = s->ndim == 2 ? i : 0;
                    s->init = row->kind == MER_PARAM_LAYER_NORM
                                  ? (b ? MER_INIT_ZEROS : MER_INIT_ONES)
                                  : MER_INIT_UNIFORM;
                    s->bound = row->kind == MER_PARAM_MATRIX ? 1.0 : 1.0 / sqrt((double)i);
                }
    }
    return n;
}

#endif
