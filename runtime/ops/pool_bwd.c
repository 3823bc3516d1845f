/* pool_bwd.c — gradients of max pooling and average pooling over 1-3
 * spatial axes, PyTorch's CPU semantics (ceil_mode = false).
 *
 * maxpool_bwd (x, dy -> dx): each window's gradient goes to one element,
 * the one PyTorch's CPU kernel records as the argmax: the window is
 * scanned z, y, x in order from its first in-image element, and an
 * element replaces the best so far when it is strictly greater or NaN. So
 * among ties the FIRST maximum wins, among NaNs the last. Padding is never
 * scanned, so it never wins; dilation is honoured as in the forward.
 * Where windows overlap, gradients accumulate.
 * avgpool_bwd (dy -> dx): count_include_pad = true like the forward: each
 * output's gradient divided by the window clipped to the padded input is
 * added to every real input element of its window.
 *
 * Both walk the output (the gradient dy) one plane at a time and scatter
 * into the plane of dx, which is zeroed first; windows are clipped to the
 * input once per position, so the inner loops carry no bounds tests.
 */
#include "runtime/ops/ops_backward.h"

#include <math.h>
#include <string.h>

/* Output size of a pooling along one axis, or -1 if the window does not fit. */
/* Check dy against dx = c->out (and x, if given), fill g (image = dx) and
 * zero dx, which the kernels then accumulate into. */
static int pool_bwd_setup(const ops_call *c, const rt_tensor *x, const rt_tensor *dy,
                          ops_geom *g, int dilated)
{
    const rt_attrs *a = c->a;
    const rt_type *xt = &c->out->type;
    if (a->nsp < 1 || a->nsp > 3)
        return ops_fail(c, "spatial rank %d is not 1..3", a->nsp);
    if (ops_want_dtype(c, dy, RT_F32, "gradient") || ops_want_rank(c, dy, a->nsp + 2, "gradient") ||
        ops_want_dtype(c, c->out, RT_F32, "output") || ops_want_rank(c, c->out, a->nsp + 2, "output"))
        return -1;
    if (x && !rt_type_equal(&x->type, xt))
        return ops_fail(c, "output type differs from the input's");
    if (dy->type.dim[0] != xt->dim[0] || dy->type.dim[1] != xt->dim[1])
        return ops_fail(c, "gradient batch and channels must match the output's");
    int64_t k[3];
    int one[3] = {1, 1, 1};
    for (int i = 0; i < a->nsp; i++) {
        k[i] = a->kernel[i];
        int64_t want = rt_conv_out_size(xt->dim[2 + i], k[i], a->stride[i], a->pad[i],
                                 dilated ? a->dilation[i] : 1);
        if (want < 1 || dy->type.dim[2 + i] != want)
            return ops_fail(c, "spatial axis %d: gradient size %lld, expected %lld", i,
                            (long long)dy->type.dim[2 + i], (long long)want);
    }
    ops_geom_init(g, a->nsp, xt->dim + 2, dy->type.dim + 2, k, a->stride, a->pad,
                  dilated ? a->dilation : one);
    int64_t n = rt_type_numel(xt);
    if (n > 0)
        memset(c->out->data, 0, (size_t)n * sizeof(float));
    return 0;
}

/* ----------------------------------------------------------- maxpool */

/* Plane offset of the first maximal (or last NaN) element of window o; -1 if empty. */
static int64_t argmax_at(const ops_geom *g, const float *src, const int64_t o[3])
{
    int64_t k0[3], k1[3];
    for (int j = 0; j < 3; j++) {
        ops_geom_window(g, j, o[j], &k0[j], &k1[j]);
        if (k0[j] >= k1[j])
            return -1;
    }
    int64_t best = -1;
    float m = -INFINITY;
    for (int64_t kz = k0[0]; kz < k1[0]; kz++)
        for (int64_t ky = k0[1]; ky < k1[1]; ky++) {
            int64_t iz = o[0] * g->s[0] - g->p[0] + kz * g->d[0];
            int64_t iy = o[1] * g->s[1] - g->p[1] + ky * g->d[1];
            int64_t row = (iz * g->in[1] + iy) * g->in[2];
            for (int64_t kx = k0[2]; kx < k1[2]; kx++) {
                int64_t i = row + o[2] * g->s[2] - g->p[2] + kx * g->d[2];
                if (best < 0)
                    best = i; /* all -inf: PyTorch keeps the first element */
                if (src[i] > m || src[i] != src[i]) {
                    m = src[i];
                    best = i;
                }
            }
        }
    return best;
}

int ops_maxpool_bwd(const ops_call *c)
{
    ops_geom g;
    const rt_tensor *x = c->in[0], *dyt = c->in[1];
    if (ops_want_dtype(c, x, RT_F32, "input") || pool_bwd_setup(c, x, dyt, &g, 1) < 0)
        return -1;
    int64_t planes = x->type.dim[0] * x->type.dim[1];
    int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
    const float *dy = rt_f32(dyt);
    for (int64_t p = 0; p < planes; p++) {
        const float *src = rt_f32(x) + p * in_plane;
        float *dst = rt_f32(c->out) + p * in_plane;
        int64_t o[3];
        for (o[0] = 0; o[0] < g.out[0]; o[0]++)
            for (o[1] = 0; o[1] < g.out[1]; o[1]++)
                for (o[2] = 0; o[2] < g.out[2]; o[2]++, dy++) {
                    int64_t i = argmax_at(&g, src, o);
                    if (i >= 0)
                        dst[i] += *dy;
                }
    }
    return 0;
}

/* ----------------------------------------------------------- avgpool */

/* dst[window o] += v / pool_size, the forward's divisor (count_include_pad). */
static void avg_scatter(const ops_geom *g, float *dst, const int64_t o[3], float v)
{
    int64_t lo[3], hi[3], pool = 1;
    for (int j = 0; j < 3; j++) {
        int64_t start = o[j] * g->s[j] - g->p[j], end = start + g->k[j];
        if (end > g->in[j] + g->p[j])
            end = g->in[j] + g->p[j];
        pool *= end - start;
        lo[j] = start > 0 ? start : 0;
        hi[j] = end < g->in[j] ? end : g->in[j];
    }
    float delta = v / (float)pool;
    for (int64_t z = lo[0]; z < hi[0]; z++)
        for (int64_t y = lo[1]; y < hi[1]; y++) {
            float *row = dst + (z * g->in[1] + y) * g->in[2];
            for (int64_t x = lo[2]; x < hi[2]; x++)
                row[x] += delta;
        }
}

int ops_avgpool_bwd(const ops_call *c)
{
    ops_geom g;
    const rt_tensor *dyt = c->in[0];
    if (pool_bwd_setup(c, NULL, dyt, &g, 0) < 0)
        return -1;
    int64_t planes = dyt->type.dim[0] * dyt->type.dim[1];
    int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
    const float *dy = rt_f32(dyt);
    for (int64_t p = 0; p < planes; p++) {
        float *dst = rt_f32(c->out) + p * in_plane;
        int64_t o[3];
        for (o[0] = 0; o[0] < g.out[0]; o[0]++)
            for (o[1] = 0; o[1] < g.out[1]; o[1]++)
                for (o[2] = 0; o[2] < g.out[2]; o[2]++)
                    avg_scatter(&g, dst, o, *dy++);
    }
    return 0;
}
