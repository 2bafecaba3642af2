/*
 * TorchScript audio backbones against Python (tests/oracle/backbone_tiny.py): a tiny random
 * conv + transformer encoder exported by scripts/export-backbone.py must give, through mer's
 * cutting, normalization, batching and layer pooling, the frames Python computes as MERTools
 * does (1e-5), for clips shorter than, equal to and longer than 10 s, each configuration run
 * once with all rows batched by width and once row by row. Then the errors: wrong exports
 * (their messages name the file and the expected shapes), modules that throw, layers out of
 * range, CUDA on a CPU build. Last, frames/s through mer and in Python on one thread.
 */
#include "mer/backbone.h"
#include "mer/error.h"
#include "mer/torch.h"
#include "testhelp.h"

#include <stdint.h>
#include <time.h>

#define MAX_CLIPS   16
#define MAX_CONFIGS 8
#define RATE        16000

struct clip {
    float *x;
    size_t n;
};

struct config {
    int id, layers[8];
    size_t n_layers;
    struct mer_backbone_params p;
};

static char dir[4200];
static struct clip clips[MAX_CLIPS];
static size_t n_clips;
static struct config configs[MAX_CONFIGS];
static size_t n_configs;

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

static void read_clips(void)
{
    char name[64];
    size_t n;
    FILE *f = open_text("clips.txt");
    while (n_clips < MAX_CLIPS && fscanf(f, "%63s %zu", name, &n) == 2) {
        char file[80];
        snprintf(file, sizeof(file), "%s.f32", name);
        clips[n_clips].x = test_read_raw(dir, file, n * sizeof(float));
        clips[n_clips++].n = n;
    }
    fclose(f);
}

/* configs.txt: "id layers pool normalize tail segment_s", layers comma-separated. */
static void read_configs(void)
{
    char layers[64], pool[16], norm[16], tail[16];
    int id;
    double seg;
    FILE *f = open_text("configs.txt");
    while (n_configs < MAX_CONFIGS &&
           fscanf(f, "%d %63s %15s %15s %15s %lf", &id, layers, pool, norm, tail, &seg) == 6) {
        struct config *c = &configs[n_configs++];
        char *tok, *save = NULL;
        c->id = id;
        c->p = mer_backbone_default_params();
        for (tok = strtok_r(layers, ",", &save); tok && c->n_layers < 8;
             tok = strtok_r(NULL, ",", &save))
            c->layers[c->n_layers++] = atoi(tok);
        c->p.pool = !strcmp(pool, "sum")    ? MER_LAYER_POOL_SUM
                    : !strcmp(pool, "mean") ? MER_LAYER_POOL_MEAN
                                            : MER_LAYER_POOL_CAT;
        c->p.normalize = !strcmp(norm, "auto") ? MER_BACKBONE_NORM_AUTO
                         : !strcmp(norm, "on") ? MER_BACKBONE_NORM_ON
                                               : MER_BACKBONE_NORM_OFF;
        c->p.tail = !strcmp(tail, "pad") ? MER_TAIL_PAD : MER_TAIL_KEEP;
        c->p.segment_s = seg;
    }
    fclose(f);
}

/* Python's frames of clip i under config id ([*T, *D]), or NULL if it made none (too short). */
static float *expected(int id, size_t i, int64_t *T, int64_t *D)
{
    int cfg;
    size_t clip;
    long long t, d;
    float *want = NULL;
    FILE *f = open_text("expected.txt");
    while (fscanf(f, "%d %zu %lld %lld", &cfg, &clip, &t, &d) == 4)
        if (cfg == id && clip == i) {
            char file[64];
            snprintf(file, sizeof(file), "cfg%d_clip%zu.f32", id, i);
            want = test_read_raw(dir, file, (size_t)(t * d) * sizeof(float));
            *T = t;
            *D = d;
        }
    fclose(f);
    return want;
}

static mer_backbone *open_config(const struct config *c, int batch, const char *device)
{
    struct mer_backbone_params p = c->p;
    mer_backbone *b = NULL;
    p.model = path_in("tiny.pt");
    p.layers = c->layers;
    p.n_layers = c->n_layers;
    p.batch = batch;
    p.threads = 1;
    p.device = device;
    if (mer_backbone_open(&b, &p) < 0)
        fprintf(stderr, "%s\n", mer_errmsg());
    return b;
}

