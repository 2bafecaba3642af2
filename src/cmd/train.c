/* mer train: k-fold training of the prior-fusion model from a config. */
#include "cmd/cmd.h"
#include "mer/config.h"
#include "mer/dataset.h"
#include "mer/outputs.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/opt.h"
#include "mer/progress.h"
#include "mer/rundir.h"
#include "mer/settings.h"
#include "mer/torch.h"
#include "mer/train.h"

#include <cblas.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *const usage[] = {
    "mer train --config <file> [--set <key>=<value>]... [--out runs/<name>] [options]",
    "mer train --resume --out runs/<name> [options]",
    NULL,
};

/* The command line: what picks the config, and the run's options (train.h), which the option
 * table fills. */
struct train_opts {
    const char *config;
    struct mer_strlist sets;
    int seed, print_config;
    char seed_set[64];
    struct mer_shard shard; /* --shard, into run's shard_index and shard_count */
    struct mer_run_options run;
};

static void print_summary(const struct mer_train_summary *s, const struct mer_train_params *p,
                          const struct mer_run_options *r)
{
    printf("\n%-7s %9s %10s\n", "fold", "val WAF", "best epoch");
    for (int k = 0; k < s->folds; k++)
        if (r->only_fold < 0 || r->only_fold == k)
            printf("fold-%-2d %9.4f %10d\n", k, s->fold_waf[k], s->fold_best_epoch[k]);
    printf("\ncross-validated (out-of-fold) on '%s': WAF %.4f  accuracy %.4f  macro-F1 %.4f\n",
           p->train_split, s->cv_waf, s->cv_acc, s->cv_macro_f1);
    for (size_t t = 0; t < s->n_test; t++)
        printf("test split '%s' (%zu samples, fold ensemble): WAF %.4f  accuracy %.4f  "
               "macro-F1 %.4f\n",
               s->test[t].split, s->test[t].n, s->test[t].waf, s->test[t].acc, s->test[t].macro_f1);
    printf("training speed: %.1f steps/s\n", s->steps_per_second);
}

/* The run directory is this process's alone (a sharded run's workers share it, each with
 * its folds): a second mer on it is refused, naming the first's pid. */
static int lock_run(const struct mer_run_options *r, int folds, struct mer_run_lock *lock)
{
    if (r->jobs > 1) /* this process gathers; its workers lock their folds */
        return mer_run_lock_gather(lock, r->run_dir);
    if (r->shard_count > 1)
        return mer_run_lock_shard(lock, r->run_dir, folds, r->shard_index, r->shard_count);
    return mer_run_lock_whole(lock, r->run_dir);
}

/* A fresh run (--force over an old one) starts from nothing mer wrote before, a worker's from
 * none of its folds; a resumed one drops the temporary files of writers that were killed. */
static int clean_run_dir(const struct mer_run_options *r)
{
    if (r->resume)
        return mer_run_remove_stale_tmp(r->run_dir, r->shard_index, r->shard_count, NULL);
    if (r->shard_count > 1)
        return mer_run_clear_folds(r->run_dir, r->shard_index, r->shard_count);
    return mer_run_clear(r->run_dir);
}

/* Refuses to overwrite a run unless --force; --resume needs one whose config is unchanged.
 * Runs under the run's lock, so no other mer can start the same run meanwhile. */
static int prepare_run_dir(const struct mer_run_options *r, const mer_config *cfg)
{
    const char *dir = r->run_dir;
    char *path = mer_path_join(dir, "config.json"), *diff = NULL;
    mer_config *saved = NULL;
    int exists = path && mer_path_exists(path), ret = -1;
    /* Workers of one sharded run (--shard i/n, e.g. a Slurm array) share its directory. */
    int joins = r->resume || (r->shard_count > 1 && exists);
    if (r->resume && !exists)
        mer_error("'%s' holds no run to resume (no config.json)", dir);
    else if (!joins && exists && !r->force)
        mer_error("'%s' already holds a run (--resume continues it, --force overwrites it)", dir);
    else if (joins &&
             (mer_config_load(&saved, path, NULL, 0) < 0 || !(diff = mer_config_diff(saved, cfg))))
        ;
    else if (diff && *diff)
        mer_error("'%s': the config changed since the run started (%s); resume refused", path,
                  diff);
    else
        ret = 0;
    free(diff);
    free(path);
    mer_config_free(saved);
    return ret;
}

