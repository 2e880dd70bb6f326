/* Mid and large n (8 and up) on one-row block rows, included by brows.h (needs its
 * fast_layout, LSC_ROWPOS_GROUPS and LSC_CACHED_VALUES and the variant's k_row).
 *
 * Every value's k_row step loads its row of X: with X's rows read in the order the
 * values come (the block-row path), a row of W walks all of X, which at n = 64 and
 * 4608 columns is 1.2 MB, beyond L1 and L2, so those loads, not the FMAs, bound the
 * multiply. Here the task's rows are decoded once (positions as columns), then the
 * columns of X and Y are cut into strips and the columns of W into k-blocks whose
 * strip of X fits L1: each (strip, k-block) is copied into an aligned buffer and
 * every row of the task adds its values of that k-block into its strip of Y. Y's
 * strip is loaded and stored once per row and k-block, so k-blocks must hold enough
 * values per row: only for dense enough weights (lsc_kblock_plan). */
#ifndef LSC_KERNELS_BROWS_KBLOCK_H
#define LSC_KERNELS_BROWS_KBLOCK_H

#define LSC_KB_AHEAD 4 /* rows ahead to prefetch */

/* One row's positions [a, e) (sorted, < n_kb << sh): s[kb * ss] its first value in
 * k-block kb of 2^sh columns (s[n_kb * ss] = e), the positions made relative to their
 * block. Eight at a time: a group's last position says which block ends it, and the
 * first value at or past a boundary inside the group is the count of lanes below it
 * (a prefix, the positions being sorted): no branch per value, one per boundary. A
 * store per value into s instead took ~2 cycles a value (measured, Zen 4). */
static void kb_starts(uint32_t *restrict pos, uint32_t a, uint32_t e, uint32_t sh, uint32_t n_kb,
                      uint32_t *restrict s, size_t ss)
{
    const __m256i lo_mask = _mm256_set1_epi32((int)((UINT32_C(1) << sh) - 1));
    uint32_t kb = 0, i = a;
    s[0] = a;
    for (; i + 8 <= e; i += 8) {
        __m256i p = _mm256_loadu_si256((const __m256i *)(const void *)(pos + i));
        uint32_t last = pos[i + 7] >> sh;
        last = last < n_kb ? last : n_kb - 1; /* (positions < cols: lsc_blob_parse) */
        while (kb < last) {
            __m256i b = _mm256_set1_epi32((int)((kb + 1) << sh));
            unsigned below =
                (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(b, p)));
            s[++kb * ss] = i + (uint32_t)__builtin_ctz(~below);
        }
        _mm256_storeu_si256((__m256i *)(void *)(pos + i), _mm256_and_si256(p, lo_mask));
    }
    for (; i < e; i++) {
        uint32_t c = pos[i];
        while (kb + 1 < n_kb && kb < (c >> sh))
            s[++kb * ss] = i;
        pos[i] = c & ((UINT32_C(1) << sh) - 1);
    }
    while (kb < n_kb)
        s[++kb * ss] = e;
}

/* Rows [lo, hi) of a one-row block-row layout: returns 0 (nothing done) if the plan
 * does not serve them or the buffers cannot be had. */

