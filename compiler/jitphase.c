/* jitphase.c — strided data gradients and transposed convolutions as
 * phases of stride-1 kernels (compiler.h "jit_phased"; the runtime side
 * is runtime/jitconv_phased.c, which explains the decomposition).
 *
 * Per axis of stride s, padding p, dilation d and k taps, phase r (dx
 * positions r + s*j, j < ceil((X - r) / s)) takes the taps t with
 * (r + p - t*d) divisible by s; tap t reads dy at j + (r + p - t*d) / s.
 * In increasing order of that offset the taps run t0, t0 - s/g, ... (g =
 * gcd(s, d)), so the phase is a stride-1 conv with dilation d/g and low
 * padding -min offset. A phase whose padding would be negative (padding
 * wider than the window) makes the whole instruction stay on the
 * reference kernel.
 */
#include "compiler/compiler.h"

#include <string.h>

static int gcd(int a, int b) { return b ? gcd(b, a % b) : a; }

/* floor(a / b) for b > 0. */
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* One axis of one phase: taps, their first tap and step, low padding and
 * dilation of the sub-kernel, and its output count; -1 = negative padding. */
typedef struct ph_axis {
    int nk, t0, tstep, pad, dil;
    int64_t out;
} ph_axis;

static int ph_axis_init(ph_axis *a, int r, int s, int p, int d, int k, int64_t x)
{
    memset(a, 0, sizeof *a);
    a->out = r < x ? (x - r + s - 1) / s : 0;
    int g = gcd(s, d);
    a->dil = d / g;
    a->tstep = -(s / g);
    for (int t = k - 1; t >= 0; t--) /* largest valid tap first: the smallest offset */
        if (((int64_t)r + p - (int64_t)t * d) % s == 0) {
            if (a->nk == 0)
                a->t0 = t;
            a->nk++;
        }
    if (a->nk == 0)
        return 0;
    int64_t lo = floor_div((int64_t)r + p - (int64_t)a->t0 * d, s);
    a->pad = (int)-lo;
    return lo > 0 ? -1 : 0;
}

/* Operand checks: f32, the channel/batch/rank relations (with groups,
 * w is [dy channels][dx channels / groups][k...]). */
static int ph_types(const rt_program *p, const rt_instr *ins)
{
    const rt_attrs *a = &ins->attrs;
    int rank = a->nsp + 2, conv_t = ins->op == OP_CONV_T, g = a->groups;
    if ((ins->op != OP_CONV_BWD_DATA && !conv_t) || a->nsp < 1 || a->nsp > 3 || g < 1 ||
        ins->n_in < 2 || ins->n_in > 3)
        return -1;
    const rt_type *dy = &p->values[ins->in[0]].type, *w = &p->values[ins->in[1]].type;
    const rt_type *dx = &p->values[ins->out].type;
    if (dy->dtype != RT_F32 || w->dtype != RT_F32 || dx->dtype != RT_F32 || dy->rank != rank ||
        w->rank != rank || dx->rank != rank || w->dim[0] != dy->dim[1] ||
        dy->dim[1] % g != 0 || dx->dim[1] % g != 0 || w->dim[1] * g != dx->dim[1] ||
        dx->dim[0] != dy->dim[0])
        return -1;
    if (ins->n_in > 2) {
        const rt_type *e = &p->values[ins->in[2]].type;
        if (e->dtype != RT_F32 || (conv_t ? !(e->rank == 1 && e->dim[0] == dx->dim[1])
                                          : !rt_type_equal(e, dx)))
            return -1;
    }
    return 0;
}

/* The geometry of phase (r0, r1, r2): axes padded to 3 (D, H, W). */
static int ph_phase(jit_phased *jph, int i, const int *r, const ph_axis ax[3][JIT_MAX_STRIDE],
                    const rt_program *p, const rt_instr *ins, int vl)
{
    rt_conv_phase *ph = &jph->phase[i];
    const rt_conv_kernel *k = &jph->k;
    int nsp = ins->attrs.nsp, taps = 1;
    int64_t dy_sp[3], nk_sp[3], out_sp[3];
    rt_attrs a;
    rt_attrs_init(&a);
    a.nsp = nsp;
    memset(ph, 0, sizeof *ph);
    for (int j = 0; j < 3; j++) {
        const ph_axis *x = &ax[j][r[j]];
        ph->r[j] = r[j];
        ph->out[j] = x->out;
        ph->nk[j] = x->nk;
        ph->t0[j] = x->t0;
        ph->tstep[j] = x->tstep;
        taps *= x->nk;
        int s = j - (3 - nsp);
        if (s >= 0) {
            dy_sp[s] = p->values[ins->in[0]].type.dim[2 + s];
            nk_sp[s] = x->nk;
            out_sp[s] = x->out;
            a.pad[s] = x->pad;
            a.dilation[s] = x->dil;
        }
    }
    if (taps == 0)
        return 0; /* zeros (or the bias): no kernel */
    char msg[160];
    unsigned epi = ins->op == OP_CONV_T && ins->n_in > 2 ? KIR_EPI_BIAS : 0u;
    if (kir_conv_init_out(&jph->kir[i], nsp, k->n, k->cin, k->cout, dy_sp, nk_sp, out_sp, &a, epi,
                          vl, msg, sizeof msg))
        return -1;
    const kir_conv *c = &jph->kir[i].conv;
    ph->tasks = kir_conv_tasks(c);
    ph->w_floats = kir_conv_w_floats(c) + k->cout * k->cin * taps;
    ph->y_floats = kir_conv_y_floats(c);
    return 0;
}

