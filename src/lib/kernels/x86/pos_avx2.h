/* SRI entries to scan positions, eight entries per step (any width b <= 16).
 * Included by the x86 variants (compiled with -mavx2).
 *
 * Entries 8g..8g+7 of the stream fill exactly b bytes starting at byte g*b, so a
 * group is byte-aligned: one 16-byte load broadcast to both halves, one byte
 * shuffle gives each lane the 4 bytes holding its entry, one variable shift and a
 * mask extract it (b <= 4: one 32-bit broadcast and shifts by j*b; b = 8 and 16: a
 * zero-extending load). Increments (value: e + 1,
 * jump: (e - H + 1) << (b - 1)) are chosen by a blend. The prefix sum, the cursor
 * and the packing of the value lanes run on 128-bit halves: on the machine we
 * measure (AMD Zen 1, 128-bit units) cross-lane 256-bit permutes cost several
 * micro-ops and sit on the cursor's dependency chain, while here the chain is two
 * adds and two in-lane shuffles per eight entries. */
#ifndef LSC_KERNELS_X86_POS_AVX2_H
#define LSC_KERNELS_X86_POS_AVX2_H

#include <immintrin.h>

#include "kernels/decode.h"

/* Per width b: the bytes of each 32-bit lane's window (-128: none) ... */
static const int8_t lsc_pos_shuf[16][32] = {
    { 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3 }, /* b = 1 */
    { 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4 }, /* b = 2 */
    { 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 2, 3, 4, 5, 2, 3, 4, 5 }, /* b = 3 */
    { 0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 2, 3, 4, 5, 2, 3, 4, 5, 3, 4, 5, 6, 3, 4, 5, 6 }, /* b = 4 */
    { 0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 3, 4, 5, 6, 4, 5, 6, 7 }, /* b = 5 */
    { 0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8 }, /* b = 6 */
    { 0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9 }, /* b = 7 */
    { 0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10 }, /* b = 8 */
    { 0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10 }, /* b = 9 */
    { 0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10, 8, 9, 10, 11 }, /* b = 10 */
    { 0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 8, 9, 10, 11, 9, 10, 11, 12 }, /* b = 11 */
    { 0, 1, 2, 3, 1, 2, 3, 4, 3, 4, 5, 6, 4, 5, 6, 7, 6, 7, 8, 9, 7, 8, 9, 10, 9, 10, 11, 12, 10, 11, 12, 13 }, /* b = 12 */
    { 0, 1, 2, 3, 1, 2, 3, 4, 3, 4, 5, 6, 4, 5, 6, 7, 6, 7, 8, 9, 8, 9, 10, 11, 9, 10, 11, 12, 11, 12, 13, 14 }, /* b = 13 */
    { 0, 1, 2, 3, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6, 7, 8, 7, 8, 9, 10, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15 }, /* b = 14 */
    { 0, 1, 2, 3, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6, 7, 8, 7, 8, 9, 10, 9, 10, 11, 12, 11, 12, 13, 14, 13, 14, 15, -128 }, /* b = 15 */
    { 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15, -128, -128 }, /* b = 16 */
};

/* ... and the shift that brings the lane's entry to bit 0. */
static const int32_t lsc_pos_shift[16][8] = {
    { 0, 1, 2, 3, 4, 5, 6, 7 },
    { 0, 2, 4, 6, 0, 2, 4, 6 },
    { 0, 3, 6, 1, 4, 7, 2, 5 },
    { 0, 4, 0, 4, 0, 4, 0, 4 },
    { 0, 5, 2, 7, 4, 1, 6, 3 },
    { 0, 6, 4, 2, 0, 6, 4, 2 },
    { 0, 7, 6, 5, 4, 3, 2, 1 },
    { 0, 0, 0, 0, 0, 0, 0, 0 },
    { 0, 1, 2, 3, 4, 5, 6, 7 },
    { 0, 2, 4, 6, 0, 2, 4, 6 },
    { 0, 3, 6, 1, 4, 7, 2, 5 },
    { 0, 4, 0, 4, 0, 4, 0, 4 },
    { 0, 5, 2, 7, 4, 1, 6, 3 },
    { 0, 6, 4, 2, 0, 6, 4, 2 },
    { 0, 7, 6, 5, 4, 3, 2, 1 },
    { 0, 0, 0, 0, 0, 0, 0, 0 },
};

