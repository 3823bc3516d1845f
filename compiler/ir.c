/* ir.c — building the graph IR.
 *
 * A graph is an array of nodes, appended in creation order; since a node
 * can only name nodes that already exist, the array is a topological
 * order and a node's id is its index. The node and output arrays grow by
 * doubling through seg_xrealloc; everything a node points to (names, input
 * lists, parameter records) lives in the graph's arena, so ir_graph_free
 * is four frees however large the graph.
 *
 * ir_add_op is the only way to create a computing node: it asks the op's
 * shape rule (shape.c) for the result type, so a graph never holds an
 * ill-typed node, then stores the attributes in canonical form
 * (ir_attrs_normalize). Parameters are found by name with a linear scan;
 * graphs hold at most a few thousand nodes, and a name is looked up once
 * per op that owns a parameter.
 */
#include "compiler.h"

#include <string.h>

ir_graph *ir_graph_new(const char *name)
{
    ir_graph *g = seg_xcalloc(1, sizeof *g);
    g->arena = seg_arena_new();
    g->name = seg_arena_strdup(g->arena, name ? name : "");
    return g;
}

void ir_graph_free(ir_graph *g)
{
    if (!g)
        return;
    seg_free(g->nodes);
    seg_free(g->outputs);
    seg_arena_free(g->arena);
    seg_free(g);
}

/* Append a node with default attributes; returns its id. The nodes array
 * may move, so callers re-fetch pointers after this. */
static ir_id node_push(ir_graph *g, rt_op op, const rt_type *t, seg_span span)
{
    SEG_ASSERT(t->rank >= 0 && t->rank <= RT_MAX_RANK);
    if (g->n_nodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 64;
        g->nodes = seg_xrealloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
    }
    ir_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    rt_attrs_init(&n->attrs);
    n->type = *t;
    n->span = span;
    return g->n_nodes++;
}

ir_id ir_add_input(ir_graph *g, const char *name, const rt_type *t, seg_span span)
{
    ir_id id = node_push(g, OP_INPUT, t, span);
    g->nodes[id].name = seg_arena_strdup(g->arena, name);
    return id;
}

static ir_id param_find(const ir_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_PARAM && strcmp(g->nodes[i].name, name) == 0)
            return i;
    return -1;
}

/* A second use of an existing parameter name: shared when it agrees. */
static ir_id param_reuse(const ir_graph *g, ir_id old, const rt_type *t, int is_buffer,
                         char *err, size_t errlen)
{
    const ir_node *n = &g->nodes[old];
    char have[160], need[160];
    if (rt_type_equal(&n->type, t) && n->param->is_buffer == is_buffer)
        return old;
    if (!err || !errlen)
        return -1;
    if (n->param->is_buffer != is_buffer)
        snprintf(err, errlen, "`%s` already exists as a %s; this use needs a %s", n->name,
                 is_buffer ? "parameter" : "buffer", is_buffer ? "buffer" : "parameter");
    else
        snprintf(err, errlen, "parameter `%s` already exists with type %s; this use needs %s",
                 n->name, rt_type_str(&n->type, have, sizeof have),
                 rt_type_str(t, need, sizeof need));
    return -1;
}

ir_id ir_add_param(ir_graph *g, const char *name, const rt_type *t, rt_init init,
                   int is_buffer, seg_span span, char *err, size_t errlen)
{
    ir_id old = param_find(g, name);
    if (old >= 0)
        return param_reuse(g, old, t, is_buffer, err, errlen);
    ir_id id = node_push(g, OP_PARAM, t, span);
    ir_node *n = &g->nodes[id];
    n->name = seg_arena_strdup(g->arena, name);
    n->param = seg_arena_alloc(g->arena, sizeof *n->param);
    n->param->init = init;
    n->param->is_buffer = is_buffer;
    n->param->group = "";
    return id;
}

ir_id ir_add_const(ir_graph *g, const rt_type *t, double value, seg_span span)
{
    ir_id id = node_push(g, OP_CONST, t, span);
    g->nodes[id].attrs.value = value;
    return id;
}

/* The input types of a new node, in a heap array the caller frees. */
static rt_type *input_types(const ir_graph *g, const ir_id *in, int n_in)
{
    rt_type *types = seg_xcalloc(n_in > 0 ? (size_t)n_in : 1, sizeof *types);
    for (int i = 0; i < n_in; i++) {
        SEG_ASSERT(in[i] >= 0 && in[i] < g->n_nodes);
        types[i] = g->nodes[in[i]].type;
    }
    return types;
}

ir_id ir_add_op(ir_graph *g, rt_op op, const rt_attrs *a, const ir_id *in, int n_in,
                const rt_type *want, seg_span span, char *err, size_t errlen)
{
    SEG_ASSERT(op >= 0 && op < OP_COUNT);
    unsigned fl = rt_op_table[op].flags;
    SEG_ASSERT(!(fl & RT_F_LEAF) || (fl & RT_F_RANDOM)); /* leaves have their own adders */
    SEG_ASSERT(n_in >= 0 && (n_in == 0 || in));
    rt_attrs attrs;
    if (a)
        attrs = *a;
    else
        rt_attrs_init(&attrs);
    rt_type *types = input_types(g, in, n_in), t;
    int rc = ir_infer_type(op, &attrs, types, n_in, want, &t, err, errlen);
    if (rc == 0)
        ir_attrs_normalize(op, &attrs, types);
    seg_free(types);
    if (rc)
        return -1;
    ir_id id = node_push(g, op, &t, span);
    ir_node *n = &g->nodes[id];
    n->attrs = attrs;
    n->n_in = n_in;
    n->in = seg_arena_alloc(g->arena, (size_t)n_in * sizeof *n->in);
    if (n_in)
        memcpy(n->in, in, (size_t)n_in * sizeof *n->in);
    return id;
}

void ir_add_output(ir_graph *g, const char *name, ir_id id)
{
    SEG_ASSERT(id >= 0 && id < g->n_nodes);
    if (g->n_outputs == g->cap_outputs) {
        g->cap_outputs = g->cap_outputs ? 2 * g->cap_outputs : 4;
        g->outputs = seg_xrealloc(g->outputs, (size_t)g->cap_outputs * sizeof *g->outputs);
    }
    g->outputs[g->n_outputs++] = (ir_output){seg_arena_strdup(g->arena, name), id};
}

int64_t ir_param_count(const ir_graph *g, int include_buffers)
{
    int64_t total = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->op == OP_PARAM && (include_buffers || !n->param->is_buffer))
            total += rt_type_numel(&n->type);
    }
    return total;
}

ir_id ir_find_output(const ir_graph *g, const char *name)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0)
            return g->outputs[i].id;
    return -1;
}

ir_id ir_find_input(const ir_graph *g, const char *name)
{
    for (ir_id i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == OP_INPUT && strcmp(g->nodes[i].name, name) == 0)
            return i;
    return -1;
}
