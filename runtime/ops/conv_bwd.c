/* conv_bwd.c — the two gradients of a convolution: conv_bwd_data (dy,
 * weight -> dx) and conv_bwd_weight (x, dy -> dweight), 1-3 spatial axes,
 * stride, symmetric padding, dilation, groups; PyTorch's gradients.
 *
 * Both reuse conv.c's column transforms. With W_g the group's
 * [Cout_g, Cin_g * kvol] block of the weight, dy_g its [Cout_g, P] output
 * gradient planes and col = vol2col(x_g) the [Cin_g * kvol, P] column
 * matrix of its input planes (P = grid positions):
 *     dx_g = col2vol(W_g^T x dy_g)                 (the conv_t algorithm)
 *     dW_g = sum over samples n of dy_g x col^T    (sgemm with beta = 1)
 * per sample and group. Columns are built in chunks of grid positions that
 * keep the buffer under OPS_COL_BYTES; a 1x1 convolution with stride 1, no
 * padding and equal image and grid sizes needs no column matrix at all.
 * The weight gradient accumulates samples, groups and chunks in a fixed
 * order, so with a fixed BLAS thread count it is deterministic.
 *
 * Roles are read from the types alone: the image-side tensor ("x") is
 * [N, B, img...], the grid-side one ("dy") [N, A, grid...] and the weight
 * [A, B / groups, k...], groups splitting both A and B. That is a conv's
 * (x, dy, w) and equally a conv_t's (output gradient, x, w), whose weight
 * [Cin, Cout / groups, k...] is the weight of the adjoint convolution; so
 * conv_bwd_weight(g, x) with conv_t's attrs is conv_t's weight gradient.
 * The grid size must be either the conv output size of the image, or the
 * image must be the conv_t output size of the grid (out_pad included).
 */
#include "runtime/ops/ops_backward.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

/* Everything a backward convolution call needs, checked. */
typedef struct cbwd_dims {
    int64_t n, groups; /* batch, groups */
    int64_t cin_g;     /* image-side channels per group (B / groups) */
    int64_t cout_g;    /* grid-side channels per group (A / groups) */
    int64_t rows;      /* cin_g * kvol: rows of the column matrix */
    ops_geom g;        /* image = x role, grid = dy role */
} cbwd_dims;

static int cbwd_check_types(const ops_call *c, const rt_tensor *x, const rt_tensor *dy,
                            const rt_tensor *w)
{
    int nsp = c->a->nsp, groups = c->a->groups;
    if (nsp < 1 || nsp > 3)
        return ops_fail(c, "spatial rank %d is not 1..3", nsp);
    if (ops_want_dtype(c, x, RT_F32, "input") || ops_want_dtype(c, dy, RT_F32, "gradient") ||
        ops_want_dtype(c, w, RT_F32, "weight") || ops_want_rank(c, x, nsp + 2, "input") ||
        ops_want_rank(c, dy, nsp + 2, "gradient") || ops_want_rank(c, w, nsp + 2, "weight"))
        return -1;
    int64_t a = w->type.dim[0], b = x->type.dim[1];
    if (x->type.dim[0] != dy->type.dim[0])
        return ops_fail(c, "input batch %lld differs from gradient batch %lld",
                        (long long)x->type.dim[0], (long long)dy->type.dim[0]);
    if (groups < 1 || a % groups || b % groups)
        return ops_fail(c, "groups %d must divide channels %lld and %lld", groups, (long long)a,
                        (long long)b);
    if (dy->type.dim[1] != a || w->type.dim[1] != b / groups)
        return ops_fail(c, "weight [%lld, %lld, ...] does not fit gradient channels %lld and "
                        "input channels %lld with %d groups", (long long)a,
                        (long long)w->type.dim[1], (long long)dy->type.dim[1], (long long)b, groups);
    return 0;
}

/* Grid size dy must be conv(img) or img must be conv_t(grid), per axis. */
static int cbwd_check_space(const ops_call *c, const rt_tensor *x, const rt_tensor *dy,
                            const rt_tensor *w)
{
    const rt_attrs *a = c->a;
    for (int i = 0; i < a->nsp; i++) {
        int64_t k = w->type.dim[2 + i], s = a->stride[i], p = a->pad[i], d = a->dilation[i];
        int64_t img = x->type.dim[2 + i], grid = dy->type.dim[2 + i];
        if (k < 1 || s < 1 || d < 1 || p < 0 || img < 1 || grid < 1)
            return ops_fail(c, "spatial axis %d: bad geometry", i);
        int64_t conv_grid = rt_conv_out_size(img, k, s, p, d);
        int64_t convt_img = rt_conv_t_out_size(grid, k, s, p, d, a->out_pad[i]);
        if (grid != conv_grid && img != convt_img)
            return ops_fail(c, "spatial axis %d: gradient size %lld does not fit input size %lld",
                            i, (long long)grid, (long long)img);
    }
    return 0;
}

static int cbwd_check(const ops_call *c, const rt_tensor *x, const rt_tensor *dy,
                      const rt_tensor *w, cbwd_dims *cd)
{
    if (cbwd_check_types(c, x, dy, w) || cbwd_check_space(c, x, dy, w))
        return -1;
    cd->n = x->type.dim[0];
    cd->groups = c->a->groups;
    cd->cin_g = x->type.dim[1] / cd->groups;
    cd->cout_g = w->type.dim[0] / cd->groups;
    ops_geom_init(&cd->g, c->a->nsp, x->type.dim + 2, dy->type.dim + 2, w->type.dim + 2,
                  c->a->stride, c->a->pad, c->a->dilation);
    cd->rows = cd->cin_g * ops_geom_kvol(&cd->g);
    if (cd->rows > INT_MAX || ops_geom_npos(&cd->g) > INT_MAX || cd->cout_g > INT_MAX)
        return ops_fail(c, "too large for one GEMM");
    return 0;
}

