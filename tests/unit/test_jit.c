/* test_jit.c — the thread pool, the LLJIT wrapper, the object cache and
 * the generated direct convolution.
 *
 * Pool: every task index is visited exactly once, by the thread whose
 * fixed chunk holds it, for many (tasks, threads) pairs; nested runs work.
 * JIT: a module added through the IR route runs, is removed with its
 * resource tracker and can be added again.
 * Convolution: the JIT kernel against the reference interpreter kernel
 * (rt_kernel_run OP_CONV, then residual and ReLU by plain loops) within a
 * relative 1e-4, on awkward shapes: odd sizes, channels that are not a
 * multiple of the block (padded blocks), batch 2, stride 2, dilation 2,
 * one input channel, 1-D and 2-D, several input chunks; and bit-identical
 * output for 1 and 2 threads.
 * Cache: a second build loads the stored object (hit count); a flipped
 * byte, a truncated, an oversized or a foreign entry is detected, deleted
 * and rebuilt; a planted entry (another kernel's code in a well-formed
 * entry made with another folder's key) is never linked.
 */
#include "compiler/compiler.h"
#include "test.h"

#include <llvm-c/Core.h>

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- pool */

typedef struct visit_log {
    int *count;  /* visits per task */
    int *thread; /* which thread visited */
} visit_log;

static void visit(void *arg, int64_t b, int64_t e, int t)
{
    visit_log *v = arg;
    for (int64_t i = b; i < e; i++) {
        v->count[i]++;
        v->thread[i] = t;
    }
}

/* Every task of every size runs exactly once per call; fixed chunks also
 * on the thread rt_pool_chunk names. */
static void pool_visit_check(int balanced)
{
    const int64_t sizes[] = {0, 1, 2, 3, 5, 7, 64, 100, 1001};
    for (int threads = 1; threads <= 5; threads++) {
        rt_pool *p = rt_pool_new(threads);
        CHECK_INT(rt_pool_threads(p), threads);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int64_t n = sizes[s];
            visit_log v = {seg_xcalloc((size_t)n + 1, sizeof(int)),
                           seg_xcalloc((size_t)n + 1, sizeof(int))};
            for (int rep = 0; rep < 3; rep++)
                (balanced ? rt_pool_run_balanced : rt_pool_run)(p, n, visit, &v);
            for (int64_t i = 0; i < n; i++) {
                CHECK_INT(v.count[i], 3);
                int64_t b, e;
                rt_pool_chunk(n, threads, v.thread[i], &b, &e);
                CHECK(balanced ? v.thread[i] >= 0 && v.thread[i] < threads : i >= b && i < e);
            }
            seg_free(v.count);
            seg_free(v.thread);
        }
        rt_pool_free(p);
    }
}

TEST(pool_visits_every_task_once) { pool_visit_check(0); }

TEST(pool_balanced_visits_every_task_once) { pool_visit_check(1); }

/* Thread 0's first task waits (up to 10 s) until another thread has run a
 * task of thread 0's chunk: only stealing can end the wait early. */
typedef struct steal_arg {
    int64_t n;
    _Atomic int stolen;
    int *thread;
} steal_arg;

static void steal_task(void *arg, int64_t b, int64_t e, int t)
{
    steal_arg *a = arg;
    for (int64_t i = b; i < e; i++) {
        a->thread[i] = t;
        if (i < a->n / 2 && t != 0)
            a->stolen = 1;
        for (int ms = 0; i == 0 && !a->stolen && ms < 10000; ms++)
            usleep(1000);
    }
}

TEST(pool_balanced_steals_from_a_slow_thread)
{
    rt_pool *p = rt_pool_new(2);
    int thread[40];
    steal_arg a = {40, 0, thread};
    rt_pool_run_balanced(p, 40, steal_task, &a);
    CHECK(a.stolen);
    CHECK_INT(thread[0], 0);
    CHECK_INT(thread[19], 1); /* the back of thread 0's chunk goes first */
    rt_pool_free(p);
}

typedef struct nest_arg {
    rt_pool *pool;
    int *inner; /* 4 inner visits per outer task */
} nest_arg;

static void nest_inner(void *arg, int64_t b, int64_t e, int t)
{
    (void)t;
    int *cell = arg;
    *cell += (int)(e - b);
}

static void nest_outer(void *arg, int64_t b, int64_t e, int t)
{
    (void)t;
    nest_arg *a = arg;
    for (int64_t i = b; i < e; i++)
        rt_pool_run(a->pool, 4, nest_inner, &a->inner[i]); /* serial inside a job */
}

TEST(pool_nested_run_is_serial)
{
    rt_pool *p = rt_pool_new(2);
    int inner[10] = {0};
    nest_arg a = {p, inner};
    rt_pool_run(p, 10, nest_outer, &a);
    for (int i = 0; i < 10; i++)
        CHECK_INT(inner[i], 4);
    rt_pool_free(p);
}

