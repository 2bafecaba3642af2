/*
 * av.h (private): what every FFmpeg reader of mer shares (audio now, video later).
 *
 *   - mer_av_init: FFmpeg's log silenced once per process; each thread keeps its last
 *     error line (mer_av_last_log) for the message of a failure;
 *   - mer_av_open_input: a clip opened as a regular file, read through an AVIOContext over
 *     its descriptor (no other file or protocol is ever opened on its behalf), its format
 *     probed and its streams found, each failure classified as a mer_media_fail;
 *   - mer_av_fail: the one-line error for an FFmpeg status, with FFmpeg's last log line.
 */
#ifndef MER_MEDIA_AV_H
#define MER_MEDIA_AV_H

#include "mer/media.h"

#include <libavformat/avformat.h>

/* Silences FFmpeg's log (idempotent, thread-safe). */
void mer_av_init(void);

/* This thread's last FFmpeg log line at error level or worse ("" if none); borrowed. */
const char *mer_av_last_log(void);
void mer_av_clear_log(void);

/* How many packets the demuxers flagged corrupt on this thread so far ("Packet corrupt" in
 * the CLI's log), parsed streams included; a reader compares it before and after a read. */
unsigned long mer_av_corrupt_packets(void);

/* Sets *why (when why is not NULL) and records "'<path>': <what> (<FFmpeg's reason>)";
 * returns -1. err is an AVERROR, or 0 for none. */
int mer_av_fail(enum mer_media_fail *why, enum mer_media_fail f, const char *path, int err,
                const char *what);

/* Opens path: a new format context in *out (close with mer_av_close_input), or -1 with the
 * error and *why set (CANNOT_OPEN, EMPTY, NOT_MEDIA, TRUNCATED). */
int mer_av_open_input(AVFormatContext **out, const char *path, enum mer_media_fail *why);
void mer_av_close_input(AVFormatContext **fmt);

/* 1 once a read of fmt's file came to its end (a failure after that is a truncation). */
int mer_av_hit_eof(const AVFormatContext *fmt);

/* The bytes of fmt's file. */
long long mer_av_file_size(const AVFormatContext *fmt);

#endif
