/* Bounds on coded sizes, for skipping a coding whose size cannot win (the choice
 * stays the one coding it would make): log2 in 1/65536 bits, in integers so that
 * every machine decides alike. */
#ifndef LSC_CODEC_ENTROPY_COST_H
#define LSC_CODEC_ENTROPY_COST_H

#include <stdint.h>

/* At most log2(x) * 65536, x >= 1 (its floor, but for the truncations): squaring the
 * mantissa gives its bits one at a time. */
static inline uint32_t lsc_log2_q16_down(uint64_t x)
{
    unsigned e = 63u - (unsigned)__builtin_clzll(x);
    uint64_t m = e >= 31 ? x >> (e - 31) : x << (31 - e); /* [2^31, 2^32): 1.xxx in Q31 */
    uint32_t r = e << 16;
    for (int i = 15; i >= 0; i--) {
        m = (m * m) >> 31;
        if (m >= (UINT64_C(1) << 32)) {
            m >>= 1;
            r |= UINT32_C(1) << i;
        }
    }
    return r;
}

/* At least log2(x) * 65536: the truncated squarings above lose at most a few units. */
static inline uint32_t lsc_log2_q16_up(uint64_t x)
{
    return lsc_log2_q16_down(x) + 4;
}

#endif /* LSC_CODEC_ENTROPY_COST_H */
