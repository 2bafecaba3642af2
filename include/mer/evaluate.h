/*
 * evaluate.h: predictions files (name, p_<class>..., prediction[, label][, valence,
 * valence_label]) or MER2024 submissions (name,discrete, as mer and MERTools write them):
 * written (mer_predictions_write, mer_submission_write: what outputs.h's run outputs use), read,
 * joined with labels, scored with metrics.h, and turned into submissions.
 *
 *     struct mer_predictions *p;
 *     if (mer_predictions_read(&p, "runs/x/predictions/test.csv") < 0) ...;
 *     mer_predictions_attach_labels(p, "label-disdim.csv", 0);  // optional: CSV or store
 *     struct mer_metrics m;
 *     mer_predictions_score(p, &m);
 *     mer_metrics_print(stdout, &m, p->classes, p->n_expected);
 *     mer_predictions_free(p);
 *
 * A file is scored as it is, or refused: errors are one line naming file:line: a column
 * that appears twice, a probability that is not a finite number in [0, 1] (naming the
 * column), a prediction or label outside the classes, a sample on two rows (both lines);
 * with labels, a sample they lack, and a labeled sample of the predicted splits that has
 * no prediction (unless a subset is allowed; the report then says "n of N").
 */
#ifndef MER_EVALUATE_H
#define MER_EVALUATE_H

#include "mer/metrics.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mer_predictions {
    char *path;
    int submission; /* a name,discrete file: no probabilities; classes come from its rows */
    size_t n;
    char **names;   /* [n] */
    size_t *line;   /* [n] line of each row in path */
    int64_t *pred;  /* [n] class index */
    int64_t *label; /* [n] class index, -1 = unknown */
    int n_classes;
    char **classes;                  /* [K] from the p_<class> columns, or a submission's */
    double *valence, *valence_label; /* [n] from the valence columns, NaN = empty; NULL if none */
    double *confidence;              /* [n] each row's largest p_<class>; NULL for a submission */
    size_t n_expected; /* after attach_labels: labeled samples of the predicted splits (N) */
};

/* Reads a predictions file or a submission. New predictions in *out (free with
 * mer_predictions_free); -1 with the error set (see above). */
int mer_predictions_read(struct mer_predictions **out, const char *path);
void mer_predictions_free(struct mer_predictions *p);
/* Replaces the labels by those of a label CSV (labels.h) or labels store (told by content:
 * a safetensors header, whatever the file's name), joined by name. Every prediction must
 * have a label there; every labeled sample there, in a split that some prediction is in,
 * must have a prediction unless subset. A submission takes the labels' classes. */
int mer_predictions_attach_labels(struct mer_predictions *p, const char *labels_path, int subset);
/* Metrics over the labeled rows; -1 if none is labeled. */
int mer_predictions_score(const struct mer_predictions *p, struct mer_metrics *m);
/* MSE and CCC of the valence columns over the rows that have both values; -1 if none has. */
int mer_predictions_valence(const struct mer_predictions *p, double *mse, double *ccc, size_t *n);
/* MER2024 submission CSV of p's predictions (mer_submission_write). */
int mer_predictions_write_submission(const struct mer_predictions *p, const char *path);

/* ---- writing predictions files and submissions (what mer train leaves) ---- */

/* The samples that prediction sets index: plain arrays, as a dataset holds them. */
struct mer_samples {
    char *const *names;   /* sample names */
    const int64_t *label; /* class index, -1 = unlabeled */
    const float *valence; /* valence labels, NaN = none; read only with valence_head */
    char *const *classes; /* [K] class names */
    int n_classes;        /* K, at most MER_PRED_MAX_CLASSES */
    int valence_head;     /* rows carry a predicted valence after the K logits */
    int no_labels;        /* mer_predictions_write: no label (or valence_label) column */
};

#define MER_PRED_MAX_CLASSES 64

/* One set of predictions: row i is the model's for sample idx[i] of the samples' arrays. */
struct mer_pred_set {
    const char *name;   /* "cv" or the split's: predictions/<name>.csv, metrics.json's key */
    const int64_t *idx; /* [n] */
    size_t n;
    const float *rows;    /* [n, mer_samples_width]: K logits, then the valence */
    double scale;         /* the set's logits are rows * scale (1/folds when summed over folds) */
    double valence_scale; /* likewise for the valence */
};

/* Floats per row: K, plus 1 with the valence head. */
size_t mer_samples_width(const struct mer_samples *s);
/* Predicted class of each row (argmax of the logits) into pred [set->n]. */
void mer_pred_set_classes(const struct mer_samples *s, const struct mer_pred_set *set,
                          int64_t *pred);
/* Metrics of the predicted classes against the samples' labels (all labeled). -1 with the
 * error set on out of memory or a label out of range. */
int mer_pred_set_score(const struct mer_samples *s, const struct mer_pred_set *set,
                       struct mer_metrics *m);
/* The predictions file read above (atomic): name, p_<class> (softmax of the logits, "%.6f"),
 * prediction, label (empty if unlabeled) and with the valence head valence, valence_label
 * (empty if none), the label columns left out with no_labels (mer predict); names and
 * classes through csv.h's writer, quoted as needed. */
int mer_predictions_write(const char *path, const struct mer_samples *s,
                          const struct mer_pred_set *set);
/* MER2024 submission CSV: name,discrete, row i naming names[i] and classes[pred[i]], through
 * csv.h's writer. Atomic. The one writer of submissions, for mer train and mer eval. */
int mer_submission_write(const char *path, const char *const *names, char *const *classes,
                         const int64_t *pred, size_t n);
/* A readable report: summary line ("(n samples)", or "(n of N samples)" when of > n),
 * per-class table, confusion matrix. */
void mer_metrics_print(FILE *f, const struct mer_metrics *m, char *const *classes, size_t of);

#endif
