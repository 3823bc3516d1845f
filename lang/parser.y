%code top {
/* parser.y — the Seg grammar (bison, pure, LALR(1) with LAC).
 *
 * The rules follow docs/language.md one for one; the EBNF above each group
 * is copied from there. Every semantic action is a single call to an AST
 * constructor (lang/ast.c); declarations are appended to the file as each
 * one completes, so a parse that stops early keeps what came before.
 * There are no statement separators: the grammar is LALR(1) without them
 * because no statement or item starts with a token that could continue an
 * expression (%expect 0 keeps it that way).
 *
 * Tokens come from seg_lex (lexer.l), a layer over the flex scanner that
 * matches brackets: it reports and repairs missing closers ("expected '}'
 * before 'net'": it hands bison the closers, then the keyword), enforces
 * SEG_MAX_NESTING, and skips tokens while bison recovers from an error.
 *
 * Error recovery: the three lists (declarations, statements, schedule
 * items) each have an `error` alternative. Its action, seg_parse_sync,
 * looks at the lookahead: a token that can start the next element (a
 * keyword, or a name that begins a line, at the list's bracket depth) is
 * kept; anything else is dropped and the layer skips ahead to such a token
 * or to the list's closing '}'. Since recovery resumes only at a trusted
 * token, the action re-arms error reports at once (yyerrok) instead of
 * bison's usual three shifted tokens, so an error in the very next element
 * is not lost. Each token is reported at most once and kept at most once,
 * so every round of recovery makes progress. Tokens the layer inserted are
 * never reported: one mistake gives one message.
 *
 * Messages (parse.error custom, exact expected sets thanks to LAC) read
 * like GCC's: "expected ')' before 'net'", "expected a name before '('",
 * "unexpected 'output', expected an expression", "unexpected end of
 * input, expected '}'". Bison's "memory exhausted" (its stack limit, hit by
 * thousands of nested `not`, `-` or `**` that no bracket counts) becomes a
 * located "nesting too deep", and ast.c rejects a declaration whose tree
 * is deeper than SEG_MAX_TREE_DEPTH (long flat chains like 1 + 1 + ...).
 * No %destructor is needed: every semantic value lives in the file's arena.
 */
}

%code requires {
#include "lang/parse_internal.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
}

%code provides {
/* The token layer over the flex scanner (lexer.l). */
int seg_lex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner);
/* Error recovery in a list (body 1: statements or items, 0: declarations)
 * with bison's lookahead la (TOK_YYEMPTY if none). Says what the `error`
 * action must do: drop la (the layer now skips ahead to a sync point) and
 * re-arm error reports. A lookahead that can start the next element is
 * kept, once; end of input is kept without re-arming, so that bison gives
 * up if it fails again. Either way recovery always makes progress. */
enum { SEG_SYNC_DROP = 1, SEG_SYNC_ERROK = 2 };
int seg_parse_sync(seg_parser *ps, int la, int body);
}

%code {
#include <string.h>

#define yylex seg_lex

/* Bison's stacks go through the allocation funnel too. */
#define YYMALLOC(n) seg_xrealloc(NULL, (n))
#define YYFREE seg_free

/* Stack limit; deeper input is "nesting too deep". 200 bracket levels
 * need at most about 15 states each, so honest files never come close. */
#define YYMAXDEPTH 10000

/* A nonterminal spans its first symbol's start to its last symbol's end;
 * an empty one is an empty span just after the previous symbol. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                     \
    do {                                                                \
        if (N) {                                                        \
            (Cur) = YYRHSLOC(Rhs, 1);                                   \
            (Cur).end_line = YYRHSLOC(Rhs, N).end_line;                 \
            (Cur).end_col = YYRHSLOC(Rhs, N).end_col;                   \
        } else {                                                        \
            (Cur) = YYRHSLOC(Rhs, 0);                                   \
            (Cur).line = (Cur).end_line;                                \
            (Cur).col = (Cur).end_col + 1;                              \
        }                                                               \
    } while (0)

static void yyerror(YYLTYPE *loc, yyscan_t scanner, seg_parser *ps, const char *msg);

/* The action of every `error` alternative; see seg_parse_sync. */
#define SEG_RECOVER(body)                                   \
    do {                                                    \
        int r_ = seg_parse_sync(ps, yychar, (body));        \
        if (r_ & SEG_SYNC_DROP)                             \
            yyclearin;                                      \
        if (r_ & SEG_SYNC_ERROK)                            \
            yyerrok;                                        \
    } while (0)
}

