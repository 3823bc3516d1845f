/* test_parse.c — the front end's lexer and parser (lang/lexer.l,
 * lang/parser.y, lang/ast.c): the tree each construct builds (through
 * ast_dump's S-expressions and direct field checks), operator precedence,
 * spans, error messages with their line:col, recovery that reports several
 * errors without cascades, the REPL's "incomplete" signal, and hostile
 * input: garbage, NUL bytes, deep nesting, a 10 MB file. Every test also
 * checks that the parse leaves no allocation behind.
 */
#include "../../lang/parse_internal.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One parse of a text: the tree, its dump, the diagnostics printed. */
typedef struct parsed {
    seg_diag *d;
    ast_file *f;
    seg_parse_status st;
    long live_before;
    char *dump;  /* ast_dump output (libc memory) */
    char *errs;  /* diagnostics output (libc memory) */
} parsed;

static char *capture_dump(const ast_file *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    ast_dump(f, out);
    fclose(out);
    return buf;
}

static parsed parse_n(const char *text, size_t len)
{
    parsed p = {0};
    p.live_before = seg_alloc_live();
    size_t elen = 0;
    FILE *err = open_memstream(&p.errs, &elen);
    p.d = seg_diag_new(err);
    int id = seg_diag_add_file(p.d, "t.seg", text, len);
    p.f = seg_parse_ex(p.d, id, "t.seg", text, len, 0, &p.st);
    fclose(err); /* flushes p.errs; the engine prints nothing after the parse */
    p.dump = capture_dump(p.f);
    return p;
}

static parsed parse(const char *text) { return parse_n(text, strlen(text)); }

static void parsed_free(parsed *p)
{
    ast_file_free(p->f);
    seg_diag_free(p->d);
    CHECK_INT(seg_alloc_live(), p->live_before);
    free(p->dump);
    free(p->errs);
}

/* The dump of one expression: the text after "(const x " without ")\n". */
static const char *expr_dump(const char *expr)
{
    static char out[1024];
    char src[512];
    snprintf(src, sizeof src, "x = %s\n", expr);
    parsed p = parse(src);
    if (p.st.n_errors)
        snprintf(out, sizeof out, "ERROR %s", p.errs);
    else if (strncmp(p.dump, "(const x ", 9) == 0)
        snprintf(out, sizeof out, "%.*s", (int)strlen(p.dump) - 9 - 2, p.dump + 9);
    else
        snprintf(out, sizeof out, "?? %s", p.dump);
    parsed_free(&p);
    return out;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
        n++;
    return n;
}

/* ----------------------------------------------------------- the tree */

TEST(parse_empty_file)
{
    const char *texts[] = {"", "\n\n", "# just a comment", "  \t# c1\n# c2\n\r\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        parsed p = parse(texts[i]);
        CHECK_INT(p.st.n_errors, 0);
        CHECK_INT(p.st.incomplete, 0);
        CHECK(p.f != NULL && p.f->decls == NULL);
        CHECK_STR(p.errs, "");
        parsed_free(&p);
    }
    parsed p = parse_n(NULL, 0);
    CHECK(p.f && p.f->decls == NULL && p.f->file_id == 1);
    CHECK_STR(p.f->path, "t.seg");
    parsed_free(&p);
}

TEST(parse_declarations)
{
    parsed p = parse("import \"std/unet.seg\"\n"
                     "levels = 3\n"
                     "block enc(x, ch = 16) { return x }\n"
                     "net unet() { output y = x }\n"
                     "schedule s { batch 2 }\n");
    CHECK_INT(p.st.n_errors, 0);
    CHECK_STR(p.dump, "(import \"std/unet.seg\")\n"
                      "(const levels 3)\n"
                      "(block enc (params x ch=16) (return x))\n"
                      "(net unet (params) (output y x))\n"
                      "(schedule s (batch 2))\n");
    const ast_decl *d = p.f->decls;
    CHECK_INT(d->kind, AST_IMPORT);
    CHECK_STR(d->name, "std/unet.seg");
    CHECK_INT(d->name_span.col, 8);
    d = d->next;
    CHECK_INT(d->kind, AST_CONST);
    CHECK_INT(d->value->kind, AST_INT);
    CHECK_INT(d->value->ival, 3);
    d = d->next;
    CHECK_INT(d->kind, AST_BLOCK);
    CHECK_STR(d->name, "enc");
    CHECK_INT(d->n_params, 2);
    CHECK_STR(d->params->name, "x");
    CHECK(d->params->def == NULL);
    CHECK_STR(d->params->next->name, "ch");
    CHECK_INT(d->params->next->def->ival, 16);
    CHECK_INT(d->params->next->span.col, 14); /* "ch = 16" */
    CHECK_INT(d->params->next->span.end_col, 20);
    CHECK_INT(d->body->kind, AST_RETURN);
    d = d->next;
    CHECK_INT(d->kind, AST_NET);
    CHECK_INT(d->n_params, 0);
    CHECK(d->params == NULL);
    d = d->next;
    CHECK_INT(d->kind, AST_SCHEDULE);
    CHECK(d->next == NULL);
    parsed_free(&p);
}

