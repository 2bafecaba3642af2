/* Private to the visual features: the resize plan (skimage.transform.resize as the sparse
 * evaluation of scipy's Gaussian filter and zoom) and the HOG kernel with its scratch. */
#ifndef MER_VISUAL_IMPL_H
#define MER_VISUAL_IMPL_H

#include "mer/visual.h"

#include <stddef.h>
#include <stdint.h>

/* One axis of a resize: the Gaussian kernel (radius 0 and kernel NULL: no filter) and, per
 * output sample, the two input samples it interpolates (as positions in need[], the distinct
 * input indices read, ascending) and their weights. */
struct visual_axis {
    size_t in, out, radius;
    double *kernel;    /* [2 * radius + 1], centred */
    size_t nneed;      /* distinct input samples read */
    size_t *need;      /* [nneed] */
    size_t *at0, *at1; /* [out]: positions in need[] */
    double *w0, *w1;   /* [out] */
};

/* Reads source row r (cols values); the pointer is valid until rows of another window are read
 * (a source keeps at least the 2 * radius + 1 rows of one window). */
typedef const double *(*visual_row_fn)(void *ctx, size_t r);

struct visual_resize {
    struct visual_axis rows, cols;
    double *v; /* [rows.nneed * cols.in]: the row filter at the needed rows */
    double *h; /* [rows.nneed * cols.nneed]: both filters at the needed samples */
};

/* A plan for in_rows x in_cols -> out_rows x out_cols (release with visual_resize_release). */
int visual_resize_init(struct visual_resize *z, size_t in_rows, size_t in_cols, size_t out_rows,
                       size_t out_cols, int anti_aliasing);
void visual_resize_release(struct visual_resize *z);
/* dst[out_rows * out_cols], clipped to [lo, hi] (the source's range, as skimage clips). */
void visual_resize_run(struct visual_resize *z, visual_row_fn row, void *ctx, double lo, double hi,
                       double *dst);

/* The gray value of one RGB24 pixel, as mer_visual_gray computes it; visual_gray_init first
 * (once per process; thread-safe). */
extern double visual_gray_lut[3][256];
void visual_gray_init(void);
static inline double visual_gray_pixel(const uint8_t *px)
{
    return visual_gray_lut[0][px[0]] + visual_gray_lut[1][px[1]] + visual_gray_lut[2][px[2]];
}

/* The colour moments from per-channel histograms of n pixels. */
void visual_colour_from_counts(uint64_t count[3][256], size_t n, double out[9]);

/* The doubles of scratch visual_hog_run needs for rows x cols. */
size_t visual_hog_scratch(const struct mer_visual_opts *o, size_t rows, size_t cols);
/* mer_visual_hog with caller scratch; img is checked by the caller. */
void visual_hog_run(const struct mer_visual_opts *o, const double *img, size_t rows, size_t cols,
                    double *scratch, double *out);

#endif
