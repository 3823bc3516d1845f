/* overlay.c — pictures for a person to check a prediction against the
 * truth on one case: PNG slices with the image in gray, each predicted
 * class filled in its colour (translucent) and each true class outlined in
 * another colour (rt_overlay_colour; report.html prints the legend).
 *
 * Where to look. A 3-D case gets three orthogonal slices, axial (fixed z),
 * coronal (fixed y) and sagittal (fixed x), that cross at one voxel: the
 * axial slice with the most misclassified voxels, and in it the row and
 * the column with the most; a case predicted without an error is cut
 * through its centre. A 2-D case is its one image. Coronal and sagittal
 * slices put z upwards (the first voxel row at the bottom).
 *
 * Size. All views of a case share one scale in millimetres: the case's
 * longest extent becomes `target` pixels, and each axis is resampled by
 * nearest neighbour with its own spacing, so an anisotropic volume is not
 * squashed. Outlines are drawn at that output resolution (2 pixels inside
 * the true region), so they stay thin however much a small case is
 * enlarged. The gray window is the case's 1st to 99th percentile
 * of the first channel (a few bright voxels do not wash out the rest).
 * Files are written atomically (rt_png_write).
 */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    OVERLAY_MAX_PX = 2048,          /* largest side of a picture */
    OVERLAY_SAMPLE = 1 << 16,       /* voxels sampled for the gray window */
};

/* Colours per class 1, 2, ...: prediction fills, truth outlines. */
static const uint8_t pred_rgb[][3] = {{255, 40, 40}, {255, 210, 0}, {255, 60, 255},
                                      {255, 140, 0}, {160, 90, 255}};
static const uint8_t truth_rgb[][3] = {{0, 230, 60}, {0, 210, 255}, {60, 110, 255},
                                       {255, 255, 255}, {150, 255, 150}};

void rt_overlay_colour(int cls, int truth, uint8_t rgb[3])
{
    int k = cls < 1 ? 0 : (cls - 1) % 5;
    memcpy(rgb, truth ? truth_rgb[k] : pred_rgb[k], 3);
}

const char *rt_view_name(rt_view v)
{
    static const char *const names[] = {"axial", "coronal", "sagittal", "image"};
    return v >= RT_VIEW_AXIAL && v <= RT_VIEW_IMAGE ? names[v] : "?";
}

int rt_overlay_views(const rt_case *c, rt_view views[3])
{
    if (c->nsp != 3) {
        views[0] = RT_VIEW_IMAGE;
        return 1;
    }
    views[0] = RT_VIEW_AXIAL, views[1] = RT_VIEW_CORONAL, views[2] = RT_VIEW_SAGITTAL;
    return 3;
}

/* ---------------------------------------------------------------- focus */

/* The case as (Z, Y, X), a 2-D case as Z = 1. */
static void dims3(const rt_case *c, int64_t d[3])
{
    d[0] = c->nsp == 3 ? c->size[0] : 1;
    d[1] = c->size[c->nsp - 2];
    d[2] = c->size[c->nsp - 1];
}

/* The index of the largest count; of equal counts the one nearest the
 * middle (a volume wrong everywhere is cut through its centre, not its
 * first slice). */
static int64_t argmax(const int64_t *v, int64_t n)
{
    int64_t best = n / 2;
    for (int64_t i = 0; i < n; i++) {
        int64_t di = i > n / 2 ? i - n / 2 : n / 2 - i, db = best > n / 2 ? best - n / 2 : n / 2 - best;
        if (v[i] > v[best] || (v[i] == v[best] && di < db))
            best = i;
    }
    return best;
}

static int wrong(const int32_t *truth, const int32_t *pred, int64_t i)
{
    return truth[i] >= 0 && truth[i] != pred[i];
}

