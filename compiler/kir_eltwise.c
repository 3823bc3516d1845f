/* kir_eltwise.c — kernel IR of a fused elementwise group (KIR_ELTWISE):
 * the loop view of an OP_FUSED instruction and its stable text form.
 *
 * The group is evaluated at every point of its iteration shape (the
 * result's shape, or the shape of what a final sum/mean reduces). Each
 * operand broadcasts onto it with NumPy's right-aligned rule, so an
 * operand varies along an iteration dim or is constant along it. Dims of
 * extent 1 drop out; neighbouring dims along which every operand (and the
 * output) behaves alike merge into one. A per-channel bias on
 * [N, C, D, H, W] gives the view [N][C][D*H*W]; equal shapes give one
 * flat dim. More than three view dims is refused (the reference kernel
 * runs such rare groups).
 *
 * Types: f32 values and u8 masks. Masks come from comparisons, u8 inputs
 * and u8 constants and may only feed where() or be the result; a u8 mask
 * in arithmetic is refused (the reference computes those in double).
 */
#include "compiler/compiler.h"

#include <stdio.h>
#include <string.h>

#define KIR_ELT_CHUNK 16384 /* innermost elements per task: 64 KB of f32 */

static int elt_fail(char *msg, size_t n, const char *why)
{
    snprintf(msg, n, "%s", why);
    return -1;
}

static rt_dtype elt_ref_dtype(const kir_eltwise *e, int ref)
{
    return ref < 0 ? e->in_dtype[-1 - ref] : e->node[ref].dtype;
}

static int elt_is_cmp(rt_op op)
{
    return op == OP_LT || op == OP_LE || op == OP_GT || op == OP_GE || op == OP_EQ || op == OP_NE;
}

static int elt_op_ok(rt_op op)
{
    switch (op) {
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: case OP_MINIMUM:
    case OP_MAXIMUM: case OP_WHERE: case OP_NEG: case OP_RELU: case OP_LEAKY_RELU:
    case OP_SIGMOID: case OP_TANH: case OP_EXP: case OP_LOG: case OP_ABS: case OP_SQRT:
    case OP_ERF: case OP_CLAMP: case OP_BROADCAST: case OP_CONST: return 1;
    default: return elt_is_cmp(op);
    }
}

/* Operand dtypes of node i: masks only as where's condition. */
static int elt_node_types(const kir_eltwise *e, int i, char *msg, size_t n)
{
    const kir_elt_node *nd = &e->node[i];
    for (int k = 0; k < nd->n_in; k++) {
        rt_dtype d = elt_ref_dtype(e, nd->in[k]);
        rt_dtype want = nd->op == OP_WHERE && k == 0 ? RT_U8
                        : nd->op == OP_BROADCAST ? nd->dtype : RT_F32;
        if (d != want)
            return elt_fail(msg, n, "an operand of another dtype (u8 masks only select)");
    }
    rt_dtype out = elt_is_cmp(nd->op) ? RT_U8 : nd->op == OP_CONST || nd->op == OP_BROADCAST
                                                    ? nd->dtype : RT_F32;
    return nd->dtype == out ? 0 : elt_fail(msg, n, "a result of another dtype");
}

static int elt_nodes(kir_eltwise *e, const rt_fused *f, int n_el, char *msg, size_t n)
{
    if (n_el > KIR_ELT_MAX_NODES)
        return elt_fail(msg, n, "too many nodes");
    e->n_nodes = n_el;
    for (int i = 0; i < n_el; i++) {
        const rt_fused_node *fn = &f->nodes[i];
        if (!elt_op_ok(fn->op))
            return elt_fail(msg, n, "an op the generator does not take");
        if (fn->type.dtype != RT_F32 && fn->type.dtype != RT_U8)
            return elt_fail(msg, n, "a value that is neither f32 nor u8");
        e->node[i] = (kir_elt_node){fn->op, fn->n_in, {fn->in[0], fn->in[1], fn->in[2]},
                                    fn->type.dtype, fn->attrs.alpha, fn->attrs.lo, fn->attrs.hi,
                                    fn->attrs.value};
        if (elt_node_types(e, i, msg, n))
            return -1;
    }
    return 0;
}

/* Does operand type t vary along dim d of iteration shape it? -1: it
 * does not broadcast there. */
static int elt_varies(const rt_type *t, const rt_type *it, int d)
{
    int j = d - (it->rank - t->rank);
    if (j < 0 || t->dim[j] == 1)
        return 0;
    return t->dim[j] == it->dim[d] ? 1 : -1;
}

/* One merged view dim during construction. */
typedef struct elt_dim {
    int64_t ext;
    unsigned sig; /* bit k: input k varies; bit KIR_ELT_MAX_IN: the output does */
} elt_dim;

static int elt_view(kir_eltwise *e, const rt_type *in, const rt_type *it, unsigned axes,
                    char *msg, size_t n)
{
    elt_dim dim[RT_MAX_RANK];
    int nd = 0;
    for (int d = 0; d < it->rank; d++) {
        if (it->dim[d] == 1)
            continue;
        unsigned sig = 0;
        for (int k = 0; k < e->n_in; k++) {
            int v = elt_varies(&in[k], it, d);
            if (v < 0)
                return elt_fail(msg, n, "an input that does not broadcast");
            sig |= (unsigned)v << k;
        }
        if (!e->reduce || !(axes == 0 || (axes >> d & 1)))
            sig |= 1u << KIR_ELT_MAX_IN;
        if (nd > 0 && dim[nd - 1].sig == sig)
            dim[nd - 1].ext *= it->dim[d];
        else
            dim[nd++] = (elt_dim){it->dim[d], sig};
    }
    if (nd > 3)
        return elt_fail(msg, n, "more than three loop dims");
    int pad = 3 - nd;
    for (int g = 0; g < 3; g++)
        e->ext[g] = g < pad ? 1 : dim[g - pad].ext;
    for (int k = 0; k <= e->n_in; k++) {
        unsigned bit = k < e->n_in ? 1u << k : 1u << KIR_ELT_MAX_IN;
        int64_t s = 1;
        for (int g = 2; g >= 0; g--) {
            int varies = g >= pad && (dim[g - pad].sig & bit);
            int64_t *dst = k < e->n_in ? &e->in_stride[k][g] : &e->out_stride[g];
            *dst = varies ? s : 0;
            s *= varies ? e->ext[g] : 1;
        }
    }
    return 0;
}

