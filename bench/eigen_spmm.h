/* Eigen's SparseMatrix as a peer in lsc-bench: a sparse library users really use,
 * built from the same pruned weight as the CSR baseline. C-callable; without Eigen
 * or a C++ compiler the stubs below make every call a no-op and the column "-". */
#ifndef LSC_BENCH_EIGEN_SPMM_H
#define LSC_BENCH_EIGEN_SPMM_H

#include <stddef.h>

#include "csr.h"

typedef struct eigen_spmm eigen_spmm;

#ifdef BENCH_HAVE_EIGEN
#ifdef __cplusplus
extern "C" {
#endif
/* Eigen's version ("3.4.0"), or NULL when it cannot run on this CPU. */
const char *eigen_spmm_version(void);
/* A row-major Eigen::SparseMatrix<float> holding a copy of m; NULL if unavailable. */
eigen_spmm *eigen_spmm_create(const csr *m);
/* Y (rows x n) = W X (cols x n), both row-major and packed (ld = n). One thread. */
void eigen_spmm_run(const eigen_spmm *e, const float *x, size_t n, float *y);
void eigen_spmm_free(eigen_spmm *e);
#ifdef __cplusplus
}
#endif
#else
static inline const char *eigen_spmm_version(void) { return NULL; }
static inline eigen_spmm *eigen_spmm_create(const csr *m) { (void)m; return NULL; }
static inline void eigen_spmm_run(const eigen_spmm *e, const float *x, size_t n, float *y)
{
    (void)e, (void)x, (void)n, (void)y;
}
static inline void eigen_spmm_free(eigen_spmm *e) { (void)e; }
#endif

#endif /* LSC_BENCH_EIGEN_SPMM_H */
