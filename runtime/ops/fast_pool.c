/* fast_pool.c — maxpool and avgpool forward for the fast kernels,
 * bit-identical to the reference pool.c, and the pooling geometry that
 * fast_pool_bwd.c shares.
 *
 * A task is one output row (plane, oz, oy). Its window is clipped in z and
 * y once, giving the list of input rows it reads in z, y order; each output
 * x position then folds those rows' taps in the reference's z, y, x order:
 * maxpool keeps v when v > m or v is NaN (from -inf), avgpool sums in float
 * and divides by the window clipped to the padded input. The hot case,
 * x kernel 2 with stride 2 and no padding or dilation, folds a whole row
 * at a time in blocks of 8 outputs so gcc vectorises it.
 */
#include "runtime/ops/fast.h"

#include <math.h>

#define POOL_BLOCK 8

typedef struct pool_job {
    ops_geom g;
    int is_max;     /* maxpool, else avgpool */
    const float *x; /* input planes */
    float *y;       /* output planes */
} pool_job;

void rt_fast_pool_geom(const rt_attrs *a, const rt_type *img, const rt_type *grid, ops_geom *g)
{
    int64_t k[3];
    for (int i = 0; i < a->nsp; i++)
        k[i] = a->kernel[i];
    ops_geom_init(g, a->nsp, img->dim + 2, grid->dim + 2, k, a->stride, a->pad, a->dilation);
}

int rt_fast_pool_rows(const ops_geom *g, int64_t oz, int64_t oy, int64_t *rows)
{
    int64_t z0, z1, y0, y1;
    int n = 0;
    ops_geom_window(g, 0, oz, &z0, &z1);
    ops_geom_window(g, 1, oy, &y0, &y1);
    for (int64_t kz = z0; kz < z1; kz++)
        for (int64_t ky = y0; ky < y1; ky++) {
            int64_t iz = oz * g->s[0] - g->p[0] + kz * g->d[0];
            int64_t iy = oy * g->s[1] - g->p[1] + ky * g->d[1];
            rows[n++] = (iz * g->in[1] + iy) * g->in[2];
        }
    return n;
}

static inline float max_fold(float m, float v) { return v > m || v != v ? v : m; }

/* m[ox] = max_fold over row[2 ox], row[2 ox + 1]: x kernel 2, stride 2. */
static void max_fold_pairs(float *restrict m, const float *restrict row, int64_t n)
{
    int64_t o = 0;
    for (; o + POOL_BLOCK <= n; o += POOL_BLOCK)
        for (int k = 0; k < POOL_BLOCK; k++)
            m[o + k] = max_fold(max_fold(m[o + k], row[2 * (o + k)]), row[2 * (o + k) + 1]);
    for (; o < n; o++)
        m[o] = max_fold(max_fold(m[o], row[2 * o]), row[2 * o + 1]);
}

int rt_fast_pool_x_is_pairs(const ops_geom *g)
{
    return g->k[2] == 2 && g->s[2] == 2 && g->p[2] == 0 && g->d[2] == 1;
}

static void max_row(const ops_geom *g, const float *src, const int64_t *rows, int nrows,
                    float *dst)
{
    rt_fast_row_fill(dst, -INFINITY, g->out[2]);
    if (rt_fast_pool_x_is_pairs(g)) {
        for (int r = 0; r < nrows; r++)
            max_fold_pairs(dst, src + rows[r], g->out[2]);
        return;
    }
    for (int64_t ox = 0; ox < g->out[2]; ox++) {
        int64_t k0, k1, base = ox * g->s[2] - g->p[2];
        ops_geom_window(g, 2, ox, &k0, &k1);
        float m = -INFINITY;
        for (int r = 0; r < nrows; r++)
            for (int64_t kx = k0; kx < k1; kx++)
                m = max_fold(m, src[rows[r] + base + kx * g->d[2]]);
        dst[ox] = m;
    }
}

/* Window length along axis j at o, clipped to the padded input (the divisor). */
static int64_t avg_span(const ops_geom *g, int j, int64_t o)
{
    int64_t start = o * g->s[j] - g->p[j], end = start + g->k[j];
    return (end < g->in[j] + g->p[j] ? end : g->in[j] + g->p[j]) - start;
}

static void avg_row(const ops_geom *g, const float *src, const int64_t *rows, int nrows,
                    int64_t oz, int64_t oy, float *dst)
{
    int64_t pool_zy = avg_span(g, 0, oz) * avg_span(g, 1, oy);
    for (int64_t ox = 0; ox < g->out[2]; ox++) {
        int64_t k0, k1, base = ox * g->s[2] - g->p[2];
        ops_geom_window(g, 2, ox, &k0, &k1);
        float sum = 0;
        for (int r = 0; r < nrows; r++)
            for (int64_t kx = k0; kx < k1; kx++)
                sum += src[rows[r] + base + kx];
        dst[ox] = sum / (float)(pool_zy * avg_span(g, 2, ox));
    }
}

/* Tasks [b, e): output rows (plane, oz, oy) in order. */
static void pool_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const pool_job *j = arg;
    const ops_geom *g = &j->g;
    int64_t in_plane = g->in[0] * g->in[1] * g->in[2], rows_per_plane = g->out[0] * g->out[1];
    int64_t *rows = seg_xcalloc((size_t)(g->k[0] * g->k[1]), sizeof(int64_t));
    for (int64_t t = b; t < e; t++) {
        int64_t p = t / rows_per_plane, oz = t % rows_per_plane / g->out[1], oy = t % g->out[1];
        const float *src = j->x + p * in_plane;
        int nrows = rt_fast_pool_rows(g, oz, oy, rows);
        if (j->is_max)
            max_row(g, src, rows, nrows, j->y + t * g->out[2]);
        else
            avg_row(g, src, rows, nrows, oz, oy, j->y + t * g->out[2]);
    }
    seg_free(rows);
}

static int pool_run(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                    int is_max)
{
    pool_job j = {.is_max = is_max, .x = rt_f32(in[0]), .y = rt_f32(out)};
    rt_attrs a = ins->attrs;
    if (!is_max) /* avgpool has no dilation */
        a.dilation[0] = a.dilation[1] = a.dilation[2] = 1;
    rt_fast_pool_geom(&a, &in[0]->type, &out->type, &j.g);
    int64_t rows = out->type.dim[0] * out->type.dim[1] * j.g.out[0] * j.g.out[1];
    rt_pool_run(pool, rows, pool_task, &j);
    return 0;
}

int rt_fast_maxpool(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                    rt_error *err)
{
    (void)err;
    return pool_run(ins, in, out, pool, 1);
}

int rt_fast_avgpool(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                    rt_error *err)
{
    (void)err;
    return pool_run(ins, in, out, pool, 0);
}
