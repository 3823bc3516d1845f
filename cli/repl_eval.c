/* repl_eval.c — one Seg input at the prompt: what it defines, what it
 * computes, and what is printed.
 *
 *   net/block/schedule/import   a definition (repl_define): "defined net unet"
 *   NAME = expr                 evaluated: a tensor (or a net's outputs) is
 *                               computed now and bound to NAME; a compile-time
 *                               value becomes the constant NAME, kept by its
 *                               text (rebuilt with what it uses) or, when it
 *                               was computed from session tensors or from its
 *                               own old value, by its value
 *   expr                        evaluated and shown; a tensor is kept as `_`
 *
 * An input of several declarations (a pasted program) is defined in one
 * go, so its parts may use each other in any order. Its assignments are
 * first tried quietly: those that make compile-time values join the
 * definitions; the others (tensors, or errors that may have been about a
 * definition of the same input) are evaluated, loudly, once the
 * definitions are in. A reload replaces the diag engine, so the input is
 * registered and parsed again for that second round.
 *
 * A name is a definition or a value: binding a tensor to the name of a
 * constant removes the constant (a net, block or schedule keeps its name:
 * that is an error), and defining a name drops the value it had.
 */
#include "repl.h"

#include <string.h>

/* ----------------------------------------------------------- computing */

/* The output of a graph that merely reads a session tensor: no program. */
static const rt_tensor *direct_input(repl *r, const ir_graph *g, const char *output)
{
    ir_id id = ir_find_output(g, output);
    if (id < 0 || g->nodes[id].op != OP_INPUT)
        return NULL;
    repl_var *v = repl_var_find(r, g->nodes[id].name);
    return v ? v->t : NULL;
}

/* Compile and run res's graph; prog/built/ms as repl_value's. */
static repl_prog *compute(repl *r, const seg_result *res, int *built, double *ms)
{
    repl_prog *p = repl_compile(r, res->graph, built);
    if (!p || repl_run(r, p, ms))
        return NULL;
    return p;
}

/* A result's tensors, computed and copied out of the program: one
 * ("value") or a record's fields. Owned until bound. */
typedef struct computed {
    int n;                 /* tensors */
    char **fields;         /* a record's field names, else NULL */
    rt_tensor **t;
} computed;

static void computed_free(computed *c)
{
    for (int i = 0; i < c->n; i++) {
        rt_tensor_free(c->t[i]);
        if (c->fields)
            seg_free(c->fields[i]);
    }
    seg_free(c->t);
    seg_free(c->fields);
    memset(c, 0, sizeof *c);
}

/* Compute res (TENSOR or RECORD): a graph that only reads session
 * tensors needs no program. */
static int compute_result(repl *r, const seg_result *res, computed *c)
{
    const ir_graph *g = res->graph;
    int direct = 1, built;
    double ms;
    for (int i = 0; direct && i < g->n_outputs; i++)
        direct = direct_input(r, g, g->outputs[i].name) != NULL;
    repl_prog *p = direct ? NULL : compute(r, res, &built, &ms);
    if (!direct && !p)
        return -1;
    c->n = g->n_outputs;
    c->t = seg_xcalloc((size_t)(c->n + 1), sizeof *c->t);
    if (res->kind == SEG_RESULT_RECORD)
        c->fields = seg_xcalloc((size_t)(c->n + 1), sizeof *c->fields);
    for (int i = 0; i < c->n; i++) {
        const char *out = g->outputs[i].name;
        const rt_tensor *t = direct_input(r, g, out);
        c->t[i] = repl_tensor_copy(t ? t : repl_output(p, out));
        if (c->fields)
            c->fields[i] = seg_xstrdup(out);
    }
    return 0;
}

/* Bind computed tensors to name (a record: "name.field" each) and print
 * them (quiet: without the name, an expression shown and kept as `_`). */
static void bind_computed(repl *r, const char *name, computed *c, int quiet)
{
    if (!c->fields) {
        repl_var_set(r, name, c->t[0], 0);
        repl_print_tensor(quiet ? NULL : name, c->t[0]);
    } else {
        repl_var_set_record(r, name, (const char *const *)c->fields, c->n);
        for (int i = 0; i < c->n; i++) {
            char full[600];
            snprintf(full, sizeof full, "%s.%s", name, c->fields[i]);
            repl_var_set(r, full, c->t[i], 0);
            repl_print_tensor(quiet ? c->fields[i] : full, c->t[i]);
        }
    }
    for (int i = 0; i < c->n; i++)
        c->t[i] = NULL; /* the tensors are the session's now; the names were copied */
    computed_free(c);
}

/* ------------------------------------------------------------- names */

