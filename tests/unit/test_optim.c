/* test_optim.c — optimizers, gradient clipping and schedules.
 *
 * Each optimizer is checked against a straightforward double-precision
 * transcription of torch.optim's formulas (written here independently of
 * optim.c), and once against numbers printed by PyTorch itself. Schedules
 * are checked at a few points against their closed forms.
 */
#include "runtime/runtime.h"
#include "tests/unit/test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N = 5, STEPS = 3 };

/* Shared inputs; bench/optim_torch.py uses the same. */
static const float P0[N] = {0.5f, -1.25f, 2.0f, 0.0f, 3.5f};
static const float GRADS[STEPS][N] = {
    {0.1f, -0.2f, 0.3f, -0.4f, 0.5f},
    {-0.3f, 0.25f, 0.0f, 1.5f, -0.05f},
    {0.7f, 0.01f, -0.6f, 0.2f, 0.9f},
};

/* Printed by /usr/bin/python3 bench/optim_torch.py (torch 1.13.0a0). */
static const float torch_sgd_nesterov[3][5] = {
    {0.480049998, -1.20962501, 1.93920004, 0.0759999976, 3.39835},
    {0.527632892, -1.23761427, 1.90959561, -0.176744401, 3.35805821},
    {0.409887046, -1.24094176, 1.99506867, -0.306810141, 3.14297366},
};
static const float torch_sgd_dampening[3][5] = {
    {0.49000001, -1.23000002, 1.97000003, 0.0400000028, 3.45000005},
    {0.508000016, -1.23450005, 1.94300008, -0.0590000004, 3.40950012},
    {0.461200029, -1.2394501, 1.97270012, -0.166099995, 3.29205012},
};
static const float torch_adam_l2[3][5] = {
    {0.49000001, -1.24000001, 1.99000001, 0.00999999978, 3.49000001},
    {0.492952466, -1.236444, 1.98102188, 0.00453394372, 3.48120904},
    {0.487830162, -1.23184896, 1.97928786, -0.000474544242, 3.47205281},
};
static const float torch_adamw[3][5] = {
    {0.489500016, -1.23874998, 1.98800004, 0.00999999978, 3.48650002},
    {0.493952423, -1.2391386, 1.97931147, 0.00452533504, 3.47708726},
    {0.489208281, -1.23935628, 1.98073256, -0.00048540486, 3.46579957},
};
static const double torch_clip_total = 2.4171264171600342;
static const float torch_clip_grads[5] = {0.124114275, -0.4964571, 0.82742846, 0.206857115, 0.103428558};

/* ------------------------------------------------- double reference */

/* State of the reference optimizer for one parameter. */
typedef struct ref_state {
    double p[N], buf[N], m[N], v[N];
    int t;
} ref_state;

static void ref_sgd(const rt_optim_config *c, ref_state *s, const float *grad, double lr, double wd)
{
    for (int i = 0; i < N; i++) {
        double g = grad[i] + wd * s->p[i];
        if (c->momentum != 0) {
            s->buf[i] = s->t == 1 ? g : c->momentum * s->buf[i] + (1 - c->dampening) * g;
            g = c->nesterov ? g + c->momentum * s->buf[i] : s->buf[i];
        }
        s->p[i] -= lr * g;
    }
}

