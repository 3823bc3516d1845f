/* test_pool.c — maxpool, avgpool (count_include_pad) and global_avgpool
 * against naive loops in 1-D, 2-D and 3-D with padding and strides.
 */
#include "tests/ops/ops_test.h"

#include <math.h>

/* One pooling case; spatial arrays innermost last. */
typedef struct pool_case {
    int nsp;
    int64_t n, c;
    int64_t in[3];
    int k[3], s[3], p[3];
} pool_case;

static int64_t out_size(const pool_case *pc, int i)
{
    return (pc->in[i] + 2 * pc->p[i] - pc->k[i]) / pc->s[i] + 1;
}

/* Value of the naive pool at plane pl, output position o (3 entries,
 * leading unused ones 0). Padding is -inf for max, 0 for the average,
 * whose divisor is the full kernel (floor mode never leaves [-p, in+p)). */
static float naive_at(const pool_case *pc, const float *pl, const int64_t *o, int is_max)
{
    int64_t I[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1}, P[3] = {0, 0, 0};
    for (int i = 0; i < pc->nsp; i++) {
        int j = 3 - pc->nsp + i;
        I[j] = pc->in[i], K[j] = pc->k[i], S[j] = pc->s[i], P[j] = pc->p[i];
    }
    float m = -INFINITY;
    double sum = 0;
    for (int64_t a = 0; a < K[0]; a++)
        for (int64_t b = 0; b < K[1]; b++)
            for (int64_t c = 0; c < K[2]; c++) {
                int64_t z = o[0] * S[0] - P[0] + a, y = o[1] * S[1] - P[1] + b;
                int64_t x = o[2] * S[2] - P[2] + c;
                if (z < 0 || z >= I[0] || y < 0 || y >= I[1] || x < 0 || x >= I[2])
                    continue;
                float v = pl[(z * I[1] + y) * I[2] + x];
                m = v > m ? v : m;
                sum += v;
            }
    return is_max ? m : (float)(sum / (double)(K[0] * K[1] * K[2]));
}

static void run_pool_case(const pool_case *pc, int is_max, uint32_t seed)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = pc->nsp;
    int64_t xd[5] = {pc->n, pc->c}, yd[5] = {pc->n, pc->c}, O[3] = {1, 1, 1};
    for (int i = 0; i < pc->nsp; i++) {
        a.kernel[i] = pc->k[i], a.stride[i] = pc->s[i], a.pad[i] = pc->p[i];
        xd[2 + i] = pc->in[i];
        yd[2 + i] = O[3 - pc->nsp + i] = out_size(pc, i);
    }
    rt_tensor *x = tt_rand(seed, pc->nsp + 2, xd), *y = tt_new(RT_F32, pc->nsp + 2, yd);
    rt_tensor *want = tt_like(y);
    tt_run(is_max ? OP_MAXPOOL : OP_AVGPOOL, &a, &x, 1, y);
    int64_t plane = rt_type_numel(&x->type) / (pc->n * pc->c), k = 0, o[3];
    for (int64_t p = 0; p < pc->n * pc->c; p++)
        for (o[0] = 0; o[0] < O[0]; o[0]++)
            for (o[1] = 0; o[1] < O[1]; o[1]++)
                for (o[2] = 0; o[2] < O[2]; o[2]++)
                    rt_f32(want)[k++] = naive_at(pc, rt_f32(x) + p * plane, o, is_max);
    CHECK_TENSOR(y, want, 1e-6);
    tt_free(x), tt_free(y), tt_free(want);
}

static const pool_case pool_cases[] = {
    {1, 2, 3, {11}, {3}, {2}, {1}},
    {1, 2, 2, {8}, {2}, {2}, {0}},
    {2, 2, 3, {7, 9}, {3, 2}, {2, 3}, {1, 1}},
    {2, 3, 2, {8, 8}, {2, 2}, {2, 2}, {0, 0}},
    {3, 2, 2, {5, 6, 7}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
    {3, 2, 3, {4, 6, 5}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}},
    {3, 1, 2, {5, 5, 6}, {3, 2, 3}, {1, 2, 3}, {1, 0, 1}},
};

TEST(maxpool_cases)
{
    for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++)
        run_pool_case(&pool_cases[i], 1, 30 + (uint32_t)i);
}

TEST(avgpool_cases)
{
    for (size_t i = 0; i < sizeof pool_cases / sizeof pool_cases[0]; i++)
        run_pool_case(&pool_cases[i], 0, 40 + (uint32_t)i);
}

TEST(avgpool_counts_padding)
{
    /* PyTorch: avg_pool1d([1, 2, 3], 3, stride=1, padding=1) = [1, 2, 5/3] */
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 1, a.kernel[0] = 3, a.pad[0] = 1;
    rt_tensor *x = TT_NEW(RT_F32, 1, 1, 3), *y = TT_NEW(RT_F32, 1, 1, 3);
    for (int i = 0; i < 3; i++)
        rt_f32(x)[i] = (float)(i + 1);
    tt_run(OP_AVGPOOL, &a, &x, 1, y);
    CHECK_NEAR(rt_f32(y)[0], 1.0, 1e-7);
    CHECK_NEAR(rt_f32(y)[1], 2.0, 1e-7);
    CHECK_NEAR(rt_f32(y)[2], 5.0 / 3.0, 1e-7);
    tt_run(OP_MAXPOOL, &a, &x, 1, y);
    CHECK_NEAR(rt_f32(y)[0], 2.0, 0);
    CHECK_NEAR(rt_f32(y)[2], 3.0, 0);
    rt_f32(x)[0] = -5; /* padding is -inf, not 0 */
    rt_f32(x)[1] = -6;
    tt_run(OP_MAXPOOL, &a, &x, 1, y);
    CHECK_NEAR(rt_f32(y)[0], -5.0, 0);
    rt_f32(x)[1] = NAN; /* NaN propagates */
    tt_run(OP_MAXPOOL, &a, &x, 1, y);
    CHECK(isnan(rt_f32(y)[0]) && isnan(rt_f32(y)[2]));
    tt_free(x), tt_free(y);
}

TEST(global_avgpool_means)
{
    rt_attrs a;
    rt_attrs_init(&a);
    rt_tensor *x = TT_RAND(50, 3, 4, 5, 3, 2), *y = TT_NEW(RT_F32, 3, 4, 1, 1, 1);
    rt_tensor *want = tt_like(y);
    tt_run(OP_GLOBAL_AVGPOOL, &a, &x, 1, y);
    for (int p = 0; p < 12; p++) {
        double s = 0;
        for (int i = 0; i < 30; i++)
            s += rt_f32(x)[p * 30 + i];
        rt_f32(want)[p] = (float)(s / 30);
    }
    CHECK_TENSOR(y, want, 1e-6);
    tt_free(x), tt_free(y), tt_free(want);
}
