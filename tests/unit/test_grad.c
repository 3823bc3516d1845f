/* test_grad.c — every op's derivative against central finite differences.
 *
 * Each case builds a tiny graph over trainable parameters p0, p1, ...,
 * forms loss = sum(op(...) * R) with a fixed random R (so every output
 * element matters with a different weight), differentiates it with
 * ir_autodiff, runs it in the reference interpreter and compares each
 * analytic gradient element with (L(p + h) - L(p - h)) / 2h.
 *
 * Inputs of ops with kinks (relu, abs, clamp, max, pools) are pushed away
 * from the kinks so the finite difference is meaningful in f32.
 */
#include "test.h"
#include "compiler/compiler.h"

#include <math.h>
#include <string.h>

enum { MAX_P = 4 };

typedef struct gcase {
    const char *label;
    int n_p;
    rt_type p[MAX_P];             /* parameter types */
    ir_id (*build)(ir_graph *g, const ir_id *p);
    int away_from_zero;           /* |p| in [0.2, 1] instead of [-1, 1] */
    int positive;                 /* p in [0.5, 1.5] (log, sqrt, pow, div) */
    double tol;
} gcase;

static rt_type T(int rank, int d0, int d1, int d2, int d3, int d4)
{
    rt_type t = {.dtype = RT_F32, .rank = rank, .dim = {d0, d1, d2, d3, d4}};
    return t;
}

static ir_id op_(ir_graph *g, rt_op op, const rt_attrs *a, const ir_id *in, int n, const rt_type *want)
{
    char err[256];
    rt_attrs def;
    if (!a) {
        rt_attrs_init(&def);
        a = &def;
    }
    seg_span s = {0};
    ir_id id = ir_add_op(g, op, a, in, n, want, s, err, sizeof err);
    if (id < 0)
        test_fail_at(__FILE__, __LINE__, "building %s: %s", rt_op_table[op].name, err);
    return id;
}

static ir_id un(ir_graph *g, rt_op op, ir_id x) { return op_(g, op, NULL, &x, 1, NULL); }
static ir_id bin(ir_graph *g, rt_op op, ir_id a, ir_id b)
{
    ir_id in[2] = {a, b};
    return op_(g, op, NULL, in, 2, NULL);
}

/* Fill parameters with values suited to the case. */
static void prepare(const gcase *gc, rt_interp *it)
{
    for (int k = 0; k < gc->n_p; k++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", k);
        rt_tensor *t = rt_interp_value(it, name);
        float *x = rt_f32(t);
        int64_t n = rt_type_numel(&t->type);
        for (int64_t i = 0; i < n; i++) {
            float u = rt_rand_uniform01(99, (uint32_t)k, 0, (uint64_t)i);
            if (gc->positive)
                x[i] = 0.5f + u;
            else if (gc->away_from_zero)
                x[i] = (0.2f + 0.8f * u) * ((i * 7 + k) % 3 ? 1.f : -1.f);
            else
                x[i] = 2 * u - 1;
        }
    }
}

static double run_loss(rt_interp *it)
{
    rt_error err = {{0}};
    if (rt_interp_run(it, 0, &err) < 0) {
        test_fail_at(__FILE__, __LINE__, "run: %s", err.msg);
        return NAN;
    }
    return rt_f32(rt_interp_output(it, "loss"))[0];
}

/* Finite differences on up to 24 elements of each parameter. */
static void compare(const gcase *gc, rt_interp *it)
{
    const double h = 1e-2;
    for (int k = 0; k < gc->n_p; k++) {
        char name[16], gname[16];
        snprintf(name, sizeof name, "p%d", k);
        snprintf(gname, sizeof gname, "g%d", k);
        rt_tensor *p = rt_interp_value(it, name);
        int64_t n = rt_type_numel(&p->type), stride = n > 24 ? n / 24 : 1;
        run_loss(it);
        rt_tensor *gt = rt_interp_output(it, gname);
        float *an = seg_xcalloc((size_t)n, sizeof *an);
        if (gt)
            memcpy(an, gt->data, (size_t)n * sizeof *an);
        for (int64_t i = 0; i < n; i += stride) {
            float keep = rt_f32(p)[i];
            rt_f32(p)[i] = keep + (float)h;
            double lp = run_loss(it);
            rt_f32(p)[i] = keep - (float)h;
            double lm = run_loss(it);
            rt_f32(p)[i] = keep;
            double fd = (lp - lm) / (2 * h);
            double scale = fabs(fd) > 1 ? fabs(fd) : 1;
            if (!(fabs(fd - an[i]) <= gc->tol * scale)) {
                test_fail_at(__FILE__, __LINE__, "%s: d/d%s[%lld] analytic %.6g, numeric %.6g",
                             gc->label, name, (long long)i, an[i], fd);
                break;
            }
        }
        seg_free(an);
    }
}