static void ref_adam(const rt_optim_config *c, ref_state *s, const float *grad, double lr, double wd)
{
    double bc1 = 1 - pow(c->beta1, s->t), bc2 = 1 - pow(c->beta2, s->t);
    for (int i = 0; i < N; i++) {
        double g = grad[i];
        if (c->kind == RT_OPTIM_ADAMW)
            s->p[i] *= 1 - lr * wd;
        else
            g += wd * s->p[i];
        s->m[i] = c->beta1 * s->m[i] + (1 - c->beta1) * g;
        s->v[i] = c->beta2 * s->v[i] + (1 - c->beta2) * g * g;
        double mhat = s->m[i] / bc1, vhat = s->v[i] / bc2;
        s->p[i] -= lr * mhat / (sqrt(vhat) + c->eps); /* == torch's lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
    }
}

static void ref_step(const rt_optim_config *c, ref_state *s, const float *grad, double lr_mult, double wd_mult)
{
    s->t++;
    if (c->kind == RT_OPTIM_SGD)
        ref_sgd(c, s, grad, c->lr * lr_mult, c->weight_decay * wd_mult);
    else
        ref_adam(c, s, grad, c->lr * lr_mult, c->weight_decay * wd_mult);
}

/* Run the real optimizer (on pool, NULL = serial) and the reference side by
 * side for STEPS steps; if want is given, also compare with PyTorch's numbers. */
static void run_case_on(const rt_optim_config *c, double lr_mult, double wd_mult,
                        const float (*want)[N], rt_pool *pool)
{
    rt_error err = {{0}};
    rt_optim *o = rt_optim_new(c, &err);
    CHECK(o != NULL);
    if (!o)
        return;
    rt_optim_set_pool(o, pool);
    float p[N], g[N];
    memcpy(p, P0, sizeof p);
    int idx = rt_optim_add(o, "w", p, g, N);
    rt_optim_set_mult(o, idx, lr_mult, wd_mult);
    ref_state ref = {.t = 0};
    for (int i = 0; i < N; i++)
        ref.p[i] = P0[i];
    for (int k = 0; k < STEPS; k++) {
        memcpy(g, GRADS[k], sizeof g);
        rt_optim_step(o);
        ref_step(c, &ref, GRADS[k], lr_mult, wd_mult);
        for (int i = 0; i < N; i++) {
            CHECK_NEAR(p[i], ref.p[i], 2e-6);
            if (want)
                CHECK_NEAR(p[i], want[k][i], 1e-6);
        }
        CHECK(memcmp(g, GRADS[k], sizeof g) == 0); /* gradients are not modified */
    }
    CHECK_INT(rt_optim_steps(o, idx), STEPS);
    rt_optim_free(o);
}

/* run_case_on serially and on a pool of two threads. */
static void run_case(const rt_optim_config *c, double lr_mult, double wd_mult, const float (*want)[N])
{
    rt_pool *pool = rt_pool_new(2);
    run_case_on(c, lr_mult, wd_mult, want, NULL);
    run_case_on(c, lr_mult, wd_mult, want, pool);
    rt_pool_free(pool);
}

/* ---------------------------------------------------------- optimizers */

TEST(optim_sgd_plain)
{
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_SGD);
    c.lr = 0.1;
    run_case(&c, 1, 1, NULL);
    c.weight_decay = 0.05;
    run_case(&c, 1, 1, NULL);
}

TEST(optim_sgd_momentum)
{
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_SGD);
    c.lr = 0.1;
    c.momentum = 0.9;
    c.weight_decay = 0.01;
    run_case(&c, 1, 1, NULL);
    c.dampening = 0.1;
    c.weight_decay = 0;
    run_case(&c, 1, 1, torch_sgd_dampening);
}

TEST(optim_sgd_nesterov)
{
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_SGD);
    c.lr = 0.1;
    c.momentum = 0.9;
    c.nesterov = 1;
    c.weight_decay = 0.01;
    run_case(&c, 1, 1, torch_sgd_nesterov);
}

TEST(optim_adam)
{
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_ADAM);
    c.lr = 0.01;
    run_case(&c, 1, 1, NULL);
    c.weight_decay = 0.1;
    run_case(&c, 1, 1, torch_adam_l2);
    c.beta1 = 0.5;
    c.beta2 = 0.9;
    c.eps = 1e-3;
    run_case(&c, 1, 1, NULL);
}

TEST(optim_adamw)
{
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_ADAMW);
    CHECK_NEAR(c.weight_decay, 1e-2, 0);
    c.lr = 0.01;
    c.weight_decay = 0.1;
    run_case(&c, 1, 1, torch_adamw);
}

TEST(optim_groups)
{
    rt_optim_config c;
    rt_optim_kind kinds[3] = {RT_OPTIM_SGD, RT_OPTIM_ADAM, RT_OPTIM_ADAMW};
    for (int k = 0; k < 3; k++) {
        rt_optim_config_init(&c, kinds[k]);
        c.lr = 0.05;
        c.momentum = 0.5;
        c.weight_decay = 0.2;
        run_case(&c, 0.25, 0, NULL);
        run_case(&c, 2, 0.5, NULL);
    }
}

/* Two parameters in one optimizer; a third ("frozen") is left out and must
 * not change. set_lr applies from the next step on. */
