/*
 * Image preprocessing and TorchScript image backbones against Python
 * (tests/oracle/image_tiny.py): real frames of the sample clips (ffmpeg CLI) and random frames
 * of odd sizes, preprocessed under six configurations, must equal torchvision's transforms on a
 * PIL image (1e-6: the resized bytes are PIL's); the tiny random CNN exported by
 * scripts/export-backbone.py --kind image must give Python's features for mer's preprocessed
 * frames (1e-5), in batches and alone, and a token module its CLS and mean. Then the option
 * table, the errors (wrong exports name the file and the expected shapes), and frames/s through
 * mer and in Python on one thread.
 */
#include "mer/error.h"
#include "mer/image.h"
#include "mer/torch.h"
#include "testhelp.h"

#include <stdint.h>
#include <time.h>

#define MAX_FRAMES  16
#define MAX_CONFIGS 8

struct frame {
    uint8_t *rgb;
    int h, w, real;
};

static char dir[4200];
static struct frame frames[MAX_FRAMES];
static size_t n_frames, n_real;

static const char *path_in(const char *name)
{
    static char path[2][4400];
    static int which;
    which = !which;
    snprintf(path[which], sizeof(path[which]), "%s/%s", dir, name);
    return path[which];
}

static FILE *open_text(const char *name)
{
    FILE *f = fopen(path_in(name), "r");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path_in(name));
        exit(1);
    }
    return f;
}

static void read_frames(void)
{
    char name[64];
    int h, w, real;
    FILE *f = open_text("frames.txt");
    while (n_frames < MAX_FRAMES && fscanf(f, "%63s %d %d %d", name, &h, &w, &real) == 4) {
        char file[80];
        snprintf(file, sizeof(file), "%s.rgb", name);
        frames[n_frames] = (struct frame){test_read_raw(dir, file, (size_t)h * w * 3), h, w, real};
        n_real += real != 0;
        n_frames++;
    }
    fclose(f);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m))
            m = d; /* NaN sticks */
    }
    return m;
}

/* configs.txt "id resize crop interpolation rescale preset" into opts through mer_image_set. */
static int read_config(FILE *f, int *id, struct mer_image_opts *o)
{
    char resize[16], crop[16], interp[16], rescale[16], preset[16];
    if (fscanf(f, "%d %15s %15s %15s %15s %15s", id, resize, crop, interp, rescale, preset) != 6)
        return 0;
    mer_image_defaults(o);
    CHECK(mer_image_set(o, "resize", resize) == 0 && mer_image_set(o, "crop", crop) == 0 &&
          mer_image_set(o, "interpolation", interp) == 0 &&
          mer_image_set(o, "rescale", rescale) == 0 && mer_image_set(o, "mean", preset) == 0 &&
          mer_image_set(o, "std", preset) == 0);
    return 1;
}

static void check_preprocessing(void)
{
    FILE *f = open_text("configs.txt"), *e = open_text("expected.txt");
    struct mer_image_opts o;
    int id, cfg, fi, eh, ew, n = 0;
    while (read_config(f, &id, &o)) {
        double worst = 0, worst_real = 0;
        for (size_t i = 0; i < n_frames; i++) {
            int oh, ow;
            char file[64];
            float *want, *got;
            TEST("preprocessing matches torchvision on a PIL image")
            {
                CHECK(fscanf(e, "%d %d %d %d", &cfg, &fi, &eh, &ew) == 4);
                CHECK_EQ_INT(cfg, id);
                CHECK_EQ_INT(fi, i);
                mer_image_out_size(&o, frames[i].h, frames[i].w, &oh, &ow);
                CHECK_EQ_INT(oh, eh);
                CHECK_EQ_INT(ow, ew);
                snprintf(file, sizeof(file), "exp%d_%zu.f32", id, i);
                want = test_read_raw(dir, file, (size_t)3 * eh * ew * sizeof(float));
                got = calloc((size_t)3 * oh * ow, sizeof(float));
                CHECK(mer_image_preprocess(&o, frames[i].rgb, frames[i].h, frames[i].w, got) == 0);
                double d = max_abs_diff(got, want, (size_t)3 * oh * ow);
                if (d > 1e-6)
                    fprintf(stderr, "config %d frame %zu (%dx%d): max abs diff %g\n", id, i,
                            frames[i].h, frames[i].w, d);
                CHECK(d <= 1e-6);
                worst = d > worst ? d : worst;
                if (frames[i].real)
                    worst_real = d > worst_real ? d : worst_real;
                free(want);
                free(got);
            }
        }
        printf("preprocessing config %d (resize %d, crop %d, %s): max abs diff %.3g over %zu "
               "frames (real %.3g)\n",
               id, o.resize, o.crop, o.interp == MER_IMAGE_BICUBIC ? "bicubic" : "bilinear", worst,
               n_frames, worst_real);
        n++;
    }
    CHECK_EQ_INT(n, 6);
    fclose(f);
    fclose(e);
}

