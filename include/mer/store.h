/*
 * store.h: mer's on-disk caches: safetensors files and feature stores.
 *
 * Layer 1, one safetensors file (https://github.com/huggingface/safetensors):
 * 8-byte little-endian header length N, N bytes of JSON header
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
 *  "__metadata__": {"key": "string", ...}}, then the raw little-endian data.
 * Files are read with mmap and written atomically (temp + fsync + rename).
 * Every file mer writes carries in __metadata__:
 *   mer.format   "mer-store"            (refused if different)
 *   mer.version  "1"                    (refused if newer than this build)
 *   mer.checksum "xxh64:<16 hex>"       over the data section (see below), verified
 *                                       on open with MER_ST_VERIFY and by mer info
 * Files without mer.* keys (written by other tools) are readable too, unless
 * MER_ST_REQUIRE_MER is given.
 *
 * The reader is paranoid (it is fuzzed): the header length must fit the file, the
 * header must be one JSON object (cJSON) followed only by spaces, names unique, dtypes
 * known, shapes at most MER_ST_MAX_DIMS sizes whose product fits, and the data_offsets
 * of the tensors must tile the data section exactly, in some order, without holes or
 * overlaps (as the safetensors spec requires). Every error is one line naming the file
 * and the place, e.g. "'x.safetensors': header: tensor 'features': data_offsets
 * [0, 400] exceed the data section of 396 bytes".
 *
 *     mer_st_writer *w = mer_st_writer_new();
 *     int64_t shape[2] = {n, d};
 *     mer_st_writer_add(w, "features", MER_DTYPE_F32, 2, shape, data);  // borrowed until write
 *     mer_st_writer_set_meta(w, "mer.kind", "features");
 *     if (mer_st_writer_write(w, "out.safetensors") < 0) ...;           // mer_errmsg()
 *     mer_st_writer_free(w);
 *
 *     mer_st_file *f;
 *     if (mer_st_open(&f, "out.safetensors", MER_ST_VERIFY) < 0) ...;
 *     const struct mer_st_tensor *t = mer_st_find(f, "features");
 *     mer_st_close(f);
 *
 * Layer 2, a feature store: one safetensors file, or a directory with
 * index.json and part-NNNNN.safetensors shards (written by sharded jobs and
 * joined by the reader). Conventions (metadata keys):
 *   mer.kind     "features" | "labels" | "priors"
 *   mer.ids      JSON array of the sample names, row order of every [N, ...] tensor
 *   mer.provenance JSON object: command, inputs, options, time, mer version
 * Tensors of a "features" store:
 *   features F32|F16 [N, D]             utterance level (or pooled)
 *   features F32|F16 [sumT, D] + offsets I64 [N+1]   frame level (--pool none)
 * Tensors of a "labels" store (metadata mer.classes, mer.splits: JSON arrays):
 *   label I64 [N] (class index, -1 = unlabeled), valence F32 [N] (NaN = absent),
 *   split I64 [N] (index into mer.splits)
 */
#ifndef MER_STORE_H
#define MER_STORE_H

#include <stddef.h>
#include <stdint.h>

#define MER_STORE_FORMAT  "mer-store"
#define MER_STORE_VERSION 1
#define MER_ST_MAX_DIMS   8

/* The largest header (the JSON after the 8-byte length) that mer writes and reads: the writer
 * refuses to write a larger one, so every file mer writes it can read back. A sample name
 * costs its length + 5 bytes in mer.ids: 1 GiB holds 10 million names of 100 bytes. (The
 * safetensors library reads headers of up to 10^8 bytes: a million such names.) */
#define MER_ST_MAX_HEADER ((size_t)1 << 30)

enum mer_dtype {
    MER_DTYPE_F32,
    MER_DTYPE_F16,
    MER_DTYPE_F64,
    MER_DTYPE_I64,
    MER_DTYPE_I32,
    MER_DTYPE_U8,
    MER_DTYPE_BF16,
};

