/* What the extractors share (extract.h, extract_impl.h). */
#include "features/extract_impl.h"
#include "mer/error.h"
#include "mer/extract.h"
#include "mer/fs.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const mer_clip_extensions[] = {"mp4",  "avi", "mkv", "webm", "mov", "wav",
                                           "flac", "mp3", "m4a", "ogg",  "opus"};
const size_t mer_clip_n_extensions = MER_ARRAY_SIZE(mer_clip_extensions);

int mer_extract_provenance(const char *base, const char *options, char **out)
{
    cJSON *o = base ? cJSON_Parse(base) : cJSON_CreateObject();
    cJSON *opts = cJSON_Parse(options);
    *out = NULL;
    if (o && opts && cJSON_IsObject(o)) {
        cJSON_DeleteItemFromObject(o, "extractor");
        cJSON_AddItemToObject(o, "extractor", opts);
        opts = NULL;
        *out = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(o);
    cJSON_Delete(opts);
    return *out ? 0 : mer_error("out of memory");
}

const struct mer_build_nouns mer_clip_nouns = {
    .one = "clip", .a_one = "a clip", .many = "clips", .verb = "extract", .unit = "clips"};

int mer_extract_list_clips(struct mer_samples *s, const char *input)
{
    if (mer_is_dir(input))
        return mer_samples_from_dir(s, input, mer_clip_extensions, mer_clip_n_extensions,
                                    &mer_clip_nouns);
    if (!mer_path_exists(input))
        return mer_error("'%s': no such clips directory or list", input);
    return mer_samples_from_csv(s, input);
}

int mer_extract_skip_media(struct mer_rows *r, enum mer_media_fail why)
{
    return mer_rows_skip(r, (int)why - 1, "%s", mer_errmsg());
}

int mer_extract_apply_params(const char *const *params, size_t n, void *opts,
                             int (*set)(void *opts, const char *name, const char *value),
                             const char *reserved, const char *reserved_why)
{
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(params[i], '=');
        char name[64];
        if (!eq || eq == params[i] || (size_t)(eq - params[i]) >= sizeof(name))
            return mer_error("--param '%s': expected name=value", params[i]);
        snprintf(name, sizeof(name), "%.*s", (int)(eq - params[i]), params[i]);
        for (char *c = name; *c; c++)
            *c = *c == '-' ? '_' : *c;
        if (reserved && !strcmp(name, reserved))
            return mer_error("--param '%s': %s", params[i], reserved_why);
        if (set(opts, name, eq + 1) < 0)
            return mer_error_prefix("--param '%s'", params[i]);
    }
    return 0;
}