static void check_options(void)
{
    TEST("option table, parser and JSON")
    {
        struct mer_image_opts o, before;
        cJSON *j;
        char *text;
        mer_image_defaults(&o);
        CHECK_EQ_INT(o.resize, 224);
        CHECK_EQ_INT(o.crop, 224);
        CHECK(o.interp == MER_IMAGE_BICUBIC && o.rescale == 1);
        CHECK(o.mean[0] == 0.48145466f && o.std[2] == 0.27577711f);
        CHECK(mer_image_set(&o, "mean", "imagenet") == 0 && o.mean[1] == 0.456f);
        CHECK(mer_image_set(&o, "std", "0.5,0.25,2") == 0 && o.std[1] == 0.25f);
        before = o;
        CHECK(mer_image_set(&o, "std", "0,1,1") < 0);
        CHECK(strstr(mer_errmsg(), "image option 'std'") != NULL);
        CHECK(mer_image_set(&o, "mean", "1,2") < 0);
        CHECK(mer_image_set(&o, "crop", "-1") < 0);
        CHECK(strstr(mer_errmsg(), "[0,8192]") != NULL);
        CHECK(mer_image_set(&o, "interpolation", "lanczos") < 0);
        CHECK(mer_image_set(&o, "size", "224") < 0);
        CHECK(strstr(mer_errmsg(), "unknown image option 'size' (known: resize") != NULL);
        CHECK(!memcmp(&o, &before, sizeof(o)));
        CHECK_EQ_INT(mer_image_option_count(), 6);
        CHECK_EQ_STR(mer_image_option(2)->name, "interpolation");
        CHECK(mer_image_option(6) == NULL);
        j = mer_image_opts_json(&o);
        text = cJSON_PrintUnformatted(j);
        CHECK(text && strstr(text, "\"resize\":224,\"crop\":224,\"interpolation\":\"bicubic\","
                                   "\"rescale\":true,\"mean\":[0.485,0.456,0.406]") != NULL);
        CHECK(text && strstr(text, "\"std\":[0.5,0.25,2]") != NULL);
        printf("resolved options: %s\n", text ? text : "(null)");
        free(text);
        cJSON_Delete(j);
        CHECK(mer_image_preprocess(&o, (const uint8_t *)"", 0, 5, NULL) < 0);
        CHECK(strstr(mer_errmsg(), "0 x 5 pixels") != NULL);
    }
}

static const char *device = "cpu";

static mer_image_backbone *open_model(const char *name, enum mer_image_pool pool, int batch)
{
    struct mer_image_backbone_params p = mer_image_backbone_default_params();
    p.device = device;
    mer_image_backbone *b = NULL;
    p.model = path_in(name);
    p.threads = 1;
    p.batch = batch;
    p.pool = pool;
    if (mer_image_backbone_open(&b, &p) < 0)
        fprintf(stderr, "%s\n", mer_errmsg());
    return b;
}

/* The real frames preprocessed with b's options: a new [n_real, 3, C, C]. */
static float *real_batch(const mer_image_backbone *b, int *side)
{
    const struct mer_image_opts *o = mer_image_backbone_opts(b);
    int oh, ow;
    float *x;
    mer_image_out_size(o, frames[0].h, frames[0].w, &oh, &ow);
    x = calloc(n_real * 3 * (size_t)oh * ow, sizeof(float));
    for (size_t i = 0, k = 0; i < n_frames; i++)
        if (frames[i].real)
            CHECK(mer_image_preprocess(o, frames[i].rgb, frames[i].h, frames[i].w,
                                       x + k++ * 3 * (size_t)oh * ow) == 0);
    *side = oh;
    return x;
}