TEST(parse_literals)
{
    CHECK_STR(expr_dump("42"), "42");
    CHECK_STR(expr_dump("007"), "7");
    CHECK_STR(expr_dump("9223372036854775807"), "9223372036854775807");
    CHECK_STR(expr_dump("1e-3"), "0.001");
    CHECK_STR(expr_dump("0.5"), "0.5");
    CHECK_STR(expr_dump(".5"), "0.5");
    CHECK_STR(expr_dump("2E+2"), "200");
    CHECK_STR(expr_dump("true"), "true");
    CHECK_STR(expr_dump("false"), "false");
    CHECK_STR(expr_dump("\"a\\\"b\\\\c\\nd\\te\""), "\"a\\\"b\\\\c\\nd\\te\"");
    CHECK_STR(expr_dump("\"\""), "\"\"");
    CHECK_STR(expr_dump("[]"), "(list)");
    CHECK_STR(expr_dump("[1, 2.5, \"s\",]"), "(list 1 2.5 \"s\")");
    CHECK_STR(expr_dump("f()"), "(call f)");
    CHECK_STR(expr_dump("nets_2_x"), "nets_2_x");
    /* keywords are not names, but may start one */
    CHECK_STR(expr_dump("network + ifx + not_"), "(+ (+ network ifx) not_)");

    parsed p = parse("x = \"a\\tb\"\n");
    const ast_expr *e = p.f->decls->value;
    CHECK_INT(e->kind, AST_STRING);
    CHECK_STR(e->sval, "a\tb");
    CHECK_INT(e->span.col, 5);
    CHECK_INT(e->span.end_col, 10);
    parsed_free(&p);
}

TEST(parse_precedence)
{
    CHECK_STR(expr_dump("1 + 2 * 3"), "(+ 1 (* 2 3))");
    CHECK_STR(expr_dump("a - b - c"), "(- (- a b) c)");
    CHECK_STR(expr_dump("a / b % c * d"), "(* (% (/ a b) c) d)");
    CHECK_STR(expr_dump("2 ** 3 ** 2"), "(** 2 (** 3 2))");
    CHECK_STR(expr_dump("-2 ** 2"), "(- (** 2 2))");
    CHECK_STR(expr_dump("2 ** -1"), "(** 2 (- 1))");
    CHECK_STR(expr_dump("- - x"), "(- (- x))");
    CHECK_STR(expr_dump("(1 + 2) * 3"), "(* (+ 1 2) 3)");
    CHECK_STR(expr_dump("a or b and not c == d"), "(or a (and b (not (== c d))))");
    CHECK_STR(expr_dump("not not a"), "(not (not a))");
    CHECK_STR(expr_dump("a < b + 1"), "(< a (+ b 1))");
    CHECK_STR(expr_dump("1..n + 1"), "(.. 1 (+ n 1))");
    CHECK_STR(expr_dump("i == 1..3"), "(== i (.. 1 3))");
    CHECK_STR(expr_dump("a <= b and c >= d or e != f and g > h"),
              "(or (and (<= a b) (>= c d)) (and (!= e f) (> g h)))");
    CHECK_STR(expr_dump("-x[1].y ** 2"), "(- (** (. (index x 1) y) 2))");
    CHECK_STR(expr_dump("f(x)[0][1, 2]"), "(index (index (call f x) 0) 1 2)");
    CHECK_STR(expr_dump("student.mask.size"), "(. (. student mask) size)");
    CHECK_STR(expr_dump("f32[B, 1, 64, 64]"), "(index f32 B 1 64 64)");
    /* comparisons do not chain: the grammar has one optional comparison */
    CHECK(strncmp(expr_dump("a < b < c"), "ERROR", 5) == 0);
    CHECK(strncmp(expr_dump("1..2..3"), "ERROR", 5) == 0);
}

