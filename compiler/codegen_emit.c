/* codegen_emit.c — a kernel's LLVM IR written out for people to read
 * (`segc kir --emit-llvm`): the module as generated and after the JIT's
 * own optimisation pipeline for this CPU.
 */
#include "compiler.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>

static int ce_print(LLVMModuleRef m, const char *dir, const char *name, const char *ext,
                    rt_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
    char *msg = NULL;
    if (LLVMPrintModuleToFile(m, path, &msg)) {
        rt_error_set(err, "cannot write %s: %s", path, msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return -1;
    }
    return 0;
}

int cg_kernel_write_ll(rt_jit *j, const kir_kernel *k, const char *dir, const char *name,
                       rt_error *err)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = cg_conv_module(k, ctx, name);
    int rc = ce_print(m, dir, name, ".ll", err);
    char *msg = NULL;
    if (rc == 0 && LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        rt_error_set(err, "invalid module: %s", msg ? msg : "?");
        rc = -1;
    }
    LLVMDisposeMessage(msg);
    void *obj = NULL;
    size_t len = 0;
    if (rc == 0) /* runs the JIT's pass pipeline over m in place */
        rc = rt_jit_emit(j, m, &obj, &len, err);
    seg_free(obj);
    if (rc == 0)
        rc = ce_print(m, dir, name, ".opt.ll", err);
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    return rc;
}
