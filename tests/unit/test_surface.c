/* test_surface.c — runtime/surface.c against values worked out by hand:
 * Dice, IoU, HD95 and ASD (mm, anisotropic spacing) on tiny masks, the
 * empty-mask conventions, and the largest-component filter; and the
 * geometry of `segc infer`'s results: a NIfTI volume with an oblique
 * sform, anisotropic pixdim and odd sizes keeps its header when labels
 * are written with it, and a resampled prediction returns to its grid.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <math.h>
#include <nifti1_io.h>
#include <stdio.h>
#include <string.h>

/* A line of 10 voxels along x, 2 mm apart: pred 2..4, truth 3..6.
 * Surfaces (ends of each run): pred {2, 4}, truth {3, 6}.
 * pred -> truth: 2 -> 3: 2 mm; 4 -> 3: 2 mm.      {2, 2}: P95 = 2
 * truth -> pred: 3 -> 2 or 4: 2 mm; 6 -> 4: 4 mm.  {2, 4}: P95 = 2 + 0.95 * 2 = 3.9
 * HD95 = 3.9; ASD = (2 + 2 + 2 + 4) / 4 = 2.5; Dice = 2 * 2 / (3 + 4); IoU = 2 / 5. */
TEST(surface_hd95_asd_by_hand_line)
{
    uint8_t p[10] = {0, 0, 1, 1, 1, 0, 0, 0, 0, 0}, t[10] = {0, 0, 0, 1, 1, 1, 1, 0, 0, 0};
    int64_t size[3] = {1, 1, 10};
    float sp[3] = {5, 5, 2};
    rt_mask_eval m;
    rt_mask_metrics(p, t, 3, size, sp, &m);
    CHECK_NEAR(m.dice, 4.0 / 7.0, 1e-12);
    CHECK_NEAR(m.iou, 0.4, 1e-12);
    CHECK_NEAR(m.hd95, 3.9, 1e-6);
    CHECK_NEAR(m.asd, 2.5, 1e-6);
    CHECK_INT(m.pred_voxels, 3);
    CHECK_INT(m.truth_voxels, 4);
}

/* 2D, rows 1 mm and columns 3 mm apart: truth a 3x3 square at rows 1-3,
 * columns 1-3; pred the same square one column to the right. A 3x3
 * square's surface is all but its centre (8 voxels each).
 * pred -> truth, by voxel (row, col): (1,2) 0, (1,3) 0, (1,4) 3, (2,2) 1
 * (the truth's centre, 1 mm from (1,2)), (2,4) 3, (3,2) 0, (3,3) 0, (3,4) 3.
 * truth -> pred mirrors it: (1,1) 3, (1,2) 0, (1,3) 0, (2,1) 3, (2,3) 1,
 * (3,1) 3, (3,2) 0, (3,3) 0. Each sorted: 0 0 0 0 1 3 3 3, so P95 (rank
 * 6.65) = 3 = HD95; ASD = (10 + 10) / 16 = 1.25; Dice = 2 * 6 / 18. */
TEST(surface_hd95_asd_by_hand_2d)
{
    uint8_t p[25] = {0}, t[25] = {0};
    for (int r = 1; r <= 3; r++)
        for (int c = 1; c <= 3; c++)
            t[r * 5 + c] = 1, p[r * 5 + c + 1] = 1;
    int64_t size[3] = {5, 5, 1};
    float sp[3] = {1, 3, 1};
    rt_mask_eval m;
    rt_mask_metrics(p, t, 2, size, sp, &m);
    CHECK_NEAR(m.dice, 12.0 / 18.0, 1e-12);
    CHECK_NEAR(m.hd95, 3.0, 1e-6);
    CHECK_NEAR(m.asd, 1.25, 1e-6);
}

TEST(surface_empty_masks)
{
    uint8_t z[8] = {0}, one[8] = {0, 0, 0, 1, 0, 0, 0, 0};
    int64_t size[3] = {2, 2, 2};
    float sp[3] = {1, 1, 1};
    rt_mask_eval m;
    rt_mask_metrics(z, z, 3, size, sp, &m);
    CHECK(m.dice == 1 && m.iou == 1 && m.hd95 == 0 && m.asd == 0);
    rt_mask_metrics(z, one, 3, size, sp, &m);
    CHECK(m.dice == 0 && m.iou == 0 && isnan(m.hd95) && isnan(m.asd));
    rt_mask_metrics(one, one, 3, size, sp, &m);
    CHECK(m.dice == 1 && m.hd95 == 0 && m.asd == 0);
}

/* Class 1: a 2-voxel diagonal pair (one component under 26-connectivity)
 * and a 3-voxel bar elsewhere; class 2: two single voxels. */
TEST(surface_keep_largest_component)
{
    int32_t lab[4 * 4 * 4] = {0};
    int64_t size[3] = {4, 4, 4};
#define AT(z, y, x) lab[((z) * 4 + (y)) * 4 + (x)]
    AT(0, 0, 0) = 1, AT(1, 1, 1) = 1, AT(2, 2, 2) = 1; /* diagonal: 3, connected */
    AT(0, 3, 0) = 1, AT(0, 3, 1) = 1;                   /* 2 */
    AT(3, 0, 3) = 2, AT(3, 3, 3) = 2;                   /* ties: the first stays */
    rt_keep_largest(lab, size, 3);
    CHECK_INT(AT(1, 1, 1), 1);
    CHECK_INT(AT(2, 2, 2), 1);
    CHECK_INT(AT(0, 3, 0), 0);
    CHECK_INT(AT(0, 3, 1), 0);
    CHECK_INT(AT(3, 0, 3), 2);
    CHECK_INT(AT(3, 3, 3), 0);
#undef AT
}

