/* test_ir.c — building graphs (compiler/ir.c), the IR and parameter
 * listings (compiler/print.c, exact text) and lowering to rt_program
 * (compiler/lower.c, runtime/program.c), including that nothing leaks.
 */
#include "../../compiler/compiler.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static rt_type ty(rt_dtype dt, int rank, const int64_t *dims)
{
    rt_type t = {.dtype = dt, .rank = rank};
    for (int i = 0; i < rank; i++)
        t.dim[i] = dims[i];
    return t;
}

#define NDIMS(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define F32(...) ty(RT_F32, NDIMS(__VA_ARGS__), (const int64_t[]){__VA_ARGS__})

static seg_span at_line(int line, int col) { return (seg_span){1, line, col, line, col + 3}; }

/* The text a print function writes, in a static buffer. */
static const char *capture(void (*fn)(const ir_graph *, FILE *), const ir_graph *g)
{
    static char text[8192];
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fn(g, f);
    fclose(f);
    snprintf(text, sizeof text, "%s", buf);
    free(buf); /* open_memstream's buffer comes from libc, not the funnel */
    return text;
}

static const char *const tiny_files[] = {NULL, "models/tiny.seg"};

/* input -> conv(+bias) -> relu -> maxpool; a BN buffer; a loss. */
static ir_graph *tiny_graph(void)
{
    ir_graph *g = ir_graph_new("tiny");
    g->file_names = tiny_files;
    g->n_file_names = 2;
    char err[256];
    rt_type xt = F32(1, 1, 8, 8), wt = F32(4, 1, 3, 3), bt = F32(4), s = ty(RT_F32, 0, NULL);
    ir_id x = ir_add_input(g, "image", &xt, at_line(2, 5));
    rt_init u = {RT_INIT_UNIFORM, -1.0f / 3, 1.0f / 3};
    ir_id w = ir_add_param(g, "enc.conv0.weight", &wt, u, 0, at_line(3, 9), err, sizeof err);
    ir_id b = ir_add_param(g, "enc.conv0.bias", &bt, u, 0, at_line(3, 9), err, sizeof err);
    rt_init one = {RT_INIT_CONST, 1, 0};
    ir_add_param(g, "enc.bn0.running_var", &bt, one, 1, at_line(4, 9), err, sizeof err);
    rt_attrs a;
    rt_attrs_init(&a);
    a.pad[0] = a.pad[1] = 1;
    ir_id in3[3] = {x, w, b};
    ir_id c = ir_add_op(g, OP_CONV, &a, in3, 3, NULL, at_line(3, 9), err, sizeof err);
    ir_id r = ir_add_op(g, OP_RELU, NULL, &c, 1, NULL, at_line(5, 9), err, sizeof err);
    rt_attrs_init(&a);
    a.kernel[0] = a.kernel[1] = a.stride[0] = a.stride[1] = 2;
    ir_id p = ir_add_op(g, OP_MAXPOOL, &a, &r, 1, NULL, at_line(6, 9), err, sizeof err);
    ir_id half = ir_add_const(g, &s, 0.5, at_line(7, 20));
    ir_id in2[2] = {p, half};
    ir_id m = ir_add_op(g, OP_MUL, NULL, in2, 2, NULL, at_line(7, 16), err, sizeof err);
    ir_id l = ir_add_op(g, OP_MEAN, NULL, &m, 1, NULL, at_line(8, 12), err, sizeof err);
    ir_add_output(g, "mask", p);
    ir_add_output(g, "loss", l);
    return g;
}

TEST(ir_build_and_ids)
{
    ir_graph *g = tiny_graph();
    CHECK_INT(g->n_nodes, 10);
    CHECK_INT(g->n_outputs, 2);
    CHECK_STR(g->name, "tiny");
    const ir_node *c = &g->nodes[4];
    CHECK_INT(c->op, OP_CONV);
    CHECK_INT(c->n_in, 3);
    CHECK_INT(c->in[1], 1);
    CHECK_INT(c->span.line, 3);
    /* canonical attributes: nsp and kernel from the types */
    CHECK_INT(c->attrs.nsp, 2);
    CHECK_INT(c->attrs.kernel[0], 3);
    CHECK_INT(c->attrs.kernel[1], 3);
    CHECK_INT(g->nodes[9].attrs.axes, 0xf); /* mean over all axes, spelled out */
    CHECK_INT(g->nodes[9].type.rank, 0);
    CHECK_INT(ir_param_count(g, 0), 40);
    CHECK_INT(ir_param_count(g, 1), 44);
    ir_graph_free(g);
}

