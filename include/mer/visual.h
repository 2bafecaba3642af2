/*
 * visual.h: built-in visual features that need no model: HOG over the grayscale frame resized to
 * a fixed size, colour moments and frame-difference motion energy, per frame and pooled per clip.
 * Numerically as python3-skimage 0.19 computes them:
 *
 *     gray  = skimage.color.rgb2gray(frame)             # 0.2125 R + 0.7154 G + 0.0721 B, in [0, 1]
 *     small = skimage.transform.resize(gray, resize)    # defaults: bilinear, Gaussian anti-alias
 *     hog   = skimage.feature.hog(small, orientations, pixels_per_cell, cells_per_block,
 *                                 block_norm, transform_sqrt=..., feature_vector=True)
 *
 * Per frame the row is [hog (mer_visual_hog_dim), colour moments (9: mean, std, skewness of R,
 * G, B in [0, 1] over every pixel of the frame), motion (1: mean |small_t - small_t-1| over the
 * resized grayscale, 0 for a clip's first frame)]. Per clip: the mean and the standard deviation
 * over the frames of the HOG and of the colour moments, then the mean, standard deviation and
 * maximum of the motion over the frame pairs (0 with one frame). Every standard deviation is
 * the population one (ddof 0); skewness is the Fisher-Pearson one (scipy.stats.skew, bias=True),
 * 0 for a constant channel. A group can be left out (options hog, colour, motion).
 *
 *     struct mer_visual_opts o;
 *     mer_visual_defaults(&o);
 *     if (mer_visual_set(&o, "orientations", "12") < 0) ...;  // mer_errmsg() names the option
 *     mer_visual *v;
 *     if (mer_visual_open(&v, &o) < 0) ...;                   // checks the sizes fit
 *     mer_visual_clip *c;                                     // one per clip in flight
 *     if (mer_visual_clip_new(&c, v) < 0) ...;
 *     for each frame: mer_visual_clip_push(c, rgb, w, h, frame_row_or_NULL);
 *     float *row = malloc(mer_visual_clip_dim(v) * sizeof(float));
 *     mer_visual_clip_pooled(c, row);                         // -1 if no frame was pushed
 *     mer_visual_clip_reset(c);                               // the next clip, same buffers
 *     mer_visual_clip_free(c);
 *     mer_visual_close(v);
 *
 * Agreement (tests/unit/test_visual.c): gray, resize and colour moments within 2.2e-16 and 1e-14
 * of skimage/scipy, HOG on the same array bit for bit. HOG is discontinuous at a bin edge (on a
 * vertical edge the row gradient is rounding noise: 0 or 179.99.. degrees), so the 1-ulp
 * differences of numpy's own rounding (its BLAS rgb2gray, its SIMD exp and arctan2 on AVX-512)
 * can move such a pixel to the neighbouring bin: up to 3e-3 in a row from raw frames.
 *
 * A plan is read-only after mer_visual_open: any number of threads may share one, each with its
 * own mer_visual_clip. Frames are packed RGB24, rgb[h][w][3], any size from 1x1 up; frames of
 * one clip may differ in size (face crops).
 */
#ifndef MER_VISUAL_H
#define MER_VISUAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum mer_visual_block_norm {
    MER_VISUAL_NORM_L1,
    MER_VISUAL_NORM_L1_SQRT,
    MER_VISUAL_NORM_L2,
    MER_VISUAL_NORM_L2_HYS,
};

/* Plain data; fill with mer_visual_defaults, change with mer_visual_set (or directly). The HOG
 * names and meanings are skimage.feature.hog's; pairs are (rows, cols). */
struct mer_visual_opts {
    int resize[2];          /* 64,64: the grayscale frame is resized to this before HOG */
    int anti_aliasing;      /* true: Gaussian pre-filter when shrinking (skimage's default) */
    int orientations;       /* 9 */
    int pixels_per_cell[2]; /* 8,8 */
    int cells_per_block[2]; /* 2,2 (skimage 0.19's default is 3,3) */
    enum mer_visual_block_norm block_norm; /* L2-Hys */
    int transform_sqrt;                    /* false */
    int feature_vector;                    /* true; false gives the same numbers (see docs) */
    int hog, colour, motion;               /* the groups in a row: all true */
};

void mer_visual_defaults(struct mer_visual_opts *o);

/* Sets one option from text: name with '_' or '-'; booleans true|false|1|0; pairs "8,8" or "8"
 * (both); block_norm L1|L1-sqrt|L2|L2-Hys. -1 with an error naming the option and the allowed
 * values; o is unchanged then. */
