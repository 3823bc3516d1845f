/* conv.c — convolution (1-D, 2-D, 3-D; stride, symmetric zero padding,
 * dilation, groups, optional bias) and the column transforms it shares with
 * conv_t.c.
 *
 * Algorithm: im2col ("vol2col") + GEMM. For each sample and each group the
 * input planes of the group are unfolded into a column matrix
 * col[Cin_g * kvol, P] (P = output positions), then
 *     y_g[Cout_g, P] (+)= W_g[Cout_g, Cin_g * kvol] x col
 * with cblas_sgemm, the output pre-filled with the bias (beta = 1). The
 * column matrix of a 3-D layer is kvol (27) times the input, so it is built
 * in chunks of output positions that keep it under OPS_COL_BYTES; each
 * chunk's sgemm writes its own columns of y (ldc = P). A 1x1 convolution
 * with stride 1 and no padding needs no unfolding: the input planes are the
 * column matrix.
 *
 * vol2col walks the grid one x-line at a time and works out, per kernel
 * offset, the x range whose taps lie inside the image, so the inner loops
 * carry no bounds tests. col2vol is its adjoint (scatter-add) and serves
 * conv_t and the data gradient of conv (conv_bwd.c).
 */
#include "runtime/ops/ops_internal.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

/* ---------------------------------------------------------- geometry */

void ops_geom_init(ops_geom *g, int nsp, const int64_t *img, const int64_t *grid,
                   const int64_t *k, const int *s, const int *p, const int *d)
{
    SEG_ASSERT(nsp >= 1 && nsp <= 3);
    for (int j = 0; j < 3; j++) {
        int i = j - (3 - nsp);
        int on = i >= 0;
        g->in[j] = on ? img[i] : 1;
        g->out[j] = on ? grid[i] : 1;
        g->k[j] = on ? k[i] : 1;
        g->s[j] = on ? s[i] : 1;
        g->p[j] = on ? p[i] : 0;
        g->d[j] = on ? d[i] : 1;
    }
}

int64_t ops_geom_kvol(const ops_geom *g) { return g->k[0] * g->k[1] * g->k[2]; }

void ops_geom_window(const ops_geom *g, int j, int64_t o, int64_t *k0, int64_t *k1)
{
    int64_t base = o * g->s[j] - g->p[j], d = g->d[j];
    *k0 = base >= 0 ? 0 : (-base + d - 1) / d;
    *k1 = g->in[j] - base <= 0 ? 0 : (g->in[j] - base + d - 1) / d;
    if (*k1 > g->k[j])
        *k1 = g->k[j];
}

int64_t rt_conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil)
{
    int64_t span = dil * (k - 1) + 1; /* input rows one window covers */
    if (stride < 1 || k < 1 || dil < 1 || pad < 0 || in + 2 * pad < span)
        return -1;
    return (in + 2 * pad - span) / stride + 1;
}

int64_t rt_conv_t_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil,
                           int64_t out_pad)
{
    return (in - 1) * stride - 2 * pad + dil * (k - 1) + out_pad + 1;
}
int64_t ops_geom_npos(const ops_geom *g) { return g->out[0] * g->out[1] * g->out[2]; }

int64_t ops_col_chunk(int64_t rows, int64_t npos)
{
    int64_t chunk = OPS_COL_BYTES / ((int64_t)sizeof(float) * (rows > 0 ? rows : 1));
    if (chunk < 1)
        chunk = 1;
    return chunk < npos ? chunk : npos;
}

/* --------------------------------------------------- vol2col, col2vol */

/* One grid x-line seen from one kernel offset. */
typedef struct col_line {
    int64_t j;      /* chunk column of ox = 0 (j + ox is the column of ox) */
    int64_t xa, xb; /* grid x range of this line inside the chunk */
    int64_t lo, hi; /* sub-range whose taps are inside the image; lo >= hi if none */
    int64_t img;    /* image offset of the tap row: tap of ox is img + ox * s[2] */
} col_line;

/* Grid x range [lo, hi) whose taps ox * s + b fall in [0, n). */
static void tap_range(int64_t b, int64_t s, int64_t n, int64_t *lo, int64_t *hi)
{
    *lo = b >= 0 ? 0 : (-b + s - 1) / s;
    *hi = n - 1 - b < 0 ? 0 : (n - 1 - b) / s + 1;
}

/* The line that holds chunk position *q (chunk starts at q0, ends at end);
 * b[] are the per-axis tap offsets k * d - p; advances *q past the line. */
static void line_at(const ops_geom *g, const int64_t b[3], int64_t q0, int64_t *q,
                    int64_t end, col_line *l)
{
    int64_t w = g->out[2], hw = g->out[1] * w;
    int64_t oz = *q / hw, oy = *q / w % g->out[1];
    l->xa = *q % w;
    l->xb = w < l->xa + end - *q ? w : l->xa + end - *q;
    l->j = *q - q0 - l->xa;
    *q += l->xb - l->xa;
    int64_t iz = oz * g->s[0] + b[0], iy = oy * g->s[1] + b[1];
    tap_range(b[2], g->s[2], g->in[2], &l->lo, &l->hi);
    if (iz < 0 || iz >= g->in[0] || iy < 0 || iy >= g->in[1])
        l->lo = l->hi = 0;
    l->lo = l->lo > l->xa ? l->lo : l->xa;
    l->hi = l->hi < l->xb ? l->hi : l->xb;
    l->img = (iz * g->in[1] + iy) * g->in[2] + b[2];
}