TEST(parse_keyword_arguments)
{
    CHECK_STR(expr_dump("conv(x, 3, k = 3, pad = \"same\",)"),
              "(call conv x 3 k=3 pad=\"same\")");
    CHECK_STR(expr_dump("[a = 1, 2]"), "(list a=1 2)");
    CHECK_STR(expr_dump("x[axis = 1]"), "(index x axis=1)");
    parsed p = parse("y = conv(x, k = 1 + 2)\n");
    const ast_expr *call = p.f->decls->value;
    CHECK_INT(call->kind, AST_CALL);
    CHECK_STR(call->sval, "conv");
    CHECK_INT(call->n_args, 2);
    CHECK(call->args->kw == NULL);
    const ast_expr *k = call->args->next;
    CHECK_STR(k->kw, "k");
    CHECK_INT(k->kind, AST_BINARY);
    CHECK_INT(k->op, AST_OP_ADD);
    CHECK_INT(k->kw_span.col, 13); /* the keyword "k" */
    CHECK_INT(k->kw_span.end_col, 13);
    CHECK_INT(k->span.col, 17); /* the value alone, so errors about it point at it */
    CHECK_INT(k->span.end_col, 21);
    CHECK(k->next == NULL);
    CHECK_INT(call->span.col, 5);
    CHECK_INT(call->span.end_col, 22);
    parsed_free(&p);
}

TEST(parse_ranges_and_for)
{
    parsed p = parse("net n() {\n"
                     "  for i in 3..1 step -1 { a = i }\n"
                     "  for j in [1, 2] { }\n"
                     "  freeze = level[1..2]\n"
                     "}\n");
    CHECK_INT(p.st.n_errors, 0);
    CHECK_STR(p.dump, "(net n (params)"
                      " (for i (.. 3 1) (step (- 1)) (= a i))"
                      " (for j (list 1 2))"
                      " (= freeze (index level (.. 1 2))))\n");
    const ast_stmt *f = p.f->decls->body;
    CHECK_INT(f->kind, AST_FOR);
    CHECK_STR(f->name, "i");
    CHECK_INT(f->name_span.line, 2);
    CHECK_INT(f->name_span.col, 7);
    CHECK_INT(f->value->kind, AST_RANGE);
    CHECK_INT(f->value->lhs->ival, 3);
    CHECK_INT(f->value->rhs->ival, 1);
    CHECK_INT(f->step->kind, AST_UNARY);
    CHECK_INT(f->step->op, AST_OP_NEG);
    CHECK_INT(f->body->kind, AST_ASSIGN);
    CHECK(f->next->step == NULL);
    CHECK(f->next->body == NULL);
    parsed_free(&p);
}

