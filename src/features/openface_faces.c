/* Face frames from MERTools' .npy stacks and OpenFace's BMP crops, one frame at a time. */
#include "mer/openface.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/npy.h"
#include "mer/strv.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Far above any face crop (OpenFace's are 112 x 112), low enough that w * h * 3 stays small. */
#define MAX_SIDE 16384

struct mer_faces {
    char *path;
    int npy_rgb;
    int64_t count, next;
    int w, h;       /* every frame's size (BMP: the first frame's, once it is read) */
    uint8_t *frame; /* [h][w][3], the frame handed out */
    /* a .npy stack: the file mapped, frames read from it and released page by page */
    const uint8_t *map;
    size_t map_size, data_offset;
    /* a BMP directory: the files in natural order */
    struct mer_strv files;
};

/* ---- .npy stacks ---- */

static void shape_text(const struct mer_npy_header *h, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < h->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)h->shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

static int check_stack(const char *path, const struct mer_npy_header *h)
{
    char shape[160];
    if (h->numel == 0)
        return 0; /* no face found: MERTools saves np.save(path, []), a float64 [0]; T = 0 */
    shape_text(h, shape, sizeof(shape));
    if (h->kind != 'u' || h->item_size != 1)
        return mer_error("'%s': dtype '%s' (shape %s), expected [T, H, W, 3] uint8", path, h->descr,
                         shape);
    if (h->ndim != 4 || h->shape[3] != 3)
        return mer_error("'%s': shape %s, expected [T, H, W, 3] uint8", path, shape);
    if (h->fortran_order)
        return mer_error("'%s': Fortran order, expected a C-order [T, H, W, 3] uint8 stack", path);
    if (h->shape[1] > MAX_SIDE || h->shape[2] > MAX_SIDE)
        return mer_error("'%s': frames of %lld x %lld pixels, expected at most %d a side", path,
                         (long long)h->shape[2], (long long)h->shape[1], MAX_SIDE);
    return 0;
}

static int open_npy(struct mer_faces *f)
{
    struct mer_npy_header h;
    struct stat st;
    void *map;
    int fd = mer_open_regular(f->path), ret = -1;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || st.st_size < 16) {
        mer_error("'%s': byte 0: not a .npy file (%lld bytes)", f->path, (long long)st.st_size);
        goto done;
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        mer_error("'%s': cannot map the file", f->path);
        goto done;
    }
    f->map = map;
    f->map_size = (size_t)st.st_size;
    if (mer_npy_parse(f->path, f->map, f->map_size, &h) < 0 || check_stack(f->path, &h) < 0)
        goto done;
    f->count = h.numel ? h.shape[0] : 0;
    f->h = f->count ? (int)h.shape[1] : 0;
    f->w = f->count ? (int)h.shape[2] : 0;
    f->data_offset = h.data_offset;
    ret = 0;
done:
    close(fd);
    return ret;
}

/* Copies frame t out of the map (B, G, R swapped unless the stack is RGB), then gives the
 * frame's whole pages back, so a long stack never stays resident. */
static void next_npy(struct mer_faces *f)
{
    size_t bytes = (size_t)f->w * (size_t)f->h * 3;
    size_t at = f->data_offset + (size_t)f->next * bytes;
    const uint8_t *src = f->map + at;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), lo, hi;
    if (f->npy_rgb) {
        memcpy(f->frame, src, bytes);
    } else {
        for (size_t i = 0; i < bytes; i += 3) {
            f->frame[i] = src[i + 2];
            f->frame[i + 1] = src[i + 1];
            f->frame[i + 2] = src[i];
        }
    }
    lo = at / page * page;
    hi = (at + bytes) / page * page;
    if (hi > lo)
        madvise((void *)(f->map + lo), hi - lo, MADV_DONTNEED);
}

/* ---- BMP crops ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* The pixel array of a 24-bit BI_RGB BMP: where it starts, its size, its row order. */
struct bmp_layout {
    size_t offset, stride;
    int w, h, top_down;
};

