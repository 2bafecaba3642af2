#define _POSIX_C_SOURCE 200809L
#include "mer/rundir.h"
#include "mer/error.h"
#include "mer/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes of the lock file, each a lock of its own: the run, its gather step, fold k. */
enum { LOCK_RUN = 0, LOCK_GATHER = 1, LOCK_FOLD0 = 2 };

static int open_lock(struct mer_run_lock *l, const char *dir)
{
    char *path;
    l->fd = -1;
    if (mer_mkdir_p(dir) < 0)
        return -1;
    if (!(path = mer_path_join(dir, MER_RUN_LOCK_FILE)))
        return mer_error("out of memory");
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (l->fd < 0)
        mer_error("'%s': cannot open the run's lock: %s", path, strerror(errno));
    free(path);
    return l->fd < 0 ? -1 : 0;
}

/* Takes a record lock on one byte without waiting; names the holder when another has it. */
static int lock_byte(struct mer_run_lock *l, const char *dir, short type, off_t byte,
                     const char *what)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
    if (fcntl(l->fd, F_SETLK, &fl) == 0)
        return 0;
    if (errno != EACCES && errno != EAGAIN)
        return mer_error("'%s': cannot lock the run: %s", dir, strerror(errno));
    fl.l_type = type;
    if (fcntl(l->fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
        return mer_error("'%s' is in use: %s is held by another mer (pid %ld)", dir, what,
                         (long)fl.l_pid);
    return mer_error("'%s' is in use: %s is held by another mer", dir, what);
}

static int fail_release(struct mer_run_lock *l)
{
    mer_run_lock_release(l);
    return -1;
}

/* 1 if the lock file at dir still is the file l->fd holds (a run refused before it wrote
 * anything removes its directory, lock file included, while it holds the run exclusively). */
static int lock_file_current(const struct mer_run_lock *l, const char *dir)
{
    struct stat held, now;
    char *path = mer_path_join(dir, MER_RUN_LOCK_FILE);
    int same = path && fstat(l->fd, &held) == 0 && stat(path, &now) == 0 &&
               held.st_dev == now.st_dev && held.st_ino == now.st_ino;
    free(path);
    return same;
}

/* Opens the lock file and locks the run (type: F_WRLCK whole, F_RDLCK shared), again if the
 * file was removed meanwhile; then it is the lock file every other mer sees. */
static int lock_run_byte(struct mer_run_lock *l, const char *dir, short type)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        if (open_lock(l, dir) < 0 || lock_byte(l, dir, type, LOCK_RUN, "the run") < 0)
            return fail_release(l);
        if (lock_file_current(l, dir))
            return 0;
        mer_run_lock_release(l);
    }
    return mer_error("'%s': its lock file keeps being replaced", dir);
}

int mer_run_lock_whole(struct mer_run_lock *l, const char *dir)
{
    if (lock_run_byte(l, dir, F_WRLCK) < 0)
        return -1;
    l->whole = 1;
    return 0;
}

int mer_run_lock_shard(struct mer_run_lock *l, const char *dir, int folds, int shard_index,
                       int shard_count)
{
    char what[32];
    if (lock_run_byte(l, dir, F_RDLCK) < 0)
        return -1;
    for (int k = shard_index; k < folds; k += shard_count) {
        snprintf(what, sizeof(what), "fold %d", k);
        if (lock_byte(l, dir, F_WRLCK, LOCK_FOLD0 + k, what) < 0)
            return fail_release(l);
    }
    return 0;
}

int mer_run_lock_gather(struct mer_run_lock *l, const char *dir)
{
    if (lock_run_byte(l, dir, F_RDLCK) < 0 ||
        lock_byte(l, dir, F_WRLCK, LOCK_GATHER, "the run") < 0)
        return fail_release(l);
    return 0;
}

void mer_run_lock_release(struct mer_run_lock *l)
{
    if (l->fd >= 0)
        close(l->fd); /* drops every record lock this process holds on the file */
    l->fd = -1;
    l->whole = 0;
}

void mer_run_lock_discard(struct mer_run_lock *l, const char *dir)
{
    char *path = l->whole ? mer_path_join(dir, MER_RUN_LOCK_FILE) : NULL;
    if (path && unlink(path) == 0) /* under the lock: a waiting mer sees it gone, and retries */
        rmdir(dir);                /* fails, as it should, if anything else is there */
    free(path);
    mer_run_lock_release(l);
}

/* ---- what mer writes ---- */

/* The pid of "<base>.tmp.<pid>", or 0 if name is not such a temporary file; *base_len gets
 * the length of <base>. */
static long tmp_pid(const char *name, size_t *base_len)
{
    const char *t = strstr(name, ".tmp.");
    char *end;
    long pid;
    if (!t)
        return 0;
    while (strstr(t + 1, ".tmp."))
        t = strstr(t + 1, ".tmp.");
    if (!t[5] || t[5] < '0' || t[5] > '9')
        return 0;
    pid = strtol(t + 5, &end, 10);
    if (*end || pid <= 0)
        return 0;
    *base_len = (size_t)(t - name);
    return pid;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && !memcmp(s + len - n, suffix, n);
}

static int one_of(const char *s, size_t len, const char *const *names)
{
    for (; *names; names++)
        if (strlen(*names) == len && !memcmp(s, *names, len))
            return 1;
    return 0;
}

enum place { ROOT, PREDICTIONS, FOLD };

