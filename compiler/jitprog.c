/* jitprog.c — JIT kernels for a whole program: the compiler side of the
 * interpreter's kernel hook (compiler.h "jit programs", runtime.h "JIT
 * kernels in programs").
 *
 * jit_program_build walks the instructions and describes each one the
 * generators take as kernel IR:
 *   - OP_CONV (jit_conv_kir: f32, 1-3 spatial axes, any stride, padding,
 *     dilation), with the epilogue fuse.c decided (attrs.relu;
 *     attrs.residual is added by the driver as y leaves the blocked layout);
 *   - grouped and depthwise convolutions, their gradients and grouped
 *     conv_t alike: the kernel is one group's (cin/groups -> cout/groups,
 *     the same code and cache entry as an ungrouped conv of that size),
 *     and the runtime driver runs it once per group on channel slices
 *     (runtime/jitconv.c, rt_conv_kernel.groups);
 *   - OP_CONV_BWD_DATA of a stride-1 conv: a forward kernel over dy with the
 *     flipped, transposed weight and padding d*(k-1) - p; strided ones and
 *     OP_CONV_T: one stride-1 kernel per output phase (jitphase.c); a third
 *     operand is the fused ReLU-gradient mask, applied by the driver;
 *   - OP_CONV_BWD_WEIGHT: a KIR_CONV_BWD_W reduction kernel; a bias gradient
 *     fuse.c marked (attrs.early_by) is summed by its driver and the sum
 *     instruction is skipped;
 *   - OP_FUSED: a KIR_ELTWISE kernel (kir_eltwise.c).
 * Kernels are keyed by their kir text, so instructions of the same shape
 * share one; the distinct kernels are made on all threads (one LLVM target
 * machine each, cache loads included) and linked on one. Instructions left
 * over get the runtime's fast kernel when rt_fast_kernel_for has one.
 *
 * Building is two steps, so the memory plan can sit between them:
 * jit_program_select decides every instruction's kernel (pure: a function
 * of the program and the vector width; the drivers' workspaces follow from
 * it) and jit_program_compile makes and links the chosen kernels. What was
 * chosen, and why an instruction was left to a reference kernel, is kept
 * for `segc kir` (jit_program_choice), so it prints what was built.
 * Fusion is decided by fuse.c alone: this file reads attrs.relu,
 * attrs.residual and attrs.early_by off the program.
 */
#include "compiler/compiler.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

struct jit_program {
    rt_jit *jit;                  /* where the kernels live (NULL until compiled) */
    int owns_jit;                 /* jit_program_free frees it */
    int vl;                       /* f32 lanes the kernels were chosen for */
    seg_arena *arena;             /* reasons (why) */
    const char **why;             /* per instruction without a kernel: why, or NULL */
    int *done_by;                 /* per instruction: the kernel that does its work, -1 */
    rt_conv_kernel *slot;         /* per instruction (used where kernel[i] set) */
    const rt_conv_kernel **kernel;/* per instruction, NULL = reference */
    unsigned char *fused;         /* per instruction */
    rt_fast_fn *fast;             /* per instruction, NULL = none */
    rt_eltwise_kernel *eslot;     /* per instruction (used where eltwise[i] set) */
    const rt_eltwise_kernel **eltwise; /* per instruction, NULL = reference */
    cg_kernel **built;            /* distinct kernels (after linking) */
    kir_kernel *want;             /* their kernel IR */
    char **keys;                  /* their kir text */
    int n_built;
    int *kidx;                    /* per instruction: its kernel, -1 = none */
    jit_phased **phased;          /* per instruction: phased kernels, NULL = none */
    int *phase_kidx;              /* per instruction * JIT_MAX_PHASES: kernel per phase */
    unsigned char *blocked_out;   /* per instruction: writes its result blocked */
    int64_t y_chunk_bytes;        /* blocked output a driver keeps at once (jp_chunks) */
    int *def;                     /* per value: the instruction defining it, -1 = none */
    int *read_at;                 /* per value v: its reads are [read_at[v], read_at[v + 1]) */
    int *read_instr, *read_operand; /* of read_instr / read_operand: reader, operand index */
    rt_kernel_table table;
    jit_program_stats stats;
};

/* ------------------------------------------------------------- choices */

static int jp_f32(const rt_type *t, int rank)
{
    return t->dtype == RT_F32 && t->rank == rank;
}

/* The attributes of one group's kernel: the same window, groups 1. */
static rt_attrs jp_group_attrs(const rt_attrs *a)
{
    rt_attrs g = *a;
    g.groups = 1;
    return g;
}

/* Do groups split both channel counts? */
static int jp_groups_ok(int groups, int64_t c_in, int64_t c_out)
{
    return groups >= 1 && c_in % groups == 0 && c_out % groups == 0;
}

