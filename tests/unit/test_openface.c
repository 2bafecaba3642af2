/* OpenFace inputs: face stacks and BMP crops against the bytes numpy wrote, CSV functionals
 * against numpy's (tests/oracle/openface_fixtures.py), and the one-line errors. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/openface.h"
#include "testhelp.h"

#include <stdint.h>

static const char *dir;

static char *fixture(const char *name)
{
    return mer_path_join(dir, name);
}

/* Reads every frame of path and compares it with want ([n][h][w][3]); the max difference. */
static int read_all(const char *path, const struct mer_faces_params *p, const uint8_t *want,
                    int64_t n, int w, int h, const int64_t *numbers)
{
    mer_faces *f = NULL;
    struct mer_face_frame fr;
    int64_t t = 0;
    int maxdiff = 0, r;
    if (mer_faces_open(&f, path, p) < 0) {
        fprintf(stderr, "%s\n", mer_errmsg());
        return 256;
    }
    CHECK_EQ_INT(mer_faces_count(f), n);
    while ((r = mer_faces_next(f, &fr)) == 1) {
        size_t bytes = (size_t)w * (size_t)h * 3;
        CHECK_EQ_INT(fr.w, w);
        CHECK_EQ_INT(fr.h, h);
        CHECK_EQ_INT(fr.index, t);
        if (numbers)
            CHECK_EQ_INT(fr.number, numbers[t]);
        for (size_t i = 0; t < n && i < bytes; i++) {
            int d = abs((int)fr.rgb[i] - (int)want[(size_t)t * bytes + i]);
            maxdiff = d > maxdiff ? d : maxdiff;
        }
        t++;
    }
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(t, n);
    mer_faces_close(f);
    return maxdiff;
}

/* Opening (or reading every frame of) name fails with a message containing want. */
static void check_fails(const char *name, const char *want)
{
    char *path = fixture(name);
    mer_faces *f = NULL;
    struct mer_face_frame fr;
    int r = mer_faces_open(&f, path, NULL);
    if (r == 0)
        while ((r = mer_faces_next(f, &fr)) == 1)
            ;
    CHECK(r < 0);
    CHECK(strstr(mer_errmsg(), want) != NULL);
    CHECK(strstr(mer_errmsg(), path) != NULL);
    CHECK(strchr(mer_errmsg(), '\n') == NULL);
    if (r >= 0 || !strstr(mer_errmsg(), want))
        fprintf(stderr, "%s: got '%s', want '%s'\n", name, mer_errmsg(), want);
    else
        printf("  %-14s %s\n", name, mer_errmsg());
    mer_faces_close(f);
    free(path);
}

static void stacks(void)
{
    uint8_t *rgb = test_read_raw(dir, "stack_rgb.raw", 5 * 6 * 7 * 3);
    char *path = fixture("stack.npy"), *found = NULL;
    struct mer_faces_params as_rgb = {1};
    int64_t numbers[] = {1, 2, 3, 4, 5};
    int d = read_all(path, NULL, rgb, 5, 7, 6, numbers);
    printf("stack [5, 6, 7, 3] B,G,R -> RGB: maxdiff %d\n", d);
    CHECK_EQ_INT(d, 0);
    /* stored as RGB: the bytes as they are, so R and B are swapped against the reference */
    CHECK(read_all(path, &as_rgb, rgb, 5, 7, 6, NULL) > 0);
    CHECK_EQ_INT(mer_faces_find(&found, dir, "stack"), 1);
    CHECK_EQ_STR(found, path);
    free(found);
    free(path);
    free(rgb);
}

static void crops(void)
{
    uint8_t *rgb = test_read_raw(dir, "crops_rgb.raw", 4 * 5 * 7 * 3);
    char *ff = fixture("ff"), *found = NULL, *nat = fixture("natural");
    int64_t numbers[] = {1, 2, 9, 10}, nat_numbers[] = {9, 10};
    uint8_t swapped[2 * 5 * 7 * 3];
    int d;
    CHECK_EQ_INT(mer_faces_find(&found, ff, "s2"), 1);
    CHECK(found && strstr(found, "s2_aligned"));
    d = found ? read_all(found, NULL, rgb, 4, 7, 5, numbers) : 256;
    printf("crops 4 x [5, 7] 24-bit BMP (odd width, one top-down): maxdiff %d\n", d);
    CHECK_EQ_INT(d, 0);
    free(found);
    /* natural/: f_10.bmp holds crop 0 and f_9.bmp crop 1, so 9 first means crop 1 first */
    memcpy(swapped, rgb + 5 * 7 * 3, 5 * 7 * 3);
    memcpy(swapped + 5 * 7 * 3, rgb, 5 * 7 * 3);
    CHECK_EQ_INT(read_all(nat, NULL, swapped, 2, 7, 5, nat_numbers), 0);
    CHECK_EQ_INT(mer_faces_find(&found, ff, "s1"), 1);
    CHECK(found && strstr(found, "s1/s1.npy"));
    free(found);
    CHECK_EQ_INT(mer_faces_find(&found, ff, "nobody"), 0);
    CHECK(found == NULL);
    free(ff);
    free(nat);
    free(rgb);
}

static void empty_clips(void)
{
    const char *names[] = {"none.npy", "nolist.npy", "empty_aligned"};
    for (size_t i = 0; i < MER_ARRAY_SIZE(names); i++) {
        char *path = fixture(names[i]);
        mer_faces *f = NULL;
        struct mer_face_frame fr;
        CHECK_EQ_INT(mer_faces_open(&f, path, NULL), 0);
        CHECK(f && mer_faces_count(f) == 0);
        CHECK(f && mer_faces_next(f, &fr) == 0);
        mer_faces_close(f);
        free(path);
    }
}

