/* The windowed multiply's tile loop, shared by every variant (lsc_spmm_windows_to; the
 * job is cut in spmm.h's lsc_windows_job). Before including, a variant defines
 * LSC_WINDOWS_NAME and brows.h's k_row, which here gets offsets as columns and
 * ldx = 1: value i adds vals[i] * x[offs[i] + j] into acc[j]. */
#include <string.h>

#include "kernels/spmm.h"

#ifndef LSC_WIN_MAP_CHUNK
#define LSC_WIN_MAP_CHUNK 256 /* windows mapped at a time on the form */
#define LSC_WIN_AHEAD 2       /* rows ahead to prefetch */
#endif

void LSC_WINDOWS_NAME(const lsc_windows_job *job, uint32_t r0, uint32_t r1, size_t j0, size_t j1,
                      float *acc)
{
    const uint32_t nkb = job->n_kb;
    const size_t tile = job->tile;
    uint32_t map[LSC_WIN_MAP_CHUNK];
    for (size_t jt = j0; jt < j1; jt += tile) {
        size_t nt = j1 - jt < tile ? j1 - jt : tile;
        for (uint32_t r = r0; r < r1; r++)
            memset(acc + (size_t)(r - r0) * tile, 0, nt * sizeof(float));
        /* k-block outside: its windows stay in L1 while every row reads them */
        for (uint32_t kb = 0; kb < nkb; kb++)
            for (uint32_t r = r0; r < r1; r++) {
                const uint64_t *s = job->starts + (size_t)(r - job->row_begin) * (nkb + 1) + kb;
                if (r + LSC_WIN_AHEAD < r1) {
                    /* the rows' pieces of a k-block lie a row apart: no stream the
                     * hardware prefetcher follows (on the form, 14x14 layers waited on
                     * a quarter of their column loads) */
                    uint64_t q = s[(size_t)LSC_WIN_AHEAD * (nkb + 1)];
                    if (job->offs)
                        __builtin_prefetch(job->offs + q);
                    else
                        __builtin_prefetch(job->cols + q);
                    __builtin_prefetch(job->vals + q);
                    __builtin_prefetch(job->vals + q + 16);
                }
                if (s[1] <= s[0])
                    continue;
                float *a = acc + (size_t)(r - r0) * tile;
                if (job->offs) {
                    k_row(job->x + jt, 1, nt, a, job->offs + s[0], job->vals + s[0],
                          (uint32_t)(s[1] - s[0]));
                    continue;
                }
                /* the form: columns to windows a chunk at a time (a value's lookup
                 * costs about a cycle, its FMAs across the tile a dozen or more) */
                for (uint64_t i = s[0]; i < s[1]; i += LSC_WIN_MAP_CHUNK) {
                    uint32_t cnt = s[1] - i < LSC_WIN_MAP_CHUNK ? (uint32_t)(s[1] - i)
                                                                : LSC_WIN_MAP_CHUNK;
                    for (uint32_t k = 0; k < cnt; k++)
                        map[k] = job->tab[job->cols[i + k]];
                    k_row(job->x + jt, 1, nt, a, map, job->vals + i, cnt);
                }
            }
        /* the tile's sums are final: the sink writes them where they belong, while
         * they are still in cache */
        for (uint32_t r = r0; r < r1; r++)
            job->sink->put(job->sink->context, r, jt, acc + (size_t)(r - r0) * tile, nt);
    }
}
