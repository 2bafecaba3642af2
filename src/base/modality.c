/* The modalities' names (modality.h). */
#include "mer/modality.h"

static const char *const modality_names[MER_N_MODALITIES] = {MER_MODALITIES(MER_NAME_ROW)};

const char *mer_modality_name(enum mer_modality m)
{
    return m < MER_N_MODALITIES ? modality_names[m] : "?";
}
