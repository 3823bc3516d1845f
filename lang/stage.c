/* stage.c — the stages of a schedule: their items, and their graphs.
 *
 * A stage's items are read into a seg_stage (models with their bound net
 * arguments, the loss expression, optimizer, stop rules, selectors, ...).
 * Then the stage's graph is built once in training mode, which checks
 * every model and the loss with real shapes (B = the stage's batch), and
 * the freeze/train selectors are resolved against its parameters
 * (select.c).
 *
 * The graph (see lang.h, "schedules"): for each data stream of the stage, every
 * model runs once; parameters have the same names on every stream, so
 * ir_add_param shares them. The loss runs in a frame whose names are
 * resolved by loss_lookup: stage weights (as variables), `progress`,
 * model bindings and outputs, data streams and their fields.
 */
#include "sema_internal.h"

#include <ctype.h>
#include <string.h>

/* ----------------------------------------------------------- model items */

static const sema_global *model_net(sema_sched_ctx *c, const ast_expr *e)
{
    const sema_global *gl = e->kind == AST_CALL ? sema_global_find(c->p, e->sval) : NULL;
    if (gl && gl->decl->kind == AST_NET)
        return gl;
    if (e->kind != AST_CALL)
        sema_error(&c->st, e->span, "'model' takes a net call such as unet(levels = 3)");
    else if (gl)
        sema_error(&c->st, e->span, "'%s' is not a net; a model must be a net", e->sval);
    else if (sema_error(&c->st, e->span, "unknown name '%s'", e->sval)) {
        sema_suggest s;
        sema_suggest_init(&s, e->sval);
        for (int i = 0; i < c->p->n_nets; i++)
            sema_suggest_add(&s, c->p->net_names[i]);
        sema_suggest_note(&c->st, &s, e->span);
    }
    return NULL;
}

static int net_has_param(const ast_decl *net, const char *name)
{
    for (const ast_param *p = net->params; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return 1;
    return 0;
}

/* A capitalised keyword that is not a parameter binds a dimension. */
static int model_dim(sema_sched_ctx *c, const ast_expr *a, sema_value v)
{
    if (v.kind != VAL_INT || v.i < 1) {
        if (v.kind != VAL_ERROR)
            sema_error(&c->st, a->span, "symbolic dimension '%s' must be a positive int", a->kw);
        return -1;
    }
    sema_stage_impl *im = c->impl;
    int n = im->n_dims;
    im->dim_names = sema_arena_push(c->p->arena, im->dim_names, &n, sizeof *im->dim_names, &a->kw);
    im->dim_vals = sema_arena_push(c->p->arena, im->dim_vals, &im->n_dims, sizeof *im->dim_vals,
                                   &v.i);
    return 0;
}

/* Evaluate and bind the net call's arguments. */
static sema_args *model_args(sema_sched_ctx *c, const ast_expr *call, const ast_decl *net)
{
    int n = call->n_args, k = 0, bad = 0;
    sema_value *v = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *v);
    const char **kw = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *kw);
    seg_span *spans = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *spans);
    seg_span *kw_spans = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *kw_spans);
    for (const ast_expr *a = call->args; a; a = a->next) {
        sema_value x = sema_eval(&c->st, a);
        if (a->kw && isupper((unsigned char)a->kw[0]) && !net_has_param(net, a->kw)) {
            bad |= model_dim(c, a, x);
            continue;
        }
        v[k] = x;
        kw[k] = a->kw;
        kw_spans[k] = a->kw ? a->kw_span : a->span;
        spans[k++] = a->span;
    }
    sema_formal formals[SEMA_MAX_PARAMS];
    if (net->n_params > SEMA_MAX_PARAMS) {
        sema_error(&c->st, net->name_span, "net '%s' has too many parameters", net->name);
        return NULL;
    }
    sema_binder b = {net->name, formals, sema_decl_formals(net, formals, SEMA_MAX_PARAMS), 0, 0};
    sema_args *args = seg_arena_alloc(c->p->arena, sizeof *args);
    if (sema_bind_values(&c->st, &b, k, v, kw, kw_spans, spans, call->span, args) || bad)
        return NULL;
    return args;
}

