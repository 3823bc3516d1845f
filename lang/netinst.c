/* netinst.c — nets as values at the REPL prompt: `unet(levels = 3)` is a
 * net instance (the net with its parameters bound) and `inst(x)` applies
 * it to tensors.
 *
 * Only a REPL session program (seg_load_session sets seg_program.repl)
 * makes instances; in a .seg file a net is still run by a schedule's
 * `model` and calling one stays an error. An instance bound to a
 * constant (`m = unet(levels = 3)`) takes the constant's name as the
 * prefix of its parameter names (m.level.1.encoder.conv0.weight), as
 * `model m = unet(...)` does in a stage; an instance applied directly
 * keeps the plain names, as an unbound `model unet(...)`. So a checkpoint
 * written by training fills exactly the parameters the same binding
 * uses at the prompt.
 *
 * Applying runs the net's body inline in the statement's graph, like a
 * block call, with three differences (sema_state.apply): each `input`
 * takes the next positional argument (or the keyword argument of its
 * name) instead of making a graph input, after binding the symbolic
 * dimensions of its type (B, D, ...) from that tensor's shape; the
 * argument must then have exactly the declared type; and `output`s make
 * no graph outputs but become the value: the tensor of a net with one
 * output, else a record of them all (y.mask, y.logits). Naming state
 * (root path, counters) and the symbolic dimensions are saved around the
 * body and restored after it, so an application does not disturb the
 * statement around it.
 */
#include "sema_internal.h"

#include <ctype.h>
#include <string.h>

/* ----------------------------------------------------------- instances */

static int check_instance_args(sema_state *st, const ast_decl *d, const sema_args *a)
{
    int bad = 0, i = 0;
    for (int k = 0; k < a->n; k++)
        if (a->given[k] && a->v[k].kind == VAL_TENSOR) {
            sema_error(st, a->span[k], "%s(...) takes the net's parameters; apply the instance "
                       "to tensors: %s(...)(x)", d->name, d->name);
            bad = 1;
        }
    for (const ast_param *p = d->params; p; p = p->next, i++)
        if (!p->def && !a->given[i]) {
            sema_error(st, a->span[i], "net '%s' needs a value for '%s'", d->name, p->name);
            bad = 1;
        }
    return bad ? -1 : 0;
}

sema_value sema_net_instance(sema_state *st, sema_global *gl, const ast_expr *call)
{
    const ast_decl *d = gl->decl;
    sema_formal formals[SEMA_MAX_PARAMS];
    if (d->n_params > SEMA_MAX_PARAMS) {
        sema_error(st, d->name_span, "net '%s' has more than %d parameters", d->name,
                   SEMA_MAX_PARAMS);
        return sema_val_error();
    }
    sema_binder b = {d->name, formals, sema_decl_formals(d, formals, SEMA_MAX_PARAMS), 0, 0};
    sema_args *a = seg_arena_alloc(st->arena, sizeof *a);
    if (sema_bind(st, &b, call->args, call->span, a) || check_instance_args(st, d, a))
        return sema_val_error();
    sema_netinst *ni = seg_arena_alloc(st->arena, sizeof *ni);
    *ni = (sema_netinst){d, a, NULL};
    return (sema_value){.kind = VAL_NETINST, .inst = ni};
}

/* -------------------------------------------------------- applications */

/* Evaluate the arguments of inst(...): tensors, positional or by input name. */
static int apply_args(sema_state *st, const ast_expr *call, const sema_netinst *ni,
                      sema_apply *ap)
{
    int n = call->n_args, bad = 0, i = 0;
    ap->n = n;
    ap->kw = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *ap->kw);
    ap->t = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *ap->t);
    ap->span = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *ap->span);
    ap->used = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *ap->used);
    ap->net = ni->net->name;
    ap->decl = ni->net;
    ap->call = call->span;
    for (const ast_expr *a = call->args; a; a = a->next, i++) {
        sema_value v = sema_eval(st, a);
        ap->kw[i] = a->kw;
        ap->span[i] = a->span;
        if (v.kind == VAL_ERROR) {
            bad = 1;
        } else if (v.kind != VAL_TENSOR) {
            sema_error(st, a->span, "net '%s' takes tensors for its inputs, got %s",
                       ni->net->name, sema_value_desc(st, v));
            bad = 1;
        } else {
            ap->t[i] = v.t;
        }
    }
    return bad ? -1 : 0;
}

