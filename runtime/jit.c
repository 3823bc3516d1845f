/* jit.c — segc's JIT engine: ORC LLJIT through LLVM's C API, and the
 * on-disk cache of compiled kernel objects.
 *
 * Engine. rt_jit_new makes one LLJIT for the host (LLVMGetHostCPUName /
 * Features, codegen level 3) plus a second target machine of the same
 * description that this file keeps for itself: rt_jit_emit runs the new
 * pass manager ("default<O3>") over a module and emits an ELF object into
 * memory with it. Kernels always enter the LLJIT as objects
 * (LLVMOrcLLJITAddObjectFileWithRT), whether just compiled or read back
 * from the cache, so the cold and the warm path link the same way;
 * rt_jit_add_module is the IR route (a ThreadSafeModule) for code that is
 * not worth caching. Each added object or module gets its own resource
 * tracker, so it can be removed alone. Loaded code is refcounted by symbol
 * name: adding a symbol that is already loaded reuses it (one JITDylib
 * cannot define a name twice), and rt_jit_release removes the tracker when
 * the last user lets go. Symbols the code calls (memset, runtime helpers)
 * resolve through a process symbol generator on the main JITDylib.
 *
 * Cache: jit_cache.c keeps compiled objects on disk, keyed by
 * rt_jit_cache_text (the kernel description plus the target triple, CPU
 * name and features, LLVM version and segc version) and named by
 * rt_jit_key_of, the 128-bit hash defined here.
 */
#include "runtime/runtime.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One loaded object: a resource tracker and the address of its symbol. */
struct rt_jit_code {
    char *symbol;                  /* the kernel's entry point */
    LLVMOrcResourceTrackerRef rt;  /* owns the linked code */
    uint64_t addr;                 /* looked up once after adding */
    int refs;                      /* users; removed at 0 */
    struct rt_jit_code *next;      /* rt_jit.codes list */
};

struct rt_jit {
    LLVMOrcLLJITRef lljit;         /* owns its own target machine */
    LLVMTargetMachineRef tm;       /* ours: passes and object emission */
    char *triple, *cpu, *features; /* host description (seg-owned copies) */
    char *target;                  /* one-line summary, part of cache keys */
    int vl;                        /* f32 lanes of the widest vector unit */
    pthread_mutex_t lock;          /* guards codes and LLJIT calls */
    rt_jit_code *codes;            /* loaded objects */
};

/* ------------------------------------------------------------ errors */

/* Copy an LLVMErrorRef's message into err and dispose it. */
static int jit_fail(rt_error *err, const char *what, LLVMErrorRef e)
{
    char *m = LLVMGetErrorMessage(e); /* consumes e */
    rt_error_set(err, "jit: %s: %s", what, m);
    LLVMDisposeErrorMessage(m);
    return -1;
}

/* Copy a char* message (LLVMDisposeMessage-owned) into err and dispose it. */
static int jit_fail_msg(rt_error *err, const char *what, char *m)
{
    rt_error_set(err, "jit: %s: %s", what, m ? m : "unknown error");
    LLVMDisposeMessage(m);
    return -1;
}

/* ------------------------------------------------------------ engine */

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static int llvm_init_failed;

/* Out of memory inside LLVM. Its C API has no hook for it: C++ `new`
 * throws std::bad_alloc, which ends in std::terminate (abort), and LLVM's
 * own allocations call report_bad_alloc_error, which aborts. These two C++
 * entry points, declared by their Itanium-ABI names (both exported:
 * libstdc++ and libLLVM), send both to seg_out_of_memory, like any other
 * allocation failure in segc: a message and exit 70, not an abort. */
typedef void (*jit_new_handler_fn)(void);
typedef void (*jit_bad_alloc_fn)(void *user, const char *reason, _Bool crash_diag);
jit_new_handler_fn _ZSt15set_new_handlerPFvvE(jit_new_handler_fn h);
void _ZN4llvm31install_bad_alloc_error_handlerEPFvPvPKcbES0_(jit_bad_alloc_fn h, void *user);

static void jit_new_failed(void) { seg_out_of_memory(0); }

static void jit_bad_alloc(void *user, const char *reason, _Bool crash_diag)
{
    (void)user, (void)reason, (void)crash_diag;
    seg_out_of_memory(0);
}

static void llvm_init(void)
{
    _ZSt15set_new_handlerPFvvE(jit_new_failed);
    _ZN4llvm31install_bad_alloc_error_handlerEPFvPvPKcbES0_(jit_bad_alloc, NULL);
    llvm_init_failed = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter();
}

