/* test_interp.c — the reference interpreter (runtime/interp.c) and
 * parameter initialisation (runtime/init.c).
 *
 * A small graph built with the ir_* API, lowered and run, with its values
 * checked by hand; input binding errors; kernel errors prefixed with the
 * instruction's source location; and the initialisation contract: the
 * same seed gives the same weights whatever the creation order, another
 * seed or another name gives other weights, and the distributions have
 * the asked-for range or moments.
 */
#include "compiler/compiler.h"
#include "test.h"

#include <string.h>

static const seg_span nowhere = {0, 0, 0, 0, 0};

static rt_type f32_type(int rank, const int64_t *dims)
{
    rt_type t;
    memset(&t, 0, sizeof t);
    t.dtype = RT_F32;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dim[i] = dims[i];
    return t;
}

static ir_id op2(ir_graph *g, rt_op op, ir_id a, ir_id b)
{
    rt_attrs at;
    rt_attrs_init(&at);
    ir_id in[2] = {a, b};
    char err[256] = "";
    ir_id id = ir_add_op(g, op, &at, in, b < 0 ? 1 : 2, NULL, nowhere, err, sizeof err);
    if (id < 0)
        test_fail_at(__FILE__, __LINE__, "ir_add_op(%s): %s", rt_op_table[op].name, err);
    return id;
}

/* y = relu(x * w + b), w = 2 and b = -1 by constant initialisers. */
static ir_graph *affine_relu_graph(void)
{
    const int64_t dims[3] = {1, 2, 3};
    rt_type t = f32_type(3, dims);
    char err[256];
    ir_graph *g = ir_graph_new("affine");
    ir_id x = ir_add_input(g, "x", &t, nowhere);
    ir_id w = ir_add_param(g, "w", &t, (rt_init){RT_INIT_CONST, 2, 0}, 0, nowhere, err, sizeof err);
    ir_id b = ir_add_param(g, "b", &t, (rt_init){RT_INIT_CONST, -1, 0}, 0, nowhere, err, sizeof err);
    ir_id y = op2(g, OP_RELU, op2(g, OP_ADD, op2(g, OP_MUL, x, w), b), -1);
    ir_add_output(g, "y", y);
    return g;
}

