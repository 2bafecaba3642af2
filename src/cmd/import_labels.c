/* mer import-labels: a label CSV (MER2024 or a manifest) -> a labels store. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/labels.h"
#include "mer/names.h"
#include "mer/opt.h"
#include "mer/provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
    "mer import-labels [options] <labels.csv> -o <labels.safetensors>",
    "mer import-labels label-disdim.csv --test-names <names> --test-split test1 -o <store>",
    NULL,
};

#define MAX_CLASSES 256

static int width_of(const char *header)
{
    int w = (int)strlen(header);
    return w < 5 ? 5 : w;
}

/* One table row: split s, or all splits for s = -1. */
static void print_row(const struct mer_labels *l, const char *name, int s, int name_w)
{
    size_t total = 0, unlabeled = 0;
    printf("%-*s", name_w, name);
    for (int k = -1; k < l->n_classes; k++) {
        size_t c = 0;
        for (int t = 0; t < l->n_splits; t++)
            c += s < 0 || s == t ? mer_labels_count(l, t, k) : 0;
        total += c;
        if (k < 0)
            unlabeled = c;
        else
            printf("  %*zu", width_of(l->classes[k]), c);
    }
    printf("  %*zu  %*zu\n", width_of("unlabeled"), unlabeled, 5, total);
}

/* The per-split, per-class counts table (and a total row when there are several splits). */
static void print_summary(const struct mer_labels *l, const char *csv, const char *out)
{
    int name_w = 5;
    for (int s = 0; s < l->n_splits; s++)
        if ((int)strlen(l->splits[s]) > name_w)
            name_w = (int)strlen(l->splits[s]);
    printf("imported %zu samples from '%s' (%s layout) into '%s'\n", l->n, csv,
           !strcmp(l->layout, "mer2024") ? "MER2024 label-disdim.csv" : "manifest", out);
    printf("%-*s", name_w, "split");
    for (int k = 0; k < l->n_classes; k++)
        printf("  %*s", width_of(l->classes[k]), l->classes[k]);
    printf("  %*s  %*s\n", width_of("unlabeled"), "unlabeled", 5, "total");
    for (int s = 0; s < l->n_splits; s++)
        print_row(l, l->splits[s], s, name_w);
    if (l->n_splits > 1)
        print_row(l, "all", -1, name_w);
}

int cmd_import_labels(int argc, const char **argv)
{
    struct mer_labels_params p = mer_labels_default_params();
    struct mer_labels *l = NULL;
    const char *out = NULL, *classes = NULL, *classv[MAX_CLASSES], *test_names = NULL,
               *test_split = NULL, *bad;
    char *provenance = NULL, *class_buf = NULL;
    int force = 0, quiet = 0, test_split_set, n, ret = 1;
    struct mer_option opts[] = {
        MER_OPT_STRING('o', "out", &out, "file", "the labels store to write (.safetensors)"),
        MER_OPT_STRING(0, "classes", &classes, "a,b,..",
                       "class names in index order (default MER2024's "
                       "neutral,angry,happy,sad,worried,surprise)"),
        MER_OPT_STRING(0, "split", &p.default_split, "name",
                       "split of rows without a split column or value (default train)"),
        MER_OPT_STRING(0, "test-names", &test_names, "file",
                       "add these clips (one name a line, or a CSV with a name column) as "
                       "unlabeled samples of --test-split"),
        MER_OPT_STRING(0, "test-split", &test_split, "name",
                       "split of the --test-names clips (default test)"),
        MER_OPT_BOOL(0, "force", &force, "overwrite an existing store"),
        MER_OPT_BOOL('q', "quiet", &quiet, "print nothing on success"),
        MER_OPT_END(),
    };
    /* Before parsing, which moves the positional arguments to the front of argv. */
    provenance = mer_provenance_json(argc, argv);
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0) {
        ret = mer_opt_exit_code(n);
        goto done;
    }
    test_split_set = test_split != NULL;
    if (!test_split)
        test_split = "test";
    if (n != 1) {
        ret = n ? mer_usage_error("import-labels", "unexpected argument '%s'", argv[1])
                : mer_usage_error("import-labels", "no label CSV given");
        goto done;
    }
    if (!out) {
        ret = mer_usage_error("import-labels", "no output given (-o <file>)");
        goto done;
    }
    bad = mer_name_check("split", p.default_split) < 0 ? "--split"
          : mer_name_check("split", test_split) < 0    ? "--test-split"
                                                       : NULL;
    if (bad) {
        ret = mer_usage_error("import-labels", "%s: %s", bad, mer_errmsg());
        goto done;
    }
    if (test_split_set && !test_names) {
        ret = mer_usage_error("import-labels", "--test-split needs --test-names");
        goto done;
    }
    if (classes) {
        if (!(class_buf = strdup(classes))) {
            mer_error("out of memory");
            ret = cmd_fail("import-labels");
            goto done;
        }
        if ((p.n_classes = cmd_parse_classes(class_buf, classv, MAX_CLASSES)) < 0) {
            ret = mer_usage_error("import-labels", "%s", mer_errmsg());
            goto done;
        }
        p.classes = classv;
    }
    if (mer_output_check(out, force) < 0) {
        ret = cmd_fail("import-labels");
        goto done;
    }
    if (!provenance) {
        mer_error("out of memory");
        ret = cmd_fail("import-labels");
        goto done;
    }
    if (mer_labels_from_csv(&l, argv[0], &p) < 0 ||
        (test_names && mer_labels_add_unlabeled(l, test_names, test_split) < 0) ||
        mer_labels_write(l, out, provenance) < 0) {
        ret = cmd_fail("import-labels");
        goto done;
    }
    mer_labels_warn_unlabeled(l, "train", argv[0]); /* data.train_split's default */
    if (!quiet)
        print_summary(l, argv[0], out);
    ret = 0;
done:
    mer_labels_free(l);
    free(class_buf);
    free(provenance);
    return ret;
}
