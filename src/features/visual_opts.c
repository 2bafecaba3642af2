/* The one option table of visual.h: defaults, the parser, the provenance and the help read it. */
#include "features/options_impl.h"
#include "mer/error.h"
#include "mer/range.h"
#include "mer/visual.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { T_BOOL, T_INT, T_PAIR, T_NORM };

struct opt_row {
    struct mer_visual_option_info info;
    enum opt_type type;
    size_t offset;
};

#define ROW(name, type, def, range, help)                                                          \
    {                                                                                              \
        {#name, TN_##type, def, range, help}, T_##type, offsetof(struct mer_visual_opts, name)     \
    }

#define TN_BOOL "bool"
#define TN_INT  "int"
#define TN_PAIR "pair"
#define TN_NORM "block_norm"

static const char *const norm_names[] = {"L1", "L1-sqrt", "L2", "L2-Hys"};
#define NORMS "L1|L1-sqrt|L2|L2-Hys"

/* clang-format off */
static const struct opt_row rows[] = {
    ROW(resize, PAIR, "64,64", "[1,4096]",
        "rows,cols the grayscale frame is resized to before HOG (skimage.transform.resize)"),
    ROW(anti_aliasing, BOOL, "true", "true|false",
        "Gaussian pre-filter, sigma (factor - 1) / 2, on an axis that shrinks (resize's default)"),
    ROW(orientations, INT, "9", "[1,180]", "orientation bins over 0-180 degrees"),
    ROW(pixels_per_cell, PAIR, "8,8", "[1,4096]", "rows,cols of a HOG cell"),
    ROW(cells_per_block, PAIR, "2,2", "[1,4096]",
        "rows,cols of cells in a normalisation block (skimage 0.19's default is 3,3)"),
    ROW(block_norm, NORM, "L2-Hys", NORMS, "block normalisation"),
    ROW(transform_sqrt, BOOL, "false", "true|false",
        "square root of the resized image before the gradients (power law compression)"),
    ROW(feature_vector, BOOL, "true", "true|false",
        "skimage's ravel of the HOG array; the numbers and their order are the same either way"),
    ROW(hog, BOOL, "true", "true|false", "HOG columns in a row"),
    ROW(colour, BOOL, "true", "true|false",
        "colour moments (mean, std, skewness of R, G, B) in a row"),
    ROW(motion, BOOL, "true", "true|false",
        "frame-difference motion energy (mean |gray_t - gray_t-1| of the resized frames) in a row"),
};
/* clang-format on */

size_t mer_visual_option_count(void)
{
    return MER_ARRAY_SIZE(rows);
}

const struct mer_visual_option_info *mer_visual_option(size_t i)
{
    return i < MER_ARRAY_SIZE(rows) ? &rows[i].info : NULL;
}

/* The row a name names (options_impl.h: '-' for '_' too), or NULL. */
static const struct opt_row *find_row(const char *name)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(rows); i++)
        if (mer_option_name_is(rows[i].info.name, name))
            return &rows[i];
    return NULL;
}

/* An integer in range, its text ending at *end (which may be a ',' or ')' of a pair). */
static int parse_int(const char *v, const struct mer_range *range, int *out, const char **end)
{
    char *e;
    long x;
    errno = 0;
    while (*v == ' ')
        v++;
    x = strtol(v, &e, 10);
    if (e == v || errno || !mer_range_contains(range, (double)x))
        return -1;
    while (*e == ' ')
        e++;
    *out = (int)x;
    *end = e;
    return 0;
}

/* "8,8", "8" (both) or Python's "(8, 8)". */
static int parse_pair(const char *v, const struct mer_range *range, int out[2])
{
    const char *e;
    int paren = *v == '(';
    if (parse_int(v + paren, range, &out[0], &e) < 0)
        return -1;
    out[1] = out[0];
    if (*e == ',' && parse_int(e + 1, range, &out[1], &e) < 0)
        return -1;
    if (paren && *e++ != ')')
        return -1;
    return *e ? -1 : 0;
}

static int parse_norm(const char *v, int *out)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(norm_names); i++)
        if (!strcmp(v, norm_names[i]))
            return *out = (int)i, 0;
    return -1;
}

/* The value text into the option's field of o, range-checked. */
static int set_row(struct mer_visual_opts *o, const struct opt_row *r, const char *v)
{
    char *field = (char *)o + r->offset, what[64] = "";
    const char *name = r->info.name, *end;
    struct mer_range range =
        mer_range_parse(r->type == T_INT || r->type == T_PAIR ? r->info.range : "(,)");
    int i, pair[2];
    mer_range_describe(&range, what, sizeof(what));
    switch (r->type) {
    case T_BOOL:
        if (mer_option_bool(v, &i) < 0)
            return mer_error("visual option '%s': expected true or false, got '%s'", name, v);
        *(int *)(void *)field = i;
        return 0;
    case T_NORM:
        if (parse_norm(v, &i) < 0)
            return mer_error("visual option '%s': expected one of " NORMS ", got '%s'", name, v);
        *(enum mer_visual_block_norm *)(void *)field = (enum mer_visual_block_norm)i;
        return 0;
    case T_INT:
        if (parse_int(v, &range, &i, &end) < 0 || *end)
            return mer_error("visual option '%s': expected an integer %s, got '%s'", name, what, v);
        *(int *)(void *)field = i;
        return 0;
    case T_PAIR:
        if (parse_pair(v, &range, pair) < 0)
            return mer_error("visual option '%s': expected rows,cols (or one number for both), "
                             "integers %s, got '%s'",
                             name, what, v);
        memcpy(field, pair, sizeof(pair));
        return 0;
    }
    MER_BUG("option type %d", (int)r->type);
    return -1;
}

void mer_visual_defaults(struct mer_visual_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < MER_ARRAY_SIZE(rows); i++)
        MER_ASSERT(set_row(o, &rows[i], rows[i].info.def) == 0);
}

int mer_visual_set(struct mer_visual_opts *o, const char *name, const char *value)
{
    const struct opt_row *r = find_row(name);
    struct mer_visual_opts copy = *o;
    if (!r) {
        char names[512] = "";
        for (size_t i = 0, at = 0; i < MER_ARRAY_SIZE(rows) && at < sizeof(names); i++)
            at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s", at ? ", " : "",
                                   rows[i].info.name);
        return mer_error("unknown visual option '%s' (known: %s)", name, names);
    }
    if (set_row(&copy, r, value) < 0)
        return -1;
    *o = copy;
    return 0;
}

static cJSON *pair_json(const int *p)
{
    return cJSON_CreateIntArray(p, 2);
}

cJSON *mer_visual_opts_json(const struct mer_visual_opts *o)
{
    cJSON *j = cJSON_CreateObject();
    for (size_t i = 0; j && i < MER_ARRAY_SIZE(rows); i++) {
        const struct opt_row *r = &rows[i];
        const char *field = (const char *)o + r->offset;
        cJSON *v = NULL;
        switch (r->type) {
        case T_BOOL:
            v = cJSON_CreateBool(*(const int *)(const void *)field);
            break;
        case T_INT:
            v = cJSON_CreateNumber(*(const int *)(const void *)field);
            break;
        case T_PAIR:
            v = pair_json((const int *)(const void *)field);
            break;
        case T_NORM:
            v = cJSON_CreateString(
                norm_names[*(const enum mer_visual_block_norm *)(const void *)field]);
            break;
        }
        if (!v || !cJSON_AddItemToObject(j, r->info.name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}
