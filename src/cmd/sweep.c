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
static const char *const task_usage[] = {"mer sweep task <sweep-dir> <member> [options]", NULL};
static const char *const status_usage[] = {"mer sweep status <sweep-dir>", NULL};

/* What a subcommand reads from its command line (each uses its own part). */
struct sweep_opts {
    const char *config, *out;
    int jobs, threads, deterministic, quiet, dry_run, max_running, cpus;
    struct mer_shard shard;
    const char *partition, *time, *gres;
    struct mer_strlist sbatch_args;
};

/* The mer binary, for the members' processes and the Slurm script. */
static int self_path(char *buf, size_t size)
{
    ssize_t len = readlink("/proc/self/exe", buf, size - 1);
    if (len <= 0)
        return mer_error("cannot find the mer binary (/proc/self/exe)");
    buf[len] = '\0';
    return 0;
}

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
    size_t *idx = NULL, n_todo = 0, failed = 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int ret = load_sweep(&s, o, n, argv, "run");
    if (ret != 0 || (ret = unfinished(&s, o->out, o->shard, &idx, &n_todo)) < 0 ||
        (ret = self_path(self, sizeof(self))) < 0)
        goto done;
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
    printf("%zu members: %zu finished before, %zu now, %zu failed\n", s.n_members,
           s.n_members - n_todo, n_todo - failed, failed);
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

static int sweep_task(struct sweep_opts *o, int n, const char **argv)
{
    struct mer_sweep s = MER_SWEEP_INIT;
    struct run_view view = {.quiet = 1};
    struct mer_sweep_run_params p = {.jobs = 1, .deterministic = o->deterministic};
    const char *cpus = getenv("SLURM_CPUS_PER_TASK");
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
    if ((ret = mer_sweep_check_config(&s)) < 0 || (ret = self_path(self, sizeof(self))) < 0)
        goto done;
    view.s = &s;
    p.dir = argv[0];
    p.self = self;
    p.threads = o->threads > 0           ? o->threads
                : cpus && atoi(cpus) > 0 ? atoi(cpus)
                                         : (int)sysconf(_SC_NPROCESSORS_ONLN);
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

/* <dir>/slurm/sweep.sbatch: array task i runs member i through mer sweep task. */
static int write_script(const struct sweep_opts *o, const char *dir, const char *self,
                        const char *path)
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
            "# mer sweep slurm: array task i runs member i of %s/sweep.json\n"
            "#SBATCH --job-name=mer-sweep-%s\n"
            "#SBATCH --output=%s/slurm/%%x_%%A_%%a.out\n",
            dir, *base ? base : "sweep", dir);
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

/* The sbatch command line for members idx[0..n). */
static int sbatch_argv(const struct sweep_opts *o, const size_t *idx, size_t n, const char *script,
                       char **array, const char *argv[6])
{
    char *spec = mer_sweep_array_spec(idx, n);
    if (!spec)
        return mer_error("out of memory");
    *array = o->max_running > 0 ? mer_strfmt("--array=%s%%%d", spec, o->max_running)
                                : mer_strfmt("--array=%s", spec);
    free(spec);
    if (!*array)
        return mer_error("out of memory");
    argv[0] = "sbatch";
    argv[1] = "--parsable";
    argv[2] = *array;
    argv[3] = script;
    argv[4] = NULL;
    return 0;
}

static int submit(const struct sweep_opts *o, const char *dir, const char *const *argv,
                  size_t n_todo, size_t n_all)
{
    char out[4096], *err_path = mer_strfmt("%s/slurm/sbatch.err", dir);
    char *jobs = mer_strfmt("%s/slurm/jobs.txt", dir);
    int ret = -1;
    FILE *f;
    if (!err_path || !jobs) {
        mer_error("out of memory");
        goto done;
    }
    if (run_sbatch(argv, out, sizeof(out), err_path) < 0)
        goto done;
    out[strcspn(out, ";\r\n")] = '\0'; /* --parsable: "<id>" or "<id>;<cluster>" */
    if (!*out || strspn(out, "0123456789") != strlen(out)) {
        mer_error("sbatch: expected a job id, got '%s'", out);
        goto done;
    }
    printf("submitted job %s: %s (%zu of %zu members)\n", out, argv[2] + 8, n_todo, n_all);
    if ((f = fopen(jobs, "a"))) { /* a record of what was submitted, for people */
        fprintf(f, "%s %s\n", out, argv[2] + 8);
        fclose(f);
    }
    ret = 0;
done:
    free(err_path);
    free(jobs);
    return ret;
}

static int sweep_slurm(struct sweep_opts *o, int n, const char **argv)
{
    struct mer_sweep s = MER_SWEEP_INIT;
    char self[4096], *slurm = NULL, *script = NULL, *array = NULL, *absdir = NULL;
    const char *sb[6];
    size_t *idx = NULL, n_todo = 0;
    int ret = load_sweep(&s, o, n, argv, "slurm");
    if (ret != 0 ||
        (ret = unfinished(&s, o->out, (struct mer_shard)MER_SHARD_ALL, &idx, &n_todo)) < 0 ||
        (ret = self_path(self, sizeof(self))) < 0)
        goto done;
    if (n_todo == 0) {
        printf("all %zu members are finished: nothing to submit\n", s.n_members);
        goto done;
    }
    ret = -1;
    if (!(absdir = realpath(o->out, NULL)) || !(slurm = mer_path_join(absdir, "slurm")) ||
        !(script = mer_path_join(slurm, "sweep.sbatch"))) {
        mer_error("'%s': cannot resolve the path", o->out);
        goto done;
    }
    if (mer_mkdir_p(slurm) < 0 || write_script(o, absdir, self, script) < 0 ||
        sbatch_argv(o, idx, n_todo, script, &array, sb) < 0)
        goto done;
    if (o->dry_run) {
        for (int k = 0; sb[k]; k++) {
            char *q = mer_sweep_shell_quote(sb[k]);
            printf("%s%s", k ? " " : "", q ? q : "");
            free(q);
        }
        printf("\n");
        ret = 0;
        goto done;
    }
    ret = submit(o, absdir, sb, n_todo, s.n_members);
done:
    free(array);
    free(script);
    free(slurm);
    free(absdir);
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
    struct sweep_opts o = {.jobs = 1, .shard = MER_SHARD_ALL};
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
