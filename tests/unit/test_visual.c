/*
 * Visual features (mer/visual.h) against python3-skimage (tests/oracle/hog_skimage.py): gray
 * (rgb2gray) and colour moments within 1e-12, resize (skimage.transform.resize) within 1e-12,
 * HOG (skimage.feature.hog) within 1e-5 on the same input array (real frames the ffmpeg CLI
 * decodes from the sample clips, random and integer-valued images, five option sets), and the
 * whole per-frame and pooled rows of a clip within 1e-5; the option parser, provenance, names,
 * bad sizes, threads sharing one plan (same bits), and the speed (frames/s, printed).
 */
#include "mer/error.h"
#include "mer/visual.h"
#include "testhelp.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define EXACT   1e-12 /* gray, colour moments, resize: the same float64 arithmetic */
#define HOG_TOL 1e-5  /* the stated HOG tolerance */

static char dir[3800];
static FILE *cases;

struct rgbset {
    const char *name;
    size_t w, h, t;
    uint8_t *rgb;
};

struct hogset {
    int n, pr, pc, br, bc;
    const char *norm;
    int sqrt;
};

static const struct hogset hogsets[] = {
    {9, 8, 8, 2, 2, "L2-Hys", 0}, {12, 6, 5, 3, 2, "L1", 1},    {8, 4, 4, 1, 1, "L1-sqrt", 0},
    {7, 8, 8, 3, 3, "L2", 0},     {4, 5, 7, 2, 3, "L2-Hys", 1},
};

static uint64_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static void write_raw(const char *name, const void *data, size_t bytes)
{
    char path[4200];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static double max_diff(const double *a, const double *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fabs(a[i] - b[i]) > m ? fabs(a[i] - b[i]) : m;
    return m;
}

static void hog_opts(struct mer_visual_opts *o, const struct hogset *s)
{
    char v[32];
    mer_visual_defaults(o);
    snprintf(v, sizeof(v), "%d", s->n);
    MER_ASSERT(mer_visual_set(o, "orientations", v) == 0);
    snprintf(v, sizeof(v), "%d,%d", s->pr, s->pc);
    MER_ASSERT(mer_visual_set(o, "pixels_per_cell", v) == 0);
    snprintf(v, sizeof(v), "%d,%d", s->br, s->bc);
    MER_ASSERT(mer_visual_set(o, "cells_per_block", v) == 0);
    MER_ASSERT(mer_visual_set(o, "block_norm", s->norm) == 0);
    MER_ASSERT(mer_visual_set(o, "transform_sqrt", s->sqrt ? "true" : "false") == 0);
}

/* An image for hog cases under every option set: name.f64 and one line per set. */
static void add_hog_image(const char *name, const double *img, size_t rows, size_t cols,
                          int sqrt_too)
{
    char file[256];
    snprintf(file, sizeof(file), "%s.f64", name);
    write_raw(file, img, rows * cols * sizeof(double));
    for (size_t k = 0; k < MER_ARRAY_SIZE(hogsets); k++) {
        const struct hogset *s = &hogsets[k];
        struct mer_visual_opts o;
        hog_opts(&o, s);
        if (!mer_visual_hog_size(&o, rows, cols) || (s->sqrt && !sqrt_too))
            continue;
        fprintf(cases, "hog %s_h%zu %zu %zu %d %d %d %d %d %s %d\n", name, k, rows, cols, s->n,
                s->pr, s->pc, s->br, s->bc, s->norm, s->sqrt);
        snprintf(file, sizeof(file), "%s_h%zu.f64", name, k);
        write_raw(file, img, rows * cols * sizeof(double));
    }
}

static void check_hog_image(const char *name, const double *img, size_t rows, size_t cols,
                            int sqrt_too, double *worst)
{
    for (size_t k = 0; k < MER_ARRAY_SIZE(hogsets); k++) {
        struct mer_visual_opts o;
        size_t n;
        char file[256];
        double *ours, *ref, d;
        hog_opts(&o, &hogsets[k]);
        if (!(n = mer_visual_hog_size(&o, rows, cols)) || (hogsets[k].sqrt && !sqrt_too))
            continue;
        ours = malloc(n * sizeof(double));
        CHECK(mer_visual_hog(&o, img, rows, cols, ours) == 0);
        snprintf(file, sizeof(file), "%s_h%zu.hog.f64", name, k);
        ref = test_read_raw(dir, file, n * sizeof(double));
        d = max_diff(ours, ref, n);
        *worst = d > *worst ? d : *worst;
        if (d > HOG_TOL)
            fprintf(stderr, "hog %s set %zu: maxdiff %.3g\n", name, k, d);
        CHECK(d <= HOG_TOL);
        free(ours);
        free(ref);
    }
}

/* Frames of a sample clip, decoded by the ffmpeg CLI (scaled when w, h differ from 96). */
static int decode_clip(struct rgbset *s, const char *clip, const char *scale)
{
    char cmd[9000], path[4400];
    snprintf(path, sizeof(path), "%s/%s.rgb", dir, s->name);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -v error -i '%s/data/sample/clips/%s' %s%s -frames:v %zu -f rawvideo "
             "-pix_fmt rgb24 -y '%s'",
             MER_TEST_SOURCE_DIR, clip, scale ? "-vf scale=" : "", scale ? scale : "", s->t, path);
    if (system(cmd) != 0)
        return -1;
    s->rgb = test_read_raw(dir, strrchr(path, '/') + 1, s->w * s->h * 3 * s->t);
    return 0;
}