/* The image planes are the column matrix: 1x1 kernel, stride 1, no padding. */
static int is_pointwise(const ops_geom *g)
{
    for (int j = 0; j < 3; j++)
        if (g->k[j] != 1 || g->s[j] != 1 || g->p[j] != 0 || g->in[j] != g->out[j])
            return 0;
    return 1;
}

static int64_t img_plane(const cbwd_dims *cd) { return cd->g.in[0] * cd->g.in[1] * cd->g.in[2]; }

/* Zero an output that the kernel then accumulates into. */
static void zero_out(rt_tensor *t)
{
    int64_t n = rt_type_numel(&t->type);
    if (n > 0)
        memset(t->data, 0, (size_t)n * sizeof(float));
}

/* A column buffer for one chunk, or NULL when the op is pointwise. */
static float *col_new(const cbwd_dims *cd, int64_t *chunk)
{
    *chunk = ops_col_chunk(cd->rows, ops_geom_npos(&cd->g));
    if (is_pointwise(&cd->g))
        return NULL;
    return seg_xrealloc(NULL, (size_t)(cd->rows * *chunk) * sizeof(float));
}

/* ------------------------------------------------------ data gradient */

/* One group of one sample: dxg += col2vol(wg^T x dyg); dxg starts at 0. */
static void data_group(const cbwd_dims *cd, const float *dyg, const float *wg, float *dxg,
                       float *col, int64_t chunk)
{
    int64_t npos = ops_geom_npos(&cd->g);
    if (!col) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cd->rows, (int)npos,
                    (int)cd->cout_g, 1.0f, wg, (int)cd->rows, dyg, (int)npos, 0.0f, dxg,
                    (int)npos);
        return;
    }
    for (int64_t q0 = 0; q0 < npos; q0 += chunk) {
        int64_t nq = npos - q0 < chunk ? npos - q0 : chunk;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cd->rows, (int)nq,
                    (int)cd->cout_g, 1.0f, wg, (int)cd->rows, dyg + q0, (int)npos, 0.0f, col,
                    (int)nq);
        ops_col2vol(&cd->g, col, cd->cin_g, q0, nq, dxg);
    }
}

int ops_conv_bwd_data(const ops_call *c)
{
    cbwd_dims cd;
    if (cbwd_check(c, c->out, c->in[0], c->in[1], &cd) < 0)
        return -1;
    int64_t npos = ops_geom_npos(&cd.g), plane = img_plane(&cd), chunk;
    const float *dy = rt_f32(c->in[0]), *w = rt_f32(c->in[1]);
    float *dx = rt_f32(c->out);
    zero_out(c->out);
    float *col = col_new(&cd, &chunk);
    for (int64_t n = 0; n < cd.n; n++)
        for (int64_t gi = 0; gi < cd.groups; gi++) {
            const float *dyg = dy + (n * cd.groups + gi) * cd.cout_g * npos;
            float *dxg = dx + (n * cd.groups + gi) * cd.cin_g * plane;
            data_group(&cd, dyg, w + gi * cd.cout_g * cd.rows, dxg, col, chunk);
        }
    seg_free(col);
    if (c->n_in > 2) { /* a fused ReLU gradient: as where(y > 0, dx, 0) */
        if (!rt_type_equal(&c->in[2]->type, &c->out->type))
            return ops_fail(c, "the ReLU mask's type differs from dx's");
        const float *y = rt_f32(c->in[2]);
        for (int64_t i = 0, n = rt_type_numel(&c->out->type); i < n; i++)
            dx[i] = y[i] > 0 ? dx[i] : 0.0f;
    }
    return 0;
}

/* ---------------------------------------------------- weight gradient */

/* One group of one sample: dwg += dyg x vol2col(xg)^T. */
static void weight_group(const cbwd_dims *cd, const float *xg, const float *dyg, float *dwg,
                         float *col, int64_t chunk)
{
    int64_t npos = ops_geom_npos(&cd->g);
    if (!col) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cd->cout_g, (int)cd->rows,
                    (int)npos, 1.0f, dyg, (int)npos, xg, (int)npos, 1.0f, dwg, (int)cd->rows);
        return;
    }
    for (int64_t q0 = 0; q0 < npos; q0 += chunk) {
        int64_t nq = npos - q0 < chunk ? npos - q0 : chunk;
        ops_vol2col(&cd->g, xg, cd->cin_g, q0, nq, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cd->cout_g, (int)cd->rows,
                    (int)nq, 1.0f, dyg + q0, (int)npos, col, (int)nq, 1.0f, dwg, (int)cd->rows);
    }
}

int ops_conv_bwd_weight(const ops_call *c)
{
    cbwd_dims cd;
    if (cbwd_check(c, c->in[0], c->in[1], c->out, &cd) < 0)
        return -1;
    int64_t npos = ops_geom_npos(&cd.g), plane = img_plane(&cd), chunk;
    const float *x = rt_f32(c->in[0]), *dy = rt_f32(c->in[1]);
    float *dw = rt_f32(c->out);
    zero_out(c->out);
    float *col = col_new(&cd, &chunk);
    for (int64_t n = 0; n < cd.n; n++)
        for (int64_t gi = 0; gi < cd.groups; gi++) {
            const float *xg = x + (n * cd.groups + gi) * cd.cin_g * plane;
            const float *dyg = dy + (n * cd.groups + gi) * cd.cout_g * npos;
            weight_group(&cd, xg, dyg, dw + gi * cd.cout_g * cd.rows, col, chunk);
        }
    seg_free(col);
    return 0;
}
