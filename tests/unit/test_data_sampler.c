/* test_data_sampler.c — patch sampling (foreground share per batch and in
 * expectation for B = 1, determinism by (seed, epoch, index), epoch
 * permutations, patches larger than the case) and batch assembly
 * (padding, distance maps).
 */
#include "runtime/runtime.h"
#include "test.h"

#include <string.h>

/* Small 3D phantoms: 32^3, 1..2 lesions, organ about 8% of the volume. */
static int small_dataset(rt_dataset *ds, int cases)
{
    rt_synth_opts o;
    rt_error e = {{0}};
    rt_synth_opts_init(&o, "lesions3d", &e);
    o.size[0] = o.size[1] = o.size[2] = 32;
    o.cases = cases;
    o.lesions_min = 1, o.lesions_max = 2, o.lesion_radius_max = 3;
    o.organ_radius_min = 0.15f, o.organ_radius_max = 0.2f;
    int rc = rt_dataset_synthetic(ds, &o, &e);
    if (rc)
        test_fail_at(__FILE__, __LINE__, "%s", e.msg);
    return rc;
}

static int patch_has_fg(const rt_case *c, const rt_patch *p, const int64_t size[3])
{
    for (int64_t z = 0; z < size[0]; z++)
        for (int64_t y = 0; y < size[1]; y++)
            for (int64_t x = 0; x < size[2]; x++) {
                int64_t s[3] = {z + p->origin[0], y + p->origin[1], x + p->origin[2]};
                if (s[0] >= 0 && s[1] >= 0 && s[2] >= 0 && s[0] < c->size[0] && s[1] < c->size[1] &&
                    s[2] < c->size[2] && c->label[(s[0] * c->size[1] + s[1]) * c->size[2] + s[2]] > 0)
                    return 1;
            }
    return 0;
}

TEST(data_sampler_foreground_fraction)
{
    long live = seg_alloc_live();
    rt_dataset ds = {0};
    if (small_dataset(&ds, 5))
        return;
    rt_sampler s;
    int64_t patch[3] = {8, 8, 8};
    rt_sampler_init(&s, 3, patch, 3, 11);
    CHECK_NEAR(s.fg_fraction, 0.33, 1e-6);
    rt_patch p[3];
    rt_error e = {{0}};
    int forced = 0, fg = 0, total = 0;
    for (uint64_t b = 0; b < 40; b++) {
        CHECK_INT(rt_sampler_batch(&s, &ds, 0, b, p, &e), 0);
        CHECK_INT(p[0].forced_fg + p[1].forced_fg + p[2].forced_fg, 1); /* round(3 * 0.33) */
        CHECK_INT(p[2].forced_fg, 1);
        for (int i = 0; i < 3; i++) {
            const rt_case *c = &ds.cases[p[i].case_index];
            int has = patch_has_fg(c, &p[i], s.patch);
            if (p[i].forced_fg)
                CHECK(has);
            for (int a = 0; a < 3; a++)
                CHECK(p[i].origin[a] >= 0 && p[i].origin[a] + 8 <= 32);
            forced += p[i].forced_fg, fg += has, total++;
        }
    }
    CHECK_INT(forced, 40);
    CHECK((double)fg / total >= 0.33);
    rt_dataset_free(&ds);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(data_sampler_batch_of_one)
{
    rt_dataset ds = {0};
    if (small_dataset(&ds, 3))
        return;
    rt_sampler s;
    int64_t patch[3] = {8, 8, 8};
    rt_sampler_init(&s, 3, patch, 1, 5);
    rt_patch p;
    rt_error e = {{0}};
    int forced = 0;
    for (uint64_t b = 0; b < 600; b++) {
        rt_sampler_batch(&s, &ds, b / 3, b % 3, &p, &e);
        forced += p.forced_fg;
    }
    CHECK_NEAR(forced / 600.0, 0.33, 0.06); /* expected share even at B = 1 */
    rt_dataset_free(&ds);
}

static int same_patches(const rt_patch *a, const rt_patch *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i].case_index != b[i].case_index || a[i].forced_fg != b[i].forced_fg ||
            memcmp(a[i].origin, b[i].origin, sizeof a[i].origin) != 0)
            return 0;
    return 1;
}

