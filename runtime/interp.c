/* interp.c — the reference interpreter over an rt_program.
 *
 * The simplest thing that runs a program: one heap tensor per value
 * (inputs, parameters, buffers and every temporary), allocated once when
 * the interpreter is made, and one rt_kernel_run call per instruction, in
 * program order. Parameters and buffers are initialised from their rt_init
 * with streams derived from their names (rt_param_init), so a seed gives
 * the same weights whatever the program's value order. Inputs start as
 * zeros until rt_interp_set_input fills them.
 *
 * No memory planning, no fusion, no checks between instructions: this is
 * the oracle the JIT is compared against, so it stays obviously right.
 * A kernel failure is reported with the failing instruction's source
 * location in front ("net.seg:12:5: conv: ...").
 *
 * The program is borrowed: it must outlive the interpreter.
 *
 * Opt-in JIT hook (rt_interp_set_kernels): a table from the compiler
 * names, per instruction, a generated convolution kernel (run through
 * rt_conv_kernel_run, runtime/jitconv.c), a generated fused-group kernel
 * (rt_eltwise_kernel_run) or a fast runtime kernel, all on a pool of the
 * interpreter's thread count, or marks it done by an earlier kernel (a
 * bias gradient its weight-gradient kernel sums), so it is skipped. Everything else still
 * runs its reference kernel, so the interpreter stays the oracle when no
 * table is set. $SEGC_PROFILE=1 times each op kind (=2 also each
 * instruction) and prints the table when the interpreter is freed.
 *
 * Memory plan (runtime.h "memory plans"): rt_interp_new uses the
 * program's plan when it has one (unless $SEGC_ARENA=0), and then every
 * temp is a view into one arena at the offset the compiler chose
 * (compiler/memplan.c); inputs, params and buffers keep their own
 * tensors. The output of each reference kernel is zeroed before it runs,
 * so results are bit-identical to the one-tensor-per-value mode.
 */
#include "runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_interp {
    const rt_program *prog; /* borrowed, outlives the interpreter */
    rt_tensor **vals;       /* one tensor per program value */
    rt_tensor **args;       /* scratch: the current instruction's inputs */
    int max_in;             /* capacity of args */
    int threads;            /* thread budget passed to kernels */
    uint64_t seed;          /* parameter initialisation seed */
    const rt_kernel_table *conv; /* JIT kernels per instruction, NULL = none */
    rt_pool *pool;          /* for them: made on first use, threads > 1 */
    rt_conv_scratch scratch; /* their blocked operands */
    /* Memory plan (runtime.h "memory plans"): temps are views into arena. */
    const rt_mem_plan *plan; /* NULL = one tensor per value */
    char *arena;             /* RT_MEM_ALIGN-aligned, inside arena_base */
    void *arena_base;        /* the allocation */
    uint64_t last_step;      /* step of the last run, for rt_interp_first_nonfinite */
    /* $SEGC_PROFILE=1: seconds per op kind (JIT and reference apart), printed
     * to stderr by rt_interp_free. */
    double *prof;            /* [2 * OP_COUNT], NULL = off */
    double *prof_instr;      /* $SEGC_PROFILE=2: seconds per instruction too */
    int prof_runs;
};

static int interp_max_inputs(const rt_program *p)
{
    int m = 1;
    for (int i = 0; i < p->n_instrs; i++)
        if (p->instrs[i].n_in > m)
            m = p->instrs[i].n_in;
    return m;
}

static void interp_alloc_value(rt_interp *it, int i)
{
    const rt_value *v = &it->prog->values[i];
    if (v->kind == RT_VAL_FUSED) { /* never stored: a tensor without data */
        it->vals[i] = seg_xcalloc(1, sizeof *it->vals[i]);
        it->vals[i]->type = v->type;
        return;
    }
    it->vals[i] = rt_tensor_new(&v->type);
    if (v->kind == RT_VAL_PARAM || v->kind == RT_VAL_BUFFER)
        rt_param_init(it->vals[i], &v->init, v->name, it->seed);
}

