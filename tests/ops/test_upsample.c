/* test_upsample.c — nearest and (bi/tri)linear upsampling against a naive
 * per-element evaluation of PyTorch's formulas, in 1-D, 2-D and 3-D, with
 * non-integer size ratios (3 -> 7), downsampling and the classic x2; plus
 * values known from PyTorch.
 */
#include "tests/ops/ops_test.h"

#include <math.h>

/* Source index pair and weights of output index o on one axis. */
static void src_of(int mode, int64_t in, int64_t out, int64_t o, int64_t *i0, int64_t *i1,
                   float *l1)
{
    float scale = (float)in / (float)out;
    if (mode == RT_UP_NEAREST) {
        int64_t s = (int64_t)floorf((float)o * scale);
        *i0 = *i1 = s < in - 1 ? s : in - 1;
        *l1 = 0;
        return;
    }
    float r = in == out ? (float)o : scale * ((float)o + 0.5f) - 0.5f;
    r = r < 0 ? 0 : r;
    *i0 = (int64_t)r < in - 1 ? (int64_t)r : in - 1;
    *i1 = *i0 < in - 1 ? *i0 + 1 : *i0;
    *l1 = fminf(fmaxf(r - (float)*i0, 0), 1);
}

static void naive_upsample(int mode, int nsp, const rt_tensor *x, rt_tensor *y)
{
    int64_t I[3] = {1, 1, 1}, O[3] = {1, 1, 1};
    for (int i = 0; i < nsp; i++) {
        I[3 - nsp + i] = x->type.dim[2 + i];
        O[3 - nsp + i] = y->type.dim[2 + i];
    }
    int64_t planes = x->type.dim[0] * x->type.dim[1], k = 0, o[3];
    for (int64_t p = 0; p < planes; p++)
        for (o[0] = 0; o[0] < O[0]; o[0]++)
            for (o[1] = 0; o[1] < O[1]; o[1]++)
                for (o[2] = 0; o[2] < O[2]; o[2]++) {
                    int64_t idx[3][2];
                    float w[3][2];
                    for (int j = 0; j < 3; j++) {
                        src_of(mode, I[j], O[j], o[j], &idx[j][0], &idx[j][1], &w[j][1]);
                        w[j][0] = 1 - w[j][1];
                    }
                    double v = 0;
                    for (int c = 0; c < 8; c++) {
                        int a = c >> 2 & 1, b = c >> 1 & 1, d = c & 1;
                        int64_t at = ((p * I[0] + idx[0][a]) * I[1] + idx[1][b]) * I[2] + idx[2][d];
                        v += (double)w[0][a] * w[1][b] * w[2][d] * rt_f32(x)[at];
                    }
                    rt_f32(y)[k++] = (float)v;
                }
}

static void run_up(int mode, int nsp, const int64_t *in, const int64_t *out, uint32_t seed)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = nsp;
    a.mode = mode;
    int64_t xd[5] = {2, 3}, yd[5] = {2, 3};
    for (int i = 0; i < nsp; i++)
        xd[2 + i] = in[i], yd[2 + i] = out[i];
    rt_tensor *x = tt_rand(seed, nsp + 2, xd), *y = tt_new(RT_F32, nsp + 2, yd), *want = tt_like(y);
    tt_run(OP_UPSAMPLE, &a, &x, 1, y);
    naive_upsample(mode, nsp, x, want);
    CHECK_TENSOR(y, want, 2e-6);
    tt_free(x), tt_free(y), tt_free(want);
}

static void run_all_sizes(int mode)
{
    static const int64_t s1[][2] = {{3, 7}, {4, 8}, {5, 3}, {2, 4}, {1, 3}, {6, 6}};
    for (size_t i = 0; i < sizeof s1 / sizeof s1[0]; i++)
        run_up(mode, 1, &s1[i][0], &s1[i][1], 60 + (uint32_t)i);
    run_up(mode, 2, (int64_t[]){3, 4}, (int64_t[]){7, 8}, 70);
    run_up(mode, 2, (int64_t[]){4, 4}, (int64_t[]){8, 8}, 71);
    run_up(mode, 2, (int64_t[]){5, 7}, (int64_t[]){3, 7}, 72);
    run_up(mode, 3, (int64_t[]){2, 3, 3}, (int64_t[]){4, 7, 6}, 73);
    run_up(mode, 3, (int64_t[]){3, 3, 3}, (int64_t[]){6, 6, 6}, 74);
    run_up(mode, 3, (int64_t[]){4, 5, 3}, (int64_t[]){3, 5, 8}, 75);
}

