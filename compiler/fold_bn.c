/* fold_bn.c — batch norm in inference mode folded into the convolution
 * before it (compiler.h "fusion").
 *
 * With running statistics a batch norm is a per-channel affine map,
 * y = c * alpha + shift with alpha = gamma / sqrt(var + eps) and shift =
 * beta - mean * alpha (runtime/ops/norm.c computes exactly these). When c
 * is a convolution read by nothing else, the map moves into the weights:
 *     y = conv(x, w * alpha[cout], b * alpha + shift)
 * so the normalised tensor is written once, by the conv kernel (and a ReLU
 * after it becomes the kernel's epilogue too). The folded weights are
 * recomputed by small elementwise instructions on every run, since the
 * program does not know that the parameters stay fixed; they cost a pass
 * over the weights, not over the activations. Training-mode batch norms
 * (batch statistics) are left alone. The result differs from the unfused
 * program by float rounding only.
 *
 * The new program keeps every value of the old one (the conv's own result
 * becomes RT_VAL_FUSED: never stored) and appends the values it makes.
 */
#include "compiler.h"

#include <string.h>

#define FB_NEW_VALUES 10 /* per fold, at most */

typedef struct fb {
    const rt_program *p;
    rt_program *q;
    int *users; /* readers per value of p (program outputs count) */
    int *def;   /* defining instruction per value of p */
    int cap_instrs;
} fb;

/* Instruction j (a batchnorm) folds into the conv defining its input. */
static int fb_conv_of(const fb *b, int j)
{
    const rt_instr *bn = &b->p->instrs[j];
    if (bn->op != OP_BATCHNORM || bn->attrs.training || bn->n_in != 5)
        return -1;
    int c = b->def[bn->in[0]];
    if (c < 0 || c >= j || b->users[bn->in[0]] != 1)
        return -1;
    const rt_instr *cv = &b->p->instrs[c];
    const rt_type *w = &b->p->values[cv->in[1]].type;
    if (cv->op != OP_CONV || cv->attrs.groups != 1 || cv->attrs.relu || w->dtype != RT_F32)
        return -1;
    for (int k = 1; k < 5; k++)
        if (b->p->values[bn->in[k]].type.rank != 1 || b->p->values[bn->in[k]].type.dim[0] != w->dim[0])
            return -1;
    return c; /* users counts a program output: the conv's value is no output */
}

static int fb_value(fb *b, const rt_type *t)
{
    rt_program *q = b->q;
    q->values[q->n_values] = (rt_value){.type = *t, .kind = RT_VAL_TEMP};
    return q->n_values++;
}

/* Append op(in...) -> out (a new value of type t unless out >= 0). */
static int fb_emit(fb *b, rt_op op, const rt_attrs *a, const int *in, int n_in, const rt_type *t,
                   int out, const char *where)
{
    rt_program *q = b->q;
    SEG_ASSERT(q->n_instrs < b->cap_instrs);
    rt_instr *ins = &q->instrs[q->n_instrs++];
    memset(ins, 0, sizeof *ins);
    ins->op = op;
    if (a)
        ins->attrs = *a;
    else
        rt_attrs_init(&ins->attrs);
    ins->n_in = n_in;
    ins->in = seg_arena_alloc(q->arena, (size_t)(n_in ? n_in : 1) * sizeof *ins->in);
    if (n_in)
        memcpy(ins->in, in, (size_t)n_in * sizeof *in);
    ins->out = out >= 0 ? out : fb_value(b, t);
    ins->where = where ? seg_arena_printf(q->arena, "%s, folded: %s", where, rt_op_table[op].name)
                       : NULL;
    return ins->out;
}

static int fb_bin(fb *b, rt_op op, int x, int y, const rt_type *t, const char *where)
{
    int in[2] = {x, y};
    return fb_emit(b, op, NULL, in, 2, t, -1, where);
}

/* The folded weight and bias, then the conv writing the batch norm's value. */
static void fb_fold(fb *b, const rt_instr *cv, const rt_instr *bn)
{
    const char *where = bn->where;
    const rt_type *wt = &b->p->values[cv->in[1]].type, *ct = &b->p->values[bn->in[1]].type;
    rt_type scalar = {.dtype = RT_F32, .rank = 0}, col = *wt;
    rt_attrs a;
    rt_attrs_init(&a);
    a.value = bn->attrs.eps;
    int eps = fb_emit(b, OP_CONST, &a, NULL, 0, &scalar, -1, where);
    int var_eps = fb_bin(b, OP_ADD, bn->in[4], eps, ct, where);
    int sd = fb_emit(b, OP_SQRT, NULL, &var_eps, 1, ct, -1, where);
    int alpha = fb_bin(b, OP_DIV, bn->in[1], sd, ct, where);
    for (int d = 1; d < col.rank; d++)
        col.dim[d] = 1;
    int alpha_col = fb_emit(b, OP_RESHAPE, NULL, &alpha, 1, &col, -1, where);
    int w2 = fb_bin(b, OP_MUL, cv->in[1], alpha_col, wt, where);
    int shift = fb_bin(b, OP_SUB, bn->in[2], fb_bin(b, OP_MUL, bn->in[3], alpha, ct, where), ct, where);
    int b2 = cv->n_in > 2 ? fb_bin(b, OP_ADD, fb_bin(b, OP_MUL, cv->in[2], alpha, ct, where), shift,
                                   ct, where)
                          : shift;
    int in[3] = {cv->in[0], w2, b2};
    fb_emit(b, OP_CONV, &cv->attrs, in, 3, NULL, bn->out, NULL);
    rt_instr *conv = &b->q->instrs[b->q->n_instrs - 1]; /* keeps the conv's location */
    conv->where = cv->where ? seg_arena_strdup(b->q->arena, cv->where) : NULL;
    b->q->values[cv->out].kind = RT_VAL_FUSED;
}

rt_program *fold_bn_program(const rt_program *p, int *folded)
{
    size_t nv = (size_t)(p->n_values ? p->n_values : 1), ni = (size_t)(p->n_instrs ? p->n_instrs : 1);
    fb b = {.p = p, .users = seg_xcalloc(nv, sizeof(int)), .def = seg_xcalloc(nv, sizeof(int))};
    int *conv_of = seg_xcalloc(ni, sizeof(int)); /* per batchnorm: conv + 1 */
    unsigned char *skip = seg_xcalloc(ni, 1);
    prog_def_users(p, b.def, b.users);
    int n = 0;
    for (int j = 0; j < p->n_instrs; j++) {
        int c = fb_conv_of(&b, j);
        if (c >= 0 && !skip[c]) {
            conv_of[c] = j + 1; /* the fold is emitted where the conv was */
            skip[j] = 1;
            n++;
        }
    }
    b.q = prog_new_like(p, n * FB_NEW_VALUES);
    b.cap_instrs = p->n_instrs + n * FB_NEW_VALUES;
    b.q->instrs = seg_arena_alloc(b.q->arena, (size_t)b.cap_instrs * sizeof *b.q->instrs);
    for (int i = 0; i < p->n_instrs; i++) {
        if (conv_of[i])
            fb_fold(&b, &p->instrs[i], &p->instrs[conv_of[i] - 1]);
        else if (!skip[i])
            prog_copy_instr(b.q, &p->instrs[i], &b.q->instrs[b.q->n_instrs++]);
    }
    *folded = n;
    seg_free(b.users);
    seg_free(b.def);
    seg_free(conv_of);
    seg_free(skip);
    return b.q;
}
