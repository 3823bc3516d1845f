/* check.c — how semantic analysis reports problems.
 *
 *   - Deduplicated diagnostics: a block called ten times, or a block
 *     checked by every net that uses it, reports one mistake once. Each
 *     message is keyed by its place and text in a set shared by one
 *     seg_load (or one seg_elaborate_net); every error still counts in
 *     st->errors so the caller knows the elaboration failed.
 *   - "did you mean": Levenshtein distance (capped, two rows) over the
 *     names in scope; a candidate that is a prefix of the name (`k` for
 *     `kernel`) also counts.
 *   - Unused values at the end of a call frame.
 *   - A static name check for blocks no net calls (their bodies are never
 *     evaluated, so this is the only way their typos surface).
 *   - Printing an expression back as source, for messages.
 */
#include "parse_internal.h" /* seg_diag_stopped */
#include "sema_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>

/* ------------------------------------------------------- diagnostics */

void sema_seen_init(sema_seen *s) { sema_map_init(&s->set, 1); }
void sema_seen_free(sema_seen *s) { sema_map_free(&s->set); }

/* 1 when this (place, severity, message) is new. */
static int first_time(sema_state *st, seg_span at, char sev, const char *msg)
{
    if (!st->seen)
        return 1;
    char key[SEMA_ERRLEN + 64];
    snprintf(key, sizeof key, "%d:%d:%d:%c:%s", at.file, at.line, at.col, sev, msg);
    int64_t *v = sema_map_put(&st->seen->set, key, 0);
    return (*v)++ == 0;
}

/* ---------------------------------------------------------- context */

enum { CONTEXT_NOTES = 12, CONTEXT_ARGS = 4 }; /* notes per error; tensors per call note */

void sema_context_push(sema_state *st, sema_context c)
{
    if (st->n_ctx == st->cap_ctx) {
        st->cap_ctx = st->cap_ctx ? 2 * st->cap_ctx : 16;
        st->ctx = seg_xrealloc(st->ctx, (size_t)st->cap_ctx * sizeof *st->ctx);
    }
    st->ctx[st->n_ctx++] = c;
}

void sema_context_pop(sema_state *st)
{
    SEG_ASSERT(st->n_ctx > 0);
    st->n_ctx--;
}

/* ", with p: f32[1, 2, 64, 64], g: f32[1, 1, 64, 64]": the tensors the
 * call passed, which usually explain a shape error inside the block. */
static void call_tensors(sema_state *st, const sema_args *a, seg_buf *b)
{
    int n = 0;
    for (int i = 0; a && i < a->n; i++) {
        if (!a->given[i] || a->v[i].kind != VAL_TENSOR || !st->g)
            continue;
        if (n++ == CONTEXT_ARGS) {
            seg_buf_printf(b, ", ...");
            return;
        }
        char t[160];
        seg_buf_printf(b, "%s %s: %s", n == 1 ? ", with" : ",", a->names[i],
                       rt_type_str(sema_type_of(st, a->v[i].t), t, sizeof t));
    }
}

/* Where the error happened, innermost first, as deferred notes. */
static void context_notes(sema_state *st)
{
    for (int i = st->n_ctx - 1, k = 0; i >= 0; i--, k++) {
        const sema_context *c = &st->ctx[i];
        if (k == CONTEXT_NOTES) {
            seg_diag_note_later(st->diag, c->at, "... and %d more levels of calls and loops",
                                i + 1);
            return;
        }
        if (c->text) {
            seg_diag_note_later(st->diag, c->at, "%s", c->text);
            continue;
        }
        if (!c->block) {
            seg_diag_note_later(st->diag, c->at, "in iteration %s = %s", c->var,
                                sema_value_str(st, c->v));
            continue;
        }
        seg_buf b = {0};
        call_tensors(st, c->args, &b);
        seg_diag_note_later(st->diag, c->at, c->block->kind == AST_STAGE_DEF
                                                 ? "in stage template '%s' used here%s"
                                                 : "in call to '%s' from here%s",
                            c->block->name, b.data ? b.data : "");
        seg_buf_free(&b);
    }
}