/* Set SEGC_THREADS (NULL: unset); returns the old value (owned) to restore. */
static char *threads_env(const char *value)
{
    const char *old = getenv("SEGC_THREADS");
    char *keep = old ? seg_xstrdup(old) : NULL;
    if (value)
        setenv("SEGC_THREADS", value, 1);
    else
        unsetenv("SEGC_THREADS");
    return keep;
}

static void threads_env_restore(char *keep)
{
    seg_free(threads_env(keep));
    seg_free(keep);
}

TEST(pool_default_threads_from_env)
{
    char *keep = threads_env("3");
    CHECK_INT(rt_pool_default_threads(), 3);
    threads_env_restore(keep);
}

/* --threads beats SEGC_THREADS beats the CPU count; a bad variable is an
 * error for those who can report it and the CPU count for the pool. */
TEST(threads_resolve_rule)
{
    char *keep = threads_env(NULL);
    int cpus = 0, n = 0, given = -1;
    rt_error err = {{0}};
    CHECK_INT(rt_threads_resolve(0, &cpus, &given, &err), 0);
    CHECK(cpus >= 1 && cpus <= RT_THREADS_MAX && given == 0);
    seg_free(threads_env("5"));
    CHECK_INT(rt_threads_resolve(0, &n, &given, &err), 0);
    CHECK(n == 5 && given == 1);
    CHECK_INT(rt_threads_resolve(2, &n, &given, &err), 0);
    CHECK(n == 2 && given == 1);
    const char *bad[] = {"abc", "0", "-1", "4x", "1025", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seg_free(threads_env(bad[i]));
        err.msg[0] = 0;
        CHECK_INT(rt_threads_resolve(0, &n, &given, &err), -1);
        CHECK(n == cpus && given == 0);
        CHECK(strstr(err.msg, "is not a thread count (1..1024)") && strstr(err.msg, bad[i]));
        CHECK_INT(rt_pool_default_threads(), cpus);
        CHECK_INT(rt_threads_resolve(3, &n, NULL, &err), 0); /* the flag wins */
        CHECK_INT(n, 3);
    }
    threads_env_restore(keep);
}

/* ------------------------------------------------------------------ jit */

/* int32 segc_test_answer(void) { return 42; } */
static LLVMModuleRef answer_module(LLVMContextRef ctx, const char *name)
{
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext(name, ctx);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
    LLVMValueRef fn = LLVMAddFunction(m, name, LLVMFunctionType(i32, NULL, 0, 0));
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMBuildRet(b, LLVMConstInt(i32, 42, 0));
    LLVMDisposeBuilder(b);
    return m;
}

static int call_answer(const rt_jit_code *c)
{
    int (*fn)(void);
    void *addr = rt_jit_code_addr(c);
    memcpy(&fn, &addr, sizeof addr);
    return fn();
}

TEST(jit_module_add_remove_readd)
{
    rt_error err = {""};
    rt_jit *j = rt_jit_new(&err);
    CHECK(j != NULL);
    if (!j) {
        printf("    %s\n", err.msg);
        return;
    }
    CHECK(rt_jit_vector_width(j) >= 4);
    for (int round = 0; round < 2; round++) {
        rt_jit_tsc *tsc = rt_jit_tsc_new();
        LLVMModuleRef m = answer_module(rt_jit_tsc_context(tsc), "segc_test_answer");
        rt_jit_code *c = NULL;
        int rc = rt_jit_add_module(j, tsc, m, "segc_test_answer", &c, &err);
        rt_jit_tsc_free(tsc);
        CHECK_INT(rc, 0);
        if (rc)
            break;
        CHECK_INT(call_answer(c), 42);
        CHECK_INT(rt_jit_release(j, c, &err), 0); /* removed: the next round adds it again */
    }
    rt_jit_free(j);
}

/* --------------------------------------------------------- convolution */

typedef struct conv_case {
    int nsp;           /* spatial rank */
    int64_t n, cin, cout;
    int64_t in[3];     /* spatial input, nsp used */
    int64_t k[3];      /* kernel, nsp used */
    int s, p, d;       /* same on every axis */
    unsigned epi;      /* KIR_EPI_* */
} conv_case;

static rt_tensor *tensor(int rank, const int64_t *dims)
{
    rt_type t = {.dtype = RT_F32, .rank = rank};
    for (int i = 0; i < rank; i++)
        t.dim[i] = dims[i];
    return rt_tensor_new(&t);
}

static void fill(rt_tensor *t, uint32_t seed, float scale)
{
    int64_t n = rt_type_numel(&t->type);
    for (int64_t i = 0; i < n; i++)
        rt_f32(t)[i] = scale * (2 * rt_rand_uniform01(seed, 0, 0, (uint64_t)i) - 1);
}

