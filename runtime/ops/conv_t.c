/* conv_t.c — transposed convolution (1-D, 2-D, 3-D), PyTorch's
 * ConvTransposeNd: weight [Cin, Cout/groups, k...], optional bias [Cout],
 * output size per axis (in - 1) * stride - 2 * pad + dilation * (k - 1)
 * + out_pad + 1 (rt_conv_t_out_size, next to rt_conv_out_size in conv.c).
 *
 * Algorithm: GEMM + col2im ("col2vol"), the adjoint of conv.c's scheme.
 * For each sample and group, col[Cout_g * kvol, P_in] = W_g^T x x_g, where
 * W_g is the group's [Cin_g, Cout_g * kvol] block of the weight and x_g
 * its [Cin_g, P_in] input planes; col2vol then scatter-adds every column
 * entry into the output position it contributes to (input position * stride
 * - pad + k * dilation), dropping those that land in the padding. The
 * output is pre-filled with the bias. Columns are built in chunks of input
 * positions that keep the buffer under OPS_COL_BYTES.
 */
#include "runtime/ops/ops_internal.h"

#include <cblas.h>
#include <limits.h>

/* Everything a transposed-convolution call needs, checked. */
typedef struct convt_dims {
    int64_t n, cin_g, cout_g, groups; /* batch, channels per group, groups */
    int64_t rows;                     /* cout_g * kvol: rows of the column matrix */
    ops_geom g;                       /* image = output, grid = input */
} convt_dims;

static int convt_check_in(const ops_call *c, const rt_tensor *x, const rt_tensor *w)
{
    int nsp = c->a->nsp, groups = c->a->groups;
    if (nsp < 1 || nsp > 3)
        return ops_fail(c, "spatial rank %d is not 1..3", nsp);
    if (ops_want_dtype(c, x, RT_F32, "input") || ops_want_dtype(c, w, RT_F32, "weight") ||
        ops_want_rank(c, x, nsp + 2, "input") || ops_want_rank(c, w, nsp + 2, "weight") ||
        ops_want_dtype(c, c->out, RT_F32, "output") ||
        ops_want_rank(c, c->out, nsp + 2, "output"))
        return -1;
    if (w->type.dim[0] != x->type.dim[1])
        return ops_fail(c, "weight has %lld input channels, input has %lld",
                        (long long)w->type.dim[0], (long long)x->type.dim[1]);
    if (groups < 1 || x->type.dim[1] % groups)
        return ops_fail(c, "groups %d must divide input channels %lld", groups,
                        (long long)x->type.dim[1]);
    if (c->out->type.dim[0] != x->type.dim[0] || c->out->type.dim[1] != w->type.dim[1] * groups)
        return ops_fail(c, "output must be [%lld, %lld, ...]", (long long)x->type.dim[0],
                        (long long)(w->type.dim[1] * groups));
    return 0;
}

static int convt_check_out(const ops_call *c, const rt_tensor *x, const rt_tensor *w, int64_t *img)
{
    const rt_attrs *a = c->a;
    for (int i = 0; i < a->nsp; i++) {
        img[i] = rt_conv_t_out_size(x->type.dim[2 + i], w->type.dim[2 + i], a->stride[i],
                                    a->pad[i], a->dilation[i], a->out_pad[i]);
        if (a->stride[i] < 1 || img[i] < 1 || c->out->type.dim[2 + i] != img[i])
            return ops_fail(c, "spatial axis %d: output size %lld, expected %lld", i,
                            (long long)c->out->type.dim[2 + i], (long long)img[i]);
    }
    return 0;
}

static int convt_check(const ops_call *c, convt_dims *cd)
{
    const rt_tensor *x = c->in[0], *w = c->in[1];
    int64_t img[3];
    if (convt_check_in(c, x, w) || convt_check_out(c, x, w, img))
        return -1;
    int64_t cout = c->out->type.dim[1];
    if (c->n_in > 2 && (ops_want_dtype(c, c->in[2], RT_F32, "bias") ||
                        rt_type_numel(&c->in[2]->type) != cout))
        return ops_fail(c, "bias must have %lld elements", (long long)cout);
    cd->n = x->type.dim[0];
    cd->groups = c->a->groups;
    cd->cin_g = x->type.dim[1] / cd->groups;
    cd->cout_g = w->type.dim[1];
    ops_geom_init(&cd->g, c->a->nsp, img, x->type.dim + 2, w->type.dim + 2, c->a->stride,
                  c->a->pad, c->a->dilation);
    cd->rows = cd->cout_g * ops_geom_kvol(&cd->g);
    if (cd->rows > INT_MAX || ops_geom_npos(&cd->g) > INT_MAX || cd->cin_g > INT_MAX)
        return ops_fail(c, "too large for one GEMM");
    return 0;
}

/* One group of one sample: yg += fold(wg^T x xg). */
static void convt_group(const convt_dims *cd, const float *xg, const float *wg, float *yg,
                        float *col, int64_t chunk)
{
    int64_t npos = ops_geom_npos(&cd->g);
    for (int64_t q0 = 0; q0 < npos; q0 += chunk) {
        int64_t nq = npos - q0 < chunk ? npos - q0 : chunk;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cd->rows, (int)nq,
                    (int)cd->cin_g, 1.0f, wg, (int)cd->rows, xg + q0, (int)npos, 0.0f, col,
                    (int)nq);
        ops_col2vol(&cd->g, col, cd->cout_g, q0, nq, yg);
    }
}

int ops_conv_t(const ops_call *c)
{
    convt_dims cd;
    if (convt_check(c, &cd) < 0)
        return -1;
    int64_t npos = ops_geom_npos(&cd.g);
    int64_t out_plane = cd.g.in[0] * cd.g.in[1] * cd.g.in[2];
    int64_t chunk = ops_col_chunk(cd.rows, npos), cout = cd.groups * cd.cout_g;
    float *col = seg_xrealloc(NULL, (size_t)(cd.rows * chunk) * sizeof(float));
    const float *x = rt_f32(c->in[0]), *w = rt_f32(c->in[1]);
    const float *bias = c->n_in > 2 ? rt_f32(c->in[2]) : NULL;
    float *y = rt_f32(c->out);
    for (int64_t i = 0; i < cd.n * cout; i++)
        for (int64_t q = 0; q < out_plane; q++)
            y[i * out_plane + q] = bias ? bias[i % cout] : 0.0f;
    for (int64_t n = 0; n < cd.n; n++)
        for (int64_t gi = 0; gi < cd.groups; gi++) {
            const float *xg = x + (n * cd.groups + gi) * cd.cin_g * npos;
            float *yg = y + (n * cd.groups + gi) * cd.cout_g * out_plane;
            convt_group(&cd, xg, w + gi * cd.cin_g * cd.rows, yg, col, chunk);
        }
    seg_free(col);
    return 0;
}
