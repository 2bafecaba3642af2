/* mer sweep: a grid of mer train runs, planned, run locally N at a time, or as a Slurm array. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/opt.h"
#include "mer/progress.h"
#include "mer/sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const plan_usage[] = {
    "mer sweep plan <grid> --config <base.json> --out <sweep-dir>", NULL};
static const char *const run_usage[] = {
    "mer sweep run <grid> --config <base.json> --out <sweep-dir> [--jobs N] [options]", NULL};
static const char *const slurm_usage[] = {
    "mer sweep slurm <grid> --config <base.json> --out <sweep-dir> [sbatch options] [--dry-run]",
    NULL};
static const char *const task_usage[] = {"mer sweep task <sweep-dir> <member> [--fold k] [options]",
                                         NULL};
static const char *const status_usage[] = {"mer sweep status <sweep-dir>", NULL};

/* What a subcommand reads from its command line (each uses its own part). */
struct sweep_opts {
    const char *config, *out;
    int jobs, threads, deterministic, quiet, dry_run, max_running, cpus, per_fold, fold;
    struct mer_shard shard;
    const char *partition, *time, *gres;
    struct mer_strlist sbatch_args;
};

/* <grid> --config --out: the grid expanded and recorded in the sweep directory. */
static int load_sweep(struct mer_sweep *s, const struct sweep_opts *o, int n, const char **argv,
                      const char *sub)
{
    if (n != 1 || !o->config || !o->out) {
        mer_usage_error("sweep", "%s: %s", sub,
                        n != 1       ? "expected one grid file"
                        : !o->config ? "no --config <base.json> given"
                                     : "no --out <sweep-dir> given");
        return 2;
    }
    if (mer_sweep_load(s, argv[0], o->config) < 0 || mer_sweep_record(s, o->out) < 0)
        return -1;
    return 0;
}

/* The members not finished yet (those of --shard i/n only). New array in *idx. */
static int unfinished(const struct mer_sweep *s, const char *dir, struct mer_shard sh, size_t **idx,
                      size_t *n)
{
    *n = 0;
    if (!(*idx = malloc((s->n_members + 1) * sizeof(**idx))))
        return mer_error("out of memory");
    for (size_t i = 0; i < s->n_members; i++)
        if ((int)(i % (size_t)sh.count) == sh.index &&
            mer_sweep_state(s, dir, i) != MER_SWEEP_FINISHED)
            (*idx)[(*n)++] = i;
    return 0;
}

/* ---- plan ---- */

static int print_command(const struct mer_sweep *s, const char *dir, size_t i)
{
    struct mer_strv argv = MER_STRV_INIT;
    int ret = mer_sweep_train_argv(s, dir, i, mer_sweep_started(s, dir, i), &argv);
    fputs("mer", stdout);
    for (size_t k = 0; ret == 0 && k < argv.n; k++) {
        char *q = mer_sweep_shell_quote(argv.v[k]);
        if (!q)
            ret = mer_error("out of memory");
        else
            printf(" %s", q);
        free(q);
    }
    putchar('\n');
    mer_strv_release(&argv);
    return ret;
}

static int sweep_plan(struct sweep_opts *o, int n, const char **argv)
{
    struct mer_sweep s = MER_SWEEP_INIT;
    size_t *idx = NULL, n_todo = 0;
    int ret = load_sweep(&s, o, n, argv, "plan");
    if (ret == 0 && (ret = unfinished(&s, o->out, o->shard, &idx, &n_todo)) == 0)
        for (size_t k = 0; k < n_todo && ret == 0; k++)
            ret = print_command(&s, o->out, idx[k]);
    if (ret == 0 && n_todo < s.n_members)
        fprintf(stderr, "mer sweep: %zu of %zu members are finished (not listed)\n",
                s.n_members - n_todo, s.n_members);
    free(idx);
    mer_sweep_release(&s);
    return ret;
}

/* ---- run ---- */

struct run_view {
    const struct mer_sweep *s;
    struct mer_progress bar;
    int quiet, tty;
};

static void status_text(char *buf, size_t size, int status)
{
    if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, size, "exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : status);
}

