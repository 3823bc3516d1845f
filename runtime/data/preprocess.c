/* preprocess.c — per-case intensity and geometry preprocessing.
 *
 * Intensity: clip to a window, min-max to [0, 1] and z-score, both per
 * channel; a channel whose min equals its max cannot be normalised and is
 * an error naming the case, and so is a non-finite voxel. All channels are
 * checked before any is changed, so a failed call leaves the case intact.
 *
 * Geometry: resampling to a target spacing aligns voxel centres in
 * physical space (source coordinate = (i + 0.5) * target / spacing - 0.5,
 * clamped at the borders): linear interpolation for the image (bilinear in
 * 2D, trilinear in 3D), nearest neighbour for the label, so labels stay
 * labels. Crop/pad cuts a window at a given offset or centred (the odd
 * voxel goes after), padding the image with a value and the label with 0.
 */
#include "runtime/runtime.h"

#include <math.h>
#include <string.h>

void rt_case_clip(rt_case *c, float lo, float hi)
{
    int64_t n = rt_case_numel(c) * c->channels;
    for (int64_t i = 0; i < n; i++)
        c->image[i] = c->image[i] < lo ? lo : c->image[i] > hi ? hi : c->image[i];
}

/* Range of channel ch; -1 with err on a non-finite or constant channel. */
static int pre_range(const rt_case *c, int ch, float *lo, float *hi, rt_error *err)
{
    int64_t n = rt_case_numel(c);
    const float *x = c->image + (int64_t)ch * n;
    float mn = INFINITY, mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            rt_error_set(err, "non-finite value %g at voxel %lld in %s", x[i], (long long)i, c->source);
            return -1;
        }
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    if (mn == mx) {
        if (c->channels > 1)
            rt_error_set(err, "constant image (min = max = %g) in %s, channel %d", mn, c->source, ch);
        else
            rt_error_set(err, "constant image (min = max = %g) in %s", mn, c->source);
        return -1;
    }
    *lo = mn, *hi = mx;
    return 0;
}

static int pre_check_all(const rt_case *c, rt_error *err)
{
    float lo, hi;
    for (int ch = 0; ch < c->channels; ch++)
        if (pre_range(c, ch, &lo, &hi, err))
            return -1;
    return 0;
}

int rt_case_minmax(rt_case *c, rt_error *err)
{
    if (pre_check_all(c, err))
        return -1;
    int64_t n = rt_case_numel(c);
    for (int ch = 0; ch < c->channels; ch++) {
        float lo, hi, *x = c->image + (int64_t)ch * n;
        pre_range(c, ch, &lo, &hi, err);
        double inv = 1.0 / ((double)hi - lo);
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)(((double)x[i] - lo) * inv);
    }
    return 0;
}

int rt_case_zscore(rt_case *c, rt_error *err)
{
    if (pre_check_all(c, err))
        return -1;
    int64_t n = rt_case_numel(c);
    for (int ch = 0; ch < c->channels; ch++) {
        float *x = c->image + (int64_t)ch * n;
        double s = 0, ss = 0;
        for (int64_t i = 0; i < n; i++)
            s += x[i];
        double mean = s / (double)n;
        for (int64_t i = 0; i < n; i++)
            ss += ((double)x[i] - mean) * ((double)x[i] - mean);
        double inv = 1.0 / sqrt(ss / (double)n);
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)(((double)x[i] - mean) * inv);
    }
    return 0;
}

/* ----------------------------------------------------------- resample */

/* Per-axis source positions: lower index, upper index, weight, nearest. */
typedef struct pre_axis {
    int64_t *i0, *i1, *nn;
    float *w;
} pre_axis;

static void pre_axis_init(pre_axis *a, int64_t n_src, int64_t n_dst, double scale)
{
    a->i0 = seg_xcalloc((size_t)n_dst, sizeof(int64_t));
    a->i1 = seg_xcalloc((size_t)n_dst, sizeof(int64_t));
    a->nn = seg_xcalloc((size_t)n_dst, sizeof(int64_t));
    a->w = seg_xcalloc((size_t)n_dst, sizeof(float));
    for (int64_t i = 0; i < n_dst; i++) {
        double x = ((double)i + 0.5) * scale - 0.5;
        x = x < 0 ? 0 : x > (double)(n_src - 1) ? (double)(n_src - 1) : x;
        a->i0[i] = (int64_t)x;
        a->i1[i] = a->i0[i] + 1 < n_src ? a->i0[i] + 1 : a->i0[i];
        a->w[i] = (float)(x - (double)a->i0[i]);
        a->nn[i] = (int64_t)floor(x + 0.5);
    }
}

static void pre_axis_free(pre_axis *a)
{
    seg_free(a->i0), seg_free(a->i1), seg_free(a->nn), seg_free(a->w);
}

/* Trilinear value of one channel at output voxel (z, y, x). */
static float pre_lerp(const float *src, const int64_t n[3], const pre_axis ax[3], int64_t z,
                      int64_t y, int64_t x)
{
    float s = 0;
    for (int k = 0; k < 8; k++) {
        int bz = k >> 2, by = (k >> 1) & 1, bx = k & 1;
        float w = (bz ? ax[0].w[z] : 1 - ax[0].w[z]) * (by ? ax[1].w[y] : 1 - ax[1].w[y]) *
                  (bx ? ax[2].w[x] : 1 - ax[2].w[x]);
        if (w == 0)
            continue;
        int64_t iz = bz ? ax[0].i1[z] : ax[0].i0[z], iy = by ? ax[1].i1[y] : ax[1].i0[y];
        int64_t ix = bx ? ax[2].i1[x] : ax[2].i0[x];
        s += w * src[(iz * n[1] + iy) * n[2] + ix];
    }
    return s;
}

