/* jitconv_phased.c — the driver of strided data gradients and transposed
 * convolutions on generated stride-1 kernels (runtime.h RT_CONV_PHASED).
 *
 * dx[i] = sum over taps t with i = o*s - p + t*d of dy[o] w[t]. Split dx
 * by phase i = r + s*j: the taps that land on phase r are those with
 * (r + p - t*d) divisible by s, at o = j + (r + p - t*d)/s, so each phase
 * is a stride-1 convolution of dy with a sub-kernel of w (transposed, in
 * reverse tap order), which the forward kernel generator already
 * compiles; the compiler (jitprog.c) made one kernel per phase. Here: dy
 * goes to the blocked layout once; per phase the sub-kernel is gathered
 * and packed, the kernel runs, and its blocked result is scattered to the
 * phase's positions of dx (keeping values where the ReLU mask is > 0 when
 * the data gradient carries one). Phases no tap lands on get the bias (a
 * transposed conv's) or zeros. Every dx element is written by one task
 * in a fixed order: the same bits for any thread count. A grouped
 * instruction runs all of this once per group, on the group's channels
 * of dy and dx and its rows of w (cin, cout are one group's).
 */
#include "runtime/runtime.h"

#include <string.h>

/* Gather the sub-kernel of phase ph: plain [cout][cin][nk], cout = dx's
 * channels, cin = dy's; w is [cin][cout][k] (a conv's weight, dy channels
 * first; a transposed conv's weight has the same layout). */
static void ph_gather(const rt_conv_kernel *k, const rt_conv_phase *ph, const float *w, float *sub)
{
    int64_t kvol = k->k_sp[0] * k->k_sp[1] * k->k_sp[2];
    int64_t nvol = (int64_t)ph->nk[0] * ph->nk[1] * ph->nk[2];
    for (int64_t oc = 0; oc < k->cout; oc++)
        for (int64_t ic = 0; ic < k->cin; ic++) {
            const float *src = w + (ic * k->cout + oc) * kvol;
            float *dst = sub + (oc * k->cin + ic) * nvol;
            for (int a = 0; a < ph->nk[0]; a++)
                for (int b = 0; b < ph->nk[1]; b++)
                    for (int c = 0; c < ph->nk[2]; c++) {
                        int64_t t0 = ph->t0[0] + a * ph->tstep[0], t1 = ph->t0[1] + b * ph->tstep[1];
                        int64_t t2 = ph->t0[2] + c * ph->tstep[2];
                        *dst++ = src[(t0 * k->k_sp[1] + t1) * k->k_sp[2] + t2];
                    }
        }
}

/* A scatter of one phase: blocked result (or NULL: the bias / zeros) into dx. */
typedef struct ph_scatter {
    const rt_conv_kernel *k;
    const rt_conv_phase *ph;
    const float *blocked; /* [n][cout/vl][out vol][vl], NULL = no taps */
    const float *bias;    /* [cout] or NULL */
    const float *mask;    /* like dx, or NULL */
    float *dx;
    int64_t c_all, c0;    /* dx's channels, and the group's first */
} ph_scatter;

/* Task = (sample, channel, jd): one row plane of the phase. */
static void ph_scatter_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const ph_scatter *sc = arg;
    const rt_conv_kernel *k = sc->k;
    const rt_conv_phase *ph = sc->ph;
    int vl = k->vl;
    int64_t cb = rt_blocked_channels(k->cout, vl) / vl, ovol = ph->out[0] * ph->out[1] * ph->out[2];
    int64_t dvol = k->dx_sp[0] * k->dx_sp[1] * k->dx_sp[2];
    for (int64_t t = begin; t < end; t++) {
        int64_t jd = t % ph->out[0], c = t / ph->out[0] % k->cout, n = t / ph->out[0] / k->cout;
        const float *src = sc->blocked ? sc->blocked + ((n * cb + c / vl) * ovol) * vl + c % vl : NULL;
        float fill = sc->bias ? sc->bias[c] : 0.0f;
        int64_t base = (n * sc->c_all + sc->c0 + c) * dvol;
        for (int64_t jh = 0; jh < ph->out[1]; jh++)
            for (int64_t jw = 0; jw < ph->out[2]; jw++) {
                int64_t i = ((ph->r[0] + k->s[0] * jd) * k->dx_sp[1] + ph->r[1] + k->s[1] * jh) *
                                k->dx_sp[2] + ph->r[2] + k->s[2] * jw;
                float v = src ? src[((jd * ph->out[1] + jh) * ph->out[2] + jw) * vl] : fill;
                sc->dx[base + i] = sc->mask && !(sc->mask[base + i] > 0) ? 0.0f : v;
            }
    }
}

