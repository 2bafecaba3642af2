/*
 * The audio reader: a source of decoded frames (FFmpeg's demuxer + decoder, or libsndfile)
 * feeding libswresample, whose mono float32 output waits in a small pending buffer until
 * mer_audio_read takes it. Memory is one decoded frame and its resampled output.
 */
#include "mer/media.h"

#include "media/av.h"
#include "media/sndfile_src.h"
#include "mer/error.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

/* Input rates and channel counts a reader accepts (libswresample's own channel limit is 64);
 * anything else in a header is damage, not audio. */
enum { MIN_RATE = 1000, MAX_RATE = 1536000, MAX_CHANNELS = 64 };
/* Audio packets in a row that may decode to no sample before the clip counts as broken: a
 * bound on the decode loop whatever the bytes say. */
enum { MAX_IDLE_PACKETS = 1 << 16 };
/* Frames per libsndfile read. */
enum { SF_CHUNK = 4096 };

static const char *const fail_names[MER_MEDIA_N_FAILS] = {
    [MER_MEDIA_OK] = "ok",
    [MER_MEDIA_CANNOT_OPEN] = "cannot open",
    [MER_MEDIA_EMPTY] = "empty file",
    [MER_MEDIA_NOT_MEDIA] = "not a media file",
    [MER_MEDIA_TRUNCATED] = "truncated",
    [MER_MEDIA_NO_AUDIO] = "no audio stream",
    [MER_MEDIA_NO_SAMPLES] = "no samples",
    [MER_MEDIA_DECODE_ERROR] = "decoder error",
    [MER_MEDIA_NO_VIDEO] = "no video stream",
    [MER_MEDIA_NO_FRAMES] = "no frames",
};

const char *mer_media_fail_name(enum mer_media_fail f)
{
    return (unsigned)f < MER_MEDIA_N_FAILS ? fail_names[f] : "unknown";
}

enum backend { BACKEND_AUTO, BACKEND_FFMPEG, BACKEND_SNDFILE };
static enum backend backend_choice = BACKEND_AUTO;

int mer_audio_set_backend(const char *name)
{
    static const char *const names[] = {"auto", "ffmpeg", "sndfile"};
    for (size_t i = 0; i < MER_ARRAY_SIZE(names); i++)
        if (!strcmp(name, names[i])) {
            backend_choice = (enum backend)i;
            return 0;
        }
    return mer_error("unknown audio backend '%s' (expected auto, ffmpeg or sndfile)", name);
}

struct mer_audio_reader {
    struct mer_audio_info info;
    char *path;
    int rate;
    enum mer_media_fail failed; /* sticky: after an error every read fails */
    int ended;                  /* the source is exhausted and the resampler flushed */
    /* FFmpeg source */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    int stream, demux_eof;
    long idle_packets;
    long long packets, max_packets;
    /* libsndfile source */
    struct mer_sf_src *sf;
    float *sf_buf;
    /* resampler, and the input it was made for */
    SwrContext *swr;
    int swr_rate, swr_format;
    AVChannelLayout swr_layout;
    /* resampled samples not read yet: pend[pend_pos .. pend_len) */
    float *pend;
    size_t pend_pos, pend_len, pend_cap;
    unsigned long long n_out, max_out;
};

static int fail(mer_audio_reader *r, enum mer_media_fail *why, enum mer_media_fail f, int err,
                const char *what)
{
    r->failed = f;
    return mer_av_fail(why, f, r->path, err, what);
}

/* A resampler from (in, format, rate) to mono float32 at r->rate in r->swr: libswresample's
 * default matrix normalised to a sum of 1, as when the CLI writes integer samples (stereo:
 * the mean), or with mean_matrix the plain mean of the channels. */
static int swr_try(mer_audio_reader *r, AVChannelLayout *in, int format, int rate, int mean_matrix)
{
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    int err =
        swr_alloc_set_opts2(&r->swr, &mono, AV_SAMPLE_FMT_FLT, r->rate, in, format, rate, 0, NULL);
    if (err >= 0)
        err = av_opt_set_double(r->swr, "rematrix_maxval", 1.0, 0);
    if (err >= 0 && mean_matrix) {
        double mean[MAX_CHANNELS];
        for (int c = 0; c < in->nb_channels; c++)
            mean[c] = 1.0 / in->nb_channels;
        err = swr_set_matrix(r->swr, mean, in->nb_channels);
    }
    if (err >= 0)
        err = swr_init(r->swr);
    if (err < 0)
        swr_free(&r->swr);
    return err;
}

