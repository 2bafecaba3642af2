/* The plots of plot.h, each a draw function over the chart layer (chart_impl.h). */
#include "plot/chart_impl.h"
#include "mer/error.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The base text size for a canvas: readable at 800x600, never tiny or huge. */
static double base_size(const struct chart *c)
{
    return fmin(fmax(fmin(c->w, c->h) / 48, 8), 16);
}

static double max_width(struct chart *c, const char *const *s, size_t n, double size)
{
    double w = 0;
    for (size_t i = 0; i < n; i++)
        w = fmax(w, chart_text_width(c, s[i], size, CHART_NORMAL));
    return w;
}

/* Labels under a row of slots of width slot starting at x0, centred; rotated 45 degrees when
 * the widest does not fit. Returns the height they take. */
static double slot_labels_height(struct chart *c, const char *const *s, size_t n, double slot,
                                 double size, int *rotate)
{
    double w = max_width(c, s, n, size);
    *rotate = w > slot * 0.95;
    return *rotate ? w * 0.7072 + size : size * 1.3;
}

static void slot_labels(struct chart *c, const char *const *s, size_t n, double x0, double slot,
                        double y, double size, int rotate)
{
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    for (size_t i = 0; i < n; i++) {
        double x = x0 + (i + 0.5) * slot;
        if (rotate)
            chart_text(c, x + size * 0.3, y, s[i], size, CHART_NORMAL, 1, 0, M_PI / 4);
        else
            chart_text(c, x, y, s[i], size, CHART_NORMAL, 0.5, 0, 0);
    }
}

static void dashed_line(struct chart *c, double x0, double y0, double x1, double y1)
{
    const double dash[] = {5, 4};
    cairo_save(c->cr);
    cairo_set_dash(c->cr, dash, 2, 0);
    cairo_move_to(c->cr, x0, y0);
    cairo_line_to(c->cr, x1, y1);
    cairo_stroke(c->cr);
    cairo_restore(c->cr);
}

static cJSON *string_array(const char *const *s, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(s[i]));
    return a;
}

/* ---- confusion matrix ---- */

struct confusion {
    const int64_t *m;
    char *const *classes;
    int k, normalize;
    const char *title;
    double *v; /* [k*k] what the cells show */
    double vmax;
};

static void cell_text(const struct confusion *d, int i, char *buf, size_t size)
{
    if (d->normalize)
        snprintf(buf, size, "%.2f", d->v[i]);
    else
        snprintf(buf, size, "%lld", (long long)d->m[i]);
}

