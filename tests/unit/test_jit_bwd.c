/* test_jit_bwd.c — JIT kernels for convolution gradients
 * (OP_CONV_BWD_DATA as a forward kernel over dy with the flipped,
 * transposed weight; OP_CONV_BWD_WEIGHT as a direct reduction kernel),
 * attached by compiler/jitprog.c and run by runtime/jitconv.c; and
 * grouped and depthwise convolutions, forward, both gradients and conv_t,
 * whose kernel the driver runs once per group.
 *
 * One-instruction programs on awkward shapes (odd sizes, channels not a
 * multiple of 16, batch 2, Cin = 1, 1-D and 2-D, stride 2, dilation 2)
 * agree with the reference kernels within a relative 1e-4, give the same
 * bits on 1 and 2 threads, and shapes the JIT does not take (stride-2
 * groups, padding wider than the window) stay on the reference kernels;
 * strided data gradients and transposed convs run as phases of stride-1
 * kernels, with a fused ReLU mask or a bias.
 */
#include "../../compiler/compiler.h"
#include "test.h"

#include <math.h>
#include <string.h>

typedef struct bwd_case {
    rt_op op;
    int nsp;
    int64_t n, cin, cout, in[3]; /* conv_t: cin = its input's channels, in = its input */
    int k, s, p, d;
    int want_jit; /* expected on a JIT kernel */
    int extra;    /* bwd_data: a ReLU mask operand; conv_t: a bias */
    int out_pad;  /* conv_t */
    int groups;   /* 0 = 1 */
} bwd_case;

static rt_type f32_type(int rank, const int64_t *dims)
{
    rt_type t = {.dtype = RT_F32, .rank = rank};
    memcpy(t.dim, dims, (size_t)rank * sizeof *dims);
    return t;
}

static rt_interp *bwd_interp(const rt_program *p, int threads)
{
    rt_interp *it = rt_interp_new(p, 7, threads);
    for (int i = 0; i < p->n_values; i++) {
        if (p->values[i].kind != RT_VAL_INPUT)
            continue;
        rt_tensor *t = rt_interp_value_at(it, i);
        for (int64_t k = 0; k < rt_type_numel(&t->type); k++)
            rt_f32(t)[k] = 2 * rt_rand_uniform01(5, (uint32_t)i, 0, (uint64_t)k) - 1;
    }
    return it;
}

