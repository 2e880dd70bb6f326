/* A fixed pool of worker threads that run one parallel-for at a time. */
#ifndef LSC_COMMON_POOL_H
#define LSC_COMMON_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "onnx-lsc/lsc.h"

/* How long a worker spins for the next job, and the caller for the last task, before
 * either sleeps (pool.c says why). */
#define LSC_POOL_SPIN_NS 100000
/* That time in ns, LSC_POOL_SPIN_NS unless changed (tests: 0 takes the sleeping paths). */
extern uint64_t lsc_pool_spin_ns;

/* Runs fn(arg, i) for i in [0, n) on the pool's workers and the calling thread;
 * returns when all are done. Calls from several threads are run one after another. */
void lsc_pool_run(lsc_pool *pool, lsc_task_fn fn, void *arg, size_t n);

/* Matches lsc_parallel_for_fn, with an lsc_pool as context. */
void lsc_pool_parallel_for(void *pool, lsc_task_fn fn, void *arg, size_t n);

#endif /* LSC_COMMON_POOL_H */
