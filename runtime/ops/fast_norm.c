/* fast_norm.c — batch normalisation and its two gradients for the fast
 * kernels: the reference's per-channel algorithm (norm.c, norm_bwd.c) with
 * one task per channel.
 *
 * A task does all of its channel's work: the batch statistics (training)
 * or the running ones (inference), the running-statistics update of the
 * forward (in place on in[3] and in[4], each channel written by its own
 * task), then the channel's outputs. Statistics and the gradient's sums
 * are accumulated in double like the reference, with the same two passes
 * for the variance and the same expressions for every scalar and every
 * output element.
 *
 * The one deliberate difference is the order of the double sums. The
 * reference adds the values one after the other, a chain of dependent
 * additions that runs at one value per add latency; here a sum has
 * BN_LANES partial sums (element i of each row goes to lane i % BN_LANES),
 * combined pairwise in a fixed order, which gcc vectorises. The partition
 * depends only on the shape, never on the thread count. A double sum of
 * floats is exact to about 1e-16 relative either way, so the float results
 * almost always round to the reference's bits (the unit tests compare
 * within 1e-5; they have all matched bit for bit so far). The gradients
 * also take their sums inside the statistics' walks over the rows, while
 * a row is in cache, where the reference walks x once more: sum(dy) next
 * to sum(x), sum(dy * (x - mean)) next to the variance; bwd_gamma skips
 * sum(dy), which it never uses.
 */
#include "runtime/ops/fast.h"

#include <math.h>
#include <string.h>

#define BN_LANES 8 /* partial sums per double sum: independent add chains */

/* A channel's view of the call: x (and dy) are [n, ch, plane]. */
typedef struct bn_job {
    int64_t n, ch, plane;
    const float *x, *dy;         /* dy: gradients only */
    const float *gamma, *beta;   /* beta: forward only */
    float *rm, *rv;              /* running statistics (written by the forward when training) */
    float *out;                  /* y or dx [n, ch, plane], or dgamma [ch] */
    const rt_attrs *a;           /* training, eps, momentum */
} bn_job;

/* Per-channel statistics the forward normalises with (norm_bwd.c's bn_stat). */
typedef struct bn_stat {
    double mean, invstd;
} bn_stat;

static void bn_job_init(bn_job *j, const rt_instr *ins, const rt_tensor *x, float *out)
{
    memset(j, 0, sizeof *j);
    j->n = x->type.dim[0];
    j->ch = x->type.dim[1];
    j->plane = j->n * j->ch > 0 ? rt_type_numel(&x->type) / (j->n * j->ch) : 0;
    j->x = rt_f32(x);
    j->out = out;
    j->a = &ins->attrs;
}

/* Channel c's row of sample n. */
static int64_t bn_row(const bn_job *j, int64_t n, int64_t c) { return (n * j->ch + c) * j->plane; }

/* ------------------------------------------------------------ lane sums */

