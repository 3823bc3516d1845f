/* eval.c — expression evaluation.
 *
 * Every expression is evaluated at compile time. Numbers, bools, strings,
 * lists and ranges compute directly; as soon as an operand is a tensor the
 * operator becomes a graph node instead (a number beside a tensor turns
 * into a rank-0 f32 constant that the shape rule broadcasts, and u8/i32
 * tensors are cast to f32 first, so `label * 1.0` is a float mask).
 *
 * Errors yield the poison value VAL_ERROR; every operation on poison
 * yields poison silently, so one mistake is reported once.
 *
 * Long operator chains (`a + b + c + ...`, thousands of terms in generated
 * files) are left-deep trees; eval_binary walks their left spine with a
 * loop instead of recursion, so only bracket nesting (bounded by the
 * parser) costs stack.
 *
 * Integer semantics: `/` on two ints is floor division (channel
 * arithmetic stays integral), with a warning when it is inexact; `%` is
 * floor modulo; `**` with a negative exponent gives a float; overflow is
 * an error.
 */
#include "sema_internal.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------ graph helpers */

const rt_type *sema_type_of(const sema_state *st, ir_id t)
{
    SEG_ASSERT(st->g && t >= 0 && t < st->g->n_nodes);
    return &st->g->nodes[t].type;
}

static int need_graph(sema_state *st, seg_span at)
{
    if (st->g)
        return 0;
    sema_error(st, at, "tensor operations are only allowed inside a net, a block or a loss");
    return -1;
}

ir_id sema_add_op(sema_state *st, rt_op op, const rt_attrs *a, const ir_id *in, int n_in,
                  const rt_type *want, seg_span span)
{
    char err[SEMA_ERRLEN];
    if (need_graph(st, span))
        return -1;
    if (st->g->n_nodes >= SEMA_MAX_NODES) {
        sema_error(st, span, "the graph has more than %d nodes", SEMA_MAX_NODES);
        st->stop = 1;
        return -1;
    }
    err[0] = 0;
    ir_id id = ir_add_op(st->g, op, a, in, n_in, want, span, err, sizeof err);
    if (id < 0)
        sema_error(st, span, "%s", err[0] ? err : "invalid operation");
    return id;
}

static ir_id cast_f32(sema_state *st, ir_id t, seg_span at)
{
    rt_type want = *sema_type_of(st, t);
    if (want.dtype == RT_F32)
        return t;
    want.dtype = RT_F32;
    return sema_add_op(st, OP_CAST, NULL, &t, 1, &want, at);
}

ir_id sema_tensor_of(sema_state *st, sema_value v, int arith, seg_span at)
{
    if (v.kind == VAL_ERROR)
        return -1;
    if (v.kind == VAL_TENSOR)
        return arith ? cast_f32(st, v.t, at) : v.t;
    if (sema_val_is_number(v)) {
        if (need_graph(st, at))
            return -1;
        rt_type t = {.dtype = RT_F32, .rank = 0};
        return ir_add_const(st->g, &t, sema_val_number(v), at);
    }
    sema_error(st, at, "expected a tensor or a number, got %s", sema_value_desc(st, v));
    return -1;
}

/* ------------------------------------------------------------- slots */

sema_slot *sema_slot_find(sema_frame *f, const char *name)
{
    if (!f)
        return NULL;
    int64_t *i = sema_map_get(&f->index, name);
    return i ? &f->slots[*i] : NULL;
}

sema_slot *sema_slot_set(sema_state *st, const char *name, sema_value v, seg_span at)
{
    sema_frame *f = st->frame;
    sema_slot *s = sema_slot_find(f, name);
    if (!s) {
        if (f->n_slots == f->cap_slots) {
            f->cap_slots = f->cap_slots ? 2 * f->cap_slots : 16;
            f->slots = seg_xrealloc(f->slots, (size_t)f->cap_slots * sizeof *f->slots);
        }
        s = &f->slots[f->n_slots];
        memset(s, 0, sizeof *s);
        s->name = name;
        s->origin = -1;
        sema_map_put(&f->index, name, f->n_slots);
        f->n_slots++;
    }
    s->v = v;
    s->span = at;
    s->read = 0;
    return s;
}