/* Host triple, CPU and features as seg-owned strings. */
/* f32 lanes of the widest vector unit the features name. */
static int jit_lanes(const char *features)
{
    return strstr(features, "+avx512f") ? 16 : strstr(features, "+avx2") ? 8 : 4;
}

static void jit_host(rt_jit *j)
{
    char *t = LLVMGetDefaultTargetTriple(), *c = LLVMGetHostCPUName(),
         *f = LLVMGetHostCPUFeatures();
    j->triple = seg_xstrdup(t);
    j->cpu = seg_xstrdup(c);
    j->features = seg_xstrdup(f);
    LLVMDisposeMessage(t);
    LLVMDisposeMessage(c);
    LLVMDisposeMessage(f);
    j->vl = jit_lanes(j->features);
    unsigned ma, mi, pa;
    LLVMGetVersion(&ma, &mi, &pa);
    seg_buf b = {0};
    seg_buf_printf(&b, "%s %s %s llvm-%u.%u.%u segc-%s", j->triple, j->cpu, j->features, ma,
                   mi, pa, SEGC_VERSION);
    j->target = b.data; /* ownership: the buffer's data moves to j */
}

/* A target machine for the host at codegen level 3. */
static int jit_make_tm(const rt_jit *j, LLVMTargetMachineRef *tm, rt_error *err)
{
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(j->triple, &target, &msg))
        return jit_fail_msg(err, "target lookup", msg);
    *tm = LLVMCreateTargetMachine(target, j->triple, j->cpu, j->features,
                                  LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                  LLVMCodeModelSmall);
    if (!*tm) {
        rt_error_set(err, "jit: cannot create a target machine for %s", j->triple);
        return -1;
    }
    return 0;
}

/* The LLJIT, with its own copy of the target machine and a generator that
 * resolves process symbols. */
static int jit_make_lljit(rt_jit *j, rt_error *err)
{
    LLVMTargetMachineRef tm;
    if (jit_make_tm(j, &tm, err))
        return -1;
    /* ownership: tm is consumed by the JTMB, the JTMB by the builder, the
     * builder by LLVMOrcCreateLLJIT (even when it fails). */
    LLVMOrcJITTargetMachineBuilderRef jtmb =
        LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm);
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&j->lljit, builder);
    if (e) {
        j->lljit = NULL;
        return jit_fail(err, "create LLJIT", e);
    }
    LLVMOrcDefinitionGeneratorRef gen;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(j->lljit), NULL, NULL);
    if (e)
        return jit_fail(err, "process symbol generator", e);
    /* ownership: gen moves to the main JITDylib. */
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->lljit), gen);
    return 0;
}

rt_jit *rt_jit_new(rt_error *err)
{
    pthread_once(&llvm_once, llvm_init);
    if (llvm_init_failed) {
        rt_error_set(err, "jit: LLVM has no native target for this host");
        return NULL;
    }
    rt_jit *j = seg_xcalloc(1, sizeof *j);
    pthread_mutex_init(&j->lock, NULL);
    jit_host(j);
    if (jit_make_tm(j, &j->tm, err) || jit_make_lljit(j, err))
        goto fail;
    return j;
fail:
    rt_jit_free(j);
    return NULL;
}

void rt_jit_free(rt_jit *j)
{
    if (!j)
        return;
    for (rt_jit_code *c = j->codes, *next; c; c = next) {
        next = c->next;
        LLVMOrcReleaseResourceTracker(c->rt);
        seg_free(c->symbol);
        seg_free(c);
    }
    if (j->lljit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->lljit); /* frees all linked code */
        if (e) {
            rt_error tmp;
            jit_fail(&tmp, "dispose", e); /* nothing to report to; drop it */
        }
    }
    if (j->tm)
        LLVMDisposeTargetMachine(j->tm);
    pthread_mutex_destroy(&j->lock);
    seg_free(j->triple);
    seg_free(j->cpu);
    seg_free(j->features);
    seg_free(j->target);
    seg_free(j);
}

int rt_jit_host_vector_width(void)
{
    char *f = LLVMGetHostCPUFeatures();
    int vl = jit_lanes(f);
    LLVMDisposeMessage(f);
    return vl;
}

int rt_jit_vector_width(const rt_jit *j) { return j->vl; }
const char *rt_jit_target(const rt_jit *j) { return j->target; }
const char *rt_jit_cpu(const rt_jit *j) { return j->cpu; }
const char *rt_jit_features(const rt_jit *j) { return j->features; }

