/*
 * builder.h: the one feature-store builder behind `mer import` and every `mer extract`.
 *
 * It owns what all of them share: the sample list (a directory or a `name,path` CSV, fixed in
 * set and order by an ids file or a label CSV, with missing and extra names reported),
 * sharding (round robin over the samples), worker threads feeding a bounded in-order queue,
 * pooling of frame-level rows, skipping a sample that cannot be used (reported by name and
 * reason, counted per reason; --strict fails instead), resume after kill -9 and the atomic
 * write of the store. The caller gives only a function that makes one sample's rows:
 *
 *     static int make_rows(void *ctx, const char *name, const char *path, struct mer_rows *r)
 *     {   ... r->data = rows; r->t = t; r->d = d; return 1;   // or mer_rows_skip(r, ...)
 *     }
 *     struct mer_samples s = MER_SAMPLES_INIT;
 *     mer_samples_from_dir(&s, "clips", exts, n_exts, &nouns);
 *     struct mer_build_source src = {.nouns = &nouns, .produce = make_rows, .ctx = &state};
 *     struct mer_build_params p = mer_build_default_params();
 *     p.out = "audio.safetensors";
 *     struct mer_build_report r;
 *     if (mer_build_store(&p, &s, &src, &r) < 0) ...;     // mer_errmsg(); warnings: mer_warn
 *
 * Resume: rows are written, as they are made, into checkpoint chunks under
 * `<output>.partial/` (each chunk an atomic safetensors file); a run that was killed
 * continues after the last finished chunk when run again with the same samples and options
 * (a fingerprint of both is kept there), and --force starts over. The finished store is
 * assembled from the chunks without holding the whole set in memory, then the partial
 * directory is removed. A sharded run (--shard i/n, or -o naming a directory) writes
 * part-<i>.safetensors and index.json; a part that exists is finished and is kept.
 */
#ifndef MER_BUILDER_H
#define MER_BUILDER_H

#include "mer/error.h"
#include "mer/opt.h"
#include "mer/store.h"
#include "mer/strv.h"

#include <stddef.h>
#include <stdint.h>

/* How a sample's frames [T, D] become its rows. */
#define MER_POOL_LIST(X)                                                                           \
    X(MEAN, "mean")         /* [1, D]: the mean over frames (MERTools' -UTT) */                    \
    X(MAX, "max")           /* [1, D]: the maximum (a NaN stays NaN, as numpy's) */                \
    X(MEAN_STD, "mean,std") /* [1, 2D]: mean, then standard deviation (ddof 0) */                  \
    X(NONE, "none")         /* [T, D]: frame level (MERTools' -FRA), with offsets */
#define MER_POOL_ENUM(id, name) MER_POOL_##id,
enum mer_pool { MER_POOL_LIST(MER_POOL_ENUM) MER_POOL_N };
#undef MER_POOL_ENUM
const char *mer_pool_name(enum mer_pool pool);
/* Reads a --pool value among the allowed ones (a mask of 1 << MER_POOL_x; 0 = all): -1 with
 * "--pool 'x': expected mean, max or none" otherwise. */
int mer_pool_parse(const char *s, unsigned allowed, enum mer_pool *pool);

/* Columns of a pooled row: d, or 2d for mean,std. */
int64_t mer_pool_cols(enum mer_pool pool, int64_t d);

/* Pooling row by row (a long clip's frames as they are made, in bounded memory), and the one
 * definition of each pool: mean and std accumulated in double (std from the sums, ddof 0),
 * max keeping a NaN. */
struct mer_pool_acc {
    enum mer_pool pool; /* not MER_POOL_NONE */
    int64_t d, t;
    double *sum, *sumsq;
    float *max;
};
int mer_pool_acc_init(struct mer_pool_acc *a, enum mer_pool pool, int64_t d);
void mer_pool_acc_add(struct mer_pool_acc *a, const float *row);
/* The pooled row into out[mer_pool_cols(pool, d)] (zeros if no row was added). */
void mer_pool_acc_finish(const struct mer_pool_acc *a, float *out);
void mer_pool_acc_release(struct mer_pool_acc *a);

/* What the messages call the inputs: {".npy", "a .npy file", ".npy files", "import",
 * "files"}. */
struct mer_build_nouns {
    const char *one;   /* "clip" */
    const char *a_one; /* "a clip" */
    const char *many;  /* "clips" */
    const char *verb;  /* "extract" */
    const char *unit;  /* what the progress counts: "clips" */
};

/* ---- the samples ---- */

struct mer_samples {
    struct mer_strv names; /* sample names */
    struct mer_strv paths; /* [names.n] the input of each */
};
#define MER_SAMPLES_INIT                                                                           \
    {                                                                                              \
        MER_STRV_INIT, MER_STRV_INIT                                                               \
    }