/* Reference: OP_CONV with bias, then residual, then ReLU. */
static rt_tensor *conv_reference(const conv_case *cc, const kir_conv *k, rt_tensor *x,
                                 rt_tensor *w, rt_tensor *b, const rt_tensor *res)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = cc->nsp;
    for (int i = 0; i < cc->nsp; i++) {
        a.kernel[i] = (int)cc->k[i];
        a.stride[i] = cc->s;
        a.pad[i] = cc->p;
        a.dilation[i] = cc->d;
    }
    int64_t od[5] = {cc->n, cc->cout};
    for (int i = 0; i < cc->nsp; i++)
        od[2 + i] = k->out[3 - cc->nsp + i];
    rt_tensor *y = tensor(cc->nsp + 2, od);
    rt_error err = {""};
    rt_ctx ctx = {0, 1, &err};
    rt_tensor *in[3] = {x, w, b};
    int rc = rt_kernel_run(OP_CONV, &a, in, (cc->epi & KIR_EPI_BIAS) ? 3 : 2, y, &ctx);
    if (rc)
        test_fail_at(__FILE__, __LINE__, "reference conv: %s", err.msg);
    int64_t n = rt_type_numel(&y->type);
    for (int64_t i = 0; i < n; i++) {
        float v = rt_f32(y)[i] + ((cc->epi & KIR_EPI_RESIDUAL) ? rt_f32(res)[i] : 0.0f);
        v = (cc->epi & KIR_EPI_RELU) && v < 0 ? 0.0f : v;
        rt_f32(y)[i] = (cc->epi & KIR_EPI_MASK) && !(rt_f32(res)[i] > 0) ? 0.0f : v;
    }
    return y;
}

/* The operands of one JIT run in their blocked forms. */
typedef struct conv_bufs {
    float *x, *w, *b, *res, *y;
} conv_bufs;

static void bufs_make(conv_bufs *cb, const kir_conv *k, const rt_tensor *x, const rt_tensor *w,
                      const rt_tensor *b, const rt_tensor *res)
{
    int64_t in_vol = k->in[0] * k->in[1] * k->in[2], out_vol = k->out[0] * k->out[1] * k->out[2];
    cb->x = seg_xcalloc((size_t)kir_conv_x_floats(k), sizeof(float));
    if (k->ib == 1)
        memcpy(cb->x, rt_f32(x), (size_t)(k->n * k->cin * in_vol) * sizeof(float));
    else
        rt_layout_block(rt_f32(x), cb->x, k->n, k->cin, in_vol, k->ib);
    cb->w = seg_xcalloc((size_t)kir_conv_w_floats(k), sizeof(float));
    rt_conv_weight_block(NULL, rt_f32(w), cb->w, k->cout, k->cin, (int64_t)k->k[0] * k->k[1] * k->k[2],
                         k->ib, k->vl);
    cb->b = seg_xcalloc((size_t)kir_conv_b_floats(k), sizeof(float));
    rt_conv_bias_block(rt_f32(b), cb->b, k->cout, k->vl);
    cb->res = NULL;
    if (res) {
        cb->res = seg_xcalloc((size_t)kir_conv_y_floats(k), sizeof(float));
        rt_layout_block(rt_f32(res), cb->res, k->n, k->cout, out_vol, k->vl);
    }
    cb->y = seg_xcalloc((size_t)kir_conv_y_floats(k), sizeof(float));
}

static void bufs_free(conv_bufs *cb)
{
    seg_free(cb->x);
    seg_free(cb->w);
    seg_free(cb->b);
    seg_free(cb->res);
    seg_free(cb->y);
}

/* Unblock y and compare with the reference; first mismatch reported. */
static int conv_compare(const char *what, const kir_conv *k, const float *yb, const rt_tensor *ref)
{
    int64_t n = rt_type_numel(&ref->type), out_vol = k->out[0] * k->out[1] * k->out[2];
    float *y = seg_xcalloc((size_t)n, sizeof(float));
    rt_layout_unblock(yb, y, k->n, k->cout, out_vol, k->vl);
    int bad = 0;
    for (int64_t i = 0; i < n && !bad; i++) {
        double a = y[i], b = rt_f32(ref)[i], sc = fabs(b) > 1 ? fabs(b) : 1;
        if (!(fabs(a - b) <= 1e-4 * sc)) {
            test_fail_at(__FILE__, __LINE__, "%s: y[%lld] = %.9g, reference %.9g", what,
                         (long long)i, a, b);
            bad = 1;
        }
    }
    seg_free(y);
    return bad;
}

static int conv_kir(const conv_case *cc, int vl, kir_kernel *kk)
{
    rt_attrs a;
    rt_attrs_init(&a);
    for (int i = 0; i < cc->nsp; i++) {
        a.stride[i] = cc->s;
        a.pad[i] = cc->p;
        a.dilation[i] = cc->d;
    }
    char err[256] = "";
    int rc = kir_conv_init(kk, cc->nsp, cc->n, cc->cin, cc->cout, cc->in, cc->k, &a, cc->epi, vl,
                           err, sizeof err);
    if (rc)
        test_fail_at(__FILE__, __LINE__, "kir_conv_init: %s", err);
    return rc;
}

