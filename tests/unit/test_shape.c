/* test_shape.c — the shape rule of every op (compiler/shape.c): accepted
 * shapes give the right type, rejected ones the exact user-facing message.
 *
 * rule() runs ir_infer_type and returns the result as text, either the
 * type ("f32[1, 8, 16, 16]") or "error: <message>", so each check is one
 * CHECK_STR that shows both strings on failure.
 */
#include "../../compiler/compiler.h"
#include "test.h"

#include <stdint.h>
#include <string.h>

static rt_type ty(rt_dtype dt, int rank, const int64_t *dims)
{
    rt_type t = {.dtype = dt, .rank = rank};
    for (int i = 0; i < rank; i++)
        t.dim[i] = dims[i];
    return t;
}

#define NDIMS(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define F32(...) ty(RT_F32, NDIMS(__VA_ARGS__), (const int64_t[]){__VA_ARGS__})
#define I32(...) ty(RT_I32, NDIMS(__VA_ARGS__), (const int64_t[]){__VA_ARGS__})
#define U8(...) ty(RT_U8, NDIMS(__VA_ARGS__), (const int64_t[]){__VA_ARGS__})
#define SCALAR(dt) ty(dt, 0, NULL)

/* The inferred type as text, or "error: <message>". */
static const char *rule(rt_op op, const rt_attrs *a, const rt_type *in, int n,
                        const rt_type *want)
{
    static char text[600];
    char err[512] = "untouched";
    rt_type out;
    if (ir_infer_type(op, a, in, n, want, &out, err, sizeof err) == 0)
        return rt_type_str(&out, text, sizeof text);
    snprintf(text, sizeof text, "error: %s", err);
    return text;
}

/* R(op, attrs, want, input types...) */
#define R(op, a, want, ...)                                                         \
    rule(op, a, (const rt_type[]){__VA_ARGS__},                                     \
         (int)(sizeof((rt_type[]){__VA_ARGS__}) / sizeof(rt_type)), want)

static rt_attrs at(void)
{
    rt_attrs a;
    rt_attrs_init(&a);
    return a;
}

static rt_attrs window(int k, int s, int p)
{
    rt_attrs a = at();
    for (int i = 0; i < 3; i++) {
        a.kernel[i] = k;
        a.stride[i] = s;
        a.pad[i] = p;
    }
    return a;
}

/* ----------------------------------------------------------------- conv */

TEST(shape_conv_ok)
{
    rt_attrs a = window(1, 1, 1);
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 1, 16, 16, 16), F32(8, 1, 3, 3, 3), F32(8)),
              "f32[1, 8, 16, 16, 16]");
    a = window(1, 2, 0);
    a.dilation[0] = a.dilation[1] = 2;
    CHECK_STR(R(OP_CONV, &a, NULL, F32(2, 3, 32, 32), F32(4, 3, 3, 3)), "f32[2, 4, 14, 14]");
    a = at();
    a.groups = 2;
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 4, 8, 8), F32(8, 2, 3, 3)), "f32[1, 8, 6, 6]");
    a = at();
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 2, 9), F32(5, 2, 4)), "f32[1, 5, 6]");
    CHECK_STR(R(OP_CONV, NULL, NULL, F32(1, 2, 9), F32(5, 2, 4)), "f32[1, 5, 6]");
}

