/* report.c — a training run's curves as SVG: the file curves.svg, and the
 * same charts inlined in report.html (cli/cli_report.c).
 *
 * Layout. The x axis is the run cut into one panel per stage, side by
 * side: a panel's width follows its epochs, with a floor so a one-epoch
 * stage still reads. Every chart uses the same panels, so an epoch sits
 * at the same x in all of them, and the stage boundaries are the gaps
 * between panels. Charts, top to bottom:
 *   training loss    a y scale per stage (a teacher's loss would
 *                    flatten a student's on one scale);
 *   validation Dice  every class, the foreground as one object, the mean
 *                    over the foreground classes; 0 to 1 in every panel;
 *   validation IoU   every class, the foreground, the mean IoU; 0 to 1;
 *   learning rate    a y scale per stage.
 * Ticks are 1, 2 or 5 x 10^k; x ticks are epoch numbers within the stage.
 * A stage's best epoch (rt_epoch_row.best on its last best row) is a
 * dotted line in every chart. A series is drawn as lines between finite
 * values (a gap where an epoch was not validated) and, when a panel has
 * few epochs, a dot per epoch, so a one-epoch stage is visible.
 *
 * Limits: at most REPORT_MAX_PANELS panels (a run with more stage changes
 * draws the first ones and says so); class series by name, at most
 * REPORT_MAX_CLASSES over the run.
 */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    REPORT_MAX_PANELS = 24,   /* stage panels drawn */
    REPORT_MAX_CLASSES = 32,  /* class names over the whole run */
    CHART_W = 1160,           /* SVG width */
    AXIS_W = 58,              /* room left of each panel for y tick labels */
    PANEL_GAP = 16,           /* between one panel's plot and the next axis */
    PANEL_MIN = 120,          /* narrowest panel plot */
    PLOT_H = 150,             /* plot height of every chart */
    DOTS_MAX = 40,            /* panels with at most this many epochs get dots */
};

/* One stage's stretch of the x axis: rows [first, first + n). */
typedef struct panel {
    int first, n;
    double x0, w;             /* plot area, SVG units */
    int best;                 /* row index of the stage's best epoch, -1 = none */
} panel;

typedef struct layout {
    panel p[REPORT_MAX_PANELS];
    int n;
    int dropped;              /* rows in panels beyond the limit (not drawn) */
    const char *cls[REPORT_MAX_CLASSES]; /* class names, first seen first */
    int n_cls;
} layout;

/* What a line plots. */
typedef enum series_kind {
    S_LOSS,       /* mean training loss */
    S_LR,         /* learning rate */
    S_DICE,       /* Dice of the class named cls */
    S_IOU,        /* IoU of the class named cls */
    S_DICE_FG,    /* every foreground class as one object */
    S_IOU_FG,
    S_MEAN_DICE,  /* mean over the foreground classes */
    S_MIOU,       /* mean over every class */
} series_kind;

typedef struct series {
    series_kind kind;
    const char *cls;          /* S_DICE, S_IOU */
    const char *label;        /* legend text */
    const char *colour;
    const char *dash;         /* stroke-dasharray, NULL = solid */
} series;

typedef struct chart {
    const char *title;
    const char *note;         /* grey text after the title */
    int per_stage;            /* 1: a y scale per panel; 0: 0 to 1 */
    series s[2 * REPORT_MAX_CLASSES + 3];
    int n;
} chart;

/* ---------------------------------------------------------------- text */

/* Text content or attribute value with &, <, >, " escaped. */
static void put_esc(seg_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': seg_buf_printf(b, "&amp;"); break;
        case '<': seg_buf_printf(b, "&lt;"); break;
        case '>': seg_buf_printf(b, "&gt;"); break;
        case '"': seg_buf_printf(b, "&quot;"); break;
        default: seg_buf_printf(b, "%c", *s);
        }
    }
}

static void put_text(seg_buf *b, double x, double y, const char *attrs, const char *s)
{
    seg_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
    put_esc(b, s);
    seg_buf_printf(b, "</text>\n");
}