/* "F32", "F16", ... as safetensors spells them. */
const char *mer_dtype_name(enum mer_dtype dt);
/* Bytes per element. */
size_t mer_dtype_size(enum mer_dtype dt);

/*
 * The content checksum, mer.checksum = "xxh64:<16 lowercase hex digits>": XXH64 with
 * seed 0 (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md) over every
 * byte of the data section, i.e. the file from byte 8 + N (N = the header length) to
 * its end. It runs at memory speed (~14 GB/s here, FNV-1a managed 0.9). In Python:
 *     xxhash.xxh64(data_section, seed=0).hexdigest()     # pip install xxhash
 * or the pure-Python XXH64 of python/mer_store.py (mer's numpy reader and writer).
 * Files that say "fnv1a64:<16 hex>" (the first format of mer 0.1) are verified with
 * 64-bit FNV-1a over the same bytes:
 *     h = 0xcbf29ce484222325; for each byte b: h = (h ^ b) * 0x100000001b3 mod 2^64
 * Any other algorithm name fails verification.
 */
#define MER_CHECKSUM_ALGO "xxh64"

/* XXH64, streaming: init, update any number of times, digest (does not change the state). */
struct mer_xxh64 {
    uint64_t v[4];
    uint64_t total; /* bytes seen */
    uint64_t seed;
    unsigned char buf[32];
    size_t n_buf;
};
void mer_xxh64_init(struct mer_xxh64 *s, uint64_t seed);
void mer_xxh64_update(struct mer_xxh64 *s, const void *data, size_t n);
uint64_t mer_xxh64_digest(const struct mer_xxh64 *s);
/* One call: XXH64 of n bytes. */
uint64_t mer_xxh64(const void *data, size_t n, uint64_t seed);

/* FNV-1a 64, the legacy "fnv1a64" checksum: h = mer_checksum_update(MER_CHECKSUM_INIT, ..). */
#define MER_CHECKSUM_INIT 0xcbf29ce484222325ULL
uint64_t mer_checksum_update(uint64_t h, const void *data, size_t n);

/* IEEE half <-> float conversions (round to nearest even; NaN stays NaN, overflow -> inf). */
float mer_f16_to_f32(uint16_t h);
uint16_t mer_f32_to_f16(float f);
/* n values; the halves are little-endian byte pairs at any alignment. */
void mer_f16_to_f32_n(float *dst, const void *src, size_t n);
void mer_f32_to_f16_n(void *dst, const float *src, size_t n);

/* ---- one safetensors file ---- */

typedef struct mer_st_writer mer_st_writer;
typedef struct mer_st_file mer_st_file;

struct mer_st_tensor {
    const char *name;
    enum mer_dtype dtype;
    int ndim;
    int64_t shape[MER_ST_MAX_DIMS];
    int64_t numel;
    const void *data; /* borrowed: valid until mer_st_close (mmap'd, maybe unaligned for I64/F64) */
    size_t nbytes;
};

/* New empty writer; free with mer_st_writer_free. NULL on out of memory. */
mer_st_writer *mer_st_writer_new(void);
void mer_st_writer_free(mer_st_writer *w);

/* Adds a tensor; data is borrowed until mer_st_writer_write returns. Names are unique. */
int mer_st_writer_add(mer_st_writer *w, const char *name, enum mer_dtype dt, int ndim,
                      const int64_t *shape, const void *data);
/* The same for data held in n_pieces consecutive pieces (chunks of a long run, each mmap'd,
 * say), written one after the other; the arrays and the pieces are borrowed until the write,
 * and their bytes must add up to the shape's. */
int mer_st_writer_add_pieces(mer_st_writer *w, const char *name, enum mer_dtype dt, int ndim,
                             const int64_t *shape, const void *const *pieces,
                             const size_t *piece_bytes, size_t n_pieces);
/* Sets a metadata string (copied); replaces an earlier value of the same key. */
int mer_st_writer_set_meta(mer_st_writer *w, const char *key, const char *value);
/* A list of strings as a metadata value: the compact JSON array's text, new (free with
 * free()); NULL on out of memory or a NULL string. */
