/* test_elementwise.c — binary ops with NumPy broadcasting (equal shapes,
 * trailing vectors, both sides broadcast, scalars), comparisons to u8,
 * where, the unary ops against libm, and the NaN / overflow / integer
 * cases PyTorch defines.
 */
#include "tests/ops/ops_test.h"

#include <math.h>

/* Shapes of one broadcasting case: a, b and the result. */
typedef struct bc_case {
    int ra, rb, ro;
    int64_t a[4], b[4], o[4];
} bc_case;

static const bc_case bc_cases[] = {
    {3, 3, 3, {2, 3, 4}, {2, 3, 4}, {2, 3, 4}},
    {3, 1, 3, {2, 3, 4}, {4}, {2, 3, 4}},
    {3, 2, 3, {2, 1, 4}, {3, 1}, {2, 3, 4}},
    {1, 2, 2, {1}, {2, 3}, {2, 3}},
    {0, 2, 2, {0}, {5, 2}, {5, 2}},
    {3, 3, 3, {3, 1, 5}, {1, 4, 1}, {3, 4, 5}},
    {4, 3, 4, {2, 3, 1, 4}, {3, 5, 1}, {2, 3, 5, 4}},
};

static float ref_binary(rt_op op, float a, float b)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_POW: return powf(a, b);
    case OP_MINIMUM: return a < b ? a : b;
    case OP_MAXIMUM: return a > b ? a : b;
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
    case OP_GE: return a >= b;
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    default: return NAN;
    }
}

static void run_binary(rt_op op, const bc_case *bc, uint32_t seed)
{
    rt_attrs at;
    rt_attrs_init(&at);
    int cmp = op >= OP_LT && op <= OP_NE;
    rt_tensor *a = tt_rand(seed, bc->ra, bc->a), *b = tt_rand(seed + 1, bc->rb, bc->b);
    for (int64_t i = 0; i < rt_type_numel(&a->type); i++) /* ties for comparisons, */
        rt_f32(a)[i] = op == OP_POW ? fabsf(rt_f32(a)[i]) + 0.1f : cmp ? roundf(rt_f32(a)[i]) : rt_f32(a)[i];
    for (int64_t i = 0; i < rt_type_numel(&b->type); i++) /* no 0 divisors */
        rt_f32(b)[i] = cmp ? roundf(rt_f32(b)[i]) : rt_f32(b)[i] + (rt_f32(b)[i] >= 0 ? 0.5f : -0.5f);
    rt_tensor *o = tt_new(cmp ? RT_U8 : RT_F32, bc->ro, bc->o), *want = tt_like(o);
    rt_tensor *in[2] = {a, b};
    tt_run(op, &at, in, 2, o);
    for (int64_t i = 0; i < rt_type_numel(&o->type); i++) {
        int64_t idx[4];
        tt_unravel(&o->type, i, idx);
        float r = ref_binary(op, rt_f32(a)[tt_bcast_index(&a->type, bc->ro, idx)],
                             rt_f32(b)[tt_bcast_index(&b->type, bc->ro, idx)]);
        if (cmp)
            rt_u8(want)[i] = (uint8_t)r;
        else
            rt_f32(want)[i] = r;
    }
    CHECK_TENSOR(o, want, 1e-6);
    tt_free(a), tt_free(b), tt_free(o), tt_free(want);
}

TEST(binary_broadcasting_all_ops)
{
    static const rt_op ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_MINIMUM, OP_MAXIMUM,
                                OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        for (size_t c = 0; c < sizeof bc_cases / sizeof bc_cases[0]; c++)
            run_binary(ops[k], &bc_cases[c], (uint32_t)(200 + 10 * k + c));
}

TEST(binary_rejects_bad_broadcast)
{
    rt_attrs at;
    rt_attrs_init(&at);
    rt_tensor *a = TT_NEW(RT_F32, 2, 3), *b = TT_NEW(RT_F32, 4), *o = TT_NEW(RT_F32, 2, 3);
    rt_tensor *in[2] = {a, b};
    CHECK(tt_run_fails(OP_ADD, &at, in, 2, o, "does not broadcast"));
    rt_tensor *b3 = TT_NEW(RT_F32, 3), *ok[2] = {a, b3};
    CHECK(tt_run_fails(OP_LT, &at, ok, 2, o, "comparison result must be u8"));
    tt_free(a), tt_free(b), tt_free(b3), tt_free(o);
}

TEST(binary_nan_and_integers)
{
    rt_attrs at;
    rt_attrs_init(&at);
    rt_tensor *a = TT_NEW(RT_F32, 2), *b = TT_NEW(RT_F32, 2), *o = TT_NEW(RT_F32, 2);
    rt_f32(a)[0] = NAN, rt_f32(a)[1] = 1;
    rt_f32(b)[0] = 1, rt_f32(b)[1] = NAN;
    rt_tensor *in[2] = {a, b};
    tt_run(OP_MAXIMUM, &at, in, 2, o);
    CHECK(isnan(rt_f32(o)[0]) && isnan(rt_f32(o)[1]));
    tt_run(OP_MINIMUM, &at, in, 2, o);
    CHECK(isnan(rt_f32(o)[0]) && isnan(rt_f32(o)[1]));
    rt_tensor *i = TT_NEW(RT_I32, 3), *j = TT_NEW(RT_I32), *io = TT_NEW(RT_I32, 3);
    rt_tensor *u = TT_NEW(RT_U8, 3), *f = TT_NEW(RT_F32, 3);
    for (int k = 0; k < 3; k++)
        rt_i32(i)[k] = k - 1;
    rt_i32(j)[0] = 2;
    rt_tensor *ij[2] = {i, j};
    tt_run(OP_MUL, &at, ij, 2, io);
    CHECK(rt_i32(io)[0] == -2 && rt_i32(io)[2] == 2);
    tt_run(OP_EQ, &at, ij, 2, u);
    CHECK(rt_u8(u)[0] == 0 && rt_u8(u)[2] == 0);
    tt_run(OP_DIV, &at, ij, 2, f); /* true division, like torch */
    CHECK(rt_f32(f)[0] == -0.5f && rt_f32(f)[2] == 0.5f);
    tt_free(a), tt_free(b), tt_free(o), tt_free(i), tt_free(j), tt_free(io);
    tt_free(u), tt_free(f);
}

