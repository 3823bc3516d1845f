/* fuse.c — graph-level fusion of a lowered program (compiler.h "fusion").
 *
 * Every op has a pattern in a small lattice, as in TVM's op patterns:
 *
 *   ELEMWISE     pointwise, same shape in and out (add, relu, where, ...)
 *   BROADCAST    pointwise with a broadcast input (broadcast, const fills)
 *   INJECTIVE    moves data, each output element from one input element
 *                (reshape, permute, slice, concat, cast)
 *   REDUCE       sum/mean/max over axes
 *   OUT_ELEMWISE may absorb an elementwise epilogue (conv, matmul and the
 *                conv gradients: done by the conv kernels, jitprog.c)
 *   OPAQUE       everything else (pools, upsample, batch norm, random ops)
 *
 * Groups: an ELEMWISE/BROADCAST producer joins its consumer's group when
 * the consumer is ELEMWISE, BROADCAST or a sum/mean, and the consumer is
 * the producer's only reader (so nothing outside needs the intermediate
 * and it is never stored). Roots are taken in reverse program order and
 * grow backwards through their inputs. Constant fills are copied into
 * every group that reads them (a fill costs nothing inside a loop) and
 * dropped when no reader is left. A ReLU that is the only reader of the
 * convolution just before it is left alone, in no group as root or member
 * (folded inference batch norms make such pairs: conv -> BN -> ReLU is
 * conv -> ReLU): the conv kernel takes it as its epilogue: the pair
 * becomes one conv instruction with attrs.relu that writes the ReLU's
 * value (the conv's own value is never stored, and the reference conv
 * kernel applies the ReLU itself), and a group reading the ReLU takes
 * that value as an input. Likewise backwards: the
 * ReLU's gradient where(y > 0, dx, 0) of a data gradient dx nobody else
 * reads becomes the conv_bwd_data's third operand y (the kernel keeps dx
 * where y > 0 as it writes it). A bias gradient, the sum of the same dy a
 * weight gradient reads over all but the channel axis, is marked
 * attrs.early_by: the weight gradient's driver sums it as it copies dy
 * into the blocked layout (the memory plan then starts the value there).
 * A residual add of a conv's result (and a ReLU after it) becomes the
 * conv's epilogue too (attrs.residual: the other operand is its last
 * input). Only f32 and u8 values are fused (the JIT's types); a group is
 * capped at FUSE_MAX_NODES nodes and FUSE_MAX_INPUTS inputs.
 *
 * These are the only fusion decisions: the JIT builder (jitprog.c), the
 * memory plan and `segc kir` read them off the program's attributes.
 *
 * A group becomes one OP_FUSED instruction at its root's place, with the
 * group's outside inputs as operands and the member ops as an expression
 * (rt_fused); the members' values become RT_VAL_FUSED (no storage). The
 * result is a new program (fresh arena) with the same value numbering, so
 * names, outputs and source locations stay valid; plan its memory after
 * fusion. The reference kernel of OP_FUSED runs the member ops one by
 * one, so the fused program computes exactly what the original did.
 */
#include "compiler.h"

#include <string.h>

typedef struct fz {
    const rt_program *p;
    int *users;            /* readers per value: instruction inputs + outputs */
    int *def;              /* defining instruction per value, -1 = none */
    int *root;             /* per instruction: its group's root, -1 = none */
    int *inputs;           /* per root: outside inputs so far (upper bound) */
    int *nodes;            /* per root: members so far */
    unsigned char *is_out; /* per value: a program output */
} fz;

fuse_pattern fuse_pattern_of(rt_op op)
{
    switch (op) {
    case OP_CONV: case OP_CONV_T: case OP_MATMUL: case OP_CONV_BWD_DATA:
    case OP_CONV_BWD_WEIGHT:
        return FUSE_OUT_ELEMWISE;
    case OP_BROADCAST: case OP_CONST:
        return FUSE_BROADCAST;
    case OP_RESHAPE: case OP_PERMUTE: case OP_SLICE: case OP_CONCAT: case OP_CAST:
    case OP_STOP_GRAD:
        return FUSE_INJECTIVE;
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW: case OP_MINIMUM:
    case OP_MAXIMUM: case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE:
    case OP_WHERE: case OP_NEG: case OP_RELU: case OP_LEAKY_RELU: case OP_SIGMOID: case OP_TANH:
    case OP_EXP: case OP_LOG: case OP_ABS: case OP_SQRT: case OP_ERF: case OP_CLAMP:
        return FUSE_ELEMWISE;
    case OP_SUM: case OP_MEAN: case OP_MAX:
        return FUSE_REDUCE;
    case OP_INPUT: case OP_PARAM: case OP_MAXPOOL: case OP_AVGPOOL: case OP_GLOBAL_AVGPOOL:
    case OP_UPSAMPLE: case OP_BATCHNORM: case OP_DROPOUT: case OP_ONE_HOT: case OP_SOFTMAX:
    case OP_LOG_SOFTMAX: case OP_ARGMAX: case OP_RAND_UNIFORM: case OP_RAND_NORMAL:
    case OP_RAND_BERNOULLI: case OP_GRAD: case OP_MAXPOOL_BWD: case OP_AVGPOOL_BWD:
    case OP_UPSAMPLE_BWD: case OP_BATCHNORM_BWD_DATA: case OP_BATCHNORM_BWD_GAMMA:
    case OP_SLICE_BWD: case OP_FUSED: case OP_COUNT:
        return FUSE_OPAQUE;
    }
    SEG_UNREACHABLE();
}

