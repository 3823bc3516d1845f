/* fpmode.c — denormal floats flushed to zero on every thread that runs
 * kernels (MXCSR's FTZ and DAZ bits on x86-64).
 *
 * Why: a network's activations and gradients drift into the denormal
 * range (below 1.2e-38) late in training and in the far tails of
 * sigmoids, and on x86 every arithmetic instruction that meets one takes
 * a microcode assist of a hundred cycles or more; a PyTorch brain-mask
 * run here was 20-35 % slower from it. Flushing changes results only
 * where a denormal occurs, and then by less than 1.2e-38 per value.
 *
 * One process-wide setting, $SEGC_DENORMALS ("flush", the default, or
 * "keep"), read once. Pools capture it when they are made: their workers
 * set it when they start, and the calling thread takes the pool's mode
 * for the length of each job, so 1 and N threads compute in the same
 * mode. The CLI also sets it on the main thread before a command runs, so
 * what runs outside a pool agrees. OpenBLAS's own threads (the reference
 * interpreter's matrix products) keep their default, which is IEEE.
 */
#include "runtime/runtime.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
enum { FP_BITS = 0x8040 }; /* FTZ (bit 15) | DAZ (bit 6) */
static unsigned fp_get(void) { return _mm_getcsr(); }
static void fp_put(unsigned csr) { _mm_setcsr(csr); }
#else
enum { FP_BITS = 0 }; /* elsewhere: the platform's default, unchanged */
static unsigned fp_get(void) { return 0; }
static void fp_put(unsigned csr) { (void)csr; }
#endif

static int fp_flush = -1; /* -1: not read yet */

int rt_fp_denormals_resolve(rt_error *err)
{
    const char *v = getenv("SEGC_DENORMALS");
    int flush = 1;
    if (v && *v && strcmp(v, "flush") != 0) {
        if (strcmp(v, "keep") != 0) {
            fp_flush = 1;
            rt_error_set(err, "SEGC_DENORMALS must be 'flush' or 'keep', not '%s'", v);
            return -1;
        }
        flush = 0;
    }
    fp_flush = flush;
    return 0;
}

int rt_fp_denormals_flushed(void)
{
    if (fp_flush < 0) {
        rt_error err;
        rt_fp_denormals_resolve(&err); /* a bad value: flush (the CLI says so first) */
    }
    return fp_flush;
}

void rt_fp_denormals_set(int flush)
{
    fp_flush = flush != 0;
    rt_fp_thread_apply(fp_flush);
}

unsigned rt_fp_thread_apply(int flush)
{
    unsigned old = fp_get();
    fp_put(flush ? old | FP_BITS : old & ~(unsigned)FP_BITS);
    return old;
}

void rt_fp_thread_restore(unsigned saved) { fp_put(saved); }
