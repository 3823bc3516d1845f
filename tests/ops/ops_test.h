/* ops_test.h — helpers shared by the reference-kernel tests in tests/ops.
 *
 * Tensors are made with TT_NEW(dtype, dims...), filled with a fixed
 * xorshift generator (independent of the runtime's Philox) and compared
 * element by element with CHECK_TENSOR, which reports the first mismatch
 * with its flat index. tt_run calls rt_kernel_run and reports a kernel
 * error as a test failure.
 */
#ifndef SEGC_OPS_TEST_H
#define SEGC_OPS_TEST_H

#include "runtime/runtime.h"
#include "tests/unit/test.h"

#include <stdint.h>

#define TT_DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define TT_RANK(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
/* A zeroed tensor of the given dtype and dims. */
#define TT_NEW(dt, ...) tt_new((dt), TT_RANK(__VA_ARGS__), TT_DIMS(__VA_ARGS__))
/* An f32 tensor filled with uniform values in [-1, 1) from seed. */
#define TT_RAND(seed, ...) tt_rand((seed), TT_RANK(__VA_ARGS__), TT_DIMS(__VA_ARGS__))

rt_tensor *tt_new(rt_dtype dt, int rank, const int64_t *dim);
rt_tensor *tt_rand(uint32_t seed, int rank, const int64_t *dim);
rt_tensor *tt_like(const rt_tensor *t); /* zeroed, same type */
/* Uniform float in [-1, 1) from *state (xorshift32). */
float tt_uniform(uint32_t *state);

/* Run op on in[0..n) into out at the given step; errors become failures
 * (tagged with the caller's line). Returns the kernel's result. */
int tt_run_at(const char *file, int line, rt_op op, const rt_attrs *a, rt_tensor **in, int n,
              rt_tensor *out, uint64_t step);
#define tt_run(op, a, in, n, out) tt_run_at(__FILE__, __LINE__, (op), (a), (in), (n), (out), 0)
#define tt_run_step(op, a, in, n, out, step) \
    tt_run_at(__FILE__, __LINE__, (op), (a), (in), (n), (out), (step))
/* Run expecting failure: 1 when the kernel failed with a message that
 * contains want, else 0 (a wrong message is printed). */
int tt_run_fails(rt_op op, const rt_attrs *a, rt_tensor **in, int n, rt_tensor *out,
                 const char *want);

/* Elementwise |got - want| <= tol * max(1, |want|) (NaN matches NaN). */
void tt_check_close(const char *file, int line, const rt_tensor *got, const rt_tensor *want,
                    double tol);
#define CHECK_TENSOR(got, want, tol) tt_check_close(__FILE__, __LINE__, (got), (want), (tol))

void tt_free(rt_tensor *t);

/* Flat index <-> multi-index of a row-major shape. */
void tt_unravel(const rt_type *t, int64_t i, int64_t *idx);
int64_t tt_ravel(const rt_type *t, const int64_t *idx);
/* Flat index into src of output multi-index idx (rank out_rank) under
 * NumPy broadcasting (right-aligned; size-1 axes read index 0). */
int64_t tt_bcast_index(const rt_type *src, int out_rank, const int64_t *idx);

#endif
