/* Fold checkpoints and parameter snapshots (checkpoint.h). */
#include "mer/checkpoint.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"

#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mer_snapshot_release(struct mer_snapshot *s)
{
    for (size_t i = 0; s->w && i < s->n; i++)
        free(s->w[i]);
    free(s->w);
    memset(s, 0, sizeof(*s));
}

int mer_snapshot_take(struct mer_snapshot *s, mer_model *m)
{
    if (!s->w) {
        s->n = mer_model_n_params(m);
        if (!(s->w = calloc(s->n, sizeof(*s->w))))
            return mer_error("out of memory");
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t bytes = (size_t)mer_tensor_numel(mer_model_param(m, i)) * sizeof(float);
        if (!s->w[i] && !(s->w[i] = malloc(bytes)))
            return mer_error("out of memory");
        if (mer_tensor_to_host(mer_model_param(m, i), s->w[i], bytes) < 0)
            return -1;
    }
    return 0;
}

int mer_snapshot_restore(const struct mer_snapshot *s, mer_model *m)
{
    for (size_t i = 0; i < s->n; i++) {
        mer_tensor *p = mer_model_param(m, i), *src;
        int64_t shape[8];
        int nd = mer_tensor_ndim(p), rc;
        for (int d = 0; d < nd; d++)
            shape[d] = mer_tensor_dim_size(p, d);
        if (mer_tensor_from_host(&src, s->w[i], MER_T_F32, nd, shape) < 0)
            return -1;
        rc = mer_tensor_copy_(p, src);
        mer_tensor_free(src);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Tensors "<prefix><param name>" from host buffers, shaped as m's parameters. */
static int add_params(mer_st_writer *w, mer_model *m, const char *prefix, float *const *host)
{
    char name[128];
    for (size_t i = 0; i < mer_model_n_params(m); i++) {
        mer_tensor *p = mer_model_param(m, i);
        int64_t shape[8];
        int nd = mer_tensor_ndim(p);
        for (int d = 0; d < nd; d++)
            shape[d] = mer_tensor_dim_size(p, d);
        snprintf(name, sizeof(name), "%s%s", prefix, mer_model_param_name(m, i));
        if (mer_st_writer_add(w, name, MER_DTYPE_F32, nd, shape, host[i]) < 0)
            return -1;
    }
    return 0;
}

static int add_meta(mer_st_writer *w, const struct mer_checkpoint_meta *meta,
                    const struct mer_checkpoint_optim *opt)
{
    if (mer_st_writer_set_meta(w, "mer.kind", "checkpoint") < 0 ||
        mer_st_writer_set_meta_num(w, "epoch", meta->epoch) < 0 ||
        mer_st_writer_set_meta_num(w, "steps", (double)meta->steps) < 0 ||
        mer_st_writer_set_meta_num(w, "optim_steps", (double)opt->steps) < 0 ||
        mer_st_writer_set_meta_num(w, "best_waf", meta->best_waf) < 0 ||
        mer_st_writer_set_meta_num(w, "best_epoch", meta->best_epoch) < 0 ||
        mer_st_writer_set_meta_num(w, "bad", meta->bad) < 0 ||
        mer_st_writer_set_meta_num(w, "train_seconds", meta->train_seconds) < 0)
        return -1;
    return 0;
}

int mer_checkpoint_save(const char *dir, mer_model *m, const struct mer_snapshot *best,
                        const struct mer_checkpoint_optim *opt,
                        const struct mer_checkpoint_meta *meta)
{
    struct mer_snapshot now = {0};
    mer_st_writer *w = mer_st_writer_new();
    char *path = mer_strfmt("%s/checkpoint.safetensors", dir);
    int64_t osize = (int64_t)opt->size;
    int ret = -1;
    if (!w || !path) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_snapshot_take(&now, m) < 0 || add_params(w, m, "", now.w) < 0 ||
        add_params(w, m, "best/", best->w) < 0 ||
        (osize && mer_st_writer_add(w, "optim", MER_DTYPE_F32, 1, &osize, opt->state) < 0) ||
        add_meta(w, meta, opt) < 0)
        goto done;
    ret = mer_st_writer_write(w, path);
done:
    mer_snapshot_release(&now);
    free(path);
    mer_st_writer_free(w);
    return ret;
}

/* Copies tensors "<prefix><param name>" of a checkpoint into host buffers. */
static int read_params(const mer_st_file *f, mer_model *m, const char *prefix, float **host)
{
    char name[128];
    for (size_t i = 0; i < mer_model_n_params(m); i++) {
        const struct mer_st_tensor *t;
        size_t bytes = (size_t)mer_tensor_numel(mer_model_param(m, i)) * sizeof(float);
        snprintf(name, sizeof(name), "%s%s", prefix, mer_model_param_name(m, i));
        t = mer_st_find(f, name);
        if (!t || t->dtype != MER_DTYPE_F32 || t->nbytes != bytes)
            return mer_error("'%s': tensor '%s' missing or of the wrong shape (config changed?)",
                             mer_st_path(f), name);
        memcpy(host[i], t->data, bytes);
    }
    return 0;
}

static int read_optim(const mer_st_file *f, struct mer_checkpoint_optim *opt)
{
    const struct mer_st_tensor *o = mer_st_find(f, "optim");
    if (opt->size && (!o || o->nbytes != opt->size * sizeof(float)))
        return mer_error("'%s': optimizer state does not fit (config changed?)", mer_st_path(f));
    if (mer_st_meta_int(f, "optim_steps", 0, MER_ST_META_INT_MAX, &opt->steps) < 0)
        return -1;
    if (o)
        memcpy(opt->state, o->data, o->nbytes);
    return 0;
}

/* The counters, each checked for range before it is cast (a damaged file is an error, not
 * undefined behaviour): epochs done, and the best epoch and the count since it within them. */
static int read_meta(const mer_st_file *f, struct mer_checkpoint_meta *meta)
{
    int64_t epoch, best_epoch, bad;
    if (mer_st_meta_int(f, "epoch", 0, INT_MAX, &epoch) < 0 ||
        mer_st_meta_int(f, "best_epoch", 0, epoch, &best_epoch) < 0 ||
        mer_st_meta_int(f, "bad", 0, epoch, &bad) < 0 ||
        mer_st_meta_int(f, "steps", 0, MER_ST_META_INT_MAX, &meta->steps) < 0 ||
        /* -1 until a first validation score (a fold without validation clips keeps it) */
        mer_st_meta_number(f, "best_waf", -1, 1, &meta->best_waf) < 0 ||
        mer_st_meta_number(f, "train_seconds", 0, DBL_MAX, &meta->train_seconds) < 0)
        return -1;
    meta->epoch = (int)epoch;
    meta->best_epoch = (int)best_epoch;
    meta->bad = (int)bad;
    return 0;
}

int mer_checkpoint_load(const char *dir, mer_model *m, struct mer_snapshot *best,
                        struct mer_checkpoint_optim *opt, struct mer_checkpoint_meta *meta)
{
    char *path = mer_strfmt("%s/checkpoint.safetensors", dir);
    struct mer_snapshot now = {0};
    mer_st_file *f = NULL;
    int ret = -1, found;
    if (!path)
        return mer_error("out of memory");
    if ((found = mer_st_open_existing(&f, path, MER_ST_VERIFY)) <= 0) {
        free(path);
        return found;
    }
    if (mer_snapshot_take(&now, m) < 0 || mer_snapshot_take(best, m) < 0 ||
        read_params(f, m, "", now.w) < 0 || read_params(f, m, "best/", best->w) < 0 ||
        read_meta(f, meta) < 0 || mer_snapshot_restore(&now, m) < 0 || read_optim(f, opt) < 0)
        goto done;
    ret = 1;
done:
    mer_snapshot_release(&now);
    mer_st_close(f);
    free(path);
    return ret;
}