const char *jit_conv_kir(const rt_program *p, const rt_instr *ins, unsigned epi, int vl,
                         kir_kernel *kk, char *msg, size_t n)
{
    const rt_attrs *a = &ins->attrs;
    int nsp = a->nsp, rank = nsp + 2, g = a->groups;
    if (ins->op != OP_CONV || nsp < 1 || nsp > 3)
        return "only 1-3 spatial axes";
    if (ins->n_in < 2)
        return "no weight operand";
    const rt_type *x = &p->values[ins->in[0]].type, *w = &p->values[ins->in[1]].type;
    const rt_type *y = &p->values[ins->out].type;
    if (!jp_f32(x, rank) || !jp_f32(w, rank) || !jp_f32(y, rank))
        return "not f32";
    if (!jp_groups_ok(g, x->dim[1], w->dim[0]) || w->dim[1] * g != x->dim[1])
        return "weight and input channels differ";
    int biased = ins->n_in - (a->residual != 0) > 2;
    if (a->residual && !rt_type_equal(&p->values[ins->in[ins->n_in - 1]].type, y))
        return "the residual's type differs from the result's";
    if (biased && !(jp_f32(&p->values[ins->in[2]].type, 1) &&
                    p->values[ins->in[2]].type.dim[0] == w->dim[0]))
        return "bias is not f32[cout]";
    rt_attrs ga = jp_group_attrs(a);
    if (kir_conv_init(kk, nsp, x->dim[0], x->dim[1] / g, w->dim[0] / g, &x->dim[2], &w->dim[2],
                      &ga, epi | (biased ? KIR_EPI_BIAS : 0u), vl, msg, n))
        return msg;
    const kir_conv *c = &kk->conv;
    int fits = y->dim[0] == c->n && y->dim[1] == c->cout * g;
    for (int s = 0; s < nsp; s++)
        fits = fits && y->dim[2 + s] == c->out[3 - nsp + s];
    return fits ? NULL : "the result's shape differs from the window's";
}

/* Kernel IR for an OP_CONV_BWD_DATA (dy, w) -> dx that is the data
 * gradient of a stride-1 conv: a forward conv of dy with the flipped,
 * transposed weight and padding d*(k-1) - p; -1 otherwise (stride > 1,
 * conv_t roles with an output padding, padding wider than the window). */
static int jp_bwd_data_kir(const rt_program *p, const rt_instr *ins, int vl, kir_kernel *kk)
{
    rt_attrs a = jp_group_attrs(&ins->attrs);
    int nsp = a.nsp, rank = nsp + 2, g = ins->attrs.groups;
    if (nsp < 1 || nsp > 3 || ins->n_in < 2 || ins->n_in > 3)
        return -1;
    const rt_type *dy = &p->values[ins->in[0]].type, *w = &p->values[ins->in[1]].type;
    const rt_type *dx = &p->values[ins->out].type;
    if (!jp_f32(dy, rank) || !jp_f32(w, rank) || !jp_f32(dx, rank) || w->dim[0] != dy->dim[1] ||
        !jp_groups_ok(g, dy->dim[1], dx->dim[1]) || w->dim[1] * g != dx->dim[1] ||
        dx->dim[0] != dy->dim[0])
        return -1;
    for (int s = 0; s < nsp; s++) {
        if (a.stride[s] != 1 || a.out_pad[s] != 0)
            return -1;
        a.pad[s] = a.dilation[s] * (int)(w->dim[2 + s] - 1) - a.pad[s];
        if (a.pad[s] < 0)
            return -1;
    }
    char msg[256];
    if (kir_conv_init(kk, nsp, dy->dim[0], dy->dim[1] / g, dx->dim[1] / g, &dy->dim[2],
                      &w->dim[2], &a, 0u, vl, msg, sizeof msg))
        return -1;
    for (int s = 0; s < nsp; s++)
        if (dx->dim[2 + s] != kk->conv.out[3 - nsp + s])
            return -1;
    return 0;
}

/* Kernel IR for an OP_CONV_BWD_WEIGHT (x, dy) -> dw whose dy has the conv
 * output size of x (a conv's weight gradient, or a conv_t's when its
 * output padding leaves that true); -1 otherwise. */
static int jp_bwd_weight_kir(const rt_program *p, const rt_instr *ins, int vl, kir_kernel *kk)
{
    rt_attrs a = jp_group_attrs(&ins->attrs);
    int nsp = a.nsp, rank = nsp + 2, g = ins->attrs.groups;
    if (nsp < 1 || nsp > 3 || ins->n_in != 2)
        return -1;
    const rt_type *x = &p->values[ins->in[0]].type, *dy = &p->values[ins->in[1]].type;
    const rt_type *dw = &p->values[ins->out].type;
    if (!jp_f32(x, rank) || !jp_f32(dy, rank) || !jp_f32(dw, rank) || dw->dim[0] != dy->dim[1] ||
        !jp_groups_ok(g, x->dim[1], dy->dim[1]) || dw->dim[1] * g != x->dim[1] ||
        x->dim[0] != dy->dim[0])
        return -1;
    char msg[256];
    if (kir_conv_bwd_w_init(kk, nsp, x->dim[0], x->dim[1] / g, dy->dim[1] / g, &x->dim[2],
                            &dw->dim[2], &a, vl, msg, sizeof msg))
        return -1;
    for (int s = 0; s < nsp; s++)
        if (dy->dim[2 + s] != kk->conv.out[3 - nsp + s])
            return -1;
    return 0;
}

/* -------------------------------------------------------------- building */

/* Kernel kk: an earlier one of the same text, or a new entry; built
 * later (jp_make_and_link). Returns its index. */
static int jp_kernel_index(jit_program *jp, const kir_kernel *kk)
{
    seg_buf key = {0};
    kir_print(kk, &key);
    for (int k = 0; k < jp->n_built; k++)
        if (strcmp(jp->keys[k], key.data) == 0) {
            seg_buf_free(&key);
            return k;
        }
    size_t n = (size_t)jp->n_built + 1;
    jp->built = seg_xrealloc(jp->built, n * sizeof *jp->built);
    jp->want = seg_xrealloc(jp->want, n * sizeof *jp->want);
    jp->keys = seg_xrealloc(jp->keys, n * sizeof *jp->keys);
    jp->built[jp->n_built] = NULL;
    jp->want[jp->n_built] = *kk;
    jp->keys[jp->n_built] = key.data; /* ownership moves */
    return jp->n_built++;
}

