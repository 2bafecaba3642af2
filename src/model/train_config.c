/* settings.h: the dataset, training, model and loss parts of a resolved config. */
#include "mer/config.h"
#include "mer/error.h"
#include "mer/names.h"
#include "mer/settings.h"

#include <string.h>

static int index_of(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

static void model_params(const mer_config *cfg, struct mer_model_config *m)
{
    *m = mer_model_default_config();
    m->hidden = mer_config_int(cfg, "model.hidden");
    m->encoder_layers = (int)mer_config_int(cfg, "model.encoder_layers");
    m->dropout = mer_config_number(cfg, "model.dropout");
    m->proj_dim = mer_config_int(cfg, "model.proj_dim");
    m->heads = (int)mer_config_int(cfg, "model.prior.heads");
    m->valence_head = mer_config_bool(cfg, "model.valence_head");
    m->attention_norm = (enum mer_attention_norm)mer_enum_lookup(
        mer_config_string(cfg, "model.fusion.attention_norm"), mer_attention_norm_names,
        MER_N_ATTENTION_NORMS);
    m->prior_mode = (enum mer_prior_mode)mer_enum_lookup(mer_config_string(cfg, "model.prior.mode"),
                                                         mer_prior_mode_names, MER_N_PRIOR_MODES);
}

static void loss_params(const mer_config *cfg, struct mer_loss_config *l)
{
    *l = mer_loss_default_config();
    l->ce = (enum mer_ce_kind)mer_enum_lookup(mer_config_string(cfg, "loss.ce"), mer_ce_kind_names,
                                              MER_N_CE_KINDS);
    l->logit_adjust_tau = mer_config_number(cfg, "loss.logit_adjust_tau");
    l->lambda_inter = mer_config_number(cfg, "loss.lambda_inter");
    l->lambda_intra = mer_config_number(cfg, "loss.lambda_intra");
    l->tau = mer_config_number(cfg, "loss.tau");
    l->lambda_valence = mer_config_number(cfg, "loss.lambda_valence");
}

static int prior_modalities(const mer_config *cfg, int *use)
{
    static const char *const names[] = {"audio", "video", "text"};
    for (size_t i = 0; i < mer_config_list_size(cfg, "model.prior.modalities"); i++) {
        const char *s = mer_config_list_item(cfg, "model.prior.modalities", i);
        int m = index_of(s, names, 3);
        if (m < 0)
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

int mer_train_params_from_config(const mer_config *cfg, struct mer_train_params *p,
                                 struct mer_dataset_params *d)
{
    static const char *const keys[] = {"data.audio", "data.video", "data.text"};
    memset(p, 0, sizeof(*p));
    *d = mer_dataset_default_params();
    for (int m = 0; m < MER_N_MODALITIES; m++) {
        d->features[m] = mer_config_string(cfg, keys[m]);
        p->use_modality[m] = *d->features[m] != '\0';
    }
    d->labels = mer_config_string(cfg, "data.labels");
    d->priors = mer_config_string(cfg, "data.priors");
    d->train_split = mer_config_string(cfg, "data.train_split");
    d->missing = strcmp(mer_config_string(cfg, "data.missing"), "mask") ? MER_MISSING_ERROR
                                                                        : MER_MISSING_MASK;
    d->nan = strcmp(mer_config_string(cfg, "data.nan"), "zero") ? MER_NAN_ERROR : MER_NAN_ZERO;
    model_params(cfg, &p->model);
    loss_params(cfg, &p->loss);
    if (!*d->priors)
        p->model.prior_mode = MER_PRIOR_NONE;
    p->optimizer = (enum mer_optim_kind)mer_enum_lookup(mer_config_string(cfg, "train.optimizer"),
                                                        mer_optimizer_names, MER_N_OPTIM_KINDS);
    p->lr = mer_config_number(cfg, "train.lr");
    p->weight_decay = mer_config_number(cfg, "train.weight_decay");
    p->grad_clip = mer_config_number(cfg, "train.grad_clip");
    p->batch_size = (int)mer_config_int(cfg, "train.batch_size");
    p->epochs = (int)mer_config_int(cfg, "train.epochs");
    p->patience = (int)mer_config_int(cfg, "train.patience");
    p->folds = (int)mer_config_int(cfg, "train.folds");
    p->seed = (uint64_t)mer_config_int(cfg, "train.seed");
    p->only_fold = -1;
    p->train_split = d->train_split;
    p->select_metric = mer_enum_lookup(mer_config_string(cfg, "train.select_metric"),
                                       mer_select_metric_names, MER_N_SELECT_METRICS);
    p->ensemble_probs = !strcmp(mer_config_string(cfg, "eval.ensemble"), "probs");
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
    if (prior_modalities(cfg, p->prior_modality) < 0 || check_split_names(cfg) < 0)
        return -1;
    return 0; /* every key's range is checked by the config schema, when it is resolved */
}
