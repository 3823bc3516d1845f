/* fast_upsample.c — upsample (nearest, linear) for the fast kernels,
 * bit-identical to the reference upsample.c.
 *
 * The reference evaluates, per output element, l0 * f(z0) + l1 * f(z1)
 * where f(z) = l0 * g(z, y0) + l1 * g(z, y1) and g(z, y) is the x blend of
 * one source row. Those inner values depend only on (z, oy, ox) and
 * (z, y, ox), so they are computed once per source row and slice instead
 * of once per output element, with the same operations in the same order:
 *   x: each source row blended along x (the one gather, per table entry);
 *   y: a source slice's rows blended along y (row blends, vectorised);
 *   z: each output slice blended from two y-blended source slices.
 * Copy axes (nearest, or padded to 3-D) read one source without arithmetic
 * as the reference does. For out = 2 in along x, the interior output pairs
 * share one pattern of sources and weights, and are blended 8 pairs at a
 * time from contiguous sources, vectorised. A task is one output slice (plane, oz); a thread
 * runs a contiguous range of them, so it keeps the last two y-blended
 * source slices and reuses them for the next output slice.
 */
#include "runtime/ops/fast.h"

#include <string.h>

#define UP_BLOCK 8 /* output pairs per vectorised block */

/* The x pair path (out = 2 in): output pairs (2 p, 2 p + 1), p in [lo, hi),
 * read row[p + di[c][k]] with weights w[c][k] (c: even or odd output,
 * k: tap); lo = hi when no pair shares the middle pair's pattern. */
typedef struct up_pairs {
    int64_t lo, hi;
    int64_t di[2][2];
    float w[2][2];
} up_pairs;

typedef struct up_job {
    ops_up_axis t[3];      /* per-axis tables (z, y, x) of upsample_axis.c */
    up_pairs px;           /* the x pair path */
    int64_t in[3], out[3]; /* spatial sizes, padded to 3-D */
    const float *x;        /* input planes */
    float *y;              /* output planes */
} up_job;

/* Per-thread scratch: x-blended rows of one source slice and the two most
 * recent y-blended source slices. */
typedef struct up_cache {
    float *xrows;     /* in[1] rows of out[2] */
    float *slice[2];  /* out[1] * out[2] each */
    int64_t key[2];   /* plane * in[0] + z held by each slice, -1 = none */
    int64_t used[2];  /* clock of the last use, for eviction */
    int64_t clock;
} up_cache;

/* Output pair p reads the sources and weights of the pattern q. */
static int up_pair_matches(const ops_up_axis *t, const up_pairs *q, int64_t p)
{
    for (int c = 0; c < 2; c++) {
        int64_t o = 2 * p + c;
        if (t->i0[o] - p != q->di[c][0] || t->i1[o] - p != q->di[c][1] ||
            t->l0[o] != q->w[c][0] || t->l1[o] != q->w[c][1])
            return 0;
    }
    return 1;
}

/* The run of output pairs around the middle one that share its pattern. */
static void up_pairs_find(const ops_up_axis *t, int64_t in, int64_t out, up_pairs *q)
{
    int64_t mid = in / 2;
    q->lo = q->hi = 0;
    if (out != 2 * in)
        return;
    for (int c = 0; c < 2; c++) {
        q->di[c][0] = t->i0[2 * mid + c] - mid;
        q->di[c][1] = t->i1[2 * mid + c] - mid;
        q->w[c][0] = t->l0[2 * mid + c];
        q->w[c][1] = t->l1[2 * mid + c];
    }
    for (q->lo = mid; q->lo > 0 && up_pair_matches(t, q, q->lo - 1); q->lo--)
        ;
    for (q->hi = mid + 1; q->hi < in && up_pair_matches(t, q, q->hi); q->hi++)
        ;
}

/* dst[o] = the source row interpolated at output index o along x, o in [o0, o1). */
static void up_blend_x_range(const ops_up_axis *t, const float *row, float *dst, int64_t o0,
                             int64_t o1)
{
    if (t->copy) {
        for (int64_t o = o0; o < o1; o++)
            dst[o] = row[t->i0[o]];
        return;
    }
    for (int64_t o = o0; o < o1; o++)
        dst[o] = t->l0[o] * row[t->i0[o]] + t->l1[o] * row[t->i1[o]];
}

/* d[2 k], d[2 k + 1] = w[0] . (a0, a1)[k], w[1] . (b0, b1)[k] for k < UP_BLOCK:
 * a block of output pairs on the pair path, sources read contiguously. */
static void up_blend_pairs(float *restrict d, const float *restrict a0, const float *restrict a1,
                           const float *restrict b0, const float *restrict b1, const up_pairs *q)
{
    float wa0 = q->w[0][0], wa1 = q->w[0][1], wb0 = q->w[1][0], wb1 = q->w[1][1];
    for (int k = 0; k < UP_BLOCK; k++) {
        d[2 * k] = wa0 * a0[k] + wa1 * a1[k];
        d[2 * k + 1] = wb0 * b0[k] + wb1 * b1[k];
    }
}

/* The same for a copy axis: d[2 k], d[2 k + 1] = a0[k], b0[k]. */
static void up_copy_pairs(float *restrict d, const float *restrict a0, const float *restrict b0)
{
    for (int k = 0; k < UP_BLOCK; k++) {
        d[2 * k] = a0[k];
        d[2 * k + 1] = b0[k];
    }
}

/* Output pairs [p, p + UP_BLOCK) on the pair path: the reference's
 * expressions (vectorised by gcc). */
