/*
 * libFuzzer target: arbitrary bytes as a clip through mer's video reader (probe, demux,
 * decode, sample, orient, convert to RGB24), from a scratch file as the extractor reads
 * clips. The first byte picks the sampling (every frame, fps = 1..8, or frames = 1..64) and
 * whether frames are resized. A clip either fails with a reason and a message naming it, or
 * hands out frames of the size it says; at most MAX_FRAMES are read per input, so a tiny file
 * that claims hours of video cannot stall the run.
 */
#include "mer/error.h"
#include "mer/video.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_FRAMES = 512 };

static int write_clip(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, size, f) == size;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static void check_failure(const char *path, enum mer_media_fail why)
{
    if (why <= MER_MEDIA_OK || why >= MER_MEDIA_N_FAILS || !strstr(mer_errmsg(), path))
        abort();
}

static void check_frame(const struct mer_video_info *info, const struct mer_video_sampling *s,
                        const struct mer_frame *f)
{
    volatile unsigned sum = 0;
    int w = s->width ? s->width : info->width, h = s->height ? s->height : info->height;
    if (f->width != w || f->height != h || !f->rgb || f->index < 0)
        abort();
    for (size_t i = 0; i < (size_t)w * (size_t)h * 3; i += 61)
        sum += f->rgb[i];
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mer_video_sampling s = {0};
    char path[256];
    mer_video_reader *r = NULL;
    enum mer_media_fail why = MER_MEDIA_OK;
    const char *tmp = getenv("TMPDIR");
    unsigned pick = size ? data[0] : 0;
    int got = 0, n = 0;
    if (pick % 3 == 1)
        s.fps = 1 + (pick / 3) % 8;
    else if (pick % 3 == 2)
        s.frames = 1 + (int)(pick / 3) % 64;
    if (pick & 0x80)
        s.width = 7, s.height = 5;
    snprintf(path, sizeof(path), "%s/mer-fuzz-video-%ld.mp4", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    if (write_clip(path, data, size) < 0)
        abort();
    if (mer_video_open(&r, path, &s, &why) < 0) {
        if (r)
            abort();
        check_failure(path, why);
    } else {
        const struct mer_video_info *info = mer_video_info(r);
        struct mer_frame f;
        if (!info->codec || info->width <= 0 || info->height <= 0 ||
            (long long)info->width * info->height > MER_VIDEO_MAX_PIXELS)
            abort();
        while (n < MAX_FRAMES && (got = mer_video_next(r, &f, &why)) > 0) {
            check_frame(info, &s, &f);
            n++;
        }
        if (n < MAX_FRAMES && got < 0)
            check_failure(path, why);
        if (s.frames > 0 && got == 0 && n != s.frames)
            abort();
        mer_video_close(r);
    }
    unlink(path);
    return 0;
}
