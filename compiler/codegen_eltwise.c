/* codegen_eltwise.c — LLVM IR for fused elementwise groups (KIR_ELTWISE).
 *
 *     void sym(void *const *in, void *out, i64 task_begin, i64 task_end)
 *
 * Elementwise: task t = (row i0, i1; chunk of the innermost dim); the
 * chunk runs in <vl x float> steps and then a scalar tail, evaluating the
 * node list once per step (operands with innermost stride 1 are vector
 * loads, the others one scalar load splat across the lanes). The result
 * is stored as f32, or as u8 0/1 for a mask.
 *
 * Sum/mean: task t = one position of the kept outer dims. If the innermost
 * dim is summed, the task walks its rows accumulating a vector of doubles
 * (and a scalar for the tails) and adds the lanes in order at the end; if
 * the innermost dim is kept (a chunk of it per task), each vector step
 * sums its column over the rows. Sums are in double like the reference
 * kernel's, and their order depends on the shape only, so results do not
 * depend on the thread count.
 *
 * Arithmetic is the reference kernels' (runtime/ops/elementwise.c): no
 * fast-math, so no reassociation or contraction; minimum/maximum/relu/
 * clamp keep NaN as the reference does; sigmoid takes the same two
 * branches; exp, log, pow, tanh and erf call the C library lane by lane
 * (the same functions the reference calls, so the same bits).
 */
#include "compiler/codegen_internal.h"

#include <llvm-c/Core.h>

#include <string.h>

typedef struct eg {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMValueRef fn;
    LLVMTypeRef f32, f64, i64, i32, i8, i1, ptr;
    const kir_eltwise *e;
    LLVMValueRef in[KIR_ELT_MAX_IN]; /* operand base pointers */
    LLVMValueRef out;
} eg;

/* ------------------------------------------------------------ helpers */

static LLVMValueRef ci(eg *g, int64_t v) { return LLVMConstInt(g->i64, (unsigned long long)v, 1); }
static LLVMValueRef add(eg *g, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(g->b, a, b, ""); }
static LLVMValueRef mulc(eg *g, LLVMValueRef a, int64_t v)
{
    return v == 1 ? a : LLVMBuildMul(g->b, a, ci(g, v), "");
}

static LLVMTypeRef vec_of(LLVMTypeRef t, int w) { return w == 1 ? t : LLVMVectorType(t, (unsigned)w); }

static LLVMValueRef splat(eg *g, LLVMValueRef s, int w)
{
    if (w == 1)
        return s;
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), (unsigned)w);
    LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetPoison(vt), s, LLVMConstInt(g->i32, 0, 0), "");
    LLVMValueRef mask = LLVMConstNull(LLVMVectorType(g->i32, (unsigned)w));
    return LLVMBuildShuffleVector(g->b, v, LLVMGetPoison(vt), mask, "");
}

static LLVMValueRef fconst(eg *g, double v, int w) { return splat(g, LLVMConstReal(g->f32, v), w); }

/* An overloaded intrinsic (llvm.fabs, llvm.sqrt, ...) on type t. */
static LLVMValueRef intrinsic(eg *g, const char *name, LLVMTypeRef t, LLVMValueRef *args, int n)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(g->mod, id, &t, 1);
    LLVMTypeRef ft = LLVMIntrinsicGetType(g->ctx, id, &t, 1);
    return LLVMBuildCall2(g->b, ft, f, args, (unsigned)n, "");
}

