/* settings.h: a resolved config as typed structs: the data, training, model, loss, device and
 * prior settings, and the splits a run predicts. */
#include "mer/settings.h"
#include "mer/config.h"
#include "mer/error.h"
#include "mer/names.h"

#include <stdio.h>
#include <string.h>

void mer_prior_settings_from_config(const mer_config *cfg, struct mer_prior_settings *p)
{
    p->encoder = mer_config_string(cfg, "prior.encoder");
    p->dim = mer_config_int(cfg, "prior.dim");
    p->min_reliability = mer_config_number(cfg, "prior.min_reliability");
    p->scale_by_reliability = mer_config_bool(cfg, "prior.scale_by_reliability");
}

static void device_settings(const mer_config *cfg, struct mer_device_settings *d)
{
    d->device =
        (enum mer_device)mer_config_enum(cfg, "train.device", mer_device_names, MER_N_DEVICES);
    d->engine =
        (enum mer_engine)mer_config_enum(cfg, "train.engine", mer_engine_names, MER_N_ENGINES);
    d->deterministic = mer_config_bool(cfg, "train.deterministic");
}

static void data_settings(const mer_config *cfg, struct mer_dataset_params *d)
{
    *d = mer_dataset_default_params();
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        char key[32];
        snprintf(key, sizeof(key), "data.%s", mer_modality_name((enum mer_modality)m));
        d->features[m] = mer_config_string(cfg, key);
    }
    d->labels = mer_config_string(cfg, "data.labels");
    d->priors = mer_config_string(cfg, "data.priors");
    d->train_split = mer_config_string(cfg, "data.train_split");
    d->missing = (enum mer_missing_policy)mer_config_enum(
        cfg, "data.missing", mer_missing_policy_names, MER_N_MISSING_POLICIES);
    d->nan = (enum mer_nan_policy)mer_config_enum(cfg, "data.nan", mer_nan_policy_names,
                                                  MER_N_NAN_POLICIES);
    d->standardize = mer_config_bool(cfg, "data.standardize");
}

static void model_settings(const mer_config *cfg, struct mer_model_config *m)
{
    *m = mer_model_default_config();
    m->hidden = mer_config_int(cfg, "model.hidden");
    m->encoder_layers = (int)mer_config_int(cfg, "model.encoder_layers");
    m->dropout = mer_config_number(cfg, "model.dropout");
    m->proj_dim = mer_config_int(cfg, "model.proj_dim");
    m->heads = (int)mer_config_int(cfg, "model.prior.heads");
    m->valence_head = mer_config_bool(cfg, "model.valence_head");
    m->attention_norm = (enum mer_attention_norm)mer_config_enum(
        cfg, "model.fusion.attention_norm", mer_attention_norm_names, MER_N_ATTENTION_NORMS);
    m->prior_mode = (enum mer_prior_mode)mer_config_enum(cfg, "model.prior.mode",
                                                         mer_prior_mode_names, MER_N_PRIOR_MODES);
}

static void loss_settings(const mer_config *cfg, struct mer_loss_config *l)
{
    *l = mer_loss_default_config();
    l->ce = (enum mer_ce_kind)mer_config_enum(cfg, "loss.ce", mer_ce_kind_names, MER_N_CE_KINDS);
    l->logit_adjust_tau = mer_config_number(cfg, "loss.logit_adjust_tau");
    l->lambda_inter = mer_config_number(cfg, "loss.lambda_inter");
    l->lambda_intra = mer_config_number(cfg, "loss.lambda_intra");
    l->tau = mer_config_number(cfg, "loss.tau");
    l->lambda_valence = mer_config_number(cfg, "loss.lambda_valence");
}

