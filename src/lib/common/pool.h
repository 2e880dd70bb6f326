/* A fixed pool of worker threads that run one parallel-for at a time. */
#ifndef LSC_COMMON_POOL_H
#define LSC_COMMON_POOL_H

#include <stddef.h>

#include "onnx-lsc/lsc.h"

/* Runs fn(arg, i) for i in [0, n) on the pool's workers and the calling thread;
 * returns when all are done. Calls from several threads are run one after another. */
void lsc_pool_run(lsc_pool *pool, lsc_task_fn fn, void *arg, size_t n);

/* Matches lsc_parallel_for_fn, with an lsc_pool as context. */
void lsc_pool_parallel_for(void *pool, lsc_task_fn fn, void *arg, size_t n);

#endif /* LSC_COMMON_POOL_H */