TEST(data_sampler_deterministic)
{
    rt_dataset ds = {0};
    if (small_dataset(&ds, 4))
        return;
    rt_sampler s;
    int64_t patch[3] = {16, 16, 16};
    rt_sampler_init(&s, 3, patch, 4, 3);
    s.fg_fraction = 0.5f;
    rt_patch a[4], b[4], c[4];
    rt_error e = {{0}};
    rt_sampler_batch(&s, &ds, 2, 1, a, &e);
    rt_sampler_batch(&s, &ds, 5, 0, c, &e); /* something else in between */
    rt_sampler_batch(&s, &ds, 2, 1, b, &e);
    CHECK(same_patches(a, b, 4));
    CHECK(!same_patches(a, c, 4));
    /* one batch of 4 in an epoch of 4 cases visits each case once */
    int seen[4] = {0};
    rt_sampler_batch(&s, &ds, 7, 0, a, &e);
    for (int i = 0; i < 4; i++)
        seen[a[i].case_index]++;
    CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1 && seen[3] == 1);
    rt_dataset ds0 = {0};
    CHECK_INT(rt_sampler_batch(&s, &ds0, 0, 0, a, &e), -1);
    CHECK_STR(e.msg, "cannot sample patches from an empty dataset");
    rt_dataset_free(&ds);
}

TEST(data_batch_fill_padding_and_distance)
{
    long live = seg_alloc_live();
    rt_dataset ds = {0};
    if (small_dataset(&ds, 2))
        return;
    rt_sampler s;
    int64_t patch[3] = {40, 24, 24}; /* taller than the 32^3 case: padded */
    rt_sampler_init(&s, 3, patch, 2, 9);
    s.fg_fraction = 1;
    rt_patch p[2];
    rt_error e = {{0}};
    CHECK_INT(rt_sampler_batch(&s, &ds, 0, 0, p, &e), 0);
    CHECK(p[0].origin[0] >= -8 && p[0].origin[0] <= 0);
    int64_t m = 40 * 24 * 24;
    rt_batch b = {.n = 2, .channels = 1, .nsp = 3, .size = {40, 24, 24},
                  .image = seg_xcalloc((size_t)(2 * m), sizeof(float)),
                  .label = seg_xcalloc((size_t)(2 * m), sizeof(int32_t)),
                  .dist = seg_xcalloc((size_t)(2 * m), sizeof(float))};
    CHECK_INT(rt_batch_fill(&b, &ds, p, &e), 0);
    const rt_case *c = &ds.cases[p[1].case_index];
    float *d = seg_xcalloc((size_t)rt_case_numel(c), sizeof *d);
    rt_case_distance(c, d);
    int64_t z = 20, y = 5, x = 7;
    int64_t sz = z + p[1].origin[0], sy = y + p[1].origin[1], sx = x + p[1].origin[2];
    int64_t at = m + (z * 24 + y) * 24 + x, from = (sz * 32 + sy) * 32 + sx;
    CHECK(b.image[at] == c->image[from]);
    CHECK_INT(b.label[at], c->label[from]);
    CHECK(b.dist[at] == d[from]);
    int lab_fg = 0, dist_zero = 0;
    for (int64_t i = m; i < 2 * m; i++)
        lab_fg += b.label[i] > 0, dist_zero += b.dist[i] == 0;
    CHECK(lab_fg > 0 && lab_fg == dist_zero);
    if (p[1].origin[0] < 0) /* the first slice is padding */
        CHECK(b.image[m] == 0 && b.label[m] == 0);
    b.channels = 2;
    CHECK_INT(rt_batch_fill(&b, &ds, p, &e), -1);
    CHECK(strstr(e.msg, "lesions3d case") && strstr(e.msg, "1 channel(s)"));
    seg_free(d), seg_free(b.image), seg_free(b.label), seg_free(b.dist);
    rt_dataset_free(&ds);
    CHECK_INT(seg_alloc_live(), live);
}
