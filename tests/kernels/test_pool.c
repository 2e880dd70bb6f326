/* The pool (src/lib/common/pool.c): every task of every job runs exactly once, on
 * the spinning hand-off and on the sleeping one (spin time 0), with jobs of 1 to
 * hundreds of tasks back to back, uneven tasks, several pool widths, and two threads
 * calling one pool at once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/pool.h"

#define MAX_N 300

typedef struct job {
    atomic_int ran[MAX_N];
    atomic_int threads_seen; /* tasks run off the calling thread */
    pthread_t caller;
    unsigned spin; /* busy loop length of task i: (i * spin) % 4096 */
} job;

static void task(void *arg, size_t i)
{
    job *j = arg;
    volatile unsigned sink = 0; /* uneven busy work the compiler cannot drop */
    for (unsigned k = 0; k < (i * j->spin) % 4096; k++)
        sink = sink + k;
    (void)sink;
    atomic_fetch_add(&j->ran[i], 1);
    if (!pthread_equal(pthread_self(), j->caller))
        atomic_fetch_add(&j->threads_seen, 1);
}

/* `jobs` jobs of varying n on `pool`; returns the tasks run off the caller. */
static long run_jobs(lsc_pool *pool, int jobs, unsigned seed)
{
    long off = 0;
    job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    for (int r = 0; r < jobs; r++) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (size_t)(seed >> 8) % MAX_N + 1;
        memset(j, 0, sizeof *j);
        j->caller = pthread_self();
        j->spin = (seed >> 4) % 64;
        lsc_pool_run(pool, task, j, n);
        size_t bad = 0;
        for (size_t i = 0; i < MAX_N; i++)
            bad += atomic_load(&j->ran[i]) != (i < n);
        CHECKF(bad == 0, "job %d of %zu tasks: %zu tasks ran other than once", r, n, bad);
        off += atomic_load(&j->threads_seen);
    }
    free(j);
    return off;
}

typedef struct caller_arg {
    lsc_pool *pool;
    unsigned seed;
} caller_arg;

static void *caller_main(void *p)
{
    caller_arg *a = p;
    run_jobs(a->pool, 300, a->seed);
    return NULL;
}

int main(void)
{
    lsc_error err = { 0 };
    for (unsigned threads = 1; threads <= 4; threads++)
        for (int sleeping = 0; sleeping < 2; sleeping++) {
            lsc_pool_spin_ns = sleeping ? 0 : LSC_POOL_SPIN_NS;
            lsc_pool *pool = NULL;
            CHECK(lsc_pool_create(threads, &pool, &err) == LSC_OK);
            if (!pool)
                return check_exit();
            long off = run_jobs(pool, 2000, 7u * threads + (unsigned)sleeping);
            /* workers take part (over ~0.3 s of tasks, on any load), none when there are none */
            CHECKF(threads == 1 ? off == 0 : off > 0, "%u threads: %ld tasks off the caller", threads,
                   off);
            /* two callers on one pool: their jobs run one after the other */
            pthread_t t[2];
            caller_arg a[2] = { { pool, 1 }, { pool, 2 } };
            for (int i = 0; i < 2; i++)
                CHECK(pthread_create(&t[i], NULL, caller_main, &a[i]) == 0);
            for (int i = 0; i < 2; i++)
                pthread_join(t[i], NULL);
            lsc_pool_run(pool, task, NULL, 0); /* no task: nothing runs */
            lsc_pool_free(&pool);
            CHECK(pool == NULL);
        }
    lsc_pool_spin_ns = LSC_POOL_SPIN_NS;
    return check_exit();
}
