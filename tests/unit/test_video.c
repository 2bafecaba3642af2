/*
 * The video reader against the ffmpeg CLI's own RGB24 frames
 * (`ffmpeg -i X [-vf fps=R | -vsync passthrough] -f rawvideo -pix_fmt rgb24 -`), on the sample
 * clips (H.264 in mp4, MPEG-4 in avi) and on clips the CLI makes here (rotation tags, odd
 * sizes 1x1 and 3x5, a 60 s clip): the same number of frames, and the bytes of each, with the
 * count of differing bytes and the largest difference printed; MERTools' uniform indexes
 * against tests/oracle/video_uniform.py (numpy); every kind of unusable clip with its reason.
 */
#include "mer/error.h"
#include "mer/video.h"
#include "testhelp.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *tmp;

static int sh(const char *fmt, ...) MER_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) == 0)
        return 0;
    fprintf(stderr, "command failed: %s\n", cmd);
    return -1;
}

static char *tpath(const char *name)
{
    static char buf[8][4200];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
    return buf[i];
}

static char *sample(const char *name)
{
    static char buf[4][4200];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/data/sample/clips/%s", MER_TEST_SOURCE_DIR, name);
    return buf[i];
}

/* All a command writes to stdout (new buffer, *n bytes), NULL if it fails. */
static uint8_t *popen_bytes(const char *cmd, size_t *n)
{
    FILE *p = popen(cmd, "r");
    uint8_t *x = NULL;
    size_t cap = 0, len = 0, got;
    if (!p)
        return NULL;
    do {
        if (cap - len < 65536) {
            uint8_t *q = realloc(x, cap = cap ? 2 * cap : 1 << 20);
            if (!q)
                break;
            x = q;
        }
        got = fread(x + len, 1, cap - len, p);
        len += got;
    } while (got > 0);
    if (pclose(p) != 0) {
        fprintf(stderr, "command failed: %s\n", cmd);
        free(x);
        return NULL;
    }
    *n = len;
    return x;
}

/* Every frame the reader hands out, concatenated (new buffer), with their indexes. */
struct ours {
    uint8_t *rgb;
    size_t bytes;
    int n, w, h;
    int64_t index[4096];
};

static int read_all(const char *path, const struct mer_video_sampling *s, struct ours *o)
{
    mer_video_reader *r = NULL;
    struct mer_frame f;
    enum mer_media_fail why = MER_MEDIA_OK;
    size_t cap = 0;
    int got;
    memset(o, 0, sizeof(*o));
    if (mer_video_open(&r, path, s, &why) < 0) {
        fprintf(stderr, "%s\n", mer_errmsg());
        return -1;
    }
    while ((got = mer_video_next(r, &f, &why)) > 0) {
        size_t fb = (size_t)f.width * (size_t)f.height * 3;
        if (o->bytes + fb > cap) {
            uint8_t *p = realloc(o->rgb, cap = (o->bytes + fb) * 2);
            if (!p)
                break;
            o->rgb = p;
        }
        memcpy(o->rgb + o->bytes, f.rgb, fb);
        o->bytes += fb;
        o->w = f.width;
        o->h = f.height;
        if (o->n < 4096)
            o->index[o->n] = f.index;
        o->n++;
    }
    if (got == 0)
        CHECK_EQ_INT(mer_video_next(r, &f, &why), 0); /* the end stays the end */
    mer_video_close(r);
    if (got < 0)
        fprintf(stderr, "%s\n", mer_errmsg());
    return got < 0 ? -1 : 0;
}

/* Bytes that differ and the largest difference. */
static void diff(const uint8_t *a, const uint8_t *b, size_t n, size_t *n_diff, int *max_diff)
{
    *n_diff = 0;
    *max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        *n_diff += d != 0;
        *max_diff = d > *max_diff ? d : *max_diff;
    }
}