/* Every clip's frames under c: all rows in one run (batched by width, `batch` at most), or one
 * run per row (batch 0). got[i] is a new [T_i, D] array, T_i in T[i] (0: no rows). */
static void run_clips(mer_backbone *b, int batch, float **got, int64_t *T)
{
    struct mer_backbone_row rows[64];
    size_t first[MAX_CLIPS + 1], n = 0, D = (size_t)mer_backbone_dim(b);
    for (size_t i = 0; i < n_clips; i++) {
        first[i] = n;
        n += mer_backbone_rows(b, clips[i].x, clips[i].n, rows + n);
    }
    first[n_clips] = n;
    if (batch)
        CHECK_EQ_INT(mer_backbone_run(b, rows, n), 0);
    for (size_t i = 0; i < n_clips; i++) {
        size_t at = 0;
        T[i] = 0;
        got[i] = NULL;
        for (size_t r = first[i]; r < first[i + 1]; r++) {
            int64_t t;
            const float *f;
            if (!batch && mer_backbone_run(b, rows + r, 1) < 0) {
                fprintf(stderr, "%s\n", mer_errmsg());
                CHECK(0);
                continue;
            }
            f = mer_backbone_frames(b, batch ? r : 0, &t);
            got[i] = realloc(got[i], (at + (size_t)t) * D * sizeof(float));
            memcpy(got[i] + at * D, f, (size_t)t * D * sizeof(float));
            at += (size_t)t;
        }
        T[i] = (int64_t)at;
    }
}

/* max |got - want| over frames and over the utterance means; T and D must agree. */
static double compare_clip(const float *got, int64_t T, const float *want, int64_t wT, int64_t D,
                           double *utt)
{
    double d = 0;
    CHECK_EQ_INT(T, wT);
    if (T != wT)
        return INFINITY;
    for (int64_t k = 0; k < D; k++) {
        double mg = 0, mw = 0;
        for (int64_t t = 0; t < T; t++) {
            double a = got[t * D + k], w = want[t * D + k];
            d = fmax(d, fabs(a - w));
            mg += a;
            mw += w;
        }
        *utt = fmax(*utt, fabs(mg - mw) / (double)T);
    }
    return d;
}

/* Config c through mer, batched and row by row, against Python; prints the differences. */
static void check_config(const struct config *c, const char *device, double tol)
{
    float *batched[MAX_CLIPS], *alone[MAX_CLIPS];
    int64_t Tb[MAX_CLIPS], Ta[MAX_CLIPS];
    double db = 0, da = 0, dba = 0, utt = 0;
    mer_backbone *b = open_config(c, 8, device), *one = open_config(c, 1, device);
    CHECK(b && one);
    if (!b || !one)
        goto done;
    CHECK_EQ_INT(mer_backbone_layer_count(b), 5);
    CHECK_EQ_INT(mer_backbone_min_samples(b), 400);
    CHECK_EQ_INT(mer_backbone_sample_rate(b), RATE);
    CHECK_EQ_INT(mer_backbone_normalizes(b), c->p.normalize != MER_BACKBONE_NORM_OFF);
    CHECK_EQ_INT(mer_backbone_dim(b), c->p.pool == MER_LAYER_POOL_CAT ? 32 * c->n_layers : 32);
    run_clips(b, 8, batched, Tb);
    run_clips(one, 0, alone, Ta);
    for (size_t i = 0; i < n_clips; i++) {
        int64_t wT = 0, D = mer_backbone_dim(b);
        float *want = expected(c->id, i, &wT, &D);
        if (!want) { /* too short for the encoder: no rows */
            CHECK_EQ_INT(Tb[i], 0);
            continue;
        }
        db = fmax(db, compare_clip(batched[i], Tb[i], want, wT, D, &utt));
        da = fmax(da, compare_clip(alone[i], Ta[i], want, wT, D, &utt));
        dba = fmax(dba, compare_clip(batched[i], Tb[i], alone[i], Ta[i], D, &utt));
        free(want);
        free(batched[i]);
        free(alone[i]);
    }
    printf("config %d on %s: maxdiff batched %.3g, row by row %.3g, batched vs alone %.3g, "
           "utterance means %.3g\n",
           c->id, device, db, da, dba, utt);
    CHECK(db <= tol && da <= tol && dba <= tol && utt <= tol);
done:
    mer_backbone_close(b);
    mer_backbone_close(one);
}

