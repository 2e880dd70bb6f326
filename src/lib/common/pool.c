/* The pool. A job's n tasks are cut into one range a thread (the caller's first),
 * each with an atomic ticket (the job's number in the high 32 bits, the next index
 * in the low): a thread takes the tasks of its own range in order, then those left
 * in the others', so uneven tasks and a thread the system holds back still balance,
 * while on a balanced machine thread k runs the same tasks call after call and finds
 * their data (a weight that fits the L2 caches, the same rows of y) in its own cache.
 * A thread that arrives after its job ended takes nothing. The caller works too, so
 * n_threads = 1 means no worker thread at all.
 *
 * Hand-off: a worker that finished a job spins for LSC_POOL_SPIN_NS on the job
 * counter before it parks on a condition variable, and the caller spins as long on
 * the tasks still running before it sleeps. Parking at once cost two sleeping
 * threads' wake-ups a job, 5 us at best and ~50 us on average on a loaded 2-core VM
 * (docs/benchmarks.md, "Stop 18"): more than a LeNet layer takes. The caller waits
 * for the tasks, not for every worker to check in: a worker the system has not
 * scheduled yet does not hold up a job that the others finished. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* One thread's share of a job's tasks: [n * k / n_threads, n * (k + 1) / n_threads),
 * ticket's low half the next one; a line each, not to share one between threads. */
struct range {
    _Alignas(64) atomic_uint_least64_t ticket;
};

/* A worker's argument: its pool and its range. */
typedef struct worker_arg {
    lsc_pool *pool;
    unsigned self;
} worker_arg;

struct lsc_pool {
    unsigned n_threads;  /* workers + the caller */
    unsigned n_workers;
    pthread_t *workers;
    worker_arg *args;         /* each worker's */
    pthread_mutex_t run_lock; /* one job at a time */
    pthread_mutex_t lock;     /* for sleeping and waking only */
    pthread_cond_t wake;      /* a new job or stop */
    pthread_cond_t done;      /* the job's last task ended */
    /* the job: written by the caller before `job` moves on, read by workers after */
    _Atomic(lsc_task_fn) fn;
    _Atomic(void *) arg;
    atomic_size_t n;
    atomic_uint job;           /* the job's number, 32 bits (the tickets' high half) */
    struct range *ranges;      /* n_threads: thread k's range of the job's tasks */
    atomic_size_t finished;    /* tasks of the job that returned */
    atomic_uint sleepers;      /* workers parked on `wake` */
    atomic_int caller_asleep;  /* the caller waits on `done` */
    atomic_int stop;
};

#define TICKET_CLOSED UINT32_MAX /* an index no job reaches (n < 2^32 - 1) */

uint64_t lsc_pool_spin_ns = LSC_POOL_SPIN_NS;

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins until pred(pool, arg) or lsc_pool_spin_ns have passed; returns pred's last answer. */
static int spin_until(lsc_pool *pool, int (*pred)(lsc_pool *, uintptr_t), uintptr_t arg)
{
    uint64_t t0 = 0;
    for (unsigned i = 1;; i++) {
        if (pred(pool, arg))
            return 1;
        CPU_RELAX();
        if (i % 64 == 0) { /* the clock every 64 pauses: ~1-3 us apart */
            uint64_t t = clock_ns();
            if (!t0)
                t0 = t;
            else if (t - t0 >= lsc_pool_spin_ns)
                return pred(pool, arg);
        }
    }
}

static int job_moved(lsc_pool *pool, uintptr_t seen)
{
    return atomic_load(&pool->job) != (unsigned)seen || atomic_load(&pool->stop);
}

static int job_finished(lsc_pool *pool, uintptr_t n)
{
    return atomic_load_explicit(&pool->finished, memory_order_acquire) == (size_t)n;
}

/* Takes task indices of job `job` (n tasks) from range r while any is left. */
static int run_range(lsc_pool *pool, unsigned r, unsigned job, lsc_task_fn fn, void *arg, size_t n)
{
    atomic_uint_least64_t *ticket = &pool->ranges[r].ticket;
    const uint64_t end = (uint64_t)n * (r + 1) / pool->n_threads;
    uint64_t t = atomic_load_explicit(ticket, memory_order_relaxed);
    for (;;) {
        if ((unsigned)(t >> 32) != job || (t & 0xffffffffu) >= end) /* closed: >= end */
            return 0;
        if (!atomic_compare_exchange_weak_explicit(ticket, &t, t + 1, memory_order_acquire,
                                                   memory_order_relaxed))
            continue;
        fn(arg, (size_t)(t & 0xffffffffu));
        if (atomic_fetch_add_explicit(&pool->finished, 1, memory_order_acq_rel) + 1 == n) {
            /* the last task: wake the caller if it went to sleep */
            pthread_mutex_lock(&pool->lock);
            if (atomic_load(&pool->caller_asleep))
                pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->lock);
            return 1;
        }
        t = atomic_load_explicit(ticket, memory_order_relaxed);
    }
}