/* Errors per axial slice, then per row and column of the worst slice. */
static void focus_errors(const int64_t d[3], const int32_t *truth, const int32_t *pred,
                         rt_overlay_focus *f)
{
    int64_t *per_z = seg_xcalloc((size_t)d[0], sizeof *per_z);
    int64_t *per_y = seg_xcalloc((size_t)d[1], sizeof *per_y);
    int64_t *per_x = seg_xcalloc((size_t)d[2], sizeof *per_x);
    int64_t plane = d[1] * d[2];
    for (int64_t z = 0; z < d[0]; z++)
        for (int64_t i = 0; i < plane; i++)
            per_z[z] += wrong(truth, pred, z * plane + i);
    f->at[0] = argmax(per_z, d[0]);
    for (int64_t i = 0; i < plane; i++)
        if (wrong(truth, pred, f->at[0] * plane + i))
            per_y[i / d[2]]++, per_x[i % d[2]]++;
    f->at[1] = argmax(per_y, d[1]);
    f->at[2] = argmax(per_x, d[2]);
    seg_free(per_z);
    seg_free(per_y);
    seg_free(per_x);
}

void rt_overlay_focus_of(const rt_case *c, const int32_t *truth, const int32_t *pred,
                         rt_overlay_focus *f)
{
    int64_t d[3], n = rt_case_numel(c), inter = 0, sum = 0;
    dims3(c, d);
    memset(f, 0, sizeof *f);
    for (int64_t i = 0; i < n; i++) {
        f->errors += wrong(truth, pred, i);
        inter += truth[i] > 0 && pred[i] > 0;
        sum += (truth[i] > 0) + (pred[i] > 0);
    }
    f->dice_fg = sum ? 2.0 * (double)inter / (double)sum : NAN;
    if (f->errors)
        focus_errors(d, truth, pred, f);
    else
        f->at[0] = d[0] / 2, f->at[1] = d[1] / 2, f->at[2] = d[2] / 2;
}

/* ---------------------------------------------------------------- slices */

/* One view as rows x cols of voxel indices: voxel(r, c) = base + r * rs + c * cs. */
typedef struct slice {
    int64_t rows, cols;
    int64_t base, rs, cs;
    float sp_row, sp_col;   /* mm per row and per column */
} slice;