TEST(shape_conv_errors)
{
    rt_attrs a = at();
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 3, 8, 8), F32(8, 4, 3, 3)),
              "error: conv: input has 3 channels but weight expects 4 (groups 1)");
    a.groups = 4;
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 4, 8, 8), F32(6, 1, 3, 3)),
              "error: conv: output channels (6) are not divisible by groups 4");
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 6, 8, 8), F32(8, 1, 3, 3)),
              "error: conv: input channels (6) are not divisible by groups 4");
    a.groups = 2;
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 4, 8, 8), F32(8, 1, 3, 3)),
              "error: conv: input has 4 channels but weight expects 2 (groups 2)");
    a = at();
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 1, 8, 8), F32(8, 1, 3, 3), F32(4)),
              "error: conv: bias has type f32[4] but the op has 8 output channels (expected f32[8])");
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 1, 2, 2), F32(1, 1, 3, 3)),
              "error: conv: spatial axis 0 has size 2, too small for kernel 3 (dilation 1, pad 0)");
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 1, 8, 8), F32(1, 1, 3, 3, 3)),
              "error: conv: weight f32[1, 1, 3, 3, 3] must have rank 4 like input f32[1, 1, 8, 8]");
    CHECK_STR(R(OP_CONV, &a, NULL, F32(4, 8), F32(1, 8)),
              "error: conv: input f32[4, 8] must be [N, C] followed by 1 to 3 spatial axes");
    CHECK_STR(R(OP_CONV, &a, NULL, I32(1, 1, 8, 8), F32(1, 1, 3, 3)),
              "error: conv: input must be f32, got i32[1, 1, 8, 8]");
    a.stride[1] = 0;
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 1, 8, 8), F32(1, 1, 3, 3)),
              "error: conv: stride 0 on spatial axis 1 must be at least 1");
    a = at();
    a.nsp = 3;
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 1, 8, 8), F32(1, 1, 3, 3)),
              "error: conv: input f32[1, 1, 8, 8] has 2 spatial axes but the op expects 3");
    CHECK_STR(R(OP_CONV, &a, NULL, F32(1, 1, 8, 8, 8)),
              "error: conv: expects 2 to 3 inputs, got 1");
}

TEST(shape_conv_t)
{
    rt_attrs a = window(1, 2, 0);
    CHECK_STR(R(OP_CONV_T, &a, NULL, F32(1, 16, 8, 8, 8), F32(16, 8, 2, 2, 2), F32(8)),
              "f32[1, 8, 16, 16, 16]");
    a = window(1, 2, 1);
    a.out_pad[0] = a.out_pad[1] = 1;
    CHECK_STR(R(OP_CONV_T, &a, NULL, F32(1, 4, 5, 5), F32(4, 2, 3, 3)), "f32[1, 2, 10, 10]");
    a = window(1, 2, 0);
    a.groups = 2;
    CHECK_STR(R(OP_CONV_T, &a, NULL, F32(1, 4, 5, 5), F32(4, 3, 2, 2)), "f32[1, 6, 10, 10]");
    a = window(1, 2, 0);
    a.out_pad[0] = 2;
    CHECK_STR(R(OP_CONV_T, &a, NULL, F32(1, 4, 5, 5), F32(4, 2, 3, 3)),
              "error: conv_t: out_pad 2 on spatial axis 0 must be smaller than stride 2 or dilation 1");
    a = at();
    CHECK_STR(R(OP_CONV_T, &a, NULL, F32(1, 3, 5, 5), F32(4, 2, 3, 3)),
              "error: conv_t: input has 3 channels but weight expects 4 (groups 1)");
    CHECK_STR(R(OP_CONV_T, &a, NULL, F32(1, 4, 5, 5), F32(4, 2, 3, 3), F32(3)),
              "error: conv_t: bias has type f32[3] but the op has 2 output channels (expected f32[2])");
    a.pad[0] = 3;
    CHECK_STR(R(OP_CONV_T, &a, NULL, F32(1, 4, 2, 2), F32(4, 2, 3, 3)),
              "error: conv_t: spatial axis 0 of size 2 gives output size -2 (stride 1, pad 3, kernel 3)");
}

/* -------------------------------------------------------------- pooling */