rt_interp *rt_interp_new(const rt_program *p, uint64_t seed, int threads)
{
    SEG_ASSERT(p);
    return rt_interp_new_planned(p, rt_mem_plan_enabled() ? p->plan : NULL, seed, threads);
}

rt_interp *rt_interp_new_planned(const rt_program *p, const rt_mem_plan *m, uint64_t seed,
                                 int threads)
{
    SEG_ASSERT(p);
    rt_error perr = {{0}};
    if (m && rt_mem_plan_check(p, m, &perr))
        seg_panic(__FILE__, __LINE__, "bad memory plan: %s", perr.msg);
    rt_interp *it = seg_xcalloc(1, sizeof *it);
    it->prog = p;
    it->seed = seed;
    it->threads = threads > 0 ? threads : 1;
    it->vals = seg_xcalloc((size_t)(p->n_values > 0 ? p->n_values : 1), sizeof *it->vals);
    it->plan = m;
    if (m)
        it->arena = rt_mem_arena_bind(p, m, it->vals, &it->arena_base);
    for (int i = 0; i < p->n_values; i++)
        if (!it->vals[i]) /* planned temps are bound already */
            interp_alloc_value(it, i);
    it->max_in = interp_max_inputs(p);
    it->args = seg_xcalloc((size_t)it->max_in, sizeof *it->args);
    const char *prof = getenv("SEGC_PROFILE");
    if (prof && (strcmp(prof, "1") == 0 || strcmp(prof, "2") == 0))
        it->prof = seg_xcalloc(2 * OP_COUNT, sizeof *it->prof);
    if (prof && strcmp(prof, "2") == 0)
        it->prof_instr = seg_xcalloc((size_t)(p->n_instrs > 0 ? p->n_instrs : 1), sizeof(double));
    return it;
}

/* The profile as a table, largest first: op, where it ran, ms per run. */
static void interp_profile_print(const rt_interp *it)
{
    double total = 0;
    for (int k = 0; k < 2 * OP_COUNT; k++)
        total += it->prof[k];
    if (it->prof_runs == 0 || total <= 0)
        return;
    fprintf(stderr, "profile: %d runs, %.1f ms per run\n", it->prof_runs,
            1e3 * total / it->prof_runs);
    for (;;) {
        int best = -1;
        for (int k = 0; k < 2 * OP_COUNT; k++)
            if (it->prof[k] > 0 && (best < 0 || it->prof[k] > it->prof[best]))
                best = k;
        if (best < 0)
            break;
        fprintf(stderr, "  %-22s %-3s %9.2f ms %5.1f %%\n", rt_op_table[best % OP_COUNT].name,
                best >= OP_COUNT ? "jit" : "ref", 1e3 * it->prof[best] / it->prof_runs,
                100.0 * it->prof[best] / total);
        it->prof[best] = 0;
    }
}

/* The 15 slowest instructions: ms per run, where, result type. */
static void interp_profile_instrs(const rt_interp *it)
{
    for (int n = 0; n < 15; n++) {
        int best = -1;
        for (int i = 0; i < it->prog->n_instrs; i++)
            if (it->prof_instr[i] > 0 && (best < 0 || it->prof_instr[i] > it->prof_instr[best]))
                best = i;
        if (best < 0)
            return;
        const rt_instr *ins = &it->prog->instrs[best];
        char t[96];
        rt_type_str(&it->prog->values[ins->out].type, t, sizeof t);
        fprintf(stderr, "  #%-4d %9.2f ms  %s -> %s\n", best,
                1e3 * it->prof_instr[best] / it->prof_runs,
                ins->where ? ins->where : rt_op_table[ins->op].name, t);
        it->prof_instr[best] = 0;
    }
}

