/* test_jit_models.c — one full training step (forward, loss, backward),
 * and one evaluation forward, of every model in models/ on the JIT against
 * the reference interpreter.
 *
 * tests/unit/jit_models.seg trains each model (small sizes) with the loss
 * its own schedule uses; frozen stages (Boosting grow2, distillation kd)
 * are included. Per stage, the unfused training program runs on the
 * reference interpreter without a memory plan, so every value stays. The
 * fused program (compiler/fuse.c) then replays it one instruction at a
 * time on its JIT kernels (convolutions and their gradients, fused
 * groups, fast runtime kernels), each fed the reference's inputs: every
 * result agrees within a relative 1e-4 (relative to the tensor's largest
 * magnitude). Values only the fused program has (the folded weights of
 * inference batch norms) are its own; what they feed is compared. Whole steps are compared too: the fused program on JIT
 * kernels and its memory plan gives the reference's loss within 1e-3
 * (not tighter: max-pool ties and ReLUs at zero may route a rounding
 * difference differently, and batch norm over few values amplifies it),
 * and 1 and 2 threads give the same bits for the loss and every gradient,
 * as does a run with denormals kept (IEEE) instead of flushed to zero
 * (runtime/fpmode.c): flushing them changes no model's training step.
 * Each stage's evaluation program (what validation runs: inference batch
 * norms folded into the convs) is checked whole the same way, every output
 * within 1e-4.
 */
#include "../../lang/lang.h"
#include "../../lang/lang.h"
#include "compiler/compiler.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MODELS "tests/unit/jit_models.seg"

static void fill_input(rt_tensor *t, const char *name, uint64_t seed)
{
    int64_t n = rt_type_numel(&t->type);
    int label = strstr(name, "label") != NULL;
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(seed >> 40) / (double)(1ull << 24);
        if (t->type.dtype == RT_F32)
            rt_f32(t)[i] = label ? (float)(u < 0.3) : (float)u;
        else if (t->type.dtype == RT_I32)
            rt_i32(t)[i] = u < 0.3;
        else
            rt_u8(t)[i] = u < 0.3;
    }
}

static rt_interp *make_interp(const rt_program *p, const rt_mem_plan *m, int threads)
{
    rt_interp *it = rt_interp_new_planned(p, m, 7, threads);
    for (int v = 0; v < p->n_values; v++)
        if (p->values[v].kind == RT_VAL_INPUT)
            fill_input(rt_interp_value_at(it, v), p->values[v].name, 1000 + (uint64_t)v);
    return it;
}

static int run(rt_interp *it, const char *what)
{
    rt_error err = {""};
    int rc = rt_interp_run(it, 3, &err);
    if (rc)
        printf("    %s: %s\n", what, err.msg);
    CHECK_INT(rc, 0);
    return rc;
}

/* a within rel of b, relative to b's largest magnitude (at least 1e-5). */
static int close_tensor(const rt_tensor *a, const rt_tensor *b, double rel, const char *what)
{
    if (a->type.dtype != RT_F32)
        return memcmp(a->data, b->data, (size_t)rt_type_numel(&a->type) * rt_dtype_size(a->type.dtype)) == 0;
    const float *x = rt_f32(a), *y = rt_f32(b);
    int64_t n = rt_type_numel(&b->type);
    double scale = 1e-5;
    for (int64_t i = 0; i < n; i++)
        scale = fabs(y[i]) > scale ? fabs(y[i]) : scale;
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(x[i] - y[i]) <= rel * scale)) {
            printf("    %s[%lld]: %.9g vs %.9g (scale %.3g)\n", what, (long long)i, x[i], y[i], scale);
            return 0;
        }
    return 1;
}

static int same_bits(const rt_tensor *a, const rt_tensor *b)
{
    return memcmp(a->data, b->data, (size_t)rt_type_numel(&a->type) * sizeof(float)) == 0;
}

static void copy_tensor(rt_tensor *to, const rt_tensor *from)
{
    memcpy(to->data, from->data, (size_t)rt_type_numel(&from->type) * rt_dtype_size(from->type.dtype));
}

