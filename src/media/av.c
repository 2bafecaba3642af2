/* What every FFmpeg reader shares: the silenced log, opening a clip, classifying failures. */
#include "media/av.h"

#include "mer/error.h"
#include "mer/fs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/avutil.h>
#include <libavutil/mem.h>

/* Each thread keeps the last line FFmpeg logged on it at error level (decoders run on the
 * caller's thread: mer opens them with one thread each). */
static _Thread_local char last_log[512];
static _Thread_local unsigned long corrupt_packets;

static void log_callback(void *avcl, int level, const char *fmt, va_list vl)
{
    size_t n;
    (void)avcl;
    /* The demuxer's warning for a packet it flagged corrupt: the flag itself is lost when a
     * parser re-cuts the stream (mp3 in avi), the warning is not. */
    if (level <= AV_LOG_WARNING && !strncmp(fmt, "Packet corrupt", 14))
        corrupt_packets++;
    if (level > AV_LOG_ERROR)
        return;
    vsnprintf(last_log, sizeof(last_log), fmt, vl);
    n = strlen(last_log);
    while (n > 0 && (last_log[n - 1] == '\n' || last_log[n - 1] == '\r'))
        last_log[--n] = '\0';
}

/* The largest single allocation FFmpeg may make for mer: far above what a clip needs (a
 * decoded 4K frame is 12 MB, an mp4's sample tables for hours a few MB), low enough that a
 * damaged header's sizes fail as an error instead of taking gigabytes. */
enum { AV_MAX_ALLOC = 256 << 20 };

static void init_once(void)
{
    av_max_alloc(AV_MAX_ALLOC);
    av_log_set_level(AV_LOG_QUIET);
    av_log_set_callback(log_callback);
}

void mer_av_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
}

const char *mer_av_last_log(void)
{
    return last_log;
}

unsigned long mer_av_corrupt_packets(void)
{
    return corrupt_packets;
}

void mer_av_clear_log(void)
{
    last_log[0] = '\0';
}

int mer_av_fail(enum mer_media_fail *why, enum mer_media_fail f, const char *path, int err,
                const char *what)
{
    char reason[AV_ERROR_MAX_STRING_SIZE] = "";
    const char *log = mer_av_last_log();
    if (why)
        *why = f;
    if (err < 0 && err != AVERROR_EOF)
        av_strerror(err, reason, sizeof(reason));
    if (*log && *reason)
        return mer_error("'%s': %s (%s: %s)", path, what, reason, log);
    if (*log || *reason)
        return mer_error("'%s': %s (%s)", path, what, *log ? log : reason);
    return mer_error("'%s': %s", path, what);
}

/* The AVIOContext's opaque: the clip's descriptor, its size, and whether a read reached its
 * end. */
struct av_file {
    int fd;
    int hit_eof;
    int probe_score; /* of the format probe: <= AVPROBE_SCORE_RETRY is a guess (the name) */
    long long size;
};

enum { AVIO_BUFFER = 1 << 15 };

static int file_read(void *opaque, uint8_t *buf, int size)
{
    struct av_file *f = opaque;
    ssize_t n;
    do
        n = read(f->fd, buf, (size_t)size);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return AVERROR(errno);
    if (n < size)
        f->hit_eof = 1;
    return n == 0 ? AVERROR_EOF : (int)n;
}

static int64_t file_seek(void *opaque, int64_t offset, int whence)
{
    struct av_file *f = opaque;
    off_t pos;
    if (whence & AVSEEK_SIZE)
        return f->size;
    pos = lseek(f->fd, (off_t)offset, whence & ~AVSEEK_FORCE);
    return pos < 0 ? AVERROR(errno) : (int64_t)pos;
}

/* A demuxer that wants another file (a playlist's entries, an external reference) gets none:
 * a clip is one file. */
static int refuse_io_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                          AVDictionary **options)
{
    (void)s, (void)pb, (void)url, (void)flags, (void)options;
    return AVERROR(EPERM);
}

static void free_avio(AVIOContext **pb)
{
    if (!*pb)
        return;
    if ((*pb)->opaque) {
        struct av_file *f = (*pb)->opaque;
        close(f->fd);
        av_free(f);
    }
    av_freep(&(*pb)->buffer);
    avio_context_free(pb);
}