void rt_interp_free(rt_interp *it)
{
    if (!it)
        return;
    if (it->prof) {
        interp_profile_print(it);
        if (it->prof_instr && it->prof_runs)
            interp_profile_instrs(it);
        seg_free(it->prof);
        seg_free(it->prof_instr);
    }
    for (int i = 0; i < it->prog->n_values; i++)
        rt_tensor_free(it->vals[i]);
    seg_free(it->vals);
    seg_free(it->args);
    rt_pool_free(it->pool);
    rt_conv_scratch_free(&it->scratch);
    seg_free(it->arena_base);
    seg_free(it);
}

rt_pool *rt_interp_pool(rt_interp *it)
{
    if (!it->pool && it->threads > 1)
        it->pool = rt_pool_new(it->threads);
    return it->pool;
}

int64_t rt_interp_arena_bytes(const rt_interp *it) { return it->plan ? it->plan->arena_bytes : 0; }

/* Index of the named input/param/buffer value, or -1. */
static int interp_find(const rt_interp *it, const char *name)
{
    for (int i = 0; i < it->prog->n_values; i++) {
        const char *n = it->prog->values[i].name;
        if (n && strcmp(n, name) == 0)
            return i;
    }
    return -1;
}

rt_tensor *rt_interp_value(rt_interp *it, const char *name)
{
    int i = interp_find(it, name);
    return i < 0 ? NULL : it->vals[i];
}

rt_tensor *rt_interp_value_at(rt_interp *it, int index)
{
    if (index < 0 || index >= it->prog->n_values)
        return NULL;
    return it->vals[index];
}

rt_tensor *rt_interp_output(rt_interp *it, const char *name)
{
    const rt_program *p = it->prog;
    for (int i = 0; i < p->n_outputs; i++)
        if (strcmp(p->output_names[i], name) == 0)
            return it->vals[p->outputs[i]];
    return NULL;
}

/* "image, label" into buf: the program's input names, for error messages. */
static void interp_input_names(const rt_program *p, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < p->n_values && at < n; i++)
        if (p->values[i].kind == RT_VAL_INPUT)
            at += (size_t)snprintf(buf + at, n - at, "%s%s", at ? ", " : "", p->values[i].name);
    if (!buf[0])
        snprintf(buf, n, "none");
}

int rt_interp_set_input(rt_interp *it, const char *name, const rt_tensor *t, rt_error *err)
{
    int i = interp_find(it, name);
    if (i < 0 || it->prog->values[i].kind != RT_VAL_INPUT) {
        char names[256];
        interp_input_names(it->prog, names, sizeof names);
        rt_error_set(err, "the program has no input '%s' (inputs: %s)", name, names);
        return -1;
    }
    const rt_type *want = &it->prog->values[i].type;
    if (!rt_type_equal(want, &t->type)) {
        char a[128], b[128];
        rt_error_set(err, "input '%s' expects %s but was given %s", name,
                     rt_type_str(want, a, sizeof a), rt_type_str(&t->type, b, sizeof b));
        return -1;
    }
    size_t bytes = (size_t)rt_type_numel(want) * rt_dtype_size(want->dtype);
    if (bytes)
        memcpy(it->vals[i]->data, t->data, bytes);
    return 0;
}

void rt_interp_set_kernels(rt_interp *it, const rt_kernel_table *t)
{
    SEG_ASSERT(!t || t->n_instrs == it->prog->n_instrs);
    it->conv = t;
    if (t && !it->pool && it->threads > 1)
        it->pool = rt_pool_new(it->threads);
}

/* Instruction i through the JIT table: 1 = done, 0 = not in the table,
 * -1 = a fast kernel failed (ctx->err set). */
