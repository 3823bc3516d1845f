/* repl_show.c — what the prompt prints about a tensor, and :show's
 * pictures.
 *
 * Summary (every result): type, then for numbers min, max, mean and the
 * first values; for a label map (i32 or u8) the count of each class; a
 * scalar is its value. :stats adds the standard deviation, percentiles,
 * zeros and non-finite values, and per channel figures for [N, C, ...].
 *
 * Pictures. A tensor is read as a volume: f32 [N, C, D, H, W] or [N, C,
 * H, W] (batch 0, channel `channel`); a label map also as argmax makes
 * it, [N, D, H, W] (a second axis other than 1) or [N, H, W]; else the
 * whole of a [H, W] or [D, H, W] tensor. One slice across `axis` (0 the
 * first spatial axis; the middle one unless `slice` says) becomes a PNG:
 * numbers through a viridis colour map over the tensor's finite range,
 * a label map in the class colours the run reports use, and a label map
 * shown `on` an image as the trainer's overlays (runtime/overlay.c: the
 * image in gray, each class filled). Coronal and sagittal slices put the
 * first axis upwards, as the overlays do. Small slices are enlarged by
 * whole pixels to about 256.
 */
#include "repl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    SHOW_TARGET = 256,  /* pixels the longer side is enlarged towards */
    SHOW_MAX_PX = 2048, /* largest side of a picture */
    MAX_CLASSES = 64,   /* a label map with more distinct values prints as numbers */
    FIRST_VALUES = 4,   /* values a summary lists */
};

static double elem(const rt_tensor *t, int64_t i)
{
    switch (t->type.dtype) {
    case RT_F32: return rt_f32(t)[i];
    case RT_I32: return rt_i32(t)[i];
    case RT_U8: return rt_u8(t)[i];
    default: SEG_UNREACHABLE();
    }
}

const char *repl_grouped(int64_t v, char *buf, size_t n)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", (long long)v);
    size_t len = strlen(raw), k = 0;
    for (size_t i = 0; i < len && k + 2 < n; i++) {
        if (i && (len - i) % 3 == 0 && raw[i - 1] != '-')
            buf[k++] = ',';
        buf[k++] = raw[i];
    }
    buf[k] = 0;
    return buf;
}

int repl_is_label_map(const rt_tensor *t)
{
    return t->type.dtype == RT_I32 || t->type.dtype == RT_U8;
}

/* ------------------------------------------------------------- summary */

typedef struct moments {
    int64_t n, bad, zeros;
    double lo, hi, sum, sum2;
} moments;

static void moments_of(const rt_tensor *t, int64_t from, int64_t step, int64_t count, moments *m)
{
    memset(m, 0, sizeof *m);
    m->lo = INFINITY;
    m->hi = -INFINITY;
    for (int64_t k = 0; k < count; k++) {
        double x = elem(t, from + k * step);
        if (!isfinite(x)) {
            m->bad++;
            continue;
        }
        m->n++;
        m->zeros += x == 0;
        m->lo = x < m->lo ? x : m->lo;
        m->hi = x > m->hi ? x : m->hi;
        m->sum += x;
        m->sum2 += x * x;
    }
}

/* Counts of the classes 0..MAX_CLASSES-1; -1 when a value lies outside. */
static int class_counts(const rt_tensor *t, int64_t *count)
{
    int64_t n = rt_type_numel(&t->type);
    int top = -1;
    memset(count, 0, MAX_CLASSES * sizeof *count);
    for (int64_t i = 0; i < n; i++) {
        double x = elem(t, i);
        if (x < 0 || x >= MAX_CLASSES)
            return -1;
        count[(int)x]++;
        top = (int)x > top ? (int)x : top;
    }
    return top + 1;
}

static void print_classes(const int64_t *count, int k, int64_t n)
{
    printf("  classes");
    for (int c = 0; c < k; c++)
        if (count[c])
            printf(" %d: %lld (%.1f%%)", c, (long long)count[c], 100.0 * (double)count[c] / (double)n);
    putchar('\n');
}

