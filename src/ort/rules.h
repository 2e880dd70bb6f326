/* When the plugin's multiplies use ORT's threads, and how (matmul.c): rules apart from
 * the kernels so that a test can check them (tests/ort/test_rules.c). */
#ifndef LSC_ORT_RULES_H
#define LSC_ORT_RULES_H

#include <stddef.h>
#include <stdint.h>

/* A batch of row vectors is split over ORT's threads by rows of X, one task per thread
 * multiplying its rows serially over the whole weight, when the weight has too few
 * block rows for lsc_spmm to split (one block row is common) or is small enough
 * (LSC_ORT_ROWS_SPLIT_BYTES) that every thread reading all of it costs less than
 * lsc_spmm's own split. That split cuts a host's parallel-for into 16 tasks (the
 * library cannot know ORT's width), which keeps it off the plain path: LeNet-300-100
 * at batch 32 on 2 threads took 0.10-0.13 ms that way, 0.059-0.079 serially,
 * 0.038-0.048 split by rows (docs/benchmarks.md, "Stop 18"). Larger weights keep
 * lsc_spmm's split, where each thread reads its share of the weight once. */
#define LSC_ORT_ROWS_TASK_MIN 8 /* rows per task: the kernel's SIMD runs across them */
#define LSC_ORT_ROWS_SPLIT_BYTES ((size_t)512 << 10) /* LeNet-300-100's fc1: 94 KB; fc6 2%: 3.9 MB */
/* Below this many values x rows of X (~2-4 us of work) a batch runs serially: on
 * lsc_pool such calls ran no faster on 2 threads (spmm.c's SERIAL_WORK), and a host's
 * hand-off costs no less. One row (m = 1) is left to lsc_spmm's own line. */
#define LSC_ORT_ROWS_SERIAL_WORK 16384

static inline int lsc_ort_rows_serial(uint64_t nnz, size_t m)
{
    return m > 1 && (double)nnz * (double)m < LSC_ORT_ROWS_SERIAL_WORK;
}

/* The tasks of a split of m rows over `threads`, 0 or 1: no split by rows. */
static inline size_t lsc_ort_rows_tasks(size_t block_rows, size_t blob_size, size_t m,
                                        unsigned threads)
{
    size_t n_tasks = m / LSC_ORT_ROWS_TASK_MIN < threads ? m / LSC_ORT_ROWS_TASK_MIN : threads;
    if (n_tasks < 2 || (block_rows >= 2 * (size_t)threads && blob_size > LSC_ORT_ROWS_SPLIT_BYTES))
        return 0;
    return n_tasks;
}

#endif /* LSC_ORT_RULES_H */
