/* The visual features' plan (options, sizes, column names) and the per-clip accumulator: each
 * frame is converted to gray, resized, described (HOG, colour moments, motion) and pooled. */
#include "features/visual_impl.h"
#include "mer/error.h"
#include "mer/visual.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PIXELS (1ull << 31)

static const char *const colour_names[9] = {"colour_r_mean", "colour_r_std", "colour_r_skew",
                                            "colour_g_mean", "colour_g_std", "colour_g_skew",
                                            "colour_b_mean", "colour_b_std", "colour_b_skew"};

struct mer_visual {
    struct mer_visual_opts o;
    size_t hog_dim, colour_dim, motion_dim; /* per frame: D or 0, 9 or 0, 1 or 0 */
    char **frame_names, **clip_names;
};

const struct mer_visual_opts *mer_visual_opts_of(const mer_visual *v)
{
    return &v->o;
}

size_t mer_visual_hog_dim(const mer_visual *v)
{
    return v->hog_dim;
}

size_t mer_visual_frame_dim(const mer_visual *v)
{
    return v->hog_dim + v->colour_dim + v->motion_dim;
}

size_t mer_visual_clip_dim(const mer_visual *v)
{
    return 2 * (v->hog_dim + v->colour_dim) + 3 * v->motion_dim;
}

const char *mer_visual_frame_name(const mer_visual *v, size_t j)
{
    return j < mer_visual_frame_dim(v) ? v->frame_names[j] : NULL;
}

