/*
 * The video reader: FFmpeg's demuxer and decoder (one thread), a sampler that picks which
 * decoded frames go out (every one, the fps filter's choice, or MERTools' uniform indexes),
 * then for each frame that goes out only: the display matrix's rotation applied to the
 * decoded planes (as the CLI's transpose/hflip/vflip filters do, before the conversion) and
 * libswscale's conversion to packed RGB24 (as the CLI's auto-inserted scale filter).
 */
#include "mer/video.h"

#include "media/av.h"
#include "mer/error.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

/* Video packets in a row that may decode to no frame before the clip counts as broken (a
 * bound on the decode loop whatever the bytes say; decoders delay a few frames at most). */
enum { MAX_IDLE_PACKETS = 1 << 12 };

/* The orientation applied to a decoded frame: output pixel (x, y) is source pixel
 * (swap ? y : x, swap ? x : y), then mirrored in x (flip_x) and in y (flip_y) of the source. */
struct orient {
    int swap, flip_x, flip_y;
};

enum mode { MODE_ALL, MODE_FPS, MODE_UNIFORM };

struct mer_video_reader {
    struct mer_video_info info;
    char *path;
    enum mode mode;
    struct mer_video_sampling s;
    enum mer_media_fail failed; /* sticky: after an error every call fails */
    /* demuxer and decoder */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    int stream, demux_eof, dec_eof;
    long idle_packets;
    long long packets, max_packets;
    AVRational tb;     /* the stream's time base */
    int64_t ts_offset; /* added to every timestamp (the CLI's -start_time shift), in tb */
    int64_t n_decoded; /* frames decoded so far: the index of the next one */
    int64_t last_pts;  /* of the last decoded frame (tb, shifted), for the end's time */
    int64_t last_dur;  /* its duration (tb), 0 if unknown */
    struct orient orient;
    /* the sampler's queue: q[0] is the candidate, q[1] the frame after it */
    AVFrame *q[2];
    int64_t q_index[2], q_tick[2];
    int n_q;
    int fresh; /* q[0] is the frame open decoded, not handed out yet */
    /* fps: output ticks in 1/fps, as the fps filter counts them */
    AVRational out_tb;
    int64_t next_tick, end_tick;
    int have_end;
    /* uniform: sample i of frames, over info.n_frames */
    int sample_i;
    /* conversion */
    AVFrame *rot, *rgb_frame;
    struct SwsContext *sws;
    int sws_w, sws_h, sws_fmt, sws_ow, sws_oh, sws_cs, sws_range;
    uint8_t *rgb, *rgb_tmp;
    size_t rgb_cap, rgb_tmp_cap;
    int64_t rgb_index; /* the decoded frame now in rgb (-1: none) */
    int rgb_w, rgb_h;
};

static int fail(mer_video_reader *r, enum mer_media_fail *why, enum mer_media_fail f, int err,
                const char *what)
{
    r->failed = f;
    return mer_av_fail(why, f, r->path, err, what);
}

int64_t mer_video_uniform_index(int64_t n_frames, int n, int i)
{
    int64_t m;
    double step;
    if (n_frames <= 0 || n <= 0 || i < 0 || i >= n)
        return -1;
    m = n < n_frames ? n : n_frames;
    step = (double)n_frames / (double)m;
    if (i >= m)
        i = (int)m - 1;
    return (int64_t)((double)i * step);
}

/* ---- demuxing and decoding ---- */

/* A decoded frame's size against the limits; 0 or -1. */
static int check_size(mer_video_reader *r, int w, int h, enum mer_media_fail *why)
{
    char what[160];
    if (w > 0 && h > 0 && w <= MER_VIDEO_MAX_SIDE && h <= MER_VIDEO_MAX_SIDE &&
        (long long)w * h <= MER_VIDEO_MAX_PIXELS)
        return 0;
    snprintf(what, sizeof(what),
             "frame size %dx%d is unsupported (at most %d pixels, %d on a side)", w, h,
             MER_VIDEO_MAX_PIXELS, MER_VIDEO_MAX_SIDE);
    return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, what);
}