/* Random RGB frames: a moving smooth pattern plus noise, so HOG and motion see structure. */
static void random_frames(struct rgbset *s)
{
    char file[256];
    s->rgb = malloc(s->w * s->h * 3 * s->t);
    for (size_t f = 0; f < s->t; f++)
        for (size_t y = 0; y < s->h; y++)
            for (size_t x = 0; x < s->w; x++)
                for (int c = 0; c < 3; c++) {
                    double v = 120 + 80 * sin(0.05 * (double)(x + 3 * f) * (c + 1) +
                                              0.03 * (double)y * (3 - c));
                    s->rgb[((f * s->h + y) * s->w + x) * 3 + c] =
                        (uint8_t)(v + (double)(rnd() % 40) - 20);
                }
    snprintf(file, sizeof(file), "%s.rgb", s->name);
    write_raw(file, s->rgb, s->w * s->h * 3 * s->t);
}

/* The cases of one frame set: gray, colour of its first frame; resize of our gray; hog of our
 * resized gray; the whole clip. */
static void add_rgb_cases(struct rgbset *s)
{
    char file[256];
    size_t n = s->w * s->h;
    double *gray = malloc(n * sizeof(double)), *small = malloc(64 * 64 * sizeof(double));
    snprintf(file, sizeof(file), "%s0.rgb", s->name);
    write_raw(file, s->rgb, n * 3);
    fprintf(cases, "gray %s0 %zu %zu\ncolour %s0 %zu %zu\n", s->name, s->h, s->w, s->name, s->h,
            s->w);
    mer_visual_gray(s->rgb, s->w, s->h, gray);
    for (int aa = 0; aa < 2; aa++) {
        snprintf(file, sizeof(file), "%s0g%d.f64", s->name, aa);
        write_raw(file, gray, n * sizeof(double));
        fprintf(cases, "resize %s0g%d %zu %zu 64 64 %d\n", s->name, aa, s->h, s->w, aa);
    }
    MER_ASSERT(mer_visual_resize(gray, s->h, s->w, small, 64, 64, 1) == 0);
    snprintf(file, sizeof(file), "%s0s", s->name);
    add_hog_image(file, small, 64, 64, 1);
    for (int k = 0; k < 2; k++)
        fprintf(cases, "clip %s %zu %zu %zu 64 64 %s\n", s->name, s->h, s->w, s->t,
                k ? "skimage" : "ours");
    small = realloc(small, s->t * 64 * 64 * sizeof(double));
    for (size_t f = 0; f < s->t; f++) {
        mer_visual_gray(s->rgb + f * n * 3, s->w, s->h, gray);
        MER_ASSERT(mer_visual_resize(gray, s->h, s->w, small + f * 64 * 64, 64, 64, 1) == 0);
    }
    snprintf(file, sizeof(file), "%s.small.f64", s->name);
    write_raw(file, small, s->t * 64 * 64 * sizeof(double));
    free(gray);
    free(small);
}

