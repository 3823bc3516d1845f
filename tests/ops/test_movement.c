/* test_movement.c — concat, slice, reshape, permute, broadcast, cast and
 * one_hot against index arithmetic, plus dispatch behaviour (const, leaves,
 * grad, input counts).
 */
#include "tests/ops/ops_test.h"

#include <math.h>
#include <string.h>

TEST(concat_axes_and_dtypes)
{
    rt_attrs a;
    rt_attrs_init(&a);
    for (int axis = 0; axis < 3; axis++) {
        int64_t d0[3] = {2, 3, 4}, d1[3] = {2, 3, 4};
        d1[axis] = 5 - axis;
        int64_t od[3] = {2, 3, 4};
        od[axis] += d1[axis];
        rt_tensor *x = tt_rand(100, 3, d0), *y = tt_rand(101, 3, d1), *o = tt_new(RT_F32, 3, od);
        rt_tensor *want = tt_like(o);
        a.axis = axis == 2 ? -1 : axis; /* negative axes count from the end */
        rt_tensor *in[2] = {x, y};
        tt_run(OP_CONCAT, &a, in, 2, o);
        for (int64_t i = 0; i < rt_type_numel(&o->type); i++) {
            int64_t idx[3];
            tt_unravel(&o->type, i, idx);
            const rt_tensor *src = idx[axis] < d0[axis] ? x : y;
            if (src == y)
                idx[axis] -= d0[axis];
            rt_f32(want)[i] = rt_f32(src)[tt_ravel(&src->type, idx)];
        }
        CHECK_TENSOR(o, want, 0);
        tt_free(x), tt_free(y), tt_free(o), tt_free(want);
    }
    rt_tensor *u = TT_NEW(RT_U8, 2, 1), *v = TT_NEW(RT_U8, 2, 2), *w = TT_NEW(RT_U8, 2, 3);
    rt_u8(u)[1] = 9, rt_u8(v)[1] = 7;
    a.axis = 1;
    rt_tensor *in[2] = {u, v};
    tt_run(OP_CONCAT, &a, in, 2, w);
    CHECK_INT(rt_u8(w)[3], 9);
    CHECK_INT(rt_u8(w)[2], 7);
    tt_free(u), tt_free(v), tt_free(w);
}

TEST(slice_with_steps)
{
    rt_attrs a;
    rt_attrs_init(&a);
    rt_tensor *x = TT_RAND(102, 3, 7, 9, 5), *o = TT_NEW(RT_F32, 3, 2, 4, 5);
    int64_t begin[4] = {0, 2, 1, 0}, step[4] = {1, 3, 2, 1};
    memcpy(a.begin, begin, sizeof begin);
    memcpy(a.step, step, sizeof step);
    rt_tensor *want = tt_like(o);
    tt_run(OP_SLICE, &a, &x, 1, o);
    for (int64_t i = 0; i < rt_type_numel(&o->type); i++) {
        int64_t idx[4];
        tt_unravel(&o->type, i, idx);
        for (int d = 0; d < 4; d++)
            idx[d] = begin[d] + idx[d] * step[d];
        rt_f32(want)[i] = rt_f32(x)[tt_ravel(&x->type, idx)];
    }
    CHECK_TENSOR(o, want, 0);
    a.begin[1] = 4; /* 4 + 2 * 3 = 10 > 6 */
    CHECK(tt_run_fails(OP_SLICE, &a, &x, 1, o, "axis 1"));
    tt_free(x), tt_free(o), tt_free(want);
}

TEST(reshape_and_permute)
{
    rt_attrs a;
    rt_attrs_init(&a);
    rt_tensor *x = TT_RAND(103, 2, 3, 4, 5), *r = TT_NEW(RT_F32, 6, 20);
    tt_run(OP_RESHAPE, &a, &x, 1, r);
    CHECK(memcmp(rt_f32(x), rt_f32(r), 120 * sizeof(float)) == 0);
    int perm[4] = {2, 0, 3, 1};
    memcpy(a.perm, perm, sizeof perm);
    rt_tensor *p = TT_NEW(RT_F32, 4, 2, 5, 3), *want = tt_like(p);
    tt_run(OP_PERMUTE, &a, &x, 1, p);
    for (int64_t i = 0; i < 120; i++) {
        int64_t oi[4], ii[4];
        tt_unravel(&p->type, i, oi);
        for (int d = 0; d < 4; d++)
            ii[perm[d]] = oi[d];
        rt_f32(want)[i] = rt_f32(x)[tt_ravel(&x->type, ii)];
    }
    CHECK_TENSOR(p, want, 0);
    a.perm[0] = 0; /* not a permutation */
    CHECK(tt_run_fails(OP_PERMUTE, &a, &x, 1, p, "perm[0]"));
    tt_free(x), tt_free(r), tt_free(p), tt_free(want);
}

