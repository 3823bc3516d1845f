/* test_fast_kernels.c — the fast kernels (runtime/ops/fast*.c) against the
 * reference kernels.
 *
 * Each case builds a one-instruction program, asks rt_fast_kernel_for for
 * its kernel, runs the reference (rt_kernel_run) and the fast kernel on
 * the calling thread and on a 2-thread pool, the fast outputs pre-filled
 * with NaN so an element left unwritten shows. The fast results must equal
 * the reference bit for bit (upsample_bwd and batch norm, whose sums are
 * ordered differently: within 1e-5 relative) and each other bit for bit;
 * the inputs are compared after the call too (batch norm's training
 * forward updates its running statistics in place), each run on its own
 * copies. Sizes are odd on purpose; pooling inputs hold ties,
 * signed zeros and NaNs. Unsupported cases must get no fast kernel.
 */
#include "runtime/runtime.h"
#include "test.h"

#include <math.h>
#include <string.h>

#define MAX_IN 5

/* A one-instruction program over n_in inputs and one output. */
typedef struct one_instr {
    rt_program p;
    rt_value vals[MAX_IN + 1];
    rt_instr ins;
    int in_idx[MAX_IN];
} one_instr;

typedef enum fill_kind {
    FILL_SMOOTH,   /* uniform in [-1, 1) */
    FILL_TIES,     /* few levels, signed zeros, now and then NaN */
    FILL_POSITIVE, /* uniform in [0.5, 1.5): variances */
    FILL_SHIFTED,  /* uniform in [2, 4): a mean far from 0 */
} fill_kind;

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static float rng_uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)(rng_state >> 40) / (float)(1 << 24) * 2.0f - 1.0f;
}

static void fill(rt_tensor *t, fill_kind kind)
{
    int64_t n = rt_type_numel(&t->type);
    for (int64_t i = 0; i < n; i++) {
        float u = rng_uniform(), v = u;
        if (kind == FILL_POSITIVE)
            v = 1.0f + 0.5f * u;
        if (kind == FILL_SHIFTED)
            v = 3.0f + u;
        if (kind == FILL_TIES) {
            v = floorf(u * 4.0f) * 0.5f;
            if (v == 0.0f && u < 0.125f)
                v = -0.0f;
            if (u > 0.97f)
                v = NAN;
        }
        rt_f32(t)[i] = v;
    }
}

static void one_instr_init(one_instr *c, rt_op op, const rt_attrs *a, int n_in,
                           const rt_type *tin, const rt_type *tout)
{
    memset(c, 0, sizeof *c);
    for (int k = 0; k < n_in; k++) {
        c->vals[k].type = tin[k];
        c->vals[k].kind = RT_VAL_INPUT;
        c->in_idx[k] = k;
    }
    c->vals[n_in].type = *tout;
    c->vals[n_in].kind = RT_VAL_TEMP;
    c->ins = (rt_instr){.op = op, .attrs = *a, .n_in = n_in, .in = c->in_idx, .out = n_in,
                        .where = "test"};
    c->p.values = c->vals;
    c->p.n_values = n_in + 1;
    c->p.instrs = &c->ins;
    c->p.n_instrs = 1;
}

static rt_type f32(int rank, const int64_t *dims)
{
    rt_type t = {RT_F32, rank, {0}};
    memcpy(t.dim, dims, (size_t)rank * sizeof *dims);
    return t;
}

/* got == want bit for bit (tol 0) or within tol * max(1, |want|). */
static void compare(const char *what, const char *which, const rt_tensor *got,
                    const rt_tensor *want, double tol)
{
    int64_t n = rt_type_numel(&want->type), bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++) {
        float g = rt_f32(got)[i], w = rt_f32(want)[i];
        int ok = tol == 0 ? memcmp(&g, &w, sizeof g) == 0
                          : fabs((double)g - w) <= tol * (fabs(w) > 1 ? fabs(w) : 1);
        if (!ok && bad++ == 0)
            first = i;
    }
    if (bad)
        test_fail_at(__FILE__, __LINE__, "%s: %s: %lld of %lld differ, first [%lld] %.9g vs %.9g",
                     what, which, (long long)bad, (long long)n, (long long)first,
                     (double)rt_f32(got)[first], (double)rt_f32(want)[first]);
}

static rt_tensor *nan_filled(const rt_type *t)
{
    rt_tensor *x = rt_tensor_new(t);
    for (int64_t i = 0; i < rt_type_numel(t); i++)
        rt_f32(x)[i] = NAN;
    return x;
}