char *mer_st_json_strings(const char *const *v, size_t n);
/* Sets a metadata value to that array (mer.ids, mer.classes, ...); -1 with the error set. */
int mer_st_writer_set_strings(mer_st_writer *w, const char *key, const char *const *v, size_t n);
/* The same for a number, written so that it reads back exactly ("%.17g"). */
int mer_st_writer_set_meta_num(mer_st_writer *w, const char *key, double value);
/* Writes the file atomically, adding mer.format, mer.version and mer.checksum. Refuses (-1,
 * nothing written) a header over MER_ST_MAX_HEADER or one that would not be valid UTF-8 (a
 * name or value with invalid bytes, which JSON readers such as Python's json.loads refuse),
 * naming the key. */
int mer_st_writer_write(mer_st_writer *w, const char *path);

enum mer_st_flags {
    MER_ST_VERIFY = 1 << 0,      /* check mer.checksum against the data */
    MER_ST_REQUIRE_MER = 1 << 1, /* refuse files without mer.format/mer.version */
};

/* Opens and validates a file (header, offsets, sizes; checksum with MER_ST_VERIFY).
 * New handle in *out; close with mer_st_close. -1 with an error naming file and place. */
int mer_st_open(mer_st_file **out, const char *path, unsigned flags);
/* The same where a missing file is no error: 1 if opened, 0 (*out NULL) if path does not
 * exist, -1 as mer_st_open. */
int mer_st_open_existing(mer_st_file **out, const char *path, unsigned flags);
void mer_st_close(mer_st_file *f);
/* The same over bytes in memory (borrowed; must outlive the handle); name is used in errors. */
int mer_st_open_memory(mer_st_file **out, const char *name, const void *data, size_t size,
                       unsigned flags);

const char *mer_st_path(const mer_st_file *f);
size_t mer_st_n_tensors(const mer_st_file *f);
/* Tensors in file (data offset) order; borrowed. */
const struct mer_st_tensor *mer_st_tensor_at(const mer_st_file *f, size_t i);
/* NULL if absent. */
const struct mer_st_tensor *mer_st_find(const mer_st_file *f, const char *name);
/* Metadata value, NULL if absent; borrowed. */
const char *mer_st_meta(const mer_st_file *f, const char *key);
/* A metadata value read as a number in [min, max], the whole value (written by
 * mer_st_writer_set_meta_num): 0 with *out set, or -1 with an error naming the file and key
 * when it is missing, not a finite number, or out of range ("'x': metadata 'epoch' is 1e+300,
 * outside 0 to 2147483647 (...)"). Check every number read from a file before using it. */
int mer_st_meta_number(const mer_st_file *f, const char *key, double min, double max, double *out);
/* A metadata value read as a JSON array of strings (mer.ids, mer.classes, ...): a new array of
 * *n copies in *out, NULL-terminated (free with strv.h's mer_strv_free), or -1 with an error
 * naming the file and key when it is missing, not an array or holds something else than a
 * string ("'x': metadata 'mer.ids': item 3 is not a string"); *out is then NULL. */
int mer_st_meta_strings(const mer_st_file *f, const char *key, char ***out, size_t *n);
/* The same for a whole number; |min| and |max| at most MER_ST_META_INT_MAX (2^53, where doubles
 * stop holding every integer). */
#define MER_ST_META_INT_MAX ((int64_t)1 << 53)
int mer_st_meta_int(const mer_st_file *f, const char *key, int64_t min, int64_t max, int64_t *out);
size_t mer_st_n_meta(const mer_st_file *f);
void mer_st_meta_at(const mer_st_file *f, size_t i, const char **key, const char **value);
/* 1 if the file carries a mer.checksum (opening with MER_ST_VERIFY has then checked it). */
int mer_st_has_checksum(const mer_st_file *f);
/* Checks mer.checksum against the data now: 0 if it matches, -1 with an error naming the
 * file if it does not, names an unknown algorithm, or is absent from a file that has
 * mer.format (a mer file always carries one). 0 for a foreign file without mer.* keys. */
