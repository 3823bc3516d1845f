/* matmul.c — matrix product with torch.matmul semantics:
 * [..., M, K] x [..., K, N] -> [..., M, N]; the batch axes broadcast with
 * NumPy rules; a 1-D left operand is a row [1, K] and a 1-D right operand a
 * column [K, 1], their unit axis dropped from the result.
 *
 * Algorithm: the strided iterator walks the broadcast batch shape with
 * each operand's matrix strides (0 on broadcast axes), and each batch
 * element is one cblas_sgemm. This file also answers which OpenBLAS is
 * linked (rt_blas_config, for segc --version).
 */
#include "runtime/ops/ops_internal.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

/* Operand shapes and the broadcast batch. */
typedef struct mm_dims {
    int64_t m, k, n;                /* per-matrix sizes */
    rt_type batch;                  /* broadcast batch shape */
    int64_t st[3][RT_MAX_RANK];     /* batch strides of out, a, b (elements) */
} mm_dims;

/* Batch dims of t (all but its last two axes, none for rank <= 2) as a type. */
static rt_type batch_of(const rt_type *t)
{
    rt_type b = {RT_F32, t->rank > 2 ? t->rank - 2 : 0, {0}};
    memcpy(b.dim, t->dim, (size_t)b.rank * sizeof(int64_t));
    return b;
}

static int mm_batch(const ops_call *c, mm_dims *d, const rt_type *ba, const rt_type *bb)
{
    d->batch.dtype = RT_F32;
    d->batch.rank = ba->rank > bb->rank ? ba->rank : bb->rank;
    for (int i = 0; i < d->batch.rank; i++) {
        int ia = i - (d->batch.rank - ba->rank), ib = i - (d->batch.rank - bb->rank);
        int64_t da = ia >= 0 ? ba->dim[ia] : 1, db = ib >= 0 ? bb->dim[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return ops_fail(c, "batch axes %lld and %lld do not broadcast", (long long)da,
                            (long long)db);
        d->batch.dim[i] = da == 1 ? db : da;
    }
    ops_strides_contig(&d->batch, d->st[0]);
    ops_strides_bcast(ba, d->batch.rank, d->batch.dim, d->st[1]);
    ops_strides_bcast(bb, d->batch.rank, d->batch.dim, d->st[2]);
    for (int i = 0; i < d->batch.rank; i++) {
        d->st[0][i] *= d->m * d->n;
        d->st[1][i] *= d->m * d->k;
        d->st[2][i] *= d->k * d->n;
    }
    return 0;
}

static int mm_check(const ops_call *c, mm_dims *d)
{
    const rt_type *at = &c->in[0]->type, *bt = &c->in[1]->type;
    if (ops_want_dtype(c, c->in[0], RT_F32, "left operand") ||
        ops_want_dtype(c, c->in[1], RT_F32, "right operand") ||
        ops_want_dtype(c, c->out, RT_F32, "output"))
        return -1;
    if (at->rank < 1 || bt->rank < 1)
        return ops_fail(c, "operands must have rank >= 1");
    d->m = at->rank == 1 ? 1 : at->dim[at->rank - 2];
    d->k = at->dim[at->rank - 1];
    d->n = bt->rank == 1 ? 1 : bt->dim[bt->rank - 1];
    int64_t kb = bt->rank == 1 ? bt->dim[0] : bt->dim[bt->rank - 2];
    if (kb != d->k)
        return ops_fail(c, "inner sizes %lld and %lld differ", (long long)d->k, (long long)kb);
    if (d->m > INT_MAX || d->n > INT_MAX || d->k > INT_MAX)
        return ops_fail(c, "too large for one GEMM");
    rt_type ba = batch_of(at), bb = batch_of(bt);
    if (mm_batch(c, d, &ba, &bb) < 0)
        return -1;
    rt_type want = d->batch;
    if (at->rank > 1)
        want.dim[want.rank++] = d->m;
    if (bt->rank > 1)
        want.dim[want.rank++] = d->n;
    if (!rt_type_equal(&want, &c->out->type)) {
        char s[96];
        return ops_fail(c, "output must be %s", rt_type_str(&want, s, sizeof s));
    }
    return 0;
}

int ops_matmul(const ops_call *c)
{
    mm_dims d;
    if (mm_check(c, &d) < 0)
        return -1;
    const float *a = rt_f32(c->in[0]), *b = rt_f32(c->in[1]);
    float *o = rt_f32(c->out);
    if (rt_type_numel(&c->out->type) == 0)
        return 0;
    if (d.k == 0) {
        memset(o, 0, (size_t)rt_type_numel(&c->out->type) * sizeof(float));
        return 0;
    }
    ops_iter it;
    ops_iter_init(&it, d.batch.rank, d.batch.dim, 3, d.st);
    while (ops_iter_next(&it))
        for (int64_t i = 0; i < it.len; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d.m, (int)d.n, (int)d.k,
                        1.0f, a + it.off[1] + i * it.inner[1], (int)d.k,
                        b + it.off[2] + i * it.inner[2], (int)d.n, 0.0f,
                        o + it.off[0] + i * it.inner[0], (int)d.n);
    return 0;
}

const char *rt_blas_config(void) { return openblas_get_config(); }
