/* test_backward.c — the backward kernels (conv_bwd.c, pool_bwd.c,
 * upsample_bwd.c, norm_bwd.c, slice_bwd.c) against naive loops written
 * here from the definitions, plus one adjoint identity per linear op,
 *     <forward(x), y> == <x, backward(y)>,
 * with the forward kernels run through rt_kernel_run: conv (data and
 * weight), conv_t (weight, the role-swapped conv_bwd_weight), avgpool,
 * upsample and slice. Backward ops are called through
 * ops_dispatch_backward directly, so the tests do not depend on how
 * dispatch.c forwards to it.
 */
#include "runtime/ops/ops_backward.h"
#include "tests/ops/ops_test.h"

#include <math.h>
#include <string.h>

/* Run a backward op; a kernel error is a test failure tagged with the line. */
static int bw_run_at(const char *file, int line, rt_op op, const rt_attrs *a, rt_tensor **in,
                     int n, rt_tensor *out)
{
    rt_error err = {{0}};
    rt_ctx ctx = {0, 1, &err};
    ops_call c = {op, a, in, n, out, &ctx};
    int rc = ops_dispatch_backward(&c);
    if (rc != 0)
        test_fail_at(file, line, "%s returned %d: %s", rt_op_table[op].name, rc, err.msg);
    return rc;
}
#define bw_run(op, a, in, n, out) bw_run_at(__FILE__, __LINE__, (op), (a), (in), (n), (out))

/* Run a backward op expecting failure with a message containing want. */
static int bw_fails(rt_op op, const rt_attrs *a, rt_tensor **in, int n, rt_tensor *out,
                    const char *want)
{
    rt_error err = {{0}};
    rt_ctx ctx = {0, 1, &err};
    ops_call c = {op, a, in, n, out, &ctx};
    if (ops_dispatch_backward(&c) != -1)
        return 0;
    if (!strstr(err.msg, want)) {
        printf("    (error was: %s)\n", err.msg);
        return 0;
    }
    return 1;
}

static double dot(const rt_tensor *a, const rt_tensor *b)
{
    double s = 0;
    for (int64_t i = 0; i < rt_type_numel(&a->type); i++)
        s += (double)rt_f32(a)[i] * rt_f32(b)[i];
    return s;
}

/* An f32 tensor [a, b, sp[0..nsp)]. */
static rt_tensor *make_sp(int nsp, int64_t a, int64_t b, const int64_t *sp, uint32_t seed)
{
    int64_t dim[5] = {a, b, 0, 0, 0};
    for (int i = 0; i < nsp; i++)
        dim[2 + i] = sp[i];
    return seed ? tt_rand(seed, nsp + 2, dim) : tt_new(RT_F32, nsp + 2, dim);
}

/* nsp entries padded in front to 3 (fill for the added axes). */
static void pad3(const int64_t *v, int nsp, int64_t fill, int64_t o[3])
{
    for (int j = 0; j < 3; j++)
        o[j] = j >= 3 - nsp ? v[j - (3 - nsp)] : fill;
}

static void pad3i(const int *v, int nsp, int64_t fill, int64_t o[3])
{
    int64_t t[3] = {v[0], v[1], v[2]};
    pad3(t, nsp, fill, o);
}

/* Spatial geometry of a test case, padded to 3 axes. */
typedef struct tgeom {
    int64_t I[3], O[3], K[3], S[3], P[3], D[3]; /* image, grid, kernel, stride, pad, dilation */
} tgeom;

static int64_t vol(const int64_t v[3]) { return v[0] * v[1] * v[2]; }

/* Image position of grid o and kernel offset k along axis j, or -1 if outside. */
static int64_t tap(const tgeom *g, int j, int64_t o, int64_t k)
{
    int64_t i = o * g->S[j] - g->P[j] + k * g->D[j];
    return i >= 0 && i < g->I[j] ? i : -1;
}

/* ------------------------------------------------------- convolution */

/* A convolution-like case in role form: image [n, cx, img], grid
 * [n, cy, grid], weight [cy, cx / groups, k]. transposed: sp is the grid
 * (conv_t input) and the image is conv_t's output size; else sp is the
 * image and the grid is conv's output size. */
typedef struct cb_case {
    int nsp;
    int64_t n, cx, cy;
    int64_t sp[3];
    int k[3], s[3], p[3], d[3], op[3];
    int groups, transposed;
} cb_case;

static void cb_attrs(const cb_case *cc, rt_attrs *a)
{
    rt_attrs_init(a);
    a->nsp = cc->nsp;
    a->groups = cc->groups;
    for (int i = 0; i < cc->nsp; i++) {
        a->kernel[i] = cc->k[i];
        a->stride[i] = cc->s[i];
        a->pad[i] = cc->p[i];
        a->dilation[i] = cc->d[i];
        a->out_pad[i] = cc->op[i];
    }
}

