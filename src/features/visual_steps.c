/* The steps of the visual features, each as python3-skimage 0.19 / scipy 1.10 compute it:
 * rgb2gray, resize (scipy.ndimage.gaussian_filter then zoom, evaluated only where the zoom
 * reads), hog (the gradient, _hoghistogram.pyx's float32 cell sums, the block norms) and the
 * colour moments. */
#include "features/visual_impl.h"
#include "mer/error.h"
#include "mer/visual.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HOG_EPS 1e-5 /* skimage's _hog_normalize_block eps */

/* img_as_float (v * (1 / 255)) times rgb2gray's weight, per channel and value. */
double visual_gray_lut[3][256];
static pthread_once_t gray_lut_once = PTHREAD_ONCE_INIT;

static void gray_lut_fill(void)
{
    static const double weight[3] = {0.2125, 0.7154, 0.0721};
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++)
            visual_gray_lut[c][v] = ((double)v * (1.0 / 255.0)) * weight[c];
}

void visual_gray_init(void)
{
    pthread_once(&gray_lut_once, gray_lut_fill);
}

void mer_visual_gray(const uint8_t *rgb, size_t width, size_t height, double *gray)
{
    visual_gray_init();
    for (size_t i = 0; i < width * height; i++)
        gray[i] = visual_gray_pixel(rgb + 3 * i);
}

/* scipy's mirror extension of an integer index, "d c b | a b c d | c b a", any distance. */
static size_t mirror_index(long long i, size_t len)
{
    long long period = 2 * (long long)len - 2;
    if (len <= 1)
        return 0;
    i %= period;
    if (i < 0)
        i += period;
    return (size_t)(i >= (long long)len ? period - i : i);
}

/* ni_interpolation.c's map_coordinate for NI_EXTEND_MIRROR. */
static double mirror_coordinate(double in, size_t len)
{
    double sz2 = 2.0 * (double)len - 2.0;
    if (len <= 1)
        return in < 0 || in > (double)len - 1 ? 0.0 : in;
    if (in < 0) {
        in = sz2 * (double)(long long)(-in / sz2) + in;
        in = in <= 1.0 - (double)len ? in + sz2 : -in;
    } else if (in > (double)len - 1) {
        in -= sz2 * (double)(long long)(in / sz2);
        if (in >= (double)len)
            in = sz2 - in;
    }
    return in;
}

/* numpy's pairwise sum of n contiguous doubles (add.reduce), so sums match to the last bit. */
static double pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += a[i];
        return s;
    }
    if (n <= 128) {
        double r[8], s;
        size_t i;
        memcpy(r, a, sizeof(r));
        for (i = 8; i < n - n % 8; i += 8)
            for (size_t j = 0; j < 8; j++)
                r[j] += a[i + j];
        s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            s += a[i];
        return s;
    }
    size_t half = n / 2;
    half -= half % 8;
    return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

/* scipy's _gaussian_kernel1d(sigma, 0, radius) with radius int(4 * sigma + 0.5). */
static int make_kernel(struct visual_axis *a, double sigma)
{
    size_t r = (size_t)(4.0 * sigma + 0.5), n = 2 * r + 1;
    double c = -0.5 / (sigma * sigma), sum;
    a->radius = r;
    a->kernel = malloc(n * sizeof(double));
    if (!a->kernel)
        return mer_error("out of memory");
    for (size_t i = 0; i < n; i++) {
        double x = (double)i - (double)r;
        a->kernel[i] = exp(c * (x * x));
    }
    sum = pairwise_sum(a->kernel, n);
    for (size_t i = 0; i < n; i++)
        a->kernel[i] /= sum;
    return 0;
}

/* The zoom's taps along one axis (grid_mode: in = (k + 0.5) * zoom - 0.5, mirrored) and the
 * distinct input samples they read. */
