/*
 * labels.h: sample labels, valence and splits, read from CSV and kept as a
 * "labels" store (store.h: label I64 [N], valence F32 [N], split I64 [N];
 * mer.ids, mer.classes, mer.splits).
 *
 * Two CSV layouts, told apart by the header (columns in any order, extra ones ignored):
 *   MER2024's label-disdim.csv    name,discrete,valence     (a "discrete" column)
 *   a generic manifest            name,label[,valence][,split]
 * An empty label marks an unlabeled row (-1, e.g. MER2024's test clips); an
 * empty valence is NaN; a row without a split (no column, or an empty cell) gets
 * p.default_split. Splits are numbered in order of first appearance.
 *
 *     struct mer_labels_params p = mer_labels_default_params();
 *     struct mer_labels *l;
 *     if (mer_labels_from_csv(&l, "label-disdim.csv", &p) < 0) ...;   // mer_errmsg()
 *     if (mer_labels_write(l, "labels.safetensors", provenance_json) < 0) ...;
 *     ... mer_labels_read_store(&l2, "labels.safetensors") reads it back ...
 *     mer_labels_free(l);
 *
 * MER2024's label-disdim.csv lists the labeled clips only; the test clips come as a list of
 * names, added as unlabeled samples of their own split (mer import-labels --test-names):
 *
 *     if (mer_labels_add_unlabeled(l, "test-names.csv", "test1") < 0) ...;
 *
 * Errors are one line naming the file and line: a missing column (naming it), a row
 * whose field count differs from the header's, an empty name, a label outside the
 * class list (listing the classes), a valence that is not a finite number, a sample
 * name seen before (naming both lines), a split or class name that is not safe in a
 * file name (names.h: split '../x': ...); CSV syntax errors as csv.h. A labels store is
 * checked the same way (its class and split names too: another writer may put anything
 * there).
 */
#ifndef MER_LABELS_H
#define MER_LABELS_H

#include "mer/store.h"

#include <stddef.h>
#include <stdint.h>

/* MER2024's classes in the official baseline's index order:
 * neutral, angry, happy, sad, worried, surprise. */
extern const char *const mer_mer2024_classes[6];

struct mer_labels_params {
    const char *const *classes; /* class names in index order (borrowed); default MER2024's */
    int n_classes;              /* 0: any label, classes numbered in order of first appearance */
    const char *default_split;  /* split of rows without one; default "train" */
};

/* MER2024's classes, split "train". */
struct mer_labels_params mer_labels_default_params(void);

struct mer_labels {
    const char *layout; /* "mer2024" or "manifest" (the CSV header), or "store" (static) */
    size_t n;           /* samples, in file order */
    char **names;       /* [n] */
    int64_t *label;     /* [n] index into classes, -1 = unlabeled */
    float *valence;     /* [n] NaN = absent */
    int64_t *split;     /* [n] index into splits */
    int n_classes;
    char **classes; /* [n_classes] */
    int n_splits;
    char **splits; /* [n_splits] in order of first appearance */
};

/* Reads a label CSV. New labels in *out (free with mer_labels_free); -1 with the error
 * set, also for bad params (duplicate or empty class names). */
int mer_labels_from_csv(struct mer_labels **out, const char *path,
                        const struct mer_labels_params *p);
/* Reads a labels store written by mer_labels_write (checksum verified; labels and splits
 * checked to index the class and split lists). New labels in *out; -1 with the error set
 * naming the file. The arrays are separate malloc blocks: a caller may take them over. */
int mer_labels_read_store(struct mer_labels **out, const char *path);
/* The metadata every store over l's samples carries, in this order: mer.kind (kind: "labels",
 * "priors"), mer.ids (l's names) and mer.classes (its classes). -1 with the error set. */
int mer_labels_set_store_meta(mer_st_writer *w, const char *kind, const struct mer_labels *l);
/* Appends the samples of a name list as unlabeled samples of split: one name a line, or a CSV
 * with a "name" column (other columns ignored). -1 with the error set naming the list's line
 * for an empty name, a name already in l (naming its split and label) or listed twice, and
 * for an unsafe split name; l may then hold some of the names (free it). */
int mer_labels_add_unlabeled(struct mer_labels *l, const char *path, const char *split);
/* Samples of split s with label k (k = -1: unlabeled). */
size_t mer_labels_count(const struct mer_labels *l, int s, int k);
/* Records a warning (error.h's mer_warn) when split, the one training uses, holds unlabeled
 * samples: training skips them and predicts nothing for them. source names the labels. */
void mer_labels_warn_unlabeled(const struct mer_labels *l, const char *split, const char *source);
/* Writes a labels store atomically (mer.kind "labels"); provenance is a JSON object's
 * text stored as mer.provenance, or NULL. */
int mer_labels_write(const struct mer_labels *l, const char *path, const char *provenance);
/* The same for pseudo-labels: l's labels with a reliability in [0, 1] per sample ([n], the
 * "reliability" tensor), marked mer.pseudo_labels "true". */
int mer_labels_write_pseudo(const struct mer_labels *l, const float *reliability, const char *path,
                            const char *provenance);
void mer_labels_free(struct mer_labels *l);

#endif