/* May a tensor be bound to name? A constant of that name goes. */
static int free_name_for_value(repl *r, const char *name)
{
    for (int i = 0; seg_builtin_name_at(i); i++)
        if (!strcmp(seg_builtin_name_at(i), name) || !strcmp(name, "load")) {
            repl_error(r, "'%s' is a built-in op; bind the tensor to another name", name);
            return -1;
        }
    const repl_def *d = repl_def_find(r, name);
    if (!d)
        return 0;
    if (d->kind != SEG_ITEM_CONST) {
        static const char *const w[] = {"an import", "a constant", "a block", "a net",
                                        "a schedule", "a value"};
        repl_error(r, "'%s' is %s; bind the tensor to another name", name, w[d->kind]);
        return -1;
    }
    return repl_undefine(r, name) < 0 ? -1 : 0;
}

/* The constant's definition text: its own source, or its value. */
static char *const_text(const seg_item *it, const char *text, const seg_result *res)
{
    seg_buf b = {0};
    if (res->reads_session || res->reads_self)
        seg_buf_printf(&b, "%*s%s = %s", it->col - 1, "", it->name, res->text);
    else
        seg_buf_printf(&b, "%*s%.*s", it->col - 1, "", (int)(it->end - it->begin),
                       text + it->begin);
    return b.data;
}

static int keepable(repl *r, const seg_item *it, const seg_result *res)
{
    if (res->literal || !(res->reads_session || res->reads_self))
        return 1;
    repl_error(r, "'%s' would be %s %s, which cannot be kept as a constant", it->name,
               res->kind_name, res->text);
    return 0;
}

static repl_def const_def(const seg_item *it, const char *text, const seg_result *res)
{
    char *body = const_text(it, text, res);
    repl_def d = repl_def_make(SEG_ITEM_CONST, it->name, "<repl>", body, it->line);
    seg_free(body);
    return d;
}

static void print_const(const char *name, const seg_result *res)
{
    printf("%s: %s = %s\n", name, res->kind_name, res->text);
}

/* NAME = expr, evaluated once (its errors shown). */
static void assign(repl *r, const seg_input *in, int k, const char *text)
{
    const seg_item *items;
    seg_input_items(in, &items);
    const seg_item *it = &items[k];
    seg_repl_host h = repl_host(r);
    seg_result res;
    if (seg_repl_eval(r->prog, in, k, &h, &res) != 0) {
        r->input_failed = 1;
    } else if (res.kind != SEG_RESULT_VALUE) {
        computed c = {0}; /* first: a reload that frees the name replaces the diag
                             the graph's source names live in */
        if (compute_result(r, &res, &c) == 0 && free_name_for_value(r, it->name) == 0)
            bind_computed(r, it->name, &c, 0);
        computed_free(&c);
    } else if (keepable(r, it, &res)) {
        repl_def d = const_def(it, text, &res);
        if (repl_define(r, &d, 1, 1) == 0) {
            repl_var_drop(r, it->name);
            print_const(it->name, &res);
        }
    }
    seg_result_free(&res);
}

/* --------------------------------------------------------- expressions */

static void show(repl *r, const seg_input *in, int k)
{
    seg_repl_host h = repl_host(r);
    seg_result res;
    if (seg_repl_eval(r->prog, in, k, &h, &res) != 0)
        r->input_failed = 1;
    else {
        computed c = {0};
        if (res.kind == SEG_RESULT_VALUE)
            printf("%s\n", res.text);
        else if (compute_result(r, &res, &c) == 0)
            bind_computed(r, "_", &c, 1);
        computed_free(&c);
    }
    seg_result_free(&res);
}

/* ------------------------------------------------- several declarations */

/* Quietly: does assignment k make a compile-time value (0: *def filled)? */
static int quiet_const(repl *r, const seg_input *in, int k, const char *text, repl_def *def,
                       seg_result *res)
{
    const seg_item *items;
    seg_input_items(in, &items);
    seg_repl_host h = repl_host(r);
    FILE *old = seg_diag_set_stream(r->diag, NULL);
    int rc = seg_repl_eval(r->prog, in, k, &h, res);
    seg_diag_set_stream(r->diag, old);
    seg_diag_reset(r->diag);
    repl_vars_drop_hidden(r);
    if (rc || res->kind != SEG_RESULT_VALUE || res->reads_session ||
        (!res->literal && res->reads_self))
        return -1;
    *def = const_def(&items[k], text, res);
    return 0;
}

static seg_input *parse(repl *r, const char *text)
{
    size_t len = strlen(text);
    int id = repl_input_begin(r, text, len);
    return seg_input_parse(r->diag, id, text, len, 1, NULL);
}

