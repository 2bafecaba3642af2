/*
 * The audio reader against two oracles, on clips the ffmpeg CLI makes here:
 *   - the CLI's own PCM, `ffmpeg -v error -i X -ac 1 -ar 16000 -rematrix_maxval 1 -f f32le -`
 *     (rematrix_maxval 1: the downmix normalised to a sum of 1, i.e. the mean of a stereo
 *     pair, as the CLI does when it writes a 16-bit WAV, MERTools' extraction step; without
 *     it the CLI's float output is (L + R) / sqrt(2)), every container and codec, both
 *     backends for WAV and FLAC: same sample count, max abs diff printed, <= 1e-4;
 *   - python3-soundfile on WAV/FLAC at their own rate: bit-exact float32;
 * and every kind of unusable clip with its reason code.
 */
#include "mer/error.h"
#include "mer/media.h"
#include "testhelp.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The float32 samples a command writes to stdout (new buffer). */
static float *popen_f32(const char *cmd, size_t *n)
{
    FILE *p = popen(cmd, "r");
    float *x = NULL;
    size_t cap = 0, len = 0, got;
    if (!p)
        return NULL;
    do {
        if (cap - len < 4096) {
            float *q = realloc(x, (cap = cap ? 2 * cap : 1 << 16) * sizeof(float));
            if (!q)
                break;
            x = q;
        }
        got = fread(x + len, sizeof(float), cap - len, p);
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

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

/* Two seconds of a stereo pair: different tones plus uniform noise in each channel. */
#define SOURCE(rate)                                                                               \
    "-f lavfi -i "                                                                                 \
    "'aevalsrc=0.4*sin(2*PI*440*t)+0.2*random(0)-0.1|0.3*sin(2*PI*660*t)+0.2*random(1)"            \
    "-0.1:s=" rate ":d=2'"
#define VIDEO "-f lavfi -i 'testsrc=size=64x48:rate=10:duration=2'"

static const struct clip {
    const char *name, *make; /* ffmpeg arguments after the inputs */
    int two_inputs;
} clips[] = {
    {"aac.mp4", "-map 0 -map 1 -c:a aac -c:v libx264 -pix_fmt yuv420p", 1},
    {"aac.m4a", "-c:a aac", 0},
    {"mp3.avi", "-map 0 -map 1 -c:a libmp3lame -c:v mpeg4", 1},
    {"pcm.avi", "-map 0 -map 1 -c:a pcm_s16le -c:v mpeg4", 1},
    {"opus.mkv", "-c:a libopus", 0},
    {"vorbis.webm", "-c:a libvorbis", 0},
    {"a.mp3", "-c:a libmp3lame", 0},
    {"a.flac", "-c:a flac", 0},
    {"s16.wav", "-c:a pcm_s16le", 0},
    {"f32.wav", "-c:a pcm_f32le", 0},
};

static int make_clips(void)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(clips); i++) {
        /* 44.1 kHz and 48 kHz sources, alternately (opus is always 48 kHz). */
        const char *rate = i % 2 ? "48000" : "44100";
        if (sh("ffmpeg -v error -y " SOURCE("%s") " %s %s '%s'", rate,
               clips[i].two_inputs ? VIDEO : "", clips[i].make, tpath(clips[i].name)) < 0)
            return -1;
    }
    /* Native-rate files for the soundfile oracle: a mono 24-bit FLAC at 22.05 kHz, a mono
     * 16-bit WAV at 16 kHz. */
    if (sh("ffmpeg -v error -y " SOURCE("22050") " -ac 1 -c:a flac -sample_fmt s32 '%s'",
           tpath("mono24.flac")) < 0 ||
        sh("ffmpeg -v error -y " SOURCE("16000") " -ac 1 -c:a pcm_s16le '%s'",
           tpath("mono16k.wav")) < 0)
        return -1;
    return 0;
}

/* mer's PCM at 16 kHz against the CLI's, with the named backend. */
static void check_against_cli(const char *name, const char *backend)
{
    char cmd[8400];
    float *ours = NULL, *ref;
    size_t n = 0, n_ref = 0;
    enum mer_media_fail why = MER_MEDIA_OK;
    double d;
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -v error -i '%s' -ac 1 -ar 16000 -rematrix_maxval 1 -f f32le -", tpath(name));
    ref = popen_f32(cmd, &n_ref);
    CHECK(ref != NULL);
    CHECK_EQ_INT(mer_audio_set_backend(backend), 0);
    CHECK_EQ_INT(mer_audio_decode(tpath(name), 16000, &ours, &n, &why), 0);
    if (!ref || !ours) {
        fprintf(stderr, "%s: %s\n", name, mer_errmsg());
        free(ref);
        return;
    }
    CHECK_EQ_INT(n, n_ref);
    d = max_abs_diff(ours, ref, n < n_ref ? n : n_ref);
    printf("pcm vs ffmpeg CLI  %-12s %-7s n=%zu (CLI %zu)  max abs diff %.3g\n", name, backend, n,
           n_ref, d);
    CHECK(d <= 1e-4);
    free(ours);
    free(ref);
}

