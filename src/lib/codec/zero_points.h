/* An 8-bit weight's elements are stored relative to their encoded row's zero point
 * (docs/format.md 1.9). Moving a dense tensor between codes and those deltas is one
 * add or subtract per element, by the row it belongs to in the encoded matrix. */
#ifndef LSC_CODEC_ZERO_POINTS_H
#define LSC_CODEC_ZERO_POINTS_H

#include <stdint.h>

/* dense: the tensor's rows x cols matrix (transposed: element (r, c) at c*rows + r).
 * sign +1 turns deltas into codes, -1 codes into deltas (mod 256). */
static inline void lsc_zero_points_apply(uint8_t *dense, uint64_t rows, uint64_t cols, int transposed,
                                         const uint8_t *zero_points, int sign)
{
    int any = 0;
    for (uint64_t r = 0; r < rows && !any; r++)
        any = zero_points[r] != 0;
    if (!any)
        return;
    for (uint64_t r = 0; r < rows; r++) {
        uint8_t z = (uint8_t)(sign > 0 ? zero_points[r] : 256 - zero_points[r]);
        for (uint64_t c = 0; c < cols; c++) {
            uint64_t i = transposed ? c * rows + r : r * cols + c;
            dense[i] = (uint8_t)(dense[i] + z);
        }
    }
}

#endif /* LSC_CODEC_ZERO_POINTS_H */
