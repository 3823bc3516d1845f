/* reduce.c — reductions (sum, mean, max over the attrs.axes bitmask, 0 =
 * all axes, keepdim or not), softmax/log_softmax over attrs.axis, and
 * argmax.
 *
 * sum/mean/max walk the input in order with the strided iterator; the
 * accumulator is read through strides that are 0 on the reduced axes, so
 * any set of axes costs one pass. Sums accumulate in double (PyTorch
 * accumulates float sums pairwise; double is at least as accurate); max
 * propagates NaN like PyTorch. softmax subtracts the maximum before exp and
 * sums in double; log_softmax is x - max - log(sum). argmax returns i32
 * indices (of f32 or i32 input) with the axis removed (or kept as size
 * 1, if the output type says so); the first maximum wins ties and a NaN
 * counts as the maximum, as in PyTorch.
 */
#include "runtime/ops/ops_internal.h"

#include <math.h>

static int norm_axis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }

/* Accumulator strides over the input shape (0 on reduced axes); checks the
 * output shape against the reduction. */
static int reduce_setup(const ops_call *c, unsigned mask, int64_t *acc_stride)
{
    const rt_type *xt = &c->in[0]->type, *ot = &c->out->type;
    rt_type kept = *xt, dropped = {RT_F32, 0, {0}};
    for (int i = 0; i < xt->rank; i++) {
        if (mask >> i & 1)
            kept.dim[i] = 1;
        else
            dropped.dim[dropped.rank++] = xt->dim[i];
    }
    if (!rt_type_equal(c->a->keepdim ? &kept : &dropped, ot)) {
        char a[96], b[96];
        return ops_fail(c, "output %s does not match the reduction of %s over axes 0x%x",
                        rt_type_str(ot, a, sizeof a), rt_type_str(xt, b, sizeof b), mask);
    }
    ops_strides_contig(&kept, acc_stride);
    for (int i = 0; i < xt->rank; i++)
        if (mask >> i & 1)
            acc_stride[i] = 0;
    return 0;
}

static void reduce_sum(const ops_call *c, ops_iter *it, double *acc)
{
    const float *x = rt_f32(c->in[0]);
    while (ops_iter_next(it)) {
        double *a = acc + it->off[0];
        const float *xr = x + it->off[1];
        if (it->inner[0] == 0) {
            double s = 0;
            for (int64_t i = 0; i < it->len; i++)
                s += xr[i];
            a[0] += s;
        } else {
            for (int64_t i = 0; i < it->len; i++)
                a[i * it->inner[0]] += xr[i];
        }
    }
}

static void reduce_max(const ops_call *c, ops_iter *it, float *acc)
{
    const float *x = rt_f32(c->in[0]);
    while (ops_iter_next(it))
        for (int64_t i = 0; i < it->len; i++) {
            float *a = acc + it->off[0] + i * it->inner[0];
            float v = x[it->off[1] + i];
            if (*a == *a && (v > *a || v != v)) /* a NaN is final */
                *a = v;
        }
}

int ops_reduce(const ops_call *c)
{
    const rt_type *xt = &c->in[0]->type;
    unsigned mask = c->a->axes ? c->a->axes : (1u << xt->rank) - 1;
    int64_t st[2][RT_MAX_RANK];
    if (ops_want_dtype(c, c->in[0], RT_F32, "input") || ops_want_dtype(c, c->out, RT_F32, "output"))
        return -1;
    if (mask >> xt->rank)
        return ops_fail(c, "axes mask 0x%x names axes beyond rank %d", mask, xt->rank);
    if (reduce_setup(c, mask, st[0]) < 0)
        return -1;
    int64_t n_out = rt_type_numel(&c->out->type), n_in = rt_type_numel(xt);
    if (c->op == OP_MAX && n_in == 0)
        return ops_fail(c, "max of an empty tensor");
    ops_strides_contig(xt, st[1]);
    ops_iter it;
    ops_iter_init(&it, xt->rank, xt->dim, 2, st);
    float *o = rt_f32(c->out);
    if (c->op == OP_MAX) {
        for (int64_t i = 0; i < n_out; i++)
            o[i] = -INFINITY;
        reduce_max(c, &it, o);
        return 0;
    }
    double *acc = seg_xcalloc((size_t)(n_out ? n_out : 1), sizeof(double));
    reduce_sum(c, &it, acc);
    double count = n_out ? (double)(n_in / n_out) : 1;
    for (int64_t i = 0; i < n_out; i++)
        o[i] = (float)(c->op == OP_MEAN ? acc[i] / count : acc[i]);
    seg_free(acc);
    return 0;
}