/* The public record: the given arguments as settings. */
static void model_public(sema_sched_ctx *c, seg_stage_model *m, const sema_args *a)
{
    const char **keys = seg_arena_alloc(c->p->arena, (size_t)(a->n + 1) * sizeof *keys);
    seg_sv *vals = seg_arena_alloc(c->p->arena, (size_t)(a->n + 1) * sizeof *vals);
    for (int i = 0; i < a->n; i++) {
        if (!a->given[i] || sema_to_sv(c, a->v[i], a->span[i], &vals[m->n_args]))
            continue;
        keys[m->n_args++] = a->names[i];
    }
    m->arg_keys = keys;
    m->arg_vals = vals;
}

static int binding_taken(sema_sched_ctx *c, const ast_stmt *it)
{
    seg_stage *sg = c->stage;
    for (int i = 0; it->name && i < sg->n_models; i++)
        if (sg->models[i].binding && strcmp(sg->models[i].binding, it->name) == 0) {
            if (sema_error(&c->st, it->name_span, "model '%s' is already defined", it->name))
                sema_note(&c->st, sg->models[i].span, "previous definition here");
            return 1;
        }
    return 0;
}

static void item_model(sema_sched_ctx *c, const ast_stmt *it)
{
    const sema_global *gl = it->n_args == 1 ? model_net(c, it->args) : NULL;
    if (it->n_args != 1)
        sema_error(&c->st, it->span, "'model' takes one net call");
    if (!gl || binding_taken(c, it))
        return;
    sema_args *a = model_args(c, it->args, gl->decl);
    if (!a)
        return;
    sema_stage_impl *im = c->impl;
    seg_stage_model m = {it->name, gl->decl->name, it->span, 0, NULL, NULL};
    model_public(c, &m, a);
    int n = c->stage->n_models, n2 = n;
    c->stage->models = sema_arena_push(c->p->arena, c->stage->models, &c->stage->n_models,
                                       sizeof m, &m);
    im->nets = sema_arena_push(c->p->arena, im->nets, &n, sizeof *im->nets, &gl->decl);
    im->args = sema_arena_push(c->p->arena, im->args, &n2, sizeof *a, a);
}

/* ------------------------------------------------------------ other items */

static const ast_expr *single(sema_sched_ctx *c, const ast_stmt *it)
{
    if (it->n_args == 1)
        return it->args;
    sema_error(&c->st, it->span, "'%s' takes one value, got %d", it->keyword, it->n_args);
    return NULL;
}

static void push_call(sema_sched_ctx *c, const ast_expr *e, const char *kind,
                      const seg_scall *const **list, int *n)
{
    const seg_scall *k = sema_sched_call(c, e, kind);
    if (k)
        *list = sema_arena_push(c->p->arena, *list, n, sizeof k, &k);
}

/* until a or b, c: every operand of `or` and every argument is a rule. */
static void until_rules(sema_sched_ctx *c, const ast_expr *e)
{
    if (e->kind == AST_BINARY && e->op == AST_OP_OR) {
        until_rules(c, e->lhs);
        until_rules(c, e->rhs);
        return;
    }
    push_call(c, e, "stop rule", &c->stage->until, &c->stage->n_until);
}

static void item_selectors(sema_sched_ctx *c, const ast_stmt *it, const seg_selector **list,
                           int *n)
{
    for (const ast_expr *e = it->args; e; e = e->next) {
        seg_selector sel;
        if (sema_selector_parse(c, e, &sel) == 0)
            *list = sema_arena_push(c->p->arena, *list, n, sizeof sel, &sel);
    }
}

static void item_streams(sema_sched_ctx *c, const ast_stmt *it)
{
    seg_stage *sg = c->stage;
    for (const ast_expr *e = it->args; e; e = e->next) {
        sema_value v = sema_eval(&c->st, e);
        if (v.kind != VAL_STREAM) {
            if (v.kind != VAL_ERROR)
                sema_error(&c->st, e->span, "'data' in a stage names data streams of the "
                           "schedule, got %s", sema_value_desc(&c->st, v));
            continue;
        }
        int dup = 0;
        for (int i = 0; i < sg->n_streams; i++)
            dup |= sg->streams[i] == v.stream->index;
        if (dup)
            sema_error(&c->st, e->span, "data '%s' is listed twice", v.stream->name);
        else
            sg->streams = sema_arena_push(c->p->arena, sg->streams, &sg->n_streams, sizeof(int),
                                          &v.stream->index);
    }
}

