/* test_jit_exec.c — JIT convolution kernels inside program runs
 * (compiler/jitprog.c, runtime/jitconv.c, the interpreter's kernel hook).
 *
 * Whole models: the 3-D Boosting U-Net (size 32, 3 levels) and the 2-D
 * distillation student (batch norm, size 32) run once on the reference
 * interpreter and once with JIT convolutions; every value both runs write
 * agrees within a relative 1e-4 (the pre-ReLU values of fused convs are
 * not written with the JIT, so they are skipped), every conv is on a JIT
 * kernel, and 1 and 2 threads give the same bits with the JIT.
 * A small hand-built graph covers the edges: no bias, stride 2 and
 * dilation 2, a conv result that is also an output (its ReLU must not be
 * fused), a grouped conv (stays on the reference kernel), a 1-D conv, and
 * detaching the table (back to the reference kernels). No leaks.
 */
#include "../../lang/lang.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static const seg_span nowhere = {0, 0, 0, 0, 0};

/* ------------------------------------------------------------- helpers */

/* g as `segc run` compiles it for the JIT: fused and planned (the
 * kernels are built by the caller). */
static rt_program *fused_program(const ir_graph *g)
{
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = 1};
    pipeline_result pr;
    rt_error err = {""};
    if (pipeline_build(g, &po, &pr, &err) != PIPELINE_OK) {
        test_fail_at(__FILE__, __LINE__, "pipeline: %s", err.msg);
        return NULL;
    }
    rt_program *p = pr.prog;
    pr.prog = NULL; /* the program outlives its kernel choice */
    pipeline_result_free(&pr);
    return p;
}

/* Elaborate `net` of `path` (inference mode) and compile it (fused). */
static rt_program *load_program(const char *path, const char *net, const seg_setting *set, int n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    seg_diag *d = seg_diag_new(mem);
    seg_program *p = seg_load(path, d);
    ir_graph *g = p ? seg_elaborate_net(p, net, set, n, 0, d) : NULL;
    rt_program *prog = g ? fused_program(g) : NULL;
    fflush(mem);
    if (!prog)
        test_fail_at(__FILE__, __LINE__, "cannot load %s (run from the repo root): %s", path,
                     text ? text : "");
    if (g)
        ir_graph_free(g);
    if (p)
        seg_program_free(p);
    seg_diag_free(d);
    fclose(mem);
    free(text);
    return prog;
}

/* An interpreter with every f32 input filled with seeded noise. */
static rt_interp *interp_with_inputs(const rt_program *p, int threads)
{
    rt_interp *it = rt_interp_new_planned(p, NULL, 7, threads); /* every value kept */
    for (int i = 0; i < p->n_values; i++) {
        rt_tensor *t = rt_interp_value_at(it, i);
        if (p->values[i].kind != RT_VAL_INPUT || t->type.dtype != RT_F32)
            continue;
        for (int64_t k = 0; k < rt_type_numel(&t->type); k++)
            rt_f32(t)[k] = 2 * rt_rand_uniform01(3, (uint32_t)i, 0, (uint64_t)k) - 1;
    }
    return it;
}

static int run_ok(rt_interp *it)
{
    rt_error err = {""};
    int rc = rt_interp_run(it, 0, &err);
    if (rc)
        test_fail_at(__FILE__, __LINE__, "run: %s", err.msg);
    return rc;
}

/* Every instruction result both runs write, within a relative 1e-4 (a
 * result the table stores blocked, in its plain form). */
static int compare_runs(const rt_program *p, rt_interp *ref, rt_interp *jit,
                        const rt_kernel_table *t, const char *what)
{
    for (int i = 0; i < p->n_instrs; i++) {
        int v = p->instrs[i].out;
        const rt_tensor *a = rt_interp_value_at(jit, v), *b = rt_interp_value_at(ref, v);
        if (a->type.dtype != RT_F32)
            continue;
        float *plain = NULL;
        if (t->blocked && t->blocked[i]) {
            plain = seg_xcalloc((size_t)rt_type_numel(&a->type), sizeof *plain);
            rt_layout_value_unblock(a, plain, t->vl);
        }
        const float *got = plain ? plain : rt_f32(a);
        for (int64_t k = 0; k < rt_type_numel(&a->type); k++) {
            double x = got[k], y = rt_f32(b)[k], sc = fabs(y) > 1 ? fabs(y) : 1;
            if (!(fabs(x - y) <= 1e-4 * sc)) {
                test_fail_at(__FILE__, __LINE__, "%s: %s [%lld] = %.9g, reference %.9g", what,
                             p->instrs[i].where ? p->instrs[i].where : "?", (long long)k, x, y);
                seg_free(plain);
                return -1;
            }
        }
        seg_free(plain);
    }
    return 0;
}

