/* fast_reduce.c — softmax, log_softmax and global_avgpool for the fast
 * kernels, bit-identical to the reference (reduce.c, pool.c).
 *
 * softmax over an axis of n entries splits the tensor as outer x n x inner
 * (reduce.c's split_axis); a line is the n values at one (outer, inner)
 * position, inner apart in memory. The reference walks one line at a time,
 * a strided walk when the axis is not the last one (channels: axis 1). A
 * task here takes SM_CHUNK adjacent lines of one outer index and walks
 * them side by side, one contiguous row of the chunk per axis entry: the
 * same three passes as the reference (max, sum of expf(x - max) in double,
 * output) with the same expressions, so each line's arithmetic and order
 * are the reference's. softmax keeps expf(x - max) in the output between
 * the second and third pass instead of calling expf again: the same float.
 *
 * global_avgpool: one task per (n, c) plane, summed in double in order as
 * pool.c does.
 */
#include "runtime/ops/fast.h"

#include <math.h>

#define SM_CHUNK 256 /* lines per softmax task */

typedef struct sm_job {
    const float *x;
    float *y;
    int64_t n, inner; /* axis length; elements after the axis (the line stride) */
    int64_t chunks;   /* tasks per outer index: ceil(inner / SM_CHUNK) */
    int log_form;     /* log_softmax */
} sm_job;

/* Lines [i0, i0 + len) of outer index o. */
static void sm_lines(const sm_job *j, int64_t o, int64_t i0, int64_t len)
{
    float m[SM_CHUNK], lse[SM_CHUNK];
    double sum[SM_CHUNK];
    const float *x = j->x + o * j->n * j->inner + i0;
    float *y = j->y + o * j->n * j->inner + i0;
    for (int64_t i = 0; i < len; i++)
        m[i] = -INFINITY, sum[i] = 0;
    for (int64_t k = 0; k < j->n; k++) {
        const float *r = x + k * j->inner;
        for (int64_t i = 0; i < len; i++)
            m[i] = r[i] > m[i] ? r[i] : m[i];
    }
    for (int64_t k = 0; k < j->n; k++) {
        const float *r = x + k * j->inner;
        float *d = y + k * j->inner;
        for (int64_t i = 0; i < len; i++) {
            float e = expf(r[i] - m[i]);
            sum[i] += e;
            if (!j->log_form)
                d[i] = e;
        }
    }
    if (j->log_form) /* the reference computes it for softmax too, unused */
        for (int64_t i = 0; i < len; i++)
            lse[i] = (float)log(sum[i]);
    for (int64_t k = 0; k < j->n; k++) {
        const float *r = x + k * j->inner;
        float *d = y + k * j->inner;
        if (j->log_form)
            for (int64_t i = 0; i < len; i++)
                d[i] = r[i] - m[i] - lse[i];
        else
            for (int64_t i = 0; i < len; i++)
                d[i] = (float)(d[i] / sum[i]);
    }
}

static void sm_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const sm_job *j = arg;
    for (int64_t t = b; t < e; t++) {
        int64_t o = t / j->chunks, i0 = t % j->chunks * SM_CHUNK;
        sm_lines(j, o, i0, j->inner - i0 < SM_CHUNK ? j->inner - i0 : SM_CHUNK);
    }
}

int rt_fast_softmax(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                    rt_error *err)
{
    (void)err;
    const rt_type *t = &in[0]->type;
    int axis = ins->attrs.axis < 0 ? ins->attrs.axis + t->rank : ins->attrs.axis;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= t->dim[i];
    for (int i = axis + 1; i < t->rank; i++)
        inner *= t->dim[i];
    sm_job j = {.x = rt_f32(in[0]), .y = rt_f32(out), .n = t->dim[axis], .inner = inner,
                .chunks = (inner + SM_CHUNK - 1) / SM_CHUNK, .log_form = ins->op == OP_LOG_SOFTMAX};
    rt_pool_run(pool, outer * j.chunks, sm_task, &j);
    return 0;
}

/* ------------------------------------------------------ global_avgpool */

typedef struct gap_job {
    const float *x;
    float *y;
    int64_t plane; /* elements per (n, c) plane */
} gap_job;

static void gap_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const gap_job *j = arg;
    for (int64_t p = b; p < e; p++) {
        const float *src = j->x + p * j->plane;
        double sum = 0;
        for (int64_t i = 0; i < j->plane; i++)
            sum += src[i];
        j->y[p] = (float)(sum / (double)j->plane);
    }
}

int rt_fast_global_avgpool(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                           rt_pool *pool, rt_error *err)
{
    (void)ins;
    (void)err;
    int64_t planes = out->type.dim[0] * out->type.dim[1];
    gap_job j = {.x = rt_f32(in[0]), .y = rt_f32(out),
                 .plane = planes ? rt_type_numel(&in[0]->type) / planes : 0};
    rt_pool_run(pool, planes, gap_task, &j);
    return 0;
}