/* 1 if mer writes a file of this name (or its temporary file) in that place. */
static int written_by_mer(const char *name, enum place where)
{
    static const char *const root[] = {
        "config.json", "folds.json", "metrics.json", "stores.json", "standardize.safetensors",
        NULL};
    static const char *const fold[] = {"model.safetensors",       "checkpoint.safetensors",
                                       "predictions.safetensors", "log.jsonl",
                                       "pretrain.jsonl",          NULL};
    size_t len = strlen(name);
    tmp_pid(name, &len);
    switch (where) {
    case ROOT:
        return one_of(name, len, root) ||
               (!strncmp(name, "submission-", 11) && ends_with(name, len, ".csv"));
    case PREDICTIONS:
        return len > 4 && ends_with(name, len, ".csv");
    case FOLD:
        return one_of(name, len, fold);
    }
    MER_BUG("unknown place %d", (int)where);
}

/* k if name is "fold-<k>", else -1. */
static int fold_number(const char *name)
{
    char *end;
    long k;
    if (strncmp(name, "fold-", 5) || name[5] < '0' || name[5] > '9')
        return -1;
    k = strtol(name + 5, &end, 10);
    return *end || k > 1 << 20 ? -1 : (int)k;
}

static int pid_alive(long pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* What to remove from one folder. */
enum sweep { SWEEP_MER_FILES, SWEEP_STALE_TMP };

/* Removes, in dir, the files of `where` that the sweep selects; counts them in *n. */
static int sweep_dir(const char *dir, enum place where, enum sweep what, int *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int ret = 0;
    if (!d)
        return errno == ENOENT || errno == ENOTDIR
                   ? 0
                   : mer_error("'%s': cannot list: %s", dir, strerror(errno));
    while (ret == 0 && (e = readdir(d))) {
        size_t base;
        long pid = tmp_pid(e->d_name, &base);
        char *path;
        int pick =
            what == SWEEP_MER_FILES ? written_by_mer(e->d_name, where) : pid > 0 && !pid_alive(pid);
        if (!pick)
            continue;
        if (!(path = mer_path_join(dir, e->d_name)))
            ret = mer_error("out of memory");
        else if (unlink(path) < 0 && errno != ENOENT)
            ret = mer_error("'%s': cannot remove: %s", path, strerror(errno));
        else
            *n += 1;
        free(path);
    }
    closedir(d);
    return ret;
}

/* Sweeps dir/sub (a predictions or fold folder), then removes it if that left it empty. */
static int sweep_subdir(const char *dir, const char *sub, enum place where, enum sweep what, int *n)
{
    char *path = mer_path_join(dir, sub);
    int ret;
    if (!path)
        return mer_error("out of memory");
    ret = sweep_dir(path, where, what, n);
    if (ret == 0 && what == SWEEP_MER_FILES)
        rmdir(path); /* fails, as it should, when anything else is left there */
    free(path);
    return ret;
}

/* Sweeps the run's root, predictions/ and the fold-K folders selected by the shard. */
static int sweep_run(const char *dir, int root, int shard_index, int shard_count, enum sweep what,
                     int *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int ret = 0;
    if (!d)
        return errno == ENOENT ? 0 : mer_error("'%s': cannot list: %s", dir, strerror(errno));
    while (ret == 0 && (e = readdir(d))) {
        int k = fold_number(e->d_name);
        if (k >= 0 && k % shard_count == shard_index)
            ret = sweep_subdir(dir, e->d_name, FOLD, what, n);
        else if (root && !strcmp(e->d_name, "predictions"))
            ret = sweep_subdir(dir, e->d_name, PREDICTIONS, what, n);
    }
    closedir(d);
    return ret == 0 && root ? sweep_dir(dir, ROOT, what, n) : ret;
}

int mer_run_clear(const char *dir)
{
    int n = 0;
    return sweep_run(dir, 1, 0, 1, SWEEP_MER_FILES, &n);
}

int mer_run_clear_folds(const char *dir, int shard_index, int shard_count)
{
    int n = 0;
    return sweep_run(dir, 0, shard_index, shard_count, SWEEP_MER_FILES, &n);
}

int mer_run_drop_checkpoints(const char *dir, int folds)
{
    for (int k = 0; k < folds; k++) {
        char *path = mer_strfmt("%s/fold-%d/checkpoint.safetensors", dir, k);
        int gone = path && (unlink(path) == 0 || errno == ENOENT);
        if (!gone)
            mer_error("'%s': cannot remove: %s", path ? path : dir,
                      path ? strerror(errno) : "out of memory");
        free(path);
        if (!gone)
            return -1;
    }
    return 0;
}

int mer_run_remove_stale_tmp(const char *dir, int shard_index, int shard_count, int *removed)
{
    int n = 0,
        ret = sweep_run(dir, shard_count <= 1, shard_index, shard_count, SWEEP_STALE_TMP, &n);
    if (removed)
        *removed = n;
    return ret;
}

int mer_run_fold_status(const char *dir, int k, struct mer_fold_status *st)
{
    char *log = mer_strfmt("%s/fold-%d/log.jsonl", dir, k);
    char *done = mer_strfmt("%s/fold-%d/predictions.safetensors", dir, k);
    char line[4096];
    FILE *f;
    int ret = 0;
    st->epochs = st->finished = 0;
    st->best_val_waf = -1;
    if (!log || !done) {
        ret = mer_error("out of memory");
        goto out;
    }
    st->finished = mer_path_exists(done);
    if (!(f = mer_fopen_regular(log))) { /* not there yet (or not a file): nothing to show */
        mer_error_clear();
        goto out;
    }
    while (fgets(line, sizeof(line), f)) {
        const char *v = strstr(line, "\"val_waf\": ");
        if (!strchr(line, '\n'))
            break; /* a line still being written */
        st->epochs++;
        if (v && strtod(v + 11, NULL) > st->best_val_waf)
            st->best_val_waf = strtod(v + 11, NULL);
    }
    fclose(f);
out:
    free(log);
    free(done);
    return ret;
}
