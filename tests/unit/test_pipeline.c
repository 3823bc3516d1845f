/* test_pipeline.c — compiler/pipeline.c, the one place that orders the
 * passes: without the JIT it gives the unfused program the reference
 * interpreter runs, planned; with it the fused program, its kernel choice
 * and a plan that holds every chosen kernel's workspace; a training step
 * of a graph without "loss" is the program's fault, not the JIT's.
 */
#include "compiler/compiler.h"
#include "test.h"

#include <string.h>

static const seg_span nowhere = {0, 0, 0, 0, 0};

static ir_id pl_op(ir_graph *g, rt_op o, const rt_attrs *a, const ir_id *in, int n)
{
    char err[256] = "";
    ir_id id = ir_add_op(g, o, a, in, n, NULL, nowhere, err, sizeof err);
    if (id < 0)
        test_fail_at(__FILE__, __LINE__, "%s: %s", rt_op_table[o].name, err);
    return id;
}

/* x [1, 3, 12, 10] -> relu(conv 3x3, 16 channels, bias) -> sigmoid(conv 1x1). */
static ir_graph *two_convs(void)
{
    ir_graph *g = ir_graph_new("two");
    rt_type xt = {.dtype = RT_F32, .rank = 4, .dim = {1, 3, 12, 10}};
    rt_type w1 = {.dtype = RT_F32, .rank = 4, .dim = {16, 3, 3, 3}};
    rt_type b1 = {.dtype = RT_F32, .rank = 1, .dim = {16}};
    rt_type w2 = {.dtype = RT_F32, .rank = 4, .dim = {1, 16, 1, 1}};
    rt_init u = {RT_INIT_UNIFORM, -0.3f, 0.3f};
    char err[256];
    ir_id x = ir_add_input(g, "image", &xt, nowhere);
    ir_id in[3] = {x, ir_add_param(g, "w1", &w1, u, 0, nowhere, err, sizeof err),
                   ir_add_param(g, "b1", &b1, u, 0, nowhere, err, sizeof err)};
    rt_attrs a;
    rt_attrs_init(&a);
    a.pad[0] = a.pad[1] = 1;
    ir_id h = pl_op(g, OP_CONV, &a, in, 3);
    rt_attrs_init(&a);
    h = pl_op(g, OP_RELU, &a, &h, 1);
    ir_id in2[2] = {h, ir_add_param(g, "w2", &w2, u, 0, nowhere, err, sizeof err)};
    h = pl_op(g, OP_CONV, &a, in2, 2);
    ir_add_output(g, "mask", pl_op(g, OP_SIGMOID, &a, &h, 1));
    return g;
}

TEST(pipeline_reference_program_is_unfused_and_planned)
{
    long live = seg_alloc_live();
    ir_graph *g = two_convs();
    rt_program *lowered = ir_lower(g);
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = 0, .compile = 1};
    pipeline_result r;
    rt_error err = {""};
    CHECK_INT(pipeline_build(g, &po, &r, &err), PIPELINE_OK);
    CHECK(r.kernels == NULL);
    CHECK_INT(r.prog->n_instrs, lowered->n_instrs);
    CHECK(r.prog->plan != NULL);
    CHECK(r.fwd_flops > 0);
    CHECK_INT(r.bwd_flops, 0);
    pipeline_result_free(&r);
    rt_program_free(lowered);
    ir_graph_free(g);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(pipeline_jit_program_is_fused_with_workspaces_planned)
{
    long live = seg_alloc_live();
    ir_graph *g = two_convs();
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = 1, .compile = 0};
    pipeline_result r;
    rt_error err = {""};
    CHECK_INT(pipeline_build(g, &po, &r, &err), PIPELINE_OK);
    CHECK(r.kernels != NULL);
    CHECK_INT(r.fuse.conv_relus, 1);
    const rt_mem_plan *m = r.prog->plan;
    int convs = 0;
    for (int i = 0; i < r.prog->n_instrs; i++) {
        CHECK(r.prog->instrs[i].op != OP_RELU); /* the conv's epilogue now */
        jit_choice c;
        jit_program_choice(r.kernels, i, &c);
        if (!c.conv)
            continue;
        convs++;
        CHECK(c.kernel >= 0);
        CHECK(m->ws_offset && m->ws_offset[i] >= 0);
        CHECK(m->ws_bytes[i] >= rt_conv_workspace_bytes(c.conv));
    }
    CHECK_INT(convs, 2);
    pipeline_result_free(&r);
    ir_graph_free(g);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(pipeline_training_without_loss_is_a_graph_error)
{
    long live = seg_alloc_live();
    ir_graph *g = two_convs();
    pipeline_opts po = {.mode = PIPELINE_TRAIN, .jit = 1, .compile = 1};
    pipeline_result r;
    rt_error err = {""};
    CHECK_INT(pipeline_build(g, &po, &r, &err), PIPELINE_BAD_GRAPH);
    CHECK(err.msg[0] != 0);
    CHECK(r.prog == NULL && r.kernels == NULL);
    ir_graph_free(g);
    CHECK_INT(seg_alloc_live(), live);
}
