/* test_conv.c — conv and conv_t against naive loops (1-D, 2-D, 3-D, with
 * stride, padding, dilation, groups, bias, output padding), plus the
 * column transforms: chunked vol2col equals the whole, and col2vol is the
 * adjoint of vol2col.
 */
#include "runtime/ops/ops_internal.h"
#include "tests/ops/ops_test.h"

#include <string.h>

/* Convolution parameters of one test case, innermost axis last. */
typedef struct conv_case {
    int nsp;
    int64_t n, cin, cout;
    int64_t in[3];          /* spatial input size */
    int k[3], s[3], p[3], d[3], op[3];
    int groups, bias;
} conv_case;

static void case_attrs(const conv_case *cc, rt_attrs *a)
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

/* Pad nsp entries to 3 (leading 1s / 0s). */
static void to3(const int64_t *v, int nsp, int64_t fill, int64_t o[3])
{
    for (int j = 0; j < 3; j++)
        o[j] = j - (3 - nsp) >= 0 ? v[j - (3 - nsp)] : fill;
}

static void to3i(const int *v, int nsp, int64_t fill, int64_t o[3])
{
    int64_t t[3] = {v[0], v[1], v[2]};
    to3(t, nsp, fill, o);
}

static rt_tensor *make5(rt_dtype dt, int nsp, int64_t a, int64_t b, const int64_t *sp)
{
    int64_t dim[5] = {a, b, sp[0], sp[1], sp[2]};
    return tt_new(dt, nsp + 2, dim);
}

/* The naive definition, straight from PyTorch's documentation. */
static void naive_conv(const conv_case *cc, const rt_tensor *x, const rt_tensor *w,
                       const rt_tensor *b, rt_tensor *y)
{
    int64_t I[3], O[3], K[3], S[3], P[3], D[3], osp[3];
    for (int i = 0; i < cc->nsp; i++)
        osp[i] = y->type.dim[2 + i];
    to3(cc->in, cc->nsp, 1, I);
    to3(osp, cc->nsp, 1, O);
    to3i(cc->k, cc->nsp, 1, K);
    to3i(cc->s, cc->nsp, 1, S);
    to3i(cc->p, cc->nsp, 0, P);
    to3i(cc->d, cc->nsp, 1, D);
    int64_t cig = cc->cin / cc->groups, cog = cc->cout / cc->groups;
    float *yp = rt_f32(y);
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t co = 0; co < cc->cout; co++)
            for (int64_t oz = 0; oz < O[0]; oz++)
                for (int64_t oy = 0; oy < O[1]; oy++)
                    for (int64_t ox = 0; ox < O[2]; ox++) {
                        double acc = b ? rt_f32(b)[co] : 0;
                        int64_t g = co / cog;
                        for (int64_t ci = 0; ci < cig; ci++)
                            for (int64_t kz = 0; kz < K[0]; kz++)
                                for (int64_t ky = 0; ky < K[1]; ky++)
                                    for (int64_t kx = 0; kx < K[2]; kx++) {
                                        int64_t iz = oz * S[0] - P[0] + kz * D[0];
                                        int64_t iy = oy * S[1] - P[1] + ky * D[1];
                                        int64_t ix = ox * S[2] - P[2] + kx * D[2];
                                        if (iz < 0 || iz >= I[0] || iy < 0 || iy >= I[1] ||
                                            ix < 0 || ix >= I[2])
                                            continue;
                                        int64_t xi = (((n * cc->cin + g * cig + ci) * I[0] + iz) * I[1] + iy) * I[2] + ix;
                                        int64_t wi = (((co * cig + ci) * K[0] + kz) * K[1] + ky) * K[2] + kx;
                                        acc += (double)rt_f32(x)[xi] * rt_f32(w)[wi];
                                    }
                        *yp++ = (float)acc;
                    }
}

