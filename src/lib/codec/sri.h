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

/* Adds to extra[b], for every width b, the entries beyond one per value of the gaps
 * counted in a[g] + b[g] (b may be NULL), g = 1..top: the sum of count * (entries - 1).
 * A gap g costs one extra entry per threshold t_j = H + (j-1) H^2 (j >= 1) it reaches,
 * so the sum is that of the suffix counts at the thresholds: about 1.3 top steps for
 * the 16 widths instead of 16 top, the search's cost on small layers. suffix holds
 * top + 2 words. */
static inline void lsc_sri_extra_entries(const uint64_t *a, const uint64_t *b, uint32_t top, uint64_t *suffix,
                                         uint64_t extra[LSC_INDEX_BITS_MAX + 1])
{
    suffix[top + 1] = 0;
    for (uint32_t g = top; g >= 1; g--)
        suffix[g] = suffix[g + 1] + a[g] + (b ? b[g] : 0);
    for (unsigned w = 1; w <= LSC_INDEX_BITS_MAX; w++) {
        uint64_t h = UINT64_C(1) << (w - 1), sum = 0;
        for (uint64_t t = h; t <= top; t += h * h)
            sum += suffix[t];
        extra[w] += sum;
    }
}

#endif /* LSC_CODEC_SRI_H */
