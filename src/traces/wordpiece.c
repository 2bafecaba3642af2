/*
 * BERT's tokenizer (include/mer/wordpiece.h). One pass over the UTF-8 text, no copy of it:
 * characters are cleaned, mapped (lowercase + NFD - Mn) and split as they are decoded, and
 * each finished word goes through WordPiece at once, so a huge text costs only the pieces
 * that fit in max_tokens.
 */
#include "mer/wordpiece.h"
#include "mer/error.h"
#include "mer/fs.h"

#include "unicode_tables.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WORD 100 /* HF's max_input_chars_per_word: longer words are one [UNK] */

struct mer_wordpiece {
    char *data;     /* vocab.txt, each line NUL-terminated in place */
    char **tokens;  /* [n] the lines */
    size_t *lens;   /* [n] their lengths in bytes */
    size_t n;       /* lines */
    int64_t *slots; /* hash table over tokens: a line number, or -1 if empty */
    size_t cap;     /* slots, a power of two */
    size_t longest; /* the longest token in bytes: no longer candidate can match */
    int64_t unk, cls, sep;
    int lower;
};

/* ---- the vocabulary ---- */

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The slot holding token s[len], or the empty slot where it would go. */
static size_t find_slot(const struct mer_wordpiece *wp, const char *s, size_t len)
{
    size_t i = (size_t)hash_bytes(s, len) & (wp->cap - 1);
    for (; wp->slots[i] >= 0; i = (i + 1) & (wp->cap - 1)) {
        int64_t t = wp->slots[i];
        if (wp->lens[t] == len && !memcmp(wp->tokens[t], s, len))
            break;
    }
    return i;
}

static int64_t lookup(const struct mer_wordpiece *wp, const char *s, size_t len)
{
    return wp->slots[find_slot(wp, s, len)];
}

/* Splits data into lines as Python's readlines() + rstrip("\n") (and a "\r" too). */
static int split_lines(struct mer_wordpiece *wp, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += wp->data[i] == '\n';
    n += size > 0 && wp->data[size - 1] != '\n'; /* a last line without a newline */
    wp->tokens = malloc((n ? n : 1) * sizeof(*wp->tokens));
    wp->lens = malloc((n ? n : 1) * sizeof(*wp->lens));
    if (!wp->tokens || !wp->lens)
        return mer_error("out of memory");
    for (size_t i = 0, start = 0; i < size; i++) {
        if (wp->data[i] != '\n' && i + 1 < size)
            continue;
        size_t stop = wp->data[i] == '\n' ? i : size;
        if (stop > start && wp->data[stop - 1] == '\r')
            stop--;
        wp->data[stop] = '\0';
        wp->tokens[wp->n] = wp->data + start;
        wp->lens[wp->n++] = stop - start;
        start = i + 1;
    }
    return 0;
}

static int build_index(struct mer_wordpiece *wp)
{
    wp->cap = 16;
    while (wp->cap < 2 * wp->n + 1)
        wp->cap *= 2;
    wp->slots = malloc(wp->cap * sizeof(*wp->slots));
    if (!wp->slots)
        return mer_error("out of memory");
    memset(wp->slots, 0xff, wp->cap * sizeof(*wp->slots)); /* all -1 */
    for (size_t t = 0; t < wp->n; t++) { /* a repeated token: its last line wins */
        wp->slots[find_slot(wp, wp->tokens[t], wp->lens[t])] = (int64_t)t;
        if (wp->lens[t] > wp->longest)
            wp->longest = wp->lens[t];
    }
    return 0;
}

static int special(const struct mer_wordpiece *wp, const char *path, const char *token, int64_t *id)
{
    *id = mer_wordpiece_id(wp, token);
    if (*id < 0)
        return mer_error("'%s': the vocabulary has no '%s' token (%zu lines)", path, token, wp->n);
    return 0;
}

int mer_wordpiece_open(struct mer_wordpiece **out, const char *vocab_path, int lower)
{
    struct mer_wordpiece *wp = calloc(1, sizeof(*wp));
    size_t size = 0;
    *out = NULL;
    if (!wp)
        return mer_error("out of memory");
    wp->lower = lower;
    if (mer_read_file(vocab_path, &wp->data, &size) < 0 || split_lines(wp, size) < 0 ||
        build_index(wp) < 0)
        goto fail;
    if (special(wp, vocab_path, "[UNK]", &wp->unk) < 0 ||
        special(wp, vocab_path, "[CLS]", &wp->cls) < 0 ||
        special(wp, vocab_path, "[SEP]", &wp->sep) < 0)
        goto fail;
    *out = wp;
    return 0;
fail:
    mer_wordpiece_close(wp);
    return -1;
}

