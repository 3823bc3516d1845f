/* metrics.c — segmentation metrics over a confusion matrix.
 *
 * Validation accumulates one confusion matrix over the whole validation
 * set (so Dice and IoU are per set, not averaged per case, which is what
 * nnU-Net's "global Dice" reports) and reads every metric a schedule can
 * name from it: per-class Dice and IoU, the foreground as one object, the
 * mean Dice of the foreground classes and the mean IoU of all. A class
 * absent from both truth and prediction has Dice and IoU 1 (nothing to
 * find, nothing found). Also here: how a prediction output becomes a
 * label map (rt_decode).
 */
#include "runtime.h"

#include <math.h>
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

/* ------------------------------------------------------------- objects */

typedef struct obj_walk {
    const int32_t *pred, *truth;
    int64_t size[3];
    unsigned char *seen;
    int64_t *stack;
} obj_walk;

/* Flood the component of class k from voxel v (6-connected in 3D, 4 in
 * 2D): 1 when any voxel of it is predicted k. */
static int obj_flood(obj_walk *w, int64_t v, int k)
{
    int64_t sy = w->size[2], sz = w->size[1] * w->size[2], n = 0;
    int hit = 0;
    w->stack[n++] = v;
    w->seen[v] = 1;
    while (n > 0) {
        int64_t u = w->stack[--n], z = u / sz, y = u / sy % w->size[1], x = u % sy;
        hit |= w->pred[u] == k;
        int64_t nb[6] = {x > 0 ? u - 1 : -1, x + 1 < w->size[2] ? u + 1 : -1,
                         y > 0 ? u - sy : -1, y + 1 < w->size[1] ? u + sy : -1,
                         z > 0 ? u - sz : -1, z + 1 < w->size[0] ? u + sz : -1};
        for (int j = 0; j < 6; j++)
            if (nb[j] >= 0 && !w->seen[nb[j]] && w->truth[nb[j]] == k) {
                w->seen[nb[j]] = 1;
                w->stack[n++] = nb[j];
            }
    }
    return hit;
}

void rt_confusion_add_objects(rt_confusion *c, const int32_t *pred, const int32_t *truth,
                              int nsp, const int64_t *size)
{
    obj_walk w = {pred, truth, {1, 1, 1}, NULL, NULL};
    for (int a = 0; a < nsp; a++)
        w.size[3 - nsp + a] = size[a];
    int64_t n = w.size[0] * w.size[1] * w.size[2];
    w.seen = seg_xcalloc((size_t)n, 1);
    w.stack = seg_xcalloc((size_t)n, sizeof *w.stack);
    for (int64_t v = 0; v < n; v++) {
        int k = truth[v];
        if (k <= 0 || k >= c->classes || w.seen[v])
            continue;
        c->objects[k]++;
        c->detected[k] += obj_flood(&w, v, k);
    }
    seg_free(w.seen);
    seg_free(w.stack);
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

/* ------------------------------------------------------------ decoding */

int rt_decode_classes(rt_decode d, int channels)
{
    switch (d) {
    case RT_DECODE_THRESHOLD:
        return 2;
    case RT_DECODE_ARGMAX:
        return channels;
    case RT_DECODE_NESTED:
        return channels + 1;
    }
    SEG_UNREACHABLE();
}

static int32_t decode_voxel(rt_decode d, float thr, const float *o, int channels, int64_t spatial)
{
    int best = 0;
    switch (d) {
    case RT_DECODE_THRESHOLD:
        return o[0] > thr;
    case RT_DECODE_ARGMAX:
        for (int k = 1; k < channels; k++)
            if (o[k * spatial] > o[best * spatial])
                best = k;
        return best;
    case RT_DECODE_NESTED:
        for (int k = 0; k < channels; k++)
            if (o[k * spatial] > thr)
                best = k + 1;
        return best;
    }
    SEG_UNREACHABLE();
}

void rt_decode_map(rt_decode d, float threshold, const float *out, int64_t n, int channels,
                   int64_t spatial, int32_t *cls)
{
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < spatial; i++)
            cls[b * spatial + i] = decode_voxel(d, threshold, out + b * channels * spatial + i,
                                                channels, spatial);
}

/* ------------------------------------------------------------- metrics */

void rt_val_metrics_of(const rt_confusion *c, rt_val_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->classes = c->classes;
    double sum_dice = 0;
    for (int k = 0; k < c->classes; k++) {
        m->dice[k] = rt_confusion_dice(c, k);
        m->iou[k] = rt_confusion_iou(c, k);
        sum_dice += k > 0 ? m->dice[k] : 0;
    }
    rt_confusion fg;
    rt_confusion_foreground(c, &fg);
    m->dice_fg = rt_confusion_dice(&fg, 1);
    m->iou_fg = rt_confusion_iou(&fg, 1);
    m->mean_dice = c->classes > 1 ? sum_dice / (c->classes - 1) : m->dice_fg;
    m->miou = rt_confusion_miou(c);
    for (int k = 0; k < c->classes; k++)
        m->detection[k] = c->objects[k] ? (double)c->detected[k] / (double)c->objects[k] : NAN;
}

double rt_val_metric(const rt_val_metrics *m, rt_metric which)
{
    SEG_ASSERT(which.cls < m->classes);
    switch (which.kind) {
    case RT_METRIC_DICE:
        return which.cls < 0 ? m->dice_fg : m->dice[which.cls];
    case RT_METRIC_IOU:
        return which.cls < 0 ? m->iou_fg : m->iou[which.cls];
    case RT_METRIC_MEAN_DICE:
        return m->mean_dice;
    case RT_METRIC_MIOU:
        return m->miou;
    }
    SEG_UNREACHABLE();
}

void rt_metric_name(rt_metric m, const char *const *class_names, char *buf, size_t n)
{
    switch (m.kind) {
    case RT_METRIC_DICE:
    case RT_METRIC_IOU:
        snprintf(buf, n, "%s_%s", m.kind == RT_METRIC_DICE ? "dice" : "iou",
                 m.cls < 0 ? "fg" : class_names[m.cls]);
        return;
    case RT_METRIC_MEAN_DICE:
        snprintf(buf, n, "mean_dice");
        return;
    case RT_METRIC_MIOU:
        snprintf(buf, n, "miou");
        return;
    }
    SEG_UNREACHABLE();
}