/* A tick value printed with the decimals its step needs ("0.25" for step
 * 0.05 would be too many; 1, 2, 5 steps need exactly -floor(log10)). */
static void tick_label(double v, double step, char *buf, size_t n)
{
    if (fabs(v) < step * 1e-6)
        v = 0;
    if (step < 1e-4 || fabs(v) >= 1e6) {
        snprintf(buf, n, "%.2g", v);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, n, "%.*f", dec, v);
}

/* ---------------------------------------------------------------- values */

static int class_index(const rt_epoch_row *r, const char *cls)
{
    for (int k = 0; r->validated && r->class_names && k < r->val.classes; k++)
        if (r->class_names[k] && !strcmp(r->class_names[k], cls))
            return k;
    return -1;
}

static double value_of(const rt_epoch_row *r, const series *s)
{
    if (s->kind == S_LOSS)
        return r->loss;
    if (s->kind == S_LR)
        return r->lr;
    if (!r->validated)
        return NAN;
    int k = s->cls ? class_index(r, s->cls) : -1;
    switch (s->kind) {
    case S_DICE: return k >= 0 ? r->val.dice[k] : NAN;
    case S_IOU: return k >= 0 ? r->val.iou[k] : NAN;
    case S_DICE_FG: return r->val.dice_fg;
    case S_IOU_FG: return r->val.iou_fg;
    case S_MEAN_DICE: return r->val.mean_dice;
    case S_MIOU: return r->val.miou;
    default: return NAN;
    }
}

/* ---------------------------------------------------------------- layout */

static void layout_classes(layout *L, const rt_epoch_row *rows, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; rows[i].validated && rows[i].class_names && k < rows[i].val.classes; k++) {
            const char *c = rows[i].class_names[k];
            int seen = !c;
            for (int j = 0; j < L->n_cls && !seen; j++)
                seen = !strcmp(L->cls[j], c);
            if (!seen && L->n_cls < REPORT_MAX_CLASSES)
                L->cls[L->n_cls++] = c;
        }
}

/* Panels of consecutive rows of one stage, and their x extents. */
static void layout_panels(layout *L, const rt_epoch_row *rows, int n)
{
    for (int i = 0; i < n; i++) {
        if (i > 0 && rows[i].stage == rows[i - 1].stage && L->n > 0) {
            L->p[L->n - 1].n++;
        } else if (L->n < REPORT_MAX_PANELS) {
            L->p[L->n++] = (panel){i, 1, 0, 0, -1};
        } else {
            L->dropped = n - i;
            break;
        }
        if (rows[i].best && L->n > 0)
            L->p[L->n - 1].best = i;
    }
    double avail = CHART_W - 8 - L->n * (AXIS_W + PANEL_GAP), total = 0;
    int epochs = n - L->dropped;
    for (int k = 0; k < L->n; k++) {
        L->p[k].w = fmax(PANEL_MIN, avail * L->p[k].n / (epochs ? epochs : 1));
        total += L->p[k].w;
    }
    double x = 0;
    for (int k = 0; k < L->n; k++) {
        L->p[k].w *= total > avail ? avail / total : 1;
        L->p[k].x0 = x + AXIS_W;
        x = L->p[k].x0 + L->p[k].w + PANEL_GAP;
    }
}

static double panel_x(const panel *p, int row)
{
    return p->x0 + (p->n > 1 ? p->w * (row - p->first) / (p->n - 1) : p->w / 2);
}

/* ---------------------------------------------------------------- axes */

/* A step of 1, 2 or 5 x 10^k giving about `want` intervals over span. */
static double nice_step(double span, int want)
{
    double raw = span / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return mag * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
}

/* The y range of a panel: 0 to 1, or the series' values widened to whole
 * steps (a flat line gets a small band around it). */