/* Sends the next packet of the stream (or the flush at the end) to the decoder; 0 or -1. */
static int feed_decoder(mer_video_reader *r, enum mer_media_fail *why)
{
    unsigned long corrupt;
    int err;
    for (;;) {
        corrupt = mer_av_corrupt_packets();
        err = av_read_frame(r->fmt, r->pkt);
        if (err >= 0 && mer_av_corrupt_packets() != corrupt)
            r->pkt->flags |= AV_PKT_FLAG_CORRUPT;
        if (err == AVERROR_EOF) {
            r->demux_eof = 1;
            err = avcodec_send_packet(r->dec, NULL);
            break;
        }
        if (err < 0)
            return fail(r, why,
                        mer_av_hit_eof(r->fmt) ? MER_MEDIA_TRUNCATED : MER_MEDIA_DECODE_ERROR, err,
                        mer_av_hit_eof(r->fmt) ? "truncated" : "cannot read the file");
        if (++r->packets > r->max_packets) {
            av_packet_unref(r->pkt);
            return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, "more packets than the file has bytes");
        }
        if ((r->pkt->flags & AV_PKT_FLAG_CORRUPT) && mer_av_hit_eof(r->fmt)) {
            av_packet_unref(r->pkt);
            return fail(r, why, MER_MEDIA_TRUNCATED, 0,
                        "truncated (the file ends inside a packet)");
        }
        if (r->pkt->stream_index != r->stream) {
            av_packet_unref(r->pkt);
            continue;
        }
        if (++r->idle_packets > MAX_IDLE_PACKETS) {
            av_packet_unref(r->pkt);
            return fail(r, why, MER_MEDIA_DECODE_ERROR, 0,
                        "decoder error (no frame from 4096 packets)");
        }
        err = avcodec_send_packet(r->dec, r->pkt);
        av_packet_unref(r->pkt);
        break;
    }
    if (err < 0 && err != AVERROR_EOF)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, err, "decoder error");
    return 0;
}

/* The next decoded frame into f: 1, 0 at the end, -1. Its timestamp (best effort, shifted
 * as the CLI shifts it) is in f->pts, AV_NOPTS_VALUE if none. */
static int decode_frame(mer_video_reader *r, AVFrame *f, enum mer_media_fail *why)
{
    char what[96];
    int err;
    if (r->dec_eof)
        return 0;
    for (;;) {
        err = avcodec_receive_frame(r->dec, f);
        if (err == 0)
            break;
        if (err == AVERROR_EOF) {
            r->dec_eof = 1;
            return 0;
        }
        if (err != AVERROR(EAGAIN))
            return fail(r, why, MER_MEDIA_DECODE_ERROR, err, "decoder error");
        if (r->demux_eof) {
            r->dec_eof = 1;
            return 0;
        }
        if (feed_decoder(r, why) < 0)
            return -1;
    }
    r->idle_packets = 0;
    if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT)) {
        snprintf(what, sizeof(what), "decoder error (frame %lld is corrupt)",
                 (long long)r->n_decoded);
        av_frame_unref(f);
        return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, what);
    }
    if (check_size(r, f->width, f->height, why) < 0) {
        av_frame_unref(f);
        return -1;
    }
    f->pts = f->best_effort_timestamp;
    if (f->pts != AV_NOPTS_VALUE) {
        f->pts += r->ts_offset;
        r->last_pts = f->pts;
        r->last_dur = f->pkt_duration;
    }
    r->n_decoded++;
    return 1;
}

/* ---- opening ---- */

/* What the CLI's autorotation does for a display matrix (ffmpeg 5.1's ffmpeg_filter.c):
 * theta = -round(the matrix's angle), in [0, 360); 90: transpose clock (cclock_flip when the
 * matrix mirrors), 180: hflip and/or vflip as the matrix's diagonal says, 270: cclock
 * (clock_flip when mirrored), 0: vflip when the matrix flips y. Other angles: not applied. */