static void gradcheck(const gcase *gc)
{
    ir_graph *g = ir_graph_new(gc->label);
    ir_id p[MAX_P];
    char err[256];
    seg_span s = {0};
    for (int k = 0; k < gc->n_p; k++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", k);
        rt_init init = {RT_INIT_UNIFORM, -1, 1};
        p[k] = ir_add_param(g, name, &gc->p[k], init, 0, s, err, sizeof err);
    }
    ir_id y = gc->build(g, p);
    rt_attrs a;
    rt_attrs_init(&a);
    a.lo = -1, a.hi = 1, a.seed = 7;
    rt_type yt = g->nodes[y].type;
    ir_id r = op_(g, OP_RAND_UNIFORM, &a, NULL, 0, &yt);
    rt_attrs_init(&a);
    ir_id prod = bin(g, OP_MUL, y, r);
    ir_id loss = op_(g, OP_SUM, &a, &prod, 1, NULL);
    ir_id *grads = seg_xcalloc((size_t)g->n_nodes, sizeof *grads);
    if (ir_autodiff(g, loss, grads, NULL, err, sizeof err) < 0) {
        test_fail_at(__FILE__, __LINE__, "%s: autodiff: %s", gc->label, err);
    } else {
        ir_add_output(g, "loss", loss);
        for (int k = 0; k < gc->n_p; k++) {
            char gname[16];
            snprintf(gname, sizeof gname, "g%d", k);
            if (grads[p[k]] >= 0)
                ir_add_output(g, gname, grads[p[k]]);
        }
        rt_program *prog = ir_lower(g);
        rt_interp *it = rt_interp_new(prog, 1, 1);
        prepare(gc, it);
        compare(gc, it);
        rt_interp_free(it);
        rt_program_free(prog);
    }
    seg_free(grads);
    ir_graph_free(g);
}

/* ------------------------------------------------------------ cases */

static ir_id b_conv2d(ir_graph *g, const ir_id *p)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 2, a.stride[0] = 2, a.stride[1] = 1, a.pad[0] = a.pad[1] = 1;
    a.kernel[0] = a.kernel[1] = 3;
    return op_(g, OP_CONV, &a, p, 3, NULL);
}

static ir_id b_conv3d_dil_groups(ir_graph *g, const ir_id *p)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 3, a.groups = 2;
    for (int i = 0; i < 3; i++)
        a.kernel[i] = 3, a.pad[i] = 2, a.dilation[i] = 2;
    return op_(g, OP_CONV, &a, p, 2, NULL);
}

static ir_id b_conv_t2d(ir_graph *g, const ir_id *p)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 2;
    for (int i = 0; i < 2; i++)
        a.kernel[i] = 3, a.stride[i] = 2, a.pad[i] = 1, a.out_pad[i] = 1;
    return op_(g, OP_CONV_T, &a, p, 3, NULL);
}

static ir_id b_pool(ir_graph *g, const ir_id *p, rt_op op)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 2;
    for (int i = 0; i < 2; i++)
        a.kernel[i] = 2, a.stride[i] = 2;
    return op_(g, op, &a, p, 1, NULL);
}
static ir_id b_maxpool(ir_graph *g, const ir_id *p) { return b_pool(g, p, OP_MAXPOOL); }
static ir_id b_avgpool(ir_graph *g, const ir_id *p) { return b_pool(g, p, OP_AVGPOOL); }
static ir_id b_gap(ir_graph *g, const ir_id *p) { return un(g, OP_GLOBAL_AVGPOOL, p[0]); }