static int whole_rows_kblocked(const lsc_spmm_job *job, uint64_t lo, uint64_t hi, int direct)
{
    const lsc_blob_view *v = job->v;
    const lsc_rowpos_fn decode = k_rowpos(v->index_bits);
    if (v->block_h != 1 || !fast_layout(v, direct, decode) || lo >= hi)
        return 0;
    uint64_t e_lo, v_lo, e_hi, v_hi;
    lsc_blob_row_start(v, (uint32_t)lo, &e_lo, &v_lo);
    lsc_blob_row_start(v, (uint32_t)hi, &e_hi, &v_hi);
    lsc_kblock_plan plan;
    if (v_hi - v_lo > LSC_CACHED_VALUES ||
        !lsc_kblock_plan_make(v->cols, hi - lo, v_hi - v_lo, job->n, &plan))
        return 0;
    const uint32_t n_rows = (uint32_t)(hi - lo), n_kb = plan.n_kb, kb_cols = plan.kb_cols;
    const size_t stride = plan.stride;
    const uint32_t sh = plan.kb_shift;
    uint32_t *pos = malloc((size_t)(v_hi - v_lo + 16) * sizeof *pos);
    uint32_t *st = malloc((size_t)n_rows * (n_kb + 1) * sizeof *st); /* k-block major */
    const uint32_t kb_max = kb_cols < v->cols ? kb_cols : v->cols; /* rows of X a block copies */
    float *xmem = malloc(((size_t)kb_max * stride + 16) * sizeof(float));
    if (!pos || !st || !xmem) {
        free(pos);
        free(st);
        free(xmem);
        return 0;
    }
    float *xb = (float *)(((uintptr_t)xmem + 63) / 64 * 64);
    /* each row's positions, then its k-block starts with the positions made relative
     * to their k-block's first column (so that a k-block reads its packed strip) */
    const uint64_t nbytes = (v->n_entries * v->index_bits + 7) / 8;
    uint64_t e0 = e_lo, v0 = v_lo, e1, v1;
    for (uint32_t k = 0; k < n_rows; k++, e0 = e1, v0 = v1) {
        lsc_blob_row_start(v, (uint32_t)(lo + k + 1), &e1, &v1);
        const uint32_t a = (uint32_t)(v0 - v_lo), e = (uint32_t)(v1 - v_lo);
        lsc_rowpos rp;
        lsc_rowpos_init(&rp, v->entries, nbytes, e0, e1);
        uint32_t *p = pos + a;
        while (e1 > e0 && rp.g < rp.g_end)
            p += decode(&rp, p, LSC_ROWPOS_GROUPS);
        kb_starts(pos, a, e, sh, n_kb, st + k, n_rows);
    }
    const float *vals = (const float *)(const void *)v->values + v_lo;
    const size_t n = job->n, ldx = job->ldx, ldy = job->ldy;
    float *y = job->y + lo * ldy;
    for (uint32_t k = 0; k < n_rows; k++)
        memset(y + (size_t)k * ldy, 0, n * sizeof(float));
    for (size_t j0 = 0; j0 < n; j0 += plan.strip) {
        const size_t ns = n - j0 < plan.strip ? n - j0 : plan.strip;
        for (uint32_t kb = 0; kb < n_kb; kb++) {
            const uint32_t k0 = kb * kb_cols;
            const uint32_t kc = v->cols - k0 < kb_cols ? v->cols - k0 : kb_cols;
            for (uint32_t k = 0; k < kc; k++)
                memcpy(xb + (size_t)k * stride, job->x + (size_t)(k0 + k) * ldx + j0,
                       ns * sizeof(float));
            /* the rows' starts in this k-block and the next, row after row */
            const uint32_t *s0 = st + (size_t)kb * n_rows, *s1 = s0 + n_rows;
            for (uint32_t k = 0; k < n_rows; k++) {
                if (k + LSC_KB_AHEAD < n_rows) { /* a later row's values: lines far apart */
                    uint32_t b = s0[k + LSC_KB_AHEAD], e = s1[k + LSC_KB_AHEAD];
                    for (uint32_t q = b; q < e; q += 16) {
                        __builtin_prefetch(pos + q);
                        __builtin_prefetch(vals + q);
                    }
                    if (e > b) { /* the line of its last value */
                        __builtin_prefetch(pos + e - 1);
                        __builtin_prefetch(vals + e - 1);
                    }
                }
                if (s1[k] > s0[k])
                    k_row(xb, stride, ns, y + (size_t)k * ldy + j0, pos + s0[k], vals + s0[k],
                          s1[k] - s0[k]);
            }
        }
    }
    free(pos);
    free(st);
    free(xmem);
    return 1;
}

#endif /* LSC_KERNELS_BROWS_KBLOCK_H */
