/* conv_bench.c — GFLOP/s of the JIT direct convolution against the
 * reference kernel (im2col + OpenBLAS sgemm), and the share of the
 * machine's FMA peak it reaches.
 *
 * Shapes: 3x3x3 convolutions, pad 1, batch 1, (Cin, Cout, size^3) from
 * the levels of a 3-D U-Net, each on 1 and 2 threads (our pool for the
 * JIT, OpenBLAS's threads for the reference). FLOPs are counted the usual
 * way, 2 * Cout * Cin * 27 * size^3 (padding taps included: GF/s and
 * %peak), and as the FMAs really needed, without the taps that fall in
 * the padding (%peak*: the kernel skips them). A run is
 * repeated until it has taken 0.5 s and at least 5 times; the fastest
 * repetition counts. GF/s columns are wall clock; "jit cpu" and the
 * %peak columns divide by the CPU time of the slowest pool thread instead,
 * and the peak likewise, so that other processes on a shared machine do
 * not distort the share of peak (they still share caches and memory). Each JIT result is also checked against the
 * reference (max error relative to max |y|).
 *
 * Peak: a tight loop of independent FMAs (cg_peak_chains(vl) vector
 * registers of the JIT's width: 24 with AVX-512, 12 with AVX2), generated
 * with LLVM and run on 1 and on 2 threads.
 *
 * Usage: conv_bench [filter]   (filter: run only shapes whose label contains it)
 */
#include "compiler/compiler.h"

#include <cblas.h>
#include <stdint.h>
#include <llvm-c/Core.h>
#include <math.h>
#include <string.h>
#include <time.h>

/* CPU time of the calling thread: unlike wall time it does not count
 * the time another process holds the core. */
static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------------------------------------------------------- peak */

#define PEAK_ITERS 4000000L /* ~15 ms per call at peak */

typedef float (*peak_fn)(int64_t iters);


/* JIT the peak loop (IR route, not cached). */
static peak_fn peak_build(rt_jit *jit, rt_jit_code **code)
{
    rt_error err = {""};
    rt_jit_tsc *tsc = rt_jit_tsc_new();
    LLVMModuleRef m = cg_peak_module(rt_jit_tsc_context(tsc), rt_jit_vector_width(jit), "segc_peak");
    int rc = rt_jit_add_module(jit, tsc, m, "segc_peak", code, &err);
    rt_jit_tsc_free(tsc);
    if (rc) {
        fprintf(stderr, "peak: %s\n", err.msg);
        return NULL;
    }
    peak_fn fn;
    void *addr = rt_jit_code_addr(*code);
    memcpy(&fn, &addr, sizeof addr);
    return fn;
}

typedef struct peak_job {
    peak_fn fn;
    double cpu[8];         /* CPU seconds per pool thread */
    volatile float sink[8];
} peak_job;

static void peak_task(void *arg, int64_t b, int64_t e, int t)
{
    peak_job *pj = arg;
    double t0 = thread_cpu();
    for (int64_t i = b; i < e; i++)
        pj->sink[t] = pj->fn(PEAK_ITERS);
    pj->cpu[t] = thread_cpu() - t0;
}

/* GFLOP/s of the FMA loop on the pool's threads: each thread's flops over
 * its own CPU time, summed (best of several runs). */
static double peak_gflops(rt_pool *p, peak_fn fn, int vl)
{
    peak_job pj = {.fn = fn};
    int threads = rt_pool_threads(p);
    double best = 0;
    for (int rep = 0; rep < 10; rep++) {
        rt_pool_run(p, threads, peak_task, &pj);
        double gf = 0;
        for (int t = 0; t < threads; t++)
            gf += (double)PEAK_ITERS * cg_peak_chains(vl) * vl * 2 / pj.cpu[t] * 1e-9;
        best = gf > best ? gf : best;
    }
    return best;
}

/* -------------------------------------------------------------- shapes */

typedef struct shape {
    int64_t cin, cout, size;
} shape;