/* The progress line of a run whose folds other processes train: every fold's epochs so far
 * (from the fold logs they write), and the best validation WAF yet. */
static void show_folds(struct mer_progress *bar, const char *dir, const struct mer_train_params *tp)
{
    char note[sizeof(bar->note)];
    int64_t done = 0;
    double best = -1;
    size_t len = 0;
    for (int k = 0; k < tp->folds && len < sizeof(note); k++) {
        struct mer_fold_status st;
        if (mer_run_fold_status(dir, k, &st) < 0)
            return;
        done += st.finished ? tp->epochs : st.epochs;
        best = st.best_val_waf > best ? st.best_val_waf : best;
        len += (size_t)(st.finished
                            ? snprintf(note + len, sizeof(note) - len, "f%d done ", k)
                            : snprintf(note + len, sizeof(note) - len, "f%d %d ", k, st.epochs));
    }
    if (best >= 0 && len < sizeof(note))
        snprintf(note + len, sizeof(note) - len, " best val WAF %.4f", best);
    mer_progress_note(bar, "%s", note);
    mer_progress_update(bar, done);
}

/* Waits for the workers, showing the run's progress meanwhile; 1 + the index of a worker that
 * failed, or 0. */
static int watch_workers(const struct mer_run_options *r, const struct mer_train_params *tp,
                         const pid_t *pids, int n)
{
    struct mer_progress bar;
    int exited[MER_MAX_FOLDS] = {0}, left = n, failed = 0;
    mer_progress_quiet(r->quiet);
    mer_progress_start(&bar, "training", (int64_t)tp->folds * tp->epochs, "epochs");
    while (left > 0) {
        for (int j = 0; j < n; j++) {
            int status = 0;
            pid_t got = exited[j] ? 0 : waitpid(pids[j], &status, WNOHANG);
            if (got == 0)
                continue;
            exited[j] = 1;
            left--;
            if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                failed = j + 1;
        }
        show_folds(&bar, r->run_dir, tp);
        if (left > 0)
            nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    }
    mer_progress_finish(&bar);
    return failed;
}

/* --jobs N: N workers (this binary, --shard j/N) train disjoint folds, in parallel processes. */
static int run_workers(const struct mer_run_options *r, const struct mer_train_params *tp,
                       const char *cfg_path)
{
    /* At most one worker per fold: --jobs is bounded by the most folds a run has. */
    char self[4096], shard[MER_MAX_FOLDS][32], threads[16];
    pid_t pids[MER_MAX_FOLDS];
    int started = 0, n = r->jobs > MER_MAX_FOLDS ? MER_MAX_FOLDS : r->jobs, failed;
    if (mer_self_exe(self, sizeof(self)) < 0)
        return -1;
    snprintf(threads, sizeof(threads), "%d", r->threads > n ? r->threads / n : 1);
    for (int j = 0; j < n; j++, started++) {
        const char *argv[16] = {self,    "train",    "--config", cfg_path,
                                "--out", r->run_dir, "--resume", "--threads",
                                threads, "--shard",  shard[j],   "-q"};
        int a = 12;
        snprintf(shard[j], sizeof(shard[j]), "%d/%d", j, n);
        if (r->deterministic)
            argv[a++] = "--deterministic";
        if (r->device) {
            argv[a++] = "--device";
            argv[a++] = r->device;
        }
        if (posix_spawn(&pids[j], self, NULL, NULL, (char *const *)argv, environ) != 0)
            break;
    }
    failed = watch_workers(r, tp, pids, started);
    if (started < n)
        return mer_error("cannot start worker %d of %d", started, n);
    return failed ? mer_error("worker %d of %d failed (its error is above)", failed - 1, n) : 0;
}

/* Every store the config names can be opened: else an error naming the key and the config
 * that set it, before anything is loaded. */