static rt_tensor *copy_of(const rt_tensor *t)
{
    rt_tensor *c = rt_tensor_new(&t->type);
    memcpy(c->data, t->data, (size_t)rt_type_numel(&t->type) * sizeof(float));
    return c;
}

/* One run's tensors: its own copies of the inputs (a STATEFUL op such as
 * batch norm writes some of them) and its output. */
typedef struct fast_run {
    rt_tensor *in[MAX_IN], *out;
} fast_run;

static void fast_run_init(fast_run *r, rt_tensor *const *in, int n_in, const rt_type *tout,
                          int nan_out)
{
    for (int k = 0; k < n_in; k++)
        r->in[k] = copy_of(in[k]);
    r->out = nan_out ? nan_filled(tout) : rt_tensor_new(tout);
}

static void fast_run_free(fast_run *r, int n_in)
{
    for (int k = 0; k < n_in; k++)
        rt_tensor_free(r->in[k]);
    rt_tensor_free(r->out);
}

/* got's output and inputs (as the run left them) against want's. */
static void fast_run_compare(const char *what, const char *which, const fast_run *got,
                             const fast_run *want, int n_in, double tol)
{
    char name[96];
    compare(what, which, got->out, want->out, tol);
    for (int k = 0; k < n_in; k++) {
        snprintf(name, sizeof name, "%s, input %d after the call", which, k);
        compare(what, name, got->in[k], want->in[k], tol);
    }
}

/* The fast kernel of op against its reference, serially and on 2 threads. */
static void check_fast(const char *what, rt_op op, const rt_attrs *a, int n_in,
                       const rt_type *tin, const fill_kind *fills, const rt_type *tout, double tol)
{
    long live = seg_alloc_live();
    one_instr c;
    one_instr_init(&c, op, a, n_in, tin, tout);
    rt_fast_fn fn = rt_fast_kernel_for(&c.p, 0);
    if (!fn) {
        test_fail_at(__FILE__, __LINE__, "%s: no fast kernel", what);
        return;
    }
    rt_tensor *in[MAX_IN];
    for (int k = 0; k < n_in; k++) {
        in[k] = rt_tensor_new(&tin[k]);
        fill(in[k], fills[k]);
    }
    fast_run ref, serial, par;
    fast_run_init(&ref, in, n_in, tout, 0);
    fast_run_init(&serial, in, n_in, tout, 1);
    fast_run_init(&par, in, n_in, tout, 1);
    rt_error err = {{0}};
    rt_ctx ctx = {.step = 0, .threads = 1, .err = &err};
    CHECK_INT(rt_kernel_run(op, a, ref.in, n_in, ref.out, &ctx), 0);
    CHECK_INT(fn(&c.ins, serial.in, serial.out, NULL, &err), 0);
    rt_pool *pool = rt_pool_new(2);
    CHECK_INT(fn(&c.ins, par.in, par.out, pool, &err), 0);
    rt_pool_free(pool);
    CHECK_STR(err.msg, "");
    fast_run_compare(what, "fast vs reference", &serial, &ref, n_in, tol);
    fast_run_compare(what, "2 threads vs 1", &par, &serial, n_in, 0);
    for (int k = 0; k < n_in; k++)
        rt_tensor_free(in[k]);
    fast_run_free(&ref, n_in);
    fast_run_free(&serial, n_in);
    fast_run_free(&par, n_in);
    CHECK_INT(seg_alloc_live(), live);
}

/* ------------------------------------------------------------- upsample */

/* upsample x -> out sizes `to` and its gradient, in one mode. */
static void check_upsample(int nsp, const int64_t *from, const int64_t *to, int mode)
{
    int64_t xd[5] = {2, 3}, yd[5] = {2, 3};
    for (int i = 0; i < nsp; i++)
        xd[2 + i] = from[i], yd[2 + i] = to[i];
    rt_type x = f32(nsp + 2, xd), y = f32(nsp + 2, yd);
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = nsp;
    a.mode = mode;
    char what[128];
    snprintf(what, sizeof what, "upsample %s nsp %d %lldx%lldx%lld -> %lldx%lldx%lld",
             mode == RT_UP_LINEAR ? "linear" : "nearest", nsp, (long long)from[0],
             (long long)(nsp > 1 ? from[1] : 1), (long long)(nsp > 2 ? from[2] : 1),
             (long long)to[0], (long long)(nsp > 1 ? to[1] : 1), (long long)(nsp > 2 ? to[2] : 1));
    fill_kind smooth = FILL_SMOOTH;
    check_fast(what, OP_UPSAMPLE, &a, 1, &x, &smooth, &y, 0);
    check_fast(what, OP_UPSAMPLE_BWD, &a, 1, &y, &smooth, &x, 1e-5);
}