/* -------------------------------------------------------------- names */

static int is_dtype_name(const char *s, rt_dtype *dt)
{
    for (int i = 0; i < RT_DTYPE_COUNT; i++)
        if (strcmp(s, rt_dtype_name((rt_dtype)i)) == 0) {
            *dt = (rt_dtype)i;
            return 1;
        }
    return 0;
}

static sema_value dtype_value(sema_state *st, rt_dtype dt)
{
    rt_type *t = seg_arena_alloc(st->arena, sizeof *t);
    t->dtype = dt;
    t->rank = -1;
    return (sema_value){.kind = VAL_TYPE, .type = t};
}

/* A capitalised name in a net that nothing defines: a symbolic dimension. */
static sema_value eval_symbolic(sema_state *st, const ast_expr *e, int *found)
{
    *found = 0;
    if (!st->g || !isupper((unsigned char)e->sval[0]))
        return sema_val_error();
    int64_t *v = sema_map_get(&st->dims, e->sval);
    if (!v && st->default_dims)
        v = sema_map_put(&st->dims, e->sval, 1);
    *found = 1;
    if (v)
        return sema_val_int(*v);
    sema_error(st, e->span, "symbolic dimension '%s' is not bound (use --set %s=N)", e->sval,
               e->sval);
    return sema_val_error();
}

static sema_value eval_global(sema_state *st, const ast_expr *e, sema_global *gl)
{
    static const char *const what[] = {[AST_BLOCK] = "block", [AST_NET] = "net",
                                       [AST_SCHEDULE] = "schedule",
                                       [AST_STAGE_DEF] = "stage template"};
    if (gl->decl->kind == AST_CONST)
        return sema_const_value(st, gl, e->span);
    sema_error(st, e->span, "'%s' is a %s, not a value%s", e->sval, what[gl->decl->kind],
               gl->decl->kind == AST_BLOCK ? "; call it" : "");
    return sema_val_error();
}

static sema_value eval_unknown(sema_state *st, const ast_expr *e)
{
    if (sema_builtin_find(e->sval)) {
        sema_error(st, e->span, "'%s' is a built-in op, not a value; call it as %s(...)",
                   e->sval, e->sval);
        return sema_val_error();
    }
    if (sema_error(st, e->span, "unknown name '%s'", e->sval)) {
        sema_suggest s;
        sema_suggest_init(&s, e->sval);
        sema_suggest_names(st, &s, 0);
        sema_suggest_note(st, &s, e->span);
    }
    return sema_val_error();
}

static sema_value eval_name(sema_state *st, const ast_expr *e)
{
    sema_slot *slot = sema_slot_find(st->frame, e->sval);
    if (slot) {
        slot->read = 1;
        if (slot->origin >= 0)
            st->origins[slot->origin].read = 1;
        return slot->v;
    }
    int found = 0;
    sema_value v;
    if (st->lookup_hook) {
        v = st->lookup_hook(st, e, &found);
        if (found)
            return v;
    }
    sema_global *gl = sema_global_find_mut(st->prog, e->sval);
    if (gl)
        return eval_global(st, e, gl);
    rt_dtype dt;
    if (is_dtype_name(e->sval, &dt))
        return dtype_value(st, dt);
    v = eval_symbolic(st, e, &found);
    return found ? v : eval_unknown(st, e);
}

/* ------------------------------------------------------ lists, ranges */

static sema_value eval_list(sema_state *st, const ast_expr *e)
{
    sema_value l = sema_list_new(st, e->n_args);
    int i = 0, bad = 0;
    for (const ast_expr *a = e->args; a; a = a->next, i++) {
        if (a->kw)
            bad |= sema_error(st, a->kw_span, "a list item cannot have a name ('%s =')", a->kw) | 1;
        l.list->items[i] = sema_eval(st, a);
        bad |= l.list->items[i].kind == VAL_ERROR;
    }
    return bad ? sema_val_error() : l;
}