/* mer's frames against the CLI's for one clip and sampling (vf: the CLI's options). */
static void check_cli(const char *label, const char *path, const struct mer_video_sampling *s,
                      const char *vf)
{
    char cmd[8400];
    struct ours o;
    uint8_t *ref;
    size_t n_ref = 0, n_diff = 0;
    int max_diff = 0;
    snprintf(cmd, sizeof(cmd), "ffmpeg -v error -i '%s' %s -f rawvideo -pix_fmt rgb24 -", path, vf);
    ref = popen_bytes(cmd, &n_ref);
    CHECK(ref != NULL);
    CHECK_EQ_INT(read_all(path, s, &o), 0);
    if (ref && o.n > 0) {
        size_t fb = (size_t)o.w * o.h * 3;
        CHECK_EQ_INT(o.bytes, n_ref);
        diff(o.rgb, ref, o.bytes < n_ref ? o.bytes : n_ref, &n_diff, &max_diff);
        printf("vs CLI %-30s %-22s %dx%d frames %d (CLI %zu)  differing bytes %zu, max %d\n", label,
               vf, o.w, o.h, o.n, n_ref / fb, n_diff, max_diff);
        CHECK_EQ_INT(n_diff, 0);
    }
    free(ref);
    free(o.rgb);
}

static void check_fails(const char *path, const struct mer_video_sampling *s,
                        enum mer_media_fail expect, const char *text)
{
    mer_video_reader *r = (mer_video_reader *)1;
    struct mer_frame f;
    enum mer_media_fail why = MER_MEDIA_OK;
    int got = 0;
    if (mer_video_open(&r, path, s, &why) == 0) {
        while ((got = mer_video_next(r, &f, &why)) > 0)
            ;
        mer_video_close(r);
        CHECK_EQ_INT(got, -1);
    } else {
        CHECK(r == NULL);
    }
    CHECK_EQ_STR(mer_media_fail_name(why), mer_media_fail_name(expect));
    CHECK(strstr(mer_errmsg(), path) != NULL);
    CHECK(strstr(mer_errmsg(), text) != NULL);
    printf("unusable %-28s %-16s %s\n", strrchr(path, '/') + 1, mer_media_fail_name(why),
           mer_errmsg());
}

/* Overwrites 3000 bytes at 60% of src with pseudo-random ones. */
static void damage(const char *src, const char *dst)
{
    struct stat st;
    FILE *f = NULL;
    unsigned x = 12345;
    sh("cp '%s' '%s'", src, dst);
    CHECK(stat(dst, &st) == 0 && (f = fopen(dst, "r+b")) != NULL);
    if (!f)
        return;
    fseek(f, (long)st.st_size * 6 / 10, SEEK_SET);
    for (int i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)(x >> 16) & 0xff, f);
    }
    fclose(f);
}

#define SRC(size, rate, d) "-f lavfi -i 'testsrc2=size=" size ":rate=" rate ":duration=" d "'"
/* testsrc2 needs a few pixels; testsrc makes 1x1 */
#define TINY(size) "-f lavfi -i 'testsrc=size=" size ":rate=10:duration=1'"

