/* builtins_init.c — how parameters start: the `init = ...` arguments of
 * every op that owns parameters, and param(), a learnable tensor of any
 * shape.
 *
 * An initialiser is a string or a number:
 *   "kaiming_uniform"  U(-b, b), b = 1/sqrt(fan_in): PyTorch's default for
 *                      conv, conv_t and linear weights (kaiming_uniform_
 *                      with a = sqrt(5)) and, with the layer's fan-in, for
 *                      their biases; the default of conv, conv_t, linear
 *   "kaiming_normal"   N(0, s^2), s = sqrt(2 / fan_in): kaiming_normal_
 *                      (mode "fan_in", nonlinearity "relu": He et al. 2015)
 *   "xavier_uniform"   U(-b, b), b = sqrt(6 / (fan_in + fan_out)) (gain 1)
 *   "xavier_normal"    N(0, s^2), s = sqrt(2 / (fan_in + fan_out))
 *   "zeros", "ones", or a number c: every element c
 * The fans are PyTorch's (_calculate_fan_in_and_fan_out): for a weight of
 * shape [d0, d1, k...], fan_in = d1 * prod(k) and fan_out = d0 * prod(k),
 * so a conv_t's fan-in comes from its output channels as in PyTorch. A
 * tensor with fewer than 2 axes has no fans: only "zeros", "ones" and
 * numbers start it, except a bias, whose "kaiming_uniform" uses its
 * layer's fan-in. Batch norm's scale and shift take numbers, "zeros" and
 * "ones".
 *
 * param(shape; init, name) declares a learnable tensor in the current
 * scope, named like an op's parameters (path.param0, or path.NAME with
 * name = "NAME"), so `freeze`, `train`, inheritance by name and
 * checkpoints treat it like any weight. Its init has no default: no one
 * choice suits a PReLU slope, a layer scale and a temperature alike.
 */
#include "sema_internal.h"

#include <math.h>
#include <string.h>

typedef enum init_rule {
    INIT_RULE_CONST,   /* numbers, "zeros", "ones" */
    INIT_RULE_UNIFORM, /* U(-b, b) */
    INIT_RULE_NORMAL,  /* N(0, b^2) */
} init_rule;

/* The named initialisers; fans: needs fan_in / fan_out (a weight). */
static const struct {
    const char *name;
    init_rule rule;
    int fans;
} init_names[] = {
    {"kaiming_uniform", INIT_RULE_UNIFORM, 1},
    {"kaiming_normal", INIT_RULE_NORMAL, 1},
    {"xavier_uniform", INIT_RULE_UNIFORM, 1},
    {"xavier_normal", INIT_RULE_NORMAL, 1},
    {"zeros", INIT_RULE_CONST, 0},
    {"ones", INIT_RULE_CONST, 0},
};
enum { N_INIT_NAMES = (int)(sizeof init_names / sizeof init_names[0]) };

static int init_index(const char *s)
{
    for (int i = 0; i < N_INIT_NAMES; i++)
        if (strcmp(init_names[i].name, s) == 0)
            return i;
    return -1;
}

/* The bound (uniform) or standard deviation (normal) of named init i. */
static double init_scale(int i, const sema_fans *f)
{
    double in = (double)f->in, out = (double)f->out;
    switch (i) {
    case 0: return 1.0 / sqrt(in);
    case 1: return sqrt(2.0 / in);
    case 2: return sqrt(6.0 / (in + out));
    case 3: return sqrt(2.0 / (in + out));
    default: return 0;
    }
}

static void init_unknown(sema_state *st, const sema_builtin *bi, sema_args *a, int i,
                         const char *s)
{
    if (!sema_error(st, a->span[i], "%s(): unknown initialiser \"%s\" for '%s'; use "
                    "\"kaiming_uniform\", \"kaiming_normal\", \"xavier_uniform\", "
                    "\"xavier_normal\", \"zeros\", \"ones\" or a number", bi->name, s,
                    a->names[i]))
        return;
    sema_suggest sg;
    sema_suggest_init(&sg, s);
    for (int k = 0; k < N_INIT_NAMES; k++)
        sema_suggest_add(&sg, init_names[k].name);
    sema_suggest_note(st, &sg, a->span[i]);
}