TEST(ir_print_golden)
{
    ir_graph *g = tiny_graph();
    CHECK_STR(capture(ir_print, g),
              "graph tiny\n"
              "%0 = input \"image\" : f32[1, 1, 8, 8]  # tiny.seg:2\n"
              "%1 = param \"enc.conv0.weight\" init=uniform(-0.333333, 0.333333) : f32[4, 1, 3, 3]  # tiny.seg:3\n"
              "%2 = param \"enc.conv0.bias\" init=uniform(-0.333333, 0.333333) : f32[4]  # tiny.seg:3\n"
              "%3 = buffer \"enc.bn0.running_var\" init=const(1) : f32[4]  # tiny.seg:4\n"
              "%4 = conv(%0, %1, %2) nsp=2 k=[3,3] stride=[1,1] pad=[1,1] dil=[1,1] groups=1 : f32[1, 4, 8, 8]  # tiny.seg:3\n"
              "%5 = relu(%4) : f32[1, 4, 8, 8]  # tiny.seg:5\n"
              "%6 = maxpool(%5) nsp=2 k=[2,2] stride=[2,2] pad=[0,0] : f32[1, 4, 4, 4]  # tiny.seg:6\n"
              "%7 = const 0.5 : f32[]  # tiny.seg:7\n"
              "%8 = mul(%6, %7) : f32[1, 4, 4, 4]  # tiny.seg:7\n"
              "%9 = mean(%8) axes=[0,1,2,3] : f32[]  # tiny.seg:8\n"
              "output \"mask\" = %6\n"
              "output \"loss\" = %9\n");
    ir_graph_free(g);
}

/* The op attributes each kind of node shows, and "?" for unknown files. */
TEST(ir_print_attrs)
{
    ir_graph *g = ir_graph_new("attrs");
    char err[256];
    rt_type xt = F32(2, 3, 4), w = F32(2, 3, 4);
    ir_id x = ir_add_input(g, "x", &xt, at_line(1, 1));
    rt_attrs a;
    rt_attrs_init(&a);
    a.axis = -1;
    ir_add_op(g, OP_SOFTMAX, &a, &x, 1, NULL, at_line(2, 1), err, sizeof err);
    ir_attrs_slice_all(&a);
    a.begin[2] = 1;
    a.step[2] = 2;
    ir_add_op(g, OP_SLICE, &a, &x, 1, NULL, at_line(3, 1), err, sizeof err);
    rt_attrs_init(&a);
    a.perm[0] = 2;
    a.perm[2] = 0;
    ir_add_op(g, OP_PERMUTE, &a, &x, 1, NULL, (seg_span){0}, err, sizeof err);
    rt_attrs_init(&a);
    a.axes = 0x6;
    a.keepdim = 1;
    ir_add_op(g, OP_SUM, &a, &x, 1, NULL, at_line(5, 1), err, sizeof err);
    rt_attrs_init(&a);
    a.lo = 0;
    a.hi = 0.25f;
    a.seed = 7;
    a.stream = 3;
    ir_add_op(g, OP_RAND_UNIFORM, &a, NULL, 0, &w, at_line(6, 1), err, sizeof err);
    rt_attrs_init(&a);
    a.lo = -1;
    a.hi = 1;
    ir_add_op(g, OP_CLAMP, &a, &x, 1, NULL, at_line(7, 1), err, sizeof err);
    CHECK_STR(capture(ir_print, g),
              "graph attrs\n"
              "%0 = input \"x\" : f32[2, 3, 4]  # ?:1\n"
              "%1 = softmax(%0) axis=2 : f32[2, 3, 4]  # ?:2\n"
              "%2 = slice(%0) begin=[0,0,1] end=[2,3,4] step=[1,1,2] : f32[2, 3, 2]  # ?:3\n"
              "%3 = permute(%0) perm=[2,1,0] : f32[4, 3, 2]\n"
              "%4 = sum(%0) axes=[1,2] keepdim=1 : f32[2, 1, 1]  # ?:5\n"
              "%5 = rand_uniform() lo=0 hi=0.25 seed=7 stream=3 : f32[2, 3, 4]  # ?:6\n"
              "%6 = clamp(%0) lo=-1 hi=1 : f32[2, 3, 4]  # ?:7\n");
    ir_graph_free(g);
}

