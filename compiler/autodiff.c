/* autodiff.c — reverse-mode differentiation as a graph transform.
 *
 * Given a root (a scalar loss, or any f32 value whose sum is differentiated)
 * and a set of differentiation targets (trainable parameters, or the `wrt`
 * tensor of a grad(y, x) call), we append the backward graph to the same
 * ir_graph:
 *
 *   needs[v]  v depends on a target through differentiable ops;
 *   reach[v]  the root depends on v;
 *   active    needs && reach: the only nodes that get a backward.
 *
 * Walking nodes from the root down, each active node with an adjoint emits
 * the vector-Jacobian product for each *active* input only. That is the
 * whole of freeze pruning: a frozen parameter is not a target, so a conv
 * whose weight is frozen and whose input does not depend on a trainable
 * parameter is not active and gets no backward at all; one whose input is
 * active gets only its data gradient.
 *
 * grad(y, x) nodes inside a forward graph are expanded first by copying the
 * graph and emitting the inner backward in place (ids must stay
 * topologically ordered). Their result is treated as a constant by any
 * outer differentiation, like PyTorch's autograd.grad without create_graph
 * (CCT's virtual adversarial training uses it that way).
 *
 * VJPs are written with primitive ops wherever that is exact; only
 * convolution, pooling, upsampling, batch norm and slice have dedicated
 * backward ops (see ops.def). The switches over ops name every op (no
 * default), so -Wswitch flags an op added to ops.def and not given a VJP
 * here; a helper that vjp() sends a few ops to lists the rest as
 * unreachable.
 */
#include "compiler.h"

#include <math.h>
#include <string.h>

typedef struct ad_ctx {
    ir_graph *g;
    seg_span span;      /* span of the forward node being differentiated */
    ir_id *adj;         /* adjoint per forward node, -1 = none */
    unsigned char *active;
    int n_emitted;      /* backward nodes appended */
    char *err;
    size_t errlen;
    int failed;
} ad_ctx;

/* ------------------------------------------------------------ emitters */

static ir_id emit(ad_ctx *c, rt_op op, const rt_attrs *a, const ir_id *in, int n,
                  const rt_type *want)
{
    if (c->failed)
        return -1;
    rt_attrs def;
    if (!a) {
        rt_attrs_init(&def);
        a = &def;
    }
    char msg[256];
    ir_id id = ir_add_op(c->g, op, a, in, n, want, c->span, msg, sizeof msg);
    if (id < 0) {
        snprintf(c->err, c->errlen, "autodiff: %s", msg);
        c->failed = 1;
        return -1;
    }
    c->n_emitted++;
    return id;
}

static ir_id emit1(ad_ctx *c, rt_op op, ir_id a)
{
    return emit(c, op, NULL, &a, 1, NULL);
}

static ir_id emit2(ad_ctx *c, rt_op op, ir_id a, ir_id b)
{
    ir_id in[2] = {a, b};
    return emit(c, op, NULL, in, 2, NULL);
}

static ir_id scalar(ad_ctx *c, double v)
{
    rt_type t = {.dtype = RT_F32, .rank = 0};
    c->n_emitted++;
    return ir_add_const(c->g, &t, v, c->span);
}

/* By value: emitting may grow (move) the node array. */
static rt_type type_of(ad_ctx *c, ir_id v) { return c->g->nodes[v].type; }
/* A pointer to a copy of the type, living until the end of the full expression's block. */
#define TYPEP(c, v) ((rt_type[1]){type_of((c), (v))})

static ir_id where3(ad_ctx *c, ir_id cond, ir_id a, ir_id b)
{
    ir_id in[3] = {cond, a, b};
    return emit(c, OP_WHERE, NULL, in, 3, NULL);
}

static ir_id as_f32(ad_ctx *c, ir_id mask)
{
    rt_type t = type_of(c, mask);
    t.dtype = RT_F32;
    return emit(c, OP_CAST, NULL, &mask, 1, &t);
}

static ir_id reshape_to(ad_ctx *c, ir_id v, const rt_type *t)
{
    rt_type have = type_of(c, v);
    if (rt_type_equal(&have, t))
        return v;
    return emit(c, OP_RESHAPE, NULL, &v, 1, t);
}

static ir_id broadcast_to(ad_ctx *c, ir_id v, const rt_type *t)
{
    rt_type have = type_of(c, v);
    if (rt_type_equal(&have, t))
        return v;
    return emit(c, OP_BROADCAST, NULL, &v, 1, t);
}

