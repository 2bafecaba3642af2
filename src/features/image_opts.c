/* The one option table of image.h: defaults, the parser, the provenance and the help read it. */
#include "features/options_impl.h"
#include "mer/error.h"
#include "mer/image.h"
#include "mer/range.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const float mer_image_clip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
const float mer_image_clip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
const float mer_image_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
const float mer_image_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

enum opt_type { T_SIZE, T_INTERP, T_BOOL, T_MEAN, T_STD };

struct opt_row {
    struct mer_image_option_info info;
    enum opt_type type;
    size_t offset;
};

#define ROW(name, field, type, def, range, help)                                                   \
    {                                                                                              \
        {name, TN_##type, def, range, help}, T_##type, offsetof(struct mer_image_opts, field)      \
    }

#define TN_SIZE   "int"
#define TN_INTERP "interpolation"
#define TN_BOOL   "bool"
#define TN_MEAN   "rgb"
#define TN_STD    "rgb"

static const char *const interp_names[] = {"bicubic", "bilinear"};

/* clang-format off */
static const struct opt_row rows[] = {
    ROW("resize", resize, SIZE, "224", "[0,8192]",
        "the shorter side resized to this, the longer in proportion (0: no resize)"),
    ROW("crop", crop, SIZE, "224", "[0,8192]", "the centre square of this side (0: no crop)"),
    ROW("interpolation", interp, INTERP, "bicubic", "bicubic|bilinear",
        "resampling filter, PIL's (bicubic: CLIP's; bilinear: torchvision's default)"),
    ROW("rescale", rescale, BOOL, "true", "true|false", "divide the byte values by 255"),
    ROW("mean", mean, MEAN, "clip", "clip|imagenet|none|R,G,B",
        "subtracted per channel (clip: 0.48145466,0.4578275,0.40821073; imagenet: "
        "0.485,0.456,0.406; none: 0)"),
    ROW("std", std, STD, "clip", "clip|imagenet|none|R,G,B (> 0)",
        "divides per channel after the mean (clip: 0.26862954,0.26130258,0.27577711; "
        "imagenet: 0.229,0.224,0.225; none: 1)"),
};
/* clang-format on */

size_t mer_image_option_count(void)
{
    return MER_ARRAY_SIZE(rows);
}

const struct mer_image_option_info *mer_image_option(size_t i)
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

/* A preset name or "r,g,b" into rgb[3]; std values must be > 0. */
static int parse_rgb(const char *v, float rgb[3], int is_std)
{
    const float *preset = NULL;
    static const float zeros[3] = {0, 0, 0}, ones[3] = {1, 1, 1};
    char buf[128], *tok, *save = NULL;
    int n = 0;
    if (!strcmp(v, "clip"))
        preset = is_std ? mer_image_clip_std : mer_image_clip_mean;
    else if (!strcmp(v, "imagenet"))
        preset = is_std ? mer_image_imagenet_std : mer_image_imagenet_mean;
    else if (!strcmp(v, "none"))
        preset = is_std ? ones : zeros;
    if (preset) {
        memcpy(rgb, preset, 3 * sizeof(float));
        return 0;
    }
    if (strlen(v) >= sizeof(buf))
        return -1;
    strcpy(buf, v);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        double d;
        if (n == 3 || mer_option_real(tok, &d) < 0 || (is_std && !(d > 0)) || fabs(d) > 1e6)
            return -1;
        rgb[n++] = (float)d;
    }
    return n == 3 ? 0 : -1;
}

/* The value text into the option's field of o, range-checked. */
static int set_row(struct mer_image_opts *o, const struct opt_row *r, const char *v)
{
    char *field = (char *)o + r->offset;
    const char *name = r->info.name;
    double d;
    switch (r->type) {
    case T_SIZE: {
        struct mer_range range = mer_range_parse(r->info.range);
        if (mer_option_real(v, &d) < 0 || d != floor(d) || !mer_range_contains(&range, d))
            return mer_error("image option '%s': expected an integer in %s, got '%s'", name,
                             r->info.range, v);
        *(int *)(void *)field = (int)d;
        return 0;
    }
    case T_INTERP:
        for (size_t i = 0; i < MER_ARRAY_SIZE(interp_names); i++)
            if (!strcmp(v, interp_names[i])) {
                *(enum mer_image_interp *)(void *)field = (enum mer_image_interp)i;
                return 0;
            }
        return mer_error("image option '%s': expected bicubic or bilinear, got '%s'", name, v);
    case T_BOOL:
        if (mer_option_bool(v, (int *)(void *)field) < 0)
            return mer_error("image option '%s': expected true or false, got '%s'", name, v);
        return 0;
    case T_MEAN:
    case T_STD:
        if (parse_rgb(v, (float *)(void *)field, r->type == T_STD) < 0)
            return mer_error("image option '%s': expected %s, got '%s'", name, r->info.range, v);
        return 0;
    }
    MER_BUG("option type %d", (int)r->type);
    return -1;
}

void mer_image_defaults(struct mer_image_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < MER_ARRAY_SIZE(rows); i++)
        MER_ASSERT(set_row(o, &rows[i], rows[i].info.def) == 0);
}

int mer_image_set(struct mer_image_opts *o, const char *name, const char *value)
{
    const struct opt_row *r = find_row(name);
    struct mer_image_opts copy = *o;
    if (!r) {
        char names[256] = "";
        for (size_t i = 0, at = 0; i < MER_ARRAY_SIZE(rows) && at < sizeof(names); i++)
            at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s", at ? ", " : "",
                                   rows[i].info.name);
        return mer_error("unknown image option '%s' (known: %s)", name, names);
    }
    if (set_row(&copy, r, value) < 0)
        return -1;
    *o = copy;
    return 0;
}

/* The shortest decimal that reads back as the float f (0.485f is 0.485, not 0.4850000143). */
static double shortest(float f)
{
    char buf[32];
    for (int digits = 6; digits < 9; digits++) {
        snprintf(buf, sizeof(buf), "%.*g", digits, (double)f);
        if ((float)strtod(buf, NULL) == f)
            return strtod(buf, NULL);
    }
    return f;
}

static cJSON *rgb_json(const float rgb[3])
{
    cJSON *a = cJSON_CreateArray();
    for (int c = 0; a && c < 3; c++) {
        cJSON *v = cJSON_CreateNumber(shortest(rgb[c]));
        if (!v || !cJSON_AddItemToArray(a, v)) {
            cJSON_Delete(v);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

cJSON *mer_image_opts_json(const struct mer_image_opts *o)
{
    cJSON *j = cJSON_CreateObject();
    for (size_t i = 0; j && i < MER_ARRAY_SIZE(rows); i++) {
        const struct opt_row *r = &rows[i];
        const char *field = (const char *)o + r->offset;
        cJSON *v = NULL;
        switch (r->type) {
        case T_SIZE:
            v = cJSON_CreateNumber(*(const int *)(const void *)field);
            break;
        case T_INTERP:
            v = cJSON_CreateString(
                interp_names[*(const enum mer_image_interp *)(const void *)field]);
            break;
        case T_BOOL:
            v = cJSON_CreateBool(*(const int *)(const void *)field);
            break;
        case T_MEAN:
        case T_STD:
            v = rgb_json((const float *)(const void *)field);
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