/* One line per member started and ended; on a terminal the bar is drawn again below it. */
static void on_event(void *ctx, const struct mer_sweep_event *ev)
{
    struct run_view *v = ctx;
    const char *name = v->s->members[ev->member].name;
    char how[64];
    if (v->quiet)
        return;
    if (v->tty)
        fputs("\r\033[K", stderr);
    if (ev->kind == MER_SWEEP_STARTED)
        fprintf(stderr, "started  %s%s\n", name, ev->resumed ? " (resuming)" : "");
    else if (WIFEXITED(ev->status) && WEXITSTATUS(ev->status) == 0)
        fprintf(stderr, "finished %s in %.1fs [%zu/%zu]\n", name, ev->seconds, ev->ended,
                ev->total);
    else {
        status_text(how, sizeof(how), ev->status);
        fprintf(stderr, "failed   %s (%s) [%zu/%zu]\n", name, how, ev->ended, ev->total);
    }
    if (v->tty) {
        v->bar.t_last_print = 0; /* redraw now */
        mer_progress_update(&v->bar, (int64_t)ev->ended);
    }
}

/* The failed members, each with its log's last line; their count. */
static size_t list_failed(const struct mer_sweep *s, const char *dir, const size_t *idx, size_t n)
{
    size_t failed = 0;
    for (size_t k = 0; k < n; k++) {
        char line[512], how[64];
        if (mer_sweep_state(s, dir, idx[k]) != MER_SWEEP_FAILED)
            continue;
        if (!failed++)
            printf("failed members (log: %s/logs/<member>.log):\n", dir);
        printf("  %s (%s): %s\n", s->members[idx[k]].name,
               mer_sweep_exit_text(s, dir, idx[k], how, sizeof(how)),
               mer_sweep_last_log_line(s, dir, idx[k], line, sizeof(line)));
    }
    return failed;
}

static int sweep_run(struct sweep_opts *o, int n, const char **argv)
{
    struct mer_sweep s = MER_SWEEP_INIT;
    struct run_view view = {.quiet = o->quiet};
    struct mer_sweep_run_params p = {.jobs = o->jobs, .event = on_event, .ctx = &view};
    char self[4096];
    size_t *idx = NULL, n_todo = 0, failed = 0, before = 0, others;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int ret = load_sweep(&s, o, n, argv, "run");
    if (ret != 0 || (ret = unfinished(&s, o->out, o->shard, &idx, &n_todo)) < 0 ||
        (ret = mer_self_exe(self, sizeof(self))) < 0)
        goto done;
    for (size_t i = 0; i < s.n_members; i++)
        before += mer_sweep_state(&s, o->out, i) == MER_SWEEP_FINISHED;
    view.s = &s;
    view.tty = isatty(STDERR_FILENO);
    p.dir = o->out;
    p.self = self;
    p.deterministic = o->deterministic;
    /* the cores split between the members running at once */
    p.threads = o->threads > 0 ? o->threads : (cores / o->jobs > 1 ? (int)(cores / o->jobs) : 1);
    if (!o->quiet)
        fprintf(stderr, "%zu of %zu members to run, %d at a time, %d thread%s each\n", n_todo,
                s.n_members, o->jobs, p.threads, p.threads == 1 ? "" : "s");
    mer_progress_quiet(o->quiet || !view.tty);
    mer_progress_start(&view.bar, "sweep", (int64_t)n_todo, "members");
    ret = mer_sweep_run(&s, &p, idx, n_todo, &failed);
    mer_progress_finish(&view.bar);
    if (ret < 0)
        goto done;
    failed = list_failed(&s, o->out, idx, n_todo);
    others = s.n_members - before - n_todo; /* --shard: the other shards' unfinished ones */
    printf("%zu members: %zu finished before, %zu now, %zu failed", s.n_members, before,
           n_todo - failed, failed);
    if (others)
        printf(", %zu left to the other shards", others);
    putchar('\n');
    if (failed)
        ret = mer_error("%zu of %zu members failed (listed above; rerun to retry them)", failed,
                        s.n_members);
done:
    free(idx);
    mer_sweep_release(&s);
    return ret;
}