void rt_llvm_version(char *buf, size_t n)
{
    unsigned ma, mi, pa;
    LLVMGetVersion(&ma, &mi, &pa);
    snprintf(buf, n, "%u.%u.%u", ma, mi, pa);
}

/* Give m the JIT's triple and data layout (of target machine tm). */
static void jit_set_target(const rt_jit *j, LLVMTargetMachineRef tm, LLVMModuleRef m)
{
    LLVMSetTarget(m, j->triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    char *dl = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(m, dl);
    LLVMDisposeMessage(dl);
    LLVMDisposeTargetData(td);
}

/* Verify-free O3 over m (the module was built by our own generator). */
static int jit_optimize(const rt_jit *j, LLVMTargetMachineRef tm, LLVMModuleRef m, rt_error *err)
{
    jit_set_target(j, tm, m);
    LLVMPassBuilderOptionsRef opt = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(m, "default<O3>", tm, opt);
    LLVMDisposePassBuilderOptions(opt);
    return e ? jit_fail(err, "optimize", e) : 0;
}

/* Optimise m and emit it as an object with target machine tm. */
static int jit_emit_tm(const rt_jit *j, LLVMTargetMachineRef tm, LLVMModuleRef m, void **obj,
                       size_t *len, rt_error *err)
{
    *obj = NULL;
    *len = 0;
    if (jit_optimize(j, tm, m, err))
        return -1;
    char *msg = NULL;
    LLVMMemoryBufferRef buf = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &buf))
        return jit_fail_msg(err, "emit object", msg);
    *len = LLVMGetBufferSize(buf);
    *obj = seg_xrealloc(NULL, *len);
    memcpy(*obj, LLVMGetBufferStart(buf), *len);
    LLVMDisposeMemoryBuffer(buf);
    return 0;
}

int rt_jit_emit(rt_jit *j, struct LLVMOpaqueModule *m, void **obj, size_t *len, rt_error *err)
{
    return jit_emit_tm(j, j->tm, m, obj, len, err);
}

/* A target machine per emitting thread: LLVM's are not thread-safe. */
struct rt_jit_emitter {
    const rt_jit *jit;
    LLVMTargetMachineRef tm;
};

rt_jit_emitter *rt_jit_emitter_new(const rt_jit *j, rt_error *err)
{
    rt_jit_emitter *e = seg_xcalloc(1, sizeof *e);
    e->jit = j;
    if (jit_make_tm(j, &e->tm, err)) {
        seg_free(e);
        return NULL;
    }
    return e;
}

void rt_jit_emitter_free(rt_jit_emitter *e)
{
    if (!e)
        return;
    LLVMDisposeTargetMachine(e->tm);
    seg_free(e);
}

int rt_jit_emit_on(rt_jit_emitter *e, struct LLVMOpaqueModule *m, void **obj, size_t *len,
                   rt_error *err)
{
    return jit_emit_tm(e->jit, e->tm, m, obj, len, err);
}

/* ------------------------------------------------------ loaded code */

static rt_jit_code *jit_find(rt_jit *j, const char *symbol)
{
    for (rt_jit_code *c = j->codes; c; c = c->next)
        if (strcmp(c->symbol, symbol) == 0)
            return c;
    return NULL;
}

/* Look up symbol after rt's code was added; on failure remove rt again. */
static int jit_finish_add(rt_jit *j, const char *symbol, LLVMOrcResourceTrackerRef rt,
                          rt_jit_code **out, rt_error *err)
{
    uint64_t addr = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(j->lljit, &addr, symbol);
    if (e) {
        jit_fail(err, symbol, e);
        LLVMErrorRef e2 = LLVMOrcResourceTrackerRemove(rt);
        if (e2)
            LLVMConsumeError(e2); /* the first error is the one to report */
        LLVMOrcReleaseResourceTracker(rt);
        return -1;
    }
    rt_jit_code *c = seg_xcalloc(1, sizeof *c);
    c->symbol = seg_xstrdup(symbol);
    c->rt = rt;
    c->addr = addr;
    c->refs = 1;
    c->next = j->codes;
    j->codes = c;
    *out = c;
    return 0;
}

/* Reuse a loaded symbol: 1 if found (and *out set), else 0. */
static int jit_reuse(rt_jit *j, const char *symbol, rt_jit_code **out)
{
    rt_jit_code *c = jit_find(j, symbol);
    if (!c)
        return 0;
    c->refs++;
    *out = c;
    return 1;
}