/* Every output identical between two runs. */
static int same_outputs(const rt_program *p, rt_interp *a, rt_interp *b)
{
    for (int o = 0; o < p->n_outputs; o++) {
        const rt_tensor *x = rt_interp_value_at(a, p->outputs[o]);
        const rt_tensor *y = rt_interp_value_at(b, p->outputs[o]);
        size_t bytes = (size_t)rt_type_numel(&x->type) * rt_dtype_size(x->type.dtype);
        if (memcmp(x->data, y->data, bytes) != 0)
            return 0;
    }
    return 1;
}

/* Reference vs JIT (2 threads) vs JIT (1 thread) on program p, whose
 * concats are stored blocked when want_blocked (U-Nets: only convs read them). */
static void check_program(rt_program *p, const char *what, int want_fused, int want_blocked)
{
    rt_error err = {""};
    jit_program *jp = jit_program_build(p, NULL, &err);
    CHECK(jp != NULL);
    if (!jp) {
        printf("    %s: %s\n", what, err.msg);
        return;
    }
    const jit_program_stats *st = jit_program_stats_of(jp);
    CHECK(st->convs > 0);
    CHECK_INT(st->kernels, st->convs);
    CHECK(want_fused ? st->fused_relus > 0 : st->fused_relus == 0);
    CHECK(want_blocked ? st->blocked_values > 0 : st->blocked_values == 0);
    rt_interp *ref = interp_with_inputs(p, 2), *j2 = interp_with_inputs(p, 2);
    rt_interp *j1 = interp_with_inputs(p, 1);
    rt_interp_set_kernels(j2, jit_program_table(jp));
    rt_interp_set_kernels(j1, jit_program_table(jp));
    if (!run_ok(ref) && !run_ok(j2) && !run_ok(j1)) {
        compare_runs(p, ref, j2, jit_program_table(jp), what);
        if (!same_outputs(p, j1, j2))
            test_fail_at(__FILE__, __LINE__, "%s: 1 and 2 threads differ with the JIT", what);
    }
    rt_interp_free(ref);
    rt_interp_free(j1);
    rt_interp_free(j2);
    jit_program_free(jp);
}

/* -------------------------------------------------------- whole models */

TEST(jit_exec_unet3d_matches_interpreter)
{
    long live = seg_alloc_live();
    const seg_setting set[] = {{"size", "32"}, {"levels", "3"}, {"B", "1"}};
    rt_program *p = load_program("models/boosting_unet3d.seg", "unet", set, 3);
    if (p)
        check_program(p, "unet3d", 1, 1);
    rt_program_free(p);
    CHECK_INT(seg_alloc_live(), live);
}

/* The U-Net with every conv output in chunks of one output group (the
 * default budget chunks only 64^3-sized outputs): the same values. */
