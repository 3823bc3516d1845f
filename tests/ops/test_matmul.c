/* test_matmul.c — matmul against a naive triple loop: plain 2-D, batched,
 * broadcast batch axes, and the 1-D operand rules of torch.matmul.
 */
#include "tests/ops/ops_test.h"

/* a [.., m, k] (ra), b [.., k, n] (rb), out (ro) with dims as given. */
static void run_mm(int ra, const int64_t *ad, int rb, const int64_t *bd, int ro,
                   const int64_t *od, uint32_t seed)
{
    rt_attrs at;
    rt_attrs_init(&at);
    rt_tensor *a = tt_rand(seed, ra, ad), *b = tt_rand(seed + 1, rb, bd);
    rt_tensor *o = tt_new(RT_F32, ro, od), *want = tt_like(o);
    rt_tensor *in[2] = {a, b};
    tt_run(OP_MATMUL, &at, in, 2, o);
    /* Promote 1-D operands to matrices, then index with broadcasting. */
    rt_type ta = a->type, tb = b->type;
    if (ra == 1)
        ta = (rt_type){RT_F32, 2, {1, ad[0]}};
    if (rb == 1)
        tb = (rt_type){RT_F32, 2, {bd[0], 1}};
    int64_t m = ta.dim[ta.rank - 2], k = ta.dim[ta.rank - 1], n = tb.dim[tb.rank - 1];
    rt_type to = o->type; /* the batch axes of o, then [m, n] */
    to.rank = ro - (ra > 1) - (rb > 1);
    to.dim[to.rank++] = m;
    to.dim[to.rank++] = n;
    rt_type ba = ta, bb = tb;
    ba.rank -= 2, bb.rank -= 2;
    int br = to.rank - 2;
    for (int64_t i = 0; i < rt_type_numel(&to); i++) {
        int64_t idx[RT_MAX_RANK];
        tt_unravel(&to, i, idx);
        int64_t pa = tt_bcast_index(&ba, br, idx), pb = tt_bcast_index(&bb, br, idx);
        int64_t r = idx[br], c = idx[br + 1];
        double s = 0;
        for (int64_t j = 0; j < k; j++)
            s += (double)rt_f32(a)[pa * m * k + r * k + j] * rt_f32(b)[pb * k * n + j * n + c];
        rt_f32(want)[i] = (float)s;
    }
    CHECK_TENSOR(o, want, 1e-5);
    tt_free(a), tt_free(b), tt_free(o), tt_free(want);
}

TEST(matmul_plain_and_batched)
{
    run_mm(2, TT_DIMS(5, 7), 2, TT_DIMS(7, 3), 2, TT_DIMS(5, 3), 500);
    run_mm(3, TT_DIMS(4, 5, 7), 3, TT_DIMS(4, 7, 6), 3, TT_DIMS(4, 5, 6), 502);
    run_mm(4, TT_DIMS(2, 1, 3, 4), 3, TT_DIMS(3, 4, 5), 4, TT_DIMS(2, 3, 3, 5), 504);
    run_mm(3, TT_DIMS(3, 4, 5), 2, TT_DIMS(5, 2), 3, TT_DIMS(3, 4, 2), 506);
    run_mm(2, TT_DIMS(4, 5), 4, TT_DIMS(2, 3, 5, 2), 4, TT_DIMS(2, 3, 4, 2), 508);
}

TEST(matmul_vectors)
{
    run_mm(1, TT_DIMS(5), 2, TT_DIMS(5, 3), 1, TT_DIMS(3), 510);
    run_mm(2, TT_DIMS(4, 5), 1, TT_DIMS(5), 1, TT_DIMS(4), 512);
    run_mm(1, TT_DIMS(5), 1, TT_DIMS(5), 0, TT_DIMS(0), 514);
    run_mm(3, TT_DIMS(2, 4, 5), 1, TT_DIMS(5), 2, TT_DIMS(2, 4), 516);
}

TEST(matmul_rejects_mismatch)
{
    rt_attrs at;
    rt_attrs_init(&at);
    rt_tensor *a = TT_NEW(RT_F32, 2, 3), *b = TT_NEW(RT_F32, 4, 2), *o = TT_NEW(RT_F32, 2, 2);
    rt_tensor *in[2] = {a, b};
    CHECK(tt_run_fails(OP_MATMUL, &at, in, 2, o, "inner sizes 3 and 4 differ"));
    tt_free(a), tt_free(b), tt_free(o);
}