static ir_id sum_axes(ad_ctx *c, ir_id v, unsigned axes, int keepdim)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.axes = axes;
    a.keepdim = keepdim;
    return emit(c, OP_SUM, &a, &v, 1, NULL);
}

/* Sum a broadcast gradient back to the shape of the input it came from. */
static ir_id unbroadcast(ad_ctx *c, ir_id grad, const rt_type *to)
{
    rt_type from = type_of(c, grad);
    int lead = from.rank - to->rank;
    unsigned axes = 0;
    for (int j = 0; j < from.rank; j++) {
        if (j < lead || (to->dim[j - lead] == 1 && from.dim[j] != 1))
            axes |= 1u << j;
    }
    if (axes)
        grad = sum_axes(c, grad, axes, 1);
    rt_type want = *to;
    want.dtype = RT_F32;
    return reshape_to(c, grad, &want);
}

/* A reduced gradient (keepdim or not) spread back over the input shape. */
static ir_id unreduce(ad_ctx *c, ir_id grad, const ir_node *n, const rt_type *x)
{
    rt_type kept = *x;
    kept.dtype = RT_F32;
    for (int i = 0; i < x->rank; i++)
        if (!n->attrs.axes || (n->attrs.axes >> i & 1u))
            kept.dim[i] = 1;
    grad = reshape_to(c, grad, &kept);
    rt_type full = *x;
    full.dtype = RT_F32;
    return broadcast_to(c, grad, &full);
}

static int64_t reduced_count(const ir_node *n, const rt_type *x)
{
    int64_t k = 1;
    for (int i = 0; i < x->rank; i++)
        if (!n->attrs.axes || (n->attrs.axes >> i & 1u))
            k *= x->dim[i];
    return k;
}

static unsigned all_but_channel_axes(int rank)
{
    unsigned axes = 0;
    for (int i = 0; i < rank; i++)
        if (i != 1)
            axes |= 1u << i;
    return axes;
}

/* ------------------------------------------------------ per-op VJPs */

/* Each returns the contribution to the adjoint of input k, or -1 for none. */

static ir_id vjp_conv(ad_ctx *c, const ir_node *n, int k, ir_id g)
{
    ir_id x = n->in[0], w = n->in[1];
    if (k == 0) {
        ir_id in[2] = {g, w};
        return emit(c, OP_CONV_BWD_DATA, &n->attrs, in, 2, TYPEP(c, x));
    }
    if (k == 1) {
        ir_id in[2] = {x, g};
        return emit(c, OP_CONV_BWD_WEIGHT, &n->attrs, in, 2, TYPEP(c, w));
    }
    return sum_axes(c, g, all_but_channel_axes(type_of(c, g).rank), 0);
}

/* conv_t(x, w) is the data-adjoint of a convolution, so its own adjoints
 * are a forward convolution (for x) and the weight gradient with the
 * roles of input and output swapped (for w). */
static ir_id vjp_conv_t(ad_ctx *c, const ir_node *n, int k, ir_id g)
{
    ir_id x = n->in[0], w = n->in[1];
    if (k == 0) {
        ir_id in[2] = {g, w};
        return emit(c, OP_CONV, &n->attrs, in, 2, NULL);
    }
    if (k == 1) {
        ir_id in[2] = {g, x};
        return emit(c, OP_CONV_BWD_WEIGHT, &n->attrs, in, 2, TYPEP(c, w));
    }
    return sum_axes(c, g, all_but_channel_axes(type_of(c, g).rank), 0);
}

static ir_id vjp_pool(ad_ctx *c, const ir_node *n, ir_id g)
{
    ir_id x = n->in[0];
    if (n->op == OP_MAXPOOL) {
        ir_id in[2] = {x, g};
        return emit(c, OP_MAXPOOL_BWD, &n->attrs, in, 2, TYPEP(c, x));
    }
    if (n->op == OP_AVGPOOL)
        return emit(c, OP_AVGPOOL_BWD, &n->attrs, &g, 1, TYPEP(c, x));
    if (n->op == OP_UPSAMPLE)
        return emit(c, OP_UPSAMPLE_BWD, &n->attrs, &g, 1, TYPEP(c, x));
    /* global average pool */
    const rt_type *xt = TYPEP(c, x);
    int64_t count = rt_type_numel(xt) / (xt->dim[0] * xt->dim[1]);
    ir_id spread = broadcast_to(c, g, xt);
    return emit2(c, OP_MUL, spread, scalar(c, 1.0 / (double)count));
}

