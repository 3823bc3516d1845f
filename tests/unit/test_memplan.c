/* test_memplan.c — the static memory plan (compiler/memplan.c) and the
 * interpreter on one arena (runtime/arena_plan.c, runtime/interp.c).
 *
 *   - Invariants on real training programs (the Boosting U-Net's
 *     "boosting" and "demo" stages, built as the trainer builds them;
 *     nothing runs): checked here by brute force, independently of
 *     rt_mem_plan_check — every temp inside the arena on a 64-byte
 *     boundary, no two temps live at the same time share a byte, outputs
 *     live to the end, the arena between the live-bytes lower bound and
 *     the sum of sizes; and the same plan twice (deterministic).
 *   - The densest plan (a 3,000-layer loop's training step) is sound and
 *     its gap search bounded (the planner is O(n log n)).
 *   - rt_mem_plan_check rejects broken plans (and programs whose
 *     instructions touch values that are never stored).
 *   - Training steps of tests/cli/train/tiny.seg (both stages) with SGD
 *     updates: loss, outputs and parameters bit-identical to the
 *     one-tensor-per-value interpreter; grad outputs stay at one address.
 *   - The JIT's fused ReLUs: the plan starts the ReLU's interval at the
 *     conv, planned + JIT gives the bits of unplanned + JIT, and a kernel
 *     table that writes a value early gets that value its own storage.
 *   - No leaks.
 */
#include "../../lang/lang.h"
#include "../../lang/lang.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

static ir_id find_output(const ir_graph *g, const char *name)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0)
            return g->outputs[i].id;
    return -1;
}

/* Stage k of schedule `sched` in `path` lowered as train_build.c does:
 * grad() expanded, backward appended, "grad:<param>" outputs (training
 * = 1); or the inference program (training = 0). */
static rt_program *stage_program(const char *path, const char *sched, int k, int training)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    seg_diag *d = seg_diag_new(mem);
    seg_program *sp = seg_load(path, d);
    const seg_schedule *s = sp ? seg_program_schedule(sp, sched) : NULL;
    ir_graph *g = s ? seg_stage_graph(sp, s, k, training, d) : NULL;
    char err[256] = "";
    ir_graph *x = g ? ir_expand_grads(g, NULL, err, sizeof err) : NULL;
    rt_program *p = NULL;
    if (x && training) {
        ir_id loss = find_output(x, "loss");
        ir_id *grads = seg_xcalloc((size_t)x->n_nodes, sizeof *grads);
        if (ir_autodiff(x, loss, grads, NULL, err, sizeof err) >= 0) {
            for (ir_id v = 0; v < x->n_nodes && v < loss; v++)
                if (grads[v] >= 0)
                    ir_add_output(x, seg_arena_printf(x->arena, "grad:%s", x->nodes[v].name),
                                  grads[v]);
            p = ir_lower(x);
        }
        seg_free(grads);
    } else if (x)
        p = ir_lower(x);
    fflush(mem);
    if (!p)
        test_fail_at(__FILE__, __LINE__, "cannot build %s %s stage %d (run from the repo root): %s%s",
                     path, sched, k, err, text ? text : "");
    if (x)
        ir_graph_free(x);
    if (g)
        ir_graph_free(g);
    if (sp)
        seg_program_free(sp);
    seg_diag_free(d);
    fclose(mem);
    free(text);
    return p;
}

static int is_output(const rt_program *p, int v)
{
    for (int o = 0; o < p->n_outputs; o++)
        if (p->outputs[o] == v)
            return 1;
    return 0;
}

