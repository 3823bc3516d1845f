/* ops_backward.h — the reference kernels of the backward ops (the block at
 * the end of ops.def), which autodiff emits and nothing else.
 *
 * dispatch.c hands the backward ops to ops_dispatch_backward,
 * which returns -2 for an op that is not a backward op so the caller can
 * tell "not mine" from a kernel failure (-1, ctx->err set). Like every
 * kernel, these assume rt_kernel_run already checked the input count and
 * that all data is allocated. Only runtime/ops includes this header.
 */
#ifndef SEGC_OPS_BACKWARD_H
#define SEGC_OPS_BACKWARD_H

#include "runtime/ops/ops_internal.h"

/* Run c->op if it is a backward op: 0 ok, -1 failed, -2 not a backward op. */
int ops_dispatch_backward(const ops_call *c);

int ops_conv_bwd_data(const ops_call *c);       /* conv_bwd.c: dy, weight -> dx */
int ops_conv_bwd_weight(const ops_call *c);     /* x, dy -> dweight (conv and conv_t) */
int ops_maxpool_bwd(const ops_call *c);         /* pool_bwd.c: x, dy -> dx */
int ops_avgpool_bwd(const ops_call *c);         /* dy -> dx */
int ops_upsample_bwd(const ops_call *c);        /* upsample_bwd.c: dy -> dx */
int ops_batchnorm_bwd_data(const ops_call *c);  /* norm_bwd.c: x, gamma, rm, rv, dy -> dx */
int ops_batchnorm_bwd_gamma(const ops_call *c); /* x, rm, rv, dy -> dgamma */
int ops_slice_bwd(const ops_call *c);           /* slice_bwd.c: dy -> dx */

#endif