static int interp_jit_step(rt_interp *it, int i, const rt_instr *ins, rt_ctx *ctx)
{
    if (it->conv->fused[i])
        return 1;
    const rt_conv_kernel *k = it->conv->kernel[i];
    if (!k && it->conv->eltwise && it->conv->eltwise[i]) {
        rt_eltwise_kernel_run(it->conv->eltwise[i], it->pool, it->args, ins->n_in,
                              it->vals[ins->out]);
        return 1;
    }
    if (!k && it->conv->fast && it->conv->fast[i]) {
        if (it->conv->fast[i](ins, it->args, it->vals[ins->out], it->pool, ctx->err))
            return -1;
        return 1;
    }
    if (!k)
        return 0;
    rt_tensor *y = it->vals[ins->out];
    rt_conv_scratch *s = &it->scratch, planned;
    if (it->arena && it->plan->ws_offset && it->plan->ws_offset[i] >= 0 &&
        it->plan->ws_bytes[i] >= rt_conv_workspace_bytes(k)) { /* blocked operands in the arena */
        rt_conv_scratch_in(&planned, k, it->arena + it->plan->ws_offset[i]);
        s = &planned;
    }
    int extra = ins->n_in - (k->residual != 0) > 2; /* bias, mask: the third operand */
    rt_conv_kernel_run(k, it->pool, it->args[0], it->args[1], extra ? it->args[2] : NULL,
                       k->residual ? it->args[ins->n_in - 1] : NULL, y,
                       k->bias_out >= 0 ? it->vals[k->bias_out] : NULL, s);
    return 1;
}

static int interp_step(rt_interp *it, int i, const rt_instr *ins, rt_ctx *ctx)
{
    SEG_ASSERT(ins->n_in <= it->max_in);
    for (int k = 0; k < ins->n_in; k++) {
        SEG_ASSERT(ins->in[k] >= 0 && ins->in[k] < it->prog->n_values);
        it->args[k] = it->vals[ins->in[k]];
    }
    SEG_ASSERT(ins->out >= 0 && ins->out < it->prog->n_values);
    int done = it->conv ? interp_jit_step(it, i, ins, ctx) : 0;
    if (done)
        return done < 0 ? -1 : 0;
    rt_tensor *out = it->vals[ins->out];
    if (it->arena && out->data != NULL && !out->owns_data) /* bytes of an earlier value */
        memset(out->data, 0, (size_t)rt_type_numel(&out->type) * rt_dtype_size(out->type.dtype));
    return rt_kernel_run(ins->op, &ins->attrs, it->args, ins->n_in, it->vals[ins->out], ctx);
}

/* "where: msg", where `where` ("net.seg:3:5: conv") already ends with the
 * op name that kernel messages start with ("conv: ..."): say it once. */
static void interp_report(const rt_instr *ins, const char *msg, rt_error *err)
{
    const char *op = rt_op_table[ins->op].name;
    const char *where = ins->where ? ins->where : op;
    size_t wn = strlen(where), on = strlen(op);
    int where_ends_op = wn >= on && strcmp(where + wn - on, op) == 0;
    if (where_ends_op && strncmp(msg, op, on) == 0 && strncmp(msg + on, ": ", 2) == 0)
        msg += on + 2;
    rt_error_set(err, "%s: %s", where, msg[0] ? msg : "kernel failed");
}

int rt_interp_run(rt_interp *it, uint64_t step, rt_error *err)
{
    rt_error local = {{0}};
    rt_ctx ctx = {.step = step, .threads = it->threads, .err = &local};
    it->last_step = step;
    it->prof_runs += it->prof != NULL;
    for (int i = 0; i < it->prog->n_instrs; i++) {
        const rt_instr *ins = &it->prog->instrs[i];
        double t0 = it->prof ? seg_seconds() : 0;
        int rc = interp_step(it, i, ins, &ctx);
        if (it->prof) {
            const rt_kernel_table *t = it->conv;
            int jit = t && (t->kernel[i] || t->fused[i] || (t->fast && t->fast[i]) ||
                            (t->eltwise && t->eltwise[i]));
            double dt = seg_seconds() - t0;
            it->prof[(jit ? OP_COUNT : 0) + ins->op] += dt;
            if (it->prof_instr)
                it->prof_instr[i] += dt;
        }
        if (rc == 0)
            continue;
        interp_report(ins, local.msg, err);
        return -1;
    }
    return 0;
}

