/* fast_pool_bwd.c — maxpool_bwd and avgpool_bwd for the fast kernels,
 * bit-identical to the reference pool_bwd.c.
 *
 * The reference zeroes dx and scatter-adds each window's gradient in
 * output order (oz, oy, ox). Here a task owns a band of whole dx z-slices
 * and the windows that write it: when windows do not overlap along z
 * ((kernel - 1) * dilation < stride), output slice oz owns the band
 * [oz * s - p, (oz + 1) * s - p), the first band reaching down to z = 0 and
 * the last one up to the end (slices no window covers stay zero); a task
 * is one (plane, oz). Otherwise a task is a whole plane. Within its band a
 * task zeroes dx and scatters in output order, so every dx element gets
 * the same additions in the same order as in the reference.
 * maxpool_bwd sends a window's gradient to its first maximum (last NaN),
 * scanning the in-image taps in z, y, x order: per output row over the
 * input rows its windows read, and for column-pair windows (x kernel 2,
 * stride 2, the hot case) 8 windows at a time, vectorised. avgpool_bwd
 * spreads dy / (window clipped to the padded input) over the in-image taps.
 */
#include "runtime/ops/fast.h"

#include <math.h>
#include <string.h>

#define POOL_BLOCK 8 /* pair windows per vectorised block */

typedef struct pool_bwd_job {
    ops_geom g;
    int is_max;     /* maxpool_bwd, else avgpool_bwd */
    int banded;     /* tasks are (plane, oz) bands, else whole planes */
    const float *x; /* maxpool_bwd: the forward input */
    const float *dy;
    float *dx;
} pool_bwd_job;

/* best[k] = the candidate c (row c / 2, column c % 2) that wins window
 * o + k of a pair row: the first maximum, or the last NaN. Both columns
 * of a pair are read in one iteration, the shape gcc vectorises. */
static void max_pairs_block(const float *src, const int64_t *rows, int nrows, int64_t o,
                            int32_t *best)
{
    float m[POOL_BLOCK];
    for (int k = 0; k < POOL_BLOCK; k++)
        m[k] = -INFINITY, best[k] = 0;
    for (int r = 0; r < nrows; r++) {
        const float *v = src + rows[r] + 2 * o;
        for (int k = 0; k < POOL_BLOCK; k++) {
            float a = v[2 * k], b = v[2 * k + 1];
            int take_a = a > m[k] || a != a;
            m[k] = take_a ? a : m[k];
            best[k] = take_a ? 2 * r : best[k];
            int take_b = b > m[k] || b != b;
            m[k] = take_b ? b : m[k];
            best[k] = take_b ? 2 * r + 1 : best[k];
        }
    }
}

/* Plane offset of the first maximum (last NaN) of window ox over rows, or -1. */
static int64_t max_window_argmax(const ops_geom *g, const float *src, const int64_t *rows,
                                 int nrows, int64_t ox)
{
    int64_t k0, k1, base = ox * g->s[2] - g->p[2], best = -1;
    ops_geom_window(g, 2, ox, &k0, &k1);
    float m = -INFINITY;
    for (int r = 0; r < nrows; r++)
        for (int64_t kx = k0; kx < k1; kx++) {
            int64_t i = rows[r] + base + kx * g->d[2];
            if (best < 0)
                best = i; /* all -inf: the first element */
            if (src[i] > m || src[i] != src[i]) {
                m = src[i];
                best = i;
            }
        }
    return best;
}

/* dx[argmax of window ox] += dy[ox] along one output row, in ox order. */
static void max_bwd_row(const ops_geom *g, const float *src, const int64_t *rows, int nrows,
                        const float *dy, float *dx)
{
    int64_t ox = 0;
    int32_t best[POOL_BLOCK];
    if (nrows == 0)
        return;
    for (; rt_fast_pool_x_is_pairs(g) && ox + POOL_BLOCK <= g->out[2]; ox += POOL_BLOCK) {
        max_pairs_block(src, rows, nrows, ox, best);
        for (int k = 0; k < POOL_BLOCK; k++)
            dx[rows[best[k] >> 1] + (best[k] & 1) + 2 * (ox + k)] += dy[ox + k];
    }
    for (; ox < g->out[2]; ox++) {
        int64_t i = max_window_argmax(g, src, rows, nrows, ox);
        if (i >= 0)
            dx[i] += dy[ox];
    }
}

/* Window length along axis j at o, clipped to the padded input. */
static int64_t avg_span(const ops_geom *g, int j, int64_t o)
{
    int64_t start = o * g->s[j] - g->p[j], end = start + g->k[j];
    return (end < g->in[j] + g->p[j] ? end : g->in[j] + g->p[j]) - start;
}