void repl_print_tensor(const char *name, const rt_tensor *t)
{
    char ty[128];
    int64_t n = rt_type_numel(&t->type), count[MAX_CLASSES];
    printf("%s%s%s", name ? name : "", name ? ": " : "", rt_type_str(&t->type, ty, sizeof ty));
    if (n == 1) {
        printf(" = %.6g\n", elem(t, 0));
        return;
    }
    int k = repl_is_label_map(t) ? class_counts(t, count) : -1;
    if (k > 0) {
        print_classes(count, k, n);
        return;
    }
    moments m;
    moments_of(t, 0, 1, n, &m);
    if (m.n)
        printf("  min %.4g max %.4g mean %.4g", m.lo, m.hi, m.sum / (double)m.n);
    if (m.bad)
        printf("  (%lld non-finite)", (long long)m.bad);
    printf("  [");
    for (int64_t i = 0; i < n && i < FIRST_VALUES; i++)
        printf("%s%.4g", i ? ", " : "", elem(t, i));
    printf("%s]\n", n > FIRST_VALUES ? ", ..." : "");
}

/* ------------------------------------------------------------- :stats */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void percentiles(const rt_tensor *t)
{
    int64_t n = rt_type_numel(&t->type), m = 0;
    int64_t step = n > (1 << 20) ? n / (1 << 20) : 1; /* a sample of about 1M values */
    double *v = seg_xcalloc((size_t)(n / step + 1), sizeof *v);
    for (int64_t i = 0; i < n; i += step)
        if (isfinite(elem(t, i)))
            v[m++] = elem(t, i);
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    static const double ps[] = {1, 5, 25, 50, 75, 95, 99};
    printf("  percentiles%s:", step > 1 ? " (sampled)" : "");
    for (size_t i = 0; m && i < sizeof ps / sizeof ps[0]; i++)
        printf(" p%g %.4g", ps[i], v[(int64_t)(ps[i] / 100 * (double)(m - 1) + 0.5)]);
    putchar('\n');
    seg_free(v);
}

static void print_moments(const char *label, const moments *m)
{
    double mean = m->n ? m->sum / (double)m->n : NAN;
    double var = m->n ? m->sum2 / (double)m->n - mean * mean : NAN;
    printf("  %-10s min %.6g max %.6g mean %.6g std %.6g\n", label, m->lo, m->hi, mean,
           sqrt(var > 0 ? var : 0));
}

/* Per channel of [N, C, ...] (1 < C <= 16): over every batch item. */
static void channel_stats(const rt_tensor *t)
{
    const rt_type *ty = &t->type;
    if (ty->rank < 3 || ty->dim[1] < 2 || ty->dim[1] > 16)
        return;
    int64_t inner = rt_type_numel(ty) / (ty->dim[0] * ty->dim[1]);
    for (int64_t c = 0; c < ty->dim[1]; c++) {
        moments all = {0}, one;
        all.lo = INFINITY, all.hi = -INFINITY;
        for (int64_t b = 0; b < ty->dim[0]; b++) {
            moments_of(t, (b * ty->dim[1] + c) * inner, 1, inner, &one);
            all.n += one.n, all.sum += one.sum, all.sum2 += one.sum2;
            all.lo = fmin(all.lo, one.lo), all.hi = fmax(all.hi, one.hi);
        }
        char label[32];
        snprintf(label, sizeof label, "channel %lld", (long long)c);
        print_moments(label, &all);
    }
}

void repl_print_stats(const char *what, const rt_tensor *t)
{
    char ty[128];
    int64_t n = rt_type_numel(&t->type), count[MAX_CLASSES];
    printf("%s: %s, %lld values\n", what, rt_type_str(&t->type, ty, sizeof ty), (long long)n);
    int k = repl_is_label_map(t) ? class_counts(t, count) : -1;
    if (k > 0) {
        print_classes(count, k, n);
        return;
    }
    moments m;
    moments_of(t, 0, 1, n, &m);
    print_moments("all", &m);
    printf("  zeros %lld (%.1f%%), non-finite %lld\n", (long long)m.zeros,
           n ? 100.0 * (double)m.zeros / (double)n : 0.0, (long long)m.bad);
    percentiles(t);
    channel_stats(t);
}

