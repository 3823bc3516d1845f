/* cli_report.c — `segc report RUN_DIR`: one page on a training run,
 * RUN_DIR/report.html, that a person reads instead of the loose files.
 * `segc train` rewrites it at the end of every stage (cli_report_write).
 *
 * The page is self-contained: no scripts, no fonts or styles from the
 * network; the charts are inline SVG (runtime/report.c, the same text as
 * curves.svg) and the pictures are PNGs inlined as base64 data URIs. It
 * reads only the run folder:
 *   metrics.csv            every epoch: loss, lr, every metric per class,
 *                          best so far, seconds (cli_run_rows_read);
 *   plan.csv               per stage, `segc plan`'s numbers (train_report.c);
 *   overlays/overlays.csv  the validation pictures of each stage's best and
 *                          last networks, and the PNGs it names;
 *   infer/metrics.csv      per case and class Dice, IoU, HD95 and ASD, when
 *                          `segc infer --labels` has written it;
 *   schedule.seg           the program as run (its first line is the
 *                          command).
 * Sections: curves; stages (plan and measured time per step); results of
 * the best and last epoch of each stage; overlays; per-case metrics; the
 * schedule source. A missing optional file leaves its section with a
 * sentence saying what would fill it. Every text from the files is
 * HTML-escaped.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPORT_MAX_FILE ((long)32 << 20) /* larger PNGs or sources are not inlined */

typedef struct report {
    const char *dir;
    seg_buf *h;              /* the page */
    cli_run_rows run;        /* metrics.csv */
    cli_csv *plan;           /* plan.csv, or NULL */
    cli_csv *ov;             /* overlays/overlays.csv, or NULL */
    cli_csv *infer;          /* infer/metrics.csv, or NULL */
    char *source;            /* schedule.seg, or NULL */
    const char *stages[64];  /* stage names, in run order */
    int n_stages;
    const char *cls[RT_MAX_CLASSES * 4]; /* class names over the run */
    int n_cls;
} report;

/* ---------------------------------------------------------------- files */

static char *path_join(const char *dir, const char *leaf)
{
    size_t n = strlen(dir) + strlen(leaf) + 2;
    char *p = seg_xrealloc(NULL, n);
    snprintf(p, n, "%s/%s", dir, leaf);
    return p;
}

/* A whole file (NUL-terminated), or NULL when missing or too large. */
static char *read_all(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    long n;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= REPORT_MAX_FILE &&
        fseek(f, 0, SEEK_SET) == 0) {
        data = seg_xrealloc(NULL, (size_t)n + 1);
        if (fread(data, 1, (size_t)n, f) == (size_t)n)
            data[n] = 0, *len = n;
        else
            seg_free(data), data = NULL;
    }
    fclose(f);
    return data;
}

static cli_csv *read_csv(const report *r, const char *leaf)
{
    char *p = path_join(r->dir, leaf);
    rt_error ignored = {{0}};
    cli_csv *c = cli_csv_read(p, &ignored); /* optional: NULL when absent */
    seg_free(p);
    return c;
}

/* ---------------------------------------------------------------- html */

static void esc(seg_buf *b, const char *s)
{
    const char *run = s;
    for (; s && *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                        : *s == '"' ? "&quot;" : NULL;
        if (!e)
            continue;
        seg_buf_printf(b, "%.*s%s", (int)(s - run), run, e);
        run = s + 1;
    }
    if (run)
        seg_buf_printf(b, "%s", run);
}

static void base64(seg_buf *b, const unsigned char *p, long n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[5] = {0};
    for (long i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        q[0] = t[v >> 18 & 63], q[1] = t[v >> 12 & 63];
        q[2] = i + 1 < n ? t[v >> 6 & 63] : '=', q[3] = i + 2 < n ? t[v & 63] : '=';
        seg_buf_printf(b, "%s", q);
    }
}

/* 1604032 -> "1,604,032"; a dash for a missing number. */
static const char *grouped(double v, char *buf, size_t n)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "–");
        return buf;
    }
    return cli_group_digits((int64_t)llround(v), buf, n);
}

/* A table cell with a number (or a dash for a missing one). */
static void td_num(seg_buf *b, double v, const char *fmt)
{
    if (!isfinite(v)) {
        seg_buf_printf(b, "<td class=\"na\">–</td>");
        return;
    }
    seg_buf_printf(b, "<td>");
    seg_buf_printf(b, fmt, v);
    seg_buf_printf(b, "</td>");
}