int mer_visual_set(struct mer_visual_opts *o, const char *name, const char *value);

/* Every option with its value, as a new JSON object (pairs as 2-element arrays); NULL if out of
 * memory. The caller owns it (cJSON_Delete). */
cJSON *mer_visual_opts_json(const struct mer_visual_opts *o);

/* The option table, for help text and docs: entries 0 .. mer_visual_option_count() - 1. */
struct mer_visual_option_info {
    const char *name, *type, *def, *range, *help;
};
size_t mer_visual_option_count(void);
const struct mer_visual_option_info *mer_visual_option(size_t i);

typedef struct mer_visual mer_visual;

/* A plan for opts (copied): sizes checked (the resized frame must hold one block of cells), the
 * column names built. Free with mer_visual_close (NULL is fine). */
int mer_visual_open(mer_visual **out, const struct mer_visual_opts *opts);
void mer_visual_close(mer_visual *v);

const struct mer_visual_opts *mer_visual_opts_of(const mer_visual *v);
size_t mer_visual_hog_dim(const mer_visual *v);   /* 0 when hog is off */
size_t mer_visual_frame_dim(const mer_visual *v); /* columns of a per-frame row */
size_t mer_visual_clip_dim(const mer_visual *v);  /* columns of a pooled row */
/* Column j's name (borrowed from the plan): "hog_b0_0_c1_0_o3" (block row, col; cell in the
 * block; orientation), "colour_r_mean" .. "colour_b_skew", "motion"; pooled: the frame name with
 * "_mean" or "_std", and "motion_mean", "motion_std", "motion_max". NULL past the end. */
const char *mer_visual_frame_name(const mer_visual *v, size_t j);
const char *mer_visual_clip_name(const mer_visual *v, size_t j);

typedef struct mer_visual_clip mer_visual_clip;

/* Per-clip state over plan v (borrowed; must outlive it). Free with mer_visual_clip_free. */
int mer_visual_clip_new(mer_visual_clip **out, const mer_visual *v);
void mer_visual_clip_free(mer_visual_clip *c);
/* Forgets the frames (the next clip); keeps the buffers. */
void mer_visual_clip_reset(mer_visual_clip *c);
/* One frame: its features are pooled, and written to frame_row[frame_dim] unless NULL. -1 with
 * an error for a zero or absurd size (more than 2^31 pixels) or no memory. */
int mer_visual_clip_push(mer_visual_clip *c, const uint8_t *rgb, size_t width, size_t height,
                         float *frame_row);
size_t mer_visual_clip_frames(const mer_visual_clip *c);
/* The pooled row[clip_dim] of the frames pushed since the last reset; -1 if there were none. */
int mer_visual_clip_pooled(const mer_visual_clip *c, float *row);

/* The steps, for tests and other callers (face stacks). None keeps state between calls. */

/* skimage.color.rgb2gray of uint8 RGB: gray[h * w] in [0, 1]. */
void mer_visual_gray(const uint8_t *rgb, size_t width, size_t height, double *gray);

/* skimage.transform.resize(src, (out_rows, out_cols)) with its defaults (order 1, mode
 * 'reflect', clip, and anti_aliasing when shrinking: Gaussian sigma (factor - 1) / 2 per axis,
 * truncated at 4 sigma, scipy.ndimage 'mirror' edges), or anti_aliasing = 0 for none. -1 with an
 * error on a zero size or no memory. */
int mer_visual_resize(const double *src, size_t rows, size_t cols, double *dst, size_t out_rows,
                      size_t out_cols, int anti_aliasing);

/* The length of skimage.feature.hog's vector for an image of rows x cols with o's HOG options;
 * 0 if the image holds no block. */
size_t mer_visual_hog_size(const struct mer_visual_opts *o, size_t rows, size_t cols);
/* skimage.feature.hog(img, ...) with o's HOG options: out[mer_visual_hog_size] in the order of
 * its (n_blocks_row, n_blocks_col, b_row, b_col, orientations) array. -1 with an error if the
 * image holds no block, a pixel is negative under transform_sqrt, or out of memory. */
int mer_visual_hog(const struct mer_visual_opts *o, const double *img, size_t rows, size_t cols,
                   double *out);

/* Mean, std, skewness of R, G, B (values / 255) over every pixel: out[9] = r_mean, r_std,
 * r_skew, g_mean, ... */
void mer_visual_colour_moments(const uint8_t *rgb, size_t width, size_t height, double out[9]);

#endif
