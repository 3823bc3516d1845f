/* test_report.c — the run's pictures (runtime/report.c, overlay.c): where
 * the overlay views cut a case (the slice, row and column with the most
 * errors; the centre of a case without errors, and of one wrong
 * everywhere), the per-case foreground Dice, the picture's size in
 * millimetres for anisotropic spacing, the truth outline and prediction
 * fill colours; the charts' panels, ticks and escaping. No leaks.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <math.h>
#include <string.h>

/* A 3-D case of d^3 voxels with label 0 and image 0..1. */
static void cube(rt_case *c, int d)
{
    memset(c, 0, sizeof *c);
    c->nsp = 3;
    c->channels = 1;
    c->size[0] = c->size[1] = c->size[2] = d;
    c->spacing[0] = c->spacing[1] = c->spacing[2] = 1;
    c->image = seg_xcalloc((size_t)d * d * d, sizeof *c->image);
    c->label = seg_xcalloc((size_t)d * d * d, sizeof *c->label);
    for (int i = 0; i < d * d * d; i++)
        c->image[i] = (float)(i % 7) / 6.f;
}

TEST(report_overlay_focus_on_errors)
{
    long live = seg_alloc_live();
    rt_case c;
    cube(&c, 10);
    int32_t *pred = seg_xcalloc(1000, sizeof *pred);
    /* truth: a block of class 1 at z 2..3; the prediction misses z = 3
     * and adds a stray voxel at (7, 1, 8) */
    for (int z = 2; z <= 3; z++)
        for (int y = 4; y <= 6; y++)
            for (int x = 2; x <= 5; x++)
                c.label[z * 100 + y * 10 + x] = 1, pred[z * 100 + y * 10 + x] = z == 2;
    pred[7 * 100 + 1 * 10 + 8] = 1;
    rt_overlay_focus f;
    rt_overlay_focus_of(&c, c.label, pred, &f);
    CHECK_INT(f.errors, 13);
    CHECK_INT(f.at[0], 3);           /* the slice with 12 errors */
    CHECK(f.at[1] >= 4 && f.at[1] <= 6);
    CHECK(f.at[2] >= 2 && f.at[2] <= 5);
    CHECK_NEAR(f.dice_fg, 2.0 * 12 / (24 + 13), 1e-12);
    /* right everywhere: the centre */
    memcpy(pred, c.label, 1000 * sizeof *pred);
    rt_overlay_focus_of(&c, c.label, pred, &f);
    CHECK_INT(f.errors, 0);
    CHECK(f.at[0] == 5 && f.at[1] == 5 && f.at[2] == 5);
    /* wrong everywhere: ties go to the middle, not to slice 0 */
    for (int i = 0; i < 1000; i++)
        pred[i] = c.label[i] ? 0 : 1;
    rt_overlay_focus_of(&c, c.label, pred, &f);
    CHECK_INT(f.errors, 1000);
    CHECK(f.at[0] == 5 && f.at[1] == 5 && f.at[2] == 5);
    /* ignored truth (-1) is never an error */
    for (int i = 0; i < 1000; i++)
        c.label[i] = -1;
    rt_overlay_focus_of(&c, c.label, pred, &f);
    CHECK_INT(f.errors, 0);
    seg_free(pred);
    rt_case_free(&c);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(report_overlay_views_and_size)
{
    long live = seg_alloc_live();
    rt_case c;
    cube(&c, 8);
    c.spacing[0] = 4; /* thick slices: z spans 32 mm, y and x 8 mm */
    int32_t *pred = seg_xcalloc(512, sizeof *pred);
    for (int i = 0; i < 512; i++)
        c.label[i] = (i % 64) / 8 >= 2 && (i % 64) / 8 < 6 && i % 8 >= 2 && i % 8 < 6;
    rt_view v[3];
    CHECK_INT(rt_overlay_views(&c, v), 3);
    CHECK_STR(rt_view_name(v[1]), "coronal");
    rt_overlay_focus f;
    rt_overlay_focus_of(&c, c.label, pred, &f);
    char path[512];
    snprintf(path, sizeof path, "%s/overlay-coronal.png", test_tmpdir());
    rt_error e = {{0}};
    CHECK_INT(rt_overlay_write(path, &c, c.label, pred, RT_VIEW_CORONAL, &f, 64, &e), 0);
    rt_png img;
    if (rt_png_read(path, 3, &img, &e) == 0) {
        CHECK_INT(img.height, 64); /* rows are z: 32 mm at 0.5 mm per pixel */
        CHECK_INT(img.width, 16);  /* columns are x: 8 mm */
        uint8_t q[3];
        rt_overlay_colour(1, 1, q);
        int plane = img.width * img.height, outline = 0;
        for (int i = 0; i < plane; i++)
            outline += img.data[i] == q[0] && img.data[plane + i] == q[1] &&
                       img.data[2 * plane + i] == q[2];
        CHECK(outline > 0); /* the true region is outlined in its colour */
        rt_png_free(&img);
    } else {
        test_fail_at(__FILE__, __LINE__, "%s", e.msg);
    }
    uint8_t a[3], b[3];
    rt_overlay_colour(1, 0, a);
    rt_overlay_colour(1, 1, b);
    CHECK(memcmp(a, b, 3) != 0); /* prediction and truth differ */
    seg_free(pred);
    rt_case_free(&c);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(report_charts_panels_ticks_escaping)
{
    long live = seg_alloc_live();
    static const char *const names[] = {"background", "<organ>"};
    rt_epoch_row rows[5];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 5; i++) {
        rt_epoch_row *r = &rows[i];
        r->stage = i < 3 ? 0 : 1;
        r->stage_name = i < 3 ? "teach" : "kd";
        r->epoch = i < 3 ? i + 1 : i - 2;
        r->loss = i < 3 ? 100.0 / (i + 1) : 0.5 - 0.1 * i; /* very different scales */
        r->lr = 1e-3;
        r->validated = i != 1;
        r->val.classes = 2;
        r->val.dice[1] = 0.1 * i;
        r->class_names = names;
        r->best = i == 2;
    }
    seg_buf b = {0};
    rt_report_charts(&b, "a & b", rows, 5, 1);
    CHECK(strstr(b.data, "xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    CHECK(strstr(b.data, "a &amp; b") != NULL);
    CHECK(strstr(b.data, "&lt;organ&gt;") != NULL && strstr(b.data, "<organ>") == NULL);
    CHECK(strstr(b.data, ">teach<") && strstr(b.data, ">kd<"));
    CHECK(strstr(b.data, ">100<") != NULL);  /* the teacher's loss scale */
    CHECK(strstr(b.data, ">0.20<") != NULL); /* the student's, its own */
    CHECK(strstr(b.data, ">best<") != NULL);
    CHECK(strstr(b.data, "nan") == NULL);
    seg_buf_free(&b);
    rt_report_charts(&b, NULL, rows, 0, 0);
    CHECK(strstr(b.data, "no epochs yet") && !strstr(b.data, "xmlns"));
    seg_buf_free(&b);
    CHECK_INT(seg_alloc_live(), live);
}