/* A C library function float(float[, float]) applied lane by lane. */
static LLVMValueRef libm(eg *g, const char *name, LLVMValueRef a, LLVMValueRef b, int w)
{
    LLVMTypeRef params[2] = {g->f32, g->f32};
    LLVMTypeRef ft = LLVMFunctionType(g->f32, params, b ? 2 : 1, 0);
    LLVMValueRef f = LLVMGetNamedFunction(g->mod, name);
    if (!f)
        f = LLVMAddFunction(g->mod, name, ft);
    if (w == 1) {
        LLVMValueRef args[2] = {a, b};
        return LLVMBuildCall2(g->b, ft, f, args, b ? 2 : 1, "");
    }
    LLVMValueRef r = LLVMGetPoison(vec_of(g->f32, w));
    for (int i = 0; i < w; i++) {
        LLVMValueRef lane = LLVMConstInt(g->i32, (unsigned long long)i, 0);
        LLVMValueRef args[2] = {LLVMBuildExtractElement(g->b, a, lane, ""),
                                b ? LLVMBuildExtractElement(g->b, b, lane, "") : NULL};
        LLVMValueRef v = LLVMBuildCall2(g->b, ft, f, args, b ? 2 : 1, "");
        r = LLVMBuildInsertElement(g->b, r, v, lane, "");
    }
    return r;
}

static LLVMValueRef isnan_(eg *g, LLVMValueRef a) { return LLVMBuildFCmp(g->b, LLVMRealUNO, a, a, ""); }

/* ------------------------------------------------------------ values */

/* Operand k at the current step: offs[k] is its element offset. */
static LLVMValueRef load_input(eg *g, int k, LLVMValueRef *offs, int w)
{
    const kir_eltwise *e = g->e;
    int vec = w > 1 && e->in_stride[k][2] == 1;
    int u8 = e->in_dtype[k] == RT_U8;
    LLVMTypeRef et = u8 ? g->i8 : g->f32;
    LLVMValueRef p = LLVMBuildGEP2(g->b, et, g->in[k], &offs[k], 1, "");
    LLVMValueRef v = LLVMBuildLoad2(g->b, vec ? vec_of(et, w) : et, p, "");
    LLVMSetAlignment(v, u8 ? 1 : 4);
    if (!vec)
        v = splat(g, v, w);
    return u8 ? LLVMBuildICmp(g->b, LLVMIntNE, v, LLVMConstNull(vec_of(g->i8, w)), "") : v;
}

static LLVMValueRef min_max(eg *g, LLVMValueRef a, LLVMValueRef b, int is_min)
{
    LLVMValueRef pick = LLVMBuildFCmp(g->b, is_min ? LLVMRealOLT : LLVMRealOGT, a, b, "");
    LLVMValueRef r = LLVMBuildSelect(g->b, pick, a, b, "");
    r = LLVMBuildSelect(g->b, isnan_(g, b), b, r, "");
    return LLVMBuildSelect(g->b, isnan_(g, a), a, r, "");
}

static LLVMValueRef sigmoid(eg *g, LLVMValueRef x, int w)
{
    LLVMTypeRef t = vec_of(g->f32, w);
    LLVMValueRef ax = intrinsic(g, "llvm.fabs", t, &x, 1);
    LLVMValueRef e = libm(g, "expf", LLVMBuildFNeg(g->b, ax, ""), NULL, w);
    LLVMValueRef den = LLVMBuildFAdd(g->b, fconst(g, 1.0, w), e, "");
    LLVMValueRef pos = LLVMBuildFDiv(g->b, fconst(g, 1.0, w), den, "");
    LLVMValueRef neg = LLVMBuildFDiv(g->b, e, den, "");
    LLVMValueRef ge0 = LLVMBuildFCmp(g->b, LLVMRealOGE, x, fconst(g, 0.0, w), "");
    return LLVMBuildSelect(g->b, ge0, pos, neg, "");
}

static LLVMValueRef clamp(eg *g, const kir_elt_node *nd, LLVMValueRef x, int w)
{
    LLVMTypeRef t = vec_of(g->f32, w);
    LLVMValueRef a[2] = {x, fconst(g, nd->lo, w)};
    LLVMValueRef r = intrinsic(g, "llvm.maxnum", t, a, 2);
    LLVMValueRef b[2] = {r, fconst(g, nd->hi, w)};
    r = intrinsic(g, "llvm.minnum", t, b, 2);
    return LLVMBuildSelect(g->b, isnan_(g, x), x, r, "");
}