%define api.pure full
%define api.token.prefix {TOK_}
%define api.location.type {seg_span}
%define parse.error custom
%define parse.lac full
%locations
%lex-param {yyscan_t scanner}
%parse-param {yyscan_t scanner} {seg_parser *ps}
%expect 0

%initial-action {
    @$ = (seg_span){ps->file_id, 1, 1, 1, 0};
}

%union {
    const char *sval;
    int64_t ival;
    double fval;
    ast_binop op;
    ast_expr *expr;
    ast_stmt *stmt;
    ast_param *param;
    ast_expr_seq exprs;
    ast_stmt_seq stmts;
    ast_param_seq params;
}

%token <sval> NAME "name"
%token <ival> INT "integer"
%token <fval> FLOAT "number"
%token <sval> STRING "string"
%token IMPORT "import" BLOCK "block" NET "net" SCHEDULE "schedule" STAGE "stage"
%token INPUT "input" OUTPUT "output" RETURN "return" FOR "for" IN "in"
%token IF "if" ELSE "else" SCOPE "scope" TRUE "true" FALSE "false"
%token AND "and" OR "or" NOT "not"
%token FILE "file" REPL "REPL input"
%token POW "**" EQ "==" NE "!=" LE "<=" GE ">=" DOTDOT ".."

%nterm <params> params_opt params
%nterm <param> param
%nterm <stmts> stmts body else_opt items
%nterm <stmt> stmt if_stmt item
%nterm <expr> target expr or_expr and_expr not_expr cmp_expr range_expr sum term
%nterm <expr> unary power postfix primary arg call
%nterm <exprs> exprs args arg_list
%start start
%nterm <op> cmp_op

%%

/* A file, or (seg_parse_ex in REPL mode) one input typed at the REPL
 * prompt: declarations, or a single expression to evaluate and show.
 * Mixing them in one input would be ambiguous without separators
 * (`x = a (b)`), so an input is one or the other. The token layer hands
 * out FILE or REPL before the first real token, so the start state only
 * shifts and `file` keeps its default reduction (error recovery at the
 * first token of a file works as before).
 *   repl-input = { decl } | expr ; */
start
    : FILE file
    | REPL repl_input
    ;
repl_input
    : %empty
    | expr              { ast_repl_expr_set(ps, $1); }
    | repl_decls
    ;
repl_decls
    : decl
    | error             { SEG_RECOVER(0); }
    | repl_decls decl
    | repl_decls error  { SEG_RECOVER(0); }
    ;

/* file = { decl } ; */
file
    : %empty
    | file decl
    | file error { SEG_RECOVER(0); }
    ;

/* decl = "import" STRING
 *      | NAME "=" expr
 *      | "block" NAME "(" [ params ] ")" "{" { stmt } "}"
 *      | "net"   NAME "(" [ params ] ")" "{" { stmt } "}"
 *      | "schedule" NAME [ "(" [ params ] ")" ] "{" { item } "}"
 *      | "schedule" NAME "=" NAME "(" [ args ] ")"
 *      | "stage" NAME "(" [ params ] ")" "{" { item } "}" ; */
decl
    : "import" STRING  { ast_import_add(ps, @$, $2, @2); }
    | NAME '=' expr    { ast_const_add(ps, @$, $1, @1, $3); }
    | "block" NAME '(' params_opt ')' body
                       { ast_block_add(ps, AST_BLOCK, @$, $2, @2, $4, $6); }
    | "net" NAME '(' params_opt ')' body
                       { ast_block_add(ps, AST_NET, @$, $2, @2, $4, $6); }
    | "schedule" NAME '{' items '}'
                       { ast_schedule_add(ps, @$, $2, @2, (ast_param_seq){0}, $4); }
    | "schedule" NAME '(' params_opt ')' '{' items '}'
                       { ast_schedule_add(ps, @$, $2, @2, $4, $7); }
    | "schedule" NAME '=' call
                       { ast_schedule_inst_add(ps, @$, $2, @2, $4); }
    | "stage" NAME '(' params_opt ')' '{' items '}'
                       { ast_stage_def_add(ps, @$, $2, @2, $4, $7); }
    ;