/* ---- task: one member, as a Slurm array task runs it ---- */

static int parse_member(const char *text, const struct mer_sweep *s, size_t *i)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (!*text || *end || errno || text[0] == '-' || v >= s->n_members)
        return mer_error("member '%s': expected an index below %zu", text, s->n_members);
    *i = (size_t)v;
    return 0;
}

static int task_threads(const struct sweep_opts *o)
{
    const char *cpus = getenv("SLURM_CPUS_PER_TASK");
    return o->threads > 0           ? o->threads
           : cpus && atoi(cpus) > 0 ? atoi(cpus)
                                    : (int)sysconf(_SC_NPROCESSORS_ONLN);
}

/* --fold k: member i's fold k alone, a worker of the member's run (mer train --shard k/F) that
 * shares its directory with the other folds' tasks; the gather (the member's own task) writes
 * the outputs. A fold the member does not have (k >= its train.folds: members may differ) or
 * one trained already is nothing to do. */
static int fold_task(const struct mer_sweep *s, const char *dir, size_t i,
                     const struct sweep_opts *o, const char *self)
{
    struct mer_sweep_run_params p = {.jobs = 1, .dir = dir, .self = self, .fold = o->fold};
    const char *name = s->members[i].name;
    char line[512], *log;
    size_t failed = 0;
    int folds = mer_sweep_member_folds(s, i);
    if (folds < 0)
        return -1;
    if (o->fold >= folds) {
        printf("member %zu (%s) has %d folds: no fold %d to train\n", i, name, folds, o->fold);
        return 0;
    }
    if (mer_sweep_fold_finished(s, dir, i, o->fold)) {
        printf("member %zu (%s) fold %d is finished\n", i, name, o->fold);
        return 0;
    }
    p.folds = folds;
    p.threads = task_threads(o);
    p.deterministic = o->deterministic;
    printf(
        "member %zu (%s) fold %d of %d: mer train with %d thread%s, log %s/logs/%s.fold-%d.log\n",
        i, name, o->fold, folds, p.threads, p.threads == 1 ? "" : "s", dir, name, o->fold);
    fflush(stdout);
    if (mer_sweep_run(s, &p, &i, 1, &failed) < 0)
        return -1;
    if (!failed) {
        printf("member %zu (%s) fold %d finished\n", i, name, o->fold);
        return 0;
    }
    if (!(log = mer_strfmt("%s/logs/%s.fold-%d.log", dir, name, o->fold)))
        return mer_error("out of memory");
    mer_sweep_last_line(log, line, sizeof(line));
    free(log);
    return mer_error("member %zu (%s) fold %d failed: %s", i, name, o->fold, line);
}

static int sweep_task(struct sweep_opts *o, int n, const char **argv)
{
    struct mer_sweep s = MER_SWEEP_INIT;
    struct run_view view = {.quiet = 1};
    struct mer_sweep_run_params p = {.jobs = 1, .deterministic = o->deterministic};
    char self[4096], line[512];
    size_t i, failed = 0;
    int ret;
    if (n != 2)
        return mer_usage_error("sweep", "task: expected <sweep-dir> <member>");
    if ((ret = mer_sweep_read(&s, argv[0])) < 0 || (ret = parse_member(argv[1], &s, &i)) < 0)
        goto done;
    if (mer_sweep_state(&s, argv[0], i) == MER_SWEEP_FINISHED) {
        printf("member %zu (%s) is finished\n", i, s.members[i].name);
        goto done;
    }
    if ((ret = mer_sweep_check_config(&s)) < 0 || (ret = mer_self_exe(self, sizeof(self))) < 0)
        goto done;
    if (o->fold >= 0) {
        ret = fold_task(&s, argv[0], i, o, self);
        goto done;
    }
    view.s = &s;
    p.dir = argv[0];
    p.self = self;
    p.threads = task_threads(o);
    p.event = on_event;
    p.ctx = &view;
    printf("member %zu (%s): mer train with %d thread%s, log %s/logs/%s.log\n", i,
           s.members[i].name, p.threads, p.threads == 1 ? "" : "s", argv[0], s.members[i].name);
    fflush(stdout);
    if ((ret = mer_sweep_run(&s, &p, &i, 1, &failed)) < 0)
        goto done;
    if (failed)
        ret = mer_error("member %zu (%s) failed: %s", i, s.members[i].name,
                        mer_sweep_last_log_line(&s, argv[0], i, line, sizeof(line)));
    else
        printf("member %zu (%s) finished\n", i, s.members[i].name);
done:
    mer_sweep_release(&s);
    return ret;
}