/* Arguments no input took: too many, or a keyword naming no input. */
static int apply_leftovers(sema_state *st, const sema_apply *ap)
{
    int bad = 0, inputs = 0;
    for (const ast_stmt *s = ap->decl->body; s; s = s->next)
        inputs += s->kind == AST_INPUT;
    for (int i = 0; i < ap->n; i++) {
        if (ap->used[i])
            continue;
        if (ap->kw[i])
            sema_error(st, ap->span[i], "net '%s' has no input '%s'", ap->net, ap->kw[i]);
        else
            sema_error(st, ap->span[i], "net '%s' has %d input%s; this argument is one too many",
                       ap->net, inputs, inputs == 1 ? "" : "s");
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* What an application must not disturb in the statement around it. */
typedef struct apply_saved {
    const sema_apply *apply;
    sema_map dims, counters;
    int default_dims;
    sema_netval *outputs;
    int cap_outputs;
    sema_name_level root;
} apply_saved;

static void apply_enter(sema_state *st, const sema_apply *ap, apply_saved *sv)
{
    *sv = (apply_saved){st->apply, st->dims, st->counters, st->default_dims, st->outputs,
                        st->cap_outputs, st->levels[0]};
    sema_map_init(&st->dims, 1);
    sema_map_init(&st->counters, 1);
    st->default_dims = 0;
    st->apply = ap;
}

static void apply_leave(sema_state *st, const apply_saved *sv)
{
    sema_map_free(&st->dims);
    sema_map_free(&st->counters);
    st->dims = sv->dims;
    st->counters = sv->counters;
    st->default_dims = sv->default_dims;
    st->apply = sv->apply;
    st->outputs = sv->outputs;
    st->cap_outputs = sv->cap_outputs;
    st->levels[0] = sv->root;
}

sema_value sema_net_apply(sema_state *st, sema_value iv, const ast_expr *call)
{
    const sema_netinst *ni = iv.inst;
    if (!st->g || !st->frame || st->frame->kind != FRAME_REPL) {
        sema_error(st, call->span, "a net instance is applied only at the REPL prompt (in a "
                   "program a stage's 'model' runs a net)");
        return sema_val_error();
    }
    sema_apply ap;
    memset(&ap, 0, sizeof ap);
    if (apply_args(st, call, ni, &ap))
        return sema_val_error();
    apply_saved sv;
    apply_enter(st, &ap, &sv);
    sema_netval *out = seg_arena_alloc(st->arena, sizeof *out);
    int rc = sema_run_net(st, ni->net, ni->args, ni->prefix, out);
    if (rc == 0)
        rc = apply_leftovers(st, &ap);
    apply_leave(st, &sv);
    if (rc)
        return sema_val_error();
    if (out->n_out == 1)
        return sema_val_tensor(out->out_ids[0]);
    return (sema_value){.kind = VAL_NET, .net = out};
}

/* ------------------------------------------------------ inputs (stmt.c) */

/* The argument input `name` takes: its keyword, else the next positional. */
int sema_apply_take(sema_state *st, const char *name)
{
    const sema_apply *ap = st->apply;
    for (int i = 0; i < ap->n; i++)
        if (!ap->used[i] && ap->kw[i] && strcmp(ap->kw[i], name) == 0)
            return ap->used[i] = 1, i;
    for (int i = 0; i < ap->n; i++)
        if (!ap->used[i] && !ap->kw[i])
            return ap->used[i] = 1, i;
    return -1;
}

/* Bind the undefined capitalised names of an input type f32[B, 1, D, H, W]
 * to the argument's extents, so the declared type can be checked. */
void sema_apply_dims(sema_state *st, const ast_expr *type, const rt_type *arg)
{
    if (type->kind != AST_INDEX)
        return;
    int i = 0;
    for (const ast_expr *a = type->args; a && i < arg->rank; a = a->next, i++) {
        if (a->kind != AST_NAME || !isupper((unsigned char)a->sval[0]) ||
            sema_slot_find(st->frame, a->sval) || sema_global_find(st->prog, a->sval) ||
            sema_map_get(&st->dims, a->sval))
            continue;
        *sema_map_put(&st->dims, a->sval, 0) = arg->dim[i];
    }
}
