/* ast.h — the syntax tree of a .seg file.
 *
 * Every node is a kind, its fields and a source span. All nodes of one
 * parsed file live in the ast_file's arena and are freed with it. Sequences
 * (arguments, statements, items) are singly linked through `next`, in
 * source order.
 *
 * The tree is deliberately uniform: a schedule and its stages are made of
 * generic items `KEYWORD [NAME =] expr, expr, ...` whose keywords sema
 * checks, so the grammar stays small and new schedule settings need no
 * grammar change.
 */
#ifndef SEGC_AST_H
#define SEGC_AST_H

#include "../runtime/base.h"

typedef struct seg_diag seg_diag; /* lang.h */

typedef enum ast_expr_kind {
    AST_INT,     /* ival */
    AST_FLOAT,   /* fval */
    AST_BOOL,    /* ival (0/1) */
    AST_STRING,  /* sval (unquoted, escapes resolved) */
    AST_NAME,    /* sval: a variable, block, builtin or dtype name */
    AST_LIST,    /* args: [a, b, c] */
    AST_INDEX,   /* base[args]: e[i], level[1..2], f32[B, 1, 64, 64] */
    AST_RANGE,   /* lhs..rhs (inclusive), only inside brackets and for */
    AST_MEMBER,  /* base.sval: net outputs (student.feat), name paths */
    AST_CALL,    /* sval(args): callee is always a name */
    AST_APPLY,   /* lhs(args): a call of something other than a name, e.g. a net
                    instance at the REPL prompt: unet(levels = 3)(x) */
    AST_UNARY,   /* op lhs: '-' or 'not' */
    AST_BINARY,  /* lhs op rhs */
} ast_expr_kind;

typedef enum ast_binop {
    AST_OP_ADD, AST_OP_SUB, AST_OP_MUL, AST_OP_DIV, AST_OP_MOD, AST_OP_POW,
    AST_OP_LT, AST_OP_LE, AST_OP_GT, AST_OP_GE, AST_OP_EQ, AST_OP_NE,
    AST_OP_AND, AST_OP_OR,
    AST_OP_NEG, AST_OP_NOT, /* unary */
} ast_binop;

typedef struct ast_expr ast_expr;
struct ast_expr {
    ast_expr_kind kind;
    seg_span span;
    ast_expr *next;   /* next in an argument or list sequence */
    const char *kw;   /* keyword argument name (f(x, k = 3)), else NULL */
    seg_span kw_span; /* where that name is written (span covers the value alone) */
    int64_t ival;     /* AST_INT, AST_BOOL */
    double fval;      /* AST_FLOAT */
    const char *sval; /* AST_STRING, AST_NAME, AST_CALL callee, AST_MEMBER field */
    ast_binop op;     /* AST_UNARY, AST_BINARY */
    ast_expr *lhs;    /* AST_UNARY operand, AST_BINARY/AST_RANGE left,
                         AST_INDEX/AST_MEMBER base, AST_APPLY callee */
    ast_expr *rhs;    /* AST_BINARY/AST_RANGE right */
    ast_expr *args;   /* AST_CALL/AST_APPLY arguments, AST_LIST elements, AST_INDEX indices */
    int n_args;       /* length of args */
};

typedef enum ast_stmt_kind {
    AST_ASSIGN,  /* target = value; target is AST_NAME or AST_INDEX of a name */
    AST_INPUT,   /* input name : type (value is the type expression) */
    AST_OUTPUT,  /* output name = value */
    AST_RETURN,  /* return value */
    AST_FOR,     /* for name in value { body }; value is a range or a list; step may be NULL */
    AST_IF,      /* if value { body } else { orelse } (orelse may be NULL or one AST_IF) */
    AST_SCOPE,   /* scope name[index] { body }; index may be NULL */
    AST_ITEM,    /* schedule/stage item: keyword [name =] args */
    AST_STAGE,   /* stage name { body of AST_ITEMs }, or stage name = template(args)
                    [{ more items }]: value is then the AST_CALL of the template */
} ast_stmt_kind;

typedef struct ast_stmt ast_stmt;
struct ast_stmt {
    ast_stmt_kind kind;
    seg_span span;
    ast_stmt *next;
    const char *name;   /* INPUT/OUTPUT/FOR variable/SCOPE/STAGE name; ITEM binding (NULL if none) */
    const char *keyword;/* ITEM keyword (data, model, loss, ...) */
    seg_span name_span; /* span of name */
    ast_expr *target;   /* ASSIGN */
    ast_expr *value;    /* ASSIGN/OUTPUT/RETURN value, INPUT type, FOR iterable, IF condition,
                           STAGE template call (NULL for a stage written out) */
    ast_expr *step;     /* FOR step, SCOPE index */
    ast_expr *args;     /* ITEM arguments (linked), n_args of them */
    int n_args;
    ast_stmt *body;     /* FOR/IF/SCOPE/STAGE body */
    ast_stmt *orelse;   /* IF else branch */
};

typedef struct ast_param {
    const char *name;
    ast_expr *def;      /* default value or NULL */
    seg_span span;
    struct ast_param *next;
} ast_param;

typedef enum ast_decl_kind {
    AST_IMPORT,    /* import "path" */
    AST_CONST,     /* name = value at top level (compile-time constant) */
    AST_BLOCK,     /* block name(params) { body } */
    AST_NET,       /* net name(params) { body } */
    AST_SCHEDULE,  /* schedule name [(params)] { items and stages }, or
                      schedule name = other(args): value is then that AST_CALL */
    AST_STAGE_DEF, /* stage name(params) { items }: a stage template, used by
                      `stage NAME = name(args)` inside schedules */
} ast_decl_kind;

typedef struct ast_decl ast_decl;
struct ast_decl {
    ast_decl_kind kind;
    seg_span span;
    seg_span name_span;
    ast_decl *next;
    const char *name;   /* IMPORT: the path string; others: the declared name */
    ast_expr *value;    /* CONST; SCHEDULE instantiation: the call */
    ast_param *params;  /* BLOCK, NET, SCHEDULE, STAGE_DEF */
    int n_params;
    ast_stmt *body;     /* BLOCK, NET, SCHEDULE, STAGE_DEF */
};

/* One parsed file. */
typedef struct ast_file {
    seg_arena *arena;   /* owns every node and string */
    int file_id;        /* diag file id, the span.file of its nodes */
    const char *path;
    ast_decl *decls;
    ast_expr *expr;     /* a REPL input that is an expression (then decls is empty) */
} ast_file;

/* The parser (lang/parser.y), private to lang/ like the tree it makes. */
/* Parse one file (already registered with the diag engine as file_id).
 * Always returns an ast_file (possibly with fewer decls after errors);
 * syntax errors are reported to d. Free with ast_file_free. */
ast_file *seg_parse(seg_diag *d, int file_id, const char *path, const char *text, size_t len);
void ast_file_free(ast_file *f);

#endif