/* Cutting: how many rows each clip gives, and their widths, under the default (pad) config. */
static void check_rows(void)
{
    static const size_t want_rows[] = {1, 3, 1, 2, 1, 0, 1};
    struct mer_backbone_row rows[8];
    mer_backbone *b = open_config(&configs[0], 8, "cpu");
    CHECK(b != NULL);
    if (!b)
        return;
    for (size_t i = 0; i < n_clips && i < MER_ARRAY_SIZE(want_rows); i++) {
        size_t n = mer_backbone_rows(b, clips[i].x, clips[i].n, NULL);
        CHECK_EQ_INT(n, want_rows[i]);
        CHECK_EQ_INT(mer_backbone_rows(b, clips[i].x, clips[i].n, rows), n);
        for (size_t r = 0; r < n; r++)
            CHECK_EQ_INT(rows[r].width, n > 1 ? 10 * RATE : clips[i].n);
    }
    CHECK_EQ_INT(mer_backbone_rows(b, clips[0].x, 0, NULL), 0);
    CHECK_EQ_INT(mer_backbone_rows(b, clips[0].x, 399, NULL), 0);
    CHECK_EQ_INT(mer_backbone_rows(b, clips[0].x, 400, NULL), 1);
    mer_backbone_close(b);
}

static void check_checksum(void)
{
    char want[64] = "";
    FILE *f = open_text("checksum.txt");
    mer_backbone *b = open_config(&configs[0], 8, "cpu");
    CHECK(fscanf(f, "%63s", want) == 1);
    fclose(f);
    CHECK(b != NULL);
    if (b)
        CHECK_EQ_STR(mer_backbone_checksum(b), want);
    printf("checksum %s\n", b ? mer_backbone_checksum(b) : "?");
    mer_backbone_close(b);
}

/* Opening `model` (in dir unless it has a '/') with layers[n] fails with one line holding the
 * file's name and every needle (NULL-terminated). */
static void open_fails(const char *model, const int *layers, size_t n, const char *device, ...)
{
    struct mer_backbone_params p = mer_backbone_default_params();
    mer_backbone *b = (mer_backbone *)&p;
    const char *msg, *needle;
    char path[4400];
    va_list ap;
    snprintf(path, sizeof(path), "%s", strchr(model, '/') ? model : path_in(model));
    p.model = path;
    p.layers = layers;
    p.n_layers = n;
    p.device = device;
    CHECK(mer_backbone_open(&b, &p) == -1);
    CHECK(b == NULL);
    msg = mer_errmsg();
    CHECK(strchr(msg, '\n') == NULL);
    if (strcmp(device, "cpu") == 0)
        CHECK(strstr(msg, path) != NULL);
    va_start(ap, device);
    while ((needle = va_arg(ap, const char *)) != NULL)
        if (!strstr(msg, needle)) {
            fprintf(stderr, "FAIL: '%s' not in: %s\n", needle, msg);
            CHECK(0);
        }
    va_end(ap);
    printf("  %s\n", msg);
}

