/* test_metrics.c — validation metrics (runtime/metrics.c) against values
 * computed by hand: per-class Dice and IoU, the foreground as one object,
 * mean Dice of the foreground classes, mIoU, lesion-wise detection, and
 * how each decoder turns an output into classes.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <math.h>
#include <string.h>

static int near(double a, double b) { return fabs(a - b) < 1e-12; }

/* truth / pred over 10 voxels, three classes:
 *   truth 0 0 0 0 1 1 1 2 2 0
 *   pred  0 0 0 1 1 1 0 2 1 0
 * class 1: tp 2, fp 2 (voxels 3, 8), fn 1 (voxel 6): Dice 4/7, IoU 2/5
 * class 2: tp 1, fp 0, fn 1: Dice 2/3, IoU 1/2
 * class 0: tp 4, fp 1, fn 1: Dice 8/10, IoU 4/6
 * foreground: tp 4 (3..8 minus 6 predicted fg with truth fg: 4,5,7,8), fp 1 (3), fn 1 (6) */
TEST(metrics_by_hand)
{
    const int32_t truth[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 0};
    const int32_t pred[10] = {0, 0, 0, 1, 1, 1, 0, 2, 1, 0};
    rt_confusion c;
    rt_confusion_init(&c, 3);
    rt_confusion_add(&c, pred, truth, 10);
    rt_val_metrics m;
    rt_val_metrics_of(&c, &m);
    CHECK(near(m.dice[1], 4.0 / 7) && near(m.iou[1], 2.0 / 5));
    CHECK(near(m.dice[2], 2.0 / 3) && near(m.iou[2], 1.0 / 2));
    CHECK(near(m.dice[0], 8.0 / 10) && near(m.iou[0], 4.0 / 6));
    CHECK(near(m.dice_fg, 8.0 / 10) && near(m.iou_fg, 4.0 / 6));
    CHECK(near(m.mean_dice, (4.0 / 7 + 2.0 / 3) / 2));
    CHECK(near(m.miou, (4.0 / 6 + 2.0 / 5 + 1.0 / 2) / 3));
    CHECK(near(rt_val_metric(&m, (rt_metric){RT_METRIC_DICE, 2}), 2.0 / 3));
    CHECK(near(rt_val_metric(&m, (rt_metric){RT_METRIC_IOU, -1}), 4.0 / 6));
    char name[48];
    const char *const names[] = {"background", "organ", "lesion"};
    rt_metric_name((rt_metric){RT_METRIC_DICE, 2}, names, name, sizeof name);
    CHECK_STR(name, "dice_lesion");
    rt_metric_name((rt_metric){RT_METRIC_IOU, -1}, names, name, sizeof name);
    CHECK_STR(name, "iou_fg");
}

/* A 1 x 4 x 5 volume with three lesions (class 1): two touched by the
 * prediction, one missed; a diagonal neighbour is another object. */
TEST(metrics_lesion_detection)
{
    const int32_t truth[20] = {1, 1, 0, 0, 0,
                               0, 0, 0, 1, 0,
                               0, 0, 1, 0, 0,
                               0, 0, 0, 0, 0};
    const int32_t pred[20] = {0, 1, 0, 0, 0,
                              0, 0, 0, 0, 0,
                              0, 0, 1, 0, 0,
                              0, 0, 0, 0, 1};
    const int64_t size[3] = {1, 4, 5};
    rt_confusion c;
    rt_confusion_init(&c, 2);
    rt_confusion_add(&c, pred, truth, 20);
    rt_confusion_add_objects(&c, pred, truth, 3, size);
    CHECK_INT(c.objects[1], 3);
    CHECK_INT(c.detected[1], 2);
    rt_val_metrics m;
    rt_val_metrics_of(&c, &m);
    CHECK(near(m.detection[1], 2.0 / 3));
    CHECK(isnan(m.detection[0]));
}

TEST(metrics_decoders)
{
    /* two samples, two voxels, three channels: [n][c][v] */
    const float out[12] = {0.2f, 0.7f, 0.6f, 0.2f, 0.2f, 0.1f,
                           0.1f, 0.3f, 0.3f, 0.3f, 0.6f, 0.4f};
    int32_t cls[4];
    rt_decode_map(RT_DECODE_ARGMAX, 0.5f, out, 2, 3, 2, cls);
    CHECK(cls[0] == 1 && cls[1] == 0 && cls[2] == 2 && cls[3] == 2);
    rt_decode_map(RT_DECODE_NESTED, 0.5f, out, 2, 3, 2, cls); /* last channel above 0.5, + 1 */
    CHECK(cls[0] == 2 && cls[1] == 1 && cls[2] == 3 && cls[3] == 0);
    rt_decode_map(RT_DECODE_THRESHOLD, 0.5f, out, 4, 1, 1, cls);
    CHECK(cls[0] == 0 && cls[1] == 1 && cls[2] == 1 && cls[3] == 0);
    CHECK_INT(rt_decode_classes(RT_DECODE_THRESHOLD, 1), 2);
    CHECK_INT(rt_decode_classes(RT_DECODE_ARGMAX, 3), 3);
    CHECK_INT(rt_decode_classes(RT_DECODE_NESTED, 2), 3);
}