static void td_text(seg_buf *b, const char *cls, const char *text)
{
    seg_buf_printf(b, "<td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    esc(b, text);
    seg_buf_printf(b, "</td>");
}

/* ---------------------------------------------------------------- model */

static void add_stage(report *r, const char *name)
{
    for (int i = 0; i < r->n_stages; i++)
        if (!strcmp(r->stages[i], name))
            return;
    if (r->n_stages < 64 && *name)
        r->stages[r->n_stages++] = name;
}

static void add_class(report *r, const char *name)
{
    for (int i = 0; i < r->n_cls; i++)
        if (!strcmp(r->cls[i], name))
            return;
    if (r->n_cls < RT_MAX_CLASSES * 4)
        r->cls[r->n_cls++] = name;
}

/* The stages (epochs first, then planned ones without epochs) and classes. */
static void collect(report *r)
{
    for (int i = 0; i < r->run.n; i++) {
        add_stage(r, r->run.rows[i].stage_name);
        for (int k = 0; r->run.rows[i].validated && k < r->run.rows[i].val.classes; k++)
            add_class(r, r->run.rows[i].class_names[k]);
    }
    int sc = r->plan ? cli_csv_col(r->plan, "stage") : -1;
    for (int i = 0; sc >= 0 && i < r->plan->n_rows; i++)
        add_stage(r, cli_csv_get(r->plan, i, sc));
}

/* The stage's best row (its last row marked best) and its last row. */
static void stage_rows(const report *r, const char *stage, const rt_epoch_row **best,
                       const rt_epoch_row **last)
{
    *best = *last = NULL;
    for (int i = 0; i < r->run.n; i++) {
        const rt_epoch_row *row = &r->run.rows[i];
        if (strcmp(row->stage_name, stage))
            continue;
        *last = row;
        if (row->best)
            *best = row;
    }
}

/* Mean seconds per step and total seconds of the stage's epochs. */
static void stage_time(const report *r, const char *stage, double *step, double *total)
{
    double sum = 0;
    int n = 0;
    *total = 0;
    for (int i = 0; i < r->run.n; i++) {
        const rt_epoch_row *row = &r->run.rows[i];
        if (strcmp(row->stage_name, stage))
            continue;
        if (isfinite(row->step_seconds))
            sum += row->step_seconds, n++;
        if (isfinite(row->seconds))
            *total += row->seconds;
    }
    *step = n ? sum / n : NAN;
}

static int stage_epochs(const report *r, const char *stage)
{
    int n = 0;
    for (int i = 0; i < r->run.n; i++)
        n += !strcmp(r->run.rows[i].stage_name, stage);
    return n;
}

/* ---------------------------------------------------------------- page */

static const char page_style[] =
    "body{font:14px/1.45 'DejaVu Sans','Liberation Sans',Arial,sans-serif;color:#1b1f24;"
    "margin:0;background:#eef0f3}\n"
    "header{background:#22303f;color:#fff;padding:16px 28px}\n"
    "header h1{margin:0 0 4px;font-size:22px}\n"
    "header p{margin:2px 0;color:#d5dbe2}\n"
    "header code{color:#fff;background:#34475a;padding:1px 5px;border-radius:3px}\n"
    "nav{margin-top:8px}nav a{color:#9fd0ff;margin-right:16px;text-decoration:none}\n"
    "main{max-width:1200px;margin:0 auto;padding:6px 20px 40px}\n"
    "section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:12px 18px;"
    "margin:14px 0}\n"
    "h2{font-size:18px;margin:2px 0 10px}h3{font-size:15px;margin:16px 0 6px}\n"
    "svg{max-width:100%;height:auto;display:block}\n"
    "table{border-collapse:collapse;font-size:13px;margin:4px 0}\n"
    "th,td{padding:3px 9px;border-bottom:1px solid #e4e7eb;text-align:right;white-space:nowrap}\n"
    "th{background:#f1f3f6;font-weight:600;text-align:center;white-space:normal}\n"
    ".l{text-align:left}.na{color:#aaa}.best{font-weight:600}\n"
    ".note{color:#5f6b77;font-size:12.5px;margin:6px 0}\n"
    ".case{display:inline-block;vertical-align:top;width:min-content;margin:0 26px 14px 0;"
    "border-top:1px solid #e4e7eb;padding-top:6px}\n"
    ".cap{font-size:13px;margin-bottom:3px}\n"
    ".nets,.figs{white-space:nowrap}\n"
    ".net{display:inline-block;vertical-align:top;width:min-content;white-space:normal;"
    "margin-right:18px}\n"
    ".nt{font-size:12px;font-weight:600;color:#34475a;margin-bottom:2px}\n"
    "figure{margin:0 5px 0 0;display:inline-block;vertical-align:top}\n"
    "figure img{display:block;image-rendering:pixelated;background:#000}\n"
    "figcaption{font-size:11px;color:#5f6b77;text-align:center}\n"
    ".sw{display:inline-block;width:13px;height:13px;vertical-align:-2px;margin:0 4px 0 12px;"
    "box-sizing:border-box}\n"
    ".legend{margin:4px 0 8px;font-size:13px}\n"
    "pre{background:#f7f8fa;border:1px solid #e4e7eb;padding:10px;overflow:auto;"
    "font:12px/1.4 'DejaVu Sans Mono',monospace;max-height:900px}\n";

/* The first line of schedule.seg: "# segc train FILE --schedule S --seed N". */
static void command_line(const report *r, char *buf, size_t n)
{
    buf[0] = 0;
    if (!r->source || strncmp(r->source, "# segc ", 7))
        return;
    const char *end = strchr(r->source, '\n');
    size_t len = end ? (size_t)(end - r->source - 2) : strlen(r->source + 2);
    snprintf(buf, n, "%.*s", (int)len, r->source + 2);
}

static void page_header(report *r)
{
    seg_buf *b = r->h;
    char cmd[1024];
    command_line(r, cmd, sizeof cmd);
    seg_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                      "<title>segc report: ");
    esc(b, r->dir);
    seg_buf_printf(b, "</title>\n<style>\n%s</style></head><body>\n<header><h1>Training run ",
                   page_style);
    esc(b, r->dir);
    seg_buf_printf(b, "</h1>\n");
    if (cmd[0]) {
        seg_buf_printf(b, "<p>command: <code>");
        esc(b, cmd);
        seg_buf_printf(b, "</code></p>\n");
    }
    seg_buf_printf(b, "<p>%d stage%s, %d epoch%s", r->n_stages, r->n_stages == 1 ? "" : "s",
                   r->run.n, r->run.n == 1 ? "" : "s");
    for (int i = 0; i < r->n_stages; i++) {
        const rt_epoch_row *best, *last;
        stage_rows(r, r->stages[i], &best, &last);
        seg_buf_printf(b, "%s", i ? "; " : ": ");
        esc(b, r->stages[i]);
        if (best && best->validated) {
            seg_buf_printf(b, " best ");
            esc(b, best->monitor);
            seg_buf_printf(b, " %.4f (epoch %d)", best->monitor_value, best->epoch);
        }
        else if (last)
            seg_buf_printf(b, " %d epochs", stage_epochs(r, r->stages[i]));
        else
            seg_buf_printf(b, " not trained yet");
    }
    seg_buf_printf(b, "</p>\n<nav><a href=\"#curves\">Curves</a><a href=\"#stages\">Stages</a>"
                      "<a href=\"#results\">Results</a><a href=\"#overlays\">Overlays</a>"
                      "<a href=\"#cases\">Per case</a><a href=\"#schedule\">Schedule</a></nav>"
                      "</header>\n<main>\n");
}