static int fz_dtype_ok(rt_dtype d) { return d == RT_F32 || d == RT_U8; }

/* Do the instruction's result and operands have fusable types? */
static int fz_types_ok(const rt_program *p, const rt_instr *ins)
{
    if (!fz_dtype_ok(p->values[ins->out].type.dtype))
        return 0;
    for (int k = 0; k < ins->n_in; k++)
        if (!fz_dtype_ok(p->values[ins->in[k]].type.dtype))
            return 0;
    return 1;
}

/* The ReLU at i is the epilogue of the convolution just before it. */
static int fz_conv_epilogue(const fz *z, int i)
{
    const rt_instr *ins = &z->p->instrs[i];
    if (ins->op != OP_RELU || i == 0 || ins->n_in != 1)
        return 0;
    const rt_instr *prev = &z->p->instrs[i - 1];
    return prev->op == OP_CONV && ins->in[0] == prev->out && z->users[prev->out] == 1 &&
           !z->is_out[prev->out] && prev->attrs.relu == 0;
}

/* May instruction i be a member (not the root) of a group? Not a conv's
 * epilogue ReLU: fz_rewrite gives that to the conv, which then writes the
 * ReLU's value, so the group of the ReLU's reader takes it as an input. (A
 * ReLU in both would leave the conv writing, and the group reading, values
 * that are never stored.) */
static int fz_member_ok(const fz *z, int i)
{
    const rt_instr *ins = &z->p->instrs[i];
    fuse_pattern pat = fuse_pattern_of(ins->op);
    return ins->op != OP_CONST && (pat == FUSE_ELEMWISE || pat == FUSE_BROADCAST) &&
           fz_types_ok(z->p, ins) && !fz_conv_epilogue(z, i);
}

static int fz_root_ok(const fz *z, int i)
{
    const rt_instr *ins = &z->p->instrs[i];
    if (ins->op == OP_SUM || ins->op == OP_MEAN)
        return z->p->values[ins->out].type.dtype == RT_F32 && fz_types_ok(z->p, ins);
    return fz_member_ok(z, i);
}

/* Is value v a fill of the constant 0? */
static int fz_zero(const fz *z, int v)
{
    int d = z->def[v];
    return d >= 0 && z->p->instrs[d].op == OP_CONST && z->p->instrs[d].attrs.value == 0 &&
           rt_type_numel(&z->p->values[v].type) == 1;
}

/* Root r computes where(gt(y, 0), dx, 0) (the ReLU gradient) of a data
 * gradient dx that nothing else reads: the conv_bwd_data making dx, or -1. */
static int fz_relu_grad_of(const fz *z, int r)
{
    const rt_instr *w = &z->p->instrs[r];
    if (w->op != OP_WHERE || !fz_zero(z, w->in[2]))
        return -1;
    int g = z->def[w->in[0]], d = z->def[w->in[1]];
    if (g < 0 || z->root[g] != r || d < 0 || z->users[w->in[1]] != 1 || z->is_out[w->in[1]])
        return -1;
    const rt_instr *gt = &z->p->instrs[g], *dx = &z->p->instrs[d];
    if (gt->op != OP_GT || !fz_zero(z, gt->in[1]) || dx->op != OP_CONV_BWD_DATA || dx->n_in != 2)
        return -1;
    const rt_type *yt = &z->p->values[gt->in[0]].type, *xt = &z->p->values[dx->out].type;
    return rt_type_equal(yt, xt) && yt->dtype == RT_F32 && z->def[gt->in[0]] < d ? d : -1;
}

