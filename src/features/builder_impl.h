/* Private to the builder (src/features/builder.c, samples.c). */
#ifndef MER_FEATURES_BUILDER_IMPL_H
#define MER_FEATURES_BUILDER_IMPL_H

#include "mer/builder.h"

/* Which names to keep: a list file (ids, or a label CSV's names) over the input's samples. */
struct mer_build_sel {
    const char *input; /* the directory or CSV the samples came from (for messages) */
    const char *list;  /* NULL: keep every sample */
    int is_labels;
    int strict; /* a listed name without an input is an error, not a warning */
    const struct mer_build_nouns *nouns;
};

/* Keeps the selected samples in the list's order (or all, in theirs); warns about the
 * missing and the extra; an error when nothing is left. */
int mer_build_select(struct mer_samples *s, const struct mer_build_sel *sel, size_t *n_missing,
                     size_t *n_extra);

#endif
