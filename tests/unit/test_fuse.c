/* test_fuse.c — graph-level fusion (compiler/fuse.c) and the generated
 * kernels of fused groups (compiler/kir_eltwise.c, codegen_eltwise.c).
 *
 * Hand-built graphs of awkward sizes ([2, 3, 5, 7, 9]: nothing divisible
 * by the vector width) cover every elementwise op the generator takes,
 * broadcast operands (scalars, per-channel, a trailing axis), NaN inputs,
 * u8 masks as results, and sums/means over all axes, all but the channel
 * axis, and the leading axis only. For each: the fused program on the
 * reference interpreter gives the unfused program's bits (the reference
 * kernel of a group runs its members one by one), the JIT's kernels agree
 * within a relative 1e-4 (sums: relative to the sum of magnitudes), and 1
 * and 2 threads give the same bits.
 */
#include "compiler/compiler.h"
#include "test.h"

#include <math.h>
#include <string.h>

static const seg_span nowhere = {0, 0, 0, 0, 0};

static rt_type ftype(int rank, const int64_t *dims)
{
    rt_type t = {.dtype = RT_F32, .rank = rank};
    memcpy(t.dim, dims, (size_t)rank * sizeof *dims);
    return t;
}

static ir_id op(ir_graph *g, rt_op o, const rt_attrs *a, ir_id x, ir_id y, ir_id z)
{
    rt_attrs def;
    rt_attrs_init(&def);
    ir_id in[3] = {x, y, z};
    int n = z >= 0 ? 3 : y >= 0 ? 2 : 1;
    char err[256] = "";
    ir_id id = ir_add_op(g, o, a ? a : &def, in, n, NULL, nowhere, err, sizeof err);
    if (id < 0)
        test_fail_at(__FILE__, __LINE__, "%s: %s", rt_op_table[o].name, err);
    return id;
}

static ir_id un(ir_graph *g, rt_op o, ir_id x) { return op(g, o, NULL, x, -1, -1); }
static ir_id bin(ir_graph *g, rt_op o, ir_id x, ir_id y) { return op(g, o, NULL, x, y, -1); }

static ir_id reduce(ir_graph *g, rt_op o, ir_id x, unsigned axes)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.axes = axes;
    return op(g, o, &a, x, -1, -1);
}

static ir_id konst(ir_graph *g, double v)
{
    rt_type t = {.dtype = RT_F32, .rank = 0};
    return ir_add_const(g, &t, v, nowhere);
}

/* x, y [2,3,5,7,9]; c [3,1,1,1] per channel; r [9] along the last axis. */
static ir_graph *elementwise_graph(void)
{
    ir_graph *g = ir_graph_new("fuse");
    const int64_t d[5] = {2, 3, 5, 7, 9}, dc[4] = {3, 1, 1, 1}, dr[1] = {9};
    rt_type xt = ftype(5, d), ct = ftype(4, dc), rt = ftype(1, dr);
    ir_id x = ir_add_input(g, "x", &xt, nowhere), y = ir_add_input(g, "y", &xt, nowhere);
    ir_id c = ir_add_input(g, "c", &ct, nowhere), r = ir_add_input(g, "r", &rt, nowhere);
    /* relu backward + bias gradient, as autodiff writes them */
    ir_id mask = bin(g, OP_GT, un(g, OP_RELU, x), konst(g, 0));
    ir_id dx = op(g, OP_WHERE, NULL, mask, y, konst(g, 0));
    ir_add_output(g, "dx", dx);
    ir_add_output(g, "db", reduce(g, OP_SUM, dx, 1u | 4u | 8u | 16u));
    /* a chain through every unary op, with broadcast operands */
    ir_id s = un(g, OP_SIGMOID, bin(g, OP_ADD, x, c));
    ir_id t = bin(g, OP_MUL, un(g, OP_TANH, y), un(g, OP_EXP, bin(g, OP_MUL, x, konst(g, 0.5))));
    ir_id l = un(g, OP_LOG, bin(g, OP_ADD, un(g, OP_ABS, y), konst(g, 1e-3)));
    ir_id q = un(g, OP_SQRT, bin(g, OP_MAXIMUM, un(g, OP_ERF, x), konst(g, 0)));
    rt_attrs a;
    rt_attrs_init(&a);
    a.alpha = 0.1f;
    ir_id lk = op(g, OP_LEAKY_RELU, &a, bin(g, OP_SUB, x, r), -1, -1);
    a.lo = -0.5f;
    a.hi = 0.75f;
    ir_id cl = op(g, OP_CLAMP, &a, un(g, OP_NEG, y), -1, -1);
    ir_id pw = bin(g, OP_POW, bin(g, OP_ADD, un(g, OP_ABS, x), konst(g, 0.5)), konst(g, 1.5));
    ir_id mn = bin(g, OP_MINIMUM, bin(g, OP_DIV, s, bin(g, OP_ADD, pw, konst(g, 1))), l);
    ir_id sum = bin(g, OP_ADD, bin(g, OP_ADD, bin(g, OP_ADD, t, q), bin(g, OP_ADD, lk, cl)), mn);
    ir_add_output(g, "chain", sum);
    ir_add_output(g, "chain_mean", reduce(g, OP_MEAN, sum, 0));
    ir_add_output(g, "batch_sum", reduce(g, OP_SUM, bin(g, OP_MUL, x, y), 1u));
    ir_add_output(g, "le", bin(g, OP_LE, x, c));
    return g;
}

