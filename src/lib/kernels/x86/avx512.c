/* AVX-512 F kernels: the AVX2 design with sixteen floats a vector and mask
 * registers for the tails. */
#include <immintrin.h>

#include "kernels/convert.h"
#include "kernels/x86/rowpos_avx2.h"
#include "kernels/x86/row_tail.h"
#include "kernels/x86/scalar_fma.h"

#define VEC 16

/* A short strip (n = 16..32) would wait on its few sums (an FMA's latency is 4
 * cycles): there consecutive values go to C interleaved copies of the sums. */
static inline __attribute__((always_inline)) void
row_strip(const float *restrict x, size_t ldx, float *restrict y, const uint32_t *restrict cols,
          const float *restrict vals, uint32_t cnt, const int nv, const int masked,
          __mmask16 mask)
{
    enum { CMAX = 4 };
    const int C = nv == 1 ? 4 : nv == 2 ? 2 : 1;
    __m512 acc[CMAX][8];
    for (int k = 0; k < nv - masked; k++)
        acc[0][k] = _mm512_loadu_ps(y + k * VEC);
    if (masked)
        acc[0][nv - 1] = _mm512_maskz_loadu_ps(mask, y + (nv - 1) * VEC);
    for (int c = 1; c < C; c++)
        for (int k = 0; k < nv; k++)
            acc[c][k] = _mm512_setzero_ps();
    uint32_t i = 0;
    /* (C = 1 keeps the plain loop below: the chained one cost wide strips ~8%) */
    for (; C > 1 && i + (uint32_t)C <= cnt; i += (uint32_t)C)
        for (int c = 0; c < C; c++) {
            const float *xr = x + cols[i + c] * ldx;
            __m512 w = _mm512_set1_ps(vals[i + c]);
            for (int k = 0; k < nv - masked; k++)
                acc[c][k] = _mm512_fmadd_ps(w, _mm512_loadu_ps(xr + k * VEC), acc[c][k]);
            if (masked)
                acc[c][nv - 1] = _mm512_fmadd_ps(
                    w, _mm512_maskz_loadu_ps(mask, xr + (nv - 1) * VEC), acc[c][nv - 1]);
        }
    for (; i < cnt; i++) {
        const float *xr = x + cols[i] * ldx;
        __m512 w = _mm512_set1_ps(vals[i]);
        for (int k = 0; k < nv - masked; k++)
            acc[0][k] = _mm512_fmadd_ps(w, _mm512_loadu_ps(xr + k * VEC), acc[0][k]);
        if (masked)
            acc[0][nv - 1] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(mask, xr + (nv - 1) * VEC),
                                             acc[0][nv - 1]);
    }
    if (C == 4)
        for (int k = 0; k < nv; k++)
            acc[0][k] = _mm512_add_ps(_mm512_add_ps(acc[0][k], acc[1][k]),
                                      _mm512_add_ps(acc[2][k], acc[3][k]));
    else if (C == 2)
        for (int k = 0; k < nv; k++)
            acc[0][k] = _mm512_add_ps(acc[0][k], acc[1][k]);
    for (int k = 0; k < nv - masked; k++)
        _mm512_storeu_ps(y + k * VEC, acc[0][k]);
    if (masked)
        _mm512_mask_storeu_ps(y + (nv - 1) * VEC, mask, acc[0][nv - 1]);
}

/* At most 8 columns: one 256-bit vector, four chains. A masked 512-bit load and FMA
 * for 8 lanes cost Zen 4 as much as two 256-bit ones (it splits them). */
static inline __attribute__((always_inline)) void
row_strip8(const float *restrict x, size_t ldx, float *restrict y, const uint32_t *restrict cols,
           const float *restrict vals, uint32_t cnt, const int masked, __m256i mask)
{
    __m256 a0 = masked ? _mm256_maskload_ps(y, mask) : _mm256_loadu_ps(y);
    __m256 a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
#define LSC_X8(I) (masked ? _mm256_maskload_ps(x + cols[I] * ldx, mask) : _mm256_loadu_ps(x + cols[I] * ldx))
    uint32_t i = 0;
    for (; i + 4 <= cnt; i += 4) {
        a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + i), LSC_X8(i), a0);
        a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + i + 1), LSC_X8(i + 1), a1);
        a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + i + 2), LSC_X8(i + 2), a2);
        a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + i + 3), LSC_X8(i + 3), a3);
    }
    for (; i < cnt; i++)
        a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + i), LSC_X8(i), a0);
#undef LSC_X8
    a0 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    if (masked)
        _mm256_maskstore_ps(y, mask, a0);
    else
        _mm256_storeu_ps(y, a0);
}