static int make_taps(struct visual_axis *a)
{
    double zoom = (double)a->in / (double)a->out;
    size_t *idx = malloc(2 * a->out * sizeof(size_t));
    char *used = calloc(a->in, 1);
    size_t *pos = malloc(a->in * sizeof(size_t));
    int ret = -1;
    a->at0 = malloc(a->out * sizeof(size_t));
    a->at1 = malloc(a->out * sizeof(size_t));
    a->w0 = malloc(a->out * sizeof(double));
    a->w1 = malloc(a->out * sizeof(double));
    a->need = malloc(a->in * sizeof(size_t));
    if (!idx || !used || !pos || !a->at0 || !a->at1 || !a->w0 || !a->w1 || !a->need) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t k = 0; k < a->out; k++) {
        double cc = mirror_coordinate(((double)k + 0.5) * zoom - 0.5, a->in);
        double start = floor(cc), x = cc - start;
        a->w0[k] = 1.0 - x;
        a->w1[k] = 1.0 - a->w0[k]; /* get_spline_interpolation_weights: the weights sum to 1 */
        idx[2 * k] = mirror_index((long long)start, a->in);
        idx[2 * k + 1] = mirror_index((long long)start + 1, a->in);
        used[idx[2 * k]] = used[idx[2 * k + 1]] = 1;
    }
    a->nneed = 0;
    for (size_t i = 0; i < a->in; i++)
        if (used[i])
            pos[i] = a->nneed, a->need[a->nneed++] = i;
    for (size_t k = 0; k < a->out; k++) {
        a->at0[k] = pos[idx[2 * k]];
        a->at1[k] = pos[idx[2 * k + 1]];
    }
    ret = 0;
done:
    free(idx);
    free(used);
    free(pos);
    return ret;
}

static void axis_release(struct visual_axis *a)
{
    free(a->kernel);
    free(a->need);
    free(a->at0);
    free(a->at1);
    free(a->w0);
    free(a->w1);
    memset(a, 0, sizeof(*a));
}

static int axis_init(struct visual_axis *a, size_t in, size_t out, int anti_aliasing,
                     int any_shrinks)
{
    double factor = (double)in / (double)out;
    double sigma = factor > 1.0 ? (factor - 1.0) / 2.0 : 0.0;
    memset(a, 0, sizeof(*a));
    a->in = in, a->out = out;
    /* gaussian_filter skips an axis whose sigma is <= 1e-15 */
    if (anti_aliasing && any_shrinks && sigma > 1e-15 && make_kernel(a, sigma) < 0)
        return -1;
    return make_taps(a);
}

int visual_resize_init(struct visual_resize *z, size_t in_rows, size_t in_cols, size_t out_rows,
                       size_t out_cols, int anti_aliasing)
{
    int shrinks = out_rows < in_rows || out_cols < in_cols;
    memset(z, 0, sizeof(*z));
    if (!in_rows || !in_cols || !out_rows || !out_cols)
        return mer_error("resize %zux%zu to %zux%zu: a size is zero", in_rows, in_cols, out_rows,
                         out_cols);
    if (axis_init(&z->rows, in_rows, out_rows, anti_aliasing, shrinks) < 0 ||
        axis_init(&z->cols, in_cols, out_cols, anti_aliasing, shrinks) < 0)
        goto fail;
    z->v = malloc(z->rows.nneed * in_cols * sizeof(double));
    z->h = malloc(z->rows.nneed * z->cols.nneed * sizeof(double));
    if (!z->v || !z->h) {
        mer_error("out of memory");
        goto fail;
    }
    return 0;
fail:
    visual_resize_release(z);
    return -1;
}

void visual_resize_release(struct visual_resize *z)
{
    if (!z)
        return;
    axis_release(&z->rows);
    axis_release(&z->cols);
    free(z->v);
    free(z->h);
    z->v = z->h = NULL;
}

/* NI_Correlate1D's symmetric kernel along the rows, at source row r, every column:
 * out = s[r] * k[0] + sum over j of (s[r - j] + s[r + j]) * k[j], j = radius .. 1. */
static void filter_rows_at(const struct visual_axis *a, visual_row_fn row, void *ctx, size_t r,
                           size_t cols, double *out)
{
    const double *k, *mid = row(ctx, r);
    if (!a->kernel) {
        memcpy(out, mid, cols * sizeof(double));
        return;
    }
    k = a->kernel + a->radius; /* (only with a kernel: NULL + offset is undefined) */
    for (size_t x = 0; x < cols; x++)
        out[x] = mid[x] * k[0];
    for (size_t j = a->radius; j >= 1; j--) {
        const double *lo = row(ctx, mirror_index((long long)r - (long long)j, a->in));
        const double *hi = row(ctx, mirror_index((long long)r + (long long)j, a->in));
        double w = k[-(long long)j];
        for (size_t x = 0; x < cols; x++)
            out[x] += (lo[x] + hi[x]) * w;
    }
}