/* Image and grid sizes (nsp entries each). */
static void cb_sizes(const cb_case *cc, int64_t img[3], int64_t grid[3])
{
    for (int i = 0; i < cc->nsp; i++) {
        int64_t span = (int64_t)cc->d[i] * (cc->k[i] - 1) + 1;
        if (cc->transposed) {
            grid[i] = cc->sp[i];
            img[i] = (grid[i] - 1) * cc->s[i] - 2 * cc->p[i] + span + cc->op[i];
        } else {
            img[i] = cc->sp[i];
            grid[i] = (img[i] + 2 * cc->p[i] - span) / cc->s[i] + 1;
        }
    }
}

static void cb_geom(const cb_case *cc, tgeom *g)
{
    int64_t img[3], grid[3], k[3];
    cb_sizes(cc, img, grid);
    for (int i = 0; i < cc->nsp; i++)
        k[i] = cc->k[i];
    pad3(img, cc->nsp, 1, g->I);
    pad3(grid, cc->nsp, 1, g->O);
    pad3(k, cc->nsp, 1, g->K);
    pad3i(cc->s, cc->nsp, 1, g->S);
    pad3i(cc->p, cc->nsp, 0, g->P);
    pad3i(cc->d, cc->nsp, 1, g->D);
}

/* Add to dx (image shape) and dw the contributions of grid gradient dy at
 * every tap: dx[n, b, i] += w[a, bl, k] dy[n, a, o], dw[a, bl, k] +=
 * x[n, b, i] dy[n, a, o], b = group(a) * bg + bl. */
static void naive_cb(const cb_case *cc, const float *x, const float *dy, const float *w,
                     double *dx, double *dw)
{
    tgeom g;
    cb_geom(cc, &g);
    int64_t bg = cc->cx / cc->groups, ag = cc->cy / cc->groups, kv = vol(g.K);
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t a = 0; a < cc->cy; a++)
            for (int64_t q = 0; q < vol(g.O); q++) {
                int64_t o[3] = {q / (g.O[1] * g.O[2]), q / g.O[2] % g.O[1], q % g.O[2]};
                double v = dy[(n * cc->cy + a) * vol(g.O) + q];
                for (int64_t bl = 0; bl < bg; bl++)
                    for (int64_t kk = 0; kk < kv; kk++) {
                        int64_t k[3] = {kk / (g.K[1] * g.K[2]), kk / g.K[2] % g.K[1], kk % g.K[2]};
                        int64_t iz = tap(&g, 0, o[0], k[0]), iy = tap(&g, 1, o[1], k[1]);
                        int64_t ix = tap(&g, 2, o[2], k[2]);
                        if (iz < 0 || iy < 0 || ix < 0)
                            continue;
                        int64_t xi = (n * cc->cx + a / ag * bg + bl) * vol(g.I) +
                                     (iz * g.I[1] + iy) * g.I[2] + ix;
                        int64_t wi = (a * bg + bl) * kv + kk;
                        dx[xi] += w[wi] * v;
                        dw[wi] += x[xi] * v;
                    }
            }
}

/* Tensors of a case: image x, grid dy, weight w (random), naive dx, dw. */
typedef struct cb_data {
    rt_tensor *x, *dy, *w, *dx, *dw; /* dx, dw: the naive gradients */
} cb_data;

static cb_data cb_data_new(const cb_case *cc)
{
    int64_t img[3], grid[3], k[3];
    cb_sizes(cc, img, grid);
    for (int i = 0; i < cc->nsp; i++)
        k[i] = cc->k[i];
    cb_data t = {make_sp(cc->nsp, cc->n, cc->cx, img, 11), make_sp(cc->nsp, cc->n, cc->cy, grid, 12),
                 make_sp(cc->nsp, cc->cy, cc->cx / cc->groups, k, 13), NULL, NULL};
    t.dx = tt_like(t.x);
    t.dw = tt_like(t.w);
    int64_t nx = rt_type_numel(&t.x->type), nw = rt_type_numel(&t.w->type);
    double *dx = seg_xcalloc((size_t)nx, sizeof(double)), *dw = seg_xcalloc((size_t)nw, sizeof(double));
    naive_cb(cc, rt_f32(t.x), rt_f32(t.dy), rt_f32(t.w), dx, dw);
    for (int64_t i = 0; i < nx; i++)
        rt_f32(t.dx)[i] = (float)dx[i];
    for (int64_t i = 0; i < nw; i++)
        rt_f32(t.dw)[i] = (float)dw[i];
    seg_free(dx), seg_free(dw);
    return t;
}

static void cb_data_free(cb_data *t)
{
    tt_free(t->x), tt_free(t->dy), tt_free(t->w), tt_free(t->dx), tt_free(t->dw);
}