/* Remakes the resampler for a stream of (layout, format, rate). A layout without channel
 * names gets FFmpeg's default one for its channel count, as the CLI guesses; a layout that
 * libswresample has no matrix for is averaged. */
static int swr_make(mer_audio_reader *r, const AVChannelLayout *layout, int format, int rate,
                    enum mer_media_fail *why)
{
    AVChannelLayout in = {0};
    int err;
    swr_free(&r->swr);
    av_channel_layout_uninit(&r->swr_layout);
    if (layout->order == AV_CHANNEL_ORDER_UNSPEC || layout->order == AV_CHANNEL_ORDER_CUSTOM)
        av_channel_layout_default(&in, layout->nb_channels);
    else if (av_channel_layout_copy(&in, layout) < 0)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, AVERROR(ENOMEM), "out of memory");
    err = swr_try(r, &in, format, rate, in.order == AV_CHANNEL_ORDER_UNSPEC);
    if (err < 0 && in.order != AV_CHANNEL_ORDER_UNSPEC)
        err = swr_try(r, &in, format, rate, 1);
    if (err < 0) {
        av_channel_layout_uninit(&in);
        return fail(r, why, MER_MEDIA_DECODE_ERROR, err, "cannot resample the audio");
    }
    r->swr_layout = in;
    r->swr_rate = rate;
    r->swr_format = format;
    return 0;
}

/* Room for n more pending samples (bounded: one frame's output). */
static int pend_reserve(mer_audio_reader *r, size_t n, enum mer_media_fail *why)
{
    float *p;
    if (r->pend_pos == r->pend_len)
        r->pend_pos = r->pend_len = 0;
    if (r->pend_len + n <= r->pend_cap)
        return 0;
    if (r->pend_pos > 0) {
        memmove(r->pend, r->pend + r->pend_pos, (r->pend_len - r->pend_pos) * sizeof(float));
        r->pend_len -= r->pend_pos;
        r->pend_pos = 0;
        if (r->pend_len + n <= r->pend_cap)
            return 0;
    }
    if (!(p = realloc(r->pend, (r->pend_len + n) * sizeof(float))))
        return fail(r, why, MER_MEDIA_DECODE_ERROR, AVERROR(ENOMEM), "out of memory");
    r->pend = p;
    r->pend_cap = r->pend_len + n;
    return 0;
}

/* Resamples n input samples (planes in, NULL to flush) into the pending buffer. */
static int swr_push(mer_audio_reader *r, const uint8_t **in, int n, enum mer_media_fail *why)
{
    int room = swr_get_out_samples(r->swr, n), got;
    uint8_t *dst;
    if (room < 0)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, room, "cannot resample the audio");
    if (pend_reserve(r, (size_t)room + 1, why) < 0)
        return -1;
    dst = (uint8_t *)(r->pend + r->pend_len);
    got = swr_convert(r->swr, &dst, room + 1, in, n);
    if (got < 0)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, got, "cannot resample the audio");
    r->pend_len += (size_t)got;
    r->n_out += (unsigned)got;
    if (r->n_out > r->max_out)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, "longer than 24 hours");
    return 0;
}

/* Resamples one chunk of input, first remaking the resampler (and draining the old one)
 * when the stream's format changes mid-way. */
static int resample(mer_audio_reader *r, const AVChannelLayout *layout, int format, int rate,
                    const uint8_t **in, int n, enum mer_media_fail *why)
{
    if (layout->nb_channels <= 0 || layout->nb_channels > MAX_CHANNELS)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, "unsupported number of audio channels");
    if (rate < MIN_RATE || rate > MAX_RATE)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, "unsupported sample rate");
    if (!r->swr || r->swr_rate != rate || r->swr_format != format ||
        r->swr_layout.nb_channels != layout->nb_channels ||
        (layout->order == AV_CHANNEL_ORDER_NATIVE &&
         av_channel_layout_compare(&r->swr_layout, layout))) {
        if (r->swr && swr_push(r, NULL, 0, why) < 0)
            return -1;
        if (swr_make(r, layout, format, rate, why) < 0)
            return -1;
    }
    return swr_push(r, in, n, why);
}