static ir_id b_upsample(ir_graph *g, const ir_id *p, int mode, int nsp)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = nsp, a.mode = mode;
    rt_type t = g->nodes[p[0]].type;
    for (int i = 2; i < t.rank; i++)
        t.dim[i] = t.dim[i] * 2 + (i == 2); /* one axis not an exact x2 */
    return op_(g, OP_UPSAMPLE, &a, p, 1, &t);
}
static ir_id b_up_nearest(ir_graph *g, const ir_id *p) { return b_upsample(g, p, RT_UP_NEAREST, 2); }
static ir_id b_up_linear3(ir_graph *g, const ir_id *p) { return b_upsample(g, p, RT_UP_LINEAR, 3); }

static ir_id b_bn(ir_graph *g, const ir_id *p, int training)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.training = training;
    char err[128];
    seg_span s = {0};
    rt_type c = T(1, 3, 0, 0, 0, 0);
    rt_init zero = {RT_INIT_CONST, 0, 0}, one = {RT_INIT_CONST, 1, 0};
    ir_id in[5] = {p[0], p[1], p[2],
                   ir_add_param(g, "rm", &c, zero, 1, s, err, sizeof err),
                   ir_add_param(g, "rv", &c, one, 1, s, err, sizeof err)};
    return op_(g, OP_BATCHNORM, &a, in, 5, NULL);
}
static ir_id b_bn_train(ir_graph *g, const ir_id *p) { return b_bn(g, p, 1); }
static ir_id b_bn_eval(ir_graph *g, const ir_id *p) { return b_bn(g, p, 0); }

static ir_id b_dropout(ir_graph *g, const ir_id *p)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.training = 1, a.p = 0.3f, a.seed = 5;
    return op_(g, OP_DROPOUT, &a, p, 1, NULL);
}

static ir_id b_concat_slice(ir_graph *g, const ir_id *p)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.axis = 1;
    ir_id c = op_(g, OP_CONCAT, &a, p, 2, NULL);
    rt_attrs_init(&a);
    rt_type t = g->nodes[c].type;
    for (int i = 0; i < t.rank; i++)
        a.begin[i] = 0, a.end[i] = t.dim[i];
    a.begin[2] = 1, a.step[2] = 2;
    return op_(g, OP_SLICE, &a, &c, 1, NULL);
}

static ir_id b_reshape_permute(ir_graph *g, const ir_id *p)
{
    rt_type t = T(3, 4, 3, 2, 0, 0);
    ir_id r = op_(g, OP_RESHAPE, NULL, p, 1, &t);
    rt_attrs a;
    rt_attrs_init(&a);
    a.perm[0] = 2, a.perm[1] = 0, a.perm[2] = 1;
    return op_(g, OP_PERMUTE, &a, &r, 1, NULL);
}

static ir_id b_broadcast(ir_graph *g, const ir_id *p)
{
    rt_type t = T(3, 2, 3, 4, 0, 0);
    return op_(g, OP_BROADCAST, NULL, p, 1, &t);
}

static ir_id b_arith(ir_graph *g, const ir_id *p)
{
    /* broadcasting: p0 [2,3,4], p1 [3,1] */
    ir_id s = bin(g, OP_ADD, p[0], p[1]);
    ir_id d = bin(g, OP_SUB, s, p[1]);
    ir_id m = bin(g, OP_MUL, d, p[1]);
    return bin(g, OP_DIV, m, bin(g, OP_ADD, p[1], p[1]));
}

static ir_id b_pow(ir_graph *g, const ir_id *p) { return bin(g, OP_POW, p[0], p[1]); }
static ir_id b_minmax(ir_graph *g, const ir_id *p)
{
    return bin(g, OP_ADD, bin(g, OP_MINIMUM, p[0], p[1]), bin(g, OP_MAXIMUM, p[0], p[1]));
}

static ir_id b_where(ir_graph *g, const ir_id *p)
{
    ir_id c = bin(g, OP_GT, p[0], p[1]);
    ir_id in[3] = {c, p[0], p[1]};
    return op_(g, OP_WHERE, NULL, in, 3, NULL);
}

static ir_id b_unary_smooth(ir_graph *g, const ir_id *p)
{
    ir_id x = p[0];
    ir_id s = bin(g, OP_ADD, un(g, OP_SIGMOID, x), un(g, OP_TANH, x));
    s = bin(g, OP_ADD, s, un(g, OP_EXP, x));
    s = bin(g, OP_ADD, s, un(g, OP_ERF, x));
    return bin(g, OP_ADD, s, un(g, OP_NEG, x));
}

