/* test_data_preprocess.c — clip, min-max and z-score (ranges, the
 * constant-image error that leaves the case unchanged), resampling
 * (sizes, spacing, label values kept, linear ramps stay linear) and
 * crop/pad (centred and at an offset).
 */
#include "runtime/runtime.h"
#include "test.h"

#include <math.h>
#include <string.h>

/* A case with arrays from the funnel, image = f(index), label = index % 3. */
static rt_case make_case(int nsp, int64_t z, int64_t y, int64_t x, int channels)
{
    rt_case c = {.nsp = nsp, .channels = channels, .size = {z, y, nsp == 3 ? x : 1},
                 .spacing = {1, 1, 1}, .source = seg_xstrdup("case 7")};
    int64_t n = rt_case_numel(&c);
    c.image = seg_xcalloc((size_t)(n * channels), sizeof(float));
    c.label = seg_xcalloc((size_t)n, sizeof(int32_t));
    for (int64_t i = 0; i < n * channels; i++)
        c.image[i] = (float)((i * 37) % 101) - 20;
    for (int64_t i = 0; i < n; i++)
        c.label[i] = (int32_t)(i % 3);
    return c;
}

TEST(data_pre_clip_minmax)
{
    long live = seg_alloc_live();
    rt_case c = make_case(3, 4, 5, 6, 2);
    rt_error e = {{0}};
    int64_t n = rt_case_numel(&c);
    rt_case_clip(&c, -10, 50);
    float lo = 1e9f, hi = -1e9f;
    for (int64_t i = 0; i < 2 * n; i++)
        lo = fminf(lo, c.image[i]), hi = fmaxf(hi, c.image[i]);
    CHECK(lo == -10 && hi == 50);
    CHECK_INT(rt_case_minmax(&c, &e), 0);
    for (int ch = 0; ch < 2; ch++) {
        lo = 1e9f, hi = -1e9f;
        for (int64_t i = 0; i < n; i++)
            lo = fminf(lo, c.image[ch * n + i]), hi = fmaxf(hi, c.image[ch * n + i]);
        CHECK(lo == 0 && hi == 1);
    }
    rt_case_free(&c);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(data_pre_zscore)
{
    rt_case c = make_case(2, 9, 11, 1, 1);
    rt_error e = {{0}};
    CHECK_INT(rt_case_zscore(&c, &e), 0);
    double s = 0, ss = 0;
    int64_t n = rt_case_numel(&c);
    for (int64_t i = 0; i < n; i++)
        s += c.image[i], ss += (double)c.image[i] * c.image[i];
    CHECK_NEAR(s / (double)n, 0, 1e-6);
    CHECK_NEAR(ss / (double)n, 1, 1e-5);
    rt_case_free(&c);
}

TEST(data_pre_constant_image)
{
    rt_case c = make_case(3, 2, 3, 4, 1);
    rt_error e = {{0}};
    for (int64_t i = 0; i < rt_case_numel(&c); i++)
        c.image[i] = 7;
    CHECK_INT(rt_case_minmax(&c, &e), -1);
    CHECK_STR(e.msg, "constant image (min = max = 7) in case 7");
    CHECK(c.image[5] == 7);
    e.msg[0] = 0;
    CHECK_INT(rt_case_zscore(&c, &e), -1);
    CHECK_STR(e.msg, "constant image (min = max = 7) in case 7");
    rt_case_free(&c);
    c = make_case(2, 3, 3, 1, 2); /* channel 1 constant: channel 0 must stay untouched */
    float first = c.image[0];
    for (int i = 9; i < 18; i++)
        c.image[i] = -2;
    CHECK_INT(rt_case_minmax(&c, &e), -1);
    CHECK_STR(e.msg, "constant image (min = max = -2) in case 7, channel 1");
    CHECK(c.image[0] == first);
    c.image[3] = NAN;
    CHECK_INT(rt_case_zscore(&c, &e), -1);
    CHECK(strstr(e.msg, "non-finite value nan at voxel 3 in case 7"));
    rt_case_free(&c);
}

TEST(data_pre_resample)
{
    long live = seg_alloc_live();
    rt_case c = make_case(3, 6, 8, 10, 1);
    c.spacing[0] = 2, c.spacing[2] = 0.5f;
    int64_t n = rt_case_numel(&c);
    for (int64_t i = 0; i < n; i++) /* a ramp along z */
        c.image[i] = (float)(i / 80);
    rt_error e = {{0}};
    float target[3] = {1, 1, 1};
    CHECK_INT(rt_case_resample(&c, target, &e), 0);
    CHECK_INT(c.size[0], 12);
    CHECK_INT(c.size[1], 8);
    CHECK_INT(c.size[2], 5);
    CHECK(c.spacing[0] == 1 && c.spacing[2] == 1);
    /* output z=5 sits at (5.5) * 1/2 - 0.5 = 2.25 source slices */
    CHECK_NEAR(c.image[5 * 40 + 17], 2.25, 1e-6);
    CHECK_NEAR(c.image[0], 0, 1e-6); /* clamped at the border */
    for (int64_t i = 0; i < rt_case_numel(&c); i++)
        CHECK(c.label[i] >= 0 && c.label[i] <= 2);
    target[1] = 0;
    CHECK_INT(rt_case_resample(&c, target, &e), -1);
    CHECK(strstr(e.msg, "target spacing must be positive"));
    rt_case_free(&c);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(data_pre_resample_labels_nearest)
{
    rt_case c = make_case(2, 4, 4, 1, 1);
    for (int i = 0; i < 16; i++)
        c.label[i] = (i % 4) < 2 ? 0 : 5; /* left half 0, right half 5 */
    rt_error e = {{0}};
    float target[3] = {0.5f, 0.5f, 1};
    CHECK_INT(rt_case_resample(&c, target, &e), 0);
    CHECK_INT(c.size[0], 8);
    CHECK_INT(c.size[1], 8);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            CHECK_INT(c.label[y * 8 + x], x < 4 ? 0 : 5);
    rt_case_free(&c);
}

TEST(data_pre_crop_pad)
{
    rt_case c = make_case(2, 5, 6, 1, 1);
    for (int i = 0; i < 30; i++)
        c.image[i] = (float)i;
    rt_error e = {{0}};
    int64_t size[3] = {3, 9, 1};
    CHECK_INT(rt_case_crop_pad(&c, size, NULL, -1, &e), 0);
    /* rows: crop 5 -> 3 from row 1; cols: pad 6 -> 9, one before, two after */
    CHECK(c.image[0] == -1);
    CHECK(c.image[1] == 6 && c.label[1] == 0);
    CHECK(c.image[6] == 11 && c.image[7] == -1 && c.image[8] == -1);
    CHECK(c.image[2 * 9 + 1] == 18);
    int64_t off[3] = {-1, 2, 0}, small[3] = {2, 2, 1};
    CHECK_INT(rt_case_crop_pad(&c, small, off, 0, &e), 0);
    CHECK(c.image[0] == 0 && c.image[2] == 7 && c.image[3] == 8);
    CHECK_INT(c.size[0], 2);
    rt_case_free(&c);
}
