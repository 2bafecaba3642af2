/*
 * modality.h: the three input modalities, in the order every store, config and model uses
 * (features, priors, the model's inputs), and their names.
 *
 *     for (int m = 0; m < MER_N_MODALITIES; m++)
 *         printf("%s\n", mer_modality_name(m));            // audio, video, text
 */
#ifndef MER_MODALITY_H
#define MER_MODALITY_H

#include "mer/xenum.h"

/* X(value, name) (xenum.h): the enum, the names and the config's choices. */
#define MER_MODALITIES(X)                                                                          \
    X(MER_MOD_AUDIO, "audio")                                                                      \
    X(MER_MOD_VIDEO, "video")                                                                      \
    X(MER_MOD_TEXT, "text")

enum mer_modality { MER_MODALITIES(MER_ENUM_ROW) MER_N_MODALITIES };

/* "audio", "video", "text"; "?" for anything else. Static storage. */
const char *mer_modality_name(enum mer_modality m);

#endif
