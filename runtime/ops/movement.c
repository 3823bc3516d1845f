/* movement.c — kernels that move data without arithmetic: concat, slice,
 * reshape, permute, broadcast, cast and one_hot.
 *
 * Slice, permute and broadcast are one strided gather (ops_copy_strided):
 * the output is written in order while the input is read with per-axis
 * strides (step-scaled for slice, permuted for permute, 0 on broadcast
 * axes), through the iterator of elementwise.c. Concat copies, for every
 * index of the axes before the concat axis, one contiguous block per input.
 * These kernels work on any dtype by element size. cast converts like
 * PyTorch on x86: f32 -> int truncates toward zero (NaN and out-of-range
 * give INT32_MIN), narrowing to u8 wraps modulo 256. one_hot takes i32 or
 * u8 labels and inserts the class axis at attrs.axis.
 */
#include "runtime/ops/ops_internal.h"

#include <string.h>

static int norm_axis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }

void ops_copy_strided(void *dst, const void *src, size_t esize, int rank,
                      const int64_t *dim, const int64_t *s)
{
    int64_t st[2][RT_MAX_RANK];
    rt_type t = {RT_F32, rank, {0}};
    memcpy(t.dim, dim, (size_t)rank * sizeof *dim);
    ops_strides_contig(&t, st[0]);
    memcpy(st[1], s, (size_t)rank * sizeof *s);
    ops_iter it;
    ops_iter_init(&it, rank, dim, 2, st);
    char *d = dst;
    const char *sp = src;
    int64_t e = (int64_t)esize;
    while (ops_iter_next(&it)) {
        if (it.inner[1] == 1) {
            memcpy(d + it.off[0] * e, sp + it.off[1] * e, (size_t)(it.len * e));
            continue;
        }
        for (int64_t i = 0; i < it.len; i++)
            memcpy(d + (it.off[0] + i) * e, sp + (it.off[1] + i * it.inner[1]) * e, esize);
    }
}

static int want_same_dtype(const ops_call *c, const rt_tensor *x)
{
    if (x->type.dtype == c->out->type.dtype)
        return 0;
    return ops_fail(c, "output dtype %s differs from the input's %s",
                    rt_dtype_name(c->out->type.dtype), rt_dtype_name(x->type.dtype));
}

/* ---------------------------------------------------------------- concat */

static int concat_check(const ops_call *c, int axis)
{
    const rt_type *ot = &c->out->type;
    if (axis < 0 || axis >= ot->rank)
        return ops_fail(c, "axis %d out of range for rank %d", c->a->axis, ot->rank);
    int64_t total = 0;
    for (int k = 0; k < c->n_in; k++) {
        const rt_type *t = &c->in[k]->type;
        if (want_same_dtype(c, c->in[k]) || ops_want_rank(c, c->in[k], ot->rank, "input"))
            return -1;
        for (int i = 0; i < ot->rank; i++)
            if (i != axis && t->dim[i] != ot->dim[i])
                return ops_fail(c, "input %d differs from the output on axis %d", k, i);
        total += t->dim[axis];
    }
    if (total != ot->dim[axis])
        return ops_fail(c, "inputs give %lld along axis %d, output has %lld", (long long)total,
                        axis, (long long)ot->dim[axis]);
    return 0;
}

int ops_concat(const ops_call *c)
{
    const rt_type *ot = &c->out->type;
    int axis = norm_axis(c->a->axis, ot->rank);
    if (concat_check(c, axis) < 0)
        return -1;
    int64_t outer = 1, inner = (int64_t)rt_dtype_size(ot->dtype);
    for (int i = 0; i < axis; i++)
        outer *= ot->dim[i];
    for (int i = axis + 1; i < ot->rank; i++)
        inner *= ot->dim[i];
    char *o = c->out->data;
    for (int64_t j = 0; j < outer; j++)
        for (int k = 0; k < c->n_in; k++) {
            int64_t bytes = c->in[k]->type.dim[axis] * inner;
            if (bytes)
                memcpy(o, (const char *)c->in[k]->data + j * bytes, (size_t)bytes);
            o += bytes;
        }
    return 0;
}

/* ----------------------------------------------------------------- slice */

int ops_slice(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    const rt_type *ot = &c->out->type;
    const rt_attrs *a = c->a;
    if (want_same_dtype(c, x) || ops_want_rank(c, x, ot->rank, "input"))
        return -1;
    int64_t cs[RT_MAX_RANK], s[RT_MAX_RANK], base = 0;
    ops_strides_contig(&x->type, cs);
    for (int i = 0; i < ot->rank; i++) {
        int64_t last = a->begin[i] + (ot->dim[i] - 1) * a->step[i];
        if (a->step[i] < 1 || a->begin[i] < 0 || (ot->dim[i] > 0 && last >= x->type.dim[i]))
            return ops_fail(c, "axis %d: begin %lld step %lld for %lld elements leaves [0, %lld)", i,
                            (long long)a->begin[i], (long long)a->step[i],
                            (long long)ot->dim[i], (long long)x->type.dim[i]);
        s[i] = cs[i] * a->step[i];
        base += a->begin[i] * cs[i];
    }
    size_t es = rt_dtype_size(ot->dtype);
    ops_copy_strided(c->out->data, (const char *)x->data + base * (int64_t)es, es, ot->rank,
                     ot->dim, s);
    return 0;
}