/* The next decoded frame of the FFmpeg source into r->frame: 1, 0 at the end, -1. */
static int ffmpeg_next_frame(mer_audio_reader *r, enum mer_media_fail *why)
{
    unsigned long corrupt;
    int err;
    for (;;) {
        err = avcodec_receive_frame(r->dec, r->frame);
        if (err == 0 && r->frame->nb_samples > 0) {
            r->idle_packets = 0;
            return 1;
        }
        if (err == AVERROR_EOF)
            return 0;
        if (err < 0 && err != AVERROR(EAGAIN))
            return fail(r, why, MER_MEDIA_DECODE_ERROR, err, "decoder error");
        if (err == 0)
            continue; /* an empty frame */
        if (r->demux_eof)
            return 0; /* the decoder wants input after a flush: nothing more will come */
        corrupt = mer_av_corrupt_packets();
        err = av_read_frame(r->fmt, r->pkt);
        if (err >= 0 && mer_av_corrupt_packets() != corrupt)
            r->pkt->flags |= AV_PKT_FLAG_CORRUPT;
        if (err == AVERROR_EOF) {
            r->demux_eof = 1;
            err = avcodec_send_packet(r->dec, NULL);
        } else if (err < 0) {
            return fail(r, why,
                        mer_av_hit_eof(r->fmt) ? MER_MEDIA_TRUNCATED : MER_MEDIA_DECODE_ERROR, err,
                        mer_av_hit_eof(r->fmt) ? "truncated" : "cannot read the file");
        } else if (++r->packets > r->max_packets) {
            av_packet_unref(r->pkt);
            return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, "more packets than the file has bytes");
        } else if ((r->pkt->flags & AV_PKT_FLAG_CORRUPT) && mer_av_hit_eof(r->fmt)) {
            /* What the CLI reports as "Packet corrupt" at the end of a cut file, in any stream
             * (a cut avi may end inside a video chunk). */
            av_packet_unref(r->pkt);
            return fail(r, why, MER_MEDIA_TRUNCATED, 0,
                        "truncated (the file ends inside a packet)");
        } else if (r->pkt->stream_index != r->stream) {
            av_packet_unref(r->pkt);
            continue;
        } else {
            if (++r->idle_packets > MAX_IDLE_PACKETS)
                return fail(r, why, MER_MEDIA_DECODE_ERROR, 0,
                            "decoder error (no samples from 65536 packets)");
            err = avcodec_send_packet(r->dec, r->pkt);
            av_packet_unref(r->pkt);
        }
        if (err < 0 && err != AVERROR_EOF)
            return fail(r, why, MER_MEDIA_DECODE_ERROR, err, "decoder error");
    }
}

/* Decodes until some resampled samples are pending or the clip ends (r->ended). */
static int fill(mer_audio_reader *r, enum mer_media_fail *why)
{
    while (r->pend_pos == r->pend_len && !r->ended) {
        int got;
        if (r->sf) {
            long n = mer_sf_read(r->sf, r->sf_buf, SF_CHUNK, why);
            AVChannelLayout layout;
            const uint8_t *in[1] = {(const uint8_t *)r->sf_buf};
            if (n < 0) {
                r->failed = *why;
                return -1;
            }
            got = n > 0;
            av_channel_layout_default(&layout, r->info.in_channels);
            if (got &&
                resample(r, &layout, AV_SAMPLE_FMT_FLT, r->info.in_rate, in, (int)n, why) < 0)
                return -1;
        } else {
            if ((got = ffmpeg_next_frame(r, why)) < 0)
                return -1;
            if (got &&
                resample(r, &r->frame->ch_layout, r->frame->format, r->frame->sample_rate,
                         (const uint8_t **)r->frame->extended_data, r->frame->nb_samples, why) < 0)
                return -1;
        }
        if (!got) {
            if (r->swr && swr_push(r, NULL, 0, why) < 0)
                return -1;
            r->ended = 1;
        }
    }
    return 0;
}

