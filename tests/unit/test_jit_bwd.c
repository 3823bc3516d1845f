/* test_jit_bwd.c — JIT kernels for convolution gradients
 * (OP_CONV_BWD_DATA as a forward kernel over dy with the flipped,
 * transposed weight; OP_CONV_BWD_WEIGHT as a direct reduction kernel),
 * attached by compiler/jitprog.c and run by runtime/jitconv.c.
 *
 * One-instruction programs on awkward shapes (odd sizes, channels not a
 * multiple of 16, batch 2, Cin = 1, 1-D and 2-D, stride 2, dilation 2)
 * agree with the reference kernels within a relative 1e-4, give the same
 * bits on 1 and 2 threads, and shapes the JIT does not take (stride-2
 * data gradients, groups) stay on the reference kernels.
 */
#include "../../compiler/compiler.h"
#include "test.h"

#include <math.h>
#include <string.h>

typedef struct bwd_case {
    rt_op op;
    int nsp;
    int64_t n, cin, cout, in[3];
    int k, s, p, d;
    int want_jit; /* expected on a JIT kernel */
} bwd_case;

static int64_t out_size(int64_t in, int k, int s, int p, int d)
{
    return (in + 2 * p - (int64_t)d * (k - 1) - 1) / s + 1;
}

static rt_type f32_type(int rank, const int64_t *dims)
{
    rt_type t = {.dtype = RT_F32, .rank = rank};
    memcpy(t.dim, dims, (size_t)rank * sizeof *dims);
    return t;
}

static rt_interp *bwd_interp(const rt_program *p, int threads)
{
    rt_interp *it = rt_interp_new(p, 7, threads);
    for (int i = 0; i < 2; i++) {
        rt_tensor *t = rt_interp_value_at(it, i);
        for (int64_t k = 0; k < rt_type_numel(&t->type); k++)
            rt_f32(t)[k] = 2 * rt_rand_uniform01(5, (uint32_t)i, 0, (uint64_t)k) - 1;
    }
    return it;
}

static void run_case(const bwd_case *c, const char *what)
{
    int rank = c->nsp + 2;
    int64_t xd[5] = {c->n, c->cin}, yd[5] = {c->n, c->cout}, wd[5] = {c->cout, c->cin};
    rt_attrs a = {.nsp = c->nsp, .groups = 1};
    for (int s = 0; s < c->nsp; s++) {
        xd[2 + s] = c->in[s];
        yd[2 + s] = out_size(c->in[s], c->k, c->s, c->p, c->d);
        wd[2 + s] = c->k;
        a.kernel[s] = c->k;
        a.stride[s] = c->s;
        a.pad[s] = c->p;
        a.dilation[s] = c->d;
    }
    int data = c->op == OP_CONV_BWD_DATA;
    rt_value vals[3] = {
        {.type = f32_type(rank, data ? yd : xd), .kind = RT_VAL_INPUT, .name = "a"},
        {.type = f32_type(rank, data ? wd : yd), .kind = RT_VAL_INPUT, .name = "b"},
        {.type = f32_type(rank, data ? xd : wd), .kind = RT_VAL_TEMP},
    };
    int in[2] = {0, 1}, outs[1] = {2};
    const char *names[1] = {"out"};
    rt_instr ins = {.op = c->op, .attrs = a, .n_in = 2, .in = in, .out = 2, .where = what};
    rt_program p = {.values = vals, .n_values = 3, .instrs = &ins, .n_instrs = 1,
                    .outputs = outs, .output_names = names, .n_outputs = 1};
    rt_error err = {""};
    jit_program *jp = jit_program_build(&p, NULL, &err);
    CHECK(jp != NULL);
    if (!jp) {
        printf("    %s: %s\n", what, err.msg);
        return;
    }
    const jit_program_stats *st = jit_program_stats_of(jp);
    CHECK_INT(data ? st->bwd_data_jit : st->bwd_weight_jit, c->want_jit);
    rt_interp *ref = bwd_interp(&p, 1), *j1 = bwd_interp(&p, 1), *j2 = bwd_interp(&p, 2);
    rt_interp_set_conv_kernels(j1, jit_program_table(jp));
    rt_interp_set_conv_kernels(j2, jit_program_table(jp));
    int rc = rt_interp_run(ref, 0, &err) || rt_interp_run(j1, 0, &err) ||
             rt_interp_run(j2, 0, &err);
    CHECK(rc == 0);
    if (rc == 0) {
        const rt_tensor *r = rt_interp_value_at(ref, 2), *x1 = rt_interp_value_at(j1, 2);
        const rt_tensor *x2 = rt_interp_value_at(j2, 2);
        int64_t n = rt_type_numel(&r->type);
        for (int64_t k = 0; k < n; k++) {
            double x = rt_f32(x1)[k], y = rt_f32(r)[k], sc = fabs(y) > 1 ? fabs(y) : 1;
            if (!(fabs(x - y) <= 1e-4 * sc)) {
                test_fail_at(__FILE__, __LINE__, "%s: [%lld] = %.9g, reference %.9g", what,
                             (long long)k, x, y);
                break;
            }
        }
        if (memcmp(x1->data, x2->data, (size_t)n * sizeof(float)) != 0)
            test_fail_at(__FILE__, __LINE__, "%s: 1 and 2 threads differ", what);
    }
    rt_interp_free(ref);
    rt_interp_free(j1);
    rt_interp_free(j2);
    jit_program_free(jp);
}