static void run_case(const bwd_case *c, const char *what)
{
    int rank = c->nsp + 2, g = c->groups > 1 ? c->groups : 1;
    int64_t xd[5] = {c->n, c->cin}, yd[5] = {c->n, c->cout}, wd[5] = {c->cout, c->cin / g};
    int64_t td[5] = {c->n, c->cout}, tw[5] = {c->cin, c->cout / g}, bd[1] = {c->cout};
    rt_attrs a = {.nsp = c->nsp, .groups = g};
    for (int s = 0; s < c->nsp; s++) {
        xd[2 + s] = c->in[s];
        yd[2 + s] = rt_conv_out_size(c->in[s], c->k, c->s, c->p, c->d);
        td[2 + s] = rt_conv_t_out_size(c->in[s], c->k, c->s, c->p, c->d, c->out_pad);
        wd[2 + s] = tw[2 + s] = c->k;
        a.kernel[s] = c->k;
        a.stride[s] = c->s;
        a.pad[s] = c->p;
        a.dilation[s] = c->d;
        a.out_pad[s] = c->out_pad;
    }
    int data = c->op == OP_CONV_BWD_DATA, conv_t = c->op == OP_CONV_T, fwd = c->op == OP_CONV;
    rt_type ta = f32_type(rank, data ? yd : xd);
    rt_type tb = f32_type(rank, data || fwd ? wd : conv_t ? tw : yd);
    rt_type to = f32_type(rank, data ? xd : conv_t ? td : fwd ? yd : wd);
    rt_type te = conv_t || fwd ? f32_type(1, bd) : to;
    rt_value vals[4] = {
        {.type = ta, .kind = RT_VAL_INPUT, .name = "a"},
        {.type = tb, .kind = RT_VAL_INPUT, .name = "b"},
        {.type = to, .kind = RT_VAL_TEMP},
        {.type = te, .kind = RT_VAL_INPUT, .name = "e"},
    };
    int in[3] = {0, 1, 3}, outs[1] = {2};
    const char *names[1] = {"out"};
    rt_instr ins = {.op = c->op, .attrs = a, .n_in = c->extra ? 3 : 2, .in = in, .out = 2,
                    .where = what};
    rt_program p = {.values = vals, .n_values = c->extra ? 4 : 3, .instrs = &ins, .n_instrs = 1,
                    .outputs = outs, .output_names = names, .n_outputs = 1};
    rt_error err = {""};
    jit_program *jp = jit_program_build(&p, NULL, &err);
    CHECK(jp != NULL);
    if (!jp) {
        printf("    %s: %s\n", what, err.msg);
        return;
    }
    const jit_program_stats *st = jit_program_stats_of(jp);
    CHECK_INT(data ? st->bwd_data_jit : conv_t ? st->conv_t_jit : fwd ? st->kernels
                                                                       : st->bwd_weight_jit,
              c->want_jit);
    rt_interp *ref = bwd_interp(&p, 1), *j1 = bwd_interp(&p, 1), *j2 = bwd_interp(&p, 2);
    rt_interp_set_kernels(j1, jit_program_table(jp));
    rt_interp_set_kernels(j2, jit_program_table(jp));
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
        {OP_CONV_BWD_DATA, 3, 2, 5, 19, {7, 6, 9}, 3, 1, 1, 1, 1, 0, 0, 1},   /* odd, 19 -> 5 */
        {OP_CONV_BWD_DATA, 3, 1, 16, 32, {8, 8, 8}, 3, 1, 1, 1, 1, 0, 0, 1},   /* U-Net block */
        {OP_CONV_BWD_DATA, 3, 2, 33, 2, {5, 7, 6}, 1, 1, 0, 1, 1, 0, 0, 1},   /* 1x1 head, dy plain */
        {OP_CONV_BWD_DATA, 3, 1, 1, 16, {9, 8, 7}, 3, 1, 1, 1, 1, 0, 0, 1},   /* first layer */
        {OP_CONV_BWD_DATA, 2, 2, 17, 20, {11, 13}, 3, 1, 2, 2, 1, 0, 0, 1},   /* dilation 2 */
        {OP_CONV_BWD_DATA, 1, 2, 18, 21, {30}, 5, 1, 1, 1, 1, 0, 0, 1},   /* k 5, narrow pad */
        {OP_CONV_BWD_DATA, 3, 1, 16, 16, {8, 8, 8}, 3, 2, 1, 1, 1, 0, 0, 1},   /* stride 2: phases */
        {OP_CONV_BWD_DATA, 3, 2, 20, 17, {9, 8, 7}, 3, 2, 1, 1, 1, 0, 0, 1},   /* odd sizes, stride 2 */
        {OP_CONV_BWD_DATA, 2, 2, 24, 18, {15, 12}, 1, 2, 0, 1, 1, 0, 0, 1},   /* 1x1 stride 2: empty phases */
        {OP_CONV_BWD_DATA, 2, 1, 6, 19, {13, 14}, 7, 2, 3, 1, 1, 0, 0, 1},   /* the 7x7 stride-2 stem */
        {OP_CONV_BWD_DATA, 2, 2, 9, 10, {17, 11}, 3, 2, 2, 2, 1, 0, 0, 1},   /* stride 2, dilation 2 */
        {OP_CONV_BWD_DATA, 1, 2, 18, 21, {31}, 4, 3, 1, 1, 1, 0, 0, 1},   /* stride 3 */
        {OP_CONV_BWD_DATA, 3, 2, 20, 17, {9, 8, 7}, 3, 2, 1, 1, 1, 1, 0, 1},   /* with a ReLU mask */
        {OP_CONV_BWD_DATA, 3, 1, 16, 16, {8, 8, 8}, 3, 1, 1, 1, 1, 1, 0, 1},   /* stride 1, mask */
        {OP_CONV_BWD_DATA, 1, 1, 4, 4, {9}, 3, 2, 4, 1, 0, 0, 0, 1},   /* pad > window: reference */
    };
    char what[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(what, sizeof what, "bwd_data case %zu", i);
        run_case(&cases[i], what);
    }
}

TEST(jit_conv_t_matches_reference)
{
    static const bwd_case cases[] = {
        {OP_CONV_T, 3, 2, 24, 12, {5, 4, 3}, 2, 2, 0, 1, 1, 1, 0, 1},   /* DenseNet's 2x up, bias */
        {OP_CONV_T, 3, 1, 16, 20, {4, 5, 6}, 3, 2, 1, 1, 1, 0, 1, 1},   /* 3x3x3, out_pad 1 */
        {OP_CONV_T, 2, 2, 3, 17, {7, 9}, 4, 2, 1, 1, 1, 1, 0, 1},   /* 4x4 up, Cin 3 plain */
        {OP_CONV_T, 1, 2, 20, 7, {11}, 3, 3, 0, 2, 1, 1, 2, 1},   /* stride 3, dilation 2 */
        {OP_CONV_T, 2, 1, 18, 18, {6, 6}, 3, 1, 1, 1, 1, 1, 0, 1},   /* stride 1 */
    };
    char what[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(what, sizeof what, "conv_t case %zu", i);
        run_case(&cases[i], what);
    }
}