static int open_ffmpeg(mer_audio_reader *r, enum mer_media_fail *why)
{
    const AVCodec *codec = NULL;
    AVStream *st;
    int err;
    if (mer_av_open_input(&r->fmt, r->path, why) < 0)
        return -1;
    /* The stream the ffmpeg CLI picks (MER2024's clips have one). */
    r->stream = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (r->stream < 0)
        return fail(r, why, MER_MEDIA_NO_AUDIO, 0, "no audio stream");
    /* The other streams' packets are read (not decoded): a cut in any of them is a
     * truncation. A real file has fewer packets than bytes: a bound on the demuxing loop. */
    r->max_packets = mer_av_file_size(r->fmt) + MAX_IDLE_PACKETS;
    st = r->fmt->streams[r->stream];
    if (!(codec = avcodec_find_decoder(st->codecpar->codec_id)))
        return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, "no decoder for the audio codec");
    if (!(r->dec = avcodec_alloc_context3(codec)) || !(r->pkt = av_packet_alloc()) ||
        !(r->frame = av_frame_alloc()))
        return fail(r, why, MER_MEDIA_DECODE_ERROR, AVERROR(ENOMEM), "out of memory");
    if ((err = avcodec_parameters_to_context(r->dec, st->codecpar)) < 0)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, err, "cannot open the decoder");
    r->dec->thread_count = 1; /* the extractor runs one reader per thread */
    r->dec->pkt_timebase = st->time_base;
    if ((err = avcodec_open2(r->dec, codec, NULL)) < 0)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, err, "cannot open the decoder");
    r->info.in_rate = st->codecpar->sample_rate;
    r->info.in_channels = st->codecpar->ch_layout.nb_channels;
    r->info.codec = avcodec_get_name(st->codecpar->codec_id); /* "mp3", not "mp3float" */
    r->info.backend = "ffmpeg";
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        r->info.duration_s = (double)st->duration * av_q2d(st->time_base);
    else if (r->fmt->duration != AV_NOPTS_VALUE && r->fmt->duration > 0)
        r->info.duration_s = (double)r->fmt->duration / AV_TIME_BASE;
    return 0;
}

/* libsndfile reads .wav and .flac of one or two channels faster than FFmpeg (the choice is
 * measured in the README); 1 if it opened path, 0 to use FFmpeg instead. */
static int open_sndfile(mer_audio_reader *r, enum mer_media_fail *why)
{
    struct mer_sf_props p;
    const char *ext = strrchr(r->path, '.');
    int got;
    if (backend_choice == BACKEND_FFMPEG)
        return 0;
    if (backend_choice == BACKEND_AUTO &&
        (!ext || (strcasecmp(ext, ".wav") && strcasecmp(ext, ".flac"))))
        return 0;
    if ((got = mer_sf_open(&r->sf, r->path, &p, why)) <= 0) {
        r->failed = got < 0 ? *why : MER_MEDIA_OK;
        return got;
    }
    if (p.channels > MAX_CHANNELS || (backend_choice == BACKEND_AUTO && p.channels > 2) ||
        p.rate < MIN_RATE || p.rate > MAX_RATE) {
        mer_sf_close(r->sf); /* FFmpeg's channel layouts, or its errors */
        r->sf = NULL;
        return 0;
    }
    if (!(r->sf_buf = malloc((size_t)SF_CHUNK * (size_t)p.channels * sizeof(float))))
        return fail(r, why, MER_MEDIA_DECODE_ERROR, AVERROR(ENOMEM), "out of memory");
    r->info.in_rate = p.rate;
    r->info.in_channels = p.channels;
    r->info.codec = p.codec;
    r->info.backend = "sndfile";
    r->info.duration_s = (double)p.frames / p.rate;
    return 1;
}

