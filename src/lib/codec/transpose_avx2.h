/* The transposition of a decoded tile of 4-byte elements into a transposed weight's
 * dense tensor, 8x8 at a time in AVX2 registers. decode.c uses it where the CPU has
 * AVX2 (the portable loop there does the same). */
#ifndef LSC_CODEC_TRANSPOSE_AVX2_H
#define LSC_CODEC_TRANSPOSE_AVX2_H

#include <stdint.h>

/* Whether this build can run lsc_transpose4_avx2 (the CPU is checked by the caller). */
int lsc_transpose4_avx2_built(void);

/* dst[(c * rows + r0 + r)] = tile[r * stride + c] for r < n_r, c < cols, in
 * elements of 4 bytes. stream: 16 rows at a time fill whole 64-byte lines of dst
 * (dst 64-byte aligned, rows and r0 multiples of 16), which are then written past
 * the cache. */
void lsc_transpose4_avx2(uint8_t *dst, const uint8_t *tile, uint64_t r0, uint64_t n_r, uint64_t rows,
                         uint64_t cols, uint64_t stride, int stream);

#endif /* LSC_CODEC_TRANSPOSE_AVX2_H */