/* JIT vs reference on 1 and 2 threads; the two runs must agree bitwise.
 * vl 0 = the host's widest vectors. */
static void conv_check(rt_jit *j, const conv_case *cc, int vl, const char *what)
{
    kir_kernel kk;
    if (conv_kir(cc, vl ? vl : rt_jit_vector_width(j), &kk))
        return;
    const kir_conv *k = &kk.conv;
    int64_t xd[5] = {cc->n, cc->cin}, wd[5] = {cc->cout, cc->cin}, rd[5] = {cc->n, cc->cout};
    for (int i = 0; i < cc->nsp; i++) {
        xd[2 + i] = cc->in[i];
        wd[2 + i] = cc->k[i];
        rd[2 + i] = k->out[3 - cc->nsp + i];
    }
    rt_tensor *x = tensor(cc->nsp + 2, xd), *w = tensor(cc->nsp + 2, wd), *b = tensor(1, &cc->cout);
    rt_tensor *res = cc->epi & (KIR_EPI_RESIDUAL | KIR_EPI_MASK) ? tensor(cc->nsp + 2, rd) : NULL;
    fill(x, 1, 1.0f);
    fill(w, 2, 1.0f / sqrtf((float)(rt_type_numel(&w->type) / cc->cout)));
    fill(b, 3, 0.5f);
    if (res)
        fill(res, 4, 1.0f);
    for (int64_t i = 0; (cc->epi & KIR_EPI_MASK) && i < rt_type_numel(&res->type); i += 7)
        rt_f32(res)[i] = NAN; /* a NaN mask keeps nothing */
    rt_tensor *ref = conv_reference(cc, k, x, w, b, res);
    rt_error err = {""};
    cg_kernel *kern = cg_kernel_build(j, &kk, &err);
    CHECK(kern != NULL);
    if (!kern) {
        printf("    %s: %s\n", what, err.msg);
    } else {
        conv_bufs one, two;
        bufs_make(&one, k, x, w, b, res);
        bufs_make(&two, k, x, w, b, res);
        rt_pool *p1 = rt_pool_new(1), *p2 = rt_pool_new(2);
        cg_conv_run(kern, p1, one.x, one.w, one.b, one.res, one.y);
        cg_conv_run(kern, p2, two.x, two.w, two.b, two.res, two.y);
        conv_compare(what, k, one.y, ref);
        size_t ybytes = (size_t)kir_conv_y_floats(k) * sizeof(float);
        if (memcmp(one.y, two.y, ybytes) != 0)
            test_fail_at(__FILE__, __LINE__, "%s: 1 and 2 threads differ", what);
        rt_pool_free(p1);
        rt_pool_free(p2);
        bufs_free(&one);
        bufs_free(&two);
        cg_kernel_free(j, kern);
    }
    rt_tensor_free(x);
    rt_tensor_free(w);
    rt_tensor_free(b);
    rt_tensor_free(res);
    rt_tensor_free(ref);
}

static const conv_case conv_cases[] = {
    /* nsp n cin cout in              k          s  p  d  epilogue */
    {3, 2, 5, 20, {7, 9, 11}, {3, 3, 3}, 1, 1, 1, KIR_EPI_BIAS},
    {3, 1, 20, 33, {9, 10, 13}, {3, 3, 3}, 2, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU},
    {3, 2, 17, 16, {8, 9, 15}, {3, 3, 3}, 1, 2, 2, KIR_EPI_BIAS},
    {3, 2, 1, 24, {10, 11, 17}, {3, 3, 3}, 1, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU},
    {3, 1, 1, 40, {5, 6, 33}, {3, 3, 3}, 2, 1, 1, 0},
    {3, 1, 16, 32, {6, 7, 29}, {3, 3, 3}, 1, 1, 1, KIR_EPI_BIAS | KIR_EPI_RESIDUAL | KIR_EPI_RELU},
    {3, 1, 80, 48, {4, 5, 9}, {3, 3, 3}, 1, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU}, /* several ic chunks */
    {3, 2, 24, 40, {5, 6, 7}, {1, 1, 1}, 1, 0, 1, KIR_EPI_BIAS},
    {3, 1, 8, 16, {6, 8, 12}, {5, 3, 5}, 1, 2, 1, 0},
    {3, 1, 32, 16, {6, 7, 8}, {3, 3, 3}, 1, 0, 1, KIR_EPI_RESIDUAL},
    {2, 2, 3, 18, {19, 23}, {3, 3}, 2, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU},
    {2, 1, 40, 70, {12, 31}, {3, 3}, 1, 1, 1, KIR_EPI_BIAS},
    {1, 2, 16, 17, {50}, {3}, 1, 1, 1, KIR_EPI_BIAS},
    {3, 2, 16, 24, {5, 6, 13}, {3, 3, 3}, 1, 1, 1, KIR_EPI_MASK}, /* a data gradient's */
    {2, 1, 24, 40, {9, 21}, {3, 3}, 1, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU | KIR_EPI_MASK},
};