static void orientation(mer_video_reader *r, const int32_t *m)
{
    struct orient o = {0, 0, 0};
    double theta = 0;
    int rotation = 0, mirrored = 0;
    if (m)
        theta = -round(av_display_rotation_get(m));
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    if (fabs(theta - 90) < 1.0) {
        rotation = 90;
        mirrored = m[3] > 0;
        o = mirrored ? (struct orient){1, 0, 0} : (struct orient){1, 0, 1};
    } else if (fabs(theta - 180) < 1.0) {
        rotation = 180;
        o.flip_x = m[0] < 0;
        o.flip_y = m[4] < 0;
        mirrored = o.flip_x != o.flip_y;
    } else if (fabs(theta - 270) < 1.0) {
        rotation = 270;
        mirrored = m[3] < 0;
        o = mirrored ? (struct orient){1, 1, 1} : (struct orient){1, 1, 0};
    } else if (fabs(theta) < 1.0 && m && m[4] < 0) {
        o.flip_y = 1;
        mirrored = 1;
    }
    r->orient = o;
    r->info.rotation = rotation;
    r->info.mirrored = mirrored;
}

static int open_decoder(mer_video_reader *r, enum mer_media_fail *why)
{
    const AVCodec *codec = NULL;
    AVStream *st;
    int err;
    if (mer_av_open_input(&r->fmt, r->path, why) < 0)
        return -1;
    r->stream = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (r->stream < 0)
        return fail(r, why, MER_MEDIA_NO_VIDEO, 0, "no video stream");
    st = r->fmt->streams[r->stream];
    /* Cover art and other still pictures are not the clip's video. */
    if (st->disposition & AV_DISPOSITION_ATTACHED_PIC)
        return fail(r, why, MER_MEDIA_NO_VIDEO, 0, "no video stream (only a still picture)");
    r->max_packets = mer_av_file_size(r->fmt) + MAX_IDLE_PACKETS;
    if (st->codecpar->width > 0 && st->codecpar->height > 0 &&
        check_size(r, st->codecpar->width, st->codecpar->height, why) < 0)
        return -1;
    if (!(codec = avcodec_find_decoder(st->codecpar->codec_id)))
        return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, "no decoder for the video codec");
    if (!(r->dec = avcodec_alloc_context3(codec)) || !(r->pkt = av_packet_alloc()))
        return fail(r, why, MER_MEDIA_DECODE_ERROR, AVERROR(ENOMEM), "out of memory");
    if ((err = avcodec_parameters_to_context(r->dec, st->codecpar)) < 0)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, err, "cannot open the decoder");
    r->dec->thread_count = 1; /* the extractor runs one reader per thread */
    r->dec->pkt_timebase = st->time_base;
    r->dec->max_pixels = MER_VIDEO_MAX_PIXELS; /* the decoder refuses larger frames itself */
    if ((err = avcodec_open2(r->dec, codec, NULL)) < 0)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, err, "cannot open the decoder");
    r->tb = st->time_base;
    r->ts_offset = r->fmt->start_time != AV_NOPTS_VALUE
                       ? av_rescale_q(-r->fmt->start_time, AV_TIME_BASE_Q, st->time_base)
                       : 0;
    r->info.codec = avcodec_get_name(st->codecpar->codec_id);
    r->info.fps =
        st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? av_q2d(st->avg_frame_rate) : 0;
    r->info.duration_s = -1;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        r->info.duration_s = (double)st->duration * av_q2d(st->time_base);
    else if (r->fmt->duration != AV_NOPTS_VALUE && r->fmt->duration > 0)
        r->info.duration_s = (double)r->fmt->duration / AV_TIME_BASE;
    r->info.n_frames_est = st->nb_frames > 0 ? st->nb_frames
                           : r->info.duration_s > 0 && r->info.fps > 0
                               ? (int64_t)llround(r->info.duration_s * r->info.fps)
                               : -1;
    return 0;
}

static void close_decoder(mer_video_reader *r)
{
    avcodec_free_context(&r->dec);
    av_packet_free(&r->pkt);
    mer_av_close_input(&r->fmt);
    r->demux_eof = r->dec_eof = 0;
    r->packets = r->idle_packets = 0;
    r->n_decoded = 0;
    r->last_pts = AV_NOPTS_VALUE;
}

