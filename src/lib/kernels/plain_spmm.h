/* Narrow SpMM (n = 2..LSC_PLAIN_MAX_N columns of X: a Gemm's batch) on the batch-1
 * form's plain kind (form.h), block rows [br_begin, br_end) of a job: the rows inside
 * [row_begin, row_end) are zeroed, then each segment adds its values' rows of X. The
 * plain kind has nothing to decode (a uint16 column per value, the values in place),
 * where the SRI decoder cost the block-row path 1.4-1.8 cycles a value at n = 8
 * (docs/benchmarks.md, stop 16). Included by each variant after it defines
 *   static uint32_t k_plain(const float *x, size_t ldx, size_t n, float *y,
 *                           const uint16_t *cols, const float *vals, uint32_t cnt, uint32_t k1)
 *       (y[0..n) += vals[i] * row cols[i] of X for the i < cnt whose column is below
 *       k1, a prefix (the columns of a segment rise); returns how many;
 *       n <= LSC_PLAIN_MAX_N)
 *   static uint32_t k_plain_end(const uint16_t *cols, uint32_t i, uint32_t e, uint32_t k1)
 *       (the first index in [i, e) whose column is >= k1, else e)
 * and LSC_PLAIN_SPMM_NAME.
 *
 * When X is larger than LSC_PLAIN_KB_BYTES, W's columns are cut into k-blocks whose
 * rows of X fit there (L1): every segment adds its values of one k-block before the
 * next k-block starts, a cursor per segment keeping where it stopped. (Groups of rows
 * passing over every k-block, so that their rows of Y stay in L1 too, were no faster.) */
#include <stdlib.h>
#include <string.h>

#include "kernels/form.h"
#include "kernels/spmm.h"

#define LSC_PLAIN_AHEAD 4 /* segments ahead whose next values are prefetched */

void LSC_PLAIN_SPMM_NAME(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end)
{
    const lsc_n1_plain *pl = &job->form->plain;
    const float *values = (const float *)(const void *)job->v->values;
    const uint16_t *cols = pl->cols;
    const uint32_t *start = pl->start, *rowof = pl->row;
    const size_t n = job->n, ldx = job->ldx, ldy = job->ldy;
    const uint32_t bh = job->v->block_h;
    const uint64_t r_first = (uint64_t)br_begin * bh, r_stop = (uint64_t)br_end * bh;
    const uint64_t r_lo = r_first > job->row_begin ? r_first : job->row_begin;
    const uint64_t r_hi = r_stop < job->row_end ? r_stop : job->row_end;
    for (uint64_t r = r_lo; r < r_hi; r++)
        memset(job->y + r * ldy, 0, n * sizeof(float));
    const uint32_t s0 = pl->brow_seg[br_begin], s1 = pl->brow_seg[br_end];
    if (s1 == s0)
        return;
    /* X's k-block read in place where its rows are whole aligned vectors, else copied
     * so (a malloc'd X sits 16 bytes past a line: every 64-byte load split in two) */
    const size_t stride = n <= 8 ? 8 : (n + 15) / 16 * 16;
    const uint32_t cols_w = job->v->cols;
    const uint32_t kb = lsc_plain_kb_cols(cols_w, stride, start[s1] - start[s0], s1 - s0);
    const size_t align = stride * sizeof(float) < 64 ? stride * sizeof(float) : 64;
    /* (read in place too where the copies would not pay: a k-block past L2, or a task
     * whose values use each row of X fewer than 8 times on average; in ONNX Runtime's
     * 16 tasks a thread, copies of 256 KiB made fc6 at 2% and batch 32 1.3x slower) */
    const int in_place = (ldx == stride && ((uintptr_t)job->x & (align - 1)) == 0) ||
                         (uint64_t)kb * stride * sizeof(float) > LSC_PLAIN_KB_MAX_BYTES ||
                         start[s1] - start[s0] < (uint64_t)8 * cols_w;
    float *xmem = in_place ? NULL : malloc(((size_t)kb * stride + 16) * sizeof(float));
    float *xb = xmem ? (float *)(((uintptr_t)xmem + 63) / 64 * 64) : NULL;
    uint32_t *cur = kb < cols_w ? malloc((size_t)(s1 - s0) * sizeof *cur) : NULL;
    if (kb < cols_w && !cur) { /* no memory for the cursors: one k-block, the same sums */
        free(xmem);
        xmem = xb = NULL;
    }
    for (uint32_t s = s0; cur && s < s1; s++)
        cur[s - s0] = start[s];
    for (uint32_t k0 = 0; k0 < cols_w; k0 += kb) {
        const uint32_t lim = cur && cols_w - k0 > kb ? k0 + kb : LSC_FORM_COLS16;
        const float *x = job->x;
        size_t xs = ldx;
        if (xb) { /* rows k0.. of X at the buffer's start: columns offset by -k0 rows */
            const uint32_t kc = lim == LSC_FORM_COLS16 ? cols_w - k0 : kb;
            if (ldx == stride) /* X's rows back to back: one copy, not a call a row (n = 8,
                                  * X from malloc: 1.41-1.43 -> 1.33-1.37 cycles a value) */
                memcpy(xb, job->x + (size_t)k0 * ldx, (size_t)kc * stride * sizeof(float));
            else
                for (uint32_t k = 0; k < kc; k++)
                    memcpy(xb + (size_t)k * stride, job->x + (size_t)(k0 + k) * ldx,
                           n * sizeof(float));
            x = (const float *)((uintptr_t)xb - (uintptr_t)k0 * stride * sizeof(float));
            xs = stride;
        }
        for (uint32_t s = s0; s < s1; s++) {
            if (s + LSC_PLAIN_AHEAD < s1) { /* its next values lie a segment away */
                const uint32_t q = cur ? cur[s + LSC_PLAIN_AHEAD - s0] : start[s + LSC_PLAIN_AHEAD];
                __builtin_prefetch(cols + q);
                __builtin_prefetch(values + q);
                __builtin_prefetch(values + q + 16);
            }
            const uint32_t a = cur ? cur[s - s0] : start[s], end = start[s + 1], row = rowof[s];
            if (a == end)
                continue;
            uint32_t e;
            if (row >= r_lo && row < r_hi) /* the kernel finds the piece's end */
                e = a + k_plain(x, xs, n, job->y + (size_t)row * ldy, cols + a, values + a,
                                end - a, lim);
            else
                e = k_plain_end(cols, a, end, lim);
            if (cur)
                cur[s - s0] = e;
        }
        if (lim == LSC_FORM_COLS16)
            break;
    }
    free(cur);
    free(xmem);
}