static void panel_range(const chart *c, const panel *p, const rt_epoch_row *rows, double *lo,
                        double *hi, double *step)
{
    *lo = 0, *hi = 1, *step = 0.2;
    if (!c->per_stage)
        return;
    double a = INFINITY, b = -INFINITY;
    for (int i = p->first; i < p->first + p->n; i++)
        for (int k = 0; k < c->n; k++) {
            double v = value_of(&rows[i], &c->s[k]);
            if (isfinite(v))
                a = fmin(a, v), b = fmax(b, v);
        }
    if (!isfinite(a))
        return;
    if (b - a <= 1e-9 * fmax(1, fabs(b))) {
        double d = fabs(a) > 0 ? fabs(a) * 0.1 : 0.1;
        a -= d, b += d;
    }
    *step = nice_step(b - a, 4);
    *lo = floor(a / *step) * *step;
    *hi = ceil(b / *step) * *step;
    if (*lo < 0 && a >= 0)
        *lo = 0;
}

static double map_y(double v, double lo, double hi, double y0)
{
    return y0 + PLOT_H * (1 - (v - lo) / (hi - lo));
}

static void y_axis(seg_buf *b, const panel *p, double y0, double lo, double hi, double step)
{
    for (int t = 0; t <= 64; t++) {
        double v = lo + t * step;
        if (v > hi + step * 1e-6)
            break;
        double y = map_y(v, lo, hi, y0);
        char lab[32];
        tick_label(v, step, lab, sizeof lab);
        seg_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>"
                       "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\"/>\n",
                       p->x0, y, p->x0 + p->w, y, p->x0 - 4, y, p->x0, y);
        put_text(b, p->x0 - 6, y + 4, "font-size=\"11\" text-anchor=\"end\" fill=\"#333\"", lab);
    }
}

/* Epoch ticks: the first epoch and every multiple of a nice step. */
static void x_axis(seg_buf *b, const panel *p, const rt_epoch_row *rows, double y0)
{
    int first = rows[p->first].epoch, last = rows[p->first + p->n - 1].epoch;
    int step = (int)nice_step(last - first + 1 > 1 ? last - first + 1 : 1, 6);
    step = step < 1 ? 1 : step;
    double yb = y0 + PLOT_H;
    double last_x = -1e9;
    for (int i = p->first; i < p->first + p->n; i++) {
        int e = rows[i].epoch;
        if (i != p->first && e % step != 0 && i != p->first + p->n - 1)
            continue;
        double x = panel_x(p, i);
        if (x - last_x < 22) /* the last epoch next to a multiple: keep one */
            continue;
        last_x = x;
        char lab[16];
        snprintf(lab, sizeof lab, "%d", e);
        seg_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\"/>\n",
                       x, yb, x, yb + 4);
        put_text(b, x, yb + 16, "font-size=\"11\" text-anchor=\"middle\" fill=\"#333\"", lab);
    }
}

/* The frame, the stage's name above it, and its best epoch. */
static void panel_frame(seg_buf *b, const panel *p, const rt_epoch_row *rows, double y0)
{
    seg_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"none\" "
                   "stroke=\"#999\"/>\n", p->x0, y0, p->w, PLOT_H);
    const char *name = rows[p->first].stage_name ? rows[p->first].stage_name : "";
    put_text(b, p->x0 + p->w / 2, y0 - 5,
             "font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\" fill=\"#555\"", name);
    if (p->best >= 0) {
        double x = panel_x(p, p->best);
        seg_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" "
                       "stroke-dasharray=\"2 3\"/>\n", x, y0, x, y0 + PLOT_H);
        int right = x > p->x0 + p->w - 30; /* keep the label inside the frame */
        put_text(b, right ? x - 3 : x + 3, y0 + 11,
                 right ? "font-size=\"10\" fill=\"#555\" stroke=\"#fff\" stroke-width=\"3\" "
                         "paint-order=\"stroke\" text-anchor=\"end\""
                       : "font-size=\"10\" fill=\"#555\" stroke=\"#fff\" stroke-width=\"3\" "
                         "paint-order=\"stroke\"", "best"); /* a halo over the lines */
    }
}

