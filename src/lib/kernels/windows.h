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

/* The next k-block's windows (or the next tile's first), prefetched a few lines a row
 * while the rows run over the current one: the copies would otherwise wait on L3 or
 * memory a line at a time. Windows of one channel's taps overlap, so a line is
 * prefetched once while the windows' starts increase. */
typedef struct win_ahead {
    const float *base;
    const uint32_t *tab;
    uint32_t c, c1; /* the next column to start, the end */
    size_t nt;
    uintptr_t p, e, lo, hi; /* next line, the window's end; the lines prefetched */
} win_ahead;

static inline void win_ahead_step(win_ahead *a, uint32_t lines)
{
    while (lines) {
        if (a->p >= a->e) {
            if (a->c >= a->c1)
                break;
            uintptr_t s = (uintptr_t)(a->base + a->tab[a->c]) / 64 * 64;
            a->e = (uintptr_t)(a->base + a->tab[a->c] + a->nt);
            a->c++;
            if (s < a->lo || s > a->hi)
                a->lo = a->hi = s;
            a->p = s > a->hi ? s : a->hi;
            continue;
        }
        __builtin_prefetch((const void *)a->p, 0, 2);
        a->p += 64;
        a->hi = a->p > a->hi ? a->p : a->hi;
        lines--;
    }
}

/* The tile loop with the k-block's windows copied (job->copy_cols), for a variant
 * that defines k_win_row(buf, stride, n, y, cols, c0, c1, vals, cnt): it adds the
 * values of cols[0..cnt) below column c1, column c's window at buf + (c - c0) * stride
 * on a 64-byte line (stride = the tile), and returns how many it took. A row's cursor
 * walks its values across the k-blocks, so no k-block starts are needed. */
#ifdef k_win_row
static void windows_copied(const lsc_windows_job *job, uint32_t r0, uint32_t r1, size_t j0,
                           size_t j1, float *acc)
{
    const uint32_t nkb = job->n_kb, rows = r1 - r0;
    const size_t tile = job->tile;
    uintptr_t end = (uintptr_t)(acc + (size_t)rows * tile);
    float *buf = (float *)((end + 63) / 64 * 64);
    uint32_t *cur = (uint32_t *)(void *)(buf + (size_t)job->copy_cols * tile);
    const uint32_t *rs = job->row_start, base = job->value_base;
    for (size_t jt = j0; jt < j1; jt += tile) {
        size_t nt = j1 - jt < tile ? j1 - jt : tile;
        for (uint32_t r = r0; r < r1; r++) {
            memset(acc + (size_t)(r - r0) * tile, 0, nt * sizeof(float));
            cur[r - r0] = rs[r] - base;
        }
        for (uint32_t kb = 0; kb < nkb; kb++) {
            const uint32_t f0 = job->first[kb], f1 = job->first[kb + 1];
            for (uint32_t c = f0; c < f1; c++)
                memcpy(buf + (size_t)(c - f0) * tile, job->x + jt + job->tab[c],
                       nt * sizeof(float));
            win_ahead ah = { 0 };
            uint32_t step = 0;
            size_t jn = kb + 1 < nkb ? jt : jt + tile;
            if (jn < j1) {
                uint32_t kn = kb + 1 < nkb ? kb + 1 : 0;
                ah.base = job->x + jn;
                ah.tab = job->tab;
                ah.c = job->first[kn];
                ah.c1 = job->first[kn + 1];
                ah.nt = j1 - jn < tile ? j1 - jn : tile;
                size_t est = (size_t)(ah.c1 - ah.c) * (ah.nt / 16 + 1);
                step = (uint32_t)((est + rows - 1) / rows);
            }
            for (uint32_t r = r0; r < r1; r++) {
                win_ahead_step(&ah, step);
                uint32_t i = cur[r - r0];
                if (r + LSC_WIN_AHEAD < r1) {
                    uint32_t q = cur[r - r0 + LSC_WIN_AHEAD];
                    __builtin_prefetch(job->cols + q);
                    __builtin_prefetch(job->vals + q);
                    __builtin_prefetch(job->vals + q + 16);
                }
                cur[r - r0] = i + k_win_row(buf, tile, nt, acc + (size_t)(r - r0) * tile, job->cols + i,
                                            f0, f1, job->vals + i, rs[r + 1] - base - i);
            }
        }
        for (uint32_t r = r0; r < r1; r++)
            job->sink->put(job->sink->context, r, jt, acc + (size_t)(r - r0) * tile, nt);
    }
}
#endif

void LSC_WINDOWS_NAME(const lsc_windows_job *job, uint32_t r0, uint32_t r1, size_t j0, size_t j1,
                      float *acc)
{
    const uint32_t nkb = job->n_kb;
    const size_t tile = job->tile;
    uint32_t map[LSC_WIN_MAP_CHUNK];
#ifdef k_win_row
    if (job->copy_cols) {
        windows_copied(job, r0, r1, j0, j1, acc);
        return;
    }
#endif
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
#ifdef k_win_tab
                /* the form, a whole tile in one pass: each column's window looked up */
                (void)map;
                k_win_tab(job->x + jt, nt, a, job->cols + s[0], job->tab, job->vals + s[0],
                          (uint32_t)(s[1] - s[0]));
                continue;
#endif
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
