/* upsample.c — resizing of the 1-3 spatial axes to the output type's size,
 * exactly as PyTorch's F.interpolate(x, size=...) on the CPU.
 *
 * Per axis a table maps each output index to source indices and weights,
 * computed in float like PyTorch (scale = (float)in / out):
 *   nearest: src = min(floor(dst * scale), in - 1), with PyTorch's two
 *            shortcuts (out == in: identity; out == 2 * in: dst >> 1).
 *   linear (align_corners = false): out == in is the identity; otherwise
 *            r = scale * (dst + 0.5) - 0.5, clamped below at 0;
 *            i0 = min(floor(r), in - 1), i1 = i0 + (i0 < in - 1),
 *            l1 = clamp(r - i0, 0, 1), l0 = 1 - l1.
 * Linear/bilinear/trilinear is the separable product, evaluated in the
 * order of PyTorch's kernel: l0 * f(i0) + l1 * f(i1) from the outermost
 * axis inwards, where f is the interpolation over the inner axes.
 * Nearest and the size-1 axes that pad a 1-D or 2-D op to 3-D read their
 * one source directly (no 1 * v + 0 * v, which would turn inf into NaN).
 * Simplification: the output size is all we know, so a non-integer scale
 * matches interpolate(size=...), not interpolate(scale_factor=...), which
 * derives the ratio from the factor instead.
 */
#include "runtime/ops/ops_internal.h"

#include <math.h>


/* Interpolate along x on the input row `row`. */
static float lerp_x(const ops_up_axis *ax, const float *row, int64_t o)
{
    if (ax->copy)
        return row[ax->i0[o]];
    return ax->l0[o] * row[ax->i0[o]] + ax->l1[o] * row[ax->i1[o]];
}

/* Interpolate along y then x inside the input plane `pl` (width w). */
static float lerp_yx(const ops_up_axis *t, const float *pl, int64_t w, int64_t oy, int64_t ox)
{
    if (t[1].copy)
        return lerp_x(&t[2], pl + t[1].i0[oy] * w, ox);
    return t[1].l0[oy] * lerp_x(&t[2], pl + t[1].i0[oy] * w, ox) +
           t[1].l1[oy] * lerp_x(&t[2], pl + t[1].i1[oy] * w, ox);
}

static void upsample_plane(const ops_up_axis t[3], const int64_t in[3], const int64_t out[3],
                           const float *src, float *dst)
{
    int64_t hw = in[1] * in[2];
    for (int64_t oz = 0; oz < out[0]; oz++)
        for (int64_t oy = 0; oy < out[1]; oy++)
            for (int64_t ox = 0; ox < out[2]; ox++)
                *dst++ = t[0].copy ? lerp_yx(t, src + t[0].i0[oz] * hw, in[2], oy, ox)
                                   : t[0].l0[oz] * lerp_yx(t, src + t[0].i0[oz] * hw, in[2], oy, ox) +
                         t[0].l1[oz] * lerp_yx(t, src + t[0].i1[oz] * hw, in[2], oy, ox);
}

static int upsample_check(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    const rt_type *ot = &c->out->type;
    int nsp = c->a->nsp;
    if (nsp < 1 || nsp > 3)
        return ops_fail(c, "spatial rank %d is not 1..3", nsp);
    if (c->a->mode != RT_UP_NEAREST && c->a->mode != RT_UP_LINEAR)
        return ops_fail(c, "unknown mode %d", c->a->mode);
    if (ops_want_dtype(c, x, RT_F32, "input") || ops_want_rank(c, x, nsp + 2, "input") ||
        ops_want_dtype(c, c->out, RT_F32, "output") || ops_want_rank(c, c->out, nsp + 2, "output"))
        return -1;
    if (ot->dim[0] != x->type.dim[0] || ot->dim[1] != x->type.dim[1])
        return ops_fail(c, "output batch and channels must match the input's");
    for (int i = 2; i < nsp + 2; i++)
        if (x->type.dim[i] < 1 || ot->dim[i] < 1)
            return ops_fail(c, "spatial sizes must be positive");
    return 0;
}

int ops_upsample(const ops_call *c)
{
    if (upsample_check(c) < 0)
        return -1;
    const rt_type *it = &c->in[0]->type, *ot = &c->out->type;
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
    for (int i = 0; i < c->a->nsp; i++) {
        in[3 - c->a->nsp + i] = it->dim[2 + i];
        out[3 - c->a->nsp + i] = ot->dim[2 + i];
    }
    ops_up_axis t[3];
    for (int j = 0; j < 3; j++)
        ops_up_axis_init(&t[j], c->a->mode, in[j], out[j], j < 3 - c->a->nsp);
    int64_t planes = it->dim[0] * it->dim[1];
    int64_t in_plane = in[0] * in[1] * in[2], out_plane = out[0] * out[1] * out[2];
    for (int64_t p = 0; p < planes; p++)
        upsample_plane(t, in, out, rt_f32(c->in[0]) + p * in_plane, rt_f32(c->out) + p * out_plane);
    for (int j = 0; j < 3; j++)
        ops_up_axis_free(&t[j]);
    return 0;
}
