/* ops_internal.h — what the reference kernels in runtime/ops/ share, and
 * nothing outside runtime/ops includes.
 *
 * - ops_call: one kernel invocation (op, attrs, inputs, output, context),
 *   so every kernel has the signature int ops_xxx(const ops_call *c) and
 *   returns 0, or -1 after ops_fail() filled ctx->err.
 * - ops_iter: a strided broadcast iterator. Up to OPS_MAX_OPERANDS
 *   operands are walked over one iteration shape, each with its own element
 *   strides (0 on broadcast axes). Adjacent axes that are contiguous for
 *   every operand are merged and size-1 axes dropped, so equal shapes and
 *   scalar operands become a single long row: that is the fast path. The
 *   iterator hands out whole rows (innermost axis) with one offset per
 *   operand; the caller loops over the row with the inner strides.
 * - ops_geom and vol2col/col2vol: the spatial geometry of convolutions
 *   (1-3 spatial dims, padded in front to 3) and the column transforms that
 *   conv (gather) and conv_t (scatter-add) build on.
 * - the kernel entry points called by dispatch.c.
 */
#ifndef SEGC_OPS_INTERNAL_H
#define SEGC_OPS_INTERNAL_H

#include "runtime/runtime.h"

/* One kernel invocation, as rt_kernel_run received it. */
typedef struct ops_call {
    rt_op op;               /* which op (kernels shared by several ops switch on it) */
    const rt_attrs *a;      /* attributes */
    rt_tensor *const *in;   /* inputs in[0..n_in) */
    int n_in;               /* number of inputs */
    rt_tensor *out;         /* result: type set, data allocated */
    rt_ctx *ctx;            /* step, thread budget, error sink */
} ops_call;

/* Set ctx->err to "OPNAME: message" and return -1. */
int ops_fail(const ops_call *c, const char *fmt, ...) SEG_PRINTF(2, 3);
/* Fail unless t has dtype want; what names the operand ("input", "weight"). */
int ops_want_dtype(const ops_call *c, const rt_tensor *t, rt_dtype want, const char *what);
/* Fail unless t has rank want. */
int ops_want_rank(const ops_call *c, const rt_tensor *t, int want, const char *what);
/* Value of element i of any dtype, as double (for the generic slow paths). */
double ops_load(const rt_tensor *t, int64_t i);
/* Store v into element i, converting like a C cast (f32 -> int truncates). */
void ops_store(rt_tensor *t, int64_t i, double v);

/* ------------------------------------------------------ strided iterator */

#define OPS_MAX_OPERANDS 4 /* where() has the most: out, cond, a, b */

typedef struct ops_iter {
    int n;                                        /* operands */
    int rank;                                     /* axes after merging, >= 1 */
    int64_t dim[RT_MAX_RANK];                     /* iteration shape, innermost last */
    int64_t stride[OPS_MAX_OPERANDS][RT_MAX_RANK];/* element strides per operand */
    int64_t idx[RT_MAX_RANK];                     /* position of the current row */
    int64_t off[OPS_MAX_OPERANDS];                /* element offsets of the current row */
    int64_t len;                                  /* row length (= dim[rank-1]) */
    int64_t inner[OPS_MAX_OPERANDS];              /* strides along the row */
    int64_t rows_left;                            /* rows not yet handed out */
    int started;                                  /* the first row was handed out */
} ops_iter;

/* Contiguous row-major strides of t into s[0..rank). */
void ops_strides_contig(const rt_type *t, int64_t *s);
/* Strides that read src broadcast (NumPy rules, right-aligned) to the
 * shape dim[0..rank): 0 on broadcast axes. -1 if src does not broadcast. */
int ops_strides_bcast(const rt_type *src, int rank, const int64_t *dim, int64_t *s);
/* Set up an iteration of shape dim[0..rank) over n operands whose strides
 * are strides[k][0..rank). rank 0 (a scalar) is one row of length 1. */
void ops_iter_init(ops_iter *it, int rank, const int64_t *dim, int n,
                   int64_t strides[][RT_MAX_RANK]);
/* Advance to the next row; 0 when all rows are done. Call before the first. */
int ops_iter_next(ops_iter *it);
/* dst (contiguous, shape dim[0..rank)) = src read with strides s, starting
 * at src; elements of esize bytes. Slice, permute and broadcast use it. */
void ops_copy_strided(void *dst, const void *src, size_t esize, int rank,
                      const int64_t *dim, const int64_t *s);

/* ---------------------------------------------- convolution geometry */