TEST(optim_frozen_and_set_lr)
{
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_SGD);
    c.lr = 1;
    rt_optim *o = rt_optim_new(&c, NULL);
    float a[2] = {1, 2}, ga[2] = {1, 1}, b[1] = {5}, gb[1] = {2}, frozen[1] = {7};
    rt_optim_add(o, "a", a, ga, 2);
    rt_optim_add(o, "b", b, gb, 1);
    rt_optim_step(o);
    rt_optim_set_lr(o, 0.5);
    CHECK_NEAR(rt_optim_lr(o), 0.5, 0);
    rt_optim_step(o);
    CHECK_NEAR(a[0], 1 - 1 - 0.5, 0);
    CHECK_NEAR(b[0], 5 - 2 - 1, 0);
    CHECK_NEAR(frozen[0], 7, 0);
    CHECK_INT(rt_optim_count(o), 2);
    CHECK_INT(rt_optim_find(o, "b"), 1);
    CHECK_INT(rt_optim_find(o, "frozen"), -1);
    rt_optim_free(o);
}

TEST(optim_config_errors)
{
    rt_optim_config c;
    rt_error err = {{0}};
    rt_optim_config_init(&c, RT_OPTIM_SGD);
    c.nesterov = 1;
    CHECK(rt_optim_new(&c, &err) == NULL);
    CHECK(strstr(err.msg, "nesterov") != NULL);
    rt_optim_config_init(&c, RT_OPTIM_ADAM);
    c.beta2 = 1.0;
    CHECK(rt_optim_new(&c, &err) == NULL);
    CHECK(strstr(err.msg, "betas") != NULL);
    rt_optim_config_init(&c, RT_OPTIM_ADAMW);
    c.lr = -1;
    CHECK(rt_optim_new(&c, &err) == NULL);
    CHECK(strstr(err.msg, "learning rate") != NULL);
}

/* ------------------------------------------------------------ clipping */

TEST(optim_clip_grad_norm)
{
    float a[3] = {0.3f, -1.2f, 2.0f}, b[2] = {0.5f, 0.25f};
    float *g[2] = {a, b};
    size_t len[2] = {3, 2};
    double total = rt_clip_grad_norm(g, len, 2, 1.0);
    CHECK_NEAR(total, torch_clip_total, 1e-7);
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(i < 3 ? a[i] : b[i - 3], torch_clip_grads[i], 1e-6);
    /* Below the limit (coef = 1.5): untouched. */
    float before[3];
    memcpy(before, a, sizeof a);
    total = rt_clip_grad_norm(g, len, 2, 1.5);
    CHECK_NEAR(total, 1.0, 1e-6);
    CHECK(memcmp(before, a, sizeof a) == 0);
}

TEST(optim_clip_through_optimizer)
{
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_SGD);
    rt_optim *o = rt_optim_new(&c, NULL);
    float p[2] = {0, 0}, g[2] = {3, 4};
    rt_optim_add(o, "p", p, g, 2);
    CHECK_NEAR(rt_optim_clip_grad_norm(o, 1.0), 5.0, 1e-12);
    CHECK_NEAR(g[0], 3 * (1.0 / (5 + 1e-6)), 1e-6);
    CHECK_NEAR(g[1], 4 * (1.0 / (5 + 1e-6)), 1e-6);
    rt_optim_free(o);
}

/* ---------------------------------------------------- the parallel pass */

/* rt_optim_step and rt_optim_clip_grad_norm run as one pass over blocks of
 * all parameters on a pool. With sizes around the block (16384) and the
 * vector width (16), a pool must give the same bits as no pool, and both
 * the same bits as a plain sequential float loop per parameter (optim.c's
 * arithmetic before the pool, transcribed below). */

enum { BIG_N = 7 };
static const size_t BIG_SIZES[BIG_N] = {1, 17, 16384, 16385, 3, 100003, 32};
/* Groups: parameter 2 without weight decay, parameter 5 with more. */
static const double BIG_LR_MULT[BIG_N] = {1, 1, 0.5, 1, 1, 2, 1};
static const double BIG_WD_MULT[BIG_N] = {1, 1, 0, 1, 1, 3, 1};

/* A reproducible value in [-1, 1) for element i of stream seed. */
static float big_value(uint32_t seed, size_t i)
{
    uint32_t x = seed * 0x9E3779B9u ^ (uint32_t)i * 0x85EBCA6Bu;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return (float)(x >> 8) / (float)(1 << 22) - 1.0f;
}