TEST(fast_upsample_matches_reference)
{
    static const int64_t cases[][2][3] = {
        {{7}, {14}}, {{7}, {21}}, {{7}, {10}}, {{7}, {7}}, {{7}, {3}}, {{1}, {3}},
        {{5, 7}, {10, 14}}, {{5, 7}, {15, 11}}, {{5, 7}, {5, 7}}, {{1, 9}, {2, 18}},
        {{5, 7, 9}, {10, 14, 18}}, {{5, 7, 9}, {7, 9, 13}}, {{5, 7, 9}, {15, 7, 4}},
        {{3, 9, 19}, {6, 18, 38}}, {{1, 1, 3}, {2, 3, 6}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int nsp = cases[k][0][2] ? 3 : cases[k][0][1] ? 2 : 1;
        check_upsample(nsp, cases[k][0], cases[k][1], RT_UP_NEAREST);
        check_upsample(nsp, cases[k][0], cases[k][1], RT_UP_LINEAR);
    }
}

/* -------------------------------------------------------------- pooling */

typedef struct pool_case {
    int nsp;
    int64_t in[3];
    int k, s, p, d;
} pool_case;

static const pool_case pool_cases[] = {
    {3, {9, 11, 7}, 2, 2, 0, 1},  /* the hot case, odd sizes: uncovered edges */
    {3, {8, 6, 37}, 2, 2, 0, 1},  /* a row long enough for whole blocks */
    {3, {9, 7, 8}, 3, 2, 1, 1},   /* overlapping windows */
    {3, {9, 7, 8}, 2, 3, 1, 2},   /* dilated, disjoint */
    {3, {7, 6, 9}, 1, 2, 0, 1},   /* gaps between windows */
    {3, {5, 6, 7}, 3, 1, 1, 1},   /* stride 1 */
    {2, {13, 37}, 2, 2, 0, 1},
    {2, {13, 37}, 3, 2, 1, 1},
    {1, {23}, 2, 2, 0, 1},
    {1, {23}, 3, 2, 1, 2},
};

static void pool_setup(const pool_case *pc, int dilated, rt_attrs *a, rt_type *x, rt_type *y)
{
    int64_t xd[5] = {2, 3}, yd[5] = {2, 3};
    rt_attrs_init(a);
    a->nsp = pc->nsp;
    for (int i = 0; i < pc->nsp; i++) {
        a->kernel[i] = pc->k;
        a->stride[i] = pc->s;
        a->pad[i] = pc->p;
        a->dilation[i] = dilated ? pc->d : 1;
        xd[2 + i] = pc->in[i];
        yd[2 + i] = rt_conv_out_size(pc->in[i], pc->k, pc->s, pc->p, a->dilation[i]);
    }
    *x = f32(pc->nsp + 2, xd);
    *y = f32(pc->nsp + 2, yd);
}

TEST(fast_pools_match_reference)
{
    for (size_t k = 0; k < sizeof pool_cases / sizeof pool_cases[0]; k++) {
        const pool_case *pc = &pool_cases[k];
        rt_attrs a;
        rt_type x, y, xy[2];
        char what[96];
        snprintf(what, sizeof what, "pool case %zu (nsp %d, k %d, s %d, p %d, d %d)", k, pc->nsp,
                 pc->k, pc->s, pc->p, pc->d);
        fill_kind ties[2] = {FILL_TIES, FILL_SMOOTH}, smooth = FILL_SMOOTH;
        pool_setup(pc, 1, &a, &x, &y);
        xy[0] = x, xy[1] = y;
        check_fast(what, OP_MAXPOOL, &a, 1, &x, ties, &y, 0);
        check_fast(what, OP_MAXPOOL_BWD, &a, 2, xy, ties, &x, 0);
        pool_setup(pc, 0, &a, &x, &y);
        check_fast(what, OP_AVGPOOL, &a, 1, &x, &smooth, &y, 0);
        check_fast(what, OP_AVGPOOL_BWD, &a, 1, &y, &smooth, &x, 0);
    }
}

/* ------------------------------------------------------- concat, slice */

TEST(fast_concat_matches_reference)
{
    static const int64_t d[][3][4] = {
        {{2, 5, 47, 61}, {2, 1, 47, 61}, {2, 3, 47, 61}}, /* several 64 KB chunks */
        {{1, 3, 5, 7}, {2, 3, 5, 7}, {4, 3, 5, 7}},
        {{3, 5, 7, 9}, {3, 5, 7, 2}, {3, 5, 7, 0}},        /* an empty input */
    };
    static const int axis[] = {1, 0, -1};
    fill_kind smooth[3] = {FILL_SMOOTH, FILL_SMOOTH, FILL_SMOOTH};
    for (int k = 0; k < 3; k++) {
        rt_type in[3], out;
        for (int j = 0; j < 3; j++)
            in[j] = f32(4, d[k][j]);
        out = in[0];
        int ax = axis[k] < 0 ? axis[k] + 4 : axis[k];
        out.dim[ax] = in[0].dim[ax] + in[1].dim[ax] + in[2].dim[ax];
        rt_attrs a;
        rt_attrs_init(&a);
        a.axis = axis[k];
        char what[64];
        snprintf(what, sizeof what, "concat case %d", k);
        check_fast(what, OP_CONCAT, &a, 3, in, smooth, &out, 0);
        check_fast(what, OP_CONCAT, &a, 1, in, smooth, &in[0], 0);
    }
}

TEST(fast_slice_matches_reference)
{
    static const struct {
        int rank;
        int64_t in[5], begin[5], step[5], out[5];
    } cases[] = {
        {5, {2, 5, 41, 67, 9}, {0, 1, 0, 0, 0}, {1, 1, 1, 1, 1}, {2, 3, 41, 67, 9}},
        {5, {2, 5, 41, 67, 9}, {1, 0, 2, 3, 1}, {1, 2, 3, 2, 4}, {1, 3, 13, 32, 2}},
        {3, {3, 7, 50}, {0, 0, 5}, {1, 1, 1}, {3, 7, 40}},
        {3, {3, 7, 50}, {2, 3, 0}, {1, 1, 1}, {1, 4, 50}},
        {2, {3, 70000}, {1, 3}, {1, 1}, {2, 69990}},
    };
    fill_kind smooth = FILL_SMOOTH;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rt_type x = f32(cases[k].rank, cases[k].in), y = f32(cases[k].rank, cases[k].out);
        rt_attrs a;
        rt_attrs_init(&a);
        for (int i = 0; i < cases[k].rank; i++) {
            a.begin[i] = cases[k].begin[i];
            a.step[i] = cases[k].step[i];
            a.end[i] = a.begin[i] + (y.dim[i] - 1) * a.step[i] + 1;
        }
        char what[64];
        snprintf(what, sizeof what, "slice case %zu", k);
        check_fast(what, OP_SLICE, &a, 1, &x, &smooth, &y, 0);
        check_fast(what, OP_SLICE_BWD, &a, 1, &y, &smooth, &x, 0);
    }
}

