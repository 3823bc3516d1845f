/* select.c — freeze/train selectors and the parameters a stage trains.
 *
 * Selectors are written as
 *     "level.1.encoder.conv0.weight"  an exact name, or a dotted prefix
 *     "teacher.*"                     a glob: * any characters, ? one
 *     level[1..2], level[3].decoder   a name path; indices are evaluated
 *                                     (ints, ranges, lists) and the path is
 *                                     expanded to prefixes level.1, level.2
 *     trained(grow1)                  what an earlier stage trained
 * A parameter name n matches a prefix p when n == p or n starts with
 * "p.". After a stage's graph is built, its non-buffer parameters are
 * split: trainable = (matches of `train` selectors, or all when there are
 * none) minus matches of `freeze` selectors. Every selector must match
 * something, and something must remain to train.
 */
#include "sema_internal.h"

#include <string.h>

enum { MAX_PREFIXES = 4096 }; /* expansion limit of one path selector */

/* ------------------------------------------------------------ matching */

static int glob_match(const char *p, const char *s)
{
    const char *star = NULL, *mark = NULL;
    while (*s) {
        if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (*p == '*') {
            star = p++;
            mark = s;
        } else if (star) {
            p = star + 1;
            s = ++mark;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == 0;
}

static int prefix_match(const char *prefix, const char *name)
{
    size_t n = strlen(prefix);
    return strncmp(prefix, name, n) == 0 && (name[n] == 0 || name[n] == '.');
}

static int in_list(const char *const *list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

int seg_selector_match(const seg_schedule *s, const seg_selector *sel, const char *name)
{
    switch (sel->kind) {
    case SEG_SEL_NAME: return prefix_match(sel->pattern, name);
    case SEG_SEL_GLOB: return glob_match(sel->pattern, name);
    case SEG_SEL_PATH:
        for (int i = 0; i < sel->n_prefixes; i++)
            if (prefix_match(sel->prefixes[i], name))
                return 1;
        return 0;
    case SEG_SEL_TRAINED: {
        const seg_stage *t = &s->stages[sel->stage];
        return in_list(t->trainable, t->n_trainable, name);
    }
    }
    return 0;
}

/* ------------------------------------------------------------- parsing */

typedef struct prefixes {
    const char **v;
    int n;
} prefixes;

static int add_prefix(sema_sched_ctx *c, prefixes *out, const char *s, seg_span at)
{
    if (out->n >= MAX_PREFIXES) {
        sema_error(&c->st, at, "this selector expands to more than %d names", MAX_PREFIXES);
        return -1;
    }
    out->v = sema_arena_push(c->p->arena, out->v, &out->n, sizeof s, &s);
    return 0;
}

/* The index values of one bracket: ints, strings, ranges, lists. */
static int index_values(sema_sched_ctx *c, const ast_expr *a, prefixes *vals)
{
    sema_value v = sema_eval(&c->st, a);
    seg_arena *ar = c->p->arena;
    if (v.kind == VAL_INT || v.kind == VAL_STRING)
        return add_prefix(c, vals, sema_value_str(&c->st, v), a->span);
    if (v.kind == VAL_RANGE) {
        int64_t step = v.r.lo <= v.r.hi ? 1 : -1;
        for (int64_t i = v.r.lo;; i += step) {
            if (add_prefix(c, vals, seg_arena_printf(ar, "%lld", (long long)i), a->span))
                return -1;
            if (i == v.r.hi)
                return 0;
        }
    }
    if (v.kind == VAL_LIST) {
        for (int i = 0; i < v.list->n; i++)
            if (add_prefix(c, vals, sema_value_str(&c->st, v.list->items[i]), a->span))
                return -1;
        return 0;
    }
    if (v.kind != VAL_ERROR)
        sema_error(&c->st, a->span, "a selector index must be an int, a range or a list, got %s",
                   sema_value_desc(&c->st, v));
    return -1;
}

/* Expand a name path (NAME, base.member, base[index]) into prefixes. */
static int expand_path(sema_sched_ctx *c, const ast_expr *e, prefixes *out)
{
    seg_arena *ar = c->p->arena;
    if (e->kind == AST_NAME)
        return add_prefix(c, out, e->sval, e->span);
    prefixes base = {0}, vals = {0};
    if (e->kind != AST_MEMBER && e->kind != AST_INDEX)
        return 1; /* not a path */
    int rc = expand_path(c, e->lhs, &base);
    if (rc)
        return rc;
    if (e->kind == AST_MEMBER && add_prefix(c, &vals, e->sval, e->span))
        return -1;
    for (const ast_expr *a = e->kind == AST_INDEX ? e->args : NULL; a; a = a->next)
        if (index_values(c, a, &vals))
            return -1;
    for (int i = 0; i < base.n; i++)
        for (int j = 0; j < vals.n; j++)
            if (add_prefix(c, out, seg_arena_printf(ar, "%s.%s", base.v[i], vals.v[j]), e->span))
                return -1;
    return 0;
}

static int trained_stage(sema_sched_ctx *c, const ast_expr *e, seg_selector *out)
{
    const ast_expr *a = e->args;
    int current = c->s->n_stages - 1;
    if (e->n_args != 1 || a->kw || a->kind != AST_NAME) {
        sema_error(&c->st, e->span, "trained() takes the name of an earlier stage");
        return -1;
    }
    for (int i = 0; i <= current; i++)
        if (strcmp(c->s->stages[i].name, a->sval) == 0) {
            if (i < current) {
                out->stage = i;
                return 0;
            }
            sema_error(&c->st, a->span, "trained(%s): a stage cannot select what it trains "
                       "itself", a->sval);
            return -1;
        }
    if (sema_error(&c->st, a->span, "trained(%s): there is no earlier stage '%s'", a->sval,
                   a->sval)) {
        sema_suggest s;
        sema_suggest_init(&s, a->sval);
        for (int i = 0; i < current; i++)
            sema_suggest_add(&s, c->s->stages[i].name);
        sema_suggest_note(&c->st, &s, a->span);
    }
    return -1;
}

static const char *selector_text(sema_sched_ctx *c, const ast_expr *e)
{
    if (e->kind == AST_STRING)
        return e->sval;
    seg_buf b = {0};
    sema_expr_str(e, &b);
    const char *s = seg_arena_strdup(c->p->arena, b.data ? b.data : "");
    seg_buf_free(&b);
    return s;
}

int sema_selector_parse(sema_sched_ctx *c, const ast_expr *e, seg_selector *out)
{
    memset(out, 0, sizeof *out);
    out->span = e->span;
    out->text = selector_text(c, e);
    if (e->kind == AST_STRING) {
        out->kind = strpbrk(e->sval, "*?") ? SEG_SEL_GLOB : SEG_SEL_NAME;
        out->pattern = e->sval;
        return 0;
    }
    if (e->kind == AST_CALL && strcmp(e->sval, "trained") == 0) {
        out->kind = SEG_SEL_TRAINED;
        return trained_stage(c, e, out);
    }
    prefixes p = {0};
    int rc = expand_path(c, e, &p);
    if (rc > 0)
        sema_error(&c->st, e->span, "a selector is a name (\"level.1.conv0.weight\"), a glob "
                   "(\"teacher.*\"), a path (level[1..2]) or trained(STAGE)");
    out->kind = SEG_SEL_PATH;
    out->prefixes = p.v;
    out->n_prefixes = p.n;
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------ resolving */

static int any_match(const seg_schedule *s, const seg_selector *sel, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (seg_selector_match(s, &sel[i], name))
            return 1;
    return 0;
}

/* Every selector must match at least one parameter. */
static void check_matches(sema_sched_ctx *c, const seg_selector *sel, int n,
                          const char *const *names, int n_names)
{
    for (int i = 0; i < n; i++) {
        int hit = 0;
        for (int j = 0; j < n_names && !hit; j++)
            hit = seg_selector_match(c->s, &sel[i], names[j]);
        if (!hit)
            sema_error(&c->st, sel[i].span, "selector '%s' matches no parameter", sel[i].text);
    }
}

void sema_stage_resolve(sema_sched_ctx *c, const ir_graph *g, seg_span stage_at)
{
    seg_stage *sg = c->stage;
    int n = 0, nt = 0, nf = 0;
    const char **names = seg_arena_alloc(c->p->arena, (size_t)(g->n_nodes + 1) * sizeof *names);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_PARAM && !g->nodes[i].param->is_buffer)
            names[n++] = seg_arena_strdup(c->p->arena, g->nodes[i].name);
    check_matches(c, sg->freeze, sg->n_freeze, names, n);
    check_matches(c, sg->train, sg->n_train, names, n);
    const char **tr = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *tr);
    const char **fr = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *fr);
    for (int i = 0; i < n; i++) {
        int train = (!sg->n_train || any_match(c->s, sg->train, sg->n_train, names[i])) &&
                    !any_match(c->s, sg->freeze, sg->n_freeze, names[i]);
        if (train)
            tr[nt++] = names[i];
        else
            fr[nf++] = names[i];
    }
    sg->trainable = tr;
    sg->n_trainable = nt;
    sg->frozen = fr;
    sg->n_frozen = nf;
    if (nt == 0)
        sema_error(&c->st, stage_at, "stage '%s' has nothing to train: every parameter is "
                   "frozen", sg->name);
}
