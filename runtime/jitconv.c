/* jitconv.c — the runtime driver of generated convolution kernels inside
 * a program run (see "JIT kernels in programs" in runtime.h).
 *
 * One call: the input goes from NCDHW to NCDHW{vl}c (a kernel whose input
 * is plain NCDHW, ib = 1, reads the tensor in place), the weight and bias
 * are packed (every call: training changes them every step, and packing
 * is a small fraction of the convolution), the kernel runs its tasks on
 * the pool, and the blocked output is copied back to NCDHW. The layout
 * copies also run on the pool, in tasks of (sample, channel block, run of
 * voxels); being copies, they give the same bits for any thread count, and
 * so does the kernel (each task writes its own rows in a fixed order).
 *
 * Scratch buffers grow to the largest operand seen and are reused, so a
 * run allocates nothing once warm. No initialisation is needed: blocking
 * writes the padded lanes as zeros and the kernel writes all of y.
 *
 * Gradients (rt_conv_kernel.kind): the data gradient of a stride-1 conv
 * is this same forward run with the weight packed transposed and flipped
 * (rt_conv_weight_block_tflip); the weight gradient blocks x and dy, runs
 * its tasks into packed partials (one per task, a fixed partition of the
 * reduction) and sums them in part order into dw, so it too gives the
 * same bits for any thread count.
 *
 * Grouped convolutions (rt_conv_kernel.groups > 1): the kernel is one
 * group's, and the driver runs it once per group, group after group:
 * the group's input channels are blocked (or, for a kernel that reads x
 * plain, gathered) out of the whole tensor, its weight rows and bias are
 * a contiguous slice, and its output is copied into its own channels of
 * y. Depthwise convolutions are the case of one channel per group: the
 * vector lanes then mostly compute padding, which is correct but slow.
 *
 * Invariant: the output tensor is written only by the final copy, after
 * the kernel has finished reading x, w and bias, so the output may share
 * memory with any of them (a memory plan may reuse a dying input's
 * buffer for it). With groups, group g's copy writes only its own
 * channels, and later groups read only theirs: an output sharing memory
 * with an input would still be overwritten before a later group reads it,
 * so the memory plan must not alias them (its liveness is inclusive: it
 * never does).
 */
#include "runtime/runtime.h"

#include <string.h>

#define JC_RUN 2048 /* voxels per layout-copy task: 2048 x 16 lanes x 4 B = 128 KB */
#define JC_TILE 64  /* voxels per transposition tile (x 16 lanes x 4 B = 4 KB) */

/* Channel groups of a kernel (0 in tables made before groups: 1). */
static int jc_groups(const rt_conv_kernel *k) { return k->groups > 1 ? k->groups : 1; }

static int jc_needs_y(const rt_conv_kernel *k);

static void jc_reserve(float **buf, int64_t *cap, int64_t want)
{
    if (want <= *cap)
        return;
    *buf = seg_xrealloc(*buf, (size_t)want * sizeof(float));
    *cap = want;
}