/* conv: both gradients against the naive loop, and both adjoint identities
 * <conv(x, w), dy> = <x, bwd_data(dy, w)> = <w, bwd_weight(x, dy)>. */
static void check_conv(const cb_case *cc)
{
    rt_attrs a;
    cb_attrs(cc, &a);
    cb_data t = cb_data_new(cc);
    rt_tensor *dx = tt_like(t.x), *dw = tt_like(t.w), *y = tt_like(t.dy);
    rt_tensor *in_d[2] = {t.dy, t.w}, *in_w[2] = {t.x, t.dy}, *in_f[2] = {t.x, t.w};
    if (bw_run(OP_CONV_BWD_DATA, &a, in_d, 2, dx) == 0)
        CHECK_TENSOR(dx, t.dx, 1e-5);
    if (bw_run(OP_CONV_BWD_WEIGHT, &a, in_w, 2, dw) == 0)
        CHECK_TENSOR(dw, t.dw, 1e-5);
    if (tt_run(OP_CONV, &a, in_f, 2, y) == 0) {
        double fy = dot(y, t.dy);
        CHECK_NEAR(dot(t.x, dx), fy, 1e-5);
        CHECK_NEAR(dot(t.w, dw), fy, 1e-5);
    }
    tt_free(dx), tt_free(dw), tt_free(y);
    cb_data_free(&t);
}

TEST(bwd_conv1d_stride_pad_dilation_groups)
{
    long live = seg_alloc_live();
    check_conv(&(cb_case){1, 2, 4, 6, {11}, {3}, {2}, {1}, {2}, {0}, 2, 0});
    check_conv(&(cb_case){1, 3, 2, 4, {8}, {3}, {1}, {1}, {1}, {0}, 1, 0});
    CHECK_INT(seg_alloc_live(), live);
}

TEST(bwd_conv2d_cases)
{
    check_conv(&(cb_case){2, 2, 4, 4, {7, 9}, {3, 2}, {2, 1}, {1, 1}, {2, 1}, {0}, 2, 0});
    check_conv(&(cb_case){2, 2, 3, 5, {6, 5}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, {0}, 1, 0});
    check_conv(&(cb_case){2, 1, 4, 2, {6, 7}, {1, 1}, {2, 2}, {0, 0}, {1, 1}, {0}, 2, 0});
}

TEST(bwd_conv3d_cases)
{
    long live = seg_alloc_live();
    check_conv(&(cb_case){3, 1, 2, 4, {5, 6, 7}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {2, 2, 2}, {0}, 2, 0});
    check_conv(&(cb_case){3, 2, 3, 4, {4, 5, 6}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0}, 1, 0});
    check_conv(&(cb_case){3, 2, 2, 3, {4, 6, 5}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}, {0}, 1, 0});
    check_conv(&(cb_case){3, 2, 4, 2, {3, 4, 5}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, {0}, 2, 0});
    CHECK_INT(seg_alloc_live(), live);
}

/* conv_t(xt, w) with xt [n, cy, grid], w [cy, cx / groups, k] and output
 * [n, cx, img]: its weight gradient is conv_bwd_weight(g, xt), checked
 * against the naive loop and <conv_t(xt, w), g> = <w, dw>; and
 * conv_bwd_data(xt, w) is conv_t(xt, w) itself. */
static void check_conv_t(const cb_case *cc)
{
    rt_attrs a;
    cb_attrs(cc, &a);
    cb_data t = cb_data_new(cc); /* x = g (image side), dy = xt (grid side) */
    rt_tensor *dw = tt_like(t.w), *y = tt_like(t.x), *y2 = tt_like(t.x);
    rt_tensor *in_w[2] = {t.x, t.dy}, *in_t[2] = {t.dy, t.w};
    if (bw_run(OP_CONV_BWD_WEIGHT, &a, in_w, 2, dw) == 0)
        CHECK_TENSOR(dw, t.dw, 1e-5);
    if (tt_run(OP_CONV_T, &a, in_t, 2, y) == 0) {
        CHECK_NEAR(dot(t.w, dw), dot(y, t.x), 1e-5);
        if (bw_run(OP_CONV_BWD_DATA, &a, in_t, 2, y2) == 0)
            CHECK_TENSOR(y2, y, 1e-5);
    }
    tt_free(dw), tt_free(y), tt_free(y2);
    cb_data_free(&t);
}