TEST(parse_statements)
{
    parsed p = parse("net unet(levels = 4, base = 16) {\n"
                     "    input x : f32[B, 1, 64, 64]\n"
                     "    e[i][j] = x\n"
                     "    scope level[i] { h = enc(h) }\n"
                     "    scope head { }\n"
                     "    if a { b = 1 } else if c { b = 2 } else { b = 3 }\n"
                     "    if d { }\n"
                     "    output mask = sigmoid(h)\n"
                     "    return h\n"
                     "}\n");
    CHECK_INT(p.st.n_errors, 0);
    CHECK_STR(p.dump,
              "(net unet (params levels=4 base=16)"
              " (input x (index f32 B 1 64 64))"
              " (= (index (index e i) j) x)"
              " (scope level (index i) (= h (call enc h)))"
              " (scope head)"
              " (if a (then (= b 1)) (else (if c (then (= b 2)) (else (= b 3)))))"
              " (if d (then))"
              " (output mask (call sigmoid h))"
              " (return h))\n");
    const ast_stmt *s = p.f->decls->body;
    CHECK_INT(s->kind, AST_INPUT);
    CHECK_STR(s->name, "x");
    CHECK_INT(s->span.line, 2);
    CHECK_INT(s->span.col, 5);
    CHECK_INT(s->span.end_col, 31);
    s = s->next;
    CHECK_INT(s->kind, AST_ASSIGN);
    CHECK_INT(s->target->kind, AST_INDEX);
    CHECK_INT(s->target->n_args, 1);
    CHECK_INT(s->target->lhs->kind, AST_INDEX);
    CHECK_STR(s->target->lhs->lhs->sval, "e");
    s = s->next;
    CHECK_INT(s->kind, AST_SCOPE);
    CHECK_STR(s->name, "level");
    CHECK_INT(s->step->kind, AST_NAME);
    s = s->next->next;
    CHECK_INT(s->kind, AST_IF);
    CHECK_INT(s->orelse->kind, AST_IF); /* else if: one AST_IF */
    CHECK(s->orelse->next == NULL);
    CHECK_INT(s->orelse->orelse->kind, AST_ASSIGN); /* else { }: its body */
    CHECK_INT(s->span.end_line, 6);
    CHECK_INT(s->span.end_col, 53);
    CHECK(s->next->orelse == NULL);
    s = s->next->next;
    CHECK_INT(s->kind, AST_OUTPUT);
    CHECK_INT(s->name_span.col, 12);
    CHECK_INT(s->next->kind, AST_RETURN);
    parsed_free(&p);
}

TEST(parse_schedule_items)
{
    parsed p = parse("schedule boosting {\n"
                     "    data train = synthetic(\"lesions3d\", cases = 48, seed = 1)\n"
                     "    preprocess clip(-100, 240), minmax()\n"
                     "    batch 2\n"
                     "    stage grow1 {\n"
                     "        model student = unet(levels = 3)\n"
                     "        freeze trained(grow0), level[1..2], \"teacher.*\"\n"
                     "        until plateau(dice(val), patience = 5) or epochs(60)\n"
                     "    }\n"
                     "}\n");
    CHECK_INT(p.st.n_errors, 0);
    CHECK_STR(p.dump,
              "(schedule boosting"
              " (data train = (call synthetic \"lesions3d\" cases=48 seed=1))"
              " (preprocess (call clip (- 100) 240) (call minmax))"
              " (batch 2)"
              " (stage grow1"
              " (model student = (call unet levels=3))"
              " (freeze (call trained grow0) (index level (.. 1 2)) \"teacher.*\")"
              " (until (or (call plateau (call dice val) patience=5) (call epochs 60)))))\n");
    const ast_stmt *it = p.f->decls->body;
    CHECK_INT(it->kind, AST_ITEM);
    CHECK_STR(it->keyword, "data");
    CHECK_STR(it->name, "train");
    CHECK_INT(it->name_span.col, 10);
    CHECK_INT(it->n_args, 1);
    it = it->next;
    CHECK_STR(it->keyword, "preprocess");
    CHECK(it->name == NULL);
    CHECK_INT(it->name_span.col, 5); /* no binding: the keyword's span */
    CHECK_INT(it->n_args, 2);
    CHECK_INT(it->args->next->kind, AST_CALL);
    const ast_stmt *st = it->next->next;
    CHECK_INT(st->kind, AST_STAGE);
    CHECK_STR(st->name, "grow1");
    CHECK_INT(st->body->kind, AST_ITEM);
    CHECK_STR(st->body->next->keyword, "freeze");
    CHECK_INT(st->body->next->n_args, 3);
    parsed_free(&p);
}

TEST(parse_newlines_are_whitespace)
{
    parsed p = parse("x =\n  1 +\n  2\ny = f(\n a,\n b\n)\nnet n(\n) { a = 1 b = 2 return\n a }");
    CHECK_INT(p.st.n_errors, 0);
    CHECK_STR(p.dump, "(const x (+ 1 2))\n(const y (call f a b))\n"
                      "(net n (params) (= a 1) (= b 2) (return a))\n");
    parsed_free(&p);
}

/* --------------------------------------------------------------- errors */