int sema_error(sema_state *st, seg_span at, const char *fmt, ...)
{
    char msg[SEMA_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st->errors++;
    if (!first_time(st, at, 'e', msg))
        return 0;
    seg_diag_error(st->diag, at, "%s", msg);
    if (seg_diag_stopped(st->diag))
        return 0; /* past the error cap nothing more is printed: no notes to look for */
    context_notes(st);
    return 1;
}

int sema_warning(sema_state *st, seg_span at, const char *fmt, ...)
{
    char msg[SEMA_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!first_time(st, at, 'w', msg))
        return 0;
    seg_diag_warning(st->diag, at, "%s", msg);
    context_notes(st);
    return 1;
}

void sema_note(sema_state *st, seg_span at, const char *fmt, ...)
{
    char msg[SEMA_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    seg_diag_note(st->diag, at, "%s", msg);
}

/* ------------------------------------------------------ did you mean */

int sema_edit_distance(const char *a, const char *b, int cap)
{
    size_t na = strlen(a), nb = strlen(b);
    if ((na > nb ? na - nb : nb - na) > (size_t)cap || nb > 255)
        return cap + 1;
    int prev[256], cur[256];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int best = cur[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            best = cur[j] < best ? cur[j] : best;
        }
        if (best > cap)
            return cap + 1;
        memcpy(prev, cur, (nb + 1) * sizeof *prev);
    }
    return prev[nb] <= cap ? prev[nb] : cap + 1;
}

void sema_suggest_init(sema_suggest *s, const char *name)
{
    s->name = name;
    s->best = NULL;
    s->dist = 1 << 20;
}

/* How far a typo may be: 1 edit for short names, up to 3. */
static int max_distance(const char *name)
{
    int n = (int)strlen(name), d = (n + 1) / 3;
    return n <= 1 ? 0 : n <= 2 ? 1 : d < 2 ? 2 : d > 3 ? 3 : d;
}

static int is_prefix(const char *p, const char *s)
{
    return p[0] && strncmp(p, s, strlen(p)) == 0;
}

void sema_suggest_add(sema_suggest *s, const char *cand)
{
    if (!cand || strcmp(cand, s->name) == 0)
        return;
    int cap = max_distance(s->name);
    int d = sema_edit_distance(s->name, cand, cap);
    if (d > cap && (is_prefix(cand, s->name) || is_prefix(s->name, cand)))
        d = cap + 1; /* a prefix: weaker than any real typo, but still a hint */
    else if (d > cap)
        return;
    if (d < s->dist) {
        s->dist = d;
        s->best = cand;
    }
}

void sema_suggest_note(sema_state *st, const sema_suggest *s, seg_span at)
{
    if (s->best)
        sema_note(st, at, "did you mean '%s'?", s->best);
}

void sema_suggest_names(sema_state *st, sema_suggest *s, int calls)
{
    if (!calls && st->frame)
        for (int i = 0; i < st->frame->n_slots; i++)
            sema_suggest_add(s, st->frame->slots[i].name);
    for (int i = 0; i < st->prog->n_globals; i++) {
        const ast_decl *d = st->prog->globals[i].decl;
        if ((d->kind == AST_BLOCK) == (calls != 0) && d->kind != AST_SCHEDULE &&
            d->kind != AST_STAGE_DEF)
            sema_suggest_add(s, d->name);
    }
    for (int i = 0; calls && sema_builtin_name(i); i++)
        sema_suggest_add(s, sema_builtin_name(i));
    if (st->suggest_hook)
        st->suggest_hook(st, s, calls);
}

/* -------------------------------------------------------- unused values */

void sema_check_unused(sema_state *st, sema_frame *f)
{
    if (st->errors != f->errors_at_entry || st->stop || f->kind == FRAME_LOSS)
        return;
    for (int i = 0; i < f->n_slots; i++) {
        const sema_slot *s = &f->slots[i];
        if (s->input && !s->read)
            sema_error(st, s->span, "input '%s' is never used", s->name);
    }
}

int sema_origin_of(sema_state *st, const char *name, seg_span at)
{
    char key[64];
    snprintf(key, sizeof key, "%d:%d:%d", at.file, at.line, at.col);
    int64_t *i = sema_map_put(&st->origin_index, key, -1);
    if (*i >= 0)
        return (int)*i;
    if (st->n_origins == st->cap_origins) {
        st->cap_origins = st->cap_origins ? 2 * st->cap_origins : 64;
        st->origins = seg_xrealloc(st->origins, (size_t)st->cap_origins * sizeof *st->origins);
    }
    st->origins[st->n_origins] = (sema_origin){name, at, 0};
    *i = st->n_origins;
    return st->n_origins++;
}

void sema_report_unused(sema_state *st, int report)
{
    for (int i = 0; report && !st->stop && i < st->n_origins; i++)
        if (!st->origins[i].read)
            sema_error(st, st->origins[i].span, "'%s' is computed but never used",
                       st->origins[i].name);
    st->n_origins = 0;
    sema_map_free(&st->origin_index);
    sema_map_init(&st->origin_index, 1);
}

/* ---------------------------------------------- static name check */

/* Names a block body defines anywhere (the environment is flat). */
static void collect_defs(const ast_stmt *s, sema_map *defs)
{
    for (; s; s = s->next) {
        const ast_expr *t = s->target;
        while (t && t->kind == AST_INDEX)
            t = t->lhs;
        if (s->kind == AST_ASSIGN && t && t->kind == AST_NAME)
            sema_map_put(defs, t->sval, 1);
        if ((s->kind == AST_FOR || s->kind == AST_INPUT || s->kind == AST_OUTPUT) && s->name)
            sema_map_put(defs, s->name, 1);
        collect_defs(s->body, defs);
        collect_defs(s->orelse, defs);
    }
}

typedef struct name_check {
    sema_state *st;
    sema_map defs;
} name_check;

static void check_name(name_check *c, const ast_expr *e)
{
    sema_state *st = c->st;
    if (sema_map_get(&c->defs, e->sval) || sema_global_find(st->prog, e->sval) ||
        isupper((unsigned char)e->sval[0]) || !strcmp(e->sval, "f32") ||
        !strcmp(e->sval, "i32") || !strcmp(e->sval, "u8"))
        return;
    if (!sema_error(st, e->span, "unknown name '%s'", e->sval))
        return;
    sema_suggest s;
    sema_suggest_init(&s, e->sval);
    for (size_t i = 0; i < c->defs.cap; i++)
        sema_suggest_add(&s, c->defs.keys[i]);
    sema_suggest_names(st, &s, 0);
    sema_suggest_note(st, &s, e->span);
}

static void check_callee(name_check *c, const ast_expr *e)
{
    const sema_global *gl = sema_global_find(c->st->prog, e->sval);
    if ((gl && gl->decl->kind == AST_BLOCK) || sema_builtin_find(e->sval))
        return;
    if (!sema_error(c->st, e->span, "unknown name '%s'", e->sval))
        return;
    sema_suggest s;
    sema_suggest_init(&s, e->sval);
    sema_suggest_names(c->st, &s, 1);
    sema_suggest_note(c->st, &s, e->span);
}

static void check_expr(name_check *c, const ast_expr *e);

static void check_list(name_check *c, const ast_expr *a)
{
    for (; a; a = a->next)
        check_expr(c, a);
}

/* Left-deep operator chains are walked by a loop, not recursion. */
static void check_expr(name_check *c, const ast_expr *e)
{
    for (; e && e->kind == AST_BINARY; e = e->lhs)
        check_expr(c, e->rhs);
    if (!e)
        return;
    switch (e->kind) {
    case AST_NAME: check_name(c, e); break;
    case AST_CALL: check_callee(c, e); check_list(c, e->args); break;
    case AST_APPLY: check_expr(c, e->lhs); check_list(c, e->args); break;
    case AST_LIST: check_list(c, e->args); break;
    case AST_INDEX: check_expr(c, e->lhs); check_list(c, e->args); break;
    case AST_RANGE: check_expr(c, e->lhs); check_expr(c, e->rhs); break;
    case AST_MEMBER: case AST_UNARY: check_expr(c, e->lhs); break;
    default: break;
    }
}

static void check_stmts(name_check *c, const ast_stmt *s)
{
    for (; s; s = s->next) {
        if (s->kind == AST_ASSIGN && s->target->kind == AST_INDEX)
            check_list(c, s->target->args);
        check_expr(c, s->value);
        check_expr(c, s->step);
        check_stmts(c, s->body);
        check_stmts(c, s->orelse);
    }
}

void sema_check_block_names(sema_state *st, const ast_decl *d)
{
    name_check c = {st, {0}};
    sema_map_init(&c.defs, 0);
    for (const ast_param *p = d->params; p; p = p->next)
        sema_map_put(&c.defs, p->name, 1);
    collect_defs(d->body, &c.defs);
    for (const ast_param *p = d->params; p; p = p->next)
        check_expr(&c, p->def);
    check_stmts(&c, d->body);
    sema_map_free(&c.defs);
}

/* ------------------------------------------------- expression printer */

static const char *binop_text(ast_binop op)
{
    static const char *const t[] = {"+", "-", "*", "/", "%", "**", "<", "<=", ">", ">=",
                                    "==", "!=", "and", "or", "-", "not"};
    return t[op];
}

static void print_args(const ast_expr *a, seg_buf *out)
{
    for (; a; a = a->next) {
        if (a->kw)
            seg_buf_printf(out, "%s = ", a->kw);
        sema_expr_str(a, out);
        if (a->next)
            seg_buf_printf(out, ", ");
    }
}

void sema_expr_str(const ast_expr *e, seg_buf *out)
{
    switch (e->kind) {
    case AST_INT: seg_buf_printf(out, "%lld", (long long)e->ival); break;
    case AST_FLOAT: seg_buf_printf(out, "%g", e->fval); break;
    case AST_BOOL: seg_buf_printf(out, "%s", e->ival ? "true" : "false"); break;
    case AST_STRING: seg_buf_printf(out, "\"%s\"", e->sval); break;
    case AST_NAME: seg_buf_printf(out, "%s", e->sval); break;
    case AST_LIST: seg_buf_printf(out, "["); print_args(e->args, out); seg_buf_printf(out, "]"); break;
    case AST_INDEX:
        sema_expr_str(e->lhs, out);
        seg_buf_printf(out, "[");
        print_args(e->args, out);
        seg_buf_printf(out, "]");
        break;
    case AST_RANGE:
        sema_expr_str(e->lhs, out);
        seg_buf_printf(out, "..");
        sema_expr_str(e->rhs, out);
        break;
    case AST_MEMBER: sema_expr_str(e->lhs, out); seg_buf_printf(out, ".%s", e->sval); break;
    case AST_CALL: seg_buf_printf(out, "%s(", e->sval); print_args(e->args, out); seg_buf_printf(out, ")"); break;
    case AST_APPLY:
        sema_expr_str(e->lhs, out);
        seg_buf_printf(out, "(");
        print_args(e->args, out);
        seg_buf_printf(out, ")");
        break;
    case AST_UNARY:
        seg_buf_printf(out, "%s", e->op == AST_OP_NOT ? "not " : "-");
        sema_expr_str(e->lhs, out);
        break;
    case AST_BINARY:
        sema_expr_str(e->lhs, out);
        seg_buf_printf(out, " %s ", binop_text(e->op));
        sema_expr_str(e->rhs, out);
        break;
    }
}