/* ------------------------------------------------------------ softmax */

/* outer x n x inner decomposition of a shape around axis. */
static void split_axis(const rt_type *t, int axis, int64_t *outer, int64_t *n, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++)
        *outer *= t->dim[i];
    for (int i = axis + 1; i < t->rank; i++)
        *inner *= t->dim[i];
    *n = t->dim[axis];
}

static void softmax_line(const float *x, float *y, int64_t n, int64_t st, int log_form)
{
    float m = -INFINITY;
    for (int64_t k = 0; k < n; k++)
        m = x[k * st] > m ? x[k * st] : m;
    double sum = 0;
    for (int64_t k = 0; k < n; k++)
        sum += expf(x[k * st] - m);
    float lse = (float)log(sum);
    for (int64_t k = 0; k < n; k++)
        y[k * st] = log_form ? x[k * st] - m - lse : (float)(expf(x[k * st] - m) / sum);
}

int ops_softmax(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    int axis = norm_axis(c->a->axis, x->type.rank);
    if (ops_want_dtype(c, x, RT_F32, "input"))
        return -1;
    if (!rt_type_equal(&x->type, &c->out->type))
        return ops_fail(c, "output type differs from the input's");
    if (axis < 0 || axis >= x->type.rank)
        return ops_fail(c, "axis %d out of range for rank %d", c->a->axis, x->type.rank);
    int64_t outer, n, inner;
    split_axis(&x->type, axis, &outer, &n, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            softmax_line(rt_f32(x) + o * n * inner + i, rt_f32(c->out) + o * n * inner + i, n,
                         inner, c->op == OP_LOG_SOFTMAX);
    return 0;
}

/* ------------------------------------------------------------- argmax */

static int32_t argmax_line(const float *x, int64_t n, int64_t st)
{
    int64_t best = 0;
    for (int64_t k = 1; k < n; k++) {
        float b = x[best * st], v = x[k * st];
        if (b == b && (v > b || v != v)) /* a NaN is final */
            best = k;
    }
    return (int32_t)best;
}

static int32_t argmax_line_i32(const int32_t *x, int64_t n, int64_t st)
{
    int64_t best = 0;
    for (int64_t k = 1; k < n; k++)
        if (x[k * st] > x[best * st])
            best = k;
    return (int32_t)best;
}

int ops_argmax(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    int axis = norm_axis(c->a->axis, x->type.rank);
    if (x->type.dtype != RT_F32 && x->type.dtype != RT_I32)
        return ops_fail(c, "input must be f32 or i32, got %s", rt_dtype_name(x->type.dtype));
    if (ops_want_dtype(c, c->out, RT_I32, "output"))
        return -1;
    if (axis < 0 || axis >= x->type.rank || x->type.dim[axis] < 1)
        return ops_fail(c, "axis %d out of range or empty", c->a->axis);
    int64_t outer, n, inner;
    split_axis(&x->type, axis, &outer, &n, &inner);
    if (rt_type_numel(&c->out->type) != outer * inner)
        return ops_fail(c, "output must have the input's shape without axis %d", axis);
    int32_t *o = rt_i32(c->out);
    for (int64_t b = 0; b < outer; b++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t at = b * n * inner + i;
            o[b * inner + i] = x->type.dtype == RT_F32 ? argmax_line(rt_f32(x) + at, n, inner)
                                                       : argmax_line_i32(rt_i32(x) + at, n, inner);
        }
    return 0;
}