static void fill(rt_tensor *t, uint64_t seed, int with_nan)
{
    float *p = rt_f32(t);
    int64_t n = rt_type_numel(&t->type);
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)((double)(seed >> 40) / (double)(1ull << 24) * 4.0 - 2.0);
        if (with_nan && i % 37 == 5)
            p[i] = NAN;
    }
}

static rt_interp *make_interp(const rt_program *p, int threads, int with_nan)
{
    rt_interp *it = rt_interp_new(p, 1, threads);
    const char *names[4] = {"x", "y", "c", "r"};
    for (int k = 0; k < 4; k++)
        fill(rt_interp_value(it, names[k]), 11 + (uint64_t)k, with_nan && k == 0);
    return it;
}

static int run(rt_interp *it)
{
    rt_error err = {""};
    int rc = rt_interp_run(it, 0, &err);
    if (rc)
        printf("    run: %s\n", err.msg);
    CHECK_INT(rc, 0);
    return rc;
}

static int same_bits(const rt_tensor *a, const rt_tensor *b)
{
    size_t n = (size_t)rt_type_numel(&a->type) * rt_dtype_size(a->type.dtype);
    return rt_type_equal(&a->type, &b->type) && memcmp(a->data, b->data, n) == 0;
}

/* Within rel of b, relative to the larger of 1 and |b| (NaN must match). */
static int close_to(const rt_tensor *a, const rt_tensor *b, double rel, const char *name)
{
    if (a->type.dtype != RT_F32)
        return same_bits(a, b);
    const float *x = rt_f32(a), *y = rt_f32(b);
    for (int64_t i = 0, n = rt_type_numel(&a->type); i < n; i++) {
        double s = fabs(y[i]) > 1 ? fabs(y[i]) : 1;
        if (isnan(x[i]) != isnan(y[i]) || (!isnan(y[i]) && fabs(x[i] - y[i]) > rel * s)) {
            printf("    %s[%lld]: %.9g vs %.9g\n", name, (long long)i, x[i], y[i]);
            return 0;
        }
    }
    return 1;
}

static const char *outputs[] = {"dx", "db", "chain", "chain_mean", "batch_sum", "le"};

static void check_graph(int with_nan)
{
    ir_graph *g = elementwise_graph();
    rt_program *p = ir_lower(g);
    fuse_stats st;
    rt_program *q = fuse_program(p, &st);
    CHECK(st.groups >= 6 && st.instrs_after < st.instrs_before);
    rt_error err = {""};
    jit_program *jp = jit_program_build(q, NULL, &err);
    CHECK(jp != NULL);
    if (!jp) {
        printf("    %s\n", err.msg);
        goto done;
    }
    CHECK_INT(jit_program_stats_of(jp)->groups_jit, jit_program_stats_of(jp)->groups);
    rt_interp *ref = make_interp(p, 1, with_nan), *fref = make_interp(q, 1, with_nan);
    rt_interp *j1 = make_interp(q, 1, with_nan), *j2 = make_interp(q, 2, with_nan);
    rt_interp_set_kernels(j1, jit_program_table(jp));
    rt_interp_set_kernels(j2, jit_program_table(jp));
    if (!run(ref) && !run(fref) && !run(j1) && !run(j2))
        for (size_t k = 0; k < sizeof outputs / sizeof *outputs; k++) {
            const char *n = outputs[k];
            rt_tensor *r = rt_interp_output(ref, n);
            CHECK(same_bits(rt_interp_output(fref, n), r));
            CHECK(close_to(rt_interp_output(j1, n), r, 1e-4, n));
            CHECK(same_bits(rt_interp_output(j1, n), rt_interp_output(j2, n)));
        }
    rt_interp_free(ref);
    rt_interp_free(fref);
    rt_interp_free(j1);
    rt_interp_free(j2);
    jit_program_free(jp);
done:
    rt_program_free(q);
    rt_program_free(p);
    ir_graph_free(g);
}

