/* memplan.c — static memory plan of an rt_program (compiler.h "memory
 * plans", runtime.h "memory plans").
 *
 * The compiler knows every shape and every lifetime, so all temporaries
 * of a program (activations, gradients, workspaces of a training step)
 * share one arena at fixed byte offsets. Inputs, parameters and buffers
 * are not planned: they persist across runs in their own storage.
 *
 * Liveness. A temp v lives over the inclusive instruction interval
 * [first, last]: first is the instruction that defines it, last the last
 * instruction that reads it (STATEFUL ops are readers like any other), or
 * n_instrs for a program output ("loss", "grad:*", model outputs), which
 * must survive the run. A value nobody reads lives at its definition only.
 * Because the interval is inclusive, an instruction's output and each of
 * its inputs are live together at that instruction and so never share
 * bytes: kernels may assume their output does not alias an input.
 *
 * One value is written before its own instruction: a bias gradient that
 * fuse.c gave to a weight-gradient conv (attrs.early_by), whose driver
 * sums it while reading dy; its interval starts at that conv. Every other
 * fusion is an instruction of its own (fuse.c), so nothing else needs a
 * rule here.
 *
 * Placement: greedy by size, best fit. Temps are taken largest first
 * (ties: earlier definition, then lower value index), each at the lowest
 * offset of the smallest gap between already placed values whose
 * intervals intersect its own, else above all of them. Sizes are rounded
 * up to RT_MEM_ALIGN (64 bytes) and so are offsets. Everything is a
 * function of the program, so the plan is deterministic.
 *
 * Cost. Only the placed values whose intervals intersect the new one
 * matter, so they are found through an interval index over instruction
 * time (a segment tree: each value is listed at the O(log n) nodes its
 * interval covers, and as partial at the nodes above them) and sorted by
 * offset, instead of walking every placed value: O(n log n) plus
 * O(k log k) per value for its k time-overlapping neighbours. A 100,000
 * step loop plans in well under a second (it took minutes); a program
 * that keeps most of its temps alive together (a long training step's
 * activations) still pays for the neighbours it has. The plan is the
 * same as walking all of them: the gaps come from the same values.
 */
#include "compiler.h"

#include <stdlib.h>
#include <string.h>

static int64_t mp_bytes(const rt_value *v)
{
    return rt_type_numel(&v->type) * (int64_t)rt_dtype_size(v->type.dtype);
}

static int64_t mp_round(int64_t b) { return (b + RT_MEM_ALIGN - 1) / RT_MEM_ALIGN * RT_MEM_ALIGN; }

/* first/last of every temp; -1 for other values. */
static void mp_liveness(const rt_program *p, rt_mem_plan *m)
{
    for (int v = 0; v < p->n_values; v++)
        m->first[v] = m->last[v] = -1;
    for (int i = 0; i < p->n_instrs; i++) {
        const rt_instr *ins = &p->instrs[i];
        SEG_ASSERT(ins->out >= 0 && ins->out < p->n_values);
        m->first[ins->out] = i;
        if (m->last[ins->out] < i)
            m->last[ins->out] = i;
        for (int k = 0; k < ins->n_in; k++) {
            int v = ins->in[k];
            SEG_ASSERT(v >= 0 && v < p->n_values);
            m->last[v] = i; /* instructions come in order: i is the latest */
        }
    }
    for (int o = 0; o < p->n_outputs; o++)
        m->last[p->outputs[o]] = p->n_instrs;
    for (int i = 0; i < p->n_instrs; i++) { /* bias gradients the weight gradient writes */
        int e = p->instrs[i].attrs.early_by - 1, v = p->instrs[i].out;
        if (e >= 0 && e < i && m->first[v] > e)
            m->first[v] = e;
    }
    for (int v = 0; v < p->n_values; v++)
        if (p->values[v].kind != RT_VAL_TEMP)
            m->first[v] = m->last[v] = -1;
        else
            SEG_ASSERT(m->first[v] >= 0); /* every temp has its instruction */
}

/* Placement order: larger first, then earlier definition, then index. */
typedef struct mp_item {
    int v;
    int first, last;
    int64_t size; /* rounded */
    int64_t off;
} mp_item;

static int mp_by_size(const void *a, const void *b)
{
    const mp_item *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return (x->v > y->v) - (x->v < y->v);
}

