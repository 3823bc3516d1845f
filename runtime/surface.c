/* surface.c — per-case evaluation of a predicted mask against the truth
 * (Dice, IoU and the surface distances HD95 and ASD in millimetres), and
 * the largest-connected-component filter of `segc infer --keep-largest`.
 *
 * Surfaces: a voxel of a mask is on its surface when one of its face
 * neighbours (6 in 3D, 4 in 2D) is outside the mask or outside the volume
 * (medpy's binary_erosion border rule). The distance of each surface voxel
 * of A to B's surface is read from the exact Euclidean distance transform
 * of B's surface (runtime/data/edt.c, with the voxel spacing), and the
 * other way round. Then
 *   HD95 = max(P95 of A->B, P95 of B->A)   (MONAI's; P95 with numpy's
 *          default linear interpolation between order statistics)
 *   ASD  = mean of all distances of both directions together (the
 *          symmetric average surface distance).
 * Both masks empty: Dice = IoU = 1, HD95 = ASD = 0. One empty: Dice = IoU
 * = 0 and the distances are undefined (NaN).
 *
 * Components use full connectivity (26 neighbours in 3D, 8 in 2D), as
 * nnU-Net's postprocessing does through skimage's label.
 */
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t vol_of(const int64_t size[3]) { return size[0] * size[1] * size[2]; }

static int on_surface(const uint8_t *m, const int64_t n[3], int64_t z, int64_t y, int64_t x)
{
    static const int d[6][3] = {{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}};
    for (int k = 0; k < 6; k++) {
        int64_t a = z + d[k][0], b = y + d[k][1], c = x + d[k][2];
        if ((d[k][0] && n[0] == 1) || (d[k][1] && n[1] == 1) || (d[k][2] && n[2] == 1))
            continue; /* an unused axis of a 2D image has no neighbours */
        if (a < 0 || a >= n[0] || b < 0 || b >= n[1] || c < 0 || c >= n[2] ||
            !m[(a * n[1] + b) * n[2] + c])
            return 1;
    }
    return 0;
}

/* The surface voxels of m (1) into s; returns how many. */
static int64_t surface_of(const uint8_t *m, const int64_t n[3], uint8_t *s)
{
    int64_t count = 0;
    for (int64_t z = 0; z < n[0]; z++)
        for (int64_t y = 0; y < n[1]; y++)
            for (int64_t x = 0; x < n[2]; x++) {
                int64_t i = (z * n[1] + y) * n[2] + x;
                s[i] = m[i] && on_surface(m, n, z, y, x);
                count += s[i];
            }
    return count;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* numpy.percentile(v, q) (linear); sorts v. */
static double percentile(double *v, int64_t n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double pos = q / 100 * (double)(n - 1);
    int64_t lo = (int64_t)floor(pos);
    int64_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (pos - (double)lo) * (v[hi] - v[lo]);
}

/* Distances of A's surface voxels to B's surface: into out (nA values). */
static void directed(const uint8_t *sa, const uint8_t *sb, int nsp, const int64_t n[3],
                     const float sp[3], float *dist, double *out)
{
    int64_t k = 0;
    rt_edt(sb, nsp, n, sp, dist);
    for (int64_t i = 0; i < vol_of(n); i++)
        if (sa[i])
            out[k++] = dist[i];
}

void rt_mask_metrics(const uint8_t *pred, const uint8_t *truth, int nsp, const int64_t size[3],
                     const float spacing[3], rt_mask_eval *m)
{
    int64_t n = vol_of(size), tp = 0, fp = 0, fn = 0;
    for (int64_t i = 0; i < n; i++) {
        tp += pred[i] && truth[i];
        fp += pred[i] && !truth[i];
        fn += !pred[i] && truth[i];
    }
    memset(m, 0, sizeof *m);
    m->pred_voxels = tp + fp;
    m->truth_voxels = tp + fn;
    m->dice = tp + fp + fn ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 1;
    m->iou = tp + fp + fn ? (double)tp / (double)(tp + fp + fn) : 1;
    if (!m->pred_voxels || !m->truth_voxels) {
        m->hd95 = m->asd = m->pred_voxels == m->truth_voxels ? 0 : NAN;
        return;
    }
    uint8_t *sa = seg_xcalloc((size_t)n, 1), *sb = seg_xcalloc((size_t)n, 1);
    float *dist = seg_xcalloc((size_t)n, sizeof *dist);
    int64_t na = surface_of(pred, size, sa), nb = surface_of(truth, size, sb);
    double *d = seg_xcalloc((size_t)(na + nb), sizeof *d);
    directed(sa, sb, nsp, size, spacing, dist, d);
    directed(sb, sa, nsp, size, spacing, dist, d + na);
    double sum = 0;
    for (int64_t i = 0; i < na + nb; i++)
        sum += d[i];
    m->asd = sum / (double)(na + nb);
    double pa = percentile(d, na, 95), pb = percentile(d + na, nb, 95);
    m->hd95 = pa > pb ? pa : pb;
    seg_free(d);
    seg_free(dist);
    seg_free(sa);
    seg_free(sb);
}

/* ------------------------------------------------------------ components */

/* Label the component of class cls through `start` with id, breadth first
 * over the 26 (8) neighbours; returns its size. */
static int64_t flood(const int32_t *lab, int32_t cls, const int64_t n[3], int64_t start,
                     int32_t id, int32_t *comp, int64_t *queue)
{
    int64_t head = 0, tail = 0;
    comp[start] = id;
    queue[tail++] = start;
    while (head < tail) {
        int64_t i = queue[head++];
        int64_t z = i / (n[1] * n[2]), y = i / n[2] % n[1], x = i % n[2];
        for (int64_t dz = -1; dz <= 1; dz++)
            for (int64_t dy = -1; dy <= 1; dy++)
                for (int64_t dx = -1; dx <= 1; dx++) {
                    int64_t a = z + dz, b = y + dy, c = x + dx;
                    if (a < 0 || a >= n[0] || b < 0 || b >= n[1] || c < 0 || c >= n[2])
                        continue;
                    int64_t j = (a * n[1] + b) * n[2] + c;
                    if (lab[j] == cls && !comp[j]) {
                        comp[j] = id;
                        queue[tail++] = j;
                    }
                }
    }
    return tail;
}

void rt_keep_largest(int32_t *labels, const int64_t size[3], int classes)
{
    int64_t n = vol_of(size);
    int32_t *comp = seg_xcalloc((size_t)n, sizeof *comp);
    int64_t *queue = seg_xcalloc((size_t)n, sizeof *queue);
    for (int32_t cls = 1; cls < classes; cls++) {
        memset(comp, 0, (size_t)n * sizeof *comp);
        int32_t id = 0, best = 0;
        int64_t best_size = 0;
        for (int64_t i = 0; i < n; i++)
            if (labels[i] == cls && !comp[i]) {
                int64_t k = flood(labels, cls, size, i, ++id, comp, queue);
                if (k > best_size)
                    best_size = k, best = id;
            }
        for (int64_t i = 0; i < n; i++)
            if (labels[i] == cls && comp[i] != best)
                labels[i] = 0;
    }
    seg_free(comp);
    seg_free(queue);
}