static void run_conv_case(const conv_case *cc, uint32_t seed)
{
    rt_attrs a;
    case_attrs(cc, &a);
    int64_t k3[3], osp[3] = {1, 1, 1};
    int64_t kk[3] = {cc->k[0], cc->k[1], cc->k[2]};
    to3(kk, cc->nsp, 1, k3);
    for (int i = 0; i < cc->nsp; i++)
        osp[i] = (cc->in[i] + 2 * cc->p[i] - (int64_t)cc->d[i] * (cc->k[i] - 1) - 1) / cc->s[i] + 1;
    rt_tensor *x = make5(RT_F32, cc->nsp, cc->n, cc->cin, cc->in);
    rt_tensor *w = make5(RT_F32, cc->nsp, cc->cout, cc->cin / cc->groups, kk);
    rt_tensor *b = TT_RAND(seed + 2, cc->cout);
    rt_tensor *y = make5(RT_F32, cc->nsp, cc->n, cc->cout, osp);
    rt_tensor *want = tt_like(y);
    uint32_t st = seed;
    for (int64_t i = 0; i < rt_type_numel(&x->type); i++)
        rt_f32(x)[i] = tt_uniform(&st);
    for (int64_t i = 0; i < rt_type_numel(&w->type); i++)
        rt_f32(w)[i] = tt_uniform(&st);
    rt_tensor *in[3] = {x, w, b};
    tt_run(OP_CONV, &a, in, cc->bias ? 3 : 2, y);
    naive_conv(cc, x, w, cc->bias ? b : NULL, want);
    CHECK_TENSOR(y, want, 1e-5);
    tt_free(x), tt_free(w), tt_free(b), tt_free(y), tt_free(want);
}

TEST(conv1d_stride_pad_dilation_groups)
{
    long live = seg_alloc_live();
    conv_case cc = {1, 2, 4, 6, {11}, {3}, {2}, {1}, {2}, {0}, 2, 1};
    run_conv_case(&cc, 1);
    cc.bias = 0;
    run_conv_case(&cc, 2);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(conv2d_cases)
{
    conv_case a = {2, 2, 4, 4, {9, 7}, {3, 2}, {2, 1}, {1, 0}, {1, 2}, {0}, 2, 1};
    run_conv_case(&a, 3);
    conv_case b = {2, 3, 3, 5, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {0}, 1, 0};
    run_conv_case(&b, 4);
    conv_case c = {2, 2, 6, 4, {5, 6}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, {0}, 2, 1}; /* pointwise */
    run_conv_case(&c, 5);
    conv_case d = {2, 1, 3, 2, {7, 5}, {1, 1}, {2, 2}, {1, 0}, {1, 1}, {0}, 1, 1}; /* 1x1, stride */
    run_conv_case(&d, 6);
}

TEST(conv3d_cases)
{
    conv_case a = {3, 2, 2, 4, {7, 6, 5}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0}, 2, 1};
    run_conv_case(&a, 7);
    conv_case b = {3, 2, 4, 4, {6, 7, 8}, {3, 2, 3}, {1, 2, 1}, {2, 1, 1}, {2, 1, 2}, {0}, 2, 0};
    run_conv_case(&b, 8);
    conv_case c = {3, 1, 3, 5, {5, 5, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0}, 1, 1};
    run_conv_case(&c, 9);
}

TEST(conv_rejects_bad_output)
{
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = 2;
    rt_tensor *x = TT_RAND(1, 1, 2, 5, 5), *w = TT_RAND(2, 3, 2, 3, 3), *y = TT_NEW(RT_F32, 1, 3, 5, 5);
    rt_tensor *in[2] = {x, w};
    CHECK(tt_run_fails(OP_CONV, &a, in, 2, y, "output size 5, expected 3"));
    a.groups = 2;
    CHECK(tt_run_fails(OP_CONV, &a, in, 2, y, "groups 2 must divide"));
    tt_free(x), tt_free(w), tt_free(y);
}

/* ------------------------------------------------------------ conv_t */