void rt_conv_scratch_free(rt_conv_scratch *s)
{
    seg_free(s->x);
    seg_free(s->w);
    seg_free(s->b);
    seg_free(s->y);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------- layout copies */

/* A layout copy between plain [n][c][vol] and blocked [n][cb][vol][vl]. */
typedef struct jc_copy {
    const float *src;
    float *dst;
    const float *mask; /* blocked -> plain only: dst = mask > 0 ? value : 0; NULL = none */
    const float *res;  /* blocked -> plain only: dst = value + res (then max(., 0) with
                          relu); NULL = none */
    int relu;
    double *sums;      /* plain -> blocked only: per task, the sum of each lane (vl
                          doubles; a fused bias gradient); NULL = none */
    int64_t c, cb, vol, runs; /* channels, blocks, voxels, runs per block */
    int64_t pc, pc0;   /* the plain tensor's channels per sample, and the first of
                          the c copied (a group's slice; c and 0 otherwise) */
    int64_t bcb, bb0;  /* the blocked tensor's blocks per sample, and the first
                          block copied (a concat's piece; cb and 0 otherwise) */
    int vl;
} jc_copy;

/* Task t = (sample * cb + block) * runs + run: voxels [q0, q1) of a block. */
static void jc_task_range(const jc_copy *c, int64_t t, int64_t *nb, int64_t *q0, int64_t *q1)
{
    *nb = t / c->runs;
    *q0 = t % c->runs * JC_RUN;
    *q1 = *q0 + JC_RUN < c->vol ? *q0 + JC_RUN : c->vol;
}

/* Voxels [q0, q1) of one block, plain -> blocked: JC_TILE voxels at a
 * time, lane by lane, so the reads are contiguous and the strided writes
 * stay within one small L1 tile; padded lanes are zeroed. A full block
 * of 8 lanes goes through the AVX2 transposition (ops/transpose8.c). */
static void jc_block_run(const jc_copy *c, const float *s, float *d, int64_t lanes, int64_t q0,
                         int64_t q1)
{
    int vl = c->vl;
    for (int64_t t0 = q0; t0 < q1; t0 += JC_TILE) {
        int64_t m = q1 - t0 < JC_TILE ? q1 - t0 : JC_TILE;
        float *tile = d + t0 * vl;
        int64_t done = vl == 8 && lanes == 8 ? rt_transpose8_block(s + t0, c->vol, tile, m) : 0;
        for (int64_t l = 0; l < lanes; l++)
            for (int64_t q = done; q < m; q++)
                tile[q * vl + l] = s[l * c->vol + t0 + q];
        for (int64_t q = 0; lanes < vl && q < m; q++)
            memset(tile + q * vl + lanes, 0, (size_t)(vl - lanes) * sizeof(float));
    }
}

/* Voxels [q0, q1) of one block, blocked -> plain (the same walk); with a
 * mask (plain, like d) a fused ReLU gradient keeps values where mask > 0. */
static void jc_unblock_run(const jc_copy *c, const float *s, float *d, const float *mask,
                           const float *res, int64_t lanes, int64_t q0, int64_t q1)
{
    int vl = c->vl;
    for (int64_t t0 = q0; t0 < q1; t0 += JC_TILE) {
        int64_t m = q1 - t0 < JC_TILE ? q1 - t0 : JC_TILE;
        const float *tile = s + t0 * vl;
        rt_unblock_epi epi = {mask ? mask + t0 : NULL, res ? res + t0 : NULL, c->relu};
        /* the AVX2 path applies mask, residual and ReLU to what it stores */
        int64_t done = vl == 8 && lanes == 8
                           ? rt_transpose8_unblock(tile, d + t0, c->vol, m,
                                                   mask || res ? &epi : NULL)
                           : 0;
        for (int64_t l = 0; l < lanes; l++)
            for (int64_t q = done; q < m; q++)
                d[l * c->vol + t0 + q] = tile[q * vl + l];
        for (int64_t l = 0; mask && l < lanes; l++)
            for (int64_t q = done; q < m; q++) {
                int64_t at = l * c->vol + t0 + q;
                d[at] = mask[at] > 0 ? d[at] : 0.0f;
            }
        for (int64_t l = 0; res && l < lanes; l++) /* residual, then ReLU (NaN passes) */
            for (int64_t q = done; q < m; q++) {
                int64_t at = l * c->vol + t0 + q;
                float v = d[at] + res[at];
                d[at] = c->relu && v < 0 ? 0.0f : v;
            }
    }
}

/* Tasks [begin, end) of a layout copy in either direction. */
static void jc_copy_tasks(const jc_copy *c, int64_t begin, int64_t end, int to_blocked)
{
    for (int64_t t = begin; t < end; t++) {
        int64_t nb, q0, q1;
        jc_task_range(c, t, &nb, &q0, &q1);
        int64_t i = nb / c->cb, b = nb % c->cb, lanes = c->c - b * c->vl;
        lanes = lanes < c->vl ? lanes : c->vl;
        int64_t blocked = (i * c->bcb + c->bb0 + b) * c->vol * c->vl, plain = (i * c->pc + c->pc0 + b * c->vl) * c->vol;
        if (!to_blocked) {
            jc_unblock_run(c, c->src + blocked, c->dst + plain, c->mask ? c->mask + plain : NULL,
                           c->res ? c->res + plain : NULL, lanes, q0, q1);
            continue;
        }
        jc_block_run(c, c->src + plain, c->dst + blocked, lanes, q0, q1);
        if (c->sums) /* of the blocked run, still in cache; padded lanes are 0 */
            rt_lane_sums(c->dst + blocked + q0 * c->vl, q1 - q0, c->vl, c->sums + t * c->vl);
    }
}

static void jc_block_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    jc_copy_tasks(arg, begin, end, 1);
}