TEST(bwd_conv_t_weight_role_swap)
{
    long live = seg_alloc_live();
    /* U-Net up-convolution: k2 s2 */
    check_conv_t(&(cb_case){3, 2, 3, 4, {3, 4, 5}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}, {0}, 1, 1});
    /* groups, padding, output padding */
    check_conv_t(&(cb_case){2, 2, 6, 4, {4, 5}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 0}, 2, 1});
    check_conv_t(&(cb_case){1, 2, 4, 6, {6}, {3}, {2}, {1}, {2}, {1}, 2, 1});
    /* out_pad >= stride (allowed when dilation > stride) */
    check_conv_t(&(cb_case){1, 1, 2, 2, {5}, {3}, {1}, {1}, {2}, {1}, 1, 1});
    CHECK_INT(seg_alloc_live(), live);
}

TEST(bwd_conv_rejects_bad_shapes)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 2;
    a.stride[0] = a.stride[1] = 2;
    rt_tensor *dy = TT_NEW(RT_F32, 1, 4, 5, 5), *w = TT_NEW(RT_F32, 4, 3, 3, 3);
    rt_tensor *x = TT_NEW(RT_F32, 1, 3, 20, 11), *xbad = TT_NEW(RT_F32, 1, 2, 11, 11);
    rt_tensor *in[2] = {dy, w};
    CHECK(bw_fails(OP_CONV_BWD_DATA, &a, in, 2, x, "spatial axis 0"));
    CHECK(bw_fails(OP_CONV_BWD_DATA, &a, in, 2, xbad, "does not fit"));
    tt_free(dy), tt_free(w), tt_free(x), tt_free(xbad);
}

/* ----------------------------------------------------------- pooling */

/* A pooling case: x [n, c, in], kernel, stride, pad, dilation (max only). */
typedef struct pb_case {
    int nsp;
    int64_t n, c;
    int64_t in[3];
    int k[3], s[3], p[3], d[3];
} pb_case;

static void pb_attrs(const pb_case *pc, rt_attrs *a)
{
    rt_attrs_init(a);
    a->nsp = pc->nsp;
    for (int i = 0; i < pc->nsp; i++) {
        a->kernel[i] = pc->k[i];
        a->stride[i] = pc->s[i];
        a->pad[i] = pc->p[i];
        a->dilation[i] = pc->d[i];
    }
}

static void pb_geom(const pb_case *pc, int dilated, tgeom *g)
{
    int64_t out[3];
    for (int i = 0; i < pc->nsp; i++) {
        int64_t d = dilated ? pc->d[i] : 1, span = d * (pc->k[i] - 1) + 1;
        out[i] = (pc->in[i] + 2 * pc->p[i] - span) / pc->s[i] + 1;
    }
    pad3(pc->in, pc->nsp, 1, g->I);
    pad3(out, pc->nsp, 1, g->O);
    pad3i(pc->k, pc->nsp, 1, g->K);
    pad3i(pc->s, pc->nsp, 1, g->S);
    pad3i(pc->p, pc->nsp, 0, g->P);
    if (dilated)
        pad3i(pc->d, pc->nsp, 1, g->D);
    else
        g->D[0] = g->D[1] = g->D[2] = 1;
}

/* A random gradient of the pooling output's shape. */
static rt_tensor *pb_grad(const pb_case *pc, const tgeom *g, uint32_t seed)
{
    int64_t sp[3];
    for (int i = 0; i < pc->nsp; i++)
        sp[i] = g->O[3 - pc->nsp + i];
    return make_sp(pc->nsp, pc->n, pc->c, sp, seed);
}

/* First maximal (strictly greater, or NaN) valid tap of window q, PyTorch's scan. */
static int64_t naive_argmax(const tgeom *g, const float *src, int64_t q)
{
    int64_t o[3] = {q / (g->O[1] * g->O[2]), q / g->O[2] % g->O[1], q % g->O[2]}, best = -1;
    float m = -INFINITY;
    for (int64_t kz = 0; kz < g->K[0]; kz++)
        for (int64_t ky = 0; ky < g->K[1]; ky++)
            for (int64_t kx = 0; kx < g->K[2]; kx++) {
                int64_t iz = tap(g, 0, o[0], kz), iy = tap(g, 1, o[1], ky), ix = tap(g, 2, o[2], kx);
                if (iz < 0 || iy < 0 || ix < 0)
                    continue;
                int64_t i = (iz * g->I[1] + iy) * g->I[2] + ix;
                if (best < 0)
                    best = i; /* an all -inf window keeps its first element */
                if (src[i] > m || isnan(src[i])) {
                    m = src[i];
                    best = i;
                }
            }
    return best;
}

static void naive_maxpool_bwd(const pb_case *pc, const rt_tensor *x, const rt_tensor *dy,
                              rt_tensor *dx)
{
    tgeom g;
    pb_geom(pc, 1, &g);
    for (int64_t pl = 0; pl < pc->n * pc->c; pl++)
        for (int64_t q = 0; q < vol(g.O); q++) {
            int64_t i = naive_argmax(&g, rt_f32(x) + pl * vol(g.I), q);
            rt_f32(dx)[pl * vol(g.I) + i] += rt_f32(dy)[pl * vol(g.O) + q];
        }
}