/* The same kernel along one row of the row-filtered values, at column c. */
static double filter_cols_at(const struct visual_axis *a, const double *v, size_t c)
{
    const double *k;
    size_t R = a->radius;
    double s;
    if (!a->kernel)
        return v[c];
    k = a->kernel + a->radius;
    s = v[c] * k[0];
    if (c >= R && c + R < a->in) {
        for (size_t j = R; j >= 1; j--)
            s += (v[c - j] + v[c + j]) * k[-(long long)j];
    } else {
        for (size_t j = R; j >= 1; j--)
            s += (v[mirror_index((long long)c - (long long)j, a->in)] +
                  v[mirror_index((long long)c + (long long)j, a->in)]) *
                 k[-(long long)j];
    }
    return s;
}

void visual_resize_run(struct visual_resize *z, visual_row_fn row, void *ctx, double lo, double hi,
                       double *dst)
{
    const struct visual_axis *R = &z->rows, *C = &z->cols;
    for (size_t i = 0; i < R->nneed; i++) {
        double *v = z->v + i * C->in, *h = z->h + i * C->nneed;
        filter_rows_at(R, row, ctx, R->need[i], C->in, v);
        for (size_t j = 0; j < C->nneed; j++)
            h[j] = filter_cols_at(C, v, C->need[j]);
    }
    /* NI_ZoomShift, order 1: ((value * row weight) * col weight), summed in tap order */
    for (size_t i = 0; i < R->out; i++) {
        const double *h0 = z->h + R->at0[i] * C->nneed, *h1 = z->h + R->at1[i] * C->nneed;
        double a0 = R->w0[i], a1 = R->w1[i];
        for (size_t j = 0; j < C->out; j++) {
            double b0 = C->w0[j], b1 = C->w1[j], t = 0.0;
            t += h0[C->at0[j]] * a0 * b0;
            t += h0[C->at1[j]] * a0 * b1;
            t += h1[C->at0[j]] * a1 * b0;
            t += h1[C->at1[j]] * a1 * b1;
            dst[i * C->out + j] = t < lo ? lo : t > hi ? hi : t;
        }
    }
}

struct plain_rows {
    const double *src;
    size_t cols;
};

static const double *plain_row(void *ctx, size_t r)
{
    const struct plain_rows *p = ctx;
    return p->src + r * p->cols;
}

int mer_visual_resize(const double *src, size_t rows, size_t cols, double *dst, size_t out_rows,
                      size_t out_cols, int anti_aliasing)
{
    struct visual_resize z;
    struct plain_rows p = {src, cols};
    double lo = INFINITY, hi = -INFINITY;
    if (visual_resize_init(&z, rows, cols, out_rows, out_cols, anti_aliasing) < 0)
        return -1;
    for (size_t i = 0; i < rows * cols; i++) {
        lo = src[i] < lo ? src[i] : lo;
        hi = src[i] > hi ? src[i] : hi;
    }
    visual_resize_run(&z, plain_row, &p, lo, hi, dst);
    visual_resize_release(&z);
    return 0;
}

size_t mer_visual_hog_size(const struct mer_visual_opts *o, size_t rows, size_t cols)
{
    size_t cr = rows / (size_t)o->pixels_per_cell[0], cc = cols / (size_t)o->pixels_per_cell[1];
    size_t br = (size_t)o->cells_per_block[0], bc = (size_t)o->cells_per_block[1];
    if (cr < br || cc < bc)
        return 0;
    return (cr - br + 1) * (cc - bc + 1) * br * bc * (size_t)o->orientations;
}

size_t visual_hog_scratch(const struct mer_visual_opts *o, size_t rows, size_t cols)
{
    size_t cells = (rows / (size_t)o->pixels_per_cell[0]) * (cols / (size_t)o->pixels_per_cell[1]);
    size_t block = (size_t)o->cells_per_block[0] * (size_t)o->cells_per_block[1];
    return rows * cols + cells * (size_t)o->orientations + 2 * block * (size_t)o->orientations;
}

