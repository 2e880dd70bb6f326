/* The narrow SpMM on the plain batch-1 form (plain_spmm.h) with 256-bit vectors: the
 * AVX2 variant's k_plain and k_plain_end, and the 8-column strip the AVX-512 variant
 * also uses (Zen 4 splits a 512-bit vector into two halves, so 8 columns take one
 * 256-bit vector). Per value: its column (four at a time, one 64-bit load and shifts),
 * its value spread over a vector by a shuffle from the vector of the step's eight
 * values (a load each, as vbroadcastss was, left n = 8 on the load ports: 1.23 cycles
 * a value against 0.95 with X in L1, stop 18), one load of X's row and an FMA per
 * vector; consecutive values go to C copies of the sums so that C * nv FMA chains are
 * in flight (an FMA's latency is 4 cycles, 2 issue a cycle). */
#ifndef LSC_KERNELS_X86_PLAIN_AVX2_H
#define LSC_KERNELS_X86_PLAIN_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* The loops over a step's values and vectors unrolled whole, so that the sums stay in
 * registers (GCC 12 left a loop of eight rolled and the sums on the stack: 40% slower) */
#if defined(__clang__)
#define LSC_UNROLL _Pragma("unroll")
#else
#define LSC_UNROLL _Pragma("GCC unroll 16")
#endif

static inline __m256i plain_mask8(size_t left)
{
    static const int32_t m[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
    return _mm256_loadu_si256((const __m256i *)(const void *)(m + 8 - left));
}

/* The values of a piece below column k1 (a prefix of cols[0..cnt): the columns rise)
 * multiplied into y[0 .. nv * 8) (the last vector masked if `masked`); returns how
 * many. Eight values a step (sixteen at one vector) while the last is below k1, then
 * four, then one: the k-block's end found on the way, not by a search before. (One
 * last step of eight with the lanes past the end weighted 0 instead of the scalar
 * tail was no faster at n = 8 and 16 and 10% slower at 32, again slower at n = 8 with
 * the shuffled values of stop 18: 1.47 cycles a value against 1.32.) */
static inline __attribute__((always_inline)) uint32_t
plain_strip8(const float *restrict x, const size_t ldx, float *restrict y,
             const uint16_t *restrict cols, const float *restrict vals, uint32_t cnt,
             uint32_t k1, const int nv, const int masked, __m256i mask)
{
    /* 8 FMA chains at one vector: 4 left n = 8 at 1.39 cycles a value against 1.36
     * (AVX2) */
    const int C = nv == 1 ? 8 : nv == 2 ? 4 : 2; /* divides 8 */
    __m256 acc[8][4];
#define LSC_PL(p) (masked && k == nv - 1 ? _mm256_maskload_ps((p), mask) : _mm256_loadu_ps(p))
    /* lane j of both halves of h, everywhere: a shuffle, not a load */
#define LSC_BCAST(h, j) _mm256_permute_ps((h), (j) * 0x55)
    for (int k = 0; k < nv; k++)
        acc[0][k] = LSC_PL(y + k * 8);
    for (int c = 1; c < C; c++)
        for (int k = 0; k < nv; k++)
            acc[c][k] = _mm256_setzero_ps();
    /* eight values: their columns q (four a word; the second and third of each four
     * read again by a 16-bit load of their own, cp[u], which takes a load for two
     * shifts and a mask: the decoding and the loads balanced, n = 8 1.40 -> 1.35
     * cycles a value on conv5_1, 1.32 -> 1.27 on conv3_2; all four so, 1.38 and 1.24),
     * their values in both halves of lo (the first four) and hi */
#define LSC_ONE(q, cp, lo, hi, U)                                                          \
    do { /* value U of the eight: U a literal, for the shuffle's immediate */             \
        const size_t col = (U) % 4 == 1 || (U) % 4 == 2                                    \
                               ? (size_t)(cp)[U]                                           \
                               : (uint16_t)((q)[(U) / 4] >> (16 * ((U) % 4)));             \
        const float *xr = x + col * ldx;                                                   \
        const __m256 w = LSC_BCAST((U) < 4 ? (lo) : (hi), (U) % 4);                        \
        const int c = (U) % C;                                                             \
        LSC_UNROLL for (int k = 0; k < nv; k++)                                            \
            acc[c][k] = _mm256_fmadd_ps(w, LSC_PL(xr + k * 8), acc[c][k]);                 \
    } while (0)
#define LSC_STEP4(q, cp, lo, hi)                                                           \
    LSC_ONE(q, cp, lo, hi, 0);                                                             \
    LSC_ONE(q, cp, lo, hi, 1);                                                             \
    LSC_ONE(q, cp, lo, hi, 2);                                                             \
    LSC_ONE(q, cp, lo, hi, 3)
#define LSC_STEP8(q, cp, lo, hi)                                                           \
    LSC_STEP4(q, cp, lo, hi);                                                              \
    LSC_ONE(q, cp, lo, hi, 4);                                                             \
    LSC_ONE(q, cp, lo, hi, 5);                                                             \
    LSC_ONE(q, cp, lo, hi, 6);                                                             \
    LSC_ONE(q, cp, lo, hi, 7)
    /* the eight values from j: columns four a word, values in both halves of lo / hi */
#define LSC_EIGHT_AT(j)                                                                    \
    do {                                                                                   \
        uint64_t q8[2];                                                                    \
        memcpy(q8, cols + (j), 16);                                                        \
        const __m256 v8 = _mm256_loadu_ps(vals + (j));                                     \
        const __m256 lo8 = _mm256_permute2f128_ps(v8, v8, 0x00);                           \
        const __m256 hi8 = _mm256_permute2f128_ps(v8, v8, 0x11);                           \
        LSC_STEP8(q8, cols + (j), lo8, hi8);                                               \
    } while (0)
    size_t i = 0;
    /* at one vector, sixteen values a turn of the loop: its compares and branches cost
     * as much as the decoding of four columns */
    for (; nv == 1 && i + 16 <= cnt && cols[i + 15] < k1; i += 16) {
        LSC_EIGHT_AT(i);
        LSC_EIGHT_AT(i + 8);
    }
    for (; i + 8 <= cnt && cols[i + 7] < k1; i += 8)
        LSC_EIGHT_AT(i);
    if (i + 4 <= cnt && cols[i + 3] < k1) {
        uint64_t q[1];
        memcpy(q, cols + i, 8);
        const __m128 v4 = _mm_loadu_ps(vals + i);
        const __m256 lo = _mm256_insertf128_ps(_mm256_castps128_ps256(v4), v4, 1);
        LSC_STEP4(q, cols + i, lo, lo);
        i += 4;
    }
    for (; i < cnt && cols[i] < k1; i++) {
        const float *xr = x + (size_t)cols[i] * ldx;
        const __m256 w = _mm256_broadcast_ss(vals + i);
        for (int k = 0; k < nv; k++)
            acc[0][k] = _mm256_fmadd_ps(w, LSC_PL(xr + k * 8), acc[0][k]);
    }
#undef LSC_EIGHT_AT
#undef LSC_STEP8
#undef LSC_STEP4
#undef LSC_ONE
#undef LSC_BCAST
#undef LSC_PL
    for (int k = 0; k < nv; k++) {
        for (int h = C / 2; h >= 1; h /= 2) /* a tree of adds */
            for (int c = 0; c < h; c++)
                acc[c][k] = _mm256_add_ps(acc[c][k], acc[c + h][k]);
        __m256 s = acc[0][k];
        if (masked && k == nv - 1)
            _mm256_maskstore_ps(y + k * 8, mask, s);
        else
            _mm256_storeu_ps(y + k * 8, s);
    }
    return (uint32_t)i;
}

/* The first index in [i, e) whose column is >= k1 (< 2^16), sixteen columns a
 * compare: the columns rise, so the ones below k1 are a prefix. The plain form's
 * LSC_PLAIN_PAD columns past the last value keep the loads inside it. */
static inline uint32_t plain_end_avx2(const uint16_t *cols, uint32_t i, uint32_t e, uint32_t k1)
{
    const __m256i bias = _mm256_set1_epi16((short)0x8000);
    const __m256i lim = _mm256_set1_epi16((short)(k1 ^ 0x8000)); /* unsigned as signed */
    for (; i < e; i += 16) {
        __m256i c = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)(cols + i)),
                                     bias);
        uint32_t below = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi16(lim, c));
        uint32_t valid = e - i < 16 ? e - i : 16;
        uint32_t all = valid == 16 ? UINT32_MAX : (UINT32_C(1) << (2 * valid)) - 1;
        if ((below & all) != all)
            return i + (uint32_t)__builtin_ctz(~below) / 2;
    }
    return e;
}