static void item_weight(sema_sched_ctx *c, const ast_stmt *it)
{
    seg_stage *sg = c->stage;
    const ast_expr *e = single(c, it);
    if (!it->name) {
        sema_error(&c->st, it->span, "a weight needs a name: weight w = 0.5 * progress");
        return;
    }
    for (int i = 0; i < sg->n_weights; i++)
        if (strcmp(sg->weights[i].name, it->name) == 0) {
            sema_error(&c->st, it->name_span, "weight '%s' is already defined", it->name);
            return;
        }
    seg_stage_weight w = {it->name, e, it->name_span};
    if (e)
        sg->weights = sema_arena_push(c->p->arena, sg->weights, &sg->n_weights, sizeof w, &w);
}

static void stage_item(sema_sched_ctx *c, const ast_stmt *it)
{
    seg_stage *sg = c->stage;
    const char *kw = it->keyword;
    const ast_expr *e;
    int64_t v;
    if (strcmp(kw, "model") == 0)
        item_model(c, it);
    else if (strcmp(kw, "loss") == 0 && (e = single(c, it)))
        sg->loss = e;
    else if (strcmp(kw, "optimizer") == 0 && (e = single(c, it)))
        sg->optimizer = sema_sched_call(c, e, "optimizer");
    else if (strcmp(kw, "lr") == 0 && (e = single(c, it)))
        sg->lr = sema_sched_call(c, e, "learning-rate schedule");
    else if (strcmp(kw, "checkpoint") == 0 && (e = single(c, it)))
        sg->checkpoint = sema_sched_call(c, e, "checkpoint rule");
    else if (strcmp(kw, "until") == 0)
        for (e = it->args; e; e = e->next)
            until_rules(c, e);
    else if (strcmp(kw, "validate") == 0)
        for (e = it->args; e; e = e->next)
            push_call(c, e, "metric", &sg->validate, &sg->n_validate);
    else if (strcmp(kw, "freeze") == 0)
        item_selectors(c, it, &sg->freeze, &sg->n_freeze);
    else if (strcmp(kw, "train") == 0)
        item_selectors(c, it, &sg->train, &sg->n_train);
    else if (strcmp(kw, "data") == 0)
        item_streams(c, it);
    else if (strcmp(kw, "weight") == 0)
        item_weight(c, it);
    else if (strcmp(kw, "batch") == 0 && !sema_item_int(c, it, 1, &v))
        sg->batch = (int)v;
    else if (strcmp(kw, "predict") == 0)
        sema_predict_item(c, it);
    else if (strcmp(kw, "oversample") == 0)
        sema_item_share(c, it, &sg->oversample);
    else if (strcmp(kw, "steps_per_epoch") == 0 && !sema_item_int(c, it, 1, &v))
        sg->steps_per_epoch = (int)v;
}

/* ---------------------------------------------------------- the stage */

static void default_streams(sema_sched_ctx *c)
{
    seg_stage *sg = c->stage;
    if (sg->n_streams || c->s->n_data == 0)
        return;
    int k = 0;
    for (int i = 0; i < c->s->n_data; i++)
        if (strcmp(c->s->data[i].name, "train") == 0)
            k = i;
    sg->streams = sema_arena_push(c->p->arena, NULL, &sg->n_streams, sizeof k, &k);
}

static int has_item_in(const ast_stmt *it, const char *keyword)
{
    for (; it; it = it->next)
        if (it->kind == AST_ITEM && strcmp(it->keyword, keyword) == 0)
            return 1;
    return 0;
}

/* In the stage's own items or its template's. */
static int has_item(const ast_stmt *stage, const ast_decl *tmpl, const char *keyword)
{
    return has_item_in(stage->body, keyword) || (tmpl && has_item_in(tmpl->body, keyword));
}