static void k_row(const float *restrict x, size_t ldx, size_t n, float *restrict y0,
                  const uint32_t *restrict cols, const float *restrict vals, uint32_t cnt)
{
    size_t j = 0;
    for (; j + 8 * VEC <= n; j += 8 * VEC)
        row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 8, 0, 0xffff);
    size_t left = n - j;
    if (!left)
        return;
    if (left < 8) {
        static const int32_t m[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
        row_strip8(x + j, ldx, y0 + j, cols, vals, cnt, 1,
                   _mm256_loadu_si256((const __m256i *)(const void *)(m + 8 - left)));
        return;
    }
    if (left == 8) {
        row_strip8(x + j, ldx, y0 + j, cols, vals, cnt, 0, _mm256_setzero_si256());
        return;
    }
    size_t nv = (left + VEC - 1) / VEC;
    /* a tail of whole vectors (a 14x14 convolution's 224 columns, batches of 16) needs no
     * masked loads, and without them the compiler keeps every sum in a register (with
     * them it spilled the sums of a 6-vector strip on every value) */
    const int masked = left % VEC != 0;
    __mmask16 mask = masked ? (__mmask16)((1u << (left % VEC)) - 1) : 0xffff;
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
    __mmask16 mask = (__mmask16)((1u << (n % VEC)) - 1);
    for (uint32_t i = 0; i < cnt; i++) {
        const float *xr = x + cols[i] * ldx;
        float *yr = y0 + lrs[i] * ldy;
        __m512 w = _mm512_set1_ps(vals[i]);
        size_t j = 0;
        for (; j < nfull; j += VEC)
            _mm512_storeu_ps(yr + j, _mm512_fmadd_ps(w, _mm512_loadu_ps(xr + j),
                                                     _mm512_loadu_ps(yr + j)));
        if (j < n)
            _mm512_mask_storeu_ps(yr + j, mask,
                                  _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(mask, xr + j),
                                                  _mm512_maskz_loadu_ps(mask, yr + j)));
    }
}

static void k_convert(lsc_dtype dtype, const uint8_t *src, float *dst, uint32_t n)
{
    uint32_t i = 0;
    switch (dtype) {
    case LSC_DTYPE_FLOAT16:
        for (; i + VEC <= n; i += VEC)
            _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(
                                          (const __m256i *)(const void *)(src + 2 * i))));
        break;
    case LSC_DTYPE_BFLOAT16:
        for (; i + VEC <= n; i += VEC) {
            __m512i h = _mm512_cvtepu16_epi32(
                _mm256_loadu_si256((const __m256i *)(const void *)(src + 2 * i)));
            _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
        }
        break;
    case LSC_DTYPE_FLOAT64:
        for (; i + VEC <= n; i += VEC) {
            __m256 lo = _mm512_cvtpd_ps(_mm512_loadu_pd((const void *)(src + 8 * i)));
            __m256 hi = _mm512_cvtpd_ps(_mm512_loadu_pd((const void *)(src + 8 * i + 64)));
            __m512d both = _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)),
                                              _mm256_castps_pd(hi), 1);
            _mm512_storeu_ps(dst + i, _mm512_castpd_ps(both));
        }
        break;
    default: /* float32 needs no conversion; 8-bit weights never get here */
        break;
    }
    lsc_convert_values(dtype, src + (size_t)i * lsc_elem_size(dtype), dst + i, n - i);
}

#define LSC_HAVE_ROWPOS 1
#define k_rowpos lsc_rowpos_avx2
#define LSC_BROWS_NAME lsc_spmm_brows_avx512
#define LSC_UNPACK_NAME lsc_unpack_brow_avx512
#include "kernels/brows.h"

#if defined(__clang__)
#define LSC_WIN_UNROLL _Pragma("unroll")
#else
#define LSC_WIN_UNROLL _Pragma("GCC unroll 16")
#endif

/* Windows copied to 64-byte lines (windows.h), a tile of up to 256 columns: its sums
 * stay in nv registers while the piece's values pass, one aligned load an FMA; value
 * i's window at x + (cols[i] - c0) * stride, the piece ends at column c1. */
