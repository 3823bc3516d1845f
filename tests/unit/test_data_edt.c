/* test_data_edt.c — the exact distance transform against brute force on
 * small random masks with anisotropic spacing, in 2D and 3D, plus the
 * empty-mask convention and rt_case_distance.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <math.h>
#include <string.h>

/* Brute force: min over foreground voxels of the physical distance. */
static double brute_dist(const uint8_t *m, const int64_t n[3], const float sp[3], int64_t i)
{
    int64_t z = i / (n[1] * n[2]), y = (i / n[2]) % n[1], x = i % n[2];
    double best = INFINITY;
    for (int64_t j = 0; j < n[0] * n[1] * n[2]; j++) {
        if (!m[j])
            continue;
        double dz = (double)(j / (n[1] * n[2]) - z) * sp[0];
        double dy = (double)((j / n[2]) % n[1] - y) * sp[1], dx = (double)(j % n[2] - x) * sp[2];
        best = fmin(best, dz * dz + dy * dy + dx * dx);
    }
    return sqrt(best);
}

static double edt_max_error(int nsp, const int64_t n[3], const float sp[3], double density,
                            uint64_t seed)
{
    int64_t numel = n[0] * n[1] * n[2];
    uint8_t *m = seg_xcalloc((size_t)numel, 1);
    float *d = seg_xcalloc((size_t)numel, sizeof *d);
    for (int64_t i = 0; i < numel; i++)
        m[i] = rt_rand_uniform01(seed, 7, 0, (uint64_t)i) < density;
    m[numel / 2] = 1; /* never empty */
    rt_edt(m, nsp, n, sp, d);
    double worst = 0;
    for (int64_t i = 0; i < numel; i++)
        worst = fmax(worst, fabs(d[i] - brute_dist(m, n, sp, i)));
    seg_free(m);
    seg_free(d);
    return worst;
}

TEST(data_edt_2d_brute_force)
{
    long live = seg_alloc_live();
    int64_t n[3] = {17, 23, 1};
    float sp[3] = {2.5f, 0.7f, 1};
    for (uint64_t seed = 1; seed <= 4; seed++)
        CHECK_NEAR(edt_max_error(2, n, sp, 0.02 * (double)seed, seed), 0, 1e-4);
    float iso[3] = {1, 1, 1};
    CHECK_NEAR(edt_max_error(2, n, iso, 0.01, 9), 0, 1e-4);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(data_edt_3d_brute_force)
{
    long live = seg_alloc_live();
    int64_t n[3] = {9, 11, 13};
    float sp[3] = {3.0f, 1.0f, 0.6f};
    for (uint64_t seed = 1; seed <= 4; seed++)
        CHECK_NEAR(edt_max_error(3, n, sp, 0.01 * (double)seed, seed + 10), 0, 1e-4);
    int64_t thin[3] = {1, 7, 30}; /* degenerate axis */
    CHECK_NEAR(edt_max_error(3, thin, sp, 0.05, 3), 0, 1e-4);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(data_edt_empty_and_full)
{
    int64_t n[3] = {4, 5, 6};
    float sp[3] = {2, 1, 0.5f}, d[120];
    uint8_t m[120];
    memset(m, 0, sizeof m);
    rt_edt(m, 3, n, sp, d);
    double diag = sqrt(8.0 * 8 + 5 * 5 + 3 * 3);
    CHECK_NEAR(d[0], diag, 1e-6);
    CHECK_NEAR(d[119], diag, 1e-6);
    memset(m, 1, sizeof m);
    rt_edt(m, 3, n, sp, d);
    for (int i = 0; i < 120; i++)
        CHECK(d[i] == 0);
}

TEST(data_edt_case_distance)
{
    int32_t lab[5 * 4] = {0};
    float img[20] = {0}, d[20];
    lab[2 * 4 + 1] = 2; /* one lesion voxel at (2, 1) */
    rt_case c = {.nsp = 2, .channels = 1, .size = {5, 4, 1}, .spacing = {2, 1, 1},
                 .image = img, .label = lab, .source = (char *)"t"};
    rt_case_distance(&c, d);
    CHECK_NEAR(d[2 * 4 + 1], 0, 1e-6);
    CHECK_NEAR(d[0 * 4 + 1], 4, 1e-6);         /* two rows up, 2 mm each */
    CHECK_NEAR(d[2 * 4 + 3], 2, 1e-6);         /* two columns right */
    CHECK_NEAR(d[4 * 4 + 3], sqrt(16 + 4), 1e-6);
}
