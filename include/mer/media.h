/*
 * media.h: audio out of media files (FFmpeg, or libsndfile for WAV/FLAC).
 *
 * A reader opens the audio stream of one clip (the stream `ffmpeg -i clip` would pick: the
 * only one, in MER2024's clips) and streams it as mono float32 at the rate asked for, so
 * memory stays bounded whatever the clip's length. Channels are downmixed with
 * libswresample's default matrix normalised to a sum of 1 (the mean of the two channels of
 * a stereo clip, as `ffmpeg -i clip -ac 1 -ar 16000 clip.wav`, MERTools' extraction step,
 * writes them) and resampled with libswresample's default filter (as the ffmpeg CLI).
 *
 *     mer_audio_reader *r;
 *     enum mer_media_fail why;
 *     float buf[4096];
 *     long n;
 *     if (mer_audio_open(&r, "clips/a.mp4", 16000, &why) < 0)
 *         return -1;                  // mer_errmsg(): "'clips/a.mp4': no audio stream"
 *     while ((n = mer_audio_read(r, buf, 4096, &why)) > 0)
 *         consume(buf, n);
 *     mer_audio_close(r);            // n < 0: a decoder error or truncation, why says which
 *
 * A clip that cannot be used fails with one of the mer_media_fail codes (the skip summary's
 * reasons) and a one-line error naming the file. Nothing here prints: FFmpeg's own log is
 * silenced and its last error line kept for the message. Readers on different threads are
 * independent (each decodes on the thread that calls it). Inputs are opened as regular files
 * only (mer_open_regular): a FIFO or a device is refused, never read.
 */
#ifndef MER_MEDIA_H
#define MER_MEDIA_H

#include <stddef.h>

/* Why a clip cannot be used: one table of codes and their names, the one list that the
 * extractors' skip summaries print (the audio reader's and video.h's alike). */
enum mer_media_fail {
    MER_MEDIA_OK = 0,
    MER_MEDIA_CANNOT_OPEN,  /* missing, unreadable, a directory, a FIFO or a device */
    MER_MEDIA_EMPTY,        /* zero bytes */
    MER_MEDIA_NOT_MEDIA,    /* no container format recognised, or no audio/video stream */
    MER_MEDIA_TRUNCATED,    /* the file ends inside its header or its data */
    MER_MEDIA_NO_AUDIO,     /* a media file without an audio stream (video only) */
    MER_MEDIA_NO_SAMPLES,   /* an audio stream that decodes to zero samples */
    MER_MEDIA_DECODE_ERROR, /* the decoder refused the data, or an unsupported stream */
    MER_MEDIA_NO_VIDEO,     /* a media file without a video stream (audio only; video.h) */
    MER_MEDIA_NO_FRAMES,    /* a video stream that decodes to zero frames (video.h) */
    MER_MEDIA_N_FAILS
};

/* "truncated", "empty file", ... ("ok" for MER_MEDIA_OK); static. */
const char *mer_media_fail_name(enum mer_media_fail f);

typedef struct mer_audio_reader mer_audio_reader;

struct mer_audio_info {
    int in_rate, in_channels; /* of the stream as stored */
    double duration_s;        /* as the container says; < 0 if unknown */
    const char *codec;        /* FFmpeg's codec name ("aac", "pcm_s16le", "flac") */
    const char *backend;      /* "ffmpeg" | "sndfile" */
};

/* The longest clip a reader decodes (a bound on every decode loop): 24 hours. */
#define MER_AUDIO_MAX_SECONDS (24 * 3600)

/*
 * Opens the audio of path, to be read as mono float32 at `rate` Hz (1000 to 384000). The
 * first samples are decoded here, so a clip without any (NO_SAMPLES) or whose first packets
 * the decoder refuses fails now. New reader in *out (free with mer_audio_close), or -1 with
 * mer_error set ("'clip.mp4': no audio stream") and *why set (why may be NULL).
 */
int mer_audio_open(mer_audio_reader **out, const char *path, int rate, enum mer_media_fail *why);

/* The stream's properties; borrowed, valid until mer_audio_close. */
const struct mer_audio_info *mer_audio_info(const mer_audio_reader *r);

/*
 * Up to cap (> 0) samples into buf: the count (0 at the end), or -1 with the error and *why set
 * (a decoder error mid-stream, truncation, longer than MER_AUDIO_MAX_SECONDS). After -1
 * the reader only returns -1 again; close it.
 */
long mer_audio_read(mer_audio_reader *r, float *buf, size_t cap, enum mer_media_fail *why);

/* Accepts NULL. */
void mer_audio_close(mer_audio_reader *r);

/* The whole clip in one buffer (new, free with free(); *n samples); for short clips and
 * tests. -1 with the error and *why set, *pcm NULL. */
int mer_audio_decode(const char *path, int rate, float **pcm, size_t *n, enum mer_media_fail *why);

/* Which backend mer_audio_open uses: "auto" (the default: libsndfile for files named .wav or
 * .flac that are FLAC, or PCM WAV of one or two channels; FFmpeg for everything else),
 * "ffmpeg", or "sndfile" (the same files whatever their name). For measurements and tests;
 * not thread-safe: set it before opening readers. 0, or -1 with the error set. */
int mer_audio_set_backend(const char *name);

/* "libavformat 59.27.100, libavcodec 59.37.100, libswresample 4.7.100, libsndfile-1.2.0",
 * for provenance; static. */
const char *mer_media_versions(void);

#endif
