/* mer eval: score predictions (a run's, a predictions CSV or a MER2024 submission) and write a
 * submission. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/evaluate.h"
#include "mer/fs.h"
#include "mer/names.h"
#include "mer/opt.h"
#include "mer/plot.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
    "mer eval --run runs/<name> [--split <name>] [--out metrics.json] [--submission file]",
    "mer eval --pred predictions.csv|submission.csv [--labels labels.csv|store] [options]",
    NULL,
};

struct eval_opts {
    const char *run, *split, *pred, *labels, *out, *submission, *plots;
    int subset, force;
};

/* --plots: confusion (counts, row-normalised) and calibration of what was scored. */
static int eval_plots(const char *path, const struct eval_opts *o, const char *key)
{
    struct mer_plot_params pp = mer_plot_default_params();
    char *prefix = o->pred ? mer_strfmt("%s", "") : mer_strfmt("%s-", key);
    double ece;
    int ret = prefix ? mer_plot_predictions(o->plots, prefix, &pp, path, o->labels, o->subset, 15,
                                            o->force, &ece)
                     : mer_error("out of memory");
    if (ret == 0)
        printf("wrote plots to '%s' (%sconfusion, %sconfusion-norm, %scalibration: ECE %.6f)\n",
               o->plots, prefix, prefix, prefix, ece);
    free(prefix);
    return ret;
}

/* Scores one predictions file; adds its metrics to root under key. */
static int eval_file(const char *path, const struct eval_opts *o, const char *key, cJSON *root)
{
    struct mer_predictions *p = NULL;
    struct mer_metrics m = {0};
    cJSON *json;
    double mse, ccc;
    size_t nv;
    int ret = -1;
    if (mer_predictions_read(&p, path) < 0 ||
        (o->labels && mer_predictions_attach_labels(p, o->labels, o->subset) < 0))
        goto done;
    if (o->submission && mer_predictions_write_submission(p, o->submission) < 0)
        goto done;
    if (mer_predictions_score(p, &m) < 0) {
        if (!o->submission) /* unlabeled test predictions: a submission is all there is */
            goto done;
        ret = 0;
        goto done;
    }
    printf("== %s\n", key);
    mer_metrics_print(stdout, &m, p->classes, p->n_expected);
    json = mer_metrics_to_json(&m, p->classes);
    if (json && p->n_expected > (size_t)m.n) /* --subset: n of N */
        cJSON_AddNumberToObject(json, "of", (double)p->n_expected);
    if (json && mer_predictions_valence(p, &mse, &ccc, &nv) == 0) {
        cJSON *v = cJSON_AddObjectToObject(json, "valence");
        printf("valence: MSE %.4f  CCC %.4f  (%zu samples)\n", mse, ccc, nv);
        cJSON_AddNumberToObject(v, "n", (double)nv);
        cJSON_AddNumberToObject(v, "mse", mse);
        cJSON_AddNumberToObject(v, "ccc", ccc);
    }
    cJSON_AddItemToObject(root, key, json);
    if (o->plots && eval_plots(path, o, key) < 0)
        goto done;
    ret = 0;
done:
    mer_metrics_release(&m);
    mer_predictions_free(p);
    return ret;
}

static int run(const struct eval_opts *o)
{
    cJSON *root = cJSON_CreateObject();
    char *path = NULL;
    int ret = -1;
    if (!root)
        return mer_error("out of memory");
    /* The one overwrite rule, checked before any work. */
    if ((o->out && mer_output_check(o->out, o->force) < 0) ||
        (o->submission && mer_output_check(o->submission, o->force) < 0))
        goto done;
    if (o->pred) {
        if (eval_file(o->pred, o, o->pred, root) < 0)
            goto done;
    } else {
        const char *split = o->split ? o->split : "cv";
        if (mer_name_check("split", split) < 0)
            goto done;
        path = mer_strfmt("%s/predictions/%s.csv", o->run, split);
        if (!path || eval_file(path, o, split, root) < 0)
            goto done;
    }
    if (o->out && mer_write_json_atomic(o->out, root) < 0)
        goto done;
    if (o->submission)
        printf("wrote submission '%s'\n", o->submission);
    ret = 0;
done:
    free(path);
    cJSON_Delete(root);
    return ret;
}

int cmd_eval(int argc, const char **argv)
{
    struct eval_opts o = {0};
    struct mer_option opts[] = {
        MER_OPT_STRING(0, "run", &o.run, "dir", "a run directory of mer train"),
        MER_OPT_STRING(0, "split", &o.split, "name",
                       "which of the run's predictions (default cv: out-of-fold)"),
        MER_OPT_STRING(0, "pred", &o.pred, "file",
                       "a predictions CSV, or a MER2024 submission (name,discrete)"),
        MER_OPT_STRING(0, "labels", &o.labels, "file",
                       "labels to score against (label CSV or labels store, told by content; "
                       "default: the file's own)"),
        MER_OPT_STRING('o', "out", &o.out, "file", "write the metrics as JSON"),
        MER_OPT_STRING(0, "submission", &o.submission, "file",
                       "write the MER2024 submission CSV (name,discrete)"),
        MER_OPT_BOOL(0, "subset", &o.subset,
                     "score predictions that cover only part of --labels (reports n of N)"),
        MER_OPT_STRING(0, "plots", &o.plots, "dir",
                       "write confusion and calibration plots (SVG and PNG) into dir"),
        MER_OPT_BOOL(0, "force", &o.force, "overwrite the --out and --submission files"),
        MER_OPT_END(),
    };
    int n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0)
        return mer_opt_exit_code(n);
    if (n > 0)
        return mer_usage_error("eval", "unexpected argument '%s'", argv[0]);
    if (!o.run == !o.pred)
        return mer_usage_error("eval", "give either --run or --pred");
    return run(&o) < 0 ? cmd_fail("eval") : 0;
}
