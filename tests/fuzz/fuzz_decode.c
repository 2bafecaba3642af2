/*
 * libFuzzer target: arbitrary bytes as a clip through mer's audio reader (probe, demux,
 * decode, resample), from a scratch file as the extractor reads clips. The first byte picks
 * the name the clip gets (.mp4, .wav or .flac), and so the backend (FFmpeg or libsndfile).
 * A clip either fails with a reason and a message naming it, or streams samples; at most
 * MAX_SAMPLES are read per input, so a tiny file that decodes to hours of silence cannot
 * stall the run.
 */
#include "mer/error.h"
#include "mer/media.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_SAMPLES = 1 << 21, CHUNK = 4096 };

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const exts[] = {"mp4", "wav", "flac"};
    static float buf[CHUNK];
    char path[256];
    mer_audio_reader *r = NULL;
    enum mer_media_fail why = MER_MEDIA_OK;
    const char *tmp = getenv("TMPDIR");
    volatile float sum = 0;
    long n, total = 0;
    snprintf(path, sizeof(path), "%s/mer-fuzz-decode-%ld.%s", tmp && *tmp ? tmp : "/tmp",
             (long)getpid(), exts[size ? data[0] % 3 : 0]);
    if (write_clip(path, data, size) < 0)
        abort();
    if (mer_audio_open(&r, path, 16000, &why) < 0) {
        if (r)
            abort();
        check_failure(path, why);
    } else {
        const struct mer_audio_info *info = mer_audio_info(r);
        if (!info->codec || !info->backend || info->in_rate <= 0 || info->in_channels <= 0)
            abort();
        while (total < MAX_SAMPLES && (n = mer_audio_read(r, buf, CHUNK, &why)) > 0) {
            if (n > CHUNK)
                abort();
            for (long i = 0; i < n; i++)
                sum += buf[i];
            total += n;
        }
        if (total < MAX_SAMPLES && n < 0)
            check_failure(path, why);
        mer_audio_close(r);
    }
    (void)sum;
    unlink(path);
    return 0;
}