static const shape shapes[] = {
    {1, 32, 64}, {32, 32, 64}, {32, 64, 32}, {64, 64, 32},
    {64, 128, 16}, {128, 128, 16}, {128, 256, 8}, {256, 256, 8},
};

/* 64-byte aligned float buffer inside a seg allocation. */
typedef struct abuf {
    void *raw;
    float *f;
} abuf;

static abuf abuf_new(int64_t n)
{
    abuf a;
    a.raw = seg_xcalloc((size_t)n * sizeof(float) + 64, 1);
    a.f = (float *)(((uintptr_t)a.raw + 63) & ~(uintptr_t)63);
    return a;
}

static rt_tensor *tensor5(int64_t a, int64_t b, int64_t s, int64_t k)
{
    rt_type t = {.dtype = RT_F32, .rank = 5, .dim = {a, b, s, s, s}};
    (void)k;
    return rt_tensor_new(&t);
}

static void fill(float *v, int64_t n, uint32_t seed, float scale)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = scale * (2 * rt_rand_uniform01(seed, 0, 0, (uint64_t)i) - 1);
}

typedef struct ref_run {
    rt_tensor *x, *w, *b, *y;
    rt_attrs a;
} ref_run;

static void ref_once(ref_run *r)
{
    rt_error err = {""};
    rt_ctx ctx = {0, 1, &err};
    rt_tensor *in[3] = {r->x, r->w, r->b};
    if (rt_kernel_run(OP_CONV, &r->a, in, 3, r->y, &ctx))
        fprintf(stderr, "reference conv: %s\n", err.msg);
}

typedef struct jit_run {
    const cg_kernel *k;
    rt_pool *pool;
    abuf x, w, b, y;
    double cpu[8];  /* CPU seconds of each pool thread in the last run */
    double cpu_best; /* fastest run by the slowest thread's CPU time */
} jit_run;

/* cg_conv_run, with each thread timing its own share. */
static void jit_task(void *arg, int64_t b, int64_t e, int t)
{
    jit_run *j = arg;
    double t0 = thread_cpu();
    j->k->conv(j->x.f, j->w.f, j->b.f, NULL, j->y.f, b, e);
    j->cpu[t] = thread_cpu() - t0;
}

static void jit_once(jit_run *j)
{
    int threads = rt_pool_threads(j->pool);
    rt_pool_run(j->pool, kir_conv_tasks(&j->k->kir.conv), jit_task, j);
    double slowest = 0;
    for (int t = 0; t < threads; t++)
        slowest = j->cpu[t] > slowest ? j->cpu[t] : slowest;
    j->cpu_best = slowest < j->cpu_best ? slowest : j->cpu_best;
}

/* Fastest of >= 5 repetitions lasting >= 0.5 s together. */
static double time_best(void (*fn)(void *), void *arg)
{
    double best = 1e30, total = 0;
    for (int rep = 0; rep < 5 || total < 0.5; rep++) {
        double t0 = now();
        fn(arg);
        double dt = now() - t0;
        total += dt;
        best = dt < best ? dt : best;
        if (rep > 100)
            break;
    }
    return best;
}

static void ref_thunk(void *a) { ref_once(a); }
static void jit_thunk(void *a) { jit_once(a); }

/* max |jit - ref| / max |ref| */
static double max_error(const jit_run *j, const ref_run *r, int64_t cout, int64_t vol)
{
    int64_t n = cout * vol;
    float *y = seg_xcalloc((size_t)n, sizeof(float));
    rt_layout_unblock(j->y.f, y, 1, cout, vol, j->k->kir.conv.vl);
    double m = 0, e = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)y[i] - rt_f32(r->y)[i]), v = fabs((double)rt_f32(r->y)[i]);
        e = d > e ? d : e;
        m = v > m ? v : m;
    }
    seg_free(y);
    return m > 0 ? e / m : e;
}

