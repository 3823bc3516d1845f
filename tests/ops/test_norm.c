/* test_norm.c — batchnorm in training mode (batch statistics, running-stat
 * update with the unbiased variance) and inference mode (running stats,
 * nothing written), against naive loops.
 */
#include "tests/ops/ops_test.h"

#include <math.h>

/* x [2, 3, 4, 5], per-channel parameters [3]. */
typedef struct bn_fixture {
    rt_tensor *x, *gamma, *beta, *rm, *rv, *y, *want;
} bn_fixture;

static void bn_setup(bn_fixture *f)
{
    f->x = TT_RAND(80, 2, 3, 4, 5);
    f->gamma = TT_RAND(81, 3);
    f->beta = TT_RAND(82, 3);
    f->rm = TT_RAND(83, 3);
    f->rv = TT_NEW(RT_F32, 3);
    for (int c = 0; c < 3; c++)
        rt_f32(f->rv)[c] = 0.5f + (float)c;
    for (int i = 0; i < 120; i++) /* channel offsets so means differ */
        rt_f32(f->x)[i] += (float)(i / 20 % 3) * 2.0f;
    f->y = tt_like(f->x);
    f->want = tt_like(f->x);
}

static void bn_teardown(bn_fixture *f)
{
    tt_free(f->x), tt_free(f->gamma), tt_free(f->beta), tt_free(f->rm), tt_free(f->rv);
    tt_free(f->y), tt_free(f->want);
}

/* want = (x - mean) / sqrt(var + eps) * gamma + beta for channel c. */
static void naive_norm(bn_fixture *f, int c, double mean, double var, double eps)
{
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 20; i++) {
            int at = (n * 3 + c) * 20 + i;
            rt_f32(f->want)[at] = (float)((rt_f32(f->x)[at] - mean) / sqrt(var + eps) *
                                              rt_f32(f->gamma)[c] + rt_f32(f->beta)[c]);
        }
}

TEST(batchnorm_training_and_running_stats)
{
    bn_fixture f;
    bn_setup(&f);
    rt_attrs a;
    rt_attrs_init(&a);
    a.training = 1;
    a.momentum = 0.1f;
    float rm0[3], rv0[3];
    for (int c = 0; c < 3; c++)
        rm0[c] = rt_f32(f.rm)[c], rv0[c] = rt_f32(f.rv)[c];
    rt_tensor *in[5] = {f.x, f.gamma, f.beta, f.rm, f.rv};
    tt_run(OP_BATCHNORM, &a, in, 5, f.y);
    for (int c = 0; c < 3; c++) {
        double s = 0, sq = 0;
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < 20; i++)
                s += rt_f32(f.x)[(n * 3 + c) * 20 + i];
        double mean = s / 40;
        for (int n = 0; n < 2; n++)
            for (int i = 0; i < 20; i++) {
                double d = rt_f32(f.x)[(n * 3 + c) * 20 + i] - mean;
                sq += d * d;
            }
        naive_norm(&f, c, mean, sq / 40, 1e-5);
        CHECK_NEAR(rt_f32(f.rm)[c], 0.9 * rm0[c] + 0.1 * mean, 1e-6);
        CHECK_NEAR(rt_f32(f.rv)[c], 0.9 * rv0[c] + 0.1 * sq / 39, 1e-6);
    }
    CHECK_TENSOR(f.y, f.want, 1e-5);
    bn_teardown(&f);
}

TEST(batchnorm_inference_uses_running_stats)
{
    bn_fixture f;
    bn_setup(&f);
    rt_attrs a;
    rt_attrs_init(&a);
    a.eps = 1e-3f;
    float rm0 = rt_f32(f.rm)[1], rv0 = rt_f32(f.rv)[1];
    rt_tensor *in[5] = {f.x, f.gamma, f.beta, f.rm, f.rv};
    tt_run(OP_BATCHNORM, &a, in, 5, f.y);
    for (int c = 0; c < 3; c++)
        naive_norm(&f, c, rt_f32(f.rm)[c], rt_f32(f.rv)[c], (double)1e-3f);
    CHECK_TENSOR(f.y, f.want, 1e-5);
    CHECK(rt_f32(f.rm)[1] == rm0 && rt_f32(f.rv)[1] == rv0);
    bn_teardown(&f);
}

TEST(batchnorm_training_needs_two_values)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.training = 1;
    rt_tensor *x = TT_RAND(1, 1, 2), *p = TT_NEW(RT_F32, 2), *y = TT_NEW(RT_F32, 1, 2);
    rt_tensor *in[5] = {x, p, p, p, p};
    CHECK(tt_run_fails(OP_BATCHNORM, &a, in, 5, y, "more than 1 value per channel"));
    tt_free(x), tt_free(p), tt_free(y);
}
