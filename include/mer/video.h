/*
 * video.h: frames out of media files (FFmpeg), upright, as RGB24, sampled in time.
 *
 * A reader opens the video stream of one clip (the stream `ffmpeg -i clip` would pick),
 * decodes it on the calling thread (one decoder thread) and hands out the sampled frames one
 * at a time, so memory stays one or two decoded frames whatever the clip's length:
 *
 *   - fps = R > 0: a frame every 1/R seconds, chosen as `ffmpeg -i clip -vf fps=R` chooses
 *     them (the fps filter's defaults: timestamps rounded to the nearest tick, the last frame
 *     kept up to the end of its duration);
 *   - frames = N > 0: N frames spread uniformly over the clip, as MERTools samples 16 or 64:
 *     of the clip's n decoded frames, index floor(i * (n / min(N, n))) for i < min(N, n),
 *     then the last of those repeated up to N (mer_video_uniform_index); n is counted by a
 *     first decoding pass at open, so this mode decodes the clip twice;
 *   - neither: every decoded frame (`-vsync passthrough`).
 *
 * Frames are converted with libswscale as the CLI's `-pix_fmt rgb24` converts them (bicubic,
 * the frame's own colour matrix and range), at the native size or at the size asked for.
 * A rotation in the stream's display matrix (phones' `rotate` tag) is applied as the CLI's
 * autorotation applies it (90/180/270 degrees, with a mirror when the matrix has one), so
 * frames come out upright; info.rotation says which angle was applied.
 *
 *     mer_video_reader *r;
 *     struct mer_video_sampling s = {.frames = 16};
 *     struct mer_frame f;
 *     enum mer_media_fail why;
 *     int got;
 *     if (mer_video_open(&r, "clips/a.mp4", &s, &why) < 0)
 *         return -1;                  // mer_errmsg(): "'clips/a.mp4': no video stream"
 *     while ((got = mer_video_next(r, &f, &why)) > 0)
 *         consume(f.rgb, f.width, f.height);
 *     mer_video_close(r);            // got < 0: a decoder error or truncation, why says which
 *
 * A clip that cannot be used fails with one of media.h's mer_media_fail codes and a one-line
 * error naming the file. Frames larger than MER_VIDEO_MAX_PIXELS are refused (a decoder
 * error) before anything of their size is allocated. Nothing here prints; readers on
 * different threads are independent; inputs are opened as regular files only.
 */
#ifndef MER_VIDEO_H
#define MER_VIDEO_H

#include "mer/media.h"

#include <stdint.h>

/* The largest frame a reader decodes: 8K UHD (7680 x 4320 = 33.2 million pixels, a 100 MB
 * RGB frame); a larger frame (8000 x 8000, say) is refused as a decoder error. */
#define MER_VIDEO_MAX_PIXELS (7680 * 4320)
/* The longest side a reader accepts, in either direction. */
#define MER_VIDEO_MAX_SIDE 16384

/* How frames are sampled from a clip: every 1/fps seconds (fps > 0), or `frames` frames
 * spread uniformly over the clip (frames > 0; MERTools samples 16 or 64), or every frame
 * (both 0). width, height: the size of the frames handed out (both > 0, libswscale's
 * bicubic), or both 0 for the clip's own (upright) size, its first frame's (a later frame of
 * another size, in a stream that changes resolution, is scaled to it). */
struct mer_video_sampling {
    double fps;
    int frames;
    int width, height;
};

/* One sampled frame. rgb is [height][width][3] RGB24, rows packed; borrowed, valid until the
 * next mer_video_next or mer_video_close. time_s is the source frame's time in seconds from
 * the clip's start; index its position among the clip's decoded frames (0-based). The same
 * source frame may come twice (fps above the clip's rate, or frames > the clip's count). */
struct mer_frame {
    int width, height;
    const uint8_t *rgb;
    double time_s;
    int64_t index;
};

typedef struct mer_video_reader mer_video_reader;

struct mer_video_info {
    int width, height;    /* of the upright frames at the clip's own size */
    double fps;           /* the stream's average frame rate (0 if unknown) */
    double duration_s;    /* as the container says; < 0 if unknown */
    int64_t n_frames_est; /* the container's frame count, or duration x fps; -1 if unknown */
    int64_t n_frames;     /* the decoded frame count when counted (frames = N), else -1 */
    int rotation;         /* clockwise degrees applied: 0, 90, 180 or 270 */
    int mirrored;         /* 1 if the display matrix also asked for a mirror (applied) */
    const char *codec;    /* FFmpeg's codec name ("h264", "mpeg4") */
};

/*
 * Opens the video of path, sampled as s says (NULL: every frame). The first frame is decoded
 * here (with frames = N, the whole clip is decoded once to count its frames), so a clip
 * without any (NO_FRAMES) or whose first packets the decoder refuses fails now. New reader
 * in *out (free with mer_video_close), or -1 with mer_error set ("'clip.mp4': no video
 * stream") and *why set (why may be NULL).
 */
int mer_video_open(mer_video_reader **out, const char *path, const struct mer_video_sampling *s,
                   enum mer_media_fail *why);

/* The stream's properties; borrowed, valid until mer_video_close. */
const struct mer_video_info *mer_video_info(const mer_video_reader *r);

/*
 * The next sampled frame into *f: 1, 0 at the end, or -1 with the error and *why set (a
 * decoder error or a corrupt frame mid-stream, truncation, a frame above the size limit).
 * After -1 the reader only returns -1 again; close it.
 */
int mer_video_next(mer_video_reader *r, struct mer_frame *f, enum mer_media_fail *why);

/* Accepts NULL. */
void mer_video_close(mer_video_reader *r);

/* MERTools' uniform sampling: the decoded-frame index of sample i (0 <= i < n) of a clip of
 * n_frames frames, floor(i * (n_frames / min(n, n_frames))) in double precision for
 * i < min(n, n_frames), then the last of those (numpy's arange over [0, n_frames) with that
 * step, as MERTools takes it). -1 if an argument is out of range. */
int64_t mer_video_uniform_index(int64_t n_frames, int n, int i);

/* "libavformat 59.27.100, libavcodec 59.37.100, libswscale 6.7.100", for provenance;
 * static. */
const char *mer_video_versions(void);

#endif
