/*
 * model_impl.h (private to src/model): the parts of a mer_model (model.h) that the losses in
 * loss.c need, defined in model.c. Borrowed from the model; valid while it lives.
 */
#ifndef MER_MODEL_MODEL_IMPL_H
#define MER_MODEL_MODEL_IMPL_H

#include "mer/model.h"

/* The class prototypes, [K, Z]. */
mer_tensor *mer_model_prototypes_impl(const mer_model *m);
/* K. */
int mer_model_n_classes_impl(const mer_model *m);
/* The model's config. */
const struct mer_model_config *mer_model_config_impl(const mer_model *m);

#endif
