/* arena_plan.c — the runtime side of memory plans (runtime.h "memory
 * plans"): checking a plan against its program, and binding the
 * interpreter's temporaries to views into one arena.
 *
 * The compiler makes plans (compiler/memplan.c); the runtime trusts no
 * plan blindly: rt_interp_new_planned checks it first, since a wrong
 * offset would silently corrupt results. The check is one sort and a
 * sweep along the arena's bytes: the values whose bytes contain the sweep
 * position are "active", a count per instruction time of how many active
 * values are live then is kept in a segment tree (add on an interval, max
 * over an interval), and a value whose interval already has a count above
 * 0 when it becomes active shares bytes with a live value. O(n log n):
 * a 100,000-step loop whose temps all take turns at two offsets is checked
 * at once (comparing every pair that shares bytes took minutes).
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

/* A count per time in [0, t]: add over an interval, max over an interval.
 * mx[node] is the max of the node's range including lz[node], the amount
 * added to the whole range (not pushed down). */
typedef struct chk_tree {
    int t;
    int *mx, *lz;
} chk_tree;

static void chk_tree_add(chk_tree *c, size_t node, int lo, int hi, int f, int l, int d)
{
    if (l < lo || hi < f)
        return;
    if (f <= lo && hi <= l) {
        c->mx[node] += d;
        c->lz[node] += d;
        return;
    }
    int mid = lo + (hi - lo) / 2;
    chk_tree_add(c, 2 * node, lo, mid, f, l, d);
    chk_tree_add(c, 2 * node + 1, mid + 1, hi, f, l, d);
    int a = c->mx[2 * node], b = c->mx[2 * node + 1];
    c->mx[node] = (a > b ? a : b) + c->lz[node];
}

static int chk_tree_max(const chk_tree *c, size_t node, int lo, int hi, int f, int l)
{
    if (l < lo || hi < f)
        return 0;
    if (f <= lo && hi <= l)
        return c->mx[node];
    int mid = lo + (hi - lo) / 2;
    int a = chk_tree_max(c, 2 * node, lo, mid, f, l);
    int b = chk_tree_max(c, 2 * node + 1, mid + 1, hi, f, l);
    return (a > b ? a : b) + c->lz[node];
}

static int chk_by_end(const void *a, const void *b)
{
    const chk_item *x = *(chk_item *const *)a, *y = *(chk_item *const *)b;
    return (x->end > y->end) - (x->end < y->end);
}

/* The active item (bytes past `at`) live together with it, for the message. */
static int chk_report(const rt_program *p, const rt_mem_plan *m, const chk_item *it, int n,
                      const chk_item *b, rt_error *err)
{
    int y = b->v, fy = chk_first(p, m, y), ly = chk_last(p, m, y);
    for (int k = 0; k < n; k++) {
        int x = it[k].v, fx = chk_first(p, m, x), lx = chk_last(p, m, x);
        if (&it[k] == b || it[k].off > b->off || it[k].end <= b->off || fx > ly || fy > lx)
            continue;
        rt_error_set(err, "values %d [%d, %d] and %d [%d, %d] are live together and share "
                     "bytes %lld..%lld (values from %d are instruction workspaces)", x,
                     fx, lx, y, fy, ly, (long long)b->off,
                     (long long)(it[k].end < b->end ? it[k].end : b->end), p->n_values);
        return -1;
    }
    SEG_UNREACHABLE();
}

/* Sweep the items (sorted by offset) in it[0..n): each is active from its
 * offset to its end; ends are taken before starts at the same byte. */
static int chk_sweep(const rt_program *p, const rt_mem_plan *m, const chk_item *it, int n,
                     rt_error *err)
{
    chk_tree c = {.t = p->n_instrs};
    size_t nodes = 4 * ((size_t)c.t + 1);
    c.mx = seg_xcalloc(nodes, sizeof *c.mx);
    c.lz = seg_xcalloc(nodes, sizeof *c.lz);
    const chk_item **by_end = seg_xcalloc((size_t)n + 1, sizeof *by_end);
    for (int k = 0; k < n; k++)
        by_end[k] = &it[k];
    qsort(by_end, (size_t)n, sizeof *by_end, chk_by_end);
    int rc = 0;
    for (int k = 0, e = 0; k < n && rc == 0; k++) {
        for (; e < n && by_end[e]->end <= it[k].off; e++)
            chk_tree_add(&c, 1, 0, c.t, chk_first(p, m, by_end[e]->v), chk_last(p, m, by_end[e]->v),
                         -1);
        int f = chk_first(p, m, it[k].v), l = chk_last(p, m, it[k].v);
        if (chk_tree_max(&c, 1, 0, c.t, f, l) > 0)
            rc = chk_report(p, m, it, n, &it[k], err);
        chk_tree_add(&c, 1, 0, c.t, f, l, 1);
    }
    seg_free(by_end);
    seg_free(c.mx);
    seg_free(c.lz);
    return rc;
}

/* Temps that share bytes must not be live at the same time. */
static int chk_overlaps(const rt_program *p, const rt_mem_plan *m, rt_error *err)
{
    /* items v >= n_values: the workspace of instruction v - n_values */
    chk_item *it = seg_xcalloc((size_t)(p->n_values + p->n_instrs > 0 ? p->n_values + p->n_instrs : 1),
                               sizeof *it);
    int n = 0;
    for (int v = 0; v < p->n_values; v++)
        if (m->offset[v] >= 0 && m->bytes[v] > 0)
            it[n++] = (chk_item){v, m->offset[v], m->offset[v] + m->bytes[v]};
    for (int i = 0; m->ws_offset && i < p->n_instrs; i++)
        if (m->ws_offset[i] >= 0 && m->ws_bytes[i] > 0)
            it[n++] = (chk_item){p->n_values + i, m->ws_offset[i], m->ws_offset[i] + m->ws_bytes[i]};
    qsort(it, (size_t)n, sizeof *it, chk_by_offset);
    int rc = chk_sweep(p, m, it, n, err);
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