/* ---------------------------------------------------- the interval index */

typedef struct mp_list {
    int *k;     /* item numbers */
    int n, cap;
} mp_list;

/* A segment tree over instruction times [0, t]: cover[node] lists the
 * placed items whose interval covers the node's whole range (and not its
 * parent's), part[node] those that cover only some of it. */
typedef struct mp_index {
    int t;             /* the last time */
    mp_list *cover, *part;
    int *stamp;        /* per item: the query that last reported it */
    int tick;          /* the current query */
    mp_item **found;   /* a query's result */
    int n_found;
} mp_index;

static void mp_list_push(mp_list *l, int k)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->k = seg_xrealloc(l->k, (size_t)l->cap * sizeof *l->k);
    }
    l->k[l->n++] = k;
}

static void mp_index_init(mp_index *x, int t, int n_items)
{
    size_t nodes = 4 * ((size_t)t + 1);
    x->t = t;
    x->cover = seg_xcalloc(nodes, sizeof *x->cover);
    x->part = seg_xcalloc(nodes, sizeof *x->part);
    x->stamp = seg_xcalloc((size_t)n_items + 1, sizeof *x->stamp);
    x->found = seg_xcalloc((size_t)n_items + 1, sizeof *x->found);
    x->tick = 0;
}

static void mp_index_free(mp_index *x)
{
    for (size_t i = 0; i < 4 * ((size_t)x->t + 1); i++) {
        seg_free(x->cover[i].k);
        seg_free(x->part[i].k);
    }
    seg_free(x->cover);
    seg_free(x->part);
    seg_free(x->stamp);
    seg_free(x->found);
}

static void mp_index_add(mp_index *x, size_t node, int lo, int hi, const mp_item *it, int k)
{
    if (it->last < lo || hi < it->first)
        return;
    if (it->first <= lo && hi <= it->last) {
        mp_list_push(&x->cover[node], k);
        return;
    }
    mp_list_push(&x->part[node], k);
    int mid = lo + (hi - lo) / 2;
    mp_index_add(x, 2 * node, lo, mid, it, k);
    mp_index_add(x, 2 * node + 1, mid + 1, hi, it, k);
}

static void mp_report(mp_index *x, const mp_list *l, mp_item *items)
{
    for (int i = 0; i < l->n; i++)
        if (x->stamp[l->k[i]] != x->tick) {
            x->stamp[l->k[i]] = x->tick;
            x->found[x->n_found++] = &items[l->k[i]];
        }
}

/* Every placed item whose interval intersects [it->first, it->last]. */
static void mp_index_find(mp_index *x, size_t node, int lo, int hi, const mp_item *it,
                          mp_item *items)
{
    if (it->last < lo || hi < it->first)
        return;
    mp_report(x, &x->cover[node], items);
    if (it->first <= lo && hi <= it->last) {
        mp_report(x, &x->part[node], items);
        return;
    }
    int mid = lo + (hi - lo) / 2;
    mp_index_find(x, 2 * node, lo, mid, it, items);
    mp_index_find(x, 2 * node + 1, mid + 1, hi, it, items);
}

static int mp_by_offset(const void *a, const void *b)
{
    const mp_item *x = *(mp_item *const *)a, *y = *(mp_item *const *)b;
    return (x->off > y->off) - (x->off < y->off);
}

/* Offset for it among the placed items that are live with it (sorted by
 * offset): the smallest gap between them that fits, else above them. */
static int64_t mp_best_fit(const mp_item *it, mp_index *x, mp_item *items)
{
    x->tick++;
    x->n_found = 0;
    mp_index_find(x, 1, 0, x->t, it, items);
    qsort(x->found, (size_t)x->n_found, sizeof *x->found, mp_by_offset);
    int64_t end = 0, best = -1, best_gap = 0;
    for (int j = 0; j < x->n_found; j++) {
        const mp_item *q = x->found[j];
        int64_t gap = q->off - end;
        if (gap >= it->size && (best < 0 || gap < best_gap)) {
            best = end;
            best_gap = gap;
        }
        if (q->off + q->size > end)
            end = q->off + q->size;
    }
    return best >= 0 ? best : end;
}

/* --------------------------------------------------------------- placing */

