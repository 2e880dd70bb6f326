/* A row of the integer direct convolution (conv_int8.h) with AVX2: 64 output columns
 * at a time in eight int32 accumulators; per tap one broadcast of w and, per 16 int16
 * inputs, vpmaddwd against (w, 0) and (0, w) pairs, which gives the even and the odd
 * columns' products exactly (|w|, |x| <= 2^15), summed by vpaddd modulo 2^32. The
 * even and odd sums are interleaved back into column order when stored. A last tile
 * of fewer columns reads up to 15 inputs past the window (LSC_CONV_INT8_PAD) and
 * stores through a buffer. */
#include <immintrin.h>
#include <string.h>

#include "kernels/conv_int8.h"

static inline __attribute__((always_inline)) void tile(const lsc_conv_int8_tap *taps, size_t n_taps, size_t j,
                                                       int32_t *y, size_t count, const unsigned V)
{
    __m256i e[4], o[4];
    for (unsigned v = 0; v < V; v++)
        e[v] = o[v] = _mm256_setzero_si256();
    for (size_t t = 0; t < n_taps; t++) {
        const int16_t *x = taps[t].x + j;
        __m256i we = _mm256_set1_epi32((int32_t)(uint16_t)taps[t].w);
        __m256i wo = _mm256_slli_epi32(we, 16);
        for (unsigned v = 0; v < V; v++) {
            __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x + 16 * v));
            e[v] = _mm256_add_epi32(e[v], _mm256_madd_epi16(xv, we));
            o[v] = _mm256_add_epi32(o[v], _mm256_madd_epi16(xv, wo));
        }
    }
    int32_t buf[64] __attribute__((aligned(32)));
    int32_t *to = count == 16 * V ? y + j : buf;
    for (unsigned v = 0; v < V; v++) {
        __m256i lo = _mm256_unpacklo_epi32(e[v], o[v]), hi = _mm256_unpackhi_epi32(e[v], o[v]);
        _mm256_storeu_si256((__m256i *)(void *)(to + 16 * v), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(void *)(to + 16 * v + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    if (to == buf)
        memcpy(y + j, buf, count * sizeof *y);
}

void lsc_conv_int8_row_avx2(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y)
{
    size_t j = 0;
    for (; j + 64 <= n; j += 64)
        tile(taps, n_taps, j, y, 64, 4);
    size_t rest = n - j;
    if (rest > 48)
        tile(taps, n_taps, j, y, rest, 4);
    else if (rest > 32)
        tile(taps, n_taps, j, y, rest, 3);
    else if (rest > 16)
        tile(taps, n_taps, j, y, rest, 2);
    else if (rest > 0)
        tile(taps, n_taps, j, y, rest, 1);
}
