/* test_repl.c — the front end's REPL entry points (lang/repl.c,
 * lang/netinst.c): inputs parsed in REPL mode with their items and the
 * incomplete/wrong distinction, a session loaded from definition chunks
 * with line numbers of their own, evaluation against session values
 * through a host (tensors as graph inputs, net instances applied, values
 * classified), :type's descriptions and :set's schedule edits. Every test
 * checks that nothing leaks through the allocation funnel.
 */
#include "../../lang/lang.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- parse */

typedef struct parsed {
    seg_diag *d;
    seg_input *in;
    int incomplete;
    char *errs;
    size_t len;
    FILE *mem;
} parsed;

static void parse_at(parsed *p, const char *text, int line)
{
    memset(p, 0, sizeof *p);
    p->mem = open_memstream(&p->errs, &p->len);
    p->d = seg_diag_new(p->mem);
    int id = seg_diag_add_file_at(p->d, "<repl>", text, strlen(text), line);
    p->in = seg_input_parse(p->d, id, text, strlen(text), 1, &p->incomplete);
    fflush(p->mem);
}

static void parsed_free(parsed *p)
{
    seg_input_free(p->in);
    seg_diag_free(p->d);
    fclose(p->mem);
    free(p->errs);
}

TEST(repl_parse_items)
{
    long live = seg_alloc_live();
    parsed p;
    const char *text = "n = 3\nnet a() {\n  input x : f32[1]\n  output y = x\n}\nimport \"std/nn\"";
    parse_at(&p, text, 10);
    CHECK(p.in != NULL);
    const seg_item *it;
    int n = seg_input_items(p.in, &it);
    CHECK_INT(n, 3);
    CHECK_INT(it[0].kind, SEG_ITEM_CONST);
    CHECK_STR(it[0].name, "n");
    CHECK_INT(it[0].line, 10);
    CHECK_INT(it[1].kind, SEG_ITEM_NET);
    CHECK_INT(it[1].line, 11);
    CHECK(!strncmp(text + it[1].begin, "net a() {", 9));
    CHECK_INT((int)it[1].end, (int)(strstr(text, "}") - text + 1));
    CHECK_INT(it[2].kind, SEG_ITEM_IMPORT);
    CHECK_STR(it[2].name, "std/nn");
    parsed_free(&p);
    parse_at(&p, "relu(x)(y) + f(1)[0]", 1);
    n = seg_input_items(p.in, &it);
    CHECK_INT(n, 1);
    CHECK_INT(it[0].kind, SEG_ITEM_EXPR);
    parsed_free(&p);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(repl_parse_incomplete_or_wrong)
{
    static const struct { const char *src; int incomplete; } cases[] = {
        {"x = [1,", 1}, {"net a() {", 1}, {"f(1, 2", 1}, {"x = 1 +", 1}, {"net", 1},
        {"x = 1 +)", 0}, {"x = (1 + ]", 0}, {"s = \"abc", 0}, {"x y", 0}, {"1 + 2", 0},
    };
    long live = seg_alloc_live();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parsed p;
        parse_at(&p, cases[i].src, 1);
        if (p.incomplete != cases[i].incomplete)
            test_fail_at(__FILE__, __LINE__, "'%s': incomplete %d, want %d (%s)", cases[i].src,
                         p.incomplete, cases[i].incomplete, p.errs ? p.errs : "");
        parsed_free(&p);
    }
    parsed p;
    parse_at(&p, "y = relu(\n  x +)", 7); /* messages carry session line numbers */
    CHECK(strstr(p.errs, "<repl>:8:6: error: unexpected ')'") != NULL);
    CHECK(strstr(p.errs, "  x +)\n") != NULL);
    parsed_free(&p);
    CHECK_INT(seg_alloc_live(), live);
}

/* ------------------------------------------------------------- session */

/* The host: one tensor "x" f32[2, 1, 4, 4]. */
static int host_lookup(void *user, const char *name, rt_type *t, const char *const **f, int *n)
{
    (void)user, (void)f, (void)n;
    if (strcmp(name, "x") != 0)
        return 0;
    *t = (rt_type){.dtype = RT_F32, .rank = 4, .dim = {2, 1, 4, 4}};
    return 1;
}

static const seg_chunk session[] = {
    {"<repl>", "block cbr(x, ch) { return relu(conv(x, ch, k = 3, pad = 1)) }", 3},
    {"<repl>", "net small(ch = 2) {\n  input image : f32[B, 1, 4, 4]\n  output out = cbr(image, ch)\n}", 5},
    {"<repl>", "m = small(ch = 3)", 9},
    {"<repl>", "schedule s {\n  data train = synthetic(\"lesions2d\", cases = 2, size = [8, 8])\n"
               "  stage a {\n    model small()\n    loss mean(out)\n  }\n}", 12},
};

typedef struct sess {
    seg_diag *d;
    seg_program *p;
    char *errs;
    size_t len;
    FILE *mem;
} sess;

static void sess_open(sess *s, int n)
{
    memset(s, 0, sizeof *s);
    s->mem = open_memstream(&s->errs, &s->len);
    s->d = seg_diag_new(s->mem);
    s->p = seg_load_session(session, n, s->d);
}

static void sess_free(sess *s)
{
    seg_program_free(s->p);
    seg_diag_free(s->d);
    fclose(s->mem);
    free(s->errs);
}