TEST(fuse_pattern_lattice)
{
    CHECK_INT(fuse_pattern_of(OP_ADD), FUSE_ELEMWISE);
    CHECK_INT(fuse_pattern_of(OP_WHERE), FUSE_ELEMWISE);
    CHECK_INT(fuse_pattern_of(OP_BROADCAST), FUSE_BROADCAST);
    CHECK_INT(fuse_pattern_of(OP_CONST), FUSE_BROADCAST);
    CHECK_INT(fuse_pattern_of(OP_RESHAPE), FUSE_INJECTIVE);
    CHECK_INT(fuse_pattern_of(OP_CONCAT), FUSE_INJECTIVE);
    CHECK_INT(fuse_pattern_of(OP_SUM), FUSE_REDUCE);
    CHECK_INT(fuse_pattern_of(OP_CONV), FUSE_OUT_ELEMWISE);
    CHECK_INT(fuse_pattern_of(OP_MATMUL), FUSE_OUT_ELEMWISE);
    CHECK_INT(fuse_pattern_of(OP_DROPOUT), FUSE_OPAQUE);
    CHECK_INT(fuse_pattern_of(OP_UPSAMPLE), FUSE_OPAQUE);
}

TEST(fuse_groups_and_jit_match_reference)
{
    long live = seg_alloc_live();
    check_graph(0);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(fuse_jit_keeps_nan_semantics)
{
    long live = seg_alloc_live();
    check_graph(1);
    CHECK_INT(seg_alloc_live(), live);
}

/* relu(x) read by the backward's mask and by the loss: the ReLU stays a
 * value (two readers), the mask, where and bias sum fuse; the intermediate
 * values of the groups are never stored. */
TEST(fuse_keeps_shared_values)
{
    long live = seg_alloc_live();
    ir_graph *g = elementwise_graph();
    rt_program *p = ir_lower(g);
    rt_program *q = fuse_program(p, NULL);
    int fused_vals = 0, fused_instrs = 0;
    for (int v = 0; v < q->n_values; v++)
        fused_vals += q->values[v].kind == RT_VAL_FUSED;
    for (int i = 0; i < q->n_instrs; i++) {
        fused_instrs += q->instrs[i].op == OP_FUSED;
        CHECK(q->values[q->instrs[i].out].kind == RT_VAL_TEMP);
    }
    CHECK(fused_vals > 10);
    CHECK(fused_instrs >= 6);
    for (int o = 0; o < q->n_outputs; o++)
        CHECK(q->values[q->outputs[o]].kind == RT_VAL_TEMP);
    rt_program_free(q);
    rt_program_free(p);
    ir_graph_free(g);
    CHECK_INT(seg_alloc_live(), live);
}

/* conv -> batchnorm (inference) -> relu, 2-D and 3-D, with and without a
 * conv bias: the batch norm folds into the conv, the ReLU becomes its
 * epilogue, and the JIT run agrees with the unfused reference. */
static ir_id bn_param(ir_graph *g, const char *name, int64_t c, float lo, float hi)
{
    rt_type t = ftype(1, &c);
    char err[256];
    return ir_add_param(g, name, &t, (rt_init){RT_INIT_UNIFORM, lo, hi}, 0, nowhere, err, sizeof err);
}

static ir_graph *bn_graph(int nsp, int bias)
{
    ir_graph *g = ir_graph_new("bn");
    int64_t d[5] = {2, 5, 9, 7, 6}, wd[5] = {19, 5, 3, 3, 3};
    rt_type xt = ftype(2 + nsp, d), wt = ftype(2 + nsp, wd);
    char err[256];
    ir_id x = ir_add_input(g, "x", &xt, nowhere);
    ir_id w = ir_add_param(g, "w", &wt, (rt_init){RT_INIT_UNIFORM, -0.3f, 0.3f}, 0, nowhere, err, sizeof err);
    rt_attrs a;
    rt_attrs_init(&a);
    for (int i = 0; i < 3; i++)
        a.pad[i] = 1;
    ir_id c = bias ? op(g, OP_CONV, &a, x, w, bn_param(g, "b", 19, -0.2f, 0.2f)) : op(g, OP_CONV, &a, x, w, -1);
    rt_attrs bn;
    rt_attrs_init(&bn);
    bn.eps = 1e-5f;
    ir_id in[5] = {c, bn_param(g, "gamma", 19, 0.5f, 1.5f), bn_param(g, "beta", 19, -0.5f, 0.5f),
                   bn_param(g, "mean", 19, -0.5f, 0.5f), bn_param(g, "var", 19, 0.2f, 2.0f)};
    ir_id y = ir_add_op(g, OP_BATCHNORM, &bn, in, 5, NULL, nowhere, err, sizeof err);
    if (y < 0)
        test_fail_at(__FILE__, __LINE__, "batchnorm: %s", err);
    ir_add_output(g, "y", un(g, OP_RELU, y));
    return g;
}

/* Output y of the fused program q on JIT kernels (every conv on one)
 * against the unfused p on the reference; inputs x (and c with residual). */
static void check_jit_output(const rt_program *p, const rt_program *q, int residual)
{
    rt_error err = {""};
    jit_program *jp = jit_program_build(q, NULL, &err);
    CHECK(jp != NULL);
    if (!jp)
        return;
    CHECK_INT(jit_program_stats_of(jp)->kernels, jit_program_stats_of(jp)->convs);
    rt_interp *ref = rt_interp_new(p, 3, 1), *jit = rt_interp_new(q, 3, 2);
    for (int k = 0; k < 2; k++) {
        fill(rt_interp_value(k ? jit : ref, "x"), 5, 0);
        if (residual)
            fill(rt_interp_value(k ? jit : ref, "c"), 6, 0);
    }
    rt_interp_set_kernels(jit, jit_program_table(jp));
    if (!run(ref) && !run(jit))
        CHECK(close_to(rt_interp_output(jit, "y"), rt_interp_output(ref, "y"), 1e-4, "y"));
    rt_interp_free(ref);
    rt_interp_free(jit);
    jit_program_free(jp);
}

/* g as `segc run` compiles it for the JIT (kernels chosen, not built). */
static rt_program *jit_compiled(const ir_graph *g, pipeline_result *pr)
{
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = 1};
    rt_error err = {""};
    CHECK_INT(pipeline_build(g, &po, pr, &err), PIPELINE_OK);
    return pr->prog;
}

