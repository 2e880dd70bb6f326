/* Shared by the codec and bundle tests and bench_search: a seeded splitmix64 stream
 * and random sparse tensors whose values include the awkward bit patterns (NaN
 * payloads, denormals, infinities, -0.0 among the zeros). */
#ifndef LSC_TESTS_CODEC_UTIL_H
#define LSC_TESTS_CODEC_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx-lsc/lsc.h"

static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static inline unsigned elem_bits(lsc_dtype t)
{
    return (unsigned)lsc_dtype_size((int)t) * 8;
}

static inline uint64_t load_elem(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void store_elem(uint8_t *p, unsigned size, uint64_t v)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A random non-zero bit pattern of the type: mostly ordinary numbers, sometimes a NaN
 * with a random payload, an infinity or a denormal. */
static inline uint64_t random_value_bits(uint64_t *s, lsc_dtype t)
{
    unsigned bits = elem_bits(t);
    unsigned mant = t == LSC_DTYPE_FLOAT32 ? 23 : t == LSC_DTYPE_FLOAT16 ? 10 : t == LSC_DTYPE_BFLOAT16 ? 7 : 52;
    uint64_t sign = 1ull << (bits - 1), exp_mask = (sign - 1) & ~((1ull << mant) - 1);
    uint64_t mant_mask = (1ull << mant) - 1, r = rng_next(s), v;
    switch (r % 16) {
    case 0: v = exp_mask | ((rng_next(s) & mant_mask) | 1); break;           /* NaN, payload */
    case 1: v = exp_mask; break;                                             /* infinity */
    case 2: v = (rng_next(s) & mant_mask) | 1; break;                        /* denormal */
    default: v = rng_next(s) & (sign - 1); break;                             /* anything */
    }
    if (v == 0)
        v = 1;
    return v | ((r >> 8) & 1 ? sign : 0);
}

/* Fills n elements: each non-zero with probability density; zeros are -0.0 with
 * probability neg_zero_share. */
static inline void fill_random(uint8_t *data, uint64_t n, lsc_dtype t, double density,
                               double neg_zero_share, uint64_t *s)
{
    unsigned size = (unsigned)lsc_dtype_size((int)t);
    uint64_t sign = 1ull << (elem_bits(t) - 1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v;
        if (rng_unit(s) < density)
            v = random_value_bits(s, t);
        else
            v = rng_unit(s) < neg_zero_share ? sign : 0;
        store_elem(data + i * size, size, v);
    }
}

#endif /* LSC_TESTS_CODEC_UTIL_H */