static double lanes_total(const double *s)
{
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* s[i % L] += x[i] (L = BN_LANES): a row of a channel's sum. */
static void lanes_sum(double *restrict s, const float *restrict x, int64_t len)
{
    double a[BN_LANES];
    memcpy(a, s, sizeof a);
    int64_t i = 0;
    for (; i + BN_LANES <= len; i += BN_LANES)
#pragma GCC unroll 8 /* = BN_LANES: keeps the lanes in registers */
        for (int k = 0; k < BN_LANES; k++)
            a[k] += x[i + k];
    for (int k = 0; i + k < len; k++)
        a[k] += x[i + k];
    memcpy(s, a, sizeof a);
}

/* s[i % L] += (x[i] - mean) * (x[i] - mean). */
static void lanes_sq(double *restrict s, const float *restrict x, int64_t len, double mean)
{
    double a[BN_LANES];
    memcpy(a, s, sizeof a);
    int64_t i = 0;
    for (; i + BN_LANES <= len; i += BN_LANES)
#pragma GCC unroll 8 /* = BN_LANES: keeps the lanes in registers */
        for (int k = 0; k < BN_LANES; k++)
            a[k] += (x[i + k] - mean) * (x[i + k] - mean);
    for (int k = 0; i + k < len; k++)
        a[k] += (x[i + k] - mean) * (x[i + k] - mean);
    memcpy(s, a, sizeof a);
}

/* s[i % L] += dy[i] * (x[i] - mean). */
static void lanes_dot(double *restrict s, const float *restrict x, const float *restrict dy,
                      int64_t len, double mean)
{
    double a[BN_LANES];
    memcpy(a, s, sizeof a);
    int64_t i = 0;
    for (; i + BN_LANES <= len; i += BN_LANES)
#pragma GCC unroll 8 /* = BN_LANES: keeps the lanes in registers */
        for (int k = 0; k < BN_LANES; k++)
            a[k] += dy[i + k] * (x[i + k] - mean);
    for (int k = 0; i + k < len; k++)
        a[k] += dy[i + k] * (x[i + k] - mean);
    memcpy(s, a, sizeof a);
}

/* ---------------------------------------------------------- statistics */

/* A channel's sums over its n * plane values. */
typedef struct bn_sums {
    double mean, var; /* batch mean and biased variance of x */
    double sum_dy;    /* sum(dy), with BN_SUM_DY */
    double dot;       /* sum(dy * (x - mean)), with BN_DOT */
} bn_sums;

enum {
    BN_SUM_DY = 1, /* also sum dy (in the pass that sums x) */
    BN_DOT = 2,    /* also sum dy * (x - mean) (in the variance pass) */
};

/* Channel c's batch statistics and the gradient sums `what` asks for. */
static void bn_batch_sums(const bn_job *j, int64_t c, int what, bn_sums *r)
{
    double s[BN_LANES] = {0}, t[BN_LANES] = {0}, cnt = (double)(j->n * j->plane);
    for (int64_t n = 0; n < j->n; n++) {
        lanes_sum(s, j->x + bn_row(j, n, c), j->plane);
        if (what & BN_SUM_DY)
            lanes_sum(t, j->dy + bn_row(j, n, c), j->plane);
    }
    r->mean = lanes_total(s) / cnt;
    r->sum_dy = lanes_total(t);
    memset(s, 0, sizeof s);
    memset(t, 0, sizeof t);
    for (int64_t n = 0; n < j->n; n++) {
        lanes_sq(s, j->x + bn_row(j, n, c), j->plane, r->mean);
        if (what & BN_DOT)
            lanes_dot(t, j->x + bn_row(j, n, c), j->dy + bn_row(j, n, c), j->plane, r->mean);
    }
    r->var = lanes_total(s) / cnt;
    r->dot = lanes_total(t);
}

/* sum(dy * (x - mean)) over channel c (inference: mean is a constant). */
static double bn_dot(const bn_job *j, int64_t c, double mean)
{
    double t[BN_LANES] = {0};
    for (int64_t n = 0; n < j->n; n++)
        lanes_dot(t, j->x + bn_row(j, n, c), j->dy + bn_row(j, n, c), j->plane, mean);
    return lanes_total(t);
}

/* ------------------------------------------------------------- forward */

/* d = a * alpha + shift over a row, in float as bn_apply. */
static void row_affine(float *restrict d, const float *restrict a, float alpha, float shift,
                       int64_t len)
{
    int64_t i = 0;
    for (; i + BN_LANES <= len; i += BN_LANES)
        for (int k = 0; k < BN_LANES; k++)
            d[i + k] = a[i + k] * alpha + shift;
    for (; i < len; i++)
        d[i] = a[i] * alpha + shift;
}

static void bn_fwd_channel(const bn_job *j, int64_t c)
{
    double mean = j->rm[c], var = j->rv[c], m = j->a->momentum;
    if (j->a->training) {
        int64_t cnt = j->n * j->plane;
        bn_sums r;
        bn_batch_sums(j, c, 0, &r);
        mean = r.mean, var = r.var;
        j->rm[c] = (float)((1 - m) * j->rm[c] + m * mean);
        j->rv[c] = (float)((1 - m) * j->rv[c] + m * var * (double)cnt / (double)(cnt - 1));
    }
    double invstd = 1.0 / sqrt(var + (double)j->a->eps);
    float alpha = (float)(invstd * j->gamma[c]);
    float shift = (float)(j->beta[c] - mean * alpha);
    for (int64_t n = 0; n < j->n; n++)
        row_affine(j->out + bn_row(j, n, c), j->x + bn_row(j, n, c), alpha, shift, j->plane);
}

static void bn_fwd_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    for (int64_t c = b; c < e; c++)
        bn_fwd_channel(arg, c);
}