TEST(shape_pools)
{
    rt_attrs a = window(2, 2, 0);
    CHECK_STR(R(OP_MAXPOOL, &a, NULL, F32(1, 8, 32, 32, 32)), "f32[1, 8, 16, 16, 16]");
    CHECK_STR(R(OP_MAXPOOL, &a, NULL, F32(1, 8, 31, 32, 32)),
              "error: maxpool: size 31 of spatial axis 0 is not divisible by stride 2");
    CHECK_STR(R(OP_AVGPOOL, &a, NULL, F32(1, 8, 32, 31)),
              "error: avgpool: size 31 of spatial axis 1 is not divisible by stride 2");
    a = window(3, 2, 1);
    CHECK_STR(R(OP_AVGPOOL, &a, NULL, F32(1, 8, 33, 33)), "f32[1, 8, 17, 17]");
    /* ResNet's stem pool: the last window overhangs into padding only */
    CHECK_STR(R(OP_AVGPOOL, &a, NULL, F32(1, 8, 32, 33)), "f32[1, 8, 16, 17]");
    a = window(3, 2, 0);
    CHECK_STR(R(OP_AVGPOOL, &a, NULL, F32(1, 8, 32, 33)),
              "error: avgpool: size 32 of spatial axis 0 does not tile with kernel 3, stride 2, "
              "pad 0: the last 1 rows would be dropped");
    a = window(3, 1, 1);
    CHECK_STR(R(OP_MAXPOOL, &a, NULL, F32(2, 4, 7)), "f32[2, 4, 7]");
    a = window(2, 2, 2);
    CHECK_STR(R(OP_MAXPOOL, &a, NULL, F32(1, 8, 32, 32)),
              "error: maxpool: padding 2 on spatial axis 0 is more than half the kernel 2");
    a = window(4, 4, 0);
    CHECK_STR(R(OP_MAXPOOL, &a, NULL, F32(1, 8, 2, 8)),
              "error: maxpool: spatial axis 0 has size 2, smaller than kernel 4 (pad 0)");
    a = window(2, 2, 0);
    a.nsp = 3;
    CHECK_STR(R(OP_MAXPOOL, &a, NULL, F32(1, 8, 32, 32)),
              "error: maxpool: input f32[1, 8, 32, 32] has 2 spatial axes but the op expects 3");
    CHECK_STR(R(OP_MAXPOOL, NULL, NULL, U8(1, 8, 4, 4)),
              "error: maxpool: input must be f32, got u8[1, 8, 4, 4]");
}

TEST(shape_global_avgpool_upsample)
{
    CHECK_STR(R(OP_GLOBAL_AVGPOOL, NULL, NULL, F32(2, 8, 4, 5, 6)), "f32[2, 8, 1, 1, 1]");
    CHECK_STR(R(OP_GLOBAL_AVGPOOL, NULL, NULL, F32(2, 8)),
              "error: global_avgpool: input f32[2, 8] must be [N, C] followed by 1 to 3 spatial axes");
    rt_attrs a = at();
    a.mode = RT_UP_LINEAR;
    rt_type w = F32(1, 8, 32, 32);
    CHECK_STR(R(OP_UPSAMPLE, &a, &w, F32(1, 8, 16, 16)), "f32[1, 8, 32, 32]");
    w = F32(1, 4, 32, 32);
    CHECK_STR(R(OP_UPSAMPLE, &a, &w, F32(1, 8, 16, 16)),
              "error: upsample: output f32[1, 4, 32, 32] must keep the rank, dtype, batch and "
              "channels of input f32[1, 8, 16, 16]");
    CHECK_STR(R(OP_UPSAMPLE, &a, NULL, F32(1, 8, 16, 16)),
              "error: upsample: the output type was not given");
    a.mode = 7;
    w = F32(1, 8, 32, 32);
    CHECK_STR(R(OP_UPSAMPLE, &a, &w, F32(1, 8, 16, 16)), "error: upsample: unknown mode 7");
}

/* ------------------------------------------------- batchnorm, dropout */