TEST(interp_runs_a_small_graph)
{
    long live = seg_alloc_live();
    ir_graph *g = affine_relu_graph();
    rt_program *p = ir_lower(g);
    ir_graph_free(g);
    rt_interp *it = rt_interp_new(p, 7, 1);
    const int64_t dims[3] = {1, 2, 3};
    rt_tensor *x = rt_tensor_new(&(rt_type){RT_F32, 3, {1, 2, 3}});
    const float xs[6] = {-1, 0, 0.25f, 0.5f, 1, 2};
    memcpy(x->data, xs, sizeof xs);
    rt_error err = {{0}};
    CHECK_INT(rt_interp_set_input(it, "x", x, &err), 0);
    CHECK_INT(rt_interp_run(it, 0, &err), 0);
    CHECK_STR(err.msg, "");
    rt_tensor *y = rt_interp_output(it, "y");
    CHECK(y != NULL);
    const float want[6] = {0, 0, 0, 0, 1, 3};
    for (int i = 0; y && i < 6; i++)
        CHECK_NEAR(rt_f32(y)[i], want[i], 1e-6);
    rt_tensor *w = rt_interp_value(it, "w");
    CHECK(w && rt_f32(w)[5] == 2.0f);
    CHECK(rt_interp_value(it, "nope") == NULL);
    CHECK(rt_interp_output(it, "nope") == NULL);
    CHECK(rt_interp_value_at(it, -1) == NULL);
    CHECK(rt_type_equal(&rt_interp_value_at(it, 0)->type, &(rt_type){RT_F32, 3, {dims[0], dims[1], dims[2]}}));
    rt_tensor_free(x);
    rt_interp_free(it);
    rt_program_free(p);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(interp_set_input_checks_name_and_type)
{
    long live = seg_alloc_live();
    ir_graph *g = affine_relu_graph();
    rt_program *p = ir_lower(g);
    ir_graph_free(g);
    rt_interp *it = rt_interp_new(p, 0, 1);
    rt_tensor *bad = rt_tensor_new(&(rt_type){RT_F32, 3, {1, 3, 2}});
    rt_error err = {{0}};
    CHECK_INT(rt_interp_set_input(it, "x", bad, &err), -1);
    CHECK(strstr(err.msg, "'x'") && strstr(err.msg, "f32[1, 2, 3]") && strstr(err.msg, "f32[1, 3, 2]"));
    CHECK_INT(rt_interp_set_input(it, "image", bad, &err), -1);
    CHECK(strstr(err.msg, "'image'") && strstr(err.msg, "inputs: x"));
    CHECK_INT(rt_interp_set_input(it, "w", bad, &err), -1); /* a param, not an input */
    rt_tensor_free(bad);
    rt_interp_free(it);
    rt_program_free(p);
    CHECK_INT(seg_alloc_live(), live);
}

/* A hand-built program whose one instruction fails: the error starts with
 * the instruction's location, and the op name is said once. */
TEST(interp_kernel_error_names_the_source)
{
    rt_value vals[3] = {
        {.type = {RT_F32, 1, {4}}, .kind = RT_VAL_INPUT, .name = "a"},
        {.type = {RT_F32, 1, {4}}, .kind = RT_VAL_INPUT, .name = "b"},
        {.type = {RT_F32, 1, {4}}, .kind = RT_VAL_TEMP},
    };
    int ins_in[2] = {0, 1};
    rt_instr ins = {.op = OP_GRAD, .n_in = 2, .in = ins_in, .out = 2, .where = "t.seg:3:9: grad"};
    rt_attrs_init(&ins.attrs);
    int outs[1] = {2};
    const char *names[1] = {"g"};
    rt_program p = {NULL, vals, 3, &ins, 1, outs, names, 1, NULL};
    rt_interp *it = rt_interp_new(&p, 0, 1);
    rt_error err = {{0}};
    CHECK_INT(rt_interp_run(it, 0, &err), -1);
    CHECK(strncmp(err.msg, "t.seg:3:9: grad: ", 17) == 0);
    CHECK(strstr(err.msg, "grad: grad:") == NULL);
    rt_interp_free(it);
}

/* ------------------------------------------------------ initialisation */

static ir_graph *two_param_graph(int swap, const char *n1, const char *n2)
{
    const int64_t d1[2] = {8, 3}, d2[1] = {5};
    rt_type t1 = f32_type(2, d1), t2 = f32_type(1, d2);
    rt_init u = {RT_INIT_UNIFORM, -1, 1};
    char err[256];
    ir_graph *g = ir_graph_new("params");
    for (int k = 0; k < 2; k++) {
        if ((k == 0) != (swap != 0))
            ir_add_param(g, n1, &t1, u, 0, nowhere, err, sizeof err);
        else
            ir_add_param(g, n2, &t2, u, 0, nowhere, err, sizeof err);
    }
    return g;
}

/* Copy of the named parameter's values after initialisation. */
static void param_values(const char *n1, const char *n2, int swap, uint64_t seed, const char *which,
                         float *out, int n)
{
    ir_graph *g = two_param_graph(swap, n1, n2);
    rt_program *p = ir_lower(g);
    ir_graph_free(g);
    rt_interp *it = rt_interp_new(p, seed, 1);
    rt_tensor *t = rt_interp_value(it, which);
    CHECK(t != NULL);
    if (t)
        memcpy(out, t->data, (size_t)n * sizeof *out);
    rt_interp_free(it);
    rt_program_free(p);
}

TEST(init_same_seed_same_weights_any_order)
{
    float a[24], b[24], c[24];
    param_values("conv0.weight", "conv0.bias", 0, 11, "conv0.weight", a, 24);
    param_values("conv0.weight", "conv0.bias", 1, 11, "conv0.weight", b, 24);
    param_values("conv0.weight", "conv0.bias", 0, 12, "conv0.weight", c, 24);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    int in_range = 1;
    for (int i = 0; i < 24; i++)
        in_range &= a[i] >= -1 && a[i] < 1;
    CHECK(in_range);
}

TEST(init_different_names_different_streams)
{
    float a[5], b[5];
    param_values("enc.conv0.weight", "enc.conv0.bias", 0, 3, "enc.conv0.bias", a, 5);
    param_values("enc.conv0.weight", "enc.conv1.bias", 0, 3, "enc.conv1.bias", b, 5);
    CHECK(memcmp(a, b, sizeof a) != 0);
    rt_tensor *x = rt_tensor_new(&(rt_type){RT_F32, 1, {5}});
    rt_init u = {RT_INIT_UNIFORM, -1, 1};
    rt_param_init(x, &u, "enc.conv0.bias", 3); /* direct call agrees with the interpreter */
    CHECK(memcmp(x->data, a, sizeof a) == 0);
    rt_tensor_free(x);
}

TEST(init_distributions)
{
    enum { N = 20000 };
    rt_tensor *t = rt_tensor_new(&(rt_type){RT_F32, 1, {N}});
    rt_init nrm = {RT_INIT_NORMAL, 3, 0.5f};
    rt_param_init(t, &nrm, "bn.weight", 1);
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++)
        s += rt_f32(t)[i], s2 += (double)rt_f32(t)[i] * rt_f32(t)[i];
    double mean = s / N, var = s2 / N - mean * mean;
    CHECK_NEAR(mean, 3, 0.01);
    CHECK_NEAR(sqrt(var), 0.5, 0.02);
    rt_init uni = {RT_INIT_UNIFORM, 2, 4};
    rt_param_init(t, &uni, "w", 1);
    double lo = 9, hi = -9;
    s = 0;
    for (int i = 0; i < N; i++) {
        float v = rt_f32(t)[i];
        lo = v < lo ? v : lo, hi = v > hi ? v : hi, s += v;
    }
    CHECK(lo >= 2 && hi < 4);
    CHECK_NEAR(s / N, 3, 0.02);
    rt_init cst = {RT_INIT_CONST, 1, 0};
    rt_param_init(t, &cst, "bn.running_var", 1);
    CHECK(rt_f32(t)[0] == 1 && rt_f32(t)[N - 1] == 1);
    rt_tensor_free(t);
}
