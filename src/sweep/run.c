/* Running a sweep's members as child processes, N at a time (sweep.h). */
#include "mer/sweep.h"

#include "mer/error.h"
#include "mer/fs.h"
#include "mer/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct slot {
    pid_t pid; /* 0 when free */
    size_t member;
    double t_start;
};

/* The child's argv: <self> train ... --threads T -q [--deterministic] [--shard k/F]. */
static int child_argv(const struct mer_sweep *s, const struct mer_sweep_run_params *p, size_t i,
                      int resume, struct mer_strv *argv)
{
    char threads[16], shard[32];
    snprintf(threads, sizeof(threads), "%d", p->threads);
    snprintf(shard, sizeof(shard), "%d/%d", p->fold, p->folds);
    if (mer_strv_push(argv, p->self, strlen(p->self)) < 0 ||
        mer_sweep_train_argv(s, p->dir, i, resume, argv) < 0 ||
        mer_strv_push(argv, "--threads", 9) < 0 || mer_strv_push(argv, threads, strlen(threads)) ||
        mer_strv_push(argv, "-q", 2) < 0 ||
        (p->deterministic && mer_strv_push(argv, "--deterministic", 15) < 0) ||
        (p->folds > 0 &&
         (mer_strv_push(argv, "--shard", 7) < 0 || mer_strv_push(argv, shard, strlen(shard)) < 0)))
        return -1;
    return 0;
}

/* Where the child's output goes: the member's log, or its fold's (fold tasks run at once). */
static char *log_path(const struct mer_sweep *s, const struct mer_sweep_run_params *p, size_t i)
{
    if (p->folds > 0)
        return mer_strfmt("%s/logs/%s.fold-%d.log", p->dir, s->members[i].name, p->fold);
    return mer_sweep_log_path(s, p->dir, i);
}

/* Starts member i: its output appended to logs/<member>.log, stdin from /dev/null. */
static int start(const struct mer_sweep *s, const struct mer_sweep_run_params *p, size_t i,
                 struct slot *slot)
{
    struct mer_strv argv = MER_STRV_INIT;
    char **args = NULL; /* argv.v, NULL-terminated, as posix_spawn wants it */
    posix_spawn_file_actions_t fa;
    char *log = log_path(s, p, i);
    int resume = mer_sweep_started(s, p->dir, i), ret = -1, err;
    if (!log || mer_sweep_member_prepare(s, p->dir, i) < 0 ||
        child_argv(s, p, i, resume, &argv) < 0 || !(args = calloc(argv.n + 1, sizeof(*args)))) {
        if (!log || (argv.n && !args))
            mer_error("out of memory");
        free(log);
        mer_strv_release(&argv);
        return -1;
    }
    memcpy(args, argv.v, argv.n * sizeof(*args));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0666);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    err = posix_spawn(&slot->pid, p->self, &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err != 0) {
        slot->pid = 0;
        mer_error("cannot start '%s': %s", p->self, strerror(err));
    } else {
        slot->member = i;
        slot->t_start = mer_now();
        if (p->event)
            p->event(p->ctx, &(struct mer_sweep_event){
                                 .kind = MER_SWEEP_STARTED, .member = i, .resumed = resume});
        ret = 0;
    }
    free(args);
    mer_strv_release(&argv);
    free(log);
    return ret;
}

/* Waits for one of the running members; records its end. */
static int reap(const struct mer_sweep *s, const struct mer_sweep_run_params *p, struct slot *slots,
                int n_slots, size_t *ended, size_t total, size_t *failed)
{
    int status = 0;
    pid_t pid;
    do
        pid = waitpid(-1, &status, 0);
    while (pid < 0 && errno == EINTR);
    if (pid < 0)
        return mer_error("waiting for a member: %s", strerror(errno));
    for (int j = 0; j < n_slots; j++) {
        if (slots[j].pid != pid)
            continue;
        slots[j].pid = 0;
        (*ended)++;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            (*failed)++;
        /* a fold's end says nothing of its member: the gather (a whole run) records that */
        if (p->folds <= 0 && mer_sweep_record_exit(s, p->dir, slots[j].member, status) < 0)
            return -1;
        if (p->event)
            p->event(p->ctx, &(struct mer_sweep_event){.kind = MER_SWEEP_ENDED,
                                                       .member = slots[j].member,
                                                       .status = status,
                                                       .seconds = mer_now() - slots[j].t_start,
                                                       .ended = *ended,
                                                       .total = total});
    }
    return 0;
}

int mer_sweep_run(const struct mer_sweep *s, const struct mer_sweep_run_params *p,
                  const size_t *idx, size_t n, size_t *failed)
{
    int jobs = p->jobs < 1 ? 1 : p->jobs, running = 0, ret = 0;
    struct slot *slots = calloc((size_t)jobs, sizeof(*slots));
    size_t next = 0, ended = 0;
    *failed = 0;
    if (!slots)
        return mer_error("out of memory");
    while (ended < n) {
        /* fill the free slots, then wait for one; after an error, only wait */
        for (int j = 0; j < jobs && next < n && ret == 0; j++)
            if (slots[j].pid == 0) {
                if (start(s, p, idx[next], &slots[j]) < 0)
                    ret = -1;
                else
                    next++, running++;
            }
        if (running == 0)
            break;
        if (reap(s, p, slots, jobs, &ended, n, failed) < 0) {
            ret = -1;
            if (errno == ECHILD)
                break;
        }
        running = 0;
        for (int j = 0; j < jobs; j++)
            running += slots[j].pid != 0;
        if (ret < 0 && running == 0)
            break;
    }
    free(slots);
    return ret;
}