/* Batch norm: in = x, gamma, beta, running_mean, running_var. */
static ir_id vjp_batchnorm(ad_ctx *c, const ir_node *n, int k, ir_id g)
{
    if (k == 0) {
        ir_id in[5] = {n->in[0], n->in[1], n->in[3], n->in[4], g};
        return emit(c, OP_BATCHNORM_BWD_DATA, &n->attrs, in, 5, TYPEP(c, n->in[0]));
    }
    if (k == 1) {
        ir_id in[4] = {n->in[0], n->in[3], n->in[4], g};
        return emit(c, OP_BATCHNORM_BWD_GAMMA, &n->attrs, in, 4, TYPEP(c, n->in[1]));
    }
    if (k == 2)
        return sum_axes(c, g, all_but_channel_axes(type_of(c, g).rank), 0);
    return -1; /* running statistics are state, not inputs of the function */
}

static ir_id vjp_concat(ad_ctx *c, const ir_node *n, int k, ir_id g)
{
    int axis = n->attrs.axis;
    int64_t begin = 0;
    for (int i = 0; i < k; i++)
        begin += type_of(c, n->in[i]).dim[axis];
    const rt_type *xt = TYPEP(c, n->in[k]);
    rt_attrs a;
    rt_attrs_init(&a);
    for (int i = 0; i < n->type.rank; i++) {
        a.begin[i] = 0;
        a.end[i] = n->type.dim[i];
    }
    a.begin[axis] = begin;
    a.end[axis] = begin + xt->dim[axis];
    return emit(c, OP_SLICE, &a, &g, 1, NULL);
}

static ir_id vjp_movement(ad_ctx *c, const ir_node *n, ir_id g)
{
    const rt_type *xt = TYPEP(c, n->in[0]);
    rt_type want = *xt;
    want.dtype = RT_F32;
    switch (n->op) {
    case OP_SLICE:
        return emit(c, OP_SLICE_BWD, &n->attrs, &g, 1, &want);
    case OP_RESHAPE:
        return reshape_to(c, g, &want);
    case OP_BROADCAST:
        return unbroadcast(c, g, &want);
    case OP_CAST:
        return xt->dtype == RT_F32 ? g : -1;
    case OP_PERMUTE: {
        rt_attrs a;
        rt_attrs_init(&a);
        for (int i = 0; i < xt->rank; i++)
            a.perm[n->attrs.perm[i]] = i;
        return emit(c, OP_PERMUTE, &a, &g, 1, NULL);
    }
    /* vjp() sends only the movement ops above */
    case OP_INPUT: case OP_PARAM: case OP_CONST:
    case OP_CONV: case OP_CONV_T: case OP_MAXPOOL: case OP_AVGPOOL: case OP_GLOBAL_AVGPOOL:
    case OP_UPSAMPLE:
    case OP_BATCHNORM: case OP_DROPOUT:
    case OP_CONCAT: case OP_ONE_HOT:
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: case OP_MINIMUM:
    case OP_MAXIMUM: case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
    case OP_WHERE:
    case OP_NEG: case OP_RELU: case OP_LEAKY_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP:
    case OP_LOG: case OP_ABS: case OP_SQRT: case OP_ERF: case OP_CLAMP:
    case OP_SUM: case OP_MEAN: case OP_MAX: case OP_SOFTMAX: case OP_LOG_SOFTMAX:
    case OP_ARGMAX: case OP_MATMUL:
    case OP_RAND_UNIFORM: case OP_RAND_NORMAL: case OP_RAND_BERNOULLI:
    case OP_STOP_GRAD: case OP_GRAD:
    case OP_CONV_BWD_DATA: case OP_CONV_BWD_WEIGHT: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
    case OP_UPSAMPLE_BWD: case OP_BATCHNORM_BWD_DATA: case OP_BATCHNORM_BWD_GAMMA:
    case OP_SLICE_BWD:
    case OP_FUSED:
    case OP_COUNT:
        break;
    }
    SEG_UNREACHABLE();
}