static void check_bn_fold(int nsp, int bias)
{
    ir_graph *g = bn_graph(nsp, bias);
    rt_program *p = ir_lower(g);
    pipeline_result pr;
    rt_program *q = jit_compiled(g, &pr);
    CHECK_INT(pr.fuse.bn_folded, 1);
    CHECK_INT(pr.fuse.conv_relus, 1);
    check_jit_output(p, q, 0);
    rt_program_free(p);
    pipeline_result_free(&pr);
    ir_graph_free(g);
}

TEST(fuse_folds_inference_batchnorm_into_conv)
{
    long live = seg_alloc_live();
    check_bn_fold(2, 1);
    check_bn_fold(3, 0);
    CHECK_INT(seg_alloc_live(), live);
}

/* conv (+ bias) + residual (+ relu): the add (and the ReLU) become the
 * conv's epilogue; the JIT run agrees with the unfused reference. */
static void check_residual(int nsp, int bias, int relu)
{
    ir_graph *g = ir_graph_new("res");
    int64_t d[5] = {2, 6, 9, 7, 5}, wd[5] = {17, 6, 3, 3, 3}, od[5] = {2, 17, 9, 7, 5};
    rt_type xt = ftype(2 + nsp, d), wt = ftype(2 + nsp, wd), rt = ftype(2 + nsp, od);
    char err[256];
    ir_id x = ir_add_input(g, "x", &xt, nowhere), r = ir_add_input(g, "c", &rt, nowhere);
    ir_id w = ir_add_param(g, "w", &wt, (rt_init){RT_INIT_UNIFORM, -0.3f, 0.3f}, 0, nowhere, err, sizeof err);
    rt_attrs a;
    rt_attrs_init(&a);
    for (int i = 0; i < 3; i++)
        a.pad[i] = 1;
    ir_id c = bias ? op(g, OP_CONV, &a, x, w, bn_param(g, "b", 17, -0.2f, 0.2f)) : op(g, OP_CONV, &a, x, w, -1);
    ir_id y = bin(g, OP_ADD, r, c);
    ir_add_output(g, "y", relu ? un(g, OP_RELU, y) : y);
    rt_program *p = ir_lower(g);
    pipeline_result pr;
    rt_program *q = jit_compiled(g, &pr);
    CHECK_INT(pr.fuse.residuals, 1);
    CHECK_INT(q->n_instrs, 1);
    check_jit_output(p, q, 1);
    rt_program_free(p);
    pipeline_result_free(&pr);
    ir_graph_free(g);
}

