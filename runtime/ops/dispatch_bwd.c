/* dispatch_bwd.c — ops_dispatch_backward: the switch over the backward ops,
 * one kernel call per op. Any other op returns -2 ("not mine") without
 * touching ctx->err, so dispatch.c can fall through to it from its default
 * case and keep its own "unreachable" for the rest.
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
    default: return -2;
    }
}