static void gather_row(const ops_geom *g, const int64_t b[3], const float *src, int64_t q0,
                       int64_t nq, float *dst)
{
    int64_t s = g->s[2];
    for (int64_t q = q0; q < q0 + nq;) {
        col_line l;
        line_at(g, b, q0, &q, q0 + nq, &l);
        int64_t x = l.xa;
        for (; x < l.lo; x++)
            dst[l.j + x] = 0;
        for (; x < l.hi; x++)
            dst[l.j + x] = src[l.img + x * s];
        for (; x < l.xb; x++)
            dst[l.j + x] = 0;
    }
}

static void scatter_row(const ops_geom *g, const int64_t b[3], const float *col, int64_t q0,
                        int64_t nq, float *dst)
{
    int64_t s = g->s[2];
    for (int64_t q = q0; q < q0 + nq;) {
        col_line l;
        line_at(g, b, q0, &q, q0 + nq, &l);
        for (int64_t x = l.lo; x < l.hi; x++)
            dst[l.img + x * s] += col[l.j + x];
    }
}

/* Calls gather_row or scatter_row for every row (c, kz, ky, kx). */
static void col_rows(const ops_geom *g, float *img, const float *cimg, int64_t channels,
                     int64_t q0, int64_t nq, float *col, const float *ccol)
{
    int64_t plane = g->in[0] * g->in[1] * g->in[2], r = 0;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t kz = 0; kz < g->k[0]; kz++)
            for (int64_t ky = 0; ky < g->k[1]; ky++)
                for (int64_t kx = 0; kx < g->k[2]; kx++, r++) {
                    int64_t b[3] = {kz * g->d[0] - g->p[0], ky * g->d[1] - g->p[1],
                                    kx * g->d[2] - g->p[2]};
                    if (col)
                        gather_row(g, b, cimg + c * plane, q0, nq, col + r * nq);
                    else
                        scatter_row(g, b, ccol + r * nq, q0, nq, img + c * plane);
                }
}

void ops_vol2col(const ops_geom *g, const float *img, int64_t channels, int64_t q0,
                 int64_t nq, float *col)
{
    col_rows(g, NULL, img, channels, q0, nq, col, NULL);
}

void ops_col2vol(const ops_geom *g, const float *col, int64_t channels, int64_t q0,
                 int64_t nq, float *img)
{
    col_rows(g, img, NULL, channels, q0, nq, NULL, col);
}

/* ------------------------------------------------------------ conv */

/* Everything a convolution call needs, checked. */
typedef struct conv_dims {
    int64_t n, cin_g, cout_g, groups; /* batch, channels per group, groups */
    int64_t rows;                     /* cin_g * kvol: GEMM inner dimension */
    ops_geom g;                       /* image = input, grid = output */
} conv_dims;

static int conv_check_weight(const ops_call *c, const rt_tensor *x, const rt_tensor *w)
{
    int nsp = c->a->nsp, groups = c->a->groups;
    if (nsp < 1 || nsp > 3)
        return ops_fail(c, "spatial rank %d is not 1..3", nsp);
    if (ops_want_dtype(c, x, RT_F32, "input") || ops_want_dtype(c, w, RT_F32, "weight") ||
        ops_want_rank(c, x, nsp + 2, "input") || ops_want_rank(c, w, nsp + 2, "weight"))
        return -1;
    if (groups < 1 || x->type.dim[1] % groups || w->type.dim[0] % groups)
        return ops_fail(c, "groups %d must divide input channels %lld and output channels %lld",
                        groups, (long long)x->type.dim[1], (long long)w->type.dim[0]);
    if (w->type.dim[1] != x->type.dim[1] / groups)
        return ops_fail(c, "weight has %lld input channels per group, input gives %lld",
                        (long long)w->type.dim[1], (long long)(x->type.dim[1] / groups));
    return 0;
}

static int conv_check_out(const ops_call *c, const rt_tensor *x, const rt_tensor *w, int64_t *grid)
{
    const rt_attrs *a = c->a;
    const rt_type *ot = &c->out->type;
    if (ops_want_dtype(c, c->out, RT_F32, "output") || ops_want_rank(c, c->out, a->nsp + 2, "output"))
        return -1;
    for (int i = 0; i < a->nsp; i++) {
        grid[i] = rt_conv_out_size(x->type.dim[2 + i], w->type.dim[2 + i], a->stride[i], a->pad[i],
                                   a->dilation[i]);
        if (grid[i] < 1 || ot->dim[2 + i] != grid[i])
            return ops_fail(c, "spatial axis %d: output size %lld, expected %lld", i,
                            (long long)ot->dim[2 + i], (long long)grid[i]);
    }
    if (ot->dim[0] != x->type.dim[0] || ot->dim[1] != w->type.dim[0])
        return ops_fail(c, "output must be [%lld, %lld, ...]", (long long)x->type.dim[0],
                        (long long)w->type.dim[0]);
    return 0;
}