static void naive_conv_t(const conv_case *cc, const rt_tensor *x, const rt_tensor *w,
                         const rt_tensor *b, rt_tensor *y)
{
    int64_t I[3], O[3], K[3], S[3], P[3], D[3], osp[3];
    for (int i = 0; i < cc->nsp; i++)
        osp[i] = y->type.dim[2 + i];
    to3(cc->in, cc->nsp, 1, I);
    to3(osp, cc->nsp, 1, O);
    to3i(cc->k, cc->nsp, 1, K);
    to3i(cc->s, cc->nsp, 1, S);
    to3i(cc->p, cc->nsp, 0, P);
    to3i(cc->d, cc->nsp, 1, D);
    int64_t cig = cc->cin / cc->groups, cog = cc->cout / cc->groups, onum = O[0] * O[1] * O[2];
    double *acc = seg_xcalloc((size_t)(cc->n * cc->cout * onum), sizeof(double));
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t ci = 0; ci < cc->cin; ci++)
            for (int64_t iz = 0; iz < I[0]; iz++)
                for (int64_t iy = 0; iy < I[1]; iy++)
                    for (int64_t ix = 0; ix < I[2]; ix++)
                        for (int64_t co = 0; co < cog; co++)
                            for (int64_t kz = 0; kz < K[0]; kz++)
                                for (int64_t ky = 0; ky < K[1]; ky++)
                                    for (int64_t kx = 0; kx < K[2]; kx++) {
                                        int64_t oz = iz * S[0] - P[0] + kz * D[0];
                                        int64_t oy = iy * S[1] - P[1] + ky * D[1];
                                        int64_t ox = ix * S[2] - P[2] + kx * D[2];
                                        if (oz < 0 || oz >= O[0] || oy < 0 || oy >= O[1] ||
                                            ox < 0 || ox >= O[2])
                                            continue;
                                        int64_t oc = ci / cig * cog + co;
                                        int64_t xi = (((n * cc->cin + ci) * I[0] + iz) * I[1] + iy) * I[2] + ix;
                                        int64_t wi = (((ci * cog + co) * K[0] + kz) * K[1] + ky) * K[2] + kx;
                                        acc[((n * cc->cout + oc) * O[0] + oz) * O[1] * O[2] + oy * O[2] + ox] +=
                                            (double)rt_f32(x)[xi] * rt_f32(w)[wi];
                                    }
    for (int64_t i = 0; i < cc->n * cc->cout * onum; i++)
        rt_f32(y)[i] = (float)(acc[i] + (b ? rt_f32(b)[i / onum % cc->cout] : 0));
    seg_free(acc);
}

static void run_conv_t_case(const conv_case *cc, uint32_t seed)
{
    rt_attrs a;
    case_attrs(cc, &a);
    int64_t osp[3] = {1, 1, 1}, kk[3] = {cc->k[0], cc->k[1], cc->k[2]};
    for (int i = 0; i < cc->nsp; i++)
        osp[i] = (cc->in[i] - 1) * cc->s[i] - 2 * cc->p[i] + (int64_t)cc->d[i] * (cc->k[i] - 1) +
                 cc->op[i] + 1;
    rt_tensor *x = make5(RT_F32, cc->nsp, cc->n, cc->cin, cc->in);
    rt_tensor *w = make5(RT_F32, cc->nsp, cc->cin, cc->cout / cc->groups, kk);
    rt_tensor *b = TT_RAND(seed + 2, cc->cout);
    rt_tensor *y = make5(RT_F32, cc->nsp, cc->n, cc->cout, osp);
    rt_tensor *want = tt_like(y);
    uint32_t st = seed;
    for (int64_t i = 0; i < rt_type_numel(&x->type); i++)
        rt_f32(x)[i] = tt_uniform(&st);
    for (int64_t i = 0; i < rt_type_numel(&w->type); i++)
        rt_f32(w)[i] = tt_uniform(&st);
    rt_tensor *in[3] = {x, w, b};
    tt_run(OP_CONV_T, &a, in, cc->bias ? 3 : 2, y);
    naive_conv_t(cc, x, w, cc->bias ? b : NULL, want);
    CHECK_TENSOR(y, want, 1e-5);
    tt_free(x), tt_free(w), tt_free(b), tt_free(y), tt_free(want);
}

