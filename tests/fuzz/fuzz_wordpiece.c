/* libFuzzer target: the WordPiece tokenizer (src/traces/wordpiece.c) over arbitrary bytes.
 * The first byte picks max_tokens (2..257) and the cased or uncased rules, the rest is text.
 * Every result must be [CLS] ... [SEP] with ids inside the vocabulary, no longer than asked,
 * and a prefix of the untruncated result (truncation only cuts). */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/wordpiece.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A vocabulary with specials, ASCII, "##" pieces, a few words and non-ASCII characters. */
static const char vocab_text[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n!\n.\n,\n'\na\nb\nc\ne\n##a\n##b\n##c\n##e\n##s\n"
    "the\ncafe\ndeja\nvu\nhe\n##llo\nun\n##able\nσ\nς\n##σ\n##ς\nα\nе\nлка\n他\n生\n气\n。\n"
    "ｈｅｌｌｏ\n！\nstraße\n\xe1\x84\x92\n##\xe1\x85\xa1\n";

static struct mer_wordpiece *wp[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[] = "/tmp/mer-fuzz-vocab-XXXXXX";
    int fd = mkstemp(path);
    (void)argc;
    (void)argv;
    if (fd < 0 || write(fd, vocab_text, sizeof(vocab_text) - 1) != sizeof(vocab_text) - 1)
        abort();
    close(fd);
    if (mer_wordpiece_open(&wp[0], path, 0) < 0 || mer_wordpiece_open(&wp[1], path, 1) < 0)
        abort();
    unlink(path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int64_t full[1 << 16], cut[258];
    const struct mer_wordpiece *w;
    size_t max, n, nf, vsize;
    if (size < 1)
        return 0;
    w = wp[data[0] & 1];
    max = 2 + (data[0] >> 1) * 2;
    vsize = mer_wordpiece_size(w);
    n = mer_wordpiece_encode(w, (const char *)data + 1, size - 1, cut, max);
    nf = mer_wordpiece_encode(w, (const char *)data + 1, size - 1, full, sizeof(full) / 8);
    if (n < 2 || n > max || nf < n || cut[0] != 2 || cut[n - 1] != 3 || full[nf - 1] != 3)
        abort();
    for (size_t i = 0; i < n; i++)
        if (cut[i] < 0 || (size_t)cut[i] >= vsize || (i + 1 < n && cut[i] != full[i]))
            abort();
    if (nf < sizeof(full) / 8 && n < max && n != nf) /* nothing was cut: the same result */
        abort();
    return 0;
}
