/* Size arithmetic that reports overflow instead of wrapping: every size computed
 * from untrusted input goes through these. They return 1 on overflow. */
#ifndef LSC_COMMON_CHECKED_H
#define LSC_COMMON_CHECKED_H

#include <stddef.h>
#include <stdint.h>

static inline int lsc_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static inline int lsc_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

static inline int lsc_mul_overflow_size(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static inline int lsc_add_overflow_size(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

static inline uint64_t lsc_ceil_div_u64(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

/* Number of bits needed to write x: bits(0) = 0, bits(255) = 8 (docs/format.md). */
static inline unsigned lsc_bits_u64(uint64_t x)
{
    return x ? 64u - (unsigned)__builtin_clzll(x) : 0u;
}

#endif /* LSC_COMMON_CHECKED_H */
