/* fast_upsample_bwd.c — upsample_bwd (dy -> dx) for the fast kernels: the
 * adjoint of the interpolation as a gather, so every dx element is summed
 * by one task in a fixed order whatever the thread count.
 *
 * The forward tables (upsample_axis.c) are inverted per axis: for each
 * source index, the output indices that read it, ascending, with their
 * weights (1 on copy axes). The adjoint is separable, applied outermost
 * axis first on the large side: for dx slice z, gz = sum of w * dy slices
 * over the oz that read z (row axpys, vectorised); for each row y,
 * gy = sum of w * gz rows likewise; then dx[x] = sum of w * gy[ox] (the
 * one gather, on the smallest data). A lone weight-1 term is read in place.
 * For out = 2 in, the interior sources of an axis share one reader pattern
 * (2 s - 1 .. 2 s + 2 for linear, 2 s and 2 s + 1 for nearest), and their
 * gathers run 8 at a time, vectorised, in the same order.
 * The sums are grouped per axis rather than per dy element as the
 * reference's scatter does, so results agree with upsample_bwd.c to
 * rounding (about 1e-7 relative), not bit for bit.
 */
#include "runtime/ops/fast.h"

#include <string.h>

#define UP_PAIR_MAX 4   /* readers per source on the pair path */
#define UP_BLOCK 8      /* sources per vectorised block */

/* Source index -> the output indices that read it and their weights. */
typedef struct up_inv {
    int64_t *start; /* in + 1 offsets into o and w */
    int64_t *o;     /* output indices, ascending per source */
    float *w;       /* their weights */
    /* Pair path (out = 2 in): sources [lo, hi) are read by exactly the
     * outputs 2 s + rel[j], j < n, with weights pw[j], in pairs of
     * neighbours (rel[2i + 1] = rel[2i] + 1); lo = hi when there are none. */
    int64_t lo, hi;
    int n;
    int64_t rel[UP_PAIR_MAX];
    float pw[UP_PAIR_MAX];
} up_inv;

typedef struct up_bwd_job {
    up_inv v[3];           /* per axis (z, y, x) */
    int64_t in[3], out[3]; /* dx and dy spatial sizes, padded to 3-D */
    const float *dy;
    float *dx;
} up_bwd_job;

/* Invert the table t (out entries) over in sources. */
static void up_inv_init(up_inv *v, const ops_up_axis *t, int64_t in, int64_t out)
{
    int taps = t->copy ? 1 : 2;
    v->start = seg_xcalloc((size_t)in + 1, sizeof(int64_t));
    v->o = seg_xcalloc((size_t)(out * taps), sizeof(int64_t));
    v->w = seg_xcalloc((size_t)(out * taps), sizeof(float));
    int64_t *fill = seg_xcalloc((size_t)in, sizeof(int64_t));
    for (int64_t o = 0; o < out; o++) {
        v->start[t->i0[o] + 1]++;
        if (taps == 2)
            v->start[t->i1[o] + 1]++;
    }
    for (int64_t s = 0; s < in; s++)
        v->start[s + 1] += v->start[s];
    for (int64_t o = 0; o < out; o++)
        for (int k = 0; k < taps; k++) {
            int64_t s = k ? t->i1[o] : t->i0[o], e = v->start[s] + fill[s]++;
            v->o[e] = o;
            v->w[e] = t->copy ? 1.0f : k ? t->l1[o] : t->l0[o];
        }
    seg_free(fill);
}

/* Source s is read by outputs 2 s + rel[j] with weights pw[j], j < n. */
static int up_inv_is_pair(const up_inv *v, int64_t s)
{
    int64_t e0 = v->start[s];
    if (v->start[s + 1] - e0 != v->n)
        return 0;
    for (int j = 0; j < v->n; j++)
        if (v->o[e0 + j] != 2 * s + v->rel[j] || v->w[e0 + j] != v->pw[j])
            return 0;
    return 1;
}

/* The pair path: the run of sources around the middle that share the
 * middle source's reader pattern, when it comes in neighbour pairs. */
static void up_inv_find_pairs(up_inv *v, int64_t in, int64_t out)
{
    int64_t mid = in / 2, e0 = v->start[mid];
    v->lo = v->hi = 0;
    v->n = (int)(v->start[mid + 1] - e0);
    if (out != 2 * in || v->n < 2 || v->n > UP_PAIR_MAX || v->n % 2)
        return;
    for (int j = 0; j < v->n; j++) {
        v->rel[j] = v->o[e0 + j] - 2 * mid;
        v->pw[j] = v->w[e0 + j];
        if (j % 2 && v->rel[j] != v->rel[j - 1] + 1)
            return;
    }
    for (v->lo = mid; v->lo > 0 && up_inv_is_pair(v, v->lo - 1); v->lo--)
        ;
    for (v->hi = mid + 1; v->hi < in && up_inv_is_pair(v, v->hi); v->hi++)
        ;
}

static void up_inv_free(up_inv *v)
{
    seg_free(v->start);
    seg_free(v->o);
    seg_free(v->w);
}