/* mer's PCM at the file's own rate against python3-soundfile: bit-exact. */
static void check_against_soundfile(const char *name, const char *backend)
{
    mer_audio_reader *r = NULL;
    float *ours = NULL, *ref;
    size_t n = 0, n_ref;
    struct stat st;
    int rate;
    char out[4300];
    snprintf(out, sizeof(out), "%s.sf.f32", tpath(name));
    CHECK(test_oracle("pcm_soundfile.py '%s' '%s'", tpath(name), out) == 0);
    CHECK_EQ_INT(mer_audio_set_backend(backend), 0);
    CHECK_EQ_INT(mer_audio_open(&r, tpath(name), 16000, NULL), 0);
    if (!r || stat(out, &st) < 0)
        return;
    rate = mer_audio_info(r)->in_rate;
    CHECK_EQ_STR(mer_audio_info(r)->backend, backend);
    mer_audio_close(r);
    n_ref = (size_t)st.st_size / sizeof(float);
    ref = test_read_raw(tmp, strrchr(out, '/') + 1, n_ref * sizeof(float));
    CHECK_EQ_INT(mer_audio_decode(tpath(name), rate, &ours, &n, NULL), 0);
    CHECK_EQ_INT(n, n_ref);
    if (ours && n == n_ref) {
        double d = max_abs_diff(ours, ref, n);
        printf("pcm vs soundfile   %-12s %-7s n=%zu at %d Hz  max abs diff %.3g%s\n", name, backend,
               n, rate, d, memcmp(ours, ref, n * sizeof(float)) ? "" : " (bit-exact)");
        CHECK(memcmp(ours, ref, n * sizeof(float)) == 0);
    }
    free(ours);
    free(ref);
}

static void check_fails(const char *path, enum mer_media_fail expect, const char *text)
{
    float *pcm = (float *)1;
    size_t n = 1;
    enum mer_media_fail why = MER_MEDIA_OK;
    CHECK_EQ_INT(mer_audio_decode(path, 16000, &pcm, &n, &why), -1);
    CHECK(pcm == NULL && n == 0);
    CHECK_EQ_STR(mer_media_fail_name(why), mer_media_fail_name(expect));
    CHECK(strstr(mer_errmsg(), path) != NULL);
    CHECK(strstr(mer_errmsg(), text) != NULL);
    printf("unusable %-40s %-16s %s\n", strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
           mer_media_fail_name(why), mer_errmsg());
}

/* A copy of src with its first `keep` bytes (keep < 0: half of it). */
static void cut(const char *src, const char *dst, long keep)
{
    struct stat st;
    CHECK(stat(src, &st) == 0);
    sh("head -c %ld '%s' > '%s'", keep < 0 ? (long)st.st_size / 2 : keep, src, dst);
}

/* Overwrites 2000 bytes in the middle of src with pseudo-random ones. */
static void damage(const char *src, const char *dst)
{
    struct stat st;
    FILE *f = NULL;
    unsigned x = 12345;
    sh("cp '%s' '%s'", src, dst);
    CHECK(stat(dst, &st) == 0 && (f = fopen(dst, "r+b")) != NULL);
    if (!f)
        return;
    fseek(f, (long)st.st_size / 2, SEEK_SET);
    for (int i = 0; i < 2000; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)(x >> 16) & 0xff, f);
    }
    fclose(f);
}

struct job {
    const char *path;
    float *pcm;
    size_t n;
    int ret;
};

static void *decode_job(void *arg)
{
    struct job *j = arg;
    j->ret = mer_audio_decode(j->path, 16000, &j->pcm, &j->n, NULL);
    return NULL;
}

