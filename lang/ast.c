/* ast.c — building, owning and printing the syntax tree, and the parse
 * driver.
 *
 * The constructors are what the grammar actions call, one per action; each
 * allocates a zeroed node from the file's arena and fills in its kind,
 * span and fields. Lists grow through small head/tail/count sequences so
 * left-recursive rules append in O(1) and keep source order.
 *
 * seg_parse runs flex over an in-memory copy of the text (flex wants two
 * spare bytes after it) and bison over the tokens; the parser state lives
 * on the heap for the duration of the call. Whatever happens, the caller
 * gets an ast_file holding every declaration that parsed; everything in
 * it, including the file struct itself, is freed by ast_file_free.
 *
 * ast_dump prints the tree as S-expressions, one declaration per line; the
 * parser tests compare against it.
 */
#include "lang/parse_internal.h"
#include "parser.h"
#include "lexer.h"

#include <limits.h>
#include <string.h>

/* ------------------------------------------------------------ sequences */

ast_expr_seq ast_expr_seq_add(ast_expr_seq s, ast_expr *e)
{
    if (s.tail)
        s.tail->next = e;
    else
        s.head = e;
    s.tail = e;
    s.n++;
    return s;
}

ast_stmt_seq ast_stmt_seq_add(ast_stmt_seq s, ast_stmt *st)
{
    if (s.tail)
        s.tail->next = st;
    else
        s.head = st;
    s.tail = st;
    return s;
}

ast_param_seq ast_param_seq_add(ast_param_seq s, ast_param *p)
{
    if (s.tail)
        s.tail->next = p;
    else
        s.head = p;
    s.tail = p;
    s.n++;
    return s;
}

/* ---------------------------------------------------------- expressions */

static ast_expr *expr_new(seg_arena *a, ast_expr_kind kind, seg_span at)
{
    ast_expr *e = seg_arena_alloc(a, sizeof *e);
    e->kind = kind;
    e->span = at;
    return e;
}

ast_expr *ast_int_new(seg_arena *a, seg_span at, int64_t v)
{
    ast_expr *e = expr_new(a, AST_INT, at);
    e->ival = v;
    return e;
}

ast_expr *ast_float_new(seg_arena *a, seg_span at, double v)
{
    ast_expr *e = expr_new(a, AST_FLOAT, at);
    e->fval = v;
    return e;
}

ast_expr *ast_bool_new(seg_arena *a, seg_span at, int v)
{
    ast_expr *e = expr_new(a, AST_BOOL, at);
    e->ival = v != 0;
    return e;
}

ast_expr *ast_string_new(seg_arena *a, seg_span at, const char *s)
{
    ast_expr *e = expr_new(a, AST_STRING, at);
    e->sval = s;
    return e;
}

ast_expr *ast_name_new(seg_arena *a, seg_span at, const char *name)
{
    ast_expr *e = expr_new(a, AST_NAME, at);
    e->sval = name;
    return e;
}

ast_expr *ast_list_new(seg_arena *a, seg_span at, ast_expr_seq items)
{
    ast_expr *e = expr_new(a, AST_LIST, at);
    e->args = items.head;
    e->n_args = items.n;
    return e;
}

ast_expr *ast_call_new(seg_arena *a, seg_span at, const char *callee, ast_expr_seq args)
{
    ast_expr *e = expr_new(a, AST_CALL, at);
    e->sval = callee;
    e->args = args.head;
    e->n_args = args.n;
    return e;
}

ast_expr *ast_index_new(seg_arena *a, seg_span at, ast_expr *base, ast_expr_seq args)
{
    ast_expr *e = expr_new(a, AST_INDEX, at);
    e->lhs = base;
    e->args = args.head;
    e->n_args = args.n;
    return e;
}

ast_expr *ast_index1_new(seg_arena *a, seg_span at, ast_expr *base, ast_expr *index)
{
    ast_expr_seq one = {index, index, 1};
    return ast_index_new(a, at, base, one);
}

ast_expr *ast_member_new(seg_arena *a, seg_span at, ast_expr *base, const char *field)
{
    ast_expr *e = expr_new(a, AST_MEMBER, at);
    e->lhs = base;
    e->sval = field;
    return e;
}

ast_expr *ast_apply_new(seg_arena *a, seg_span at, ast_expr *base, ast_expr_seq args)
{
    if (base->kind == AST_NAME)
        return ast_call_new(a, at, base->sval, args);
    ast_expr *e = expr_new(a, AST_APPLY, at);
    e->lhs = base;
    e->args = args.head;
    e->n_args = args.n;
    return e;
}

