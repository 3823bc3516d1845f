/* program.c — ownership of rt_program, the runtime's executable form of a
 * graph (built by the compiler's ir_lower).
 *
 * A program is one heap record (seg_xcalloc) plus one arena holding
 * everything it points to: values, names, instructions, their input lists
 * and `where` strings, and the output tables. Freeing is therefore two
 * calls, and a program built by hand the same way (record from
 * seg_xcalloc, arrays from seg_arena_alloc on p->arena) is freed the same
 * way.
 */
#include "runtime.h"

void rt_program_free(rt_program *p)
{
    if (!p)
        return;
    seg_arena_free(p->arena);
    seg_free(p);
}