TEST(broadcast_to_shape)
{
    rt_attrs a;
    rt_attrs_init(&a);
    rt_tensor *x = TT_RAND(104, 3, 1, 4), *o = TT_NEW(RT_F32, 2, 3, 5, 4), *want = tt_like(o);
    tt_run(OP_BROADCAST, &a, &x, 1, o);
    for (int64_t i = 0; i < rt_type_numel(&o->type); i++) {
        int64_t idx[4];
        tt_unravel(&o->type, i, idx);
        rt_f32(want)[i] = rt_f32(x)[tt_bcast_index(&x->type, 4, idx)];
    }
    CHECK_TENSOR(o, want, 0);
    rt_tensor *bad = TT_NEW(RT_F32, 2, 4, 5, 4);
    CHECK(tt_run_fails(OP_BROADCAST, &a, &x, 1, bad, "does not broadcast"));
    tt_free(x), tt_free(o), tt_free(want), tt_free(bad);
}

TEST(cast_truncates_and_wraps)
{
    rt_attrs a;
    rt_attrs_init(&a);
    static const float v[6] = {2.7f, -2.7f, 0.5f, -0.5f, 300.0f, -1.0f};
    rt_tensor *x = TT_NEW(RT_F32, 6), *i = TT_NEW(RT_I32, 6), *u = TT_NEW(RT_U8, 6);
    rt_tensor *back = TT_NEW(RT_F32, 6);
    memcpy(rt_f32(x), v, sizeof v);
    tt_run(OP_CAST, &a, &x, 1, i);
    static const int32_t wi[6] = {2, -2, 0, 0, 300, -1};
    for (int k = 0; k < 6; k++)
        CHECK_INT(rt_i32(i)[k], wi[k]);
    tt_run(OP_CAST, &a, &x, 1, u);
    static const uint8_t wu[6] = {2, 254, 0, 0, 44, 255}; /* wraps mod 256 */
    for (int k = 0; k < 6; k++)
        CHECK_INT(rt_u8(u)[k], wu[k]);
    tt_run(OP_CAST, &a, &u, 1, back);
    CHECK_NEAR(rt_f32(back)[5], 255.0, 0);
    tt_run(OP_CAST, &a, &i, 1, back);
    CHECK_NEAR(rt_f32(back)[1], -2.0, 0);
    tt_free(x), tt_free(i), tt_free(u), tt_free(back);
}

TEST(one_hot_class_axis)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.count = 4;
    rt_tensor *lab = TT_NEW(RT_I32, 2, 3, 5), *o = TT_NEW(RT_F32, 2, 4, 3, 5);
    for (int k = 0; k < 30; k++)
        rt_i32(lab)[k] = (k * 7) % 4;
    tt_run(OP_ONE_HOT, &a, &lab, 1, o);
    int bad = 0;
    for (int64_t i = 0; i < 120; i++) {
        int64_t idx[4];
        tt_unravel(&o->type, i, idx);
        int32_t l = rt_i32(lab)[(idx[0] * 3 + idx[2]) * 5 + idx[3]];
        bad += rt_f32(o)[i] != (l == idx[1] ? 1.0f : 0.0f);
    }
    CHECK_INT(bad, 0);
    rt_i32(lab)[17] = 7;
    CHECK(tt_run_fails(OP_ONE_HOT, &a, &lab, 1, o, "label 7 is out of range [0, 4)"));
    rt_tensor *u = TT_NEW(RT_U8, 3), *ou = TT_NEW(RT_F32, 3, 4);
    rt_u8(u)[0] = 3, rt_u8(u)[2] = 1;
    a.axis = -1; /* classes last */
    tt_run(OP_ONE_HOT, &a, &u, 1, ou);
    CHECK(rt_f32(ou)[3] == 1 && rt_f32(ou)[4] == 1 && rt_f32(ou)[9] == 1 && rt_f32(ou)[0] == 0);
    tt_free(lab), tt_free(o), tt_free(u), tt_free(ou);
}

TEST(dispatch_const_leaves_grad_arity)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.value = 2.5;
    rt_tensor *f = TT_NEW(RT_F32, 3), *i = TT_NEW(RT_I32, 2);
    tt_run(OP_CONST, &a, NULL, 0, f);
    CHECK(rt_f32(f)[0] == 2.5f && rt_f32(f)[2] == 2.5f);
    tt_run(OP_CONST, &a, NULL, 0, i);
    CHECK_INT(rt_i32(i)[1], 2);
    CHECK(tt_run_fails(OP_INPUT, &a, NULL, 0, f, "input: leaf values"));
    CHECK(tt_run_fails(OP_PARAM, &a, NULL, 0, f, "param: leaf values"));
    rt_tensor *in[2] = {f, f};
    CHECK(tt_run_fails(OP_GRAD, &a, in, 2, f, "grad needs autodiff"));
    CHECK(tt_run_fails(OP_ADD, &a, in, 1, f, "add: takes 2..2 inputs, got 1"));
    rt_tensor *g = TT_NEW(RT_F32, 3);
    tt_run(OP_STOP_GRAD, &a, &f, 1, g);
    CHECK_TENSOR(g, f, 0);
    tt_free(f), tt_free(i), tt_free(g);
}
