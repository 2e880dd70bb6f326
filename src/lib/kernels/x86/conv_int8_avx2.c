/* A row of the integer direct convolution (conv_int8.h) with AVX2: vpmaddwd + vpaddd. */
#define CONV_INT8_MAC(acc, pairs, w) _mm256_add_epi32((acc), _mm256_madd_epi16((pairs), (w)))
#include "kernels/x86/conv_int8_tile.h"

void lsc_conv_int8_row_avx2(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y)
{
    conv_int8_row(taps, n_taps, n, y);
}