/* Brute-force invariants of m for p; returns the number of violations. */
static int brute_check(const rt_program *p, const rt_mem_plan *m, const char *what)
{
    int bad = 0;
    int64_t sum = 0;
    for (int v = 0; v < p->n_values; v++) {
        const rt_value *val = &p->values[v];
        int64_t b = rt_type_numel(&val->type) * (int64_t)rt_dtype_size(val->type.dtype);
        if (val->kind != RT_VAL_TEMP) {
            bad += m->offset[v] != -1;
            continue;
        }
        sum += (b + 63) / 64 * 64;
        if (m->offset[v] < 0 || m->offset[v] % 64 || m->offset[v] + b > m->arena_bytes) {
            if (!bad++)
                test_fail_at(__FILE__, __LINE__, "%s: value %d at %lld + %lld outside an arena of %lld",
                             what, v, (long long)m->offset[v], (long long)b, (long long)m->arena_bytes);
        }
        if (is_output(p, v) && m->last[v] != p->n_instrs && !bad++)
            test_fail_at(__FILE__, __LINE__, "%s: output value %d dies at %d", what, v, m->last[v]);
    }
    /* definition and every use inside the interval */
    for (int i = 0; i < p->n_instrs; i++) {
        const rt_instr *ins = &p->instrs[i];
        if (m->first[ins->out] > i || m->last[ins->out] < i)
            bad++;
        for (int k = 0; k < ins->n_in; k++)
            if (p->values[ins->in[k]].kind == RT_VAL_TEMP &&
                (m->first[ins->in[k]] > i || m->last[ins->in[k]] < i))
                bad++;
    }
    for (int a = 0; a < p->n_values; a++)
        for (int b = a + 1; b < p->n_values; b++) {
            if (m->offset[a] < 0 || m->offset[b] < 0 || !m->bytes[a] || !m->bytes[b])
                continue;
            int time = m->first[a] <= m->last[b] && m->first[b] <= m->last[a];
            int space = m->offset[a] < m->offset[b] + m->bytes[b] &&
                        m->offset[b] < m->offset[a] + m->bytes[a];
            if (time && space && !bad++)
                test_fail_at(__FILE__, __LINE__, "%s: values %d and %d are live together and overlap",
                             what, a, b);
        }
    if (m->arena_bytes < m->live_peak_bytes || m->arena_bytes > sum) {
        bad++;
        test_fail_at(__FILE__, __LINE__, "%s: arena %lld outside [%lld, %lld]", what,
                     (long long)m->arena_bytes, (long long)m->live_peak_bytes, (long long)sum);
    }
    if (bad)
        test_fail_at(__FILE__, __LINE__, "%s: %d violations", what, bad);
    return bad;
}

/* ------------------------------------------------------------- invariants */

static void check_stage(const char *sched, int k)
{
    char what[64];
    snprintf(what, sizeof what, "%s stage %d", sched, k + 1);
    rt_program *p = stage_program("models/boosting_unet3d.seg", sched, k, 1);
    if (!p)
        return;
    seg_arena *a1 = seg_arena_new(), *a2 = seg_arena_new();
    const rt_mem_plan *m = mem_plan_build(p, NULL, a1), *m2 = mem_plan_build(p, NULL, a2);
    rt_error err = {""};
    if (rt_mem_plan_check(p, m, &err))
        test_fail_at(__FILE__, __LINE__, "%s: %s", what, err.msg);
    brute_check(p, m, what);
    /* deterministic */
    size_t nv = (size_t)p->n_values;
    CHECK(memcmp(m->offset, m2->offset, nv * sizeof *m->offset) == 0);
    CHECK(memcmp(m->first, m2->first, nv * sizeof *m->first) == 0);
    CHECK(memcmp(m->last, m2->last, nv * sizeof *m->last) == 0);
    CHECK_INT(m->arena_bytes, m2->arena_bytes);
    /* real reuse: far below one buffer per temp */
    CHECK(m->arena_bytes * 2 < m->temp_bytes);
    seg_arena_free(a1);
    seg_arena_free(a2);
    rt_program_free(p);
}

TEST(memplan_invariants_boosting)
{
    check_stage("boosting", 0);
    check_stage("boosting", 1);
}

TEST(memplan_invariants_demo)
{
    check_stage("demo", 0);
    check_stage("demo", 1);
}

/* The densest plan: a 3,000-layer loop's training step keeps every
 * activation for the backward pass, so values have thousands of
 * neighbours. The gap search stops at 1,024 of them (the rest go above
 * their neighbours), so the work is O(n log n), not the O(n^2) it was
 * (values here had up to 6,000 neighbours searched, 5 x 10^7 in all;
 * 10,000 layers took 9 s to plan). */
TEST(memplan_dense_plan_is_bounded)
{
    rt_program *p = stage_program("tests/cli/train/deep.seg", "s", 0, 1);
    CHECK(p != NULL);
    if (!p)
        return;
    seg_arena *a = seg_arena_new();
    const rt_mem_plan *m = mem_plan_build(p, NULL, a);
    rt_error err = {""};
    CHECK_INT(rt_mem_plan_check(p, m, &err), 0);
    CHECK(m->fit_most <= 1024);
    CHECK(m->fit_most > 100);
    CHECK(m->arena_bytes >= m->live_peak_bytes);
    seg_arena_free(a);
    rt_program_free(p);
}

