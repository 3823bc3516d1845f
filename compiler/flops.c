/* flops.c — how much arithmetic each node costs, for `segc plan` and
 * `segc bench`. Convolutions and matmuls count 2 per multiply-add (the
 * usual convention, so GFLOP/s compare with PyTorch profilers); other
 * ops count roughly one operation per element they touch. Only the
 * convolution-shaped terms matter for a U-Net; the rest is reported so
 * the totals are honest, not to be precise. The switch names every op (no
 * default), so -Wswitch flags an op added to ops.def and not costed here.
 */
#include "compiler.h"

static int64_t prod_spatial(const rt_type *t)
{
    int64_t p = 1;
    for (int i = 2; i < t->rank; i++)
        p *= t->dim[i];
    return p;
}

/* Multiply-adds of a convolution whose grid side (the conv output, or a
 * transposed conv's input) is y, with weight w [Cy, Cother/groups, k...]. */
static int64_t conv_macs(const rt_type *y, const rt_type *w)
{
    int64_t k = 1;
    for (int i = 2; i < w->rank; i++)
        k *= w->dim[i];
    return y->dim[0] * y->dim[1] * prod_spatial(y) * w->dim[1] * k;
}

int64_t ir_node_flops(const ir_graph *g, ir_id id)
{
    const ir_node *n = &g->nodes[id];
    const rt_type *out = &n->type;
    const rt_type *in0 = n->n_in > 0 ? &g->nodes[n->in[0]].type : NULL;
    int64_t numel = rt_type_numel(out);
    switch (n->op) {
    case OP_INPUT:
    case OP_PARAM:
    case OP_CONST:
    case OP_RESHAPE:
    case OP_STOP_GRAD:
        return 0;
    case OP_CONV: /* y = conv(x, w) */
        return 2 * conv_macs(out, &g->nodes[n->in[1]].type);
    case OP_CONV_T:        /* conv_t(x, w): x is the grid side */
    case OP_CONV_BWD_DATA: /* (dy, w): dy is the grid side */
        return 2 * conv_macs(in0, &g->nodes[n->in[1]].type);
    case OP_CONV_BWD_WEIGHT: /* (image side, grid side) -> weight, for conv and conv_t alike */
        return 2 * conv_macs(&g->nodes[n->in[1]].type, out);
    case OP_MATMUL: {
        int64_t k = in0->dim[in0->rank - 1];
        return 2 * numel * k;
    }
    case OP_MAXPOOL:
    case OP_AVGPOOL:
    case OP_MAXPOOL_BWD:
    case OP_AVGPOOL_BWD: {
        int64_t k = 1;
        for (int i = 0; i < n->attrs.nsp; i++)
            k *= n->attrs.kernel[i];
        return (n->op == OP_MAXPOOL || n->op == OP_AVGPOOL ? numel : rt_type_numel(in0)) * k;
    }
    case OP_UPSAMPLE:
    case OP_UPSAMPLE_BWD:
        return numel * (n->attrs.mode == RT_UP_LINEAR ? 2 << n->attrs.nsp : 1);
    case OP_BATCHNORM:
    case OP_BATCHNORM_BWD_DATA:
    case OP_BATCHNORM_BWD_GAMMA:
        return 6 * (in0 ? rt_type_numel(in0) : numel);
    case OP_SUM: /* the reductions (RT_F_REDUCE) touch every input element */
    case OP_MEAN:
    case OP_MAX:
        return rt_type_numel(in0);
    /* one operation per output element */
    case OP_GLOBAL_AVGPOOL:
    case OP_DROPOUT:
    case OP_CONCAT: case OP_SLICE: case OP_PERMUTE: case OP_BROADCAST: case OP_CAST:
    case OP_ONE_HOT:
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: case OP_MINIMUM:
    case OP_MAXIMUM: case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
    case OP_WHERE:
    case OP_NEG: case OP_RELU: case OP_LEAKY_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP:
    case OP_LOG: case OP_ABS: case OP_SQRT: case OP_ERF: case OP_CLAMP:
    case OP_SOFTMAX: case OP_LOG_SOFTMAX: case OP_ARGMAX:
    case OP_RAND_UNIFORM: case OP_RAND_NORMAL: case OP_RAND_BERNOULLI:
    case OP_GRAD:
    case OP_SLICE_BWD:
    case OP_FUSED:
        return numel;
    case OP_COUNT:
        break;
    }
    SEG_UNREACHABLE();
}