static inline __attribute__((always_inline)) uint32_t
win_strip(const float *restrict x, size_t stride, float *restrict y, const uint16_t *restrict cols, uint32_t c0,
          uint32_t c1, const uint32_t *restrict tab, const float *restrict vals, uint32_t cnt,
          const int nv, const int masked, __mmask16 mask)
{
    __m512 acc[16];
#define LSC_WL(p) (masked && k == nv - 1 ? _mm512_maskz_loadu_ps(mask, (p)) : _mm512_loadu_ps(p))
    LSC_WIN_UNROLL for (int k = 0; k < nv; k++)
        acc[k] = masked && k == nv - 1 ? _mm512_maskz_loadu_ps(mask, y + k * VEC)
                                       : _mm512_loadu_ps(y + k * VEC);
    uint32_t i = 0;
    for (; i < cnt && (tab || cols[i] < c1); i++) {
        const float *xr = tab ? x + tab[cols[i]] : x + (size_t)(cols[i] - c0) * stride;
        const __m512 w = _mm512_set1_ps(vals[i]);
        LSC_WIN_UNROLL for (int k = 0; k < nv; k++)
            acc[k] = _mm512_fmadd_ps(w, LSC_WL(xr + k * VEC), acc[k]);
    }
#undef LSC_WL
    LSC_WIN_UNROLL for (int k = 0; k < nv; k++) {
        if (masked && k == nv - 1)
            _mm512_mask_storeu_ps(y + k * VEC, mask, acc[k]);
        else
            _mm512_storeu_ps(y + k * VEC, acc[k]);
    }
    return i;
}

#define LSC_WIN_STRIPS(M)                                                                      \
    switch (nv) {                                                                              \
    case 1: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 1, M, mask);          \
    case 2: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 2, M, mask);          \
    case 3: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 3, M, mask);          \
    case 4: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 4, M, mask);          \
    case 5: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 5, M, mask);          \
    case 6: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 6, M, mask);          \
    case 7: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 7, M, mask);          \
    case 8: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 8, M, mask);          \
    case 9: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 9, M, mask);          \
    case 10: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 10, M, mask);        \
    case 11: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 11, M, mask);        \
    case 12: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 12, M, mask);        \
    case 13: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 13, M, mask);        \
    case 14: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 14, M, mask);        \
    case 15: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 15, M, mask);        \
    default: return win_strip(x, stride, y, cols, c0, c1, tab, vals, cnt, 16, M, mask);        \
    }

/* n = 1..256 columns: whole vectors, the last masked when n is not a multiple of 16;
 * with tab (c0, c1 unused) value i's window is x + tab[cols[i]] and all cnt are
 * taken (k_win_tab: windows in place, the whole tile in one pass) */
static uint32_t k_win_any(const float *restrict x, size_t stride, size_t n, float *restrict y,
                          const uint16_t *restrict cols, uint32_t c0, uint32_t c1,
                          const uint32_t *restrict tab, const float *restrict vals, uint32_t cnt)
{
    const size_t nv = (n + VEC - 1) / VEC;
    const int masked = n % VEC != 0;
    const __mmask16 mask = masked ? (__mmask16)((1u << (n % VEC)) - 1) : 0xffff;
    if (masked) {
        LSC_WIN_STRIPS(1)
    } else {
        LSC_WIN_STRIPS(0)
    }
}

static uint32_t k_win_row(const float *restrict x, size_t stride, size_t n, float *restrict y,
                          const uint16_t *restrict cols, uint32_t c0, uint32_t c1,
                          const float *restrict vals, uint32_t cnt)
{
    if (n == 16 * VEC)
        return win_strip(x, stride, y, cols, c0, c1, NULL, vals, cnt, 16, 0, 0xffff);
    if (n == 8 * VEC)
        return win_strip(x, stride, y, cols, c0, c1, NULL, vals, cnt, 8, 0, 0xffff);
    return k_win_any(x, stride, n, y, cols, c0, c1, NULL, vals, cnt);
}

static void k_win_tab(const float *restrict x, size_t n, float *restrict y,
                      const uint16_t *restrict cols, const uint32_t *restrict tab,
                      const float *restrict vals, uint32_t cnt)
{
    k_win_any(x, 0, n, y, cols, 0, 0, tab, vals, cnt);
}

#define k_win_row k_win_row
#define k_win_tab k_win_tab
#define LSC_WINDOWS_NAME lsc_windows_avx512
#include "kernels/windows.h"

#define LSC_FORM_ROWS_NAME lsc_form_rows_avx512
#include "kernels/x86/form_avx2.h"

#include "kernels/x86/plain_avx2.h"

/* plain_strip8 (x86/plain_avx2.h) with nv 512-bit vectors, the last masked if
 * `masked`; C * nv >= 4 chains (Zen 4 issues one 512-bit FMA a cycle). */
