/* pipeline.c — from a graph to a runnable program, the passes in their
 * one order (compiler.h "pipeline"): differentiate or expand grad(),
 * lower, fold batch norms and fuse (for the JIT), choose kernels, plan the
 * arena (temps and the kernels' workspaces), check that a program that
 * will run fits in memory, compile the kernels.
 *
 * The passes themselves know nothing of each other: fusion does not call
 * the JIT builder, and the memory plan learns the workspaces from the
 * kernel choice made here. Commands pick options, never the order.
 */
#include "compiler.h"

#include <string.h>

static double pl_ms(void) { return 1e3 * seg_seconds(); }

/* The graph to lower: a training step or the forward with grad() expanded
 * (a fresh graph either way). */
static ir_graph *pl_graph(const ir_graph *g, const pipeline_opts *o, pipeline_result *r,
                          rt_error *err)
{
    char msg[400];
    ir_graph *x = o->mode == PIPELINE_TRAIN
                      ? ir_training_graph(g, o->unfreeze, &r->n_forward, &r->ad, msg, sizeof msg)
                      : ir_expand_grads(g, &r->ad, msg, sizeof msg);
    if (!x) {
        rt_error_set(err, "%s", msg);
        return NULL;
    }
    if (o->mode != PIPELINE_TRAIN)
        r->n_forward = x->n_nodes;
    for (int i = 0; i < x->n_nodes; i++)
        *(i < r->n_forward ? &r->fwd_flops : &r->bwd_flops) += ir_node_flops(x, i);
    return x;
}

/* Batch norms folded, then every other fusion; p is taken over. */
static rt_program *pl_fuse(rt_program *p, fuse_stats *st)
{
    int folded = 0;
    rt_program *f = fold_bn_program(p, &folded);
    rt_program_free(p);
    rt_program *q = fuse_program(f, st);
    rt_program_free(f);
    st->bn_folded = folded;
    return q;
}

static void pl_lower(const ir_graph *x, const pipeline_opts *o, pipeline_result *r)
{
    rt_program *p = ir_lower(x);
    if (!o->jit) {
        mem_plan_attach(p, NULL);
        r->prog = p;
        return;
    }
    r->prog = pl_fuse(p, &r->fuse);
    int vl = o->host ? rt_jit_vector_width(o->host) : rt_jit_host_vector_width();
    r->kernels = jit_program_select(r->prog, vl);
    int64_t *ws = jit_program_workspace(r->kernels);
    mem_plan_attach(r->prog, ws);
    seg_free(ws);
}

int pipeline_build(const ir_graph *g, const pipeline_opts *o, pipeline_result *r, rt_error *err)
{
    memset(r, 0, sizeof *r);
    double t0 = pl_ms();
    ir_graph *x = pl_graph(g, o, r, err);
    if (!x)
        return PIPELINE_BAD_GRAPH;
    double t1 = pl_ms();
    pl_lower(x, o, r);
    if (o->keep_graph)
        r->graph = x;
    else
        ir_graph_free(x);
    double t2 = pl_ms();
    r->ms_graph = t1 - t0;
    r->ms_lower = t2 - t1;
    if (o->budget) {
        rt_budget_add_program(o->budget, r->prog);
        o->budget->jit |= r->kernels && o->compile;
        if (rt_budget_check(o->budget, err)) {
            pipeline_result_free(r);
            return PIPELINE_NO_MEMORY;
        }
    }
    if (!r->kernels || !o->compile)
        return PIPELINE_OK;
    if (jit_program_compile(r->kernels, r->prog, o->host, err)) {
        pipeline_result_free(r);
        return PIPELINE_JIT_FAILED;
    }
    r->ms_jit = pl_ms() - t2;
    if (o->log)
        jit_program_describe(r->kernels, o->what ? o->what : "program", o->log);
    return PIPELINE_OK;
}

void pipeline_result_free(pipeline_result *r)
{
    jit_program_free(r->kernels);
    rt_program_free(r->prog);
    if (r->graph)
        ir_graph_free(r->graph);
    memset(r, 0, sizeof *r);
}
