/* slice_bwd.c — the gradient of slice (dy -> dx): dx is zero except at the
 * positions the slice read, which receive dy. A slice reads each position
 * at most once (step >= 1), so the scatter is a plain store.
 *
 * The attrs are the forward's, as the compiler normalised them: per axis,
 * begin >= 0 and step >= 1; end is implied by dy's size (the slice output
 * type), so it is not read here. dx is walked with ops_iter over dy's
 * shape: operand 0 is dx with strides (contiguous stride * step) from the
 * offset of the first sliced element, operand 1 is dy, contiguous.
 */
#include "runtime/ops/ops_backward.h"

#include <string.h>

/* Strides into dx and the offset of element (begin...), checked against dy. */
static int slice_bwd_layout(const ops_call *c, int64_t st[2][RT_MAX_RANK], int64_t *base)
{
    const rt_type *dt = &c->in[0]->type, *xt = &c->out->type;
    const rt_attrs *a = c->a;
    int64_t cs[RT_MAX_RANK];
    ops_strides_contig(xt, cs);
    ops_strides_contig(dt, st[1]);
    *base = 0;
    for (int i = 0; i < xt->rank; i++) {
        int64_t last = a->begin[i] + (dt->dim[i] - 1) * a->step[i];
        if (a->step[i] < 1 || a->begin[i] < 0 || (dt->dim[i] > 0 && last >= xt->dim[i]))
            return ops_fail(c, "axis %d: begin %lld step %lld for %lld elements leaves [0, %lld)",
                            i, (long long)a->begin[i], (long long)a->step[i],
                            (long long)dt->dim[i], (long long)xt->dim[i]);
        st[0][i] = cs[i] * a->step[i];
        *base += a->begin[i] * cs[i];
    }
    return 0;
}

int ops_slice_bwd(const ops_call *c)
{
    const rt_tensor *dy = c->in[0];
    const rt_type *xt = &c->out->type;
    if (ops_want_dtype(c, dy, RT_F32, "gradient") || ops_want_dtype(c, c->out, RT_F32, "output") ||
        ops_want_rank(c, dy, xt->rank, "gradient"))
        return -1;
    int64_t st[2][RT_MAX_RANK], base;
    if (slice_bwd_layout(c, st, &base) < 0)
        return -1;
    int64_t n = rt_type_numel(xt);
    if (n > 0)
        memset(c->out->data, 0, (size_t)n * sizeof(float));
    if (rt_type_numel(&dy->type) == 0)
        return 0;
    float *dx = rt_f32(c->out) + base;
    const float *src = rt_f32(dy);
    ops_iter it;
    ops_iter_init(&it, xt->rank, dy->type.dim, 2, st);
    while (ops_iter_next(&it)) {
        float *d = dx + it.off[0];
        const float *s = src + it.off[1];
        for (int64_t j = 0; j < it.len; j++)
            d[j * it.inner[0]] = s[j * it.inner[1]];
    }
    return 0;
}