void mer_wordpiece_close(struct mer_wordpiece *wp)
{
    if (!wp)
        return;
    free(wp->data);
    free(wp->tokens);
    free(wp->lens);
    free(wp->slots);
    free(wp);
}

int64_t mer_wordpiece_id(const struct mer_wordpiece *wp, const char *token)
{
    return lookup(wp, token, strlen(token));
}

const char *mer_wordpiece_token(const struct mer_wordpiece *wp, int64_t id)
{
    return id >= 0 && (size_t)id < wp->n ? wp->tokens[id] : NULL;
}

const char *mer_wordpiece_unicode_version(void)
{
    return UC_UNICODE_VERSION;
}

size_t mer_wordpiece_size(const struct mer_wordpiece *wp)
{
    return wp->n;
}

/* ---- characters ---- */

/* Decodes the code point at *p (< end) and steps past it. A malformed sequence (overlong,
 * surrogate, beyond U+10FFFF, cut short) yields U+FFFD for its first byte only, so the
 * characters after it decode as they are. */
static uint32_t utf8_next(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    uint32_t c = s[0], lo = 0x80, hi = 0xBF;
    size_t more;
    if (c < 0x80) {
        *p = s + 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF)
        more = 1, c &= 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        more = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF, c &= 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        more = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF, c &= 0x07;
    else
        goto bad;
    if ((size_t)(end - s) <= more || s[1] < lo || s[1] > hi)
        goto bad;
    for (size_t i = 1; i <= more; i++) {
        if (i > 1 && (s[i] < 0x80 || s[i] > 0xBF))
            goto bad;
        c = c << 6 | (s[i] & 0x3F);
    }
    *p = s + 1 + more;
    return c;
bad:
    *p = s + 1;
    return 0xFFFD;
}

static uint32_t uc_record(uint32_t cp)
{
    size_t block = uc_stage1[cp >> UC_SHIFT];
    return uc_records[uc_stage2[block << UC_SHIFT | (cp & ((1u << UC_SHIFT) - 1))]];
}

/* HF's _is_chinese_char: the CJK Unified Ideographs blocks and their extensions. */
static int is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* What the uncased rules turn cp into (lowercase, NFD, marks dropped): up to UC_MAX_MAP
 * code points in out, their count returned. */
static size_t map_char(uint32_t cp, uint32_t rec, int final_sigma, uint32_t *out)
{
    uint32_t off = rec >> 8;
    if (cp == 0x3A3 && final_sigma) {
        out[0] = 0x3C2;
        return 1;
    }
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* a Hangul syllable: NFD by arithmetic */
        uint32_t s = cp - 0xAC00;
        out[0] = 0x1100 + s / 588;
        out[1] = 0x1161 + s % 588 / 28;
        out[2] = 0x11A7 + s % 28;
        return s % 28 ? 3 : 2;
    }
    if (!off) {
        out[0] = cp;
        return 1;
    }
    for (uint32_t i = 0; i < uc_maps[off]; i++)
        out[i] = uc_maps[off + 1 + i];
    return uc_maps[off];
}

/* Python's final-sigma test, looking ahead: is the next character of this whitespace word
 * that is not case-ignorable a cased one? */
static int next_is_cased(const unsigned char *p, const unsigned char *end)
{
    while (p < end) {
        uint32_t cp = utf8_next(&p, end), rec = uc_record(cp);
        if (rec & UC_DROP)
            continue;
        if (rec & UC_SPACE || is_cjk(cp))
            return 0;
        if (!(rec & UC_IGNORABLE))
            return (rec & UC_CASED) != 0;
    }
    return 0;
}

/* ---- tokenizing ---- */

struct run {
    const struct mer_wordpiece *wp;
    int64_t *ids;
    size_t n, max;               /* ids written; at most max (the room before [SEP]) */
    uint32_t word[MAX_WORD + 1]; /* the word being built (what fits of it) */
    size_t wlen;                 /* its length, which may pass MAX_WORD */
    int prev_cased; /* the last non-ignorable character of this whitespace word was cased */
};