const char *mer_visual_clip_name(const mer_visual *v, size_t j)
{
    return j < mer_visual_clip_dim(v) ? v->clip_names[j] : NULL;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static char *name_with(const char *base, const char *suffix)
{
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", base, suffix);
    return s;
}

/* "hog_b<block row>_<block col>_c<cell row>_<cell col>_o<orientation>", in the order of
 * skimage's (n_blocks_row, n_blocks_col, b_row, b_col, orientations) array. */
static int hog_names(const mer_visual *v, char **out)
{
    const struct mer_visual_opts *o = &v->o;
    size_t nbr = (size_t)(o->resize[0] / o->pixels_per_cell[0] - o->cells_per_block[0] + 1);
    size_t nbc = (size_t)(o->resize[1] / o->pixels_per_cell[1] - o->cells_per_block[1] + 1);
    size_t k = 0;
    for (size_t a = 0; a < nbr; a++)
        for (size_t b = 0; b < nbc; b++)
            for (int c = 0; c < o->cells_per_block[0]; c++)
                for (int d = 0; d < o->cells_per_block[1]; d++)
                    for (int e = 0; e < o->orientations; e++) {
                        char buf[96];
                        snprintf(buf, sizeof(buf), "hog_b%zu_%zu_c%d_%d_o%d", a, b, c, d, e);
                        if (!(out[k++] = name_with(buf, "")))
                            return -1;
                    }
    MER_ASSERT(k == v->hog_dim);
    return 0;
}

static int make_names(mer_visual *v)
{
    size_t nf = mer_visual_frame_dim(v), nc = mer_visual_clip_dim(v), k = 0;
    size_t pooled = v->hog_dim + v->colour_dim;
    static const char *const motion_stats[3] = {"motion_mean", "motion_std", "motion_max"};
    v->frame_names = calloc(nf, sizeof(char *));
    v->clip_names = calloc(nc, sizeof(char *));
    if (!v->frame_names || !v->clip_names)
        return mer_error("out of memory");
    if (v->hog_dim && hog_names(v, v->frame_names) < 0)
        return mer_error("out of memory");
    for (size_t i = 0; i < v->colour_dim; i++)
        if (!(v->frame_names[v->hog_dim + i] = name_with(colour_names[i], "")))
            return mer_error("out of memory");
    if (v->motion_dim && !(v->frame_names[nf - 1] = name_with("motion", "")))
        return mer_error("out of memory");
    /* pooled: hog means, hog stds, colour means, colour stds, motion stats */
    for (int group = 0; group < 2; group++) {
        size_t first = group ? v->hog_dim : 0, n = group ? v->colour_dim : v->hog_dim;
        for (int stat = 0; stat < 2; stat++)
            for (size_t i = 0; i < n; i++)
                if (!(v->clip_names[k++] =
                          name_with(v->frame_names[first + i], stat ? "_std" : "_mean")))
                    return mer_error("out of memory");
    }
    MER_ASSERT(k == 2 * pooled);
    for (size_t i = 0; i < 3 * v->motion_dim; i++)
        if (!(v->clip_names[k++] = name_with(motion_stats[i], "")))
            return mer_error("out of memory");
    return 0;
}

static int check_opts(const struct mer_visual_opts *o)
{
    if (o->orientations < 1 || o->orientations > 180)
        return mer_error("visual option 'orientations': expected an integer in [1, 180], got %d",
                         o->orientations);
    for (int i = 0; i < 2; i++)
        if (o->resize[i] < 1 || o->pixels_per_cell[i] < 1 || o->cells_per_block[i] < 1)
            return mer_error("visual options 'resize', 'pixels_per_cell', 'cells_per_block': "
                             "expected positive sizes");
    if (!o->hog && !o->colour && !o->motion)
        return mer_error("visual options 'hog', 'colour', 'motion': all false, no feature left");
    if (o->hog && !mer_visual_hog_size(o, (size_t)o->resize[0], (size_t)o->resize[1]))
        return mer_error("visual options: 'resize' %d,%d with 'pixels_per_cell' %d,%d holds "
                         "%dx%d cells, fewer than 'cells_per_block' %d,%d",
                         o->resize[0], o->resize[1], o->pixels_per_cell[0], o->pixels_per_cell[1],
                         o->resize[0] / o->pixels_per_cell[0], o->resize[1] / o->pixels_per_cell[1],
                         o->cells_per_block[0], o->cells_per_block[1]);
    return 0;
}

int mer_visual_open(mer_visual **out, const struct mer_visual_opts *opts)
{
    mer_visual *v;
    *out = NULL;
    if (check_opts(opts) < 0)
        return -1;
    if (!(v = calloc(1, sizeof(*v))))
        return mer_error("out of memory");
    v->o = *opts;
    visual_gray_init();
    v->hog_dim =
        opts->hog ? mer_visual_hog_size(opts, (size_t)opts->resize[0], (size_t)opts->resize[1]) : 0;
    v->colour_dim = opts->colour ? 9 : 0;
    v->motion_dim = opts->motion ? 1 : 0;
    if (make_names(v) < 0) {
        mer_visual_close(v);
        return -1;
    }
    *out = v;
    return 0;
}

void mer_visual_close(mer_visual *v)
{
    if (!v)
        return;
    free_names(v->frame_names, mer_visual_frame_dim(v));
    free_names(v->clip_names, mer_visual_clip_dim(v));
    free(v);
}

/* The gray rows of an RGB24 frame, computed once each as the resize's row filter slides down:
 * row r lives in slot r % cap, and one window's rows (at most 2 * radius + 1 consecutive ones)
 * never share a slot. */
struct rgb_rows {
    const uint8_t *rgb;
    size_t width, cap;
    double *cache;
    size_t *tag; /* row + 1 held by each slot; 0: empty */
};

static const double *rgb_row(void *ctx, size_t r)
{
    struct rgb_rows *g = ctx;
    size_t slot = r % g->cap;
    double *row = g->cache + slot * g->width;
    if (g->tag[slot] != r + 1) {
        mer_visual_gray(g->rgb + 3 * r * g->width, g->width, 1, row);
        g->tag[slot] = r + 1;
    }
    return row;
}

struct mer_visual_clip {
    const mer_visual *v;
    size_t width, height; /* the frame size z, cache and tag are for; 0: none yet */
    struct visual_resize z;
    struct rgb_rows rows;
    double *small, *prev; /* [resize rows * cols]: this frame's and the previous one */
    double *hog, *hog_scratch;
    double *frame;     /* [hog_dim + colour_dim]: this frame's pooled values */
    double *mean, *m2; /* Welford's running mean and sum of squares, same columns */
    size_t frames, pairs;
    double motion, motion_mean, motion_m2, motion_max;
};

int mer_visual_clip_new(mer_visual_clip **out, const mer_visual *v)
{
    size_t px = (size_t)v->o.resize[0] * (size_t)v->o.resize[1], n = v->hog_dim + v->colour_dim;
    mer_visual_clip *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c)
        return mer_error("out of memory");
    c->v = v;
    c->small = malloc(px * sizeof(double));
    c->prev = malloc(px * sizeof(double));
    c->hog = malloc((v->hog_dim + 1) * sizeof(double));
    c->hog_scratch =
        malloc((visual_hog_scratch(&v->o, (size_t)v->o.resize[0], (size_t)v->o.resize[1]) + 1) *
               sizeof(double));
    c->frame = malloc((n + 1) * sizeof(double));
    c->mean = malloc((n + 1) * sizeof(double));
    c->m2 = malloc((n + 1) * sizeof(double));
    if (!c->small || !c->prev || !c->hog || !c->hog_scratch || !c->frame || !c->mean || !c->m2) {
        mer_visual_clip_free(c);
        return mer_error("out of memory");
    }
    mer_visual_clip_reset(c);
    *out = c;
    return 0;
}

