/* Inside the kernels: one multiply as a job cut into ranges of block rows, and the
 * per-ISA functions that run a range. */
#ifndef LSC_KERNELS_SPMM_H
#define LSC_KERNELS_SPMM_H

#include <stddef.h>
#include <stdint.h>

#include "codec/blob.h"

typedef struct lsc_spmm_job {
    const lsc_blob_view *v;
    const float *x;          /* cols x n, row k at x + k * ldx (n = 1: element k at x[k * ldx]) */
    size_t ldx, n;
    float *y;                /* rows x n, row i at y + i * ldy, absolute row numbers */
    size_t ldy;
    uint32_t row_begin, row_end; /* rows written; others untouched */
} lsc_spmm_job;

/* Multiplies block rows [br_begin, br_end) of the job: overwrites their rows of Y
 * that lie inside [row_begin, row_end). */
typedef void (*lsc_brows_fn)(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);

void lsc_spmm_brows_scalar(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);
void lsc_spmm_brows_avx2(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);
void lsc_spmm_brows_avx512(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);

/* The variant for these LSC_CPU_* flags (best first), and its name. */
lsc_brows_fn lsc_spmm_select(unsigned flags, const char **name);

#endif /* LSC_KERNELS_SPMM_H */