static ir_id b_unary_positive(ir_graph *g, const ir_id *p)
{
    return bin(g, OP_ADD, un(g, OP_LOG, p[0]), un(g, OP_SQRT, p[0]));
}

static ir_id b_unary_kinks(ir_graph *g, const ir_id *p)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.alpha = 0.1f;
    ir_id x = p[0];
    ir_id s = bin(g, OP_ADD, un(g, OP_RELU, x), un(g, OP_ABS, x));
    s = bin(g, OP_ADD, s, op_(g, OP_LEAKY_RELU, &a, &x, 1, NULL));
    a.lo = -0.5f, a.hi = 0.5f;
    return bin(g, OP_ADD, s, op_(g, OP_CLAMP, &a, &x, 1, NULL));
}

static ir_id b_reduce(ir_graph *g, const ir_id *p, rt_op op, unsigned axes, int keep)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.axes = axes, a.keepdim = keep;
    return op_(g, op, &a, p, 1, NULL);
}
static ir_id b_sum(ir_graph *g, const ir_id *p) { return b_reduce(g, p, OP_SUM, 5, 0); }
static ir_id b_mean(ir_graph *g, const ir_id *p) { return b_reduce(g, p, OP_MEAN, 2, 1); }
static ir_id b_max(ir_graph *g, const ir_id *p) { return b_reduce(g, p, OP_MAX, 6, 0); }

static ir_id b_softmax(ir_graph *g, const ir_id *p, rt_op op)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.axis = 1;
    return op_(g, op, &a, p, 1, NULL);
}
static ir_id b_sm(ir_graph *g, const ir_id *p) { return b_softmax(g, p, OP_SOFTMAX); }
static ir_id b_lsm(ir_graph *g, const ir_id *p) { return b_softmax(g, p, OP_LOG_SOFTMAX); }
static ir_id b_matmul(ir_graph *g, const ir_id *p) { return bin(g, OP_MATMUL, p[0], p[1]); }

/* grad inside the forward graph: d/dp1 of sum(grad(sum(p0^3 * p1), p0) * R).
 * grad's result is a constant for the outer differentiation, so the
 * expected outer gradient w.r.t. p1 is zero, and the inner value is
 * checked through the loss itself (3 p0^2 p1). */
static ir_id b_grad(ir_graph *g, const ir_id *p)
{
    ir_id cube = bin(g, OP_MUL, bin(g, OP_MUL, p[0], p[0]), p[0]);
    ir_id y = bin(g, OP_MUL, cube, p[1]);
    return bin(g, OP_GRAD, y, p[0]);
}