TEST(fuse_residual_add_into_conv)
{
    long live = seg_alloc_live();
    check_residual(3, 1, 1);
    check_residual(2, 0, 1);
    check_residual(2, 1, 0);
    CHECK_INT(seg_alloc_live(), live);
}

/* conv -> batch norm (inference) -> ReLU whose ReLU has one reader, an
 * elementwise or broadcast op, the way DeepLabV3's ASPP image pooling
 * broadcasts its 1 x 1 feature back over the map. Once the batch norm is
 * folded the ReLU follows the conv: it is the conv's epilogue and must not
 * also join its reader's group. Checked first: no instruction reads or
 * writes a value that is never stored (a run would dereference a tensor
 * without data); then the fused program on the reference and on JIT
 * kernels (with its memory plan, 1 and 2 threads) against the unfused
 * program, within 1e-4. */
enum { READ_BROADCAST, READ_MUL, READ_ADD };

typedef struct relu_case {
    int nsp;      /* spatial axes */
    int64_t n;    /* batch */
    int pooled;   /* x [n, 6, 5, 4(, 3)] through global_avgpool: a 1 x 1 conv input */
    int k;        /* conv kernel size, padding k / 2; k = 1 and not pooled: x is 1 x 1 */
    int bias;     /* the conv has a bias */
    int residual; /* + c before the ReLU (c has the conv's type) */
    int reader;   /* READ_*: the ReLU's reader (add: + c2, like the ReLU) */
} relu_case;

static ir_graph *relu_reader_graph(const relu_case *rc)
{
    ir_graph *g = ir_graph_new("relu_reader");
    int r = 2 + rc->nsp, one = !rc->pooled && rc->k == 1;
    int64_t d[5] = {rc->n, 6, 5, 4, 3}, wd[5] = {11, 6, rc->k, rc->k, rc->k};
    int64_t cd[5] = {rc->n, 11, 5, 4, 3}, pd[5] = {rc->n, 11, 1, 1, 1};
    for (int s = 2; one && s < 5; s++)
        d[s] = cd[s] = 1;
    rt_type xt = ftype(r, d), wt = ftype(r, wd), map = ftype(r, cd);
    rt_type yt = rc->pooled ? ftype(r, pd) : map; /* the conv's result */
    char err[256];
    ir_id x = ir_add_input(g, "x", &xt, nowhere);
    ir_id w = ir_add_param(g, "w", &wt, (rt_init){RT_INIT_UNIFORM, -0.3f, 0.3f}, 0, nowhere, err, sizeof err);
    rt_attrs a;
    rt_attrs_init(&a);
    for (int s = 0; s < 3; s++)
        a.pad[s] = rc->k / 2;
    ir_id h = rc->pooled ? un(g, OP_GLOBAL_AVGPOOL, x) : x;
    h = rc->bias ? op(g, OP_CONV, &a, h, w, bn_param(g, "b", 11, -0.2f, 0.2f)) : op(g, OP_CONV, &a, h, w, -1);
    rt_attrs bn;
    rt_attrs_init(&bn);
    bn.eps = 1e-5f;
    ir_id in[5] = {h, bn_param(g, "gamma", 11, 0.5f, 1.5f), bn_param(g, "beta", 11, -0.5f, 0.5f),
                   bn_param(g, "mean", 11, -0.5f, 0.5f), bn_param(g, "var", 11, 0.2f, 2.0f)};
    h = ir_add_op(g, OP_BATCHNORM, &bn, in, 5, NULL, nowhere, err, sizeof err);
    if (h < 0)
        test_fail_at(__FILE__, __LINE__, "batchnorm: %s", err);
    if (rc->residual)
        h = bin(g, OP_ADD, h, ir_add_input(g, "c", &yt, nowhere));
    h = un(g, OP_RELU, h);
    if (rc->reader == READ_BROADCAST)
        h = ir_add_op(g, OP_BROADCAST, NULL, &h, 1, &map, nowhere, err, sizeof err);
    else if (rc->reader == READ_MUL)
        h = bin(g, OP_MUL, h, konst(g, 0.5));
    else
        h = bin(g, OP_ADD, h, ir_add_input(g, "c2", &yt, nowhere));
    if (h < 0)
        test_fail_at(__FILE__, __LINE__, "reader: %s", err);
    ir_add_output(g, "y", h);
    return g;
}