TEST(parse_error_expected_expression)
{
    parsed p = parse("net a() {\n    x = conv(* 2, 3)\n}\n");
    CHECK_INT(p.st.n_errors, 1);
    CHECK_STR(p.errs, "t.seg:2:14: error: unexpected '*', expected an expression or ')'\n"
                      "    x = conv(* 2, 3)\n"
                      "             ^\n");
    CHECK_STR(p.dump, "(net a (params))\n");
    parsed_free(&p);
}

/* A keyword inside a line, where a name could stand, is called a keyword. */
TEST(parse_error_keyword_as_name)
{
    parsed p = parse("net a() {\n    x = conv(output, 3)\n}\n");
    CHECK_INT(p.st.n_errors, 1);
    CHECK_STR(p.errs, "t.seg:2:14: error: 'output' is a keyword and cannot be used as a name\n"
                      "    x = conv(output, 3)\n"
                      "             ^~~~~~\n");
    CHECK_STR(p.dump, "(net a (params))\n");
    parsed_free(&p);
}

TEST(parse_error_missing_brace_before_net)
{
    parsed p = parse("net a() {\n    x = 1\n\nnet b() {\n    y = 2\n}\n");
    CHECK_INT(p.st.n_errors, 1);
    CHECK_STR(p.errs, "t.seg:4:1: error: expected '}' before 'net'\n"
                      "net b() {\n"
                      "^~~\n");
    CHECK_STR(p.dump, "(net a (params) (= x 1))\n(net b (params) (= y 2))\n");
    CHECK_INT(p.st.incomplete, 0);
    parsed_free(&p);
}