int mer_st_verify(const mer_st_file *f);
/* Bytes in the file: the header (8 + N) and the data section after it. */
size_t mer_st_header_size(const mer_st_file *f);
size_t mer_st_data_size(const mer_st_file *f);

/* ---- feature stores (a file or a sharded directory) ---- */

typedef struct mer_store mer_store;

/*
 * Opens a store: a .safetensors file or a directory with index.json, whose parts must
 * all be present (a shard not yet written is an error naming it). Parts are mer files
 * (MER_ST_REQUIRE_MER is implied) with mer.ids; their sample names must be unique across
 * parts, and their features (if any) of one dimension D. A part may be frame level while
 * another is not (a shard whose inputs all had one frame): rows without offsets are one
 * frame each. A part with no samples is fine (more shards than samples).
 * New handle in *out (close with mer_store_close); -1 with an error naming file and place.
 */
int mer_store_open(mer_store **out, const char *path, unsigned flags);
void mer_store_close(mer_store *s);
/* mer_st_verify on every part; the first failure is the error. */
int mer_store_verify(const mer_store *s);

const char *mer_store_kind(const mer_store *s);
size_t mer_store_n_samples(const mer_store *s);
/* Borrowed sample name of row i. */
const char *mer_store_sample_id(const mer_store *s, size_t i);
/* Row index of a sample name, or -1. */
int64_t mer_store_find_sample(const mer_store *s, const char *name);
/* Feature dimension D of a "features" store. */
int64_t mer_store_dim(const mer_store *s);
/* 1 if frame level (offsets present). */
int mer_store_is_sequence(const mer_store *s);
/* Frames of sample i (1 for utterance level). */
int64_t mer_store_n_frames(const mer_store *s, size_t i);
/* Copies sample i's features as float32 into out ([n_frames, D]). */
int mer_store_read(const mer_store *s, size_t i, float *out);
/* Metadata of the first part; borrowed. */
const char *mer_store_meta(const mer_store *s, const char *key);
/* Number of parts (1 for a single file) and part i's open file; borrowed. */
size_t mer_store_n_parts(const mer_store *s);
const mer_st_file *mer_store_part(const mer_store *s, size_t i);

/* What mer_store_write_features writes (one file, or one part of a sharded store). */
struct mer_features_out {
    const char *const *ids; /* [n] sample names */
    size_t n;
    int64_t dim;            /* D */
    const float *data;      /* [n, D], or [offsets[n], D] frame level */
    const int64_t *offsets; /* [n + 1] for frame level, NULL for utterance level */
    enum mer_dtype dtype;   /* MER_DTYPE_F32 or MER_DTYPE_F16 (converted on write) */
    const char *provenance; /* JSON object text, or NULL */
    /* Instead of data: the rows in n_pieces consecutive pieces, already in dtype (the
     * builder's checkpoint chunks); borrowed until the call returns. */
    const void *const *pieces;
    const size_t *piece_bytes;
    size_t n_pieces;
    /* More tensors stored as they are (an encoder's fitted state, textenc.h), borrowed. */
    const struct mer_st_tensor *extra;
    size_t n_extra;
};

/* Writes a "features" store file atomically. */
int mer_store_write_features(const char *path, const struct mer_features_out *o);

/* Writes <dir>/index.json listing parts part-00000.safetensors .. part-(n_parts-1), atomically:
 *     {"mer.format": "mer-store-index", "mer.version": 1, "parts": ["part-00000.safetensors", ..]}
 * Sharded jobs write their part first and the index last, so a reader that finds the index
 * but not every part reports the missing one. */
int mer_store_write_index(const char *dir, int n_parts);
/* "<dir>/part-NNNNN.safetensors" for part i: a new string (free with free()), NULL on OOM. */
char *mer_store_part_path(const char *dir, int i);

#endif
