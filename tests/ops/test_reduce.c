/* test_reduce.c — sum/mean/max over several axis sets with and without
 * keepdim against naive accumulation; softmax/log_softmax (rows sum to 1,
 * match the definition, stable for large inputs); argmax with ties and NaN.
 */
#include "tests/ops/ops_test.h"

#include <math.h>

static void run_reduce(rt_op op, unsigned axes, int keepdim, uint32_t seed)
{
    rt_attrs at;
    rt_attrs_init(&at);
    at.axes = axes, at.keepdim = keepdim;
    rt_tensor *x = TT_RAND(seed, 2, 3, 4, 5);
    unsigned mask = axes ? axes : 0xf;
    rt_type kept = x->type, dropped = {RT_F32, 0, {0}};
    for (int i = 0; i < 4; i++) {
        if (mask >> i & 1)
            kept.dim[i] = 1;
        else
            dropped.dim[dropped.rank++] = x->type.dim[i];
    }
    rt_tensor *o = rt_tensor_new(keepdim ? &kept : &dropped), *want = tt_like(o);
    int64_t n_out = rt_type_numel(&kept);
    double *acc = seg_xcalloc((size_t)n_out, sizeof(double));
    for (int64_t i = 0; i < n_out; i++)
        acc[i] = op == OP_MAX ? -INFINITY : 0;
    for (int64_t i = 0; i < 120; i++) {
        int64_t idx[4];
        tt_unravel(&x->type, i, idx);
        for (int d = 0; d < 4; d++)
            if (mask >> d & 1)
                idx[d] = 0;
        int64_t k = tt_ravel(&kept, idx);
        double v = rt_f32(x)[i];
        acc[k] = op == OP_MAX ? (v > acc[k] ? v : acc[k]) : acc[k] + v;
    }
    for (int64_t i = 0; i < n_out; i++)
        rt_f32(want)[i] = (float)(op == OP_MEAN ? acc[i] / (double)(120 / n_out) : acc[i]);
    tt_run(op, &at, &x, 1, o);
    CHECK_TENSOR(o, want, 1e-6);
    seg_free(acc);
    tt_free(x), tt_free(o), tt_free(want);
}

TEST(reduce_several_axes)
{
    static const unsigned masks[] = {0, 0x1, 0x2, 0x6, 0xa, 0x9, 0xf, 0x8, 0xe};
    static const rt_op ops[] = {OP_SUM, OP_MEAN, OP_MAX};
    uint32_t seed = 400;
    for (int k = 0; k < 3; k++)
        for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++)
            for (int keep = 0; keep < 2; keep++)
                run_reduce(ops[k], masks[m], keep, seed++);
}

TEST(reduce_checks_shape_and_nan)
{
    rt_attrs at;
    rt_attrs_init(&at);
    at.axes = 0x2;
    rt_tensor *x = TT_RAND(450, 2, 3), *bad = TT_NEW(RT_F32, 3), *o = TT_NEW(RT_F32, 2);
    CHECK(tt_run_fails(OP_SUM, &at, &x, 1, bad, "does not match the reduction"));
    rt_f32(x)[1] = NAN;
    tt_run(OP_MAX, &at, &x, 1, o);
    CHECK(isnan(rt_f32(o)[0]) && !isnan(rt_f32(o)[1]));
    tt_free(x), tt_free(bad), tt_free(o);
}

TEST(softmax_rows_sum_to_one)
{
    rt_attrs at;
    rt_attrs_init(&at);
    for (int axis = 0; axis < 3; axis++) {
        at.axis = axis;
        rt_tensor *x = TT_RAND(460 + (uint32_t)axis, 3, 4, 5), *o = tt_like(x), *lo = tt_like(x);
        for (int i = 0; i < 60; i++)
            rt_f32(x)[i] *= 10;
        tt_run(OP_SOFTMAX, &at, &x, 1, o);
        tt_run(OP_LOG_SOFTMAX, &at, &x, 1, lo);
        int64_t st = axis == 0 ? 20 : axis == 1 ? 5 : 1, n = x->type.dim[axis];
        for (int64_t i = 0; i < 60; i++) {
            int64_t idx[3];
            tt_unravel(&x->type, i, idx);
            if (idx[axis] != 0)
                continue;
            double s = 0, m = -INFINITY, se = 0;
            for (int64_t k = 0; k < n; k++)
                m = fmax(m, rt_f32(x)[i + k * st]);
            for (int64_t k = 0; k < n; k++)
                s += rt_f32(o)[i + k * st], se += exp(rt_f32(x)[i + k * st] - m);
            CHECK_NEAR(s, 1.0, 1e-6);
            for (int64_t k = 0; k < n; k++) {
                double v = rt_f32(x)[i + k * st];
                CHECK_NEAR(rt_f32(o)[i + k * st], exp(v - m) / se, 1e-6);
                CHECK_NEAR(rt_f32(lo)[i + k * st], v - m - log(se), 1e-5);
            }
        }
        tt_free(x), tt_free(o), tt_free(lo);
    }
    rt_tensor *big = TT_NEW(RT_F32, 2), *ob = TT_NEW(RT_F32, 2);
    rt_f32(big)[0] = 1000, rt_f32(big)[1] = 999;
    at.axis = -1;
    tt_run(OP_SOFTMAX, &at, &big, 1, ob);
    CHECK_NEAR(rt_f32(ob)[0], 1 / (1 + exp(-1.0)), 1e-6);
    tt_free(big), tt_free(ob);
}

TEST(argmax_first_max_wins)
{
    rt_attrs at;
    rt_attrs_init(&at);
    at.axis = 1;
    rt_tensor *x = TT_NEW(RT_F32, 2, 4, 3), *o = TT_NEW(RT_I32, 2, 3);
    static const float v[24] = {1, 5, 0, 3, 5, 0, 3, 1, 0, 2, 2, 0,
                                0, 0, 7, 0, 0, 7, 0, NAN, 1, 0, NAN, 9};
    for (int i = 0; i < 24; i++)
        rt_f32(x)[i] = v[i];
    tt_run(OP_ARGMAX, &at, &x, 1, o);
    /* sample 0: ties 3,3 and 5,5 and all-zero take the first; sample 1:
     * the first NaN is the maximum, then 9 */
    static const int32_t want[6] = {1, 0, 0, 0, 2, 3};
    for (int i = 0; i < 6; i++)
        CHECK_INT(rt_i32(o)[i], want[i]);
    rt_tensor *xi = TT_NEW(RT_I32, 2, 4, 3); /* i32 input: same ties rule */
    for (int i = 0; i < 12; i++)
        rt_i32(xi)[i] = (int32_t)v[i];
    tt_run(OP_ARGMAX, &at, &xi, 1, o);
    for (int i = 0; i < 3; i++)
        CHECK_INT(rt_i32(o)[i], want[i]);
    tt_free(xi);
    tt_free(x), tt_free(o);
}
