/* metrics.c — segmentation metrics over a confusion matrix.
 *
 * Validation accumulates one confusion matrix over the whole validation
 * set (so Dice and IoU are per set, not averaged per case, which is what
 * nnU-Net's "global Dice" reports) and reads per-class Dice, IoU and the
 * mean IoU from it. A class absent from both truth and prediction has
 * Dice and IoU 1 (nothing to find, nothing found).
 */
#include "runtime.h"

#include <string.h>

void rt_confusion_init(rt_confusion *c, int classes)
{
    SEG_ASSERT(classes >= 1 && classes <= RT_MAX_CLASSES);
    memset(c, 0, sizeof *c);
    c->classes = classes;
}

void rt_confusion_add(rt_confusion *c, const int32_t *pred, const int32_t *truth, int64_t n)
{
    int k = c->classes;
    for (int64_t i = 0; i < n; i++) {
        int t = truth[i], p = pred[i];
        if (t < 0 || t >= k || p < 0 || p >= k)
            continue; /* ignore-index voxels */
        c->m[t][p]++;
    }
}

/* Collapse classes >= 1 into foreground (organ + lesion as one object). */
void rt_confusion_foreground(const rt_confusion *c, rt_confusion *fg)
{
    rt_confusion_init(fg, 2);
    for (int t = 0; t < c->classes; t++)
        for (int p = 0; p < c->classes; p++)
            fg->m[t > 0][p > 0] += c->m[t][p];
}

static void class_counts(const rt_confusion *c, int cls, int64_t *tp, int64_t *fp, int64_t *fn)
{
    *tp = c->m[cls][cls];
    *fp = *fn = 0;
    for (int j = 0; j < c->classes; j++) {
        if (j == cls)
            continue;
        *fp += c->m[j][cls];
        *fn += c->m[cls][j];
    }
}

double rt_confusion_dice(const rt_confusion *c, int cls)
{
    int64_t tp, fp, fn;
    class_counts(c, cls, &tp, &fp, &fn);
    if (2 * tp + fp + fn == 0)
        return 1.0;
    return 2.0 * (double)tp / (double)(2 * tp + fp + fn);
}

double rt_confusion_iou(const rt_confusion *c, int cls)
{
    int64_t tp, fp, fn;
    class_counts(c, cls, &tp, &fp, &fn);
    if (tp + fp + fn == 0)
        return 1.0;
    return (double)tp / (double)(tp + fp + fn);
}

double rt_confusion_miou(const rt_confusion *c)
{
    double s = 0;
    for (int k = 0; k < c->classes; k++)
        s += rt_confusion_iou(c, k);
    return s / c->classes;
}

/* Class map from network output: argmax over channels, or threshold 0.5
 * for a single-channel probability map. out is [N, C, spatial...]. */
void rt_predict_classes(const float *out, int64_t n, int channels, int64_t spatial, int32_t *cls)
{
    for (int64_t b = 0; b < n; b++) {
        const float *o = out + b * channels * spatial;
        int32_t *dst = cls + b * spatial;
        for (int64_t i = 0; i < spatial; i++) {
            if (channels == 1) {
                dst[i] = o[i] > 0.5f;
                continue;
            }
            int best = 0;
            for (int k = 1; k < channels; k++)
                if (o[k * spatial + i] > o[best * spatial + i])
                    best = k;
            dst[i] = best;
        }
    }
}
