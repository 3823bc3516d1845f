/* pool.c — max pooling, average pooling and global average pooling over
 * 1-3 spatial axes, PyTorch semantics with ceil_mode = false.
 *
 * maxpool: padding counts as -inf (so it never wins); a NaN in the window
 * wins, like PyTorch; dilation is honoured (attrs.dilation, 1 by default).
 * avgpool: count_include_pad = true: the divisor is the window clipped to
 * the padded input [-pad, in + pad), i.e. PyTorch's pool_size, computed
 * before the window is clipped to the real input; the sum is in float in
 * z, y, x order as PyTorch does.
 * global_avgpool: mean over all spatial positions per (n, c), accumulated
 * in double; the output keeps the spatial axes as size 1.
 *
 * All three walk the output directly: for each output position the window
 * is clipped to the input once, so the inner loops carry no bounds tests.
 */
#include "runtime/ops/ops_internal.h"

#include <math.h>

/* Check shapes and fill g (image = input, grid = output). */
static int pool_setup(const ops_call *c, ops_geom *g, int dilated)
{
    const rt_attrs *a = c->a;
    const rt_tensor *x = c->in[0];
    const rt_type *ot = &c->out->type;
    if (a->nsp < 1 || a->nsp > 3)
        return ops_fail(c, "spatial rank %d is not 1..3", a->nsp);
    if (ops_want_dtype(c, x, RT_F32, "input") || ops_want_rank(c, x, a->nsp + 2, "input") ||
        ops_want_dtype(c, c->out, RT_F32, "output") || ops_want_rank(c, c->out, a->nsp + 2, "output"))
        return -1;
    if (ot->dim[0] != x->type.dim[0] || ot->dim[1] != x->type.dim[1])
        return ops_fail(c, "output batch and channels must match the input's");
    int64_t k[3];
    int one[3] = {1, 1, 1};
    for (int i = 0; i < a->nsp; i++) {
        k[i] = a->kernel[i];
        int64_t want = rt_conv_out_size(x->type.dim[2 + i], k[i], a->stride[i], a->pad[i],
                                         dilated ? a->dilation[i] : 1);
        if (want < 1 || ot->dim[2 + i] != want)
            return ops_fail(c, "spatial axis %d: output size %lld, expected %lld", i,
                            (long long)ot->dim[2 + i], (long long)want);
    }
    ops_geom_init(g, a->nsp, x->type.dim + 2, ot->dim + 2, k, a->stride, a->pad,
                  dilated ? a->dilation : one);
    return 0;
}

static float max_at(const ops_geom *g, const float *src, const int64_t o[3])
{
    int64_t k0[3], k1[3];
    for (int j = 0; j < 3; j++)
        ops_geom_window(g, j, o[j], &k0[j], &k1[j]);
    float m = -INFINITY;
    for (int64_t kz = k0[0]; kz < k1[0]; kz++)
        for (int64_t ky = k0[1]; ky < k1[1]; ky++) {
            int64_t iz = o[0] * g->s[0] - g->p[0] + kz * g->d[0];
            int64_t iy = o[1] * g->s[1] - g->p[1] + ky * g->d[1];
            const float *row = src + (iz * g->in[1] + iy) * g->in[2];
            for (int64_t kx = k0[2]; kx < k1[2]; kx++) {
                float v = row[o[2] * g->s[2] - g->p[2] + kx * g->d[2]];
                if (v > m || v != v)
                    m = v;
            }
        }
    return m;
}

static float avg_at(const ops_geom *g, const float *src, const int64_t o[3])
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
    float sum = 0;
    for (int64_t z = lo[0]; z < hi[0]; z++)
        for (int64_t y = lo[1]; y < hi[1]; y++)
            for (int64_t x = lo[2]; x < hi[2]; x++)
                sum += src[(z * g->in[1] + y) * g->in[2] + x];
    return sum / (float)pool;
}

static int pool_run(const ops_call *c, int is_max)
{
    ops_geom g;
    if (pool_setup(c, &g, is_max) < 0)
        return -1;
    int64_t planes = c->in[0]->type.dim[0] * c->in[0]->type.dim[1];
    int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
    const float *x = rt_f32(c->in[0]);
    float *y = rt_f32(c->out);
    for (int64_t p = 0; p < planes; p++) {
        const float *src = x + p * in_plane;
        int64_t o[3];
        for (o[0] = 0; o[0] < g.out[0]; o[0]++)
            for (o[1] = 0; o[1] < g.out[1]; o[1]++)
                for (o[2] = 0; o[2] < g.out[2]; o[2]++)
                    *y++ = is_max ? max_at(&g, src, o) : avg_at(&g, src, o);
    }
    return 0;
}

int ops_maxpool(const ops_call *c) { return pool_run(c, 1); }
int ops_avgpool(const ops_call *c) { return pool_run(c, 0); }

int ops_global_avgpool(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    const rt_type *ot = &c->out->type;
    if (ops_want_dtype(c, x, RT_F32, "input") || ops_want_dtype(c, c->out, RT_F32, "output"))
        return -1;
    if (x->type.rank < 3 || ot->rank != x->type.rank || ot->dim[0] != x->type.dim[0] ||
        ot->dim[1] != x->type.dim[1] || rt_type_numel(ot) != ot->dim[0] * ot->dim[1])
        return ops_fail(c, "output must be [N, C, 1, ...] for an input [N, C, spatial...]");
    int64_t planes = ot->dim[0] * ot->dim[1];
    int64_t plane = planes ? rt_type_numel(&x->type) / planes : 0;
    const float *src = rt_f32(x);
    for (int64_t p = 0; p < planes; p++) {
        double sum = 0;
        for (int64_t i = 0; i < plane; i++)
            sum += src[p * plane + i];
        rt_f32(c->out)[p] = (float)(sum / (double)plane);
    }
    return 0;
}