static int parse_bmp(const char *path, const uint8_t *b, size_t size, struct bmp_layout *l)
{
    uint32_t info, compression;
    int32_t w, h;
    uint16_t bits;
    if (size < 2 || b[0] != 'B' || b[1] != 'M')
        return mer_error("'%s': byte 0: not a BMP file (expected 'BM')", path);
    if (size < 54)
        return mer_error("'%s': truncated BMP header (%zu bytes)", path, size);
    info = le32(b + 14);
    if (info < 40 || info > size - 14)
        return mer_error("'%s': byte 14: unsupported BMP info header of %u bytes (expected "
                         "BITMAPINFOHEADER or later)",
                         path, info);
    w = (int32_t)le32(b + 18); /* two's complement: a negative height means top-down */
    h = (int32_t)le32(b + 22);
    bits = le16(b + 28);
    compression = le32(b + 30);
    if (bits != 24 || compression != 0)
        return mer_error("'%s': %u bits per pixel, compression %u: expected a 24-bit uncompressed "
                         "BMP (as OpenFace writes)",
                         path, bits, compression);
    if (w < 1 || w > MAX_SIDE || h == 0 || h < -MAX_SIDE || h > MAX_SIDE)
        return mer_error("'%s': %d x %d pixels, expected 1 to %d a side", path, w, h, MAX_SIDE);
    l->w = w;
    l->h = h < 0 ? -h : h;
    l->top_down = h < 0;
    l->stride = ((size_t)w * 3 + 3) / 4 * 4;
    l->offset = le32(b + 10);
    if (l->offset < 14 + info || l->offset > size || size - l->offset < l->stride * (size_t)l->h)
        return mer_error("'%s': truncated: %zu bytes of pixels from byte %zu, the file has %zu",
                         path, l->stride * (size_t)l->h, l->offset, size);
    return 0;
}

/* Decodes one BMP into f->frame (allocated at the first frame, whose size every one keeps). */
static int read_bmp(struct mer_faces *f, const char *path)
{
    struct bmp_layout l = {0};
    char *buf = NULL;
    size_t size;
    int ret = -1;
    if (mer_read_file(path, &buf, &size) < 0 || parse_bmp(path, (uint8_t *)buf, size, &l) < 0)
        goto done;
    if (!f->frame) {
        f->w = l.w;
        f->h = l.h;
        if (!(f->frame = malloc((size_t)l.w * (size_t)l.h * 3))) {
            mer_error("'%s': out of memory", path);
            goto done;
        }
    } else if (l.w != f->w || l.h != f->h) {
        mer_error("'%s': %d x %d pixels, the clip's first frame has %d x %d", path, l.w, l.h, f->w,
                  f->h);
        goto done;
    }
    for (int y = 0; y < l.h; y++) {
        const uint8_t *src =
            (uint8_t *)buf + l.offset + (size_t)(l.top_down ? y : l.h - 1 - y) * l.stride;
        uint8_t *dst = f->frame + (size_t)y * (size_t)l.w * 3;
        for (int x = 0; x < l.w; x++) {
            dst[3 * x] = src[3 * x + 2];
            dst[3 * x + 1] = src[3 * x + 1];
            dst[3 * x + 2] = src[3 * x];
        }
    }
    ret = 0;
done:
    free(buf);
    return ret;
}

/* Natural order: runs of digits compare as numbers (frame_det_00_000010 after _000009, and
 * after _9 when a writer did not pad), everything else byte by byte. */