static void stage_finish(sema_sched_ctx *c, const ast_stmt *stmt, const ast_decl *tmpl)
{
    seg_stage *sg = c->stage;
    if (!has_item(stmt, tmpl, "model"))
        sema_error(&c->st, stmt->span, "stage '%s' has no model", sg->name);
    if (!has_item(stmt, tmpl, "loss"))
        sema_error(&c->st, stmt->span, "stage '%s' has no loss", sg->name);
    for (int i = 0; sg->n_models > 1 && i < sg->n_models; i++)
        if (!sg->models[i].binding)
            sema_error(&c->st, sg->models[i].span, "a stage with several models must name "
                       "each one: model student = %s(...)", sg->models[i].net);
    if (!sg->batch)
        sg->batch = c->s->batch;
    if (!has_item(stmt, tmpl, "oversample"))
        sg->oversample = c->s->oversample;
    if (!sg->steps_per_epoch)
        sg->steps_per_epoch = c->s->steps_per_epoch;
    default_streams(c);
}

static int stage_name_taken(sema_sched_ctx *c, const ast_stmt *stmt)
{
    for (int i = 0; i < c->s->n_stages; i++)
        if (strcmp(c->s->stages[i].name, stmt->name) == 0) {
            if (sema_error(&c->st, stmt->name_span, "stage '%s' is already defined", stmt->name))
                sema_note(&c->st, c->s->stages[i].span, "previous definition here");
            return 1;
        }
    return 0;
}

/* `patch` must be what the stage's models take: their input is the patch. */
static void check_patch(sema_sched_ctx *c, const ir_graph *g)
{
    const seg_schedule *s = c->s;
    ir_id img = ir_find_input(g, "image");
    if (s->n_patch == 0 || img < 0)
        return;
    const rt_type *t = &g->nodes[img].type;
    int nsp = t->rank - 2, same = s->n_patch == nsp || s->n_patch == 1;
    for (int i = 0; same && i < nsp; i++)
        same = t->dim[2 + i] == s->patch[s->n_patch == 1 ? 0 : i];
    if (same)
        return;
    char buf[160];
    if (sema_error(&c->st, s->patch_span, "'patch' differs from the input of stage '%s''s "
                   "model, %s: the net's input size is the patch size", c->stage->name,
                   rt_type_str(t, buf, sizeof buf)))
        sema_note(&c->st, c->stage->span, "stage '%s' is here; drop `patch` or make them agree",
                  c->stage->name);
}

static void stage_item_list(sema_sched_ctx *c, const ast_stmt *it, const ast_stmt **first)
{
    for (; it; it = it->next) {
        if (it->kind != AST_ITEM)
            sema_error(&c->st, it->span, "stages cannot be nested");
        else if (sema_item_check(c, it, 2, first))
            stage_item(c, it);
    }
}

/* The stage's names: the schedule's parameters, then its template's
 * (bound in the current frame, defaults evaluated there). */
static void stage_env(sema_sched_ctx *c, const ast_decl *tmpl, const sema_args *targs,
                      seg_span at)
{
    sema_env *env = &c->impl->env;
    sema_env_bind(&c->st, &c->env, at);
    for (int i = 0; i < c->env.n; i++)
        sema_env_add(c->p->arena, env, c->env.names[i], c->env.vals[i]);
    if (!tmpl)
        return;
    sema_bind_params(&c->st, tmpl, targs);
    for (const ast_param *q = tmpl->params; q; q = q->next)
        sema_env_add(c->p->arena, env, q->name, sema_slot_find(c->st.frame, q->name)->v);
}

