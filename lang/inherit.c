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

void sema_stage_inheritance(sema_sched_ctx *c, const ir_graph *g)
{
    for (int m = 0; m < c->stage->n_models; m++)
        check_model(c, g, m);
}