/* The orientation bin of an angle in [0, 180): the i with 180/n * i <= deg < 180/n * (i + 1),
 * as _hoghistogram.pyx tests it; -1 if none (deg rounds to 180). */
static int orientation_bin(double deg, int n, double width)
{
    int b = (int)(deg / width);
    b = b < 0 ? 0 : b >= n ? n - 1 : b;
    if (deg < width * b)
        b--;
    else if (deg >= width * (b + 1))
        b++;
    return b >= 0 && b < n && width * b <= deg && deg < width * (b + 1) ? b : -1;
}

/* The gradient at (r, c): central differences, 0 on the image's border rows (g_row) and
 * columns (g_col), as _hog_channel_gradient. */
static void gradient(const double *img, size_t rows, size_t cols, size_t r, size_t c, double *g_row,
                     double *g_col)
{
    const double *p = img + r * cols + c;
    *g_row = r > 0 && r + 1 < rows ? p[cols] - p[-(long long)cols] : 0.0;
    *g_col = c > 0 && c + 1 < cols ? p[1] - p[-1] : 0.0;
}

/* One cell's histogram: skimage's cell_hog sums the magnitudes in a float per bin, row by row,
 * then divides by the cell's pixel count in float. */
static void cell_histogram(const struct mer_visual_opts *o, const double *img, size_t rows,
                           size_t cols, size_t r0, size_t c0, double *hist)
{
    int n = o->orientations, pr = o->pixels_per_cell[0], pc = o->pixels_per_cell[1];
    double width = 180.0 / n;
    float total[180];
    memset(total, 0, sizeof(float) * (size_t)n);
    for (size_t r = r0; r < r0 + (size_t)pr; r++)
        for (size_t c = c0; c < c0 + (size_t)pc; c++) {
            double g_row, g_col, deg;
            int b;
            gradient(img, rows, cols, r, c, &g_row, &g_col);
            /* np.rad2deg(np.arctan2(g_row, g_col)) % 180, numpy's floored remainder */
            deg = fmod(atan2(g_row, g_col) * (180.0 / M_PI), 180.0);
            deg = deg < 0 ? deg + 180.0 : deg == 0.0 ? 0.0 : deg;
            b = orientation_bin(deg, n, width);
            if (b >= 0)
                total[b] += hypot(g_col, g_row); /* float += double, as in the .pyx */
        }
    for (int b = 0; b < n; b++)
        hist[b] = total[b] / (pr * pc); /* float / int */
}

/* _hog_normalize_block over the block's values (cells in row order, then orientations). */
static void normalize_block(enum mer_visual_block_norm norm, double *block, size_t n, double *tmp)
{
    double s;
    switch (norm) {
    case MER_VISUAL_NORM_L1:
    case MER_VISUAL_NORM_L1_SQRT:
        for (size_t i = 0; i < n; i++)
            tmp[i] = fabs(block[i]);
        s = pairwise_sum(tmp, n) + HOG_EPS;
        for (size_t i = 0; i < n; i++)
            block[i] = norm == MER_VISUAL_NORM_L1 ? block[i] / s : sqrt(block[i] / s);
        return;
    case MER_VISUAL_NORM_L2:
    case MER_VISUAL_NORM_L2_HYS:
        for (size_t i = 0; i < n; i++)
            tmp[i] = block[i] * block[i];
        s = sqrt(pairwise_sum(tmp, n) + HOG_EPS * HOG_EPS);
        for (size_t i = 0; i < n; i++)
            block[i] = block[i] / s;
        if (norm == MER_VISUAL_NORM_L2)
            return;
        for (size_t i = 0; i < n; i++) {
            block[i] = block[i] < 0.2 ? block[i] : 0.2; /* np.minimum */
            tmp[i] = block[i] * block[i];
        }
        s = sqrt(pairwise_sum(tmp, n) + HOG_EPS * HOG_EPS);
        for (size_t i = 0; i < n; i++)
            block[i] = block[i] / s;
        return;
    }
    MER_BUG("block norm %d", (int)norm);
}

