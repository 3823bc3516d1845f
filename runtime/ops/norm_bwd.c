/* norm_bwd.c — gradients of batch normalisation over [N, C, spatial...],
 * PyTorch's CPU batch_norm_backward.
 *
 * batchnorm_bwd_data (x, gamma, running_mean, running_var, dy -> dx):
 *   training: with the batch mean and biased variance of each channel over
 *   its M = N * spatial values (as the forward computed them), invstd =
 *   1 / sqrt(var + eps) and x^ = (x - mean) * invstd,
 *       dx = gamma * invstd / M * (M * dy - sum(dy) - x^ * sum(dy * x^)),
 *   evaluated as PyTorch does: (dy - sum(dy) / M - (x - mean) * k) *
 *   invstd * gamma with k = sum(dy * (x - mean)) * invstd^2 / M;
 *   inference: the running statistics are constants, dx = dy * gamma *
 *   invstd with invstd from running_var.
 * batchnorm_bwd_gamma (x, running_mean, running_var, dy -> dgamma):
 *   dgamma[c] = sum(dy * x^), x^ from the batch statistics when training,
 *   from the running ones in inference.
 * Statistics and per-channel sums are accumulated in double, two passes
 * for the variance like norm.c. In training the running statistics are
 * ignored (the forward has already updated them in place).
 */
#include "runtime/ops/ops_backward.h"

#include <math.h>

/* Shape of a batchnorm call: x is [n, ch, plane...]. */
typedef struct bn_dims {
    int64_t n, ch, plane;
} bn_dims;

/* Per-channel statistics the forward normalised with. */
typedef struct bn_stat {
    double mean, invstd;
} bn_stat;

/* x and dy are [N, C, ...] f32 of one type; vecs[0..nvec) are f32 [C]. */
static int bn_bwd_check(const ops_call *c, const rt_tensor *x, const rt_tensor *dy,
                        rt_tensor *const *vecs, int nvec, const char *const *names, bn_dims *d)
{
    if (ops_want_dtype(c, x, RT_F32, "input") || ops_want_dtype(c, dy, RT_F32, "gradient") ||
        ops_want_dtype(c, c->out, RT_F32, "output"))
        return -1;
    if (x->type.rank < 2 || !rt_type_equal(&x->type, &dy->type))
        return ops_fail(c, "input must be [N, C, ...] and the gradient the same type");
    d->n = x->type.dim[0];
    d->ch = x->type.dim[1];
    d->plane = d->n * d->ch > 0 ? rt_type_numel(&x->type) / (d->n * d->ch) : 0;
    for (int i = 0; i < nvec; i++) {
        if (ops_want_dtype(c, vecs[i], RT_F32, names[i]))
            return -1;
        if (rt_type_numel(&vecs[i]->type) != d->ch)
            return ops_fail(c, "%s must have %lld elements", names[i], (long long)d->ch);
    }
    if (c->a->training && d->n * d->plane < 2)
        return ops_fail(c, "expected more than 1 value per channel when training, got %lld",
                        (long long)(d->n * d->plane));
    return 0;
}

/* Mean and invstd of channel ch: batch statistics or the running ones. */
static bn_stat bn_stat_of(const ops_call *c, const bn_dims *d, const float *x, const float *rm,
                          const float *rv, int64_t ch)
{
    double mean = rm[ch], var = rv[ch];
    if (c->a->training) {
        double sum = 0, sq = 0, cnt = (double)(d->n * d->plane);
        for (int64_t n = 0; n < d->n; n++) {
            const float *p = x + (n * d->ch + ch) * d->plane;
            for (int64_t i = 0; i < d->plane; i++)
                sum += p[i];
        }
        mean = sum / cnt;
        for (int64_t n = 0; n < d->n; n++) {
            const float *p = x + (n * d->ch + ch) * d->plane;
            for (int64_t i = 0; i < d->plane; i++)
                sq += (p[i] - mean) * (p[i] - mean);
        }
        var = sq / cnt;
    }
    return (bn_stat){mean, 1.0 / sqrt(var + (double)c->a->eps)};
}