static void check_rgb_cases(struct rgbset *s, double *worst_hog, double *worst_row,
                            double *worst_e2e)
{
    char file[256];
    size_t n = s->w * s->h;
    double *gray = malloc(n * sizeof(double)), *ref, *small = malloc(64 * 64 * sizeof(double));
    double col[9], d;
    mer_visual *v;
    mer_visual_clip *c;
    struct mer_visual_opts o;
    size_t fd, cd;
    float *rows, *pooled;
    mer_visual_gray(s->rgb, s->w, s->h, gray);
    snprintf(file, sizeof(file), "%s0.gray.f64", s->name);
    ref = test_read_raw(dir, file, n * sizeof(double));
    d = max_diff(gray, ref, n);
    printf("%-8s %4zux%-4zu gray maxdiff %.3g", s->name, s->w, s->h, d);
    CHECK(d <= EXACT);
    free(ref);
    mer_visual_colour_moments(s->rgb, s->w, s->h, col);
    snprintf(file, sizeof(file), "%s0.colour.f64", s->name);
    ref = test_read_raw(dir, file, 9 * sizeof(double));
    d = max_diff(col, ref, 9);
    printf(", colour %.3g", d);
    CHECK(d <= EXACT);
    free(ref);
    for (int aa = 0; aa < 2; aa++) {
        CHECK(mer_visual_resize(gray, s->h, s->w, small, 64, 64, aa) == 0);
        snprintf(file, sizeof(file), "%s0g%d.resized.f64", s->name, aa);
        ref = test_read_raw(dir, file, 64 * 64 * sizeof(double));
        d = max_diff(small, ref, 64 * 64);
        printf(", resize%s %.3g", aa ? "" : " (no anti-aliasing)", d);
        CHECK(d <= EXACT);
        free(ref);
    }
    MER_ASSERT(mer_visual_resize(gray, s->h, s->w, small, 64, 64, 1) == 0);
    snprintf(file, sizeof(file), "%s0s", s->name);
    d = 0.0;
    check_hog_image(file, small, 64, 64, 1, &d);
    printf(", hog %.3g", d);
    *worst_hog = d > *worst_hog ? d : *worst_hog;

    /* the whole pipeline, frame by frame and pooled */
    mer_visual_defaults(&o);
    MER_ASSERT(mer_visual_open(&v, &o) == 0);
    MER_ASSERT(mer_visual_clip_new(&c, v) == 0);
    fd = mer_visual_frame_dim(v), cd = mer_visual_clip_dim(v);
    rows = malloc(s->t * fd * sizeof(float));
    pooled = malloc(cd * sizeof(float));
    for (size_t f = 0; f < s->t; f++)
        CHECK(mer_visual_clip_push(c, s->rgb + f * n * 3, s->w, s->h, rows + f * fd) == 0);
    CHECK(mer_visual_clip_pooled(c, pooled) == 0);
    snprintf(file, sizeof(file), "%s.rows.f32", s->name); /* for a look when a check fails */
    write_raw(file, rows, s->t * fd * sizeof(float));
    /* from our resized gray: the same arrays on both sides, within float32 rounding; from
     * skimage's rgb2gray and resize (within 2.2e-16 of ours): where a gradient's angle sits on
     * a bin edge (a vertical edge's row difference is rounding noise: 0 or 180 degrees) the
     * pixel may land in the other bin, so that is only bounded loosely */
    for (int k = 0; k < 2; k++) {
        const char *src = k ? "skimage" : "ours";
        double dr = 0.0, dp = 0.0;
        snprintf(file, sizeof(file), "%s.%s.frames.f64", s->name, src);
        ref = test_read_raw(dir, file, s->t * fd * sizeof(double));
        for (size_t i = 0; i < s->t * fd; i++)
            dr = fabs(rows[i] - ref[i]) > dr ? fabs(rows[i] - ref[i]) : dr;
        free(ref);
        snprintf(file, sizeof(file), "%s.%s.pooled.f64", s->name, src);
        ref = test_read_raw(dir, file, cd * sizeof(double));
        for (size_t i = 0; i < cd; i++)
            dp = fabs(pooled[i] - ref[i]) > dp ? fabs(pooled[i] - ref[i]) : dp;
        free(ref);
        printf(", rows/pooled from %s resize %.3g/%.3g", src, dr, dp);
        if (!k) {
            *worst_row = dr > *worst_row ? dr : *worst_row;
            *worst_row = dp > *worst_row ? dp : *worst_row;
            CHECK(dr <= HOG_TOL);
            CHECK(dp <= HOG_TOL);
        } else {
            *worst_e2e = dr > *worst_e2e ? dr : *worst_e2e;
            CHECK(dr <= 0.05);
        }
    }
    printf("\n");
    free(rows);
    free(pooled);
    mer_visual_clip_free(c);
    mer_visual_close(v);
    free(gray);
    free(small);
}