TEST(jit_conv_matches_reference)
{
    rt_error err = {""};
    rt_jit *j = rt_jit_new(&err);
    CHECK(j != NULL);
    if (!j)
        return;
    long live = seg_alloc_live();
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "case %zu", i);
        conv_check(j, &conv_cases[i], 0, what);
    }
    CHECK_INT(seg_alloc_live(), live);
    rt_jit_free(j);
}

TEST(jit_conv_avx2_blocking)
{
    /* vl 8 code (the AVX2 scheme: 8-channel blocks, 16 registers) runs on
     * any AVX2 or AVX-512 host: check its blocking and its results. */
    rt_error err = {""};
    rt_jit *j = rt_jit_new(&err);
    if (!j || rt_jit_vector_width(j) < 8) {
        rt_jit_free(j);
        return;
    }
    const conv_case cases[] = {
        {3, 2, 11, 13, {5, 7, 19}, {3, 3, 3}, 2, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU},
        {3, 1, 1, 16, {6, 7, 21}, {3, 3, 3}, 1, 1, 1, KIR_EPI_BIAS},
        {2, 1, 24, 20, {9, 17}, {3, 3}, 1, 2, 2, KIR_EPI_BIAS | KIR_EPI_RESIDUAL},
        /* a group's weights exceed L2: several rows per task (2 of 70;
         * 6 of 37, the last task has 1) */
        {2, 1, 520, 16, {70, 9}, {3, 3}, 1, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU},
        {3, 2, 200, 24, {3, 37, 5}, {3, 3, 3}, 1, 1, 1, KIR_EPI_BIAS},
    };
    for (int i = 0; i < 5; i++) {
        kir_kernel kk;
        if (conv_kir(&cases[i], 8, &kk))
            continue;
        CHECK_INT(kk.conv.vl, 8);
        CHECK(kk.conv.rc * kk.conv.rw + kk.conv.rc + 2 <= 16);
        CHECK(i < 3 ? kk.conv.rows == 1 : kk.conv.rows > 1);
        char what[32];
        snprintf(what, sizeof what, "vl 8 case %d", i);
        conv_check(j, &cases[i], 8, what);
    }
    rt_jit_free(j);
}

TEST(kir_print_is_stable)
{
    const conv_case cc = {3, 2, 20, 33, {9, 10, 13}, {3, 3, 3}, 2, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU};
    kir_kernel kk;
    if (conv_kir(&cc, 16, &kk))
        return;
    seg_buf a = {0}, b = {0};
    kir_print(&kk, &a);
    kir_print(&kk, &b);
    CHECK_STR(a.data, b.data);
    CHECK(strstr(a.data, "kernel conv_fwd") != NULL);
    CHECK(strstr(a.data, "layout NCDHW16c") != NULL);
    CHECK(strstr(a.data, "epilogue bias relu") != NULL);
    seg_buf_free(&a);
    seg_buf_free(&b);
}

/* ---------------------------------------------------------------- cache */

/* Point the cache at a fresh folder under the test tmpdir. */
static char *cache_use_fresh(char *old_buf, size_t n)
{
    const char *old = getenv("SEGC_CACHE_DIR");
    snprintf(old_buf, n, "%s", old ? old : "");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/jitcache-%ld", test_tmpdir(), (long)getpid());
    setenv("SEGC_CACHE_DIR", dir, 1);
    rt_error err;
    rt_jit_cache_clear(NULL, &err);
    return old ? old_buf : NULL;
}

static void cache_restore(const char *old)
{
    rt_error err;
    rt_jit_cache_clear(NULL, &err);
    if (old)
        setenv("SEGC_CACHE_DIR", old, 1);
    else
        unsetenv("SEGC_CACHE_DIR");
}

/* The one entry in the cache folder (the test made exactly one). */
static int cache_only_entry(char *path, size_t n)
{
    rt_jit_cache_info s;
    rt_error err;
    if (rt_jit_cache_stats(&s, &err) || s.entries != 1)
        return -1;
    DIR *d = opendir(s.dir);
    int found = -1;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, ".kobj")) {
            snprintf(path, n, "%s/%s", s.dir, e->d_name);
            found = 0;
        }
    if (d)
        closedir(d);
    return found;
}

/* Flip the byte from_end bytes before the end, or cut the file to keep
 * bytes when keep >= 0. */
static void damage(const char *path, long from_end, long keep)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return;
    if (keep >= 0) {
        fclose(f);
        if (truncate(path, (off_t)keep) != 0)
            test_fail_at(__FILE__, __LINE__, "truncate %s", path);
        return;
    }
    fseek(f, -from_end, SEEK_END);
    int c = fgetc(f);
    fseek(f, -from_end, SEEK_END);
    fputc(c ^ 0x5a, f);
    fclose(f);
}

