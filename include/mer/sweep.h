/*
 * sweep.h: ablation sweeps: a grid file over a base config, expanded into members (one
 * `mer train` each), recorded in a sweep directory, and each member's state read back from its
 * run directory.
 *
 * A grid file is plain text, one axis a line; the members are every combination (the first
 * axis varies slowest):
 *
 *     # priors x loss x seeds: 2 x 2 x 5 = 20 members
 *     model.prior.mode = none, cross_attention
 *     loss.lambda_inter = 0, 0.35
 *     seed = 0..4                      # seed is train.seed; a..b is an integer range
 *     setting text-only: data.audio = ""; data.video = ""
 *     setting all:                     # named settings form one more axis
 *
 * Values are typed by the config schema, as --set types them (config.h): each is applied to
 * the loaded base config, so an unknown key or a value of the wrong type is refused naming the
 * grid's line. Commas and semicolons inside [...] or "..." do not split.
 *
 *     struct mer_sweep s;
 *     if (mer_sweep_load(&s, "grid.txt", "configs/sample.json") < 0) ...;  // mer_errmsg()
 *     if (mer_sweep_record(&s, "runs/sweep") < 0) ...;   // writes or checks sweep.json
 *     for (size_t i = 0; i < s.n_members; i++)
 *         mer_sweep_state(&s, "runs/sweep", i);          // MER_SWEEP_NEW, ...
 *     mer_sweep_release(&s);
 *
 * Sweep directory layout:
 *   sweep.json              the grid (its path and text), the base config (absolute path and
 *                           the checksum of its resolved JSON), every member's name and
 *                           overrides (mer_sweep_read takes it back)
 *   <member>/               the member's run directory (train.h), plus sweep-member.json: its
 *                           index, name, overrides and named setting (what
 *                           mer report shows as the key "setting")
 *   logs/<member>.log       the member's mer train output (appended on each attempt)
 *   logs/<member>.exit      the exit status of its last attempt ("0", "1", "signal 9")
 *   logs/<member>.fold-K.log  the output of fold K's task (`mer sweep task --fold K`)
 *   slurm/sweep.sbatch      `mer sweep slurm`'s array job script (task i: member i)
 *   slurm/folds.sbatch      `mer sweep slurm --per-fold`'s folds script (task i*F+k: fold k of
 *                           member i, F the most folds a member has)
 */
#ifndef MER_SWEEP_H
#define MER_SWEEP_H

#include "mer/strv.h"

#include <stddef.h>

/* Longest member name; a longer one is cut and ends in '-' and 8 hex digits of its hash. */
#define MER_SWEEP_NAME_MAX 80

struct mer_sweep_member {
    char *name;           /* unique in the sweep, filesystem-safe (owned) */
    struct mer_strv sets; /* "key=value" overrides, in grid order (owned) */
    char *setting;        /* its named setting (owned); NULL in a grid without settings */
};

struct mer_sweep {
    char *grid_path;       /* absolute (owned) */
    char *grid_text;       /* the grid file's text (owned) */
    char *config_path;     /* the base config, absolute (owned) */
    char *config_checksum; /* "xxh64:<16 hex>" of the resolved base config's JSON (owned) */
    struct mer_sweep_member *members;
    size_t n_members;
};
#define MER_SWEEP_INIT                                                                             \
    {                                                                                              \
        NULL, NULL, NULL, NULL, NULL, 0                                                            \
    }

/* Reads the grid, checks every value against the base config and expands the members. -1
 * with one line naming the grid file and line: an unknown key, a value of the wrong type, an
 * empty axis or value, a key given twice, a bad setting name, or two members that resolve to
 * the same config. */
int mer_sweep_load(struct mer_sweep *s, const char *grid_path, const char *config_path);
/* Frees everything; back to MER_SWEEP_INIT. */
void mer_sweep_release(struct mer_sweep *s);

/* Writes dir/sweep.json (creating dir), or, when one is there, checks that it records the same
 * base config and members: a sweep from another grid or base config is refused, naming both. */
int mer_sweep_record(const struct mer_sweep *s, const char *dir);
/* 0 if the base config still resolves to the recorded checksum; else -1 naming it (a member
 * started now would not be the sweep's). */
int mer_sweep_check_config(const struct mer_sweep *s);
/* Reads dir/sweep.json back into s (members, paths, checksum); -1 with the error set. */
int mer_sweep_read(struct mer_sweep *s, const char *dir);