static struct rgbset sets[] = {
    {"real1", 96, 96, 6, NULL},   {"real6", 96, 96, 6, NULL}, {"real1big", 640, 360, 3, NULL},
    {"rand1", 1, 1, 2, NULL},     {"rand2", 3, 2, 2, NULL},   {"rand3", 40, 30, 3, NULL},
    {"rand4", 500, 300, 2, NULL}, {"rand5", 64, 64, 3, NULL}, {"rand6", 130, 67, 3, NULL},
};

static void test_oracle_cases(void)
{
    char path[4400];
    double worst_hog = 0.0, worst_row = 0.0, worst_img = 0.0, worst_e2e = 0.0;
    double img[2][37 * 53];
    snprintf(path, sizeof(path), "%s/cases.txt", dir);
    cases = fopen(path, "w");
    MER_ASSERT(cases);
    TEST("real frames decode")
    {
        CHECK(decode_clip(&sets[0], "clip_001.mp4", NULL) == 0);
        CHECK(decode_clip(&sets[1], "clip_006.avi", NULL) == 0);
        CHECK(decode_clip(&sets[2], "clip_013.mp4", "640:360") == 0);
    }
    if (!sets[0].rgb || !sets[1].rgb || !sets[2].rgb)
        exit(test_report());
    for (size_t i = 3; i < MER_ARRAY_SIZE(sets); i++)
        random_frames(&sets[i]);
    for (size_t i = 0; i < MER_ARRAY_SIZE(sets); i++)
        add_rgb_cases(&sets[i]);
    for (size_t i = 0; i < 37 * 53; i++) {
        img[0][i] = (double)rnd() / 4294967296.0;
        img[1][i] = (double)(rnd() % 5); /* integer gradients: angles on bin edges (45, 90) */
    }
    add_hog_image("noise", img[0], 37, 53, 1);
    add_hog_image("steps", img[1], 37, 53, 0);
    fclose(cases);
    TEST("the skimage oracle runs")
    {
        CHECK(test_oracle("hog_skimage.py '%s'", dir) == 0);
    }
    if (test_checks_failed)
        exit(test_report());
    TEST("gray, colour, resize, hog and the clip rows match skimage")
    {
        for (size_t i = 0; i < MER_ARRAY_SIZE(sets); i++)
            check_rgb_cases(&sets[i], &worst_hog, &worst_row, &worst_e2e);
        check_hog_image("noise", img[0], 37, 53, 1, &worst_img);
        check_hog_image("steps", img[1], 37, 53, 0, &worst_img);
        printf("hog maxdiff: resized frames %.3g, random 37x53 images %.3g (5 option sets); "
               "clip rows %.3g; from skimage's rgb2gray and resize %.3g\n",
               worst_hog, worst_img, worst_row, worst_e2e);
    }
}

