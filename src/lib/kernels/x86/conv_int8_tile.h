/* A row of the integer direct convolution (conv_int8.h) on 256-bit vectors, included
 * by each variant with CONV_INT8_MAC(acc, pairs, w) defined: acc + the sums of the
 * int16 pairs' products with w's, per int32 lane (vpmaddwd + vpaddd, or vpdpwssd).
 * 64 output columns at a time in eight int32 accumulators. Taps go in pairs: the two
 * windows' 16 int16 inputs interleaved (vpunpcklwd / vpunpckhwd) and multiplied by
 * the pair (w_a, w_b), both products summed per column exactly (modulo 2^32 when all
 * four are -2^15, as ONNX's int32 wraps). The interleave puts columns 0-3 and 8-11 in
 * one accumulator, 4-7 and 12-15 in the other; the store puts them back in order. A
 * last tile of fewer columns reads up to 15 inputs past the window
 * (LSC_CONV_INT8_PAD) and stores through a buffer. */
#ifndef LSC_KERNELS_X86_CONV_INT8_TILE_H
#define LSC_KERNELS_X86_CONV_INT8_TILE_H

#include <immintrin.h>
#include <string.h>

#include "kernels/conv_int8.h"

static inline __attribute__((always_inline)) __m256i pair_of(int32_t wa, int32_t wb)
{
    return _mm256_set1_epi32((int32_t)((uint32_t)(uint16_t)wa | (uint32_t)(uint16_t)wb << 16));
}

static inline __attribute__((always_inline)) void tile(const lsc_conv_int8_tap *taps, size_t n_taps, size_t j,
                                                       int32_t *y, size_t count, const unsigned V)
{
    __m256i lo[4], hi[4];
    for (unsigned v = 0; v < V; v++)
        lo[v] = hi[v] = _mm256_setzero_si256();
    size_t t = 0;
    for (; t + 2 <= n_taps; t += 2) {
        const int16_t *xa = taps[t].x + j, *xb = taps[t + 1].x + j;
        __m256i w = _mm256_set1_epi32((int32_t)taps[t].pair); /* (w, w_next) */
        for (unsigned v = 0; v < V; v++) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(xa + 16 * v));
            __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(xb + 16 * v));
            lo[v] = CONV_INT8_MAC(lo[v], _mm256_unpacklo_epi16(a, b), w);
            hi[v] = CONV_INT8_MAC(hi[v], _mm256_unpackhi_epi16(a, b), w);
        }
    }
    if (t < n_taps) { /* the odd one, paired with w = 0 */
        const int16_t *xa = taps[t].x + j;
        __m256i w = pair_of(taps[t].w, 0), z = _mm256_setzero_si256();
        for (unsigned v = 0; v < V; v++) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(xa + 16 * v));
            lo[v] = CONV_INT8_MAC(lo[v], _mm256_unpacklo_epi16(a, z), w);
            hi[v] = CONV_INT8_MAC(hi[v], _mm256_unpackhi_epi16(a, z), w);
        }
    }
    int32_t buf[64] __attribute__((aligned(32)));
    int32_t *to = count == 16 * V ? y + j : buf;
    for (unsigned v = 0; v < V; v++) {
        _mm256_storeu_si256((__m256i *)(void *)(to + 16 * v), _mm256_permute2x128_si256(lo[v], hi[v], 0x20));
        _mm256_storeu_si256((__m256i *)(void *)(to + 16 * v + 8), _mm256_permute2x128_si256(lo[v], hi[v], 0x31));
    }
    if (to == buf)
        memcpy(y + j, buf, count * sizeof *y);
}

static inline __attribute__((always_inline)) void conv_int8_row(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n,
                                                                int32_t *y)
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

#endif /* LSC_KERNELS_X86_CONV_INT8_TILE_H */
