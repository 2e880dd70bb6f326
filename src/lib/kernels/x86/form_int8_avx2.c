/* The integer batch-1 form's multiply (form_int8.h) with AVX2: per row, eight
 * columns a vector, x by scalar loads (5-10% faster than vpgatherdd on Zen 4, and
 * than 16-lane gathers), w widened and multiplied in 32-bit lanes (vpmulld, modulo
 * 2^32 as the reference), two sums; the tail reads x[0] in the lanes past the row
 * (its columns are the pad's zeros or the next row's, masked to column 0) and
 * zeroes them (the arrays' pad keeps the loads inside). */
#include <immintrin.h>

#include "kernels/form_int8.h"

static inline __attribute__((always_inline)) __m256i cols16(const uint16_t *c)
{
    return _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)c));
}

static inline __attribute__((always_inline)) __m256i cols32(const uint32_t *c)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)c);
}

static inline __attribute__((always_inline)) __m256i vals8(const int8_t *v)
{
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)v));
}

static inline __attribute__((always_inline)) __m256i vals16(const int16_t *v)
{
    return _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)v));
}

static inline __attribute__((always_inline)) int32_t hsum(__m256i a)
{
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm_cvtsi128_si32(h);
}

/* x at the eight columns of idx */
static inline __attribute__((always_inline)) __m256i gather(const int32_t *x, __m256i idx)
{
    uint32_t c[8] __attribute__((aligned(32)));
    _mm256_store_si256((__m256i *)(void *)c, idx);
    return _mm256_setr_epi32(x[c[0]], x[c[1]], x[c[2]], x[c[3]], x[c[4]], x[c[5]], x[c[6]], x[c[7]]);
}

#define GATHER(idx) gather(x, (idx))
#define ROWS_BODY(VT, CT, LV, LC)                                                               \
    do {                                                                                        \
        const VT *vals = f->vals;                                                               \
        const CT *cols = f->cols;                                                               \
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);                         \
        for (uint32_t r = r0; r < r1; r++) {                                                    \
            uint64_t i = f->row_ptr[r], e = f->row_ptr[r + 1];                                  \
            __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();                   \
            for (; i + 16 <= e; i += 16) {                                                      \
                a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(LV(vals + i), GATHER(LC(cols + i)))); \
                a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(LV(vals + i + 8),                  \
                                                             GATHER(LC(cols + i + 8))));        \
            }                                                                                   \
            if (i + 8 <= e) {                                                                   \
                a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(LV(vals + i), GATHER(LC(cols + i)))); \
                i += 8;                                                                         \
            }                                                                                   \
            if (i < e) {                                                                        \
                __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(e - i)), lane);          \
                __m256i xv = GATHER(_mm256_and_si256(m, LC(cols + i)));                         \
                a1 = _mm256_add_epi32(a1, _mm256_and_si256(m, _mm256_mullo_epi32(LV(vals + i), xv))); \
            }                                                                                   \
            y[r] = hsum(_mm256_add_epi32(a0, a1));                                              \
        }                                                                                       \
    } while (0)

void lsc_int8_rows_avx2(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0, uint32_t r1)
{
    if (f->val_bytes == 1 && f->col_bytes == 2)
        ROWS_BODY(int8_t, uint16_t, vals8, cols16);
    else if (f->val_bytes == 1)
        ROWS_BODY(int8_t, uint32_t, vals8, cols32);
    else if (f->col_bytes == 2)
        ROWS_BODY(int16_t, uint16_t, vals16, cols16);
    else
        ROWS_BODY(int16_t, uint32_t, vals16, cols32);
}
