/* budget.c — will a run fit in memory? Asked once, before anything big is
 * allocated or compiled, so that a program too large for the machine is a
 * clear error with the figures (exit 70) rather than an abort, a swap
 * storm or a hang halfway through.
 *
 * What a run needs: its program's arena and its fixed values (parameters,
 * buffers, inputs: rt_program_bytes), plus whatever the caller adds (the
 * optimizer's state, a second program). Three limits, each checked on its
 * own so the message can name the one that failed:
 *   - the memory the machine has: physical RAM, or the cgroup's
 *     memory.max when that is lower, less what the process already holds
 *     (its resident size: the data it has loaded);
 *   - an address-space limit (RLIMIT_AS, RLIMIT_DATA: `ulimit -v`), less
 *     the address space the process already maps, less a reserve for what
 *     the libraries will map on their own: OpenBLAS allocates a 128 MB
 *     buffer per thread on its first GEMM and, when that allocation fails,
 *     retries forever (blas_memory_alloc), so running out inside it is a
 *     hang, not an error; LLVM needs a few hundred MB to compile; every
 *     thread has its stack;
 *   - --max-memory, when given: the run's own bytes only.
 * The reserve figures were measured on Debian 12 (OpenBLAS 0.3.21, LLVM
 * 19): a --no-jit run of a small U-Net needs about 330 MB of address space
 * beyond its program, a JIT run about 520 MB. They are estimates, written
 * down here; RAM is checked without them, since untouched address space
 * costs no memory.
 */
#include "runtime.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum {
    BUDGET_MB = 1 << 20,
    BUDGET_BLAS_PER_THREAD = 130,  /* MB: OpenBLAS's per-thread GEMM buffer (128 MB + slack) */
    BUDGET_BLAS_BASE = 130,        /* MB: the buffer of the calling thread */
    BUDGET_JIT = 256,              /* MB: LLVM compiling kernels (measured peak ~200 MB) */
    BUDGET_SLACK = 64,             /* MB: malloc arenas, stdio, small allocations */
};

static int64_t budget_max; /* --max-memory in bytes, 0 = none */

void rt_budget_set_max(int64_t bytes) { budget_max = bytes > 0 ? bytes : 0; }

/* a + b, saturating at INT64_MAX (sizes here are estimates, never UB). */
static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

int64_t rt_program_bytes(const rt_program *p)
{
    const rt_mem_plan *m = rt_mem_plan_enabled() ? p->plan : NULL;
    if (m)
        return sat_add(sat_add(m->arena_bytes, RT_MEM_ALIGN), m->fixed_bytes);
    int64_t total = 0, b;
    for (int i = 0; i < p->n_values; i++)
        if (p->values[i].kind != RT_VAL_FUSED && rt_type_size(&p->values[i].type, NULL, &b) == 0)
            total = sat_add(total, b);
    return total;
}

void rt_budget_add_program(rt_budget *b, const rt_program *p)
{
    const rt_mem_plan *m = rt_mem_plan_enabled() ? p->plan : NULL;
    b->need = sat_add(b->need, rt_program_bytes(p));
    if (m)
        b->arena = sat_add(b->arena, m->arena_bytes);
}

/* Field `key` (in kB) of /proc/self/status, in bytes; 0 when unknown. */
static int64_t proc_status_bytes(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = 0;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':' && sscanf(line + n + 1, "%lld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb > 0 ? (int64_t)kb * 1024 : 0;
}

/* The cgroup v2 memory.max of this process, 0 when there is none. */
static int64_t cgroup_max(void)
{
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    long long v = 0;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1) /* "max": no limit */
            v = 0;
        fclose(f);
    }
    return v > 0 ? (int64_t)v : 0;
}

/* Physical memory, or the cgroup's limit when lower; 0 when unknown. */
static int64_t machine_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    int64_t ram = pages > 0 && size > 0 ? (int64_t)pages * size : 0, cg = cgroup_max();
    return cg > 0 && (ram == 0 || cg < ram) ? cg : ram;
}

/* The lower of RLIMIT_AS and RLIMIT_DATA, 0 when neither is set. */
static int64_t address_limit(void)
{
    int64_t lim = 0;
    int which[2] = {RLIMIT_AS, RLIMIT_DATA};
    for (int i = 0; i < 2; i++) {
        struct rlimit r;
        if (getrlimit(which[i], &r) == 0 && r.rlim_cur != RLIM_INFINITY &&
            (lim == 0 || (int64_t)r.rlim_cur < lim))
            lim = (int64_t)r.rlim_cur;
    }
    return lim;
}

/* Address space the libraries will map on their own (see the top). */
static int64_t library_reserve(const rt_budget *b)
{
    struct rlimit st;
    int64_t stack = getrlimit(RLIMIT_STACK, &st) == 0 && st.rlim_cur != RLIM_INFINITY
                        ? (int64_t)st.rlim_cur : 8 * BUDGET_MB;
    int threads = b->threads > 0 ? b->threads : 1;
    int64_t mb = BUDGET_BLAS_BASE + (int64_t)BUDGET_BLAS_PER_THREAD * threads + BUDGET_SLACK +
                 (b->jit ? BUDGET_JIT : 0);
    return sat_add(mb * BUDGET_MB, stack * threads);
}

/* A size for a message: "103.6 GB", "12.3 MB", "640 kB" (powers of 1000). */
typedef struct bstr {
    char s[32];
} bstr;

static bstr bytes_text(int64_t bytes)
{
    bstr b;
    double x = (double)bytes;
    if (x >= 1e9)
        snprintf(b.s, sizeof b.s, "%.1f GB", x / 1e9);
    else if (x >= 1e6)
        snprintf(b.s, sizeof b.s, "%.1f MB", x / 1e6);
    else
        snprintf(b.s, sizeof b.s, "%.0f kB", x / 1e3);
    return b;
}

/* "needs 12.3 GB (10.1 GB of arena, 2.2 GB of parameters, inputs and state)" */
static void need_text(const rt_budget *b, char *buf, size_t n)
{
    snprintf(buf, n, "needs %s (%s of arena, %s of parameters, inputs and state)",
             bytes_text(b->need).s, bytes_text(b->arena).s, bytes_text(b->need - b->arena).s);
}

int rt_budget_check(const rt_budget *b, rt_error *err)
{
    char need[200];
    need_text(b, need, sizeof need);
    const char *w = b->what ? b->what : "the run";
    if (budget_max && b->need > budget_max) {
        rt_error_set(err, "%s %s, more than --max-memory %s; use a smaller batch or patch",
                     w, need, bytes_text(budget_max).s);
        return -1;
    }
    int64_t ram = machine_bytes(), rss = proc_status_bytes("VmRSS");
    if (ram > 0 && sat_add(b->need, rss) > ram) {
        rt_error_set(err, "%s %s, more than the memory this machine has (%s, %s of it "
                     "in use by segc already); use a smaller batch or patch, or --max-memory",
                     w, need, bytes_text(ram).s, bytes_text(rss).s);
        return -1;
    }
    int64_t as = address_limit(), mapped = proc_status_bytes("VmSize"), lib = library_reserve(b);
    if (as > 0 && sat_add(sat_add(b->need, mapped), lib) > as) {
        rt_error_set(err, "%s %s; with what segc maps already (%s) and its libraries' "
                     "own needs (about %s) that exceeds the address-space limit of %s "
                     "(ulimit -v)", w, need, bytes_text(mapped).s, bytes_text(lib).s,
                     bytes_text(as).s);
        return -1;
    }
    return 0;
}
