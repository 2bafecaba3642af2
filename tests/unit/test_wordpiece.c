/*
 * The WordPiece tokenizer against an independent Python BERT tokenizer
 * (tests/oracle/tiny_bert.py --tokens-only): the same ids for fixed texts (accents, CJK,
 * emoji, controls, full-width, Greek final sigma, Hangul, invalid UTF-8, long words,
 * truncation), for 400 seeded random texts across Unicode, and for every code point of
 * planes 0-3 in contexts that show its table entries; then vocabulary errors and hostile bytes.
 */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/wordpiece.h"
#include "testhelp.h"

#include <stdint.h>

static char dir[4200];

/* The lines of dir/name, in place in *data (free both). */
static size_t read_lines(const char *name, char **data, char ***lines)
{
    char path[4400];
    size_t size = 0, n = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (mer_read_file(path, data, &size) < 0) {
        fprintf(stderr, "%s\n", mer_errmsg());
        exit(1);
    }
    *lines = malloc((size + 1) * sizeof(**lines));
    for (char *p = *data; *p;) {
        char *nl = strchr(p, '\n');
        (*lines)[n++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

/* Hex digits to bytes, in place; returns the byte count. */
static size_t unhex(char *s)
{
    size_t n = strlen(s) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        s[i] = (char)v;
    }
    return n;
}

/* Encodes every text of texts_file with max_tokens and compares with ids_file's lines;
 * returns how many differ (the first few are printed). */
static int compare(const struct mer_wordpiece *wp, const char *texts_file, const char *ids_file,
                   size_t max_tokens, size_t *count)
{
    char *tdata, *idata, **texts, **want;
    size_t nt = read_lines(texts_file, &tdata, &texts), ni = read_lines(ids_file, &idata, &want);
    int64_t *ids = malloc(max_tokens * sizeof(*ids));
    int bad = 0;
    CHECK_EQ_INT(nt, ni);
    for (size_t i = 0; i < nt && i < ni; i++) {
        size_t len = unhex(texts[i]), n = mer_wordpiece_encode(wp, texts[i], len, ids, max_tokens);
        char *p = want[i];
        int same = 1;
        for (size_t k = 0; k < n; k++) {
            char *q;
            long long v = strtoll(p, &q, 10);
            same &= q != p && v == ids[k];
            p = q;
        }
        same &= strtoll(p, NULL, 10) == 0 && strspn(p, " ") == strlen(p); /* nothing left */
        if (!same && bad++ < 5) {
            fprintf(stderr, "%s line %zu differs: want [%s], got", ids_file, i + 1, want[i]);
            for (size_t k = 0; k < n; k++)
                fprintf(stderr, " %lld(%s)", (long long)ids[k], mer_wordpiece_token(wp, ids[k]));
            fprintf(stderr, "\n");
        }
    }
    *count = nt;
    free(ids);
    free(texts);
    free(want);
    free(tdata);
    free(idata);
    return bad;
}

static size_t put_utf8(char *s, uint32_t c)
{
    if (c < 0x80)
        return (size_t)(s[0] = (char)c, 1);
    if (c < 0x800)
        return (size_t)(s[0] = (char)(0xC0 | c >> 6), s[1] = (char)(0x80 | (c & 0x3F)), 2);
    if (c < 0x10000)
        return (size_t)(s[0] = (char)(0xE0 | c >> 12), s[1] = (char)(0x80 | (c >> 6 & 0x3F)),
                        s[2] = (char)(0x80 | (c & 0x3F)), 3);
    s[0] = (char)(0xF0 | c >> 18);
    s[1] = (char)(0x80 | (c >> 12 & 0x3F));
    s[2] = (char)(0x80 | (c >> 6 & 0x3F));
    s[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* The oracle's exhaustive texts: "a{c}b {c}Σ aΣ{c}b " for count code points from first on, in
 * the oracle's order (planes 0-3, 14's tags and selectors, every 97th elsewhere, no
 * surrogates); returns the length and the next code point after them. */
static size_t exhaustive_text(char *buf, uint32_t first, size_t count, uint32_t *next)
{
    size_t len = 0;
    uint32_t cp = first;
    for (size_t k = 0; k < count; cp++) {
        if ((cp >= 0xD800 && cp <= 0xDFFF) ||
            !(cp < 0x40000 || (cp >= 0xE0000 && cp <= 0xE01EF) || cp % 97 == 0))
            continue;
        buf[len++] = 'a';
        len += put_utf8(buf + len, cp);
        len += (size_t)sprintf(buf + len, "b ");
        len += put_utf8(buf + len, cp);
        len += (size_t)sprintf(buf + len, "\u03a3 a\u03a3");
        len += put_utf8(buf + len, cp);
        len += (size_t)sprintf(buf + len, "b ");
        k++;
    }
    *next = cp;
    return len;
}

/* Every code point's table entries through their effect on ids (see exhaustive_text), as
 * FNV-1a hashes of the oracle's ids per 256 code points; returns the texts that differ. */
static int exhaustive(size_t *chunks)
{
    char path[4400], *data, **lines, *text = malloc(1 << 16), *joined = malloc(1 << 20);
    struct mer_wordpiece *wp = NULL;
    int64_t *ids = malloc((1 << 16) * sizeof(*ids));
    size_t n = read_lines("exhaustive.txt", &data, &lines);
    int bad = 0;
    snprintf(path, sizeof(path), "%s/vocab_all.txt", dir);
    CHECK(mer_wordpiece_open(&wp, path, 1) == 0);
    for (size_t i = 0; wp && i < n; i++) {
        unsigned long long first, count, want_n, want_h, h = 1469598103934665603ULL;
        uint32_t next;
        size_t len, got, jl = 0;
        if (sscanf(lines[i], "%llu %llu %llu %llu", &first, &count, &want_n, &want_h) != 4) {
            bad++;
            continue;
        }
        len = exhaustive_text(text, (uint32_t)first, (size_t)count, &next);
        got = mer_wordpiece_encode(wp, text, len, ids, 1 << 16);
        for (size_t k = 0; k < got; k++)
            jl += (size_t)sprintf(joined + jl, "%s%lld", k ? " " : "", (long long)ids[k]);
        for (size_t k = 0; k < jl; k++)
            h = (h ^ (unsigned char)joined[k]) * 1099511628211ULL;
        if ((got != want_n || h != want_h) && bad++ < 5)
            fprintf(stderr, "exhaustive: the text of U+%04llX.. differs (%zu ids, want %llu)\n",
                    first, got, want_n);
    }
    *chunks = n;
    mer_wordpiece_close(wp);
    free(lines);
    free(data);
    free(ids);
    free(text);
    free(joined);
    return bad;
}

/* Whether the oracle's Python knows the Unicode version the tables were made from: the random
 * and exhaustive checks reach characters that a newer version assigns. */
static int same_unicode(void)
{
    char *data, **lines;
    size_t n = read_lines("unicode_version.txt", &data, &lines);
    int same = n > 0 && !strcmp(lines[0], mer_wordpiece_unicode_version());
    if (!same)
        printf("skipped the random and every-code-point checks: the oracle's Python has Unicode "
               "%s, the tables %s (hint: regenerate them with scripts/gen-unicode-tables.py)\n",
               n ? lines[0] : "?", mer_wordpiece_unicode_version());
    free(lines);
    free(data);
    return same;
}

static void write_file(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    CHECK(mer_write_file_atomic(path, text, strlen(text)) == 0);
}

static void vocab_errors(void)
{
    char path[4400];
    struct mer_wordpiece *wp = NULL;
    snprintf(path, sizeof(path), "%s/vocab_nounk.txt", dir);
    CHECK(mer_wordpiece_open(&wp, path, 1) == -1 && wp == NULL);
    CHECK(strstr(mer_errmsg(), path) && strstr(mer_errmsg(), "'[UNK]'"));
    printf("no [UNK]: %s\n", mer_errmsg());
    CHECK(mer_wordpiece_open(&wp, "/nonexistent/vocab.txt", 1) == -1);
    CHECK(strstr(mer_errmsg(), "/nonexistent/vocab.txt") != NULL);
    printf("missing: %s\n", mer_errmsg());
    write_file("empty.txt", "", path, sizeof(path));
    CHECK(mer_wordpiece_open(&wp, path, 1) == -1 && strstr(mer_errmsg(), "[UNK]"));
    write_file("nosep.txt", "[UNK]\n[CLS]\n[SEP ]\n", path, sizeof(path));
    CHECK(mer_wordpiece_open(&wp, path, 1) == -1 && strstr(mer_errmsg(), "'[SEP]'"));
    CHECK(mer_wordpiece_open(&wp, dir, 1) == -1 && strstr(mer_errmsg(), dir)); /* a directory */
    printf("directory: %s\n", mer_errmsg());
}

/* CRLF lines, no final newline, cased rules, max_tokens at its smallest. */
static void small_vocab(void)
{
    static const char text[] = "Café CAFÉ";
    char path[4400];
    struct mer_wordpiece *wp = NULL;
    int64_t ids[8];
    write_file("crlf.txt", "[UNK]\r\n[CLS]\r\n[SEP]\r\nCafé\r\nca\r\n##fe", path, sizeof(path));
    CHECK(mer_wordpiece_open(&wp, path, 0) == 0);
    if (!wp)
        return;
    CHECK_EQ_INT(mer_wordpiece_size(wp), 6);
    CHECK_EQ_INT(mer_wordpiece_id(wp, "##fe"), 5);
    CHECK_EQ_INT(mer_wordpiece_id(wp, "Cafe"), -1);
    CHECK(mer_wordpiece_token(wp, 6) == NULL && mer_wordpiece_token(wp, -1) == NULL);
    CHECK_EQ_INT(mer_wordpiece_encode(wp, text, strlen(text), ids, 8), 4);
    CHECK(ids[0] == 1 && ids[1] == 3 && ids[2] == 0 && ids[3] == 2); /* cased: CAFÉ unknown */
    CHECK_EQ_INT(mer_wordpiece_encode(wp, text, strlen(text), ids, 2), 2);
    CHECK(ids[0] == 1 && ids[1] == 2);
    CHECK_EQ_INT(mer_wordpiece_encode(wp, text, strlen(text), ids, 1), 0);
    mer_wordpiece_close(wp);
    CHECK(mer_wordpiece_open(&wp, path, 1) == 0);
    CHECK_EQ_INT(mer_wordpiece_encode(wp, text, strlen(text), ids, 8), 6);
    CHECK(ids[1] == 4 && ids[2] == 5 && ids[3] == 4 && ids[4] == 5); /* ca ##fe ca ##fe */
    mer_wordpiece_close(wp);
}

/* Any bytes are text: every byte value alone, random byte strings, a 16 MB word. */
static void hostile_bytes(const struct mer_wordpiece *wp)
{
    int64_t ids[64];
    uint64_t x = 88172645463325252ULL;
    int ok = 1;
    char buf[64];
    for (int b = 0; b < 256; b++) {
        buf[0] = (char)b;
        size_t n = mer_wordpiece_encode(wp, buf, 1, ids, 64);
        ok &= n >= 2 && n <= 3;
    }
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(i % 64), n;
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
            buf[k] = (char)(x >> 24);
        }
        n = mer_wordpiece_encode(wp, buf, len, ids, 64);
        ok &= n >= 2 && n <= 64 && ids[0] == mer_wordpiece_id(wp, "[CLS]") &&
              ids[n - 1] == mer_wordpiece_id(wp, "[SEP]");
    }
    CHECK(ok);
    {
        size_t len = 16u << 20;
        char *big = malloc(len);
        memset(big, 'a', len);
        CHECK_EQ_INT(mer_wordpiece_encode(wp, big, len, ids, 64), 3); /* one [UNK] */
        CHECK_EQ_INT(ids[1], mer_wordpiece_id(wp, "[UNK]"));
        for (size_t i = 1; i < len; i += 2)
            big[i] = ' ';
        CHECK_EQ_INT(mer_wordpiece_encode(wp, big, len, ids, 64), 64); /* stops when full */
        free(big);
    }
}

int main(void)
{
    char path[4400];
    struct mer_wordpiece *wp = NULL;
    size_t n = 0;
    snprintf(dir, sizeof(dir), "%s", test_tmpdir());
    if (test_oracle("tiny_bert.py '%s' --tokens-only --exhaustive", dir) < 0) {
        fprintf(stderr, "the Python tokenizer oracle failed\n");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/model/vocab.txt", dir);
    if (mer_wordpiece_open(&wp, path, 1) < 0) {
        fprintf(stderr, "%s\n", mer_errmsg());
        return 1;
    }
    TEST("the vocabulary")
    {
        size_t size = mer_wordpiece_size(wp);
        CHECK(size > 1000);
        CHECK_EQ_INT(mer_wordpiece_id(wp, "[CLS]"), 2);
        CHECK_EQ_INT(mer_wordpiece_id(wp, "the"), (int64_t)size - 1); /* listed twice */
        CHECK_EQ_STR(mer_wordpiece_token(wp, 1), "[UNK]");
    }
    TEST("fixed texts, max_tokens 128")
    {
        CHECK_EQ_INT(compare(wp, "texts.hex", "ids128.txt", 128, &n), 0);
        printf("fixed texts: %zu match Python at 128\n", n);
    }
    TEST("fixed texts, max_tokens 16")
    {
        CHECK_EQ_INT(compare(wp, "texts.hex", "ids16.txt", 16, &n), 0);
    }
    if (same_unicode()) {
        TEST("random texts")
        {
            CHECK_EQ_INT(compare(wp, "random.hex", "random_ids.txt", 4096, &n), 0);
            printf("random texts: %zu compared\n", n);
        }
        TEST("every code point")
        {
            CHECK_EQ_INT(exhaustive(&n), 0);
            CHECK(n > 1000);
            printf("every code point: %zu texts of 256 match Python\n", n);
        }
    }
    TEST("hostile bytes") hostile_bytes(wp);
    TEST("vocabulary errors") vocab_errors();
    TEST("a small vocabulary") small_vocab();
    mer_wordpiece_close(wp);
    return test_report();
}
