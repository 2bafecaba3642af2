/*
 * textenc.h: text encoders that turn a reasoning trace into a fixed-size vector
 * (the text part of a prior, configs/README.md, "Prior vector"). Chosen by `prior.encoder`:
 *
 *   "hash"                      character n-gram hashing, TF-IDF weights fitted on the
 *                               training split (mer_textenc_fit), signed random projection
 *                               to `dim`; no model needed, any language
 *   "torchscript:<model.pt>"    a user-exported sentence encoder run through libtorch, with
 *                               a WordPiece vocab.txt beside the model (tokenized in C)
 *   "precomputed:<file.jsonl>"  embeddings looked up by sample name and modality
 *
 *     struct mer_textenc *e;
 *     if (mer_textenc_open(&e, "hash", 256) < 0) ...;      // mer_errmsg() says why
 *     if (mer_textenc_fit(e, train_texts, n) < 0) ...;    // a no-op for the others
 *     float v[256];
 *     int found = mer_textenc_encode(e, "sample_0001", "visual", text, v);
 *     mer_textenc_close(e);
 *
 * What a fit learned is saved with what the encoder made, so new texts are encoded as the
 * old ones were: mer_textenc_state gives it as tensors for the store being written (the hash
 * encoder's IDF, sparse: the value of buckets no text had, then the others'), and
 * mer_textenc_load_state takes it back from such a store instead of fitting.
 */
#ifndef MER_TEXTENC_H
#define MER_TEXTENC_H

#include "mer/store.h"

#include <stddef.h>
#include <stdint.h>

/* The tensors of a saved hash encoder state. */
#define MER_TEXTENC_IDF_DEFAULT "textenc.idf.default" /* F32 [1] */
#define MER_TEXTENC_IDF_BUCKETS "textenc.idf.buckets" /* I64 [k] (absent when k = 0) */
#define MER_TEXTENC_IDF_VALUES  "textenc.idf.values"  /* F32 [k] */
#define MER_TEXTENC_MAX_STATE   3                     /* tensors of a state, at most */

typedef struct mer_textenc mer_textenc;

/* Opens the encoder `spec` (see above). `dim` is the output size for "hash"; the others take
 * theirs from the model or file, and fail if `dim` > 0 and differs. -1 with the error set. */
int mer_textenc_open(struct mer_textenc **out, const char *spec, int64_t dim);
/* Fits what the encoder learns from data (the hash encoder's IDF) on n texts. */
int mer_textenc_fit(struct mer_textenc *e, const char *const *texts, size_t n);
int64_t mer_textenc_dim(const struct mer_textenc *e);
/* Encodes one trace into out[dim]: 1 done, 0 no embedding for it (a precomputed file without
 * that sample and modality), -1 error. `modality` is "visual", "acoustic" or "textual". */
int mer_textenc_encode(struct mer_textenc *e, const char *name, const char *modality,
                       const char *text, float *out);
void mer_textenc_close(struct mer_textenc *e);
/* The fitted state as tensors t[0..*n) (*n <= MER_TEXTENC_MAX_STATE; 0 for an encoder that
 * learns nothing), their data held by e until the next call or mer_textenc_close. */
int mer_textenc_state(struct mer_textenc *e, struct mer_st_tensor *t, size_t *n);
/* Replaces what e learned by the state saved in f (a no-op for an encoder that learns
 * nothing); -1 with an error naming the file when f holds none or a malformed one. */
int mer_textenc_load_state(struct mer_textenc *e, const mer_st_file *f);

#endif
