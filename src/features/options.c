/* The extractors' option-table helpers (options_impl.h). */
#include "features/options_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int mer_option_name_is(const char *row, const char *name)
{
    while (*row && (*row == *name || (*row == '_' && *name == '-')))
        row++, name++;
    return !*row && !*name;
}

int mer_option_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "1"))
        return *out = 1, 0;
    if (!strcmp(v, "false") || !strcmp(v, "0"))
        return *out = 0, 0;
    return -1;
}

int mer_option_real(const char *v, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    return (end == v || *end || errno || !isfinite(*out)) ? -1 : 0;
}
