/* codegen_peak.c — the FP32 FMA peak loop, built with the LLVM C API.
 *
 * `float NAME(i64 iters)` keeps cg_peak_chains(vl) independent vector
 * accumulators (more than FMA latency times FMA pipes, so the loop is
 * throughput-bound, and few enough to stay in registers with the two
 * operands: 24 of AVX-512's 32, 12 of AVX2's 16; 24 on AVX2 spilled to
 * the stack and measured half the peak) and does acc = fma(acc, a, b) on
 * each once per
 * iteration (a cg_loop carrying them: no iterations when iters <= 0),
 * summing them at the end so nothing is dead. segc bench and
 * bench/conv_bench measure it (each its own way: wall clock or thread CPU
 * time) to report kernels as a share of this machine's peak.
 */
#include "compiler/codegen_internal.h"

#include <stdio.h>
#include <string.h>

int cg_peak_chains(int vl) { return vl >= 16 ? CG_PEAK_CHAINS_MAX : 12; }

LLVMModuleRef cg_peak_module(LLVMContextRef ctx, int vl, const char *name)
{
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext(name, ctx);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(ctx), i64 = LLVMInt64TypeInContext(ctx);
    LLVMTypeRef vt = LLVMVectorType(f32, (unsigned)vl);
    LLVMValueRef fn = LLVMAddFunction(m, name, LLVMFunctionType(f32, &i64, 1, 0));
    char width[16];
    snprintf(width, sizeof width, "%d", vl * 32);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(ctx, "min-legal-vector-width", 22, width,
                                                      (unsigned)strlen(width)));
    unsigned id = LLVMLookupIntrinsicID("llvm.fma", 8);
    LLVMValueRef fma = LLVMGetIntrinsicDeclaration(m, id, &vt, 1);
    LLVMTypeRef fty = LLVMIntrinsicGetType(ctx, id, &vt, 1);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    int chains = cg_peak_chains(vl);
    LLVMValueRef ea[64], eb[64], acc[CG_PEAK_CHAINS_MAX];
    for (int k = 0; k < vl; k++) {
        ea[k] = LLVMConstReal(f32, 0.999);
        eb[k] = LLVMConstReal(f32, 1e-6);
    }
    LLVMValueRef a = LLVMConstVector(ea, (unsigned)vl), c = LLVMConstVector(eb, (unsigned)vl);
    for (int k = 0; k < chains; k++) {
        LLVMValueRef init[64];
        for (int l = 0; l < vl; l++)
            init[l] = LLVMConstReal(f32, k);
        acc[k] = LLVMConstVector(init, (unsigned)vl);
    }
    cg_loop loop; /* the accumulators are its phis: all phis first, then the FMAs */
    cg_loop_begin(&loop, b, LLVMConstInt(i64, 0, 0), LLVMGetParam(fn, 0), acc, chains);
    for (int k = 0; k < chains; k++) {
        LLVMValueRef args[3] = {acc[k], a, c};
        acc[k] = LLVMBuildCall2(b, fty, fma, args, 3, "");
    }
    cg_loop_end(&loop, acc);
    LLVMValueRef sum = acc[0];
    for (int k = 1; k < chains; k++)
        sum = LLVMBuildFAdd(b, sum, acc[k], "");
    LLVMBuildRet(b, LLVMBuildExtractElement(b, sum, LLVMConstInt(i64, 0, 0), ""));
    LLVMDisposeBuilder(b);
    return m;
}
