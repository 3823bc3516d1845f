/* stmt.c — statements and block calls.
 *
 * A net or block call runs in one flat environment (a sema_frame):
 * assignments inside `for`, `if` and `scope` bodies stay visible after
 * them. `for` unrolls (inclusive ranges, `step`, lists), `if` picks a
 * branch at compile time, `scope` adds a naming level.
 *
 * A block call is inlined: the arguments are bound to the parameters in a
 * fresh frame (defaults are evaluated there, so they may use earlier
 * parameters), the body runs, and the value of its `return` is the call's
 * value. Recursion is an error, found by keeping the stack of blocks being
 * expanded; nesting is limited to SEMA_MAX_CALL_DEPTH.
 *
 * Unused values: overwriting a tensor variable nobody read, and reaching
 * the end of a call with one, is an error (check.c), unless the frame
 * already had errors (whose poison hides reads).
 */
#include "sema_internal.h"

#include <string.h>

/* -------------------------------------------------------------- frames */

void sema_frame_push(sema_state *st, sema_frame *f, sema_frame_kind kind, const ast_decl *d)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->decl = d;
    sema_map_init(&f->index, 0);
    f->errors_at_entry = st->errors;
    f->up = st->frame;
    st->frame = f;
}

void sema_frame_pop(sema_state *st, sema_frame *f)
{
    SEG_ASSERT(st->frame == f);
    st->frame = f->up;
    sema_map_free(&f->index);
    seg_free(f->slots);
    f->slots = NULL;
}

/* ----------------------------------------------------------- assignment */

static int holds_tensor(sema_value v)
{
    return v.kind == VAL_TENSOR || v.kind == VAL_FAMILY;
}

/* Before an input variable gets a new value: was the input ever used? */
static void check_overwrite(sema_state *st, sema_slot *s)
{
    if (s->input && !s->read && st->errors == st->frame->errors_at_entry)
        sema_error(st, s->span, "input '%s' is never used", s->name);
}

/* Track tensors assigned in nets and blocks for the unused check. */
static void set_origin(sema_state *st, sema_slot *s, const char *name, seg_span at)
{
    int tracked = st->frame->kind == FRAME_NET || st->frame->kind == FRAME_BLOCK;
    s->origin = tracked && holds_tensor(s->v) ? sema_origin_of(st, name, at) : -1;
}

static void assign_name(sema_state *st, const ast_expr *target, sema_value v)
{
    sema_slot *s = sema_slot_find(st->frame, target->sval);
    if (s && s->v.kind == VAL_FAMILY) {
        sema_error(st, target->span, "'%s' is an indexed family; assign its entries as %s[i]",
                   target->sval, target->sval);
        return;
    }
    if (s) {
        check_overwrite(st, s);
        s->input = 0;
    }
    s = sema_slot_set(st, target->sval, v, target->span);
    set_origin(st, s, target->sval, target->span);
}

/* The int keys of e[i][j] = ..., outermost first. Returns the count or -1. */
static int target_keys(sema_state *st, const ast_expr *t, int64_t *keys, int max,
                       const ast_expr **base)
{
    const ast_expr *chain[16];
    int n = 0;
    for (; t->kind == AST_INDEX; t = t->lhs) {
        if (n == max || n == 16) {
            sema_error(st, t->span, "too many indices in an assignment target");
            return -1;
        }
        chain[n++] = t;
    }
    *base = t;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const ast_expr *ix = chain[n - 1 - i];
        sema_value k = ix->n_args == 1 ? sema_eval(st, ix->args) : sema_val_error();
        if (ix->n_args != 1)
            sema_error(st, ix->span, "an assignment target takes one index per bracket");
        else if (k.kind != VAL_INT && k.kind != VAL_ERROR)
            sema_error(st, ix->args->span, "an indexed family takes int indices, got %s",
                       sema_value_desc(st, k));
        bad |= k.kind != VAL_INT;
        keys[i] = k.kind == VAL_INT ? k.i : 0;
    }
    return bad ? -1 : n;
}

/* The family variable `name`, created on first use. */
static sema_family *family_var(sema_state *st, const ast_expr *base)
{
    sema_slot *s = sema_slot_find(st->frame, base->sval);
    if (!s) {
        s = sema_slot_set(st, base->sval, sema_family_new(st), base->span);
        set_origin(st, s, base->sval, base->span);
        return s->v.fam;
    }
    if (s->v.kind == VAL_FAMILY)
        return s->v.fam;
    if (s->v.kind != VAL_ERROR)
        sema_error(st, base->span, "'%s' is %s %s, not an indexed family", base->sval,
                   s->v.kind == VAL_INT ? "an" : "a", sema_kind_name(s->v.kind));
    return NULL;
}