static void bad_faces(void)
{
    printf("errors:\n");
    check_fails("shape3.npy", "shape [16, 112, 112], expected [T, H, W, 3] uint8");
    check_fails("float.npy", "dtype '<f4' (shape [2, 4, 4, 3]), expected [T, H, W, 3] uint8");
    check_fails("chan4.npy", "shape [2, 4, 4, 4], expected [T, H, W, 3] uint8");
    check_fails("fortran.npy", "Fortran order");
    check_fails("truncated.npy", "(truncated)");
    check_fails("s1.csv", "not a .npy file");
    check_fails("missing.npy", "cannot open");
    check_fails("bad_bits32", "32 bits per pixel, compression 0: expected a 24-bit uncompressed");
    check_fails("bad_rle", "24 bits per pixel, compression 1: expected a 24-bit uncompressed");
    check_fails("bad_short", "truncated: 120 bytes of pixels from byte 54, the file has 165");
    check_fails("bad_size", "7 x 4 pixels, the clip's first frame has 7 x 5");
    check_fails("names.txt", "not a .npy file");
}

static void functionals(void)
{
    double *ref = test_read_raw(dir, "s1_functionals.f64", 80 * sizeof(double));
    char *names = NULL, *path = fixture("s1.csv"), *found = NULL, *of = fixture("of");
    char *names_path = fixture("names.txt");
    char *line, *save = NULL, buf[64];
    size_t i = 0;
    float v[MER_OPENFACE_MAX_DIM];
    struct mer_openface_stats st;
    struct mer_openface_params p = mer_openface_default_params();
    double maxdiff = 0;
    CHECK_EQ_INT(mer_openface_dim(p.groups), 80);
    CHECK_EQ_INT(mer_openface_read_csv(path, &p, v, &st), 1);
    CHECK_EQ_INT(st.frames, 12);
    CHECK_EQ_INT(st.used, 9);
    CHECK_EQ_INT(st.skipped, 3);
    for (i = 0; i < 80; i++) {
        double d = fabs(v[i] - ref[i]) / (1 + fabs(ref[i]));
        maxdiff = d > maxdiff ? d : maxdiff;
    }
    printf("functionals of 12 frames (3 with success 0): 80 values, max relative diff %.3g\n",
           maxdiff);
    CHECK(maxdiff < 1e-6);
    CHECK(mer_read_file(names_path, &names, NULL) == 0);
    i = 0;
    for (line = names ? strtok_r(names, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save), i++)
        CHECK_EQ_STR(mer_openface_name(p.groups, i, buf, sizeof(buf)), line);
    CHECK_EQ_INT(i, 80);
    /* one group: pose means then stds, the same numbers as in the full row (offset 52) */
    p.groups = MER_OPENFACE_POSE;
    CHECK_EQ_INT(mer_openface_dim(p.groups), 12);
    CHECK_EQ_INT(mer_openface_read_csv(path, &p, v, &st), 1);
    for (i = 0; i < 12; i++)
        CHECK_NEAR(v[i], ref[52 + i], 1e-6 * (1 + fabs(ref[52 + i])));
    CHECK_EQ_STR(mer_openface_name(p.groups, 6, buf, sizeof(buf)), "pose_Tx_std");
    CHECK_EQ_INT(mer_openface_find_csv(&found, of, "s3"), 1);
    CHECK(found && strstr(found, "s3/s3.csv"));
    free(found);
    CHECK_EQ_INT(mer_openface_find_csv(&found, dir, "s1"), 1);
    CHECK_EQ_STR(found, path);
    free(found);
    free(of);
    free(names_path);
    free(names);
    free(path);
    free(ref);
}

static void csv_fails(const char *name, const char *want)
{
    char *path = fixture(name);
    float v[MER_OPENFACE_MAX_DIM];
    struct mer_openface_stats st;
    CHECK_EQ_INT(mer_openface_read_csv(path, NULL, v, &st), -1);
    CHECK(strstr(mer_errmsg(), want) != NULL);
    CHECK(strstr(mer_errmsg(), path) != NULL);
    if (!strstr(mer_errmsg(), want))
        fprintf(stderr, "%s: got '%s', want '%s'\n", name, mer_errmsg(), want);
    else
        printf("  %-14s %s\n", name, mer_errmsg());
    free(path);
}

static void bad_csvs(void)
{
    char *path = fixture("failed.csv");
    float v[MER_OPENFACE_MAX_DIM];
    struct mer_openface_stats st;
    CHECK_EQ_INT(mer_openface_read_csv(path, NULL, v, &st), 0);
    CHECK_EQ_INT(st.skipped, 12);
    CHECK_EQ_STR(st.skip, "no frame with success 1 (of 12)");
    CHECK(v[0] == 0 && v[79] == 0);
    printf("  %-14s skipped: %s\n", "failed.csv", st.skip);
    csv_fails("missing.csv", "': missing column 'AU45_c'");
    csv_fails("badvalue.csv", "':4: column 'pose_Tx': 'abc' is not a number");
    csv_fails("names.txt", "missing column 'success'");
    free(path);
}

int main(void)
{
    dir = test_tmpdir();
    if (test_oracle("openface_fixtures.py '%s'", dir) < 0)
        return 1;
    TEST("face stacks") stacks();
    TEST("BMP crops") crops();
    TEST("empty clips") empty_clips();
    TEST("bad faces") bad_faces();
    TEST("functionals") functionals();
    TEST("bad CSVs") bad_csvs();
    return test_report();
}