typedef struct ph_job {
    rt_conv_fn fn;
    const float *x, *w, *b;
    float *y;
} ph_job;

static void ph_conv_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const ph_job *j = arg;
    j->fn(j->x, j->w, j->b, NULL, j->y, begin, end);
}

/* Every phase of group g. */
static void ph_group(const rt_conv_kernel *k, rt_pool *p, const rt_tensor *dy, const rt_tensor *w,
                     const rt_tensor *extra, rt_tensor *y, int g, rt_conv_scratch *s)
{
    int groups = k->groups > 1 ? k->groups : 1;
    const float *x = rt_f32(dy), *bias = extra && !k->mask ? rt_f32(extra) + g * k->cout : NULL;
    const float *wg = rt_f32(w) + g * k->cin * k->cout * k->kvol;
    if (k->ib != 1 || groups > 1) { /* blocked, or one group's channels gathered */
        rt_layout_block_slice_pool(p, x, s->x, k->n, k->cin, k->cin * groups, g * k->cin,
                                   k->in_vol, k->ib);
        x = s->x;
    }
    rt_conv_bias_block(bias, s->b, k->cout, k->vl);
    ph_scatter sc = {k, NULL, NULL, bias, extra && k->mask ? rt_f32(extra) : NULL, rt_f32(y),
                     k->cout * groups, g * k->cout};
    for (int i = 0; i < k->n_phases; i++) {
        const rt_conv_phase *ph = &k->phases[i];
        sc.ph = ph;
        sc.blocked = NULL;
        if (ph->fn) {
            int64_t nvol = (int64_t)ph->nk[0] * ph->nk[1] * ph->nk[2];
            int64_t packed = ph->w_floats - k->cout * k->cin * nvol;
            ph_gather(k, ph, wg, s->w + packed);
            rt_conv_weight_block(p, s->w + packed, s->w, k->cout, k->cin, nvol, k->ib, k->vl);
            ph_job job = {ph->fn, x, s->w, s->b, s->y};
            rt_pool_run_balanced(p, ph->tasks, ph_conv_task, &job);
            sc.blocked = s->y;
        }
        rt_pool_run_balanced(p, k->n * k->cout * ph->out[0], ph_scatter_task, &sc);
    }
}

void rt_conv_phased_run(const rt_conv_kernel *k, rt_pool *p, const rt_tensor *dy,
                        const rt_tensor *w, const rt_tensor *extra, rt_tensor *y,
                        rt_conv_scratch *s)
{
    int groups = k->groups > 1 ? k->groups : 1;
    SEG_ASSERT(k->kind == RT_CONV_PHASED && s->cap_w >= k->w_floats && s->cap_y >= k->y_floats &&
               s->cap_b >= k->b_floats &&
               ((k->ib == 1 && groups == 1) || s->cap_x >= k->x_floats));
    SEG_ASSERT(rt_type_numel(&dy->type) == k->n * k->cin * groups * k->in_vol);
    SEG_ASSERT(rt_type_numel(&y->type) == k->n * k->cout * groups * k->out_vol);
    for (int g = 0; g < groups; g++)
        ph_group(k, p, dy, w, extra, y, g, s);
}