TEST(shape_batchnorm_dropout)
{
    CHECK_STR(R(OP_BATCHNORM, NULL, NULL, F32(2, 4, 8, 8), F32(4), F32(4), F32(4), F32(4)),
              "f32[2, 4, 8, 8]");
    CHECK_STR(R(OP_BATCHNORM, NULL, NULL, F32(2, 4, 8, 8), F32(4), F32(4), F32(4), F32(3)),
              "error: batchnorm: running_var has type f32[3] but input f32[2, 4, 8, 8] has 4 "
              "channels (expected f32[4])");
    CHECK_STR(R(OP_BATCHNORM, NULL, NULL, F32(2, 4), F32(4), F32(4), F32(4)),
              "error: batchnorm: expects 5 inputs, got 4");
    CHECK_STR(R(OP_BATCHNORM, NULL, NULL, F32(4), F32(4), F32(4), F32(4), F32(4)),
              "error: batchnorm: input f32[4] needs a channel axis (rank 2 or more)");
    rt_attrs a = at();
    a.p = 0.25f;
    CHECK_STR(R(OP_DROPOUT, &a, NULL, F32(2, 4, 8)), "f32[2, 4, 8]");
    a.p = 1.5f;
    CHECK_STR(R(OP_DROPOUT, &a, NULL, F32(2, 4, 8)), "error: dropout: p must be in [0, 1], got 1.5");
    a.p = 0.5f;
    a.channelwise = 1;
    CHECK_STR(R(OP_DROPOUT, &a, NULL, F32(8)),
              "error: dropout: channel dropout needs a channel axis, got f32[8]");
}

/* -------------------------------------------------------- data movement */

TEST(shape_concat)
{
    rt_attrs a = at();
    CHECK_STR(R(OP_CONCAT, &a, NULL, F32(1, 8, 32, 32), F32(1, 4, 32, 32), F32(1, 1, 32, 32)),
              "f32[1, 13, 32, 32]");
    CHECK_STR(R(OP_CONCAT, &a, NULL, F32(1, 8, 32, 32), F32(1, 4, 31, 32)),
              "error: concat: inputs differ in dimension 2 (32 vs 31) along a non-concat axis");
    a.axis = -1;
    CHECK_STR(R(OP_CONCAT, &a, NULL, F32(2, 3), F32(2, 5)), "f32[2, 8]");
    CHECK_STR(R(OP_CONCAT, &a, NULL, F32(2, 3)), "f32[2, 3]");
    CHECK_STR(R(OP_CONCAT, &a, NULL, F32(2, 3), I32(2, 3)),
              "error: concat: input 1 is i32[2, 3] but input 0 is f32[2, 3] (dtypes differ)");
    CHECK_STR(R(OP_CONCAT, &a, NULL, F32(2, 3), F32(2, 3, 1)),
              "error: concat: input 1 is f32[2, 3, 1] but input 0 is f32[2, 3] (ranks differ)");
    a.axis = 4;
    CHECK_STR(R(OP_CONCAT, &a, NULL, F32(1, 8, 32, 32), F32(1, 8, 32, 32)),
              "error: concat: axis 4 is out of range for f32[1, 8, 32, 32] (rank 4)");
    CHECK_STR(rule(OP_CONCAT, &a, NULL, 0, NULL), "error: concat: expects at least 1 input, got 0");
}

TEST(shape_slice)
{
    rt_attrs a = at();
    ir_attrs_slice_all(&a);
    CHECK_STR(R(OP_SLICE, &a, NULL, F32(2, 10)), "f32[2, 10]");
    a.begin[1] = 2;
    a.step[1] = 3;
    CHECK_STR(R(OP_SLICE, &a, NULL, F32(2, 10)), "f32[2, 3]");
    a.begin[1] = -4;
    a.step[1] = 1;
    CHECK_STR(R(OP_SLICE, &a, NULL, F32(2, 10)), "f32[2, 4]");
    a.begin[1] = -100;
    a.end[1] = -1;
    CHECK_STR(R(OP_SLICE, &a, NULL, F32(2, 10)), "f32[2, 9]");
    a.begin[1] = 5;
    a.end[1] = 5;
    CHECK_STR(R(OP_SLICE, &a, NULL, F32(2, 10)),
              "error: slice: axis 1 of f32[2, 10] is empty after slicing 5:5");
    a.end[1] = 7;
    a.step[0] = 0;
    CHECK_STR(R(OP_SLICE, &a, NULL, F32(2, 10)), "error: slice: step 0 on axis 0 must be at least 1");
    rt_attrs d = at(); /* end 0 everywhere: the caller forgot ir_attrs_slice_all */
    CHECK_STR(R(OP_SLICE, &d, NULL, F32(3)), "error: slice: axis 0 of f32[3] is empty after slicing 0:0");
}

