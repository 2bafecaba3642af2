/*
 * chart_impl.h: the one small chart layer under every plot of plot.h: a canvas (cairo surface
 * for SVG or PNG), text that is measured before it is placed, axes with "nice" ticks, a colour
 * map, a palette, legends, and the SVG's text as data (<title>, <desc>, <metadata>).
 *
 *     static int draw(struct chart *c, const void *data) { ... chart_text(c, ...); return 0; }
 *     return chart_render(base, pp, "confusion", "title", draw, data, meta);  // meta: cJSON
 *
 * A draw function may be called twice (once per format) and must draw the same both times.
 */
#ifndef MER_CHART_IMPL_H
#define MER_CHART_IMPL_H

#include "mer/plot.h"
#include "mer/strv.h"

#include <cairo.h>

struct cJSON;

struct chart {
    cairo_t *cr;
    double w, h;
    struct mer_strv texts; /* every label drawn, for the SVG's <desc> */
    int failed;            /* out of memory while recording text */
};

typedef int (*chart_draw_fn)(struct chart *c, const void *data);

/* Draws with fn into each format of pp, writes <base>.svg / <base>.png atomically. meta (a
 * cJSON object, borrowed; "kind" is added) goes into the SVG's <metadata>. */
int chart_render(const char *base, const struct mer_plot_params *pp, const char *kind,
                 const char *title, chart_draw_fn fn, const void *data, struct cJSON *meta);

/* ---- text ---- */
enum chart_weight { CHART_NORMAL, CHART_BOLD };
/* Width of s at size (points). */
double chart_text_width(struct chart *c, const char *s, double size, enum chart_weight w);
/* Draws s with its anchor at (x, y): ha 0 left, 0.5 centre, 1 right; va 0 top, 0.5 middle,
 * 1 baseline-ish bottom; rotated by angle radians (counter-clockwise) about the anchor. */
void chart_text(struct chart *c, double x, double y, const char *s, double size,
                enum chart_weight w, double ha, double va, double angle);
/* The largest size <= size at which s fits in width. */
double chart_fit_size(struct chart *c, const char *s, double size, double width);
/* The title, centred at the top; returns the y below it. */
double chart_title(struct chart *c, const char *title);

/* ---- axes ---- */
struct chart_axis {
    double lo, hi; /* data range shown */
    double step;   /* tick step */
    int decimals;  /* tick label decimals */
};
/* Nice ticks over [lo, hi] (about n of them), the range widened to whole ticks. */
void chart_axis_nice(struct chart_axis *a, double lo, double hi, int n);
/* The tick label of v. */
void chart_axis_label(const struct chart_axis *a, double v, char *buf, size_t size);
/* Width of the widest tick label. */
double chart_axis_label_width(struct chart *c, const struct chart_axis *a, double size);
/* A plot box (x0, y0) - (x1, y1) in canvas units. */
struct chart_box {
    double x0, y0, x1, y1;
};
/* Maps data to canvas. */
double chart_x(const struct chart_box *b, const struct chart_axis *a, double v);
double chart_y(const struct chart_box *b, const struct chart_axis *a, double v);
/* The frame, grid lines, ticks and labels of both axes (xa may be NULL: no x ticks). */
void chart_axes(struct chart *c, const struct chart_box *b, const struct chart_axis *xa,
                const struct chart_axis *ya, double size);

/* ---- colour ---- */
struct chart_rgb {
    double r, g, b;
};
/* Sequential map for t in [0, 1] (white to dark blue). */
struct chart_rgb chart_cmap(double t);
/* Palette colour i (Tableau 10, cycled). */
struct chart_rgb chart_palette(size_t i);
void chart_set_rgb(struct chart *c, struct chart_rgb col);
/* A vertical colour bar over box b for values lo..hi. */
void chart_colorbar(struct chart *c, const struct chart_box *b, double lo, double hi, int integer,
                    double size);

/* ---- legend ---- */
/* One row of swatches + names, centred at y within [x0, x1], wrapped onto more rows if needed;
 * returns the y below it. */
double chart_legend(struct chart *c, double x0, double x1, double y, const char *const *names,
                    size_t n, double size);
/* The same with colours [n] of the caller's (NULL: the palette's). */
double chart_legend_rgb(struct chart *c, double x0, double x1, double y, const char *const *names,
                        const struct chart_rgb *colors, size_t n, double size);

#endif
