/* fused.c — the reference kernel of OP_FUSED: a fused group evaluated the
 * slow, obvious way, one node at a time through rt_kernel_run with a
 * temporary tensor per inner node. So a fused program on the reference
 * interpreter computes exactly what the unfused program did (same
 * kernels, same order), and the JIT's fused kernels are checked against
 * it like any other op.
 */
#include "runtime/ops/ops_internal.h"

#include <math.h>

static rt_tensor *fused_arg(const ops_call *c, rt_tensor **node_val, int ref)
{
    return ref < 0 ? c->in[-1 - ref] : node_val[ref];
}

static int fused_node(const ops_call *c, const rt_fused_node *nd, rt_tensor **node_val,
                      rt_tensor *out)
{
    rt_tensor *args[3];
    for (int k = 0; k < nd->n_in; k++) {
        if (nd->in[k] < -c->n_in)
            return ops_fail(c, "node reads input %d of %d", -1 - nd->in[k], c->n_in);
        args[k] = fused_arg(c, node_val, nd->in[k]);
    }
    return rt_kernel_run(nd->op, &nd->attrs, args, nd->n_in, out, c->ctx);
}

int ops_fused(const ops_call *c)
{
    const rt_fused *f = c->a->fused;
    if (!f || f->n_nodes < 1)
        return ops_fail(c, "no expression");
    if (!rt_type_equal(&f->nodes[f->n_nodes - 1].type, &c->out->type))
        return ops_fail(c, "output type differs from the expression's");
    rt_tensor **node_val = seg_xcalloc((size_t)f->n_nodes, sizeof *node_val);
    int rc = 0;
    for (int i = 0; i < f->n_nodes && rc == 0; i++) {
        const rt_fused_node *nd = &f->nodes[i];
        int last = i == f->n_nodes - 1;
        node_val[i] = last ? c->out : rt_tensor_new(&nd->type);
        rc = fused_node(c, nd, node_val, node_val[i]);
    }
    for (int i = 0; i < f->n_nodes - 1; i++)
        rt_tensor_free(node_val[i]);
    seg_free(node_val);
    return rc;
}

static int fused_tensor_nonfinite(const rt_tensor *t)
{
    if (t->type.dtype != RT_F32)
        return 0;
    const float *x = rt_f32(t);
    for (int64_t i = 0, n = rt_type_numel(&t->type); i < n; i++)
        if (!isfinite(x[i]))
            return 1;
    return 0;
}

const char *rt_fused_first_nonfinite(const rt_instr *ins, rt_tensor *const *in, uint64_t step)
{
    const rt_fused *f = ins->attrs.fused;
    rt_error err = {{0}};
    rt_ctx ctx = {.step = step, .threads = 1, .err = &err};
    ops_call c = {ins->op, &ins->attrs, in, ins->n_in, NULL, &ctx};
    rt_tensor **node_val = seg_xcalloc((size_t)f->n_nodes, sizeof *node_val);
    const char *at = NULL;
    for (int i = 0; i < f->n_nodes && !at; i++) {
        const rt_fused_node *nd = &f->nodes[i];
        node_val[i] = rt_tensor_new(&nd->type);
        if (fused_node(&c, nd, node_val, node_val[i]))
            break;
        if (fused_tensor_nonfinite(node_val[i]))
            at = nd->where ? nd->where : rt_op_table[nd->op].name;
    }
    for (int i = 0; i < f->n_nodes; i++)
        rt_tensor_free(node_val[i]);
    seg_free(node_val);
    return at;
}