/* The sequential float update of one parameter at step t (from 1). */
static void seq_update(const rt_optim_config *c, int t, double lr, double wd, float *p,
                       const float *grad, float *buf0, float *buf1, size_t n)
{
    if (c->kind == RT_OPTIM_SGD) {
        const float wdf = (float)wd, mom = (float)c->momentum, damp1 = (float)(1 - c->dampening);
        const float neg_lr = (float)-lr;
        for (size_t i = 0; i < n; i++) {
            float g = grad[i];
            if (wd != 0)
                g = g + wdf * p[i];
            if (c->momentum != 0) {
                float b = t == 1 ? g : buf0[i] * mom + damp1 * g;
                buf0[i] = b;
                g = c->nesterov ? g + mom * b : b;
            }
            p[i] = p[i] + neg_lr * g;
        }
        return;
    }
    double l2 = c->kind == RT_OPTIM_ADAM ? wd : 0, decay = c->kind == RT_OPTIM_ADAMW ? wd : 0;
    double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
    const float b1 = (float)c->beta1, omb1 = (float)(1 - c->beta1);
    const float b2 = (float)c->beta2, omb2 = (float)(1 - c->beta2);
    const float neg_step = (float)-(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float eps = (float)c->eps, l2f = (float)l2, keep = (float)(1 - lr * decay);
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        if (decay != 0)
            p[i] = p[i] * keep;
        if (l2 != 0)
            g = g + l2f * p[i];
        buf0[i] = buf0[i] * b1 + omb1 * g;
        buf1[i] = buf1[i] * b2 + omb2 * g * g;
        float denom = sqrtf(buf1[i]) / bc2_sqrt + eps;
        p[i] = p[i] + neg_step * buf0[i] / denom;
    }
}

/* Parameters, gradients and (for the sequential loop) state of one run. */
typedef struct big_set {
    float *p[BIG_N], *g[BIG_N], *b0[BIG_N], *b1[BIG_N];
    rt_optim *o; /* NULL: the sequential loop */
} big_set;

static void big_init(big_set *s, const rt_optim_config *c, int with_optim, rt_pool *pool)
{
    memset(s, 0, sizeof *s);
    if (with_optim) {
        s->o = rt_optim_new(c, NULL);
        rt_optim_set_pool(s->o, pool);
    }
    for (int j = 0; j < BIG_N; j++) {
        size_t n = BIG_SIZES[j];
        s->p[j] = seg_xcalloc(n, sizeof(float));
        s->g[j] = seg_xcalloc(n, sizeof(float));
        s->b0[j] = seg_xcalloc(n, sizeof(float));
        s->b1[j] = seg_xcalloc(n, sizeof(float));
        for (size_t i = 0; i < n; i++)
            s->p[j][i] = big_value(1000 + (uint32_t)j, i);
        if (s->o) {
            char name[16];
            snprintf(name, sizeof name, "p%d", j);
            rt_optim_add(s->o, name, s->p[j], s->g[j], n);
            rt_optim_set_mult(s->o, j, BIG_LR_MULT[j], BIG_WD_MULT[j]);
        }
    }
}

static void big_free(big_set *s)
{
    for (int j = 0; j < BIG_N; j++) {
        seg_free(s->p[j]);
        seg_free(s->g[j]);
        seg_free(s->b0[j]);
        seg_free(s->b1[j]);
    }
    rt_optim_free(s->o);
}

/* Same names, sizes and bytes in two saved states. */
static void check_same_state(const rt_optim *a, const rt_optim *b)
{
    rt_ckpt *ca = rt_ckpt_new(), *cb = rt_ckpt_new();
    rt_optim_save(a, ca);
    rt_optim_save(b, cb);
    CHECK_INT(rt_ckpt_count(ca), rt_ckpt_count(cb));
    for (int i = 0; i < rt_ckpt_count(ca) && i < rt_ckpt_count(cb); i++) {
        const rt_ckpt_entry *ea = rt_ckpt_at(ca, i), *eb = rt_ckpt_at(cb, i);
        CHECK_STR(ea->name, eb->name);
        CHECK_INT(ea->nbytes, eb->nbytes);
        CHECK(ea->nbytes == eb->nbytes && memcmp(ea->data, eb->data, ea->nbytes) == 0);
    }
    rt_ckpt_free(ca);
    rt_ckpt_free(cb);
}