/* ---- status ---- */

static int sweep_status(int n, const char **argv)
{
    struct mer_sweep s = MER_SWEEP_INIT;
    size_t count[4] = {0};
    char line[512], how[64];
    if (n != 1)
        return mer_usage_error("sweep", "status: expected one <sweep-dir>");
    if (mer_sweep_read(&s, argv[0]) < 0)
        return -1;
    for (size_t i = 0; i < s.n_members; i++) {
        enum mer_sweep_state st = mer_sweep_state(&s, argv[0], i);
        count[st]++;
        printf("%4zu  %-11s %s", i, mer_sweep_state_names[st], s.members[i].name);
        if (st == MER_SWEEP_FAILED)
            printf(" (%s): %s", mer_sweep_exit_text(&s, argv[0], i, how, sizeof(how)),
                   mer_sweep_last_log_line(&s, argv[0], i, line, sizeof(line)));
        putchar('\n');
    }
    printf("%zu members: %zu finished, %zu interrupted, %zu failed, %zu new\n", s.n_members,
           count[MER_SWEEP_FINISHED], count[MER_SWEEP_INTERRUPTED], count[MER_SWEEP_FAILED],
           count[MER_SWEEP_NEW]);
    mer_sweep_release(&s);
    return 0;
}

/* ---- slurm ---- */

/* <dir>/slurm/sweep.sbatch: array task i runs member i through mer sweep task. With folds F
 * > 0, <dir>/slurm/folds.sbatch: task i*F+k trains fold k of member i (mer sweep task --fold). */
static int write_script(const struct sweep_opts *o, const char *dir, const char *self,
                        const char *path, int folds)
{
    struct mer_atomic_file f = {0};
    char cwd[4096], *qcwd = NULL, *qself = NULL, *qdir = NULL;
    const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    int ret = -1;
    if (!getcwd(cwd, sizeof(cwd)))
        return mer_error("cannot read the working directory: %s", strerror(errno));
    if (!(qcwd = mer_sweep_shell_quote(cwd)) || !(qself = mer_sweep_shell_quote(self)) ||
        !(qdir = mer_sweep_shell_quote(dir))) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_atomic_open(&f, path) < 0)
        goto done;
    fprintf(f.fp,
            "#!/bin/sh\n"
            "# mer sweep slurm: array task %s of %s/sweep.json\n"
            "#SBATCH --job-name=mer-%s-%s\n"
            "#SBATCH --output=%s/slurm/%%x_%%A_%%a.out\n",
            folds > 0 ? "i*F+k trains fold k of member i (F = the most folds of a member)"
                      : "i runs member i",
            dir, folds > 0 ? "folds" : "sweep", *base ? base : "sweep", dir);
    if (o->partition)
        fprintf(f.fp, "#SBATCH --partition=%s\n", o->partition);
    if (o->time)
        fprintf(f.fp, "#SBATCH --time=%s\n", o->time);
    if (o->gres)
        fprintf(f.fp, "#SBATCH --gres=%s\n", o->gres);
    if (o->cpus > 0)
        fprintf(f.fp, "#SBATCH --cpus-per-task=%d\n", o->cpus);
    for (size_t k = 0; k < o->sbatch_args.n; k++)
        fprintf(f.fp, "#SBATCH %s\n", o->sbatch_args.items[k]);
    if (folds > 0)
        fprintf(f.fp,
                "cd %s || exit 1\nF=%d\n"
                "exec %s sweep task %s $((SLURM_ARRAY_TASK_ID / F)) --fold "
                "$((SLURM_ARRAY_TASK_ID %% F))%s\n",
                qcwd, folds, qself, qdir, o->deterministic ? " --deterministic" : "");
    else
        fprintf(f.fp, "cd %s || exit 1\nexec %s sweep task %s \"$SLURM_ARRAY_TASK_ID\"%s\n", qcwd,
                qself, qdir, o->deterministic ? " --deterministic" : "");
    if (fchmod(fileno(f.fp), 0755) != 0 || ferror(f.fp)) {
        mer_atomic_abort(&f);
        mer_error("'%s': cannot write", path);
        goto done;
    }
    ret = mer_atomic_commit(&f);
