/*
 * rundir.h: owning a run directory: its lock, and what mer wrote there.
 *
 * A run directory is locked for the lifetime of the process that writes it, with POSIX
 * record locks on "<dir>/.mer-lock" (fcntl: the kernel drops them when the process dies, so
 * kill -9 frees the run, and they work over NFS, where Slurm clusters keep their runs):
 *   - a whole run (mer train, mer train --resume, --fold K) locks it exclusively;
 *   - a worker of a sharded run (--shard i/n: a --jobs worker or a Slurm array task) shares
 *     the run with the other workers and locks its own folds exclusively;
 *   - a --jobs parent shares the run with its workers and locks the gather exclusively.
 * A second writer gets one line naming the holder's pid:
 *
 *     struct mer_run_lock lock = MER_RUN_LOCK_INIT;
 *     if (mer_run_lock_whole(&lock, "runs/x") < 0) ...;  // 'runs/x' is in use by mer (pid 4242)
 *     ...
 *     mer_run_lock_release(&lock);
 *
 * mer_run_clear removes what mer writes in a run directory, by name, and nothing else
 * (--force); mer_run_remove_stale_tmp removes the temporary files of writers that died
 * (kill -9 between write and rename), which --resume does before it continues.
 */
#ifndef MER_RUNDIR_H
#define MER_RUNDIR_H

struct mer_run_lock {
    int fd;    /* -1 when not held */
    int whole; /* the whole run is held (mer_run_lock_whole) */
};
#define MER_RUN_LOCK_INIT                                                                          \
    {                                                                                              \
        -1, 0                                                                                      \
    }

/* The lock file's name inside a run directory (never cleared). */
#define MER_RUN_LOCK_FILE ".mer-lock"

/* Locks the whole run (creating dir and lock file as needed); -1 with the error set. */
int mer_run_lock_whole(struct mer_run_lock *l, const char *dir);
/* Shares the run and locks folds k < folds with k % shard_count == shard_index. */
int mer_run_lock_shard(struct mer_run_lock *l, const char *dir, int folds, int shard_index,
                       int shard_count);
/* Shares the run and locks its gather step (a --jobs parent, whose workers lock the folds). */
int mer_run_lock_gather(struct mer_run_lock *l, const char *dir);
/* Releases the locks (and closes the file); accepts a lock never taken. */
void mer_run_lock_release(struct mer_run_lock *l);
/* For a run refused before it wrote anything into a directory it made: removes the lock file
 * and the directory if that leaves it empty (only while holding the whole run, so no other
 * mer's lock is lost: one that opened the old file sees it replaced and locks again), then
 * releases. Otherwise the same as mer_run_lock_release. */
void mer_run_lock_discard(struct mer_run_lock *l, const char *dir);

/* Removes every file mer writes in a run directory (config.json, folds.json, metrics.json,
 * submission-*.csv, predictions/<split>.csv, fold-K/{model,checkpoint,predictions}.safetensors,
 * fold-K/{log,pretrain}.jsonl, and their stale temporary files), then the folders left
 * empty; anything else stays. 0 or -1 with the error set. */
int mer_run_clear(const char *dir);
/* The same for the fold folders of one shard (k % shard_count == shard_index) only. */
int mer_run_clear_folds(const char *dir, int shard_index, int shard_count);

/* Removes fold-K/checkpoint.safetensors for every fold K < folds (none there is fine): what
 * train.keep_checkpoints=false does once a run has finished. 0 or -1 with the error set. */
int mer_run_drop_checkpoints(const char *dir, int folds);

/* Removes "<file>.tmp.<pid>" files whose pid is no longer running: in dir, dir/predictions
 * and every dir/fold-K for a whole run (shard_count 1); in the shard's own fold folders only
 * for a worker (another node's live worker may own a tmp file whose pid is not running
 * here). *removed (if not NULL) gets their count. 0 or -1 with the error set. */
int mer_run_remove_stale_tmp(const char *dir, int shard_index, int shard_count, int *removed);

/* How far fold k of a run has come, read from its files (what another process writes). */
struct mer_fold_status {
    int epochs;          /* epochs in fold-K/log.jsonl */
    int finished;        /* fold-K/predictions.safetensors exists */
    double best_val_waf; /* the best val_waf logged so far; -1 before the first epoch */
};
/* Fills st; a fold not started yet is all zeros (best -1). -1 only when out of memory. */
int mer_run_fold_status(const char *dir, int k, struct mer_fold_status *st);

#endif