int rt_jit_add_object(rt_jit *j, const char *symbol, const void *obj, size_t len,
                      rt_jit_code **out, rt_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&j->lock);
    int rc = 0;
    if (jit_reuse(j, symbol, out))
        goto done;
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, len, symbol);
    LLVMOrcResourceTrackerRef rt =
        LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(j->lljit));
    /* ownership: buf moves to the LLJIT, success or not. */
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(j->lljit, rt, buf);
    if (e) {
        LLVMOrcReleaseResourceTracker(rt);
        rc = jit_fail(err, "add object", e);
        goto done;
    }
    rc = jit_finish_add(j, symbol, rt, out, err);
done:
    pthread_mutex_unlock(&j->lock);
    return rc;
}

struct LLVMOpaqueContext *rt_jit_tsc_context(rt_jit_tsc *t)
{
    return LLVMOrcThreadSafeContextGetContext((LLVMOrcThreadSafeContextRef)t);
}

rt_jit_tsc *rt_jit_tsc_new(void)
{
    return (rt_jit_tsc *)LLVMOrcCreateNewThreadSafeContext();
}

void rt_jit_tsc_free(rt_jit_tsc *t)
{
    if (t)
        LLVMOrcDisposeThreadSafeContext((LLVMOrcThreadSafeContextRef)t);
}

int rt_jit_add_module(rt_jit *j, rt_jit_tsc *tsc, struct LLVMOpaqueModule *m,
                      const char *symbol, rt_jit_code **out, rt_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&j->lock);
    int rc = 0;
    if (jit_reuse(j, symbol, out)) {
        LLVMDisposeModule(m); /* ownership: m was handed to us */
        goto done;
    }
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        LLVMDisposeModule(m);
        rc = jit_fail_msg(err, "invalid module", msg);
        goto done;
    }
    LLVMDisposeMessage(msg);
    if (jit_optimize(j, j->tm, m, err)) {
        LLVMDisposeModule(m);
        rc = -1;
        goto done;
    }
    /* ownership: m moves into the TSM (which shares tsc's context), the
     * TSM into the LLJIT, success or not. */
    LLVMOrcThreadSafeModuleRef tsm =
        LLVMOrcCreateNewThreadSafeModule(m, (LLVMOrcThreadSafeContextRef)tsc);
    LLVMOrcResourceTrackerRef rt =
        LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(j->lljit));
    LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModuleWithRT(j->lljit, rt, tsm);
    if (e) {
        LLVMOrcReleaseResourceTracker(rt);
        rc = jit_fail(err, "add module", e);
        goto done;
    }
    rc = jit_finish_add(j, symbol, rt, out, err);
done:
    pthread_mutex_unlock(&j->lock);
    return rc;
}

void *rt_jit_code_addr(const rt_jit_code *c) { return (void *)(uintptr_t)c->addr; }

int rt_jit_release(rt_jit *j, rt_jit_code *c, rt_error *err)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&j->lock);
    int rc = 0;
    if (--c->refs > 0)
        goto done;
    rt_jit_code **pp = &j->codes;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(c->rt);
    if (e)
        rc = jit_fail(err, "remove code", e);
    LLVMOrcReleaseResourceTracker(c->rt);
    seg_free(c->symbol);
    seg_free(c);
done:
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int rt_jit_code_count(rt_jit *j)
{
    pthread_mutex_lock(&j->lock);
    int n = 0;
    for (const rt_jit_code *c = j->codes; c; c = c->next)
        n++;
    pthread_mutex_unlock(&j->lock);
    return n;
}

/* ------------------------------------------------------------ hashing */

/* Two independent 64-bit hashes of the same bytes: FNV-1a, and a
 * multiply-rotate hash finished with a splitmix64 avalanche. */
static uint64_t hash_fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t hash_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t hash_mr(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 0x9e3779b97f4a7c15ULL;
        h = (h << 27) | (h >> 37);
    }
    return hash_mix(h ^ n);
}

rt_jit_key rt_jit_key_of(const char *text)
{
    size_t n = strlen(text);
    rt_jit_key k = {{hash_mix(hash_fnv(text, n, 0xcbf29ce484222325ULL)),
                     hash_mr(text, n, 0x243f6a8885a308d3ULL)}};
    return k;
}

char *rt_jit_cache_text(const rt_jit *j, const char *desc)
{
    seg_buf b = {0};
    seg_buf_printf(&b, "%s\ntarget %s\n", desc, j->target);
    return b.data; /* ownership: to the caller (seg_free) */
}