/* ----------------------------------------------------------- batch norm */

/* batchnorm and its two gradients on x of shape d, training or not; the
 * running statistics (inputs the training forward writes) are compared
 * after the call. */
static void check_batchnorm(int rank, const int64_t *d, int training, fill_kind xfill)
{
    rt_type x = f32(rank, d), vec = f32(1, d + 1);
    rt_attrs a;
    rt_attrs_init(&a);
    a.training = training;
    a.momentum = 0.3f;
    char what[128];
    snprintf(what, sizeof what, "batchnorm %s [%lld, %lld, %lld, %lld, %lld] rank %d",
             training ? "training" : "eval", (long long)d[0], (long long)d[1],
             (long long)(rank > 2 ? d[2] : 0), (long long)(rank > 3 ? d[3] : 0),
             (long long)(rank > 4 ? d[4] : 0), rank);
    rt_type fwd[5] = {x, vec, vec, vec, vec}, dx[5] = {x, vec, vec, vec, x};
    rt_type dgamma[4] = {x, vec, vec, x};
    fill_kind fwd_f[5] = {xfill, FILL_SMOOTH, FILL_SMOOTH, FILL_SMOOTH, FILL_POSITIVE};
    fill_kind dx_f[5] = {xfill, FILL_SMOOTH, FILL_SMOOTH, FILL_POSITIVE, FILL_SMOOTH};
    fill_kind dgamma_f[4] = {xfill, FILL_SMOOTH, FILL_POSITIVE, FILL_SMOOTH};
    check_fast(what, OP_BATCHNORM, &a, 5, fwd, fwd_f, &x, 1e-5);
    check_fast(what, OP_BATCHNORM_BWD_DATA, &a, 5, dx, dx_f, &x, 1e-5);
    check_fast(what, OP_BATCHNORM_BWD_GAMMA, &a, 4, dgamma, dgamma_f, &vec, 1e-5);
}