TEST(jit_exec_output_chunks_match_interpreter)
{
    long live = seg_alloc_live();
    const seg_setting set[] = {{"size", "16"}, {"levels", "2"}, {"B", "2"}};
    rt_program *p = load_program("models/boosting_unet3d.seg", "unet", set, 3);
    rt_error err = {""};
    rt_jit *j = p ? rt_jit_new(&err) : NULL;
    jit_program *jp = j ? jit_program_select_chunked(p, rt_jit_vector_width(j), 1) : NULL;
    CHECK(jp != NULL);
    if (jp && jit_program_compile(jp, p, j, &err) == 0) {
        int chunked = 0;
        for (int i = 0; i < p->n_instrs; i++) {
            const rt_conv_kernel *k = jit_program_table(jp)->kernel[i];
            chunked += k && k->kind == RT_CONV_FWD && k->chunk_groups == 1 &&
                       k->cout > k->vl * k->oc_group_blocks;
        }
        CHECK(chunked > 0); /* several chunks per sample */
        rt_interp *ref = interp_with_inputs(p, 2), *jit = interp_with_inputs(p, 2);
        rt_interp_set_kernels(jit, jit_program_table(jp));
        if (!run_ok(ref) && !run_ok(jit))
            compare_runs(p, ref, jit, jit_program_table(jp), "chunks");
        rt_interp_free(ref);
        rt_interp_free(jit);
    } else if (jp) {
        test_fail_at(__FILE__, __LINE__, "compile: %s", err.msg);
    }
    jit_program_free(jp);
    rt_jit_free(j);
    rt_program_free(p);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(jit_exec_2d_student_matches_interpreter)
{
    long live = seg_alloc_live();
    const seg_setting set[] = {{"size", "32"}, {"B", "2"}};
    rt_program *p = load_program("models/distill_2d.seg", "student", set, 2);
    if (p)
        check_program(p, "student2d", 1, 1); /* BNs fold into the convs, which take the ReLUs */
    rt_program_free(p);
    CHECK_INT(seg_alloc_live(), live);
}

/* ------------------------------------------------------------ edge cases */

/* Stride s, padding and dilation d on every axis. */
static ir_id conv_node(ir_graph *g, ir_id x, ir_id w, ir_id b, int s, int d, int groups)
{
    rt_attrs a;
    rt_attrs_init(&a);
    for (int i = 0; i < 3; i++) {
        a.stride[i] = s;
        a.pad[i] = d;
        a.dilation[i] = d > 0 ? d : 1;
    }
    a.groups = groups;
    ir_id in[3] = {x, w, b};
    char err[256] = "";
    ir_id id = ir_add_op(g, OP_CONV, &a, in, b < 0 ? 2 : 3, NULL, nowhere, err, sizeof err);
    if (id < 0)
        test_fail_at(__FILE__, __LINE__, "conv: %s", err);
    return id;
}

static ir_id param(ir_graph *g, const char *name, int rank, const int64_t *dims)
{
    rt_type t = {.dtype = RT_F32, .rank = rank};
    memcpy(t.dim, dims, (size_t)rank * sizeof *dims);
    char err[256];
    return ir_add_param(g, name, &t, (rt_init){RT_INIT_UNIFORM, -0.3f, 0.3f}, 0, nowhere, err,
                        sizeof err);
}

static ir_id relu(ir_graph *g, ir_id x)
{
    rt_attrs a;
    rt_attrs_init(&a);
    char err[256];
    return ir_add_op(g, OP_RELU, &a, &x, 1, NULL, nowhere, err, sizeof err);
}

/* x [2, 6, 9, 10, 11] -> conv s2 d2 no bias (also an output) -> relu
 * -> grouped conv ; plus a 1-D conv with bias. */
static ir_graph *edge_graph(void)
{
    ir_graph *g = ir_graph_new("edges");
    const int64_t xd[5] = {2, 6, 9, 10, 11}, w1[5] = {20, 6, 3, 3, 3}, w2[5] = {20, 10, 1, 1, 1};
    const int64_t sd[3] = {2, 5, 30}, w3[3] = {18, 5, 3}, b3[1] = {18};
    rt_type xt = {.dtype = RT_F32, .rank = 5}, st = {.dtype = RT_F32, .rank = 3};
    memcpy(xt.dim, xd, sizeof xd);
    memcpy(st.dim, sd, sizeof sd);
    ir_id x = ir_add_input(g, "x", &xt, nowhere), s = ir_add_input(g, "s", &st, nowhere);
    ir_id c1 = conv_node(g, x, param(g, "w1", 5, w1), -1, 2, 2, 1);
    ir_add_output(g, "c1", c1);
    ir_id c2 = conv_node(g, relu(g, c1), param(g, "w2", 5, w2), -1, 1, 0, 2);
    ir_add_output(g, "c2", c2);
    ir_id c3 = conv_node(g, s, param(g, "w3", 3, w3), param(g, "b3", 1, b3), 1, 1, 1);
    ir_add_output(g, "c3", relu(g, c3));
    return g;
}

TEST(jit_exec_edge_cases)
{
    long live = seg_alloc_live();
    ir_graph *g = edge_graph();
    rt_program *p = fused_program(g);
    rt_error err = {""};
    jit_program *jp = jit_program_build(p, NULL, &err);
    CHECK(jp != NULL);
    if (jp) {
        const jit_program_stats *st = jit_program_stats_of(jp);
        CHECK_INT(st->convs, 3);
        CHECK_INT(st->kernels, 3);     /* the grouped conv too, once per group */
        CHECK_INT(st->fused_relus, 1); /* c1's ReLU is not fused: c1 is an output */
        rt_interp *ref = interp_with_inputs(p, 2), *jit = interp_with_inputs(p, 2);
        rt_interp_set_kernels(jit, jit_program_table(jp));
        if (!run_ok(ref) && !run_ok(jit))
            compare_runs(p, ref, jit, jit_program_table(jp), "edges");
        rt_interp_set_kernels(jit, NULL); /* detached: the reference again */
        if (!run_ok(jit))
            CHECK(same_outputs(p, ref, jit));
        rt_interp_free(ref);
        rt_interp_free(jit);
    } else {
        printf("    %s\n", err.msg);
    }
    jit_program_free(jp);
    rt_program_free(p);
    ir_graph_free(g);
    CHECK_INT(seg_alloc_live(), live);
}
