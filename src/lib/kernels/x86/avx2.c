/* AVX2 + FMA (+ F16C) kernels: SIMD over the n columns of X and Y, eight floats a
 * vector; n = 1 runs scalar FMA chains (scalar_fma.h). */
#include <immintrin.h>

#include "kernels/convert.h"
#include "kernels/x86/rowpos_avx2.h"
#include "kernels/x86/row_tail.h"
#include "kernels/x86/scalar_fma.h"

#define VEC 8

static inline __m256i tail_mask(size_t left)
{
    static const int32_t m[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
    return _mm256_loadu_si256((const __m256i *)(const void *)(m + 8 - left));
}

/* One strip of nv vectors (the last one masked if `masked`) of a single Y row, kept
 * in registers over the whole chunk. A short strip (n = 8..32) would wait on its few
 * sums (an FMA's latency is 4 cycles, 2 issue a cycle): there consecutive values go to
 * C interleaved copies of the sums, added at the end. */
static inline __attribute__((always_inline)) void
row_strip(const float *restrict x, size_t ldx, float *restrict y, const uint32_t *restrict cols,
          const float *restrict vals, uint32_t cnt, const int nv, const int masked, __m256i mask)
{
    enum { CMAX = 4 };
    const int C = nv == 1 ? 4 : nv == 2 ? 4 : nv <= 4 ? 2 : 1;
    __m256 acc[CMAX][8];
    for (int k = 0; k < nv - masked; k++)
        acc[0][k] = _mm256_loadu_ps(y + k * VEC);
    if (masked)
        acc[0][nv - 1] = _mm256_maskload_ps(y + (nv - 1) * VEC, mask);
    for (int c = 1; c < C; c++)
        for (int k = 0; k < nv; k++)
            acc[c][k] = _mm256_setzero_ps();
    uint32_t i = 0;
    /* (C = 1 keeps the plain loop below: the chained one cost wide strips ~8%) */
    for (; C > 1 && i + (uint32_t)C <= cnt; i += (uint32_t)C)
        for (int c = 0; c < C; c++) {
            const float *xr = x + cols[i + c] * ldx;
            __m256 w = _mm256_broadcast_ss(vals + i + c);
            for (int k = 0; k < nv - masked; k++)
                acc[c][k] = _mm256_fmadd_ps(w, _mm256_loadu_ps(xr + k * VEC), acc[c][k]);
            if (masked)
                acc[c][nv - 1] = _mm256_fmadd_ps(
                    w, _mm256_maskload_ps(xr + (nv - 1) * VEC, mask), acc[c][nv - 1]);
        }
    for (; i < cnt; i++) {
        const float *xr = x + cols[i] * ldx;
        __m256 w = _mm256_broadcast_ss(vals + i);
        for (int k = 0; k < nv - masked; k++)
            acc[0][k] = _mm256_fmadd_ps(w, _mm256_loadu_ps(xr + k * VEC), acc[0][k]);
        if (masked)
            acc[0][nv - 1] = _mm256_fmadd_ps(w, _mm256_maskload_ps(xr + (nv - 1) * VEC, mask),
                                             acc[0][nv - 1]);
    }
    if (C == 4)
        for (int k = 0; k < nv; k++)
            acc[0][k] = _mm256_add_ps(_mm256_add_ps(acc[0][k], acc[1][k]),
                                      _mm256_add_ps(acc[2][k], acc[3][k]));
    else if (C == 2)
        for (int k = 0; k < nv; k++)
            acc[0][k] = _mm256_add_ps(acc[0][k], acc[1][k]);
    for (int k = 0; k < nv - masked; k++)
        _mm256_storeu_ps(y + k * VEC, acc[0][k]);
    if (masked)
        _mm256_maskstore_ps(y + (nv - 1) * VEC, mask, acc[0][nv - 1]);
}

static void k_row(const float *restrict x, size_t ldx, size_t n, float *restrict y0,
                  const uint32_t *restrict cols, const float *restrict vals, uint32_t cnt)
{
    size_t j = 0;
    for (; j + 8 * VEC <= n; j += 8 * VEC)
        row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 8, 0, _mm256_setzero_si256());
    size_t left = n - j;
    if (!left)
        return;
    size_t nv = (left + VEC - 1) / VEC;
    /* a tail of whole vectors (n = 8, 16, 32: batches) needs no masked loads */
    const int masked = left % VEC != 0;
    __m256i mask = tail_mask(masked ? left % VEC : VEC);
    if (masked) {
        LSC_ROW_TAIL(1)
    } else {
        LSC_ROW_TAIL(0)
    }
}