TEST(fast_batchnorm_matches_reference)
{
    static const struct {
        int rank;
        int64_t d[5];
    } shapes[] = {
        {3, {2, 3, 37}},          /* 1D: whole lane blocks and a remainder */
        {3, {3, 17, 5}},          /* 1D shorter than a lane block */
        {4, {2, 17, 9, 13}},      /* 2D */
        {4, {3, 3, 1, 1}},        /* one value per sample */
        {5, {2, 3, 5, 7, 9}},     /* 3D */
        {5, {3, 17, 3, 5, 7}},
        {2, {3, 17}},             /* no spatial axes */
        {4, {2, 3, 67, 71}},      /* 2D, planes of thousands */
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int training = 0; training < 2; training++) {
            check_batchnorm(shapes[k].rank, shapes[k].d, training, FILL_SMOOTH);
            check_batchnorm(shapes[k].rank, shapes[k].d, training, FILL_SHIFTED);
        }
}

/* ------------------------------------------- softmax, global_avgpool */

TEST(fast_softmax_matches_reference)
{
    static const struct {
        int rank, axis;
        int64_t d[5];
    } cases[] = {
        {3, 1, {2, 3, 37}},
        {4, 1, {3, 17, 9, 13}},
        {4, 1, {2, 3, 67, 71}},   /* many chunks of lines and a partial one */
        {5, 1, {2, 5, 4, 3, 7}},
        {3, -1, {3, 7, 11}},      /* last axis: contiguous lines */
        {3, 0, {5, 3, 4}},
        {2, 1, {3, 1}},           /* an axis of one */
    };
    static const fill_kind fills[] = {FILL_SMOOTH, FILL_TIES, FILL_SHIFTED};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
            rt_type x = f32(cases[k].rank, cases[k].d);
            rt_attrs a;
            rt_attrs_init(&a);
            a.axis = cases[k].axis;
            char what[64];
            snprintf(what, sizeof what, "softmax case %zu fill %zu", k, f);
            check_fast(what, OP_SOFTMAX, &a, 1, &x, &fills[f], &x, 0);
            check_fast(what, OP_LOG_SOFTMAX, &a, 1, &x, &fills[f], &x, 0);
        }
}

TEST(fast_global_avgpool_matches_reference)
{
    static const struct {
        int rank;
        int64_t d[5];
    } cases[] = {
        {3, {2, 3, 37}}, {4, {3, 17, 9, 13}}, {5, {2, 3, 5, 7, 9}}, {4, {2, 3, 1, 1}},
    };
    fill_kind smooth = FILL_SMOOTH;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rt_type x = f32(cases[k].rank, cases[k].d), y = x;
        for (int i = 2; i < y.rank; i++)
            y.dim[i] = 1;
        rt_attrs a;
        rt_attrs_init(&a);
        a.nsp = x.rank - 2;
        char what[64];
        snprintf(what, sizeof what, "global_avgpool case %zu", k);
        check_fast(what, OP_GLOBAL_AVGPOOL, &a, 1, &x, &smooth, &y, 0);
    }
}

/* ---------------------------------------------------------- unsupported */

static rt_fast_fn fast_for(rt_op op, const rt_attrs *a, int n_in, const rt_type *tin,
                           const rt_type *tout)
{
    one_instr c;
    one_instr_init(&c, op, a, n_in, tin, tout);
    return rt_fast_kernel_for(&c.p, 0);
}