static void drop_frame_size(mer_visual_clip *c)
{
    visual_resize_release(&c->z);
    free(c->rows.cache);
    free(c->rows.tag);
    c->rows.cache = NULL;
    c->rows.tag = NULL;
    c->width = c->height = 0;
}

void mer_visual_clip_free(mer_visual_clip *c)
{
    if (!c)
        return;
    drop_frame_size(c);
    free(c->small);
    free(c->prev);
    free(c->hog);
    free(c->hog_scratch);
    free(c->frame);
    free(c->mean);
    free(c->m2);
    free(c);
}

void mer_visual_clip_reset(mer_visual_clip *c)
{
    size_t n = c->v->hog_dim + c->v->colour_dim;
    memset(c->mean, 0, n * sizeof(double));
    memset(c->m2, 0, n * sizeof(double));
    c->frames = c->pairs = 0;
    c->motion = c->motion_mean = c->motion_m2 = c->motion_max = 0.0;
}

size_t mer_visual_clip_frames(const mer_visual_clip *c)
{
    return c->frames;
}

/* The resize plan and gray row cache for frames of width x height (kept while the size stays). */
static int fit_frame_size(mer_visual_clip *c, size_t width, size_t height)
{
    const struct mer_visual_opts *o = &c->v->o;
    size_t cap;
    if (c->width == width && c->height == height)
        return 0;
    drop_frame_size(c);
    if (visual_resize_init(&c->z, height, width, (size_t)o->resize[0], (size_t)o->resize[1],
                           o->anti_aliasing) < 0)
        return -1;
    cap = 2 * c->z.rows.radius + 1;
    cap = cap < height ? cap : height;
    c->rows.cap = cap;
    c->rows.width = width;
    c->rows.cache = malloc(cap * width * sizeof(double));
    c->rows.tag = calloc(cap, sizeof(size_t));
    if (!c->rows.cache || !c->rows.tag) {
        drop_frame_size(c);
        return mer_error("out of memory");
    }
    c->width = width, c->height = height;
    return 0;
}

/* One pass over the frame: the range of its gray values (resize clips to it) and, unless
 * count is NULL, the channels' histograms. */
static void scan_frame(const uint8_t *rgb, size_t n, uint64_t (*count)[256], double *lo, double *hi)
{
    double a = INFINITY, b = -INFINITY;
    if (count)
        memset(count, 0, 3 * sizeof(*count));
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = rgb + 3 * i;
        double g = visual_gray_pixel(p);
        a = g < a ? g : a;
        b = g > b ? g : b;
        if (count)
            count[0][p[0]]++, count[1][p[1]]++, count[2][p[2]]++;
    }
    *lo = a, *hi = b;
}