static void emit(struct run *r, int64_t id)
{
    if (r->n < r->max)
        r->ids[r->n++] = id;
}

static size_t put_utf8(char *s, uint32_t c)
{
    if (c < 0x80) {
        s[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        s[0] = (char)(0xC0 | c >> 6);
        s[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        s[0] = (char)(0xE0 | c >> 12);
        s[1] = (char)(0x80 | (c >> 6 & 0x3F));
        s[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    s[0] = (char)(0xF0 | c >> 18);
    s[1] = (char)(0x80 | (c >> 12 & 0x3F));
    s[2] = (char)(0x80 | (c >> 6 & 0x3F));
    s[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* WordPiece on the finished word: the longest vocabulary entry from each start ("##" after
 * the first); if some start has none, the whole word is [UNK]. */
static void flush_word(struct run *r)
{
    char utf8[MAX_WORD * 4], cand[2 + MAX_WORD * 4];
    size_t off[MAX_WORD + 1], npieces = 0, wlen = r->wlen;
    int64_t pieces[MAX_WORD];
    r->wlen = 0;
    if (wlen == 0)
        return;
    if (wlen > MAX_WORD) {
        emit(r, r->wp->unk);
        return;
    }
    off[0] = 0;
    for (size_t i = 0; i < wlen; i++)
        off[i + 1] = off[i] + put_utf8(utf8 + off[i], r->word[i]);
    for (size_t start = 0; start < wlen;) {
        size_t end = wlen, pre = start > 0 ? 2 : 0;
        int64_t id = -1;
        memcpy(cand, "##", 2);
        while (end > start && pre + off[end] - off[start] > r->wp->longest)
            end--;
        for (; end > start; end--) {
            size_t len = off[end] - off[start];
            memcpy(cand + pre, utf8 + off[start], len);
            if ((id = lookup(r->wp, cand, pre + len)) >= 0)
                break;
        }
        if (id < 0) {
            emit(r, r->wp->unk);
            return;
        }
        pieces[npieces++] = id;
        start = end;
    }
    for (size_t i = 0; i < npieces; i++)
        emit(r, pieces[i]);
}

static void push_char(struct run *r, uint32_t c)
{
    if (r->wlen < MAX_WORD + 1)
        r->word[r->wlen] = c;
    r->wlen++;
}

/* One character of a whitespace word, after mapping: punctuation stands alone. */
static void add_mapped(struct run *r, uint32_t c)
{
    int punct = (uc_record(c) & UC_PUNCT) != 0;
    if (punct)
        flush_word(r);
    push_char(r, c);
    if (punct)
        flush_word(r);
}

static void end_whitespace_word(struct run *r)
{
    flush_word(r);
    r->prev_cased = 0;
}

/* cp (not dropped, not space) of the text; next points after it, for the sigma look-ahead. */
static void add_char(struct run *r, uint32_t cp, uint32_t rec, const unsigned char *next,
                     const unsigned char *end)
{
    uint32_t mapped[UC_MAX_MAP];
    size_t n = 1;
    int cjk = is_cjk(cp);
    if (cjk) /* spaces around it: a word of its own */
        end_whitespace_word(r);
    if (!r->wp->lower) {
        mapped[0] = cp;
    } else {
        int final = cp == 0x3A3 && r->prev_cased && !next_is_cased(next, end);
        n = map_char(cp, rec, final, mapped);
        if (!(rec & UC_IGNORABLE))
            r->prev_cased = (rec & UC_CASED) != 0;
    }
    for (size_t i = 0; i < n; i++)
        add_mapped(r, mapped[i]);
    if (cjk)
        end_whitespace_word(r);
}

size_t mer_wordpiece_encode(const struct mer_wordpiece *wp, const char *text, size_t len,
                            int64_t *ids, size_t max_tokens)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    struct run r;
    if (max_tokens < 2)
        return 0;
    memset(&r, 0, sizeof(r));
    r.wp = wp;
    r.ids = ids;
    r.max = max_tokens - 1;
    emit(&r, wp->cls);
    while (p < end && r.n < r.max) {
        uint32_t cp = utf8_next(&p, end), rec = uc_record(cp);
        if (rec & UC_DROP)
            continue;
        if (rec & UC_SPACE)
            end_whitespace_word(&r);
        else
            add_char(&r, cp, rec, p, end);
    }
    end_whitespace_word(&r);
    ids[r.n++] = wp->sep;
    return r.n;
}