ast_expr *ast_range_new(seg_arena *a, seg_span at, ast_expr *lo, ast_expr *hi)
{
    ast_expr *e = expr_new(a, AST_RANGE, at);
    e->lhs = lo;
    e->rhs = hi;
    return e;
}

ast_expr *ast_unary_new(seg_arena *a, seg_span at, ast_binop op, ast_expr *x)
{
    SEG_ASSERT(op == AST_OP_NEG || op == AST_OP_NOT);
    ast_expr *e = expr_new(a, AST_UNARY, at);
    e->op = op;
    e->lhs = x;
    return e;
}

ast_expr *ast_binary_new(seg_arena *a, seg_span at, ast_binop op, ast_expr *l, ast_expr *r)
{
    ast_expr *e = expr_new(a, AST_BINARY, at);
    e->op = op;
    e->lhs = l;
    e->rhs = r;
    return e;
}

ast_expr *ast_kwarg(seg_span name_at, const char *name, ast_expr *value)
{
    value->kw = name;
    value->kw_span = name_at;
    return value;
}

/* ----------------------------------------------------------- statements */

static ast_stmt *stmt_new(seg_arena *a, ast_stmt_kind kind, seg_span at)
{
    ast_stmt *s = seg_arena_alloc(a, sizeof *s);
    s->kind = kind;
    s->span = at;
    return s;
}

ast_stmt *ast_assign_new(seg_arena *a, seg_span at, ast_expr *target, ast_expr *value)
{
    ast_stmt *s = stmt_new(a, AST_ASSIGN, at);
    s->target = target;
    s->value = value;
    return s;
}

ast_stmt *ast_input_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                        ast_expr *type)
{
    ast_stmt *s = stmt_new(a, AST_INPUT, at);
    s->name = name;
    s->name_span = name_at;
    s->value = type;
    return s;
}

ast_stmt *ast_output_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                         ast_expr *value)
{
    ast_stmt *s = stmt_new(a, AST_OUTPUT, at);
    s->name = name;
    s->name_span = name_at;
    s->value = value;
    return s;
}

ast_stmt *ast_return_new(seg_arena *a, seg_span at, ast_expr *value)
{
    ast_stmt *s = stmt_new(a, AST_RETURN, at);
    s->value = value;
    return s;
}

ast_stmt *ast_for_new(seg_arena *a, seg_span at, const char *var, seg_span var_at,
                      ast_expr *iter, ast_expr *step, ast_stmt_seq body)
{
    ast_stmt *s = stmt_new(a, AST_FOR, at);
    s->name = var;
    s->name_span = var_at;
    s->value = iter;
    s->step = step;
    s->body = body.head;
    return s;
}

ast_stmt *ast_if_new(seg_arena *a, seg_span at, ast_expr *cond, ast_stmt_seq then,
                     ast_stmt_seq orelse)
{
    ast_stmt *s = stmt_new(a, AST_IF, at);
    s->value = cond;
    s->body = then.head;
    s->orelse = orelse.head;
    return s;
}

ast_stmt *ast_scope_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                        ast_expr *index, ast_stmt_seq body)
{
    ast_stmt *s = stmt_new(a, AST_SCOPE, at);
    s->name = name;
    s->name_span = name_at;
    s->step = index;
    s->body = body.head;
    return s;
}

/* Without a binding, name is NULL and name_span is the keyword's span. */
ast_stmt *ast_item_new(seg_arena *a, seg_span at, const char *keyword, const char *binding,
                       seg_span binding_at, ast_expr_seq args)
{
    ast_stmt *s = stmt_new(a, AST_ITEM, at);
    s->keyword = keyword;
    s->name = binding;
    s->name_span = binding_at;
    s->args = args.head;
    s->n_args = args.n;
    return s;
}

ast_stmt *ast_stage_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                        ast_stmt_seq body)
{
    ast_stmt *s = stmt_new(a, AST_STAGE, at);
    s->name = name;
    s->name_span = name_at;
    s->body = body.head;
    return s;
}

ast_stmt *ast_stage_inst_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                             ast_expr *call, ast_stmt_seq body)
{
    ast_stmt *s = ast_stage_new(a, at, name, name_at, body);
    s->value = call;
    return s;
}

ast_param *ast_param_new(seg_arena *a, seg_span at, const char *name, ast_expr *def)
{
    ast_param *p = seg_arena_alloc(a, sizeof *p);
    p->name = name;
    p->def = def;
    p->span = at;
    return p;
}

