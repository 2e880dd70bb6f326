/* The streaming read bandwidth that lsc-bench and lsc-plain-floor state their "of
 * bound" figures against: the same loop for both, so their bounds compare. */
#ifndef LSC_BENCH_STREAM_BW_H
#define LSC_BENCH_STREAM_BW_H

#include "onnx-lsc/lsc.h"

/* Bytes per second read from memory by `threads` tasks on `pool` (NULL: the calling
 * thread alone, threads = 1): best of 5 passes over 256 MiB, far beyond the caches.
 * The buffer is kept for later calls. */
double stream_bandwidth(lsc_pool *pool, unsigned threads);

#endif /* LSC_BENCH_STREAM_BW_H */
