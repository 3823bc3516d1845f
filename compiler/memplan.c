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
 * matter. They are counted in O(log n) (two Fenwick trees over first and
 * last times) and found through an interval index over instruction time
 * (a segment tree: each value is listed at the O(log n) nodes its
 * interval covers, and as partial at the nodes above them), in O(log n +
 * k) for k neighbours, then sorted by offset. A value with more than
 * MP_FIT_MAX neighbours (only a program that keeps thousands of values
 * alive together, such as the training step of a loop thousands of layers
 * deep) skips the gap search and goes above all of them: the highest end
 * among its neighbours is a range maximum over its interval, O(log n), in
 * a second segment tree. So a value costs O(log n + min(k, MP_FIT_MAX)
 * log k) and a plan O(n log n): a 100,000-step loop plans in well under a
 * second, and so does the training step of a 10,000-layer loop (it took
 * 9 s, quadratic). Every model in models/ has far fewer neighbours per
 * value than the cap, so their plans are the full best fit.
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
    int n;             /* items added */
    int *by_first, *by_last; /* Fenwick trees: items per first / last time */
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
    x->n = 0;
    x->by_first = seg_xcalloc((size_t)t + 2, sizeof *x->by_first);
    x->by_last = seg_xcalloc((size_t)t + 2, sizeof *x->by_last);
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
    seg_free(x->by_first);
    seg_free(x->by_last);
    seg_free(x->stamp);
    seg_free(x->found);
}

static void mp_fenwick_add(int *f, int t, int i)
{
    for (i++; i <= t + 1; i += i & -i)
        f[i]++;
}

/* Items at times 0..i (none for i < 0). */
static int mp_fenwick_sum(const int *f, int i)
{
    int s = 0;
    for (i++; i > 0; i -= i & -i)
        s += f[i];
    return s;
}

/* How many added items intersect it: all but those that end before it
 * starts or start after it ends. O(log n). */
static int mp_index_count(const mp_index *x, const mp_item *it)
{
    return x->n - mp_fenwick_sum(x->by_last, it->first - 1) -
           (x->n - mp_fenwick_sum(x->by_first, it->last));
}

static void mp_index_add_at(mp_index *x, size_t node, int lo, int hi, const mp_item *it, int k)
{
    if (it->last < lo || hi < it->first)
        return;
    if (it->first <= lo && hi <= it->last) {
        mp_list_push(&x->cover[node], k);
        return;
    }
    mp_list_push(&x->part[node], k);
    int mid = lo + (hi - lo) / 2;
    mp_index_add_at(x, 2 * node, lo, mid, it, k);
    mp_index_add_at(x, 2 * node + 1, mid + 1, hi, it, k);
}

/* Item number k, placed. */
static void mp_index_add(mp_index *x, const mp_item *it, int k)
{
    mp_index_add_at(x, 1, 0, x->t, it, k);
    mp_fenwick_add(x->by_first, x->t, it->first);
    mp_fenwick_add(x->by_last, x->t, it->last);
    x->n++;
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

/* ------------------------------------ the highest end over an interval */

/* A segment tree over instruction times: whole[node] is the highest end
 * (offset + size) of the placed items covering the node's whole range,
 * below[node] the highest end of any placed item touching its range. */
typedef struct mp_tops {
    int t;
    int64_t *whole, *below;
} mp_tops;

static void mp_tops_init(mp_tops *r, int t)
{
    r->t = t;
    r->whole = seg_xcalloc(4 * ((size_t)t + 1), sizeof *r->whole);
    r->below = seg_xcalloc(4 * ((size_t)t + 1), sizeof *r->below);
}

static void mp_tops_free(mp_tops *r)
{
    seg_free(r->whole);
    seg_free(r->below);
}

static void mp_tops_add(mp_tops *r, size_t node, int lo, int hi, const mp_item *it)
{
    if (it->last < lo || hi < it->first)
        return;
    int64_t end = it->off + it->size;
    if (r->below[node] < end)
        r->below[node] = end;
    if (it->first <= lo && hi <= it->last) {
        if (r->whole[node] < end)
            r->whole[node] = end;
        return;
    }
    int mid = lo + (hi - lo) / 2;
    mp_tops_add(r, 2 * node, lo, mid, it);
    mp_tops_add(r, 2 * node + 1, mid + 1, hi, it);
}

/* The highest end of the placed items live at some time in [first, last]. */
static int64_t mp_tops_max(const mp_tops *r, size_t node, int lo, int hi, int first, int last)
{
    if (last < lo || hi < first)
        return 0;
    if (first <= lo && hi <= last)
        return r->below[node];
    int mid = lo + (hi - lo) / 2;
    int64_t a = mp_tops_max(r, 2 * node, lo, mid, first, last);
    int64_t b = mp_tops_max(r, 2 * node + 1, mid + 1, hi, first, last);
    int64_t m = a > b ? a : b;
    return m > r->whole[node] ? m : r->whole[node];
}

/* ------------------------------------------------------------- best fit */

/* The walk over neighbours in offset order: the smallest gap that fits. */
typedef struct mp_fit {
    int64_t end, best, best_gap;
} mp_fit;

static void mp_fit_visit(mp_fit *f, const mp_item *it, const mp_item *q)
{
    int64_t gap = q->off - f->end;
    if (gap >= it->size && (f->best < 0 || gap < f->best_gap)) {
        f->best = f->end;
        f->best_gap = gap;
    }
    if (q->off + q->size > f->end)
        f->end = q->off + q->size;
}

enum { MP_FIT_MAX = 1024 }; /* neighbours searched for a gap, at most */

/* Offset for it among the placed items that are live with it (in offset
 * order): the smallest gap between them that fits, else above them. */
static int64_t mp_best_fit(const mp_item *it, mp_index *x, const mp_tops *r, mp_item *items,
                           int *most)
{
    int k = mp_index_count(x, it);
    if (k > MP_FIT_MAX)
        return mp_tops_max(r, 1, 0, r->t, it->first, it->last);
    if (*most < k)
        *most = k;
    mp_fit f = {0, -1, 0};
    x->tick++;
    x->n_found = 0;
    mp_index_find(x, 1, 0, x->t, it, items);
    SEG_ASSERT(x->n_found == k);
    qsort(x->found, (size_t)k, sizeof *x->found, mp_by_offset);
    for (int j = 0; j < k; j++)
        mp_fit_visit(&f, it, x->found[j]);
    return f.best >= 0 ? f.best : f.end;
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
    mp_tops tops;
    mp_tops_init(&tops, p->n_instrs);
    for (int k = 0; k < n; k++) {
        mp_item *it = &items[k];
        if (it->size == 0) { /* nothing to hold: any offset will do */
            m->offset[it->v] = 0;
            continue;
        }
        it->off = mp_best_fit(it, &x, &tops, items, &m->fit_most);
        mp_index_add(&x, it, k);
        mp_tops_add(&tops, 1, 0, tops.t, it);
        if (it->v >= p->n_values)
            m->ws_offset[it->v - p->n_values] = it->off;
        else
            m->offset[it->v] = it->off;
        if (it->off + it->size > m->arena_bytes)
            m->arena_bytes = it->off + it->size;
    }
    mp_index_free(&x);
    mp_tops_free(&tops);
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
