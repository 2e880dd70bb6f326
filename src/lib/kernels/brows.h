/* The block-row driver shared by every variant: decode a chunk of a block row's
 * positions (decode.h), get its values as fp32, hand both to the variant's inner
 * kernels. Before including, a variant defines LSC_BROWS_NAME and these functions:
 *   float k_dot(x, xs, cols, vals, cnt)            n = 1, block_h = 1: sum v * x[col*xs]
 *   void  k_n1(x, xs, y0, ldy, cols, lrs, vals, cnt)   n = 1: y0[lr*ldy] += v * x[col*xs]
 *   void  k_row(x, ldx, n, y0, cols, vals, cnt)    block_h = 1: y0[0..n) += v * x row col
 *   void  k_gen(x, ldx, n, y0, ldy, cols, lrs, vals, cnt)
 *   void  k_convert(dtype, src, dst, cnt)          values to fp32 */
#include <stdlib.h>

#include "kernels/decode.h"
#include "kernels/spmm.h"

#define LSC_CHUNK 256

/* Drops the positions whose row lies outside [lo, hi) (a row range cutting a block
 * row); values move to vbuf. Returns the count kept. */
static uint32_t keep_rows(uint32_t *cols, uint32_t *lrs, const float *vals, float *vbuf,
                          uint32_t cnt, uint64_t lo, uint64_t hi)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        if (lrs[i] < lo || lrs[i] >= hi)
            continue;
        cols[m] = cols[i];
        lrs[m] = lrs[i];
        vbuf[m] = vals[i];
        m++;
    }
    return m;
}

void LSC_BROWS_NAME(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end)
{
    const lsc_blob_view *v = job->v;
    uint32_t cols[LSC_CHUNK], lrs[LSC_CHUNK];
    float vbuf[LSC_CHUNK];
    const size_t n = job->n, ldx = job->ldx, ldy = job->ldy;
    const float *x = job->x;
    const int h1 = v->block_h == 1;
    /* fp32 values are read in place when the host and the alignment allow */
    int direct = v->dtype == LSC_DTYPE_FLOAT32 && ((uintptr_t)v->values & 3) == 0;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    direct = 0;
#endif
    /* room for the kept block columns of a row; without it, the branchy decoder */
    uint32_t *kept = malloc((size_t)v->n_bcols * sizeof(uint32_t));
    for (uint32_t br = br_begin; br < br_end; br++) {
        uint64_t r0 = (uint64_t)br * v->block_h;
        uint64_t r_full = r0 + v->block_h < v->rows ? r0 + v->block_h : v->rows;
        uint64_t lo = r0 > job->row_begin ? r0 : job->row_begin;
        uint64_t hi = r_full < job->row_end ? r_full : job->row_end;
        if (lo >= hi)
            continue;
        int partial = lo > r0 || hi < r_full;
        for (uint64_t r = lo; r < hi; r++) {
            if (n == 1)
                job->y[r * ldy] = 0.0f;
            else
                memset(job->y + r * ldy, 0, n * sizeof(float));
        }
        float *y0 = job->y + r0 * ldy;
        lsc_brow_decoder d;
        uint64_t vstart;
        lsc_dec_init(&d, v, br, &vstart);
        if (kept)
            lsc_dec_set_kept(&d, kept);
        const uint8_t *src = v->values + vstart * v->elem_size;
        float acc = 0.0f;
        uint32_t cnt;
        while ((cnt = lsc_dec_chunk(&d, cols, h1 ? NULL : lrs, LSC_CHUNK)) != 0) {
            const float *vals;
            if (direct) {
                vals = (const float *)(const void *)src;
            } else {
                k_convert(v->dtype, src, vbuf, cnt);
                vals = vbuf;
            }
            src += (size_t)cnt * v->elem_size;
            if (partial) {
                cnt = keep_rows(cols, lrs, vals, vbuf, cnt, lo - r0, hi - r0);
                vals = vbuf;
            }
            if (n == 1 && h1)
                acc += k_dot(x, ldx, cols, vals, cnt);
            else if (n == 1)
                k_n1(x, ldx, y0, ldy, cols, lrs, vals, cnt);
            else if (h1)
                k_row(x, ldx, n, y0, cols, vals, cnt);
            else
                k_gen(x, ldx, n, y0, ldy, cols, lrs, vals, cnt);
        }
        if (n == 1 && h1)
            y0[0] = acc;
    }
    free(kept);
}
