/* lower.c — from graph IR to the runtime's straight-line program.
 *
 * Values map 1:1 onto nodes (value i is node i), so ids stay valid across
 * the boundary and a runtime error at value i points at node i. Inputs
 * become RT_VAL_INPUT, parameters RT_VAL_PARAM or RT_VAL_BUFFER with their
 * initialiser; every other node becomes an RT_VAL_TEMP computed by one
 * instruction, in node order (already topological). Constants are
 * instructions too (OP_CONST with attrs.value), so the interpreter fills
 * them like any other temporary.
 *
 * Each instruction carries `where`, "path/file.seg:LINE:COL: op", so a
 * kernel failure names the source call. The file is the path as the front
 * end registered it (what diagnostics print), not the base name.
 *
 * The program copies every string and array into its own arena and does
 * not point into the graph, which may be freed first.
 */
#include "compiler.h"

#include <string.h>

static const char *where_str(const ir_graph *g, const ir_node *n, seg_arena *arena)
{
    const char *file = "?";
    int f = n->span.file;
    if (g->file_names && f > 0 && f < g->n_file_names && g->file_names[f])
        file = g->file_names[f];
    return seg_arena_printf(arena, "%s:%d:%d: %s", file, n->span.line, n->span.col,
                            rt_op_table[n->op].name);
}

/* Does node n run as an instruction (everything but inputs and params)? */
static int is_instr(const ir_node *n) { return n->op != OP_INPUT && n->op != OP_PARAM; }

static void lower_value(const ir_node *n, rt_value *v, seg_arena *arena)
{
    v->type = n->type;
    v->kind = RT_VAL_TEMP;
    if (n->op == OP_INPUT)
        v->kind = RT_VAL_INPUT;
    if (n->op == OP_PARAM) {
        v->kind = n->param->is_buffer ? RT_VAL_BUFFER : RT_VAL_PARAM;
        v->init = n->param->init;
    }
    if (n->name)
        v->name = seg_arena_strdup(arena, n->name);
}

static void lower_instr(const ir_graph *g, ir_id id, rt_instr *ins, seg_arena *arena)
{
    const ir_node *n = &g->nodes[id];
    ins->op = n->op;
    ins->attrs = n->attrs;
    ins->n_in = n->n_in;
    ins->in = seg_arena_alloc(arena, (size_t)n->n_in * sizeof *ins->in);
    if (n->n_in)
        memcpy(ins->in, n->in, (size_t)n->n_in * sizeof *ins->in);
    ins->out = id;
    ins->where = where_str(g, n, arena);
}

static void lower_outputs(const ir_graph *g, rt_program *p)
{
    p->n_outputs = g->n_outputs;
    p->outputs = seg_arena_alloc(p->arena, (size_t)g->n_outputs * sizeof *p->outputs);
    p->output_names = seg_arena_alloc(p->arena, (size_t)g->n_outputs * sizeof *p->output_names);
    for (int i = 0; i < g->n_outputs; i++) {
        p->outputs[i] = g->outputs[i].id;
        p->output_names[i] = seg_arena_strdup(p->arena, g->outputs[i].name);
    }
}

rt_program *ir_lower(const ir_graph *g)
{
    rt_program *p = seg_xcalloc(1, sizeof *p);
    p->arena = seg_arena_new();
    p->n_values = g->n_nodes;
    p->values = seg_arena_alloc(p->arena, (size_t)g->n_nodes * sizeof *p->values);
    for (int i = 0; i < g->n_nodes; i++)
        p->n_instrs += is_instr(&g->nodes[i]);
    p->instrs = seg_arena_alloc(p->arena, (size_t)p->n_instrs * sizeof *p->instrs);
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        lower_value(&g->nodes[i], &p->values[i], p->arena);
        if (is_instr(&g->nodes[i]))
            lower_instr(g, i, &p->instrs[k++], p->arena);
    }
    lower_outputs(g, p);
    return p;
}
