/* parse_internal.h — what lexer.l, parser.y, ast.c and diag.c share inside
 * lang/ and nobody else needs: the parser state that the flex scanner
 * carries as its "extra" data, the AST constructors the grammar actions
 * call, and the parse entry point the REPL uses to learn that its input is
 * merely incomplete.
 *
 * One seg_parser lives for one seg_parse() call. The scanner fills token
 * values and spans; a thin token layer between scanner and bison (in
 * parser.y) matches brackets, inserts the closers a file forgot, enforces
 * the nesting limit and skips tokens during error recovery. See parser.y.
 */
#ifndef SEGC_PARSE_INTERNAL_H
#define SEGC_PARSE_INTERNAL_H

#include "lang.h"
#include "ast.h"

/* Brackets ( [ { open at once. Deeper input is an error ("nesting too
 * deep"), which keeps the parser stack, the AST depth and every recursive
 * pass over it bounded. */
#define SEG_MAX_NESTING 200

/* No declaration's tree is deeper than this (expressions and statements
 * together; `1 + 1 + ... + 1` is as deep as it is long, with no bracket to
 * count), so recursive passes over the AST need bounded stack. A deeper
 * declaration is reported and left out of the file. */
#define SEG_MAX_TREE_DEPTH 1000

/* ------------------------------------------------------------ the state */

/* A token the layer holds back while it hands out inserted closers: a
 * declaration keyword, a closer or end of input, none of which has a value. */
typedef struct seg_held_tok {
    int kind;      /* bison token kind */
    seg_span span;
    int first;     /* it began its line */
} seg_held_tok;

typedef struct seg_parser {
    /* shared with the scanner */
    seg_diag *diag;
    seg_arena *arena;   /* the ast_file's arena: names, strings, nodes */
    ast_file *file;     /* the result; decls appended as they complete */
    ast_decl *last_decl;/* tail of file->decls */
    int file_id;        /* span.file of every token */
    int line, col;      /* scanner position: next byte's line and column */
    int first_line;     /* the text's first line number (seg_diag_add_file_at) */
    int mode_token;     /* handed to bison before the first token: TOK_FILE or TOK_REPL */
    char tok_text[48];  /* spelling of the last token, for messages (cut) */

    /* error bookkeeping */
    int n_errors;       /* errors this parse reported (lexical + syntax) */
    int eof_errors;     /* of those, syntax errors at end of input */
    int stop;           /* give up: the layer returns end of input, bison is quiet */
    int string_cut;     /* an unterminated string swallowed text: the next bracket
                           repair is its consequence and is made silently */

    /* the token layer (lexer.l) */
    char open[SEG_MAX_NESTING]; /* stack of open brackets: '(' '[' '{' */
    int depth;          /* entries used in open[] */
    int n_synth;        /* closers still to insert before held */
    int have_held;      /* held is waiting to be returned */
    seg_held_tok held;
    seg_span synth_at;  /* where inserted closers are said to be */
    int seen_eof;       /* flex has returned end of input */
    int prev_line;      /* end line of the previous raw token (0 = none yet) */
    seg_span last_real; /* span of the last real token (end of input goes after it) */
    int last_kind;      /* kind of the last token handed to bison... */
    int last_pre_depth; /* ... the bracket depth before it */
    int last_first;     /* ... whether it began its line */
    int last_synth;     /* ... whether the layer inserted it */
    int serial;         /* tokens handed to bison so far (the last one's number) */
    int kept_serial;    /* the last lookahead seg_parse_sync kept */
    int reported_serial;/* the last token a syntax error was reported at */
    int skip;           /* error recovery: dropping tokens until a sync point */
    int sync_depth;     /* ... at this bracket depth */
    int sync_body;      /* ... inside a { } body (1) or at top level (0) */
} seg_parser;

/* Report a lexical or syntax error at `at` and count it. */
void seg_parser_error(seg_parser *ps, seg_span at, const char *fmt, ...) SEG_PRINTF(3, 4);

/* ------------------------------------------------------------ the parse */

/* What one parse found, for callers that must tell "wrong" from "not
 * finished yet" (the REPL reads another line when incomplete is set). */
typedef struct seg_parse_status {
    int n_errors;   /* errors reported while parsing this text */
    int incomplete; /* every error was at end of input: more text may fix it */
} seg_parse_status;

/* seg_parse with a status report (st may be NULL); repl = 1 parses one
 * REPL input (declarations, or one expression into ast_file.expr). */
ast_file *seg_parse_ex(seg_diag *d, int file_id, const char *path, const char *text,
                       size_t len, int repl, seg_parse_status *st);

/* The diag engine has hit its printing cap; parsing may as well stop. */
int seg_diag_stopped(const seg_diag *d);

/* ----------------------------------------------------- AST constructors */

/* Growing sequences for left-recursive lists: O(1) append, source order. */
typedef struct ast_expr_seq {
    ast_expr *head, *tail;
    int n;
} ast_expr_seq;
typedef struct ast_stmt_seq {
    ast_stmt *head, *tail;
} ast_stmt_seq;
typedef struct ast_param_seq {
    ast_param *head, *tail;
    int n;
} ast_param_seq;