void sema_stage_items(sema_sched_ctx *c, const ast_stmt *stmt, const ast_decl *tmpl,
                      const sema_args *targs)
{
    if (stage_name_taken(c, stmt))
        return;
    int index = c->s->n_stages, errors = c->st.errors;
    seg_stage *sg = (seg_stage *)&c->s->stages[index];
    const ast_stmt *first[32] = {0};
    memset(sg, 0, sizeof *sg);
    sg->name = stmt->name;
    sg->span = stmt->name_span;
    sg->index = index;
    c->stage = sg;
    c->impl = seg_arena_alloc(c->p->arena, sizeof *c->impl);
    sg->impl = c->impl;
    c->s->n_stages = index + 1;
    sema_frame f;
    sema_frame_push(&c->st, &f, FRAME_LOSS, tmpl);
    c->impl->tmpl = tmpl;
    if (tmpl) {
        c->impl->tmpl_at = stmt->value->span;
        sema_context_push(&c->st, (sema_context){.block = tmpl, .args = targs,
                                                 .at = stmt->value->span});
    }
    stage_env(c, tmpl, targs, stmt->name_span);
    if (tmpl)
        stage_item_list(c, tmpl->body, first);
    if (tmpl)
        sema_context_pop(&c->st);
    stage_item_list(c, stmt->body, first);
    sema_frame_pop(&c->st, &f);
    stage_finish(c, stmt, tmpl);
    if (c->st.errors != errors || c->item_errors)
        return;
    ir_graph *g = sema_stage_build(c->p, c->seen, c->p->diag, c->s, index, 1);
    if (g) {
        sema_stage_resolve(c, g, stmt->span);
        check_patch(c, g);
        sema_stage_validation(c, g, stmt->name_span);
        sema_stage_inheritance(c, g);
    } else
        c->st.errors++;
    ir_graph_free(g);
}

/* -------------------------------------------------------- building */

/* Everything the loss frame's names resolve to. */
typedef struct loss_env {
    const seg_schedule *s;
    const seg_stage *sg;
    sema_netval *inst;   /* [stream * n_models + model] */
    ir_id progress;      /* -1 until used */
} loss_env;

static const seg_sched_data *stream_data(const loss_env *env, int k)
{
    return &env->s->data[env->sg->streams[k]];
}

/* The graph input name of a field of the stage's k-th stream. */
static const char *field_name(sema_state *st, const loss_env *env, int k, const char *field)
{
    if (k == 0)
        return field;
    return seg_arena_printf(st->arena, "%s.%s", stream_data(env, k)->name, field);
}

static ir_id find_input(const ir_graph *g, const char *name)
{
    for (ir_id i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_INPUT && strcmp(g->nodes[i].name, name) == 0)
            return i;
    return -1;
}

static int field_type(sema_state *st, const loss_env *env, int k, const char *field,
                      rt_type *t, seg_span at)
{
    const seg_sched_data *d = stream_data(env, k);
    const seg_scall *src = d->source;
    ir_id img = find_input(st->g, field_name(st, env, k, "image"));
    if (img < 0) {
        sema_error(st, at, "no model of stage '%s' has an input 'image' to give '%s' its shape",
                   env->sg->name, field);
        return -1;
    }
    *t = st->g->nodes[img].type;
    if (strcmp(field, "label") == 0 && !seg_scall_int(src, "labels", 1)) {
        sema_error(st, at, "data '%s' has no labels (labels = false)", d->name);
        return -1;
    }
    if (strcmp(field, "dist") == 0 && !seg_scall_int(src, "distance", 0)) {
        sema_error(st, at, "data '%s' has no distance map; add distance = true to its source",
                   d->name);
        return -1;
    }
    t->dtype = RT_F32;
    t->dim[1] = 1;
    if (strcmp(field, "label") == 0 && !strcmp(seg_scall_str(src, "label", "mask"), "index")) {
        t->dtype = RT_I32;
        memmove(&t->dim[1], &t->dim[2], (size_t)(t->rank - 2) * sizeof t->dim[0]);
        t->rank--;
    }
    return 0;
}

static sema_value field_value(sema_state *st, loss_env *env, int k, const char *field,
                              seg_span at)
{
    const char *name = field_name(st, env, k, field);
    ir_id id = find_input(st->g, name);
    rt_type t;
    if (id >= 0)
        return sema_val_tensor(id);
    if (field_type(st, env, k, field, &t, at))
        return sema_val_error();
    return sema_val_tensor(ir_add_input(st->g, name, &t, at));
}

static int is_field(const char *s)
{
    return !strcmp(s, "image") || !strcmp(s, "label") || !strcmp(s, "dist");
}

