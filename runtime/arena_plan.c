/* arena_plan.c — the runtime side of memory plans (runtime.h "memory
 * plans"): checking a plan against its program, and binding the
 * interpreter's temporaries to views into one arena.
 *
 * The compiler makes plans (compiler/memplan.c); the runtime trusts no
 * plan blindly: rt_interp_new_planned checks it first, since a wrong
 * offset would silently corrupt results. The check is one sort and a
 * sweep over values that share bytes.
 *
 * The arena is zeroed once when it is made. Afterwards a temp's bytes
 * hold whatever value lived there before, so the interpreter zeroes the
 * output of every reference kernel before the kernel runs (runtime/
 * interp.c): kernels then see exactly what a fresh one-tensor-per-value
 * interpreter gives them on its first run. (The kernels audited all write
 * or zero their whole output — conv and conv_t prefill the bias, the
 * scatter-adding backward kernels zero first — and the unplanned
 * interpreter already reuses each output across runs; the memset is
 * cheap insurance: one write pass over every temp per run, measured at
 * 0.3-0.5% of a demo training step, so it stays.) Set SEGC_ARENA=0 to
 * run with one buffer per value instead, for comparisons.
 */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

int rt_mem_plan_enabled(void)
{
    const char *s = getenv("SEGC_ARENA");
    return !(s && strcmp(s, "0") == 0);
}

/* ------------------------------------------------------------- checking */

typedef struct chk_item {
    int v;
    int64_t off, end;
} chk_item;

static int chk_by_offset(const void *a, const void *b)
{
    const chk_item *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return (x->v > y->v) - (x->v < y->v);
}

/* Live interval of item v (a value, or from n_values an instruction's
 * workspace, live at that instruction only). */
static int chk_first(const rt_program *p, const rt_mem_plan *m, int v)
{
    return v < p->n_values ? m->first[v] : v - p->n_values;
}
static int chk_last(const rt_program *p, const rt_mem_plan *m, int v)
{
    return v < p->n_values ? m->last[v] : v - p->n_values;
}

/* Workspaces lie inside the arena, aligned. */
static int chk_workspaces(const rt_program *p, const rt_mem_plan *m, rt_error *err)
{
    for (int i = 0; m->ws_offset && i < p->n_instrs; i++)
        if (m->ws_bytes[i] > 0 && (m->ws_offset[i] < 0 || m->ws_offset[i] % RT_MEM_ALIGN ||
                                   m->ws_offset[i] + m->ws_bytes[i] > m->arena_bytes)) {
            rt_error_set(err, "instruction %d: workspace at %lld, %lld bytes, arena of %lld", i,
                         (long long)m->ws_offset[i], (long long)m->ws_bytes[i],
                         (long long)m->arena_bytes);
            return -1;
        }
    return 0;
}

/* Interval cover: definition, every reader, the end for outputs; and no
 * instruction reads or writes a value that is never stored (RT_VAL_FUSED:
 * no bytes, a tensor without data). */
static int chk_intervals(const rt_program *p, const rt_mem_plan *m, rt_error *err)
{
    for (int i = 0; i < p->n_instrs; i++) {
        const rt_instr *ins = &p->instrs[i];
        int o = ins->out;
        for (int k = -1; k < ins->n_in; k++) {
            int v = k < 0 ? o : ins->in[k];
            if (p->values[v].kind == RT_VAL_FUSED) {
                rt_error_set(err, "instruction %d (%s) %s value %d, which is never stored", i,
                             rt_op_table[ins->op].name, k < 0 ? "writes" : "reads", v);
                return -1;
            }
        }
        if (p->values[o].kind == RT_VAL_TEMP && (m->first[o] < 0 || m->first[o] > i || m->last[o] < i)) {
            rt_error_set(err, "value %d is written by instruction %d outside [%d, %d]", o, i,
                         m->first[o], m->last[o]);
            return -1;
        }
        for (int k = 0; k < ins->n_in; k++) {
            int v = ins->in[k];
            if (p->values[v].kind == RT_VAL_TEMP && (m->first[v] > i || m->last[v] < i)) {
                rt_error_set(err, "value %d is read by instruction %d outside [%d, %d]", v, i,
                             m->first[v], m->last[v]);
                return -1;
            }
        }
    }
    for (int k = 0; k < p->n_outputs; k++) {
        int v = p->outputs[k];
        if (p->values[v].kind == RT_VAL_TEMP && m->last[v] < p->n_instrs) {
            rt_error_set(err, "output '%s' (value %d) dies at instruction %d, before the end",
                         p->output_names[k], v, m->last[v]);
            return -1;
        }
    }
    return 0;
}