int mer_audio_open(mer_audio_reader **out, const char *path, int rate, enum mer_media_fail *why)
{
    enum mer_media_fail dummy;
    mer_audio_reader *r;
    int got;
    why = why ? why : &dummy;
    *why = MER_MEDIA_OK;
    *out = NULL;
    if (rate < MIN_RATE || rate > 384000) {
        *why = MER_MEDIA_CANNOT_OPEN;
        return mer_error("'%s': output rate %d Hz is out of range (1000 to 384000)", path, rate);
    }
    mer_av_init();
    mer_av_clear_log();
    if (!(r = calloc(1, sizeof(*r))) || !(r->path = strdup(path))) {
        free(r);
        *why = MER_MEDIA_CANNOT_OPEN;
        return mer_error("'%s': out of memory", path);
    }
    r->rate = rate;
    r->info.duration_s = -1;
    r->max_out = (unsigned long long)MER_AUDIO_MAX_SECONDS * (unsigned)rate;
    got = open_sndfile(r, why);
    if (got < 0 || (got == 0 && open_ffmpeg(r, why) < 0) || fill(r, why) < 0)
        goto fail;
    if (r->ended && r->pend_len == 0) {
        fail(r, why, MER_MEDIA_NO_SAMPLES, 0, "no samples");
        goto fail;
    }
    *out = r;
    return 0;
fail:
    mer_audio_close(r);
    return -1;
}

const struct mer_audio_info *mer_audio_info(const mer_audio_reader *r)
{
    return &r->info;
}

long mer_audio_read(mer_audio_reader *r, float *buf, size_t cap, enum mer_media_fail *why)
{
    enum mer_media_fail dummy;
    size_t n;
    why = why ? why : &dummy;
    if (r->failed) {
        *why = r->failed;
        return mer_error("'%s': %s", r->path, mer_media_fail_name(r->failed));
    }
    if (cap > (size_t)LONG_MAX)
        cap = (size_t)LONG_MAX;
    mer_av_clear_log();
    if (fill(r, why) < 0)
        return -1;
    n = r->pend_len - r->pend_pos;
    n = n < cap ? n : cap;
    memcpy(buf, r->pend + r->pend_pos, n * sizeof(float));
    r->pend_pos += n;
    return (long)n;
}

void mer_audio_close(mer_audio_reader *r)
{
    if (!r)
        return;
    avcodec_free_context(&r->dec);
    av_packet_free(&r->pkt);
    av_frame_free(&r->frame);
    mer_av_close_input(&r->fmt);
    mer_sf_close(r->sf);
    free(r->sf_buf);
    swr_free(&r->swr);
    av_channel_layout_uninit(&r->swr_layout);
    free(r->pend);
    free(r->path);
    free(r);
}

int mer_audio_decode(const char *path, int rate, float **pcm, size_t *n, enum mer_media_fail *why)
{
    enum mer_media_fail dummy;
    mer_audio_reader *r;
    float *buf = NULL;
    size_t len = 0, cap = 0;
    long got;
    int ret = -1;
    why = why ? why : &dummy;
    *pcm = NULL;
    *n = 0;
    if (mer_audio_open(&r, path, rate, why) < 0)
        return -1;
    for (;;) {
        if (cap - len < 4096) {
            float *p = realloc(buf, (cap = cap ? cap * 2 : 1 << 16) * sizeof(float));
            if (!p) {
                *why = MER_MEDIA_DECODE_ERROR;
                mer_error("'%s': out of memory", path);
                goto done;
            }
            buf = p;
        }
        if ((got = mer_audio_read(r, buf + len, cap - len, why)) < 0)
            goto done;
        if (got == 0)
            break;
        len += (size_t)got;
    }
    *pcm = buf;
    *n = len;
    buf = NULL;
    ret = 0;
done:
    free(buf);
    mer_audio_close(r);
    return ret;
}

static char versions[256];

static void versions_once(void)
{
    unsigned f = avformat_version(), c = avcodec_version(), s = swresample_version();
    snprintf(versions, sizeof(versions),
             "libavformat %u.%u.%u, libavcodec %u.%u.%u, libswresample %u.%u.%u, %s", f >> 16,
             (f >> 8) & 0xff, f & 0xff, c >> 16, (c >> 8) & 0xff, c & 0xff, s >> 16,
             (s >> 8) & 0xff, s & 0xff, mer_sf_version());
}

const char *mer_media_versions(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, versions_once);
    return versions;
}