/* Features of the real frames through model `name` against the raw file `want` [n_real, D]. */
static void check_features(const char *name, enum mer_image_pool pool, const char *want_file,
                           double tol)
{
    for (int batch = 1; batch <= 4; batch += 3) {
        mer_image_backbone *b = open_model(name, pool, batch);
        int side;
        float *x, *got, *want;
        size_t D;
        CHECK(b != NULL);
        if (!b)
            return;
        D = (size_t)mer_image_backbone_dim(b);
        CHECK_EQ_INT(D, 32);
        x = real_batch(b, &side);
        got = calloc(n_real * D, sizeof(float));
        want = test_read_raw(dir, want_file, n_real * D * sizeof(float));
        CHECK(mer_image_backbone_run(b, x, n_real, side, side, got) == 0);
        double d = max_abs_diff(got, want, n_real * D);
        printf("%s (%s%s, batch %d, %s): %zu real frames, max abs diff %.3g vs Python\n", name,
               mer_image_backbone_tokens(b) ? "tokens, " : "",
               pool == MER_IMAGE_POOL_CLS ? "cls" : "mean", batch, device, n_real, d);
        CHECK(d <= tol);
        free(x);
        free(got);
        free(want);
        mer_image_backbone_close(b);
    }
}

static void check_backbone(void)
{
    TEST("tiny CNN features match Python")
    {
        mer_image_backbone *b = open_model("tiny.pt", MER_IMAGE_POOL_CLS, 16);
        struct mer_image_opts clip;
        char want[64] = "";
        FILE *f = open_text("checksum.txt");
        CHECK(fscanf(f, "%63s", want) == 1);
        fclose(f);
        mer_image_defaults(&clip);
        CHECK(b != NULL);
        if (b) {
            CHECK(!memcmp(mer_image_backbone_opts(b), &clip, sizeof(clip)));
            CHECK_EQ_STR(mer_image_backbone_checksum(b), want);
            CHECK(!mer_image_backbone_tokens(b));
        }
        mer_image_backbone_close(b);
        check_features("tiny.pt", MER_IMAGE_POOL_CLS, "feats.f32", 1e-5);
    }
    TEST("token outputs pooled as CLS or mean")
    {
        check_features("tokens.pt", MER_IMAGE_POOL_CLS, "tokens_cls.f32", 1e-5);
        check_features("tokens.pt", MER_IMAGE_POOL_MEAN, "tokens_mean.f32", 1e-5);
    }
}

static void expect_open_error(const char *name, const char *want)
{
    mer_image_backbone *b = open_model(name, MER_IMAGE_POOL_CLS, 4);
    const char *msg = mer_errmsg();
    CHECK(b == NULL);
    CHECK(strstr(msg, path_in(name)) != NULL);
    if (!strstr(msg, want)) {
        fprintf(stderr, "%s: expected '%s' in: %s\n", name, want, msg);
        CHECK(0);
    }
    CHECK(strchr(msg, '\n') == NULL);
    mer_image_backbone_close(b);
}

