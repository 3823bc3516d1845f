/* test_data_dataset.c — datasets from files: PNG pairs by glob (sorted,
 * paired by order), list files, NIfTI pairs, and the errors: empty glob
 * naming the pattern, count mismatch, shape mismatch naming both files,
 * label values out of range naming file and value, bad list lines; a
 * failed load leaves the dataset as it was.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <string.h>
#include <sys/stat.h>

/* A fresh folder under the test tmpdir. */
static void ds_dir(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", test_tmpdir(), name);
    mkdir(buf, 0755);
}

/* An 8-bit gray PNG of w x h with pixel (y, x) = (y * w + x) % mod. */
static void ds_png(const char *dir, const char *name, int w, int h, int mod)
{
    char path[600];
    uint8_t px[64 * 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (int i = 0; i < w * h; i++)
        px[i] = (uint8_t)(i % mod);
    rt_error e = {{0}};
    if (rt_png_write(path, w, h, 1, 8, px, &e))
        test_fail_at(__FILE__, __LINE__, "%s", e.msg);
}

static void ds_text(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST(data_dataset_png_glob)
{
    long live = seg_alloc_live();
    char dir[512], gi[600], gl[600];
    ds_dir(dir, sizeof dir, "pngset");
    const char *names[3] = {"c2.png", "c0.png", "c1.png"};
    for (int i = 0; i < 3; i++) {
        char lab[32];
        ds_png(dir, names[i], 12, 10, 200 + i);
        snprintf(lab, sizeof lab, "c%d_seg.png", names[i][1] - '0');
        ds_png(dir, lab, 12, 10, 3);
    }
    snprintf(gi, sizeof gi, "%s/c?.png", dir);
    snprintf(gl, sizeof gl, "%s/c?_seg.png", dir);
    rt_dataset ds = {0};
    rt_error e = {{0}};
    CHECK_INT(rt_dataset_glob(&ds, gi, gl, 3, &e), 0);
    CHECK_INT(ds.n, 3);
    if (ds.n == 3) {
        CHECK(strstr(ds.cases[0].source, "/c0.png") && strstr(ds.cases[2].source, "/c2.png"));
        CHECK_INT(ds.cases[1].nsp, 2);
        CHECK_INT(ds.cases[1].size[0], 10);
        CHECK_INT(ds.cases[1].size[1], 12);
        CHECK(ds.cases[1].image[119] == 119 % 201); /* c1 was written with mod 201 */
        CHECK_INT(ds.cases[1].label[119], 119 % 3);
    }
    CHECK_INT(rt_dataset_glob(&ds, gi, gl, 2, &e), -1); /* label 2 not below 2 classes */
    CHECK(strstr(e.msg, "c0_seg.png: label value 2 at voxel 2 is not an integer in [0, 2)"));
    CHECK_INT(ds.n, 3); /* unchanged */
    rt_dataset_free(&ds);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(data_dataset_glob_errors)
{
    char dir[512], gi[600], gl[600];
    ds_dir(dir, sizeof dir, "pngbad");
    ds_png(dir, "a.png", 8, 8, 256);
    ds_png(dir, "b.png", 8, 8, 256);
    ds_png(dir, "a_lab.png", 8, 8, 2);
    ds_png(dir, "b_lab.png", 8, 9, 2);
    rt_dataset ds = {0};
    rt_error e = {{0}};
    snprintf(gi, sizeof gi, "%s/nothing*.nii.gz", dir);
    snprintf(gl, sizeof gl, "%s/?_lab.png", dir);
    CHECK_INT(rt_dataset_glob(&ds, gi, gl, 2, &e), -1);
    CHECK(strstr(e.msg, "no files match '") && strstr(e.msg, "/nothing*.nii.gz'"));
    snprintf(gi, sizeof gi, "%s/[ab]*.png", dir);
    CHECK_INT(rt_dataset_glob(&ds, gi, gl, 2, &e), -1);
    CHECK(strstr(e.msg, "matches 4 files but") && strstr(e.msg, "matches 2"));
    snprintf(gi, sizeof gi, "%s/?.png", dir);
    CHECK_INT(rt_dataset_glob(&ds, gi, gl, 2, &e), -1);
    CHECK(strstr(e.msg, "shape mismatch: image ") && strstr(e.msg, "/b.png is 8x8 but label ") &&
          strstr(e.msg, "/b_lab.png is 9x8"));
    CHECK_INT(ds.n, 0);
    ds_png(dir, "mask.png", 8, 8, 256);
    char img[600], lab[600];
    snprintf(img, sizeof img, "%s/a.png", dir);
    snprintf(lab, sizeof lab, "%s/mask.png", dir);
    rt_case c;
    CHECK_INT(rt_case_load(&c, img, lab, 2, &e), -1);
    CHECK(strstr(e.msg, "mask.png: label value 2 at voxel 2") && strstr(e.msg, "[0, 2)"));
    rt_dataset_free(&ds);
}

TEST(data_dataset_list)
{
    long live = seg_alloc_live();
    char dir[512], list[600];
    ds_dir(dir, sizeof dir, "listset");
    ds_png(dir, "x0.png", 6, 5, 256);
    ds_png(dir, "y0.png", 6, 5, 4);
    ds_png(dir, "x1.png", 6, 5, 256);
    ds_png(dir, "y1.png", 6, 5, 4);
    ds_text(dir, "train.txt", "# image label\nx0.png y0.png\n\n  x1.png\ty1.png  # second\n");
    ds_text(dir, "bad.txt", "x0.png y0.png\nx1.png\n");
    ds_text(dir, "gone.txt", "x0.png y0.png\nx1.png nope.png\n");
    rt_dataset ds = {0};
    rt_error e = {{0}};
    snprintf(list, sizeof list, "%s/train.txt", dir);
    CHECK_INT(rt_dataset_list(&ds, list, 4, &e), 0);
    CHECK_INT(ds.n, 2);
    snprintf(list, sizeof list, "%s/bad.txt", dir);
    CHECK_INT(rt_dataset_list(&ds, list, 4, &e), -1);
    CHECK(strstr(e.msg, "bad.txt:2: expected two paths, 'image label'"));
    snprintf(list, sizeof list, "%s/gone.txt", dir);
    CHECK_INT(rt_dataset_list(&ds, list, 4, &e), -1);
    CHECK(strstr(e.msg, "cannot open") && strstr(e.msg, "listset/nope.png"));
    CHECK_INT(ds.n, 2); /* the failed lists added nothing */
    rt_dataset_free(&ds);
    CHECK_INT(seg_alloc_live(), live);
}

/* A 3D NIfTI volume nx=4, ny=3, nz=2 with voxel value f(i). */
static int ds_nifti(const char *dir, const char *name, float scale, float offset)
{
    char path[600];
    float data[24];
    for (int i = 0; i < 24; i++)
        data[i] = offset + scale * (float)(i % 3);
    rt_volume v = {.nx = 4, .ny = 3, .nz = 2, .nt = 1, .spacing = {0.5f, 0.7f, 3.0f}, .data = data};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    rt_error e = {{0}};
    int rc = rt_nifti_write(path, &v, RT_F32, &e);
    if (rc)
        test_fail_at(__FILE__, __LINE__, "%s", e.msg);
    return rc;
}

TEST(data_dataset_nifti)
{
    char dir[512], gi[600], gl[600];
    ds_dir(dir, sizeof dir, "niiset");
    if (ds_nifti(dir, "img_0.nii.gz", 10, 5) || ds_nifti(dir, "lab_0.nii.gz", 1, 0) ||
        ds_nifti(dir, "img_1.nii", 2, 0) || ds_nifti(dir, "lab_1.nii", 0.5f, 0))
        return;
    snprintf(gi, sizeof gi, "%s/img_*", dir);
    snprintf(gl, sizeof gl, "%s/lab_*", dir);
    rt_dataset ds = {0};
    rt_error e = {{0}};
    CHECK_INT(rt_dataset_glob(&ds, gi, gl, 3, &e), -1); /* lab_1 holds 0.5 */
    CHECK(strstr(e.msg, "lab_1.nii: label value 0.5 at voxel 1 is not an integer in [0, 3)"));
    snprintf(gi, sizeof gi, "%s/img_0*", dir);
    snprintf(gl, sizeof gl, "%s/lab_0*", dir);
    CHECK_INT(rt_dataset_glob(&ds, gi, gl, 3, &e), 0);
    if (ds.n == 1) {
        rt_case *c = &ds.cases[0];
        CHECK(c->nsp == 3 && c->channels == 1);
        CHECK(c->size[0] == 2 && c->size[1] == 3 && c->size[2] == 4);
        CHECK_NEAR(c->spacing[0], 3.0, 1e-6);
        CHECK_NEAR(c->spacing[2], 0.5, 1e-6);
        CHECK_NEAR(c->image[5], 5 + 10 * (5 % 3), 1e-6);
        CHECK_INT(c->label[5], 5 % 3);
    }
    rt_dataset_free(&ds);
}