/* Spatial geometry of a convolution-like op, always 3 axes (D, H, W):
 * a 1-D or 2-D op has size-1 leading axes with kernel 1, stride 1, pad 0.
 * Column position q = (oz, oy, ox) on the grid `out` taps image position
 * o * s - p + k * d for kernel offset k, per axis. */
typedef struct ops_geom {
    int64_t in[3];  /* image size (conv: input; conv_t: output) */
    int64_t out[3]; /* column grid (conv: output; conv_t: input) */
    int64_t k[3];   /* kernel size */
    int64_t s[3];   /* stride */
    int64_t p[3];   /* symmetric padding */
    int64_t d[3];   /* dilation */
} ops_geom;

/* Fill g from attrs-style arrays indexed 0..nsp (innermost last);
 * img and grid are the spatial dims of the image and of the grid. */
void ops_geom_init(ops_geom *g, int nsp, const int64_t *img, const int64_t *grid,
                   const int64_t *k, const int *s, const int *p, const int *d);
int64_t ops_geom_kvol(const ops_geom *g);  /* kernel elements */
/* Kernel offsets [*k0, *k1) of axis j whose taps o * s - p + k * d of grid
 * position o fall inside the image (pools skip the padding this way). */
void ops_geom_window(const ops_geom *g, int j, int64_t o, int64_t *k0, int64_t *k1);
int64_t ops_geom_npos(const ops_geom *g);  /* grid positions */
/* Column positions per chunk so that a [rows, chunk] f32 buffer stays
 * within OPS_COL_BYTES (at least 1, at most npos). */
int64_t ops_col_chunk(int64_t rows, int64_t npos);
#define OPS_COL_BYTES ((int64_t)256 << 20) /* column buffer limit: 256 MB */
/* col[r, j] (row length nq) = img tapped by row r = (c, kz, ky, kx) at
 * grid position q0 + j, 0 where the tap falls in the padding. img holds
 * `channels` planes of in[0]*in[1]*in[2]. */
void ops_vol2col(const ops_geom *g, const float *img, int64_t channels, int64_t q0,
                 int64_t nq, float *col);
/* The adjoint: img[tap of (r, q0 + j)] += col[r, j], padding taps dropped. */
void ops_col2vol(const ops_geom *g, const float *col, int64_t channels, int64_t q0,
                 int64_t nq, float *img);

/* --------------------------------------------------- upsample tables */

/* Output index -> two source indices and their weights, for one axis
 * (upsample_axis.c; shared by the forward and backward kernels). */
typedef struct ops_up_axis {
    int64_t *i0, *i1; /* source indices (i1 = i0 for nearest) */
    float *l0, *l1;   /* weights (1, 0 for nearest) */
    int copy;         /* one source, weight 1: nearest, or an axis added to reach 3-D */
} ops_up_axis;

/* Tables for in -> out along one axis; added = an axis padded in to reach 3-D. */
void ops_up_axis_init(ops_up_axis *t, int mode, int64_t in, int64_t out, int added);
void ops_up_axis_free(ops_up_axis *t);

/* -------------------------------------------------------------- kernels */

int ops_const(const ops_call *c);          /* const */
int ops_identity(const ops_call *c);       /* stop_grad */
int ops_conv(const ops_call *c);           /* conv.c */
int ops_conv_t(const ops_call *c);         /* conv_t.c */
int ops_maxpool(const ops_call *c);        /* pool.c */
int ops_avgpool(const ops_call *c);
int ops_global_avgpool(const ops_call *c);
int ops_upsample(const ops_call *c);       /* upsample.c */
int ops_batchnorm(const ops_call *c);      /* norm.c */
int ops_dropout(const ops_call *c);        /* dropout.c */
int ops_concat(const ops_call *c);         /* movement.c */
int ops_slice(const ops_call *c);
int ops_reshape(const ops_call *c);
int ops_permute(const ops_call *c);
int ops_broadcast(const ops_call *c);
int ops_cast(const ops_call *c);
int ops_one_hot(const ops_call *c);
int ops_binary(const ops_call *c);         /* elementwise.c: add..ne */
int ops_where(const ops_call *c);
int ops_unary(const ops_call *c);          /* neg..clamp */
int ops_reduce(const ops_call *c);         /* reduce.c: sum, mean, max */
int ops_softmax(const ops_call *c);        /* softmax, log_softmax */
int ops_argmax(const ops_call *c);
int ops_matmul(const ops_call *c);         /* matmul.c */
int ops_random(const ops_call *c);         /* random.c: rand_uniform/normal/bernoulli */

int ops_fused(const ops_call *c);

#endif
