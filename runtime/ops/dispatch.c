/* dispatch.c — rt_kernel_run, the one entry point to the reference kernels,
 * plus the small helpers every kernel file shares (errors, dtype checks,
 * generic element access) and the two trivial kernels (const, identity).
 *
 * rt_kernel_run checks the input count against the op table, then a
 * switch calls one helper per op. Leaves that carry outside data (input,
 * param) are never executed: the interpreter binds them. grad is expanded
 * by autodiff before execution, so reaching it here is an error. The
 * backward ops that autodiff emits go to ops_dispatch_backward
 * (dispatch_bwd.c). The switch names every op (no default), so -Wswitch
 * flags an op added to ops.def and not here.
 */
#include "runtime/ops/ops_backward.h"
#include "runtime/ops/ops_internal.h"

#include <string.h>

int ops_fail(const ops_call *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rt_error_set(c->ctx->err, "%s: %s", rt_op_table[c->op].name, msg);
    return -1;
}

int ops_want_dtype(const ops_call *c, const rt_tensor *t, rt_dtype want, const char *what)
{
    if (t->type.dtype == want)
        return 0;
    return ops_fail(c, "%s must be %s, got %s", what, rt_dtype_name(want),
                    rt_dtype_name(t->type.dtype));
}

int ops_want_rank(const ops_call *c, const rt_tensor *t, int want, const char *what)
{
    if (t->type.rank == want)
        return 0;
    char buf[96];
    return ops_fail(c, "%s must have rank %d, got %s", what, want,
                    rt_type_str(&t->type, buf, sizeof buf));
}

double ops_load(const rt_tensor *t, int64_t i)
{
    switch (t->type.dtype) {
    case RT_F32: return rt_f32(t)[i];
    case RT_I32: return rt_i32(t)[i];
    case RT_U8: return rt_u8(t)[i];
    default: SEG_UNREACHABLE();
    }
}

/* Float to int32 the way x86 (and so PyTorch on it) does: truncate toward
 * zero; NaN and out-of-range values give INT32_MIN. */
static int32_t to_i32(double v)
{
    if (!(v > -2147483649.0 && v < 2147483648.0))
        return INT32_MIN;
    return (int32_t)v;
}

void ops_store(rt_tensor *t, int64_t i, double v)
{
    switch (t->type.dtype) {
    case RT_F32: rt_f32(t)[i] = (float)v; break;
    case RT_I32: rt_i32(t)[i] = to_i32(v); break;
    case RT_U8: rt_u8(t)[i] = (uint8_t)(uint32_t)to_i32(v); break; /* wraps mod 256 */
    default: SEG_UNREACHABLE();
    }
}

int ops_const(const ops_call *c)
{
    int64_t n = rt_type_numel(&c->out->type);
    if (c->out->type.dtype == RT_F32) {
        float v = (float)c->a->value, *o = rt_f32(c->out);
        for (int64_t i = 0; i < n; i++)
            o[i] = v;
        return 0;
    }
    for (int64_t i = 0; i < n; i++)
        ops_store(c->out, i, c->a->value);
    return 0;
}

int ops_identity(const ops_call *c)
{
    const rt_tensor *x = c->in[0];
    if (!rt_type_equal(&x->type, &c->out->type))
        return ops_fail(c, "output type differs from the input's");
    size_t bytes = (size_t)rt_type_numel(&x->type) * rt_dtype_size(x->type.dtype);
    if (bytes && x->data != c->out->data)
        memcpy(c->out->data, x->data, bytes);
    return 0;
}

static int check_call(const ops_call *c)
{
    const rt_op_info *info = &rt_op_table[c->op];
    if (c->n_in < info->min_in || (info->max_in >= 0 && c->n_in > info->max_in))
        return ops_fail(c, "takes %d..%d inputs, got %d", info->min_in, info->max_in, c->n_in);
    for (int i = 0; i < c->n_in; i++)
        if (!c->in[i] || (!c->in[i]->data && rt_type_numel(&c->in[i]->type) > 0))
            return ops_fail(c, "input %d has no data", i);
    if (!c->out || (!c->out->data && rt_type_numel(&c->out->type) > 0))
        return ops_fail(c, "output has no data");
    return 0;
}

static int dispatch(const ops_call *c)
{
    switch (c->op) {
    case OP_INPUT:
    case OP_PARAM: return ops_fail(c, "leaf values are bound, never executed");
    case OP_CONST: return ops_const(c);
    case OP_CONV: return ops_conv(c);
    case OP_CONV_T: return ops_conv_t(c);
    case OP_MAXPOOL: return ops_maxpool(c);
    case OP_AVGPOOL: return ops_avgpool(c);
    case OP_GLOBAL_AVGPOOL: return ops_global_avgpool(c);
    case OP_UPSAMPLE: return ops_upsample(c);
    case OP_BATCHNORM: return ops_batchnorm(c);
    case OP_DROPOUT: return ops_dropout(c);
    case OP_CONCAT: return ops_concat(c);
    case OP_SLICE: return ops_slice(c);
    case OP_RESHAPE: return ops_reshape(c);
    case OP_PERMUTE: return ops_permute(c);
    case OP_BROADCAST: return ops_broadcast(c);
    case OP_CAST: return ops_cast(c);
    case OP_ONE_HOT: return ops_one_hot(c);
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW:
    case OP_MINIMUM: case OP_MAXIMUM:
    case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
        return ops_binary(c);
    case OP_WHERE: return ops_where(c);
    case OP_NEG: case OP_RELU: case OP_LEAKY_RELU: case OP_SIGMOID: case OP_TANH:
    case OP_EXP: case OP_LOG: case OP_ABS: case OP_SQRT: case OP_ERF: case OP_CLAMP:
        return ops_unary(c);
    case OP_SUM: case OP_MEAN: case OP_MAX: return ops_reduce(c);
    case OP_SOFTMAX: case OP_LOG_SOFTMAX: return ops_softmax(c);
    case OP_ARGMAX: return ops_argmax(c);
    case OP_MATMUL: return ops_matmul(c);
    case OP_RAND_UNIFORM: case OP_RAND_NORMAL: case OP_RAND_BERNOULLI: return ops_random(c);
    case OP_STOP_GRAD: return ops_identity(c);
    case OP_GRAD: return ops_fail(c, "grad needs autodiff");
    case OP_FUSED: return ops_fused(c);
    case OP_CONV_BWD_DATA: case OP_CONV_BWD_WEIGHT: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
    case OP_UPSAMPLE_BWD: case OP_BATCHNORM_BWD_DATA: case OP_BATCHNORM_BWD_GAMMA:
    case OP_SLICE_BWD: {
        int rc = ops_dispatch_backward(c); /* the backward ops of ops_backward.h */
        if (rc != -2)
            return rc;
        break;
    }
    case OP_COUNT: break; /* not an op */
    }
    SEG_UNREACHABLE();
}

int rt_kernel_run(rt_op op, const rt_attrs *a, rt_tensor *const *in, int n_in,
                  rt_tensor *out, rt_ctx *ctx)
{
    SEG_ASSERT(op >= 0 && op < OP_COUNT && a && ctx);
    ops_call c = {op, a, in, n_in, out, ctx};
    if (check_call(&c) < 0)
        return -1;
    return dispatch(&c);
}
