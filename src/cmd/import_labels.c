/* mer import-labels: a label CSV (MER2024 or a manifest) -> a labels store. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/labels.h"
#include "mer/opt.h"
#include "mer/provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
    "mer import-labels [options] <labels.csv> -o <labels.safetensors>",
    NULL,
};

/* Splits "a,b,c" in place into at most max names. */
static int split_classes(char *s, const char **out, int max)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (n == max)
            return -1;
        out[n++] = tok;
    }
    return n;
}

static void print_summary(const struct mer_labels *l)
{
    printf("%-10s", "split");
    for (int k = 0; k < l->n_classes; k++)
        printf(" %9s", l->classes[k]);
    printf(" %9s %9s\n", "unlabeled", "total");
    for (int s = 0; s < l->n_splits; s++) {
        size_t total = 0, unlabeled = 0;
        printf("%-10s", l->splits[s]);
        for (int k = -1; k < l->n_classes; k++) {
            size_t c = 0;
            for (size_t i = 0; i < l->n; i++)
                c += l->split[i] == s && l->label[i] == k;
            total += c;
            if (k < 0)
                unlabeled = c;
            else
                printf(" %9zu", c);
        }
        printf(" %9zu %9zu\n", unlabeled, total);
    }
}

int cmd_import_labels(int argc, const char **argv)
{
    struct mer_labels_params p = mer_labels_default_params();
    struct mer_labels *l = NULL;
    const char *out = NULL, *classes = NULL, *classv[256];
    char *provenance = mer_provenance_json(argc, argv), *class_buf = NULL;
    int force = 0, quiet = 0, n, ret = 2;
    struct mer_option opts[] = {
        MER_OPT_STRING('o', "out", &out, "file", "the labels store to write"),
        MER_OPT_STRING(0, "classes", &classes, "a,b,..",
                       "class names in index order (default MER2024's "
                       "neutral,angry,happy,sad,worried,surprise)"),
        MER_OPT_STRING(0, "split", &p.default_split, "name",
                       "split of rows without a split column (default train)"),
        MER_OPT_BOOL(0, "force", &force, "overwrite an existing store"),
        MER_OPT_BOOL('q', "quiet", &quiet, "print nothing on success"),
        MER_OPT_END(),
    };
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0) {
        ret = mer_opt_exit_code(n);
        goto done;
    }
    if (n != 1 || !out) {
        ret = mer_usage_error("import-labels", n != 1 ? "expected one CSV file" : "no -o given");
        goto done;
    }
    if (classes) {
        class_buf = strdup(classes);
        p.n_classes = class_buf ? split_classes(class_buf, classv, 256) : -1;
        if (p.n_classes < 1) {
            ret = mer_usage_error("import-labels", "--classes: expected 1 to 256 names");
            goto done;
        }
        p.classes = classv;
    }
    ret = 1;
    if (mer_path_exists(out) && !force) {
        mer_error("'%s' exists (use --force to overwrite)", out);
        cmd_fail("import-labels");
        goto done;
    }
    if (mer_labels_from_csv(&l, argv[0], &p) < 0 || mer_labels_write(l, out, provenance) < 0) {
        cmd_fail("import-labels");
        goto done;
    }
    if (!quiet) {
        printf("imported %zu samples, %d classes, %d splits into '%s'\n", l->n, l->n_classes,
               l->n_splits, out);
        print_summary(l);
    }
    ret = 0;
done:
    mer_labels_free(l);
    free(class_buf);
    free(provenance);
    return ret;
}
