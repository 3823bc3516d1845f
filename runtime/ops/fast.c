/* fast.c — which instructions have a fast kernel (runtime.h "fast
 * kernels"): upsample, maxpool, avgpool, their gradients, concat, slice
 * and slice_bwd, batchnorm (training and inference) and its two
 * gradients, softmax, log_softmax and global_avgpool, on f32 tensors
 * (fast_upsample*.c, fast_pool*.c, fast_move.c, fast_norm.c,
 * fast_reduce.c).
 *
 * The kernels themselves check nothing, so this repeats the reference
 * kernel's checks against the program's types and attrs and answers NULL
 * for anything the reference would reject: such an instruction keeps its
 * reference kernel, which then reports the error.
 */
#include "runtime/ops/fast.h"

static const rt_type *in_type(const rt_program *p, const rt_instr *ins, int k)
{
    return &p->values[ins->in[k]].type;
}

static int all_f32(const rt_program *p, const rt_instr *ins)
{
    for (int k = 0; k < ins->n_in; k++)
        if (in_type(p, ins, k)->dtype != RT_F32)
            return 0;
    return p->values[ins->out].type.dtype == RT_F32;
}

/* Both [N, C, spatial (nsp)] with the same N and C. */
static int same_planes(const rt_type *a, const rt_type *b, int nsp)
{
    return nsp >= 1 && nsp <= 3 && a->rank == nsp + 2 && b->rank == nsp + 2 &&
           a->dim[0] == b->dim[0] && a->dim[1] == b->dim[1];
}

/* upsample small -> big (the backward reads big, writes small). */
static int upsample_ok(const rt_attrs *a, const rt_type *small, const rt_type *big)
{
    if (!same_planes(small, big, a->nsp) || (a->mode != RT_UP_NEAREST && a->mode != RT_UP_LINEAR))
        return 0;
    for (int i = 2; i < a->nsp + 2; i++)
        if (small->dim[i] < 1 || big->dim[i] < 1)
            return 0;
    return 1;
}

/* Pooling from img to grid: every grid size is the floor rule's. */
static int pool_ok(const rt_attrs *a, const rt_type *img, const rt_type *grid, int dilated)
{
    if (!same_planes(img, grid, a->nsp))
        return 0;
    for (int i = 0; i < a->nsp; i++) {
        int64_t want = rt_conv_out_size(img->dim[2 + i], a->kernel[i], a->stride[i], a->pad[i],
                                         dilated ? a->dilation[i] : 1);
        if (want < 1 || grid->dim[2 + i] != want)
            return 0;
    }
    return 1;
}

static int concat_ok(const rt_program *p, const rt_instr *ins)
{
    const rt_type *ot = &p->values[ins->out].type;
    int axis = ins->attrs.axis < 0 ? ins->attrs.axis + ot->rank : ins->attrs.axis;
    if (ins->n_in < 1 || axis < 0 || axis >= ot->rank)
        return 0;
    int64_t total = 0;
    for (int k = 0; k < ins->n_in; k++) {
        const rt_type *t = in_type(p, ins, k);
        if (t->rank != ot->rank)
            return 0;
        for (int i = 0; i < ot->rank; i++)
            if (i != axis && t->dim[i] != ot->dim[i])
                return 0;
        total += t->dim[axis];
    }
    return total == ot->dim[axis];
}

/* The slice of `big` at attrs a has the shape of `small`. */
static int slice_ok(const rt_attrs *a, const rt_type *big, const rt_type *small)
{
    if (big->rank != small->rank)
        return 0;
    for (int i = 0; i < small->rank; i++) {
        int64_t last = a->begin[i] + (small->dim[i] - 1) * a->step[i];
        if (a->step[i] < 1 || a->begin[i] < 0 || (small->dim[i] > 0 && last >= big->dim[i]))
            return 0;
    }
    return 1;
}

/* Batch norm and its gradients: x (and dy, out when given) one [N, C, ...]
 * type, every vector in[vec[k]] C elements; training needs more than one
 * value per channel. */
static int bn_ok(const rt_program *p, const rt_instr *ins, const rt_type *same, int n_vec,
                 const int *vec)
{
    const rt_type *x = in_type(p, ins, 0);
    if (x->rank < 2 || (same && !rt_type_equal(x, same)))
        return 0;
    int64_t n = x->dim[0], ch = x->dim[1], numel = rt_type_numel(x);
    for (int k = 0; k < n_vec; k++)
        if (rt_type_numel(in_type(p, ins, vec[k])) != ch)
            return 0;
    return !ins->attrs.training || (n * ch > 0 && numel / ch >= 2);
}