/* The adjoint of a binary op's input k, before unbroadcasting. */
static ir_id binary_adjoint(ad_ctx *c, const ir_node *n, ir_id self, int k, ir_id g)
{
    ir_id a = n->in[0], b = n->in[1];
    switch (n->op) {
    case OP_ADD:
        return g;
    case OP_SUB:
        return k == 0 ? g : emit1(c, OP_NEG, g);
    case OP_MUL:
        return emit2(c, OP_MUL, g, k == 0 ? b : a);
    case OP_DIV:
        return k == 0 ? emit2(c, OP_DIV, g, b)
                      : emit1(c, OP_NEG, emit2(c, OP_MUL, g, emit2(c, OP_DIV, self, b)));
    case OP_POW:
        if (k == 0) { /* b a^(b - 1) */
            ir_id bm1 = emit2(c, OP_SUB, b, scalar(c, 1));
            return emit2(c, OP_MUL, g, emit2(c, OP_MUL, b, emit2(c, OP_POW, a, bm1)));
        }
        return emit2(c, OP_MUL, g, emit2(c, OP_MUL, self, emit1(c, OP_LOG, a))); /* a^b log a */
    case OP_MINIMUM:
    case OP_MAXIMUM: {
        /* the winner takes the gradient; ties split it, as PyTorch does */
        ir_id mine = k == 0 ? a : b, other = k == 0 ? b : a;
        ir_id wins = emit2(c, n->op == OP_MAXIMUM ? OP_GT : OP_LT, mine, other);
        ir_id tie = emit2(c, OP_EQ, mine, other);
        ir_id half = emit2(c, OP_MUL, g, scalar(c, 0.5));
        return where3(c, wins, g, where3(c, tie, half, scalar(c, 0)));
    }
    /* vjp() sends only the arithmetic binary ops above */
    case OP_INPUT: case OP_PARAM: case OP_CONST:
    case OP_CONV: case OP_CONV_T: case OP_MAXPOOL: case OP_AVGPOOL: case OP_GLOBAL_AVGPOOL:
    case OP_UPSAMPLE:
    case OP_BATCHNORM: case OP_DROPOUT:
    case OP_CONCAT: case OP_SLICE: case OP_RESHAPE: case OP_PERMUTE: case OP_BROADCAST:
    case OP_CAST: case OP_ONE_HOT:
    case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE: case OP_WHERE:
    case OP_NEG: case OP_RELU: case OP_LEAKY_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP:
    case OP_LOG: case OP_ABS: case OP_SQRT: case OP_ERF: case OP_CLAMP:
    case OP_SUM: case OP_MEAN: case OP_MAX: case OP_SOFTMAX: case OP_LOG_SOFTMAX:
    case OP_ARGMAX: case OP_MATMUL:
    case OP_RAND_UNIFORM: case OP_RAND_NORMAL: case OP_RAND_BERNOULLI:
    case OP_STOP_GRAD: case OP_GRAD:
    case OP_CONV_BWD_DATA: case OP_CONV_BWD_WEIGHT: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
    case OP_UPSAMPLE_BWD: case OP_BATCHNORM_BWD_DATA: case OP_BATCHNORM_BWD_GAMMA:
    case OP_SLICE_BWD:
    case OP_FUSED:
    case OP_COUNT:
        break;
    }
    SEG_UNREACHABLE();
}

static ir_id vjp_binary(ad_ctx *c, const ir_node *n, ir_id self, int k, ir_id g)
{
    ir_id r = binary_adjoint(c, n, self, k, g);
    return r < 0 ? r : unbroadcast(c, r, TYPEP(c, n->in[k]));
}

static ir_id vjp_where(ad_ctx *c, const ir_node *n, int k, ir_id g)
{
    if (k == 0)
        return -1;
    ir_id zero = scalar(c, 0);
    ir_id r = k == 1 ? where3(c, n->in[0], g, zero) : where3(c, n->in[0], zero, g);
    return unbroadcast(c, r, TYPEP(c, n->in[k]));
}

