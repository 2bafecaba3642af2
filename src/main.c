/* mer: the command table, and nothing else (commands live in src/cmd/, one file each). */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/progress.h"
#include "mer/torch.h"
#include "mer/version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mer_cmd_flags {
    MER_CMD_TORCH = 1 << 0, /* loads libtorch before it runs */
};

struct mer_cmd {
    const char *name;
    int (*fn)(int argc, const char **argv);
    const char *summary;
    unsigned flags;
};

static const struct mer_cmd commands[] = {
    {"prompt", cmd_prompt, "write Gemini requests (JSONL) asking for per-modality reasoning", 0},
    {"query", cmd_query, "send requests to a Gemini-compatible endpoint, append the answers", 0},
    {"ingest", cmd_ingest, "turn Gemini answers into a priors store (+ report, pseudo-labels)", 0},
    {"extract", cmd_extract, "extract audio, video or text features from raw clips or transcripts",
     0},
    {"import", cmd_import, "convert per-sample .npy features into a feature store", 0},
    {"import-labels", cmd_import_labels, "read a label CSV (MER2024 or manifest) into a store", 0},
    {"info", cmd_info, "describe a feature store and verify its checksums", 0},
    {"train", cmd_train, "train the prior-fusion model with k-fold cross-validation",
     MER_CMD_TORCH},
    {"predict", cmd_predict, "predict the emotions of new clips with a trained run's folds",
     MER_CMD_TORCH},
    {"sweep", cmd_sweep, "run a grid of mer train runs: plan, locally N at a time, or on Slurm", 0},
    {"eval", cmd_eval, "score predictions (WAF, accuracy, per class) and write submissions", 0},
    {"report", cmd_report, "an ablation table over runs: mean and std over seeds, paired tests", 0},
    {"plot", cmd_plot, "draw SVG/PNG plots: confusion, curves, reliability, calibration, F1", 0},
    {"config", cmd_config, "resolve a config with --set overrides and print it", 0},
    {"version", cmd_version, "print the versions of mer and its libraries", MER_CMD_TORCH},
};

/* Runs a command, after the shared setup its row asks for; then prints the warnings left over
 * (a failed command's error line stays the only line). */
static int run_command(const struct mer_cmd *c, int argc, const char **argv)
{
    int ret;
    if ((c->flags & MER_CMD_TORCH) && mer_torch_load() < 0)
        return cmd_fail(c->name);
    ret = c->fn(argc, argv);
    if (ret == 0)
        cmd_warnings(c->name);
    mer_warn_clear();
    return ret;
}

static const struct mer_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(commands); i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void print_overview(FILE *f)
{
    fprintf(f, "usage: mer <command> [options]\n"
               "       mer help <command> | mer <command> --help | mer --version\n\n"
               "commands:\n");
    for (size_t i = 0; i < MER_ARRAY_SIZE(commands); i++)
        fprintf(f, "   %-15s %s\n", commands[i].name, commands[i].summary);
}

static int unknown_command(const char *name)
{
    fprintf(stderr, "mer: '%s' is not a mer command\nhint: see 'mer help'\n", name);
    return 2;
}

static int run_help(int argc, const char **argv)
{
    const struct mer_cmd *c;
    const char *help_argv[] = {NULL, "--help", NULL};
    if (argc < 2) {
        print_overview(stdout);
        return 0;
    }
    c = find_command(argv[1]);
    if (!c)
        return unknown_command(argv[1]);
    help_argv[0] = c->name;
    return run_command(c, 2, help_argv);
}

/* git's check: output that could not be written is a failure, not silence. */
static int finish_stdout(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mer: write failure on standard output: %s\n", strerror(errno));
        return 1;
    }
    return status;
}

int main(int argc, char **argv)
{
    const char **args = (const char **)argv;
    const struct mer_cmd *c;
    if (argc < 2) {
        print_overview(stderr);
        return 2;
    }
    if (getenv("MER_PROGRESS_INTERVAL")) /* seconds between plain progress lines (logs) */
        mer_progress_interval(atof(getenv("MER_PROGRESS_INTERVAL")));
    if (!strcmp(args[1], "--version") || !strcmp(args[1], "-V"))
        return finish_stdout(run_command(find_command("version"), 1, args + 1));
    if (!strcmp(args[1], "help") || !strcmp(args[1], "--help") || !strcmp(args[1], "-h"))
        return finish_stdout(run_help(argc - 1, args + 1));
    if (args[1][0] == '-') {
        fprintf(stderr, "mer: unknown option '%s'\nhint: see 'mer help'\n", args[1]);
        return 2;
    }
    c = find_command(args[1]);
    if (!c)
        return unknown_command(args[1]);
    return finish_stdout(run_command(c, argc - 1, args + 1));
}
