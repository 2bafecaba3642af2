/*
 * Frame preprocessing (include/mer/image.h): resize as PIL's Image.resize on 8-bit RGB
 * (libImaging/Resample.c: separable passes, horizontal first, 22-bit fixed-point weights,
 * each pass rounded and clamped to a byte), torchvision's centre crop, ToTensor and Normalize.
 * Only the output pixels inside the crop are computed: a pixel of PIL's result depends only on
 * its own row's and column's weights, so the crop of the full resize is the same bytes.
 *
 * H x W = the frame, RH x RW = the resized frame, OH x OW = the output; a "window" is the range
 * of resized rows or columns the output covers.
 */
#include "mer/error.h"
#include "mer/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2) /* PIL's fixed-point weights for 8-bit images */
#define MAX_SIDE       65536
#define MAX_RESIZED    (1 << 24)

/* The resampling filters of PIL (Resample.c), support in input pixels at scale 1. */
static double bilinear(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double bicubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* One axis of a resize: for each output index of [first, first + n), the input span
 * [lo, lo + len) and its fixed-point weights k[i * ksize ..]. */
struct axis {
    int ksize, n;
    int *lo, *len;
    int32_t *k;
};

static void axis_release(struct axis *a)
{
    free(a->lo);
    free(a->len);
    free(a->k);
}

/* PIL's precompute_coeffs + normalize_coeffs_8bpc for in_size -> out_size, restricted to the
 * output indexes [first, first + n). */
static int axis_init(struct axis *a, enum mer_image_interp interp, int in_size, int out_size,
                     int first, int n)
{
    double (*filter)(double) = interp == MER_IMAGE_BILINEAR ? bilinear : bicubic;
    double scale = (double)((float)in_size - 0.0f) / out_size, filterscale = scale;
    double support, *w;
    memset(a, 0, sizeof(*a));
    if (filterscale < 1.0)
        filterscale = 1.0;
    support = (interp == MER_IMAGE_BILINEAR ? 1.0 : 2.0) * filterscale;
    a->ksize = (int)ceil(support) * 2 + 1;
    a->n = n;
    a->lo = malloc((size_t)n * sizeof(int));
    a->len = malloc((size_t)n * sizeof(int));
    a->k = calloc((size_t)n * (size_t)a->ksize, sizeof(int32_t));
    w = malloc((size_t)a->ksize * sizeof(double));
    if (!a->lo || !a->len || !a->k || !w) {
        free(w);
        axis_release(a);
        return mer_error("out of memory");
    }
    for (int i = 0; i < n; i++) {
        double center = ((first + i) + 0.5) * scale, sum = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0)
            xmin = 0;
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++)
            sum += w[x] = filter((x + xmin - center + 0.5) * ss);
        for (int x = 0; x < xmax; x++) {
            double v = sum != 0.0 ? w[x] / sum : w[x];
            a->k[(size_t)i * a->ksize + x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS)
                                                             : 0.5 + v * (1 << PRECISION_BITS));
        }
        a->lo[i] = xmin;
        a->len[i] = xmax;
    }
    free(w);
    return 0;
}

static uint8_t clip8(int32_t ss)
{
    int32_t v = ss >> PRECISION_BITS; /* arithmetic shift, as PIL's clip8 lookup */
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* dst[r][i][3] = the horizontal pass over src rows (stride W pixels), for n_rows rows. */
static void pass_horizontal(const struct axis *a, const uint8_t *src, int W, int n_rows,
                            uint8_t *dst)
{
    for (int r = 0; r < n_rows; r++) {
        const uint8_t *row = src + (size_t)r * W * 3;
        for (int i = 0; i < a->n; i++) {
            const int32_t *k = a->k + (size_t)i * a->ksize;
            const uint8_t *p = row + (size_t)a->lo[i] * 3;
            int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < a->len[i]; x++) {
                s0 += p[3 * x + 0] * k[x];
                s1 += p[3 * x + 1] * k[x];
                s2 += p[3 * x + 2] * k[x];
            }
            uint8_t *o = dst + ((size_t)r * a->n + i) * 3;
            o[0] = clip8(s0);
            o[1] = clip8(s1);
            o[2] = clip8(s2);
        }
    }
}

/* dst[i][x][3] = the vertical pass over src (rows of n_cols pixels, row 0 = input row base),
 * a whole output row at a time (acc[3 * n_cols]): the rows are read in order. */
static void pass_vertical(const struct axis *a, const uint8_t *src, int n_cols, int base,
                          int32_t *acc, uint8_t *dst)
{
    size_t n = (size_t)n_cols * 3;
    for (int i = 0; i < a->n; i++) {
        const int32_t *k = a->k + (size_t)i * a->ksize;
        const uint8_t *row = src + (size_t)(a->lo[i] - base) * n;
        for (size_t c = 0; c < n; c++)
            acc[c] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < a->len[i]; y++, row += n)
            for (size_t c = 0; c < n; c++)
                acc[c] += row[c] * k[y];
        for (size_t c = 0; c < n; c++)
            dst[(size_t)i * n + c] = clip8(acc[c]);
    }
}