static int open_avio(AVIOContext **out, const char *path, enum mer_media_fail *why)
{
    struct stat st;
    struct av_file *f = NULL;
    unsigned char *buf = NULL;
    int fd = mer_open_regular(path);
    if (fd < 0) {
        *why = MER_MEDIA_CANNOT_OPEN;
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        close(fd);
        *why = MER_MEDIA_CANNOT_OPEN;
        return mer_error("'%s': cannot stat: %s", path, strerror(errno));
    }
    if (st.st_size == 0) {
        close(fd);
        *why = MER_MEDIA_EMPTY;
        return mer_error("'%s': empty file", path);
    }
    f = av_mallocz(sizeof(*f));
    buf = av_malloc(AVIO_BUFFER);
    *out = f && buf ? avio_alloc_context(buf, AVIO_BUFFER, 0, f, file_read, NULL, file_seek) : NULL;
    if (!*out) {
        av_free(f);
        av_free(buf);
        close(fd);
        *why = MER_MEDIA_CANNOT_OPEN;
        return mer_error("'%s': out of memory", path);
    }
    f->fd = fd;
    f->size = (long long)st.st_size;
    return 0;
}

/* A container whose streams are neither audio nor video (subtitles, data) is not a clip. */
static int has_media_stream(const AVFormatContext *fmt)
{
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        enum AVMediaType t = fmt->streams[i]->codecpar->codec_type;
        if (t == AVMEDIA_TYPE_AUDIO || t == AVMEDIA_TYPE_VIDEO)
            return 1;
    }
    return 0;
}

int mer_av_open_input(AVFormatContext **out, const char *path, enum mer_media_fail *why)
{
    enum mer_media_fail dummy;
    AVIOContext *pb = NULL;
    AVFormatContext *fmt = NULL;
    const AVInputFormat *ifmt = NULL;
    int err, score;
    *out = NULL;
    why = why ? why : &dummy;
    mer_av_init();
    mer_av_clear_log();
    if (open_avio(&pb, path, why) < 0)
        return -1;
    score = av_probe_input_buffer2(pb, &ifmt, path, NULL, 0, 0);
    if (score < 0) {
        mer_av_fail(why, MER_MEDIA_NOT_MEDIA, path, 0, "not a media file");
        goto fail;
    }
    if (!(fmt = avformat_alloc_context())) {
        mer_av_fail(why, MER_MEDIA_CANNOT_OPEN, path, 0, "out of memory");
        goto fail;
    }
    fmt->pb = pb;
    fmt->io_open = refuse_io_open;
    if ((err = avformat_open_input(&fmt, path, ifmt, NULL)) < 0) {
        /* A header that ends early (an mp4 cut before its moov atom) is a truncation, unless
         * the format was only a guess from the file's name (a text file named .mp4); a header
         * the demuxer rejects within the file is not media. */
        struct av_file *f = pb->opaque;
        if (score > AVPROBE_SCORE_RETRY && (f->hit_eof || err == AVERROR_EOF))
            mer_av_fail(why, MER_MEDIA_TRUNCATED, path, err, "truncated");
        else
            mer_av_fail(why, MER_MEDIA_NOT_MEDIA, path, err, "not a media file");
        goto fail; /* avformat_open_input freed fmt */
    }
    /* As the ffmpeg CLI: a failure here is fatal only without any stream. */
    err = avformat_find_stream_info(fmt, NULL);
    if (!has_media_stream(fmt)) {
        mer_av_fail(why, MER_MEDIA_NOT_MEDIA, path, err < 0 ? err : 0,
                    "not a media file (no audio or video stream)");
        avformat_close_input(&fmt);
        goto fail;
    }
    mer_av_clear_log();
    *out = fmt;
    return 0;
fail:
    free_avio(&pb);
    return -1;
}

void mer_av_close_input(AVFormatContext **fmt)
{
    AVIOContext *pb;
    if (!fmt || !*fmt)
        return;
    pb = (*fmt)->pb;
    avformat_close_input(fmt);
    free_avio(&pb);
}

int mer_av_hit_eof(const AVFormatContext *fmt)
{
    const struct av_file *f = fmt->pb->opaque;
    return f->hit_eof;
}

long long mer_av_file_size(const AVFormatContext *fmt)
{
    const struct av_file *f = fmt->pb->opaque;
    return f->size;
}