static void jc_unblock_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    jc_copy_tasks(arg, begin, end, 0);
}

/* A plain copy of c channels of vol voxels in blocks of vl; the caller
 * may add a mask, residual or sums before running it. */
static jc_copy jc_copy_of(const float *src, float *dst, int64_t c, int64_t vol, int vl)
{
    return (jc_copy){.src = src, .dst = dst, .c = c, .cb = rt_blocked_channels(c, vl) / vl,
                     .vol = vol, .runs = (vol + JC_RUN - 1) / JC_RUN, .pc = c,
                     .bcb = rt_blocked_channels(c, vl) / vl, .vl = vl};
}

/* Its tasks for n samples, on the pool. */
static void jc_copy_run(rt_pool *p, jc_copy *cp, int64_t n, int to_blocked)
{
    rt_pool_run_balanced(p, n * cp->cb * cp->runs, to_blocked ? jc_block_task : jc_unblock_task, cp);
}

/* Plain -> blocked (to_blocked) or blocked -> plain (masked when mask
 * is set), on the pool. */
static void jc_layout(rt_pool *p, const float *src, float *dst, const float *mask, int64_t n,
                      int64_t c, int64_t vol, int vl, int to_blocked)
{
    jc_copy cp = jc_copy_of(src, dst, c, vol, vl);
    cp.mask = mask;
    jc_copy_run(p, &cp, n, to_blocked);
}

void rt_layout_block_pool(rt_pool *p, const float *src, float *dst, int64_t n, int64_t c,
                          int64_t spatial, int vl)
{
    jc_layout(p, src, dst, NULL, n, c, spatial, vl, 1);
}

void rt_layout_block_slice_pool(rt_pool *p, const float *src, float *dst, int64_t n, int64_t c,
                                int64_t c_all, int64_t c0, int64_t spatial, int vl)
{
    jc_copy cp = jc_copy_of(src, dst, c, spatial, vl);
    cp.pc = c_all;
    cp.pc0 = c0;
    jc_copy_run(p, &cp, n, 1);
}

/* -------------------------------------------------------------- driver */

typedef struct jc_job {
    rt_conv_fn fn;
    const float *x, *w, *b;
    float *y;
    int64_t first;    /* the kernel's task number of task 0 */
    const float *res; /* the kernel's residual operand (its mask epilogue's mask) */
} jc_job;

static void jc_conv_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const jc_job *j = arg;
    j->fn(j->x, j->w, j->b, j->res, j->y, j->first + begin, j->first + end);
}

/* db[c] from per-task lane sums: added per channel in task order
 * (sample, run), the same order whether dy was blocked on the way or
 * stored so. */
static void jc_bias_from_sums(const rt_conv_kernel *k, const jc_copy *cp, float *db)
{
    int vl = k->vl;
    for (int64_t c = 0; c < k->cout; c++) {
        int64_t b = c / vl, l = c % vl;
        double acc = 0;
        for (int64_t i = 0; i < k->n; i++)
            for (int64_t r = 0; r < cp->runs; r++)
                acc += cp->sums[((i * cp->cb + b) * cp->runs + r) * vl + l];
        db[c] = (float)acc;
    }
}

/* Lane sums of tasks [begin, end) of a blocked tensor's runs. */
static void jc_sums_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const jc_copy *c = arg;
    for (int64_t t = begin; t < end; t++) {
        int64_t nb, q0, q1;
        jc_task_range(c, t, &nb, &q0, &q1);
        rt_lane_sums(c->src + (nb * c->vol + q0) * c->vl, q1 - q0, c->vl, c->sums + t * c->vl);
    }
}

/* The bias gradient of a dy stored blocked (one group): the same per-run
 * lane sums the blocking copy takes, read in place. */