/* The sequential loop's buffer j against the optimizer's saved one. */
static void check_seq_state(const rt_optim *o, int j, const char *what, const float *buf)
{
    char name[64];
    snprintf(name, sizeof name, "%sp%d.%s", RT_OPTIM_PREFIX, j, what);
    rt_ckpt *ck = rt_ckpt_new();
    rt_optim_save(o, ck);
    const rt_ckpt_entry *e = rt_ckpt_find(ck, name);
    CHECK(e != NULL);
    if (e)
        CHECK(e->nbytes == BIG_SIZES[j] * sizeof(float) && memcmp(e->data, buf, e->nbytes) == 0);
    rt_ckpt_free(ck);
}

/* STEPS steps (clipped to max_norm if > 0) serially, on a pool of the
 * given threads, and as the sequential loop: all bit-identical. */
static void big_case(const rt_optim_config *c, double max_norm, int threads)
{
    rt_pool *pool = rt_pool_new(threads);
    big_set a, b, r;
    big_init(&a, c, 1, NULL);
    big_init(&b, c, 1, pool);
    big_init(&r, c, 0, NULL);
    for (int k = 0; k < STEPS; k++) {
        double sum = 0;
        for (int j = 0; j < BIG_N; j++)
            for (size_t i = 0; i < BIG_SIZES[j]; i++) {
                float v = big_value(7919 * (uint32_t)(k + 1) + (uint32_t)j, i);
                a.g[j][i] = b.g[j][i] = r.g[j][i] = v;
                sum += (double)v * v;
            }
        if (max_norm > 0) {
            double ta = rt_optim_clip_grad_norm(a.o, max_norm);
            double tb = rt_optim_clip_grad_norm(b.o, max_norm);
            double tr = rt_clip_grad_norm(r.g, BIG_SIZES, BIG_N, max_norm);
            CHECK(ta == tb);
            CHECK(ta == tr);
            CHECK_NEAR(ta, sqrt(sum), 1e-12);
            CHECK(ta > max_norm); /* the scaling runs */
        }
        rt_optim_step(a.o);
        rt_optim_step(b.o);
        for (int j = 0; j < BIG_N; j++)
            seq_update(c, k + 1, c->lr * BIG_LR_MULT[j], c->weight_decay * BIG_WD_MULT[j], r.p[j],
                       r.g[j], r.b0[j], r.b1[j], BIG_SIZES[j]);
        for (int j = 0; j < BIG_N; j++) {
            size_t bytes = BIG_SIZES[j] * sizeof(float);
            CHECK(memcmp(a.p[j], b.p[j], bytes) == 0);
            CHECK(memcmp(a.p[j], r.p[j], bytes) == 0);
            CHECK(memcmp(a.g[j], b.g[j], bytes) == 0);
            CHECK(memcmp(a.g[j], r.g[j], bytes) == 0);
        }
    }
    check_same_state(a.o, b.o);
    for (int j = 0; j < BIG_N; j++) {
        CHECK_INT(rt_optim_steps(b.o, j), STEPS);
        if (c->kind != RT_OPTIM_SGD) {
            check_seq_state(a.o, j, "m", r.b0[j]);
            check_seq_state(a.o, j, "v", r.b1[j]);
        } else if (c->momentum != 0) {
            check_seq_state(a.o, j, "momentum", r.b0[j]);
        }
    }
    big_free(&a);
    big_free(&b);
    big_free(&r);
    rt_pool_free(pool);
}

/* Every configuration with and without clipping, on 2 and 3 threads. */
static void big_all(const rt_optim_config *c)
{
    for (int threads = 2; threads <= 3; threads++) {
        big_case(c, 0, threads);
        big_case(c, 1.0, threads);
    }
}

TEST(optim_pool_sgd)
{
    long live = seg_alloc_live();
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_SGD);
    c.lr = 0.1;
    c.momentum = 0.9;
    c.nesterov = 1;
    c.weight_decay = 0.01;
    big_all(&c);
    c.nesterov = 0;
    c.dampening = 0.1;
    c.weight_decay = 0;
    big_all(&c);
    rt_optim_config_init(&c, RT_OPTIM_SGD);
    c.lr = 0.1;
    c.weight_decay = 0.05;
    big_all(&c);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(optim_pool_adam)
{
    long live = seg_alloc_live();
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_ADAM);
    c.lr = 0.01;
    c.weight_decay = 0.1;
    big_all(&c);
    rt_optim_config_init(&c, RT_OPTIM_ADAMW);
    c.lr = 0.01;
    c.weight_decay = 0.1;
    big_all(&c);
    CHECK_INT(seg_alloc_live(), live);
}