/* A program plan with one thing wrong at a time. */
TEST(memplan_check_rejects_broken_plans)
{
    rt_program *p = stage_program("tests/cli/train/tiny.seg", "s", 0, 1);
    if (!p)
        return;
    seg_arena *a = seg_arena_new();
    const rt_mem_plan *m = mem_plan_build(p, NULL, a);
    rt_error err = {""};
    CHECK_INT(rt_mem_plan_check(p, m, &err), 0);
    size_t nv = (size_t)p->n_values;
    rt_mem_plan bad = *m;
    bad.offset = seg_arena_alloc(a, nv * sizeof *bad.offset);
    bad.last = seg_arena_alloc(a, nv * sizeof *bad.last);
    /* an output on top of an input: the first instruction reading a temp */
    int i = 0, x = -1;
    for (; i < p->n_instrs && x < 0; i++)
        for (int k = 0; k < p->instrs[i].n_in; k++)
            if (m->offset[p->instrs[i].in[k]] >= 0 && m->bytes[p->instrs[i].in[k]])
                x = p->instrs[i].in[k];
    CHECK(x >= 0);
    if (x < 0) {
        seg_arena_free(a);
        rt_program_free(p);
        return;
    }
    int y = p->instrs[i - 1].out;
    memcpy(bad.offset, m->offset, nv * sizeof *bad.offset);
    memcpy(bad.last, m->last, nv * sizeof *bad.last);
    bad.offset[y] = bad.offset[x];
    CHECK_INT(rt_mem_plan_check(p, &bad, &err), -1);
    CHECK(strstr(err.msg, "live together") != NULL);
    /* misaligned */
    memcpy(bad.offset, m->offset, nv * sizeof *bad.offset);
    bad.offset[y] += 4;
    CHECK_INT(rt_mem_plan_check(p, &bad, &err), -1);
    /* outside the arena */
    memcpy(bad.offset, m->offset, nv * sizeof *bad.offset);
    bad.offset[y] = m->arena_bytes;
    CHECK_INT(rt_mem_plan_check(p, &bad, &err), -1);
    /* the loss dies before the end */
    memcpy(bad.offset, m->offset, nv * sizeof *bad.offset);
    int loss = -1;
    for (int o = 0; o < p->n_outputs; o++)
        if (!strcmp(p->output_names[o], "loss"))
            loss = p->outputs[o];
    CHECK(loss >= 0);
    if (loss >= 0) {
        bad.last[loss] = p->n_instrs - 1;
        CHECK_INT(rt_mem_plan_check(p, &bad, &err), -1);
        CHECK(strstr(err.msg, "output 'loss'") != NULL);
    }
    /* an instruction writing a value that is never stored (fused away) */
    memcpy(bad.offset, m->offset, nv * sizeof *bad.offset);
    memcpy(bad.last, m->last, nv * sizeof *bad.last);
    bad.bytes = seg_arena_alloc(a, nv * sizeof *bad.bytes);
    memcpy(bad.bytes, m->bytes, nv * sizeof *bad.bytes);
    bad.offset[y] = -1;
    bad.bytes[y] = 0;
    p->values[y].kind = RT_VAL_FUSED;
    CHECK_INT(rt_mem_plan_check(p, &bad, &err), -1);
    CHECK(strstr(err.msg, "never stored") != NULL);
    p->values[y].kind = RT_VAL_TEMP;
    /* a plan of another program */
    bad = *m;
    bad.n_values++;
    CHECK_INT(rt_mem_plan_check(p, &bad, &err), -1);
    seg_arena_free(a);
    rt_program_free(p);
}

/* ------------------------------------------------------- bit-identical runs */