/* Kernel kk for instruction i. */
static void jp_kernel(jit_program *jp, int i, const kir_kernel *kk)
{
    jp->kidx[i] = jp_kernel_index(jp, kk);
}

/* Objects of every kernel, made on several threads: each worker has its
 * own emitter and takes the next kernel from a shared counter (which
 * thread compiles a kernel does not change its object). */
typedef struct jp_make {
    jit_program *jp;
    cg_object *obj;
    rt_error *err;
    int *rc;
    atomic_int next;
} jp_make;

static void jp_make_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    jp_make *m = arg;
    for (int64_t t = begin; t < end; t++) {
        rt_error eerr = {{0}};
        rt_jit_emitter *em = rt_jit_emitter_new(m->jp->jit, &eerr);
        for (int k; (k = atomic_fetch_add(&m->next, 1)) < m->jp->n_built;) {
            if (em)
                m->rc[k] = cg_object_make(m->jp->jit, em, &m->jp->want[k], &m->obj[k], &m->err[k]);
            else {
                m->err[k] = eerr;
                m->rc[k] = -1;
            }
        }
        rt_jit_emitter_free(em);
    }
}

static int jp_make_and_link(jit_program *jp, rt_error *err)
{
    int n = jp->n_built, workers = rt_pool_default_threads();
    workers = workers < n ? workers : n;
    jp_make m = {jp, seg_xcalloc((size_t)(n ? n : 1), sizeof *m.obj),
                 seg_xcalloc((size_t)(n ? n : 1), sizeof *m.err),
                 seg_xcalloc((size_t)(n ? n : 1), sizeof *m.rc), 0};
    rt_pool *pool = workers > 1 ? rt_pool_new(workers) : NULL;
    rt_pool_run(pool, workers > 0 ? workers : 0, jp_make_task, &m);
    rt_pool_free(pool);
    int rc = 0;
    for (int k = 0; k < n; k++) {
        if (rc == 0 && m.rc[k]) {
            *err = m.err[k];
            rc = -1;
        }
        if (rc == 0 && !(jp->built[k] = cg_kernel_link(jp->jit, &jp->want[k], &m.obj[k], err)))
            rc = -1;
        if (rc == 0)
            jp->stats.from_cache += jp->built[k]->from_cache;
        seg_free(m.obj[k].obj);
    }
    seg_free(m.obj);
    seg_free(m.err);
    seg_free(m.rc);
    return rc;
}

/* Entry points into the slots, once the kernels are linked. */
static void jp_bind(jit_program *jp, const rt_program *p)
{
    for (int i = 0; i < p->n_instrs; i++)
        for (int h = 0; jp->phased[i] && h < jp->phased[i]->k.n_phases; h++) {
            int k = jp->phase_kidx[i * JIT_MAX_PHASES + h];
            jp->phased[i]->phase[h].fn = k >= 0 ? jp->built[k]->conv : NULL;
        }
    for (int i = 0; i < p->n_instrs; i++) {
        if (jp->kidx[i] < 0)
            continue;
        const cg_kernel *k = jp->built[jp->kidx[i]];
        if (jp->eltwise[i])
            jp->eslot[i].fn = k->eltwise;
        else
            jp->slot[i].fn = k->conv;
    }
}

/* Bytes of blocked output a forward or data-gradient driver keeps at once
 * by default: larger outputs go through its scratch in chunks of output
 * groups (16 MB: one 16-channel group of a 64^3 volume). */
#define JP_Y_CHUNK_BYTES ((int64_t)16 << 20)

/* The output chunks of s (a forward or data-gradient kernel with tile
 * c): groups per chunk, and the scratch then needed. */
static void jp_chunks(rt_conv_kernel *s, const kir_conv *c, int64_t budget)
{
    int64_t ocb = (c->cout + c->vl - 1) / c->vl, ng = (ocb + c->rc - 1) / c->rc;
    int64_t group_floats = (int64_t)c->rc * c->vl * s->out_vol;
    int64_t per = budget / (group_floats * (int64_t)sizeof(float));
    s->oc_group_blocks = c->rc;
    s->group_tasks = s->tasks / (c->n * ng);
    if (per >= ng && c->n == 1)
        return; /* one pass: the whole output fits the budget */
    per = per < 1 ? 1 : per > ng ? ng : per;
    s->chunk_groups = (ng + (ng + per - 1) / per - 1) / ((ng + per - 1) / per); /* even chunks */
    s->y_floats = s->chunk_groups * group_floats;
}

/* The runtime's view of a kernel built from kk (fn set when linked), run
 * once per group. */
static void jp_slot(rt_conv_kernel *s, const kir_kernel *kk, int kind, int groups,
                    int64_t y_chunk_bytes)
{
    const kir_conv *c = &kk->conv;
    *s = (rt_conv_kernel){
        .kind = kind, .groups = groups, .parts = c->parts, .tasks = kir_conv_tasks(c), .n = c->n, .cin = c->cin, .cout = c->cout,
        .in_vol = c->in[0] * c->in[1] * c->in[2], .out_vol = c->out[0] * c->out[1] * c->out[2],
        .kvol = (int64_t)c->k[0] * c->k[1] * c->k[2], .vl = c->vl, .ib = c->ib,
        .bias_out = -1, .x_floats = kir_conv_x_floats(c), .w_floats = kir_conv_w_floats(c),
        .b_floats = kir_conv_b_floats(c), .y_floats = kir_conv_y_floats(c)};
    if (kind == RT_CONV_FWD || kind == RT_CONV_BWD_DATA)
        jp_chunks(s, c, y_chunk_bytes);
}