static void test_options(void)
{
    TEST("options: defaults, set, errors, json")
    {
        struct mer_visual_opts o, before;
        cJSON *j;
        char *text;
        mer_visual_defaults(&o);
        CHECK_EQ_INT(o.orientations, 9);
        CHECK_EQ_INT(o.resize[0], 64);
        CHECK_EQ_INT(o.cells_per_block[1], 2);
        CHECK_EQ_INT(o.block_norm, MER_VISUAL_NORM_L2_HYS);
        CHECK(mer_visual_set(&o, "orientations", "12") == 0 && o.orientations == 12);
        CHECK(mer_visual_set(&o, "pixels-per-cell", "(6, 5)") == 0 && o.pixels_per_cell[0] == 6 &&
              o.pixels_per_cell[1] == 5);
        CHECK(mer_visual_set(&o, "resize", "32") == 0 && o.resize[0] == 32 && o.resize[1] == 32);
        CHECK(mer_visual_set(&o, "block_norm", "L1-sqrt") == 0 &&
              o.block_norm == MER_VISUAL_NORM_L1_SQRT);
        before = o;
        CHECK(mer_visual_set(&o, "orientations", "0") < 0);
        CHECK(strstr(mer_errmsg(), "'orientations'") != NULL);
        CHECK(mer_visual_set(&o, "pixels_per_cell", "8,") < 0);
        CHECK(mer_visual_set(&o, "pixels_per_cell", "8,8,8") < 0);
        CHECK(mer_visual_set(&o, "block_norm", "l2") < 0);
        CHECK(strstr(mer_errmsg(), "L2-Hys") != NULL);
        CHECK(mer_visual_set(&o, "transform_sqrt", "yes") < 0);
        CHECK(mer_visual_set(&o, "cells", "2") < 0);
        CHECK(strstr(mer_errmsg(), "unknown visual option 'cells'") != NULL);
        CHECK(memcmp(&o, &before, sizeof(o)) == 0);
        j = mer_visual_opts_json(&o);
        text = cJSON_PrintUnformatted(j);
        CHECK_EQ_STR(text, "{\"resize\":[32,32],\"anti_aliasing\":true,\"orientations\":12,"
                           "\"pixels_per_cell\":[6,5],\"cells_per_block\":[2,2],\"block_norm\":"
                           "\"L1-sqrt\",\"transform_sqrt\":false,\"feature_vector\":true,"
                           "\"hog\":true,\"colour\":true,\"motion\":true}");
        free(text);
        cJSON_Delete(j);
        CHECK_EQ_INT(mer_visual_option_count(), 11);
        CHECK_EQ_STR(mer_visual_option(0)->name, "resize");
        CHECK(mer_visual_option(11) == NULL);
    }
}

static void test_plan(void)
{
    TEST("plan: dims, names, bad sizes")
    {
        struct mer_visual_opts o;
        mer_visual *v;
        mer_visual_clip *c;
        uint8_t px[3] = {10, 20, 30};
        float row[4000];
        mer_visual_defaults(&o);
        CHECK(mer_visual_open(&v, &o) == 0);
        CHECK_EQ_INT(mer_visual_hog_dim(v), 7 * 7 * 2 * 2 * 9);
        CHECK_EQ_INT(mer_visual_frame_dim(v), 1764 + 10);
        CHECK_EQ_INT(mer_visual_clip_dim(v), 2 * (1764 + 9) + 3);
        CHECK_EQ_STR(mer_visual_frame_name(v, 0), "hog_b0_0_c0_0_o0");
        CHECK_EQ_STR(mer_visual_frame_name(v, 1763), "hog_b6_6_c1_1_o8");
        CHECK_EQ_STR(mer_visual_frame_name(v, 1764), "colour_r_mean");
        CHECK_EQ_STR(mer_visual_frame_name(v, 1773), "motion");
        CHECK(mer_visual_frame_name(v, 1774) == NULL);
        CHECK_EQ_STR(mer_visual_clip_name(v, 0), "hog_b0_0_c0_0_o0_mean");
        CHECK_EQ_STR(mer_visual_clip_name(v, 1764), "hog_b0_0_c0_0_o0_std");
        CHECK_EQ_STR(mer_visual_clip_name(v, 3528), "colour_r_mean_mean");
        CHECK_EQ_STR(mer_visual_clip_name(v, 3537), "colour_r_mean_std");
        CHECK_EQ_STR(mer_visual_clip_name(v, 3548), "motion_max");
        CHECK(mer_visual_clip_new(&c, v) == 0);
        CHECK(mer_visual_clip_pooled(c, row) < 0);
        CHECK(mer_visual_clip_push(c, px, 0, 1, NULL) < 0);
        CHECK(strstr(mer_errmsg(), "0x1 frame") != NULL);
        CHECK(mer_visual_clip_push(c, px, 1, 1, row) == 0);
        CHECK_EQ_INT(mer_visual_clip_frames(c), 1);
        CHECK(row[1773] == 0.0f); /* no previous frame */
        CHECK(mer_visual_clip_pooled(c, row) == 0);
        CHECK(row[3546] == 0.0f && row[3547] == 0.0f && row[3548] == 0.0f);
        mer_visual_clip_reset(c);
        CHECK_EQ_INT(mer_visual_clip_frames(c), 0);
        mer_visual_clip_free(c);
        mer_visual_close(v);
        o.hog = 0;
        CHECK(mer_visual_open(&v, &o) == 0);
        CHECK_EQ_INT(mer_visual_frame_dim(v), 10);
        CHECK_EQ_STR(mer_visual_clip_name(v, 0), "colour_r_mean_mean");
        mer_visual_close(v);
        o.colour = o.motion = 0;
        CHECK(mer_visual_open(&v, &o) < 0 && v == NULL);
        mer_visual_defaults(&o);
        MER_ASSERT(mer_visual_set(&o, "cells_per_block", "9") == 0);
        CHECK(mer_visual_open(&v, &o) < 0);
        CHECK(strstr(mer_errmsg(), "8x8 cells, fewer than 'cells_per_block' 9,9") != NULL);
    }
    TEST("hog: errors")
    {
        struct mer_visual_opts o;
        double img[16 * 16] = {0}, out[36];
        mer_visual_defaults(&o);
        CHECK_EQ_INT(mer_visual_hog_size(&o, 16, 16), 36);
        CHECK_EQ_INT(mer_visual_hog_size(&o, 15, 16), 0);
        CHECK(mer_visual_hog(&o, img, 15, 16, out) < 0);
        img[17] = -1.0;
        o.transform_sqrt = 1;
        CHECK(mer_visual_hog(&o, img, 16, 16, out) < 0);
        CHECK(strstr(mer_errmsg(), "pixel 1,1 is negative") != NULL);
        img[17] = NAN;
        CHECK(mer_visual_hog(&o, img, 16, 16, out) < 0);
        img[17] = 0.0;
        CHECK(mer_visual_hog(&o, img, 16, 16, out) == 0);
        CHECK(out[0] == 0.0); /* a flat image: all zero */
    }
}