static void k_gen(const float *restrict x, size_t ldx, size_t n, float *restrict y0, size_t ldy,
                  const uint32_t *restrict cols, const uint32_t *restrict lrs,
                  const float *restrict vals, uint32_t cnt)
{
    size_t nfull = n / VEC * VEC;
    __m256i mask = tail_mask(n % VEC);
    for (uint32_t i = 0; i < cnt; i++) {
        const float *xr = x + cols[i] * ldx;
        float *yr = y0 + lrs[i] * ldy;
        __m256 w = _mm256_broadcast_ss(vals + i);
        size_t j = 0;
        for (; j < nfull; j += VEC)
            _mm256_storeu_ps(yr + j, _mm256_fmadd_ps(w, _mm256_loadu_ps(xr + j),
                                                     _mm256_loadu_ps(yr + j)));
        if (j < n)
            _mm256_maskstore_ps(yr + j, mask,
                                _mm256_fmadd_ps(w, _mm256_maskload_ps(xr + j, mask),
                                                _mm256_maskload_ps(yr + j, mask)));
    }
}

static void k_convert(lsc_dtype dtype, const uint8_t *src, float *dst, uint32_t n)
{
    uint32_t i = 0;
    switch (dtype) {
    case LSC_DTYPE_FLOAT16:
        for (; i + VEC <= n; i += VEC)
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(
                                          (const __m128i *)(const void *)(src + 2 * i))));
        break;
    case LSC_DTYPE_BFLOAT16:
        for (; i + VEC <= n; i += VEC) {
            __m256i h = _mm256_cvtepu16_epi32(
                _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i)));
            _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
        }
        break;
    case LSC_DTYPE_FLOAT64:
        for (; i + VEC <= n; i += VEC) {
            __m128 lo = _mm256_cvtpd_ps(_mm256_loadu_pd((const double *)(const void *)(src + 8 * i)));
            __m128 hi =
                _mm256_cvtpd_ps(_mm256_loadu_pd((const double *)(const void *)(src + 8 * i + 32)));
            _mm256_storeu_ps(dst + i, _mm256_set_m128(hi, lo));
        }
        break;
    default: /* float32 needs no conversion; 8-bit weights never get here */
        break;
    }
    lsc_convert_values(dtype, src + (size_t)i * lsc_elem_size(dtype), dst + i, n - i);
}

#define LSC_HAVE_ROWPOS 1
#define k_rowpos lsc_rowpos_avx2
#define LSC_BROWS_NAME lsc_spmm_brows_avx2
#define LSC_UNPACK_NAME lsc_unpack_brow_avx2
#include "kernels/brows.h"

#define LSC_WINDOWS_NAME lsc_windows_avx2
#include "kernels/windows.h"

#define LSC_FORM_ROWS_NAME lsc_form_rows_avx2
#include "kernels/x86/form_avx2.h"

#include "kernels/x86/plain_avx2.h"

/* n <= LSC_PLAIN_MAX_N: strips of up to 32 columns (four vectors, two copies of the
 * sums: eight FMA chains in 16 registers). */
static uint32_t k_plain(const float *restrict x, size_t ldx, size_t n, float *restrict y,
                        const uint16_t *restrict cols, const float *restrict vals, uint32_t cnt,
                        uint32_t k1)
{
    size_t j = 0;
    for (; n - j > 32; j += 32)
        plain_strip8(x + j, ldx, y + j, cols, vals, cnt, k1, 4, 0, _mm256_setzero_si256());
    return plain_row8(x + j, ldx, n - j, y + j, cols, vals, cnt, k1);
}

#define k_plain_end plain_end_avx2
#define LSC_PLAIN_SPMM_NAME lsc_plain_spmm_avx2
#include "kernels/plain_spmm.h"