static int range_bound(sema_state *st, const ast_expr *e, int64_t *out)
{
    sema_value v = sema_eval(st, e);
    if (v.kind == VAL_ERROR)
        return -1;
    if (v.kind != VAL_INT) {
        sema_error(st, e->span, "range bounds must be ints, got %s", sema_value_desc(st, v));
        return -1;
    }
    *out = v.i;
    return 0;
}

static sema_value eval_range(sema_state *st, const ast_expr *e)
{
    int64_t lo, hi;
    int bad = range_bound(st, e->lhs, &lo);
    bad |= range_bound(st, e->rhs, &hi);
    if (bad)
        return sema_val_error();
    return (sema_value){.kind = VAL_RANGE, .r = {lo, hi}};
}

/* ----------------------------------------------------------- indexing */

static sema_value index_type(sema_state *st, const ast_expr *e, const rt_type *dt)
{
    rt_type *t = seg_arena_alloc(st->arena, sizeof *t);
    t->dtype = dt->dtype;
    if (dt->rank >= 0) {
        sema_error(st, e->span, "this type already has a shape");
        return sema_val_error();
    }
    if (e->n_args > RT_MAX_RANK) {
        sema_error(st, e->span, "a tensor has at most %d dimensions, this type has %d",
                   RT_MAX_RANK, e->n_args);
        return sema_val_error();
    }
    int bad = 0;
    for (const ast_expr *a = e->args; a; a = a->next) {
        sema_value v = sema_eval(st, a);
        if (v.kind == VAL_ERROR) {
            bad = 1;
        } else if (v.kind != VAL_INT || v.i < 1) {
            sema_error(st, a->span, "a dimension must be a positive int, got %s",
                       sema_value_str(st, v));
            bad = 1;
        } else {
            t->dim[t->rank++] = v.i;
        }
    }
    return bad ? sema_val_error() : (sema_value){.kind = VAL_TYPE, .type = t};
}

static const char *expr_text(sema_state *st, const ast_expr *e)
{
    seg_buf b = {0};
    sema_expr_str(e, &b);
    const char *s = seg_arena_strdup(st->arena, b.data ? b.data : "");
    seg_buf_free(&b);
    return s;
}

static sema_value family_entry(sema_state *st, const ast_expr *e, sema_family *f, int64_t k)
{
    sema_value *v = sema_family_get(f, k);
    if (v && v->kind != VAL_NONE)
        return *v;
    const char *base = expr_text(st, e->lhs);
    if (f->n)
        sema_error(st, e->span, "'%s[%lld]' is not defined (%s has entries %lld..%lld)", base,
                   (long long)k, base, (long long)f->keys[0], (long long)f->keys[f->n - 1]);
    else
        sema_error(st, e->span, "'%s[%lld]' is not defined", base, (long long)k);
    return sema_val_error();
}

static sema_value family_range(sema_state *st, const ast_expr *e, sema_family *f,
                               int64_t lo, int64_t hi)
{
    int64_t step = lo <= hi ? 1 : -1, n = (hi - lo) * step + 1;
    sema_value l = sema_list_new(st, (int)n);
    for (int64_t i = 0; i < n; i++) {
        l.list->items[i] = family_entry(st, e, f, lo + i * step);
        if (l.list->items[i].kind == VAL_ERROR)
            return sema_val_error();
    }
    return l;
}

static sema_value list_item(sema_state *st, const ast_expr *e, sema_list *l, int64_t k)
{
    int64_t i = k < 0 ? k + l->n : k;
    if (i >= 0 && i < l->n)
        return l->items[i];
    sema_error(st, e->span, "index %lld is out of range for a list of %d item%s",
               (long long)k, l->n, l->n == 1 ? "" : "s");
    return sema_val_error();
}

static sema_value list_range(sema_state *st, const ast_expr *e, sema_list *l, int64_t lo,
                             int64_t hi)
{
    if (lo < 0 || hi >= l->n || lo > hi) {
        sema_error(st, e->span, "range %lld..%lld is out of range for a list of %d items",
                   (long long)lo, (long long)hi, l->n);
        return sema_val_error();
    }
    sema_value r = sema_list_new(st, (int)(hi - lo + 1));
    memcpy(r.list->items, l->items + lo, (size_t)(hi - lo + 1) * sizeof *l->items);
    return r;
}

