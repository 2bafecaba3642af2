/* Inside the sweep module: the parsed grid (grid.c), which sweep.c expands into members. */
#ifndef MER_SWEEP_IMPL_H
#define MER_SWEEP_IMPL_H

#include "mer/config.h"
#include "mer/strv.h"

#include <stddef.h>

/* One value of an axis: its text (a setting's name) and what it sets. */
struct grid_value {
    char *text;           /* as written: "0.35", "[\"audio\"]", or the setting's name */
    struct mer_strv sets; /* "key=value" (one for an axis; any number for a setting) */
    size_t line;          /* where it was given */
};

/* One line "key = a, b, c", or every "setting" line together (key NULL). */
struct grid_axis {
    char *key; /* the full config key; NULL for the settings */
    struct grid_value *v;
    size_t n, cap;
    size_t line; /* the axis's line (the first setting's) */
};

struct grid {
    const char *path;    /* for messages (borrowed) */
    mer_config *scratch; /* the base config every value is checked against (borrowed) */
    struct grid_axis *axes;
    size_t n_axes, cap_axes;
    size_t settings_axis; /* the settings' axis, when has_settings */
    int has_settings;
};

/* Reads path's axes, each value checked by setting it on base (which it changes); -1 with an
 * error naming path and the line. */
int mer_grid_parse(struct grid *g, const char *path, mer_config *base);
void mer_grid_release(struct grid *g);

#endif