/* x quantised to 3 levels so that windows hold many ties. */
static void check_maxpool(const pb_case *pc)
{
    rt_attrs a;
    pb_attrs(pc, &a);
    tgeom g;
    pb_geom(pc, 1, &g);
    rt_tensor *x = make_sp(pc->nsp, pc->n, pc->c, pc->in, 21);
    for (int64_t i = 0; i < rt_type_numel(&x->type); i++)
        rt_f32(x)[i] = floorf(rt_f32(x)[i] * 1.5f);
    rt_tensor *dy = pb_grad(pc, &g, 22), *dx = tt_like(x), *want = tt_like(x);
    naive_maxpool_bwd(pc, x, dy, want);
    rt_tensor *in[2] = {x, dy};
    if (bw_run(OP_MAXPOOL_BWD, &a, in, 2, dx) == 0)
        CHECK_TENSOR(dx, want, 1e-6);
    tt_free(x), tt_free(dy), tt_free(dx), tt_free(want);
}

TEST(bwd_maxpool_ties_overlap_padding)
{
    long live = seg_alloc_live();
    check_maxpool(&(pb_case){1, 2, 3, {9}, {3}, {1}, {1}, {1}});
    check_maxpool(&(pb_case){2, 2, 2, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}});
    check_maxpool(&(pb_case){2, 1, 2, {9, 9}, {3, 2}, {1, 2}, {1, 0}, {2, 1}});
    check_maxpool(&(pb_case){3, 2, 2, {6, 6, 6}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}});
    check_maxpool(&(pb_case){3, 1, 2, {5, 6, 7}, {3, 3, 3}, {2, 1, 2}, {1, 1, 1}, {1, 2, 1}});
    CHECK_INT(seg_alloc_live(), live);
}

/* All-equal windows: every window's gradient goes to its first element. */
TEST(bwd_maxpool_first_max_wins)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 2;
    a.kernel[0] = a.kernel[1] = 2;
    rt_tensor *x = TT_NEW(RT_F32, 1, 1, 4, 4), *dy = TT_RAND(5, 1, 1, 3, 3);
    rt_tensor *dx = tt_like(x);
    for (int i = 0; i < 16; i++)
        rt_f32(x)[i] = 2.0f;
    rt_tensor *in[2] = {x, dy};
    if (bw_run(OP_MAXPOOL_BWD, &a, in, 2, dx) == 0)
        for (int y = 0; y < 4; y++)
            for (int xx = 0; xx < 4; xx++)
                CHECK(rt_f32(dx)[y * 4 + xx] == (y < 3 && xx < 3 ? rt_f32(dy)[y * 3 + xx] : 0.0f));
    tt_free(x), tt_free(dy), tt_free(dx);
}

static void naive_avgpool_bwd(const pb_case *pc, const rt_tensor *dy, rt_tensor *dx)
{
    tgeom g;
    pb_geom(pc, 0, &g);
    for (int64_t pl = 0; pl < pc->n * pc->c; pl++)
        for (int64_t q = 0; q < vol(g.O); q++) {
            int64_t o[3] = {q / (g.O[1] * g.O[2]), q / g.O[2] % g.O[1], q % g.O[2]}, div = 1;
            for (int j = 0; j < 3; j++) {
                int64_t start = o[j] * g.S[j] - g.P[j], end = start + g.K[j];
                div *= (end < g.I[j] + g.P[j] ? end : g.I[j] + g.P[j]) - start;
            }
            float v = rt_f32(dy)[pl * vol(g.O) + q] / (float)div;
            for (int64_t kk = 0; kk < vol(g.K); kk++) {
                int64_t iz = tap(&g, 0, o[0], kk / (g.K[1] * g.K[2]));
                int64_t iy = tap(&g, 1, o[1], kk / g.K[2] % g.K[1]), ix = tap(&g, 2, o[2], kk % g.K[2]);
                if (iz >= 0 && iy >= 0 && ix >= 0)
                    rt_f32(dx)[pl * vol(g.I) + (iz * g.I[1] + iy) * g.I[2] + ix] += v;
            }
        }
}

/* Naive loop and <avgpool(x), dy> = <x, avgpool_bwd(dy)>. */
static void check_avgpool(const pb_case *pc)
{
    rt_attrs a;
    pb_attrs(pc, &a);
    tgeom g;
    pb_geom(pc, 0, &g);
    rt_tensor *x = make_sp(pc->nsp, pc->n, pc->c, pc->in, 31), *dy = pb_grad(pc, &g, 32);
    rt_tensor *dx = tt_like(x), *want = tt_like(x), *y = tt_like(dy);
    naive_avgpool_bwd(pc, dy, want);
    if (bw_run(OP_AVGPOOL_BWD, &a, &dy, 1, dx) == 0)
        CHECK_TENSOR(dx, want, 1e-5);
    if (tt_run(OP_AVGPOOL, &a, &x, 1, y) == 0)
        CHECK_NEAR(dot(x, dx), dot(y, dy), 1e-5);
    tt_free(x), tt_free(dy), tt_free(dx), tt_free(want), tt_free(y);
}