/* The frame count of the clip (MERTools' n), by a pass that decodes it all; then the clip is
 * opened again for the frames. The count pass skips the loop filter, which changes pixels,
 * never which frames come out. */
static int count_frames(mer_video_reader *r, AVFrame *f, enum mer_media_fail *why)
{
    int got;
    r->dec->skip_loop_filter = AVDISCARD_ALL;
    while ((got = decode_frame(r, f, why)) > 0)
        av_frame_unref(f);
    if (got < 0)
        return -1;
    r->info.n_frames = r->n_decoded;
    close_decoder(r);
    return open_decoder(r, why);
}

static int check_sampling(const char *path, const struct mer_video_sampling *s,
                          enum mer_media_fail *why)
{
    const char *bad = NULL;
    if (!(s->fps >= 0) || s->fps > 1e6)
        bad = "fps must be 0 or within (0, 1e6]";
    else if (s->frames < 0)
        bad = "frames must be 0 or more";
    else if (s->fps > 0 && s->frames > 0)
        bad = "fps and frames are exclusive";
    else if (s->width < 0 || s->height < 0 || (s->width > 0) != (s->height > 0))
        bad = "width and height must both be 0 (the clip's size) or both > 0";
    else if ((long long)s->width * s->height > MER_VIDEO_MAX_PIXELS ||
             s->width > MER_VIDEO_MAX_SIDE || s->height > MER_VIDEO_MAX_SIDE)
        bad = "the output size is above the frame size limit";
    if (!bad)
        return 0;
    *why = MER_MEDIA_CANNOT_OPEN;
    return mer_error("'%s': %s", path, bad);
}

/* The fps filter's tick for a timestamp in the stream's time base (rounded to the nearest). */
static int64_t to_tick(const mer_video_reader *r, int64_t pts)
{
    if (pts == AV_NOPTS_VALUE)
        return AV_NOPTS_VALUE;
    return av_rescale_q_rnd(pts, r->tb, r->out_tb, AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX);
}

/* Decodes the next frame into the queue's slot k: 1, 0 at the end, -1. */
static int queue_frame(mer_video_reader *r, int k, enum mer_media_fail *why)
{
    int64_t index = r->n_decoded;
    int got = decode_frame(r, r->q[k], why);
    if (got <= 0)
        return got;
    r->q_index[k] = index;
    r->q_tick[k] = r->mode == MODE_FPS ? to_tick(r, r->q[k]->pts) : 0;
    return 1;
}

int mer_video_open(mer_video_reader **out, const char *path, const struct mer_video_sampling *s,
                   enum mer_media_fail *why)
{
    static const struct mer_video_sampling every = {0, 0, 0, 0};
    enum mer_media_fail dummy;
    mer_video_reader *r;
    const int32_t *m;
    AVFrameSideData *sd;
    int got;
    why = why ? why : &dummy;
    *why = MER_MEDIA_OK;
    *out = NULL;
    s = s ? s : &every;
    if (check_sampling(path, s, why) < 0)
        return -1;
    mer_av_init();
    mer_av_clear_log();
    if (!(r = calloc(1, sizeof(*r))) || !(r->path = strdup(path))) {
        free(r);
        *why = MER_MEDIA_CANNOT_OPEN;
        return mer_error("'%s': out of memory", path);
    }
    r->s = *s;
    r->mode = s->fps > 0 ? MODE_FPS : s->frames > 0 ? MODE_UNIFORM : MODE_ALL;
    r->info.n_frames = -1;
    r->rgb_index = -1;
    r->next_tick = AV_NOPTS_VALUE;
    r->last_pts = AV_NOPTS_VALUE;
    if (r->mode == MODE_FPS)
        r->out_tb = av_inv_q(av_d2q(s->fps, 1001000)); /* as the fps filter parses "R" */
    if (!(r->q[0] = av_frame_alloc()) || !(r->q[1] = av_frame_alloc())) {
        fail(r, why, MER_MEDIA_CANNOT_OPEN, AVERROR(ENOMEM), "out of memory");
        goto fail;
    }
    if (open_decoder(r, why) < 0)
        goto fail;
    if (r->mode == MODE_UNIFORM && count_frames(r, r->q[0], why) < 0)
        goto fail;
    if ((got = queue_frame(r, 0, why)) < 0)
        goto fail;
    if (got == 0) {
        fail(r, why, MER_MEDIA_NO_FRAMES, 0, "no frames");
        goto fail;
    }
    r->n_q = 1;
    r->fresh = 1;
    /* The CLI takes the display matrix from the first frame, else from the stream. */
    sd = av_frame_get_side_data(r->q[0], AV_FRAME_DATA_DISPLAYMATRIX);
    m = sd && sd->size >= 9 * sizeof(int32_t)
            ? (const int32_t *)sd->data
            : (const int32_t *)av_stream_get_side_data(r->fmt->streams[r->stream],
                                                       AV_PKT_DATA_DISPLAYMATRIX, NULL);
    orientation(r, m);
    r->info.width = r->orient.swap ? r->q[0]->height : r->q[0]->width;
    r->info.height = r->orient.swap ? r->q[0]->width : r->q[0]->height;
    *out = r;
    return 0;
fail:
    mer_video_close(r);
    return -1;
}