/* Per 4-bit value mask: the byte shuffle that packs the value lanes first. */
static const int8_t lsc_pos_pack[16][16] = {
    { -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 0, 1, 2, 3, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 4, 5, 6, 7, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 0, 1, 2, 3, 4, 5, 6, 7, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 8, 9, 10, 11, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 0, 1, 2, 3, 8, 9, 10, 11, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 4, 5, 6, 7, 8, 9, 10, 11, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -128, -128, -128, -128 },
    { 12, 13, 14, 15, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 0, 1, 2, 3, 12, 13, 14, 15, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 4, 5, 6, 7, 12, 13, 14, 15, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, -128, -128, -128, -128 },
    { 8, 9, 10, 11, 12, 13, 14, 15, -128, -128, -128, -128, -128, -128, -128, -128 },
    { 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, -128, -128, -128, -128 },
    { 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, -128, -128, -128, -128 },
    { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
};

/* Packs the value lanes of p (mask m) to pos + n; returns the new n. */
static inline __attribute__((always_inline)) uint32_t lsc_pos_store4(uint32_t *pos, uint32_t n,
                                                                     __m128i p, unsigned m)
{
    __m128i sel = _mm_loadu_si128((const __m128i *)(const void *)lsc_pos_pack[m]);
    _mm_storeu_si128((__m128i *)(void *)(pos + n), _mm_shuffle_epi8(p, sel));
    return n + (uint32_t)__builtin_popcount(m);
}

static inline __attribute__((always_inline)) uint32_t
lsc_dec_pos_avx2_b(lsc_brow_decoder *d, uint32_t *restrict pos, uint32_t cap, const unsigned b)
{
    uint64_t idx = d->bit / b;
    /* scalar up to the next multiple of 8 entries */
    uint64_t head = (8 - (idx & 7)) & 7;
    uint32_t n = head ? lsc_dec_pos_scalar(d, pos, cap, head) : 0;
    if (d->entries_left >= 8 && (d->bit / b & 7) == 0) {
        const uint8_t *entries = d->entries;
        uint64_t g = d->bit / b / 8;
        /* groups whose 16-byte load stays inside the stream, and inside the row */
        uint64_t g_end = d->nbytes >= 16 ? (d->nbytes - 16) / b + 1 : 0;
        uint64_t g_row = g + d->entries_left / 8;
        g_end = g_end < g_row ? g_end : g_row;
        const __m256i shuf = _mm256_loadu_si256((const __m256i *)(const void *)lsc_pos_shuf[b - 1]);
        const __m256i shift = _mm256_loadu_si256((const __m256i *)(const void *)lsc_pos_shift[b - 1]);
        const __m256i wshift = _mm256_setr_epi32(0, (int)b, 2 * (int)b, 3 * (int)b, 4 * (int)b,
                                                 5 * (int)b, 6 * (int)b, 7 * (int)b);
        const __m256i halfv = _mm256_set1_epi32((int32_t)d->half);
        const __m256i half1 = _mm256_set1_epi32((int32_t)d->half - 1);
        const __m256i maskv = _mm256_set1_epi32((int32_t)d->mask);
        const __m256i ones = _mm256_set1_epi32(-1);
        __m128i base = _mm_set1_epi32((int32_t)d->p32);
        /* Skip the packing of jump-free groups only where nearly all groups are (under
         * 1 jump in 256 entries): elsewhere that branch would mispredict. */
        const int rare = d->rare_jumps;
        uint64_t g0 = g;
        for (; g < g_end && n + 8 <= cap; g++) {
            const uint8_t *src = entries + g * b;
            __m256i e;
            if (b == 8)
                e = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)src));
            else if (b == 16)
                e = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)src));
            else if (b <= 4) /* the 8 entries lie in 32 bits: broadcast, shift by j*b, mask */
                e = _mm256_and_si256(
                    _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)lsc_load_le32(src)), wshift),
                    maskv);
            else
                e = _mm256_and_si256(
                    _mm256_srlv_epi32(
                        _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128(
                                                (const __m128i *)(const void *)src)),
                                            shuf),
                        shift),
                    maskv);
            __m256i isv = _mm256_cmpgt_epi32(halfv, e);
            __m256i inc = _mm256_blendv_epi8(_mm256_slli_epi32(_mm256_sub_epi32(e, half1), b - 1),
                                             _mm256_sub_epi32(e, ones), isv);
            inc = _mm256_add_epi32(inc, _mm256_slli_si256(inc, 4));
            inc = _mm256_add_epi32(inc, _mm256_slli_si256(inc, 8));
            unsigned m = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(isv));
            __m128i p0 = _mm_add_epi32(_mm256_castsi256_si128(inc), base);
            base = _mm_shuffle_epi32(p0, 0xff);
            __m128i p1 = _mm_add_epi32(_mm256_extracti128_si256(inc, 1), base);
            base = _mm_shuffle_epi32(p1, 0xff);
            if (rare && m == 0xff) { /* no jump: nothing to pack */
                _mm_storeu_si128((__m128i *)(void *)(pos + n), p0);
                _mm_storeu_si128((__m128i *)(void *)(pos + n + 4), p1);
                n += 8;
                continue;
            }
            n = lsc_pos_store4(pos, n, p0, m & 15);
            n = lsc_pos_store4(pos, n, p1, m >> 4);
        }
        d->p32 = (uint32_t)_mm_cvtsi128_si32(base);
        d->bit += (g - g0) * 8 * b;
        d->entries_left -= (g - g0) * 8;
    }
    /* the row's last entries, or the stream's last bytes */
    if (n + 8 <= cap && d->entries_left && (d->entries_left < 8 || d->bit / b / 8 * b + 16 > d->nbytes))
        n += lsc_dec_pos_scalar(d, pos + n, cap - n, cap - n);
    return n;
}

