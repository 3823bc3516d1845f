/* codegen_peak.c — the FP32 FMA peak loop, built with the LLVM C API.
 *
 * `float NAME(i64 iters)` keeps CG_PEAK_CHAINS independent vector
 * accumulators (more than FMA latency times FMA pipes, so the loop is
 * throughput-bound) and does acc = fma(acc, a, b) on each once per
 * iteration, summing them at the end so nothing is dead. segc bench and
 * bench/conv_bench measure it (each its own way: wall clock or thread CPU
 * time) to report kernels as a share of this machine's peak.
 */
#include "compiler.h"

#include <llvm-c/Core.h>
#include <stdio.h>
#include <string.h>

#define PEAK_CHAINS CG_PEAK_CHAINS

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
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry"),
                      loop = LLVMAppendBasicBlockInContext(ctx, fn, "loop"),
                      done = LLVMAppendBasicBlockInContext(ctx, fn, "done");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMBuildBr(b, loop);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i"), acc[PEAK_CHAINS], next[PEAK_CHAINS];
    LLVMValueRef zero = LLVMConstInt(i64, 0, 0), one = LLVMConstInt(i64, 1, 0);
    LLVMValueRef ea[64], eb[64];
    for (int k = 0; k < vl; k++) {
        ea[k] = LLVMConstReal(f32, 0.999);
        eb[k] = LLVMConstReal(f32, 1e-6);
    }
    LLVMValueRef a = LLVMConstVector(ea, (unsigned)vl), c = LLVMConstVector(eb, (unsigned)vl);
    for (int k = 0; k < PEAK_CHAINS; k++) {
        LLVMValueRef init[64];
        for (int l = 0; l < vl; l++)
            init[l] = LLVMConstReal(f32, k);
        LLVMValueRef iv = LLVMConstVector(init, (unsigned)vl);
        acc[k] = LLVMBuildPhi(b, vt, ""); /* all phis first, then the FMAs */
        LLVMAddIncoming(acc[k], &iv, &entry, 1);
    }
    for (int k = 0; k < PEAK_CHAINS; k++) {
        LLVMValueRef args[3] = {acc[k], a, c};
        next[k] = LLVMBuildCall2(b, fty, fma, args, 3, "");
    }
    LLVMValueRef in = LLVMBuildAdd(b, i, one, "");
    LLVMAddIncoming(i, &zero, &entry, 1);
    LLVMAddIncoming(i, &in, &loop, 1);
    for (int k = 0; k < PEAK_CHAINS; k++)
        LLVMAddIncoming(acc[k], &next[k], &loop, 1);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, in, LLVMGetParam(fn, 0), ""), loop, done);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMValueRef sum = next[0];
    for (int k = 1; k < PEAK_CHAINS; k++)
        sum = LLVMBuildFAdd(b, sum, next[k], "");
    LLVMBuildRet(b, LLVMBuildExtractElement(b, sum, zero, ""));
    LLVMDisposeBuilder(b);
    return m;
}
