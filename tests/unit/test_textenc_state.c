/* The hash encoder's fitted state: saved as tensors, taken back, new texts encoded alike. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"
#include "mer/textenc.h"
#include "testhelp.h"

static const char *const fit_texts[] = {
    "A broad smile, bright eyes and relaxed shoulders.",
    "The voice trembles and the pace is hesitant.",
    "他眉头紧锁，声音颤抖，似乎很担心。",
};
static const char *const new_texts[] = {"A broad SMILE!", "声音颤抖", "unseen words entirely"};

/* Writes e's state into path (a safetensors file) and returns the tensor count. */
static size_t save_state(struct mer_textenc *e, const char *path)
{
    struct mer_st_tensor t[MER_TEXTENC_MAX_STATE];
    mer_st_writer *w = mer_st_writer_new();
    size_t n = 0;
    CHECK(mer_textenc_state(e, t, &n) == 0);
    for (size_t i = 0; i < n; i++)
        CHECK(mer_st_writer_add(w, t[i].name, t[i].dtype, t[i].ndim, t[i].shape, t[i].data) == 0);
    if (mer_st_writer_write(w, path) < 0)
        fprintf(stderr, "%s\n", mer_errmsg());
    mer_st_writer_free(w);
    return n;
}

int main(void)
{
    const char *tmp = getenv("MER_TEST_TMP") ? getenv("MER_TEST_TMP") : "/tmp";
    char path[4096], empty[4096];
    if (mer_mkdir_p(tmp) < 0)
        return 1;
    snprintf(path, sizeof(path), "%s/textenc-state.safetensors", tmp);
    snprintf(empty, sizeof(empty), "%s/textenc-none.safetensors", tmp);
    TEST("a fitted hash encoder's state round-trips exactly")
    {
        struct mer_textenc *fitted = NULL, *loaded = NULL, *unfitted = NULL;
        mer_st_file *f = NULL;
        float a[64], b[64], c[64];
        CHECK(mer_textenc_open(&fitted, "hash", 64) == 0);
        CHECK(mer_textenc_fit(fitted, fit_texts, 3) == 0);
        CHECK(save_state(fitted, path) == 3); /* default, buckets, values */
        CHECK(mer_textenc_open(&loaded, "hash", 64) == 0);
        CHECK(mer_textenc_open(&unfitted, "hash", 64) == 0);
        CHECK(mer_st_open(&f, path, MER_ST_VERIFY) == 0);
        CHECK(f && mer_textenc_load_state(loaded, f) == 0);
        for (size_t i = 0; i < 3; i++) {
            CHECK(mer_textenc_encode(fitted, "s", "textual", new_texts[i], a) == 1);
            CHECK(mer_textenc_encode(loaded, "s", "textual", new_texts[i], b) == 1);
            CHECK(mer_textenc_encode(unfitted, "s", "textual", new_texts[i], c) == 1);
            CHECK(memcmp(a, b, sizeof(a)) == 0);
            /* the IDF matters for texts that share n-grams with the fit (a text of unseen ones
             * alone, or of n-grams of one fitted text alone, has one weight throughout, which
             * the L2 norm takes out) */
            CHECK(i != 0 || memcmp(a, c, sizeof(a)) != 0);
        }
        mer_st_close(f);
        mer_textenc_close(fitted);
        mer_textenc_close(loaded);
        mer_textenc_close(unfitted);
    }
    TEST("an unfitted encoder saves its default alone; a file without a state is refused")
    {
        struct mer_textenc *e = NULL;
        mer_st_file *f = NULL;
        mer_st_writer *w = mer_st_writer_new();
        const float one = 1;
        const int64_t shape[1] = {1};
        CHECK(mer_textenc_open(&e, "hash", 8) == 0);
        CHECK(save_state(e, path) == 1);
        CHECK(mer_st_writer_add(w, "features", MER_DTYPE_F32, 1, shape, &one) == 0);
        CHECK(mer_st_writer_write(w, empty) == 0);
        mer_st_writer_free(w);
        CHECK(mer_st_open(&f, empty, 0) == 0);
        CHECK(f && mer_textenc_load_state(e, f) == -1);
        CHECK(strstr(mer_errmsg(), "textenc-none.safetensors': no saved hash encoder state") !=
              NULL);
        mer_st_close(f);
        mer_textenc_close(e);
    }
    return test_report();
}