static void welford(double *mean, double *m2, const double *x, size_t n, size_t count)
{
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean[i];
        mean[i] += d / (double)count;
        m2[i] += d * (x[i] - mean[i]);
    }
}

/* Mean |small - prev| over the resized frame, the previous frame's resized gray. */
static double motion_energy(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += fabs(a[i] - b[i]);
    return s / (double)n;
}

static void write_frame_row(const mer_visual_clip *c, float *row)
{
    const mer_visual *v = c->v;
    size_t n = v->hog_dim + v->colour_dim;
    for (size_t i = 0; i < n; i++)
        row[i] = (float)c->frame[i];
    if (v->motion_dim)
        row[n] = (float)c->motion;
}

int mer_visual_clip_push(mer_visual_clip *c, const uint8_t *rgb, size_t width, size_t height,
                         float *frame_row)
{
    const mer_visual *v = c->v;
    const struct mer_visual_opts *o = &v->o;
    size_t px = (size_t)o->resize[0] * (size_t)o->resize[1], n = v->hog_dim + v->colour_dim;
    uint64_t count[3][256];
    if (!width || !height || width > MAX_PIXELS / height)
        return mer_error("visual features of a %zux%zu frame: expected 1 to 2^31 pixels", width,
                         height);
    if (v->hog_dim || v->motion_dim) {
        double lo, hi;
        double *t;
        if (fit_frame_size(c, width, height) < 0)
            return -1;
        scan_frame(rgb, width * height, v->colour_dim ? count : NULL, &lo, &hi);
        if (v->colour_dim)
            visual_colour_from_counts(count, width * height, c->frame + v->hog_dim);
        c->rows.rgb = rgb;
        memset(c->rows.tag, 0, c->rows.cap * sizeof(size_t));
        visual_resize_run(&c->z, rgb_row, &c->rows, lo, hi, c->small);
        if (v->hog_dim)
            visual_hog_run(o, c->small, (size_t)o->resize[0], (size_t)o->resize[1], c->hog_scratch,
                           c->frame);
        c->motion = c->frames ? motion_energy(c->small, c->prev, px) : 0.0;
        t = c->prev, c->prev = c->small, c->small = t;
    } else if (v->colour_dim)
        mer_visual_colour_moments(rgb, width, height, c->frame + v->hog_dim);
    c->frames++;
    welford(c->mean, c->m2, c->frame, n, c->frames);
    if (v->motion_dim && c->frames > 1) {
        double d = c->motion - c->motion_mean;
        c->pairs++;
        c->motion_mean += d / (double)c->pairs;
        c->motion_m2 += d * (c->motion - c->motion_mean);
        c->motion_max = c->motion > c->motion_max ? c->motion : c->motion_max;
    }
    if (frame_row)
        write_frame_row(c, frame_row);
    return 0;
}

int mer_visual_clip_pooled(const mer_visual_clip *c, float *row)
{
    const mer_visual *v = c->v;
    size_t k = 0, N = (size_t)c->frames;
    if (!c->frames)
        return mer_error("visual features: no frame to pool");
    for (int group = 0; group < 2; group++) {
        size_t first = group ? v->hog_dim : 0, n = group ? v->colour_dim : v->hog_dim;
        for (size_t i = 0; i < n; i++)
            row[k++] = (float)c->mean[first + i];
        for (size_t i = 0; i < n; i++)
            row[k++] = (float)sqrt(c->m2[first + i] / (double)N);
    }
    if (v->motion_dim) {
        row[k++] = (float)c->motion_mean;
        row[k++] = c->pairs ? (float)sqrt(c->motion_m2 / (double)c->pairs) : 0.0f;
        row[k++] = (float)c->motion_max;
    }
    return 0;
}