/* sum(dy) and sum(dy * (x - mean)) over channel ch. */
static void bn_sums(const bn_dims *d, const float *x, const float *dy, int64_t ch, double mean,
                    double *sum_dy, double *dot)
{
    double s = 0, t = 0;
    for (int64_t n = 0; n < d->n; n++) {
        int64_t off = (n * d->ch + ch) * d->plane;
        for (int64_t i = 0; i < d->plane; i++) {
            s += dy[off + i];
            t += dy[off + i] * (x[off + i] - mean);
        }
    }
    *sum_dy = s;
    *dot = t;
}

/* dx of channel ch in training: (dy - sum_dy / M - (x - mean) * k) * invstd * gamma. */
static void bn_dx_train(const bn_dims *d, const float *x, const float *dy, float *dx, int64_t ch,
                        bn_stat st, double gamma)
{
    double sum_dy, dot, cnt = (double)(d->n * d->plane);
    bn_sums(d, x, dy, ch, st.mean, &sum_dy, &dot);
    double k = dot * st.invstd * st.invstd / cnt, gmean = sum_dy / cnt;
    double scale = st.invstd * gamma;
    for (int64_t n = 0; n < d->n; n++) {
        int64_t off = (n * d->ch + ch) * d->plane;
        for (int64_t i = 0; i < d->plane; i++)
            dx[off + i] = (float)((dy[off + i] - gmean - (x[off + i] - st.mean) * k) * scale);
    }
}

static void bn_dx_eval(const bn_dims *d, const float *dy, float *dx, int64_t ch, float alpha)
{
    for (int64_t n = 0; n < d->n; n++) {
        int64_t off = (n * d->ch + ch) * d->plane;
        for (int64_t i = 0; i < d->plane; i++)
            dx[off + i] = dy[off + i] * alpha;
    }
}

int ops_batchnorm_bwd_data(const ops_call *c)
{
    static const char *const names[] = {"gamma", "running_mean", "running_var"};
    const rt_tensor *x = c->in[0], *dy = c->in[4];
    bn_dims d = {0, 0, 0};
    if (bn_bwd_check(c, x, dy, c->in + 1, 3, names, &d) < 0)
        return -1;
    if (!rt_type_equal(&c->out->type, &x->type))
        return ops_fail(c, "output type differs from the input's");
    const float *gamma = rt_f32(c->in[1]), *rm = rt_f32(c->in[2]), *rv = rt_f32(c->in[3]);
    for (int64_t ch = 0; ch < d.ch; ch++) {
        bn_stat st = bn_stat_of(c, &d, rt_f32(x), rm, rv, ch);
        if (c->a->training)
            bn_dx_train(&d, rt_f32(x), rt_f32(dy), rt_f32(c->out), ch, st, gamma[ch]);
        else
            bn_dx_eval(&d, rt_f32(dy), rt_f32(c->out), ch, (float)(st.invstd * gamma[ch]));
    }
    return 0;
}

int ops_batchnorm_bwd_gamma(const ops_call *c)
{
    static const char *const names[] = {"running_mean", "running_var"};
    const rt_tensor *x = c->in[0], *dy = c->in[3];
    bn_dims d = {0, 0, 0};
    if (bn_bwd_check(c, x, dy, c->in + 1, 2, names, &d) < 0)
        return -1;
    if (rt_type_numel(&c->out->type) != d.ch)
        return ops_fail(c, "output must have %lld elements", (long long)d.ch);
    const float *rm = rt_f32(c->in[1]), *rv = rt_f32(c->in[2]);
    for (int64_t ch = 0; ch < d.ch; ch++) {
        bn_stat st = bn_stat_of(c, &d, rt_f32(x), rm, rv, ch);
        double sum_dy, dot;
        bn_sums(&d, rt_f32(x), rt_f32(dy), ch, st.mean, &sum_dy, &dot);
        rt_f32(c->out)[ch] = (float)(dot * st.invstd);
    }
    return 0;
}