int main(void)
{
    tmp = test_tmpdir();
    printf("%s\n", mer_media_versions());
    if (make_clips() < 0) {
        CHECK(!"the ffmpeg CLI made the test clips");
        return test_report();
    }
    TEST("names of the reasons")
    {
        CHECK_EQ_STR(mer_media_fail_name(MER_MEDIA_TRUNCATED), "truncated");
        CHECK_EQ_STR(mer_media_fail_name(MER_MEDIA_EMPTY), "empty file");
        CHECK_EQ_STR(mer_media_fail_name(MER_MEDIA_NO_AUDIO), "no audio stream");
        CHECK_EQ_STR(mer_media_fail_name(MER_MEDIA_N_FAILS), "unknown");
        for (int f = 0; f < MER_MEDIA_N_FAILS; f++)
            CHECK(mer_media_fail_name((enum mer_media_fail)f)[0] != '\0');
        CHECK(mer_audio_set_backend("gstreamer") < 0);
        CHECK(strstr(mer_media_versions(), "libavformat ") != NULL);
        CHECK(strstr(mer_media_versions(), "libsndfile") != NULL);
    }
    TEST("every container and codec against the ffmpeg CLI at 16 kHz")
    {
        for (size_t i = 0; i < MER_ARRAY_SIZE(clips); i++) {
            check_against_cli(clips[i].name, "auto");
            if (strstr(clips[i].name, ".wav") || strstr(clips[i].name, ".flac")) {
                check_against_cli(clips[i].name, "ffmpeg");
                check_against_cli(clips[i].name, "sndfile");
            }
        }
        check_against_cli("mono24.flac", "ffmpeg");
        check_against_cli("mono24.flac", "sndfile");
        mer_audio_set_backend("auto");
    }
    TEST("the CLI's float downmix without rematrix_maxval is ours times sqrt(2)")
    {
        float *ours = NULL, *plain;
        size_t n = 0, n_plain = 0;
        char cmd[8400];
        snprintf(cmd, sizeof(cmd), "ffmpeg -v error -i '%s' -ac 1 -ar 16000 -f f32le -",
                 tpath("aac.mp4"));
        plain = popen_f32(cmd, &n_plain);
        CHECK_EQ_INT(mer_audio_decode(tpath("aac.mp4"), 16000, &ours, &n, NULL), 0);
        CHECK(plain && ours && n == n_plain);
        if (plain && ours && n == n_plain) {
            double d = 0;
            for (size_t i = 0; i < n; i++)
                d = fmax(d, fabs(ours[i] * M_SQRT2 - plain[i]));
            printf("plain 'ffmpeg -ac 1 -f f32le' vs mer * sqrt(2): max abs diff %.3g\n", d);
            CHECK(d <= 1e-5);
        }
        free(ours);
        free(plain);
    }
    TEST("WAV and FLAC at their own rate against python3-soundfile, bit-exact")
    {
        const char *names[] = {"s16.wav", "f32.wav", "a.flac", "mono24.flac", "mono16k.wav"};
        for (size_t i = 0; i < MER_ARRAY_SIZE(names); i++) {
            check_against_soundfile(names[i], "ffmpeg");
            check_against_soundfile(names[i], "sndfile");
        }
        mer_audio_set_backend("auto");
    }
    TEST("info: rates, channels, codec, duration, backend")
    {
        mer_audio_reader *r = NULL;
        CHECK_EQ_INT(mer_audio_open(&r, tpath("aac.mp4"), 16000, NULL), 0);
        if (r) {
            const struct mer_audio_info *i = mer_audio_info(r);
            CHECK_EQ_INT(i->in_rate, 44100);
            CHECK_EQ_INT(i->in_channels, 2);
            CHECK_EQ_STR(i->codec, "aac");
            CHECK_EQ_STR(i->backend, "ffmpeg");
            CHECK_NEAR(i->duration_s, 2.0, 0.05);
        }
        mer_audio_close(r);
        CHECK_EQ_INT(mer_audio_open(&r, tpath("a.flac"), 16000, NULL), 0);
        if (r) {
            CHECK_EQ_STR(mer_audio_info(r)->backend, "sndfile");
            CHECK_EQ_STR(mer_audio_info(r)->codec, "flac");
            CHECK_NEAR(mer_audio_info(r)->duration_s, 2.0, 1e-9);
        }
        mer_audio_close(r);
        CHECK(mer_audio_open(&r, tpath("aac.mp4"), 999, NULL) < 0 && !r);
    }
    TEST("reading a few samples at a time gives the same samples")
    {
        const char *names[] = {"aac.mp4", "s16.wav"};
        for (size_t k = 0; k < MER_ARRAY_SIZE(names); k++) {
            mer_audio_reader *r = NULL;
            float *all = NULL, *bits = malloc(100000 * sizeof(float));
            size_t n = 0, got = 0;
            long m;
            CHECK_EQ_INT(mer_audio_decode(tpath(names[k]), 16000, &all, &n, NULL), 0);
            CHECK_EQ_INT(mer_audio_open(&r, tpath(names[k]), 16000, NULL), 0);
            while (r && got + 7 <= 100000 && (m = mer_audio_read(r, bits + got, 7, NULL)) > 0)
                got += (size_t)m;
            CHECK(r && mer_audio_read(r, bits, 7, NULL) == 0);
            CHECK_EQ_INT(got, n);
            CHECK(all && got == n && !memcmp(all, bits, n * sizeof(float)));
            mer_audio_close(r);
            free(all);
            free(bits);
        }
    }
    TEST("four readers on four threads give what one thread gives")
    {
        const char *names[] = {"aac.mp4", "opus.mkv", "a.flac", "mp3.avi"};
        struct job jobs[4];
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            jobs[i] = (struct job){.path = tpath(names[i])};
            CHECK(pthread_create(&t[i], NULL, decode_job, &jobs[i]) == 0);
        }
        for (int i = 0; i < 4; i++) {
            float *one = NULL;
            size_t n = 0;
            pthread_join(t[i], NULL);
            CHECK_EQ_INT(jobs[i].ret, 0);
            CHECK_EQ_INT(mer_audio_decode(jobs[i].path, 16000, &one, &n, NULL), 0);
            CHECK(one && n == jobs[i].n && !memcmp(one, jobs[i].pcm, n * sizeof(float)));
            free(one);
            free(jobs[i].pcm);
        }
    }
    TEST("unusable clips: each with its reason")
    {
        FILE *f;
        sh(": > '%s'", tpath("empty.mp4"));
        f = fopen(tpath("text.mp4"), "w");
        CHECK(f != NULL);
        if (f) {
            fputs("this is a text file, not a video\n", f);
            fclose(f);
        }
        sh("ffmpeg -v error -y " VIDEO " -c:v libx264 -pix_fmt yuv420p '%s'", tpath("video.mp4"));
        sh("ffmpeg -v error -y " SOURCE("16000") " -t 0 -c:a pcm_s16le '%s'", tpath("zero.wav"));
        sh("ffmpeg -v error -y " SOURCE("44100") " " VIDEO
                                                 " -map 0 -map 1 -c:a aac -c:v libx264 -pix_fmt "
                                                 "yuv420p -movflags +faststart '%s'",
           tpath("faststart.mp4"));
        cut(tpath("aac.mp4"), tpath("cut-moov.mp4"), -1);
        cut(tpath("faststart.mp4"), tpath("cut-data.mp4"), -1);
        cut(tpath("mp3.avi"), tpath("cut.avi"), -1);
        cut(tpath("pcm.avi"), tpath("cut-pcm.avi"), -1);
        cut(tpath("s16.wav"), tpath("cut-header.wav"), 20);
        damage(tpath("faststart.mp4"), tpath("garbage.mp4"));
        sh("rm -f '%s' && mkfifo '%s'", tpath("fifo.wav"), tpath("fifo.wav"));
        check_fails(tpath("missing.mp4"), MER_MEDIA_CANNOT_OPEN, "No such file");
        check_fails(tpath("fifo.wav"), MER_MEDIA_CANNOT_OPEN, "FIFO");
        check_fails("/dev/zero", MER_MEDIA_CANNOT_OPEN, "device");
        check_fails(tmp, MER_MEDIA_CANNOT_OPEN, "directory");
        check_fails(tpath("empty.mp4"), MER_MEDIA_EMPTY, "empty file");
        check_fails(tpath("text.mp4"), MER_MEDIA_NOT_MEDIA, "not a media file");
        check_fails(tpath("video.mp4"), MER_MEDIA_NO_AUDIO, "no audio stream");
        check_fails(tpath("zero.wav"), MER_MEDIA_NO_SAMPLES, "no samples");
        check_fails(tpath("cut-moov.mp4"), MER_MEDIA_TRUNCATED, "moov atom not found");
        check_fails(tpath("cut-data.mp4"), MER_MEDIA_TRUNCATED, "truncated");
        check_fails(tpath("cut.avi"), MER_MEDIA_TRUNCATED, "truncated");
        check_fails(tpath("cut-pcm.avi"), MER_MEDIA_TRUNCATED, "truncated");
        check_fails(tpath("cut-header.wav"), MER_MEDIA_NOT_MEDIA, "not a media file");
        check_fails(tpath("garbage.mp4"), MER_MEDIA_DECODE_ERROR, "decoder error");
        mer_audio_set_backend("ffmpeg");
        check_fails(tpath("zero.wav"), MER_MEDIA_NO_SAMPLES, "no samples");
        check_fails(tpath("empty.mp4"), MER_MEDIA_EMPTY, "empty file");
        mer_audio_set_backend("auto");
    }
    return test_report();
}