static void jc_dy_bias_blocked(const rt_conv_kernel *k, rt_pool *p, const float *dy, float *db)
{
    jc_copy cp = jc_copy_of(dy, NULL, k->cout, k->out_vol, k->vl);
    cp.sums = seg_xcalloc((size_t)(k->n * cp.cb * cp.runs * k->vl), sizeof *cp.sums);
    rt_pool_run_balanced(p, k->n * cp.cb * cp.runs, jc_sums_task, &cp);
    jc_bias_from_sums(k, &cp, db);
    seg_free(cp.sums);
}

/* dy to the blocked layout, and with db the bias gradient on the way:
 * per-task lane sums, added per channel in task order (sample, run). */
static void jc_block_dy_bias(const rt_conv_kernel *k, rt_pool *p, const rt_tensor *dy, int g,
                             float *blocked, float *db)
{
    int vl = k->vl;
    jc_copy cp = jc_copy_of(rt_f32(dy), blocked, k->cout, k->out_vol, vl);
    cp.pc = k->cout * jc_groups(k);
    cp.pc0 = g * k->cout;
    cp.sums = seg_xcalloc((size_t)(k->n * cp.cb * cp.runs * vl), sizeof *cp.sums);
    jc_copy_run(p, &cp, k->n, 1);
    jc_bias_from_sums(k, &cp, db);
    seg_free(cp.sums);
}

/* The input of group g as the kernel reads it: blocked by ib, or, for a
 * kernel reading plain x, x itself (one group) or the group's channels
 * gathered (s->x holds them). */
static const float *jc_group_input(const rt_conv_kernel *k, rt_pool *p, const rt_tensor *x,
                                   int g, rt_conv_scratch *s)
{
    int groups = jc_groups(k);
    if ((k->ib == 1 || k->x_blocked) && groups == 1)
        return rt_f32(x);
    jc_reserve(&s->x, &s->cap_x, k->x_floats);
    rt_layout_block_slice_pool(p, rt_f32(x), s->x, k->n, k->cin, k->cin * groups, g * k->cin,
                               k->in_vol, k->ib);
    return s->x;
}

/* Weight gradient: x (unless ib = 1) and dy to blocked layouts, the
 * kernel writes one packed partial per task, summed in part order; per
 * group, into that group's rows of dw (and entries of db). */
static void jc_bwd_weight(const rt_conv_kernel *k, rt_pool *p, const rt_tensor *x,
                          const rt_tensor *dy, rt_tensor *dw, rt_tensor *db, rt_conv_scratch *s)
{
    int groups = jc_groups(k);
    SEG_ASSERT(rt_type_numel(&x->type) == k->n * k->cin * groups * k->in_vol);
    SEG_ASSERT(rt_type_numel(&dy->type) == k->n * k->cout * groups * k->out_vol);
    SEG_ASSERT(rt_type_numel(&dw->type) == k->cout * groups * k->cin * k->kvol);
    jc_reserve(&s->w, &s->cap_w, k->w_floats);
    if (jc_needs_y(k))
        jc_reserve(&s->y, &s->cap_y, k->y_floats);
    for (int g = 0; g < groups; g++) {
        const float *dyb = k->dy_blocked ? rt_f32(dy) : s->y;
        jc_job job = {k->fn, jc_group_input(k, p, x, g, s), dyb, NULL, s->w, 0, NULL};
        if (k->dy_blocked && db)
            jc_dy_bias_blocked(k, p, dyb, rt_f32(db));
        else if (db)
            jc_block_dy_bias(k, p, dy, g, s->y, rt_f32(db) + g * k->cout);
        else if (!k->dy_blocked)
            rt_layout_block_slice_pool(p, rt_f32(dy), s->y, k->n, k->cout, k->cout * groups,
                                       g * k->cout, k->out_vol, k->vl);
        rt_pool_run_balanced(p, k->tasks, jc_conv_task, &job);
        rt_conv_weight_unblock_sum(p, s->w, k->parts, rt_f32(dw) + g * k->cout * k->cin * k->kvol,
                                   k->cout, k->cin, k->kvol, k->ib, k->vl);
    }
}

/* The copy of y's blocks [b0, b1) of sample i, blocked in src, to their
 * channels of group g in plain y (through the ReLU-gradient mask, or adding
 * the residual, on the way). */
