/*
 * evaluate.h: predictions files (as `mer train` writes them: name, p_<class>...,
 * prediction[, label]), joined with labels, scored with metrics.h, and turned into
 * MER2024 submissions (name,discrete).
 *
 *     struct mer_predictions *p;
 *     if (mer_predictions_read(&p, "runs/x/predictions/test.csv") < 0) ...;
 *     mer_predictions_attach_labels(p, "label-disdim.csv");  // optional: a CSV or labels store
 *     struct mer_metrics m;
 *     mer_predictions_score(p, &m);
 *     mer_predictions_free(p);
 */
#ifndef MER_EVALUATE_H
#define MER_EVALUATE_H

#include "mer/metrics.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mer_predictions {
    char *path;
    size_t n;
    char **names;   /* [n] */
    int64_t *pred;  /* [n] class index */
    int64_t *label; /* [n] class index, -1 = unknown */
    int n_classes;
    char **classes;                  /* [K] from the p_<class> columns */
    double *valence, *valence_label; /* [n] from the valence columns, NaN = empty; NULL if none */
};

int mer_predictions_read(struct mer_predictions **out, const char *path);
void mer_predictions_free(struct mer_predictions *p);
/* Replaces the labels by those of a label CSV (labels.h) or labels store, joined by name;
 * every prediction must have a label there (a missing name is an error naming it). */
int mer_predictions_attach_labels(struct mer_predictions *p, const char *labels_path);
/* Metrics over the labeled rows; -1 if none is labeled. */
int mer_predictions_score(const struct mer_predictions *p, struct mer_metrics *m);
/* MSE and CCC of the valence columns over the rows that have both values; -1 if none has. */
int mer_predictions_valence(const struct mer_predictions *p, double *mse, double *ccc, size_t *n);
/* MER2024 submission CSV: name,discrete. Atomic. */
int mer_predictions_write_submission(const struct mer_predictions *p, const char *path);
/* A readable report: summary line, per-class table, confusion matrix. */
void mer_metrics_print(FILE *f, const struct mer_metrics *m, char *const *classes);

#endif