TEST(jit_bwd_weight_matches_reference)
{
    static const bwd_case cases[] = {
        {OP_CONV_BWD_WEIGHT, 3, 2, 5, 19, {7, 6, 9}, 3, 1, 1, 1, 1, 0, 0, 1},
        {OP_CONV_BWD_WEIGHT, 3, 1, 16, 32, {8, 8, 8}, 3, 1, 1, 1, 1, 0, 0, 1},
        {OP_CONV_BWD_WEIGHT, 3, 2, 1, 16, {9, 8, 7}, 3, 1, 1, 1, 1, 0, 0, 1},   /* Cin 1, plain x */
        {OP_CONV_BWD_WEIGHT, 3, 2, 33, 2, {5, 7, 6}, 1, 1, 0, 1, 1, 0, 0, 1},
        {OP_CONV_BWD_WEIGHT, 3, 1, 20, 17, {9, 8, 7}, 3, 2, 1, 1, 1, 0, 0, 1},   /* stride 2 */
        {OP_CONV_BWD_WEIGHT, 2, 2, 17, 20, {11, 13}, 3, 1, 2, 2, 1, 0, 0, 1},
        {OP_CONV_BWD_WEIGHT, 1, 2, 18, 21, {30}, 5, 1, 1, 1, 1, 0, 0, 1},
        {OP_CONV_BWD_WEIGHT, 3, 2, 32, 48, {4, 5, 3}, 3, 1, 1, 1, 1, 0, 0, 1},   /* more rows than parts */
        /* all tap columns in one pass: no position has every tap inside;
         * 2 taps; 7 taps (one lane per pass) */
        {OP_CONV_BWD_WEIGHT, 1, 2, 16, 9, {3}, 5, 1, 2, 1, 1, 0, 0, 1},
        {OP_CONV_BWD_WEIGHT, 2, 1, 24, 10, {6, 7}, 2, 1, 0, 1, 1, 0, 0, 1},
        {OP_CONV_BWD_WEIGHT, 1, 1, 16, 8, {12}, 7, 1, 3, 1, 1, 0, 0, 1},
    };
    char what[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(what, sizeof what, "bwd_weight case %zu", i);
        run_case(&cases[i], what);
    }
}

/* Grouped and depthwise: forward (with a bias), both gradients and conv_t,
 * stride 1 and 2, blocked and plain inputs, batch 2, odd sizes. Fields:
 * op, nsp, n, cin, cout, in, k, s, p, d, want_jit, extra, out_pad, groups. */
TEST(jit_grouped_matches_reference)
{
    static const bwd_case cases[] = {
        {OP_CONV, 3, 2, 6, 12, {7, 6, 9}, 3, 1, 1, 1, 1, 1, 0, 3},   /* 2 -> 4 per group */
        {OP_CONV, 3, 2, 12, 12, {7, 6, 5}, 3, 1, 1, 1, 1, 0, 0, 12},   /* depthwise */
        {OP_CONV, 2, 1, 32, 64, {9, 11}, 5, 2, 2, 1, 1, 1, 0, 2},   /* blocked x, stride 2 */
        {OP_CONV, 3, 2, 20, 20, {5, 6, 7}, 1, 1, 0, 1, 1, 1, 0, 20},   /* 1x1 depthwise: PReLU-like */
        {OP_CONV_BWD_DATA, 3, 2, 6, 12, {7, 6, 9}, 3, 1, 1, 1, 1, 0, 0, 3},
        {OP_CONV_BWD_DATA, 3, 2, 12, 12, {7, 6, 5}, 3, 1, 1, 1, 1, 1, 0, 12},   /* with a mask */
        {OP_CONV_BWD_DATA, 2, 2, 32, 64, {9, 11}, 3, 2, 1, 1, 1, 0, 0, 4},   /* stride 2: phases */
        {OP_CONV_BWD_WEIGHT, 3, 2, 6, 12, {7, 6, 9}, 3, 1, 1, 1, 1, 0, 0, 3},
        {OP_CONV_BWD_WEIGHT, 3, 2, 12, 12, {7, 6, 5}, 3, 1, 1, 1, 1, 0, 0, 12},
        {OP_CONV_BWD_WEIGHT, 2, 1, 32, 64, {9, 11}, 3, 2, 1, 1, 1, 0, 0, 2},
        {OP_CONV_T, 3, 2, 8, 12, {4, 5, 3}, 2, 2, 0, 1, 1, 1, 0, 4},   /* 2x up, bias */
        {OP_CONV_T, 2, 1, 32, 16, {6, 7}, 3, 2, 1, 1, 1, 0, 1, 16},   /* out_pad, depthwise-ish */
    };
    char what[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(what, sizeof what, "grouped case %zu", i);
        run_case(&cases[i], what);
    }
}