TEST(parse_error_messages)
{
    static const struct { const char *src, *msg; } cases[] = {
        {"net a() { input x f32 }", "1:19: error: expected ':' before 'f32'"},
        {"net a() { output y conv(x) }", "1:20: error: expected '=' before 'conv'"},
        {"block c(x) { return }", "1:21: error: unexpected '}', expected an expression"},
        {"net (x) { }", "1:5: error: expected a name before '('"},
        {"net d() { for i 1..3 { } }", "1:17: error: expected 'in' before '1'"},
        {"net e() { if x { } else y = 1 }",
         "1:25: error: unexpected 'y', expected 'if' or '{'"},
        {"import foo", "1:8: error: expected a string before 'foo'"},
        {"net f() { x = [1, 2 }", "1:21: error: expected ']' before '}'"},
        {"net f() { x = [1, 2) }", "1:20: error: expected ']' before ')'"},
        {"block c(x y) { }", "1:11: error: unexpected 'y', expected '=', ')' or ','"},
        {"42", "1:1: error: unexpected '42', expected a declaration"},
        {"net a() { 42 }", "1:11: error: unexpected '42', expected a statement or '}'"},
        {"schedule s { 42 }",
         "1:14: error: unexpected '42', expected a schedule item or '}'"},
        {"x = \"s\" \"t\"", "1:9: error: unexpected string \"t\""},
        {"}", "1:1: error: unexpected '}', expected a declaration"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parsed p = parse(cases[i].src);
        CHECK_INT(p.st.n_errors, 1);
        char want[256];
        snprintf(want, sizeof want, "t.seg:%s\n", cases[i].msg);
        if (strncmp(p.errs, want, strlen(want)) != 0)
            test_fail_at(__FILE__, __LINE__, "%s: got %s", cases[i].src, p.errs);
        parsed_free(&p);
    }
}

TEST(parse_several_errors_one_each)
{
    parsed p = parse("net a() {\n"                        /* 1 */
                     "    x = conv(h, * 2)\n"             /* 2: the only mistake here */
                     "    y = conv(x b c, k = 3, s = 2)\n" /* 3 */
                     "    z = 2\n"                        /* 4: fine */
                     "}\n"                                /* 5 */
                     "block b(x y) {\n"                   /* 6: header error */
                     "    q = 1\n"
                     "    return q\n"
                     "}\n"
                     "k = 3 4\n"                          /* 10 */
                     "schedule s {\n"
                     "    data = 3\n"                     /* 12 */
                     "    stage x ( model m )\n"          /* 13: right after the last */
                     "    batch 2\n"
                     "}\n"
                     "ok = 1\n");
    CHECK_INT(p.st.n_errors, 6);
    CHECK_INT(count_of(p.errs, "error:"), 6);
    CHECK(strstr(p.errs, "t.seg:2:17: error: unexpected '*', expected an expression or ')'\n"));
    CHECK(strstr(p.errs, "t.seg:3:16: error: unexpected 'b'\n"));
    CHECK(strstr(p.errs, "t.seg:6:11: error: unexpected 'y', expected '=', ')' or ','\n"));
    CHECK(strstr(p.errs, "t.seg:10:7: error: unexpected '4'\n"));
    CHECK(strstr(p.errs, "t.seg:12:10: error: unexpected '=', expected an expression\n"));
    CHECK(strstr(p.errs, "t.seg:13:13: error: unexpected '(', expected '=' or '{'\n"));
    /* what parsed survives */
    CHECK_STR(p.dump, "(net a (params) (= z 2))\n(schedule s (batch 2))\n(const ok 1)\n");
    CHECK_INT(p.st.incomplete, 0);
    parsed_free(&p);
}

TEST(parse_lexical_errors)
{
    parsed p = parse("a = 1 $ 2\n"
                     "b = \"x\\q\"\n"
                     "c = \"open\n"
                     "d = 12ab + 0x1F + 1e\n"
                     "e = 99999999999999999999 + 1e999\n"
                     "f = \xc3\xa9 + '\\x'\n"
                     "g = 1 ! 2\n"
                     "h = 5\n");
    CHECK(strstr(p.errs, "t.seg:1:7: error: unexpected character '$'\n"));
    CHECK(strstr(p.errs, "t.seg:2:7: error: unknown escape sequence '\\q'\n"));
    CHECK(strstr(p.errs, "t.seg:3:5: error: unterminated string\n"));
    CHECK(strstr(p.errs, "t.seg:4:5: error: invalid number '12ab'\n"));
    CHECK(strstr(p.errs, "t.seg:4:12: error: invalid number '0x1F'\n"));
    CHECK(strstr(p.errs, "t.seg:4:19: error: invalid number '1e'\n"));
    CHECK(strstr(p.errs, "t.seg:5:5: error: integer literal '99999999999999999999' is too large\n"));
    CHECK(strstr(p.errs, "t.seg:5:28: error: number '1e999' is out of range\n"));
    CHECK(strstr(p.errs, "t.seg:6:5: error: unexpected character '\\xC3\\xA9'\n"));
    CHECK(strstr(p.errs, "t.seg:6:10: error: unexpected character '\\''\n")); /* '\ */
    CHECK(strstr(p.errs, "t.seg:6:13: error: unexpected character '\\''\n"));
    CHECK(strstr(p.errs, "t.seg:7:7: error: unexpected character '!'\n"));
    CHECK_INT(p.st.n_errors, count_of(p.errs, "error:"));
    /* the value-level errors keep their declarations; the stray characters
     * cost theirs; the last line is untouched */
    CHECK(strstr(p.dump, "(const b \"xq\")\n"));
    CHECK(strstr(p.dump, "(const c \"open\")\n"));
    CHECK(strstr(p.dump, "(const d (+ (+ 0 0) 0))\n"));
    CHECK(strstr(p.dump, "(const h 5)\n"));
    CHECK(!strstr(p.dump, "(const a"));
    parsed_free(&p);
}

TEST(parse_nul_bytes)
{
    static const char text[] = "x = 1\0\ny = \"a\0b\"\nz\0 = 3\nw = 4\n";
    parsed p = parse_n(text, sizeof text - 1);
    CHECK(strstr(p.errs, "t.seg:1:6: error: unexpected character '\\x00'\n"));
    CHECK(strstr(p.errs, "t.seg:2:7: error: NUL byte in string\n"));
    CHECK(strstr(p.errs, "t.seg:3:2: error: unexpected character '\\x00'\n"));
    CHECK(strstr(p.dump, "(const w 4)\n"));
    parsed_free(&p);
}

TEST(parse_garbage_input)
{
    /* random bytes, printable-heavy noise, and token salad: no crash, errors
     * reported, at most 20 printed, the parse stops early */
    size_t n = 1 << 20;
    char *text = malloc(n);
    uint32_t s = 12345;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < n; i++) {
            s = s * 1664525u + 1013904223u;
            unsigned b = s >> 24;
            text[i] = round == 0 ? (char)b
                      : round == 1 ? (b % 96 == 95 ? '\n' : (char)(32 + b % 96))
                                   : "({[]})=,.:+-* \nanet"[b % 20];
        }
        parsed p = parse_n(text, n);
        CHECK(p.st.n_errors > 0);
        CHECK(count_of(p.errs, "error:") <= 20);
        CHECK(strstr(p.errs, "too many errors, stopping\n") != NULL);
        parsed_free(&p);
    }
    free(text);
}