/* Grow the group of root r backwards from its member j. */
static void fz_grow(fz *z, int r, int j)
{
    const rt_instr *ins = &z->p->instrs[j];
    for (int k = 0; k < ins->n_in; k++) {
        int v = ins->in[k], d = z->def[v];
        if (d < 0 || z->root[d] >= 0 || z->users[v] != 1 || z->is_out[v] || !fz_member_ok(z, d))
            continue;
        int more = z->p->instrs[d].n_in - 1;
        if (z->nodes[r] + 1 > FUSE_MAX_NODES || z->inputs[r] + more > FUSE_MAX_INPUTS)
            continue;
        z->root[d] = r;
        z->nodes[r]++;
        z->inputs[r] += more;
        fz_grow(z, r, d);
    }
}

static void fz_analyse(fz *z)
{
    const rt_program *p = z->p;
    prog_def_users(p, z->def, z->users);
    for (int i = 0; i < p->n_instrs; i++)
        z->root[i] = -1;
    for (int o = 0; o < p->n_outputs; o++)
        z->is_out[p->outputs[o]] = 1;
    for (int i = p->n_instrs - 1; i >= 0; i--)
        if (z->root[i] < 0 && fz_root_ok(z, i)) {
            z->root[i] = i;
            z->nodes[i] = 1;
            z->inputs[i] = p->instrs[i].n_in;
            fz_grow(z, i, i);
        }
}

/* ------------------------------------------------------------- building */

/* One group's expression as it is assembled. */
typedef struct fz_expr {
    rt_fused_node node[FUSE_MAX_NODES + 3 * FUSE_MAX_NODES]; /* members + copied fills */
    int n_nodes;
    int ext[3 * FUSE_MAX_NODES]; /* outside input values */
    int n_ext;
} fz_expr;

/* Is value v a constant fill that may be copied into a group? */
static int fz_fill(const fz *z, int v)
{
    int d = z->def[v];
    return d >= 0 && z->p->instrs[d].op == OP_CONST && fz_dtype_ok(z->p->values[v].type.dtype);
}