static sema_value index_one(sema_state *st, const ast_expr *e, sema_value base, sema_value k)
{
    if (k.kind == VAL_ERROR)
        return k;
    int is_range = k.kind == VAL_RANGE;
    if (k.kind != VAL_INT && !is_range) {
        sema_error(st, e->args->span, "an index must be an int or a range, got %s",
                   sema_value_desc(st, k));
        return sema_val_error();
    }
    if (base.kind == VAL_FAMILY)
        return is_range ? family_range(st, e, base.fam, k.r.lo, k.r.hi)
                        : family_entry(st, e, base.fam, k.i);
    return is_range ? list_range(st, e, base.list, k.r.lo, k.r.hi)
                    : list_item(st, e, base.list, k.i);
}

static sema_value eval_index(sema_state *st, const ast_expr *e)
{
    sema_value base = sema_eval(st, e->lhs);
    if (base.kind == VAL_ERROR)
        return base;
    if (base.kind == VAL_TYPE)
        return index_type(st, e, base.type);
    if (base.kind == VAL_TENSOR) {
        sema_error(st, e->span, "a tensor cannot be indexed; use slice(x, axis, begin, end)");
        return sema_val_error();
    }
    if (base.kind != VAL_FAMILY && base.kind != VAL_LIST) {
        sema_error(st, e->span, "'%s' is %s %s and cannot be indexed", expr_text(st, e->lhs),
                   base.kind == VAL_INT ? "an" : "a", sema_kind_name(base.kind));
        return sema_val_error();
    }
    if (e->n_args != 1) {
        sema_error(st, e->span, "'%s' takes one index, got %d", expr_text(st, e->lhs),
                   e->n_args);
        return sema_val_error();
    }
    return index_one(st, e, base, sema_eval(st, e->args));
}

/* ------------------------------------------------------------- members */

static sema_value eval_member(sema_state *st, const ast_expr *e)
{
    sema_value base = sema_eval(st, e->lhs);
    if (base.kind == VAL_ERROR)
        return base;
    if (base.kind == VAL_NET) {
        sema_netval *n = base.net;
        for (int i = 0; i < n->n_out; i++)
            if (strcmp(n->out_names[i], e->sval) == 0)
                return sema_val_tensor(n->out_ids[i]);
        if (sema_error(st, e->span, "net '%s' has no output '%s'", n->net, e->sval)) {
            sema_suggest s;
            sema_suggest_init(&s, e->sval);
            for (int i = 0; i < n->n_out; i++)
                sema_suggest_add(&s, n->out_names[i]);
            sema_suggest_note(st, &s, e->span);
        }
        return sema_val_error();
    }
    if (base.kind == VAL_STREAM && st->lookup_hook) {
        int found = 0;
        sema_value v = st->lookup_hook(st, e, &found);
        if (found)
            return v;
    }
    sema_error(st, e->span, "%s has no member '%s'", sema_value_desc(st, base), e->sval);
    return sema_val_error();
}

/* --------------------------------------------------------------- calls */

/* A constant that holds a net instance (REPL: m = unet(); m(x)). */
static int is_instance_const(sema_state *st, sema_global *gl, const ast_expr *e, sema_value *v)
{
    if (!st->prog->repl || gl->decl->kind != AST_CONST)
        return 0;
    *v = sema_const_value(st, gl, e->span);
    return v->kind == VAL_NETINST || v->kind == VAL_ERROR;
}

