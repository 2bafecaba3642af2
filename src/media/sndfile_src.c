/* libsndfile as a source of float frames: WAV and FLAC through one call per chunk. */
#include "media/sndfile_src.h"

#include "mer/error.h"
#include "mer/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

struct mer_sf_src {
    SNDFILE *sf;
    int fd;
    const char *path; /* borrowed from the reader */
    long long left;   /* frames the header promises that are not read yet */
};

/* FFmpeg's codec names for what libsndfile decodes, so that info.codec is one vocabulary. */
static const char *codec_name(int format)
{
    static const struct {
        int sub;
        const char *name;
    } names[] = {
        {SF_FORMAT_PCM_U8, "pcm_u8"},    {SF_FORMAT_PCM_S8, "pcm_s8"},
        {SF_FORMAT_PCM_16, "pcm_s16le"}, {SF_FORMAT_PCM_24, "pcm_s24le"},
        {SF_FORMAT_PCM_32, "pcm_s32le"}, {SF_FORMAT_FLOAT, "pcm_f32le"},
        {SF_FORMAT_DOUBLE, "pcm_f64le"}, {SF_FORMAT_VORBIS, "vorbis"},
        {SF_FORMAT_OPUS, "opus"},
    };
    int sub = format & SF_FORMAT_SUBMASK;
    if ((format & SF_FORMAT_TYPEMASK) == SF_FORMAT_FLAC)
        return "flac";
    for (size_t i = 0; i < MER_ARRAY_SIZE(names); i++)
        if (names[i].sub == sub)
            return names[i].name;
    return "unknown";
}

static unsigned le16(const unsigned char *p)
{
    return p[0] | (unsigned)p[1] << 8;
}

static unsigned long le32(const unsigned char *p)
{
    return le16(p) | (unsigned long)le16(p + 2) << 16;
}

/* 1 for what mer gives libsndfile: FLAC, and a plain WAV of integer or float PCM whose
 * chunks all lie inside the file. Anything else goes to FFmpeg: MPEG audio above all, which
 * libsndfile hands to libmpg123, and that prints to stderr; and a WAV whose data size is
 * 0xffffffff (as a WAV written to a pipe has), on which libsndfile 1.2.0 never returns. */
static int is_flac_or_pcm_wav(int fd, long long file_size)
{
    unsigned char h[4096];
    ssize_t n = pread(fd, h, sizeof(h), 0);
    size_t at = 12;
    int fmt_ok = 0;
    if (n >= 4 && !memcmp(h, "fLaC", 4))
        return 1;
    if (n < 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4) ||
        (long long)le32(h + 4) + 8 > file_size)
        return 0;
    while (at + 8 <= (size_t)n) {
        unsigned long size = le32(h + at + 4);
        if ((long long)at + 8 + (long long)size > file_size)
            return 0;
        if (!memcmp(h + at, "data", 4))
            return fmt_ok;
        if (!memcmp(h + at, "fmt ", 4)) {
            unsigned tag, channels;
            if (at + 8 + 40 > (size_t)n || size < 16)
                return 0;
            tag = le16(h + at + 8);
            channels = le16(h + at + 10);
            if (tag == 0xfffe) /* WAVE_FORMAT_EXTENSIBLE: the tag opens the sub-format GUID */
                tag = size >= 40 ? le16(h + at + 8 + 24) : 0;
            fmt_ok = (tag == 1 || tag == 3) && channels >= 1 && channels <= 2;
        }
        at += 8 + size + (size & 1);
    }
    return 0;
}

int mer_sf_open(struct mer_sf_src **out, const char *path, struct mer_sf_props *props,
                enum mer_media_fail *why)
{
    SF_INFO info;
    struct stat st;
    struct mer_sf_src *s;
    int fd = mer_open_regular(path);
    *out = NULL;
    if (fd < 0) {
        *why = MER_MEDIA_CANNOT_OPEN;
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        *why = MER_MEDIA_CANNOT_OPEN;
        mer_error("'%s': cannot stat: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        close(fd);
        *why = MER_MEDIA_EMPTY;
        return mer_error("'%s': empty file", path);
    }
    if (!is_flac_or_pcm_wav(fd, (long long)st.st_size)) {
        close(fd);
        return 0;
    }
    memset(&info, 0, sizeof(info));
    s = calloc(1, sizeof(*s));
    if (!s || !(s->sf = sf_open_fd(fd, SFM_READ, &info, SF_FALSE)) || info.channels <= 0 ||
        info.samplerate <= 0 || info.frames < 0) {
        if (s && s->sf)
            sf_close(s->sf);
        free(s);
        close(fd);
        return 0;
    }
    s->fd = fd;
    s->path = path;
    s->left = info.frames;
    props->rate = info.samplerate;
    props->channels = info.channels;
    props->frames = info.frames;
    props->codec = codec_name(info.format);
    *out = s;
    return 1;
}

long mer_sf_read(struct mer_sf_src *s, float *buf, size_t cap, enum mer_media_fail *why)
{
    sf_count_t n;
    if (s->left <= 0)
        return 0;
    if ((long long)cap > s->left)
        cap = (size_t)s->left;
    n = sf_readf_float(s->sf, buf, (sf_count_t)cap);
    if (n < 0 || (n < (sf_count_t)cap && sf_error(s->sf) != SF_ERR_NO_ERROR)) {
        *why = MER_MEDIA_DECODE_ERROR;
        return mer_error("'%s': decoder error (libsndfile: %s)", s->path, sf_strerror(s->sf));
    }
    /* A header that promised more than the file holds: what is there is the clip. */
    s->left = n == 0 ? 0 : s->left - n;
    return (long)n;
}

void mer_sf_close(struct mer_sf_src *s)
{
    if (!s)
        return;
    sf_close(s->sf);
    close(s->fd);
    free(s);
}

const char *mer_sf_version(void)
{
    return sf_version_string();
}