/* Loading text's entry at path misses, counts it corrupt and deletes it. */
static void cache_rejects(const char *text, const char *path)
{
    rt_error err = {""};
    rt_jit_cache_info before, after;
    void *got = NULL;
    size_t len = 0;
    rt_jit_cache_stats(&before, &err);
    CHECK_INT(rt_jit_cache_load(text, &got, &len, &err), 0);
    rt_jit_cache_stats(&after, &err);
    CHECK_INT(after.corrupt - before.corrupt, 1);
    CHECK_INT(access(path, F_OK), -1);
}

TEST(jit_cache_load_store_and_reject)
{
    char oldbuf[1024];
    const char *old = cache_use_fresh(oldbuf, sizeof oldbuf);
    rt_error err = {""};
    const char *text = "test entry\ntarget none\n";
    const char obj[] = "not really an object, but bytes";
    void *got = NULL;
    size_t len = 0;
    CHECK_INT(rt_jit_cache_load(text, &got, &len, &err), 0);
    CHECK_INT(rt_jit_cache_store(text, obj, sizeof obj, &err), 0);
    CHECK_INT(rt_jit_cache_load(text, &got, &len, &err), 1);
    CHECK_INT(len, sizeof obj);
    CHECK(got && memcmp(got, obj, sizeof obj) == 0);
    seg_free(got);
    char path[4400];
    CHECK_INT(rt_jit_cache_path(text, path, sizeof path, &err), 0);
    /* Corrupt object byte, header byte, truncation: each rejected and deleted. */
    long flips[3][2] = {{5, -1}, {0, 20}, {0, -2}};
    for (int i = 0; i < 3; i++) {
        CHECK_INT(rt_jit_cache_store(text, obj, sizeof obj, &err), 0);
        if (flips[i][1] == -2) {
            FILE *f = fopen(path, "r+b"); /* magic byte */
            if (f) {
                fputc('X', f);
                fclose(f);
            }
        } else {
            damage(path, flips[i][0], flips[i][1]);
        }
        cache_rejects(text, path);
    }
    /* A foreign entry under our name (other text, same file name). */
    CHECK_INT(rt_jit_cache_store("other text", obj, sizeof obj, &err), 0);
    char other[4400];
    rt_jit_cache_path("other text", other, sizeof other, &err);
    CHECK_INT(rename(other, path), 0);
    CHECK_INT(rt_jit_cache_load(text, &got, &len, &err), 0);
    /* An entry far larger than any object (sparse): rejected unread. */
    CHECK_INT(rt_jit_cache_store(text, obj, sizeof obj, &err), 0);
    CHECK_INT(truncate(path, (off_t)1 << 30), 0);
    cache_rejects(text, path);
    cache_restore(old);
}

TEST(jit_cache_hits_and_rebuilds_kernels)
{
    char oldbuf[1024];
    const char *old = cache_use_fresh(oldbuf, sizeof oldbuf);
    rt_error err = {""};
    rt_jit *j = rt_jit_new(&err);
    CHECK(j != NULL);
    if (!j) {
        cache_restore(old);
        return;
    }
    const conv_case cc = {3, 1, 16, 20, {5, 6, 9}, {3, 3, 3}, 1, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU};
    rt_jit_cache_info s0, s1, s2, s3;
    rt_jit_cache_stats(&s0, &err);
    kir_kernel kk;
    if (conv_kir(&cc, rt_jit_vector_width(j), &kk) == 0) {
        cg_kernel *a = cg_kernel_build(j, &kk, &err);
        CHECK(a && !a->from_cache);
        cg_kernel_free(j, a);
        cg_kernel *b = cg_kernel_build(j, &kk, &err); /* warm: from disk */
        CHECK(b && b->from_cache);
        cg_kernel_free(j, b);
        rt_jit_cache_stats(&s1, &err);
        CHECK_INT(s1.hits - s0.hits, 1);
        CHECK_INT(s1.stores - s0.stores, 1);
        CHECK_INT(s1.entries, 1);
        char path[4400];
        CHECK_INT(cache_only_entry(path, sizeof path), 0);
        damage(path, 100, -1); /* a byte inside the object code */
        cg_kernel *c = cg_kernel_build(j, &kk, &err);
        CHECK(c && !c->from_cache);
        rt_jit_cache_stats(&s2, &err);
        CHECK_INT(s2.corrupt - s1.corrupt, 1);
        CHECK_INT(s2.stores - s1.stores, 1); /* rebuilt and stored again */
        cg_kernel_free(j, c);
        conv_check(j, &cc, 0, "after rebuild"); /* and it computes the right thing, warm */
        rt_jit_cache_stats(&s3, &err);
        CHECK_INT(s3.hits - s2.hits, 1);
    }
    rt_jit_cache_info removed;
    CHECK_INT(rt_jit_cache_clear(&removed, &err), 0);
    CHECK_INT(removed.entries, 1);
    rt_jit_free(j);
    cache_restore(old);
}