static int check_data_paths(const mer_config *cfg, const struct mer_dataset_params *dp)
{
    static const char *const keys[] = {"data.audio", "data.video", "data.text", "data.labels",
                                       "data.priors"};
    for (size_t i = 0; i < MER_ARRAY_SIZE(keys); i++)
        if (mer_config_check_path(cfg, keys[i]) < 0)
            return -1;
    if (dp->pseudo_labels && mer_config_check_path(cfg, "train.pretrain.pseudo_labels") < 0)
        return -1;
    return 0;
}

/* --fold and --shard name folds: below train.folds, known once the config is (exit 2). */
static int check_fold_options(const struct mer_run_options *r, int folds)
{
    if (r->only_fold >= folds)
        return mer_usage_error(
            "train",
            "option '--fold': expected an integer in [0, %d] (train.folds is %d), got '%d'",
            folds - 1, folds, r->only_fold);
    if (r->shard_index >= folds)
        return mer_usage_error("train",
                               "option '--shard': '%d/%d' trains no fold (train.folds is %d)",
                               r->shard_index, r->shard_count, folds);
    return 0;
}

/* --device, else train.device (auto = cuda when available); then train.engine (auto = the
 * plain-C step on the CPU, which is faster there than libtorch's autograd). */
static int select_device(struct mer_settings *s, const char *flag)
{
    const char *dev = mer_settings_device(s, flag, mer_torch_cuda_available());
    if (mer_settings_select_engine(s, dev) < 0)
        return -1;
    return mer_torch_set_device(dev);
}

static int run(struct train_opts *o)
{
    const struct mer_run_options *r = &o->run;
    mer_config *cfg = NULL;
    struct mer_dataset *ds = NULL;
    struct mer_settings set;
    struct mer_train_params *tp = &set.train;
    struct mer_train_summary sum;
    struct mer_run_lock lock = MER_RUN_LOCK_INIT;
    char *cfg_path = NULL;
    int ret = -1, threads, created = 0;
    if (r->resume && !o->config) { /* resume with the run's own config */
        o->config = cfg_path = mer_path_join(r->run_dir, "config.json");
        if (cfg_path && !mer_path_exists(cfg_path)) {
            mer_error("'%s' holds no run to resume (no config.json)", r->run_dir);
            goto done;
        }
    }
    if (mer_config_load(&cfg, o->config, o->sets.items, o->sets.n) < 0)
        goto done;
    if (o->print_config) {
        char *text = mer_config_to_json(cfg);
        puts(text ? text : "");
        free(text);
        ret = 0;
        goto done;
    }
    if (mer_settings_from_config(cfg, &set) < 0 || check_data_paths(cfg, &set.data) < 0)
        goto done;
    if (check_fold_options(r, tp->folds)) {
        ret = 2;
        goto done;
    }
    threads = r->threads > 0 ? r->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    /* One count for libtorch and for OpenBLAS under it: OpenBLAS starts a thread per core, and
     * spare ones spin in sched_yield (a fifth of a one-thread step, measured). */
    mer_torch_set_threads(threads);
    openblas_set_num_threads(threads);
    if (select_device(&set, r->device) < 0 ||
        ((r->deterministic || set.device.deterministic) && mer_torch_set_deterministic(1) < 0))
        goto done;
    created = !mer_path_exists(r->run_dir);
    if (lock_run(r, tp->folds, &lock) < 0 || prepare_run_dir(r, cfg) < 0 ||
        mer_dataset_load(&ds, &set.data) < 0 || mer_settings_resolve_splits(&set, cfg, ds) < 0)
        goto done;
    /* Warnings before training starts; a worker leaves them to the process gathering folds. */
    if (r->quiet && r->shard_count > 1)
        mer_warn_clear();
    cmd_warnings("train");
    created = 0; /* from here on the run directory holds a run */
    free(cfg_path);
    cfg_path = mer_path_join(r->run_dir, "config.json");
    if (!cfg_path || clean_run_dir(r) < 0 || (!r->resume && mer_config_write(cfg, cfg_path) < 0))
        goto done;
    /* what mer predict makes again for new clips; a worker leaves it to the whole run */
    if (r->shard_count <= 1 && mer_run_stores_write(r->run_dir, &set.data, ds) < 0)
        goto done;
    if (r->jobs > 1) { /* the workers train; this process gathers their folds */
        if (run_workers(r, tp, cfg_path) < 0)
            goto done;
        o->run.resume = 1;
    }
    if (mer_train_run(ds, tp, r, &sum) < 0)
        goto done;
    if (!r->quiet && r->shard_count <= 1)
        print_summary(&sum, tp, r);
    ret = 0;
done:
    if (created) /* refused before anything was written: leave no empty run behind */
        mer_run_lock_discard(&lock, r->run_dir);
    mer_run_lock_release(&lock);
    free(cfg_path);
    mer_dataset_free(ds);
    mer_config_free(cfg);
    return ret;
}