call
    : NAME '(' ')'      { $$ = ast_call_new(ps->arena, @$, $1, (ast_expr_seq){0}); }
    | NAME '(' args ')' { $$ = ast_call_new(ps->arena, @$, $1, $3); }
    ;

/* params = param { "," param } ;  param = NAME [ "=" expr ] ; */
params_opt
    : %empty            { $$ = (ast_param_seq){0}; }
    | params
    ;
params
    : param             { $$ = ast_param_seq_add((ast_param_seq){0}, $1); }
    | params ',' param  { $$ = ast_param_seq_add($1, $3); }
    ;
param
    : NAME              { $$ = ast_param_new(ps->arena, @$, $1, NULL); }
    | NAME '=' expr     { $$ = ast_param_new(ps->arena, @$, $1, $3); }
    ;

/* "{" { stmt } "}" */
body
    : '{' stmts '}'     { $$ = $2; }
    ;
stmts
    : %empty            { $$ = (ast_stmt_seq){0}; }
    | stmts stmt        { $$ = ast_stmt_seq_add($1, $2); }
    | stmts error       { SEG_RECOVER(1); }
    ;

/* stmt = target "=" expr
 *      | "input" NAME ":" expr
 *      | "output" NAME "=" expr
 *      | "return" expr
 *      | "for" NAME "in" expr [ "step" expr ] "{" { stmt } "}"
 *      | "if" expr "{" { stmt } "}" [ "else" ( "{" { stmt } "}" | if-stmt ) ]
 *      | "scope" NAME [ "[" expr "]" ] "{" { stmt } "}" ;
 * target = NAME { "[" expr "]" } ; */
stmt
    : target '=' expr   { $$ = ast_assign_new(ps->arena, @$, $1, $3); }
    | "input" NAME ':' expr
                        { $$ = ast_input_new(ps->arena, @$, $2, @2, $4); }
    | "output" NAME '=' expr
                        { $$ = ast_output_new(ps->arena, @$, $2, @2, $4); }
    | "return" expr     { $$ = ast_return_new(ps->arena, @$, $2); }
    | "for" NAME "in" expr body
                        { $$ = ast_for_new(ps->arena, @$, $2, @2, $4, NULL, $5); }
    /* `step` is a contextual word, so slice(x, ..., step = 2) stays legal */
    | "for" NAME "in" expr NAME expr body
                        { if (strcmp($5, "step") != 0)
                              yyerror(&@5, scanner, ps, "expected 'step' or '{'");
                          $$ = ast_for_new(ps->arena, @$, $2, @2, $4, $6, $7); }
    | if_stmt
    | "scope" NAME body { $$ = ast_scope_new(ps->arena, @$, $2, @2, NULL, $3); }
    | "scope" NAME '[' expr ']' body
                        { $$ = ast_scope_new(ps->arena, @$, $2, @2, $4, $6); }
    ;
if_stmt
    : "if" expr body else_opt
                        { $$ = ast_if_new(ps->arena, @$, $2, $3, $4); }
    ;
else_opt
    : %empty            { $$ = (ast_stmt_seq){0}; }
    | "else" body       { $$ = $2; }
    | "else" if_stmt    { $$ = ast_stmt_seq_add((ast_stmt_seq){0}, $2); }
    ;
target
    : NAME              { $$ = ast_name_new(ps->arena, @$, $1); }
    | target '[' expr ']'
                        { $$ = ast_index1_new(ps->arena, @$, $1, $3); }
    ;

/* item = "stage" NAME "{" { item } "}"
 *      | "stage" NAME "=" NAME "(" [ args ] ")" [ "{" { item } "}" ]
 *      | NAME [ NAME "=" ] expr { "," expr } ; */
items
    : %empty            { $$ = (ast_stmt_seq){0}; }
    | items item        { $$ = ast_stmt_seq_add($1, $2); }
    | items error       { SEG_RECOVER(1); }
    ;
item
    : "stage" NAME '{' items '}'
                        { $$ = ast_stage_new(ps->arena, @$, $2, @2, $4); }
    | "stage" NAME '=' call
                        { $$ = ast_stage_inst_new(ps->arena, @$, $2, @2, $4, (ast_stmt_seq){0}); }
    | "stage" NAME '=' call '{' items '}'
                        { $$ = ast_stage_inst_new(ps->arena, @$, $2, @2, $4, $6); }
    | NAME exprs        { $$ = ast_item_new(ps->arena, @$, $1, NULL, @1, $2); }
    | NAME NAME '=' exprs
                        { $$ = ast_item_new(ps->arena, @$, $1, $2, @2, $4); }
    ;