static rt_fast_fn bn_kernel(const rt_program *p, const rt_instr *ins)
{
    static const int fwd[] = {1, 2, 3, 4}, bwd_data[] = {1, 2, 3}, bwd_gamma[] = {1, 2};
    const rt_type *out = &p->values[ins->out].type;
    switch (ins->op) {
    case OP_BATCHNORM: return bn_ok(p, ins, out, 4, fwd) ? rt_fast_batchnorm : NULL;
    case OP_BATCHNORM_BWD_DATA:
        return bn_ok(p, ins, in_type(p, ins, 4), 3, bwd_data) &&
                       rt_type_equal(out, in_type(p, ins, 0))
                   ? rt_fast_batchnorm_bwd_data : NULL;
    case OP_BATCHNORM_BWD_GAMMA:
        return bn_ok(p, ins, in_type(p, ins, 3), 2, bwd_gamma) &&
                       rt_type_numel(out) == in_type(p, ins, 0)->dim[1]
                   ? rt_fast_batchnorm_bwd_gamma : NULL;
    default: SEG_UNREACHABLE();
    }
}

/* softmax: out has x's type, the axis is in range. */
static int softmax_ok(const rt_attrs *a, const rt_type *x, const rt_type *out)
{
    int axis = a->axis < 0 ? a->axis + x->rank : a->axis;
    return rt_type_equal(x, out) && axis >= 0 && axis < x->rank;
}

/* global_avgpool: x [N, C, spatial...] to [N, C, 1...] of the same rank. */
static int global_avgpool_ok(const rt_type *x, const rt_type *out)
{
    return x->rank >= 3 && out->rank == x->rank && out->dim[0] == x->dim[0] &&
           out->dim[1] == x->dim[1] && rt_type_numel(out) == out->dim[0] * out->dim[1];
}

rt_fast_fn rt_fast_kernel_for(const rt_program *p, int i)
{
    SEG_ASSERT(p && i >= 0 && i < p->n_instrs);
    const rt_instr *ins = &p->instrs[i];
    const rt_attrs *a = &ins->attrs;
    const rt_type *out = &p->values[ins->out].type;
    int arity = rt_op_table[ins->op].min_in;
    if (!all_f32(p, ins) || (ins->op != OP_CONCAT && ins->n_in != arity))
        return NULL;
    const rt_type *in0 = ins->n_in > 0 ? in_type(p, ins, 0) : NULL;
    switch (ins->op) {
    case OP_UPSAMPLE: return upsample_ok(a, in0, out) ? rt_fast_upsample : NULL;
    case OP_UPSAMPLE_BWD: return upsample_ok(a, out, in0) ? rt_fast_upsample_bwd : NULL;
    case OP_MAXPOOL: return pool_ok(a, in0, out, 1) ? rt_fast_maxpool : NULL;
    case OP_AVGPOOL: return pool_ok(a, in0, out, 0) ? rt_fast_avgpool : NULL;
    case OP_MAXPOOL_BWD:
        return rt_type_equal(in0, out) && pool_ok(a, out, in_type(p, ins, 1), 1)
                   ? rt_fast_maxpool_bwd : NULL;
    case OP_AVGPOOL_BWD: return pool_ok(a, out, in0, 0) ? rt_fast_avgpool_bwd : NULL;
    case OP_CONCAT: return concat_ok(p, ins) ? rt_fast_concat : NULL;
    case OP_SLICE: return slice_ok(a, in0, out) ? rt_fast_slice : NULL;
    case OP_SLICE_BWD: return slice_ok(a, out, in0) ? rt_fast_slice_bwd : NULL;
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX: return softmax_ok(a, in0, out) ? rt_fast_softmax : NULL;
    case OP_GLOBAL_AVGPOOL: return global_avgpool_ok(in0, out) ? rt_fast_global_avgpool : NULL;
    case OP_BATCHNORM:
    case OP_BATCHNORM_BWD_DATA:
    case OP_BATCHNORM_BWD_GAMMA: return bn_kernel(p, ins);
    default: return NULL;
    }
}