static void check_errors(void)
{
    TEST("wrong exports: one line naming the file and the shapes")
    {
        const char *sig = "expected forward(images: float32 [B, 3, H, W]) -> float32 [B, D] "
                          "or [B, N, D]; on float32 [1, 3, 224, 224]";
        expect_open_error("returns_tuple.pt", sig);
        expect_open_error("wrong_rank.pt", "returned float32 [1, 32, 1, 1]");
        expect_open_error("throws.pt", "tiny image module refuses every batch");
        expect_open_error("f64.pt", "returned [1, 32], not float32");
        expect_open_error("not_torchscript.pt", "not_torchscript.pt");
        expect_open_error("audio_meta.pt", "kind is audio, not an image backbone");
        expect_open_error("bad_meta.pt", "mer_backbone.json: image option 'crop'");
        expect_open_error("missing.pt", "missing.pt");
        printf("an error: %s\n", mer_errmsg());
    }
    TEST("a run of another size than the model takes")
    {
        mer_image_backbone *b = open_model("tiny.pt", MER_IMAGE_POOL_CLS, 4);
        float x[3 * 4 * 4] = {0}, out[32];
        CHECK(b && mer_image_backbone_run(b, x, 1, 4, 4, out) == 0); /* a CNN takes any size */
        mer_image_backbone_close(b);
        b = open_model("tokens.pt", MER_IMAGE_POOL_CLS, 4);
        CHECK(b && mer_image_backbone_run(b, x, 1, 1, 1, out) < 0);
        CHECK(strstr(mer_errmsg(), "on float32 [1, 3, 1, 1]") != NULL);
        mer_image_backbone_close(b);
    }
    if (!mer_torch_cuda_available())
        TEST("cuda on a CPU build")
        {
            struct mer_image_backbone_params p = mer_image_backbone_default_params();
            mer_image_backbone *b = NULL;
            p.model = path_in("tiny.pt");
            p.device = "cuda:0";
            CHECK(mer_image_backbone_open(&b, &p) < 0 && b == NULL);
            mer_torch_set_device("cpu");
        }
}

/* CPU time of the process: the machine is shared, and this is what its load disturbs least. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One thread, best of 5 after 2 warm-ups, CPU time: the model on a batch of 16 224x224 images
 * and the preprocessing of a 96x96 frame to 224 (CLIP's), as the oracle times them in Python. */
static void speed(void)
{
    mer_image_backbone *b = open_model("tiny.pt", MER_IMAGE_POOL_CLS, 16);
    struct mer_image_opts o;
    double py_model = 0, py_prep = 0, best_model = 1e9, best_prep = 1e9;
    float *x = calloc((size_t)16 * 3 * 224 * 224, sizeof(float)), out[16 * 32];
    FILE *f = open_text("speed.txt");
    CHECK(fscanf(f, "%lf %lf", &py_model, &py_prep) == 2);
    fclose(f);
    mer_image_defaults(&o);
    for (size_t i = 0; i < (size_t)16 * 3 * 224 * 224; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    for (int rep = 0; b && rep < 7; rep++) {
        double t0 = cpu_seconds();
        CHECK(mer_image_backbone_run(b, x, 16, 224, 224, out) == 0);
        double t1 = cpu_seconds();
        for (int k = 0; k < 20; k++)
            mer_image_preprocess(&o, frames[0].rgb, frames[0].h, frames[0].w, x);
        double t2 = cpu_seconds();
        if (rep >= 2) {
            best_model = t1 - t0 < best_model ? t1 - t0 : best_model;
            best_prep = t2 - t1 < best_prep ? t2 - t1 : best_prep;
        }
    }
    printf("speed (one thread, best of 5, CPU time): tiny CNN on 16 x 224x224: mer %.0f "
           "frames/s, Python %.0f; preprocessing 96x96 -> 224: mer %.0f frames/s, Python (PIL + "
           "torch) %.0f\n",
           16 / best_model, py_model, 20 / best_prep, py_prep);
    free(x);
    mer_image_backbone_close(b);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "%s", test_tmpdir());
    if (test_oracle("image_tiny.py '%s'", dir) < 0) {
        fprintf(stderr, "the Python image oracle failed (are python3-torch and python3-pil "
                        "installed?)\n");
        return 1;
    }
    read_frames();
    CHECK_EQ_INT(n_frames, 11);
    CHECK_EQ_INT(n_real, 6);
    check_options();
    check_preprocessing();
    check_backbone();
    if (mer_torch_cuda_available()) { /* cuDNN convolutions may use TF32 */
        device = "cuda";
        check_features("tiny.pt", MER_IMAGE_POOL_CLS, "feats.f32", 1e-3);
        device = "cpu";
        mer_torch_set_device("cpu");
    }
    check_errors();
    speed();
    CHECK_EQ_INT(mer_tensor_live_count(), 0);
    return test_report();
}
