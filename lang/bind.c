/* bind.c — matching call arguments to parameters.
 *
 * One binder serves built-in ops, blocks, nets (`model unet(levels = 3)`)
 * and schedule calls (`adam(lr = 1e-3)`), so they all accept arguments the
 * same way and fail with the same messages:
 *   - positional arguments fill the positional parameters in order (the
 *     rest go to `rest` when the callee takes varargs);
 *   - keyword arguments name a parameter ("conv() has no parameter
 *     'kernel'" with a "did you mean" note otherwise);
 *   - `name = "..."` is the naming segment when the callee takes one;
 *   - a required parameter left out is an error.
 * Arguments are evaluated before matching, all of them, so their own
 * errors surface and the variables they read count as used.
 */
#include "sema_internal.h"

#include <string.h>

void sema_args_init(sema_args *out, const sema_binder *b, seg_span call_span)
{
    memset(out, 0, sizeof *out);
    SEG_ASSERT(b->n_formals <= SEMA_MAX_PARAMS);
    out->n = b->n_formals;
    for (int i = 0; i < b->n_formals; i++) {
        out->names[i] = b->formals[i].name;
        out->v[i] = sema_val_none();
        out->span[i] = call_span;
    }
}

static int formal_index(const sema_binder *b, const char *name)
{
    for (int i = 0; i < b->n_formals; i++)
        if (strcmp(b->formals[i].name, name) == 0)
            return i;
    return -1;
}

static int n_positional(const sema_binder *b, int *required)
{
    int n = 0;
    *required = 0;
    for (int i = 0; i < b->n_formals; i++)
        if (b->formals[i].positional) {
            n++;
            *required += b->formals[i].required;
        }
    return n;
}

static void unknown_keyword(sema_state *st, const sema_binder *b, const char *kw, seg_span at)
{
    if (!sema_error(st, at, "unknown keyword '%s': %s() has no parameter '%s'", kw, b->callee,
                    kw))
        return;
    sema_suggest s;
    sema_suggest_init(&s, kw);
    for (int i = 0; i < b->n_formals; i++)
        sema_suggest_add(&s, b->formals[i].name);
    if (b->takes_name)
        sema_suggest_add(&s, "name");
    sema_suggest_note(st, &s, at);
}

static int take_name(sema_state *st, const sema_binder *b, sema_value v, seg_span at,
                     sema_args *out)
{
    if (v.kind == VAL_ERROR)
        return -2;
    if (v.kind != VAL_STRING || !v.s[0] || strchr(v.s, '.')) {
        sema_error(st, at, "%s(): 'name' must be a non-empty string without dots", b->callee);
        return -1;
    }
    out->seg_name = v.s;
    out->seg_span = at;
    return 0;
}

/* at: the value's span; kw_at: the keyword's. */
static int take_keyword(sema_state *st, const sema_binder *b, const char *kw, sema_value v,
                        seg_span at, seg_span kw_at, sema_args *out)
{
    int i = formal_index(b, kw);
    if (i < 0 && b->takes_name && strcmp(kw, "name") == 0)
        return take_name(st, b, v, at, out);
    if (i < 0) {
        unknown_keyword(st, b, kw, kw_at);
        return -1;
    }
    if (out->given[i]) {
        sema_error(st, kw_at, "%s(): '%s' given twice", b->callee, kw);
        return -1;
    }
    out->v[i] = v;
    out->span[i] = at;
    out->given[i] = 1;
    return v.kind == VAL_ERROR ? -2 : 0;
}

static void too_many(sema_state *st, const sema_binder *b, int given, seg_span at)
{
    int req, max = n_positional(b, &req);
    char takes[32];
    if (req == max)
        snprintf(takes, sizeof takes, "%d", max);
    else
        snprintf(takes, sizeof takes, "%d to %d", req, max);
    sema_error(st, at, "too many arguments: %s() takes %s positional argument%s but %d %s given",
               b->callee, takes, max == 1 ? "" : "s", given, given == 1 ? "was" : "were");
}

static int take_positional(const sema_binder *b, int *next, sema_value v, seg_span at,
                           sema_args *out)
{
    while (*next < b->n_formals && !b->formals[*next].positional)
        (*next)++;
    if (*next < b->n_formals) {
        int i = (*next)++;
        out->v[i] = v;
        out->span[i] = at;
        out->given[i] = 1;
        return v.kind == VAL_ERROR ? -2 : 0;
    }
    if (!b->varargs)
        return -1; /* counted and reported by the caller */
    out->rest[out->n_rest] = v;
    out->rest_span[out->n_rest++] = at;
    return v.kind == VAL_ERROR ? -2 : 0;
}

static int check_missing(sema_state *st, const sema_binder *b, seg_span at, sema_args *out)
{
    int rc = 0;
    for (int i = 0; i < b->n_formals; i++)
        if (b->formals[i].required && !out->given[i]) {
            sema_error(st, at, "%s() missing argument '%s'", b->callee, b->formals[i].name);
            rc = -1;
        }
    return rc;
}

/* Worst of two results: -1 (reported) beats -2 (poison) beats 0. */
static int worse(int a, int b) { return a == -1 || b == -1 ? -1 : a ? a : b; }

int sema_bind_values(sema_state *st, const sema_binder *b, int n, const sema_value *v,
                     const char *const *kw, const seg_span *kw_spans, const seg_span *spans,
                     seg_span call_span, sema_args *out)
{
    sema_args_init(out, b, call_span);
    out->rest = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *out->rest);
    out->rest_span = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *out->rest_span);
    int rc = 0, next = 0, n_pos = 0, extra = 0, seen_kw = 0;
    seg_span extra_at = call_span;
    for (int i = 0; i < n; i++) {
        if (kw[i]) {
            seen_kw = 1;
            rc = worse(rc, take_keyword(st, b, kw[i], v[i], spans[i],
                                        kw_spans ? kw_spans[i] : spans[i], out));
            continue;
        }
        if (seen_kw) {
            sema_error(st, spans[i], "a positional argument cannot follow keyword arguments");
            rc = -1;
            continue;
        }
        n_pos++;
        int r = take_positional(b, &next, v[i], spans[i], out);
        if (r == -1 && !extra++)
            extra_at = spans[i];
        rc = worse(rc, r == -1 ? 0 : r);
    }
    if (extra) {
        too_many(st, b, n_pos, extra_at);
        rc = -1;
    }
    return worse(rc, check_missing(st, b, call_span, out));
}

int sema_bind(sema_state *st, const sema_binder *b, const ast_expr *call_args,
              seg_span call_span, sema_args *out)
{
    int n = 0;
    for (const ast_expr *a = call_args; a; a = a->next)
        n++;
    sema_value *v = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *v);
    const char **kw = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *kw);
    seg_span *spans = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *spans);
    seg_span *kw_spans = seg_arena_alloc(st->arena, (size_t)(n + 1) * sizeof *kw_spans);
    int i = 0;
    for (const ast_expr *a = call_args; a; a = a->next, i++) {
        v[i] = sema_eval(st, a);
        kw[i] = a->kw;
        spans[i] = a->span;
        kw_spans[i] = a->kw ? a->kw_span : a->span;
    }
    return sema_bind_values(st, b, n, v, kw, kw_spans, spans, call_span, out);
}