TEST(conv_t_cases)
{
    long live = seg_alloc_live();
    conv_case a = {1, 2, 4, 6, {5}, {3}, {2}, {1}, {1}, {1}, 2, 1};
    run_conv_t_case(&a, 11);
    conv_case b = {2, 2, 4, 6, {4, 5}, {2, 2}, {2, 2}, {0, 0}, {1, 1}, {0, 0}, 1, 1}; /* U-Net up */
    run_conv_t_case(&b, 12);
    conv_case c = {2, 2, 4, 2, {3, 4}, {3, 3}, {2, 3}, {1, 0}, {1, 2}, {1, 2}, 2, 0};
    run_conv_t_case(&c, 13);
    conv_case d = {3, 2, 4, 4, {3, 4, 3}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}, {0, 1, 0}, 1, 1};
    run_conv_t_case(&d, 14);
    conv_case e = {3, 2, 4, 6, {3, 3, 4}, {3, 2, 3}, {2, 1, 3}, {1, 0, 1}, {1, 2, 1}, {1, 0, 2}, 2, 1};
    run_conv_t_case(&e, 15);
    CHECK_INT(seg_alloc_live(), live);
}

/* --------------------------------------------------- column transforms */

static void make_geom(ops_geom *g)
{
    int64_t img[3] = {5, 6, 7}, grid[3] = {3, 3, 4}, k[3] = {3, 2, 3};
    int s[3] = {2, 2, 2}, p[3] = {1, 0, 1}, d[3] = {1, 2, 1};
    ops_geom_init(g, 3, img, grid, k, s, p, d);
}

TEST(vol2col_chunks_match_whole)
{
    ops_geom g;
    make_geom(&g);
    int64_t ch = 2, rows = ch * ops_geom_kvol(&g), np = ops_geom_npos(&g);
    rt_tensor *img = TT_RAND(21, ch, 5, 6, 7);
    float *whole = seg_xcalloc((size_t)(rows * np), sizeof(float));
    float *part = seg_xcalloc((size_t)(rows * np), sizeof(float));
    ops_vol2col(&g, rt_f32(img), ch, 0, np, whole);
    int bad = 0;
    for (int64_t q0 = 0; q0 < np; q0 += 7) {
        int64_t nq = np - q0 < 7 ? np - q0 : 7;
        ops_vol2col(&g, rt_f32(img), ch, q0, nq, part);
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < nq; j++)
                bad += part[r * nq + j] != whole[r * np + q0 + j];
    }
    CHECK_INT(bad, 0);
    seg_free(whole), seg_free(part), tt_free(img);
}

TEST(col2vol_is_adjoint_of_vol2col)
{
    ops_geom g;
    make_geom(&g);
    int64_t ch = 2, rows = ch * ops_geom_kvol(&g), np = ops_geom_npos(&g);
    rt_tensor *img = TT_RAND(22, ch, 5, 6, 7), *back = tt_like(img);
    rt_tensor *c = tt_rand(23, 2, (int64_t[]){rows, np});
    float *col = seg_xcalloc((size_t)(rows * np), sizeof(float));
    ops_vol2col(&g, rt_f32(img), ch, 0, np, col);
    /* col2vol in two chunks: positions [0, 5) and [5, np) */
    float *rest = seg_xcalloc((size_t)(rows * (np - 5)), sizeof(float));
    for (int64_t r = 0; r < rows; r++)
        memcpy(rest + r * (np - 5), rt_f32(c) + r * np + 5, (size_t)(np - 5) * sizeof(float));
    float *first = seg_xcalloc((size_t)(rows * 5), sizeof(float));
    for (int64_t r = 0; r < rows; r++)
        memcpy(first + r * 5, rt_f32(c) + r * np, 5 * sizeof(float));
    ops_col2vol(&g, first, ch, 0, 5, rt_f32(back));
    ops_col2vol(&g, rest, ch, 5, np - 5, rt_f32(back));
    double lhs = 0, rhs = 0;
    for (int64_t i = 0; i < rows * np; i++)
        lhs += (double)col[i] * rt_f32(c)[i];
    for (int64_t i = 0; i < rt_type_numel(&img->type); i++)
        rhs += (double)rt_f32(img)[i] * rt_f32(back)[i];
    CHECK_NEAR(lhs, rhs, 1e-6); /* col2vol sums in float */
    seg_free(col), seg_free(rest), seg_free(first);
    tt_free(img), tt_free(back), tt_free(c);
}

TEST(col_chunk_bounds_buffer)
{
    CHECK_INT(ops_col_chunk(864, 262144), OPS_COL_BYTES / (4 * 864));
    CHECK_INT(ops_col_chunk(27, 100), 100);
    CHECK_INT(ops_col_chunk((int64_t)1 << 40, 100), 1);
}