static LLVMRealPredicate cmp_pred(rt_op op)
{
    switch (op) {
    case OP_LT: return LLVMRealOLT;
    case OP_LE: return LLVMRealOLE;
    case OP_GT: return LLVMRealOGT;
    case OP_GE: return LLVMRealOGE;
    case OP_EQ: return LLVMRealOEQ;
    default: return LLVMRealUNE; /* OP_NE: true for NaN, as C's != */
    }
}

static LLVMValueRef unary(eg *g, const kir_elt_node *nd, LLVMValueRef x, int w)
{
    LLVMTypeRef t = vec_of(g->f32, w);
    LLVMValueRef zero = fconst(g, 0.0, w);
    switch (nd->op) {
    case OP_NEG: return LLVMBuildFNeg(g->b, x, "");
    case OP_RELU: return LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOLT, x, zero, ""), zero, x, "");
    case OP_LEAKY_RELU:
        return LLVMBuildSelect(g->b, LLVMBuildFCmp(g->b, LLVMRealOGT, x, zero, ""), x,
                               LLVMBuildFMul(g->b, x, fconst(g, nd->alpha, w), ""), "");
    case OP_SIGMOID: return sigmoid(g, x, w);
    case OP_TANH: return libm(g, "tanhf", x, NULL, w);
    case OP_EXP: return libm(g, "expf", x, NULL, w);
    case OP_LOG: return libm(g, "logf", x, NULL, w);
    case OP_ERF: return libm(g, "erff", x, NULL, w);
    case OP_ABS: return intrinsic(g, "llvm.fabs", t, &x, 1);
    case OP_SQRT: return intrinsic(g, "llvm.sqrt", t, &x, 1);
    case OP_CLAMP: return clamp(g, nd, x, w);
    default: SEG_UNREACHABLE();
    }
}

static LLVMValueRef binary(eg *g, rt_op op, LLVMValueRef a, LLVMValueRef b, int w)
{
    switch (op) {
    case OP_ADD: return LLVMBuildFAdd(g->b, a, b, "");
    case OP_SUB: return LLVMBuildFSub(g->b, a, b, "");
    case OP_MUL: return LLVMBuildFMul(g->b, a, b, "");
    case OP_DIV: return LLVMBuildFDiv(g->b, a, b, "");
    case OP_POW: return libm(g, "powf", a, b, w);
    case OP_MINIMUM: return min_max(g, a, b, 1);
    case OP_MAXIMUM: return min_max(g, a, b, 0);
    default: return LLVMBuildFCmp(g->b, cmp_pred(op), a, b, "");
    }
}

static LLVMValueRef node_value(eg *g, const kir_elt_node *nd, LLVMValueRef *arg, int w)
{
    switch (nd->op) {
    case OP_CONST:
        return nd->dtype == RT_U8 ? splat(g, LLVMConstInt(g->i1, nd->value != 0, 0), w)
                                  : fconst(g, nd->value, w);
    case OP_BROADCAST: return arg[0];
    case OP_WHERE: return LLVMBuildSelect(g->b, arg[0], arg[1], arg[2], "");
    default: break;
    }
    return nd->n_in == 1 ? unary(g, nd, arg[0], w) : binary(g, nd->op, arg[0], arg[1], w);
}

/* The group's result at the current step (f32 values, or an i1 mask). */
static LLVMValueRef eval(eg *g, LLVMValueRef *offs, int w)
{
    const kir_eltwise *e = g->e;
    LLVMValueRef in[KIR_ELT_MAX_IN] = {0}, val[KIR_ELT_MAX_NODES];
    for (int k = 0; k < e->n_in; k++)
        in[k] = load_input(g, k, offs, w);
    for (int i = 0; i < e->n_nodes; i++) {
        const kir_elt_node *nd = &e->node[i];
        LLVMValueRef arg[3];
        for (int k = 0; k < nd->n_in; k++)
            arg[k] = nd->in[k] < 0 ? in[-1 - nd->in[k]] : val[nd->in[k]];
        val[i] = node_value(g, nd, arg, w);
    }
    return e->result < 0 ? in[-1 - e->result] : val[e->result];
}