/* A name as seen from stream k: a model binding, an unbound model's
 * output, or a field. found = 0 when it is none of these. */
static sema_value stream_name(sema_state *st, loss_env *env, int k, const char *name,
                              seg_span at, int *found)
{
    int nm = env->sg->n_models;
    *found = 1;
    for (int m = 0; m < nm; m++) {
        sema_netval *inst = &env->inst[k * nm + m];
        if (inst->binding && strcmp(inst->binding, name) == 0)
            return (sema_value){.kind = VAL_NET, .net = inst};
        for (int o = 0; !inst->binding && o < inst->n_out; o++)
            if (strcmp(inst->out_names[o], name) == 0)
                return sema_val_tensor(inst->out_ids[o]);
    }
    if (is_field(name))
        return field_value(st, env, k, name, at);
    *found = 0;
    return sema_val_error();
}

static int stream_index(const loss_env *env, const char *name)
{
    for (int k = 0; k < env->sg->n_streams; k++)
        if (strcmp(stream_data(env, k)->name, name) == 0)
            return k;
    return -1;
}

static sema_value stream_member(sema_state *st, loss_env *env, const ast_expr *e, int *found)
{
    int k = stream_index(env, e->lhs->sval);
    sema_value v = stream_name(st, env, k, e->sval, e->span, found);
    if (*found)
        return v;
    *found = 1;
    sema_error(st, e->span, "data '%s' has no field or output '%s'", e->lhs->sval, e->sval);
    return sema_val_error();
}

static sema_value loss_lookup(sema_state *st, const ast_expr *e, int *found)
{
    loss_env *env = st->hook_data;
    *found = 0;
    if (e->kind == AST_MEMBER)
        return e->lhs->kind == AST_NAME && stream_index(env, e->lhs->sval) >= 0
                   ? stream_member(st, env, e, found)
                   : sema_val_error();
    if (strcmp(e->sval, "progress") == 0) {
        rt_type t = {.dtype = RT_F32, .rank = 0};
        if (env->progress < 0)
            env->progress = ir_add_input(st->g, "progress", &t, e->span);
        *found = 1;
        return sema_val_tensor(env->progress);
    }
    sema_value v = stream_name(st, env, 0, e->sval, e->span, found);
    if (*found)
        return v;
    int k = stream_index(env, e->sval);
    if (k < 0) /* streams of the schedule that this stage does not read */
        for (int i = 0; i < env->s->n_data && k < 0; i++)
            k = strcmp(env->s->data[i].name, e->sval) == 0 ? -2 : -1;
    if (k == -1)
        return sema_val_error();
    *found = 1;
    if (k == -2) {
        sema_error(st, e->span, "data '%s' does not feed stage '%s' (add it to the stage's "
                   "'data' item)", e->sval, env->sg->name);
        return sema_val_error();
    }
    sema_stream *s = seg_arena_alloc(st->arena, sizeof *s);
    *s = (sema_stream){e->sval, env->sg->streams[k]};
    return (sema_value){.kind = VAL_STREAM, .stream = s};
}

static void loss_suggest(sema_state *st, sema_suggest *s, int calls)
{
    loss_env *env = st->hook_data;
    if (calls)
        return;
    for (int m = 0; m < env->sg->n_models; m++) {
        const sema_netval *inst = &env->inst[m];
        sema_suggest_add(s, inst->binding);
        for (int o = 0; !inst->binding && o < inst->n_out; o++)
            sema_suggest_add(s, inst->out_names[o]);
    }
    for (int k = 0; k < env->sg->n_streams; k++)
        sema_suggest_add(s, stream_data(env, k)->name);
    sema_suggest_add(s, "label");
    sema_suggest_add(s, "image");
    sema_suggest_add(s, "progress");
}

/* "in model unet(levels = 3) of stage 'grow1'": the note under errors
 * inside a model's net, at its `model` item. */