static int make_clips(void)
{
    const char *v = "ffmpeg -v error -y";
    return sh("%s " SRC("64x48", "25", "2") " -c:v libx264 -pix_fmt yuv420p '%s'", v,
              tpath("h264.mp4")) ||
           sh("%s " SRC("64x48", "12", "2") " -c:v mpeg4 '%s'", v, tpath("mpeg4.avi")) ||
           sh("%s " SRC("64x48", "10", "1") " -c:v mjpeg '%s'", v, tpath("mjpeg.avi")) ||
           sh("%s " SRC("64x48", "10", "1") " -c:v libvpx '%s'", v, tpath("vp8.webm")) ||
           sh("%s " TINY("1x1") " -c:v libx264 -pix_fmt yuv444p '%s'", v, tpath("1x1.mp4")) ||
           sh("%s " TINY("3x5") " -c:v mpeg4 '%s'", v, tpath("3x5.avi")) ||
           sh("%s " TINY("3x5") " -c:v libx264 -pix_fmt yuv444p '%s'", v, tpath("3x5.mp4")) ||
           sh("%s " SRC("32x24", "25", "60") " -c:v libx264 -preset ultrafast '%s'", v,
              tpath("long.mp4")) ||
           sh("%s -i '%s' -c copy -metadata:s:v rotate=90 '%s'", v, tpath("h264.mp4"),
              tpath("rot90.mp4")) ||
           sh("%s -i '%s' -c copy -metadata:s:v rotate=180 '%s'", v, tpath("h264.mp4"),
              tpath("rot180.mp4")) ||
           sh("%s -i '%s' -c copy -metadata:s:v rotate=270 '%s'", v, tpath("h264.mp4"),
              tpath("rot270.mp4")) ||
           sh("%s " SRC("66x50", "10", "1") " -c:v libx264 -pix_fmt yuv420p '%s'", v,
              tpath("66x50.mp4")) ||
           sh("%s -i '%s' -c copy -metadata:s:v rotate=90 '%s'", v, tpath("66x50.mp4"),
              tpath("rot90-66x50.mp4")) ||
           sh("%s -f lavfi -i color=size=8000x8000:rate=10 -frames:v 1 -c:v libx264 -preset "
              "ultrafast '%s'",
              v, tpath("8000x8000.mp4")) ||
           sh("%s " SRC("64x48", "10", "1") " -frames:v 0 -c:v mpeg4 '%s'", v, tpath("zero.avi")) ||
           sh("%s " SRC("320x240", "25", "4") " -c:v libx264 -movflags +faststart '%s'", v,
              tpath("big.mp4")) ||
           sh("head -c 60000 '%s' > '%s'", tpath("big.mp4"), tpath("cut.mp4")) ||
           sh("echo 'not a video' > '%s' && : > '%s'", tpath("text.mp4"), tpath("empty.mp4"));
}

static void check_uniform_oracle(void)
{
    static const int pairs[][2] = {{29, 16}, {10, 16}, {16, 16}, {1, 16},    {1000, 64},
                                   {63, 64}, {65, 64}, {97, 16}, {1500, 64}, {7, 3}};
    char args[2048] = "", cmd[4096];
    size_t len = 0, n_out = 0;
    char *out, *p;
    int bad = 0, total = 0;
    for (size_t k = 0; k < MER_ARRAY_SIZE(pairs); k++)
        len += (size_t)snprintf(args + len, sizeof(args) - len, " %d:%d", pairs[k][0], pairs[k][1]);
    snprintf(cmd, sizeof(cmd), "'%s' '%s/tests/oracle/video_uniform.py'%s", MER_TEST_PYTHON,
             MER_TEST_SOURCE_DIR, args);
    out = (char *)popen_bytes(cmd, &n_out);
    CHECK(out != NULL);
    if (!out)
        return;
    out = realloc(out, n_out + 1);
    out[n_out] = '\0';
    p = out;
    for (size_t k = 0; k < MER_ARRAY_SIZE(pairs); k++)
        for (int i = 0; i < pairs[k][1]; i++) {
            long want = strtol(p, &p, 10);
            total++;
            bad += mer_video_uniform_index(pairs[k][0], pairs[k][1], i) != want;
        }
    printf("uniform indexes vs numpy (MERTools' rule): %d of %d differ\n", bad, total);
    CHECK_EQ_INT(bad, 0);
    free(out);
}