TEST(parse_token_salad_terminates)
{
    /* short random token sequences, many of them: each parse must end with
     * a consistent error count and leave nothing allocated */
    static const char *const words[] = {
        "import", "block", "net", "schedule", "stage", "input", "output", "return",
        "for", "in", "step", "if", "else", "scope", "true", "false", "and", "or", "not",
        "**", "==", "!=", "<=", ">=", "..", "=", "(", ")", "[", "]", "{", "}", ",", ":",
        "+", "-", "*", "/", "%", "<", ">", ".", "x", "f", "1", "2.5", "\"s\"", "\n",
        "$", "\"open", "1e", "#c\n"};
    uint32_t s = 99;
    char text[4096];
    for (int it = 0; it < 3000; it++) {
        size_t n = 0;
        s = s * 1664525u + 1013904223u;
        int len = (int)(s >> 24) % 120;
        for (int i = 0; i < len; i++) {
            s = s * 1664525u + 1013904223u;
            const char *w = words[(s >> 16) % (sizeof words / sizeof words[0])];
            n += (size_t)snprintf(text + n, sizeof text - n, "%s ", w);
        }
        parsed p = parse_n(text, n);
        CHECK_INT(p.st.n_errors, seg_diag_error_count(p.d));
        parsed_free(&p);
    }
}

/* --------------------------------------------------------------- limits */

static char *repeat3(const char *pre, const char *mid, int n, const char *post)
{
    size_t lp = strlen(pre), lm = strlen(mid), lq = strlen(post);
    char *t = malloc(lp + lm * (size_t)n + lq + 1);
    memcpy(t, pre, lp);
    for (int i = 0; i < n; i++)
        memcpy(t + lp + lm * (size_t)i, mid, lm);
    memcpy(t + lp + lm * (size_t)n, post, lq + 1);
    return t;
}

TEST(parse_deep_nesting)
{
    /* 10000 parentheses or brackets: one located error, no crash */
    const char *opens[] = {"(", "[", "f("};
    for (int k = 0; k < 3; k++) {
        char *t = repeat3("x = ", opens[k], 10000, "1");
        parsed p = parse(t);
        CHECK_INT(p.st.n_errors, 1);
        CHECK(strstr(p.errs, "error: nesting too deep") != NULL);
        CHECK_INT(p.st.incomplete, 0);
        parsed_free(&p);
        free(t);
    }
    /* nested statement bodies */
    char *t = repeat3("net n() {", "if a {", 5000, "");
    parsed p = parse(t);
    CHECK_INT(p.st.n_errors, 1);
    CHECK(strstr(p.errs, "t.seg:1:1209: error: nesting too deep") != NULL);
    parsed_free(&p);
    free(t);
    /* chains no bracket counts: bison's stack or the tree depth limit */
    const char *chains[][2] = {{"not ", "1"}, {"- ", "1"}, {"1 ** ", "1"},
                               {"1 + ", "1"}, {"a.", "b"}};
    for (int k = 0; k < 5; k++) {
        t = repeat3("x = ", chains[k][0], 20000, chains[k][1]);
        char *full = repeat3(t, "", 0, "\ny = 2\n");
        p = parse(full);
        CHECK_INT(p.st.n_errors, 1);
        CHECK(strstr(p.errs, "error: nesting too deep") != NULL);
        parsed_free(&p);
        free(full);
        free(t);
    }
}