/* --------------------------------------------------------- declarations */

/* The first node found deeper than budget levels, or NULL. The recursion
 * itself never goes deeper than the budget. */
static const seg_span *depth_check_expr(const ast_expr *e, int budget)
{
    for (; e; e = e->next) { /* siblings share a level */
        if (budget <= 0)
            return &e->span;
        const seg_span *bad = depth_check_expr(e->lhs, budget - 1);
        if (!bad)
            bad = depth_check_expr(e->rhs, budget - 1);
        if (!bad)
            bad = depth_check_expr(e->args, budget - 1);
        if (bad)
            return bad;
    }
    return NULL;
}

static const seg_span *depth_check_stmts(const ast_stmt *s, int budget)
{
    for (; s; s = s->next) {
        if (budget <= 0)
            return &s->span;
        const ast_expr *parts[] = {s->target, s->value, s->step, s->args};
        const seg_span *bad = NULL;
        for (size_t i = 0; i < sizeof parts / sizeof parts[0] && !bad; i++)
            bad = depth_check_expr(parts[i], budget - 1);
        if (!bad)
            bad = depth_check_stmts(s->body, budget - 1);
        if (!bad)
            bad = depth_check_stmts(s->orelse, budget - 1);
        if (bad)
            return bad;
    }
    return NULL;
}

/* Append d to the file unless it is deeper than SEG_MAX_TREE_DEPTH. */
static void decl_add(seg_parser *ps, ast_decl *d)
{
    const seg_span *bad = depth_check_expr(d->value, SEG_MAX_TREE_DEPTH);
    for (const ast_param *p = d->params; p && !bad; p = p->next)
        bad = depth_check_expr(p->def, SEG_MAX_TREE_DEPTH);
    if (!bad)
        bad = depth_check_stmts(d->body, SEG_MAX_TREE_DEPTH);
    if (bad) {
        seg_parser_error(ps, *bad, "nesting too deep (more than %d levels)",
                         SEG_MAX_TREE_DEPTH);
        return;
    }
    if (ps->last_decl)
        ps->last_decl->next = d;
    else
        ps->file->decls = d;
    ps->last_decl = d;
}

static ast_decl *decl_new(seg_parser *ps, ast_decl_kind kind, seg_span at, const char *name,
                          seg_span name_at)
{
    ast_decl *d = seg_arena_alloc(ps->arena, sizeof *d);
    d->kind = kind;
    d->span = at;
    d->name = name;
    d->name_span = name_at;
    return d;
}

void ast_import_add(seg_parser *ps, seg_span at, const char *path, seg_span path_at)
{
    decl_add(ps, decl_new(ps, AST_IMPORT, at, path, path_at));
}

void ast_const_add(seg_parser *ps, seg_span at, const char *name, seg_span name_at,
                   ast_expr *value)
{
    ast_decl *d = decl_new(ps, AST_CONST, at, name, name_at);
    d->value = value;
    decl_add(ps, d);
}

void ast_block_add(seg_parser *ps, ast_decl_kind kind, seg_span at, const char *name,
                   seg_span name_at, ast_param_seq params, ast_stmt_seq body)
{
    ast_decl *d = decl_new(ps, kind, at, name, name_at);
    d->params = params.head;
    d->n_params = params.n;
    d->body = body.head;
    decl_add(ps, d);
}

void ast_schedule_add(seg_parser *ps, seg_span at, const char *name, seg_span name_at,
                      ast_param_seq params, ast_stmt_seq body)
{
    ast_block_add(ps, AST_SCHEDULE, at, name, name_at, params, body);
}

void ast_schedule_inst_add(seg_parser *ps, seg_span at, const char *name, seg_span name_at,
                           ast_expr *call)
{
    ast_decl *d = decl_new(ps, AST_SCHEDULE, at, name, name_at);
    d->value = call;
    decl_add(ps, d);
}

void ast_stage_def_add(seg_parser *ps, seg_span at, const char *name, seg_span name_at,
                       ast_param_seq params, ast_stmt_seq body)
{
    ast_block_add(ps, AST_STAGE_DEF, at, name, name_at, params, body);
}

void ast_repl_expr_set(seg_parser *ps, ast_expr *e)
{
    const seg_span *bad = depth_check_expr(e, SEG_MAX_TREE_DEPTH);
    if (bad)
        seg_parser_error(ps, *bad, "nesting too deep (more than %d levels)", SEG_MAX_TREE_DEPTH);
    else
        ps->file->expr = e;
}

