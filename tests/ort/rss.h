/* The resident memory of this process (Linux /proc), for lsc-ort-run's per-session
 * peak (bench/bench_latency.py). */
#ifndef LSC_TESTS_ORT_RSS_H
#define LSC_TESTS_ORT_RSS_H

#include <stdint.h>

/* Peak and current resident memory in bytes, 0 if unknown. */
uint64_t rss_peak(void);
uint64_t rss_current(void);
/* Restarts the peak at the current resident size; -1 where the kernel cannot. */
int rss_reset_peak(void);

#endif /* LSC_TESTS_ORT_RSS_H */
