/* Text encoders: the hash encoder against its Python oracle, similarity sanity, precomputed. */
#include "mer/error.h"
#include "mer/textenc.h"
#include "testhelp.h"

#include <cjson/cJSON.h>

static double dot(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static const char *const fit_texts[] = {
    "A broad smile, bright eyes and relaxed shoulders.",
    "The voice trembles and the pace is hesitant.",
    "他眉头紧锁，声音颤抖，似乎很担心。",
    "She shouts in a loud, sharp tone.",
    "语气平淡，没有明显的情绪。",
};
static const char *const enc_texts[] = {
    "A broad SMILE, bright   eyes!", "他眉头紧锁，\t声音颤抖。",
    "Mixed 中文 and English  text",  "x",
    "  unseen words entirely  ",
};

/* Runs the oracle on fit_texts/enc_texts; compares every number to 1e-5. */
static void check_oracle(void)
{
    const int dim = 64, n = (int)MER_ARRAY_SIZE(enc_texts);
    const char *dir = test_tmpdir();
    char in[4200], outp[4200];
    cJSON *spec = cJSON_CreateObject();
    struct mer_textenc *e = NULL;
    float got[64], *want;
    double maxdiff = 0;
    char *json;
    cJSON_AddNumberToObject(spec, "dim", dim);
    cJSON_AddItemToObject(spec, "fit", cJSON_CreateStringArray(fit_texts, 5));
    cJSON_AddItemToObject(spec, "encode", cJSON_CreateStringArray(enc_texts, n));
    json = cJSON_PrintUnformatted(spec);
    snprintf(in, sizeof(in), "%s/hash.json", dir);
    snprintf(outp, sizeof(outp), "%s/hash.f32", dir);
    write_text(in, json);
    free(json);
    cJSON_Delete(spec);
    CHECK(test_oracle("textenc_hash.py '%s' '%s'", in, outp) == 0);
    want = test_read_raw(dir, "hash.f32", sizeof(float) * (size_t)(dim * n));
    CHECK(mer_textenc_open(&e, "hash", dim) == 0);
    CHECK(mer_textenc_fit(e, fit_texts, 5) == 0);
    for (int i = 0; i < n; i++) {
        CHECK(mer_textenc_encode(e, "s", "visual", enc_texts[i], got) == 1);
        for (int k = 0; k < dim; k++) {
            double d = fabs((double)got[k] - want[i * dim + k]);
            maxdiff = d > maxdiff ? d : maxdiff;
        }
    }
    printf("hash encoder vs oracle: maxdiff %.3g\n", maxdiff);
    CHECK(maxdiff < 1e-5);
    free(want);
    mer_textenc_close(e);
}

static void check_similarity(void)
{
    struct mer_textenc *e = NULL;
    float a[256], b[256], c[256], a2[256];
    CHECK(mer_textenc_open(&e, "hash", 256) == 0);
    CHECK(mer_textenc_fit(e, fit_texts, 5) == 0);
    CHECK(mer_textenc_encode(e, NULL, "visual", "a broad smile and bright eyes", a) == 1);
    CHECK(mer_textenc_encode(e, NULL, "visual", "a wide smile, bright eyes", b) == 1);
    CHECK(mer_textenc_encode(e, NULL, "visual", "the voice trembles with fear", c) == 1);
    CHECK(mer_textenc_encode(e, NULL, "visual", "a broad smile and bright eyes", a2) == 1);
    CHECK(!memcmp(a, a2, sizeof(a)));
    CHECK_NEAR(dot(a, a, 256), 1.0, 1e-5);
    CHECK(dot(a, b, 256) > dot(a, c, 256) + 0.2);
    CHECK(mer_textenc_encode(e, NULL, "textual", "眉头紧锁，声音颤抖", a) == 1);
    CHECK(mer_textenc_encode(e, NULL, "textual", "眉头紧锁，声音发抖", b) == 1);
    CHECK(mer_textenc_encode(e, NULL, "textual", "她开心地笑了", c) == 1);
    CHECK(dot(a, b, 256) > dot(a, c, 256) + 0.2);
    CHECK(mer_textenc_encode(e, NULL, "textual", " \t ", c) == 1);
    CHECK_NEAR(dot(c, c, 256), 0.0, 0);
    CHECK_EQ_INT(mer_textenc_dim(e), 256);
    mer_textenc_close(e);
}

static void check_precomputed(void)
{
    const char *dir = test_tmpdir();
    char path[4200], spec[4300];
    struct mer_textenc *e = NULL;
    float v[3];
    snprintf(path, sizeof(path), "%s/emb.jsonl", dir);
    snprintf(spec, sizeof(spec), "precomputed:%s", path);
    write_text(path, "{\"key\": \"s1\", \"modality\": \"visual\", \"embedding\": [1, 2, 3]}\n\n"
                     "{\"key\": \"s1\", \"modality\": \"audio\", \"embedding\": [4, 5, 6]}\n");
    CHECK(mer_textenc_open(&e, spec, 0) == 0);
    CHECK_EQ_INT(mer_textenc_dim(e), 3);
    CHECK(mer_textenc_fit(e, fit_texts, 5) == 0);
    CHECK_EQ_INT(mer_textenc_encode(e, "s1", "acoustic", "ignored", v), 1);
    CHECK(v[0] == 4 && v[2] == 6);
    CHECK_EQ_INT(mer_textenc_encode(e, "s1", "textual", "ignored", v), 0);
    CHECK_EQ_INT(mer_textenc_encode(e, "s2", "visual", "ignored", v), 0);
    mer_textenc_close(e);
    CHECK(mer_textenc_open(&e, spec, 4) < 0);
    CHECK(strstr(mer_errmsg(), "embeddings of 3 numbers, but a dimension of 4") != NULL);

    write_text(path, "{\"key\": \"s1\", \"modality\": \"visual\", \"embedding\": [1, 2, 3]}\n"
                     "{\"key\": \"s2\", \"modality\": \"visual\", \"embedding\": [1, 2]}\n");
    CHECK(mer_textenc_open(&e, spec, 0) < 0 && e == NULL);
    CHECK(strstr(mer_errmsg(), "emb.jsonl':2: embedding of 2 numbers, expected 3") != NULL);
    write_text(path, "{\"key\": \"s1\", \"modality\": \"smell\", \"embedding\": [1]}\n");
    CHECK(mer_textenc_open(&e, spec, 0) < 0);
    CHECK(strstr(mer_errmsg(), "emb.jsonl':1: expected {") != NULL);
    write_text(path, "{\"key\": \"s1\", \"modality\": \"text\", \"embedding\": [1]}\n"
                     "{\"key\": \"s1\", \"modality\": \"textual\", \"embedding\": [2]}\n");
    CHECK(mer_textenc_open(&e, spec, 0) < 0);
    CHECK(strstr(mer_errmsg(), "a second embedding for sample 's1', modality textual") != NULL);
}

int main(void)
{
    struct mer_textenc *e = NULL;
    TEST("hash encoder matches its Python oracle") check_oracle();
    TEST("hash encoder: deterministic, similar texts closer") check_similarity();
    TEST("precomputed embeddings") check_precomputed();
    TEST("bad specs")
    {
        CHECK(mer_textenc_open(&e, "hash", 0) < 0);
        CHECK(strstr(mer_errmsg(), "at least 1") != NULL);
        CHECK(mer_textenc_open(&e, "bert", 8) < 0);
        CHECK(strstr(mer_errmsg(), "unknown text encoder 'bert'") != NULL);
        CHECK(mer_textenc_open(&e, "precomputed:/nonexistent/x.jsonl", 0) < 0);
        CHECK(strstr(mer_errmsg(), "cannot open") != NULL);
        CHECK(mer_textenc_open(&e, "torchscript:/nonexistent/model.pt", 0) < 0);
        CHECK(e == NULL);
    }
    return test_report();
}