static void assign_indexed(sema_state *st, const ast_expr *target, sema_value v)
{
    int64_t keys[16];
    const ast_expr *base;
    int n = target_keys(st, target, keys, 16, &base);
    if (n < 0 || base->kind != AST_NAME) {
        if (n >= 0)
            sema_error(st, base->span, "an assignment target must be a name or name[i]");
        return;
    }
    sema_family *f = family_var(st, base);
    for (int i = 0; f && i < n - 1; i++) {
        sema_value *e = sema_family_put(st, f, keys[i]);
        if (e->kind == VAL_NONE)
            *e = sema_family_new(st);
        if (e->kind != VAL_FAMILY) {
            sema_error(st, target->span, "'%s' entry %lld is not an indexed family",
                       base->sval, (long long)keys[i]);
            return;
        }
        f = e->fam;
    }
    if (f)
        *sema_family_put(st, f, keys[n - 1]) = v;
}

static void exec_assign(sema_state *st, const ast_stmt *s)
{
    sema_value v = sema_eval(st, s->value);
    if (s->target->kind == AST_NAME)
        assign_name(st, s->target, v);
    else
        assign_indexed(st, s->target, v);
}

/* ------------------------------------------------------ input, output */

static int in_net(sema_state *st, const ast_stmt *s, const char *what)
{
    if (st->frame->kind == FRAME_NET)
        return 1;
    sema_error(st, s->span, "'%s' is only allowed in a net", what);
    return 0;
}

/* The existing graph input of that name (stage graphs share them). */
static ir_id shared_input(sema_state *st, const char *name, const rt_type *t, seg_span at)
{
    char a[160], b[160];
    for (ir_id i = 0; i < st->g->n_nodes; i++) {
        const ir_node *n = &st->g->nodes[i];
        if (n->op != OP_INPUT || strcmp(n->name, name) != 0)
            continue;
        if (rt_type_equal(&n->type, t))
            return i;
        sema_error(st, at, "input '%s' is %s here but %s elsewhere in this stage", name,
                   rt_type_str(t, a, sizeof a), rt_type_str(&n->type, b, sizeof b));
        return -2;
    }
    return -1;
}

static int input_type(sema_state *st, const ast_stmt *s, rt_type *t)
{
    sema_value v = sema_eval(st, s->value);
    if (v.kind == VAL_ERROR)
        return -1;
    if (v.kind != VAL_TYPE) {
        sema_error(st, s->value->span, "an input type looks like f32[B, 1, 64, 64], got %s",
                   sema_value_desc(st, v));
        return -1;
    }
    *t = *v.type;
    if (t->rank < 0)
        t->rank = 0;
    char msg[SEMA_ERRLEN];
    if (ir_type_fits(t, msg, sizeof msg)) {
        sema_error(st, s->value->span, "input '%s': %s", s->name, msg);
        return -1;
    }
    return 0;
}

/* An input of a net applied at the REPL: it takes an argument. */
static sema_value input_argument(sema_state *st, const ast_stmt *s)
{
    const sema_apply *ap = st->apply;
    char a[160], b[160];
    int k = sema_apply_take(st, s->name);
    if (k < 0) {
        if (sema_error(st, ap->call, "net '%s' needs a tensor for its input '%s'", ap->net,
                       s->name))
            sema_note(st, s->name_span, "'%s' is declared here", s->name);
        return sema_val_error();
    }
    const rt_type *arg = sema_type_of(st, ap->t[k]);
    rt_type t;
    sema_apply_dims(st, s->value, arg);
    if (input_type(st, s, &t))
        return sema_val_error();
    if (rt_type_equal(&t, arg))
        return sema_val_tensor(ap->t[k]);
    if (sema_error(st, ap->span[k], "input '%s' of net '%s' is %s, but this tensor is %s",
                   s->name, ap->net, rt_type_str(&t, a, sizeof a), rt_type_str(arg, b, sizeof b)))
        sema_note(st, s->span, "'%s' is declared here", s->name);
    return sema_val_error();
}

