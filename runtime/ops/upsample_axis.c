/* upsample_axis.c — the per-axis index and weight tables that upsample
 * (upsample.c) and its exact adjoint (upsample_bwd.c) share, so the two can
 * never disagree on which source pixels an output pixel reads. PyTorch's
 * rules with align_corners = false, computed in float like PyTorch's CPU
 * kernels: nearest takes min(floor(dst * in / out), in - 1); linear reads
 * r = max((dst + 0.5) * in / out - 0.5, 0) and its right neighbour,
 * clamped to in - 1. out == in is the identity; out == 2 in for nearest is
 * dst >> 1 (exact, where the float product could round).
 */
#include "runtime/ops/ops_internal.h"

#include <math.h>

static void axis_nearest(ops_up_axis *t, int64_t in, int64_t out)
{
    float scale = (float)in / (float)out;
    for (int64_t o = 0; o < out; o++) {
        int64_t s = out == in ? o : out == 2 * in ? o >> 1 : (int64_t)floorf((float)o * scale);
        t->i0[o] = t->i1[o] = s < in - 1 ? s : in - 1;
        t->l0[o] = 1;
        t->l1[o] = 0;
    }
}

static void axis_linear(ops_up_axis *t, int64_t in, int64_t out)
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

void ops_up_axis_init(ops_up_axis *t, int mode, int64_t in, int64_t out, int added)
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

void ops_up_axis_free(ops_up_axis *t)
{
    seg_free(t->i0);
    seg_free(t->i1);
    seg_free(t->l0);
    seg_free(t->l1);
}
