/* The pool: workers park on a condition variable between jobs (no spinning when
 * idle); a job's tasks are handed out one index at a time with an atomic counter,
 * so uneven tasks balance themselves. The caller works too, so n_threads = 1 means
 * no worker thread at all. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/pool.h"

struct lsc_pool {
    unsigned n_threads;  /* workers + the caller */
    unsigned n_workers;
    pthread_t *workers;
    pthread_mutex_t run_lock; /* one job at a time */
    pthread_mutex_t lock;     /* guards everything below but `next` */
    pthread_cond_t wake;      /* a new job or stop */
    pthread_cond_t done;      /* the last worker left the job */
    lsc_task_fn fn;
    void *arg;
    size_t n;
    atomic_size_t next;
    unsigned long generation;
    unsigned busy;
    int stop;
};

static void run_tasks(lsc_pool *pool, lsc_task_fn fn, void *arg, size_t n)
{
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);
        if (i >= n)
            return;
        fn(arg, i);
    }
}

static void *worker_main(void *p)
{
    lsc_pool *pool = p;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stop && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stop)
            break;
        seen = pool->generation;
        lsc_task_fn fn = pool->fn;
        void *arg = pool->arg;
        size_t n = pool->n;
        pthread_mutex_unlock(&pool->lock);
        run_tasks(pool, fn, arg, n);
        pthread_mutex_lock(&pool->lock);
        if (--pool->busy == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static void stop_workers(lsc_pool *pool, unsigned started)
{
    pthread_mutex_lock(&pool->lock);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < started; i++)
        pthread_join(pool->workers[i], NULL);
}

lsc_status lsc_pool_create(unsigned n_threads, lsc_pool **pool_out, lsc_error *error)
{
    if (!pool_out)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_pool_create: pool_out is NULL");
    *pool_out = NULL;
    if (n_threads == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = online > 0 ? (unsigned)online : 1;
    }
    if (n_threads > 1024)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "lsc_pool_create: %u threads asked, at most 1024", n_threads);
    lsc_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_pool_create: out of memory");
    pool->n_threads = n_threads;
    pool->n_workers = n_threads - 1;
    atomic_init(&pool->next, 0);
    if (pool->n_workers) {
        pool->workers = calloc(pool->n_workers, sizeof *pool->workers);
        if (!pool->workers) {
            free(pool);
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_pool_create: out of memory");
        }
    }
    pthread_mutex_init(&pool->run_lock, NULL);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (unsigned i = 0; i < pool->n_workers; i++) {
        int err = pthread_create(&pool->workers[i], NULL, worker_main, pool);
        if (err) {
            stop_workers(pool, i);
            pool->n_workers = 0;
            lsc_pool_free(&pool);
            return lsc_fail(error, err == EAGAIN ? LSC_ERR_NO_MEMORY : LSC_ERR_INTERNAL,
                            "lsc_pool_create: starting thread %u of %u: %s", i + 2, n_threads,
                            strerror(err));
        }
    }
    *pool_out = pool;
    return LSC_OK;
}

void lsc_pool_free(lsc_pool **pool_ptr)
{
    if (!pool_ptr || !*pool_ptr)
        return;
    lsc_pool *pool = *pool_ptr;
    stop_workers(pool, pool->n_workers);
    pthread_cond_destroy(&pool->done);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    pthread_mutex_destroy(&pool->run_lock);
    free(pool->workers);
    free(pool);
    *pool_ptr = NULL;
}

unsigned lsc_pool_threads(const lsc_pool *pool)
{
    return pool ? pool->n_threads : 1;
}

void lsc_pool_run(lsc_pool *pool, lsc_task_fn fn, void *arg, size_t n)
{
    if (n == 0)
        return;
    if (!pool || pool->n_workers == 0 || n == 1) {
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    pthread_mutex_lock(&pool->run_lock);
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    atomic_store_explicit(&pool->next, 0, memory_order_relaxed);
    pool->busy = pool->n_workers;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    run_tasks(pool, fn, arg, n);
    pthread_mutex_lock(&pool->lock);
    while (pool->busy)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_unlock(&pool->run_lock);
}

void lsc_pool_parallel_for(void *pool, lsc_task_fn fn, void *arg, size_t n)
{
    lsc_pool_run(pool, fn, arg, n);
}
