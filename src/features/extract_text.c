/* mer extract text: one transcript column of a CSV into a feature store, through the trace
 * path's text encoders (textenc.h) and the store builder. */
#include "features/extract_impl.h"
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/extract.h"
#include "mer/textenc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct mer_text_params mer_text_default_params(void)
{
    struct mer_text_params p = {.column = "chinese", .encoder = "hash", .dim = 256};
    return p;
}

struct text_source {
    mer_textenc *enc;
    int64_t dim;
    size_t empty;
};

static int blank(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return !*s;
}

/* One transcript (the builder's "path" of a text sample) into one row; empty gives zeros. */
static int encode_text(void *ctx, const char *name, const char *text, struct mer_rows *r)
{
    struct text_source *t = ctx;
    if (!(r->data = calloc((size_t)t->dim, sizeof(float))))
        return mer_error("out of memory");
    r->t = 1;
    r->d = t->dim;
    r->pooled = 1;
    if (blank(text)) {
        t->empty++;
        return 1;
    }
    return mer_textenc_encode(t->enc, name, "textual", text, r->data) < 0 ? -1 : 1;
}

/* The name and text column of every row, as the builder's samples (text in place of a path). */
static int read_texts(struct mer_samples *s, const struct mer_csv *csv, const char *column)
{
    int name = mer_csv_column(csv, "name"), col = mer_csv_column(csv, column);
    if (name < 0)
        return mer_error("'%s':1: no 'name' column", csv->path);
    if (col < 0)
        return mer_error("'%s':1: no '%s' column (--column names the transcript column)", csv->path,
                         column);
    for (size_t i = 1; i < csv->n_rows; i++) {
        const struct mer_csv_row *row = &csv->rows[i];
        const char *n = (size_t)name < row->n_fields ? row->fields[name] : "";
        const char *text = (size_t)col < row->n_fields ? row->fields[col] : "";
        if (!*n)
            return mer_error("'%s':%zu: a row without a name", csv->path, row->line);
        if (mer_strv_push(&s->names, n, strlen(n)) < 0 ||
            mer_strv_push(&s->paths, text, strlen(text)) < 0)
            return -1;
    }
    return mer_samples_check_unique(s, csv->path);
}

/* Fits the encoder (the hash encoder's IDF) on every non-empty transcript of the file. */
static int fit(mer_textenc *enc, const struct mer_samples *s)
{
    const char **texts = malloc((s->paths.n + 1) * sizeof(*texts));
    size_t n = 0;
    int ret;
    if (!texts)
        return mer_error("out of memory");
    for (size_t i = 0; i < s->paths.n; i++)
        if (!blank(s->paths.v[i]))
            texts[n++] = s->paths.v[i];
    ret = mer_textenc_fit(enc, texts, n);
    free(texts);
    return ret;
}

/* The encoder's state saved in a store (its first file) made by mer extract text. */
static int load_state(struct mer_textenc *e, const char *path)
{
    mer_store *s = NULL;
    int ret;
    if (mer_store_open(&s, path, MER_ST_VERIFY) < 0)
        return -1;
    ret = mer_textenc_load_state(e, mer_store_part(s, 0));
    mer_store_close(s);
    return ret;
}

/* Every option that changes the rows, as JSON text (the fingerprint and the provenance). */
static char *text_options(const struct mer_text_params *tp, int64_t dim)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "extractor", "text") &&
        cJSON_AddStringToObject(o, "encoder", tp->encoder) &&
        cJSON_AddStringToObject(o, "column", tp->column) &&
        cJSON_AddNumberToObject(o, "dim", (double)dim))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        mer_error("out of memory");
    return text;
}

static const struct mer_build_nouns text_nouns = {.one = "transcript",
                                                  .a_one = "a transcript",
                                                  .many = "transcripts",
                                                  .verb = "extract",
                                                  .unit = "texts"};
static const char *const text_reasons[] = {"unusable"};

int mer_extract_text(const struct mer_build_params *bp, struct mer_text_params *tp,
                     struct mer_build_report *r)
{
    struct mer_samples s = MER_SAMPLES_INIT;
    struct mer_csv *csv = NULL;
    struct text_source t = {0};
    struct mer_build_params p = *bp;
    struct mer_build_source src = {.label = "extract text",
                                   .nouns = &text_nouns,
                                   .reasons = text_reasons,
                                   .n_reasons = 1,
                                   .produce = encode_text,
                                   .ctx = &t};
    struct mer_st_tensor state[MER_TEXTENC_MAX_STATE];
    char *options = NULL, *provenance = NULL;
    int ret = -1;
    memset(r, 0, sizeof(*r));
    p.jobs = 1; /* one encoder, one thread (a torch encoder uses its own threads) */
    if (mer_csv_read(&csv, bp->input) < 0 || read_texts(&s, csv, tp->column) < 0 ||
        mer_textenc_open(&t.enc, tp->encoder, strcmp(tp->encoder, "hash") ? 0 : tp->dim) < 0 ||
        (tp->state_from ? load_state(t.enc, tp->state_from) : fit(t.enc, &s)) < 0 ||
        mer_textenc_state(t.enc, state, &p.n_extra) < 0)
        goto done;
    p.extra = state; /* saved with the rows: mer predict encodes new texts the same way */
    t.dim = mer_textenc_dim(t.enc);
    options = text_options(tp, t.dim);
    if (!options || mer_extract_provenance(bp->provenance, options, &provenance) < 0)
        goto done;
    src.options = options;
    p.provenance = provenance;
    ret = mer_build_store(&p, &s, &src, r);
    tp->empty = t.empty;
done:
    mer_textenc_close(t.enc);
    mer_csv_free(csv);
    mer_samples_release(&s);
    free(options);
    free(provenance);
    return ret;
}