struct worker {
    const mer_visual *v;
    float *pooled;
    int ok;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    mer_visual_clip *c;
    w->ok = mer_visual_clip_new(&c, w->v) == 0;
    for (size_t s = 0; w->ok && s < MER_ARRAY_SIZE(sets); s++) {
        struct rgbset *r = &sets[s];
        for (size_t f = 0; f < r->t; f++)
            w->ok &= mer_visual_clip_push(c, r->rgb + f * r->w * r->h * 3, r->w, r->h, NULL) == 0;
    }
    w->ok &= mer_visual_clip_pooled(c, w->pooled) == 0;
    mer_visual_clip_free(c);
    return NULL;
}

static void test_threads(void)
{
    TEST("threads share a plan: the same bits")
    {
        struct mer_visual_opts o;
        mer_visual *v;
        struct worker w[4];
        pthread_t t[4];
        mer_visual_defaults(&o);
        MER_ASSERT(mer_visual_open(&v, &o) == 0);
        for (int i = 0; i < 4; i++) {
            w[i].v = v;
            w[i].pooled = malloc(mer_visual_clip_dim(v) * sizeof(float));
            CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            CHECK(w[i].ok);
            CHECK(memcmp(w[i].pooled, w[0].pooled, mer_visual_clip_dim(v) * sizeof(float)) == 0);
        }
        for (int i = 0; i < 4; i++)
            free(w[i].pooled);
        mer_visual_close(v);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Frames per second of the whole per-frame pipeline (one thread) at w x h. */
static double speed(const mer_visual *v, size_t w, size_t h, size_t frames)
{
    uint8_t *rgb = malloc(w * h * 3);
    mer_visual_clip *c;
    double t0;
    for (size_t i = 0; i < w * h * 3; i++)
        rgb[i] = (uint8_t)(rnd() % 256);
    MER_ASSERT(mer_visual_clip_new(&c, v) == 0);
    t0 = now();
    for (size_t f = 0; f < frames; f++)
        MER_ASSERT(mer_visual_clip_push(c, rgb, w, h, NULL) == 0);
    t0 = now() - t0;
    mer_visual_clip_free(c);
    free(rgb);
    return (double)frames / t0;
}

static void test_speed(void)
{
    TEST("speed")
    {
        struct mer_visual_opts o;
        mer_visual *v;
        mer_visual_defaults(&o);
        MER_ASSERT(mer_visual_open(&v, &o) == 0);
        printf("frames/s (one thread, defaults): 96x96 %.0f, 112x112 %.0f, 640x360 %.0f, "
               "1280x720 %.0f\n",
               speed(v, 96, 96, 400), speed(v, 112, 112, 400), speed(v, 640, 360, 60),
               speed(v, 1280, 720, 20));
        mer_visual_close(v);
    }
}

int main(void)
{
    snprintf(dir, sizeof(dir), "%s", test_tmpdir());
    test_options();
    test_plan();
    test_oracle_cases();
    test_threads();
    test_speed();
    return test_report();
}
