/* test_dropout.c — dropout and channelwise dropout: keep rate, scaling,
 * determinism (same seed and step -> same mask; another step or stream ->
 * another mask), whole channels dropped together, identity at inference.
 */
#include "tests/ops/ops_test.h"

#include <string.h>

static void drop_attrs(rt_attrs *a, float p, int channelwise)
{
    rt_attrs_init(a);
    a->training = 1;
    a->p = p;
    a->channelwise = channelwise;
    a->seed = 1234;
    a->stream = 7;
}

TEST(dropout_statistics_and_scale)
{
    rt_attrs a;
    drop_attrs(&a, 0.3f, 0);
    rt_tensor *x = TT_RAND(90, 4, 100, 250), *y = tt_like(x);
    tt_run_step(OP_DROPOUT, &a, &x, 1, y, 5);
    int64_t n = rt_type_numel(&x->type), zeros = 0, bad = 0;
    float scale = 1.0f / (1.0f - 0.3f);
    for (int64_t i = 0; i < n; i++) {
        if (rt_f32(y)[i] == 0)
            zeros++;
        else if (rt_f32(y)[i] != rt_f32(x)[i] * scale)
            bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_NEAR((double)zeros / (double)n, 0.3, 0.005); /* 100k draws: sd 0.0015 */
    tt_free(x), tt_free(y);
}

TEST(dropout_is_deterministic_per_step)
{
    rt_attrs a;
    drop_attrs(&a, 0.5f, 0);
    rt_tensor *x = TT_RAND(91, 2, 3, 64), *y1 = tt_like(x), *y2 = tt_like(x), *y3 = tt_like(x);
    size_t bytes = (size_t)rt_type_numel(&x->type) * sizeof(float);
    tt_run_step(OP_DROPOUT, &a, &x, 1, y1, 3);
    tt_run_step(OP_DROPOUT, &a, &x, 1, y2, 3);
    CHECK(memcmp(rt_f32(y1), rt_f32(y2), bytes) == 0);
    tt_run_step(OP_DROPOUT, &a, &x, 1, y3, 4);
    CHECK(memcmp(rt_f32(y1), rt_f32(y3), bytes) != 0);
    a.stream = 8;
    tt_run_step(OP_DROPOUT, &a, &x, 1, y3, 3);
    CHECK(memcmp(rt_f32(y1), rt_f32(y3), bytes) != 0);
    tt_free(x), tt_free(y1), tt_free(y2), tt_free(y3);
}

TEST(dropout_channelwise_drops_whole_channels)
{
    rt_attrs a;
    drop_attrs(&a, 0.4f, 1);
    rt_tensor *x = TT_RAND(92, 8, 50, 3, 4, 5), *y = tt_like(x);
    for (int64_t i = 0; i < rt_type_numel(&x->type); i++)
        rt_f32(x)[i] += 2.0f; /* no zero inputs */
    tt_run_step(OP_DROPOUT, &a, &x, 1, y, 1);
    int mixed = 0, dropped = 0;
    for (int p = 0; p < 400; p++) {
        int z = 0;
        for (int i = 0; i < 60; i++)
            z += rt_f32(y)[p * 60 + i] == 0;
        mixed += z != 0 && z != 60;
        dropped += z == 60;
    }
    CHECK_INT(mixed, 0);
    CHECK(dropped > 120 && dropped < 200); /* 160 expected, sd 10 */
    tt_free(x), tt_free(y);
}

TEST(dropout_inference_and_extremes)
{
    rt_attrs a;
    drop_attrs(&a, 0.5f, 0);
    a.training = 0;
    rt_tensor *x = TT_RAND(93, 2, 10), *y = tt_like(x);
    tt_run(OP_DROPOUT, &a, &x, 1, y);
    CHECK_TENSOR(y, x, 0);
    a.training = 1;
    a.p = 0;
    tt_run(OP_DROPOUT, &a, &x, 1, y);
    CHECK_TENSOR(y, x, 0);
    a.p = 1;
    tt_run(OP_DROPOUT, &a, &x, 1, y);
    rt_tensor *zero = tt_like(x);
    CHECK_TENSOR(y, zero, 0);
    tt_free(x), tt_free(y), tt_free(zero);
}