static int jit_setup(jit_run *j, rt_jit *jit, const ref_run *r, const shape *s)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.pad[0] = a.pad[1] = a.pad[2] = 1;
    int64_t sp[3] = {s->size, s->size, s->size}, k[3] = {3, 3, 3};
    kir_kernel kk;
    char msg[256];
    rt_error err = {""};
    if (kir_conv_init(&kk, 3, 1, s->cin, s->cout, sp, k, &a, KIR_EPI_BIAS, rt_jit_vector_width(jit),
                      msg, sizeof msg)) {
        fprintf(stderr, "kir: %s\n", msg);
        return -1;
    }
    double t0 = now();
    cg_kernel *kern = cg_kernel_build(jit, &kk, &err);
    if (!kern) {
        fprintf(stderr, "build: %s\n", err.msg);
        return -1;
    }
    fprintf(stderr, "  built in %.0f ms%s\n", (now() - t0) * 1e3, kern->from_cache ? " (cache)" : "");
    const kir_conv *c = &kern->kir.conv;
    int64_t vol = s->size * s->size * s->size;
    j->k = kern;
    j->x = abuf_new(kir_conv_x_floats(c));
    j->w = abuf_new(kir_conv_w_floats(c));
    j->b = abuf_new(kir_conv_b_floats(c));
    j->y = abuf_new(kir_conv_y_floats(c));
    if (c->ib == 1)
        memcpy(j->x.f, rt_f32(r->x), (size_t)(s->cin * vol) * sizeof(float));
    else
        rt_layout_block(rt_f32(r->x), j->x.f, 1, s->cin, vol, c->ib);
    rt_conv_weight_block(NULL, rt_f32(r->w), j->w.f, s->cout, s->cin, 27, c->ib, c->vl);
    rt_conv_bias_block(rt_f32(r->b), j->b.f, s->cout, c->vl);
    return 0;
}

static void ref_setup(ref_run *r, const shape *s)
{
    r->x = tensor5(1, s->cin, s->size, 0);
    r->y = tensor5(1, s->cout, s->size, 0);
    rt_type wt = {.dtype = RT_F32, .rank = 5, .dim = {s->cout, s->cin, 3, 3, 3}};
    rt_type bt = {.dtype = RT_F32, .rank = 1, .dim = {s->cout}};
    r->w = rt_tensor_new(&wt);
    r->b = rt_tensor_new(&bt);
    fill(rt_f32(r->x), rt_type_numel(&r->x->type), 1, 1.0f);
    fill(rt_f32(r->w), rt_type_numel(&wt), 2, 1.0f / sqrtf((float)(s->cin * 27)));
    fill(rt_f32(r->b), s->cout, 3, 0.1f);
    rt_attrs_init(&r->a);
    r->a.nsp = 3;
    for (int i = 0; i < 3; i++) {
        r->a.kernel[i] = 3;
        r->a.pad[i] = 1;
    }
}

static void ref_free(ref_run *r)
{
    rt_tensor_free(r->x);
    rt_tensor_free(r->w);
    rt_tensor_free(r->b);
    rt_tensor_free(r->y);
}

static void jit_free(jit_run *j, rt_jit *jit)
{
    seg_free(j->x.raw);
    seg_free(j->w.raw);
    seg_free(j->b.raw);
    seg_free(j->y.raw);
    cg_kernel_free(jit, (cg_kernel *)j->k);
}

/* One measured line of the table. */
typedef struct result {
    shape s;
    int threads;
    double ref_gf, jit_gf; /* counted GFLOP/s, wall clock */
    double cpu_gf;         /* JIT, counted flops over the slowest thread's CPU time */
    double real_gf;        /* the same for the FMAs really needed */
    double err;            /* max error relative to max |y| */
    int rc, rw, chunk;     /* the kernel's tile */
} result;

