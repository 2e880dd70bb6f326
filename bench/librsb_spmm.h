/* librsb (Recursive Sparse Blocks) as a second peer in lsc-bench, built from the
 * same pruned weight as the CSR baseline through its C API. Without librsb the
 * stubs below make every call a no-op and the column "-". */
#ifndef LSC_BENCH_LIBRSB_SPMM_H
#define LSC_BENCH_LIBRSB_SPMM_H

#include <stddef.h>

#include "csr.h"

typedef struct librsb_spmm librsb_spmm;

#ifdef BENCH_HAVE_LIBRSB
/* Call first in main: unless OMP_WAIT_POLICY is set, runs the program again with it
 * set to passive (returns only if that is not needed or failed). */
void librsb_spmm_prepare(char **argv);
/* librsb's version and wait policy; NULL if it failed to initialise. */
const char *librsb_spmm_version(void);
/* librsb's own assembly (recursive blocks, 16-bit indices where they fit) of a copy
 * of m; NULL on failure (one line on stderr). */
librsb_spmm *librsb_spmm_create(const csr *m);
/* Y (rows x n) = W X (cols x n), both row-major and packed (ld = n), on `threads`
 * OpenMP threads of librsb's own. */
void librsb_spmm_run(const librsb_spmm *r, const float *x, size_t n, float *y, unsigned threads);
void librsb_spmm_free(librsb_spmm *r);
#else
static inline void librsb_spmm_prepare(char **argv) { (void)argv; }
static inline const char *librsb_spmm_version(void) { return NULL; }
static inline librsb_spmm *librsb_spmm_create(const csr *m) { (void)m; return NULL; }
static inline void librsb_spmm_run(const librsb_spmm *r, const float *x, size_t n, float *y,
                                   unsigned threads)
{
    (void)r, (void)x, (void)n, (void)y, (void)threads;
}
static inline void librsb_spmm_free(librsb_spmm *r) { (void)r; }
#endif

#endif /* LSC_BENCH_LIBRSB_SPMM_H */