/* Per value: size, planned or not, inside the arena, aligned. */
static int chk_values(const rt_program *p, const rt_mem_plan *m, rt_error *err)
{
    for (int v = 0; v < p->n_values; v++) {
        const rt_value *val = &p->values[v];
        int64_t b = val->kind == RT_VAL_FUSED ? 0 /* never stored */
                    : rt_type_numel(&val->type) * (int64_t)rt_dtype_size(val->type.dtype);
        int temp = val->kind == RT_VAL_TEMP;
        if (m->bytes[v] != b) {
            rt_error_set(err, "value %d: plan says %lld bytes, the type %lld", v,
                         (long long)m->bytes[v], (long long)b);
            return -1;
        }
        if (!temp && m->offset[v] != -1) {
            rt_error_set(err, "value %d is an input, param or buffer but has an offset", v);
            return -1;
        }
        if (temp && (m->offset[v] < 0 || m->offset[v] % RT_MEM_ALIGN ||
                     m->offset[v] + b > m->arena_bytes || m->first[v] > m->last[v])) {
            rt_error_set(err, "value %d: offset %lld, %lld bytes, interval [%d, %d] in an arena "
                         "of %lld bytes", v, (long long)m->offset[v], (long long)b, m->first[v],
                         m->last[v], (long long)m->arena_bytes);
            return -1;
        }
    }
    return 0;
}

/* Temps that share bytes must not be live at the same time. */
static int chk_overlaps(const rt_program *p, const rt_mem_plan *m, rt_error *err)
{
    /* items v >= n_values: the workspace of instruction v - n_values */
    chk_item *it = seg_xcalloc((size_t)(p->n_values + p->n_instrs > 0 ? p->n_values + p->n_instrs : 1),
                               sizeof *it);
    int n = 0, rc = 0;
    for (int v = 0; v < p->n_values; v++)
        if (m->offset[v] >= 0 && m->bytes[v] > 0)
            it[n++] = (chk_item){v, m->offset[v], m->offset[v] + m->bytes[v]};
    for (int i = 0; m->ws_offset && i < p->n_instrs; i++)
        if (m->ws_offset[i] >= 0 && m->ws_bytes[i] > 0)
            it[n++] = (chk_item){p->n_values + i, m->ws_offset[i], m->ws_offset[i] + m->ws_bytes[i]};
    qsort(it, (size_t)n, sizeof *it, chk_by_offset);
    for (int a = 0; a < n && rc == 0; a++)
        for (int b = a + 1; b < n && it[b].off < it[a].end && rc == 0; b++) {
            int x = it[a].v, y = it[b].v;
            int fx = chk_first(p, m, x), lx = chk_last(p, m, x);
            int fy = chk_first(p, m, y), ly = chk_last(p, m, y);
            if (fx <= ly && fy <= lx) {
                rt_error_set(err, "values %d [%d, %d] and %d [%d, %d] are live together and share "
                             "bytes %lld..%lld (values from %d are instruction workspaces)", x,
                             fx, lx, y, fy, ly, (long long)it[b].off,
                             (long long)(it[a].end < it[b].end ? it[a].end : it[b].end),
                             p->n_values);
                rc = -1;
            }
        }
    seg_free(it);
    return rc;
}

int rt_mem_plan_check(const rt_program *p, const rt_mem_plan *m, rt_error *err)
{
    if (m->n_values != p->n_values || m->n_instrs != p->n_instrs) {
        rt_error_set(err, "the plan is for %d values and %d instructions, the program has %d and %d",
                     m->n_values, m->n_instrs, p->n_values, p->n_instrs);
        return -1;
    }
    if (m->arena_bytes < 0 || m->arena_bytes % RT_MEM_ALIGN) {
        rt_error_set(err, "arena of %lld bytes", (long long)m->arena_bytes);
        return -1;
    }
    if (chk_values(p, m, err) || chk_intervals(p, m, err) || chk_workspaces(p, m, err))
        return -1;
    return chk_overlaps(p, m, err);
}

/* -------------------------------------------------------------- binding */

char *rt_mem_arena_bind(const rt_program *p, const rt_mem_plan *m, rt_tensor **vals,
                        void **base)
{
    *base = seg_xcalloc((size_t)m->arena_bytes + RT_MEM_ALIGN, 1);
    uintptr_t a = (uintptr_t)*base;
    char *arena = (char *)*base + (RT_MEM_ALIGN - a % RT_MEM_ALIGN) % RT_MEM_ALIGN;
    for (int v = 0; v < p->n_values; v++) {
        if (m->offset[v] < 0)
            continue;
        rt_tensor *t = seg_xcalloc(1, sizeof *t);
        t->type = p->values[v].type;
        t->data = arena + m->offset[v];
        t->owns_data = 0;
        vals[v] = t;
    }
    return arena;
}
