/* The windowed multiply's tile loop, shared by every variant (lsc_spmm_windows; the
 * job is cut in spmm.h's lsc_windows_job). Before including, a variant defines
 * LSC_WINDOWS_NAME and brows.h's k_row, which here gets offsets as columns and
 * ldx = 1: value i adds vals[i] * x[offs[i] + j] into y[j]. */
#include <string.h>

#include "kernels/spmm.h"

void LSC_WINDOWS_NAME(const lsc_windows_job *job, uint32_t r0, uint32_t r1, size_t j0, size_t j1)
{
    const uint32_t nkb = job->n_kb;
    for (size_t jt = j0; jt < j1; jt += job->tile) {
        size_t nt = j1 - jt < job->tile ? j1 - jt : job->tile;
        for (uint32_t r = r0; r < r1; r++)
            memset(job->y + r * job->ldy + jt, 0, nt * sizeof(float));
        /* k-block outside: its windows stay in L1 while every row reads them */
        for (uint32_t kb = 0; kb < nkb; kb++)
            for (uint32_t r = r0; r < r1; r++) {
                const uint64_t *s = job->starts + (size_t)(r - job->row_begin) * (nkb + 1) + kb;
                if (s[1] > s[0])
                    k_row(job->x + jt, 1, nt, job->y + r * job->ldy + jt, job->offs + s[0],
                          job->vals + s[0], (uint32_t)(s[1] - s[0]));
            }
    }
}
