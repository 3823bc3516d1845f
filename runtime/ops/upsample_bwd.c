/* upsample_bwd.c — the gradient of upsample (dy -> dx): the exact adjoint
 * of upsample.c's interpolation, PyTorch's upsample_*_backward on the CPU.
 *
 * The per-axis tables are the forward's own (upsample_axis.c).
 * Every output gradient dy[oz, oy, ox] is scatter-added to the (up to 8)
 * sources the forward read it from, with the product of the per-axis
 * weights. Nearest axes and the size-1 axes that pad a 1-D or 2-D op to
 * 3-D have one source of weight 1. The loops run over z and y source taps
 * outside, then along a whole x line, so the reads of dy are sequential.
 * tests/ops/test_backward.c checks <up(x), y> = <x, up_bwd(y)>.
 */
#include "runtime/ops/ops_backward.h"

#include <math.h>
#include <string.h>


/* Sources of output index o: fills idx and w, returns how many (1 or 2). */
static int axis_taps(const ops_up_axis *t, int64_t o, int64_t idx[2], float w[2])
{
    idx[0] = t->i0[o];
    w[0] = t->copy ? 1.0f : t->l0[o];
    idx[1] = t->i1[o];
    w[1] = t->l1[o];
    return t->copy ? 1 : 2;
}

/* row[sources of ox] += wt * weight * dy[ox] along one x line. */
static void scatter_line(const ops_up_axis *tx, float *row, const float *dy, int64_t w_out, float wt)
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

static void up_bwd_plane(const ops_up_axis t[3], const int64_t in[3], const int64_t out[3],
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
    ops_up_axis t[3];
    for (int j = 0; j < 3; j++)
        ops_up_axis_init(&t[j], c->a->mode, in[j], out[j], j < 3 - nsp);
    int64_t planes = xt->dim[0] * xt->dim[1];
    int64_t in_plane = in[0] * in[1] * in[2], out_plane = out[0] * out[1] * out[2];
    if (planes * in_plane > 0)
        memset(c->out->data, 0, (size_t)(planes * in_plane) * sizeof(float));
    for (int64_t p = 0; p < planes; p++)
        up_bwd_plane(t, in, out, rt_f32(c->in[0]) + p * out_plane, rt_f32(c->out) + p * in_plane);
    for (int j = 0; j < 3; j++)
        ops_up_axis_free(&t[j]);
    return 0;
}
