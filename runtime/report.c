/* report.c — what a training run leaves for a person to look at:
 * curves.svg (loss and every validation metric per epoch, stage boundaries
 * marked)
 * and PNG overlays of predictions on image slices. Every file is written
 * atomically (rt_file_write_atomic and rt_png_write: temp file in the same
 * folder, fsync, rename), so a killed run never leaves half a report.
 */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ curves */

typedef struct plot_box {
    double x0, y0, w, h;  /* drawing area in SVG units */
    double lo, hi;        /* value range on the y axis */
    int n;                /* epochs on the x axis */
} plot_box;

static double px(const plot_box *b, int i) { return b->x0 + b->w * (b->n > 1 ? (double)i / (b->n - 1) : 0.5); }
static double py(const plot_box *b, double v)
{
    double t = b->hi > b->lo ? (v - b->lo) / (b->hi - b->lo) : 0.5;
    return b->y0 + b->h * (1 - t);
}

/* Series: SERIES_LOSS, SERIES_DICE_FG, SERIES_MIOU, then SERIES_CLASS + k
 * (class k's Dice, k >= 1). */
enum { SERIES_LOSS, SERIES_DICE_FG, SERIES_MIOU, SERIES_CLASS };

static double series_value(const rt_epoch_row *r, int which)
{
    if (which == SERIES_LOSS)
        return r->loss;
    if (!r->validated)
        return NAN;
    if (which == SERIES_DICE_FG)
        return r->val.dice_fg;
    if (which == SERIES_MIOU)
        return r->val.miou;
    int k = which - SERIES_CLASS;
    return k < r->val.classes ? r->val.dice[k] : NAN;
}

static void svg_series(seg_buf *s, const plot_box *b, const rt_epoch_row *rows, int which,
                       const char *colour, const char *dash)
{
    seg_buf_printf(s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s%s%s points=\"",
                   colour, dash ? " stroke-dasharray=\"" : "", dash ? dash : "", dash ? "\"" : "");
    for (int i = 0; i < b->n; i++) {
        double v = series_value(&rows[i], which);
        if (isfinite(v))
            seg_buf_printf(s, "%.1f,%.1f ", px(b, i), py(b, v));
    }
    seg_buf_printf(s, "\"/>\n");
}

/* The frame, five y ticks with values, and epoch ticks at stage starts. */
static void svg_axes(seg_buf *s, const plot_box *b, const rt_epoch_row *rows, const char *label)
{
    seg_buf_printf(s, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                   "stroke=\"#888\"/>\n", b->x0, b->y0, b->w, b->h);
    seg_buf_printf(s, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"13\">%s</text>\n", b->x0,
                   b->y0 - 8, label);
    for (int t = 0; t <= 4; t++) {
        double v = b->lo + (b->hi - b->lo) * t / 4, y = py(b, v);
        seg_buf_printf(s, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                       "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.3g</text>\n",
                       b->x0, y, b->x0 + b->w, y, b->x0 - 4, y + 4, v);
    }
    for (int i = 0; i < b->n; i++)
        if (i == 0 || i == b->n - 1 || rows[i].epoch % 10 == 0)
            seg_buf_printf(s, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"10\" text-anchor=\"middle\">"
                           "%d</text>\n", px(b, i), b->y0 + b->h + 12, rows[i].epoch);
}

static void range_of(const rt_epoch_row *rows, int n, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double v = rows[i].loss;
        if (!isfinite(v))
            continue;
        *lo = v < *lo ? v : *lo;
        *hi = v > *hi ? v : *hi;
    }
    if (!isfinite(*lo))
        *lo = 0, *hi = 1;
}

static void svg_stage_marks(seg_buf *s, const plot_box *b, const rt_epoch_row *rows)
{
    for (int i = 0; i < b->n; i++) {
        if (i > 0 && rows[i].stage == rows[i - 1].stage)
            continue;
        double x = px(b, i);
        seg_buf_printf(s, "<line x1=\"%.1f\" y1=\"40\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#bbb\" "
                       "stroke-dasharray=\"4 3\"/>\n", x, x, b->y0 + b->h);
        seg_buf_printf(s, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"12\" fill=\"#555\">%s</text>\n",
                       x + 3, b->y0 + b->h + 26, rows[i].stage_name ? rows[i].stage_name : "");
    }
}

static const char *const class_colours[] = {"#27ae60", "#e67e22", "#8e44ad", "#16a085", "#d35400"};