static int conv_check(const ops_call *c, conv_dims *cd)
{
    const rt_tensor *x = c->in[0], *w = c->in[1];
    int64_t grid[3];
    if (conv_check_weight(c, x, w) || conv_check_out(c, x, w, grid))
        return -1;
    int biased = c->n_in - (c->a->residual != 0) > 2;
    if (biased && (ops_want_dtype(c, c->in[2], RT_F32, "bias") ||
                   rt_type_numel(&c->in[2]->type) != w->type.dim[0]))
        return ops_fail(c, "bias must have %lld elements", (long long)w->type.dim[0]);
    if (c->a->residual && (c->n_in < 3 || !rt_type_equal(&c->in[c->n_in - 1]->type, &c->out->type)))
        return ops_fail(c, "the residual must have the output's type");
    cd->n = x->type.dim[0];
    cd->groups = c->a->groups;
    cd->cin_g = x->type.dim[1] / cd->groups;
    cd->cout_g = w->type.dim[0] / cd->groups;
    ops_geom_init(&cd->g, c->a->nsp, x->type.dim + 2, grid, w->type.dim + 2, c->a->stride,
                  c->a->pad, c->a->dilation);
    cd->rows = cd->cin_g * ops_geom_kvol(&cd->g);
    if (cd->rows > INT_MAX || ops_geom_npos(&cd->g) > INT_MAX || cd->cout_g > INT_MAX)
        return ops_fail(c, "too large for one GEMM");
    return 0;
}

/* out[c, :] = bias[c] (or 0) for every channel of every sample. */
static void fill_bias(float *y, const float *bias, int64_t n, int64_t ch, int64_t plane)
{
    for (int64_t i = 0; i < n * ch; i++) {
        float v = bias ? bias[i % ch] : 0.0f;
        for (int64_t q = 0; q < plane; q++)
            y[i * plane + q] = v;
    }
}

static int is_pointwise(const ops_geom *g)
{
    for (int j = 0; j < 3; j++)
        if (g->k[j] != 1 || g->s[j] != 1 || g->p[j] != 0)
            return 0;
    return 1;
}

/* One group of one sample: yg[cout_g, P] += wg x unfold(xg). */
static void conv_group(const conv_dims *cd, const float *xg, const float *wg, float *yg,
                       float *col, int64_t chunk)
{
    int64_t npos = ops_geom_npos(&cd->g);
    if (is_pointwise(&cd->g)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cd->cout_g, (int)npos,
                    (int)cd->rows, 1.0f, wg, (int)cd->rows, xg, (int)npos, 1.0f, yg, (int)npos);
        return;
    }
    for (int64_t q0 = 0; q0 < npos; q0 += chunk) {
        int64_t nq = npos - q0 < chunk ? npos - q0 : chunk;
        ops_vol2col(&cd->g, xg, cd->cin_g, q0, nq, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cd->cout_g, (int)nq,
                    (int)cd->rows, 1.0f, wg, (int)cd->rows, col, (int)nq, 1.0f, yg + q0,
                    (int)npos);
    }
}

int ops_conv(const ops_call *c)
{
    conv_dims cd;
    if (conv_check(c, &cd) < 0)
        return -1;
    int64_t npos = ops_geom_npos(&cd.g);
    int64_t in_plane = cd.g.in[0] * cd.g.in[1] * cd.g.in[2];
    int64_t chunk = ops_col_chunk(cd.rows, npos);
    float *col = is_pointwise(&cd.g) ? NULL
                                     : seg_xrealloc(NULL, (size_t)(cd.rows * chunk) * sizeof(float));
    const float *x = rt_f32(c->in[0]), *w = rt_f32(c->in[1]);
    float *y = rt_f32(c->out);
    int biased = c->n_in - (c->a->residual != 0) > 2;
    fill_bias(y, biased ? rt_f32(c->in[2]) : NULL, cd.n, cd.groups * cd.cout_g, npos);
    for (int64_t n = 0; n < cd.n; n++)
        for (int64_t gi = 0; gi < cd.groups; gi++) {
            const float *xg = x + (n * cd.groups + gi) * cd.cin_g * in_plane;
            float *yg = y + (n * cd.groups + gi) * cd.cout_g * npos;
            conv_group(&cd, xg, w + gi * cd.cout_g * cd.rows, yg, col, chunk);
        }
    seg_free(col);
    if (c->a->residual) { /* a fused residual add: as the add op */
        const float *r = rt_f32(c->in[c->n_in - 1]);
        for (int64_t i = 0, n = rt_type_numel(&c->out->type); i < n; i++)
            y[i] = y[i] + r[i];
    }
    if (c->a->relu) /* a fused ReLU epilogue: as the relu op (NaN passes) */
        for (int64_t i = 0, n = rt_type_numel(&c->out->type); i < n; i++)
            y[i] = y[i] < 0 ? 0.0f : y[i];
    return 0;
}