const struct mer_video_info *mer_video_info(const mer_video_reader *r)
{
    return &r->info;
}

/* ---- conversion ---- */

static int bad_alloc(mer_video_reader *r, enum mer_media_fail *why)
{
    return fail(r, why, MER_MEDIA_DECODE_ERROR, AVERROR(ENOMEM), "out of memory");
}

static int reserve(uint8_t **buf, size_t *cap, size_t n)
{
    uint8_t *p;
    if (n <= *cap)
        return 0;
    if (!(p = realloc(*buf, n)))
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

/* dst (dw x dh elements of e bytes) = src (sw x sh) under o. */
static void orient_plane(uint8_t *dst, int dls, int dw, int dh, const uint8_t *src, int sls, int sw,
                         int sh, int e, struct orient o)
{
    for (int y = 0; y < dh; y++) {
        uint8_t *d = dst + (ptrdiff_t)y * dls;
        for (int x = 0; x < dw; x++) {
            int sx = o.swap ? y : x, sy = o.swap ? x : y;
            const uint8_t *p;
            sx = o.flip_x ? sw - 1 - sx : sx;
            sy = o.flip_y ? sh - 1 - sy : sy;
            p = src + (ptrdiff_t)sy * sls + (ptrdiff_t)sx * e;
            if (e == 1)
                d[x] = *p;
            else
                memcpy(d + (ptrdiff_t)x * e, p, (size_t)e);
        }
    }
}

/* Whether f's planes can be oriented one by one, as the transpose filter does: planar
 * formats whose chroma is subsampled alike in both directions when the axes swap. */
static int planes_orientable(const AVFrame *f, struct orient o)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    if (!d ||
        (d->flags & (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL)))
        return 0;
    if (!(d->flags & AV_PIX_FMT_FLAG_PLANAR) && d->nb_components > 1)
        return 0;
    return !o.swap || d->log2_chroma_w == d->log2_chroma_h;
}

/* r->rot = f under r->orient, plane by plane. */
static int orient_planes(mer_video_reader *r, const AVFrame *f, enum mer_media_fail *why)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    struct orient o = r->orient;
    int n_planes = av_pix_fmt_count_planes(f->format);
    av_frame_unref(r->rot);
    r->rot->format = f->format;
    r->rot->width = o.swap ? f->height : f->width;
    r->rot->height = o.swap ? f->width : f->height;
    if (av_frame_get_buffer(r->rot, 0) < 0 || av_frame_copy_props(r->rot, f) < 0)
        return bad_alloc(r, why);
    for (int p = 0; p < n_planes; p++) {
        int chroma = (p == 1 || p == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB);
        int sw = chroma ? AV_CEIL_RSHIFT(f->width, d->log2_chroma_w) : f->width;
        int sh = chroma ? AV_CEIL_RSHIFT(f->height, d->log2_chroma_h) : f->height;
        int e = 1;
        for (int c = 0; c < d->nb_components; c++)
            if (d->comp[c].plane == p)
                e = d->comp[c].step;
        orient_plane(r->rot->data[p], r->rot->linesize[p], o.swap ? sh : sw, o.swap ? sw : sh,
                     f->data[p], f->linesize[p], sw, sh, e, o);
    }
    return 0;
}