static void pre_resample_into(const rt_case *c, const int64_t m[3], const pre_axis ax[3], float *img,
                              int32_t *lab)
{
    int64_t nsrc = rt_case_numel(c), ndst = m[0] * m[1] * m[2];
    for (int64_t z = 0; z < m[0]; z++)
        for (int64_t y = 0; y < m[1]; y++)
            for (int64_t x = 0; x < m[2]; x++) {
                int64_t at = (z * m[1] + y) * m[2] + x;
                for (int ch = 0; ch < c->channels; ch++)
                    img[ch * ndst + at] = pre_lerp(c->image + ch * nsrc, c->size, ax, z, y, x);
                lab[at] = c->label[(ax[0].nn[z] * c->size[1] + ax[1].nn[y]) * c->size[2] + ax[2].nn[x]];
            }
}

int rt_case_resample(rt_case *c, const float target[3], rt_error *err)
{
    int64_t m[3] = {1, 1, 1};
    pre_axis ax[3];
    for (int i = 0; i < c->nsp; i++)
        if (!(target[i] > 0)) {
            rt_error_set(err, "resample %s: target spacing must be positive, got %g", c->source,
                         target[i]);
            return -1;
        }
    for (int i = 0; i < 3; i++) {
        double scale = i < c->nsp ? (double)target[i] / c->spacing[i] : 1;
        m[i] = i < c->nsp ? (int64_t)llround((double)c->size[i] / scale) : 1;
        m[i] = m[i] < 1 ? 1 : m[i];
        pre_axis_init(&ax[i], c->size[i], m[i], scale);
    }
    float *img = seg_xcalloc((size_t)(m[0] * m[1] * m[2] * c->channels), sizeof *img);
    int32_t *lab = seg_xcalloc((size_t)(m[0] * m[1] * m[2]), sizeof *lab);
    pre_resample_into(c, m, ax, img, lab);
    for (int i = 0; i < 3; i++) {
        pre_axis_free(&ax[i]);
        c->size[i] = m[i];
        c->spacing[i] = i < c->nsp ? target[i] : 1;
    }
    seg_free(c->image), seg_free(c->label);
    c->image = img, c->label = lab;
    return 0;
}

void rt_resample_linear(const float *src, int channels, const int64_t from[3],
                        const float from_sp[3], float *dst, const int64_t to[3],
                        const float to_sp[3])
{
    pre_axis ax[3];
    for (int i = 0; i < 3; i++)
        pre_axis_init(&ax[i], from[i], to[i], (double)to_sp[i] / from_sp[i]);
    int64_t nsrc = from[0] * from[1] * from[2], ndst = to[0] * to[1] * to[2];
    for (int ch = 0; ch < channels; ch++)
        for (int64_t z = 0; z < to[0]; z++)
            for (int64_t y = 0; y < to[1]; y++)
                for (int64_t x = 0; x < to[2]; x++)
                    dst[ch * ndst + (z * to[1] + y) * to[2] + x] =
                        pre_lerp(src + ch * nsrc, from, ax, z, y, x);
    for (int i = 0; i < 3; i++)
        pre_axis_free(&ax[i]);
}

/* ----------------------------------------------------------- crop/pad */

static void pre_window(const rt_case *c, const int64_t m[3], const int64_t off[3], float pad,
                       float *img, int32_t *lab)
{
    int64_t nsrc = rt_case_numel(c), ndst = m[0] * m[1] * m[2];
    for (int64_t z = 0; z < m[0]; z++)
        for (int64_t y = 0; y < m[1]; y++)
            for (int64_t x = 0; x < m[2]; x++) {
                int64_t at = (z * m[1] + y) * m[2] + x;
                int64_t sz = z + off[0], sy = y + off[1], sx = x + off[2];
                int in = sz >= 0 && sz < c->size[0] && sy >= 0 && sy < c->size[1] && sx >= 0 &&
                         sx < c->size[2];
                int64_t from = (sz * c->size[1] + sy) * c->size[2] + sx;
                for (int ch = 0; ch < c->channels; ch++)
                    img[ch * ndst + at] = in ? c->image[ch * nsrc + from] : pad;
                lab[at] = in ? c->label[from] : 0;
            }
}

int rt_case_crop_pad(rt_case *c, const int64_t size[3], const int64_t *offset, float pad_value,
                     rt_error *err)
{
    int64_t m[3], off[3];
    for (int i = 0; i < 3; i++) {
        m[i] = i < c->nsp ? size[i] : 1;
        if (m[i] < 1 || m[i] > ((int64_t)1 << 24)) {
            rt_error_set(err, "crop/pad %s: size %lld out of range", c->source, (long long)m[i]);
            return -1;
        }
        off[i] = i >= c->nsp ? 0 : offset ? offset[i] : (c->size[i] - m[i]) / 2;
    }
    float *img = seg_xcalloc((size_t)(m[0] * m[1] * m[2] * c->channels), sizeof *img);
    int32_t *lab = seg_xcalloc((size_t)(m[0] * m[1] * m[2]), sizeof *lab);
    pre_window(c, m, off, pad_value, img, lab);
    seg_free(c->image), seg_free(c->label);
    c->image = img, c->label = lab;
    memcpy(c->size, m, sizeof m);
    return 0;
}