/* Instruction i stays on its reference kernel, for this reason. */
static void jp_decline(jit_program *jp, int i, const char *fmt, ...) SEG_PRINTF(3, 4);
static void jp_decline(jit_program *jp, int i, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jp->why[i] = seg_arena_strdup(jp->arena, msg);
}

/* A strided data gradient or a transposed conv i: one kernel per phase
 * when the JIT takes it (jitphase.c). */
static int jp_phased_instr(jit_program *jp, const rt_program *p, int i)
{
    jit_phased *jph = seg_xcalloc(1, sizeof *jph);
    if (jit_phased_init(jph, p, &p->instrs[i], jp->vl)) {
        seg_free(jph);
        jp_decline(jp, i, "no phased kernel for this window (not f32, or out of range)");
        return 0;
    }
    for (int h = 0; h < jph->k.n_phases; h++) {
        int taps = jph->phase[h].nk[0] * jph->phase[h].nk[1] * jph->phase[h].nk[2];
        jp->phase_kidx[i * JIT_MAX_PHASES + h] = taps ? jp_kernel_index(jp, &jph->kir[h]) : -1;
    }
    jp->phased[i] = jph;
    jp->kernel[i] = &jph->k;
    return 1;
}

/* A conv gradient instruction i: a kernel when the JIT takes it. */
static void jp_bwd_instr(jit_program *jp, const rt_program *p, int i)
{
    const rt_instr *ins = &p->instrs[i];
    int data = ins->op == OP_CONV_BWD_DATA;
    kir_kernel kk;
    if (data)
        jp->stats.bwd_data++;
    else
        jp->stats.bwd_weight++;
    if (data ? jp_bwd_data_kir(p, ins, jp->vl, &kk) : jp_bwd_weight_kir(p, ins, jp->vl, &kk)) {
        if (data && jp_phased_instr(jp, p, i)) /* strided: per phase */
            jp->stats.bwd_data_jit++;
        else if (!data)
            jp_decline(jp, i, "no weight-gradient kernel for this window (not f32)");
        return;
    }
    jp_kernel(jp, i, &kk);
    jp_slot(&jp->slot[i], &kk, data ? RT_CONV_BWD_DATA : RT_CONV_BWD_WEIGHT, ins->attrs.groups,
            jp->y_chunk_bytes);
    jp->kernel[i] = &jp->slot[i];
    for (int r = i + 1; !data && r < p->n_instrs; r++) /* a bias gradient fuse.c gave it */
        if (p->instrs[r].attrs.early_by == i + 1) {
            jp->slot[i].bias_out = p->instrs[r].out;
            jp->fused[r] = 1;
            jp->done_by[r] = i;
            jp->stats.bias_sums++;
        }
    if (data)
        jp->stats.bwd_data_jit++;
    else
        jp->stats.bwd_weight_jit++;
}

/* A fused group (OP_FUSED) i: a kernel when the generator takes it. */
static void jp_fused_instr(jit_program *jp, const rt_program *p, int i)
{
    const rt_instr *ins = &p->instrs[i];
    jp->stats.groups++;
    if (ins->n_in > KIR_ELT_MAX_IN) {
        jp_decline(jp, i, "fused group of %d ops with %d inputs (at most %d)",
                   ins->attrs.fused->n_nodes, ins->n_in, KIR_ELT_MAX_IN);
        return;
    }
    rt_type in[KIR_ELT_MAX_IN];
    for (int k = 0; k < ins->n_in; k++)
        in[k] = p->values[ins->in[k]].type;
    kir_kernel kk;
    char msg[160];
    if (kir_eltwise_init(&kk, ins->attrs.fused, in, ins->n_in, &p->values[ins->out].type,
                         jp->vl, msg, sizeof msg)) {
        jp_decline(jp, i, "fused group of %d ops (%s)", ins->attrs.fused->n_nodes, msg);
        return;
    }
    jp_kernel(jp, i, &kk);
    jp->eslot[i] = (rt_eltwise_kernel){NULL, kir_eltwise_tasks(&kk.elt)};
    jp->eltwise[i] = &jp->eslot[i];
    jp->stats.groups_jit++;
}

/* A forward conv i, with the epilogue fuse.c gave it (attrs.relu: the
 * kernel's, or with a residual the driver's as y is copied out). */
static void jp_conv_instr(jit_program *jp, const rt_program *p, int i)
{
    const rt_instr *ins = &p->instrs[i];
    jp->stats.convs++;
    kir_kernel kk;
    char msg[256];
    unsigned epi = ins->attrs.relu && !ins->attrs.residual ? KIR_EPI_RELU : 0u;
    const char *why = jit_conv_kir(p, ins, epi, jp->vl, &kk, msg, sizeof msg);
    if (why) {
        jp_decline(jp, i, "%s", why);
        return;
    }
    jp_kernel(jp, i, &kk);
    jp_slot(&jp->slot[i], &kk, RT_CONV_FWD, ins->attrs.groups, jp->y_chunk_bytes);
    jp->slot[i].residual = ins->attrs.residual;
    jp->slot[i].relu_copy = ins->attrs.residual && ins->attrs.relu;
    jp->kernel[i] = &jp->slot[i];
    jp->stats.kernels++;
    jp->stats.fused_relus += ins->attrs.relu != 0;
}