/* A scaler from f's format and size to RGB24 at ow x oh, set up as the CLI's scale filter
 * (ffmpeg 5.1's vf_scale): bicubic, MPEG-2 chroma siting for yuv420p, the frame's own colour
 * matrix and range. */
static int make_sws(mer_video_reader *r, const AVFrame *f, int ow, int oh, enum mer_media_fail *why)
{
    int *inv, *table, in_full, out_full, bri, con, sat;
    if (!r->sws || r->sws_w != f->width || r->sws_h != f->height || r->sws_fmt != f->format ||
        r->sws_ow != ow || r->sws_oh != oh) {
        struct SwsContext *s;
        sws_freeContext(r->sws);
        if (!(r->sws = s = sws_alloc_context()))
            return bad_alloc(r, why);
        av_opt_set_int(s, "srcw", f->width, 0);
        av_opt_set_int(s, "srch", f->height, 0);
        av_opt_set_int(s, "src_format", f->format, 0);
        av_opt_set_int(s, "dstw", ow, 0);
        av_opt_set_int(s, "dsth", oh, 0);
        av_opt_set_int(s, "dst_format", AV_PIX_FMT_RGB24, 0);
        av_opt_set_int(s, "sws_flags", SWS_BICUBIC, 0);
        av_opt_set_int(s, "threads", 1, 0);
        av_opt_set_int(s, "src_h_chr_pos", -513, 0);
        av_opt_set_int(s, "src_v_chr_pos", f->format == AV_PIX_FMT_YUV420P ? 128 : -513, 0);
        if (sws_init_context(s, NULL, NULL) < 0) {
            sws_freeContext(s);
            r->sws = NULL;
            return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, "cannot convert the frames to RGB");
        }
        r->sws_w = f->width;
        r->sws_h = f->height;
        r->sws_fmt = f->format;
        r->sws_ow = ow;
        r->sws_oh = oh;
        r->sws_cs = r->sws_range = -1;
    }
    if (r->sws_cs == (int)f->colorspace && r->sws_range == (int)f->color_range)
        return 0;
    sws_getColorspaceDetails(r->sws, &inv, &in_full, &table, &out_full, &bri, &con, &sat);
    inv = (int *)sws_getCoefficients(f->colorspace);
    if (f->color_range != AVCOL_RANGE_UNSPECIFIED)
        in_full = f->color_range == AVCOL_RANGE_JPEG;
    sws_setColorspaceDetails(r->sws, inv, in_full, inv, out_full, bri, con, sat);
    r->sws_cs = (int)f->colorspace;
    r->sws_range = (int)f->color_range;
    return 0;
}

/* f as packed RGB24 of ow x oh into *dst (grown to fit). */
static int convert(mer_video_reader *r, const AVFrame *f, int ow, int oh, uint8_t **dst,
                   size_t *cap, enum mer_media_fail *why)
{
    AVFrame *o = r->rgb_frame;
    if (make_sws(r, f, ow, oh, why) < 0)
        return -1;
    if (o->width != ow || o->height != oh || !o->data[0]) {
        av_frame_unref(o);
        o->format = AV_PIX_FMT_RGB24;
        o->width = ow;
        o->height = oh;
        if (av_frame_get_buffer(o, 0) < 0)
            return bad_alloc(r, why);
    }
    if (sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, o->data,
                  o->linesize) != oh)
        return fail(r, why, MER_MEDIA_DECODE_ERROR, 0, "cannot convert the frames to RGB");
    if (reserve(dst, cap, (size_t)ow * (size_t)oh * 3) < 0)
        return bad_alloc(r, why);
    av_image_copy_plane(*dst, ow * 3, o->data[0], o->linesize[0], ow * 3, oh);
    return 0;
}