#define GC(name, ...)                         \
    TEST(grad_##name)                         \
    {                                         \
        gcase gc = {#name, __VA_ARGS__};      \
        gradcheck(&gc);                       \
    }

GC(conv2d_stride_pad, 3, {T(4, 2, 3, 5, 6, 0), T(4, 4, 3, 3, 3, 0), T(1, 4, 0, 0, 0, 0)}, b_conv2d, 0, 0, 2e-2)
GC(conv3d_dilation_groups, 2, {T(5, 1, 4, 5, 4, 6), T(5, 6, 2, 3, 3, 3)}, b_conv3d_dil_groups, 0, 0, 2e-2)
GC(conv_t2d_stride2, 3, {T(4, 2, 3, 3, 4, 0), T(4, 3, 2, 3, 3, 0), T(1, 2, 0, 0, 0, 0)}, b_conv_t2d, 0, 0, 2e-2)
GC(maxpool2d, 1, {T(4, 2, 2, 4, 6, 0)}, b_maxpool, 1, 0, 2e-2)
GC(avgpool2d, 1, {T(4, 2, 2, 4, 6, 0)}, b_avgpool, 0, 0, 2e-2)
GC(global_avgpool, 1, {T(4, 2, 3, 3, 5, 0)}, b_gap, 0, 0, 2e-2)
GC(upsample_nearest2d, 1, {T(4, 1, 2, 3, 4, 0)}, b_up_nearest, 0, 0, 2e-2)
GC(upsample_trilinear, 1, {T(5, 1, 2, 3, 2, 3)}, b_up_linear3, 0, 0, 2e-2)
GC(batchnorm_train, 3, {T(4, 2, 3, 3, 4, 0), T(1, 3, 0, 0, 0, 0), T(1, 3, 0, 0, 0, 0)}, b_bn_train, 0, 0, 3e-2)
GC(batchnorm_eval, 3, {T(4, 2, 3, 3, 4, 0), T(1, 3, 0, 0, 0, 0), T(1, 3, 0, 0, 0, 0)}, b_bn_eval, 0, 0, 2e-2)
GC(dropout, 1, {T(4, 2, 3, 4, 5, 0)}, b_dropout, 0, 0, 2e-2)
GC(concat_slice, 2, {T(4, 2, 3, 5, 2, 0), T(4, 2, 1, 5, 2, 0)}, b_concat_slice, 0, 0, 2e-2)
GC(reshape_permute, 1, {T(2, 6, 4, 0, 0, 0)}, b_reshape_permute, 0, 0, 2e-2)
GC(broadcast, 1, {T(2, 3, 1, 0, 0, 0)}, b_broadcast, 0, 0, 2e-2)
GC(add_sub_mul_div_broadcast, 2, {T(3, 2, 3, 4, 0, 0), T(2, 3, 1, 0, 0, 0)}, b_arith, 0, 1, 2e-2)
GC(pow, 2, {T(2, 3, 4, 0, 0, 0), T(2, 3, 4, 0, 0, 0)}, b_pow, 0, 1, 2e-2)
GC(minimum_maximum, 2, {T(2, 3, 4, 0, 0, 0), T(2, 3, 4, 0, 0, 0)}, b_minmax, 0, 0, 2e-2)
GC(where, 2, {T(2, 3, 4, 0, 0, 0), T(2, 3, 4, 0, 0, 0)}, b_where, 0, 0, 2e-2)
GC(sigmoid_tanh_exp_erf_neg, 1, {T(2, 3, 4, 0, 0, 0)}, b_unary_smooth, 0, 0, 2e-2)
GC(log_sqrt, 1, {T(2, 3, 4, 0, 0, 0)}, b_unary_positive, 0, 1, 2e-2)
GC(relu_abs_leaky_clamp, 1, {T(2, 3, 4, 0, 0, 0)}, b_unary_kinks, 1, 0, 2e-2)
GC(sum_axes, 1, {T(3, 2, 3, 4, 0, 0)}, b_sum, 0, 0, 2e-2)
GC(mean_keepdim, 1, {T(3, 2, 3, 4, 0, 0)}, b_mean, 0, 0, 2e-2)
GC(max_reduce, 1, {T(3, 2, 3, 4, 0, 0)}, b_max, 1, 0, 2e-2)
GC(softmax, 1, {T(3, 2, 4, 3, 0, 0)}, b_sm, 0, 0, 2e-2)
GC(log_softmax, 1, {T(3, 2, 4, 3, 0, 0)}, b_lsm, 0, 0, 2e-2)
GC(matmul_batched, 2, {T(3, 2, 3, 4, 0, 0), T(3, 2, 4, 5, 0, 0)}, b_matmul, 0, 0, 2e-2)

/* grad(): expanded in place; the outer gradient treats it as constant. */
TEST(grad_op_expansion_value)
{
    ir_graph *g = ir_graph_new("gradop");
    char err[256];
    seg_span s = {0};
    rt_type t = T(1, 5, 0, 0, 0, 0);
    rt_init init = {RT_INIT_UNIFORM, -1, 1};
    ir_id p[2] = {ir_add_param(g, "p0", &t, init, 0, s, err, sizeof err),
                  ir_add_param(g, "p1", &t, init, 0, s, err, sizeof err)};
    ir_add_output(g, "d", b_grad(g, p));
    ir_graph *x = ir_expand_grads(g, NULL, err, sizeof err);
    CHECK(x != NULL);
    if (x) {
        rt_program *prog = ir_lower(x);
        rt_interp *it = rt_interp_new(prog, 3, 1);
        rt_error e = {{0}};
        CHECK_INT(rt_interp_run(it, 0, &e), 0);
        const float *p0 = rt_f32(rt_interp_value(it, "p0")), *p1 = rt_f32(rt_interp_value(it, "p1"));
        const float *d = rt_f32(rt_interp_output(it, "d"));
        for (int i = 0; i < 5; i++)
            CHECK_NEAR(d[i], 3 * p0[i] * p0[i] * p1[i], 1e-5);
        rt_interp_free(it);
        rt_program_free(prog);
        ir_graph_free(x);
    }
    ir_graph_free(g);
}
