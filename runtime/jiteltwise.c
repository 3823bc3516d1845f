/* jiteltwise.c — runs generated kernels of fused groups (runtime.h
 * "rt_eltwise_kernel"): the operands' data pointers in an array, the
 * tasks on the pool. The kernel reads operands in their plain layout and
 * writes every element of out, so nothing needs converting or zeroing. */
#include "runtime/runtime.h"

#define JE_MAX_IN 16

typedef struct je_job {
    rt_eltwise_fn fn;
    void *in[JE_MAX_IN];
    void *out;
} je_job;

static void je_task(void *arg, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const je_job *j = arg;
    j->fn(j->in, j->out, begin, end);
}

void rt_eltwise_kernel_run(const rt_eltwise_kernel *k, rt_pool *p, rt_tensor *const *in, int n_in,
                           rt_tensor *out)
{
    SEG_ASSERT(n_in <= JE_MAX_IN);
    je_job j = {.fn = k->fn, .out = out->data};
    for (int i = 0; i < n_in; i++)
        j.in[i] = in[i]->data;
    rt_pool_run(p, k->tasks, je_task, &j);
}