/* Evaluate text as a REPL input in s's program. */
static int eval(sess *s, const char *text, seg_result *r)
{
    seg_repl_host h = {NULL, host_lookup, NULL, NULL};
    int id = seg_diag_add_file_at(s->d, "<repl>", text, strlen(text), 20);
    seg_input *in = seg_input_parse(s->d, id, text, strlen(text), 1, NULL);
    int rc = in ? seg_repl_eval(s->p, in, 0, &h, r) : (memset(r, 0, sizeof *r), -1);
    seg_input_free(in);
    fflush(s->mem);
    return rc;
}

TEST(repl_session_eval)
{
    long live = seg_alloc_live();
    sess s;
    sess_open(&s, 4);
    CHECK(s.p != NULL);
    seg_result r;
    CHECK_INT(eval(&s, "shape(x)[0] + 1", &r), 0); /* a value, read from a tensor */
    CHECK_INT(r.kind, SEG_RESULT_VALUE);
    CHECK_STR(r.text, "3");
    CHECK_INT(r.reads_session, 1);
    seg_result_free(&r);
    CHECK_INT(eval(&s, "small()(x)", &r), 0); /* a net applied: x is the graph's input */
    CHECK_INT(r.kind, SEG_RESULT_TENSOR);
    ir_id in = ir_find_input(r.graph, "x");
    CHECK(in >= 0);
    ir_id out = ir_find_output(r.graph, "value");
    CHECK_INT((int)r.graph->nodes[out].type.dim[1], 2);
    CHECK_INT((int)r.graph->nodes[out].type.dim[0], 2); /* B from the argument */
    CHECK_INT(r.graph->nodes[ir_find_output(r.graph, "value")].type.rank, 4);
    int named = 0;
    for (int i = 0; i < r.graph->n_nodes; i++)
        named |= r.graph->nodes[i].op == OP_PARAM &&
                 !strcmp(r.graph->nodes[i].name, "cbr.conv0.weight");
    CHECK(named);
    seg_result_free(&r);
    CHECK_INT(eval(&s, "m(image = x)", &r), 0); /* a bound instance names its parameters */
    named = 0;
    for (int i = 0; i < r.graph->n_nodes; i++)
        named |= r.graph->nodes[i].op == OP_PARAM &&
                 !strcmp(r.graph->nodes[i].name, "m.cbr.conv0.weight");
    CHECK(named);
    seg_result_free(&r);
    CHECK_INT(eval(&s, "m", &r), 0);
    CHECK_STR(r.kind_name, "net instance");
    CHECK_STR(r.text, "small(ch = 3)");
    seg_result_free(&r);
    CHECK(eval(&s, "small()(uniform([1, 1, 5, 5]))", &r) != 0);
    CHECK(strstr(s.errs, "<repl>:20:9: error: input 'image' of net 'small' is f32[1, 1, 4, 4], "
                         "but this tensor is f32[1, 1, 5, 5]") != NULL);
    CHECK(strstr(s.errs, "<repl>:6:3: note: 'image' is declared here") != NULL);
    seg_result_free(&r);
    sess_free(&s);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(repl_session_describe_and_edit)
{
    long live = seg_alloc_live();
    sess s;
    sess_open(&s, 4);
    char *d = seg_program_describe(s.p, "small");
    CHECK_STR(d, "net small(ch = 2)\n  input image : f32[B, 1, 4, 4]\n  outputs: out");
    seg_free(d);
    d = seg_program_describe(s.p, "s");
    CHECK_STR(d, "schedule s (stages a)");
    seg_free(d);
    CHECK(seg_program_describe(s.p, "nothing") == NULL);
    char err[128];
    char *t = seg_schedule_edit(session[3].text, "a", "loss", "sum(out)", err, sizeof err);
    CHECK(t && strstr(t, "    loss sum(out)\n") && !strstr(t, "mean(out)"));
    seg_free(t);
    t = seg_schedule_edit(session[3].text, "a", "freeze", "\"cbr.*\"", err, sizeof err);
    CHECK(t && strstr(t, "    loss mean(out)\n        freeze \"cbr.*\"\n  }"));
    char *u = seg_schedule_edit(t, "a", "freeze", NULL, err, sizeof err);
    CHECK_STR(u, session[3].text);
    seg_free(t);
    seg_free(u);
    CHECK(seg_schedule_edit(session[3].text, "b", "loss", "x", err, sizeof err) == NULL);
    CHECK_STR(err, "no such stage");
    sess_free(&s);
    CHECK_INT(seg_alloc_live(), live);
}

TEST(repl_session_errors_located)
{
    long live = seg_alloc_live();
    seg_chunk bad[] = {{"<repl>", "net n() {\n  input i : f32[1]\n  output o = relu(j)\n}", 40}};
    sess s;
    memset(&s, 0, sizeof s);
    s.mem = open_memstream(&s.errs, &s.len);
    s.d = seg_diag_new(s.mem);
    s.p = seg_load_session(bad, 1, s.d);
    fflush(s.mem);
    CHECK(s.p == NULL);
    CHECK(strstr(s.errs, "<repl>:42:19: error: unknown name 'j'") != NULL);
    sess_free(&s);
    sess_open(&s, 0); /* an empty session is a program */
    CHECK(s.p != NULL);
    sess_free(&s);
    CHECK_INT(seg_alloc_live(), live);
}