/* A declaration's own text (padded: its columns stay true), keyed by name. */
static repl_def item_def(const seg_item *it, const char *text)
{
    seg_buf b = {0}, key = {0};
    seg_buf_printf(&b, "%*s%.*s", it->col - 1, "", (int)(it->end - it->begin), text + it->begin);
    seg_buf_printf(&key, "%s%s", it->kind == SEG_ITEM_IMPORT ? "import " : "", it->name);
    repl_def d = repl_def_make(it->kind, key.data, "<repl>", b.data, it->line);
    seg_buf_free(&b);
    seg_buf_free(&key);
    return d;
}

static void several(repl *r, seg_input *in, const char *text)
{
    const seg_item *items;
    int n = seg_input_items(in, &items);
    repl_def *defs = seg_xcalloc((size_t)(n + 1), sizeof *defs);
    seg_result *res = seg_xcalloc((size_t)(n + 1), sizeof *res);
    int *later = seg_xcalloc((size_t)(n + 1), sizeof *later), nd = 0;
    for (int k = 0; k < n; k++) {
        if (items[k].kind != SEG_ITEM_CONST)
            defs[nd++] = item_def(&items[k], text);
        else if (quiet_const(r, in, k, text, &defs[nd], &res[k]) == 0)
            nd++;
        else
            later[k] = 1;
    }
    int ok = nd == 0 || repl_define(r, defs, nd, 0) == 0;
    for (int k = 0; ok && k < n; k++)
        if (items[k].kind == SEG_ITEM_CONST && !later[k]) {
            repl_var_drop(r, items[k].name);
            print_const(items[k].name, &res[k]);
        }
    seg_input *again = NULL;
    for (int k = 0; ok && k < n; k++) {
        if (!later[k])
            continue;
        if (!again) { /* the reload made a new diag: register and parse again */
            repl_input_done(r);
            if (!(again = parse(r, text)))
                break;
        }
        assign(r, again, k, text);
    }
    seg_input_free(again);
    for (int k = 0; k < n; k++)
        seg_result_free(&res[k]);
    seg_free(res);
    seg_free(later);
    seg_free(defs);
}

/* ---------------------------------------------------------------- input */

void repl_eval_input(repl *r, const char *text)
{
    seg_input *in = parse(r, text);
    r->input_failed |= !in;
    if (in) {
        const seg_item *items;
        int n = seg_input_items(in, &items);
        if (n == 1 && items[0].kind == SEG_ITEM_EXPR)
            show(r, in, 0);
        else if (n == 1 && items[0].kind == SEG_ITEM_CONST)
            assign(r, in, 0, text);
        else if (n > 0)
            several(r, in, text);
    }
    seg_input_free(in);
    repl_input_done(r);
    repl_vars_drop_hidden(r);
}

/* -------------------------------------------- expressions of :commands */

/* A command's expression, parsed in its place in the command's line:
 * messages quote the line the user typed, carets under the expression. */
static seg_input *parse_in_line(repl *r, const char *text)
{
    const char *line = r->cmd_line, *at = line ? strstr(line, text) : NULL;
    if (!at)
        return parse(r, text);
    seg_buf b = {0};
    seg_buf_printf(&b, "%*s%s", (int)(at - line), "", text);
    int id = repl_input_begin(r, line, strlen(line));
    seg_input *in = seg_input_parse(r->diag, id, b.data, b.len, 1, NULL);
    seg_buf_free(&b);
    return in;
}

int repl_eval_expr(repl *r, const char *text, int run, repl_value *v)
{
    memset(v, 0, sizeof *v);
    seg_input *in = parse_in_line(r, text);
    const seg_item *items;
    int rc = -1;
    if (in && (seg_input_items(in, &items) != 1 || items[0].kind != SEG_ITEM_EXPR))
        repl_error(r, "expected an expression");
    else if (in) {
        seg_repl_host h = repl_host(r);
        rc = seg_repl_eval(r->prog, in, 0, &h, &v->res);
    }
    r->input_failed |= rc != 0;
    if (rc == 0 && run && v->res.kind != SEG_RESULT_VALUE) {
        int tensor = v->res.kind == SEG_RESULT_TENSOR;
        const rt_tensor *d = tensor ? direct_input(r, v->res.graph, "value") : NULL;
        v->prog = d ? NULL : compute(r, &v->res, &v->built, &v->ms);
        rc = d || v->prog ? 0 : -1;
        if (rc == 0 && tensor)
            v->t = repl_tensor_copy(d ? d : repl_output(v->prog, "value"));
    }
    seg_input_free(in); /* its text stays registered, and load() values stay, until the
                           command is done: graphs and programs name that text */
    return rc;
}

void repl_value_free(repl_value *v)
{
    seg_result_free(&v->res);
    rt_tensor_free(v->t);
    memset(v, 0, sizeof *v);
}
