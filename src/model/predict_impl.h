/* predict.c's private helpers. */
#ifndef MER_PREDICT_IMPL_H
#define MER_PREDICT_IMPL_H

#include "mer/strv.h"

#include <stddef.h>

/* The clips given (one directory, or files named <name>.<ext>) as sample names (appended to
 * *names), and csv written (atomic) as `name,path` (absolute paths) for the extractors. -1 with
 * the error set naming a missing clip, a name given twice or an empty directory. */
int mer_predict_list_clips(const char *const *clips, size_t n_clips, const char *csv,
                           struct mer_strv *names);

/* What stores are made again from. */
struct mer_predict_sources {
    const char *clips_csv;   /* name,path of the clips, or NULL */
    const char *transcripts; /* the transcripts CSV, or NULL */
    const char *device;      /* a backbone's device, or NULL */
    int jobs;
    const char *run_store; /* the run's store being made again (set by mer_predict_make_store) */
};

/* Makes modality's store again into out (the run's store: its path and its provenance's
 * "extractor" object, JSON text) by the extractor that object names; one table maps an
 * extractor's name to what runs it again. With out NULL, only checks that it can (its inputs
 * are given), so every modality is checked before any is made. -1 with the error set. */
int mer_predict_make_store(const char *modality, const char *store, const char *extractor,
                           const struct mer_predict_sources *src, const char *out);

#endif