TEST(bwd_avgpool_padding)
{
    long live = seg_alloc_live();
    check_avgpool(&(pb_case){1, 2, 3, {9}, {3}, {1}, {1}, {1}});
    check_avgpool(&(pb_case){2, 2, 2, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}});
    check_avgpool(&(pb_case){2, 1, 2, {6, 9}, {2, 3}, {2, 2}, {1, 1}, {1, 1}});
    check_avgpool(&(pb_case){3, 2, 2, {6, 6, 6}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}});
    check_avgpool(&(pb_case){3, 1, 2, {5, 6, 7}, {3, 3, 3}, {2, 1, 2}, {1, 1, 1}, {1, 1, 1}});
    CHECK_INT(seg_alloc_live(), live);
}

/* ---------------------------------------------------------- upsample */

/* Weight of input i in output o along one axis (PyTorch, align_corners false). */
static double up_weight(int mode, int64_t in, int64_t out, int64_t o, int64_t i)
{
    float scale = (float)in / (float)out;
    if (mode == RT_UP_NEAREST) {
        int64_t s = out == in ? o : out == 2 * in ? o / 2 : (int64_t)floorf((float)o * scale);
        return (s < in - 1 ? s : in - 1) == i;
    }
    if (out == in)
        return o == i;
    float r = scale * ((float)o + 0.5f) - 0.5f;
    r = r < 0 ? 0 : r;
    int64_t i0 = (int64_t)floorf(r);
    i0 = i0 < in - 1 ? i0 : in - 1;
    int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
    float l1 = fminf(fmaxf(r - (float)i0, 0.0f), 1.0f);
    return (i == i0 ? 1.0 - l1 : 0.0) + (i == i1 ? l1 : 0.0);
}

/* dx[i] = sum over o of prod_j w_j(o_j, i_j) dy[o], over every pair. */
static void naive_upsample_bwd(int mode, int nsp, const rt_tensor *dy, rt_tensor *dx)
{
    int64_t I[3], O[3];
    pad3(dx->type.dim + 2, nsp, 1, I);
    pad3(dy->type.dim + 2, nsp, 1, O);
    int64_t planes = dx->type.dim[0] * dx->type.dim[1];
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < vol(I); i++) {
            int64_t iz = i / (I[1] * I[2]), iy = i / I[2] % I[1], ix = i % I[2];
            double s = 0;
            for (int64_t o = 0; o < vol(O); o++) {
                int64_t oz = o / (O[1] * O[2]), oy = o / O[2] % O[1], ox = o % O[2];
                s += up_weight(mode, I[0], O[0], oz, iz) * up_weight(mode, I[1], O[1], oy, iy) *
                     up_weight(mode, I[2], O[2], ox, ix) * rt_f32(dy)[pl * vol(O) + o];
            }
            rt_f32(dx)[pl * vol(I) + i] = (float)s;
        }
}

/* Naive loop and <upsample(x), dy> = <x, upsample_bwd(dy)>. */
static void check_upsample(int mode, int nsp, const int64_t *in, const int64_t *out)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = nsp;
    a.mode = mode;
    rt_tensor *x = make_sp(nsp, 2, 2, in, 41), *dy = make_sp(nsp, 2, 2, out, 42);
    rt_tensor *dx = tt_like(x), *want = tt_like(x), *y = tt_like(dy);
    naive_upsample_bwd(mode, nsp, dy, want);
    if (bw_run(OP_UPSAMPLE_BWD, &a, &dy, 1, dx) == 0)
        CHECK_TENSOR(dx, want, 1e-5);
    if (tt_run(OP_UPSAMPLE, &a, &x, 1, y) == 0)
        CHECK_NEAR(dot(x, dx), dot(y, dy), 1e-5);
    tt_free(x), tt_free(dy), tt_free(dx), tt_free(want), tt_free(y);
}

TEST(bwd_upsample_nearest)
{
    long live = seg_alloc_live();
    check_upsample(RT_UP_NEAREST, 1, TT_DIMS(3), TT_DIMS(7));
    check_upsample(RT_UP_NEAREST, 1, TT_DIMS(4), TT_DIMS(8));
    check_upsample(RT_UP_NEAREST, 1, TT_DIMS(7), TT_DIMS(3));
    check_upsample(RT_UP_NEAREST, 2, TT_DIMS(3, 4), TT_DIMS(7, 8));
    check_upsample(RT_UP_NEAREST, 3, TT_DIMS(2, 3, 4), TT_DIMS(4, 7, 8));
    CHECK_INT(seg_alloc_live(), live);
}

