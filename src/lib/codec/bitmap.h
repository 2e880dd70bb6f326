/* Scanning a range of an LSB-first bitmap (the block bitmap, docs/format.md 1.3). */
#ifndef LSC_CODEC_BITMAP_H
#define LSC_CODEC_BITMAP_H

#include <stdint.h>

/* The first set bit in [from, to), or `to` if none. Skips zero bytes whole. */
static inline uint64_t lsc_bitmap_next(const uint8_t *map, uint64_t from, uint64_t to)
{
    while (from < to) {
        unsigned byte = map[from >> 3] >> (from & 7);
        if (byte) {
            uint64_t bit = from + (unsigned)__builtin_ctz(byte);
            return bit < to ? bit : to;
        }
        from = (from | 7) + 1;
    }
    return to;
}

/* Number of set bits in [from, to). */
static inline uint64_t lsc_bitmap_count(const uint8_t *map, uint64_t from, uint64_t to)
{
    uint64_t n = 0;
    while (from < to && (from & 7)) {
        n += (map[from >> 3] >> (from & 7)) & 1;
        from++;
    }
    for (; from + 8 <= to; from += 8)
        n += (uint64_t)__builtin_popcount(map[from >> 3]);
    for (; from < to; from++)
        n += (map[from >> 3] >> (from & 7)) & 1;
    return n;
}

#endif /* LSC_CODEC_BITMAP_H */