exprs
    : expr              { $$ = ast_expr_seq_add((ast_expr_seq){0}, $1); }
    | exprs ',' expr    { $$ = ast_expr_seq_add($1, $3); }
    ;

/* expr = or ;  or = and { "or" and } ;  and = not { "and" not } ;
 * not = "not" not | cmp ; */
expr
    : or_expr
    ;
or_expr
    : and_expr
    | or_expr "or" and_expr
                        { $$ = ast_binary_new(ps->arena, @$, AST_OP_OR, $1, $3); }
    ;
and_expr
    : not_expr
    | and_expr "and" not_expr
                        { $$ = ast_binary_new(ps->arena, @$, AST_OP_AND, $1, $3); }
    ;
not_expr
    : cmp_expr
    | "not" not_expr    { $$ = ast_unary_new(ps->arena, @$, AST_OP_NOT, $2); }
    ;

/* cmp = range [ ("==" | "!=" | "<" | "<=" | ">" | ">=") range ] ;
 * range = sum [ ".." sum ] ; */
cmp_expr
    : range_expr
    | range_expr cmp_op range_expr
                        { $$ = ast_binary_new(ps->arena, @$, $2, $1, $3); }
    ;
cmp_op
    : "=="              { $$ = AST_OP_EQ; }
    | "!="              { $$ = AST_OP_NE; }
    | '<'               { $$ = AST_OP_LT; }
    | "<="              { $$ = AST_OP_LE; }
    | '>'               { $$ = AST_OP_GT; }
    | ">="              { $$ = AST_OP_GE; }
    ;
range_expr
    : sum
    | sum ".." sum      { $$ = ast_range_new(ps->arena, @$, $1, $3); }
    ;

/* sum = term { ("+" | "-") term } ;  term = unary { ("*" | "/" | "%") unary } ; */
sum
    : term
    | sum '+' term      { $$ = ast_binary_new(ps->arena, @$, AST_OP_ADD, $1, $3); }
    | sum '-' term      { $$ = ast_binary_new(ps->arena, @$, AST_OP_SUB, $1, $3); }
    ;
term
    : unary
    | term '*' unary    { $$ = ast_binary_new(ps->arena, @$, AST_OP_MUL, $1, $3); }
    | term '/' unary    { $$ = ast_binary_new(ps->arena, @$, AST_OP_DIV, $1, $3); }
    | term '%' unary    { $$ = ast_binary_new(ps->arena, @$, AST_OP_MOD, $1, $3); }
    ;

/* unary = "-" unary | power ;  power = postfix [ "**" unary ] ; */
unary
    : power
    | '-' unary         { $$ = ast_unary_new(ps->arena, @$, AST_OP_NEG, $2); }
    ;
power
    : postfix
    | postfix "**" unary
                        { $$ = ast_binary_new(ps->arena, @$, AST_OP_POW, $1, $3); }
    ;

/* postfix = primary { "[" args "]" | "." NAME | "(" [ args ] ")" } ;
 * A call of a name is a call (NAME "(" [ args ] ")" as before); a call of
 * anything else applies a value, as a net instance at the REPL prompt:
 * unet(levels = 3)(x). */
postfix
    : primary
    | postfix '[' args ']'
                        { $$ = ast_index_new(ps->arena, @$, $1, $3); }
    | postfix '.' NAME  { $$ = ast_member_new(ps->arena, @$, $1, $3); }
    | postfix '(' ')'   { $$ = ast_apply_new(ps->arena, @$, $1, (ast_expr_seq){0}); }
    | postfix '(' args ')'
                        { $$ = ast_apply_new(ps->arena, @$, $1, $3); }
    ;

/* primary = INT | FLOAT | STRING | "true" | "false" | NAME
 *         | "[" [ args ] "]" | "(" expr ")" ; */
primary
    : INT               { $$ = ast_int_new(ps->arena, @$, $1); }
    | FLOAT             { $$ = ast_float_new(ps->arena, @$, $1); }
    | STRING            { $$ = ast_string_new(ps->arena, @$, $1); }
    | "true"            { $$ = ast_bool_new(ps->arena, @$, 1); }
    | "false"           { $$ = ast_bool_new(ps->arena, @$, 0); }
    | NAME              { $$ = ast_name_new(ps->arena, @$, $1); }
    | '[' ']'           { $$ = ast_list_new(ps->arena, @$, (ast_expr_seq){0}); }
    | '[' args ']'      { $$ = ast_list_new(ps->arena, @$, $2); }
    | '(' expr ')'      { $$ = $2; }
    ;