/* -------------------------------------------------------------- resume */

/* Steps 1..k, save, restore into a fresh optimizer, steps k+1..STEPS:
 * bit-identical to an uninterrupted run. */
static void resume_case(const rt_optim_config *c, int k)
{
    float p_ref[N], g[N], p[N];
    memcpy(p_ref, P0, sizeof p_ref);
    memcpy(p, P0, sizeof p);
    rt_optim *ref = rt_optim_new(c, NULL), *o = rt_optim_new(c, NULL);
    rt_optim_add(ref, "w", p_ref, g, N);
    rt_optim_add(o, "w", p, g, N);
    for (int s = 0; s < k; s++) {
        memcpy(g, GRADS[s], sizeof g);
        rt_optim_step(o);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/optim_resume_%d.safetensors", test_tmpdir(), (int)getpid());
    rt_ckpt *w = rt_ckpt_new();
    rt_ckpt_add(w, "w", RT_CKPT_F32, 1, (const int64_t[]){N}, p);
    rt_optim_save(o, w);
    rt_error err = {{0}};
    CHECK_INT(rt_ckpt_write(w, path, &err), 0);
    rt_ckpt_free(w);
    rt_optim_free(o);

    rt_ckpt *r = rt_ckpt_read(path, &err);
    CHECK(r != NULL);
    float q[N];
    o = rt_optim_new(c, NULL);
    rt_optim_add(o, "w", q, g, N);
    rt_tensor qt = {.type = {RT_F32, 1, {N}}, .data = q};
    CHECK_INT(rt_ckpt_load(r, "w", &qt, &err), 0);
    CHECK_INT(rt_optim_load(o, r, &err), 0);
    CHECK_INT(rt_optim_steps(o, 0), k);
    rt_ckpt_free(r);
    unlink(path);
    for (int s = 0; s < STEPS; s++) {
        memcpy(g, GRADS[s], sizeof g);
        rt_optim_step(ref);
        if (s >= k)
            rt_optim_step(o);
    }
    CHECK(memcmp(q, p_ref, sizeof q) == 0);
    rt_optim_free(o);
    rt_optim_free(ref);
}

TEST(optim_state_resume)
{
    long live = seg_alloc_live();
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_SGD);
    c.momentum = 0.9;
    c.nesterov = 1;
    resume_case(&c, 1);
    resume_case(&c, 0);
    rt_optim_config_init(&c, RT_OPTIM_ADAM);
    resume_case(&c, 2);
    rt_optim_config_init(&c, RT_OPTIM_ADAMW);
    resume_case(&c, 1);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(optim_state_errors)
{
    rt_optim_config c;
    rt_optim_config_init(&c, RT_OPTIM_ADAM);
    rt_optim *o = rt_optim_new(&c, NULL);
    float p[4] = {0}, g[4] = {0}, m[3] = {0};
    uint64_t step = 3;
    rt_optim_add(o, "w", p, g, 4);
    rt_error err = {{0}};
    rt_ckpt *ck = rt_ckpt_new();
    rt_ckpt_add(ck, "optim.w.step", RT_CKPT_U64, 0, NULL, &step);
    rt_ckpt_add(ck, "optim.w.m", RT_CKPT_F32, 1, (const int64_t[]){3}, m);
    CHECK_INT(rt_optim_load(o, ck, &err), -1); /* wrong size */
    CHECK(strstr(err.msg, "optim.w.m") != NULL);
    rt_ckpt_free(ck);
    ck = rt_ckpt_new();
    rt_ckpt_add(ck, "optim.w.step", RT_CKPT_U64, 0, NULL, &step);
    rt_ckpt_add(ck, "optim.w.m", RT_CKPT_F32, 1, (const int64_t[]){4}, p);
    CHECK_INT(rt_optim_load(o, ck, &err), -1); /* m without v */
    CHECK(strstr(err.msg, "only one of") != NULL);
    rt_ckpt_free(ck);
    ck = rt_ckpt_new(); /* nothing saved for w: starts fresh */
    CHECK_INT(rt_optim_load(o, ck, &err), 0);
    CHECK_INT(rt_optim_steps(o, 0), 0);
    CHECK_INT(rt_optim_load_exact(o, ck, &err), -1); /* ...but not when resuming */
    CHECK(strstr(err.msg, "optimizer state of 'w' is missing (no optim.w.step)") != NULL);
    rt_ckpt_free(ck);
    ck = rt_ckpt_new(); /* steps taken, moments lost */
    rt_ckpt_add(ck, "optim.w.step", RT_CKPT_U64, 0, NULL, &step);
    CHECK_INT(rt_optim_load(o, ck, &err), 0);
    CHECK_INT(rt_optim_load_exact(o, ck, &err), -1);
    CHECK(strstr(err.msg, "has 3 steps but no buffers") != NULL);
    rt_ckpt_free(ck);
    rt_optim_free(o);
}

/* ----------------------------------------------------------- schedules */

TEST(sched_constant_and_step)
{
    rt_sched s;
    rt_sched_init(&s, RT_SCHED_CONSTANT, 0.01);
    CHECK_NEAR(rt_sched_value(&s, 0), 0.01, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 1e6), 0.01, 1e-15);
    rt_sched_init(&s, RT_SCHED_STEP, 1.0);
    s.step_size = 30;
    s.gamma = 0.5;
    CHECK_NEAR(rt_sched_value(&s, 0), 1.0, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 29), 1.0, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 30), 0.5, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 95), 0.125, 1e-15);
    CHECK_INT(rt_sched_check(&s, NULL), 0);
    s.step_size = 0;
    rt_error err = {{0}};
    CHECK_INT(rt_sched_check(&s, &err), -1);
    CHECK(strstr(err.msg, "step_size") != NULL);
}