void visual_hog_run(const struct mer_visual_opts *o, const double *img, size_t rows, size_t cols,
                    double *scratch, double *out)
{
    size_t n = (size_t)o->orientations, pr = (size_t)o->pixels_per_cell[0];
    size_t pc = (size_t)o->pixels_per_cell[1], cr = rows / pr, cc = cols / pc;
    size_t br = (size_t)o->cells_per_block[0], bc = (size_t)o->cells_per_block[1];
    size_t bn = br * bc * n;
    double *sq = scratch, *hist = sq + rows * cols, *block = hist + cr * cc * n, *tmp = block + bn;
    if (o->transform_sqrt) {
        for (size_t i = 0; i < rows * cols; i++)
            sq[i] = sqrt(img[i]);
        img = sq;
    }
    for (size_t i = 0; i < cr; i++)
        for (size_t j = 0; j < cc; j++)
            cell_histogram(o, img, rows, cols, i * pr, j * pc, hist + (i * cc + j) * n);
    for (size_t i = 0; i + br <= cr; i++)
        for (size_t j = 0; j + bc <= cc; j++) {
            for (size_t a = 0; a < br; a++)
                memcpy(block + a * bc * n, hist + ((i + a) * cc + j) * n, bc * n * sizeof(double));
            normalize_block(o->block_norm, block, bn, tmp);
            memcpy(out, block, bn * sizeof(double));
            out += bn;
        }
}

int mer_visual_hog(const struct mer_visual_opts *o, const double *img, size_t rows, size_t cols,
                   double *out)
{
    double *scratch;
    if (!mer_visual_hog_size(o, rows, cols))
        return mer_error("hog of a %zux%zu image: no block of %dx%d cells of %dx%d pixels fits",
                         rows, cols, o->cells_per_block[0], o->cells_per_block[1],
                         o->pixels_per_cell[0], o->pixels_per_cell[1]);
    for (size_t i = 0; i < rows * cols; i++) {
        if (!isfinite(img[i]))
            return mer_error("hog: pixel %zu,%zu is not finite", i / cols, i % cols);
        if (o->transform_sqrt && img[i] < 0)
            return mer_error("hog: pixel %zu,%zu is negative (%g) under transform_sqrt", i / cols,
                             i % cols, img[i]);
    }
    scratch = malloc(visual_hog_scratch(o, rows, cols) * sizeof(double));
    if (!scratch)
        return mer_error("out of memory");
    visual_hog_run(o, img, rows, cols, scratch, out);
    free(scratch);
    return 0;
}

/* Mean, population std and Fisher-Pearson skewness of one channel from its histogram; the
 * skewness is 0 where scipy.stats.skew calls the channel constant (m2 <= (1e-15 mean)^2). */
static void moments(const uint64_t *count, size_t total, double *out)
{
    double mean = 0.0, m2 = 0.0, m3 = 0.0, N = (double)total;
    for (int v = 0; v < 256; v++)
        mean += (double)count[v] * (v / 255.0);
    mean /= N;
    for (int v = 0; v < 256; v++) {
        double d = v / 255.0 - mean;
        m2 += (double)count[v] * d * d;
        m3 += (double)count[v] * d * d * d;
    }
    m2 /= N, m3 /= N;
    out[0] = mean;
    out[1] = sqrt(m2);
    out[2] = m2 <= (1e-15 * mean) * (1e-15 * mean) ? 0.0 : m3 / pow(m2, 1.5);
}

void visual_colour_from_counts(uint64_t count[3][256], size_t n, double out[9])
{
    for (int c = 0; c < 3; c++)
        moments(count[c], n, out + 3 * c);
}

void mer_visual_colour_moments(const uint8_t *rgb, size_t width, size_t height, double out[9])
{
    uint64_t count[3][256];
    size_t n = width * height;
    memset(count, 0, sizeof(count));
    for (size_t i = 0; i < n; i++) {
        count[0][rgb[3 * i]]++;
        count[1][rgb[3 * i + 1]]++;
        count[2][rgb[3 * i + 2]]++;
    }
    visual_colour_from_counts(count, n, out);
}
