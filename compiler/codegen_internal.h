/* codegen_internal.h — what the LLVM code generators share: codegen_llvm.c
 * (convolutions), codegen_eltwise.c (fused elementwise groups) and
 * codegen_peak.c (the FMA peak loop). Private to them; the rest of the
 * compiler sees only compiler.h.
 */
#ifndef SEGC_CODEGEN_INTERNAL_H
#define SEGC_CODEGEN_INTERNAL_H

#include "compiler/compiler.h"

#include <llvm-c/Core.h>

#define CG_LOOP_MAX_VALS 32 /* values one loop carries: a conv register tile at most */

/* A counted loop, for (i = lo; i < hi; i++) over i64 with a signed
 * compare, built as head (the phis and the test), body and exit blocks.
 * Values carried around it (accumulators) are phis in the head, so they
 * stay in registers. (codegen_loop.c) */
typedef struct cg_loop {
    LLVMBuilderRef b;                        /* the builder it was opened with */
    LLVMBasicBlockRef head, body, exit;
    LLVMValueRef iv;                         /* induction variable (a phi) */
    LLVMValueRef phis[CG_LOOP_MAX_VALS];     /* carried values */
    int n;                                   /* how many */
} cg_loop;

/* Open a loop over [lo, hi) at b's position, appending its blocks to the
 * current function; vals[0..n) become phis, and the builder is left in
 * the body. */
void cg_loop_begin(cg_loop *l, LLVMBuilderRef b, LLVMValueRef lo, LLVMValueRef hi,
                   LLVMValueRef *vals, int n);
/* Close the loop at the builder's position: vals are the values at the
 * end of the body; afterwards they are the phis (the values on exit) and
 * the builder is in the exit block. Returns the back edge branch (for
 * loop metadata). */
LLVMValueRef cg_loop_end(cg_loop *l, LLVMValueRef *vals);

#endif