/* ---------------------------------------------------------------- parse */

void seg_parser_error(seg_parser *ps, seg_span at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    seg_diag_error(ps->diag, at, "%s", msg);
    ps->n_errors++;
}

ast_file *seg_parse_ex(seg_diag *d, int file_id, const char *path, const char *text,
                       size_t len, int repl, seg_parse_status *st)
{
    seg_arena *arena = seg_arena_new();
    ast_file *f = seg_arena_alloc(arena, sizeof *f);
    f->arena = arena;
    f->file_id = file_id;
    f->path = seg_arena_strdup(arena, path ? path : "<input>");

    seg_parser *ps = seg_xcalloc(1, sizeof *ps);
    ps->diag = d;
    ps->arena = arena;
    ps->file = f;
    ps->file_id = file_id;
    ps->line = ps->first_line = seg_diag_file_first_line(d, file_id);
    ps->col = 1;
    ps->mode_token = repl ? TOK_REPL : TOK_FILE;
    if (len > (size_t)INT_MAX - 2) { /* flex counts in int */
        seg_parser_error(ps, (seg_span){file_id, 0, 0, 0, 0}, "file too large");
    } else {
        yyscan_t scanner;
        if (seg_yylex_init_extra(ps, &scanner) != 0)
            SEG_UNREACHABLE(); /* only fails when out of memory, and that aborts */
        YY_BUFFER_STATE buf = seg_yy_scan_bytes(len ? text : "", (int)len, scanner);
        yyparse(scanner, ps);
        seg_yy_delete_buffer(buf, scanner);
        seg_yylex_destroy(scanner);
    }
    if (st) {
        st->n_errors = ps->n_errors;
        st->incomplete = ps->n_errors > 0 && ps->n_errors == ps->eof_errors;
    }
    seg_free(ps);
    return f;
}

ast_file *seg_parse(seg_diag *d, int file_id, const char *path, const char *text, size_t len)
{
    return seg_parse_ex(d, file_id, path, text, len, 0, NULL);
}

void ast_file_free(ast_file *f)
{
    if (f)
        seg_arena_free(f->arena); /* f itself lives in the arena */
}

/* ----------------------------------------------------------------- dump */

const char *ast_op_name(ast_binop op)
{
    static const char *const names[] = {
        [AST_OP_ADD] = "+", [AST_OP_SUB] = "-", [AST_OP_MUL] = "*", [AST_OP_DIV] = "/",
        [AST_OP_MOD] = "%", [AST_OP_POW] = "**", [AST_OP_LT] = "<", [AST_OP_LE] = "<=",
        [AST_OP_GT] = ">", [AST_OP_GE] = ">=", [AST_OP_EQ] = "==", [AST_OP_NE] = "!=",
        [AST_OP_AND] = "and", [AST_OP_OR] = "or", [AST_OP_NEG] = "-", [AST_OP_NOT] = "not",
    };
    SEG_ASSERT(op >= 0 && op < (int)(sizeof names / sizeof names[0]));
    return names[op];
}

static void dump_expr(const ast_expr *e, FILE *out);

static void dump_args(const ast_expr *args, FILE *out)
{
    for (const ast_expr *a = args; a; a = a->next) {
        fputc(' ', out);
        dump_expr(a, out);
    }
}

static void dump_string(const char *s, FILE *out)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (*s == '\t')
            fputs("\\t", out);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void dump_expr(const ast_expr *e, FILE *out)
{
    if (e->kw)
        fprintf(out, "%s=", e->kw);
    switch (e->kind) {
    case AST_INT: fprintf(out, "%lld", (long long)e->ival); break;
    case AST_FLOAT: fprintf(out, "%.17g", e->fval); break;
    case AST_BOOL: fputs(e->ival ? "true" : "false", out); break;
    case AST_STRING: dump_string(e->sval, out); break;
    case AST_NAME: fputs(e->sval, out); break;
    case AST_LIST: fputs("(list", out); dump_args(e->args, out); fputc(')', out); break;
    case AST_INDEX:
        fputs("(index ", out);
        dump_expr(e->lhs, out);
        dump_args(e->args, out);
        fputc(')', out);
        break;
    case AST_RANGE:
        fputs("(.. ", out);
        dump_expr(e->lhs, out);
        fputc(' ', out);
        dump_expr(e->rhs, out);
        fputc(')', out);
        break;
    case AST_MEMBER:
        fputs("(. ", out);
        dump_expr(e->lhs, out);
        fprintf(out, " %s)", e->sval);
        break;
    case AST_CALL:
        fprintf(out, "(call %s", e->sval);
        dump_args(e->args, out);
        fputc(')', out);
        break;
    case AST_APPLY:
        fputs("(apply ", out);
        dump_expr(e->lhs, out);
        dump_args(e->args, out);
        fputc(')', out);
        break;
    case AST_UNARY:
        fprintf(out, "(%s ", ast_op_name(e->op));
        dump_expr(e->lhs, out);
        fputc(')', out);
        break;
    case AST_BINARY:
        fprintf(out, "(%s ", ast_op_name(e->op));
        dump_expr(e->lhs, out);
        fputc(' ', out);
        dump_expr(e->rhs, out);
        fputc(')', out);
        break;
    }
}