static sema_value eval_call(sema_state *st, const ast_expr *e)
{
    sema_global *gl = sema_global_find_mut(st->prog, e->sval);
    sema_value inst;
    if (gl && gl->decl->kind == AST_BLOCK)
        return sema_call_block(st, gl, e);
    if (gl && gl->decl->kind == AST_NET && st->prog->repl)
        return sema_net_instance(st, gl, e);
    if (gl && is_instance_const(st, gl, e, &inst))
        return inst.kind == VAL_ERROR ? inst : sema_net_apply(st, inst, e);
    if (!gl && st->call_hook) {
        int found = 0;
        sema_value v = st->call_hook(st, e, &found);
        if (found)
            return v;
    }
    const sema_builtin *bi = sema_builtin_find(e->sval);
    if (bi && !gl)
        return sema_call_builtin(st, bi, e);
    if (gl) {
        sema_error(st, e->span, "'%s' is a %s, not a function%s", e->sval,
                   gl->decl->kind == AST_NET         ? "net"
                   : gl->decl->kind == AST_CONST     ? "constant"
                   : gl->decl->kind == AST_STAGE_DEF ? "stage template"
                                                     : "schedule",
                   gl->decl->kind == AST_NET ? " (nets are used by a schedule's 'model')" : "");
        return sema_val_error();
    }
    if (sema_error(st, e->span, "unknown name '%s'", e->sval)) {
        sema_suggest s;
        sema_suggest_init(&s, e->sval);
        sema_suggest_names(st, &s, 1);
        sema_suggest_note(st, &s, e->span);
    }
    return sema_val_error();
}

/* callee(args) where the callee is not a name: a net instance. */
static sema_value eval_apply(sema_state *st, const ast_expr *e)
{
    sema_value f = sema_eval(st, e->lhs);
    if (f.kind == VAL_ERROR)
        return f;
    if (f.kind == VAL_NETINST)
        return sema_net_apply(st, f, e);
    sema_error(st, e->lhs->span, "%s cannot be applied to arguments%s", sema_value_desc(st, f),
               st->prog->repl ? "" : " (only a net instance can, at the REPL prompt)");
    return sema_val_error();
}

/* --------------------------------------------------- number arithmetic */

static const char *op_text(ast_binop op)
{
    static const char *const t[] = {
        [AST_OP_ADD] = "+",  [AST_OP_SUB] = "-",  [AST_OP_MUL] = "*",  [AST_OP_DIV] = "/",
        [AST_OP_MOD] = "%",  [AST_OP_POW] = "**", [AST_OP_LT] = "<",   [AST_OP_LE] = "<=",
        [AST_OP_GT] = ">",   [AST_OP_GE] = ">=",  [AST_OP_EQ] = "==",  [AST_OP_NE] = "!=",
        [AST_OP_AND] = "and", [AST_OP_OR] = "or", [AST_OP_NEG] = "-",  [AST_OP_NOT] = "not",
    };
    return t[op];
}

static int is_compare_op(ast_binop op) { return op >= AST_OP_LT && op <= AST_OP_NE; }

static sema_value compare_result(ast_binop op, int c)
{
    switch (op) {
    case AST_OP_LT: return sema_val_bool(c < 0);
    case AST_OP_LE: return sema_val_bool(c <= 0);
    case AST_OP_GT: return sema_val_bool(c > 0);
    case AST_OP_GE: return sema_val_bool(c >= 0);
    case AST_OP_EQ: return sema_val_bool(c == 0);
    case AST_OP_NE: return sema_val_bool(c != 0);
    default: SEG_UNREACHABLE();
    }
}

static sema_value int_overflow(sema_state *st, seg_span at, ast_binop op)
{
    sema_error(st, at, "integer overflow in '%s'", op_text(op));
    return sema_val_error();
}

static sema_value float_arith(sema_state *st, ast_binop op, double a, double b, seg_span at);