static void jc_copy_out(const rt_conv_kernel *k, rt_pool *p, const float *src, const rt_tensor *res,
                        const rt_tensor *mask, rt_tensor *y, int g, int64_t i, int64_t b0,
                        int64_t b1)
{
    int64_t pc = k->cout * jc_groups(k), sample = i * pc * k->out_vol;
    int64_t c1 = b1 * k->vl < k->cout ? b1 * k->vl : k->cout;
    jc_copy out = jc_copy_of(src, rt_f32(y) + sample, c1 - b0 * k->vl, k->out_vol, k->vl);
    out.pc = pc;
    out.pc0 = g * k->cout + b0 * k->vl;
    out.mask = mask ? rt_f32(mask) + sample : NULL; /* a data gradient's fused ReLU gradient */
    out.res = res ? rt_f32(res) + sample : NULL;    /* a residual (and ReLU) on the way out */
    out.relu = k->relu_copy;
    jc_copy_run(p, &out, 1, 0);
}

#define JC_MASK_RUN ((int64_t)16384) /* floats per masking task */

typedef struct jc_mask_job {
    float *y;
    const float *mask;
    int64_t n;
} jc_mask_job;

static void jc_mask_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const jc_mask_job *j = arg;
    for (int64_t t = begin; t < end; t++) {
        int64_t e = (t + 1) * JC_MASK_RUN < j->n ? (t + 1) * JC_MASK_RUN : j->n;
        for (int64_t q = t * JC_MASK_RUN; q < e; q++) /* as the plain copy's mask (NaN: 0) */
            j->y[q] = j->mask[q] > 0 ? j->y[q] : 0.0f;
    }
}

/* y[q] = mask[q] > 0 ? y[q] : 0 for n floats of a blocked result and its
 * ReLU mask, blocked alike (rt_conv_kernel.mask_blocked). */
static void jc_mask_blocked(rt_pool *p, float *y, const float *mask, int64_t n)
{
    jc_mask_job j = {y, mask, n};
    rt_pool_run_balanced(p, (n + JC_MASK_RUN - 1) / JC_MASK_RUN, jc_mask_task, &j);
}

/* The kernel's output groups [g0, g1) of sample i into the scratch, which
 * holds only their blocks: y is passed as the address block 0 of sample 0
 * would have, so the kernel's own indexing lands in the scratch (it touches
 * nothing outside those blocks), then those channels are copied out. Large
 * outputs go in such chunks so the blocked copy of y is a fraction of y
 * (a 96-channel 64^3 data gradient kept 100 MB of it at the training
 * step's peak) and is still in cache when it is copied out. */
static void jc_chunk_run(const rt_conv_kernel *k, rt_pool *p, jc_job *job, const rt_tensor *res,
                         const rt_tensor *mask, rt_tensor *y, int g, int64_t i, int64_t g0,
                         int64_t g1, rt_conv_scratch *s)
{
    int64_t ocb = rt_blocked_channels(k->cout, k->vl) / k->vl, ng = (ocb + k->oc_group_blocks - 1) / k->oc_group_blocks;
    int64_t b0 = g0 * k->oc_group_blocks, b1 = g1 * k->oc_group_blocks < ocb ? g1 * k->oc_group_blocks : ocb;
    uintptr_t skip = (uintptr_t)((i * ocb + b0) * k->out_vol * k->vl) * sizeof(float);
    job->y = (float *)((uintptr_t)s->y - skip);
    job->first = (i * ng + g0) * k->group_tasks;
    rt_pool_run_balanced(p, (g1 - g0) * k->group_tasks, jc_conv_task, job);
    if (mask && k->mask_blocked) /* the chunk's blocks of it */
        jc_mask_blocked(p, s->y, rt_f32(mask) + (i * ocb + b0) * k->out_vol * k->vl,
                        (b1 - b0) * k->out_vol * k->vl);
    jc_copy_out(k, p, s->y, res, k->mask_blocked ? NULL : mask, y, g, i, b0, b1);
}

/* Forward or stride-1 data gradient of group g: pack its weight slice and
 * bias, run, and copy its result into its channels of y: at once, or in
 * chunks of output groups (chunk_groups). */