static void exec_input(sema_state *st, const ast_stmt *s)
{
    rt_type t;
    if (!in_net(st, s, "input"))
        return;
    sema_slot *old = sema_slot_find(st->frame, s->name);
    if (old) {
        if (sema_error(st, s->name_span, "'%s' is already defined", s->name))
            sema_note(st, old->span, "previous definition here");
        return;
    }
    if (st->apply) {
        sema_slot_set(st, s->name, input_argument(st, s), s->name_span)->input = 1;
        return;
    }
    if (input_type(st, s, &t)) {
        sema_slot_set(st, s->name, sema_val_error(), s->name_span);
        return;
    }
    const char *gname = st->io_prefix
                            ? seg_arena_printf(st->arena, "%s.%s", st->io_prefix, s->name)
                            : s->name;
    ir_id id = st->share_inputs ? shared_input(st, gname, &t, s->name_span) : -1;
    if (id == -1)
        id = ir_add_input(st->g, gname, &t, s->name_span);
    sema_slot *slot = sema_slot_set(st, s->name, id < 0 ? sema_val_error() : sema_val_tensor(id),
                                    s->name_span);
    slot->input = 1;
}

static void record_output(sema_state *st, const char *name, ir_id id)
{
    sema_netval *o = st->outputs;
    if (o->n_out == st->cap_outputs) {
        st->cap_outputs = st->cap_outputs ? 2 * st->cap_outputs : 8;
        const char **names = seg_arena_alloc(st->arena, (size_t)st->cap_outputs * sizeof *names);
        ir_id *ids = seg_arena_alloc(st->arena, (size_t)st->cap_outputs * sizeof *ids);
        if (o->n_out) {
            memcpy(names, o->out_names, (size_t)o->n_out * sizeof *names);
            memcpy(ids, o->out_ids, (size_t)o->n_out * sizeof *ids);
        }
        o->out_names = names;
        o->out_ids = ids;
    }
    o->out_names[o->n_out] = name;
    o->out_ids[o->n_out++] = id;
}

static void exec_output(sema_state *st, const ast_stmt *s)
{
    if (!in_net(st, s, "output"))
        return;
    sema_value v = sema_eval(st, s->value);
    for (int i = 0; i < st->outputs->n_out; i++)
        if (strcmp(st->outputs->out_names[i], s->name) == 0) {
            sema_error(st, s->name_span, "output '%s' is already defined", s->name);
            return;
        }
    if (v.kind == VAL_ERROR) {
        st->poisoned_outputs++;
        sema_slot_set(st, s->name, v, s->name_span)->read = 1; /* later uses stay quiet */
        return;
    }
    if (v.kind != VAL_TENSOR) {
        sema_error(st, s->value->span, "output '%s' must be a tensor, got %s", s->name,
                   sema_value_desc(st, v));
        return;
    }
    const char *full = st->outputs->binding
                           ? seg_arena_printf(st->arena, "%s.%s", st->outputs->binding, s->name)
                           : s->name;
    if (st->io_prefix)
        full = seg_arena_printf(st->arena, "%s.%s", st->io_prefix, full);
    if (!st->apply) /* an applied net's outputs are its value, not the graph's */
        ir_add_output(st->g, full, v.t);
    record_output(st, s->name, v.t);
    /* From here on the output's name is a variable too (`output logits =
     * ...` then `softmax(logits)`); being an output, it counts as used. */
    sema_slot *slot = sema_slot_find(st->frame, s->name);
    if (slot && slot->input)
        check_overwrite(st, slot);
    slot = sema_slot_set(st, s->name, v, s->name_span);
    slot->read = 1;
    slot->input = 0;
    slot->origin = -1;
}

static int exec_return(sema_state *st, const ast_stmt *s)
{
    if (st->frame->kind != FRAME_BLOCK) {
        sema_error(st, s->span, "'return' is only allowed in a block (a net has outputs)");
        return 0;
    }
    st->frame->ret = sema_eval(st, s->value);
    st->frame->returned = 1;
    return 1;
}

/* ------------------------------------------------------ control flow */

static int budget(sema_state *st, seg_span at)
{
    if (st->stop)
        return 1;
    if (++st->steps <= SEMA_MAX_STEPS)
        return 0;
    sema_error(st, at, "compile-time evaluation takes too long (more than %ld steps); "
               "is a loop too large?", SEMA_MAX_STEPS);
    st->stop = 1;
    return 1;
}

