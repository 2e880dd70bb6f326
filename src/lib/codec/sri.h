/* Signed relative index (docs/format.md 1.6): the cost of a gap and its one shortest
 * coding. With H = 2^(b-1), a value entry e < H means "skip e positions, then a
 * value"; a jump entry e >= H skips (e - H + 1) * H positions and holds no value. */
#ifndef LSC_CODEC_SRI_H
#define LSC_CODEC_SRI_H

#include <stdint.h>

#define LSC_INDEX_BITS_MAX 16

/* Entries spent on a value that follows `gap` zeros: 1 + ceil(floor(g/H) / H). */
static inline uint64_t lsc_sri_entries(uint64_t gap, unsigned index_bits)
{
    unsigned log_h = index_bits - 1;
    uint64_t units = gap >> log_h;
    return 1 + (units >> log_h) + ((units & ((UINT64_C(1) << log_h) - 1)) != 0);
}

#endif /* LSC_CODEC_SRI_H */
