/*
 * textenc_backend.h (private to src/traces): the TorchScript backend of the text encoders
 * (src/traces/tsenc.c), used by mer_textenc_open for "torchscript:<model.pt>".
 *
 * The module's forward(input_ids int64 [1, T], attention_mask int64 [1, T]) returns either a
 * float [1, H] or [H] sentence embedding, used as it is, or a list (or tuple) of every layer's
 * hidden states float32 [1, T, H] (Hugging Face's output_hidden_states): then, as MERTools
 * makes its text features, the last MER_TSENC_LAYERS are summed and averaged over the tokens
 * with [CLS] and [SEP] left out (zeros for a text without tokens). The text is
 * WordPiece-tokenized (uncased BERT rules) with vocab_path, as [CLS] ... [SEP], truncated to
 * max_tokens. Needs libtorch loaded (mer_torch_load).
 */
#ifndef MER_TRACES_TEXTENC_BACKEND_H
#define MER_TRACES_TEXTENC_BACKEND_H

#include <stdint.h>

#define MER_TSENC_LAYERS 4 /* hidden states summed, from the last (MERTools) */

typedef struct mer_tsenc mer_tsenc;
int mer_tsenc_open(struct mer_tsenc **out, const char *model_path, const char *vocab_path,
                   int max_tokens);
int64_t mer_tsenc_dim(const struct mer_tsenc *e); /* H, known after open (one probe run) */
int mer_tsenc_encode(struct mer_tsenc *e, const char *text, float *out);
void mer_tsenc_close(struct mer_tsenc *e);

#endif