/* Bind the loop variable and run the body once; 1 = returned or stop. */
static int loop_once(sema_state *st, const ast_stmt *s, sema_value v)
{
    if (budget(st, s->span))
        return 1;
    sema_slot_set(st, s->name, v, s->name_span)->read = 1;
    sema_context_push(st, (sema_context){.var = s->name, .v = v, .at = s->name_span});
    int r = sema_exec(st, s->body);
    sema_context_pop(st);
    return r;
}

static int loop_step(sema_state *st, const ast_stmt *s, int64_t *step)
{
    *step = 1;
    if (!s->step)
        return 0;
    sema_value v = sema_eval(st, s->step);
    if (v.kind == VAL_ERROR)
        return -1;
    if (v.kind != VAL_INT || v.i == 0) {
        sema_error(st, s->step->span, "'step' must be a non-zero int, got %s",
                   sema_value_str(st, v));
        return -1;
    }
    *step = v.i;
    return 0;
}

static int loop_range(sema_state *st, const ast_stmt *s, int64_t lo, int64_t hi)
{
    int64_t step;
    if (loop_step(st, s, &step))
        return 0;
    if (!s->step && lo > hi)
        sema_warning(st, s->value->span,
                     "range %lld..%lld is empty; add 'step -1' to count down",
                     (long long)lo, (long long)hi);
    if ((step > 0 && lo > hi) || (step < 0 && lo < hi))
        return 0;
    uint64_t n = (step > 0 ? (uint64_t)hi - (uint64_t)lo : (uint64_t)lo - (uint64_t)hi) /
                     (step > 0 ? (uint64_t)step : (uint64_t)0 - (uint64_t)step) + 1;
    for (uint64_t i = 0; i < n; i++)
        if (loop_once(st, s, sema_val_int((int64_t)((uint64_t)lo + i * (uint64_t)step))))
            return 1;
    return 0;
}

static int exec_for(sema_state *st, const ast_stmt *s)
{
    sema_value it = sema_eval(st, s->value);
    if (it.kind == VAL_RANGE)
        return loop_range(st, s, it.r.lo, it.r.hi);
    if (it.kind == VAL_LIST) {
        if (s->step)
            sema_error(st, s->step->span, "'step' applies to ranges, not lists");
        for (int i = 0; i < it.list->n; i++)
            if (loop_once(st, s, it.list->items[i]))
                return 1;
        return 0;
    }
    if (it.kind != VAL_ERROR)
        sema_error(st, s->value->span, "'for' needs a range (1..4) or a list, got %s",
                   sema_value_desc(st, it));
    return 0;
}

static int exec_if(sema_state *st, const ast_stmt *s)
{
    sema_value c = sema_eval(st, s->value);
    if (c.kind == VAL_ERROR)
        return 0;
    if (c.kind != VAL_BOOL) {
        sema_error(st, s->value->span, "an 'if' condition must be a compile-time bool, got %s",
                   sema_value_desc(st, c));
        return 0;
    }
    return sema_exec(st, c.i ? s->body : s->orelse);
}

static int exec_scope(sema_state *st, const ast_stmt *s)
{
    const char *seg = s->name;
    if (s->step) {
        sema_value ix = sema_eval(st, s->step);
        if (ix.kind == VAL_ERROR)
            return 0;
        if (ix.kind != VAL_INT && ix.kind != VAL_STRING) {
            sema_error(st, s->step->span, "a scope index must be an int or a string, got %s",
                       sema_value_desc(st, ix));
            return 0;
        }
        seg = seg_arena_printf(st->arena, "%s.%s", s->name, sema_value_str(st, ix));
    }
    sema_names_push_scope(st, seg);
    int r = sema_exec(st, s->body);
    sema_names_pop(st);
    return r;
}

static int exec_one(sema_state *st, const ast_stmt *s)
{
    switch (s->kind) {
    case AST_ASSIGN: exec_assign(st, s); return 0;
    case AST_INPUT: exec_input(st, s); return 0;
    case AST_OUTPUT: exec_output(st, s); return 0;
    case AST_RETURN: return exec_return(st, s);
    case AST_FOR: return exec_for(st, s);
    case AST_IF: return exec_if(st, s);
    case AST_SCOPE: return exec_scope(st, s);
    case AST_ITEM: case AST_STAGE:
        sema_error(st, s->span, "schedule items are only allowed in a schedule");
        return 0;
    }
    SEG_UNREACHABLE();
}

