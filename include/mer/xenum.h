/*
 * xenum.h: enums defined once, as X-macro lists X(ENUM_VALUE, "name"): one list makes the enum,
 * its name table and the config schema's choices "a|b|c", so a value's name exists once.
 *
 *     #define MER_COLOURS(X) X(MER_COLOUR_RED, "red") X(MER_COLOUR_BLUE, "blue")
 *     enum mer_colour { MER_COLOURS(MER_ENUM_ROW) };
 *     enum { MER_N_COLOURS = 0 MER_COLOURS(MER_COUNT_ROW) };
 *     static const char *const mer_colour_names[MER_N_COLOURS] = {MER_COLOURS(MER_NAME_ROW)};
 *     ... MER_ALLOW(MER_COLOURS) ...                         // "red|blue", a constant
 *     int c = mer_enum_lookup("blue", mer_colour_names, MER_N_COLOURS);   // MER_COLOUR_BLUE
 *
 * Switches over such enums list every value and have no default, so a value added to a list
 * and missed in a switch is a compile error (-Wswitch), not a silent fallback.
 */
#ifndef MER_XENUM_H
#define MER_XENUM_H

#include <string.h>

/* Rows of an X-macro list: the enum, the name table, the count, the schema's "a|b|c". */
#define MER_ENUM_ROW(value, name)  value,
#define MER_NAME_ROW(value, name)  [value] = name,
#define MER_COUNT_ROW(value, name) +1
#define MER_ALLOW_ROW(value, name) "|" name
/* "a|b|c" from a list (the leading '|' skipped; a constant for static initialisers). */
#define MER_ALLOW(list) (&(list(MER_ALLOW_ROW))[1])

/* The value named s in names[0..n-1] (NULL entries skipped), or -1. */
static inline int mer_enum_lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (names[i] && !strcmp(s, names[i]))
            return i;
    return -1;
}

#endif