done:
    free(qcwd);
    free(qself);
    free(qdir);
    return ret;
}

/* Runs argv (sbatch ...), its stdout into out, its stderr into err_path. */
static int run_sbatch(const char *const *argv, char *out, size_t size, const char *err_path)
{
    posix_spawn_file_actions_t fa;
    int pipefd[2], status = 0, err;
    pid_t pid;
    size_t n = 0;
    ssize_t got;
    char line[512] = "";
    if (pipe(pipefd) != 0)
        return mer_error("sbatch: cannot make a pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    err = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (err != 0) {
        close(pipefd[0]);
        return mer_error("sbatch: %s", err == ENOENT ? "not found on PATH (mer sweep slurm "
                                                       "needs Slurm's client commands)"
                                                     : strerror(err));
    }
    while (n + 1 < size &&
           ((got = read(pipefd[0], out + n, size - 1 - n)) > 0 || (got < 0 && errno == EINTR)))
        n += got > 0 ? (size_t)got : 0;
    out[n] = '\0';
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    FILE *f = fopen(err_path, "r");
    while (f && fgets(line + 0, sizeof(line), f))
        if (strcspn(line, "\r\n") > 0)
            line[strcspn(line, "\r\n")] = '\0';
    if (f)
        fclose(f);
    status_text(out, size, status);
    /* sbatch's own lines start "sbatch: " already */
    return mer_error("sbatch: %s (%s)",
                     !*line                         ? "failed"
                     : strncmp(line, "sbatch: ", 8) ? line
                                                    : line + 8,
                     out);
}

/* One array job to submit: its script and ids, the sbatch command line, the job id it got. */
struct job {
    char *script, *array, *dependency; /* "--array=..." and "--dependency=afterany:<id>" */
    const char *argv[8];
    char id[64];
};

static void job_release(struct job *j)
{
    free(j->script);
    free(j->array);
    free(j->dependency);
}

/* The sbatch command line for the array idx[0..n) of j's script (after job `after`, if given). */
static int job_argv(const struct sweep_opts *o, const size_t *idx, size_t n, const char *after,
                    struct job *j)
{
    char *spec = mer_sweep_array_spec(idx, n);
    int a = 0;
    if (!spec)
        return mer_error("out of memory");
    j->array = o->max_running > 0 ? mer_strfmt("--array=%s%%%d", spec, o->max_running)
                                  : mer_strfmt("--array=%s", spec);
    free(spec);
    if (after && !(j->dependency = mer_strfmt("--dependency=afterany:%s", after)))
        return mer_error("out of memory");
    if (!j->array)
        return mer_error("out of memory");
    j->argv[a++] = "sbatch";
    j->argv[a++] = "--parsable";
    if (j->dependency)
        j->argv[a++] = j->dependency;
    j->argv[a++] = j->array;
    j->argv[a++] = j->script;
    j->argv[a] = NULL;
    return 0;
}

/* --dry-run: the command, shell-quoted (a placeholder dependency as it is). */
static void print_argv(const struct job *j)
{
    for (int k = 0; j->argv[k]; k++) {
        char *q = j->argv[k] == j->dependency ? NULL : mer_sweep_shell_quote(j->argv[k]);
        printf("%s%s", k ? " " : "", j->argv[k] == j->dependency ? j->dependency : q ? q : "");
        free(q);
    }
    printf("\n");
}