int sema_exec(sema_state *st, const ast_stmt *s)
{
    for (; s; s = s->next) {
        if (budget(st, s->span))
            return 1;
        if (exec_one(st, s))
            return 1;
    }
    return 0;
}

/* --------------------------------------------------------- block calls */

static int call_cycle(sema_state *st, const ast_decl *d, seg_span at)
{
    int first = -1;
    for (int i = 0; i < st->depth && first < 0; i++)
        if (st->calls[i] == d)
            first = i;
    if (first < 0)
        return 0;
    seg_buf chain = {0};
    for (int i = first; i < st->depth; i++)
        seg_buf_printf(&chain, "%s -> ", st->calls[i]->name);
    seg_buf_printf(&chain, "%s", d->name);
    sema_error(st, at, "block '%s' calls itself (%s): recursion is not allowed, blocks are "
               "expanded inline", d->name, chain.data);
    seg_buf_free(&chain);
    return 1;
}

static int call_enter(sema_state *st, const ast_decl *d, seg_span at)
{
    if (call_cycle(st, d, at))
        return -1;
    if (st->depth >= SEMA_MAX_CALL_DEPTH) {
        sema_error(st, at, "block calls are nested more than %d deep", SEMA_MAX_CALL_DEPTH);
        return -1;
    }
    if (st->depth == st->cap_calls) {
        st->cap_calls = st->cap_calls ? 2 * st->cap_calls : 16;
        st->calls = seg_xrealloc(st->calls, (size_t)st->cap_calls * sizeof *st->calls);
    }
    st->calls[st->depth++] = d;
    return 0;
}

/* Formals of a block or net: every parameter may be positional; those
 * without a default are required. */
int sema_decl_formals(const ast_decl *d, sema_formal *f, int max)
{
    int n = 0;
    for (const ast_param *p = d->params; p && n < max; p = p->next, n++)
        f[n] = (sema_formal){p->name, 1, p->def == NULL};
    return n;
}

static int decl_has_param(const ast_decl *d, const char *name)
{
    for (const ast_param *p = d->params; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return 1;
    return 0;
}

/* Bind parameters in the new frame: given values, else defaults. */
void sema_bind_params(sema_state *st, const ast_decl *d, const sema_args *a)
{
    int i = 0;
    for (const ast_param *p = d->params; p; p = p->next, i++) {
        sema_value v = a->given[i] ? a->v[i] : p->def ? sema_eval(st, p->def) : sema_val_error();
        sema_slot *s = sema_slot_set(st, p->name, v, a->given[i] ? a->span[i] : p->span);
        s->param = 1;
        s->read = 1;
    }
}

static sema_value block_result(sema_state *st, sema_frame *f, const ast_decl *d, seg_span at)
{
    if (f->returned)
        return f->ret;
    if (st->errors == f->errors_at_entry && !st->stop &&
        sema_error(st, at, "block '%s' returns no value (it has no 'return')", d->name))
        sema_note(st, d->name_span, "'%s' is declared here", d->name);
    return sema_val_error();
}

static sema_value run_block(sema_state *st, const ast_decl *d, const sema_args *a, seg_span at)
{
    sema_frame f;
    sema_frame_push(st, &f, FRAME_BLOCK, d);
    sema_bind_params(st, d, a);
    sema_names_push_call(st, d->name, a->seg_name);
    sema_context_push(st, (sema_context){.block = d, .args = a, .at = at});
    sema_exec(st, d->body);
    sema_context_pop(st);
    sema_names_pop(st);
    sema_value r = block_result(st, &f, d, at);
    sema_check_unused(st, &f);
    sema_frame_pop(st, &f);
    return r;
}

sema_value sema_call_block(sema_state *st, sema_global *gl, const ast_expr *call)
{
    const ast_decl *d = gl->decl;
    sema_formal formals[SEMA_MAX_PARAMS];
    gl->called = 1;
    if (d->n_params > SEMA_MAX_PARAMS) {
        sema_error(st, d->name_span, "block '%s' has more than %d parameters", d->name,
                   SEMA_MAX_PARAMS);
        return sema_val_error();
    }
    sema_binder b = {d->name, formals, sema_decl_formals(d, formals, SEMA_MAX_PARAMS), 0,
                     !decl_has_param(d, "name")};
    sema_args a;
    if (sema_bind(st, &b, call->args, call->span, &a) || call_enter(st, d, call->span))
        return sema_val_error();
    sema_value r = run_block(st, d, &a, call->span);
    st->depth--;
    return r;
}