/* args = arg { "," arg } [ "," ] ;  arg = [ NAME "=" ] expr ; */
args
    : arg_list
    | arg_list ','
    ;
arg_list
    : arg               { $$ = ast_expr_seq_add((ast_expr_seq){0}, $1); }
    | arg_list ',' arg  { $$ = ast_expr_seq_add($1, $3); }
    ;
arg
    : expr
    | NAME '=' expr     { $$ = ast_kwarg(@1, $1, $3); }
    ;

%%

/* ------------------------------------------------------------- messages */

/* A token as the user wrote it: 'net', '}', 'foo', '42'. */
static void describe_found(const seg_parser *ps, yysymbol_kind_t t, char *buf, size_t n)
{
    switch (t) {
    case YYSYMBOL_YYEOF:
        snprintf(buf, n, "end of input");
        break;
    case YYSYMBOL_STRING:
        snprintf(buf, n, "string %s", ps->tok_text);
        break;
    case YYSYMBOL_NAME: case YYSYMBOL_INT: case YYSYMBOL_FLOAT:
        snprintf(buf, n, "'%s'", ps->tok_text);
        break;
    default: {
        const char *s = yysymbol_name(t);
        snprintf(buf, n, s[0] == '\'' ? "%s" : "'%s'", s);
    }
    }
}

/* One expected token, or NULL when a group ("an expression") covers it. */
static const char *describe_expected(yysymbol_kind_t t, char *buf, size_t n)
{
    switch (t) {
    case YYSYMBOL_YYEOF: return "end of input";
    case YYSYMBOL_NAME: return "a name";
    case YYSYMBOL_INT: return "an integer";
    case YYSYMBOL_FLOAT: return "a number";
    case YYSYMBOL_STRING: return "a string";
    default: {
        const char *s = yysymbol_name(t);
        snprintf(buf, n, s[0] == '\'' ? "%s" : "'%s'", s);
        return buf;
    }
    }
}

/* Groups of tokens named as one thing in messages. A group is named when
 * its `marker` token is expected (only that group's contexts expect it);
 * its members are then left out of the list. */
enum { G_EXPR = 1, G_DECL = 2, G_STMT = 4, G_ITEM = 8 };

static int group_of(yysymbol_kind_t t)
{
    switch (t) {
    case YYSYMBOL_NAME: return G_EXPR | G_DECL | G_STMT | G_ITEM;
    case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_STRING: case YYSYMBOL_TRUE:
    case YYSYMBOL_FALSE: case YYSYMBOL_NOT:
        return G_EXPR;
    case YYSYMBOL_IMPORT: case YYSYMBOL_BLOCK: case YYSYMBOL_NET: case YYSYMBOL_SCHEDULE:
    case YYSYMBOL_YYEOF:
        return G_DECL;
    case YYSYMBOL_INPUT: case YYSYMBOL_OUTPUT: case YYSYMBOL_RETURN: case YYSYMBOL_FOR:
    case YYSYMBOL_IF: case YYSYMBOL_SCOPE:
        return G_STMT;
    case YYSYMBOL_STAGE: return G_ITEM | G_DECL; /* a stage template at top level */
    default: /* character tokens have no stable kind names */
        return t == YYTRANSLATE('(') || t == YYTRANSLATE('[') || t == YYTRANSLATE('-')
                   ? G_EXPR : 0;
    }
}

static int groups_expected(const yysymbol_kind_t *exp, int n)
{
    int g = 0;
    for (int i = 0; i < n; i++) {
        g |= exp[i] == YYSYMBOL_INT ? G_EXPR : 0;
        g |= exp[i] == YYSYMBOL_IMPORT ? G_DECL : 0;
        g |= exp[i] == YYSYMBOL_INPUT ? G_STMT : 0;
        g |= exp[i] == YYSYMBOL_STAGE ? G_ITEM : 0;
    }
    return g & G_DECL ? g & ~G_ITEM : g; /* top level: `stage` starts a template */
}

/* A closer that closes nothing (the layer repairs those that close an
 * outer bracket) where the innermost ( or [ could be closed: name that
 * closer, as in "expected ']' before ')'". Else 0. */
