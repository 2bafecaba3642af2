/* What the extractors share (extract.h, extract_impl.h). */
#include "features/extract_impl.h"
#include "mer/error.h"
#include "mer/extract.h"
#include "mer/version.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

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