/* Runs j's sbatch; its job id into j->id, and a line "<id> <ids>[ note]" in slurm/jobs.txt. */
static int submit(const char *dir, struct job *j, const char *note)
{
    char out[4096], *err_path = mer_strfmt("%s/slurm/sbatch.err", dir);
    char *jobs = mer_strfmt("%s/slurm/jobs.txt", dir);
    int ret = -1;
    FILE *f;
    if (!err_path || !jobs) {
        mer_error("out of memory");
        goto done;
    }
    if (run_sbatch(j->argv, out, sizeof(out), err_path) < 0)
        goto done;
    out[strcspn(out, ";\r\n")] = '\0'; /* --parsable: "<id>" or "<id>;<cluster>" */
    if (!*out || strspn(out, "0123456789") != strlen(out) || strlen(out) >= sizeof(j->id)) {
        mer_error("sbatch: expected a job id, got '%s'", out);
        goto done;
    }
    snprintf(j->id, sizeof(j->id), "%s", out);
    if ((f = fopen(jobs, "a"))) { /* a record of what was submitted, for people */
        fprintf(f, "%s %s%s%s\n", j->id, j->array + 8, note ? " " : "", note ? note : "");
        fclose(f);
    }
    ret = 0;
done:
    free(err_path);
    free(jobs);
    return ret;
}

/* --per-fold: the folds still to train of members idx[0..n), as ids i*F+k (F = the most
 * folds a member of the sweep has, so an id means the same fold in every submission). */
static int fold_ids(const struct mer_sweep *s, const char *dir, const size_t *idx, size_t n, int *F,
                    size_t **fidx, size_t *nf)
{
    int *folds = calloc(s->n_members + 1, sizeof(*folds));
    *F = 1;
    *nf = 0;
    *fidx = NULL;
    if (!folds)
        return mer_error("out of memory");
    for (size_t i = 0; i < s->n_members; i++) {
        if ((folds[i] = mer_sweep_member_folds(s, i)) < 0) {
            free(folds);
            return -1;
        }
        *F = folds[i] > *F ? folds[i] : *F;
    }
    if (!(*fidx = malloc((n * (size_t)*F + 1) * sizeof(**fidx)))) {
        free(folds);
        return mer_error("out of memory");
    }
    for (size_t j = 0; j < n; j++)
        for (int k = 0; k < folds[idx[j]]; k++)
            if (!mer_sweep_fold_finished(s, dir, idx[j], k))
                (*fidx)[(*nf)++] = idx[j] * (size_t)*F + (size_t)k;
    free(folds);
    return 0;
}

/* Submits the folds' job, then the gather after it; a gather refused leaves the folds' job
 * submitted, which the error says. */
static int submit_both(const char *dir, struct job *folds, struct job *gather, size_t nf,
                       size_t n_todo, size_t n_all, const struct sweep_opts *o, const size_t *idx)
{
    char note[96], err[1024];
    if (submit(dir, folds, "folds") < 0)
        return -1;
    printf("submitted job %s: %s (%zu folds of %zu members)\n", folds->id, folds->array + 8, nf,
           n_todo);
    snprintf(note, sizeof(note), "after %s", folds->id);
    if (job_argv(o, idx, n_todo, folds->id, gather) < 0 || submit(dir, gather, note) < 0) {
        snprintf(err, sizeof(err), "%s", mer_errmsg());
        return mer_error("%s; the folds' job %s is submitted (its folds are kept: submit again "
                         "to gather them, or scancel %s)",
                         err, folds->id, folds->id);
    }
    printf("submitted job %s: %s (%zu of %zu members, after job %s)\n", gather->id,
           gather->array + 8, n_todo, n_all, folds->id);
    return 0;
}