/* Instruction i: a kernel when the JIT takes it. */
static void jp_instr(jit_program *jp, const rt_program *p, int i)
{
    const rt_instr *ins = &p->instrs[i];
    if (jp->fused[i]) /* done by an earlier kernel */
        return;
    if (ins->op == OP_CONV_BWD_DATA || ins->op == OP_CONV_BWD_WEIGHT)
        jp_bwd_instr(jp, p, i);
    else if (ins->op == OP_FUSED)
        jp_fused_instr(jp, p, i);
    else if (ins->op == OP_CONV_T) {
        jp->stats.conv_t++;
        jp->stats.conv_t_jit += jp_phased_instr(jp, p, i);
    } else if (ins->op == OP_CONV)
        jp_conv_instr(jp, p, i);
    else if ((jp->fast[i] = rt_fast_kernel_for(p, i)))
        jp->stats.fast++;
    else
        jp->why[i] = "no JIT or fast kernel for this op";
}

/* ------------------------------------------------ values kept blocked */

/* Whether value v is a named output of p (read after the run: plain). */
static int jp_is_output(const rt_program *p, int v)
{
    for (int k = 0; k < p->n_outputs; k++)
        if (p->outputs[k] == v)
            return 1;
    return 0;
}

/* The conv kernel of instruction r when it is one whose layout the
 * program may choose (one group, not phased), else NULL. */
static const rt_conv_kernel *jp_plain_slot(const jit_program *jp, int r)
{
    const rt_conv_kernel *c = &jp->slot[r];
    return !jp->fused[r] && jp->kernel[r] == c && c->groups <= 1 ? c : NULL;
}

/* Whether fused group i runs on a generated kernel and every input has
 * its result's shape or one element: it then computes the same values in
 * any layout its full-size operands share (or, with a one-element result,
 * a full reduction: summed in another order, still fixed by the shape). */
static int jp_group_any_layout(const jit_program *jp, const rt_program *p, int i)
{
    const rt_instr *ins = &p->instrs[i];
    if (ins->op != OP_FUSED || !jp->eltwise[i])
        return 0;
    const rt_type *full = &p->values[ins->out].type; /* the full-size operands' type */
    if (rt_type_numel(full) == 1)
        full = NULL; /* a reduction: its first full-size input's */
    for (int k = 0; k < ins->n_in; k++) {
        const rt_type *t = &p->values[ins->in[k]].type;
        if (rt_type_numel(t) == 1)
            continue;
        if (full && !rt_type_equal(t, full))
            return 0;
        full = t;
    }
    return 1;
}

enum { JP_NONE, JP_X, JP_DY, JP_MASK, JP_BIAS, JP_GROUP }; /* how a reader takes it blocked */

/* How operand k of reader r can read its value stored blocked: a forward
 * conv's x, a data gradient's dy and ReLU mask, a weight gradient's x and
 * dy (and the bias gradient it sums), an elementwise group of full-size
 * operands. x needs a kernel that reads blocked x (ib = vl). */
static int jp_reader_operand(const jit_program *jp, const rt_program *p, int r, int k)
{
    int by = jp->done_by[r];
    if (jp->fused[r] && by >= 0 && jp_plain_slot(jp, by) && p->instrs[by].n_in > 1 &&
        p->instrs[by].in[1] == p->instrs[r].in[k]) /* a bias gradient the weight gradient sums */
        return JP_BIAS;
    if (jp_group_any_layout(jp, p, r))
        return JP_GROUP;
    const rt_conv_kernel *c = jp_plain_slot(jp, r);
    if (!c)
        return JP_NONE;
    if (k == 0 && c->ib == c->vl)
        return JP_X;
    if (k == 1 && c->kind == RT_CONV_BWD_WEIGHT)
        return JP_DY;
    if (k == 2 && c->kind == RT_CONV_BWD_DATA && !c->residual)
        return JP_MASK;
    return JP_NONE;
}

/* The first reader of v that cannot take it blocked (*k its operand), -1
 * when every reader can; *readers counts them. */
static int jp_plain_reader(const jit_program *jp, const rt_program *p, int v, int *k, int *readers)
{
    *readers = 0;
    for (int at = jp->read_at[v]; at < jp->read_at[v + 1]; at++) {
        int r = jp->read_instr[at];
        *k = jp->read_operand[at];
        if (jp_reader_operand(jp, p, r, *k) == JP_NONE)
            return r;
        (*readers)++;
    }
    return -1;
}

/* Why instruction i cannot write its result blocked, whatever its
 * neighbours do (NULL: it can): a channel concat of pieces with multiples
 * of vl channels can (a placement), a forward conv without a residual, a
 * data gradient (its ReLU mask applied in place, if blocked too), an
 * elementwise group of full-size operands. */
static const char *jp_producer_plain(const jit_program *jp, const rt_program *p, int i)
{
    const rt_instr *ins = &p->instrs[i];
    const rt_type *t = &p->values[ins->out].type;
    if (t->dtype != RT_F32 || t->rank < 3)
        return "not an f32 activation";
    if (t->dim[1] % jp->vl)
        return "channels not a multiple of the vector width";
    if (jp_is_output(p, ins->out))
        return "a program output";
    if (ins->op == OP_CONCAT) {
        int axis = ins->attrs.axis < 0 ? ins->attrs.axis + t->rank : ins->attrs.axis;
        for (int k = 0; k < ins->n_in; k++)
            if (p->values[ins->in[k]].type.dim[1] % jp->vl)
                return "a concat of pieces whose channels are not multiples of the vector width";
        return jp->fast[i] && axis == 1 && rt_concat_blocked_fn(jp->vl) ? NULL
                                                                         : "not a channel concat";
    }
    if (jp_group_any_layout(jp, p, i))
        return NULL;
    const rt_conv_kernel *c = jp_plain_slot(jp, i);
    if (!c || (c->kind != RT_CONV_FWD && c->kind != RT_CONV_BWD_DATA))
        return "its op works on plain layout";
    if (c->residual)
        return "the residual is added as y leaves the blocked layout";
    return NULL;
}