/* Items v >= n_values are workspaces: instruction v - n_values, live there. */
static void mp_place(const rt_program *p, rt_mem_plan *m)
{
    size_t nv = (size_t)(p->n_values + p->n_instrs > 0 ? p->n_values + p->n_instrs : 1);
    mp_item *items = seg_xcalloc(nv, sizeof *items);
    int n = 0;
    for (int v = 0; v < p->n_values; v++) {
        m->offset[v] = -1;
        m->bytes[v] = mp_bytes(&p->values[v]);
        if (p->values[v].kind == RT_VAL_FUSED) { /* inside a fused kernel: no storage */
            m->bytes[v] = 0;
            continue;
        }
        if (p->values[v].kind != RT_VAL_TEMP) {
            m->fixed_bytes += m->bytes[v];
            continue;
        }
        m->temp_bytes += m->bytes[v];
        items[n++] = (mp_item){v, m->first[v], m->last[v], mp_round(m->bytes[v]), 0};
    }
    for (int i = 0; i < p->n_instrs; i++) {
        m->ws_offset[i] = -1;
        if (m->ws_bytes[i] > 0)
            items[n++] = (mp_item){p->n_values + i, i, i, mp_round(m->ws_bytes[i]), 0};
    }
    qsort(items, (size_t)n, sizeof *items, mp_by_size);
    mp_index x;
    mp_index_init(&x, p->n_instrs, n); /* times run to n_instrs (program outputs) */
    for (int k = 0; k < n; k++) {
        mp_item *it = &items[k];
        if (it->size == 0) { /* nothing to hold: any offset will do */
            m->offset[it->v] = 0;
            continue;
        }
        it->off = mp_best_fit(it, &x, items);
        mp_index_add(&x, 1, 0, x.t, it, k);
        if (it->v >= p->n_values)
            m->ws_offset[it->v - p->n_values] = it->off;
        else
            m->offset[it->v] = it->off;
        if (it->off + it->size > m->arena_bytes)
            m->arena_bytes = it->off + it->size;
    }
    mp_index_free(&x);
    seg_free(items);
}

/* The largest number of temp bytes live at any one instruction. */
static void mp_peak(const rt_program *p, rt_mem_plan *m)
{
    int64_t *delta = seg_xcalloc((size_t)p->n_instrs + 2, sizeof *delta);
    for (int v = 0; v < p->n_values; v++)
        if (m->first[v] >= 0) {
            delta[m->first[v]] += mp_round(m->bytes[v]);
            delta[m->last[v] + 1] -= mp_round(m->bytes[v]);
        }
    for (int i = 0; i < p->n_instrs; i++) {
        delta[i] += mp_round(m->ws_bytes[i]);
        delta[i + 1] -= mp_round(m->ws_bytes[i]);
    }
    int64_t live = 0;
    for (int i = 0; i <= p->n_instrs; i++) {
        live += delta[i];
        if (live > m->live_peak_bytes)
            m->live_peak_bytes = live;
    }
    seg_free(delta);
}

const rt_mem_plan *mem_plan_build(const rt_program *p, const int64_t *ws, seg_arena *arena)
{
    rt_mem_plan *m = seg_arena_alloc(arena, sizeof *m);
    size_t nv = (size_t)(p->n_values > 0 ? p->n_values : 1);
    m->n_values = p->n_values;
    m->n_instrs = p->n_instrs;
    m->offset = seg_arena_alloc(arena, nv * sizeof *m->offset);
    m->bytes = seg_arena_alloc(arena, nv * sizeof *m->bytes);
    m->first = seg_arena_alloc(arena, nv * sizeof *m->first);
    m->last = seg_arena_alloc(arena, nv * sizeof *m->last);
    size_t ni = (size_t)(p->n_instrs > 0 ? p->n_instrs : 1);
    m->ws_offset = seg_arena_alloc(arena, ni * sizeof *m->ws_offset);
    m->ws_bytes = seg_arena_alloc(arena, ni * sizeof *m->ws_bytes);
    for (int i = 0; i < p->n_instrs; i++)
        m->ws_bytes[i] = ws ? ws[i] : 0;
    mp_liveness(p, m);
    mp_place(p, m);
    mp_peak(p, m);
    return m;
}

void mem_plan_attach(rt_program *p, const int64_t *ws)
{
    if (p && !p->plan)
        p->plan = mem_plan_build(p, ws, p->arena);
}
