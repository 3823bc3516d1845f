/* pool.c — a persistent pthread pool that splits one loop over tasks.
 *
 * rt_pool_run(p, n, fn, arg) cuts [0, n) into `threads` contiguous chunks,
 * chunk i = [n*i/T, n*(i+1)/T) (computed without overflow), and runs chunk
 * i on thread i; the calling thread is thread 0 and the T-1 workers are
 * created once and sleep on a condition variable between jobs. The
 * partition depends only on (n, T), never on timing, so a kernel whose
 * tasks write disjoint outputs gives the same bits on every run, and a
 * kernel whose tasks are independent gives the same bits for any T.
 *
 * rt_pool_run_balanced starts from the same chunks, but a thread that
 * runs out takes single tasks from the back of the busiest other chunk
 * (each chunk is one atomic word, begin and end packed, claimed by
 * compare-and-swap). On this 2-CPU VM the two cores are often not equally
 * fast for a whole convolution (neighbours share the L3), and fixed
 * chunks made every job wait for the slower one: a 160->64 weight
 * gradient at 32^3 ran 1.37-1.6x faster on 2 threads than on 1. Which
 * thread runs a task then depends on timing, so it is only for task
 * functions whose result does not depend on the thread or on how the range
 * is cut: each task writes its own outputs and ignores `thread`.
 *
 * A job is published by bumping a generation counter under the lock; each
 * worker runs its chunk of the newest generation and the last one to
 * finish signals the caller. One job runs at a time (run_lock); a call
 * made from inside a job (nested parallelism) runs serially on the
 * calling thread instead of deadlocking.
 *
 * How many threads: rt_threads_resolve is the one rule for the whole
 * program (a --threads flag, else $SEGC_THREADS, else the online CPUs);
 * the CLI calls it before a command starts, so that a bad SEGC_THREADS is
 * a usage error, and a pool made deep inside falls back to the CPU count.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* One thread's chunk of a balanced job: begin in the low 32 bits, end in
 * the high ones; a cache line each, so owners do not share lines. */
typedef struct pool_range {
    _Atomic uint64_t word;
    char pad[64 - sizeof(uint64_t)];
} pool_range;

typedef struct pool_worker {
    struct rt_pool *pool; /* back pointer */
    int index;            /* thread number, 1..threads-1 */
} pool_worker;

struct rt_pool {
    int threads;             /* workers + the calling thread */
    int flush;               /* denormals flushed on every thread (fpmode.c) */
    pthread_t *tid;          /* threads - 1 worker threads */
    pool_worker *workers;    /* their start arguments */
    pthread_mutex_t lock;    /* guards everything below */
    pthread_cond_t wake;     /* gen changed or quit set */
    pthread_cond_t done;     /* pending reached 0 */
    uint64_t gen;            /* job generation, bumped per rt_pool_run */
    int pending;             /* workers still running the current job */
    int quit;                /* set by rt_pool_free */
    rt_pool_fn fn;           /* the current job */
    void *arg;
    int64_t n_tasks;
    int balanced;            /* the current job steals (rt_pool_run_balanced) */
    pool_range *ranges;      /* per thread, for a balanced job */
    pthread_mutex_t run_lock; /* one job at a time */
};

static _Thread_local int pool_depth; /* > 0 while this thread runs a job */

/* The online CPU count, within [1, RT_THREADS_MAX]. */
static int cpu_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > RT_THREADS_MAX ? RT_THREADS_MAX : (int)n;
}

int rt_threads_resolve(int flag_value, int *threads, int *given, rt_error *err)
{
    SEG_ASSERT(flag_value <= RT_THREADS_MAX); /* the flag's parser checks the range */
    const char *env = getenv("SEGC_THREADS");
    long v = flag_value;
    *threads = cpu_threads();
    if (given)
        *given = 0;
    if (v <= 0 && env && *env) {
        char *end;
        errno = 0;
        v = strtol(env, &end, 10);
        if (*end || errno || v < 1 || v > RT_THREADS_MAX) {
            rt_error_set(err, "SEGC_THREADS='%s' is not a thread count (1..%d)", env,
                         RT_THREADS_MAX);
            return -1;
        }
    }
    if (v > 0) {
        *threads = (int)v;
        if (given)
            *given = 1;
    }
    return 0;
}

int rt_pool_default_threads(void)
{
    int n;
    rt_error ignored; /* nobody to tell here: commands check SEGC_THREADS before they start */
    rt_threads_resolve(0, &n, NULL, &ignored);
    return n;
}

void rt_pool_chunk(int64_t n_tasks, int threads, int i, int64_t *begin, int64_t *end)
{
    int64_t q = n_tasks / threads, r = n_tasks % threads;
    *begin = q * i + (i < r ? i : r);
    *end = *begin + q + (i < r ? 1 : 0);
}

static uint64_t range_pack(int64_t b, int64_t e) { return (uint64_t)b | (uint64_t)e << 32; }

/* Takes one task from the front (own chunk) or the back (another's) of
 * range r; -1 when it is empty. */