static ir_id vjp_unary(ad_ctx *c, const ir_node *n, ir_id y, ir_id g)
{
    ir_id x = n->in[0];
    switch (n->op) {
    case OP_NEG:
        return emit1(c, OP_NEG, g);
    case OP_RELU: /* y > 0 exactly where x > 0 (NaN: both false); reading y lets
                     the forward conv write relu(conv) without keeping conv */
        return where3(c, emit2(c, OP_GT, y, scalar(c, 0)), g, scalar(c, 0));
    case OP_LEAKY_RELU:
        return where3(c, emit2(c, OP_GT, x, scalar(c, 0)), g,
                      emit2(c, OP_MUL, g, scalar(c, n->attrs.alpha)));
    case OP_SIGMOID:
        return emit2(c, OP_MUL, g, emit2(c, OP_MUL, y, emit2(c, OP_SUB, scalar(c, 1), y)));
    case OP_TANH:
        return emit2(c, OP_MUL, g, emit2(c, OP_SUB, scalar(c, 1), emit2(c, OP_MUL, y, y)));
    case OP_EXP:
        return emit2(c, OP_MUL, g, y);
    case OP_LOG:
        return emit2(c, OP_DIV, g, x);
    case OP_SQRT:
        return emit2(c, OP_DIV, g, emit2(c, OP_MUL, y, scalar(c, 2)));
    case OP_ABS: {
        ir_id sign = emit2(c, OP_SUB, as_f32(c, emit2(c, OP_GT, x, scalar(c, 0))),
                           as_f32(c, emit2(c, OP_LT, x, scalar(c, 0))));
        return emit2(c, OP_MUL, g, sign);
    }
    case OP_ERF: {
        ir_id e = emit1(c, OP_EXP, emit1(c, OP_NEG, emit2(c, OP_MUL, x, x)));
        return emit2(c, OP_MUL, g, emit2(c, OP_MUL, e, scalar(c, 2.0 / sqrt(M_PI))));
    }
    case OP_CLAMP: {
        ir_id zero = scalar(c, 0);
        ir_id inner = where3(c, emit2(c, OP_GT, x, scalar(c, n->attrs.hi)), zero, g);
        return where3(c, emit2(c, OP_LT, x, scalar(c, n->attrs.lo)), zero, inner);
    }
    /* vjp() sends only the unary elementwise ops above */
    case OP_INPUT: case OP_PARAM: case OP_CONST:
    case OP_CONV: case OP_CONV_T: case OP_MAXPOOL: case OP_AVGPOOL: case OP_GLOBAL_AVGPOOL:
    case OP_UPSAMPLE:
    case OP_BATCHNORM: case OP_DROPOUT:
    case OP_CONCAT: case OP_SLICE: case OP_RESHAPE: case OP_PERMUTE: case OP_BROADCAST:
    case OP_CAST: case OP_ONE_HOT:
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: case OP_MINIMUM:
    case OP_MAXIMUM: case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
    case OP_WHERE:
    case OP_SUM: case OP_MEAN: case OP_MAX: case OP_SOFTMAX: case OP_LOG_SOFTMAX:
    case OP_ARGMAX: case OP_MATMUL:
    case OP_RAND_UNIFORM: case OP_RAND_NORMAL: case OP_RAND_BERNOULLI:
    case OP_STOP_GRAD: case OP_GRAD:
    case OP_CONV_BWD_DATA: case OP_CONV_BWD_WEIGHT: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
    case OP_UPSAMPLE_BWD: case OP_BATCHNORM_BWD_DATA: case OP_BATCHNORM_BWD_GAMMA:
    case OP_SLICE_BWD:
    case OP_FUSED:
    case OP_COUNT:
        break;
    }
    SEG_UNREACHABLE();
}

static ir_id vjp_reduce(ad_ctx *c, const ir_node *n, ir_id y, ir_id g)
{
    const rt_type *xt = TYPEP(c, n->in[0]);
    if (n->op == OP_SUM)
        return unreduce(c, g, n, xt);
    if (n->op == OP_MEAN)
        return emit2(c, OP_MUL, unreduce(c, g, n, xt),
                     scalar(c, 1.0 / (double)reduced_count(n, xt)));
    /* max: the gradient is shared evenly between tied maxima */
    ir_id hit = as_f32(c, emit2(c, OP_EQ, n->in[0], unreduce(c, y, n, xt)));
    rt_attrs a = n->attrs;
    a.keepdim = 1;
    ir_id ties = emit(c, OP_SUM, &a, &hit, 1, NULL);
    ir_id share = emit2(c, OP_DIV, hit, ties);
    return emit2(c, OP_MUL, share, unreduce(c, g, n, xt));
}