static void section_curves(report *r)
{
    seg_buf_printf(r->h, "<section id=\"curves\"><h2>Training curves</h2>\n");
    rt_report_charts(r->h, NULL, r->run.rows, r->run.n, 0);
    seg_buf_printf(r->h, "<p class=\"note\">One panel per stage, in the order they ran; the "
                         "dotted line is the stage's best epoch (its <code>ckpt/best-STAGE"
                         "</code>). Loss and learning rate have a scale per stage.</p>"
                         "</section>\n");
}

/* ---------------------------------------------------------------- stages */

static double plan_num(const report *r, int row, const char *col)
{
    return cli_csv_num(r->plan, row, cli_csv_col(r->plan, col));
}

static int plan_row(const report *r, const char *stage)
{
    int sc = r->plan ? cli_csv_col(r->plan, "stage") : -1;
    for (int i = 0; sc >= 0 && i < r->plan->n_rows; i++)
        if (!strcmp(cli_csv_get(r->plan, i, sc), stage))
            return i;
    return -1;
}

/* "1,604,032 (8)" parameters and their tensors. */
static void td_params(seg_buf *b, double scalars, double tensors)
{
    char a[40];
    if (!isfinite(scalars)) {
        td_num(b, NAN, "%g");
        return;
    }
    seg_buf_printf(b, "<td>%s <span class=\"na\">(%.0f)</span></td>", grouped(scalars, a, sizeof a),
                   tensors);
}