static void jc_group_run(const rt_conv_kernel *k, rt_pool *p, const rt_tensor *x,
                         const rt_tensor *w, const rt_tensor *b, const rt_tensor *res,
                         const rt_tensor *mask, rt_tensor *y, int g, rt_conv_scratch *s)
{
    const float *wg = rt_f32(w) + g * k->cin * k->cout * k->kvol;
    jc_job job = {k->fn, jc_group_input(k, p, x, g, s), s->w, s->b, s->y, 0, NULL};
    if (k->kind == RT_CONV_BWD_DATA) /* w is [cin][cout][kvol] of the kernel's view */
        rt_conv_weight_block_tflip(p, wg, s->w, k->cin, k->cout, k->kvol, k->ib, k->vl);
    else
        rt_conv_weight_block(p, wg, s->w, k->cout, k->cin, k->kvol, k->ib, k->vl);
    rt_conv_bias_block(b ? rt_f32(b) + g * k->cout : NULL, s->b, k->cout, k->vl);
    int64_t ocb = rt_blocked_channels(k->cout, k->vl) / k->vl;
    if (k->chunk_groups > 0 && !k->y_blocked) {
        int64_t ng = (ocb + k->oc_group_blocks - 1) / k->oc_group_blocks;
        for (int64_t i = 0; i < k->n; i++)
            for (int64_t g0 = 0; g0 < ng; g0 += k->chunk_groups)
                jc_chunk_run(k, p, &job, res, mask, y, g, i, g0,
                             g0 + k->chunk_groups < ng ? g0 + k->chunk_groups : ng, s);
        return;
    }
    if (k->y_blocked) /* the result is stored blocked: written in place */
        job.y = rt_f32(y);
    if (k->mask_in_kernel) {
        SEG_ASSERT(k->y_blocked && mask);
        job.res = rt_f32(mask);
    }
    rt_pool_run_balanced(p, k->tasks, jc_conv_task, &job);
    if (mask && k->mask_blocked && !k->mask_in_kernel)
        jc_mask_blocked(p, (float *)job.y, rt_f32(mask), k->n * ocb * k->out_vol * k->vl);
    for (int64_t i = 0; i < k->n && !k->y_blocked; i++)
        jc_copy_out(k, p, s->y + i * ocb * k->out_vol * k->vl, res, k->mask_blocked ? NULL : mask,
                    y, g, i, 0, ocb);
}

void rt_conv_kernel_run(const rt_conv_kernel *k, rt_pool *p, const rt_tensor *x,
                        const rt_tensor *w, const rt_tensor *b, const rt_tensor *res,
                        rt_tensor *y, rt_tensor *db, rt_conv_scratch *s)
{
    const rt_tensor *mask = NULL; /* a data gradient's fused ReLU mask comes as "b" */
    if (k->kind == RT_CONV_BWD_DATA) {
        mask = b;
        b = NULL;
        SEG_ASSERT(!mask || rt_type_numel(&mask->type) == rt_type_numel(&y->type));
    }
    SEG_ASSERT(!db || (k->kind == RT_CONV_BWD_WEIGHT && rt_type_numel(&db->type) == k->cout));
    if (k->kind == RT_CONV_PHASED) {
        jc_reserve(&s->w, &s->cap_w, k->w_floats);
        jc_reserve(&s->b, &s->cap_b, k->b_floats);
        jc_reserve(&s->y, &s->cap_y, k->y_floats);
        if (k->ib != 1 || jc_groups(k) > 1)
            jc_reserve(&s->x, &s->cap_x, k->x_floats);
        rt_conv_phased_run(k, p, x, w, b, y, s);
        return;
    }
    if (k->kind == RT_CONV_BWD_WEIGHT) {
        jc_bwd_weight(k, p, x, w, y, db, s);
        return;
    }
    int groups = jc_groups(k);
    SEG_ASSERT(rt_type_numel(&x->type) == k->n * k->cin * groups * k->in_vol);
    SEG_ASSERT(rt_type_numel(&w->type) == k->cout * k->cin * groups * k->kvol);
    SEG_ASSERT(rt_type_numel(&y->type) == k->n * k->cout * groups * k->out_vol);
    SEG_ASSERT(!b || rt_type_numel(&b->type) == k->cout * groups);
    SEG_ASSERT(!res || rt_type_numel(&res->type) == rt_type_numel(&y->type));
    jc_reserve(&s->w, &s->cap_w, k->w_floats);
    jc_reserve(&s->b, &s->cap_b, k->b_floats);
    if (jc_needs_y(k))
        jc_reserve(&s->y, &s->cap_y, k->y_floats);
    SEG_ASSERT(!(k->y_blocked || k->mask_blocked) || (groups == 1 && !res));
    SEG_ASSERT(!k->x_blocked || groups == 1);
    for (int g = 0; g < groups; g++)
        jc_group_run(k, p, x, w, b, res, mask, y, g, s);
}