TEST(shape_slice_normalize)
{
    rt_attrs a = at();
    ir_attrs_slice_all(&a);
    a.begin[1] = -4;
    rt_type x = F32(2, 10);
    ir_attrs_normalize(OP_SLICE, &a, &x);
    CHECK_INT(a.begin[0], 0);
    CHECK_INT(a.end[0], 2);
    CHECK_INT(a.begin[1], 6);
    CHECK_INT(a.end[1], 10);
    CHECK_INT(a.end[2], 0);
}

TEST(shape_reshape_permute_broadcast_cast)
{
    rt_type w = F32(6, 4);
    CHECK_STR(R(OP_RESHAPE, NULL, &w, F32(2, 3, 4)), "f32[6, 4]");
    CHECK_STR(R(OP_RESHAPE, NULL, &w, I32(24)), "i32[6, 4]");
    w = F32(4);
    CHECK_STR(R(OP_RESHAPE, NULL, &w, F32(2, 3)),
              "error: reshape: cannot reshape f32[2, 3] (6 elements) to [4] (4 elements)");
    w = F32(-1, 6);
    CHECK_STR(R(OP_RESHAPE, NULL, &w, F32(2, 3)),
              "error: reshape: output shape [-1, 6] has a dimension smaller than 1");

    rt_attrs a = at();
    a.perm[1] = 2;
    a.perm[2] = 1;
    CHECK_STR(R(OP_PERMUTE, &a, NULL, F32(2, 3, 4)), "f32[2, 4, 3]");
    a.perm[1] = 0;
    CHECK_STR(R(OP_PERMUTE, &a, NULL, F32(2, 3, 4)),
              "error: permute: [0, 0, 1] is not a permutation of the axes of f32[2, 3, 4]");

    w = F32(2, 3);
    CHECK_STR(R(OP_BROADCAST, NULL, &w, F32(3)), "f32[2, 3]");
    CHECK_STR(R(OP_BROADCAST, NULL, &w, U8(2, 1)), "u8[2, 3]");
    CHECK_STR(R(OP_BROADCAST, NULL, &w, SCALAR(RT_F32)), "f32[2, 3]");
    w = F32(4, 3);
    CHECK_STR(R(OP_BROADCAST, NULL, &w, F32(2, 3)),
              "error: broadcast: cannot broadcast f32[2, 3] to [4, 3]");
    w = F32(3);
    CHECK_STR(R(OP_BROADCAST, NULL, &w, F32(1, 3)),
              "error: broadcast: cannot broadcast f32[1, 3] to [3]");

    w = SCALAR(RT_F32);
    CHECK_STR(R(OP_CAST, NULL, &w, I32(2, 3)), "f32[2, 3]");
    CHECK_STR(R(OP_CAST, NULL, NULL, I32(2, 3)), "error: cast: the target dtype was not given");
}

TEST(shape_one_hot)
{
    rt_attrs a = at();
    a.count = 3;
    CHECK_STR(R(OP_ONE_HOT, &a, NULL, I32(2, 8, 8)), "f32[2, 3, 8, 8]");
    CHECK_STR(R(OP_ONE_HOT, &a, NULL, U8(4)), "f32[4, 3]");
    CHECK_STR(R(OP_ONE_HOT, &a, NULL, F32(2, 8, 8)),
              "error: one_hot: labels must be i32 or u8, got f32[2, 8, 8]");
    a.count = 0;
    CHECK_STR(R(OP_ONE_HOT, &a, NULL, I32(2, 8, 8)),
              "error: one_hot: the number of classes must be at least 1, got 0");
}

/* ---------------------------------------------------------- elementwise */