/* ------------------------------------------------------------ kernels */

/* offs[k] = base[k] + j * innermost stride of operand k. */
static void step_offsets(eg *g, const LLVMValueRef *base, LLVMValueRef j, LLVMValueRef *offs)
{
    for (int k = 0; k < g->e->n_in; k++)
        offs[k] = g->e->in_stride[k][2] ? add(g, base[k], j) : base[k];
}

static void store_result(eg *g, LLVMValueRef v, LLVMValueRef at, int w)
{
    int u8 = g->e->out_dtype == RT_U8;
    if (u8)
        v = LLVMBuildZExt(g->b, v, vec_of(g->i8, w), "");
    LLVMValueRef p = LLVMBuildGEP2(g->b, u8 ? g->i8 : g->f32, g->out, &at, 1, "");
    LLVMSetAlignment(LLVMBuildStore(g->b, v, p), u8 ? 1 : 4);
}

/* Base offsets of every operand (and out) at outer position (i0, i1). */
static void row_bases(eg *g, LLVMValueRef i0, LLVMValueRef i1, LLVMValueRef *base, LLVMValueRef *obase)
{
    const kir_eltwise *e = g->e;
    for (int k = 0; k < e->n_in; k++)
        base[k] = add(g, mulc(g, i0, e->in_stride[k][0]), mulc(g, i1, e->in_stride[k][1]));
    if (obase)
        *obase = add(g, mulc(g, i0, e->out_stride[0]), mulc(g, i1, e->out_stride[1]));
}

/* Elementwise: innermost positions [j0, j1) of row (i0, i1). */
static void elementwise_span(eg *g, LLVMValueRef i0, LLVMValueRef i1, LLVMValueRef j0, LLVMValueRef j1)
{
    int vl = g->e->vl;
    LLVMValueRef base[KIR_ELT_MAX_IN], obase, offs[KIR_ELT_MAX_IN];
    row_bases(g, i0, i1, base, &obase);
    LLVMValueRef nvec = LLVMBuildSDiv(g->b, LLVMBuildSub(g->b, j1, j0, ""), ci(g, vl), "");
    cg_loop l;
    cg_loop_begin(&l, g->b, ci(g, 0), nvec, NULL, 0);
    LLVMValueRef j = add(g, j0, mulc(g, l.iv, vl));
    step_offsets(g, base, j, offs);
    store_result(g, eval(g, offs, vl), add(g, obase, j), vl);
    cg_loop_end(&l, NULL);
    cg_loop_begin(&l, g->b, add(g, j0, mulc(g, nvec, vl)), j1, NULL, 0);
    step_offsets(g, base, l.iv, offs);
    store_result(g, eval(g, offs, 1), add(g, obase, l.iv), 1);
    cg_loop_end(&l, NULL);
}

static LLVMValueRef min_(eg *g, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, b, ""), a, b, "");
}

/* Task t: which chunk of the innermost dim, and the rest of t. */
static LLVMValueRef chunk_of(eg *g, LLVMValueRef t, LLVMValueRef *j0, LLVMValueRef *j1)
{
    const kir_eltwise *e = g->e;
    int64_t chunks = (e->ext[2] + e->chunk - 1) / e->chunk;
    LLVMValueRef c = LLVMBuildSRem(g->b, t, ci(g, chunks), "");
    *j0 = mulc(g, c, e->chunk);
    *j1 = min_(g, add(g, *j0, ci(g, e->chunk)), ci(g, e->ext[2]));
    return LLVMBuildSDiv(g->b, t, ci(g, chunks), "");
}

static void elementwise_task(eg *g, LLVMValueRef t)
{
    LLVMValueRef j0, j1, row = chunk_of(g, t, &j0, &j1);
    LLVMValueRef i0 = LLVMBuildSDiv(g->b, row, ci(g, g->e->ext[1]), "");
    LLVMValueRef i1 = LLVMBuildSRem(g->b, row, ci(g, g->e->ext[1]), "");
    elementwise_span(g, i0, i1, j0, j1);
}