static int prior_modalities(const mer_config *cfg, int *use)
{
    for (size_t i = 0; i < mer_config_list_size(cfg, "model.prior.modalities"); i++) {
        const char *s = mer_config_list_item(cfg, "model.prior.modalities", i);
        int m = 0;
        while (m < MER_N_MODALITIES && strcmp(s, mer_modality_name((enum mer_modality)m)))
            m++;
        if (m == MER_N_MODALITIES)
            return mer_error("key 'model.prior.modalities': '%s' is not audio, video or text", s);
        use[m] = 1;
    }
    return 0;
}

/* Split names become file names (predictions/<split>.csv): the ones a config gives are checked
 * as the labels store's are (names.h). */
static int check_split_names(const mer_config *cfg)
{
    const char *train = mer_config_string(cfg, "data.train_split");
    if (mer_name_check("split", train) < 0)
        return mer_error_prefix("key 'data.train_split'");
    for (size_t i = 0; i < mer_config_list_size(cfg, "eval.splits"); i++) {
        const char *s = mer_config_list_item(cfg, "eval.splits", i);
        if (mer_name_check("split", s) < 0)
            return mer_error_prefix("key 'eval.splits'");
    }
    return 0;
}

/* train.*, model.*, loss.*, eval.ensemble and eval.submission; d (data_settings) says which
 * stores are given, and p's stage-1 pseudo-labels go into it. */
static int train_settings(const mer_config *cfg, struct mer_train_params *p,
                          struct mer_dataset_params *d)
{
    for (int m = 0; m < MER_N_MODALITIES; m++)
        p->use_modality[m] = *d->features[m] != '\0';
    model_settings(cfg, &p->model);
    loss_settings(cfg, &p->loss);
    if (!*d->priors)
        p->model.prior_mode = MER_PRIOR_NONE;
    p->optimizer = (enum mer_optim_kind)mer_config_enum(cfg, "train.optimizer", mer_optimizer_names,
                                                        MER_N_OPTIM_KINDS);
    p->lr = mer_config_number(cfg, "train.lr");
    p->weight_decay = mer_config_number(cfg, "train.weight_decay");
    p->grad_clip = mer_config_number(cfg, "train.grad_clip");
    p->batch_size = (int)mer_config_int(cfg, "train.batch_size");
    p->epochs = (int)mer_config_int(cfg, "train.epochs");
    p->patience = (int)mer_config_int(cfg, "train.patience");
    p->folds = (int)mer_config_int(cfg, "train.folds");
    p->seed = (uint64_t)mer_config_int(cfg, "train.seed");
    p->keep_checkpoints = mer_config_bool(cfg, "train.keep_checkpoints");
    p->train_split = d->train_split;
    p->select_metric = (enum mer_select_metric)mer_config_enum(
        cfg, "train.select_metric", mer_select_metric_names, MER_N_SELECT_METRICS);
    p->ensemble = (enum mer_ensemble)mer_config_enum(cfg, "eval.ensemble", mer_ensemble_names,
                                                     MER_N_ENSEMBLES);
    p->write_submission = mer_config_bool(cfg, "eval.submission");
    if (mer_config_bool(cfg, "train.pretrain.enabled")) {
        d->pseudo_labels = mer_config_string(cfg, "train.pretrain.pseudo_labels");
        if (!*d->pseudo_labels)
            return mer_error("key 'train.pretrain.pseudo_labels': stage-1 pre-training needs a "
                             "labels store of pseudo-labels");
        p->pretrain_epochs = (int)mer_config_int(cfg, "train.pretrain.epochs");
        p->pretrain_min_reliability = mer_config_number(cfg, "train.pretrain.min_reliability");
    }
    p->n_class_weights = (int)mer_config_list_size(cfg, "loss.class_weights");
    if (p->n_class_weights > MER_MAX_CLASSES)
        return mer_error("key 'loss.class_weights': at most %d values", MER_MAX_CLASSES);
    for (int c = 0; c < p->n_class_weights; c++)
        p->class_weights[c] = mer_config_list_number(cfg, "loss.class_weights", (size_t)c);
    return prior_modalities(cfg, p->prior_modality);
}