TEST(shape_binary)
{
    CHECK_STR(R(OP_ADD, NULL, NULL, F32(2, 3), F32(3)), "f32[2, 3]");
    CHECK_STR(R(OP_MUL, NULL, NULL, F32(4, 1), F32(3)), "f32[4, 3]");
    CHECK_STR(R(OP_SUB, NULL, NULL, SCALAR(RT_F32), F32(2, 1, 5)), "f32[2, 1, 5]");
    CHECK_STR(R(OP_DIV, NULL, NULL, I32(2), I32(2)), "i32[2]");
    CHECK_STR(R(OP_ADD, NULL, NULL, F32(2, 3), F32(4)),
              "error: add: shapes f32[2, 3] and f32[4] cannot broadcast");
    CHECK_STR(R(OP_ADD, NULL, NULL, F32(2, 3), I32(2, 3)),
              "error: add: operand dtypes differ: f32[2, 3] and i32[2, 3]");
    CHECK_STR(R(OP_LT, NULL, NULL, F32(2, 3), F32(1)), "u8[2, 3]");
    CHECK_STR(R(OP_EQ, NULL, NULL, U8(2, 3), U8(2, 3)), "u8[2, 3]");
    CHECK_STR(R(OP_NE, NULL, NULL, I32(5), I32(5)), "u8[5]");
    CHECK_STR(R(OP_POW, NULL, NULL, I32(2), I32(2)),
              "error: pow: operands must be f32, got i32[2] and i32[2]");
    CHECK_STR(R(OP_MAXIMUM, NULL, NULL, U8(2), U8(2)),
              "error: maximum: u8 operands are not supported, got u8[2] and u8[2]");
    CHECK_STR(R(OP_MINIMUM, NULL, NULL, F32(2)), "error: minimum: expects 2 inputs, got 1");
}

TEST(shape_where)
{
    CHECK_STR(R(OP_WHERE, NULL, NULL, U8(2, 1), F32(1, 3), F32(2, 3)), "f32[2, 3]");
    CHECK_STR(R(OP_WHERE, NULL, NULL, U8(5, 1, 1), F32(3), F32(2, 1)), "f32[5, 2, 3]");
    CHECK_STR(R(OP_WHERE, NULL, NULL, F32(2, 3), F32(2, 3), F32(2, 3)),
              "error: where: condition must be u8, got f32[2, 3]");
    CHECK_STR(R(OP_WHERE, NULL, NULL, U8(2, 3), F32(2, 3), I32(2, 3)),
              "error: where: branch dtypes differ: f32[2, 3] and i32[2, 3]");
    CHECK_STR(R(OP_WHERE, NULL, NULL, U8(4), F32(2, 3), F32(2, 3)),
              "error: where: shapes u8[4], f32[2, 3] and f32[2, 3] cannot broadcast");
}

TEST(shape_unary)
{
    static const rt_op f32_only[] = {OP_RELU, OP_LEAKY_RELU, OP_SIGMOID, OP_TANH, OP_EXP,
                                     OP_LOG, OP_SQRT, OP_ERF, OP_CLAMP};
    for (size_t i = 0; i < sizeof f32_only / sizeof f32_only[0]; i++)
        CHECK_STR(R(f32_only[i], NULL, NULL, F32(2, 3)), "f32[2, 3]");
    CHECK_STR(R(OP_SIGMOID, NULL, NULL, I32(2)), "error: sigmoid: input must be f32, got i32[2]");
    CHECK_STR(R(OP_ABS, NULL, NULL, I32(2)), "i32[2]");
    CHECK_STR(R(OP_NEG, NULL, NULL, I32(2)), "i32[2]");
    CHECK_STR(R(OP_NEG, NULL, NULL, U8(2)), "error: neg: input must be f32 or i32, got u8[2]");
    rt_attrs a = at();
    a.lo = 1;
    a.hi = 0;
    CHECK_STR(R(OP_CLAMP, &a, NULL, F32(2)), "error: clamp: lower bound 1 is above upper bound 0");
    CHECK_STR(R(OP_STOP_GRAD, NULL, NULL, I32(2, 2)), "i32[2, 2]");
    CHECK_STR(R(OP_RELU, NULL, NULL, F32(2), F32(2)), "error: relu: expects 1 input, got 2");
}