/* Who defines and who reads each value, so the layout choice looks at a
 * value's neighbours only (a program of 100,000 instructions would
 * otherwise cost a scan of all of them per value). */
static void jp_index_values(jit_program *jp, const rt_program *p)
{
    size_t nv = (size_t)(p->n_values > 0 ? p->n_values : 1);
    int reads = 0;
    jp->def = seg_xcalloc(nv, sizeof *jp->def);
    jp->read_at = seg_xcalloc(nv + 1, sizeof *jp->read_at);
    for (int v = 0; v < p->n_values; v++)
        jp->def[v] = -1;
    for (int i = 0; i < p->n_instrs; i++) {
        jp->def[p->instrs[i].out] = i;
        for (int k = 0; k < p->instrs[i].n_in; k++, reads++)
            jp->read_at[p->instrs[i].in[k] + 1]++;
    }
    for (int v = 0; v < p->n_values; v++)
        jp->read_at[v + 1] += jp->read_at[v];
    jp->read_instr = seg_xcalloc((size_t)(reads > 0 ? reads : 1), sizeof *jp->read_instr);
    jp->read_operand = seg_xcalloc((size_t)(reads > 0 ? reads : 1), sizeof *jp->read_operand);
    int *fill = seg_xcalloc(nv, sizeof *fill);
    for (int i = 0; i < p->n_instrs; i++) /* in program order, as the scans went */
        for (int k = 0; k < p->instrs[i].n_in; k++) {
            int v = p->instrs[i].in[k], at = jp->read_at[v] + fill[v]++;
            jp->read_instr[at] = i;
            jp->read_operand[at] = k;
        }
    seg_free(fill);
}

/* Whether value u is (still) chosen to be stored blocked. */
static int jp_chosen(const jit_program *jp, int u)
{
    return jp->def[u] >= 0 && jp->blocked_out[jp->def[u]];
}

/* Whether group g's full-size inputs, and its result unless it is one
 * element, are all chosen blocked: a group sees one layout. */
static int jp_group_agrees(const jit_program *jp, const rt_program *p, int g)
{
    const rt_instr *ins = &p->instrs[g];
    for (int k = 0; k < ins->n_in; k++)
        if (rt_type_numel(&p->values[ins->in[k]].type) > 1 && !jp_chosen(jp, ins->in[k]))
            return 0;
    return rt_type_numel(&p->values[ins->out].type) == 1 || jp->blocked_out[g];
}

/* Whether chosen result i still can be blocked, given the current choice
 * of the others: a data gradient's ReLU mask blocked too, and every
 * elementwise group it comes from or goes to in one layout. */
static int jp_choice_holds(const jit_program *jp, const rt_program *p, int i)
{
    const rt_instr *ins = &p->instrs[i];
    const rt_conv_kernel *c = jp_plain_slot(jp, i);
    if (c && c->kind == RT_CONV_BWD_DATA && ins->n_in >= 3 && !jp_chosen(jp, ins->in[2]))
        return 0;
    if (ins->op == OP_FUSED && !jp_group_agrees(jp, p, i))
        return 0;
    for (int at = jp->read_at[ins->out]; at < jp->read_at[ins->out + 1]; at++) {
        int r = jp->read_instr[at];
        if (jp_reader_operand(jp, p, r, jp->read_operand[at]) == JP_GROUP &&
            !jp_group_agrees(jp, p, r))
            return 0;
    }
    return 1;
}

/* Mark every reader of v as reading it blocked. */
static void jp_mark_readers(jit_program *jp, const rt_program *p, int v)
{
    for (int at = jp->read_at[v]; at < jp->read_at[v + 1]; at++) {
        int r = jp->read_instr[at], op = jp_reader_operand(jp, p, r, jp->read_operand[at]);
        if (op == JP_X)
            jp->slot[r].x_blocked = 1;
        else if (op == JP_DY)
            jp->slot[r].dy_blocked = 1;
        else if (op == JP_MASK)
            jp->slot[r].mask_blocked = 1; /* groups and bias sums need nothing */
    }
}

/* Drops the distinct kernels no instruction uses any more (renumbered in
 * order), so none is compiled for nothing. */
static void jp_drop_unused_kernels(jit_program *jp, const rt_program *p)
{
    int *used = seg_xcalloc((size_t)(jp->n_built > 0 ? jp->n_built : 1), sizeof *used), n = 0;
    for (int i = 0; i < p->n_instrs; i++) {
        if (jp->kidx[i] >= 0)
            used[jp->kidx[i]] = 1;
        for (int h = 0; jp->phased[i] && h < jp->phased[i]->k.n_phases; h++)
            if (jp->phase_kidx[i * JIT_MAX_PHASES + h] >= 0)
                used[jp->phase_kidx[i * JIT_MAX_PHASES + h]] = 1;
    }
    for (int k = 0; k < jp->n_built; k++) {
        if (!used[k]) {
            seg_free(jp->keys[k]);
            used[k] = -1;
            continue;
        }
        jp->want[n] = jp->want[k];
        jp->keys[n] = jp->keys[k];
        used[k] = n++;
    }
    for (int i = 0; i < p->n_instrs; i++) {
        if (jp->kidx[i] >= 0)
            jp->kidx[i] = used[jp->kidx[i]];
        for (int h = 0; jp->phased[i] && h < jp->phased[i]->k.n_phases; h++) {
            int *k = &jp->phase_kidx[i * JIT_MAX_PHASES + h];
            *k = *k >= 0 ? used[*k] : -1;
        }
    }
    jp->n_built = n;
    seg_free(used);
}