ast_expr_seq ast_expr_seq_add(ast_expr_seq s, ast_expr *e);
ast_stmt_seq ast_stmt_seq_add(ast_stmt_seq s, ast_stmt *st);
ast_param_seq ast_param_seq_add(ast_param_seq s, ast_param *p);

ast_expr *ast_int_new(seg_arena *a, seg_span at, int64_t v);
ast_expr *ast_float_new(seg_arena *a, seg_span at, double v);
ast_expr *ast_bool_new(seg_arena *a, seg_span at, int v);
ast_expr *ast_string_new(seg_arena *a, seg_span at, const char *s);
ast_expr *ast_name_new(seg_arena *a, seg_span at, const char *name);
ast_expr *ast_list_new(seg_arena *a, seg_span at, ast_expr_seq items);
ast_expr *ast_call_new(seg_arena *a, seg_span at, const char *callee, ast_expr_seq args);
ast_expr *ast_index_new(seg_arena *a, seg_span at, ast_expr *base, ast_expr_seq args);
/* target[i] on the left of '=': one index expression */
ast_expr *ast_index1_new(seg_arena *a, seg_span at, ast_expr *base, ast_expr *index);
ast_expr *ast_member_new(seg_arena *a, seg_span at, ast_expr *base, const char *field);
/* base(args): an AST_CALL when base is a plain name, else an AST_APPLY. */
ast_expr *ast_apply_new(seg_arena *a, seg_span at, ast_expr *base, ast_expr_seq args);
ast_expr *ast_range_new(seg_arena *a, seg_span at, ast_expr *lo, ast_expr *hi);
ast_expr *ast_unary_new(seg_arena *a, seg_span at, ast_binop op, ast_expr *x);
ast_expr *ast_binary_new(seg_arena *a, seg_span at, ast_binop op, ast_expr *l, ast_expr *r);
/* name = value inside ( ) or [ ]: sets value->kw and value->kw_span (name_at);
 * value->span stays the value's own, so an error about the value points at it */
ast_expr *ast_kwarg(seg_span name_at, const char *name, ast_expr *value);

ast_stmt *ast_assign_new(seg_arena *a, seg_span at, ast_expr *target, ast_expr *value);
ast_stmt *ast_input_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                        ast_expr *type);
ast_stmt *ast_output_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                         ast_expr *value);
ast_stmt *ast_return_new(seg_arena *a, seg_span at, ast_expr *value);
ast_stmt *ast_for_new(seg_arena *a, seg_span at, const char *var, seg_span var_at,
                      ast_expr *iter, ast_expr *step, ast_stmt_seq body);
/* orelse: the else body, or one AST_IF for `else if` (empty: no else) */
ast_stmt *ast_if_new(seg_arena *a, seg_span at, ast_expr *cond, ast_stmt_seq then,
                     ast_stmt_seq orelse);
ast_stmt *ast_scope_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                        ast_expr *index, ast_stmt_seq body);
ast_stmt *ast_item_new(seg_arena *a, seg_span at, const char *keyword, const char *binding,
                       seg_span binding_at, ast_expr_seq args);
ast_stmt *ast_stage_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                        ast_stmt_seq body);
/* stage name = template(args) { body }: call is the AST_CALL, body may be empty */
ast_stmt *ast_stage_inst_new(seg_arena *a, seg_span at, const char *name, seg_span name_at,
                             ast_expr *call, ast_stmt_seq body);

ast_param *ast_param_new(seg_arena *a, seg_span at, const char *name, ast_expr *def);

/* Declarations are appended to ps->file as each one completes, so a parse
 * that stops early still keeps everything before the stop. */
void ast_import_add(seg_parser *ps, seg_span at, const char *path, seg_span path_at);
void ast_const_add(seg_parser *ps, seg_span at, const char *name, seg_span name_at,
                   ast_expr *value);
void ast_block_add(seg_parser *ps, ast_decl_kind kind, seg_span at, const char *name,
                   seg_span name_at, ast_param_seq params, ast_stmt_seq body);
void ast_schedule_add(seg_parser *ps, seg_span at, const char *name, seg_span name_at,
                      ast_param_seq params, ast_stmt_seq body);
/* schedule name = other(args) */
void ast_schedule_inst_add(seg_parser *ps, seg_span at, const char *name, seg_span name_at,
                           ast_expr *call);
/* stage name(params) { items } at top level: a stage template */
void ast_stage_def_add(seg_parser *ps, seg_span at, const char *name, seg_span name_at,
                       ast_param_seq params, ast_stmt_seq body);
/* The expression a REPL input consists of. */
void ast_repl_expr_set(seg_parser *ps, ast_expr *e);

/* ----------------------------------------------------------- debugging */

/* The tree as one S-expression per declaration, for tests and --dump-ast:
 *   (net unet (params levels=3) (input x (index f32 B 1 64 64)) ...) */
void ast_dump(const ast_file *f, FILE *out);
/* Name of a binary/unary operator as written ("+", "and", "-" for NEG). */
const char *ast_op_name(ast_binop op);

#endif