static int draw_confusion(struct chart *c, const void *data)
{
    const struct confusion *d = data;
    const char *const *names = (const char *const *)d->classes;
    double s = base_size(c), top = chart_title(c, d->title), label_w, bar_w, cell, bottom, x0, y0;
    double num = s;
    int rotate;
    char buf[32];
    label_w = max_width(c, names, (size_t)d->k, s);
    bar_w = 16 + 8 + chart_text_width(c, d->normalize ? "0.00" : "00000", s, CHART_NORMAL);
    /* room: "true" + labels on the left, the colour bar on the right, labels below */
    cell = fmin((c->w - (s * 2 + label_w + 12) - (bar_w + 30)) / d->k, (c->h - top - s * 3) / d->k);
    bottom = slot_labels_height(c, names, (size_t)d->k, cell, s, &rotate) + s * 2.2;
    cell = fmin(cell, (c->h - top - bottom - 6) / d->k);
    x0 = s * 2 + label_w + 12 +
         fmax(0, (c->w - (s * 2 + label_w + 12) - (bar_w + 30) - cell * d->k) / 2);
    y0 = top + 4;
    /* cells, the number in each: one size that fits the widest */
    for (int i = 0; i < d->k * d->k; i++) {
        cell_text(d, i, buf, sizeof(buf));
        num = fmin(num, chart_fit_size(c, buf, fmin(s, cell * 0.4), cell * 0.85));
    }
    for (int r = 0; r < d->k; r++)
        for (int q = 0; q < d->k; q++) {
            int i = r * d->k + q;
            double t = d->vmax > 0 ? d->v[i] / d->vmax : 0;
            chart_set_rgb(c, chart_cmap(t));
            cairo_rectangle(c->cr, x0 + q * cell, y0 + r * cell, cell, cell);
            cairo_fill(c->cr);
            if (t > 0.55)
                cairo_set_source_rgb(c->cr, 1, 1, 1);
            else
                cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
            cell_text(d, i, buf, sizeof(buf));
            chart_text(c, x0 + (q + 0.5) * cell, y0 + (r + 0.5) * cell, buf, num, CHART_NORMAL, 0.5,
                       0.5, 0);
        }
    cairo_set_source_rgb(c->cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(c->cr, 1);
    cairo_rectangle(c->cr, x0, y0, cell * d->k, cell * d->k);
    cairo_stroke(c->cr);
    /* class names: truth on the left, prediction below */
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    for (int r = 0; r < d->k; r++)
        chart_text(c, x0 - 6, y0 + (r + 0.5) * cell, names[r], s, CHART_NORMAL, 1, 0.5, 0);
    slot_labels(c, names, (size_t)d->k, x0, cell, y0 + d->k * cell + 4, s, rotate);
    chart_text(c, s * 0.6, y0 + d->k * cell / 2, "true class", s, CHART_BOLD, 0.5, 0, M_PI / 2);
    chart_text(c, x0 + d->k * cell / 2, c->h - s * 0.6, "predicted class", s, CHART_BOLD, 0.5, 1,
               0);
    {
        struct chart_box bar = {x0 + d->k * cell + 20, y0, x0 + d->k * cell + 36, y0 + d->k * cell};
        chart_colorbar(c, &bar, 0, d->vmax, !d->normalize, s * 0.9);
    }
    return 0;
}

int mer_plot_confusion(const char *base, const struct mer_plot_params *pp, const int64_t *confusion,
                       char *const *classes, int k, int normalize)
{
    struct confusion d = {confusion, classes, k, normalize, NULL, NULL, 0};
    cJSON *meta = cJSON_CreateObject(), *rows;
    int ret = -1;
    d.title = pp->title   ? pp->title
              : normalize ? "confusion matrix (row-normalised)"
                          : "confusion matrix";
    if (k < 1)
        return mer_error("confusion matrix without classes");
    d.v = calloc((size_t)k * (size_t)k, sizeof(double));
    if (!meta || !d.v) {
        mer_error("out of memory");
        goto done;
    }
    for (int r = 0; r < k; r++) {
        int64_t sum = 0;
        for (int q = 0; q < k; q++)
            sum += confusion[r * k + q];
        for (int q = 0; q < k; q++) {
            double x = (double)confusion[r * k + q];
            d.v[r * k + q] = normalize ? (sum ? x / (double)sum : 0) : x;
            d.vmax = fmax(d.vmax, d.v[r * k + q]);
        }
    }
    if (normalize)
        d.vmax = 1;
    cJSON_AddItemToObject(meta, "classes", string_array((const char *const *)classes, (size_t)k));
    cJSON_AddNumberToObject(meta, "cells", (double)k * k);
    cJSON_AddBoolToObject(meta, "normalize", normalize);
    rows = cJSON_AddArrayToObject(meta, "values");
    for (int r = 0; rows && r < k; r++)
        cJSON_AddItemToArray(rows, cJSON_CreateDoubleArray(d.v + r * k, k));
    ret = chart_render(base, pp, "confusion", d.title, draw_confusion, &d, meta);
done:
    free(d.v);
    cJSON_Delete(meta);
    return ret;
}

/* ---- panels on a grid (curves, histograms) ---- */

struct grid {
    size_t n, cols, rows;
    double x0, y0, pw, ph; /* the area's corner, one panel's size */
};

static void grid_init(struct grid *g, size_t n, double x0, double y0, double x1, double y1,
                      int one_row)
{
    g->n = n;
    g->cols = one_row ? n : (size_t)ceil(sqrt((double)n));
    if (g->cols < 1)
        g->cols = 1;
    g->rows = (n + g->cols - 1) / g->cols;
    g->x0 = x0;
    g->y0 = y0;
    g->pw = (x1 - x0) / (double)g->cols;
    g->ph = (y1 - y0) / (double)(g->rows ? g->rows : 1);
}

/* The plot box of panel i, leaving room for its title, tick labels and the x label. */
static struct chart_box grid_box(const struct grid *g, size_t i, double s, double left)
{
    double px = g->x0 + (double)(i % g->cols) * g->pw, py = g->y0 + (double)(i / g->cols) * g->ph;
    struct chart_box b = {px + left + 6, py + s * 1.8, px + g->pw - 12, py + g->ph - s * 3.2};
    return b;
}

static void panel_labels(struct chart *c, const struct chart_box *b, const char *title,
                         const char *xlabel, double s)
{
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    chart_text(c, (b->x0 + b->x1) / 2, b->y0 - s * 0.4, title,
               chart_fit_size(c, title, s, b->x1 - b->x0), CHART_BOLD, 0.5, 1, 0);
    if (xlabel)
        chart_text(c, (b->x0 + b->x1) / 2, b->y1 + s * 1.5, xlabel, s, CHART_NORMAL, 0.5, 0, 0);
}

/* ---- learning curves ---- */

struct curves {
    const struct mer_plot_panel *p;
    size_t n;
    const char *title;
};

static void series_range(const struct mer_plot_panel *p, double *xlo, double *xhi, double *ylo,
                         double *yhi)
{
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    for (size_t s = 0; s < p->n_series; s++)
        for (size_t i = 0; i < p->series[s].n; i++) {
            double x = p->series[s].x[i], y = p->series[s].y[i];
            if (!isfinite(x) || !isfinite(y))
                continue;
            *xlo = fmin(*xlo, x);
            *xhi = fmax(*xhi, x);
            *ylo = fmin(*ylo, y);
            *yhi = fmax(*yhi, y);
        }
}

static void draw_series(struct chart *c, const struct chart_box *b, const struct chart_axis *xa,
                        const struct chart_axis *ya, const struct mer_plot_series *sr,
                        struct chart_rgb col)
{
    int pen = 0;
    chart_set_rgb(c, col);
    cairo_set_line_width(c->cr, 1.5);
    for (size_t i = 0; i < sr->n; i++) {
        if (!isfinite(sr->x[i]) || !isfinite(sr->y[i])) {
            pen = 0; /* a gap where a record lacks the value */
            continue;
        }
        if (pen)
            cairo_line_to(c->cr, chart_x(b, xa, sr->x[i]), chart_y(b, ya, sr->y[i]));
        else
            cairo_move_to(c->cr, chart_x(b, xa, sr->x[i]), chart_y(b, ya, sr->y[i]));
        pen = 1;
    }
    cairo_stroke(c->cr);
    if (sr->mark >= 0 && (size_t)sr->mark < sr->n && isfinite(sr->y[sr->mark])) {
        double x = chart_x(b, xa, sr->x[sr->mark]), y = chart_y(b, ya, sr->y[sr->mark]);
        cairo_arc(c->cr, x, y, 4, 0, 2 * M_PI);
        cairo_fill_preserve(c->cr);
        cairo_set_source_rgb(c->cr, 0, 0, 0);
        cairo_set_line_width(c->cr, 1);
        cairo_stroke(c->cr);
    }
}

static int draw_curves(struct chart *c, const void *data)
{
    const struct curves *d = data;
    double s = base_size(c), y = chart_title(c, d->title);
    const struct mer_plot_panel *p0 = &d->p[0];
    const char **names = calloc(p0->n_series + 1, sizeof(char *));
    struct grid g;
    if (!names)
        return mer_error("out of memory");
    for (size_t i = 0; i < p0->n_series; i++)
        names[i] = p0->series[i].name;
    y = chart_legend(c, 10, c->w - 10, y, names, p0->n_series, s * 0.9);
    free(names);
    cairo_set_source_rgb(c->cr, 0.3, 0.3, 0.3);
    chart_text(c, c->w / 2, y, "dot: the fold's best epoch", s * 0.8, CHART_NORMAL, 0.5, 0, 0);
    grid_init(&g, d->n, 0, y + s * 1.2, c->w, c->h, 0);
    for (size_t i = 0; i < d->n; i++) {
        const struct mer_plot_panel *p = &d->p[i];
        struct chart_axis xa, ya;
        struct chart_box b;
        double xlo, xhi, ylo, yhi;
        series_range(p, &xlo, &xhi, &ylo, &yhi);
        chart_axis_nice(&xa, xlo, xhi, (int)fmax(2, fmin(8, g.pw / (s * 5))));
        if (xa.step < 1) { /* epochs are whole */
            xa.step = 1;
            xa.decimals = 0;
            xa.lo = floor(xa.lo);
            xa.hi = ceil(xa.hi);
        }
        chart_axis_nice(&ya, ylo, yhi, (int)fmax(2, fmin(6, g.ph / (s * 3))));
        b = grid_box(&g, i, s * 0.85, chart_axis_label_width(c, &ya, s * 0.85));
        chart_axes(c, &b, &xa, &ya, s * 0.85);
        for (size_t k = 0; k < p->n_series; k++)
            draw_series(c, &b, &xa, &ya, &p->series[k], chart_palette(k));
        panel_labels(c, &b, p->title, "epoch", s * 0.85);
    }
    return 0;
}

int mer_plot_curves(const char *base, const struct mer_plot_params *pp,
                    const struct mer_plot_panel *panels, size_t n_panels)
{
    struct curves d = {panels, n_panels, pp->title ? pp->title : "learning curves"};
    cJSON *meta = cJSON_CreateObject(), *pa, *marks;
    int ret;
    if (!n_panels) {
        cJSON_Delete(meta);
        return mer_error("no curves to plot");
    }
    pa = cJSON_AddArrayToObject(meta, "panels");
    marks = cJSON_AddArrayToObject(meta, "marks");
    for (size_t i = 0; pa && marks && i < n_panels; i++) {
        cJSON_AddItemToArray(pa, cJSON_CreateString(panels[i].title));
        for (size_t k = 0; k < panels[i].n_series; k++)
            if (panels[i].series[k].mark >= 0)
                cJSON_AddItemToArray(
                    marks, cJSON_CreateNumber(panels[i].series[k].x[panels[i].series[k].mark]));
    }
    cJSON_AddNumberToObject(meta, "series", (double)panels[0].n_series);
    ret = chart_render(base, pp, "curves", d.title, draw_curves, &d, meta);
    cJSON_Delete(meta);
    return ret;
}

/* ---- histograms ---- */

struct hists {
    const struct mer_plot_hist *h;
    size_t n;
    double threshold;
    const char *threshold_label, *title;
};

static void draw_hist(struct chart *c, const struct chart_box *b, const struct chart_axis *xa,
                      const struct chart_axis *ya, const struct mer_plot_hist *h, double s)
{
    double bw = (h->hi - h->lo) / h->bins;
    for (int i = 0; i < h->bins; i++) {
        double x0 = chart_x(b, xa, h->lo + i * bw), x1 = chart_x(b, xa, h->lo + (i + 1) * bw);
        double y = chart_y(b, ya, h->counts[i]);
        char buf[32];
        chart_set_rgb(c, chart_palette(0));
        cairo_rectangle(c->cr, x0 + 1, y, x1 - x0 - 2, b->y1 - y);
        cairo_fill(c->cr);
        if (h->counts[i] > 0 && x1 - x0 > s * 1.5) { /* the count over the bar, if it fits */
            snprintf(buf, sizeof(buf), "%.0f", h->counts[i]);
            cairo_set_source_rgb(c->cr, 0.2, 0.2, 0.2);
            chart_text(c, (x0 + x1) / 2, y - 2, buf, chart_fit_size(c, buf, s * 0.75, x1 - x0 - 2),
                       CHART_NORMAL, 0.5, 1, 0);
        }
    }
}

static int draw_hists(struct chart *c, const void *data)
{
    const struct hists *d = data;
    double s = base_size(c), y = chart_title(c, d->title);
    struct grid g;
    grid_init(&g, d->n, 0, y + s, c->w, c->h, d->n <= 4);
    for (size_t i = 0; i < d->n; i++) {
        const struct mer_plot_hist *h = &d->h[i];
        struct chart_axis xa, ya;
        struct chart_box b;
        double top = 0;
        for (int k = 0; k < h->bins; k++)
            top = fmax(top, h->counts[k]);
        chart_axis_nice(&xa, h->lo, h->hi, (int)fmax(2, fmin(5, g.pw / (s * 4))));
        chart_axis_nice(&ya, 0, top * 1.1 > 0 ? top * 1.1 : 1, 5);
        if (ya.step < 1) {
            ya.step = 1;
            ya.decimals = 0;
            ya.hi = ceil(ya.hi);
        }
        b = grid_box(&g, i, s * 0.85, chart_axis_label_width(c, &ya, s * 0.85));
        chart_axes(c, &b, &xa, &ya, s * 0.85);
        draw_hist(c, &b, &xa, &ya, h, s);
        if (isfinite(d->threshold) && d->threshold >= xa.lo && d->threshold <= xa.hi) {
            double x = chart_x(&b, &xa, d->threshold);
            cairo_set_source_rgb(c->cr, 0.84, 0.15, 0.16);
            cairo_set_line_width(c->cr, 1.5);
            dashed_line(c, x, b.y0, x, b.y1);
            if (d->threshold_label)
                chart_text(c, x + 3, b.y0 + 3, d->threshold_label,
                           chart_fit_size(c, d->threshold_label, s * 0.75, b.x1 - x - 4),
                           CHART_NORMAL, 0, 0, 0);
        }
        panel_labels(c, &b, h->name, "reliability", s * 0.85);
    }
    return 0;
}

int mer_plot_histograms(const char *base, const struct mer_plot_params *pp,
                        const struct mer_plot_hist *h, size_t n, double threshold,
                        const char *threshold_label)
{
    struct hists d = {h, n, threshold, threshold_label,
                      pp->title ? pp->title : "reliability of the priors"};
    cJSON *meta, *pa;
    int ret;
    if (!n)
        return mer_error("no histogram to plot");
    for (size_t i = 0; i < n; i++)
        if (h[i].bins < 1 || !(h[i].hi > h[i].lo))
            return mer_error("histogram '%s': no bins", h[i].name);
    meta = cJSON_CreateObject();
    pa = cJSON_AddArrayToObject(meta, "panels");
    for (size_t i = 0; pa && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", h[i].name);
        cJSON_AddItemToObject(o, "counts", cJSON_CreateDoubleArray(h[i].counts, h[i].bins));
        cJSON_AddItemToArray(pa, o);
    }
    if (isfinite(threshold))
        cJSON_AddNumberToObject(meta, "threshold", threshold);
    ret = chart_render(base, pp, "histograms", d.title, draw_hists, &d, meta);
    cJSON_Delete(meta);
    return ret;
}

/* ---- calibration ---- */

#define GAP_R 0.84
#define GAP_G 0.15
#define GAP_B 0.16

struct calib {
    const struct mer_calibration *c;
    const char *title;
};

static void draw_reliability(struct chart *c, const struct chart_box *b,
                             const struct mer_calibration *cal)
{
    struct chart_axis a = {0, 1, 0.2, 1};
    double bw = 1.0 / cal->bins;
    for (int i = 0; i < cal->bins; i++) {
        double x0, x1, ya, yc;
        if (!cal->count[i])
            continue;
        x0 = chart_x(b, &a, i * bw) + 0.5;
        x1 = chart_x(b, &a, (i + 1) * bw) - 0.5;
        ya = chart_y(b, &a, cal->acc[i]);
        yc = chart_y(b, &a, cal->conf[i]);
        chart_set_rgb(c, chart_palette(0));
        cairo_rectangle(c->cr, x0, ya, x1 - x0, b->y1 - ya);
        cairo_fill(c->cr);
        /* the gap between accuracy and mean confidence: outlined, so it shows over the bar */
        cairo_set_source_rgba(c->cr, GAP_R, GAP_G, GAP_B, 0.3);
        cairo_rectangle(c->cr, x0 + 1, fmin(ya, yc), x1 - x0 - 2, fabs(yc - ya));
        cairo_fill_preserve(c->cr);
        cairo_set_source_rgb(c->cr, GAP_R, GAP_G, GAP_B);
        cairo_set_line_width(c->cr, 1.5);
        cairo_stroke(c->cr);
    }
    cairo_set_source_rgb(c->cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(c->cr, 1);
    dashed_line(c, b->x0, b->y1, b->x1, b->y0);
}

static int draw_calibration(struct chart *c, const void *data)
{
    const struct calib *d = data;
    const struct mer_calibration *cal = d->c;
    const char *legend[] = {"accuracy", "gap to the mean confidence"};
    struct chart_axis a = {0, 1, 0.2, 1}, ca;
    double s = base_size(c), top = chart_title(c, d->title), left, split;
    struct chart_box rb, cb;
    size_t most = 0;
    const struct chart_rgb colors[] = {chart_palette(0), {GAP_R, GAP_G, GAP_B}};
    top = chart_legend_rgb(c, 10, c->w - 10, top, legend, colors, 2, s * 0.9);
    for (int i = 0; i < cal->bins; i++)
        most = cal->count[i] > most ? cal->count[i] : most;
    chart_axis_nice(&ca, 0, most ? (double)most : 1, 3);
    if (ca.step < 1) {
        ca.step = 1;
        ca.decimals = 0;
        ca.hi = ceil(ca.hi);
    }
    left = fmax(chart_axis_label_width(c, &a, s * 0.85), chart_axis_label_width(c, &ca, s * 0.85)) +
           s * 2.5;
    split = top + (c->h - top) * 0.68;
    rb = (struct chart_box){left, top + s * 0.5, c->w - 20, split - s * 0.6};
    cb = (struct chart_box){left, split + s * 0.6, c->w - 20, c->h - s * 3.2};
    chart_axes(c, &rb, NULL, &a, s * 0.85);
    draw_reliability(c, &rb, cal);
    chart_axes(c, &cb, &a, &ca, s * 0.85);
    for (int i = 0; i < cal->bins; i++) {
        double x0 = chart_x(&cb, &a, (double)i / cal->bins) + 0.5;
        double x1 = chart_x(&cb, &a, (double)(i + 1) / cal->bins) - 0.5;
        double y = chart_y(&cb, &ca, (double)cal->count[i]);
        cairo_set_source_rgb(c->cr, 0.5, 0.5, 0.5);
        cairo_rectangle(c->cr, x0, y, x1 - x0, cb.y1 - y);
        cairo_fill(c->cr);
    }
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    chart_text(c, s * 0.5, (rb.y0 + rb.y1) / 2, "accuracy", s * 0.9, CHART_BOLD, 0.5, 0, M_PI / 2);
    chart_text(c, s * 0.5, (cb.y0 + cb.y1) / 2, "samples", s * 0.9, CHART_BOLD, 0.5, 0, M_PI / 2);
    chart_text(c, (cb.x0 + cb.x1) / 2, c->h - s * 0.5, "confidence (largest probability)", s * 0.9,
               CHART_BOLD, 0.5, 1, 0);
    return 0;
}

int mer_plot_calibration(const char *base, const struct mer_plot_params *pp,
                         const struct mer_calibration *c)
{
    char title[160];
    struct calib d = {c, pp->title};
    cJSON *meta = cJSON_CreateObject();
    int bars = 0, ret;
    snprintf(title, sizeof(title), "calibration: ECE %.4f (%d bins, %zu samples, accuracy %.3f)",
             c->ece, c->bins, c->n, c->accuracy);
    if (!d.title)
        d.title = title;
    for (int i = 0; i < c->bins; i++)
        bars += c->count[i] > 0;
    cJSON_AddNumberToObject(meta, "bins", c->bins);
    cJSON_AddNumberToObject(meta, "bars", bars);
    cJSON_AddNumberToObject(meta, "n", (double)c->n);
    cJSON_AddNumberToObject(meta, "ece", c->ece);
    ret = chart_render(base, pp, "calibration", d.title, draw_calibration, &d, meta);
    cJSON_Delete(meta);
    return ret;
}

/* ---- grouped bars ---- */

struct bars {
    const char *const *rows, *const *classes;
    size_t n_rows, n_classes;
    const double *v, *std;
    const char *y_label, *title;
};

static void error_bar(struct chart *c, double x, double y0, double y1, double cap)
{
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    cairo_set_line_width(c->cr, 1);
    cairo_move_to(c->cr, x, y0);
    cairo_line_to(c->cr, x, y1);
    cairo_move_to(c->cr, x - cap, y0);
    cairo_line_to(c->cr, x + cap, y0);
    cairo_move_to(c->cr, x - cap, y1);
    cairo_line_to(c->cr, x + cap, y1);
    cairo_stroke(c->cr);
}

static int draw_bars(struct chart *c, const void *data)
{
    const struct bars *d = data;
    double s = base_size(c), top = chart_title(c, d->title), hi = 1, slot, bottom, left, bw;
    struct chart_axis ya;
    struct chart_box b;
    int rotate;
    top = chart_legend(c, 10, c->w - 10, top, d->rows, d->n_rows, s * 0.9);
    for (size_t i = 0; i < d->n_rows * d->n_classes; i++)
        hi = fmax(hi, d->v[i] + (d->std ? d->std[i] : 0));
    chart_axis_nice(&ya, 0, hi, 5);
    left = chart_axis_label_width(c, &ya, s * 0.85) + s * 2.5;
    slot = (c->w - 20 - left) / (double)d->n_classes;
    bottom = slot_labels_height(c, d->classes, d->n_classes, slot, s * 0.9, &rotate);
    b = (struct chart_box){left, top + s * 0.5, c->w - 20, c->h - bottom - 8};
    chart_axes(c, &b, NULL, &ya, s * 0.85);
    bw = slot * 0.8 / (double)d->n_rows;
    for (size_t k = 0; k < d->n_classes; k++)
        for (size_t r = 0; r < d->n_rows; r++) {
            double v = d->v[r * d->n_classes + k];
            double x = b.x0 + k * slot + slot * 0.1 + r * bw, y = chart_y(&b, &ya, v);
            chart_set_rgb(c, chart_palette(r));
            cairo_rectangle(c->cr, x + 0.5, y, bw - 1, b.y1 - y);
            cairo_fill(c->cr);
            if (d->std && d->std[r * d->n_classes + k] > 0) {
                double e = d->std[r * d->n_classes + k];
                error_bar(c, x + bw / 2, chart_y(&b, &ya, fmax(v - e, 0)), chart_y(&b, &ya, v + e),
                          fmin(bw * 0.25, 4));
            }
        }
    slot_labels(c, d->classes, d->n_classes, b.x0, slot, b.y1 + 4, s * 0.9, rotate);
    cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
    chart_text(c, s * 0.5, (b.y0 + b.y1) / 2, d->y_label, s * 0.9, CHART_BOLD, 0.5, 0, M_PI / 2);
    return 0;
}

int mer_plot_bars(const char *base, const struct mer_plot_params *pp, const char *const *rows,
                  size_t n_rows, const char *const *classes, size_t n_classes, const double *values,
                  const double *std, const char *y_label)
{
    struct bars d = {rows,
                     classes,
                     n_rows,
                     n_classes,
                     values,
                     std,
                     y_label ? y_label : "F1",
                     pp->title ? pp->title : "per-class F1"};
    cJSON *meta;
    int ret;
    if (!n_rows || !n_classes)
        return mer_error("no bars to plot");
    for (size_t i = 0; i < n_rows * n_classes; i++)
        if (!isfinite(values[i]) || values[i] < 0 || (std && !(std[i] >= 0)))
            return mer_error("bar value of '%s', '%s': expected a finite number >= 0",
                             rows[i / n_classes], classes[i % n_classes]);
    meta = cJSON_CreateObject();
    cJSON_AddItemToObject(meta, "rows", string_array(rows, n_rows));
    cJSON_AddItemToObject(meta, "classes", string_array(classes, n_classes));
    cJSON_AddNumberToObject(meta, "bars", (double)(n_rows * n_classes));
    ret = chart_render(base, pp, "bars", d.title, draw_bars, &d, meta);
    cJSON_Delete(meta);
    return ret;
}