/* dx[in-image taps of window (oz, oy, ox)] += v / its divisor. */
static void avg_window_add(const ops_geom *g, float *dx, int64_t oz, int64_t oy, int64_t ox,
                           float v)
{
    int64_t k0[3], k1[3], o[3] = {oz, oy, ox}, pool = 1;
    for (int a = 0; a < 3; a++) {
        ops_geom_window(g, a, o[a], &k0[a], &k1[a]);
        pool *= avg_span(g, a, o[a]);
    }
    float delta = v / (float)pool;
    for (int64_t kz = k0[0]; kz < k1[0]; kz++)
        for (int64_t ky = k0[1]; ky < k1[1]; ky++) {
            float *row = dx + ((oz * g->s[0] - g->p[0] + kz) * g->in[1] + oy * g->s[1] - g->p[1] +
                               ky) * g->in[2] + ox * g->s[2] - g->p[2];
            for (int64_t kx = k0[2]; kx < k1[2]; kx++)
                row[kx] += delta;
        }
}

/* Scatter the windows of output slices [oz0, oz1) of plane p into dx. */
static void pool_bwd_scatter(const pool_bwd_job *j, int64_t p, int64_t oz0, int64_t oz1,
                             int64_t *rows)
{
    const ops_geom *g = &j->g;
    int64_t in_plane = g->in[0] * g->in[1] * g->in[2];
    float *dx = j->dx + p * in_plane;
    const float *src = j->is_max ? j->x + p * in_plane : NULL;
    const float *dy = j->dy + (p * g->out[0] + oz0) * g->out[1] * g->out[2];
    for (int64_t oz = oz0; oz < oz1; oz++)
        for (int64_t oy = 0; oy < g->out[1]; oy++, dy += g->out[2]) {
            if (j->is_max) {
                max_bwd_row(g, src, rows, rt_fast_pool_rows(g, oz, oy, rows), dy, dx);
                continue;
            }
            for (int64_t ox = 0; ox < g->out[2]; ox++)
                avg_window_add(g, dx, oz, oy, ox, dy[ox]);
        }
}

/* The dx z-slices [*z0, *z1) that output slice oz owns (banded tasks). */
static void pool_bwd_band(const ops_geom *g, int64_t oz, int64_t *z0, int64_t *z1)
{
    int64_t a = oz == 0 ? 0 : oz * g->s[0] - g->p[0];
    int64_t b = oz == g->out[0] - 1 ? g->in[0] : (oz + 1) * g->s[0] - g->p[0];
    *z0 = a < 0 ? 0 : a > g->in[0] ? g->in[0] : a;
    *z1 = b < *z0 ? *z0 : b > g->in[0] ? g->in[0] : b;
}

/* Tasks [b, e): (plane, oz) bands or whole planes, in order. */
static void pool_bwd_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const pool_bwd_job *j = arg;
    const ops_geom *g = &j->g;
    int64_t slice = g->in[1] * g->in[2], per_plane = j->banded ? g->out[0] : 1;
    int64_t *rows = seg_xcalloc((size_t)(g->k[0] * g->k[1]), sizeof(int64_t));
    for (int64_t t = b; t < e; t++) {
        int64_t p = t / per_plane, oz = t % per_plane, z0 = 0, z1 = g->in[0];
        if (j->banded)
            pool_bwd_band(g, oz, &z0, &z1);
        memset(j->dx + (p * g->in[0] + z0) * slice, 0, (size_t)((z1 - z0) * slice) * sizeof(float));
        pool_bwd_scatter(j, p, j->banded ? oz : 0, j->banded ? oz + 1 : g->out[0], rows);
    }
    seg_free(rows);
}

static int pool_bwd_run(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                        rt_pool *pool, int is_max)
{
    const rt_tensor *dy = in[is_max ? 1 : 0];
    pool_bwd_job j = {.is_max = is_max, .x = is_max ? rt_f32(in[0]) : NULL, .dy = rt_f32(dy),
                      .dx = rt_f32(out)};
    rt_attrs a = ins->attrs;
    if (!is_max) /* avgpool has no dilation */
        a.dilation[0] = a.dilation[1] = a.dilation[2] = 1;
    rt_fast_pool_geom(&a, &out->type, &dy->type, &j.g);
    j.banded = (j.g.k[0] - 1) * j.g.d[0] < j.g.s[0];
    int64_t planes = out->type.dim[0] * out->type.dim[1];
    rt_pool_run(pool, planes * (j.banded ? j.g.out[0] : 1), pool_bwd_task, &j);
    return 0;
}

int rt_fast_maxpool_bwd(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                        rt_pool *pool, rt_error *err)
{
    (void)err;
    return pool_bwd_run(ins, in, out, pool, 1);
}

int rt_fast_avgpool_bwd(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                        rt_pool *pool, rt_error *err)
{
    (void)err;
    return pool_bwd_run(ins, in, out, pool, 0);
}