/* ------------------------------------------------------------- volumes */

/* A tensor as one volume: its data offset (batch 0, the channel) and the
 * spatial sizes, slowest first (nsp 2 or 3). */
typedef struct volume {
    int64_t offset;
    int64_t size[3];
    int nsp;
} volume;

static int volume_of(repl *r, const rt_tensor *t, int channel, volume *v)
{
    const rt_type *ty = &t->type;
    int lead = ty->rank >= 4 ? 2 : 0; /* [N, C, ...] */
    if (repl_is_label_map(t) && ty->rank == 4 && ty->dim[1] != 1)
        lead = 1; /* argmax's [N, D, H, W] */
    else if (repl_is_label_map(t) && ty->rank == 3)
        lead = 1; /* [N, H, W] */
    v->nsp = ty->rank - lead;
    if (v->nsp < 2 || v->nsp > 3) {
        char b[128];
        repl_error(r, ":show needs an image or a volume, not %s", rt_type_str(ty, b, sizeof b));
        return -1;
    }
    int64_t inner = 1;
    for (int i = 0; i < v->nsp; i++)
        inner *= v->size[i] = ty->dim[lead + i];
    int64_t channels = lead == 2 ? ty->dim[1] : 1;
    if (channel < 0 || channel >= channels) {
        repl_error(r, "channel %d: the tensor has %lld", channel, (long long)channels);
        return -1;
    }
    v->offset = (int64_t)channel * inner;
    return 0;
}

/* One slice as rows x cols: voxel(y, x) = base + y * rs + x * cs. */
typedef struct plane {
    int64_t rows, cols, base, rs, cs;
} plane;

static int plane_of(repl *r, const volume *v, int axis, int64_t *slice, plane *p)
{
    if (v->nsp == 2) {
        *p = (plane){v->size[0], v->size[1], v->offset, v->size[1], 1};
        return 0;
    }
    if (axis < 0 || axis > 2) {
        repl_error(r, "axis %d: a volume has axes 0, 1 and 2", axis);
        return -1;
    }
    int64_t d = v->size[0], h = v->size[1], w = v->size[2];
    if (*slice < 0)
        *slice = v->size[axis] / 2;
    if (*slice >= v->size[axis]) {
        repl_error(r, "slice %lld: axis %d has %lld", (long long)*slice, axis,
                   (long long)v->size[axis]);
        return -1;
    }
    int64_t s = *slice, base = v->offset;
    if (axis == 0)
        *p = (plane){h, w, base + s * h * w, w, 1};
    else if (axis == 1) /* the first axis upwards */
        *p = (plane){d, w, base + (d - 1) * h * w + s * w, -h * w, 1};
    else
        *p = (plane){d, h, base + (d - 1) * h * w + s, -h * w, w};
    return 0;
}

/* ------------------------------------------------------------ drawing */