static int sweep_slurm(struct sweep_opts *o, int n, const char **argv)
{
    struct mer_sweep s = MER_SWEEP_INIT;
    struct job gather = {0}, folds = {0};
    char self[4096], *slurm = NULL, *absdir = NULL;
    size_t *idx = NULL, n_todo = 0, *fidx = NULL, nf = 0;
    int F = 0;
    int ret = load_sweep(&s, o, n, argv, "slurm");
    if (ret != 0 ||
        (ret = unfinished(&s, o->out, (struct mer_shard)MER_SHARD_ALL, &idx, &n_todo)) < 0 ||
        (ret = mer_self_exe(self, sizeof(self))) < 0)
        goto done;
    if (n_todo == 0) {
        printf("all %zu members are finished: nothing to submit\n", s.n_members);
        goto done;
    }
    ret = -1;
    if (!(absdir = realpath(o->out, NULL)) || !(slurm = mer_path_join(absdir, "slurm")) ||
        !(gather.script = mer_path_join(slurm, "sweep.sbatch")) ||
        !(folds.script = mer_path_join(slurm, "folds.sbatch"))) {
        mer_error("'%s': cannot resolve the path", o->out);
        goto done;
    }
    if (mer_mkdir_p(slurm) < 0 || write_script(o, absdir, self, gather.script, 0) < 0 ||
        (o->per_fold && (fold_ids(&s, o->out, idx, n_todo, &F, &fidx, &nf) < 0 ||
                         write_script(o, absdir, self, folds.script, F) < 0)))
        goto done;
    /* Without folds to train (every fold of these members is, only the outputs are missing),
     * the gather is all there is to submit. */
    if (nf > 0 && job_argv(o, fidx, nf, NULL, &folds) < 0)
        goto done;
    if (o->dry_run) {
        if (nf > 0)
            print_argv(&folds);
        if (job_argv(o, idx, n_todo, nf > 0 ? "<folds-job-id>" : NULL, &gather) < 0)
            goto done;
        print_argv(&gather);
        ret = 0;
        goto done;
    }
    if (nf > 0)
        ret = submit_both(absdir, &folds, &gather, nf, n_todo, s.n_members, o, idx);
    else if (job_argv(o, idx, n_todo, NULL, &gather) == 0 && submit(absdir, &gather, NULL) == 0) {
        printf("submitted job %s: %s (%zu of %zu members)\n", gather.id, gather.array + 8, n_todo,
               s.n_members);
        ret = 0;
    }
done:
    job_release(&gather);
    job_release(&folds);
    free(slurm);
    free(absdir);
    free(fidx);
    free(idx);
    mer_sweep_release(&s);
    return ret;
}

/* ---- the subcommands ---- */

#define COMMON_OPTS(o)                                                                             \
    MER_OPT_STRING('c', "config", &(o).config, "file",                                             \
                   "the base config every member starts from"),                                    \
        MER_OPT_STRING('o', "out", &(o).out, "dir", "the sweep directory (members' runs, logs)")

static int parse(int argc, const char **argv, const struct mer_option *opts,
                 const char *const *usage, int *n)
{
    *n = mer_opt_parse(argc, argv, opts, usage);
    return *n < 0 ? mer_opt_exit_code(*n) : -1;
}

static int sub_plan(int argc, const char **argv, struct sweep_opts *o)
{
    struct mer_option opts[] = {
        COMMON_OPTS(*o),
        MER_OPT_SHARD(0, "shard", &o->shard, "only members k with k % n == i"),
        MER_OPT_END(),
    };
    int n, code = parse(argc, argv, opts, plan_usage, &n);
    return code >= 0 ? code : sweep_plan(o, n, argv);
}

static int sub_run(int argc, const char **argv, struct sweep_opts *o)
{
    struct mer_option opts[] = {
        COMMON_OPTS(*o),
        MER_OPT_INT_RANGE(0, "jobs", &o->jobs, "[1,256]", "members at a time (default 1)"),
        MER_OPT_INT_RANGE('j', "threads", &o->threads, "[1,1024]",
                          "threads of each member (default: the cores / --jobs)"),
        MER_OPT_BOOL(0, "deterministic", &o->deterministic, "members run deterministic kernels"),
        MER_OPT_SHARD(0, "shard", &o->shard, "only members k with k % n == i"),
        MER_OPT_BOOL('q', "quiet", &o->quiet, "no progress lines"),
        MER_OPT_END(),
    };
    int n, code = parse(argc, argv, opts, run_usage, &n);
    return code >= 0 ? code : sweep_run(o, n, argv);
}