static const char *model_note(sema_state *st, const seg_stage *sg, int m)
{
    const seg_stage_model *md = &sg->models[m];
    const sema_args *a = &((const sema_stage_impl *)sg->impl)->args[m];
    seg_buf b = {0};
    seg_buf_printf(&b, "in model %s%s%s(", md->binding ? md->binding : "",
                   md->binding ? " = " : "", md->net);
    for (int i = 0, n = 0; i < a->n; i++)
        if (a->given[i]) {
            seg_buf_printf(&b, "%s%s = ", n++ ? ", " : "", a->names[i]);
            sema_literal_print(st, a->v[i], &b);
        }
    seg_buf_printf(&b, ") of stage '%s'", sg->name);
    const char *s = seg_arena_strdup(st->arena, b.data);
    seg_buf_free(&b);
    return s;
}

/* Run every model on every stream of the stage. */
static int run_models(sema_state *st, loss_env *env)
{
    const seg_stage *sg = env->sg;
    const sema_stage_impl *im = sg->impl;
    int rc = 0;
    for (int k = 0; k < sg->n_streams; k++) {
        st->io_prefix = k ? stream_data(env, k)->name : NULL;
        for (int m = 0; m < sg->n_models; m++) {
            sema_netval *out = &env->inst[k * sg->n_models + m];
            sema_context_push(st, (sema_context){.at = sg->models[m].span,
                                                 .text = model_note(st, sg, m)});
            rc |= sema_run_net(st, im->nets[m], &im->args[m], sg->models[m].binding, out);
            sema_context_pop(st);
        }
    }
    st->io_prefix = NULL;
    return rc;
}

/* Outermost context of everything a stage graph builds: the schedule's
 * parameter values and the stage template it came from. */
static void stage_context(sema_state *st, const seg_schedule *s, const seg_stage *sg)
{
    const sema_stage_impl *im = sg->impl;
    if (s->n_args > 0) {
        seg_buf b = {0};
        seg_buf_printf(&b, "in schedule '%s' with ", s->name);
        for (int i = 0; i < s->n_args; i++)
            seg_buf_printf(&b, "%s%s = %s", i ? ", " : "", s->args[i].key, s->args[i].value);
        sema_context_push(st, (sema_context){.at = s->span,
                                             .text = seg_arena_strdup(st->arena, b.data)});
        seg_buf_free(&b);
    }
    if (im->tmpl)
        sema_context_push(st, (sema_context){.at = im->tmpl_at, .text = seg_arena_printf(
                                                 st->arena, "in stage template '%s' used here",
                                                 im->tmpl->name)});
}

static void loss_weights(sema_state *st, const seg_stage *sg)
{
    for (int i = 0; i < sg->n_weights; i++) {
        sema_value v = sema_eval(st, sg->weights[i].value);
        if (v.kind != VAL_TENSOR && !sema_val_is_number(v) && v.kind != VAL_ERROR) {
            sema_error(st, sg->weights[i].value->span, "weight '%s' must be a number or a "
                       "scalar expression, got %s", sg->weights[i].name, sema_value_desc(st, v));
            v = sema_val_error();
        }
        sema_slot_set(st, sg->weights[i].name, v, sg->weights[i].span);
    }
}

static int loss_output(sema_state *st, const seg_stage *sg)
{
    sema_value v = sema_eval(st, sg->loss);
    char buf[160];
    if (v.kind == VAL_ERROR)
        return -1;
    if (v.kind != VAL_TENSOR || sema_type_of(st, v.t)->rank != 0 ||
        sema_type_of(st, v.t)->dtype != RT_F32) {
        sema_error(st, sg->loss->span, "the loss must be a scalar f32 tensor (shape []), got %s%s",
                   v.kind == VAL_TENSOR ? rt_type_str(sema_type_of(st, v.t), buf, sizeof buf)
                                        : sema_kind_name(v.kind),
                   v.kind == VAL_TENSOR ? "; reduce it with mean() or sum()" : "");
        return -1;
    }
    ir_add_output(st->g, "loss", v.t);
    return 0;
}

static int run_loss(sema_state *st, loss_env *env)
{
    sema_frame f;
    const sema_stage_impl *im = env->sg->impl;
    sema_frame_push(st, &f, FRAME_LOSS, NULL);
    st->lookup_hook = loss_lookup;
    st->suggest_hook = loss_suggest;
    st->hook_data = env;
    sema_env_bind(st, &im->env, env->sg->span);
    /* a param() in the loss (a learnable temperature) is named loss.NAME */
    st->levels[0] = (sema_name_level){"loss", "loss"};
    loss_weights(st, env->sg);
    int rc = loss_output(st, env->sg);
    sema_frame_pop(st, &f);
    st->lookup_hook = NULL;
    st->suggest_hook = NULL;
    return rc;
}