/* The strips of 8 to 32 columns: nv vectors, the last masked if M; X's row stride a
 * constant where it is n = 8, 16 or 32 (a shift instead of a multiply per value). */
#define LSC_PLAIN_STRIPS8(M)                                                               \
    switch (nv) {                                                                          \
    case 1: return plain_strip8(x, ldx, y, cols, vals, cnt, k1, 1, M, mask);               \
    case 2: return plain_strip8(x, ldx, y, cols, vals, cnt, k1, 2, M, mask);               \
    case 3: return plain_strip8(x, ldx, y, cols, vals, cnt, k1, 3, M, mask);               \
    default: return plain_strip8(x, ldx, y, cols, vals, cnt, k1, 4, M, mask);              \
    }

static inline __attribute__((always_inline)) uint32_t
plain_row8(const float *restrict x, size_t ldx, size_t n, float *restrict y,
           const uint16_t *restrict cols, const float *restrict vals, uint32_t cnt, uint32_t k1)
{
    const size_t nv = (n + 7) / 8; /* 1..4 */
    const int masked = n % 8 != 0;
    const __m256i mask = plain_mask8(masked ? n % 8 : 8);
    if (!masked && ldx == n) {
        if (n == 8)
            return plain_strip8(x, 8, y, cols, vals, cnt, k1, 1, 0, mask);
        if (n == 16)
            return plain_strip8(x, 16, y, cols, vals, cnt, k1, 2, 0, mask);
        if (n == 32)
            return plain_strip8(x, 32, y, cols, vals, cnt, k1, 4, 0, mask);
        LSC_PLAIN_STRIPS8(0)
    } else if (masked) {
        LSC_PLAIN_STRIPS8(1)
    } else {
        LSC_PLAIN_STRIPS8(0)
    }
}

#endif /* LSC_KERNELS_X86_PLAIN_AVX2_H */