TEST(jit_bwd_data_matches_reference)
{
    static const bwd_case cases[] = {
        {OP_CONV_BWD_DATA, 3, 2, 5, 19, {7, 6, 9}, 3, 1, 1, 1, 1},   /* odd, 19 -> 5 */
        {OP_CONV_BWD_DATA, 3, 1, 16, 32, {8, 8, 8}, 3, 1, 1, 1, 1},  /* U-Net block */
        {OP_CONV_BWD_DATA, 3, 2, 33, 2, {5, 7, 6}, 1, 1, 0, 1, 1},   /* 1x1 head, dy plain */
        {OP_CONV_BWD_DATA, 3, 1, 1, 16, {9, 8, 7}, 3, 1, 1, 1, 1},   /* first layer */
        {OP_CONV_BWD_DATA, 2, 2, 17, 20, {11, 13}, 3, 1, 2, 2, 1},   /* dilation 2 */
        {OP_CONV_BWD_DATA, 1, 2, 18, 21, {30}, 5, 1, 1, 1, 1},       /* k 5, narrow pad */
        {OP_CONV_BWD_DATA, 3, 1, 16, 16, {8, 8, 8}, 3, 2, 1, 1, 0},  /* stride 2: reference */
    };
    char what[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(what, sizeof what, "bwd_data case %zu", i);
        run_case(&cases[i], what);
    }
}

TEST(jit_bwd_weight_matches_reference)
{
    static const bwd_case cases[] = {
        {OP_CONV_BWD_WEIGHT, 3, 2, 5, 19, {7, 6, 9}, 3, 1, 1, 1, 1},
        {OP_CONV_BWD_WEIGHT, 3, 1, 16, 32, {8, 8, 8}, 3, 1, 1, 1, 1},
        {OP_CONV_BWD_WEIGHT, 3, 2, 1, 16, {9, 8, 7}, 3, 1, 1, 1, 1},  /* Cin 1, plain x */
        {OP_CONV_BWD_WEIGHT, 3, 2, 33, 2, {5, 7, 6}, 1, 1, 0, 1, 1},
        {OP_CONV_BWD_WEIGHT, 3, 1, 20, 17, {9, 8, 7}, 3, 2, 1, 1, 1}, /* stride 2 */
        {OP_CONV_BWD_WEIGHT, 2, 2, 17, 20, {11, 13}, 3, 1, 2, 2, 1},
        {OP_CONV_BWD_WEIGHT, 1, 2, 18, 21, {30}, 5, 1, 1, 1, 1},
        {OP_CONV_BWD_WEIGHT, 3, 2, 32, 48, {4, 5, 3}, 3, 1, 1, 1, 1}, /* more rows than parts */
    };
    char what[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(what, sizeof what, "bwd_weight case %zu", i);
        run_case(&cases[i], what);
    }
}