/* A data gradient whose result and ReLU mask are both stored blocked
 * applies the mask in its kernel's epilogue (as it stores each tile) rather
 * than in a pass over the result: its kernel is the same one with the
 * mask epilogue. */
static void jp_masks_in_kernels(jit_program *jp, const rt_program *p)
{
    int changed = 0;
    for (int i = 0; i < p->n_instrs; i++) {
        rt_conv_kernel *c = &jp->slot[i];
        if (jp->kernel[i] != c || c->kind != RT_CONV_BWD_DATA || !c->y_blocked || !c->mask_blocked)
            continue;
        kir_kernel kk = jp->want[jp->kidx[i]];
        kk.conv.epi |= KIR_EPI_MASK;
        jp_kernel(jp, i, &kk);
        c->mask_in_kernel = 1;
        changed = 1;
    }
    if (changed)
        jp_drop_unused_kernels(jp, p);
}

/* Values kept in the blocked layout between kernels: a result whose
 * producer can write it blocked and whose every reader can read it so
 * skips both layout copies (and their workspace). Every candidate is
 * chosen, then choices that need another value blocked that is not are
 * dropped until none changes (a data gradient needs its mask, a group one
 * layout for all its full-size operands); a function of the program. */
static void jp_block_values(jit_program *jp, const rt_program *p)
{
    jp_index_values(jp, p);
    for (int i = 0; i < p->n_instrs; i++) {
        int k, readers;
        jp->blocked_out[i] = !jp_producer_plain(jp, p, i) &&
                             jp_plain_reader(jp, p, p->instrs[i].out, &k, &readers) < 0 && readers;
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < p->n_instrs; i++)
            if (jp->blocked_out[i] && !jp_choice_holds(jp, p, i)) {
                jp->blocked_out[i] = 0;
                changed = 1;
            }
    }
    for (int i = 0; i < p->n_instrs; i++) {
        if (!jp->blocked_out[i])
            continue;
        jp_mark_readers(jp, p, p->instrs[i].out);
        if (p->instrs[i].op == OP_CONCAT)
            jp->fast[i] = rt_concat_blocked_fn(jp->vl);
        else if (p->instrs[i].op != OP_FUSED)
            jp->slot[i].y_blocked = 1;
        jp->stats.blocked_values++;
    }
    jp_masks_in_kernels(jp, p);
}

jit_program *jit_program_select(const rt_program *p, int vl)
{
    return jit_program_select_chunked(p, vl, JP_Y_CHUNK_BYTES);
}

jit_program *jit_program_select_chunked(const rt_program *p, int vl, int64_t y_chunk_bytes)
{
    jit_program *jp = seg_xcalloc(1, sizeof *jp);
    jp->vl = vl;
    jp->y_chunk_bytes = y_chunk_bytes;
    jp->arena = seg_arena_new();
    size_t ni = (size_t)(p->n_instrs > 0 ? p->n_instrs : 1);
    jp->slot = seg_xcalloc(ni, sizeof *jp->slot);
    jp->kernel = seg_xcalloc(ni, sizeof *jp->kernel);
    jp->fused = seg_xcalloc(ni, sizeof *jp->fused);
    jp->fast = seg_xcalloc(ni, sizeof *jp->fast);
    jp->eslot = seg_xcalloc(ni, sizeof *jp->eslot);
    jp->eltwise = seg_xcalloc(ni, sizeof *jp->eltwise);
    jp->kidx = seg_xcalloc(ni, sizeof *jp->kidx);
    jp->phased = seg_xcalloc(ni, sizeof *jp->phased);
    jp->phase_kidx = seg_xcalloc(ni * JIT_MAX_PHASES, sizeof *jp->phase_kidx);
    jp->why = seg_xcalloc(ni, sizeof *jp->why);
    jp->done_by = seg_xcalloc(ni, sizeof *jp->done_by);
    jp->blocked_out = seg_xcalloc(ni, sizeof *jp->blocked_out);
    for (int i = 0; i < p->n_instrs; i++)
        jp->kidx[i] = jp->done_by[i] = -1;
    jp->table = (rt_kernel_table){p->n_instrs, jp->kernel, jp->fused, jp->fast, jp->eltwise,
                                  jp->blocked_out, vl};
    for (int i = 0; i < p->n_instrs; i++)
        jp_instr(jp, p, i);
    jp_block_values(jp, p);
    jp->stats.distinct = jp->n_built;
    return jp;
}

int jit_program_compile(jit_program *jp, const rt_program *p, rt_jit *j, rt_error *err)
{
    SEG_ASSERT(!jp->jit);
    double t0 = seg_seconds();
    jp->jit = j ? j : rt_jit_new(err);
    jp->owns_jit = !j;
    if (!jp->jit)
        return -1;
    if (rt_jit_vector_width(jp->jit) != jp->vl) {
        rt_error_set(err, "kernels chosen for %d-lane vectors, but this JIT has %d", jp->vl,
                     rt_jit_vector_width(jp->jit));
        return -1;
    }
    if (jp_make_and_link(jp, err))
        return -1;
    jp_bind(jp, p);
    jp->stats.seconds = seg_seconds() - t0;
    return 0;
}

jit_program *jit_program_build(const rt_program *p, rt_jit *j, rt_error *err)
{
    rt_jit *host = j ? j : rt_jit_new(err);
    if (!host)
        return NULL;
    jit_program *jp = jit_program_select(p, rt_jit_vector_width(host));
    int rc = jit_program_compile(jp, p, host, err);
    jp->owns_jit = !j; /* its own JIT goes with it, built or not */
    if (rc) {
        jit_program_free(jp);
        return NULL;
    }
    return jp;
}