static void stage_plan_cells(const report *r, int pr)
{
    seg_buf *b = r->h;
    if (pr < 0) {
        seg_buf_printf(b, "<td class=\"na\" colspan=\"5\">no plan.csv row (a run of an older segc)"
                          "</td>");
        return;
    }
    td_params(b, plan_num(r, pr, "trainable_params"), plan_num(r, pr, "trainable_tensors"));
    td_params(b, plan_num(r, pr, "frozen_params"), plan_num(r, pr, "frozen_tensors"));
    double fw = plan_num(r, pr, "forward_gflop"), bw = plan_num(r, pr, "backward_gflop");
    if (isfinite(fw) && isfinite(bw))
        seg_buf_printf(b, "<td>%.3f <span class=\"na\">= %.3f + %.3f</span></td>", fw + bw, fw, bw);
    else
        td_num(b, NAN, "%g");
    double rm = plan_num(r, pr, "backward_removed_gflop"), pct = plan_num(r, pr, "backward_removed_pct");
    if (isfinite(rm) && isfinite(pct))
        seg_buf_printf(b, "<td>%.3f <span class=\"na\">(%.1f %%)</span></td>", rm, pct);
    else
        td_num(b, NAN, "%g");
    double arena = plan_num(r, pr, "arena_mb"), fixed = plan_num(r, pr, "params_inputs_mb");
    if (isfinite(arena))
        seg_buf_printf(b, "<td>%.1f <span class=\"na\">+ %.1f</span></td>", arena, fixed);
    else
        td_num(b, NAN, "%g");
}

static void stage_line(report *r, const char *stage)
{
    seg_buf *b = r->h;
    int pr = plan_row(r, stage);
    const rt_epoch_row *best, *last;
    stage_rows(r, stage, &best, &last);
    double step, total;
    stage_time(r, stage, &step, &total);
    seg_buf_printf(b, "<tr>");
    td_text(b, "l", stage);
    td_num(b, pr >= 0 ? plan_num(r, pr, "batch") : NAN, "%.0f");
    seg_buf_printf(b, "<td>%d", stage_epochs(r, stage));
    if (best)
        seg_buf_printf(b, " <span class=\"na\">(best %d)</span>", best->epoch);
    seg_buf_printf(b, "</td>");
    stage_plan_cells(r, pr);
    td_num(b, step, "%.3f s");
    double gf = pr >= 0 ? plan_num(r, pr, "step_gflop") : NAN;
    td_num(b, gf / step, "%.1f");
    td_num(b, total < 120 ? total : total / 60, total < 120 ? "%.1f s" : "%.1f min");
    seg_buf_printf(b, "</tr>\n");
}

static void section_stages(report *r)
{
    seg_buf *b = r->h;
    seg_buf_printf(b, "<section id=\"stages\"><h2>Stages</h2>\n<table><tr><th class=\"l\">stage"
                      "</th><th>batch</th><th>epochs</th><th>trainable params (tensors)</th>"
                      "<th>frozen params (tensors)</th><th>GFLOP per step = forward + backward</th>"
                      "<th>backward GFLOP removed by freezing</th><th>arena MB + params, inputs"
                      "</th><th>measured time per step</th><th>GFLOP/s</th><th>stage time</th>"
                      "</tr>\n");
    for (int i = 0; i < r->n_stages; i++)
        stage_line(r, r->stages[i]);
    seg_buf_printf(b, "</table>\n<p class=\"note\">Parameters, GFLOP, what freezing removes and "
                      "the arena are counted on each stage's training step as <code>segc plan"
                      "</code> does (plan.csv); the backward removed is against the same stage "
                      "with nothing frozen. Time per step is measured: the mean over the stage's "
                      "epochs of the training steps' wall time (validation excluded); stage time "
                      "includes validation.</p></section>\n");
}

/* ---------------------------------------------------------------- results */

static double class_metric(const rt_epoch_row *row, const char *cls, int iou)
{
    for (int k = 0; row->validated && k < row->val.classes; k++)
        if (!strcmp(row->class_names[k], cls))
            return iou ? row->val.iou[k] : row->val.dice[k];
    return NAN;
}

static void result_row(report *r, const char *stage, const char *which, const rt_epoch_row *row)
{
    seg_buf *b = r->h;
    seg_buf_printf(b, "<tr>");
    td_text(b, "l", stage);
    seg_buf_printf(b, "<td class=\"l\">%s, epoch %d</td>", which, row->epoch);
    td_num(b, row->loss, "%.4f");
    for (int iou = 0; iou < 2; iou++) {
        for (int k = 0; k < r->n_cls; k++)
            td_num(b, class_metric(row, r->cls[k], iou), "%.4f");
        td_num(b, row->validated ? (iou ? row->val.iou_fg : row->val.dice_fg) : NAN, "%.4f");
        td_num(b, row->validated ? (iou ? row->val.miou : row->val.mean_dice) : NAN, "%.4f");
    }
    seg_buf_printf(b, "</tr>\n");
}