TEST(bwd_upsample_linear)
{
    long live = seg_alloc_live();
    check_upsample(RT_UP_LINEAR, 1, TT_DIMS(3), TT_DIMS(7));
    check_upsample(RT_UP_LINEAR, 1, TT_DIMS(4), TT_DIMS(8));
    check_upsample(RT_UP_LINEAR, 1, TT_DIMS(5), TT_DIMS(5));
    check_upsample(RT_UP_LINEAR, 1, TT_DIMS(7), TT_DIMS(3));
    check_upsample(RT_UP_LINEAR, 2, TT_DIMS(3, 4), TT_DIMS(7, 8));
    check_upsample(RT_UP_LINEAR, 3, TT_DIMS(2, 3, 3), TT_DIMS(4, 6, 7));
    check_upsample(RT_UP_LINEAR, 3, TT_DIMS(3, 3, 3), TT_DIMS(7, 7, 7));
    CHECK_INT(seg_alloc_live(), live);
}

/* --------------------------------------------------------- batchnorm */

/* The textbook formulas in double: per channel over N and spatial. */
static void naive_bn_bwd(int training, float eps, const rt_tensor *x, const float *gamma,
                         const float *rm, const float *rv, const rt_tensor *dy, rt_tensor *dx,
                         rt_tensor *dgamma)
{
    int64_t n = x->type.dim[0], ch = x->type.dim[1], pl = rt_type_numel(&x->type) / (n * ch);
    double m = (double)(n * pl);
    for (int64_t c = 0; c < ch; c++) {
        double mean = rm[c], var = rv[c], s = 0, sq = 0, sdy = 0, sdyx = 0;
        for (int pass = 0; training && pass < 2; pass++)
            for (int64_t b = 0; b < n; b++)
                for (int64_t i = 0; i < pl; i++) {
                    double v = rt_f32(x)[(b * ch + c) * pl + i];
                    if (pass == 0)
                        s += v;
                    else
                        sq += (v - s / m) * (v - s / m);
                }
        if (training)
            mean = s / m, var = sq / m;
        double inv = 1 / sqrt(var + eps);
        for (int64_t b = 0; b < n; b++)
            for (int64_t i = 0; i < pl; i++) {
                int64_t k = (b * ch + c) * pl + i;
                sdy += rt_f32(dy)[k];
                sdyx += rt_f32(dy)[k] * (rt_f32(x)[k] - mean) * inv;
            }
        rt_f32(dgamma)[c] = (float)sdyx;
        for (int64_t b = 0; b < n; b++)
            for (int64_t i = 0; i < pl; i++) {
                int64_t k = (b * ch + c) * pl + i;
                double xh = (rt_f32(x)[k] - mean) * inv, g = rt_f32(dy)[k];
                rt_f32(dx)[k] = (float)(training ? gamma[c] * inv / m * (m * g - sdy - xh * sdyx)
                                                 : g * gamma[c] * inv);
            }
    }
}

static void check_bn(int training, int rank, const int64_t *dim)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.training = training;
    a.eps = 1e-5f;
    int64_t cdim[1] = {dim[1]};
    rt_tensor *x = tt_rand(51, rank, dim), *dy = tt_rand(52, rank, dim);
    rt_tensor *gamma = tt_rand(53, 1, cdim), *rm = tt_rand(54, 1, cdim), *rv = tt_rand(55, 1, cdim);
    for (int64_t i = 0; i < cdim[0]; i++)
        rt_f32(rv)[i] = 1.0f + rt_f32(rv)[i] * 0.5f;
    for (int64_t i = 0; i < rt_type_numel(&x->type); i++)
        rt_f32(x)[i] = 3.0f * rt_f32(x)[i] + 0.5f; /* mean and scale away from 0, 1 */
    rt_tensor *dx = tt_like(x), *dg = tt_like(gamma), *wdx = tt_like(x), *wdg = tt_like(gamma);
    naive_bn_bwd(training, a.eps, x, rt_f32(gamma), rt_f32(rm), rt_f32(rv), dy, wdx, wdg);
    rt_tensor *in_d[5] = {x, gamma, rm, rv, dy}, *in_g[4] = {x, rm, rv, dy};
    if (bw_run(OP_BATCHNORM_BWD_DATA, &a, in_d, 5, dx) == 0)
        CHECK_TENSOR(dx, wdx, 1e-5);
    if (bw_run(OP_BATCHNORM_BWD_GAMMA, &a, in_g, 4, dg) == 0)
        CHECK_TENSOR(dg, wdg, 1e-5);
    tt_free(x), tt_free(dy), tt_free(gamma), tt_free(rm), tt_free(rv);
    tt_free(dx), tt_free(dg), tt_free(wdx), tt_free(wdg);
}

