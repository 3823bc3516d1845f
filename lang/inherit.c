/* inherit.c — inheritance between stages must not fail silently.
 *
 * Parameters pass from stage to stage by name. When a stage runs a net
 * that an earlier stage trained, but under other names (the teacher was
 * trained unbound as `stem.*` and is now bound as `teacher.*`), the later
 * stage starts from random weights and nothing says so. Here, after a
 * stage's graph is built, each model is compared with the latest earlier
 * stage that had a model of the same net: if it takes over none of that
 * model's trained parameters, or less than half of them, that is a
 * warning at the model item, with a note at the earlier one.
 *
 * A parameter whose name an earlier stage had, but with another shape
 * (growing a V-Net from 3 to 4 levels gives `up.2.conv_t0.weight` other
 * channels), cannot be inherited: the trainer starts it from random
 * values. Trained in this stage, that is fine (the trainer's inheritance
 * line lists it as re-initialised); frozen, it would never train, so it
 * is an error at the selector that froze it, naming both stages and both
 * shapes. What a stage inherits comes from the latest earlier stage that
 * had the name (the store keeps every stage's whole network).
 */
#include "sema_internal.h"

#include <string.h>

/* Does parameter `name` belong to model m of stage sg? Bound models own
 * "binding.*"; the unbound one owns what no binding claims. */
static int owned_by(const seg_stage *sg, int m, const char *name)
{
    const char *b = sg->models[m].binding;
    if (b) {
        size_t n = strlen(b);
        return strncmp(name, b, n) == 0 && name[n] == '.';
    }
    for (int k = 0; k < sg->n_models; k++) {
        const char *o = sg->models[k].binding;
        size_t n = o ? strlen(o) : 0;
        if (o && strncmp(name, o, n) == 0 && name[n] == '.')
            return 0;
    }
    return 1;
}

static int graph_has_param(const ir_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_PARAM && strcmp(g->nodes[i].name, name) == 0)
            return 1;
    return 0;
}

/* The latest earlier stage with a model of net `net`; its model index in *m. */
static const seg_stage *earlier_model(const seg_schedule *s, int before, const char *net, int *m)
{
    for (int j = before - 1; j >= 0; j--)
        for (int k = 0; k < s->stages[j].n_models; k++)
            if (strcmp(s->stages[j].models[k].net, net) == 0) {
                *m = k;
                return &s->stages[j];
            }
    return NULL;
}

static void check_model(sema_sched_ctx *c, const ir_graph *g, int m)
{
    const seg_stage *sg = c->stage;
    int pm;
    const seg_stage *prev = earlier_model(c->s, sg->index, sg->models[m].net, &pm);
    if (!prev)
        return;
    int trained = 0, kept = 0;
    const char *example = NULL;
    for (int i = 0; i < prev->n_trainable; i++) {
        if (!owned_by(prev, pm, prev->trainable[i]))
            continue;
        trained++;
        kept += graph_has_param(g, prev->trainable[i]);
        example = example ? example : prev->trainable[i];
    }
    if (trained == 0 || 2 * kept >= trained)
        return;
    const char *as = sg->models[m].binding ? sg->models[m].binding : "(unbound)";
    const char *was = prev->models[pm].binding ? prev->models[pm].binding : "(unbound)";
    if (sema_warning(&c->st, sg->models[m].span, "model %s of net '%s' takes over %d of the %d "
                     "parameters stage '%s' trained for it: it starts %s", as,
                     sg->models[m].net, kept, trained, prev->name,
                     kept ? "mostly from scratch" : "from scratch"))
        sema_note(&c->st, prev->models[pm].span, "stage '%s' trained it as model %s (e.g. '%s'); "
                  "parameters pass by name, so bind the model the same way in both stages",
                  prev->name, was, example);
}

/* ------------------------------------------------------ changed shapes */

/* The type name had in the latest stage before `before` that had it. */
static const rt_type *inherited_type(const seg_schedule *s, int before, const char *name,
                                     const seg_stage **from)
{
    for (int j = before - 1; j >= 0; j--) {
        const sema_stage_impl *im = s->stages[j].impl;
        for (int i = 0; im && i < im->n_params; i++)
            if (strcmp(im->param_names[i], name) == 0) {
                *from = &s->stages[j];
                return &im->param_types[i];
            }
    }
    return NULL;
}

static int is_trainable(const seg_stage *sg, const char *name)
{
    for (int i = 0; i < sg->n_trainable; i++)
        if (strcmp(sg->trainable[i], name) == 0)
            return 1;
    return 0;
}

/* Where the stage froze name: its first matching freeze selector, else
 * (no train selector took it) the stage. */
static seg_span frozen_at(const sema_sched_ctx *c, const char *name)
{
    const seg_stage *sg = c->stage;
    for (int i = 0; i < sg->n_freeze; i++)
        if (seg_selector_match(c->s, &sg->freeze[i], name))
            return sg->freeze[i].span;
    return sg->span;
}

static void check_shape(sema_sched_ctx *c, const ir_node *n)
{
    const seg_stage *from = NULL;
    const rt_type *was = inherited_type(c->s, c->stage->index, n->name, &from);
    if (!was || rt_type_equal(was, &n->type) || n->param->is_buffer ||
        is_trainable(c->stage, n->name))
        return;
    char a[160], b[160];
    if (sema_error(&c->st, frozen_at(c, n->name), "parameter '%s' is frozen in stage '%s' but "
                   "its shape changed: %s here, %s in stage '%s'; it cannot be inherited, so it "
                   "would start from random values and never train", n->name, c->stage->name,
                   rt_type_str(&n->type, a, sizeof a), rt_type_str(was, b, sizeof b), from->name))
        sema_note(&c->st, from->span, "stage '%s' made '%s' %s; train it in stage '%s' (it is "
                  "then re-initialised), or keep its shape", from->name, n->name, b,
                  c->stage->name);
}

/* The stage's parameters and their types, for the stages after it. */
static void record_params(sema_sched_ctx *c, const ir_graph *g)
{
    sema_stage_impl *im = c->impl;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += g->nodes[i].op == OP_PARAM;
    im->param_names = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *im->param_names);
    im->param_types = seg_arena_alloc(c->p->arena, (size_t)(n + 1) * sizeof *im->param_types);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_PARAM) {
            im->param_names[im->n_params] = seg_arena_strdup(c->p->arena, g->nodes[i].name);
            im->param_types[im->n_params++] = g->nodes[i].type;
        }
}

void sema_stage_inheritance(sema_sched_ctx *c, const ir_graph *g)
{
    for (int m = 0; m < c->stage->n_models; m++)
        check_model(c, g, m);
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_PARAM)
            check_shape(c, &g->nodes[i]);
    record_params(c, g);
}