/* ------------------------------------------------------------ geometry */

/* An oblique affine (a rotation about z by 30 degrees, then y by 10),
 * pixdim 0.7 x 1.3 x 3.1 mm, size 13 x 11 x 7: written, read, and written
 * again as uint8 labels with the read header, as infer does. */
TEST(infer_geometry_oblique_round_trip)
{
    rt_volume v;
    memset(&v, 0, sizeof v);
    v.nx = 13, v.ny = 11, v.nz = 7, v.nt = 1;
    float sp[3] = {0.7f, 1.3f, 3.1f};
    double a = 30 * M_PI / 180, b = 10 * M_PI / 180;
    double R[3][3] = {{cos(a) * cos(b), -sin(a), cos(a) * sin(b)},
                      {sin(a) * cos(b), cos(a), sin(a) * sin(b)},
                      {-sin(b), 0, cos(b)}};
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++)
            v.affine[r][c] = (float)(R[r][c] * sp[c]);
        v.affine[r][3] = (float)(-20 + 7 * r);
        v.spacing[r] = sp[r];
    }
    v.affine[3][3] = 1;
    int64_t n = 13 * 11 * 7;
    v.data = seg_xcalloc((size_t)n, sizeof *v.data);
    for (int64_t i = 0; i < n; i++)
        v.data[i] = (float)(i % 17);
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/oblique.nii.gz", test_tmpdir());
    snprintf(p2, sizeof p2, "%s/oblique_labels.nii.gz", test_tmpdir());
    rt_error err = {{0}};
    CHECK(rt_nifti_write(p1, &v, RT_F32, &err) == 0);
    seg_free(v.data);
    rt_volume in, out, back;
    CHECK(rt_nifti_read(p1, &in, &err) == 0);
    out = in; /* infer: the scan's header, its grid, labels as u8 */
    out.data = seg_xcalloc((size_t)n, sizeof *out.data);
    for (int64_t i = 0; i < n; i++)
        out.data[i] = (float)(i % 3);
    CHECK(rt_nifti_write(p2, &out, RT_U8, &err) == 0);
    CHECK(rt_nifti_read(p2, &back, &err) == 0);
    CHECK_INT(back.nx, 13);
    CHECK_INT(back.ny, 11);
    CHECK_INT(back.nz, 7);
    for (int r = 0; r < 3; r++) {
        CHECK_NEAR(back.spacing[r], sp[r], 1e-6);
        for (int c = 0; c < 4; c++) {
            CHECK_NEAR(back.affine[r][c], in.affine[r][c], 1e-6);
            CHECK_NEAR(in.affine[r][c], c < 3 ? R[r][c] * sp[c] : -20 + 7 * r, 1e-5);
        }
    }
    const nifti_1_header *hi = in.header, *hb = back.header;
    CHECK_INT(hb->sform_code, hi->sform_code);
    CHECK_INT(hb->qform_code, hi->qform_code);
    CHECK(memcmp(hb->srow_x, hi->srow_x, sizeof hi->srow_x) == 0);
    CHECK(memcmp(hb->pixdim + 1, hi->pixdim + 1, 3 * sizeof(float)) == 0);
    CHECK_INT(hb->datatype, DT_UINT8);
    CHECK_INT(back.data[5], 2);
    seg_free(out.data);
    rt_volume_free(&in);
    rt_volume_free(&back);
}

/* A prediction made at the training spacing (rt_case_resample) comes back
 * to the scan's odd grid with rt_resample_linear: the size exactly, and a
 * field linear along an axis survives inside the volume. */
TEST(infer_resample_back_to_scan_grid)
{
    rt_case c = {.nsp = 3, .channels = 1, .size = {7, 11, 13}, .spacing = {3.1f, 1.3f, 0.7f}};
    int64_t n = 7 * 11 * 13;
    c.image = seg_xcalloc((size_t)n, sizeof *c.image);
    c.label = seg_xcalloc((size_t)n, sizeof *c.label);
    c.source = seg_xstrdup("test");
    for (int64_t i = 0; i < n; i++)
        c.image[i] = (float)(i % 13); /* x */
    float train_sp[3] = {1.5f, 1.5f, 1.5f};
    rt_error err = {{0}};
    CHECK(rt_case_resample(&c, train_sp, &err) == 0);
    CHECK_INT(c.size[0], 14); /* round(7 * 3.1 / 1.5) */
    CHECK_INT(c.size[2], 6);  /* round(13 * 0.7 / 1.5) */
    int64_t to[3] = {7, 11, 13};
    float scan_sp[3] = {3.1f, 1.3f, 0.7f};
    float *back = seg_xcalloc((size_t)n, sizeof *back);
    rt_resample_linear(c.image, 1, c.size, c.spacing, back, to, scan_sp);
    for (int64_t x = 3; x < 10; x++)
        CHECK_NEAR(back[(3 * 11 + 5) * 13 + x], (double)x, 0.05);
    seg_free(back);
    rt_case_free(&c);
}