static void results_head(report *r)
{
    seg_buf *b = r->h;
    seg_buf_printf(b, "<table><tr><th class=\"l\" rowspan=\"2\">stage</th><th class=\"l\" "
                      "rowspan=\"2\">network</th><th rowspan=\"2\">loss</th><th colspan=\"%d\">"
                      "Dice</th><th colspan=\"%d\">IoU</th></tr>\n<tr>", r->n_cls + 2, r->n_cls + 2);
    for (int iou = 0; iou < 2; iou++) {
        for (int k = 0; k < r->n_cls; k++) {
            seg_buf_printf(b, "<th>");
            esc(b, r->cls[k]);
            seg_buf_printf(b, "</th>");
        }
        seg_buf_printf(b, "<th>all fg as one</th><th>%s</th>",
                       iou ? "mean (all classes)" : "mean (fg classes)");
    }
    seg_buf_printf(b, "</tr>\n");
}

static void section_results(report *r)
{
    seg_buf *b = r->h;
    seg_buf_printf(b, "<section id=\"results\"><h2>Results on the validation data</h2>\n");
    if (!r->run.n) {
        seg_buf_printf(b, "<p class=\"note\">No epoch has finished yet.</p></section>\n");
        return;
    }
    results_head(r);
    for (int i = 0; i < r->n_stages; i++) {
        const rt_epoch_row *best, *last;
        stage_rows(r, r->stages[i], &best, &last);
        if (best && best != last)
            result_row(r, r->stages[i], "best", best);
        if (last)
            result_row(r, r->stages[i], best == last ? "best and last" : "last", last);
    }
    seg_buf_printf(b, "</table>\n<p class=\"note\">Each stage's best network (the epoch its "
                      "<code>checkpoint best(...)</code> rule kept, else the lowest loss) and its "
                      "last. All fg as one: every class but the first as one object; mean (fg "
                      "classes): over the foreground classes; mean (all classes): over every class.</p></section>\n");
}

/* ---------------------------------------------------------------- overlays */

static void legend_swatches(seg_buf *b, const char *classes)
{
    char names[1024];
    snprintf(names, sizeof names, "%s", classes);
    int k = 0;
    seg_buf_printf(b, "<div class=\"legend\">");
    for (char *save = NULL, *t = strtok_r(names, " ", &save); t; t = strtok_r(NULL, " ", &save), k++) {
        if (k == 0)
            continue; /* background: the image shows through */
        uint8_t p[3], q[3];
        rt_overlay_colour(k, 0, p);
        rt_overlay_colour(k, 1, q);
        seg_buf_printf(b, "<span class=\"sw\" style=\"background:rgb(%d,%d,%d)\"></span>predicted ",
                       p[0], p[1], p[2]);
        esc(b, t);
        seg_buf_printf(b, " (fill)<span class=\"sw\" style=\"border:2px solid rgb(%d,%d,%d);"
                          "background:#777\"></span>true ", q[0], q[1], q[2]);
        esc(b, t);
        seg_buf_printf(b, " (outline)");
    }
    seg_buf_printf(b, "</div>\n");
}

/* An <img> with the PNG inlined, or a note when the file is gone. Only
 * files under overlays/ are read, whatever the index says. */
static void inline_png(report *r, const char *leaf, const char *alt)
{
    int inside = !strncmp(leaf, "overlays/", 9) && !strstr(leaf, "..");
    char *p = path_join(r->dir, leaf);
    long n = 0;
    char *png = inside ? read_all(p, &n) : NULL;
    seg_free(p);
    if (!png || n < 8 || memcmp(png, "\x89PNG", 4)) {
        seg_buf_printf(r->h, "<div class=\"na\">missing ");
        esc(r->h, leaf);
        seg_buf_printf(r->h, "</div>");
    } else {
        seg_buf_printf(r->h, "<img alt=\"");
        esc(r->h, alt);
        seg_buf_printf(r->h, "\" src=\"data:image/png;base64,");
        base64(r->h, (const unsigned char *)png, n);
        seg_buf_printf(r->h, "\">");
    }
    seg_free(png);
}

typedef struct ov_cols {
    int stage, net, epoch, cas, source, view, slice, focus, errors, dice, classes, file;
} ov_cols;

