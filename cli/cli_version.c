/* cli_version.c — `segc --version`: what a run's numbers and speed depend
 * on, for bug reports and benchmark notes: segc's version, the LLVM the
 * JIT links, the OpenBLAS build the reference convolutions call, and the
 * CPU the JIT compiles for with the features it enables (the same host
 * description that keys the kernel cache). Builds an LLJIT to ask LLVM;
 * no kernel is compiled.
 */
#include "cli.h"

#include <string.h>

/* The enabled ("+name") entries of LLVM's feature string, wrapped. */
static void print_features(const char *features)
{
    const char *p = features;
    int col = 0;
    printf("  features:");
    col = 11;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 1 && p[0] == '+') {
            if (col + (int)n > 78) {
                printf("\n           ");
                col = 11;
            }
            printf(" %.*s", (int)n - 1, p + 1);
            col += (int)n;
        }
        p = end ? end + 1 : NULL;
    }
    printf("\n");
}

static const char *vector_isa(int lanes)
{
    return lanes == 16 ? "AVX-512" : lanes == 8 ? "AVX2" : "portable 128-bit vectors";
}

int cli_print_version(void)
{
    char llvm[32];
    rt_llvm_version(llvm, sizeof llvm);
    printf("segc %s\nLLVM %s\nOpenBLAS: %s\n", SEGC_VERSION, llvm, rt_blas_config());
    rt_error err = {{0}};
    rt_jit *j = rt_jit_new(&err);
    if (!j) {
        printf("JIT: unavailable: %s\n", err.msg);
        return CLI_OK;
    }
    const char *target = rt_jit_target(j); /* "triple cpu features ..." */
    const char *sp = strchr(target, ' ');
    printf("JIT: %.*s, CPU %s, kernels use %s (%d f32 lanes)\n",
           (int)(sp ? sp - target : (long)strlen(target)), target, rt_jit_cpu(j),
           vector_isa(rt_jit_vector_width(j)), rt_jit_vector_width(j));
    print_features(rt_jit_features(j));
    rt_jit_free(j);
    return CLI_OK;
}
