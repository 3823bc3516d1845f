/* upsample_bwd.c — the gradient of upsample (dy -> dx): the exact adjoint
 * of upsample.c's interpolation, PyTorch's upsample_*_backward on the CPU.
 *
 * The per-axis tables are the forward's, rebuilt here with the same
 * rules (computed in float, scale = (float)in / out, align_corners false):
 *   nearest: src = min(floor(dst * scale), in - 1), with the shortcuts
 *            out == in (identity) and out == 2 * in (dst >> 1);
 *   linear:  out == in is the identity; otherwise r = max(scale * (dst +
 *            0.5) - 0.5, 0), i0 = min(floor(r), in - 1), i1 = i0 + (i0 <
 *            in - 1), l1 = clamp(r - i0, 0, 1), l0 = 1 - l1.
 * Every output gradient dy[oz, oy, ox] is scatter-added to the (up to 8)
 * sources the forward read it from, with the product of the per-axis
 * weights. Nearest axes and the size-1 axes that pad a 1-D or 2-D op to
 * 3-D have one source of weight 1. The loops run over z and y source taps
 * outside, then along a whole x line, so the reads of dy are sequential.
 * Keep the tables in step with upsample.c: the two are only adjoint while
 * they agree (tests/ops/test_backward.c checks <up(x), y> = <x, up_bwd(y)>).
 */
#include "runtime/ops/ops_backward.h"

#include <math.h>
#include <string.h>

/* Output index -> source indices and weights, for one axis. */
typedef struct up_axis {
    int64_t *i0, *i1; /* source indices (i1 = i0 for nearest) */
    float *l0, *l1;   /* weights (1, 0 for nearest) */
    int copy;         /* one source, weight 1: nearest, or an axis added to reach 3-D */
} up_axis;

static void axis_nearest(up_axis *t, int64_t in, int64_t out)
{
    float scale = (float)in / (float)out;
    for (int64_t o = 0; o < out; o++) {
        int64_t s = out == in ? o : out == 2 * in ? o >> 1 : (int64_t)floorf((float)o * scale);
        t->i0[o] = t->i1[o] = s < in - 1 ? s : in - 1;
        t->l0[o] = 1;
        t->l1[o] = 0;
    }
}

static void axis_linear(up_axis *t, int64_t in, int64_t out)
{
    float scale = (float)in / (float)out;
    for (int64_t o = 0; o < out; o++) {
        if (out == in) {
            t->i0[o] = t->i1[o] = o;
            t->l0[o] = 1;
            t->l1[o] = 0;
            continue;
        }
        float r = scale * ((float)o + 0.5f) - 0.5f;
        if (r < 0)
            r = 0;
        int64_t i0 = (int64_t)floorf(r);
        if (i0 > in - 1)
            i0 = in - 1;
        float l1 = fminf(fmaxf(r - (float)i0, 0.0f), 1.0f);
        t->i0[o] = i0;
        t->i1[o] = i0 + (i0 < in - 1 ? 1 : 0);
        t->l1[o] = l1;
        t->l0[o] = 1.0f - l1;
    }
}

static void axis_init(up_axis *t, int mode, int64_t in, int64_t out, int added)
{
    t->copy = mode == RT_UP_NEAREST || added;
    t->i0 = seg_xcalloc((size_t)out, sizeof(int64_t));
    t->i1 = seg_xcalloc((size_t)out, sizeof(int64_t));
    t->l0 = seg_xcalloc((size_t)out, sizeof(float));
    t->l1 = seg_xcalloc((size_t)out, sizeof(float));
    if (mode == RT_UP_NEAREST)
        axis_nearest(t, in, out);
    else
        axis_linear(t, in, out);
}

static void axis_free(up_axis *t)
{
    seg_free(t->i0);
    seg_free(t->i1);
    seg_free(t->l0);
    seg_free(t->l1);
}