TEST(ir_print_params_golden)
{
    ir_graph *g = ir_graph_new("p");
    char err[256];
    rt_init u = {RT_INIT_UNIFORM, -0.1f, 0.1f}, one = {RT_INIT_CONST, 1, 0};
    rt_type big = F32(1000, 2711), w = F32(32, 1, 3, 3, 3), b = F32(32), c = F32(393);
    ir_add_param(g, "head.linear0.weight", &big, u, 0, at_line(1, 1), err, sizeof err);
    ir_add_param(g, "bn.running_var", &b, one, 1, at_line(1, 1), err, sizeof err);
    ir_add_param(g, "level.1.encoder.conv0.weight", &w, u, 0, at_line(1, 1), err, sizeof err);
    ir_id id = ir_add_param(g, "level.1.encoder.conv0.bias", &c, u, 0, at_line(1, 1), err,
                            sizeof err);
    g->nodes[id].param->frozen = 1;
    CHECK_STR(capture(ir_print_params, g),
              "head.linear0.weight           [1000, 2711]      2,711,000\n"
              "level.1.encoder.conv0.weight  [32, 1, 3, 3, 3]        864\n"
              "level.1.encoder.conv0.bias    [393]                   393  (frozen)\n"
              "bn.running_var                [32]                     32  (buffer)\n"
              "total: 2,712,257 parameters (2712257)\n");
    ir_graph_free(g);
    g = ir_graph_new("empty");
    CHECK_STR(capture(ir_print_params, g), "total: 0 parameters (0)\n");
    ir_graph_free(g);
}

TEST(ir_param_sharing)
{
    ir_graph *g = ir_graph_new("share");
    char err[256] = "";
    rt_type w = F32(8, 4, 3, 3), w2 = F32(8, 2, 3, 3);
    rt_init u = {RT_INIT_UNIFORM, -1, 1};
    ir_id a = ir_add_param(g, "shared.weight", &w, u, 0, at_line(1, 1), err, sizeof err);
    ir_id b = ir_add_param(g, "shared.weight", &w, u, 0, at_line(2, 1), err, sizeof err);
    CHECK_INT(a, b);
    CHECK_INT(g->n_nodes, 1);
    CHECK_INT(ir_add_param(g, "shared.weight", &w2, u, 0, at_line(3, 1), err, sizeof err), -1);
    CHECK_STR(err, "parameter `shared.weight` already exists with type f32[8, 4, 3, 3]; "
                   "this use needs f32[8, 2, 3, 3]");
    CHECK_INT(ir_add_param(g, "shared.weight", &w, u, 1, at_line(3, 1), err, sizeof err), -1);
    CHECK_STR(err, "`shared.weight` already exists as a parameter; this use needs a buffer");
    CHECK_INT(ir_add_param(g, "shared.weight", &w2, u, 0, at_line(3, 1), NULL, 0), -1);
    CHECK_INT(g->n_nodes, 1);
    ir_graph_free(g);
}

TEST(ir_add_op_errors)
{
    ir_graph *g = ir_graph_new("bad");
    char err[256];
    rt_type a = F32(2, 3), b = F32(4);
    ir_id in[2] = {ir_add_input(g, "a", &a, at_line(1, 1)), ir_add_input(g, "b", &b, at_line(1, 1))};
    CHECK_INT(ir_add_op(g, OP_ADD, NULL, in, 2, NULL, at_line(2, 1), err, sizeof err), -1);
    CHECK_STR(err, "add: shapes f32[2, 3] and f32[4] cannot broadcast");
    CHECK_INT(ir_add_op(g, OP_RELU, NULL, in, 2, NULL, at_line(2, 1), err, sizeof err), -1);
    CHECK_STR(err, "relu: expects 1 input, got 2");
    CHECK_INT(g->n_nodes, 2);
    ir_graph_free(g);
}