TEST(sched_cosine)
{
    rt_sched s;
    rt_sched_init(&s, RT_SCHED_COSINE, 0.1);
    s.total = 100;
    s.eta_min = 0.001;
    CHECK_NEAR(rt_sched_value(&s, 0), 0.1, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 50), 0.001 + 0.099 * 0.5, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 25), 0.001 + 0.099 * (1 + cos(M_PI / 4)) / 2, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 100), 0.001, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 150), 0.001, 1e-15);
}

TEST(sched_poly)
{
    rt_sched s;
    rt_sched_init(&s, RT_SCHED_POLY, 0.01);
    s.total = 1000;
    CHECK_NEAR(s.power, 0.9, 0);
    CHECK_NEAR(rt_sched_value(&s, 0), 0.01, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 500), 0.01 * pow(0.5, 0.9), 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 999), 0.01 * pow(0.001, 0.9), 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 1000), 0, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 2000), 0, 1e-15);
}

TEST(sched_warmup)
{
    rt_sched s;
    rt_sched_init(&s, RT_SCHED_COSINE, 0.1);
    s.total = 100;
    s.warmup = 10;
    s.warmup_factor = 0.1;
    CHECK_NEAR(rt_sched_value(&s, 0), 0.1 * 0.1, 1e-15);
    double cos5 = 0.1 * (1 + cos(M_PI * 5 / 100)) / 2;
    CHECK_NEAR(rt_sched_value(&s, 5), cos5 * (0.1 + 0.9 * 0.5), 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 10), 0.1 * (1 + cos(M_PI * 10 / 100)) / 2, 1e-15);
    rt_sched_init(&s, RT_SCHED_CONSTANT, 2.0);
    s.warmup = 4; /* default factor 1/3, as torch's LinearLR */
    CHECK_NEAR(rt_sched_value(&s, 0), 2.0 / 3, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 2), 2.0 * (1.0 / 3 + (2.0 / 3) * 0.5), 1e-15);
    CHECK_NEAR(rt_sched_value(&s, 4), 2.0, 1e-15);
    CHECK_NEAR(rt_sched_value(&s, -3), 2.0 / 3, 1e-15);
}

TEST(sched_cct_ramp)
{
    CHECK_NEAR(rt_ramp_sigmoid(1.0, 0, 80), exp(-5), 1e-15);
    CHECK_NEAR(rt_ramp_sigmoid(2.0, 40, 80), 2 * exp(-5 * 0.25), 1e-15);
    CHECK_NEAR(rt_ramp_sigmoid(0.1, 79, 80), 0.1 * exp(-5.0 / 6400), 1e-15);
    CHECK_NEAR(rt_ramp_sigmoid(0.1, 80, 80), 0.1, 1e-15);
    CHECK_NEAR(rt_ramp_sigmoid(0.1, 500, 80), 0.1, 1e-15);
    CHECK_NEAR(rt_ramp_sigmoid(0.1, 3, 0), 0.1, 1e-15);
}