static ir_id vjp_softmax(ad_ctx *c, const ir_node *n, ir_id y, ir_id g)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.axes = 1u << n->attrs.axis;
    a.keepdim = 1;
    if (n->op == OP_SOFTMAX) {
        ir_id gy = emit2(c, OP_MUL, g, y);
        ir_id s = emit(c, OP_SUM, &a, &gy, 1, NULL);
        return emit2(c, OP_MUL, y, emit2(c, OP_SUB, g, s));
    }
    ir_id s = emit(c, OP_SUM, &a, &g, 1, NULL);
    return emit2(c, OP_SUB, g, emit2(c, OP_MUL, emit1(c, OP_EXP, y), s));
}

static ir_id transpose_last(ad_ctx *c, ir_id v)
{
    int r = type_of(c, v).rank;
    rt_attrs a;
    rt_attrs_init(&a);
    a.perm[r - 2] = r - 1;
    a.perm[r - 1] = r - 2;
    return emit(c, OP_PERMUTE, &a, &v, 1, NULL);
}

static ir_id vjp_matmul(ad_ctx *c, const ir_node *n, int k, ir_id g)
{
    if (k == 0)
        return emit2(c, OP_MATMUL, g, transpose_last(c, n->in[1]));
    return emit2(c, OP_MATMUL, transpose_last(c, n->in[0]), g);
}

static ir_id vjp(ad_ctx *c, ir_id self, int k, ir_id g)
{
    ir_node copy = c->g->nodes[self]; /* emitting may move the node array */
    const ir_node *n = &copy;
    switch (n->op) {
    case OP_CONV:           return vjp_conv(c, n, k, g);
    case OP_CONV_T:         return vjp_conv_t(c, n, k, g);
    case OP_MAXPOOL:
    case OP_AVGPOOL:
    case OP_UPSAMPLE:
    case OP_GLOBAL_AVGPOOL: return vjp_pool(c, n, g);
    case OP_BATCHNORM:      return vjp_batchnorm(c, n, k, g);
    case OP_DROPOUT:        return emit(c, OP_DROPOUT, &n->attrs, &g, 1, NULL);
    case OP_CONCAT:         return vjp_concat(c, n, k, g);
    case OP_SLICE:
    case OP_RESHAPE:
    case OP_PERMUTE:
    case OP_BROADCAST:
    case OP_CAST:           return vjp_movement(c, n, g);
    case OP_WHERE:          return vjp_where(c, n, k, g);
    case OP_SUM:
    case OP_MEAN:
    case OP_MAX:            return vjp_reduce(c, n, self, g);
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:    return vjp_softmax(c, n, self, g);
    case OP_MATMUL:         return vjp_matmul(c, n, k, g);
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: case OP_MINIMUM:
    case OP_MAXIMUM:
        return vjp_binary(c, n, self, k, g);
    case OP_NEG: case OP_RELU: case OP_LEAKY_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP:
    case OP_LOG: case OP_ABS: case OP_SQRT: case OP_ERF: case OP_CLAMP:
        return vjp_unary(c, n, self, g);
    /* no gradient flows through these: leaves, integer or 0/1 results,
     * gradient markers, and what autodiff and fusion emit (differentiable()
     * keeps them from getting here) */
    case OP_INPUT: case OP_PARAM: case OP_CONST:
    case OP_ONE_HOT:
    case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
    case OP_ARGMAX:
    case OP_RAND_UNIFORM: case OP_RAND_NORMAL: case OP_RAND_BERNOULLI:
    case OP_STOP_GRAD: case OP_GRAD:
    case OP_CONV_BWD_DATA: case OP_CONV_BWD_WEIGHT: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
    case OP_UPSAMPLE_BWD: case OP_BATCHNORM_BWD_DATA: case OP_BATCHNORM_BWD_GAMMA:
    case OP_SLICE_BWD:
    case OP_FUSED:
    case OP_COUNT:
        break;
    }
    return -1;
}

/* ------------------------------------------------------------ driver */

/* Ops through which no gradient flows. */
static int differentiable(const ir_node *n)
{
    if (rt_op_table[n->op].flags & (RT_F_NOGRAD | RT_F_LEAF))
        return 0;
    if (n->op == OP_STOP_GRAD || n->op == OP_GRAD || n->type.dtype != RT_F32)
        return 0;
    return 1;
}

