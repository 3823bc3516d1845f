/* norm.c — batch normalisation over [N, C, spatial...], PyTorch semantics.
 *
 * Inputs: x, gamma, beta, running_mean, running_var (the last four [C]).
 * Training: per channel, the batch mean and biased variance over N and the
 * spatial axes (two passes, double accumulators, as PyTorch's CPU kernel
 * accumulates in double) normalise x; then, in place on in[3] and in[4]
 * (the op's STATEFUL side effect):
 *     running_mean = (1 - m) * running_mean + m * mean
 *     running_var  = (1 - m) * running_var  + m * var * n / (n - 1)
 * with m = attrs.momentum and the unbiased variance. A channel with a single
 * value is an error, as in PyTorch. Inference: the running statistics
 * normalise and nothing is written.
 * Either way y = x * alpha + shift per channel with alpha = gamma / sqrt(var
 * + eps) and shift = beta - mean * alpha, PyTorch's form of the transform.
 */
#include "runtime/ops/ops_internal.h"

#include <math.h>

/* Shape of a batchnorm call: x is [n, ch, plane...]. */
typedef struct bn_dims {
    int64_t n, ch, plane;
} bn_dims;

static int bn_check(const ops_call *c, bn_dims *d)
{
    const rt_tensor *x = c->in[0];
    if (ops_want_dtype(c, x, RT_F32, "input") || ops_want_dtype(c, c->out, RT_F32, "output"))
        return -1;
    if (x->type.rank < 2 || !rt_type_equal(&x->type, &c->out->type))
        return ops_fail(c, "input must be [N, C, ...] and the output the same type");
    d->n = x->type.dim[0];
    d->ch = x->type.dim[1];
    d->plane = d->n * d->ch > 0 ? rt_type_numel(&x->type) / (d->n * d->ch) : 0;
    static const char *const what[] = {"", "gamma", "beta", "running_mean", "running_var"};
    for (int i = 1; i < 5; i++) {
        if (ops_want_dtype(c, c->in[i], RT_F32, what[i]))
            return -1;
        if (rt_type_numel(&c->in[i]->type) != d->ch)
            return ops_fail(c, "%s must have %lld elements", what[i], (long long)d->ch);
    }
    return 0;
}

/* Batch mean and biased variance of channel ch. */
static void bn_stats(const bn_dims *d, const float *x, int64_t ch, double *mean, double *var)
{
    double sum = 0, sq = 0;
    for (int64_t n = 0; n < d->n; n++) {
        const float *p = x + (n * d->ch + ch) * d->plane;
        for (int64_t i = 0; i < d->plane; i++)
            sum += p[i];
    }
    double cnt = (double)(d->n * d->plane);
    *mean = sum / cnt;
    for (int64_t n = 0; n < d->n; n++) {
        const float *p = x + (n * d->ch + ch) * d->plane;
        for (int64_t i = 0; i < d->plane; i++)
            sq += (p[i] - *mean) * (p[i] - *mean);
    }
    *var = sq / cnt;
}

static void bn_apply(const bn_dims *d, const float *x, float *y, int64_t ch, float alpha,
                     float shift)
{
    for (int64_t n = 0; n < d->n; n++) {
        int64_t off = (n * d->ch + ch) * d->plane;
        for (int64_t i = 0; i < d->plane; i++)
            y[off + i] = x[off + i] * alpha + shift;
    }
}

int ops_batchnorm(const ops_call *c)
{
    bn_dims d = {0, 0, 0};
    if (bn_check(c, &d) < 0)
        return -1;
    int64_t cnt = d.n * d.plane;
    if (c->a->training && cnt < 2)
        return ops_fail(c, "expected more than 1 value per channel when training, got %lld",
                        (long long)cnt);
    const float *x = rt_f32(c->in[0]), *gamma = rt_f32(c->in[1]), *beta = rt_f32(c->in[2]);
    float *rm = rt_f32(c->in[3]), *rv = rt_f32(c->in[4]);
    double m = c->a->momentum;
    for (int64_t ch = 0; ch < d.ch; ch++) {
        double mean = rm[ch], var = rv[ch];
        if (c->a->training) {
            bn_stats(&d, x, ch, &mean, &var);
            rm[ch] = (float)((1 - m) * rm[ch] + m * mean);
            rv[ch] = (float)((1 - m) * rv[ch] + m * var * (double)cnt / (double)(cnt - 1));
        }
        double invstd = 1.0 / sqrt(var + (double)c->a->eps);
        float alpha = (float)(invstd * gamma[ch]);
        float shift = (float)(beta[ch] - mean * alpha);
        bn_apply(&d, x, rt_f32(c->out), ch, alpha, shift);
    }
    return 0;
}
