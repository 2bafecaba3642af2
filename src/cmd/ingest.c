/* mer ingest: Gemini answers (responses JSONL) -> a priors store, a report, pseudo-labels. */
#include "cmd/cmd.h"
#include "mer/config.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/ingest.h"
#include "mer/opt.h"
#include "mer/progress.h"
#include "mer/provenance.h"
#include "mer/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
    "mer ingest [options] <responses.jsonl>... --labels <labels.safetensors> -o "
    "<priors.safetensors>",
    NULL,
};

/* prior.* from the config (defaults without one), then the options given. */
static int resolve(struct mer_ingest_params *p, const char *config, const struct mer_strlist *sets,
                   const char *encoder, int dim, double min_rel)
{
    mer_config *cfg = NULL;
    struct mer_prior_settings prior;
    if (mer_config_load(&cfg, config, sets->items, sets->n) < 0 ||
        (!encoder && mer_config_check_path(cfg, "prior.encoder") < 0)) {
        mer_config_free(cfg);
        return -1;
    }
    mer_prior_settings_from_config(cfg, &prior);
    p->encoder = encoder ? encoder : prior.encoder;
    /* only the hash encoder takes the configured size; the others have their own */
    p->dim = dim >= 0 ? dim : !strcmp(p->encoder, "hash") ? prior.dim : 0;
    p->min_reliability = min_rel >= 0 ? min_rel : prior.min_reliability;
    if (!encoder && !(p->encoder = strdup(p->encoder))) /* outlives cfg */
        return mer_error("out of memory");
    mer_config_free(cfg);
    return 0;
}

/* What the option table cannot say (--dim's and --min-reliability's ranges are in it). */
static int check_options(const struct mer_ingest_params *p, int n, const char *out)
{
    if (!n)
        return mer_usage_error("ingest", "no responses file given");
    if (!out)
        return mer_usage_error("ingest", "no output given (-o <priors.safetensors>)");
    if (!p->labels)
        return mer_usage_error("ingest", "no labels store given (--labels <file>)");
    return 0;
}

/* Every output follows the one overwrite rule (new, or --force; never a directory), and none
 * may be an input. rewritable[k]: outs[k] is a by-product rewritten by every run. */
static int check_outputs(const char *const *outs, const int *rewritable, size_t n_outs, int force,
                         const char **argv, int n)
{
    for (size_t k = 0; k < n_outs; k++) {
        if (!outs[k])
            continue;
        if (mer_output_check(outs[k], force || rewritable[k]) < 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(outs[k], argv[i]))
                return mer_error("'%s' is both an input and an output", outs[k]);
    }
    return 0;
}

int cmd_ingest(int argc, const char **argv)
{
    struct mer_ingest_params p = mer_ingest_default_params();
    struct mer_ingest *g = NULL;
    struct mer_strlist sets = MER_STRLIST_INIT;
    const char *out = NULL, *report = NULL, *pseudo = NULL, *config = NULL, *encoder = NULL;
    char *provenance = NULL, *owned_encoder = NULL;
    int dim = -1, force = 0, quiet = 0, n, ret = 1;
    double min_rel = -1;
    struct mer_option opts[] = {
        MER_OPT_STRING('o', "out", &out, "file", "the priors store to write (.safetensors)"),
        MER_OPT_STRING(0, "labels", &p.labels, "file",
                       "labels store: the samples (rows, in order), classes, splits, truth"),
        MER_OPT_STRING(0, "encoder", &encoder, "spec",
                       "text encoder: hash, torchscript:<model.pt>, precomputed:<file.jsonl> "
                       "(default prior.encoder)"),
        MER_OPT_INT_RANGE(0, "dim", &dim, "[1,)",
                          "text embedding size of the hash encoder (default prior.dim)"),
        MER_OPT_DOUBLE_RANGE(0, "min-reliability", &min_rel, "[0,1]",
                             "traces less reliable than this are marked absent "
                             "(default prior.min_reliability)"),
        MER_OPT_STRING(0, "fit-split", &p.fit_split, "name",
                       "split whose traces fit the hash encoder's IDF (default train)"),
        MER_OPT_STRING(0, "score-order", &p.score_order, "a,b,..",
                       "class order of scores given as lists (default the prompt's)"),
        MER_OPT_STRING(0, "report", &report, "file",
                       "write the report here (default ingest-report.json beside -o)"),
        MER_OPT_STRING(0, "pseudo-labels", &pseudo, "file",
                       "also write the LLM's labels of unlabeled samples as a labels store"),
        MER_OPT_STRING('c', "config", &config, "file", "take prior.* from this config"),
        MER_OPT_LIST(0, "set", &sets, "key=value", "override a config key (repeatable)"),
        MER_OPT_BOOL(0, "force", &force, "overwrite existing outputs"),
        MER_OPT_BOOL('q', "quiet", &quiet, "print nothing on success"),
        MER_OPT_END(),
    };
    char *default_report = NULL;
    provenance = mer_provenance_json(argc, argv);
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0) {
        ret = mer_opt_exit_code(n);
        goto done;
    }
    if ((ret = check_options(&p, n, out)) != 0)
        goto done;
    ret = 1;
    if (!report) {
        const char *slash = strrchr(out, '/');
        default_report = slash ? mer_strfmt("%.*s/ingest-report.json", (int)(slash - out), out)
                               : mer_strfmt("ingest-report.json");
        report = default_report;
    }
    if (!provenance || !report) {
        mer_error("out of memory");
        goto fail;
    }
    {
        /* the default report is a by-product, rewritten by every run beside its store */
        const char *outs[] = {out, report, pseudo};
        const int rewritable[] = {0, default_report != NULL, 0};
        if (check_outputs(outs, rewritable, 3, force, argv, n) < 0)
            goto fail;
    }
    if (resolve(&p, config, &sets, encoder, dim, min_rel) < 0)
        goto fail;
    if (!encoder)
        owned_encoder = (char *)p.encoder;
    if (quiet)
        mer_progress_quiet(1);
    if (mer_ingest_new(&g, &p) < 0)
        goto fail;
    for (int i = 0; i < n; i++)
        if (mer_ingest_read(g, argv[i]) < 0)
            goto fail;
    if (mer_ingest_finish(g) < 0 || mer_ingest_write_priors(g, out, provenance) < 0 ||
        mer_ingest_write_report(g, report) < 0 ||
        (pseudo && mer_ingest_write_pseudo(g, pseudo, provenance) < 0))
        goto fail;
    if (!quiet) {
        mer_ingest_print_summary(g, stdout);
        printf("wrote '%s', report '%s'%s%s%s\n", out, report, pseudo ? ", pseudo-labels '" : "",
               pseudo ? pseudo : "", pseudo ? "'" : "");
    }
    ret = 0;
    goto done;
fail:
    ret = cmd_fail("ingest");
done:
    mer_ingest_free(g);
    mer_strlist_release(&sets);
    free(owned_encoder);
    free(default_report);
    free(provenance);
    return ret;
}
