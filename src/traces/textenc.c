/*
 * Text encoders of reasoning traces (include/mer/textenc.h).
 *
 * The "hash" encoder, exactly (tests/oracle/textenc_hash.py reimplements it):
 *   1. the text is decoded as UTF-8 into code points (an invalid byte is U+FFFD), ASCII A-Z
 *      lowercased, runs of whitespace (ASCII or U+3000) collapsed to one space, ends trimmed;
 *   2. every n-gram of n = 1..3 code points is hashed with 64-bit FNV-1a over the byte n and
 *      then each code point as 4 little-endian bytes; bucket = hash & (2^20 - 1);
 *   3. weight of a bucket = its count in the text * idf, idf = ln((1 + N) / (1 + df)) + 1
 *      (scikit-learn's smooth idf) fitted on N texts (mer_textenc_fit; 1 before a fit);
 *   4. each bucket b adds sign * weight to MER_HASH_SLOTS output slots: for k = 0..3,
 *      x = splitmix64(4 b + k), slot = x mod dim, sign = -1 if x's top bit is set else +1;
 *   5. the vector is L2-normalized (an empty text gives zeros).
 * Character n-grams need no tokenizer, so Chinese and English work alike.
 */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/strmap.h"
#include "mer/strv.h"
#include "mer/textenc.h"
#include "mer/torch.h"
#include "traces/textenc_backend.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MER_HASH_BITS  20
#define MER_HASH_SLOTS 4

enum kind { ENC_HASH, ENC_TORCHSCRIPT, ENC_PRECOMPUTED };

struct mer_textenc {
    enum kind kind;
    int64_t dim;
    float *idf;        /* hash: [2^MER_HASH_BITS] */
    float idf_default; /* hash: the IDF of a bucket no fitted text has (1 before a fit) */
    int64_t *state_buckets, state_n; /* hash: mer_textenc_state's tensors' data */
    float *state_values;
    struct mer_tsenc *ts;  /* torchscript */
    struct mer_strmap map; /* precomputed: "name\x1fmodality" -> row */
    char **keys;           /* precomputed: [n_rows] */
    float *rows;           /* precomputed: [n_rows, dim] */
    size_t n_rows;
};

/* ---- hash ---- */