static int64_t range_take(pool_range *r, int front)
{
    uint64_t w = atomic_load_explicit(&r->word, memory_order_relaxed);
    for (;;) {
        int64_t b = (int64_t)(w & 0xffffffffu), e = (int64_t)(w >> 32);
        if (b >= e)
            return -1;
        uint64_t next = front ? range_pack(b + 1, e) : range_pack(b, e - 1);
        if (atomic_compare_exchange_weak_explicit(&r->word, &w, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return front ? b : e - 1;
    }
}

/* The other thread's chunk with the most tasks left; -1 when all are empty. */
static int range_victim(rt_pool *p, int self)
{
    int best = -1;
    int64_t most = 0;
    for (int i = 0; i < p->threads; i++) {
        uint64_t w = atomic_load_explicit(&p->ranges[i].word, memory_order_relaxed);
        int64_t left = (int64_t)(w >> 32) - (int64_t)(w & 0xffffffffu);
        if (i != self && left > most) {
            most = left;
            best = i;
        }
    }
    return best;
}

/* Thread i's part of a balanced job: its own chunk, then others' tails. */
static void pool_run_balanced_part(rt_pool *p, rt_pool_fn fn, void *arg, int i)
{
    pool_depth++;
    for (int64_t t; (t = range_take(&p->ranges[i], 1)) >= 0;)
        fn(arg, t, t + 1, i);
    for (int v; (v = range_victim(p, i)) >= 0;) {
        int64_t t = range_take(&p->ranges[v], 0);
        if (t >= 0)
            fn(arg, t, t + 1, i);
    }
    pool_depth--;
}

static void pool_run_chunk(rt_pool *p, rt_pool_fn fn, void *arg, int64_t n, int i)
{
    if (p->balanced) {
        pool_run_balanced_part(p, fn, arg, i);
        return;
    }
    int64_t b, e;
    rt_pool_chunk(n, p->threads, i, &b, &e);
    if (b < e) {
        pool_depth++;
        fn(arg, b, e, i);
        pool_depth--;
    }
}

static void *pool_worker_main(void *varg)
{
    pool_worker *w = varg;
    rt_pool *p = w->pool;
    uint64_t seen = 0;
    rt_fp_thread_apply(p->flush);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->gen == seen && !p->quit)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->quit)
            break;
        seen = p->gen;
        rt_pool_fn fn = p->fn;
        void *arg = p->arg;
        int64_t n = p->n_tasks;
        pthread_mutex_unlock(&p->lock);
        pool_run_chunk(p, fn, arg, n, w->index);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

rt_pool *rt_pool_new(int threads)
{
    rt_pool *p = seg_xcalloc(1, sizeof *p);
    p->threads = threads > 0 ? (threads > RT_THREADS_MAX ? RT_THREADS_MAX : threads)
                             : rt_pool_default_threads();
    p->flush = rt_fp_denormals_flushed();
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->tid = seg_xcalloc((size_t)p->threads, sizeof *p->tid);
    p->workers = seg_xcalloc((size_t)p->threads, sizeof *p->workers);
    p->ranges = seg_xcalloc((size_t)p->threads, sizeof *p->ranges);
    for (int i = 1; i < p->threads; i++) {
        p->workers[i] = (pool_worker){p, i};
        if (pthread_create(&p->tid[i], NULL, pool_worker_main, &p->workers[i]) != 0)
            seg_panic(__FILE__, __LINE__, "cannot create pool thread %d", i);
    }
    return p;
}

void rt_pool_free(rt_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->threads; i++)
        pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->run_lock);
    seg_free(p->tid);
    seg_free(p->workers);
    seg_free(p->ranges);
    seg_free(p);
}

int rt_pool_threads(const rt_pool *p) { return p ? p->threads : 1; }

/* Serial fallback: no pool, one thread, or a nested call. */
static void pool_run_serial(int64_t n_tasks, rt_pool_fn fn, void *arg)
{
    pool_depth++;
    fn(arg, 0, n_tasks, 0);
    pool_depth--;
}

static void pool_run(rt_pool *p, int64_t n_tasks, rt_pool_fn fn, void *arg, int balanced)
{
    if (n_tasks <= 0)
        return;
    if (pool_depth > 0 || !p) { /* nested: already in the pool's mode; no pool: the caller's */
        pool_run_serial(n_tasks, fn, arg);
        return;
    }
    unsigned saved = rt_fp_thread_apply(p->flush);
    if (p->threads == 1) {
        pool_run_serial(n_tasks, fn, arg);
        rt_fp_thread_restore(saved);
        return;
    }
    pthread_mutex_lock(&p->run_lock);
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    p->balanced = balanced && n_tasks <= INT32_MAX;
    for (int i = 0; p->balanced && i < p->threads; i++) {
        int64_t b, e;
        rt_pool_chunk(n_tasks, p->threads, i, &b, &e);
        atomic_store_explicit(&p->ranges[i].word, range_pack(b, e), memory_order_relaxed);
    }
    p->pending = p->threads - 1;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pool_run_chunk(p, fn, arg, n_tasks, 0);
    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->run_lock);
    rt_fp_thread_restore(saved);
}

void rt_pool_run(rt_pool *p, int64_t n_tasks, rt_pool_fn fn, void *arg)
{
    pool_run(p, n_tasks, fn, arg, 0);
}

void rt_pool_run_balanced(rt_pool *p, int64_t n_tasks, rt_pool_fn fn, void *arg)
{
    pool_run(p, n_tasks, fn, arg, 1);
}

/* The process-wide pool, created on first use with the default count. */
static rt_pool *default_pool;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static void default_pool_make(void) { default_pool = rt_pool_new(0); }

rt_pool *rt_pool_default(void)
{
    pthread_once(&default_once, default_pool_make);
    return default_pool;
}