static int natural_compare(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            const char *ea = a, *eb = b;
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            for (ea = a; *ea >= '0' && *ea <= '9'; ea++)
                ;
            for (eb = b; *eb >= '0' && *eb <= '9'; eb++)
                ;
            if (ea - a != eb - b)
                return ea - a < eb - b ? -1 : 1;
            for (; a < ea; a++, b++)
                if (*a != *b)
                    return *a < *b ? -1 : 1;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int compare_names(const void *x, const void *y)
{
    int c = natural_compare(*(char *const *)x, *(char *const *)y);
    return c ? c : strcmp(*(char *const *)x, *(char *const *)y);
}

static int is_bmp_name(const char *s)
{
    size_t n = strlen(s);
    return n > 4 && s[0] != '.' && !strcasecmp(s + n - 4, ".bmp");
}

static int open_bmp_dir(struct mer_faces *f)
{
    struct dirent *e;
    DIR *d = opendir(f->path);
    int ret = -1;
    if (!d)
        return mer_error("'%s': cannot open the directory", f->path);
    while ((e = readdir(d)))
        if (is_bmp_name(e->d_name) && mer_strv_push(&f->files, e->d_name, strlen(e->d_name)) < 0)
            goto done;
    if (f->files.n)
        qsort(f->files.v, f->files.n, sizeof(char *), compare_names);
    f->count = (int64_t)f->files.n;
    ret = 0;
done:
    closedir(d);
    return ret;
}

/* The last run of digits in a name, or fallback. */
static int64_t frame_number(const char *name, int64_t fallback)
{
    const char *p = name + strlen(name), *end = NULL;
    int64_t v = 0;
    while (p > name && !end) {
        p--;
        if (*p >= '0' && *p <= '9')
            end = p + 1;
    }
    if (!end)
        return fallback;
    while (p > name && p[-1] >= '0' && p[-1] <= '9')
        p--;
    for (; p < end && v < INT64_MAX / 10 - 9; p++)
        v = v * 10 + (*p - '0');
    return v;
}

/* ---- the handle ---- */

int mer_faces_open(mer_faces **out, const char *path, const struct mer_faces_params *params)
{
    struct mer_faces *f = calloc(1, sizeof(*f));
    int is_dir = mer_is_dir(path);
    *out = NULL;
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return mer_error("'%s': out of memory", path);
    }
    f->npy_rgb = params ? params->npy_rgb : 0;
    if (is_dir ? open_bmp_dir(f) < 0 : open_npy(f) < 0)
        goto fail;
    if (!is_dir && f->count > 0 && !(f->frame = malloc((size_t)f->w * (size_t)f->h * 3))) {
        mer_error("'%s': out of memory", path);
        goto fail;
    }
    *out = f;
    return 0;
fail:
    mer_faces_close(f);
    return -1;
}

int64_t mer_faces_count(const mer_faces *f)
{
    return f->count;
}

int mer_faces_next(mer_faces *f, struct mer_face_frame *fr)
{
    if (f->next >= f->count)
        return 0;
    if (f->map) {
        next_npy(f);
        fr->number = f->next + 1;
    } else {
        char *file = mer_path_join(f->path, f->files.v[f->next]);
        int r = file ? read_bmp(f, file) : mer_error("'%s': out of memory", f->path);
        free(file);
        if (r < 0)
            return -1;
        fr->number = frame_number(f->files.v[f->next], f->next + 1);
    }
    fr->rgb = f->frame;
    fr->w = f->w;
    fr->h = f->h;
    fr->index = f->next++;
    return 1;
}

void mer_faces_close(mer_faces *f)
{
    if (!f)
        return;
    if (f->map)
        munmap((void *)f->map, f->map_size);
    mer_strv_release(&f->files);
    free(f->frame);
    free(f->path);
    free(f);
}

/* 1 and *path if candidate exists (a directory when dir is set, else a file), else 0. */
static int try_path(char **path, char *candidate, int dir)
{
    if (!candidate)
        return mer_error("out of memory");
    if (dir ? mer_is_dir(candidate) : mer_path_exists(candidate) && !mer_is_dir(candidate)) {
        *path = candidate;
        return 1;
    }
    free(candidate);
    return 0;
}

int mer_faces_find(char **path, const char *dir, const char *name)
{
    int r;
    *path = NULL;
    if ((r = try_path(path, mer_strfmt("%s/%s/%s.npy", dir, name, name), 0)) ||
        (r = try_path(path, mer_strfmt("%s/%s.npy", dir, name), 0)) ||
        (r = try_path(path, mer_strfmt("%s/%s_aligned", dir, name), 1)))
        return r;
    return try_path(path, mer_strfmt("%s/%s/%s_aligned", dir, name, name), 1);
}

int mer_openface_find_csv(char **path, const char *dir, const char *name)
{
    int r;
    *path = NULL;
    if ((r = try_path(path, mer_strfmt("%s/%s.csv", dir, name), 0)))
        return r;
    return try_path(path, mer_strfmt("%s/%s/%s.csv", dir, name, name), 0);
}