/* The queue's first frame, upright, as RGB24 in r->rgb (kept when it is already there). */
static int to_rgb(mer_video_reader *r, enum mer_media_fail *why)
{
    const AVFrame *f = r->q[0];
    struct orient o = r->orient;
    int identity = !o.swap && !o.flip_x && !o.flip_y;
    /* A frame whose size differs from the first one's (a stream that changes resolution) is
     * scaled to it: a reader's frames all have one size. */
    int ow = r->s.width > 0 ? r->s.width : r->info.width;
    int oh = r->s.height > 0 ? r->s.height : r->info.height;
    if (r->rgb_index == r->q_index[0])
        return 0;
    r->rgb_index = -1;
    if (identity) {
        if (convert(r, f, ow, oh, &r->rgb, &r->rgb_cap, why) < 0)
            return -1;
    } else if (planes_orientable(f, o)) {
        if (orient_planes(r, f, why) < 0 ||
            convert(r, r->rot, ow, oh, &r->rgb, &r->rgb_cap, why) < 0)
            return -1;
    } else {
        /* Packed formats: converted at the size before orientation, then oriented as RGB. */
        int pw = o.swap ? oh : ow, ph = o.swap ? ow : oh;
        if (convert(r, f, pw, ph, &r->rgb_tmp, &r->rgb_tmp_cap, why) < 0 ||
            reserve(&r->rgb, &r->rgb_cap, (size_t)ow * (size_t)oh * 3) < 0)
            return r->failed ? -1 : bad_alloc(r, why);
        orient_plane(r->rgb, ow * 3, ow, oh, r->rgb_tmp, pw * 3, pw, ph, 3, o);
    }
    r->rgb_index = r->q_index[0];
    r->rgb_w = ow;
    r->rgb_h = oh;
    return 0;
}

/* ---- sampling ---- */

/* Hands out the queue's first frame. */
static int emit(mer_video_reader *r, struct mer_frame *f, enum mer_media_fail *why)
{
    const AVFrame *src = r->q[0];
    if (to_rgb(r, why) < 0)
        return -1;
    f->width = r->rgb_w;
    f->height = r->rgb_h;
    f->rgb = r->rgb;
    f->index = r->q_index[0];
    f->time_s = src->pts != AV_NOPTS_VALUE ? (double)src->pts * av_q2d(r->tb) : NAN;
    return 1;
}

/* Drops the queue's first frame. */
static void shift(mer_video_reader *r)
{
    AVFrame *t = r->q[0];
    if (r->n_q == 0)
        return;
    av_frame_unref(t);
    r->q[0] = r->q[1];
    r->q[1] = t;
    r->q_index[0] = r->q_index[1];
    r->q_tick[0] = r->q_tick[1];
    r->n_q--;
}

/* The end of the clip as the fps filter sees it: the last frame's time plus its duration,
 * rounded as the CLI rounds it (to microseconds, back to the stream, to the nearest tick). */
static int64_t end_tick(const mer_video_reader *r)
{
    int64_t us = av_rescale_q(r->last_pts, r->tb, AV_TIME_BASE_Q), pts;
    if (r->last_dur > 0)
        us += av_rescale_q(r->last_dur, r->tb, AV_TIME_BASE_Q);
    else if (r->info.fps > 0)
        us += llround(AV_TIME_BASE / r->info.fps);
    pts = av_rescale_q_rnd(us, AV_TIME_BASE_Q, r->tb, AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX);
    return to_tick(r, pts);
}

/* ffmpeg 5.1's fps filter, one output at a time: the queue holds the candidate and the frame
 * after it; the candidate is dropped when the next one's tick is not after the next output
 * tick, else it goes out at that tick (again and again when frames are sparse); at the end it
 * goes out while the tick is before the clip's end. Initial frames without a timestamp are
 * dropped. */
