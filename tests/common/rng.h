/* The one xorshift64 generator of the tests and benchmarks: deterministic, seeded by
 * the caller (the state must never be 0). */
#ifndef LSC_TESTS_RNG_H
#define LSC_TESTS_RNG_H

#include <stdint.h>

static inline uint64_t xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Uniform in [0, 1), 53 bits. */
static inline double xorshift64_unit(uint64_t *state)
{
    return (double)(xorshift64(state) >> 11) * (1.0 / 9007199254740992.0);
}

#endif /* LSC_TESTS_RNG_H */