static void mark_active(const ir_graph *g, ir_id root, const unsigned char *target,
                        unsigned char *active)
{
    unsigned char *needs = seg_xcalloc((size_t)root + 1, 1);
    for (ir_id v = 0; v <= root; v++) {
        const ir_node *n = &g->nodes[v];
        needs[v] = target[v];
        if (!differentiable(n))
            continue;
        for (int i = 0; i < n->n_in; i++)
            needs[v] |= needs[n->in[i]];
    }
    memset(active, 0, (size_t)root + 1);
    active[root] = needs[root];
    for (ir_id v = root; v >= 0; v--) {
        if (!active[v] || !differentiable(&g->nodes[v]))
            continue;
        const ir_node *n = &g->nodes[v];
        for (int i = 0; i < n->n_in; i++)
            active[n->in[i]] |= needs[n->in[i]];
    }
    seg_free(needs);
}

static void accumulate(ad_ctx *c, ir_id v, ir_id contrib)
{
    if (contrib < 0)
        return;
    c->adj[v] = c->adj[v] < 0 ? contrib : emit2(c, OP_ADD, c->adj[v], contrib);
}

/* Backward pass of sum(root) into adj[0..root]; targets mark where
 * differentiation stops (parameters, or grad's wrt tensor). */
static int backward(ir_graph *g, ir_id root, ir_id seed, const unsigned char *target,
                    ir_id *adj, ir_ad_stats *stats, char *err, size_t errlen)
{
    ad_ctx c = {.g = g, .adj = adj, .err = err, .errlen = errlen};
    c.active = seg_xcalloc((size_t)root + 1, 1);
    mark_active(g, root, target, c.active);
    for (ir_id v = 0; v <= root; v++)
        adj[v] = -1;
    if (c.active[root])
        adj[root] = seed;
    for (ir_id v = root; v >= 0 && !c.failed; v--) {
        if (!c.active[v] || adj[v] < 0 || !differentiable(&g->nodes[v]))
            continue;
        int n_in = g->nodes[v].n_in;
        c.span = g->nodes[v].span;
        /* A conv's weight and bias gradients first: the weight gradient is
         * often the last reader of the (large) forward input, which then
         * dies before the data gradient's result is made (lower peak). */
        int conv = g->nodes[v].op == OP_CONV || g->nodes[v].op == OP_CONV_T;
        for (int j = 0; j < n_in && !c.failed; j++) {
            int k = conv ? (j + 1) % n_in : j;
            ir_id x = g->nodes[v].in[k]; /* re-read: emitting may move nodes */
            if (c.active[x])
                accumulate(&c, x, vjp(&c, v, k, adj[v]));
        }
        if (stats)
            stats->nodes_differentiated++;
    }
    if (stats)
        stats->backward_nodes += c.n_emitted;
    seg_free(c.active);
    return c.failed ? -1 : 0;
}

static ir_id ones_like(ir_graph *g, ir_id v)
{
    rt_type t = g->nodes[v].type;
    t.dtype = RT_F32;
    return ir_add_const(g, &t, 1.0, g->nodes[v].span);
}

int ir_autodiff(ir_graph *g, ir_id loss, ir_id *param_grad, ir_ad_stats *stats,
                char *err, size_t errlen)
{
    int n_fwd = g->n_nodes;
    if (g->nodes[loss].type.dtype != RT_F32) {
        snprintf(err, errlen, "the loss must be f32, not %s", rt_dtype_name(g->nodes[loss].type.dtype));
        return -1;
    }
    unsigned char *target = seg_xcalloc((size_t)n_fwd, 1);
    for (ir_id v = 0; v < n_fwd; v++) {
        const ir_node *n = &g->nodes[v];
        target[v] = n->op == OP_PARAM && !n->param->is_buffer && !n->param->frozen;
        param_grad[v] = -1;
    }
    ir_id *adj = seg_xcalloc((size_t)loss + 1, sizeof *adj);
    int rc = backward(g, loss, ones_like(g, loss), target, adj, stats, err, errlen);
    for (ir_id v = 0; v <= loss && rc == 0; v++)
        if (target[v])
            param_grad[v] = adj[v];
    seg_free(adj);
    seg_free(target);
    return rc;
}