int mer_settings_from_config(const mer_config *cfg, struct mer_settings *s)
{
    memset(s, 0, sizeof(*s));
    mer_prior_settings_from_config(cfg, &s->prior);
    device_settings(cfg, &s->device);
    data_settings(cfg, &s->data);
    if (train_settings(cfg, &s->train, &s->data) < 0 || check_split_names(cfg) < 0)
        return -1;
    /* The training's prior weighting is prior.*, read once above. */
    s->train.min_reliability = s->prior.min_reliability;
    s->train.scale_by_reliability = s->prior.scale_by_reliability;
    return 0; /* every key's range is checked by the config schema, when it is resolved */
}

int mer_settings_resolve_splits(struct mer_settings *s, const mer_config *cfg,
                                const struct mer_dataset *ds)
{
    const char **out = s->test_splits, *train = s->train.train_split;
    size_t n = 0, max = MER_MAX_TEST_SPLITS, listed = mer_config_list_size(cfg, "eval.splits");
    char where[1024];
    mer_config_where(cfg, "eval.splits", where, sizeof(where));
    if (listed > max)
        return mer_error("%s: %zu splits listed, at most %zu", where, listed, max);
    for (size_t i = 0; i < listed; i++) {
        const char *name = mer_config_list_item(cfg, "eval.splits", i);
        int found = 0;
        for (int t = 0; t < ds->n_splits && !found; t++)
            found = !strcmp(ds->splits[t], name);
        for (size_t j = 0; j < n && found; j++)
            if (!strcmp(out[j], name))
                return mer_error("%s: split '%s' is listed twice", where, name);
        if (!found) {
            char have[1024] = "";
            for (int t = 0, len = 0; t < ds->n_splits && len < (int)sizeof(have); t++)
                len += snprintf(have + len, sizeof(have) - (size_t)len, "%s'%s'", t ? ", " : "",
                                ds->splits[t]);
            return mer_error("%s: the data has no split '%s' (its splits: %s)", where, name, have);
        }
        out[n++] = name;
    }
    for (int t = 0; !listed && t < ds->n_splits && n < max; t++)
        if (strcmp(ds->splits[t], train))
            out[n++] = ds->splits[t];
    s->train.test_splits = out;
    s->train.n_test_splits = n;
    return 0;
}

const char *mer_settings_device(const struct mer_settings *s, const char *given, int cuda_available)
{
    const char *dev = given ? given : mer_device_names[s->device.device];
    if (mer_enum_lookup(dev, mer_device_names, MER_N_DEVICES) == MER_DEVICE_AUTO)
        dev = mer_device_names[cuda_available ? MER_DEVICE_CUDA : MER_DEVICE_CPU];
    return dev;
}

int mer_settings_select_engine(struct mer_settings *s, const char *device)
{
    const int cpu = mer_enum_lookup(device, mer_device_names, MER_N_DEVICES) == MER_DEVICE_CPU;
    switch (s->device.engine) {
    case MER_ENGINE_AUTO: /* the plain-C step is faster than libtorch's autograd on the CPU */
        s->train.c_engine = cpu;
        break;
    case MER_ENGINE_C:
        if (!cpu)
            return mer_error("train.engine=%s runs on the CPU only, and the device is '%s'",
                             mer_engine_names[MER_ENGINE_C], device);
        s->train.c_engine = 1;
        break;
    case MER_ENGINE_TORCH:
        s->train.c_engine = 0;
        break;
    }
    return 0;
}

int mer_settings_complete_loss(struct mer_loss_config *l, const struct mer_train_params *p,
                               const double *counts, int n_classes)
{
    if (p->n_class_weights && p->n_class_weights != n_classes)
        return mer_error("key 'loss.class_weights': %d values for %d classes", p->n_class_weights,
                         n_classes);
    l->class_counts = counts;
    l->class_weights = p->n_class_weights ? p->class_weights : NULL;
    return 0;
}
