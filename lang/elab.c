/* elab.c — elaborating a net into a graph, and the evaluator's state.
 *
 * seg_elaborate_net finds the net, turns the command-line settings into
 * argument values (net parameters; capitalised keys are symbolic
 * dimensions such as B), runs the net's body with a fresh evaluator state
 * writing into a new ir_graph, and returns the graph only when nothing
 * went wrong. seg_load uses the same path to check every net once with
 * its defaults and every unbound dimension set to 1.
 *
 * Top-level constants are evaluated on first use into the program's
 * arena, with a state of their own that has no graph (so tensors are
 * rejected there); a constant that needs itself is an error.
 */
#include "sema_internal.h"

#include <ctype.h>
#include <string.h>

/* -------------------------------------------------------------- state */

void sema_state_init(sema_state *st, seg_program *p, seg_diag *d, sema_seen *seen,
                     ir_graph *g, int training, seg_arena *arena)
{
    memset(st, 0, sizeof *st);
    st->prog = p;
    st->diag = d;
    st->seen = seen;
    st->g = g;
    st->training = training;
    st->own_arena = arena == NULL;
    st->arena = arena ? arena : seg_arena_new();
    sema_map_init(&st->dims, 1);
    sema_map_init(&st->counters, 1);
    sema_map_init(&st->origin_index, 1);
    st->levels = seg_xcalloc(16, sizeof *st->levels);
    st->cap_levels = 16;
    st->levels[st->n_levels++] = (sema_name_level){"", ""};
    st->outputs = seg_arena_alloc(st->arena, sizeof *st->outputs);
}

void sema_state_free(sema_state *st)
{
    sema_map_free(&st->dims);
    sema_map_free(&st->counters);
    sema_map_free(&st->origin_index);
    seg_free(st->origins);
    seg_free(st->levels);
    seg_free(st->calls);
    seg_free(st->ctx);
    if (st->diag)
        seg_diag_flush(st->diag); /* the context notes of its last diagnostic */
    if (st->own_arena)
        seg_arena_free(st->arena);
    st->arena = NULL;
}

/* ---------------------------------------------------------- constants */

sema_value sema_const_value(sema_state *st, sema_global *gl, seg_span use)
{
    if (gl->state == 2)
        return gl->value;
    if (gl->state == 1) {
        sema_error(st, use, "constant '%s' depends on itself", gl->decl->name);
        return sema_val_error();
    }
    gl->state = 1;
    sema_state cs;
    sema_frame f;
    sema_state_init(&cs, st->prog, st->diag, st->seen, NULL, 0, st->prog->arena);
    cs.expr_depth = st->expr_depth + SEMA_CONST_DEPTH_COST; /* bounds constant chains */
    sema_frame_push(&cs, &f, FRAME_CONST, gl->decl);
    sema_value v = sema_eval(&cs, gl->decl->value);
    sema_frame_pop(&cs, &f);
    st->errors += cs.errors;
    sema_state_free(&cs);
    if (v.kind == VAL_NETINST && !v.inst->prefix) { /* m = unet(): parameters m.* */
        sema_netinst *ni = seg_arena_alloc(st->prog->arena, sizeof *ni);
        *ni = *v.inst;
        ni->prefix = gl->decl->name;
        v.inst = ni;
    }
    gl->value = v;
    gl->state = 2;
    return v;
}

/* ---------------------------------------------------------- net bodies */

int sema_run_net(sema_state *st, const ast_decl *net, const sema_args *a, const char *prefix,
                 sema_netval *out)
{
    sema_frame f;
    int errors = st->errors;
    memset(out, 0, sizeof *out);
    out->binding = prefix;
    out->net = net->name;
    st->outputs = out;
    st->cap_outputs = 0;
    st->levels[0] = (sema_name_level){prefix ? prefix : "", prefix ? prefix : ""};
    sema_map_free(&st->counters); /* each run names from conv0 (same names = shared) */
    sema_map_init(&st->counters, 1);
    sema_frame_push(st, &f, FRAME_NET, net);
    sema_bind_params(st, net, a);
    st->poisoned_outputs = 0;
    sema_exec(st, net->body);
    if (out->n_out == 0 && st->errors == errors && !st->poisoned_outputs)
        sema_error(st, net->name_span, "net '%s' has no outputs", net->name);
    sema_check_unused(st, &f);
    sema_report_unused(st, st->errors == errors);
    sema_frame_pop(st, &f);
    return st->errors == errors && !st->poisoned_outputs ? 0 : -1;
}

/* ------------------------------------------------------------ settings */

static void unknown_setting(sema_state *st, const ast_decl *net, const char *key)
{
    if (!sema_error(st, net->name_span, "net '%s' has no parameter '%s' (--set %s=...)",
                    net->name, key, key))
        return;
    seg_buf list = {0};
    sema_suggest s;
    sema_suggest_init(&s, key);
    for (const ast_param *p = net->params; p; p = p->next) {
        seg_buf_printf(&list, "%s%s", list.len ? ", " : "", p->name);
        sema_suggest_add(&s, p->name);
    }
    sema_suggest_note(st, &s, net->name_span);
    sema_note(st, net->name_span, "the parameters of '%s' are: %s", net->name,
              list.len ? list.data : "(none)");
    seg_buf_free(&list);
}

