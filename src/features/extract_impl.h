/* Private to the extractors (src/features/extract*.c). */
#ifndef MER_FEATURES_EXTRACT_IMPL_H
#define MER_FEATURES_EXTRACT_IMPL_H

/* The command's provenance (JSON object text, or NULL) with "extractor" set to the options
 * object (JSON text), plus the decoder's and mer's versions: new text in *out. */
int mer_extract_provenance(const char *base, const char *options, char **out);

#endif