/* The files <dir>/<name>.<ext> for the given extensions (lowercase compared), sorted by
 * name; one name with two files ('a.mp4' and 'a.avi') is an error naming both. A file whose
 * name is not valid UTF-8 is kept under its escaped name: making its rows reports it. */
int mer_samples_from_dir(struct mer_samples *s, const char *dir, const char *const *exts,
                         size_t n_exts, const struct mer_build_nouns *nouns);
/* A CSV with a header row naming `name` and `path` columns (others ignored); a relative path
 * is taken from the CSV's directory. Rows in file order; a repeated name is an error. */
int mer_samples_from_csv(struct mer_samples *s, const char *csv);
/* -1 with "'<path>': sample 'x' is listed twice" if a name repeats. */
int mer_samples_check_unique(const struct mer_samples *s, const char *path);
void mer_samples_release(struct mer_samples *s);

/* ---- one sample's rows, made by the caller ---- */

struct mer_rows {
    float *data;    /* [t, d], new (malloc): the builder frees it */
    int64_t t, d;   /* frames, columns; t may be 0 only with a skip */
    int pooled;     /* the producer pooled already (streaming): data is the row(s) to store */
    double seconds; /* the input's duration, for the rate shown (0 if none) */
    int reason;     /* a skip: index into the source's reasons (+1; 0 = not skipped) */
    int missing;    /* with a reason: the sample has none of this modality (a clip without a
                       video stream, say): left out of the store for training to mask, reported,
                       and no failure under --strict */
    char msg[512];  /* a skip's message, or a fatal error's (the worker's mer_errmsg) */
};

/* Marks r skipped for reason (index into the source's reasons) with a message; returns 0. */
int mer_rows_skip(struct mer_rows *r, int reason, const char *fmt, ...) MER_PRINTF(3, 4);

struct mer_build_source {
    const char *label; /* the progress line's: "extract audio" */
    const struct mer_build_nouns *nouns;
    const char *const *reasons; /* names of the skip reasons, counted in the summary */
    size_t n_reasons;
    int bad_name_reason; /* the reason a file name that is not UTF-8 is counted under */
    /* Makes one sample's rows: 1 made, 0 skipped (mer_rows_skip), -1 a fatal error (with
     * mer_error set, e.g. out of memory or an extractor that cannot run at all). Called from
     * worker threads when jobs > 1: it must be thread-safe. */
    int (*produce)(void *ctx, const char *name, const char *path, struct mer_rows *r);
    void *ctx;
    /* Optional, for batched inference: called on the calling thread with up to batch_size
     * consecutive samples' rows as produce made them (those skipped included: leave them),
     * in sample order, before they are pooled and stored; it may replace each r->data (and
     * t, d) or skip a sample. 0, or -1 with the error set. */
    int (*batch)(void *ctx, struct mer_rows *rows, size_t n);
    size_t batch_size;
    /* A fingerprint of every option that changes the rows (resume refuses another), or NULL. */
    const char *options;
};

struct mer_build_params {
    const char *input;      /* the directory or CSV the samples came from (for messages) */
    const char *out;        /* a .safetensors file, or a directory store (parts + index.json)
                               with shard.count > 1, a trailing '/' or an existing directory */
    const char *ids_file;   /* optional: names, one a line, fix the set and order */
    const char *labels_csv; /* optional: a label CSV whose names do the same */
    const char *provenance; /* JSON object text for mer.provenance, or NULL */
    enum mer_pool pool;
    enum mer_dtype dtype; /* F32 or F16 */
    struct mer_shard shard;
    int jobs;             /* worker threads making rows (1: the calling thread) */
    size_t chunk_samples; /* samples per checkpoint chunk (0: the default, 256) */
    int force, strict;
    /* More tensors for every file of the store (an encoder's fitted state), borrowed. */
    const struct mer_st_tensor *extra;
    size_t n_extra;
};

#define MER_BUILD_MAX_REASONS 16

struct mer_build_report {
    size_t written; /* samples in the output */
    size_t skipped; /* samples that could not be used */
    size_t by_reason[MER_BUILD_MAX_REASONS];
    size_t missing;       /* listed in ids/labels, no input */
    size_t extra;         /* inputs not listed */
    int64_t dim;          /* D of the stored rows */
    int frame_level;      /* wrote [sumT, D] + offsets */
    int skipped_existing; /* the part existed and was kept (resume) */
    size_t resumed;       /* samples taken from an interrupted run's chunks */
    double seconds;       /* input duration made into rows (the producer's r->seconds) */
    double elapsed;       /* wall time */
    char path[4096];      /* the file written */
};

struct mer_build_params mer_build_default_params(void);
/* -1 with the error set; on success the warnings (error.h) name the skipped and missing. */
int mer_build_store(const struct mer_build_params *p, struct mer_samples *samples,
                    const struct mer_build_source *src, struct mer_build_report *r);

#endif