static int fz_add_node(fz_expr *e, const rt_instr *ins, const rt_type *t)
{
    rt_fused_node *nd = &e->node[e->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->op = ins->op;
    nd->attrs = ins->attrs;
    nd->attrs.fused = NULL;
    nd->type = *t;
    nd->where = ins->where;
    return e->n_nodes++;
}

static int fz_ext(fz_expr *e, int v)
{
    for (int k = 0; k < e->n_ext; k++)
        if (e->ext[k] == v)
            return -1 - k;
    e->ext[e->n_ext++] = v;
    return -e->n_ext;
}

/* Post-order: the node of member j (after the nodes of its operands). */
static int fz_emit(const fz *z, int r, int j, fz_expr *e, int *fill_uses)
{
    const rt_instr *ins = &z->p->instrs[j];
    int in[3];
    for (int k = 0; k < ins->n_in; k++) {
        int v = ins->in[k], d = z->def[v];
        if (d >= 0 && z->root[d] == r && d != r)
            in[k] = fz_emit(z, r, d, e, fill_uses);
        else if (fz_fill(z, v)) {
            in[k] = fz_add_node(e, &z->p->instrs[d], &z->p->values[v].type);
            fill_uses[v]++;
        } else
            in[k] = fz_ext(e, v);
    }
    int me = fz_add_node(e, ins, &z->p->values[ins->out].type);
    e->node[me].n_in = ins->n_in;
    memcpy(e->node[me].in, in, (size_t)ins->n_in * sizeof *in);
    return me;
}

static void fz_fused_instr(const fz *z, rt_program *q, int r, int *fill_uses, rt_instr *to)
{
    fz_expr *e = seg_xcalloc(1, sizeof *e);
    fz_emit(z, r, r, e, fill_uses);
    rt_fused *f = seg_arena_alloc(q->arena, sizeof *f);
    rt_fused_node *nodes = seg_arena_alloc(q->arena, (size_t)e->n_nodes * sizeof *nodes);
    memcpy(nodes, e->node, (size_t)e->n_nodes * sizeof *nodes);
    for (int i = 0; i < e->n_nodes; i++)
        nodes[i].where = nodes[i].where ? seg_arena_strdup(q->arena, nodes[i].where) : NULL;
    *f = (rt_fused){e->n_nodes, nodes};
    const rt_instr *ins = &z->p->instrs[r];
    memset(to, 0, sizeof *to);
    to->op = OP_FUSED;
    rt_attrs_init(&to->attrs);
    to->attrs.fused = f;
    to->n_in = e->n_ext;
    to->in = seg_arena_alloc(q->arena, (size_t)(e->n_ext ? e->n_ext : 1) * sizeof *to->in);
    memcpy(to->in, e->ext, (size_t)e->n_ext * sizeof *to->in);
    to->out = ins->out;
    to->where = ins->where ? seg_arena_strdup(q->arena, ins->where) : NULL;
    seg_free(e);
}

/* The instructions of q: groups as OP_FUSED, fills nobody reads dropped. */
static void fz_rewrite(const fz *z, rt_program *q, fuse_stats *st)
{
    const rt_program *p = z->p;
    int *fill_uses = seg_xcalloc((size_t)(p->n_values ? p->n_values : 1), sizeof *fill_uses);
    rt_instr *tmp = seg_xcalloc((size_t)(p->n_instrs ? p->n_instrs : 1), sizeof *tmp);
    unsigned char *keep = seg_xcalloc((size_t)(p->n_instrs ? p->n_instrs : 1), 1);
    int *mask_of = seg_xcalloc((size_t)(p->n_instrs ? p->n_instrs : 1), sizeof *mask_of);
    for (int i = p->n_instrs - 1; i >= 0; i--) { /* roots last-first, as fz_analyse */
        const rt_instr *ins = &p->instrs[i];
        int d = z->root[i] == i ? fz_relu_grad_of(z, i) : -1;
        if (d >= 0) { /* the data gradient at d writes this root's value */
            mask_of[d] = i + 1;
            fill_uses[ins->in[2]]++; /* its zeros are no longer read */
            fill_uses[p->instrs[z->def[ins->in[0]]].in[1]]++;
            st->relu_grads++;
        } else if (mask_of[i]) {
            const rt_instr *w = &p->instrs[mask_of[i] - 1];
            prog_copy_instr(q, ins, &tmp[i]);
            int *in = seg_arena_alloc(q->arena, 3 * sizeof *in);
            in[0] = ins->in[0];
            in[1] = ins->in[1];
            in[2] = p->instrs[z->def[w->in[0]]].in[0]; /* gt's y */
            tmp[i].in = in;
            tmp[i].n_in = 3;
            tmp[i].out = w->out;
            q->values[ins->out].kind = RT_VAL_FUSED;
            keep[i] = 1;
        } else if (z->root[i] == i) {
            fz_fused_instr(z, q, i, fill_uses, &tmp[i]);
            keep[i] = 1;
            st->groups++;
            st->fused_ops += z->nodes[i];
        } else if (z->root[i] >= 0) {
            q->values[ins->out].kind = RT_VAL_FUSED;
        } else if (i + 1 < p->n_instrs && fz_conv_epilogue(z, i + 1)) {
            prog_copy_instr(q, ins, &tmp[i]); /* conv + ReLU: one instruction */
            tmp[i].attrs.relu = 1;
            tmp[i].out = p->instrs[i + 1].out;
            q->values[ins->out].kind = RT_VAL_FUSED;
            keep[i] = 1;
            st->conv_relus++;
        } else if (fz_conv_epilogue(z, i)) {
            /* done by the conv before it */
        } else if (ins->op == OP_CONST && fill_uses[ins->out] == z->users[ins->out]) {
            q->values[ins->out].kind = RT_VAL_FUSED; /* copied into every reader */
            st->fills_dropped++;
        } else {
            prog_copy_instr(q, ins, &tmp[i]);
            keep[i] = 1;
        }
    }
    q->instrs = seg_arena_alloc(q->arena, (size_t)(p->n_instrs ? p->n_instrs : 1) * sizeof *q->instrs);
    for (int i = 0; i < p->n_instrs; i++)
        if (keep[i])
            q->instrs[q->n_instrs++] = tmp[i];
    seg_free(fill_uses);
    seg_free(tmp);
    seg_free(keep);
    seg_free(mask_of);
}

/* A fused group of q computing add(a, b) or relu(add(a, b)) of two inputs
 * of the same type: 1 (2 with the ReLU), else 0. */
static int fz_add_group(const rt_program *q, const rt_instr *g)
{
    const rt_fused *f = g->op == OP_FUSED ? g->attrs.fused : NULL;
    if (!f || g->n_in != 2 || f->n_nodes < 1 || f->n_nodes > 2)
        return 0;
    const rt_fused_node *a = &f->nodes[0];
    if (a->op != OP_ADD || a->in[0] >= 0 || a->in[1] >= 0 || a->in[0] == a->in[1] ||
        !rt_type_equal(&q->values[g->in[0]].type, &q->values[g->in[1]].type) ||
        !rt_type_equal(&q->values[g->in[0]].type, &q->values[g->out].type))
        return 0;
    if (f->n_nodes == 1)
        return 1;
    return f->nodes[1].op == OP_RELU && f->nodes[1].in[0] == 0 ? 2 : 0;
}

/* conv + residual add (+ ReLU): the conv takes the other operand as its
 * last input (attrs.residual) and writes the group's value; the group goes. */
static void fz_residuals(rt_program *q, fuse_stats *st)
{
    size_t nv = (size_t)(q->n_values ? q->n_values : 1);
    int *users = seg_xcalloc(nv, sizeof *users), *def = seg_xcalloc(nv, sizeof *def);
    prog_def_users(q, def, users); /* a program output has 2+ readers: never fused away */
    unsigned char *drop = seg_xcalloc((size_t)(q->n_instrs ? q->n_instrs : 1), 1);
    for (int j = 0; j < q->n_instrs; j++) {
        rt_instr *g = &q->instrs[j];
        int kind = fz_add_group(q, g), done = 0;
        for (int s = 0; kind && s < 2 && !done; s++) {
            int c = def[g->in[s]], r = g->in[1 - s];
            rt_instr *cv = c >= 0 ? &q->instrs[c] : NULL;
            if (!cv || cv->op != OP_CONV || cv->attrs.relu || cv->attrs.residual ||
                users[g->in[s]] != 1 || def[r] >= c || cv->n_in > 3)
                continue;
            int *in = seg_arena_alloc(q->arena, (size_t)(cv->n_in + 1) * sizeof *in);
            memcpy(in, cv->in, (size_t)cv->n_in * sizeof *in);
            in[cv->n_in] = r;
            q->values[cv->out].kind = RT_VAL_FUSED;
            cv->in = in;
            cv->n_in++;
            cv->out = g->out;
            cv->attrs.residual = 1;
            cv->attrs.relu = kind == 2;
            st->residuals++;
            done = drop[j] = 1;
        }
    }
    int kept = 0; /* compact only now: def[] holds the old positions */
    for (int j = 0; j < q->n_instrs; j++)
        if (!drop[j])
            q->instrs[kept++] = q->instrs[j];
    q->n_instrs = kept;
    seg_free(drop);
    seg_free(users);
    seg_free(def);
}

/* Instruction r of q is sum(dy) over all but axis 1: dy, or -1. */
static int fz_bias_sum_of(const rt_program *q, const rt_instr *r)
{
    const rt_fused *f = r->attrs.fused;
    if (r->op != OP_FUSED || f->n_nodes != 1 || f->nodes[0].op != OP_SUM || r->n_in != 1)
        return -1;
    const rt_type *t = &q->values[r->in[0]].type, *o = &q->values[r->out].type;
    unsigned all_but_c = ((1u << t->rank) - 1u) & ~2u;
    return t->rank >= 3 && t->dtype == RT_F32 && f->nodes[0].attrs.axes == all_but_c &&
                   o->rank == 1 && o->dim[0] == t->dim[1] ? r->in[0] : -1;
}

/* Bias gradients summed by the weight gradient that reads the same dy. */
static void fz_bias_sums(rt_program *q, fuse_stats *st)
{
    for (int r = 0; r < q->n_instrs; r++) {
        int dy = fz_bias_sum_of(q, &q->instrs[r]);
        for (int i = r - 1; dy >= 0 && i >= 0; i--) {
            const rt_instr *w = &q->instrs[i];
            if (w->op == OP_CONV_BWD_WEIGHT && w->n_in == 2 && w->in[1] == dy) {
                q->instrs[r].attrs.early_by = i + 1;
                st->bias_sums++;
                break;
            }
        }
    }
}

rt_program *fuse_program(const rt_program *p, fuse_stats *st)
{
    fuse_stats local;
    st = st ? st : &local;
    memset(st, 0, sizeof *st);
    size_t nv = (size_t)(p->n_values ? p->n_values : 1), ni = (size_t)(p->n_instrs ? p->n_instrs : 1);
    fz z = {p, seg_xcalloc(nv, sizeof(int)), seg_xcalloc(nv, sizeof(int)),
            seg_xcalloc(ni, sizeof(int)), seg_xcalloc(ni, sizeof(int)),
            seg_xcalloc(ni, sizeof(int)), seg_xcalloc(nv, 1)};
    fz_analyse(&z);
    rt_program *q = prog_new_like(p, 0);
    fz_rewrite(&z, q, st);
    fz_residuals(q, st);
    fz_bias_sums(q, st);
    st->instrs_before = p->n_instrs;
    st->instrs_after = q->n_instrs;
    seg_free(z.users);
    seg_free(z.def);
    seg_free(z.root);
    seg_free(z.inputs);
    seg_free(z.nodes);
    seg_free(z.is_out);
    return q;
}
