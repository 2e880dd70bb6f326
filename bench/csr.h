/* The CSR baseline: a sparse format with 32-bit column indices and fp32 values,
 * multiplied with the same care as the LSC kernels (same threading, same SIMD strips). */
#ifndef LSC_BENCH_CSR_H
#define LSC_BENCH_CSR_H

#include <stddef.h>
#include <stdint.h>

typedef struct csr {
    uint32_t rows, cols;
    uint64_t nnz;
    uint32_t *rowptr; /* rows + 1 (32-bit: the benchmark's layers stay below 2^32 nnz) */
    uint32_t *colidx;
    float *vals;
} csr;

int csr_from_dense(csr *m, const float *w, uint32_t rows, uint32_t cols);
void csr_free(csr *m);
size_t csr_bytes(const csr *m);

/* Y rows [r0, r1) = W X, X cols x n (ldx), Y rows x n (ldy). */
void csr_spmm_scalar(const csr *m, const float *x, size_t ldx, size_t n, float *y, size_t ldy,
                     uint32_t r0, uint32_t r1);
void csr_spmm_avx2(const csr *m, const float *x, size_t ldx, size_t n, float *y, size_t ldy,
                   uint32_t r0, uint32_t r1);

#endif /* LSC_BENCH_CSR_H */