static void check_errors(void)
{
    static const int five[] = {5}, minus_six[] = {-6};
    const char *sig = "[B, T]", *out = "[B, T', D]";
    printf("errors:\n");
    open_fails("missing.pt", NULL, 0, "cpu", "No such file", NULL);
    open_fails("not_torchscript.pt", NULL, 0, "cpu", NULL);
    open_fails("bad_meta.pt", NULL, 0, "cpu", "sample_rate", NULL);
    open_fails("returns_tensor.pt", NULL, 0, "cpu", sig, out, "a Tensor [1, 49, 32]", NULL);
    open_fails("returns_dict.pt", NULL, 0, "cpu", sig, out, "Dict[str, Tensor]", NULL);
    open_fails("wrong_rank.pt", NULL, 0, "cpu", sig, out, "rank 2", NULL);
    open_fails("wants_3d.pt", NULL, 0, "cpu", sig, out, "Dimension out of range", NULL);
    open_fails("throws.pt", NULL, 0, "cpu", "boom: this backbone always fails", NULL);
    open_fails("f64.pt", NULL, 0, "cpu", "float32", NULL);
    open_fails("three_layers.pt", NULL, 0, "cpu", "layer -4", "3 hidden states", NULL);
    open_fails("tiny.pt", five, 1, "cpu", "layer 5", "5 hidden states", NULL);
    open_fails("tiny.pt", minus_six, 1, "cpu", "layer -6", "5 hidden states", NULL);
    open_fails("tiny.pt", NULL, 0, "tpu", "tpu", NULL);
    if (!mer_torch_cuda_available())
        open_fails("tiny.pt", NULL, 0, "cuda:0", "cuda:0", "CUDA", NULL);

    TEST("a module that throws on long rows fails the run, naming the file and the batch")
    {
        struct mer_backbone_params p = mer_backbone_default_params();
        struct mer_backbone_row rows[4];
        mer_backbone *b = NULL;
        char path[4400];
        snprintf(path, sizeof(path), "%s", path_in("throws_long.pt"));
        p.model = path;
        CHECK_EQ_INT(mer_backbone_open(&b, &p), 0);
        if (b) {
            size_t n = mer_backbone_rows(b, clips[1].x, clips[1].n, rows);
            CHECK_EQ_INT(mer_backbone_run(b, rows, n), -1);
            CHECK(strstr(mer_errmsg(), path) && strstr(mer_errmsg(), "[3, 160000]") &&
                  strstr(mer_errmsg(), "rows longer than 5 s are not supported") &&
                  !strchr(mer_errmsg(), '\n'));
            printf("  %s\n", mer_errmsg());
            n = mer_backbone_rows(b, clips[0].x, clips[0].n, rows); /* 3.7 s still runs */
            CHECK_EQ_INT(mer_backbone_run(b, rows, n), 0);
        }
        mer_backbone_close(b);
    }
}

/* CPU time of the process: the machine is shared, and this is what its load disturbs least. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Six 10 s rows in one batch, one thread: frames/s (CPU time) of the best of 5 runs after 2
 * warm-up runs, as the oracle times Python. */
static void speed(void)
{
    struct mer_backbone_row rows[8];
    size_t n = 0;
    double python = 0, best = INFINITY, frames = 0;
    FILE *f = open_text("speed.txt");
    mer_backbone *b = open_config(&configs[0], 6, "cpu");
    CHECK(fscanf(f, "%lf", &python) == 1);
    fclose(f);
    if (!b)
        return;
    for (size_t i = 1; i <= 3; i++) /* 23 s, 10 s, 10 s + 1: 3 + 1 + 2 rows of 10 s */
        n += mer_backbone_rows(b, clips[i].x, clips[i].n, rows + n);
    CHECK_EQ_INT(n, 6);
    for (int rep = 0; rep < 7; rep++) {
        double t0 = now();
        CHECK_EQ_INT(mer_backbone_run(b, rows, n), 0);
        if (rep >= 2)
            best = fmin(best, now() - t0);
    }
    for (size_t r = 0; r < n; r++) {
        int64_t T;
        mer_backbone_frames(b, r, &T);
        frames += (double)T;
    }
    printf("speed (one thread, a batch of 6 rows of 10 s, best of 5, CPU time): mer %.0f "
           "frames/s, python %.0f frames/s\n",
           frames / best, python);
    mer_backbone_close(b);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "%s", test_tmpdir());
    if (test_oracle("backbone_tiny.py '%s'", dir) < 0) {
        fprintf(stderr, "the Python backbone oracle failed (is python3-torch installed?)\n");
        return 1;
    }
    read_clips();
    read_configs();
    CHECK_EQ_INT(n_clips, 7);
    CHECK_EQ_INT(n_configs, 4);
    check_rows();
    for (size_t c = 0; c < n_configs; c++)
        check_config(&configs[c], "cpu", 1e-5);
    if (mer_torch_cuda_available()) /* cuDNN convolutions may use TF32 */
        check_config(&configs[0], "cuda", 1e-3);
    check_checksum();
    check_errors();
    speed();
    CHECK_EQ_INT(mer_tensor_live_count(), 0);
    return test_report();
}
