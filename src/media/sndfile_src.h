/*
 * sndfile_src.h (private): libsndfile as a source of interleaved float32 frames for the
 * audio reader (WAV and FLAC, where it decodes faster than FFmpeg's demuxer + decoder).
 */
#ifndef MER_MEDIA_SNDFILE_SRC_H
#define MER_MEDIA_SNDFILE_SRC_H

#include "mer/media.h"

#include <stddef.h>

struct mer_sf_src;

struct mer_sf_props {
    int rate, channels;
    long long frames;
    const char *codec; /* FFmpeg's name for the same codec ("pcm_s16le", "flac") */
};

/* Opens path with libsndfile: 1 and a new source in *out (close with mer_sf_close), 0 if
 * libsndfile does not read it (the caller falls back to FFmpeg), -1 with the error and *why
 * set when the file cannot be opened at all (missing, a FIFO, zero bytes). */
int mer_sf_open(struct mer_sf_src **out, const char *path, struct mer_sf_props *props,
                enum mer_media_fail *why);

/* Up to cap frames (props.channels floats each) into buf: the count, 0 at the end, or -1
 * with the error and *why set. */
long mer_sf_read(struct mer_sf_src *s, float *buf, size_t cap, enum mer_media_fail *why);

/* Accepts NULL. */
void mer_sf_close(struct mer_sf_src *s);

/* "libsndfile-1.2.0"; static. */
const char *mer_sf_version(void);

#endif