static inline __attribute__((always_inline)) uint32_t
plain_strip16(const float *restrict x, const size_t ldx, float *restrict y,
              const uint16_t *restrict cols, const float *restrict vals, uint32_t cnt, uint32_t k1,
              const int nv, const int masked, __mmask16 mask)
{
    const int C = nv == 1 ? 4 : 2; /* divides 8: the columns come four a load */
    __m512 acc[4][4];
#define LSC_PL(p) (masked && k == nv - 1 ? _mm512_maskz_loadu_ps(mask, (p)) : _mm512_loadu_ps(p))
    for (int k = 0; k < nv; k++)
        acc[0][k] = LSC_PL(y + k * 16);
    for (int c = 1; c < C; c++)
        for (int k = 0; k < nv; k++)
            acc[c][k] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= cnt && cols[i + 7] < k1; i += 8) {
        uint64_t q[2];
        memcpy(q, cols + i, 16);
        LSC_UNROLL for (int u = 0; u < 8; u++) {
            const float *xr = x + (size_t)(uint16_t)(q[u / 4] >> (16 * (u % 4))) * ldx;
            const __m512 w = _mm512_set1_ps(vals[i + u]);
            const int c = u % C;
            LSC_UNROLL for (int k = 0; k < nv; k++)
                acc[c][k] = _mm512_fmadd_ps(w, LSC_PL(xr + k * 16), acc[c][k]);
        }
    }
    if (i + 4 <= cnt && cols[i + 3] < k1) {
        uint64_t q;
        memcpy(&q, cols + i, 8);
        LSC_UNROLL for (int u = 0; u < 4; u++) {
            const float *xr = x + (size_t)(uint16_t)(q >> (16 * u)) * ldx;
            const __m512 w = _mm512_set1_ps(vals[i + u]);
            const int c = u % C;
            LSC_UNROLL for (int k = 0; k < nv; k++)
                acc[c][k] = _mm512_fmadd_ps(w, LSC_PL(xr + k * 16), acc[c][k]);
        }
        i += 4;
    }
    for (; i < cnt && cols[i] < k1; i++) {
        const float *xr = x + (size_t)cols[i] * ldx;
        const __m512 w = _mm512_set1_ps(vals[i]);
        for (int k = 0; k < nv; k++)
            acc[0][k] = _mm512_fmadd_ps(w, LSC_PL(xr + k * 16), acc[0][k]);
    }
#undef LSC_PL
    for (int k = 0; k < nv; k++) {
        __m512 s = C == 4 ? _mm512_add_ps(_mm512_add_ps(acc[0][k], acc[1][k]),
                                          _mm512_add_ps(acc[2][k], acc[3][k]))
                          : _mm512_add_ps(acc[0][k], acc[1][k]);
        if (masked && k == nv - 1)
            _mm512_mask_storeu_ps(y + k * 16, mask, s);
        else
            _mm512_storeu_ps(y + k * 16, s);
    }
    return (uint32_t)i;
}

#define LSC_PLAIN_STRIPS16(M)                                                              \
    switch (nv) {                                                                          \
    case 1: return plain_strip16(x, ldx, y, cols, vals, cnt, k1, 1, M, mask);              \
    case 2: return plain_strip16(x, ldx, y, cols, vals, cnt, k1, 2, M, mask);              \
    case 3: return plain_strip16(x, ldx, y, cols, vals, cnt, k1, 3, M, mask);              \
    default: return plain_strip16(x, ldx, y, cols, vals, cnt, k1, 4, M, mask);             \
    }

/* n <= LSC_PLAIN_MAX_N: up to 8 columns in one 256-bit vector, else strips of up to
 * four 512-bit vectors. */
static uint32_t k_plain(const float *restrict x, size_t ldx, size_t n, float *restrict y,
                        const uint16_t *restrict cols, const float *restrict vals, uint32_t cnt,
                        uint32_t k1)
{
    if (n <= 8)
        return plain_row8(x, ldx, n, y, cols, vals, cnt, k1);
    const size_t nv = (n + 15) / 16; /* 1..4 */
    const int masked = n % 16 != 0;
    const __mmask16 mask = masked ? (__mmask16)((1u << (n % 16)) - 1) : 0xffff;
    if (!masked && ldx == n) {
        if (n == 16)
            return plain_strip16(x, 16, y, cols, vals, cnt, k1, 1, 0, mask);
        if (n == 32)
            return plain_strip16(x, 32, y, cols, vals, cnt, k1, 2, 0, mask);
        if (n == 64)
            return plain_strip16(x, 64, y, cols, vals, cnt, k1, 4, 0, mask);
        LSC_PLAIN_STRIPS16(0)
    } else if (masked) {
        LSC_PLAIN_STRIPS16(1)
    } else {
        LSC_PLAIN_STRIPS16(0)
    }
}

#define k_plain_end plain_end_avx2
#define LSC_PLAIN_SPMM_NAME lsc_plain_spmm_avx512
#include "kernels/plain_spmm.h"
