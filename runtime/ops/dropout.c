/* dropout.c — dropout and channelwise ("spatial") dropout.
 *
 * Training: an element (or, with attrs.channelwise, a whole channel plane
 * of an [N, C, ...] tensor) is kept when its uniform draw u satisfies
 * u >= p, so with probability 1 - p; kept values are scaled by
 * 1 / (1 - p) (computed in float, as PyTorch scales its noise tensor),
 * dropped ones become 0. p >= 1 drops everything. The draw for element i
 * is rt_rand_uniform01(seed, stream, ctx->step, i); channelwise uses one
 * draw per (n, c), index n * C + c. Not training: the identity.
 */
#include "runtime/ops/ops_internal.h"

static int dropout_check(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    if (ops_want_dtype(c, x, RT_F32, "input"))
        return -1;
    if (!rt_type_equal(&x->type, &c->out->type))
        return ops_fail(c, "output type differs from the input's");
    if (!(c->a->p >= 0 && c->a->p <= 1))
        return ops_fail(c, "drop probability %g is not in [0, 1]", (double)c->a->p);
    if (c->a->channelwise && x->type.rank < 2)
        return ops_fail(c, "channelwise dropout needs an [N, C, ...] input");
    return 0;
}

int ops_dropout(const ops_call *c)
{
    if (dropout_check(c) < 0)
        return -1;
    const rt_attrs *a = c->a;
    const rt_tensor *x = c->in[0];
    int64_t n = rt_type_numel(&x->type);
    if (!a->training)
        return ops_identity(c);
    /* Elements per draw: 1, or one channel plane. */
    int64_t group = 1;
    if (a->channelwise) {
        int64_t planes = x->type.dim[0] * x->type.dim[1];
        group = planes ? n / planes : 1;
    }
    float p = a->p, scale = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
    const float *src = rt_f32(x);
    float *dst = rt_f32(c->out);
    for (int64_t g = 0; g * group < n; g++) {
        int keep = p < 1 && rt_rand_uniform01(a->seed, a->stream, c->ctx->step, (uint64_t)g) >= p;
        for (int64_t i = g * group; i < (g + 1) * group; i++)
            dst[i] = keep ? src[i] * scale : 0.0f;
    }
    return 0;
}
