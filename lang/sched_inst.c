/* sched_inst.c — schedules and stages with parameters, so that variants
 * are one definition instead of copies:
 *
 *     stage grow(levels, lr = 1e-3) {            # a stage template
 *         model unet(levels = levels)
 *         optimizer adam(lr = lr)
 *         ...
 *     }
 *     schedule boosting(split = 4) {             # a parametrised schedule
 *         data train = synthetic(...)
 *         stage grow1 = grow(split - 1)
 *         stage grow2 = grow(split, lr = 5e-4) {  # a template plus items of its own
 *             freeze trained(grow1)
 *         }
 *     }
 *     schedule boosting_3 = boosting(split = 3)  # a named instantiation
 *
 * A schedule's parameters are compile-time values in its frame, visible to
 * every item and stage. A stage template is expanded where a schedule
 * uses it: its items see its own parameters, then the schedule's
 * parameters and data streams (the template is checked in each schedule
 * that uses it, with that schedule's names); the items after the call are
 * the stage's own and see the same. The names a stage sees are kept
 * (sema_env), because its loss and `weight` items are evaluated again
 * whenever the stage's graph is built.
 *
 * `segc ... --schedule boosting --set split=3` checks the schedule with
 * that value (seg_program_schedule_with); --set values are literals, and
 * lists are written as [96,96,64]. Each checked schedule records its
 * parameter values as literals (seg_schedule.args), so a checkpoint can
 * name the exact variant it came from.
 */
#include "sema_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------- environments */

void sema_env_add(seg_arena *a, sema_env *env, const char *name, sema_value v)
{
    int n = env->n;
    env->names = sema_arena_push(a, env->names, &n, sizeof *env->names, &name);
    env->vals = sema_arena_push(a, env->vals, &env->n, sizeof *env->vals, &v);
}

void sema_env_bind(sema_state *st, const sema_env *env, seg_span at)
{
    for (int i = 0; i < env->n; i++) {
        sema_slot *s = sema_slot_set(st, env->names[i], env->vals[i], at);
        s->param = s->read = 1;
    }
}

/* ------------------------------------------------------ setting literals */