TEST(bwd_batchnorm_training_and_inference)
{
    long live = seg_alloc_live();
    for (int training = 0; training < 2; training++) {
        check_bn(training, 4, TT_DIMS(3, 4, 5, 6));
        check_bn(training, 5, TT_DIMS(2, 3, 4, 3, 2));
        check_bn(training, 2, TT_DIMS(8, 5));
    }
    CHECK_INT(seg_alloc_live(), live);
}

TEST(bwd_batchnorm_rejects_single_value)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.training = 1;
    rt_tensor *x = TT_NEW(RT_F32, 1, 2, 1), *v = TT_NEW(RT_F32, 2), *dx = tt_like(x);
    rt_tensor *in[5] = {x, v, v, v, x};
    CHECK(bw_fails(OP_BATCHNORM_BWD_DATA, &a, in, 5, dx, "more than 1 value"));
    tt_free(x), tt_free(v), tt_free(dx);
}

/* ------------------------------------------------------------- slice */

/* Naive scatter, <slice(x), dy> = <x, slice_bwd(dy)>, for x of dims xd
 * sliced from begin with step to its end on every axis. */
static void check_slice(int rank, const int64_t *xd, const int64_t *begin, const int64_t *step)
{
    rt_attrs a;
    rt_attrs_init(&a);
    int64_t yd[RT_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        a.begin[i] = begin[i];
        a.end[i] = xd[i];
        a.step[i] = step[i];
        yd[i] = (xd[i] - begin[i] + step[i] - 1) / step[i];
    }
    rt_tensor *x = tt_rand(61, rank, xd), *dy = tt_rand(62, rank, yd);
    rt_tensor *dx = tt_like(x), *want = tt_like(x), *y = tt_like(dy);
    for (int64_t q = 0; q < rt_type_numel(&dy->type); q++) {
        int64_t rest = q, xi = 0, stride = 1;
        for (int i = rank - 1; i >= 0; i--) {
            xi += (begin[i] + rest % yd[i] * step[i]) * stride;
            rest /= yd[i];
            stride *= xd[i];
        }
        rt_f32(want)[xi] = rt_f32(dy)[q];
    }
    for (int64_t i = 0; i < rt_type_numel(&dx->type); i++)
        rt_f32(dx)[i] = 99.0f; /* must be overwritten with zeros */
    if (bw_run(OP_SLICE_BWD, &a, &dy, 1, dx) == 0)
        CHECK_TENSOR(dx, want, 0);
    if (tt_run(OP_SLICE, &a, &x, 1, y) == 0)
        CHECK_NEAR(dot(x, dx), dot(y, dy), 1e-6);
    tt_free(x), tt_free(dy), tt_free(dx), tt_free(want), tt_free(y);
}

TEST(bwd_slice_with_step)
{
    long live = seg_alloc_live();
    check_slice(3, TT_DIMS(4, 7, 9), TT_DIMS(1, 0, 2), TT_DIMS(2, 3, 2));
    check_slice(1, TT_DIMS(10), TT_DIMS(3), TT_DIMS(1));
    check_slice(5, TT_DIMS(2, 3, 4, 5, 6), TT_DIMS(0, 1, 1, 0, 3), TT_DIMS(1, 1, 2, 5, 1));
    check_slice(2, TT_DIMS(6, 8), TT_DIMS(0, 0), TT_DIMS(1, 1));
    CHECK_INT(seg_alloc_live(), live);
}

TEST(bwd_slice_rejects_out_of_range)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.begin[0] = 2;
    a.step[0] = 2;
    a.end[0] = 5;
    rt_tensor *dy = TT_NEW(RT_F32, 2), *dx = TT_NEW(RT_F32, 5);
    rt_tensor *in[1] = {dy};
    CHECK(bw_fails(OP_SLICE_BWD, &a, in, 1, dx, "leaves [0, 5)") == 0);
    a.step[0] = 3;
    CHECK(bw_fails(OP_SLICE_BWD, &a, in, 1, dx, "leaves [0, 5)"));
    tt_free(dy), tt_free(dx);
}

/* ---------------------------------------------------------- dispatch */

TEST(bwd_dispatch_not_mine)
{
    rt_attrs a;
    rt_attrs_init(&a);
    rt_error err = {{0}};
    rt_ctx ctx = {0, 1, &err};
    rt_tensor *x = TT_NEW(RT_F32, 3), *y = TT_NEW(RT_F32, 3);
    rt_tensor *in[2] = {x, x};
    ops_call c = {OP_ADD, &a, in, 2, y, &ctx};
    CHECK_INT(ops_dispatch_backward(&c), -2);
    CHECK_STR(err.msg, "");
    tt_free(x), tt_free(y);
}