/* One copy per width, so that shifts and divisions by b are by constants. */
#define LSC_POS_W(B)                                                                       \
    static __attribute__((noinline)) uint32_t lsc_dec_pos_avx2_##B(lsc_brow_decoder *d,    \
                                                                   uint32_t *pos, uint32_t cap) \
    {                                                                                      \
        return lsc_dec_pos_avx2_b(d, pos, cap, B);                                         \
    }
LSC_POS_W(1) LSC_POS_W(2) LSC_POS_W(3) LSC_POS_W(4) LSC_POS_W(5) LSC_POS_W(6) LSC_POS_W(7)
LSC_POS_W(8) LSC_POS_W(9) LSC_POS_W(10) LSC_POS_W(11) LSC_POS_W(12) LSC_POS_W(13)
LSC_POS_W(14) LSC_POS_W(15) LSC_POS_W(16)
#undef LSC_POS_W

static inline uint32_t lsc_dec_pos_avx2(lsc_brow_decoder *d, uint32_t *pos, uint32_t cap)
{
    static uint32_t (*const fns[17])(lsc_brow_decoder *, uint32_t *, uint32_t) = {
        NULL, lsc_dec_pos_avx2_1, lsc_dec_pos_avx2_2, lsc_dec_pos_avx2_3, lsc_dec_pos_avx2_4,
        lsc_dec_pos_avx2_5, lsc_dec_pos_avx2_6, lsc_dec_pos_avx2_7, lsc_dec_pos_avx2_8,
        lsc_dec_pos_avx2_9, lsc_dec_pos_avx2_10, lsc_dec_pos_avx2_11, lsc_dec_pos_avx2_12,
        lsc_dec_pos_avx2_13, lsc_dec_pos_avx2_14, lsc_dec_pos_avx2_15, lsc_dec_pos_avx2_16,
    };
    return fns[d->b](d, pos, cap);
}

#endif /* LSC_KERNELS_X86_POS_AVX2_H */