static sema_value int_pow(sema_state *st, int64_t a, int64_t b, seg_span at)
{
    if (b < 0)
        return float_arith(st, AST_OP_POW, (double)a, (double)b, at);
    int64_t r = 1;
    for (; b; b >>= 1) {
        if ((b & 1) && __builtin_mul_overflow(r, a, &r))
            return int_overflow(st, at, AST_OP_POW);
        if ((b >> 1) && __builtin_mul_overflow(a, a, &a))
            return int_overflow(st, at, AST_OP_POW);
    }
    return sema_val_int(r);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static sema_value int_divide(sema_state *st, int64_t a, int64_t b, ast_binop op, seg_span at)
{
    if (b == 0) {
        sema_error(st, at, "%s by zero", op == AST_OP_DIV ? "division" : "modulo");
        return sema_val_error();
    }
    if (a == INT64_MIN && b == -1)
        return int_overflow(st, at, op);
    int64_t q = floor_div(a, b);
    if (op == AST_OP_MOD)
        return sema_val_int(a - q * b);
    if (q * b != a)
        sema_warning(st, at, "integer division %lld / %lld is %lld; write %lld.0 / %lld for %g",
                     (long long)a, (long long)b, (long long)q, (long long)a, (long long)b,
                     (double)a / (double)b);
    return sema_val_int(q);
}

static sema_value int_arith(sema_state *st, ast_binop op, int64_t a, int64_t b, seg_span at)
{
    int64_t r;
    switch (op) {
    case AST_OP_ADD: return __builtin_add_overflow(a, b, &r) ? int_overflow(st, at, op) : sema_val_int(r);
    case AST_OP_SUB: return __builtin_sub_overflow(a, b, &r) ? int_overflow(st, at, op) : sema_val_int(r);
    case AST_OP_MUL: return __builtin_mul_overflow(a, b, &r) ? int_overflow(st, at, op) : sema_val_int(r);
    case AST_OP_DIV: case AST_OP_MOD: return int_divide(st, a, b, op, at);
    case AST_OP_POW: return int_pow(st, a, b, at);
    default: return compare_result(op, (a > b) - (a < b));
    }
}

/* A non-finite result from finite operands is an error where it happens,
 * not an inf or NaN that surfaces later as a shape or a learning rate. */
static sema_value float_finite(sema_state *st, ast_binop op, double a, double b, double r,
                               seg_span at)
{
    if (isfinite(r) || !isfinite(a) || !isfinite(b))
        return sema_val_float(r);
    if (op == AST_OP_POW && a == 0)
        sema_error(st, at, "0 ** %g is infinite (zero to a negative power)", b);
    else if (isnan(r))
        sema_error(st, at, "(%g) ** %g is not a real number", a, b);
    else
        sema_error(st, at, "'%s' overflows: %g %s %g is beyond the range of a float", op_text(op),
                   a, op_text(op), b);
    return sema_val_error();
}

static sema_value float_arith(sema_state *st, ast_binop op, double a, double b, seg_span at)
{
    switch (op) {
    case AST_OP_ADD: return float_finite(st, op, a, b, a + b, at);
    case AST_OP_SUB: return float_finite(st, op, a, b, a - b, at);
    case AST_OP_MUL: return float_finite(st, op, a, b, a * b, at);
    case AST_OP_DIV: case AST_OP_MOD:
        if (b == 0) {
            sema_error(st, at, "%s by zero", op == AST_OP_DIV ? "division" : "modulo");
            return sema_val_error();
        }
        return float_finite(st, op, a, b, op == AST_OP_DIV ? a / b : a - floor(a / b) * b, at);
    case AST_OP_POW: return float_finite(st, op, a, b, pow(a, b), at);
    default: return compare_result(op, (a > b) - (a < b));
    }
}

/* ---------------------------------------------------- tensor operators */

static rt_op tensor_op(ast_binop op)
{
    switch (op) {
    case AST_OP_ADD: return OP_ADD;
    case AST_OP_SUB: return OP_SUB;
    case AST_OP_MUL: return OP_MUL;
    case AST_OP_DIV: return OP_DIV;
    case AST_OP_POW: return OP_POW;
    case AST_OP_LT: return OP_LT;
    case AST_OP_LE: return OP_LE;
    case AST_OP_GT: return OP_GT;
    case AST_OP_GE: return OP_GE;
    case AST_OP_EQ: return OP_EQ;
    case AST_OP_NE: return OP_NE;
    default: return OP_COUNT;
    }
}

static sema_value tensor_binary(sema_state *st, ast_binop op, sema_value a, sema_value b,
                                seg_span at)
{
    rt_op rop = tensor_op(op);
    if (rop == OP_COUNT) {
        sema_error(st, at, "'%s' is not defined on tensors", op_text(op));
        return sema_val_error();
    }
    if (a.kind == VAL_BOOL || b.kind == VAL_BOOL) {
        sema_error(st, at, "'%s' between a tensor and a bool; use a number", op_text(op));
        return sema_val_error();
    }
    ir_id in[2];
    in[0] = sema_tensor_of(st, a, 1, at);
    in[1] = in[0] < 0 ? -1 : sema_tensor_of(st, b, 1, at);
    if (in[0] < 0 || in[1] < 0)
        return sema_val_error();
    ir_id r = sema_add_op(st, rop, NULL, in, 2, NULL, at);
    return r < 0 ? sema_val_error() : sema_val_tensor(r);
}

/* ------------------------------------------------- other value kinds */

static sema_value concat_values(sema_state *st, sema_value a, sema_value b, seg_span at)
{
    size_t n = a.kind == VAL_STRING ? strlen(a.s) + strlen(b.s)
                                    : (size_t)a.list->n + (size_t)b.list->n;
    if (n > SEMA_MAX_ITEMS) {
        sema_error(st, at, "this %s would be longer than %d", sema_kind_name(a.kind),
                   SEMA_MAX_ITEMS);
        return sema_val_error();
    }
    if (a.kind == VAL_STRING) {
        size_t na = strlen(a.s), nb = strlen(b.s);
        char *s = seg_arena_alloc(st->arena, na + nb + 1);
        memcpy(s, a.s, na);
        memcpy(s + na, b.s, nb + 1);
        return sema_val_string(s);
    }
    sema_value l = sema_list_new(st, a.list->n + b.list->n);
    memcpy(l.list->items, a.list->items, (size_t)a.list->n * sizeof *a.list->items);
    memcpy(l.list->items + a.list->n, b.list->items, (size_t)b.list->n * sizeof *b.list->items);
    return l;
}

static sema_value other_binary(sema_state *st, ast_binop op, sema_value a, sema_value b,
                               seg_span at)
{
    int same = a.kind == b.kind;
    if (same && (a.kind == VAL_STRING || a.kind == VAL_LIST) && op == AST_OP_ADD)
        return concat_values(st, a, b, at);
    if (same && a.kind == VAL_STRING && is_compare_op(op))
        return compare_result(op, strcmp(a.s, b.s));
    if (same && a.kind == VAL_BOOL && (op == AST_OP_EQ || op == AST_OP_NE))
        return compare_result(op, a.i != b.i);
    if (op == AST_OP_EQ || op == AST_OP_NE) {
        if (!same && a.kind != VAL_NONE && b.kind != VAL_NONE &&
            !(sema_val_is_number(a) && sema_val_is_number(b)))
            return compare_result(op, 1);
    }
    sema_error(st, at, "'%s' cannot combine %s and %s", op_text(op), sema_kind_name(a.kind),
               sema_kind_name(b.kind));
    return sema_val_error();
}

static sema_value apply_binary(sema_state *st, ast_binop op, sema_value a, sema_value b,
                               seg_span at)
{
    if (a.kind == VAL_ERROR || b.kind == VAL_ERROR)
        return sema_val_error();
    if (a.kind == VAL_TENSOR || b.kind == VAL_TENSOR)
        return tensor_binary(st, op, a, b, at);
    if (a.kind == VAL_INT && b.kind == VAL_INT)
        return int_arith(st, op, a.i, b.i, at);
    if (sema_val_is_number(a) && sema_val_is_number(b))
        return float_arith(st, op, sema_val_number(a), sema_val_number(b), at);
    return other_binary(st, op, a, b, at);
}

/* ------------------------------------------------------ and, or, not */

static int need_bool(sema_state *st, sema_value v, const char *op, seg_span at)
{
    if (v.kind == VAL_BOOL)
        return 0;
    if (v.kind != VAL_ERROR) {
        if (v.kind == VAL_TENSOR)
            sema_error(st, at, "'%s' needs compile-time bools, got %s; for masks use "
                       "minimum/maximum or where()", op, sema_value_desc(st, v));
        else
            sema_error(st, at, "'%s' needs a bool, got %s", op, sema_value_desc(st, v));
    }
    return -1;
}

/* acc (op) rhs with short-circuit: rhs is evaluated only when needed. */
static sema_value apply_logic(sema_state *st, const ast_expr *n, sema_value acc)
{
    const char *name = op_text(n->op);
    if (need_bool(st, acc, name, n->lhs->span))
        return sema_val_error();
    if ((n->op == AST_OP_AND) != (acc.i != 0))
        return acc; /* false and ..., true or ... */
    sema_value r = sema_eval(st, n->rhs);
    return need_bool(st, r, name, n->rhs->span) ? sema_val_error() : r;
}

/* A left-deep chain a op b op c ...: walk the spine iteratively. */
static sema_value eval_binary(sema_state *st, const ast_expr *e)
{
    const ast_expr *stack_buf[64], **spine = stack_buf;
    int n = 0, cap = 64;
    for (const ast_expr *x = e; x->kind == AST_BINARY; x = x->lhs) {
        if (n == cap) {
            cap *= 2;
            const ast_expr **grown = seg_xrealloc(spine == stack_buf ? NULL : spine,
                                                  (size_t)cap * sizeof *spine);
            if (spine == stack_buf)
                memcpy(grown, stack_buf, sizeof stack_buf);
            spine = grown;
        }
        spine[n++] = x;
    }
    sema_value acc = sema_eval(st, spine[n - 1]->lhs);
    for (int i = n - 1; i >= 0; i--) {
        const ast_expr *x = spine[i];
        if (x->op == AST_OP_AND || x->op == AST_OP_OR)
            acc = acc.kind == VAL_ERROR ? acc : apply_logic(st, x, acc);
        else
            acc = apply_binary(st, x->op, acc, sema_eval(st, x->rhs), x->span);
    }
    if (spine != stack_buf)
        seg_free(spine);
    return acc;
}

static sema_value eval_unary(sema_state *st, const ast_expr *e)
{
    sema_value v = sema_eval(st, e->lhs);
    if (v.kind == VAL_ERROR)
        return v;
    if (e->op == AST_OP_NOT)
        return need_bool(st, v, "not", e->lhs->span) ? sema_val_error() : sema_val_bool(!v.i);
    if (v.kind == VAL_INT)
        return v.i == INT64_MIN ? int_overflow(st, e->span, AST_OP_NEG) : sema_val_int(-v.i);
    if (v.kind == VAL_FLOAT)
        return sema_val_float(-v.f);
    if (v.kind == VAL_TENSOR) {
        ir_id x = sema_tensor_of(st, v, 1, e->span);
        ir_id r = x < 0 ? -1 : sema_add_op(st, OP_NEG, NULL, &x, 1, NULL, e->span);
        return r < 0 ? sema_val_error() : sema_val_tensor(r);
    }
    sema_error(st, e->span, "unary '-' needs a number or a tensor, got %s",
               sema_value_desc(st, v));
    return sema_val_error();
}

/* ------------------------------------------------------------ dispatch */

static sema_value eval_kind(sema_state *st, const ast_expr *e)
{
    switch (e->kind) {
    case AST_INT: return sema_val_int(e->ival);
    case AST_FLOAT: return sema_val_float(e->fval);
    case AST_BOOL: return sema_val_bool((int)e->ival);
    case AST_STRING: return sema_val_string(e->sval);
    case AST_NAME: return eval_name(st, e);
    case AST_LIST: return eval_list(st, e);
    case AST_INDEX: return eval_index(st, e);
    case AST_RANGE: return eval_range(st, e);
    case AST_MEMBER: return eval_member(st, e);
    case AST_CALL: return eval_call(st, e);
    case AST_APPLY: return eval_apply(st, e);
    case AST_UNARY: return eval_unary(st, e);
    case AST_BINARY: return eval_binary(st, e);
    }
    SEG_UNREACHABLE();
}

sema_value sema_eval(sema_state *st, const ast_expr *e)
{
    if (st->expr_depth >= SEMA_MAX_EXPR_DEPTH) {
        sema_error(st, e->span, "expression nested too deeply (more than %d levels)",
                   SEMA_MAX_EXPR_DEPTH);
        return sema_val_error();
    }
    st->expr_depth++;
    sema_value v = eval_kind(st, e);
    st->expr_depth--;
    return v;
}