/* The sum over the readers e of source s of w[e] * (base + o[e] * stride)[0, n):
 * into buf, or the one reader's row itself when it has weight 1. */
static const float *up_inv_rows(const up_inv *v, int64_t s, const float *base, int64_t stride,
                                int64_t n, float *buf)
{
    int64_t e0 = v->start[s], e1 = v->start[s + 1];
    if (e0 == e1) {
        memset(buf, 0, (size_t)n * sizeof(float));
        return buf;
    }
    if (e1 - e0 == 1 && v->w[e0] == 1.0f)
        return base + v->o[e0] * stride;
    rt_fast_row_scale(buf, base + v->o[e0] * stride, v->w[e0], n);
    for (int64_t e = e0 + 1; e < e1; e++)
        rt_fast_row_axpy(buf, base + v->o[e] * stride, v->w[e], n);
    return buf;
}

/* dx[s] = sum over the readers e of source s of w[e] * g[o[e]], s in [s0, s1). */
static void up_inv_gather(const up_inv *v, const float *g, float *dx, int64_t s0, int64_t s1)
{
    for (int64_t s = s0; s < s1; s++) {
        float acc = 0;
        for (int64_t e = v->start[s]; e < v->start[s + 1]; e++)
            acc += v->w[e] * g[v->o[e]];
        dx[s] = acc;
    }
}

/* up_inv_gather on the pair path for sources [s, s + UP_BLOCK): the same
 * sums in the same order, with both outputs of a pair read together (the
 * shape gcc vectorises). */
static void up_inv_gather_pairs(const up_inv *v, const float *g, float *dx, int64_t s)
{
    float acc[UP_BLOCK] = {0};
    for (int j = 0; j < v->n; j += 2) {
        const float *q = g + 2 * s + v->rel[j];
        float w0 = v->pw[j], w1 = v->pw[j + 1];
        for (int k = 0; k < UP_BLOCK; k++) {
            acc[k] += w0 * q[2 * k];
            acc[k] += w1 * q[2 * k + 1];
        }
    }
    memcpy(dx + s, acc, sizeof acc);
}

/* dx[0, n) from g along x: pair blocks where they apply (the last one
 * ending at hi, overlapping its neighbour), else one by one. */
static void up_inv_gather_row(const up_inv *v, const float *g, float *dx, int64_t n)
{
    if (v->hi - v->lo < UP_BLOCK) {
        up_inv_gather(v, g, dx, 0, n);
        return;
    }
    up_inv_gather(v, g, dx, 0, v->lo);
    for (int64_t s = v->lo; s < v->hi; s += UP_BLOCK)
        up_inv_gather_pairs(v, g, dx, s + UP_BLOCK <= v->hi ? s : v->hi - UP_BLOCK);
    up_inv_gather(v, g, dx, v->hi, n);
}

/* Tasks [b, e): dx slices (plane, z) in order. */
static void up_bwd_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const up_bwd_job *j = arg;
    int64_t w = j->out[2], dy_slice = j->out[1] * w;
    float *gz_buf = seg_xcalloc((size_t)dy_slice, sizeof(float));
    float *gy_buf = seg_xcalloc((size_t)(j->in[1] * w), sizeof(float));
    for (int64_t task = b; task < e; task++) {
        int64_t p = task / j->in[0], z = task % j->in[0];
        const float *gz = up_inv_rows(&j->v[0], z, j->dy + p * j->out[0] * dy_slice, dy_slice,
                                      dy_slice, gz_buf);
        float *dx = j->dx + task * j->in[1] * j->in[2];
        for (int64_t y = 0; y < j->in[1]; y++) {
            const float *gy = up_inv_rows(&j->v[1], y, gz, w, w, gy_buf + y * w);
            up_inv_gather_row(&j->v[2], gy, dx + y * j->in[2], j->in[2]);
        }
    }
    seg_free(gz_buf);
    seg_free(gy_buf);
}

int rt_fast_upsample_bwd(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                         rt_pool *pool, rt_error *err)
{
    (void)err;
    const rt_type *dt = &in[0]->type, *xt = &out->type;
    int nsp = ins->attrs.nsp;
    up_bwd_job j = {.in = {1, 1, 1}, .out = {1, 1, 1}, .dy = rt_f32(in[0]), .dx = rt_f32(out)};
    for (int i = 0; i < nsp; i++) {
        j.in[3 - nsp + i] = xt->dim[2 + i];
        j.out[3 - nsp + i] = dt->dim[2 + i];
    }
    for (int a = 0; a < 3; a++) {
        ops_up_axis t;
        ops_up_axis_init(&t, ins->attrs.mode, j.in[a], j.out[a], a < 3 - nsp);
        up_inv_init(&j.v[a], &t, j.in[a], j.out[a]);
        up_inv_find_pairs(&j.v[a], j.in[a], j.out[a]);
        ops_up_axis_free(&t);
    }
    rt_pool_run(pool, xt->dim[0] * xt->dim[1] * j.in[0], up_bwd_task, &j);
    for (int a = 0; a < 3; a++)
        up_inv_free(&j.v[a]);
    return 0;
}