/* Thread `self` runs the tasks of job `job` that nobody has taken: its own range's,
 * then the others' in turn. */
static void run_tasks(lsc_pool *pool, unsigned self, unsigned job, lsc_task_fn fn, void *arg,
                      size_t n)
{
    for (unsigned k = 0; k < pool->n_threads; k++) {
        unsigned r = (self + k) % pool->n_threads;
        if (run_range(pool, r, job, fn, arg, n))
            return;
    }
}

static void *worker_main(void *p)
{
    lsc_pool *pool = ((worker_arg *)p)->pool;
    const unsigned self = ((worker_arg *)p)->self;
    unsigned seen = 0;
    for (;;) {
        if (!spin_until(pool, job_moved, seen)) {
            pthread_mutex_lock(&pool->lock);
            atomic_fetch_add(&pool->sleepers, 1);
            /* seq_cst: the caller moves `job` then reads `sleepers`; this the other way round */
            while (!job_moved(pool, seen))
                pthread_cond_wait(&pool->wake, &pool->lock);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stop))
            break;
        seen = atomic_load(&pool->job);
        /* the fields may already be the next job's: then the ticket says no */
        run_tasks(pool, self, seen, atomic_load(&pool->fn), atomic_load(&pool->arg),
                  atomic_load(&pool->n));
    }
    return NULL;
}

static void stop_workers(lsc_pool *pool, unsigned started)
{
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stop, 1);
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
    atomic_init(&pool->fn, NULL);
    atomic_init(&pool->arg, NULL);
    atomic_init(&pool->n, 0);
    atomic_init(&pool->job, 0);
    atomic_init(&pool->finished, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->caller_asleep, 0);
    atomic_init(&pool->stop, 0);
    pool->ranges = aligned_alloc(64, n_threads * sizeof *pool->ranges);
    if (pool->n_workers) {
        pool->workers = calloc(pool->n_workers, sizeof *pool->workers);
        pool->args = calloc(pool->n_workers, sizeof *pool->args);
    }
    if (!pool->ranges || (pool->n_workers && (!pool->workers || !pool->args))) {
        free(pool->ranges);
        free(pool->workers);
        free(pool->args);
        free(pool);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_pool_create: out of memory");
    }
    for (unsigned k = 0; k < n_threads; k++)
        atomic_init(&pool->ranges[k].ticket, 0);
    pthread_mutex_init(&pool->run_lock, NULL);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (unsigned i = 0; i < pool->n_workers; i++) {
        pool->args[i] = (worker_arg){ pool, i + 1 };
        int err = pthread_create(&pool->workers[i], NULL, worker_main, &pool->args[i]);
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
    free(pool->args);
    free(pool->ranges);
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
    if (!pool || pool->n_workers == 0 || n == 1 || n >= TICKET_CLOSED) {
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    pthread_mutex_lock(&pool->run_lock);
    unsigned job = atomic_load(&pool->job) + 1;
    /* closed first: a worker that reads some of the new fields then finds the
     * tickets on the new job and no index it may take, until the fields are all in */
    for (unsigned k = 0; k < pool->n_threads; k++)
        atomic_store(&pool->ranges[k].ticket, (uint64_t)job << 32 | TICKET_CLOSED);
    atomic_store(&pool->fn, fn);
    atomic_store(&pool->arg, arg);
    atomic_store(&pool->n, n);
    atomic_store(&pool->finished, 0);
    for (unsigned k = 0; k < pool->n_threads; k++)
        atomic_store(&pool->ranges[k].ticket, (uint64_t)job << 32 | (n * k / pool->n_threads));
    atomic_store(&pool->job, job); /* seq_cst: before `sleepers` is read */
    if (atomic_load(&pool->sleepers)) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }
    run_tasks(pool, 0, job, fn, arg, n);
    if (!spin_until(pool, job_finished, n)) {
        pthread_mutex_lock(&pool->lock);
        atomic_store(&pool->caller_asleep, 1);
        while (!job_finished(pool, n))
            pthread_cond_wait(&pool->done, &pool->lock);
        atomic_store(&pool->caller_asleep, 0);
        pthread_mutex_unlock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->run_lock);
}

void lsc_pool_parallel_for(void *pool, lsc_task_fn fn, void *arg, size_t n)
{
    lsc_pool_run(pool, fn, arg, n);
}