enum mer_sweep_state {
    MER_SWEEP_NEW,         /* nothing written yet */
    MER_SWEEP_INTERRUPTED, /* config.json but no metrics.json: resume it */
    MER_SWEEP_FAILED,      /* its last attempt exited nonzero (logs/<member>.exit) */
    MER_SWEEP_FINISHED,    /* config.json and metrics.json */
};
extern const char *const mer_sweep_state_names[4]; /* "new", "interrupted", ... */

/* Member i's state, from the files in dir. */
enum mer_sweep_state mer_sweep_state(const struct mer_sweep *s, const char *dir, size_t i);
/* 1 if member i's run directory holds a started run (config.json): it is resumed. */
int mer_sweep_started(const struct mer_sweep *s, const char *dir, size_t i);

/* Member i's train.folds (its resolved config); -1 with the error set. */
int mer_sweep_member_folds(const struct mer_sweep *s, size_t i);
/* 1 if fold k of member i is trained (its fold-k/predictions.safetensors), else 0. */
int mer_sweep_fold_finished(const struct mer_sweep *s, const char *dir, size_t i, int k);

/* The arguments after "mer" that run member i: train --config <base> --set k=v... --out
 * <dir>/<member> (--resume when it has started). Appended to argv; -1 on out of memory. */
int mer_sweep_train_argv(const struct mer_sweep *s, const char *dir, size_t i, int resume,
                         struct mer_strv *argv);

/* Before member i starts: dir/<member>/sweep-member.json and the logs folder. */
int mer_sweep_member_prepare(const struct mer_sweep *s, const char *dir, size_t i);
/* New path of member i's log (free with free()); NULL on out of memory. */
char *mer_sweep_log_path(const struct mer_sweep *s, const char *dir, size_t i);
/* Records how member i's attempt ended (a wait status) in logs/<member>.exit. */
int mer_sweep_record_exit(const struct mer_sweep *s, const char *dir, size_t i, int wait_status);
/* How member i's last attempt ended, as logs/<member>.exit says ("exit 1", "signal 9"; "" if
 * it has not ended); returns buf. */
const char *mer_sweep_exit_text(const struct mer_sweep *s, const char *dir, size_t i, char *buf,
                                size_t size);
/* The last non-empty line of member i's log, into buf ("" if none); returns buf. */
const char *mer_sweep_last_log_line(const struct mer_sweep *s, const char *dir, size_t i, char *buf,
                                    size_t size);
/* The last non-empty line of the file at path (a fold's log), into buf; returns buf. */
const char *mer_sweep_last_line(const char *path, char *buf, size_t size);

/* ---- running members (run.c): child processes of the mer binary, N at a time ---- */

enum mer_sweep_event_kind { MER_SWEEP_STARTED, MER_SWEEP_ENDED };
struct mer_sweep_event {
    enum mer_sweep_event_kind kind;
    size_t member;  /* its index in the sweep */
    int resumed;    /* STARTED: it continues a started run (mer train --resume) */
    int status;     /* ENDED: its wait status */
    double seconds; /* ENDED: how long it ran */
    size_t ended;   /* members ended so far, of total */
    size_t total;
};
/* Called for every member started and ended, on the calling thread (it prints). */
typedef void (*mer_sweep_event_fn)(void *ctx, const struct mer_sweep_event *ev);

struct mer_sweep_run_params {
    const char *dir;   /* the sweep directory */
    const char *self;  /* the mer binary the members run (/proc/self/exe) */
    int jobs;          /* members at a time, >= 1 */
    int threads;       /* each member's --threads, >= 1 */
    int deterministic; /* each member's --deterministic */
    int folds;         /* > 0: train only fold `fold` of the member's `folds` (mer train --shard
                          fold/folds, a worker sharing the run directory: no outputs), the output
                          in logs/<member>.fold-<fold>.log, the member's exit left unrecorded */
    int fold;
    mer_sweep_event_fn event;
    void *ctx;
};

/* Runs members idx[0..n) (`<self> train ...`, mer_sweep_train_argv, with --threads, -q, and
 * --resume for a started one; with p->folds, one fold of each), p->jobs at a time, each one's
 * output appended to its log, its exit recorded. *failed gets the count of those that exited
 * nonzero. -1 with the error set only when a member cannot be started or its files written. */
int mer_sweep_run(const struct mer_sweep *s, const struct mer_sweep_run_params *p,
                  const size_t *idx, size_t n, size_t *failed);

/* The indices idx[0..n) as Slurm's --array list: "0-3,5,7-9" (idx ascending). New string. */
char *mer_sweep_array_spec(const size_t *idx, size_t n);

/* One word for a POSIX shell: as is when safe, else in single quotes. New string. */
char *mer_sweep_shell_quote(const char *word);

#endif