TEST(parse_nesting_at_the_limit)
{
    char *open = repeat3("x = ", "(", SEG_MAX_NESTING, "1");
    char *t = repeat3(open, ")", SEG_MAX_NESTING, "\n");
    parsed p = parse(t);
    CHECK_INT(p.st.n_errors, 0);
    CHECK_STR(p.dump, "(const x 1)\n");
    parsed_free(&p);
    free(t);
    free(open);
    /* a long flat chain within the tree limit is fine */
    t = repeat3("x = 0", " + 1", SEG_MAX_TREE_DEPTH - 2, "\n");
    p = parse(t);
    CHECK_INT(p.st.n_errors, 0);
    parsed_free(&p);
    free(t);
}

TEST(parse_big_file)
{
    static const char unit[] =
        "block enc%d(x, ch = 16) {\n"
        "    h = relu(batchnorm(conv(x, ch, k = 3, pad = \"same\")))\n"
        "    for i in 1..3 step 1 { scope level[i] { h = conv(h, ch * 2 ** i) } }\n"
        "    return maxpool(h, 2)\n"
        "}\n"
        "net n%d(levels = 4) {\n"
        "    input x : f32[B, 1, 64, 64]  # a comment\n"
        "    if levels > 3 and not false { h = -x } else { h = x + 1.5e-3 }\n"
        "    output mask = sigmoid(enc%d(h)[0, 1..2].feat)\n"
        "}\n";
    size_t cap = 10u << 20, n = 0;
    char *text = malloc(cap + 1024);
    int units = 0;
    while (n < cap) {
        n += (size_t)snprintf(text + n, 1024, unit, units, units, units);
        units++;
    }
    clock_t t0 = clock();
    parsed p = parse_n(text, n);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK_INT(p.st.n_errors, 0);
    int decls = 0;
    for (const ast_decl *d = p.f->decls; d; d = d->next)
        decls++;
    CHECK_INT(decls, 2 * units);
    CHECK(secs < 20); /* about 0.5 s in an optimised build */
    parsed_free(&p);
    free(text);
}

/* ------------------------------------------------------------------ REPL */

TEST(parse_incomplete_input)
{
    static const struct { const char *src; int incomplete; } cases[] = {
        {"net a() {", 1},
        {"net a() {\n  for i in 1..3 {\n    x = f(1,", 1},
        {"x = 1 +", 1},
        {"x = [1, 2", 1},
        {"schedule s { stage a { model m", 1},
        {"net a", 1},
        {"x = 1 +)", 0},        /* wrong, not unfinished */
        {"x = $ 1 +", 0},       /* an earlier error */
        {"net a() { x = 1 }", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parsed p = parse(cases[i].src);
        if (p.st.incomplete != cases[i].incomplete)
            test_fail_at(__FILE__, __LINE__, "'%s': incomplete %d, want %d (%s)",
                         cases[i].src, p.st.incomplete, cases[i].incomplete, p.errs);
        if (cases[i].incomplete)
            CHECK(strstr(p.errs, "end of input") != NULL);
        parsed_free(&p);
    }
    parsed p = parse("net a() {\n  x = 1\n");
    CHECK_STR(p.errs, "t.seg:2:8: error: expected '}' at end of input\n"
                      "  x = 1\n"
                      "       ^\n");
    CHECK_STR(p.dump, "(net a (params) (= x 1))\n");
    parsed_free(&p);
}

TEST(parse_diag_shared_across_files)
{
    /* two files in one engine: spans carry the right file id */
    long live = seg_alloc_live();
    seg_diag *d = seg_diag_new(NULL);
    const char *a = "x = 1\n", *b = "\n\ny = 2\n";
    int ia = seg_diag_add_file(d, "a.seg", a, strlen(a));
    int ib = seg_diag_add_file(d, "b.seg", b, strlen(b));
    ast_file *fa = seg_parse(d, ia, "a.seg", a, strlen(a));
    ast_file *fb = seg_parse(d, ib, "b.seg", b, strlen(b));
    CHECK_INT(fa->decls->span.file, ia);
    CHECK_INT(fb->decls->span.file, ib);
    CHECK_INT(fb->decls->value->span.file, ib);
    CHECK_INT(fb->decls->span.line, 3);
    CHECK_STR(fb->path, "b.seg");
    ast_file_free(fa);
    ast_file_free(fb);
    seg_diag_free(d);
    CHECK_INT(seg_alloc_live(), live);
}
