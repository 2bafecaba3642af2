/*
 * wordpiece.h: BERT's tokenizer in C, for the TorchScript text encoder (src/traces/tsenc.c).
 *
 * It follows transformers' BertTokenizer (BasicTokenizer, then WordpieceTokenizer):
 *   1. clean: drop NUL, U+FFFD and control/format/unassigned characters (category C*, except
 *      tab/newline/CR); bytes that are not UTF-8 become U+FFFD and so are dropped too;
 *   2. put spaces around CJK ideographs (HF's _is_chinese_char ranges) and split on whitespace;
 *   3. with `lower`: lowercase each word (Python's str.lower(), final sigma included), then
 *      NFD and drop the combining marks (category Mn): "Café" -> "cafe";
 *   4. split off punctuation (ASCII 33-47, 58-64, 91-96, 123-126 and categories P*);
 *   5. WordPiece: greedy longest-match-first against the vocabulary, "##" marking a piece that
 *      continues a word; a word of more than 100 characters, or one that cannot be covered,
 *      is one [UNK].
 * The character tables (src/traces/unicode_tables.h, made by scripts/gen-unicode-tables.py)
 * cover all of Unicode as Python's unicodedata knew it (UC_UNICODE_VERSION).
 * Differences from HF: special tokens written in the text ("[CLS]") are ordinary text here,
 * and a vocab.txt line loses a trailing "\r" as well as its "\n".
 *
 *     struct mer_wordpiece *wp;
 *     if (mer_wordpiece_open(&wp, "model/vocab.txt", 1) < 0) ...;   // mer_errmsg() says why
 *     int64_t ids[128];
 *     size_t n = mer_wordpiece_encode(wp, text, strlen(text), ids, 128); // [CLS] ... [SEP]
 *     mer_wordpiece_close(wp);
 */
#ifndef MER_WORDPIECE_H
#define MER_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mer_wordpiece mer_wordpiece;

/* Reads a vocab.txt (one token a line; its id is its 0-based line number; a token listed
 * twice takes its last line, as HF's load_vocab). It must hold [UNK], [CLS] and [SEP].
 * lower != 0: uncased rules (step 3); 0 keeps case and accents. New object, free with
 * mer_wordpiece_close; -1 with an error naming the file (and the missing token). */
int mer_wordpiece_open(struct mer_wordpiece **out, const char *vocab_path, int lower);
void mer_wordpiece_close(struct mer_wordpiece *wp);

/* Tokenizes len bytes of text into ids as [CLS] pieces... [SEP], keeping the first
 * max_tokens - 2 pieces (HF's truncation=True, max_length=max_tokens). Returns the number of
 * ids written (2 for an empty text); max_tokens must be >= 2. Never fails: any bytes are
 * text. */
size_t mer_wordpiece_encode(const struct mer_wordpiece *wp, const char *text, size_t len,
                            int64_t *ids, size_t max_tokens);

/* The id of a token ("[UNK]", "##ing"), or -1 if the vocabulary lacks it. */
int64_t mer_wordpiece_id(const struct mer_wordpiece *wp, const char *token);
/* The token on line id of vocab.txt (borrowed, NUL-terminated), NULL outside the file. */
const char *mer_wordpiece_token(const struct mer_wordpiece *wp, int64_t id);
/* The Unicode version of the character tables ("14.0.0"); static storage. */
const char *mer_wordpiece_unicode_version(void);
/* Lines in vocab.txt (the model's embedding table needs at least this many rows). */
size_t mer_wordpiece_size(const struct mer_wordpiece *wp);

#endif