static ov_cols ov_columns(const cli_csv *c)
{
    return (ov_cols){cli_csv_col(c, "stage"), cli_csv_col(c, "network"), cli_csv_col(c, "epoch"),
                     cli_csv_col(c, "case"), cli_csv_col(c, "source"), cli_csv_col(c, "view"),
                     cli_csv_col(c, "slice"), cli_csv_col(c, "focus"), cli_csv_col(c, "errors"),
                     cli_csv_col(c, "dice_fg"), cli_csv_col(c, "classes"), cli_csv_col(c, "file")};
}

/* The figures of one case and network: every view row of the index. */
static void ov_figures(report *r, const ov_cols *k, const char *stage, const char *net,
                       const char *cas)
{
    const cli_csv *c = r->ov;
    for (int i = 0; i < c->n_rows; i++) {
        if (strcmp(cli_csv_get(c, i, k->stage), stage) || strcmp(cli_csv_get(c, i, k->net), net) ||
            strcmp(cli_csv_get(c, i, k->cas), cas))
            continue;
        const char *view = cli_csv_get(c, i, k->view);
        seg_buf_printf(r->h, "<figure>");
        inline_png(r, cli_csv_get(c, i, k->file), view);
        seg_buf_printf(r->h, "<figcaption>");
        esc(r->h, view);
        if (strcmp(view, "image")) {
            seg_buf_printf(r->h, " %s ", !strcmp(view, "axial") ? "z" : !strcmp(view, "coronal")
                           ? "y" : "x");
            esc(r->h, cli_csv_get(c, i, k->slice));
        }
        seg_buf_printf(r->h, "</figcaption></figure>");
    }
}

/* The first index row of (stage, net, case), or -1. */
static int ov_find(const report *r, const ov_cols *k, const char *stage, const char *net,
                   const char *cas)
{
    for (int i = 0; i < r->ov->n_rows; i++)
        if (!strcmp(cli_csv_get(r->ov, i, k->stage), stage) &&
            !strcmp(cli_csv_get(r->ov, i, k->net), net) &&
            (!cas || !strcmp(cli_csv_get(r->ov, i, k->cas), cas)))
            return i;
    return -1;
}

static const char *net_title(const char *net)
{
    return !strcmp(net, "best-last") ? "best and last network" : !strcmp(net, "best")
           ? "best network" : "last network";
}

/* A network's title over its views: epoch, the case's Dice and errors. */
static void ov_net_title(report *r, const ov_cols *k, int row, const char *net)
{
    char g[40];
    double dice = cli_csv_num(r->ov, row, k->dice);
    seg_buf_printf(r->h, "<div class=\"nt\">%s, epoch ", net_title(net));
    esc(r->h, cli_csv_get(r->ov, row, k->epoch));
    seg_buf_printf(r->h, "<br><span class=\"na\">");
    if (isfinite(dice))
        seg_buf_printf(r->h, "foreground Dice %.4f, ", dice);
    seg_buf_printf(r->h, "%s voxels wrong</span></div>",
                   grouped(cli_csv_num(r->ov, row, k->errors), g, sizeof g));
}

/* One case: its number and source, then per network its titled views.
 * The block is as wide as its pictures, so 2-D cases sit side by side. */
static void ov_case(report *r, const ov_cols *k, const char *stage, const char *cas,
                    const char *const *nets, int n_nets)
{
    seg_buf *b = r->h;
    seg_buf_printf(b, "<div class=\"case\"><div class=\"cap\"><b>case ");
    esc(b, cas);
    seg_buf_printf(b, "</b> <span class=\"na\">");
    esc(b, cli_csv_get(r->ov, ov_find(r, k, stage, nets[0], cas), k->source));
    seg_buf_printf(b, "</span></div><div class=\"nets\">");
    for (int n = 0; n < n_nets; n++) {
        seg_buf_printf(b, "<div class=\"net\">");
        ov_net_title(r, k, ov_find(r, k, stage, nets[n], cas), nets[n]);
        seg_buf_printf(b, "<div class=\"figs\">");
        ov_figures(r, k, stage, nets[n], cas);
        seg_buf_printf(b, "</div></div>");
    }
    seg_buf_printf(b, "</div></div>\n");
}

