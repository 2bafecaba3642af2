/* mer train: k-fold training of the prior-fusion model from a config. */
#include "cmd/cmd.h"
#include "mer/config.h"
#include "mer/dataset.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/opt.h"
#include "mer/torch.h"
#include "mer/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const usage[] = {
    "mer train --config <file> [--set <key>=<value>]... [--out runs/<name>] [options]",
    NULL,
};

struct train_opts {
    const char *config, *out, *device;
    struct mer_strlist sets;
    int threads, seed, fold, deterministic, force, quiet, print_config;
};

static void print_summary(const struct mer_train_summary *s, const struct mer_train_params *p)
{
    printf("\n%-7s %9s %10s\n", "fold", "val WAF", "best epoch");
    for (int k = 0; k < s->folds; k++)
        if (p->only_fold < 0 || p->only_fold == k)
            printf("fold-%-2d %9.4f %10d\n", k, s->fold_waf[k], s->fold_best_epoch[k]);
    printf("\ncross-validated (out-of-fold) on '%s': WAF %.4f  accuracy %.4f  macro-F1 %.4f\n",
           p->train_split, s->cv_waf, s->cv_acc, s->cv_macro_f1);
    printf("training speed: %.1f steps/s\n", s->steps_per_second);
}

/* Refuses to overwrite a finished or running run unless --force. */
static int prepare_run_dir(const char *dir, int force)
{
    char *cfg = mer_path_join(dir, "config.json");
    int exists = cfg && mer_path_exists(cfg);
    free(cfg);
    if (exists && !force)
        return mer_error("'%s' already holds a run (use --force to overwrite, or another --out)",
                         dir);
    return mer_mkdir_p(dir);
}

/* eval.splits, or every split of the data other than the training split. */
static size_t test_splits(const mer_config *cfg, const struct mer_dataset *ds, const char *train,
                          const char **out, size_t max)
{
    size_t n = 0, listed = mer_config_list_size(cfg, "eval.splits");
    for (size_t i = 0; i < listed && n < max; i++)
        out[n++] = mer_config_list_item(cfg, "eval.splits", i);
    for (int s = 0; !listed && s < ds->n_splits && n < max; s++)
        if (strcmp(ds->splits[s], train))
            out[n++] = ds->splits[s];
    return n;
}

/* --device, else train.device (auto = cuda when available). */
static int select_device(const mer_config *cfg, const char *flag)
{
    const char *dev = flag ? flag : mer_config_string(cfg, "train.device");
    if (!strcmp(dev, "auto"))
        dev = mer_torch_cuda_available() ? "cuda" : "cpu";
    return mer_torch_set_device(dev);
}

static int run(struct train_opts *o)
{
    mer_config *cfg = NULL;
    struct mer_dataset *ds = NULL;
    struct mer_dataset_params dp;
    struct mer_train_params tp;
    struct mer_train_summary sum;
    const char *tests[16];
    char *cfg_path = NULL;
    int ret = -1;
    if (mer_config_load(&cfg, o->config, o->sets.items, o->sets.n) < 0)
        goto done;
    if (o->print_config) {
        char *text = mer_config_to_json(cfg);
        puts(text ? text : "");
        free(text);
        ret = 0;
        goto done;
    }
    if (mer_train_params_from_config(cfg, &tp, &dp) < 0)
        goto done;
    if (o->seed >= 0)
        tp.seed = (uint64_t)o->seed;
    tp.only_fold = o->fold;
    tp.quiet = o->quiet;
    tp.run_dir = o->out;
    mer_torch_set_threads(o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
    if (select_device(cfg, o->device) < 0 ||
        ((o->deterministic || mer_config_bool(cfg, "train.deterministic")) &&
         mer_torch_set_deterministic(1) < 0))
        goto done;
    if (mer_dataset_load(&ds, &dp) < 0 || prepare_run_dir(o->out, o->force) < 0)
        goto done;
    tp.test_splits = tests;
    tp.n_test_splits = test_splits(cfg, ds, tp.train_split, tests, MER_ARRAY_SIZE(tests));
    cfg_path = mer_path_join(o->out, "config.json");
    if (!cfg_path || mer_config_write(cfg, cfg_path) < 0 || mer_train_run(ds, &tp, &sum) < 0)
        goto done;
    if (!o->quiet)
        print_summary(&sum, &tp);
    ret = 0;
done:
    free(cfg_path);
    mer_dataset_free(ds);
    mer_config_free(cfg);
    return ret;
}

int cmd_train(int argc, const char **argv)
{
    struct train_opts o = {0};
    int n, ret;
    struct mer_option opts[] = {
        MER_OPT_STRING('c', "config", &o.config, "file", "JSON config (see configs/README.md)"),
        MER_OPT_LIST(0, "set", &o.sets, "key=value", "override a config key (repeatable)"),
        MER_OPT_STRING('o', "out", &o.out, "dir", "run directory (default runs/<config name>)"),
        MER_OPT_INT(0, "seed", &o.seed, "override train.seed"),
        MER_OPT_INT(0, "fold", &o.fold, "train only this fold (0-based)"),
        MER_OPT_INT('j', "threads", &o.threads, "libtorch threads (default: all cores)"),
        MER_OPT_STRING(0, "device", &o.device, "cpu|cuda:N", "where to train (default cpu)"),
        MER_OPT_BOOL(0, "deterministic", &o.deterministic, "deterministic algorithms only"),
        MER_OPT_BOOL(0, "force", &o.force, "overwrite an existing run directory"),
        MER_OPT_BOOL(0, "print-config", &o.print_config, "print the resolved config and stop"),
        MER_OPT_BOOL('q', "quiet", &o.quiet, "no progress or summary"),
        MER_OPT_END(),
    };
    char *default_out = NULL;
    o.seed = -1;
    o.fold = -1;
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0) {
        ret = mer_opt_exit_code(n);
        goto done;
    }
    if (n > 0 || !o.config) {
        ret = mer_usage_error("train", n > 0 ? "unexpected argument '%s'" : "no --config given%s",
                              n > 0 ? argv[0] : "");
        goto done;
    }
    if (!o.out) {
        const char *base = strrchr(o.config, '/') ? strrchr(o.config, '/') + 1 : o.config;
        size_t len = strlen(base);
        if (len > 5 && !strcmp(base + len - 5, ".json"))
            len -= 5;
        default_out = mer_strfmt("runs/%.*s", (int)len, base);
        o.out = default_out;
    }
    ret = run(&o) < 0 ? cmd_fail("train") : 0;
done:
    free(default_out);
    mer_strlist_release(&o.sets);
    return ret;
}
