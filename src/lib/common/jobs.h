/* Ordered parallel jobs: `work` runs for items 0..n-1 on up to `threads` threads,
 * `commit` runs for each item strictly in index order, one at a time, so whatever
 * commit writes comes out the same for any thread count. Memory stays bounded: a
 * thread holds one item from its work until its commit, items are started in index
 * order, and an item is only started while the costs of the items in work, its own
 * included, stay within `budget` (or when nothing else is in work). */
#ifndef LSC_COMMON_JOBS_H
#define LSC_COMMON_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct lsc_jobs {
    size_t n;
    unsigned threads;       /* 0 = online cores */
    const uint64_t *cost;   /* per item (NULL: all 0); charged from work start to end */
    uint64_t budget;        /* 0 = no limit */
    /* May run concurrently for different items; error is the item's own. */
    lsc_status (*work)(void *ctx, size_t k, lsc_error *error);
    /* In index order, never concurrently, after work(k) succeeded. */
    lsc_status (*commit)(void *ctx, size_t k, lsc_error *error);
    void *ctx;
} lsc_jobs;

/* Runs the jobs. On failure, the failing item of lowest index is reported (work or
 * commit), as a serial run would; items after it are not committed. */
lsc_status lsc_jobs_run(const lsc_jobs *jobs, lsc_error *error);

/* The thread count `threads` (0 = online cores) means, at most n. */
unsigned lsc_jobs_threads(unsigned threads, size_t n);

#endif /* LSC_COMMON_JOBS_H */
