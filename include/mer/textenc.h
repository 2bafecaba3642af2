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
 */
#ifndef MER_TEXTENC_H
#define MER_TEXTENC_H

#include <stddef.h>
#include <stdint.h>

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

#endif