int rt_fast_batchnorm(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                      rt_error *err)
{
    (void)err;
    bn_job j;
    bn_job_init(&j, ins, in[0], rt_f32(out));
    j.gamma = rt_f32(in[1]);
    j.beta = rt_f32(in[2]);
    j.rm = rt_f32(in[3]);
    j.rv = rt_f32(in[4]);
    rt_pool_run(pool, j.ch, bn_fwd_task, &j);
    return 0;
}

/* ------------------------------------------------------------ backward */

/* Channel c's statistics, batch (with the sums `what` asks for, in *r)
 * or running. */
static bn_stat bn_stat_of(const bn_job *j, int64_t c, int what, bn_sums *r)
{
    double mean = j->rm[c], var = j->rv[c];
    if (j->a->training) {
        bn_batch_sums(j, c, what, r);
        mean = r->mean, var = r->var;
    }
    return (bn_stat){mean, 1.0 / sqrt(var + (double)j->a->eps)};
}

/* dx = (dy - gmean - (x - mean) * k) * scale over a row, in double as bn_dx_train. */
static void row_dx(float *restrict dx, const float *restrict x, const float *restrict dy,
                   double mean, double gmean, double k, double scale, int64_t len)
{
    int64_t i = 0;
    for (; i + BN_LANES <= len; i += BN_LANES)
        for (int l = 0; l < BN_LANES; l++)
            dx[i + l] = (float)((dy[i + l] - gmean - (x[i + l] - mean) * k) * scale);
    for (; i < len; i++)
        dx[i] = (float)((dy[i] - gmean - (x[i] - mean) * k) * scale);
}

static void bn_dx_channel(const bn_job *j, int64_t c)
{
    bn_sums r;
    bn_stat st = bn_stat_of(j, c, BN_SUM_DY | BN_DOT, &r);
    if (!j->a->training) {
        float alpha = (float)(st.invstd * j->gamma[c]);
        for (int64_t n = 0; n < j->n; n++)
            rt_fast_row_scale(j->out + bn_row(j, n, c), j->dy + bn_row(j, n, c), alpha, j->plane);
        return;
    }
    double cnt = (double)(j->n * j->plane);
    double k = r.dot * st.invstd * st.invstd / cnt, gmean = r.sum_dy / cnt;
    double scale = st.invstd * j->gamma[c];
    for (int64_t n = 0; n < j->n; n++)
        row_dx(j->out + bn_row(j, n, c), j->x + bn_row(j, n, c), j->dy + bn_row(j, n, c), st.mean,
               gmean, k, scale, j->plane);
}

static void bn_dx_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    for (int64_t c = b; c < e; c++)
        bn_dx_channel(arg, c);
}

int rt_fast_batchnorm_bwd_data(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                               rt_pool *pool, rt_error *err)
{
    (void)err;
    bn_job j;
    bn_job_init(&j, ins, in[0], rt_f32(out));
    j.gamma = rt_f32(in[1]);
    j.rm = rt_f32(in[2]);
    j.rv = rt_f32(in[3]);
    j.dy = rt_f32(in[4]);
    rt_pool_run(pool, j.ch, bn_dx_task, &j);
    return 0;
}

static void bn_dgamma_task(void *arg, int64_t b, int64_t e, int thread)
{
    (void)thread;
    const bn_job *j = arg;
    for (int64_t c = b; c < e; c++) {
        bn_sums r;
        bn_stat st = bn_stat_of(j, c, BN_DOT, &r);
        double dot = j->a->training ? r.dot : bn_dot(j, c, st.mean);
        j->out[c] = (float)(dot * st.invstd);
    }
}

int rt_fast_batchnorm_bwd_gamma(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                                rt_pool *pool, rt_error *err)
{
    (void)err;
    bn_job j;
    bn_job_init(&j, ins, in[0], rt_f32(out));
    j.rm = rt_f32(in[1]);
    j.rv = rt_f32(in[2]);
    j.dy = rt_f32(in[3]);
    rt_pool_run(pool, j.ch, bn_dgamma_task, &j);
    return 0;
}
