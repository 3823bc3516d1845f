/* codegen_loop.c — the counted loop every LLVM code generator builds
 * (codegen_internal.h): an i64 induction variable from lo, tested i < hi
 * (signed) at the top, stepped by a no-signed-wrap add of 1 at the bottom,
 * carrying values as phis. LLVM's loop passes rotate it into a
 * bottom-tested loop behind a guard.
 */
#include "compiler/codegen_internal.h"

void cg_loop_begin(cg_loop *l, LLVMBuilderRef b, LLVMValueRef lo, LLVMValueRef hi,
                   LLVMValueRef *vals, int n)
{
    SEG_ASSERT(n >= 0 && n <= CG_LOOP_MAX_VALS);
    SEG_ASSERT(LLVMGetTypeKind(LLVMTypeOf(lo)) == LLVMIntegerTypeKind &&
               LLVMGetIntTypeWidth(LLVMTypeOf(lo)) == 64);
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
    LLVMValueRef fn = LLVMGetBasicBlockParent(pre);
    LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(lo));
    l->b = b;
    l->head = LLVMAppendBasicBlockInContext(ctx, fn, "head");
    l->body = LLVMAppendBasicBlockInContext(ctx, fn, "body");
    l->exit = LLVMAppendBasicBlockInContext(ctx, fn, "exit");
    l->n = n;
    LLVMBuildBr(b, l->head);
    LLVMPositionBuilderAtEnd(b, l->head);
    l->iv = LLVMBuildPhi(b, LLVMTypeOf(lo), "i");
    LLVMAddIncoming(l->iv, &lo, &pre, 1);
    for (int i = 0; i < n; i++) {
        l->phis[i] = LLVMBuildPhi(b, LLVMTypeOf(vals[i]), "");
        LLVMAddIncoming(l->phis[i], &vals[i], &pre, 1);
        vals[i] = l->phis[i];
    }
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, l->iv, hi, ""), l->body, l->exit);
    LLVMPositionBuilderAtEnd(b, l->body);
}

LLVMValueRef cg_loop_end(cg_loop *l, LLVMValueRef *vals)
{
    LLVMBuilderRef b = l->b;
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    LLVMValueRef next = LLVMBuildNSWAdd(b, l->iv, LLVMConstInt(LLVMTypeOf(l->iv), 1, 1), "");
    LLVMAddIncoming(l->iv, &next, &latch, 1);
    for (int i = 0; i < l->n; i++) {
        LLVMAddIncoming(l->phis[i], &vals[i], &latch, 1);
        vals[i] = l->phis[i];
    }
    LLVMValueRef br = LLVMBuildBr(b, l->head);
    LLVMPositionBuilderAtEnd(b, l->exit);
    return br;
}