/* viridis at t in [0, 1], by its own nine control points. */
static void viridis(double t, uint8_t rgb[3])
{
    static const uint8_t cp[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                     {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                     {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
    t = isfinite(t) ? fmin(fmax(t, 0), 1) : 0;
    double x = t * 8;
    int k = x >= 8 ? 7 : (int)x;
    double f = x - k;
    for (int i = 0; i < 3; i++)
        rgb[i] = (uint8_t)lround(cp[k][i] + f * (cp[k + 1][i] - cp[k][i]));
}

static void finite_range(const rt_tensor *t, double *lo, double *hi)
{
    moments m;
    moments_of(t, 0, 1, rt_type_numel(&t->type), &m);
    *lo = m.n ? m.lo : 0;
    *hi = m.n && m.hi > m.lo ? m.hi : *lo + 1;
}

static int write_plane(const rt_tensor *t, const plane *p, const char *path, int *px,
                       double *lo, double *hi, rt_error *err)
{
    int64_t big = p->rows > p->cols ? p->rows : p->cols;
    int k = big >= SHOW_TARGET ? 1 : (int)(SHOW_TARGET / big);
    while (k > 1 && big * k > SHOW_MAX_PX)
        k--;
    int h = (int)(p->rows * k), w = (int)(p->cols * k);
    int labels = repl_is_label_map(t);
    finite_range(t, lo, hi);
    uint8_t *rgb = seg_xcalloc((size_t)h * (size_t)w * 3, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double v = elem(t, p->base + (y / k) * p->rs + (x / k) * p->cs);
            uint8_t *o = rgb + 3 * ((size_t)y * w + x);
            if (labels && v > 0)
                rt_overlay_colour((int)v, 0, o);
            else if (!labels)
                viridis((v - *lo) / (*hi - *lo), o);
        }
    int rc = rt_png_write(path, w, h, 3, 8, rgb, err);
    seg_free(rgb);
    *px = k;
    return rc;
}

/* Labels over an image, drawn as the trainer's overlays. */
static int write_overlay(repl *r, const rt_tensor *lab, const volume *lv, const rt_tensor *img,
                         const repl_show_opts *o, int64_t slice, rt_error *err)
{
    volume iv;
    if (volume_of(r, img, 0, &iv))
        return -1;
    if (iv.nsp != lv->nsp || memcmp(iv.size, lv->size, (size_t)iv.nsp * sizeof iv.size[0])) {
        repl_error(r, "the labels and the image differ in size");
        return -1;
    }
    int64_t n = 1;
    rt_case c = {.nsp = lv->nsp, .channels = 1, .spacing = {1, 1, 1}};
    for (int i = 0; i < 3; i++)
        n *= c.size[i] = i < lv->nsp ? lv->size[i] : 1;
    c.image = seg_xcalloc((size_t)n, sizeof(float));
    int32_t *pred = seg_xcalloc((size_t)n, sizeof *pred), *truth = seg_xcalloc((size_t)n, 4);
    for (int64_t i = 0; i < n; i++) {
        c.image[i] = (float)elem(img, iv.offset + i);
        pred[i] = (int32_t)elem(lab, lv->offset + i);
    }
    rt_overlay_focus f = {0};
    f.at[o->axis] = slice;
    rt_view view = lv->nsp == 2 ? RT_VIEW_IMAGE : (rt_view)(RT_VIEW_AXIAL + o->axis);
    int rc = rt_overlay_write(o->path, &c, truth, pred, view, &f, SHOW_TARGET, err);
    seg_free(c.image);
    seg_free(pred);
    seg_free(truth);
    return rc;
}

int repl_show_write(repl *r, const rt_tensor *t, const rt_tensor *image, const repl_show_opts *o)
{
    volume v;
    plane p;
    int64_t slice = o->slice;
    if (volume_of(r, t, o->channel, &v) || plane_of(r, &v, o->axis, &slice, &p))
        return -1;
    if (image && !repl_is_label_map(t)) {
        repl_error(r, ":show ... on IMAGE draws a label map (i32 or u8) over the image");
        return -1;
    }
    rt_error err = {{0}};
    int px = 0, rc;
    double lo = 0, hi = 0;
    rc = image ? write_overlay(r, t, &v, image, o, slice, &err)
               : write_plane(t, &p, o->path, &px, &lo, &hi, &err);
    if (rc) {
        if (err.msg[0])
            repl_error(r, "%s", err.msg);
        return -1;
    }
    printf("wrote %s: ", o->path);
    if (v.nsp == 3)
        printf("axis %d slice %lld of %lld, ", o->axis, (long long)slice,
               (long long)v.size[o->axis]);
    if (image)
        printf("labels over the image\n");
    else if (repl_is_label_map(t))
        printf("%lld x %lld voxels, %dx, class colours\n", (long long)p.cols, (long long)p.rows, px);
    else
        printf("%lld x %lld voxels, %dx, viridis from %.4g to %.4g\n", (long long)p.cols,
               (long long)p.rows, px, lo, hi);
    return 0;
}
