/* test_random.c — Philox4x32-10 against Random123's known answers, the
 * uniform/normal/bernoulli ops (range, moments, determinism, dependence on
 * step and stream) and FNV-1a test vectors.
 */
#include "tests/ops/ops_test.h"

#include <math.h>
#include <string.h>

TEST(philox_known_answers)
{
    uint32_t out[4];
    rt_philox4x32((uint32_t[]){0, 0, 0, 0}, (uint32_t[]){0, 0}, out);
    CHECK_INT(out[0], 0x6627e8d5u);
    CHECK_INT(out[1], 0xe169c58du);
    CHECK_INT(out[2], 0xbc57ac4cu);
    CHECK_INT(out[3], 0x9b00dbd8u);
    uint32_t ones = 0xffffffffu;
    rt_philox4x32((uint32_t[]){ones, ones, ones, ones}, (uint32_t[]){ones, ones}, out);
    CHECK_INT(out[0], 0x408f276du);
    CHECK_INT(out[1], 0x41c83b0eu);
    CHECK_INT(out[2], 0xa20bc7c6u);
    CHECK_INT(out[3], 0x6d5451fdu);
    /* Random123's third vector: pi digits */
    rt_philox4x32((uint32_t[]){0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                  (uint32_t[]){0xa4093822, 0x299f31d0}, out);
    CHECK_INT(out[0], 0xd16cfe09u);
    CHECK_INT(out[1], 0x94fdccebu);
    CHECK_INT(out[2], 0x5001e420u);
    CHECK_INT(out[3], 0x24126ea1u);
}

TEST(fnv1a_vectors)
{
    CHECK_INT(rt_hash_str(""), 0x811c9dc5u);
    CHECK_INT(rt_hash_str("a"), 0xe40c292cu);
    CHECK_INT(rt_hash_str("foobar"), 0xbf9cf968u);
}

TEST(uniform01_mapping_and_range)
{
    /* counter {index lo, index hi, stream, step lo}, key {seed lo, seed hi} */
    uint32_t w[4];
    uint64_t seed = 0x123456789abcdefull, index = 0x500000007ull;
    rt_philox4x32((uint32_t[]){7, 5, 3, 11}, (uint32_t[]){0x89abcdef, 0x1234567}, w);
    CHECK(rt_rand_uniform01(seed, 3, 11, index) == (float)(w[0] >> 8) * 0x1p-24f);
    double s = 0, s2 = 0, lo = 1, hi = 0;
    for (uint64_t i = 0; i < 100000; i++) {
        double u = rt_rand_uniform01(9, 1, 0, i);
        s += u, s2 += u * u;
        lo = fmin(lo, u), hi = fmax(hi, u);
    }
    CHECK(lo >= 0 && hi < 1);
    CHECK_NEAR(s / 1e5, 0.5, 0.003);
    CHECK_NEAR(s2 / 1e5 - (s / 1e5) * (s / 1e5), 1.0 / 12, 0.002);
}

static void rand_attrs(rt_attrs *a, uint64_t seed, uint32_t stream)
{
    rt_attrs_init(a);
    a->seed = seed;
    a->stream = stream;
}

TEST(rand_ops_moments)
{
    rt_attrs a;
    rand_attrs(&a, 42, 1);
    rt_tensor *t = TT_NEW(RT_F32, 200, 500);
    int64_t n = 100000;
    a.lo = 2, a.hi = 5;
    tt_run(OP_RAND_UNIFORM, &a, NULL, 0, t);
    double s = 0, s2 = 0, mn = 10, mx = -10;
    for (int64_t i = 0; i < n; i++)
        s += rt_f32(t)[i], mn = fmin(mn, rt_f32(t)[i]), mx = fmax(mx, rt_f32(t)[i]);
    CHECK(mn >= 2 && mx < 5);
    CHECK_NEAR(s / (double)n, 3.5, 0.01);
    a.lo = 1, a.hi = 2; /* mean 1, std 2 */
    tt_run(OP_RAND_NORMAL, &a, NULL, 0, t);
    s = 0;
    for (int64_t i = 0; i < n; i++)
        s += rt_f32(t)[i], s2 += (double)rt_f32(t)[i] * rt_f32(t)[i];
    double mean = s / (double)n;
    CHECK_NEAR(mean, 1.0, 0.02);
    CHECK_NEAR(sqrt(s2 / (double)n - mean * mean), 2.0, 0.02);
    a.p = 0.25f;
    tt_run(OP_RAND_BERNOULLI, &a, NULL, 0, t);
    s = 0;
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        s += rt_f32(t)[i], bad += rt_f32(t)[i] != 0 && rt_f32(t)[i] != 1;
    CHECK_INT(bad, 0);
    CHECK_NEAR(s / (double)n, 0.25, 0.005);
    tt_free(t);
}

TEST(rand_ops_deterministic)
{
    rt_attrs a;
    rand_attrs(&a, 42, 1);
    a.lo = 0, a.hi = 1;
    rt_tensor *t1 = TT_NEW(RT_F32, 3, 64), *t2 = tt_like(t1);
    size_t bytes = 192 * sizeof(float);
    tt_run_step(OP_RAND_NORMAL, &a, NULL, 0, t1, 7);
    tt_run_step(OP_RAND_NORMAL, &a, NULL, 0, t2, 7);
    CHECK(memcmp(rt_f32(t1), rt_f32(t2), bytes) == 0);
    tt_run_step(OP_RAND_NORMAL, &a, NULL, 0, t2, 8);
    CHECK(memcmp(rt_f32(t1), rt_f32(t2), bytes) != 0);
    a.stream = 2;
    tt_run_step(OP_RAND_NORMAL, &a, NULL, 0, t2, 7);
    CHECK(memcmp(rt_f32(t1), rt_f32(t2), bytes) != 0);
    a.stream = 1, a.seed = 43;
    tt_run_step(OP_RAND_NORMAL, &a, NULL, 0, t2, 7);
    CHECK(memcmp(rt_f32(t1), rt_f32(t2), bytes) != 0);
    for (int i = 0; i < 192; i++) /* element i is draw i, whatever the shape */
        CHECK(rt_f32(t1)[i] == rt_rand_normal(42, 1, 7, (uint64_t)i));
    tt_free(t1), tt_free(t2);
}