static void dump_stmts(const ast_stmt *s, FILE *out);

static void dump_stmt(const ast_stmt *s, FILE *out)
{
    switch (s->kind) {
    case AST_ASSIGN:
        fputs("(= ", out);
        dump_expr(s->target, out);
        fputc(' ', out);
        dump_expr(s->value, out);
        break;
    case AST_INPUT: case AST_OUTPUT:
        fprintf(out, "(%s %s ", s->kind == AST_INPUT ? "input" : "output", s->name);
        dump_expr(s->value, out);
        break;
    case AST_RETURN:
        fputs("(return ", out);
        dump_expr(s->value, out);
        break;
    case AST_FOR:
        fprintf(out, "(for %s ", s->name);
        dump_expr(s->value, out);
        if (s->step) {
            fputs(" (step ", out);
            dump_expr(s->step, out);
            fputc(')', out);
        }
        dump_stmts(s->body, out);
        break;
    case AST_IF:
        fputs("(if ", out);
        dump_expr(s->value, out);
        fputs(" (then", out);
        dump_stmts(s->body, out);
        fputc(')', out);
        if (s->orelse) {
            fputs(" (else", out);
            dump_stmts(s->orelse, out);
            fputc(')', out);
        }
        break;
    case AST_SCOPE:
        fprintf(out, "(scope %s", s->name);
        if (s->step) {
            fputs(" (index ", out);
            dump_expr(s->step, out);
            fputc(')', out);
        }
        dump_stmts(s->body, out);
        break;
    case AST_ITEM:
        fprintf(out, "(%s", s->keyword);
        if (s->name)
            fprintf(out, " %s =", s->name);
        dump_args(s->args, out);
        break;
    case AST_STAGE:
        fprintf(out, "(stage %s", s->name);
        if (s->value) {
            fputs(" = ", out);
            dump_expr(s->value, out);
        }
        dump_stmts(s->body, out);
        break;
    }
    fputc(')', out);
}

static void dump_stmts(const ast_stmt *s, FILE *out)
{
    for (; s; s = s->next) {
        fputc(' ', out);
        dump_stmt(s, out);
    }
}

static void dump_params(const ast_decl *d, FILE *out)
{
    fputs(" (params", out);
    for (const ast_param *p = d->params; p; p = p->next) {
        fprintf(out, " %s", p->name);
        if (p->def) {
            fputc('=', out);
            dump_expr(p->def, out);
        }
    }
    fputc(')', out);
}

static void dump_decl(const ast_decl *d, FILE *out)
{
    switch (d->kind) {
    case AST_IMPORT:
        fputs("(import ", out);
        dump_string(d->name, out);
        break;
    case AST_CONST:
        fprintf(out, "(const %s ", d->name);
        dump_expr(d->value, out);
        break;
    case AST_BLOCK: case AST_NET: case AST_STAGE_DEF:
        fprintf(out, "(%s %s", d->kind == AST_BLOCK ? "block" : d->kind == AST_NET ? "net"
                                                                                 : "stage",
                d->name);
        dump_params(d, out);
        dump_stmts(d->body, out);
        break;
    case AST_SCHEDULE:
        fprintf(out, "(schedule %s", d->name);
        if (d->value) {
            fputs(" = ", out);
            dump_expr(d->value, out);
        } else if (d->params) {
            dump_params(d, out);
        }
        dump_stmts(d->body, out);
        break;
    }
    fputs(")\n", out);
}

void ast_dump(const ast_file *f, FILE *out)
{
    for (const ast_decl *d = f->decls; d; d = d->next)
        dump_decl(d, out);
    if (f->expr) {
        fputs("(expr ", out);
        dump_expr(f->expr, out);
        fputs(")\n", out);
    }
}
