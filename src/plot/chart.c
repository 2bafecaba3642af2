/* The chart layer (see chart_impl.h): canvas, text, axes, colours, legends, SVG text data. */
#include "plot/chart_impl.h"
#include "mer/error.h"
#include "mer/fs.h"

#include <cairo-svg.h>
#include <cjson/cJSON.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT     "sans-serif"
#define MIN_SIZE 200
#define MAX_SIZE 8000

struct mer_plot_params mer_plot_default_params(void)
{
    struct mer_plot_params p = {800, 600, MER_PLOT_SVG | MER_PLOT_PNG, NULL};
    return p;
}

int mer_plot_parse_format(const char *s, unsigned *formats)
{
    if (!strcmp(s, "svg"))
        *formats = MER_PLOT_SVG;
    else if (!strcmp(s, "png"))
        *formats = MER_PLOT_PNG;
    else if (!strcmp(s, "both"))
        *formats = MER_PLOT_SVG | MER_PLOT_PNG;
    else
        return mer_error("format '%s': expected svg, png or both", s);
    return 0;
}

/* ---- output buffers ---- */

struct buf {
    unsigned char *data;
    size_t len, cap;
    int oom;
};

static int buf_add(struct buf *b, const void *data, size_t len)
{
    if (b->oom || len > SIZE_MAX / 4 - b->len) {
        b->oom = 1;
        return -1;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        unsigned char *d;
        while (cap < b->len + len + 1)
            cap *= 2;
        if (!(d = realloc(b->data, cap))) {
            b->oom = 1;
            return -1;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

static int buf_str(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

static cairo_status_t buf_write(void *closure, const unsigned char *data, unsigned int len)
{
    return buf_add(closure, data, len) < 0 ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

/* Text for XML content: & < > escaped (control bytes dropped: XML 1.0 has no place for them). */
static int buf_xml(struct buf *b, const char *s)
{
    for (; *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (e ? buf_str(b, e) < 0
              : ((unsigned char)*s < 0x20 && *s != '\n' ? 0 : buf_add(b, s, 1)) < 0)
            return -1;
    }
    return 0;
}

/* ---- rendering ---- */

static int draw_on(cairo_surface_t *s, const struct mer_plot_params *pp, chart_draw_fn fn,
                   const void *data, struct mer_strv *texts)
{
    struct chart c = {0};
    int ret;
    c.cr = cairo_create(s);
    c.w = pp->width;
    c.h = pp->height;
    cairo_set_source_rgb(c.cr, 1, 1, 1);
    cairo_paint(c.cr);
    cairo_select_font_face(c.cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    ret = fn(&c, data);
    if (ret == 0 && c.failed)
        ret = mer_error("out of memory");
    if (ret == 0 && cairo_status(c.cr) != CAIRO_STATUS_SUCCESS)
        ret = mer_error("cairo: %s", cairo_status_to_string(cairo_status(c.cr)));
    cairo_destroy(c.cr);
    if (texts) {
        *texts = c.texts;
    } else {
        mer_strv_release(&c.texts);
    }
    return ret;
}

/* The SVG's text as data, inserted right after the <svg ...> tag that cairo writes. */
static int svg_with_text(struct buf *out, const struct buf *svg, const char *title,
                         const struct mer_strv *texts, const char *meta)
{
    const char *start = strstr((const char *)svg->data, "<svg");
    const char *end = start ? strchr(start, '>') : NULL;
    size_t head;
    if (!end)
        return mer_error("cairo wrote no <svg> element");
    head = (size_t)(end + 1 - (const char *)svg->data);
    buf_add(out, svg->data, head);
    buf_str(out, "\n<title>");
    buf_xml(out, title ? title : "");
    buf_str(out, "</title>\n<desc>");
    for (size_t i = 0; i < texts->n; i++) {
        buf_xml(out, texts->v[i]);
        buf_str(out, "\n");
    }
    buf_str(out, "</desc>\n<metadata id=\"mer-plot\">");
    buf_xml(out, meta);
    buf_str(out, "</metadata>");
    buf_add(out, svg->data + head, svg->len - head);
    return out->oom ? mer_error("out of memory") : 0;
}

static int render_svg(const char *path, const struct mer_plot_params *pp, const char *title,
                      chart_draw_fn fn, const void *data, const char *meta)
{
    struct buf svg = {0}, out = {0};
    struct mer_strv texts = MER_STRV_INIT;
    cairo_surface_t *s =
        cairo_svg_surface_create_for_stream(buf_write, &svg, pp->width, pp->height);
    int ret = -1;
    cairo_svg_surface_set_document_unit(s, CAIRO_SVG_UNIT_PX);
    if (draw_on(s, pp, fn, data, &texts) < 0)
        goto done;
    cairo_surface_finish(s);
    if (svg.oom || cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        mer_error("'%s': cairo: %s", path,
                  svg.oom ? "out of memory" : cairo_status_to_string(cairo_surface_status(s)));
        goto done;
    }
    if (svg_with_text(&out, &svg, title, &texts, meta) < 0 ||
        mer_write_file_atomic(path, out.data, out.len) < 0)
        goto done;
    ret = 0;
done:
    cairo_surface_destroy(s);
    mer_strv_release(&texts);
    free(svg.data);
    free(out.data);
    return ret;
}

static int render_png(const char *path, const struct mer_plot_params *pp, chart_draw_fn fn,
                      const void *data)
{
    struct buf png = {0};
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, pp->width, pp->height);
    cairo_status_t st;
    int ret = -1;
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        mer_error("'%s': cairo: %s", path, cairo_status_to_string(cairo_surface_status(s)));
        goto done;
    }
    if (draw_on(s, pp, fn, data, NULL) < 0)
        goto done;
    cairo_surface_flush(s);
    st = cairo_surface_write_to_png_stream(s, buf_write, &png);
    if (st != CAIRO_STATUS_SUCCESS) {
        mer_error("'%s': cairo: %s", path, cairo_status_to_string(st));
        goto done;
    }
    if (mer_write_file_atomic(path, png.data, png.len) < 0)
        goto done;
    ret = 0;
done:
    cairo_surface_destroy(s);
    free(png.data);
    return ret;
}

int mer_plot_check_outputs(const char *base, unsigned formats, int force)
{
    static const struct {
        unsigned format;
        const char *ext;
    } files[] = {{MER_PLOT_SVG, "svg"}, {MER_PLOT_PNG, "png"}};
    for (size_t i = 0; i < MER_ARRAY_SIZE(files); i++) {
        char *path;
        int ret;
        if (!(formats & files[i].format))
            continue;
        if (!(path = mer_strfmt("%s.%s", base, files[i].ext)))
            return mer_error("out of memory");
        ret = mer_output_check(path, force);
        free(path);
        if (ret < 0)
            return -1;
    }
    return 0;
}

int chart_render(const char *base, const struct mer_plot_params *pp, const char *kind,
                 const char *title, chart_draw_fn fn, const void *data, cJSON *meta)
{
    char *path = NULL, *meta_text = NULL;
    int ret = -1;
    if (pp->width < MIN_SIZE || pp->width > MAX_SIZE || pp->height < MIN_SIZE ||
        pp->height > MAX_SIZE)
        return mer_error("plot size %dx%d: each side must be in [%d, %d]", pp->width, pp->height,
                         MIN_SIZE, MAX_SIZE);
    if (!(pp->formats & (MER_PLOT_SVG | MER_PLOT_PNG)))
        return mer_error("no plot format chosen");
    if (!cJSON_AddStringToObject(meta, "kind", kind) ||
        !cJSON_AddStringToObject(meta, "title", title ? title : "") ||
        !(meta_text = cJSON_PrintUnformatted(meta))) {
        mer_error("out of memory");
        goto done;
    }
    if (pp->formats & MER_PLOT_SVG) {
        if (!(path = mer_strfmt("%s.svg", base)) ||
            render_svg(path, pp, title, fn, data, meta_text) < 0)
            goto done;
        free(path);
        path = NULL;
    }
    if (pp->formats & MER_PLOT_PNG) {
        if (!(path = mer_strfmt("%s.png", base)) || render_png(path, pp, fn, data) < 0)
            goto done;
    }
    ret = 0;
done:
    if (ret < 0 && !path && !*mer_errmsg())
        mer_error("out of memory");
    free(path);
    free(meta_text);
    /* Cairo keeps its fonts (and fontconfig's patterns) in static caches for the life of the
     * process; a plot is drawn rarely, so they are dropped after each (no leak at exit). */
    cairo_debug_reset_static_data();
    FcFini();
    return ret;
}

/* ---- text ---- */

static void set_font(struct chart *c, double size, enum chart_weight w)
{
    cairo_select_font_face(c->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           w == CHART_BOLD ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(c->cr, size);
}

double chart_text_width(struct chart *c, const char *s, double size, enum chart_weight w)
{
    cairo_text_extents_t e;
    set_font(c, size, w);
    cairo_text_extents(c->cr, s, &e);
    return e.x_advance;
}

void chart_text(struct chart *c, double x, double y, const char *s, double size,
                enum chart_weight w, double ha, double va, double angle)
{
    cairo_font_extents_t fe;
    double width = chart_text_width(c, s, size, w);
    /* Anchor on the font's ascent and descent, not the glyphs' ink: labels line up. */
    cairo_font_extents(c->cr, &fe);
    cairo_save(c->cr);
    cairo_translate(c->cr, x, y);
    cairo_rotate(c->cr, -angle);
    cairo_move_to(c->cr, -ha * width, fe.ascent - va * (fe.ascent + fe.descent));
    cairo_show_text(c->cr, s);
    cairo_new_path(c->cr);
    cairo_restore(c->cr);
    if (mer_strv_push(&c->texts, s, strlen(s)) < 0)
        c->failed = 1;
}

double chart_fit_size(struct chart *c, const char *s, double size, double width)
{
    double w = chart_text_width(c, s, size, CHART_BOLD); /* the wider: fits either weight */
    return w > width && w > 0 ? size * width / w : size;
}

double chart_title(struct chart *c, const char *title)
{
    double size = chart_fit_size(c, title, c->h / 30 + 6, c->w - 20);
    cairo_set_source_rgb(c->cr, 0, 0, 0);
    chart_text(c, c->w / 2, 10, title, size, CHART_BOLD, 0.5, 0, 0);
    return 10 + size * 1.6;
}

/* ---- axes ---- */

void chart_axis_nice(struct chart_axis *a, double lo, double hi, int n)
{
    double span, raw, mag, f;
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (hi - lo < 1e-12 * (fabs(lo) + fabs(hi)) || hi <= lo) {
        double pad = lo == 0 ? 1 : fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    span = hi - lo;
    raw = span / (n > 1 ? n : 1);
    mag = pow(10, floor(log10(raw)));
    f = raw / mag;
    a->step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
    a->lo = floor(lo / a->step + 1e-9) * a->step;
    a->hi = ceil(hi / a->step - 1e-9) * a->step;
    a->decimals = a->step >= 1 ? 0 : (int)ceil(-log10(a->step) - 1e-9);
    if (fabs(a->step / pow(10, -a->decimals) - round(a->step / pow(10, -a->decimals))) > 1e-6)
        a->decimals++; /* 2.5 x 10^-k needs one more */
}

void chart_axis_label(const struct chart_axis *a, double v, char *buf, size_t size)
{
    if (fabs(v) < a->step * 1e-9)
        v = 0; /* never "-0.0" */
    snprintf(buf, size, "%.*f", a->decimals, v);
}

double chart_axis_label_width(struct chart *c, const struct chart_axis *a, double size)
{
    double w = 0;
    char buf[64];
    for (double v = a->lo; v <= a->hi + a->step * 1e-6; v += a->step) {
        chart_axis_label(a, v, buf, sizeof(buf));
        w = fmax(w, chart_text_width(c, buf, size, CHART_NORMAL));
    }
    return w;
}

double chart_x(const struct chart_box *b, const struct chart_axis *a, double v)
{
    return b->x0 + (v - a->lo) / (a->hi - a->lo) * (b->x1 - b->x0);
}

double chart_y(const struct chart_box *b, const struct chart_axis *a, double v)
{
    return b->y1 - (v - a->lo) / (a->hi - a->lo) * (b->y1 - b->y0);
}

static void axis_ticks(struct chart *c, const struct chart_box *b, const struct chart_axis *a,
                       int vertical, double size)
{
    char buf[64];
    long n = lround((a->hi - a->lo) / a->step);
    for (long i = 0; i <= n; i++) {
        double v = a->lo + (double)i * a->step;
        double p = vertical ? chart_y(b, a, v) : chart_x(b, a, v);
        cairo_set_source_rgb(c->cr, 0.9, 0.9, 0.9);
        if (vertical) {
            cairo_move_to(c->cr, b->x0, p);
            cairo_line_to(c->cr, b->x1, p);
        } else {
            cairo_move_to(c->cr, p, b->y0);
            cairo_line_to(c->cr, p, b->y1);
        }
        cairo_stroke(c->cr);
        cairo_set_source_rgb(c->cr, 0.2, 0.2, 0.2);
        chart_axis_label(a, v, buf, sizeof(buf));
        if (vertical)
            chart_text(c, b->x0 - 4, p, buf, size, CHART_NORMAL, 1, 0.5, 0);
        else
            chart_text(c, p, b->y1 + 3, buf, size, CHART_NORMAL, 0.5, 0, 0);
    }
}

void chart_axes(struct chart *c, const struct chart_box *b, const struct chart_axis *xa,
                const struct chart_axis *ya, double size)
{
    cairo_set_line_width(c->cr, 1);
    if (ya)
        axis_ticks(c, b, ya, 1, size);
    if (xa)
        axis_ticks(c, b, xa, 0, size);
    cairo_set_source_rgb(c->cr, 0.3, 0.3, 0.3);
    cairo_rectangle(c->cr, b->x0, b->y0, b->x1 - b->x0, b->y1 - b->y0);
    cairo_stroke(c->cr);
}

/* ---- colour ---- */

struct chart_rgb chart_cmap(double t)
{
    /* matplotlib's "Blues" at 5 stops, interpolated linearly. */
    static const struct chart_rgb stops[] = {
        {0.969, 0.984, 1.000}, {0.776, 0.859, 0.937}, {0.420, 0.682, 0.839},
        {0.129, 0.443, 0.710}, {0.031, 0.188, 0.420},
    };
    const int n = (int)MER_ARRAY_SIZE(stops) - 1;
    double x = (isfinite(t) ? fmin(fmax(t, 0), 1) : 0) * n, f;
    int i = (int)floor(x);
    struct chart_rgb a, b, r;
    if (i >= n)
        i = n - 1;
    f = x - i;
    a = stops[i];
    b = stops[i + 1];
    r.r = a.r + (b.r - a.r) * f;
    r.g = a.g + (b.g - a.g) * f;
    r.b = a.b + (b.b - a.b) * f;
    return r;
}

struct chart_rgb chart_palette(size_t i)
{
    static const struct chart_rgb tab10[] = {
        {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
        {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
        {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812},
    };
    return tab10[i % MER_ARRAY_SIZE(tab10)];
}

void chart_set_rgb(struct chart *c, struct chart_rgb col)
{
    cairo_set_source_rgb(c->cr, col.r, col.g, col.b);
}

void chart_colorbar(struct chart *c, const struct chart_box *b, double lo, double hi, int integer,
                    double size)
{
    struct chart_axis a;
    const int steps = 64;
    double h = (b->y1 - b->y0) / steps;
    for (int i = 0; i < steps; i++) {
        chart_set_rgb(c, chart_cmap((i + 0.5) / steps));
        cairo_rectangle(c->cr, b->x0, b->y1 - (i + 1) * h, b->x1 - b->x0, h + 0.5);
        cairo_fill(c->cr);
    }
    chart_axis_nice(&a, lo, hi, 5);
    if (integer && a.step < 1) {
        a.step = 1;
        a.decimals = 0;
    }
    /* The bar spans exactly lo..hi; only ticks inside it are labelled. */
    cairo_set_source_rgb(c->cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(c->cr, 1);
    for (long i = 0; a.lo + (double)i * a.step <= hi + a.step * 1e-6; i++) {
        double v = a.lo + (double)i * a.step, y;
        char buf[64];
        if (v < lo - a.step * 1e-6)
            continue;
        y = b->y1 - (hi > lo ? (v - lo) / (hi - lo) : 0) * (b->y1 - b->y0);
        cairo_move_to(c->cr, b->x1, y);
        cairo_line_to(c->cr, b->x1 + 4, y);
        cairo_stroke(c->cr);
        chart_axis_label(&a, v, buf, sizeof(buf));
        chart_text(c, b->x1 + 6, y, buf, size, CHART_NORMAL, 0, 0.5, 0);
    }
    cairo_rectangle(c->cr, b->x0, b->y0, b->x1 - b->x0, b->y1 - b->y0);
    cairo_stroke(c->cr);
}

/* ---- legend ---- */

double chart_legend(struct chart *c, double x0, double x1, double y, const char *const *names,
                    size_t n, double size)
{
    return chart_legend_rgb(c, x0, x1, y, names, NULL, n, size);
}

double chart_legend_rgb(struct chart *c, double x0, double x1, double y, const char *const *names,
                        const struct chart_rgb *colors, size_t n, double size)
{
    const double sw = size, gap = size * 1.5;
    size_t i = 0;
    while (i < n) {
        /* as many entries as fit on this row (at least one) */
        size_t j = i;
        double width = 0, x;
        while (j < n) {
            double e = sw + 4 + chart_text_width(c, names[j], size, CHART_NORMAL) + gap;
            if (j > i && width + e - gap > x1 - x0)
                break;
            width += e;
            j++;
        }
        width -= gap;
        x = x0 + fmax(0, (x1 - x0 - width) / 2);
        for (size_t k = i; k < j; k++) {
            chart_set_rgb(c, colors ? colors[k] : chart_palette(k));
            cairo_rectangle(c->cr, x, y + size * 0.1, sw, size * 0.8);
            cairo_fill(c->cr);
            cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
            chart_text(c, x + sw + 4, y + size * 0.5, names[k], size, CHART_NORMAL, 0, 0.5, 0);
            x += sw + 4 + chart_text_width(c, names[k], size, CHART_NORMAL) + gap;
        }
        y += size * 1.5;
        i = j;
    }
    return y;
}
