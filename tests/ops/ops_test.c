/* ops_test.c — the helpers declared in ops_test.h. */
#include "tests/ops/ops_test.h"

#include <string.h>

rt_tensor *tt_new(rt_dtype dt, int rank, const int64_t *dim)
{
    rt_type t = {dt, rank, {0}};
    memcpy(t.dim, dim, (size_t)rank * sizeof(int64_t));
    return rt_tensor_new(&t);
}

float tt_uniform(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return (float)(x >> 8) * 0x1p-23f - 1.0f;
}

rt_tensor *tt_rand(uint32_t seed, int rank, const int64_t *dim)
{
    rt_tensor *t = tt_new(RT_F32, rank, dim);
    uint32_t s = seed * 2654435761u + 1;
    int64_t n = rt_type_numel(&t->type);
    for (int64_t i = 0; i < n; i++)
        rt_f32(t)[i] = tt_uniform(&s);
    return t;
}

rt_tensor *tt_like(const rt_tensor *t) { return rt_tensor_new(&t->type); }

int tt_run_at(const char *file, int line, rt_op op, const rt_attrs *a, rt_tensor **in, int n,
              rt_tensor *out, uint64_t step)
{
    rt_error err = {{0}};
    rt_ctx ctx = {step, 1, &err};
    int rc = rt_kernel_run(op, a, in, n, out, &ctx);
    if (rc != 0)
        test_fail_at(file, line, "%s failed: %s", rt_op_table[op].name, err.msg);
    return rc;
}

int tt_run_fails(rt_op op, const rt_attrs *a, rt_tensor **in, int n, rt_tensor *out,
                 const char *want)
{
    rt_error err = {{0}};
    rt_ctx ctx = {0, 1, &err};
    int rc = rt_kernel_run(op, a, in, n, out, &ctx);
    if (rc == 0)
        return 0;
    if (!strstr(err.msg, want)) {
        printf("    (error was: %s)\n", err.msg);
        return 0;
    }
    return 1;
}

static double value_at(const rt_tensor *t, int64_t i)
{
    switch (t->type.dtype) {
    case RT_F32: return rt_f32(t)[i];
    case RT_I32: return rt_i32(t)[i];
    default: return rt_u8(t)[i];
    }
}

void tt_check_close(const char *file, int line, const rt_tensor *got, const rt_tensor *want,
                    double tol)
{
    char a[96], b[96];
    if (!rt_type_equal(&got->type, &want->type)) {
        test_fail_at(file, line, "type %s != %s", rt_type_str(&got->type, a, sizeof a),
                     rt_type_str(&want->type, b, sizeof b));
        return;
    }
    int64_t n = rt_type_numel(&got->type);
    for (int64_t i = 0; i < n; i++) {
        double g = value_at(got, i), w = value_at(want, i);
        double sc = fabs(w) > 1 ? fabs(w) : 1;
        if ((g != g) && (w != w))
            continue;
        if (!(fabs(g - w) <= tol * sc)) {
            test_fail_at(file, line, "element %lld: got %.9g, want %.9g (tol %g)", (long long)i,
                         g, w, tol);
            return;
        }
    }
}

void tt_free(rt_tensor *t) { rt_tensor_free(t); }

void tt_unravel(const rt_type *t, int64_t i, int64_t *idx)
{
    for (int a = t->rank - 1; a >= 0; a--) {
        idx[a] = i % t->dim[a];
        i /= t->dim[a];
    }
}

int64_t tt_ravel(const rt_type *t, const int64_t *idx)
{
    int64_t i = 0;
    for (int a = 0; a < t->rank; a++)
        i = i * t->dim[a] + idx[a];
    return i;
}

int64_t tt_bcast_index(const rt_type *src, int out_rank, const int64_t *idx)
{
    int64_t i = 0;
    for (int a = 0; a < src->rank; a++) {
        int64_t j = idx[a + out_rank - src->rank];
        i = i * src->dim[a] + (src->dim[a] == 1 ? 0 : j);
    }
    return i;
}