static int set_dimension(sema_state *st, const seg_setting *s)
{
    sema_value v = sema_setting_parse(st, s->value);
    if (v.kind != VAL_INT || v.i < 1) {
        sema_error(st, (seg_span){0}, "symbolic dimension '%s' must be a positive int, got '%s'",
                   s->key, s->value);
        return -1;
    }
    *sema_map_put(&st->dims, s->key, 0) = v.i;
    return 0;
}

/* Settings to arguments: net parameters by name, dimensions by capital. */
static int settings_args(sema_state *st, const ast_decl *net, const seg_setting *set, int n,
                         sema_args *a)
{
    sema_formal formals[SEMA_MAX_PARAMS];
    sema_binder b = {net->name, formals, sema_decl_formals(net, formals, SEMA_MAX_PARAMS), 0, 0};
    int rc = 0;
    sema_args_init(a, &b, (seg_span){0}); /* missing ones: check_required */
    for (int i = 0; i < n; i++) {
        int k = -1;
        for (int j = 0; j < a->n; j++)
            if (strcmp(a->names[j], set[i].key) == 0)
                k = j;
        if (k >= 0) {
            a->v[k] = sema_setting_parse(st, set[i].value);
            a->given[k] = 1;
        } else if (isupper((unsigned char)set[i].key[0])) {
            rc |= set_dimension(st, &set[i]);
        } else {
            unknown_setting(st, net, set[i].key);
            rc = -1;
        }
    }
    return rc;
}

static int check_required(sema_state *st, const ast_decl *net, const sema_args *a)
{
    int rc = 0, i = 0;
    for (const ast_param *p = net->params; p; p = p->next, i++)
        if (!p->def && !a->given[i]) {
            sema_error(st, p->span, "net '%s' needs a value for '%s' (use --set %s=...)",
                       net->name, p->name, p->name);
            rc = -1;
        }
    return rc;
}

static int too_many_params(sema_state *st, const ast_decl *net)
{
    if (net->n_params <= SEMA_MAX_PARAMS)
        return 0;
    sema_error(st, net->name_span, "net '%s' has more than %d parameters", net->name,
               SEMA_MAX_PARAMS);
    return 1;
}

/* ---------------------------------------------------------- elaborate */

typedef struct elab_req {
    const ast_decl *net;
    const seg_setting *settings;
    int n_settings;
    int training;
    int default_dims;   /* unbound symbolic dimensions are 1 */
} elab_req;

static ir_graph *elaborate(seg_program *p, seg_diag *d, sema_seen *seen, const elab_req *r)
{
    ir_graph *g = ir_graph_new(r->net->name);
    g->file_names = seg_diag_file_names(d, &g->n_file_names);
    sema_state st;
    sema_args a;
    sema_netval out;
    sema_state_init(&st, p, d, seen, g, r->training, NULL);
    st.default_dims = r->default_dims;
    int rc = too_many_params(&st, r->net) ? -1 : 0;
    if (!rc)
        rc = settings_args(&st, r->net, r->settings, r->n_settings, &a);
    if (!rc)
        rc = check_required(&st, r->net, &a);
    if (!rc)
        rc = sema_run_net(&st, r->net, &a, NULL, &out);
    if (st.errors)
        rc = -1;
    sema_state_free(&st);
    if (rc) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

int sema_check_net(seg_program *p, sema_seen *seen, const ast_decl *net)
{
    if (net->params) {
        for (const ast_param *q = net->params; q; q = q->next)
            if (!q->def)
                return 0; /* a net without full defaults is checked when used */
    }
    elab_req r = {net, NULL, 0, 0, 1};
    ir_graph *g = elaborate(p, p->diag, seen, &r);
    ir_graph_free(g);
    return g ? 0 : -1;
}

static const ast_decl *find_net(seg_program *p, const char *name, seg_diag *d)
{
    const ast_decl *last = NULL;
    for (int i = 0; i < p->n_globals; i++) {
        const ast_decl *x = p->globals[i].decl;
        if (x->kind != AST_NET)
            continue;
        if (name ? strcmp(x->name, name) == 0 : x->span.file == p->main_file)
            last = x;
    }
    if (last)
        return last;
    if (!name) {
        seg_diag_error(d, (seg_span){0}, "'%s' has no net to elaborate",
                       seg_diag_file_path(d, p->main_file));
        return NULL;
    }
    seg_diag_error(d, (seg_span){0}, "there is no net named '%s'", name);
    sema_suggest s;
    sema_suggest_init(&s, name);
    for (int i = 0; i < p->n_nets; i++)
        sema_suggest_add(&s, p->net_names[i]);
    if (s.best)
        seg_diag_note(d, (seg_span){0}, "did you mean '%s'?", s.best);
    return NULL;
}

ir_graph *seg_elaborate_net(seg_program *p, const char *net_name, const seg_setting *settings,
                            int n_settings, int training, seg_diag *d)
{
    if (!p)
        return NULL;
    const ast_decl *net = find_net(p, net_name, d);
    if (!net)
        return NULL;
    sema_seen seen;
    sema_seen_init(&seen);
    elab_req r = {net, settings, n_settings, training, 0};
    ir_graph *g = elaborate(p, d, &seen, &r);
    sema_seen_free(&seen);
    return g;
}