TEST(where_broadcasts)
{
    rt_attrs at;
    rt_attrs_init(&at);
    rt_tensor *cond = TT_NEW(RT_U8, 2, 1, 4), *a = TT_RAND(300, 3, 1), *b = TT_RAND(301);
    rt_tensor *o = TT_NEW(RT_F32, 2, 3, 4), *want = tt_like(o);
    for (int k = 0; k < 8; k++)
        rt_u8(cond)[k] = (uint8_t)(k % 3 == 0);
    rt_tensor *in[3] = {cond, a, b};
    tt_run(OP_WHERE, &at, in, 3, o);
    for (int64_t i = 0; i < 24; i++) {
        int64_t idx[3];
        tt_unravel(&o->type, i, idx);
        int c = rt_u8(cond)[tt_bcast_index(&cond->type, 3, idx)];
        rt_f32(want)[i] = c ? rt_f32(a)[tt_bcast_index(&a->type, 3, idx)] : rt_f32(b)[0];
    }
    CHECK_TENSOR(o, want, 0);
    tt_free(cond), tt_free(a), tt_free(b), tt_free(o), tt_free(want);
}

static float ref_unary(rt_op op, float v, const rt_attrs *a)
{
    switch (op) {
    case OP_NEG: return -v;
    case OP_RELU: return v > 0 ? v : 0;
    case OP_LEAKY_RELU: return v > 0 ? v : a->alpha * v;
    case OP_SIGMOID: return (float)(1 / (1 + exp(-(double)v)));
    case OP_TANH: return (float)tanh(v);
    case OP_EXP: return (float)exp(v);
    case OP_LOG: return (float)log(v);
    case OP_ABS: return v < 0 ? -v : v;
    case OP_SQRT: return (float)sqrt(v);
    case OP_ERF: return (float)erf(v);
    case OP_CLAMP: return v < a->lo ? a->lo : v > a->hi ? a->hi : v;
    default: return NAN;
    }
}

TEST(unary_ops_match_libm)
{
    rt_attrs at;
    rt_attrs_init(&at);
    at.alpha = 0.2f, at.lo = -0.3f, at.hi = 0.6f;
    rt_tensor *x = TT_RAND(310, 3, 5, 7), *pos = tt_like(x), *o = tt_like(x), *want = tt_like(x);
    for (int64_t i = 0; i < 105; i++)
        rt_f32(x)[i] *= 6, rt_f32(pos)[i] = fabsf(rt_f32(x)[i]) + 0.01f;
    for (rt_op op = OP_NEG; op <= OP_CLAMP; op++) {
        rt_tensor *src = op == OP_LOG || op == OP_SQRT ? pos : x;
        tt_run(op, &at, &src, 1, o);
        for (int64_t i = 0; i < 105; i++)
            rt_f32(want)[i] = ref_unary(op, rt_f32(src)[i], &at);
        CHECK_TENSOR(o, want, 2e-6);
    }
    tt_free(x), tt_free(pos), tt_free(o), tt_free(want);
}

TEST(unary_edge_cases)
{
    rt_attrs at;
    rt_attrs_init(&at);
    rt_tensor *x = TT_NEW(RT_F32, 3), *o = TT_NEW(RT_F32, 3);
    rt_f32(x)[0] = -100, rt_f32(x)[1] = 100, rt_f32(x)[2] = NAN;
    tt_run(OP_SIGMOID, &at, &x, 1, o);
    CHECK(rt_f32(o)[0] >= 0 && rt_f32(o)[0] < 1e-40 && rt_f32(o)[1] == 1 && isnan(rt_f32(o)[2]));
    tt_run(OP_RELU, &at, &x, 1, o);
    CHECK(rt_f32(o)[0] == 0 && rt_f32(o)[1] == 100 && isnan(rt_f32(o)[2]));
    at.lo = 0, at.hi = 1;
    tt_run(OP_CLAMP, &at, &x, 1, o);
    CHECK(rt_f32(o)[0] == 0 && rt_f32(o)[1] == 1 && isnan(rt_f32(o)[2]));
    rt_tensor *i = TT_NEW(RT_I32, 3), *io = TT_NEW(RT_I32, 3);
    rt_i32(i)[0] = -5, rt_i32(i)[1] = 7, rt_i32(i)[2] = 0;
    tt_run(OP_ABS, &at, &i, 1, io);
    CHECK(rt_i32(io)[0] == 5 && rt_i32(io)[1] == 7 && rt_i32(io)[2] == 0);
    tt_run(OP_NEG, &at, &i, 1, io);
    CHECK(rt_i32(io)[0] == 5 && rt_i32(io)[1] == -7);
    CHECK(tt_run_fails(OP_EXP, &at, &i, 1, io, "input must be f32, got i32"));
    tt_free(x), tt_free(o), tt_free(i), tt_free(io);
}