static const char *skip_space(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

/* The end of one list item: the next ',' or ']' outside brackets and quotes. */
static const char *item_end(const char *s)
{
    int depth = 0, quoted = 0;
    for (; *s; s++) {
        if (quoted) {
            if (*s == '\\' && s[1])
                s++;
            else if (*s == '"')
                quoted = 0;
        } else if (*s == '"') {
            quoted = 1;
        } else if (*s == '[') {
            depth++;
        } else if (*s == ']' && depth-- == 0) {
            return s;
        } else if (*s == ',' && depth == 0) {
            return s;
        }
    }
    return s;
}

enum {
    SETTING_ITEMS = 256, /* items of one list literal */
    SETTING_DEPTH = 8,   /* nested lists */
};

static sema_value parse_range(sema_state *st, const char *s, size_t n, int depth);

/* "[a, b, c]" (s at '['): the items parsed one by one; NONE when malformed. */
static sema_value parse_list(sema_state *st, const char *s, int depth)
{
    sema_value *items = seg_arena_alloc(st->arena, SETTING_ITEMS * sizeof *items);
    int n = 0;
    if (depth > SETTING_DEPTH)
        return sema_val_none();
    s = skip_space(s + 1);
    while (*s && *s != ']') {
        const char *e = item_end(s);
        if (n == SETTING_ITEMS || e == s)
            return sema_val_none();
        items[n] = parse_range(st, s, (size_t)(e - s), depth + 1);
        if (items[n++].kind == VAL_NONE)
            return sema_val_none();
        s = skip_space(*e == ',' ? e + 1 : e);
    }
    if (*s != ']' || *skip_space(s + 1))
        return sema_val_none();
    sema_value l = sema_list_new(st, n);
    memcpy(l.list->items, items, (size_t)n * sizeof *items);
    return l;
}

/* "\"text\"" with \" and \\ escapes; NONE when malformed. */
static sema_value parse_quoted(sema_state *st, const char *s, size_t n)
{
    char *out = seg_arena_alloc(st->arena, n + 1);
    size_t k = 0, i = 1;
    for (; i < n && s[i] != '"'; i++)
        out[k++] = s[i] == '\\' && i + 1 < n ? s[++i] : s[i];
    if (i != n - 1)
        return sema_val_none();
    out[k] = 0;
    return sema_val_string(out);
}

/* One literal in s[0..n). Bare text is a string (--set mode=softmax);
 * inside a list that is the only way a bare word can mean anything. */
static sema_value parse_range(sema_state *st, const char *s, size_t n, int depth)
{
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *t = seg_arena_alloc(st->arena, n + 1);
    memcpy(t, s, n);
    t[n] = 0;
    if (t[0] == '[')
        return parse_list(st, t, depth);
    if (t[0] == '"')
        return parse_quoted(st, t, n);
    char *end;
    errno = 0;
    long long i = strtoll(t, &end, 10);
    if (*t && !*end && !errno)
        return sema_val_int(i);
    double f = strtod(t, &end);
    if (*t && !*end && !isspace((unsigned char)*t))
        return sema_val_float(f);
    if (strcmp(t, "true") == 0 || strcmp(t, "false") == 0)
        return sema_val_bool(t[0] == 't');
    return n ? sema_val_string(t) : sema_val_none();
}

/* Text that is no literal (a malformed list, "") stays a string, so the
 * place that uses the value says what it should have been. */
sema_value sema_setting_parse(sema_state *st, const char *s)
{
    const char *b = skip_space(s);
    sema_value v = parse_range(st, b, strlen(b), 0);
    return v.kind == VAL_NONE ? sema_val_string(seg_arena_strdup(st->arena, s)) : v;
}

void sema_literal_print(sema_state *st, sema_value v, seg_buf *b)
{
    if (v.kind == VAL_STRING) {
        seg_buf_printf(b, "\"");
        for (const char *c = v.s; *c; c++)
            seg_buf_printf(b, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
        seg_buf_printf(b, "\"");
    } else if (v.kind == VAL_LIST) {
        seg_buf_printf(b, "[");
        for (int i = 0; i < v.list->n; i++) {
            seg_buf_printf(b, i ? ", " : "");
            sema_literal_print(st, v.list->items[i], b);
        }
        seg_buf_printf(b, "]");
    } else {
        sema_value_print(st, v, b);
    }
}

/* ------------------------------------------------------------ schedules */

/* The schedule an instantiation `schedule x = y(args)` names: y, which
 * must be a schedule written out (not another instantiation). */
static const ast_decl *inst_target(seg_program *p, sema_state *st, const ast_decl *d)
{
    const ast_expr *call = d->value;
    const sema_global *gl = sema_global_find(p, call->sval);
    if (gl && gl->decl->kind == AST_SCHEDULE && !gl->decl->value)
        return gl->decl;
    if (gl && gl->decl->kind == AST_SCHEDULE)
        sema_error(st, call->span, "'%s' is itself an instantiation (of '%s'); instantiate "
                   "'%s' directly", call->sval, gl->decl->value->sval, gl->decl->value->sval);
    else if (gl)
        sema_error(st, call->span, "'%s' is not a schedule", call->sval);
    else if (sema_error(st, call->span, "unknown schedule '%s'", call->sval)) {
        sema_suggest s;
        sema_suggest_init(&s, call->sval);
        for (int i = 0; i < p->n_scheds; i++)
            sema_suggest_add(&s, p->sched_names[i]);
        sema_suggest_note(st, &s, call->span);
    }
    return NULL;
}

/* The instantiation's arguments, bound to the target's parameters. */
static int inst_args(sema_state *st, const ast_decl *d, const ast_decl *target,
                     sema_sched_req *r)
{
    sema_formal formals[SEMA_MAX_PARAMS];
    sema_binder b = {target->name, formals, sema_decl_formals(target, formals, SEMA_MAX_PARAMS),
                     0, 0};
    sema_args a;
    if (sema_bind(st, &b, d->value->args, d->value->span, &a))
        return -1;
    for (int i = 0; i < a.n; i++)
        if (a.given[i]) {
            r->vals[i] = a.v[i];
            r->spans[i] = a.span[i];
        }
    return 0;
}

static void unknown_param(sema_state *st, const sema_sched_req *r, const char *key)
{
    if (!sema_error(st, r->span, "schedule '%s' has no parameter '%s' (--set %s=...)", r->name,
                    key, key))
        return;
    seg_buf list = {0};
    sema_suggest s;
    sema_suggest_init(&s, key);
    for (const ast_param *q = r->decl->params; q; q = q->next) {
        seg_buf_printf(&list, "%s%s", list.len ? ", " : "", q->name);
        sema_suggest_add(&s, q->name);
    }
    sema_suggest_note(st, &s, r->span);
    sema_note(st, r->span, "the parameters of '%s' are: %s", r->decl->name,
              list.len ? list.data : "(none)");
    seg_buf_free(&list);
}

/* Settings on top: every key must be a parameter. */
static int request_settings(sema_state *st, const seg_setting *set, int n, sema_sched_req *r)
{
    int rc = 0;
    for (int k = 0; k < n; k++) {
        int i = 0;
        const ast_param *q = r->decl->params;
        for (; q && strcmp(q->name, set[k].key) != 0; q = q->next)
            i++;
        if (!q) {
            unknown_param(st, r, set[k].key);
            rc = -1;
            continue;
        }
        r->vals[i] = sema_setting_parse(st, set[k].value);
        r->spans[i] = r->span;
    }
    return rc;
}

int sema_sched_request(seg_program *p, sema_seen *seen, const ast_decl *d,
                       const seg_setting *set, int n_set, sema_sched_req *r)
{
    sema_state st;
    sema_frame f;
    memset(r, 0, sizeof *r);
    r->name = d->name;
    r->span = d->name_span;
    sema_state_init(&st, p, p->diag, seen, NULL, 0, p->arena);
    sema_frame_push(&st, &f, FRAME_CONST, d);
    const ast_decl *target = d->value ? inst_target(p, &st, d) : d;
    int rc = target ? 0 : -1;
    if (target && target->n_params > SEMA_MAX_PARAMS) {
        sema_error(&st, target->name_span, "schedule '%s' has more than %d parameters",
                   target->name, SEMA_MAX_PARAMS);
        rc = -1;
    }
    if (rc == 0) {
        r->decl = target;
        r->n = target->n_params;
        for (int i = 0; i < r->n; i++)
            r->vals[i] = sema_val_none();
        rc = (d->value ? inst_args(&st, d, target, r) : 0) | request_settings(&st, set, n_set, r);
    }
    sema_frame_pop(&st, &f);
    rc |= st.errors ? -1 : 0;
    sema_state_free(&st);
    return rc ? -1 : 0;
}

static const ast_decl *schedule_decl(const seg_program *p, const char *name)
{
    const sema_global *gl = p ? sema_global_find(p, name) : NULL;
    return gl && gl->decl->kind == AST_SCHEDULE ? gl->decl : NULL;
}

int seg_schedule_params(const seg_program *p, const char *name, const char *const **names)
{
    const ast_decl *d = schedule_decl(p, name);
    if (!d)
        return -1;
    if (d->value) {
        const sema_global *gl = sema_global_find(p, d->value->sval);
        d = gl && gl->decl->kind == AST_SCHEDULE ? gl->decl : d;
    }
    const char **v = seg_arena_alloc(p->arena, (size_t)(d->n_params + 1) * sizeof *v);
    int n = 0;
    for (const ast_param *q = d->params; q; q = q->next)
        v[n++] = q->name;
    *names = v;
    return n;
}

const seg_schedule *seg_program_schedule_with(seg_program *p, const char *name,
                                              const seg_setting *settings, int n_settings,
                                              seg_diag *d)
{
    const ast_decl *decl = schedule_decl(p, name);
    if (!decl)
        return NULL;
    const seg_schedule *known = seg_program_schedule(p, name);
    if (n_settings == 0 && known)
        return known;
    seg_diag *keep = p->diag;
    p->diag = d ? d : p->diag;
    sema_seen seen;
    sema_seen_init(&seen);
    sema_sched_req r;
    seg_schedule *s = NULL;
    if (sema_sched_request(p, &seen, decl, settings, n_settings, &r) == 0)
        s = sema_schedule_check(p, &seen, &r);
    sema_seen_free(&seen);
    p->diag = keep;
    if (s)
        p->instances = sema_arena_push(p->arena, p->instances, &p->n_instances, sizeof s, &s);
    return s;
}

/* -------------------------------------------------------- stage templates */

static const ast_decl *template_decl(sema_sched_ctx *c, const ast_expr *call)
{
    const sema_global *gl = sema_global_find(c->p, call->sval);
    if (gl && gl->decl->kind == AST_STAGE_DEF)
        return gl->decl;
    if (gl) {
        sema_error(&c->st, call->span, "'%s' is not a stage template; declare one as "
                   "stage %s(...) { ... } outside schedules", call->sval, call->sval);
        return NULL;
    }
    if (sema_error(&c->st, call->span, "unknown stage template '%s'", call->sval)) {
        sema_suggest s;
        sema_suggest_init(&s, call->sval);
        for (int i = 0; i < c->p->n_globals; i++)
            if (c->p->globals[i].decl->kind == AST_STAGE_DEF)
                sema_suggest_add(&s, c->p->globals[i].decl->name);
        sema_suggest_note(&c->st, &s, call->span);
    }
    return NULL;
}

int sema_stage_template(sema_sched_ctx *c, const ast_stmt *stmt, const ast_decl **tmpl,
                        sema_args *a)
{
    const ast_decl *t = template_decl(c, stmt->value);
    if (!t)
        return -1;
    if (t->n_params > SEMA_MAX_PARAMS) {
        sema_error(&c->st, t->name_span, "stage template '%s' has more than %d parameters",
                   t->name, SEMA_MAX_PARAMS);
        return -1;
    }
    sema_formal formals[SEMA_MAX_PARAMS];
    sema_binder b = {t->name, formals, sema_decl_formals(t, formals, SEMA_MAX_PARAMS), 0, 0};
    if (sema_bind(&c->st, &b, stmt->value->args, stmt->value->span, a))
        return -1;
    *tmpl = t;
    return 0;
}