const rt_kernel_table *jit_program_table(const jit_program *jp) { return &jp->table; }
const jit_program_stats *jit_program_stats_of(const jit_program *jp) { return &jp->stats; }

void jit_program_describe(const jit_program *jp, const char *what, FILE *out)
{
    const jit_program_stats *s = &jp->stats;
    fprintf(out, "jit %s: %d of %d convolutions on JIT kernels (%d distinct, %d from the cache, "
            "%d ReLUs fused), built in %.2f s\n", what, s->kernels, s->convs, s->distinct,
            s->from_cache, s->fused_relus, s->seconds);
    if (s->bwd_data || s->bwd_weight)
        fprintf(out, "jit %s: gradients on JIT kernels: %d of %d data, %d of %d weight (%d with "
                "their bias gradient)\n", what, s->bwd_data_jit, s->bwd_data, s->bwd_weight_jit,
                s->bwd_weight, s->bias_sums);
    if (s->conv_t)
        fprintf(out, "jit %s: %d of %d transposed convolutions on JIT kernels\n", what,
                s->conv_t_jit, s->conv_t);
    if (s->groups || s->fast)
        fprintf(out, "jit %s: %d of %d fused elementwise groups on JIT kernels, %d ops on fast "
                "runtime kernels\n", what, s->groups_jit, s->groups, s->fast);
}

void jit_program_free(jit_program *jp)
{
    if (!jp)
        return;
    for (int i = 0; i < jp->n_built; i++) {
        if (jp->built[i])
            cg_kernel_free(jp->jit, jp->built[i]);
        seg_free(jp->keys[i]);
    }
    seg_free(jp->built);
    seg_free(jp->want);
    seg_free(jp->keys);
    seg_free(jp->kidx);
    for (int i = 0; jp->phased && i < jp->table.n_instrs; i++)
        seg_free(jp->phased[i]);
    seg_free(jp->phased);
    seg_free(jp->phase_kidx);
    seg_free(jp->slot);
    seg_free(jp->kernel);
    seg_free(jp->fused);
    seg_free(jp->fast);
    seg_free(jp->eslot);
    seg_free(jp->eltwise);
    seg_free(jp->why);
    seg_free(jp->done_by);
    seg_free(jp->blocked_out);
    seg_free(jp->def);
    seg_free(jp->read_at);
    seg_free(jp->read_instr);
    seg_free(jp->read_operand);
    seg_arena_free(jp->arena);
    if (jp->owns_jit)
        rt_jit_free(jp->jit);
    seg_free(jp);
}

/* ------------------------------------------------------------ questions */

int64_t *jit_program_workspace(const jit_program *jp)
{
    int n = jp->table.n_instrs;
    int64_t *ws = seg_xcalloc((size_t)(n > 0 ? n : 1), sizeof *ws);
    for (int i = 0; i < n; i++)
        ws[i] = jp->kernel[i] ? rt_conv_workspace_bytes(jp->kernel[i]) : 0;
    return ws;
}

void jit_program_choice(const jit_program *jp, int i, jit_choice *c)
{
    SEG_ASSERT(i >= 0 && i < jp->table.n_instrs);
    memset(c, 0, sizeof *c);
    c->kernel = jp->kidx[i];
    c->phases = jp->phased[i] ? jp->phased[i]->k.n_phases : 0;
    c->phase_kernel = jp->phased[i] ? &jp->phase_kidx[i * JIT_MAX_PHASES] : NULL;
    c->conv = jp->kernel[i];
    c->fast = jp->fast[i] != NULL;
    c->by = jp->done_by[i];
    c->why = jp->why[i];
    c->blocked_out = jp->blocked_out[i];
}

void jit_program_layout_note(const jit_program *jp, const rt_program *p, int v, char *buf,
                             size_t n)
{
    int def = jp->def[v], k, readers;
    if (def >= 0 && jp->blocked_out[def]) {
        snprintf(buf, n, "stored blocked");
        return;
    }
    const char *why = def < 0 ? NULL : jp_producer_plain(jp, p, def);
    int r = jp_plain_reader(jp, p, v, &k, &readers);
    if (def < 0)
        snprintf(buf, n, "plain: a program input or parameter");
    else if (!why && r < 0 && readers)
        snprintf(buf, n, "plain: computed with plain values (a ReLU mask or an elementwise "
                 "group's other operands)");
    else if (why)
        snprintf(buf, n, "plain: #%d %s writes it (%s)", def, rt_op_table[p->instrs[def].op].name,
                 why);
    else if (r >= 0)
        snprintf(buf, n, "plain: #%d %s reads it (operand %d) in plain layout", r,
                 rt_op_table[p->instrs[r].op].name, k);
    else
        snprintf(buf, n, "plain");
}

void jit_program_layout_counts(const jit_program *jp, int *copies, int *stored)
{
    *copies = *stored = 0;
    for (int i = 0; i < jp->table.n_instrs; i++) {
        const rt_conv_kernel *c = jp->kernel[i];
        if (!c)
            continue;
        int x_copied = c->groups > 1 || (c->ib != 1 && !c->x_blocked);
        int y_copied = c->kind == RT_CONV_BWD_WEIGHT ? !c->dy_blocked : !c->y_blocked;
        *copies += x_copied + y_copied;
        *stored += (c->ib != 1 && !x_copied) + !y_copied;
    }
}

const kir_kernel *jit_program_kernel(const jit_program *jp, int k, const char **text)
{
    SEG_ASSERT(k >= 0 && k < jp->n_built);
    if (text)
        *text = jp->keys[k];
    return &jp->want[k];
}

int jit_program_vector_width(const jit_program *jp) { return jp->vl; }