static void ov_stage(report *r, const ov_cols *k, const char *stage)
{
    seg_buf *b = r->h;
    static const char *const all[] = {"best", "last", "best-last"};
    const char *nets[3];
    int n_nets = 0;
    for (int n = 0; n < 3; n++)
        if (ov_find(r, k, stage, all[n], NULL) >= 0)
            nets[n_nets++] = all[n];
    if (!n_nets)
        return;
    int first = ov_find(r, k, stage, nets[0], NULL);
    seg_buf_printf(b, "<h3>Stage ");
    esc(b, stage);
    seg_buf_printf(b, "</h3>\n");
    legend_swatches(b, cli_csv_get(r->ov, first, k->classes));
    for (int i = 0; i < r->ov->n_rows; i++) {
        const char *cas = cli_csv_get(r->ov, i, k->cas);
        if (!strcmp(cli_csv_get(r->ov, i, k->stage), stage) && ov_find(r, k, stage, nets[0], cas) == i)
            ov_case(r, k, stage, cas, nets, n_nets); /* once per case, at its first row */
    }
}

static void section_overlays(report *r)
{
    seg_buf *b = r->h;
    seg_buf_printf(b, "<section id=\"overlays\"><h2>Validation overlays</h2>\n");
    if (!r->ov) {
        seg_buf_printf(b, "<p class=\"note\">No overlays yet: <code>segc train</code> draws them "
                          "when a stage with validation data ends.</p></section>\n");
        return;
    }
    seg_buf_printf(b, "<p class=\"note\">Each case cut by three orthogonal slices (axial, coronal "
                      "and sagittal, z upwards; a 2-D case is its image) that cross where the "
                      "prediction is most wrong: the axial slice with the most misclassified "
                      "voxels, and in it the row and column with the most; a case without errors "
                      "is cut through its centre. The prediction is filled, the truth outlined. "
                      "At most 16 validation cases per stage.</p>\n");
    ov_cols k = ov_columns(r->ov);
    for (int i = 0; i < r->n_stages; i++)
        ov_stage(r, &k, r->stages[i]);
    seg_buf_printf(b, "</section>\n");
}

/* ---------------------------------------------------------------- per case */

typedef struct infer_cols {
    int cas, cls, m[4]; /* dice, iou, hd95_mm, asd_mm */
} infer_cols;

static const char *const infer_metric[4] = {"dice", "iou", "hd95_mm", "asd_mm"};
static const char *const infer_title[4] = {"Dice", "IoU", "HD95 mm", "ASD mm"};

/* Distinct values of column col, in order of first appearance. */
static int distinct(const cli_csv *c, int col, const char **out, int cap)
{
    int n = 0;
    for (int i = 0; i < c->n_rows; i++) {
        const char *v = cli_csv_get(c, i, col);
        int seen = 0;
        for (int j = 0; j < n && !seen; j++)
            seen = !strcmp(out[j], v);
        if (!seen && n < cap)
            out[n++] = v;
    }
    return n;
}

static double infer_value(const cli_csv *c, const infer_cols *k, const char *cas, const char *cls,
                          int m)
{
    for (int i = 0; i < c->n_rows; i++)
        if (!strcmp(cli_csv_get(c, i, k->cas), cas) && !strcmp(cli_csv_get(c, i, k->cls), cls))
            return cli_csv_num(c, i, k->m[m]);
    return NAN;
}

static void infer_head(seg_buf *b, const char *const *cls, int n_cls)
{
    seg_buf_printf(b, "<table><tr><th class=\"l\" rowspan=\"2\">case</th>");
    for (int j = 0; j < n_cls; j++) {
        seg_buf_printf(b, "<th colspan=\"4\">");
        esc(b, cls[j]);
        seg_buf_printf(b, "</th>");
    }
    seg_buf_printf(b, "</tr>\n<tr>");
    for (int j = 0; j < n_cls; j++)
        for (int m = 0; m < 4; m++)
            seg_buf_printf(b, "<th>%s</th>", infer_title[m]);
    seg_buf_printf(b, "</tr>\n");
}

/* The mean of every column over the cases (finite values only). */
static void infer_mean(seg_buf *b, const cli_csv *c, const infer_cols *k, const char *const *cases,
                       int n_cases, const char *const *cls, int n_cls)
{
    seg_buf_printf(b, "<tr class=\"best\"><td class=\"l\">mean</td>");
    for (int j = 0; j < n_cls; j++)
        for (int m = 0; m < 4; m++) {
            double sum = 0;
            int n = 0;
            for (int i = 0; i < n_cases; i++) {
                double v = infer_value(c, k, cases[i], cls[j], m);
                if (isfinite(v))
                    sum += v, n++;
            }
            td_num(b, n ? sum / n : NAN, m < 2 ? "%.4f" : "%.2f");
        }
    seg_buf_printf(b, "</tr>\n");
}