static void bind_dims(sema_state *st, const seg_stage *sg)
{
    const sema_stage_impl *im = sg->impl;
    *sema_map_put(&st->dims, "B", 0) = sg->batch;
    for (int i = 0; i < im->n_dims; i++)
        *sema_map_put(&st->dims, im->dim_names[i], 0) = im->dim_vals[i];
}

ir_graph *sema_stage_build(seg_program *p, sema_seen *seen, seg_diag *d, const seg_schedule *s,
                           int stage, int training)
{
    const seg_stage *sg = &s->stages[stage];
    ir_graph *g = ir_graph_new(sg->name);
    g->file_names = seg_diag_file_names(d, &g->n_file_names);
    sema_state st;
    sema_state_init(&st, p, d, seen, g, training, NULL);
    st.share_inputs = 1;
    bind_dims(&st, sg);
    loss_env env = {s, sg, NULL, -1};
    if (sg->n_streams == 0 || sg->n_models == 0) {
        seg_diag_error(d, sg->span, "stage '%s' has no data or no model", sg->name);
        sema_state_free(&st);
        ir_graph_free(g);
        return NULL;
    }
    env.inst = seg_arena_alloc(st.arena, (size_t)(sg->n_streams * sg->n_models + 1) *
                                             sizeof *env.inst);
    stage_context(&st, s, sg);
    int rc = run_models(&st, &env);
    if (!rc)
        rc = run_loss(&st, &env);
    if (st.errors)
        rc = -1;
    sema_state_free(&st);
    if (rc) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

/* ------------------------------------------------------------- public */

ir_graph *seg_stage_model_graph(seg_program *p, const seg_schedule *s, int stage, int model,
                                int batch, seg_diag *d)
{
    if (!p || !s || stage < 0 || stage >= s->n_stages || model < 0 ||
        model >= s->stages[stage].n_models || batch < 1)
        return NULL;
    const seg_stage *sg = &s->stages[stage];
    const sema_stage_impl *im = sg->impl;
    ir_graph *g = ir_graph_new(sg->models[model].net);
    g->file_names = seg_diag_file_names(d, &g->n_file_names);
    sema_seen seen;
    sema_seen_init(&seen);
    sema_state st;
    sema_state_init(&st, p, d, &seen, g, 0, NULL);
    bind_dims(&st, sg);
    *sema_map_put(&st.dims, "B", 0) = batch;
    sema_netval out;
    int rc = sema_run_net(&st, im->nets[model], &im->args[model], sg->models[model].binding, &out);
    if (st.errors)
        rc = -1;
    sema_state_free(&st);
    sema_seen_free(&seen);
    if (rc) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

static void apply_freezing(ir_graph *g, const seg_stage *sg)
{
    sema_map train;
    sema_map_init(&train, 0);
    for (int i = 0; i < sg->n_trainable; i++)
        sema_map_put(&train, sg->trainable[i], 1);
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->op == OP_PARAM && !n->param->is_buffer)
            n->param->frozen = !sema_map_get(&train, n->name);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        const ir_node *gamma = n->op == OP_BATCHNORM ? &g->nodes[n->in[1]] : NULL;
        if (gamma && gamma->op == OP_PARAM && gamma->param->frozen)
            n->attrs.training = 0;
    }
    sema_map_free(&train);
}

ir_graph *seg_stage_graph(seg_program *p, const seg_schedule *s, int stage, int training,
                          seg_diag *d)
{
    if (!p || !s || stage < 0 || stage >= s->n_stages)
        return NULL;
    sema_seen seen;
    sema_seen_init(&seen);
    ir_graph *g = sema_stage_build(p, &seen, d, s, stage, training);
    sema_seen_free(&seen);
    if (g)
        apply_freezing(g, &s->stages[stage]);
    return g;
}