/* --------------------------------------------------- reshape, permute */

int ops_reshape(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    if (want_same_dtype(c, x))
        return -1;
    int64_t n = rt_type_numel(&x->type);
    if (n != rt_type_numel(&c->out->type))
        return ops_fail(c, "cannot reshape %lld elements into %lld", (long long)n,
                        (long long)rt_type_numel(&c->out->type));
    if (n && x->data != c->out->data)
        memcpy(c->out->data, x->data, (size_t)n * rt_dtype_size(x->type.dtype));
    return 0;
}

int ops_permute(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    const rt_type *ot = &c->out->type;
    if (want_same_dtype(c, x) || ops_want_rank(c, x, ot->rank, "input"))
        return -1;
    int64_t cs[RT_MAX_RANK], s[RT_MAX_RANK];
    int seen[RT_MAX_RANK] = {0};
    ops_strides_contig(&x->type, cs);
    for (int i = 0; i < ot->rank; i++) {
        int p = c->a->perm[i];
        if (p < 0 || p >= ot->rank || seen[p] || x->type.dim[p] != ot->dim[i])
            return ops_fail(c, "perm[%d] = %d does not map the input onto the output", i, p);
        seen[p] = 1;
        s[i] = cs[p];
    }
    ops_copy_strided(c->out->data, x->data, rt_dtype_size(ot->dtype), ot->rank, ot->dim, s);
    return 0;
}

int ops_broadcast(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    const rt_type *ot = &c->out->type;
    int64_t s[RT_MAX_RANK];
    if (want_same_dtype(c, x))
        return -1;
    if (ops_strides_bcast(&x->type, ot->rank, ot->dim, s) < 0) {
        char a[96], b[96];
        return ops_fail(c, "%s does not broadcast to %s", rt_type_str(&x->type, a, sizeof a),
                        rt_type_str(ot, b, sizeof b));
    }
    ops_copy_strided(c->out->data, x->data, rt_dtype_size(ot->dtype), ot->rank, ot->dim, s);
    return 0;
}

/* ------------------------------------------------------- cast, one_hot */

int ops_cast(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    int64_t n = rt_type_numel(&x->type);
    if (n != rt_type_numel(&c->out->type))
        return ops_fail(c, "output has a different number of elements");
    if (x->type.dtype == c->out->type.dtype)
        return ops_reshape(c);
    for (int64_t i = 0; i < n; i++)
        ops_store(c->out, i, ops_load(x, i));
    return 0;
}

static int one_hot_check(const ops_call *c, int axis)
{
    const rt_tensor *x = c->in[0];
    const rt_type *ot = &c->out->type;
    if (x->type.dtype != RT_I32 && x->type.dtype != RT_U8)
        return ops_fail(c, "labels must be i32 or u8, got %s", rt_dtype_name(x->type.dtype));
    if (ops_want_dtype(c, c->out, RT_F32, "output") ||
        ops_want_rank(c, c->out, x->type.rank + 1, "output"))
        return -1;
    if (axis < 0 || axis >= ot->rank || ot->dim[axis] != c->a->count)
        return ops_fail(c, "class axis %d must have count %d", c->a->axis, c->a->count);
    for (int i = 0; i < x->type.rank; i++)
        if (x->type.dim[i] != ot->dim[i < axis ? i : i + 1])
            return ops_fail(c, "output shape does not match the labels");
    return 0;
}

int ops_one_hot(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    int axis = norm_axis(c->a->axis, c->out->type.rank);
    if (one_hot_check(c, axis) < 0)
        return -1;
    int64_t n = rt_type_numel(&x->type), classes = c->a->count, outer = 1;
    for (int i = 0; i < axis; i++)
        outer *= x->type.dim[i];
    int64_t inner = outer ? n / outer : 0;
    float *o = rt_f32(c->out);
    memset(o, 0, (size_t)(n * classes) * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        int64_t k = x->type.dtype == RT_I32 ? rt_i32(x)[i] : rt_u8(x)[i];
        if (k < 0 || k >= classes)
            return ops_fail(c, "label %lld is out of range [0, %lld)", (long long)k,
                            (long long)classes);
        o[(i / inner * classes + k) * inner + i % inner] = 1.0f;
    }
    return 0;
}
