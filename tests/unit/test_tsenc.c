/*
 * The TorchScript text encoder against Python (tests/oracle/tiny_bert.py): a tiny BERT-like
 * model exported with torch.jit.script must give, through mer's C tokenizer and libtorch, the
 * embeddings Python computes from Python's tokenization (1e-5), for texts in English, Chinese,
 * mixed, emoji, empty, longer than max_tokens, with control and full-width characters. Then the
 * errors: missing model or vocabulary, a vocabulary without [UNK], exports of the wrong shape.
 */
#include "mer/error.h"
#include "mer/torch.h"
#include "traces/textenc_backend.h"
#include "testhelp.h"

#include <stdint.h>

#define H 32

static char dir[4200];

/* The fixed texts (texts.hex) as NUL-terminated strings; returns the count. */
static size_t read_texts(char ***texts)
{
    char path[4400], line[1 << 16];
    size_t n = 0;
    FILE *f;
    snprintf(path, sizeof(path), "%s/texts.hex", dir);
    f = fopen(path, "r");
    *texts = calloc(256, sizeof(**texts));
    while (f && n < 256 && fgets(line, sizeof(line), f)) {
        size_t len = strcspn(line, "\n") / 2;
        char *t = calloc(1, len + 1);
        for (size_t i = 0; i < len; i++) {
            unsigned v;
            sscanf(line + 2 * i, "%2x", &v);
            t[i] = (char)v;
        }
        if (strlen(t) != len) { /* see compare() */
            free(t);
            t = NULL;
        }
        (*texts)[n++] = t;
    }
    if (f)
        fclose(f);
    return n;
}

static char *path_in(const char *name)
{
    static char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

/* Every fixed text through model (vocab beside it) vs emb.f32; returns the max difference. */
static double compare(const char *model, char **texts, size_t n, const float *want)
{
    char mpath[4400], vpath[4400];
    struct mer_tsenc *e = NULL;
    double d = 0;
    snprintf(mpath, sizeof(mpath), "%s/%s", dir, model);
    snprintf(vpath, sizeof(vpath), "%s/model/vocab.txt", dir);
    if (mer_tsenc_open(&e, mpath, vpath, 128) < 0) {
        fprintf(stderr, "%s\n", mer_errmsg());
        return INFINITY;
    }
    CHECK_EQ_INT(mer_tsenc_dim(e), H);
    for (size_t i = 0; i < n; i++) {
        float got[H];
        int rc;
        if (!texts[i]) /* a NUL inside: a C string cannot carry it (test_wordpiece does) */
            continue;
        rc = mer_tsenc_encode(e, texts[i], got);
        CHECK_EQ_INT(rc, 0);
        for (int k = 0; k < H && rc == 0; k++)
            d = fmax(d, fabs(got[k] - want[i * H + k]));
        if (rc < 0)
            d = INFINITY;
    }
    mer_tsenc_close(e);
    return d;
}

/* mer_tsenc_open(model, vocab) fails with a one-line message holding `needle`. */
static void open_fails(const char *model, const char *vocab, int max_tokens, const char *needle)
{
    struct mer_tsenc *e = (struct mer_tsenc *)&e;
    char m[4400], v[4400];
    snprintf(m, sizeof(m), "%s", model);
    snprintf(v, sizeof(v), "%s", vocab);
    CHECK(mer_tsenc_open(&e, m, v, max_tokens) == -1);
    CHECK(e == NULL);
    CHECK(strstr(mer_errmsg(), needle) != NULL && strchr(mer_errmsg(), '\n') == NULL);
    printf("  %s\n", mer_errmsg());
}

static void errors(void)
{
    char model[4400], vocab[4400], nounk[4400];
    snprintf(model, sizeof(model), "%s", path_in("model/model.pt"));
    snprintf(vocab, sizeof(vocab), "%s", path_in("model/vocab.txt"));
    snprintf(nounk, sizeof(nounk), "%s", path_in("vocab_nounk.txt"));
    printf("errors:\n");
    open_fails(path_in("model/missing.pt"), vocab, 128, "missing.pt");
    open_fails(model, path_in("model/missing.txt"), 128, "missing.txt");
    open_fails(model, nounk, 128, "[UNK]");
    open_fails(vocab, vocab, 128, "vocab.txt"); /* not TorchScript */
    open_fails(model, vocab, 1, "max_tokens");
    open_fails(path_in("unpooled.pt"), vocab, 128, "unpooled.pt");
    open_fails(path_in("oneinput.pt"), vocab, 128, "oneinput.pt");
}

int main(void)
{
    char **texts;
    size_t n;
    float *want;
    snprintf(dir, sizeof(dir), "%s", test_tmpdir());
    if (test_oracle("tiny_bert.py '%s'", dir) < 0) {
        fprintf(stderr, "the Python tiny-BERT oracle failed (is python3-torch installed?)\n");
        return 1;
    }
    mer_torch_set_threads(1);
    n = read_texts(&texts);
    want = test_read_raw(dir, "emb.f32", n * H * sizeof(float));
    TEST("embeddings match Python")
    {
        double d = compare("model/model.pt", texts, n, want);
        CHECK(n >= 19);
        CHECK(d < 1e-5);
        printf("%zu texts: embedding maxdiff vs Python %.3g\n", n, d);
    }
    TEST("a float64 [H] output")
    {
        double d = compare("flat64.pt", texts, n, want);
        CHECK(d < 1e-5);
        printf("float64 [H] export: maxdiff %.3g\n", d);
    }
    TEST("errors") errors();
    TEST("no handles leak") CHECK_EQ_INT(mer_tensor_live_count(), 0);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(want);
    return test_report();
}