static int next_fps(mer_video_reader *r, struct mer_frame *f, enum mer_media_fail *why)
{
    for (;;) {
        int got;
        if (r->n_q == 0) {
            if ((got = queue_frame(r, 0, why)) <= 0)
                return got;
            r->n_q = 1;
        }
        if (r->next_tick == AV_NOPTS_VALUE) {
            if (r->q_tick[0] == AV_NOPTS_VALUE) {
                shift(r);
                continue;
            }
            r->next_tick = r->q_tick[0];
        }
        if (r->n_q == 1 && !r->have_end) {
            if ((got = queue_frame(r, 1, why)) < 0)
                return -1;
            if (got)
                r->n_q = 2;
            else if (r->last_pts != AV_NOPTS_VALUE) {
                r->have_end = 1;
                r->end_tick = end_tick(r);
            } else {
                r->have_end = 1;
                r->end_tick = r->next_tick; /* no timestamp at all: nothing goes out */
            }
        }
        if ((r->n_q == 2 && r->q_tick[1] <= r->next_tick) ||
            (r->have_end && r->end_tick <= r->next_tick)) {
            shift(r);
            if (r->n_q == 0 && r->have_end)
                return 0;
            continue;
        }
        r->next_tick++;
        return emit(r, f, why);
    }
}

static int next_uniform(mer_video_reader *r, struct mer_frame *f, enum mer_media_fail *why)
{
    int64_t want;
    if (r->sample_i >= r->s.frames)
        return 0;
    want = mer_video_uniform_index(r->info.n_frames, r->s.frames, r->sample_i);
    while (r->q_index[0] < want) {
        int got = queue_frame(r, 1, why);
        if (got < 0)
            return -1;
        if (got == 0)
            return fail(r, why, MER_MEDIA_DECODE_ERROR, 0,
                        "decoder error (fewer frames the second time)");
        r->n_q = 2;
        shift(r);
    }
    r->sample_i++;
    return emit(r, f, why);
}

/* Every frame: the one open decoded first, then each next one. */
static int next_all(mer_video_reader *r, struct mer_frame *f, enum mer_media_fail *why)
{
    int got;
    if (!r->fresh) {
        shift(r);
        if ((got = queue_frame(r, 0, why)) <= 0)
            return got;
        r->n_q = 1;
    }
    r->fresh = 0;
    return emit(r, f, why);
}

int mer_video_next(mer_video_reader *r, struct mer_frame *f, enum mer_media_fail *why)
{
    enum mer_media_fail dummy;
    why = why ? why : &dummy;
    if (r->failed) {
        *why = r->failed;
        return mer_error("'%s': %s", r->path, mer_media_fail_name(r->failed));
    }
    mer_av_clear_log();
    if (!r->rot && (!(r->rot = av_frame_alloc()) || !(r->rgb_frame = av_frame_alloc())))
        return bad_alloc(r, why);
    switch (r->mode) {
    case MODE_FPS:
        return next_fps(r, f, why);
    case MODE_UNIFORM:
        return next_uniform(r, f, why);
    default:
        return next_all(r, f, why);
    }
}

void mer_video_close(mer_video_reader *r)
{
    if (!r)
        return;
    close_decoder(r);
    av_frame_free(&r->q[0]);
    av_frame_free(&r->q[1]);
    av_frame_free(&r->rot);
    av_frame_free(&r->rgb_frame);
    sws_freeContext(r->sws);
    free(r->rgb);
    free(r->rgb_tmp);
    free(r->path);
    free(r);
}

static char versions[192];

static void versions_once(void)
{
    unsigned f = avformat_version(), c = avcodec_version(), s = swscale_version();
    snprintf(versions, sizeof(versions),
             "libavformat %u.%u.%u, libavcodec %u.%u.%u, libswscale %u.%u.%u", f >> 16,
             (f >> 8) & 0xff, f & 0xff, c >> 16, (c >> 8) & 0xff, c & 0xff, s >> 16,
             (s >> 8) & 0xff, s & 0xff);
}

const char *mer_video_versions(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, versions_once);
    return versions;
}