/* Sources of output index o: fills idx and w, returns how many (1 or 2). */
static int axis_taps(const up_axis *t, int64_t o, int64_t idx[2], float w[2])
{
    idx[0] = t->i0[o];
    w[0] = t->copy ? 1.0f : t->l0[o];
    idx[1] = t->i1[o];
    w[1] = t->l1[o];
    return t->copy ? 1 : 2;
}

/* row[sources of ox] += wt * weight * dy[ox] along one x line. */
static void scatter_line(const up_axis *tx, float *row, const float *dy, int64_t w_out, float wt)
{
    if (tx->copy) {
        for (int64_t ox = 0; ox < w_out; ox++)
            row[tx->i0[ox]] += wt * dy[ox];
        return;
    }
    for (int64_t ox = 0; ox < w_out; ox++) {
        float v = wt * dy[ox];
        row[tx->i0[ox]] += tx->l0[ox] * v;
        row[tx->i1[ox]] += tx->l1[ox] * v;
    }
}

static void up_bwd_plane(const up_axis t[3], const int64_t in[3], const int64_t out[3],
                         const float *dy, float *dx)
{
    int64_t iz[2], iy[2];
    float wz[2], wy[2];
    for (int64_t oz = 0; oz < out[0]; oz++) {
        int nz = axis_taps(&t[0], oz, iz, wz);
        for (int a = 0; a < nz; a++)
            for (int64_t oy = 0; oy < out[1]; oy++) {
                int ny = axis_taps(&t[1], oy, iy, wy);
                const float *line = dy + (oz * out[1] + oy) * out[2];
                for (int b = 0; b < ny; b++)
                    scatter_line(&t[2], dx + (iz[a] * in[1] + iy[b]) * in[2], line, out[2],
                                 wz[a] * wy[b]);
            }
    }
}

static int up_bwd_check(const ops_call *c)
{
    const rt_tensor *dy = c->in[0];
    const rt_type *xt = &c->out->type;
    int nsp = c->a->nsp;
    if (nsp < 1 || nsp > 3)
        return ops_fail(c, "spatial rank %d is not 1..3", nsp);
    if (c->a->mode != RT_UP_NEAREST && c->a->mode != RT_UP_LINEAR)
        return ops_fail(c, "unknown mode %d", c->a->mode);
    if (ops_want_dtype(c, dy, RT_F32, "gradient") || ops_want_rank(c, dy, nsp + 2, "gradient") ||
        ops_want_dtype(c, c->out, RT_F32, "output") || ops_want_rank(c, c->out, nsp + 2, "output"))
        return -1;
    if (dy->type.dim[0] != xt->dim[0] || dy->type.dim[1] != xt->dim[1])
        return ops_fail(c, "gradient batch and channels must match the output's");
    for (int i = 2; i < nsp + 2; i++)
        if (dy->type.dim[i] < 1 || xt->dim[i] < 1)
            return ops_fail(c, "spatial sizes must be positive");
    return 0;
}

int ops_upsample_bwd(const ops_call *c)
{
    if (up_bwd_check(c) < 0)
        return -1;
    const rt_type *dt = &c->in[0]->type, *xt = &c->out->type;
    int nsp = c->a->nsp;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
    for (int i = 0; i < nsp; i++) {
        in[3 - nsp + i] = xt->dim[2 + i];
        out[3 - nsp + i] = dt->dim[2 + i];
    }
    up_axis t[3];
    for (int j = 0; j < 3; j++)
        axis_init(&t[j], c->a->mode, in[j], out[j], j < 3 - nsp);
    int64_t planes = xt->dim[0] * xt->dim[1];
    int64_t in_plane = in[0] * in[1] * in[2], out_plane = out[0] * out[1] * out[2];
    if (planes * in_plane > 0)
        memset(c->out->data, 0, (size_t)(planes * in_plane) * sizeof(float));
    for (int64_t p = 0; p < planes; p++)
        up_bwd_plane(t, in, out, rt_f32(c->in[0]) + p * out_plane, rt_f32(c->out) + p * in_plane);
    for (int j = 0; j < 3; j++)
        axis_free(&t[j]);
    return 0;
}
