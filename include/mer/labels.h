/*
 * labels.h: sample labels, valence and splits, read from CSV and kept as a
 * "labels" store (store.h).
 *
 * Two CSV layouts, told apart by the header:
 *   MER2024's label-disdim.csv    name,discrete,valence
 *   a generic manifest            name,label[,valence][,split]
 * An empty label marks an unlabeled row (-1, e.g. MER2024's test clips); an
 * empty valence is NaN. Without a split column every row gets p.default_split.
 *
 *     struct mer_labels_params p = mer_labels_default_params();
 *     struct mer_labels *l;
 *     if (mer_labels_from_csv(&l, "label-disdim.csv", &p) < 0) ...;
 *     mer_labels_write(l, "labels.safetensors", provenance_json);
 *     mer_labels_free(l);
 */
#ifndef MER_LABELS_H
#define MER_LABELS_H

#include <stddef.h>
#include <stdint.h>

/* MER2024's class order (the official baseline's index order). */
extern const char *const mer_mer2024_classes[6];

struct mer_labels_params {
    const char *const *classes; /* class names in index order */
    int n_classes;              /* 0: classes in order of first appearance */
    const char *default_split; /* for rows without a split column; "train" */
};

struct mer_labels {
    size_t n;
    char **names;     /* [n] */
    int64_t *label;   /* [n], -1 = unlabeled */
    float *valence;   /* [n], NaN = absent */
    int64_t *split;   /* [n] index into splits */
    int n_classes;
    char **classes;   /* [n_classes] */
    int n_splits;
    char **splits;    /* [n_splits], in order of first appearance */
};

struct mer_labels_params mer_labels_default_params(void);
int mer_labels_from_csv(struct mer_labels **out, const char *path,
                        const struct mer_labels_params *p);
/* Writes a labels store atomically (mer.kind "labels"). */
int mer_labels_write(const struct mer_labels *l, const char *path, const char *provenance);
void mer_labels_free(struct mer_labels *l);

#endif
