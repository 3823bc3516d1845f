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
 */
#include "runtime/runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define POOL_MAX_THREADS 256 /* sanity cap on SEGC_THREADS */

typedef struct pool_worker {
    struct rt_pool *pool; /* back pointer */
    int index;            /* thread number, 1..threads-1 */
} pool_worker;

struct rt_pool {
    int threads;             /* workers + the calling thread */
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

int rt_pool_default_threads(void)
{
    const char *s = getenv("SEGC_THREADS");
    long n = s && *s ? strtol(s, NULL, 10) : 0;
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        n = 1;
    return n > POOL_MAX_THREADS ? POOL_MAX_THREADS : (int)n;
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
    p->threads = threads > 0 ? (threads > POOL_MAX_THREADS ? POOL_MAX_THREADS : threads)
                             : rt_pool_default_threads();
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
    if (!p || p->threads == 1 || pool_depth > 0) {
        pool_run_serial(n_tasks, fn, arg);
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