/* Every input of it filled from (seed, index): labels 0/1 or class indices. */
static void fill_inputs(const rt_program *p, rt_interp *it, uint64_t step)
{
    for (int v = 0; v < p->n_values; v++) {
        if (p->values[v].kind != RT_VAL_INPUT)
            continue;
        rt_tensor *t = rt_interp_value_at(it, v);
        int label = strstr(p->values[v].name, "label") != NULL;
        for (int64_t k = 0; k < rt_type_numel(&t->type); k++) {
            float u = rt_rand_uniform01(11, (uint32_t)v, step, (uint64_t)k);
            if (t->type.dtype == RT_F32)
                rt_f32(t)[k] = label ? (float)(u > 0.7f) : u;
            else if (t->type.dtype == RT_I32)
                rt_i32(t)[k] = (int32_t)(u * 3);
            else
                rt_u8(t)[k] = u > 0.5f;
        }
    }
}

static size_t tensor_bytes(const rt_tensor *t)
{
    return (size_t)rt_type_numel(&t->type) * rt_dtype_size(t->type.dtype);
}

/* Same bits in every output and every param/buffer. */
static int same_state(const rt_program *p, rt_interp *a, rt_interp *b)
{
    for (int v = 0; v < p->n_values; v++) {
        if ((p->values[v].kind == RT_VAL_TEMP || p->values[v].kind == RT_VAL_FUSED) && !is_output(p, v))
            continue;
        const rt_tensor *x = rt_interp_value_at(a, v), *y = rt_interp_value_at(b, v);
        if (memcmp(x->data, y->data, tensor_bytes(x)) != 0)
            return 0;
    }
    return 1;
}

/* p -= lr * grad:p for every trainable parameter, in both interpreters. */
static void sgd(const rt_program *p, rt_interp *it)
{
    for (int o = 0; o < p->n_outputs; o++) {
        if (strncmp(p->output_names[o], "grad:", 5) != 0)
            continue;
        rt_tensor *w = rt_interp_value(it, p->output_names[o] + 5);
        const rt_tensor *g = rt_interp_output(it, p->output_names[o]);
        for (int64_t k = 0; k < rt_type_numel(&w->type); k++)
            rt_f32(w)[k] -= 0.05f * rt_f32(g)[k];
    }
}

static void check_training(int stage)
{
    rt_program *p = stage_program("tests/cli/train/tiny.seg", "s", stage, 1);
    if (!p)
        return;
    long live = seg_alloc_live();
    mem_plan_attach(p, NULL);
    CHECK(p->plan != NULL);
    rt_interp *ref = rt_interp_new_planned(p, NULL, 5, 1);
    rt_interp *pl = rt_interp_new_planned(p, p->plan, 5, 1);
    CHECK_INT(rt_interp_arena_bytes(ref), 0);
    CHECK_INT(rt_interp_arena_bytes(pl), p->plan->arena_bytes);
    CHECK(p->plan->arena_bytes < p->plan->temp_bytes);
    const rt_tensor *loss = rt_interp_output(pl, "loss");
    const void *grad_at[64];
    int n_grads = 0;
    for (int o = 0; o < p->n_outputs && n_grads < 64; o++)
        if (!strncmp(p->output_names[o], "grad:", 5))
            grad_at[n_grads++] = rt_interp_output(pl, p->output_names[o])->data;
    CHECK(n_grads > 0);
    for (uint64_t step = 0; step < 4; step++) {
        rt_error e1 = {""}, e2 = {""};
        fill_inputs(p, ref, step);
        fill_inputs(p, pl, step);
        CHECK_INT(rt_interp_run(ref, step, &e1), 0);
        CHECK_INT(rt_interp_run(pl, step, &e2), 0);
        if (!same_state(p, ref, pl)) {
            test_fail_at(__FILE__, __LINE__, "stage %d step %llu: planned run differs", stage,
                         (unsigned long long)step);
            break;
        }
        CHECK(isfinite(rt_f32(loss)[0]));
        CHECK(rt_interp_first_nonfinite(pl) == NULL);
        CHECK(same_state(p, ref, pl)); /* the nonfinite re-run changed nothing */
        sgd(p, ref);
        sgd(p, pl);
    }
    for (int o = 0, k = 0; o < p->n_outputs; o++)
        if (!strncmp(p->output_names[o], "grad:", 5))
            CHECK(rt_interp_output(pl, p->output_names[o])->data == grad_at[k++]);
    rt_interp_free(ref);
    rt_interp_free(pl);
    CHECK_INT(seg_alloc_live(), live); /* the plan lives in the program's arena */
    rt_program_free(p);
}

TEST(memplan_training_bit_identical_stage_one) { check_training(0); }
TEST(memplan_training_bit_identical_stage_two) { check_training(1); }