/* ------------------------------------------------------------ reductions */

TEST(shape_reductions)
{
    rt_attrs a = at();
    a.axes = 0x6;
    CHECK_STR(R(OP_SUM, &a, NULL, F32(2, 3, 4)), "f32[2]");
    a.keepdim = 1;
    CHECK_STR(R(OP_MEAN, &a, NULL, F32(2, 3, 4)), "f32[2, 1, 1]");
    a.axes = 0;
    CHECK_STR(R(OP_MAX, &a, NULL, F32(2, 3, 4)), "f32[1, 1, 1]");
    a.keepdim = 0;
    CHECK_STR(R(OP_SUM, &a, NULL, F32(2, 3, 4)), "f32[]");
    CHECK_STR(R(OP_SUM, &a, NULL, SCALAR(RT_F32)), "f32[]");
    a.axes = 0x8;
    CHECK_STR(R(OP_SUM, &a, NULL, F32(2, 3, 4)),
              "error: sum: axes mask 0x8 names an axis beyond the rank of f32[2, 3, 4]");
    a.axes = 1;
    CHECK_STR(R(OP_MEAN, &a, NULL, I32(2, 3)), "error: mean: input must be f32, got i32[2, 3]");
}

TEST(shape_softmax_argmax_matmul)
{
    rt_attrs a = at();
    CHECK_STR(R(OP_SOFTMAX, &a, NULL, F32(2, 3, 8, 8)), "f32[2, 3, 8, 8]");
    CHECK_STR(R(OP_LOG_SOFTMAX, &a, NULL, F32(2, 3)), "f32[2, 3]");
    a.axis = 2;
    CHECK_STR(R(OP_SOFTMAX, &a, NULL, F32(2, 3)),
              "error: softmax: axis 2 is out of range for f32[2, 3] (rank 2)");
    a.axis = 1;
    CHECK_STR(R(OP_ARGMAX, &a, NULL, F32(2, 3, 4, 4)), "i32[2, 4, 4]");
    a.axis = -1;
    CHECK_STR(R(OP_ARGMAX, &a, NULL, F32(2, 3)), "i32[2]");
    CHECK_STR(R(OP_ARGMAX, &a, NULL, U8(2, 3)), "error: argmax: input must be f32 or i32, got u8[2, 3]");

    CHECK_STR(R(OP_MATMUL, NULL, NULL, F32(2, 3), F32(3, 5)), "f32[2, 5]");
    CHECK_STR(R(OP_MATMUL, NULL, NULL, F32(4, 2, 3), F32(4, 3, 5)), "f32[4, 2, 5]");
    CHECK_STR(R(OP_MATMUL, NULL, NULL, F32(2, 3), F32(4, 5)),
              "error: matmul: inner dimensions differ: f32[2, 3] x f32[4, 5] (3 vs 4)");
    CHECK_STR(R(OP_MATMUL, NULL, NULL, F32(4, 2, 3), F32(5, 3, 5)),
              "error: matmul: batch dimensions differ: f32[4, 2, 3] x f32[5, 3, 5]");
    CHECK_STR(R(OP_MATMUL, NULL, NULL, F32(4, 2, 3), F32(3, 5)),
              "error: matmul: operands must have the same rank, 2 or more: f32[4, 2, 3] x f32[3, 5]");
}

/* ------------------------------------------------------ random, markers */