/* Ranges of the outer dims for reduction task index kt: a kept dim is
 * one position of kt, a summed one the whole extent. */
static void outer_ranges(eg *g, LLVMValueRef kt, LLVMValueRef *lo, LLVMValueRef *hi)
{
    const kir_eltwise *e = g->e;
    int64_t n1 = e->out_stride[1] ? e->ext[1] : 1;
    LLVMValueRef k0 = LLVMBuildSDiv(g->b, kt, ci(g, n1), ""), k1 = LLVMBuildSRem(g->b, kt, ci(g, n1), "");
    LLVMValueRef k[2] = {k0, k1};
    for (int d = 0; d < 2; d++) {
        lo[d] = e->out_stride[d] ? k[d] : ci(g, 0);
        hi[d] = e->out_stride[d] ? add(g, k[d], ci(g, 1)) : ci(g, e->ext[d]);
    }
}

static LLVMValueRef to_f64(eg *g, LLVMValueRef v, int w)
{
    return LLVMBuildFPExt(g->b, v, vec_of(g->f64, w), "");
}

/* The sum (or mean) s of one output element, stored at out + obase + j. */
static void store_sum(eg *g, LLVMValueRef s, LLVMValueRef at, int w)
{
    if (g->e->reduce == OP_MEAN)
        s = LLVMBuildFDiv(g->b, s, splat(g, LLVMConstReal(g->f64, (double)g->e->count), w), "");
    store_result(g, LLVMBuildFPTrunc(g->b, s, vec_of(g->f32, w), ""), at, w);
}

/* Sum over the innermost dim (and the summed outer dims): one output. */
static void reduce_inner_task(eg *g, LLVMValueRef t)
{
    const kir_eltwise *e = g->e;
    int vl = e->vl;
    LLVMValueRef lo[2], hi[2], base[KIR_ELT_MAX_IN], offs[KIR_ELT_MAX_IN], obase;
    outer_ranges(g, t, lo, hi);
    LLVMValueRef acc[2] = {splat(g, LLVMConstReal(g->f64, 0), vl), LLVMConstReal(g->f64, 0)};
    cg_loop l0, l1, lj;
    cg_loop_begin(&l0, g->b, lo[0], hi[0], acc, 2);
    cg_loop_begin(&l1, g->b, lo[1], hi[1], acc, 2);
    row_bases(g, l0.iv, l1.iv, base, NULL);
    int64_t nvec = e->ext[2] / vl;
    LLVMValueRef v = acc[0];
    cg_loop_begin(&lj, g->b, ci(g, 0), ci(g, nvec), &v, 1);
    step_offsets(g, base, mulc(g, lj.iv, vl), offs);
    v = LLVMBuildFAdd(g->b, v, to_f64(g, eval(g, offs, vl), vl), "");
    cg_loop_end(&lj, &v);
    acc[0] = v;
    v = acc[1];
    cg_loop_begin(&lj, g->b, ci(g, nvec * vl), ci(g, e->ext[2]), &v, 1);
    step_offsets(g, base, lj.iv, offs);
    v = LLVMBuildFAdd(g->b, v, to_f64(g, eval(g, offs, 1), 1), "");
    cg_loop_end(&lj, &v);
    acc[1] = v;
    cg_loop_end(&l1, acc);
    cg_loop_end(&l0, acc);
    LLVMValueRef args[2] = {LLVMConstReal(g->f64, 0), acc[0]}; /* ordered: lane 0 first */
    LLVMValueRef s = intrinsic(g, "llvm.vector.reduce.fadd", vec_of(g->f64, vl), args, 2);
    s = LLVMBuildFAdd(g->b, s, acc[1], "");
    row_bases(g, lo[0], lo[1], base, &obase);
    store_sum(g, s, obase, 1);
}