/* Measure shape s on 1 and 2 threads into out[0..2); 0 or -1. */
static int bench_shape(rt_jit *jit, rt_pool *pools[2], const shape *s, result out[2])
{
    ref_run r;
    jit_run j;
    ref_setup(&r, s);
    fprintf(stderr, "cin %lld cout %lld size %lld\n", (long long)s->cin, (long long)s->cout,
            (long long)s->size);
    if (jit_setup(&j, jit, &r, s)) {
        ref_free(&r);
        return -1;
    }
    double flops = 2.0 * (double)(s->cout * s->cin * 27) * (double)(s->size * s->size * s->size);
    /* FMAs actually needed: taps in the padding skipped (3s - 2 per axis). */
    double taps = (double)(3 * s->size - 2), real = 2.0 * (double)(s->cout * s->cin) * taps * taps * taps;
    for (int t = 0; t < 2; t++) {
        openblas_set_num_threads(t + 1);
        j.pool = pools[t];
        j.cpu_best = 1e30;
        double tr = time_best(ref_thunk, &r), tj = time_best(jit_thunk, &j);
        const kir_conv *c = &j.k->kir.conv;
        out[t] = (result){*s, t + 1, flops / tr * 1e-9, flops / tj * 1e-9,
                          flops / j.cpu_best * 1e-9, real / j.cpu_best * 1e-9,
                          max_error(&j, &r, s->cout, s->size * s->size * s->size), c->rc, c->rw,
                          c->ic_chunk};
    }
    jit_free(&j, jit);
    ref_free(&r);
    return 0;
}

static void print_results(const result *res, int n, const double peak[2], int vl)
{
    printf("FMA peak (%d lanes, per CPU second): %.1f GFLOP/s on 1 thread, %.1f on 2\n", vl,
           peak[0], peak[1]);
    printf(" cin cout  size thr  ref GF/s  jit GF/s  jit cpu   %%peak  %%peak*  speedup  maxerr  tile\n");
    for (int i = 0; i < n; i++) {
        const result *q = &res[i];
        double pk = peak[q->threads - 1];
        printf("%4lld %4lld %3lld^3  %d  %8.1f  %8.1f  %7.1f  %6.1f%%  %6.1f%%  %6.2fx  %.1e  %dx%d/%d\n",
               (long long)q->s.cin, (long long)q->s.cout, (long long)q->s.size, q->threads,
               q->ref_gf, q->jit_gf, q->cpu_gf, 100 * q->cpu_gf / pk, 100 * q->real_gf / pk,
               q->jit_gf / q->ref_gf, q->err, q->rc, q->rw, q->chunk);
    }
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    rt_error err = {""};
    rt_jit *jit = rt_jit_new(&err);
    if (!jit) {
        fprintf(stderr, "conv_bench: %s\n", err.msg);
        return 70;
    }
    rt_pool *pools[2] = {rt_pool_new(1), rt_pool_new(2)};
    int vl = rt_jit_vector_width(jit);
    rt_jit_code *pcode = NULL;
    peak_fn pfn = peak_build(jit, &pcode);
    if (!pfn)
        return 70;
    printf("target: %s\n", rt_jit_cpu(jit));
    /* The peak is measured before every shape and the best kept: on a
     * shared machine one measurement may be low. */
    double peak[2] = {0, 0};
    result res[2 * sizeof shapes / sizeof shapes[0]];
    int n = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "%lld,%lld,%lld", (long long)shapes[i].cin,
                 (long long)shapes[i].cout, (long long)shapes[i].size);
        if (filter && !strstr(label, filter))
            continue;
        for (int t = 0; t < 2; t++) {
            double pk = peak_gflops(pools[t], pfn, vl);
            peak[t] = pk > peak[t] ? pk : peak[t];
        }
        if (bench_shape(jit, pools, &shapes[i], res + n) == 0)
            n += 2;
    }
    print_results(res, n, peak, vl);
    rt_jit_release(jit, pcode, &err);
    rt_pool_free(pools[0]);
    rt_pool_free(pools[1]);
    rt_jit_free(jit);
    return 0;
}