TEST(fast_kernel_for_declines_what_it_does_not_cover)
{
    static const int64_t d[4] = {2, 3, 8, 8}, half[4] = {2, 3, 4, 4}, wide[4] = {2, 6, 8, 8};
    rt_type x = f32(4, d), y = f32(4, half), cat = f32(4, wide), xx[2] = {x, x};
    rt_type xi = x, cati = cat, xxi[2];
    xi.dtype = cati.dtype = RT_I32;
    xxi[0] = xxi[1] = xi;
    rt_attrs a;
    rt_attrs_init(&a);
    CHECK(fast_for(OP_CONCAT, &a, 2, xx, &cat) != NULL);
    CHECK(fast_for(OP_CONCAT, &a, 2, xxi, &cati) == NULL); /* i32 */
    CHECK(fast_for(OP_ADD, &a, 2, xx, &x) == NULL);        /* not a data-movement op */
    a.nsp = 2;
    a.kernel[0] = a.kernel[1] = a.stride[0] = a.stride[1] = 2;
    CHECK(fast_for(OP_MAXPOOL, &a, 1, &x, &y) != NULL);
    CHECK(fast_for(OP_MAXPOOL, &a, 1, &x, &x) == NULL);    /* wrong output size */
    a.mode = 7;
    CHECK(fast_for(OP_UPSAMPLE, &a, 1, &y, &x) == NULL);   /* unknown mode */
    a.mode = RT_UP_LINEAR;
    CHECK(fast_for(OP_UPSAMPLE, &a, 1, &y, &x) != NULL);
    CHECK(fast_for(OP_UPSAMPLE, &a, 1, &y, &cat) == NULL); /* channels differ */
}

TEST(fast_kernel_for_declines_bad_batchnorm)
{
    static const int64_t d[4] = {2, 3, 5, 7}, one[4] = {1, 3, 1, 1}, c3[1] = {3}, c4[1] = {4};
    rt_type x = f32(4, d), x1 = f32(4, one), v = f32(1, c3), v4 = f32(1, c4), xi = x;
    xi.dtype = RT_I32;
    rt_type fwd[5] = {x, v, v, v, v}, fwd1[5] = {x1, v, v, v, v}, fwd4[5] = {x, v, v4, v, v};
    rt_type fwdi[5] = {xi, v, v, v, v}, dx[5] = {x, v, v, v, x}, dx_bad[5] = {x, v, v, v, x1};
    rt_type dg[4] = {x, v, v, x};
    rt_attrs a;
    rt_attrs_init(&a);
    a.training = 1;
    CHECK(fast_for(OP_BATCHNORM, &a, 5, fwd, &x) != NULL);
    CHECK(fast_for(OP_BATCHNORM, &a, 5, fwd1, &x1) == NULL);  /* one value per channel */
    CHECK(fast_for(OP_BATCHNORM, &a, 5, fwd4, &x) == NULL);   /* beta has 4 elements */
    CHECK(fast_for(OP_BATCHNORM, &a, 5, fwdi, &xi) == NULL);  /* i32 */
    CHECK(fast_for(OP_BATCHNORM, &a, 5, fwd, &x1) == NULL);   /* output type differs */
    CHECK(fast_for(OP_BATCHNORM_BWD_DATA, &a, 5, dx, &x) != NULL);
    CHECK(fast_for(OP_BATCHNORM_BWD_DATA, &a, 5, dx_bad, &x) == NULL); /* dy's type differs */
    CHECK(fast_for(OP_BATCHNORM_BWD_GAMMA, &a, 4, dg, &v) != NULL);
    CHECK(fast_for(OP_BATCHNORM_BWD_GAMMA, &a, 4, dg, &v4) == NULL);   /* dgamma too long */
    a.training = 0;
    CHECK(fast_for(OP_BATCHNORM, &a, 5, fwd1, &x1) != NULL);  /* inference: any count */
}

TEST(fast_kernel_for_declines_bad_softmax_and_global_avgpool)
{
    static const int64_t d[4] = {2, 3, 5, 7}, g[4] = {2, 3, 1, 1}, g2[4] = {2, 3, 1, 2};
    rt_type x = f32(4, d), y = f32(4, g), y2 = f32(4, g2);
    rt_attrs a;
    rt_attrs_init(&a);
    a.axis = 1;
    CHECK(fast_for(OP_SOFTMAX, &a, 1, &x, &x) != NULL);
    CHECK(fast_for(OP_LOG_SOFTMAX, &a, 1, &x, &y) == NULL);  /* output type differs */
    a.axis = 4;
    CHECK(fast_for(OP_SOFTMAX, &a, 1, &x, &x) == NULL);      /* axis out of range */
    a.axis = -5;
    CHECK(fast_for(OP_LOG_SOFTMAX, &a, 1, &x, &x) == NULL);
    CHECK(fast_for(OP_GLOBAL_AVGPOOL, &a, 1, &x, &y) != NULL);
    CHECK(fast_for(OP_GLOBAL_AVGPOOL, &a, 1, &x, &y2) == NULL); /* not one value per plane */
    CHECK(fast_for(OP_GLOBAL_AVGPOOL, &a, 1, &x, &x) == NULL);
}