int cmd_train(int argc, const char **argv)
{
    struct train_opts o = {.seed = -1, .shard = MER_SHARD_ALL, .run = MER_RUN_OPTIONS_INIT};
    int n, ret;
    struct mer_option opts[] = {
        MER_OPT_STRING('c', "config", &o.config, "file", "JSON config (see configs/README.md)"),
        MER_OPT_LIST(0, "set", &o.sets, "key=value", "override a config key (repeatable)"),
        MER_OPT_STRING('o', "out", &o.run.run_dir, "dir",
                       "run directory (default runs/<config name>)"),
        MER_OPT_INT_RANGE(0, "seed", &o.seed, "[0,)", "override train.seed"),
        MER_OPT_INT_RANGE(0, "fold", &o.run.only_fold, "[0,31]",
                          "train only this fold (0-based, below train.folds)"),
        MER_OPT_BOOL(0, "resume", &o.run.resume,
                     "continue an interrupted run from its last epoch (same config)"),
        MER_OPT_INT_RANGE(0, "jobs", &o.run.jobs, "[1,32]",
                          "train folds in this many parallel processes"),
        MER_OPT_SHARD(0, "shard", &o.shard, "train only folds k with k % n == i (no outputs)"),
        MER_OPT_INT_RANGE('j', "threads", &o.run.threads, "[1,1024]",
                          "libtorch and OpenBLAS threads (default: all cores)"),
        MER_OPT_STRING(0, "device", &o.run.device, "auto|cpu|cuda:N",
                       "where to train (default train.device, auto: cuda if available)"),
        MER_OPT_BOOL(0, "deterministic", &o.run.deterministic, "deterministic algorithms only"),
        MER_OPT_BOOL(0, "force", &o.run.force, "overwrite an existing run directory"),
        MER_OPT_BOOL(0, "print-config", &o.print_config, "print the resolved config and stop"),
        MER_OPT_BOOL('q', "quiet", &o.run.quiet, "no progress or summary"),
        MER_OPT_END(),
    };
    char *default_out = NULL;
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0) {
        ret = mer_opt_exit_code(n);
        goto done;
    }
    o.run.shard_index = o.shard.index;
    o.run.shard_count = o.shard.count;
    if (o.seed >= 0) { /* --seed is train.seed, so the resolved config records it */
        snprintf(o.seed_set, sizeof(o.seed_set), "train.seed=%d", o.seed);
        mer_strlist_push(&o.sets, o.seed_set);
    }
    if (o.run.resume && !o.run.run_dir) {
        ret = mer_usage_error("train", "--resume needs --out <run directory>");
        goto done;
    }
    if (n > 0 || (!o.config && !o.run.resume)) {
        ret = mer_usage_error("train", n > 0 ? "unexpected argument '%s'" : "no --config given%s",
                              n > 0 ? argv[0] : "");
        goto done;
    }
    if (!o.run.run_dir) {
        const char *base = strrchr(o.config, '/') ? strrchr(o.config, '/') + 1 : o.config;
        size_t len = strlen(base);
        if (len > 5 && !strcmp(base + len - 5, ".json"))
            len -= 5;
        default_out = mer_strfmt("runs/%.*s", (int)len, base);
        o.run.run_dir = default_out;
    }
    ret = run(&o); /* 0, -1 (runtime error) or 2 (usage error, printed) */
    ret = ret < 0 ? cmd_fail("train") : ret;
done:
    free(default_out);
    mer_strlist_release(&o.sets);
    return ret;
}