/* torchvision's _compute_resized_output_size for an int size: the shorter side to S. */
static void resized_size(const struct mer_image_opts *o, int h, int w, int *rh, int *rw)
{
    *rh = h;
    *rw = w;
    if (o->resize <= 0)
        return;
    if (w <= h) {
        *rw = o->resize;
        *rh = (int)((double)o->resize * h / w);
    } else {
        *rh = o->resize;
        *rw = (int)((double)o->resize * w / h);
    }
}

/* The output's first index in the resized axis of length n (negative: padded before), as
 * torchvision's center_crop: pad (C - n) // 2 before a short side, else round((n - C) / 2)
 * with Python's round, half to even (rint in the default rounding mode). */
static int crop_offset(int n, int c)
{
    if (c > n)
        return -((c - n) / 2);
    return (int)rint((n - c) / 2.0);
}

void mer_image_out_size(const struct mer_image_opts *o, int h, int w, int *oh, int *ow)
{
    resized_size(o, h, w, oh, ow);
    if (o->crop > 0)
        *oh = *ow = o->crop;
}

/* The part [*first, *first + *n) of a resized axis of length len that output offset off and
 * output length out cover. */
static void window(int len, int off, int out, int *first, int *n)
{
    int lo = off < 0 ? 0 : off, hi = off + out < len ? off + out : len;
    *first = lo;
    *n = hi > lo ? hi - lo : 0;
}

/* ToTensor + Normalize of the bytes win[ny][nx][3] placed at (py, px) in out[3][OH][OW]; the
 * rest (padding) is byte 0. Each channel's 256 values are computed once, in float32 as
 * torchvision computes them. */
static void to_tensor(const struct mer_image_opts *o, const uint8_t *win, int ny, int nx, int py,
                      int px, int OH, int OW, float *out)
{
    float lut[256];
    for (int c = 0; c < 3; c++) {
        float *plane = out + (size_t)c * OH * OW;
        for (int v = 0; v < 256; v++)
            lut[v] = ((o->rescale ? (float)v / 255.0f : (float)v) - o->mean[c]) / o->std[c];
        for (int y = 0; y < OH; y++) {
            int wy = y - py;
            for (int x = 0; x < OW; x++) {
                int wx = x - px;
                int inside = wy >= 0 && wy < ny && wx >= 0 && wx < nx;
                plane[(size_t)y * OW + x] = lut[inside ? win[((size_t)wy * nx + wx) * 3 + c] : 0];
            }
        }
    }
}

int mer_image_preprocess(const struct mer_image_opts *o, const uint8_t *rgb, int h, int w,
                         float *out)
{
    int RH, RW, OH, OW, offy = 0, offx = 0, y0, ny, x0, nx, ret = -1;
    struct axis ax = {0}, ay = {0};
    uint8_t *tmp = NULL, *win = NULL;
    int32_t *acc = NULL;
    const uint8_t *rows;
    int row_base, n_rows;
    if (h < 1 || w < 1 || h > MAX_SIDE || w > MAX_SIDE)
        return mer_error("image of %d x %d pixels (1 to %d each side)", h, w, MAX_SIDE);
    resized_size(o, h, w, &RH, &RW);
    if (RH > MAX_RESIZED || RW > MAX_RESIZED || RH < 1 || RW < 1)
        return mer_error("image of %d x %d pixels resizes to %d x %d (at most %d a side)", h, w, RH,
                         RW, MAX_RESIZED);
    mer_image_out_size(o, h, w, &OH, &OW);
    if (o->crop > 0) {
        offy = crop_offset(RH, OH);
        offx = crop_offset(RW, OW);
    }
    window(RH, offy, OH, &y0, &ny);
    window(RW, offx, OW, &x0, &nx);
    /* the input rows the vertical pass reads */
    if (RH != h) {
        if (axis_init(&ay, o->interp, h, RH, y0, ny) < 0)
            goto done;
        row_base = ay.lo[0];
        n_rows = ay.lo[ny - 1] + ay.len[ny - 1] - row_base;
    } else {
        row_base = y0;
        n_rows = ny;
    }
    rows = rgb + (size_t)row_base * w * 3;
    if (RW != w) {
        if (axis_init(&ax, o->interp, w, RW, x0, nx) < 0 ||
            !(tmp = malloc((size_t)n_rows * nx * 3))) {
            mer_error("out of memory");
            goto done;
        }
        pass_horizontal(&ax, rows, w, n_rows, tmp);
    } else {
        /* no horizontal pass: the window's columns as they are */
        if (!(tmp = malloc((size_t)n_rows * nx * 3))) {
            mer_error("out of memory");
            goto done;
        }
        for (int r = 0; r < n_rows; r++)
            memcpy(tmp + (size_t)r * nx * 3, rows + ((size_t)r * w + x0) * 3, (size_t)nx * 3);
    }
    if (RH != h) {
        if (!(win = malloc((size_t)ny * nx * 3)) ||
            !(acc = malloc((size_t)nx * 3 * sizeof(int32_t)))) {
            mer_error("out of memory");
            goto done;
        }
        pass_vertical(&ay, tmp, nx, row_base, acc, win);
    } else {
        win = tmp;
        tmp = NULL;
    }
    to_tensor(o, win, ny, nx, y0 - offy, x0 - offx, OH, OW, out);
    ret = 0;
done:
    axis_release(&ax);
    axis_release(&ay);
    free(tmp);
    free(win);
    free(acc);
    return ret;
}
