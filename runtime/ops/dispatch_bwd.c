/* dispatch_bwd.c — ops_dispatch_backward: the switch over the backward ops,
 * one kernel call per op. Any other op returns -2 ("not mine") without
 * touching ctx->err; dispatch.c sends only the backward ops here. The
 * switch names every op (no default), so -Wswitch flags an op added to
 * ops.def and not to it.
 */
#include "runtime/ops/ops_backward.h"

int ops_dispatch_backward(const ops_call *c)
{
    switch (c->op) {
    case OP_CONV_BWD_DATA: return ops_conv_bwd_data(c);
    case OP_CONV_BWD_WEIGHT: return ops_conv_bwd_weight(c);
    case OP_MAXPOOL_BWD: return ops_maxpool_bwd(c);
    case OP_AVGPOOL_BWD: return ops_avgpool_bwd(c);
    case OP_UPSAMPLE_BWD: return ops_upsample_bwd(c);
    case OP_BATCHNORM_BWD_DATA: return ops_batchnorm_bwd_data(c);
    case OP_BATCHNORM_BWD_GAMMA: return ops_batchnorm_bwd_gamma(c);
    case OP_SLICE_BWD: return ops_slice_bwd(c);
    /* not a backward op */
    case OP_INPUT: case OP_PARAM: case OP_CONST:
    case OP_CONV: case OP_CONV_T: case OP_MAXPOOL: case OP_AVGPOOL: case OP_GLOBAL_AVGPOOL:
    case OP_UPSAMPLE:
    case OP_BATCHNORM: case OP_DROPOUT:
    case OP_CONCAT: case OP_SLICE: case OP_RESHAPE: case OP_PERMUTE: case OP_BROADCAST:
    case OP_CAST: case OP_ONE_HOT:
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: case OP_MINIMUM:
    case OP_MAXIMUM: case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
    case OP_WHERE:
    case OP_NEG: case OP_RELU: case OP_LEAKY_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP:
    case OP_LOG: case OP_ABS: case OP_SQRT: case OP_ERF: case OP_CLAMP:
    case OP_SUM: case OP_MEAN: case OP_MAX: case OP_SOFTMAX: case OP_LOG_SOFTMAX:
    case OP_ARGMAX: case OP_MATMUL:
    case OP_RAND_UNIFORM: case OP_RAND_NORMAL: case OP_RAND_BERNOULLI:
    case OP_STOP_GRAD: case OP_GRAD:
    case OP_FUSED:
    case OP_COUNT:
        return -2;
    }
    return -2; /* c->op out of the enum's range */
}
