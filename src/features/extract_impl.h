/* Private to the extractors (src/features/extract*.c). */
#ifndef MER_FEATURES_EXTRACT_IMPL_H
#define MER_FEATURES_EXTRACT_IMPL_H

/* The command's provenance (JSON object text, or NULL) with "extractor" set to the options
 * object (JSON text), plus the decoder's and mer's versions: new text in *out. */
int mer_extract_provenance(const char *base, const char *options, char **out);

#include "mer/builder.h"
#include "mer/media.h"

/* What the clip extractors' messages call their inputs. */
extern const struct mer_build_nouns mer_clip_nouns;

/* The clips of input: a directory (the media extensions of extract.h) or a name,path CSV. */
int mer_extract_list_clips(struct mer_samples *s, const char *input);

/* A decoder failure as a skip of r under that reason (media.h's order: reason why - 1). */
int mer_extract_skip_media(struct mer_rows *r, enum mer_media_fail why);

/* The --param "name=value" options through set (the extractor's option parser), leaving out
 * reserved (a name the caller sets itself, refused with its own message), or NULL. */
int mer_extract_apply_params(const char *const *params, size_t n, void *opts,
                             int (*set)(void *opts, const char *name, const char *value),
                             const char *reserved, const char *reserved_why);

#endif