int rt_interp_run_one(rt_interp *it, int i, uint64_t step, rt_error *err)
{
    SEG_ASSERT(i >= 0 && i < it->prog->n_instrs);
    rt_error local = {{0}};
    rt_ctx ctx = {.step = step, .threads = it->threads, .err = &local};
    const rt_instr *ins = &it->prog->instrs[i];
    if (interp_step(it, i, ins, &ctx) == 0)
        return 0;
    interp_report(ins, local.msg, err);
    return -1;
}

static int tensor_nonfinite(const rt_tensor *t)
{
    if (t->type.dtype != RT_F32)
        return 0;
    const float *x = rt_f32(t);
    int64_t n = rt_type_numel(&t->type);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 1;
    return 0;
}

/* Where instruction ins's non-finite result was born: its source, or for
 * a fused group the member op that made it (its inputs are still in
 * it->vals). */
static const char *interp_blame(rt_interp *it, const rt_instr *ins)
{
    if (ins->op == OP_FUSED && ins->attrs.fused) {
        for (int k = 0; k < ins->n_in; k++)
            it->args[k] = it->vals[ins->in[k]];
        const char *at = rt_fused_first_nonfinite(ins, it->args, it->last_step);
        if (at)
            return at;
    }
    return ins->where ? ins->where : rt_op_table[ins->op].name;
}

/* Scan in program order: the first instruction with a non-finite result
 * whose inputs were all finite is where the NaN was born. */
static const char *interp_first_nonfinite_planned(rt_interp *it);

const char *rt_interp_first_nonfinite(rt_interp *it)
{
    if (it->arena)
        return interp_first_nonfinite_planned(it);
    for (int i = 0; i < it->prog->n_instrs; i++) {
        const rt_instr *ins = &it->prog->instrs[i];
        if (tensor_nonfinite(it->vals[ins->out]))
            return interp_blame(it, ins);
    }
    return NULL;
}

/* With an arena, a temp's bytes may hold a later value by the end of a
 * run, so run the last step again and test each result as it is made.
 * Buffers (BN running stats, written by STATEFUL ops) are restored
 * afterwards, so the re-run changes nothing. */
static const char *interp_first_nonfinite_planned(rt_interp *it)
{
    const rt_program *p = it->prog;
    rt_tensor **saved = seg_xcalloc((size_t)(p->n_values > 0 ? p->n_values : 1), sizeof *saved);
    for (int v = 0; v < p->n_values; v++)
        if (p->values[v].kind == RT_VAL_BUFFER) {
            saved[v] = rt_tensor_new(&p->values[v].type);
            memcpy(saved[v]->data, it->vals[v]->data,
                   (size_t)rt_type_numel(&p->values[v].type) * rt_dtype_size(p->values[v].type.dtype));
        }
    rt_error local = {{0}};
    rt_ctx ctx = {.step = it->last_step, .threads = it->threads, .err = &local};
    const char *at = NULL;
    for (int i = 0; i < p->n_instrs && !at; i++) {
        const rt_instr *ins = &p->instrs[i];
        if (interp_step(it, i, ins, &ctx))
            break;
        if (it->conv && it->conv->fused[i])
            continue; /* its result was tested with the kernel that made it */
        if (tensor_nonfinite(it->vals[ins->out]))
            at = interp_blame(it, ins);
    }
    for (int v = 0; v < p->n_values; v++)
        if (saved[v]) {
            memcpy(it->vals[v]->data, saved[v]->data,
                   (size_t)rt_type_numel(&p->values[v].type) * rt_dtype_size(p->values[v].type.dtype));
            rt_tensor_free(saved[v]);
        }
    seg_free(saved);
    return at;
}
