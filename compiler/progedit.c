/* progedit.c — small pieces shared by the passes that rewrite a lowered
 * program (fuse.c, fold_bn.c): a new program with the old one's values
 * and outputs, instruction copies into it, and who defines and reads
 * each value. A rewritten program owns everything in its own arena, so
 * the old one may be freed first.
 */
#include "compiler.h"

#include <string.h>

rt_program *prog_new_like(const rt_program *p, int extra_values)
{
    rt_program *q = seg_xcalloc(1, sizeof *q);
    q->arena = seg_arena_new();
    q->values = seg_arena_alloc(q->arena, (size_t)(p->n_values + extra_values + 1) * sizeof *q->values);
    for (int v = 0; v < p->n_values; v++) {
        q->values[v] = p->values[v];
        if (p->values[v].name)
            q->values[v].name = seg_arena_strdup(q->arena, p->values[v].name);
    }
    q->n_values = p->n_values;
    q->n_outputs = p->n_outputs;
    q->outputs = seg_arena_alloc(q->arena, (size_t)(p->n_outputs + 1) * sizeof *q->outputs);
    q->output_names = seg_arena_alloc(q->arena, (size_t)(p->n_outputs + 1) * sizeof *q->output_names);
    for (int o = 0; o < p->n_outputs; o++) {
        q->outputs[o] = p->outputs[o];
        q->output_names[o] = seg_arena_strdup(q->arena, p->output_names[o]);
    }
    return q;
}

void prog_copy_instr(rt_program *q, const rt_instr *ins, rt_instr *to)
{
    *to = *ins;
    to->in = seg_arena_alloc(q->arena, (size_t)(ins->n_in ? ins->n_in : 1) * sizeof *to->in);
    if (ins->n_in)
        memcpy(to->in, ins->in, (size_t)ins->n_in * sizeof *to->in);
    to->where = ins->where ? seg_arena_strdup(q->arena, ins->where) : NULL;
}

void prog_def_users(const rt_program *p, int *def, int *users)
{
    for (int v = 0; v < p->n_values; v++) {
        def[v] = -1;
        users[v] = 0;
    }
    for (int i = 0; i < p->n_instrs; i++) {
        def[p->instrs[i].out] = i;
        for (int k = 0; k < p->instrs[i].n_in; k++)
            users[p->instrs[i].in[k]]++;
    }
    for (int o = 0; o < p->n_outputs; o++)
        users[p->outputs[o]]++;
}