static void section_cases(report *r)
{
    seg_buf *b = r->h;
    seg_buf_printf(b, "<section id=\"cases\"><h2>Per-case metrics</h2>\n");
    const cli_csv *c = r->infer;
    infer_cols k = {c ? cli_csv_col(c, "case") : -1, c ? cli_csv_col(c, "class") : -1, {0}};
    for (int m = 0; m < 4; m++)
        k.m[m] = c ? cli_csv_col(c, infer_metric[m]) : -1;
    if (!c || k.cas < 0 || k.cls < 0) {
        seg_buf_printf(b, "<p class=\"note\">%s <code>segc infer --labels</code> writes "
                          "infer/metrics.csv (columns case, class, dice, iou, hd95_mm, asd_mm) "
                          "into the run folder; this section shows it.</p></section>\n",
                       c ? "infer/metrics.csv lacks a case or class column." : "Not yet:");
        return;
    }
    const char *cases[4096], *cls[64];
    int n_cases = distinct(c, k.cas, cases, 4096), n_cls = distinct(c, k.cls, cls, 64);
    infer_head(b, cls, n_cls);
    for (int i = 0; i < n_cases; i++) {
        seg_buf_printf(b, "<tr>");
        td_text(b, "l", cases[i]);
        for (int j = 0; j < n_cls; j++)
            for (int m = 0; m < 4; m++)
                td_num(b, infer_value(c, &k, cases[i], cls[j], m), m < 2 ? "%.4f" : "%.2f");
        seg_buf_printf(b, "</tr>\n");
    }
    infer_mean(b, c, &k, cases, n_cases, cls, n_cls);
    seg_buf_printf(b, "</table>\n<p class=\"note\">From infer/metrics.csv (<code>segc infer "
                      "--labels</code>). HD95: 95th percentile Hausdorff distance; ASD: average "
                      "symmetric surface distance, both in millimetres.</p></section>\n");
}

/* ---------------------------------------------------------------- source */

static void section_schedule(report *r)
{
    seg_buf *b = r->h;
    seg_buf_printf(b, "<section id=\"schedule\"><h2>Schedule source</h2>\n");
    if (!r->source) {
        seg_buf_printf(b, "<p class=\"note\">schedule.seg is missing.</p></section>\n");
        return;
    }
    seg_buf_printf(b, "<p class=\"note\">schedule.seg: the program as it was run, the command on "
                      "its first line.</p><pre>");
    esc(b, r->source);
    seg_buf_printf(b, "</pre></section>\n");
}

/* ---------------------------------------------------------------- entry */

static int report_load(report *r, rt_error *err)
{
    char *p = path_join(r->dir, "metrics.csv");
    int rc = cli_run_rows_read(p, &r->run, err);
    seg_free(p);
    if (rc)
        return -1;
    r->plan = read_csv(r, "plan.csv");
    r->ov = read_csv(r, "overlays/overlays.csv");
    r->infer = read_csv(r, "infer/metrics.csv");
    long n;
    p = path_join(r->dir, "schedule.seg");
    r->source = read_all(p, &n);
    seg_free(p);
    collect(r);
    return 0;
}

static void report_free(report *r)
{
    cli_run_rows_free(&r->run);
    cli_csv_free(r->plan);
    cli_csv_free(r->ov);
    cli_csv_free(r->infer);
    seg_free(r->source);
}

int cli_report_write(const char *dir, rt_error *err)
{
    seg_buf page = {0};
    report r = {.dir = dir, .h = &page};
    int rc = report_load(&r, err);
    if (rc == 0) {
        page_header(&r);
        section_curves(&r);
        section_stages(&r);
        section_results(&r);
        section_overlays(&r);
        section_cases(&r);
        section_schedule(&r);
        seg_buf_printf(&page, "</main></body></html>\n");
        char *p = path_join(dir, "report.html");
        rc = rt_file_write_atomic(p, page.data, page.len, err);
        seg_free(p);
    }
    report_free(&r);
    seg_buf_free(&page);
    return rc;
}

int cli_cmd_report(const cli_opts *o)
{
    const char *dir = o->files[0];
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("report: '%s' is not a folder: %s", dir,
                  stat(dir, &st) != 0 ? strerror(errno) : "a file");
        return CLI_USAGE;
    }
    char *m = path_join(dir, "metrics.csv");
    int ok = access(m, R_OK) == 0;
    seg_free(m);
    if (!ok) {
        cli_error("report: '%s' is not a run folder (no readable metrics.csv)", dir);
        return CLI_USAGE;
    }
    rt_error err = {{0}};
    if (cli_report_write(dir, &err)) {
        cli_error("report: %s", err.msg);
        return CLI_RUNTIME;
    }
    printf("report: %s/report.html\n", dir);
    return CLI_OK;
}