static int closer_wanted(const seg_parser *ps, yysymbol_kind_t found,
                         const yysymbol_kind_t *exp, int n)
{
    if (ps->depth == 0 || (found != YYTRANSLATE(')') && found != YYTRANSLATE(']') &&
                           found != YYTRANSLATE('}')))
        return 0;
    int open = ps->open[ps->depth - 1];
    if (open == '{')
        return 0; /* a body expects so much that '}' says little */
    int want = open == '(' ? ')' : ']';
    for (int i = 0; i < n; i++)
        if (exp[i] == YYTRANSLATE(want))
            return want;
    return 0;
}

/* A reserved word where a name could stand: `block stage(x)`, `for in in
 * ...`, `f(x, for = 1)`. A keyword that begins a line where a statement or
 * an expression could also start more likely begins the next statement
 * (a forgotten operand before it), so that case keeps the general message. */
static int keyword_as_name(const seg_parser *ps, yysymbol_kind_t found,
                           const yysymbol_kind_t *exp, int n, int groups)
{
    if (found < YYSYMBOL_IMPORT || found > YYSYMBOL_NOT) /* the keywords: one run of %token */
        return 0;
    int name = 0;
    for (int i = 0; i < n; i++)
        name |= exp[i] == YYSYMBOL_NAME;
    return name && (!ps->last_first || !groups);
}

/* "unexpected X, expected A, B or C" / "expected A before X" /
 * "unexpected X". Tokens the layer inserted are never reported: the layer
 * already said what was missing. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, seg_parser *ps)
{
    (void)scanner;
    if (ps->stop || ps->last_synth || ps->reported_serial == ps->serial)
        return 0; /* given up, inserted by the layer, or already reported */
    ps->reported_serial = ps->serial;
    yysymbol_kind_t found = yypcontext_token(ctx);
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    if (n < 0)
        n = 0;
    int groups = groups_expected(exp, n);

    enum { MAX_LIST = 4 };
    const char *list[MAX_LIST + 5];
    char bufs[MAX_LIST + 5][24];
    int k = 0;
    static const struct { int g; const char *name; } names[] = {
        {G_DECL, "a declaration"}, {G_STMT, "a statement"},
        {G_ITEM, "a schedule item"}, {G_EXPR, "an expression"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (groups & names[i].g)
            list[k++] = names[i].name;
    for (int i = 0; i < n && k <= MAX_LIST; i++)
        if (!(group_of(exp[i]) & groups)) {
            list[k] = describe_expected(exp[i], bufs[k], sizeof bufs[k]);
            k++;
        }

    char what[96], msg[256];
    describe_found(ps, found, what, sizeof what);
    int want = closer_wanted(ps, found, exp, n);
    if (keyword_as_name(ps, found, exp, n, groups))
        snprintf(msg, sizeof msg, "%s is a keyword and cannot be used as a name", what);
    else if (want)
        snprintf(msg, sizeof msg, "expected '%c' before %s", want, what);
    else if (k == 1 && !groups && found == YYSYMBOL_YYEOF)
        snprintf(msg, sizeof msg, "expected %s at end of input", list[0]);
    else if (k == 1 && !groups)
        snprintf(msg, sizeof msg, "expected %s before %s", list[0], what);
    else if (k == 0 || k > MAX_LIST)
        snprintf(msg, sizeof msg, "unexpected %s", what);
    else {
        size_t at = (size_t)snprintf(msg, sizeof msg, "unexpected %s, expected ", what);
        for (int i = 0; i < k && at < sizeof msg; i++)
            at += (size_t)snprintf(msg + at, sizeof msg - at, "%s%s",
                                   i == 0 ? "" : i == k - 1 ? " or " : ", ", list[i]);
    }
    seg_parser_error(ps, *yypcontext_location(ctx), "%s", msg);
    if (found == YYSYMBOL_YYEOF)
        ps->eof_errors++;
    return 0;
}

/* Bison calls this only for "memory exhausted": its stack is full. */
static void yyerror(YYLTYPE *loc, yyscan_t scanner, seg_parser *ps, const char *msg)
{
    (void)scanner;
    if (strcmp(msg, "memory exhausted") == 0)
        seg_parser_error(ps, *loc, "nesting too deep");
    else
        seg_parser_error(ps, *loc, "%s", msg);
    ps->stop = 1;
}