int kir_eltwise_init(kir_kernel *k, const rt_fused *f, const rt_type *in, int n_in,
                     const rt_type *out, int vl, char *msg, size_t msglen)
{
    memset(k, 0, sizeof *k);
    k->kind = KIR_ELTWISE;
    kir_eltwise *e = &k->elt;
    e->vl = vl;
    if (n_in > KIR_ELT_MAX_IN || f->n_nodes < 1)
        return elt_fail(msg, msglen, "too many inputs");
    e->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        e->in_dtype[i] = in[i].dtype;
        if (in[i].dtype != RT_F32 && in[i].dtype != RT_U8)
            return elt_fail(msg, msglen, "an input that is neither f32 nor u8");
    }
    const rt_fused_node *last = &f->nodes[f->n_nodes - 1];
    e->reduce = last->op == OP_SUM || last->op == OP_MEAN ? last->op : 0;
    int n_el = f->n_nodes - (e->reduce != 0);
    if (elt_nodes(e, f, n_el, msg, msglen))
        return -1;
    e->result = e->reduce ? last->in[0] : n_el - 1;
    if (e->reduce && (out->dtype != RT_F32 || elt_ref_dtype(e, e->result) != RT_F32))
        return elt_fail(msg, msglen, "a sum that is not f32");
    const rt_type *it = e->reduce ? (e->result < 0 ? &in[-1 - e->result] : &f->nodes[e->result].type)
                                  : out;
    e->out_dtype = out->dtype;
    if (!e->reduce && elt_ref_dtype(e, e->result) != out->dtype)
        return elt_fail(msg, msglen, "a result of another dtype");
    if (elt_view(e, in, it, e->reduce ? last->attrs.axes : 0, msg, msglen))
        return -1;
    e->count = 1;
    for (int g = 0; g < 3; g++)
        e->count *= e->out_stride[g] ? 1 : e->ext[g];
    e->chunk = e->ext[2] <= KIR_ELT_CHUNK ? e->ext[2] : KIR_ELT_CHUNK;
    e->chunk = e->chunk > 0 ? e->chunk : 1;
    return 0;
}

int64_t kir_eltwise_tasks(const kir_eltwise *e)
{
    int64_t chunks = (e->ext[2] + e->chunk - 1) / e->chunk;
    int64_t t = 1;
    for (int g = 0; g < 2; g++)
        t *= !e->reduce || e->out_stride[g] ? e->ext[g] : 1;
    return e->reduce && !e->out_stride[2] ? t : t * chunks;
}

static void print_ref(seg_buf *out, int ref)
{
    if (ref < 0)
        seg_buf_printf(out, "in%d", -1 - ref);
    else
        seg_buf_printf(out, "%%%d", ref);
}

static void print_node(const kir_elt_node *nd, int i, seg_buf *out)
{
    seg_buf_printf(out, "    %%%d = %s(", i, rt_op_table[nd->op].name);
    for (int k = 0; k < nd->n_in; k++) {
        seg_buf_printf(out, "%s", k ? ", " : "");
        print_ref(out, nd->in[k]);
    }
    seg_buf_printf(out, ") : %s", rt_dtype_name(nd->dtype));
    if (nd->op == OP_CONST)
        seg_buf_printf(out, " value=%.9g", nd->value);
    if (nd->op == OP_LEAKY_RELU)
        seg_buf_printf(out, " alpha=%.9g", (double)nd->alpha);
    if (nd->op == OP_CLAMP)
        seg_buf_printf(out, " lo=%.9g hi=%.9g", (double)nd->lo, (double)nd->hi);
    seg_buf_printf(out, "\n");
}

void kir_eltwise_print(const kir_eltwise *e, seg_buf *out)
{
    seg_buf_printf(out, "kernel eltwise\n  view [%lld, %lld, %lld], %d lanes, %lld per task\n",
                   (long long)e->ext[0], (long long)e->ext[1], (long long)e->ext[2], e->vl,
                   (long long)e->chunk);
    for (int k = 0; k < e->n_in; k++)
        seg_buf_printf(out, "  in%d %s strides [%lld, %lld, %lld]\n", k, rt_dtype_name(e->in_dtype[k]),
                       (long long)e->in_stride[k][0], (long long)e->in_stride[k][1],
                       (long long)e->in_stride[k][2]);
    for (int i = 0; i < e->n_nodes; i++)
        print_node(&e->node[i], i, out);
    seg_buf_printf(out, "  result ");
    print_ref(out, e->result);
    if (e->reduce)
        seg_buf_printf(out, ", %s of %lld each", rt_op_table[e->reduce].name, (long long)e->count);
    seg_buf_printf(out, "\n  out %s strides [%lld, %lld, %lld]\n", rt_dtype_name(e->out_dtype),
                   (long long)e->out_stride[0], (long long)e->out_stride[1],
                   (long long)e->out_stride[2]);
}
