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
#include <stdlib.h>
#include <unistd.h>

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

static void pool_run_chunk(rt_pool *p, rt_pool_fn fn, void *arg, int64_t n, int i)
{
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

void rt_pool_run(rt_pool *p, int64_t n_tasks, rt_pool_fn fn, void *arg)
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

/* The process-wide pool, created on first use with the default count. */
static rt_pool *default_pool;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static void default_pool_make(void) { default_pool = rt_pool_new(0); }

rt_pool *rt_pool_default(void)
{
    pthread_once(&default_once, default_pool_make);
    return default_pool;
}
