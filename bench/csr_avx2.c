/* CSR with AVX2+FMA: four FMA chains for n = 1, register strips of 64 columns
 * otherwise (the same scheme as the LSC kernels' k_row). */
#include <immintrin.h>
#include <math.h>

#include "csr.h"

static inline __m256i tail_mask(size_t left)
{
    static const int32_t t[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
    return _mm256_loadu_si256((const __m256i *)(const void *)(t + 8 - left));
}

static inline __attribute__((always_inline)) void
strip(const csr *m, uint32_t r, const float *x, size_t ldx, float *y, const int nv, __m256i mask)
{
    __m256 acc[8];
    for (int k = 0; k < nv; k++)
        acc[k] = _mm256_setzero_ps();
    for (uint32_t i = m->rowptr[r]; i < m->rowptr[r + 1]; i++) {
        const float *xr = x + m->colidx[i] * ldx;
        __m256 w = _mm256_broadcast_ss(m->vals + i);
        for (int k = 0; k < nv - 1; k++)
            acc[k] = _mm256_fmadd_ps(w, _mm256_loadu_ps(xr + 8 * k), acc[k]);
        acc[nv - 1] = _mm256_fmadd_ps(w, _mm256_maskload_ps(xr + 8 * (nv - 1), mask), acc[nv - 1]);
    }
    for (int k = 0; k < nv - 1; k++)
        _mm256_storeu_ps(y + 8 * k, acc[k]);
    _mm256_maskstore_ps(y + 8 * (nv - 1), mask, acc[nv - 1]);
}

void csr_spmm_avx2(const csr *m, const float *x, size_t ldx, size_t n, float *y, size_t ldy,
                   uint32_t r0, uint32_t r1)
{
    const __m256i all = _mm256_set1_epi32(-1);
    for (uint32_t r = r0; r < r1; r++) {
        float *yr = y + r * ldy;
        if (n == 1) {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            uint32_t k = m->rowptr[r], e = m->rowptr[r + 1];
            const uint32_t *ci = m->colidx;
            const float *v = m->vals;
            if (ldx == 1) {
                for (; k + 4 <= e; k += 4) {
                    s0 = fmaf(v[k], x[ci[k]], s0);
                    s1 = fmaf(v[k + 1], x[ci[k + 1]], s1);
                    s2 = fmaf(v[k + 2], x[ci[k + 2]], s2);
                    s3 = fmaf(v[k + 3], x[ci[k + 3]], s3);
                }
            }
            for (; k < e; k++)
                s0 = fmaf(v[k], x[ci[k] * ldx], s0);
            yr[0] = (s0 + s1) + (s2 + s3);
            continue;
        }
        size_t j = 0;
        for (; j + 64 <= n; j += 64)
            strip(m, r, x + j, ldx, yr + j, 8, all);
        size_t left = n - j;
        if (!left)
            continue;
        __m256i mask = left % 8 ? tail_mask(left % 8) : all;
        switch ((left + 7) / 8) {
        case 1: strip(m, r, x + j, ldx, yr + j, 1, mask); break;
        case 2: strip(m, r, x + j, ldx, yr + j, 2, mask); break;
        case 3: strip(m, r, x + j, ldx, yr + j, 3, mask); break;
        case 4: strip(m, r, x + j, ldx, yr + j, 4, mask); break;
        case 5: strip(m, r, x + j, ldx, yr + j, 5, mask); break;
        case 6: strip(m, r, x + j, ldx, yr + j, 6, mask); break;
        case 7: strip(m, r, x + j, ldx, yr + j, 7, mask); break;
        default: strip(m, r, x + j, ldx, yr + j, 8, mask); break;
        }
    }
}