/* ---------------------------------------------------------------- lines */

static void series_line(seg_buf *b, const series *s, const panel *p, const rt_epoch_row *rows,
                        double y0, double lo, double hi)
{
    int open = 0;
    for (int i = p->first; i < p->first + p->n; i++) {
        double v = value_of(&rows[i], s);
        if (!isfinite(v)) {
            if (open)
                seg_buf_printf(b, "\"/>\n");
            open = 0;
            continue;
        }
        if (!open)
            seg_buf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s%s%s "
                           "points=\"", s->colour, s->dash ? " stroke-dasharray=\"" : "",
                           s->dash ? s->dash : "", s->dash ? "\"" : "");
        open = 1;
        seg_buf_printf(b, "%.1f,%.1f ", panel_x(p, i), map_y(fmin(fmax(v, lo), hi), lo, hi, y0));
    }
    if (open)
        seg_buf_printf(b, "\"/>\n");
    for (int i = p->first; p->n <= DOTS_MAX && i < p->first + p->n; i++) {
        double v = value_of(&rows[i], s);
        if (isfinite(v))
            seg_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.3\" fill=\"%s\"/>\n",
                           panel_x(p, i), map_y(fmin(fmax(v, lo), hi), lo, hi, y0), s->colour);
    }
}

/* Legend items flowing left to right from (x, y); returns the height used. */
static double legend(seg_buf *b, const chart *c, double y)
{
    double x = AXIS_W, h = c->n > 1 ? 16 : 0;
    for (int k = 0; c->n > 1 && k < c->n; k++) {
        double wd = 44 + 7.4 * (double)strlen(c->s[k].label);
        if (x + wd > CHART_W - 8 && x > AXIS_W)
            x = AXIS_W, y += 16, h += 16;
        const series *s = &c->s[k];
        seg_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                       "stroke-width=\"2.5\"%s%s%s/>\n", x, y - 4, x + 24, y - 4, s->colour,
                       s->dash ? " stroke-dasharray=\"" : "", s->dash ? s->dash : "",
                       s->dash ? "\"" : "");
        put_text(b, x + 29, y, "font-size=\"12\" fill=\"#222\"", s->label);
        x += wd;
    }
    return h;
}

/* One chart at y; returns its height. */
static double chart_draw(seg_buf *b, const chart *c, const layout *L, const rt_epoch_row *rows,
                         double y, int last)
{
    double top = y;
    put_text(b, 4, y + 14, "font-size=\"15\" font-weight=\"bold\" fill=\"#111\"", c->title);
    if (c->note)
        put_text(b, 12 + 8.6 * (double)strlen(c->title), y + 14, "font-size=\"12\" fill=\"#777\"",
                 c->note);
    y += 34;
    y += legend(b, c, y);
    y += 16; /* stage names above the panels */
    for (int k = 0; k < L->n; k++) {
        const panel *p = &L->p[k];
        double lo, hi, step;
        panel_range(c, p, rows, &lo, &hi, &step);
        y_axis(b, p, y, lo, hi, step);
        x_axis(b, p, rows, y);
        panel_frame(b, p, rows, y);
        for (int s = 0; s < c->n; s++)
            series_line(b, &c->s[s], p, rows, y, lo, hi);
    }
    y += PLOT_H + 20;
    if (last) {
        put_text(b, CHART_W / 2.0, y + 8, "font-size=\"12\" text-anchor=\"middle\" fill=\"#333\"",
                 "epoch (within each stage)");
        y += 14;
    }
    return y - top + 14;
}

/* ---------------------------------------------------------------- charts */

static const char *const class_palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                            "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

static const char *class_colour(const layout *L, int k)
{
    if (!strcmp(L->cls[k], "background"))
        return "#aaaaaa";
    int j = 0; /* colours go to the non-background classes in order */
    for (int i = 0; i < k; i++)
        j += strcmp(L->cls[i], "background") != 0;
    return class_palette[j % 8];
}

