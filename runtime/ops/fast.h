/* fast.h — what the fast kernels (runtime/ops/fast*.c) share, and nothing
 * outside runtime/ops includes.
 *
 * Each kernel is an rt_fast_fn (runtime.h "fast kernels"): it trusts
 * rt_fast_kernel_for (fast.c) to have checked dtypes, ranks and attrs
 * against the program's types, writes every element of out, and splits its
 * work with rt_pool_run so that each output element is computed by exactly
 * one task with the same operations whatever the thread count.
 *
 * The row primitives are written in blocks of 8 with a fixed inner trip
 * count, the shape gcc -O2 (cheap vectoriser cost model) turns into SIMD.
 */
#ifndef SEGC_FAST_H
#define SEGC_FAST_H

#include "runtime/ops/ops_internal.h"

/* fast_upsample.c, fast_upsample_bwd.c */
int rt_fast_upsample(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                     rt_error *err);
int rt_fast_upsample_bwd(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                         rt_pool *pool, rt_error *err);
/* fast_pool.c, fast_pool_bwd.c */
int rt_fast_maxpool(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                    rt_error *err);
int rt_fast_avgpool(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                    rt_error *err);
int rt_fast_maxpool_bwd(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                        rt_pool *pool, rt_error *err);
int rt_fast_avgpool_bwd(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                        rt_pool *pool, rt_error *err);
/* fast_move.c */
int rt_fast_concat(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                   rt_error *err);
int rt_fast_slice(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                  rt_error *err);
int rt_fast_slice_bwd(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                      rt_error *err);
/* fast_norm.c */
int rt_fast_batchnorm(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                      rt_error *err);
int rt_fast_batchnorm_bwd_data(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                               rt_pool *pool, rt_error *err);
int rt_fast_batchnorm_bwd_gamma(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                                rt_pool *pool, rt_error *err);
/* fast_reduce.c */
int rt_fast_softmax(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out, rt_pool *pool,
                    rt_error *err); /* and log_softmax */
int rt_fast_global_avgpool(const rt_instr *ins, rt_tensor *const *in, rt_tensor *out,
                           rt_pool *pool, rt_error *err);

/* fast_row.c: rows of n floats; d does not overlap a or b. */
void rt_fast_row_blend(float *d, const float *a, const float *b, float wa, float wb, int64_t n);
                                                    /* d = wa * a + wb * b */
void rt_fast_row_scale(float *d, const float *a, float w, int64_t n);  /* d = w * a */
void rt_fast_row_axpy(float *d, const float *a, float w, int64_t n);   /* d += w * a */
void rt_fast_row_fill(float *d, float v, int64_t n);                   /* d = v */

/* The geometry of a pooling instruction (fast_pool.c): image = the
 * full-resolution side (x, dx), grid = the pooled side (y, dy). */
void rt_fast_pool_geom(const rt_attrs *a, const rt_type *img, const rt_type *grid, ops_geom *g);
/* The image rows (plane offsets) that output row (oz, oy) reads, z-major,
 * into rows[0, k[0] * k[1]); returns how many lie inside the image. */
int rt_fast_pool_rows(const ops_geom *g, int64_t oz, int64_t oy, int64_t *rows);
/* x kernel 2, stride 2, no padding or dilation: windows are column pairs. */
int rt_fast_pool_x_is_pairs(const ops_geom *g);

#endif