/* The attacker's entry: A's code under B's symbol, stored for B's key text
 * by segc itself in another cache folder (so it has every field a genuine
 * entry has, authenticated under that folder's key if any), then moved
 * over B's genuine entry in ours. Returns 0 when planted. */
static int cache_plant(rt_jit *j, const kir_kernel *a, const char *text_b, const char *victim)
{
    char sym[40], planted[4400], target[4400], attacker[1024];
    cg_object_symbol(text_b, sym);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = cg_conv_module(a, ctx, sym);
    void *obj = NULL;
    size_t len = 0;
    rt_error err = {""};
    int rc = rt_jit_emit(j, m, &obj, &len, &err);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    rc = rc || rt_jit_cache_path(text_b, target, sizeof target, &err);
    snprintf(attacker, sizeof attacker, "%s/attacker-%ld", test_tmpdir(), (long)getpid());
    setenv("SEGC_CACHE_DIR", attacker, 1);
    rc = rc || rt_jit_cache_store(text_b, obj, len, &err) ||
         rt_jit_cache_path(text_b, planted, sizeof planted, &err);
    setenv("SEGC_CACHE_DIR", victim, 1);
    rc = rc || rename(planted, target);
    seg_free(obj);
    if (rc)
        printf("    planting failed: %s\n", err.msg);
    return rc;
}

/* A planted object (a well-formed entry around another kernel's code, at a
 * real entry's path) is rejected, deleted and rebuilt: the kernel computes
 * what it should, not what the planted code does (here: a ReLU). */
TEST(jit_cache_planted_object_is_not_linked)
{
    char oldbuf[1024];
    const char *old = cache_use_fresh(oldbuf, sizeof oldbuf);
    char victim[1024];
    snprintf(victim, sizeof victim, "%s", getenv("SEGC_CACHE_DIR"));
    rt_error err = {""};
    rt_jit *j = rt_jit_new(&err);
    CHECK(j != NULL);
    const conv_case ca = {3, 1, 16, 20, {5, 6, 9}, {3, 3, 3}, 1, 1, 1, KIR_EPI_BIAS | KIR_EPI_RELU};
    conv_case cb = ca;
    cb.epi = KIR_EPI_BIAS; /* same signature; negative outputs survive */
    kir_kernel ka, kb;
    if (j && conv_kir(&ca, rt_jit_vector_width(j), &ka) == 0 &&
        conv_kir(&cb, rt_jit_vector_width(j), &kb) == 0) {
        cg_kernel_free(j, cg_kernel_build(j, &kb, &err)); /* B's genuine entry */
        char *text_b = cg_object_text(j, &kb);
        CHECK_INT(cache_plant(j, &ka, text_b, victim), 0);
        rt_jit_cache_info s0, s1;
        rt_jit_cache_stats(&s0, &err);
        conv_check(j, &cb, 0, "after planting"); /* builds B from the cache */
        rt_jit_cache_stats(&s1, &err);
        CHECK_INT(s1.corrupt - s0.corrupt, 1);
        CHECK_INT(s1.hits - s0.hits, 0);
        seg_free(text_b);
    }
    rt_jit_free(j);
    cache_restore(old);
}

/* runtime/fpmode.c: a pool made while denormals are flushed computes a
 * denormal product as 0 on every thread, the caller included, and one
 * made with "keep" gives the IEEE denormal; the caller's own mode is back
 * after each job. (Compared as bits: with DAZ on, a thread reads any
 * denormal as 0, comparisons included.) */
/* Bits, not values: a thread with DAZ set reads a denormal as 0. */
static long float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (long)u;
}

static int is_denormal(float f) { return float_bits(f) > 0 && float_bits(f) < 0x800000; }

typedef struct denormal_job {
    volatile float a, b;
    float out[4];
} denormal_job;

static void denormal_task(void *arg, int64_t begin, int64_t end, int thread)
{
    denormal_job *j = arg;
    (void)begin, (void)end;
    j->out[thread] = j->a * j->b; /* 1e-30 * 1e-10: 1e-40 is denormal */
}

TEST(pool_denormal_mode_on_every_thread)
{
    int flush = rt_fp_denormals_flushed();
    for (int mode = 0; mode < 2; mode++) {
        rt_fp_denormals_set(mode);
        rt_pool *p = rt_pool_new(2);
        rt_fp_denormals_set(!mode); /* the caller in the other mode: the pool's wins */
        denormal_job j = {.a = 1e-30f, .b = 1e-10f, .out = {-1, -1, -1, -1}};
        rt_pool_run(p, 2, denormal_task, &j);
        for (int t = 0; t < 2; t++)
            CHECK(mode ? float_bits(j.out[t]) == 0 : is_denormal(j.out[t]));
        float here = j.a * j.b; /* the caller's mode again */
        CHECK(mode ? is_denormal(here) : float_bits(here) == 0);
        rt_pool_free(p);
    }
    rt_fp_denormals_set(flush);
}