/* The kernel record (without phases) from the operand types. */
static void ph_kernel(jit_phased *jph, const rt_program *p, const rt_instr *ins, int vl)
{
    const rt_type *dy = &p->values[ins->in[0]].type, *w = &p->values[ins->in[1]].type;
    const rt_type *dx = &p->values[ins->out].type;
    int nsp = ins->attrs.nsp;
    rt_conv_kernel *k = &jph->k;
    memset(k, 0, sizeof *k);
    int g = ins->attrs.groups;
    *k = (rt_conv_kernel){.kind = RT_CONV_PHASED, .groups = g, .n = dy->dim[0],
                          .cin = dy->dim[1] / g, .cout = dx->dim[1] / g, .in_vol = 1,
                          .out_vol = 1, .kvol = 1, .vl = vl, .bias_out = -1,
                          .mask = ins->op == OP_CONV_BWD_DATA && ins->n_in > 2};
    k->ib = k->cin <= KIR_PLAIN_CIN ? 1 : vl;
    for (int j = 0; j < 3; j++) {
        int s = j - (3 - nsp);
        k->s[j] = s >= 0 ? ins->attrs.stride[s] : 1;
        k->dx_sp[j] = s >= 0 ? dx->dim[2 + s] : 1;
        k->k_sp[j] = s >= 0 ? w->dim[2 + s] : 1;
        k->in_vol *= s >= 0 ? dy->dim[2 + s] : 1;
        k->out_vol *= k->dx_sp[j];
        k->kvol *= k->k_sp[j];
    }
    int64_t icb = (k->cin + k->ib - 1) / k->ib;
    k->x_floats = k->n * icb * k->ib * k->in_vol;
    k->b_floats = rt_blocked_channels(k->cout, vl);
}

int jit_phased_init(jit_phased *jph, const rt_program *p, const rt_instr *ins, int vl)
{
    if (ph_types(p, ins))
        return -1;
    ph_kernel(jph, p, ins, vl);
    ph_axis ax[3][JIT_MAX_STRIDE];
    int nsp = ins->attrs.nsp;
    for (int j = 0; j < 3; j++) {
        int s = j - (3 - nsp), st = jph->k.s[j];
        if (st < 1 || st > JIT_MAX_STRIDE)
            return -1;
        for (int r = 0; r < st; r++)
            if (s < 0 ? ph_axis_init(&ax[j][r], 0, 1, 0, 1, 1, 1)
                      : ph_axis_init(&ax[j][r], r, st, ins->attrs.pad[s], ins->attrs.dilation[s],
                                     (int)jph->k.k_sp[j], jph->k.dx_sp[j]))
                return -1;
    }
    jph->k.n_phases = 0;
    for (int r0 = 0; r0 < jph->k.s[0]; r0++)
        for (int r1 = 0; r1 < jph->k.s[1]; r1++)
            for (int r2 = 0; r2 < jph->k.s[2]; r2++) {
                int r[3] = {r0, r1, r2}, i = jph->k.n_phases;
                if (ax[0][r0].out == 0 || ax[1][r1].out == 0 || ax[2][r2].out == 0)
                    continue; /* no dx position in this phase */
                if (ph_phase(jph, i, r, (const ph_axis(*)[JIT_MAX_STRIDE])ax, p, ins, vl))
                    return -1;
                jph->k.w_floats = jph->phase[i].w_floats > jph->k.w_floats ? jph->phase[i].w_floats
                                                                           : jph->k.w_floats;
                jph->k.y_floats = jph->phase[i].y_floats > jph->k.y_floats ? jph->phase[i].y_floats
                                                                           : jph->k.y_floats;
                jph->k.n_phases++;
            }
    jph->k.phases = jph->phase;
    return 0;
}