/* Many nodes: the node array grows and ids stay dense. */
TEST(ir_growth)
{
    ir_graph *g = ir_graph_new("long");
    char err[256];
    rt_type t = F32(4);
    ir_id x = ir_add_input(g, "x", &t, at_line(1, 1));
    for (int i = 0; i < 1000; i++)
        x = ir_add_op(g, OP_TANH, NULL, &x, 1, NULL, at_line(2, 1), err, sizeof err);
    for (int i = 0; i < 20; i++)
        ir_add_output(g, "y", x);
    CHECK_INT(x, 1000);
    CHECK_INT(g->nodes[1000].in[0], 999);
    CHECK_INT(g->n_outputs, 20);
    ir_graph_free(g);
}

TEST(ir_lower_program)
{
    long live = seg_alloc_live();
    ir_graph *g = tiny_graph();
    rt_program *p = ir_lower(g);
    ir_graph_free(g); /* the program must not point into the graph */
    CHECK_INT(p->n_values, 10);
    CHECK_INT(p->values[0].kind, RT_VAL_INPUT);
    CHECK_STR(p->values[0].name, "image");
    CHECK_INT(p->values[1].kind, RT_VAL_PARAM);
    CHECK_INT(p->values[1].init.kind, RT_INIT_UNIFORM);
    CHECK_STR(p->values[1].name, "enc.conv0.weight");
    CHECK_INT(p->values[3].kind, RT_VAL_BUFFER);
    CHECK_NEAR(p->values[3].init.a, 1, 0);
    CHECK_INT(p->values[7].kind, RT_VAL_TEMP);
    CHECK(p->values[7].name == NULL);
    CHECK_INT(p->n_instrs, 6); /* conv relu maxpool const mul mean */
    CHECK_INT(p->instrs[0].op, OP_CONV);
    CHECK_INT(p->instrs[0].out, 4);
    CHECK_INT(p->instrs[0].n_in, 3);
    CHECK_INT(p->instrs[0].in[2], 2);
    CHECK_INT(p->instrs[0].attrs.pad[1], 1);
    CHECK_STR(p->instrs[0].where, "models/tiny.seg:3:9: conv");
    CHECK_INT(p->instrs[3].op, OP_CONST);
    CHECK_INT(p->instrs[3].n_in, 0);
    CHECK_NEAR(p->instrs[3].attrs.value, 0.5, 0);
    CHECK_STR(p->instrs[3].where, "models/tiny.seg:7:20: const");
    CHECK_INT(p->n_outputs, 2);
    CHECK_STR(p->output_names[1], "loss");
    CHECK_INT(p->outputs[1], 9);
    char ty[64];
    CHECK_STR(rt_type_str(&p->values[6].type, ty, sizeof ty), "f32[1, 4, 4, 4]");
    rt_program_free(p);
    rt_program_free(NULL);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(ir_lower_no_files)
{
    ir_graph *g = ir_graph_new("nofile");
    char err[256];
    rt_type t = F32(3);
    ir_id x = ir_add_input(g, "x", &t, (seg_span){0});
    ir_add_output(g, "y", ir_add_op(g, OP_EXP, NULL, &x, 1, NULL, at_line(4, 2), err, sizeof err));
    rt_program *p = ir_lower(g);
    CHECK_STR(p->instrs[0].where, "?:4:2: exp");
    CHECK_STR(capture(ir_print, g), "graph nofile\n"
                                    "%0 = input \"x\" : f32[3]\n"
                                    "%1 = exp(%0) : f32[3]  # ?:4\n"
                                    "output \"y\" = %1\n");
    rt_program_free(p);
    ir_graph_free(g);
}

TEST(ir_no_leaks)
{
    long live = seg_alloc_live();
    for (int i = 0; i < 3; i++) {
        ir_graph *g = tiny_graph();
        rt_program_free(ir_lower(g));
        ir_graph_free(g);
    }
    ir_graph_free(NULL);
    CHECK_INT(seg_alloc_live(), live);
}