static uint64_t splitmix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* One code point from s[*i..n) (U+FFFD and one byte for an invalid sequence). */
static uint32_t next_cp(const unsigned char *s, size_t n, size_t *i)
{
    unsigned char c = s[*i];
    uint32_t cp, min;
    int len;
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    min = len == 4 ? 0x10000 : len == 3 ? 0x800 : 0x80;
    if (!len || *i + (size_t)len > n)
        goto bad;
    cp = c & (0x7f >> len);
    for (int k = 1; k < len; k++) {
        if ((s[*i + (size_t)k] & 0xc0) != 0x80)
            goto bad;
        cp = (cp << 6) | (s[*i + (size_t)k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
        goto bad;
    *i += (size_t)len;
    return cp;
bad:
    (*i)++;
    return 0xfffd;
}

static int is_ws(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x3000;
}

/* Step 1: the normalized code points of text into a new array; their count in *n. */
static uint32_t *code_points(const char *text, size_t *n)
{
    size_t len = strlen(text), i = 0, o = 0;
    uint32_t *cps = malloc((len + 1) * sizeof(*cps));
    int space = 0;
    if (!cps)
        return NULL;
    while (i < len) {
        uint32_t cp = next_cp((const unsigned char *)text, len, &i);
        if (is_ws(cp)) {
            space = o > 0;
            continue;
        }
        if (space)
            cps[o++] = ' ';
        space = 0;
        cps[o++] = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    }
    *n = o;
    return cps;
}

static uint32_t bucket_of(const uint32_t *cp, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = (h ^ (uint64_t)n) * 0x100000001b3ULL;
    for (int k = 0; k < n; k++)
        for (int b = 0; b < 4; b++)
            h = (h ^ ((cp[k] >> (8 * b)) & 0xff)) * 0x100000001b3ULL;
    return (uint32_t)(h & ((1u << MER_HASH_BITS) - 1));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Step 2: the sorted buckets of every n-gram of text (repeats kept) into a new array. */
static uint32_t *buckets(const char *text, size_t *n_out)
{
    size_t n = 0, o = 0;
    uint32_t *cps = code_points(text, &n), *b;
    if (!cps)
        return NULL;
    b = malloc((3 * n + 1) * sizeof(*b));
    if (!b) {
        free(cps);
        return NULL;
    }
    for (int g = 1; g <= 3; g++)
        for (size_t i = 0; i + (size_t)g <= n; i++)
            b[o++] = bucket_of(cps + i, g);
    free(cps);
    qsort(b, o, sizeof(*b), cmp_u32);
    *n_out = o;
    return b;
}

static int hash_fit(struct mer_textenc *e, const char *const *texts, size_t n)
{
    size_t size = (size_t)1 << MER_HASH_BITS, docs = 0;
    uint32_t *df = calloc(size, sizeof(*df));
    if (!df)
        return mer_error("out of memory");
    for (size_t t = 0; t < n; t++) {
        size_t nb;
        uint32_t *b;
        if (!texts[t])
            continue;
        if (!(b = buckets(texts[t], &nb))) {
            free(df);
            return mer_error("out of memory");
        }
        for (size_t i = 0; i < nb; i++)
            if (i == 0 || b[i] != b[i - 1])
                df[b[i]]++;
        free(b);
        docs++;
    }
    for (size_t b = 0; b < size; b++)
        e->idf[b] = (float)(log((1.0 + (double)docs) / (1.0 + (double)df[b])) + 1.0);
    e->idf_default = (float)(log(1.0 + (double)docs) + 1.0);
    free(df);
    return 0;
}

static int hash_encode(struct mer_textenc *e, const char *text, float *out)
{
    size_t nb, d = (size_t)e->dim;
    uint32_t *b = buckets(text, &nb);
    double *acc = calloc(d, sizeof(*acc)), norm = 0;
    if (!b || !acc) {
        free(b);
        free(acc);
        return mer_error("out of memory");
    }
    for (size_t i = 0, j; i < nb; i = j) {
        double w;
        for (j = i; j < nb && b[j] == b[i]; j++)
            ;
        w = (double)(j - i) * e->idf[b[i]];
        for (uint64_t k = 0; k < MER_HASH_SLOTS; k++) {
            uint64_t x = splitmix64((uint64_t)b[i] * MER_HASH_SLOTS + k);
            acc[x % d] += (x >> 63) ? -w : w;
        }
    }
    for (size_t k = 0; k < d; k++)
        norm += acc[k] * acc[k];
    norm = norm > 0 ? 1.0 / sqrt(norm) : 0;
    for (size_t k = 0; k < d; k++)
        out[k] = (float)(acc[k] * norm);
    free(b);
    free(acc);
    return 1;
}

/* ---- precomputed ---- */

static const char *modality_key(const char *m)
{
    if (!strcmp(m, "visual") || !strcmp(m, "video"))
        return "visual";
    if (!strcmp(m, "acoustic") || !strcmp(m, "audio"))
        return "acoustic";
    if (!strcmp(m, "textual") || !strcmp(m, "text"))
        return "textual";
    return NULL;
}

/* One line {"key": name, "modality": m, "embedding": [..]} appended to e's rows. */
static int precomputed_line(struct mer_textenc *e, const char *path, size_t lineno,
                            const char *line, size_t *cap)
{
    cJSON *o = cJSON_Parse(line);
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key");
    const cJSON *mod = cJSON_GetObjectItemCaseSensitive(o, "modality");
    const cJSON *emb = cJSON_GetObjectItemCaseSensitive(o, "embedding"), *it;
    const char *m = cJSON_IsString(mod) ? modality_key(mod->valuestring) : NULL;
    int64_t d = cJSON_GetArraySize(emb), j = 0;
    int ret = -1;
    if (!cJSON_IsObject(o) || !cJSON_IsString(key) || !m || !cJSON_IsArray(emb)) {
        mer_error("'%s':%zu: expected {\"key\": name, \"modality\": visual|acoustic|textual, "
                  "\"embedding\": [numbers]}",
                  path, lineno);
        goto done;
    }
    if (!e->dim)
        e->dim = d;
    if (d != e->dim || d == 0) {
        mer_error("'%s':%zu: embedding of %lld numbers, expected %lld", path, lineno, (long long)d,
                  (long long)e->dim);
        goto done;
    }
    if (e->n_rows == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        char **k = realloc(e->keys, c * sizeof(*k));
        float *r = k ? realloc(e->rows, c * (size_t)d * sizeof(*r)) : NULL;
        if (k)
            e->keys = k;
        if (r)
            e->rows = r;
        if (!k || !r) {
            mer_error("out of memory");
            goto done;
        }
        *cap = c;
    }
    cJSON_ArrayForEach(it, emb)
    {
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) {
            mer_error("'%s':%zu: embedding item %lld is not a finite number", path, lineno,
                      (long long)j);
            goto done;
        }
        e->rows[e->n_rows * (size_t)d + (size_t)j++] = (float)it->valuedouble;
    }
    if (!(e->keys[e->n_rows] = mer_strfmt("%s\x1f%s", key->valuestring, m))) {
        mer_error("out of memory");
        goto done;
    }
    e->n_rows++;
    ret = 0;
done:
    cJSON_Delete(o);
    return ret;
}

/* The embeddings file as mer_read_lines reads it. */
struct embedding_reader {
    struct mer_textenc *e;
    size_t rows_cap;
};

static int read_embedding_line(void *ctx, const char *path, struct mer_text_line *l)
{
    struct embedding_reader *er = ctx;
    l->text[l->body] = '\0'; /* the line without its end */
    return l->body ? precomputed_line(er->e, path, l->lineno, l->text, &er->rows_cap) : 0;
}

static int precomputed_open(struct mer_textenc *e, const char *path, int64_t want)
{
    struct embedding_reader er = {e, 0};
    size_t dup = 0;
    if (mer_read_lines(path, MER_LINE_MAX, read_embedding_line, &er) < 0)
        return -1;
    if (!e->n_rows)
        return mer_error("'%s': no embeddings", path);
    if (want > 0 && want != e->dim)
        return mer_error("'%s': embeddings of %lld numbers, but a dimension of %lld was asked for",
                         path, (long long)e->dim, (long long)want);
    if (mer_strmap_build(&e->map, (const char *const *)e->keys, e->n_rows, &dup) < 0) {
        char *sep = strchr(e->keys[dup], '\x1f');
        *sep = '\0';
        mer_error("'%s': a second embedding for sample '%s', modality %s", path, e->keys[dup],
                  sep + 1);
        *sep = '\x1f';
        return -1;
    }
    return 0;
}

static int precomputed_encode(struct mer_textenc *e, const char *name, const char *modality,
                              float *out)
{
    const char *m = modality_key(modality);
    char *k = m ? mer_strfmt("%s\x1f%s", name, m) : NULL;
    int64_t row;
    if (!m)
        return mer_error("unknown modality '%s'", modality);
    if (!k)
        return mer_error("out of memory");
    row = mer_strmap_get(&e->map, k);
    free(k);
    if (row < 0)
        return 0;
    memcpy(out, e->rows + (size_t)row * (size_t)e->dim, (size_t)e->dim * sizeof(float));
    return 1;
}

/* ---- torchscript ---- */

static int torchscript_open(struct mer_textenc *e, const char *model, int64_t want)
{
    const char *slash = strrchr(model, '/');
    char *vocab =
        slash ? mer_strfmt("%.*s/vocab.txt", (int)(slash - model), model) : mer_strfmt("vocab.txt");
    int ret;
    if (!vocab)
        return mer_error("out of memory");
    ret = mer_torch_load() < 0 ? -1 : mer_tsenc_open(&e->ts, model, vocab, 128);
    free(vocab);
    if (ret < 0)
        return -1;
    e->dim = mer_tsenc_dim(e->ts);
    if (want > 0 && want != e->dim)
        return mer_error("'%s': the encoder gives %lld numbers, but a dimension of %lld was "
                         "asked for",
                         model, (long long)e->dim, (long long)want);
    return 0;
}

/* ---- dispatch ---- */

int mer_textenc_open(struct mer_textenc **out, const char *spec, int64_t dim)
{
    struct mer_textenc *e = calloc(1, sizeof(*e));
    int ret = -1;
    *out = NULL;
    if (!e)
        return mer_error("out of memory");
    if (!strcmp(spec, "hash")) {
        size_t size = (size_t)1 << MER_HASH_BITS;
        e->kind = ENC_HASH;
        e->dim = dim;
        if (dim < 1) {
            mer_error("the hash encoder needs a dimension of at least 1, got %lld", (long long)dim);
        } else if (!(e->idf = malloc(size * sizeof(float)))) {
            mer_error("out of memory");
        } else {
            for (size_t b = 0; b < size; b++)
                e->idf[b] = 1.0f;
            e->idf_default = 1.0f;
            ret = 0;
        }
    } else if (!strncmp(spec, "torchscript:", 12) && spec[12]) {
        e->kind = ENC_TORCHSCRIPT;
        ret = torchscript_open(e, spec + 12, dim);
    } else if (!strncmp(spec, "precomputed:", 12) && spec[12]) {
        e->kind = ENC_PRECOMPUTED;
        ret = precomputed_open(e, spec + 12, dim);
    } else {
        mer_error("unknown text encoder '%s' (expected hash, torchscript:<model.pt> or "
                  "precomputed:<file.jsonl>)",
                  spec);
    }
    if (ret < 0) {
        mer_textenc_close(e);
        return -1;
    }
    *out = e;
    return 0;
}

int mer_textenc_fit(struct mer_textenc *e, const char *const *texts, size_t n)
{
    return e->kind == ENC_HASH ? hash_fit(e, texts, n) : 0;
}

int64_t mer_textenc_dim(const struct mer_textenc *e)
{
    return e->dim;
}

int mer_textenc_encode(struct mer_textenc *e, const char *name, const char *modality,
                       const char *text, float *out)
{
    switch (e->kind) {
    case ENC_HASH:
        return hash_encode(e, text ? text : "", out);
    case ENC_TORCHSCRIPT:
        return mer_tsenc_encode(e->ts, text ? text : "", out) < 0 ? -1 : 1;
    case ENC_PRECOMPUTED:
        return precomputed_encode(e, name, modality, out);
    }
    return mer_error("unknown text encoder");
}

void mer_textenc_close(struct mer_textenc *e)
{
    if (!e)
        return;
    free(e->idf);
    free(e->state_buckets);
    free(e->state_values);
    mer_tsenc_close(e->ts);
    mer_strmap_release(&e->map);
    mer_strv_free(e->keys, e->n_rows);
    free(e->rows);
    free(e);
}

/* ---- the fitted state, saved with what the encoder made ---- */

int mer_textenc_state(struct mer_textenc *e, struct mer_st_tensor *t, size_t *n)
{
    const size_t size = (size_t)1 << MER_HASH_BITS;
    int64_t k = 0;
    *n = 0;
    if (e->kind != ENC_HASH)
        return 0;
    free(e->state_buckets);
    free(e->state_values);
    e->state_buckets = malloc(size * sizeof(int64_t));
    e->state_values = malloc(size * sizeof(float));
    if (!e->state_buckets || !e->state_values)
        return mer_error("out of memory");
    for (size_t b = 0; b < size; b++)
        if (e->idf[b] != e->idf_default) {
            e->state_buckets[k] = (int64_t)b;
            e->state_values[k++] = e->idf[b];
        }
    e->state_n = k;
    t[0] = (struct mer_st_tensor){.name = MER_TEXTENC_IDF_DEFAULT,
                                  .dtype = MER_DTYPE_F32,
                                  .ndim = 1,
                                  .shape = {1},
                                  .data = &e->idf_default};
    *n = 1;
    if (k > 0) {
        t[1] = (struct mer_st_tensor){.name = MER_TEXTENC_IDF_BUCKETS,
                                      .dtype = MER_DTYPE_I64,
                                      .ndim = 1,
                                      .shape = {k},
                                      .data = e->state_buckets};
        t[2] = (struct mer_st_tensor){.name = MER_TEXTENC_IDF_VALUES,
                                      .dtype = MER_DTYPE_F32,
                                      .ndim = 1,
                                      .shape = {k},
                                      .data = e->state_values};
        *n = 3;
    }
    return 0;
}

int mer_textenc_load_state(struct mer_textenc *e, const mer_st_file *f)
{
    const size_t size = (size_t)1 << MER_HASH_BITS;
    const struct mer_st_tensor *d = mer_st_find(f, MER_TEXTENC_IDF_DEFAULT),
                               *b = mer_st_find(f, MER_TEXTENC_IDF_BUCKETS),
                               *v = mer_st_find(f, MER_TEXTENC_IDF_VALUES);
    float def;
    if (e->kind != ENC_HASH)
        return 0;
    if (!d || d->dtype != MER_DTYPE_F32 || d->numel != 1)
        return mer_error("'%s': no saved hash encoder state (tensor '%s'; made by an older mer?)",
                         mer_st_path(f), MER_TEXTENC_IDF_DEFAULT);
    if (!b != !v || (b && (b->dtype != MER_DTYPE_I64 || v->dtype != MER_DTYPE_F32 || b->ndim != 1 ||
                           v->ndim != 1 || b->numel != v->numel)))
        return mer_error("'%s': tensors '%s' and '%s' do not fit together", mer_st_path(f),
                         MER_TEXTENC_IDF_BUCKETS, MER_TEXTENC_IDF_VALUES);
    memcpy(&def, d->data, sizeof(def));
    for (size_t i = 0; i < size; i++)
        e->idf[i] = def;
    e->idf_default = def;
    for (int64_t i = 0; b && i < b->numel; i++) {
        int64_t at;
        memcpy(&at, (const char *)b->data + i * (int64_t)sizeof(at), sizeof(at));
        if (at < 0 || (size_t)at >= size)
            return mer_error("'%s': '%s'[%lld] = %lld is out of range", mer_st_path(f),
                             MER_TEXTENC_IDF_BUCKETS, (long long)i, (long long)at);
        memcpy(&e->idf[at], (const char *)v->data + i * (int64_t)sizeof(float), sizeof(float));
    }
    return 0;
}
