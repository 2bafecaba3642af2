/* settings.h: a resolved config as typed structs (the training, model and loss parts are in
 * train_config.c). */
#include "mer/settings.h"
#include "mer/config.h"
#include "mer/error.h"

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
    const char *engine = mer_config_string(cfg, "train.engine");
    d->device = mer_config_string(cfg, "train.device");
    d->engine = !strcmp(engine, "c")       ? MER_ENGINE_C
                : !strcmp(engine, "torch") ? MER_ENGINE_TORCH
                                           : MER_ENGINE_AUTO;
    d->deterministic = mer_config_bool(cfg, "train.deterministic");
}

int mer_settings_from_config(const mer_config *cfg, struct mer_settings *s)
{
    memset(s, 0, sizeof(*s));
    mer_prior_settings_from_config(cfg, &s->prior);
    device_settings(cfg, &s->device);
    if (mer_train_params_from_config(cfg, &s->train, &s->data) < 0)
        return -1;
    /* The training's prior weighting is prior.*, read once above. */
    s->train.min_reliability = s->prior.min_reliability;
    s->train.scale_by_reliability = s->prior.scale_by_reliability;
    return 0;
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

int mer_settings_select_engine(struct mer_settings *s, const char *device)
{
    int cpu = !strcmp(device, "cpu");
    if (!cpu && s->device.engine == MER_ENGINE_C)
        return mer_error("train.engine=c runs on the CPU only, and the device is '%s'", device);
    s->train.c_engine =
        s->device.engine == MER_ENGINE_C || (cpu && s->device.engine == MER_ENGINE_AUTO);
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