TEST(upsample_nearest_naive) { run_all_sizes(RT_UP_NEAREST); }
TEST(upsample_linear_naive) { run_all_sizes(RT_UP_LINEAR); }

/* Upsample a [1, 1, n] row to m with mode; returns the output tensor. */
static rt_tensor *up_row(int mode, const float *v, int64_t n, int64_t m)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 1;
    a.mode = mode;
    rt_tensor *x = TT_NEW(RT_F32, 1, 1, n), *y = TT_NEW(RT_F32, 1, 1, m);
    for (int64_t i = 0; i < n; i++)
        rt_f32(x)[i] = v[i];
    tt_run(OP_UPSAMPLE, &a, &x, 1, y);
    tt_free(x);
    return y;
}

TEST(upsample_known_pytorch_values)
{
    /* F.interpolate(torch.tensor([[[1., 2.]]]), size=4, mode='linear') */
    rt_tensor *y = up_row(RT_UP_LINEAR, (float[]){1, 2}, 2, 4);
    const float lin[4] = {1.0f, 1.25f, 1.75f, 2.0f};
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(rt_f32(y)[i], lin[i], 0);
    tt_free(y);
    /* F.interpolate(arange(3.), size=7, mode='nearest') = [0,0,0,1,1,2,2] */
    y = up_row(RT_UP_NEAREST, (float[]){0, 1, 2}, 3, 7);
    const float near[7] = {0, 0, 0, 1, 1, 2, 2};
    for (int i = 0; i < 7; i++)
        CHECK_NEAR(rt_f32(y)[i], near[i], 0);
    tt_free(y);
    /* linear 3 -> 7: r = 3/7 (o + 0.5) - 0.5 clamped at 0 */
    y = up_row(RT_UP_LINEAR, (float[]){0, 1, 2}, 3, 7);
    const double l7[7] = {0, 1.0 / 7, 4.0 / 7, 1, 10.0 / 7, 13.0 / 7, 2};
    for (int i = 0; i < 7; i++)
        CHECK_NEAR(rt_f32(y)[i], l7[i], 1e-6);
    tt_free(y);
}

TEST(upsample_bilinear_x2_known)
{
    /* F.interpolate([[1, 2], [3, 4]], scale_factor=2, mode='bilinear') */
    static const float want[16] = {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                                   2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f};
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 2;
    a.mode = RT_UP_LINEAR;
    rt_tensor *x = TT_NEW(RT_F32, 1, 1, 2, 2), *y = TT_NEW(RT_F32, 1, 1, 4, 4);
    for (int i = 0; i < 4; i++)
        rt_f32(x)[i] = (float)(i + 1);
    tt_run(OP_UPSAMPLE, &a, &x, 1, y);
    for (int i = 0; i < 16; i++)
        CHECK_NEAR(rt_f32(y)[i], want[i], 0);
    tt_free(x), tt_free(y);
}

TEST(upsample_trilinear_2_to_4)
{
    /* A [1, 1, 2, 2, 2] volume equal to 1 + x: every x-row becomes
     * [1, 1.25, 1.75, 2] at every (z, y) of the 4^3 output. */
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 3;
    a.mode = RT_UP_LINEAR;
    rt_tensor *x = TT_NEW(RT_F32, 1, 1, 2, 2, 2), *y = TT_NEW(RT_F32, 1, 1, 4, 4, 4);
    for (int i = 0; i < 8; i++)
        rt_f32(x)[i] = (float)(1 + i % 2);
    tt_run(OP_UPSAMPLE, &a, &x, 1, y);
    const float row[4] = {1.0f, 1.25f, 1.75f, 2.0f};
    for (int i = 0; i < 64; i++)
        CHECK_NEAR(rt_f32(y)[i], row[i % 4], 0);
    tt_free(x), tt_free(y);
}

TEST(upsample_nearest_keeps_inf)
{
    rt_tensor *y = up_row(RT_UP_NEAREST, (float[]){INFINITY, 1}, 2, 4);
    CHECK(isinf(rt_f32(y)[0]) && isinf(rt_f32(y)[1]) && rt_f32(y)[2] == 1);
    tt_free(y);
}
