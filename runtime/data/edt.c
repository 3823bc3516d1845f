/* edt.c — exact Euclidean distance transform with anisotropic spacing.
 *
 * Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions"
 * (Theory of Computing 8, 2012). The squared distance is separable:
 *   D(z,y,x) = min over (z',y',x') of sz^2 (z-z')^2 + sy^2 (y-y')^2
 *              + sx^2 (x-x')^2 + F(z',y',x'),
 * with F = 0 on the foreground and +inf elsewhere, so one 1D pass per axis
 * computes it exactly: each pass takes the lower envelope of the parabolas
 * w (q - p)^2 + f(p), w = spacing^2, in O(n) per line. Work is in double so
 * squared distances stay exact for any realistic volume. Lines with no
 * finite value stay infinite until a later axis reaches them.
 *
 * Convention: a mask with no foreground at all has no nearest voxel; every
 * distance is then the diagonal of the volume, sqrt(sum (n_i s_i)^2), a
 * value larger than any real distance in it (documented in docs/data.md).
 */
#include "runtime/runtime.h"

#include <math.h>

/* Scratch for one line: the envelope's parabola apexes v, the boundaries
 * z between them (n + 1), and the line's input f and output d. */
typedef struct edt_line {
    int64_t *v;
    double *z;
    double *f;
    double *d;
} edt_line;

/* Lower envelope of w (q - p)^2 + f[p] over the finite f[p]. */
static void edt_1d(edt_line *l, int64_t n, double w)
{
    const double *f = l->f;
    int64_t k = -1;
    for (int64_t q = 0; q < n; q++) {
        if (isinf(f[q]))
            continue;
        double s = -INFINITY;
        while (k >= 0) {
            int64_t p = l->v[k];
            s = ((f[q] + w * (double)q * q) - (f[p] + w * (double)p * p)) / (2 * w * (double)(q - p));
            if (s > l->z[k])
                break;
            k--;
        }
        l->v[++k] = q;
        l->z[k] = k == 0 ? -INFINITY : s;
    }
    if (k < 0) {
        for (int64_t q = 0; q < n; q++)
            l->d[q] = INFINITY;
        return;
    }
    l->z[k + 1] = INFINITY;
    for (int64_t q = 0, j = 0; q < n; q++) {
        while (l->z[j + 1] < (double)q)
            j++;
        double dq = (double)(q - l->v[j]);
        l->d[q] = w * dq * dq + f[l->v[j]];
    }
}

/* One pass along axis a of a [outer, n, inner] array of squared distances. */
static void edt_axis(double *g, const int64_t size[3], int a, double w, edt_line *l)
{
    int64_t n = size[a], inner = 1, outer = 1;
    for (int i = 0; i < a; i++)
        outer *= size[i];
    for (int i = a + 1; i < 3; i++)
        inner *= size[i];
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            double *line = g + o * n * inner + i;
            for (int64_t q = 0; q < n; q++)
                l->f[q] = line[q * inner];
            edt_1d(l, n, w);
            for (int64_t q = 0; q < n; q++)
                line[q * inner] = l->d[q];
        }
    }
}

static double edt_diagonal(int nsp, const int64_t size[3], const float spacing[3])
{
    double s = 0;
    for (int i = 0; i < nsp; i++) {
        double e = (double)size[i] * spacing[i];
        s += e * e;
    }
    return sqrt(s);
}

void rt_edt(const uint8_t *mask, int nsp, const int64_t size[3], const float spacing[3],
            float *dist)
{
    SEG_ASSERT(nsp == 2 || nsp == 3);
    int64_t dims[3] = {size[0], size[1], nsp == 3 ? size[2] : 1};
    int64_t numel = dims[0] * dims[1] * dims[2], nmax = 1, fg = 0;
    for (int i = 0; i < 3; i++)
        nmax = dims[i] > nmax ? dims[i] : nmax;
    double *g = seg_xcalloc((size_t)numel, sizeof *g);
    for (int64_t i = 0; i < numel; i++) {
        g[i] = mask[i] ? 0.0 : INFINITY;
        fg += mask[i] != 0;
    }
    if (fg == 0) {
        float diag = (float)edt_diagonal(nsp, dims, spacing);
        for (int64_t i = 0; i < numel; i++)
            dist[i] = diag;
        seg_free(g);
        return;
    }
    edt_line l = {seg_xcalloc((size_t)nmax, sizeof(int64_t)),
                  seg_xcalloc((size_t)nmax + 1, sizeof(double)),
                  seg_xcalloc((size_t)nmax, sizeof(double)),
                  seg_xcalloc((size_t)nmax, sizeof(double))};
    for (int a = 0; a < nsp; a++)
        edt_axis(g, dims, a, (double)spacing[a] * spacing[a], &l);
    for (int64_t i = 0; i < numel; i++)
        dist[i] = (float)sqrt(g[i]);
    seg_free(l.v);
    seg_free(l.z);
    seg_free(l.f);
    seg_free(l.d);
    seg_free(g);
}

void rt_case_distance(const rt_case *c, float *dist)
{
    int64_t n = rt_case_numel(c);
    uint8_t *mask = seg_xcalloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++)
        mask[i] = c->label[i] > 0;
    rt_edt(mask, c->nsp, c->size, c->spacing, dist);
    seg_free(mask);
}