static void slice_of(const rt_case *c, rt_view v, const rt_overlay_focus *f, slice *s)
{
    int64_t d[3];
    dims3(c, d);
    float sz = c->nsp == 3 ? c->spacing[0] : 1, sy = c->spacing[c->nsp - 2],
          sx = c->spacing[c->nsp - 1];
    int64_t plane = d[1] * d[2];
    switch (v) {
    case RT_VIEW_CORONAL: /* fixed y; rows z (upwards), columns x */
        *s = (slice){d[0], d[2], (d[0] - 1) * plane + f->at[1] * d[2], -plane, 1, sz, sx};
        break;
    case RT_VIEW_SAGITTAL: /* fixed x; rows z (upwards), columns y */
        *s = (slice){d[0], d[1], (d[0] - 1) * plane + f->at[2], -plane, d[2], sz, sy};
        break;
    case RT_VIEW_AXIAL: /* fixed z; rows y, columns x */
        *s = (slice){d[1], d[2], f->at[0] * plane, d[2], 1, sy, sx};
        break;
    default: /* RT_VIEW_IMAGE: the 2-D case */
        *s = (slice){d[1], d[2], 0, d[2], 1, sy, sx};
    }
    s->sp_row = s->sp_row > 0 ? s->sp_row : 1;
    s->sp_col = s->sp_col > 0 ? s->sp_col : 1;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The gray window: 1st and 99th percentile of channel 0 (sampled). */
static void gray_window(const rt_case *c, float *lo, float *hi)
{
    int64_t n = rt_case_numel(c), stride = n > OVERLAY_SAMPLE ? n / OVERLAY_SAMPLE : 1, m = 0;
    float *v = seg_xcalloc((size_t)(n / stride + 1), sizeof *v);
    for (int64_t i = 0; i < n; i += stride)
        if (isfinite(c->image[i]))
            v[m++] = c->image[i];
    qsort(v, (size_t)m, sizeof *v, cmp_float);
    *lo = m ? v[m / 100] : 0;
    *hi = m ? v[m - 1 - m / 100] : 1;
    if (!(*hi > *lo))
        *hi = *lo + 1;
    seg_free(v);
}

/* ---------------------------------------------------------------- drawing */

typedef struct canvas {
    int h, w;               /* output pixels */
    int64_t *row_of;        /* output row -> slice row */
    int64_t *col_of;        /* output column -> slice column */
} canvas;

static int64_t *resample_map(int out, int64_t in)
{
    int64_t *m = seg_xcalloc((size_t)out, sizeof *m);
    for (int i = 0; i < out; i++)
        m[i] = (int64_t)i * in / out;
    return m;
}

static void canvas_init(canvas *k, const rt_case *c, const slice *s, int target)
{
    double ext = 0;
    for (int a = 0; a < c->nsp; a++)
        ext = fmax(ext, (double)c->size[a] * (c->spacing[a] > 0 ? c->spacing[a] : 1));
    double mm = ext / (target > 0 ? target : 256); /* mm per output pixel */
    k->h = (int)fmin(OVERLAY_MAX_PX, fmax(1, lround((double)s->rows * s->sp_row / mm)));
    k->w = (int)fmin(OVERLAY_MAX_PX, fmax(1, lround((double)s->cols * s->sp_col / mm)));
    k->row_of = resample_map(k->h, s->rows);
    k->col_of = resample_map(k->w, s->cols);
}

static int32_t truth_at(const canvas *k, const slice *s, const int32_t *truth, int y, int x)
{
    if (y < 0 || x < 0 || y >= k->h || x >= k->w)
        return -2; /* outside: differs from every class */
    return truth[s->base + k->row_of[y] * s->rs + k->col_of[x] * s->cs];
}

/* Inside a true region and within 2 pixels of its border: the outline is
 * 2 pixels wide, on the inside, so it never covers the neighbouring
 * region's prediction. */
static int truth_edge(const canvas *k, const slice *s, const int32_t *truth, int y, int x)
{
    int32_t t = truth_at(k, s, truth, y, x);
    if (t <= 0)
        return 0;
    for (int d = 1; d <= 2; d++)
        if (truth_at(k, s, truth, y - d, x) != t || truth_at(k, s, truth, y + d, x) != t ||
            truth_at(k, s, truth, y, x - d) != t || truth_at(k, s, truth, y, x + d) != t)
            return 1;
    return 0;
}

static uint8_t clamp8(float v) { return (uint8_t)lrintf(fminf(fmaxf(v, 0), 255)); }

static void pixel(uint8_t *out, float gray, int pred, int edge_cls)
{
    float rgb[3] = {gray, gray, gray};
    uint8_t c[3];
    if (pred > 0) {
        rt_overlay_colour(pred, 0, c);
        for (int i = 0; i < 3; i++)
            rgb[i] = 0.55f * rgb[i] + 0.45f * c[i];
    }
    if (edge_cls > 0) {
        rt_overlay_colour(edge_cls, 1, c);
        for (int i = 0; i < 3; i++)
            rgb[i] = c[i];
    }
    for (int i = 0; i < 3; i++)
        out[i] = clamp8(rgb[i]);
}

int rt_overlay_write(const char *path, const rt_case *c, const int32_t *truth, const int32_t *pred,
                     rt_view v, const rt_overlay_focus *f, int target, rt_error *err)
{
    slice s;
    slice_of(c, v, f, &s);
    canvas k;
    canvas_init(&k, c, &s, target);
    float lo, hi;
    gray_window(c, &lo, &hi);
    uint8_t *rgb = seg_xcalloc((size_t)k.h * (size_t)k.w * 3, 1);
    for (int y = 0; y < k.h; y++)
        for (int x = 0; x < k.w; x++) {
            int64_t i = s.base + k.row_of[y] * s.rs + k.col_of[x] * s.cs;
            float g = 255.f * (c->image[i] - lo) / (hi - lo);
            int edge = truth_edge(&k, &s, truth, y, x) ? truth[i] : 0;
            pixel(rgb + 3 * ((size_t)y * k.w + x), isfinite(g) ? g : 0, pred[i], edge);
        }
    int rc = rt_png_write(path, k.w, k.h, 3, 8, rgb, err);
    seg_free(rgb);
    seg_free(k.row_of);
    seg_free(k.col_of);
    return rc;
}

int64_t rt_overlay_slice(rt_view v, const rt_overlay_focus *f)
{
    return v == RT_VIEW_AXIAL ? f->at[0] : v == RT_VIEW_CORONAL ? f->at[1]
           : v == RT_VIEW_SAGITTAL ? f->at[2] : 0;
}