/* frames = N picks the CLI's every-frame output at MERTools' indexes. */
static void check_uniform_frames(const char *label, const char *path, int n)
{
    struct mer_video_sampling all = {0}, s = {.frames = n};
    struct ours every, o;
    size_t fb, n_diff = 0, total = 0;
    int max_diff = 0, bad_index = 0;
    CHECK_EQ_INT(read_all(path, &all, &every), 0);
    CHECK_EQ_INT(read_all(path, &s, &o), 0);
    CHECK_EQ_INT(o.n, n);
    fb = (size_t)o.w * o.h * 3;
    for (int i = 0; i < o.n && i < n; i++) {
        int64_t want = mer_video_uniform_index(every.n, n, i);
        size_t d;
        int m;
        bad_index += o.index[i] != want;
        if (want < 0 || want >= every.n)
            continue;
        diff(o.rgb + (size_t)i * fb, every.rgb + (size_t)want * fb, fb, &d, &m);
        n_diff += d;
        total += fb;
        max_diff = m > max_diff ? m : max_diff;
    }
    printf("uniform %-22s frames=%-3d of %d: indexes %d wrong, differing bytes %zu of %zu\n", label,
           n, every.n, bad_index, n_diff, total);
    CHECK_EQ_INT(bad_index, 0);
    CHECK_EQ_INT(n_diff, 0);
    free(every.rgb);
    free(o.rgb);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds to read path through the reader with s (decode + sample + RGB, one thread); the
 * decoded and handed-out frame counts in *decoded, *out. */
static double time_reader(const char *path, const struct mer_video_sampling *s, long *decoded,
                          long *out)
{
    double t0 = now();
    mer_video_reader *r;
    struct mer_frame f;
    *out = 0;
    *decoded = 0;
    if (mer_video_open(&r, path, s, NULL) < 0)
        return -1;
    while (mer_video_next(r, &f, NULL) > 0)
        *out += 1;
    *decoded = mer_video_info(r)->n_frames_est;
    mer_video_close(r);
    return now() - t0;
}

/* Decode + sample speed (frames/s, one thread) beside `ffmpeg -threads 1 -vf fps=R -f null -`
 * on the sample clips: each clip alone (the CLI's time includes its start), and the 50 mp4
 * clips joined 20 times over into one clip (the start no longer counts). */
static void speed(double fps)
{
    struct mer_video_sampling s = {.fps = fps}, uni = {.frames = 16};
    long decoded = 0, out = 0, d, o;
    double t_ours = 0, t_cli, t0;
    FILE *list = fopen(tpath("concat.txt"), "w");
    for (int k = 1; k <= 60; k++) {
        char name[32];
        snprintf(name, sizeof(name), "clip_%03d.%s", k, k % 6 ? "mp4" : "avi");
        t_ours += time_reader(sample(name), &s, &d, &o);
        decoded += d;
        out += o;
        if (list && k % 6)
            for (int rep = 0; rep < 20; rep++)
                fprintf(list, "file '%s'\n", sample(name));
    }
    t0 = now();
    for (int k = 1; k <= 60; k++)
        sh("ffmpeg -v error -threads 1 -filter_threads 1 -i '%s/data/sample/clips/clip_%03d.%s' "
           "-map 0:v -vf fps=%g -f null -",
           MER_TEST_SOURCE_DIR, k, k % 6 ? "mp4" : "avi", fps);
    t_cli = now() - t0;
    printf("speed fps=%g, 60 sample clips one by one: mer %.0f frames/s (%ld decoded, %ld out, "
           "%.3f s); ffmpeg CLI -threads 1 %.0f frames/s (%.3f s, 60 processes)\n",
           fps, decoded / t_ours, decoded, out, t_ours, decoded / t_cli, t_cli);
    if (!list || fclose(list) != 0 ||
        sh("ffmpeg -v error -y -f concat -safe 0 -i '%s' -map 0:v -c copy '%s'",
           tpath("concat.txt"), tpath("joined.mp4")) < 0)
        return;
    t_ours = time_reader(tpath("joined.mp4"), &s, &decoded, &out);
    t0 = now();
    sh("ffmpeg -v error -threads 1 -filter_threads 1 -i '%s' -vf fps=%g -f null -",
       tpath("joined.mp4"), fps);
    t_cli = now() - t0;
    printf("speed fps=%g, the mp4 clips joined (96x96, %ld frames): mer %.0f frames/s (%ld out); "
           "ffmpeg CLI -threads 1 %.0f frames/s\n",
           fps, decoded, decoded / t_ours, out, decoded / t_cli);
    t_ours = time_reader(tpath("joined.mp4"), &uni, &d, &o);
    printf("speed frames=16, the same clip: mer %.0f frames/s (two decoding passes, %ld out)\n",
           decoded / t_ours, o);
}

int main(void)
{
    tmp = test_tmpdir();
    printf("%s\n", mer_video_versions());
    if (make_clips() != 0) {
        CHECK(!"the ffmpeg CLI made the test clips");
        return test_report();
    }
    TEST("names of the reasons")
    {
        CHECK_EQ_STR(mer_media_fail_name(MER_MEDIA_NO_VIDEO), "no video stream");
        CHECK_EQ_STR(mer_media_fail_name(MER_MEDIA_NO_FRAMES), "no frames");
        CHECK_EQ_STR(mer_media_fail_name(MER_MEDIA_NO_AUDIO), "no audio stream");
        for (int f = 0; f < MER_MEDIA_N_FAILS; f++)
            CHECK(mer_media_fail_name((enum mer_media_fail)f)[0] != '\0');
    }
    TEST("every frame, against the CLI")
    {
        struct mer_video_sampling all = {0};
        const char *pass = "-vsync passthrough";
        check_cli("sample clip_001.mp4", sample("clip_001.mp4"), &all, pass);
        check_cli("sample clip_006.avi", sample("clip_006.avi"), &all, pass);
        check_cli("h264.mp4 (B-frames)", tpath("h264.mp4"), &all, pass);
        check_cli("mpeg4.avi", tpath("mpeg4.avi"), &all, pass);
        check_cli("mjpeg.avi (yuvj420p)", tpath("mjpeg.avi"), &all, pass);
        check_cli("vp8.webm", tpath("vp8.webm"), &all, pass);
        check_cli("1x1.mp4 (yuv444p)", tpath("1x1.mp4"), &all, pass);
        check_cli("3x5.avi (yuv420p)", tpath("3x5.avi"), &all, pass);
        check_cli("3x5.mp4 (yuv444p)", tpath("3x5.mp4"), &all, pass);
    }
    TEST("fps = R, against the CLI's fps filter")
    {
        static const double rates[] = {1, 2.5, 5, 7, 12, 30};
        static const char *const clips[] = {"clip_001.mp4", "clip_006.avi", "clip_013.mp4",
                                            "clip_030.avi"};
        char vf[64];
        for (size_t k = 0; k < MER_ARRAY_SIZE(rates); k++) {
            struct mer_video_sampling s = {.fps = rates[k]};
            snprintf(vf, sizeof(vf), "-vf fps=%g", rates[k]);
            for (size_t c = 0; c < MER_ARRAY_SIZE(clips); c++)
                check_cli(clips[c], sample(clips[c]), &s, vf);
            check_cli("h264.mp4", tpath("h264.mp4"), &s, vf);
            check_cli("3x5.avi", tpath("3x5.avi"), &s, vf);
        }
        struct mer_video_sampling s1 = {.fps = 1};
        check_cli("long.mp4 (60 s)", tpath("long.mp4"), &s1, "-vf fps=1");
    }
    TEST("rotation metadata: upright frames as the CLI's autorotation")
    {
        /* The tag rotate=90 is a display matrix of 90 degrees counterclockwise (ffprobe's
         * rotation=90): the frames are turned 270 degrees clockwise. */
        struct mer_video_sampling all = {0};
        const char *pass = "-vsync passthrough";
        static const struct {
            const char *name;
            int rotation, w, h;
        } rot[] = {{"rot90.mp4", 270, 48, 64},
                   {"rot180.mp4", 180, 64, 48},
                   {"rot270.mp4", 90, 48, 64},
                   {"rot90-66x50.mp4", 270, 50, 66}};
        for (size_t k = 0; k < MER_ARRAY_SIZE(rot); k++) {
            mer_video_reader *r = NULL;
            CHECK_EQ_INT(mer_video_open(&r, tpath(rot[k].name), NULL, NULL), 0);
            if (!r)
                continue;
            CHECK_EQ_INT(mer_video_info(r)->rotation, rot[k].rotation);
            CHECK_EQ_INT(mer_video_info(r)->width, rot[k].w);
            CHECK_EQ_INT(mer_video_info(r)->height, rot[k].h);
            mer_video_close(r);
            check_cli(rot[k].name, tpath(rot[k].name), &all, pass);
        }
    }
    TEST("frames = N: MERTools' indexes")
    {
        check_uniform_oracle();
        check_uniform_frames("sample clip_001.mp4", sample("clip_001.mp4"), 16);
        check_uniform_frames("sample clip_006.avi", sample("clip_006.avi"), 16);
        check_uniform_frames("sample clip_001.mp4", sample("clip_001.mp4"), 64);
        check_uniform_frames("h264.mp4", tpath("h264.mp4"), 16);
        check_uniform_frames("long.mp4 (1500 frames)", tpath("long.mp4"), 64);
        check_uniform_frames("1x1.mp4", tpath("1x1.mp4"), 16);
        check_uniform_frames("rot270.mp4", tpath("rot270.mp4"), 16);
    }
    TEST("an output size")
    {
        struct mer_video_sampling s = {.fps = 5, .width = 32, .height = 24};
        check_cli("h264.mp4 -> 32x24", tpath("h264.mp4"), &s, "-vf fps=5,scale=32:24");
        struct mer_video_sampling bad = {.fps = 5, .width = 32};
        mer_video_reader *r = NULL;
        CHECK_EQ_INT(mer_video_open(&r, tpath("h264.mp4"), &bad, NULL), -1);
    }
    TEST("info")
    {
        mer_video_reader *r = NULL;
        struct mer_video_sampling s = {.frames = 16};
        CHECK_EQ_INT(mer_video_open(&r, sample("clip_001.mp4"), &s, NULL), 0);
        if (r) {
            const struct mer_video_info *in = mer_video_info(r);
            CHECK_EQ_INT(in->width, 96);
            CHECK_EQ_INT(in->height, 96);
            CHECK_NEAR(in->fps, 12, 1e-9);
            CHECK_EQ_INT(in->n_frames_est, 29);
            CHECK_EQ_INT(in->n_frames, 29);
            CHECK_EQ_INT(in->rotation, 0);
            CHECK_EQ_STR(in->codec, "h264");
            CHECK(in->duration_s > 2.4 && in->duration_s < 2.5);
            mer_video_close(r);
        }
    }
    TEST("unusable clips, each with its reason")
    {
        struct mer_video_sampling all = {0}, uni = {.frames = 16};
        check_fails(sample("broken_no_video.mp4"), &all, MER_MEDIA_NO_VIDEO, "no video stream");
        check_fails(sample("broken_empty.mp4"), &all, MER_MEDIA_EMPTY, "empty file");
        check_fails(sample("broken_not_media.mp4"), &all, MER_MEDIA_NOT_MEDIA, "not a media file");
        check_fails(sample("broken_truncated.mp4"), &all, MER_MEDIA_TRUNCATED, "truncated");
        check_fails(tpath("text.mp4"), &all, MER_MEDIA_NOT_MEDIA, "not a media file");
        check_fails(tpath("empty.mp4"), &all, MER_MEDIA_EMPTY, "empty file");
        check_fails(tpath("zero.avi"), &all, MER_MEDIA_NO_FRAMES, "no frames");
        check_fails(tpath("zero.avi"), &uni, MER_MEDIA_NO_FRAMES, "no frames");
        check_fails(tpath("8000x8000.mp4"), &all, MER_MEDIA_DECODE_ERROR, "8000x8000");
        check_fails(tpath("cut.mp4"), &all, MER_MEDIA_TRUNCATED, "truncated");
        check_fails(tpath("cut.mp4"), &uni, MER_MEDIA_TRUNCATED, "truncated");
        damage(tpath("big.mp4"), tpath("corrupt.mp4"));
        check_fails(tpath("corrupt.mp4"), &all, MER_MEDIA_DECODE_ERROR, "decoder error");
        check_fails(tmp, &all, MER_MEDIA_CANNOT_OPEN, tmp);
        check_fails(tpath("missing.mp4"), &all, MER_MEDIA_CANNOT_OPEN, "missing.mp4");
        struct mer_video_sampling both = {.fps = 1, .frames = 2};
        check_fails(tpath("h264.mp4"), &both, MER_MEDIA_CANNOT_OPEN, "exclusive");
    }
    TEST("speed")
    {
        speed(5);
    }
    return test_report();
}