/* Copy node v of src into dst with inputs renumbered through map. */
static ir_id copy_node(ir_graph *dst, const ir_graph *src, ir_id v, const ir_id *map,
                       char *err, size_t errlen)
{
    const ir_node *n = &src->nodes[v];
    if (n->op == OP_INPUT)
        return ir_add_input(dst, n->name, &n->type, n->span);
    if (n->op == OP_CONST)
        return ir_add_const(dst, &n->type, n->attrs.value, n->span);
    if (n->op == OP_PARAM) {
        ir_id p = ir_add_param(dst, n->name, &n->type, n->param->init, n->param->is_buffer,
                               n->span, err, errlen);
        if (p >= 0) {
            dst->nodes[p].param->frozen = n->param->frozen;
            dst->nodes[p].param->group = n->param->group;
        }
        return p;
    }
    ir_id in[64];
    ir_id *ins = n->n_in <= 64 ? in : seg_xcalloc((size_t)n->n_in, sizeof *ins);
    for (int i = 0; i < n->n_in; i++)
        ins[i] = map[n->in[i]];
    ir_id id = ir_add_op(dst, n->op, &n->attrs, ins, n->n_in, &n->type, n->span, err, errlen);
    if (ins != in)
        seg_free(ins);
    return id;
}

/* grad(y, x): d sum(y) / dx, emitted in place and then held constant. */
static ir_id expand_one(ir_graph *g, ir_id y, ir_id x, seg_span span, ir_ad_stats *stats,
                        char *err, size_t errlen)
{
    unsigned char *target = seg_xcalloc((size_t)y + 1, 1);
    ir_id *adj = seg_xcalloc((size_t)y + 1, sizeof *adj);
    ir_id dx = -1;
    if (x <= y) {
        target[x] = 1;
        if (backward(g, y, ones_like(g, y), target, adj, stats, err, errlen) < 0) {
            seg_free(target);
            seg_free(adj);
            return -1;
        }
        dx = adj[x];
    }
    seg_free(target);
    seg_free(adj);
    if (dx < 0) /* y does not depend on x */
        dx = ir_add_const(g, &g->nodes[x].type, 0.0, span);
    rt_attrs a;
    rt_attrs_init(&a);
    return ir_add_op(g, OP_STOP_GRAD, &a, &dx, 1, NULL, span, err, errlen);
}

ir_graph *ir_expand_grads(const ir_graph *src, ir_ad_stats *stats, char *err, size_t errlen)
{
    ir_graph *dst = ir_graph_new(src->name);
    dst->file_names = src->file_names;
    dst->n_file_names = src->n_file_names;
    ir_id *map = seg_xcalloc((size_t)src->n_nodes + 1, sizeof *map);
    for (ir_id v = 0; v < src->n_nodes; v++) {
        const ir_node *n = &src->nodes[v];
        if (n->op == OP_GRAD)
            map[v] = expand_one(dst, map[n->in[0]], map[n->in[1]], n->span, stats, err, errlen);
        else
            map[v] = copy_node(dst, src, v, map, err, errlen);
        if (map[v] < 0) {
            seg_free(map);
            ir_graph_free(dst);
            return NULL;
        }
    }
    for (int i = 0; i < src->n_outputs; i++)
        ir_add_output(dst, src->outputs[i].name, map[src->outputs[i].id]);
    seg_free(map);
    return dst;
}

static void unfreeze_params(ir_graph *g)
{
    for (ir_id v = 0; v < g->n_nodes; v++)
        if (g->nodes[v].op == OP_PARAM && !g->nodes[v].param->is_buffer)
            g->nodes[v].param->frozen = 0;
}

ir_graph *ir_training_graph(const ir_graph *stage, int unfreeze, int *n_forward,
                            ir_ad_stats *stats, char *err, size_t errlen)
{
    ir_graph *x = ir_expand_grads(stage, stats, err, errlen);
    if (!x)
        return NULL;
    if (unfreeze)
        unfreeze_params(x);
    ir_id loss = ir_find_output(x, "loss");
    int n_fwd = x->n_nodes;
    if (n_forward)
        *n_forward = n_fwd;
    if (loss < 0) {
        snprintf(err, errlen, "the stage graph has no output 'loss'");
        ir_graph_free(x);
        return NULL;
    }
    ir_id *grads = seg_xcalloc((size_t)n_fwd, sizeof *grads);
    int rc = ir_autodiff(x, loss, grads, stats, err, errlen);
    for (ir_id v = 0; rc == 0 && v < loss; v++)
        if (grads[v] >= 0)
            ir_add_output(x, seg_arena_printf(x->arena, "grad:%s", x->nodes[v].name), grads[v]);
    seg_free(grads);
    if (rc) {
        ir_graph_free(x);
        return NULL;
    }
    return x;
}
