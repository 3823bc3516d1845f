/* test_data_augment.c — augmentation is deterministic by (seed, step),
 * moves image, label and distance map together, keeps the voxel multiset
 * (a permutation) when only geometry is on, rotates only in planes of
 * equal sides, and applies intensity changes to the image alone.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* A batch whose image channel 0 = label = dist = a unique voxel id. */
static rt_batch id_batch(int n, int nsp, int64_t z, int64_t y, int64_t x)
{
    rt_batch b = {.n = n, .channels = 2, .nsp = nsp, .size = {z, y, x}};
    int64_t m = z * y * x;
    b.image = seg_xcalloc((size_t)(n * 2 * m), sizeof(float));
    b.label = seg_xcalloc((size_t)(n * m), sizeof(int32_t));
    b.dist = seg_xcalloc((size_t)(n * m), sizeof(float));
    for (int i = 0; i < n; i++)
        for (int64_t v = 0; v < m; v++) {
            b.image[i * 2 * m + v] = (float)v;
            b.image[i * 2 * m + m + v] = (float)(-v);
            b.label[i * m + v] = (int32_t)v;
            b.dist[i * m + v] = (float)v + 0.5f;
        }
    return b;
}

static void batch_free(rt_batch *b)
{
    seg_free(b->image), seg_free(b->label), seg_free(b->dist);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Geometry only: maps agree voxel by voxel, and each item is a permutation. */
static int consistent(const rt_batch *b, int *changed)
{
    int64_t m = b->size[0] * b->size[1] * b->size[2];
    int32_t *sorted = seg_xcalloc((size_t)m, sizeof *sorted);
    int ok = 1;
    for (int i = 0; i < b->n; i++) {
        for (int64_t v = 0; v < m; v++) {
            int32_t l = b->label[i * m + v];
            ok &= b->image[i * 2 * m + v] == (float)l && b->image[i * 2 * m + m + v] == (float)-l;
            ok &= b->dist[i * m + v] == (float)l + 0.5f;
            *changed |= l != v;
        }
        memcpy(sorted, b->label + i * m, (size_t)m * sizeof *sorted);
        qsort(sorted, (size_t)m, sizeof *sorted, cmp_i32);
        for (int64_t v = 0; v < m; v++)
            ok &= sorted[v] == v;
    }
    seg_free(sorted);
    return ok;
}

TEST(data_augment_geometry_consistent)
{
    long live = seg_alloc_live();
    rt_augment_opts o;
    rt_augment_opts_init(&o, 4);
    o.p_scale = o.p_shift = o.p_noise = 0;
    o.p_rot90 = 0.8f;
    int changed = 0;
    for (uint64_t step = 0; step < 10; step++) {
        rt_batch b = id_batch(3, 3, 6, 6, 9); /* rotation only in the (z, y) plane */
        rt_augment_batch(&o, step, &b);
        CHECK(consistent(&b, &changed));
        batch_free(&b);
        rt_batch b2 = id_batch(2, 2, 7, 7, 1);
        rt_augment_batch(&o, step, &b2);
        CHECK(consistent(&b2, &changed));
        batch_free(&b2);
    }
    CHECK(changed);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(data_augment_x_axis_kept_without_flip)
{
    /* no flips, rotations on: x (size 9) differs from z, y (6), so a row
     * along x keeps its order: voxel ids stay consecutive along x */
    rt_augment_opts o;
    rt_augment_opts_init(&o, 8);
    o.p_flip = o.p_scale = o.p_shift = o.p_noise = 0;
    o.p_rot90 = 1;
    rt_batch b = id_batch(4, 3, 6, 6, 9);
    rt_augment_batch(&o, 0, &b);
    int rotated = 0;
    for (int64_t r = 0; r < 4 * 36; r++) {
        for (int x = 1; x < 9; x++)
            CHECK_INT(b.label[r * 9 + x], b.label[r * 9 + x - 1] + 1);
        rotated |= b.label[r * 9] != (r % 36) * 9;
    }
    CHECK(rotated);
    batch_free(&b);
}

TEST(data_augment_deterministic)
{
    rt_augment_opts o;
    rt_augment_opts_init(&o, 21);
    o.p_flip = o.p_rot90 = o.p_scale = o.p_shift = o.p_noise = 0.5f;
    rt_batch a = id_batch(4, 3, 8, 8, 8), b = id_batch(4, 3, 8, 8, 8), c = id_batch(4, 3, 8, 8, 8);
    int64_t bytes = 4 * 2 * 512 * (int64_t)sizeof(float);
    rt_augment_batch(&o, 17, &a);
    rt_augment_batch(&o, 17, &b);
    rt_augment_batch(&o, 18, &c);
    CHECK(memcmp(a.image, b.image, (size_t)bytes) == 0);
    CHECK(memcmp(a.label, b.label, 4 * 512 * sizeof(int32_t)) == 0);
    CHECK(memcmp(a.image, c.image, (size_t)bytes) != 0);
    batch_free(&a), batch_free(&b), batch_free(&c);
}

TEST(data_augment_intensity_image_only)
{
    rt_augment_opts o;
    rt_augment_opts_init(&o, 2);
    o.p_flip = o.p_rot90 = 0;
    o.p_scale = 1, o.scale_lo = o.scale_hi = 2;
    o.p_shift = 1, o.shift = 0; /* U(-0, 0) */
    rt_batch b = id_batch(2, 3, 4, 4, 4);
    rt_augment_batch(&o, 0, &b);
    CHECK(b.image[5] == 10 && b.image[64 + 5] == -10);
    CHECK(b.label[5] == 5 && b.dist[5] == 5.5f);
    batch_free(&b);
    rt_augment_opts_init(&o, 2);
    o.p_flip = o.p_rot90 = o.p_scale = o.p_shift = 0;
    o.p_noise = 1;
    b = id_batch(1, 3, 4, 4, 4);
    rt_augment_batch(&o, 0, &b);
    int moved = 0;
    for (int v = 0; v < 64; v++) {
        moved += b.image[v] != (float)v;
        CHECK_INT(b.label[v], v);
    }
    CHECK(moved > 32);
    batch_free(&b);
}
