/* A row of the integer direct convolution (conv_int8.h) with AVX-512 VNNI on 256-bit
 * vectors (AVX-512 VL): vpdpwssd, the multiply and the add in one instruction (on
 * Zen 4 it saves a quarter of the row's instructions). */
#define CONV_INT8_MAC(acc, pairs, w) _mm256_dpwssd_epi32((acc), (pairs), (w))
#include "kernels/x86/conv_int8_tile.h"

void lsc_conv_int8_row_vnni(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y)
{
    conv_int8_row(taps, n_taps, n, y);
}