/* Replay: each instruction of q on the JIT table t, from ref's values. */
static void replay(const rt_program *p, const rt_program *q, const rt_kernel_table *t, int bias_sums,
                   int blocked_values, rt_interp *ref, const char *stage)
{
    rt_interp *jq = rt_interp_new_planned(q, NULL, 7, 2);
    rt_interp_set_kernels(jq, t);
    int n_ref = p->n_values; /* q may add values (folded batch norms) */
    for (int v = 0; v < n_ref; v++)
        if (q->values[v].kind != RT_VAL_FUSED)
            copy_tensor(rt_interp_value_at(jq, v), rt_interp_value_at(ref, v));
    int bad = 0, biases = 0, blocked = 0;
    for (int i = 0; i < q->n_instrs && bad < 3; i++) {
        const rt_instr *ins = &q->instrs[i];
        rt_error err = {""};
        char what[300];
        snprintf(what, sizeof what, "%s #%d %s", stage, i, ins->where ? ins->where : "?");
        if (rt_interp_run_one(jq, i, 3, &err)) {
            printf("    %s: %s\n", what, err.msg);
            bad++;
            continue;
        }
        int outs[2] = {ins->out, t->kernel[i] ? t->kernel[i]->bias_out : -1};
        for (int o = 0; o < 2 && outs[o] >= 0 && outs[o] < n_ref; o++) { /* and a bias gradient */
            rt_tensor *mine = rt_interp_value_at(jq, outs[o]), *want = rt_interp_value_at(ref, outs[o]);
            if (o == 0 && t->blocked && t->blocked[i]) { /* stored blocked: compare it plain */
                rt_tensor *plain = rt_tensor_new(&mine->type);
                rt_layout_value_unblock(mine, rt_f32(plain), t->vl);
                bad += !close_tensor(plain, want, 1e-4, what);
                rt_tensor_free(plain);
                rt_layout_value_block(rt_f32(want), mine, t->vl); /* the reference, blocked */
                blocked++;
                continue;
            }
            if (!close_tensor(mine, want, 1e-4, what))
                bad++;
            copy_tensor(mine, want); /* the next instructions read the reference */
            if (o == 1)
                biases++;
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(biases, bias_sums);
    CHECK_INT(blocked, blocked_values); /* each stored-blocked result compared, plain */
    rt_interp_free(jq);
}

static void compare_steps(const rt_program *p, rt_interp *ref, rt_interp *j1, rt_interp *j2,
                          const char *stage)
{
    int grads = 0;
    for (int o = 0; o < p->n_outputs; o++) {
        const char *name = p->output_names[o];
        if (strcmp(name, "loss") && strncmp(name, "grad:", 5))
            continue;
        grads += name[0] == 'g';
        char what[200];
        snprintf(what, sizeof what, "%s %s", stage, name);
        rt_tensor *a = rt_interp_output(j1, name);
        if (name[0] == 'l')
            CHECK(close_tensor(a, rt_interp_output(ref, name), 1e-3, what));
        CHECK(same_bits(a, rt_interp_output(j2, name)));
    }
    CHECK(grads > 0);
}

/* Stage k of schedule s: reference vs JIT, with at least min_blocked
 * results stored blocked between kernels. */
static void check_stage(seg_program *prog, const seg_schedule *s, int k, seg_diag *d,
                        int min_blocked)
{
    char msg[256], what[160];
    snprintf(what, sizeof what, "%s/%s", s->name, s->stages[k].name);
    ir_graph *g = seg_stage_graph(prog, s, k, 1, d);
    ir_graph *x = g ? ir_training_graph(g, 0, NULL, NULL, msg, sizeof msg) : NULL;
    CHECK(x != NULL);
    if (!x) {
        printf("    %s: does not compile\n", what);
        ir_graph_free(g);
        return;
    }
    /* q: the step as `segc train` compiles it (compiler/pipeline.c) */
    pipeline_opts po = {.mode = PIPELINE_TRAIN, .jit = 1, .compile = 1};
    pipeline_result pr;
    rt_error err = {""};
    rt_program *p = ir_lower(x);
    int built = pipeline_build(g, &po, &pr, &err);
    CHECK_INT(built, PIPELINE_OK);
    rt_program *q = built == PIPELINE_OK ? pr.prog : NULL;
    jit_program *jp = built == PIPELINE_OK ? pr.kernels : NULL;
    if (jp) {
        const jit_program_stats *st = jit_program_stats_of(jp);
        CHECK_INT(st->kernels, st->convs); /* every conv on the JIT */
        CHECK_INT(st->groups_jit, st->groups);
        CHECK(st->blocked_values >= min_blocked);
        rt_interp *ref = make_interp(p, NULL, 2), *j1 = make_interp(q, q->plan, 1);
        rt_interp *j2 = make_interp(q, q->plan, 2);
        int flush = rt_fp_denormals_flushed();
        rt_fp_denormals_set(!flush); /* j3's pool: the other denormal mode */
        rt_interp *j3 = make_interp(q, q->plan, 2);
        rt_fp_denormals_set(flush);
        rt_interp_set_kernels(j1, jit_program_table(jp));
        rt_interp_set_kernels(j2, jit_program_table(jp));
        rt_interp_set_kernels(j3, jit_program_table(jp));
        if (!run(ref, what) && !run(j1, what) && !run(j2, what) && !run(j3, what)) {
            replay(p, q, jit_program_table(jp), st->bias_sums, st->blocked_values, ref, what);
            compare_steps(p, ref, j1, j2, what);
            compare_steps(p, ref, j1, j3, what);
        }
        rt_interp_free(j3);
        rt_interp_free(ref);
        rt_interp_free(j1);
        rt_interp_free(j2);
        pipeline_result_free(&pr);
    } else {
        printf("    %s: %s\n", what, err.msg);
    }
    rt_program_free(p);
    ir_graph_free(x);
    ir_graph_free(g);
}

/* The evaluation program of stage k, as the trainer validates with it
 * (compiler/pipeline.c: inference batch norms folded into their convs): its
 * memory plan holds every value an instruction touches, and the fused
 * program on JIT kernels and that plan gives every output of the unfused
 * program on the reference within a relative 1e-4, the same bits on 1 and
 * 2 threads. */
static void check_eval(seg_program *prog, const seg_schedule *s, int k, seg_diag *d)
{
    char msg[256], what[160];
    snprintf(what, sizeof what, "%s/%s eval", s->name, s->stages[k].name);
    ir_graph *g = seg_stage_graph(prog, s, k, 0, d);
    ir_graph *x = g ? ir_expand_grads(g, NULL, msg, sizeof msg) : NULL;
    CHECK(x != NULL);
    if (!x) {
        printf("    %s: does not compile\n", what);
        ir_graph_free(g);
        return;
    }
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = 1};
    pipeline_result pr;
    rt_error err = {""};
    rt_program *p = ir_lower(x);
    CHECK_INT(pipeline_build(g, &po, &pr, &err), PIPELINE_OK);
    rt_program *q = pr.prog;
    int planned = q && rt_mem_plan_check(q, q->plan, &err) == 0; /* else running it would crash */
    if (!planned)
        printf("    %s: %s\n", what, err.msg);
    CHECK(planned);
    jit_program *jp = planned ? jit_program_build(q, NULL, &err) : NULL;
    CHECK(!planned || jp != NULL);
    if (jp) {
        const jit_program_stats *st = jit_program_stats_of(jp);
        CHECK_INT(st->kernels, st->convs);
        CHECK_INT(st->groups_jit, st->groups);
        rt_interp *ref = make_interp(p, NULL, 2), *j1 = make_interp(q, q->plan, 1);
        rt_interp *j2 = make_interp(q, q->plan, 2);
        rt_interp_set_kernels(j1, jit_program_table(jp));
        rt_interp_set_kernels(j2, jit_program_table(jp));
        if (!run(ref, what) && !run(j1, what) && !run(j2, what))
            for (int o = 0; o < p->n_outputs; o++) {
                const char *name = p->output_names[o];
                char out[240];
                snprintf(out, sizeof out, "%s %s", what, name);
                rt_tensor *a = rt_interp_output(j1, name);
                CHECK(close_tensor(a, rt_interp_output(ref, name), 1e-4, out));
                CHECK(same_bits(a, rt_interp_output(j2, name)));
            }
        rt_interp_free(ref);
        rt_interp_free(j1);
        rt_interp_free(j2);
        jit_program_free(jp);
    } else if (planned) {
        printf("    %s: %s\n", what, err.msg);
    }
    rt_program_free(p);
    pipeline_result_free(&pr);
    ir_graph_free(x);
    ir_graph_free(g);
}

static void check_schedule(const char *name, int min_blocked)
{
    long live = seg_alloc_live();
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    seg_diag *d = seg_diag_new(mem);
    seg_program *prog = seg_load(MODELS, d);
    const seg_schedule *s = prog ? seg_program_schedule(prog, name) : NULL;
    fflush(mem);
    if (!s)
        test_fail_at(__FILE__, __LINE__, "cannot load %s schedule %s (run from the repo root): %s",
                     MODELS, name, text ? text : "");
    for (int k = 0; s && k < s->n_stages; k++) {
        check_stage(prog, s, k, d, min_blocked);
        check_eval(prog, s, k, d);
    }
    if (prog)
        seg_program_free(prog);
    seg_diag_free(d);
    fclose(mem);
    free(text);
    CHECK_INT(seg_alloc_live(), live);
}

/* Minimum stored-blocked results per stage: what each model's step keeps
 * blocked today (U-Net convs and concats; none where batch norms, PReLUs
 * or 4-channel layers sit between convs). */
TEST(jit_models_boosting_unet3d) { check_schedule("t_boosting", 9); }
TEST(jit_models_brain_t1) { check_schedule("t_brain", 1); }
TEST(jit_models_cct2d) { check_schedule("t_cct", 2); }
TEST(jit_models_densenet3d) { check_schedule("t_densenet", 0); }
TEST(jit_models_distill_2d) { check_schedule("t_distill", 4); }
TEST(jit_models_unet2d) { check_schedule("t_unet2d", 4); }
TEST(jit_models_vnet) { check_schedule("t_vnet", 0); }
/* conv -> elementwise group -> conv, and the loss's gradient: groups on
 * blocked values (h, g and their gradients, and dy of y) */
TEST(jit_models_layouts) { check_schedule("t_layouts", 5); }