static void up_blend_x_pairs(const ops_up_axis *t, const up_pairs *q, const float *row,
                             float *dst, int64_t p)
{
    const float *a0 = row + p + q->di[0][0], *b0 = row + p + q->di[1][0];
    if (t->copy)
        up_copy_pairs(dst + 2 * p, a0, b0);
    else
        up_blend_pairs(dst + 2 * p, a0, row + p + q->di[0][1], b0, row + p + q->di[1][1], q);
}

/* dst[0, out[2]) = the source row interpolated along x: pair blocks where
 * they apply (the last one ending at hi, overlapping), else one by one. */
static void up_blend_x(const up_job *j, const float *row, float *dst)
{
    const ops_up_axis *t = &j->t[2];
    const up_pairs *q = &j->px;
    if (q->hi - q->lo < UP_BLOCK) {
        up_blend_x_range(t, row, dst, 0, j->out[2]);
        return;
    }
    up_blend_x_range(t, row, dst, 0, 2 * q->lo);
    for (int64_t p = q->lo; p < q->hi; p += UP_BLOCK)
        up_blend_x_pairs(t, q, row, dst, p + UP_BLOCK <= q->hi ? p : q->hi - UP_BLOCK);
    up_blend_x_range(t, row, dst, 2 * q->hi, j->out[2]);
}

/* Copy along y: output row oy is source row i0[oy] blended along x; equal
 * neighbours are copied from the row just written. */
static void up_slice_copy_y(const up_job *j, const float *src, float *dst)
{
    const ops_up_axis *ty = &j->t[1];
    int64_t w = j->out[2];
    for (int64_t oy = 0; oy < j->out[1]; oy++) {
        if (oy > 0 && ty->i0[oy] == ty->i0[oy - 1])
            memcpy(dst + oy * w, dst + (oy - 1) * w, (size_t)w * sizeof(float));
        else
            up_blend_x(j, src + ty->i0[oy] * j->in[2], dst + oy * w);
    }
}

/* dst (out[1] x out[2]) = source slice z of plane p blended along x and y. */
static void up_slice_yx(const up_job *j, float *xrows, int64_t p, int64_t z, float *dst)
{
    const float *src = j->x + (p * j->in[0] + z) * j->in[1] * j->in[2];
    const ops_up_axis *ty = &j->t[1];
    int64_t w = j->out[2];
    if (ty->copy) {
        up_slice_copy_y(j, src, dst);
        return;
    }
    for (int64_t y = 0; y < j->in[1]; y++)
        up_blend_x(j, src + y * j->in[2], xrows + y * w);
    for (int64_t oy = 0; oy < j->out[1]; oy++)
        rt_fast_row_blend(dst + oy * w, xrows + ty->i0[oy] * w, xrows + ty->i1[oy] * w,
                          ty->l0[oy], ty->l1[oy], w);
}

/* Slot of the cache holding source slice z of plane p, filled on a miss
 * into the least recently used slot other than `keep`. */
static int up_cache_get(const up_job *j, up_cache *c, int64_t p, int64_t z, int keep)
{
    int64_t key = p * j->in[0] + z;
    int s = c->key[0] == key ? 0 : c->key[1] == key ? 1 : -1;
    if (s < 0) {
        s = keep >= 0 ? 1 - keep : c->used[0] <= c->used[1] ? 0 : 1;
        up_slice_yx(j, c->xrows, p, z, c->slice[s]);
        c->key[s] = key;
    }
    c->used[s] = ++c->clock;
    return s;
}

/* Tasks [b, e): output slices (plane, oz) in order. */
static void up_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const up_job *j = arg;
    const ops_up_axis *tz = &j->t[0];
    int64_t n = j->out[1] * j->out[2];
    up_cache c = {.key = {-1, -1}};
    c.xrows = seg_xcalloc((size_t)(j->in[1] * j->out[2]), sizeof(float));
    for (int s = 0; s < 2 && !tz->copy; s++)
        c.slice[s] = seg_xcalloc((size_t)n, sizeof(float));
    for (int64_t task = b; task < e; task++) {
        int64_t p = task / j->out[0], oz = task % j->out[0];
        float *dst = j->y + task * n;
        if (tz->copy && oz > 0 && tz->i0[oz] == tz->i0[oz - 1] && task > b)
            memcpy(dst, dst - n, (size_t)n * sizeof(float));
        else if (tz->copy)
            up_slice_yx(j, c.xrows, p, tz->i0[oz], dst);
        else {
            int s0 = up_cache_get(j, &c, p, tz->i0[oz], -1);
            int s1 = up_cache_get(j, &c, p, tz->i1[oz], s0);
            rt_fast_row_blend(dst, c.slice[s0], c.slice[s1], tz->l0[oz], tz->l1[oz], n);
        }
    }
    seg_free(c.xrows);
    seg_free(c.slice[0]);
    seg_free(c.slice[1]);
}

int rt_fast_upsample(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                     rt_error *err)
{
    (void)err;
    const rt_type *it = &in[0]->type, *ot = &out->type;
    int nsp = ins->attrs.nsp;
    up_job j = {.in = {1, 1, 1}, .out = {1, 1, 1}, .x = rt_f32(in[0]), .y = rt_f32(out)};
    for (int i = 0; i < nsp; i++) {
        j.in[3 - nsp + i] = it->dim[2 + i];
        j.out[3 - nsp + i] = ot->dim[2 + i];
    }
    for (int a = 0; a < 3; a++)
        ops_up_axis_init(&j.t[a], ins->attrs.mode, j.in[a], j.out[a], a < 3 - nsp);
    up_pairs_find(&j.t[2], j.in[2], j.out[2], &j.px);
    rt_pool_run(pool, it->dim[0] * it->dim[1] * j.out[0], up_task, &j);
    for (int a = 0; a < 3; a++)
        ops_up_axis_free(&j.t[a]);
    return 0;
}
