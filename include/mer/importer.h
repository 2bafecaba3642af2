/*
 * importer.h: per-sample .npy folders (MERTools' layout, <dir>/<name>.npy) into a
 * feature store (store.h), with pooling of frame-level inputs, sharding and resume.
 *
 *     struct mer_import_params p = mer_import_default_params();
 *     p.input = "features/chinese-hubert-large-FRA"; p.out = "audio.safetensors";
 *     struct mer_import_report r;
 *     if (mer_import_npy_dir(&p, &r) < 0) ...;
 *
 * A sample whose file cannot be read is reported on stderr ("warning: ...") and
 * skipped, unless p.strict. With p.ids_file (or p.labels_csv), names listed but without a file
 * ("missing") and files not listed ("extra") are reported by name.
 */
#ifndef MER_IMPORTER_H
#define MER_IMPORTER_H

#include "mer/opt.h"
#include "mer/store.h"

enum mer_pool { MER_POOL_MEAN, MER_POOL_MAX, MER_POOL_NONE };

struct mer_import_params {
    const char *input;      /* directory of .npy files */
    const char *out;        /* output file; a directory store (parts + index.json) with
                               shard.count > 1, a trailing '/' or an existing directory */
    const char *ids_file;   /* optional: names, one a line */
    const char *labels_csv; /* optional: a label CSV whose names play the part of ids_file */
    const char *provenance; /* JSON object text for mer.provenance, or NULL */
    enum mer_pool pool;
    enum mer_dtype dtype; /* F32 or F16 */
    struct mer_shard shard;
    int force, strict, quiet;
};

struct mer_import_report {
    size_t written;       /* samples in the output */
    size_t unreadable;    /* skipped: could not be read */
    size_t missing;       /* listed in ids_file, no .npy */
    size_t extra;         /* .npy not listed in ids_file */
    int64_t dim;          /* D */
    int frame_level;      /* wrote [sumT, D] + offsets */
    int skipped_existing; /* the part existed and was kept (resume) */
    char path[4096];      /* the file written */
};

struct mer_import_params mer_import_default_params(void);
int mer_import_parse_pool(const char *s, enum mer_pool *pool);
int mer_import_parse_dtype(const char *s, enum mer_dtype *dt);
int mer_import_npy_dir(const struct mer_import_params *p, struct mer_import_report *r);

#endif