/* Every validation series of the bottom panel, with a legend. */
static void svg_metrics(seg_buf *s, const plot_box *b, const rt_epoch_row *rows, int n)
{
    const rt_epoch_row *named = NULL;
    for (int i = 0; i < n && !named; i++)
        named = rows[i].validated ? &rows[i] : NULL;
    double lx = b->x0 + b->w + 12, ly = b->y0 + 10;
    svg_series(s, b, rows, SERIES_DICE_FG, "#2471a3", NULL);
    seg_buf_printf(s, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" fill=\"#2471a3\">Dice "
                   "(foreground)</text>\n", lx, ly);
    svg_series(s, b, rows, SERIES_MIOU, "#7f8c8d", "6 3");
    seg_buf_printf(s, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" fill=\"#7f8c8d\">mIoU</text>\n",
                   lx, ly + 16);
    for (int k = 1; named && k < named->val.classes; k++) {
        const char *c = class_colours[(k - 1) % 5];
        svg_series(s, b, rows, SERIES_CLASS + k, c, "3 2");
        seg_buf_printf(s, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" fill=\"%s\">Dice %s"
                       "</text>\n", lx, ly + 16 * (k + 1), c, named->class_names[k]);
    }
}

int rt_report_curves(const char *path, const char *title, const rt_epoch_row *rows, int n,
                     rt_error *err)
{
    seg_buf s = {0};
    seg_buf_printf(&s, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"640\" "
                       "font-family=\"sans-serif\">\n<rect width=\"1000\" height=\"640\" fill=\"white\"/>\n");
    seg_buf_printf(&s, "<text x=\"60\" y=\"22\" font-size=\"16\">%s</text>\n", title);
    plot_box loss = {60, 50, 780, 210, 0, 1, n}, metric = {60, 330, 780, 240, 0, 1, n};
    range_of(rows, n, &loss.lo, &loss.hi);
    svg_axes(&s, &loss, rows, "training loss");
    svg_axes(&s, &metric, rows, "validation");
    svg_series(&s, &loss, rows, SERIES_LOSS, "#c0392b", NULL);
    svg_metrics(&s, &metric, rows, n);
    svg_stage_marks(&s, &metric, rows);
    seg_buf_printf(&s, "<text x=\"430\" y=\"630\" font-size=\"12\">epoch</text>\n</svg>\n");
    int rc = rt_file_write_atomic(path, s.data, s.len, err);
    seg_buf_free(&s);
    return rc;
}

/* ----------------------------------------------------------- overlays */

/* Image in gray (min-max scaled), truth outline in green, prediction
 * filled in translucent red, lesions (class 2) in yellow tints. */
static void overlay_pixel(uint8_t *rgb, float g, int truth, int pred, int truth_edge)
{
    float r = g, gr = g, b = g;
    if (pred > 0) {
        float a = 0.45f;
        r = (1 - a) * r + a * 255;
        gr = (1 - a) * gr + a * (pred > 1 ? 220 : 40);
        b = (1 - a) * b + a * 40;
    }
    if (truth_edge) {
        r = 40, gr = truth > 1 ? 255 : 230, b = truth > 1 ? 255 : 60;
    }
    rgb[0] = (uint8_t)lrintf(fminf(fmaxf(r, 0), 255));
    rgb[1] = (uint8_t)lrintf(fminf(fmaxf(gr, 0), 255));
    rgb[2] = (uint8_t)lrintf(fminf(fmaxf(b, 0), 255));
}

static int is_edge(const int32_t *t, int h, int w, int y, int x)
{
    int v = t[y * w + x];
    if (v == 0)
        return 0;
    return (y == 0 || t[(y - 1) * w + x] != v) || (y == h - 1 || t[(y + 1) * w + x] != v) ||
           (x == 0 || t[y * w + x - 1] != v) || (x == w - 1 || t[y * w + x + 1] != v);
}

/* Nearest-neighbour upscaling so a 64x64 slice is big enough to read. */
static uint8_t *upscale(const uint8_t *rgb, int h, int w, int f)
{
    uint8_t *big = seg_xcalloc((size_t)h * f * w * f * 3, 1);
    for (int y = 0; y < h * f; y++)
        for (int x = 0; x < w * f; x++)
            memcpy(big + 3 * ((size_t)y * w * f + x), rgb + 3 * ((size_t)(y / f) * w + x / f), 3);
    return big;
}

int rt_report_overlay(const char *path, const float *image, const int32_t *truth,
                      const int32_t *pred, int h, int w, rt_error *err)
{
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < h * w; i++)
        lo = fminf(lo, image[i]), hi = fmaxf(hi, image[i]);
    float scale = hi > lo ? 255.f / (hi - lo) : 0;
    uint8_t *rgb = seg_xcalloc((size_t)h * w * 3, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int i = y * w + x;
            overlay_pixel(rgb + 3 * i, (image[i] - lo) * scale, truth ? truth[i] : 0,
                          pred ? pred[i] : 0, truth ? is_edge(truth, h, w, y, x) : 0);
        }
    int f = 1;
    while ((h < w ? h : w) * f < 256 && f < 8)
        f++;
    uint8_t *big = upscale(rgb, h, w, f);
    int rc = rt_png_write(path, w * f, h * f, 3, 8, big, err);
    seg_free(big);
    seg_free(rgb);
    return rc;
}