int sema_arg_init(sema_state *st, const sema_builtin *bi, sema_args *a, int i,
                  const sema_fans *fans, rt_init *out)
{
    sema_value v = a->v[i];
    if (sema_val_is_number(v)) {
        *out = (rt_init){RT_INIT_CONST, (float)sema_val_number(v), 0};
        return 0;
    }
    if (v.kind != VAL_STRING) {
        if (v.kind != VAL_ERROR)
            sema_error(st, a->span[i], "%s(): '%s' must be an initialiser name such as "
                       "\"kaiming_uniform\" or a number, got %s", bi->name, a->names[i],
                       sema_value_desc(st, v));
        return -1;
    }
    int k = init_index(v.s);
    if (k < 0) {
        init_unknown(st, bi, a, i, v.s);
        return -1;
    }
    if (init_names[k].rule == INIT_RULE_CONST) {
        *out = (rt_init){RT_INIT_CONST, strcmp(v.s, "ones") == 0 ? 1.0f : 0.0f, 0};
        return 0;
    }
    int bias_ok = fans && fans->bias && k == 0; /* a bias: its layer's fan-in */
    if (!fans || (!fans->weight && !bias_ok)) {
        sema_error(st, a->span[i], "%s(): '%s' = \"%s\" needs a tensor with fan-in and "
                   "fan-out (at least 2 axes)%s; use \"zeros\", \"ones\" or a number", bi->name,
                   a->names[i], v.s, fans && fans->bias ? " or, for a bias, \"kaiming_uniform\""
                                                         : "");
        return -1;
    }
    double s = init_scale(k, fans);
    *out = init_names[k].rule == INIT_RULE_UNIFORM ? (rt_init){RT_INIT_UNIFORM, (float)-s, (float)s}
                                                   : (rt_init){RT_INIT_NORMAL, 0.0f, (float)s};
    return 0;
}

void sema_fans_of(const rt_type *t, sema_fans *f)
{
    memset(f, 0, sizeof *f);
    if (t->rank < 2)
        return;
    int64_t field = 1;
    for (int d = 2; d < t->rank; d++)
        field *= t->dim[d];
    f->in = t->dim[1] * field;
    f->out = t->dim[0] * field;
    f->weight = 1;
}

/* ------------------------------------------------------------- param() */

/* shape: a list of positive ints ([] for a scalar) or one int. */
static int param_shape(sema_state *st, const sema_builtin *bi, sema_args *a, rt_type *t)
{
    int i = sema_arg_find(a, "shape");
    int64_t dims[RT_MAX_RANK];
    int n;
    memset(t, 0, sizeof *t);
    t->dtype = RT_F32;
    if (a->v[i].kind == VAL_LIST && a->v[i].list->n == 0)
        return 0;
    if (sema_arg_ints(st, bi, a, i, dims, RT_MAX_RANK, &n))
        return -1;
    for (int d = 0; d < n; d++) {
        if (dims[d] < 1) {
            sema_error(st, a->span[i], "param(): dimension %d of 'shape' must be positive, "
                       "got %lld", d, (long long)dims[d]);
            return -1;
        }
        t->dim[d] = dims[d];
    }
    t->rank = n;
    return 0;
}

sema_value sema_bi_param(sema_state *st, const sema_builtin *bi, sema_args *a, seg_span span)
{
    rt_type t;
    rt_init init;
    sema_fans fans;
    int k = sema_arg_find(a, "init");
    if (param_shape(st, bi, a, &t))
        return sema_val_error();
    if (a->v[k].kind == VAL_NONE) {
        sema_error(st, span, "param() needs init = ...: \"zeros\", \"ones\", a number, or for "
                   "2 or more axes \"kaiming_uniform\", \"kaiming_normal\", \"xavier_uniform\", "
                   "\"xavier_normal\"");
        return sema_val_error();
    }
    sema_fans_of(&t, &fans);
    if (sema_arg_init(st, bi, a, k, &fans, &init))
        return sema_val_error();
    char err[SEMA_ERRLEN] = "";
    const char *name = sema_names_op(st, "param", a->seg_name);
    ir_id id = ir_add_param(st->g, name, &t, init, 0, span, err, sizeof err);
    if (id < 0) {
        sema_error(st, span, "%s", err);
        return sema_val_error();
    }
    return sema_val_tensor(id);
}