static void add(chart *c, series s) { c->s[c->n++] = s; }

/* Dice (iou = 0) or IoU chart: every class, then the summaries. */
static void metric_chart(chart *c, const layout *L, int iou, seg_arena *names)
{
    memset(c, 0, sizeof *c);
    c->title = iou ? "Validation IoU" : "Validation Dice";
    c->note = "per class, 0 to 1";
    for (int k = 0; k < L->n_cls; k++)
        add(c, (series){iou ? S_IOU : S_DICE, L->cls[k], seg_arena_strdup(names, L->cls[k]),
                        class_colour(L, k), NULL});
    add(c, (series){iou ? S_IOU_FG : S_DICE_FG, NULL, "foreground (all classes as one)", "#222",
                    "7 4"});
    if (iou)
        add(c, (series){S_MIOU, NULL, "mean IoU (every class)", "#222", "2 3"});
    else
        add(c, (series){S_MEAN_DICE, NULL, "mean Dice (foreground classes)", "#222", "2 3"});
}

static int any_validated(const rt_epoch_row *rows, int n)
{
    for (int i = 0; i < n; i++)
        if (rows[i].validated)
            return 1;
    return 0;
}

static void charts_body(seg_buf *b, const rt_epoch_row *rows, int n, double *y)
{
    layout L;
    memset(&L, 0, sizeof L);
    layout_panels(&L, rows, n);
    layout_classes(&L, rows, n);
    seg_arena *names = seg_arena_new();
    chart c = {.title = "Training loss", .note = "mean per epoch, a scale per stage", .per_stage = 1};
    add(&c, (series){S_LOSS, NULL, "loss", "#c0392b", NULL});
    *y += chart_draw(b, &c, &L, rows, *y, 0);
    for (int iou = 0; iou < 2 && any_validated(rows, n); iou++) {
        metric_chart(&c, &L, iou, names);
        *y += chart_draw(b, &c, &L, rows, *y, 0);
    }
    c = (chart){.title = "Learning rate", .note = "at each epoch's last step, a scale per stage",
                .per_stage = 1};
    add(&c, (series){S_LR, NULL, "learning rate", "#8e44ad", NULL});
    *y += chart_draw(b, &c, &L, rows, *y, 1);
    if (L.dropped) {
        char msg[96];
        snprintf(msg, sizeof msg, "%d later epochs not drawn (more than %d stage panels)",
                 L.dropped, REPORT_MAX_PANELS);
        put_text(b, 4, *y, "font-size=\"12\" fill=\"#a00\"", msg);
        *y += 18;
    }
    seg_arena_free(names);
}

void rt_report_charts(seg_buf *out, const char *title, const rt_epoch_row *rows, int n,
                      int standalone)
{
    seg_buf body = {0};
    double y = 4;
    if (title && *title) {
        put_text(&body, 4, 22, "font-size=\"18\" font-weight=\"bold\" fill=\"#111\"", title);
        y = 40;
    }
    if (n > 0)
        charts_body(&body, rows, n, &y);
    else {
        put_text(&body, 4, y + 20, "font-size=\"14\" fill=\"#555\"", "no epochs yet");
        y += 30;
    }
    seg_buf_printf(out, "<svg%s width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
                   "font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\" role=\"img\">\n"
                   "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                   standalone ? " xmlns=\"http://www.w3.org/2000/svg\"" : "", CHART_W, y, CHART_W, y);
    seg_buf_printf(out, "%s</svg>\n", body.data ? body.data : "");
    seg_buf_free(&body);
}

int rt_report_curves(const char *path, const char *title, const rt_epoch_row *rows, int n,
                     rt_error *err)
{
    seg_buf s = {0};
    rt_report_charts(&s, title, rows, n, 1);
    int rc = rt_file_write_atomic(path, s.data, s.len, err);
    seg_buf_free(&s);
    return rc;
}