/* -------------------------------------------------- planned workspace */

static int64_t jc_aligned(int64_t floats)
{
    int64_t b = floats * (int64_t)sizeof(float);
    return (b + RT_MEM_ALIGN - 1) / RT_MEM_ALIGN * RT_MEM_ALIGN;
}

/* Whether the driver blocks (or gathers) x into the workspace. */
static int jc_copies_x(const rt_conv_kernel *k)
{
    return jc_groups(k) > 1 || (k->ib != 1 && !k->x_blocked);
}

/* Whether the driver needs its y scratch: a blocked result, or for the
 * weight gradient a blocked copy of dy; not when the program stores it so. */
static int jc_needs_y(const rt_conv_kernel *k)
{
    return k->kind == RT_CONV_BWD_WEIGHT ? !k->dy_blocked : !k->y_blocked;
}

int64_t rt_conv_workspace_bytes(const rt_conv_kernel *k)
{
    int64_t x = jc_copies_x(k) ? jc_aligned(k->x_floats) : 0;
    int64_t b = k->kind == RT_CONV_BWD_WEIGHT ? 0 : jc_aligned(k->b_floats);
    return x + jc_aligned(k->w_floats) + b + (jc_needs_y(k) ? jc_aligned(k->y_floats) : 0);
}

/* The driver reserves no more than these capacities, so it never grows
 * (and never frees) buffers it does not own. */
void rt_conv_scratch_in(rt_conv_scratch *s, const rt_conv_kernel *k, void *ws)
{
    char *at = ws;
    memset(s, 0, sizeof *s);
    if (jc_copies_x(k)) {
        s->x = (float *)at;
        s->cap_x = k->x_floats;
        at += jc_aligned(k->x_floats);
    }
    s->w = (float *)at;
    s->cap_w = k->w_floats;
    at += jc_aligned(k->w_floats);
    if (k->kind != RT_CONV_BWD_WEIGHT) {
        s->b = (float *)at;
        s->cap_b = k->b_floats;
        at += jc_aligned(k->b_floats);
    }
    if (jc_needs_y(k)) {
        s->y = (float *)at;
        s->cap_y = k->y_floats;
    }
}

/* ------------------------------------------------------ blocked concat */

/* Each input's channels to its own blocks of the blocked output. */
static int jc_concat_blocked(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                             rt_pool *pool, int vl)
{
    const rt_type *ot = &out->type;
    int64_t vol = 1, blocks = ot->dim[1] / vl, b0 = 0;
    for (int a = 2; a < ot->rank; a++)
        vol *= ot->dim[a];
    for (int k = 0; k < ins->n_in; k++) {
        int64_t c = in[k]->type.dim[1];
        SEG_ASSERT(c % vl == 0);
        jc_copy cp = jc_copy_of(rt_f32(in[k]), rt_f32(out), c, vol, vl);
        cp.bcb = blocks;
        cp.bb0 = b0;
        jc_copy_run(pool, &cp, ot->dim[0], 1);
        b0 += c / vl;
    }
    return 0;
}

static int jc_concat_blocked8(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                              rt_pool *pool, rt_error *err)
{
    (void)err;
    return jc_concat_blocked(ins, in, out, pool, 8);
}

static int jc_concat_blocked16(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                               rt_pool *pool, rt_error *err)
{
    (void)err;
    return jc_concat_blocked(ins, in, out, pool, 16);
}

rt_fast_fn rt_concat_blocked_fn(int vl)
{
    return vl == 8 ? jc_concat_blocked8 : vl == 16 ? jc_concat_blocked16 : NULL;
}
