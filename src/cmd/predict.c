/* mer predict: a trained run's fold ensemble on new clips (predict.h). */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/evaluate.h"
#include "mer/fs.h"
#include "mer/metrics.h"
#include "mer/opt.h"
#include "mer/predict.h"
#include "mer/progress.h"
#include "mer/torch.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const usage[] = {
    "mer predict --run runs/<name> <clips-dir | clips...> [-o predictions.csv] [options]",
    "mer predict --run runs/<name> --audio STORE --text STORE [--priors STORE] [clips...]",
    NULL,
};

struct predict_opts {
    struct mer_predict_params p;
    const char *out;
    int threads, force, quiet;
};

/* The predictions file: name, p_<class>..., prediction[, valence] (evaluate.h's writer). */
static int write_csv(const struct mer_prediction *r, const char *path)
{
    int64_t *idx = malloc((r->n + 1) * sizeof(int64_t)),
            *label = malloc((r->n + 1) * sizeof(int64_t));
    float *valence = malloc((r->n + 1) * sizeof(float));
    const struct mer_samples s = {.names = r->names,
                                  .label = label,
                                  .valence = valence,
                                  .classes = r->classes,
                                  .n_classes = r->n_classes,
                                  .valence_head = r->valence_head,
                                  .no_labels = 1};
    const struct mer_pred_set set = {"predict", idx, r->n, r->rows, r->scale, r->valence_scale};
    int ret = -1;
    if (!idx || !label || !valence) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < r->n; i++) {
        idx[i] = (int64_t)i;
        label[i] = -1;
        valence[i] = NAN;
    }
    ret = mer_predictions_write(path, &s, &set);
done:
    free(idx);
    free(label);
    free(valence);
    return ret;
}

/* On a terminal: one line per clip; otherwise a summary line. */
static void show(const struct mer_prediction *r, const char *path)
{
    const size_t w = (size_t)r->n_classes + (r->valence_head ? 1 : 0);
    if (!isatty(STDOUT_FILENO)) {
        printf("predicted %zu clips into '%s'\n", r->n, path);
        return;
    }
    if (r->valence_head)
        printf("%-24s %-12s %7s\n", "name", "prediction", "valence");
    else
        printf("%-24s %s\n", "name", "prediction");
    for (size_t i = 0; i < r->n; i++) {
        const float *row = r->rows + i * w;
        const char *cls = r->classes[mer_argmax(row, r->n_classes)];
        if (r->valence_head)
            printf("%-24s %-12s %7.3f\n", r->names[i], cls, row[r->n_classes] * r->valence_scale);
        else
            printf("%-24s %s\n", r->names[i], cls);
    }
    printf("(%zu clips; probabilities in '%s')\n", r->n, path);
}

static int run(struct predict_opts *o)
{
    struct mer_prediction *r = NULL;
    int threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN), ret = -1;
    if (mer_output_check(o->out, o->force) < 0)
        return -1;
    mer_progress_quiet(o->quiet);
    mer_torch_set_threads(threads);
    openblas_set_num_threads(threads);
    if (o->p.jobs <= 0)
        o->p.jobs = threads;
    if (mer_predict(&o->p, &r) < 0 || write_csv(r, o->out) < 0)
        goto done;
    if (!o->quiet)
        show(r, o->out);
    ret = 0;
done:
    mer_prediction_free(r);
    return ret;
}

int cmd_predict(int argc, const char **argv)
{
    struct predict_opts o = {.p = mer_predict_default_params(), .out = "predictions.csv"};
    struct mer_option opts[] = {
        MER_OPT_STRING(0, "run", &o.p.run_dir, "dir", "the run directory of mer train"),
        MER_OPT_STRING('o', "out", &o.out, "file", "the predictions CSV (default predictions.csv)"),
        MER_OPT_STRING(0, "audio", &o.p.stores[MER_MOD_AUDIO], "store",
                       "ready audio features (made as the run's were) instead of extracting"),
        MER_OPT_STRING(0, "video", &o.p.stores[MER_MOD_VIDEO], "store",
                       "ready video features (made as the run's were) instead of extracting"),
        MER_OPT_STRING(0, "text", &o.p.stores[MER_MOD_TEXT], "store",
                       "ready text features (made as the run's were) instead of encoding"),
        MER_OPT_STRING(0, "transcripts", &o.p.transcripts, "csv",
                       "the clips' transcripts (name + the run's column) to encode text from"),
        MER_OPT_STRING(0, "responses", &o.p.responses, "jsonl",
                       "Gemini answers for the clips, ingested as the run's priors were"),
        MER_OPT_STRING(0, "priors", &o.p.priors, "store",
                       "a priors store of the clips (default: priors masked)"),
        MER_OPT_INT_RANGE(0, "jobs", &o.p.jobs, "[1,1024]",
                          "extraction threads (default: --threads)"),
        MER_OPT_INT_RANGE('j', "threads", &o.threads, "[1,1024]",
                          "libtorch and OpenBLAS threads (default: all cores)"),
        MER_OPT_STRING(0, "device", &o.p.device, "auto|cpu|cuda:N",
                       "where to run (default: the run's train.device)"),
        MER_OPT_BOOL(0, "force", &o.force, "overwrite the --out file"),
        MER_OPT_BOOL('q', "quiet", &o.quiet, "no table or summary"),
        MER_OPT_END(),
    };
    int n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0)
        return mer_opt_exit_code(n);
    if (!o.p.run_dir)
        return mer_usage_error("predict", "no --run given");
    if (n == 0 && !o.p.stores[MER_MOD_AUDIO] && !o.p.stores[MER_MOD_VIDEO] &&
        !o.p.stores[MER_MOD_TEXT])
        return mer_usage_error("predict", "no clips given (a directory or clip files)");
    o.p.clips = argv;
    o.p.n_clips = (size_t)n;
    return run(&o) < 0 ? cmd_fail("predict") : 0;
}