/* Innermost dim kept: columns [j0, j1) each summed over the outer dims. */
static void reduce_column(eg *g, const LLVMValueRef *lo, const LLVMValueRef *hi, LLVMValueRef j, int w)
{
    LLVMValueRef base[KIR_ELT_MAX_IN], offs[KIR_ELT_MAX_IN], obase;
    LLVMValueRef acc = splat(g, LLVMConstReal(g->f64, 0), w);
    cg_loop l0, l1;
    cg_loop_begin(&l0, g->b, lo[0], hi[0], &acc, 1);
    cg_loop_begin(&l1, g->b, lo[1], hi[1], &acc, 1);
    row_bases(g, l0.iv, l1.iv, base, NULL);
    step_offsets(g, base, j, offs);
    acc = LLVMBuildFAdd(g->b, acc, to_f64(g, eval(g, offs, w), w), "");
    cg_loop_end(&l1, &acc);
    cg_loop_end(&l0, &acc);
    row_bases(g, lo[0], lo[1], base, &obase);
    store_sum(g, acc, add(g, obase, j), w);
}

static void reduce_outer_task(eg *g, LLVMValueRef t)
{
    int vl = g->e->vl;
    LLVMValueRef j0, j1, lo[2], hi[2];
    outer_ranges(g, chunk_of(g, t, &j0, &j1), lo, hi);
    LLVMValueRef nvec = LLVMBuildSDiv(g->b, LLVMBuildSub(g->b, j1, j0, ""), ci(g, vl), "");
    cg_loop l;
    cg_loop_begin(&l, g->b, ci(g, 0), nvec, NULL, 0);
    reduce_column(g, lo, hi, add(g, j0, mulc(g, l.iv, vl)), vl);
    cg_loop_end(&l, NULL);
    cg_loop_begin(&l, g->b, add(g, j0, mulc(g, nvec, vl)), j1, NULL, 0);
    reduce_column(g, lo, hi, l.iv, 1);
    cg_loop_end(&l, NULL);
}

static void eg_types(eg *g)
{
    g->f32 = LLVMFloatTypeInContext(g->ctx);
    g->f64 = LLVMDoubleTypeInContext(g->ctx);
    g->i64 = LLVMInt64TypeInContext(g->ctx);
    g->i32 = LLVMInt32TypeInContext(g->ctx);
    g->i8 = LLVMInt8TypeInContext(g->ctx);
    g->i1 = LLVMInt1TypeInContext(g->ctx);
    g->ptr = LLVMPointerTypeInContext(g->ctx, 0);
}

struct LLVMOpaqueModule *cg_eltwise_module(const kir_eltwise *e, struct LLVMOpaqueContext *ctx,
                                           const char *symbol)
{
    eg g = {.ctx = ctx, .e = e};
    g.mod = LLVMModuleCreateWithNameInContext(symbol, ctx);
    g.b = LLVMCreateBuilderInContext(ctx);
    eg_types(&g);
    LLVMTypeRef params[4] = {g.ptr, g.ptr, g.i64, g.i64};
    g.fn = LLVMAddFunction(g.mod, symbol, LLVMFunctionType(LLVMVoidTypeInContext(ctx), params, 4, 0));
    LLVMPositionBuilderAtEnd(g.b, LLVMAppendBasicBlockInContext(ctx, g.fn, "entry"));
    LLVMValueRef inp = LLVMGetParam(g.fn, 0);
    g.out = LLVMGetParam(g.fn, 1);
    for (int k = 0; k < e->n_in; k++) {
        LLVMValueRef idx = ci(&g, k);
        g.in[k] = LLVMBuildLoad2(g.b, g.ptr, LLVMBuildGEP2(g.b, g.ptr, inp, &idx, 1, ""), "");
    }
    cg_loop l;
    cg_loop_begin(&l, g.b, LLVMGetParam(g.fn, 2), LLVMGetParam(g.fn, 3), NULL, 0);
    if (!e->reduce)
        elementwise_task(&g, l.iv);
    else if (!e->out_stride[2])
        reduce_inner_task(&g, l.iv);
    else
        reduce_outer_task(&g, l.iv);
    cg_loop_end(&l, NULL);
    LLVMBuildRetVoid(g.b);
    LLVMDisposeBuilder(g.b);
    return g.mod;
}