/* $SEGC_ARENA=0 turns the plan off for rt_interp_new. */
TEST(memplan_env_switch)
{
    rt_program *p = stage_program("tests/cli/train/tiny.seg", "s", 0, 0);
    if (!p)
        return;
    mem_plan_attach(p, NULL);
    const char *old = getenv("SEGC_ARENA");
    char *keep = old ? strdup(old) : NULL;
    setenv("SEGC_ARENA", "0", 1);
    rt_interp *off = rt_interp_new(p, 0, 1);
    unsetenv("SEGC_ARENA");
    rt_interp *on = rt_interp_new(p, 0, 1);
    if (keep)
        setenv("SEGC_ARENA", keep, 1);
    free(keep);
    CHECK_INT(rt_interp_arena_bytes(off), 0);
    CHECK_INT(rt_interp_arena_bytes(on), p->plan->arena_bytes);
    CHECK(p->plan->arena_bytes > 0);
    rt_interp_free(off);
    rt_interp_free(on);
    rt_program_free(p);
}

/* ------------------------------------------------------------- JIT fusion */

/* Stage k's inference program of `path` as `segc train` compiles it for
 * the JIT (compiler/pipeline.c: fused and planned). */
static rt_program *fused_stage_program(const char *path, const char *sched, int k)
{
    seg_diag *d = seg_diag_new(stderr);
    seg_program *sp = seg_load(path, d);
    const seg_schedule *s = sp ? seg_program_schedule(sp, sched) : NULL;
    ir_graph *g = s ? seg_stage_graph(sp, s, k, 0, d) : NULL;
    pipeline_opts po = {.mode = PIPELINE_INFER, .jit = 1};
    pipeline_result pr = {0};
    rt_error err = {""};
    int rc = g ? pipeline_build(g, &po, &pr, &err) : -1;
    CHECK_INT(rc, PIPELINE_OK);
    rt_program *p = pr.prog;
    pr.prog = NULL;
    pipeline_result_free(&pr);
    if (g)
        ir_graph_free(g);
    if (sp)
        seg_program_free(sp);
    seg_diag_free(d);
    return p;
}

/* The inference program of tiny (2 levels: conv -> relu twice): each ReLU
 * is its conv's epilogue (one instruction, fuse.c's rule alone), and the
 * plan gives that instruction's value the usual interval. */
TEST(memplan_fused_relu_interval)
{
    rt_program *p = fused_stage_program("tests/cli/train/tiny.seg", "s", 1);
    if (!p)
        return;
    int seen = 0;
    for (int i = 0; i < p->n_instrs; i++) {
        const rt_instr *c = &p->instrs[i];
        CHECK(c->op != OP_RELU);
        if (c->op == OP_CONV && c->attrs.relu) {
            CHECK_INT(p->plan->first[c->out], i);
            seen++;
        }
    }
    CHECK_INT(seen, 2);
    rt_program_free(p);
}

/* Planned + JIT gives the bits of unplanned + JIT (two fused ReLUs). */
TEST(memplan_jit_bit_identical)
{
    rt_program *p = fused_stage_program("tests/cli/train/tiny.seg", "s", 1);
    if (!p)
        return;
    rt_error err = {""};
    jit_program *jp = jit_program_build(p, NULL, &err);
    CHECK(jp != NULL);
    if (!jp) {
        printf("    %s\n", err.msg);
        rt_program_free(p);
        return;
    }
    CHECK(jit_program_stats_of(jp)->fused_relus == 2);
    rt_interp *ref = rt_interp_new_planned(p, NULL, 3, 2);
    rt_interp *pl = rt_interp_new_planned(p, p->plan, 3, 2);
    rt_interp_set_kernels(ref, jit_program_table(jp));
    rt_interp_set_kernels(pl, jit_program_table(jp));
    for (uint64_t step = 0; step < 2; step++) {
        fill_inputs(p, ref, step);
        fill_inputs(p, pl, step);
        CHECK_INT(rt_interp_run(ref, 0, &err), 0);
        CHECK_INT(rt_interp_run(pl, 0, &err), 0);
        CHECK(same_state(p, ref, pl));
    }
    rt_interp_free(ref);
    rt_interp_free(pl);
    jit_program_free(jp);
    rt_program_free(p);
}