TEST(shape_random)
{
    rt_attrs a = at();
    a.lo = 0;
    a.hi = 1;
    a.p = 0.5f;
    rt_type w = F32(2, 3);
    CHECK_STR(rule(OP_RAND_UNIFORM, &a, NULL, 0, &w), "f32[2, 3]");
    CHECK_STR(rule(OP_RAND_NORMAL, &a, NULL, 0, &w), "f32[2, 3]");
    CHECK_STR(rule(OP_RAND_BERNOULLI, &a, NULL, 0, &w), "f32[2, 3]");
    CHECK_STR(rule(OP_RAND_UNIFORM, &a, NULL, 0, NULL),
              "error: rand_uniform: the output type was not given");
    w = I32(2);
    CHECK_STR(rule(OP_RAND_UNIFORM, &a, NULL, 0, &w), "error: rand_uniform: draws f32 values, not i32");
    w = F32(2);
    a.p = 2;
    CHECK_STR(rule(OP_RAND_BERNOULLI, &a, NULL, 0, &w),
              "error: rand_bernoulli: p must be in [0, 1], got 2");
    a.hi = -1;
    CHECK_STR(rule(OP_RAND_NORMAL, &a, NULL, 0, &w),
              "error: rand_normal: standard deviation must not be negative, got -1");
    CHECK_STR(R(OP_RAND_NORMAL, &a, &w, F32(2)), "error: rand_normal: expects 0 inputs, got 1");
}

TEST(shape_grad)
{
    CHECK_STR(R(OP_GRAD, NULL, NULL, SCALAR(RT_F32), F32(3, 3)), "f32[3, 3]");
    CHECK_STR(R(OP_GRAD, NULL, NULL, F32(2), F32(3, 3)), "f32[3, 3]");
    CHECK_STR(R(OP_GRAD, NULL, NULL, I32(2), F32(3)),
              "error: grad: the differentiated value must be f32, got i32[2]");
}

/* Every op in ops.def has a rule: none reaches SEG_UNREACHABLE, whatever
 * it is given. */
TEST(shape_every_op_has_a_rule)
{
    rt_type in[5];
    for (int i = 0; i < 5; i++)
        in[i] = F32(1, 1, 4, 4);
    rt_type want = F32(1, 1, 4, 4);
    for (int op = 0; op < OP_COUNT; op++) {
        int n = rt_op_table[op].min_in;
        rt_type out;
        char err[256];
        int rc = ir_infer_type((rt_op)op, NULL, in, n, &want, &out, err, sizeof err);
        CHECK(rc == 0 || rc == -1);
        CHECK(rc == 0 || strncmp(err, rt_op_table[op].name, strlen(rt_op_table[op].name)) == 0);
    }
}

TEST(shape_null_error_buffer)
{
    rt_type in[2] = {F32(2, 3), F32(4)}, out;
    CHECK_INT(ir_infer_type(OP_ADD, NULL, in, 2, NULL, &out, NULL, 0), -1);
    char small[8];
    CHECK_INT(ir_infer_type(OP_ADD, NULL, in, 2, NULL, &out, small, sizeof small), -1);
    CHECK_STR(small, "add: sh");
}

/* Backward ops take the forward input's type from want and check it. */
TEST(shape_backward_ops)
{
    rt_type x = F32(1, 4, 8, 8), w = F32(4);
    CHECK_STR(R(OP_MAXPOOL_BWD, NULL, &x, F32(1, 4, 8, 8), F32(1, 4, 4, 4)), "f32[1, 4, 8, 8]");
    CHECK_STR(R(OP_AVGPOOL_BWD, NULL, &x, F32(1, 4, 4, 4)), "f32[1, 4, 8, 8]");
    CHECK_STR(R(OP_BATCHNORM_BWD_GAMMA, NULL, &w, F32(1, 4, 8, 8), F32(4), F32(4), F32(1, 4, 8, 8)),
              "f32[4]");
    CHECK_STR(R(OP_MAXPOOL_BWD, NULL, &w, F32(1, 4, 8, 8), F32(1, 4, 4, 4)),
              "error: maxpool_bwd: gradient f32[4] must have the type of input f32[1, 4, 8, 8]");
    CHECK_STR(R(OP_BATCHNORM_BWD_GAMMA, NULL, &x, F32(1, 4, 8, 8), F32(4), F32(4), F32(1, 4, 8, 8)),
              "error: batchnorm_bwd_gamma: gradient f32[1, 4, 8, 8] must be per channel of input "
              "f32[1, 4, 8, 8]");
    CHECK_STR(R(OP_SLICE_BWD, NULL, NULL, F32(2)), "error: slice_bwd: the output type was not given");
}