static int sub_slurm(int argc, const char **argv, struct sweep_opts *o)
{
    struct mer_option opts[] = {
        COMMON_OPTS(*o),
        MER_OPT_STRING(0, "partition", &o->partition, "name", "sbatch --partition"),
        MER_OPT_STRING(0, "time", &o->time, "limit", "sbatch --time of each task"),
        MER_OPT_STRING(0, "gres", &o->gres, "spec", "sbatch --gres (e.g. gpu:1)"),
        MER_OPT_INT_RANGE(0, "cpus-per-task", &o->cpus, "[1,)",
                          "sbatch --cpus-per-task (each member's threads)"),
        MER_OPT_INT_RANGE(0, "max-running", &o->max_running, "[1,)",
                          "at most this many tasks at once (--array=...%K)"),
        MER_OPT_LIST(0, "sbatch-arg", &o->sbatch_args, "arg",
                     "another #SBATCH line for the script (repeatable)"),
        MER_OPT_BOOL(0, "deterministic", &o->deterministic, "members run deterministic kernels"),
        MER_OPT_BOOL(0, "per-fold", &o->per_fold,
                     "an array task per fold, then one per member gathering its folds"),
        MER_OPT_BOOL(0, "dry-run", &o->dry_run, "write the script, print sbatch's command"),
        MER_OPT_END(),
    };
    int n, code = parse(argc, argv, opts, slurm_usage, &n);
    return code >= 0 ? code : sweep_slurm(o, n, argv);
}

static int sub_task(int argc, const char **argv, struct sweep_opts *o)
{
    struct mer_option opts[] = {
        MER_OPT_INT_RANGE('j', "threads", &o->threads, "[1,1024]",
                          "threads (default $SLURM_CPUS_PER_TASK, else all cores)"),
        MER_OPT_BOOL(0, "deterministic", &o->deterministic, "deterministic kernels"),
        MER_OPT_INT_RANGE(0, "fold", &o->fold, "[0,31]",
                          "train this fold only (the other folds' tasks share the run)"),
        MER_OPT_END(),
    };
    int n, code = parse(argc, argv, opts, task_usage, &n);
    return code >= 0 ? code : sweep_task(o, n, argv);
}

static int sub_status(int argc, const char **argv, struct sweep_opts *o)
{
    struct mer_option opts[] = {MER_OPT_END()};
    int n, code = parse(argc, argv, opts, status_usage, &n);
    (void)o;
    return code >= 0 ? code : sweep_status(n, argv);
}

static const struct {
    const char *name;
    int (*fn)(int argc, const char **argv, struct sweep_opts *o);
} subs[] = {
    {"plan", sub_plan}, {"run", sub_run},       {"slurm", sub_slurm},
    {"task", sub_task}, {"status", sub_status},
};

int cmd_sweep(int argc, const char **argv)
{
    struct sweep_opts o = {.jobs = 1, .shard = MER_SHARD_ALL, .fold = -1};
    int ret = -1, found = 0;
    if (argc < 2)
        return mer_usage_error("sweep", "expected plan, run, slurm, task or status");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        const char *help[] = {"sweep", "--help"};
        for (size_t k = 0; k < MER_ARRAY_SIZE(subs); k++) {
            if (k)
                putchar('\n');
            subs[k].fn(2, help, &o);
        }
        return 0;
    }
    for (size_t k = 0; k < MER_ARRAY_SIZE(subs) && !found; k++)
        if (!strcmp(argv[1], subs[k].name)) {
            found = 1;
            argv[1] = "sweep"; /* the option parser names the command by argv[0] */
            ret = subs[k].fn(argc - 1, argv + 1, &o);
        }
    if (!found)
        ret = mer_usage_error("sweep",
                              "unknown subcommand '%s' (expected plan, run, slurm, task or status)",
                              argv[1]);
    mer_strlist_release(&o.sbatch_args);
    return ret < 0 ? cmd_fail("sweep") : ret;
}