/* Instructions of q reading or writing a value that is never stored. */
static int unstored_operands(const rt_program *q, int case_no)
{
    int bad = 0;
    for (int i = 0; i < q->n_instrs; i++) {
        const rt_instr *ins = &q->instrs[i];
        int hit = q->values[ins->out].kind == RT_VAL_FUSED;
        for (int k = 0; k < ins->n_in; k++)
            hit |= q->values[ins->in[k]].kind == RT_VAL_FUSED;
        if (hit)
            printf("    case %d: #%d %s touches a value that is never stored\n", case_no, i,
                   rt_op_table[ins->op].name);
        bad += hit;
    }
    return bad;
}

static void fill_named(rt_interp *it, const char *name, uint64_t seed)
{
    rt_tensor *t = rt_interp_value(it, name);
    if (t)
        fill(t, seed, 0);
}

static void check_relu_reader(const relu_case *rc, int case_no)
{
    ir_graph *g = relu_reader_graph(rc);
    rt_program *p = ir_lower(g);
    pipeline_result pr;
    rt_program *q = jit_compiled(g, &pr);
    fuse_stats st = pr.fuse;
    CHECK_INT(st.bn_folded, 1);
    CHECK_INT(st.conv_relus, !rc->residual); /* with a residual the ReLU is in the add's group */
    int unstored = unstored_operands(q, case_no);
    CHECK_INT(unstored, 0);
    rt_error err = {""};
    jit_program *jp = unstored ? NULL : jit_program_build(q, NULL, &err);
    if (jp) {
        CHECK_INT(jit_program_stats_of(jp)->kernels, jit_program_stats_of(jp)->convs);
        CHECK_INT(jit_program_stats_of(jp)->groups_jit, jit_program_stats_of(jp)->groups);
        rt_interp *it[4] = {rt_interp_new(p, 3, 1), rt_interp_new(q, 3, 1), rt_interp_new(q, 3, 1),
                            rt_interp_new(q, 3, 2)}; /* reference, fused reference, JIT x 2 */
        for (int k = 0; k < 4; k++) {
            fill_named(it[k], "x", 5);
            fill_named(it[k], "c", 6);
            fill_named(it[k], "c2", 7);
        }
        rt_interp_set_kernels(it[2], jit_program_table(jp));
        rt_interp_set_kernels(it[3], jit_program_table(jp));
        if (!run(it[0]) && !run(it[1]) && !run(it[2]) && !run(it[3])) {
            rt_tensor *want = rt_interp_output(it[0], "y");
            CHECK(close_to(rt_interp_output(it[1], "y"), want, 1e-4, "y (fused reference)"));
            CHECK(close_to(rt_interp_output(it[2], "y"), want, 1e-4, "y (JIT)"));
            CHECK(same_bits(rt_interp_output(it[2], "y"), rt_interp_output(it[3], "y")));
        }
        for (int k = 0; k < 4; k++)
            rt_interp_free(it[k]);
        jit_program_free(jp);
    } else if (!unstored) {
        printf("    %s\n", err.msg);
        CHECK(jp != NULL);
    }
    rt_program_free(p);
    pipeline_result_free(&pr);
    ir_graph_free(g);
}

TEST(fuse_folded_conv_relu_with_an_elementwise_reader)
{
    long live = seg_alloc_live();
    static const relu_case cases[] = {
        {2, 8, 1, 1, 0, 0, READ_BROADCAST}, /* cct2d's ASPP image pooling, its batch of 8 */
        {3, 2, 1, 1, 1, 0, READ_BROADCAST}, /* 3-D: 1 x 1 x 1 */
        {2, 1, 0, 1, 0, 0, READ_MUL},       /* a 1 x 1 input, batch 1 */
        {3, 3, 0, 1, 1, 0, READ_ADD},       /* 1 x 1 x 1 input, a residual after the ReLU */
        {2, 2, 0, 3, 1, 0, READ_MUL},       /* not only 1 x 1: any map */
        {3, 2, 0, 3, 0, 0, READ_ADD},
        {2, 3, 1, 1, 1, 1, READ_BROADCAST}, /* a residual before the ReLU */
        {2, 2, 0, 3, 0, 1, READ_MUL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        check_relu_reader(&cases[k], (int)k);
    CHECK_INT(seg_alloc_live(), live);
}