/* runtime/ops/transpose8.c against the plain loops it replaces: block and
 * unblock of 8 lanes, runs that are not a multiple of 8 (the caller does
 * the rest), and the pool's layout copies (rt_layout_block_pool, which
 * uses it for full blocks) against rt_layout_block. */
TEST(layout_transpose8_matches_plain_loops)
{
    enum { STRIDE = 37, M = 29 };
    float src[8 * STRIDE], blocked[M * 8], plain[8 * STRIDE];
    for (int i = 0; i < 8 * STRIDE; i++)
        src[i] = (float)i * 0.25f - 7.0f;
    memset(blocked, 0, sizeof blocked);
    int64_t done = rt_transpose8_block(src, STRIDE, blocked, M);
    CHECK_INT(done, rt_transpose8_available() ? 24 : 0);
    for (int64_t q = 0; q < done; q++)
        for (int l = 0; l < 8; l++)
            CHECK(blocked[q * 8 + l] == src[l * STRIDE + q]);
    memset(plain, 0, sizeof plain);
    CHECK_INT(rt_transpose8_unblock(blocked, plain, STRIDE, M, NULL), done);
    for (int l = 0; l < 8; l++)
        for (int64_t q = 0; q < done; q++)
            CHECK(plain[l * STRIDE + q] == src[l * STRIDE + q]);
    /* whole tensors: 2 samples, 20 channels (2 full blocks and 4 lanes), 77 voxels */
    enum { N = 2, C = 20, V = 77, CB = 24 };
    float *x = seg_xcalloc(N * C * V, sizeof *x), *a = seg_xcalloc(N * CB * V, sizeof *a);
    float *b = seg_xcalloc(N * CB * V, sizeof *b);
    for (int i = 0; i < N * C * V; i++)
        x[i] = (float)((i * 7919) % 1000) - 500.0f;
    rt_layout_block(x, a, N, C, V, 8);
    rt_pool *p = rt_pool_new(2);
    rt_layout_block_pool(p, x, b, N, C, V, 8);
    CHECK(memcmp(a, b, sizeof(float) * N * CB * V) == 0);
    rt_pool_free(p);
    seg_free(x);
    seg_free(a);
    seg_free(b);
}

/* The unblocking epilogue on the AVX2 path gives what the portable loops
 * give, NaN and -0 included: mask (keep where > 0), residual, ReLU. */
TEST(layout_unblock_epilogue_matches_plain_loops)
{
    enum { STRIDE = 19, M = 16 };
    float blocked[M * 8], mask[8 * STRIDE], res[8 * STRIDE], out[8 * STRIDE];
    for (int i = 0; i < M * 8; i++)
        blocked[i] = (float)((i * 37) % 23) - 11.0f;
    blocked[5] = NAN;
    blocked[17] = -0.0f;
    for (int i = 0; i < 8 * STRIDE; i++) {
        mask[i] = (float)((i * 13) % 7) - 3.0f;
        res[i] = (float)((i * 29) % 11) - 5.0f;
    }
    mask[3] = NAN;
    res[2 * STRIDE + 1] = -INFINITY;
    for (int mode = 0; mode < 3; mode++) {
        rt_unblock_epi e = {mode == 0 ? mask : NULL, mode > 0 ? res : NULL, mode == 2};
        memset(out, 0, sizeof out);
        int64_t done = rt_transpose8_unblock(blocked, out, STRIDE, M, &e);
        CHECK_INT(done, rt_transpose8_available() ? M : 0);
        for (int l = 0; l < 8; l++)
            for (int64_t q = 0; q < done; q++) {
                int64_t at = l * STRIDE + q;
                float v = blocked[q * 8 + l];
                if (e.mask)
                    v = mask[at] > 0 ? v : 0.0f;
                if (e.res) {
                    v += res[at];
                    v = e.relu && v < 0 ? 0.0f : v;
                }
                CHECK(memcmp(&v, &out[at], sizeof v) == 0);
            }
    }
}

/* Lane sums: the fixed order (4 partial sums by q mod 4, added pairwise),
 * bit for bit, whichever path runs. */
TEST(layout_lane_sums_fixed_order)
{
    enum { M = 1003 };
    float *blk = seg_xcalloc(M * 8, sizeof *blk);
    for (int i = 0; i < M * 8; i++)
        blk[i] = (float)((i * 7919) % 2001) * 1e-3f - 1.0f + 1e-7f * (float)i;
    double got[8], part[4][8] = {{0}};
    rt_lane_sums(blk, M, 8, got);
    for (int q = 0; q < M; q++)
        for (int l = 0; l < 8; l++)
            part[q & 3][l] += blk[q * 8 + l];
    for (int l = 0; l < 8; l++) {
        double want = (part[0][l] + part[1][l]) + (part[2][l] + part[3][l]);
        CHECK(memcmp(&want, &got[l], sizeof want) == 0);
    }
    seg_free(blk);
}
